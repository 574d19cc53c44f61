/*
 * plugins/admin-api/adm_text.h - small text rules of the admin protocol:
 * times (ISO 8601, UTC, milliseconds), the shape of an argon2id PHC
 * string, and quoting of untrusted text for log lines. Pure functions,
 * shared by the plugin, its tests and its fuzz target.
 */
#ifndef ADM_TEXT_H
#define ADM_TEXT_H

#include <stddef.h>
#include <stdint.h>

int64_t adm_now_ms(void); /* Unix ms */
/* ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z"). */
void adm_iso_time(int64_t ms, char *buf, size_t cap);
/* "2024-05-01T12:00:00Z", with an optional fraction and a +HH:MM / -HH:MM
 * offset instead of Z: 0 and *ms, or -EINVAL. */
int adm_parse_time(const char *s, int64_t *ms);

/* 1 when s has the shape of an argon2id PHC string
 * ($argon2id$v=19$m=N,t=N,p=N$salt$hash; the auth plugin checks the rest). */
int adm_phc_shape(const char *s);

/* Writes text into out with every byte outside printable ASCII, a quote
 * or a backslash as \xNN (a login must not forge a log line). Returns out. */
const char *adm_quote(const char *text, char *out, size_t cap);

#endif
