/*
 * plugins/lines/lm_index.c - the string-keyed multi-map (lm_index.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm_index.h"

struct bucket {
	char *key;
	void **v;
	size_t n, cap;
};

void *lm_index_get(const struct lm_index *ix, const char *key)
{
	const struct bucket *b = key ? lm_map_get(&ix->map, key) : NULL;

	return b && b->n ? b->v[0] : NULL;
}

size_t lm_index_all(const struct lm_index *ix, const char *key, void *const **out)
{
	const struct bucket *b = key ? lm_map_get(&ix->map, key) : NULL;

	*out = b ? b->v : NULL;
	return b ? b->n : 0;
}

int lm_index_add(struct lm_index *ix, const char *key, void *v)
{
	struct bucket *b;
	int err;

	if (!key || !*key)
		return 0;
	b = lm_map_get(&ix->map, key);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->key = strdup(key))) {
			free(b);
			return -ENOMEM;
		}
		err = lm_map_put(&ix->map, b->key, b);
		if (err) {
			free(b->key);
			free(b);
			return err;
		}
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i] == v)
			return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 2;
		void **nv = realloc(b->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = v;
	return 0;
}

void lm_index_del(struct lm_index *ix, const char *key, const void *v)
{
	struct bucket *b = key && *key ? lm_map_get(&ix->map, key) : NULL;

	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i] == v) {
			/* keep the order: the first holder stays the one found */
			memmove(b->v + i, b->v + i + 1, (b->n - i - 1) * sizeof(*b->v));
			b->n--;
			break;
		}
	if (b->n)
		return;
	lm_map_del(&ix->map, b->key, b);
	free(b->v);
	free(b->key);
	free(b);
}

void lm_index_free(struct lm_index *ix)
{
	for (size_t i = 0; i < ix->map.cap; i++) {
		struct lm_map_slot *s = &ix->map.slots[i];

		if (s->key && s->key != LM_MAP_TOMB) {
			struct bucket *b = s->value;

			free(b->v);
			free(b->key);
			free(b);
		}
	}
	lm_map_free(&ix->map);
}
