/*
 * plugins/presence/rights.h - the rights engine: who may see and do what of
 * whom, answered in constant time.
 *
 * The engine indexes one user-store snapshot (struct ucs_ud_snapshot): users
 * get dense indices, each user's groups and grants are turned into small
 * sorted arrays, and the global and monitor settings become masks. A
 * question "rights of watcher w on target t" is answered from a bounded
 * pair cache (hash of (w, t) -> mask); a miss computes the union described
 * in ucs/rights.h from the index (cost: the groups of t) and stores it.
 * rights_load() with a new snapshot rebuilds the index and empties the
 * cache by moving the generation, so a change is visible to the very next
 * question. The engine belongs to the loop thread.
 *
 * Indices (int32_t) are valid until the next rights_load(); -1 means an
 * unknown user. The engine keeps a pointer to the snapshot it indexed: the
 * caller keeps that snapshot acquired until it loads the next one.
 */
#ifndef PRESENCE_RIGHTS_H
#define PRESENCE_RIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/rights.h>
#include <ucs/userdb.h>

struct rights_engine;

/* cache_slots: pair-cache size (rounded up to a power of two; 0 = default). */
struct rights_engine *rights_new(size_t cache_slots);
void rights_free(struct rights_engine *re);
/* Indexes snap (kept, not copied). -ENOMEM leaves the previous index. */
int rights_load(struct rights_engine *re, const struct ucs_ud_snapshot *snap);

uint64_t rights_generation(const struct rights_engine *re);
size_t rights_user_count(const struct rights_engine *re);
int32_t rights_user_index(const struct rights_engine *re, const char *id);
const struct ucs_ud_user *rights_user_at(const struct rights_engine *re, int32_t idx);

/* The rights of watcher w on target t; 0 for unknown or inactive users
 * (except that a user always has UCS_R_ALL on herself). */
uint64_t rights_get(struct rights_engine *re, int32_t w, int32_t t);
uint64_t rights_get_id(struct rights_engine *re, const char *w, const char *t);

/* Pure functions of the manual's tables. */
uint64_t rights_level_mask(int level);
uint64_t rights_set_mask(const struct ucs_rights_set *set); /* level mask | extra */
uint32_t rights_contact_fields(uint64_t rights);

uint64_t rights_services(const struct rights_engine *re, int32_t user);
uint32_t rights_self_fields(const struct rights_engine *re, int32_t user);
uint32_t rights_restrictions(const struct rights_engine *re);
/* The sources of w's rights on t, as the JSON of ucs_rights_api.explain. */
int rights_explain(struct rights_engine *re, int32_t w, int32_t t, char *buf, size_t cap);

/* Statistics for the benchmark and the status monitor. */
struct rights_stats {
	uint64_t hits, misses;
	size_t index_bytes, cache_bytes;
};
void rights_stats(const struct rights_engine *re, struct rights_stats *out);

#endif
