/*
 * core/timer.h - timers and thread-pool work for plugins
 * (abi/ucs/timer.h, abi/ucs/work.h) on the libuv loop.
 */
#ifndef CORE_TIMER_H
#define CORE_TIMER_H

#include <ucs/timer.h>
#include <ucs/work.h>

struct ucs_plugin;

extern const struct ucs_timer_api core_timer_api;
extern const struct ucs_work_api core_work_api;

/* Jobs of this plugin that were running when it was revoked and have not
 * come back yet: the host waits for them before calling its fini(). */
unsigned core_work_inflight(const struct ucs_plugin *p);

#endif
