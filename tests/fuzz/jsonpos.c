/*
 * tests/fuzz/jsonpos.c - fuzz target of the position scanner, held against
 * jansson. On any input the scanner must not crash or read past the end; on
 * text jansson accepts it must succeed, find every value jansson built (and
 * nothing more), and lead every entry's pointer back to that entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonpos.h"

struct path {
	char *p;
	size_t len, cap;
};

static void path_add(struct path *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void path_seg(struct path *b, const char *key)
{
	path_add(b, "/", 1);
	for (; *key; key++) {
		if (*key == '~')
			path_add(b, "~0", 2);
		else if (*key == '/')
			path_add(b, "~1", 2);
		else
			path_add(b, key, 1);
	}
}

/* Every value jansson built is found, at a real position. */
static void walk(const struct jsonpos *jp, json_t *v, struct path *b, size_t *values)
{
	struct jsonpos_loc loc = {0, 0};
	size_t mark = b->len, i;
	const char *key;
	json_t *child;

	if (jsonpos_find(jp, b->p ? b->p : "", b->len, &loc, NULL) < 0 || !loc.line || !loc.col)
		abort();
	(*values)++;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			path_seg(b, key);
			walk(jp, child, b, values);
			b->len = mark;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			char idx[24];
			int n = snprintf(idx, sizeof(idx), "/%zu", i);

			path_add(b, idx, (size_t)n);
			walk(jp, child, b, values);
			b->len = mark;
		}
	}
}

/* Every entry's pointer leads back to it. */
static void roundtrip(const struct jsonpos *jp)
{
	for (size_t id = 0; id < jsonpos_count(jp); id++) {
		long n = jsonpos_pointer(jp, id, NULL, 0);
		char *buf;

		if (n < 0)
			abort();
		buf = malloc((size_t)n + 1);
		if (!buf || jsonpos_pointer(jp, id, buf, (size_t)n + 1) != n ||
		    jsonpos_find(jp, buf, (size_t)n, NULL, NULL) != (long)id)
			abort();
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_error_t jerr;
	json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	struct jsonpos *jp = NULL;
	int err = jsonpos_scan(&jp, text, size);

	/* jansson drops a NUL byte that follows a number or a literal, which
	 * the scanner (like the config loader) refuses: no comparison then */
	if (root && !memchr(data, 0, size)) {
		struct path b = {0};
		size_t values = 0;

		if (err)
			abort();
		walk(jp, root, &b, &values);
		if (values != jsonpos_count(jp))
			abort();
		roundtrip(jp);
		free(b.p);
	}
	jsonpos_free(jp);
	json_decref(root);
	return 0;
}
