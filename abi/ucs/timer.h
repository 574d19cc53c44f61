/*
 * ucs/timer.h - timers on the server's loop.
 *
 * All plugin code runs on one loop thread; a timer callback is just another
 * callback on it and must not block. Two kinds of timer:
 *
 *  - A handle (open/start/stop/close) for timers a plugin restarts, repeats
 *    or cancels: a keep-alive, an idle timeout, a retry with back-off. The
 *    handle stays valid until close(), whether it fired or not, so cancelling
 *    is always safe. close() may be called from the timer's own callback.
 *  - once(): fire-and-forget, freed by the host after it fired. It returns no
 *    handle, so it cannot be cancelled - except that every timer of a plugin,
 *    of either kind, is revoked when the plugin stops.
 *
 * Times are milliseconds on a monotonic clock; now_ms() is the loop's cached
 * time, updated once per loop iteration.
 */
#ifndef UCS_TIMER_H
#define UCS_TIMER_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_timer;
typedef void(ucs_timer_h)(struct ucs_timer *timer, void *arg);
typedef void(ucs_once_h)(void *arg);

struct ucs_timer_api {
	uint32_t size;
	/* Creates a stopped timer that will call h(timer, arg). */
	int (*open)(struct ucs_plugin *self, struct ucs_timer **out, ucs_timer_h *h, void *arg);
	/* (Re)arms: first expiry after timeout_ms, then every repeat_ms (0: once). */
	int (*start)(struct ucs_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms);
	void (*stop)(struct ucs_timer *timer);
	int (*active)(const struct ucs_timer *timer);
	/* Stops and frees; NULL is ignored. */
	void (*close)(struct ucs_timer *timer);
	/* Fire-and-forget one-shot. */
	int (*once)(struct ucs_plugin *self, uint64_t timeout_ms, ucs_once_h *h, void *arg);
	uint64_t (*now_ms)(void);
};

#ifdef __cplusplus
}
#endif

#endif
