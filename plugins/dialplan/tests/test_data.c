/*
 * plugins/dialplan/tests/test_data.c - the reference data: the shipped files
 * load and hold what the pipelines rely on (rules and prefixes of the main
 * countries, place names, special numbers, call-by-call prefixes), the
 * lookups find the right entry, an operator's copy overrides the shipped
 * file, and every kind of broken file is refused with the exact file:line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "dp.h"

struct seen {
	int count;
	char file[256];
	int line;
	char msg[512];
};

/* Keeps the first report: each broken file below has exactly one problem. */
static void on_error(void *arg, const char *file, int line, const char *msg)
{
	struct seen *s = arg;

	if (s->count++ == 0) {
		snprintf(s->file, sizeof(s->file), "%s", file ? file : "");
		s->line = line;
		snprintf(s->msg, sizeof(s->msg), "%s", msg);
	}
}

static void check_country(const struct dp_data *d, const char *code, const char *np, const char *ip,
			  const char *same, const char *ld, const char *intl)
{
	const struct dp_country *c = dp_country_by_code(d, code);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(c->code, code);
	CHECK_STR(c->national_prefix, np);
	CHECK_STR(c->international_prefix, ip);
	CHECK_STR(c->same_area, same);
	CHECK_STR(c->long_distance, ld);
	CHECK_STR(c->international, intl);
}

static void check_city(const struct dp_data *d, const char *number, const char *prefix,
		       const char *name)
{
	const struct dp_city *c = dp_city_of(d, number);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(c->prefix, prefix);
	CHECK_STR(c->name, name);
}

static void test_shipped(void)
{
	struct seen seen = {0};
	struct dp_errors errs = {on_error, &seen, 0};
	struct dp_data d;
	const struct dp_country *c;

	CHECK_INT(dp_data_load(&d, DP_DATA_DIR, NULL, &errs), ==, 0);
	CHECK_INT(errs.count, ==, 0);
	if (seen.count)
		fprintf(stderr, "first error: %s:%d: %s\n", seen.file, seen.line, seen.msg);
	CHECK(d.n_countries > 200);
	CHECK(d.n_cities > 1000);

	/* local calls by subscriber number where the plan allows it (DE, NANP, GB,
	 * AT); closed plans dial the national number next door too */
	check_country(&d, "49", "0", "00", "G", "0FG", "00EFG");
	check_country(&d, "1", "1", "011", "G", "1FG", "011EFG");
	check_country(&d, "41", "0", "00", "0FG", "0FG", "00EFG");
	check_country(&d, "44", "0", "00", "G", "0FG", "00EFG");
	check_country(&d, "33", "0", "00", "0FG", "0FG", "00EFG");
	check_country(&d, "39", "", "00", "FG", "FG", "00EFG"); /* the 0 belongs to the number */
	check_country(&d, "31", "0", "00", "0FG", "0FG", "00EFG");
	check_country(&d, "34", "", "00", "FG", "FG", "00EFG");
	check_country(&d, "43", "0", "00", "G", "0FG", "00EFG");
	c = dp_country_by_code(&d, "1");
	if (c) {
		CHECK_INT(c->nsn_length, ==, 10);
		CHECK_INT(c->area_length, ==, 3);
		CHECK_INT(c->max_length, ==, 10);
		CHECK_STR(c->local_chargeable, "1FG");
		CHECK_STR(c->other_area_local, "FG");
		CHECK_STR(c->name, "United States");
	}
	c = dp_country_by_code(&d, "49");
	if (c) {
		CHECK_STR(c->name, "Germany");
		CHECK_INT(c->nsn_length, ==, 0);
		CHECK_STR(c->local_chargeable, "");
		CHECK(c->max_length >= 11);
	}
	c = dp_country_by_code(&d, "33");
	if (c)
		CHECK_INT(c->nsn_length, ==, 9);
	CHECK(dp_country_by_code(&d, "800") != NULL); /* non-geographic codes too */
	CHECK(dp_country_by_code(&d, "999") == NULL);

	/* place names, German for DE and CH */
	check_city(&d, "+4989123456", "+4989", "München");
	check_city(&d, "+4930123456", "+4930", "Berlin");
	check_city(&d, "+41441234567", "+4144", "Zürich");
	check_city(&d, "+12125551234", "+1212", "New York, NY");
	check_city(&d, "+442071234567", "+4420", "London");
	check_city(&d, "+33140123456", "+331", "Paris");
	check_city(&d, "+12425551234", "+1242", "Bahamas");
	/* longest prefix: +33150 names another place than +331 */
	check_city(&d, "+33150123456", "+33150", "Ile de France");
	check_city(&d, "+4933056123", "+4933056", "Mühlenbeck Kreis Oberhavel");
	check_city(&d, "+4989", "+4989", "München");
	CHECK(dp_city_of(&d, "+49") == NULL);
	CHECK(dp_city_of(&d, "4989123") == NULL);
	CHECK(dp_city_of(&d, "+999123") == NULL);

	/* ITU codes are a prefix code; NANP members are country 1 */
	c = dp_country_of(&d, "+12125551234");
	CHECK(c && strcmp(c->code, "1") == 0);
	c = dp_country_of(&d, "+74951234567");
	CHECK(c && strcmp(c->code, "7") == 0);
	c = dp_country_of(&d, "+4989123456");
	CHECK(c && strcmp(c->code, "49") == 0);
	c = dp_country_of(&d, "+358912345");
	CHECK(c && strcmp(c->code, "358") == 0);
	c = dp_country_of(&d, "+12425551234");
	CHECK(c && strcmp(c->code, "1") == 0);
	CHECK(dp_country_of(&d, "+") == NULL);
	CHECK(dp_country_of(&d, "+999") == NULL);

	/* special numbers: exact numbers per country */
	CHECK(dp_special_of(&d, "49", "110") != NULL);
	CHECK(dp_special_of(&d, "49", "112") != NULL);
	CHECK(dp_special_of(&d, "1", "911") != NULL);
	CHECK(dp_special_of(&d, "44", "999") != NULL);
	CHECK(dp_special_of(&d, "41", "117") != NULL);
	CHECK(dp_special_of(&d, "49", "1101") == NULL);
	CHECK(dp_special_of(&d, "49", "11") == NULL);
	CHECK(dp_special_of(&d, "1", "110") == NULL);

	/* call-by-call: the longest pattern wins */
	CHECK_INT(dp_provider_prefix(&d, "49", "01013089123"), ==, 5);
	CHECK_INT(dp_provider_prefix(&d, "49", "01013"), ==, 5);
	CHECK_INT(dp_provider_prefix(&d, "49", "010012089123"), ==, 6);
	CHECK_INT(dp_provider_prefix(&d, "49", "0301234"), ==, 0);
	CHECK_INT(dp_provider_prefix(&d, "49", "0101"), ==, 0);
	CHECK_INT(dp_provider_prefix(&d, "43", "1012"), ==, 4);
	CHECK_INT(dp_provider_prefix(&d, "41", "10703"), ==, 5);
	CHECK_INT(dp_provider_prefix(&d, "1", "01013"), ==, 0);
	dp_data_free(&d);
	dp_data_free(&d); /* twice is harmless */
}

