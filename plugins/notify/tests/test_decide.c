/*
 * plugins/notify/tests/test_decide.c - who gets a missed-call message:
 * every recipient rule with calls nobody answered and calls another party
 * answered (with and without even_if_answered), one message per person on
 * parallel ringing, every exception, the services and addresses, and the
 * repeated-call memory the decision reads and commits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/presence.h>
#include <ucs/userdb.h>

#include "check.h"
#include "nt.h"
#include "ucs_pick.h"

#define T0 1764169200000ll /* 2025-11-26 16:00 Europe/Berlin */

struct spec {
	const char *user;
	int rang, answered, dir;
	int64_t alert, end;
};

static struct ucs_journal_call *mk(const struct spec *s, size_t n, int answered, size_t *len)
{
	struct ucs_journal_call *c;

	*len = sizeof(*c) + n * sizeof(struct ucs_journal_part);
	c = calloc(1, *len);
	c->size = sizeof(*c);
	c->n_parts = (uint32_t)n;
	c->part_size = sizeof(struct ucs_journal_part);
	c->answered = answered;
	c->contact_found = 1;
	c->started_ms = T0;
	c->ended_ms = T0 + 30000;
	strcpy(c->call.text, "c1");
	strcpy(c->remote.canonical.text, "+4989123456");
	strcpy(c->remote.display, "+49 89 123456");
	strcpy(c->remote_name, "Bob Builder");
	for (size_t i = 0; i < n; i++) {
		struct ucs_journal_part *p =
			(struct ucs_journal_part *)((char *)c + c->size + i * c->part_size);

		p->size = sizeof(*p);
		p->direction = s[i].dir ? s[i].dir : UCS_CALL_INCOMING;
		p->rang = s[i].rang;
		p->answered = s[i].answered;
		p->alerting_ms = s[i].rang ? (s[i].alert ? s[i].alert : T0 + 1000) : 0;
		p->ended_ms = s[i].end ? s[i].end : T0 + 20000;
		snprintf(p->user.text, sizeof(p->user.text), "%s", s[i].user);
		snprintf(p->line.text, sizeof(p->line.text), "line-%s-%zu", s[i].user, i);
	}
	return c;
}

/* Users: everyone has both services and addresses, except as named. */
static void facts(void *arg, const char *user, struct nt_user_facts *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (strcmp(user, "ghost") == 0)
		return;
	out->known = true;
	out->services = UCS_SVC_MISSED_CALL_MAIL | UCS_SVC_MISSED_CALL_SMS;
	out->email = "x@example.com";
	out->mobile = "+491701234567";
	if (strcmp(user, "nosvc") == 0)
		out->services = UCS_SVC_CHAT;
	if (strcmp(user, "mailonly") == 0)
		out->services = UCS_SVC_MISSED_CALL_MAIL;
	if (strcmp(user, "list") == 0) /* a list in the e-mail field */
		out->email = "a@example.com; b@example.com";
	if (strcmp(user, "comma") == 0)
		out->email = "a@example.com,b@example.com";
	if (strcmp(user, "named") == 0)
		out->email = "Ann <a@example.com>";
	if (strcmp(user, "noemail") == 0) {
		out->services = UCS_SVC_MISSED_CALL_MAIL;
		out->email = "";
	}
	if (strcmp(user, "smsnomobile") == 0) {
		out->services = UCS_SVC_MISSED_CALL_SMS;
		out->mobile = "";
	}
}

static struct nt_conf conf_with(int rule, bool even)
{
	struct nt_conf c;

	memset(&c, 0, sizeof(c));
	c.recipients = rule;
	c.even_if_answered = even;
	strcpy(c.link_prefix, "tel:");
	strcpy(c.language, "en");
	return c;
}

/* The users who get something, joined with ','. */
static const char *chosen(const struct nt_decision *d)
{
	static char buf[256];

	buf[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].mail || d->r[i].sms) {
			if (*buf)
				strcat(buf, ",");
			strcat(buf, d->r[i].user);
		}
	return buf;
}

