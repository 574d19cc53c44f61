/*
 * tests/unit/core/test_bus.c - the message bus: ordering, exact/prefix/keyed
 * routing, cursor-safe (un)subscription during dispatch, publish_sync,
 * cross-thread post under contention, request/reply with every ending, and
 * reference counting (the ASan run catches a wrong count).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "check.h"
#include "core.h"
#include "log.h"

static const struct ucs_bus_api *bus = &core_bus_api;

struct num {
	uint32_t thread;
	uint32_t seq;
};

static int num_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct num *n = payload;

	(void)len;
	return snprintf(buf, cap, "{\"thread\":%u,\"seq\":%u}", n->thread, n->seq);
}

static const struct ucs_msg_type *reg(struct ucs_plugin *owner, const char *name, size_t size)
{
	struct ucs_msg_type_desc d = {
		.size = sizeof(d),
		.name = name,
		.version = 1,
		.payload_size = size,
		.to_json = num_to_json,
	};
	const struct ucs_msg_type *t = NULL;

	CHECK_INT(bus->type_register(owner, &d, &t), ==, 0);
	return t;
}

static int publish_num(const struct ucs_msg_type *t, const char *key, uint32_t seq)
{
	struct num n = {0, seq};
	struct ucs_msg *m;
	int err = bus->msg_new(t, key, &n, sizeof(n), &m);

	return err ? err : bus->publish(NULL, m);
}

/* ---- ordering ---- */

static uint32_t order_next, order_bad;

static void on_order(const struct ucs_msg *m, void *arg)
{
	const struct num *n = bus->msg_payload(m, NULL);

	(void)arg;
	if (n->seq != order_next)
		order_bad++;
	order_next++;
}

static void test_ordering(void)
{
	const struct ucs_msg_type *t = reg(NULL, "test.order", sizeof(struct num));
	struct ucs_sub *s;

	CHECK_INT(bus->subscribe(NULL, &s, "test.order", UCS_SUB_EXACT, NULL, on_order, NULL), ==,
		  0);
	for (uint32_t i = 0; i < 10000; i++)
		publish_num(t, NULL, i);
	CHECK_INT(order_next, ==, 0); /* queued, not yet delivered */
	uv_run(core_loop(), UV_RUN_NOWAIT);
	core_bus_flush();
	CHECK_INT(order_next, ==, 10000);
	CHECK_INT(order_bad, ==, 0);
	bus->unsubscribe(s);
}

/* ---- routing ---- */

static char route_log[256];

static void on_route(const struct ucs_msg *m, void *arg)
{
	(void)m;
	strncat(route_log, (const char *)arg, sizeof(route_log) - strlen(route_log) - 1);
}

static void test_routing(void)
{
	const struct ucs_msg_type *ab = reg(NULL, "route.a.b", sizeof(struct num));
	const struct ucs_msg_type *xy = reg(NULL, "route.x.y", sizeof(struct num));
	struct ucs_sub *s[5];

	bus->subscribe(NULL, &s[0], "route.a.b", UCS_SUB_EXACT, NULL, on_route, "A");
	bus->subscribe(NULL, &s[1], "route.a.", UCS_SUB_PREFIX, NULL, on_route, "B");
	bus->subscribe(NULL, &s[2], "route.a.b", UCS_SUB_EXACT, "k1", on_route, "C");
	bus->subscribe(NULL, &s[3], "route.a.", UCS_SUB_PREFIX, "k2", on_route, "D");
	bus->subscribe(NULL, &s[4], "route.", UCS_SUB_PREFIX, NULL, on_route, "E");

	publish_num(ab, "k1", 0);
	core_bus_flush();
	CHECK_STR(route_log, "ACBE");
	route_log[0] = 0;
	publish_num(ab, "k2", 0);
	core_bus_flush();
	CHECK_STR(route_log, "ABED");
	route_log[0] = 0;
	publish_num(ab, NULL, 0);
	core_bus_flush();
	CHECK_STR(route_log, "ABE");
	route_log[0] = 0;
	publish_num(xy, "k1", 0);
	core_bus_flush();
	CHECK_STR(route_log, "E");
	route_log[0] = 0;
	publish_num(ab, "k3", 0);
	core_bus_flush();
	CHECK_STR(route_log, "ABE");
	for (int i = 0; i < 5; i++)
		bus->unsubscribe(s[i]);
	route_log[0] = 0;
	publish_num(ab, "k1", 0);
	core_bus_flush();
	CHECK_STR(route_log, "");
}

