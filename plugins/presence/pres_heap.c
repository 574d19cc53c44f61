/*
 * plugins/presence/pres_heap.c - deadlines of the presence core: an indexed
 * binary min-heap whose nodes live inside their owners (a user's calendar
 * transition, a user's coalescing flush), so moving or removing a deadline
 * is O(log n) without searching.
 */
#include <errno.h>
#include <stdlib.h>

#include "pres.h"

void pres_heap_node_init(struct pres_heap_node *nd)
{
	nd->key = 0;
	nd->pos = PRES_HEAP_NONE;
}

void pres_heap_free(struct pres_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->a[i]->pos = PRES_HEAP_NONE;
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

static void place(struct pres_heap *h, size_t i, struct pres_heap_node *nd)
{
	h->a[i] = nd;
	nd->pos = (uint32_t)i;
}

static void sift_up(struct pres_heap *h, size_t i)
{
	struct pres_heap_node *nd = h->a[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->a[parent]->key <= nd->key)
			break;
		place(h, i, h->a[parent]);
		i = parent;
	}
	place(h, i, nd);
}

static void sift_down(struct pres_heap *h, size_t i)
{
	struct pres_heap_node *nd = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->a[c + 1]->key < h->a[c]->key)
			c++;
		if (nd->key <= h->a[c]->key)
			break;
		place(h, i, h->a[c]);
		i = c;
	}
	place(h, i, nd);
}

int pres_heap_set(struct pres_heap *h, struct pres_heap_node *nd, uint64_t key)
{
	if (nd->pos != PRES_HEAP_NONE) {
		uint64_t old = nd->key;

		nd->key = key;
		if (key < old)
			sift_up(h, nd->pos);
		else
			sift_down(h, nd->pos);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct pres_heap_node **a = realloc(h->a, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	nd->key = key;
	place(h, h->n++, nd);
	sift_up(h, h->n - 1);
	return 0;
}

void pres_heap_del(struct pres_heap *h, struct pres_heap_node *nd)
{
	size_t i = nd->pos;

	if (i == PRES_HEAP_NONE)
		return;
	nd->pos = PRES_HEAP_NONE;
	if (i == --h->n)
		return;
	place(h, i, h->a[h->n]);
	if (i > 0 && h->a[(i - 1) / 2]->key > h->a[i]->key)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct pres_heap_node *pres_heap_top(const struct pres_heap *h)
{
	return h->n ? h->a[0] : NULL;
}
