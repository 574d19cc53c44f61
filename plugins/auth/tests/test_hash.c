/*
 * plugins/auth/tests/test_hash.c - argon2id hashing and verification
 * (auth_hash.c): a known answer from the Argon2 reference tests, round
 * trips with libargon2's own encoder and verifier as the oracle, wrong
 * passwords, the costs in a hash are the costs that were paid (time and
 * memory), fresh salts, the dummy hash, outdated costs.
 */
#include <argon2.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "auth_hash.h"
#include "check.h"

/* Argon2 reference test vector: argon2id v19, t=2, m=2^16, p=1. */
#define KAT "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_known_answer(void)
{
	struct auth_phc phc;

	CHECK_INT(auth_phc_parse(KAT, strlen(KAT), &phc), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "password", 8), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "passwore", 8), ==, -EACCES);
	CHECK_INT(auth_hash_verify(&phc, "password", 7), ==, -EACCES);
	CHECK_INT(auth_hash_verify(&phc, "", 0), ==, -EACCES);
	/* the costs are inputs: the same hash under other costs does not match */
	phc.t = 3;
	CHECK_INT(auth_hash_verify(&phc, "password", 8), ==, -EACCES);
	phc.t = 2;
	phc.m_kib = 32768;
	CHECK_INT(auth_hash_verify(&phc, "password", 8), ==, -EACCES);
	phc.m_kib = 65536;
	phc.salt[0] ^= 1;
	CHECK_INT(auth_hash_verify(&phc, "password", 8), ==, -EACCES);
}

static void test_round_trip(void)
{
	struct auth_cost cost = {.m_kib = 1024, .t = 2, .p = 2};
	char a[AUTH_PHC_MAX], b[AUTH_PHC_MAX], lib[256];
	static const char pw[] = "correct horse\0battery";
	struct auth_phc phc;
	uint8_t salt[16] = "0123456789abcdef";

	CHECK_INT(auth_hash_new(&cost, pw, sizeof(pw) - 1, a, sizeof(a)), ==, 0);
	CHECK_INT(auth_phc_parse(a, strlen(a), &phc), ==, 0);
	CHECK_INT(phc.m_kib, ==, 1024);
	CHECK_INT(phc.t, ==, 2);
	CHECK_INT(phc.p, ==, 2);
	CHECK_INT(phc.salt_len, ==, AUTH_HASH_SALT_LEN);
	CHECK_INT(phc.hash_len, ==, AUTH_HASH_LEN);
	CHECK_INT(auth_hash_verify(&phc, pw, sizeof(pw) - 1), ==, 0);
	/* a NUL inside the password is part of it */
	CHECK_INT(auth_hash_verify(&phc, pw, 13), ==, -EACCES);
	CHECK_INT(auth_hash_verify(&phc, "correct horse battery", 21), ==, -EACCES);
	/* libargon2's own verifier agrees with our string */
	CHECK_INT(argon2id_verify(a, pw, sizeof(pw) - 1), ==, ARGON2_OK);
	CHECK(argon2id_verify(a, "wrong", 5) != ARGON2_OK);
	/* ... and we agree with libargon2's own encoder */
	CHECK_INT(argon2id_hash_encoded(3, 2048, 1, "secret", 6, salt, sizeof(salt), 32, lib,
					sizeof(lib)),
		  ==, ARGON2_OK);
	CHECK_INT(auth_phc_parse(lib, strlen(lib), &phc), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "secret", 6), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "Secret", 6), ==, -EACCES);
	CHECK_INT(auth_phc_format(&phc, b, sizeof(b)), ==, strlen(lib));
	CHECK_STR(b, lib);
	/* fresh salt each time: the same password never hashes alike */
	CHECK_INT(auth_hash_new(&cost, pw, sizeof(pw) - 1, b, sizeof(b)), ==, 0);
	CHECK(strcmp(a, b) != 0);
	/* an empty password can be hashed (the plugin refuses to set one) */
	CHECK_INT(auth_hash_new(&cost, "", 0, b, sizeof(b)), ==, 0);
	CHECK_INT(auth_phc_parse(b, strlen(b), &phc), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "", 0), ==, 0);
	CHECK_INT(auth_hash_verify(&phc, "x", 1), ==, -EACCES);
	/* too small a buffer, invalid costs */
	CHECK_INT(auth_hash_new(&cost, "x", 1, b, 40), ==, -ENOSPC);
	cost.m_kib = 8;
	CHECK_INT(auth_hash_new(&cost, "x", 1, b, sizeof(b)), ==, -EINVAL);
	cost = (struct auth_cost){.m_kib = 64, .t = 0, .p = 1};
	CHECK_INT(auth_hash_new(&cost, "x", 1, b, sizeof(b)), ==, -EINVAL);
}

