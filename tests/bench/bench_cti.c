/*
 * tests/bench/bench_cti.c - the client side of the CTI benchmark (issue 6,
 * tests/bench/run-cti.sh): many client-api sessions that watch lines, from
 * one libuv loop, on loopback, plain WebSocket.
 *
 * Each session does what a desktop client does when it starts - TCP
 * connect, the HTTP upgrade on /ws, JSON-RPC auth.login {login, password},
 * lines.subscribe (every line of hers) - and then only receives: it counts
 * the call.event and line.event notifications the server fans out to it.
 * Session i logs in as PREFIX + i with `digits` digits. At most `window`
 * sessions are in a phase's operation at once. The WebSocket client side is
 * bench_ws.h's, shared with bench_sessions.c.
 *
 * Once every session is subscribed it prints "ready" on stdout (the script
 * then starts the PBX's load). The measurement window is opened by SIGUSR1
 * and closed by SIGUSR2 (the script sends them when it reads pbxsim's
 * counters, so both sides count over the same interval); SIGTERM or SIGINT
 * ends the run. Then it prints "bench NAME VALUE UNIT" lines: the
 * call.event notifications per second received in the window, the worst
 * and the best second in it, and "# " details. Messages are not parsed as
 * JSON once the sessions are ready: a notification is recognised by its
 * method member, so the generator's own cost stays small beside ucsd's.
 *
 * Exit status: 0 when every session got ready and none was lost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "bench_ws.h"
#include "ws_frame.h"

#define READ_BUF   (256 * 1024)
#define MAX_SECOND 3600

enum cstate { C_NEW = 0, C_HTTP, C_OPEN, C_LOGIN, C_AUTHED, C_SUB, C_READY, C_DEAD };

struct opts {
	const char *host;
	int port;
	int n;
	int window;
	const char *prefix;
	int digits;
	const char *password;
	double timeout_s;
};

struct conn {
	uv_tcp_t tcp;
	struct bench *b;
	int idx;
	enum cstate state;
	struct ws_reader rd;
	char key[32];
	uint8_t *hbuf;
	size_t hlen;
	int64_t next_id;
};

struct bench {
	struct opts o;
	uv_loop_t *loop;
	struct conn *conns;
	int next, inflight, ready, failed;
	int in_setup; /* before "ready" */
	uv_timer_t deadline, second;
	uv_signal_t sig_start, sig_stop, sig_term, sig_int;
	uint64_t t_setup0;
	/* counts */
	uint64_t call_events, line_events, other_notes, closes;
	uint64_t win_call_events0, win_line_events0, win_t0, win_t1;
	uint64_t win_call_events, win_line_events;
	int window_state; /* 0 before, 1 open, 2 closed */
	uint64_t per_second[MAX_SECOND];
	int seconds, win_first_second, win_last_second;
	char first_err[300];
};

static uint8_t read_buf[READ_BUF];

static void pump(struct bench *b);
static void finish(struct bench *b);

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

static void fail(struct conn *c, const char *msg)
{
	struct bench *b = c->b;

	if (c->state == C_DEAD)
		return;
	if (!b->first_err[0])
		snprintf(b->first_err, sizeof(b->first_err), "session %d: %s", c->idx, msg);
	if (c->state != C_READY && b->inflight > 0 && b->in_setup)
		b->inflight--;
	c->state = C_DEAD;
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_closed);
	b->failed++;
	pump(b);
}

static int raw_send(void *session, const uint8_t *data, size_t len)
{
	struct conn *c = session;

	return bench_write((uv_stream_t *)&c->tcp, data, len);
}

/* ---- the setup of one session ---- */

