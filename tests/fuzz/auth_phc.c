/*
 * tests/fuzz/auth_phc.c - stored password hashes are read back from the
 * user store and the administrator file, which an operator may edit by
 * hand: whatever the bytes, auth_phc_parse must not read outside them, and
 * everything it accepts must be within the limits and canonical (it formats
 * back to exactly the same bytes). The base64 decoder gets the same input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_phc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1), out[AUTH_PHC_MAX];
	uint8_t bytes[AUTH_PHC_MAX];
	struct auth_phc phc;
	int n;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (auth_phc_parse(copy, size, &phc) == 0) {
		if (phc.m_kib < 8 * phc.p || phc.m_kib > AUTH_PHC_M_MAX || phc.t < 1 ||
		    phc.t > AUTH_PHC_T_MAX || phc.p < 1 || phc.p > AUTH_PHC_P_MAX ||
		    phc.salt_len < AUTH_PHC_SALT_MIN || phc.salt_len > AUTH_PHC_SALT_MAX ||
		    phc.hash_len < AUTH_PHC_HASH_MIN || phc.hash_len > AUTH_PHC_HASH_MAX)
			abort();
		n = auth_phc_format(&phc, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, copy, size) != 0)
			abort();
	}
	n = auth_b64_decode(copy, size, bytes, sizeof(bytes));
	if (n >= 0) {
		/* what decodes encodes back to the same text */
		char *enc = malloc(size + 1);

		if (enc) {
			if (auth_b64_encode(bytes, (size_t)n, enc, size + 1) != (int)size ||
			    memcmp(enc, copy, size) != 0)
				abort();
			free(enc);
		}
	}
	free(copy);
	return 0;
}
