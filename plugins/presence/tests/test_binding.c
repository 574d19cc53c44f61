/*
 * plugins/presence/tests/test_binding.c - which users a line is bound to.
 *
 * Automatic binding by canonical number (global switch, per-store
 * business/business 2 switches, other numbers), direct binding by first
 * phone / second phone / other lines (line id or internal number, switch or
 * not), the best class wins, shared lines, numbers that never bind, lines
 * that go away or change their number, a new snapshot that moves a line,
 * and lines()/owners() with the extra lines.
 */
#include "check.h"
#include "pres_fixture.h"

struct world {
	struct fx f;
	struct fx_env *e;
	struct rights_engine *re;
	struct pres p;
	struct ucs_ud_user *alice, *bob, *carol, *dave, *erin;
};

static void build(struct world *w, int auto_binding)
{
	fx_init(&w->f);
	if (!auto_binding)
		w->f.settings.flags &= ~UCS_UD_AUTO_LINE_BINDING;
	w->alice = fx_user(&w->f, "alice");
	fx_phone(&w->f, w->alice, UCS_UD_PHONE_BUSINESS, "+4930100");
	fx_phone(&w->f, w->alice, UCS_UD_PHONE_BUSINESS2, "+4930101");
	fx_phone(&w->f, w->alice, UCS_UD_PHONE_MOBILE, "+491701");
	fx_phone(&w->f, w->alice, UCS_UD_PHONE_PRIVATE, "+4989777");
	fx_phone(&w->f, w->alice, UCS_UD_PHONE_MAILBOX, "+4930199");
	fx_other_numbers(&w->f, w->alice, "+4930102", NULL);
	fx_extra_line(&w->f, w->alice, "222", UCS_UD_LINE_SHOW_INCOMING);
	w->bob = fx_user(&w->f, "bob");
	w->bob->first_phone = "222";   /* internal number */
	w->bob->second_phone = "l-b2"; /* line id */
	fx_other_lines(&w->f, w->bob, "l-b3", NULL);
	/* carol's store keeps business out of the binding */
	w->carol = fx_user(&w->f, "carol");
	w->carol->flags &= ~(UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2);
	fx_phone(&w->f, w->carol, UCS_UD_PHONE_BUSINESS, "+4930300");
	w->carol->second_phone = "l-c";
	/* dave holds his line by number and by name: the best class */
	w->dave = fx_user(&w->f, "dave");
	fx_other_lines(&w->f, w->dave, "l-d", NULL);
	fx_phone(&w->f, w->dave, UCS_UD_PHONE_BUSINESS, "+4930400");
	/* erin shares dave's number */
	w->erin = fx_user(&w->f, "erin");
	fx_phone(&w->f, w->erin, UCS_UD_PHONE_BUSINESS2, "+4930400");
	fx_finish(&w->f);
	w->e = calloc(1, sizeof(*w->e));
	w->e->wall = 1700000000000;
	w->re = rights_new(0);
	fx_core(&w->p, w->re, w->e, &w->f.snap);
}

static void destroy(struct world *w)
{
	pres_fini(&w->p);
	rights_free(w->re);
	fx_free(&w->f);
	free(w->e);
}

static void report_lines(struct world *w)
{
	fx_line(&w->p, "l-a1", "100", "+4930100", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-a2", "101", "+4930101", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-a3", "102", "+4930102", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-mob", "", "+491701", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-priv", "", "+4989777", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-vm", "199", "+4930199", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-b1", "222", "+4930222", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-b2", "223", "", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-b3", "224", "", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-c1", "300", "+4930300", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-c", "301", "", UCS_LINE_IDLE, 0, NULL);
	fx_line(&w->p, "l-d", "400", "+4930400", UCS_LINE_IDLE, 0, NULL);
}

/* "id:class,id:class" of a user's lines() */
static const char *lines_of(struct world *w, const char *user, char *buf, size_t cap)
{
	struct ucs_id ids[16];
	int32_t cls[16];
	int n = pres_lines(&w->p, user, ids, cls, 16);
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s:%s", i ? "," : "", ids[i].text,
					pres_class_name(cls[i]));
	if (n < 0)
		snprintf(buf, cap, "error %d", n);
	return buf;
}

