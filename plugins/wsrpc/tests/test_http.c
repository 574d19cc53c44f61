/*
 * plugins/wsrpc/tests/test_http.c - the opening handshake: a valid upgrade
 * request and what comes with it, every status a bad request earns (400,
 * 404, 405, 426, 431), incomplete requests, the accept key (RFC 6455's own
 * example), the answers, and the client side against the server side.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ws_http.h"

#define MAX_HEADER 2048

static const char *const base_headers[] = {
	"Host: server.example.com",  "Upgrade: websocket",
	"Connection: Upgrade",	     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
	"Sec-WebSocket-Version: 13", NULL,
};

/* A request from a request line, the base headers minus those whose name
 * starts with `drop` (NULL: none), plus `extra` lines. */
static size_t request(char *out, size_t cap, const char *line, const char *drop, const char *extra)
{
	size_t n = (size_t)snprintf(out, cap, "%s\r\n", line);

	for (size_t i = 0; base_headers[i]; i++) {
		if (drop && !strncmp(base_headers[i], drop, strlen(drop)))
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s\r\n", base_headers[i]);
	}
	if (extra)
		n += (size_t)snprintf(out + n, cap - n, "%s", extra);
	n += (size_t)snprintf(out + n, cap - n, "\r\n");
	return n;
}

static int parse(const char *req, size_t len, int *status, size_t *consumed, struct ws_upgrade *up)
{
	return ws_http_parse_upgrade((const uint8_t *)req, len, MAX_HEADER, up, consumed, status);
}

/* The status a request made of these parts gets (0: accepted). */
static int status_of(const char *line, const char *drop, const char *extra)
{
	char req[4096];
	size_t n = request(req, sizeof(req), line, drop, extra), consumed;
	struct ws_upgrade up;
	int status = -1, ret = parse(req, n, &status, &consumed, &up);

	if (ret == 0)
		return 0;
	if (ret != -EINVAL)
		return ret;
	return status;
}

static void test_valid(void)
{
	char req[4096];
	size_t n = request(req, sizeof(req), "GET /ws HTTP/1.1", NULL,
			   "Origin: http://example.com\r\nUser-Agent: test/1.0\r\n"
			   "Sec-WebSocket-Protocol: chat, superchat\r\n"),
	       consumed = 0;
	struct ws_upgrade up;
	int status = -1;

	/* frame bytes right behind the request stay for the caller */
	memcpy(req + n, "\x81\x85", 2);
	CHECK_INT(parse(req, n + 2, &status, &consumed, &up), ==, 0);
	CHECK_INT(consumed, ==, n);
	CHECK_STR(up.key, "dGhlIHNhbXBsZSBub25jZQ==");
	CHECK_STR(up.origin, "http://example.com");
	CHECK_STR(up.user_agent, "test/1.0");
	CHECK_STR(up.protocol, "chat, superchat");
	CHECK_STR(up.host, "server.example.com");
	/* every prefix is incomplete, not wrong */
	{
		int wrong = 0;

		for (size_t cut = 0; cut < n; cut++) {
			if (parse(req, cut, &status, &consumed, &up) != -EAGAIN) {
				fprintf(stderr, "prefix of %zu bytes: status %d\n", cut, status);
				wrong++;
			}
		}
		CHECK_INT(wrong, ==, 0);
	}
	/* what passes too: a query, an absolute URL, token lists, any case,
	 * HTTP/1.1 or later minor versions, no Origin */
	CHECK_INT(status_of("GET /ws?token=abc HTTP/1.1", NULL, NULL), ==, 0);
	CHECK_INT(status_of("GET http://server.example.com/ws HTTP/1.1", NULL, NULL), ==, 0);
	CHECK_INT(
		status_of("GET /ws HTTP/1.1", "Connection", "connection: keep-alive, UPGRADE\r\n"),
		==, 0);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Upgrade", "UPGRADE: WebSocket\r\n"), ==, 0);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Connection",
			    "Connection: keep-alive\r\nConnection: Upgrade\r\n"),
		  ==, 0);
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, "X-Whatever: \r\n"), ==, 0);
}

