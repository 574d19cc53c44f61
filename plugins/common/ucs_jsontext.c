/*
 * plugins/common/ucs_jsontext.c - UTF-8 checks and JSON string quoting
 * (ucs_jsontext.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ucs_jsontext.h"

size_t ucs_utf8_len(const unsigned char *s, size_t max)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > max)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

bool ucs_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = ucs_utf8_len(u + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t ucs_utf8_repair(const char *s, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = ucs_utf8_len(u + i, len - i);

		if (n) {
			memcpy(out + o, u + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	return o;
}

void ucs_json_quote(const char *s, size_t len, void (*emit)(void *arg, const char *p, size_t n),
		    void *arg)
{
	const unsigned char *u = (const unsigned char *)s;

	emit(arg, "\"", 1);
	for (size_t i = 0; i < len;) {
		size_t k;

		if (u[i] == '"' || u[i] == '\\') {
			char esc[2] = {'\\', (char)u[i]};

			emit(arg, esc, 2);
			i++;
		} else if (u[i] < 0x20) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			emit(arg, esc, 6);
			i++;
		} else if ((k = ucs_utf8_len(u + i, len - i)) > 0) {
			emit(arg, s + i, k);
			i += k;
		} else {
			emit(arg, "\\ufffd", 6);
			i++;
		}
	}
	emit(arg, "\"", 1);
}

void ucs_jout_put(struct ucs_jout *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
		      o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void jout_emit(void *arg, const char *p, size_t n)
{
	struct ucs_jout *o = arg;

	if (o->len < o->cap) {
		size_t k = o->cap - o->len - 1 < n ? o->cap - o->len - 1 : n;

		memcpy(o->buf + o->len, p, k);
		o->buf[o->len + k] = '\0';
	}
	o->len += n;
}

void ucs_jout_str(struct ucs_jout *o, const char *s, size_t max)
{
	const char *end = memchr(s, '\0', max);

	ucs_json_quote(s, end ? (size_t)(end - s) : max, jout_emit, o);
}
