/*
 * plugins/dialplan/dp_dial.c - a number a user dials, made into the digits
 * the location's PBX needs (the reference product's "Dialing rules"):
 *
 *    1. keep + * # 0-9 and letters (upper-cased); a leading "!" bypasses
 *       every rule and sends the rest as it is;
 *    2. vanity: letters after a configured vanity prefix become digits
 *       (ITU E.161: ABC 2, DEF 3, GHI 4, JKL 5, MNO 6, PQRS 7, TUV 8, WXYZ 9);
 *    3. keep + * # 0-9; emergency numbers of a softphone's subnet get their
 *       prefix and go out at once;
 *    4. special numbers (specialnumbers.xml) go out with the local access
 *       code, unformatted;
 *    5. special external rules: the number is external;
 *    6. internal numbers go out as they are;
 *    7. the international (super-canonical) form;
 *    8. the project (see 14);
 *    9. least cost routing, except for special, internal and forwarding
 *       numbers;
 *   10. own DDI numbers shortened to the extension;
 *   11. the PC dialing rules (with the generated abbreviations of other
 *       locations' numbers, 12); a result that is not canonical is taken
 *       as the final digits for the PBX;
 *   13. the country's dialing rule (same area, long distance, NANP local
 *       and chargeable, international) with E/F/G/I/N; numbers longer than
 *       the target country allows are split for auto re-dial;
 *   14. the external access code (forwarding: the forward code; a private
 *       project: the private code); then the project parameter around the
 *       number - applied here because it needs the number with access code
 *       (X) or in national form;
 *   15. the PC dialing final rules.
 *
 * dialFormat="e164" sends the canonical number instead of steps 13-14.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dp_num.h"

struct dial_ctx {
	const struct dp_model *m;
	const struct dp_location *loc;
	enum ucs_dp_dial_mode mode;
	const struct ucs_dp_dial_request *req;
	struct ucs_dp_dial_result *out;
	ucs_dp_trace_h *trace;
	void *arg;
	const struct dp_project *project;
	const char *lcr_prefix;
};

enum dial_rule {
	RULE_SAME_AREA,
	RULE_LOCAL_CHARGEABLE,
	RULE_OTHER_AREA_LOCAL,
	RULE_LONG_DISTANCE,
	RULE_INTERNATIONAL
};

static int put(char *out, size_t cap, const char *s)
{
	return dp_cat(out, cap, s, NULL, NULL, NULL) ? -EINVAL : 0;
}

/* ---- step 2: vanity ---- */

static char e161(char c)
{
	static const char digits[] = "22233344455566677778889999";

	return c >= 'A' && c <= 'Z' ? digits[c - 'A'] : c;
}

static void vanity(const struct dp_location *loc, char *num)
{
	const struct dp_country *c = loc->country;
	const char *national = num;
	bool letters = false;

	for (const char *p = num; *p; p++)
		letters |= *p >= 'A' && *p <= 'Z';
	if (!letters)
		return;
	if (num[0] == '+' && strncmp(num + 1, c->code, strlen(c->code)) == 0)
		national = num + 1 + strlen(c->code);
	else if (c->international_prefix[0] &&
		 strncmp(num, c->international_prefix, strlen(c->international_prefix)) == 0 &&
		 strncmp(num + strlen(c->international_prefix), c->code, strlen(c->code)) == 0)
		national = num + strlen(c->international_prefix) + strlen(c->code);
	else if (c->national_prefix[0] &&
		 strncmp(num, c->national_prefix, strlen(c->national_prefix)) == 0)
		national = num + strlen(c->national_prefix);
	for (size_t i = 0; i < loc->n_vanity; i++) {
		size_t n = strlen(loc->vanity[i]);

		if (n && strncmp(national, loc->vanity[i], n) == 0) {
			for (char *p = num; *p; p++)
				*p = e161(*p);
			return;
		}
	}
}

/* ---- step 3: emergency numbers of a softphone's subnet ---- */

static bool in_subnet(const struct dp_emergency *e, const struct sockaddr *sa)
{
	const uint8_t *addr;
	uint8_t v4[4];
	size_t bits = e->prefix_len;

	if (sa->sa_family == AF_INET) {
		memcpy(v4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		addr = v4;
		if (e->family != AF_INET)
			return false;
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (e->family == AF_INET && memcmp(a6, mapped, 12) == 0)
			addr = a6 + 12; /* an IPv4 client on a dual-stack socket */
		else if (e->family == AF_INET6)
			addr = a6;
		else
			return false;
	} else {
		return false;
	}
	if (memcmp(addr, e->addr, bits / 8) != 0)
		return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		return (addr[bits / 8] & mask) == (e->addr[bits / 8] & mask);
	}
	return true;
}

