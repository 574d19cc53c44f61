/*
 * tests/fuzz/ws_frame.c - WebSocket frames from a peer. The input is fed to
 * a server-side and a client-side reader, once whole and once cut into
 * pieces whose sizes the input's first byte decides: both runs must report
 * the same messages and the same verdict (splitting must never change the
 * result), a text message handed out must be valid UTF-8, and nothing may
 * be read outside the input or leaked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
	uint64_t hash;
	size_t count;
};

static int on_msg(int op, const uint8_t *d, size_t len, void *arg)
{
	struct log *l = arg;

	if (op == WS_OP_TEXT && ws_utf8_step(0, d, len) != 0)
		abort();
	if ((op == WS_OP_PING || op == WS_OP_PONG || op == WS_OP_CLOSE) && len > 125)
		abort();
	if (op == WS_OP_CLOSE) {
		int code;
		const char *reason;
		size_t rl;

		if (ws_close_parse(d, len, &code, &reason, &rl) == 0 && rl > len)
			abort();
	}
	l->hash = l->hash * 1099511628211u + (uint64_t)op * 31 + len;
	for (size_t i = 0; i < len; i++)
		l->hash = (l->hash ^ d[i]) * 1099511628211u;
	l->count++;
	return 0;
}

static int run(enum ws_side side, const uint8_t *d, size_t size, size_t step, struct log *l)
{
	struct ws_reader r;
	int ret = 0;

	ws_reader_init(&r, side, 4096, 16384);
	for (size_t at = 0; at < size && !ret;) {
		size_t n = step && size - at > step ? step : size - at;
		uint8_t *piece = malloc(n);

		if (!piece)
			abort();
		memcpy(piece, d + at, n);
		ret = ws_reader_feed(&r, piece, n, on_msg, l);
		free(piece);
		at += n;
	}
	if (ws_reader_held(&r) > 16384 + 4096 + 125)
		abort();
	ws_reader_free(&r);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	for (int side = 0; side < 2; side++) {
		struct log whole = {0}, split = {0};
		int a = run((enum ws_side)side, data, size, 0, &whole);
		int b = run((enum ws_side)side, data, size, step, &split);

		if (a != b || whole.hash != split.hash || whole.count != split.count)
			abort();
		if (a != 0 && a != 1002 && a != 1007 && a != 1009)
			abort();
	}
	return 0;
}
