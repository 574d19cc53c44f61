/*
 * plugins/presence/tests/test_precedence.c - the presence precedence as a
 * table: combinations of inputs -> state and reason (the table in
 * docs/plugins/presence.md), then the calendar's own timing (a meeting that
 * starts later, one that ends), seq/since, and inputs that must be refused.
 */
#include "check.h"
#include "pres_fixture.h"

#define NOW_MS 1700000000000ll
#define NOW_S  (NOW_MS / 1000)

enum { S_NONE, S_ACTIVE, S_IDLE, S_MIXED };

struct row {
	const char *name;
	int manual;		    /* 0: none */
	int l1, l1_dnd, l1_fwd;	    /* first line (business number); 0: not reported */
	int l2;			    /* second line (second phone); 0: not reported */
	int av;			    /* audio/video busy */
	int cal;		    /* enum ucs_calendar_kind */
	int64_t cal_start, cal_end; /* relative to now, seconds; end 0: open */
	int sessions;
	int state, reason;
};

#define L_IDLE UCS_LINE_IDLE
#define L_RING UCS_LINE_RINGING
#define L_DIAL UCS_LINE_DIALING
#define L_CONN UCS_LINE_CONNECTED
#define L_HELD UCS_LINE_HELD

static const struct row rows[] = {
	{"nothing", 0, 0, 0, 0, 0, 0, 0, 0, 0, S_NONE, UCS_PRES_OFFLINE, UCS_PRES_R_NONE},
	{"logged in", 0, 0, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_AVAILABLE, UCS_PRES_R_NONE},
	{"idle session", 0, 0, 0, 0, 0, 0, 0, 0, 0, S_IDLE, UCS_PRES_AWAY, UCS_PRES_R_IDLE},
	{"one of two sessions idle", 0, 0, 0, 0, 0, 0, 0, 0, 0, S_MIXED, UCS_PRES_AVAILABLE,
	 UCS_PRES_R_NONE},
	{"idle line, logged in", 0, L_IDLE, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_AVAILABLE,
	 UCS_PRES_R_NONE},
	{"manual available, offline", UCS_PRES_AVAILABLE, 0, 0, 0, 0, 0, 0, 0, 0, S_NONE,
	 UCS_PRES_AVAILABLE, UCS_PRES_R_MANUAL},
	{"manual available, logged in", UCS_PRES_AVAILABLE, 0, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_AVAILABLE, UCS_PRES_R_MANUAL},
	{"idle beats manual available", UCS_PRES_AVAILABLE, 0, 0, 0, 0, 0, 0, 0, 0, S_IDLE,
	 UCS_PRES_AWAY, UCS_PRES_R_IDLE},
	{"manual busy", UCS_PRES_BUSY, 0, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_MANUAL},
	{"manual away, offline", UCS_PRES_AWAY, 0, 0, 0, 0, 0, 0, 0, 0, S_NONE, UCS_PRES_AWAY,
	 UCS_PRES_R_MANUAL},
	{"manual offline, logged in", UCS_PRES_OFFLINE, 0, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_OFFLINE, UCS_PRES_R_MANUAL},
	{"manual busy beats forwarding", UCS_PRES_BUSY, L_IDLE, 0, 1, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_BUSY, UCS_PRES_R_MANUAL},
	{"manual busy beats idle", UCS_PRES_BUSY, 0, 0, 0, 0, 0, 0, 0, 0, S_IDLE, UCS_PRES_BUSY,
	 UCS_PRES_R_MANUAL},
	{"manual dnd beats a call", UCS_PRES_DND, L_CONN, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_DND, UCS_PRES_R_MANUAL},
	{"manual dnd beats line dnd", UCS_PRES_DND, L_IDLE, 1, 0, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_DND, UCS_PRES_R_MANUAL},
	{"line dnd beats a call", 0, L_IDLE, 1, 0, L_CONN, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_DND,
	 UCS_PRES_R_LINE_DND},
	{"line dnd, offline", 0, L_IDLE, 1, 0, 0, 0, 0, 0, 0, S_NONE, UCS_PRES_DND,
	 UCS_PRES_R_LINE_DND},
	{"connected", 0, L_CONN, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE},
	{"dialing", 0, L_DIAL, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE},
	{"held", 0, L_HELD, 0, 0, 0, 0, 0, 0, 0, S_NONE, UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE},
	{"ringing", 0, L_RING, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_RINGING},
	{"a call beats ringing", 0, L_RING, 0, 0, L_CONN, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_ON_PHONE},
	{"second line counts", 0, L_IDLE, 0, 0, L_RING, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_RINGING},
	{"call beats av", 0, L_CONN, 0, 0, 0, 1, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_ON_PHONE},
	{"call beats manual busy", UCS_PRES_AWAY, L_CONN, 0, 0, 0, 0, 0, 0, 0, S_ACTIVE,
	 UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE},
	{"call beats out of office", 0, L_CONN, 0, 0, 0, 0, UCS_CAL_OUT_OF_OFFICE, 0, 3600,
	 S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_ON_PHONE},
	{"av", 0, 0, 0, 0, 0, 1, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_AV_CALL},
	{"av beats out of office", 0, 0, 0, 0, 0, 1, UCS_CAL_OUT_OF_OFFICE, 0, 3600, S_ACTIVE,
	 UCS_PRES_BUSY, UCS_PRES_R_AV_CALL},
	{"out of office", 0, 0, 0, 0, 0, 0, UCS_CAL_OUT_OF_OFFICE, -60, 3600, S_ACTIVE,
	 UCS_PRES_AWAY, UCS_PRES_R_OUT_OF_OFFICE},
	{"out of office beats manual busy", UCS_PRES_BUSY, 0, 0, 0, 0, 0, UCS_CAL_OUT_OF_OFFICE, 0,
	 0, S_ACTIVE, UCS_PRES_AWAY, UCS_PRES_R_OUT_OF_OFFICE},
	{"meeting", 0, 0, 0, 0, 0, 0, UCS_CAL_MEETING, -60, 3600, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_MEETING},
	{"meeting beats manual away", UCS_PRES_AWAY, 0, 0, 0, 0, 0, UCS_CAL_MEETING, 0, 3600,
	 S_ACTIVE, UCS_PRES_BUSY, UCS_PRES_R_MEETING},
	{"meeting beats forwarding", 0, L_IDLE, 0, 1, 0, 0, UCS_CAL_MEETING, 0, 3600, S_ACTIVE,
	 UCS_PRES_BUSY, UCS_PRES_R_MEETING},
	{"meeting, offline", 0, 0, 0, 0, 0, 0, UCS_CAL_MEETING, 0, 3600, S_NONE, UCS_PRES_BUSY,
	 UCS_PRES_R_MEETING},
	{"meeting over", 0, 0, 0, 0, 0, 0, UCS_CAL_MEETING, -3600, -60, S_ACTIVE,
	 UCS_PRES_AVAILABLE, UCS_PRES_R_NONE},
	{"meeting later", 0, 0, 0, 0, 0, 0, UCS_CAL_MEETING, 600, 3600, S_ACTIVE,
	 UCS_PRES_AVAILABLE, UCS_PRES_R_NONE},
	{"forwarded", 0, L_IDLE, 0, 1, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_AWAY,
	 UCS_PRES_R_FORWARDED},
	{"forwarded, offline", 0, L_IDLE, 0, 1, 0, 0, 0, 0, 0, S_NONE, UCS_PRES_AWAY,
	 UCS_PRES_R_FORWARDED},
	{"forwarding beats idle", 0, L_IDLE, 0, 1, 0, 0, 0, 0, 0, S_IDLE, UCS_PRES_AWAY,
	 UCS_PRES_R_FORWARDED},
	{"forwarded while on the phone", 0, L_CONN, 0, 1, 0, 0, 0, 0, 0, S_ACTIVE, UCS_PRES_BUSY,
	 UCS_PRES_R_ON_PHONE},
	{"calendar free", 0, 0, 0, 0, 0, 0, UCS_CAL_FREE, 0, 3600, S_ACTIVE, UCS_PRES_AVAILABLE,
	 UCS_PRES_R_NONE},
};

