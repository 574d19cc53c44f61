/*
 * plugins/lines/lm.h - the line manager: one state, shared by its files.
 *
 * A PBX driver (ucs/line.h) reports lines and calls as its PBX sees them;
 * the line manager turns that into the shared state of ucs/lines.h. It
 * owns everything above the wire:
 *
 *   - the registry (lm_registry.c): drivers, their line groups and lines,
 *     found by id and by number;
 *   - the configuration (lm_config.c): the manual's group and line
 *     properties, applied to every line a driver adds and again on reload;
 *   - numbers (lm_number.c): what a driver reports goes through
 *     ucs.dialplan at the line's location, what a user dials comes out of it;
 *   - calls (lm_calls.c): the calls of each line, built from the driver's
 *     ECMA-269 events and snapshots, published as "call.state";
 *   - publication (lm_publish.c, lm_json.c): "line.status", "call.state"
 *     and "presence.in.line", and the JSON of the four bus types;
 *   - call control (lm_control.c, lm_request.c): rights, capabilities and
 *     dialling before a request reaches a driver, then the request with a
 *     token and a deadline;
 *   - server-side redirection (lm_redirect.c) and remote office
 *     (lm_remote.c);
 *   - opening lines (lm_open.c): the error-handling settings (reaction to a
 *     driver's re-initialisation, retry of failed lines, delay between
 *     opens), and interest in lines;
 *   - the administration (lm_admin.c) and the status counters.
 *
 * Everything runs on the loop thread. A call record belongs to its line, a
 * line to the registry, a pending request to the request table; drivers go
 * with driver_remove (their lines become UCS_LS_REMOVED and are freed).
 */
#ifndef LM_H
#define LM_H

#include <stdbool.h>
#include <stdint.h>
#include <ucs/ucs.h>
#include <ucs_jsontext.h>

#include "lm_index.h"
#include "lm_map.h"
#include "lm_text.h"

#define LM_LOG(m, level, ...) (m)->host->log->log((m)->self, (level), __VA_ARGS__)

struct lm;
struct lm_line;

/* ---- configuration (lm_config.c) ---------------------------------------------- */

struct lm_feature_code {
	char name[64];
	char code[64];
};

struct lm_redirect_target {
	char to[64];
	uint32_t ring_s;
};

#define LM_MAX_REDIRECTS 8
#define LM_MAX_FEATURES	 16
#define LM_MAX_ADDRESSES 8

/* The properties of one group as the operator set them ("lines.groups"). */
struct lm_group_conf {
	char name[64];
	bool use;
	bool use_all_lines;
	bool open_automatically;
	bool create_automatically;
	bool journal_all;
	bool set_numbers_automatically;
	bool driver_line_names;
	bool remote_office;
	bool always_pickup;
	bool reverse_pickup_direction;
	uint64_t cti_off;  /* UCS_CAP_* switched off */
	char location[64]; /* "" (the driver's), "<automatic>", "<ignore>" or a name */
	char pickup_code[64];
	struct lm_feature_code features[LM_MAX_FEATURES];
	size_t n_features;
};

/* The properties of one line ("lines.lines", by id). */
struct lm_line_conf {
	char id[UCS_ID_MAX];
	bool use;
	bool trunk;
	bool journal;
	bool private_line;
	char internal[UCS_PHONE_MAX];
	char number[UCS_PHONE_MAX];
	char location[64];
	char name[64];
	char addresses[LM_MAX_ADDRESSES][UCS_PHONE_MAX];
	size_t n_addresses;
	struct lm_redirect_target redirect[LM_MAX_REDIRECTS];
	size_t n_redirect;
};

enum lm_reinit { LM_REINIT_REOPEN = 0, LM_REINIT_WAIT = 1 };

struct lm_conf {
	struct lm_group_conf *groups;
	size_t n_groups;
	struct lm_line_conf *lines;
	size_t n_lines;
	int on_reinit; /* enum lm_reinit */
	uint32_t retry_s;
	uint32_t open_delay_ms;
	uint32_t request_timeout_ms;
};

/* Reads and checks a section into out (freed with lm_conf_free); -EINVAL
 * with the error logged (a duplicate internal number names both lines). */
int lm_conf_read(struct lm *m, const struct ucs_cfg *sec, struct lm_conf *out);
void lm_conf_free(struct lm_conf *c);
const struct lm_group_conf *lm_conf_group(const struct lm_conf *c, const char *name);
const struct lm_line_conf *lm_conf_line(const struct lm_conf *c, const char *id);
extern const struct ucs_cfg_key lm_config_keys[];

/* ---- the registry (lm_registry.c) ----------------------------------------------- */

