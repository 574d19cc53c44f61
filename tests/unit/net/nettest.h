/*
 * tests/unit/net/nettest.h - what the net tests share: a fresh PKI in a temp
 * directory, running the core loop until something happened, an echo
 * service on a ucs listener, a recording ucs client, raw libuv peers that
 * misbehave on purpose, child processes (openssl s_client) and a capture of
 * the log (stderr) to check the lines the core writes.
 */
#ifndef TESTS_NET_NETTEST_H
#define TESTS_NET_NETTEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core.h"
#include "log.h"
#include "net.h"

static const struct ucs_net_api *net = &core_net_api;
static char pki[256];

static inline void nt_path(char *out, size_t size, const char *file)
{
	snprintf(out, size, "%s/%s", pki, file);
}

/* Creates the PKI (see gen-certs.sh); aborts the test when openssl fails,
 * which is a failure, not a skip. */
static inline void nt_setup(void)
{
	char cmd[600];

	snprintf(pki, sizeof(pki), "/tmp/ucs-net-XXXXXX");
	if (!mkdtemp(pki)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "sh %s/gen-certs.sh %s", NET_TEST_SRCDIR, pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot create the test certificates with openssl\n");
		exit(1);
	}
	core_net_init();
}

/* Shuts the net layer down, closes the loop and removes the PKI; returns the
 * check report. */
static inline int nt_finish(void)
{
	char cmd[300];

	core_net_shutdown();
	CHECK_INT(core_net_live(), ==, 0);
	uv_run(core_loop(), UV_RUN_NOWAIT);
	CHECK_INT(uv_loop_close(core_loop()), ==, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", pki);
	return check_report();
}

static bool nt_timed_out;

static inline void nt_on_guard(uv_timer_t *t)
{
	(void)t;
	nt_timed_out = true;
}

static inline void nt_guard_closed(uv_handle_t *h)
{
	(void)h;
}

static inline void nt_on_tick(uv_timer_t *t)
{
	(void)t;
}

/* Runs the loop until cond holds or ms passed; true when cond held. A 5 ms
 * tick bounds each uv_run: a condition met by a timer callback would
 * otherwise wait for the next I/O event to be seen. */
#define RUN_UNTIL(cond, ms)                                           \
	({                                                            \
		uv_timer_t nt_guard_, nt_tick_;                       \
		uv_timer_init(core_loop(), &nt_guard_);               \
		uv_timer_init(core_loop(), &nt_tick_);                \
		nt_timed_out = false;                                 \
		uv_timer_start(&nt_guard_, nt_on_guard, (ms), 0);     \
		uv_timer_start(&nt_tick_, nt_on_tick, 5, 5);          \
		while (!(cond) && !nt_timed_out)                      \
			uv_run(core_loop(), UV_RUN_ONCE);             \
		uv_close((uv_handle_t *)&nt_guard_, nt_guard_closed); \
		uv_close((uv_handle_t *)&nt_tick_, nt_guard_closed);  \
		uv_run(core_loop(), UV_RUN_NOWAIT);                   \
		(bool)(cond);                                         \
	})

static inline void nt_run_for(unsigned ms)
{
	(void)RUN_UNTIL(false, ms);
}

static inline uint64_t nt_now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* --- the echo service -------------------------------------------------- */

struct echo {
	size_t accepted, bytes, closed;
	int tls_seen; /* accepted connections that were TLS */
	struct ucs_conn *last;
	bool pause_on_accept;
};

static inline void echo_data(struct ucs_conn *c, const uint8_t *d, size_t n, void *arg)
{
	struct echo *e = arg;

	e->bytes += n;
	net->send(c, d, n);
	/* a peer's "quit" ends the session from our side, mid-callback */
	if (memmem(d, n, "quit", 4))
		net->close(c);
}

static inline void echo_close(struct ucs_conn *c, int err, void *arg)
{
	struct echo *e = arg;

	(void)c;
	(void)err;
	e->closed++;
}

static const struct ucs_conn_handlers echo_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = echo_data,
	.on_close = echo_close,
};

static inline void echo_accept(struct ucs_listener *l, struct ucs_conn *c, void *arg)
{
	struct echo *e = arg;

	(void)l;
	e->accepted++;
	e->tls_seen += net->is_tls(c);
	e->last = c;
	net->set_handlers(c, &echo_handlers, e);
	if (e->pause_on_accept)
		net->pause_read(c);
}