static void setup(struct fx *f)
{
	struct ucs_ud_user *a;

	fx_init(f);
	a = fx_user(f, "alice");
	fx_phone(f, a, UCS_UD_PHONE_BUSINESS, "+4930111");
	a->second_phone = "l2";
	fx_finish(f);
}

static void run_row(const struct row *r)
{
	struct fx f;
	struct fx_env *e = calloc(1, sizeof(*e));
	struct rights_engine *re = rights_new(0);
	struct pres p;
	struct pres_user *u;
	int fails = check_failures;

	setup(&f);
	e->wall = NOW_MS;
	fx_core(&p, re, e, &f.snap);
	if (r->l1)
		CHECK_INT(fx_line_ex(&p, "l1", "111", "+4930111", r->l1, UCS_CALL_INCOMING,
				     "+4989123", r->l1_fwd, r->l1_dnd, "+4930999"),
			  ==, 0);
	if (r->l2)
		CHECK_INT(fx_line(&p, "l2", "112", "", r->l2, UCS_CALL_OUTGOING, "+4989555"), ==,
			  0);
	if (r->av)
		CHECK_INT(fx_av(&p, "alice", 1, "bob"), ==, 0);
	if (r->cal)
		CHECK_INT(fx_cal(&p, "alice", r->cal, 0, r->cal_start ? NOW_S + r->cal_start : 0,
				 r->cal_end ? NOW_S + r->cal_end : 0, "Review"),
			  ==, 0);
	if (r->sessions != S_NONE)
		CHECK_INT(fx_login(&p, "alice", "s1", 1, r->sessions == S_IDLE), ==, 0);
	if (r->sessions == S_MIXED)
		CHECK_INT(fx_login(&p, "alice", "s2", 1, 1), ==, 0);
	if (r->manual)
		CHECK_INT(pres_set(&p, "alice", "alice", r->manual, NULL), ==, 0);
	u = pres_user_find(&p, "alice");
	CHECK(u != NULL);
	if (u) {
		CHECK_INT(u->pres.state, ==, r->state);
		CHECK_INT(u->pres.reason, ==, r->reason);
		CHECK_INT(u->pres.manual, ==, r->manual);
	}
	if (check_failures != fails)
		fprintf(stderr, "  in row \"%s\"\n", r->name);
	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	free(e);
}

