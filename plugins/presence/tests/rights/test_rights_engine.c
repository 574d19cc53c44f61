/*
 * plugins/presence/tests/rights/test_rights_engine.c - where rights come
 * from and how they add up: every level of the manual's tables granted by
 * every source (global, group members, leader, deputy, the user's own grant,
 * monitor groups, "all users in the monitor") and who sees what then;
 * inactive groups and users, self, unknown users, the restrictions, the
 * additional lines, services, the cache across reloads, explain and stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "explain_parse.h"
#include "manual_tables.h"
#include "rights.h"
#include "snapbuild.h"

void rights_test_set_tag(struct rights_engine *re, uint32_t tag);
/* The plugin's (declared in pres.h): a new engine goes on from an old one's
 * generation. */
void rights_set_generation(struct rights_engine *re, uint64_t generation);

static const char *const level_name[] = {"Blocked", "Public", "Business", "Team", "Personal"};

#define L1_PICKUP   UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_PICKUP)
#define LA_SET_FWD  UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_SET_FORWARDING)
#define LA_PICKUP   UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_PICKUP)
#define LA_OUTGOING UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_SEE_OUTGOING)

static struct rights_engine *engine(struct sb *b)
{
	struct rights_engine *re = rights_new(0);
	int err = rights_load(re, sb_snapshot(b));

	CHECK_INT(err, ==, 0);
	return re;
}

static uint64_t get(struct rights_engine *re, const char *w, const char *t)
{
	uint64_t r = rights_get_id(re, w, t);

	/* A second question is answered from the cache: the same answer. */
	CHECK(rights_get_id(re, w, t) == r);
	return r;
}

/* Compares an answer with the manual's column for level, row by row, so a
 * failure names the manual's row. */
static void expect_level(const char *what, uint64_t got, int level)
{
	uint64_t want = manual_level_mask(level);

	check_count++;
	if (got == want)
		return;
	check_failures++;
	fprintf(stderr, "%s: expected %s (%#llx), got %#llx\n", what, level_name[level],
		(unsigned long long)want, (unsigned long long)got);
	for (unsigned i = 0; i < MANUAL_ROWS(manual_presence_and_lines); i++) {
		const struct manual_right_row *r = &manual_presence_and_lines[i];

		if (!(want & r->right) != !(got & r->right))
			fprintf(stderr, "   row %s / %s: manual %s, engine %s\n", r->section,
				r->authorization, (want & r->right) ? "X" : "-",
				(got & r->right) ? "X" : "-");
	}
}

enum source {
	SRC_GLOBAL,
	SRC_MEMBERS,
	SRC_LEADER,
	SRC_DEPUTY,
	SRC_GRANT,
	SRC_MONITOR,
	SRC_ALL_IN_MONITOR,
	SRC_COUNT
};
static const char *const source_name[] = {"global",	"group members", "group leader",  "deputy",
					  "user grant", "monitor group", "all in monitor"};

/* One source grants level: w's rights on t, t's on w and the bystander x's
 * on t follow from where the rights come from. */
