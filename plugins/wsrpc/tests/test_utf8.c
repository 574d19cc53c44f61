/*
 * plugins/wsrpc/tests/test_utf8.c - incremental UTF-8 validation, with the
 * cases of Markus Kuhn's decoder stress test: boundaries of each length,
 * overlong forms, UTF-16 surrogates, code points above U+10FFFF, stray
 * continuation bytes, truncated sequences - each also split at every byte.
 */
#include <string.h>

#include "check.h"
#include "ws_frame.h"

static const char *const valid[] = {
	"",
	"plain ASCII \t\r\n~\x7f",
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", /* kosme */
	"\xc2\x80",					/* U+0080 */
	"\xdf\xbf",					/* U+07FF */
	"\xe0\xa0\x80",					/* U+0800 */
	"\xed\x9f\xbf",					/* U+D7FF */
	"\xee\x80\x80",					/* U+E000 */
	"\xef\xbf\xbd",					/* U+FFFD */
	"\xef\xbf\xbf",					/* U+FFFF (a noncharacter, still UTF-8) */
	"\xf0\x90\x80\x80",				/* U+10000 */
	"\xf4\x8f\xbf\xbf",				/* U+10FFFF */
	"a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80!",	/* mixed */
};

static const char *const invalid[] = {
	"\x80",
	"\xbf",
	"\x80\xbf",
	"ab\x80", /* continuation bytes alone */
	"\xc0\xaf",
	"\xe0\x80\xaf",
	"\xf0\x80\x80\xaf", /* overlong "/" */
	"\xc1\xbf",
	"\xe0\x9f\xbf",
	"\xf0\x8f\xbf\xbf", /* largest overlong forms */
	"\xc0\x80",
	"\xe0\x80\x80", /* overlong NUL */
	"\xed\xa0\x80",
	"\xed\xad\xbf",
	"\xed\xae\x80",
	"\xed\xbf\xbf",		    /* surrogates */
	"\xed\xa0\x80\xed\xb0\x80", /* a surrogate pair */
	"\xf4\x90\x80\x80",
	"\xf5\x80\x80\x80",
	"\xf7\xbf\xbf\xbf", /* above U+10FFFF */
	"\xf8\x88\x80\x80\x80",
	"\xfc\x84\x80\x80\x80\x80", /* 5 and 6 bytes */
	"\xfe",
	"\xff",
	"\xfe\xfe\xff\xff",
	"\xc2\x41",
	"\xe2\x82\x41",
	"\xf0\x9f\x98\x41", /* a lead byte then ASCII */
	"\xc3\xa9\xff",	    /* fine until the last byte */
};

/* Sequences cut short: not invalid yet, but not complete either. */
static const char *const truncated[] = {
	"\xc3", "\xe2\x82", "\xf0\x9f\x98", "ok\xe0\xa0", "\xf4\x8f\xbf", "\xc3\xa9\xc3",
};

static uint32_t run(const char *s, size_t len, size_t cut)
{
	uint32_t st = ws_utf8_step(0, (const uint8_t *)s, cut);

	return ws_utf8_step(st, (const uint8_t *)s + cut, len - cut);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t len = strlen(valid[i]);

		for (size_t cut = 0; cut <= len; cut++) {
			uint32_t st = run(valid[i], len, cut);

			if (st != 0)
				fprintf(stderr, "valid[%zu] cut %zu\n", i, cut);
			CHECK_INT(st, ==, 0);
		}
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		size_t len = strlen(invalid[i]);

		CHECK_INT(ws_utf8_step(0, (const uint8_t *)invalid[i], len), ==, WS_UTF8_BAD);
		for (size_t cut = 0; cut <= len; cut++) {
			uint32_t st = run(invalid[i], len, cut);

			if (st == 0)
				fprintf(stderr, "invalid[%zu] accepted at cut %zu\n", i, cut);
			CHECK(st != 0);
		}
	}
	for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
		uint32_t st = ws_utf8_step(0, (const uint8_t *)truncated[i], strlen(truncated[i]));

		CHECK(st != 0 && st != WS_UTF8_BAD);
	}
	/* a bad state stays bad, whatever follows */
	CHECK_INT(ws_utf8_step(WS_UTF8_BAD, (const uint8_t *)"a", 1), ==, WS_UTF8_BAD);
	/* NUL is a character like any other in UTF-8 */
	CHECK_INT(ws_utf8_step(0, (const uint8_t *)"a\0b", 3), ==, 0);
	/* every single byte: 00-7F complete, C2-F4 open a sequence, others bad */
	for (int b = 0; b < 256; b++) {
		uint8_t c = (uint8_t)b;
		uint32_t st = ws_utf8_step(0, &c, 1);

		if (b < 0x80)
			CHECK_INT(st, ==, 0);
		else if (b >= 0xc2 && b <= 0xf4)
			CHECK(st != 0 && st != WS_UTF8_BAD);
		else
			CHECK_INT(st, ==, WS_UTF8_BAD);
	}
	return check_report();
}
