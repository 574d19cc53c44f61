/*
 * tests/unit/config/test_jsonpos.c - the position scanner: positions of
 * values and keys, pointer escaping, unicode columns, malformed input and
 * the nesting limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonpos.h"

static struct jsonpos *scan_ok(const char *text)
{
	struct jsonpos *jp = NULL;
	int err = jsonpos_scan(&jp, text, strlen(text));

	CHECK_INT(err, ==, 0);
	return jp;
}

/* Asserts the value (and key) position found at pointer. */
static void expect_at(struct jsonpos *jp, const char *ptr, unsigned line, unsigned col,
		      unsigned kline, unsigned kcol)
{
	struct jsonpos_loc v = {0, 0}, k = {0, 0};
	long id = jsonpos_find(jp, ptr, strlen(ptr), &v, &k);

	CHECK(id >= 0);
	if (id < 0) {
		fprintf(stderr, "  pointer %s not found\n", ptr);
		return;
	}
	CHECK_INT(v.line, ==, line);
	CHECK_INT(v.col, ==, col);
	CHECK_INT(k.line, ==, kline);
	CHECK_INT(k.col, ==, kcol);
}

static void expect_missing(struct jsonpos *jp, const char *ptr)
{
	CHECK_INT(jsonpos_find(jp, ptr, strlen(ptr), NULL, NULL), ==, -ENOENT);
}

static void test_positions(void)
{
	const char *text = "{\n"
			   "  \"server\": {\"name\": \"x\",\n"
			   "\t\"port\":  7222},\n"
			   "  \"list\": [1, [true, null], {\"k\": -1.5e3}],\n"
			   "  \"a/b\": 1, \"m~n\": 2, \"\": 3\n"
			   "}\n";
	struct jsonpos *jp = scan_ok(text);

	CHECK_INT(jsonpos_count(jp), ==, 14);
	expect_at(jp, "", 1, 1, 0, 0);
	expect_at(jp, "/server", 2, 13, 2, 3);
	expect_at(jp, "/server/name", 2, 22, 2, 14);
	/* a tab is one column */
	expect_at(jp, "/server/port", 3, 11, 3, 2);
	expect_at(jp, "/list", 4, 11, 4, 3);
	expect_at(jp, "/list/0", 4, 12, 0, 0);
	expect_at(jp, "/list/1", 4, 15, 0, 0);
	expect_at(jp, "/list/1/1", 4, 22, 0, 0);
	expect_at(jp, "/list/2/k", 4, 35, 4, 30);
	expect_at(jp, "/a~1b", 5, 10, 5, 3);
	expect_at(jp, "/m~0n", 5, 20, 5, 13);
	expect_at(jp, "/", 5, 27, 5, 23);
	expect_missing(jp, "/list/3");
	expect_missing(jp, "/list/01");
	expect_missing(jp, "/server/nope");
	expect_missing(jp, "server");
	expect_missing(jp, "/m~2n");
	expect_missing(jp, "/m~");
	expect_missing(jp, "/a/b");
	jsonpos_free(jp);
}

static void test_pointer_roundtrip(void)
{
	const char *text =
		"{\"a/b\": {\"m~n\": [0, {\"x\": 1}]}, \"\\u00e9t\\u00e9\": [], \"q\\\"\": 1}";
	struct jsonpos *jp = scan_ok(text);
	char buf[64];

	for (size_t i = 0; i < jsonpos_count(jp); i++) {
		long n = jsonpos_pointer(jp, i, buf, sizeof(buf));

		CHECK(n >= 0 && (size_t)n < sizeof(buf));
		CHECK_INT(jsonpos_find(jp, buf, (size_t)n, NULL, NULL), ==, (long)i);
	}
	CHECK_INT(jsonpos_pointer(jp, 5, buf, sizeof(buf)), ==, 14);
	CHECK_STR(buf, "/a~1b/m~0n/1/x");
	/* snprintf rules: truncated, terminated, the full length returned */
	CHECK_INT(jsonpos_pointer(jp, 5, buf, 6), ==, 14);
	CHECK_STR(buf, "/a~1b");
	CHECK_INT(jsonpos_pointer(jp, 99, buf, sizeof(buf)), ==, -ENOENT);
	/* keys are decoded: \u00e9 is the two UTF-8 bytes of e-acute */
	expect_at(jp, "/\xc3\xa9t\xc3\xa9", 1, 50, 1, 33);
	expect_at(jp, "/q\"", 1, 61, 1, 54);
	jsonpos_free(jp);
}