static char tmpdir[64];

static void test_override(void)
{
	struct seen seen = {0};
	struct dp_errors errs = {on_error, &seen, 0};
	const char *from = "<name>Germany</name>", *to = "<name>Germania</name>";
	char path[256], *text, *edited = NULL, *at;
	struct dp_data d;
	const struct dp_country *c;

	text = test_read_file(DP_DATA_DIR "/countries.xml");
	CHECK(text != NULL);
	at = text ? strstr(text, from) : NULL;
	CHECK(at != NULL);
	if (!at) {
		free(text);
		return;
	}
	edited = malloc(strlen(text) + strlen(to) + 1);
	if (!edited) {
		free(text);
		return;
	}
	memcpy(edited, text, (size_t)(at - text));
	strcpy(edited + (at - text), to);
	strcat(edited, at + strlen(from));
	free(text);
	text = edited;
	snprintf(path, sizeof(path), "%s/countries.xml", tmpdir);
	test_write_file(path, text);
	free(text);
	CHECK_INT(dp_data_load(&d, DP_DATA_DIR, tmpdir, &errs), ==, 0);
	c = dp_country_by_code(&d, "49");
	CHECK(c && strcmp(c->name, "Germania") == 0);
	CHECK(d.n_cities > 1000); /* the other files still come from the shipped dir */
	dp_data_free(&d);
	unlink(path);
}

/* Loads text as name (with the countries of countries_text first, when
 * given) and expects exactly one error at line. */
