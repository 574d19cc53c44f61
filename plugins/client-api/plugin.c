/*
 * plugins/client-api/plugin.c - the client-api plugin: configuration, the
 * wsrpc server on port 7222, the method table, and what the user store's
 * changes mean for logged-in users.
 *
 * A user deleted or switched off in the store loses every session at once
 * (close code 4003) and every resume token; so does a user whose password
 * hash changed (an administrator set a new password: her own change through
 * me.update keeps the session that made it). A deleted user id that is
 * created again is another account: nothing of the old one carries over. A change of any user
 * empties the contact search cache and refreshes the contact card her watchers have
 * (ca_presence_user_changed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

/* ---- configuration -------------------------------------------------------------- */

static const struct ucs_cfg_key ca_keys[] = {
	WSRPC_CFG_KEYS("[{\"bind\":\"::\",\"port\":7222,\"tls\":\"plain\"}]"),
	UCS_CFG_INT_KEY("resume_ttl_s", "86400", 0, 2592000,
			"seconds a session token can be resumed after its connection ended "
			"(0: no resume)"),
	UCS_CFG_INT_KEY("request_timeout_ms", "10000", 100, 120000,
			"how long a call or line request waits for the line manager's answer"),
	UCS_CFG_INT_KEY("max_sessions_per_user", "16", 1, 64,
			"sessions one user may have at once (presence counts at most 64)"),
	UCS_CFG_INT_KEY("contacts_limit", "50", 1, 1000,
			"most contacts one contacts.search returns"),
	UCS_CFG_INT_KEY("contacts_cache", "256", 0, 1000000,
			"numbers the contact search cache remembers (0: no cache)"),
	UCS_CFG_INT_KEY("max_watch_per_session", "5000", 1, 1000000,
			"users one session may subscribe to for presence"),
	UCS_CFG_INT_KEY("max_lines_per_session", "256", 1, 256,
			"lines one session may subscribe to"),
	UCS_CFG_END,
};

