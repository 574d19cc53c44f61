/*
 * plugins/dialplan/dp_locations.c - locations.xml: reading, validating and
 * turning it into struct dp_location, plus the cross-location rules
 * (integrate / detectOtherLocations / abbreviate) and the model's life
 * cycle (dp_model_load / dp_model_free / dp_location_find).
 *
 * The file is the operator's and a wrong value dials wrong numbers, so the
 * loader is strict: unknown elements and attributes are errors, every
 * problem is reported with the line it is on, loading continues to find
 * them all, and any error fails the whole load. The parser never touches
 * the network and never expands entities: a DOCTYPE declaring entities is
 * refused before libxml2 sees it.
 *
 * The schema of issue 3 is kept as it is; where it leaves a shape open this
 * file defines it (extensions only, nothing renamed):
 *
 *   <areaCodeRules ownArea="all-free|chargeable-listed|free-listed" otherFree="true|false">
 *     <own prefixes="333,444"/>                   <!-- area="202" optional, must be ours -->
 *     <other area="301" prefixes="555,556"/>      <!-- prefixes empty/absent: whole area -->
 *   </areaCodeRules>
 *   NANP (country 1) only. ownArea defaults to all-free, otherFree to false;
 *   <own> needs a "-listed" mode, <other> needs otherFree="true".
 *
 *   <lcr>
 *     <provider name="Arcor" prefix="01070"/>
 *     <zone name="mobile">
 *       <prefix>+4917</prefix> <prefix>+4915</prefix>
 *       <assign day="weekday|saturday|sunday" from="08:00" to="18:00" provider="Arcor"/>
 *     </zone>
 *   </lcr>
 *   Times are on the half hour, to may be "24:00", from < to; assignments of
 *   one zone and day may not overlap; half-hours without one have no
 *   provider. Providers are found by name wherever they are in <lcr>.
 *
 *   The area code: a leading 0 is removed when 0 is the country's trunk
 *   prefix ("089" -> "89"); in countries without one (Italy) the code is kept
 *   as written, because there the leading 0 belongs to the number, and so it
 *   is where the trunk prefix is another digit (Russia: "812").
 *
 * Generated rules: a location with detectOtherLocations gets, after its own
 * internal rules, one rule per other integrated DDI location turning that
 * location's extensions into its canonical numbers; with abbreviate it gets
 * dial rules, after its own, shortening those canonical numbers back to the
 * extension. Both carry generated=true and origin = the other location.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "dp.h"

#define LOCATIONS_FILE_MAX (16 << 20)
#define LCR_PROVIDERS_MAX  127 /* provider indexes are int8_t */

struct ld {
	struct dp_model *m;
	const char *file;
	struct dp_errors *errs;
	const char *loc; /* the location being read, for messages */
	int nerr;
};

static void lerr_v(struct ld *ld, int line, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line < 0)
		line = 0;
	if (ld->loc)
		dp_error(ld->errs, ld->file, line, "location \"%s\": %s", ld->loc, msg);
	else
		dp_error(ld->errs, ld->file, line, "%s", msg);
	ld->nerr++;
}

static void lerr(struct ld *ld, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr(struct ld *ld, const xmlNode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lerr_v(ld, n ? (int)xmlGetLineNo((xmlNode *)n) : 0, fmt, ap);
	va_end(ap);
}

static void lerr_at(struct ld *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr_at(struct ld *ld, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lerr_v(ld, line, fmt, ap);
	va_end(ap);
}

static bool is_name(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The attribute's value without copying; NULL when absent. Entities are
 * refused before parsing, so a value is at most one text node. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (strcmp((const char *)a->name, name) != 0)
			continue;
		if (a->children && a->children->type == XML_TEXT_NODE && a->children->content)
			return (const char *)a->children->content;
		return "";
	}
	return NULL;
}

static bool check_attrs(struct ld *ld, const xmlNode *n, const char *const *allowed)
{
	bool ok = true;

	for (const xmlAttr *a = n->properties; a; a = a->next) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp((const char *)a->name, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			lerr(ld, n, "<%s>: unknown attribute \"%s\"", n->name, a->name);
			ok = false;
		}
	}
	return ok;
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/* Children that are neither elements nor blank text or comments are
 * errors; returns false for them so callers skip the node. */
static bool element_child(struct ld *ld, const xmlNode *parent, const xmlNode *c)
{
	if (c->type == XML_ELEMENT_NODE)
		return true;
	if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
	    !blank((const char *)c->content))
		lerr(ld, c, "<%s>: unexpected text", parent->name);
	else if (c->type == XML_ENTITY_REF_NODE)
		lerr(ld, c, "<%s>: entity references are not allowed", parent->name);
	return false;
}

static void unknown_element(struct ld *ld, const xmlNode *parent, const xmlNode *c)
{
	lerr(ld, c, "<%s>: unknown element <%s>", parent->name, c->name);
}

