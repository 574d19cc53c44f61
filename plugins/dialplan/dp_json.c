/*
 * plugins/dialplan/dp_json.c - the JSON form of a location (see dp_edit.h
 * and docs/plugins/dialplan.md, "Locations as JSON"): a loaded location to
 * its JSON object, and a JSON object to the <location> element the loader
 * reads.
 *
 * The two directions are written so that what one direction produces, the
 * other turns into the same model: every setting of struct dp_location has
 * a key, defaults are written out, the generated cross-location rules are
 * left out (the loader makes them again), and LCR assignments are written
 * as the runs of equal providers the loader's half-hour table holds.
 *
 * From JSON only the shape is checked here; each value goes into the XML
 * as it is (strings into attributes and text, integers in decimal, booleans
 * as true/false) so that the loader judges it - with one exception: a list
 * entry may not contain a comma, because in XML the list becomes one comma
 * separated attribute and the comma would split the entry silently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_edit.h"

#define JSON_LIST_MAX 10000 /* entries in any array of the object */
#define PATH_MAX_LEN  192

static const char *const rule_lists[] = {"external", "internal", "lineNumbers", "incoming",
					 "outgoing", "dial",	 "dialFinal",	NULL};
static const char *const project_modes[] = {"journal", "dial-and-journal", "dial", "private"};
static const char *const own_modes[] = {"all-free", "chargeable-listed", "free-listed"};
static const char *const lcr_days[] = {"weekday", "saturday", "sunday"};

/* ---- model -> JSON --------------------------------------------------------------------- */

/* Collects allocation failures so building reads straight through. */
struct jb {
	bool ok;
};

static void set(struct jb *b, json_t *o, const char *key, json_t *v)
{
	/* json_object_set_new takes v even when it fails */
	if (!v || json_object_set_new(o, key, v) != 0)
		b->ok = false;
}

static void add(struct jb *b, json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v) != 0)
		b->ok = false;
}

static json_t *obj(struct jb *b)
{
	json_t *o = json_object();

	if (!o)
		b->ok = false;
	return o;
}

static json_t *arr(struct jb *b)
{
	json_t *a = json_array();

	if (!a)
		b->ok = false;
	return a;
}

/* n fixed-width strings as an array. */
static json_t *str_list(struct jb *b, const char *base, size_t width, size_t n)
{
	json_t *a = arr(b);

	for (size_t i = 0; a && i < n; i++)
		add(b, a, json_string(base + i * width));
	return a;
}

static json_t *range(struct jb *b, const char *k1, long v1, const char *k2, long v2)
{
	json_t *o = obj(b);

	if (o) {
		set(b, o, k1, json_integer(v1));
		set(b, o, k2, json_integer(v2));
	}
	return o;
}

static json_t *pbx_json(struct jb *b, const struct dp_pbx *p)
{
	json_t *o = obj(b), *acc, *strip;

	if (!o)
		return NULL;
	set(b, o, "enabled", json_boolean(p->enabled));
	set(b, o, "lineType", json_string(p->line_type == DP_LINE_MSN ? "msn" : "ddi"));
	set(b, o, "baseNumber", json_string(p->base));
	set(b, o, "extensions",
	    p->has_range ? range(b, "from", p->ext_from, "to", p->ext_to) : json_null());
	set(b, o, "extensionPrefix",
	    p->has_prefix ? range(b, "low", p->prefix_low, "high", p->prefix_high) : json_null());
	/* with a range and no <internalLength> the loader takes the range's
	 * lengths; written out, they load the same */
	set(b, o, "internalLength",
	    p->len_min ? range(b, "min", p->len_min, "max", p->len_max) : json_null());
	acc = obj(b);
	if (acc) {
		set(b, acc, "local", json_string(p->access_local));
		set(b, acc, "national", json_string(p->access_national));
		set(b, acc, "international", json_string(p->access_international));
		set(b, acc, "private", json_string(p->access_private));
		set(b, acc, "forward", json_string(p->access_forward));
	}
	set(b, o, "access", acc);
	strip = obj(b);
	if (strip) {
		set(b, strip, "incoming",
		    str_list(b, p->strip_incoming[0], 16, p->n_strip_incoming));
		set(b, strip, "outgoing",
		    str_list(b, p->strip_outgoing[0], 16, p->n_strip_outgoing));
		set(b, strip, "forwarded",
		    str_list(b, p->strip_forwarded[0], 16, p->n_strip_forwarded));
		set(b, strip, "connectedIncoming",
		    str_list(b, p->strip_connected_in[0], 16, p->n_strip_connected_in));
		set(b, strip, "connectedOutgoing",
		    str_list(b, p->strip_connected_out[0], 16, p->n_strip_connected_out));
		set(b, strip, "ignoreConnectedId", json_boolean(p->ignore_connected));
	}
	set(b, o, "strip", strip);
	return o;
}

