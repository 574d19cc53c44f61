/*
 * tests/fuzz/ws_http.c - the HTTP upgrade request comes straight from the
 * network: whatever the bytes, parsing must not read outside them, must
 * answer either "complete" (with a consumed length inside the input and the
 * fixed fields NUL-terminated), "more" or a status we document, and the
 * client side's check of a server answer must hold the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_terminated(const char *s, size_t cap)
{
	if (!memchr(s, 0, cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	struct ws_upgrade up;
	size_t consumed = 99999;
	int status = -1, ret;
	char resp[512];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (size_t max = 512; max <= 8192; max *= 16) {
		ret = ws_http_parse_upgrade(copy, size, max, &up, &consumed, &status);
		if (ret == 0) {
			if (consumed == 0 || consumed > size || consumed > max)
				abort();
			check_terminated(up.key, sizeof(up.key));
			check_terminated(up.origin, sizeof(up.origin));
			check_terminated(up.user_agent, sizeof(up.user_agent));
			check_terminated(up.protocol, sizeof(up.protocol));
			check_terminated(up.host, sizeof(up.host));
			if (ws_http_accept_response(&up, resp, sizeof(resp)) <= 0)
				abort();
		} else if (ret == -EAGAIN) {
			if (size >= max)
				abort();
		} else if (ret == -EINVAL) {
			if (status != 400 && status != 404 && status != 405 && status != 426 &&
			    status != 431)
				abort();
		} else {
			abort();
		}
	}
	ret = ws_http_client_check(copy, size, "dGhlIHNhbXBsZSBub25jZQ==", &consumed, &status);
	if (ret == 0 && (consumed == 0 || consumed > size))
		abort();
	if (ret != 0 && ret != -EAGAIN && ret != -EPROTO)
		abort();
	free(copy);
	return 0;
}
