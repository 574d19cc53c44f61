/*
 * plugins/common/ucs_names.h - the JSON names of rights, levels and services.
 *
 * The user documents (docs/protocol/userdb.md), the admin protocol and the
 * rights engine's explanations all spell a right, a level or a service the
 * same way; this table is the one place that spelling lives. So are the
 * names the presence bus types and the client protocol both use: presence
 * states and reasons, line states, call directions, calendar entries, line
 * classes, contact fields and self-configuration fields. It is a small
 * static library linked into the plugins that need it (it holds no state and
 * belongs to no plugin).
 */
#ifndef UCS_NAMES_H
#define UCS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/rights.h>

struct ucs_name_bit {
	const char *name;
	uint64_t bit;
};

/* NULL-terminated tables. */
extern const struct ucs_name_bit ucs_right_names[];   /* "see_presence", "line1.pickup", ... */
extern const struct ucs_name_bit ucs_service_names[]; /* "chat", "softphone_audio", ... */
extern const char *const ucs_level_names[];	      /* by enum ucs_rights_level */

/* Names by enum value. */
#define UCS_NAMES_STATES      6	 /* enum ucs_presence_state: "unknown", "available", ... */
#define UCS_NAMES_REASONS     10 /* enum ucs_presence_reason: "none", "manual", ... */
#define UCS_NAMES_LINE_STATES 6	 /* a line in a presence: "gone", "idle", ... */
#define UCS_NAMES_DIRECTIONS  3	 /* "none", "incoming", "outgoing" */
#define UCS_NAMES_CALENDARS   3	 /* "free", "meeting", "out_of_office" */
#define UCS_NAMES_CLASSES     3	 /* enum ucs_line_class: "first", "second", "additional" */
extern const char *const ucs_state_names[UCS_NAMES_STATES];
extern const char *const ucs_reason_names[UCS_NAMES_REASONS];
extern const char *const ucs_line_state_names[UCS_NAMES_LINE_STATES];
extern const char *const ucs_direction_names[UCS_NAMES_DIRECTIONS];
extern const char *const ucs_calendar_names[UCS_NAMES_CALENDARS];
extern const char *const ucs_class_names[UCS_NAMES_CLASSES];
extern const char *const ucs_contact_field_names[UCS_CF_COUNT]; /* enum ucs_contact_field */
extern const char *const ucs_self_field_names[UCS_SF_COUNT];	/* enum ucs_self_field */
/* table[value], or NULL when value is not below n. */
const char *ucs_enum_name(const char *const *table, size_t n, int value);

/* The bit of a name in a table; 0 when unknown. */
uint64_t ucs_name_bit(const struct ucs_name_bit *table, const char *name);
/* The name of one bit; NULL when none. */
const char *ucs_bit_name(const struct ucs_name_bit *table, uint64_t bit);
/* The level of a name, or -1. */
int ucs_level_from_name(const char *name);
/* Writes the names of the set bits as a JSON array of strings into buf
 * (snprintf rules). */
int ucs_bits_to_json(const struct ucs_name_bit *table, uint64_t bits, char *buf, size_t cap);

#endif