static const struct dp_emergency *emergency(const struct dp_location *loc,
					    const struct sockaddr *client, const char *num)
{
	if (!loc->emergency_enabled || !client)
		return NULL;
	for (size_t i = 0; i < loc->n_emergency; i++) {
		const struct dp_emergency *e = &loc->emergency[i];

		if (!in_subnet(e, client))
			continue;
		for (size_t j = 0; j < e->n_numbers; j++)
			if (strcmp(e->numbers[j], num) == 0)
				return e;
	}
	return NULL;
}

/* ---- step 13: the country's rule ---- */

static bool listed(const struct dp_area_rule *rules, size_t n, const char *area,
		   const char *subscriber)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rules[i].area, area) != 0)
			continue;
		for (size_t j = 0; j < rules[i].n_prefixes; j++)
			if (strncmp(subscriber, rules[i].prefixes[j],
				    strlen(rules[i].prefixes[j])) == 0)
				return true;
	}
	return false;
}

/* Splits the national significant number into area code and subscriber
 * and picks the rule. */
static enum dial_rule pick_rule(const struct dial_ctx *x, const struct dp_country *dest,
				const char *nsn, char *area, size_t area_cap,
				const char **subscriber)
{
	const struct dp_location *loc = x->loc;
	const struct dp_nanp *nanp = &loc->nanp;
	size_t alen = 0;

	area[0] = 0;
	*subscriber = nsn;
	if (dest != loc->country)
		return RULE_INTERNATIONAL;
	if (dest->area_length) {
		alen = dest->area_length;
	} else if (loc->area[0] && strncmp(nsn, loc->area, strlen(loc->area)) == 0) {
		alen = strlen(loc->area);
	} else {
		char canonical[DP_BUF];
		const struct dp_city *city;

		dp_cat(canonical, sizeof(canonical), "+", dest->code, nsn, NULL);
		city = dp_city_of(&x->m->data, canonical);
		if (city)
			alen = strlen(city->prefix) - 1 - strlen(dest->code);
	}
	if (alen >= strlen(nsn) || alen >= area_cap)
		alen = 0;
	memcpy(area, nsn, alen);
	area[alen] = 0;
	*subscriber = nsn + alen;
	if (!alen || strcmp(area, loc->area) != 0) {
		if (dest->area_length && nanp->other_free &&
		    listed(nanp->other, nanp->n_other, area, *subscriber))
			return RULE_OTHER_AREA_LOCAL;
		return RULE_LONG_DISTANCE;
	}
	if (loc->adv.always_area && !dest->area_length)
		return RULE_LONG_DISTANCE;
	if (dest->area_length) {
		bool hit = listed(nanp->own, nanp->n_own, area, *subscriber);

		if (nanp->own_mode == DP_OWN_AREA_CHARGEABLE_LISTED && hit)
			return RULE_LOCAL_CHARGEABLE;
		if (nanp->own_mode == DP_OWN_AREA_FREE_LISTED && !hit)
			return RULE_LOCAL_CHARGEABLE;
	}
	return RULE_SAME_AREA;
}

static const char *rule_text(const struct dp_country *home, const struct dp_country *dest,
			     enum dial_rule r)
{
	switch (r) {
	case RULE_SAME_AREA:
		return home->same_area;
	case RULE_LOCAL_CHARGEABLE:
		return home->local_chargeable[0] ? home->local_chargeable : home->long_distance;
	case RULE_OTHER_AREA_LOCAL:
		return home->other_area_local[0] ? home->other_area_local : home->same_area;
	case RULE_LONG_DISTANCE:
		return home->long_distance;
	case RULE_INTERNATIONAL:
	default:
		(void)dest;
		return home->international;
	}
}