static void expect_error(const char *name, const char *countries_text, const char *text, int line,
			 const char *what)
{
	struct seen seen = {0};
	struct dp_errors errs = {on_error, &seen, 0};
	struct dp_data d = {0};

	if (countries_text)
		CHECK_INT(dp_data_load_memory(&d, "countries.xml", countries_text,
					      strlen(countries_text), &errs),
			  ==, 0);
	CHECK_INT(dp_data_load_memory(&d, name, text, strlen(text), &errs), ==, -EINVAL);
	CHECK_INT(errs.count, ==, 1);
	CHECK_STR(seen.file, name);
	CHECK_INT(seen.line, ==, line);
	CHECK_CONTAINS(seen.msg, what);
	dp_data_free(&d);
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define DE                                                   \
	"  <country ID=\"49\">\n"                            \
	"    <countryCode>49</countryCode>\n"                \
	"    <name>Germany</name>\n"                         \
	"    <SameAreaRule>G</SameAreaRule>\n"               \
	"    <LongDistanceRule>0FG</LongDistanceRule>\n"     \
	"    <InternationalRule>00EFG</InternationalRule>\n" \
	"  </country>\n"

static void test_errors(void)
{
	struct seen seen = {0};
	struct dp_errors errs = {on_error, &seen, 0};
	struct dp_data d = {0};
	char path[256];
	const struct dp_country *c;

	/* a minimal file in the reference product's format loads; the prefixes
	 * come from the rules */
	CHECK_INT(dp_data_load_memory(&d, "countries.xml", HEAD "<countries>\n" DE "</countries>\n",
				      strlen(HEAD "<countries>\n" DE "</countries>\n"), &errs),
		  ==, 0);
	c = dp_country_by_code(&d, "49");
	CHECK(c && strcmp(c->national_prefix, "0") == 0 &&
	      strcmp(c->international_prefix, "00") == 0 && c->max_length == 15);
	dp_data_free(&d);

	/* malformed XML through the real loader: the override's path and the line */
	snprintf(path, sizeof(path), "%s/countries.xml", tmpdir);
	test_write_file(path, HEAD "<countries>\n"
			"  <country ID=\"49\">\n"
			"    <countryCode>49</countryCode>\n"
			"    <name>Germany</nam>\n"
			"  </country>\n"
			"</countries>\n");
	CHECK_INT(dp_data_load(&d, DP_DATA_DIR, tmpdir, &errs), ==, -EINVAL);
	CHECK_INT(errs.count, ==, 1);
	CHECK_STR(seen.file, path);
	CHECK_INT(seen.line, ==, 5);
	CHECK_CONTAINS(seen.msg, "XML");
	CHECK(d.countries == NULL && d.cities == NULL);
	unlink(path);

	expect_error("countries.xml", NULL,
		     HEAD "<countries>\n" DE "  <country ID=\"41\">\n"
			  "    <countryCode>41</countryCode>\n"
			  "    <flag>ch</flag>\n"
			  "  </country>\n"
			  "</countries>\n",
		     12, "unknown element <flag>");
	expect_error("countries.xml", NULL,
		     HEAD "<countries>\n"
			  "  <country ID=\"49\">\n"
			  "    <countryCode>49</countryCode>\n"
			  "    <name>Germany</name>\n"
			  "    <SameAreaRule>G</SameAreaRule>\n"
			  "    <LongDistanceRule>0XG</LongDistanceRule>\n"
			  "    <InternationalRule>00EFG</InternationalRule>\n"
			  "  </country>\n"
			  "</countries>\n",
		     7, "bad rule \"0XG\"");
	expect_error("countries.xml", NULL, HEAD "<countries>\n" DE DE "</countries>\n", 10,
		     "duplicate <country> (first at line 3)");
	expect_error("countries.xml", NULL,
		     HEAD "<countries>\n"
			  "  <country ID=\"4912\">\n"
			  "    <countryCode>4912</countryCode>\n"
			  "  </country>\n"
			  "</countries>\n",
		     4, "too long");
	expect_error("cities.xml", HEAD "<countries>\n" DE "</countries>\n",
		     HEAD "<cities>\n"
			  "  <city ID=\"+4989\" countryID=\"49\"><name>München</name></city>\n"
			  "  <city ID=\"+4144\" countryID=\"41\"><name>Zürich</name></city>\n"
			  "</cities>\n",
		     4, "unknown countryID \"41\"");
	expect_error("cities.xml", HEAD "<countries>\n" DE "</countries>\n",
		     HEAD "<cities>\n"
			  "  <city ID=\"+4389\" countryID=\"49\"><name>Wien?</name></city>\n"
			  "</cities>\n",
		     3, "does not start with +49");
	expect_error("providers.xml", HEAD "<countries>\n" DE "</countries>\n",
		     HEAD "<providers>\n"
			  "  <provider ID=\"010x\" countryID=\"49\"><name>x</name></provider>\n"
			  "</providers>\n",
		     3, "only digits and '?'");
	expect_error("specialnumbers.xml", HEAD "<countries>\n" DE "</countries>\n",
		     HEAD
		     "<specialnumbers>\n"
		     "  <specialnumber ID=\"110\" countryID=\"49\"><name>a</name></specialnumber>\n"
		     "  <specialnumber ID=\"110\" countryID=\"49\"><name>b</name></specialnumber>\n"
		     "</specialnumbers>\n",
		     4, "duplicate <specialnumber>");
	/* billion laughs: refused before any entity is looked at */
	expect_error("countries.xml", NULL,
		     HEAD "<!DOCTYPE countries [\n"
			  "  <!ENTITY a \"aaaaaaaaaa\">\n"
			  "  <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
			  "]>\n"
			  "<countries>&b;</countries>\n",
		     3, "<!ENTITY not allowed");
	expect_error("cities.xml", NULL, HEAD "<countries/>\n", 2, "root element must be <cities>");
}

static void test_errors_no_sink(void)
{
	struct dp_data d = {0};
	const char *bad = HEAD "<countries><x/></countries>\n";

	dp_error(NULL, "f", 1, "nothing happens %d", 1);
	CHECK_INT(dp_data_load_memory(&d, "countries.xml", bad, strlen(bad), NULL), ==, -EINVAL);
	CHECK_INT(dp_data_load_memory(&d, "other.xml", bad, strlen(bad), NULL), ==, -EINVAL);
	CHECK_INT(dp_data_load(&d, "/nonexistent", NULL, NULL), ==, -EINVAL);
	CHECK(d.countries == NULL);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dp-data-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_shipped();
	test_override();
	test_errors();
	test_errors_no_sink();
	rmdir(tmpdir);
	return check_report();
}
