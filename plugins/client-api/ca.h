/*
 * plugins/client-api/ca.h - the client protocol: what a desktop client, a
 * browser, a mobile app or a script sees of ucsd on port 7222.
 *
 * The transport (WebSocket, JSON-RPC 2.0, limits, close codes) is the wsrpc
 * library; this plugin is the meaning of the methods. docs/protocol/client.md
 * is the normative description, docs/plugins/client-api.md the operator's.
 *
 * Sessions and users. A session is one WebSocket connection (struct
 * ca_sess, the wsrpc session's data). Until auth.login or auth.resume binds
 * it to a user, every method but those two answers not_authenticated. A
 * logged-in session belongs to a struct ca_user, which exists while the user
 * has at least one session and holds what her sessions share: the one
 * presence.view subscription ("watcher:<id>") and the count of her sessions
 * watching each target, so presence->watch() is called once per user and
 * target however many of her clients run.
 *
 * Resume tokens. A login hands out an opaque random token; auth.resume on
 * another connection binds that connection to the token's user without the
 * password, within resume_ttl_s after the last session holding it ended (a
 * second session resuming a token that is still held replaces the first:
 * 4003). Tokens live in memory only: a restart ends them. Logout, and the
 * user's deletion or deactivation, revoke them.
 *
 * Rights. Everything a session receives about another user went through
 * the rights engine: presence views come filtered from the presence plugin
 * (with the contact fields the watcher may see, which this plugin applies
 * to the contact card), call events on extra lines are filtered by the
 * extra line's flags here, and every control request is checked here before
 * it goes to the line manager (which checks again). The one exception is
 * the manual's: contact search is not filtered by rights.
 *
 * Asynchronous requests (a login checking a password, a call request
 * waiting for the PBX, a directory search) are struct ca_op on their
 * session's list; when the session closes, every op is cancelled (the
 * callbacks of auth and the bus never come after a cancel), so no callback
 * ever finds its session gone and the session needs no extra references.
 *
 * Sending may close a session: a reply that takes the outbound queue past
 * max_queue closes it at once, and on_close (ca_sess_free) frees the
 * session and cancels every op it still has. So an op is answered only
 * through ca_op_reply() / ca_op_error(), which take the op off its session
 * and release it before the send, and nothing touches the op or its
 * session after a send (a synchronous handler sends last, or keeps what it
 * needs in locals and a wsrpc_session_ref()).
 *
 * Threads: everything runs on the loop thread.
 */
#ifndef CA_H
#define CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <ucs/ucs.h>

#include "wsrpc.h"

#define CA_LOG(ca, level, ...) (ca)->host->log->log((ca)->self, (level), __VA_ARGS__)

/* ---- a map of strings (ca_map.c) ------------------------------------------ */

struct ca_map_ent {
	struct ca_map_ent *next;
	void *val;
	uint64_t hash;
	char key[];
};

struct ca_map {
	struct ca_map_ent **b;
	size_t nb, n;
};

void *ca_map_get(const struct ca_map *m, const char *key);
/* 0, -EEXIST (the value stays), -ENOMEM. */
int ca_map_put(struct ca_map *m, const char *key, void *val);
/* The removed value, NULL when absent. */
void *ca_map_del(struct ca_map *m, const char *key);
/* fn may delete the entry it was called for, nothing else. */
void ca_map_each(struct ca_map *m, void (*fn)(const char *key, void *val, void *arg), void *arg);
void ca_map_free(struct ca_map *m);
uint64_t ca_hash(const void *data, size_t len);

/* ---- configuration --------------------------------------------------------- */

struct ca_conf {
	struct wsrpc_config ws;
	uint32_t resume_ttl_s;
	uint32_t request_timeout_ms;
	uint32_t max_sessions_per_user; /* 1..64 (presence keeps 64 per user) */
	uint32_t contacts_limit;
	uint32_t contacts_cache;
	uint32_t max_watch_per_session;
	uint32_t max_lines_per_session;
};

/* ---- the plugin ------------------------------------------------------------ */

struct ca_counters {
	uint64_t logins_ok, logins_failed, resumes_ok, resumes_failed, logouts, revoked;
	uint64_t control_requests, control_refused, presence_events, line_events, call_events;
	uint64_t searches, search_cache_hits;
	uint64_t journal_requests, journal_events, offline_delivered, sms_sent, sms_failed;
};

