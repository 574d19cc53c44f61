/*
 * tests/fuzz/dialplan_location_json.c - a location as JSON is what the
 * administration sends (location_put, plugins/dialplan/dp_edit.h): whatever
 * it is, the edit either builds a complete model or refuses with a message
 * and builds nothing, and never crashes or leaks. A model it builds holds
 * the location, is usable, and its JSON form written back unchanged gives
 * the same JSON again (the round trip); the location can then be removed
 * unless it is the default. The running model the edits start from has two
 * integrated DDI locations and a NANP one, over a small countries.xml
 * (DE, CH, AT, US) loaded once. Nothing is written to disk.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "dialplan_countries.h"

static const char locations[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<locations>\n"
	"  <!-- kept through every edit -->\n"
	"  <location name=\"Berlin\">\n"
	"    <country>49</country><areaCode>030</areaCode>\n"
	"    <pbx><baseNumber>1234</baseNumber><extensions from=\"300\" to=\"399\"/></pbx>\n"
	"    <advanced integrate=\"true\" detectOtherLocations=\"true\" abbreviate=\"true\"/>\n"
	"  </location>\n"
	"  <location name=\"Munich\">\n"
	"    <country>49</country><areaCode>089</areaCode>\n"
	"    <pbx><baseNumber>5678</baseNumber><extensions from=\"400\" to=\"499\"/></pbx>\n"
	"    <advanced integrate=\"true\" detectOtherLocations=\"true\"/>\n"
	"  </location>\n"
	"  <location name=\"NewYork\">\n"
	"    <country>1</country><areaCode>212</areaCode>\n"
	"    <areaCodeRules ownArea=\"chargeable-listed\"><own prefixes=\"976\"/></areaCodeRules>\n"
	"  </location>\n"
	"</locations>\n";

static struct dp_model cur;
static int ready;

static void quiet(void *arg, const char *file, int line, const char *msg)
{
	(void)arg, (void)file, (void)line, (void)msg;
}

static char *json_of(const struct dp_model *m)
{
	int n = dp_locations_json(m, NULL, 0);
	char *buf;

	if (n < 0)
		abort();
	buf = malloc((size_t)n + 1);
	if (!buf || dp_locations_json(m, buf, (size_t)n + 1) != n)
		abort();
	return buf;
}

/* The model an edit built: the location is in it and works, and its JSON
 * written back unchanged builds the same JSON again. */
static void use(const struct dp_model *next, const char *name)
{
	const struct dp_location *loc = dp_location_find(next, name);
	struct dp_edit e = {next, "/nonexistent", "/nonexistent", NULL};
	char err[512], again_name[DP_NAME_MAX], *all, *all2, *one;
	struct dp_model again, removed;
	struct ucs_dp_number num;
	json_t *a, *o = NULL, *v;
	size_t i;
	int rc;

	if (!loc || !next->source || next->n_locations < 1)
		abort();
	(void)dp_format(next, loc, UCS_DP_CALLER, "0891234567", &num, NULL, NULL);
	all = json_of(next);
	a = json_loads(all, 0, NULL);
	json_array_foreach(a, i, v) if (strcmp(json_string_value(json_object_get(v, "name")),
					       name) == 0) o = v;
	if (!o)
		abort();
	one = json_dumps(o, JSON_COMPACT);
	if (!one)
		abort();
	rc = dp_edit_put(&e, one, strlen(one), &again, again_name, sizeof(again_name), err,
			 sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err, one);
		abort();
	}
	all2 = json_of(&again);
	if (strcmp(all, all2) != 0 || strcmp(again_name, name) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n%s\n", all, all2);
		abort();
	}
	rc = dp_edit_remove(&e, name, &removed, err, sizeof(err));
	if (rc == 0) {
		if (removed.n_locations != next->n_locations - 1 ||
		    dp_location_find(&removed, name))
			abort();
		dp_model_free(&removed);
	} else if (rc != -EBUSY || next->default_location != (size_t)(loc - next->locations)) {
		abort();
	}
	dp_model_free(&again);
	free(all2);
	free(one);
	json_decref(a);
	free(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_errors errs = {.report = quiet};
	struct dp_edit e;
	struct dp_model next;
	char err[512], name[DP_NAME_MAX];
	int rc;

	if (!ready) {
		if (dp_data_load_memory(&cur.data, "countries.xml", countries,
					sizeof(countries) - 1, &errs) != 0 ||
		    dp_locations_load_memory(&cur, "locations.xml", locations,
					     sizeof(locations) - 1, NULL, &errs) != 0)
			abort();
		ready = 1;
	}
	e = (struct dp_edit){&cur, "/nonexistent", "/nonexistent", NULL};
	rc = dp_edit_put(&e, (const char *)data, size, &next, name, sizeof(name), err, sizeof(err));
	if (rc == 0) {
		if (err[0] || !name[0] || !next.data_borrowed)
			abort();
		if (!strstr(next.source, "<!-- kept through every edit -->"))
			abort();
		use(&next, name);
		dp_model_free(&next);
	} else if (!err[0] || next.locations || next.n_locations || next.source || name[0]) {
		abort();
	}
	return 0;
}
