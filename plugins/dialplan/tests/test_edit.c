/*
 * plugins/dialplan/tests/test_edit.c - locations as JSON and their edits
 * (dp_json.c, dp_edit.c):
 *   - the round trip: every location of fixtures/locations.xml and of a
 *     document using every other feature, read as JSON and put back
 *     unchanged, gives the identical model (compared by an independent dump
 *     of every field, generated cross-location rules included), also after
 *     writing the file and loading it from disk;
 *   - every error path of location_put: the JSON shape (each message names
 *     the JSON path) and the loader's checks turned back into JSON paths;
 *     after an error the running model is untouched and nothing was built;
 *   - removal: unknown, the default one, another, the last one;
 *   - the write: atomic replacement, the previous file kept as .bak, mode
 *     and symlinks kept, and a failed write that leaves everything as it
 *     was; comments outside the edited location survive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "dp.h"
#include "dp_edit.h"

static void quiet(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "  (loader) %s:%d: %s\n", file ? file : "", line, msg);
}

static struct dp_errors errs = {.report = quiet};
static char dir[64] = "/tmp/test-dialplan-edit-XXXXXX";

/* ---- an independent dump of a model: every setting, no line numbers ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void out(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (b->p && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->len += (size_t)n;
}

static void dump_rules(struct sbuf *b, const struct dp_rule_list *l)
{
	out(b, " %s[%zu]", l->name, l->count);
	for (size_t i = 0; i < l->count; i++) {
		const struct dp_rule *r = &l->rules[i];

		out(b, " {%s|%s|%d|%d|%s|%u|%u|%.*s|%d}", r->search,
		    r->replace ? r->replace : "(null)", r->regex, r->generated,
		    r->origin ? r->origin : "", r->min_len, r->lit_len, (int)r->lit_len, r->lit,
		    r->regex == (r->re != NULL));
	}
	out(b, "\n");
}

static void dump_list(struct sbuf *b, const char *what, const char *base, size_t width, size_t n)
{
	out(b, " %s[%zu]", what, n);
	for (size_t i = 0; i < n; i++)
		out(b, " %s", base + i * width);
}

static void dump_location(struct sbuf *b, const struct dp_location *l)
{
	const struct dp_pbx *p = &l->pbx;
	const struct dp_rule_list *lists[] = {&l->external,  &l->internal, &l->line_numbers,
					      &l->incoming,  &l->outgoing, &l->dial,
					      &l->dial_final};

	out(b, "location %s country=%s area=%s\n", l->name, l->country ? l->country->code : "-",
	    l->area);
	out(b, " pbx %d %d base=%s range=%d %ld-%ld prefix=%d %d-%d len=%d-%d\n", p->enabled,
	    p->line_type, p->base, p->has_range, p->ext_from, p->ext_to, p->has_prefix,
	    p->prefix_low, p->prefix_high, p->len_min, p->len_max);
	out(b, " access %s|%s|%s|%s|%s\n", p->access_local, p->access_national,
	    p->access_international, p->access_private, p->access_forward);
	dump_list(b, "strip_in", p->strip_incoming[0], 16, p->n_strip_incoming);
	dump_list(b, "strip_out", p->strip_outgoing[0], 16, p->n_strip_outgoing);
	dump_list(b, "strip_fwd", p->strip_forwarded[0], 16, p->n_strip_forwarded);
	dump_list(b, "strip_cin", p->strip_connected_in[0], 16, p->n_strip_connected_in);
	dump_list(b, "strip_cout", p->strip_connected_out[0], 16, p->n_strip_connected_out);
	out(b, " ignore=%d\n", p->ignore_connected);
	for (size_t i = 0; i < 7; i++)
		dump_rules(b, lists[i]);
	out(b, " emergency %d [%zu]\n", l->emergency_enabled, l->n_emergency);
	for (size_t i = 0; i < l->n_emergency; i++) {
		const struct dp_emergency *e = &l->emergency[i];

		out(b, "  %s %d /%u", e->name, e->family, e->prefix_len);
		for (int k = 0; k < 16; k++)
			out(b, "%s%02x", k ? ":" : " ", e->addr[k]);
		dump_list(b, "numbers", e->numbers[0], 16, e->n_numbers);
		out(b, " prefix=%s\n", e->prefix);
	}
	out(b, " nanp %d other_free=%d own[%zu] other[%zu]\n", l->nanp.own_mode, l->nanp.other_free,
	    l->nanp.n_own, l->nanp.n_other);
	for (size_t i = 0; i < l->nanp.n_own; i++) {
		out(b, "  own %s", l->nanp.own[i].area);
		dump_list(b, "prefixes", l->nanp.own[i].prefixes[0], 8, l->nanp.own[i].n_prefixes);
		out(b, "\n");
	}
	for (size_t i = 0; i < l->nanp.n_other; i++) {
		out(b, "  other %s", l->nanp.other[i].area);
		dump_list(b, "prefixes", l->nanp.other[i].prefixes[0], 8,
			  l->nanp.other[i].n_prefixes);
		out(b, "\n");
	}
	dump_list(b, "vanity", l->vanity ? l->vanity[0] : "", 16, l->n_vanity);
	out(b, "\n projects[%zu]", l->n_projects);
	for (size_t i = 0; i < l->n_projects; i++)
		out(b, " {%s|%s|%d}", l->projects[i].name, l->projects[i].parameter,
		    l->projects[i].mode);
	out(b, "\n lcr providers[%zu]", l->lcr.n_providers);
	for (size_t i = 0; i < l->lcr.n_providers; i++)
		out(b, " {%s|%s}", l->lcr.providers[i].name, l->lcr.providers[i].prefix);
	out(b, " zones[%zu]\n", l->lcr.n_zones);
	for (size_t i = 0; i < l->lcr.n_zones; i++) {
		const struct dp_lcr_zone *z = &l->lcr.zones[i];

		out(b, "  zone %s", z->name);
		dump_list(b, "prefixes", z->prefixes ? z->prefixes[0] : "", DP_NUMBER_MAX,
			  z->n_prefixes);
		for (int d = 0; d < 3; d++) {
			out(b, " day%d:", d);
			for (int h = 0; h < 48; h++)
				out(b, "%d,", z->assign[d][h]);
		}
		out(b, "\n");
	}
	out(b, " adv %d %d %d %d %d %d %d\n", l->adv.dial_e164, l->adv.always_area,
	    l->adv.auto_redial, l->adv.integrate, l->adv.detect_other, l->adv.search_across,
	    l->adv.abbreviate);
	out(b, " derived %s %zu %u %u\n", l->ddi_prefix, l->ddi_prefix_len, l->ext_len_min,
	    l->ext_len_max);
}

static char *dump_model(const struct dp_model *m)
{
	struct sbuf b = {0};

	out(&b, "%zu locations, default %zu\n", m->n_locations, m->default_location);
	for (size_t i = 0; i < m->n_locations; i++)
		dump_location(&b, &m->locations[i]);
	return b.p;
}

/* Reports the first differing line of two dumps. */
static int same_dump(const char *a, const char *b)
{
	size_t i = 0, line = 1;

	if (strcmp(a, b) == 0)
		return 1;
	while (a[i] && a[i] == b[i])
		line += a[i++] == '\n';
	fprintf(stderr, "dumps differ at line %zu:\n  %.200s\n  %.200s\n", line,
		a + i - (i > 40 ? 40 : i), b + i - (i > 40 ? 40 : i));
	return 0;
}

