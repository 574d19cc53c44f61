/*
 * plugins/lines/lm_map.h - a string-keyed hash map of pointers.
 *
 * Every driver event names its line by id, and a server watches thousands
 * of lines, so finding a line is a hash lookup, not a scan. The map does
 * not own its keys: a key points into the value it maps to (a line's id or
 * number), which lives until it is removed from the map. Open addressing
 * with linear probing and tombstones; it grows at 1/2 load.
 */
#ifndef LM_MAP_H
#define LM_MAP_H

#include <stddef.h>
#include <stdint.h>

struct lm_map_slot {
	const char *key; /* NULL: empty; LM_MAP_TOMB: removed */
	void *value;
};

struct lm_map {
	struct lm_map_slot *slots;
	size_t cap, used, tombs;
};

extern const char lm_map_tomb[];
#define LM_MAP_TOMB lm_map_tomb

void *lm_map_get(const struct lm_map *m, const char *key);
/* Adds or replaces; -ENOMEM. */
int lm_map_put(struct lm_map *m, const char *key, void *value);
/* Removes key when it maps to value (value NULL: whatever it maps to). */
void lm_map_del(struct lm_map *m, const char *key, const void *value);
void lm_map_free(struct lm_map *m);

#endif