/* The trimmed text of an element that holds only text, into buf. */
static bool text_of(struct ld *ld, const xmlNode *n, char *buf, size_t cap)
{
	const char *s = "", *e;
	size_t len;

	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			if (!blank((const char *)c->content))
				s = (const char *)c->content;
		} else if (c->type != XML_COMMENT_NODE) {
			lerr(ld, n, "<%s>: expected text only", n->name);
			return false;
		}
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	len = (size_t)(e - s);
	if (len >= cap) {
		lerr(ld, n, "<%s>: \"%.*s\" is longer than %zu characters", n->name, (int)len, s,
		     cap - 1);
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

static bool only_chars(const char *s, const char *set)
{
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static bool digits(const char *s)
{
	return *s && only_chars(s, "0123456789");
}

static bool parse_bool(struct ld *ld, const xmlNode *n, const char *name, bool *out)
{
	const char *v = attr(n, name);

	if (!v)
		return true;
	if (strcmp(v, "true") == 0) {
		*out = true;
	} else if (strcmp(v, "false") == 0) {
		*out = false;
	} else {
		lerr(ld, n, "<%s %s=\"%s\">: expected true or false", n->name, name, v);
		return false;
	}
	return true;
}

/* A copy of the attribute into buf: chars from set, shorter than cap. */
static bool attr_copy(struct ld *ld, const xmlNode *n, const char *name, const char *set, char *buf,
		      size_t cap)
{
	const char *v = attr(n, name);

	if (!v)
		return true;
	if (strlen(v) >= cap) {
		lerr(ld, n, "<%s %s=\"%s\">: longer than %zu characters", n->name, name, v,
		     cap - 1);
		return false;
	}
	if (set && !only_chars(v, set)) {
		lerr(ld, n, "<%s %s=\"%s\">: only %s allowed", n->name, name, v,
		     strcmp(set, "0123456789") == 0 ? "digits" : "digits, * and #");
		return false;
	}
	strcpy(buf, v);
	return true;
}

/* A comma list into an array of fixed-width strings. */
static bool split_list(struct ld *ld, const xmlNode *n, const char *name, const char *v,
		       const char *set, char *dst, size_t width, size_t max, size_t *count)
{
	const char *p = v;

	*count = 0;
	if (!v || blank(v))
		return true;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (!len || len >= width) {
			lerr(ld, n, "<%s %s=\"%s\">: entries must be 1 to %zu characters", n->name,
			     name, v, width - 1);
			return false;
		}
		if (*count == max) {
			lerr(ld, n, "<%s %s=\"%s\">: more than %zu entries", n->name, name, v, max);
			return false;
		}
		for (size_t i = 0; i < len; i++) {
			if (!strchr(set, p[i])) {
				lerr(ld, n, "<%s %s=\"%s\">: \"%.*s\" is not a number", n->name,
				     name, v, (int)len, p);
				return false;
			}
		}
		memcpy(dst + *count * width, p, len);
		dst[*count * width + len] = '\0';
		(*count)++;
		if (!end)
			break;
		p = end + 1;
	}
	return true;
}

static size_t list_entries(const char *v)
{
	size_t n = 1;

	if (!v || blank(v))
		return 0;
	for (; *v; v++)
		n += *v == ',';
	return n;
}

/* Decimal without sign, up to nine digits (extension numbers, lengths). */
static bool parse_num(struct ld *ld, const xmlNode *n, const char *name, long *out)
{
	const char *v = attr(n, name);

	if (!v) {
		lerr(ld, n, "<%s>: missing attribute \"%s\"", n->name, name);
		return false;
	}
	if (!digits(v) || strlen(v) > 9) {
		lerr(ld, n, "<%s %s=\"%s\">: not a number", n->name, name, v);
		return false;
	}
	*out = strtol(v, NULL, 10);
	return true;
}

/* ---- rules ----------------------------------------------------------------------------- */

static int rule_add(struct dp_rule_list *l, struct dp_rule *r)
{
	struct dp_rule *v = realloc(l->rules, (l->count + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->rules = v;
	l->rules[l->count++] = *r;
	return 0;
}

static void rule_list_free(struct dp_rule_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		dp_rule_free(&l->rules[i]);
	free(l->rules);
	l->rules = NULL;
	l->count = 0;
}

static void parse_rule_list(struct ld *ld, const xmlNode *n, struct dp_rule_list *l)
{
	static const char *const rule_attrs[] = {"search", "replace", "regex", NULL};
	static const char *const none[] = {NULL};
	char label[DP_NAME_MAX + 32];

	check_attrs(ld, n, none);
	snprintf(label, sizeof(label), "location \"%s\": %s", ld->loc, l->name);
	for (const xmlNode *c = n->children; c; c = c->next) {
		struct dp_rule r = {0};
		const char *search, *replace;

		if (!element_child(ld, n, c))
			continue;
		if (!is_name(c, "rule")) {
			unknown_element(ld, n, c);
			continue;
		}
		if (!check_attrs(ld, c, rule_attrs) || !parse_bool(ld, c, "regex", &r.regex))
			continue;
		search = attr(c, "search");
		replace = attr(c, "replace");
		if (!search || !*search) {
			lerr(ld, c, "<%s>: <rule> without search", l->name);
			continue;
		}
		r.line = (int)xmlGetLineNo((xmlNode *)c);
		r.search = strdup(search);
		r.replace = strdup(replace ? replace : "");
		if (!r.search || !r.replace) {
			lerr(ld, c, "out of memory");
			dp_rule_free(&r);
			continue;
		}
		if (dp_rule_compile(&r, label, ld->file, ld->errs) < 0) {
			ld->nerr++;
			dp_rule_free(&r);
			continue;
		}
		if (rule_add(l, &r) < 0) {
			lerr(ld, c, "out of memory");
			dp_rule_free(&r);
		}
	}
}

static void parse_rules(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const none[] = {NULL};
	struct dp_rule_list *lists[] = {&loc->external,	 &loc->internal, &loc->line_numbers,
					&loc->incoming,	 &loc->outgoing, &loc->dial,
					&loc->dial_final};
	bool seen[7] = {false};

	check_attrs(ld, n, none);
	for (const xmlNode *c = n->children; c; c = c->next) {
		size_t i;

		if (!element_child(ld, n, c))
			continue;
		for (i = 0; i < 7; i++)
			if (is_name(c, lists[i]->name))
				break;
		if (i == 7) {
			unknown_element(ld, n, c);
			continue;
		}
		if (seen[i]) {
			lerr(ld, c, "<rules>: <%s> given twice", lists[i]->name);
			continue;
		}
		seen[i] = true;
		parse_rule_list(ld, c, lists[i]);
	}
}

/* ---- pbx ------------------------------------------------------------------------------- */

static void parse_pbx(struct ld *ld, const xmlNode *n, struct dp_pbx *pbx)
{
	static const char *const pbx_attrs[] = {"enabled", "lineType", NULL};
	static const char *const ext_attrs[] = {"from", "to", NULL};
	static const char *const pre_attrs[] = {"low", "high", NULL};
	static const char *const len_attrs[] = {"min", "max", NULL};
	static const char *const acc_attrs[] = {"local",   "national", "international",
						"private", "forward",  NULL};
	static const char *const strip_attrs[] = {
		"incoming",	     "outgoing",	  "forwarded", "connectedIncoming",
		"connectedOutgoing", "ignoreConnectedId", NULL};
	static const char *const none[] = {NULL};
	const char *lt;
	const xmlNode *ext = NULL, *pre = NULL, *len = NULL;

	pbx->enabled = true;
	check_attrs(ld, n, pbx_attrs);
	parse_bool(ld, n, "enabled", &pbx->enabled);
	lt = attr(n, "lineType");
	if (!lt || strcmp(lt, "ddi") == 0) {
		pbx->line_type = DP_LINE_DDI;
	} else if (strcmp(lt, "msn") == 0) {
		pbx->line_type = DP_LINE_MSN;
	} else {
		lerr(ld, n, "<pbx lineType=\"%s\">: expected ddi or msn", lt);
	}
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (!element_child(ld, n, c))
			continue;
		if (is_name(c, "baseNumber")) {
			char buf[sizeof(pbx->base)];

			check_attrs(ld, c, none);
			if (!text_of(ld, c, buf, sizeof(buf)))
				continue;
			if (!digits(buf))
				lerr(ld, c, "<baseNumber>: \"%s\" is not a number", buf);
			else
				strcpy(pbx->base, buf);
		} else if (is_name(c, "extensions")) {
			long from = 0, to = 0;

			ext = c;
			if (!check_attrs(ld, c, ext_attrs) || !parse_num(ld, c, "from", &from) ||
			    !parse_num(ld, c, "to", &to))
				continue;
			if (from > to) {
				lerr(ld, c,
				     "<extensions from=\"%s\" to=\"%s\">: from is greater than to",
				     attr(c, "from"), attr(c, "to"));
				continue;
			}
			pbx->has_range = true;
			pbx->ext_from = from;
			pbx->ext_to = to;
		} else if (is_name(c, "extensionPrefix")) {
			long lo = 0, hi = 0;

			pre = c;
			if (!check_attrs(ld, c, pre_attrs) || !parse_num(ld, c, "low", &lo) ||
			    !parse_num(ld, c, "high", &hi))
				continue;
			if (lo > 9 || hi > 9 || lo > hi) {
				lerr(ld, c,
				     "<extensionPrefix low=\"%s\" high=\"%s\">: expected two digits, low not above high",
				     attr(c, "low"), attr(c, "high"));
				continue;
			}
			pbx->has_prefix = true;
			pbx->prefix_low = (int)lo;
			pbx->prefix_high = (int)hi;
		} else if (is_name(c, "internalLength")) {
			long mn = 0, mx = 0;

			len = c;
			if (!check_attrs(ld, c, len_attrs) || !parse_num(ld, c, "min", &mn) ||
			    !parse_num(ld, c, "max", &mx))
				continue;
			if (mn < 1 || mx > 16 || mn > mx) {
				lerr(ld, c,
				     "<internalLength min=\"%s\" max=\"%s\">: expected 1 <= min <= max <= 16",
				     attr(c, "min"), attr(c, "max"));
				continue;
			}
			pbx->len_min = (int)mn;
			pbx->len_max = (int)mx;
		} else if (is_name(c, "access")) {
			const char *dial = "0123456789*#";

			check_attrs(ld, c, acc_attrs);
			attr_copy(ld, c, "local", dial, pbx->access_local,
				  sizeof(pbx->access_local));
			attr_copy(ld, c, "national", dial, pbx->access_national,
				  sizeof(pbx->access_national));
			attr_copy(ld, c, "international", dial, pbx->access_international,
				  sizeof(pbx->access_international));
			attr_copy(ld, c, "forward", dial, pbx->access_forward,
				  sizeof(pbx->access_forward));
			/* The private code may ask for a PIN or user id (see Projects). */
			if (attr_copy(ld, c, "private", NULL, pbx->access_private,
				      sizeof(pbx->access_private)) &&
			    !only_chars(pbx->access_private, "0123456789*#eEuUpP"))
				lerr(ld, c,
				     "<access private=\"%s\">: only digits, *, #, e, E, u, U, p and P allowed",
				     pbx->access_private);
		} else if (is_name(c, "strip")) {
			const char *dial = "0123456789*#";

			check_attrs(ld, c, strip_attrs);
			split_list(ld, c, "incoming", attr(c, "incoming"), dial,
				   pbx->strip_incoming[0], 16, 4, &pbx->n_strip_incoming);
			split_list(ld, c, "outgoing", attr(c, "outgoing"), dial,
				   pbx->strip_outgoing[0], 16, 4, &pbx->n_strip_outgoing);
			split_list(ld, c, "forwarded", attr(c, "forwarded"), dial,
				   pbx->strip_forwarded[0], 16, 4, &pbx->n_strip_forwarded);
			split_list(ld, c, "connectedIncoming", attr(c, "connectedIncoming"), dial,
				   pbx->strip_connected_in[0], 16, 4, &pbx->n_strip_connected_in);
			split_list(ld, c, "connectedOutgoing", attr(c, "connectedOutgoing"), dial,
				   pbx->strip_connected_out[0], 16, 4, &pbx->n_strip_connected_out);
			parse_bool(ld, c, "ignoreConnectedId", &pbx->ignore_connected);
		} else {
			unknown_element(ld, n, c);
		}
	}
	if (ext && pre)
		lerr(ld, pre, "<pbx>: <extensions> and <extensionPrefix> exclude each other");
	if ((ext || pre) && pbx->line_type == DP_LINE_MSN)
		lerr(ld, ext ? ext : pre, "<pbx lineType=\"msn\">: an MSN line has no <%s>",
		     ext ? "extensions" : "extensionPrefix");
	if (pbx->enabled && pbx->line_type == DP_LINE_DDI && (ext || pre) && !pbx->base[0])
		lerr(ld, n, "<pbx lineType=\"ddi\">: <baseNumber> missing");
	if (pre && !len)
		lerr(ld, pre, "<extensionPrefix>: needs <internalLength>");
	if (pbx->has_range && !len) {
		char a[16], b[16];

		/* All extensions of the range: as long as its ends. */
		pbx->len_min = snprintf(a, sizeof(a), "%ld", pbx->ext_from);
		pbx->len_max = snprintf(b, sizeof(b), "%ld", pbx->ext_to);
	}
}

/* ---- emergency ------------------------------------------------------------------------- */

static bool parse_cidr(struct ld *ld, const xmlNode *n, const char *v, struct dp_emergency *e)
{
	char buf[INET6_ADDRSTRLEN + 16];
	char *slash, *pct;
	long plen;
	int max;

	if (!v || strlen(v) >= sizeof(buf) || !(slash = strchr(v, '/')))
		goto bad;
	memcpy(buf, v, (size_t)(slash - v));
	buf[slash - v] = '\0';
	/* An IPv6 zone ("%3") names an interface, not a part of the subnet. */
	if ((pct = strchr(buf, '%')))
		*pct = '\0';
	if (!digits(slash + 1) || strlen(slash + 1) > 3)
		goto bad;
	plen = strtol(slash + 1, NULL, 10);
	if (strchr(buf, ':')) {
		e->family = AF_INET6;
		max = 128;
	} else {
		e->family = AF_INET;
		max = 32;
	}
	if (inet_pton(e->family, buf, e->addr) != 1)
		goto bad;
	if (plen > max) {
		lerr(ld, n, "<entry subnet=\"%s\">: prefix length %ld is greater than %d", v, plen,
		     max);
		return false;
	}
	e->prefix_len = (uint8_t)plen;
	/* Host bits cleared once here, so matching is a plain compare. */
	for (int i = 0; i < 16; i++) {
		int bits = (int)plen - i * 8;

		if (bits <= 0)
			e->addr[i] = 0;
		else if (bits < 8)
			e->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
	return true;
bad:
	lerr(ld, n,
	     "<entry subnet=\"%s\">: expected CIDR notation such as 10.1.2.0/24 or fd00::/64",
	     v ? v : "");
	return false;
}

static void parse_emergency(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const em_attrs[] = {"enabled", NULL};
	static const char *const entry_attrs[] = {"name", "subnet", "numbers", "prefix", NULL};

	check_attrs(ld, n, em_attrs);
	parse_bool(ld, n, "enabled", &loc->emergency_enabled);
	for (const xmlNode *c = n->children; c; c = c->next) {
		struct dp_emergency e = {0};
		const char *name;
		struct dp_emergency *v;

		if (!element_child(ld, n, c))
			continue;
		if (!is_name(c, "entry")) {
			unknown_element(ld, n, c);
			continue;
		}
		if (!check_attrs(ld, c, entry_attrs))
			continue;
		name = attr(c, "name");
		if (!name)
			name = "";
		if (strlen(name) >= sizeof(e.name) ||
		    !only_chars(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789")) {
			lerr(ld, c, "<entry name=\"%s\">: only letters and digits allowed", name);
			continue;
		}
		strcpy(e.name, name);
		if (!parse_cidr(ld, c, attr(c, "subnet"), &e))
			continue;
		if (!attr(c, "numbers") || blank(attr(c, "numbers"))) {
			lerr(ld, c, "<entry name=\"%s\">: no numbers", name);
			continue;
		}
		if (!split_list(ld, c, "numbers", attr(c, "numbers"), "0123456789", e.numbers[0],
				sizeof(e.numbers[0]), 8, &e.n_numbers) ||
		    !attr_copy(ld, c, "prefix", "0123456789*#", e.prefix, sizeof(e.prefix)))
			continue;
		v = realloc(loc->emergency, (loc->n_emergency + 1) * sizeof(*v));
		if (!v) {
			lerr(ld, c, "out of memory");
			continue;
		}
		loc->emergency = v;
		loc->emergency[loc->n_emergency++] = e;
	}
}

/* ---- NANP area code rules -------------------------------------------------------------- */

static void area_rule_free(struct dp_area_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].prefixes);
	free(r);
}

static void parse_area_rules(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const acr_attrs[] = {"ownArea", "otherFree", NULL};
	static const char *const rule_attrs[] = {"area", "prefixes", NULL};
	struct dp_nanp *nanp = &loc->nanp;
	const char *mode = attr(n, "ownArea");

	check_attrs(ld, n, acr_attrs);
	if (!loc->country || strcmp(loc->country->code, "1") != 0) {
		/* The schema's template carries an empty <areaCodeRules/> everywhere. */
		if (n->properties || xmlFirstElementChild((xmlNode *)n))
			lerr(ld, n, "<areaCodeRules>: only for NANP locations (country 1)");
		return;
	}
	if (!mode || strcmp(mode, "all-free") == 0) {
		nanp->own_mode = DP_OWN_AREA_ALL_FREE;
	} else if (strcmp(mode, "chargeable-listed") == 0) {
		nanp->own_mode = DP_OWN_AREA_CHARGEABLE_LISTED;
	} else if (strcmp(mode, "free-listed") == 0) {
		nanp->own_mode = DP_OWN_AREA_FREE_LISTED;
	} else {
		lerr(ld, n,
		     "<areaCodeRules ownArea=\"%s\">: expected all-free, chargeable-listed or free-listed",
		     mode);
		return;
	}
	parse_bool(ld, n, "otherFree", &nanp->other_free);
	for (const xmlNode *c = n->children; c; c = c->next) {
		bool own;
		struct dp_area_rule r = {0}, **arr;
		size_t *cnt;
		const char *area, *pre;
		struct dp_area_rule *v;

		if (!element_child(ld, n, c))
			continue;
		own = is_name(c, "own");
		if (!own && !is_name(c, "other")) {
			unknown_element(ld, n, c);
			continue;
		}
		if (!check_attrs(ld, c, rule_attrs))
			continue;
		area = attr(c, "area");
		pre = attr(c, "prefixes");
		if (own && nanp->own_mode == DP_OWN_AREA_ALL_FREE) {
			lerr(ld, c, "<own>: ownArea=\"all-free\" takes no prefix rules");
			continue;
		}
		if (!own && !nanp->other_free) {
			lerr(ld, c, "<other>: needs otherFree=\"true\"");
			continue;
		}
		if (own && !area)
			area = loc->area;
		if (!area || strlen(area) != 3 || !digits(area)) {
			lerr(ld, c, "<%s area=\"%s\">: expected a three-digit area code", c->name,
			     area ? area : "");
			continue;
		}
		if (own && strcmp(area, loc->area) != 0) {
			lerr(ld, c, "<own area=\"%s\">: the location's area code is \"%s\"", area,
			     loc->area);
			continue;
		}
		if (own && (!pre || blank(pre))) {
			lerr(ld, c, "<own>: no prefixes");
			continue;
		}
		strcpy(r.area, area);
		r.prefixes = calloc(list_entries(pre) + 1, sizeof(*r.prefixes));
		if (!r.prefixes ||
		    !split_list(ld, c, "prefixes", pre, "0123456789", r.prefixes[0],
				sizeof(r.prefixes[0]), list_entries(pre), &r.n_prefixes)) {
			free(r.prefixes);
			continue;
		}
		arr = own ? &nanp->own : &nanp->other;
		cnt = own ? &nanp->n_own : &nanp->n_other;
		v = realloc(*arr, (*cnt + 1) * sizeof(*v));
		if (!v) {
			free(r.prefixes);
			lerr(ld, c, "out of memory");
			continue;
		}
		*arr = v;
		v[(*cnt)++] = r;
	}
}

/* ---- vanity, projects ------------------------------------------------------------------ */

static void parse_vanity(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const none[] = {NULL};

	check_attrs(ld, n, none);
	for (const xmlNode *c = n->children; c; c = c->next) {
		char buf[16];
		char(*v)[16];

		if (!element_child(ld, n, c))
			continue;
		if (!is_name(c, "prefix")) {
			unknown_element(ld, n, c);
			continue;
		}
		check_attrs(ld, c, none);
		if (!text_of(ld, c, buf, sizeof(buf)))
			continue;
		if (!digits(buf)) {
			lerr(ld, c, "<vanity>: prefix \"%s\" is not a number", buf);
			continue;
		}
		v = realloc(loc->vanity, (loc->n_vanity + 1) * sizeof(*v));
		if (!v) {
			lerr(ld, c, "out of memory");
			continue;
		}
		loc->vanity = v;
		strcpy(loc->vanity[loc->n_vanity++], buf);
	}
}

static void parse_projects(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const none[] = {NULL};
	static const char *const proj_attrs[] = {"name", "parameter", "mode", NULL};
	static const char *const modes[] = {"journal", "dial-and-journal", "dial", "private"};

	check_attrs(ld, n, none);
	for (const xmlNode *c = n->children; c; c = c->next) {
		struct dp_project p = {0};
		const char *name, *param, *mode;
		struct dp_project *v;
		size_t i;

		if (!element_child(ld, n, c))
			continue;
		if (!is_name(c, "project")) {
			unknown_element(ld, n, c);
			continue;
		}
		if (!check_attrs(ld, c, proj_attrs))
			continue;
		name = attr(c, "name");
		param = attr(c, "parameter");
		mode = attr(c, "mode");
		if (!name || !*name || strlen(name) >= sizeof(p.name)) {
			lerr(ld, c, "<project>: name missing or longer than %zu characters",
			     sizeof(p.name) - 1);
			continue;
		}
		for (i = 0; i < loc->n_projects; i++)
			if (strcmp(loc->projects[i].name, name) == 0)
				break;
		if (i < loc->n_projects) {
			lerr(ld, c, "<project name=\"%s\">: name used twice", name);
			continue;
		}
		if (!param)
			param = "";
		if (strlen(param) >= sizeof(p.parameter) ||
		    !only_chars(param, "0123456789*#CeEuUpPNJX")) {
			lerr(ld, c,
			     "<project name=\"%s\" parameter=\"%s\">: only 0-9 * # C e E u U p P N J X allowed",
			     name, param);
			continue;
		}
		if (strchr(param, 'C') != strrchr(param, 'C') ||
		    strchr(param, 'N') != strrchr(param, 'N')) {
			lerr(ld, c, "<project name=\"%s\" parameter=\"%s\">: C and N at most once",
			     name, param);
			continue;
		}
		for (i = 0; mode && i < 4; i++)
			if (strcmp(mode, modes[i]) == 0)
				break;
		if (mode && i == 4) {
			lerr(ld, c,
			     "<project name=\"%s\" mode=\"%s\">: expected journal, dial-and-journal, dial or private",
			     name, mode);
			continue;
		}
		strcpy(p.name, name);
		strcpy(p.parameter, param);
		p.mode = mode ? (enum dp_project_mode)i : DP_PROJECT_DIAL_AND_JOURNAL;
		v = realloc(loc->projects, (loc->n_projects + 1) * sizeof(*v));
		if (!v) {
			lerr(ld, c, "out of memory");
			continue;
		}
		loc->projects = v;
		loc->projects[loc->n_projects++] = p;
	}
}

/* ---- least cost routing ---------------------------------------------------------------- */

/* "HH:00" or "HH:30" as a half-hour index; "24:00" is 48 (only as an end). */
static int half_hour(const char *v)
{
	int h, m;

	if (!v || strlen(v) != 5 || v[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (v[i] < '0' || v[i] > '9'))
			return -1;
	h = (v[0] - '0') * 10 + (v[1] - '0');
	m = (v[3] - '0') * 10 + (v[4] - '0');
	if ((m != 0 && m != 30) || h > 24 || (h == 24 && m))
		return -1;
	return h * 2 + m / 30;
}

static void parse_zone(struct ld *ld, const xmlNode *n, struct dp_lcr *lcr)
{
	static const char *const zone_attrs[] = {"name", NULL};
	static const char *const assign_attrs[] = {"day", "from", "to", "provider", NULL};
	static const char *const none[] = {NULL};
	static const char *const days[] = {"weekday", "saturday", "sunday"};
	struct dp_lcr_zone *z, *v;
	const char *name = attr(n, "name");

	check_attrs(ld, n, zone_attrs);
	if (!name || !*name || strlen(name) >= sizeof(z->name)) {
		lerr(ld, n, "<zone>: name missing or longer than %zu characters",
		     sizeof(z->name) - 1);
		return;
	}
	for (size_t i = 0; i < lcr->n_zones; i++) {
		if (strcmp(lcr->zones[i].name, name) == 0) {
			lerr(ld, n, "<zone name=\"%s\">: name used twice", name);
			return;
		}
	}
	v = realloc(lcr->zones, (lcr->n_zones + 1) * sizeof(*v));
	if (!v) {
		lerr(ld, n, "out of memory");
		return;
	}
	lcr->zones = v;
	z = &lcr->zones[lcr->n_zones++];
	memset(z, 0, sizeof(*z));
	memset(z->assign, -1, sizeof(z->assign));
	strcpy(z->name, name);
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (!element_child(ld, n, c))
			continue;
		if (is_name(c, "prefix")) {
			char buf[DP_NUMBER_MAX];
			char(*pv)[DP_NUMBER_MAX];

			check_attrs(ld, c, none);
			if (!text_of(ld, c, buf, sizeof(buf)))
				continue;
			if (buf[0] != '+' || !digits(buf + 1)) {
				lerr(ld, c,
				     "<zone name=\"%s\">: prefix \"%s\" is not canonical (+ and digits)",
				     name, buf);
				continue;
			}
			pv = realloc(z->prefixes, (z->n_prefixes + 1) * sizeof(*pv));
			if (!pv) {
				lerr(ld, c, "out of memory");
				continue;
			}
			z->prefixes = pv;
			strcpy(z->prefixes[z->n_prefixes++], buf);
		} else if (is_name(c, "assign")) {
			const char *day = attr(c, "day"), *prov = attr(c, "provider");
			const char *from = attr(c, "from"), *to = attr(c, "to");
			int d, f, t;
			size_t p;

			if (!check_attrs(ld, c, assign_attrs))
				continue;
			for (d = 0; day && d < 3; d++)
				if (strcmp(day, days[d]) == 0)
					break;
			if (!day || d == 3) {
				lerr(ld, c,
				     "<assign day=\"%s\">: expected weekday, saturday or sunday",
				     day ? day : "");
				continue;
			}
			f = half_hour(from ? from : "00:00");
			t = half_hour(to ? to : "24:00");
			if (f < 0 || t < 0 || f >= t) {
				lerr(ld, c,
				     "<assign from=\"%s\" to=\"%s\">: expected half hours "
				     "(HH:00 or HH:30, to up to 24:00) with from before to",
				     from ? from : "", to ? to : "");
				continue;
			}
			for (p = 0; prov && p < lcr->n_providers; p++)
				if (strcmp(lcr->providers[p].name, prov) == 0)
					break;
			if (!prov || p == lcr->n_providers) {
				lerr(ld, c, "<assign provider=\"%s\">: no such <provider>",
				     prov ? prov : "");
				continue;
			}
			for (int h = f; h < t; h++) {
				if (z->assign[d][h] >= 0) {
					lerr(ld, c,
					     "<assign day=\"%s\" from=\"%s\" to=\"%s\">: overlaps an earlier <assign> of zone \"%s\"",
					     day, from ? from : "", to ? to : "", name);
					break;
				}
				z->assign[d][h] = (int8_t)p;
			}
		} else {
			unknown_element(ld, n, c);
		}
	}
}

static void parse_lcr(struct ld *ld, const xmlNode *n, struct dp_lcr *lcr)
{
	static const char *const none[] = {NULL};
	static const char *const prov_attrs[] = {"name", "prefix", NULL};

	check_attrs(ld, n, none);
	/* Providers first, so zones may name providers listed after them. */
	for (const xmlNode *c = n->children; c; c = c->next) {
		struct dp_lcr_provider p = {0}, *v;
		const char *name;

		if (!element_child(ld, n, c) || !is_name(c, "provider"))
			continue;
		if (!check_attrs(ld, c, prov_attrs))
			continue;
		name = attr(c, "name");
		if (!name || !*name || strlen(name) >= sizeof(p.name)) {
			lerr(ld, c, "<provider>: name missing or longer than %zu characters",
			     sizeof(p.name) - 1);
			continue;
		}
		if (!attr(c, "prefix") || !digits(attr(c, "prefix"))) {
			lerr(ld, c, "<provider name=\"%s\">: prefix missing or not a number", name);
			continue;
		}
		if (!attr_copy(ld, c, "prefix", "0123456789", p.prefix, sizeof(p.prefix)))
			continue;
		for (size_t i = 0; i < lcr->n_providers; i++) {
			if (strcmp(lcr->providers[i].name, name) == 0) {
				lerr(ld, c, "<provider name=\"%s\">: name used twice", name);
				name = NULL;
				break;
			}
		}
		if (!name)
			continue;
		if (lcr->n_providers == LCR_PROVIDERS_MAX) {
			lerr(ld, c, "<lcr>: more than %d providers", LCR_PROVIDERS_MAX);
			continue;
		}
		strcpy(p.name, name);
		v = realloc(lcr->providers, (lcr->n_providers + 1) * sizeof(*v));
		if (!v) {
			lerr(ld, c, "out of memory");
			continue;
		}
		lcr->providers = v;
		lcr->providers[lcr->n_providers++] = p;
	}
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || is_name(c, "provider"))
			continue;
		if (is_name(c, "zone"))
			parse_zone(ld, c, lcr);
		else
			unknown_element(ld, n, c);
	}
}

