/*
 * plugins/dialplan/dp_data.c - the reference data: countries.xml, cities.xml,
 * providers.xml and specialnumbers.xml, their loading and validation, the
 * lookups every pipeline makes in them, and dp_error().
 *
 * The files are small and read once per (re)load, so loading favours strict
 * checking over speed: every problem is reported with file and line, and
 * one bad entry fails the whole load rather than leave a country without
 * its dialing rules. Lookups run on every number formatted or dialled, so
 * they are allocation-free binary searches over arrays sorted at load time.
 *
 * The files are parsed from memory after a raw scan for "<!DOCTYPE": a
 * document type is never needed by these formats, and refusing it before
 * libxml2 sees the text is the simplest way to rule out entity expansion
 * attacks (billion laughs) and external entities altogether.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dp.h"

static void city_index_build(struct dp_data *d);

#define DP_FILE_MAX (64u * 1024 * 1024) /* far above any real reference file */

void dp_error(struct dp_errors *e, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->count++;
	if (e->report)
		e->report(e->arg, file, line, msg);
}

/* ---- parsing helpers ------------------------------------------------------------------ */

/* One file being loaded: its name for messages, the error sink, and the
 * error count at its start (to tell whether this file added any). */
struct load {
	const char *file;
	struct dp_errors *errs;
	struct dp_errors none; /* used when the caller passed no sink */
	const struct dp_data *d;
};

static int node_line(const xmlNode *n)
{
	return (int)xmlGetLineNo(n);
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static bool all_of(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static bool is_digits(const char *s)
{
	return *s && all_of(s, "0123456789");
}

/* Copies the attribute into buf; reports it missing, empty or too long. */
static int get_attr(struct load *l, const xmlNode *n, const char *attr, char *buf, size_t cap)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	int err = 0;

	if (!v || !*v) {
		dp_error(l->errs, l->file, node_line(n), "<%s>: missing attribute %s", n->name,
			 attr);
		err = -EINVAL;
		goto out;
	}
	if (strlen((const char *)v) >= cap) {
		dp_error(l->errs, l->file, node_line(n), "<%s>: %s \"%s\" is too long (max %zu)",
			 n->name, attr, v, cap - 1);
		err = -EINVAL;
		goto out;
	}
	strcpy(buf, (const char *)v);
out:
	xmlFree(v);
	return err;
}

/* Copies the text of a leaf element into buf. A leaf holds only text: an
 * element inside it is as wrong as an unknown one. */
static int get_text(struct load *l, const xmlNode *n, char *buf, size_t cap)
{
	xmlChar *v = NULL;
	int err = 0;

	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			dp_error(l->errs, l->file, node_line(c), "unknown element <%s> in <%s>",
				 c->name, n->name);
			err = -EINVAL;
			goto out;
		}
	}
	v = xmlNodeGetContent(n);
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	if (strlen((const char *)v) >= cap) {
		dp_error(l->errs, l->file, node_line(n), "<%s> is too long (max %zu bytes)",
			 n->name, cap - 1);
		err = -EINVAL;
		goto out;
	}
	strcpy(buf, (const char *)v);
out:
	xmlFree(v);
	return err;
}

/* Text between the elements of a container is a mistake (NOBLANKS already
 * dropped the indentation); comments and processing instructions are fine. */
static bool skip_node(struct load *l, const xmlNode *n)
{
	if (n->type == XML_ELEMENT_NODE)
		return false;
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
		dp_error(l->errs, l->file, node_line(n), "unexpected text in <%s>",
			 n->parent ? (const char *)n->parent->name : "?");
	return true;
}

static int get_number(struct load *l, const xmlNode *n, int max, uint8_t *out)
{
	char buf[8];
	int err = get_text(l, n, buf, sizeof(buf));

	if (err)
		return err;
	if (!is_digits(buf) || atoi(buf) > max) {
		dp_error(l->errs, l->file, node_line(n), "<%s>: \"%s\" is not a number 0-%d",
			 n->name, buf, max);
		return -EINVAL;
	}
	*out = (uint8_t)atoi(buf);
	return 0;
}

