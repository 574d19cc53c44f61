/*
 * core/net.c - listeners, connections and UDP sockets for plugins
 * (struct ucs_net_api, abi/ucs/net.h) on libuv, with TLS through core/tls.h.
 *
 * Owns every listener, connection and UDP socket until its last libuv handle
 * has closed. The rule that keeps re-entrancy simple: nothing is freed
 * synchronously. Closing only marks an object and closes its handles; the
 * memory goes in the last close callback, on a later loop iteration. So a
 * plugin may call close() or send() from inside any callback, and the code
 * that called it only has to look at the state when the callback returns.
 *
 * A connection's life: (resolving, connecting | sniffing) -> handshake ->
 * open -> closing -> dead. "notify" says whether the plugin still wants
 * callbacks; it drops when the plugin calls close() or its owner is revoked,
 * and on_close is sent at most once, when it drops for any other reason.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#define HANDSHAKE_MS_DEFAULT	  10000
#define CONNECT_MS_DEFAULT	  10000
#define LINGER_MS		  5000
#define READ_CHUNK		  65536
#define MAX_PENDING_ACCEPTS	  1024
#define TLS_RECORD_TYPE_HANDSHAKE 0x16
#define WQ_HIGH_DEFAULT		  (1u << 20)
#define WQ_LOW_DEFAULT		  (256u << 10)
#define TLS_READ_REPLY_MAX	  (64u << 10)
#define LOG_INTERVAL_MS		  1000

struct link {
	struct link *prev, *next;
};

enum conn_state {
	ST_RESOLVING = 0,
	ST_CONNECTING,
	ST_SNIFF, /* incoming, waiting for the first byte */
	ST_HANDSHAKE,
	ST_OPEN,
	ST_CLOSING, /* the plugin closed it: flushing */
	ST_DEAD,
};

struct bytes {
	uint8_t *data;
	size_t len;
};

/* Log lines a peer can cause, rate limited per listener and kind. */
enum log_kind {
	LOG_REFUSED_PLAIN = 0,
	LOG_PENDING_OVERFLOW,
	LOG_HANDSHAKE_FAILED,
	LOG_HANDSHAKE_TIMEOUT,
	LOG_KINDS,
};

struct log_limit {
	uint64_t last_ms;
	size_t suppressed;
	bool used;
};

struct ucs_listener {
	struct core_res res;
	struct link link;    /* all listeners */
	struct link pending; /* connections not yet handed to accept_h */
	size_t npending;
	uv_tcp_t tcp;
	bool closed;
	char *name, *cert_file, *key_file;
	enum ucs_tls_policy policy;
	struct core_tls_conf *conf;
	ucs_accept_h *h;
	void *arg;
	struct log_limit limits[LOG_KINDS];
	char tag[32];
};

struct ucs_conn {
	struct core_res res;
	struct link link;	       /* all connections */
	struct link pend;	       /* in listener->pending until accepted */
	struct ucs_listener *listener; /* until accepted */
	uv_tcp_t tcp;
	uv_timer_t timer; /* connect/handshake deadline, then the close linger */
	uv_timer_t kick;  /* delivers held input after resume_read */
	uv_getaddrinfo_t gai;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	unsigned handles; /* open libuv handles; freed when 0 and no lookup runs */
	bool gai_busy, retrying, reading, paused, notify, has_h, drain_wanted, incoming;
	bool wq_full;	    /* above the high-water mark: reading stops until it drains */
	bool eof;	    /* the peer finished sending while input was still held */
	bool close_wanted;  /* closed by the plugin before it was open: flush, then close */
	int fail_err;	    /* reported from the timer: a failure known inside connect() */
	int connect_err;    /* the most telling failure among the addresses tried */
	uint64_t linger_at; /* when a close_wanted connection gives up */
	enum conn_state state;
	struct ucs_conn_handlers h;
	void *arg;
	struct core_tls_conf *conf; /* outgoing TLS */
	struct core_tls *tls;
	struct addrinfo *ai, *ai_next;
	uint16_t port;
	uint32_t timeout_ms;
	size_t wq_bytes;    /* handed to uv_write, not yet written */
	struct bytes early; /* sent before the connection was open */
	struct bytes rx;    /* plain input held back (the sniffed first chunk) */
	char *host, *sni;
	char name[64]; /* the listener's name, or host:port for outgoing */
	char peer[64];
	char tag[32];
};

struct ucs_udp {
	struct core_res res;
	struct link link;
	uv_udp_t udp;
	bool closed;
	int family;
	ucs_udp_recv_h *h;
	void *arg;
	char tag[32];
};

struct wreq {
	uv_write_t req;
	struct ucs_conn *conn;
	uint8_t *data;
	size_t len;
};

struct udp_wreq {
	uv_udp_send_t req;
	size_t len;
	uint8_t data[];
};

static struct link listeners = {&listeners, &listeners};
static struct link conns = {&conns, &conns};
static struct link udps = {&udps, &udps};
static size_t live;
static uint32_t handshake_ms = HANDSHAKE_MS_DEFAULT;
static size_t wq_high = WQ_HIGH_DEFAULT, wq_low = WQ_LOW_DEFAULT;
static core_net_resolved_h *resolved_hook;
static uint8_t read_buf[READ_CHUNK]; /* one loop thread: read callbacks never nest */

static void conn_destroy(struct ucs_conn *c);
static void conn_fail(struct ucs_conn *c, int err);
static void conn_established(struct ucs_conn *c);
static void conn_pump(struct ucs_conn *c);
static void conn_update_reading(struct ucs_conn *c);
static bool pump_wanted(const struct ucs_conn *c);

static void link_init(struct link *l)
{
	l->prev = l->next = l;
}

