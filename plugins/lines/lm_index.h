/*
 * plugins/lines/lm_index.h - a string-keyed multi-map: a key maps to every
 * value added under it, in the order they were added.
 *
 * Numbers are not unique across a server (two sites each with an extension
 * 222; two PBXs each with a call "17"), so the line manager's indexes keep
 * every holder of a key and answer with the first one; when that one goes,
 * the next one is found in the key's own bucket - no scan of all lines.
 * Built on lm_map: the bucket owns a copy of its key.
 */
#ifndef LM_INDEX_H
#define LM_INDEX_H

#include <stddef.h>

#include "lm_map.h"

struct lm_index {
	struct lm_map map;
};

/* The first value under key, NULL when none. */
void *lm_index_get(const struct lm_index *ix, const char *key);
/* Every value under key (valid until the next change); the count. */
size_t lm_index_all(const struct lm_index *ix, const char *key, void *const **out);
/* Adds v under key (once: adding it again changes nothing); -ENOMEM. */
int lm_index_add(struct lm_index *ix, const char *key, void *v);
/* Removes v from key (O(values under key)). */
void lm_index_del(struct lm_index *ix, const char *key, const void *v);
void lm_index_free(struct lm_index *ix);

#endif
