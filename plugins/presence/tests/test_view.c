/*
 * plugins/presence/tests/test_view.c - what each watcher sees of one
 * presence, as tables.
 *
 * One presence with something of everything (a call on the first line, the
 * second line forwarded, a private meeting, an audio/video call, a note) is
 * filtered for watchers of each level (rights_level_mask: the manual's
 * "Presence and lines" table) and for single rights; each row lists what
 * must be visible. Then the reasons one by one, extra lines, presence
 * switched off, the hash, and the JSON form.
 */
#include "check.h"
#include "pres_fixture.h"

/* A presence: busy on the phone (first line, incoming from +4989123456),
 * second line idle and forwarded to +4930999, a private meeting, AV busy
 * with carol, a note. */
static void sample(struct ucs_presence *p, int reason)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	strcpy(p->user.text, "bob");
	p->state = UCS_PRES_BUSY;
	p->reason = reason;
	p->since = 1700000000000;
	p->seq = 7;
	p->calendar = UCS_CAL_MEETING;
	p->calendar_private = 1;
	p->calendar_end = 1700003600;
	strcpy(p->subject, "Dentist");
	strcpy(p->place, "Downtown");
	p->av_busy = 1;
	strcpy(p->av_with.text, "carol");
	strcpy(p->note, "back at 3");
	p->n_lines = 2;
	strcpy(p->lines[0].line.text, "l1");
	p->lines[0].line_class = UCS_LINE_FIRST;
	p->lines[0].state = UCS_LINE_CONNECTED;
	p->lines[0].direction = UCS_CALL_INCOMING;
	strcpy(p->lines[0].number.text, "+4930222");
	strcpy(p->lines[0].remote.text, "+4989123456");
	strcpy(p->lines[0].remote_name, "Ford Prefect");
	strcpy(p->lines[1].line.text, "l2");
	p->lines[1].line_class = UCS_LINE_SECOND;
	p->lines[1].state = UCS_LINE_IDLE;
	p->lines[1].forwarding = 1;
	strcpy(p->lines[1].number.text, "+4930223");
	strcpy(p->lines[1].fwd_target.text, "+4930999");
}

/* What one watcher must see; "" and 0 mean hidden. */
struct expect {
	const char *name;
	uint64_t rights;
	int state, reason;
	const char *note, *subject, *place;
	int calendar, av_busy;
	const char *av_with;
	int n_lines;
	int l1_state; /* enum ucs_line_state */
	const char *l1_number, *l1_remote, *l1_remote_name;
	int l2_forwarding; /* -1 hidden */
	const char *l2_fwd_target;
};

#define LEVEL(l) ((uint64_t)1 << 63 | (uint64_t)(l)) /* marker: the level's mask */