static void test_source_levels(void)
{
	for (int src = 0; src < SRC_COUNT; src++) {
		for (int level = UCS_LEVEL_BLOCKED; level <= UCS_LEVEL_PERSONAL; level++) {
			struct sb *b = sb_new("file");
			struct ucs_ud_user *t = sb_user(b, "t");
			struct ucs_ud_group *g = sb_group(b, "g"), *m = sb_group(b, "m");
			struct rights_engine *re;
			/* Expected levels of (w,t), (t,w), (x,t), (w,x). */
			int wt = level, tw = 0, xt = 0, wx = 0;
			char what[128];

			sb_user(b, "w");
			sb_user(b, "x");
			switch (src) {
			case SRC_GLOBAL:
				sb_settings(b)->rights = sb_set(level, 0);
				tw = xt = wx = level;
				break;
			case SRC_MEMBERS:
				sb_member(b, g, "w");
				sb_member(b, g, "t");
				g->member_rights = sb_set(level, 0);
				tw = level;
				break;
			case SRC_LEADER:
			case SRC_DEPUTY:
				/* w leads t and x without being a member herself. */
				sb_member(b, g, "t");
				sb_member(b, g, "x");
				if (src == SRC_LEADER)
					sb_leader(b, g, "w", "");
				else
					sb_leader(b, g, "", "w");
				g->leader_rights = sb_set(level, 0);
				wx = level;
				break;
			case SRC_GRANT:
				sb_grant(b, t, "w", level, 0);
				break;
			case SRC_MONITOR:
				sb_member(b, g, "w");
				sb_monitor(b, g, "m");
				sb_member(b, m, "t");
				sb_settings(b)->monitor_rights = sb_set(level, 0);
				break;
			case SRC_ALL_IN_MONITOR:
				sb_settings(b)->flags |= UCS_UD_ALL_IN_MONITOR;
				sb_settings(b)->monitor_rights = sb_set(level, 0);
				tw = xt = wx = level;
				break;
			}
			re = engine(b);
			snprintf(what, sizeof(what), "%s at %s: w on t", source_name[src],
				 level_name[level]);
			expect_level(what, get(re, "w", "t"), wt);
			snprintf(what, sizeof(what), "%s at %s: t on w", source_name[src],
				 level_name[level]);
			expect_level(what, get(re, "t", "w"), tw);
			snprintf(what, sizeof(what), "%s at %s: x on t", source_name[src],
				 level_name[level]);
			expect_level(what, get(re, "x", "t"), xt);
			snprintf(what, sizeof(what), "%s at %s: w on x", source_name[src],
				 level_name[level]);
			expect_level(what, get(re, "w", "x"), wx);
			/* The card that travels is the level's column of 21.1. */
			CHECK(rights_contact_fields(get(re, "w", "t")) ==
			      rights_contact_fields(manual_level_mask(wt)));
			rights_free(re);
			sb_free(b);
		}
	}
}

/* Leader and deputy on members get leader rights on top of member rights;
 * the deputy alone, the leader alone, and both as one person. */
static void test_leader_deputy(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_group *g = sb_group(b, "g"), *h = sb_group(b, "h");
	struct rights_engine *re;

	sb_user(b, "boss");
	sb_user(b, "dep");
	sb_user(b, "m1");
	sb_user(b, "m2");
	sb_user(b, "out");
	sb_member(b, g, "boss");
	sb_member(b, g, "m1");
	sb_member(b, g, "m2");
	sb_leader(b, g, "boss", "dep");
	g->member_rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	g->leader_rights = sb_set(UCS_LEVEL_BUSINESS, L1_PICKUP);
	/* Leader and deputy the same person: no double entry, same rights. */
	sb_member(b, h, "out");
	sb_leader(b, h, "m1", "m1");
	h->leader_rights = sb_set(UCS_LEVEL_TEAM, 0);
	re = engine(b);
	CHECK(get(re, "boss", "m1") == (manual_level_mask(UCS_LEVEL_BUSINESS) | L1_PICKUP));
	CHECK(get(re, "dep", "m1") == (manual_level_mask(UCS_LEVEL_BUSINESS) | L1_PICKUP));
	CHECK(get(re, "m1", "boss") == manual_level_mask(UCS_LEVEL_PUBLIC));
	CHECK(get(re, "m1", "m2") == manual_level_mask(UCS_LEVEL_PUBLIC));
	/* The deputy is no member: the members hold nothing on her. */
	CHECK(get(re, "m1", "dep") == 0);
	/* Leader rights cover members, not the other leader. */
	CHECK(get(re, "boss", "dep") == 0);
	CHECK(get(re, "dep", "boss") == (manual_level_mask(UCS_LEVEL_BUSINESS) | L1_PICKUP));
	CHECK(get(re, "m1", "out") == manual_level_mask(UCS_LEVEL_TEAM));
	CHECK(get(re, "out", "m1") == 0);
	CHECK(get(re, "boss", "out") == 0);
	rights_free(re);
	sb_free(b);
}

