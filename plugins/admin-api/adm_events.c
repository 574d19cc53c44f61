/*
 * plugins/admin-api/adm_events.c - the server event log: events.query and
 * events.subscribe (the reference product's "Server events").
 *
 * The core keeps the last events (ucs/server.h) and publishes each new one
 * as "server.event". A query filters the kept ones; a subscription
 * forwards new ones as `events.event` notifications. The bus subscription
 * exists only while some session listens, and an event is serialised once
 * and sent to every session whose filter it passes. Nothing here logs per
 * event: a line about a forwarded event would be an event itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"

static const char *const level_names[] = {"error", "warning", "info", "debug", NULL};

static int level_from(const char *name)
{
	for (int i = 0; level_names[i]; i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	return -1;
}

static const char *level_name(int level)
{
	return level >= 0 && level <= UCS_LOG_DEBUG ? level_names[level] : "debug";
}

static json_t *event_json(const struct ucs_server_event *ev)
{
	char ts[40];

	adm_iso_time(ev->time_ms, ts, sizeof(ts));
	/* s% with the lengths: text from any plugin is not trusted to be
	 * NUL-terminated within its array */
	return json_pack("{s:I,s:s,s:I,s:s,s:s%,s:s%}", "seq", (json_int_t)ev->seq, "time", ts,
			 "time_ms", (json_int_t)ev->time_ms, "level", level_name(ev->level),
			 "plugin", ev->tag, strnlen(ev->tag, sizeof(ev->tag)), "text", ev->text,
			 strnlen(ev->text, sizeof(ev->text)));
}

/* A text that is not UTF-8 cannot be JSON: the bytes go as \xNN. */
static json_t *event_json_safe(const struct ucs_server_event *ev)
{
	json_t *o = event_json(ev);
	struct ucs_server_event copy;

	if (o)
		return o;
	copy = *ev;
	adm_quote(ev->text, copy.text, sizeof(copy.text));
	adm_quote(ev->tag, copy.tag, sizeof(copy.tag));
	copy.text[sizeof(copy.text) - 1] = 0;
	copy.tag[sizeof(copy.tag) - 1] = 0;
	return event_json(&copy);
}

struct filter {
	int level; /* the least severe level wanted */
	char plugin[32];
	const char *text;
	int64_t since_ms; /* -1: none */
};

static int passes(const struct filter *f, const struct ucs_server_event *ev)
{
	char tag[sizeof(ev->tag) + 1], text[sizeof(ev->text) + 1];

	if (ev->level > f->level)
		return 0;
	if (f->plugin[0]) {
		snprintf(tag, sizeof(tag), "%.*s", (int)sizeof(ev->tag), ev->tag);
		if (strcasecmp(tag, f->plugin) != 0)
			return 0;
	}
	if (f->since_ms >= 0 && ev->time_ms < f->since_ms)
		return 0;
	if (f->text && *f->text) {
		snprintf(text, sizeof(text), "%.*s", (int)sizeof(ev->text), ev->text);
		if (!strcasestr(text, f->text))
			return 0;
	}
	return 1;
}

/* level and plugin params, shared by query and subscribe. */
static int read_filter(struct wsrpc_session *s, json_t *id, json_t *params, struct filter *f)
{
	const char *level = NULL, *plugin = NULL;
	int rc;

	f->level = UCS_LOG_DEBUG;
	f->plugin[0] = 0;
	f->text = NULL;
	f->since_ms = -1;
	rc = wsrpc_param_string(s, id, params, "level", 0, 16, &level);
	if (rc == -EINVAL)
		return rc;
	if (level && (f->level = level_from(level)) < 0) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL,
			  "level: expected error, warning, info or debug");
		return -EINVAL;
	}
	rc = wsrpc_param_string(s, id, params, "plugin", 0, sizeof(f->plugin) - 1, &plugin);
	if (rc == -EINVAL)
		return rc;
	if (plugin)
		snprintf(f->plugin, sizeof(f->plugin), "%s", plugin);
	return 0;
}

static const struct ucs_server_api *server_api(struct adm *a)
{
	if (!UCS_HAS_SLOT(a->host, struct ucs_host, server))
		return NULL;
	if (!UCS_HAS_SLOT(a->host->server, struct ucs_server_api, restart))
		return NULL;
	return a->host->server;
}

/* ---- events.query ---- */

struct query {
	struct filter f;
	size_t limit;
	int forward; /* since given: the first `limit` after it; else the last */
	json_t **ring;
	size_t n, head; /* kept events (the ring holds the newest `limit`) */
	size_t matched;
	int nomem;
};

static void on_kept(const struct ucs_server_event *ev, void *arg)
{
	struct query *q = arg;
	json_t *o;

	if (q->nomem || !passes(&q->f, ev))
		return;
	q->matched++;
	if (q->forward && q->n >= q->limit)
		return; /* counted: "more" */
	o = event_json_safe(ev);
	if (!o) {
		q->nomem = 1;
		return;
	}
	if (q->n < q->limit) {
		q->ring[(q->head + q->n++) % q->limit] = o;
		return;
	}
	json_decref(q->ring[q->head]);
	q->ring[q->head] = o;
	q->head = (q->head + 1) % q->limit;
}

static const char *const query_params[] = {"level", "plugin", "text", "since", "limit", NULL};

