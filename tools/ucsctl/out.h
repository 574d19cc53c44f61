/*
 * tools/ucsctl/out.h - how results look on a terminal.
 *
 * --json prints the JSON-RPC result itself (indented), for scripts. Without
 * it, a list of objects becomes a table with aligned columns and a header
 * line, an object becomes "key: value" lines (nested objects indented).
 * Commands name the columns they want; keys they do not know (a server
 * newer than the tool) still show up in the generic form, so nothing the
 * server says is hidden. A cell is one line: a phone number shows its
 * display form, a list its elements joined by ", ", yes/no for booleans,
 * "-" for null; control characters from the server become '?', so a
 * value cannot move the cursor or retitle the terminal.
 */
#ifndef UCSCTL_OUT_H
#define UCSCTL_OUT_H

#include <stdio.h>

#include <jansson.h>

struct out_col {
	const char *path;   /* key, or dotted path into nested objects ("numbers.business") */
	const char *header; /* NULL: the path in upper case */
};

/* The value at a dotted path (borrowed), NULL when absent. */
json_t *out_get(json_t *obj, const char *path);

/* One value as one line of text (the caller's, free()). */
char *out_cell(json_t *v);

/* A table of the objects in rows. cols: NULL-terminated ({NULL}), or NULL
 * for every key with a scalar value in the order the objects have them. */
void out_table(FILE *f, json_t *rows, const struct out_col *cols, int indent);

/* An object as "key: value" lines; nested objects and lists of objects
 * indented below their key. */
void out_object(FILE *f, json_t *obj, int indent);

/* Any result: a list of objects as a table, an object as lines, a scalar
 * as its text. */
void out_any(FILE *f, json_t *v);

/* The rows of a list result: the result itself when it is an array, else
 * its first member that is one ({"users": [...]}); NULL when neither. */
json_t *out_list_of(json_t *result);

/* The preferred columns (pref: {NULL}-terminated) that at least one row
 * has, copied into buf (cap entries); NULL when none (generic columns). */
const struct out_col *out_pick_cols(json_t *rows, const struct out_col *pref, struct out_col *buf,
				    size_t cap);

/* For people: a map of names to booleans ({"chat": true, "sms": false})
 * as the list of the names that are true, in place (services). */
void out_true_names(json_t *obj, const char *key);

/* In an error line "PATH:LINE:COL: message" of the server (PATH its name
 * for a file, which may itself contain colons): the offset of LINE, so
 * the caller can put its own name for the file before it; -1 when the line
 * has no such position. */
int out_position_at(const char *line);

/* The JSON text, indented (--json). */
void out_json(FILE *f, json_t *v);

#endif
