/*
 * plugins/line-csta/csta.h - the driver's state: the plugin, its PBX links,
 * and the devices (lines) each link monitors.
 *
 * One link is one TCP (or TLS) connection to one PBX, one line group for
 * the line manager, and a set of devices. Its life:
 *
 *   DOWN --connect--> CONNECTING --connected--> SESSION (StartApplicationSession
 *   answered, only when the link has credentials or "session": true) --> UP
 *
 * In UP the link keeps itself alive (SystemStatus every keepalive_s, and
 * the session timer reset before the session expires) and the device layer
 * monitors every wanted device, a bounded number of requests in flight, and
 * snapshots each one after its monitor started, then reads its forwarding
 * and do-not-disturb state. Any failure (the peer
 * closes, a frame error, a keep-alive that is not answered, a refused
 * session) takes the link DOWN at once: every line NOT_AVAILABLE, every
 * request outstanding answered -ENETDOWN, and a reconnect timer with
 * exponential back-off and jitter. Monitors do not survive a connection;
 * they are started again after the reconnect, and the snapshot that follows
 * tells the line manager which calls went on and which ended meanwhile.
 *
 * Requests. Every request the driver sends takes a free invoke id from
 * 0001..9998 (cycling, skipping ids still outstanding) and a pending slot
 * that says who waits for the answer: the line manager (a token), the
 * device layer (monitor, snapshot) or the link itself (keep-alive, session).
 * A slot ends exactly once: with the answer, with its timeout
 * (request_timeout_ms) or with the link going down.
 */
#ifndef CSTA_H
#define CSTA_H

#include <stdint.h>

#include <ucs/ucs.h>
#include <ucs/line.h>

#include "csta_codec.h"

#define CSTA_NAME_MAX	   64
#define CSTA_INVOKE_MAX	   9998
#define CSTA_WINDOW	   32	  /* default monitors_in_flight: requests in flight per link */
#define CSTA_MAX_DEVICES   100000 /* per link */
#define CSTA_SESSION_S	   180	  /* requested application session duration */
/* A SnapshotDevice that fails (error, timeout, a wrong answer) is tried
 * again after 1, 2, 4 s; after CSTA_SNAP_TRIES attempts the driver gives
 * up for this open and does not call line_synced (ucs/line.h step 5). */
#define CSTA_SNAP_TRIES	   4
#define CSTA_SNAP_RETRY_MS 1000
/* A link counts as stable (the reconnect back-off starts again from
 * reconnect_min_ms) once a keep-alive was answered, every monitor of the
 * connect was answered, or it stayed up this long. */
#define CSTA_STABLE_MS	   10000

/* ---- configuration (csta_config.c) ---- */

struct csta_link_cfg {
	char name[CSTA_NAME_MAX];
	char host[256];
	uint16_t port;
	int tls;
	char ca_file[4096]; /* "" : the system CA bundle */
	int session;	    /* StartApplicationSession (also implied by user/password) */
	char user[128];
	char password[128];
	char location[64];
	int auto_devices;
	char **devices; /* expanded device numbers */
	size_t ndevices;
	int keepalive_s;
	int edition;		     /* ECMA-323 edition of the documents sent: 3..5 */
	uint32_t monitor_delay_ms;   /* pause between two MonitorStart; 0: none */
	uint32_t monitors_in_flight; /* device layer requests in flight */
};

struct csta_settings {
	uint32_t request_timeout_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	uint32_t max_frame_bytes;
	struct csta_link_cfg *links;
	size_t nlinks;
};

extern const struct ucs_cfg_key csta_config_keys[];

/* Reads and checks the section; errors are logged with their place. */
int csta_settings_read(struct ucs_plugin *self, const struct ucs_host *host,
		       const struct ucs_cfg *section, struct csta_settings *out);
void csta_settings_free(struct csta_settings *s);
/* Expands one device spec ("100-199", "250") onto the list; -EINVAL, -E2BIG. */
int csta_devices_expand(const char *spec, char ***list, size_t *count, size_t max);

/* ---- devices (csta_dev.c) ---- */

enum csta_mon_state {
	CSTA_MON_IDLE = 0, /* not monitored (link down or not wanted) */
	CSTA_MON_STARTING, /* MonitorStart sent */
	CSTA_MON_OPEN,	   /* monitored; cross ref id known */
	CSTA_MON_FAILED,   /* refused; waits for open() */
};

/* After a monitor starts: the calls of the device, then its forwarding and
 * do-not-disturb state (a PBX that refuses the queries is not asked again
 * on that connection). One at a time per device, in this order. */