static const struct expect by_level[] = {
	{"blocked", LEVEL(UCS_LEVEL_BLOCKED), UCS_PRES_UNKNOWN, UCS_PRES_R_NONE, "", "", "", 0, 0,
	 "", 0, 0, "", "", "", 0, ""},
	{"public", LEVEL(UCS_LEVEL_PUBLIC), UCS_PRES_BUSY, UCS_PRES_R_NONE, "back at 3", "", "", 0,
	 1, "", 2, UCS_LINE_IDLE, "+4930222", "", "", 1, ""},
	{"business", LEVEL(UCS_LEVEL_BUSINESS), UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "back at 3",
	 "Private", "", UCS_CAL_MEETING, 1, "", 2, UCS_LINE_CONNECTED, "+4930222", "+4989123456",
	 "Ford Prefect", 1, ""},
	{"team", LEVEL(UCS_LEVEL_TEAM), UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "back at 3", "Private",
	 "", UCS_CAL_MEETING, 1, "carol", 2, UCS_LINE_CONNECTED, "+4930222", "+4989123456",
	 "Ford Prefect", 1, "+4930999"},
	{"personal", LEVEL(UCS_LEVEL_PERSONAL), UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "back at 3",
	 "Dentist", "Downtown", UCS_CAL_MEETING, 1, "carol", 2, UCS_LINE_CONNECTED, "+4930222",
	 "+4989123456", "Ford Prefect", 1, "+4930999"},
	{"self", UCS_R_ALL, UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "back at 3", "Dentist", "Downtown",
	 UCS_CAL_MEETING, 1, "carol", 2, UCS_LINE_CONNECTED, "+4930222", "+4989123456",
	 "Ford Prefect", 1, "+4930999"},
	/* single rights */
	{"see_presence only", UCS_R_SEE_PRESENCE, UCS_PRES_BUSY, UCS_PRES_R_NONE, "", "", "", 0, 0,
	 "", 0, 0, "", "", "", 0, ""},
	{"everything but see_presence", UCS_R_ALL & ~UCS_R_SEE_PRESENCE, UCS_PRES_UNKNOWN,
	 UCS_PRES_R_NONE, "", "", "", 0, 0, "", 0, 0, "", "", "", 0, ""},
	{"+ note", UCS_R_SEE_PRESENCE | UCS_R_SEE_NOTE, UCS_PRES_BUSY, UCS_PRES_R_NONE, "back at 3",
	 "", "", 0, 0, "", 0, 0, "", "", "", 0, ""},
	{"+ line state", UCS_R_SEE_PRESENCE | UCS_R_SEE_LINE_STATE, UCS_PRES_BUSY,
	 UCS_PRES_R_ON_PHONE, "", "", "", 0, 0, "", 2, UCS_LINE_CONNECTED, "", "", "", -1, ""},
	{"+ incoming without line state",
	 UCS_R_SEE_PRESENCE | UCS_R_SEE_NUMBERS | UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_SEE_INCOMING),
	 UCS_PRES_BUSY, UCS_PRES_R_NONE, "", "", "", 0, 0, "", 2, UCS_LINE_IDLE, "+4930222", "", "",
	 -1, ""},
	{"+ outgoing only (the call is incoming)",
	 UCS_R_SEE_PRESENCE | UCS_R_SEE_LINE_STATE |
		 UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_SEE_OUTGOING),
	 UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "", "", "", 0, 0, "", 2, UCS_LINE_CONNECTED, "", "",
	 "", -1, ""},
	{"+ incoming of the second line only",
	 UCS_R_SEE_PRESENCE | UCS_R_SEE_LINE_STATE |
		 UCS_R_LINE(UCS_LINE_SECOND, UCS_RL_SEE_INCOMING),
	 UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE, "", "", "", 0, 0, "", 2, UCS_LINE_CONNECTED, "", "",
	 "", -1, ""},
	{"+ fwd number without see forwarding",
	 UCS_R_SEE_PRESENCE | UCS_R_LINE(UCS_LINE_SECOND, UCS_RL_SEE_FWD_NUMBER), UCS_PRES_BUSY,
	 UCS_PRES_R_NONE, "", "", "", 0, 0, "", 0, 0, "", "", "", 0, ""},
	{"+ private appointments (full)", UCS_R_SEE_PRESENCE | UCS_R_SEE_PRIVATE_APPT,
	 UCS_PRES_BUSY, UCS_PRES_R_NONE, "", "Dentist", "Downtown", UCS_CAL_MEETING, 0, "", 0, 0,
	 "", "", "", 0, ""},
	{"+ public appointments (the meeting is private)",
	 UCS_R_SEE_PRESENCE | UCS_R_SEE_PUBLIC_APPT, UCS_PRES_BUSY, UCS_PRES_R_NONE, "", "", "", 0,
	 0, "", 0, 0, "", "", "", 0, ""},
	{"+ av participants without av state", UCS_R_SEE_PRESENCE | UCS_R_SEE_AV_PARTICIPANTS,
	 UCS_PRES_BUSY, UCS_PRES_R_NONE, "", "", "", 0, 0, "", 0, 0, "", "", "", 0, ""},
	{"+ av detail", UCS_R_SEE_PRESENCE | UCS_R_SEE_AV_DETAIL, UCS_PRES_BUSY, UCS_PRES_R_NONE,
	 "", "", "", 0, 1, "", 0, 0, "", "", "", 0, ""},
};

static uint64_t rights_of(uint64_t r)
{
	return r >> 63 ? rights_level_mask((int)(r & 7)) : r;
}

