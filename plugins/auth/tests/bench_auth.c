/*
 * plugins/auth/tests/bench_auth.c - what a login costs: the time of one
 * argon2id verification at the default and other costs (the figure an
 * operator weighs against the attacker's cost per guess), logins per second
 * one core can verify, and the rate of the brute-force limiter's failure
 * counting (the loop-thread part of every failed login). Prints
 * "bench NAME VALUE UNIT" lines (tests/bench/run-auth.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_hash.h"
#include "auth_limit.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median time of one verification with these costs, in ms. */
static double verify_ms(uint32_t m, uint32_t t, uint32_t p, int runs)
{
	struct auth_cost cost = {.m_kib = m, .t = t, .p = p};
	char phc_text[AUTH_PHC_MAX];
	struct auth_phc phc;
	double times[32];

	if (runs > 32)
		runs = 32;
	if (auth_hash_new(&cost, "benchmark", 9, phc_text, sizeof(phc_text)) != 0 ||
	    auth_phc_parse(phc_text, strlen(phc_text), &phc) != 0)
		return -1;
	for (int i = 0; i < runs; i++) {
		double s = now_s();

		auth_hash_verify(&phc, "benchmark", 9);
		times[i] = (now_s() - s) * 1e3;
	}
	qsort(times, (size_t)runs, sizeof(times[0]), cmp_double);
	return times[runs / 2];
}

static void bench_limiter(void)
{
	struct auth_limit_policy p = {.login_max = 5,
				      .addr_max = 20,
				      .window_ms = 900000,
				      .lockout_ms = 900000,
				      .delay_base_ms = 250,
				      .delay_max_ms = 4000,
				      .max_entries = 10000};
	static const uint8_t seed[16] = "bench-seed-bytes";
	struct auth_limit *l = auth_limit_new(&p, seed);
	struct auth_limit_verdict v;
	char login[32], addr[32];
	const int n = 2000000;
	double s;

	s = now_s();
	for (int i = 0; i < n; i++) {
		snprintf(login, sizeof(login), "user:u%d", i % 50000);
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255,
			 i & 255);
		auth_limit_fail(l, login, addr, (uint64_t)i / 1000, &v);
	}
	printf("bench auth_limiter_failures %.0f per_s\n", n / (now_s() - s));
	printf("bench auth_limiter_entries_at_cap %zu entries\n", auth_limit_size(l));
	auth_limit_free(l);
}

int main(void)
{
	static const struct {
		const char *name;
		uint32_t m, t, p;
		int runs;
	} costs[] = {
		{"auth_argon2id_verify_64MiB_t3_p1", 65536, 3, 1, 9}, /* the default */
		{"auth_argon2id_verify_64MiB_t3_p2", 65536, 3, 2, 9},
		{"auth_argon2id_verify_19MiB_t2_p1", 19456, 2, 1, 15}, /* OWASP's minimum */
		{"auth_argon2id_verify_8MiB_t2_p1", 8192, 2, 1, 15},
	};
	double def = 0;

	for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
		double ms = verify_ms(costs[i].m, costs[i].t, costs[i].p, costs[i].runs);

		printf("bench %s %.1f ms\n", costs[i].name, ms);
		if (i == 0)
			def = ms;
	}
	if (def > 0)
		printf("bench auth_logins_per_core_default %.1f per_s\n", 1000.0 / def);
	bench_limiter();
	return 0;
}
