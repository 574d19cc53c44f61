/*
 * plugins/admin-api/plugin.c - the admin-api plugin: lifecycle, the
 * configuration, the method table and the status counters (see adm.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"

static const struct ucs_host *the_host;

const void *adm_service(const char *name, uint32_t min_version)
{
	if (!the_host)
		return NULL;
	return the_host->service->find(name, min_version, NULL);
}

/* Sorted by name (strcmp): wsrpc_method_find searches it. */
static const struct wsrpc_method methods[] = {
	{"admin.login", WSRPC_M_PUBLIC, adm_m_login},
	{"admin.logout", 0, adm_m_logout},
	{"admin.passwd", 0, adm_m_passwd},
	{"computers.create", 0, adm_m_computers_create},
	{"computers.delete", 0, adm_m_computers_delete},
	{"computers.get", 0, adm_m_computers_get},
	{"computers.list", 0, adm_m_computers_list},
	{"computers.update", 0, adm_m_computers_update},
	{"config.apply", 0, adm_m_config_apply},
	{"config.get", 0, adm_m_config_get},
	{"config.validate", 0, adm_m_config_validate},
	{"dialplan.check", 0, adm_m_dialplan_check},
	{"events.query", 0, adm_m_events_query},
	{"events.subscribe", 0, adm_m_events_subscribe},
	{"events.unsubscribe", 0, adm_m_events_unsubscribe},
	{"export", 0, adm_m_export},
	{"groups.create", 0, adm_m_groups_create},
	{"groups.delete", 0, adm_m_groups_delete},
	{"groups.get", 0, adm_m_groups_get},
	{"groups.list", 0, adm_m_groups_list},
	{"groups.update", 0, adm_m_groups_update},
	{"import", 0, adm_m_import},
	{"journal.retention.apply", 0, adm_m_journal_retention},
	{"lines.get", 0, adm_m_lines_get},
	{"lines.list", 0, adm_m_lines_list},
	{"lines.retry", 0, adm_m_lines_retry},
	{"locations.create", 0, adm_m_locations_create},
	{"locations.delete", 0, adm_m_locations_delete},
	{"locations.get", 0, adm_m_locations_get},
	{"locations.list", 0, adm_m_locations_list},
	{"locations.update", 0, adm_m_locations_update},
	{"mail.test", 0, adm_m_mail_test},
	{"plugins.list", 0, adm_m_plugins},
	{"profiles.create", 0, adm_m_profiles_create},
	{"profiles.delete", 0, adm_m_profiles_delete},
	{"profiles.get", 0, adm_m_profiles_get},
	{"profiles.list", 0, adm_m_profiles_list},
	{"profiles.update", 0, adm_m_profiles_update},
	{"rights.explain", 0, adm_m_rights_explain},
	{"server.restart", 0, adm_m_server_restart},
	{"settings.get", 0, adm_m_settings_get},
	{"settings.set", 0, adm_m_settings_set},
	{"sms.test", 0, adm_m_sms_test},
	{"status.get", 0, adm_m_status},
	{"users.create", 0, adm_m_users_create},
	{"users.delete", 0, adm_m_users_delete},
	{"users.get", 0, adm_m_users_get},
	{"users.list", 0, adm_m_users_list},
	{"users.update", 0, adm_m_users_update},
};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

/* The reason of the last error adm_error() sent (the audit of a refusal
 * names it); everything runs on the loop thread. */
static enum wsrpc_reason last_reason = WSRPC_REASON_COUNT;

/* The methods that change something (or reach outside: a test mail or SMS,
 * the retention run): each is audited, done or refused. */
static int is_write(const char *method)
{
	static const char *const writes[] = {"settings.set",
					     "config.apply",
					     "server.restart",
					     "import",
					     "admin.passwd",
					     "lines.retry",
					     "mail.test",
					     "sms.test",
					     "journal.retention.apply",
					     NULL};
	const char *dot = strrchr(method, '.');

	for (size_t i = 0; writes[i]; i++)
		if (strcmp(method, writes[i]) == 0)
			return 1;
	return dot && (strcmp(dot, ".create") == 0 || strcmp(dot, ".update") == 0 ||
		       strcmp(dot, ".delete") == 0);
}

