/*
 * core/bus.c - the typed message bus (see abi/ucs/bus.h for the contract).
 *
 * Where things live:
 *  - A topic is a name ("line.call.delivered"). It exists as soon as anyone
 *    registers, subscribes to or serves that name, and holds the current
 *    registered type, the exact-match subscribers without a key, a map
 *    key -> subscribers with that key, and the request server.
 *  - Prefix subscriptions are global: one list without key, and a map
 *    key -> prefix subscriptions with that key. A keyed message therefore
 *    costs one lookup per map, whatever the number of other keys.
 *  - Deliveries wait in a ring on the loop thread, drained by an idle handle
 *    in batches (the batch is what was queued when the round began, so a
 *    handler that publishes in a loop cannot starve I/O). Messages from other
 *    threads arrive through an MPSC queue and an async handle.
 *
 * Cursor safety: while a dispatch runs (depth > 0), unsubscribing only marks
 * the subscription dead and puts it in a graveyard; it is unlinked and freed
 * when the outermost dispatch returns. Iterators therefore never step onto
 * freed memory. New subscriptions record the bus sequence number, so they
 * are not handed messages published before they existed.
 *
 * Types are never freed before shutdown: a queued or kept message may point
 * at a type whose plugin stopped. Their records are small and few.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "core.h"
#include "log.h"
#include "mpsc.h"
#include "strmap.h"

#define BUS_NAME_MAX		    128
#define BUS_KEY_MAX		    1024
#define BUS_PAYLOAD_MAX		    (16u << 20)
#define BUS_REQUEST_TIMEOUT_DEFAULT 5000

struct bus_sub_list {
	struct ucs_sub *head, *tail;
};

/* The subscriptions of one key (per topic, or among prefix subscriptions). */
struct bus_keyed {
	struct bus_sub_list list;
	struct core_strmap *map; /* the map it is filed in */
	char *key;
};

struct bus_topic {
	char *name;
	struct ucs_msg_type *type; /* registered type, or NULL */
	struct bus_sub_list unkeyed;
	struct core_strmap keyed; /* key -> struct bus_keyed */
	struct ucs_server *server;
};

struct ucs_msg_type {
	struct core_res res;
	struct bus_topic *topic;
	char *name;
	uint32_t version;
	size_t payload_size;
	int (*to_json)(const void *payload, size_t len, char *buf, size_t cap);
	bool registered;
	struct ucs_msg_type *retired_next;
};

struct ucs_msg {
	struct core_mpsc_node node; /* for post(); first, so a node is a message */
	atomic_uint refs;
	const struct ucs_msg_type *type;
	uint64_t seq;
	const char *key; /* inside this allocation, or NULL */
	size_t len;
	_Alignas(max_align_t) unsigned char payload[];
};

struct ucs_sub {
	struct core_res res;
	struct ucs_sub *prev, *next;
	struct bus_sub_list *list;
	struct bus_keyed *keyed; /* set when the list belongs to a key */
	char *pattern;
	size_t pattern_len;
	enum ucs_sub_mode mode;
	ucs_msg_h *h;
	void *arg;
	uint64_t since; /* first sequence number it may receive */
	bool dead;
	struct ucs_sub *grave_next;
};

struct ucs_server {
	struct core_res res;
	struct bus_topic *topic;
	ucs_serve_h *h;
	void *arg;
};

struct ucs_pending {
	struct core_res res;
	struct ucs_plugin *requester;
	struct ucs_request *req; /* while the server has not answered */
	ucs_reply_h *h;
	void *arg;
	uv_timer_t timer;
	int status;
	bool reply_queued;
	bool cancelled;
};

struct ucs_request {
	struct core_res res;
	struct ucs_pending *pending; /* NULL once the requester gave up */
	struct ucs_msg *msg;
	bool queued;  /* its delivery is still in the ring */
	bool revoked; /* answered by the host while queued; free at delivery */
};

enum bus_item_kind { BUS_PUBLISH, BUS_REQUEST, BUS_REPLY };

struct bus_item {
	struct ucs_msg *msg;
	void *ctx; /* request or pending */
	enum bus_item_kind kind;
};