static json_t *rules_json(struct jb *b, const struct dp_location *loc)
{
	const struct dp_rule_list *lists[] = {&loc->external,  &loc->internal, &loc->line_numbers,
					      &loc->incoming,  &loc->outgoing, &loc->dial,
					      &loc->dial_final};
	json_t *o = obj(b);

	for (size_t i = 0; o && i < 7; i++) {
		json_t *a = json_array();

		for (size_t k = 0; a && k < lists[i]->count; k++) {
			const struct dp_rule *r = &lists[i]->rules[k];
			json_t *ro;

			if (r->generated)
				continue; /* made again from the other location on load */
			ro = obj(b);
			if (ro) {
				set(b, ro, "search", json_string(r->search));
				set(b, ro, "replace", json_string(r->replace ? r->replace : ""));
				set(b, ro, "regex", json_boolean(r->regex));
			}
			add(b, a, ro);
		}
		set(b, o, rule_lists[i], a);
	}
	return o;
}

static json_t *emergency_json(struct jb *b, const struct dp_location *loc)
{
	json_t *o = obj(b), *a = json_array();

	if (!o || !a) {
		b->ok = false;
		json_decref(a);
		return o;
	}
	set(b, o, "enabled", json_boolean(loc->emergency_enabled));
	for (size_t i = 0; i < loc->n_emergency; i++) {
		const struct dp_emergency *e = &loc->emergency[i];
		char addr[INET6_ADDRSTRLEN], subnet[INET6_ADDRSTRLEN + 8];
		json_t *eo = obj(b);

		if (!eo)
			continue;
		if (!inet_ntop(e->family, e->addr, addr, sizeof(addr)))
			addr[0] = '\0';
		snprintf(subnet, sizeof(subnet), "%s/%u", addr, e->prefix_len);
		set(b, eo, "name", json_string(e->name));
		set(b, eo, "subnet", json_string(subnet));
		set(b, eo, "numbers",
		    str_list(b, e->numbers[0], sizeof(e->numbers[0]), e->n_numbers));
		set(b, eo, "prefix", json_string(e->prefix));
		add(b, a, eo);
	}
	set(b, o, "entries", a);
	return o;
}

static json_t *area_rules_json(struct jb *b, const struct dp_area_rule *r, size_t n)
{
	json_t *a = arr(b);

	for (size_t i = 0; a && i < n; i++) {
		json_t *ro = obj(b);

		if (ro) {
			set(b, ro, "area", json_string(r[i].area));
			set(b, ro, "prefixes",
			    str_list(b, r[i].prefixes[0], sizeof(r[i].prefixes[0]),
				     r[i].n_prefixes));
		}
		add(b, a, ro);
	}
	return a;
}

static json_t *nanp_json(struct jb *b, const struct dp_nanp *n)
{
	json_t *o = obj(b);

	if (o) {
		set(b, o, "ownArea", json_string(own_modes[n->own_mode]));
		set(b, o, "otherFree", json_boolean(n->other_free));
		set(b, o, "own", area_rules_json(b, n->own, n->n_own));
		set(b, o, "other", area_rules_json(b, n->other, n->n_other));
	}
	return o;
}

static json_t *projects_json(struct jb *b, const struct dp_location *loc)
{
	json_t *a = arr(b);

	for (size_t i = 0; a && i < loc->n_projects; i++) {
		const struct dp_project *p = &loc->projects[i];
		json_t *po = obj(b);

		if (po) {
			set(b, po, "name", json_string(p->name));
			set(b, po, "parameter", json_string(p->parameter));
			set(b, po, "mode", json_string(project_modes[p->mode]));
		}
		add(b, a, po);
	}
	return a;
}

static void half_hour_text(int h, char *buf, size_t cap)
{
	snprintf(buf, cap, "%02d:%02d", h / 2, h % 2 ? 30 : 0);
}

