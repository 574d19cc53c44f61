/*
 * plugins/admin-api/adm.h - the administration interface: what its parts
 * share.
 *
 * admin-api serves the administration protocol (docs/protocol/admin.md):
 * JSON-RPC 2.0 over WebSocket through the wsrpc library, on loopback port
 * 7221 by default. An administrator logs in with an administrator account
 * (ucs.auth, kind admin); nothing else works before that. Then she sees
 * the server as the reference product's status monitor and event log show
 * it, edits users, groups, computers, profiles, the global settings and
 * the locations, checks how a number is dialled, validates and applies the
 * configuration, restarts the server, and exports and imports the whole
 * user store with the configuration.
 *
 * The parts, one file each:
 *   plugin.c        lifecycle, configuration, the method table, `.status`
 *   adm_conf.c      the section's own keys and the configured accounts
 *   adm_text.c      times, PHC shapes, quoting (pure, with adm_map.c the
 *                   part the unit tests and the fuzz target run)
 *   adm_boot.c      the first start: an `admin` account with a random password
 *   adm_session.c   sessions, admin.login, admin.passwd, the async operations
 *   adm_audit.c     the audit trail: a log line and an "admin.audit" message
 *   adm_status.c    status.get, plugins.list
 *   adm_events.c    events.query, events.subscribe / unsubscribe
 *   adm_store.c     users, groups, computers, profiles, settings (with
 *                   adm_map.c, the params <-> documents translation)
 *   adm_tools.c     locations.*, dialplan.check, rights.explain
 *   adm_config.c    config.get / validate / apply, server.restart
 *   adm_archive.c   export, import
 *   adm_lines.c     lines.list / get / retry (the line manager)
 *   adm_svc.c       mail.test, sms.test, journal.retention.apply and the
 *                   status of the mail, sms and journal services
 *
 * Every service other than ucs.auth is optional and looked up when a
 * request needs it (service->find): without a user store the CRUD methods
 * answer not_available, without ucs.lines the status says lines are not
 * available, and so on. Everything runs on the loop thread; the only
 * blocking work (the password file of the first start) runs on the pool.
 */
#ifndef ADM_H
#define ADM_H

#include <stdint.h>

#include <jansson.h>
#include <ucs/ucs.h>

#include "adm_map.h"
#include "adm_text.h"
#include "wsrpc.h"

#define ADM_LOGIN_MAX	128
/* admin-api's own defaults of wsrpc limits (an export is one reply; a
 * script creates users one call each) */
#define ADM_MAX_MESSAGE (64u << 20)
#define ADM_MAX_QUEUE	(256u << 20)
#define ADM_RATE_PER_S	1000u
#define ADM_RATE_BURST	2000u

/* One configured account (admin-api.accounts). */
struct adm_account {
	char login[ADM_LOGIN_MAX + 1];
	char hash[256];
};

struct adm_conf {
	struct adm_account *accounts;
	size_t n_accounts;
	int create_admin;
	int64_t min_password;
	struct wsrpc_config wsrpc;
};

/* "admin.audit": one message per administrator action (docs/plugins/
 * admin-api.md). Fixed size; the JSON form is what consumers use. */
#define ADM_AUDIT_TYPE "admin.audit"
struct adm_audit_event {
	uint32_t size;
	int32_t ok; /* 1: done, 0: refused or failed (result says why) */
	int64_t time_ms;
	char login[64];	  /* the administrator (or the login tried) */
	char address[64]; /* numeric peer address */
	char action[32];  /* the method: "users.create", "admin.login" */
	char object[128]; /* what it acted on: "alice", "" */
	char result[64];  /* "" when ok, else the error reason ("conflict") */
};

struct adm_op;
struct adm_session;
struct adm_import;

