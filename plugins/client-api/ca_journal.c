/*
 * plugins/client-api/ca_journal.c - journal.query, journal.update,
 * journal.delete and the journal.event notifications.
 *
 * The journal plugin owns the entries and the rights on them (ucs.journal,
 * abi/ucs/journal.h): this file checks the params, names the session's
 * user as the actor, and passes the journal's JSON rows on untouched, so
 * the row format is the journal's (docs/plugins/journal.md "Entry
 * format"). Every call is an op on its session: a session that closes
 * cancels it, and the journal never calls back afterwards. A change of
 * another user's entry (a leader's note, a deletion) is logged once, with
 * who did it and whose entry it was, never the note: the owner of a deleted
 * entry is only known from the journal's "journal.event", which this file
 * watches for the deletions its sessions made (struct ca.jdel).
 *
 * Notifications. Each online user has one "journal.event" subscription
 * with key "user:<id>": the journal publishes there what happens to her
 * own entries (created, updated - also by a group leader -, deleted), and
 * each event goes to every session of hers as one serialised text.
 *
 * The offline journal. An entry the journal created while she had no
 * session is kept as offline until a client fetches it (take_offline; the
 * journal marks it delivered only when the fetch's done runs, not when it
 * is cancelled). Every login and resume starts a fetch, after the login's
 * answer; the fetch belongs to her (struct ca_jtake on her struct
 * ca_user), not to the session that logged in, so it survives that
 * session's close while she has other sessions, and is cancelled only
 * with her last one - the entries then stay offline for her next login.
 * Each entry fetched goes as a journal.event with "offline": true to all
 * her sessions open when the fetch ends, so none misses it. An event that
 * says offline while she does have a session here (the journal learnt of
 * her new session a moment late) is not forwarded as it is: it starts a
 * fetch too, so the entry is marked delivered and does not come again at
 * her next login. One fetch runs per user at a time: a login meanwhile
 * needs none (the running one delivers to the new session too), an event
 * asks for one more after it. A fetch may bring thousands of entries,
 * more than a session's outbound queue (max_queue) takes at once: they go
 * out paced (struct ca_jout), an entry while every session of hers has
 * less than half of max_queue queued, the rest after a short timer. What
 * is still waiting when her last session closes (the journal counts it
 * delivered) is kept in memory for her next login (ca.jkept), where it
 * goes out first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

static const struct ucs_journal_api *journal_api(struct ca *ca)
{
	const struct ucs_journal_api *j =
		ca->host->service->find(UCS_JOURNAL_SERVICE, UCS_JOURNAL_VERSION, NULL);

	if (j && !UCS_HAS_SLOT(j, struct ucs_journal_api, cancel))
		return NULL;
	return j;
}

static void not_running(struct wsrpc_session *ws, json_t *id)
{
	wsrpc_error(ws, id, WSRPC_NOT_AVAILABLE, "the journal plugin is not running",
		    json_pack("{s:s}", "plugin", "journal"));
}

static void bad_params(struct wsrpc_session *ws, json_t *id, const struct ca_bad *b)
{
	wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, b->msg,
		    b->member[0] ? json_pack("{s:s}", "member", b->member) : NULL);
}

/* ---- journal.query / update / delete ------------------------------------------ */

enum jkind { J_QUERY, J_UPDATE, J_DELETE };

struct jop {
	struct ca_op op;
	const struct ucs_journal_api *api;
	struct ucs_journal_op *jop;
	enum jkind kind;
	bool detached; /* its session went, and there was no handle to cancel */
	/* for the log line of a change to another user's entry */
	char actor[UCS_ID_MAX];
	char login[UCS_ID_MAX + 192];
	char entry[UCS_ID_MAX];
};

static void jdel_watch(struct ca *ca);

/* Deletions waiting for their journal.event (the owner): at most this many;
 * one whose event never comes is forgotten when the table is full. */
#define JDEL_MAX 256

struct jdel {
	char actor[UCS_ID_MAX];
	char login[UCS_ID_MAX + 192];
};

