/*
 * plugins/presence/pres_map.c - the string -> index hash map of the
 * presence core (users by id, lines by id, the binding indices).
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a map whose lines come and go for months does not fill up
 * with dead slots. Keys are borrowed; the load factor stays below 3/4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pres.h"

uint32_t pres_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h ? h : 1;
}

void pres_map_free(struct pres_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void pres_map_clear(struct pres_map *m)
{
	if (m->slots)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->n = 0;
}

static size_t find_slot(const struct pres_map *m, const char *key, uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;

	while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
		i = (i + 1) & mask;
	return i;
}

int32_t pres_map_get(const struct pres_map *m, const char *key)
{
	size_t i;

	if (!m->n || !key)
		return -1;
	i = find_slot(m, key, pres_hash_str(key));
	return m->slots[i].key ? m->slots[i].val : -1;
}

static int grow(struct pres_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct pres_map_slot *old = m->slots, *slots = calloc(cap, sizeof(*slots));
	size_t old_cap = m->cap;

	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			m->slots[find_slot(m, old[i].key, old[i].hash)] = old[i];
	free(old);
	return 0;
}

int pres_map_put(struct pres_map *m, const char *key, int32_t val)
{
	uint32_t h = pres_hash_str(key);
	size_t i;
	int err;

	if ((m->n + 1) * 4 > m->cap * 3) {
		err = grow(m);
		if (err)
			return err;
	}
	i = find_slot(m, key, h);
	if (!m->slots[i].key) {
		m->slots[i].hash = h;
		m->n++;
	}
	m->slots[i].key = key; /* a replaced entry takes the newest owner of the text */
	m->slots[i].val = val;
	return 0;
}

int pres_map_del(struct pres_map *m, const char *key)
{
	size_t mask, i, j;

	if (!m->n || !key)
		return -ENOENT;
	mask = m->cap - 1;
	i = find_slot(m, key, pres_hash_str(key));
	if (!m->slots[i].key)
		return -ENOENT;
	/* Backward shift: move every later entry of the cluster that may not
	 * stay behind the hole into it. */
	j = i;
	for (;;) {
		size_t home;

		m->slots[i].key = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!m->slots[j].key)
				goto out;
			home = m->slots[j].hash & mask;
			/* stays when its home lies cyclically in (i, j] */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
out:
	m->n--;
	return 0;
}
