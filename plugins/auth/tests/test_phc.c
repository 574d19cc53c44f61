/*
 * plugins/auth/tests/test_phc.c - the PHC string parser and formatter
 * (auth_phc.c): RFC 4648 base64 vectors without padding, canonical strings
 * round-trip exactly, and every malformed form is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_phc.h"
#include "check.h"

/* A valid string: 16-byte salt "somesaltsomesalt", 32-byte hash. */
#define SALT16 "c29tZXNhbHRzb21lc2FsdA"
#define HASH32 "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
#define GOOD   "$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32

static void test_b64(void)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {{"", ""},	     {"f", "Zg"},	   {"fo", "Zm8"},	  {"foo", "Zm9v"},
		 {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
	char buf[64];
	uint8_t out[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].plain);

		CHECK_INT(auth_b64_encode((const uint8_t *)v[i].plain, n, buf, sizeof(buf)), ==,
			  strlen(v[i].enc));
		CHECK_STR(buf, v[i].enc);
		CHECK_INT(auth_b64_decode(v[i].enc, strlen(v[i].enc), out, sizeof(out)), ==, n);
		CHECK(memcmp(out, v[i].plain, n) == 0);
	}
	/* "Zh" would also decode to "f" if the stray bits were ignored */
	CHECK_INT(auth_b64_decode("Zh", 2, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Zm9", 3, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Z", 1, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Zg==", 4, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Z-8", 3, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Z_8", 3, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_b64_decode("Zm9vYmFy", 8, out, 5), ==, -ENOSPC);
	/* a truncated encode still reports the full length and terminates */
	CHECK_INT(auth_b64_encode((const uint8_t *)"foobar", 6, buf, 4), ==, 8);
	CHECK_STR(buf, "Zm9");
}

static void test_good(void)
{
	struct auth_phc phc;
	char buf[AUTH_PHC_MAX];

	CHECK_INT(auth_phc_parse(GOOD, strlen(GOOD), &phc), ==, 0);
	CHECK_INT(phc.m_kib, ==, 65536);
	CHECK_INT(phc.t, ==, 3);
	CHECK_INT(phc.p, ==, 1);
	CHECK_INT(phc.salt_len, ==, 16);
	CHECK(memcmp(phc.salt, "somesaltsomesalt", 16) == 0);
	CHECK_INT(phc.hash_len, ==, 32);
	CHECK_INT(auth_phc_format(&phc, buf, sizeof(buf)), ==, strlen(GOOD));
	CHECK_STR(buf, GOOD);
	/* the limits themselves are accepted */
	{
		const char *edge[] = {
			"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$" HASH32,
			"$argon2id$v=19$m=512,t=1024,p=64$" SALT16 "$" HASH32,
			"$argon2id$v=19$m=4194304,t=1,p=1$" SALT16 "$" HASH32,
			"$argon2id$v=19$m=16,t=1,p=2$" SALT16 "$c29tZXNhbHRzb21lc2FsdA",
		};
		for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
			int rc = auth_phc_parse(edge[i], strlen(edge[i]), &phc);

			CHECK_INT(rc, ==, 0);
			if (rc)
				fprintf(stderr, "  refused: %s\n", edge[i]);
			auth_phc_format(&phc, buf, sizeof(buf));
			CHECK_STR(buf, edge[i]);
		}
	}
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"$argon2id",
		"$argon2id$",
		"$argon2i$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2d$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$ARGON2ID$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=16$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=019$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$m=65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=065536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=0,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=0,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=0$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=8,t=3,p=2$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=4194305,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=99999999999999999999,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=1025,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=65$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=-1,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=+65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m= 65536,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$t=3,m=65536,p=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=1,k=1$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=1,data=eA$" SALT16 "$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=1$c29tZQ$" HASH32,		  /* 5-byte salt */
		"$argon2id$v=19$m=65536,t=3,p=1$$" HASH32,			  /* no salt */
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$",			  /* no hash */
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16,			  /* no hash part */
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$c29tZXNhbHRzb21lc2Fs", /* 15 bytes */
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32 "$",
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32 "$eA",
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32 "\n",
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32 " ",
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "==$" HASH32,
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32 "=",
		"$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdB$" HASH32, /* stray bits */
		"$argon2id$v=19$m=65536,t=3,p=1$" SALT16
		"$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPd",
		"$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2Fsd$" HASH32,	 /* len % 4 == 1 */
		"$argon2id$v=19$m=65536,t=3,p=1$c29tZXNh-HRzb21lc2FsdA$" HASH32, /* URL alphabet */
		"$argon2id$v=19$m=65536,t=3,p=1$c29tZXNh_HRzb21lc2FsdA$" HASH32,
		"$argon2id$v=19$m=65536,,t=3,p=1$" SALT16 "$" HASH32,
		"$argon2id$$v=19$m=65536,t=3,p=1$" SALT16 "$" HASH32,
	};
	struct auth_phc phc;
	char buf[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = auth_phc_parse(bad[i], strlen(bad[i]), &phc);

		CHECK_INT(rc, ==, -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	}
	/* a NUL inside, a NULL string, a string too long to be ours */
	CHECK_INT(auth_phc_parse(GOOD, strlen(GOOD) + 1, &phc), ==, -EINVAL);
	CHECK_INT(auth_phc_parse(NULL, 0, &phc), ==, -EINVAL);
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "$argon2id$v=19$m=65536,t=3,p=1$" SALT16 "$", 54);
	CHECK_INT(auth_phc_parse(buf, sizeof(buf), &phc), ==, -EINVAL);
	/* a length that cuts the string short is the shorter string */
	CHECK_INT(auth_phc_parse(GOOD, strlen(GOOD) - 1, &phc), ==, -EINVAL);
	CHECK_INT(auth_phc_parse(GOOD, 20, &phc), ==, -EINVAL);
}

