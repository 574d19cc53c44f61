/*
 * plugins/wsrpc/wsrpc.c - the server: listeners, sessions and their life
 * (HTTP upgrade, WebSocket, close handshake), the limits and deadlines,
 * JSON-RPC dispatch with batches, replies and notifications.
 *
 * A session's states: HTTP (reading the upgrade request) -> OPEN (the
 * plugin's on_open() ran; requests flow) -> CLOSING (we sent a close frame
 * and wait a little for the peer's answer; the plugin's on_close() already
 * ran) -> DEAD (the connection is handed back to the host; the struct lives
 * on while someone holds a reference). The server holds one reference while
 * the connection exists; every entry from the host (data, close) holds one
 * for its duration, so a callback into the plugin may close the session or
 * drop the plugin's references without pulling the memory away under us.
 *
 * Deadlines (handshake, authentication, ping, the close wait) are not one
 * timer per session but one sweep per server over every session, a few
 * times per shortest deadline: cheaper in memory and in loop work with tens
 * of thousands of idle sessions, and precise enough for limits in seconds.
 *
 * Memory: an idle session is this struct and the host's connection. The
 * HTTP request is buffered only while it is incomplete, the frame reader
 * only holds a buffer while a message is partial, and replies are
 * serialised into a stack buffer when they are small.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonrpc.h"
#include "ws_frame.h"
#include "ws_http.h"
#include "wsrpc.h"

#define CLOSE_WAIT_MS  2000 /* for the peer's close frame after ours */
#define SWEEP_MIN_MS   10
#define SWEEP_MAX_MS   1000
#define RATE_STRIKES   3 /* rejected calls, times the burst, before 4009 */
#define STACK_FRAME    4096
#define FRAME_HEADROOM 10 /* a server frame header: 2 + 8 length bytes */
#define MAX_ITERS      16 /* nested walks over the session list */
#define MAX_WAITING    64 /* batch members of a session awaiting a reply */

enum sess_state {
	SS_HTTP = 0,
	SS_OPEN,
	SS_CLOSING,
	SS_DEAD,
};

/* One member of a batch that is answered. The batch keeps a copy of the
 * member's id (what on_request() got) and, once there, the serialised
 * response - not the parsed message, which is freed after dispatch: a
 * batch waiting for one slow call costs its ids and its replies, and the
 * replies count against max_queue. */
struct batch_slot {
	json_t *id; /* owned copy */
	char *text; /* the response, serialised; NULL until it came */
	size_t len;
	int waiting;
};

/* A batch whose replies are being collected (JSON-RPC sends one array). */
struct batch {
	struct batch *next;
	size_t n, pending;
	size_t held; /* bytes of its replies in */
	struct batch_slot slots[];
};

struct wsrpc_listener {
	struct wsrpc_server *srv;
	struct ucs_listener *l;
	struct wsrpc_iface iface;
	uint32_t gen;
};

struct wsrpc_session {
	struct wsrpc_session *prev, *next;
	struct wsrpc_server *srv; /* NULL once dead */
	struct ucs_conn *conn;	  /* NULL once handed back */
	unsigned refs;
	uint8_t state;
	uint8_t opened; /* on_open ran; on_close is due */
	uint8_t authenticated;
	uint8_t tls;
	uint8_t ping_out;  /* a ping awaits an answer */
	uint32_t gen;	   /* the listener it came through */
	uint32_t tokens_m; /* rate limit bucket, in thousandths of a call */
	uint32_t rejected; /* calls refused since the bucket was last full */
	uint32_t waiting;  /* batch members awaiting a reply */
	size_t held;	   /* bytes of batch replies held until their batch completes */
	uint64_t id;
	uint64_t started_ms; /* Unix time */
	uint64_t t_start;    /* loop times: accepted */
	uint64_t t_open;     /* upgraded */
	uint64_t t_rx;	     /* last byte received */
	uint64_t t_tokens;   /* bucket last refilled */
	uint64_t t_deadline; /* ping sent / close wait ends */
	uint8_t *http;	     /* the incomplete upgrade request */
	size_t http_len, http_cap;
	struct ws_reader rd;
	struct batch *batches;
	void *data;
	char *user_agent;
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} peer;
	char peer_name[INET6_ADDRSTRLEN];
};

struct wsrpc_server {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	char name[32];
	struct wsrpc_handlers h;
	void *arg;
	struct wsrpc_config cfg;
	struct wsrpc_listener *ls[WSRPC_MAX_IFACES];
	uint32_t next_gen;
	uint64_t next_id;
	struct wsrpc_session *head;
	uint32_t n_http; /* connections still in the HTTP upgrade */
	/* The next session of each walk over the list in progress: a walk's
	 * callback may close any session, which moves these on. */
	struct wsrpc_session *iters[MAX_ITERS];
	int n_iters;
	struct ucs_timer *sweep;
	uint64_t sweep_ms;
	struct wsrpc_server_stats st;
};

static const char empty_text[] = "";