static void test_unicode_columns(void)
{
	/* columns count characters: the 2-byte e-acute and the 4-byte emoji
	 * (written raw and as a surrogate pair) are one column each */
	const char *text = "{\"\xc3\xa9\": \"\xf0\x9f\x98\x80\", \"k\": 1,\n"
			   " \"\\ud83d\\ude00\": true}";
	struct jsonpos *jp = scan_ok(text);

	expect_at(jp, "/\xc3\xa9", 1, 7, 1, 2);
	expect_at(jp, "/k", 1, 17, 1, 12);
	expect_at(jp, "/\xf0\x9f\x98\x80", 2, 18, 2, 2);
	jsonpos_free(jp);
}

static void test_broken(void)
{
	static const char *const bad[] = {
		"", "   ", "{", "[", "[1,", "[1,]", "{\"a\" 1}", "{\"a\":}", "{,}", "\"abc",
		"[1]x", "{\"a\":1,}", "{\"\\ud800\":1}", "{\"\\udc00\":1}", "{\"\\u12\":1}",
		"{\"\\q\":1}", "[\"a\nb\"]", "]", "{\"a\":1]", "[1}", "{1:2}", "{\"a\\",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jsonpos *jp = (struct jsonpos *)&jp;
		int err = jsonpos_scan(&jp, bad[i], strlen(bad[i]));

		CHECK_INT(err, ==, -EINVAL);
		CHECK(jp == NULL);
		if (err != -EINVAL)
			fprintf(stderr, "  input %zu: %s\n", i, bad[i]);
	}
}

/* The scanner must not need a terminator: an exact-size heap copy lets
 * AddressSanitizer catch a read one past the end. */
static void test_no_overread(void)
{
	static const char *const texts[] = {"{\"a\":1}", "[tru", "\"\\u00", "{\"a\"", "123"};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i]);
		char *copy = malloc(n);
		struct jsonpos *jp = NULL;

		memcpy(copy, texts[i], n);
		jsonpos_scan(&jp, copy, n);
		jsonpos_free(jp);
		free(copy);
	}
	CHECK(1);
}

static void test_depth(void)
{
	size_t deep = JSONPOS_MAX_DEPTH, n = deep * 2 + 1;
	char *text = malloc(n + 1), *ptr = malloc(deep * 2 + 1);
	struct jsonpos *jp = NULL;
	long id;

	/* JSONPOS_MAX_DEPTH nested arrays around a 7 fit */
	memset(text, '[', deep);
	text[deep] = '7';
	memset(text + deep + 1, ']', deep);
	CHECK_INT(jsonpos_scan(&jp, text, n), ==, 0);
	for (size_t i = 0; i < deep; i++)
		memcpy(ptr + 2 * i, "/0", 2);
	id = jsonpos_find(jp, ptr, deep * 2, NULL, NULL);
	CHECK_INT(id, ==, (long)deep);
	CHECK_INT(jsonpos_pointer(jp, (size_t)id, NULL, 0), ==, (long)deep * 2);
	jsonpos_free(jp);

	/* one more level is refused, not a crash */
	free(text);
	text = malloc(deep + 2);
	memset(text, '[', deep + 1);
	jp = NULL;
	CHECK_INT(jsonpos_scan(&jp, text, deep + 1), ==, -E2BIG);
	CHECK(jp == NULL);
	free(text);
	free(ptr);
}

int main(void)
{
	test_positions();
	test_pointer_roundtrip();
	test_unicode_columns();
	test_broken();
	test_no_overread();
	test_depth();
	return check_report();
}