/* A meeting that starts in ten minutes and lasts an hour; the clock moves. */
static void calendar_timing(void)
{
	struct fx f;
	struct fx_env *e = calloc(1, sizeof(*e));
	struct rights_engine *re = rights_new(0);
	struct pres p;
	struct pres_user *u;

	setup(&f);
	e->wall = NOW_MS;
	fx_core(&p, re, e, &f.snap);
	u = pres_user_find(&p, "alice");
	fx_login(&p, "alice", "s1", 1, 0);
	CHECK_INT(fx_cal(&p, "alice", UCS_CAL_MEETING, 0, NOW_S + 600, NOW_S + 4200, "Review"), ==,
		  0);
	CHECK_INT(u->pres.state, ==, UCS_PRES_AVAILABLE);
	CHECK_INT(pres_next_timeout(&p), ==, 600 * 1000);
	e->wall += 599 * 1000;
	pres_calendar_due(&p);
	CHECK_INT(u->pres.state, ==, UCS_PRES_AVAILABLE);
	e->wall += 1000;
	pres_calendar_due(&p);
	CHECK_INT(u->pres.state, ==, UCS_PRES_BUSY);
	CHECK_INT(u->pres.reason, ==, UCS_PRES_R_MEETING);
	CHECK_STR(u->pres.subject, "Review");
	CHECK_INT(u->pres.calendar_end, ==, NOW_S + 4200);
	CHECK_INT(pres_next_timeout(&p), ==, 3600 * 1000);
	e->wall += 3600 * 1000;
	pres_calendar_due(&p);
	CHECK_INT(u->pres.state, ==, UCS_PRES_AVAILABLE);
	CHECK_INT(u->pres.calendar, ==, UCS_CAL_FREE);
	CHECK_STR(u->pres.subject, "");
	CHECK_INT(pres_next_timeout(&p), ==, -1);
	/* a new entry replaces the old one; FREE clears it */
	fx_cal(&p, "alice", UCS_CAL_OUT_OF_OFFICE, 0, 0, 0, "Vacation");
	CHECK_INT(u->pres.reason, ==, UCS_PRES_R_OUT_OF_OFFICE);
	CHECK_INT(pres_next_timeout(&p), ==, -1); /* open-ended: no timer */
	fx_cal(&p, "alice", UCS_CAL_FREE, 0, 0, 0, NULL);
	CHECK_INT(u->pres.state, ==, UCS_PRES_AVAILABLE);
	/* absurd times neither overflow nor fire */
	CHECK_INT(fx_cal(&p, "alice", UCS_CAL_MEETING, 0, INT64_MIN, INT64_MAX, "x"), ==, 0);
	CHECK_INT(u->pres.reason, ==, UCS_PRES_R_MEETING);
	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	free(e);
}

