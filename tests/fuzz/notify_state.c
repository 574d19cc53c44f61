/*
 * tests/fuzz/notify_state.c - STATE_DIR/notify.json (plugins/notify/
 * nt_state.c) may be damaged or edited: loading it either takes every
 * entry or none, and what was loaded saves and loads again to the same
 * memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_state *s = nt_state_new(64), *t = nt_state_new(64);
	char err[256], *json = NULL;

	if (!s || !t)
		abort();
	if (nt_state_load_json(s, (const char *)data, size, err, sizeof(err)) != 0) {
		if (nt_state_pairs(s) != 0)
			abort();
		goto out;
	}
	if (nt_state_save_json(s, &json) != 0)
		abort();
	if (nt_state_load_json(t, json, strlen(json), err, sizeof(err)) != 0 ||
	    nt_state_pairs(t) != nt_state_pairs(s))
		abort();
out:
	free(json);
	nt_state_free(s);
	nt_state_free(t);
	return 0;
}
