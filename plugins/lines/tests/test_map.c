/* plugins/lines/tests/test_map.c - the string-keyed hash map and multi-map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lm_index.h"
#include "lm_map.h"

int main(void)
{
	struct lm_map m = {0};
	static char keys[5000][16];
	int found = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "pbx/%d", i);
		CHECK_INT(lm_map_put(&m, keys[i], keys[i]), ==, 0);
	}
	for (int i = 0; i < 5000; i++)
		found += lm_map_get(&m, keys[i]) == keys[i];
	CHECK_INT(found, ==, 5000);
	CHECK(lm_map_get(&m, "pbx/5000") == NULL);
	/* removal only of the value it maps to */
	lm_map_del(&m, "pbx/7", keys[8]);
	CHECK(lm_map_get(&m, "pbx/7") == keys[7]);
	for (int i = 0; i < 5000; i += 2)
		lm_map_del(&m, keys[i], NULL);
	found = 0;
	for (int i = 0; i < 5000; i++)
		found += lm_map_get(&m, keys[i]) != NULL;
	CHECK_INT(found, ==, 2500);
	CHECK(lm_map_get(&m, "pbx/2") == NULL);
	CHECK(lm_map_get(&m, "pbx/3") == keys[3]);
	/* put again over tombstones, and replace */
	for (int i = 0; i < 5000; i += 2)
		CHECK_INT(lm_map_put(&m, keys[i], keys[i]), ==, 0);
	CHECK_INT(lm_map_put(&m, keys[3], keys[4]), ==, 0);
	CHECK(lm_map_get(&m, "pbx/3") == keys[4]);
	CHECK_INT((long long)m.used, ==, 5000);
	lm_map_free(&m);
	CHECK(lm_map_get(&m, "pbx/3") == NULL);

	/* the multi-map: a shared number finds its first holder, then the next */
	{
		struct lm_index ix = {0};
		static int v[1000];
		void *const *all;
		char key[16];

		CHECK_INT(lm_index_add(&ix, "222", &v[0]), ==, 0);
		CHECK_INT(lm_index_add(&ix, "222", &v[1]), ==, 0);
		CHECK_INT(lm_index_add(&ix, "222", &v[1]), ==, 0); /* once */
		CHECK_INT(lm_index_add(&ix, "", &v[2]), ==, 0);	   /* no key: nothing */
		CHECK(lm_index_get(&ix, "") == NULL);
		CHECK_INT((long long)lm_index_all(&ix, "222", &all), ==, 2);
		CHECK(lm_index_get(&ix, "222") == &v[0]);
		lm_index_del(&ix, "222", &v[0]);
		CHECK(lm_index_get(&ix, "222") == &v[1]);
		lm_index_del(&ix, "222", &v[2]); /* not there: no change */
		CHECK(lm_index_get(&ix, "222") == &v[1]);
		lm_index_del(&ix, "222", &v[1]);
		CHECK(lm_index_get(&ix, "222") == NULL);
		CHECK_INT((long long)lm_index_all(&ix, "222", &all), ==, 0);
		/* many keys, many holders of one key: removal keeps the order */
		for (int i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "k%d", i % 100);
			CHECK_INT(lm_index_add(&ix, key, &v[i]), ==, 0);
		}
		CHECK_INT((long long)lm_index_all(&ix, "k7", &all), ==, 10);
		CHECK(all[0] == &v[7] && all[9] == &v[907]);
		lm_index_del(&ix, "k7", &v[7]);
		CHECK(lm_index_get(&ix, "k7") == &v[107]);
		lm_index_free(&ix);
		CHECK(lm_index_get(&ix, "k1") == NULL);
	}
	return check_report();
}