/* A dialing rule: E country code, F area code, G local number, I optional
 * dialing code, N optional long distance provider, and what is dialled
 * literally (digits, '*', '#'). */
static int get_rule(struct load *l, const xmlNode *n, char *buf, size_t cap)
{
	int err = get_text(l, n, buf, cap);

	if (err)
		return err;
	if (!*buf || !all_of(buf, "EFGIN0123456789*#")) {
		dp_error(l->errs, l->file, node_line(n),
			 "<%s>: bad rule \"%s\" (letters E F G I N, digits, * and # only)", n->name,
			 buf);
		return -EINVAL;
	}
	return 0;
}

/* The digits a rule dials before the letter: "00EFG" -> "00". */
static void digits_before(const char *rule, char letter, char *buf, size_t cap)
{
	size_t n = strspn(rule, "0123456789*#");

	if (rule[n] != letter || n >= cap)
		n = 0;
	memcpy(buf, rule, n);
	buf[n] = '\0';
}

/* ---- sorting and duplicates ----------------------------------------------------------- */

/* Entries are collected with their line so that a duplicate can name both;
 * the lines are dropped once the sorted array is checked. */
struct country_ent {
	struct dp_country v;
	int line;
};
struct city_ent {
	struct dp_city v;
	int line;
};
struct provider_ent {
	struct dp_provider v;
	int line;
};
struct special_ent {
	struct dp_special v;
	int line;
};

static int cmp_country_ent(const void *a, const void *b)
{
	const struct country_ent *x = a, *y = b;

	return strcmp(x->v.code, y->v.code);
}

static int cmp_city_ent(const void *a, const void *b)
{
	const struct city_ent *x = a, *y = b;

	return strcmp(x->v.prefix, y->v.prefix);
}

static int cmp_provider_ent(const void *a, const void *b)
{
	const struct provider_ent *x = a, *y = b;
	int r = strcmp(x->v.country, y->v.country);

	return r ? r : strcmp(x->v.pattern, y->v.pattern);
}

static int cmp_special_ent(const void *a, const void *b)
{
	const struct special_ent *x = a, *y = b;
	int r = strcmp(x->v.country, y->v.country);

	return r ? r : strcmp(x->v.number, y->v.number);
}

/* Grows *arr (of elements of size sz) to hold one more; returns the slot. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t sz)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(*arr, ncap * sz);

		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	return (char *)*arr + (*n)++ * sz;
}

/* ---- the four files ------------------------------------------------------------------- */

static int check_country_ref(struct load *l, const xmlNode *n, const char *country)
{
	if (!l->d->countries)
		return 0; /* countries.xml failed: its errors say enough */
	if (!dp_country_by_code(l->d, country)) {
		dp_error(l->errs, l->file, node_line(n), "<%s>: unknown countryID \"%s\"", n->name,
			 country);
		return -EINVAL;
	}
	return 0;
}