static void link_add(struct link *head, struct link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void link_del(struct link *l)
{
	if (!l->next || l->next == l)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static void bytes_append(struct bytes *b, const void *data, size_t len)
{
	uint8_t *p = realloc(b->data, b->len + len);

	if (!p) {
		fputs("ucsd: out of memory\n", stderr);
		abort();
	}
	memcpy(p + b->len, data, len);
	b->data = p;
	b->len += len;
}

static void bytes_clear(struct bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static void set_tag(char *tag, size_t size, struct ucs_plugin *owner)
{
	snprintf(tag, size, "%s", core_plugin_name(owner));
}

/* A v4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d; plugins and
 * log readers expect a.b.c.d. */
static void unmap_v4(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = {.sin_family = AF_INET};

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

static void addr_text(const struct sockaddr *sa, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		uv_ip4_name(s4, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		uv_ip6_name(s6, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(out, size, "?");
	}
}

static int parse_bind(const char *address, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!address)
		address = "::";
	if (!uv_ip4_addr(address, port, (struct sockaddr_in *)ss))
		return 0;
	if (!uv_ip6_addr(address, port, (struct sockaddr_in6 *)ss))
		return 0;
	return -EINVAL;
}

/* A peer decides how often these lines are written: at most one a second per
 * listener and kind, and what was left out is counted in the next one, so a
 * flood neither fills the disk nor hides that it happened. */
static void __attribute__((format(printf, 4, 5)))
listener_log(struct ucs_listener *l, enum log_kind kind, enum ucs_log_level level, const char *fmt,
	     ...)
{
	struct log_limit *lim = &l->limits[kind];
	uint64_t now = uv_now(core_loop());
	va_list ap;

	if (lim->used && now - lim->last_ms < LOG_INTERVAL_MS) {
		lim->suppressed++;
		return;
	}
	if (lim->suppressed)
		core_log(l->tag, level, "%s: %zu similar lines suppressed", l->name,
			 lim->suppressed);
	lim->used = true;
	lim->last_ms = now;
	lim->suppressed = 0;
	va_start(ap, fmt);
	core_logv(l->tag, level, fmt, ap);
	va_end(ap);
}

/* --- connections: lifetime ------------------------------------------------ */

static void conn_free(struct ucs_conn *c)
{
	core_tls_free(c->tls);
	core_tls_conf_unref(c->conf);
	if (c->ai)
		uv_freeaddrinfo(c->ai);
	bytes_clear(&c->early);
	bytes_clear(&c->rx);
	free(c->host);
	free(c->sni);
	free(c);
	live--;
}

static void conn_maybe_free(struct ucs_conn *c)
{
	if (!c->handles && !c->gai_busy)
		conn_free(c);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct ucs_conn *c = h->data;

	c->handles--;
	conn_maybe_free(c);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_conn_handle_closed);
}

/* Stops everything at once; no callback reaches the plugin from here on. */
static void conn_destroy(struct ucs_conn *c)
{
	if (c->state == ST_DEAD)
		return;
	c->state = ST_DEAD;
	c->notify = false;
	core_ledger_remove(&c->res);
	link_del(&c->link);
	if (c->listener) {
		link_del(&c->pend);
		c->listener->npending--;
		c->listener = NULL;
	}
	if (c->gai_busy)
		uv_cancel((uv_req_t *)&c->gai);
	close_handle((uv_handle_t *)&c->timer);
	close_handle((uv_handle_t *)&c->kick);
	/* a retry is closing the socket already; its callback sees ST_DEAD */
	if (!c->retrying)
		close_handle((uv_handle_t *)&c->tcp);
}

/* The connection ends for a reason the plugin did not cause. */
static void conn_fail(struct ucs_conn *c, int err)
{
	bool tell = c->notify && c->has_h && c->h.on_close;

	if (c->state == ST_DEAD)
		return;
	conn_destroy(c);
	if (tell)
		c->h.on_close(c, err, c->arg);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_destroy(req->data);
}

static void conn_finish_close(struct ucs_conn *c)
{
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown))
		conn_destroy(c);
}

static void on_timer(uv_timer_t *t)
{
	struct ucs_conn *c = t->data;

	if (c->fail_err) {
		conn_fail(c, c->fail_err);
		return;
	}
	switch (c->state) {
	case ST_RESOLVING:
	case ST_CONNECTING:
	case ST_HANDSHAKE:
		if (c->incoming) {
			listener_log(c->listener, LOG_HANDSHAKE_TIMEOUT, UCS_LOG_INFO,
				     "%s: no TLS handshake from %s within %u ms, closing", c->name,
				     c->peer, (unsigned)handshake_ms);
			conn_destroy(c);
			break;
		}
		if (c->close_wanted) {
			core_log(c->tag, UCS_LOG_DEBUG,
				 "%s: closed before it was open; %zu bytes not delivered", c->name,
				 c->early.len);
			conn_destroy(c);
			break;
		}
		core_log(c->tag, UCS_LOG_WARNING, "connect to %s timed out after %u ms", c->name,
			 (unsigned)c->timeout_ms);
		conn_fail(c, -ETIMEDOUT);
		break;
	case ST_SNIFF:
		listener_log(c->listener, LOG_HANDSHAKE_TIMEOUT, UCS_LOG_INFO,
			     "%s: nothing received from %s within %u ms, closing", c->name, c->peer,
			     (unsigned)handshake_ms);
		conn_destroy(c);
		break;
	case ST_CLOSING:
		core_log(c->tag, UCS_LOG_DEBUG, "%s: %s did not take the last %zu bytes in time",
			 c->name, c->peer, c->wq_bytes);
		conn_destroy(c);
		break;
	default:
		break;
	}
}

static void on_kick(uv_timer_t *t)
{
	conn_pump(t->data);
}

static struct ucs_conn *conn_new(struct ucs_plugin *owner)
{
	struct ucs_conn *c = core_alloc(sizeof(*c));
	uv_loop_t *loop = core_loop();

	if (!owner)
		owner = core_self();
	link_init(&c->pend);
	set_tag(c->tag, sizeof(c->tag), owner);
	uv_tcp_init(loop, &c->tcp);
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->kick);
	c->tcp.data = c->timer.data = c->kick.data = c->creq.data = c->gai.data = c;
	c->handles = 3;
	link_add(&conns, &c->link);
	live++;
	return c;
}

/* --- connections: writing ------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = CORE_CONTAINER_OF(req, struct wreq, req);
	struct ucs_conn *c = w->conn;

	c->wq_bytes -= w->len;
	free(w->data);
	free(w);
	if (status == UV_ECANCELED || c->state == ST_DEAD)
		return;
	if (status < 0) {
		core_log(c->tag, UCS_LOG_DEBUG, "%s: writing to %s failed: %s", c->name, c->peer,
			 uv_strerror(status));
		conn_fail(c, status);
		return;
	}
	if (c->wq_full && c->wq_bytes < wq_low) {
		c->wq_full = false;
		conn_update_reading(c);
		/* input held back while the queue was full waits for the pump */
		if (c->state == ST_OPEN && !c->paused && pump_wanted(c))
			uv_timer_start(&c->kick, on_kick, 0, 0);
	}
	if (c->wq_bytes)
		return;
	if (c->state == ST_CLOSING) {
		conn_finish_close(c);
		return;
	}
	if (c->state == ST_OPEN && c->drain_wanted && c->notify && c->h.on_drain) {
		c->drain_wanted = false;
		c->h.on_drain(c, c->arg);
	}
}

