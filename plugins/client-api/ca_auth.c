/*
 * plugins/client-api/ca_auth.c - auth.login, auth.resume, auth.logout.
 *
 * The password goes to the auth service (kind user, the peer's address for
 * the brute-force counters, via "client-api"); its answer comes later, on
 * the loop thread. auth owns every decision and every audit line; this file
 * only maps its results onto the protocol's reasons:
 *   0 -> the session is the user's    -EACCES -> auth_failed
 *   -EAGAIN -> locked_out (retry_after_ms)  -EPERM -> inactive
 *   -EHOSTUNREACH -> unavailable (the directory could not be asked)
 * A session logs in once: a second auth.login or auth.resume on a logged-in
 * session (or while one runs) is invalid_request.
 *
 * Roaming users: auth.login may name the computer the client runs on. A
 * successful login records it as the computer's last logon (ucs.userdb
 * computer_logon), which gives the user the phones that stand next to that
 * computer (the line manager's rights). An unknown computer is no error: the
 * session just has no computer. A resume does not log on again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca.h"

#define LOGIN_MAX    256
#define PASSWORD_MAX 1024
#define COMPUTER_MAX (UCS_ID_MAX - 1)

struct login_op {
	struct ca_op op;
	struct ucs_auth_op *auth_op;
	char computer[UCS_ID_MAX]; /* lower case; "" none */
};

static json_t *juser(const struct ucs_ud_user *u)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", CA_JS(u->id), "login",
			 CA_JS(u->login), "display_name", CA_JS(u->display_name), "identity",
			 CA_JS(u->identity), "first_name", CA_JS(u->first_name), "last_name",
			 CA_JS(u->last_name), "email", CA_JS(u->email));
}

static json_t *jserver(struct ca *ca)
{
	const struct ucs_env_api *env = ca->host->env;

	return json_pack("{s:s,s:s,s:s,s:i}", "name", env->server_name(), "version", env->version(),
			 "presence_domain", env->presence_domain(), "protocol", 1);
}

/* Records the user's logon at the computer the login named; an unknown
 * computer (or a store that cannot write) leaves the session without one. */
static void computer_logon(struct ca_sess *s, const struct ucs_ud_user *u, const char *computer)
{
	struct ca *ca = s->ca;
	int err;

	if (!computer || !*computer)
		return;
	err = ca->udb->computer_logon(computer, u->id, (int64_t)time(NULL));
	if (err) {
		CA_LOG(ca, err == -ENOENT ? UCS_LOG_INFO : UCS_LOG_WARNING,
		       "%s logged in from computer %s: %s (session %llu has no computer)", u->login,
		       computer,
		       err == -ENOENT ? "no such computer in the user store" : strerror(-err),
		       (unsigned long long)s->id);
		return;
	}
	snprintf(s->computer, sizeof(s->computer), "%s", computer);
}

/* The session becomes the user's: the answer to a login or a resume. The
 * answer is the last thing done (sending may close the session). Returns
 * whether the session is the user's now. computer: the login's, or NULL. */
