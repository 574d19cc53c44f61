/*
 * plugins/dialplan/dp_num.c - number handling shared by the pipelines
 * (see dp_num.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_num.h"

/* "+49 (0)89 ...": in an international number a bracketed 0 marks the trunk
 * prefix that is dropped when dialling from abroad (business-card style);
 * returns the length of such a group at in, or 0. */
static size_t trunk_zero(const char *in, const char *out, size_t n, const char *idd)
{
	size_t idd_len = idd ? strlen(idd) : 0;
	const char *p = in;

	if (*p != '(' || !n ||
	    !(out[0] == '+' || (idd_len && n > idd_len && strncmp(out, idd, idd_len) == 0)))
		return 0;
	for (p++; *p == ' '; p++)
		;
	if (*p++ != '0')
		return 0;
	for (; *p == ' '; p++)
		;
	return *p == ')' ? (size_t)(p + 1 - in) : 0;
}

int dp_filter(const char *in, char *out, size_t cap, bool letters, const char *idd)
{
	size_t n = 0, skip;

	if (!in || strlen(in) > UCS_DP_NUMBER_MAX)
		return -EINVAL;
	for (; *in && n + 1 < cap; in++) {
		char c = *in;

		/* separators people type are ASCII; anything else (UTF-8, Latin-1
		 * bytes, other scripts' digits) is refused, not silently dropped */
		if ((unsigned char)c >= 0x80)
			return -EINVAL;
		if ((skip = trunk_zero(in, out, n, idd)) != 0) {
			in += skip - 1;
			continue;
		}
		if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c == '+' && n == 0))
			out[n++] = c;
		else if (letters && isalpha((unsigned char)c))
			out[n++] = (char)toupper((unsigned char)c);
	}
	out[n] = 0;
	return n ? 0 : -EINVAL;
}

