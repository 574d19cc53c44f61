/*
 * plugins/common/tests/test_names.c - the spelling table of rights, levels
 * and services (plugins/common/ucs_names.c): every right bit of UCS_R_ALL
 * and every service has exactly one name and maps back to itself, unknown
 * names are 0 / -1, and ucs_bits_to_json follows snprintf rules.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ucs_jsontext.h"
#include "ucs_names.h"
#include "ucs_pick.h"

#include <ucs/rights.h>
#include <ucs/userdb.h>

/* Each name unique, each bit a single bit, names and bits round-trip; the
 * union of the table's bits is `all`. */
static void check_table(const struct ucs_name_bit *t, uint64_t all)
{
	uint64_t seen = 0;

	for (const struct ucs_name_bit *a = t; a->name; a++) {
		CHECK(a->bit && (a->bit & (a->bit - 1)) == 0);
		CHECK((seen & a->bit) == 0);
		seen |= a->bit;
		CHECK(ucs_name_bit(t, a->name) == a->bit);
		CHECK_STR(ucs_bit_name(t, a->bit), a->name);
	}
	CHECK(seen == all);
	CHECK(ucs_name_bit(t, "no_such_name") == 0);
	CHECK(ucs_name_bit(t, NULL) == 0);
	CHECK(ucs_bit_name(t, 1ull << 63) == NULL);
}

static void test_tables(void)
{
	check_table(ucs_right_names, UCS_R_ALL);
	check_table(ucs_service_names, (UCS_SVC_SCREEN_FEDERATION << 1) - 1);
	CHECK(ucs_name_bit(ucs_right_names, "line2.pickup") ==
	      UCS_R_LINE(UCS_LINE_SECOND, UCS_RL_PICKUP));
	CHECK(ucs_name_bit(ucs_right_names, "lines.see_fwd_number") ==
	      UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_SEE_FWD_NUMBER));
}

static void test_levels(void)
{
	CHECK_INT(ucs_level_from_name("blocked"), ==, UCS_LEVEL_BLOCKED);
	CHECK_INT(ucs_level_from_name("public"), ==, UCS_LEVEL_PUBLIC);
	CHECK_INT(ucs_level_from_name("business"), ==, UCS_LEVEL_BUSINESS);
	CHECK_INT(ucs_level_from_name("team"), ==, UCS_LEVEL_TEAM);
	CHECK_INT(ucs_level_from_name("personal"), ==, UCS_LEVEL_PERSONAL);
	CHECK_INT(ucs_level_from_name("Team"), ==, -1);
	CHECK_INT(ucs_level_from_name("custom"), ==, -1);
	CHECK_INT(ucs_level_from_name(NULL), ==, -1);
	for (int i = 0; i < UCS_LEVEL_COUNT; i++)
		CHECK_INT(ucs_level_from_name(ucs_level_names[i]), ==, i);
	CHECK(ucs_level_names[UCS_LEVEL_COUNT] == NULL);
}

static void test_json(void)
{
	char buf[256], small[8];
	uint64_t bits = UCS_R_SEE_PRESENCE | UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_PICKUP);
	int n;

	n = ucs_bits_to_json(ucs_right_names, bits, buf, sizeof(buf));
	CHECK_STR(buf, "[\"see_presence\",\"line1.pickup\"]");
	CHECK_INT(n, ==, (int)strlen(buf));
	CHECK_INT(ucs_bits_to_json(ucs_right_names, 0, buf, sizeof(buf)), ==, 2);
	CHECK_STR(buf, "[]");
	/* too small: the length it needs, a truncated NUL-terminated string */
	n = ucs_bits_to_json(ucs_right_names, bits, small, sizeof(small));
	CHECK_INT(n, ==, (int)strlen("[\"see_presence\",\"line1.pickup\"]"));
	CHECK_INT(strlen(small), ==, sizeof(small) - 1);
	CHECK_INT(ucs_bits_to_json(ucs_right_names, bits, NULL, 0), ==, n);
}

static void test_enums(void)
{
	for (int i = 0; i < UCS_CF_COUNT; i++)
		CHECK(ucs_contact_field_names[i] != NULL);
	for (int i = 0; i < UCS_SF_COUNT; i++)
		CHECK(ucs_self_field_names[i] != NULL);
	CHECK_STR(ucs_enum_name(ucs_state_names, UCS_NAMES_STATES, 2), "away");
	CHECK(ucs_enum_name(ucs_state_names, UCS_NAMES_STATES, UCS_NAMES_STATES) == NULL);
	CHECK(ucs_enum_name(ucs_class_names, UCS_NAMES_CLASSES, -1) == NULL);
	CHECK_STR(ucs_contact_field_names[UCS_CF_WEBSITE], "website");
}

static void quote_emit(void *arg, const char *p, size_t n)
{
	strncat(arg, p, n);
}

static void test_text(void)
{
	char out[64] = "";
	/* overlong '/', a surrogate, a lone continuation byte, a cut sequence */
	static const char bad[] = "a\xc0\xaf\xed\xa0\x80\x80\xe2\x82";

	CHECK(ucs_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
	CHECK(!ucs_utf8_valid(bad, sizeof(bad) - 1));
	CHECK_INT(ucs_utf8_len((const unsigned char *)"\xe2\x82\xac", 3), ==, 3);
	CHECK_INT(ucs_utf8_len((const unsigned char *)"\xe2\x82\xac", 2), ==, 0);
	CHECK_INT(ucs_utf8_repair("a\xff", 2, out), ==, 4);
	CHECK(memcmp(out, "a\xef\xbf\xbd", 4) == 0);
	out[0] = '\0';
	ucs_json_quote("q\"\\\n\xff", 5, quote_emit, out);
	CHECK_STR(out, "\"q\\\"\\\\\\u000a\\ufffd\"");
}

/* The "deposit to" rule: among the candidates in ringing order, nobody,
 * the first, the last or all; never a participant who is no candidate. */
static void test_pick(void)
{
	const bool cand[5] = {false, true, false, true, false};
	const bool none[3] = {false, false, false};
	bool chosen[5];

	CHECK_INT(ucs_pick(UCS_PICK_NONE, cand, chosen, 5), ==, 0);
	CHECK(!chosen[0] && !chosen[1] && !chosen[2] && !chosen[3] && !chosen[4]);
	CHECK_INT(ucs_pick(UCS_PICK_FIRST, cand, chosen, 5), ==, 1);
	CHECK(chosen[1] && !chosen[3] && !chosen[0]);
	CHECK_INT(ucs_pick(UCS_PICK_LAST, cand, chosen, 5), ==, 1);
	CHECK(chosen[3] && !chosen[1] && !chosen[4]);
	CHECK_INT(ucs_pick(UCS_PICK_ALL, cand, chosen, 5), ==, 2);
	CHECK(chosen[1] && chosen[3] && !chosen[0] && !chosen[2] && !chosen[4]);
	for (int r = UCS_PICK_NONE; r <= UCS_PICK_ALL; r++) {
		CHECK_INT(ucs_pick(r, none, chosen, 3), ==, 0);
		CHECK(!chosen[0] && !chosen[1] && !chosen[2]);
		CHECK_INT(ucs_pick_parse(ucs_pick_name(r)), ==, r);
	}
	CHECK_INT(ucs_pick_parse("everybody"), <, 0);
	CHECK_INT(ucs_pick_parse(NULL), <, 0);
	CHECK_STR(ucs_pick_name(9), "?");
}

int main(void)
{
	test_pick();
	test_tables();
	test_levels();
	test_json();
	test_enums();
	test_text();
	return check_report();
}