static void check_row(const struct expect *x, const struct ucs_presence_view *v)
{
	const struct ucs_presence *p = &v->presence;
	int fails = check_failures;

	CHECK_INT(v->size, ==, sizeof(*v));
	CHECK_INT(v->rights, ==, rights_of(x->rights));
	CHECK_INT(v->contact_fields, ==, rights_contact_fields(rights_of(x->rights)));
	CHECK_STR(p->user.text, "bob");
	CHECK_INT(p->state, ==, x->state);
	CHECK_INT(p->reason, ==, x->reason);
	CHECK_STR(p->note, x->note);
	CHECK_STR(p->subject, x->subject);
	CHECK_STR(p->place, x->place);
	CHECK_INT(p->calendar, ==, x->calendar);
	CHECK_INT(p->av_busy, ==, x->av_busy);
	CHECK_STR(p->av_with.text, x->av_with);
	CHECK_INT(p->n_lines, ==, x->n_lines);
	if (x->state == UCS_PRES_UNKNOWN) {
		CHECK_INT(p->since, ==, 0);
		CHECK_INT(p->seq, ==, 0);
	}
	if (p->n_lines == 2 && x->n_lines == 2) {
		CHECK_STR(p->lines[0].line.text, "l1");
		CHECK_INT(p->lines[0].state, ==, x->l1_state);
		CHECK_STR(p->lines[0].number.text, x->l1_number);
		CHECK_STR(p->lines[0].remote.text, x->l1_remote);
		CHECK_STR(p->lines[0].remote_name, x->l1_remote_name);
		CHECK_INT(p->lines[1].forwarding, ==, x->l2_forwarding);
		CHECK_STR(p->lines[1].fwd_target.text, x->l2_fwd_target);
		CHECK_INT(p->lines[1].line_class, ==, UCS_LINE_SECOND);
	}
	if (check_failures != fails)
		fprintf(stderr, "  in row \"%s\"\n", x->name);
}

static void levels(void)
{
	struct ucs_presence p;
	struct ucs_presence_view v;

	sample(&p, UCS_PRES_R_ON_PHONE);
	for (size_t i = 0; i < sizeof(by_level) / sizeof(by_level[0]); i++) {
		pres_view_build(&p, rights_of(by_level[i].rights), 0, 0, &v);
		check_row(&by_level[i], &v);
	}
	/* switched off globally: nobody sees anything, not even herself */
	pres_view_build(&p, UCS_R_ALL, 0, 1, &v);
	CHECK_INT(v.presence.state, ==, UCS_PRES_UNKNOWN);
	CHECK_INT(v.presence.n_lines, ==, 0);
	CHECK_STR(v.presence.note, "");
}