/* ---- files ---- */

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* A model loaded from dir/locations.xml with the data of base (borrowed). */
static int load_disk(const struct dp_model *base, struct dp_model *m, const char *def)
{
	memset(m, 0, sizeof(*m));
	m->data = base->data;
	m->data_borrowed = true;
	return dp_locations_load(m, path_of("locations.xml"), def, &errs);
}

static int load_text(const struct dp_model *base, struct dp_model *m, const char *xml,
		     const char *def)
{
	memset(m, 0, sizeof(*m));
	m->data = base->data;
	m->data_borrowed = true;
	return dp_locations_load_memory(m, "locations.xml", xml, strlen(xml), def, &errs);
}

static json_t *locations_array(const struct dp_model *m)
{
	int n = dp_locations_json(m, NULL, 0);
	char *buf = malloc((size_t)n + 1);
	json_t *a;

	CHECK_INT(dp_locations_json(m, buf, (size_t)n + 1), ==, n);
	a = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_is_array(a));
	free(buf);
	return a;
}

static struct dp_edit edit_of(const struct dp_model *cur, const char *def)
{
	return (struct dp_edit){cur, dir, DP_DATA_DIR, def};
}

/* ---- the round trip ---- */

/* Every location of m, as JSON and put back unchanged, gives m again; and
 * so does the file written from the last one. */
static void round_trip(struct dp_model *m, const char *def, const char *what)
{
	char *before = dump_model(m), *after;
	json_t *a = locations_array(m), *v;
	size_t i;
	int defaults = 0;

	fprintf(stderr, "round trip: %s\n", what);
	CHECK_INT(json_array_size(a), ==, m->n_locations);
	json_array_foreach(a, i, v)
	{
		struct dp_edit e = edit_of(m, def);
		struct dp_model next;
		char *text = json_dumps(v, JSON_COMPACT), err[512], name[64];
		json_t *again;
		bool warn;

		defaults += json_is_true(json_object_get(v, "default"));
		CHECK_INT(dp_edit_put(&e, text, strlen(text), &next, name, sizeof(name), err,
				      sizeof(err)),
			  ==, 0);
		if (err[0])
			fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(v, "name")),
				err);
		CHECK_STR(name, json_string_value(json_object_get(v, "name")));
		after = dump_model(&next);
		CHECK(same_dump(before, after));
		free(after);
		/* and it reads back as the same JSON */
		again = locations_array(&next);
		CHECK(json_equal(again, a));
		json_decref(again);
		if (i + 1 == json_array_size(a)) {
			struct dp_model disk;

			CHECK_INT(dp_edit_write(dir, &next, &warn, err, sizeof(err)), ==, 0);
			CHECK_INT(load_disk(m, &disk, def), ==, 0);
			after = dump_model(&disk);
			CHECK(same_dump(before, after));
			free(after);
			dp_model_free(&disk);
		}
		dp_model_free(&next);
		free(text);
	}
	CHECK_INT(defaults, ==, 1);
	json_decref(a);
	free(before);
}

/* Features the fixture does not use: extension prefix, IPv6 with a zone,
 * NANP own and other rules, a whole other area, default project mode,
 * rules without replacement, LCR on several days and a zone without
 * assignments, no <pbx> at all, strip lists of several entries. */
static const char every_feature[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<locations>\n"
	"  <location name=\"Zug\">\n"
	"    <country>41</country><areaCode>041</areaCode>\n"
	"    <pbx><baseNumber>2223</baseNumber><extensionPrefix low=\"2\" high=\"5\"/>\n"
	"      <internalLength min=\"2\" max=\"4\"/>\n"
	"      <access local=\"0\" national=\"0\" international=\"0\" private=\"*5eeee\" forward=\"0\"/>\n"
	"      <strip incoming=\"0, 00\" outgoing=\"0,00,000\" connectedOutgoing=\"\"\n"
	"             ignoreConnectedId=\"true\"/></pbx>\n"
	"    <rules><external><rule search=\"110\"/><rule search=\"112\" regex=\"false\"/></external>\n"
	"      <lineNumbers><rule search=\"^9(.*)\" replace=\"\\1\" regex=\"true\"/></lineNumbers>\n"
	"      <outgoing><rule search=\"^0(.*)$\" replace=\"80\\1\" regex=\"true\"/></outgoing></rules>\n"
	"    <emergency enabled=\"true\">\n"
	"      <entry name=\"V6\" subnet=\"fe80::c91b:d632:2a35:89df%3/60\" numbers=\"112\" prefix=\"#1\"/>\n"
	"      <entry subnet=\"10.1.2.77/24\" numbers=\"110,112,117\"/>\n"
	"    </emergency>\n"
	"    <vanity><prefix>800</prefix><prefix>700</prefix></vanity>\n"
	"    <projects><project name=\"Default\" parameter=\"80\"/>\n"
	"      <project name=\"Empty\"/></projects>\n"
	"    <lcr>\n"
	"      <zone name=\"mobile\"><prefix>+4179</prefix><prefix>+4178</prefix>\n"
	"        <assign day=\"sunday\" provider=\"B\"/>\n"
	"        <assign day=\"weekday\" from=\"08:00\" to=\"12:30\" provider=\"A\"/>\n"
	"        <assign day=\"weekday\" from=\"12:30\" to=\"18:00\" provider=\"A\"/>\n"
	"        <assign day=\"saturday\" from=\"00:00\" to=\"00:30\" provider=\"B\"/>\n"
	"        <assign day=\"saturday\" from=\"23:30\" to=\"24:00\" provider=\"A\"/>\n"
	"      </zone>\n"
	"      <zone name=\"idle\"/>\n"
	"      <provider name=\"A\" prefix=\"10767\"/><provider name=\"B\" prefix=\"10733\"/>\n"
	"    </lcr>\n"
	"    <advanced dialFormat=\"e164\" alwaysAreaCode=\"true\" autoRedial=\"false\"/>\n"
	"  </location>\n"
	"  <location name=\"Washington\">\n"
	"    <country>1</country><areaCode>202</areaCode>\n"
	"    <areaCodeRules ownArea=\"free-listed\" otherFree=\"true\">\n"
	"      <own prefixes=\"333,444\"/>\n"
	"      <other area=\"301\" prefixes=\"555, 556\"/>\n"
	"      <other area=\"703\"/>\n"
	"    </areaCodeRules>\n"
	"  </location>\n"
	"  <location name=\"Rome\">\n"
	"    <country>39</country><areaCode>06</areaCode>\n"
	"    <pbx enabled=\"false\" lineType=\"msn\"/>\n"
	"  </location>\n"
	"</locations>\n";

static const char *const others[] = {
	DP_FIXTURES_DIR "/../fixtures-oracle/locations.xml",
	DP_FIXTURES_DIR "/../../../../tests/bench/dialplan/locations.xml",
};

static void test_round_trip(struct dp_model *fixture)
{
	struct dp_model m;

	round_trip(fixture, NULL, "fixtures/locations.xml");
	/* the fixture again, with a configured default that is not the first */
	CHECK_INT(load_text(fixture, &m, fixture->source, "Zurich"), ==, 0);
	round_trip(&m, "Zurich", "fixtures/locations.xml, default Zurich");
	dp_model_free(&m);
	CHECK_INT(load_text(fixture, &m, every_feature, NULL), ==, 0);
	round_trip(&m, NULL, "every other feature");
	dp_model_free(&m);
	/* the other location files of the tree: the oracle's and the benchmark's */
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char *text = test_read_file(others[i]);

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK_INT(load_text(fixture, &m, text, NULL), ==, 0);
		round_trip(&m, NULL, others[i]);
		dp_model_free(&m);
		free(text);
	}
	/* leave the fixture on disk for the tests that follow */
	test_write_file(path_of("locations.xml"), fixture->source);
}

