/*
 * tests/plugins/svcprobe_journal.c - svcprobe commands for the journal
 * plugin (issue 7), so integration tests drive the store without a PBX.
 *
 *   journal.append JSON      a "journal.append" request (an entry in the row
 *                            format) -> ok ROW | err ...
 *   journal.burst N USER [ID_PREFIX]
 *                            N appends for USER, ids PREFIX<i> ("b" default),
 *                            started_ms rising, as fast as the loop allows
 *                            (500 per millisecond) -> ok SENT FAILED when every
 *                            request was answered
 *   journal.query JSON       ucs.journal query {"actor","user","since",
 *                            "until","limit","missed","text"} -> ok [ROWS]
 *   journal.update JSON      update {"actor","entry","note","private","read"}
 *                            (members present are set) -> ok ROW
 *   journal.remove ACTOR ENTRY  ("-" for the system) -> ok {"id":..}
 *   journal.offline USER     take_offline -> ok [ROWS]
 *   journal.retention        apply_retention -> ok {counts}
 *   journal.status           status() -> ok {...}
 *   journal.cancel JSON      a query cancelled at once; after 500 ms
 *                            "ok cancelled" when done never ran. With "op":
 *                            "update" (and "entry", "note") or "offline" (and
 *                            "user") that op instead; "n": how many at once
 *   journal.ping_ms          the loop's latency: a 0 ms timer's delay -> ok MS
 *   journal.pending N USER   N queries of USER's journal (limit 10000) and an
 *                            apply_retention left pending -> ok N+1 at once;
 *                            when every done has run (also after the
 *                            journal's stop) the log says "journal.pending:
 *                            N+1 ended: A ok, B shutdown, C other, D calls
 *                            after stop refused, E accepted"
 */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svcprobe.h"

struct jwait {
	struct svcprobe *p;
	struct svcprobe_client *c;
	int called;
};

static const struct ucs_journal_api *journal(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_journal_api *j = svcprobe_service(p, UCS_JOURNAL_SERVICE);

	if (!j)
		svcprobe_reply_err(c, -ENOENT, "no ucs.journal");
	return j;
}

static struct jwait *wait_new(struct svcprobe *p, struct svcprobe_client *c)
{
	struct jwait *w = calloc(1, sizeof(*w));

	if (!w) {
		svcprobe_reply_err(c, -ENOMEM, "journal");
		return NULL;
	}
	w->p = p;
	w->c = svcprobe_client_get(c);
	return w;
}

static void wait_fail(struct jwait *w, int err, const char *what)
{
	svcprobe_reply_err(w->c, err, what);
	svcprobe_client_put(w->c);
	free(w);
}

static void on_done(int status, const char *json, void *arg)
{
	struct jwait *w = arg;

	if (svcprobe_client_alive(w->c)) {
		if (status)
			svcprobe_reply_err(w->c, status, "journal");
		else
			svcprobe_reply(w->c, "ok %s", json);
	}
	svcprobe_client_put(w->c);
	free(w);
}

