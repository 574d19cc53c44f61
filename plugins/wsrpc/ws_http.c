/*
 * plugins/wsrpc/ws_http.c - the WebSocket opening handshake (RFC 6455
 * section 4) on both sides, with libhttp-parser doing the HTTP.
 *
 * The parser API is stateless on purpose: the caller hands in everything
 * received so far and we parse it from the start. A request header is a few
 * hundred bytes and is bounded by max_header, so parsing it again when more
 * arrives costs less than keeping a parser (and its callbacks' state) in
 * every connection that is still handshaking.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <http_parser.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "ws_http.h"

#define WS_GUID	     "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_RESPONSE 16384
#define VALUE_MAX    256 /* longest Upgrade/Connection/Version value we look at */

enum hdr_id {
	H_OTHER = 0,
	H_HOST,
	H_UPGRADE,
	H_CONNECTION,
	H_VERSION,
	H_KEY,
	H_ORIGIN,
	H_USER_AGENT,
	H_PROTOCOL,
	H_ACCEPT,
	H_TRANSFER_ENCODING,
	H_COUNT
};

static const char *const hdr_names[H_COUNT] = {
	[H_HOST] = "host",
	[H_UPGRADE] = "upgrade",
	[H_CONNECTION] = "connection",
	[H_VERSION] = "sec-websocket-version",
	[H_KEY] = "sec-websocket-key",
	[H_ORIGIN] = "origin",
	[H_USER_AGENT] = "user-agent",
	[H_PROTOCOL] = "sec-websocket-protocol",
	[H_ACCEPT] = "sec-websocket-accept",
	[H_TRANSFER_ENCODING] = "transfer-encoding",
};

struct hdr_val {
	char text[VALUE_MAX];
	size_t len;
	unsigned count; /* times the header appeared */
	int truncated;
};

struct ctx {
	const char *url;
	size_t url_len;
	char field[32];
	size_t field_len;
	int field_long;	   /* longer than any name we look for */
	int field_pending; /* a name was read, its value not yet */
	enum hdr_id cur;
	struct hdr_val h[H_COUNT];
	int complete;
};

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct ctx *c = p->data;

	/* one execute call over the whole buffer: the URL comes in one piece,
	 * except when it is cut by the end of the data (then it is incomplete) */
	if (!c->url)
		c->url = at;
	c->url_len += len;
	return 0;
}

static void field_end(struct ctx *c)
{
	c->cur = H_OTHER;
	if (!c->field_long) {
		for (int i = 1; i < H_COUNT; i++) {
			if (strlen(hdr_names[i]) == c->field_len &&
			    !strncasecmp(hdr_names[i], c->field, c->field_len)) {
				c->cur = (enum hdr_id)i;
				break;
			}
		}
	}
	if (c->cur != H_OTHER) {
		struct hdr_val *v = &c->h[c->cur];

		/* a repeated header joins its list ("a, b" == "a" then "b") */
		if (v->count++ && v->len + 1 < sizeof(v->text))
			v->text[v->len++] = ',';
	}
	c->field_len = 0;
	c->field_long = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct ctx *c = p->data;

	/* Within one execute call a name arrives in one piece; a name right
	 * after a name means the first one had an empty value. */
	if (c->field_pending)
		field_end(c);
	c->field_pending = 1;
	if (c->field_len + len >= sizeof(c->field)) {
		c->field_long = 1;
		return 0;
	}
	memcpy(c->field + c->field_len, at, len);
	c->field_len += len;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct ctx *c = p->data;
	struct hdr_val *v;
	size_t room;

	if (c->field_pending) {
		field_end(c);
		c->field_pending = 0;
	}
	if (c->cur == H_OTHER)
		return 0;
	v = &c->h[c->cur];
	room = sizeof(v->text) - 1 - v->len;
	if (len > room) {
		v->truncated = 1;
		len = room;
	}
	memcpy(v->text + v->len, at, len);
	v->len += len;
	v->text[v->len] = 0;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct ctx *c = p->data;

	if (c->field_pending) {
		field_end(c);
		c->field_pending = 0;
	}
	c->complete = 1;
	/* 2: no body, and what follows is another protocol: the parser stops
	 * right after the header, so its return value is the header's length */
	return 2;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
};