/* The JSON form itself, for one location whose values are known. */
static void test_json_form(struct dp_model *fixture)
{
	json_t *a = locations_array(fixture), *s = json_array_get(a, 0), *z;
	char small[8];
	int n;
	char *text;

	text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "Starnberg");
	CHECK(json_is_true(json_object_get(s, "default")));
	CHECK(json_is_false(json_object_get(json_array_get(a, 1), "default")));
	CHECK_STR(json_string_value(json_object_get(s, "country")), "49");
	/* the leading 0 is not kept */
	CHECK_STR(json_string_value(json_object_get(s, "areaCode")), "8151");
	CHECK_CONTAINS(text, "\"extensions\":{\"from\":100,\"to\":999}");
	CHECK_CONTAINS(text, "\"extensionPrefix\":null");
	CHECK_CONTAINS(text, "\"internalLength\":{\"max\":3,\"min\":3}");
	CHECK_CONTAINS(text,
		       "\"access\":{\"forward\":\"0\",\"international\":\"0\",\"local\":\"0\","
		       "\"national\":\"0\",\"private\":\"8\"}");
	CHECK_CONTAINS(text, "\"incoming\":[\"0\"]");
	CHECK_CONTAINS(text,
		       "\"external\":[{\"regex\":true,\"replace\":\"\",\"search\":\"^11[02]$\"}]");
	CHECK_CONTAINS(text, "{\"name\":\"Remote\",\"numbers\":[\"112\"],\"prefix\":\"*92\","
			     "\"subnet\":\"2001:db8::/32\"}");
	CHECK_CONTAINS(text, "\"vanity\":[\"800\"]");
	CHECK_CONTAINS(text, "{\"mode\":\"private\",\"name\":\"Personal\",\"parameter\":\"\"}");
	CHECK_CONTAINS(text, "\"assign\":[{\"day\":\"weekday\",\"from\":\"08:00\",\"provider\":"
			     "\"Cheap\",\"to\":\"18:00\"},{\"day\":\"weekday\",\"from\":\"18:00\","
			     "\"provider\":\"Night\",\"to\":\"24:00\"}]");
	CHECK_CONTAINS(text, "\"areaCodeRules\":{\"other\":[],\"otherFree\":false,\"own\":[],"
			     "\"ownArea\":\"all-free\"}");
	CHECK_CONTAINS(text, "\"advanced\":{\"abbreviate\":false,\"alwaysAreaCode\":false,"
			     "\"autoRedial\":true,\"detectOtherLocations\":false,\"dialFormat\":"
			     "\"rules\",\"integrate\":false,\"searchAcross\":false}");
	free(text);
	/* generated rules are not part of it: Berlin abbreviates Munich's numbers */
	z = json_array_get(a, 4);
	CHECK_STR(json_string_value(json_object_get(z, "name")), "Berlin");
	CHECK_INT(json_array_size(json_object_get(json_object_get(z, "rules"), "dial")), ==, 0);
	CHECK(dp_location_find(fixture, "Berlin")->dial.count > 0);
	/* snprintf rules */
	n = dp_locations_json(fixture, small, sizeof(small));
	CHECK(n > (int)sizeof(small));
	CHECK_INT(strlen(small), ==, sizeof(small) - 1);
	CHECK(strncmp(small, "[{\"name", 7) == 0);
	CHECK_INT(dp_locations_json(NULL, small, sizeof(small)), ==, 2);
	CHECK_STR(small, "[]");
	json_decref(a);
}

/* ---- put: errors ---- */

/* A small valid location to vary. */
#define LOC(extra) "{\"name\":\"Test\",\"country\":\"49\",\"areaCode\":\"0711\"" extra "}"

struct bad {
	const char *json;
	int rc;
	const char *err; /* the whole message when it starts with '=', else a part */
};

