/*
 * tests/fuzz/dialplan_locations.c - locations.xml is operator input: the
 * loader must refuse whatever is wrong with a message and never crash,
 * leak or leave a half-built model behind. A model that loads is then used:
 * every rule list is applied, LCR and projects are exercised, so what the
 * loader accepted is also safe to run. The reference data is a small
 * countries.xml (DE, CH, AT, US) loaded once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "dialplan_countries.h"

static struct dp_data ref;
static int ref_loaded;

static void quiet(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
}

static void use_list(const struct dp_rule_list *l)
{
	static const char *const numbers[] = {"",
					      "0",
					      "220",
					      "0891234567",
					      "+4930123250",
					      "80123",
					      "999999999999999999999999999999"};
	char out[DP_NUMBER_MAX];

	for (size_t i = 0; i < l->count; i++)
		if (l->rules[i].regex && !l->rules[i].re)
			abort();
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		int rc = dp_rules_apply(l, numbers[i], out, sizeof(out));

		if (rc >= 0 && (size_t)rc >= l->count)
			abort();
	}
}

static void use(const struct dp_model *m)
{
	for (size_t i = 0; i < m->n_locations; i++) {
		const struct dp_location *loc = &m->locations[i];
		const struct dp_rule_list *lists[] = {
			&loc->external, &loc->internal, &loc->line_numbers, &loc->incoming,
			&loc->outgoing, &loc->dial,	&loc->dial_final};
		struct tm t = {0};

		if (!loc->name[0] || !loc->country || dp_location_find(m, loc->name) != loc)
			abort();
		for (size_t k = 0; k < 7; k++)
			use_list(lists[k]);
		for (int d = 0; d < 7; d++) {
			t.tm_wday = d;
			t.tm_hour = d * 3;
			t.tm_min = d * 9;
			(void)dp_lcr_select(&loc->lcr, "+4917123456", &t, NULL);
		}
		for (size_t k = 0; k < loc->n_projects; k++) {
			struct dp_project_out o;

			(void)dp_project_expand(&loc->projects[k], "0891234", "1234", "42", &o);
		}
	}
	if (m->n_locations && !dp_location_find(m, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_errors errs = {.report = quiet};
	struct dp_model m;

	if (!ref_loaded) {
		if (dp_data_load_memory(&ref, "countries.xml", countries, sizeof(countries) - 1,
					&errs) != 0)
			abort();
		ref_loaded = 1;
	}
	memset(&m, 0, sizeof(m));
	m.data = ref;
	if (dp_locations_load_memory(&m, "locations.xml", (const char *)data, size, NULL, &errs) ==
	    0) {
		if (!m.n_locations || errs.count)
			abort();
		use(&m);
	} else if (m.locations || m.n_locations || !errs.count) {
		abort();
	}
	/* The reference data is shared between runs: free the locations only. */
	memset(&m.data, 0, sizeof(m.data));
	dp_model_free(&m);
	return 0;
}
