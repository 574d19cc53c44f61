/*
 * tests/bench/bench_sessions.c - the load generator of the client-protocol
 * benchmark (issue 5): many authenticated client-api sessions from one
 * libuv loop, on loopback, plain or TLS.
 *
 * What a session does is what a desktop client does when it starts: TCP
 * connect (optionally TLS, mbedtls 2.28, the test certificate not
 * verified), the HTTP upgrade to a WebSocket on /ws, JSON-RPC auth.login
 * {login, password}, presence.subscribe of a few other users, then nothing:
 * it stays idle, answering pings. Session i logs in as user i and watches
 * users i+1 .. i+watch (round the ring), so every user has `watch`
 * watchers. The framing and the upgrade are wsrpc's own client side
 * (ws_frame.h, ws_http.h), the code ucsctl uses too, through bench_ws.h
 * (shared with bench_cti.c).
 *
 * The run goes in phases, each over all N sessions with at most `window`
 * of them in flight: connect (+ TLS + upgrade), login, subscribe. Between
 * phases it reads ucsd's VmRSS (/proc/PID/status), so the memory a session
 * costs is split into the transport (an open WebSocket), the login and the
 * watches; after the last phase the sessions stay idle for a while and the
 * RSS is read again. Then the event phase: it asks the evsource plugin
 * (tests/bench/evsource.c, through its control file) for presence changes
 * at a fixed rate; each change's note carries the CLOCK_MONOTONIC time of
 * its publication, so a presence.event's latency is the receipt time minus
 * that (same host, same clock). The figures are printed as
 * "bench NAME VALUE UNIT" lines, details as "# " lines.
 *
 * Exit status: 0 when every session got through every phase and the event
 * run finished, 1 otherwise (the figures are printed either way).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <uv.h>

#include "bench_ws.h"
#include "ws_frame.h"

#define READ_BUF    65536
#define MAX_SOURCES 64

enum phase { PH_CONNECT = 0, PH_LOGIN, PH_SUBSCRIBE, PH_IDLE, PH_EVENTS, PH_DONE };
static const char *const phase_names[] = {"connect", "login",  "subscribe",
					  "idle",    "events", "done"};

enum cstate {
	C_NEW = 0,
	C_CONNECTING,
	C_TLS,	 /* TLS handshake */
	C_HTTP,	 /* upgrade request sent, waiting for 101 */
	C_OPEN,	 /* WebSocket open */
	C_LOGIN, /* auth.login sent */
	C_AUTHED,
	C_SUB, /* presence.subscribe sent */
	C_READY,
	C_DEAD,
};

struct opts {
	const char *host;
	int port;
	int tls;
	int n;
	int window;
	const char *prefix;
	int digits;
	int first;
	const char *password;
	int watch;
	char *sources[MAX_SOURCES];
	int n_sources;
	int pid;
	double idle_s;
	double rate;
	double events_s;
	const char *control;
	const char *result;
	const char *name;
	double phase_timeout_s;
};

struct conn {
	uv_tcp_t tcp;
	struct bench *b;
	int idx;
	enum cstate state;
	int closing;
	struct ws_reader rd;
	char key[32];
	uint8_t *hbuf; /* the HTTP answer so far */
	size_t hlen;
	mbedtls_ssl_context *ssl;
	uint8_t *tin; /* TLS records received, not yet taken by mbedtls */
	size_t tin_len, tin_off, tin_cap;
	uint64_t t_op; /* when the current phase's operation started */
	int64_t next_id;
};

struct samples {
	uint64_t *v;
	size_t n, cap;
};

struct bench {
	struct opts o;
	uv_loop_t *loop;
	struct conn *conns;
	enum phase phase;
	int next, inflight, done, failed;
	uint64_t phase_t0, phase_t1;
	uv_timer_t timer; /* phase deadline, idle, event run */
	uv_timer_t poll;  /* result file */
	int poll_tries;
	/* TLS */
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	/* figures */
	long rss_start, rss_conn, rss_login, rss_sub, rss_idle;
	/* CPU seconds (ucsd: every thread; the generator) of each phase, so
	 * the cost of an operation shows even when other processes share the
	 * cores: at phase start, then the phase's share */
	double cpu0, gcpu0, phase_cpu[PH_DONE + 1], phase_gcpu[PH_DONE + 1];
	double phase_secs[PH_DONE];
	int phase_ok[PH_DONE];
	struct samples op_lat[PH_DONE]; /* per-operation latency of each phase */
	struct samples ev_lat;
	uint64_t ev_total, ev_stray, ev_unmarked, notes_other, closes;
	uint64_t ev_t0, ev_t1;
	char first_err[PH_DONE][300];
	int errors_shown;
	int exit_code;
	/* evsource's result */
	double pub_published, pub_errors, pub_rate, pub_elapsed_ms, pub_gap_p99, pub_gap_max,
		pub_set_mean, pub_set_max;
	int have_result;
};

static uint8_t read_buf[READ_BUF];

