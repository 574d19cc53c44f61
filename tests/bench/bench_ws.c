/* tests/bench/bench_ws.c - the WebSocket client plumbing of the load generators (see
 * bench_ws.h). */
#include "bench_ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ws_frame.h"
#include "ws_http.h"

/* xorshift for the frame masks: a client must mask, nothing needs them to be
 * unpredictable here, and the generator's own cost stays small. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

void bench_ws_seed(uint64_t seed)
{
	rng_state ^= seed;
	if (!rng_state)
		rng_state = 0x9e3779b97f4a7c15u; /* xorshift stays at 0 */
}

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_written(uv_write_t *req, int status)
{
	(void)status; /* a failed write shows as a read error or EOF */
	free(req);
}

int bench_write(uv_stream_t *s, const void *data, size_t len)
{
	uv_write_t *req = malloc(sizeof(*req) + len);
	uv_buf_t buf;
	int err;

	if (!req)
		return -ENOMEM;
	memcpy(req + 1, data, len);
	buf = uv_buf_init((char *)(req + 1), (unsigned)len);
	err = uv_write(req, s, &buf, 1, on_written);
	if (err)
		free(req);
	return err;
}

int bench_ws_send(bench_send_fn send, void *session, int opcode, const void *payload, size_t len)
{
	uint8_t mask[4], *frame = malloc(14 + len);
	uint32_t m = rnd32();
	size_t hl;
	int err;

	if (!frame)
		return -ENOMEM;
	memcpy(mask, &m, 4);
	hl = ws_frame_header(frame, 1, opcode, len, mask);
	memcpy(frame + hl, payload, len);
	ws_mask(frame + hl, len, mask, 0);
	err = send(session, frame, hl + len);
	free(frame);
	return err;
}

int bench_rpc_send(bench_send_fn send, void *session, int64_t *next_id, const char *method,
		   json_t *params)
{
	json_t *msg = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id",
				(json_int_t)++ * next_id, "method", method, "params", params);
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int err = text ? bench_ws_send(send, session, WS_OP_TEXT, text, strlen(text)) : -ENOMEM;

	json_decref(msg);
	free(text);
	return err;
}

int bench_ws_upgrade(bench_send_fn send, void *session, const char *host, int port, char key[32])
{
	char hostport[300], rq[1024];
	int n;

	snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
	n = ws_http_client_request(hostport, "/ws", rq, sizeof(rq), key);
	if (n <= 0 || (size_t)n >= sizeof(rq))
		return -ENOSPC;
	return send(session, (const uint8_t *)rq, (size_t)n);
}

int bench_ws_upgrade_answer(uint8_t **buf, size_t *len, const uint8_t *data, size_t n,
			    const char *key, size_t *consumed, int *status)
{
	uint8_t *nb = realloc(*buf, *len + n);

	*status = 0;
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	memcpy(nb + *len, data, n);
	*len += n;
	return ws_http_client_check(*buf, *len, key, consumed, status);
}
