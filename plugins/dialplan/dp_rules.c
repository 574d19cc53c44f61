/*
 * plugins/dialplan/dp_rules.c - the rule engine, least cost routing
 * selection and project parameter expansion: the parts of the dialplan that
 * run per number and so must be fast, allocation-free and thread-safe.
 *
 * Rules are compiled once when locations.xml loads (PCRE2, JIT when the
 * platform has it) and then only read. Matching needs a pcre2_match_data,
 * which is written during a match, so each thread keeps its own, created on
 * its first match and freed when the thread exits (a pthread key's
 * destructor; the main thread's lives until exit). The same per-thread
 * match context carries match and depth limits, so a pattern that would
 * backtrack catastrophically gives up quickly and counts as "no match"
 * rather than stalling a dialing thread.
 *
 * Replacements use \1..\9 (the reference product's syntax; $1..$9 too) and
 * replace only the matched part of the number: "^80(.*)" -> "0\1" turns
 * "80123" into "0123", and a pattern matching in the middle leaves the
 * digits around the match as they were.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

/* Longer patterns are configuration mistakes (or fuzz input), not numbers. */
#define RULE_PATTERN_MAX   512
/* Groups 0..9 are all a replacement can name; more groups still match. */
#define RULE_OVECTOR_PAIRS 10
/* Enough for any sane number pattern, small enough to fail fast. */
#define RULE_MATCH_LIMIT   100000
#define RULE_DEPTH_LIMIT   1000
/* Results are built here before copying, so out may alias in. */
#define RULE_RESULT_MAX	   256

struct rule_thread {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

static _Thread_local struct rule_thread *tl_rule;
static pthread_key_t rule_key;
static pthread_once_t rule_once = PTHREAD_ONCE_INIT;

static void rule_thread_free(void *arg)
{
	struct rule_thread *t = arg;

	if (!t)
		return;
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	free(t);
}

static bool rule_key_made;

static void rule_key_init(void)
{
	/* If this fails the per-thread state merely lives until exit. */
	rule_key_made = pthread_key_create(&rule_key, rule_thread_free) == 0;
}

/* The key's destructor is code of this library: when the library is
 * unloaded, threads that exit later must not call it. Their match data
 * then stays until the process ends (a few hundred bytes per thread). */
__attribute__((destructor)) static void rule_key_unload(void)
{
	if (rule_key_made)
		pthread_key_delete(rule_key);
}

/* This thread's match data and context, made on first use: the only
 * allocation on the matching path, once per thread. */
static struct rule_thread *rule_thread(void)
{
	struct rule_thread *t = tl_rule;