static int read_conf(struct ca *ca, const struct ucs_cfg *section, struct ca_conf *out)
{
	const struct ucs_cfg_api *cfg = ca->host->cfg;
	static const struct {
		const char *key;
		size_t off;
	} ints[] = {
		{"resume_ttl_s", offsetof(struct ca_conf, resume_ttl_s)},
		{"request_timeout_ms", offsetof(struct ca_conf, request_timeout_ms)},
		{"max_sessions_per_user", offsetof(struct ca_conf, max_sessions_per_user)},
		{"contacts_limit", offsetof(struct ca_conf, contacts_limit)},
		{"contacts_cache", offsetof(struct ca_conf, contacts_cache)},
		{"max_watch_per_session", offsetof(struct ca_conf, max_watch_per_session)},
		{"max_lines_per_session", offsetof(struct ca_conf, max_lines_per_session)},
	};
	char err[512] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	rc = wsrpc_config_read(ca->host, section, &out->ws, err, sizeof(err));
	if (rc) {
		CA_LOG(ca, UCS_LOG_ERROR, "%s", err[0] ? err : strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int64_t v = 0;

		cfg->get_int(section, ints[i].key, &v);
		*(uint32_t *)((char *)out + ints[i].off) = (uint32_t)v;
	}
	return 0;
}

/* ---- the methods ----------------------------------------------------------------- */

/* Sorted by name (strcmp): wsrpc_method_find() searches it. */
static const struct wsrpc_method methods[] = {
	{"auth.login", WSRPC_M_PUBLIC, ca_m_auth_login},
	{"auth.logout", 0, ca_m_auth_logout},
	{"auth.resume", WSRPC_M_PUBLIC, ca_m_auth_resume},
	{"call.alternate", 0, ca_m_call_alternate},
	{"call.answer", 0, ca_m_call_answer},
	{"call.clear", 0, ca_m_call_clear},
	{"call.conference", 0, ca_m_call_conference},
	{"call.consult", 0, ca_m_call_consult},
	{"call.deflect", 0, ca_m_call_deflect},
	{"call.dtmf", 0, ca_m_call_dtmf},
	{"call.hold", 0, ca_m_call_hold},
	{"call.make", 0, ca_m_call_make},
	{"call.pickup", 0, ca_m_call_pickup},
	{"call.reconnect", 0, ca_m_call_reconnect},
	{"call.retrieve", 0, ca_m_call_retrieve},
	{"call.transfer", 0, ca_m_call_transfer},
	{"chat.history", 0, ca_m_chat_history},
	{"chat.send", 0, ca_m_chat_send},
	{"contacts.search", 0, ca_m_contacts_search},
	{"journal.delete", 0, ca_m_journal_delete},
	{"journal.query", 0, ca_m_journal_query},
	{"journal.update", 0, ca_m_journal_update},
	{"line.dnd.set", 0, ca_m_line_dnd_set},
	{"line.forward.clear", 0, ca_m_line_forward_clear},
	{"line.forward.set", 0, ca_m_line_forward_set},
	{"line.remote_office", 0, ca_m_line_remote_office},
	{"lines.list", 0, ca_m_lines_list},
	{"lines.subscribe", 0, ca_m_lines_subscribe},
	{"lines.unsubscribe", 0, ca_m_lines_unsubscribe},
	{"me.get", 0, ca_m_me_get},
	{"me.idle", 0, ca_m_me_idle},
	{"me.update", 0, ca_m_me_update},
	{"presence.set", 0, ca_m_presence_set},
	{"presence.subscribe", 0, ca_m_presence_subscribe},
	{"presence.unsubscribe", 0, ca_m_presence_unsubscribe},
	{"sms.send", 0, ca_m_sms_send},
};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static void on_open(struct wsrpc_session *ws, void *arg)
{
	struct ca *ca = arg;
	struct ca_sess *s = ca_sess_new(ca, ws);

	if (!s) {
		wsrpc_session_close(ws, WSRPC_CLOSE_INTERNAL, "out of memory");
		return;
	}
	wsrpc_session_set_data(ws, s);
}

static void on_request(struct wsrpc_session *ws, const char *method, json_t *params, json_t *id,
		       void *arg)
{
	if (!ca_sess_of(ws)) /* on_open could not set it up: closing */
		return;
	wsrpc_dispatch(methods, N_METHODS, ws, method, params, id, arg);
}

static void on_close(struct wsrpc_session *ws, int code, const char *reason, void *arg)
{
	struct ca_sess *s = ca_sess_of(ws);

	(void)code;
	(void)reason;
	(void)arg;
	wsrpc_session_set_data(ws, NULL);
	if (s)
		ca_sess_free(s);
}

static const struct wsrpc_handlers handlers = {
	.on_open = on_open,
	.on_request = on_request,
	.on_close = on_close,
};

/* ---- the user store --------------------------------------------------------------- */

/* Revokes a user who is gone, switched off or has another password. */
static void check_user(struct ca *ca, const struct ucs_ud_snapshot *snap, const char *id)
{
	const struct ucs_ud_user *u = snap ? ca->udb->user(snap, id) : NULL;
	struct ca_user *cu;

	if (!snap)
		return;
	if (!u) {
		ca_user_revoke(ca, id, "account deleted");
		return;
	}
	if (!(u->flags & UCS_UD_ACTIVE)) {
		ca_user_revoke(ca, id, "account deactivated");
		return;
	}
	cu = ca_user_find(ca, id);
	/* her own change (me.update) settles the tag itself when it is done */
	if (cu && !cu->pw_changing && ca_pw_tag(ca, id) != cu->pw_tag)
		ca_user_revoke(ca, id, "password changed");
}

struct ids {
	char (*v)[UCS_ID_MAX];
	size_t n, cap;
};

static void add_id(struct ids *ids, const char *id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		char(*v)[UCS_ID_MAX] = realloc(ids->v, cap * sizeof(*v));

		if (!v)
			return;
		ids->v = v;
		ids->cap = cap;
	}
	snprintf(ids->v[ids->n++], UCS_ID_MAX, "%s", id);
}

static void collect_user(const char *key, void *val, void *arg)
{
	(void)val;
	add_id(arg, key);
}

/* A reload changed many users at once: look at everyone logged in. */
static void check_all(struct ca *ca, const struct ucs_ud_snapshot *snap)
{
	struct ids ids = {0};

	ca_map_each(&ca->users, collect_user, &ids);
	for (size_t i = 0; i < ids.n; i++)
		check_user(ca, snap, ids.v[i]);
	free(ids.v);
	/* and the tokens of users without a session */
	ca_tokens_check(ca, snap);
}

