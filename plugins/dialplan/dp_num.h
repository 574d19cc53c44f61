/*
 * plugins/dialplan/dp_num.h - number handling shared by the pipelines.
 *
 * The pieces both directions need: keeping the characters a number may
 * hold, the canonical form of a number written the way people in a
 * location write it, whether a number is one of the location's extensions,
 * and the trace of the steps. Buffers are caller-provided and at least
 * DP_BUF bytes; nothing here allocates.
 */
#ifndef DIALPLAN_DP_NUM_H
#define DIALPLAN_DP_NUM_H

#include <errno.h>
#include <string.h>

#include "dp.h"

#define DP_BUF 160 /* room for any intermediate form (number, prefixes, project digits) */

/* Keeps + * # 0-9 (and, with letters, A-Z upper-cased); -EINVAL when in is
 * longer than UCS_DP_NUMBER_MAX, holds a non-ASCII byte, or nothing is left. In a number that starts
 * with + or idd (the location's international prefix), a "(0)" group - the
 * trunk prefix written for callers at home - is dropped. */
int dp_filter(const char *in, char *out, size_t cap, bool letters, const char *idd);
/* Super-canonical form of an external number written in loc's national
 * conventions (international prefix, trunk prefix, local number). Numbers
 * holding * or # cannot be canonical and are copied unchanged. */
void dp_canonicalize(const struct dp_location *loc, const char *digits, char *out, size_t cap);
/* Is ext (digits only) inside the location's extension number space? */
bool dp_in_ddi(const struct dp_location *loc, const char *ext);
/* The location's own canonical DDI prefix "+49815136856" into out; false
 * when it has no DDI PBX. */
bool dp_ddi_prefix(const struct dp_location *loc, char *out, size_t cap);
/* If canonical is one of loc's DDI numbers, its extension into ext. */
bool dp_ddi_extension(const struct dp_location *loc, const char *canonical, char *ext, size_t cap);
/* The location whose DDI range holds canonical, or NULL. With `from` set,
 * only from itself and, when it takes part in location integration, from
 * the other integrated locations (numbers of locations the server does
 * not connect are external). */
const struct dp_location *dp_location_of(const struct dp_model *m, const char *canonical,
					 const struct dp_location *from);

/* Internal-number recognition (reported step 4, dialing steps 5-6), in the
 * documented order: special external rules, DDI range, special internal
 * rules (including generated rules for other locations), internal length.
 * Returns DP_EXTERNAL_RULE, DP_INTERNAL or DP_EXTERNAL (DP_CLASS_ERROR when
 * a rule's result does not fit: the number is refused, not misclassified);
 * out gets the number
 * after any rule; *rule the rule list and index that decided (for traces). */
enum dp_class { DP_EXTERNAL = 0, DP_EXTERNAL_RULE = 1, DP_INTERNAL = 2, DP_CLASS_ERROR = 3 };
enum dp_class dp_classify(const struct dp_location *loc, const char *number, char *out, size_t cap,
			  char *why, size_t why_cap);

/* strlcpy: copies src into dst (cap > 0 bytes), truncating. The pipelines
 * copy between steps on every call; snprintf("%s") costs a format parse. */
static inline void dp_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* out = a b c d (NULLs skipped); -ENOSPC, with out truncated, when it does
 * not fit. The hot paths build numbers from parts on every call. */
static inline int dp_cat(char *out, size_t cap, const char *a, const char *b, const char *c,
			 const char *d)
{
	const char *parts[4] = {a, b, c, d};
	size_t len = 0;

	for (int i = 0; i < 4; i++) {
		size_t n;

		if (!parts[i])
			continue;
		n = strlen(parts[i]);
		if (len + n >= cap) {
			memcpy(out + len, parts[i], cap - 1 - len);
			out[cap - 1] = 0;
			return -ENOSPC;
		}
		memcpy(out + len, parts[i], n);
		len += n;
	}
	out[len] = 0;
	return 0;
}

/* Writes a + b into a canonical number field; false when it does not fit
 * (a canonical number has at most UCS_PHONE_MAX - 1 characters: a longer
 * one is refused, never cut into a different, valid-looking number). */
static inline bool set_canonical(char (*field)[UCS_PHONE_MAX], const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= UCS_PHONE_MAX)
		return false;
	memcpy(*field, a, la);
	memcpy(*field + la, b, lb);
	(*field)[la + lb] = 0;
	return true;
}

/* Calls trace(step, rule, value) when a trace handler is set. */
static inline void dp_trace(ucs_dp_trace_h *trace, void *arg, const char *step, const char *rule,
			    const char *value)
{
	if (trace)
		trace(step, rule, value, arg);
}

#endif