/* seq moves with every change, since only when the state changes. */
static void seq_and_since(void)
{
	struct fx f;
	struct fx_env *e = calloc(1, sizeof(*e));
	struct rights_engine *re = rights_new(0);
	struct pres p;
	struct pres_user *u;
	uint64_t seq;
	size_t changed;

	setup(&f);
	e->wall = NOW_MS;
	fx_core(&p, re, e, &f.snap);
	u = pres_user_find(&p, "alice");
	seq = u->pres.seq;
	changed = e->n_changed;
	e->wall += 1000;
	fx_line(&p, "l1", "111", "+4930111", UCS_LINE_RINGING, UCS_CALL_INCOMING, "+4989123");
	CHECK_INT(u->pres.seq, ==, seq + 1);
	CHECK_INT(u->pres.since, ==, NOW_MS + 1000);
	CHECK_INT(e->n_changed, ==, changed + 1);
	CHECK_STR(e->last_changed.user.text, "alice");
	CHECK_INT(e->last_changed.reason, ==, UCS_PRES_R_RINGING);
	e->wall += 1000;
	/* busy -> busy: the reason changes, the state does not */
	fx_line(&p, "l1", "111", "+4930111", UCS_LINE_CONNECTED, UCS_CALL_INCOMING, "+4989123");
	CHECK_INT(u->pres.seq, ==, seq + 2);
	CHECK_INT(u->pres.since, ==, NOW_MS + 1000);
	/* the same report again changes nothing */
	fx_line(&p, "l1", "111", "+4930111", UCS_LINE_CONNECTED, UCS_CALL_INCOMING, "+4989123");
	CHECK_INT(u->pres.seq, ==, seq + 2);
	CHECK_INT(e->n_changed, ==, changed + 2);
	/* the line's view in the presence */
	CHECK_INT(u->pres.n_lines, ==, 1);
	CHECK_STR(u->pres.lines[0].line.text, "l1");
	CHECK_STR(u->pres.lines[0].number.text, "+4930111");
	CHECK_STR(u->pres.lines[0].remote.text, "+4989123");
	CHECK_INT(u->pres.lines[0].line_class, ==, UCS_LINE_FIRST);
	/* the line goes idle: remote gone */
	fx_line(&p, "l1", "111", "+4930111", UCS_LINE_IDLE, UCS_CALL_INCOMING, "+4989123");
	CHECK_STR(u->pres.lines[0].remote.text, "");
	CHECK_INT(u->pres.lines[0].direction, ==, UCS_CALL_NONE);
	CHECK_INT(u->pres.since, ==, NOW_MS + 2000);
	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	free(e);
}

/* Broken payloads change nothing. */
static void bad_inputs(void)
{
	struct fx f;
	struct fx_env *e = calloc(1, sizeof(*e));
	struct rights_engine *re = rights_new(0);
	struct pres p;
	struct pres_user *u;
	struct ucs_presence_login lg = {.size = sizeof(lg), .logged_in = 1};
	struct ucs_presence_line ln = {.size = sizeof(ln), .state = UCS_LINE_RINGING};
	struct ucs_presence_calendar cal = {.size = sizeof(cal), .kind = 7};
	uint64_t seq;

	setup(&f);
	e->wall = NOW_MS;
	fx_core(&p, re, e, &f.snap);
	u = pres_user_find(&p, "alice");
	seq = u->pres.seq;
	memset(lg.user.text, 'a', sizeof(lg.user.text)); /* no NUL */
	CHECK_INT(pres_in_login(&p, &lg), ==, -EINVAL);
	CHECK_INT(fx_login(&p, "nobody", "s", 1, 0), ==, -ENOENT);
	CHECK_INT(pres_in_line(&p, &ln), ==, -EINVAL); /* empty line id */
	strcpy(ln.line.text, "l1");
	strcpy(ln.canonical.text, "+4930111");
	ln.state = 6;
	CHECK_INT(pres_in_line(&p, &ln), ==, -EINVAL);
	ln.state = UCS_LINE_RINGING;
	ln.direction = -1;
	CHECK_INT(pres_in_line(&p, &ln), ==, -EINVAL);
	ln.direction = 0;
	memset(ln.remote.text, '9', sizeof(ln.remote.text));
	CHECK_INT(pres_in_line(&p, &ln), ==, -EINVAL);
	CHECK_INT(fx_line(&p, "l9", "", "", UCS_LINE_GONE, 0, NULL), ==, -ENOENT);
	strcpy(cal.user.text, "alice");
	CHECK_INT(pres_in_calendar(&p, &cal), ==, -EINVAL);
	CHECK_INT(fx_av(&p, "nobody", 1, NULL), ==, -ENOENT);
	for (int i = 0; i < PRES_MAX_SESSIONS; i++) {
		char s[16];

		snprintf(s, sizeof(s), "s%d", i);
		CHECK_INT(fx_login(&p, "alice", s, 1, 0), ==, 0);
	}
	CHECK_INT(fx_login(&p, "alice", "one-too-many", 1, 0), ==, -ENOSPC);
	CHECK_INT(u->pres.seq, ==, seq + 1); /* only the first login changed her */
	CHECK_INT(u->pres.state, ==, UCS_PRES_AVAILABLE);
	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	free(e);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	calendar_timing();
	seq_and_since();
	bad_inputs();
	return check_report();
}