static void on_userdb(const struct ucs_msg *msg, void *arg)
{
	struct ca *ca = arg;
	size_t len = 0;
	const struct ucs_userdb_change *ch = ca->host->bus->msg_payload(msg, &len);
	const struct ucs_ud_snapshot *snap;
	char id[UCS_ID_MAX];

	if (!ch || len < sizeof(*ch))
		return;
	if (ch->op != UCS_UD_RELOADED && ch->kind != UCS_UD_USER)
		return;
	ca_contacts_flush(ca);
	snap = ca->udb->acquire();
	if (ch->op == UCS_UD_RELOADED) {
		check_all(ca, snap);
	} else {
		snprintf(id, sizeof(id), "%.*s", (int)sizeof(ch->id.text) - 1, ch->id.text);
		if (ch->op == UCS_UD_DELETED) {
			/* whatever the snapshot says by now: the id may already
			 * name a new account, which the old sessions are not */
			ca_user_revoke(ca, id, "account deleted");
		} else {
			check_user(ca, snap, id);
		}
		if (!snap || !ca->udb->user(snap, id))
			ca_tokens_revoke_user(ca, id);
		ca_presence_user_changed(ca, id);
	}
	if (snap)
		ca->udb->release(snap);
}

static void on_sweep(struct ucs_timer *t, void *arg)
{
	(void)t;
	ca_tokens_sweep(arg);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void ca_free(struct ca *ca)
{
	ca_tokens_free(ca);
	ca_map_free(&ca->users);
	ca_map_free(&ca->linewatch);
	ca_contacts_free(ca);
	free(ca);
}

static int ca_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	int err;

	if (!ca)
		return -ENOMEM;
	ca->self = self;
	ca->host = host;
	for (size_t i = 1; i < N_METHODS; i++)
		if (strcmp(methods[i - 1].name, methods[i].name) >= 0) {
			CA_LOG(ca, UCS_LOG_ERROR, "method table not sorted at %s", methods[i].name);
			err = -EINVAL;
			goto fail;
		}
	ca->auth = host->service->get(self, UCS_AUTH_SERVICE, UCS_AUTH_VERSION);
	ca->udb = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	ca->rights = host->service->get(self, UCS_RIGHTS_SERVICE, UCS_RIGHTS_VERSION);
	ca->pres = host->service->get(self, UCS_PRESENCE_SERVICE, UCS_PRESENCE_VERSION);
	if (!ca->auth || !ca->udb || !ca->rights || !ca->pres) {
		err = -ENOENT;
		goto fail;
	}
	{
		struct ucs_msg_type_desc d = {.size = sizeof(d),
					      .name = "client-api.after",
					      .version = 1,
					      .payload_size = sizeof(uint64_t)};

		err = host->bus->type_register(self, &d, &ca->t_after);
		if (err)
			goto fail;
	}
	err = read_conf(ca, host->cfg->section(self), &ca->conf);
	if (!err)
		err = ca_contacts_new(ca);
	if (!err)
		err = wsrpc_server_new(self, host, "client-api", &handlers, ca, &ca->srv);
	if (err)
		goto fail;
	*state = ca;
	return 0;
fail:
	ca_free(ca);
	return err;
}

static void log_interfaces(struct ca *ca)
{
	static const char *const tls[] = {"plain", "tls-optional", "tls-required"};

	for (size_t i = 0; i < ca->conf.ws.n_ifaces; i++) {
		const struct wsrpc_iface *f = &ca->conf.ws.ifaces[i];
		int port = wsrpc_server_port(ca->srv, i);

		if (port >= 0)
			CA_LOG(ca, UCS_LOG_INFO, "client protocol on %s port %d (%s)", f->bind,
			       port, (unsigned)f->tls < 3 ? tls[f->tls] : "?");
	}
}

static int ca_start(void *state)
{
	struct ca *ca = state;
	const struct ucs_host *host = ca->host;
	int err;

	err = host->bus->subscribe(ca->self, &ca->udb_sub, UCS_USERDB_CHANGED_TYPE, UCS_SUB_EXACT,
				   NULL, on_userdb, ca);
	if (!err)
		err = host->bus->subscribe(ca->self, &ca->after_sub, "client-api.after",
					   UCS_SUB_EXACT, NULL, ca_after_delivered, ca);
	if (!err)
		err = host->timer->open(ca->self, &ca->sweep, on_sweep, ca);
	if (!err)
		err = host->timer->start(ca->sweep, 60000, 60000);
	if (!err)
		err = wsrpc_server_configure(ca->srv, &ca->conf.ws);
	if (err)
		return err;
	log_interfaces(ca);
	ca->running = true;
	return 0;
}

