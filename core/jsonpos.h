/*
 * core/jsonpos.h - where each value of a JSON text sits (line and column).
 *
 * jansson builds values without source positions, yet every configuration
 * error must name file:line:column. So the configuration loader hands the
 * same text to this scanner, which records, for every value (the root, each
 * object member, each array element), the position of the value and, for
 * members, of the key. Values are looked up by RFC 6901 JSON pointer
 * ("/client-api/listeners/0/port", "~1" for '/', "~0" for '~'); "" is the
 * root.
 *
 * The table is a tree (each entry names its parent and its own key or
 * index), not a list of full pointers: a long key above many values would
 * otherwise make the table quadratic in the size of the text.
 *
 * Lines and columns count from 1; a column counts characters (UTF-8 code
 * points, a tab is one), as jansson's error positions do.
 *
 * The scanner is meant for text jansson accepted, but it is a parser of
 * untrusted bytes all the same: it never reads past len, needs no NUL
 * terminator, does not recurse (nesting is bounded by JSONPOS_MAX_DEPTH,
 * above jansson's own limit) and rejects what it cannot follow.
 */
#ifndef CORE_JSONPOS_H
#define CORE_JSONPOS_H

#include <stddef.h>
#include <stdint.h>

#define JSONPOS_MAX_DEPTH 4096
#define JSONPOS_MAX_TEXT  (1u << 30)

struct jsonpos;

struct jsonpos_loc {
	uint32_t line, col; /* 0, 0: none (the key of the root or of an element) */
};

/* Scans text[0..len). 0, -EINVAL when it is not JSON the scanner can
 * follow, -E2BIG when nested deeper than JSONPOS_MAX_DEPTH or longer than
 * JSONPOS_MAX_TEXT,
 * -ENOMEM. */
int jsonpos_scan(struct jsonpos **out, const char *text, size_t len);
void jsonpos_free(struct jsonpos *jp);

/* Number of entries; entry 0 is the root, the rest follow in text order. */
size_t jsonpos_count(const struct jsonpos *jp);

/* Finds the value at pointer[0..len): its entry index, -ENOENT (also for a
 * malformed pointer) or -ENOMEM. value and key may be NULL. */
long jsonpos_find(const struct jsonpos *jp, const char *pointer, size_t len,
		  struct jsonpos_loc *value, struct jsonpos_loc *key);

/* Positions of entry id: 0 or -ENOENT. value and key may be NULL. */
int jsonpos_at(const struct jsonpos *jp, size_t id, struct jsonpos_loc *value,
	       struct jsonpos_loc *key);

/* Writes the JSON pointer of entry id with snprintf rules; returns the
 * length it needs, -ENOENT or -ENOMEM. */
long jsonpos_pointer(const struct jsonpos *jp, size_t id, char *buf, size_t cap);

#endif