static void test_statuses(void)
{
	char req[MAX_HEADER * 2];
	size_t consumed, n;
	struct ws_upgrade up;
	int status = -1;

	/* not HTTP at all */
	CHECK_INT(
		parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, &status, &consumed, &up),
		==, -EINVAL);
	CHECK_INT(status, ==, 400);
	CHECK_INT(parse("hello there\r\n\r\n", 15, &status, &consumed, &up), ==, -EINVAL);
	CHECK_INT(status, ==, 400);
	/* methods other than GET */
	CHECK_INT(status_of("POST /ws HTTP/1.1", NULL, NULL), ==, 405);
	CHECK_INT(status_of("PUT /ws HTTP/1.1", NULL, NULL), ==, 405);
	CHECK_INT(status_of("OPTIONS /ws HTTP/1.1", NULL, NULL), ==, 405);
	/* other paths */
	CHECK_INT(status_of("GET / HTTP/1.1", NULL, NULL), ==, 404);
	CHECK_INT(status_of("GET /wss HTTP/1.1", NULL, NULL), ==, 404);
	CHECK_INT(status_of("GET /ws/ HTTP/1.1", NULL, NULL), ==, 404);
	CHECK_INT(status_of("GET /WS HTTP/1.1", NULL, NULL), ==, 404);
	/* version, Host */
	CHECK_INT(status_of("GET /ws HTTP/1.0", NULL, NULL), ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Host", NULL), ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, "Host: other\r\n"), ==, 400);
	/* no upgrade to websocket */
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Upgrade", NULL), ==, 426);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Upgrade", "Upgrade: h2c\r\n"), ==, 426);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Connection", NULL), ==, 426);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Connection", "Connection: keep-alive\r\n"), ==,
		  426);
	/* another WebSocket version */
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Version", NULL), ==, 426);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Version",
			    "Sec-WebSocket-Version: 8\r\n"),
		  ==, 426);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Version",
			    "Sec-WebSocket-Version: 130\r\n"),
		  ==, 426);
	/* the key: missing, short, not base64, twice */
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Key", NULL), ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Key",
			    "Sec-WebSocket-Key: c2hvcnQ=\r\n"),
		  ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", "Sec-WebSocket-Key",
			    "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"),
		  ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL,
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
		  ==, 400);
	/* a body */
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, "Content-Length: 5\r\n"), ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, "Transfer-Encoding: chunked\r\n"), ==, 400);
	CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, "Content-Length: 0\r\n"), ==, 0);
	/* an Origin too long to keep */
	{
		char extra[400];

		snprintf(extra, sizeof(extra), "Origin: http://%0300d.example\r\n", 0);
		CHECK_INT(status_of("GET /ws HTTP/1.1", NULL, extra), ==, 400);
	}
	/* headers over max_header: complete or not, 431 */
	n = (size_t)snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nX-Pad: ");
	while (n < MAX_HEADER + 10)
		req[n++] = 'a';
	CHECK_INT(parse(req, n, &status, &consumed, &up), ==, -EINVAL);
	CHECK_INT(status, ==, 431);
	CHECK_INT(parse(req, MAX_HEADER - 1, &status, &consumed, &up), ==, -EAGAIN);
	n = request(req, sizeof(req), "GET /ws HTTP/1.1", NULL, NULL);
	CHECK_INT(ws_http_parse_upgrade((uint8_t *)req, n, n, &up, &consumed, &status), ==, 0);
	CHECK_INT(ws_http_parse_upgrade((uint8_t *)req, n, n - 1, &up, &consumed, &status), ==,
		  -EINVAL);
	CHECK_INT(status, ==, 431);
}