/* ---- cursor safety ---- */

static struct ucs_sub *cs_subs[4];
static int cs_calls[4];
static struct ucs_sub *cs_late;
static int cs_late_calls;

static void on_late(const struct ucs_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	cs_late_calls++;
}

static void on_cursor(const struct ucs_msg *m, void *arg)
{
	int i = (int)(intptr_t)arg;

	(void)m;
	cs_calls[i]++;
	if (i == 0) { /* unsubscribe itself and the next one */
		bus->unsubscribe(cs_subs[0]);
		bus->unsubscribe(cs_subs[1]);
		cs_subs[0] = cs_subs[1] = NULL;
		/* a subscription made now must not see this message */
		bus->subscribe(NULL, &cs_late, "cursor.t", UCS_SUB_EXACT, NULL, on_late, NULL);
	}
	if (i == 2) /* unsubscribe the last one, which comes later in this dispatch */
	{
		bus->unsubscribe(cs_subs[3]);
		cs_subs[3] = NULL;
	}
}

static void test_cursor(void)
{
	const struct ucs_msg_type *t = reg(NULL, "cursor.t", sizeof(struct num));

	for (int i = 0; i < 4; i++)
		bus->subscribe(NULL, &cs_subs[i], "cursor.t", UCS_SUB_EXACT, NULL, on_cursor,
			       (void *)(intptr_t)i);
	publish_num(t, NULL, 1);
	core_bus_flush();
	CHECK_INT(cs_calls[0], ==, 1);
	CHECK_INT(cs_calls[1], ==, 0);
	CHECK_INT(cs_calls[2], ==, 1);
	CHECK_INT(cs_calls[3], ==, 0);
	CHECK_INT(cs_late_calls, ==, 0);
	publish_num(t, NULL, 2);
	core_bus_flush();
	CHECK_INT(cs_calls[0], ==, 1);
	CHECK_INT(cs_calls[2], ==, 2);
	CHECK_INT(cs_late_calls, ==, 1);
	bus->unsubscribe(cs_subs[2]);
	bus->unsubscribe(cs_late);
}

/* ---- publish_sync and nested publish ---- */

static int sync_calls;

static void on_sync(const struct ucs_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	sync_calls++;
}

static void test_publish_sync(void)
{
	const struct ucs_msg_type *t = reg(NULL, "sync.t", sizeof(struct num));
	struct ucs_sub *s;
	struct ucs_msg *m;
	struct num n = {0, 0};

	bus->subscribe(NULL, &s, "sync.t", UCS_SUB_EXACT, NULL, on_sync, NULL);
	bus->msg_new(t, NULL, &n, sizeof(n), &m);
	CHECK_INT(bus->publish_sync(NULL, m), ==, 0);
	CHECK_INT(sync_calls, ==, 1);
	bus->unsubscribe(s);
}

/* ---- references ---- */

static const struct ucs_msg *kept;

static void on_keep(const struct ucs_msg *m, void *arg)
{
	(void)arg;
	kept = bus->msg_ref(m);
}

