/*
 * plugins/sms/sms_request.c - from a provider and the values of one SMS to
 * the bytes of one HTTP/1.1 request: the URL template expanded and parsed
 * (http or https, host, port, target), the body template expanded for its
 * content type, the provider's extra headers, optional Basic
 * authentication, and "Connection: close" so that the end of the answer
 * is never in doubt.
 *
 * Only the query and path can carry placeholders safely: every value is
 * percent-encoded, so a value never adds a '/', '?', '&' or '@'. The
 * parsed URL is checked after expansion all the same - a template like
 * "https://%GATEWAY%/send" depends on what the operator configured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sms.h"

void sms_url_free(struct sms_url *u)
{
	free(u->target);
	u->target = NULL;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

int sms_url_parse(const char *url, struct sms_url *out, char *why, size_t cap)
{
	const char *p, *host, *end;
	size_t hlen, tlen;
	long port = 0;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(url, "https://", 8) == 0) {
		out->tls = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		snprintf(why, cap, "the URL must start with http:// or https://");
		return -EINVAL;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p))) {
		snprintf(why, cap, "user information in the URL is not supported");
		return -EINVAL;
	}
	host = p;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close) {
			snprintf(why, cap, "unterminated [ in the URL's host");
			return -EINVAL;
		}
		host = p + 1;
		hlen = (size_t)(close - host);
		for (size_t i = 0; i < hlen; i++)
			if (!(host_char(host[i]) || host[i] == ':')) {
				snprintf(why, cap, "invalid IPv6 address in the URL");
				return -EINVAL;
			}
		out->ipv6 = 1;
		p = close + 1;
	} else {
		while (p < end && *p != ':')
			p++;
		hlen = (size_t)(p - host);
		for (size_t i = 0; i < hlen; i++)
			if (!host_char(host[i])) {
				snprintf(why, cap, "invalid character in the URL's host");
				return -EINVAL;
			}
	}
	if (!hlen || hlen >= sizeof(out->host)) {
		snprintf(why, cap, "the URL has %s host", hlen ? "too long a" : "no");
		return -EINVAL;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (p < end && *p == ':') {
		p++;
		if (p == end) {
			snprintf(why, cap, "empty port in the URL");
			return -EINVAL;
		}
		for (; p < end; p++) {
			if (*p < '0' || *p > '9' || port > 65535) {
				snprintf(why, cap, "invalid port in the URL");
				return -EINVAL;
			}
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535) {
			snprintf(why, cap, "invalid port in the URL");
			return -EINVAL;
		}
	} else if (p != end) {
		snprintf(why, cap, "invalid URL after the host");
		return -EINVAL;
	}
	out->port = (uint16_t)(port ? port : out->tls ? 443 : 80);
	/* the target: path and query, never the fragment */
	tlen = strcspn(end, "#");
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)end[i] <= 0x20 || (unsigned char)end[i] >= 0x7f) {
			snprintf(why, cap, "the URL holds a space or a control character");
			return -EINVAL;
		}
	out->target = malloc(tlen + 2);
	if (!out->target)
		return -ENOMEM;
	if (*end == '/') {
		memcpy(out->target, end, tlen);
		out->target[tlen] = '\0';
	} else {
		out->target[0] = '/';
		memcpy(out->target + 1, end, tlen);
		out->target[tlen + 1] = '\0';
	}
	return 0;
}

void sms_request_free(struct sms_request *r)
{
	sms_url_free(&r->url);
	sms_buf_free(&r->bytes);
	free(r->shown);
	r->shown = NULL;
}

static int add_fmt(struct sms_buf *b, const char *fmt, const char *a, const char *c)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), fmt, a, c);

	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	return sms_buf_add(b, line, (size_t)n);
}

int sms_request_build(struct sms_request *out, const struct sms_provider *p,
		      const struct sms_values *v, const char *user_agent, char *why, size_t cap)
{
	struct sms_buf url = {0}, body = {0}, tmp = {0};
	struct sms_buf *b = &out->bytes;
	char host[300], num[16];
	int err;

	memset(out, 0, sizeof(*out));
	err = sms_expand(&url, p->url, SMS_ENC_URL, v);
	if (err) {
		snprintf(why, cap, "the URL is too long once expanded");
		goto out;
	}
	err = sms_url_parse(url.data, &out->url, why, cap);
	if (err)
		goto out;
	if (p->post && p->body) {
		err = sms_expand(&body, p->body, p->body_enc, v);
		if (err) {
			snprintf(why, cap, "the body is too long once expanded");
			goto out;
		}
	}
	if ((out->url.tls && out->url.port == 443) || (!out->url.tls && out->url.port == 80))
		num[0] = '\0';
	else
		snprintf(num, sizeof(num), ":%u", out->url.port);
	snprintf(host, sizeof(host), "%s%s%s%s", out->url.ipv6 ? "[" : "", out->url.host,
		 out->url.ipv6 ? "]" : "", num);
	err = sms_buf_str(b, p->post ? "POST " : "GET ");
	if (!err)
		err = sms_buf_str(b, out->url.target);
	if (!err)
		err = add_fmt(b, " HTTP/1.1\r\nHost: %s%s\r\n", host, "");
	if (!err)
		err = add_fmt(b, "User-Agent: %s%s\r\n", user_agent ? user_agent : "ucsd", "");
	if (!err)
		err = sms_buf_str(b, "Accept: */*\r\nConnection: close\r\n");
	if (!err && p->basic_auth) {
		err = sms_expand(&tmp, "%USER%:%PASSWORD%", SMS_ENC_NONE, v);
		if (!err)
			err = sms_buf_str(b, "Authorization: Basic ");
		if (!err)
			err = sms_base64(b, tmp.data, tmp.len);
		if (!err)
			err = sms_buf_str(b, "\r\n");
	}
	for (size_t i = 0; !err && i < p->n_headers; i++) {
		err = sms_buf_str(b, p->headers[i].name);
		if (!err)
			err = sms_buf_str(b, ": ");
		if (!err) {
			err = sms_expand(b, p->headers[i].value, SMS_ENC_HEADER, v);
			if (err == -EINVAL)
				snprintf(why, cap, "header %s would carry a control character",
					 p->headers[i].name);
		}
		if (!err)
			err = sms_buf_str(b, "\r\n");
	}
	if (!err && p->post) {
		char len[32];

		snprintf(len, sizeof(len), "%zu", body.len);
		err = add_fmt(b, "Content-Type: %s\r\nContent-Length: %s\r\n",
			      p->content_type ? p->content_type
					      : "application/x-www-form-urlencoded",
			      len);
	}
	if (!err)
		err = sms_buf_str(b, "\r\n");
	if (!err && body.len)
		err = sms_buf_add(b, body.data, body.len);
	if (err == -E2BIG)
		snprintf(why, cap, "the request would exceed %d bytes", SMS_REQUEST_MAX);
	if (err)
		goto out;
	{
		size_t n = strlen(out->url.host) + strlen(out->url.target) + 32;
		size_t path = strcspn(out->url.target, "?");

		out->shown = malloc(n);
		if (!out->shown) {
			err = -ENOMEM;
			goto out;
		}
		snprintf(out->shown, n, "%s://%s%.*s", out->url.tls ? "https" : "http", host,
			 (int)path, out->url.target);
	}
out:
	sms_buf_free(&url);
	sms_buf_free(&body);
	sms_buf_free(&tmp);
	if (err)
		sms_request_free(out);
	return err;
}
