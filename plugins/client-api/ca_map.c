/*
 * plugins/client-api/ca_map.c - a map of strings to pointers: online users,
 * resume tokens, watched lines, each session's presence targets.
 *
 * Chained buckets, doubled when the load passes one. The hash is FNV-1a
 * with a per-process random seed and a final mix, so ids a client chooses
 * cannot be lined up in one bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ca.h"

static uint64_t seed;

uint64_t ca_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h;

	if (!seed) {
		uint64_t s = 0;

		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
			s = (uint64_t)(uintptr_t)&seed * 0x9e3779b97f4a7c15ull;
		seed = s | 1;
	}
	h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct ca_map_ent **slot(const struct ca_map *m, const char *key, uint64_t h)
{
	struct ca_map_ent **e;

	if (!m->nb)
		return NULL;
	for (e = &m->b[h & (m->nb - 1)]; *e; e = &(*e)->next)
		if ((*e)->hash == h && strcmp((*e)->key, key) == 0)
			return e;
	return e;
}

void *ca_map_get(const struct ca_map *m, const char *key)
{
	struct ca_map_ent **e = slot(m, key, ca_hash(key, strlen(key)));

	return e && *e ? (*e)->val : NULL;
}

static int grow(struct ca_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	struct ca_map_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct ca_map_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int ca_map_put(struct ca_map *m, const char *key, void *val)
{
	size_t len = strlen(key);
	uint64_t h = ca_hash(key, len);
	struct ca_map_ent **e, *n;

	if (m->n >= m->nb && grow(m) && !m->nb)
		return -ENOMEM;
	e = slot(m, key, h);
	if (*e)
		return -EEXIST;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return -ENOMEM;
	n->next = NULL;
	n->val = val;
	n->hash = h;
	memcpy(n->key, key, len + 1);
	*e = n;
	m->n++;
	return 0;
}

void *ca_map_del(struct ca_map *m, const char *key)
{
	struct ca_map_ent **e = slot(m, key, ca_hash(key, strlen(key))), *gone;
	void *val;

	if (!e || !*e)
		return NULL;
	gone = *e;
	*e = gone->next;
	val = gone->val;
	free(gone);
	m->n--;
	return val;
}

void ca_map_each(struct ca_map *m, void (*fn)(const char *key, void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct ca_map_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			fn(e->key, e->val, arg);
		}
	}
}

void ca_map_free(struct ca_map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct ca_map_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