static void test_refcount(void)
{
	const struct ucs_msg_type *t = reg(NULL, "ref.t", 0);
	struct ucs_sub *s;
	struct ucs_msg *m;
	char json[64];
	size_t len = 0;

	bus->subscribe(NULL, &s, "ref.t", UCS_SUB_EXACT, NULL, on_keep, NULL);
	CHECK_INT(bus->msg_new(t, "line:111", "variable payload", 17, &m), ==, 0);
	bus->publish(NULL, m);
	core_bus_flush();
	CHECK(kept != NULL);
	/* still readable after delivery because the subscriber holds a reference */
	CHECK_STR(bus->msg_payload(kept, &len), "variable payload");
	CHECK_INT(len, ==, 17);
	CHECK_STR(bus->msg_key(kept), "line:111");
	CHECK_STR(bus->type_name(bus->msg_type(kept)), "ref.t");
	bus->msg_unref(kept);
	bus->unsubscribe(s);

	/* to_json goes through the type's formatter */
	{
		const struct ucs_msg_type *nt = bus->type_find("order.none", 0);
		struct num n = {3, 4};

		CHECK(nt == NULL);
		CHECK(bus->type_find("test.order", 2) == NULL);
		nt = bus->type_find("test.order", 1);
		CHECK(nt != NULL);
		bus->msg_new(nt, NULL, &n, sizeof(n), &m);
		CHECK_INT(bus->msg_to_json(m, json, sizeof(json)), ==, 20);
		CHECK_STR(json, "{\"thread\":3,\"seq\":4}");
		bus->msg_unref(m);
	}
}

/* ---- argument and type checks ---- */

static void test_errors(void)
{
	struct ucs_plugin owner = {.name = "owner"};
	const struct ucs_msg_type *t = reg(NULL, "err.t", sizeof(struct num)), *t2;
	struct ucs_msg_type_desc d = {.size = sizeof(d), .name = "err.t", .payload_size = 4};
	struct ucs_msg *m;
	struct ucs_sub *s;
	char big[2000];

	CHECK_INT(bus->type_register(NULL, &d, &t2), ==, -EEXIST);
	d.name = "Bad Name";
	CHECK_INT(bus->type_register(NULL, &d, &t2), ==, -EINVAL);
	CHECK_INT(bus->msg_new(t, NULL, "abc", 3, &m), ==, -EINVAL); /* wrong size */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_INT(bus->msg_new(t, big, &(struct num){0, 0}, sizeof(struct num), &m), ==, -EINVAL);
	CHECK_INT(bus->subscribe(NULL, &s, "Bad Name", UCS_SUB_EXACT, NULL, on_sync, NULL), ==,
		  -EINVAL);

	/* a type withdrawn with its plugin: publishing it fails cleanly */
	core_ledger_init(&owner);
	d.name = "err.owned";
	CHECK_INT(bus->type_register(&owner, &d, &t2), ==, 0);
	CHECK_INT(bus->msg_new(t2, NULL, "abcd", 4, &m), ==, 0);
	CHECK_INT(core_ledger_revoke_all(&owner), ==, 1);
	CHECK_INT(bus->publish(NULL, m), ==, -ESHUTDOWN);
	/* and the name can be registered again */
	CHECK_INT(bus->type_register(NULL, &d, &t2), ==, 0);

	/* a kept message of a withdrawn type no longer calls the stopped
	 * plugin's formatter */
	{
		struct ucs_msg_type_desc jd = {.size = sizeof(jd), .name = "err.json",
					       .payload_size = sizeof(struct num),
					       .to_json = num_to_json};
		const struct ucs_msg_type *jt;
		char json[64];

		core_ledger_init(&owner);
		CHECK_INT(bus->type_register(&owner, &jd, &jt), ==, 0);
		CHECK_INT(bus->msg_new(jt, NULL, &(struct num){1, 2}, sizeof(struct num), &m), ==, 0);
		CHECK_INT(bus->msg_to_json(m, json, sizeof(json)), >, 0);
		core_ledger_revoke_all(&owner);
		CHECK_INT(bus->msg_to_json(m, json, sizeof(json)), ==, -ENOTSUP);
		bus->msg_unref(m);
	}
}

/* ---- cross-thread post ---- */

#define POST_THREADS	4
#define POST_PER_THREAD 100000

static const struct ucs_msg_type *post_type;
static uint32_t post_next[POST_THREADS];
static uint32_t post_bad, post_total;

static void on_post(const struct ucs_msg *m, void *arg)
{
	const struct num *n = bus->msg_payload(m, NULL);

	(void)arg;
	if (n->thread >= POST_THREADS || n->seq != post_next[n->thread])
		post_bad++;
	else
		post_next[n->thread]++;
	if (++post_total == POST_THREADS * POST_PER_THREAD)
		uv_stop(core_loop());
}

