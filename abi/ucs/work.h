/*
 * ucs/work.h - blocking work off the loop thread.
 *
 * No plugin callback may hold the loop for more than a millisecond: one slow
 * LDAP search would freeze every phone line and client. Work that blocks
 * (a directory query, SQLite maintenance, rendering a large mail template)
 * runs in the host's thread pool: work(arg) on a pool thread, then
 * done(status, arg) back on the loop thread, where status is 0, or
 * -ECANCELED when the job was cancelled before it ran. work() must not call
 * the host, except the bus functions documented as thread-safe (msg_new,
 * msg_ref, msg_unref, post).
 *
 * The job handle is valid until done() has been called; do not cancel it
 * afterwards.
 *
 * When the plugin stops, like every other callback, done() is no longer
 * called: queued jobs are dropped and running ones finish unseen, so free
 * per-job memory in stop() or fini(), not only in done(). The host waits
 * (up to 5 seconds) for running jobs before it calls fini(); a plugin whose
 * job runs longer is never finalised nor unloaded, and the log says so.
 */
#ifndef UCS_WORK_H
#define UCS_WORK_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_work;
typedef void(ucs_work_fn)(void *arg);
typedef void(ucs_work_done_h)(int status, void *arg);

struct ucs_work_api {
	uint32_t size;
	/* out may be NULL when the caller never cancels. */
	int (*queue)(struct ucs_plugin *self, struct ucs_work **out, ucs_work_fn *work,
		     ucs_work_done_h *done, void *arg);
	/* Cancels a job that has not started; done() then reports -ECANCELED.
	 * A running job finishes and reports its status. */
	int (*cancel)(struct ucs_work *work);
};

#ifdef __cplusplus
}
#endif

#endif