static const char *decide(const struct nt_conf *conf, const struct spec *s, size_t n, int answered,
			  struct nt_state *st, struct nt_decision *d)
{
	size_t len;
	struct ucs_journal_call *c = mk(s, n, answered, &len);
	int err = nt_decide(conf, c, len, st, facts, NULL, T0 + 60000, d);

	CHECK_INT(err, ==, 0);
	free(c);
	return chosen(d);
}

static void test_rules(void)
{
	/* a, b, c rang in that order; nobody answered */
	const struct spec unanswered[] = {
		{"a", 1, 0, 0, T0 + 1000, 0},
		{"b", 1, 0, 0, T0 + 2000, 0},
		{"c", 1, 0, 0, T0 + 3000, 0},
	};
	/* a and c rang, b answered */
	const struct spec answered[] = {
		{"a", 1, 0, 0, T0 + 1000, 0},
		{"b", 1, 1, 0, T0 + 2000, 0},
		{"c", 1, 0, 0, T0 + 3000, 0},
	};
	struct {
		int rule;
		bool even;
		const char *if_unanswered, *if_answered;
	} cases[] = {
		{UCS_PICK_NONE, false, "", ""},	    {UCS_PICK_NONE, true, "", ""},
		{UCS_PICK_FIRST, false, "a", ""},   {UCS_PICK_FIRST, true, "a", "a"},
		{UCS_PICK_LAST, false, "c", ""},    {UCS_PICK_LAST, true, "c", "c"},
		{UCS_PICK_ALL, false, "a,b,c", ""}, {UCS_PICK_ALL, true, "a,b,c", "a,c"},
	};
	struct nt_state *st = nt_state_new(100);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nt_conf conf = conf_with(cases[i].rule, cases[i].even);
		struct nt_decision d;

		CHECK_STR(decide(&conf, unanswered, 3, 0, st, &d), cases[i].if_unanswered);
		CHECK(d.incoming);
		nt_decision_free(&d);
		CHECK_STR(decide(&conf, answered, 3, 1, st, &d), cases[i].if_answered);
		/* the one who answered is never among the candidates */
		for (size_t k = 0; k < d.n; k++)
			CHECK(strcmp(d.r[k].user, "b") != 0);
		if (!cases[i].even && cases[i].rule != UCS_PICK_NONE) {
			CHECK_INT(d.n, ==, 2);
			CHECK_INT(d.r[0].reason, ==, NT_ANSWERED_CALL);
		}
		nt_decision_free(&d);
	}
	nt_state_free(st);
}

static void test_one_per_person(void)
{
	/* a parallel hunt group: a rang on desk and softphone, b in between,
	 * and a distribution came back to a's desk once more */
	const struct spec parts[] = {
		{"a", 1, 0, 0, T0 + 1000, T0 + 5000},
		{"b", 1, 0, 0, T0 + 1000, T0 + 5000},
		{"a", 1, 0, 0, T0 + 1000, T0 + 5000},
		{"", 1, 0, 0, T0 + 1000, 0}, /* an unowned line */
		{"a", 1, 0, 0, T0 + 9000, T0 + 14000},
	};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	struct nt_decision d;

	CHECK_STR(decide(&conf, parts, 5, 0, st, &d), "a,b");
	CHECK_INT(d.n, ==, 2);
	CHECK_INT(d.r[0].n_parts, ==, 3);
	CHECK_INT(d.r[0].first_part, ==, 0);
	CHECK_INT(d.r[0].ring_s, ==, 13); /* from her first ring to her last */
	nt_decision_free(&d);

	conf.recipients = UCS_PICK_LAST;
	CHECK_STR(decide(&conf, parts, 5, 0, st, &d), "b"); /* a rang first, b last */
	nt_decision_free(&d);

	/* a user who answered on one of her lines is not told about the other */
	const struct spec picked[] = {
		{"a", 1, 0, 0, T0 + 1000, 0},
		{"a", 1, 1, 0, T0 + 1000, 0},
		{"b", 1, 0, 0, T0 + 1000, 0},
	};
	conf.recipients = UCS_PICK_ALL;
	conf.even_if_answered = true;
	CHECK_STR(decide(&conf, picked, 3, 1, st, &d), "b");
	nt_decision_free(&d);

	/* the ringing order decides "first", not the order of other parts:
	 * the caller's own (outgoing) part comes first in the list */
	const struct spec order[] = {
		{"caller", 0, 0, UCS_CALL_OUTGOING, 0, 0},
		{"x", 0, 0, 0, 0, 0},
		{"y", 1, 0, 0, T0 + 1000, 0},
		{"x", 1, 0, 0, T0 + 2000, 0},
	};
	conf.recipients = UCS_PICK_FIRST;
	conf.even_if_answered = false;
	CHECK_STR(decide(&conf, order, 4, 0, st, &d), "y");
	nt_decision_free(&d);

	/* an outgoing call notifies nobody */
	const struct spec out[] = {{"a", 0, 0, UCS_CALL_OUTGOING, 0, 0}};
	CHECK_STR(decide(&conf, out, 1, 0, st, &d), "");
	CHECK(!d.incoming);
	nt_decision_free(&d);
	nt_state_free(st);
}