static json_t *zone_json(struct jb *b, const struct dp_lcr *lcr, const struct dp_lcr_zone *z)
{
	json_t *o = obj(b), *assign = json_array();

	if (!o || !assign) {
		b->ok = false;
		json_decref(assign);
		return o;
	}
	set(b, o, "name", json_string(z->name));
	set(b, o, "prefixes",
	    str_list(b, z->prefixes ? z->prefixes[0] : "", DP_NUMBER_MAX, z->n_prefixes));
	/* the table holds a provider per half hour; each run of one provider
	 * is one assignment */
	for (int d = 0; d < 3; d++) {
		for (int h = 0; h < 48;) {
			int p = z->assign[d][h], start = h;
			char from[8], to[8];
			json_t *ao;

			if (p < 0 || (size_t)p >= lcr->n_providers) {
				h++;
				continue;
			}
			while (h < 48 && z->assign[d][h] == p)
				h++;
			half_hour_text(start, from, sizeof(from));
			half_hour_text(h, to, sizeof(to));
			ao = obj(b);
			if (ao) {
				set(b, ao, "day", json_string(lcr_days[d]));
				set(b, ao, "from", json_string(from));
				set(b, ao, "to", json_string(to));
				set(b, ao, "provider", json_string(lcr->providers[p].name));
			}
			add(b, assign, ao);
		}
	}
	set(b, o, "assign", assign);
	return o;
}

static json_t *lcr_json(struct jb *b, const struct dp_lcr *lcr)
{
	json_t *o = obj(b), *provs = json_array(), *zones = json_array();

	if (!o || !provs || !zones) {
		b->ok = false;
		json_decref(provs);
		json_decref(zones);
		return o;
	}
	for (size_t i = 0; i < lcr->n_providers; i++) {
		json_t *po = obj(b);

		if (po) {
			set(b, po, "name", json_string(lcr->providers[i].name));
			set(b, po, "prefix", json_string(lcr->providers[i].prefix));
		}
		add(b, provs, po);
	}
	for (size_t i = 0; i < lcr->n_zones; i++)
		add(b, zones, zone_json(b, lcr, &lcr->zones[i]));
	set(b, o, "providers", provs);
	set(b, o, "zones", zones);
	return o;
}

static json_t *advanced_json(struct jb *b, const struct dp_advanced *a)
{
	json_t *o = obj(b);

	if (o) {
		set(b, o, "dialFormat", json_string(a->dial_e164 ? "e164" : "rules"));
		set(b, o, "alwaysAreaCode", json_boolean(a->always_area));
		set(b, o, "autoRedial", json_boolean(a->auto_redial));
		set(b, o, "integrate", json_boolean(a->integrate));
		set(b, o, "detectOtherLocations", json_boolean(a->detect_other));
		set(b, o, "searchAcross", json_boolean(a->search_across));
		set(b, o, "abbreviate", json_boolean(a->abbreviate));
	}
	return o;
}