static void test_format_limits(void)
{
	struct auth_phc phc;
	char buf[AUTH_PHC_MAX];

	CHECK_INT(auth_phc_parse(GOOD, strlen(GOOD), &phc), ==, 0);
	phc.salt_len = 4;
	CHECK_INT(auth_phc_format(&phc, buf, sizeof(buf)), ==, -EINVAL);
	phc.salt_len = 16;
	phc.m_kib = 4;
	CHECK_INT(auth_phc_format(&phc, buf, sizeof(buf)), ==, -EINVAL);
	phc.m_kib = 65536;
	phc.hash_len = AUTH_PHC_HASH_MAX + 1;
	CHECK_INT(auth_phc_format(&phc, buf, sizeof(buf)), ==, -EINVAL);
	CHECK_INT(auth_phc_format(NULL, buf, sizeof(buf)), ==, -EINVAL);
}

/* Random valid structs survive format -> parse unchanged; the longest
 * possible string fits AUTH_PHC_MAX. */
static void test_round_trip(void)
{
	struct auth_phc a, b;
	char buf[AUTH_PHC_MAX];
	int bad = 0;

	srand(4);
	for (int i = 0; i < 20000; i++) {
		int n;

		memset(&a, 0, sizeof(a));
		a.p = 1 + (uint32_t)rand() % AUTH_PHC_P_MAX;
		a.m_kib = 8 * a.p + (uint32_t)rand() % (AUTH_PHC_M_MAX - 8 * a.p + 1);
		a.t = 1 + (uint32_t)rand() % AUTH_PHC_T_MAX;
		a.salt_len = AUTH_PHC_SALT_MIN +
			     (size_t)rand() % (AUTH_PHC_SALT_MAX - AUTH_PHC_SALT_MIN + 1);
		a.hash_len = AUTH_PHC_HASH_MIN +
			     (size_t)rand() % (AUTH_PHC_HASH_MAX - AUTH_PHC_HASH_MIN + 1);
		if (i == 0) {
			a.m_kib = AUTH_PHC_M_MAX, a.t = AUTH_PHC_T_MAX, a.p = AUTH_PHC_P_MAX;
			a.salt_len = AUTH_PHC_SALT_MAX, a.hash_len = AUTH_PHC_HASH_MAX;
		}
		for (size_t k = 0; k < a.salt_len; k++)
			a.salt[k] = (uint8_t)rand();
		for (size_t k = 0; k < a.hash_len; k++)
			a.hash[k] = (uint8_t)rand();
		n = auth_phc_format(&a, buf, sizeof(buf));
		if (n < 0 || n >= (int)sizeof(buf) || auth_phc_parse(buf, (size_t)n, &b) != 0 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			bad++;
	}
	CHECK_INT(bad, ==, 0);
}

int main(void)
{
	test_b64();
	test_good();
	test_malformed();
	test_format_limits();
	test_round_trip();
	return check_report();
}
