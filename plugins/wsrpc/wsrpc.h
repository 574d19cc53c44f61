/*
 * plugins/wsrpc/wsrpc.h - JSON-RPC 2.0 over WebSocket: the transport both
 * network protocols of ucsd (client-api on 7222, admin-api on 7221) are
 * built on. A static library linked into each of those plugins; nothing here
 * is ABI.
 *
 * Layers, bottom up:
 *   - the host's listeners (ucs/net.h) carry plain TCP and TLS, with the
 *     interface's TLS policy (plain, tls-optional on one port, tls-required);
 *   - an HTTP/1.1 request on path /ws is parsed with libhttp-parser and
 *     upgraded to a WebSocket (RFC 6455, ws_http.h); anything else gets an
 *     HTTP error answer and the connection is closed;
 *   - WebSocket frames (ws_frame.h): fragmentation, ping/pong, the close
 *     handshake, masking rules, UTF-8 validation of text messages;
 *   - JSON-RPC 2.0 (jsonrpc.h, private): each text message is one request,
 *     one notification or a batch; the plugin sees one on_request() per
 *     call.
 *
 * A session is one WebSocket connection. The server enforces every limit
 * itself, so a plugin never sees a frame larger than max_frame, a message
 * larger than max_message (max_message_unauthenticated until the session
 * authenticated), more than rate_per_s messages per second (burst:
 * rate_burst; every message and batch member is charged, valid or not,
 * and invalid ones count toward the strikes that close with 4009), more
 * connections than max_sessions (those still upgrading count), a session
 * that did not finish the HTTP upgrade within
 * handshake_timeout_ms, or a session that did not authenticate within
 * auth_timeout_ms (the plugin calls wsrpc_session_authenticated()). An idle
 * session is pinged after ping_interval_ms of silence and closed when no
 * pong (or anything else) arrives within ping_timeout_ms.
 *
 * Outbound queue. Every reply and notification is serialised at once and
 * handed to the host; what the peer has not read yet counts against
 * max_queue, checked before each send (so one message may take the queue
 * past max_queue: a large reply to a peer that reads is fine). A session
 * over it is closed with close code 4008 after a last notification
 * server.event {kind:"resync", reason:"queue_overflow"}; the client
 * reconnects, resumes and asks for a snapshot (presence.subscribe,
 * lines.list) again. The send that found the queue full reports -ENOBUFS
 * so the plugin stops producing for that session. That close happens
 * inside the send: on_close() may run inside any wsrpc_reply(),
 * wsrpc_error(), wsrpc_notify() or wsrpc_send_text(). The session itself
 * stays valid until the send returns (each send holds a reference), but a
 * plugin walking its own list of sessions must read the next entry before
 * sending (on_close may unlink and free the current one) or hold
 * references, and re-check what on_close may have changed.
 *
 * Sessions are reference-counted: replies are often asynchronous (a login
 * checks a password on the thread pool, a call request waits for the PBX)
 * and the peer may have gone meanwhile. A plugin holding a session across
 * an asynchronous step takes a reference; replying to a closed session is a
 * harmless no-op (-ENOTCONN). on_close() is called exactly once per session
 * that on_open() was called for; the plugin drops its per-session state
 * there. After on_close() the session only lives on through references.
 *
 * Close codes ucsd uses (besides RFC 6455's 1000-1011):
 *   4001 authentication deadline passed      4008 outbound queue overflow
 *   4002 logged out                          4009 message rate exceeded
 *   4003 session replaced or revoked         4010 reserved (shutdown uses 1001
 *                                                after server.event "shutdown")
 * The reason text of a close frame says it in words. Before closing for a
 * limit (4001, 4008, 4009) the server sends a last notification
 * server.event {kind, reason, code, message}; docs/protocol/websocket.md.
 *
 * Batches: the calls of a batch reach on_request() one by one, in order;
 * their replies (also asynchronous ones) are collected and sent as one
 * array once the last is in. wsrpc_reply() finds the batch member by the
 * id (keep the json_t with json_incref; a copy works too). A waiting batch
 * keeps copies of its ids and the serialised replies already in (they
 * count against max_queue), not the message; at most 64 batch calls of a
 * session await a reply at once - a call over that is answered
 * rate_limited without reaching on_request().
 *
 * Errors. A JSON-RPC error object always carries data.reason, a stable
 * string scripts rely on (enum wsrpc_reason). The numeric codes follow
 * JSON-RPC for transport faults (-32700 parse error, -32600 invalid
 * request, -32601 unknown method, -32602 invalid params, -32603 internal)
 * and -32000..-32099 for application errors; docs/protocol/README.md lists
 * them.
 *
 * Threads: everything runs on the loop thread.
 */
