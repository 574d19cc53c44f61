/*
 * plugins/presence/tests/rights/test_rights_random.c - the cached engine
 * against a naive recomputation, over many random snapshots.
 *
 * The oracle reads the snapshot's structs directly (string compares, linear
 * scans, the manual's tables of manual_tables.h) and follows the rules of
 * ucs/rights.h and rights.c's header literally, sharing no code with the
 * engine. Snapshots are small and dense in the awkward cases: members,
 * leaders, grantees and monitor groups that name nobody, repeated members
 * and grants, leader == deputy, inactive users and groups, invalid levels,
 * random extra bits, every restriction and settings flag. Each snapshot is
 * loaded into engines with a tiny and a large cache, every pair is asked in
 * a random order several times (misses, hits, evictions), and one engine is
 * reused across snapshots so stale cache entries would show. Services,
 * self-configuration fields and explain are checked for the same pairs.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "explain_parse.h"
#include "manual_tables.h"
#include "rights.h"
#include "snapbuild.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static int chance(unsigned percent)
{
	return below(100) < percent;
}

/* ---- The naive oracle ---------------------------------------------------- */

static const struct ucs_ud_user *n_user(const struct ucs_ud_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (strcmp(s->users[i]->id, id) == 0)
			return s->users[i];
	return NULL;
}

static const struct ucs_ud_group *n_group(const struct ucs_ud_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i]->id, id) == 0)
			return s->groups[i];
	return NULL;
}

static int n_member(const struct ucs_ud_group *g, const char *id)
{
	for (size_t i = 0; g && i < g->n_members; i++)
		if (strcmp(g->members[i], id) == 0)
			return 1;
	return 0;
}

static int n_active(const struct ucs_ud_user *u)
{
	return u && (u->flags & UCS_UD_ACTIVE);
}

static uint64_t naive_rights(const struct ucs_ud_snapshot *s, const char *w, const char *t)
{
	const struct ucs_ud_user *uw = n_user(s, w), *ut = n_user(s, t);
	const struct ucs_ud_settings *st = s->settings;
	uint64_t r;
	int monitor = 0;

	if (!uw || !ut)
		return 0;
	if (uw == ut)
		return UCS_R_ALL;
	if (!n_active(uw) || !n_active(ut))
		return 0;
	r = manual_set_mask(&st->rights);
	if (st->flags & UCS_UD_ALL_IN_MONITOR)
		monitor = 1;
	for (size_t g = 0; g < s->n_groups; g++) {
		const struct ucs_ud_group *gr = s->groups[g];

		if (!gr->active)
			continue;
		if (n_member(gr, w))
			for (size_t m = 0; m < gr->n_monitor_groups; m++)
				if (n_member(n_group(s, gr->monitor_groups[m]), t))
					monitor = 1;
		if (n_member(gr, w) && n_member(gr, t))
			r |= manual_set_mask(&gr->member_rights);
		if ((strcmp(gr->leader, w) == 0 || strcmp(gr->deputy, w) == 0) && n_member(gr, t))
			r |= manual_set_mask(&gr->leader_rights);
	}
	if (monitor)
		r |= manual_set_mask(&st->monitor_rights);
	if (!(st->restrictions & UCS_RESTRICT_NO_USER_RIGHTS))
		for (size_t i = 0; i < ut->n_grants; i++)
			if (strcmp(ut->grants[i].user, w) == 0)
				r |= manual_set_mask(&ut->grants[i].rights);
	return r;
}

static uint64_t naive_services(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_user *u = n_user(s, id);
	uint64_t svc;

	if (!n_active(u))
		return 0;
	svc = u->services | s->settings->services;
	for (size_t g = 0; g < s->n_groups; g++)
		if (s->groups[g]->active && n_member(s->groups[g], id))
			svc |= s->groups[g]->services;
	return svc;
}

