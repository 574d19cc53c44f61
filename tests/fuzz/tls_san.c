/*
 * tests/fuzz/tls_san.c - the iPAddress subjectAltName check reads DER from
 * the peer's certificate. Input: one byte choosing IPv4 (even) or IPv6
 * (odd), the address, then the extensions block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ip_len;
	uint8_t *ext;
	int r;

	if (size < 1)
		return 0;
	ip_len = data[0] & 1 ? 16 : 4;
	if (size < 1 + ip_len)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	ext = malloc(size - 1 - ip_len + 1);
	if (!ext)
		return 0;
	memcpy(ext, data + 1 + ip_len, size - 1 - ip_len);
	r = core_tls_san_has_ip(ext, size - 1 - ip_len, data + 1, ip_len);
	if (r != 0 && r != 1 && r != -74 /* -EBADMSG */)
		abort();
	free(ext);
	return 0;
}
