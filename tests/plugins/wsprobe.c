/*
 * tests/plugins/wsprobe.c - a test plugin on the wsrpc transport, so that
 * tests/integration/test_ws_transport.py can drive every transport
 * behaviour (upgrade, framing, limits, deadlines, queue overflow, batches,
 * shutdown) through the real ucsd without the real client-api.
 *
 * Config section "wsprobe": the transport's keys (interfaces, limits,
 * origins). Methods (sorted; * = allowed before auth):
 *   auth*        marks the session authenticated -> {session}
 *   close        {code, reason}: wsrpc_session_close
 *   echo*        params -> params (null when absent)
 *   fanout       {params, text}: probe.broadcast to every session, walking
 *                the plugin's own session list without taking references
 *                (as client-api and admin-api do; a send may close the
 *                session it sends to) with wsrpc_notify, or with
 *                wsrpc_send_text when text is true -> {count}
 *   flood        {count, size}: that many probe.flood notifications of
 *                `size` bytes of payload -> {sent, error}
 *   notify_all   {params}: probe.broadcast to every session -> {count}
 *   slow         {ms}: replies {slept: ms} after a timer
 *   stats        the server's counters
 *   whoami*      {id, peer, tls, authenticated, user_agent}
 * Log lines the tests wait for:
 *   "wsprobe listening on port N (interface I)"
 *   "wsprobe session N open from ADDR"
 *   "wsprobe session N closed: CODE REASON"
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#include "wsrpc.h"

struct slow_call {
	struct slow_call *next;
	struct probe *p;
	struct ucs_timer *timer;
	struct wsrpc_session *s;
	json_t *id;
	int64_t ms;
};

/* The plugin's own list of open sessions (session data). */
struct probe_sess {
	struct probe_sess *prev, *next;
	struct wsrpc_session *s;
};

struct probe {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct wsrpc_config cfg;
	struct wsrpc_server *srv;
	struct slow_call *slow;
	struct probe_sess *sessions;
};

static const struct ucs_cfg_key probe_keys[] = {
	WSRPC_CFG_KEYS("[]"),
	UCS_CFG_END,
};

#define LOG(p, ...) (p)->host->log->log((p)->self, UCS_LOG_INFO, __VA_ARGS__)

static void m_auth(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	(void)params;
	(void)arg;
	wsrpc_session_authenticated(s);
	wsrpc_reply(s, id, json_pack("{sI}", "session", (json_int_t)wsrpc_session_id(s)));
}

static void m_close(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	static const char *const allowed[] = {"code", "reason", NULL};
	const char *reason = "closed by request";
	int64_t code = 1000;

	(void)arg;
	if (wsrpc_params_only(s, id, params, allowed) ||
	    wsrpc_param_int(s, id, params, "code", 0, 1000, 4999, &code) == -EINVAL ||
	    wsrpc_param_string(s, id, params, "reason", 0, 100, &reason) == -EINVAL)
		return;
	wsrpc_reply(s, id, json_true());
	wsrpc_session_close(s, (int)code, reason);
}

static void m_echo(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	(void)arg;
	wsrpc_reply(s, id, params ? json_incref(params) : json_null());
}