static int parse_country(struct load *l, const xmlNode *node, struct dp_country *c)
{
	bool code = false, name = false, same = false, lng = false, intl = false;
	bool np = false, ip = false;
	char id[8];
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->max_length = 15;
	if (get_attr(l, node, "ID", id, sizeof(id)))
		err = -EINVAL;
	for (const xmlNode *n = node->children; n; n = n->next) {
		int e;

		if (skip_node(l, n))
			continue;
		if (is_element(n, "countryCode"))
			e = get_text(l, n, c->code, sizeof(c->code)), code = !e;
		else if (is_element(n, "name"))
			e = get_text(l, n, c->name, sizeof(c->name)), name = !e;
		else if (is_element(n, "SameAreaRule"))
			e = get_rule(l, n, c->same_area, sizeof(c->same_area)), same = !e;
		else if (is_element(n, "LongDistanceRule"))
			e = get_rule(l, n, c->long_distance, sizeof(c->long_distance)), lng = !e;
		else if (is_element(n, "InternationalRule"))
			e = get_rule(l, n, c->international, sizeof(c->international)), intl = !e;
		else if (is_element(n, "LocalChargeableRule"))
			e = get_rule(l, n, c->local_chargeable, sizeof(c->local_chargeable));
		else if (is_element(n, "OtherAreaLocalRule"))
			e = get_rule(l, n, c->other_area_local, sizeof(c->other_area_local));
		else if (is_element(n, "nationalPrefix"))
			e = get_text(l, n, c->national_prefix, sizeof(c->national_prefix)), np = !e;
		else if (is_element(n, "internationalPrefix"))
			e = get_text(l, n, c->international_prefix,
				     sizeof(c->international_prefix)),
			ip = !e;
		else if (is_element(n, "maxLength"))
			e = get_number(l, n, DP_NUMBER_MAX - 4, &c->max_length);
		else if (is_element(n, "nsnLength"))
			e = get_number(l, n, DP_NUMBER_MAX - 4, &c->nsn_length);
		else if (is_element(n, "areaLength"))
			e = get_number(l, n, DP_NUMBER_MAX - 4, &c->area_length);
		else {
			dp_error(l->errs, l->file, node_line(n),
				 "unknown element <%s> in <country>", n->name);
			e = -EINVAL;
		}
		if (e)
			err = -EINVAL;
	}
	if (!code || !name || !same || !lng || !intl) {
		if (!err)
			dp_error(l->errs, l->file, node_line(node), "<country>: missing <%s>",
				 !code	 ? "countryCode"
				 : !name ? "name"
				 : !same ? "SameAreaRule"
				 : !lng	 ? "LongDistanceRule"
					 : "InternationalRule");
		return -EINVAL;
	}
	if (err)
		return err;
	if (!is_digits(c->code) || strcmp(c->code, id) != 0) {
		dp_error(l->errs, l->file, node_line(node),
			 "<country>: country code \"%s\" must be 1-3 digits and equal ID \"%s\"",
			 c->code, id);
		return -EINVAL;
	}
	if ((np && *c->national_prefix && !all_of(c->national_prefix, "0123456789*#")) ||
	    (ip && *c->international_prefix && !all_of(c->international_prefix, "0123456789*#"))) {
		dp_error(l->errs, l->file, node_line(node), "<country %s>: prefixes are digits",
			 c->code);
		return -EINVAL;
	}
	if ((c->nsn_length && c->nsn_length > c->max_length) || c->max_length == 0 ||
	    (c->area_length && c->area_length >= c->max_length)) {
		dp_error(l->errs, l->file, node_line(node),
			 "<country %s>: inconsistent lengths (max %u, nsn %u, area %u)", c->code,
			 c->max_length, c->nsn_length, c->area_length);
		return -EINVAL;
	}
	/* The reference product's files have only the rules: the prefixes are
	 * what the rules dial before the area code and the country code. */
	if (!np)
		digits_before(c->long_distance, 'F', c->national_prefix,
			      sizeof(c->national_prefix));
	if (!ip)
		digits_before(c->international, 'E', c->international_prefix,
			      sizeof(c->international_prefix));
	return 0;
}

/* Reads <name> and nothing else from an entry of cities, providers or
 * special numbers. */
static int parse_named(struct load *l, const xmlNode *node, char *name, size_t cap)
{
	bool have = false;
	int err = 0;

	for (const xmlNode *n = node->children; n; n = n->next) {
		if (skip_node(l, n))
			continue;
		if (is_element(n, "name") && !have) {
			if (get_text(l, n, name, cap))
				err = -EINVAL;
			have = true;
			continue;
		}
		dp_error(l->errs, l->file, node_line(n), "%s element <%s> in <%s>",
			 have && is_element(n, "name") ? "duplicate" : "unknown", n->name,
			 node->name);
		err = -EINVAL;
	}
	if (!have && !err) {
		dp_error(l->errs, l->file, node_line(node), "<%s>: missing <name>", node->name);
		err = -EINVAL;
	}
	return err;
}