/* Rights only add up: no source can take away what another granted. */
static void test_cumulative(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *t = sb_user(b, "t"), *w;
	struct ucs_ud_group *g = sb_group(b, "g"), *h = sb_group(b, "h");
	struct rights_engine *re;

	w = sb_user(b, "w");
	sb_user(b, "x");
	sb_settings(b)->rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	/* A Blocked grant and a Blocked group cannot revoke the global Public. */
	sb_grant(b, t, "w", UCS_LEVEL_BLOCKED, 0);
	sb_member(b, g, "w");
	sb_member(b, g, "t");
	g->member_rights = sb_set(UCS_LEVEL_BLOCKED, 0);
	re = engine(b);
	expect_level("global Public, Blocked grant and group", get(re, "w", "t"), UCS_LEVEL_PUBLIC);
	rights_free(re);

	/* Team in one group, Business in another, a grant's extra bit: the
	 * union of all three. */
	g->member_rights = sb_set(UCS_LEVEL_TEAM, 0);
	sb_member(b, h, "w");
	sb_member(b, h, "t");
	h->member_rights = sb_set(UCS_LEVEL_BUSINESS, LA_PICKUP);
	t->grants = NULL;
	t->n_grants = 0;
	sb_grant(b, t, "w", UCS_LEVEL_BLOCKED, UCS_R_SEE_PRIVATE_APPT);
	re = engine(b);
	CHECK(get(re, "w", "t") ==
	      (manual_level_mask(UCS_LEVEL_TEAM) | LA_PICKUP | UCS_R_SEE_PRIVATE_APPT));
	/* A grant the other way does not flow back. */
	CHECK(get(re, "t", "w") == (manual_level_mask(UCS_LEVEL_TEAM) | LA_PICKUP));
	/* A lower grant leaves the higher group level intact. */
	rights_free(re);
	sb_grant(b, t, "w", UCS_LEVEL_PUBLIC, 0);
	sb_grant(b, w, "t", UCS_LEVEL_PERSONAL, 0);
	re = engine(b);
	CHECK(get(re, "w", "t") ==
	      (manual_level_mask(UCS_LEVEL_TEAM) | LA_PICKUP | UCS_R_SEE_PRIVATE_APPT));
	CHECK(get(re, "t", "w") == (manual_level_mask(UCS_LEVEL_PERSONAL) | LA_PICKUP));
	CHECK(get(re, "x", "t") == manual_level_mask(UCS_LEVEL_PUBLIC));
	rights_free(re);
	sb_free(b);
}

/* An inactive group has no effect at all: member and leader rights,
 * services and monitor groups are ignored. */
static void test_inactive_group(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_group *g = sb_group(b, "g"), *m = sb_group(b, "m");
	struct rights_engine *re;

	sb_user(b, "w");
	sb_user(b, "t");
	sb_user(b, "lead");
	sb_user(b, "far");
	sb_member(b, g, "w");
	sb_member(b, g, "t");
	sb_leader(b, g, "lead", "");
	sb_monitor(b, g, "m");
	sb_member(b, m, "far");
	g->member_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
	g->leader_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
	g->services = UCS_SVC_CHAT;
	g->active = 0;
	m->active = 0;
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_TEAM, 0);
	re = engine(b);
	CHECK(get(re, "w", "t") == 0);
	CHECK(get(re, "lead", "t") == 0);
	CHECK(get(re, "w", "far") == 0);
	CHECK(rights_services(re, rights_user_index(re, "w")) == 0);
	rights_free(re);

	/* The same group active: everything applies; the monitor group m
	 * itself still inactive only supplies its member list. */
	g->active = 1;
	re = engine(b);
	CHECK(get(re, "w", "t") == manual_level_mask(UCS_LEVEL_PERSONAL));
	CHECK(get(re, "lead", "t") == manual_level_mask(UCS_LEVEL_PERSONAL));
	CHECK(get(re, "w", "far") == manual_level_mask(UCS_LEVEL_TEAM));
	CHECK(get(re, "far", "w") == 0);
	CHECK(rights_services(re, rights_user_index(re, "w")) == UCS_SVC_CHAT);
	rights_free(re);
	sb_free(b);
}

/* Self holds everything; unknown users nothing; inactive users neither
 * watch nor are watched. */
