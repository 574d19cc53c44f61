/*
 * tests/fuzz/dialplan_rules.c - the dialplan's rule engine gets its patterns
 * from operators and its numbers from PBXs and users. Input: the first line
 * is a search pattern, the second a replacement, every further line a
 * number. Whatever they hold, a bad pattern is reported (never a crash),
 * catastrophic backtracking ends at the match limit, and every result is a
 * NUL-terminated string within the caller's buffer. The pattern is also fed
 * to the project parameter expander, which must refuse what it cannot use.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
}

/* The next line of [*p, end) as a NUL-terminated copy, NULL at the end. */
static char *next_line(const char **p, const char *end)
{
	const char *s = *p, *nl;
	char *line;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end;
	line = malloc((size_t)(nl - s) + 1);
	if (!line)
		abort();
	memcpy(line, s, (size_t)(nl - s));
	line[nl - s] = '\0';
	*p = nl < end ? nl + 1 : end;
	return line;
}

static void check_result(int rc, size_t count, const char *out, size_t cap)
{
	if (rc != -1 && rc != -ENOSPC && (rc < 0 || (size_t)rc >= count))
		abort();
	if (rc != -ENOSPC && !memchr(out, 0, cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_errors errs = {.report = quiet};
	const char *p = (const char *)data, *end = p + size;
	struct dp_rule rules[2];
	struct dp_rule_list list = {.name = "dial", .rules = rules, .count = 0};
	char *search, *replace, *num;
	int lines = 0;

	search = next_line(&p, end);
	replace = next_line(&p, end);
	if (!search || !replace)
		goto out;
	/* The same text as a regex rule and as a direct rule. */
	for (int i = 0; i < 2; i++) {
		struct dp_rule *r = &rules[list.count];

		memset(r, 0, sizeof(*r));
		r->search = strdup(search);
		r->replace = strdup(replace);
		r->regex = i == 0;
		r->line = 1;
		if (!r->search || !r->replace)
			abort();
		errs.count = 0;
		if (dp_rule_compile(r, "dial", "fuzz", &errs) == 0) {
			if (r->regex && !r->re)
				abort();
			list.count++;
		} else {
			dp_rule_free(r);
		}
	}
	while ((num = next_line(&p, end)) && lines++ < 64) {
		char out[DP_NUMBER_MAX], small[4];
		int rc;

		rc = dp_rules_apply(&list, num, out, sizeof(out));
		check_result(rc, list.count, out, sizeof(out));
		rc = dp_rules_apply(&list, num, small, sizeof(small));
		check_result(rc, list.count, small, sizeof(small));
		if (strlen(search) < DP_NUMBER_MAX) {
			struct dp_project pr = {0};
			struct dp_project_out po;

			strcpy(pr.parameter, search);
			if (dp_project_expand(&pr, num, replace, num, &po) == 0 &&
			    (!memchr(po.dial, 0, sizeof(po.dial)) ||
			     !memchr(po.postdial, 0, sizeof(po.postdial)) ||
			     !memchr(po.journal, 0, sizeof(po.journal))))
				abort();
			(void)dp_project_wants_external(&pr);
		}
		free(num);
	}
	free(num);
out:
	for (size_t i = 0; i < list.count; i++)
		dp_rule_free(&rules[i]);
	free(search);
	free(replace);
	return 0;
}