static void m_flood(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	int64_t count, size, sent = 0;
	char *fill;
	int err = 0;

	(void)arg;
	if (wsrpc_param_int(s, id, params, "count", 1, 1, 1000000, &count) ||
	    wsrpc_param_int(s, id, params, "size", 1, 0, 1 << 20, &size))
		return;
	fill = malloc((size_t)size + 1);
	if (!fill) {
		wsrpc_error(s, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	memset(fill, 'x', (size_t)size);
	fill[size] = 0;
	/* the session may go (queue overflow) while we flood it */
	wsrpc_session_ref(s);
	while (sent < count) {
		err = wsrpc_notify(s, "probe.flood",
				   json_pack("{sIss}", "seq", (json_int_t)sent, "data", fill));
		if (err)
			break;
		sent++;
	}
	free(fill);
	wsrpc_reply(s, id, json_pack("{sIsi}", "sent", (json_int_t)sent, "error", err));
	wsrpc_session_unref(s);
}

struct bcast {
	json_t *params;
	int count;
};

static void bcast_one(struct wsrpc_session *s, void *arg)
{
	struct bcast *b = arg;

	if (!wsrpc_notify(s, "probe.broadcast", json_incref(b->params)))
		b->count++;
}

static void m_notify_all(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct probe *p = arg;
	struct bcast b = {params ? json_object_get(params, "params") : NULL, 0};

	if (!b.params)
		b.params = json_null();
	wsrpc_server_foreach(p->srv, bcast_one, &b);
	wsrpc_reply(s, id, json_pack("{si}", "count", b.count));
}

/* Walks the plugin's list as a plugin fanning out events does: no
 * reference on the session sent to, so a send that closes it (queue
 * overflow: on_close frees the entry) must leave the session itself valid
 * until the send returns; the next entry is read before the send. */
static void m_fanout(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	static const char *const allowed[] = {"params", "text", NULL};
	struct probe *p = arg;
	struct probe_sess *e, *next;
	json_t *bp = params ? json_object_get(params, "params") : NULL;
	char *text = NULL;
	int as_text = 0, count = 0;

	if (wsrpc_params_only(s, id, params, allowed) ||
	    wsrpc_param_bool(s, id, params, "text", 0, &as_text) == -EINVAL)
		return;
	if (!bp)
		bp = json_null();
	if (as_text) {
		json_t *n = json_pack("{sssssO}", "jsonrpc", "2.0", "method", "probe.broadcast",
				      "params", bp);

		text = n ? json_dumps(n, JSON_COMPACT) : NULL;
		json_decref(n);
		if (!text) {
			wsrpc_error(s, id, WSRPC_INTERNAL, "out of memory", NULL);
			return;
		}
	}
	/* the caller's reply comes after the walk: keep it */
	wsrpc_session_ref(s);
	for (e = p->sessions; e; e = next) {
		int err;

		next = e->next;
		if (text)
			err = wsrpc_send_text(e->s, text, strlen(text));
		else
			err = wsrpc_notify(e->s, "probe.broadcast", json_incref(bp));
		if (!err)
			count++;
	}
	free(text);
	wsrpc_reply(s, id, json_pack("{si}", "count", count));
	wsrpc_session_unref(s);
}

static void slow_free(struct slow_call *c)
{
	struct slow_call **pp;

	for (pp = &c->p->slow; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	c->p->host->timer->close(c->timer);
	wsrpc_session_unref(c->s);
	json_decref(c->id);
	free(c);
}

static void slow_fire(struct ucs_timer *t, void *arg)
{
	struct slow_call *c = arg;

	(void)t;
	/* harmless when the session went meanwhile: -ENOTCONN */
	wsrpc_reply(c->s, c->id, json_pack("{sI}", "slept", (json_int_t)c->ms));
	slow_free(c);
}

static void m_slow(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct probe *p = arg;
	struct slow_call *c;
	int64_t ms;

	if (wsrpc_param_int(s, id, params, "ms", 1, 0, 60000, &ms))
		return;
	c = calloc(1, sizeof(*c));
	if (!c || p->host->timer->open(p->self, &c->timer, slow_fire, c)) {
		free(c);
		wsrpc_error(s, id, WSRPC_INTERNAL, "no timer", NULL);
		return;
	}
	c->p = p;
	c->s = wsrpc_session_ref(s);
	c->id = json_incref(id);
	c->ms = ms;
	c->next = p->slow;
	p->slow = c;
	p->host->timer->start(c->timer, (uint64_t)ms, 0);
}

static void m_stats(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct probe *p = arg;
	struct wsrpc_server_stats st;

	(void)params;
	wsrpc_server_stats(p->srv, &st);
	wsrpc_reply(s, id,
		    json_pack("{sI sI sI sI sI sI sI sI sI sI sI}", "sessions",
			      (json_int_t)st.sessions, "authenticated",
			      (json_int_t)st.authenticated, "tls_sessions",
			      (json_int_t)st.tls_sessions, "accepted", (json_int_t)st.accepted,
			      "rejected", (json_int_t)st.rejected, "closed_by_limit",
			      (json_int_t)st.closed_by_limit, "requests", (json_int_t)st.requests,
			      "errors", (json_int_t)st.errors, "notifications",
			      (json_int_t)st.notifications, "bytes_in", (json_int_t)st.bytes_in,
			      "bytes_out", (json_int_t)st.bytes_out));
}

static void m_whoami(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	(void)params;
	(void)arg;
	wsrpc_reply(s, id,
		    json_pack("{sI ss sb sb ss sI}", "id", (json_int_t)wsrpc_session_id(s), "peer",
			      wsrpc_session_peer_name(s), "tls", wsrpc_session_is_tls(s),
			      "authenticated", wsrpc_session_is_authenticated(s), "user_agent",
			      wsrpc_session_user_agent(s), "queued",
			      (json_int_t)wsrpc_session_queued(s)));
}

static const struct wsrpc_method methods[] = {
	{"auth", WSRPC_M_PUBLIC, m_auth},
	{"close", 0, m_close},
	{"echo", WSRPC_M_PUBLIC, m_echo},
	{"fanout", 0, m_fanout},
	{"flood", 0, m_flood},
	{"notify_all", 0, m_notify_all},
	{"slow", 0, m_slow},
	{"stats", 0, m_stats},
	{"whoami", WSRPC_M_PUBLIC, m_whoami},
};

static void on_open(struct wsrpc_session *s, void *arg)
{
	struct probe *p = arg;
	struct probe_sess *e = calloc(1, sizeof(*e));

	if (e) {
		e->s = s;
		e->next = p->sessions;
		if (p->sessions)
			p->sessions->prev = e;
		p->sessions = e;
		wsrpc_session_set_data(s, e);
	}
	LOG(p, "wsprobe session %llu open from %s", (unsigned long long)wsrpc_session_id(s),
	    wsrpc_session_peer_name(s));
}

static void on_request(struct wsrpc_session *s, const char *method, json_t *params, json_t *id,
		       void *arg)
{
	wsrpc_dispatch(methods, sizeof(methods) / sizeof(methods[0]), s, method, params, id, arg);
}

static void on_close(struct wsrpc_session *s, int code, const char *reason, void *arg)
{
	struct probe *p = arg;
	struct probe_sess *e = wsrpc_session_data(s);

	if (e) {
		if (e->prev)
			e->prev->next = e->next;
		else
			p->sessions = e->next;
		if (e->next)
			e->next->prev = e->prev;
		wsrpc_session_set_data(s, NULL);
		free(e);
	}
	LOG(p, "wsprobe session %llu closed: %d %s", (unsigned long long)wsrpc_session_id(s), code,
	    reason);
}

static const struct wsrpc_handlers handlers = {on_open, on_request, on_close};

static int read_config(struct probe *p, const struct ucs_cfg *section, struct wsrpc_config *out)
{
	char err[512];
	int ret = wsrpc_config_read(p->host, section, out, err, sizeof(err));

	if (ret)
		p->host->log->log(p->self, UCS_LOG_ERROR, "%s", err);
	return ret;
}

static void log_ports(struct probe *p)
{
	for (size_t i = 0; i < p->cfg.n_ifaces; i++) {
		int port = wsrpc_server_port(p->srv, i);

		if (port >= 0)
			LOG(p, "wsprobe listening on port %d (interface %zu)", port, i);
	}
}

static int probe_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct probe *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->self = self;
	p->host = host;
	err = read_config(p, host->cfg->section(self), &p->cfg);
	if (!err)
		err = wsrpc_server_new(self, host, "wsprobe", &handlers, p, &p->srv);
	if (err) {
		free(p);
		return err;
	}
	*state = p;
	return 0;
}

static int probe_start(void *state)
{
	struct probe *p = state;

	/* an interface that cannot open is logged; the others serve */
	wsrpc_server_configure(p->srv, &p->cfg);
	log_ports(p);
	return 0;
}

static int probe_reload(void *state, const struct ucs_cfg *section)
{
	struct probe *p = state;
	struct wsrpc_config cfg;
	int err = read_config(p, section, &cfg);

	if (err)
		return err;
	p->cfg = cfg;
	wsrpc_server_configure(p->srv, &p->cfg);
	log_ports(p);
	return 0;
}

static void probe_stop(void *state)
{
	struct probe *p = state;

	while (p->slow)
		slow_free(p->slow);
	wsrpc_server_free(p->srv);
	p->srv = NULL;
}

static void probe_fini(void *state)
{
	struct probe *p = state;

	/* never started: the server holds nothing of the host yet */
	wsrpc_server_free(p->srv);
	free(p);
}

static const struct ucs_plugin_desc desc = {
	UCS_PLUGIN_HEADER,
	.name = "wsprobe",
	.version = "1.0",
	.license = "MIT",
	.description = "test plugin: the wsrpc transport with probe methods",
	.config = probe_keys,
	.init = probe_init,
	.start = probe_start,
	.reload = probe_reload,
	.stop = probe_stop,
	.fini = probe_fini,
};

UCS_PLUGIN_DEFINE(desc)
