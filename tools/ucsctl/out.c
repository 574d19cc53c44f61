/*
 * tools/ucsctl/out.c - tables and key/value lines (see out.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

json_t *out_get(json_t *obj, const char *path)
{
	char key[128];
	const char *dot;

	while (obj && (dot = strchr(path, '.'))) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return obj ? json_object_get(obj, path) : NULL;
}

/* A growing string; on allocation failure it stays what it was and the
 * final text is cut (a cell, never data we act on). */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Text from the server, with control characters made harmless. */
static void sb_clean(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n' || ch == '\t' || ch == '\r')
			sb_add(b, " ", 1);
		else if (ch < 0x20 || ch == 0x7f)
			sb_add(b, "?", 1);
		else
			sb_add(b, s, 1);
	}
}

static void cell_into(struct sbuf *b, json_t *v)
{
	char num[64];
	json_t *d;

	switch (json_typeof(v)) {
	case JSON_STRING:
		sb_clean(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		sb_str(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		sb_str(b, num);
		break;
	case JSON_TRUE:
		sb_str(b, "yes");
		break;
	case JSON_FALSE:
		sb_str(b, "no");
		break;
	case JSON_NULL:
		sb_str(b, "-");
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e)
		{
			if (i)
				sb_str(b, ", ");
			cell_into(b, e);
		}
		break;
	}
	case JSON_OBJECT:
		/* a number {canonical, display}: what people read */
		if (json_is_string(d = json_object_get(v, "display")) ||
		    json_is_string(d = json_object_get(v, "name")) ||
		    json_is_string(d = json_object_get(v, "canonical"))) {
			cell_into(b, d);
		} else {
			char *t = json_dumps(v, JSON_COMPACT);

			if (t)
				sb_clean(b, t);
			free(t);
		}
		break;
	}
}

char *out_cell(json_t *v)
{
	struct sbuf b = {0};

	sb_str(&b, "");
	if (v)
		cell_into(&b, v);
	else
		sb_str(&b, "-");
	return b.p;
}

/* Columns on a terminal: UTF-8 code points (no wide-character tables). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

static bool is_scalarish(json_t *v)
{
	if (json_is_object(v))
		return json_is_string(json_object_get(v, "display")) ||
		       json_is_string(json_object_get(v, "canonical"));
	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) if (json_is_object(e) || json_is_array(e)) return false;
	}
	return true;
}

/* The generic columns: every key with a scalar value, first seen first. */
static struct out_col *generic_cols(json_t *rows, size_t *n)
{
	struct out_col *cols = NULL;
	size_t i, k, cap = 0;
	json_t *row, *v;
	const char *key;

	*n = 0;
	json_array_foreach(rows, i, row)
	{
		json_object_foreach(row, key, v)
		{
			if (!is_scalarish(v))
				continue;
			for (k = 0; k < *n && strcmp(cols[k].path, key) != 0; k++)
				;
			if (k < *n)
				continue;
			if (*n + 1 >= cap) {
				struct out_col *c = realloc(cols, (cap = cap * 2 + 8) * sizeof(*c));

				if (!c)
					return cols;
				cols = c;
			}
			cols[(*n)++] = (struct out_col){key, NULL};
		}
	}
	return cols;
}

static char *header_text(const struct out_col *c)
{
	struct sbuf b = {0};
	const char *s;

	sb_str(&b, "");
	if (c->header) {
		sb_str(&b, c->header);
		return b.p;
	}
	for (s = c->path; *s; s++) {
		char ch = *s == '_' || *s == '.' ? ' ' : (char)toupper((unsigned char)*s);

		sb_add(&b, &ch, 1);
	}
	return b.p;
}