static json_t *parse(struct svcprobe_client *c, const char *rest)
{
	json_t *o = json_loads(rest ? rest : "", 0, NULL);

	if (!json_is_object(o)) {
		json_decref(o);
		svcprobe_reply_err(c, -EINVAL, "a JSON object expected");
		return NULL;
	}
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int read_query(json_t *o, struct ucs_journal_query *q)
{
	json_t *lim = json_object_get(o, "limit");

	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->limit = lim ? (int32_t)json_integer_value(lim) : 100;
	q->missed = json_is_true(json_object_get(o, "missed"));
	q->since = json_integer_value(json_object_get(o, "since"));
	q->until = json_integer_value(json_object_get(o, "until"));
	snprintf(q->actor.text, sizeof(q->actor.text), "%s", jstr(o, "actor"));
	snprintf(q->user.text, sizeof(q->user.text), "%s", jstr(o, "user"));
	snprintf(q->text, sizeof(q->text), "%s", jstr(o, "text"));
	return 0;
}

static void cmd_query(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct ucs_journal_query q;
	struct jwait *w;
	json_t *o;
	int err;

	(void)argc, (void)argv;
	if (!j || !(o = parse(c, rest)))
		return;
	read_query(o, &q);
	json_decref(o);
	if (!(w = wait_new(p, c)))
		return;
	err = j->query(&q, on_done, w, NULL);
	if (err)
		wait_fail(w, err, "query");
}

static void cmd_update(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct ucs_journal_update u = {.size = sizeof(u)};
	struct jwait *w;
	json_t *o, *v;
	int err;

	(void)argc, (void)argv;
	if (!j || !(o = parse(c, rest)))
		return;
	snprintf(u.actor.text, sizeof(u.actor.text), "%s", jstr(o, "actor"));
	snprintf(u.entry.text, sizeof(u.entry.text), "%s", jstr(o, "entry"));
	if ((v = json_object_get(o, "note"))) {
		u.set |= UCS_JU_NOTE;
		snprintf(u.note, sizeof(u.note), "%s",
			 json_string_value(v) ? json_string_value(v) : "");
	}
	if ((v = json_object_get(o, "private"))) {
		u.set |= UCS_JU_PRIVATE;
		u.private_call = json_is_true(v);
	}
	if ((v = json_object_get(o, "read"))) {
		u.set |= UCS_JU_READ;
		u.read = json_is_true(v);
	}
	json_decref(o);
	if (!(w = wait_new(p, c)))
		return;
	err = j->update(&u, on_done, w, NULL);
	if (err)
		wait_fail(w, err, "update");
}

static void cmd_remove(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct jwait *w;
	int err;

	(void)argc, (void)rest;
	if (!j || !(w = wait_new(p, c)))
		return;
	err = j->remove(strcmp(argv[1], "-") == 0 ? "" : argv[1], argv[2], on_done, w, NULL);
	if (err)
		wait_fail(w, err, "remove");
}

static void cmd_offline(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct jwait *w;
	int err;

	(void)argc, (void)rest;
	if (!j || !(w = wait_new(p, c)))
		return;
	err = j->take_offline(argv[1], on_done, w, NULL);
	if (err)
		wait_fail(w, err, "take_offline");
}

static void cmd_retention(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			  const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct jwait *w;
	int err;

	(void)argc, (void)argv, (void)rest;
	if (!j || !(w = wait_new(p, c)))
		return;
	err = j->apply_retention(on_done, w, NULL);
	if (err)
		wait_fail(w, err, "apply_retention");
}

static void cmd_status(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	char buf[8192];

	(void)argc, (void)argv, (void)rest;
	if (!j)
		return;
	j->status(buf, sizeof(buf));
	svcprobe_reply(c, "ok %s", buf);
}

/* ---- cancel ----------------------------------------------------------------------------- */

static void cancel_done(int status, const char *json, void *arg)
{
	struct jwait *w = arg;

	(void)status, (void)json;
	w->called++;
}

static void cancel_check(void *arg)
{
	struct jwait *w = arg;

	if (svcprobe_client_alive(w->c)) {
		if (w->called)
			svcprobe_reply(w->c, "err E? done ran after cancel");
		else
			svcprobe_reply(w->c, "ok cancelled");
	}
	svcprobe_client_put(w->c);
	free(w);
}

static void cmd_cancel(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct ucs_journal_query q;
	struct ucs_journal_op *op = NULL;
	struct jwait *w;
	json_t *o;
	int err;

	(void)argc, (void)argv;
	if (!j || !(o = parse(c, rest)))
		return;
	const char *kind = jstr(o, "op");
	json_t *jn = json_object_get(o, "n");
	int n = jn ? (int)json_integer_value(jn) : 1;
	struct ucs_journal_update u;

	read_query(o, &q);
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.set = UCS_JU_NOTE;
	snprintf(u.actor.text, sizeof(u.actor.text), "%s", jstr(o, "actor"));
	snprintf(u.entry.text, sizeof(u.entry.text), "%s", jstr(o, "entry"));
	snprintf(u.note, sizeof(u.note), "%s", jstr(o, "note"));
	if (n < 1 || n > 1000) {
		json_decref(o);
		svcprobe_reply_err(c, -EINVAL, "n 1..1000");
		return;
	}
	if (!(w = wait_new(p, c))) {
		json_decref(o);
		return;
	}
	for (int i = 0; i < n; i++) {
		op = NULL;
		if (strcmp(kind, "update") == 0)
			err = j->update(&u, cancel_done, w, &op);
		else if (strcmp(kind, "offline") == 0)
			err = j->take_offline(jstr(o, "user"), cancel_done, w, &op);
		else
			err = j->query(&q, cancel_done, w, &op);
		if (err) {
			json_decref(o);
			wait_fail(w, err, kind[0] ? kind : "query");
			return;
		}
		j->cancel(op);
	}
	json_decref(o);
	svcprobe_host(p)->timer->once(svcprobe_self(p), 500, cancel_check, w);
}

/* ---- ops left pending at the stop -------------------------------------------------------- */

struct pending {
	struct svcprobe *p;
	const struct ucs_journal_api *j;
	int left, n, ok, shutdown, other, refused, accepted;
};

static void pending_done(int status, const char *json, void *arg)
{
	struct pending *pd = arg;
	struct ucs_journal_query q;
	struct ucs_journal_op *op = NULL;

	(void)json;
	if (status == 0)
		pd->ok++;
	else if (status == -ESHUTDOWN)
		pd->shutdown++;
	else
		pd->other++;
	if (status == -ESHUTDOWN) {
		/* the promise's second half: a call after the stop fails */
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.limit = 1;
		if (pd->j->query(&q, pending_done, pd, &op) == -ESHUTDOWN)
			pd->refused++;
		else
			pd->accepted++, pd->left++;
		/* an op the provider ended must not be cancelled, and a cancel
		 * now must not touch it: cancel of a fresh NULL is harmless */
		pd->j->cancel(NULL);
	}
	if (--pd->left == 0) {
		svcprobe_host(pd->p)->log->log(svcprobe_self(pd->p), UCS_LOG_INFO,
					       "journal.pending: %d ended: %d ok, %d shutdown, "
					       "%d other, %d calls after stop refused, %d accepted",
					       pd->n, pd->ok, pd->shutdown, pd->other, pd->refused,
					       pd->accepted);
		free(pd);
	}
}

static void cmd_pending(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_journal_api *j = journal(p, c);
	struct pending *pd;
	struct ucs_journal_query q;
	int n = argc > 1 ? atoi(argv[1]) : 0, err = 0, sent = 0;

	(void)rest;
	if (!j)
		return;
	if (n < 1 || n > 10000 || argc < 3) {
		svcprobe_reply_err(c, -EINVAL, "journal.pending N USER");
		return;
	}
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		svcprobe_reply_err(c, -ENOMEM, "journal.pending");
		return;
	}
	pd->p = p;
	pd->j = j;
	pd->left = 1; /* ours until every op is queued */
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.limit = 10000;
	snprintf(q.user.text, sizeof(q.user.text), "%s", argv[2]);
	for (int i = 0; i < n && !err; i++) {
		struct ucs_journal_op *op = NULL;

		pd->left++;
		err = j->query(&q, pending_done, pd, &op);
		if (err)
			pd->left--;
		else
			sent++;
	}
	if (!err) {
		struct ucs_journal_op *op = NULL;

		pd->left++;
		err = j->apply_retention(pending_done, pd, &op);
		if (err)
			pd->left--;
		else
			sent++;
	}
	pd->n = sent;
	if (err)
		svcprobe_reply_err(c, err, "journal.pending");
	else
		svcprobe_reply(c, "ok %d", sent);
	if (--pd->left == 0)
		free(pd);
}

