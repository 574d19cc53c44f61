/*
 * tools/ucs-dialplan/csv.h - the CSV that rule lists are exported to and
 * imported from (RFC 4180: comma-separated, fields with commas, quotes or
 * line breaks quoted, "" for a quote inside quotes, CRLF or LF).
 *
 * Operators edit these files in spreadsheets, so the reader is forgiving
 * about line endings and a final newline, and strict about everything that
 * would silently change a rule: an unterminated quote, text after a closing
 * quote, a field longer than CSV_FIELD_MAX or more than CSV_FIELDS_MAX
 * fields are errors naming the line.
 */
#ifndef UCS_DIALPLAN_CSV_H
#define UCS_DIALPLAN_CSV_H

#include <stdio.h>
#include <stddef.h>

#define CSV_FIELD_MAX  1024
#define CSV_FIELDS_MAX 8

/* Called per record with its fields (NUL-terminated, valid during the call)
 * and the line it starts on; a nonzero return stops the parse with it. */
typedef int(csv_row_h)(void *arg, int line, char **fields, size_t count);

/* 0, the handler's nonzero value, or -EINVAL with err describing the
 * problem ("line 3: unterminated quote"). */
int csv_parse(const char *text, size_t len, csv_row_h *row, void *arg, char *err, size_t cap);
/* Writes one field, quoted when it needs to be. */
void csv_write_field(FILE *f, const char *s);

#endif
