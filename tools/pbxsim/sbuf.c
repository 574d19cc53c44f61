/* tools/pbxsim/sbuf.c - the growable buffer (see sbuf.h). */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	sbuf_init(b);
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

bool sbuf_ok(const struct sbuf *b)
{
	return !b->oom;
}

static bool sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return false;
	want = b->len + n + 1;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sbuf_add(struct sbuf *b, const void *data, size_t n)
{
	if (!sbuf_reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_xml(struct sbuf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '&':
			rep = "&amp;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			continue;
		}
		sbuf_add(b, run, (size_t)(s - run));
		sbuf_puts(b, rep);
		run = s + 1;
	}
	sbuf_add(b, run, (size_t)(s - run));
}

void sbuf_elem(struct sbuf *b, const char *name, const char *text)
{
	sbuf_printf(b, "<%s>", name);
	sbuf_xml(b, text);
	sbuf_printf(b, "</%s>", name);
}

void sbuf_consume(struct sbuf *b, size_t n)
{
	if (n >= b->len) {
		sbuf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void sbuf_insert(struct sbuf *b, size_t off, const void *data, size_t n)
{
	if (off > b->len || !sbuf_reserve(b, n))
		return;
	memmove(b->p + off + n, b->p + off, b->len - off);
	memcpy(b->p + off, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}