static inline struct ucs_listener *nt_listen(struct ucs_plugin *owner, const char *name,
					     enum ucs_tls_policy tls, const char *cert,
					     const char *key, struct echo *e)
{
	char certp[300], keyp[300];
	struct ucs_listen_opts o = {.size = sizeof(o), .name = name, .address = NULL, .tls = tls};
	struct ucs_listener *l = NULL;
	int err;

	nt_path(certp, sizeof(certp), cert ? cert : "server.crt");
	nt_path(keyp, sizeof(keyp), key ? key : "server.key");
	o.cert_file = certp;
	o.key_file = keyp;
	err = net->listen(owner, &l, &o, echo_accept, e);
	CHECK_INT(err, ==, 0);
	return err ? NULL : l;
}

/* --- a recording ucs client ---------------------------------------------- */

struct client {
	struct ucs_conn *conn;
	bool connected, closed, drained;
	int err;
	char buf[65536];
	size_t len;
	size_t total;
};

static inline void cl_data(struct ucs_conn *c, const uint8_t *d, size_t n, void *arg)
{
	struct client *cl = arg;

	(void)c;
	cl->total += n;
	if (cl->len + n < sizeof(cl->buf)) {
		memcpy(cl->buf + cl->len, d, n);
		cl->len += n;
		cl->buf[cl->len] = '\0';
	}
}

static inline void cl_close(struct ucs_conn *c, int err, void *arg)
{
	struct client *cl = arg;

	(void)c;
	cl->closed = true;
	cl->err = err;
	cl->conn = NULL;
}

static inline void cl_connected(struct ucs_conn *c, void *arg)
{
	struct client *cl = arg;

	(void)c;
	cl->connected = true;
}

static inline void cl_drain(struct ucs_conn *c, void *arg)
{
	struct client *cl = arg;

	(void)c;
	cl->drained = true;
}

static const struct ucs_conn_handlers client_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = cl_data,
	.on_close = cl_close,
	.on_connected = cl_connected,
	.on_drain = cl_drain,
};

/* ca: a file in the PKI, or NULL for no TLS. */
static inline int nt_connect(struct ucs_plugin *owner, struct client *cl, const char *host,
			     int port, const char *ca, const char *sni, bool verify_none)
{
	char cap[300];
	struct ucs_connect_opts o = {.size = sizeof(o), .host = host, .port = (uint16_t)port};

	memset(cl, 0, sizeof(*cl));
	if (ca || verify_none) {
		o.tls = 1;
		o.verify_none = verify_none;
		if (ca) {
			nt_path(cap, sizeof(cap), ca);
			o.ca_file = cap;
		}
		o.sni = sni;
	}
	o.timeout_ms = 5000;
	return net->connect(owner, &cl->conn, &o, &client_handlers, cl);
}

/* Connects, sends text and waits for it to come back. */
static inline bool nt_echo_roundtrip(struct client *cl, const char *text)
{
	size_t want = cl->len + strlen(text);

	if (net->send(cl->conn, text, strlen(text)))
		return false;
	return RUN_UNTIL(cl->len >= want || cl->closed, 5000) && strstr(cl->buf, text);
}

/* --- raw peers ------------------------------------------------------------ */

struct raw {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t timer;
	bool connected, closed, handles_closed;
	int open_handles;
	int conn_status;
	uint64_t closed_at;
	size_t got;
	const uint8_t *drip; /* sent one byte per tick */
	size_t drip_len, drip_off;
};

static inline void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char space[65536];

	(void)h;
	(void)hint;
	*buf = uv_buf_init(space, sizeof(space));
}

static inline void raw_handle_closed(uv_handle_t *h)
{
	struct raw *r = h->data;

	if (--r->open_handles == 0)
		r->handles_closed = true;
}

static inline void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct raw *r = s->data;

	(void)buf;
	if (n > 0) {
		r->got += (size_t)n;
		return;
	}
	if (n < 0 && !r->closed) {
		r->closed = true;
		r->closed_at = nt_now_ms();
		uv_read_stop(s);
	}
}