/* Takes ownership of data (malloc'd). */
static int write_owned(struct ucs_conn *c, uint8_t *data, size_t len)
{
	struct wreq *w = core_alloc(sizeof(*w));
	uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
	int err;

	w->conn = c;
	w->data = data;
	w->len = len;
	err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
	if (err) {
		free(data);
		free(w);
		return err;
	}
	c->wq_bytes += len;
	/* A peer that sends but never reads would make us queue without end:
	 * stop reading from it until it takes what it was sent. */
	if (!c->wq_full && c->wq_bytes > wq_high) {
		c->wq_full = true;
		conn_update_reading(c);
	}
	return 0;
}

static int flush_tls(struct ucs_conn *c)
{
	size_t len;
	uint8_t *data = core_tls_take_output(c->tls, &len);

	return data ? write_owned(c, data, len) : 0;
}

static int write_plain(struct ucs_conn *c, const void *data, size_t len)
{
	int err;

	if (!c->tls) {
		uint8_t *copy = malloc(len);

		if (!copy) {
			fputs("ucsd: out of memory\n", stderr);
			abort();
		}
		memcpy(copy, data, len);
		return write_owned(c, copy, len);
	}
	err = core_tls_write(c->tls, data, len);
	if (err) {
		core_log(c->tag, UCS_LOG_WARNING, "%s: TLS write to %s failed: %s", c->name,
			 c->peer, core_tls_error(c->tls));
		return err;
	}
	return flush_tls(c);
}

/* --- connections: reading ------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	*buf = uv_buf_init((char *)read_buf, sizeof(read_buf));
}

static bool wants_input(const struct ucs_conn *c)
{
	if (c->wq_full || c->eof)
		return false;
	switch (c->state) {
	case ST_SNIFF:
	case ST_HANDSHAKE:
		return true;
	case ST_OPEN:
		return !c->paused;
	default:
		return false;
	}
}

static void deliver(struct ucs_conn *c, const uint8_t *data, size_t len)
{
	if (c->notify && c->has_h && c->h.on_data)
		c->h.on_data(c, data, len, c->arg);
}

/* Hands held and decrypted input to the plugin until it pauses or closes. */
static void conn_pump(struct ucs_conn *c)
{
	uint8_t plain[16384];
	bool dry = false; /* nothing more can come out of what is held */
	int n;

	while (c->state == ST_OPEN && !c->paused && !c->wq_full) {
		if (c->rx.len) {
			struct bytes held = c->rx;

			c->rx.data = NULL;
			c->rx.len = 0;
			deliver(c, held.data, held.len);
			free(held.data);
			continue;
		}
		if (!c->tls) {
			dry = true;
			break;
		}
		n = core_tls_read(c->tls, plain, sizeof(plain));
		flush_tls(c); /* reading may answer (alerts) */
		/* Each handshake message a peer sends after the handshake earns it
		 * an alert (mbedtls refuses renegotiation) without any plaintext
		 * for the plugin to look at: a peer that never reads would make
		 * us write for it forever. No honest peer needs more than a few. */
		if (core_tls_read_output(c->tls) > TLS_READ_REPLY_MAX) {
			core_log(c->tag, UCS_LOG_WARNING,
				 "%s: %s made us answer %zu bytes of TLS alerts, closing", c->name,
				 c->peer, core_tls_read_output(c->tls));
			conn_fail(c, -EPROTO);
			return;
		}
		if (n == -EAGAIN) {
			dry = true;
			break;
		}
		if (n == 0) {
			conn_fail(c, 0);
			return;
		}
		if (n < 0) {
			core_log(c->tag, UCS_LOG_INFO, "%s: TLS error from %s: %s", c->name,
				 c->peer, core_tls_error(c->tls));
			conn_fail(c, -EPROTO);
			return;
		}
		deliver(c, plain, (size_t)n);
	}
	/* the peer's EOF waited for what it had sent before it */
	if (dry && c->eof && c->state == ST_OPEN)
		conn_fail(c, 0);
}

static void handshake_failed(struct ucs_conn *c, int err)
{
	if (c->incoming) {
		listener_log(c->listener, LOG_HANDSHAKE_FAILED, UCS_LOG_INFO,
			     "%s: TLS handshake with %s failed: %s", c->name, c->peer,
			     core_tls_error(c->tls));
		conn_destroy(c);
		return;
	}
	core_log(c->tag, UCS_LOG_WARNING, "TLS handshake with %s (%s) failed: %s", c->name, c->peer,
		 core_tls_error(c->tls));
	conn_fail(c, err);
}

static void handshake_step(struct ucs_conn *c)
{
	int err = core_tls_handshake(c->tls);

	flush_tls(c); /* the next flight, or the alert that explains a failure */
	if (err == -EAGAIN)
		return;
	if (err) {
		handshake_failed(c, err);
		return;
	}
	conn_established(c);
}

static int start_server_tls(struct ucs_conn *c, struct ucs_listener *l)
{
	/* the session holds its own reference: a reload cannot pull it away */
	return core_tls_new(&c->tls, l->conf, NULL);
}

static void sniff(struct ucs_conn *c, const uint8_t *data, size_t len)
{
	struct ucs_listener *l = c->listener;

	if (data[0] == TLS_RECORD_TYPE_HANDSHAKE) {
		if (start_server_tls(c, l)) {
			core_log(c->tag, UCS_LOG_ERROR, "%s: cannot start TLS for %s", c->name,
				 c->peer);
			conn_destroy(c);
			return;
		}
		c->state = ST_HANDSHAKE;
		core_tls_feed(c->tls, data, len);
		handshake_step(c);
		return;
	}
	if (l->policy == UCS_TLS_REQUIRED) {
		listener_log(l, LOG_REFUSED_PLAIN, UCS_LOG_WARNING,
			     "%s: refused plain connection from %s (tls-required)", c->name,
			     c->peer);
		conn_destroy(c);
		return;
	}
	bytes_append(&c->rx, data, len);
	conn_established(c);
}

