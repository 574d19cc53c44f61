/*
 * plugins/admin-api/adm_session.c - sessions, the administrator's login
 * and password, and the asynchronous operations that outlive a callback.
 *
 * A session is anonymous until admin.login succeeds: wsrpc answers every
 * other method with not_authenticated, and closes the session when the
 * authentication deadline passes. The login goes through ucs.auth (kind
 * admin), so the brute-force protection and the audit of the auth plugin
 * cover this door like every other; failures answer like the client
 * protocol: auth_failed, or locked_out with data.retry_after_ms.
 *
 * Operations. A login, a password change or a write that sets a password
 * waits for the thread pool; meanwhile the peer may hang up and the
 * plugin may stop. An operation (struct adm_op) holds a reference to the
 * session and the request id; a login still running when its session
 * closes is cancelled (auth then counts it if it ran, as for any peer
 * that hangs up); the others run to their end and answer a closed session
 * harmlessly. At stop every operation lets go of its session and of the
 * plugin; callbacks that still come (auth stops after us) only free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"

/* ---- operations ---- */

struct adm_op *adm_op_new(struct adm *a, struct wsrpc_session *s, json_t *id, const char *action,
			  const char *object)
{
	struct adm_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->a = a;
	op->s = s ? wsrpc_session_ref(s) : NULL;
	op->id = id ? json_incref(id) : NULL;
	snprintf(op->action, sizeof(op->action), "%s", action ? action : "");
	snprintf(op->object, sizeof(op->object), "%.127s", object ? object : "");
	if (s) {
		snprintf(op->login, sizeof(op->login), "%.63s", adm_who(s));
		snprintf(op->address, sizeof(op->address), "%.63s", adm_peer(s));
	}
	op->next = a->ops;
	if (a->ops)
		a->ops->prev = op;
	a->ops = op;
	return op;
}

static void op_unlink(struct adm_op *op, struct adm *a)
{
	if (op->prev)
		op->prev->next = op->next;
	else if (a && a->ops == op)
		a->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
}

void adm_op_free(struct adm_op *op)
{
	if (!op)
		return;
	if (op->owner && op->owner->pending == op)
		op->owner->pending = NULL;
	if (op->a)
		op_unlink(op, op->a);
	if (op->s)
		wsrpc_session_unref(op->s);
	json_decref(op->id);
	json_decref(op->data);
	if (op->secret) {
		explicit_bzero(op->secret, op->secret_len);
		free(op->secret);
	}
	free(op);
}

int adm_op_secret(struct adm_op *op, const char *secret)
{
	op->secret_len = strlen(secret);
	op->secret = malloc(op->secret_len + 1);
	if (!op->secret)
		return -ENOMEM;
	memcpy(op->secret, secret, op->secret_len + 1);
	return 0;
}

/* Orphans stay on a list of their own so that fini frees them. */
static struct adm_op *orphans;

void adm_ops_orphan(struct adm *a)
{
	while (a->ops) {
		struct adm_op *op = a->ops;

		op_unlink(op, a);
		if (op->auth_op) {
			a->auth->cancel(op->auth_op); /* no callback follows */
			op->auth_op = NULL;
			if (op->owner)
				op->owner->pending = NULL;
			op->owner = NULL;
			op->a = NULL;
			adm_op_free(op);
			continue;
		}
		if (op->s)
			wsrpc_session_unref(op->s);
		op->s = NULL;
		if (op->owner && op->owner->pending == op)
			op->owner->pending = NULL;
		op->owner = NULL;
		op->a = NULL;
		op->next = orphans;
		if (orphans)
			orphans->prev = op;
		orphans = op;
	}
}

void adm_ops_free_all(struct adm *a)
{
	adm_ops_orphan(a);
	while (orphans) {
		struct adm_op *op = orphans;

		orphans = op->next;
		op->next = op->prev = NULL;
		adm_op_free(op);
	}
}

/* A callback of an orphaned operation: take it off the orphans and free. */
int adm_op_orphaned(struct adm_op *op)
{
	if (op->a)
		return 0;
	if (op->prev)
		op->prev->next = op->next;
	else if (orphans == op)
		orphans = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
	adm_op_free(op);
	return 1;
}

/* ---- sessions ---- */

struct adm_session *adm_session_of(struct wsrpc_session *s)
{
	return s ? wsrpc_session_data(s) : NULL;
}

void adm_session_open(struct wsrpc_session *s, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = calloc(1, sizeof(*sess));

	if (!sess) {
		wsrpc_session_close(s, WSRPC_CLOSE_INTERNAL, "out of memory");
		return;
	}
	sess->a = a;
	sess->s = s;
	snprintf(sess->address, sizeof(sess->address), "%.63s", adm_peer(s));
	sess->next = a->sessions;
	if (a->sessions)
		a->sessions->prev = sess;
	a->sessions = sess;
	wsrpc_session_set_data(s, sess);
}