void out_table(FILE *f, json_t *rows, const struct out_col *cols, int indent)
{
	struct out_col *gen = NULL;
	size_t ncols = 0, nrows = json_array_size(rows), r, c, *w = NULL;
	char **cell = NULL;

	if (!cols) {
		gen = generic_cols(rows, &ncols);
		cols = gen;
	} else {
		while (cols[ncols].path)
			ncols++;
	}
	if (!ncols)
		goto out;
	w = calloc(ncols, sizeof(*w));
	cell = calloc((nrows + 1) * ncols, sizeof(*cell));
	if (!w || !cell)
		goto out;
	for (c = 0; c < ncols; c++)
		cell[c] = header_text(&cols[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			cell[(r + 1) * ncols + c] =
				out_cell(out_get(json_array_get(rows, r), cols[c].path));
	for (r = 0; r <= nrows; r++)
		for (c = 0; c < ncols; c++) {
			const char *t = cell[r * ncols + c];
			size_t cw = t ? width(t) : 0;

			if (cw > w[c])
				w[c] = cw;
		}
	for (r = 0; r <= nrows; r++) {
		pad(f, (size_t)indent);
		for (c = 0; c < ncols; c++) {
			const char *t = cell[r * ncols + c] ? cell[r * ncols + c] : "";

			fputs(t, f);
			if (c + 1 < ncols)
				pad(f, w[c] - width(t) + 2);
		}
		fputc('\n', f);
	}
out:
	if (cell)
		for (r = 0; r < (nrows + 1) * ncols; r++)
			free(cell[r]);
	free(cell);
	free(w);
	free(gen);
}

static bool is_table(json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || !json_array_size(v))
		return false;
	json_array_foreach(v, i, e) if (!json_is_object(e)) return false;
	return true;
}

void out_object(FILE *f, json_t *obj, int indent)
{
	const char *key;
	json_t *v;
	size_t kw = 0;

	json_object_foreach(obj, key, v) if (width(key) > kw) kw = width(key);
	json_object_foreach(obj, key, v)
	{
		char *t;

		pad(f, (size_t)indent);
		if (json_is_object(v) && !is_scalarish(v) && json_object_size(v)) {
			fprintf(f, "%s:\n", key);
			out_object(f, v, indent + 2);
			continue;
		}
		if (is_table(v)) {
			fprintf(f, "%s:\n", key);
			out_table(f, v, NULL, indent + 2);
			continue;
		}
		t = out_cell(v);
		fprintf(f, "%s:", key);
		pad(f, kw - width(key) + 1);
		fprintf(f, "%s\n", t ? t : "");
		free(t);
	}
}

void out_any(FILE *f, json_t *v)
{
	if (is_table(v)) {
		out_table(f, v, NULL, 0);
	} else if (json_is_object(v)) {
		out_object(f, v, 0);
	} else {
		char *t = out_cell(v);

		fprintf(f, "%s\n", t ? t : "");
		free(t);
	}
}

/* The result of a list: an array, or the first array member of an object
 * ({"users": [...]}); NULL when neither. */
json_t *out_list_of(json_t *result)
{
	const char *key;
	json_t *v;

	if (json_is_array(result))
		return result;
	json_object_foreach(result, key, v) if (json_is_array(v)) return v;
	return NULL;
}

/* The preferred columns that at least one row has, or NULL (generic). */
const struct out_col *out_pick_cols(json_t *rows, const struct out_col *pref, struct out_col *buf,
				    size_t cap)
{
	size_t n = 0, i;
	json_t *row;

	for (; pref->path && n + 1 < cap; pref++)
		json_array_foreach(rows, i, row) if (out_get(row, pref->path))
		{
			buf[n++] = *pref;
			break;
		}
	buf[n] = (struct out_col){NULL, NULL};
	return n ? buf : NULL;
}

void out_true_names(json_t *obj, const char *key)
{
	json_t *map = json_object_get(obj, key), *list, *v;
	const char *name;

	if (!json_is_object(map))
		return;
	list = json_array();
	json_object_foreach(map, name, v)
	{
		if (!json_is_boolean(v)) {
			json_decref(list);
			return; /* not such a map: leave it as it is */
		}
		if (json_is_true(v))
			json_array_append_new(list, json_string(name));
	}
	json_object_set_new(obj, key, list);
}

/* The first ":DIGITS:DIGITS:" from the left: a path may contain colons,
 * but not that. */
int out_position_at(const char *line)
{
	const char *p;

	for (p = strchr(line, ':'); p; p = strchr(p + 1, ':')) {
		const char *q = p + 1;

		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q != ':' || q[1] < '0' || q[1] > '9')
			continue;
		q++;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == ':')
			return (int)(p - line) + 1;
	}
	return -1;
}

void out_json(FILE *f, json_t *v)
{
	json_dumpf(v, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
}