static int parse_city(struct load *l, const xmlNode *node, struct dp_city *c)
{
	char country[4];
	int err = 0;

	memset(c, 0, sizeof(*c));
	if (get_attr(l, node, "ID", c->prefix, sizeof(c->prefix)) ||
	    get_attr(l, node, "countryID", country, sizeof(country)))
		err = -EINVAL;
	if (parse_named(l, node, c->name, sizeof(c->name)))
		err = -EINVAL;
	if (err)
		return err;
	if (c->prefix[0] != '+' || !is_digits(c->prefix + 1)) {
		dp_error(l->errs, l->file, node_line(node), "<city>: ID \"%s\" is not + and digits",
			 c->prefix);
		return -EINVAL;
	}
	if (check_country_ref(l, node, country))
		return -EINVAL;
	if (strncmp(c->prefix + 1, country, strlen(country)) != 0 ||
	    strlen(c->prefix + 1) <= strlen(country)) {
		dp_error(l->errs, l->file, node_line(node),
			 "<city>: ID \"%s\" does not start with +%s and an area code", c->prefix,
			 country);
		return -EINVAL;
	}
	return 0;
}

/* A providers.xml or specialnumbers.xml entry: ID (made of `allowed`),
 * countryID and <name>, the same shape in both files. */
static int parse_id_entry(struct load *l, const xmlNode *node, const char *element, char *id,
			  size_t id_cap, const char *allowed, const char *allowed_text,
			  char *country, size_t country_cap, char *name, size_t name_cap)
{
	int err = 0;

	if (get_attr(l, node, "ID", id, id_cap) ||
	    get_attr(l, node, "countryID", country, country_cap))
		err = -EINVAL;
	if (parse_named(l, node, name, name_cap))
		err = -EINVAL;
	if (err)
		return err;
	if (!all_of(id, allowed)) {
		dp_error(l->errs, l->file, node_line(node), "<%s>: ID \"%s\" may hold only %s",
			 element, id, allowed_text);
		return -EINVAL;
	}
	return check_country_ref(l, node, country);
}

static int parse_provider(struct load *l, const xmlNode *node, struct dp_provider *p)
{
	memset(p, 0, sizeof(*p));
	return parse_id_entry(l, node, "provider", p->pattern, sizeof(p->pattern), "0123456789?",
			      "digits and '?'", p->country, sizeof(p->country), p->name,
			      sizeof(p->name));
}

static int parse_special(struct load *l, const xmlNode *node, struct dp_special *s)
{
	memset(s, 0, sizeof(*s));
	return parse_id_entry(l, node, "specialnumber", s->number, sizeof(s->number),
			      "0123456789*#", "digits, * and #", s->country, sizeof(s->country),
			      s->name, sizeof(s->name));
}

enum kind { K_COUNTRIES, K_CITIES, K_PROVIDERS, K_SPECIALS };

static const struct {
	const char *file, *root, *entry;
	size_t ent_size;
	int (*cmp)(const void *, const void *);
} kinds[] = {
	[K_COUNTRIES] = {"countries.xml", "countries", "country", sizeof(struct country_ent),
			 cmp_country_ent},
	[K_CITIES] = {"cities.xml", "cities", "city", sizeof(struct city_ent), cmp_city_ent},
	[K_PROVIDERS] = {"providers.xml", "providers", "provider", sizeof(struct provider_ent),
			 cmp_provider_ent},
	[K_SPECIALS] = {"specialnumbers.xml", "specialnumbers", "specialnumber",
			sizeof(struct special_ent), cmp_special_ent},
};