	if (t)
		return t;
	pthread_once(&rule_once, rule_key_init);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->md = pcre2_match_data_create(RULE_OVECTOR_PAIRS, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	if (!t->md || !t->mctx) {
		rule_thread_free(t);
		return NULL;
	}
	pcre2_set_match_limit(t->mctx, RULE_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, RULE_DEPTH_LIMIT);
	(void)pthread_setspecific(rule_key, t);
	tl_rule = t;
	return t;
}

/* The highest group a replacement names (\N or $N), 0 when none. */
static int replace_max_group(const char *rep)
{
	int max = 0;

	for (const char *p = rep; p && *p; p++) {
		if ((*p == '\\' || *p == '$') && p[1] >= '0' && p[1] <= '9') {
			if (p[1] - '0' > max)
				max = p[1] - '0';
			p++;
		} else if (*p == '\\' && p[1] == '\\') {
			p++;
		}
	}
	return max;
}

/*
 * The prefilter: most rules cannot match most numbers, and entering PCRE2
 * costs more than the comparison that proves it. Two facts are taken from
 * the pattern, both conservative (a missing prefix costs time, a wrong one
 * would change results, so anything unclear gives none):
 *   - the shortest subject that can match (PCRE2_INFO_MINLENGTH);
 *   - the literal characters a "^"-anchored pattern without alternation
 *     starts with, up to the first metacharacter, class escape, or a
 *     literal followed by a quantifier ("^12?3" gives "1"), also when
 *     something PCRE2 ignores stands between them (\\E, \\Q\\E, (?#...),
 *     an option setting).
 */
static bool quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

static void prefilter(struct dp_rule *rule, const pcre2_code *re)
{
	const char *p = rule->search;
	uint32_t min = 0;
	size_t n = 0;

	rule->lit_len = 0;
	rule->min_len = 0;
	if (pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &min) == 0)
		rule->min_len = min > UINT16_MAX ? UINT16_MAX : (uint16_t)min;
	/* alternation breaks the anchor; extended mode ((?x), (*...) verbs)
	 * changes what a literal is */
	if (p[0] != '^' || strchr(p, '|') || strstr(p, "(?x") || strstr(p, "(*"))
		return;
	for (p++; *p && n + 1 < sizeof(rule->lit);) {
		char c, next;
		size_t step;

		if (*p == '\\') {
			/* an escaped punctuation character is itself; \d, \1, \Q... are not */
			c = p[1];
			if (!c || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z'))
				break;
			step = 2;
		} else if (strchr(".[]()^$?*+{}|", *p)) {
			break;
		} else {
			c = *p;
			step = 1;
		}
		next = p[step];
		/* A quantifier makes this literal optional. So does one behind
		 * something PCRE2 ignores: \\E, \\Q (\\Q\\E), a (?#comment) or an
		 * option setting such as (?i). A group or an escape like \\d is an
		 * item of its own: a quantifier after it binds to it, not here. */
		if (quantifier(next) ||
		    (next == '\\' && (p[step + 1] == 'E' || p[step + 1] == 'Q')) ||
		    (next == '(' && p[step + 1] == '?' && !strchr(":=!<>|", p[step + 2])))
			break;
		rule->lit[n++] = c;
		p += step;
	}
	rule->lit[n] = 0;
	rule->lit_len = (uint8_t)n;
}

int dp_rule_compile(struct dp_rule *rule, const char *list, const char *file,
		    struct dp_errors *errs)
{
	pcre2_code *re = NULL;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off = 0;
	uint32_t groups = 0;
	int code = 0, max;
	int err = 0;

