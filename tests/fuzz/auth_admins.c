/*
 * tests/fuzz/auth_admins.c - the administrator accounts file
 * (<state>/auth/admins.json) may be damaged or edited by hand: whatever the
 * bytes, auth_admins_parse must fail cleanly or return valid, sorted,
 * unique accounts that survive format -> parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_admins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_admins a, b;
	char err[512];
	char *text;

	if (auth_admins_parse((const char *)data, size, &a, err, sizeof(err)) != 0) {
		if (!err[0] || a.n || a.v)
			abort();
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		struct auth_phc phc;

		if (!auth_id_valid(a.v[i].id) ||
		    auth_phc_parse(a.v[i].phc, strlen(a.v[i].phc), &phc) != 0 ||
		    (i && strcmp(a.v[i - 1].id, a.v[i].id) >= 0))
			abort();
	}
	text = auth_admins_format(&a);
	if (!text)
		abort();
	if (auth_admins_parse(text, strlen(text), &b, err, sizeof(err)) != 0 || b.n != a.n ||
	    (a.n && memcmp(a.v, b.v, a.n * sizeof(*a.v)) != 0))
		abort();
	free(text);
	auth_admins_free(&a);
	auth_admins_free(&b);
	return 0;
}
