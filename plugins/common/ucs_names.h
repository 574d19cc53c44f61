/*
 * plugins/common/ucs_names.h - the JSON names of rights, levels and services.
 *
 * The user documents (docs/protocol/userdb.md), the admin protocol and the
 * rights engine's explanations all spell a right, a level or a service the
 * same way; this table is the one place that spelling lives. It is a small
 * static library linked into the plugins that need it (it holds no state and
 * belongs to no plugin).
 */
#ifndef UCS_NAMES_H
#define UCS_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct ucs_name_bit {
	const char *name;
	uint64_t bit;
};

/* NULL-terminated tables. */
extern const struct ucs_name_bit ucs_right_names[];   /* "see_presence", "line1.pickup", ... */
extern const struct ucs_name_bit ucs_service_names[]; /* "chat", "softphone_audio", ... */
extern const char *const ucs_level_names[];	      /* by enum ucs_rights_level */

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
