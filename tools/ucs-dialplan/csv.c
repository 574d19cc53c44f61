/*
 * tools/ucs-dialplan/csv.c - RFC 4180 CSV for rule import and export (see csv.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"

struct csv_state {
	char fields[CSV_FIELDS_MAX][CSV_FIELD_MAX + 1];
	char *ptrs[CSV_FIELDS_MAX];
	size_t n, flen;
};

static int field_char(struct csv_state *st, char c, int line, char *err, size_t cap)
{
	/* the field being filled must exist: a ninth field is refused here,
	 * before its first character is stored */
	if (st->n >= CSV_FIELDS_MAX) {
		snprintf(err, cap, "line %d: more than %d fields", line, CSV_FIELDS_MAX);
		return -EINVAL;
	}
	if (st->flen >= CSV_FIELD_MAX) {
		snprintf(err, cap, "line %d: a field is longer than %d characters", line,
			 CSV_FIELD_MAX);
		return -EINVAL;
	}
	st->fields[st->n][st->flen++] = c;
	return 0;
}

static int end_field(struct csv_state *st, int line, char *err, size_t cap)
{
	if (st->n >= CSV_FIELDS_MAX) {
		snprintf(err, cap, "line %d: more than %d fields", line, CSV_FIELDS_MAX);
		return -EINVAL;
	}
	st->fields[st->n][st->flen] = 0;
	st->ptrs[st->n] = st->fields[st->n];
	st->n++;
	st->flen = 0;
	return 0;
}

int csv_parse(const char *text, size_t len, csv_row_h *row, void *arg, char *err, size_t cap)
{
	static struct csv_state st; /* 8 KiB: kept off the stack */
	size_t i = 0;
	int line = 1, start = 1, err_ = 0;
	bool quoted = false, after_quote = false, empty_record = true;

	st.n = st.flen = 0;
	err[0] = 0;
	while (i < len) {
		char c = text[i++];

		if (c == 0) {
			snprintf(err, cap, "line %d: a NUL byte", line);
			return -EINVAL;
		}
		if (quoted) {
			if (c == '"') {
				if (i < len && text[i] == '"') {
					i++;
					err_ = field_char(&st, '"', line, err, cap);
				} else {
					quoted = false;
					after_quote = true;
				}
			} else {
				if (c == '\n')
					line++;
				err_ = field_char(&st, c, line, err, cap);
			}
			if (err_)
				return err_;
			continue;
		}
		if (c == '\r' && i < len && text[i] == '\n')
			continue; /* CRLF: the LF ends the record */
		if (c == ',' || c == '\n') {
			if ((err_ = end_field(&st, line, err, cap)) != 0)
				return err_;
			after_quote = false;
			if (c == '\n') {
				/* a blank line is no record */
				if (!(empty_record && st.n == 1 && !st.fields[0][0]) &&
				    (err_ = row(arg, start, st.ptrs, st.n)) != 0)
					return err_;
				st.n = 0;
				empty_record = true;
				start = ++line;
			} else {
				empty_record = false;
			}
			continue;
		}
		if (after_quote) {
			snprintf(err, cap, "line %d: text after a closing quote", line);
			return -EINVAL;
		}
		empty_record = false;
		if (c == '"' && st.flen == 0) {
			quoted = true;
			continue;
		}
		if ((err_ = field_char(&st, c, line, err, cap)) != 0)
			return err_;
	}
	if (quoted) {
		snprintf(err, cap, "line %d: unterminated quote", start);
		return -EINVAL;
	}
	if (!empty_record || st.flen || st.n) {
		if ((err_ = end_field(&st, line, err, cap)) != 0)
			return err_;
		if (!(st.n == 1 && !st.fields[0][0]))
			return row(arg, start, st.ptrs, st.n);
	}
	return 0;
}

void csv_write_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