#ifndef WSRPC_H
#define WSRPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <ucs/ucs.h>

struct wsrpc_server;
struct wsrpc_session;

/* The stable reasons of error replies (data.reason). */
enum wsrpc_reason {
	WSRPC_PARSE_ERROR = 0,	 /* "parse_error"       -32700 not JSON */
	WSRPC_INVALID_REQUEST,	 /* "invalid_request"   -32600 not JSON-RPC 2.0 */
	WSRPC_METHOD_NOT_FOUND,	 /* "method_not_found"  -32601 */
	WSRPC_INVALID_PARAMS,	 /* "invalid_params"    -32602 */
	WSRPC_INTERNAL,		 /* "internal"          -32603 */
	WSRPC_NOT_AUTHENTICATED, /* "not_authenticated" -32001 log in first */
	WSRPC_AUTH_FAILED,	 /* "auth_failed"       -32002 wrong login or password */
	WSRPC_FORBIDDEN,	 /* "forbidden"         -32003 rights do not allow it */
	WSRPC_NOT_FOUND,	 /* "not_found"         -32004 no such object */
	WSRPC_CONFLICT,		 /* "conflict"          -32005 exists already / changed */
	WSRPC_READ_ONLY,	 /* "read_only"         -32006 owned by the directory/config */
	WSRPC_LOCKED_OUT,	 /* "locked_out"        -32007 retry after data.retry_after_ms */
	WSRPC_TIMEOUT,		 /* "timeout"           -32008 */
	WSRPC_RATE_LIMITED,	 /* "rate_limited"      -32009 */
	WSRPC_NOT_AVAILABLE,  /* "not_available"     -32010 the feature's plugin is not running */
	WSRPC_DRIVER_REFUSED, /* "driver_refused"    -32011 the PBX said no (data.driver_reason) */
	WSRPC_INACTIVE,	      /* "inactive"          -32012 account switched off */
	WSRPC_UNAVAILABLE, /* "unavailable"       -32013 a backend (directory) cannot be reached */
	WSRPC_TOO_LARGE,   /* "too_large"         -32014 */
	WSRPC_NOT_SUPPORTED, /* "not_supported"   -32015 the line (driver) does not offer it */
	WSRPC_REASON_COUNT
};
const char *wsrpc_reason_name(enum wsrpc_reason r);
int wsrpc_reason_code(enum wsrpc_reason r);

/* Closing reasons (close codes). */
enum {
	WSRPC_CLOSE_NORMAL = 1000,
	WSRPC_CLOSE_GOING_AWAY = 1001,
	WSRPC_CLOSE_PROTOCOL = 1002,
	WSRPC_CLOSE_UNSUPPORTED = 1003,
	WSRPC_CLOSE_BAD_DATA = 1007, /* invalid UTF-8 */
	WSRPC_CLOSE_POLICY = 1008,
	WSRPC_CLOSE_TOO_BIG = 1009,
	WSRPC_CLOSE_INTERNAL = 1011,
	WSRPC_CLOSE_AUTH_DEADLINE = 4001,
	WSRPC_CLOSE_LOGGED_OUT = 4002,
	WSRPC_CLOSE_REVOKED = 4003,
	WSRPC_CLOSE_QUEUE_OVERFLOW = 4008,
	WSRPC_CLOSE_RATE = 4009,
	WSRPC_CLOSE_SHUTDOWN = 4010,
};

/* One network interface: config `interfaces[i]`. */
struct wsrpc_iface {
	char bind[64]; /* numeric address; "::" = every v4 and v6 address */
	uint16_t port;
	enum ucs_tls_policy tls;
	char cert[512]; /* absolute paths ("" for plain) */
	char key[512];
};

#define WSRPC_MAX_IFACES 8

struct wsrpc_limits {
	uint32_t max_frame;	       /* bytes of one frame's payload */
	uint32_t max_message;	       /* bytes of one (reassembled) message */
	uint32_t max_header;	       /* bytes of the HTTP upgrade request */
	uint32_t rate_per_s;	       /* messages per second per session ... */
	uint32_t rate_burst;	       /* ... with this many at once */
	uint32_t handshake_timeout_ms; /* connect to finished upgrade */
	uint32_t auth_timeout_ms;      /* upgrade to wsrpc_session_authenticated() */
	uint32_t ping_interval_ms;     /* silence before the server pings */
	uint32_t ping_timeout_ms;      /* ... and waits for anything to come back */
	uint32_t max_queue;	       /* bytes not yet taken by the peer */
	uint32_t max_sessions;	       /* per server, over all interfaces */
	uint32_t max_batch;	       /* calls in one JSON-RPC batch */
	/* bytes of one message until wsrpc_session_authenticated() (capped
	 * by max_message) */
	uint32_t max_message_unauthenticated;
};