static int parse_entry(struct load *l, enum kind k, const xmlNode *n, void *ent)
{
	switch (k) {
	case K_COUNTRIES:
		return parse_country(l, n, &((struct country_ent *)ent)->v);
	case K_CITIES:
		return parse_city(l, n, &((struct city_ent *)ent)->v);
	case K_PROVIDERS:
		return parse_provider(l, n, &((struct provider_ent *)ent)->v);
	case K_SPECIALS:
		return parse_special(l, n, &((struct special_ent *)ent)->v);
	}
	return -EINVAL;
}

/* The line of entry i of a sorted entry array (every *_ent ends in line). */
static int ent_line(enum kind k, const void *ents, size_t i)
{
	const char *e = (const char *)ents + i * kinds[k].ent_size;

	switch (k) {
	case K_COUNTRIES:
		return ((const struct country_ent *)e)->line;
	case K_CITIES:
		return ((const struct city_ent *)e)->line;
	case K_PROVIDERS:
		return ((const struct provider_ent *)e)->line;
	case K_SPECIALS:
		return ((const struct special_ent *)e)->line;
	}
	return 0;
}

static void set_line(enum kind k, void *ent, int line)
{
	switch (k) {
	case K_COUNTRIES:
		((struct country_ent *)ent)->line = line;
		break;
	case K_CITIES:
		((struct city_ent *)ent)->line = line;
		break;
	case K_PROVIDERS:
		((struct provider_ent *)ent)->line = line;
		break;
	case K_SPECIALS:
		((struct special_ent *)ent)->line = line;
		break;
	}
}

/* Moves the values out of the sorted entries into d, replacing what d held
 * of that kind. */
static int install(struct dp_data *d, enum kind k, const void *ents, size_t n)
{
	size_t vsz = k == K_COUNTRIES	? sizeof(struct dp_country)
		     : k == K_CITIES	? sizeof(struct dp_city)
		     : k == K_PROVIDERS ? sizeof(struct dp_provider)
					: sizeof(struct dp_special);
	char *arr = calloc(n ? n : 1, vsz);

	if (!arr)
		return -ENOMEM;
	/* Each *_ent starts with its value, so the value is at offset 0. */
	for (size_t i = 0; i < n; i++)
		memcpy(arr + i * vsz, (const char *)ents + i * kinds[k].ent_size, vsz);
	switch (k) {
	case K_COUNTRIES:
		free(d->countries);
		d->countries = (struct dp_country *)arr, d->n_countries = n;
		break;
	case K_CITIES:
		free(d->cities);
		d->cities = (struct dp_city *)arr, d->n_cities = n;
		city_index_build(d);
		break;
	case K_PROVIDERS:
		free(d->providers);
		d->providers = (struct dp_provider *)arr, d->n_providers = n;
		break;
	case K_SPECIALS:
		free(d->specials);
		d->specials = (struct dp_special *)arr, d->n_specials = n;
		break;
	}
	return 0;
}