struct ucs_line_driver {
	struct ucs_line_driver *next;
	struct lm *m;
	char name[64];
	const struct ucs_line_driver_ops *ops;
	void *ctx;
	bool removed; /* driver_remove runs: no request reaches it any more */
	/* per-driver log aggregation (one line per loop turn, not per line) */
	bool log_pending;
	size_t n_opened, n_synced, synced_kept, synced_ended;
	int64_t malformed_logged_ms; /* the last "malformed call event" warning */
	size_t malformed_dropped;    /* ... and the ones dropped since */
};
#define lm_driver ucs_line_driver

struct lm_group {
	struct lm_group *next;
	struct lm_driver *drv;
	struct ucs_line_group_desc desc;
	struct lm_group_conf conf; /* the operator's, or the defaults */
};

/* What a call made by a request carries from the dialplan: project,
 * private call, postdial DTMF (sent once the call is answered). */
struct lm_dial_extra {
	char project[64];
	char project_info[64]; /* the project's J data for the journal */
	char postdial[64];
	bool private_call;
};

struct lm_call;

struct lm_line {
	struct lm_line *next, *prev; /* in the registry's list */
	struct lm_group *group;
	struct ucs_line_desc desc; /* as the driver added it */
	struct lm_line_conf conf;  /* the operator's, or the defaults */
	struct ucs_line_info info; /* as published */
	bool used;		   /* published and served */
	bool journal;		   /* journal on (line or group) */
	bool opening;		   /* an open is queued or running */
	bool wanted;		   /* someone showed interest (open automatically) */
	bool close_pending;	   /* unused: the driver is asked to close it */
	int64_t pickup_until_ms;   /* a pickup is under way: the next call is its result */
	char made_call[64];	   /* a call a request made, not yet seen ... */
	struct lm_dial_extra made; /* ... and what it carries */
	uint32_t sync_gen;	   /* moves with every (re)open */
	struct lm_call *calls;
	size_t n_calls;
	char last_error[128]; /* the last failure (open or request), "" */
	int64_t last_error_ms;
	/* remote office, emulated (lm_remote.c) */
	bool ro_on;
	char ro_number[128]; /* the remote office number, dialled */
	char ro_pending[64]; /* a call made for remote office, not yet seen */
	char ro_target[128]; /* ... and where it goes when it connects */
};

struct lm_call {
	struct lm_call *next;
	struct lm_line *line;
	char pbx[64];		 /* the PBX's call id now (follows transfers) */
	struct ucs_call_info ci; /* as published; ci.call stays the same */
	uint32_t seen_gen;	 /* the line's sync_gen when last reported */
	bool forwarded;		 /* reached the line through forwarding */
	bool picked;		 /* the result of a pickup on this line */
	bool answered;		 /* the far end answered (ESTABLISHED), not just dialled */
	bool via_transfer;	 /* a transfer brought the call or changed its party */
	bool conference;	 /* the line was in a conference on it */
	bool failed;		 /* the line's connection failed */
	bool hidden;		 /* the caller withheld her number */
	/* A departure ucsd asked the PBX for (a user's deflect, the server's
	 * redirection, a pickup): when the PBX moves the call away before
	 * leaving_until_ms - with a cause such a request produces, or to
	 * leaving_to - the line's part ended for this reason (enum
	 * ucs_call_end; 0: none under way) towards leaving_to. Its Diverted
	 * event spends it. */
	int leaving;
	int64_t leaving_until_ms;
	char leaving_to[128];
	bool ro_transfer;    /* remote office: transfer when answered */
	char postdial[64];   /* DTMF the dialplan wants sent once answered */
	char ro_target[128]; /* ... to this dial string */
};

/* ---- the state -------------------------------------------------------------------- */

struct lm_req;

/* The party a line left behind when a transfer or conference took its
 * connection away: the transferred-to line learns its new party from it
 * when the PBX's event does not name one (lm_calls.c). */
struct lm_handover {
	const struct lm_driver *drv;
	char pbx[64];
	struct ucs_number remote;
	char remote_name[64];
	int internal;
	struct ucs_phone owner; /* the number of the line that left */
};
#define LM_HANDOVERS 32

struct lm_stats {
	uint64_t events, requests, requests_ok, requests_failed, timeouts, redirects, open_retries;
};

#define LM_LAST_ERRORS 8

struct lm {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct lm_conf conf;
	bool started;

	struct lm_driver *drivers;
	struct lm_group *groups;
	struct lm_line *lines;
	size_t n_lines;
	struct lm_map by_id;	     /* line id -> line */
	struct lm_index by_internal; /* internal number -> lines */
	struct lm_index by_number;   /* canonical number -> lines */
	struct lm_index by_dev;	     /* "<group>\x1f<device or internal>" -> lines */
	struct lm_index by_call;     /* "<driver>\x1f<pbx call id>" -> calls */