static void sample_add(struct samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile in ms (the samples must be sorted). */
static double quantile_ms(const struct samples *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)ceil(q * (double)s->n);
	i = i ? i - 1 : 0;
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i] / 1e6;
}

static long read_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* utime + stime of a process (0: this one), in seconds. */
static double read_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after "(comm)": state is field 3, utime 14, stime 15 */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void cpu_mark(struct bench *b)
{
	b->cpu0 = read_cpu_s(b->o.pid);
	b->gcpu0 = read_cpu_s(0);
}

static void cpu_take(struct bench *b, int slot)
{
	b->phase_cpu[slot] = read_cpu_s(b->o.pid) - b->cpu0;
	b->phase_gcpu[slot] = read_cpu_s(0) - b->gcpu0;
}

static void user_id(const struct bench *b, int i, char *out, size_t cap)
{
	snprintf(out, cap, "%s%0*d", b->o.prefix, b->o.digits, b->o.first + i % b->o.n);
}

/* ---- failures ---- */

static void conn_close(struct conn *c);
static void pump(struct bench *b);

static void fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct conn *c, const char *fmt, ...)
{
	struct bench *b = c->b;
	char msg[256];
	va_list ap;
	int in_op = c->state != C_OPEN && c->state != C_AUTHED && c->state != C_READY;

	if (c->state == C_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!b->first_err[b->phase][0])
		snprintf(b->first_err[b->phase], sizeof(b->first_err[0]), "session %d: %s", c->idx,
			 msg);
	if (b->errors_shown < 10) {
		b->errors_shown++;
		printf("# %s: session %d (%s): %s\n", b->o.name, c->idx, phase_names[b->phase],
		       msg);
	}
	c->state = C_DEAD;
	conn_close(c);
	b->failed++;
	/* A session that fails while it has an operation of this phase in
	 * flight frees its slot; one that was waiting for its turn (or idle)
	 * just drops out of the phases to come. */
	if (in_op && b->phase <= PH_SUBSCRIBE && b->inflight > 0)
		b->inflight--;
	pump(b);
}

/* ---- output ---- */

static int raw_send(struct conn *c, const void *data, size_t len)
{
	if (c->closing)
		return -ENOTCONN;
	return bench_write((uv_stream_t *)&c->tcp, data, len);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct conn *c = ctx;

	return raw_send(c, buf, len) ? MBEDTLS_ERR_NET_SEND_FAILED : (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	size_t have = c->tin_len - c->tin_off;

	if (!have)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > have)
		len = have;
	memcpy(buf, c->tin + c->tin_off, len);
	c->tin_off += len;
	if (c->tin_off == c->tin_len)
		c->tin_off = c->tin_len = 0;
	return (int)len;
}

/* Plain bytes to the server: through TLS or straight to the socket. */
static int app_send(void *session, const uint8_t *data, size_t len)
{
	struct conn *c = session;
	size_t off = 0;

	if (!c->ssl)
		return raw_send(c, data, len);
	while (off < len) {
		int r = mbedtls_ssl_write(c->ssl, data + off, len - off);

		if (r < 0)
			return -EIO;
		off += (size_t)r;
	}
	return 0;
}

/* ---- phase operations ---- */

static void op_done(struct conn *c, enum cstate next)
{
	struct bench *b = c->b;

	c->state = next;
	sample_add(&b->op_lat[b->phase], bench_mono_ns() - c->t_op);
	b->done++;
	b->inflight--;
	pump(b);
}

static void send_login(struct conn *c)
{
	char login[64];
	int err;

	user_id(c->b, c->idx, login, sizeof(login));
	c->state = C_LOGIN;
	c->t_op = bench_mono_ns();
	err = bench_rpc_send(app_send, c, &c->next_id, "auth.login",
			     json_pack("{s:s, s:s}", "login", login, "password", c->b->o.password));
	if (err)
		fail(c, "sending auth.login: %s", strerror(-err));
}

static void send_subscribe(struct conn *c)
{
	struct bench *b = c->b;
	json_t *users = json_array();
	char id[64];
	int err;

	for (int k = 1; k <= b->o.watch; k++) {
		user_id(b, c->idx + k, id, sizeof(id));
		json_array_append_new(users, json_string(id));
	}
	c->state = C_SUB;
	c->t_op = bench_mono_ns();
	err = bench_rpc_send(app_send, c, &c->next_id, "presence.subscribe",
			     json_pack("{s:o}", "users", users));
	if (err)
		fail(c, "sending presence.subscribe: %s", strerror(-err));
}

/* ---- incoming messages ---- */

/* The first string member "note" anywhere below v that starts with "bench:". */
static const char *find_note(json_t *v, int depth)
{
	const char *k, *s;
	json_t *m;
	size_t i;

	if (depth > 8)
		return NULL;
	if (json_is_object(v)) {
		m = json_object_get(v, "note");
		if (json_is_string(m) && strncmp(json_string_value(m), "bench:", 6) == 0)
			return json_string_value(m);
		json_object_foreach(v, k, m)
		{
			if ((s = find_note(m, depth + 1)))
				return s;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			if ((s = find_note(m, depth + 1)))
				return s;
		}
	}
	return NULL;
}

