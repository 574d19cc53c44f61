/*
 * plugins/lines/lm_config.c - the configuration section "lines": line
 * group properties (by group name), line properties (by line id), the
 * error-handling settings and the request timeout.
 *
 * The host has validated types and unknown keys; what is checked here is
 * what only the line manager knows: capability names in cti_off, the
 * pickup code template, internal numbers (unique: two lines with "111"
 * are an error that names both, as the manual says to use "111b"), and
 * duplicate group or line entries. A section that fails keeps the running
 * configuration on reload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static const char *const reinit_choices[] = {"reopen", "wait", NULL};

static const struct ucs_cfg_key feature_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"\"", "the name shown in the line menu"),
	UCS_CFG_STRING_KEY("code", "\"\"", "the digits dialled on the PBX"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key group_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"\"", "the group's name as its driver registered it"),
	UCS_CFG_BOOL_KEY("use", "true", "false: no line of the group is used"),
	UCS_CFG_BOOL_KEY("use_all_lines", "true",
			 "every line of the group is used (else only lines with use: true)"),
	UCS_CFG_BOOL_KEY("open_automatically", "false",
			 "unused lines are opened once someone shows interest in them"),
	UCS_CFG_BOOL_KEY("create_automatically", "false",
			 "ask the driver to create lines for numbers someone is interested in"),
	UCS_CFG_BOOL_KEY("journal_all", "false", "journal every call of the group's lines"),
	UCS_CFG_BOOL_KEY("set_numbers_automatically", "true",
			 "the lines' numbers come from the driver (else from the line's number)"),
	UCS_CFG_BOOL_KEY("driver_line_names", "false",
			 "show the driver's line names (else the internal number)"),
	UCS_CFG_STRING_KEY("location", "\"\"",
			   "\"\": the driver's; \"<automatic>\": by number; \"<ignore>\": per line;"
			   " or a location name"),
	UCS_CFG_LIST_KEY("cti_off", "[]", "capability names switched off for the group"),
	UCS_CFG_BOOL_KEY("remote_office", "true", "remote office allowed for the group's lines"),
	UCS_CFG_OBJECTS_KEY("feature_codes", "[]", feature_keys, "CTI feature codes {name, code}"),
	UCS_CFG_STRING_KEY("pickup_code", "\"\"",
			   "pickup feature code with <NUMBER>, used when the driver lacks pickup"),
	UCS_CFG_BOOL_KEY("always_pickup", "false",
			 "pick up at once instead of first redirecting the call"),
	UCS_CFG_BOOL_KEY("reverse_pickup_direction", "false",
			 "a picked-up call reported as outgoing is shown as incoming"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key redirect_keys[] = {
	UCS_CFG_STRING_KEY("to", "\"\"", "the number the call moves to"),
	UCS_CFG_INT_KEY("ring_s", "15", 1, 3600, "seconds the call rings before it moves on"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key line_keys[] = {
	UCS_CFG_STRING_KEY("id", "\"\"", "the driver's line id (\"pbx1/111\")"),
	UCS_CFG_BOOL_KEY("use", "true", "the line is opened and used"),
	UCS_CFG_BOOL_KEY("trunk", "false", "an outside (trunk) line"),
	UCS_CFG_BOOL_KEY("journal", "false", "journal every call of this line"),
	UCS_CFG_BOOL_KEY("private", "false", "calls on this line are private"),
	UCS_CFG_LIST_KEY("addresses", "[]", "further numbers (addresses) of the line"),
	UCS_CFG_STRING_KEY("internal", "\"\"",
			   "the internal number (\"111\", \"111b\"); \"\": the driver's device"),
	UCS_CFG_STRING_KEY("number", "\"\"",
			   "the line's number when the group does not set numbers automatically"),
	UCS_CFG_STRING_KEY("location", "\"\"", "the line's location (when its group leaves it)"),
	UCS_CFG_STRING_KEY("name", "\"\"", "the line's name"),
	UCS_CFG_OBJECTS_KEY("redirect", "[]", redirect_keys,
			    "server-side call redirection: ordered targets {to, ring_s}"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key error_keys[] = {
	UCS_CFG_CHOICE_KEY("on_reinit", "\"reopen\"", reinit_choices,
			   "when a driver re-initialises: reopen every line, or wait for it"),
	UCS_CFG_INT_KEY("retry_s", "60", 0, 86400,
			"retry lines that could not be opened every N seconds (0: never)"),
	UCS_CFG_INT_KEY("open_delay_ms", "0", 0, 60000, "pause after each line open"),
	UCS_CFG_END,
};

const struct ucs_cfg_key lm_config_keys[] = {
	UCS_CFG_OBJECTS_KEY("groups", "[]", group_keys, "line group properties, by name"),
	UCS_CFG_OBJECTS_KEY("lines", "[]", line_keys, "line properties, by line id"),
	UCS_CFG_OBJECT_KEY("error_handling", error_keys, "error handling"),
	UCS_CFG_INT_KEY("request_timeout_ms", "5000", 100, 600000,
			"how long a driver may take to answer a request"),
	UCS_CFG_END,
};

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static bool flag(const struct ucs_cfg_api *cfg, const struct ucs_cfg *o, const char *key)
{
	int v = 0;

	cfg->get_bool(o, key, &v);
	return v != 0;
}

static int64_t integer(const struct ucs_cfg_api *cfg, const struct ucs_cfg *o, const char *key)
{
	int64_t v = 0;

	cfg->get_int(o, key, &v);
	return v;
}

/* Logs a semantic error at the key's place. */
static void bad(struct lm *m, const struct ucs_cfg *o, const char *key, const char *what)
{
	char where[256];

	m->host->cfg->where(o, key, where, sizeof(where));
	LM_LOG(m, UCS_LOG_ERROR, "%s: lines: %s: %s", where, key ? key : "-", what);
}