static void jdel_free(const char *key, void *val, void *arg)
{
	struct ca_map *m = arg;

	free(ca_map_del(m, key));
	(void)val;
}

static void jdel_add(struct ca *ca, const struct jop *o)
{
	struct jdel *d;

	if (!ca->jdel_sub || !o->entry[0])
		return;
	if (ca->jdel.n >= JDEL_MAX)
		ca_map_each(&ca->jdel, jdel_free, &ca->jdel);
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	snprintf(d->actor, sizeof(d->actor), "%s", o->actor);
	snprintf(d->login, sizeof(d->login), "%s", o->login);
	free(ca_map_del(&ca->jdel, o->entry));
	if (ca_map_put(&ca->jdel, o->entry, d))
		free(d);
}

/* An updated entry (JSON object): logged when it is another user's. */
static void log_update(struct ca *ca, const struct jop *o, json_t *entry)
{
	const char *owner = json_string_value(json_object_get(entry, "user"));
	const char *eid = json_string_value(json_object_get(entry, "id"));

	if (owner && strcmp(owner, o->actor) != 0)
		CA_LOG(ca, UCS_LOG_INFO, "%s updated journal entry %s of %s", o->login,
		       eid ? eid : o->entry, owner);
}

static void jop_release(struct ca_op *op)
{
	free(op);
}

static void jop_cancel(struct ca_op *op)
{
	struct jop *o = (struct jop *)op;

	/* a journal that gave no handle calls back anyway: the op waits for
	 * that, without its session */
	if (!o->jop) {
		o->detached = true;
		return;
	}
	/* the journal's ops went with it when it stopped first */
	if (journal_api(op->sess->ca) == o->api)
		o->api->cancel(o->jop);
	free(o);
}

static void jop_done(int status, const char *json, void *arg)
{
	struct jop *o = arg;
	struct ca *ca;
	json_t *v = NULL, *result = NULL;
	char msg[160];

	if (o->detached) {
		free(o);
		return;
	}
	ca = o->op.sess->ca;
	o->jop = NULL;
	if (status == 0) {
		v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
		if (o->kind == J_QUERY && json_is_array(v)) {
			result = json_pack("{s:O}", "entries", v);
		} else if (o->kind == J_UPDATE && json_is_object(v)) {
			result = json_pack("{s:O}", "entry", v);
			log_update(ca, o, v);
		} else if (o->kind == J_DELETE && json_is_object(v)) {
			result = json_incref(v);
			jdel_add(ca, o);
		}
		json_decref(v);
		if (!result) {
			CA_LOG(ca, UCS_LOG_WARNING,
			       "the journal's answer is not the JSON expected");
			ca_op_error(&o->op, WSRPC_INTERNAL,
				    "the journal's answer could not be read", NULL);
			return;
		}
		ca_op_reply(&o->op, result);
		return;
	}
	switch (status) {
	case -EPERM:
	case -EACCES:
		ca_op_error(&o->op, WSRPC_FORBIDDEN,
			    o->kind == J_QUERY	  ? "that journal is not within your rights"
			    : o->kind == J_DELETE ? "deleting this entry is not within your rights"
						  : "changing this entry is not within your rights",
			    NULL);
		return;
	case -ENOENT:
		if (o->kind == J_QUERY)
			ca_op_error(&o->op, WSRPC_NOT_FOUND, "no such user",
				    json_pack("{s:s}", "member", "user"));
		else
			ca_op_error(&o->op, WSRPC_NOT_FOUND, "no such journal entry", NULL);
		return;
	case -EINVAL:
		ca_op_error(&o->op, WSRPC_INVALID_PARAMS, "the journal refused the parameters",
			    NULL);
		return;
	case -ESHUTDOWN:
		ca_op_error(&o->op, WSRPC_NOT_AVAILABLE, "the journal plugin is not running",
			    json_pack("{s:s}", "plugin", "journal"));
		return;
	default:
		snprintf(msg, sizeof(msg), "the journal failed: %s",
			 strerror(status < 0 ? -status : EIO));
		ca_op_error(&o->op, WSRPC_INTERNAL, msg, NULL);
		return;
	}
}

