/*
 * plugins/journal/jr_retention.c - when the retention rules run: nightly
 * within the configured window of local hours (default 1-4), once per
 * night, and on the administrator's "apply now".
 *
 * A run goes to a pool thread (jr_db_retention deletes in chunks, each its
 * own short transaction, so the writer thread keeps committing between
 * them and the loop never waits); its result is logged and handed to the
 * caller on the loop thread. One run at a time; stopping the plugin ends a
 * run at the next chunk.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jr_db.h"
#include "jr_store.h"

struct run {
	struct jr *j;
	char night[16]; /* a nightly run: the night it is for (persisted) */
	struct jr_retention_rules rules;
	struct jr_retention_result res;
	int status;
	bool nightly;
	ucs_journal_done_h *done;
	void *arg;
};

static struct run *running;  /* at most one */
static atomic_int stop_flag; /* read by the run's thread */
static struct ucs_timer *timer;
/* the night (jr_window_night) of the last nightly run, also as kept in
 * the database's meta table, so a restart within the window does not run
 * the rules again */
static char last_night[16];
#define META_NIGHT "retention.last_night"
static struct jr_retention_result last;
static int last_status;
static int64_t last_run_ms;
static uint64_t runs;

int jr_window_parse(const char *s, int *start, int *end)
{
	int a, b, n = 0;

	if (!s || sscanf(s, "%d-%d%n", &a, &b, &n) != 2 || s[n] != '\0' || a < 0 || a > 23 ||
	    b < 1 || b > 24 || a == b)
		return -EINVAL;
	*start = a;
	*end = b;
	return 0;
}

bool jr_window_has(int start, int end, int h)
{
	return start < end ? h >= start && h < end : h >= start || h < end;
}

