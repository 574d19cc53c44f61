/*
 * plugins/dialplan/tests/test_locations.c - locations.xml (dp_locations.c):
 * a complete file with every element loads into the model it describes,
 * the cross-location rules are generated and do what they should, and each
 * kind of mistake is refused with the exact message and line an operator
 * would see. Reference data comes from a small data directory the test
 * writes itself in the documented formats, loaded with dp_data_load.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dp.h"

static char msgs[16][512];
static int n_msgs;

static void report(void *arg, const char *file, int line, const char *msg)
{
	const char *base = file ? strrchr(file, '/') : NULL;

	(void)arg;
	if (n_msgs < 16)
		snprintf(msgs[n_msgs], sizeof(msgs[0]), "%s:%d: %s",
			 base	? base + 1
			 : file ? file
				: "",
			 line, msg);
	n_msgs++;
}

static struct dp_errors errs = {.report = report};
static char dir[64];

static const char countries[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<countries>\n"
	" <country ID=\"1\"><countryCode>1</countryCode><name>United States</name>"
	"<SameAreaRule>G</SameAreaRule><LongDistanceRule>1FG</LongDistanceRule>"
	"<InternationalRule>011EFG</InternationalRule><LocalChargeableRule>1FG</LocalChargeableRule>"
	"<OtherAreaLocalRule>FG</OtherAreaLocalRule><nationalPrefix>1</nationalPrefix>"
	"<internationalPrefix>011</internationalPrefix><maxLength>10</maxLength>"
	"<nsnLength>10</nsnLength><areaLength>3</areaLength></country>\n"
	" <country ID=\"41\"><countryCode>41</countryCode><name>Switzerland</name>"
	"<SameAreaRule>0FG</SameAreaRule><LongDistanceRule>0FG</LongDistanceRule>"
	"<InternationalRule>00EFG</InternationalRule><nationalPrefix>0</nationalPrefix>"
	"<internationalPrefix>00</internationalPrefix><maxLength>9</maxLength></country>\n"
	" <country ID=\"49\"><countryCode>49</countryCode><name>Germany</name>"
	"<SameAreaRule>G</SameAreaRule><LongDistanceRule>0FG</LongDistanceRule>"
	"<InternationalRule>00EFG</InternationalRule><nationalPrefix>0</nationalPrefix>"
	"<internationalPrefix>00</internationalPrefix><maxLength>13</maxLength></country>\n"
	"</countries>\n";
static const char cities[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cities>\n"
	" <city ID=\"+4930\" countryID=\"49\"><name>Berlin</name></city>\n"
	" <city ID=\"+4989\" countryID=\"49\"><name>München</name></city>\n"
	" <city ID=\"+498151\" countryID=\"49\"><name>Starnberg</name></city>\n"
	" <city ID=\"+4144\" countryID=\"41\"><name>Zürich</name></city>\n"
	" <city ID=\"+1202\" countryID=\"1\"><name>Washington D.C.</name></city>\n"
	"</cities>\n";
static const char providers[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<providers>\n"
	" <provider ID=\"010??\" countryID=\"49\"><name>Call by call</name></provider>\n"
	"</providers>\n";
static const char specials[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<specialnumbers>\n"
	" <specialnumber ID=\"110\" countryID=\"49\"><name>Police</name></specialnumber>\n"
	" <specialnumber ID=\"911\" countryID=\"1\"><name>Emergency</name></specialnumber>\n"
	"</specialnumbers>\n";

/* Every element of the schema, in five locations of four kinds. */
static const char full[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<locations>\n"
	"  <location name=\"Starnberg\">\n"
	"    <country>49</country>\n"
	"    <areaCode>08151</areaCode>\n"
	"    <pbx enabled=\"true\" lineType=\"ddi\">\n"
	"      <baseNumber>36856</baseNumber>\n"
	"      <extensions from=\"10\" to=\"99\"/>\n"
	"      <access local=\"0\" national=\"0\" international=\"0\" private=\"*5eeee\" forward=\"0\"/>\n"
	"      <strip incoming=\"0\" outgoing=\"0,00\" forwarded=\"0\" connectedIncoming=\"0\"\n"
	"             connectedOutgoing=\"\" ignoreConnectedId=\"true\"/>\n"
	"    </pbx>\n"
	"    <rules>\n"
	"      <external><rule search=\"110\"/><rule search=\"112\"/></external>\n"
	"      <internal><rule search=\"^9([0-9]{3})$\" replace=\"+4981513685\\1\" regex=\"true\"/></internal>\n"
	"      <lineNumbers/><incoming><rule search=\"^80(.*)\" replace=\"0\\1\" regex=\"true\"/></incoming>\n"
	"      <outgoing/><dial/><dialFinal><rule search=\"^0(.*)\" replace=\"80\\1\" regex=\"true\"/></dialFinal>\n"
	"    </rules>\n"
	"    <emergency enabled=\"true\">\n"
	"      <entry name=\"Floor1\" subnet=\"10.1.2.77/24\" numbers=\"110,112\" prefix=\"*9\"/>\n"
	"      <entry name=\"V6\" subnet=\"fe80::c91b:d632:2a35:89df%3/60\" numbers=\"112\" prefix=\"#1\"/>\n"
	"    </emergency>\n"
	"    <vanity><prefix>800</prefix><prefix>700</prefix></vanity>\n"
	"    <projects>\n"
	"      <project name=\"Private\" parameter=\"*60eeee#X\" mode=\"private\"/>\n"
	"      <project name=\"Test\" parameter=\"12345\" mode=\"journal\"/>\n"
	"      <project name=\"Card\" parameter=\"0080012345678CP#eeeeeeee#uuuu#N#\" mode=\"dial\"/>\n"
	"      <project name=\"Default\" parameter=\"80\"/>\n"
	"    </projects>\n"
	"    <lcr>\n"
	"      <zone name=\"mobile\">\n"
	"        <prefix>+4917</prefix><prefix>+4915</prefix>\n"
	"        <assign day=\"weekday\" from=\"08:00\" to=\"18:00\" provider=\"Arcor\"/>\n"
	"        <assign day=\"weekday\" from=\"18:00\" to=\"24:00\" provider=\"Tele2\"/>\n"
	"        <assign day=\"sunday\" provider=\"Tele2\"/>\n"
	"      </zone>\n"
	"      <provider name=\"Arcor\" prefix=\"01070\"/>\n"
	"      <provider name=\"Tele2\" prefix=\"01013\"/>\n"
	"    </lcr>\n"
	"    <advanced dialFormat=\"rules\" alwaysAreaCode=\"true\" autoRedial=\"false\"/>\n"
	"  </location>\n"
	"  <location name=\"Home\">\n"
	"    <country>49</country><areaCode>89</areaCode>\n"
	"    <pbx lineType=\"msn\"><access local=\"\" national=\"\" international=\"\"/></pbx>\n"
	"    <emergency enabled=\"false\"/><areaCodeRules/>\n"
	"  </location>\n"
	"  <location name=\"Zurich\">\n"
	"    <country>41</country><areaCode>044</areaCode>\n"
	"    <pbx><baseNumber>2223</baseNumber><extensionPrefix low=\"2\" high=\"5\"/>\n"
	"      <internalLength min=\"2\" max=\"4\"/></pbx>\n"
	"    <advanced dialFormat=\"e164\"/>\n"
	"  </location>\n"
	"  <location name=\"Washington\">\n"
	"    <country>1</country><areaCode>202</areaCode>\n"
	"    <areaCodeRules ownArea=\"chargeable-listed\" otherFree=\"true\">\n"
	"      <own prefixes=\"333,444\"/>\n"
	"      <other area=\"301\" prefixes=\"555, 556\"/>\n"
	"      <other area=\"703\"/>\n"
	"    </areaCodeRules>\n"
	"  </location>\n"
	"  <location name=\"Berlin\">\n"
	"    <country>49</country><areaCode>030</areaCode>\n"
	"    <pbx><baseNumber>123</baseNumber><extensions from=\"200\" to=\"299\"/></pbx>\n"
	"    <rules><internal><rule search=\"999\" replace=\"+4930123999\"/></internal>\n"
	"      <dial><rule search=\"^\\+49301230$\" replace=\"0\" regex=\"true\"/></dial></rules>\n"
	"    <advanced integrate=\"true\" detectOtherLocations=\"true\" abbreviate=\"true\"\n"
	"              searchAcross=\"true\"/>\n"
	"  </location>\n"
	"  <location name=\"Munich\">\n"
	"    <country>49</country><areaCode>089</areaCode>\n"
	"    <pbx><baseNumber>456</baseNumber><extensions from=\"30\" to=\"69\"/></pbx>\n"
	"    <advanced integrate=\"true\" detectOtherLocations=\"true\" abbreviate=\"true\"/>\n"
	"  </location>\n"
	"</locations>\n";

static int write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	return 0;
}

