/*
 * plugins/auth/auth_audit.h - how the audit trail spells what happened.
 *
 * Every decision of the plugin leaves one log line ("audit: ...") and one
 * "auth.event" bus message. The values in them come from the network: a
 * login may hold quotes, control characters or a newline that would forge
 * a second log line. So logins are always quoted and every byte that is not
 * printable ASCII (or is a quote or backslash) is written as \xNN; the JSON
 * form of an event escapes per RFC 8259. A password never reaches these
 * functions.
 */
#ifndef AUTH_AUDIT_H
#define AUTH_AUDIT_H

#include <stddef.h>

#include <ucs/auth.h>

/* text as a quoted, escaped string ("alice", "a\x22b"), truncated with
 * "..." past cap. Returns out. */
char *auth_audit_quote(const char *text, char *out, size_t cap);

/* The auth.event payload as JSON (the to_json of the bus type). */
int auth_event_to_json(const void *payload, size_t len, char *buf, size_t cap);

/* The name of an enum ucs_auth_event_kind ("failure"), "?" otherwise. */
const char *auth_event_kind_name(int kind);

#endif
