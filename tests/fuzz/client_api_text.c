/*
 * tests/fuzz/client_api_text.c - the byte-level parsers of the client
 * protocol plugin: the UTF-8 sanitiser every text from a bus payload or
 * the user store passes (ca_jstr), the base64 decoder of pictures in
 * me.update (ca_b64_decode), and the string map behind sessions, tokens
 * and watches (ca_map) against a naive reference.
 *
 * Input: the first byte selects the part, the rest is its input.
 *   0: ca_jstr of the bytes; the JSON text must load back as the same
 *      string, and be unchanged when the input was valid UTF-8 already.
 *   1: ca_b64_decode; never more than len * 3 / 4 bytes, and a valid
 *      encoding (re-encoded) decodes back to the same bytes.
 *   2: map operations: each 2-byte op (put/del/get, key number) on a map
 *      and on an array; every get and del must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

static void text(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	json_t *j, *back;
	char *dump;

	memcpy(s, d, n);
	s[n] = '\0';
	j = ca_jstr(s, n);
	if (!j)
		abort();
	dump = json_dumps(j, JSON_ENCODE_ANY);
	back = dump ? json_loads(dump, JSON_DECODE_ANY, NULL) : NULL;
	if (!back || !json_equal(j, back))
		abort();
	/* valid UTF-8 without NUL stays as it was */
	if (strlen(s) == n) {
		json_t *direct = json_stringn(s, n);

		if (direct && !json_equal(direct, j))
			abort();
		json_decref(direct);
	}
	json_decref(back);
	free(dump);
	json_decref(j);
	free(s);
}

static void b64(const uint8_t *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char *out = malloc(n * 3 / 4 + 3), *again;
	char *enc;
	ssize_t got = ca_b64_decode((const char *)d, n, out);
	size_t o = 0;

	if (got > (ssize_t)(n * 3 / 4 + 2))
		abort();
	if (got < 0) {
		free(out);
		return;
	}
	/* encode what came out and decode it again */
	enc = malloc((size_t)got * 4 / 3 + 8);
	for (ssize_t i = 0; i < got; i += 3) {
		uint32_t v = (uint32_t)out[i] << 16;
		int k = (int)(got - i < 3 ? got - i : 3);

		if (k > 1)
			v |= (uint32_t)out[i + 1] << 8;
		if (k > 2)
			v |= out[i + 2];
		enc[o++] = a[(v >> 18) & 63];
		enc[o++] = a[(v >> 12) & 63];
		enc[o++] = k > 1 ? a[(v >> 6) & 63] : '=';
		enc[o++] = k > 2 ? a[v & 63] : '=';
	}
	again = malloc(o * 3 / 4 + 3);
	if (ca_b64_decode(enc, o, again) != got || memcmp(again, out, (size_t)got) != 0)
		abort();
	free(again);
	free(enc);
	free(out);
}

static void map(const uint8_t *d, size_t n)
{
	struct ca_map m = {0};
	uintptr_t ref[64] = {0};
	char key[16];

	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned k = d[i + 1] & 63, op = d[i] % 3;
		void *got;

		snprintf(key, sizeof(key), "k%u", k);
		switch (op) {
		case 0:
			if (ca_map_put(&m, key, (void *)(uintptr_t)(i + 1)) == 0) {
				if (ref[k])
					abort();
				ref[k] = i + 1;
			} else if (!ref[k]) {
				abort();
			}
			break;
		case 1:
			got = ca_map_del(&m, key);
			if ((uintptr_t)got != ref[k])
				abort();
			ref[k] = 0;
			break;
		default:
			if ((uintptr_t)ca_map_get(&m, key) != ref[k])
				abort();
			break;
		}
	}
	{
		size_t count = 0;

		for (size_t k = 0; k < 64; k++)
			count += ref[k] != 0;
		if (count != m.n)
			abort();
	}
	ca_map_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		text(data + 1, size - 1);
		break;
	case 1:
		b64(data + 1, size - 1);
		break;
	default:
		map(data + 1, size - 1);
		break;
	}
	return 0;
}
