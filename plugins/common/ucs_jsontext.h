/*
 * plugins/common/ucs_jsontext.h - text that goes into JSON: UTF-8 checked
 * byte by byte, JSON string quoting.
 *
 * Text reaches JSON from bus payloads (fixed arrays other plugins filled)
 * and from the user store; a WebSocket text frame and a JSON document must
 * be UTF-8, so a byte that does not start a valid UTF-8 sequence (overlong
 * forms, surrogates and code points past U+10FFFF are invalid too) is
 * written as U+FFFD, never passed on. Part of the ucs-names static library
 * (ucs_names_dep): no state, no plugin owns it.
 */
#ifndef UCS_JSONTEXT_H
#define UCS_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most max bytes, max >= 1), or
 * 0 when none starts there. */
size_t ucs_utf8_len(const unsigned char *s, size_t max);
/* Whether s[0..len) is valid UTF-8 throughout. */
bool ucs_utf8_valid(const char *s, size_t len);
/* Copies s[0..len) into out (room for 3 * len bytes), each byte that does
 * not start a valid sequence as U+FFFD; the length written (no NUL). */
size_t ucs_utf8_repair(const char *s, size_t len, char *out);
/* Writes s[0..len) as a quoted JSON string through emit: '"', '\\' and
 * control characters escaped, invalid bytes as \ufffd. */
void ucs_json_quote(const char *s, size_t len, void (*emit)(void *arg, const char *p, size_t n),
		    void *arg);

/* A JSON text built into a caller's buffer with snprintf rules: buf stays
 * NUL-terminated within cap, len counts everything, also what did not fit,
 * so a caller learns the size it needs. */
struct ucs_jout {
	char *buf;
	size_t cap, len;
};
void ucs_jout_put(struct ucs_jout *o, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* s[0..max) up to its first NUL as a quoted JSON string (ucs_json_quote). */
void ucs_jout_str(struct ucs_jout *o, const char *s, size_t max);

#endif