static bool finish(struct ca_sess *s, json_t *id, const char *user_id, bool resume,
		   const char *computer)
{
	struct ca *ca = s->ca;
	struct wsrpc_session *ws = wsrpc_session_ref(s->ws);
	const struct ucs_ud_snapshot *snap = ca->udb->acquire();
	const struct ucs_ud_user *u = snap ? ca->udb->user(snap, user_id) : NULL;
	json_t *result;
	bool ok = false;
	int err;

	if (!u || !(u->flags & UCS_UD_ACTIVE)) {
		/* gone or switched off between the check and now */
		if (resume) {
			ca_token_revoke(ca, s->token);
			s->token[0] = '\0';
		}
		wsrpc_error(ws, id, u ? WSRPC_INACTIVE : WSRPC_AUTH_FAILED,
			    u ? "the account is inactive" : "wrong login or password", NULL);
		goto out;
	}
	err = ca_sess_attach(s, u);
	if (err == -EUSERS) {
		if (resume)
			ca_token_release(s);
		wsrpc_error(ws, id, WSRPC_RATE_LIMITED, "too many sessions of this user",
			    json_pack("{s:i}", "max_sessions_per_user",
				      (int)ca->conf.max_sessions_per_user));
		goto out;
	}
	if (!err && !resume)
		err = ca_token_issue(s);
	if (err) {
		wsrpc_error(ws, id, WSRPC_INTERNAL, strerror(-err), NULL);
		wsrpc_session_close(ws, WSRPC_CLOSE_INTERNAL, "internal error");
		goto out;
	}
	if (!resume)
		computer_logon(s, u, computer);
	CA_LOG(ca, UCS_LOG_INFO, "%s %s from %s%s%s (session %llu)", u->login,
	       resume ? "resumed a session" : "logged in", wsrpc_session_peer_name(ws),
	       s->computer[0] ? " on computer " : "", s->computer, (unsigned long long)s->id);
	if (resume)
		ca->n.resumes_ok++;
	else
		ca->n.logins_ok++;
	ok = true;
	/* the offline journal comes after this answer (the fetch runs on the
	 * journal's thread); it is her fetch, ended with her last session */
	ca_journal_session_start(s);
	result = json_pack("{s:s,s:o,s:o}", "session", s->token, "user", juser(u), "server",
			   jserver(ca));
	if (result && s->computer[0])
		json_object_set_new(result, "computer", json_string(s->computer));
	wsrpc_reply(ws, id, result);
out:
	if (snap)
		ca->udb->release(snap);
	wsrpc_session_unref(ws);
	return ok;
}

static void login_release(struct ca_op *op)
{
	free(op);
}

static void login_done(const struct ucs_auth_result *res, void *arg)
{
	struct login_op *lo = arg;
	struct ca_sess *s = lo->op.sess;
	struct ca *ca = s->ca;

	s->busy_login = false;
	if (res->status)
		ca->n.logins_failed++;
	switch (res->status) {
	case 0: {
		json_t *id = json_incref(lo->op.id);
		char computer[UCS_ID_MAX];

		snprintf(computer, sizeof(computer), "%s", lo->computer);
		ca_op_remove(&lo->op);
		free(lo);
		finish(s, id, res->user.text, false, computer);
		json_decref(id);
		break;
	}
	case -EAGAIN:
		ca_op_error(&lo->op, WSRPC_LOCKED_OUT, "locked out: try again later",
			    json_pack("{s:I}", "retry_after_ms", (json_int_t)res->retry_after_ms));
		break;
	case -EPERM:
		ca_op_error(&lo->op, WSRPC_INACTIVE, "the account is inactive", NULL);
		break;
	case -EHOSTUNREACH:
		ca_op_error(&lo->op, WSRPC_UNAVAILABLE,
			    "the directory that checks passwords cannot be reached", NULL);
		break;
	case -EACCES:
		ca_op_error(&lo->op, WSRPC_AUTH_FAILED, "wrong login or password", NULL);
		break;
	default:
		ca_op_error(&lo->op, WSRPC_UNAVAILABLE, "the login could not be checked", NULL);
		break;
	}
}

static void login_cancel(struct ca_op *op)
{
	struct login_op *lo = (struct login_op *)op;

	op->sess->ca->auth->cancel(lo->auth_op);
	free(lo);
}

/* A computer name as a client sends it: the store's id spelling (1 to 63
 * of a-z 0-9 . _ @ -, docs/protocol/userdb.md) in any case, for Windows
 * spells computer names in upper case. */
static bool computer_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > COMPUTER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z') &&
		    !(name[i] >= '0' && name[i] <= '9') && !strchr("._@-", name[i]))
			return false;
	return true;
}

/* invalid_request for a session that is (getting) logged in already. */
static bool logged_in_already(struct ca_sess *s, json_t *id)
{
	if (s->user)
		wsrpc_error(s->ws, id, WSRPC_INVALID_REQUEST,
			    "this session is logged in already: log out or open another", NULL);
	else if (s->busy_login)
		wsrpc_error(s->ws, id, WSRPC_INVALID_REQUEST, "a login is in progress", NULL);
	return s->user || s->busy_login;
}