static const struct bad bad_docs[] = {
	/* the document */
	{"", -EINVAL,
	 "=document: invalid JSON at line 1 column 0: '[' or '{' expected near end of file"},
	{"{\"name\":\"A\",", -EINVAL, "document: invalid JSON at line 1"},
	{"[]", -EINVAL, "=document: expected a JSON object, got an array"},
	{"{\"name\":\"A\",\"name\":\"B\",\"country\":\"49\"}", -EINVAL, "duplicate object key"},
	/* top level */
	{LOC(",\"colour\":\"red\""), -EINVAL, "=colour: unknown key"},
	{"{\"country\":\"49\"}", -EINVAL, "=name: required"},
	{"{\"name\":\"A\"}", -EINVAL, "=country: required"},
	{"{\"name\":7,\"country\":\"49\"}", -EINVAL, "=name: expected a string, got an integer"},
	{"{\"name\":\"\",\"country\":\"49\"}", -EINVAL, "=name: 1 to 63 bytes"},
	{"{\"name\":\"0123456789012345678901234567890123456789012345678901234567890123\","
	 "\"country\":\"49\"}",
	 -EINVAL, "=name: 1 to 63 bytes"},
	{"{\"name\":\"A\\u0001\",\"country\":\"49\"}", -EINVAL,
	 "=name: contains a control character"},
	{"{\"name\":\"A\\u0000\",\"country\":\"49\"}", -EINVAL, "document: invalid JSON"},
	{LOC(",\"default\":\"yes\""), -EINVAL, "=default: expected true or false, got a string"},
	{LOC(",\"default\":true"), -EINVAL, "default: this location would not be the default"},
	{LOC(",\"pbx\":[]"), -EINVAL, "=pbx: expected an object, got an array"},
	{LOC(",\"pbx\":null"), -EINVAL, "=pbx: expected an object, got null"},
	{LOC(",\"vanity\":{}"), -EINVAL, "=vanity: expected an array, got an object"},
	/* pbx */
	{LOC(",\"pbx\":{\"enabled\":1}"), -EINVAL,
	 "=pbx.enabled: expected true or false, got an integer"},
	{LOC(",\"pbx\":{\"lineType\":\"isdn\"}"), -EINVAL,
	 "=pbx: <pbx lineType=\"isdn\">: expected ddi or msn"},
	{LOC(",\"pbx\":{\"extensions\":{\"from\":100}}"), -EINVAL, "=pbx.extensions.to: required"},
	{LOC(",\"pbx\":{\"extensions\":{\"from\":\"100\",\"to\":200}}"), -EINVAL,
	 "=pbx.extensions.from: expected an integer, got a string"},
	{LOC(",\"pbx\":{\"extensions\":{\"from\":1.5,\"to\":200}}"), -EINVAL,
	 "=pbx.extensions.from: expected an integer, got a real number"},
	{LOC(",\"pbx\":{\"extensions\":{\"from\":1,\"to\":2,\"step\":1}}"), -EINVAL,
	 "=pbx.extensions.step: unknown key"},
	{LOC(",\"pbx\":{\"baseNumber\":\"1\",\"extensions\":{\"from\":300,\"to\":200}}"), -EINVAL,
	 "=pbx.extensions: <extensions from=\"300\" to=\"200\">: from is greater than to"},
	{LOC(",\"pbx\":{\"baseNumber\":\"1\",\"extensions\":{\"from\":-3,\"to\":200}}"), -EINVAL,
	 "=pbx.extensions: <extensions from=\"-3\">: not a number"},
	{LOC(",\"pbx\":{\"extensions\":{\"from\":3,\"to\":200}}"), -EINVAL,
	 "=pbx: <pbx lineType=\"ddi\">: <baseNumber> missing"},
	{LOC(",\"pbx\":{\"baseNumber\":\"12a\"}"), -EINVAL,
	 "=pbx.baseNumber: <baseNumber>: \"12a\" is not a number"},
	{LOC(",\"pbx\":{\"internalLength\":{\"min\":0,\"max\":3}}"), -EINVAL,
	 "=pbx.internalLength: <internalLength min=\"0\" max=\"3\">: expected 1 <= min <= max <= 16"},
	{LOC(",\"pbx\":{\"extensionPrefix\":{\"low\":2,\"high\":1}}"), -EINVAL,
	 "pbx.extensionPrefix: "},
	{LOC(",\"pbx\":{\"access\":{\"local\":0}}"), -EINVAL,
	 "=pbx.access.local: expected a string, got an integer"},
	{LOC(",\"pbx\":{\"access\":{\"local\":\"0\",\"remote\":\"1\"}}"), -EINVAL,
	 "=pbx.access.remote: unknown key"},
	{LOC(",\"pbx\":{\"access\":{\"national\":\"0x\"}}"), -EINVAL,
	 "=pbx.access: <access national=\"0x\">: only digits, * and # allowed"},
	{LOC(",\"pbx\":{\"strip\":{\"incoming\":\"0\"}}"), -EINVAL,
	 "=pbx.strip.incoming: expected an array, got a string"},
	{LOC(",\"pbx\":{\"strip\":{\"incoming\":[\"0\",\"0,1\"]}}"), -EINVAL,
	 "=pbx.strip.incoming[1]: \"0,1\": a list entry cannot contain a comma"},
	{LOC(",\"pbx\":{\"strip\":{\"incoming\":[\"0\",1]}}"), -EINVAL,
	 "=pbx.strip.incoming[1]: expected a string, got an integer"},
	{LOC(",\"pbx\":{\"strip\":{\"outgoing\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}}"), -EINVAL,
	 "=pbx.strip: <strip outgoing=\"1,2,3,4,5\">: more than 4 entries"},
	/* rules */
	{LOC(",\"rules\":{\"special\":[]}"), -EINVAL, "=rules.special: unknown key"},
	{LOC(",\"rules\":{\"dial\":{}}"), -EINVAL, "=rules.dial: expected an array, got an object"},
	{LOC(",\"rules\":{\"dial\":[\"^0\"]}"), -EINVAL,
	 "=rules.dial[0]: expected an object, got a string"},
	{LOC(",\"rules\":{\"dial\":[{\"replace\":\"1\"}]}"), -EINVAL,
	 "=rules.dial[0].search: required"},
	{LOC(",\"rules\":{\"dial\":[{\"search\":\"1\",\"flags\":\"i\"}]}"), -EINVAL,
	 "=rules.dial[0].flags: unknown key"},
	{LOC(",\"rules\":{\"dial\":[{\"search\":\"1\",\"regex\":\"true\"}]}"), -EINVAL,
	 "=rules.dial[0].regex: expected true or false, got a string"},
	{LOC(",\"rules\":{\"dial\":[{\"search\":\"1\"},{\"search\":\"(\",\"regex\":true}]}"),
	 -EINVAL, "rules.dial[1]: dial rule \"(\""},
	{LOC(",\"rules\":{\"dial\":[{\"search\":\"\"}]}"), -EINVAL,
	 "=rules.dial[0]: <dial>: <rule> without search"},
	/* emergency */
	{LOC(",\"emergency\":{\"enabled\":true,\"entries\":[{\"subnet\":\"10.0.0.0/33\",\"numbers\":[\"112\"]}]}"),
	 -EINVAL,
	 "=emergency.entries[0]: <entry subnet=\"10.0.0.0/33\">: prefix length 33 is greater than 32"},
	{LOC(",\"emergency\":{\"entries\":[{\"subnet\":\"10.0.0.0/8\"}]}"), -EINVAL,
	 "=emergency.entries[0].numbers: required"},
	{LOC(",\"emergency\":{\"entries\":[{\"numbers\":[\"112\"]}]}"), -EINVAL,
	 "=emergency.entries[0].subnet: required"},
	{LOC(",\"emergency\":{\"entries\":[{\"subnet\":\"10.0.0.0/8\",\"numbers\":[]}]}"), -EINVAL,
	 "=emergency.entries[0]: <entry name=\"\">: no numbers"},
	{LOC(",\"emergency\":{\"entries\":[{\"subnet\":\"10.0.0.0/8\",\"numbers\":[\"112\"],\"name\":\"a b\"}]}"),
	 -EINVAL, "=emergency.entries[0]: <entry name=\"a b\">: only letters and digits allowed"},
	{LOC(",\"emergency\":{\"on\":true}"), -EINVAL, "=emergency.on: unknown key"},
	/* NANP area code rules */
	{LOC(",\"areaCodeRules\":{\"ownArea\":\"chargeable-listed\"}"), -EINVAL,
	 "=areaCodeRules: <areaCodeRules>: only for NANP locations (country 1)"},
	{"{\"name\":\"US\",\"country\":\"1\",\"areaCode\":\"212\",\"areaCodeRules\":{\"ownArea\":\"some\"}}",
	 -EINVAL,
	 "=areaCodeRules: <areaCodeRules ownArea=\"some\">: expected all-free, "
	 "chargeable-listed or free-listed"},
	{"{\"name\":\"US\",\"country\":\"1\",\"areaCode\":\"212\",\"areaCodeRules\":{\"otherFree\":true,"
	 "\"other\":[{\"prefixes\":[\"555\"]}]}}",
	 -EINVAL, "=areaCodeRules.other[0].area: required"},
	{"{\"name\":\"US\",\"country\":\"1\",\"areaCode\":\"212\",\"areaCodeRules\":{\"ownArea\":"
	 "\"free-listed\",\"own\":[{\"area\":\"718\",\"prefixes\":[\"555\"]}]}}",
	 -EINVAL, "=areaCodeRules.own[0]: <own area=\"718\">: the location's area code is \"212\""},
	{"{\"name\":\"US\",\"country\":\"1\",\"areaCode\":\"212\",\"areaCodeRules\":{\"otherFree\":\"no\"}}",
	 -EINVAL, "=areaCodeRules.otherFree: expected true or false, got a string"},
	/* vanity, projects */
	{LOC(",\"vanity\":[\"800\",\"8o0\"]"), -EINVAL,
	 "=vanity[1]: <vanity>: prefix \"8o0\" is not a number"},
	{LOC(",\"vanity\":[800]"), -EINVAL, "=vanity[0]: expected a string, got an integer"},
	{LOC(",\"projects\":[{\"name\":\"P\",\"mode\":\"sometimes\"}]"), -EINVAL,
	 "=projects[0]: <project name=\"P\" mode=\"sometimes\">: expected journal, "
	 "dial-and-journal, dial or private"},
	{LOC(",\"projects\":[{\"name\":\"P\"},{\"name\":\"P\"}]"), -EINVAL,
	 "=projects[1]: <project name=\"P\">: name used twice"},
	{LOC(",\"projects\":[{\"parameter\":\"1\"}]"), -EINVAL, "=projects[0].name: required"},
	{LOC(",\"projects\":[{\"name\":\"P\",\"parameter\":\"1Q\"}]"), -EINVAL, "projects[0]: "},
	/* LCR */
	{LOC(",\"lcr\":{\"providers\":[{\"name\":\"A\"}]}"), -EINVAL,
	 "=lcr.providers[0].prefix: required"},
	{LOC(",\"lcr\":{\"providers\":[{\"name\":\"A\",\"prefix\":\"1x\"}]}"), -EINVAL,
	 "=lcr.providers[0]: <provider name=\"A\">: prefix missing or not a number"},
	{LOC(",\"lcr\":{\"zones\":[{\"name\":\"z\",\"prefixes\":[\"4917\"]}]}"), -EINVAL,
	 "lcr.zones[0].prefixes[0]: <zone name=\"z\">: prefix \"4917\" is not canonical"},
	{LOC(",\"lcr\":{\"zones\":[{\"name\":\"z\",\"assign\":[{\"day\":\"weekday\",\"provider\":\"X\"}]}]}"),
	 -EINVAL, "=lcr.zones[0].assign[0]: <assign provider=\"X\">: no such <provider>"},
	{LOC(",\"lcr\":{\"providers\":[{\"name\":\"A\",\"prefix\":\"1\"}],\"zones\":[{\"name\":\"z\","
	     "\"assign\":[{\"day\":\"weekday\",\"provider\":\"A\"},{\"day\":\"weekday\",\"from\":"
	     "\"08:00\",\"to\":\"08:15\",\"provider\":\"A\"}]}]}"),
	 -EINVAL,
	 "lcr.zones[0].assign[1]: <assign from=\"08:00\" to=\"08:15\">: expected half hours"},
	{LOC(",\"lcr\":{\"zones\":[{\"name\":\"z\",\"assign\":[{\"provider\":\"A\"}]}]}"), -EINVAL,
	 "=lcr.zones[0].assign[0].day: required"},
	{LOC(",\"lcr\":{\"zones\":[7]}"), -EINVAL,
	 "=lcr.zones[0]: expected an object, got an integer"},
	{LOC(",\"lcr\":{\"zone\":[]}"), -EINVAL, "=lcr.zone: unknown key"},
	/* advanced */
	{LOC(",\"advanced\":{\"dialFormat\":\"e.164\"}"), -EINVAL,
	 "=advanced: <advanced dialFormat=\"e.164\">: expected rules or e164"},
	{LOC(",\"advanced\":{\"abbreviate\":null}"), -EINVAL,
	 "=advanced.abbreviate: expected true or false, got null"},
	/* values only the loader knows are wrong */
	{"{\"name\":\"T\",\"country\":\"999\"}", -EINVAL,
	 "=country: <country>: no country with calling code \"999\""},
	{"{\"name\":\"T\",\"country\":\"49\",\"areaCode\":\"0089\"}", -EINVAL,
	 "=areaCode: <areaCode>: \"0089\" is not an area code"},
	/* several problems: the first, and how many more */
	{LOC(",\"vanity\":[\"x\",\"y\"]"), -EINVAL,
	 "=vanity[0]: <vanity>: prefix \"x\" is not a number (and 1 more problem)"},
	{LOC(",\"vanity\":[\"x\",\"y\",\"z\"]"), -EINVAL,
	 "=vanity[0]: <vanity>: prefix \"x\" is not a number (and 2 more problems)"},
	/* the whole model: integrated locations may not share numbers - the
	 * fixture's Berlin is +49 30 1234 300-399 */
	{"{\"name\":\"Berlin2\",\"country\":\"49\",\"areaCode\":\"030\",\"pbx\":{\"baseNumber\":"
	 "\"123\",\"extensions\":{\"from\":4300,\"to\":4399}},\"advanced\":{\"integrate\":true}}",
	 -EINVAL,
	 "location \"Berlin2\": DDI numbers +4930123... overlap those of location "
	 "\"Berlin\" (+49301234..., line "},
};

