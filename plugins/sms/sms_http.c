/*
 * plugins/sms/sms_http.c - the HTTP/1.1 response parser of the SMS client.
 *
 * It reads one response as the bytes arrive, in any split: the status
 * line, the header fields (Content-Length, Transfer-Encoding, Location;
 * the rest is skipped), and a body delimited by Content-Length, by chunked
 * transfer coding (extensions and trailers skipped) or by the end of the
 * connection. Interim 1xx responses are skipped. A gateway is a peer on
 * the internet, so every part has a limit (SMS_HTTP_HEADER_MAX for a
 * response head, SMS_HTTP_BODY_MAX for the body, SMS_HTTP_FIELDS_MAX
 * fields) and anything malformed - a bad status line, a header line without
 * a colon, two different Content-Lengths, a transfer coding that is not
 * chunked, a bad chunk size - ends the parse with -EPROTO and a reason.
 * Bare LF line ends are accepted (RFC 9112 allows a recipient to).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sms.h"

#define CHUNK_LINE_MAX 1024

void sms_http_init(struct sms_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->line.max = SMS_HTTP_HEADER_MAX;
	r->body.max = SMS_HTTP_BODY_MAX;
}

void sms_http_free(struct sms_http_resp *r)
{
	sms_buf_free(&r->line);
	sms_buf_free(&r->body);
}

static int fail(struct sms_http_resp *r, int err, const char *fmt, const char *arg)
{
	r->state = SMS_HTTP_ERROR;
	snprintf(r->error, sizeof(r->error), fmt, arg ? arg : "");
	return err;
}

static int parse_status(struct sms_http_resp *r, char *s)
{
	char *p = s;
	int code = 0, err = 0;

	if (strncmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ') {
		err = fail(r, -EPROTO, "not an HTTP/1.x status line", NULL);
		goto out;
	}
	p += 9;
	for (int i = 0; i < 3 && !err; i++, p++) {
		if (*p < '0' || *p > '9')
			err = fail(r, -EPROTO, "invalid status code", NULL);
		else
			code = code * 10 + (*p - '0');
	}
	/* RFC 9110: three digits, 100 to 599 */
	if (!err && (code < 100 || code > 599 || (*p && *p != ' ')))
		err = fail(r, -EPROTO, "invalid status code", NULL);
	if (err)
		goto out;
	r->status = code;
	if (*p == ' ')
		p++;
	/* a phrase that does not fit is dropped, not cut: its end could be the
	 * first half of the password, which then no scrubbing would find */
	r->reason_cut = strlen(p) >= sizeof(r->reason);
	snprintf(r->reason, sizeof(r->reason), "%s", r->reason_cut ? "" : p);
	for (char *q = r->reason; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	r->state = SMS_HTTP_HEADERS;
out:
	return err;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;
	int any = 0;

	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + (uint64_t)d;
		any = 1;
	}
	if (!any)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The last coding of a Transfer-Encoding list must be chunked. */
static int chunked_last(const char *v)
{
	const char *last = strrchr(v, ',');
	char tok[32];

	last = last ? last + 1 : v;
	while (*last == ' ' || *last == '\t')
		last++;
	snprintf(tok, sizeof(tok), "%s", last);
	return strcasecmp(trim(tok), "chunked") == 0;
}

static int field(struct sms_http_resp *r, char *s)
{
	char *colon = strchr(s, ':'), *name = s, *value;
	uint64_t n;

	if (!colon || colon == s)
		return fail(r, -EPROTO, "header line without a field name", NULL);
	*colon = '\0';
	for (char *q = name; *q; q++)
		if (*q == ' ' || *q == '\t' || (unsigned char)*q < 0x21 || *q == 0x7f)
			return fail(r, -EPROTO, "invalid header field name", NULL);
	if (++r->fields > SMS_HTTP_FIELDS_MAX)
		return fail(r, -EMSGSIZE, "more than %s header fields", "100");
	value = trim(colon + 1);
	if (strcasecmp(name, "Content-Length") == 0) {
		if (parse_u64(value, 10, &n) || n > INT64_MAX)
			return fail(r, -EPROTO, "invalid Content-Length", NULL);
		if (r->content_length >= 0 && (uint64_t)r->content_length != n)
			return fail(r, -EPROTO, "conflicting Content-Length fields", NULL);
		r->content_length = (int64_t)n;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		if (!chunked_last(value))
			return fail(r, -EPROTO, "unsupported Transfer-Encoding %s", value);
		r->chunked = 1;
	} else if (strcasecmp(name, "Location") == 0) {
		r->location_cut = strlen(value) >= sizeof(r->location);
		snprintf(r->location, sizeof(r->location), "%s", r->location_cut ? "" : value);
	}
	return 0;
}

/* The head ended (empty line): decide how the body is delimited. */
static int head_done(struct sms_http_resp *r)
{
	if (r->status < 200) {
		/* interim response: the real one follows */
		r->state = SMS_HTTP_STATUS;
		r->chunked = 0;
		r->content_length = -1;
		r->header_bytes = 0;
		r->fields = 0;
		r->location[0] = '\0';
		r->location_cut = 0;
		return 0;
	}
	if (r->status == 204 || r->status == 304) {
		r->state = SMS_HTTP_DONE;
		return 1;
	}
	if (r->chunked) {
		/* Transfer-Encoding overrides Content-Length (RFC 9112 6.3) */
		r->state = SMS_HTTP_CHUNK_SIZE;
		return 0;
	}
	if (r->content_length >= 0) {
		if (r->content_length > SMS_HTTP_BODY_MAX)
			return fail(r, -EMSGSIZE, "the body is longer than %s bytes", "65536");
		r->left = (uint64_t)r->content_length;
		r->state = r->left ? SMS_HTTP_BODY_LENGTH : SMS_HTTP_DONE;
		return r->state == SMS_HTTP_DONE;
	}
	r->state = SMS_HTTP_BODY_CLOSE;
	return 0;
}