json_t *dp_json_from_location(const struct dp_location *loc, bool is_default)
{
	struct jb b = {true};
	json_t *o = obj(&b);

	if (!o)
		return NULL;
	set(&b, o, "name", json_string(loc->name));
	set(&b, o, "default", json_boolean(is_default));
	set(&b, o, "country", json_string(loc->country ? loc->country->code : ""));
	/* without the trunk prefix, as the loader keeps it ("the leading 0 is
	 * removed when the settings are saved") */
	set(&b, o, "areaCode", json_string(loc->area));
	set(&b, o, "pbx", pbx_json(&b, &loc->pbx));
	set(&b, o, "rules", rules_json(&b, loc));
	set(&b, o, "emergency", emergency_json(&b, loc));
	set(&b, o, "areaCodeRules", nanp_json(&b, &loc->nanp));
	set(&b, o, "vanity", str_list(&b, loc->vanity ? loc->vanity[0] : "", 16, loc->n_vanity));
	set(&b, o, "projects", projects_json(&b, loc));
	set(&b, o, "lcr", lcr_json(&b, &loc->lcr));
	set(&b, o, "advanced", advanced_json(&b, &loc->adv));
	if (!b.ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- JSON -> XML ----------------------------------------------------------------------- */

struct jx {
	xmlDoc *doc;
	struct dp_json_paths *paths;
	char *err;
	size_t errcap;
	int rc; /* the first error; later ones are not reported */
};

void dp_json_paths_free(struct dp_json_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static int fail(struct jx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct jx *x, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->rc)
		return x->rc;
	x->rc = -EINVAL;
	if (!x->errcap)
		return x->rc;
	n = snprintf(x->err, x->errcap, "%s: ", *path ? path : "document");
	if (n < 0 || (size_t)n >= x->errcap)
		return x->rc;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return x->rc;
}

static int nomem(struct jx *x)
{
	if (!x->rc) {
		x->rc = -ENOMEM;
		snprintf(x->err, x->errcap, "document: out of memory");
	}
	return x->rc;
}

/* Paths are for messages only: a path too long for the buffer is cut. */
static void path_key(char *buf, const char *parent, const char *key)
{
	int n = *parent ? snprintf(buf, PATH_MAX_LEN, "%s.%s", parent, key)
			: snprintf(buf, PATH_MAX_LEN, "%s", key);

	if (n < 0)
		buf[0] = '\0';
}

static void path_index(char *buf, const char *parent, size_t i)
{
	if (snprintf(buf, PATH_MAX_LEN, "%s[%zu]", parent, i) < 0)
		buf[0] = '\0';
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Unknown keys are errors: they would be lost silently. */
static int check_keys(struct jx *x, const json_t *o, const char *path, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		size_t i;
		char p[PATH_MAX_LEN];

		for (i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			path_key(p, path, key);
			return fail(x, p, "unknown key");
		}
	}
	return 0;
}

/* A string: no control characters (they cannot travel in XML 1.0), at most
 * DP_JSON_TEXT_MAX bytes; with list set, no comma either. */
static int check_string(struct jx *x, const json_t *v, const char *path, bool list)
{
	const char *s;

	if (!json_is_string(v))
		return fail(x, path, "expected a string, got %s", type_name(v));
	if (json_string_length(v) > DP_JSON_TEXT_MAX)
		return fail(x, path, "longer than %d bytes", DP_JSON_TEXT_MAX);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(x, path, "contains a NUL character");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return fail(x, path, "contains a control character");
		if (list && *c == ',')
			return fail(x, path, "\"%.64s\": a list entry cannot contain a comma", s);
	}
	return 0;
}

/* The value under key, or NULL when absent; required absent is an error. */
static const json_t *member(struct jx *x, const json_t *o, const char *key, const char *path,
			    bool required, char *p)
{
	const json_t *v = json_object_get(o, key);

	path_key(p, path, key);
	if (!v && required)
		fail(x, p, "required");
	return v;
}

static const json_t *member_of(struct jx *x, const json_t *o, const char *key, const char *path,
			       json_type type, bool nullable, char *p)
{
	const json_t *v = member(x, o, key, path, false, p);

	if (!v || (nullable && json_is_null(v)))
		return NULL;
	if (json_typeof(v) != type) {
		fail(x, p, "expected %s, got %s", type == JSON_OBJECT ? "an object" : "an array",
		     type_name(v));
		return NULL;
	}
	if (type == JSON_ARRAY && json_array_size(v) > JSON_LIST_MAX) {
		fail(x, p, "more than %d entries", JSON_LIST_MAX);
		return NULL;
	}
	return v;
}

static const json_t *object_at(struct jx *x, const json_t *o, const char *key, const char *path,
			       bool nullable, char *p)
{
	return member_of(x, o, key, path, JSON_OBJECT, nullable, p);
}

static const json_t *array_at(struct jx *x, const json_t *o, const char *key, const char *path,
			      char *p)
{
	return member_of(x, o, key, path, JSON_ARRAY, false, p);
}

/* The string under key (NULL when absent and not required). */
static const char *string_at(struct jx *x, const json_t *o, const char *key, const char *path,
			     bool required)
{
	char p[PATH_MAX_LEN];
	const json_t *v = member(x, o, key, path, required, p);

	if (!v || check_string(x, v, p, false))
		return NULL;
	return json_string_value(v);
}

/* A new element named name with the JSON path path, appended to parent. */
static xmlNode *elem(struct jx *x, xmlNode *parent, const char *name, const char *path)
{
	xmlNode *n;
	char *copy;
	char **v;

	if (x->rc)
		return NULL;
	if (x->paths->n == x->paths->cap) {
		size_t cap = x->paths->cap ? 2 * x->paths->cap : 64;

		v = realloc(x->paths->v, cap * sizeof(*v));
		if (!v) {
			nomem(x);
			return NULL;
		}
		x->paths->v = v;
		x->paths->cap = cap;
	}
	n = xmlNewDocNode(x->doc, NULL, BAD_CAST name, NULL);
	copy = strdup(path);
	if (!n || !copy) {
		xmlFreeNode(n);
		free(copy);
		nomem(x);
		return NULL;
	}
	if (parent)
		xmlAddChild(parent, n);
	x->paths->v[x->paths->n++] = copy;
	return n;
}

static void set_attr(struct jx *x, xmlNode *n, const char *name, const char *value)
{
	if (n && value && !xmlNewProp(n, BAD_CAST name, BAD_CAST value))
		nomem(x);
}

static void set_text(struct jx *x, xmlNode *n, const char *value)
{
	xmlNode *t;

	if (!n)
		return;
	t = xmlNewDocText(x->doc, BAD_CAST value);
	if (!t)
		nomem(x);
	else
		xmlAddChild(n, t);
}

/* An element holding the text of a string member, when it is not empty. */
static void text_elem(struct jx *x, xmlNode *parent, const json_t *o, const char *key,
		      const char *path, bool required)
{
	const char *v = string_at(x, o, key, path, required);
	char p[PATH_MAX_LEN];

	if (!v || !*v)
		return;
	path_key(p, path, key);
	set_text(x, elem(x, parent, key, p), v);
}

static void attr_string(struct jx *x, xmlNode *n, const json_t *o, const char *key,
			const char *path, bool required)
{
	set_attr(x, n, key, string_at(x, o, key, path, required));
}

static void attr_bool(struct jx *x, xmlNode *n, const json_t *o, const char *key, const char *path)
{
	char p[PATH_MAX_LEN];
	const json_t *v = member(x, o, key, path, false, p);

	if (!v)
		return;
	if (!json_is_boolean(v))
		fail(x, p, "expected true or false, got %s", type_name(v));
	else
		set_attr(x, n, key, json_is_true(v) ? "true" : "false");
}

static void attr_int(struct jx *x, xmlNode *n, const json_t *o, const char *key, const char *path)
{
	char p[PATH_MAX_LEN], buf[24];
	const json_t *v = member(x, o, key, path, true, p);

	if (!v)
		return;
	if (!json_is_integer(v)) {
		fail(x, p, "expected an integer, got %s", type_name(v));
		return;
	}
	snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	set_attr(x, n, key, buf);
}

/* An array of strings as one comma separated attribute. */
static void attr_list(struct jx *x, xmlNode *n, const json_t *o, const char *key, const char *path,
		      bool required)
{
	char p[PATH_MAX_LEN], ep[PATH_MAX_LEN];
	const json_t *a = required ? member(x, o, key, path, true, p) : NULL, *v;
	char *text = NULL;
	size_t len = 0;
	size_t i;

	if (!x->rc)
		a = array_at(x, o, key, path, p);
	if (!a)
		return;
	json_array_foreach(a, i, v)
	{
		char *t;
		size_t vl;

		path_index(ep, p, i);
		if (check_string(x, v, ep, true))
			break;
		vl = json_string_length(v);
		t = realloc(text, len + vl + 2);
		if (!t) {
			nomem(x);
			break;
		}
		text = t;
		if (len)
			text[len++] = ',';
		memcpy(text + len, json_string_value(v), vl);
		len += vl;
		text[len] = '\0';
	}
	if (!x->rc)
		set_attr(x, n, key, text ? text : "");
	free(text);
}

/* {"KEY1": int, "KEY2": int} as <NAME KEY1=".." KEY2=".."/>, null: none. */
static void range_elem(struct jx *x, xmlNode *parent, const json_t *o, const char *name,
		       const char *path, const char *k1, const char *k2)
{
	char p[PATH_MAX_LEN];
	const json_t *r = object_at(x, o, name, path, true, p);
	const char *const keys[] = {k1, k2, NULL};
	xmlNode *n;

	if (!r || check_keys(x, r, p, keys))
		return;
	n = elem(x, parent, name, p);
	attr_int(x, n, r, k1, p);
	attr_int(x, n, r, k2, p);
}

/* Fills the element n made from the object o (at path) of an array. */
typedef void (*fill_fn)(struct jx *x, xmlNode *n, const json_t *o, const char *path);

/* Each entry of the array a (at path; NULL: none) must be an object with
 * only the keys keys; each becomes an element name under parent, filled by
 * fill. Stops at the first error. */
static void object_elems(struct jx *x, xmlNode *parent, const json_t *a, const char *path,
			 const char *name, const char *const *keys, fill_fn fill)
{
	char ep[PATH_MAX_LEN];
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		if (x->rc)
			return;
		path_index(ep, path, i);
		if (!json_is_object(e)) {
			fail(x, ep, "expected an object, got %s", type_name(e));
			return;
		}
		if (check_keys(x, e, ep, keys))
			return;
		fill(x, elem(x, parent, name, ep), e, ep);
	}
}