static int reason_of(const struct nt_conf *conf, struct ucs_journal_call *c, size_t len,
		     struct nt_state *st, int64_t now)
{
	struct nt_decision d;
	int reason = -1;

	CHECK_INT(nt_decide(conf, c, len, st, facts, NULL, now, &d), ==, 0);
	if (d.n == 1)
		reason = d.r[0].reason;
	nt_decision_free(&d);
	return reason;
}

static void test_exceptions(void)
{
	const struct spec one[] = {{"a", 1, 0, 0, T0 + 1000, T0 + 11000}};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	size_t len;
	struct ucs_journal_call *c = mk(one, 1, 0, &len);
	struct nt_exclude ex[2];

	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);

	/* internal */
	c->internal = 1;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	conf.ex_internal = true;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_INTERNAL);
	c->internal = 0;

	/* hidden */
	c->hidden = 1;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	conf.ex_hidden = true;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_HIDDEN);
	c->hidden = 0;

	/* no contact data: neither a contact nor a ucsd user */
	c->contact_found = 0;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	conf.ex_no_contact = true;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_NO_CONTACT);
	strcpy(c->remote_user.text, "bob");
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	c->remote_user.text[0] = '\0';
	c->contact_found = 1;

	/* excluded: as entered, canonical, or the display form */
	memset(ex, 0, sizeof(ex));
	strcpy(ex[0].entered, "089 123456");
	strcpy(ex[0].canonical, "+4989123456");
	conf.exclude = ex;
	conf.n_exclude = 1;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_EXCLUDED);
	strcpy(ex[0].entered, "+4989123456");
	ex[0].canonical[0] = '\0';
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_EXCLUDED);
	strcpy(ex[0].entered, "+49 89 123456");
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_EXCLUDED);
	strcpy(ex[0].entered, "+4989999");
	strcpy(ex[0].canonical, "+4989999");
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	conf.n_exclude = 0;
	conf.exclude = NULL;

	/* rang for less than min_ring_s (10 s here) */
	conf.min_ring_s = 11;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_SHORT_RING);
	conf.min_ring_s = 10;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	free(c);
	{
		const struct spec short_ring[] = {{"a", 1, 0, 0, T0 + 1000, T0 + 2500}};

		c = mk(short_ring, 1, 0, &len);
		conf.min_ring_s = 2;
		CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_SHORT_RING);
		conf.min_ring_s = 1;
		CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
		conf.min_ring_s = 0;
	}

	/* repeated on the same (local) day */
	conf.ex_same_day = true;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	nt_state_note(st, "a", "+4989123456", T0 - 3600 * 1000); /* 15:00 the same day */
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_SAME_DAY);
	/* the next day (after local midnight) she is told again */
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 9 * 3600 * 1000ll), ==, NT_OK);
	/* another caller is not a repetition */
	strcpy(c->remote.canonical.text, "+4930555");
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	strcpy(c->remote.canonical.text, "+4989123456");
	/* a hidden caller is never "the same caller" */
	c->hidden = 1;
	conf.ex_hidden = false;
	CHECK_INT(reason_of(&conf, c, len, st, T0), ==, NT_OK);
	c->hidden = 0;
	conf.ex_same_day = false;

	/* repeated while she has not logged in since */
	conf.ex_not_logged_in = true;
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 86400000ll * 3), ==, NT_NOT_LOGGED_IN);
	nt_state_login(st, "a", T0 - 7200 * 1000); /* before the notification */
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 86400000ll * 3), ==, NT_NOT_LOGGED_IN);
	/* a session that is open now counts as logged in, however old it is */
	nt_state_session(st, "a", "s1", true);
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 86400000ll * 3), ==, NT_OK);
	nt_state_session(st, "a", "s1", false);
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 86400000ll * 3), ==, NT_NOT_LOGGED_IN);
	nt_state_login(st, "a", T0 + 60000); /* after it */
	CHECK_INT(reason_of(&conf, c, len, st, T0 + 86400000ll * 3), ==, NT_OK);
	conf.ex_not_logged_in = false;
	free(c);
	nt_state_free(st);
}