	const struct ucs_msg_type *t_status, *t_state, *t_control, *t_result, *t_admin,
		*t_admin_result;
	struct ucs_server *server, *admin_server;

	struct lm_req *reqs; /* in flight */
	size_t n_reqs;
	uint64_t next_token;

	struct lm_redirect *redirects;
	struct lm_handover handovers[LM_HANDOVERS];
	size_t next_handover;

	struct ucs_timer *retry_timer;
	struct ucs_timer *open_timer;
	char **open_queue; /* line ids to open, in order: [open_head, n_open) */
	size_t open_head, n_open, cap_open;
	size_t open_logged; /* opens logged by name in this round of the queue */

	struct lm_stats stats;
	struct {
		char line[UCS_ID_MAX];
		char text[128];
		int64_t at_ms;
	} last_errors[LM_LAST_ERRORS];
	size_t n_last_errors, next_last_error;
};

int64_t lm_now_ms(void);

/* lm_registry.c */
struct lm_line *lm_line_find(struct lm *m, const char *id);
struct lm_line *lm_line_by_number(struct lm *m, const char *number);
struct lm_group *lm_group_find(struct lm *m, const char *name);
/* A line of group g by its device or internal number ("" / NULL: none):
 * a PBX names its own extensions, so they are looked up in the group
 * before anywhere else. */
struct lm_line *lm_line_in_group(struct lm *m, const struct lm_group *g, const char *dev);
/* The operator's properties of a group (or the defaults) into g->conf. */
void lm_group_apply(struct lm *m, struct lm_group *g);
/* Counts a line event of a driver for its aggregated log line
 * ("pbx1: 5000 lines open"), written once per loop turn. */
void lm_log_opened(struct lm *m, struct lm_driver *drv);
void lm_log_synced(struct lm *m, struct lm_driver *drv, size_t kept, size_t ended);
/* (Re)computes a line's published properties from the driver's
 * description, the configuration and the dialplan. */
void lm_line_apply(struct lm *m, struct lm_line *l);
void lm_registry_reindex(struct lm *m, struct lm_line *l, bool add);
void lm_registry_fini(struct lm *m);
extern const struct ucs_linemgr_api lm_linemgr_api;
void lm_registry_bind(struct lm *m); /* the static pointer of the vtables */
struct lm *lm_the(void);
/* Records a failure on a line (the admin's "last error"). */
/* The line is not used: its driver is asked to close it (later). */
void lm_line_unused(struct lm *m, struct lm_line *l);
void lm_line_error(struct lm *m, struct lm_line *l, const char *fmt, ...) UCS_PRINTF(3, 4);

/* lm_number.c */
void lm_number_format(struct lm *m, const char *location, int kind, const char *raw,
		      struct ucs_number *out, int *internal);
/* The dial string for number at location (mode enum ucs_dp_dial_mode):
 * 0, or -EINVAL with why. A configured feature code and a leading '!' go
 * out as they are. */
int lm_number_dial(struct lm *m, const struct lm_line *l, int mode, const char *number,
		   const char *project, char *out, size_t cap, char *why, size_t whycap);
/* The same, with the dialplan's whole answer (postdial digits, private
 * call, project) in *res (zeroed when no dialplan runs). */
int lm_number_dial_ex(struct lm *m, const struct lm_line *l, int mode, const char *number,
		      const char *project, char *out, size_t cap, char *why, size_t whycap,
		      struct ucs_dp_dial_result *res);
/* The location of a line (group, line, automatic by number). */
void lm_line_location(struct lm *m, const struct lm_line *l, char *out, size_t cap);

/* lm_calls.c */
void lm_calls_event(struct lm *m, struct lm_line *l, const struct ucs_line_call_event *ev);
void lm_calls_synced(struct lm *m, struct lm_line *l);
/* The line went away: every call ends (published when `publish`). */
void lm_calls_drop(struct lm *m, struct lm_line *l, bool publish);
struct lm_call *lm_call_find(struct lm_line *l, const char *published_or_pbx);
struct lm_call *lm_call_by_pbx(struct lm_line *l, const char *pbx);
struct lm_call *lm_call_alerting(struct lm_line *l);
void lm_calls_made(struct lm *m, struct lm_line *l, const char *pbx, const struct lm_dial_extra *x);
/* ucsd asks the PBX to move call pbx away from line l (why: UCS_END_DEFLECTED,
 * _REDIRECTED, _PICKED_UP; to: the dial string): the diversion that follows
 * ends the line's part for that reason. */
void lm_call_leaving(struct lm *m, struct lm_line *l, const char *pbx, int why, const char *to);
/* The request failed: the mark goes (when it is still why's). */
void lm_call_leaving_clear(struct lm *m, const char *line, const char *pbx, int why);