static const char *owners_of(struct world *w, const char *line, char *buf, size_t cap)
{
	struct ucs_id ids[16];
	int n = pres_owners(&w->p, line, ids, 16);
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "", ids[i].text);
	if (n < 0)
		snprintf(buf, cap, "error %d", n);
	return buf;
}

static void automatic(void)
{
	struct world w;
	char b[512];

	build(&w, 1);
	report_lines(&w);
	/* own lines sorted by class, then the extra line (222 = bob's l-b1) */
	CHECK_STR(lines_of(&w, "alice", b, sizeof(b)),
		  "l-a1:first,l-a2:second,l-a3:additional,l-b1:additional");
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b1:first,l-b2:second,l-b3:additional");
	CHECK_STR(lines_of(&w, "carol", b, sizeof(b)), "l-c:second");
	CHECK_STR(lines_of(&w, "dave", b, sizeof(b)), "l-d:first");
	CHECK_STR(lines_of(&w, "erin", b, sizeof(b)), "l-d:second");
	CHECK_STR(owners_of(&w, "l-d", b, sizeof(b)), "dave,erin");
	/* the extra line is not alice's: bob alone owns it */
	CHECK_STR(owners_of(&w, "l-b1", b, sizeof(b)), "bob");
	/* mobile, private and mailbox numbers never bind */
	CHECK_STR(owners_of(&w, "l-mob", b, sizeof(b)), "");
	CHECK_STR(owners_of(&w, "l-priv", b, sizeof(b)), "");
	CHECK_STR(owners_of(&w, "l-vm", b, sizeof(b)), "");
	CHECK_STR(owners_of(&w, "l-c1", b, sizeof(b)), "");
	CHECK_STR(owners_of(&w, "nope", b, sizeof(b)), "error -2");
	CHECK_STR(lines_of(&w, "nobody", b, sizeof(b)), "error -2");
	/* max limits the answer */
	{
		struct ucs_id ids[2];
		int32_t cls[2];

		CHECK_INT(pres_lines(&w.p, "alice", ids, cls, 2), ==, 2);
		CHECK_INT(pres_lines(&w.p, "alice", ids, cls, 0), ==, 0);
	}
	/* the line's state reaches both owners of a shared line */
	fx_line(&w.p, "l-d", "400", "+4930400", UCS_LINE_RINGING, UCS_CALL_INCOMING, "+49301");
	CHECK_INT(pres_user_find(&w.p, "dave")->pres.reason, ==, UCS_PRES_R_RINGING);
	CHECK_INT(pres_user_find(&w.p, "erin")->pres.reason, ==, UCS_PRES_R_RINGING);
	CHECK_INT(pres_user_find(&w.p, "erin")->pres.lines[0].line_class, ==, UCS_LINE_SECOND);
	/* a line that goes away unbinds */
	fx_line(&w.p, "l-d", "", "", UCS_LINE_GONE, 0, NULL);
	CHECK_INT(pres_user_find(&w.p, "dave")->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_INT(pres_user_find(&w.p, "dave")->pres.n_lines, ==, 0);
	CHECK_STR(owners_of(&w, "l-d", b, sizeof(b)), "error -2");
	/* ... and comes back */
	fx_line(&w.p, "l-d", "400", "+4930400", UCS_LINE_CONNECTED, UCS_CALL_OUTGOING, "+49301");
	CHECK_INT(pres_user_find(&w.p, "erin")->pres.reason, ==, UCS_PRES_R_ON_PHONE);
	/* a line that changes its number moves to the new owner */
	fx_line(&w.p, "l-d", "400", "+4930100", UCS_LINE_CONNECTED, UCS_CALL_OUTGOING, "+49301");
	/* (dave keeps it by name, as an additional line) */
	CHECK_STR(owners_of(&w, "l-d", b, sizeof(b)), "alice,dave");
	CHECK_INT(pres_user_find(&w.p, "erin")->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_STR(lines_of(&w, "dave", b, sizeof(b)), "l-d:additional");
	CHECK_INT(pres_user_find(&w.p, "alice")->pres.reason, ==, UCS_PRES_R_ON_PHONE);
	destroy(&w);
}

static void switched_off(void)
{
	struct world w;
	char b[512];

	build(&w, 0);
	report_lines(&w);
	/* numbers bind nothing; names still do */
	CHECK_STR(lines_of(&w, "alice", b, sizeof(b)), "l-b1:additional");
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b1:first,l-b2:second,l-b3:additional");
	CHECK_STR(lines_of(&w, "dave", b, sizeof(b)), "l-d:additional");
	CHECK_STR(lines_of(&w, "erin", b, sizeof(b)), "");
	/* switching it on with a new snapshot binds them and updates presence */
	fx_line(&w.p, "l-a1", "100", "+4930100", UCS_LINE_RINGING, UCS_CALL_INCOMING, "+49301");
	CHECK_INT(pres_user_find(&w.p, "alice")->pres.state, ==, UCS_PRES_OFFLINE);
	w.f.settings.flags |= UCS_UD_AUTO_LINE_BINDING;
	fx_finish(&w.f);
	CHECK_INT(rights_load(w.re, &w.f.snap), ==, 0);
	CHECK_INT(pres_load(&w.p, &w.f.snap), ==, 0);
	CHECK(w.p.q_len > 0);
	while (pres_step(&w.p, 1000))
		;
	CHECK_STR(lines_of(&w, "alice", b, sizeof(b)),
		  "l-a1:first,l-a2:second,l-a3:additional,l-b1:additional");
	CHECK_INT(pres_user_find(&w.p, "alice")->pres.reason, ==, UCS_PRES_R_RINGING);
	CHECK_STR(lines_of(&w, "dave", b, sizeof(b)), "l-d:first");
	destroy(&w);
}

/* A user document changes: bob's first phone names another line. */
static void snapshot_moves_line(void)
{
	struct world w;
	char b[512];

	build(&w, 1);
	report_lines(&w);
	fx_line(&w.p, "l-b1", "222", "+4930222", UCS_LINE_CONNECTED, UCS_CALL_INCOMING, "+49301");
	CHECK_INT(pres_user_find(&w.p, "bob")->pres.reason, ==, UCS_PRES_R_ON_PHONE);
	w.bob = fx_edit(&w.f, w.bob);
	w.bob->first_phone = "301"; /* carol's second phone, by internal number */
	fx_finish(&w.f);
	rights_load(w.re, &w.f.snap);
	pres_load(&w.p, &w.f.snap);
	while (pres_step(&w.p, 1000))
		;
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-c:first,l-b2:second,l-b3:additional");
	CHECK_STR(owners_of(&w, "l-c", b, sizeof(b)), "bob,carol");
	CHECK_STR(owners_of(&w, "l-b1", b, sizeof(b)), "");
	CHECK_INT(pres_user_find(&w.p, "bob")->pres.state, ==, UCS_PRES_OFFLINE);
	/* a user leaves the store: her lines and inputs go */
	fx_login(&w.p, "carol", "s", 1, 0);
	CHECK_INT(pres_user_find(&w.p, "carol")->pres.state, ==, UCS_PRES_AVAILABLE);
	w.f.n_users--;
	memmove(&w.f.users[2], &w.f.users[3], (w.f.n_users - 2) * sizeof(*w.f.users));
	fx_finish(&w.f);
	rights_load(w.re, &w.f.snap);
	pres_load(&w.p, &w.f.snap);
	while (pres_step(&w.p, 1000))
		;
	CHECK(pres_user_find(&w.p, "carol")->ud == NULL);
	CHECK_INT(pres_user_find(&w.p, "carol")->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_STR(owners_of(&w, "l-c", b, sizeof(b)), "bob");
	CHECK_INT(fx_login(&w.p, "carol", "s", 1, 0), ==, -ENOENT);
	destroy(&w);
}

/* An internal number that two PBXs both use names no line: bob's first
 * phone "222" binds l-b1 only while l-b1 is the only live line with 222,
 * and alice's extra line "222" shows it only then; lines named by id are
 * not affected. A warning names the number and its lines once per episode. */
static void ambiguous_internal(void)
{
	struct world w;
	struct pres_user *alice, *bob;
	char b[512];

	build(&w, 1);
	report_lines(&w);
	alice = pres_user_find(&w.p, "alice");
	bob = pres_user_find(&w.p, "bob");
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b1:first,l-b2:second,l-b3:additional");
	CHECK_INT(w.e->n_warnings, ==, 0);
	/* a second PBX reports an extension 222 */
	fx_line(&w.p, "pbx2/222", "222", "+4940222", UCS_LINE_IDLE, 0, NULL);
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b2:second,l-b3:additional");
	CHECK_STR(owners_of(&w, "l-b1", b, sizeof(b)), "");
	CHECK_STR(owners_of(&w, "pbx2/222", b, sizeof(b)), "");
	CHECK_STR(lines_of(&w, "alice", b, sizeof(b)), "l-a1:first,l-a2:second,l-a3:additional");
	CHECK_INT(bob->pres.n_lines, ==, 2);
	CHECK_INT(w.e->n_warnings, ==, 1);
	CHECK_STR(w.e->warning, "internal number 222 is reported by several lines (l-b1, "
				"pbx2/222): they bind by line id only");
	/* more lines with 222 and changes of them: no new warning */
	fx_line(&w.p, "pbx2/222", "222", "+4940222", UCS_LINE_RINGING, UCS_CALL_INCOMING, "+491");
	fx_line(&w.p, "pbx3/222", "222", "", UCS_LINE_IDLE, 0, NULL);
	CHECK_INT(w.e->n_warnings, ==, 1);
	/* a line id still binds: carol's second phone l-c (internal 301) */
	fx_line(&w.p, "pbx2/301", "301", "", UCS_LINE_IDLE, 0, NULL);
	CHECK_STR(owners_of(&w, "l-c", b, sizeof(b)), "carol");
	CHECK_INT(w.e->n_warnings, ==, 2);
	CHECK_CONTAINS(w.e->warning, "internal number 301 ");
	/* bob names l-b1 by id as well: he holds it, but alice's extra line
	 * (by internal number) shows her nothing of it */
	w.bob = fx_edit(&w.f, w.bob);
	fx_other_lines(&w.f, w.bob, "l-b3", "l-b1", NULL);
	fx_finish(&w.f);
	CHECK_INT(rights_load(w.re, &w.f.snap), ==, 0);
	CHECK_INT(pres_load(&w.p, &w.f.snap), ==, 0);
	while (pres_step(&w.p, 1000))
		;
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b2:second,l-b1:additional,l-b3:additional");
	CHECK_INT(pres_view_extra_grants(&w.p, alice, &bob->pres), ==, 0);
	/* the others go: 222 is unique again, binds as bob's first line and
	 * opens alice's extra line */
	fx_line(&w.p, "pbx2/222", "", "", UCS_LINE_GONE, 0, NULL);
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b2:second,l-b1:additional,l-b3:additional");
	fx_line(&w.p, "pbx3/222", "", "", UCS_LINE_GONE, 0, NULL);
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b1:first,l-b2:second,l-b3:additional");
	CHECK_STR(lines_of(&w, "alice", b, sizeof(b)),
		  "l-a1:first,l-a2:second,l-a3:additional,l-b1:additional");
	CHECK_INT(pres_view_extra_grants(&w.p, alice, &bob->pres), ==,
		  PRES_XG(0, PRES_XG_STATE | PRES_XG_INCOMING));
	/* a line renumbered to 222: ambiguous again, a new warning; back: bound */
	fx_line(&w.p, "l-b2", "222", "", UCS_LINE_IDLE, 0, NULL);
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b2:second,l-b1:additional,l-b3:additional");
	CHECK_INT(w.e->n_warnings, ==, 3);
	CHECK_STR(w.e->warning, "internal number 222 is reported by several lines (l-b1, "
				"l-b2): they bind by line id only");
	fx_line(&w.p, "l-b2", "223", "", UCS_LINE_IDLE, 0, NULL);
	CHECK_STR(lines_of(&w, "bob", b, sizeof(b)), "l-b1:first,l-b2:second,l-b3:additional");
	CHECK_INT(w.e->n_warnings, ==, 3);
	destroy(&w);
}

int main(void)
{
	automatic();
	switched_off();
	snapshot_moves_line();
	ambiguous_internal();
	return check_report();
}
