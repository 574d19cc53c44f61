/*
 * tests/fuzz/dialplan_data.c - fuzz target of the dialplan's reference data
 * loader: arbitrary bytes parsed as each of countries.xml, cities.xml,
 * providers.xml and specialnumbers.xml (through dp_data_load_memory, so no
 * temporary files), then every lookup run with the input's first bytes as
 * the number.
 */
#include <stdint.h>
#include <string.h>

#include "dp.h"

static void ignore(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = {"countries.xml", "cities.xml", "providers.xml",
					    "specialnumbers.xml"};
	struct dp_errors errs = {ignore, NULL, 0};
	struct dp_data d = {0};
	char number[DP_NUMBER_MAX + 1];
	size_t n = size < DP_NUMBER_MAX ? size : DP_NUMBER_MAX;
	const struct dp_country *c;

	/* countries first: the other files are checked against what loaded */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		dp_data_load_memory(&d, files[i], (const char *)data, size, &errs);
	memcpy(number, data, n);
	number[n] = '\0';
	c = dp_country_of(&d, number);
	dp_city_of(&d, number);
	dp_country_by_code(&d, number);
	dp_special_of(&d, c ? c->code : "49", number);
	dp_provider_prefix(&d, c ? c->code : "49", number);
	dp_data_free(&d);
	return 0;
}