struct ca_contacts; /* ca_contacts.c */
struct ca_token;    /* ca_tokens.c */
struct ca_jtake;    /* ca_journal.c */
struct ca_jout;	    /* ca_journal.c */

struct ca {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_auth_api *auth;
	const struct ucs_userdb_api *udb;
	const struct ucs_rights_api *rights;
	const struct ucs_presence_api *pres;
	struct wsrpc_server *srv;
	struct ca_conf conf;
	struct ca_map users;	 /* user id -> struct ca_user (online users) */
	struct ca_map tokens;	 /* token -> struct ca_token */
	struct ca_map tokusers;	 /* user id -> struct ca_tokuser (her tokens) */
	struct ca_token *unheld; /* tokens nobody holds, oldest release first */
	struct ca_token *unheld_tail;
	struct ca_map linewatch; /* line id -> struct ca_linewatch */
	struct ca_contacts *contacts;
	struct ucs_sub *udb_sub;
	struct ucs_timer *sweep;
	const struct ucs_msg_type *t_after;
	struct ucs_sub *after_sub;
	struct ca_op *after;	  /* ops waiting for the bus, oldest first */
	struct ucs_sub *jdel_sub; /* every "journal.event": owners of deleted entries */
	struct ca_map jdel;	  /* entry id -> struct jdel: deletions by sessions here */
	/* user id -> struct ca_jout: fetched offline entries not yet sent when
	 * her last session closed, for her next login (ca_journal.c) */
	struct ca_map jkept;
	uint64_t after_seq;
	struct ca_counters n;
	bool running;
};

/* One user with at least one session. */
struct ca_user {
	struct ca *ca;
	char id[UCS_ID_MAX];
	struct ca_sess **sess;
	size_t n_sess, cap_sess;
	struct ca_map watching; /* target id -> (uintptr_t) sessions watching it */
	struct ucs_sub *view_sub;
	uint64_t pw_tag;	     /* ca_pw_tag() when her first session began */
	unsigned pw_changing;	     /* own password changes running (set_password) */
	bool pic_busy;		     /* a picture update of hers is in progress */
	uint64_t pic_next_ms;	     /* no picture update before this (rate limit) */
	struct ucs_sub *journal_sub; /* "journal.event" key "user:<id>" */
	struct ca_jtake *jtake;	     /* her offline entries being fetched (ca_journal.c) */
	struct ca_jout *jout;	     /* ... and on their way to her sessions */
	struct ca_map jseen;	     /* ids of offline entries fetched for her (no twice) */
};

/* An asynchronous step of one request. cancel() stops what runs and frees
 * the op (without answering: the session is going). */
struct ca_op {
	struct ca_op *prev, *next;
	struct ca_sess *sess;
	json_t *id;
	void (*cancel)(struct ca_op *op);
	/* frees the op (nothing runs any more); ca_op_reply/ca_op_error */
	void (*release)(struct ca_op *op);
	/* waiting for the bus (ca_after_bus) */
	struct ca_op *wnext;
	uint64_t wseq;
	void (*resume)(struct ca_op *op);
};

struct ca_sess {
	struct ca *ca;
	struct wsrpc_session *ws;
	uint64_t id;
	char tag[32];		      /* "client-api/12": the presence session id */
	struct ca_user *user;	      /* NULL until logged in */
	char login[UCS_ID_MAX + 192]; /* the user's login as the store spells it */
	char token[64];		      /* "" when none */
	char computer[UCS_ID_MAX];    /* the computer logged on from ("" none) */
	bool idle;
	bool busy_login;	   /* a login or resume is in progress */
	struct ca_op ops;	   /* list head */
	struct ca_map watch;	   /* presence target id -> struct ca_watch */
	char (*lines)[UCS_ID_MAX]; /* subscribed line ids */
	size_t n_lines, cap_lines;
};

/* A presence target one session watches. */
struct ca_watch {
	uint64_t last; /* hash of what this session got last; 0: nothing */
};

/* ---- sessions and users (ca_session.c) -------------------------------------- */

struct ca_sess *ca_sess_new(struct ca *ca, struct wsrpc_session *ws);
/* Everything of a closing session: ops cancelled, subscriptions dropped,
 * presence told, the user left, the token kept for resume. */