static void test_services(void)
{
	const char *users[] = {"nosvc", "mailonly", "noemail", "smsnomobile", "ghost", "a"};
	const int reasons[] = {NT_NO_SERVICE, NT_OK,	       NT_NO_ADDRESS,
			       NT_NO_ADDRESS, NT_UNKNOWN_USER, NT_OK};
	const bool mail[] = {false, true, false, false, false, true};
	const bool sms[] = {false, false, false, false, false, true};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	struct spec s[6];
	struct nt_decision d;

	for (int i = 0; i < 6; i++)
		s[i] = (struct spec){users[i], 1, 0, 0, T0 + 1000 + i, 0};
	decide(&conf, s, 6, 0, st, &d);
	CHECK_INT(d.n, ==, 6);
	for (size_t i = 0; i < d.n && i < 6; i++) {
		CHECK_STR(d.r[i].user, users[i]);
		CHECK_INT(d.r[i].reason, ==, reasons[i]);
		CHECK_INT(d.r[i].mail, ==, mail[i]);
		CHECK_INT(d.r[i].sms, ==, sms[i]);
	}
	CHECK_INT(d.r[1].sms_reason, ==, NT_NO_SERVICE);

	/* commit remembers exactly those who were told */
	nt_decide_commit(&d, st, T0 + 5000);
	CHECK_INT(nt_state_notified(st, "mailonly", "+4989123456"), ==, T0 + 5000);
	CHECK_INT(nt_state_notified(st, "a", "+4989123456"), ==, T0 + 5000);
	CHECK_INT(nt_state_notified(st, "nosvc", "+4989123456"), ==, 0);
	CHECK_INT(nt_state_pairs(st), ==, 2);
	nt_decision_free(&d);
	nt_state_free(st);
}