/* put must fail with rc and err; the running model stays as it was and
 * nothing is built. */
static void expect_bad(const struct dp_edit *e, const char *json, size_t len, int rc,
		       const char *want)
{
	char *before = e->cur ? dump_model(e->cur) : NULL, *after, err[512], name[64];
	struct dp_model next;

	memset(&next, 0xa5, sizeof(next));
	CHECK_INT(dp_edit_put(e, json, len, &next, name, sizeof(name), err, sizeof(err)), ==, rc);
	if (want[0] == '=')
		CHECK_STR(err, want + 1);
	else
		CHECK_CONTAINS(err, want);
	CHECK(next.locations == NULL && next.n_locations == 0 && next.source == NULL);
	CHECK_STR(name, "");
	if (before) {
		after = dump_model(e->cur);
		CHECK(same_dump(before, after));
		free(after);
	}
	free(before);
}

static void test_put_errors(struct dp_model *fixture)
{
	struct dp_edit e = edit_of(fixture, NULL);
	const char *json;
	char *big;
	size_t n;

	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++)
		expect_bad(&e, bad_docs[i].json, strlen(bad_docs[i].json), bad_docs[i].rc,
			   bad_docs[i].err);
	/* limits: the document, a string, an array */
	big = malloc(DP_JSON_DOC_MAX + 2);
	if (!big)
		abort();
	memset(big, ' ', DP_JSON_DOC_MAX + 1);
	memcpy(big, "{}", 2);
	expect_bad(&e, big, DP_JSON_DOC_MAX + 1, -EINVAL, "=document: larger than 1048576 bytes");
	n = (size_t)sprintf(big, "{\"name\":\"T\",\"country\":\"49\",\"areaCode\":\"");
	memset(big + n, '1', DP_JSON_TEXT_MAX + 1);
	strcpy(big + n + DP_JSON_TEXT_MAX + 1, "\"}");
	expect_bad(&e, big, strlen(big), -EINVAL, "=areaCode: longer than 4096 bytes");
	n = (size_t)sprintf(big, "{\"name\":\"T\",\"country\":\"49\",\"vanity\":[");
	for (int i = 0; i <= 10000; i++)
		n += (size_t)sprintf(big + n, "%s\"1\"", i ? "," : "");
	strcpy(big + n, "]}");
	expect_bad(&e, big, strlen(big), -EINVAL, "=vanity: more than 10000 entries");
	free(big);
	/* a document that is not NUL-terminated is read only up to len */
	expect_bad(&e, LOC("") "garbage", strlen(LOC("")) + 3, -EINVAL, "document: invalid JSON");
	/* the default is decided by the configuration: a read object that
	 * says otherwise cannot be written back */
	json = "{\"name\":\"Zurich\",\"country\":\"41\",\"default\":true}";
	expect_bad(&e, json, strlen(json), -EINVAL,
		   "default: this location would not be the default location");
	json = "{\"name\":\"Starnberg\",\"country\":\"49\",\"default\":false}";
	expect_bad(&e, json, strlen(json), -EINVAL,
		   "=default: this location is the default location (dialplan.default_location, "
		   "else the first location decides; it cannot be changed here)");
	/* a configured default that the new document does not hold */
	e = edit_of(NULL, "Nowhere");
	expect_bad(&e, LOC(""), strlen(LOC("")), -EINVAL,
		   "=default location \"Nowhere\" is not in the file");
	/* reference data that cannot be loaded */
	e = (struct dp_edit){NULL, dir, "/nonexistent", NULL};
	expect_bad(&e, LOC(""), strlen(LOC("")), -EIO,
		   "the dialplan's reference data cannot be loaded: ");
}