/* A new op of the session, or NULL (answered). */
static struct jop *jop_new(struct ca_sess *s, json_t *id, const struct ucs_journal_api *api,
			   enum jkind kind)
{
	struct jop *o = calloc(1, sizeof(*o));

	if (!o) {
		wsrpc_error(s->ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return NULL;
	}
	o->api = api;
	o->kind = kind;
	snprintf(o->actor, sizeof(o->actor), "%s", s->user->id);
	snprintf(o->login, sizeof(o->login), "%s", s->login);
	o->op.cancel = jop_cancel;
	o->op.release = jop_release;
	return o;
}

/* Runs start(o) with the op on its session already: a refusal at once is
 * answered with the same words as one that comes later. */
static void jop_run(struct ca_sess *s, json_t *id, struct jop *o,
		    int (*start)(struct jop *o, const void *req), const void *req)
{
	int err;

	s->ca->n.journal_requests++;
	ca_op_add(s, &o->op, id);
	err = start(o, req);
	if (err) {
		o->jop = NULL;
		jop_done(err, NULL, o);
	}
}

static int start_query(struct jop *o, const void *req)
{
	return o->api->query(req, jop_done, o, &o->jop);
}

static int start_update(struct jop *o, const void *req)
{
	return o->api->update(req, jop_done, o, &o->jop);
}

static int start_delete(struct jop *o, const void *req)
{
	return o->api->remove(o->op.sess->user->id, req, jop_done, o, &o->jop);
}

CA_METHOD(ca_m_journal_query)
{
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_journal_api *api;
	struct ucs_journal_query q;
	char who[CA_USER_MAX + 1];
	struct ca_bad b;
	struct jop *o;

	if (ca_parse_journal_query(params, &q, who, sizeof(who), &b)) {
		bad_params(ws, id, &b);
		return;
	}
	api = journal_api(ca);
	if (!api) {
		not_running(ws, id);
		return;
	}
	snprintf(q.actor.text, sizeof(q.actor.text), "%s", s->user->id);
	if (who[0]) {
		/* a login becomes the id here: the journal's field holds ids */
		const struct ucs_ud_snapshot *snap = ca->udb->acquire();
		const struct ucs_ud_user *u = snap ? ca_user_lookup(ca, snap, who) : NULL;

		if (u)
			snprintf(q.user.text, sizeof(q.user.text), "%s", u->id);
		if (snap)
			ca->udb->release(snap);
		if (!u) {
			wsrpc_error(ws, id, WSRPC_NOT_FOUND, "no such user",
				    json_pack("{s:s}", "member", "user"));
			return;
		}
	}
	o = jop_new(s, id, api, J_QUERY);
	if (o)
		jop_run(s, id, o, start_query, &q);
}

CA_METHOD(ca_m_journal_update)
{
	struct ca_sess *s = ca_sess_of(ws);
	const struct ucs_journal_api *api;
	struct ucs_journal_update u;
	struct ca_bad b;
	struct jop *o;

	if (ca_parse_journal_update(params, &u, &b)) {
		bad_params(ws, id, &b);
		return;
	}
	api = journal_api(arg);
	if (!api) {
		not_running(ws, id);
		return;
	}
	snprintf(u.actor.text, sizeof(u.actor.text), "%s", s->user->id);
	o = jop_new(s, id, api, J_UPDATE);
	if (!o)
		return;
	snprintf(o->entry, sizeof(o->entry), "%s", u.entry.text);
	jop_run(s, id, o, start_update, &u);
}

CA_METHOD(ca_m_journal_delete)
{
	struct ca_sess *s = ca_sess_of(ws);
	const struct ucs_journal_api *api;
	char entry[UCS_ID_MAX];
	struct ca_bad b;
	struct jop *o;

	if (ca_parse_journal_delete(params, entry, sizeof(entry), &b)) {
		bad_params(ws, id, &b);
		return;
	}
	api = journal_api(arg);
	if (!api) {
		not_running(ws, id);
		return;
	}
	jdel_watch(arg);
	o = jop_new(s, id, api, J_DELETE);
	if (!o)
		return;
	snprintf(o->entry, sizeof(o->entry), "%s", entry);
	jop_run(s, id, o, start_delete, entry);
}

/* ---- journal.event to a user's sessions ---------------------------------------- */

static const char *op_name(int op)
{
	switch (op) {
	case UCS_JOURNAL_CREATED:
		return "created";
	case UCS_JOURNAL_UPDATED:
		return "updated";
	case UCS_JOURNAL_DELETED:
		return "deleted";
	default:
		return NULL;
	}
}

/* Sends one journal.event to each session in v that is still open: how
 * many got it. */
static size_t send_event(struct ca *ca, struct wsrpc_session **v, size_t n, const char *op,
			 bool offline, json_t *entry)
{
	json_t *params = json_pack("{s:s,s:b,s:O}", "op", op, "offline", offline, "entry", entry);
	size_t len = 0, sent = 0;
	char *text = params ? ca_notification_text("journal.event", params, &len) : NULL;

	for (size_t i = 0; text && i < n; i++)
		if (wsrpc_session_open(v[i]) && ca_sess_of(v[i]) &&
		    wsrpc_send_text(v[i], text, len) == 0)
			sent++;
	ca->n.journal_events += sent;
	free(text);
	json_decref(params);
	return sent;
}

/* References to the sessions of a user (a send may close one). */
static struct wsrpc_session **user_sessions(struct ca_user *cu, size_t *n)
{
	struct wsrpc_session **v = malloc(cu->n_sess * sizeof(*v) + 1);

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < cu->n_sess; i++)
		v[(*n)++] = wsrpc_session_ref(cu->sess[i]->ws);
	return v;
}

