/*
 * tests/bench/evsource.c - a bench-only plugin: the event source of the
 * client-protocol benchmark (tests/bench/run-api.sh, bench_sessions.c).
 *
 * It produces presence changes at a fixed rate, spread over every bench
 * user in turn, through the real path a client sees them by: each change
 * is ucs.presence set(user, user, keep state, note) with the note
 * "bench:<CLOCK_MONOTONIC nanoseconds at the call>", so presence builds the
 * filtered views, hands them to the bus, client-api turns them into
 * presence.event notifications and the load generator (same host, same
 * clock) takes the difference at receipt.
 *
 * Control, without touching the protocol under test: the generator writes
 * the file named by `control` ("RATE DURATION_MS [USERS]\n": USERS, when
 * given, replaces the `users` key from then on); the plugin polls for
 * it every 50 ms, removes it, runs, and at the end writes `result` (written
 * to a temporary name and renamed, so the generator never reads half of
 * it): events published, refused set() calls, the achieved rate, and the
 * loop's health seen from the publishing timer (it asks for 1 ms ticks; the
 * gaps between ticks show how long the loop was held by everything else)
 * and the time set() itself took (presence's fan-out up to the bus).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucs/ucs.h>

#define EVS_TICK_MS   1
#define EVS_POLL_MS   50
#define EVS_GAP_SLOTS 20000 /* histogram of tick gaps, 0.1 ms per slot (2 s) */