/* Each entry of the array a (at path; NULL: none) must be a string; each
 * becomes a <prefix> element under parent. Stops at the first error. */
static void prefix_elems(struct jx *x, xmlNode *parent, const json_t *a, const char *path)
{
	char ep[PATH_MAX_LEN];
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		path_index(ep, path, i);
		if (check_string(x, v, ep, false))
			return;
		set_text(x, elem(x, parent, "prefix", ep), json_string_value(v));
	}
}

static void build_pbx(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const keys[] = {"enabled",	 "lineType",	    "baseNumber",
					   "extensions", "extensionPrefix", "internalLength",
					   "access",	 "strip",	    NULL};
	static const char *const acc_keys[] = {"local",	  "national", "international",
					       "private", "forward",  NULL};
	static const char *const strip_keys[] = {
		"incoming",	     "outgoing",	  "forwarded", "connectedIncoming",
		"connectedOutgoing", "ignoreConnectedId", NULL};
	char p[PATH_MAX_LEN];
	const json_t *acc, *strip;
	xmlNode *n;

	if (check_keys(x, o, path, keys))
		return;
	n = elem(x, loc, "pbx", path);
	attr_bool(x, n, o, "enabled", path);
	attr_string(x, n, o, "lineType", path, false);
	text_elem(x, n, o, "baseNumber", path, false);
	range_elem(x, n, o, "extensions", path, "from", "to");
	range_elem(x, n, o, "extensionPrefix", path, "low", "high");
	range_elem(x, n, o, "internalLength", path, "min", "max");
	acc = object_at(x, o, "access", path, false, p);
	if (acc && !check_keys(x, acc, p, acc_keys)) {
		xmlNode *a = elem(x, n, "access", p);

		for (size_t i = 0; acc_keys[i]; i++)
			attr_string(x, a, acc, acc_keys[i], p, false);
	}
	strip = object_at(x, o, "strip", path, false, p);
	if (strip && !check_keys(x, strip, p, strip_keys)) {
		xmlNode *s = elem(x, n, "strip", p);

		for (size_t i = 0; i < 5; i++)
			attr_list(x, s, strip, strip_keys[i], p, false);
		attr_bool(x, s, strip, "ignoreConnectedId", p);
	}
}