void ca_sess_free(struct ca_sess *s);
/* Binds a session to a user (login or resume): 0, -ENOMEM, -EUSERS (over
 * max_sessions_per_user). */
int ca_sess_attach(struct ca_sess *s, const struct ucs_ud_user *u);
struct ca_user *ca_user_find(struct ca *ca, const char *id);
/* Closes every session of a user with 4003 and drops her tokens. */
void ca_user_revoke(struct ca *ca, const char *id, const char *why);
void ca_op_add(struct ca_sess *s, struct ca_op *op, json_t *id);
void ca_op_remove(struct ca_op *op);
/* Answers the op's request and ends the op: it is taken off its session and
 * released (op->release) before the send, for the send may close the
 * session. Neither the op nor its session may be used afterwards. data is
 * stolen. Return what the send returned. */
int ca_op_reply(struct ca_op *op, json_t *result);
int ca_op_error(struct ca_op *op, enum wsrpc_reason r, const char *message, json_t *data);
/* A digest of the user's stored password hash (0: none): a change of it is
 * a password change (hers or an administrator's). */
uint64_t ca_pw_tag(struct ca *ca, const char *user);
/* Closes every session of the user but `keep` (may be NULL) with 4003 and
 * revokes her tokens but keep's: her password changed. */
void ca_user_revoke_others(struct ca *ca, const char *id, struct ca_sess *keep, const char *why);
void ca_publish_login(struct ca_sess *s, int logged_in);
/* Calls fn(op) once every message published before now has reached all
 * its subscribers (a private message queued behind them): a change written
 * to the user store is then known to the rights engine too. 0 or an error
 * (fn is not called). ca_op_remove() takes the op off the wait. */
int ca_after_bus(struct ca_op *op, void (*fn)(struct ca_op *op));
void ca_after_delivered(const struct ucs_msg *msg, void *arg);

/* ---- resume tokens (ca_tokens.c) -------------------------------------------- */

/* A new token for the session's user, held by the session. */
int ca_token_issue(struct ca_sess *s);
/* The user id of a valid token; the token moves to s (a session holding it
 * is returned in *holder, for the caller to close). -ENOENT (also for a
 * token whose user's password changed since it was issued). */
int ca_token_take(struct ca *ca, const char *token, struct ca_sess *s, char *user,
		  struct ca_sess **holder);
/* The session let go of its token: it may be resumed within the TTL. */
void ca_token_release(struct ca_sess *s);
void ca_token_revoke(struct ca *ca, const char *token);
/* The session's token now belongs to the user's current password. */
void ca_token_retag(struct ca_sess *s);
void ca_tokens_revoke_user(struct ca *ca, const char *user);
/* Revokes the user's tokens except `keep` (may be NULL). */
void ca_tokens_revoke_user_but(struct ca *ca, const char *user, const char *keep);
/* After a bulk reload: drops tokens whose user is gone, inactive or has
 * another password now. */
void ca_tokens_check(struct ca *ca, const struct ucs_ud_snapshot *snap);
/* Unheld tokens one user may have; the oldest goes first. */
#define CA_UNHELD_PER_USER 16
void ca_tokens_sweep(struct ca *ca);
void ca_tokens_free(struct ca *ca);

/* ---- JSON (ca_json.c) ------------------------------------------------------- */

/* A JSON string of text of at most cap bytes; bytes that are not UTF-8
 * become U+FFFD. Never NULL unless out of memory. */
json_t *ca_jstr(const char *text, size_t cap);
#define CA_JS(s) ca_jstr((s) ? (s) : "", (size_t)-1)
/* {"canonical", "display"} of a number in canonical form (display through
 * the dialplan when it runs). */
json_t *ca_jcanon(struct ca *ca, const char *canonical);
/* {"entered", "canonical", "display"} of a stored number. */
json_t *ca_jnumber(struct ca *ca, const struct ucs_ud_number *n);
/* {"canonical", "display"} of a number from the line manager. */
json_t *ca_jlnumber(const struct ucs_number *n);
/* Names of bits: NULL-terminated table of names by bit index. */
json_t *ca_jnames(const char *const *names, size_t n, uint64_t bits);
json_t *ca_jright_names(uint64_t rights);
json_t *ca_jservice_names(uint64_t services);
/* The contact card of a user: the fields bit set in `fields` (enum
 * ucs_contact_field). */