/* Whether a comma-separated token list holds `token` (any case). */
static int has_token(const struct hdr_val *v, const char *token)
{
	size_t tl = strlen(token);
	const char *p = v->text, *end = v->text + v->len;

	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		const char *s = p, *e = q ? q : end;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == tl && !strncasecmp(s, token, tl))
			return 1;
		if (!q)
			break;
		p = q + 1;
	}
	return 0;
}

/* Copies a header value into a fixed field; 0, or -1 when it does not fit. */
static int copy_value(char *dst, size_t cap, const struct hdr_val *v)
{
	if (v->truncated || v->len >= cap) {
		dst[0] = 0;
		return -1;
	}
	memcpy(dst, v->text, v->len);
	dst[v->len] = 0;
	return 0;
}

static int path_ok(const char *url, size_t len)
{
	struct http_parser_url u;
	const char *path;
	size_t plen;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
		return 0;
	path = url + u.field_data[UF_PATH].off;
	plen = u.field_data[UF_PATH].len;
	return plen == 3 && !memcmp(path, "/ws", 3);
}

static int key_ok(const struct hdr_val *v)
{
	unsigned char raw[32];
	size_t n = 0;

	if (v->count != 1 || v->truncated || v->len != 24)
		return 0;
	if (mbedtls_base64_decode(raw, sizeof(raw), &n, (const unsigned char *)v->text, v->len))
		return 0;
	return n == 16;
}

int ws_http_parse_upgrade(const uint8_t *data, size_t len, size_t max_header,
			  struct ws_upgrade *out, size_t *consumed, int *status)
{
	struct ctx c;
	http_parser p;
	size_t n, scan = len < max_header ? len : max_header;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	*consumed = 0;
	*status = 0;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &c;
	n = http_parser_execute(&p, &settings, (const char *)data, scan);
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
		*status = 400;
		return -EINVAL;
	}
	if (!c.complete) {
		if (len >= max_header) {
			*status = 431;
			return -EINVAL;
		}
		(void)n;
		return -EAGAIN;
	}
	*consumed = n;
	if (p.method != HTTP_GET) {
		*status = 405;
		return -EINVAL;
	}
	if (!c.url || !path_ok(c.url, c.url_len)) {
		*status = 404;
		return -EINVAL;
	}
	if (p.http_major != 1 || p.http_minor < 1) {
		*status = 400;
		return -EINVAL;
	}
	if (c.h[H_HOST].count != 1 || c.h[H_HOST].len == 0) {
		*status = 400;
		return -EINVAL;
	}
	if (!has_token(&c.h[H_UPGRADE], "websocket") || !has_token(&c.h[H_CONNECTION], "upgrade")) {
		*status = 426;
		return -EINVAL;
	}
	if (c.h[H_VERSION].count != 1 || c.h[H_VERSION].len != 2 ||
	    memcmp(c.h[H_VERSION].text, "13", 2) != 0) {
		*status = 426;
		return -EINVAL;
	}
	if (!key_ok(&c.h[H_KEY])) {
		*status = 400;
		return -EINVAL;
	}
	if ((p.content_length != 0 && p.content_length != ULLONG_MAX) ||
	    c.h[H_TRANSFER_ENCODING].count) {
		*status = 400; /* an upgrade request has no body */
		return -EINVAL;
	}
	if (c.h[H_ORIGIN].count > 1 ||
	    copy_value(out->origin, sizeof(out->origin), &c.h[H_ORIGIN]) ||
	    copy_value(out->host, sizeof(out->host), &c.h[H_HOST])) {
		*status = 400;
		return -EINVAL;
	}
	copy_value(out->key, sizeof(out->key), &c.h[H_KEY]);
	/* informational only: cut rather than refuse */
	snprintf(out->user_agent, sizeof(out->user_agent), "%.*s", (int)c.h[H_USER_AGENT].len,
		 c.h[H_USER_AGENT].text);
	snprintf(out->protocol, sizeof(out->protocol), "%.*s", (int)c.h[H_PROTOCOL].len,
		 c.h[H_PROTOCOL].text);
	return 0; /* n <= max_header: only that much was parsed */
}

