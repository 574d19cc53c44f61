/*
 * tests/unit/core/test_timer.c - timers and thread-pool work: one-shot,
 * repeat, close from inside the callback, once(), revocation with the
 * plugin (no callback afterwards), work completion, cancellation, and a
 * running job orphaned by its plugin's stop.
 */
#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "core.h"
#include "log.h"
#include "timer.h"

static const struct ucs_timer_api *tm = &core_timer_api;
static const struct ucs_work_api *wk = &core_work_api;

static int repeat_calls, once_calls, revoked_calls;

static void on_repeat(struct ucs_timer *t, void *arg)
{
	(void)arg;
	if (++repeat_calls == 3)
		tm->close(t); /* closing from its own callback is allowed */
}

static void on_once(void *arg)
{
	(void)arg;
	once_calls++;
}

static void on_revoked(struct ucs_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	revoked_calls++;
}

static void on_revoked_once(void *arg)
{
	(void)arg;
	revoked_calls++;
}

static void test_timers(void)
{
	struct ucs_plugin owner = {.name = "owner"};
	struct ucs_timer *t, *r;
	uint64_t t0 = tm->now_ms();

	core_ledger_init(&owner);
	CHECK_INT(tm->open(NULL, &t, on_repeat, NULL), ==, 0);
	CHECK(!tm->active(t));
	CHECK_INT(tm->start(t, 10, 10), ==, 0);
	CHECK(tm->active(t));
	CHECK_INT(tm->once(NULL, 5, on_once, NULL), ==, 0);

	/* everything of owner is revoked before it fires */
	CHECK_INT(tm->open(&owner, &r, on_revoked, NULL), ==, 0);
	tm->start(r, 1, 1);
	tm->once(&owner, 1, on_revoked_once, NULL);
	CHECK_INT(owner.ledger_count, ==, 2);
	CHECK_INT(core_ledger_revoke_all(&owner), ==, 2);

	uv_run(core_loop(), UV_RUN_DEFAULT); /* ends when no timer is left */
	CHECK_INT(repeat_calls, ==, 3);
	CHECK_INT(once_calls, ==, 1);
	CHECK_INT(revoked_calls, ==, 0);
	CHECK(tm->now_ms() - t0 >= 30);
	CHECK_INT(core_self()->ledger_count, ==, 0);
}

static atomic_int work_ran;
static int done_calls, done_status = 1;

static void job(void *arg)
{
	(void)arg;
	usleep(20000);
	atomic_fetch_add(&work_ran, 1);
}

static void on_done(int status, void *arg)
{
	(void)arg;
	done_calls++;
	done_status = status;
}

static void test_work(void)
{
	struct ucs_plugin owner = {.name = "worker"};
	struct ucs_work *w;

	core_ledger_init(&owner);
	CHECK_INT(wk->queue(NULL, &w, job, on_done, NULL), ==, 0);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(atomic_load(&work_ran), ==, 1);
	CHECK_INT(done_calls, ==, 1);
	CHECK_INT(done_status, ==, 0);

	/* fill the pool (4 threads by default) so the fifth job is still queued */
	for (int i = 0; i < 4; i++)
		wk->queue(NULL, NULL, job, on_done, NULL);
	CHECK_INT(wk->queue(NULL, &w, job, on_done, NULL), ==, 0);
	CHECK_INT(wk->cancel(w), ==, 0);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(done_calls, ==, 6);
	CHECK_INT(done_status == 0 || done_status == -ECANCELED, !=, 0);
	CHECK_INT(atomic_load(&work_ran), ==, 5);

	/* a job orphaned by its plugin: no done(), but the host knows it runs */
	done_calls = 0;
	CHECK_INT(wk->queue(&owner, NULL, job, on_done, NULL), ==, 0);
	usleep(5000); /* let a pool thread pick it up */
	core_ledger_revoke_all(&owner);
	CHECK_INT(core_work_inflight(&owner) <= 1, ==, 1);
	uv_run(core_loop(), UV_RUN_DEFAULT);
	CHECK_INT(core_work_inflight(&owner), ==, 0);
	CHECK_INT(done_calls, ==, 0);
}

int main(void)
{
	core_log_init();
	test_timers();
	test_work();
	core_loop_drain(4);
	CHECK_INT(uv_loop_close(core_loop()), ==, 0);
	return check_report();
}
