/*
 * core/strmap.c - the string-keyed hash map (see strmap.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "strmap.h"

#define STRMAP_INITIAL 16

static size_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

void core_strmap_init(struct core_strmap *map)
{
	map->buckets = NULL;
	map->mask = 0;
	map->count = 0;
}

void core_strmap_clear(struct core_strmap *map)
{
	if (map->buckets) {
		for (size_t i = 0; i <= map->mask; i++) {
			struct core_strmap_entry *e = map->buckets[i];

			while (e) {
				struct core_strmap_entry *next = e->next;

				free(e);
				e = next;
			}
		}
	}
	free(map->buckets);
	core_strmap_init(map);
}

static struct core_strmap_entry **strmap_slot(const struct core_strmap *map, const char *key,
					      size_t hash)
{
	struct core_strmap_entry **slot = &map->buckets[hash & map->mask];

	while (*slot && ((*slot)->hash != hash || strcmp((*slot)->key, key) != 0))
		slot = &(*slot)->next;
	return slot;
}

void *core_strmap_get(const struct core_strmap *map, const char *key)
{
	struct core_strmap_entry *e;

	if (!map->count)
		return NULL;
	e = *strmap_slot(map, key, strmap_hash(key));
	return e ? e->value : NULL;
}

static void strmap_grow(struct core_strmap *map)
{
	size_t old_size = map->buckets ? map->mask + 1 : 0;
	size_t new_size = old_size ? old_size * 2 : STRMAP_INITIAL;
	struct core_strmap_entry **nb = core_alloc(new_size * sizeof(*nb));

	for (size_t i = 0; i < old_size; i++) {
		struct core_strmap_entry *e = map->buckets[i];

		while (e) {
			struct core_strmap_entry *next = e->next;
			size_t b = e->hash & (new_size - 1);

			e->next = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = nb;
	map->mask = new_size - 1;
}

void *core_strmap_put(struct core_strmap *map, const char *key, void *value)
{
	size_t hash = strmap_hash(key), len;
	struct core_strmap_entry **slot, *e;
	void *old;

	if (!map->buckets || map->count >= map->mask + 1)
		strmap_grow(map);
	slot = strmap_slot(map, key, hash);
	if (*slot) {
		old = (*slot)->value;
		(*slot)->value = value;
		return old;
	}
	len = strlen(key) + 1;
	e = core_alloc(sizeof(*e) + len);
	memcpy(e->key, key, len);
	e->hash = hash;
	e->value = value;
	*slot = e;
	map->count++;
	return NULL;
}

void *core_strmap_del(struct core_strmap *map, const char *key)
{
	struct core_strmap_entry **slot, *e;
	void *value;

	if (!map->count)
		return NULL;
	slot = strmap_slot(map, key, strmap_hash(key));
	e = *slot;
	if (!e)
		return NULL;
	*slot = e->next;
	value = e->value;
	free(e);
	map->count--;
	return value;
}

void core_strmap_each(const struct core_strmap *map,
		      void (*h)(const char *key, void *value, void *arg), void *arg)
{
	if (!map->buckets)
		return;
	for (size_t i = 0; i <= map->mask; i++)
		for (struct core_strmap_entry *e = map->buckets[i]; e; e = e->next)
			h(e->key, e->value, arg);
}