static void test_self_unknown_inactive(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *gone, *t = sb_user(b, "t");
	struct ucs_ud_group *g = sb_group(b, "g");
	struct rights_engine *re;
	int32_t n;

	sb_user(b, "w");
	gone = sb_user(b, "gone");
	gone->flags &= ~UCS_UD_ACTIVE;
	gone->services = UCS_SVC_CHAT;
	sb_settings(b)->rights = sb_set(UCS_LEVEL_BUSINESS, 0);
	sb_settings(b)->services = UCS_SVC_SMS;
	/* Members, leaders and grantees that name nobody are ignored. */
	sb_member(b, g, "ghost");
	sb_member(b, g, "w");
	sb_member(b, g, "t");
	sb_member(b, g, "gone");
	sb_leader(b, g, "phantom", "gone");
	g->member_rights = sb_set(UCS_LEVEL_TEAM, 0);
	g->leader_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
	sb_grant(b, t, "ghost", UCS_LEVEL_PERSONAL, 0);
	sb_grant(b, t, "gone", UCS_LEVEL_PERSONAL, 0);
	re = engine(b);
	n = (int32_t)rights_user_count(re);
	CHECK_INT(n, ==, 3);
	CHECK(get(re, "t", "t") == UCS_R_ALL);
	CHECK(get(re, "gone", "gone") == UCS_R_ALL);
	CHECK(get(re, "w", "t") == manual_level_mask(UCS_LEVEL_TEAM));
	CHECK(get(re, "gone", "t") == 0);
	CHECK(get(re, "t", "gone") == 0);
	CHECK(get(re, "ghost", "t") == 0);
	CHECK(get(re, "t", "ghost") == 0);
	CHECK(get(re, "ghost", "ghost") == 0);
	CHECK(rights_get_id(re, NULL, "t") == 0);
	CHECK(rights_get(re, -1, 0) == 0);
	CHECK(rights_get(re, 0, -1) == 0);
	CHECK(rights_get(re, -1, -1) == 0);
	CHECK(rights_get(re, n, n) == 0);
	CHECK(rights_get(re, 0, n) == 0);
	CHECK(rights_get(re, INT32_MIN, 0) == 0);
	CHECK(rights_user_index(re, "ghost") == -1);
	CHECK(rights_user_index(re, NULL) == -1);
	CHECK(rights_user_at(re, -1) == NULL);
	CHECK(rights_user_at(re, n) == NULL);
	CHECK_STR(rights_user_at(re, rights_user_index(re, "w"))->id, "w");
	/* Services: 0 for unknown and inactive users. */
	CHECK(rights_services(re, rights_user_index(re, "w")) == UCS_SVC_SMS);
	CHECK(rights_services(re, rights_user_index(re, "gone")) == 0);
	CHECK(rights_services(re, -1) == 0);
	CHECK(rights_services(re, n) == 0);
	rights_free(re);
	sb_free(b);

	/* An engine without a snapshot knows nobody. */
	re = rights_new(0);
	CHECK(rights_get(re, 0, 0) == 0);
	CHECK(rights_get_id(re, "t", "t") == 0);
	CHECK(rights_user_count(re) == 0);
	CHECK(rights_user_index(re, "t") == -1);
	CHECK(rights_services(re, 0) == 0);
	CHECK(rights_self_fields(re, 0) == 0);
	CHECK(rights_restrictions(re) == 0);
	CHECK(rights_generation(re) == 0);
	CHECK(rights_explain(re, 0, 0, NULL, 0) == -ENOENT);
	CHECK(rights_load(re, NULL) == -EINVAL);
	rights_free(re);
	rights_free(NULL);
}

/* "Users may not assign rights" drops every user grant; presence switched
 * off leaves the rights as they are (the presence plugin hides presence). */