static void step_done(struct conn *c, enum cstate next)
{
	struct bench *b = c->b;
	char login[64];
	int err = 0;

	c->state = next;
	if (next == C_OPEN) {
		snprintf(login, sizeof(login), "%s%0*d", b->o.prefix, b->o.digits, c->idx);
		c->state = C_LOGIN;
		err = bench_rpc_send(
			raw_send, c, &c->next_id, "auth.login",
			json_pack("{s:s, s:s}", "login", login, "password", b->o.password));
	} else if (next == C_AUTHED) {
		c->state = C_SUB;
		err = bench_rpc_send(raw_send, c, &c->next_id, "lines.subscribe", json_object());
	} else if (next == C_READY) {
		b->inflight--;
		b->ready++;
		pump(b);
	}
	if (err)
		fail(c, "send failed");
}

static void on_reply(struct conn *c, const uint8_t *data, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb((const char *)data, len, 0, &jerr);
	json_t *e = msg ? json_object_get(msg, "error") : NULL;
	char why[256];

	if (!msg) {
		fail(c, "invalid JSON from the server");
		return;
	}
	if (e) {
		snprintf(why, sizeof(why), "%s: %s",
			 c->state == C_LOGIN ? "auth.login" : "subscribe",
			 json_string_value(json_object_get(e, "message"))
				 ? json_string_value(json_object_get(e, "message"))
				 : "?");
		fail(c, why);
	} else if (c->state == C_LOGIN) {
		step_done(c, C_AUTHED);
	} else if (c->state == C_SUB) {
		json_t *lines = json_object_get(json_object_get(msg, "result"), "lines");

		if (!json_array_size(lines))
			fail(c, "lines.subscribe: the user has no lines");
		else
			step_done(c, C_READY);
	}
	json_decref(msg);
}

static void count_event(struct bench *b, int call)
{
	int s = b->seconds < MAX_SECOND ? b->seconds : MAX_SECOND - 1;

	if (call) {
		b->call_events++;
		b->per_second[s]++;
	} else {
		b->line_events++;
	}
}

static int on_ws_message(int opcode, const uint8_t *data, size_t len, void *arg)
{
	struct conn *c = arg;
	struct bench *b = c->b;
	const char *head = (const char *)data;
	size_t hl = len < 64 ? len : 64;

	switch (opcode) {
	case WS_OP_PING:
		bench_ws_send(raw_send, c, WS_OP_PONG, data, len);
		return 0;
	case WS_OP_PONG:
		return 0;
	case WS_OP_CLOSE:
		b->closes++;
		fail(c, "closed by the server");
		return 1;
	case WS_OP_TEXT:
		break;
	default:
		fail(c, "unexpected opcode");
		return 1;
	}
	/* a notification names its method near the start ({"jsonrpc":"2.0",
	 * "method":...); an answer has "id" and "result" or "error" there */
	if (memmem(head, hl, "\"method\":\"call.event\"", 21))
		count_event(b, 1);
	else if (memmem(head, hl, "\"method\":\"line.event\"", 21))
		count_event(b, 0);
	else if (memmem(head, hl, "\"method\"", 8))
		b->other_notes++;
	else if (c->state == C_LOGIN || c->state == C_SUB)
		on_reply(c, data, len);
	return c->state == C_DEAD;
}