/* Which reason a Public, Business and Team watcher sees. */
static void reasons(void)
{
	static const struct {
		int reason, cal_private, pub, bus, team;
	} rows[] = {
		{UCS_PRES_R_MANUAL, 0, UCS_PRES_R_MANUAL, UCS_PRES_R_MANUAL, UCS_PRES_R_MANUAL},
		{UCS_PRES_R_IDLE, 0, UCS_PRES_R_IDLE, UCS_PRES_R_IDLE, UCS_PRES_R_IDLE},
		{UCS_PRES_R_ON_PHONE, 0, 0, UCS_PRES_R_ON_PHONE, UCS_PRES_R_ON_PHONE},
		/* no carried line rings or is in dnd here (it may be a fifth line):
		 * who sees every line's state sees the reason */
		{UCS_PRES_R_RINGING, 0, 0, UCS_PRES_R_RINGING, UCS_PRES_R_RINGING},
		{UCS_PRES_R_AV_CALL, 0, UCS_PRES_R_AV_CALL, UCS_PRES_R_AV_CALL, UCS_PRES_R_AV_CALL},
		{UCS_PRES_R_MEETING, 0, 0, UCS_PRES_R_MEETING, UCS_PRES_R_MEETING},
		{UCS_PRES_R_MEETING, 1, 0, UCS_PRES_R_MEETING, UCS_PRES_R_MEETING},
		{UCS_PRES_R_OUT_OF_OFFICE, 0, 0, UCS_PRES_R_OUT_OF_OFFICE,
		 UCS_PRES_R_OUT_OF_OFFICE},
		{UCS_PRES_R_FORWARDED, 0, UCS_PRES_R_FORWARDED, UCS_PRES_R_FORWARDED,
		 UCS_PRES_R_FORWARDED},
		{UCS_PRES_R_LINE_DND, 0, 0, UCS_PRES_R_LINE_DND, UCS_PRES_R_LINE_DND},
	};
	struct ucs_presence p;
	struct ucs_presence_view v;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got[3];

		sample(&p, rows[i].reason);
		p.calendar_private = rows[i].cal_private;
		for (int l = 0; l < 3; l++) {
			pres_view_build(&p, rights_level_mask(UCS_LEVEL_PUBLIC + l), 0, 0, &v);
			got[l] = v.presence.reason;
		}
		CHECK_INT(got[0], ==, rows[i].pub);
		CHECK_INT(got[1], ==, rows[i].bus);
		CHECK_INT(got[2], ==, rows[i].team);
	}
	/* an extra line that rings justifies the reason for a Public watcher */
	sample(&p, UCS_PRES_R_RINGING);
	p.lines[0].state = UCS_LINE_RINGING;
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_PUBLIC), PRES_XG(0, PRES_XG_STATE), 0, &v);
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_RINGING);
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_PUBLIC), PRES_XG(1, PRES_XG_STATE), 0, &v);
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_NONE);
	sample(&p, UCS_PRES_R_LINE_DND);
	p.lines[1].dnd = 1;
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_BUSINESS), 0, 0, &v);
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_LINE_DND);
	CHECK_INT(v.presence.lines[1].dnd, ==, 1);
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_PUBLIC), 0, 0, &v);
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_NONE);
	CHECK_INT(v.presence.lines[1].dnd, ==, 0);
	/* a public appointment */
	sample(&p, UCS_PRES_R_MEETING);
	p.calendar_private = 0;
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_BUSINESS), 0, 0, &v);
	CHECK_STR(v.presence.subject, "Dentist");
	CHECK_STR(v.presence.place, "Downtown");
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_PUBLIC), 0, 0, &v);
	CHECK_STR(v.presence.subject, "");
	CHECK_INT(v.presence.calendar, ==, UCS_CAL_FREE);
	/* an outgoing call: Business sees the first line's, not the second's */
	sample(&p, UCS_PRES_R_ON_PHONE);
	p.lines[0].direction = UCS_CALL_OUTGOING;
	p.lines[1].state = UCS_LINE_CONNECTED;
	p.lines[1].direction = UCS_CALL_OUTGOING;
	strcpy(p.lines[1].remote.text, "+4940777");
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_BUSINESS), 0, 0, &v);
	CHECK_STR(v.presence.lines[0].remote.text, "+4989123456");
	CHECK_STR(v.presence.lines[1].remote.text, "");
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_TEAM), 0, 0, &v);
	CHECK_STR(v.presence.lines[1].remote.text, "+4940777");
}

/* An additional line of bob made available to a Public watcher. */
static void extra_lines(void)
{
	struct ucs_presence p;
	struct ucs_presence_view v;
	uint64_t pub = rights_level_mask(UCS_LEVEL_PUBLIC);

	sample(&p, UCS_PRES_R_ON_PHONE);
	pres_view_build(&p, pub, PRES_XG(0, PRES_XG_STATE), 0, &v);
	CHECK_INT(v.presence.lines[0].state, ==, UCS_LINE_CONNECTED);
	CHECK_STR(v.presence.lines[0].remote.text, "");
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_ON_PHONE);
	CHECK_INT(v.presence.lines[1].state, ==, UCS_LINE_IDLE);
	pres_view_build(&p, pub, PRES_XG(0, PRES_XG_STATE | PRES_XG_INCOMING), 0, &v);
	CHECK_STR(v.presence.lines[0].remote.text, "+4989123456");
	pres_view_build(&p, pub, PRES_XG(0, PRES_XG_STATE | PRES_XG_OUTGOING), 0, &v);
	CHECK_STR(v.presence.lines[0].remote.text, "");
	/* a grant on the second slot does not open the first */
	pres_view_build(&p, pub, PRES_XG(1, PRES_XG_STATE | PRES_XG_INCOMING), 0, &v);
	CHECK_INT(v.presence.lines[0].state, ==, UCS_LINE_IDLE);
	CHECK_INT(v.presence.reason, ==, UCS_PRES_R_NONE);
}

