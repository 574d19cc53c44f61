/*
 * plugins/auth/auth_audit.c - quoting for audit lines and the JSON form of
 * "auth.event" (see auth_audit.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth_audit.h"

char *auth_audit_quote(const char *text, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < 8) {
		if (cap)
			out[0] = 0;
		return out;
	}
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		char piece[5];
		size_t n;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			snprintf(piece, sizeof(piece), "%c", *p);
		else
			snprintf(piece, sizeof(piece), "\\x%02x", *p);
		n = strlen(piece);
		if (o + n + 5 > cap) { /* room for '..."' and NUL */
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o++] = '"';
	out[o] = 0;
	return out;
}

const char *auth_event_kind_name(int kind)
{
	switch (kind) {
	case UCS_AUTH_EV_SUCCESS:
		return "success";
	case UCS_AUTH_EV_FAILURE:
		return "failure";
	case UCS_AUTH_EV_LOCKOUT:
		return "lockout";
	case UCS_AUTH_EV_RELEASE:
		return "release";
	default:
		return "?";
	}
}

/* The length of the valid UTF-8 sequence at s (within max bytes), 0 when
 * there is none (overlong forms, surrogates and values past U+10FFFF are
 * invalid). */
static size_t utf8_len(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > max)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string of at most max bytes of s (a fixed-size field). */
static size_t json_str(char *buf, size_t cap, size_t o, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";

	if (o < cap)
		buf[o] = '"';
	o++;
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char piece[7];
		size_t n, u;

		if (c >= 0x80) {
			/* a valid UTF-8 sequence passes; anything else (a cut one, Latin-1)
			 * becomes U+FFFD so the JSON stays valid */
			u = utf8_len(s + i, max - i);
			if (u) {
				for (size_t k = 0; k < u; k++, o++)
					if (o < cap)
						buf[o] = s[i + k];
				i += u - 1;
				continue;
			}
			memcpy(piece, "\\ufffd", 6);
			n = 6;
		} else if (c == '"' || c == '\\') {
			piece[0] = '\\';
			piece[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(piece, "\\u00", 4);
			piece[4] = hex[c >> 4];
			piece[5] = hex[c & 15];
			n = 6;
		} else {
			piece[0] = (char)c;
			n = 1;
		}
		for (size_t k = 0; k < n; k++, o++)
			if (o < cap)
				buf[o] = piece[k];
	}
	if (o < cap)
		buf[o] = '"';
	return o + 1;
}

static size_t put(char *buf, size_t cap, size_t o, const char *s)
{
	for (; *s; s++, o++)
		if (o < cap)
			buf[o] = *s;
	return o;
}

int auth_event_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_auth_event *ev = payload;
	size_t o = 0;

	if (!payload || len < sizeof(*ev))
		return -EINVAL;
	o = put(buf, cap, o, "{\"kind\":\"");
	o = put(buf, cap, o, auth_event_kind_name(ev->kind));
	o = put(buf, cap, o, "\",\"login\":");
	o = json_str(buf, cap, o, ev->login.text, sizeof(ev->login.text));
	o = put(buf, cap, o, ",\"address\":");
	o = json_str(buf, cap, o, ev->address, sizeof(ev->address));
	o = put(buf, cap, o, ",\"via\":");
	o = json_str(buf, cap, o, ev->via, sizeof(ev->via));
	o = put(buf, cap, o, "}");
	if (cap)
		buf[o < cap ? o : cap - 1] = 0;
	return (int)o;
}