CA_METHOD(ca_m_auth_login)
{
	static const char *const only[] = {"login", "password", "computer", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	struct ucs_auth_request req = {.size = sizeof(req)};
	struct login_op *lo;
	const char *login, *password, *computer = NULL;
	int err;

	if (wsrpc_params_only(ws, id, params, only) ||
	    wsrpc_param_string(ws, id, params, "login", 1, LOGIN_MAX, &login) ||
	    wsrpc_param_string(ws, id, params, "password", 1, PASSWORD_MAX, &password))
		return;
	err = wsrpc_param_string(ws, id, params, "computer", 0, COMPUTER_MAX, &computer);
	if (err && err != -ENOENT)
		return;
	if (logged_in_already(s, id))
		return;
	if (!*login) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "login: must not be empty",
			    json_pack("{s:s}", "member", "login"));
		return;
	}
	if (computer && !computer_name_ok(computer)) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS,
			    "computer: 1 to 63 of a-z A-Z 0-9 . _ @ -",
			    json_pack("{s:s}", "member", "computer"));
		return;
	}
	lo = calloc(1, sizeof(*lo));
	if (!lo) {
		wsrpc_error(ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	/* computer ids are the names in lower case (docs/protocol/userdb.md) */
	for (size_t i = 0; computer && computer[i]; i++)
		lo->computer[i] = computer[i] >= 'A' && computer[i] <= 'Z'
					  ? (char)(computer[i] - 'A' + 'a')
					  : computer[i];
	req.kind = UCS_AUTH_USER;
	req.login = login;
	req.password = password;
	req.password_len = json_string_length(json_object_get(params, "password"));
	req.peer = wsrpc_session_peer(ws);
	req.via = "client-api";
	err = ca->auth->login(ca->self, &req, login_done, lo, &lo->auth_op);
	if (err) {
		free(lo);
		ca->n.logins_failed++;
		if (err == -EAGAIN)
			wsrpc_error(ws, id, WSRPC_LOCKED_OUT, "too many logins in progress",
				    json_pack("{s:i}", "retry_after_ms", 1000));
		else if (err == -EINVAL)
			wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "login or password malformed",
				    json_pack("{s:s}", "member", "login"));
		else
			wsrpc_error(ws, id, WSRPC_UNAVAILABLE, "the login could not be checked",
				    NULL);
		return;
	}
	lo->op.cancel = login_cancel;
	lo->op.release = login_release;
	ca_op_add(s, &lo->op, id);
	s->busy_login = true;
}

CA_METHOD(ca_m_auth_resume)
{
	static const char *const only[] = {"session", NULL};
	struct ca_sess *s = ca_sess_of(ws), *holder;
	struct ca *ca = arg;
	char user[UCS_ID_MAX];
	const char *token;

	if (wsrpc_params_only(ws, id, params, only) ||
	    wsrpc_param_string(ws, id, params, "session", 1, 128, &token))
		return;
	if (logged_in_already(s, id))
		return;
	if (ca_token_take(ca, token, s, user, &holder)) {
		ca->n.resumes_failed++;
		wsrpc_error(ws, id, WSRPC_AUTH_FAILED, "unknown or expired session", NULL);
		return;
	}
	if (holder) {
		CA_LOG(ca, UCS_LOG_INFO, "session %llu of %s replaced by session %llu (resumed)",
		       (unsigned long long)holder->id, holder->login, (unsigned long long)s->id);
		wsrpc_session_close(holder->ws, WSRPC_CLOSE_REVOKED, "session replaced");
	}
	if (!finish(s, id, user, true, NULL))
		ca->n.resumes_failed++;
}

CA_METHOD(ca_m_auth_logout)
{
	static const char *const only[] = {NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	CA_LOG(ca, UCS_LOG_INFO, "%s logged out (session %llu)", s->login,
	       (unsigned long long)s->id);
	ca->n.logouts++;
	if (s->token[0]) {
		ca_token_revoke(ca, s->token);
		s->token[0] = '\0';
	}
	wsrpc_reply(ws, id, json_object());
	wsrpc_session_close(ws, WSRPC_CLOSE_LOGGED_OUT, "logged out");
}
