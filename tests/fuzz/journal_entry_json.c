/*
 * tests/fuzz/journal_entry_json.c - the journal's row format read from
 * untrusted bytes ("journal.append"), and every entry it accepts written
 * back and read again to the same entry; the "journal.event" to_json from
 * arbitrary payload bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jr_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jr_entry e, back;
	static char json[65536];
	char err[256];
	int n;

	if (jr_entry_from_json((const char *)data, size, &e, err, sizeof(err)) == 0) {
		n = jr_entry_json(&e, json, sizeof(json));
		if (n < 0 || (size_t)n >= sizeof(json) || strlen(json) != (size_t)n)
			abort();
		if (jr_entry_from_json(json, (size_t)n, &back, err, sizeof(err)) != 0 ||
		    memcmp(&e, &back, sizeof(e)) != 0)
			abort();
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	n = jr_event_to_json(data, size, json, sizeof(json));
	if (n >= 0 && (size_t)n < sizeof(json) && strlen(json) != (size_t)n)
		abort();
	return 0;
}