static void test_restrictions(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *t = sb_user(b, "t");
	struct ucs_ud_group *g = sb_group(b, "g");
	struct rights_engine *re;
	uint64_t before;

	sb_user(b, "w");
	sb_user(b, "v");
	sb_settings(b)->rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	sb_grant(b, t, "w", UCS_LEVEL_PERSONAL, LA_PICKUP);
	sb_member(b, g, "v");
	sb_member(b, g, "t");
	g->member_rights = sb_set(UCS_LEVEL_TEAM, 0);
	re = engine(b);
	before = get(re, "w", "t");
	CHECK(before == (manual_level_mask(UCS_LEVEL_PERSONAL) | LA_PICKUP));
	CHECK(rights_restrictions(re) == 0);
	rights_free(re);

	sb_settings(b)->restrictions = UCS_RESTRICT_NO_USER_RIGHTS;
	re = engine(b);
	CHECK(rights_restrictions(re) == UCS_RESTRICT_NO_USER_RIGHTS);
	expect_level("no user rights: grant ignored", get(re, "w", "t"), UCS_LEVEL_PUBLIC);
	expect_level("no user rights: groups stay", get(re, "v", "t"), UCS_LEVEL_TEAM);
	{
		struct explained e =
			explain_parse(re, rights_user_index(re, "w"), rights_user_index(re, "t"));

		CHECK(e.ok);
		CHECK(e.user == 0);
		CHECK(e.effective == manual_level_mask(UCS_LEVEL_PUBLIC));
	}
	rights_free(re);

	sb_settings(b)->restrictions =
		UCS_RESTRICT_PRESENCE_OFF | UCS_RESTRICT_CHAT_OFF | UCS_RESTRICT_CHAT_NO_HISTORY;
	re = engine(b);
	CHECK(rights_restrictions(re) ==
	      (UCS_RESTRICT_PRESENCE_OFF | UCS_RESTRICT_CHAT_OFF | UCS_RESTRICT_CHAT_NO_HISTORY));
	CHECK(get(re, "w", "t") == before);
	CHECK(get(re, "w", "t") & UCS_R_SEE_PRESENCE);
	rights_free(re);
	sb_free(b);
}

/* Monitor groups: through an active group of the watcher, one way only;
 * groups naming unknown monitor groups; "all in monitor". */
static void test_monitor(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_group *sales = sb_group(b, "sales"), *support = sb_group(b, "support");
	struct ucs_ud_group *board = sb_group(b, "board");
	struct rights_engine *re;

	sb_user(b, "s1");
	sb_user(b, "s2");
	sb_user(b, "h1");
	sb_user(b, "b1");
	sb_member(b, sales, "s1");
	sb_member(b, sales, "s2");
	sb_member(b, support, "h1");
	sb_member(b, board, "b1");
	sb_monitor(b, sales, "support");
	sb_monitor(b, sales, "nosuchgroup");
	sb_monitor(b, sales, "support");   /* twice */
	sb_monitor(b, support, "support"); /* its own members */
	sb_settings(b)->rights = sb_set(UCS_LEVEL_BLOCKED, 0);
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_BUSINESS, UCS_R_SEE_AV_PARTICIPANTS);
	re = engine(b);
	CHECK(get(re, "s1", "h1") ==
	      (manual_level_mask(UCS_LEVEL_BUSINESS) | UCS_R_SEE_AV_PARTICIPANTS));
	CHECK(get(re, "s2", "h1") == get(re, "s1", "h1"));
	CHECK(get(re, "h1", "s1") == 0);
	CHECK(get(re, "s1", "s2") == 0); /* sales does not list itself */
	CHECK(get(re, "s1", "b1") == 0);
	CHECK(get(re, "b1", "h1") == 0);
	rights_free(re);

	/* Monitor rights Blocked: seeing someone in the monitor adds nothing. */
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_BLOCKED, 0);
	re = engine(b);
	CHECK(get(re, "s1", "h1") == 0);
	rights_free(re);

	/* Everyone in everyone's monitor. */
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	sb_settings(b)->flags |= UCS_UD_ALL_IN_MONITOR;
	re = engine(b);
	for (int w = 0; w < 4; w++)
		for (int t = 0; t < 4; t++)
			CHECK(rights_get(re, w, t) ==
			      (w == t ? UCS_R_ALL : manual_level_mask(UCS_LEVEL_PUBLIC)));
	rights_free(re);
	sb_free(b);
}

/* The additional lines' set-forwarding and pickup come from explicit bits
 * only, whichever source adds them. */
