/*
 * plugins/sms/tests/test_http.c - the HTTP/1.1 response parser
 * (sms_http.c): Content-Length, chunked and read-until-close bodies, any
 * split of the input, interim 1xx answers, redirects' Location, and every
 * refusal with its reason: garbage, oversized heads and bodies, bad chunk
 * sizes, conflicting lengths, unknown codings, truncation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sms.h"

static struct sms_http_resp r;

/* Feeds text in pieces of step bytes, then EOF when eof is set. */
static int parse(const char *text, size_t len, size_t step, int eof)
{
	int rc = 0;

	sms_http_free(&r);
	sms_http_init(&r);
	for (size_t i = 0; i < len && rc == 0; i += step)
		rc = sms_http_feed(&r, (const uint8_t *)text + i, len - i < step ? len - i : step);
	if (rc == 0 && eof)
		rc = sms_http_eof(&r);
	return rc;
}

#define P(s, step, eof) parse(s, sizeof(s) - 1, step, eof)

int main(void)
{
	static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				 "Content-Length: 7\r\n\r\nOK 4711trailing garbage";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "3;ext=1\r\nOK \r\n4\r\n4711\r\n0\r\nX-T: 1\r\n\r\n";

	for (size_t step = 1; step <= sizeof(cl); step++) {
		CHECK_INT(P(cl, step, 0), ==, 1);
		CHECK_INT(r.status, ==, 200);
		CHECK_STR(r.body.data, "OK 4711");
		CHECK_INT(P(chunked, step, 0), ==, 1);
		CHECK_STR(r.body.data, "OK 4711");
	}
	CHECK_STR(r.reason, "OK");
	/* until close, bare LF, 100 Continue first */
	CHECK_INT(P("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 500 Oops\nServer: x\n\nboom", 5, 0), ==,
		  0);
	CHECK_INT(sms_http_eof(&r), ==, 1);
	CHECK_INT(r.status, ==, 500);
	CHECK_STR(r.reason, "Oops");
	CHECK_STR(r.body.data, "boom");
	CHECK_INT(P("HTTP/1.1 302 Found\r\nLocation: https://other/\r\nContent-Length: 0\r\n\r\n",
		    64, 0),
		  ==, 1);
	CHECK_STR(r.location, "https://other/");
	CHECK_INT(P("HTTP/1.1 204 No Content\r\n\r\n", 64, 0), ==, 1);
	CHECK_INT(r.body.len, ==, 0);
	CHECK_INT(P("HTTP/1.1 200\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", 64, 0), ==,
		  1);

	/* refusals, each with a reason */
	CHECK_INT(P("garbage\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "status line");
	CHECK_INT(P("HTTP/1.1 20 OK\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_INT(P("HTTP/2 200 OK\r\n\r\n", 64, 0), ==, -EPROTO);
	/* three digits are not enough: 100 to 599 */
	CHECK_INT(P("HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "invalid status code");
	CHECK_INT(P("HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_INT(P("HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n", 64, 0), ==, 1);
	/* a reason phrase or a Location too long for its buffer is dropped, not
	 * cut (its end could be the first half of a secret) */
	{
		char head[1024];
		int n = snprintf(head, sizeof(head),
				 "HTTP/1.1 500 %0200d\r\nLocation: https://x/%0600d\r\n"
				 "Content-Length: 0\r\n\r\n",
				 7, 7);

		CHECK_INT(parse(head, (size_t)n, 64, 0), ==, 1);
		CHECK_INT(r.reason_cut, ==, 1);
		CHECK_STR(r.reason, "");
		CHECK_INT(r.location_cut, ==, 1);
		CHECK_STR(r.location, "");
		CHECK_INT(P("HTTP/1.1 500 Short\r\nContent-Length: 0\r\n\r\n", 64, 0), ==, 1);
		CHECK_INT(r.reason_cut, ==, 0);
		CHECK_STR(r.reason, "Short");
	}
	CHECK_INT(P("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "field name");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 64, 0), ==,
		  -EPROTO);
	CHECK_CONTAINS(r.error, "conflicting");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_INT(P("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 64, 0), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "gzip");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 64, 0), ==,
		  -EPROTO);
	CHECK_CONTAINS(r.error, "chunk size");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 64, 0), ==,
		  -EPROTO);
	CHECK_INT(P("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", 64, 0), ==, -EMSGSIZE);
	CHECK_CONTAINS(r.error, "65536");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
		    64, 0),
		  ==, -EPROTO);
	CHECK_INT(P("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 64, 1), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "before the body was complete");
	CHECK_INT(P("", 64, 1), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "without an answer");
	CHECK_INT(P("HTTP/1.1 200 OK\r\nX: y", 64, 1), ==, -EPROTO);
	CHECK_CONTAINS(r.error, "response head");
	{
		/* a head that never ends, a body that never ends */
		static char big[SMS_HTTP_HEADER_MAX + 100];
		static char body[SMS_HTTP_BODY_MAX + 200];
		int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");

		memset(big + n, 'a', sizeof(big) - (size_t)n - 1);
		CHECK_INT(parse(big, sizeof(big) - 1, 1000, 0), ==, -EMSGSIZE);
		CHECK_CONTAINS(r.error, "16384");
		n = snprintf(body, sizeof(body), "HTTP/1.1 200 OK\r\n\r\n");
		memset(body + n, 'b', sizeof(body) - (size_t)n - 1);
		CHECK_INT(parse(body, sizeof(body) - 1, 4096, 0), ==, -EMSGSIZE);
		CHECK_INT(r.body.len, <=, SMS_HTTP_BODY_MAX);
		n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 150; i++)
			n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: 1\r\n", i);
		CHECK_INT(parse(big, (size_t)n, 64, 0), ==, -EMSGSIZE);
		CHECK_CONTAINS(r.error, "header fields");
	}
	sms_http_free(&r);
	return check_report();
}
