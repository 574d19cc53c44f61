/*
 * plugins/presence/tests/test_containers.c - the map and the heap of the
 * presence core against naive references, under random operations
 * (deletion in the map is the part that breaks quietly).
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "pres.h"

#define KEYS 600

static void map(void)
{
	static char keys[KEYS][16];
	int32_t ref[KEYS];
	struct pres_map m = {0};
	int bad = 0;

	for (int i = 0; i < KEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i * 7919);
		ref[i] = -1;
	}
	srand(7);
	for (int round = 0; round < 200000; round++) {
		int k = rand() % KEYS, op = rand() % 3;

		if (op == 0) {
			CHECK_INT(pres_map_put(&m, keys[k], round), ==, 0);
			ref[k] = round;
		} else if (op == 1) {
			CHECK_INT(pres_map_del(&m, keys[k]), ==, ref[k] >= 0 ? 0 : -ENOENT);
			ref[k] = -1;
		}
		if (pres_map_get(&m, keys[k]) != ref[k])
			bad++;
		if (round % 10007 == 0) {
			size_t n = 0;

			for (int i = 0; i < KEYS; i++) {
				bad += pres_map_get(&m, keys[i]) != ref[i];
				n += ref[i] >= 0;
			}
			CHECK_INT(m.n, ==, n);
		}
	}
	CHECK_INT(bad, ==, 0);
	CHECK_INT(pres_map_get(&m, "absent"), ==, -1);
	pres_map_clear(&m);
	CHECK_INT(pres_map_get(&m, keys[0]), ==, -1);
	pres_map_free(&m);
}

static void heap(void)
{
	struct pres_heap h = {0};
	struct pres_heap_node nodes[300];
	int in[300] = {0}, bad = 0;

	for (int i = 0; i < 300; i++)
		pres_heap_node_init(&nodes[i]);
	srand(11);
	for (int round = 0; round < 100000; round++) {
		int i = rand() % 300;
		struct pres_heap_node *top;
		uint64_t min = UINT64_MAX;

		if (rand() % 3) {
			CHECK_INT(pres_heap_set(&h, &nodes[i], (uint64_t)(rand() % 1000)), ==, 0);
			in[i] = 1;
		} else {
			pres_heap_del(&h, &nodes[i]);
			in[i] = 0;
		}
		for (int k = 0; k < 300; k++)
			if (in[k] && nodes[k].key < min)
				min = nodes[k].key;
		top = pres_heap_top(&h);
		bad += min == UINT64_MAX ? top != NULL : (!top || top->key != min);
		bad += (nodes[i].pos != PRES_HEAP_NONE) != in[i];
	}
	CHECK_INT(bad, ==, 0);
	pres_heap_free(&h);
	for (int k = 0; k < 300; k++)
		CHECK_INT(nodes[k].pos, ==, PRES_HEAP_NONE);
}

int main(void)
{
	map();
	heap();
	return check_report();
}