static void test_keys_and_answers(void)
{
	char accept[29], buf[512];
	struct ws_upgrade up;
	int n;

	/* RFC 6455 section 1.3 */
	CHECK_INT(ws_http_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept), ==, 0);
	CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	memset(&up, 0, sizeof(up));
	strcpy(up.key, "dGhlIHNhbXBsZSBub25jZQ==");
	n = ws_http_accept_response(&up, buf, sizeof(buf));
	CHECK_INT(n, >, 0);
	CHECK(strncmp(buf, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
	CHECK_CONTAINS(buf, "\r\nUpgrade: websocket\r\n");
	CHECK_CONTAINS(buf, "\r\nConnection: Upgrade\r\n");
	CHECK_CONTAINS(buf, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
	/* errors: status line, close, body length, 426 names the version */
	n = ws_http_error_response(426, NULL, buf, sizeof(buf));
	CHECK_INT(n, >, 0);
	CHECK(strncmp(buf, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0);
	CHECK_CONTAINS(buf, "\r\nSec-WebSocket-Version: 13\r\n");
	CHECK_CONTAINS(buf, "\r\nConnection: close\r\n");
	n = ws_http_error_response(404, "no such path", buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	CHECK_CONTAINS(buf, "Content-Length: 13\r\n");
	CHECK_CONTAINS(buf, "\r\n\r\nno such path\n");
	CHECK(strstr(buf, "Sec-WebSocket-Version") == NULL);
	CHECK_INT((size_t)n, ==, strlen(buf));
	n = ws_http_error_response(431, NULL, buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46) == 0);
	n = ws_http_error_response(503, NULL, buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
}

static void test_client_side(void)
{
	char req[512], key[32], key2[32], resp[512];
	struct ws_upgrade up;
	size_t consumed = 0;
	int status = -1, n;

	n = ws_http_client_request("localhost:7221", NULL, req, sizeof(req), key);
	CHECK_INT(n, >, 0);
	CHECK_INT(strlen(key), ==, 24);
	ws_http_client_request("localhost:7221", "/ws", req + 256, 256, key2);
	CHECK(strcmp(key, key2) != 0); /* fresh random keys */
	/* our server parser accepts our client's request */
	CHECK_INT(ws_http_parse_upgrade((uint8_t *)req, (size_t)n, 8192, &up, &consumed, &status),
		  ==, 0);
	CHECK_INT(consumed, ==, (size_t)n);
	CHECK_STR(up.key, key);
	CHECK_STR(up.host, "localhost:7221");
	/* and the client accepts the server's answer, keeping what follows */
	n = ws_http_accept_response(&up, resp, sizeof(resp));
	memcpy(resp + n, "\x81\x00", 2);
	CHECK_INT(ws_http_client_check((uint8_t *)resp, (size_t)n + 2, key, &consumed, &status), ==,
		  0);
	CHECK_INT(consumed, ==, (size_t)n);
	CHECK_INT(status, ==, 101);
	CHECK_INT(ws_http_client_check((uint8_t *)resp, (size_t)n - 1, key, &consumed, &status), ==,
		  -EAGAIN);
	/* another key's answer */
	CHECK_INT(ws_http_client_check((uint8_t *)resp, (size_t)n, key2, &consumed, &status), ==,
		  -EPROTO);
	/* an error answer */
	n = ws_http_error_response(404, NULL, resp, sizeof(resp));
	CHECK_INT(ws_http_client_check((uint8_t *)resp, (size_t)n, key, &consumed, &status), ==,
		  -EPROTO);
	CHECK_INT(status, ==, 404);
	/* not HTTP */
	CHECK_INT(ws_http_client_check((uint8_t *)"SSH-2.0-x\r\n", 11, key, &consumed, &status), ==,
		  -EPROTO);
	CHECK_INT(status, ==, 0);
	/* 101 without the accept header */
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\n\r\n");
	CHECK_INT(ws_http_client_check((uint8_t *)resp, (size_t)n, key, &consumed, &status), ==,
		  -EPROTO);
}

int main(void)
{
	test_valid();
	test_statuses();
	test_keys_and_answers();
	test_client_side();
	return check_report();
}