static void on_eof(struct ucs_conn *c)
{
	switch (c->state) {
	case ST_SNIFF:
	case ST_HANDSHAKE:
		if (c->incoming) {
			core_log(c->tag, UCS_LOG_DEBUG, "%s: %s left before the handshake ended",
				 c->name, c->peer);
			conn_destroy(c);
			return;
		}
		core_log(c->tag, UCS_LOG_WARNING,
			 "TLS handshake with %s (%s) failed: closed by peer", c->name, c->peer);
		conn_fail(c, -EPROTO);
		return;
	case ST_OPEN:
		/* what arrived before the EOF goes first; a paused plugin gets it
		 * (and then the EOF) when it resumes */
		c->eof = true;
		conn_update_reading(c);
		conn_pump(c);
		return;
	default:
		conn_fail(c, 0);
		return;
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ucs_conn *c = s->data;
	const uint8_t *data = (const uint8_t *)buf->base;

	if (n == 0 || c->state == ST_DEAD)
		return;
	if (n == UV_EOF) {
		on_eof(c);
		return;
	}
	if (n < 0) {
		core_log(c->tag, UCS_LOG_DEBUG, "%s: reading from %s failed: %s", c->name, c->peer,
			 uv_strerror((int)n));
		if (c->incoming && c->state != ST_OPEN)
			conn_destroy(c);
		else
			conn_fail(c, (int)n);
		return;
	}
	switch (c->state) {
	case ST_SNIFF:
		sniff(c, data, (size_t)n);
		break;
	case ST_HANDSHAKE:
		core_tls_feed(c->tls, data, (size_t)n);
		handshake_step(c);
		break;
	case ST_OPEN:
		if (c->tls) {
			core_tls_feed(c->tls, data, (size_t)n);
			conn_pump(c);
		} else if (c->rx.len || c->paused || c->wq_full) {
			/* libuv goes on reading in the same batch after a full
			 * buffer: input held from before must not be overtaken */
			bytes_append(&c->rx, data, (size_t)n);
			conn_pump(c);
		} else {
			deliver(c, data, (size_t)n);
		}
		break;
	default:
		break;
	}
	conn_update_reading(c);
}

static void conn_update_reading(struct ucs_conn *c)
{
	bool want = wants_input(c);

	if (want == c->reading)
		return;
	if (want && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
		return;
	if (!want)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = want;
}

static bool has_held_input(const struct ucs_conn *c)
{
	return c->rx.len || (c->tls && core_tls_has_input(c->tls));
}

/* Held input, or an EOF that waits behind it, for conn_pump. */
static bool pump_wanted(const struct ucs_conn *c)
{
	return c->eof || has_held_input(c);
}

/* --- connections: establishment ------------------------------------------- */

static void accept_established(struct ucs_conn *c)
{
	struct ucs_listener *l = c->listener;

	link_del(&c->pend);
	l->npending--;
	c->listener = NULL;
	c->notify = true;
	l->h(l, c, l->arg);
	if (c->state != ST_OPEN)
		return;
	if (!c->has_h) {
		core_log(c->tag, UCS_LOG_WARNING, "%s: connection from %s not adopted, closing",
			 c->name, c->peer);
		conn_destroy(c);
	}
}

static void conn_linger(struct ucs_conn *c);

static void conn_established(struct ucs_conn *c)
{
	uv_timer_stop(&c->timer);
	c->state = ST_OPEN;
	if (c->incoming) {
		accept_established(c);
	} else {
		if (c->early.len) {
			struct bytes early = c->early;
			int err;

			c->early.data = NULL;
			c->early.len = 0;
			err = write_plain(c, early.data, early.len);
			free(early.data);
			if (err) {
				conn_fail(c, err);
				return;
			}
		}
		core_log(c->tag, UCS_LOG_DEBUG, "connected to %s (%s)%s", c->name, c->peer,
			 c->tls ? " with TLS" : "");
		if (c->close_wanted) {
			conn_linger(c);
			return;
		}
		if (c->notify && c->h.on_connected)
			c->h.on_connected(c, c->arg);
	}
	if (c->state != ST_OPEN)
		return;
	conn_update_reading(c);
	/* Input that came with the handshake (or the sniffed first chunk) goes
	 * now, before libuv reads on in this batch and anything can overtake
	 * it. We are in a loop callback here, not inside a plugin call. */
	conn_pump(c);
}

static void try_connect(struct ucs_conn *c);

/* Which failure to report when every address failed: a refusal says more
 * than a timeout, which says more than "no route" (an AAAA record on a host
 * without IPv6), which says more than a local error. */
static int connect_err_rank(int err)
{
	switch (err) {
	case 0:
		return -1;
	case UV_ECONNREFUSED:
		return 4;
	case UV_ETIMEDOUT:
		return 3;
	case UV_ENETUNREACH:
	case UV_EHOSTUNREACH:
		return 2;
	case UV_EADDRNOTAVAIL:
	case UV_EAFNOSUPPORT:
		return 0;
	default:
		return 1;
	}
}

/* An address failed, at once or later: the next one, or the best reason. */
static void connect_failed(struct ucs_conn *c, int err)
{
	core_log(c->tag, UCS_LOG_DEBUG, "connect to %s (%s) failed: %s", c->name, c->peer,
		 uv_strerror(err));
	if (connect_err_rank(err) > connect_err_rank(c->connect_err))
		c->connect_err = err;
	c->ai_next = c->ai_next->ai_next;
	if (c->ai_next) {
		try_connect(c);
		return;
	}
	core_log(c->tag, UCS_LOG_WARNING, "connect to %s failed: %s", c->name,
		 uv_strerror(c->connect_err));
	conn_fail(c, c->connect_err);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct ucs_conn *c = req->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int err;

	if (c->state == ST_DEAD)
		return;
	if (status < 0) {
		connect_failed(c, status);
		return;
	}
	if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) {
		unmap_v4(&ss);
		addr_text((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	}
	/* every protocol here sends small messages and waits for answers:
	 * Nagle plus delayed ACKs would hold them for up to 40 ms */
	uv_tcp_nodelay(&c->tcp, 1);
	if (!c->conf) {
		conn_established(c);
		return;
	}
	err = core_tls_new(&c->tls, c->conf, c->sni ? c->sni : c->host);
	if (err) {
		core_log(c->tag, UCS_LOG_WARNING, "cannot start TLS to %s: %s", c->name,
			 strerror(-err));
		conn_fail(c, -EPROTO);
		return;
	}
	c->state = ST_HANDSHAKE;
	conn_update_reading(c);
	handshake_step(c);
}

static void on_retry_closed(uv_handle_t *h)
{
	struct ucs_conn *c = h->data;

	c->retrying = false;
	if (c->state == ST_DEAD) {
		on_conn_handle_closed(h);
		return;
	}
	uv_tcp_init(core_loop(), &c->tcp);
	c->tcp.data = c;
	try_connect(c);
}

/* One attempt per resolved address, in the resolver's order; a failed
 * socket cannot be reused, so each retry gets a fresh handle. */
static void try_connect(struct ucs_conn *c)
{
	struct sockaddr_storage ss;
	int err;

	if (c->ai_next->ai_addrlen > sizeof(ss)) {
		connect_failed(c, -EINVAL);
		return;
	}
	if (c->state == ST_CONNECTING) {
		/* back to "not connecting" while the used socket closes */
		c->state = ST_RESOLVING;
		c->retrying = true;
		uv_close((uv_handle_t *)&c->tcp, on_retry_closed);
		return;
	}
	memcpy(&ss, c->ai_next->ai_addr, c->ai_next->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(c->port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->port);
	addr_text((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	c->state = ST_CONNECTING;
	err = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&ss, on_connect);
	if (err)
		connect_failed(c, err); /* ENETUNREACH and the like come at once */
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct ucs_conn *c = req->data;
	int err = core_resolve_error(status);

	c->gai_busy = false;
	if (resolved_hook && !status)
		ai = resolved_hook(c->host, ai);
	c->ai = ai;
	if (c->state == ST_DEAD) {
		conn_maybe_free(c);
		return;
	}
	if (err || !ai) {
		core_log(c->tag, UCS_LOG_WARNING, "connect to %s failed: cannot resolve %s: %s",
			 c->name, c->host, strerror(err ? -err : ENOENT));
		conn_fail(c, err ? err : -ENOENT);
		return;
	}
	c->ai_next = ai;
	try_connect(c);
}

/* --- listeners ------------------------------------------------------------ */

static void on_listener_closed(uv_handle_t *h)
{
	struct ucs_listener *l = h->data;

	core_tls_conf_unref(l->conf);
	free(l->name);
	free(l->cert_file);
	free(l->key_file);
	free(l);
	live--;
}

static void listener_close(struct ucs_listener *l)
{
	if (!l || l->closed)
		return;
	l->closed = true;
	core_ledger_remove(&l->res);
	link_del(&l->link);
	/* half-open connections would reach an accept_h that is gone */
	while (l->pending.next != &l->pending)
		conn_destroy(CORE_CONTAINER_OF(l->pending.next, struct ucs_conn, pend));
	uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}

static void listener_revoke(struct core_res *res)
{
	listener_close(CORE_CONTAINER_OF(res, struct ucs_listener, res));
}

static void conn_revoke(struct core_res *res);
static int net_listener_port(const struct ucs_listener *l);

static void on_connection(uv_stream_t *server, int status)
{
	struct ucs_listener *l = server->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct ucs_conn *c;

	if (status < 0) {
		core_log(l->tag, UCS_LOG_WARNING, "%s: accept failed: %s", l->name,
			 uv_strerror(status));
		return;
	}
	c = conn_new(l->res.owner);
	c->incoming = true;
	snprintf(c->name, sizeof(c->name), "%s", l->name);
	core_ledger_add(l->res.owner, &c->res, "connection", conn_revoke);
	if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
		conn_destroy(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1); /* see on_connect */
	if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) {
		unmap_v4(&ss);
		addr_text((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	}
	if (l->npending >= MAX_PENDING_ACCEPTS) {
		core_log(l->tag, UCS_LOG_WARNING, "%s: %zu handshakes pending, refusing %s",
			 l->name, l->npending, c->peer);
		conn_destroy(c);
		return;
	}
	c->listener = l;
	link_add(&l->pending, &c->pend);
	l->npending++;
	if (l->policy == UCS_TLS_PLAIN) {
		conn_established(c);
		return;
	}
	c->state = ST_SNIFF;
	uv_timer_start(&c->timer, on_timer, handshake_ms, 0);
	conn_update_reading(c);
}

/*
 * Who holds a TCP port we could not bind: one of our own listeners (named
 * with its plugin), or a process found through /proc (the inode of the
 * listening socket in /proc/net/tcp{,6}, then the process with that socket
 * among its descriptors - visible for our own user's processes, or all of
 * them as root). The scan of /proc runs on the thread pool and gives up
 * after PORT_OWNER_BUDGET_MS on a host with very many processes.
 */
#define PORT_OWNER_BUDGET_MS 2000
static unsigned long listening_inode(unsigned port)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	unsigned long inode = 0;
	char line[512];

	for (size_t t = 0; t < CORE_ARRAY_SIZE(tables) && !inode; t++) {
		FILE *f = fopen(tables[t], "re");

		if (!f)
			continue;
		while (!inode && fgets(line, sizeof(line), f)) {
			char local[64];
			unsigned lport, state;
			unsigned long ino;

			/* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu",
				   local, &lport, &state, &ino) == 4 &&
			    lport == port && state == 0x0A)
				inode = ino;
		}
		fclose(f);
	}
	return inode;
}

static bool process_has_socket(const char *pid, unsigned long inode)
{
	char dir[300], path[600], target[64], want[48];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = !strcmp(target, want);
	}
	closedir(d);
	return found;
}

/* Our own listener on the port: "NAME of plugin 'TAG'" into buf, true. */
static bool own_port_owner(unsigned port, char *buf, size_t cap)
{
	for (struct link *it = listeners.next; it != &listeners; it = it->next) {
		struct ucs_listener *o = CORE_CONTAINER_OF(it, struct ucs_listener, link);

		if (net_listener_port(o) == (int)port) {
			snprintf(buf, cap, "%s of plugin '%s'", o->name, o->tag);
			return true;
		}
	}
	return false;
}

/* A scan of /proc for another process holding a port: on the thread pool
 * (reading every process's descriptors can take long on a busy host), the
 * answer logged when it is found. */
struct port_scan {
	uv_work_t work;
	struct port_scan *prev, *next; /* in scans: a scan may outlive the loop at exit */
	unsigned port;
	char tag[32], name[64];
	char owner[96];
};

static struct port_scan *scans;

static void port_scan_work(uv_work_t *w)
{
	struct port_scan *ps = CORE_CONTAINER_OF(w, struct port_scan, work);
	unsigned long inode = listening_inode(ps->port);
	struct timespec t0;
	struct dirent *e;
	DIR *d;

	if (!inode || !(d = opendir("/proc")))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((e = readdir(d)) != NULL) {
		char comm_path[64], comm[64] = "";
		struct timespec now;
		FILE *f;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
		    PORT_OWNER_BUDGET_MS)
			break;
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !process_has_socket(e->d_name, inode))
			continue;
		snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", atoi(e->d_name));
		f = fopen(comm_path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		snprintf(ps->owner, sizeof(ps->owner), "process %d (%s)", atoi(e->d_name),
			 comm[0] ? comm : "?");
		break;
	}
	closedir(d);
}

static void port_scan_done(uv_work_t *w, int status)
{
	struct port_scan *ps = CORE_CONTAINER_OF(w, struct port_scan, work);

	if (status == 0 && ps->owner[0])
		core_log(ps->tag, UCS_LOG_ERROR, "%s: port %u is held by %s", ps->name, ps->port,
			 ps->owner);
	else if (status == 0)
		core_log(ps->tag, UCS_LOG_ERROR,
			 "%s: port %u is held by a process this server may not inspect", ps->name,
			 ps->port);
	if (ps->prev)
		ps->prev->next = ps->next;
	else
		scans = ps->next;
	if (ps->next)
		ps->next->prev = ps->prev;
	free(ps);
}

/* Logs who holds the port: at once for our own listeners, after a scan of
 * /proc for another process. */
static void log_port_owner(const struct ucs_listener *l, const char *address, unsigned port)
{
	struct port_scan *ps;
	char owner[128];

	if (own_port_owner(port, owner, sizeof(owner))) {
		core_log(l->tag, UCS_LOG_ERROR,
			 "%s: cannot listen on %s port %u: the port is in use by %s", l->name,
			 address, port, owner);
		return;
	}
	core_log(l->tag, UCS_LOG_ERROR,
		 "%s: cannot listen on %s port %u: the port is in use by another process", l->name,
		 address, port);
	ps = core_alloc(sizeof(*ps));
	ps->port = port;
	snprintf(ps->tag, sizeof(ps->tag), "%s", l->tag);
	snprintf(ps->name, sizeof(ps->name), "%s", l->name);
	if (uv_queue_work(core_loop(), &ps->work, port_scan_work, port_scan_done) != 0) {
		free(ps);
		return;
	}
	ps->next = scans;
	if (scans)
		scans->prev = ps;
	scans = ps;
}

static int net_listen(struct ucs_plugin *self, struct ucs_listener **out,
		      const struct ucs_listen_opts *opts, ucs_accept_h *h, void *arg)
{
	struct sockaddr_storage ss;
	struct ucs_listener *l;
	char why[300];
	int err;

	if (!out || !opts || opts->size < sizeof(*opts) || !h || opts->tls > UCS_TLS_REQUIRED)
		return -EINVAL;
	if (!self)
		self = core_self();
	err = parse_bind(opts->address, opts->port, &ss);
	if (err)
		return err;
	l = core_alloc(sizeof(*l));
	link_init(&l->pending);
	link_init(&l->link);
	set_tag(l->tag, sizeof(l->tag), self);
	l->name = core_strdup(opts->name ? opts->name : "listener");
	l->policy = opts->tls;
	l->h = h;
	l->arg = arg;
	if (l->policy != UCS_TLS_PLAIN) {
		err = core_tls_conf_server(&l->conf, opts->cert_file, opts->key_file, why,
					   sizeof(why));
		if (err) {
			core_log(l->tag, UCS_LOG_ERROR, "%s: cannot load certificate: %s", l->name,
				 why);
			free(l->name);
			free(l);
			return err;
		}
		l->cert_file = core_strdup(opts->cert_file);
		l->key_file = core_strdup(opts->key_file);
	}
	live++;
	uv_tcp_init(core_loop(), &l->tcp);
	l->tcp.data = l;
	core_ledger_add(self, &l->res, "listener", listener_revoke);
	link_add(&listeners, &l->link);
	err = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
	if (err == UV_EADDRINUSE) {
		link_del(&l->link); /* not its own owner */
		link_init(&l->link);
		log_port_owner(l, opts->address ? opts->address : "::", opts->port);
		listener_close(l);
		return err;
	}
	if (err) {
		core_log(l->tag, UCS_LOG_ERROR, "%s: cannot listen on %s port %u: %s", l->name,
			 opts->address ? opts->address : "::", opts->port, uv_strerror(err));
		listener_close(l);
		return err;
	}
	core_log(l->tag, UCS_LOG_INFO, "%s: listening on %s port %d%s", l->name,
		 opts->address ? opts->address : "::", net_listener_port(l),
		 l->policy == UCS_TLS_PLAIN	 ? ""
		 : l->policy == UCS_TLS_OPTIONAL ? " (tls-optional)"
						 : " (tls-required)");
	*out = l;
	return 0;
}

static int net_listener_port(const struct ucs_listener *l)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int err;

	if (!l)
		return -EINVAL;
	err = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
	if (err)
		return err;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* --- connections: the plugin's calls -------------------------------------- */

/* As if the plugin had called close(): what it queued still goes out. */
static void conn_close(struct ucs_conn *c)
{
	if (!c || c->state == ST_DEAD || c->state == ST_CLOSING || c->close_wanted)
		return;
	c->notify = false;
	core_ledger_remove(&c->res);
	c->linger_at = uv_now(core_loop()) + LINGER_MS;
	if (c->state != ST_OPEN) {
		/* the contract says queued data is flushed: keep connecting in
		 * the background, within the same deadline as a flush */
		if (!c->incoming && c->early.len && !c->fail_err) {
			c->close_wanted = true;
			/* a connect deadline that comes sooner stays */
			if (uv_timer_get_due_in(&c->timer) > LINGER_MS)
				uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
			return;
		}
		conn_destroy(c);
		return;
	}
	conn_linger(c);
}

/* Flushes what is queued and a TLS close_notify, until linger_at. */
static void conn_linger(struct ucs_conn *c)
{
	uint64_t now = uv_now(core_loop());

	c->state = ST_CLOSING;
	conn_update_reading(c);
	uv_timer_stop(&c->kick);
	if (c->tls) {
		core_tls_close_notify(c->tls);
		flush_tls(c);
	}
	uv_timer_start(&c->timer, on_timer, c->linger_at > now ? c->linger_at - now : 1, 0);
	if (!c->wq_bytes)
		conn_finish_close(c);
}

static void conn_revoke(struct core_res *res)
{
	conn_close(CORE_CONTAINER_OF(res, struct ucs_conn, res));
}

/*
 * Client TLS configurations, cached. Building one parses the whole CA bundle
 * (the system one holds ~150 certificates: milliseconds on the loop thread),
 * and a server that federates or sends mail opens many connections with the
 * same settings. The cache is keyed by everything that goes into the
 * configuration and emptied on SIGHUP, when CA files may have changed.
 */
#define CLIENT_CONF_CACHE 8

static struct {
	char *key;
	struct core_tls_conf *conf;
} client_confs[CLIENT_CONF_CACHE];
static unsigned client_conf_next;

static void client_conf_flush(void)
{
	for (unsigned i = 0; i < CLIENT_CONF_CACHE; i++) {
		free(client_confs[i].key);
		core_tls_conf_unref(client_confs[i].conf);
		client_confs[i].key = NULL;
		client_confs[i].conf = NULL;
	}
}

static int client_conf_get(const struct ucs_connect_opts *o, struct core_tls_conf **out, char *why,
			   size_t cap)
{
	char key[3 * 4096 + 8];
	unsigned slot;
	int err;

	snprintf(key, sizeof(key), "%d\n%s\n%s\n%s", !o->verify_none, o->ca_file ? o->ca_file : "",
		 o->cert_file ? o->cert_file : "", o->key_file ? o->key_file : "");
	for (unsigned i = 0; i < CLIENT_CONF_CACHE; i++) {
		if (client_confs[i].key && strcmp(client_confs[i].key, key) == 0) {
			*out = core_tls_conf_ref(client_confs[i].conf);
			return 0;
		}
	}
	err = core_tls_conf_client(out, o->ca_file, !o->verify_none, o->cert_file, o->key_file, why,
				   cap);
	if (err)
		return err;
	slot = client_conf_next++ % CLIENT_CONF_CACHE;
	free(client_confs[slot].key);
	core_tls_conf_unref(client_confs[slot].conf);
	client_confs[slot].key = core_strdup(key);
	client_confs[slot].conf = core_tls_conf_ref(*out);
	return 0;
}

static int net_connect(struct ucs_plugin *self, struct ucs_conn **out,
		       const struct ucs_connect_opts *opts, const struct ucs_conn_handlers *h,
		       void *arg)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct core_tls_conf *conf = NULL;
	struct ucs_conn *c;
	char why[300];
	int err;

	if (!out || !opts || opts->size < sizeof(*opts) || !opts->host || !*opts->host ||
	    !opts->port || !h || h->size < sizeof(*h) || (opts->sni && !*opts->sni))
		return -EINVAL;
	if (!self)
		self = core_self();
	if (opts->tls) {
		err = client_conf_get(opts, &conf, why, sizeof(why));
		if (err) {
			core_log(core_plugin_name(self), UCS_LOG_ERROR,
				 "connect to %s port %u: cannot set up TLS: %s", opts->host,
				 opts->port, why);
			return err;
		}
	}
	c = conn_new(self);
	c->conf = conf;
	c->h = *h;
	c->has_h = true;
	c->notify = true;
	c->arg = arg;
	c->host = core_strdup(opts->host);
	c->sni = opts->sni ? core_strdup(opts->sni) : NULL;
	c->port = opts->port;
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CONNECT_MS_DEFAULT;
	snprintf(c->name, sizeof(c->name), "%s:%u", opts->host, opts->port);
	snprintf(c->peer, sizeof(c->peer), "%s", c->name);
	core_ledger_add(self, &c->res, "connection", conn_revoke);
	c->state = ST_RESOLVING;
	if (core_resolve_is_invalid(c->host)) {
		/* RFC 6761: never asked for; the failure still comes through
		 * on_close, as every other lookup failure does */
		core_log(c->tag, UCS_LOG_WARNING, "connect to %s failed: %s is an invalid name",
			 c->name, c->host);
		c->fail_err = -ENOENT;
		uv_timer_start(&c->timer, on_timer, 0, 0);
		*out = c;
		return 0;
	}
	err = uv_getaddrinfo(core_loop(), &c->gai, on_resolved, c->host, NULL, &hints);
	if (err) {
		err = core_resolve_error(err);
		conn_destroy(c);
		return err;
	}
	c->gai_busy = true;
	uv_timer_start(&c->timer, on_timer, c->timeout_ms, 0);
	*out = c;
	return 0;
}

static void net_set_handlers(struct ucs_conn *c, const struct ucs_conn_handlers *h, void *arg)
{
	if (!c || !h || h->size < sizeof(*h))
		return;
	c->h = *h;
	c->arg = arg;
	c->has_h = true;
}

static int net_send(struct ucs_conn *c, const void *data, size_t len)
{
	int err;

	if (!c || (!data && len))
		return -EINVAL;
	if (!c->notify || c->state == ST_CLOSING || c->state == ST_DEAD)
		return -ENOTCONN;
	if (!len)
		return 0;
	if (c->state != ST_OPEN) {
		bytes_append(&c->early, data, len);
		c->drain_wanted = true;
		return 0;
	}
	err = write_plain(c, data, len);
	if (!err)
		c->drain_wanted = true;
	return err;
}

static size_t net_pending(const struct ucs_conn *c)
{
	return c ? c->wq_bytes + c->early.len : 0;
}

static void net_pause_read(struct ucs_conn *c)
{
	if (!c || c->paused)
		return;
	c->paused = true;
	uv_timer_stop(&c->kick);
	conn_update_reading(c);
}

static void net_resume_read(struct ucs_conn *c)
{
	if (!c || !c->paused)
		return;
	c->paused = false;
	if (c->state != ST_OPEN)
		return;
	conn_update_reading(c);
	/* never from inside the call: the plugin may be in on_data right now */
	if (pump_wanted(c))
		uv_timer_start(&c->kick, on_kick, 0, 0);
}

static int net_is_tls(const struct ucs_conn *c)
{
	return c && c->tls ? 1 : 0;
}

/* Either end's address of an established connection, IPv4 unmapped. */
static int conn_addr(const struct ucs_conn *c, struct sockaddr_storage *out,
		     int (*get)(const uv_tcp_t *, struct sockaddr *, int *))
{
	int len = sizeof(*out);
	int err;

	if (!c || !out)
		return -EINVAL;
	if (c->state < ST_SNIFF || c->state == ST_DEAD || c->retrying)
		return -ENOTCONN;
	err = get(&c->tcp, (struct sockaddr *)out, &len);
	if (!err)
		unmap_v4(out);
	return err;
}

static int net_peer_addr(const struct ucs_conn *c, struct sockaddr_storage *out)
{
	return conn_addr(c, out, uv_tcp_getpeername);
}

static int net_local_addr(const struct ucs_conn *c, struct sockaddr_storage *out)
{
	return conn_addr(c, out, uv_tcp_getsockname);
}

/* --- UDP ------------------------------------------------------------------ */

static void on_udp_closed(uv_handle_t *h)
{
	free(h->data);
	live--;
}

static void udp_close(struct ucs_udp *u)
{
	if (!u || u->closed)
		return;
	u->closed = true;
	core_ledger_remove(&u->res);
	link_del(&u->link);
	uv_close((uv_handle_t *)&u->udp, on_udp_closed);
}

static void udp_revoke(struct core_res *res)
{
	udp_close(CORE_CONTAINER_OF(res, struct ucs_udp, res));
}

static void on_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
			unsigned flags)
{
	struct ucs_udp *u = h->data;
	struct sockaddr_storage ss;

	if (u->closed || (n == 0 && !from))
		return;
	if (n < 0) {
		core_log(u->tag, UCS_LOG_DEBUG, "udp: receive failed: %s", uv_strerror((int)n));
		return;
	}
	if (flags & UV_UDP_PARTIAL)
		core_log(u->tag, UCS_LOG_DEBUG, "udp: datagram truncated to %zd bytes", n);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, from,
	       from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in));
	unmap_v4(&ss);
	u->h(u, (struct sockaddr *)&ss, (const uint8_t *)buf->base, (size_t)n, u->arg);
}

static int net_udp_open(struct ucs_plugin *self, struct ucs_udp **out, const char *address,
			uint16_t port, ucs_udp_recv_h *h, void *arg)
{
	struct sockaddr_storage ss;
	struct ucs_udp *u;
	int err;

	if (!out || !h)
		return -EINVAL;
	if (!self)
		self = core_self();
	err = parse_bind(address, port, &ss);
	if (err)
		return err;
	u = core_alloc(sizeof(*u));
	set_tag(u->tag, sizeof(u->tag), self);
	u->h = h;
	u->arg = arg;
	u->family = ss.ss_family;
	uv_udp_init(core_loop(), &u->udp);
	u->udp.data = u;
	live++;
	link_init(&u->link);
	link_add(&udps, &u->link);
	core_ledger_add(self, &u->res, "udp socket", udp_revoke);
	err = uv_udp_bind(&u->udp, (struct sockaddr *)&ss, 0);
	if (!err)
		err = uv_udp_recv_start(&u->udp, on_alloc, on_udp_recv);
	if (err) {
		core_log(u->tag, UCS_LOG_ERROR, "udp: cannot bind %s port %u: %s",
			 address ? address : "::", port, uv_strerror(err));
		udp_close(u);
		return err;
	}
	*out = u;
	return 0;
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	(void)status;
	free(CORE_CONTAINER_OF(req, struct udp_wreq, req));
}

static int net_udp_send(struct ucs_udp *u, const struct sockaddr *to, const void *data, size_t len)
{
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
	struct udp_wreq *w;
	uv_buf_t buf;
	int err;

	if (!u || !to || (!data && len))
		return -EINVAL;
	if (u->closed)
		return -ENOTCONN;
	/* a dual-stack socket reaches v4 peers through mapped addresses */
	if (u->family == AF_INET6 && to->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)to;

		mapped.sin6_port = s4->sin_port;
		mapped.sin6_addr.s6_addr[10] = 0xff;
		mapped.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&mapped.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		to = (const struct sockaddr *)&mapped;
	}
	w = core_alloc(sizeof(*w) + len);
	w->len = len;
	if (len)
		memcpy(w->data, data, len);
	buf = uv_buf_init((char *)w->data, (unsigned)len);
	err = uv_udp_send(&w->req, &u->udp, &buf, 1, to, on_udp_sent);
	if (err)
		free(w);
	return err;
}

static int net_udp_local_addr(const struct ucs_udp *u, struct sockaddr_storage *out)
{
	int len = sizeof(*out);

	if (!u || !out)
		return -EINVAL;
	return uv_udp_getsockname(&u->udp, (struct sockaddr *)out, &len);
}

/* --- the core's side ------------------------------------------------------ */

int core_net_init(void)
{
	return 0;
}

void core_net_set_handshake_timeout(uint32_t ms)
{
	handshake_ms = ms ? ms : HANDSHAKE_MS_DEFAULT;
}

void core_net_set_write_limits(size_t high, size_t low)
{
	wq_high = high ? high : WQ_HIGH_DEFAULT;
	wq_low = high ? low : WQ_LOW_DEFAULT;
	if (wq_low > wq_high)
		wq_low = wq_high;
}

void core_net_set_resolved_hook(core_net_resolved_h *h)
{
	resolved_hook = h;
}

size_t core_net_live(void)
{
	return live;
}

void core_net_reload_certs(void)
{
	client_conf_flush();
	for (struct link *p = listeners.next; p != &listeners; p = p->next) {
		struct ucs_listener *l = CORE_CONTAINER_OF(p, struct ucs_listener, link);
		struct core_tls_conf *conf;
		char why[300];

		if (l->policy == UCS_TLS_PLAIN)
			continue;
		if (core_tls_conf_server(&conf, l->cert_file, l->key_file, why, sizeof(why))) {
			core_log(l->tag, UCS_LOG_ERROR,
				 "%s: cannot reload certificate: %s; keeping the previous one",
				 l->name, why);
			continue;
		}
		core_tls_conf_unref(l->conf);
		l->conf = conf;
		core_log(l->tag, UCS_LOG_INFO, "%s: reloaded certificate %s", l->name,
			 l->cert_file);
	}
}

void core_net_shutdown(void)
{
	uv_loop_t *loop = core_loop();
	unsigned rounds = 0;

	while (listeners.next != &listeners)
		listener_close(CORE_CONTAINER_OF(listeners.next, struct ucs_listener, link));
	while (conns.next != &conns)
		conn_destroy(CORE_CONTAINER_OF(conns.next, struct ucs_conn, link));
	while (udps.next != &udps)
		udp_close(CORE_CONTAINER_OF(udps.next, struct ucs_udp, link));
	/* close callbacks, and lookups still running in the pool, finish here */
	while ((live || core_resolve_cancel_all()) && rounds++ < 1000)
		uv_run(loop, UV_RUN_ONCE);
	if (live)
		core_log("core", UCS_LOG_WARNING, "net: %zu sockets still open at shutdown", live);
	client_conf_flush();
	core_tls_shutdown();
}

const struct ucs_net_api core_net_api = {
	.size = sizeof(struct ucs_net_api),
	.listen = net_listen,
	.listener_port = net_listener_port,
	.listener_close = listener_close,
	.connect = net_connect,
	.set_handlers = net_set_handlers,
	.send = net_send,
	.pending = net_pending,
	.pause_read = net_pause_read,
	.resume_read = net_resume_read,
	.is_tls = net_is_tls,
	.peer_addr = net_peer_addr,
	.local_addr = net_local_addr,
	.close = conn_close,
	.udp_open = net_udp_open,
	.udp_send = net_udp_send,
	.udp_local_addr = net_udp_local_addr,
	.udp_close = udp_close,
	.resolve = core_resolve,
	.resolve_srv = core_resolve_srv,
	.resolve_cancel = core_resolve_cancel,
};
