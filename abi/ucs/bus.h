/*
 * ucs/bus.h - the typed message bus: how plugins tell each other what happened.
 *
 * A plugin never calls another plugin to say "a call was delivered on line
 * 111": it publishes a message of type "line.call.delivered", and whoever
 * cares (the journal, presence, every client session watching that line)
 * subscribes. The publisher does not know its audience and the audience does
 * not know the publisher; either can be absent.
 *
 * Types. A message type is registered at run time by name, version and
 * payload size, with a to_json formatter that lets protocols and bridges
 * serialise any message without knowing its C layout. Types are owned by the
 * plugin that registers them and vanish when it stops; the payload structs of
 * types several plugins share (calls, presence) live in abi/ headers so that
 * every driver and consumer agrees on the layout. A payload_size of 0 marks a
 * type whose payloads vary in length; otherwise every message of the type
 * carries exactly payload_size bytes.
 *
 * Messages are immutable once created and reference-counted. msg_new copies
 * the payload (and the optional key) into one allocation, with one reference
 * owned by the caller. publish/publish_sync/post/request take that reference
 * over. A subscriber gets a borrowed pointer valid during its callback; to
 * keep the message, it takes a reference and later drops it. msg_new,
 * msg_ref, msg_unref and post are safe on any thread; everything else runs on
 * the loop thread.
 *
 * Delivery. publish() queues the message; the loop delivers queued messages
 * in publication order, one message to all its subscribers before the next.
 * publish_sync() delivers before it returns (use it sparingly: it re-enters
 * subscribers from inside the publisher). post() is publish() from any
 * thread: a plugin running a foreign stack in its own thread hands messages
 * to the loop through a lock-free queue.
 *
 * Subscriptions name an exact type ("line.call.delivered") or a prefix
 * ("line.call."), and optionally a key: a message published with key
 * "line:111" reaches the subscribers for that key and the subscribers without
 * a key, and no one else. Keyed delivery is a hash lookup, so fanning out to
 * ten thousand client sessions each watching its own lines does not scan ten
 * thousand subscribers. A subscription may name a type before it is
 * registered. Dispatch is cursor-safe: a handler may unsubscribe itself or
 * any other subscription, or subscribe new ones; a subscription made during
 * a delivery does not receive the message being delivered.
 *
 * Requests. For commands that need an answer (make a call on a line, check
 * a dialing rule) one plugin serves a request type and others send requests
 * of that type. request() fails at once with -ENOENT when nobody serves the
 * type (the host logs which plugin asked for what); otherwise the reply
 * handler is called exactly once: with the server's status and reply, with
 * -ETIMEDOUT when the server did not answer in time, or with -ESHUTDOWN when
 * the serving plugin stopped. The server gets a request handle and must
 * reply() exactly once, now or later; replying after the requester gave up is
 * harmless. The requester's pending handle is valid until its reply handler
 * has been called (or it was cancelled); the server's request handle until
 * reply() returns.
 *
 * The bus itself never drops a message. Consumers with a network peer own
 * bounded queues and decide what to do with a slow peer.
 */
#ifndef UCS_BUS_H
#define UCS_BUS_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_msg_type;
struct ucs_msg;
struct ucs_sub;
struct ucs_server;
struct ucs_request; /* server side: a request to answer */
struct ucs_pending; /* requester side: a request awaiting its reply */

struct ucs_msg_type_desc {
	uint32_t size;
	const char *name; /* "area.object.event" */
	uint32_t version;
	size_t payload_size; /* exact size, or 0 for variable-length payloads */
	/* Formats the payload as one JSON value into buf (snprintf rules:
	 * returns the length it needs, excluding the NUL, or a negative errno).
	 * May be NULL: the type then has no JSON form. */
	int (*to_json)(const void *payload, size_t len, char *buf, size_t cap);
};

enum ucs_sub_mode {
	UCS_SUB_EXACT = 0,
	UCS_SUB_PREFIX = 1,
};

typedef void(ucs_msg_h)(const struct ucs_msg *msg, void *arg);
typedef void(ucs_serve_h)(struct ucs_request *req, const struct ucs_msg *msg, void *arg);
typedef void(ucs_reply_h)(int status, const struct ucs_msg *reply, void *arg);

struct ucs_bus_api {
	uint32_t size;

	/* -EEXIST when another plugin registered the name already. */
	int (*type_register)(struct ucs_plugin *self, const struct ucs_msg_type_desc *desc,
			     const struct ucs_msg_type **out);
	/* A registered type by name with at least min_version, or NULL. */
	const struct ucs_msg_type *(*type_find)(const char *name, uint32_t min_version);
	const char *(*type_name)(const struct ucs_msg_type *type);
	uint32_t (*type_version)(const struct ucs_msg_type *type);

	/* key may be NULL. -EINVAL when len does not fit the type. */
	int (*msg_new)(const struct ucs_msg_type *type, const char *key, const void *payload,
		       size_t len, struct ucs_msg **out);
	const struct ucs_msg *(*msg_ref)(const struct ucs_msg *msg);
	void (*msg_unref)(const struct ucs_msg *msg);
	const struct ucs_msg_type *(*msg_type)(const struct ucs_msg *msg);
	const void *(*msg_payload)(const struct ucs_msg *msg, size_t *len);
	const char *(*msg_key)(const struct ucs_msg *msg);
	/* The payload as JSON through the type's to_json (snprintf rules). */
	int (*msg_to_json)(const struct ucs_msg *msg, char *buf, size_t cap);

	int (*publish)(struct ucs_plugin *self, struct ucs_msg *msg);
	int (*publish_sync)(struct ucs_plugin *self, struct ucs_msg *msg);
	int (*post)(struct ucs_plugin *self, struct ucs_msg *msg);

	int (*subscribe)(struct ucs_plugin *self, struct ucs_sub **out, const char *pattern,
			 enum ucs_sub_mode mode, const char *key, ucs_msg_h *h, void *arg);
	void (*unsubscribe)(struct ucs_sub *sub);

	/* One server per request type; -EEXIST when it is served already. */
	int (*serve)(struct ucs_plugin *self, struct ucs_server **out, const char *type_name,
		     ucs_serve_h *h, void *arg);
	void (*unserve)(struct ucs_server *server);
	/* out may be NULL when the caller never cancels. */
	int (*request)(struct ucs_plugin *self, struct ucs_pending **out, struct ucs_msg *msg,
		       uint32_t timeout_ms, ucs_reply_h *h, void *arg);
	void (*request_cancel)(struct ucs_pending *pending);
	/* status: 0 or a negative errno; reply may be NULL (reference taken over). */
	int (*reply)(struct ucs_request *req, int status, struct ucs_msg *reply);
};

#ifdef __cplusplus
}
#endif

#endif