static int substitute(const char *rule, const char *e, const char *f, const char *g, const char *n,
		      char *out, size_t cap)
{
	size_t len = 0;
	bool used_n = false;

	out[0] = 0;
	for (const char *p = rule; *p; p++) {
		const char *part = NULL;
		char one[2] = {*p, 0};

		switch (*p) {
		case 'E':
			part = e;
			break;
		case 'F':
			part = f;
			break;
		case 'G':
			part = g;
			break;
		case 'N':
			part = n;
			used_n = true;
			break;
		case 'I':
			part = ""; /* optional dialing code: none configured */
			break;
		default:
			part = one;
		}
		if (len + strlen(part) >= cap)
			return -EINVAL;
		memcpy(out + len, part, strlen(part) + 1);
		len += strlen(part);
	}
	/* a call-by-call provider goes in front when the rule has no N */
	if (!used_n && n && *n) {
		if (len + strlen(n) >= cap)
			return -EINVAL;
		memmove(out + strlen(n), out, len + 1);
		memcpy(out, n, strlen(n));
	}
	return 0;
}

static const char *access_for(const struct dial_ctx *x, enum dial_rule r)
{
	const struct dp_pbx *p = &x->loc->pbx;

	if (!p->enabled)
		return "";
	if (x->mode == UCS_DP_FORWARD)
		return p->access_forward;
	switch (r) {
	case RULE_SAME_AREA:
	case RULE_OTHER_AREA_LOCAL:
		return p->access_local;
	case RULE_LOCAL_CHARGEABLE:
	case RULE_LONG_DISTANCE:
		return p->access_national;
	default:
		return p->access_international;
	}
}

/* Steps 13 and 14 for an external canonical number: into dial (with access
 * code) and national (the number without access code, for projects
 * without X); postdial gets what auto re-dial splits off. */
static int dialable(struct dial_ctx *x, const char *canonical, char *dial, size_t cap,
		    char *national, size_t ncap)
{
	const struct dp_country *dest = dp_country_of(&x->m->data, canonical);
	const struct dp_country *home = x->loc->country;
	const char *subscriber, *nsn, *code;
	char area[16], g[DP_BUF], digits[DP_BUF];
	enum dial_rule r;
	int err;

	code = dest ? dest->code : "";
	nsn = canonical + 1 + strlen(code);
	r = pick_rule(x, dest, nsn, area, sizeof(area), &subscriber);
	dp_copy(g, sizeof(g), subscriber);
	if (x->loc->adv.auto_redial && dest && dest->max_length && strlen(nsn) > dest->max_length) {
		size_t keep = dest->max_length > strlen(area) ? dest->max_length - strlen(area) : 0;

		dp_copy(x->out->postdial, sizeof(x->out->postdial), g + keep);
		g[keep] = 0;
		dp_trace(x->trace, x->arg, "auto-redial", "longer than the country allows",
			 x->out->postdial);
	}
	err = substitute(rule_text(home, dest, r), code, area, g, x->lcr_prefix, digits,
			 sizeof(digits));
	if (!err)
		err = substitute(rule_text(home, dest, r), code, area, g, NULL, national, ncap);
	if (err)
		return err;
	dp_trace(x->trace, x->arg, "country-rule", rule_text(home, dest, r), digits);
	if (dp_cat(dial, cap, access_for(x, r), digits, NULL, NULL))
		return -EINVAL;
	dp_trace(x->trace, x->arg, "access-code", access_for(x, r)[0] ? access_for(x, r) : NULL,
		 dial);
	return 0;
}

/* ---- step 14: project ---- */

static int apply_project(struct dial_ctx *x, char *dial, size_t cap, const char *national,
			 bool internal)
{
	const struct dp_project *p = x->project;
	struct dp_project_out po;
	char access[DP_BUF] = "";
	int err;

	if (!p)
		return 0;
	dp_copy(x->out->project, sizeof(x->out->project), p->name);
	x->out->journal = p->mode != DP_PROJECT_DIAL;
	if (p->mode == DP_PROJECT_JOURNAL) {
		dp_copy(x->out->project_info, sizeof(x->out->project_info), p->parameter);
		return 0;
	}
	if (p->mode == DP_PROJECT_PRIVATE && !internal) {
		struct dp_project code = {.mode = DP_PROJECT_DIAL};

		/* the private access code replaces the normal one; it may hold
		 * PIN and user id placeholders like a project parameter */
		snprintf(code.parameter, sizeof(code.parameter), "%sN", x->loc->pbx.access_private);
		err = dp_project_expand(&code, national, x->req->pin, x->req->user_id, &po);
		if (err)
			return err;
		dp_copy(access, sizeof(access), po.dial);
		x->out->private_call = 1;
	}
	err = dp_project_expand(
		p,
		access[0] ? access : (internal || dp_project_wants_external(p) ? dial : national),
		x->req->pin, x->req->user_id, &po);
	if (err)
		return err;
	if (put(dial, cap, po.dial))
		return -EINVAL;
	if (po.postdial[0])
		dp_copy(x->out->postdial, sizeof(x->out->postdial), po.postdial);
	snprintf(x->out->project_info, sizeof(x->out->project_info), "%s",
		 po.journal[0] ? po.journal : p->parameter);
	dp_trace(x->trace, x->arg, "project", p->name, dial);
	return 0;
}