/* The time cost is paid: 8 iterations take clearly longer than 1. */
static void test_time_cost(void)
{
	struct auth_cost c1 = {.m_kib = 4096, .t = 1, .p = 1}, c8 = {.m_kib = 4096, .t = 8, .p = 1};
	char h[AUTH_PHC_MAX];
	double t1 = 1e9, t8 = 1e9;

	for (int i = 0; i < 3; i++) {
		double s = now_ms(), d;

		auth_hash_new(&c1, "pw", 2, h, sizeof(h));
		d = now_ms() - s;
		t1 = d < t1 ? d : t1;
		s = now_ms();
		auth_hash_new(&c8, "pw", 2, h, sizeof(h));
		d = now_ms() - s;
		t8 = d < t8 ? d : t8;
	}
	fprintf(stderr, "t=1: %.2f ms, t=8: %.2f ms\n", t1, t8);
	CHECK(t8 > 3 * t1);
}

/* The memory cost is paid: after a 16 MiB hash the peak RSS is far below
 * 64 MiB, after a 128 MiB one it is above (runs first, before any larger
 * hash). */
static void test_memory_cost(void)
{
	struct auth_cost small = {.m_kib = 16384, .t = 1, .p = 1};
	struct auth_cost big = {.m_kib = 131072, .t = 1, .p = 1};
	struct rusage before, after;
	char h[AUTH_PHC_MAX];

	CHECK_INT(auth_hash_new(&small, "pw", 2, h, sizeof(h)), ==, 0);
	getrusage(RUSAGE_SELF, &before);
	CHECK_INT(auth_hash_new(&big, "pw", 2, h, sizeof(h)), ==, 0);
	getrusage(RUSAGE_SELF, &after);
	fprintf(stderr, "peak RSS %ld -> %ld KiB\n", before.ru_maxrss, after.ru_maxrss);
	/* the peak was well below 64 MiB and is now about 128 MiB or more */
	CHECK_INT(before.ru_maxrss, <, 65536);
	CHECK_INT(after.ru_maxrss, >, 124000);
}

static void test_dummy(void)
{
	struct auth_cost cost = {.m_kib = 512, .t = 2, .p = 1};
	char a[AUTH_PHC_MAX], b[AUTH_PHC_MAX];
	struct auth_phc phc;

	CHECK_INT(auth_hash_dummy(&cost, a, sizeof(a)), ==, 0);
	CHECK_INT(auth_hash_dummy(&cost, b, sizeof(b)), ==, 0);
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(auth_phc_parse(a, strlen(a), &phc), ==, 0);
	CHECK(!auth_hash_outdated(&phc, &cost));
	CHECK_INT(auth_hash_verify(&phc, "", 0), ==, -EACCES);
	CHECK_INT(auth_hash_verify(&phc, "password", 8), ==, -EACCES);
	cost.p = 100;
	CHECK_INT(auth_hash_dummy(&cost, a, sizeof(a)), ==, -EINVAL);
}

static void test_outdated(void)
{
	struct auth_cost cost = {.m_kib = 1024, .t = 2, .p = 1};
	char h[AUTH_PHC_MAX];
	struct auth_phc phc;

	CHECK_INT(auth_hash_new(&cost, "pw", 2, h, sizeof(h)), ==, 0);
	CHECK_INT(auth_phc_parse(h, strlen(h), &phc), ==, 0);
	CHECK(!auth_hash_outdated(&phc, &cost));
	cost.t = 3;
	CHECK(auth_hash_outdated(&phc, &cost));
	cost.t = 2;
	cost.m_kib = 2048;
	CHECK(auth_hash_outdated(&phc, &cost));
	cost.m_kib = 1024;
	cost.p = 2;
	CHECK(auth_hash_outdated(&phc, &cost));
	cost.p = 1;
	phc.hash_len = 16;
	CHECK(auth_hash_outdated(&phc, &cost));
}

static void test_helpers(void)
{
	uint8_t r1[32] = {0}, r2[32] = {0}, zero[32] = {0};
	char secret[] = "hunter2";

	CHECK_INT(auth_ct_compare("abcd", "abcd", 4), ==, 0);
	CHECK(auth_ct_compare("abcd", "abce", 4) != 0);
	CHECK(auth_ct_compare("xbcd", "abcd", 4) != 0);
	CHECK_INT(auth_ct_compare("a", "b", 0), ==, 0);
	CHECK_INT(auth_random(r1, sizeof(r1)), ==, 0);
	CHECK_INT(auth_random(r2, sizeof(r2)), ==, 0);
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	CHECK(memcmp(r1, zero, sizeof(r1)) != 0);
	auth_wipe(secret, sizeof(secret));
	CHECK(memcmp(secret, zero, sizeof(secret)) == 0);
}

int main(void)
{
	test_memory_cost();
	test_known_answer();
	test_round_trip();
	test_time_cost();
	test_dummy();
	test_outdated();
	test_helpers();
	return check_report();
}