static int ca_reload(void *state, const struct ucs_cfg *section)
{
	struct ca *ca = state;
	struct ca_conf next;
	int err = read_conf(ca, section, &next);

	if (err)
		return err;
	ca->conf = next;
	err = wsrpc_server_configure(ca->srv, &ca->conf.ws);
	ca_contacts_flush(ca);
	log_interfaces(ca);
	return err;
}

static void ca_stop(void *state)
{
	struct ca *ca = state;

	ca->running = false;
	/* closes every session: on_close frees each (ops cancelled, presence told) */
	wsrpc_server_free(ca->srv);
	ca->srv = NULL;
	if (ca->udb_sub)
		ca->host->bus->unsubscribe(ca->udb_sub);
	ca->udb_sub = NULL;
	if (ca->after_sub)
		ca->host->bus->unsubscribe(ca->after_sub);
	ca->after_sub = NULL;
	ca_journal_stop(ca);
	ca->host->timer->close(ca->sweep);
	ca->sweep = NULL;
}

static void ca_fini(void *state)
{
	struct ca *ca = state;

	if (ca->srv)
		wsrpc_server_free(ca->srv);
	ca_free(ca);
}

static int ca_status(void *state, char *buf, size_t cap)
{
	struct ca *ca = state;
	struct wsrpc_server_stats st = {0};
	const struct ca_counters *n = &ca->n;

	if (ca->srv)
		wsrpc_server_stats(ca->srv, &st);
	return snprintf(
		buf, cap,
		"{\"sessions\":%" PRIu64 ",\"authenticated\":%" PRIu64 ",\"tls_sessions\":%" PRIu64
		",\"users_online\":%zu,\"resume_tokens\":%zu,\"lines_watched\":%zu"
		",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"closed_by_limit\":%" PRIu64
		",\"requests\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"notifications\":%" PRIu64
		",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"logins_ok\":%" PRIu64
		",\"logins_failed\":%" PRIu64 ",\"resumes_ok\":%" PRIu64
		",\"resumes_failed\":%" PRIu64 ",\"logouts\":%" PRIu64 ",\"revoked\":%" PRIu64
		",\"control_requests\":%" PRIu64 ",\"control_refused\":%" PRIu64
		",\"presence_events\":%" PRIu64 ",\"line_events\":%" PRIu64
		",\"call_events\":%" PRIu64 ",\"searches\":%" PRIu64
		",\"search_cache_hits\":%" PRIu64 ",\"journal_requests\":%" PRIu64
		",\"journal_events\":%" PRIu64 ",\"offline_delivered\":%" PRIu64
		",\"sms_sent\":%" PRIu64 ",\"sms_failed\":%" PRIu64 "}",
		st.sessions, st.authenticated, st.tls_sessions, ca->users.n, ca->tokens.n,
		ca->linewatch.n, st.accepted, st.rejected, st.closed_by_limit, st.requests,
		st.errors, st.notifications, st.bytes_in, st.bytes_out, n->logins_ok,
		n->logins_failed, n->resumes_ok, n->resumes_failed, n->logouts, n->revoked,
		n->control_requests, n->control_refused, n->presence_events, n->line_events,
		n->call_events, n->searches, n->search_cache_hits, n->journal_requests,
		n->journal_events, n->offline_delivered, n->sms_sent, n->sms_failed);
}

static const char *const ca_requires[] = {UCS_AUTH_SERVICE, UCS_USERDB_SERVICE, UCS_RIGHTS_SERVICE,
					  UCS_PRESENCE_SERVICE, NULL};

static const struct ucs_plugin_desc ca_desc = {
	UCS_PLUGIN_HEADER,
	.name = "client-api",
	.version = "1.0.0",
	.license = "MIT",
	.description = "the client protocol: JSON-RPC over WebSocket on port 7222",
	.requires = ca_requires,
	.config = ca_keys,
	.init = ca_init,
	.start = ca_start,
	.reload = ca_reload,
	.stop = ca_stop,
	.fini = ca_fini,
	.status = ca_status,
};

UCS_PLUGIN_DEFINE(ca_desc)