static void test_framing(void)
{
	const struct spec one[] = {{"a", 1, 0, 0, 0, 0}};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_decision d;
	size_t len;
	struct ucs_journal_call *c = mk(one, 1, 0, &len);

	CHECK_INT(nt_call_check(c, len), ==, 0);
	CHECK_INT(nt_call_check(c, len - 1), ==, -EINVAL);
	CHECK_INT(nt_call_check(c, sizeof(*c) - 1), ==, -EINVAL);
	c->n_parts = 2;
	CHECK_INT(nt_decide(&conf, c, len, NULL, facts, NULL, T0, &d), ==, -EINVAL);
	c->n_parts = 1;
	c->part_size = 8;
	CHECK_INT(nt_call_check(c, len), ==, -EINVAL);
	c->part_size = sizeof(struct ucs_journal_part);
	/* sizes that would put a part off its alignment */
	{
		size_t al = _Alignof(struct ucs_journal_part);
		size_t big = sizeof(*c) + 2 * (sizeof(struct ucs_journal_part) + al) + al;
		struct ucs_journal_call *b = calloc(1, big);

		memcpy(b, c, sizeof(*c));
		b->n_parts = 1;
		CHECK_INT(nt_call_check(b, big), ==, 0);
		b->part_size = (uint32_t)(sizeof(struct ucs_journal_part) + 1);
		CHECK_INT(nt_call_check(b, big), ==, -EINVAL);
		b->part_size = (uint32_t)(sizeof(struct ucs_journal_part) + al);
		CHECK_INT(nt_call_check(b, big), ==, 0);
		b->size = (uint32_t)(sizeof(*c) + 1);
		CHECK_INT(nt_call_check(b, big), ==, -EINVAL);
		b->size = (uint32_t)(sizeof(*c) + al);
		CHECK_INT(nt_call_check(b, big), ==, 0);
		free(b);
	}
	/* unterminated text members stay within their arrays */
	memset(c->remote.canonical.text, '9', sizeof(c->remote.canonical.text));
	memset(((struct ucs_journal_part *)((char *)c + c->size))->user.text, 'u', UCS_ID_MAX);
	{
		struct nt_state *st = nt_state_new(10);

		CHECK_INT(nt_decide(&conf, c, len, st, facts, NULL, T0, &d), ==, 0);
		CHECK_INT(d.n, ==, 1);
		CHECK_INT(strlen(d.r[0].user), ==, UCS_ID_MAX - 1);
		nt_decision_free(&d);
		nt_state_free(st);
	}
	free(c);
}

static void test_conf_checks(void)
{
	CHECK_INT(nt_link_prefix_check("tel:"), ==, 0);
	CHECK_INT(nt_link_prefix_check("phone:"), ==, 0);
	CHECK_INT(nt_link_prefix_check("callto:"), ==, 0);
	CHECK_INT(nt_link_prefix_check(""), ==, 0);
	CHECK_INT(nt_link_prefix_check("sip:"), ==, 0);
	CHECK_INT(nt_link_prefix_check("abcdefghi:"), ==, 0);	     /* 9 + ':' */
	CHECK_INT(nt_link_prefix_check("abcdefghij:"), ==, -EINVAL); /* 10 + ':' */
	CHECK_INT(nt_link_prefix_check("tel"), ==, -EINVAL);
	CHECK_INT(nt_link_prefix_check(":"), ==, -EINVAL);
	CHECK_INT(nt_link_prefix_check("te l:"), ==, -EINVAL);
	CHECK_INT(nt_link_prefix_check("1tel:"), ==, -EINVAL);
	CHECK_INT(nt_link_prefix_check("java\"script:"), ==, -EINVAL);
	CHECK_INT(nt_language_check("en"), ==, 0);
	CHECK_INT(nt_language_check("de_AT"), ==, 0);
	CHECK_INT(nt_language_check("../x"), ==, -EINVAL);
	CHECK_INT(nt_language_check(""), ==, -EINVAL);
}

/* "The same day" is the local day: TZ set here, not taken from outside. */
static void test_local_day(void)
{
	const struct spec one[] = {{"a", 1, 0, 0, 0, 0}};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	/* 2025-11-26 22:30 UTC = 23:30 in Berlin; 23:30 UTC = 00:30 on the 27th
	 * there: the same UTC day, two local days */
	const int64_t late = 1764196200000ll, next = 1764199800000ll;
	size_t len;
	struct ucs_journal_call *c = mk(one, 1, 0, &len);

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	conf.ex_same_day = true;
	nt_state_note(st, "a", "+4989123456", late);
	CHECK_INT(reason_of(&conf, c, len, st, late + 60000), ==, NT_SAME_DAY);
	CHECK_INT(reason_of(&conf, c, len, st, next), ==, NT_OK);
	/* in UTC both are the 26th: the memory would suppress it */
	setenv("TZ", "UTC", 1);
	tzset();
	CHECK_INT(reason_of(&conf, c, len, st, next), ==, NT_SAME_DAY);
	/* and New York's day turns at 05:00 UTC */
	setenv("TZ", "America/New_York", 1);
	tzset();
	CHECK_INT(reason_of(&conf, c, len, st, next), ==, NT_SAME_DAY);
	CHECK_INT(reason_of(&conf, c, len, st, late + 7 * 3600000ll), ==, NT_OK);
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	free(c);
	nt_state_free(st);
}

