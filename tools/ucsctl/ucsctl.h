/*
 * tools/ucsctl/ucsctl.h - what the parts of ucsctl share: the exit codes,
 * the global options and the session with the server.
 *
 * ucsctl is a short-lived client of the admin protocol (JSON-RPC 2.0 over
 * WebSocket, docs/protocol/admin.md). One invocation runs one command: it
 * reads the administrator's password before it connects (so the server's
 * authentication deadline does not run while someone types), connects,
 * logs in with admin.login, makes the calls the command needs and leaves.
 *
 * The exit codes are the interface scripts rely on, so every failure maps
 * to exactly one of them:
 *   0 ok; 1 usage error (bad options, missing arguments, no password);
 *   2 no connection (refused, unreachable, TLS failure, no WebSocket, the
 *     connection broke or timed out); 3 authentication failed (wrong
 *     password, unknown administrator, locked out); 4 the server refused
 *     the request (its error reason and message go to stderr); 5 local I/O
 *     error (a file could not be read or written).
 */
#ifndef UCSCTL_H
#define UCSCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum ucsctl_exit {
	UX_OK = 0,
	UX_USAGE = 1,
	UX_CONNECT = 2,
	UX_AUTH = 3,
	UX_REFUSED = 4,
	UX_IO = 5,
};

#define UCSCTL_DEFAULT_HOST	  "127.0.0.1"
#define UCSCTL_DEFAULT_PORT	  "7221"
#define UCSCTL_DEFAULT_ADMIN	  "admin"
#define UCSCTL_DEFAULT_TIMEOUT_MS 60000
#define UCSCTL_SYSTEM_CA	  "/etc/ssl/certs/ca-certificates.crt"

struct rpc;

struct ucsctl {
	/* global options */
	const char *server; /* -s as given, NULL: the default */
	bool tls, insecure, json;
	bool insecure_plain; /* --insecure-plain: a password in clear to another host */
	const char *ca;
	const char *admin;
	int timeout_ms;
	bool timeout_given; /* --timeout: also for export/import (else no limit) */
	/* the command being run (for messages and its --help) */
	const struct ucsctl_cmd *cmd;
	/* the session, opened on first use */
	struct rpc *rpc;
	/* the administrator's password, kept after the login only when a
	 * command needs it again (passwd: admin.passwd's old_password); wiped
	 * by ucsctl_close() */
	bool keep_password;
	char *password;
	size_t password_len;
};

/* One command: `name` is what the user types ("users", "hash-password"). */
struct ucsctl_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* the full text of `ucsctl NAME --help` */
	int (*run)(struct ucsctl *ctl, int argc, char **argv);
};

extern const struct ucsctl_cmd ucsctl_cmd_status, ucsctl_cmd_events, ucsctl_cmd_plugins,
	ucsctl_cmd_users, ucsctl_cmd_groups, ucsctl_cmd_computers, ucsctl_cmd_dialplan,
	ucsctl_cmd_config, ucsctl_cmd_export, ucsctl_cmd_import, ucsctl_cmd_restart,
	ucsctl_cmd_passwd, ucsctl_cmd_hash_password, ucsctl_cmd_mail, ucsctl_cmd_sms,
	ucsctl_cmd_journal;

/* Makes one request (opening and logging in the session first when it is
 * not open yet). params is taken (may be NULL). On UX_OK *result holds the
 * result (the caller's reference); otherwise the failure was reported on
 * stderr and the return value is the exit code. */
int ucsctl_call(struct ucsctl *ctl, const char *method, json_t *params, json_t **result);
/* Like ucsctl_call(), but a refusal is not reported: it returns UX_REFUSED
 * with *error (the JSON-RPC error object, the caller's), for commands that
 * explain some refusals themselves (config validate: FILE:LINE:COL). */
int ucsctl_call_err(struct ucsctl *ctl, const char *method, json_t *params, json_t **result,
		    json_t **error);
/* A call whose result people need not see: with --json the result, else
 * the line `said`. UX_OK or an exit code (reported). */
int ucsctl_call_say(struct ucsctl *ctl, const char *method, json_t *params, const char *said);
/* Every row of a paged list method (users.list, groups.list, ...): calls
 * it a page at a time (params, taken, plus offset and limit) and returns
 * {KEY: [all rows], "total": N} in *out; an answer without the paged shape
 * comes as it is. UX_OK or an exit code (reported). */
int ucsctl_list_all(struct ucsctl *ctl, const char *method, const char *key, json_t *params,
		    json_t **out);
/* Reports a refusal on stderr ("ucsctl: METHOD: REASON: MESSAGE") and
 * returns its exit code (UX_AUTH for not_authenticated, else UX_REFUSED). */
int ucsctl_refused(const struct ucsctl *ctl, const char *method, json_t *error);
/* Opens the session when it is not open yet (UX_OK or an exit code). */
int ucsctl_session(struct ucsctl *ctl);
/* Closes the session (a close frame, then the socket). */
void ucsctl_close(struct ucsctl *ctl);

/* Messages on stderr, prefixed with "ucsctl: " (or "ucsctl CMD: "). */
void ucsctl_err(const struct ucsctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A usage error: the message, a hint to --help, and UX_USAGE. */
int ucsctl_usage(const struct ucsctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parses the global options that may also follow the command (--json,
 * -s, --tls, ...): 1 when `opt` (a getopt_long return value from
 * UCSCTL_GLOBAL_LONGOPTS) was one of them, 0 otherwise, -1 on a bad value. */
int ucsctl_global_opt(struct ucsctl *ctl, int opt, const char *arg);

/* getopt_long values of the global options: -s and -u are their letters,
 * the long-only ones lie above every character. */
enum {
	OPT_SERVER = 's',
	OPT_ADMIN = 'u',
	OPT_TLS = 0x100,
	OPT_CA,
	OPT_INSECURE,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_INSECURE_PLAIN,
	OPT_HELP,
	OPT_CMD_BASE = 0x200, /* commands number their own options from here */
};

#define UCSCTL_GLOBAL_LONGOPTS                                                                     \
	{"server", required_argument, NULL, OPT_SERVER},                                           \
		{"user", required_argument, NULL, OPT_ADMIN}, {"tls", no_argument, NULL, OPT_TLS}, \
		{"ca", required_argument, NULL, OPT_CA},                                           \
		{"insecure", no_argument, NULL, OPT_INSECURE},                                     \
		{"json", no_argument, NULL, OPT_JSON},                                             \
		{"timeout", required_argument, NULL, OPT_TIMEOUT},                                 \
		{"insecure-plain", no_argument, NULL, OPT_INSECURE_PLAIN},                         \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

#endif