static void parse_advanced(struct ld *ld, const xmlNode *n, struct dp_advanced *a)
{
	static const char *const adv_attrs[] = {
		"dialFormat",		"alwaysAreaCode", "autoRedial", "integrate",
		"detectOtherLocations", "searchAcross",	  "abbreviate", NULL};
	const char *df = attr(n, "dialFormat");

	check_attrs(ld, n, adv_attrs);
	if (df && strcmp(df, "e164") == 0)
		a->dial_e164 = true;
	else if (df && strcmp(df, "rules") != 0)
		lerr(ld, n, "<advanced dialFormat=\"%s\">: expected rules or e164", df);
	parse_bool(ld, n, "alwaysAreaCode", &a->always_area);
	parse_bool(ld, n, "autoRedial", &a->auto_redial);
	parse_bool(ld, n, "integrate", &a->integrate);
	parse_bool(ld, n, "detectOtherLocations", &a->detect_other);
	parse_bool(ld, n, "searchAcross", &a->search_across);
	parse_bool(ld, n, "abbreviate", &a->abbreviate);
	for (const xmlNode *c = n->children; c; c = c->next)
		if (element_child(ld, n, c))
			unknown_element(ld, n, c);
}

/* ---- location -------------------------------------------------------------------------- */

static void location_init(struct dp_location *loc)
{
	memset(loc, 0, sizeof(*loc));
	loc->external.name = "external";
	loc->internal.name = "internal";
	loc->line_numbers.name = "lineNumbers";
	loc->incoming.name = "incoming";
	loc->outgoing.name = "outgoing";
	loc->dial.name = "dial";
	loc->dial_final.name = "dialFinal";
	loc->adv.auto_redial = true;
}