static uint32_t naive_self_fields(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_user *u = n_user(s, id);
	int directory = u && ((u->flags & UCS_UD_DIRECTORY) || strcmp(s->store, "ldap") == 0);
	uint32_t f = 0;

	if (!(naive_services(s, id) & UCS_SVC_CONFIGURE_SELF))
		return 0;
	for (unsigned i = 0; i < MANUAL_ROWS(manual_self_configuration); i++) {
		const struct manual_self_row *r = &manual_self_configuration[i];
		int may = directory ? r->directory == AD_YES ||
					      (r->directory == AD_WRITE && s->write_back)
				    : r->integrated;

		if (may)
			f |= 1u << r->field;
	}
	return f;
}

/* ---- Random snapshots ---------------------------------------------------- */

#define MAX_USERS  24
#define MAX_GROUPS 8

static void user_name(char *buf, size_t cap, unsigned i)
{
	/* Ids that sort differently from their creation order. */
	snprintf(buf, cap, "%c%u", 'a' + (i * 7) % 26, i);
}

/* An id that is a user, a ghost (no such user) or "" now and then. */
static void some_user(char *buf, size_t cap, unsigned n_users)
{
	if (chance(8))
		snprintf(buf, cap, "ghost%u", below(3));
	else
		user_name(buf, cap, below(n_users));
}

static struct ucs_rights_set some_set(void)
{
	struct ucs_rights_set s = {.level = (int32_t)below(UCS_LEVEL_COUNT)};

	if (chance(5))
		s.level = chance(50) ? -1 : 7;
	if (chance(35))
		s.extra = rnd() & rnd() & rnd();
	if (chance(3))
		s.extra = ~0ull;
	return s;
}

static struct sb *random_snapshot(unsigned *n_users_out)
{
	struct sb *b = sb_new(chance(50) ? "file" : "ldap");
	unsigned n_users = 1 + below(MAX_USERS), n_groups = below(MAX_GROUPS + 1);
	struct ucs_ud_settings *st = sb_settings(b);
	char id[32], id2[32];

	sb_write_back(b, chance(50));
	st->rights = chance(30) ? sb_set(UCS_LEVEL_BLOCKED, 0) : some_set();
	st->monitor_rights = some_set();
	st->flags = chance(15) ? UCS_UD_ALL_IN_MONITOR : 0;
	st->restrictions = (uint32_t)(rnd() & rnd() & 0xf);
	st->services = rnd() & rnd() & rnd() & 0xfffff;
	for (unsigned i = 0; i < n_users; i++) {
		struct ucs_ud_user *u;

		user_name(id, sizeof(id), i);
		u = sb_user(b, id);
		if (chance(15))
			u->flags &= ~UCS_UD_ACTIVE;
		if (chance(10))
			u->flags |= UCS_UD_DIRECTORY;
		u->services = rnd() & rnd() & 0xfffff;
		for (unsigned k = below(5); k; k--) {
			struct ucs_rights_set s = some_set();

			some_user(id2, sizeof(id2), n_users);
			sb_grant(b, u, id2, s.level, s.extra);
		}
	}
	for (unsigned g = 0; g < n_groups; g++) {
		struct ucs_ud_group *gr;

		snprintf(id, sizeof(id), "g%u", (g * 5) % (MAX_GROUPS + 1));
		gr = sb_group(b, id);
		gr->active = !chance(20);
		gr->member_rights = some_set();
		gr->leader_rights = some_set();
		gr->services = rnd() & rnd() & 0xfffff;
		for (unsigned k = below(n_users + 2); k; k--) {
			some_user(id2, sizeof(id2), n_users);
			sb_member(b, gr, id2);
		}
		if (chance(60)) {
			some_user(id, sizeof(id), n_users);
			some_user(id2, sizeof(id2), n_users);
			sb_leader(b, gr, chance(80) ? id : "",
				  chance(50)   ? id2
				  : chance(50) ? id
					       : "");
		}
		for (unsigned k = below(3); k; k--) {
			snprintf(id2, sizeof(id2), "g%u", below(MAX_GROUPS + 2));
			sb_monitor(b, gr, id2);
		}
	}
	*n_users_out = n_users;
	return b;
}

/* ---- The cross-check ---------------------------------------------------- */

static long pairs_checked;