static void hashing(void)
{
	struct ucs_presence p;
	struct ucs_presence_view a, b;
	uint64_t pub = rights_level_mask(UCS_LEVEL_PUBLIC);
	uint64_t team = rights_level_mask(UCS_LEVEL_TEAM);

	sample(&p, UCS_PRES_R_ON_PHONE);
	pres_view_build(&p, pub, 0, 0, &a);
	/* another remote number and another seq: Public sees no difference */
	strcpy(p.lines[0].remote.text, "+4989000000");
	p.seq++;
	pres_view_build(&p, pub, 0, 0, &b);
	strcpy(b.watcher.text, "someone");
	CHECK(pres_view_hash(&a) == pres_view_hash(&b));
	pres_view_build(&p, team, 0, 0, &b);
	sample(&p, UCS_PRES_R_ON_PHONE);
	pres_view_build(&p, team, 0, 0, &a);
	CHECK(pres_view_hash(&a) != pres_view_hash(&b));
	CHECK(pres_view_hash(&a) != 0);
}

/* seq travels only in a view that hides nothing (her own): in any other it
 * would move with changes the watcher may not see. */
static void seqs(void)
{
	struct ucs_presence p;
	struct ucs_presence_view v;

	sample(&p, UCS_PRES_R_ON_PHONE);
	CHECK_INT(p.seq, ==, 7);
	for (int level = UCS_LEVEL_BLOCKED; level <= UCS_LEVEL_PERSONAL; level++) {
		pres_view_build(&p, rights_level_mask(level), PRES_XG(0, PRES_XG_STATE), 0, &v);
		CHECK_INT(v.presence.seq, ==, 0);
	}
	pres_view_build(&p, UCS_R_ALL & ~UCS_R_SEE_AV_PARTICIPANTS, 0, 0, &v);
	CHECK_INT(v.presence.seq, ==, 0);
	pres_view_build(&p, UCS_R_ALL, 0, 0, &v);
	CHECK_INT(v.presence.seq, ==, 7);
	CHECK_INT(v.presence.since, ==, p.since);
	pres_view_build(&p, UCS_R_ALL, 0, 1, &v); /* presence switched off */
	CHECK_INT(v.presence.seq, ==, 0);
}

static void json(void)
{
	struct ucs_presence p;
	struct ucs_presence_view v;
	char buf[8192], tiny[16];
	int n;

	sample(&p, UCS_PRES_R_ON_PHONE);
	strcpy(p.note, "say \"hi\"\n\xff\xc3\xa4");
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_BUSINESS), 0, 0, &v);
	strcpy(v.watcher.text, "alice");
	n = pres_json_view(&v, sizeof(v), buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK_CONTAINS(buf, "{\"watcher\":\"alice\",\"rights\":\"0x");
	CHECK_CONTAINS(buf, "\"see_line_state\"");
	CHECK_CONTAINS(buf, "\"state\":\"busy\",\"reason\":\"on_phone\"");
	CHECK_CONTAINS(buf, "\"note\":\"say \\\"hi\\\"\\u000a\\ufffd\xc3\xa4\"");
	CHECK_CONTAINS(buf, "\"subject\":\"Private\"");
	CHECK_CONTAINS(buf, "\"remote\":\"+4989123456\"");
	CHECK_CONTAINS(buf, "\"forwarding\":true");
	CHECK_CONTAINS(buf, "\"class\":\"second\"");
	CHECK_CONTAINS(buf, "\"contact_fields\":[\"image\"");
	CHECK_INT(pres_json_view(&v, sizeof(v), tiny, sizeof(tiny)), ==, n);
	CHECK_INT(strlen(tiny), ==, sizeof(tiny) - 1);
	CHECK_INT(pres_json_view(&v, sizeof(v) - 1, buf, sizeof(buf)), ==, -EINVAL);
	pres_view_build(&p, rights_level_mask(UCS_LEVEL_BLOCKED), 0, 0, &v);
	n = pres_json_presence(&v.presence, sizeof(v.presence), buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_CONTAINS(buf, "\"state\":\"unknown\"");
	CHECK_CONTAINS(buf, "\"lines\":[]");
	p.lines[0].forwarding = -1;
	p.state = 42;
	n = pres_json_presence(&p, sizeof(p), buf, sizeof(buf));
	CHECK_CONTAINS(buf, "\"state\":42");
	CHECK_CONTAINS(buf, "\"forwarding\":null");
}

int main(void)
{
	levels();
	reasons();
	extra_lines();
	hashing();
	seqs();
	json();
	return check_report();
}