static void on_data(struct conn *c, const uint8_t *data, size_t len)
{
	int r = 0;

	if (c->state == C_HTTP) {
		size_t consumed = 0;
		int status;

		r = bench_ws_upgrade_answer(&c->hbuf, &c->hlen, data, len, c->key, &consumed,
					    &status);
		if (r == -EAGAIN)
			return;
		if (r) {
			fail(c, r == -ENOMEM ? "out of memory" : "upgrade refused");
			return;
		}
		ws_reader_init(&c->rd, WS_CLIENT, 16u << 20, 64u << 20);
		step_done(c, C_OPEN);
		r = c->hlen > consumed && c->state != C_DEAD
			    ? ws_reader_feed(&c->rd, c->hbuf + consumed, c->hlen - consumed,
					     on_ws_message, c)
			    : 0;
		free(c->hbuf);
		c->hbuf = NULL;
		c->hlen = 0;
	} else if (c->state != C_DEAD) {
		r = ws_reader_feed(&c->rd, data, len, on_ws_message, c);
	}
	if (r >= 1000 && c->state != C_DEAD)
		fail(c, "protocol violation by the server");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h, (void)suggested;
	*buf = uv_buf_init((char *)read_buf, sizeof(read_buf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread < 0) {
		fail(c, nread == UV_EOF ? "the server closed the connection"
					: uv_strerror((int)nread));
		return;
	}
	if (nread > 0 && c->state != C_DEAD)
		on_data(c, (const uint8_t *)buf->base, (size_t)nread);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	free(req);
	if (status) {
		fail(c, uv_strerror(status));
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	c->state = C_HTTP;
	if (bench_ws_upgrade(raw_send, c, c->b->o.host, c->b->o.port, c->key))
		fail(c, "sending the upgrade request failed");
}

static void start_conn(struct bench *b, struct conn *c)
{
	struct sockaddr_in dst;
	uv_connect_t *req = malloc(sizeof(*req));

	c->b = b;
	c->tcp.data = c;
	uv_tcp_init(b->loop, &c->tcp);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_ip4_addr(b->o.host, b->o.port, &dst);
	if (!req) {
		fail(c, "out of memory");
		return;
	}
	req->data = c;
	if (uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&dst, on_connect)) {
		free(req);
		fail(c, "connect failed");
	}
}

/* Starts sessions while the window has room; prints "ready" when all are. */
static void pump(struct bench *b)
{
	while (b->in_setup && b->next < b->o.n && b->inflight < b->o.window) {
		struct conn *c = &b->conns[b->next];

		c->idx = b->next++;
		b->inflight++;
		start_conn(b, c);
	}
	if (b->in_setup && b->next == b->o.n && b->inflight == 0) {
		b->in_setup = 0;
		printf("# bench-cti: %d sessions ready, %d failed, setup %.1f s\n", b->ready,
		       b->failed, (double)(bench_mono_ns() - b->t_setup0) / 1e9);
		printf("ready\n");
		fflush(stdout);
		uv_timer_stop(&b->deadline);
	}
}

/* ---- the measurement ---- */

static void on_second(uv_timer_t *t)
{
	struct bench *b = t->data;

	if (b->seconds < MAX_SECOND - 1)
		b->seconds++;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct bench *b = s->data;
	uint64_t now = bench_mono_ns();

	if (signum == SIGUSR1 && b->window_state == 0) {
		b->window_state = 1;
		b->win_t0 = now;
		b->win_call_events0 = b->call_events;
		b->win_line_events0 = b->line_events;
		b->win_first_second = b->seconds + 1; /* the first whole second */
	} else if (signum == SIGUSR2 && b->window_state == 1) {
		b->window_state = 2;
		b->win_t1 = now;
		b->win_call_events = b->call_events - b->win_call_events0;
		b->win_line_events = b->line_events - b->win_line_events0;
		b->win_last_second = b->seconds - 1;
	} else if (signum == SIGTERM || signum == SIGINT) {
		finish(b);
	}
}

static void on_deadline(uv_timer_t *t)
{
	struct bench *b = t->data;

	printf("# bench-cti: setup not done within %.0f s (%d ready, %d failed)\n", b->o.timeout_s,
	       b->ready, b->failed);
	finish(b);
}

static void close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, on_closed);
}