/* Line (1-based) of offset off in buf. */
static int line_at(const char *buf, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static const char *find(const char *buf, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (buf[i] == needle[0] && memcmp(buf + i, needle, nl) == 0)
			return buf + i;
	return NULL;
}

static int load_kind(struct dp_data *d, enum kind k, const char *file, const char *buf, size_t len,
		     struct dp_errors *errs)
{
	struct load l = {.file = file, .errs = errs, .d = d};
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	void *ents = NULL;
	size_t n = 0, cap = 0;
	const char *dt;
	int before, err = 0;

	if (!l.errs)
		l.errs = &l.none;
	before = l.errs->count;
	if ((size_t)k >= sizeof(kinds) / sizeof(kinds[0]))
		return -EINVAL;
	dt = find(buf, len, "<!DOCTYPE");
	if (dt) {
		const char *ent = find(dt, len - (size_t)(dt - buf), "<!ENTITY");
		const char *at = ent ? ent : dt;

		dp_error(l.errs, file, line_at(buf, (size_t)(at - buf)),
			 "%s not allowed (no DTD or entity declarations in reference data)",
			 ent ? "<!ENTITY" : "<!DOCTYPE");
		err = -EINVAL;
		goto out;
	}
	if (len > DP_FILE_MAX || len > (size_t)INT32_MAX) {
		dp_error(l.errs, file, 0, "file too large");
		err = -EINVAL;
		goto out;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		err = -ENOMEM;
		goto out;
	}
	/* No XML_PARSE_NOENT (entities are never substituted), no DTD loading,
	 * no network; libxml2's own size limits stay on (no XML_PARSE_HUGE). */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, file, NULL,
				XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *xe = xmlCtxtGetLastError(ctxt);
		char msg[256] = "not well-formed XML";

		if (xe && xe->message) {
			snprintf(msg, sizeof(msg), "%s", xe->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		dp_error(l.errs, file, xe ? xe->line : 0, "XML: %s", msg);
		err = -EINVAL;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_element(root, kinds[k].root)) {
		dp_error(l.errs, file, root ? node_line(root) : 0, "root element must be <%s>",
			 kinds[k].root);
		err = -EINVAL;
		goto out;
	}
	for (const xmlNode *c = root->children; c; c = c->next) {
		void *ent;

		if (skip_node(&l, c))
			continue;
		if (!is_element(c, kinds[k].entry)) {
			dp_error(l.errs, file, node_line(c), "unknown element <%s> in <%s>",
				 c->name, kinds[k].root);
			continue;
		}
		ent = grow(&ents, &n, &cap, kinds[k].ent_size);
		if (!ent) {
			err = -ENOMEM;
			goto out;
		}
		memset(ent, 0, kinds[k].ent_size);
		if (parse_entry(&l, k, c, ent)) {
			n--; /* reported; keep checking the rest */
			continue;
		}
		set_line(k, ent, node_line(c));
	}
	if (n)
		qsort(ents, n, kinds[k].ent_size, kinds[k].cmp);
	for (size_t i = 1; i < n; i++) {
		const char *a = (const char *)ents + (i - 1) * kinds[k].ent_size;
		const char *b = a + kinds[k].ent_size;

		if (kinds[k].cmp(a, b) == 0)
			dp_error(l.errs, file, ent_line(k, ents, i),
				 "duplicate <%s> (first at line %d)", kinds[k].entry,
				 ent_line(k, ents, i - 1));
	}
	if (l.errs->count != before) {
		err = -EINVAL;
		goto out;
	}
	err = install(d, k, ents, n);
out:
	free(ents);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	if (!err && l.errs->count != before)
		err = -EINVAL;
	return err;
}

static int kind_of(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (name && strcmp(kinds[i].file, name) == 0)
			return (int)i;
	return -1;
}

int dp_data_load_memory(struct dp_data *d, const char *name, const char *buf, size_t len,
			struct dp_errors *errs)
{
	int k = kind_of(name);

	if (k < 0) {
		dp_error(errs, name, 0, "not a reference data file");
		return -EINVAL;
	}
	return load_kind(d, (enum kind)k, name, buf, len, errs);
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		err = -EIO;
		goto out;
	}
	if ((unsigned long)n > DP_FILE_MAX) {
		err = -EFBIG;
		goto out;
	}
	p = malloc((size_t)n + 1);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		err = -EIO;
		goto out;
	}
	p[n] = '\0';
	*buf = p;
	*len = (size_t)n;
	p = NULL;
out:
	free(p);
	fclose(f);
	return err;
}

int dp_data_load(struct dp_data *d, const char *shipped_dir, const char *override_dir,
		 struct dp_errors *errs)
{
	struct dp_errors none = {0};
	int before, err = 0;

	if (!errs)
		errs = &none;
	before = errs->count;
	memset(d, 0, sizeof(*d));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char path[4096];
		struct stat st;
		char *buf = NULL;
		size_t len = 0;
		int rc;

