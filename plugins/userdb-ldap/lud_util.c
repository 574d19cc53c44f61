/*
 * plugins/userdb-ldap/lud_util.c - text helpers of the LDAP store that need
 * no libldap: base DN lists, DN normalisation, stable ids, UTF-8.
 *
 * DNs are compared, not parsed: a group names its members by DN and a user
 * names her groups by DN (memberOf), and the two spellings need not agree
 * in case or blanks ("CN=Alice, OU=People" vs "cn=alice,ou=people"). The
 * normal form here is enough for that; it does not decode escapes or
 * hex-encoded values (directories write one spelling per value in
 * practice, and a member that does not match is only left out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lud.h"

void lud_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t lud_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int lud_split_bases(const char *in, char ***out)
{
	char **v = calloc(LUD_BASES_MAX + 1, sizeof(*v));
	size_t n = 0;
	const char *p = in ? in : "";
	int err = 0;

	if (!v)
		return -ENOMEM;
	while (*p) {
		const char *start, *end;

		while (is_blank(*p))
			p++;
		start = p;
		while (*p && *p != ';') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		end = p;
		if (*p == ';')
			p++;
		while (end > start && is_blank(end[-1]) && !(end - start >= 2 && end[-2] == '\\'))
			end--;
		if (end == start)
			continue;
		if (n == LUD_BASES_MAX) {
			err = -EINVAL;
			goto out;
		}
		v[n] = strndup(start, (size_t)(end - start));
		if (!v[n]) {
			err = -ENOMEM;
			goto out;
		}
		n++;
	}
out:
	if (err) {
		lud_strv_free(v);
		return err;
	}
	*out = v;
	return (int)n;
}

int lud_dn_norm(const char *dn, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (!dn || cap == 0)
		return -EINVAL;
	/* blanks before the first RDN and after the last value */
	while (i < len && is_blank(dn[i]))
		i++;
	while (len > i && is_blank(dn[len - 1]) && !(len - i >= 2 && dn[len - 2] == '\\'))
		len--;
	if (i == len)
		return -EINVAL;
	while (i < len) {
		char c = dn[i];

		if (c == '\0')
			return -EINVAL;
		if (c == '\\') {
			if (i + 1 >= len || dn[i + 1] == '\0')
				return -EINVAL;
			if (o + 2 >= cap)
				return -ENOSPC;
			out[o++] = '\\';
			c = dn[i + 1];
			out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			i += 2;
			continue;
		}
		if (c == ',' || c == '+' || c == '=' || c == ';') {
			/* drop blanks written before the separator ... */
			while (o > 0 && is_blank(out[o - 1]) && !(o >= 2 && out[o - 2] == '\\'))
				o--;
			if (o + 1 >= cap)
				return -ENOSPC;
			out[o++] = c == ';' ? ',' : c;
			i++;
			/* ... and after it */
			while (i < len && is_blank(dn[i]))
				i++;
			continue;
		}
		if (o + 1 >= cap)
			return -ENOSPC;
		out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		i++;
	}
	out[o] = '\0';
	return 0;
}

void lud_guid_text(const unsigned char g[16], char out[37])
{
	/* Data1 (4 bytes), Data2 and Data3 (2 each) are little-endian in the
	 * binary form; Data4 (8 bytes) is a byte string. */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '@' || c == '-';
}

int lud_id_from_value(const char *attr, const void *val, size_t len, char *out, size_t cap)
{
	const char *p = val;

	if (!val || cap < 2)
		return -EINVAL;
	if (attr && !strcasecmp(attr, "objectGUID") && len == 16) {
		if (cap < 37)
			return -EINVAL;
		lud_guid_text(val, out);
		return 0;
	}
	if (len == 0 || len > UCS_ID_MAX - 1 || len >= cap) /* ids travel as struct ucs_id */
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!id_char(c))
			return -EINVAL;
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

int lud_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

uint64_t lud_hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