static void location_free(struct dp_location *loc)
{
	rule_list_free(&loc->external);
	rule_list_free(&loc->internal);
	rule_list_free(&loc->line_numbers);
	rule_list_free(&loc->incoming);
	rule_list_free(&loc->outgoing);
	rule_list_free(&loc->dial);
	rule_list_free(&loc->dial_final);
	free(loc->emergency);
	area_rule_free(loc->nanp.own, loc->nanp.n_own);
	area_rule_free(loc->nanp.other, loc->nanp.n_other);
	free(loc->vanity);
	free(loc->projects);
	free(loc->lcr.providers);
	for (size_t i = 0; i < loc->lcr.n_zones; i++)
		free(loc->lcr.zones[i].prefixes);
	free(loc->lcr.zones);
	memset(loc, 0, sizeof(*loc));
}

static void parse_location(struct ld *ld, const xmlNode *n, struct dp_location *loc)
{
	static const char *const loc_attrs[] = {"name", NULL};
	static const char *const none[] = {NULL};
	static const char *const once[] = {"country",	"areaCode",	 "pbx",	   "rules",
					   "emergency", "areaCodeRules", "vanity", "projects",
					   "lcr",	"advanced",	 NULL};
	const xmlNode *seen[10] = {NULL}, *area_node = NULL, *acr = NULL;
	char area[24] = "";

	check_attrs(ld, n, loc_attrs);
	loc->line = (int)xmlGetLineNo((xmlNode *)n);
	for (const xmlNode *c = n->children; c; c = c->next) {
		size_t i;

		if (!element_child(ld, n, c))
			continue;
		for (i = 0; once[i]; i++)
			if (is_name(c, once[i]))
				break;
		if (!once[i]) {
			unknown_element(ld, n, c);
			continue;
		}
		if (seen[i]) {
			lerr(ld, c, "<%s> given twice (first on line %ld)", c->name,
			     xmlGetLineNo((xmlNode *)seen[i]));
			continue;
		}
		seen[i] = c;
		if (is_name(c, "country")) {
			char code[8];

			check_attrs(ld, c, none);
			if (!text_of(ld, c, code, sizeof(code)))
				continue;
			if (!digits(code) ||
			    !(loc->country = dp_country_by_code(&ld->m->data, code)))
				lerr(ld, c, "<country>: no country with calling code \"%s\"", code);
		} else if (is_name(c, "areaCode")) {
			check_attrs(ld, c, none);
			if (text_of(ld, c, area, sizeof(area)))
				area_node = c;
		} else if (is_name(c, "pbx")) {
			parse_pbx(ld, c, &loc->pbx);
		} else if (is_name(c, "rules")) {
			parse_rules(ld, c, loc);
		} else if (is_name(c, "emergency")) {
			parse_emergency(ld, c, loc);
		} else if (is_name(c, "areaCodeRules")) {
			acr = c; /* needs the country and area code */
		} else if (is_name(c, "vanity")) {
			parse_vanity(ld, c, loc);
		} else if (is_name(c, "projects")) {
			parse_projects(ld, c, loc);
		} else if (is_name(c, "lcr")) {
			parse_lcr(ld, c, &loc->lcr);
		} else {
			parse_advanced(ld, c, &loc->adv);
		}
	}
	if (!seen[0])
		lerr(ld, n, "<location>: <country> missing");
	if (area_node) {
		const char *a = area;
		const char *np = loc->country ? loc->country->national_prefix : "0";

		if (!digits(area)) {
			lerr(ld, area_node, "<areaCode>: \"%s\" is not a number", area);
		} else {
			/* "a leading 0 is removed on load" - and only a 0 that is the
			 * trunk prefix: in Italy it is part of the number, and in
			 * Russia (trunk prefix 8) "812" is an area code as it stands */
			if (strcmp(np, "0") == 0 && a[0] == '0')
				a++;
			/* ... once: where 0 is the trunk prefix no area code starts
			 * with it, and "0089" would otherwise load as "089" */
			if (!*a || strlen(a) >= sizeof(loc->area) ||
			    (strcmp(np, "0") == 0 && a[0] == '0'))
				lerr(ld, area_node, "<areaCode>: \"%s\" is not an area code", area);
			else
				strcpy(loc->area, a);
		}
	}
	if (acr && loc->country)
		parse_area_rules(ld, acr, loc);
}

