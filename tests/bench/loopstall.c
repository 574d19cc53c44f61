/*
 * tests/bench/loopstall.c - a bench-only plugin: how long ucsd's loop is
 * held by everything else (DESIGN section 6: no callback may block the
 * loop for more than about 1 ms).
 *
 * A repeating timer asks for a tick every `tick_ms`; the loop runs it when
 * it gets round to it, so the time between two ticks beyond tick_ms is the
 * time the loop was busy with other work (a stall). Once per `report_s`
 * it logs the worst stall of that period at info:
 *   "period worst X.XXX ms, ticks N"
 * and at stop the worst stall of the whole run:
 *   "worst stall X.XXX ms over N ticks"
 * tests/bench/run-cti.sh takes the period lines of its measurement window.
 *
 * Configuration (section "loopstall"): "tick_ms" (1..100, default 5),
 * "report_s" (1..60, default 1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ucs/ucs.h>

struct loopstall {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct ucs_timer *tick;
	int64_t tick_ms, report_s;
	uint64_t last_ns, period_start_ns;
	uint64_t period_worst_ns, worst_ns, period_ticks, ticks;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ls_on_tick(struct ucs_timer *t, void *arg)
{
	struct loopstall *l = arg;
	uint64_t now = mono_ns(), want = (uint64_t)l->tick_ms * 1000000u;
	uint64_t gap = now - l->last_ns, stall = gap > want ? gap - want : 0;

	(void)t;
	l->last_ns = now;
	l->ticks++;
	l->period_ticks++;
	if (stall > l->period_worst_ns)
		l->period_worst_ns = stall;
	if (stall > l->worst_ns)
		l->worst_ns = stall;
	if (now - l->period_start_ns >= (uint64_t)l->report_s * 1000000000u) {
		l->host->log->log(l->self, UCS_LOG_INFO, "period worst %.3f ms, ticks %llu",
				  (double)l->period_worst_ns / 1e6,
				  (unsigned long long)l->period_ticks);
		l->period_start_ns = now;
		l->period_worst_ns = 0;
		l->period_ticks = 0;
	}
}

static int ls_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct loopstall *l = calloc(1, sizeof(*l));
	const struct ucs_cfg *sec = host->cfg->section(self);
	int err;

	if (!l)
		return -ENOMEM;
	l->self = self;
	l->host = host;
	host->cfg->get_int(sec, "tick_ms", &l->tick_ms);
	host->cfg->get_int(sec, "report_s", &l->report_s);
	err = host->timer->open(self, &l->tick, ls_on_tick, l);
	if (err) {
		free(l);
		return err;
	}
	*state = l;
	return 0;
}

static int ls_start(void *state)
{
	struct loopstall *l = state;

	l->last_ns = l->period_start_ns = mono_ns();
	return l->host->timer->start(l->tick, (uint64_t)l->tick_ms, (uint64_t)l->tick_ms);
}

static void ls_stop(void *state)
{
	struct loopstall *l = state;

	l->host->timer->close(l->tick);
	l->tick = NULL;
	l->host->log->log(l->self, UCS_LOG_INFO, "worst stall %.3f ms over %llu ticks",
			  (double)l->worst_ns / 1e6, (unsigned long long)l->ticks);
}

static void ls_fini(void *state)
{
	free(state);
}

static const struct ucs_cfg_key ls_keys[] = {
	UCS_CFG_INT_KEY("tick_ms", "5", 1, 100, "period of the probing timer"),
	UCS_CFG_INT_KEY("report_s", "1", 1, 60, "seconds between the period lines"),
	UCS_CFG_END,
};

static const struct ucs_plugin_desc ls_desc = {
	UCS_PLUGIN_HEADER,
	.name = "loopstall",
	.version = "1.0.0",
	.license = "MIT",
	.description = "bench only: the loop's worst stall, seen from a timer",
	.config = ls_keys,
	.init = ls_init,
	.start = ls_start,
	.stop = ls_stop,
	.fini = ls_fini,
};

UCS_PLUGIN_DEFINE(ls_desc)
