/*
 * tests/fuzz/smsprovider.c - smsprovider.xml as an operator may write it:
 * the loader of plugins/sms must report (never crash on) any document, keep
 * nothing of a refused one, and for an accepted one expand every provider's
 * templates into a request and test its success pattern against a body
 * taken from the input, within the request and body limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void report(void *arg, const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	if (!msg || !*msg)
		abort();
	(*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sms_providers pv;
	struct sms_values v = {
		.user = "acct",
		.password = "s3cr&t",
		.sender = "+4912345",
		.recipient = "+491701234567",
		.text = "Hällo & <wörld> \"x\"\r\n%TEXT%",
		.gateway = "direct",
	};
	int problems = 0;
	int err = sms_providers_parse(&pv, "fuzz.xml", (const char *)data, size, report, &problems);

	if (err) {
		if (pv.n || pv.v || !problems)
			abort();
		return 0;
	}
	if (problems || !pv.n)
		abort();
	for (size_t i = 0; i < pv.n; i++) {
		const struct sms_provider *p = &pv.v[i];
		struct sms_request r;
		char why[200];

		if (sms_provider_find(&pv, p->name) != p)
			abort();
		if (sms_request_build(&r, p, &v, "fuzz", why, sizeof(why)) == 0) {
			if (!r.bytes.data || r.bytes.len > SMS_REQUEST_MAX || !r.shown ||
			    r.url.target[0] != '/' || memchr(r.url.host, '/', strlen(r.url.host)))
				abort();
			/* no value may add a line to the head */
			const char *end = strstr(r.bytes.data, "\r\n\r\n");
			const char *bad = strstr(r.bytes.data, "\r\n%TEXT%");

			if (!end || (bad && bad < end))
				abort();
			sms_request_free(&r);
		}
		(void)sms_provider_accepts(p, 200, (const char *)data, size > 4096 ? 4096 : size);
	}
	sms_providers_free(&pv);
	return 0;
}