struct adm {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_auth_api *auth;
	struct adm_conf conf;
	struct wsrpc_server *srv;
	const struct ucs_msg_type *audit_type;
	struct adm_session *sessions; /* every open session */
	struct adm_op *ops;	      /* asynchronous operations in flight */
	struct ucs_sub *ev_sub;	      /* "server.event" while someone listens */
	size_t ev_listeners;
	struct adm_import *import; /* the running import, one at a time */
	struct ucs_work *boot_job;
	int stopped;
	/* counters for `.status` */
	uint64_t logins_ok, logins_failed, writes, write_errors, events_sent;
	uint64_t audit_seq; /* adm_audit() calls: did a write audit itself? */
};

/* One WebSocket session. */
struct adm_session {
	struct adm *a;
	struct wsrpc_session *s;
	struct adm_session *prev, *next;
	char login[64]; /* the administrator; "" before admin.login */
	char address[64];
	int64_t since_ms;	/* Unix ms of the login */
	struct adm_op *pending; /* a login or password check in flight */
	int ev_on;		/* events.subscribe */
	int ev_level;		/* enum ucs_log_level: that and more severe */
	char ev_plugin[32];	/* "" every plugin */
};

/* ---- plugin.c ---- */
/* A service by name, or NULL (optional services: no log line). */
const void *adm_service(const char *name, uint32_t min_version);

/* ---- adm_conf.c ---- */
extern const struct ucs_cfg_key adm_cfg_keys[];
int adm_conf_read(const struct ucs_host *host, const struct ucs_cfg *section, struct adm_conf *out,
		  char *err, size_t cap);
void adm_conf_free(struct adm_conf *c);
/* Hands the configured accounts to auth; -EINVAL names the entry in err. */
int adm_conf_push_accounts(struct adm *a, const struct adm_conf *c, const struct ucs_cfg *section,
			   char *err, size_t cap);
int adm_conf_is_configured(const struct adm_conf *c, const char *login);
/* Checks the admin-api section of a candidate operator file (parsed):
 * 0, or -EINVAL with the problem in err. */
int adm_conf_check_candidate(const json_t *config, char *err, size_t cap);

/* ---- adm_boot.c ---- */
int adm_boot_start(struct adm *a);
/* admin.passwd changed `login`'s password: the first start's file, if it
 * holds that account's password, is removed. */
void adm_boot_password_changed(struct adm *a, const char *login);
/* fini: frees what no callback will free any more. */
void adm_boot_fini(void);