/* ---- append and burst ------------------------------------------------------------------- */

static void on_append(int status, const struct ucs_msg *reply, void *arg)
{
	struct jwait *w = arg;
	const struct ucs_bus_api *bus = svcprobe_host(w->p)->bus;
	size_t len = 0;
	const char *pl = reply ? bus->msg_payload(reply, &len) : NULL;

	if (svcprobe_client_alive(w->c)) {
		if (status)
			svcprobe_reply(w->c, "err %d %.*s", status, pl ? (int)len : 4,
				       pl ? pl : "null");
		else
			svcprobe_reply(w->c, "ok %.*s", (int)len, pl ? pl : "");
	}
	svcprobe_client_put(w->c);
	free(w);
}

static int send_append(struct svcprobe *p, const char *json, ucs_reply_h *h, void *arg)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find("journal.append", 1);
	struct ucs_msg *m;

	if (!t)
		return -ENOENT;
	if (bus->msg_new(t, NULL, json, strlen(json), &m))
		return -ENOMEM;
	return bus->request(svcprobe_self(p), NULL, m, 30000, h, arg);
}

static void cmd_append(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	struct jwait *w = wait_new(p, c);
	int err;

	(void)argc, (void)argv;
	if (!w)
		return;
	err = send_append(p, rest, on_append, w);
	if (err)
		wait_fail(w, err, "journal.append");
}