void adm_session_close(struct wsrpc_session *s, int code, const char *reason, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = adm_session_of(s);

	(void)code, (void)reason;
	if (!sess)
		return;
	if (sess->pending) {
		struct adm_op *op = sess->pending;

		/* a login or password check nobody waits for any more */
		if (op->auth_op)
			a->auth->cancel(op->auth_op);
		op->auth_op = NULL;
		op->owner = NULL;
		sess->pending = NULL;
		adm_op_free(op);
	}
	adm_events_session_gone(sess);
	adm_svc_session_gone(a, s);
	if (sess->prev)
		sess->prev->next = sess->next;
	else
		a->sessions = sess->next;
	if (sess->next)
		sess->next->prev = sess->prev;
	wsrpc_session_set_data(s, NULL);
	free(sess);
}

/* Closes (4003) every session logged in as `login` but `except`: the
 * account was removed from the configuration, or its password changed.
 * Closing frees a session's state and changes the list, so the sessions
 * are collected (with a reference) before any is closed. */
void adm_sessions_revoke(struct adm *a, const char *login, struct wsrpc_session *except,
			 const char *why)
{
	struct wsrpc_session **v = NULL;
	size_t n = 0, cap = 0;

	for (struct adm_session *x = a->sessions; x; x = x->next) {
		if (x->s == except || !x->login[0] || strcasecmp(x->login, login) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			struct wsrpc_session **t = realloc(v, ncap * sizeof(*t));

			if (!t)
				break; /* out of memory: those found so far */
			v = t;
			cap = ncap;
		}
		v[n++] = wsrpc_session_ref(x->s);
	}
	for (size_t i = 0; i < n; i++) {
		a->host->log->log(a->self, UCS_LOG_INFO, "session of '%s' from %s closed: %s",
				  login, wsrpc_session_peer_name(v[i]), why);
		wsrpc_session_close(v[i], WSRPC_CLOSE_REVOKED, why);
		wsrpc_session_unref(v[i]);
	}
	free(v);
}

/* ---- admin.login ---- */

static void login_answer(struct adm_op *op, const struct ucs_auth_result *res)
{
	struct adm *a = op->a;
	struct adm_session *sess = op->owner;
	const char *why = NULL;

	if (res->status == 0 && sess) {
		snprintf(sess->login, sizeof(sess->login), "%s", res->user.text);
		sess->since_ms = adm_now_ms();
		wsrpc_session_authenticated(op->s);
		a->logins_ok++;
		adm_audit(a, sess->login, op->address, "admin.login", "", NULL);
		wsrpc_reply(op->s, op->id,
			    json_pack("{s:s,s:{s:s,s:s}}", "login", sess->login, "server", "name",
				      a->host->env->server_name(), "version",
				      a->host->env->version()));
		return;
	}
	a->logins_failed++;
	switch (res->status) {
	case -EACCES:
		why = "auth_failed";
		wsrpc_error(op->s, op->id, WSRPC_AUTH_FAILED, "wrong login or password", NULL);
		break;
	case -EAGAIN:
		why = "locked_out";
		adm_error(op->s, op->id, WSRPC_LOCKED_OUT,
			  json_pack("{s:I}", "retry_after_ms", (json_int_t)res->retry_after_ms),
			  "too many failed logins: retry in %u ms", res->retry_after_ms);
		break;
	case -EPERM:
		why = "inactive";
		wsrpc_error(op->s, op->id, WSRPC_INACTIVE, "the account is switched off", NULL);
		break;
	case -EHOSTUNREACH:
		why = "unavailable";
		wsrpc_error(op->s, op->id, WSRPC_UNAVAILABLE, "the directory cannot be reached",
			    NULL);
		break;
	default:
		why = "internal";
		adm_error(op->s, op->id, WSRPC_INTERNAL, NULL, "the login failed: %s",
			  strerror(-res->status));
	}
	adm_audit(a, op->object, op->address, "admin.login", "", why);
}

static void on_login(const struct ucs_auth_result *res, void *arg)
{
	struct adm_op *op = arg;

	op->auth_op = NULL;
	if (adm_op_orphaned(op))
		return;
	login_answer(op, res);
	adm_op_free(op);
}

/* Checks a password of an administrator through auth: done(op, result). */
static int check_password(struct adm *a, struct adm_op *op, const char *login, const char *password,
			  ucs_auth_done_h *done)
{
	struct ucs_auth_request req = {
		.size = sizeof(req),
		.kind = UCS_AUTH_ADMIN,
		.login = login,
		.password = password,
		.password_len = strlen(password),
		.peer = wsrpc_session_peer(op->s),
		.via = "admin-api",
	};

	return a->auth->login(a->self, &req, done, op, &op->auth_op);
}

static const char *const login_params[] = {"login", "password", NULL};