/* lm_publish.c */
int lm_publish_register(struct lm *m);
void lm_publish_line(struct lm *m, struct lm_line *l);
void lm_publish_call(struct lm *m, struct lm_line *l, const struct lm_call *c);
void lm_publish_presence(struct lm *m, struct lm_line *l);
void lm_publish_gone(struct lm *m, struct lm_line *l);

/* lm_json.c: the bus types' JSON (to_json slots) */
int lm_json_line_info(const void *payload, size_t len, char *buf, size_t cap);
int lm_json_call_info(const void *payload, size_t len, char *buf, size_t cap);
int lm_json_call_control(const void *payload, size_t len, char *buf, size_t cap);
int lm_json_call_result(const void *payload, size_t len, char *buf, size_t cap);
int lm_json_text(const void *payload, size_t len, char *buf, size_t cap);

/* lm_request.c: requests to drivers */
typedef void(lm_req_done_h)(struct lm *m, struct lm_req *rq, int status, const char *reason,
			    const char *call);
struct lm_req {
	struct lm_req *next;
	struct lm *m;
	uint64_t token;
	struct lm_driver *drv;
	char line[UCS_ID_MAX];
	struct ucs_line_request rq;
	struct ucs_timer *timer;
	lm_req_done_h *done;
	struct ucs_request *bus_req; /* a call.control to answer, or NULL */
	void *arg;		     /* the done handler's */
	char arg_text[128];	     /* the done handler's */
	struct lm_dial_extra extra;  /* a call it makes carries this */
};
/* Sends rq to the line's driver; done is called exactly once (also when
 * the driver refuses at once). 0, or the driver's refusal already
 * reported through done. */
void lm_request_send(struct lm *m, struct lm_line *l, const struct ucs_line_request *rq,
		     lm_req_done_h *done, struct ucs_request *bus_req, void *arg,
		     const char *arg_text);
/* The same; a call the request makes carries x (project, postdial, ...). */
void lm_request_send_x(struct lm *m, struct lm_line *l, const struct ucs_line_request *rq,
		       lm_req_done_h *done, struct ucs_request *bus_req, void *arg,
		       const char *arg_text, const struct lm_dial_extra *x);
/* A driver's answer; a token of another driver is ignored. */
void lm_request_done(struct lm *m, struct lm_driver *drv, uint64_t token, int status,
		     const char *reason, const char *call);
/* Fails every request of a driver (removed) with -ENETDOWN. */
void lm_requests_fail_driver(struct lm *m, struct lm_driver *drv);
void lm_requests_fini(struct lm *m);

/* lm_control.c */
void lm_control_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg);
uint64_t lm_op_cap(int op, int mode);
/* Answers a call.control request. */
void lm_control_reply(struct lm *m, struct ucs_request *req, int status, const char *call,
		      const char *reason);
/* A request's done handler that answers its call.control (a created call
 * by its published id). */
void lm_reply_done(struct lm *m, struct lm_req *rq, int status, const char *reason,
		   const char *call);
/* "<driver>/<pbx id>" */
void lm_call_id(const struct lm_line *l, const char *pbx, struct ucs_id *out);
/* The capabilities of a line as published (driver & group & options). */
uint64_t lm_line_caps(const struct lm_line *l);

/* lm_redirect.c */
struct lm_redirect;
void lm_redirect_offered(struct lm *m, struct lm_line *l, struct lm_call *c);
void lm_redirect_call_gone(struct lm *m, struct lm_call *c);
void lm_redirect_fini(struct lm *m);

/* lm_remote.c */
void lm_remote_control(struct lm *m, struct lm_line *l, const struct ucs_call_control *q,
		       struct ucs_request *req);
bool lm_remote_emulated(const struct lm_line *l);
bool lm_remote_possible(const struct lm_line *l);
/* MAKE on a line in emulated remote office; true when it took the request. */
bool lm_remote_make(struct lm *m, struct lm_line *l, const struct ucs_call_control *q,
		    struct ucs_request *req);
void lm_remote_call_changed(struct lm *m, struct lm_line *l, struct lm_call *c);

/* lm_open.c */
int lm_open_start(struct lm *m);
void lm_open_stop(struct lm *m);
void lm_open_queue(struct lm *m, struct lm_line *l);
void lm_open_reinit(struct lm *m, struct lm_driver *drv, const char *reason);
void lm_open_interest(struct lm *m, const char *number);
void lm_open_apply_conf(struct lm *m);

/* lm_admin.c */
int lm_admin_status(struct lm *m, char *buf, size_t cap);
void lm_admin_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg);
#define LM_ADMIN_TYPE	     "lines.admin"
#define LM_ADMIN_RESULT_TYPE "lines.admin.result"

/* lm_json.c: JSON text with snprintf rules (struct ucs_jout of
 * plugins/common/ucs_jsontext.h) */
void lm_out_caps(struct ucs_jout *o, uint64_t caps);

#endif