/* What a write acts on, as its params name it ("" when they do not). */
static const char *write_object(const char *method, json_t *params)
{
	static const char *const keys[] = {"login", "name", "id", "to", NULL};
	const char *v = NULL;

	if (strncmp(method, "locations.", 10) == 0 &&
	    json_is_object(json_object_get(params, "location")))
		params = json_object_get(params, "location");
	for (size_t i = 0; !v && keys[i]; i++)
		v = json_string_value(json_object_get(params, keys[i]));
	return v ? v : "";
}

/*
 * One exit path for every write: a handler audits what it did (done, or
 * refused by a service); whatever it answered without an audit - a param
 * the wsrpc helpers or the handler refused, a missing service, a request
 * before login - is audited here as refused, with the reason it got. A
 * write that went on asynchronously (an operation, the import) audits at
 * its end.
 */
static void on_request(struct wsrpc_session *s, const char *method, json_t *params, json_t *id,
		       void *arg)
{
	struct adm *a = arg;
	uint64_t seq = a->audit_seq;
	const struct adm_op *ops = a->ops;
	const struct adm_import *im = a->import;
	char who[64], peer[64], object[128];
	int write = is_write(method);

	if (write) {
		snprintf(who, sizeof(who), "%.63s", adm_who(s));
		snprintf(peer, sizeof(peer), "%.63s", adm_peer(s));
		snprintf(object, sizeof(object), "%.127s",
			 strcmp(method, "admin.passwd") == 0 ? who : write_object(method, params));
	}
	last_reason = WSRPC_REASON_COUNT;
	wsrpc_dispatch(methods, N_METHODS, s, method, params, id, arg);
	if (!write || a->audit_seq != seq || a->ops != ops || a->import != im)
		return;
	a->write_errors++;
	adm_audit(a, who, peer, method, object,
		  wsrpc_reason_name(last_reason != WSRPC_REASON_COUNT	 ? last_reason
				    : !wsrpc_session_is_authenticated(s) ? WSRPC_NOT_AUTHENTICATED
									 : WSRPC_INVALID_PARAMS));
}

static const struct wsrpc_handlers handlers = {
	.on_open = adm_session_open,
	.on_request = on_request,
	.on_close = adm_session_close,
};

/* ---- replies ---- */

/* 1 when msg starts with a param path and ": " ("numbers.fax: ...",
 * "rights[1].level: ..."), not with a sentence. */
static int msg_has_path(const char *msg)
{
	size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_.[]");

	return n > 0 && msg[n] == ':' && msg[n + 1] == ' ';
}

int adm_error(struct wsrpc_session *s, json_t *id, enum wsrpc_reason r, json_t *data,
	      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* invalid_params names the param: a message "PATH: why" gives it */
	if (r == WSRPC_INVALID_PARAMS && !data && msg_has_path(msg))
		data = adm_msg_path(msg);
	last_reason = r;
	wsrpc_error(s, id, r, msg, data);
	return 0;
}

json_t *adm_path_data(const char *path, size_t len)
{
	size_t m = 0;

	if (!path || !len)
		return NULL;
	/* the member: the path up to its first '.' or '[' */
	while (m < len && path[m] != '.' && path[m] != '[')
		m++;
	return json_pack("{s:s%,s:s%}", "path", path, len, "member", path, m);
}

json_t *adm_msg_path(const char *msg)
{
	const char *colon = msg ? strstr(msg, ": ") : NULL;

	return colon ? adm_path_data(msg, (size_t)(colon - msg)) : NULL;
}

json_t *adm_load_text(adm_fill_h *fill, const void *ctx, size_t cap, int *err)
{
	char *buf = NULL;
	json_t *v = NULL;

	*err = 0;
	/* the text may grow between the calls: a few tries */
	for (int tries = 0; tries < 4; tries++) {
		char *next = realloc(buf, cap);
		int n;

		if (!next) {
			*err = -ENOMEM;
			break;
		}
		buf = next;
		n = fill(ctx, buf, cap);
		if (n < 0) {
			*err = n;
			break;
		}
		if ((size_t)n < cap) {
			v = json_loadb(buf, (size_t)n, 0, NULL);
			if (!v)
				*err = -EIO;
			break;
		}
		cap = (size_t)n + 1;
	}
	free(buf);
	return v;
}