void adm_m_events_query(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_api *srv = server_api(a);
	struct query q;
	json_t *since, *list;
	uint64_t after = 0;
	int64_t limit = 100;
	int rc;

	memset(&q, 0, sizeof(q));
	if (wsrpc_params_only(s, id, params, query_params) || read_filter(s, id, params, &q.f))
		return;
	rc = wsrpc_param_string(s, id, params, "text", 0, 256, &q.f.text);
	if (rc == -EINVAL)
		return;
	rc = wsrpc_param_int(s, id, params, "limit", 0, 1, 1000, &limit);
	if (rc == -EINVAL)
		return;
	since = json_object_get(params, "since");
	if (since && json_is_integer(since) && json_integer_value(since) >= 0) {
		after = (uint64_t)json_integer_value(since);
		q.forward = 1;
	} else if (since && json_is_string(since) &&
		   adm_parse_time(json_string_value(since), &q.f.since_ms) == 0) {
		q.forward = 1;
	} else if (since && !json_is_null(since)) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL,
			  "since: expected a sequence number (integer >= 0) or an ISO 8601 time "
			  "(2024-05-01T12:00:00Z)");
		return;
	}
	if (!srv) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "this ucsd keeps no event log");
		return;
	}
	q.limit = (size_t)limit;
	q.ring = calloc(q.limit, sizeof(*q.ring));
	if (!q.ring) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	srv->events(after, on_kept, &q);
	list = json_array();
	for (size_t i = 0; i < q.n; i++) {
		json_t *o = q.ring[(q.head + i) % q.limit];

		if (!list || json_array_append_new(list, o) != 0)
			json_decref(o);
	}
	free(q.ring);
	if (!list || q.nomem) {
		json_decref(list);
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	{
		json_t *last =
			json_array_size(list)
				? json_object_get(json_array_get(list, json_array_size(list) - 1),
						  "seq")
				: NULL;

		wsrpc_reply(s, id,
			    json_pack("{s:o,s:b,s:I}", "events", list, "more", q.matched > q.n,
				      "last_seq",
				      last ? json_integer_value(last) : (json_int_t)after));
	}
}

/* ---- events.subscribe ---- */

/* Sending may close a session (over its queue: wsrpc closes it at once and
 * on_close frees its adm_session), and a close may change the session list.
 * So the sessions that get the event are collected first, each held by a
 * reference, and only then is the text sent; a session closed meanwhile
 * is skipped (wsrpc_send_text answers -ENOTCONN). */
static void on_event(const struct ucs_msg *msg, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_event *ev;
	struct wsrpc_session **to = NULL;
	char *text = NULL;
	size_t len = 0, tlen = 0, n = 0, cap = 0;
	json_t *note;

	ev = a->host->bus->msg_payload(msg, &len);
	if (!ev || len < sizeof(*ev))
		return;
	for (struct adm_session *x = a->sessions; x; x = x->next) {
		struct filter f = {.level = x->ev_level, .since_ms = -1};

		if (!x->ev_on)
			continue;
		snprintf(f.plugin, sizeof(f.plugin), "%s", x->ev_plugin);
		if (!passes(&f, ev))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct wsrpc_session **t = realloc(to, ncap * sizeof(*t));

			if (!t)
				break;
			to = t;
			cap = ncap;
		}
		to[n++] = wsrpc_session_ref(x->s);
	}
	if (n) {
		note = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", "events.event",
				 "params", event_json_safe(ev));
		text = note ? json_dumps(note, JSON_COMPACT) : NULL;
		json_decref(note);
		tlen = text ? strlen(text) : 0;
	}
	for (size_t i = 0; i < n; i++) {
		/* a session over its queue is closed by wsrpc: it gets no more */
		if (text && wsrpc_send_text(to[i], text, tlen) == 0)
			a->events_sent++;
		wsrpc_session_unref(to[i]);
	}
	free(to);
	free(text);
}

static int listen_on(struct adm *a)
{
	if (a->ev_sub)
		return 0;
	return a->host->bus->subscribe(a->self, &a->ev_sub, UCS_SERVER_EVENT_TYPE, UCS_SUB_EXACT,
				       NULL, on_event, a);
}

static void listen_off(struct adm *a)
{
	if (a->ev_listeners || !a->ev_sub)
		return;
	a->host->bus->unsubscribe(a->ev_sub);
	a->ev_sub = NULL;
}

static const char *const sub_params[] = {"level", "plugin", NULL};

void adm_m_events_subscribe(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = adm_session_of(s);
	struct filter f;
	int err;

	if (!sess || wsrpc_params_only(s, id, params, sub_params) || read_filter(s, id, params, &f))
		return;
	if (!server_api(a)) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "this ucsd publishes no server events");
		return;
	}
	err = listen_on(a);
	if (err) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "cannot subscribe: %s", strerror(-err));
		return;
	}
	if (!sess->ev_on)
		a->ev_listeners++;
	sess->ev_on = 1;
	sess->ev_level = f.level;
	snprintf(sess->ev_plugin, sizeof(sess->ev_plugin), "%s", f.plugin);
	wsrpc_reply(s, id,
		    json_pack("{s:b,s:s,s:s}", "subscribed", 1, "level", level_name(f.level),
			      "plugin", f.plugin));
}

void adm_events_session_gone(struct adm_session *sess)
{
	if (!sess->ev_on)
		return;
	sess->ev_on = 0;
	sess->a->ev_listeners--;
	listen_off(sess->a);
}

void adm_m_events_unsubscribe(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm_session *sess = adm_session_of(s);
	int was;

	(void)arg;
	if (!sess || wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	was = sess->ev_on;
	adm_events_session_gone(sess);
	wsrpc_reply(s, id, json_pack("{s:b}", "unsubscribed", was));
}

void adm_events_stop(struct adm *a)
{
	if (a->ev_sub)
		a->host->bus->unsubscribe(a->ev_sub);
	a->ev_sub = NULL;
}