		path[0] = '\0';
		if (override_dir && *override_dir)
			snprintf(path, sizeof(path), "%s/%s", override_dir, kinds[k].file);
		if (!*path || stat(path, &st) != 0)
			snprintf(path, sizeof(path), "%s/%s", shipped_dir ? shipped_dir : ".",
				 kinds[k].file);
		rc = read_file(path, &buf, &len);
		if (rc) {
			dp_error(errs, path, 0, "cannot read: %s", strerror(-rc));
			continue;
		}
		rc = load_kind(d, (enum kind)k, path, buf, len, errs);
		free(buf);
		if (rc == -ENOMEM) {
			err = rc;
			goto out;
		}
	}
	if (errs->count != before)
		err = -EINVAL;
out:
	if (err)
		dp_data_free(d);
	return err;
}

void dp_data_free(struct dp_data *d)
{
	if (!d)
		return;
	free(d->city_index.keys);
	free(d->city_index.cities);
	free(d->countries);
	free(d->cities);
	free(d->providers);
	free(d->specials);
	memset(d, 0, sizeof(*d));
}

/* ---- area-code index ----------------------------------------------------------------- */

/* "+4989" -> key of its digits and length; 0 when it is not "+" and 1 to 18 digits. */
static uint64_t city_key(const char *s, size_t len)
{
	uint64_t v = 0;

	if (len < 1 || len > 18)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v * 32 + len;
}

static size_t city_slot(uint64_t key, size_t mask)
{
	key ^= key >> 31;
	key *= 0x9e3779b97f4a7c15ull;
	return (size_t)(key >> 17) & mask;
}

/* Rebuilds the index of d->cities. Without memory the index stays empty and
 * dp_city_of falls back to the sorted array (slower, same answers). */
static void city_index_build(struct dp_data *d)
{
	struct dp_city_index *ix = &d->city_index;
	size_t size = 16;

	free(ix->keys);
	free(ix->cities);
	memset(ix, 0, sizeof(*ix));
	while (size < d->n_cities * 2)
		size *= 2;
	ix->keys = calloc(size, sizeof(*ix->keys));
	ix->cities = calloc(size, sizeof(*ix->cities));
	if (!ix->keys || !ix->cities) {
		free(ix->keys);
		free(ix->cities);
		ix->keys = NULL;
		ix->cities = NULL;
		return;
	}
	ix->mask = size - 1;
	ix->min_len = UINT8_MAX;
	for (size_t i = 0; i < d->n_cities; i++) {
		size_t len = strlen(d->cities[i].prefix + 1);
		uint64_t key = city_key(d->cities[i].prefix + 1, len);
		size_t slot;

		if (!key)
			continue;
		for (slot = city_slot(key, ix->mask); ix->keys[slot] && ix->keys[slot] != key;
		     slot = (slot + 1) & ix->mask)
			;
		ix->keys[slot] = key;
		ix->cities[slot] = (uint32_t)i;
		if (len < ix->min_len)
			ix->min_len = (uint8_t)len;
		if (len > ix->max_len)
			ix->max_len = (uint8_t)len;
	}
}

/* ---- lookups -------------------------------------------------------------------------- */

/* strcmp order of the first klen characters of key against s, where the
 * key is shorter than any s it is a proper prefix of. */
static int cmp_prefix(const char *key, size_t klen, const char *s)
{
	int r = strncmp(key, s, klen);

	if (r)
		return r;
	return s[klen] ? -1 : 0;
}

/* The fallback without the area-code index: a prefix of a given length. */
struct city_key {
	const char *canonical;
	size_t len;
};

static int city_cmp(const void *key, const void *elem)
{
	const struct city_key *k = key;

	return cmp_prefix(k->canonical, k->len, ((const struct dp_city *)elem)->prefix);
}

