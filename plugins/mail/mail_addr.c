/*
 * plugins/mail/mail_addr.c - the address lists of the manual ("a@x; B
 * <b@y>") and the growing buffers every other file writes into.
 *
 * The list form is what operators type: addresses separated by ';' (',' is
 * taken too), each a bare addr-spec or a display name with the address in
 * angle brackets; a separator inside a quoted name does not split. The
 * check of an addr-spec is deliberately practical, not RFC 5322's full
 * grammar: one '@' with a non-empty local part and domain, no spaces,
 * controls or the characters that would break an SMTP command or a header
 * (<>()[],;:\"), at most 254 bytes. Non-ASCII is allowed (it needs
 * SMTPUTF8 on the wire; mail_ascii tells).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "mail_int.h"

/* ---- buffers ---- */

int mail_buf_add(struct mail_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + len + 1)
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
	b->data[b->len] = 0;
	return 0;
}

int mail_buf_str(struct mail_buf *b, const char *s)
{
	return mail_buf_add(b, s, strlen(s));
}

int mail_buf_printf(struct mail_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return mail_buf_add(b, small, (size_t)n);
	err = mail_buf_add(b, NULL, 0);
	if (err)
		return err;
	{
		char *big = malloc((size_t)n + 1);

		if (!big)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		err = mail_buf_add(b, big, (size_t)n);
		free(big);
	}
	return err;
}

void mail_buf_free(struct mail_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- addresses ---- */

bool mail_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF): an address goes into headers, SMTP and JSON as it is. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

static bool addr_ok(const char *a, size_t n)
{
	const char *at = NULL;

	if (n == 0 || n > 254 || !utf8_ok((const unsigned char *)a, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c == 0x7f || strchr("<>()[],;:\\\"", c))
			return false;
		if (c == '@') {
			if (at)
				return false;
			at = a + i;
		}
	}
	return at && at > a && at < a + n - 1 && at[1] != '.' && a[n - 1] != '.';
}

static char *dup_trim(const char *s, size_t n)
{
	char *out;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = 0;
	}
	return out;
}

/* A display name: quotes removed, \" unescaped, controls dropped. */
static char *clean_name(const char *s, size_t n)
{
	char *t = dup_trim(s, n), *o, *i;
	size_t len;

	if (!t)
		return NULL;
	len = strlen(t);
	if (len >= 2 && t[0] == '"' && t[len - 1] == '"') {
		memmove(t, t + 1, len - 2);
		t[len - 2] = 0;
	}
	for (i = o = t; *i; i++) {
		if (*i == '\\' && i[1])
			i++;
		if ((unsigned char)*i < 0x20 || *i == 0x7f)
			continue;
		*o++ = *i;
	}
	*o = 0;
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

static int one(const char *s, size_t n, struct mail_addr *a, char *err, size_t errcap)
{
	const char *lt = memchr(s, '<', n), *gt;
	int ret = -EINVAL;

	memset(a, 0, sizeof(*a));
	if (lt) {
		gt = memchr(lt, '>', n - (size_t)(lt - s));
		if (!gt) {
			snprintf(err, errcap, "address \"%.*s\" lacks its '>'",
				 (int)(n > 80 ? 80 : n), s);
			return -EINVAL;
		}
		for (const char *p = gt + 1; p < s + n; p++)
			if (*p != ' ' && *p != '\t') {
				snprintf(err, errcap, "text after the '>' of \"%.*s\"",
					 (int)(n > 80 ? 80 : n), s);
				return -EINVAL;
			}
		if (!addr_ok(lt + 1, (size_t)(gt - lt - 1)))
			goto bad;
		a->addr = dup_trim(lt + 1, (size_t)(gt - lt - 1));
		if (lt > s)
			a->name = clean_name(s, (size_t)(lt - s));
	} else {
		char *t = dup_trim(s, n);

		if (!t)
			return -ENOMEM;
		if (!addr_ok(t, strlen(t))) {
			free(t);
			goto bad;
		}
		a->addr = t;
	}
	if (!a->addr) {
		free(a->name);
		a->name = NULL;
		return -ENOMEM;
	}
	return 0;
bad:
	snprintf(err, errcap, "\"%.*s\" is not an e-mail address", (int)(n > 80 ? 80 : n), s);
	return ret;
}

int mail_addr_parse(const char *list, struct mail_addr **out, size_t *n, char *err, size_t errcap)
{
	struct mail_addr *v = NULL;
	size_t count = 0, cap = 0;
	const char *p = list ? list : "", *start = p;
	bool quoted = false, angle = false;
	int ret = 0;

	for (;; p++) {
		if (*p == '"' && (p == list || p[-1] != '\\'))
			quoted = !quoted;
		else if (*p == '<' && !quoted)
			angle = true;
		else if (*p == '>' && !quoted)
			angle = false;
		if (*p && (quoted || angle || (*p != ';' && *p != ',')))
			continue;
		/* a piece [start, p) */
		{
			const char *a = start, *b = p;

			while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
				a++;
			while (b > a &&
			       (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
				b--;
			if (b > a) {
				if (count == cap) {
					size_t nc = cap ? cap * 2 : 4;
					struct mail_addr *nv = realloc(v, nc * sizeof(*v));

					if (!nv) {
						ret = -ENOMEM;
						goto out;
					}
					v = nv;
					cap = nc;
				}
				ret = one(a, (size_t)(b - a), &v[count], err, errcap);
				if (ret)
					goto out;
				count++;
			}
		}
		if (!*p)
			break;
		start = p + 1;
	}
	if (!count) {
		snprintf(err, errcap, "no recipient address");
		ret = -EINVAL;
	}
out:
	if (ret) {
		mail_addr_free(v, count);
		return ret;
	}
	*out = v;
	*n = count;
	return 0;
}

void mail_addr_free(struct mail_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].addr);
	}
	free(a);
}