static void on_event(struct conn *c, json_t *params, uint64_t now)
{
	struct bench *b = c->b;
	const char *note = find_note(params, 0);
	uint64_t t;

	if (!note) {
		b->ev_unmarked++; /* a login or subscription of someone else */
		return;
	}
	t = strtoull(note + 6, NULL, 10);
	if (b->phase != PH_EVENTS || t < b->ev_t0 || t > now) {
		b->ev_stray++;
		return;
	}
	b->ev_total++;
	sample_add(&b->ev_lat, now - t);
}

static void on_reply(struct conn *c, json_t *msg)
{
	json_t *err = json_object_get(msg, "error");

	if (err) {
		json_t *data = json_object_get(err, "data");

		fail(c, "%s error %" JSON_INTEGER_FORMAT " (%s): %s",
		     c->state == C_LOGIN ? "auth.login"
		     : c->state == C_SUB ? "presence.subscribe"
					 : "request",
		     json_integer_value(json_object_get(err, "code")),
		     json_string_value(json_object_get(data, "reason"))
			     ? json_string_value(json_object_get(data, "reason"))
			     : "-",
		     json_string_value(json_object_get(err, "message"))
			     ? json_string_value(json_object_get(err, "message"))
			     : "-");
		return;
	}
	if (c->state == C_LOGIN)
		op_done(c, C_AUTHED);
	else if (c->state == C_SUB)
		op_done(c, C_READY);
}

static int on_ws_message(int opcode, const uint8_t *data, size_t len, void *arg)
{
	struct conn *c = arg;
	uint64_t now = bench_mono_ns();
	json_error_t jerr;
	json_t *msg;
	const char *method;

	switch (opcode) {
	case WS_OP_PING:
		bench_ws_send(app_send, c, WS_OP_PONG, data, len);
		return 0;
	case WS_OP_PONG:
		return 0;
	case WS_OP_CLOSE: {
		int code = 0;
		const char *reason = "";
		size_t rlen = 0;

		ws_close_parse(data, len, &code, &reason, &rlen);
		c->b->closes++;
		fail(c, "closed by the server: %d %.*s", code, (int)rlen, reason);
		return 1;
	}
	case WS_OP_TEXT:
		break;
	default:
		fail(c, "unexpected opcode %d", opcode);
		return 1;
	}
	msg = json_loadb((const char *)data, len, 0, &jerr);
	if (!msg) {
		fail(c, "invalid JSON from the server: %s", jerr.text);
		return 1;
	}
	method = json_string_value(json_object_get(msg, "method"));
	if (method && strcmp(method, "presence.event") == 0)
		on_event(c, json_object_get(msg, "params"), now);
	else if (method)
		c->b->notes_other++;
	else if (json_object_get(msg, "id"))
		on_reply(c, msg);
	json_decref(msg);
	return c->state == C_DEAD;
}

/* Plain bytes from the server. */
static void on_app_data(struct conn *c, const uint8_t *data, size_t len)
{
	int r;

	if (c->state == C_HTTP) {
		size_t consumed = 0;
		int status;

		r = bench_ws_upgrade_answer(&c->hbuf, &c->hlen, data, len, c->key, &consumed,
					    &status);
		if (r == -EAGAIN)
			return;
		if (r == -ENOMEM) {
			fail(c, "out of memory");
			return;
		}
		if (r) {
			fail(c, "upgrade refused: HTTP %d", status);
			return;
		}
		ws_reader_init(&c->rd, WS_CLIENT, 1u << 20, 4u << 20);
		data = c->hbuf + consumed;
		len = c->hlen - consumed;
		op_done(c, C_OPEN);
		/* frames that came with the answer */
		r = len ? ws_reader_feed(&c->rd, data, len, on_ws_message, c) : 0;
		free(c->hbuf);
		c->hbuf = NULL;
		c->hlen = 0;
	} else if (c->state != C_DEAD) {
		r = ws_reader_feed(&c->rd, data, len, on_ws_message, c);
	} else {
		return;
	}
	if (r >= 1000 && c->state != C_DEAD)
		fail(c, "protocol violation by the server: close code %d", r);
}

static void send_upgrade(struct conn *c)
{
	c->state = C_HTTP;
	if (bench_ws_upgrade(app_send, c, c->b->o.host, c->b->o.port, c->key))
		fail(c, "sending the upgrade request failed");
}