struct wsrpc_config {
	struct wsrpc_iface ifaces[WSRPC_MAX_IFACES];
	size_t n_ifaces;
	struct wsrpc_limits limits;
	char allowed_origins[8][128]; /* browser Origin allow-list; empty: any */
	size_t n_origins;
};

/*
 * The keys `interfaces` and `limits` (and `origins`) of a plugin's config
 * section; WSRPC_CFG_KEYS(default_interfaces_json) expands to the entries
 * for a plugin's key table. wsrpc_config_read() reads them and checks what
 * the declarations cannot (a cert and key for TLS interfaces, one port used
 * twice within the section); err names the key with cfg->where().
 */
extern const struct ucs_cfg_key wsrpc_iface_keys[];
extern const struct ucs_cfg_key wsrpc_limit_keys[];
#define WSRPC_CFG_KEYS(default_interfaces_json)                                         \
	UCS_CFG_OBJECTS_KEY("interfaces", default_interfaces_json, wsrpc_iface_keys,    \
			    "network interfaces: {bind, port, tls: plain|tls-optional|" \
			    "tls-required, cert, key}"),                                \
		UCS_CFG_OBJECT_KEY("limits", wsrpc_limit_keys, "per-session limits"),   \
		UCS_CFG_LIST_KEY("origins", "[]",                                       \
				 "browser origins allowed to connect (empty: any origin)")
int wsrpc_config_read(const struct ucs_host *host, const struct ucs_cfg *section,
		      struct wsrpc_config *out, char *err, size_t errcap);
/* The built-in defaults of every limit (those the `limits` keys declare). */
void wsrpc_limits_default(struct wsrpc_limits *l);

struct wsrpc_handlers {
	/* A WebSocket session is open (upgrade done). May be NULL. */
	void (*on_open)(struct wsrpc_session *s, void *arg);
	/* One call. method is NUL-terminated; params is an object, an array or
	 * NULL (absent), borrowed; id is NULL for a notification (no reply
	 * expected; wsrpc_reply() then does nothing), borrowed too: reply with
	 * wsrpc_reply*() now, or keep it with json_incref() for later. */
	void (*on_request)(struct wsrpc_session *s, const char *method, json_t *params, json_t *id,
			   void *arg);
	/* The session ended (peer, limit, error or wsrpc_session_close()). */
	void (*on_close)(struct wsrpc_session *s, int code, const char *reason, void *arg);
};

/* name: "client-api" / "admin-api" (log lines, listener names). */
int wsrpc_server_new(struct ucs_plugin *self, const struct ucs_host *host, const char *name,
		     const struct wsrpc_handlers *h, void *arg, struct wsrpc_server **out);
/* Opens the interfaces (start) or reconciles them with a new config
 * (reload: unchanged interfaces stay, sessions on removed ones are closed,
 * limits apply to new frames at once). A port that cannot be bound is an
 * error naming the port and its owner; the other interfaces still open.
 * Returns 0 when every interface is open, else the first error. */
int wsrpc_server_configure(struct wsrpc_server *srv, const struct wsrpc_config *cfg);
/* Sends server.event {kind:"shutdown"} to every session, closes them with
 * 1001 and the listeners, then frees. on_close() is called for each. Call
 * it from the plugin's stop() (or fini() when start never ran: a server
 * never configured holds nothing of the host), not from a callback of this
 * server. NULL is ignored. */
void wsrpc_server_free(struct wsrpc_server *srv);

struct wsrpc_server_stats {
	uint64_t sessions;	  /* open now */
	uint64_t authenticated;	  /* of those, authenticated */
	uint64_t tls_sessions;	  /* of those, on TLS */
	uint64_t accepted;	  /* since start */
	uint64_t rejected;	  /* bad upgrade, over max_sessions, Origin */
	uint64_t closed_by_limit; /* frame/message size, rate, queue, deadlines */
	uint64_t requests;
	uint64_t errors;	/* error replies sent */
	uint64_t notifications; /* sent */
	uint64_t bytes_in, bytes_out;
};
void wsrpc_server_stats(const struct wsrpc_server *srv, struct wsrpc_server_stats *out);
/* The port interface i actually listens on (useful with port 0), or -ENOENT. */
int wsrpc_server_port(const struct wsrpc_server *srv, size_t i);
/* Calls fn for every open session (the list must not change meanwhile:
 * fn may send, but not close sessions). */
