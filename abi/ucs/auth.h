/*
 * ucs/auth.h - the "ucs.auth" service: who is knocking.
 *
 * Every login (a desktop client, a browser, an administrator) is decided
 * here, and nowhere else, so the same brute-force protection and the same
 * audit trail cover every door. Two methods check a user's secret:
 *   - the UC password: an argon2id hash in PHC string form kept by the user
 *     store; verification is constant-time and costs tens of milliseconds
 *     by design;
 *   - the directory login (the Linux counterpart of Windows domain
 *     authentication): an LDAP simple bind as the user's DN, found by a
 *     search, over TLS unless the operator explicitly allowed plain text.
 * Administrator accounts are separate from users and are kept by the auth
 * plugin itself.
 *
 * Because both methods block, login() is asynchronous: it returns at once
 * and calls done() later on the loop thread, exactly once, unless the
 * operation was cancelled first. The result never tells an unknown login
 * from a wrong password, and takes the same time for both.
 *
 * Brute force: failures are counted per login and per source address. Each
 * failure delays the next answer further; past a threshold the login (or
 * the address) is locked out for a while, and every attempt during the
 * lockout fails with -EAGAIN and retry_after_ms - even with the right
 * password, so a lockout cannot be used as an oracle. Every failure and
 * every lockout is logged as an audit line; a password never is.
 *
 * Results (status): 0 accepted; -EACCES wrong login or secret; -EAGAIN
 * locked out, or too many logins waiting (retry after retry_after_ms);
 * -EPERM the account is inactive or may not use this method (only said
 * after the secret was verified);
 * -EHOSTUNREACH the directory could not be asked; -ECANCELED stopped.
 */
#ifndef UCS_AUTH_H
#define UCS_AUTH_H

#include <sys/socket.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_AUTH_SERVICE "ucs.auth"
#define UCS_AUTH_VERSION 1

/* "auth.event": payload struct ucs_auth_event, key "user:<id>" or
 * "admin:<id>" when the account is known, no key otherwise. */
#define UCS_AUTH_EVENT_TYPE "auth.event"

enum ucs_auth_kind {
	UCS_AUTH_USER = 1,  /* a user of the user store */
	UCS_AUTH_ADMIN = 2, /* an administrator account */
};

struct ucs_auth_request {
	uint32_t size;
	int32_t kind; /* enum ucs_auth_kind */
	const char *login;
	const char *password;
	size_t password_len;
	const struct sockaddr *peer; /* the client's address (rate limits, audit); may be NULL */
	const char *via;	     /* "client-api", "admin-api": shown in audit lines */
};

struct ucs_auth_result {
	uint32_t size;
	int32_t status;
	uint32_t retry_after_ms;   /* with -EAGAIN */
	struct ucs_id user;	   /* the user (or admin) id when accepted */
	char method[16];	   /* "uc-password", "ldap", "admin" */
};

enum ucs_auth_event_kind {
	UCS_AUTH_EV_SUCCESS = 1,
	UCS_AUTH_EV_FAILURE = 2,
	UCS_AUTH_EV_LOCKOUT = 3, /* a login or address was locked out */
	UCS_AUTH_EV_RELEASE = 4, /* ... and released */
};

struct ucs_auth_event {
	uint32_t size;
	int32_t kind; /* enum ucs_auth_event_kind */
	struct ucs_id login;
	char address[64]; /* numeric source address, "" if unknown */
	char via[32];
};

struct ucs_auth_op;
typedef void(ucs_auth_done_h)(const struct ucs_auth_result *res, void *arg);
typedef void(ucs_auth_status_h)(int status, void *arg);

struct ucs_auth_api {
	uint32_t size;
	/* 0 and *out (may be NULL) set: done() follows. A negative errno: done()
	 * is never called (-EINVAL for a malformed request). self is the
	 * asking plugin (reserved for ownership; may be NULL). */
	int (*login)(struct ucs_plugin *self, const struct ucs_auth_request *req,
		     ucs_auth_done_h *done, void *arg, struct ucs_auth_op **out);
	/* done() is not called after cancel. */
	void (*cancel)(struct ucs_auth_op *op);
	/* Hashes the password off the loop and stores it with the user store
	 * (kind UCS_AUTH_USER) or the admin accounts (kind UCS_AUTH_ADMIN,
	 * creating the account). done(status) on the loop thread. */
	int (*set_password)(struct ucs_plugin *self, int kind, const char *id,
			    const char *password, size_t len, ucs_auth_status_h *done, void *arg);
	/* Drops the failure counters of a login (an administrator's release). */
	int (*release)(const char *login);

	/* ABI 1.1. Administrator accounts from configuration (the admin-api
	 * section's `accounts`): n logins with argon2id PHC hashes, replacing
	 * the previously configured set (each call, e.g. after SIGHUP). They
	 * take precedence over an account of the same login in the auth
	 * plugin's own file; set_password refuses them with -EROFS (the
	 * configuration owns them). -EINVAL for a hash that is not an argon2id
	 * PHC string (nothing changes then). */
	int (*set_admin_accounts)(struct ucs_plugin *self, const char *const *logins,
				  const char *const *hashes, size_t n);
	/* How many administrator accounts exist (configured and stored). */
	int (*admin_count)(void);
};

#ifdef __cplusplus
}
#endif

#endif