static void unref_all(struct wsrpc_session **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wsrpc_session_unref(v[i]);
	free(v);
}

/* Fetched offline entries on their way to her sessions. They go out
 * paced: a fetch may hand over thousands, more than a session's outbound
 * queue takes at once (max_queue: over it the session is closed, and what
 * the journal counts as delivered would never arrive). An entry goes out
 * while every session of hers has less than half of max_queue queued;
 * otherwise the rest waits for a timer. */
struct ca_jout {
	json_t *arr; /* the entries, oldest first */
	size_t next; /* the first not sent yet */
	struct ucs_timer *timer;
};

#define JOUT_WAIT_MS 20

static void jout_free(struct ca *ca, struct ca_jout *out)
{
	size_t left;

	if (!out)
		return;
	left = json_array_size(out->arr) - out->next;
	if (left)
		CA_LOG(ca, UCS_LOG_WARNING,
		       "%zu offline journal entries were not sent: the sessions closed", left);
	if (out->timer)
		ca->host->timer->close(out->timer);
	json_decref(out->arr);
	free(out);
}

/* Whether every session of hers has room for more. */
static bool jout_room(struct ca_user *cu)
{
	size_t limit = cu->ca->conf.ws.limits.max_queue / 2;

	for (size_t i = 0; i < cu->n_sess; i++)
		if (wsrpc_session_queued(cu->sess[i]->ws) > limit)
			return false;
	return true;
}

static void jout_pump(struct ca *ca, const char *user);

static void on_jout_timer(struct ucs_timer *t, void *arg)
{
	struct ca_user *cu = arg;

	(void)t;
	jout_pump(cu->ca, cu->id);
}

/* Sends what her sessions take now; the rest after a timer. A send may
 * close a session, her last one too (the user and the outbox are freed
 * then): she is looked up again after each. */