static struct {
	bool ready;
	struct core_strmap topics;
	struct bus_sub_list prefix_unkeyed;
	struct core_strmap prefix_keyed;
	struct bus_item *ring;
	size_t ring_cap, ring_head, ring_count;
	uv_idle_t idle;
	uv_async_t async;
	struct core_mpsc posted;
	uint64_t next_seq;
	unsigned depth;
	struct ucs_sub *graveyard;
	struct ucs_msg_type *retired;
} bus;

/* ---- names and topics ------------------------------------------------- */

static bool bus_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name)
		return false;
	for (; name[n]; n++) {
		char c = name[n];

		if (n >= BUS_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static struct bus_topic *bus_topic_get(const char *name, bool create)
{
	struct bus_topic *t = core_strmap_get(&bus.topics, name);

	if (t || !create)
		return t;
	t = core_alloc(sizeof(*t));
	t->name = core_strdup(name);
	core_strmap_init(&t->keyed);
	core_strmap_put(&bus.topics, name, t);
	return t;
}

/* ---- subscriber lists ------------------------------------------------- */

static void bus_list_append(struct bus_sub_list *l, struct ucs_sub *s)
{
	s->list = l;
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
}

static void bus_list_unlink(struct ucs_sub *s)
{
	struct bus_sub_list *l = s->list;

	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
}

static struct bus_sub_list *bus_keyed_list(struct core_strmap *map, const char *key,
					   struct bus_keyed **out)
{
	struct bus_keyed *k = core_strmap_get(map, key);

	if (!k) {
		k = core_alloc(sizeof(*k));
		k->key = core_strdup(key);
		k->map = map;
		core_strmap_put(map, key, k);
	}
	*out = k;
	return &k->list;
}

static void bus_sub_free(struct ucs_sub *s)
{
	bus_list_unlink(s);
	if (s->keyed && !s->keyed->list.head) {
		core_strmap_del(s->keyed->map, s->keyed->key);
		free(s->keyed->key);
		free(s->keyed);
	}
	free(s->pattern);
	free(s);
}

static void bus_sweep(void)
{
	while (bus.graveyard) {
		struct ucs_sub *s = bus.graveyard;

		bus.graveyard = s->grave_next;
		bus_sub_free(s);
	}
}

/* ---- dispatch --------------------------------------------------------- */

static void bus_deliver_list(const struct bus_sub_list *l, const struct ucs_msg *m, bool prefix,
			     const char *name)
{
	for (struct ucs_sub *s = l->head; s; s = s->next) {
		if (s->dead || m->seq < s->since)
			continue;
		if (prefix && strncmp(name, s->pattern, s->pattern_len) != 0)
			continue;
		s->h(m, s->arg);
	}
}

static void bus_dispatch(const struct ucs_msg *m)
{
	struct bus_topic *t = m->type->topic;
	struct bus_keyed *k;

	bus.depth++;
	bus_deliver_list(&t->unkeyed, m, false, NULL);
	if (m->key && t->keyed.count && (k = core_strmap_get(&t->keyed, m->key)) != NULL)
		bus_deliver_list(&k->list, m, false, NULL);
	if (bus.prefix_unkeyed.head)
		bus_deliver_list(&bus.prefix_unkeyed, m, true, t->name);
	if (m->key && bus.prefix_keyed.count &&
	    (k = core_strmap_get(&bus.prefix_keyed, m->key)) != NULL)
		bus_deliver_list(&k->list, m, true, t->name);
	if (--bus.depth == 0 && bus.graveyard)
		bus_sweep();
}

/* ---- the delivery ring ------------------------------------------------ */

static void bus_idle_cb(uv_idle_t *idle);

static void bus_ring_push(enum bus_item_kind kind, struct ucs_msg *msg, void *ctx)
{
	size_t tail;

	if (bus.ring_count == bus.ring_cap) {
		size_t cap = bus.ring_cap ? bus.ring_cap * 2 : 1024;
		struct bus_item *n = core_alloc(cap * sizeof(*n));

		for (size_t i = 0; i < bus.ring_count; i++)
			n[i] = bus.ring[(bus.ring_head + i) % bus.ring_cap];
		free(bus.ring);
		bus.ring = n;
		bus.ring_cap = cap;
		bus.ring_head = 0;
	}
	tail = (bus.ring_head + bus.ring_count) % bus.ring_cap;
	bus.ring[tail].kind = kind;
	bus.ring[tail].msg = msg;
	bus.ring[tail].ctx = ctx;
	if (bus.ring_count++ == 0)
		uv_idle_start(&bus.idle, bus_idle_cb);
}

static bool bus_ring_pop(struct bus_item *out)
{
	if (!bus.ring_count)
		return false;
	*out = bus.ring[bus.ring_head];
	bus.ring_head = (bus.ring_head + 1) % bus.ring_cap;
	bus.ring_count--;
	return true;
}

static void bus_msg_free(struct ucs_msg *m)
{
	free(m);
}

static void bus_unref(const struct ucs_msg *msg)
{
	struct ucs_msg *m = (struct ucs_msg *)msg;

	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		bus_msg_free(m);
}

static void bus_deliver_request(struct ucs_request *req);
static void bus_deliver_reply(struct ucs_pending *p, struct ucs_msg *msg);

static void bus_process(struct bus_item *it)
{
	switch (it->kind) {
	case BUS_PUBLISH:
		bus_dispatch(it->msg);
		bus_unref(it->msg);
		break;
	case BUS_REQUEST:
		bus_deliver_request(it->ctx);
		break;
	case BUS_REPLY:
		bus_deliver_reply(it->ctx, it->msg);
		break;
	}
}

static void bus_idle_cb(uv_idle_t *idle)
{
	size_t n = bus.ring_count;
	struct bus_item it;

	while (n-- && bus_ring_pop(&it))
		bus_process(&it);
	if (!bus.ring_count)
		uv_idle_stop(idle);
}

static void bus_async_cb(uv_async_t *async)
{
	struct core_mpsc_node *node;

	(void)async;
	while ((node = core_mpsc_pop(&bus.posted)) != NULL) {
		struct ucs_msg *m = (struct ucs_msg *)node;

		if (!m->type->registered) {
			core_log("core", UCS_LOG_WARNING,
				 "posted '%s' after its type was withdrawn: dropped",
				 m->type->name);
			bus_unref(m);
			continue;
		}
		m->seq = bus.next_seq++;
		bus_ring_push(BUS_PUBLISH, m, NULL);
	}
}

void core_bus_flush(void)
{
	struct bus_item it;

	bus_async_cb(&bus.async);
	while (bus_ring_pop(&it))
		bus_process(&it);
	uv_idle_stop(&bus.idle);
}

size_t core_bus_queued(void)
{
	return bus.ring_count;
}

/* ---- types ------------------------------------------------------------ */

static void bus_type_revoke(struct core_res *res)
{
	struct ucs_msg_type *type = CORE_CONTAINER_OF(res, struct ucs_msg_type, res);

	core_ledger_remove(res);
	type->registered = false;
	/* the formatter is the stopped plugin's code: messages of the type that
	 * are still around no longer have a JSON form */
	type->to_json = NULL;
	if (type->topic->type == type)
		type->topic->type = NULL;
	type->retired_next = bus.retired;
	bus.retired = type;
}

static int bus_type_register(struct ucs_plugin *self, const struct ucs_msg_type_desc *desc,
			     const struct ucs_msg_type **out)
{
	struct bus_topic *topic;
	struct ucs_msg_type *type;
	int err = 0;

	if (!desc || !out ||
	    desc->size < offsetof(struct ucs_msg_type_desc, to_json) + sizeof(desc->to_json) ||
	    !bus_name_valid(desc->name)) {
		err = -EINVAL;
		goto out;
	}
	topic = bus_topic_get(desc->name, true);
	if (topic->type) {
		core_log(core_plugin_name(self), UCS_LOG_ERROR,
			 "bus type '%s' is registered already by plugin '%s'", desc->name,
			 core_plugin_name(topic->type->res.owner));
		err = -EEXIST;
		goto out;
	}
	type = core_alloc(sizeof(*type));
	type->topic = topic;
	type->name = topic->name;
	type->version = desc->version;
	type->payload_size = desc->payload_size;
	type->to_json = desc->to_json;
	type->registered = true;
	topic->type = type;
	core_ledger_add(self, &type->res, "bus type", bus_type_revoke);
	*out = type;
out:
	return err;
}

static const struct ucs_msg_type *bus_type_find(const char *name, uint32_t min_version)
{
	struct bus_topic *t = name ? bus_topic_get(name, false) : NULL;

	if (!t || !t->type || t->type->version < min_version)
		return NULL;
	return t->type;
}

static const char *bus_type_name(const struct ucs_msg_type *type)
{
	return type ? type->name : NULL;
}

static uint32_t bus_type_version(const struct ucs_msg_type *type)
{
	return type ? type->version : 0;
}

/* ---- messages --------------------------------------------------------- */

static int bus_msg_new(const struct ucs_msg_type *type, const char *key, const void *payload,
		       size_t len, struct ucs_msg **out)
{
	size_t key_len = key ? strlen(key) + 1 : 0;
	struct ucs_msg *m;
	int err = 0;

	if (!type || !out || (len && !payload) || len > BUS_PAYLOAD_MAX || key_len > BUS_KEY_MAX ||
	    (type->payload_size && len != type->payload_size)) {
		err = -EINVAL;
		goto out;
	}
	m = malloc(sizeof(*m) + len + key_len);
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	atomic_init(&m->refs, 1);
	m->type = type;
	m->seq = 0;
	m->len = len;
	if (len)
		memcpy(m->payload, payload, len);
	if (key) {
		memcpy(m->payload + len, key, key_len);
		m->key = (const char *)m->payload + len;
	} else {
		m->key = NULL;
	}
	*out = m;
out:
	return err;
}

static const struct ucs_msg *bus_msg_ref(const struct ucs_msg *msg)
{
	struct ucs_msg *m = (struct ucs_msg *)msg;

	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return msg;
}

static const struct ucs_msg_type *bus_msg_type(const struct ucs_msg *msg)
{
	return msg ? msg->type : NULL;
}

static const void *bus_msg_payload(const struct ucs_msg *msg, size_t *len)
{
	if (len)
		*len = msg ? msg->len : 0;
	return msg ? msg->payload : NULL;
}

static const char *bus_msg_key(const struct ucs_msg *msg)
{
	return msg ? msg->key : NULL;
}

static int bus_msg_to_json(const struct ucs_msg *msg, char *buf, size_t cap)
{
	if (!msg)
		return -EINVAL;
	if (!msg->type->to_json)
		return -ENOTSUP;
	return msg->type->to_json(msg->payload, msg->len, buf, cap);
}

/* ---- publish ---------------------------------------------------------- */

static int bus_check_publish(struct ucs_plugin *self, struct ucs_msg *msg)
{
	if (!msg)
		return -EINVAL;
	if (!msg->type->registered) {
		core_log(core_plugin_name(self), UCS_LOG_WARNING,
			 "publishing '%s' after its type was withdrawn: dropped", msg->type->name);
		bus_unref(msg);
		return -ESHUTDOWN;
	}
	return 0;
}

static int bus_publish(struct ucs_plugin *self, struct ucs_msg *msg)
{
	int err = bus_check_publish(self, msg);

	if (err)
		return err;
	msg->seq = bus.next_seq++;
	bus_ring_push(BUS_PUBLISH, msg, NULL);
	return 0;
}

static int bus_publish_sync(struct ucs_plugin *self, struct ucs_msg *msg)
{
	int err = bus_check_publish(self, msg);

	if (err)
		return err;
	msg->seq = bus.next_seq++;
	bus_dispatch(msg);
	bus_unref(msg);
	return 0;
}

static int bus_post(struct ucs_plugin *self, struct ucs_msg *msg)
{
	(void)self;
	if (!msg)
		return -EINVAL;
	/* the type check happens on the loop thread, at delivery */
	core_mpsc_push(&bus.posted, &msg->node);
	uv_async_send(&bus.async);
	return 0;
}

/* ---- subscriptions ---------------------------------------------------- */

static void bus_unsubscribe(struct ucs_sub *sub)
{
	if (!sub || sub->dead)
		return;
	sub->dead = true;
	core_ledger_remove(&sub->res);
	if (bus.depth) {
		sub->grave_next = bus.graveyard;
		bus.graveyard = sub;
	} else {
		bus_sub_free(sub);
	}
}

static void bus_sub_revoke(struct core_res *res)
{
	bus_unsubscribe(CORE_CONTAINER_OF(res, struct ucs_sub, res));
}

static int bus_subscribe(struct ucs_plugin *self, struct ucs_sub **out, const char *pattern,
			 enum ucs_sub_mode mode, const char *key, ucs_msg_h *h, void *arg)
{
	struct bus_sub_list *list;
	struct ucs_sub *s;
	int err = 0;

	if (!out || !h || !pattern || (mode != UCS_SUB_EXACT && mode != UCS_SUB_PREFIX) ||
	    (mode == UCS_SUB_EXACT && !bus_name_valid(pattern)) || strlen(pattern) > BUS_NAME_MAX ||
	    (key && strlen(key) >= BUS_KEY_MAX)) {
		err = -EINVAL;
		goto out;
	}
	s = core_alloc(sizeof(*s));
	s->pattern = core_strdup(pattern);
	s->pattern_len = strlen(pattern);
	s->mode = mode;
	s->h = h;
	s->arg = arg;
	s->since = bus.next_seq;
	if (mode == UCS_SUB_EXACT) {
		struct bus_topic *t = bus_topic_get(pattern, true);

		list = key ? bus_keyed_list(&t->keyed, key, &s->keyed) : &t->unkeyed;
	} else {
		list = key ? bus_keyed_list(&bus.prefix_keyed, key, &s->keyed)
			   : &bus.prefix_unkeyed;
	}
	bus_list_append(list, s);
	core_ledger_add(self, &s->res, "subscription", bus_sub_revoke);
	*out = s;
out:
	return err;
}

/* ---- request / reply -------------------------------------------------- */

static void bus_pending_closed(uv_handle_t *h)
{
	free(CORE_CONTAINER_OF(h, struct ucs_pending, timer));
}

static void bus_pending_free(struct ucs_pending *p)
{
	core_ledger_remove(&p->res);
	uv_close((uv_handle_t *)&p->timer, bus_pending_closed);
}

static void bus_request_free(struct ucs_request *req)
{
	core_ledger_remove(&req->res);
	bus_unref(req->msg);
	free(req);
}

/* Hands the answer to the requester (if it still waits) and forgets req. */
static void bus_answer(struct ucs_request *req, int status, struct ucs_msg *reply)
{
	struct ucs_pending *p = req->pending;

	if (p) {
		p->req = NULL;
		p->status = status;
		p->reply_queued = true;
		uv_timer_stop(&p->timer);
		req->pending = NULL;
		bus_ring_push(BUS_REPLY, reply, p);
	} else {
		bus_unref(reply);
	}
}

static int bus_reply(struct ucs_request *req, int status, struct ucs_msg *reply)
{
	if (!req) {
		bus_unref(reply);
		return -EINVAL;
	}
	if (req->revoked) { /* the host answered already; the ring still holds it */
		bus_unref(reply);
		return -ESHUTDOWN;
	}
	bool waited = req->pending != NULL;

	bus_answer(req, status > 0 ? -EINVAL : status, reply);
	bus_request_free(req);
	return waited ? 0 : -ETIMEDOUT;
}

static void bus_request_revoke(struct core_res *res)
{
	struct ucs_request *req = CORE_CONTAINER_OF(res, struct ucs_request, res);

	if (req->queued) {
		bus_answer(req, -ESHUTDOWN, NULL);
		core_ledger_remove(&req->res);
		req->revoked = true;
		return;
	}
	bus_answer(req, -ESHUTDOWN, NULL);
	bus_request_free(req);
}

static void bus_deliver_request(struct ucs_request *req)
{
	struct ucs_server *server = req->msg->type->topic->server;

	req->queued = false;
	if (req->revoked) {
		bus_unref(req->msg);
		free(req);
		return;
	}
	if (!req->pending) { /* the requester gave up before delivery */
		bus_request_free(req);
		return;
	}
	if (!server) {
		bus_answer(req, -ESHUTDOWN, NULL);
		bus_request_free(req);
		return;
	}
	/* hand the request over to the serving plugin's ledger */
	core_ledger_remove(&req->res);
	core_ledger_add(server->res.owner, &req->res, "request", bus_request_revoke);
	server->h(req, req->msg, server->arg);
}

static void bus_deliver_reply(struct ucs_pending *p, struct ucs_msg *msg)
{
	bool call = !p->cancelled;

	/* marked first: a handler that cancels its own request must be a no-op */
	p->cancelled = true;
	if (call)
		p->h(p->status, msg, p->arg);
	bus_unref(msg);
	bus_pending_free(p);
}

static void bus_pending_timeout(uv_timer_t *timer)
{
	struct ucs_pending *p = CORE_CONTAINER_OF(timer, struct ucs_pending, timer);

	if (p->req)
		p->req->pending = NULL;
	p->req = NULL;
	core_log(core_plugin_name(p->requester), UCS_LOG_DEBUG, "request timed out");
	p->cancelled = true;
	p->h(-ETIMEDOUT, NULL, p->arg);
	bus_pending_free(p);
}

static void bus_request_cancel(struct ucs_pending *p)
{
	if (!p || p->cancelled)
		return;
	if (p->req)
		p->req->pending = NULL;
	p->req = NULL;
	p->cancelled = true;
	if (p->reply_queued) { /* freed when the ring reaches the reply */
		core_ledger_remove(&p->res);
		return;
	}
	bus_pending_free(p);
}

static void bus_pending_revoke(struct core_res *res)
{
	bus_request_cancel(CORE_CONTAINER_OF(res, struct ucs_pending, res));
}

static int bus_request(struct ucs_plugin *self, struct ucs_pending **out, struct ucs_msg *msg,
		       uint32_t timeout_ms, ucs_reply_h *h, void *arg)
{
	struct ucs_server *server;
	struct ucs_request *req;
	struct ucs_pending *p;
	int err;

	if (!h) {
		bus_unref(msg);
		return -EINVAL;
	}
	err = bus_check_publish(self, msg);
	if (err)
		return err;
	server = msg->type->topic->server;
	if (!server) {
		core_log(core_plugin_name(self), UCS_LOG_WARNING,
			 "request '%s': no plugin serves this request type", msg->type->name);
		bus_unref(msg);
		return -ENOENT;
	}
	p = core_alloc(sizeof(*p));
	p->requester = self ? self : core_self();
	p->h = h;
	p->arg = arg;
	uv_timer_init(core_loop(), &p->timer);
	uv_timer_start(&p->timer, bus_pending_timeout,
		       timeout_ms ? timeout_ms : BUS_REQUEST_TIMEOUT_DEFAULT, 0);
	core_ledger_add(self, &p->res, "pending request", bus_pending_revoke);

	req = core_alloc(sizeof(*req));
	req->pending = p;
	req->msg = msg;
	req->queued = true;
	msg->seq = bus.next_seq++;
	p->req = req;
	/* until delivery the request belongs to the server's plugin */
	core_ledger_add(server->res.owner, &req->res, "request", bus_request_revoke);
	bus_ring_push(BUS_REQUEST, msg, req);
	if (out)
		*out = p;
	return 0;
}

static void bus_unserve(struct ucs_server *server)
{
	if (!server)
		return;
	if (server->topic->server == server)
		server->topic->server = NULL;
	core_ledger_remove(&server->res);
	free(server);
}

static void bus_server_revoke(struct core_res *res)
{
	bus_unserve(CORE_CONTAINER_OF(res, struct ucs_server, res));
}

static int bus_serve(struct ucs_plugin *self, struct ucs_server **out, const char *type_name,
		     ucs_serve_h *h, void *arg)
{
	struct bus_topic *t;
	struct ucs_server *server;

	if (!out || !h || !bus_name_valid(type_name))
		return -EINVAL;
	t = bus_topic_get(type_name, true);
	if (t->server) {
		core_log(core_plugin_name(self), UCS_LOG_ERROR,
			 "request type '%s' is served already by plugin '%s'", type_name,
			 core_plugin_name(t->server->res.owner));
		return -EEXIST;
	}
	server = core_alloc(sizeof(*server));
	server->topic = t;
	server->h = h;
	server->arg = arg;
	t->server = server;
	core_ledger_add(self, &server->res, "request server", bus_server_revoke);
	*out = server;
	return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

int core_bus_init(void)
{
	int err;

	if (bus.ready)
		return 0;
	core_strmap_init(&bus.topics);
	core_strmap_init(&bus.prefix_keyed);
	core_mpsc_init(&bus.posted);
	err = uv_idle_init(core_loop(), &bus.idle);
	if (!err)
		err = uv_async_init(core_loop(), &bus.async, bus_async_cb);
	if (err)
		return err;
	/* The async handle is always active and must not keep the loop alive
	 * by itself; the idle handle is active only while deliveries wait, and
	 * then it should. */
	uv_unref((uv_handle_t *)&bus.async);
	bus.ready = true;
	return 0;
}

static void bus_free_keyed(const char *key, void *value, void *arg)
{
	struct bus_keyed *k = value;

	(void)key;
	(void)arg;
	while (k->list.head) {
		struct ucs_sub *s = k->list.head;

		k->list.head = s->next;
		core_ledger_remove(&s->res);
		free(s->pattern);
		free(s);
	}
	free(k->key);
	free(k);
}

static void bus_free_list(struct bus_sub_list *l)
{
	while (l->head) {
		struct ucs_sub *s = l->head;

		l->head = s->next;
		core_ledger_remove(&s->res);
		free(s->pattern);
		free(s);
	}
	l->tail = NULL;
}

static void bus_free_topic(const char *key, void *value, void *arg)
{
	struct bus_topic *t = value;

	(void)key;
	(void)arg;
	bus_free_list(&t->unkeyed);
	core_strmap_each(&t->keyed, bus_free_keyed, NULL);
	core_strmap_clear(&t->keyed);
	if (t->type) {
		core_ledger_remove(&t->type->res);
		free(t->type);
	}
	if (t->server) {
		core_ledger_remove(&t->server->res);
		free(t->server);
	}
	free(t->name);
	free(t);
}

void core_bus_shutdown(void)
{
	struct core_mpsc_node *node;
	struct bus_item it;

	if (!bus.ready)
		return;
	while ((node = core_mpsc_pop(&bus.posted)) != NULL)
		bus_unref((struct ucs_msg *)node);
	while (bus_ring_pop(&it)) {
		if (it.kind == BUS_REQUEST) {
			struct ucs_request *req = it.ctx;

			req->queued = false;
			if (!req->revoked)
				core_ledger_remove(&req->res);
			bus_unref(req->msg);
			free(req);
		} else if (it.kind == BUS_REPLY) {
			bus_unref(it.msg);
			bus_pending_free(it.ctx); /* closes its timer; the caller drains the loop */
		} else {
			bus_unref(it.msg);
		}
	}
	free(bus.ring);
	bus.ring = NULL;
	bus.ring_cap = bus.ring_count = bus.ring_head = 0;
	bus_sweep();
	core_strmap_each(&bus.topics, bus_free_topic, NULL);
	core_strmap_clear(&bus.topics);
	bus_free_list(&bus.prefix_unkeyed);
	core_strmap_each(&bus.prefix_keyed, bus_free_keyed, NULL);
	core_strmap_clear(&bus.prefix_keyed);
	while (bus.retired) {
		struct ucs_msg_type *t = bus.retired;

		bus.retired = t->retired_next;
		free(t);
	}
	uv_close((uv_handle_t *)&bus.idle, NULL);
	uv_close((uv_handle_t *)&bus.async, NULL);
	bus.ready = false;
}

const struct ucs_bus_api core_bus_api = {
	.size = sizeof(struct ucs_bus_api),
	.type_register = bus_type_register,
	.type_find = bus_type_find,
	.type_name = bus_type_name,
	.type_version = bus_type_version,
	.msg_new = bus_msg_new,
	.msg_ref = bus_msg_ref,
	.msg_unref = bus_unref,
	.msg_type = bus_msg_type,
	.msg_payload = bus_msg_payload,
	.msg_key = bus_msg_key,
	.msg_to_json = bus_msg_to_json,
	.publish = bus_publish,
	.publish_sync = bus_publish_sync,
	.post = bus_post,
	.subscribe = bus_subscribe,
	.unsubscribe = bus_unsubscribe,
	.serve = bus_serve,
	.unserve = bus_unserve,
	.request = bus_request,
	.request_cancel = bus_request_cancel,
	.reply = bus_reply,
};