static void *post_thread(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	for (uint32_t i = 0; i < POST_PER_THREAD; i++) {
		struct num n = {id, i};
		struct ucs_msg *m;

		if (bus->msg_new(post_type, NULL, &n, sizeof(n), &m) == 0)
			bus->post(NULL, m);
	}
	return NULL;
}

static void on_post_timeout(uv_timer_t *t)
{
	(void)t;
	uv_stop(core_loop());
}

static void test_post(void)
{
	pthread_t th[POST_THREADS];
	struct ucs_sub *s;
	uv_timer_t guard;

	post_type = reg(NULL, "post.t", sizeof(struct num));
	bus->subscribe(NULL, &s, "post.t", UCS_SUB_EXACT, NULL, on_post, NULL);
	uv_timer_init(core_loop(), &guard);
	uv_timer_start(&guard, on_post_timeout, 30000, 0);
	for (uintptr_t i = 0; i < POST_THREADS; i++)
		pthread_create(&th[i], NULL, post_thread, (void *)i);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	for (int i = 0; i < POST_THREADS; i++)
		pthread_join(th[i], NULL);
	core_bus_flush();
	CHECK_INT(post_total, ==, POST_THREADS * POST_PER_THREAD);
	CHECK_INT(post_bad, ==, 0);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(core_loop(), UV_RUN_NOWAIT);
	bus->unsubscribe(s);
}

/* ---- request / reply ---- */

struct rr {
	int calls;
	int status;
	char reply[32];
};

static struct ucs_request *held_req;
static const struct ucs_msg_type *rq_type, *rp_type;

static void on_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct rr *r = arg;

	r->calls++;
	r->status = status;
	r->reply[0] = 0;
	if (reply)
		snprintf(r->reply, sizeof(r->reply), "%s",
			 (const char *)bus->msg_payload(reply, NULL));
	uv_stop(core_loop());
}

static struct ucs_pending *self_cancel;

static void on_reply_cancels_itself(int status, const struct ucs_msg *reply, void *arg)
{
	(void)reply;
	*(int *)arg = status == -ETIMEDOUT ? 2 : 1;
	bus->request_cancel(self_cancel); /* must be harmless */
	uv_stop(core_loop());
}

static void on_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	const char *text = bus->msg_payload(msg, NULL);
	struct ucs_msg *reply;

	(void)arg;
	if (strcmp(text, "hold") == 0) { /* answer later (or never) */
		held_req = req;
		return;
	}
	bus->msg_new(rp_type, NULL, "pong", 5, &reply);
	bus->reply(req, 0, reply);
}

static int send_request(struct ucs_plugin *self, const char *text, uint32_t timeout, struct rr *r,
			struct ucs_pending **p)
{
	struct ucs_msg *m;

	bus->msg_new(rq_type, NULL, text, strlen(text) + 1, &m);
	return bus->request(self, p, m, timeout, on_reply, r);
}