static void jout_pump(struct ca *ca, const char *id)
{
	char user[UCS_ID_MAX];
	struct ca_user *cu;
	struct ca_jout *out;

	snprintf(user, sizeof(user), "%s", id);
	while ((cu = ca_user_find(ca, user)) && (out = cu->jout)) {
		struct wsrpc_session **v;
		size_t n = 0;
		json_t *e;

		if (out->next >= json_array_size(out->arr)) {
			cu->jout = NULL;
			jout_free(ca, out);
			return;
		}
		if (!jout_room(cu)) {
			if (!out->timer &&
			    ca->host->timer->open(ca->self, &out->timer, on_jout_timer, cu) != 0)
				out->timer = NULL;
			if (out->timer && ca->host->timer->start(out->timer, JOUT_WAIT_MS, 0) == 0)
				return;
			/* no timer: send anyway (the queue limit decides) */
		}
		e = json_incref(json_array_get(out->arr, out->next++));
		v = user_sessions(cu, &n);
		/* counted when a session got it (the fetch marked it delivered) */
		if (v && json_is_object(e) && send_event(ca, v, n, "created", true, e))
			ca->n.offline_delivered++;
		unref_all(v, n);
		json_decref(e);
	}
}

/* Her last session closed with fetched entries not sent yet: the journal
 * counts them delivered, so they wait here (in memory) for her next login.
 * At stop, or with too many users waiting, they are dropped (logged). */
#define JKEPT_MAX 1024

static void jout_keep(struct ca *ca, const char *user, struct ca_jout *out)
{
	if (!out)
		return;
	if (out->timer)
		ca->host->timer->close(out->timer);
	out->timer = NULL;
	if (out->next < json_array_size(out->arr) && ca->running && ca->jkept.n < JKEPT_MAX &&
	    !ca_map_get(&ca->jkept, user) && ca_map_put(&ca->jkept, user, out) == 0)
		return;
	jout_free(ca, out);
}

/* At a login: what was kept for her goes out first - after the login's
 * answer, from a timer (or the fetch's end), never within the login. */
static void jout_adopt(struct ca_user *cu)
{
	struct ca *ca = cu->ca;
	struct ca_jout *k = ca_map_del(&ca->jkept, cu->id);

	if (!k)
		return;
	if (!cu->jout) {
		cu->jout = k;
	} else {
		while (k->next < json_array_size(k->arr))
			json_array_append(cu->jout->arr, json_array_get(k->arr, k->next++));
		jout_free(ca, k);
	}
	if (!cu->jout->timer &&
	    ca->host->timer->open(ca->self, &cu->jout->timer, on_jout_timer, cu) != 0)
		cu->jout->timer = NULL;
	if (cu->jout->timer)
		ca->host->timer->start(cu->jout->timer, 0, 0);
}

static void jkept_free(const char *key, void *val, void *arg)
{
	struct ca *ca = arg;

	ca_map_del(&ca->jkept, key);
	jout_free(ca, val);
}

/* Drops the entries of arr fetched for her before: a fetch that starts
 * the moment the previous one ended may get its rows again (the journal
 * marks them delivered after that done). Remembers at most JSEEN_MAX ids. */
#define JSEEN_MAX 20000

static void drop_seen(struct ca_user *cu, json_t *arr)
{
	size_t i = 0;

	while (i < json_array_size(arr)) {
		const char *eid = json_string_value(json_object_get(json_array_get(arr, i), "id"));

		if (eid && ca_map_get(&cu->jseen, eid)) {
			json_array_remove(arr, i);
			continue;
		}
		if (eid) {
			if (cu->jseen.n >= JSEEN_MAX)
				ca_map_free(&cu->jseen);
			ca_map_put(&cu->jseen, eid, (void *)1);
		}
		i++;
	}
}

/* Offline entries (a JSON array, oldest first) for her sessions. */
static void deliver_offline(struct ca_user *cu, const char *json)
{
	struct ca *ca = cu->ca;
	json_t *arr = json ? json_loads(json, 0, NULL) : NULL;

	if (!json_is_array(arr)) {
		CA_LOG(ca, UCS_LOG_WARNING, "the journal's offline entries are not a JSON array");
		json_decref(arr);
		return;
	}
	drop_seen(cu, arr);
	if (!json_array_size(arr)) {
		json_decref(arr);
		return;
	}
	if (cu->jout) {
		/* behind the ones still going out */
		json_array_extend(cu->jout->arr, arr);
		json_decref(arr);
	} else {
		cu->jout = calloc(1, sizeof(*cu->jout));
		if (!cu->jout) {
			CA_LOG(ca, UCS_LOG_WARNING, "offline journal entries of %s: %s", cu->id,
			       strerror(ENOMEM));
			json_decref(arr);
			return;
		}
		cu->jout->arr = arr;
	}
	jout_pump(ca, cu->id);
}