static bool starts(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return n && strncmp(s, prefix, n) == 0;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

void dp_canonicalize(const struct dp_location *loc, const char *digits, char *out, size_t cap)
{
	const struct dp_country *c = loc->country;
	size_t len = strlen(digits);

	if (digits[0] == '+' || !all_digits(digits)) {
		dp_copy(out, cap, digits);
		return;
	}
	if (starts(digits, c->international_prefix))
		dp_cat(out, cap, "+", digits + strlen(c->international_prefix), NULL, NULL);
	else if (c->national_prefix[0] && starts(digits, c->national_prefix))
		dp_cat(out, cap, "+", c->code, digits + strlen(c->national_prefix), NULL);
	else if (!c->national_prefix[0] || (c->nsn_length && len >= c->nsn_length))
		/* a closed numbering plan (IT), or a complete national number
		 * written without trunk prefix (NANP ten digits, perhaps followed
		 * by extension digits for auto re-dial) */
		dp_cat(out, cap, "+", c->code, digits, NULL);
	else if (loc->adv.always_area && loc->area[0] && starts(digits, loc->area))
		dp_cat(out, cap, "+", c->code, digits, NULL);
	else
		dp_cat(out, cap, "+", c->code, loc->area, digits);
}

static long parse_ext(const char *ext)
{
	char *end;
	long v;

	if (!*ext || strlen(ext) > 9 || !all_digits(ext))
		return -1;
	v = strtol(ext, &end, 10);
	return *end ? -1 : v;
}

bool dp_in_ddi(const struct dp_location *loc, const char *ext)
{
	const struct dp_pbx *p = &loc->pbx;
	size_t len = strlen(ext);

	if (!p->enabled || p->line_type != DP_LINE_DDI || !all_digits(ext) || !len)
		return false;
	if (p->has_range) {
		long v;

		/* written without leading zeros: "020" is not extension 20 */
		if (len < loc->ext_len_min || len > loc->ext_len_max || (ext[0] == '0' && len > 1))
			return false;
		v = parse_ext(ext);
		return v >= p->ext_from && v <= p->ext_to;
	}
	if (p->has_prefix)
		return ext[0] - '0' >= p->prefix_low && ext[0] - '0' <= p->prefix_high &&
		       (int)len >= p->len_min && (int)len <= p->len_max;
	return false;
}

void dp_location_finish(struct dp_location *loc)
{
	const struct dp_pbx *p = &loc->pbx;
	char digits[24];
	int n = 0;

	loc->ext_len_min = (uint8_t)snprintf(digits, sizeof(digits), "%ld", p->ext_from);
	loc->ext_len_max = (uint8_t)snprintf(digits, sizeof(digits), "%ld", p->ext_to);
	if (p->enabled && p->line_type == DP_LINE_DDI && p->base[0] && loc->country)
		n = snprintf(loc->ddi_prefix, sizeof(loc->ddi_prefix), "+%s%s%s",
			     loc->country->code, loc->area, p->base);
	if (n <= 0 || (size_t)n >= sizeof(loc->ddi_prefix))
		n = 0;
	loc->ddi_prefix[n] = 0;
	loc->ddi_prefix_len = (size_t)n;
}

bool dp_ddi_prefix(const struct dp_location *loc, char *out, size_t cap)
{
	if (!loc->ddi_prefix_len || loc->ddi_prefix_len >= cap)
		return false;
	memcpy(out, loc->ddi_prefix, loc->ddi_prefix_len + 1);
	return true;
}

bool dp_ddi_extension(const struct dp_location *loc, const char *canonical, char *ext, size_t cap)
{
	size_t n = loc->ddi_prefix_len, rest;

	if (!n || strncmp(canonical, loc->ddi_prefix, n) != 0 || !dp_in_ddi(loc, canonical + n))
		return false;
	rest = strlen(canonical + n);
	if (rest >= cap)
		return false;
	memcpy(ext, canonical + n, rest + 1);
	return true;
}

const struct dp_location *dp_location_of(const struct dp_model *m, const char *canonical,
					 const struct dp_location *from)
{
	char ext[DP_BUF];

	for (size_t i = 0; i < m->n_locations; i++) {
		const struct dp_location *l = &m->locations[i];

		if (from && l != from && !(from->adv.integrate && l->adv.integrate))
			continue;
		if (dp_ddi_extension(l, canonical, ext, sizeof(ext)))
			return l;
	}
	return NULL;
}

static bool internal_length(const struct dp_location *loc, const char *number)
{
	int len = (int)strlen(number);

	return loc->pbx.enabled && loc->pbx.len_max > 0 && len >= loc->pbx.len_min &&
	       len <= loc->pbx.len_max;
}

enum dp_class dp_classify(const struct dp_location *loc, const char *number, char *out, size_t cap,
			  char *why, size_t why_cap)
{
	int r;

	/* the reason is for traces only: formatting it costs more than deciding */
	if (!why)
		why_cap = 0;
	r = dp_rules_apply(&loc->external, number, out, cap);
	if (r < -1)
		return DP_CLASS_ERROR;
	if (r >= 0) {
		(void)(why_cap && snprintf(why, why_cap, "external rule %d", r + 1));
		return DP_EXTERNAL_RULE;
	}
	dp_copy(out, cap, number);
	if (dp_in_ddi(loc, number)) {
		(void)(why_cap && snprintf(why, why_cap, "extension number space"));
		return DP_INTERNAL;
	}
	r = dp_rules_apply(&loc->internal, number, out, cap);
	if (r < -1)
		return DP_CLASS_ERROR;
	if (r >= 0) {
		const struct dp_rule *rule = &loc->internal.rules[r];

		if (rule->generated)
			(void)(why_cap &&
			       snprintf(why, why_cap, "generated internal rule for location %s",
					rule->origin ? rule->origin : "?"));
		else
			(void)(why_cap && snprintf(why, why_cap, "internal rule %d", r + 1));
		return DP_INTERNAL;
	}
	dp_copy(out, cap, number);
	if (internal_length(loc, number)) {
		(void)(why_cap && snprintf(why, why_cap, "internal number length"));
		return DP_INTERNAL;
	}
	if (why_cap)
		why[0] = 0;
	return DP_EXTERNAL;
}