static void remove_file(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int load(struct dp_model *m, const char *xml, const char *def)
{
	n_msgs = 0;
	return dp_locations_load_memory(m, "locations.xml", xml, strlen(xml), def, &errs);
}

static const struct dp_rule *generated(const struct dp_rule_list *l, const char *origin)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->rules[i].generated && strcmp(l->rules[i].origin, origin) == 0)
			return &l->rules[i];
	return NULL;
}

static void test_full(struct dp_model *m)
{
	const struct dp_location *s, *h, *z, *w, *b, *mu;
	const struct dp_rule *r;
	char out[DP_NUMBER_MAX];
	uint8_t v4[4] = {10, 1, 2, 0};

	CHECK_INT(load(m, full, "Home"), ==, 0);
	CHECK_INT(n_msgs, ==, 0);
	if (n_msgs)
		fprintf(stderr, "%s\n", msgs[0]);
	CHECK_INT(m->n_locations, ==, 6);
	if (m->n_locations != 6)
		return;
	/* The default by name; NULL and "" mean it. */
	h = dp_location_find(m, NULL);
	CHECK(h && strcmp(h->name, "Home") == 0);
	CHECK(dp_location_find(m, "") == h);
	CHECK(dp_location_find(m, "Nowhere") == NULL);

	s = dp_location_find(m, "Starnberg");
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_STR(s->country->code, "49");
	CHECK_STR(s->area, "8151");
	CHECK_INT(s->line, ==, 3);
	CHECK(s->pbx.enabled && s->pbx.line_type == DP_LINE_DDI);
	CHECK_STR(s->pbx.base, "36856");
	CHECK(s->pbx.has_range && !s->pbx.has_prefix);
	CHECK_INT(s->pbx.ext_from, ==, 10);
	CHECK_INT(s->pbx.ext_to, ==, 99);
	/* No <internalLength>: the range's lengths. */
	CHECK_INT(s->pbx.len_min, ==, 2);
	CHECK_INT(s->pbx.len_max, ==, 2);
	CHECK_STR(s->pbx.access_private, "*5eeee");
	CHECK_STR(s->pbx.access_forward, "0");
	CHECK_INT(s->pbx.n_strip_outgoing, ==, 2);
	CHECK_STR(s->pbx.strip_outgoing[1], "00");
	CHECK_INT(s->pbx.n_strip_connected_in, ==, 1);
	CHECK_INT(s->pbx.n_strip_connected_out, ==, 0);
	CHECK(s->pbx.ignore_connected);
	CHECK_INT(s->external.count, ==, 2);
	CHECK(!s->external.rules[0].regex);
	CHECK_STR(s->external.name, "external");
	CHECK_INT(s->internal.count, ==, 1);
	CHECK_INT(s->internal.rules[0].line, ==, 15);
	CHECK_INT(dp_rules_apply(&s->internal, "9123", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "+4981513685123");
	CHECK_INT(dp_rules_apply(&s->incoming, "800891234", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "00891234");
	CHECK_INT(dp_rules_apply(&s->dial_final, "0891234", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "80891234");
	CHECK_INT(s->line_numbers.count + s->outgoing.count + s->dial.count, ==, 0);
	CHECK(s->emergency_enabled);
	CHECK_INT(s->n_emergency, ==, 2);
	CHECK_INT(s->emergency[0].family, ==, AF_INET);
	CHECK_INT(s->emergency[0].prefix_len, ==, 24);
	CHECK(memcmp(s->emergency[0].addr, v4, 4) == 0); /* host bits cleared */
	CHECK_INT(s->emergency[0].n_numbers, ==, 2);
	CHECK_STR(s->emergency[0].numbers[1], "112");
	CHECK_STR(s->emergency[0].prefix, "*9");
	CHECK_INT(s->emergency[1].family, ==, AF_INET6);
	CHECK_INT(s->emergency[1].prefix_len, ==, 60);
	CHECK_INT(s->emergency[1].addr[0], ==, 0xfe);
	CHECK_INT(s->emergency[1].addr[8], ==, 0);
	CHECK_INT(s->n_vanity, ==, 2);
	CHECK_STR(s->vanity[1], "700");
	CHECK_INT(s->n_projects, ==, 4);
	CHECK_INT(s->projects[0].mode, ==, DP_PROJECT_PRIVATE);
	CHECK_INT(s->projects[1].mode, ==, DP_PROJECT_JOURNAL);
	CHECK_INT(s->projects[2].mode, ==, DP_PROJECT_DIAL);
	CHECK_INT(s->projects[3].mode, ==, DP_PROJECT_DIAL_AND_JOURNAL);
	CHECK_STR(s->projects[2].parameter, "0080012345678CP#eeeeeeee#uuuu#N#");
	/* LCR: providers listed after the zone, half hours filled. */
	CHECK_INT(s->lcr.n_providers, ==, 2);
	CHECK_INT(s->lcr.n_zones, ==, 1);
	if (s->lcr.n_zones == 1) {
		const struct dp_lcr_zone *zn = &s->lcr.zones[0];
		struct tm t = {0};

		CHECK_INT(zn->n_prefixes, ==, 2);
		CHECK_STR(zn->prefixes[1], "+4915");
		CHECK_INT(zn->assign[DP_WEEKDAY][15], ==, -1);
		CHECK_INT(zn->assign[DP_WEEKDAY][16], ==, 0);
		CHECK_INT(zn->assign[DP_WEEKDAY][35], ==, 0);
		CHECK_INT(zn->assign[DP_WEEKDAY][36], ==, 1);
		CHECK_INT(zn->assign[DP_WEEKDAY][47], ==, 1);
		CHECK_INT(zn->assign[DP_SATURDAY][20], ==, -1);
		CHECK_INT(zn->assign[DP_SUNDAY][0], ==, 1);
		CHECK_INT(zn->assign[DP_SUNDAY][47], ==, 1);
		t.tm_wday = 2;
		t.tm_hour = 9;
		CHECK_STR(dp_lcr_select(&s->lcr, "+4917123", &t, NULL)->prefix, "01070");
	}
	CHECK(s->adv.always_area && !s->adv.auto_redial && !s->adv.dial_e164);
	CHECK(!s->adv.integrate);

	/* MSN line, defaults. */
	CHECK_STR(h->area, "89");
	CHECK(h->pbx.line_type == DP_LINE_MSN && !h->pbx.has_range);
	CHECK(!h->emergency_enabled && h->adv.auto_redial);

	z = dp_location_find(m, "Zurich");
	CHECK(z && z->pbx.has_prefix);
	if (z) {
		CHECK_STR(z->country->code, "41");
		CHECK_STR(z->area, "44");
		CHECK_INT(z->pbx.prefix_low, ==, 2);
		CHECK_INT(z->pbx.prefix_high, ==, 5);
		CHECK_INT(z->pbx.len_min, ==, 2);
		CHECK_INT(z->pbx.len_max, ==, 4);
		CHECK(z->adv.dial_e164);
	}

	/* NANP: the trunk prefix 1 is removed from the area code. */
	w = dp_location_find(m, "Washington");
	CHECK(w != NULL);
	if (w) {
		CHECK_STR(w->area, "202");
		CHECK_INT(w->nanp.own_mode, ==, DP_OWN_AREA_CHARGEABLE_LISTED);
		CHECK(w->nanp.other_free);
		CHECK_INT(w->nanp.n_own, ==, 1);
		CHECK_STR(w->nanp.own[0].area, "202");
		CHECK_INT(w->nanp.own[0].n_prefixes, ==, 2);
		CHECK_STR(w->nanp.own[0].prefixes[1], "444");
		CHECK_INT(w->nanp.n_other, ==, 2);
		CHECK_STR(w->nanp.other[0].area, "301");
		CHECK_STR(w->nanp.other[0].prefixes[1], "556");
		CHECK_INT(w->nanp.other[1].n_prefixes, ==, 0);
	}

	/* Cross-location: each integrated location recognises the other's
	 * extensions after its own internal rules, and shortens its numbers. */
	b = dp_location_find(m, "Berlin");
	mu = dp_location_find(m, "Munich");
	CHECK(b && mu);
	if (!b || !mu)
		return;
	CHECK(b->adv.integrate && b->adv.detect_other && b->adv.abbreviate && b->adv.search_across);
	CHECK_INT(b->internal.count, ==, 2);
	CHECK(!b->internal.rules[0].generated);
	r = generated(&b->internal, "Munich");
	CHECK(r == &b->internal.rules[1]);
	if (r) {
		CHECK_STR(r->search, "^([3-6][0-9])$");
		CHECK_STR(r->replace, "+4989456\\1");
		CHECK(r->regex);
	}
	CHECK_INT(dp_rules_apply(&b->internal, "45", out, sizeof(out)), ==, 1);
	CHECK_STR(out, "+498945645");
	CHECK_INT(dp_rules_apply(&b->internal, "29", out, sizeof(out)), ==, -1);
	CHECK_INT(dp_rules_apply(&b->internal, "70", out, sizeof(out)), ==, -1);
	CHECK_INT(dp_rules_apply(&b->internal, "999", out, sizeof(out)), ==, 0);
	r = generated(&mu->internal, "Berlin");
	CHECK(r != NULL);
	if (r)
		CHECK_STR(r->search, "^(2[0-9][0-9])$");
	CHECK(generated(&mu->internal, "Starnberg") == NULL);
	CHECK_INT(dp_rules_apply(&mu->internal, "250", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "+4930123250");
	/* abbreviate: dial rules after the own ones. */
	CHECK_INT(b->dial.count, ==, 2);
	r = generated(&b->dial, "Munich");
	CHECK(r == &b->dial.rules[1]);
	if (r)
		CHECK_STR(r->search, "^\\+4989456([3-6][0-9])$");
	CHECK_INT(dp_rules_apply(&b->dial, "+498945645", out, sizeof(out)), ==, 1);
	CHECK_STR(out, "45");
	CHECK_INT(dp_rules_apply(&b->dial, "+498945670", out, sizeof(out)), ==, -1);
	CHECK_INT(dp_rules_apply(&mu->dial, "+4930123299", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "299");
	CHECK_INT(dp_rules_apply(&b->dial, "+49301230", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "0");
}

/* Generated character classes for awkward ranges. */
static void test_ranges(struct dp_model *m)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
		{"100", "999", "^([1-9][0-9][0-9])$"},
		{"30", "69", "^([3-6][0-9])$"},
		{"150", "999", "^(1[5-9][0-9]|[2-9][0-9][0-9])$"},
		{"5", "42", "^([5-9]|[1-3][0-9]|4[0-2])$"},
		{"0", "9", "^([0-9])$"},
		{"1234", "1234", "^(1234)$"},
		{"95", "105", "^(9[5-9]|10[0-5])$"},
	};
	char xml[2048];
	char out[DP_NUMBER_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dp_location *a;
		const struct dp_rule *r;

		snprintf(
			xml, sizeof(xml),
			"<locations>\n"
			"<location name=\"A\"><country>49</country><areaCode>30</areaCode>\n"
			"<pbx><baseNumber>1</baseNumber><extensions from=\"%s\" to=\"%s\"/></pbx>\n"
			"<advanced integrate=\"true\"/></location>\n"
			"<location name=\"B\"><country>41</country><areaCode>44</areaCode>\n"
			"<advanced detectOtherLocations=\"true\"/></location>\n"
			"</locations>\n",
			cases[i].from, cases[i].to);
		CHECK_INT(load(m, xml, NULL), ==, 0);
		a = dp_location_find(m, "B");
		r = a ? generated(&a->internal, "A") : NULL;
		CHECK(r != NULL);
		if (!r)
			continue;
		CHECK_STR(r->search, cases[i].want);
		/* Both ends are recognised, their neighbours not. */
		CHECK_INT(dp_rules_apply(&a->internal, cases[i].from, out, sizeof(out)), ==, 0);
		CHECK_INT(dp_rules_apply(&a->internal, cases[i].to, out, sizeof(out)), ==, 0);
		snprintf(xml, sizeof(xml), "%ld", strtol(cases[i].to, NULL, 10) + 1);
		CHECK_INT(dp_rules_apply(&a->internal, xml, out, sizeof(out)), ==, -1);
		CHECK(dp_location_find(m, NULL) == &m->locations[0]);
	}
	dp_model_free(&(struct dp_model){0});
}

/* One location with content on line 4; every message names that line. */
static void expect(struct dp_model *m, const char *content, const char *want)
{
	char xml[4096];

	snprintf(xml, sizeof(xml),
		 "<locations>\n<location name=\"X\">\n<country>49</country>\n%s\n"
		 "</location>\n</locations>\n",
		 content);
	CHECK_INT(load(m, xml, NULL), ==, -EINVAL);
	CHECK_INT(n_msgs, >=, 1);
	CHECK_STR(msgs[0], want);
	CHECK(m->locations == NULL && m->n_locations == 0);
}

static void test_errors(struct dp_model *m)
{
	expect(m, "<pbx><baseNumber>1</baseNumber><extensions from=\"100\" to=\"99\"/></pbx>",
	       "locations.xml:4: location \"X\": <extensions from=\"100\" to=\"99\">: from is greater than to");
	expect(m, "<areaCode>08x1</areaCode>",
	       "locations.xml:4: location \"X\": <areaCode>: \"08x1\" is not a number");
	/* the trunk prefix 0 is removed once; no area code starts with it */
	expect(m, "<areaCode>0089</areaCode>",
	       "locations.xml:4: location \"X\": <areaCode>: \"0089\" is not an area code");
	expect(m, "<foo/>", "locations.xml:4: location \"X\": <location>: unknown element <foo>");
	expect(m, "<advanced colour=\"red\"/>",
	       "locations.xml:4: location \"X\": <advanced>: unknown attribute \"colour\"");
	expect(m,
	       "<rules><internal><rule search=\"^(12\" replace=\"1\" regex=\"true\"/></internal></rules>",
	       "locations.xml:4: location \"X\": internal rule \"^(12\": bad regular expression at offset 4: missing closing parenthesis");
	expect(m, "<rules><dial><rule search=\"1\" regex=\"yes\"/></dial></rules>",
	       "locations.xml:4: location \"X\": <rule regex=\"yes\">: expected true or false");
	expect(m, "<rules><sideways/></rules>",
	       "locations.xml:4: location \"X\": <rules>: unknown element <sideways>");
	expect(m,
	       "<emergency enabled=\"true\"><entry name=\"A\" subnet=\"10.1.2.0/33\" numbers=\"112\"/></emergency>",
	       "locations.xml:4: location \"X\": <entry subnet=\"10.1.2.0/33\">: prefix length 33 is greater than 32");
	expect(m, "<emergency><entry name=\"A\" subnet=\"10.1.2/24\" numbers=\"112\"/></emergency>",
	       "locations.xml:4: location \"X\": <entry subnet=\"10.1.2/24\">: expected CIDR notation such as 10.1.2.0/24 or fd00::/64");
	expect(m,
	       "<emergency><entry name=\"A\" subnet=\"fd00::/129\" numbers=\"112\"/></emergency>",
	       "locations.xml:4: location \"X\": <entry subnet=\"fd00::/129\">: prefix length 129 is greater than 128");
	expect(m,
	       "<emergency><entry name=\"Floor-1\" subnet=\"10.0.0.0/8\" numbers=\"112\"/></emergency>",
	       "locations.xml:4: location \"X\": <entry name=\"Floor-1\">: only letters and digits allowed");
	expect(m,
	       "<emergency><entry name=\"A\" subnet=\"10.0.0.0/8\" numbers=\"112,x\"/></emergency>",
	       "locations.xml:4: location \"X\": <entry numbers=\"112,x\">: \"x\" is not a number");
	expect(m,
	       "<projects><project name=\"P\" parameter=\"*60#\" mode=\"sometimes\"/></projects>",
	       "locations.xml:4: location \"X\": <project name=\"P\" mode=\"sometimes\">: expected journal, dial-and-journal, dial or private");
	expect(m, "<projects><project name=\"P\" parameter=\"*60a#\"/></projects>",
	       "locations.xml:4: location \"X\": <project name=\"P\" parameter=\"*60a#\">: only 0-9 * # C e E u U p P N J X allowed");
	expect(m,
	       "<lcr><zone name=\"z\"><assign day=\"weekday\" provider=\"Nobody\"/></zone></lcr>",
	       "locations.xml:4: location \"X\": <assign provider=\"Nobody\">: no such <provider>");
	expect(m,
	       "<lcr><provider name=\"A\" prefix=\"01070\"/><zone name=\"z\"><assign day=\"weekday\" from=\"08:15\" to=\"09:00\" provider=\"A\"/></zone></lcr>",
	       "locations.xml:4: location \"X\": <assign from=\"08:15\" to=\"09:00\">: expected half hours (HH:00 or HH:30, to up to 24:00) with from before to");
	expect(m,
	       "<lcr><provider name=\"A\" prefix=\"01070\"/><zone name=\"z\"><assign day=\"monday\" provider=\"A\"/></zone></lcr>",
	       "locations.xml:4: location \"X\": <assign day=\"monday\">: expected weekday, saturday or sunday");
	expect(m,
	       "<lcr><provider name=\"A\" prefix=\"1\"/><zone name=\"z\"><assign day=\"sunday\" from=\"08:00\" to=\"10:00\" provider=\"A\"/><assign day=\"sunday\" from=\"09:30\" to=\"11:00\" provider=\"A\"/></zone></lcr>",
	       "locations.xml:4: location \"X\": <assign day=\"sunday\" from=\"09:30\" to=\"11:00\">: overlaps an earlier <assign> of zone \"z\"");
	expect(m, "<lcr><zone name=\"z\"><prefix>4917</prefix></zone></lcr>",
	       "locations.xml:4: location \"X\": <zone name=\"z\">: prefix \"4917\" is not canonical (+ and digits)");
	expect(m, "<areaCodeRules ownArea=\"all-free\"/>",
	       "locations.xml:4: location \"X\": <areaCodeRules>: only for NANP locations (country 1)");
	expect(m, "<pbx enabled=\"yes\"/>",
	       "locations.xml:4: location \"X\": <pbx enabled=\"yes\">: expected true or false");
	expect(m, "<pbx lineType=\"isdn\"/>",
	       "locations.xml:4: location \"X\": <pbx lineType=\"isdn\">: expected ddi or msn");
	expect(m,
	       "<pbx><baseNumber>1</baseNumber><extensions from=\"1\" to=\"9\"/><extensionPrefix low=\"1\" high=\"2\"/><internalLength min=\"1\" max=\"1\"/></pbx>",
	       "locations.xml:4: location \"X\": <pbx>: <extensions> and <extensionPrefix> exclude each other");
	expect(m, "<pbx lineType=\"msn\"><extensions from=\"1\" to=\"9\"/></pbx>",
	       "locations.xml:4: location \"X\": <pbx lineType=\"msn\">: an MSN line has no <extensions>");
	expect(m, "<pbx><internalLength min=\"3\" max=\"2\"/></pbx>",
	       "locations.xml:4: location \"X\": <internalLength min=\"3\" max=\"2\">: expected 1 <= min <= max <= 16");
	expect(m, "<pbx><access local=\"0a\"/></pbx>",
	       "locations.xml:4: location \"X\": <access local=\"0a\">: only digits, * and # allowed");
	expect(m, "<pbx><strip incoming=\"0,,00\"/></pbx>",
	       "locations.xml:4: location \"X\": <strip incoming=\"0,,00\">: entries must be 1 to 15 characters");
	expect(m, "<advanced dialFormat=\"e.164\"/>",
	       "locations.xml:4: location \"X\": <advanced dialFormat=\"e.164\">: expected rules or e164");
	expect(m, "<vanity><prefix>8OO</prefix></vanity>",
	       "locations.xml:4: location \"X\": <vanity>: prefix \"8OO\" is not a number");
	expect(m, "<country>41</country>",
	       "locations.xml:4: location \"X\": <country> given twice (first on line 3)");

	/* Errors that are not on line 4. */
	n_msgs = 0;
	CHECK_INT(
		load(m,
		     "<locations>\n<location name=\"X\">\n<country>999</country>\n</location>\n</locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_STR(
		msgs[0],
		"locations.xml:3: location \"X\": <country>: no country with calling code \"999\"");
	CHECK_INT(
		load(m,
		     "<locations>\n<location name=\"X\">\n<areaCode>89</areaCode>\n</location>\n</locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_STR(msgs[0], "locations.xml:2: location \"X\": <location>: <country> missing");
	CHECK_INT(load(m,
		       "<locations>\n<location name=\"X\"><country>49</country></location>\n"
		       "<location name=\"X\"><country>41</country></location>\n</locations>\n",
		       NULL),
		  ==, -EINVAL);
	CHECK_STR(msgs[0],
		  "locations.xml:3: <location name=\"X\">: name used twice (first on line 2)");
	CHECK_INT(load(m, "<locations>\n<location><country>49</country></location>\n</locations>\n",
		       NULL),
		  ==, -EINVAL);
	CHECK_STR(msgs[0],
		  "locations.xml:2: <location>: name missing or longer than 63 characters");
	CHECK_INT(
		load(m,
		     "<locations>\n<location name=\"X\"><country>49</country></location>\n</locations>\n",
		     "Y"),
		==, -EINVAL);
	CHECK_STR(msgs[0], "locations.xml:0: default location \"Y\" is not in the file");
	CHECK_INT(
		load(m,
		     "<locations>\n<location name=\"X\">\n<country>49</country>\n</locaton>\n</locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_CONTAINS(msgs[0], "locations.xml:4: not well-formed XML:");
	CHECK_INT(load(m, "<places/>\n", NULL), ==, -EINVAL);
	CHECK_STR(msgs[0], "locations.xml:1: root element must be <locations>");
	CHECK_INT(load(m, "<locations/>\n", NULL), ==, -EINVAL);
	CHECK_STR(msgs[0], "locations.xml:1: <locations>: no <location>");

	/* Every problem is reported, not only the first. */
	CHECK_INT(load(m,
		       "<locations>\n<location name=\"X\">\n<country>49</country>\n<foo/>\n"
		       "<advanced abbreviate=\"maybe\"/>\n</location>\n</locations>\n",
		       NULL),
		  ==, -EINVAL);
	CHECK_INT(n_msgs, ==, 2);
	CHECK_STR(
		msgs[1],
		"locations.xml:5: location \"X\": <advanced abbreviate=\"maybe\">: expected true or false");

	/* A DOCTYPE with entities never reaches the parser. */
	CHECK_INT(
		load(m,
		     "<?xml version=\"1.0\"?>\n<!DOCTYPE locations [\n"
		     "  <!ENTITY a \"aaaaaaaaaa\">\n  <!ENTITY b \"&a;&a;&a;&a;&a;&a;\">\n]>\n"
		     "<locations><location name=\"&b;\"><country>49</country></location></locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_STR(msgs[0], "locations.xml:3: DOCTYPE with entity declarations is not allowed");
}

static void test_overlap(struct dp_model *m)
{
	/* Same base: ranges 200-299 and 250-350 intersect. */
	CHECK_INT(
		load(m,
		     "<locations>\n"
		     "<location name=\"A\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>123</baseNumber><extensions from=\"200\" to=\"299\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "<location name=\"B\"><country>49</country><areaCode>030</areaCode>\n"
		     "<pbx><baseNumber>123</baseNumber><extensions from=\"250\" to=\"350\"/></pbx>\n"
		     "<advanced integrate=\"true\" detectOtherLocations=\"true\"/></location>\n"
		     "</locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_INT(n_msgs, ==, 1);
	CHECK_STR(
		msgs[0],
		"locations.xml:5: location \"B\": DDI numbers +4930123... overlap those of location \"A\" (+4930123..., line 2); integrated locations need distinct numbers");
	/* One full number range inside another: +4930 1 2xxx vs +4930 12 3xx. */
	CHECK_INT(
		load(m,
		     "<locations>\n"
		     "<location name=\"A\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>1</baseNumber><extensions from=\"1000\" to=\"2999\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "<location name=\"B\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>12</baseNumber><extensions from=\"300\" to=\"399\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "</locations>\n",
		     NULL),
		==, -EINVAL);
	CHECK_STR(
		msgs[0],
		"locations.xml:5: location \"B\": DDI numbers +493012... overlap those of location \"A\" (+49301..., line 2); integrated locations need distinct numbers");
	/* Disjoint nested prefixes are fine: +4930 1 2xxx vs +4930 13 3xx. */
	CHECK_INT(
		load(m,
		     "<locations>\n"
		     "<location name=\"A\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>1</baseNumber><extensions from=\"1000\" to=\"2999\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "<location name=\"B\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>13</baseNumber><extensions from=\"300\" to=\"399\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "</locations>\n",
		     NULL),
		==, 0);
	/* Overlap only matters between integrated locations. */
	CHECK_INT(
		load(m,
		     "<locations>\n"
		     "<location name=\"A\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>123</baseNumber><extensions from=\"200\" to=\"299\"/></pbx></location>\n"
		     "<location name=\"B\"><country>49</country><areaCode>30</areaCode>\n"
		     "<pbx><baseNumber>123</baseNumber><extensions from=\"200\" to=\"299\"/></pbx>\n"
		     "<advanced integrate=\"true\"/></location>\n"
		     "</locations>\n",
		     NULL),
		==, 0);
}

static void test_model_load(void)
{
	struct dp_model m;

	CHECK_INT(write_file("locations.xml", full), ==, 0);
	n_msgs = 0;
	CHECK_INT(dp_model_load(&m, dir, dir, "Berlin", &errs), ==, 0);
	CHECK_INT(n_msgs, ==, 0);
	CHECK_INT(m.n_locations, ==, 6);
	CHECK(dp_location_find(&m, NULL) == dp_location_find(&m, "Berlin"));
	CHECK(dp_country_by_code(&m.data, "41") != NULL);
	dp_model_free(&m);
	CHECK(m.locations == NULL && m.data.countries == NULL);
	/* A broken file fails the whole model. */
	CHECK_INT(write_file("locations.xml", "<locations>\n<location/>\n</locations>\n"), ==, 0);
	CHECK_INT(dp_model_load(&m, dir, dir, NULL, &errs), ==, -EINVAL);
	CHECK(m.locations == NULL && m.data.countries == NULL);
	remove_file("locations.xml");
	n_msgs = 0;
	CHECK_INT(dp_model_load(&m, dir, dir, NULL, &errs), ==, -ENOENT);
	CHECK_CONTAINS(msgs[0], "locations.xml:0: cannot read: No such file or directory");
}

int main(void)
{
	struct dp_model m;

	memset(&m, 0, sizeof(m));
	strcpy(dir, "/tmp/test-dialplan-locations-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT(write_file("countries.xml", countries), ==, 0);
	CHECK_INT(write_file("cities.xml", cities), ==, 0);
	CHECK_INT(write_file("providers.xml", providers), ==, 0);
	CHECK_INT(write_file("specialnumbers.xml", specials), ==, 0);
	CHECK_INT(dp_data_load(&m.data, dir, NULL, &errs), ==, 0);
	CHECK_INT(m.data.n_countries, ==, 3);
	if (n_msgs)
		fprintf(stderr, "data: %s\n", msgs[0]);

	test_full(&m);
	test_ranges(&m);
	test_errors(&m);
	test_overlap(&m);
	dp_model_free(&m);
	test_model_load();

	remove_file("countries.xml");
	remove_file("cities.xml");
	remove_file("providers.xml");
	remove_file("specialnumbers.xml");
	rmdir(dir);
	return check_report();
}