/* Her offline entries for all her sessions (the journal thought she had
 * none when it wrote one). */
struct ca_jtake {
	struct ca *ca;
	const struct ucs_journal_api *api;
	struct ucs_journal_op *jop;
	char user[UCS_ID_MAX];
	bool again;    /* another offline event came meanwhile */
	bool detached; /* her last session went, and there was no handle */
};

static void user_take(struct ca_user *cu, bool event);

static void user_take_done(int status, const char *json, void *arg)
{
	struct ca_jtake *t = arg;
	struct ca *ca = t->ca;
	struct ca_user *cu = ca_user_find(ca, t->user);
	char user[UCS_ID_MAX];
	bool again = t->again;

	if (t->detached) {
		free(t);
		return;
	}
	snprintf(user, sizeof(user), "%s", t->user);
	if (cu && cu->jtake == t)
		cu->jtake = NULL;
	free(t);
	if (status)
		CA_LOG(ca, UCS_LOG_WARNING, "offline journal entries of %s: %s", user,
		       strerror(-status));
	if (cu && !status)
		deliver_offline(cu, json);
	/* a send may have closed her last session: look her up again */
	cu = ca_user_find(ca, user);
	if (cu && again)
		user_take(cu, true);
}

/* A fetch for her, for a login (event false) or an offline event. While
 * one runs, a login needs none of its own: what that one took goes to all
 * her sessions when it ends, the new one too, and an entry the journal
 * keeps offline after it took its rows comes with an event. An event then
 * asks for one more fetch after it. */
static void user_take(struct ca_user *cu, bool event)
{
	struct ca *ca = cu->ca;
	const struct ucs_journal_api *api = journal_api(ca);
	struct ca_jtake *t;
	int err;

	if (cu->jtake) {
		if (event)
			cu->jtake->again = true;
		return;
	}
	if (!api || !(t = calloc(1, sizeof(*t))))
		return;
	t->ca = ca;
	t->api = api;
	snprintf(t->user, sizeof(t->user), "%s", cu->id);
	cu->jtake = t;
	err = api->take_offline(cu->id, user_take_done, t, &t->jop);
	if (err) {
		cu->jtake = NULL;
		free(t);
		CA_LOG(ca, UCS_LOG_WARNING, "offline journal entries of %s: %s", cu->id,
		       strerror(-err));
	}
}

/* The event of a message, or NULL when it is malformed. */
static const struct ucs_journal_event *event_of(struct ca *ca, const struct ucs_msg *msg)
{
	size_t len = 0;
	const struct ucs_journal_event *ev = ca->host->bus->msg_payload(msg, &len);

	/* the text and its NUL after the fixed part, all within the payload */
	if (!ev || len < sizeof(*ev) || ev->size < sizeof(*ev) || len < (size_t)ev->size + 1 ||
	    ev->json_len > len - ev->size - 1 || ucs_journal_event_json(ev)[ev->json_len] != '\0')
		return NULL;
	return ev;
}

static void on_journal_event(const struct ucs_msg *msg, void *arg)
{
	struct ca_user *cu = arg;
	struct ca *ca = cu->ca;
	size_t n = 0;
	const struct ucs_journal_event *ev = event_of(ca, msg);
	struct wsrpc_session **v;
	const char *op, *text;
	json_t *entry;

	if (!ev)
		return;
	text = ucs_journal_event_json(ev);
	op = op_name(ev->op);
	if (!op || strncmp(ev->user.text, cu->id, sizeof(ev->user.text)) != 0)
		return;
	if (ev->op == UCS_JOURNAL_CREATED && ev->offline) {
		/* kept as offline: fetch it, so it is marked delivered */
		user_take(cu, true);
		return;
	}
	entry = json_loadb(text, ev->json_len, 0, NULL);
	if (!json_is_object(entry)) {
		json_decref(entry);
		return;
	}
	v = user_sessions(cu, &n);
	if (v)
		send_event(ca, v, n, op, false, entry);
	unref_all(v, n);
	json_decref(entry);
}

