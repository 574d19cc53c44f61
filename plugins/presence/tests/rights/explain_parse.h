/*
 * plugins/presence/tests/rights/explain_parse.h - reads rights_explain()'s
 * JSON back (with jansson) so the tests can check that the sources it lists
 * add up to the answer rights_get() gives.
 */
#ifndef RIGHTS_TEST_EXPLAIN_PARSE_H
#define RIGHTS_TEST_EXPLAIN_PARSE_H

#include <jansson.h>
#include <string.h>

#include "rights.h"
#include "ucs_names.h"

/* The rights that have a name (bit 31 is inside UCS_R_ALL but names none,
 * so no JSON text can carry it). */
#define NAMED_RIGHTS (UCS_R_ALL & ~(1ull << 31))

struct explained {
	int ok; /* parsed, every key present and well-formed */
	uint64_t global, monitor, user, effective;
	uint64_t groups; /* union over the listed groups */
	size_t n_groups;
	char reason[16];     /* "", "self" or "inactive" */
	char group_ids[256]; /* listed group ids, comma-separated */
};

/* The bits of a JSON array of right names; sets *ok = 0 on anything else. */
static inline uint64_t explained_bits(json_t *a, int *ok)
{
	uint64_t m = 0;
	size_t i;
	json_t *v;

	if (!json_is_array(a)) {
		*ok = 0;
		return 0;
	}
	json_array_foreach(a, i, v)
	{
		uint64_t bit =
			json_is_string(v) ? ucs_name_bit(ucs_right_names, json_string_value(v)) : 0;

		if (!bit)
			*ok = 0;
		m |= bit;
	}
	return m;
}

static inline struct explained explain_parse(struct rights_engine *re, int32_t w, int32_t t)
{
	struct explained e;
	char buf[8192];
	json_error_t jerr;
	json_t *root, *groups, *v;
	const char *key;
	int n = rights_explain(re, w, t, buf, sizeof(buf));

	memset(&e, 0, sizeof(e));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return e;
	root = json_loads(buf, 0, &jerr);
	if (!root)
		return e;
	e.ok = json_object_size(root) >= 5;
	e.global = explained_bits(json_object_get(root, "global"), &e.ok);
	e.monitor = explained_bits(json_object_get(root, "monitor"), &e.ok);
	e.user = explained_bits(json_object_get(root, "user"), &e.ok);
	e.effective = explained_bits(json_object_get(root, "effective"), &e.ok);
	groups = json_object_get(root, "groups");
	if (!json_is_object(groups))
		e.ok = 0;
	json_object_foreach(groups, key, v)
	{
		size_t len = strlen(e.group_ids);

		e.groups |= explained_bits(v, &e.ok);
		e.n_groups++;
		snprintf(e.group_ids + len, sizeof(e.group_ids) - len, "%s%s", len ? "," : "", key);
	}
	v = json_object_get(root, "reason");
	if (v)
		snprintf(e.reason, sizeof(e.reason), "%s",
			 json_is_string(v) ? json_string_value(v) : "(not a string)");
	json_decref(root);
	return e;
}

#endif