static void finish(struct bench *b)
{
	double secs = b->win_t1 > b->win_t0 ? (double)(b->win_t1 - b->win_t0) / 1e9 : 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int s = b->win_first_second; b->window_state == 2 && s <= b->win_last_second; s++) {
		if (b->per_second[s] < lo)
			lo = b->per_second[s];
		if (b->per_second[s] > hi)
			hi = b->per_second[s];
	}
	if (lo == UINT64_MAX)
		lo = 0;
	printf("# bench-cti: %" PRIu64 " call.event and %" PRIu64 " line.event notifications in "
	       "all, %" PRIu64 " other notifications, %d sessions lost (%" PRIu64
	       " closed by the server)%s%s\n",
	       b->call_events, b->line_events, b->other_notes, b->failed, b->closes,
	       b->first_err[0] ? "; first: " : "", b->first_err);
	if (secs > 0) {
		printf("bench cti_client_call_events_s %.0f events/s\n",
		       (double)b->win_call_events / secs);
		printf("bench cti_client_call_events_s_worst_second %" PRIu64 " events/s\n", lo);
		printf("bench cti_client_call_events_s_best_second %" PRIu64 " events/s\n", hi);
		printf("bench cti_client_line_events_s %.0f events/s\n",
		       (double)b->win_line_events / secs);
		printf("# bench-cti: window %.1f s, %" PRIu64 " call.event\n", secs,
		       b->win_call_events);
	}
	fflush(stdout);
	uv_walk(b->loop, close_all, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-cti --port N --sessions N [--window N] [--prefix u] "
			"[--digits 4] --password P [--host 127.0.0.1] [--timeout S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", 1, NULL, 'h'},	    {"port", 1, NULL, 'p'},    {"sessions", 1, NULL, 'n'},
		{"window", 1, NULL, 'w'},   {"prefix", 1, NULL, 'x'},  {"digits", 1, NULL, 'd'},
		{"password", 1, NULL, 'P'}, {"timeout", 1, NULL, 't'}, {NULL, 0, NULL, 0},
	};
	struct bench b;
	int opt, rc;

	memset(&b, 0, sizeof(b));
	b.o.host = "127.0.0.1";
	b.o.window = 100;
	b.o.prefix = "u";
	b.o.digits = 4;
	b.o.timeout_s = 600;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'h':
			b.o.host = optarg;
			break;
		case 'p':
			b.o.port = atoi(optarg);
			break;
		case 'n':
			b.o.n = atoi(optarg);
			break;
		case 'w':
			b.o.window = atoi(optarg);
			break;
		case 'x':
			b.o.prefix = optarg;
			break;
		case 'd':
			b.o.digits = atoi(optarg);
			break;
		case 'P':
			b.o.password = optarg;
			break;
		case 't':
			b.o.timeout_s = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (b.o.port <= 0 || b.o.n <= 0 || b.o.window <= 0 || !b.o.password)
		usage();
	b.conns = calloc((size_t)b.o.n, sizeof(*b.conns));
	if (!b.conns)
		return 1;
	b.loop = uv_default_loop();
	b.in_setup = 1;
	b.t_setup0 = bench_mono_ns();
	uv_timer_init(b.loop, &b.deadline);
	uv_timer_init(b.loop, &b.second);
	b.deadline.data = b.second.data = &b;
	uv_timer_start(&b.deadline, on_deadline, (uint64_t)(b.o.timeout_s * 1000), 0);
	uv_timer_start(&b.second, on_second, 1000, 1000);
	uv_signal_init(b.loop, &b.sig_start);
	uv_signal_init(b.loop, &b.sig_stop);
	uv_signal_init(b.loop, &b.sig_term);
	uv_signal_init(b.loop, &b.sig_int);
	b.sig_start.data = b.sig_stop.data = b.sig_term.data = b.sig_int.data = &b;
	uv_signal_start(&b.sig_start, on_signal, SIGUSR1);
	uv_signal_start(&b.sig_stop, on_signal, SIGUSR2);
	uv_signal_start(&b.sig_term, on_signal, SIGTERM);
	uv_signal_start(&b.sig_int, on_signal, SIGINT);
	pump(&b);
	uv_run(b.loop, UV_RUN_DEFAULT);
	rc = b.ready == b.o.n && b.failed == 0 ? 0 : 1;
	for (int i = 0; i < b.o.n; i++) {
		ws_reader_free(&b.conns[i].rd);
		free(b.conns[i].hbuf);
	}
	uv_loop_close(b.loop);
	free(b.conns);
	return rc;
}