static void fill_rule(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	const char *replace;

	attr_string(x, n, o, "search", path, true);
	replace = string_at(x, o, "replace", path, false);
	if (replace && *replace)
		set_attr(x, n, "replace", replace);
	attr_bool(x, n, o, "regex", path);
}

static void build_rules(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const rule_keys[] = {"search", "replace", "regex", NULL};
	xmlNode *n;

	if (check_keys(x, o, path, rule_lists))
		return;
	n = elem(x, loc, "rules", path);
	for (size_t l = 0; rule_lists[l] && !x->rc; l++) {
		char p[PATH_MAX_LEN];
		const json_t *a = array_at(x, o, rule_lists[l], path, p);

		if (a)
			object_elems(x, elem(x, n, rule_lists[l], p), a, p, "rule", rule_keys,
				     fill_rule);
	}
}

static void fill_emergency_entry(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "name", path, false);
	attr_string(x, n, o, "subnet", path, true);
	attr_list(x, n, o, "numbers", path, true);
	attr_string(x, n, o, "prefix", path, false);
}

static void build_emergency(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const keys[] = {"enabled", "entries", NULL};
	static const char *const entry_keys[] = {"name", "subnet", "numbers", "prefix", NULL};
	char p[PATH_MAX_LEN];
	const json_t *a;
	xmlNode *n;

	if (check_keys(x, o, path, keys))
		return;
	n = elem(x, loc, "emergency", path);
	attr_bool(x, n, o, "enabled", path);
	a = array_at(x, o, "entries", path, p);
	object_elems(x, n, a, p, "entry", entry_keys, fill_emergency_entry);
}