enum wsrpc_reason adm_reason_of(int err)
{
	switch (err) {
	case -ENOENT:
		return WSRPC_NOT_FOUND;
	case -EEXIST:
	case -EBUSY:
	case -ESTALE:
		return WSRPC_CONFLICT;
	case -EROFS:
		return WSRPC_READ_ONLY;
	case -EINVAL:
	case -ERANGE:
		return WSRPC_INVALID_PARAMS;
	case -EPERM:
	case -EACCES:
		return WSRPC_FORBIDDEN;
	case -ETIMEDOUT:
		return WSRPC_TIMEOUT;
	case -EHOSTUNREACH:
		return WSRPC_UNAVAILABLE;
	case -E2BIG:
	case -ENOSPC:
		return WSRPC_TOO_LARGE;
	default:
		return WSRPC_INTERNAL;
	}
}

const char *adm_who(struct wsrpc_session *s)
{
	struct adm_session *sess = adm_session_of(s);

	return sess && sess->login[0] ? sess->login : "-";
}

const char *adm_peer(struct wsrpc_session *s)
{
	const char *p = wsrpc_session_peer_name(s);

	return p && *p ? p : "-";
}

/* ---- status ---- */

static int adm_status(void *state, char *buf, size_t cap)
{
	struct adm *a = state;
	struct wsrpc_server_stats st = {0};
	size_t admins = 0;
	int n;

	if (a->srv)
		wsrpc_server_stats(a->srv, &st);
	for (struct adm_session *x = a->sessions; x; x = x->next)
		admins += x->login[0] != 0;
	n = snprintf(buf, cap,
		     "{\"sessions\":%llu,\"admins\":%zu,\"tls_sessions\":%llu,\"accepted\":%llu,"
		     "\"rejected\":%llu,\"closed_by_limit\":%llu,\"requests\":%llu,\"errors\":%llu,"
		     "\"notifications\":%llu,\"logins_ok\":%llu,\"logins_failed\":%llu,"
		     "\"writes\":%llu,\"write_errors\":%llu,\"event_listeners\":%zu,"
		     "\"events_sent\":%llu}",
		     (unsigned long long)st.sessions, admins, (unsigned long long)st.tls_sessions,
		     (unsigned long long)st.accepted, (unsigned long long)st.rejected,
		     (unsigned long long)st.closed_by_limit, (unsigned long long)st.requests,
		     (unsigned long long)st.errors, (unsigned long long)st.notifications,
		     (unsigned long long)a->logins_ok, (unsigned long long)a->logins_failed,
		     (unsigned long long)a->writes, (unsigned long long)a->write_errors,
		     a->ev_listeners, (unsigned long long)a->events_sent);
	return n < 0 ? -EIO : n;
}

/* ---- lifecycle ---- */

static const char *policy_name(enum ucs_tls_policy p)
{
	switch (p) {
	case UCS_TLS_OPTIONAL:
		return "tls-optional";
	case UCS_TLS_REQUIRED:
		return "tls-required";
	default:
		return "plain";
	}
}

/* One line per open interface: where an administrator connects. */
static void log_interfaces(struct adm *a)
{
	for (size_t i = 0; i < a->conf.wsrpc.n_ifaces; i++) {
		int port = wsrpc_server_port(a->srv, i);

		if (port > 0)
			a->host->log->log(a->self, UCS_LOG_INFO,
					  "administration on %s port %d (%s), interface %zu",
					  a->conf.wsrpc.ifaces[i].bind, port,
					  policy_name(a->conf.wsrpc.ifaces[i].tls), i);
	}
}

static void adm_free(struct adm *a)
{
	adm_ops_free_all(a);
	adm_conf_free(&a->conf);
	free(a);
}