#define CSTA_DUE_SNAPSHOT 1
#define CSTA_DUE_FWD	  2
#define CSTA_DUE_DND	  4

struct csta_call {
	char id[CSTA_CALL_MAX];
	int state; /* enum ucs_conn_state of the device's connection */
};

struct csta_dev {
	char device[CSTA_DEV_MAX];
	struct ucs_id line;
	int wanted;	/* monitored whenever the link is up */
	int mon;	/* enum csta_mon_state */
	int queued;	/* waits for the pump (monitor or what is due) */
	int due;	/* CSTA_DUE_*: what the device needs after its (re)open */
	int busy;	/* one of those requests is in flight */
	int resync;	/* the next SnapshotDevice starts with line_resync (status unchanged) */
	int again;	/* a snapshot was asked for while one was in flight */
	int reopen;	/* the manager asked open(): say OPEN even when it was OPEN */
	uint32_t epoch; /* bumped when the monitor ends: answers of older ones are stale */
	int snap_tries; /* failed SnapshotDevice attempts of this open */
	uint64_t snap_retry_at; /* the next attempt, ms; 0: none waiting */
	char xref[32];
	/* what was last reported, to report changes only */
	int status;
	char reason[64];
	struct csta_call *calls;
	size_t ncalls, capcalls;
};

/* String -> device index, open addressing. */
struct csta_index {
	uint32_t *slots; /* index + 1; 0 empty */
	size_t cap;
	size_t used;
};

struct csta_devs {
	struct csta_dev *v;
	size_t n, cap;
	struct csta_index by_device;
	struct csta_index by_xref;
	size_t inflight; /* monitor/snapshot requests outstanding */
	size_t monitors; /* devices in CSTA_MON_OPEN */
	uint32_t *q;	 /* FIFO of devices waiting for a monitor or snapshot */
	size_t qhead, qlen, qcap;
	int announce;		  /* log once every device of a (re)connect was answered */
	uint64_t retry_at;	  /* when the snapshot retry timer fires; 0: not armed */
	size_t answered;	  /* MonitorStarts the PBX answered (granted or refused) since UP */
	uint64_t next_monitor_at; /* monitor_delay_ms: no MonitorStart before this, ms */
};

/* ---- links (csta_link.c) ---- */

enum csta_link_state {
	CSTA_LINK_DOWN = 0,
	CSTA_LINK_CONNECTING,
	CSTA_LINK_SESSION,
	CSTA_LINK_UP,
	CSTA_LINK_STOPPED,
};

enum csta_pend_kind {
	CSTA_P_NONE = 0,
	CSTA_P_USER,	/* a line manager request: token */
	CSTA_P_MONITOR, /* MonitorStart of dev */
	CSTA_P_MONITOR_STOP,
	CSTA_P_SNAPSHOT, /* SnapshotDevice of dev */
	CSTA_P_KEEPALIVE,
	CSTA_P_SESSION,
	CSTA_P_RESET_TIMER,
	CSTA_P_GET_FWD, /* GetForwarding of dev */
	CSTA_P_GET_DND, /* GetDoNotDisturb of dev */
};

struct csta_pending {
	uint8_t kind; /* enum csta_pend_kind; NONE: free */
	uint8_t req;  /* enum csta_req */
	uint32_t dev;
	uint64_t token;
	uint64_t deadline_ms;
};

struct csta_ctx;

struct csta_link {
	struct csta_ctx *ctx;
	struct csta_link_cfg *cfg;
	int state;
	uint64_t gen;		/* bumped whenever the connection changes */
	int reconnects_pending; /* the next UP counts as a reconnect */
	struct ucs_conn *conn;
	struct csta_reader rd;
	struct ucs_timer *t_reconnect, *t_keepalive, *t_tick, *t_session, *t_retry;
	unsigned attempts; /* connects since the link was last stable */
	uint64_t up_since; /* when the link came up, ms */
	int stable;	   /* CSTA_STABLE_MS: a keep-alive or every monitor was answered */
	int warned_state;  /* an unknown call state was logged on this connection */
	int next_invoke;
	struct csta_pending *pend; /* [CSTA_INVOKE_MAX + 1], by invoke id */
	size_t npend;
	char session_id[128];
	int no_get_fwd, no_get_dnd; /* the PBX refused the query on this connection */
	struct csta_devs devs;
	/* status counters */
	uint64_t reconnects, docs_in, docs_out, errors, unsolicited_unknown;
	/* rate limit of protocol complaints: per 10 s window */
	uint64_t log_window_ms;
	unsigned log_count, log_suppressed;
	char sendbuf[8192];
};

