/*
 * tests/bench/bench_ws.h - the WebSocket client plumbing of the client-api
 * load generators (bench_sessions.c, bench_cti.c).
 *
 * Both open many sessions from one libuv loop and speak to ucsd the way a
 * desktop client does: the HTTP upgrade on /ws, masked client frames, JSON-RPC
 * requests with increasing ids. The framing and the upgrade are wsrpc's own
 * client side (ws_frame.h, ws_http.h); this file holds what the generators
 * build on top of it. A session's bytes go out through its own send function
 * (straight to the socket, or through TLS in bench_sessions), so the helpers
 * take that function and the session it belongs to.
 */
#ifndef BENCH_WS_H
#define BENCH_WS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_mono_ns(void);

/* Writes a copy of len bytes to the stream (freed once written): 0, -ENOMEM
 * or a libuv error. A failed write shows later as a read error or EOF. */
int bench_write(uv_stream_t *s, const void *data, size_t len);

/* Mixes seed into the generator of the frame masks (a fixed sequence
 * without it). */
void bench_ws_seed(uint64_t seed);

/* How a session sends bytes to the server: 0 or a negative error. */
typedef int (*bench_send_fn)(void *session, const uint8_t *data, size_t len);

/* Sends one client frame (FIN, masked) with the payload. */
int bench_ws_send(bench_send_fn send, void *session, int opcode, const void *payload, size_t len);

/* Sends the JSON-RPC request {jsonrpc, id: ++*next_id, method, params}; takes
 * the reference to params (NULL gives -ENOMEM). */
int bench_rpc_send(bench_send_fn send, void *session, int64_t *next_id, const char *method,
		   json_t *params);

/* Sends the upgrade request for /ws on host:port; key gets the request's
 * Sec-WebSocket-Key for bench_ws_upgrade_answer(). */
int bench_ws_upgrade(bench_send_fn send, void *session, const char *host, int port, char key[32]);

/* Collects the server's answer to the upgrade in *buf (*len bytes so far; the
 * caller frees it) and checks it: 0 for the 101 with the right accept
 * (*consumed: its length; frames that came with it follow in *buf), -EAGAIN
 * while it is incomplete, -ENOMEM, or -EPROTO for a refusal (*status: the HTTP
 * status, 0 when none was read). */
int bench_ws_upgrade_answer(uint8_t **buf, size_t *len, const uint8_t *data, size_t n,
			    const char *key, size_t *consumed, int *status);

#endif
