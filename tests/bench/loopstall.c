/*
 * tests/bench/loopstall.c - a bench-only plugin: how long ucsd's loop is
 * held by everything else (DESIGN section 6: no callback may block the
 * loop for more than about 1 ms).
 *
 * A repeating timer asks for a tick every `tick_ms`; the loop runs it when
 * it gets round to it, so the time between two ticks beyond tick_ms is the
 * time the loop was held (a stall). Once per `report_s` it logs the worst
 * stall of that period at info:
 *   "period worst X.XXX ms (gap G.GGG ms: on CPU Y.YYY ms, waiting for a CPU
 *    W.WWW ms, N involuntary switches), ticks N"
 * and at stop the worst stall of the whole run:
 *   "worst stall X.XXX ms (gap ...: the same) over N ticks"
 * tests/bench/run-cti.sh takes the period lines of its measurement window.
 *
 * A gap has two possible causes, and only one of them is ucsd's: the loop
 * thread ran other callbacks (it was on a CPU nearly all of the gap), or it
 * was runnable but the kernel ran something else (on a machine whose cores
 * are shared with the load generator, the PBX simulator and ucsd's own
 * worker threads). So each gap (the whole interval between two ticks,
 * tick_ms plus the stall) also measures the loop thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), the time it was runnable but waited for a CPU
 * (the run-queue time of /proc/thread-self/schedstat; also after a wake-up
 * from epoll) and its involuntary context switches (getrusage
 * RUSAGE_THREAD). A worst gap mostly spent waiting for a CPU is scheduling
 * delay, one mostly on a CPU is ucsd's own work holding the loop, and the
 * rest (neither) is the thread asleep: in epoll as it should be, or blocked
 * in a system call that should not block.
 *
 * Configuration (section "loopstall"): "tick_ms" (1..100, default 5),
 * "report_s" (1..60, default 1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <ucs/ucs.h>

/* What the loop thread did: absolute counters, or over one gap. */
struct usage {
	uint64_t gap_ns;  /* the gap itself (only for a gap) */
	uint64_t cpu_ns;  /* on a CPU */
	uint64_t wait_ns; /* runnable, waiting for a CPU */
	uint64_t nivcsw;  /* involuntary context switches */
};

struct loopstall {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct ucs_timer *tick;
	int64_t tick_ms, report_s;
	uint64_t last_ns, period_start_ns;
	uint64_t period_worst_ns, worst_ns, period_ticks, ticks;
	/* the loop thread's CPU time and involuntary switches at the last tick,
	 * and over the worst gap of the period and of the run */
	int schedstat_fd; /* the loop thread's /proc/thread-self/schedstat, -1 */
	int primed;	  /* `last` holds the loop thread's counters */
	struct usage last, period_worst, worst;
};

/* The calling (loop) thread's counters. */
static void thread_usage(struct loopstall *l, struct usage *u)
{
	struct timespec ts;
	struct rusage ru;
	char buf[128];
	unsigned long long run = 0, wait = 0;
	ssize_t n;

	u->gap_ns = 0;
	u->cpu_ns = 0;
	u->wait_ns = 0;
	u->nivcsw = 0;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		u->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		u->nivcsw = (uint64_t)ru.ru_nivcsw;
	if (l->schedstat_fd < 0)
		l->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	n = l->schedstat_fd >= 0 ? pread(l->schedstat_fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%llu %llu", &run, &wait) == 2)
			u->wait_ns = wait;
	}
}

static void log_gap(struct loopstall *l, const char *head, uint64_t stall, const struct usage *u,
		    const char *tail, uint64_t ticks)
{
	l->host->log->log(l->self, UCS_LOG_INFO,
			  "%s %.3f ms (gap %.3f ms: on CPU %.3f ms, waiting for a CPU %.3f ms, "
			  "%llu involuntary switches)%s%llu ticks",
			  head, (double)stall / 1e6, (double)u->gap_ns / 1e6,
			  (double)u->cpu_ns / 1e6, (double)u->wait_ns / 1e6,
			  (unsigned long long)u->nivcsw, tail, (unsigned long long)ticks);
}

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
	struct usage now_u, g;

	(void)t;
	thread_usage(l, &now_u);
	/* the counters are the loop thread's own: the first tick only takes them */
	g.gap_ns = gap;
	g.cpu_ns = l->primed ? now_u.cpu_ns - l->last.cpu_ns : 0;
	g.wait_ns = l->primed ? now_u.wait_ns - l->last.wait_ns : 0;
	g.nivcsw = l->primed ? now_u.nivcsw - l->last.nivcsw : 0;
	l->primed = 1;
	l->last_ns = now;
	l->last = now_u;
	l->ticks++;
	l->period_ticks++;
	if (stall > l->period_worst_ns || l->period_ticks == 1) {
		l->period_worst_ns = stall;
		l->period_worst = g;
	}
	if (stall > l->worst_ns || l->ticks == 1) {
		l->worst_ns = stall;
		l->worst = g;
	}
	if (now - l->period_start_ns >= (uint64_t)l->report_s * 1000000000u) {
		log_gap(l, "period worst", l->period_worst_ns, &l->period_worst, ", ticks ",
			l->period_ticks);
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
	l->schedstat_fd = -1;
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
	log_gap(l, "worst stall", l->worst_ns, &l->worst, " over ", l->ticks);
	if (l->schedstat_fd >= 0)
		close(l->schedstat_fd);
	l->schedstat_fd = -1;
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