static int chunk_size(struct sms_http_resp *r, char *s)
{
	uint64_t n;

	s[strcspn(s, ";")] = '\0';
	if (parse_u64(trim(s), 16, &n))
		return fail(r, -EPROTO, "invalid chunk size", NULL);
	if (n > SMS_HTTP_BODY_MAX || r->body.len + n > SMS_HTTP_BODY_MAX)
		return fail(r, -EMSGSIZE, "the body is longer than %s bytes", "65536");
	if (n == 0) {
		r->state = SMS_HTTP_TRAILERS;
		return 0;
	}
	r->left = n;
	r->state = SMS_HTTP_CHUNK_DATA;
	return 0;
}

/* One complete line (without its line end) in the current state. */
static int line(struct sms_http_resp *r, char *s)
{
	switch (r->state) {
	case SMS_HTTP_STATUS:
		return parse_status(r, s);
	case SMS_HTTP_HEADERS:
		return *s ? field(r, s) : head_done(r);
	case SMS_HTTP_CHUNK_SIZE:
		return chunk_size(r, s);
	case SMS_HTTP_CHUNK_CRLF:
		if (*s)
			return fail(r, -EPROTO, "chunk data longer than its size", NULL);
		r->state = SMS_HTTP_CHUNK_SIZE;
		return 0;
	case SMS_HTTP_TRAILERS:
		if (*s)
			return 0;
		r->state = SMS_HTTP_DONE;
		return 1;
	default:
		return fail(r, -EPROTO, "internal parser state", NULL);
	}
}

static int in_line_state(enum sms_http_state s)
{
	return s == SMS_HTTP_STATUS || s == SMS_HTTP_HEADERS || s == SMS_HTTP_CHUNK_SIZE ||
	       s == SMS_HTTP_CHUNK_CRLF || s == SMS_HTTP_TRAILERS;
}

int sms_http_feed(struct sms_http_resp *r, const uint8_t *data, size_t len)
{
	size_t i = 0;
	int rc;

	if (r->state == SMS_HTTP_DONE)
		return 1;
	if (r->state == SMS_HTTP_ERROR)
		return -EPROTO;
	while (i < len) {
		if (in_line_state(r->state)) {
			const uint8_t *nl = memchr(data + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
			int head = r->state == SMS_HTTP_STATUS || r->state == SMS_HTTP_HEADERS ||
				   r->state == SMS_HTTP_TRAILERS;
			size_t lim = head ? SMS_HTTP_HEADER_MAX : CHUNK_LINE_MAX;

			if (head) {
				r->header_bytes += n + (nl ? 1 : 0);
				if (r->header_bytes > SMS_HTTP_HEADER_MAX)
					return fail(r, -EMSGSIZE,
						    "the response head is longer than %s bytes",
						    "16384");
			}
			if (r->line.len + n > lim)
				return fail(r, -EMSGSIZE, "a line longer than %s bytes",
					    head ? "16384" : "1024");
			if (memchr(data + i, '\0', n))
				return fail(r, -EPROTO, "a NUL byte in the response head", NULL);
			if (n && sms_buf_add(&r->line, data + i, n))
				return fail(r, -ENOMEM, "out of memory", NULL);
			i += n;
			if (!nl)
				break;
			i++; /* the LF */
			if (r->line.len && r->line.data[r->line.len - 1] == '\r')
				r->line.data[--r->line.len] = '\0';
			rc = line(r, r->line.data ? r->line.data : (char *)"");
			r->line.len = 0;
			if (r->line.data)
				r->line.data[0] = '\0';
			if (rc)
				return rc;
			continue;
		}
		if (r->state == SMS_HTTP_BODY_LENGTH || r->state == SMS_HTTP_CHUNK_DATA) {
			size_t n = len - i;

			if ((uint64_t)n > r->left)
				n = (size_t)r->left;
			if (sms_buf_add(&r->body, data + i, n))
				return fail(r, -EMSGSIZE, "the body is longer than %s bytes",
					    "65536");
			i += n;
			r->left -= n;
			if (!r->left) {
				if (r->state == SMS_HTTP_BODY_LENGTH) {
					r->state = SMS_HTTP_DONE;
					return 1;
				}
				r->state = SMS_HTTP_CHUNK_CRLF;
			}
			continue;
		}
		if (r->state == SMS_HTTP_BODY_CLOSE) {
			if (sms_buf_add(&r->body, data + i, len - i))
				return fail(r, -EMSGSIZE, "the body is longer than %s bytes",
					    "65536");
			i = len;
			continue;
		}
		break;
	}
	return r->state == SMS_HTTP_DONE ? 1 : 0;
}

int sms_http_eof(struct sms_http_resp *r)
{
	switch (r->state) {
	case SMS_HTTP_DONE:
		return 1;
	case SMS_HTTP_BODY_CLOSE:
		r->state = SMS_HTTP_DONE;
		return 1;
	case SMS_HTTP_ERROR:
		return -EPROTO;
	case SMS_HTTP_STATUS:
		if (!r->status && !r->line.len)
			return fail(r, -EPROTO, "the connection closed without an answer", NULL);
		return fail(r, -EPROTO, "the connection closed in the response head", NULL);
	case SMS_HTTP_HEADERS:
		return fail(r, -EPROTO, "the connection closed in the response head", NULL);
	default:
		return fail(r, -EPROTO, "the connection closed before the body was complete", NULL);
	}
}