/* Only a single plain address is a mail address. */
static void test_addresses(void)
{
	const struct spec list[] = {{"list", 1, 0, 0, 0, 0},
				    {"comma", 1, 0, 0, 0, 0},
				    {"named", 1, 0, 0, 0, 0},
				    {"b", 1, 0, 0, 0, 0}};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	struct nt_decision d;

	CHECK_STR(decide(&conf, list, 4, 0, st, &d), "list,comma,named,b");
	for (size_t i = 0; i < 3; i++) { /* they still get their SMS */
		CHECK(!d.r[i].mail);
		CHECK(d.r[i].sms);
		CHECK_INT(d.r[i].mail_reason, ==, NT_NO_ADDRESS);
	}
	CHECK(d.r[3].mail);
	nt_decision_free(&d);
	CHECK(nt_email_ok("a@example.com"));
	CHECK(nt_email_ok("first.last+tag@sub.example.org"));
	CHECK(!nt_email_ok("a@example.com;b@example.com"));
	CHECK(!nt_email_ok("a@example.com, b@example.com"));
	CHECK(!nt_email_ok("A <a@example.com>"));
	CHECK(!nt_email_ok("a@b@c"));
	CHECK(!nt_email_ok("@example.com"));
	CHECK(!nt_email_ok("a@"));
	CHECK(!nt_email_ok("a@example.com\r\nBcc: x@y"));
	CHECK(!nt_email_ok(""));
	CHECK(!nt_email_ok(NULL));
	nt_state_free(st);
}

/* A call with a private part neither reads nor feeds the memory. */
static void test_private(void)
{
	const struct spec two[] = {{"a", 1, 0, 0, 0, 0}, {"b", 1, 0, 0, 0, 0}};
	struct nt_conf conf = conf_with(UCS_PICK_ALL, false);
	struct nt_state *st = nt_state_new(100);
	struct nt_decision d;
	size_t len;
	struct ucs_journal_call *c = mk(two, 2, 0, &len);
	struct ucs_journal_part *p1 =
		(struct ucs_journal_part *)((char *)c + c->size + c->part_size);

	conf.ex_same_day = true;
	p1->private_call = 1;
	CHECK_INT(nt_decide(&conf, c, len, st, facts, NULL, T0, &d), ==, 0);
	CHECK(!d.remember);
	CHECK_STR(chosen(&d), "a,b");
	nt_decide_commit(&d, st, T0);
	nt_decide_told(st, d.remember, d.caller, "a", T0);
	CHECK_INT(nt_state_pairs(st), ==, 0);
	nt_decision_free(&d);
	/* the same call without it is remembered */
	p1->private_call = 0;
	CHECK_INT(nt_decide(&conf, c, len, st, facts, NULL, T0, &d), ==, 0);
	CHECK(d.remember);
	nt_decide_told(st, d.remember, d.caller, "a", T0);
	CHECK_INT(nt_state_pairs(st), ==, 1);
	nt_decision_free(&d);
	/* ... and then a private call is not suppressed by what it remembered */
	p1->private_call = 1;
	CHECK_INT(nt_decide(&conf, c, len, st, facts, NULL, T0 + 1000, &d), ==, 0);
	CHECK_STR(chosen(&d), "a,b");
	nt_decision_free(&d);
	free(c);
	nt_state_free(st);
}

int main(void)
{
	test_rules();
	test_one_per_person();
	test_exceptions();
	test_services();
	test_framing();
	test_conf_checks();
	test_local_day();
	test_addresses();
	test_private();
	return check_report();
}