static const struct dp_project *find_project(const struct dp_location *loc, const char *name)
{
	for (size_t i = 0; i < loc->n_projects; i++)
		if (strcmp(loc->projects[i].name, name) == 0)
			return &loc->projects[i];
	return NULL;
}

/* ---- the pipeline ---- */

static int finish(struct dial_ctx *x, const char *dial)
{
	char tmp[DP_BUF];
	int r = dp_rules_apply(&x->loc->dial_final, dial, tmp, sizeof(tmp));

	if (r == -ENOSPC)
		return -EINVAL;
	if (r >= 0) {
		if (x->trace) {
			char name[48];

			snprintf(name, sizeof(name), "dialFinal rule %d", r + 1);
			dp_trace(x->trace, x->arg, "dial-final-rules", name, tmp);
		}
		dial = tmp;
	}
	if (put(x->out->dial, sizeof(x->out->dial), dial))
		return -EINVAL;
	dp_trace(x->trace, x->arg, "result", NULL, x->out->dial);
	return 0;
}

int dp_dial(const struct dp_model *m, const struct dp_location *loc, enum ucs_dp_dial_mode mode,
	    const struct ucs_dp_dial_request *req, struct ucs_dp_dial_result *out,
	    ucs_dp_trace_h *trace, void *arg)
{
	struct dial_ctx x = {m, loc, mode, req, out, trace, arg, NULL, NULL};
	char num[DP_BUF], tmp[DP_BUF], why[DP_BUF] = "", dial[DP_BUF], national[DP_BUF];
	const struct dp_emergency *em;
	const struct dp_special *sp;
	const struct dp_lcr_provider *prov;
	enum dp_class cls;
	char ext[DP_BUF];
	int err, r;

	if (!m || !loc || !req || !out || !req->number ||
	    (mode != UCS_DP_DIAL && mode != UCS_DP_FORWARD))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	dp_trace(trace, arg, "input", NULL, req->number);
	if (req->project && req->project[0] && mode == UCS_DP_DIAL) {
		x.project = find_project(loc, req->project);
		if (!x.project)
			return -EINVAL;
	}

	/* 1: "!" sends the rest untouched */
	if (req->number[0] == '!') {
		for (const char *p = req->number + 1; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				return -EINVAL; /* the PBX gets printable ASCII only */
		if (strlen(req->number) > UCS_DP_NUMBER_MAX || !req->number[1] ||
		    put(out->dial, sizeof(out->dial), req->number + 1))
			return -EINVAL;
		dp_trace(trace, arg, "result", "! bypasses the rules", out->dial);
		return 0;
	}
	err = dp_filter(req->number, num, sizeof(num), true, loc->country->international_prefix);
	if (err)
		return err;
	dp_trace(trace, arg, "filter", NULL, num);

	/* 2, 3 */
	vanity(loc, num);
	err = dp_filter(num, tmp, sizeof(tmp), false, NULL);
	if (err)
		return err;
	if (strcmp(tmp, num) != 0)
		dp_trace(trace, arg, "vanity", NULL, tmp);
	dp_copy(num, sizeof(num), tmp);
	em = emergency(loc, req->client, num);
	if (em) {
		out->special = 1;
		if (snprintf(out->dial, sizeof(out->dial), "%s%s", em->prefix, num) >=
		    (int)sizeof(out->dial))
			return -EINVAL;
		dp_trace(trace, arg, "emergency", em->name, out->dial);
		return 0;
	}

	/* 4 */
	sp = num[0] != '+' ? dp_special_of(&m->data, loc->country->code, num) : NULL;
	if (sp) {
		out->special = 1;
		/* the access code of a local call - or the forward code, forwarding */
		if (!set_canonical(&out->canonical.text, num, "") ||
		    dp_cat(dial, sizeof(dial), access_for(&x, RULE_SAME_AREA), num, NULL, NULL))
			return -EINVAL;
		dp_trace(trace, arg, "special-number", sp->name, dial);
		return finish(&x, dial);
	}

	/* 5, 6 */
	cls = num[0] == '+'
		      ? DP_EXTERNAL
		      : dp_classify(loc, num, tmp, sizeof(tmp), trace ? why : NULL, sizeof(why));
	if (cls == DP_CLASS_ERROR)
		return -EINVAL;
	if (cls == DP_INTERNAL) {
		bool ok;

		out->internal = 1;
		dp_trace(trace, arg, "internal", why, num);
		/* a rule that wrote the number in international form only names it */
		if (tmp[0] == '+')
			ok = set_canonical(&out->canonical.text, tmp, "");
		else if (dp_in_ddi(loc, num) && dp_ddi_prefix(loc, ext, sizeof(ext)))
			ok = set_canonical(&out->canonical.text, ext, num);
		else
			ok = set_canonical(&out->canonical.text, num, "");
		if (!ok)
			return -EINVAL;
		dp_copy(dial, sizeof(dial), tmp[0] == '+' ? num : tmp);
		err = apply_project(&x, dial, sizeof(dial), dial, true);
		return err ? err : finish(&x, dial);
	}
	if (cls == DP_EXTERNAL_RULE) {
		dp_trace(trace, arg, "external", why, tmp);
		dp_copy(num, sizeof(num), tmp);
	}

	/* 7 */
	dp_canonicalize(loc, num, tmp, sizeof(tmp));
	dp_copy(num, sizeof(num), tmp);
	if (!set_canonical(&out->canonical.text, num, ""))
		return -EINVAL; /* longer than any number can be */
	dp_trace(trace, arg, "international", NULL, num);
	if (num[0] != '+') { /* * or # inside: a service code for the PBX */
		dp_copy(dial, sizeof(dial), num);
		err = apply_project(&x, dial, sizeof(dial), dial, true);
		return err ? err : finish(&x, dial);
	}

	/* 9 */
	if (mode == UCS_DP_DIAL && loc->lcr.n_zones) {
		struct tm tm;
		time_t t = req->at ? (time_t)req->at : time(NULL);
		const struct dp_lcr_zone *zone = NULL;

		localtime_r(&t, &tm);
		prov = dp_lcr_select(&loc->lcr, num, &tm, &zone);
		if (prov) {
			x.lcr_prefix = prov->prefix;
			dp_trace(trace, arg, "least-cost-routing", zone ? zone->name : NULL,
				 prov->prefix);
		}
	}

	/* 10 */
	if (dp_ddi_extension(loc, num, ext, sizeof(ext))) {
		out->internal = 1;
		dp_trace(trace, arg, "own-ddi", "shortened to the extension", ext);
		dp_copy(num, sizeof(num), ext);
		x.lcr_prefix = NULL;
	}

	/* 11, 12 */
	r = dp_rules_apply(&loc->dial, num, tmp, sizeof(tmp));
	if (r == -ENOSPC)
		return -EINVAL;
	if (r >= 0) {
		const struct dp_rule *rule = &loc->dial.rules[r];

		dp_copy(num, sizeof(num), tmp);
		if (trace) {
			char name[DP_BUF];

			if (rule->generated)
				snprintf(name, sizeof(name), "abbreviation for location %s",
					 rule->origin ? rule->origin : "?");
			else
				snprintf(name, sizeof(name), "dial rule %d", r + 1);
			dp_trace(trace, arg, "dial-rules", name, num);
		}
		/* a generated abbreviation makes another location's number internal;
		 * an operator's rule that writes final digits (a tie line, a carrier
		 * code) says nothing about where the number is */
		if (num[0] != '+' && rule->generated)
			out->internal = 1;
	}
	if (num[0] != '+') { /* internal, or final digits a rule wrote */
		dp_copy(dial, sizeof(dial), num);
		err = apply_project(&x, dial, sizeof(dial), dial, true);
		return err ? err : finish(&x, dial);
	}

	/* 13, 14 */
	if (loc->adv.dial_e164) {
		dp_copy(dial, sizeof(dial), num);
		dp_copy(national, sizeof(national), num);
		dp_trace(trace, arg, "e164", "dialFormat e164", dial);
	} else {
		err = dialable(&x, num, dial, sizeof(dial), national, sizeof(national));
		if (err)
			return err;
	}
	err = apply_project(&x, dial, sizeof(dial), national, false);
	return err ? err : finish(&x, dial);
}