static inline void raw_on_connect(uv_connect_t *req, int status)
{
	struct raw *r = req->data;

	r->conn_status = status;
	if (status == 0) {
		r->connected = true;
		uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
	} else {
		r->closed = true;
	}
}

static inline void raw_connect(struct raw *r, int port)
{
	struct sockaddr_in sa;

	memset(r, 0, sizeof(*r));
	uv_ip4_addr("127.0.0.1", port, &sa);
	uv_tcp_init(core_loop(), &r->tcp);
	uv_timer_init(core_loop(), &r->timer);
	r->tcp.data = r->timer.data = r->creq.data = r;
	r->open_handles = 2;
	uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, raw_on_connect);
}

static inline void raw_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static inline void raw_send(struct raw *r, const void *data, size_t len)
{
	uv_write_t *req = malloc(sizeof(*req) + len);
	uv_buf_t buf = uv_buf_init((char *)(req + 1), (unsigned)len);

	memcpy(req + 1, data, len);
	if (uv_write(req, (uv_stream_t *)&r->tcp, &buf, 1, raw_written))
		free(req);
}

static inline void raw_tick(uv_timer_t *t)
{
	struct raw *r = t->data;

	if (r->closed || r->drip_off >= r->drip_len) {
		uv_timer_stop(t);
		return;
	}
	raw_send(r, r->drip + r->drip_off++, 1);
}

static inline void raw_drip(struct raw *r, const uint8_t *data, size_t len, unsigned every_ms)
{
	r->drip = data;
	r->drip_len = len;
	uv_timer_start(&r->timer, raw_tick, every_ms, every_ms);
}

static inline void raw_close(struct raw *r)
{
	uv_close((uv_handle_t *)&r->tcp, raw_handle_closed);
	uv_close((uv_handle_t *)&r->timer, raw_handle_closed);
}

/* --- child processes ---------------------------------------------------- */

struct child {
	uv_process_t proc;
	bool exited;
	int64_t status;
};

static inline void child_exit(uv_process_t *p, int64_t status, int sig)
{
	struct child *ch = p->data;

	(void)sig;
	ch->exited = true;
	ch->status = status;
	uv_close((uv_handle_t *)p, NULL);
}

/* Runs argv with stdin from in_file and stdout+stderr into out_file until it
 * exits (or ms pass: then it is killed); returns the exit status or -1. */
static inline int nt_run_child(char **argv, const char *in_file, const char *out_file, unsigned ms)
{
	struct child ch = {0};
	uv_stdio_container_t stdio[3];
	uv_process_options_t o = {0};
	int in = open(in_file, O_RDONLY);
	int out = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err;

	stdio[0].flags = UV_INHERIT_FD;
	stdio[0].data.fd = in;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = out;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = out;
	o.file = argv[0];
	o.args = argv;
	o.stdio = stdio;
	o.stdio_count = 3;
	o.exit_cb = child_exit;
	ch.proc.data = &ch;
	err = uv_spawn(core_loop(), &ch.proc, &o);
	close(in);
	close(out);
	if (err) {
		fprintf(stderr, "cannot run %s: %s\n", argv[0], uv_strerror(err));
		return -1;
	}
	if (!RUN_UNTIL(ch.exited, ms)) {
		uv_process_kill(&ch.proc, SIGKILL);
		RUN_UNTIL(ch.exited, 2000);
		return -1;
	}
	uv_run(core_loop(), UV_RUN_NOWAIT);
	return (int)ch.status;
}

static inline void nt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static inline char *nt_read_file(const char *path)
{
	static char text[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	text[0] = '\0';
	if (!f)
		return text;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* --- log capture: the interim log writes to stderr ------------------------ */

static int nt_saved_stderr = -1;
static char nt_cap_path[300];

static inline void nt_capture_begin(void)
{
	int fd;

	nt_path(nt_cap_path, sizeof(nt_cap_path), "log.txt");
	fflush(stderr);
	nt_saved_stderr = dup(2);
	fd = open(nt_cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
}

/* Restores stderr, repeats what was captured there and returns it. */
static inline char *nt_capture_end(void)
{
	char *text;

	fflush(stderr);
	dup2(nt_saved_stderr, 2);
	close(nt_saved_stderr);
	text = nt_read_file(nt_cap_path);
	fputs(text, stderr);
	return text;
}

#endif