static void tls_step(struct conn *c)
{
	static uint8_t plain[READ_BUF];
	char why[128];
	int r;

	if (c->state == C_TLS) {
		r = mbedtls_ssl_handshake(c->ssl);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (r) {
			mbedtls_strerror(r, why, sizeof(why));
			fail(c, "TLS handshake: %s", why);
			return;
		}
		send_upgrade(c);
	}
	while (c->state != C_DEAD) {
		r = mbedtls_ssl_read(c->ssl, plain, sizeof(plain));
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (r <= 0) {
			if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
				fail(c, "TLS: the server closed the connection");
			} else {
				mbedtls_strerror(r, why, sizeof(why));
				fail(c, "TLS read: %s", why);
			}
			return;
		}
		on_app_data(c, plain, (size_t)r);
	}
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
		fail(c, "%s",
		     nread == UV_EOF ? "the server closed the connection"
				     : uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || c->state == C_DEAD)
		return;
	if (!c->ssl) {
		on_app_data(c, (const uint8_t *)buf->base, (size_t)nread);
		return;
	}
	if (c->tin_len + (size_t)nread > c->tin_cap) {
		size_t cap = c->tin_len + (size_t)nread;
		uint8_t *nb = realloc(c->tin, cap);

		if (!nb) {
			fail(c, "out of memory");
			return;
		}
		c->tin = nb;
		c->tin_cap = cap;
	}
	memcpy(c->tin + c->tin_len, buf->base, (size_t)nread);
	c->tin_len += (size_t)nread;
	tls_step(c);
	/* Between reads nothing stays in tin: mbedtls took it all or waits
	 * for more of a record. Give the buffer back when it is empty, so
	 * 20,000 idle sessions hold none. */
	if (c->tin_len == 0 && c->tin) {
		free(c->tin);
		c->tin = NULL;
		c->tin_cap = 0;
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	free(req);
	if (c->state == C_DEAD)
		return;
	if (status) {
		fail(c, "connect: %s", uv_strerror(status));
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (!c->b->o.tls) {
		send_upgrade(c);
		return;
	}
	c->ssl = calloc(1, sizeof(*c->ssl));
	if (!c->ssl) {
		fail(c, "out of memory");
		return;
	}
	mbedtls_ssl_init(c->ssl);
	if (mbedtls_ssl_setup(c->ssl, &c->b->conf)) {
		fail(c, "mbedtls_ssl_setup failed");
		return;
	}
	mbedtls_ssl_set_bio(c->ssl, c, bio_send, bio_recv, NULL);
	c->state = C_TLS;
	tls_step(c);
}

static void start_connect(struct conn *c)
{
	struct bench *b = c->b;
	struct sockaddr_in dst, src;
	uv_connect_t *req;
	int err;

	c->t_op = bench_mono_ns();
	c->state = C_CONNECTING;
	uv_tcp_init(b->loop, &c->tcp);
	c->tcp.data = c;
	uv_ip4_addr(b->o.host, b->o.port, &dst);
	if (b->o.n_sources) {
		/* The source address only: the port is picked at connect()
		 * for the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT), so the
		 * TIME_WAIT sockets of an earlier run to another port do not
		 * make every bind() search the port range. */
		const char *a = b->o.sources[c->idx % b->o.n_sources];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

		uv_ip4_addr(a, 0, &src);
		err = fd < 0 ? -errno : 0;
		if (!err &&
		    (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
		     bind(fd, (const struct sockaddr *)&src, sizeof(src))))
			err = -errno;
		if (!err)
			err = uv_tcp_open(&c->tcp, fd);
		if (err) {
			if (fd >= 0)
				close(fd);
			fail(c, "bind %s: %s", a, strerror(-err));
			return;
		}
	}
	req = malloc(sizeof(*req));
	if (!req) {
		fail(c, "out of memory");
		return;
	}
	req->data = c;
	err = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&dst, on_connect);
	if (err) {
		free(req);
		fail(c, "connect: %s", uv_strerror(err));
	}
}

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (c->ssl) {
		mbedtls_ssl_free(c->ssl);
		free(c->ssl);
		c->ssl = NULL;
	}
	free(c->tin);
	c->tin = NULL;
	free(c->hbuf);
	c->hbuf = NULL;
	ws_reader_free(&c->rd);
}