/* Exact lookups in the sorted arrays go through bsearch; each comparator
 * takes its key first, as bsearch passes it. */
static int country_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct dp_country *)elem)->code);
}

const struct dp_country *dp_country_by_code(const struct dp_data *d, const char *code)
{
	if (!d->n_countries)
		return NULL;
	return bsearch(code, d->countries, d->n_countries, sizeof(*d->countries), country_cmp);
}

const struct dp_country *dp_country_of(const struct dp_data *d, const char *canonical)
{
	const char *p = canonical[0] == '+' ? canonical + 1 : canonical;

	/* ITU calling codes are a prefix code: at most one length matches. */
	for (size_t n = 1; n <= 3 && p[n - 1] >= '0' && p[n - 1] <= '9'; n++) {
		char code[4];
		const struct dp_country *c;

		memcpy(code, p, n);
		code[n] = '\0';
		c = dp_country_by_code(d, code);
		if (c)
			return c;
	}
	return NULL;
}

const struct dp_city *dp_city_of(const struct dp_data *d, const char *canonical)
{
	const struct dp_city_index *ix = &d->city_index;
	size_t len = strnlen(canonical, sizeof(d->cities[0].prefix));

	if (canonical[0] != '+')
		return NULL;
	if (ix->keys) {
		uint64_t value[24];
		size_t digits = 0;

		/* the digit values of every prefix length, in one pass */
		for (uint64_t v = 0; digits < ix->max_len && canonical[1 + digits] >= '0' &&
				     canonical[1 + digits] <= '9';
		     digits++) {
			v = v * 10 + (uint64_t)(canonical[1 + digits] - '0');
			value[digits] = v;
		}
		/* longest first: one probe per length any area code has */
		for (size_t l = digits; l >= ix->min_len && l > 0; l--) {
			uint64_t key = value[l - 1] * 32 + l;

			for (size_t slot = city_slot(key, ix->mask); ix->keys[slot];
			     slot = (slot + 1) & ix->mask)
				if (ix->keys[slot] == key)
					return &d->cities[ix->cities[slot]];
		}
		return NULL;
	}
	if (len >= sizeof(d->cities[0].prefix))
		len = sizeof(d->cities[0].prefix) - 1;
	for (; len >= 2 && d->n_cities; len--) {
		struct city_key key = {canonical, len};
		const struct dp_city *c =
			bsearch(&key, d->cities, d->n_cities, sizeof(*d->cities), city_cmp);

		if (c)
			return c;
	}
	return NULL;
}

struct special_key {
	const char *country, *digits;
};

static int special_cmp(const void *key, const void *elem)
{
	const struct special_key *k = key;
	const struct dp_special *sp = elem;
	int r = strcmp(k->country, sp->country);

	return r ? r : strcmp(k->digits, sp->number);
}

const struct dp_special *dp_special_of(const struct dp_data *d, const char *country,
				       const char *digits)
{
	struct special_key key = {country, digits};

	if (!d->n_specials)
		return NULL;
	return bsearch(&key, d->specials, d->n_specials, sizeof(*d->specials), special_cmp);
}

static bool pattern_matches(const char *pattern, const char *digits)
{
	for (; *pattern; pattern++, digits++) {
		if (*digits < '0' || *digits > '9')
			return false;
		if (*pattern != '?' && *pattern != *digits)
			return false;
	}
	return true;
}

size_t dp_provider_prefix(const struct dp_data *d, const char *country, const char *digits)
{
	size_t lo = 0, hi = d->n_providers, best = 0;

	/* The first provider of the country; a country has a handful, and a
	 * '?' pattern cannot be searched by order, so they are then scanned. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(d->providers[mid].country, country) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->n_providers && strcmp(d->providers[lo].country, country) == 0; lo++) {
		size_t n = strlen(d->providers[lo].pattern);

		if (n > best && pattern_matches(d->providers[lo].pattern, digits))
			best = n;
	}
	return best;
}
