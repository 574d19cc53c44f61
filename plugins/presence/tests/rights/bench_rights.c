/*
 * plugins/presence/tests/rights/bench_rights.c - rights checks per second
 * on a realistic store, with warm and cold caches, and what the index and
 * the cache cost in memory. Run by tests/bench/run-rights.sh; one
 * "bench NAME VALUE UNIT" line per figure.
 *
 * The store: 10,000 active users; 200 groups of 50 random members (Team
 * among members), each with a leader and every other one a deputy
 * (Personal on the members), each showing two other groups in its members'
 * monitor; every user grants 5 random users a random level; global Public,
 * monitor rights Business. Questions come the way presence fan-out asks
 * them: for one target, each of her 200 watchers in turn.
 *
 *  - rights_checks_per_s: the hot set (1,000 targets x 200 watchers =
 *    200,000 pairs) with the default cache, every answer a hit.
 *  - rights_checks_per_s_all_pairs: every user watched by 200 (2,000,000
 *    pairs) through a cache of 4M slots (64 MiB) - and its hit rate.
 *  - rights_default_cache_hit_rate: the same 2,000,000 pairs through the
 *    default cache (262,144 slots, 4 MiB): how much a too-small cache costs.
 *  - rights_cold_checks_per_s: every question a miss (a fresh generation),
 *    i.e. the union computed from the index.
 *  - rights_load_ms, rights_index_bytes, rights_cache_bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rights.h"
#include "snapbuild.h"

#define N_USERS	   10000
#define N_GROUPS   200
#define GROUP_SIZE 50
#define N_GRANTS   5
#define N_WATCHERS 200
#define HOT	   1000

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct sb *build_store(void)
{
	struct sb *b = sb_new("file");
	struct ucs_ud_user *users[N_USERS];
	char id[32], id2[32];

	sb_settings(b)->rights = sb_set(UCS_LEVEL_PUBLIC, 0);
	sb_settings(b)->monitor_rights = sb_set(UCS_LEVEL_BUSINESS, 0);
	for (int i = 0; i < N_USERS; i++) {
		snprintf(id, sizeof(id), "user%05d", i);
		users[i] = sb_user(b, id);
	}
	for (int i = 0; i < N_USERS; i++) {
		for (int k = 0; k < N_GRANTS; k++) {
			snprintf(id, sizeof(id), "user%05u", rnd(N_USERS));
			sb_grant(b, users[i], id, (int)rnd(UCS_LEVEL_COUNT), 0);
		}
	}
	for (int g = 0; g < N_GROUPS; g++) {
		struct ucs_ud_group *gr;

		snprintf(id, sizeof(id), "group%03d", g);
		gr = sb_group(b, id);
		gr->member_rights = sb_set(UCS_LEVEL_TEAM, 0);
		gr->leader_rights = sb_set(UCS_LEVEL_PERSONAL, 0);
		for (int m = 0; m < GROUP_SIZE; m++) {
			snprintf(id, sizeof(id), "user%05u", rnd(N_USERS));
			sb_member(b, gr, id);
		}
		snprintf(id, sizeof(id), "user%05u", rnd(N_USERS));
		snprintf(id2, sizeof(id2), "user%05u", rnd(N_USERS));
		sb_leader(b, gr, id, g % 2 ? id2 : "");
		for (int k = 0; k < 2; k++) {
			snprintf(id, sizeof(id), "group%03u", rnd(N_GROUPS));
			sb_monitor(b, gr, id);
		}
	}
	return b;
}

struct pair {
	int32_t w, t;
};

/* Checks per second over the pairs, repeated for at least min_s seconds
 * after one warm-up pass. */
static double rate(struct rights_engine *re, const struct pair *p, size_t n, double min_s,
		   uint64_t *sink)
{
	double t0, t;
	size_t done = 0;
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++)
		x += rights_get(re, p[i].w, p[i].t);
	t0 = now();
	do {
		for (size_t i = 0; i < n; i++)
			x += rights_get(re, p[i].w, p[i].t);
		done += n;
		t = now();
	} while (t - t0 < min_s);
	*sink += x;
	return (double)done / (t - t0);
}

