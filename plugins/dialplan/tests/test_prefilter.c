/*
 * plugins/dialplan/tests/test_prefilter.c - the rule prefilter never
 * skips a rule PCRE2 would match: dp_rules_apply against a plain
 * pcre2_match for a set of tricky patterns (escapes, comments, quantifiers
 * after \E, options, alternation, classes) over many numbers.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dp.h"

static const char *const patterns[] = {
	"^12?3",
	"^12\\E?3",
	"^12\\Q\\E?3",
	"^12(?#c)?3",
	"^12\\E{0}3",
	"^12(?#x){0}3",
	"^\\+49(\\d+)$",
	"^\\*7(.*)",
	"^11[02]$",
	"^0(0800[2-9]\\d+)$",
	"^1(?i)2",
	"^12|^3",
	"^1\\d{2}",
	"^\\x31\\x32",
	"^\\Q12\\E3",
	"^1(2)?3",
	"^12*3",
	"^1{2}3",
	"^(?:12)?3",
	"^1\\K23",
	"^[12]3",
	"^1.3",
	"^123$",
	"^(?=1)12",
	"^12(?x) 3",
	"^12(?i)?3",
	"^12(?-i)?3",
	"^(?x)1 2 ?3",
	"^1(?x) 2?3",
	"^12\\Q?\\E3",
	"^0(\\d+)",
	"^12(3)?",
	"^12(?:3)?",
	"^12\\d?3",
	"^12(?=3)?",
	"^12(*SKIP)?3",
	"^1(*ACCEPT)",
	"^\\0612",
	"^\\\\12",
	"^12\\b",
	"^1\\Q\\E2?",
	"^#1",
	"^\\#1",
	"^1\\?",
	"23$",
	"2",
	"^$",
	"^1(?#)2?3",
};

static const char *const numbers[] = {
	"13",  "123",	     "1223",	     "3",  "12", "1",	 "+49891234", "*70891", "110",
	"112", "0080012345", "008002345678", "A",  "1a", "12 3", "1\\12",     "\\12",	"123x",
	"",    "1234567890", "#1",	     "1?", "23", "0061",
};

int main(void)
{
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	int mismatches = 0;

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		struct dp_errors errs = {0};
		struct dp_rule rule = {0};
		struct dp_rule_list list = {"test", &rule, 1};
		pcre2_code *re;
		int code;
		PCRE2_SIZE off;

		re = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED,
				   PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &code, &off, NULL);
		rule.search = strdup(patterns[i]);
		rule.replace = strdup("");
		rule.regex = true;
		if (dp_rule_compile(&rule, "test", "test", &errs) != 0 || !re) {
			/* both must agree that the pattern is bad */
			CHECK(re == NULL);
			dp_rule_free(&rule);
			pcre2_code_free(re);
			continue;
		}
		for (size_t j = 0; j < sizeof(numbers) / sizeof(numbers[0]); j++) {
			char out[256];
			int raw = pcre2_match(re, (PCRE2_SPTR)numbers[j], strlen(numbers[j]), 0, 0,
					      md, NULL) >= 0;
			int ours = dp_rules_apply(&list, numbers[j], out, sizeof(out)) == 0;

			if (raw != ours) {
				mismatches++;
				fprintf(stderr,
					"pattern \"%s\", number \"%s\": pcre2 %d, rule %d\n",
					patterns[i], numbers[j], raw, ours);
			}
		}
		dp_rule_free(&rule);
		pcre2_code_free(re);
	}
	pcre2_match_data_free(md);
	CHECK_INT(mismatches, ==, 0);
	return check_report();
}