static void conn_close(struct conn *c)
{
	if (c->closing || c->state == C_NEW)
		return;
	c->closing = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* ---- phases ---- */

static void next_phase(struct bench *b);

static void on_phase_timeout(uv_timer_t *t)
{
	struct bench *b = t->data;

	printf("# %s: phase %s timed out with %d of %d sessions done, %d in flight\n", b->o.name,
	       phase_names[b->phase], b->done, b->o.n - b->failed, b->inflight);
	b->exit_code = 1;
	/* the stragglers count as failed */
	for (int i = 0; i < b->o.n; i++) {
		struct conn *c = &b->conns[i];

		if (c->state != C_DEAD && c->state != C_OPEN && c->state != C_AUTHED &&
		    c->state != C_READY) {
			c->state = C_DEAD;
			conn_close(c);
			b->failed++;
		}
	}
	b->inflight = 0;
	next_phase(b);
}

/* Starts the phase's operation on the next sessions while the window has
 * room; moves on once every session is done or failed. */
static void pump(struct bench *b)
{
	if (b->phase > PH_SUBSCRIBE)
		return;
	while (b->inflight < b->o.window && b->next < b->o.n) {
		struct conn *c = &b->conns[b->next++];

		if (b->phase != PH_CONNECT && c->state == C_DEAD)
			continue;
		b->inflight++;
		switch (b->phase) {
		case PH_CONNECT:
			start_connect(c);
			break;
		case PH_LOGIN:
			send_login(c);
			break;
		default:
			send_subscribe(c);
			break;
		}
		if (b->phase > PH_SUBSCRIBE)
			return; /* a failure above finished the phase */
	}
	if (b->inflight == 0 && b->next >= b->o.n)
		next_phase(b);
}

static void report_phase(struct bench *b)
{
	struct samples *s = &b->op_lat[b->phase];
	double secs = (b->phase_t1 - b->phase_t0) / 1e9;

	b->phase_secs[b->phase] = secs;
	b->phase_ok[b->phase] = b->done;
	cpu_take(b, b->phase);
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	printf("# %s: %s: %d ok, %d failed so far, %.3f s (%.1f/s), per operation p50 %.2f "
	       "ms p99 %.2f ms max %.2f ms; CPU ucsd %.2f s (%.0f us each), generator %.2f s\n",
	       b->o.name, phase_names[b->phase], b->done, b->failed, secs,
	       secs > 0 ? b->done / secs : 0.0, quantile_ms(s, 0.5), quantile_ms(s, 0.99),
	       quantile_ms(s, 1.0), b->phase_cpu[b->phase],
	       b->done ? b->phase_cpu[b->phase] * 1e6 / b->done : 0.0, b->phase_gcpu[b->phase]);
	fflush(stdout);
}

static void on_result_poll(uv_timer_t *t);
static void on_events_end(uv_timer_t *t);
static void on_idle_end(uv_timer_t *t);

static void next_phase(struct bench *b)
{
	b->phase_t1 = bench_mono_ns();
	uv_timer_stop(&b->timer);
	switch (b->phase) {
	case PH_CONNECT:
		report_phase(b);
		b->rss_conn = read_rss_kb(b->o.pid);
		break;
	case PH_LOGIN:
		report_phase(b);
		b->rss_login = read_rss_kb(b->o.pid);
		break;
	case PH_SUBSCRIBE:
		report_phase(b);
		b->rss_sub = read_rss_kb(b->o.pid);
		break;
	default:
		break;
	}
	b->phase++;
	b->next = b->inflight = b->done = 0;
	b->phase_t0 = bench_mono_ns();
	cpu_mark(b);
	if (b->phase <= PH_SUBSCRIBE) {
		if (b->o.watch == 0 && b->phase == PH_SUBSCRIBE) {
			next_phase(b);
			return;
		}
		uv_timer_start(&b->timer, on_phase_timeout, (uint64_t)(b->o.phase_timeout_s * 1000),
			       0);
		pump(b);
	} else if (b->phase == PH_IDLE) {
		printf("# %s: idle for %.1f s\n", b->o.name, b->o.idle_s);
		fflush(stdout);
		uv_timer_start(&b->timer, on_idle_end, (uint64_t)(b->o.idle_s * 1000), 0);
	}
}

static void on_idle_end(uv_timer_t *t)
{
	struct bench *b = t->data;
	FILE *f;
	char tmp[600];

	b->rss_idle = read_rss_kb(b->o.pid);
	b->phase = PH_EVENTS;
	if (b->o.rate <= 0 || b->o.events_s <= 0 || !b->o.control || b->o.watch == 0) {
		b->phase = PH_DONE;
		uv_stop(b->loop);
		return;
	}
	if (b->o.result)
		unlink(b->o.result);
	snprintf(tmp, sizeof(tmp), "%s.tmp", b->o.control);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%.1f %.0f %d\n", b->o.rate, b->o.events_s * 1000, b->o.n) < 0 ||
	    fclose(f) || rename(tmp, b->o.control)) {
		printf("# %s: cannot write %s: %s\n", b->o.name, b->o.control, strerror(errno));
		b->exit_code = 1;
		b->phase = PH_DONE;
		uv_stop(b->loop);
		return;
	}
	b->ev_t0 = bench_mono_ns();
	cpu_mark(b);
	printf("# %s: events: %.0f changes/s for %.1f s, %d watchers per user\n", b->o.name,
	       b->o.rate, b->o.events_s, b->o.watch);
	fflush(stdout);
	/* the run itself, plus the poll delay of the plugin and a tail for the
	 * last deliveries */
	uv_timer_start(&b->timer, on_events_end, (uint64_t)(b->o.events_s * 1000) + 2000, 0);
}