static void test_additional_lines(void)
{
	for (int src = 0; src < 4; src++) {
		struct sb *b = sb_new("file");
		struct ucs_ud_user *t = sb_user(b, "t");
		struct ucs_ud_group *g = sb_group(b, "g");
		struct rights_engine *re;
		uint64_t extra = src == 0   ? LA_SET_FWD
				 : src == 1 ? LA_PICKUP
					    : LA_SET_FWD | LA_PICKUP;
		uint64_t r;

		sb_user(b, "w");
		sb_member(b, g, "w");
		sb_member(b, g, "t");
		/* Personal everywhere: still neither right. */
		sb_settings(b)->rights = sb_set(UCS_LEVEL_PERSONAL, 0);
		sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
		sb_settings(b)->flags |= UCS_UD_ALL_IN_MONITOR;
		g->member_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
		sb_grant(b, t, "w", UCS_LEVEL_PERSONAL, 0);
		re = engine(b);
		r = get(re, "w", "t");
		CHECK(!(r & (LA_SET_FWD | LA_PICKUP)));
		CHECK(r & LA_OUTGOING);
		rights_free(re);
		switch (src) {
		case 0:
			sb_settings(b)->rights.extra = extra;
			break;
		case 1:
			g->member_rights.extra = extra;
			break;
		case 2:
			sb_grant(b, t, "w", UCS_LEVEL_BLOCKED, extra);
			break;
		case 3:
			sb_settings(b)->monitor_rights.extra = extra;
			break;
		}
		re = engine(b);
		r = get(re, "w", "t");
		CHECK((r & (LA_SET_FWD | LA_PICKUP)) == extra);
		rights_free(re);
		sb_free(b);
	}
}

/* Services: her own | her active groups' | the global ones. */
static void test_services(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *a = sb_user(b, "a"), *c = sb_user(b, "c");
	struct ucs_ud_group *g = sb_group(b, "g"), *h = sb_group(b, "h"), *off = sb_group(b, "off");
	struct rights_engine *re;

	a->services = UCS_SVC_CHAT;
	c->services = UCS_SVC_FILES;
	sb_member(b, g, "a");
	sb_member(b, h, "a");
	sb_member(b, h, "c");
	sb_member(b, off, "a");
	sb_member(b, off, "c");
	g->services = UCS_SVC_SMS | UCS_SVC_CHAT;
	h->services = UCS_SVC_APPS;
	off->services = UCS_SVC_RECORD_CALLS;
	off->active = 0;
	sb_settings(b)->services = UCS_SVC_WEB_APP;
	re = engine(b);
	CHECK(rights_services(re, rights_user_index(re, "a")) ==
	      (UCS_SVC_CHAT | UCS_SVC_SMS | UCS_SVC_APPS | UCS_SVC_WEB_APP));
	CHECK(rights_services(re, rights_user_index(re, "c")) ==
	      (UCS_SVC_FILES | UCS_SVC_APPS | UCS_SVC_WEB_APP));
	rights_free(re);
	sb_free(b);
}

/* A reload moves the generation and the very next answer is the new one,
 * for every kind of change, even with every answer cached before. */