void adm_m_login(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = adm_session_of(s);
	const char *login, *password;
	struct adm_op *op;
	int err;

	if (!sess)
		return;
	if (wsrpc_params_only(s, id, params, login_params) ||
	    wsrpc_param_string(s, id, params, "login", 1, 256, &login) ||
	    wsrpc_param_string(s, id, params, "password", 1, 1024, &password))
		return;
	if (!*login) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "login: required");
		return;
	}
	if (!*password) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "password: required (not empty)");
		return;
	}
	if (sess->login[0]) {
		adm_error(s, id, WSRPC_CONFLICT, NULL, "already logged in as %s", sess->login);
		return;
	}
	if (sess->pending) {
		adm_error(s, id, WSRPC_CONFLICT, NULL, "a login is in progress on this session");
		return;
	}
	op = adm_op_new(a, s, id, "admin.login", login);
	if (!op) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	op->owner = sess;
	sess->pending = op;
	err = check_password(a, op, login, password, on_login);
	if (err) {
		struct ucs_auth_result res = {.size = sizeof(res), .status = err};

		if (err == -EINVAL) {
			adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "login: not acceptable");
		} else {
			res.retry_after_ms = 1000;
			login_answer(op, &res);
		}
		adm_op_free(op);
	}
}

void adm_m_logout(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = adm_session_of(s);

	(void)params;
	if (!sess)
		return;
	adm_audit(a, sess->login, sess->address, "admin.logout", "", NULL);
	wsrpc_reply(s, id, json_pack("{s:b}", "logged_out", 1));
	wsrpc_session_close(s, WSRPC_CLOSE_LOGGED_OUT, "logged out");
}

/* ---- admin.passwd ---- */

static void on_new_password(int status, void *arg)
{
	struct adm_op *op = arg;
	struct adm *a;

	if (adm_op_orphaned(op))
		return;
	a = op->a;
	if (status == 0) {
		adm_audit(a, op->login, op->address, "admin.passwd", op->login, NULL);
		wsrpc_reply(op->s, op->id, json_pack("{s:b}", "changed", 1));
		/* whoever knew the old password is out */
		adm_sessions_revoke(a, op->login, op->s, "the password was changed");
		adm_boot_password_changed(a, op->login);
	} else {
		enum wsrpc_reason r = adm_reason_of(status);

		adm_audit(a, op->login, op->address, "admin.passwd", op->login,
			  wsrpc_reason_name(r));
		adm_error(op->s, op->id, r, NULL, "the password was not changed: %s",
			  status == -EROFS ? "the account is configured in admin-api.accounts"
					   : strerror(-status));
	}
	adm_op_free(op);
}

static void on_old_password(const struct ucs_auth_result *res, void *arg)
{
	struct adm_op *op = arg;
	struct adm *a;
	int err;

	op->auth_op = NULL;
	if (adm_op_orphaned(op))
		return;
	a = op->a;
	if (op->owner && op->owner->pending == op)
		op->owner->pending = NULL;
	op->owner = NULL;
	if (res->status != 0) {
		const char *why = res->status == -EAGAIN ? "locked_out" : "auth_failed";

		adm_audit(a, op->login, op->address, "admin.passwd", op->login, why);
		if (res->status == -EAGAIN)
			adm_error(op->s, op->id, WSRPC_LOCKED_OUT,
				  json_pack("{s:I}", "retry_after_ms",
					    (json_int_t)res->retry_after_ms),
				  "too many failed logins: retry in %u ms", res->retry_after_ms);
		else
			adm_error(op->s, op->id, WSRPC_AUTH_FAILED, NULL, "old_password is wrong");
		adm_op_free(op);
		return;
	}
	err = a->auth->set_password(a->self, UCS_AUTH_ADMIN, op->login, op->secret, op->secret_len,
				    on_new_password, op);
	explicit_bzero(op->secret, op->secret_len);
	if (err)
		on_new_password(err, op);
}

static const char *const passwd_params[] = {"password", "old_password", NULL};

void adm_m_passwd(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	struct adm_session *sess = adm_session_of(s);
	const char *pw, *old;
	struct adm_op *op;
	int err;

	if (!sess)
		return;
	if (wsrpc_params_only(s, id, params, passwd_params) ||
	    wsrpc_param_string(s, id, params, "password", 1, 1024, &pw) ||
	    wsrpc_param_string(s, id, params, "old_password", 1, 1024, &old))
		return;
	if (adm_conf_is_configured(&a->conf, sess->login)) {
		adm_audit(a, sess->login, sess->address, "admin.passwd", sess->login, "read_only");
		adm_error(s, id, WSRPC_READ_ONLY, NULL,
			  "the account %s is configured in admin-api.accounts: change its "
			  "password_hash there",
			  sess->login);
		return;
	}
	if (!*old) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "old_password: required (not empty)");
		return;
	}
	if ((int64_t)strlen(pw) < a->conf.min_password) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "password: at least %lld characters",
			  (long long)a->conf.min_password);
		return;
	}
	if (sess->pending) {
		adm_error(s, id, WSRPC_CONFLICT, NULL, "a password check is in progress");
		return;
	}
	op = adm_op_new(a, s, id, "admin.passwd", sess->login);
	if (!op || adm_op_secret(op, pw) != 0) {
		adm_op_free(op);
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	op->owner = sess;
	sess->pending = op;
	err = check_password(a, op, sess->login, old, on_old_password);
	if (err) {
		adm_error(s, id, adm_reason_of(err), NULL, "the old password cannot be checked: %s",
			  strerror(-err));
		adm_op_free(op);
	}
}