static void read_result(struct bench *b)
{
	char key[64];
	double v;
	FILE *f = fopen(b->o.result, "r");

	if (!f)
		return;
	while (fscanf(f, "%63s %lf", key, &v) == 2) {
		if (!strcmp(key, "published"))
			b->pub_published = v;
		else if (!strcmp(key, "errors"))
			b->pub_errors = v;
		else if (!strcmp(key, "rate"))
			b->pub_rate = v;
		else if (!strcmp(key, "elapsed_ms"))
			b->pub_elapsed_ms = v;
		else if (!strcmp(key, "tick_gap_p99_ms"))
			b->pub_gap_p99 = v;
		else if (!strcmp(key, "tick_gap_max_ms"))
			b->pub_gap_max = v;
		else if (!strcmp(key, "set_mean_us"))
			b->pub_set_mean = v;
		else if (!strcmp(key, "set_max_us"))
			b->pub_set_max = v;
	}
	fclose(f);
	b->have_result = 1;
}

static void on_events_end(uv_timer_t *t)
{
	struct bench *b = t->data;

	b->ev_t1 = bench_mono_ns();
	cpu_take(b, PH_EVENTS);
	b->poll_tries = 0;
	uv_timer_start(&b->poll, on_result_poll, 0, 100);
}

static void on_result_poll(uv_timer_t *t)
{
	struct bench *b = t->data;

	if (b->o.result && access(b->o.result, R_OK) == 0) {
		read_result(b);
	} else if (++b->poll_tries < 100) {
		return;
	} else {
		printf("# %s: no result from evsource in %s\n", b->o.name,
		       b->o.result ? b->o.result : "(none)");
		b->exit_code = 1;
	}
	uv_timer_stop(&b->poll);
	b->phase = PH_DONE;
	uv_stop(b->loop);
}

/* ---- the report ---- */

static void per_session(const struct bench *b, const char *what, long rss, int sessions)
{
	if (rss < 0 || b->rss_start < 0 || sessions <= 0)
		return;
	printf("bench api_%s_rss_per_session_%s_kb %.2f KB\n", b->o.name, what,
	       (double)(rss - b->rss_start) / sessions);
}

static void report(struct bench *b)
{
	const char *nm = b->o.name;
	int sessions =
		b->phase_ok[PH_SUBSCRIBE] ? b->phase_ok[PH_SUBSCRIBE] : b->phase_ok[PH_LOGIN];

	printf("# %s: ucsd VmRSS (KB): start %ld, connected %ld, logged in %ld, subscribed %ld, "
	       "idle %ld; generator VmRSS %ld KB\n",
	       nm, b->rss_start, b->rss_conn, b->rss_login, b->rss_sub, b->rss_idle,
	       read_rss_kb(0));
	printf("bench api_%s_sessions %d sessions\n", nm, sessions);
	if (b->phase_secs[PH_CONNECT] > 0) {
		printf("bench api_%s_connect_rate %.1f /s\n", nm,
		       b->phase_ok[PH_CONNECT] / b->phase_secs[PH_CONNECT]);
		printf("bench api_%s_connect_ucsd_cpu_us %.0f us\n", nm,
		       b->phase_ok[PH_CONNECT]
			       ? b->phase_cpu[PH_CONNECT] * 1e6 / b->phase_ok[PH_CONNECT]
			       : 0.0);
	}
	if (b->phase_secs[PH_LOGIN] > 0) {
		printf("bench api_%s_login_rate %.1f /s\n", nm,
		       b->phase_ok[PH_LOGIN] / b->phase_secs[PH_LOGIN]);
		printf("bench api_%s_login_p99_ms %.2f ms\n", nm,
		       quantile_ms(&b->op_lat[PH_LOGIN], 0.99));
		printf("bench api_%s_login_ucsd_cpu_us %.0f us\n", nm,
		       b->phase_ok[PH_LOGIN] ? b->phase_cpu[PH_LOGIN] * 1e6 / b->phase_ok[PH_LOGIN]
					     : 0.0);
	}
	if (b->phase_secs[PH_SUBSCRIBE] > 0)
		printf("bench api_%s_subscribe_rate %.1f /s\n", nm,
		       b->phase_ok[PH_SUBSCRIBE] / b->phase_secs[PH_SUBSCRIBE]);
	per_session(b, "connected", b->rss_conn, b->phase_ok[PH_CONNECT]);
	per_session(b, "logged_in", b->rss_login, b->phase_ok[PH_LOGIN]);
	per_session(b, "subscribed", b->rss_sub, sessions);
	per_session(b, "idle", b->rss_idle, sessions);
	if (b->ev_t1) {
		struct samples *s = &b->ev_lat;
		double secs = (b->ev_t1 - b->ev_t0) / 1e9;
		double expect = b->pub_published * b->o.watch;

		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
		printf("# %s: events: %" PRIu64 " presence.event received with a bench note "
		       "(expected %.0f = %.0f changes x %d watchers), %" PRIu64 " stray, %" PRIu64
		       " without a bench note, %" PRIu64
		       " other notifications; %.0f set() refused\n",
		       nm, b->ev_total, expect, b->pub_published, b->o.watch, b->ev_stray,
		       b->ev_unmarked, b->notes_other, b->pub_errors);
		printf("# %s: events: CPU ucsd %.2f s in %.2f s (%.0f%% of one core), generator "
		       "%.2f s\n",
		       nm, b->phase_cpu[PH_EVENTS], secs, 100 * b->phase_cpu[PH_EVENTS] / secs,
		       b->phase_gcpu[PH_EVENTS]);
		printf("bench api_%s_events_ucsd_cpu_pct %.0f %%\n", nm,
		       100 * b->phase_cpu[PH_EVENTS] / secs);
		printf("bench api_%s_publish_rate %.1f /s\n", nm, b->pub_rate);
		printf("bench api_%s_event_rate %.1f /s\n", nm,
		       b->pub_elapsed_ms > 0 ? b->ev_total / (b->pub_elapsed_ms / 1000.0)
					     : b->ev_total / secs);
		printf("bench api_%s_events_missing %.0f events\n", nm,
		       expect > (double)b->ev_total ? expect - (double)b->ev_total : 0.0);
		printf("bench api_%s_event_p50_ms %.2f ms\n", nm, quantile_ms(s, 0.5));
		printf("bench api_%s_event_p90_ms %.2f ms\n", nm, quantile_ms(s, 0.9));
		printf("bench api_%s_event_p99_ms %.2f ms\n", nm, quantile_ms(s, 0.99));
		printf("bench api_%s_event_max_ms %.2f ms\n", nm, quantile_ms(s, 1.0));
		if (b->have_result) {
			printf("bench api_%s_loop_tick_gap_p99_ms %.1f ms\n", nm, b->pub_gap_p99);
			printf("bench api_%s_loop_tick_gap_max_ms %.2f ms\n", nm, b->pub_gap_max);
			printf("# %s: presence set() incl. fan-out to the bus: mean %.1f us, max "
			       "%.1f us\n",
			       nm, b->pub_set_mean, b->pub_set_max);
		}
		if (expect > 0 && (double)b->ev_total < expect)
			b->exit_code = 1;
	}
	if (b->failed)
		b->exit_code = 1;
	printf("# %s: %d sessions failed, %" PRIu64 " closed by the server\n", nm, b->failed,
	       b->closes);
	for (int p = 0; p < PH_DONE; p++)
		if (b->first_err[p][0])
			printf("# %s: first failure in %s: %s\n", nm, phase_names[p],
			       b->first_err[p]);
}

