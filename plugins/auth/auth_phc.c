/*
 * plugins/auth/auth_phc.c - parsing and formatting argon2id PHC strings
 * (see auth_phc.h for the form and why the parser is strict).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth_phc.h"

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int auth_b64_encode(const uint8_t *in, size_t len, char *buf, size_t cap)
{
	size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (need > (size_t)INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			if (o + 1 < cap)
				buf[o] = b64_chars[(acc >> bits) & 63];
			o++;
		}
	}
	if (bits > 0) {
		if (o + 1 < cap)
			buf[o] = b64_chars[(acc << (6 - bits)) & 63];
		o++;
	}
	if (cap)
		buf[o < cap ? o : cap - 1] = 0;
	return (int)need;
}

int auth_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	/* one character carries 6 bits: a lone last character cannot end a byte */
	if (len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = ((acc << 6) | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -ENOSPC;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* the bits left over must be zero, or two strings would decode alike */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	return (int)o;
}

/* A decimal without sign or leading zero, at most max; advances *p. */
static int parse_dec(const char **p, const char *end, uint32_t max, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -EINVAL;
		s++;
	}
	*out = (uint32_t)v;
	*p = s;
	return 0;
}

/* Consumes the literal lit; -EINVAL when the text does not continue so. */
static int expect(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

static int limits_ok(const struct auth_phc *phc)
{
	return phc->t >= 1 && phc->t <= AUTH_PHC_T_MAX && phc->p >= 1 && phc->p <= AUTH_PHC_P_MAX &&
	       phc->m_kib >= 8 * phc->p && phc->m_kib <= AUTH_PHC_M_MAX &&
	       phc->salt_len >= AUTH_PHC_SALT_MIN && phc->salt_len <= AUTH_PHC_SALT_MAX &&
	       phc->hash_len >= AUTH_PHC_HASH_MIN && phc->hash_len <= AUTH_PHC_HASH_MAX;
}

int auth_phc_parse(const char *s, size_t len, struct auth_phc *out)
{
	const char *p = s, *end = s + len, *dollar;
	struct auth_phc phc;
	int n, err = -EINVAL;

	memset(&phc, 0, sizeof(phc));
	if (!s || len >= AUTH_PHC_MAX || memchr(s, 0, len))
		goto out;
	if (expect(&p, end, "$argon2id$v=19$m=") ||
	    parse_dec(&p, end, AUTH_PHC_M_MAX, &phc.m_kib) || expect(&p, end, ",t=") ||
	    parse_dec(&p, end, AUTH_PHC_T_MAX, &phc.t) || expect(&p, end, ",p=") ||
	    parse_dec(&p, end, AUTH_PHC_P_MAX, &phc.p) || expect(&p, end, "$"))
		goto out;
	dollar = memchr(p, '$', (size_t)(end - p));
	if (!dollar)
		goto out;
	n = auth_b64_decode(p, (size_t)(dollar - p), phc.salt, sizeof(phc.salt));
	if (n < 0)
		goto out;
	phc.salt_len = (size_t)n;
	p = dollar + 1;
	n = auth_b64_decode(p, (size_t)(end - p), phc.hash, sizeof(phc.hash));
	if (n < 0)
		goto out;
	phc.hash_len = (size_t)n;
	if (!limits_ok(&phc))
		goto out;
	*out = phc;
	err = 0;
out:
	memset(&phc, 0, sizeof(phc));
	return err;
}

int auth_phc_format(const struct auth_phc *phc, char *buf, size_t cap)
{
	char salt[AUTH_PHC_SALT_MAX * 2], hash[AUTH_PHC_HASH_MAX * 2];

	if (!phc || !limits_ok(phc))
		return -EINVAL;
	auth_b64_encode(phc->salt, phc->salt_len, salt, sizeof(salt));
	auth_b64_encode(phc->hash, phc->hash_len, hash, sizeof(hash));
	return snprintf(buf, cap, "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s", phc->m_kib, phc->t, phc->p,
			salt, hash);
}
