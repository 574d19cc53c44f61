/*
 * plugins/lines/lm_text.h - the names and small text forms of the line
 * manager: capability, status, operation and event names, the pickup
 * feature code template and internal numbers.
 *
 * Pure functions without state, apart from the plugin so the unit tests
 * and the fuzz target run exactly this code. Everything that reads
 * operator text (a capability name in cti_off, a pickup code, an internal
 * number) is checked here, before it reaches a driver.
 */
#ifndef LM_TEXT_H
#define LM_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define LM_N_CAPS 22 /* UCS_CAP_MAKE_CALL .. UCS_CAP_REMOTE_OFFICE */
extern const char *const lm_cap_names[LM_N_CAPS];

/* The bit of a capability name ("make_call"), "*" for every one; 0 when unknown. */
uint64_t lm_cap_bit(const char *name);
const char *lm_status_name(int status);		     /* enum ucs_line_status: "open", ... */
int lm_status_from_name(const char *name);	     /* -1 when unknown */
const char *lm_op_name(int op);			     /* enum ucs_call_op: "make", ...; "?" */
int lm_op_from_name(const char *name);		     /* 0 when unknown */
const char *lm_event_name(int event);		     /* enum ucs_call_event: "delivered", ... */
int lm_event_from_name(const char *name);	     /* -1 */
const char *lm_state_name(int state);		     /* enum ucs_conn_state: "alerting", ... */
int lm_state_from_name(const char *name);	     /* -1 */
const char *lm_end_name(int end);		     /* enum ucs_call_end: "picked_up", ... */
int lm_end_from_name(const char *name);		     /* -1 */
#define LM_N_CALLF 6				     /* UCS_CALLF_FORWARDED .. UCS_CALLF_HIDDEN */
extern const char *const lm_callf_names[LM_N_CALLF]; /* "forwarded", ... by bit */
const char *lm_fwd_name(int mode);		     /* "immediate", "busy", "noanswer" */
int lm_fwd_from_name(const char *name);		     /* -1 */

/* A pickup feature code: digits, '*', '#' and exactly one "<NUMBER>". */
int lm_pickup_code_check(const char *tmpl);
/* tmpl with <NUMBER> replaced by number: 0, -EINVAL (bad template or a
 * number that is not digits), -ENOSPC. */
int lm_pickup_code_expand(const char *tmpl, const char *number, char *out, size_t cap);
/* An internal number: [0-9*#+]+ with an optional lower-case letter suffix
 * ("111", "111b"); 1 when valid. */
int lm_internal_valid(const char *s);
/* A dial string a driver may get: printable ASCII, no spaces; 1 when valid. */
int lm_dial_valid(const char *s);

/* The commands of the "lines.admin" request (lm_admin.c): "list", "get ID",
 * "retry ID". */
enum lm_admin_verb {
	LM_ADMIN_BAD = -2,
	LM_ADMIN_MALFORMED = -1,
	LM_ADMIN_LIST = 0,
	LM_ADMIN_GET,
	LM_ADMIN_RETRY
};
/* Parses len bytes of a command (not terminated, untrusted): the verb, and
 * for get and retry the line id into id (cap bytes, always terminated).
 * LM_ADMIN_MALFORMED: too long or a NUL inside; LM_ADMIN_BAD: no such
 * command or a missing / surplus argument. */
int lm_admin_parse(const char *cmd, size_t len, char *id, size_t cap);

#endif