static int read_group(struct lm *m, const struct ucs_cfg *o, struct lm_group_conf *g)
{
	const struct ucs_cfg_api *cfg = m->host->cfg;
	int n;
	char why[200];

	copy(g->name, sizeof(g->name), cfg->get_string(o, "name"));
	if (!g->name[0]) {
		bad(m, o, "name", "a group needs a name");
		return -EINVAL;
	}
	g->use = flag(cfg, o, "use");
	g->use_all_lines = flag(cfg, o, "use_all_lines");
	g->open_automatically = flag(cfg, o, "open_automatically");
	g->create_automatically = flag(cfg, o, "create_automatically");
	g->journal_all = flag(cfg, o, "journal_all");
	g->set_numbers_automatically = flag(cfg, o, "set_numbers_automatically");
	g->driver_line_names = flag(cfg, o, "driver_line_names");
	g->remote_office = flag(cfg, o, "remote_office");
	g->always_pickup = flag(cfg, o, "always_pickup");
	g->reverse_pickup_direction = flag(cfg, o, "reverse_pickup_direction");
	copy(g->location, sizeof(g->location), cfg->get_string(o, "location"));
	copy(g->pickup_code, sizeof(g->pickup_code), cfg->get_string(o, "pickup_code"));
	if (g->pickup_code[0] && lm_pickup_code_check(g->pickup_code)) {
		snprintf(why, sizeof(why),
			 "\"%.64s\" is no pickup code (digits, * and # with one <NUMBER>)",
			 g->pickup_code);
		bad(m, o, "pickup_code", why);
		return -EINVAL;
	}
	n = cfg->count(o, "cti_off");
	for (int i = 0; i < n; i++) {
		const char *name = cfg->list_string(o, "cti_off", (size_t)i);
		uint64_t bit = lm_cap_bit(name);

		if (!bit) {
			snprintf(why, sizeof(why), "unknown capability \"%.64s\"", name);
			bad(m, o, "cti_off", why);
			return -EINVAL;
		}
		g->cti_off |= bit;
	}
	n = cfg->count(o, "feature_codes");
	for (int i = 0; i < n; i++) {
		const struct ucs_cfg *f = cfg->list_object(o, "feature_codes", (size_t)i);
		struct lm_feature_code *fc;

		if (g->n_features == LM_MAX_FEATURES) {
			bad(m, o, "feature_codes", "more than 16 feature codes");
			return -EINVAL;
		}
		fc = &g->features[g->n_features++];
		copy(fc->name, sizeof(fc->name), cfg->get_string(f, "name"));
		copy(fc->code, sizeof(fc->code), cfg->get_string(f, "code"));
		if (!fc->name[0] || !lm_dial_valid(fc->code)) {
			bad(m, f, NULL, "a feature code needs a name and a code");
			return -EINVAL;
		}
	}
	return 0;
}

