/*
 * plugins/admin-api/tests/test_text.c - times, PHC shapes and quoting
 * (adm_text.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "adm_text.h"
#include "check.h"

static void test_times(void)
{
	char buf[64];
	int64_t ms = -1;

	CHECK_INT(adm_parse_time("2024-05-01T12:00:00Z", &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800000LL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00.123Z", &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800123LL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00.5Z", &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800500LL);
	CHECK_INT(adm_parse_time("2024-05-01T14:00:00+02:00", &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800000LL);
	CHECK_INT(adm_parse_time("2024-05-01T10:30:00-01:30", &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800000LL);
	CHECK_INT(adm_parse_time("2024-02-29T00:00:00Z", &ms), ==, 0);
	/* refused */
	CHECK_INT(adm_parse_time("2023-02-29T00:00:00Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-13-01T00:00:00Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01T24:00:00Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00Zx", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01 12:00:00Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00.Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("2024-05-01T12:00:00+2:00", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("1969-12-31T23:59:59Z", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time("", &ms), ==, -EINVAL);
	CHECK_INT(adm_parse_time(NULL, &ms), ==, -EINVAL);
	/* written and read back */
	adm_iso_time(1714564800123LL, buf, sizeof(buf));
	CHECK_STR(buf, "2024-05-01T12:00:00.123Z");
	CHECK_INT(adm_parse_time(buf, &ms), ==, 0);
	CHECK_INT(ms, ==, 1714564800123LL);
	adm_iso_time(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
	CHECK(adm_now_ms() > 1700000000000LL);
}

static void test_phc(void)
{
	CHECK(adm_phc_shape("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$"
			    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	CHECK(!adm_phc_shape("$argon2i$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$"
			     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	CHECK(!adm_phc_shape("$argon2id$v=19$m=65536,t=3$c2FsdHNhbHRzYWx0$"
			     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	CHECK(!adm_phc_shape("$argon2id$v=19$m=65536,t=3,p=1$c2Fs$"
			     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	CHECK(!adm_phc_shape("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaA"));
	CHECK(!adm_phc_shape("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$"
			     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g$"));
	CHECK(!adm_phc_shape("$argon2id$v=19$m=,t=3,p=1$c2FsdHNhbHRzYWx0$"
			     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	CHECK(!adm_phc_shape("secret"));
	CHECK(!adm_phc_shape(""));
	CHECK(!adm_phc_shape(NULL));
}

static void test_quote(void)
{
	char out[64];

	CHECK_STR(adm_quote("alice", out, sizeof(out)), "alice");
	CHECK_STR(adm_quote("a\nb'c\"d\\e\x7f\xc3\xa4", out, sizeof(out)),
		  "a\\x0ab\\x27c\\x22d\\x5ce\\x7f\\xc3\\xa4");
	/* never more than the room */
	adm_quote("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", out, 16);
	CHECK(strlen(out) < 16);
	CHECK_STR(adm_quote(NULL, out, sizeof(out)), "");
}

int main(void)
{
	test_times();
	test_phc();
	test_quote();
	return check_report();
}