/* An own-area rule may leave its area out (the location's own area code);
 * an other-area rule names one. */
static void fill_own_rule(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "area", path, false);
	attr_list(x, n, o, "prefixes", path, false);
}

static void fill_other_rule(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "area", path, true);
	attr_list(x, n, o, "prefixes", path, false);
}

static void build_area_rules(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const keys[] = {"ownArea", "otherFree", "own", "other", NULL};
	static const char *const rule_keys[] = {"area", "prefixes", NULL};
	char pown[PATH_MAX_LEN], pother[PATH_MAX_LEN], pf[PATH_MAX_LEN];
	const json_t *own, *other, *free_v;
	const char *mode;
	xmlNode *n;

	if (check_keys(x, o, path, keys))
		return;
	mode = string_at(x, o, "ownArea", path, false);
	free_v = member(x, o, "otherFree", path, false, pf);
	if (free_v && !json_is_boolean(free_v)) {
		fail(x, pf, "expected true or false, got %s", type_name(free_v));
		return;
	}
	own = array_at(x, o, "own", path, pown);
	other = array_at(x, o, "other", path, pother);
	if (x->rc)
		return;
	/* The settings of a location without NANP rules: no element, which
	 * is what every location outside country 1 needs. */
	if ((!mode || strcmp(mode, "all-free") == 0) && !json_is_true(free_v) &&
	    !json_array_size(own) && !json_array_size(other))
		return;
	n = elem(x, loc, "areaCodeRules", path);
	set_attr(x, n, "ownArea", mode);
	attr_bool(x, n, o, "otherFree", path);
	object_elems(x, n, own, pown, "own", rule_keys, fill_own_rule);
	object_elems(x, n, other, pother, "other", rule_keys, fill_other_rule);
}

static void build_vanity(struct jx *x, xmlNode *loc, const json_t *a, const char *path)
{
	if (json_array_size(a))
		prefix_elems(x, elem(x, loc, "vanity", path), a, path);
}

static void fill_project(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "name", path, true);
	attr_string(x, n, o, "parameter", path, false);
	attr_string(x, n, o, "mode", path, false);
}

static void build_projects(struct jx *x, xmlNode *loc, const json_t *a, const char *path)
{
	static const char *const keys[] = {"name", "parameter", "mode", NULL};

	if (json_array_size(a))
		object_elems(x, elem(x, loc, "projects", path), a, path, "project", keys,
			     fill_project);
}

static void fill_assign(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "day", path, true);
	attr_string(x, n, o, "from", path, false);
	attr_string(x, n, o, "to", path, false);
	attr_string(x, n, o, "provider", path, true);
}

static void fill_zone(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	static const char *const assign_keys[] = {"day", "from", "to", "provider", NULL};
	char p[PATH_MAX_LEN];
	const json_t *a;

	attr_string(x, n, o, "name", path, true);
	a = array_at(x, o, "prefixes", path, p);
	prefix_elems(x, n, a, p);
	if (x->rc)
		return;
	a = array_at(x, o, "assign", path, p);
	object_elems(x, n, a, p, "assign", assign_keys, fill_assign);
}

static void fill_provider(struct jx *x, xmlNode *n, const json_t *o, const char *path)
{
	attr_string(x, n, o, "name", path, true);
	attr_string(x, n, o, "prefix", path, true);
}

static void build_lcr(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const keys[] = {"providers", "zones", NULL};
	static const char *const prov_keys[] = {"name", "prefix", NULL};
	static const char *const zone_keys[] = {"name", "prefixes", "assign", NULL};
	char pp[PATH_MAX_LEN], pz[PATH_MAX_LEN];
	const json_t *provs, *zones;
	xmlNode *n;

	if (check_keys(x, o, path, keys))
		return;
	provs = array_at(x, o, "providers", path, pp);
	zones = array_at(x, o, "zones", path, pz);
	if (x->rc || (!json_array_size(provs) && !json_array_size(zones)))
		return;
	n = elem(x, loc, "lcr", path);
	object_elems(x, n, provs, pp, "provider", prov_keys, fill_provider);
	object_elems(x, n, zones, pz, "zone", zone_keys, fill_zone);
}

