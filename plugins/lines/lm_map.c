/*
 * plugins/lines/lm_map.c - the string-keyed hash map (lm_map.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm_map.h"

const char lm_map_tomb[] = "";

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct lm_map_slot *lookup(const struct lm_map *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = (size_t)hash(key) & (m->cap - 1);
	for (size_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
		struct lm_map_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != LM_MAP_TOMB && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

void *lm_map_get(const struct lm_map *m, const char *key)
{
	struct lm_map_slot *s = key ? lookup(m, key) : NULL;

	return s ? s->value : NULL;
}

static int grow(struct lm_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct lm_map_slot *old = m->slots, *slots = calloc(cap, sizeof(*slots));
	size_t oldcap = m->cap;

	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	m->cap = cap;
	m->used = m->tombs = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key && old[i].key != LM_MAP_TOMB)
			lm_map_put(m, old[i].key, old[i].value);
	free(old);
	return 0;
}

int lm_map_put(struct lm_map *m, const char *key, void *value)
{
	struct lm_map_slot *s = lookup(m, key);
	size_t i;

	if (s) {
		s->value = value;
		return 0;
	}
	if ((m->used + m->tombs + 1) * 2 > m->cap && grow(m))
		return -ENOMEM;
	i = (size_t)hash(key) & (m->cap - 1);
	while (m->slots[i].key && m->slots[i].key != LM_MAP_TOMB)
		i = (i + 1) & (m->cap - 1);
	if (m->slots[i].key == LM_MAP_TOMB)
		m->tombs--;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->used++;
	return 0;
}

void lm_map_del(struct lm_map *m, const char *key, const void *value)
{
	struct lm_map_slot *s = key ? lookup(m, key) : NULL;

	if (!s || (value && s->value != value))
		return;
	s->key = LM_MAP_TOMB;
	s->value = NULL;
	m->used--;
	m->tombs++;
}

void lm_map_free(struct lm_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