int ws_http_accept_key(const char *key, char out[29])
{
	unsigned char digest[20];
	char buf[64 + sizeof(WS_GUID)];
	size_t klen = strlen(key), olen = 0;

	out[0] = 0;
	if (klen > 64)
		return -EINVAL;
	memcpy(buf, key, klen);
	memcpy(buf + klen, WS_GUID, sizeof(WS_GUID) - 1);
#if MBEDTLS_VERSION_MAJOR >= 3
	if (mbedtls_sha1((const unsigned char *)buf, klen + sizeof(WS_GUID) - 1, digest))
		return -EIO;
#else
	if (mbedtls_sha1_ret((const unsigned char *)buf, klen + sizeof(WS_GUID) - 1, digest))
		return -EIO;
#endif
	if (mbedtls_base64_encode((unsigned char *)out, 29, &olen, digest, sizeof(digest)) ||
	    olen != 28)
		return -EIO;
	out[28] = 0;
	return 0;
}

int ws_http_accept_response(const struct ws_upgrade *up, char *buf, size_t cap)
{
	char accept[29];

	if (ws_http_accept_key(up->key, accept))
		return -EINVAL;
	return snprintf(buf, cap,
			"HTTP/1.1 101 Switching Protocols\r\n"
			"Upgrade: websocket\r\n"
			"Connection: Upgrade\r\n"
			"Sec-WebSocket-Accept: %s\r\n"
			"\r\n",
			accept);
}

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

int ws_http_error_response(int status, const char *text, char *buf, size_t cap)
{
	const char *body = text ? text : status_text(status);
	size_t blen = strlen(body);

	return snprintf(buf, cap,
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n"
			"Content-Length: %zu\r\n"
			"Connection: close\r\n"
			"%s%s"
			"\r\n"
			"%s\n",
			status, status_text(status), blen + 1,
			status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
			status == 405 ? "Allow: GET\r\n" : "", body);
}

int ws_http_client_request(const char *host, const char *path, char *buf, size_t cap,
			   char key_out[32])
{
	unsigned char raw[16];
	size_t got = 0, olen = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	if (mbedtls_base64_encode((unsigned char *)key_out, 32, &olen, raw, sizeof(raw)))
		return -EIO;
	key_out[olen] = 0;
	return snprintf(buf, cap,
			"GET %s HTTP/1.1\r\n"
			"Host: %s\r\n"
			"Upgrade: websocket\r\n"
			"Connection: Upgrade\r\n"
			"Sec-WebSocket-Key: %s\r\n"
			"Sec-WebSocket-Version: 13\r\n"
			"User-Agent: ucsd-ws/1\r\n"
			"\r\n",
			path && *path ? path : "/ws", host, key_out);
}

int ws_http_client_check(const uint8_t *data, size_t len, const char *key, size_t *consumed,
			 int *status)
{
	struct ctx c;
	http_parser p;
	char accept[29];
	size_t n, scan = len < MAX_RESPONSE ? len : MAX_RESPONSE;

	memset(&c, 0, sizeof(c));
	*consumed = 0;
	*status = 0;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &c;
	n = http_parser_execute(&p, &settings, (const char *)data, scan);
	if (p.status_code)
		*status = p.status_code;
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
		return -EPROTO;
	if (!c.complete)
		return len >= MAX_RESPONSE ? -EPROTO : -EAGAIN;
	if (p.status_code != 101 || !has_token(&c.h[H_UPGRADE], "websocket") ||
	    !has_token(&c.h[H_CONNECTION], "upgrade") || c.h[H_ACCEPT].count != 1)
		return -EPROTO;
	if (ws_http_accept_key(key, accept) || c.h[H_ACCEPT].len != 28 ||
	    memcmp(c.h[H_ACCEPT].text, accept, 28) != 0)
		return -EPROTO;
	*consumed = n;
	return 0;
}