static uint64_t now_ms(const struct wsrpc_server *srv)
{
	return srv->host->timer->now_ms();
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define LOGD(srv, ...)                                                                  \
	do {                                                                            \
		if ((srv)->host->log->enabled((srv)->self, UCS_LOG_DEBUG))              \
			(srv)->host->log->log((srv)->self, UCS_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/* --- session lifetime ----------------------------------------------------- */

struct wsrpc_session *wsrpc_session_ref(struct wsrpc_session *s)
{
	if (s)
		s->refs++;
	return s;
}

void wsrpc_session_unref(struct wsrpc_session *s)
{
	if (!s || --s->refs)
		return;
	free(s->user_agent);
	free(s);
}

static void batches_free(struct wsrpc_session *s)
{
	while (s->batches) {
		struct batch *b = s->batches;

		s->batches = b->next;
		for (size_t i = 0; i < b->n; i++) {
			json_decref(b->slots[i].id);
			free(b->slots[i].text);
		}
		free(b);
	}
	s->waiting = 0;
	s->held = 0;
}

/* The plugin's view of the session ends: on_close, counters. */
static void sess_end(struct wsrpc_session *s, int code, const char *reason)
{
	struct wsrpc_server *srv = s->srv;

	if (!s->opened)
		return;
	s->opened = 0;
	srv->st.sessions--;
	if (s->authenticated)
		srv->st.authenticated--;
	if (s->tls)
		srv->st.tls_sessions--;
	LOGD(srv, "%s: session %llu from %s closed: %d %s", srv->name, (unsigned long long)s->id,
	     s->peer_name, code, reason);
	if (srv->h.on_close)
		srv->h.on_close(s, code, reason, srv->arg);
}

/* Hands the connection back to the host (closing it unless the host ended
 * it: conn already NULL) and drops the server's reference. */
static void sess_release(struct wsrpc_session *s)
{
	struct wsrpc_server *srv = s->srv;

	if (s->state == SS_DEAD)
		return;
	if (s->state == SS_HTTP)
		srv->n_http--;
	s->state = SS_DEAD;
	if (s->conn)
		srv->host->net->close(s->conn);
	s->conn = NULL;
	for (int i = 0; i < srv->n_iters; i++) {
		if (srv->iters[i] == s)
			srv->iters[i] = s->next;
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	free(s->http);
	s->http = NULL;
	s->http_len = s->http_cap = 0;
	ws_reader_free(&s->rd);
	batches_free(s);
	s->srv = NULL;
	wsrpc_session_unref(s);
}

/* Calls fn for every session (in state `only`, or any when -1), safe
 * against fn closing sessions, including others than its own. */
static void sessions_walk(struct wsrpc_server *srv, int only,
			  void (*fn)(struct wsrpc_session *s, void *arg), void *arg)
{
	struct wsrpc_session *s;
	int k;

	if (srv->n_iters >= MAX_ITERS)
		return; /* a plugin recursing through callbacks: refuse, not corrupt */
	k = srv->n_iters++;
	srv->iters[k] = srv->head;
	while ((s = srv->iters[k])) {
		srv->iters[k] = s->next;
		if (only >= 0 && s->state != only)
			continue;
		wsrpc_session_ref(s);
		fn(s, arg);
		wsrpc_session_unref(s);
	}
	srv->n_iters--;
}

/* --- sending -------------------------------------------------------------- */

/* One frame, header and payload in one write; no queue check. */
static int send_frame_raw(struct wsrpc_session *s, int op, const void *payload, size_t len)
{
	uint8_t stack[STACK_FRAME], *buf = stack;
	size_t hl;
	int err;

	if (!s->conn)
		return -ENOTCONN;
	if (len + 14 > sizeof(stack)) {
		buf = malloc(len + 14);
		if (!buf)
			return -ENOMEM;
	}
	hl = ws_frame_header(buf, 1, op, len, NULL);
	if (len)
		memcpy(buf + hl, payload, len);
	err = s->srv->host->net->send(s->conn, buf, hl + len);
	if (!err)
		s->srv->st.bytes_out += hl + len;
	if (buf != stack)
		free(buf);
	return err;
}

static void send_close_frame(struct wsrpc_session *s, int code, const char *reason)
{
	uint8_t pl[125];
	size_t n = ws_close_payload(pl, code, reason);

	send_frame_raw(s, WS_OP_CLOSE, pl, n);
}

static int send_event_raw(struct wsrpc_session *s, const char *kind, const char *reason, int code,
			  const char *message);
static void sess_fail(struct wsrpc_session *s, int code, const char *reason);

/* The queue went over max_queue: a last word, then the session goes. */
static void queue_overflow(struct wsrpc_session *s)
{
	struct wsrpc_server *srv = s->srv;

	srv->st.closed_by_limit++;
	LOGD(srv, "%s: session %llu from %s: %zu bytes queued (max_queue %u), closing", srv->name,
	     (unsigned long long)s->id, s->peer_name, srv->host->net->pending(s->conn),
	     srv->cfg.limits.max_queue);
	send_event_raw(s, "resync", "queue_overflow", WSRPC_CLOSE_QUEUE_OVERFLOW,
		       "outbound queue overflow: reconnect and ask for a snapshot");
	sess_fail(s, WSRPC_CLOSE_QUEUE_OVERFLOW, "outbound queue overflow");
}

/* Before a send: a peer that let max_queue bytes pile up goes. A message
 * is never refused for its own size - the queue may pass max_queue by one
 * message - so a large reply to a peer that reads is fine. Replies held
 * for an incomplete batch count as queued: they are on their way out -
 * except those of the batch a reply is for (own), which will be one
 * message with it. */
static int check_queue_(struct wsrpc_session *s, size_t own)
{
	if (s->conn &&
	    s->srv->host->net->pending(s->conn) + (s->held - own) > s->srv->cfg.limits.max_queue) {
		queue_overflow(s);
		return -ENOBUFS;
	}
	return 0;
}

static int check_queue(struct wsrpc_session *s)
{
	return check_queue_(s, 0);
}

static int send_frame(struct wsrpc_session *s, int op, const void *payload, size_t len)
{
	int err;

	if (s->state != SS_OPEN)
		return -ENOTCONN;
	err = check_queue(s);
	if (err)
		return err;
	err = send_frame_raw(s, op, payload, len);
	if (err)
		return err == -ENOMEM ? err : -ENOTCONN;
	return 0;
}

/* Serialisation into a buffer that keeps room for the frame header. */
struct dbuf {
	uint8_t *p;
	size_t len, cap;
	int heap;
};

static int dbuf_add(const char *data, size_t size, void *arg)
{
	struct dbuf *b = arg;

	if (b->len + size > b->cap) {
		size_t cap = b->cap * 2;
		uint8_t *p;

		while (cap < b->len + size)
			cap *= 2;
		p = b->heap ? realloc(b->p, cap) : malloc(cap);
		if (!p)
			return -1;
		if (!b->heap)
			memcpy(p, b->p, b->len);
		b->p = p;
		b->cap = cap;
		b->heap = 1;
	}
	memcpy(b->p + b->len, data, size);
	b->len += size;
	return 0;
}

/* Sends the text in b (after FRAME_HEADROOM bytes) as a text frame; the
 * caller checked the state and the queue and frees b. */
static int send_dbuf(struct wsrpc_session *s, struct dbuf *b)
{
	uint8_t hdr[14];
	size_t plen = b->len - FRAME_HEADROOM, hl;
	uint8_t *start;

	hl = ws_frame_header(hdr, 1, WS_OP_TEXT, plen, NULL);
	start = b->p + FRAME_HEADROOM - hl;
	memcpy(start, hdr, hl);
	if (s->srv->host->net->send(s->conn, start, hl + plen))
		return -ENOTCONN;
	s->srv->st.bytes_out += hl + plen;
	return 0;
}

/* Sends a JSON value as a text frame; raw: without the queue check. */
static int send_json_(struct wsrpc_session *s, const json_t *obj, int raw)
{
	uint8_t stack[STACK_FRAME];
	struct dbuf b = {stack, FRAME_HEADROOM, sizeof(stack), 0};
	int err;

	if (!s->conn || (!raw && s->state != SS_OPEN))
		return -ENOTCONN;
	if (!raw && check_queue(s))
		return -ENOBUFS;
	if (json_dump_callback(obj, dbuf_add, &b, JSON_COMPACT)) {
		err = -ENOMEM;
		goto out;
	}
	err = send_dbuf(s, &b);
out:
	if (b.heap)
		free(b.p);
	return err;
}

static int send_json(struct wsrpc_session *s, const json_t *obj)
{
	return send_json_(s, obj, 0);
}

/* server.event {kind, reason?, code?, message?}, before a close. */
static int send_event_raw(struct wsrpc_session *s, const char *kind, const char *reason, int code,
			  const char *message)
{
	json_t *p = json_pack("{ss}", "kind", kind), *n;
	int err;

	if (p && reason)
		json_object_set_new(p, "reason", json_string(reason));
	if (p && code)
		json_object_set_new(p, "code", json_integer(code));
	if (p && message)
		json_object_set_new(p, "message", json_string(message));
	n = jsonrpc_notification("server.event", p);
	if (!n)
		return -ENOMEM;
	err = send_json_(s, n, 1);
	json_decref(n);
	if (!err)
		s->srv->st.notifications++;
	return err;
}

/* --- closing -------------------------------------------------------------- */

/* Closes at once: close frame (when open), on_close, connection. */
static void sess_fail(struct wsrpc_session *s, int code, const char *reason)
{
	if (s->state == SS_OPEN) {
		send_close_frame(s, code, reason);
		s->state = SS_CLOSING; /* on_close must not send any more */
	}
	sess_end(s, code, reason);
	sess_release(s);
}

/* The close handshake from our side: close frame, on_close now, and the
 * connection after the peer answered (or CLOSE_WAIT_MS). */
static void sess_close(struct wsrpc_session *s, int code, const char *reason)
{
	if (s->state != SS_OPEN) {
		if (s->state == SS_HTTP)
			sess_release(s);
		return;
	}
	send_close_frame(s, code, reason);
	s->state = SS_CLOSING;
	s->t_deadline = now_ms(s->srv) + CLOSE_WAIT_MS;
	/* replies still due are dropped; the reader goes on, to find the
	 * peer's close frame */
	batches_free(s);
	sess_end(s, code, reason);
}

static void sess_close_with_event(struct wsrpc_session *s, int code, const char *reason,
				  const char *why)
{
	send_event_raw(s, "closing", reason, code, why);
	sess_close(s, code, why);
}

void wsrpc_session_close(struct wsrpc_session *s, int code, const char *reason)
{
	if (!s || s->state == SS_DEAD || s->state == SS_CLOSING)
		return;
	sess_close(s, code, reason ? reason : "");
}

/* --- replies -------------------------------------------------------------- */

/* Every response of batch b is in: out as one array (members without a
 * response - out of memory - are left out). */
static void batch_finish(struct wsrpc_session *s, struct batch *b)
{
	uint8_t stack[STACK_FRAME];
	struct dbuf d = {stack, FRAME_HEADROOM, sizeof(stack), 0};
	struct batch **pp;
	int fail = 0, any = 0;

	for (pp = &s->batches; *pp && *pp != b; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = b->next;
	fail = dbuf_add("[", 1, &d);
	for (size_t i = 0; i < b->n; i++) {
		struct batch_slot *sl = &b->slots[i];

		if (sl->text && !fail) {
			fail = (any && dbuf_add(",", 1, &d)) || dbuf_add(sl->text, sl->len, &d);
			any = 1;
		}
		s->held -= sl->text ? sl->len : 0;
		free(sl->text);
		json_decref(sl->id);
	}
	free(b);
	if (!fail)
		fail = dbuf_add("]", 1, &d);
	if (!fail && any && s->state == SS_OPEN && !check_queue(s))
		send_dbuf(s, &d);
	if (d.heap)
		free(d.p);
}

/* A response object for call `id`: into its batch, or out at once. Steals
 * obj. The batch slot is found by the id pointer on_request() gave out;
 * failing that (a plugin that copied the id), by an equal id - equal ids
 * of calls in flight at once are the client's ambiguity anyway. The caller
 * holds a reference on s: a send may close it. */
static int deliver(struct wsrpc_session *s, json_t *id, json_t *obj)
{
	int err;

	for (int by_value = 0; by_value < 2; by_value++) {
		for (struct batch *b = s->batches; b; b = b->next) {
			for (size_t i = 0; i < b->n; i++) {
				struct batch_slot *sl = &b->slots[i];

				if (!sl->waiting ||
				    (by_value ? !json_equal(sl->id, id) : sl->id != id))
					continue;
				sl->waiting = 0;
				s->waiting--;
				err = 0;
				/* held replies are queued bytes: the queue check
				 * comes before one more is kept */
				if (check_queue_(s, b->held)) {
					json_decref(obj);
					return -ENOBUFS;
				}
				sl->text = json_dumps(obj, JSON_COMPACT);
				json_decref(obj);
				if (sl->text) {
					sl->len = strlen(sl->text);
					s->held += sl->len;
					b->held += sl->len;
				} else {
					err = -ENOMEM;
				}
				if (--b->pending == 0) {
					batch_finish(s, b);
					if (s->state != SS_OPEN)
						err = -ENOBUFS;
				}
				return err;
			}
		}
	}
	err = send_json(s, obj);
	json_decref(obj);
	return err;
}

/* Every public send holds a reference on the session for its duration: a
 * send that overflows the queue closes the session (on_close runs inside
 * the send) and the server drops its reference, which may be the last. */
int wsrpc_reply(struct wsrpc_session *s, json_t *id, json_t *result)
{
	json_t *obj;
	int err;

	if (!id) {
		json_decref(result);
		return 0;
	}
	if (!s || s->state != SS_OPEN) {
		json_decref(result);
		return -ENOTCONN;
	}
	obj = jsonrpc_result(id, result);
	if (!obj)
		return -ENOMEM;
	wsrpc_session_ref(s);
	err = deliver(s, id, obj);
	wsrpc_session_unref(s);
	return err;
}

int wsrpc_error(struct wsrpc_session *s, json_t *id, enum wsrpc_reason r, const char *message,
		json_t *data)
{
	json_t *obj;
	int err;

	if (!id) {
		json_decref(data);
		return 0;
	}
	if (!s || s->state != SS_OPEN) {
		json_decref(data);
		return -ENOTCONN;
	}
	obj = jsonrpc_error(id, r, message, data);
	if (!obj)
		return -ENOMEM;
	s->srv->st.errors++;
	wsrpc_session_ref(s);
	err = deliver(s, id, obj);
	wsrpc_session_unref(s);
	return err;
}

/* An error the transport answers itself (id may be JSON null). */
static void transport_error(struct wsrpc_session *s, json_t *id, enum wsrpc_reason r,
			    const char *message)
{
	wsrpc_error(s, id ? id : json_null(), r, message, NULL);
}

int wsrpc_notify(struct wsrpc_session *s, const char *method, json_t *params)
{
	json_t *obj;
	int err;

	if (!s || s->state != SS_OPEN) {
		json_decref(params);
		return -ENOTCONN;
	}
	obj = jsonrpc_notification(method, params);
	if (!obj)
		return -ENOMEM;
	wsrpc_session_ref(s);
	err = send_json(s, obj);
	json_decref(obj);
	if (err != -ENOTCONN && err != -ENOMEM && s->srv)
		s->srv->st.notifications++;
	wsrpc_session_unref(s);
	return err;
}

int wsrpc_send_text(struct wsrpc_session *s, const char *text, size_t len)
{
	int err;

	if (!s || s->state != SS_OPEN)
		return -ENOTCONN;
	wsrpc_session_ref(s);
	err = send_frame(s, WS_OP_TEXT, text, len);
	if (err != -ENOTCONN && err != -ENOMEM && s->srv)
		s->srv->st.notifications++;
	wsrpc_session_unref(s);
	return err;
}

/* --- requests ------------------------------------------------------------- */

/* Takes n calls from the bucket; 0 when the session is over its rate (then
 * what was left is spent and every call short counts as refused). Every
 * message is charged before it is classified - a parse error, an invalid
 * call or a batch member costs as much as a valid call - so that answering
 * junk is bounded by the rate too. */
static int rate_take(struct wsrpc_session *s, size_t n)
{
	const struct wsrpc_limits *l = &s->srv->cfg.limits;
	uint64_t now = now_ms(s->srv), full = (uint64_t)l->rate_burst * 1000,
		 t = s->tokens_m + (now - s->t_tokens) * l->rate_per_s, have, short_by;

	s->t_tokens = now;
	s->tokens_m = (uint32_t)(t > full ? full : t);
	if (s->tokens_m == full)
		s->rejected = 0;
	have = s->tokens_m / 1000;
	if (have >= n) {
		s->tokens_m -= (uint32_t)(n * 1000);
		return 1;
	}
	s->tokens_m -= (uint32_t)(have * 1000);
	short_by = (uint64_t)n - have + s->rejected;
	s->rejected = (uint32_t)(short_by > UINT32_MAX ? UINT32_MAX : short_by);
	return 0;
}

/* After a message: a session that went on sending far over its rate goes. */
static void rate_check(struct wsrpc_session *s)
{
	if (s->state != SS_OPEN ||
	    s->rejected < (uint64_t)RATE_STRIKES * s->srv->cfg.limits.rate_burst)
		return;
	s->srv->st.closed_by_limit++;
	sess_close_with_event(s, WSRPC_CLOSE_RATE, "rate_limited", "message rate exceeded");
}

/* One call; id is what to answer it with (a batch member's: the batch's
 * copy), NULL for a notification. */
static void call_one(struct wsrpc_session *s, const struct jsonrpc_call *c, json_t *id)
{
	struct wsrpc_server *srv = s->srv;

	srv->st.requests++;
	if (!rate_take(s, 1)) {
		/* a notification over the rate is dropped: it gets no answer;
		 * an invalid one is answered (invalid calls always are) */
		if (id || c->invalid)
			transport_error(s, id, WSRPC_RATE_LIMITED, "too many requests: slow down");
		return;
	}
	if (c->invalid) {
		transport_error(s, id, WSRPC_INVALID_REQUEST, c->why);
		return;
	}
	if (id && s->waiting > MAX_WAITING) {
		transport_error(s, id, WSRPC_RATE_LIMITED,
				"too many batch calls awaiting a reply: wait for their replies");
		return;
	}
	srv->h.on_request(s, c->method, c->params, id, srv->arg);
}

static void call_batch(struct wsrpc_session *s, struct jsonrpc_msg *m)
{
	struct batch *b;
	size_t due = 0, k = 0;

	for (size_t i = 0; i < m->n; i++)
		due += m->calls[i].invalid || m->calls[i].id;
	b = calloc(1, sizeof(*b) + due * sizeof(b->slots[0]));
	if (!b) {
		transport_error(s, NULL, WSRPC_INTERNAL, "out of memory");
		return;
	}
	b->n = due;
	b->pending = 1; /* the dispatch loop itself */
	b->next = s->batches;
	s->batches = b;
	for (size_t i = 0; i < m->n && s->state == SS_OPEN; i++) {
		struct jsonrpc_call *c = &m->calls[i];
		json_t *id = NULL;

		if (c->invalid || c->id) {
			/* a reply is due: the transport's own or the plugin's */
			struct batch_slot *sl = &b->slots[k++];

			sl->id = c->id ? json_copy(c->id) : json_null();
			if (!sl->id)
				sl->id = json_null();
			sl->waiting = 1;
			b->pending++;
			s->waiting++;
			id = sl->id;
		}
		call_one(s, c, id);
	}
	/* the batch is gone when the session closed meanwhile */
	if (s->state != SS_OPEN)
		return;
	if (--b->pending == 0)
		batch_finish(s, b);
}

static void on_text(struct wsrpc_session *s, const uint8_t *text, size_t len)
{
	struct jsonrpc_msg m;

	if (jsonrpc_decode((const char *)text, len, s->srv->cfg.limits.max_batch, &m)) {
		transport_error(s, NULL, WSRPC_INTERNAL, "out of memory");
	} else if (m.error >= 0) {
		/* a batch refused as too large costs what its calls would */
		size_t n = json_is_array(m.root) ? json_array_size(m.root) : 1;

		s->srv->st.requests++;
		if (!rate_take(s, n ? n : 1))
			transport_error(s, NULL, WSRPC_RATE_LIMITED,
					"too many requests: slow down");
		else
			transport_error(s, NULL, (enum wsrpc_reason)m.error, m.why);
	} else if (!m.batch) {
		call_one(s, &m.calls[0], m.calls[0].id);
	} else {
		call_batch(s, &m);
	}
	jsonrpc_msg_free(&m);
	rate_check(s);
}

/* The reader's handler: one message or control frame. */
static int on_frame(int op, const uint8_t *data, size_t len, void *arg)
{
	struct wsrpc_session *s = arg;
	const char *reason;
	size_t rlen;
	int code, bad;

	switch (op) {
	case WS_OP_PING:
		if (s->state == SS_OPEN)
			send_frame(s, WS_OP_PONG, data, len);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		bad = ws_close_parse(data, len, &code, &reason, &rlen);
		if (s->state == SS_CLOSING) {
			sess_release(s); /* the answer to ours */
			return -1;
		}
		if (bad) {
			sess_fail(s, WSRPC_CLOSE_PROTOCOL, "invalid close frame");
			return -1;
		}
		{
			char text[124];
			uint8_t pl[125];
			size_t n = 0;

			snprintf(text, sizeof(text), "%.*s", (int)rlen, reason);
			/* echo the code (none for an empty close) */
			if (code != 1005)
				n = ws_close_payload(pl, code, "");
			send_frame_raw(s, WS_OP_CLOSE, pl, n);
			s->state = SS_CLOSING;
			sess_end(s, code, text);
			sess_release(s);
		}
		return -1;
	case WS_OP_BINARY:
		if (s->state == SS_OPEN)
			sess_fail(s, WSRPC_CLOSE_UNSUPPORTED, "binary messages are not supported");
		break;
	case WS_OP_TEXT:
		if (s->state == SS_OPEN)
			on_text(s, data, len);
		break;
	default:
		break;
	}
	return s->state == SS_OPEN || s->state == SS_CLOSING ? 0 : -1;
}

static const char *violation_text(int code)
{
	switch (code) {
	case WSRPC_CLOSE_TOO_BIG:
		return "frame or message too big";
	case WSRPC_CLOSE_BAD_DATA:
		return "invalid UTF-8 in a text message";
	default:
		return "protocol error";
	}
}

static void ws_input(struct wsrpc_session *s, const uint8_t *data, size_t len)
{
	int ret;

	/* in CLOSING, only the peer's close frame matters: on_frame drops data */
	ret = ws_reader_feed(&s->rd, data, len, on_frame, s);
	if (ret <= 0 || s->state == SS_DEAD)
		return;
	if (s->state == SS_CLOSING) {
		sess_release(s);
		return;
	}
	if (ret == WSRPC_CLOSE_TOO_BIG)
		s->srv->st.closed_by_limit++;
	LOGD(s->srv, "%s: session %llu from %s: %s, closing with %d", s->srv->name,
	     (unsigned long long)s->id, s->peer_name, violation_text(ret), ret);
	sess_fail(s, ret, violation_text(ret));
}

/* --- the HTTP upgrade ----------------------------------------------------- */

static void http_reject(struct wsrpc_session *s, int status, const char *text, int deadline)
{
	char buf[512];
	int n = ws_http_error_response(status, text, buf, sizeof(buf));

	if (n > 0 && (size_t)n < sizeof(buf) && s->conn) {
		if (!s->srv->host->net->send(s->conn, buf, (size_t)n))
			s->srv->st.bytes_out += (size_t)n;
	}
	if (deadline)
		s->srv->st.closed_by_limit++;
	else
		s->srv->st.rejected++;
	LOGD(s->srv, "%s: upgrade from %s refused: %d", s->srv->name, s->peer_name, status);
	sess_release(s);
}

/* The message limit of a session: a smaller one until it authenticated, so
 * that an anonymous peer cannot make the server hold max_message bytes. */
static size_t msg_limit(const struct wsrpc_session *s)
{
	const struct wsrpc_limits *l = &s->srv->cfg.limits;

	if (s->authenticated || l->max_message_unauthenticated >= l->max_message)
		return l->max_message;
	return l->max_message_unauthenticated;
}

static int origin_allowed(const struct wsrpc_config *cfg, const char *origin)
{
	if (!cfg->n_origins || !origin[0])
		return 1; /* no list, or not a browser */
	for (size_t i = 0; i < cfg->n_origins; i++) {
		if (!strcasecmp(cfg->allowed_origins[i], origin))
			return 1;
	}
	return 0;
}

static void upgraded(struct wsrpc_session *s, const struct ws_upgrade *up)
{
	struct wsrpc_server *srv = s->srv;
	const struct wsrpc_limits *l = &srv->cfg.limits;
	char resp[256];
	int n;

	if (!origin_allowed(&srv->cfg, up->origin)) {
		http_reject(s, 403, "origin not allowed", 0);
		return;
	}
	if (srv->st.sessions >= l->max_sessions) {
		http_reject(s, 503, "too many sessions", 0);
		return;
	}
	n = ws_http_accept_response(up, resp, sizeof(resp));
	if (n <= 0 || (size_t)n >= sizeof(resp) || srv->host->net->send(s->conn, resp, (size_t)n)) {
		sess_release(s);
		return;
	}
	srv->st.bytes_out += (size_t)n;
	if (up->user_agent[0])
		s->user_agent = strdup(up->user_agent);
	srv->n_http--;
	s->state = SS_OPEN;
	s->t_open = s->t_rx = s->t_tokens = now_ms(srv);
	s->tokens_m = l->rate_burst * 1000;
	ws_reader_init(&s->rd, WS_SERVER, l->max_frame, msg_limit(s));
	s->opened = 1;
	s->id = ++srv->next_id;
	srv->st.sessions++;
	srv->st.accepted++;
	if (s->tls)
		srv->st.tls_sessions++;
	LOGD(srv, "%s: session %llu from %s%s (%s)", srv->name, (unsigned long long)s->id,
	     s->peer_name, s->tls ? " with TLS" : "", up->user_agent);
	if (srv->h.on_open)
		srv->h.on_open(s, srv->arg);
}

/* Whether the header block ends (an empty line: "\n\n" or "\n\r\n") in
 * buf[from..len). */
static int http_header_ends(const uint8_t *buf, size_t len, size_t from)
{
	const uint8_t *p = buf + from, *end = buf + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		if (p + 1 < end && p[1] == '\n')
			return 1;
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
			return 1;
		p++;
	}
	return 0;
}

/* The upgrade request, as it arrives. The first read is parsed at once
 * (so that a peer that does not speak HTTP is answered at once); after that
 * the request is parsed again only when the new bytes end the header block
 * or reach max_header - not on every read, which made a request dribbled in
 * byte by byte cost quadratic time. */
static void http_input(struct wsrpc_session *s, const uint8_t *data, size_t len)
{
	struct ws_upgrade up;
	const uint8_t *buf = data;
	size_t blen = len, consumed = 0, old = s->http_len,
	       max_header = s->srv->cfg.limits.max_header;
	int status = 0, ret;

	if (old) {
		if (old + len > s->http_cap) {
			size_t cap = s->http_cap * 2;
			uint8_t *p;

			if (cap < old + len)
				cap = old + len;
			p = realloc(s->http, cap);
			if (!p) {
				sess_release(s);
				return;
			}
			s->http = p;
			s->http_cap = cap;
		}
		memcpy(s->http + old, data, len);
		s->http_len += len;
		buf = s->http;
		blen = s->http_len;
		if (blen < max_header && !http_header_ends(buf, blen, old > 3 ? old - 3 : 0))
			return;
	}
	ret = ws_http_parse_upgrade(buf, blen, max_header, &up, &consumed, &status);
	if (ret == -EAGAIN) {
		if (!old) {
			s->http = malloc(len);
			if (!s->http) {
				sess_release(s);
				return;
			}
			memcpy(s->http, data, len);
			s->http_len = s->http_cap = len;
		}
		return;
	}
	if (ret) {
		http_reject(s, status, NULL, 0);
		return;
	}
	upgraded(s, &up);
	/* bytes after the request are the first WebSocket frames */
	if (s->state == SS_OPEN && consumed < blen)
		ws_input(s, buf + consumed, blen - consumed);
	if (s->state != SS_DEAD) {
		free(s->http);
		s->http = NULL;
		s->http_len = s->http_cap = 0;
	}
}

/* --- host callbacks ------------------------------------------------------- */

static void conn_data(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg)
{
	struct wsrpc_session *s = arg;

	(void)conn;
	if (s->state == SS_DEAD)
		return;
	wsrpc_session_ref(s);
	s->srv->st.bytes_in += len;
	s->t_rx = now_ms(s->srv);
	s->ping_out = 0;
	if (s->state == SS_HTTP)
		http_input(s, data, len);
	else
		ws_input(s, data, len);
	wsrpc_session_unref(s);
}

static void conn_closed(struct ucs_conn *conn, int err, void *arg)
{
	struct wsrpc_session *s = arg;

	(void)conn;
	if (s->state == SS_DEAD)
		return;
	wsrpc_session_ref(s);
	s->conn = NULL; /* the host frees it */
	if (s->opened)
		sess_end(s, 1006, err ? "connection lost" : "closed without a close frame");
	sess_release(s);
	wsrpc_session_unref(s);
}

static const struct ucs_conn_handlers conn_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = conn_data,
	.on_close = conn_closed,
};

static void on_accept(struct ucs_listener *listener, struct ucs_conn *conn, void *arg)
{
	struct wsrpc_listener *wl = arg;
	struct wsrpc_server *srv = wl->srv;
	const struct ucs_net_api *net = srv->host->net;
	struct sockaddr_storage ss;
	struct wsrpc_session *s = calloc(1, sizeof(*s));

	(void)listener;
	if (!s) {
		net->close(conn);
		return;
	}
	s->srv = srv;
	s->conn = conn;
	s->refs = 1;
	s->state = SS_HTTP;
	s->gen = wl->gen;
	s->tls = net->is_tls(conn) ? 1 : 0;
	s->started_ms = unix_ms();
	s->t_start = s->t_rx = now_ms(srv);
	if (!net->peer_addr(conn, &ss)) {
		if (ss.ss_family == AF_INET) {
			memcpy(&s->peer.in4, &ss, sizeof(s->peer.in4));
			inet_ntop(AF_INET, &s->peer.in4.sin_addr, s->peer_name,
				  sizeof(s->peer_name));
		} else if (ss.ss_family == AF_INET6) {
			memcpy(&s->peer.in6, &ss, sizeof(s->peer.in6));
			inet_ntop(AF_INET6, &s->peer.in6.sin6_addr, s->peer_name,
				  sizeof(s->peer_name));
		}
	}
	s->next = srv->head;
	if (srv->head)
		srv->head->prev = s;
	srv->head = s;
	srv->n_http++;
	net->set_handlers(conn, &conn_handlers, s);
	/* connections still upgrading count toward max_sessions: a flood of
	 * handshakes that never finish cannot hold more than that */
	if (srv->st.sessions + srv->n_http > srv->cfg.limits.max_sessions)
		http_reject(s, 503, "too many sessions", 0);
}

/* --- deadlines ------------------------------------------------------------ */

static void sweep_one(struct wsrpc_session *s, void *arg)
{
	struct wsrpc_server *srv = s->srv;
	uint64_t now = *(const uint64_t *)arg;
	const struct wsrpc_limits *l = &srv->cfg.limits;
	char why[96];

	switch (s->state) {
	case SS_HTTP:
		if (now - s->t_start < l->handshake_timeout_ms)
			return;
		http_reject(s, 408, "no complete upgrade request in time", 1);
		return;
	case SS_OPEN:
		if (!s->authenticated && now - s->t_open >= l->auth_timeout_ms) {
			srv->st.closed_by_limit++;
			snprintf(why, sizeof(why), "no login within %u ms", l->auth_timeout_ms);
			sess_close_with_event(s, WSRPC_CLOSE_AUTH_DEADLINE, "auth_deadline", why);
			return;
		}
		if (s->ping_out) {
			if (now - s->t_deadline < l->ping_timeout_ms)
				return;
			srv->st.closed_by_limit++;
			snprintf(why, sizeof(why), "no answer to a ping within %u ms",
				 l->ping_timeout_ms);
			sess_fail(s, WSRPC_CLOSE_POLICY, why);
			return;
		}
		if (now - s->t_rx >= l->ping_interval_ms) {
			uint8_t pl[8];

			for (int i = 0; i < 8; i++)
				pl[i] = (uint8_t)(now >> (56 - 8 * i));
			s->ping_out = 1;
			s->t_deadline = now;
			send_frame(s, WS_OP_PING, pl, sizeof(pl));
		}
		return;
	case SS_CLOSING:
		if (now >= s->t_deadline)
			sess_release(s);
		return;
	default:
		return;
	}
}

static void on_sweep(struct ucs_timer *t, void *arg)
{
	struct wsrpc_server *srv = arg;
	uint64_t now = now_ms(srv);

	(void)t;
	sessions_walk(srv, -1, sweep_one, &now);
}

static uint64_t sweep_interval(const struct wsrpc_limits *l)
{
	uint64_t m = l->handshake_timeout_ms;

	if (l->auth_timeout_ms < m)
		m = l->auth_timeout_ms;
	if (l->ping_interval_ms < m)
		m = l->ping_interval_ms;
	if (l->ping_timeout_ms < m)
		m = l->ping_timeout_ms;
	m /= 4;
	return m < SWEEP_MIN_MS ? SWEEP_MIN_MS : m > SWEEP_MAX_MS ? SWEEP_MAX_MS : m;
}

/* --- the server ----------------------------------------------------------- */

int wsrpc_server_new(struct ucs_plugin *self, const struct ucs_host *host, const char *name,
		     const struct wsrpc_handlers *h, void *arg, struct wsrpc_server **out)
{
	struct wsrpc_server *srv;

	*out = NULL;
	if (!h || !h->on_request)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->self = self;
	srv->host = host;
	snprintf(srv->name, sizeof(srv->name), "%s", name ? name : "wsrpc");
	srv->h = *h;
	srv->arg = arg;
	wsrpc_limits_default(&srv->cfg.limits);
	*out = srv;
	return 0;
}

/* Whether listener wl serves interface b as configured now. */
static int iface_same(const struct wsrpc_server *srv, const struct wsrpc_listener *wl,
		      const struct wsrpc_iface *b)
{
	const struct wsrpc_iface *a = &wl->iface;
	int port_ok = a->port == b->port ||
		      (b->port && !a->port && srv->host->net->listener_port(wl->l) == b->port);

	return port_ok && a->tls == b->tls && !strcmp(a->bind, b->bind) &&
	       !strcmp(a->cert, b->cert) && !strcmp(a->key, b->key);
}

static void listener_free(struct wsrpc_server *srv, struct wsrpc_listener *wl)
{
	if (!wl)
		return;
	if (wl->l)
		srv->host->net->listener_close(wl->l);
	free(wl);
}

static int listener_open(struct wsrpc_server *srv, const struct wsrpc_iface *f,
			 struct wsrpc_listener **out)
{
	struct wsrpc_listener *wl = calloc(1, sizeof(*wl));
	struct ucs_listen_opts o = {.size = sizeof(o)};
	int err;

	*out = NULL;
	if (!wl)
		return -ENOMEM;
	wl->srv = srv;
	wl->iface = *f;
	wl->gen = ++srv->next_gen;
	o.name = srv->name;
	o.address = f->bind;
	o.port = f->port;
	o.tls = f->tls;
	o.cert_file = f->tls != UCS_TLS_PLAIN ? f->cert : NULL;
	o.key_file = f->tls != UCS_TLS_PLAIN ? f->key : NULL;
	err = srv->host->net->listen(srv->self, &wl->l, &o, on_accept, wl);
	if (err) {
		if (err == -EADDRINUSE)
			srv->host->log->log(srv->self, UCS_LOG_ERROR,
					    "%s: port %u (%s) is already in use by another "
					    "program or plugin; this interface stays closed",
					    srv->name, f->port, f->bind);
		else
			srv->host->log->log(srv->self, UCS_LOG_ERROR,
					    "%s: cannot open interface %s port %u: %s", srv->name,
					    f->bind, f->port, strerror(-err));
		free(wl);
		return err;
	}
	*out = wl;
	return 0;
}

static void close_removed(struct wsrpc_session *s, void *arg)
{
	if (s->gen == *(const uint32_t *)arg)
		sess_fail(s, WSRPC_CLOSE_GOING_AWAY, "interface removed");
}

static void new_limits(struct wsrpc_session *s, void *arg)
{
	const struct wsrpc_limits *l = arg;

	s->rd.max_frame = l->max_frame;
	s->rd.max_message = msg_limit(s);
}

int wsrpc_server_configure(struct wsrpc_server *srv, const struct wsrpc_config *cfg)
{
	struct wsrpc_listener *next[WSRPC_MAX_IFACES] = {0};
	int first_err = 0;
	size_t n = cfg->n_ifaces < WSRPC_MAX_IFACES ? cfg->n_ifaces : WSRPC_MAX_IFACES;

	/* keep what did not change: interfaces with a port first (which may be
	 * the port a port-0 interface got), then those with port 0 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if ((cfg->ifaces[i].port == 0) != pass)
				continue;
			for (size_t j = 0; j < WSRPC_MAX_IFACES; j++) {
				if (srv->ls[j] && iface_same(srv, srv->ls[j], &cfg->ifaces[i])) {
					next[i] = srv->ls[j];
					srv->ls[j] = NULL;
					break;
				}
			}
		}
	}
	/* close the others, and the sessions that came through them: before
	 * opening, so that an interface that moved can take its port back */
	for (size_t j = 0; j < WSRPC_MAX_IFACES; j++) {
		struct wsrpc_listener *wl = srv->ls[j];

		if (!wl)
			continue;
		srv->ls[j] = NULL;
		sessions_walk(srv, -1, close_removed, &wl->gen);
		listener_free(srv, wl);
	}
	srv->cfg = *cfg;
	for (size_t i = 0; i < n; i++) {
		int err;

		if (!next[i]) {
			err = listener_open(srv, &cfg->ifaces[i], &next[i]);
			if (err && !first_err)
				first_err = err;
		}
		srv->ls[i] = next[i];
	}
	/* new limits hold for the next frame of every session */
	sessions_walk(srv, SS_OPEN, new_limits, &srv->cfg.limits);
	/* the sweep timer comes with the first configuration, so that a
	 * server never configured needs nothing from the host to be freed */
	if (!srv->sweep && srv->host->timer->open(srv->self, &srv->sweep, on_sweep, srv)) {
		srv->host->log->log(srv->self, UCS_LOG_ERROR, "%s: no timer for the deadlines",
				    srv->name);
		return first_err ? first_err : -ENOMEM;
	}
	srv->sweep_ms = sweep_interval(&cfg->limits);
	srv->host->timer->start(srv->sweep, srv->sweep_ms, srv->sweep_ms);
	return first_err;
}

static void shut_one(struct wsrpc_session *s, void *arg)
{
	(void)arg;
	if (s->state == SS_OPEN)
		send_event_raw(s, "shutdown", NULL, WSRPC_CLOSE_GOING_AWAY,
			       "the server is shutting down");
	sess_fail(s, WSRPC_CLOSE_GOING_AWAY, "server shutting down");
}

void wsrpc_server_free(struct wsrpc_server *srv)
{
	if (!srv)
		return;
	for (size_t j = 0; j < WSRPC_MAX_IFACES; j++) {
		listener_free(srv, srv->ls[j]);
		srv->ls[j] = NULL;
	}
	if (srv->sweep)
		srv->host->timer->close(srv->sweep);
	srv->sweep = NULL;
	/* a plugin walking the list from on_close cannot stop the shutdown */
	srv->n_iters = 0;
	sessions_walk(srv, -1, shut_one, NULL);
	free(srv);
}

void wsrpc_server_stats(const struct wsrpc_server *srv, struct wsrpc_server_stats *out)
{
	*out = srv->st;
}

int wsrpc_server_port(const struct wsrpc_server *srv, size_t i)
{
	if (!srv || i >= WSRPC_MAX_IFACES || !srv->ls[i] || !srv->ls[i]->l)
		return -ENOENT;
	return srv->host->net->listener_port(srv->ls[i]->l);
}

void wsrpc_server_foreach(struct wsrpc_server *srv, void (*fn)(struct wsrpc_session *s, void *arg),
			  void *arg)
{
	sessions_walk(srv, SS_OPEN, fn, arg);
}

/* --- session accessors ---------------------------------------------------- */

int wsrpc_session_open(const struct wsrpc_session *s)
{
	return s && s->state == SS_OPEN;
}

void wsrpc_session_set_data(struct wsrpc_session *s, void *data)
{
	s->data = data;
}

void *wsrpc_session_data(const struct wsrpc_session *s)
{
	return s->data;
}

uint64_t wsrpc_session_id(const struct wsrpc_session *s)
{
	return s->id;
}

void wsrpc_session_authenticated(struct wsrpc_session *s)
{
	if (!s || s->state != SS_OPEN || s->authenticated)
		return;
	s->authenticated = 1;
	s->srv->st.authenticated++;
	s->rd.max_message = msg_limit(s);
}

int wsrpc_session_is_authenticated(const struct wsrpc_session *s)
{
	return s && s->authenticated;
}

int wsrpc_session_is_tls(const struct wsrpc_session *s)
{
	return s && s->tls;
}

const char *wsrpc_session_peer_name(const struct wsrpc_session *s)
{
	return s->peer_name;
}

const struct sockaddr *wsrpc_session_peer(const struct wsrpc_session *s)
{
	return &s->peer.sa;
}

const char *wsrpc_session_user_agent(const struct wsrpc_session *s)
{
	return s->user_agent ? s->user_agent : empty_text;
}

uint64_t wsrpc_session_started_ms(const struct wsrpc_session *s)
{
	return s->started_ms;
}

size_t wsrpc_session_queued(const struct wsrpc_session *s)
{
	if (!s || !s->conn || !s->srv)
		return 0;
	return s->srv->host->net->pending(s->conn);
}