void jr_window_night(int start, int end, const struct tm *tm, char *buf, size_t cap)
{
	struct tm d = *tm;

	/* the hours after midnight of a window that wraps belong to the night
	 * that began the day before; mktime normalises day 0 */
	if (start > end && tm->tm_hour < end) {
		d.tm_mday--;
		d.tm_hour = 12;
		d.tm_isdst = -1;
		mktime(&d);
	}
	/* the modulos only tell the compiler the widths (16 bytes suffice) */
	snprintf(buf, cap, "%04u-%02u-%02u", (unsigned)(d.tm_year + 1900) % 10000u,
		 (unsigned)(d.tm_mon + 1) % 100u, (unsigned)d.tm_mday % 100u);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int result_json(const struct jr_retention_result *r, char *buf, size_t cap)
{
	return snprintf(buf, cap,
			"{\"calls_deleted\":%llu,\"offline_deleted\":%llu,\"chat_deleted\":%llu,"
			"\"ms\":%llu}",
			(unsigned long long)r->calls_deleted,
			(unsigned long long)r->offline_deleted, (unsigned long long)r->chat_deleted,
			(unsigned long long)r->ms);
}

static void run_work(void *arg)
{
	struct run *r = arg;

	/* the rules also apply to what was appended before "apply now" */
	r->status = jr_db_sync(r->j->db);
	/* the night counts as done once its run starts: a crash or restart in
	 * the middle does not start it over (the next night catches up) */
	if (!r->status && r->night[0])
		jr_db_meta_set(r->j->db, META_NIGHT, r->night);
	if (!r->status)
		r->status = jr_db_retention(r->j->db, &r->rules, &stop_flag, &r->res);
}

static void run_done(int status, void *arg)
{
	struct run *r = arg;
	struct jr *j = r->j;
	char json[256];

	running = NULL;
	if (status)
		r->status = status;
	last = r->res;
	last_status = r->status;
	runs++;
	if (r->status == 0)
		j->host->log->log(j->self, UCS_LOG_INFO,
				  "retention (%s): %llu calls deleted, %llu offline entries "
				  "expired, %llu chat messages deleted in %llu ms",
				  r->nightly ? "nightly" : "applied now",
				  (unsigned long long)r->res.calls_deleted,
				  (unsigned long long)r->res.offline_deleted,
				  (unsigned long long)r->res.chat_deleted,
				  (unsigned long long)r->res.ms);
	else
		j->host->log->log(j->self, UCS_LOG_ERROR,
				  "retention (%s) failed after %llu calls deleted: %s",
				  r->nightly ? "nightly" : "applied now",
				  (unsigned long long)r->res.calls_deleted, strerror(-r->status));
	if (r->done) {
		result_json(&r->res, json, sizeof(json));
		r->done(r->status, r->status ? NULL : json, r->arg);
	}
	free(r);
}

static int queue_run(struct jr *j, const char *night, ucs_journal_done_h *done, void *arg)
{
	bool nightly = night != NULL;
	struct run *r;
	int err;

	if (running)
		return -EBUSY;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->j = j;
	r->nightly = nightly;
	snprintf(r->night, sizeof(r->night), "%s", night ? night : "");
	r->done = done;
	r->arg = arg;
	r->rules.internal_days = j->conf.internal_days;
	r->rules.external_days = j->conf.external_days;
	r->rules.noted_days = j->conf.noted_days;
	r->rules.chat_days = j->conf.chat_days;
	r->rules.offline_days = j->conf.offline_days;
	r->rules.now_ms = wall_ms();
	atomic_store(&stop_flag, 0);
	err = j->host->work->queue(j->self, NULL, run_work, run_done, r);
	if (err) {
		free(r);
		return err;
	}
	running = r;
	last_run_ms = r->rules.now_ms;
	return 0;
}

int jr_retention_apply(struct jr *j, ucs_journal_done_h *done, void *arg)
{
	return queue_run(j, NULL, done, arg);
}

static void tick(struct ucs_timer *t, void *arg)
{
	struct jr *j = arg;
	time_t now = time(NULL);
	struct tm tm;

	char night[16];

	(void)t;
	localtime_r(&now, &tm);
	if (!jr_window_has(j->conf.window_start_h, j->conf.window_end_h, tm.tm_hour))
		return;
	/* keyed on the night, not the calendar day: a window over midnight
	 * (23-2) runs once, not at 23:00 and again at 00:00 */
	jr_window_night(j->conf.window_start_h, j->conf.window_end_h, &tm, night, sizeof(night));
	if (strcmp(night, last_night) == 0)
		return;
	if (queue_run(j, night, NULL, NULL) == 0)
		snprintf(last_night, sizeof(last_night), "%s", night);
}

int jr_retention_start(struct jr *j)
{
	int err;

	/* one short read at startup (not on a running loop's hot path) */
	if (j->db && jr_db_meta_get(j->db, META_NIGHT, last_night, sizeof(last_night)))
		last_night[0] = '\0';
	err = j->host->timer->open(j->self, &timer, tick, j);

	/* once a minute is enough to notice the window; the first look soon
	 * after the start, so a server started within the window runs tonight's
	 * rules without waiting a minute */
	if (!err)
		err = j->host->timer->start(timer, 5000, 60000);
	return err;
}

void jr_retention_stop(struct jr *j)
{
	atomic_store(&stop_flag, 1);
	if (timer)
		j->host->timer->close(timer);
	timer = NULL;
	/* the host calls run_done no more: the caller of a queued or running
	 * run learns -ESHUTDOWN now (the service's stop promise); the run's
	 * memory stays until fini, after the host waited for a running one */
	if (running && running->done) {
		ucs_journal_done_h *done = running->done;

		running->done = NULL;
		done(-ESHUTDOWN, NULL, running->arg);
	}
}

void jr_retention_fini(void)
{
	free(running);
	running = NULL;
	last_night[0] = '\0';
	runs = 0;
	memset(&last, 0, sizeof(last));
}

int jr_retention_status(struct jr *j, char *buf, size_t cap)
{
	char r[256];

	result_json(&last, r, sizeof(r));
	return snprintf(buf, cap,
			"\"retention\":{\"running\":%s,\"runs\":%llu,\"last_run_ms\":%lld,"
			"\"last_status\":%d,\"last\":%s,\"window\":\"%d-%d\"}",
			running ? "true" : "false", (unsigned long long)runs,
			(long long)last_run_ms, last_status, r, j->conf.window_start_h,
			j->conf.window_end_h);
}