static void build_advanced(struct jx *x, xmlNode *loc, const json_t *o, const char *path)
{
	static const char *const keys[] = {
		"dialFormat",		"alwaysAreaCode", "autoRedial", "integrate",
		"detectOtherLocations", "searchAcross",	  "abbreviate", NULL};
	xmlNode *n;

	if (check_keys(x, o, path, keys))
		return;
	n = elem(x, loc, "advanced", path);
	attr_string(x, n, o, "dialFormat", path, false);
	for (size_t i = 1; keys[i]; i++)
		attr_bool(x, n, o, keys[i], path);
}

/* Whitespace so that every element starts a line of its own: the loader's
 * line numbers then name exactly one element each. */
static void indent_tree(struct jx *x, xmlNode *n, const char *indent)
{
	char inner[128], nl[130];
	xmlNode *c, *next, *t;
	bool elems = false;

	for (c = n->children; c; c = c->next)
		elems |= c->type == XML_ELEMENT_NODE;
	if (!elems || x->rc)
		return;
	snprintf(inner, sizeof(inner), "%s  ", indent);
	snprintf(nl, sizeof(nl), "\n%s", inner);
	for (c = n->children; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		t = xmlNewDocText(x->doc, BAD_CAST nl);
		if (!t || !xmlAddPrevSibling(c, t)) {
			xmlFreeNode(t);
			nomem(x);
			return;
		}
		indent_tree(x, c, inner);
	}
	snprintf(nl, sizeof(nl), "\n%s", indent);
	t = xmlNewDocText(x->doc, BAD_CAST nl);
	if (!t) {
		nomem(x);
		return;
	}
	xmlAddChild(n, t);
}

int dp_json_to_xml(const json_t *o, xmlDoc *doc, const char *indent, xmlNode **out,
		   struct dp_json_paths *paths, char *err, size_t errcap)
{
	static const char *const keys[] = {"name",   "default",	 "country",   "areaCode",
					   "pbx",    "rules",	 "emergency", "areaCodeRules",
					   "vanity", "projects", "lcr",	      "advanced",
					   NULL};
	struct jx x = {.doc = doc, .paths = paths, .err = err, .errcap = errcap};
	char p[PATH_MAX_LEN];
	const json_t *v;
	xmlNode *loc = NULL;

	*out = NULL;
	if (errcap)
		err[0] = '\0';
	if (!json_is_object(o)) {
		fail(&x, "", "expected a JSON object, got %s", type_name(o));
		goto out;
	}
	if (check_keys(&x, o, "", keys))
		goto out;
	v = member(&x, o, "default", "", false, p);
	if (v && !json_is_boolean(v)) {
		fail(&x, p, "expected true or false, got %s", type_name(v));
		goto out;
	}
	v = member(&x, o, "name", "", true, p);
	if (v && !check_string(&x, v, p, false) &&
	    (!json_string_length(v) || json_string_length(v) >= DP_NAME_MAX)) {
		fail(&x, p, "1 to %d bytes", DP_NAME_MAX - 1);
		goto out;
	}
	loc = elem(&x, NULL, "location", "");
	attr_string(&x, loc, o, "name", "", true);
	text_elem(&x, loc, o, "country", "", true);
	text_elem(&x, loc, o, "areaCode", "", false);
	if ((v = object_at(&x, o, "pbx", "", false, p)))
		build_pbx(&x, loc, v, p);
	if ((v = object_at(&x, o, "rules", "", false, p)))
		build_rules(&x, loc, v, p);
	if ((v = object_at(&x, o, "emergency", "", false, p)))
		build_emergency(&x, loc, v, p);
	if ((v = object_at(&x, o, "areaCodeRules", "", false, p)))
		build_area_rules(&x, loc, v, p);
	if ((v = array_at(&x, o, "vanity", "", p)))
		build_vanity(&x, loc, v, p);
	if ((v = array_at(&x, o, "projects", "", p)))
		build_projects(&x, loc, v, p);
	if ((v = object_at(&x, o, "lcr", "", false, p)))
		build_lcr(&x, loc, v, p);
	if ((v = object_at(&x, o, "advanced", "", false, p)))
		build_advanced(&x, loc, v, p);
	if (loc)
		indent_tree(&x, loc, indent);
out:
	if (x.rc) {
		xmlFreeNode(loc);
		dp_json_paths_free(paths);
		return x.rc;
	}
	*out = loc;
	return 0;
}