static void check_engine(struct rights_engine *re, const struct ucs_ud_snapshot *s, int rounds)
{
	size_t n = s->n_users + 2; /* plus two unknown ids */
	const char *ids[MAX_USERS + 2];
	uint64_t want[MAX_USERS + 2][MAX_USERS + 2];

	for (size_t i = 0; i < s->n_users; i++)
		ids[i] = s->users[i]->id;
	ids[s->n_users] = "ghost0";
	ids[s->n_users + 1] = "nobody";
	for (size_t w = 0; w < n; w++)
		for (size_t t = 0; t < n; t++)
			want[w][t] = naive_rights(s, ids[w], ids[t]);
	for (int r = 0; r < rounds; r++) {
		for (size_t k = 0; k < n * n; k++) {
			size_t w = below((unsigned)n), t = below((unsigned)n);
			uint64_t got = rights_get_id(re, ids[w], ids[t]);

			check_count++;
			pairs_checked++;
			if (got != want[w][t]) {
				check_failures++;
				fprintf(stderr, "%s on %s: engine %#llx, naive %#llx\n", ids[w],
					ids[t], (unsigned long long)got,
					(unsigned long long)want[w][t]);
			}
		}
	}
	/* Every pair at least once, by index. */
	for (size_t w = 0; w < s->n_users; w++)
		for (size_t t = 0; t < s->n_users; t++) {
			int32_t iw = rights_user_index(re, ids[w]),
				it = rights_user_index(re, ids[t]);

			CHECK(rights_get(re, iw, it) == want[w][t]);
			pairs_checked++;
		}
	for (size_t u = 0; u < n; u++) {
		int32_t i = rights_user_index(re, ids[u]);

		CHECK(rights_services(re, i) == naive_services(s, ids[u]));
		CHECK(rights_self_fields(re, i) == naive_self_fields(s, ids[u]));
	}
	CHECK(rights_restrictions(re) == s->settings->restrictions);
}

/* explain's sources add up to the answer for active, different users. */
static void check_explain(struct rights_engine *re, const struct ucs_ud_snapshot *s)
{
	for (int k = 0; k < 8 && s->n_users; k++) {
		int32_t w = (int32_t)below((unsigned)s->n_users);
		int32_t t = (int32_t)below((unsigned)s->n_users);
		struct explained e = explain_parse(re, w, t);
		uint64_t r = rights_get(re, w, t);

		CHECK(e.ok);
		CHECK(e.effective == (r & NAMED_RIGHTS));
		if (w != t && n_active(s->users[w]) && n_active(s->users[t]))
			CHECK((e.global | e.monitor | e.groups | e.user) == (r & NAMED_RIGHTS));
	}
}

int main(int argc, char **argv)
{
	int snapshots = argc > 1 ? atoi(argv[1]) : 1500;
	struct rights_engine *shared = rights_new(256);
	struct sb *prev = NULL;

	if (argc > 2)
		rng_state = strtoull(argv[2], NULL, 0);
	for (int i = 0; i < snapshots; i++) {
		unsigned n_users;
		struct sb *b = random_snapshot(&n_users);
		const struct ucs_ud_snapshot *s = sb_snapshot(b);
		struct rights_engine *tiny = rights_new(64), *big = rights_new(1 << 14);

		CHECK(rights_load(tiny, s) == 0);
		CHECK(rights_load(big, s) == 0);
		/* The shared engine answered for the previous snapshot until now:
		 * none of those answers may survive. */
		CHECK(rights_load(shared, s) == 0);
		sb_free(prev);
		prev = b;
		check_engine(tiny, s, 3);
		check_engine(big, s, 3);
		check_engine(shared, s, 2);
		check_explain(big, s);
		/* Reloading the same snapshot changes nothing but the generation. */
		CHECK(rights_load(big, s) == 0);
		CHECK(rights_generation(big) == 2);
		check_engine(big, s, 1);
		rights_free(tiny);
		rights_free(big);
		CHECK(n_users == s->n_users);
	}
	rights_free(shared);
	sb_free(prev);
	fprintf(stderr, "%d snapshots, %ld pairs checked\n", snapshots, pairs_checked);
	return check_report();
}