/* ---- adm_session.c ---- */
void adm_session_open(struct wsrpc_session *s, void *arg);
void adm_session_close(struct wsrpc_session *s, int code, const char *reason, void *arg);
struct adm_session *adm_session_of(struct wsrpc_session *s);
void adm_m_login(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_passwd(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_logout(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
/* Closes every session of `login` (but `except`) with 4003 and `why`. */
void adm_sessions_revoke(struct adm *a, const char *login, struct wsrpc_session *except,
			 const char *why);

/* An asynchronous operation: holds the session (a reference) and the
 * request id until it answers. */
struct adm_op {
	struct adm_op *prev, *next;
	struct adm *a; /* NULL once the plugin stopped: the callback only frees */
	struct wsrpc_session *s;
	json_t *id;
	struct adm_session *owner; /* the session waiting on it, or NULL */
	struct ucs_auth_op *auth_op;
	char login[64];
	char address[64];
	char action[32];
	char object[128];
	char *secret; /* a password waiting for its turn, wiped when freed */
	size_t secret_len;
	json_t *data; /* what the operation carries (its own) */
	/* an operation of a service (adm_svc.c): cancelled when its session
	 * closes and at stop, through the service if it is still there */
	void *svc_op;
	const void *svc_api;
	void (*svc_cancel)(struct adm_op *op);
	/* while the service's start call runs: set when done ran within it
	 * (the operation is gone then) */
	_Bool *svc_ran;
	/* a closing session does not cancel it (a retention run: its answer to
	 * the closed session is dropped); stop still does */
	_Bool svc_keep;
};
struct adm_op *adm_op_new(struct adm *a, struct wsrpc_session *s, json_t *id, const char *action,
			  const char *object);
void adm_op_free(struct adm_op *op);
int adm_op_secret(struct adm_op *op, const char *secret);
/* At stop: every operation lets go of its session and forgets the plugin. */
void adm_ops_orphan(struct adm *a);
void adm_ops_free_all(struct adm *a);
/* In a callback: 1 (and the operation freed) when the plugin stopped
 * meanwhile; the callback then does nothing else. */
int adm_op_orphaned(struct adm_op *op);

/* ---- replies ---- */
/* An error reply with a formatted message; returns 0. */
int adm_error(struct wsrpc_session *s, json_t *id, enum wsrpc_reason r, json_t *data,
	      const char *fmt, ...) UCS_PRINTF(5, 6);
/* data for invalid_params: {"path": the param's JSON path ("numbers.fax",
 * "rights[1].level"), "member": its first part}. adm_msg_path takes the
 * path from a message "PATH: why" (NULL when it has none). */
json_t *adm_path_data(const char *path, size_t len);
json_t *adm_msg_path(const char *msg);
/* A service's "write your JSON into buf" call (the length it needs, or a
 * negative errno) made into JSON: buf grows until the text fits. A new
 * reference, or NULL with *err. */
typedef int(adm_fill_h)(const void *ctx, char *buf, size_t cap);
json_t *adm_load_text(adm_fill_h *fill, const void *ctx, size_t cap, int *err);
/* A snprintf-rules producer's text (a service's status), grown until it
 * fits, parsed: a new reference, or NULL with *err (adm_status.c). */
json_t *adm_grow_json(int (*fn)(char *buf, size_t cap), int *err);
/* The reason for a negative errno of a service. */
enum wsrpc_reason adm_reason_of(int err);
/* The login of a session's administrator ("-" before the login). */
const char *adm_who(struct wsrpc_session *s);
const char *adm_peer(struct wsrpc_session *s);

/* ---- adm_audit.c ---- */
int adm_audit_init(struct adm *a);
/* One administrator action: a log line at info (warning when refused) and
 * an "admin.audit" message. result NULL: done; else the error reason. */
void adm_audit(struct adm *a, const char *login, const char *address, const char *action,
	       const char *object, const char *result);

/* ---- the methods ---- */
void adm_m_status(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_plugins(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_events_query(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_events_subscribe(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_events_unsubscribe(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_events_stop(struct adm *a);
void adm_events_session_gone(struct adm_session *sess);

void adm_m_users_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_users_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_users_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_users_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_users_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_groups_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_groups_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_groups_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_groups_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_groups_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_computers_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_computers_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_computers_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_computers_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_computers_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_profiles_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_profiles_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_profiles_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_profiles_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_profiles_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_settings_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_settings_set(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);

void adm_m_locations_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_locations_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_locations_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_locations_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_locations_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_dialplan_check(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_rights_explain(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);

void adm_m_config_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_config_validate(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_config_apply(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_server_restart(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);

void adm_m_export(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
/* adm_lines.c: the line manager's lines (lines.admin on the bus) */
void adm_m_lines_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_lines_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_lines_retry(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_import(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);

/* adm_svc.c: the services of issue 7 (mail, sms, journal) */
void adm_m_mail_test(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_sms_test(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
void adm_m_journal_retention(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
/* The service's status() as JSON; null when the service is not running. */
json_t *adm_svc_status(const char *service);
/* Cancels (and audits) the service operations of a closing session / all
 * of them at stop. */
void adm_svc_session_gone(struct adm *a, struct wsrpc_session *s);
void adm_svc_stop(struct adm *a);
void adm_import_stop(struct adm *a);

/* The resolver of adm_map.h over a user store snapshot. */
struct adm_snap_resolver {
	struct adm_resolver r;
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
};
void adm_resolver_init(struct adm_snap_resolver *sr, const struct ucs_userdb_api *udb,
		       const struct ucs_ud_snapshot *snap);
/* A document of the store as JSON (a new reference), or NULL with *err
 * (-ENOENT, -ENOMEM, ...). */
json_t *adm_get_doc(const struct ucs_userdb_api *udb, int kind, const char *id, int *err);
/* The operator file's content as JSON (null when there is none): a new
 * reference, or NULL with the reason in err. */
json_t *adm_operator_file(struct adm *a, char *err, size_t cap);

#endif