json_t *ca_jcontact(struct ca *ca, const struct ucs_ud_user *u, uint32_t fields);
/* A presence (as a view carries it) for a client. */
json_t *ca_jpresence(struct ca *ca, const struct ucs_presence *p);
const char *ca_state_name(int state);
int ca_state_from_name(const char *name);
const char *ca_cap_name(uint64_t cap);
json_t *ca_jcaps(uint64_t caps);
const char *ca_line_status_name(int status);
const char *ca_call_event_name(int event);
const char *ca_conn_state_name(int state);
const char *ca_direction_name(int dir);
const char *ca_class_name(int cls);
const char *ca_fwd_mode_name(int mode);
int ca_fwd_mode_from_name(const char *name);
/* Base64 (standard or URL alphabet, padding optional, blanks skipped) of
 * len characters into out (room for len * 3 / 4 + 2 bytes): the length, or
 * -EINVAL for a character outside the alphabets. */
ssize_t ca_b64_decode(const char *in, size_t len, unsigned char *out);
/* The whole text of a notification (for sending one text to many). */
char *ca_notification_text(const char *method, json_t *params, size_t *len);

/* ---- the methods ------------------------------------------------------------ */

#define CA_METHOD(name) void name(struct wsrpc_session *ws, json_t *params, json_t *id, void *arg)

/* ca_auth.c */
CA_METHOD(ca_m_auth_login);
CA_METHOD(ca_m_auth_resume);
CA_METHOD(ca_m_auth_logout);
/* ca_me.c */
CA_METHOD(ca_m_me_get);
CA_METHOD(ca_m_me_update);
CA_METHOD(ca_m_me_idle);
/* ca_lines.c */
CA_METHOD(ca_m_lines_list);
CA_METHOD(ca_m_lines_subscribe);
CA_METHOD(ca_m_lines_unsubscribe);
/* ca_calls.c */
CA_METHOD(ca_m_call_make);
CA_METHOD(ca_m_call_answer);
CA_METHOD(ca_m_call_clear);
CA_METHOD(ca_m_call_hold);
CA_METHOD(ca_m_call_retrieve);
CA_METHOD(ca_m_call_consult);
CA_METHOD(ca_m_call_transfer);
CA_METHOD(ca_m_call_conference);
CA_METHOD(ca_m_call_alternate);
CA_METHOD(ca_m_call_reconnect);
CA_METHOD(ca_m_call_deflect);
CA_METHOD(ca_m_call_pickup);
CA_METHOD(ca_m_call_dtmf);
CA_METHOD(ca_m_line_forward_set);
CA_METHOD(ca_m_line_forward_clear);
CA_METHOD(ca_m_line_dnd_set);
CA_METHOD(ca_m_line_remote_office);
/* ca_presence.c */
CA_METHOD(ca_m_presence_set);
CA_METHOD(ca_m_presence_subscribe);
CA_METHOD(ca_m_presence_unsubscribe);
/* ca_contacts.c */
CA_METHOD(ca_m_contacts_search);
/* ca_journal.c */
CA_METHOD(ca_m_journal_query);
CA_METHOD(ca_m_journal_update);
CA_METHOD(ca_m_journal_delete);
/* ca_sms.c */
CA_METHOD(ca_m_sms_send);
/* ca_later.c */
CA_METHOD(ca_m_chat_send);
CA_METHOD(ca_m_chat_history);

/* ---- helpers the methods share ---------------------------------------------- */

static inline struct ca_sess *ca_sess_of(struct wsrpc_session *ws)
{
	return wsrpc_session_data(ws);
}

/* The user of the session in the current snapshot (NULL: gone); the caller
 * releases *snap. */
const struct ucs_ud_user *ca_me(struct ca_sess *s, const struct ucs_ud_snapshot **snap);
/* A user by login or id. */
const struct ucs_ud_user *ca_user_lookup(struct ca *ca, const struct ucs_ud_snapshot *snap,
					 const char *name);
/* The line manager, or NULL (and not_available answered when id is given). */
const struct ucs_lines_api *ca_lines_api(struct ca_sess *s, json_t *id);

