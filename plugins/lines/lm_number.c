/*
 * plugins/lines/lm_number.c - numbers in and out, through ucs.dialplan.
 *
 * A driver reports numbers as its PBX gave them ("0891234", "120"); they
 * are formatted at the line's location into a canonical and a display
 * form, with the kind that decides the dialplan's path (caller, called,
 * connected, forwarded, the line's own). A number a user dials becomes the
 * PBX's dial string through the location's dialling rules. Without a
 * dialplan (not loaded) numbers pass as they are: a server without
 * locations still shows what the PBX said.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lm.h"

static const struct ucs_dialplan_api *dialplan(void)
{
	return lm_the() ? lm_the()->host->service->find(UCS_DIALPLAN_SERVICE, 1, NULL) : NULL;
}

void lm_number_format(struct lm *m, const char *location, int kind, const char *raw,
		      struct ucs_number *out, int *internal)
{
	const struct ucs_dialplan_api *dp = dialplan();
	struct ucs_dp_number n = {.size = sizeof(n)};

	(void)m;
	memset(out, 0, sizeof(*out));
	if (internal)
		*internal = 0;
	if (!raw || !*raw)
		return;
	if (dp &&
	    dp->format(location && *location ? location : NULL, (enum ucs_dp_kind)kind, raw, &n,
		       NULL, NULL) == 0 &&
	    n.canonical.text[0]) {
		out->canonical = n.canonical;
		snprintf(out->display, sizeof(out->display), "%s", n.display);
		if (internal)
			*internal = n.internal;
		return;
	}
	snprintf(out->canonical.text, sizeof(out->canonical.text), "%s", raw);
	snprintf(out->display, sizeof(out->display), "%s", raw);
}

void lm_line_location(struct lm *m, const struct lm_line *l, char *out, size_t cap)
{
	const char *g = l->group->conf.location;

	(void)m;
	if (strcmp(g, "<automatic>") == 0) {
		const struct ucs_dialplan_api *dp = dialplan();
		struct ucs_dp_number n = {.size = sizeof(n)};

		if (dp && dp->format(NULL, UCS_DP_LINE, l->desc.device.text, &n, NULL, NULL) == 0 &&
		    n.location[0]) {
			snprintf(out, cap, "%s", n.location);
			return;
		}
		snprintf(out, cap, "%s", l->group->desc.location);
	} else if (g[0] && strcmp(g, "<ignore>") != 0) {
		snprintf(out, cap, "%s", g);
	} else if (l->conf.location[0]) {
		snprintf(out, cap, "%s", l->conf.location);
	} else {
		snprintf(out, cap, "%s", l->group->desc.location);
	}
	/* "" is the default location: show its name */
	if (!out[0]) {
		const struct ucs_dialplan_api *dp = dialplan();

		if (!dp || dp->location(NULL, out, cap) != 0)
			out[0] = '\0';
	}
}

int lm_number_dial(struct lm *m, const struct lm_line *l, int mode, const char *number,
		   const char *project, char *out, size_t cap, char *why, size_t whycap)
{
	struct ucs_dp_dial_result r;

	return lm_number_dial_ex(m, l, mode, number, project, out, cap, why, whycap, &r);
}

int lm_number_dial_ex(struct lm *m, const struct lm_line *l, int mode, const char *number,
		      const char *project, char *out, size_t cap, char *why, size_t whycap,
		      struct ucs_dp_dial_result *res)
{
	const struct ucs_dialplan_api *dp = dialplan();
	struct ucs_dp_dial_request rq = {.size = sizeof(rq), .number = number, .project = project};
	struct ucs_dp_dial_result r = {.size = sizeof(r)};
	int err = 0;

	(void)m;
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	if (!number || !*number) {
		snprintf(why, whycap, "no number");
		return -EINVAL;
	}
	/* a feature code of the group goes out as configured */
	for (size_t i = 0; i < l->group->conf.n_features; i++)
		if (strcmp(l->group->conf.features[i].code, number) == 0) {
			snprintf(out, cap, "%s", number);
			return 0;
		}
	if (dp) {
		err = dp->dial(l->info.location[0] ? l->info.location : NULL,
			       (enum ucs_dp_dial_mode)mode, &rq, &r, NULL, NULL);
		if (err) {
			snprintf(why, whycap, "number %.64s cannot be dialled: %s", number,
				 err == -ENOENT ? "unknown location or project" : "not a number");
			return err == -ENOENT ? -ENOENT : -EINVAL;
		}
		*res = r;
		number = r.dial;
	} else if (number[0] == '!') {
		number++;
	}
	if (!lm_dial_valid(number) || strlen(number) >= cap) {
		snprintf(why, whycap, "number cannot be dialled");
		return -EINVAL;
	}
	snprintf(out, cap, "%s", number);
	return 0;
}