	rule->re = NULL;
	if (!rule->search || !*rule->search) {
		dp_error(errs, file, rule->line, "%s rule: empty search", list);
		err = -EINVAL;
		goto out;
	}
	if (!rule->regex)
		goto out;
	if (strlen(rule->search) > RULE_PATTERN_MAX) {
		dp_error(errs, file, rule->line,
			 "%s rule: regular expression longer than %d characters", list,
			 RULE_PATTERN_MAX);
		err = -EINVAL;
		goto out;
	}
	/* Numbers are ASCII: forbid (*UTF) so no input can be "invalid UTF". */
	re = pcre2_compile((PCRE2_SPTR)rule->search, PCRE2_ZERO_TERMINATED,
			   PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &code, &off, NULL);
	if (!re) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		dp_error(errs, file, rule->line,
			 "%s rule \"%s\": bad regular expression at offset %zu: %s", list,
			 rule->search, (size_t)off, (const char *)msg);
		err = -EINVAL;
		goto out;
	}
	(void)pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
	max = replace_max_group(rule->replace);
	if ((uint32_t)max > groups) {
		dp_error(errs, file, rule->line,
			 "%s rule \"%s\": replacement \"%s\" uses group %d, the pattern has %u",
			 list, rule->search, rule->replace, max, groups);
		err = -EINVAL;
		goto out;
	}
	/* Without JIT (some platforms) the interpreter gives the same results. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	prefilter(rule, re);
	rule->re = re;
	re = NULL;
out:
	pcre2_code_free(re);
	return err;
}

void dp_rule_free(struct dp_rule *rule)
{
	if (!rule)
		return;
	pcre2_code_free(rule->re);
	free(rule->search);
	free(rule->replace);
	free(rule->origin);
	memset(rule, 0, sizeof(*rule));
}

static int put(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n >= RULE_RESULT_MAX)
		return -ENOSPC;
	memcpy(buf + *len, s, n);
	*len += n;
	return 0;
}

/* in with [ov[0], ov[1]) replaced by the expanded replacement. */
static int substitute(const char *in, const char *rep, const PCRE2_SIZE *ov, int pairs, char *buf,
		      size_t *len)
{
	int err;

	err = put(buf, len, in, ov[0]);
	for (const char *p = rep; !err && *p; p++) {
		if ((*p == '\\' || *p == '$') && p[1] >= '0' && p[1] <= '9') {
			int g = *++p - '0';

			/* A group that did not take part in the match is empty. */
			if (g < pairs && ov[2 * g] != PCRE2_UNSET)
				err = put(buf, len, in + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		} else if (*p == '\\' && p[1] == '\\') {
			err = put(buf, len, ++p, 1);
		} else {
			err = put(buf, len, p, 1);
		}
	}
	if (!err)
		err = put(buf, len, in + ov[1], strlen(in + ov[1]));
	return err;
}

int dp_rules_apply(const struct dp_rule_list *list, const char *in, char *out, size_t cap)
{
	struct rule_thread *t = NULL;
	char buf[RULE_RESULT_MAX];
	size_t len = 0, n = strlen(in);
	int hit = -1, err = 0;

	for (size_t i = 0; list && i < list->count && hit < 0; i++) {
		const struct dp_rule *r = &list->rules[i];
		const PCRE2_SIZE *ov;
		int rc;

		if (!r->regex) {
			/* the first character rules out nearly every rule, cheaply */
			if (r->search[0] != in[0] || strcmp(r->search, in) != 0)
				continue;
			hit = (int)i;
			if (r->replace && *r->replace)
				err = put(buf, &len, r->replace, strlen(r->replace));
			else
				err = put(buf, &len, in, n);
			break;
		}
		if (!r->re || n < r->min_len ||
		    (r->lit_len && (in[0] != r->lit[0] || strncmp(in, r->lit, r->lit_len) != 0)))
			continue;
		if (!t && !(t = rule_thread())) {
			err = -ENOMEM;
			goto out;
		}
		rc = pcre2_match(r->re, (PCRE2_SPTR)in, n, 0, 0, t->md, t->mctx);
		/* No match, or the limits tripped: either way the rule does not apply. */
		if (rc < 0)
			continue;
		hit = (int)i;
		ov = pcre2_get_ovector_pointer(t->md);
		if (r->replace && *r->replace)
			err = substitute(in, r->replace, ov, rc ? rc : RULE_OVECTOR_PAIRS, buf,
					 &len);
		else
			err = put(buf, &len, in, n);
	}
	if (err)
		goto out;
	if (hit < 0)
		err = put(buf, &len, in, n);
	if (err)
		goto out;
	if (len >= cap) {
		err = -ENOSPC;
		goto out;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
out:
	return err ? err : hit;
}

/* ---- least cost routing ---------------------------------------------------------------- */

static enum dp_day day_of(const struct tm *t)
{
	if (t->tm_wday == 6)
		return DP_SATURDAY;
	if (t->tm_wday == 0)
		return DP_SUNDAY;
	return DP_WEEKDAY;
}

const struct dp_lcr_provider *dp_lcr_select(const struct dp_lcr *lcr, const char *canonical,
					    const struct tm *t, const struct dp_lcr_zone **zone)
{
	const struct dp_lcr_zone *best = NULL;
	const struct dp_lcr_provider *prov = NULL;
	size_t best_len = 0;
	int best_idx = -1, half, day;

	if (zone)
		*zone = NULL;
	if (!lcr || !canonical || !t)
		return NULL;
	day = day_of(t);
	half = t->tm_hour * 2 + t->tm_min / 30;
	if (half < 0 || half > 47)
		return NULL;
	for (size_t z = 0; z < lcr->n_zones; z++) {
		const struct dp_lcr_zone *zn = &lcr->zones[z];
		int idx = zn->assign[day][half];

		for (size_t i = 0; i < zn->n_prefixes; i++) {
			size_t len = strlen(zn->prefixes[i]);

			if (!len || strncmp(canonical, zn->prefixes[i], len) != 0)
				continue;
			/* Longer prefix wins; on a tie a zone without a provider
			 * now wins, so an operator can exempt numbers from LCR. */
			if (len > best_len || (len == best_len && best_idx >= 0 && idx < 0)) {
				best = zn;
				best_len = len;
				best_idx = idx;
			}
		}
	}
	if (!best)
		return NULL;
	if (zone)
		*zone = best;
	if (best_idx >= 0 && (size_t)best_idx < lcr->n_providers)
		prov = &lcr->providers[best_idx];
	return prov;
}

/* ---- projects -------------------------------------------------------------------------- */

static int append(char *dst, size_t cap, const char *s, size_t n)
{
	size_t len = strlen(dst);

	if (len + n >= cap)
		return -EINVAL;
	memcpy(dst + len, s, n);
	dst[len + n] = '\0';
	return 0;
}

static bool all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * The parameter is read left to right into out->dial until a "C" (wait for
 * the answer), then into out->postdial. Without an N the number goes to the
 * end of the whole sequence - after a C that is the post-dial part, which is
 * what a calling card needs ("0800...C" + number as DTMF).
 */
int dp_project_expand(const struct dp_project *p, const char *number, const char *pin,
		      const char *user_id, struct dp_project_out *out)
{
	bool have_n = false, have_j = false, have_c = false;
	char *dst;
	size_t cap;
	int err = 0;

	memset(out, 0, sizeof(*out));
	dst = out->dial;
	cap = sizeof(out->dial);
	if (!number)
		number = "";
	for (const char *c = p->parameter; !err && *c; c++) {
		size_t run = 1;

		switch (*c) {
		case 'C':
			if (have_c) {
				err = -EINVAL;
				break;
			}
			have_c = true;
			dst = out->postdial;
			cap = sizeof(out->postdial);
			break;
		case 'e':
		case 'u': {
			const char *v = *c == 'e' ? pin : user_id;

			while (c[1] == *c) {
				run++;
				c++;
			}
			if (!all_digits(v) || strlen(v) != run)
				err = -EINVAL;
			else
				err = append(dst, cap, v, run);
			break;
		}
		case 'E':
		case 'U': {
			const char *v = *c == 'E' ? pin : user_id;

			if (!all_digits(v))
				err = -EINVAL;
			else
				err = append(dst, cap, v, strlen(v));
			break;
		}
		case 'p':
			err = append(dst, cap, ",", 1);
			break;
		case 'P':
			err = append(dst, cap, ",,", 2);
			break;
		case 'N':
			have_n = true;
			err = append(dst, cap, number, strlen(number));
			break;
		case 'J':
			have_j = true;
			break;
		case 'X':
			out->external = true;
			break;
		default:
			if ((*c >= '0' && *c <= '9') || *c == '*' || *c == '#')
				err = append(dst, cap, c, 1);
			else
				err = -EINVAL;
			break;
		}
	}
	if (err)
		goto out;
	if (!have_n)
		err = append(dst, cap, number, strlen(number));
	if (err)
		goto out;
	/* The journal is readable by others: the PIN never goes there in clear. */
	if (have_j) {
		int n = snprintf(out->journal, sizeof(out->journal), "user=%s,pin=%s",
				 user_id ? user_id : "", pin && *pin ? "****" : "");

		if (n < 0 || (size_t)n >= sizeof(out->journal))
			err = -EINVAL;
	} else {
		err = append(out->journal, sizeof(out->journal), p->parameter,
			     strlen(p->parameter));
	}
out:
	if (err) {
		/* Never leave a half-expanded PIN behind in the caller's struct. */
		memset(out, 0, sizeof(*out));
	}
	return err;
}

bool dp_project_wants_external(const struct dp_project *p)
{
	return p && strchr(p->parameter, 'X') != NULL;
}