static int read_conf(struct adm *a, const struct ucs_cfg *section, struct adm_conf *out)
{
	char err[1024];
	int rc = adm_conf_read(a->host, section, out, err, sizeof(err));

	if (!rc)
		rc = adm_conf_push_accounts(a, out, section, err, sizeof(err));
	if (rc) {
		a->host->log->log(a->self, UCS_LOG_ERROR, "%s", err);
		adm_conf_free(out);
	}
	return rc;
}

static int adm_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct adm *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->self = self;
	a->host = host;
	for (size_t i = 1; i < N_METHODS; i++)
		if (strcmp(methods[i - 1].name, methods[i].name) >= 0) {
			host->log->log(self, UCS_LOG_ERROR, "method table out of order at %s",
				       methods[i].name);
			err = -EINVAL;
			goto fail;
		}
	a->auth = host->service->get(self, UCS_AUTH_SERVICE, UCS_AUTH_VERSION);
	if (!a->auth) {
		err = -ENOENT;
		goto fail;
	}
	if (!UCS_HAS_SLOT(a->auth, struct ucs_auth_api, admin_count)) {
		host->log->log(self, UCS_LOG_ERROR,
			       "the auth service is too old for configured administrator accounts "
			       "(it needs ucsd ABI 1.1)");
		err = -ENOTSUP;
		goto fail;
	}
	the_host = host;
	err = read_conf(a, host->cfg->section(self), &a->conf);
	if (err)
		goto fail;
	err = adm_audit_init(a);
	if (err)
		goto fail;
	err = wsrpc_server_new(self, host, "admin-api", &handlers, a, &a->srv);
	if (err)
		goto fail;
	*state = a;
	return 0;
fail:
	adm_free(a);
	return err;
}

static int adm_start(void *state)
{
	struct adm *a = state;
	int err = wsrpc_server_configure(a->srv, &a->conf.wsrpc);

	if (err)
		return err; /* wsrpc said which port and why */
	log_interfaces(a);
	if (!UCS_HAS_SLOT(a->host, struct ucs_host, server))
		a->host->log->log(a->self, UCS_LOG_WARNING,
				  "this ucsd offers no server interface: status, events, plugins, "
				  "configuration and restart answer not_available");
	return adm_boot_start(a);
}

static int adm_reload(void *state, const struct ucs_cfg *section)
{
	struct adm *a = state;
	struct adm_conf next = {0};
	int err = read_conf(a, section, &next);

	if (err)
		return err; /* auth keeps the accounts it had too */
	/* an interface that cannot be opened is logged by wsrpc; the others
	 * and the accounts are in force, so the reload did happen */
	wsrpc_server_configure(a->srv, &next.wsrpc);
	/* a configured account that is gone takes its sessions with it (an
	 * account deleted from auth's file with ucs-passwd cannot be seen
	 * from here: docs/plugins/admin-api.md) */
	for (size_t i = 0; i < a->conf.n_accounts; i++)
		if (!adm_conf_is_configured(&next, a->conf.accounts[i].login))
			adm_sessions_revoke(a, a->conf.accounts[i].login, NULL,
					    "the account was removed from the configuration");
	adm_conf_free(&a->conf);
	a->conf = next;
	log_interfaces(a);
	return 0;
}

static void adm_stop(void *state)
{
	struct adm *a = state;

	a->stopped = 1;
	adm_import_stop(a);
	adm_events_stop(a);
	adm_svc_stop(a);
	adm_ops_orphan(a);
	if (a->srv)
		wsrpc_server_free(a->srv);
	a->srv = NULL;
}

static void adm_fini(void *state)
{
	adm_boot_fini();
	the_host = NULL;
	adm_free(state);
}

static const char *const adm_requires[] = {UCS_AUTH_SERVICE, NULL};

static const struct ucs_plugin_desc adm_desc = {
	UCS_PLUGIN_HEADER,
	.name = "admin-api",
	.version = "1.0.0",
	.license = "MIT",
	.description = "the administration protocol: JSON-RPC over WebSocket on 7221",
	.requires = adm_requires,
	.provides = NULL,
	.config = adm_cfg_keys,
	.init = adm_init,
	.start = adm_start,
	.reload = adm_reload,
	.stop = adm_stop,
	.fini = adm_fini,
	.status = adm_status,
};

UCS_PLUGIN_DEFINE(adm_desc)