/* ---- put: what it builds ---- */

static int put(const struct dp_model *cur, const char *def, const char *json, struct dp_model *next)
{
	struct dp_edit e = edit_of(cur, def);
	char err[512], name[64];
	int rc = dp_edit_put(&e, json, strlen(json), next, name, sizeof(name), err, sizeof(err));

	if (rc)
		fprintf(stderr, "put: %s\n", err);
	return rc;
}

static void test_put(struct dp_model *fixture)
{
	static const char added[] =
		"{\"name\":\"Stuttgart\",\"country\":\"49\",\"areaCode\":\"0711\",\"default\":false,"
		"\"pbx\":{\"baseNumber\":\"4711\",\"extensions\":{\"from\":10,\"to\":59},"
		"\"access\":{\"local\":\"0\",\"national\":\"0\",\"international\":\"0\"}},"
		"\"rules\":{\"dial\":[{\"search\":\"^0(.*)\",\"replace\":\"\\\\1\",\"regex\":true}]},"
		"\"advanced\":{\"integrate\":true,\"detectOtherLocations\":true}}";
	struct dp_model next, next2;
	const struct dp_location *l;
	struct ucs_dp_number num;
	char *before = dump_model(fixture), *after;

	/* a new location is added at the end, after the comments and layout of
	 * the others, indented like them */
	CHECK_INT(put(fixture, NULL, added, &next), ==, 0);
	CHECK_INT(next.n_locations, ==, 7);
	CHECK(next.data_borrowed);
	CHECK(next.data.countries == fixture->data.countries);
	CHECK_STR(next.locations[6].name, "Stuttgart");
	CHECK_STR(next.locations[6].area, "711");
	CHECK_INT(next.default_location, ==, 0);
	CHECK_CONTAINS(next.source, "<!-- DE, DDI line: +49 8151 36856-100..999 -->");
	CHECK_CONTAINS(next.source,
		       "<!-- the fax server answers on 2000, outside the DDI range -->");
	CHECK_CONTAINS(next.source, "  </location>\n  <location name=\"Stuttgart\">\n"
				    "    <country>49</country>\n    <areaCode>0711</areaCode>\n"
				    "    <pbx>\n      <baseNumber>4711</baseNumber>\n"
				    "      <extensions from=\"10\" to=\"59\"/>\n");
	CHECK_CONTAINS(next.source,
		       "    <advanced integrate=\"true\" detectOtherLocations=\"true\"/>\n"
		       "  </location>\n</locations>");
	/* the model is complete: the location works, and the integrated
	 * locations know its numbers (Berlin detects them, and so the new
	 * location detects theirs) */
	l = dp_location_find(&next, "Stuttgart");
	CHECK(l && l->pbx.has_range && l->ext_len_min == 2);
	CHECK_INT(dp_format(&next, l, UCS_DP_CALLER, "42", &num, NULL, NULL), ==, 0);
	CHECK_STR(num.canonical.text, "+49711471142");
	CHECK_INT(dp_format(&next, dp_location_find(&next, "Berlin"), UCS_DP_CALLER, "42", &num,
			    NULL, NULL),
		  ==, 0);
	CHECK_STR(num.canonical.text, "+49711471142");
	CHECK_INT(dp_format(&next, l, UCS_DP_CALLER, "310", &num, NULL, NULL), ==, 0);
	CHECK_STR(num.canonical.text, "+49301234310");
	/* the running model is untouched */
	after = dump_model(fixture);
	CHECK(same_dump(before, after));
	free(after);

	/* a replaced location keeps its place; the others stay as written */
	CHECK_INT(
		put(&next, NULL,
		    "{\"name\":\"Zurich\",\"country\":\"41\",\"areaCode\":\"044\",\"default\":false,"
		    "\"pbx\":{\"baseNumber\":\"55520\",\"extensions\":{\"from\":10,\"to\":99}}}",
		    &next2),
		==, 0);
	CHECK_INT(next2.n_locations, ==, 7);
	CHECK_STR(next2.locations[2].name, "Zurich");
	CHECK_STR(next2.locations[2].pbx.base, "55520");
	CHECK_STR(next2.locations[2].pbx.access_local, "");
	CHECK_STR(next2.locations[6].name, "Stuttgart");
	CHECK_CONTAINS(next2.source, "<!-- CH: +41 44 555 10 + two-digit extensions -->\n"
				     "  <location name=\"Zurich\">\n    <country>41</country>\n");
	CHECK(strstr(next2.source, "55510") == NULL);
	CHECK_CONTAINS(next2.source, "<!-- US (NANP): +1 212 555-4000..4999, access code 9 -->");
	/* and the default can be written back saying so */
	dp_model_free(&next);
	CHECK_INT(put(&next2, NULL, "{\"name\":\"Starnberg\",\"country\":\"49\",\"default\":true}",
		      &next),
		  ==, 0);
	CHECK_INT(next.default_location, ==, 0);
	CHECK_INT(next.locations[0].pbx.enabled, ==, 0);
	dp_model_free(&next);
	dp_model_free(&next2);
	free(before);
}