/* ---- setup ---- */

static int tls_setup(struct bench *b)
{
	static const unsigned char pers[] = "bench-sessions";
	static const mbedtls_ecp_group_id curves[] = {
		MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
		MBEDTLS_ECP_DP_NONE};
	int r;

	mbedtls_entropy_init(&b->entropy);
	mbedtls_ctr_drbg_init(&b->drbg);
	mbedtls_ssl_config_init(&b->conf);
	r = mbedtls_ctr_drbg_seed(&b->drbg, mbedtls_entropy_func, &b->entropy, pers,
				  sizeof(pers) - 1);
	if (!r)
		r = mbedtls_ssl_config_defaults(&b->conf, MBEDTLS_SSL_IS_CLIENT,
						MBEDTLS_SSL_TRANSPORT_STREAM,
						MBEDTLS_SSL_PRESET_DEFAULT);
	if (r)
		return -EIO;
	/* the run script's throw-away certificate: not verified */
	mbedtls_ssl_conf_authmode(&b->conf, MBEDTLS_SSL_VERIFY_NONE);
	/* Offer the curves in the order browsers, OpenSSL and Python do
	 * (x25519 first): mbedtls's own default list starts with secp521r1,
	 * and the server takes the client's first choice it supports. */
	mbedtls_ssl_conf_curves(&b->conf, curves);
	mbedtls_ssl_conf_rng(&b->conf, mbedtls_ctr_drbg_random, &b->drbg);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench-sessions [options]\n"
		   "  --host ADDR         ucsd's client-api address (127.0.0.1)\n"
		   "  --port N            its port (7222)\n"
		   "  --tls               TLS (the certificate is not verified)\n"
		   "  --sessions N        sessions (1000)\n"
		   "  --window N          operations in flight per phase (200)\n"
		   "  --prefix P          user ids: P followed by --digits digits (u, 5)\n"
		   "  --digits N\n"
		   "  --first N           number of the first user (0)\n"
		   "  --password PW       every user's password (bench)\n"
		   "  --watch K           users each session subscribes to (1)\n"
		   "  --source A,B,...    local source addresses, used in turn\n"
		   "  --pid PID           ucsd's process id (for VmRSS)\n"
		   "  --idle S            seconds of idle after the last phase (5)\n"
		   "  --rate R            presence changes per second for evsource (5000)\n"
		   "  --events S          seconds of the event run (20; 0: none)\n"
		   "  --control FILE      evsource's control file\n"
		   "  --result FILE       evsource's result file\n"
		   "  --name NAME         figure names: bench api_NAME_... (plain)\n"
		   "  --timeout S         longest phase (300)\n");
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", 1, 0, 'h'},	 {"port", 1, 0, 'p'},	{"tls", 0, 0, 't'},
		{"sessions", 1, 0, 'n'}, {"window", 1, 0, 'w'}, {"prefix", 1, 0, 'P'},
		{"digits", 1, 0, 'd'},	 {"first", 1, 0, 'f'},	{"password", 1, 0, 'W'},
		{"watch", 1, 0, 'k'},	 {"source", 1, 0, 's'}, {"pid", 1, 0, 'i'},
		{"idle", 1, 0, 'I'},	 {"rate", 1, 0, 'r'},	{"events", 1, 0, 'e'},
		{"control", 1, 0, 'c'},	 {"result", 1, 0, 'R'}, {"name", 1, 0, 'N'},
		{"timeout", 1, 0, 'T'},	 {"help", 0, 0, 'H'},	{0, 0, 0, 0},
	};
	int ch;

	*o = (struct opts){.host = "127.0.0.1",
			   .port = 7222,
			   .n = 1000,
			   .window = 200,
			   .prefix = "u",
			   .digits = 5,
			   .password = "bench",
			   .watch = 1,
			   .idle_s = 5,
			   .rate = 5000,
			   .events_s = 20,
			   .name = "plain",
			   .phase_timeout_s = 300};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 't':
			o->tls = 1;
			break;
		case 'n':
			o->n = atoi(optarg);
			break;
		case 'w':
			o->window = atoi(optarg);
			break;
		case 'P':
			o->prefix = optarg;
			break;
		case 'd':
			o->digits = atoi(optarg);
			break;
		case 'f':
			o->first = atoi(optarg);
			break;
		case 'W':
			o->password = optarg;
			break;
		case 'k':
			o->watch = atoi(optarg);
			break;
		case 's':
			for (char *tok = strtok(optarg, ","); tok && o->n_sources < MAX_SOURCES;
			     tok = strtok(NULL, ","))
				o->sources[o->n_sources++] = tok;
			break;
		case 'i':
			o->pid = atoi(optarg);
			break;
		case 'I':
			o->idle_s = atof(optarg);
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 'e':
			o->events_s = atof(optarg);
			break;
		case 'c':
			o->control = optarg;
			break;
		case 'R':
			o->result = optarg;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'T':
			o->phase_timeout_s = atof(optarg);
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (o->n <= 0 || o->window <= 0 || o->watch < 0 || o->watch >= o->n || o->port <= 0 ||
	    o->port > 65535) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct rlimit rl;
	int err;

	if (!b || parse_opts(&b->o, argc, argv))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_ws_seed(bench_mono_ns() ^ ((uint64_t)getpid() << 32));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)b->o.n + 16) {
		fprintf(stderr,
			"bench-sessions: %d sessions need more than the %lu descriptors "
			"allowed (ulimit -n)\n",
			b->o.n, (unsigned long)rl.rlim_cur);
		return 2;
	}
	b->conns = calloc((size_t)b->o.n, sizeof(*b->conns));
	if (!b->conns)
		return 2;
	for (int i = 0; i < b->o.n; i++) {
		b->conns[i].b = b;
		b->conns[i].idx = i;
	}
	if (b->o.tls && (err = tls_setup(b))) {
		fprintf(stderr, "bench-sessions: TLS setup failed\n");
		return 2;
	}
	b->loop = uv_default_loop();
	uv_timer_init(b->loop, &b->timer);
	uv_timer_init(b->loop, &b->poll);
	b->timer.data = b->poll.data = b;
	b->rss_start = read_rss_kb(b->o.pid);
	b->rss_conn = b->rss_login = b->rss_sub = b->rss_idle = -1;
	printf("# %s: %d sessions to %s:%d%s, window %d, %d watched users each, %d source "
	       "addresses; ucsd pid %d VmRSS %ld KB\n",
	       b->o.name, b->o.n, b->o.host, b->o.port, b->o.tls ? " (TLS)" : "", b->o.window,
	       b->o.watch, b->o.n_sources ? b->o.n_sources : 1, b->o.pid, b->rss_start);
	b->phase = PH_CONNECT;
	b->phase_t0 = bench_mono_ns();
	cpu_mark(b);
	uv_timer_start(&b->timer, on_phase_timeout, (uint64_t)(b->o.phase_timeout_s * 1000), 0);
	pump(b);
	uv_run(b->loop, UV_RUN_DEFAULT);
	report(b);
	/* close everything and let the loop finish the closes */
	for (int i = 0; i < b->o.n; i++)
		conn_close(&b->conns[i]);
	uv_close((uv_handle_t *)&b->timer, NULL);
	uv_close((uv_handle_t *)&b->poll, NULL);
	uv_run(b->loop, UV_RUN_DEFAULT);
	uv_loop_close(b->loop);
	for (int p = 0; p < PH_DONE; p++)
		free(b->op_lat[p].v);
	free(b->ev_lat.v);
	if (b->o.tls) {
		mbedtls_ssl_config_free(&b->conf);
		mbedtls_ctr_drbg_free(&b->drbg);
		mbedtls_entropy_free(&b->entropy);
	}
	err = b->exit_code;
	free(b->conns);
	free(b);
	return err;
}