static void test_request(void)
{
	struct ucs_plugin server_owner = {.name = "server"};
	struct ucs_server *srv;
	struct ucs_pending *p;
	struct rr r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0}, r5 = {0};

	rq_type = reg(NULL, "rq.ping", 0);
	rp_type = reg(NULL, "rq.pong", 0);
	core_ledger_init(&server_owner);

	/* nobody serves: immediate, clear error; the handler is not called */
	CHECK_INT(send_request(NULL, "ping", 1000, &r1, NULL), ==, -ENOENT);
	CHECK_INT(r1.calls, ==, 0);

	CHECK_INT(bus->serve(&server_owner, &srv, "rq.ping", on_serve, NULL), ==, 0);
	CHECK_INT(bus->serve(NULL, &srv, "rq.ping", on_serve, NULL), ==, -EEXIST);

	/* answered */
	CHECK_INT(send_request(NULL, "ping", 1000, &r1, NULL), ==, 0);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(r1.calls, ==, 1);
	CHECK_INT(r1.status, ==, 0);
	CHECK_STR(r1.reply, "pong");

	/* not answered in time */
	CHECK_INT(send_request(NULL, "hold", 50, &r2, NULL), ==, 0);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(r2.calls, ==, 1);
	CHECK_INT(r2.status, ==, -ETIMEDOUT);
	/* a late reply is harmless and says so */
	CHECK(held_req != NULL);
	CHECK_INT(bus->reply(held_req, 0, NULL), ==, -ETIMEDOUT);
	held_req = NULL;

	/* cancelled: no callback */
	CHECK_INT(send_request(NULL, "hold", 100, &r3, &p), ==, 0);
	core_bus_flush();
	bus->request_cancel(p);
	CHECK_INT(bus->reply(held_req, 0, NULL), ==, -ETIMEDOUT);
	held_req = NULL;
	CHECK_INT(r3.calls, ==, 0);

	/* the serving plugin stops while holding a request */
	CHECK_INT(send_request(NULL, "hold", 5000, &r4, NULL), ==, 0);
	core_bus_flush();
	CHECK(held_req != NULL);
	core_ledger_revoke_all(&server_owner); /* revokes server and held request */
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(r4.calls, ==, 1);
	CHECK_INT(r4.status, ==, -ESHUTDOWN);
	held_req = NULL;

	/* a handler that cancels its own (finished) request changes nothing */
	{
		struct ucs_msg *m;
		int got = 0;

		CHECK_INT(bus->serve(NULL, &srv, "rq.ping", on_serve, NULL), ==, 0);
		bus->msg_new(rq_type, NULL, "ping", 5, &m);
		CHECK_INT(bus->request(NULL, &self_cancel, m, 1000, on_reply_cancels_itself, &got),
			  ==, 0);
		uv_run(core_loop(), UV_RUN_DEFAULT);
		CHECK_INT(got, ==, 1);
		bus->msg_new(rq_type, NULL, "hold", 5, &m);
		CHECK_INT(bus->request(NULL, &self_cancel, m, 20, on_reply_cancels_itself, &got),
			  ==, 0);
		uv_run(core_loop(), UV_RUN_DEFAULT);
		CHECK_INT(got, ==, 2);
		bus->unserve(srv);
		CHECK_INT(bus->reply(held_req, 0, NULL), ==, -ETIMEDOUT);
		held_req = NULL;
	}

	/* after the server left, requests fail at once again */
	CHECK_INT(send_request(NULL, "ping", 1000, &r5, NULL), ==, -ENOENT);
	core_loop_drain(4);
}

/* ---- subscriptions revoked with their plugin ---- */

static void test_revoke(void)
{
	struct ucs_plugin owner = {.name = "sub-owner"};
	const struct ucs_msg_type *t = reg(NULL, "revoke.t", sizeof(struct num));
	struct ucs_sub *s;

	core_ledger_init(&owner);
	sync_calls = 0;
	bus->subscribe(&owner, &s, "revoke.t", UCS_SUB_EXACT, NULL, on_sync, NULL);
	bus->subscribe(&owner, &s, "revoke.", UCS_SUB_PREFIX, "key", on_sync, NULL);
	CHECK_INT(owner.ledger_count, ==, 2);
	publish_num(t, "key", 0);
	core_bus_flush();
	CHECK_INT(sync_calls, ==, 2);
	/* a message queued before the revocation is not delivered to it */
	publish_num(t, "key", 1);
	CHECK_INT(core_ledger_revoke_all(&owner), ==, 2);
	core_bus_flush();
	CHECK_INT(sync_calls, ==, 2);
}

int main(void)
{
	core_log_init();
	CHECK_INT(core_bus_init(), ==, 0);
	test_ordering();
	test_routing();
	test_cursor();
	test_publish_sync();
	test_refcount();
	test_errors();
	test_post();
	test_request();
	test_revoke();
	core_ledger_revoke_all(core_self());
	core_bus_shutdown();
	core_loop_drain(8);
	CHECK_INT(uv_loop_close(core_loop()), ==, 0);
	return check_report();
}