struct evsource {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_presence_api *pres;
	struct ucs_timer *poll, *tick;
	char prefix[32];
	int digits, first, users;
	char control[512], result[512];
	/* the run */
	double rate;
	uint64_t duration_ns, t0, last_tick, total, published, errors, first_err;
	int last_err;
	uint64_t set_ns_sum, set_ns_max;
	uint64_t gap_hist[EVS_GAP_SLOTS];
	uint64_t gaps, gap_max_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void evs_log(struct evsource *e, enum ucs_log_level level, const char *fmt, ...)
	UCS_PRINTF(3, 4);
static void evs_log(struct evsource *e, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e->host->log->logv(e->self, level, fmt, ap);
	va_end(ap);
}

/* The gap below which a fraction q of all tick gaps lie, in ms. */
static double gap_quantile(const struct evsource *e, double q)
{
	uint64_t want = (uint64_t)(q * (double)e->gaps), seen = 0;

	for (int i = 0; i < EVS_GAP_SLOTS; i++) {
		seen += e->gap_hist[i];
		if (seen > want)
			return (i + 1) * 0.1;
	}
	return e->gap_max_ns / 1e6;
}

static void write_result(struct evsource *e, uint64_t elapsed_ns)
{
	char tmp[600];
	FILE *f;
	double secs = elapsed_ns / 1e9;
	double achieved = secs > 0 ? e->published / secs : 0;

	evs_log(e, UCS_LOG_INFO,
		"published %" PRIu64 " changes in %.3f s (%.1f/s, asked %.1f/s), %" PRIu64
		" refused (last %s); tick gap p99 %.1f ms max %.2f ms; set() mean %.1f us max "
		"%.1f us",
		e->published, secs, achieved, e->rate, e->errors,
		e->errors ? strerror(-e->last_err) : "-", gap_quantile(e, 0.99),
		e->gap_max_ns / 1e6,
		e->published ? e->set_ns_sum / 1e3 / (double)e->published : 0.0,
		e->set_ns_max / 1e3);
	if (!e->result[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", e->result);
	f = fopen(tmp, "w");
	if (!f) {
		evs_log(e, UCS_LOG_ERROR, "%s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f,
		"published %" PRIu64 "\nerrors %" PRIu64 "\nelapsed_ms %.3f\nrate %.1f\n"
		"tick_gap_p50_ms %.1f\ntick_gap_p99_ms %.1f\ntick_gap_max_ms %.3f\n"
		"set_mean_us %.2f\nset_max_us %.2f\n",
		e->published, e->errors, elapsed_ns / 1e6, achieved, gap_quantile(e, 0.5),
		gap_quantile(e, 0.99), e->gap_max_ns / 1e6,
		e->published ? e->set_ns_sum / 1e3 / (double)e->published : 0.0,
		e->set_ns_max / 1e3);
	if (fclose(f) != 0 || rename(tmp, e->result) != 0)
		evs_log(e, UCS_LOG_ERROR, "%s: %s", e->result, strerror(errno));
}

static void publish_one(struct evsource *e)
{
	char user[64], note[64];
	uint64_t t, t1;
	int err;

	snprintf(user, sizeof(user), "%s%0*d", e->prefix, e->digits,
		 e->first + (int)(e->published % (uint64_t)e->users));
	t = mono_ns();
	snprintf(note, sizeof(note), "bench:%" PRIu64, t);
	err = e->pres->set(user, user, -1, note);
	t1 = mono_ns();
	e->set_ns_sum += t1 - t;
	if (t1 - t > e->set_ns_max)
		e->set_ns_max = t1 - t;
	if (err) {
		e->errors++;
		e->last_err = err;
	}
	e->published++;
}

static void on_tick(struct ucs_timer *timer, void *arg)
{
	struct evsource *e = arg;
	uint64_t now = mono_ns(), due;
	uint64_t gap = now - e->last_tick;

	(void)timer;
	e->last_tick = now;
	e->gaps++;
	e->gap_hist[gap / 100000 < EVS_GAP_SLOTS ? gap / 100000 : EVS_GAP_SLOTS - 1]++;
	if (gap > e->gap_max_ns)
		e->gap_max_ns = gap;
	/* Catch up to the schedule: the rate holds even when ticks come late. */
	due = (uint64_t)((double)(now - e->t0) * e->rate / 1e9);
	if (due > e->total)
		due = e->total;
	while (e->published < due)
		publish_one(e);
	if (e->published >= e->total || now - e->t0 >= e->duration_ns) {
		e->host->timer->stop(e->tick);
		write_result(e, mono_ns() - e->t0);
	}
}

static void start_run(struct evsource *e, double rate, uint64_t duration_ms)
{
	int err;

	e->rate = rate;
	e->duration_ns = duration_ms * 1000000u;
	e->total = (uint64_t)(rate * (double)duration_ms / 1000.0);
	e->published = e->errors = e->set_ns_sum = e->set_ns_max = 0;
	e->gaps = e->gap_max_ns = 0;
	e->last_err = 0;
	memset(e->gap_hist, 0, sizeof(e->gap_hist));
	e->t0 = e->last_tick = mono_ns();
	evs_log(e, UCS_LOG_INFO, "run: %.1f changes/s for %" PRIu64 " ms over %d users", rate,
		duration_ms, e->users);
	err = e->host->timer->start(e->tick, EVS_TICK_MS, EVS_TICK_MS);
	if (err)
		evs_log(e, UCS_LOG_ERROR, "tick timer: %s", strerror(-err));
}

static void on_poll(struct ucs_timer *timer, void *arg)
{
	struct evsource *e = arg;
	char line[128];
	double rate;
	uint64_t ms;
	int n, users = 0;
	FILE *f;

	(void)timer;
	if (!e->control[0] || e->host->timer->active(e->tick))
		return;
	f = fopen(e->control, "r");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f) ||
	    (n = sscanf(line, "%lf %" SCNu64 " %d", &rate, &ms, &users)) < 2 || rate <= 0 ||
	    ms == 0) {
		fclose(f);
		return; /* not written completely yet: the next poll reads it again */
	}
	fclose(f);
	unlink(e->control);
	if (n == 3 && users > 0)
		e->users = users;
	start_run(e, rate, ms);
}

static int read_config(struct evsource *e, const struct ucs_cfg *sec)
{
	const struct ucs_cfg_api *cfg = e->host->cfg;
	const char *s;
	int64_t v;

	s = cfg->get_string(sec, "user_prefix");
	snprintf(e->prefix, sizeof(e->prefix), "%s", s ? s : "u");
	e->digits = cfg->get_int(sec, "user_digits", &v) == 0 ? (int)v : 5;
	e->first = cfg->get_int(sec, "first_user", &v) == 0 ? (int)v : 0;
	e->users = cfg->get_int(sec, "users", &v) == 0 ? (int)v : 1;
	s = cfg->get_string(sec, "control");
	snprintf(e->control, sizeof(e->control), "%s", s ? s : "");
	s = cfg->get_string(sec, "result");
	snprintf(e->result, sizeof(e->result), "%s", s ? s : "");
	return 0;
}

static int evs_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct evsource *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	e->self = self;
	e->host = host;
	e->pres = host->service->get(self, UCS_PRESENCE_SERVICE, UCS_PRESENCE_VERSION);
	if (!e->pres) {
		err = -ENOENT;
		goto out;
	}
	read_config(e, host->cfg->section(self));
	err = host->timer->open(self, &e->poll, on_poll, e);
	if (err)
		goto out;
	err = host->timer->open(self, &e->tick, on_tick, e);
out:
	if (err) {
		if (e->poll)
			host->timer->close(e->poll);
		free(e);
		return err;
	}
	*state = e;
	return 0;
}

static int evs_start(void *state)
{
	struct evsource *e = state;

	evs_log(e, UCS_LOG_INFO, "ready: %d users %s%0*d.., control file %s", e->users, e->prefix,
		e->digits, e->first, e->control[0] ? e->control : "(none)");
	return e->host->timer->start(e->poll, EVS_POLL_MS, EVS_POLL_MS);
}

static int evs_reload(void *state, const struct ucs_cfg *section)
{
	return read_config(state, section);
}

static void evs_stop(void *state)
{
	struct evsource *e = state;

	e->host->timer->stop(e->poll);
	e->host->timer->stop(e->tick);
}

static void evs_fini(void *state)
{
	struct evsource *e = state;

	e->host->timer->close(e->poll);
	e->host->timer->close(e->tick);
	free(e);
}

static const struct ucs_cfg_key evs_keys[] = {
	UCS_CFG_STRING_KEY("user_prefix", "\"u\"", "bench user ids: prefix"),
	UCS_CFG_INT_KEY("user_digits", "5", 1, 10, "bench user ids: zero-padded digits"),
	UCS_CFG_INT_KEY("first_user", "0", 0, 100000000, "number of the first bench user"),
	UCS_CFG_INT_KEY("users", "1", 1, 100000000, "bench users the changes go round"),
	UCS_CFG_PATH_KEY("control", "\"\"", "file polled for \"RATE DURATION_MS [USERS]\""),
	UCS_CFG_PATH_KEY("result", "\"\"", "file the figures of a run are written to"),
	UCS_CFG_END,
};

static const char *const evs_requires[] = {UCS_PRESENCE_SERVICE, NULL};

static const struct ucs_plugin_desc evs_desc = {
	UCS_PLUGIN_HEADER,
	.name = "evsource",
	.version = "1.0.0",
	.license = "MIT",
	.description = "bench: presence changes at a fixed rate, stamped with the monotonic clock",
	.requires = evs_requires,
	.config = evs_keys,
	.init = evs_init,
	.start = evs_start,
	.reload = evs_reload,
	.stop = evs_stop,
	.fini = evs_fini,
};

UCS_PLUGIN_DEFINE(evs_desc)