static int read_line(struct lm *m, const struct ucs_cfg *o, struct lm_line_conf *l)
{
	const struct ucs_cfg_api *cfg = m->host->cfg;
	char why[200];
	int n;

	copy(l->id, sizeof(l->id), cfg->get_string(o, "id"));
	if (!l->id[0]) {
		bad(m, o, "id", "a line needs an id");
		return -EINVAL;
	}
	l->use = flag(cfg, o, "use");
	l->trunk = flag(cfg, o, "trunk");
	l->journal = flag(cfg, o, "journal");
	l->private_line = flag(cfg, o, "private");
	copy(l->internal, sizeof(l->internal), cfg->get_string(o, "internal"));
	copy(l->number, sizeof(l->number), cfg->get_string(o, "number"));
	copy(l->location, sizeof(l->location), cfg->get_string(o, "location"));
	copy(l->name, sizeof(l->name), cfg->get_string(o, "name"));
	if (l->internal[0] && !lm_internal_valid(l->internal)) {
		snprintf(why, sizeof(why), "\"%.40s\" is no internal number (\"111\", \"111b\")",
			 l->internal);
		bad(m, o, "internal", why);
		return -EINVAL;
	}
	n = cfg->count(o, "addresses");
	for (int i = 0; i < n; i++) {
		if (l->n_addresses == LM_MAX_ADDRESSES) {
			bad(m, o, "addresses", "more than 8 addresses");
			return -EINVAL;
		}
		copy(l->addresses[l->n_addresses++], UCS_PHONE_MAX,
		     cfg->list_string(o, "addresses", (size_t)i));
	}
	n = cfg->count(o, "redirect");
	for (int i = 0; i < n; i++) {
		const struct ucs_cfg *r = cfg->list_object(o, "redirect", (size_t)i);
		struct lm_redirect_target *t;

		if (l->n_redirect == LM_MAX_REDIRECTS) {
			bad(m, o, "redirect", "more than 8 redirection targets");
			return -EINVAL;
		}
		t = &l->redirect[l->n_redirect++];
		copy(t->to, sizeof(t->to), cfg->get_string(r, "to"));
		t->ring_s = (uint32_t)integer(cfg, r, "ring_s");
		if (!lm_dial_valid(t->to)) {
			bad(m, r, "to", "a redirection target needs a number");
			return -EINVAL;
		}
	}
	return 0;
}

int lm_conf_read(struct lm *m, const struct ucs_cfg *sec, struct lm_conf *out)
{
	const struct ucs_cfg_api *cfg = m->host->cfg;
	const struct ucs_cfg *eh = cfg->object(sec, "error_handling");
	int ng = cfg->count(sec, "groups"), nl = cfg->count(sec, "lines");
	const char *reinit;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (ng < 0)
		ng = 0;
	if (nl < 0)
		nl = 0;
	out->groups = calloc((size_t)ng + 1, sizeof(*out->groups));
	out->lines = calloc((size_t)nl + 1, sizeof(*out->lines));
	if (!out->groups || !out->lines) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < ng; i++) {
		const struct ucs_cfg *o = cfg->list_object(sec, "groups", (size_t)i);

		err = read_group(m, o, &out->groups[out->n_groups]);
		if (err)
			goto out;
		if (lm_conf_group(out, out->groups[out->n_groups].name)) {
			bad(m, o, "name", "the group is configured twice");
			err = -EINVAL;
			goto out;
		}
		out->n_groups++;
	}
	for (int i = 0; i < nl; i++) {
		const struct ucs_cfg *o = cfg->list_object(sec, "lines", (size_t)i);
		struct lm_line_conf *l = &out->lines[out->n_lines];

		err = read_line(m, o, l);
		if (err)
			goto out;
		if (lm_conf_line(out, l->id)) {
			bad(m, o, "id", "the line is configured twice");
			err = -EINVAL;
			goto out;
		}
		for (size_t j = 0; l->internal[0] && j < out->n_lines; j++)
			if (strcmp(out->lines[j].internal, l->internal) == 0) {
				char why[400];

				snprintf(why, sizeof(why),
					 "internal number %.40s of line %.63s is also line %.63s's"
					 " (give one of them a suffix: \"%.40sb\")",
					 l->internal, l->id, out->lines[j].id, l->internal);
				bad(m, o, "internal", why);
				err = -EINVAL;
				goto out;
			}
		out->n_lines++;
	}
	reinit = cfg->get_string(eh, "on_reinit");
	out->on_reinit = reinit && strcmp(reinit, "wait") == 0 ? LM_REINIT_WAIT : LM_REINIT_REOPEN;
	out->retry_s = (uint32_t)integer(cfg, eh, "retry_s");
	out->open_delay_ms = (uint32_t)integer(cfg, eh, "open_delay_ms");
	out->request_timeout_ms = (uint32_t)integer(cfg, sec, "request_timeout_ms");
out:
	if (err)
		lm_conf_free(out);
	return err;
}

void lm_conf_free(struct lm_conf *c)
{
	free(c->groups);
	free(c->lines);
	memset(c, 0, sizeof(*c));
}

const struct lm_group_conf *lm_conf_group(const struct lm_conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_groups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

const struct lm_line_conf *lm_conf_line(const struct lm_conf *c, const char *id)
{
	for (size_t i = 0; i < c->n_lines; i++)
		if (strcmp(c->lines[i].id, id) == 0)
			return &c->lines[i];
	return NULL;
}