int ca_journal_user_new(struct ca_user *cu)
{
	struct ca *ca = cu->ca;
	char key[UCS_ID_MAX + 8];
	int err;

	snprintf(key, sizeof(key), "user:%s", cu->id);
	/* a type not registered yet is fine: the journal registers it */
	err = ca->host->bus->subscribe(ca->self, &cu->journal_sub, UCS_JOURNAL_EVENT_TYPE,
				       UCS_SUB_EXACT, key, on_journal_event, cu);
	if (err)
		CA_LOG(ca, UCS_LOG_WARNING, "%s gets no journal events: %s", cu->id,
		       strerror(-err));
	return err;
}

void ca_journal_user_free(struct ca_user *cu)
{
	struct ca *ca = cu->ca;

	if (cu->journal_sub)
		ca->host->bus->unsubscribe(cu->journal_sub);
	cu->journal_sub = NULL;
	if (cu->jtake) {
		if (!cu->jtake->jop) {
			cu->jtake->detached = true; /* freed by its done */
		} else {
			if (journal_api(ca) == cu->jtake->api)
				cu->jtake->api->cancel(cu->jtake->jop);
			free(cu->jtake);
		}
		cu->jtake = NULL;
	}
	jout_keep(ca, cu->id, cu->jout);
	cu->jout = NULL;
	ca_map_free(&cu->jseen);
}

/* ---- the offline journal at login ----------------------------------------------- */

void ca_journal_session_start(struct ca_sess *s)
{
	/* her fetch, not the session's: it outlives this session while she has
	 * another, and the entries go to all her sessions */
	if (!s->user)
		return;
	jout_adopt(s->user);
	user_take(s->user, false);
}

/* ---- deletions of other users' entries (the log line) ---------------------------- */

static void on_any_journal_event(const struct ucs_msg *msg, void *arg)
{
	struct ca *ca = arg;
	const struct ucs_journal_event *ev = event_of(ca, msg);
	char entry[UCS_ID_MAX], owner[UCS_ID_MAX];
	struct jdel *d;

	if (!ev || ev->op != UCS_JOURNAL_DELETED || !ca->jdel.n)
		return;
	snprintf(entry, sizeof(entry), "%.*s", (int)strnlen(ev->entry.text, sizeof(entry) - 1),
		 ev->entry.text);
	snprintf(owner, sizeof(owner), "%.*s", (int)strnlen(ev->user.text, sizeof(owner) - 1),
		 ev->user.text);
	d = ca_map_del(&ca->jdel, entry);
	if (d && strcmp(d->actor, owner) != 0)
		CA_LOG(ca, UCS_LOG_INFO, "%s deleted journal entry %s of %s", d->login, entry,
		       owner);
	free(d);
}

/* Watches every journal.event (no key) from the first deletion on, for the
 * owner of the deleted entry: each event then costs a look at its op. Only
 * once the journal registered the type (a keyless subscription to a type
 * nobody registers breaks LeakSanitizer's exit check in the core). */
static void jdel_watch(struct ca *ca)
{
	const struct ucs_bus_api *bus = ca->host->bus;

	if (ca->jdel_sub || !bus->type_find(UCS_JOURNAL_EVENT_TYPE, 1))
		return;
	if (bus->subscribe(ca->self, &ca->jdel_sub, UCS_JOURNAL_EVENT_TYPE, UCS_SUB_EXACT, NULL,
			   on_any_journal_event, ca) != 0)
		ca->jdel_sub = NULL;
}

void ca_journal_stop(struct ca *ca)
{
	if (ca->jdel_sub)
		ca->host->bus->unsubscribe(ca->jdel_sub);
	ca->jdel_sub = NULL;
	ca_map_each(&ca->jdel, jdel_free, &ca->jdel);
	ca_map_free(&ca->jdel);
	ca_map_each(&ca->jkept, jkept_free, ca);
	ca_map_free(&ca->jkept);
}