/* What a user may do on a line (ca_lines.c). */
enum ca_access {
	CA_NONE = 0,
	CA_OWN = 1,   /* bound to her */
	CA_EXTRA = 2, /* one of her extra lines */
	/* the first or second phone of a computer she logged on to last (a
	 * roaming user: the computer's last_user); controlled like her own */
	CA_ROAMING = 3,
};
struct ca_line_access {
	enum ca_access kind;
	int32_t cls;	/* enum ucs_line_class when own or roaming */
	uint32_t extra; /* UCS_UD_LINE_* when extra */
	/* roaming on a line of an authorised-only computer: only the line's
	 * owners dial on it (the line manager's rule, lm_rights.c) */
	bool no_dial;
	/* What a Line object shows (own lines: everything; an extra line: the
	 * rights on one of its owners for the class the line has for her):
	 * CA_SEE_* bits. */
	unsigned see;
};
#define CA_SEE_NUMBER 1u /* number (UCS_R_SEE_NUMBERS) */
#define CA_SEE_FWD    2u /* forwarding on/off (UCS_RL_SEE_FORWARDING) */
#define CA_SEE_FWD_TO 4u /* where it forwards (UCS_RL_SEE_FWD_NUMBER) */
#define CA_SEE_ALL    7u
/* The most owners one line can have (presence's limit, pres_binding.c). */
#define CA_MAX_OWNERS 64
void ca_line_access(struct ca *ca, const struct ucs_ud_user *u, const char *line,
		    const struct ucs_line_info *info, struct ca_line_access *out);
#define MAX_USER_LINES 256
/* The user's lines (own, then extra, then roaming) with the line
 * manager's view of each and her access; the count (at most max). */
int ca_user_lines(struct ca *ca, const struct ucs_ud_user *u, const struct ucs_lines_api *la,
		  struct ucs_id *ids, struct ucs_line_info *infos, struct ca_line_access *acc,
		  size_t max);
json_t *ca_jline(struct ca *ca, const struct ucs_line_info *li, const struct ca_line_access *acc);
json_t *ca_jcall(struct ca *ca, const struct ucs_call_info *ci, const struct ca_line_access *acc);
void ca_lines_session_close(struct ca_sess *s);
void ca_presence_session_close(struct ca_sess *s);
void ca_presence_user_changed(struct ca *ca, const char *target);

/* The journal (ca_journal.c). A user's first session subscribes her
 * "journal.event" (her own entries, pushed as journal.event to each of her
 * sessions); her last one ends it. A login or resume fetches the entries
 * kept while she had no session (take_offline) as her fetch, not the
 * session's (it ends with her last session); each goes to all her sessions
 * as a journal.event with "offline": true. */
int ca_journal_user_new(struct ca_user *cu);
/* Ends the plugin's own watch of the journal's deletions (for the log line
 * of a deletion of another user's entry) and what waits for a next login. */
void ca_journal_stop(struct ca *ca);
void ca_journal_user_free(struct ca_user *cu);
void ca_journal_session_start(struct ca_sess *s);

/* ---- params of journal.* and sms.send (ca_params.c, pure) ------------------- */

#define CA_JOURNAL_LIMIT 100 /* journal.query without limit */
#define CA_ENTRY_ID_MAX	 (UCS_ID_MAX - 1)
#define CA_USER_MAX	 256 /* a login or id */
#define CA_SMS_TO_MAX	 64
#define CA_SMS_TEXT_MAX	 1600

/* Why params were refused: the message ("params.NAME: why") and the
 * member ("" when the params as a whole are wrong). */
struct ca_bad {
	char msg[192];
	char member[64];
};
/* 0, or -EINVAL with *b. user gets the `user` member ("" none): whose
 * journal, resolved by the caller. */
int ca_parse_journal_query(json_t *params, struct ucs_journal_query *q, char *user, size_t ucap,
			   struct ca_bad *b);
int ca_parse_journal_update(json_t *params, struct ucs_journal_update *u, struct ca_bad *b);
int ca_parse_journal_delete(json_t *params, char *entry, size_t cap, struct ca_bad *b);
/* to and text point into params. */
int ca_parse_sms_send(json_t *params, const char **to, const char **text, struct ca_bad *b);

/* ca_contacts.c */
int ca_contacts_new(struct ca *ca);
void ca_contacts_free(struct ca *ca);
void ca_contacts_flush(struct ca *ca);

#endif
