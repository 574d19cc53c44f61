/*
 * core/work.c - blocking jobs in libuv's thread pool on behalf of plugins.
 *
 * A job cannot be stopped once a pool thread runs it. When its plugin is
 * revoked, a queued job is cancelled and a running one is orphaned: its
 * done() is not called, but the host must not finalise the plugin while the
 * job still runs plugin code, so every plugin record counts its orphans and
 * the loader waits for them to come back (core_work_inflight).
 */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "log.h"
#include "timer.h"

struct ucs_work {
	struct core_res res;
	uv_work_t uv;
	struct ucs_plugin *owner;
	ucs_work_fn *fn;
	ucs_work_done_h *done;
	void *arg;
	bool orphan;
};

static void work_run(uv_work_t *uv)
{
	struct ucs_work *w = CORE_CONTAINER_OF(uv, struct ucs_work, uv);

	w->fn(w->arg);
}

static void work_after(uv_work_t *uv, int status)
{
	struct ucs_work *w = CORE_CONTAINER_OF(uv, struct ucs_work, uv);

	if (w->orphan) {
		w->owner->work_inflight--;
	} else {
		core_ledger_remove(&w->res);
		w->done(status == UV_ECANCELED ? -ECANCELED : 0, w->arg);
	}
	free(w);
}

static void work_revoke(struct core_res *res)
{
	struct ucs_work *w = CORE_CONTAINER_OF(res, struct ucs_work, res);

	core_ledger_remove(res);
	w->orphan = true;
	w->owner->work_inflight++;
	uv_cancel((uv_req_t *)&w->uv); /* fails when running: it then finishes */
}

static int work_queue(struct ucs_plugin *self, struct ucs_work **out, ucs_work_fn *fn,
		      ucs_work_done_h *done, void *arg)
{
	struct ucs_work *w;
	int err;

	if (!fn || !done)
		return -EINVAL;
	w = core_alloc(sizeof(*w));
	w->owner = self ? self : core_self();
	w->fn = fn;
	w->done = done;
	w->arg = arg;
	err = uv_queue_work(core_loop(), &w->uv, work_run, work_after);
	if (err) {
		free(w);
		return err;
	}
	core_ledger_add(self, &w->res, "work", work_revoke);
	if (out)
		*out = w;
	return 0;
}

static int work_cancel(struct ucs_work *w)
{
	if (!w || w->orphan)
		return -EINVAL;
	return uv_cancel((uv_req_t *)&w->uv) == 0 ? 0 : -EBUSY;
}

unsigned core_work_inflight(const struct ucs_plugin *p)
{
	return p->work_inflight;
}

const struct ucs_work_api core_work_api = {
	.size = sizeof(struct ucs_work_api),
	.queue = work_queue,
	.cancel = work_cancel,
};
