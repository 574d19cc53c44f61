/*
 * plugins/dialplan/dp_format.c - numbers reported by the PBX, made
 * super-canonical (the reference product's "Phone number formatting"):
 *
 *   1. keep + * # 0-9;
 *   2. the formatting rules of the direction (incoming, outgoing; line
 *      numbers for a line's own number);
 *   3. remove an external access code of the direction's strip list: a
 *      number that had one is external;
 *   4. otherwise recognise internal numbers: special external rules, the
 *      extension number space, special internal rules (with the generated
 *      rules for other locations), the internal number length;
 *   5. outgoing numbers lose a call-by-call prefix (providers.xml);
 *   6. the super-canonical form (special numbers such as 110 have none and
 *      stay as they are).
 *
 * Caller ids and forwarded numbers take the incoming rules and strip list,
 * called ids the outgoing ones; connected ids have their own strip lists,
 * and with "ignore ConnectedID" they are refused (-ENODATA) so the caller
 * keeps the calling or called number instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dp_num.h"

struct strip {
	const char (*codes)[16];
	size_t n;
};

static struct strip strip_list(const struct dp_pbx *p, enum ucs_dp_kind kind)
{
	switch (kind) {
	case UCS_DP_CALLER:
		return (struct strip){p->strip_incoming, p->n_strip_incoming};
	case UCS_DP_CALLED:
		return (struct strip){p->strip_outgoing, p->n_strip_outgoing};
	case UCS_DP_FORWARDED:
		return (struct strip){p->strip_forwarded, p->n_strip_forwarded};
	case UCS_DP_CONNECTED_IN:
		return (struct strip){p->strip_connected_in, p->n_strip_connected_in};
	case UCS_DP_CONNECTED_OUT:
		return (struct strip){p->strip_connected_out, p->n_strip_connected_out};
	default:
		return (struct strip){NULL, 0};
	}
}

static const struct dp_rule_list *format_rules(const struct dp_location *loc, enum ucs_dp_kind kind)
{
	switch (kind) {
	case UCS_DP_CALLER:
	case UCS_DP_CONNECTED_IN:
	case UCS_DP_FORWARDED:
		return &loc->incoming;
	case UCS_DP_CALLED:
	case UCS_DP_CONNECTED_OUT:
		return &loc->outgoing;
	case UCS_DP_LINE:
		return &loc->line_numbers;
	default:
		return NULL;
	}
}

static bool outgoing(enum ucs_dp_kind kind)
{
	return kind == UCS_DP_CALLED || kind == UCS_DP_CONNECTED_OUT;
}

/* Removes the longest access code of the list that the number starts with
 * (and that leaves something behind); true when one was removed. */
static bool strip_access(struct strip s, char *num)
{
	size_t best = 0;

	for (size_t i = 0; i < s.n; i++) {
		size_t n = strlen(s.codes[i]);

		if (n > best && strlen(num) > n && strncmp(num, s.codes[i], n) == 0)
			best = n;
	}
	if (best)
		memmove(num, num + best, strlen(num + best) + 1);
	return best != 0;
}

int dp_format(const struct dp_model *m, const struct dp_location *loc, enum ucs_dp_kind kind,
	      const char *number, struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg)
{
	const struct dp_rule_list *rules;
	const struct dp_location *owner;
	char num[DP_BUF], tmp[DP_BUF], why[DP_BUF] = "";
	bool external = false, internal = false, ok;
	int err, r = -1;

	if (!m || !loc || !out || kind < UCS_DP_CALLER || kind > UCS_DP_DISPLAY)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	dp_trace(trace, arg, "input", NULL, number ? number : "");
	if ((kind == UCS_DP_CONNECTED_IN || kind == UCS_DP_CONNECTED_OUT) &&
	    loc->pbx.ignore_connected) {
		dp_trace(trace, arg, "ignore-connected-id", "ignoreConnectedId", "");
		return -ENODATA;
	}

	/* 1 */
	err = dp_filter(number, num, sizeof(num), false, loc->country->international_prefix);
	if (err)
		return err;
	dp_trace(trace, arg, "filter", NULL, num);

	/* 2 */
	rules = format_rules(loc, kind);
	if (rules && (r = dp_rules_apply(rules, num, tmp, sizeof(tmp))) >= 0) {
		dp_copy(num, sizeof(num), tmp);
		if (trace) {
			char name[64];

			snprintf(name, sizeof(name), "%s rule %d", rules->name, r + 1);
			dp_trace(trace, arg, "formatting-rules", name, num);
		}
	} else if (r < -1) {
		return -EINVAL; /* too long after the rule, or no memory: refuse */
	}

	/* 3 */
	if (num[0] == '+') {
		external = true;
	} else if (strip_access(strip_list(&loc->pbx, kind), num)) {
		external = true;
		dp_trace(trace, arg, "access-code", "external access code removed", num);
	}

	/* 4 */
	if (!external && num[0] != '+') {
		switch (dp_classify(loc, num, tmp, sizeof(tmp), trace ? why : NULL, sizeof(why))) {
		case DP_INTERNAL:
			internal = true;
			break;
		case DP_EXTERNAL_RULE:
			external = true;
			break;
		case DP_EXTERNAL:
			break;
		case DP_CLASS_ERROR:
			return -EINVAL;
		}
		dp_copy(num, sizeof(num), tmp);
		dp_trace(trace, arg, internal ? "internal" : "external", why[0] ? why : NULL, num);
	}

	/* 5 */
	if (!internal && outgoing(kind) && num[0] != '+') {
		size_t n = dp_provider_prefix(&m->data, loc->country->code, num);

		if (n && strlen(num) > n) {
			memmove(num, num + n, strlen(num + n) + 1);
			dp_trace(trace, arg, "call-by-call", "call-by-call prefix removed", num);
		}
	}

	/* 6 */
	if (internal) {
		/* an extension of the DDI range becomes the location's full number;
		 * a rule may already have written it in international form */
		if (num[0] != '+' && dp_in_ddi(loc, num) && dp_ddi_prefix(loc, tmp, sizeof(tmp)))
			ok = set_canonical(&out->canonical.text, tmp, num);
		else
			ok = set_canonical(&out->canonical.text, num, "");
	} else if (num[0] != '+' && dp_special_of(&m->data, loc->country->code, num)) {
		/* service and emergency numbers have no international form */
		ok = set_canonical(&out->canonical.text, num, "");
	} else {
		dp_canonicalize(loc, num, tmp, sizeof(tmp));
		ok = set_canonical(&out->canonical.text, tmp, "");
	}
	if (!ok)
		return -EINVAL; /* longer than any number can be */
	out->internal = internal;
	dp_trace(trace, arg, "canonical", NULL, out->canonical.text);

	owner = out->canonical.text[0] == '+' ? dp_location_of(m, out->canonical.text, loc) : NULL;
	if (owner) {
		out->internal = 1;
		dp_copy(out->location, sizeof(out->location), owner->name);
	} else if (internal) {
		dp_copy(out->location, sizeof(out->location), loc->name);
	}
	dp_display(m, loc, out->canonical.text, out->display, sizeof(out->display));
	dp_trace(trace, arg, "display", NULL, out->display);
	return 0;
}