/* With no locations at all (a fresh server): a new document, and the
 * reference data loaded for it. */
static void test_put_first(struct dp_model *fixture)
{
	struct dp_model next, disk;
	char err[512], *a, *b, *text;
	bool warn;

	unlink(path_of("locations.xml"));
	unlink(path_of("locations.xml.bak"));
	CHECK_INT(put(NULL, NULL,
		      "{\"name\":\"Solo\",\"country\":\"43\",\"areaCode\":\"01\","
		      "\"default\":true}",
		      &next),
		  ==, 0);
	CHECK_INT(next.n_locations, ==, 1);
	CHECK(!next.data_borrowed);
	CHECK(next.data.n_countries == fixture->data.n_countries);
	CHECK_STR(next.locations[0].area, "1");
	CHECK_STR(next.source, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<locations>\n"
			       "  <location name=\"Solo\">\n    <country>43</country>\n"
			       "    <areaCode>01</areaCode>\n  </location>\n</locations>\n");
	CHECK_INT(dp_edit_write(dir, &next, &warn, err, sizeof(err)), ==, 0);
	CHECK(access(path_of("locations.xml.bak"), F_OK) != 0);
	text = test_read_file(path_of("locations.xml"));
	CHECK_STR(text, next.source);
	free(text);
	CHECK_INT(load_disk(fixture, &disk, NULL), ==, 0);
	a = dump_model(&next);
	b = dump_model(&disk);
	CHECK(same_dump(a, b));
	free(a);
	free(b);
	dp_model_free(&disk);
	dp_model_free(&next);
	/* the configured default, when it is the one created */
	CHECK_INT(
		put(NULL, "Solo", "{\"name\":\"Solo\",\"country\":\"43\",\"default\":true}", &next),
		==, 0);
	dp_model_free(&next);
	test_write_file(path_of("locations.xml"), fixture->source);
}

/* ---- remove ---- */

static void test_remove(struct dp_model *fixture)
{
	struct dp_edit e = edit_of(fixture, NULL);
	struct dp_model next, one, none;
	char err[512], *before = dump_model(fixture), *after;
	json_t *a;

	memset(&next, 0xa5, sizeof(next));
	CHECK_INT(dp_edit_remove(&e, "Atlantis", &next, err, sizeof(err)), ==, -ENOENT);
	CHECK_STR(err, "no location \"Atlantis\"");
	CHECK(next.locations == NULL && next.source == NULL);
	CHECK_INT(dp_edit_remove(&e, NULL, &next, err, sizeof(err)), ==, -ENOENT);
	CHECK_INT(dp_edit_remove(&e, "", &next, err, sizeof(err)), ==, -ENOENT);
	/* the default (the first) while others exist */
	CHECK_INT(dp_edit_remove(&e, "Starnberg", &next, err, sizeof(err)), ==, -EBUSY);
	CHECK_CONTAINS(err, "location \"Starnberg\" is the default location");
	/* a configured default */
	CHECK_INT(load_text(fixture, &one, fixture->source, "Zurich"), ==, 0);
	e = edit_of(&one, "Zurich");
	CHECK_INT(dp_edit_remove(&e, "Zurich", &next, err, sizeof(err)), ==, -EBUSY);
	CHECK_INT(dp_edit_remove(&e, "Starnberg", &next, err, sizeof(err)), ==, 0);
	CHECK_INT(next.n_locations, ==, 5);
	CHECK_STR(next.locations[next.default_location].name, "Zurich");
	dp_model_free(&next);
	dp_model_free(&one);
	after = dump_model(fixture);
	CHECK(same_dump(before, after));
	free(after);
	/* another one: Munich goes, and with it Berlin's rules for its numbers */
	e = edit_of(fixture, NULL);
	CHECK_INT(dp_edit_remove(&e, "Munich", &next, err, sizeof(err)), ==, 0);
	CHECK_INT(next.n_locations, ==, 5);
	CHECK(dp_location_find(&next, "Munich") == NULL);
	CHECK_INT(fixture->locations[4].dial.count, ==, 1);
	CHECK_INT(next.locations[4].dial.count, ==, 0);
	CHECK(strstr(next.source, "<location name=\"Munich\"") == NULL);
	CHECK_CONTAINS(next.source, "detectOtherLocations=\"true\" searchAcross=\"true\" "
				    "abbreviate=\"true\"/>\n  </location>\n</locations>");
	/* the remaining locations are what they were */
	a = locations_array(&next);
	{
		json_t *all = locations_array(fixture);

		CHECK(json_array_remove(all, 5) == 0);
		CHECK(json_equal(a, all));
		json_decref(all);
	}
	json_decref(a);
	/* down to one, which is then the default and may go */
	CHECK_INT(load_text(fixture, &one,
			    "<locations><location name=\"A\"><country>49</country></location>"
			    "<location name=\"B\"><country>49</country></location></locations>",
			    NULL),
		  ==, 0);
	e = edit_of(&one, NULL);
	CHECK_INT(dp_edit_remove(&e, "A", &none, err, sizeof(err)), ==, -EBUSY);
	CHECK_INT(dp_edit_remove(&e, "B", &none, err, sizeof(err)), ==, 0);
	/* no whitespace to take along: the document stays well-formed */
	CHECK_STR(none.source,
		  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<locations><location name=\"A\">"
		  "<country>49</country></location></locations>\n");
	dp_model_free(&one);
	one = none;
	e = edit_of(&one, NULL);
	CHECK_INT(dp_edit_remove(&e, "A", &none, err, sizeof(err)), ==, 0);
	CHECK_INT(none.n_locations, ==, 0);
	CHECK(none.source == NULL);
	dp_model_free(&none);
	dp_model_free(&one);
	dp_model_free(&next);
	free(before);
}

