/*
 * core/timer.c - plugin timers on libuv.
 *
 * A uv_timer_t can only be freed after its close callback ran, one loop
 * iteration later. So close() and revocation detach the timer from its
 * plugin at once (no callback will reach the plugin any more) and the memory
 * goes when libuv says so.
 */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "timer.h"

struct ucs_timer {
	struct core_res res;
	uv_timer_t uv;
	ucs_timer_h *h;
	ucs_once_h *once_h; /* set for once() timers */
	void *arg;
	bool closing;
};

static void timer_closed(uv_handle_t *h)
{
	free(CORE_CONTAINER_OF(h, struct ucs_timer, uv));
}

static void timer_close(struct ucs_timer *t)
{
	if (!t || t->closing)
		return;
	t->closing = true;
	core_ledger_remove(&t->res);
	uv_close((uv_handle_t *)&t->uv, timer_closed);
}

static void timer_revoke(struct core_res *res)
{
	timer_close(CORE_CONTAINER_OF(res, struct ucs_timer, res));
}

static void timer_fire(uv_timer_t *uv)
{
	struct ucs_timer *t = CORE_CONTAINER_OF(uv, struct ucs_timer, uv);

	if (t->once_h) {
		ucs_once_h *h = t->once_h;
		void *arg = t->arg;

		timer_close(t);
		h(arg);
		return;
	}
	t->h(t, t->arg);
}

static struct ucs_timer *timer_new(struct ucs_plugin *self)
{
	struct ucs_timer *t = core_alloc(sizeof(*t));

	uv_timer_init(core_loop(), &t->uv);
	core_ledger_add(self, &t->res, "timer", timer_revoke);
	return t;
}

static int timer_open(struct ucs_plugin *self, struct ucs_timer **out, ucs_timer_h *h, void *arg)
{
	struct ucs_timer *t;

	if (!out || !h)
		return -EINVAL;
	t = timer_new(self);
	t->h = h;
	t->arg = arg;
	*out = t;
	return 0;
}

static int timer_start(struct ucs_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
	if (!t || t->closing)
		return -EINVAL;
	return uv_timer_start(&t->uv, timer_fire, timeout_ms, repeat_ms);
}

static void timer_stop(struct ucs_timer *t)
{
	if (t && !t->closing)
		uv_timer_stop(&t->uv);
}

static int timer_active(const struct ucs_timer *t)
{
	return t && !t->closing && uv_is_active((const uv_handle_t *)&t->uv);
}

static int timer_once(struct ucs_plugin *self, uint64_t timeout_ms, ucs_once_h *h, void *arg)
{
	struct ucs_timer *t;

	if (!h)
		return -EINVAL;
	t = timer_new(self);
	t->once_h = h;
	t->arg = arg;
	return uv_timer_start(&t->uv, timer_fire, timeout_ms, 0);
}

static uint64_t timer_now_ms(void)
{
	return uv_now(core_loop());
}

const struct ucs_timer_api core_timer_api = {
	.size = sizeof(struct ucs_timer_api),
	.open = timer_open,
	.start = timer_start,
	.stop = timer_stop,
	.active = timer_active,
	.close = timer_close,
	.once = timer_once,
	.now_ms = timer_now_ms,
};
