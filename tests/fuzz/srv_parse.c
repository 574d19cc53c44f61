/*
 * tests/fuzz/srv_parse.c - DNS answers for SRV queries come from the
 * network: whatever the bytes, core_srv_parse must not read outside them,
 * and what it returns must be sorted and hold NUL-terminated targets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct ucs_srv_record *recs = NULL;
	size_t n = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (core_srv_parse(copy, size, &recs, &n) == 0) {
		if (!recs || !n)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!memchr(recs[i].target, 0, sizeof(recs[i].target)))
				abort();
			if (i && (recs[i].priority < recs[i - 1].priority ||
				  (recs[i].priority == recs[i - 1].priority &&
				   recs[i].weight > recs[i - 1].weight)))
				abort();
		}
	} else if (recs || n) {
		abort();
	}
	free(recs);
	free(copy);
	return 0;
}