static void test_cache_invalidation(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *t = sb_user(b, "t"), *w = sb_user(b, "w");
	struct ucs_ud_group *g = sb_group(b, "g");
	struct rights_engine *re = rights_new(64);
	struct rights_stats st;
	uint64_t gen;
	int32_t iw, it;

	sb_member(b, g, "w");
	sb_member(b, g, "t");
	sb_grant(b, t, "w", UCS_LEVEL_BUSINESS, 0);
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	gen = rights_generation(re);
	CHECK(gen == 1);
	iw = rights_user_index(re, "w");
	it = rights_user_index(re, "t");
	CHECK(rights_get(re, iw, it) == manual_level_mask(UCS_LEVEL_BUSINESS));
	CHECK(rights_get(re, iw, it) == manual_level_mask(UCS_LEVEL_BUSINESS));
	rights_stats(re, &st);
	CHECK(st.hits == 1 && st.misses == 1);

	/* The grant changes. */
	t->grants = NULL;
	t->n_grants = 0;
	sb_grant(b, t, "w", UCS_LEVEL_PUBLIC, 0);
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_generation(re) == gen + 1);
	CHECK(rights_get(re, iw, it) == manual_level_mask(UCS_LEVEL_PUBLIC));
	/* A group level changes. */
	g->member_rights = sb_set(UCS_LEVEL_TEAM, 0);
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_get(re, iw, it) == manual_level_mask(UCS_LEVEL_TEAM));
	/* The group is switched off. */
	g->active = 0;
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_get(re, iw, it) == manual_level_mask(UCS_LEVEL_PUBLIC));
	/* The target is deactivated. */
	t->flags &= ~UCS_UD_ACTIVE;
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_get(re, iw, it) == 0);
	t->flags |= UCS_UD_ACTIVE;
	/* The global restriction arrives. */
	sb_settings(b)->restrictions = UCS_RESTRICT_NO_USER_RIGHTS;
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_get(re, iw, it) == 0);
	/* A new user sorts before both: the same indices now name other
	 * people, and no answer of the old index may leak. */
	sb_user(b, "a")->flags &= ~UCS_UD_ACTIVE;
	sb_settings(b)->restrictions = 0;
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_user_index(re, "w") == iw + 1);
	CHECK(rights_get(re, iw, it) == 0); /* now "t" on "a" (inactive) */
	CHECK(rights_get(re, rights_user_index(re, "w"), rights_user_index(re, "t")) ==
	      manual_level_mask(UCS_LEVEL_PUBLIC));
	(void)w;

	/* A failed load keeps the previous index, generation and answers. */
	{
		struct ucs_ud_snapshot bad = *sb_snapshot(b);

		gen = rights_generation(re);
		bad.n_users = (size_t)INT32_MAX + 1;
		CHECK(rights_load(re, &bad) < 0);
		CHECK(rights_generation(re) == gen);
		CHECK(rights_get_id(re, "w", "t") == manual_level_mask(UCS_LEVEL_PUBLIC));
	}

	rights_free(re);

	/* The cache tag wraps: the table is cleared, so an answer cached
	 * under the tag that comes round again cannot be taken for new. */
	re = rights_new(64);
	t->grants = NULL;
	t->n_grants = 0;
	sb_settings(b)->rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	CHECK(rights_get_id(re, "w", "t") == manual_level_mask(UCS_LEVEL_PUBLIC));
	rights_test_set_tag(re, (1u << 29) - 2);
	CHECK(rights_load(re, sb_snapshot(b)) == 0); /* the last tag */
	sb_grant(b, t, "w", UCS_LEVEL_PERSONAL, 0);
	CHECK(rights_load(re, sb_snapshot(b)) == 0); /* wraps to the first tag */
	CHECK(rights_get_id(re, "w", "t") == manual_level_mask(UCS_LEVEL_PERSONAL));
	CHECK(rights_get_id(re, "w", "t") == manual_level_mask(UCS_LEVEL_PERSONAL));
	rights_free(re);
	sb_free(b);
}

/* An engine that replaces another (the plugin resizes the cache) goes on
 * from the old one's generation, which consumers cache answers by: it
 * never moves backwards. */
static void test_generation_continues(void)
{
	struct sb *b = sb_new("file");
	struct rights_engine *a = rights_new(64), *c = rights_new(4096);
	struct ucs_ud_user *t = sb_user(b, "t");

	sb_user(b, "w");
	sb_grant(b, t, "w", UCS_LEVEL_TEAM, 0);
	for (int i = 0; i < 5; i++)
		CHECK(rights_load(a, sb_snapshot(b)) == 0);
	CHECK(rights_generation(a) == 5);
	rights_set_generation(c, rights_generation(a));
	CHECK(rights_generation(c) == 5);
	CHECK(rights_get_id(c, "w", "t") == 0); /* nothing loaded yet */
	CHECK(rights_load(c, sb_snapshot(b)) == 0);
	CHECK(rights_generation(c) == 6);
	CHECK(rights_get_id(c, "w", "t") == manual_level_mask(UCS_LEVEL_TEAM));
	CHECK(rights_get_id(c, "w", "t") == rights_get_id(a, "w", "t"));
	CHECK(rights_load(c, sb_snapshot(b)) == 0);
	CHECK(rights_generation(c) == 7);
	rights_free(a);
	rights_free(c);
	sb_free(b);
}

/* A tiny cache under many pairs: evictions and collisions, same answers. */
static void test_small_cache(void)
{
	struct sb *b = sb_new("file");
	struct rights_engine *re = rights_new(1); /* rounded up to the minimum */
	struct rights_stats st;
	char id[16];
	uint64_t want[40][40];

	for (int i = 0; i < 40; i++) {
		struct ucs_ud_user *u;

		snprintf(id, sizeof(id), "u%02d", i);
		u = sb_user(b, id);
		snprintf(id, sizeof(id), "u%02d", (i * 7 + 3) % 40);
		sb_grant(b, u, id, i % 5, 0);
	}
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	for (int w = 0; w < 40; w++)
		for (int t = 0; t < 40; t++)
			want[w][t] = w == t		     ? UCS_R_ALL
				     : (t * 7 + 3) % 40 == w ? manual_level_mask(t % 5)
							     : 0;
	for (int round = 0; round < 3; round++)
		for (int w = 0; w < 40; w++)
			for (int t = 0; t < 40; t++)
				CHECK(rights_get(re, w, t) == want[w][t]);
	rights_stats(re, &st);
	CHECK(st.cache_bytes == 64 * 16);
	CHECK(st.misses > 64);
	CHECK(st.hits + st.misses == 3 * 40 * 39);
	CHECK(st.index_bytes > 40 * sizeof(uint64_t));
	rights_free(re);
	sb_free(b);
}

