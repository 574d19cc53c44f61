/*
 * core/strmap.h - a string-keyed hash map for the core's registries.
 *
 * Bus topics, keyed subscriptions, services and plugin names are all looked
 * up by string on hot paths (a keyed delivery is one lookup), so lookups
 * must cost the same whether the map holds ten keys or a hundred thousand.
 * Chained buckets, a power-of-two table that doubles at load factor 1, and
 * FNV-1a. The map copies keys; values are the caller's. Not thread-safe:
 * loop thread only.
 */
#ifndef CORE_STRMAP_H
#define CORE_STRMAP_H

#include <stddef.h>

struct core_strmap_entry {
	struct core_strmap_entry *next;
	size_t hash;
	void *value;
	char key[]; /* NUL-terminated copy */
};

struct core_strmap {
	struct core_strmap_entry **buckets;
	size_t mask; /* bucket count - 1 */
	size_t count;
};

void core_strmap_init(struct core_strmap *map);
/* Frees the entries (not the values). */
void core_strmap_clear(struct core_strmap *map);
void *core_strmap_get(const struct core_strmap *map, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *core_strmap_put(struct core_strmap *map, const char *key, void *value);
/* Removes; returns the value or NULL. */
void *core_strmap_del(struct core_strmap *map, const char *key);
/* Calls h for every entry (the map must not change during the walk). */
void core_strmap_each(const struct core_strmap *map,
		      void (*h)(const char *key, void *value, void *arg), void *arg);

#endif