void wsrpc_server_foreach(struct wsrpc_server *srv, void (*fn)(struct wsrpc_session *s, void *arg),
			  void *arg);

/* Sessions. */
struct wsrpc_session *wsrpc_session_ref(struct wsrpc_session *s);
void wsrpc_session_unref(struct wsrpc_session *s);
int wsrpc_session_open(const struct wsrpc_session *s); /* 0 after on_close */
void wsrpc_session_set_data(struct wsrpc_session *s, void *data);
void *wsrpc_session_data(const struct wsrpc_session *s);
uint64_t wsrpc_session_id(const struct wsrpc_session *s); /* unique per server run */
/* Stops the authentication deadline; the rate and idle limits go on. */
void wsrpc_session_authenticated(struct wsrpc_session *s);
int wsrpc_session_is_authenticated(const struct wsrpc_session *s);
int wsrpc_session_is_tls(const struct wsrpc_session *s);
/* Numeric peer address ("127.0.0.1", "::1") and the raw sockaddr. */
const char *wsrpc_session_peer_name(const struct wsrpc_session *s);
const struct sockaddr *wsrpc_session_peer(const struct wsrpc_session *s);
/* The HTTP request's User-Agent, "" when none (status monitor). */
const char *wsrpc_session_user_agent(const struct wsrpc_session *s);
uint64_t wsrpc_session_started_ms(const struct wsrpc_session *s); /* Unix ms */
size_t wsrpc_session_queued(const struct wsrpc_session *s);	  /* bytes not yet sent */
/* Closes with a close frame (code, reason); on_close() follows at once. */
void wsrpc_session_close(struct wsrpc_session *s, int code, const char *reason);

/* Replies and notifications. Each steals the reference to `result` /
 * `params` / `data` (which may be NULL), also on error. Returns 0,
 * -ENOTCONN (session closed: dropped), -ENOBUFS (the queue overflowed: the
 * session is being closed), or -ENOMEM. id NULL (a notification): nothing
 * is sent, 0. */
int wsrpc_reply(struct wsrpc_session *s, json_t *id, json_t *result);
/* message: human-readable; data: extra members of the error's data object
 * (an object or NULL); data.reason is set from r. */
int wsrpc_error(struct wsrpc_session *s, json_t *id, enum wsrpc_reason r, const char *message,
		json_t *data);
int wsrpc_notify(struct wsrpc_session *s, const char *method, json_t *params);
/* Already-serialised JSON text (for fan-out of one event to many sessions:
 * serialise once). text must be a complete JSON-RPC message. */
int wsrpc_send_text(struct wsrpc_session *s, const char *text, size_t len);

/*
 * Method tables. A plugin keeps its methods in a table sorted by name;
 * wsrpc_method_find() finds one by binary search. flags say what the
 * session must be for the method to run; wsrpc_dispatch() answers
 * method_not_found / not_authenticated itself and otherwise calls h.
 */
#define WSRPC_M_PUBLIC (1u << 0) /* allowed before authentication */
struct wsrpc_method {
	const char *name;
	unsigned flags;
	void (*h)(struct wsrpc_session *s, json_t *params, json_t *id, void *arg);
};
const struct wsrpc_method *wsrpc_method_find(const struct wsrpc_method *table, size_t n,
					     const char *name);
void wsrpc_dispatch(const struct wsrpc_method *table, size_t n, struct wsrpc_session *s,
		    const char *method, json_t *params, json_t *id, void *arg);

/*
 * Params helpers: read a member with its type checked. Each returns 0,
 * -ENOENT when absent (optional members), or -EINVAL for a wrong type, and
 * on -EINVAL (or -ENOENT when required) has already answered
 * invalid_params naming the member (data.member), so a handler just
 * returns. params NULL means no member is present; params that is an array
 * is -EINVAL. max_len counts bytes; 0: no limit.
 */
int wsrpc_param_string(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		       int required, size_t max_len, const char **out);
int wsrpc_param_int(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		    int required, int64_t min, int64_t max, int64_t *out);
int wsrpc_param_bool(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		     int required, int *out);
/* Rejects members not named in `allowed` (NULL-terminated). */
int wsrpc_params_only(struct wsrpc_session *s, json_t *id, json_t *params,
		      const char *const *allowed);

#endif