/* explain lists each source; the sources add up to the answer. */
static void test_explain(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *t = sb_user(b, "t"), *off;
	struct ucs_ud_group *g = sb_group(b, "g\"q"), *h = sb_group(b, "h"), *m = sb_group(b, "m");
	struct ucs_ud_group *dead = sb_group(b, "dead");
	struct rights_engine *re;
	struct explained e;
	int32_t iw, it;
	char small[16];
	int n;

	sb_user(b, "w");
	off = sb_user(b, "off");
	off->flags &= ~UCS_UD_ACTIVE;
	sb_settings(b)->rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_BLOCKED, UCS_R_SEE_LINE_STATE);
	sb_member(b, g, "w");
	sb_member(b, g, "t");
	g->member_rights = sb_set(UCS_LEVEL_BLOCKED, UCS_R_SET_NOTE);
	sb_member(b, h, "t");
	sb_leader(b, h, "", "w");
	h->leader_rights = sb_set(UCS_LEVEL_BLOCKED, L1_PICKUP);
	sb_monitor(b, g, "m");
	sb_member(b, m, "t");
	sb_member(b, dead, "w");
	sb_member(b, dead, "t");
	dead->member_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
	dead->active = 0;
	sb_grant(b, t, "w", UCS_LEVEL_BLOCKED, UCS_R_SEE_PRIVATE_APPT);
	re = engine(b);
	iw = rights_user_index(re, "w");
	it = rights_user_index(re, "t");
	e = explain_parse(re, iw, it);
	CHECK(e.ok);
	CHECK(e.global == manual_level_mask(UCS_LEVEL_PUBLIC));
	CHECK(e.monitor == UCS_R_SEE_LINE_STATE);
	CHECK(e.groups == (UCS_R_SET_NOTE | L1_PICKUP));
	CHECK_INT(e.n_groups, ==, 2);
	CHECK(strcmp(e.group_ids, "g\"q,h") == 0 || strcmp(e.group_ids, "h,g\"q") == 0);
	CHECK(e.user == UCS_R_SEE_PRIVATE_APPT);
	CHECK(e.effective == rights_get(re, iw, it));
	CHECK(e.effective == (e.global | e.monitor | e.groups | e.user));
	CHECK_STR(e.reason, "");
	/* The other way: t is no leader, w granted nothing, m does not hold w. */
	e = explain_parse(re, it, iw);
	CHECK(e.ok);
	CHECK(e.groups == UCS_R_SET_NOTE && e.n_groups == 1 && e.monitor == 0 && e.user == 0);
	e = explain_parse(re, iw, iw);
	CHECK(e.ok && e.effective == NAMED_RIGHTS);
	CHECK_STR(e.reason, "self");
	e = explain_parse(re, iw, rights_user_index(re, "off"));
	CHECK(e.ok && e.effective == 0);
	CHECK_STR(e.reason, "inactive");
	CHECK(rights_explain(re, iw, -1, small, sizeof(small)) == -ENOENT);
	/* snprintf rules: the full length, a truncated, terminated text. */
	n = rights_explain(re, iw, it, NULL, 0);
	CHECK(n > (int)sizeof(small));
	CHECK(rights_explain(re, iw, it, small, sizeof(small)) == n);
	CHECK(strlen(small) == sizeof(small) - 1);
	CHECK(strncmp(small, "{\"global\":[\"see", 15) == 0);
	rights_free(re);
	sb_free(b);
}

int main(void)
{
	test_source_levels();
	test_leader_deputy();
	test_cumulative();
	test_inactive_group();
	test_self_unknown_inactive();
	test_restrictions();
	test_monitor();
	test_additional_lines();
	test_services();
	test_cache_invalidation();
	test_generation_continues();
	test_small_cache();
	test_explain();
	return check_report();
}
