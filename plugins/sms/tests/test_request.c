/*
 * plugins/sms/tests/test_request.c - URLs and whole requests
 * (sms_request.c): what a URL may be, the bytes of a GET and of a POST
 * with headers and Basic authentication, and that no value - however
 * hostile - changes the request line, the host or the header lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sms.h"

static struct sms_provider provider(int post, const char *url, const char *body, const char *type)
{
	struct sms_provider p = {0};

	p.name = "t";
	p.post = post;
	p.url = (char *)url;
	p.body = (char *)body;
	p.content_type = (char *)type;
	p.body_enc = sms_enc_for_type(type);
	return p;
}

int main(void)
{
	struct sms_url u;
	struct sms_request r;
	char why[200];
	struct sms_values v = {
		.user = "acct",
		.password = "pw",
		.sender = "",
		.recipient = "00491701234567",
		.text = "a b&c=d?e#f/g\r\nX-Evil: 1",
		.gateway = "gw",
	};

	CHECK_INT(sms_url_parse("https://sms.example.net/send?x=1#frag", &u, why, sizeof(why)), ==,
		  0);
	CHECK_INT(u.tls, ==, 1);
	CHECK_STR(u.host, "sms.example.net");
	CHECK_INT(u.port, ==, 443);
	CHECK_STR(u.target, "/send?x=1");
	sms_url_free(&u);
	CHECK_INT(sms_url_parse("http://127.0.0.1:8080", &u, why, sizeof(why)), ==, 0);
	CHECK_INT(u.tls, ==, 0);
	CHECK_INT(u.port, ==, 8080);
	CHECK_STR(u.target, "/");
	sms_url_free(&u);
	CHECK_INT(sms_url_parse("http://[::1]:81?q", &u, why, sizeof(why)), ==, 0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.ipv6, ==, 1);
	CHECK_STR(u.target, "/?q");
	sms_url_free(&u);
	CHECK_INT(sms_url_parse("ftp://x/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http://user:pw@x/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_CONTAINS(why, "user information");
	CHECK_INT(sms_url_parse("http://x:0/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http://x:65536/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http://x:/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http:///p", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http://a b/", &u, why, sizeof(why)), ==, -EINVAL);
	CHECK_INT(sms_url_parse("http://x/a b", &u, why, sizeof(why)), ==, -EINVAL);

	{
		struct sms_provider p =
			provider(0, "http://127.0.0.1:8080/send?u=%USER%&to=%RECIPIENT%&t=%TEXT%",
				 NULL, NULL);

		CHECK_INT(sms_request_build(&r, &p, &v, "ucsd-test", why, sizeof(why)), ==, 0);
		CHECK_STR(
			r.bytes.data,
			"GET /send?u=acct&to=00491701234567&t=a%20b%26c%3Dd%3Fe%23f%2Fg%0D%0AX-Evil%3A%201"
			" HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: ucsd-test\r\n"
			"Accept: */*\r\nConnection: close\r\n\r\n");
		CHECK_STR(r.shown, "http://127.0.0.1:8080/send");
		sms_request_free(&r);
	}
	{
		struct sms_provider p = provider(1, "https://%GATEWAY%.example.net/api",
						 "{\"to\":\"%RECIPIENT%\",\"text\":\"%TEXT%\"}",
						 "application/json");

		p.basic_auth = 1;
		p.headers[0].name = "X-Key";
		p.headers[0].value = "k-%PASSWORD%";
		p.n_headers = 1;
		CHECK_INT(sms_request_build(&r, &p, &v, "ucsd-test", why, sizeof(why)), ==, 0);
		CHECK_STR(r.bytes.data,
			  "POST /api HTTP/1.1\r\nHost: gw.example.net\r\nUser-Agent: ucsd-test\r\n"
			  "Accept: */*\r\nConnection: close\r\n"
			  "Authorization: Basic YWNjdDpwdw==\r\nX-Key: k-pw\r\n"
			  "Content-Type: application/json\r\nContent-Length: 59\r\n\r\n"
			  "{\"to\":\"00491701234567\",\"text\":\"a b&c=d?e#f/g\\r\\nX-Evil: 1\"}");
		CHECK_INT(strlen(strstr(r.bytes.data, "\r\n\r\n") + 4), ==, 59);
		CHECK_STR(r.shown, "https://gw.example.net/api");
		sms_request_free(&r);
		/* a gateway value cannot move the request to another host */
		v.gateway = "evil.com/x?";
		CHECK_INT(sms_request_build(&r, &p, &v, "ucsd-test", why, sizeof(why)), ==,
			  -EINVAL);
		v.gateway = "gw";
		/* a header value with a line end is refused, not cleaned */
		p.headers[0].value = "%TEXT%";
		CHECK_INT(sms_request_build(&r, &p, &v, "ucsd-test", why, sizeof(why)), ==,
			  -EINVAL);
		CHECK_CONTAINS(why, "X-Key");
	}
	{
		/* a text that cannot fit is refused, not cut */
		static char big[SMS_REQUEST_MAX];
		struct sms_provider p = provider(0, "http://x/?t=%TEXT%", NULL, NULL);

		memset(big, 'a', sizeof(big) - 1);
		v.text = big;
		CHECK_INT(sms_request_build(&r, &p, &v, NULL, why, sizeof(why)), ==, -E2BIG);
	}
	return check_report();
}