/* ---- the write ---- */

static void test_write(struct dp_model *fixture)
{
	struct dp_model next, none;
	struct stat st;
	char err[512], *text, *old;
	bool warn;

	test_write_file(path_of("locations.xml"), fixture->source);
	chmod(path_of("locations.xml"), 0640);
	unlink(path_of("locations.xml.bak"));
	old = test_read_file(path_of("locations.xml"));
	CHECK_INT(put(fixture, NULL, LOC(""), &next), ==, 0);

	/* a failed write: the temporary file cannot be made */
	CHECK_INT(mkdir(path_of("locations.xml.tmp"), 0700), ==, 0);
	CHECK_INT(dp_edit_write(dir, &next, &warn, err, sizeof(err)), ==, -EISDIR);
	CHECK_CONTAINS(err, "locations.xml.tmp: Is a directory; nothing changed");
	text = test_read_file(path_of("locations.xml"));
	CHECK_STR(text, old);
	free(text);
	CHECK(access(path_of("locations.xml.bak"), F_OK) != 0);
	CHECK_INT(rmdir(path_of("locations.xml.tmp")), ==, 0);
	/* the backup cannot be made: the new file is not put in place, and the
	 * temporary file is gone */
	CHECK_INT(mkdir(path_of("locations.xml.bak.tmp"), 0700), ==, 0);
	CHECK(dp_edit_write(dir, &next, &warn, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "locations.xml.bak: ");
	text = test_read_file(path_of("locations.xml"));
	CHECK_STR(text, old);
	free(text);
	CHECK(access(path_of("locations.xml.tmp"), F_OK) != 0);
	CHECK(access(path_of("locations.xml.bak"), F_OK) != 0);
	CHECK_INT(rmdir(path_of("locations.xml.bak.tmp")), ==, 0);
	/* the directory is gone */
	{
		bool w;
		char e2[512];

		CHECK(dp_edit_write("/nonexistent/dir", &next, &w, e2, sizeof(e2)) < 0);
		CHECK_CONTAINS(e2, "nothing changed");
	}

	/* it works: the new text in place with the old mode, the old as .bak */
	CHECK_INT(dp_edit_write(dir, &next, &warn, err, sizeof(err)), ==, 0);
	CHECK(!warn);
	text = test_read_file(path_of("locations.xml"));
	CHECK_STR(text, next.source);
	free(text);
	text = test_read_file(path_of("locations.xml.bak"));
	CHECK_STR(text, old);
	free(text);
	CHECK_INT(stat(path_of("locations.xml"), &st), ==, 0);
	CHECK_INT(st.st_mode & 07777, ==, 0640);
	CHECK(access(path_of("locations.xml.tmp"), F_OK) != 0);
	CHECK(access(path_of("locations.xml.bak.tmp"), F_OK) != 0);

	/* a symlinked locations.xml is written through */
	CHECK_INT(rename(path_of("locations.xml"), path_of("real.xml")), ==, 0);
	CHECK_INT(symlink("real.xml", path_of("locations.xml")), ==, 0);
	free(old);
	old = test_read_file(path_of("real.xml"));
	dp_model_free(&next);
	CHECK_INT(put(fixture, NULL, "{\"name\":\"Test\",\"country\":\"49\",\"areaCode\":\"089\"}",
		      &next),
		  ==, 0);
	CHECK_INT(dp_edit_write(dir, &next, &warn, err, sizeof(err)), ==, 0);
	CHECK_INT(lstat(path_of("locations.xml"), &st), ==, 0);
	CHECK(S_ISLNK(st.st_mode));
	text = test_read_file(path_of("real.xml"));
	CHECK_STR(text, next.source);
	free(text);
	text = test_read_file(path_of("locations.xml.bak"));
	CHECK_STR(text, old);
	free(text);
	unlink(path_of("locations.xml"));
	CHECK_INT(rename(path_of("real.xml"), path_of("locations.xml")), ==, 0);

	/* no locations left: the file moves aside */
	memset(&none, 0, sizeof(none));
	free(old);
	old = test_read_file(path_of("locations.xml"));
	CHECK_INT(dp_edit_write(dir, &none, &warn, err, sizeof(err)), ==, 0);
	CHECK(access(path_of("locations.xml"), F_OK) != 0);
	text = test_read_file(path_of("locations.xml.bak"));
	CHECK_STR(text, old);
	free(text);
	/* ... also when there is none */
	CHECK_INT(dp_edit_write(dir, &none, &warn, err, sizeof(err)), ==, 0);
	free(old);
	dp_model_free(&next);
	test_write_file(path_of("locations.xml"), fixture->source);
}

int main(void)
{
	struct dp_model fixture;
	char cmd[512];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s/locations.xml", DP_FIXTURES_DIR);
	{
		char *text = test_read_file(cmd);

		if (!text) {
			perror(cmd);
			return 1;
		}
		test_write_file(path_of("locations.xml"), text);
		free(text);
	}
	if (dp_model_load(&fixture, DP_DATA_DIR, dir, NULL, &errs) != 0) {
		fprintf(stderr, "cannot load the fixture\n");
		return 1;
	}
	test_json_form(&fixture);
	test_round_trip(&fixture);
	test_put_errors(&fixture);
	test_put(&fixture);
	test_put_first(&fixture);
	test_remove(&fixture);
	test_write(&fixture);
	dp_model_free(&fixture);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report();
}
