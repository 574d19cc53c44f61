/*
 * plugins/sms/sms_template.c - placeholders and their encodings: growing
 * buffers, %NAME% expansion, the encoding of a value for the place it
 * lands, number forms, and the cleaning of text for logs and replies.
 *
 * The encoding is what keeps a user's text a value: an '&' in an SMS must
 * not start a new query parameter, a '"' must not end a JSON string, a CR
 * LF must not start a new header. So every placeholder is encoded for its
 * template (URL: percent-encoding of everything but RFC 3986's unreserved
 * characters; form: the same with space as '+'; JSON; XML), and a header
 * value with a control character is refused rather than cleaned.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sms.h"

/* ---- buffers ---- */

int sms_buf_add(struct sms_buf *b, const void *data, size_t len)
{
	size_t max = b->max ? b->max : SMS_REQUEST_MAX;
	size_t need;
	char *p;

	if (len > max || b->len > max - len)
		return -E2BIG;
	need = b->len + len + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int sms_buf_str(struct sms_buf *b, const char *s)
{
	return sms_buf_add(b, s, strlen(s));
}

void sms_buf_free(struct sms_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- encodings ---- */

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int add_pct(struct sms_buf *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = {'%', hex[c >> 4], hex[c & 15]};

	return sms_buf_add(out, e, 3);
}

static int add_json(struct sms_buf *out, unsigned char c)
{
	char e[8];

	switch (c) {
	case '"':
		return sms_buf_add(out, "\\\"", 2);
	case '\\':
		return sms_buf_add(out, "\\\\", 2);
	case '\n':
		return sms_buf_add(out, "\\n", 2);
	case '\r':
		return sms_buf_add(out, "\\r", 2);
	case '\t':
		return sms_buf_add(out, "\\t", 2);
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(e, sizeof(e), "\\u%04x", c);
		return sms_buf_add(out, e, 6);
	}
	return sms_buf_add(out, &c, 1);
}

static int add_xml(struct sms_buf *out, unsigned char c)
{
	switch (c) {
	case '<':
		return sms_buf_str(out, "&lt;");
	case '>':
		return sms_buf_str(out, "&gt;");
	case '&':
		return sms_buf_str(out, "&amp;");
	case '"':
		return sms_buf_str(out, "&quot;");
	case '\'':
		return sms_buf_str(out, "&apos;");
	case '\n':
		return sms_buf_str(out, "&#10;");
	case '\r':
		return sms_buf_str(out, "&#13;");
	case '\t':
		return sms_buf_str(out, "&#9;");
	default:
		break;
	}
	/* XML 1.0 has no other control characters at all */
	if (c < 0x20)
		return sms_buf_add(out, " ", 1);
	return sms_buf_add(out, &c, 1);
}

int sms_encode(struct sms_buf *out, const char *s, size_t len, enum sms_enc enc)
{
	int err = 0;

	for (size_t i = 0; i < len && !err; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (enc) {
		case SMS_ENC_URL:
			err = unreserved(c) ? sms_buf_add(out, &c, 1) : add_pct(out, c);
			break;
		case SMS_ENC_FORM:
			if (c == ' ')
				err = sms_buf_add(out, "+", 1);
			else
				err = unreserved(c) || c == '*' ? sms_buf_add(out, &c, 1)
								: add_pct(out, c);
			break;
		case SMS_ENC_JSON:
			err = add_json(out, c);
			break;
		case SMS_ENC_XML:
			err = add_xml(out, c);
			break;
		case SMS_ENC_HEADER:
			err = (c < 0x20 && c != '\t') || c == 0x7f ? -EINVAL
								   : sms_buf_add(out, &c, 1);
			break;
		case SMS_ENC_NONE:
		default:
			err = sms_buf_add(out, &c, 1);
			break;
		}
	}
	return err;
}

enum sms_enc sms_enc_for_type(const char *type)
{
	size_t n;

	if (!type)
		return SMS_ENC_NONE;
	n = strcspn(type, ";");
	while (n && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	if (n == 33 && strncasecmp(type, "application/x-www-form-urlencoded", n) == 0)
		return SMS_ENC_FORM;
	if ((n == 16 && strncasecmp(type, "application/json", n) == 0) ||
	    (n > 5 && strncasecmp(type + n - 5, "+json", 5) == 0))
		return SMS_ENC_JSON;
	if ((n == 15 && strncasecmp(type, "application/xml", n) == 0) ||
	    (n == 8 && strncasecmp(type, "text/xml", n) == 0) ||
	    (n > 4 && strncasecmp(type + n - 4, "+xml", 4) == 0))
		return SMS_ENC_XML;
	return SMS_ENC_NONE;
}

int sms_base64(struct sms_buf *out, const char *s, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int err = 0;

	for (size_t i = 0; i < len && !err; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
		err = sms_buf_add(out, q, 4);
	}
	return err;
}

/* ---- placeholders ---- */

static const char *const names[] = {"USER", "PASSWORD", "SENDER", "RECIPIENT", "TEXT", "GATEWAY"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static const char *value_of(const struct sms_values *v, size_t i)
{
	const char *s = NULL;

	switch (i) {
	case 0:
		s = v->user;
		break;
	case 1:
		s = v->password;
		break;
	case 2:
		s = v->sender;
		break;
	case 3:
		s = v->recipient;
		break;
	case 4:
		s = v->text;
		break;
	case 5:
		s = v->gateway;
		break;
	default:
		break;
	}
	return s ? s : "";
}

static int is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/*
 * At tmpl[i] == '%': the length of a %NAME% there (including both '%'),
 * 0 when it is not one. NAME is [A-Z][A-Z0-9_]* - two hex digits are
 * a percent-encoded octet the author wrote into the template.
 */
static size_t placeholder_at(const char *t, size_t i)
{
	size_t j = i + 1;

	if (!(t[j] >= 'A' && t[j] <= 'Z'))
		return 0;
	while (is_name_char(t[j]))
		j++;
	if (t[j] != '%')
		return 0;
	if (j - i - 1 == 2 && is_hex(t[i + 1]) && is_hex(t[i + 2]))
		return 0;
	return j - i + 1;
}

static int lookup(const char *name, size_t len)
{
	for (size_t k = 0; k < N_NAMES; k++)
		if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
			return (int)k;
	return -1;
}

int sms_template_check(const char *t, char *bad, size_t cap)
{
	for (size_t i = 0; t[i]; i++) {
		size_t n;

		if (t[i] != '%')
			continue;
		if (t[i + 1] == '%') {
			i++;
			continue;
		}
		n = placeholder_at(t, i);
		if (n && lookup(t + i + 1, n - 2) < 0) {
			snprintf(bad, cap, "%.*s", (int)n, t + i);
			return -EINVAL;
		}
		if (n)
			i += n - 1;
	}
	return 0;
}

int sms_expand(struct sms_buf *out, const char *t, enum sms_enc enc, const struct sms_values *v)
{
	size_t i = 0, lit = 0;
	int err = 0;

	while (t[i] && !err) {
		size_t n;
		int k;

		if (t[i] != '%') {
			i++;
			continue;
		}
		if (t[i + 1] == '%') {
			err = sms_buf_add(out, t + lit, i + 1 - lit);
			i += 2;
			lit = i;
			continue;
		}
		n = placeholder_at(t, i);
		k = n ? lookup(t + i + 1, n - 2) : -1;
		if (k < 0) {
			i++;
			continue;
		}
		err = sms_buf_add(out, t + lit, i - lit);
		if (!err) {
			const char *s = value_of(v, (size_t)k);

			err = sms_encode(out, s, strlen(s), enc);
		}
		i += n;
		lit = i;
	}
	if (!err)
		err = sms_buf_add(out, t + lit, i - lit);
	return err;
}

/* ---- numbers ---- */

int sms_number_format(const char *canonical, enum sms_numfmt fmt, char *out, size_t cap)
{
	const char *digits = canonical;
	int n;

	if (!canonical || canonical[0] != '+')
		return -EINVAL;
	digits++;
	for (const char *p = digits; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	switch (fmt) {
	case SMS_NUM_00:
		n = snprintf(out, cap, "00%s", digits);
		break;
	case SMS_NUM_DIGITS:
		n = snprintf(out, cap, "%s", digits);
		break;
	case SMS_NUM_PLUS:
	default:
		n = snprintf(out, cap, "+%s", digits);
		break;
	}
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- text for logs and replies ---- */

/* The first occurrence of needle (n > 0) in hay[0..len), or NULL; NUL
 * bytes are bytes like any other (a gateway's answer may hold them). */
static const char *find_bytes(const char *hay, size_t len, const char *needle, size_t n)
{
	for (size_t i = 0; n && i + n <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* Replaces each occurrence of needle (len n) in b with "***". When memory
 * runs out nothing is shown: the secret could not be proven gone. */
static void redact(struct sms_buf *b, const char *needle, size_t n)
{
	struct sms_buf r = {.max = b->max};
	const char *p = b->data, *end = b->data + b->len, *hit;
	int err = 0;

	if (!n || !p || !find_bytes(p, b->len, needle, n))
		return;
	while (!err && (hit = find_bytes(p, (size_t)(end - p), needle, n))) {
		err = sms_buf_add(&r, p, (size_t)(hit - p));
		if (!err)
			err = sms_buf_add(&r, "***", 3);
		p = hit + n;
	}
	if (!err)
		err = sms_buf_add(&r, p, (size_t)(end - p));
	if (err || !r.data) {
		sms_buf_free(&r);
		b->len = 0;
		b->data[0] = '\0';
		return;
	}
	sms_buf_free(b);
	*b = r;
}

/*
 * Every form in which the secret may come back in a line: as configured;
 * percent-, form-, JSON- and XML-encoded (the encodings of the templates,
 * a gateway may echo the request); and base64(user:secret), the Basic
 * authentication header. The raw form goes first: "***" could hold a
 * one-character secret, so an encoded form equal to the raw one is not
 * searched again.
 */
static void redact_all(struct sms_buf *b, const char *secret, const char *user)
{
	static const enum sms_enc forms[] = {SMS_ENC_URL, SMS_ENC_FORM, SMS_ENC_JSON, SMS_ENC_XML};
	struct sms_buf enc = {.max = SIZE_MAX / 4}, pair = {.max = SIZE_MAX / 4};
	size_t n = strlen(secret);

	redact(b, secret, n);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		enc.len = 0;
		if (sms_encode(&enc, secret, n, forms[i]) == 0 && enc.data &&
		    (enc.len != n || memcmp(enc.data, secret, n) != 0))
			redact(b, enc.data, enc.len);
	}
	if (user) {
		enc.len = 0;
		if (sms_buf_str(&pair, user) == 0 && sms_buf_add(&pair, ":", 1) == 0 &&
		    sms_buf_add(&pair, secret, n) == 0 &&
		    sms_base64(&enc, pair.data, pair.len) == 0)
			redact(b, enc.data, enc.len);
	}
	sms_buf_free(&enc);
	sms_buf_free(&pair);
}

/* The length of the valid UTF-8 sequence at s[0..left), 0 when it is not
 * one (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned c = s[0], cp;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (need >= left)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return need + 1;
}

/* One line of valid UTF-8 from b: control characters and white space
 * runs as one space, trimmed, each invalid byte as U+FFFD. */
static int one_line(struct sms_buf *out, const struct sms_buf *b)
{
	const unsigned char *s = (const unsigned char *)b->data;
	int space = 1; /* drops leading white space */
	int err = 0;

	for (size_t i = 0; i < b->len && !err;) {
		size_t n = utf8_seq(s + i, b->len - i);

		if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f || s[i] == ' ')) {
			if (!space)
				err = sms_buf_add(out, " ", 1);
			space = 1;
			i++;
			continue;
		}
		if (n)
			err = sms_buf_add(out, s + i, n);
		else
			err = sms_buf_add(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
		i += n ? n : 1;
		space = 0;
	}
	while (!err && out->len && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	return err;
}

/* Cuts b to at most cap - 1 bytes without splitting a UTF-8 sequence. */
static void cut_utf8(struct sms_buf *b, size_t cap)
{
	size_t k;

	if (b->len < cap)
		return;
	k = cap - 1; /* the first byte that does not fit */
	while (k && ((unsigned char)b->data[k] & 0xC0) == 0x80)
		k--;
	b->data[k] = '\0';
	b->len = k;
}

void sms_clean_text(char *out, size_t cap, const char *text, size_t len, const char *secret,
		    const char *user)
{
	struct sms_buf raw = {.max = SIZE_MAX / 4}, line = {.max = SIZE_MAX / 4};
	int scrub = secret && *secret;

	if (!cap)
		return;
	out[0] = '\0';
	if (sms_buf_add(&raw, text ? text : "", text ? len : 0) != 0 || !raw.data)
		goto out;
	/* the secret goes before white space is collapsed (a secret with two
	 * spaces would survive that) and again after it (a tab and a line
	 * end may have been between its halves), and before anything is
	 * cut, so no part of it is left */
	if (scrub)
		redact_all(&raw, secret, user);
	if (one_line(&line, &raw) != 0 || !line.data)
		goto out;
	/* (not for a secret that "***" holds: the first pass left none) */
	if (scrub && !strstr("***", secret))
		redact_all(&line, secret, user);
	cut_utf8(&line, cap);
	snprintf(out, cap, "%s", line.data);
out:
	sms_buf_free(&raw);
	sms_buf_free(&line);
}