struct csta_ctx {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_linemgr_api *mgr;
	struct ucs_line_driver *drv;
	struct csta_settings set;
	struct csta_link *links;
	size_t nlinks;
	int stopping;
};

void csta_log(struct csta_ctx *c, enum ucs_log_level level, const char *fmt, ...) UCS_PRINTF(3, 4);
/* A protocol complaint about a link, rate-limited (10 per 10 s). */
void csta_link_complain(struct csta_link *l, const char *fmt, ...) UCS_PRINTF(2, 3);

int csta_link_init(struct csta_ctx *c, struct csta_link *l, struct csta_link_cfg *cfg);
void csta_link_start(struct csta_link *l);
void csta_link_stop(struct csta_link *l);
void csta_link_fini(struct csta_link *l);
/* Sends one request: 0 (the pending slot will end exactly once) or a
 * negative errno (-ENETDOWN when not up, -EBUSY without a free id). */
int csta_link_request(struct csta_link *l, const struct csta_req_args *a, int kind, uint32_t dev,
		      uint64_t token);
int csta_link_is_up(const struct csta_link *l);
int csta_link_status(const struct csta_link *l, char *buf, size_t cap);

/* ---- devices: csta_dev.c ---- */

int csta_devs_add(struct csta_link *l, const char *device, int wanted, uint32_t *idx);
struct csta_dev *csta_devs_find(struct csta_link *l, const char *device, uint32_t *idx);
struct csta_dev *csta_devs_by_xref(struct csta_link *l, const char *xref, uint32_t *idx);
void csta_devs_free(struct csta_devs *d);
/* Reports a line status when it differs from what was reported last. */
void csta_dev_report(struct csta_link *l, struct csta_dev *d, int status, const char *reason);
/* The link came up: monitor every wanted device. */
void csta_devs_link_up(struct csta_link *l);
/* The link went down: every line NOT_AVAILABLE (or FAILED when the PBX
 * refused the session), monitors forgotten. */
void csta_devs_link_down(struct csta_link *l, int status, const char *reason);
/* Sends what waits, up to the window. */
void csta_devs_pump(struct csta_link *l);
/* The manager (or the driver itself) wants the line open: monitored now
 * when the link is up (an open line's monitor is restarted), else when it
 * comes up. Nothing is reported while the link is not up. */
void csta_dev_want(struct csta_link *l, uint32_t idx);
void csta_dev_unwant(struct csta_link *l, uint32_t idx);
/* Snapshot an open device again; resync: its status does not change, so
 * the snapshot starts with line_resync. */
void csta_dev_resnapshot(struct csta_link *l, uint32_t idx, int resync);
/* The snapshot retry timer fired. */
void csta_devs_retry(struct csta_link *l);
/* Answers to the device layer's requests (m NULL: err is the failure). */
void csta_dev_answer(struct csta_link *l, const struct csta_pending *p, int err,
		     const struct csta_msg *m);
/* Tracks the device's calls (for states the PBX does not send). */
int csta_dev_call_state(const struct csta_dev *d, const char *call);
void csta_dev_call_set(struct csta_dev *d, const char *call, int state);

/* ---- the mapping to line.h: csta_map.c ----
 *
 * Every slot of the manager may call back into the driver (line_wanted adds
 * a device and may move the device array): code that calls the manager
 * holds a device by its index, never by pointer, across the call, and
 * passes the manager copies of the device's strings. */

void csta_map_event(struct csta_link *l, const struct csta_msg *m);
/* The calls of a SnapshotDeviceResponse, then line_synced unless the list
 * was cut short. */
void csta_map_snapshot(struct csta_link *l, uint32_t idx, const struct csta_msg *m);
/* GetForwardingResponse / GetDoNotDisturbResponse to line_forwarding / line_dnd. */
void csta_map_features(struct csta_link *l, uint32_t idx, const struct csta_msg *m);
/* line_resync of the device's line, when the manager has the slot. */
void csta_map_resync(struct csta_link *l, uint32_t idx);
int csta_map_request(struct csta_ctx *c, const struct ucs_line_request *rq, uint64_t token);
void csta_map_answer(struct csta_link *l, const struct csta_pending *p, int err,
		     const struct csta_msg *m);
/* "N<0891234>" -> "0891234" (the dialling-number wrapper only). */
void csta_unwrap_number(const char *in, char *out, size_t cap);
uint64_t csta_caps(void);

#endif
