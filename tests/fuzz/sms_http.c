/*
 * tests/fuzz/sms_http.c - whatever an SMS gateway answers: the HTTP/1.1
 * response parser of plugins/sms, fed the input in pieces whose sizes the
 * input chooses, must end in "complete", "need more" or an error with a
 * reason, never hold more than its limits, and give the same result as a
 * feed in one piece. The cleaned reply text never shows the secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const uint8_t *data, size_t size, size_t step, struct sms_http_resp *r)
{
	int rc = 0;

	sms_http_init(r);
	for (size_t i = 0; i < size && rc == 0; i += step) {
		size_t n = size - i < step ? size - i : step;

		rc = sms_http_feed(r, data + i, n);
	}
	if (rc == 0)
		rc = sms_http_eof(r);
	if (r->body.len > SMS_HTTP_BODY_MAX || r->line.len > SMS_HTTP_HEADER_MAX)
		abort();
	if (rc < 0 && !r->error[0])
		abort();
	if (rc == 1 && (r->status < 200 || r->status > 599))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sms_http_resp a, b;
	char clean[256];
	int ra, rb;

	if (size < 1)
		return 0;
	ra = run(data + 1, size - 1, (size_t)data[0] + 1, &a);
	rb = run(data + 1, size - 1, size, &b);
	if (ra != rb || (ra == 1 && (a.status != b.status || a.body.len != b.body.len ||
				     (a.body.len && memcmp(a.body.data, b.body.data, a.body.len)))))
		abort();
	sms_clean_text(clean, sizeof(clean), a.body.data ? a.body.data : "", a.body.len, "pw",
		       "acct");
	if (strstr(clean, "pw") || strlen(clean) >= sizeof(clean))
		abort();
	sms_http_free(&a);
	sms_http_free(&b);
	return 0;
}