static double hit_rate(struct rights_engine *re, const struct pair *p, size_t n, uint64_t *sink)
{
	struct rights_stats a, b;

	for (size_t i = 0; i < n; i++) /* warm up */
		*sink += rights_get(re, p[i].w, p[i].t);
	rights_stats(re, &a);
	for (size_t i = 0; i < n; i++)
		*sink += rights_get(re, p[i].w, p[i].t);
	rights_stats(re, &b);
	return (double)(b.hits - a.hits) / (double)((b.hits + b.misses) - (a.hits + a.misses));
}

int main(void)
{
	struct sb *b = build_store();
	const struct ucs_ud_snapshot *s = sb_snapshot(b);
	struct rights_engine *re = rights_new(0), *big = rights_new(1u << 22);
	size_t n_pairs = (size_t)N_USERS * N_WATCHERS, n_hot = (size_t)HOT * N_WATCHERS;
	struct pair *pairs = malloc(n_pairs * sizeof(*pairs));
	struct rights_stats st, st0;
	uint64_t sink = 0;
	double t0, load_ms, warm, all, cold, cold_s;
	int reloads = 0;

	if (!pairs || !re || !big)
		return 1;
	/* Each target's watchers: 200 distinct others, the way a monitor holds
	 * them (a fan-out asks one target's watchers in a row). */
	for (int t = 0; t < N_USERS; t++)
		for (int k = 0; k < N_WATCHERS; k++) {
			int32_t w = (int32_t)rnd(N_USERS - 1);

			pairs[(size_t)t * N_WATCHERS + k].w = w >= t ? w + 1 : w;
			pairs[(size_t)t * N_WATCHERS + k].t = t;
		}

	t0 = now();
	for (int i = 0; i < 10; i++)
		if (rights_load(re, s))
			return 1;
	load_ms = (now() - t0) * 1e3 / 10;
	if (rights_load(big, s))
		return 1;

	warm = rate(re, pairs, n_hot, 1.0, &sink);
	all = rate(big, pairs, n_pairs, 1.0, &sink);
	printf("bench rights_checks_per_s %.0f 1/s\n", warm);
	printf("bench rights_checks_per_s_all_pairs %.0f 1/s\n", all);
	printf("bench rights_all_pairs_hit_rate %.4f ratio\n",
	       hit_rate(big, pairs, n_pairs, &sink));
	printf("bench rights_default_cache_hit_rate %.4f ratio\n",
	       hit_rate(re, pairs, n_pairs, &sink));

	/* Cold: a reload before each pass makes every question a miss. */
	rights_stats(re, &st0);
	cold_s = 0;
	for (size_t off = 0; cold_s < 1.0; off = (off + n_hot) % n_pairs) {
		if (rights_load(re, s))
			return 1;
		reloads++;
		t0 = now();
		for (size_t i = off; i < off + n_hot; i++)
			sink += rights_get(re, pairs[i].w, pairs[i].t);
		cold_s += now() - t0;
	}
	rights_stats(re, &st);
	cold = (double)((st.hits + st.misses) - (st0.hits + st0.misses)) / cold_s;
	printf("bench rights_cold_checks_per_s %.0f 1/s\n", cold);
	printf("bench rights_cold_miss_ratio %.4f ratio\n",
	       (double)(st.misses - st0.misses) /
		       (double)((st.hits + st.misses) - (st0.hits + st0.misses)));
	printf("bench rights_load_ms %.2f ms\n", load_ms);
	printf("bench rights_index_bytes %zu bytes\n", st.index_bytes);
	printf("bench rights_cache_bytes %zu bytes\n", st.cache_bytes);
	rights_stats(big, &st);
	printf("bench rights_cache_bytes_all_pairs %zu bytes\n", st.cache_bytes);
	printf("# %d users, %d groups of %d, %d grants each, %d watchers each; "
	       "%d cold passes; sink %llx\n",
	       N_USERS, N_GROUPS, GROUP_SIZE, N_GRANTS, N_WATCHERS, reloads,
	       (unsigned long long)sink);
	rights_free(re);
	rights_free(big);
	sb_free(b);
	free(pairs);
	return 0;
}