/* ---- cross-location -------------------------------------------------------------------- */

/* A location taking part in integration with a known DDI number space. */
static bool integrated_ddi(const struct dp_location *l)
{
	return l->adv.integrate && l->pbx.enabled && l->pbx.line_type == DP_LINE_DDI &&
	       l->country && l->pbx.base[0] && (l->pbx.has_range || l->pbx.has_prefix);
}

static void full_prefix(const struct dp_location *l, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", l->country->code, l->area, l->pbx.base);
}

static long pow10l_(int k)
{
	long p = 1;

	while (k-- > 0)
		p *= 10;
	return p;
}

static int ndigits(long v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* The extension interval as [lo, hi] with its lengths; prefix mode spans
 * first digit low..high over lengths len_min..len_max. */
static void ext_bounds(const struct dp_pbx *p, int len, long *lo, long *hi)
{
	if (p->has_range) {
		long a = len == 1 ? 0 : pow10l_(len - 1), b = pow10l_(len) - 1;

		*lo = p->ext_from > a ? p->ext_from : a;
		*hi = p->ext_to < b ? p->ext_to : b;
	} else if (len < p->len_min || len > p->len_max) {
		*lo = 1;
		*hi = 0;
	} else {
		*lo = p->prefix_low * pow10l_(len - 1);
		*hi = (p->prefix_high + 1) * pow10l_(len - 1) - 1;
	}
}

static void len_span(const struct dp_pbx *p, int *a, int *b)
{
	if (p->has_range) {
		*a = ndigits(p->ext_from);
		*b = ndigits(p->ext_to);
	} else {
		*a = p->len_min;
		*b = p->len_max;
	}
}

/*
 * Do the full numbers of A (pa + extension) and B (pb + extension) share a
 * number? When pb extends pa by the digits D, B's number D.eB is in A when
 * the value D*10^len(eB) + eB is one of A's extensions (of that length).
 */
static bool ddi_overlap(const char *pa, const struct dp_pbx *a, const char *pb,
			const struct dp_pbx *b)
{
	size_t la = strlen(pa), lb = strlen(pb);
	int a0, a1, b0, b1;

	if (la > lb)
		return ddi_overlap(pb, b, pa, a);
	if (strncmp(pa, pb, la) != 0)
		return false;
	len_span(a, &a0, &a1);
	len_span(b, &b0, &b1);
	for (int lbx = b0; lbx <= b1; lbx++) {
		const char *d = pb + la;
		int total = (int)(lb - la) + lbx;
		long blo, bhi, alo, ahi, dv = 0;

		ext_bounds(b, lbx, &blo, &bhi);
		if (blo > bhi || total < a0 || total > a1 || total > 15)
			continue;
		/* A's extensions never start with 0 unless they are "0" itself. */
		if (*d == '0')
			continue;
		for (; *d; d++)
			dv = dv * 10 + (*d - '0');
		ext_bounds(a, total, &alo, &ahi);
		blo += dv * pow10l_(lbx);
		bhi += dv * pow10l_(lbx);
		if (blo <= ahi && alo <= bhi)
			return true;
	}
	return false;
}

static int emit_block(char *buf, size_t cap, size_t *len, long head, int dlo, int dhi, int k)
{
	int n;

	/* head is the block's prefix without its last digit, 0 when it is one digit:
	 * extensions have no leading zeros, so a real head is never 0. */
	if (head)
		n = snprintf(buf + *len, cap - *len, "%s%ld", *len ? "|" : "", head);
	else
		n = snprintf(buf + *len, cap - *len, "%s", *len ? "|" : "");
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENOSPC;
	*len += (size_t)n;
	if (dlo == dhi)
		n = snprintf(buf + *len, cap - *len, "%d", dlo);
	else
		n = snprintf(buf + *len, cap - *len, "[%d-%d]", dlo, dhi);
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENOSPC;
	*len += (size_t)n;
	while (k-- > 0) {
		n = snprintf(buf + *len, cap - *len, "[0-9]");
		if (n < 0 || (size_t)n >= cap - *len)
			return -ENOSPC;
		*len += (size_t)n;
	}
	return 0;
}

/*
 * A regex alternation for the extensions: each length's interval split into
 * aligned blocks "prefix + k any digits", and neighbouring blocks with the
 * same head merged into a character class - 300-399 gives "3[0-9][0-9]",
 * 30-69 "[3-6][0-9]", 150-999 "1[5-9][0-9]|[2-9][0-9][0-9]".
 */
static int range_regex(const struct dp_pbx *p, char *buf, size_t cap)
{
	size_t len = 0;
	int l0, l1, n, err = 0;

	buf[0] = '\0';
	if (!p->has_range) {
		n = snprintf(buf, cap, "[%d-%d][0-9]{%d,%d}", p->prefix_low, p->prefix_high,
			     p->len_min - 1, p->len_max - 1);
		return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
	}
	len_span(p, &l0, &l1);
	for (int l = l0; l <= l1 && !err; l++) {
		long lo, hi, head = -1;
		int dlo = 0, dhi = 0, pk = -1;

		ext_bounds(p, l, &lo, &hi);
		while (lo <= hi && !err) {
			int k = 0;
			long pre;

			while (k + 1 < l && lo % pow10l_(k + 1) == 0 &&
			       lo + pow10l_(k + 1) - 1 <= hi)
				k++;
			pre = lo / pow10l_(k);
			if (pk == k && head == pre / 10 && dhi + 1 == (int)(pre % 10)) {
				dhi++;
			} else {
				if (pk >= 0)
					err = emit_block(buf, cap, &len, head, dlo, dhi, pk);
				head = pre / 10;
				dlo = dhi = (int)(pre % 10);
				pk = k;
			}
			lo += pow10l_(k);
		}
		if (!err && pk >= 0)
			err = emit_block(buf, cap, &len, head, dlo, dhi, pk);
	}
	return err;
}

static int gen_rule(struct ld *ld, struct dp_location *l, struct dp_rule_list *list,
		    const struct dp_location *o, const char *search, const char *replace)
{
	struct dp_rule r = {0};
	int err;

	r.regex = true;
	r.generated = true;
	r.line = o->line;
	r.search = strdup(search);
	r.replace = strdup(replace);
	r.origin = strdup(o->name);
	if (!r.search || !r.replace || !r.origin) {
		err = -ENOMEM;
		goto out;
	}
	err = dp_rule_compile(&r, list->name, ld->file, ld->errs);
	if (err)
		goto out;
	err = rule_add(list, &r);
out:
	if (err) {
		dp_rule_free(&r);
		ld->loc = l->name;
		lerr_at(ld, l->line, "cannot generate a %s rule for location \"%s\": %s",
			list->name, o->name, strerror(-err));
		ld->loc = NULL;
	}
	return err;
}

static void cross_locations(struct ld *ld)
{
	struct dp_model *m = ld->m;

	for (size_t i = 0; i < m->n_locations; i++) {
		struct dp_location *a = &m->locations[i];
		char pa[64];

		if (!integrated_ddi(a))
			continue;
		full_prefix(a, pa, sizeof(pa));
		for (size_t j = i + 1; j < m->n_locations; j++) {
			const struct dp_location *b = &m->locations[j];
			char pb[64];

			if (!integrated_ddi(b))
				continue;
			full_prefix(b, pb, sizeof(pb));
			if (ddi_overlap(pa, &a->pbx, pb, &b->pbx)) {
				ld->loc = b->name;
				lerr_at(ld, b->line,
					"DDI numbers +%s... overlap those of location \"%s\" (+%s..., line %d); "
					"integrated locations need distinct numbers",
					pb, a->name, pa, a->line);
				ld->loc = NULL;
			}
		}
	}
	if (ld->nerr)
		return;
	for (size_t i = 0; i < m->n_locations; i++) {
		struct dp_location *l = &m->locations[i];

		if (!l->adv.detect_other && !l->adv.abbreviate)
			continue;
		for (size_t j = 0; j < m->n_locations; j++) {
			const struct dp_location *o = &m->locations[j];
			char alts[1024], search[1200], rep[80], pfx[64];

			if (j == i || !integrated_ddi(o))
				continue;
			full_prefix(o, pfx, sizeof(pfx));
			if (range_regex(&o->pbx, alts, sizeof(alts)) < 0) {
				ld->loc = l->name;
				lerr_at(ld, l->line,
					"extension range of location \"%s\" too fragmented",
					o->name);
				ld->loc = NULL;
				continue;
			}
			if (l->adv.detect_other) {
				snprintf(search, sizeof(search), "^(%s)$", alts);
				snprintf(rep, sizeof(rep), "+%s\\1", pfx);
				gen_rule(ld, l, &l->internal, o, search, rep);
			}
			if (l->adv.abbreviate) {
				snprintf(search, sizeof(search), "^\\+%s(%s)$", pfx, alts);
				gen_rule(ld, l, &l->dial, o, search, "\\1");
			}
		}
	}
}

/* ---- loading --------------------------------------------------------------------------- */

static void locations_free(struct dp_model *m)
{
	for (size_t i = 0; i < m->n_locations; i++)
		location_free(&m->locations[i]);
	free(m->locations);
	m->locations = NULL;
	m->n_locations = 0;
	m->default_location = 0;
	free(m->source);
	m->source = NULL;
	m->source_len = 0;
}

struct xml_err {
	int line;
	char msg[256];
	bool set;
};

static void xml_error_h(void *arg, xmlErrorPtr e)
{
	struct xml_err *x = arg;
	size_t n;

	if (x->set || !e || e->level < XML_ERR_ERROR)
		return;
	x->set = true;
	x->line = e->line;
	snprintf(x->msg, sizeof(x->msg), "%s", e->message ? e->message : "malformed XML");
	n = strlen(x->msg);
	while (n && x->msg[n - 1] == '\n')
		x->msg[--n] = '\0';
}

static int line_at(const char *xml, const char *p)
{
	int line = 1;

	for (; xml < p; xml++)
		line += *xml == '\n';
	return line;
}

int dp_locations_load_memory(struct dp_model *m, const char *name, const char *xml, size_t len,
			     const char *default_name, struct dp_errors *errs)
{
	struct ld ld = {.m = m, .file = name, .errs = errs};
	struct xml_err xe = {0};
	xmlStructuredErrorFunc old_fn;
	void *old_arg;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	const char *ent;
	int err = 0;

	locations_free(m);
	if (len > INT32_MAX) {
		dp_error(errs, name, 0, "file too large");
		err = -EFBIG;
		goto out;
	}
	/* Entities are how XML bombs and file inclusion work; an operator
	 * file has no use for them, so they are refused outright. */
	ent = memmem(xml, len, "<!ENTITY", 8);
	if (ent) {
		dp_error(errs, name, line_at(xml, ent),
			 "DOCTYPE with entity declarations is not allowed");
		err = -EINVAL;
		goto out;
	}
	xmlInitParser();
	old_fn = xmlStructuredError;
	old_arg = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&xe, xml_error_h);
	doc = xmlReadMemory(xml, (int)len, name, NULL,
			    XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(old_arg, old_fn);
	if (!doc || xe.set) {
		dp_error(errs, name, xe.line, "not well-formed XML: %s",
			 xe.set ? xe.msg : "cannot parse");
		err = -EINVAL;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_name(root, "locations")) {
		dp_error(errs, name, root ? (int)xmlGetLineNo((xmlNode *)root) : 0,
			 "root element must be <locations>");
		err = -EINVAL;
		goto out;
	}
	{
		static const char *const none[] = {NULL};

		check_attrs(&ld, root, none);
	}
	for (const xmlNode *c = root->children; c; c = c->next) {
		struct dp_location *v, *loc;
		const char *lname;

		if (!element_child(&ld, root, c))
			continue;
		if (!is_name(c, "location")) {
			unknown_element(&ld, root, c);
			continue;
		}
		lname = attr(c, "name");
		if (!lname || !*lname || strlen(lname) >= DP_NAME_MAX) {
			lerr(&ld, c, "<location>: name missing or longer than %d characters",
			     DP_NAME_MAX - 1);
			continue;
		}
		{
			size_t i;

			for (i = 0; i < m->n_locations; i++)
				if (strcmp(m->locations[i].name, lname) == 0)
					break;
			if (i < m->n_locations) {
				lerr(&ld, c,
				     "<location name=\"%s\">: name used twice (first on line %d)",
				     lname, m->locations[i].line);
				continue;
			}
		}
		v = realloc(m->locations, (m->n_locations + 1) * sizeof(*v));
		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		m->locations = v;
		loc = &m->locations[m->n_locations++];
		location_init(loc);
		strcpy(loc->name, lname);
		ld.loc = loc->name;
		parse_location(&ld, c, loc);
		dp_location_finish(loc);
		ld.loc = NULL;
	}
	if (!m->n_locations && !ld.nerr)
		lerr(&ld, root, "<locations>: no <location>");
	if (!ld.nerr)
		cross_locations(&ld);
	if (!ld.nerr && default_name && *default_name) {
		const struct dp_location *d = NULL;

		for (size_t i = 0; i < m->n_locations; i++)
			if (strcmp(m->locations[i].name, default_name) == 0)
				d = &m->locations[i];
		if (!d)
			lerr_at(&ld, 0, "default location \"%s\" is not in the file", default_name);
		else
			m->default_location = (size_t)(d - m->locations);
	}
	if (ld.nerr) {
		err = -EINVAL;
		goto out;
	}
	m->source = malloc(len + 1);
	if (!m->source) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(m->source, xml, len);
	m->source[len] = '\0';
	m->source_len = len;
out:
	xmlFreeDoc(doc);
	if (err)
		locations_free(m);
	return err;
}

int dp_locations_load(struct dp_model *m, const char *path, const char *default_name,
		      struct dp_errors *errs)
{
	char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		dp_error(errs, path, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LOCATIONS_FILE_MAX) {
		dp_error(errs, path, 0, "not a regular file of at most %d bytes",
			 LOCATIONS_FILE_MAX);
		err = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			dp_error(errs, path, 0, "cannot read: %s", strerror(-err));
			goto out;
		}
		got += (size_t)n;
	}
	err = dp_locations_load_memory(m, path, buf, got, default_name, errs);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

int dp_model_load(struct dp_model *m, const char *shipped_dir, const char *config_dir,
		  const char *default_name, struct dp_errors *errs)
{
	char path[4096];
	int err;

	memset(m, 0, sizeof(*m));
	err = dp_data_load(&m->data, shipped_dir, config_dir, errs);
	if (err)
		goto out;
	if (snprintf(path, sizeof(path), "%s/locations.xml", config_dir ? config_dir : ".") >=
	    (int)sizeof(path)) {
		dp_error(errs, config_dir, 0, "config directory name too long");
		err = -ENAMETOOLONG;
		goto out;
	}
	err = dp_locations_load(m, path, default_name, errs);
out:
	if (err)
		dp_model_free(m);
	return err;
}

void dp_model_free(struct dp_model *m)
{
	if (!m)
		return;
	locations_free(m);
	if (!m->data_borrowed)
		dp_data_free(&m->data);
	memset(m, 0, sizeof(*m));
}

const struct dp_location *dp_location_find(const struct dp_model *m, const char *name)
{
	if (!m || !m->n_locations)
		return NULL;
	if (!name || !*name)
		return &m->locations[m->default_location];
	for (size_t i = 0; i < m->n_locations; i++)
		if (strcmp(m->locations[i].name, name) == 0)
			return &m->locations[i];
	return NULL;
}
