/*
 * tests/fuzz/dialplan_pipeline.c - the formatting and dialing pipelines
 * with arbitrary numbers. Input: one byte choosing the location, the mode
 * and the request's extras (project, client address), then the number.
 * Whatever comes in, the result is an error or NUL-terminated output: a
 * canonical number that is "+" and digits (or a number the rules left with
 * * and #), never a crash or a read outside the input.
 *
 * The model is the test fixtures' (plugins/dialplan/tests/fixtures), loaded
 * once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_model model;
static bool loaded;

static void no_errors(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
	abort(); /* the fixtures are valid */
}

static void on_step(const char *step, const char *rule, const char *value, void *arg)
{
	(void)arg;
	if (!step || !value || (rule && strlen(rule) > 4096))
		abort();
}

static void check_canonical(const char *c)
{
	if (!memchr(c, 0, UCS_PHONE_MAX))
		abort();
	for (const char *p = c + (c[0] == '+'); *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '*' || *p == '#'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const projects[] = {NULL, "Private", "Line2", "Card", "Personal"};
	struct dp_errors errs = {no_errors, NULL, 0};
	const struct dp_location *loc;
	struct ucs_dp_dial_result dr;
	struct ucs_dp_number n;
	struct sockaddr_in client = {.sin_family = AF_INET};
	struct ucs_dp_dial_request req = {.size = sizeof(req)};
	char number[128];
	uint8_t sel;

	if (!loaded) {
		if (dp_model_load(&model, DP_DATA_DIR, DP_FIXTURES_DIR, NULL, &errs) != 0)
			abort();
		loaded = true;
	}
	if (size < 1)
		return 0;
	sel = data[0];
	size = size - 1 < sizeof(number) - 1 ? size - 1 : sizeof(number) - 1;
	memcpy(number, data + 1, size);
	number[size] = 0;
	loc = &model.locations[sel % model.n_locations];

	if (dp_format(&model, loc, (enum ucs_dp_kind)(1 + (sel >> 3) % 7), number, &n, on_step,
		      NULL) == 0) {
		check_canonical(n.canonical.text);
		if (!memchr(n.display, 0, sizeof(n.display)) ||
		    !memchr(n.location, 0, sizeof(n.location)))
			abort();
	}
	req.number = number;
	req.project = projects[(sel >> 4) % 5];
	req.pin = "1234";
	req.user_id = "4321";
	req.at = 1796034600; /* a Thursday, 10:30 UTC */
	if (sel & 0x40) {
		inet_pton(AF_INET, "10.1.2.3", &client.sin_addr);
		req.client = (struct sockaddr *)&client;
	}
	if (dp_dial(&model, loc, sel & 0x80 ? UCS_DP_FORWARD : UCS_DP_DIAL, &req, &dr, on_step,
		    NULL) == 0) {
		if (!memchr(dr.dial, 0, sizeof(dr.dial)) || !memchr(dr.postdial, 0, sizeof(dr.postdial)))
			abort();
		check_canonical(dr.canonical.text);
	}
	return 0;
}