struct burst {
	struct svcprobe *p;
	struct svcprobe_client *c;
	long n, sent, answered, failed;
	char user[64], prefix[32];
	long long t0;
};

static void burst_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct burst *b = arg;

	(void)reply;
	b->answered++;
	if (status)
		b->failed++;
	if (b->answered == b->n) {
		if (svcprobe_client_alive(b->c))
			svcprobe_reply(b->c, "ok %ld %ld", b->sent, b->failed);
		svcprobe_client_put(b->c);
		free(b);
	}
}

static void burst_step(void *arg)
{
	struct burst *b = arg;
	char json[512];

	for (int k = 0; k < 500 && b->sent < b->n; k++) {
		long i = b->sent++;

		snprintf(json, sizeof(json),
			 "{\"id\":\"%s%ld\",\"user\":\"%s\",\"direction\":\"incoming\","
			 "\"remote_number\":\"+4989%07ld\",\"started_ms\":%lld,\"ring_s\":%ld}",
			 b->prefix, i, b->user, i, b->t0 + i, i % 30);
		if (send_append(b->p, json, burst_reply, b)) {
			/* counted as answered and failed at once; the last answer
			 * frees b, so decide before */
			bool last = b->answered + 1 == b->n;

			burst_reply(-EIO, NULL, b);
			if (last)
				return;
		}
	}
	/* 1 ms, not 0: a 0 ms timer armed from a timer runs again in the
	 * same pass of libuv's timers and the loop would never poll */
	if (b->sent < b->n)
		svcprobe_host(b->p)->timer->once(svcprobe_self(b->p), 1, burst_step, b);
}

static void cmd_burst(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	struct burst *b = calloc(1, sizeof(*b));

	(void)rest;
	if (!b || atol(argv[1]) <= 0) {
		free(b);
		svcprobe_reply_err(c, -EINVAL, "burst N USER [PREFIX]");
		return;
	}
	b->p = p;
	b->c = svcprobe_client_get(c);
	b->n = atol(argv[1]);
	snprintf(b->user, sizeof(b->user), "%s", argv[2]);
	snprintf(b->prefix, sizeof(b->prefix), "%s", argc > 3 ? argv[3] : "b");
	b->t0 = 1700000000000ll;
	burst_step(b);
}

/* ---- loop latency ----------------------------------------------------------------------- */

struct ping {
	struct svcprobe_client *c;
	uint64_t t0;
	const struct ucs_host *h;
};

static void ping_fire(void *arg)
{
	struct ping *g = arg;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (svcprobe_client_alive(g->c))
		svcprobe_reply(g->c, "ok %.3f", (double)(now - g->t0) / 1000.0);
	svcprobe_client_put(g->c);
	free(g);
}

static void cmd_ping(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	struct ping *g = calloc(1, sizeof(*g));
	struct timespec ts;

	(void)argc, (void)argv, (void)rest;
	if (!g) {
		svcprobe_reply_err(c, -ENOMEM, "ping");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	g->t0 = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	g->c = svcprobe_client_get(c);
	svcprobe_host(p)->timer->once(svcprobe_self(p), 0, ping_fire, g);
}

const struct svcprobe_cmd svcprobe_journal_cmds[] = {
	{"journal.append", 1, "journal.append JSON", cmd_append},
	{"journal.burst", 2, "journal.burst N USER [PREFIX]", cmd_burst},
	{"journal.query", 1, "journal.query JSON", cmd_query},
	{"journal.update", 1, "journal.update JSON", cmd_update},
	{"journal.remove", 2, "journal.remove ACTOR|- ENTRY", cmd_remove},
	{"journal.offline", 1, "journal.offline USER", cmd_offline},
	{"journal.retention", 0, "journal.retention", cmd_retention},
	{"journal.status", 0, "journal.status", cmd_status},
	{"journal.cancel", 1, "journal.cancel JSON", cmd_cancel},
	{"journal.ping_ms", 0, "journal.ping_ms", cmd_ping},
	{"journal.pending", 2, "journal.pending N USER", cmd_pending},
	{NULL, 0, NULL, NULL},
};
