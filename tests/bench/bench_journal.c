/*
 * tests/bench/bench_journal.c - the journal store's two figures (issue 7):
 *
 *   write:  entries committed per second through jr_db_append's path
 *           (jr_db_push from one thread, the writer thread committing in
 *           batches), from the first push to the last commit; the pusher
 *           waits while more than 200,000 entries are queued, so the
 *           figure is what the disk sustains, not the queue's memory;
 *
 *   read:   a user's last 100 entries (newest first, rendered as the row
 *           JSON the service returns) from a journal of ROWS rows (10
 *           million by default, 10,000 users, one call every few seconds
 *           over about a year), p50/p99/max over QUERIES random users, on
 *           the ops connection as the service's pool thread uses it: first
 *           one query per millisecond (as a server gets them: the thread
 *           sleeps in between), then back to back ("busy_": the thread
 *           never sleeps, so on a shared machine the scheduler preempts it
 *           as a CPU hog). Also the same on the thread's CPU clock, and how
 *           many queries took 5 ms or more and how many of those the kernel
 *           preempted (other processes' time slices, not the store).
 *           The data set is built with plain SQLite inserts into the
 *           schema jr_db_open created (100,000 rows per transaction); its
 *           build time is printed too.
 *
 * usage: bench-journal DIR [WRITE_N [ROWS [QUERIES]]]
 * Prints "bench NAME VALUE UNIT" lines. DIR must exist; the bench removes
 * its files unless BENCH_JOURNAL_KEEP is set (then a second run reuses a
 * data set of the same size).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jr_db.h"
#include "jr_store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void logfn(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= 1)
		fprintf(stderr, "bench-journal: %s\n", msg);
}

static void fill(struct jr_entry *e, uint64_t i, int users, int64_t started)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%lld-%llu", (long long)started, (unsigned long long)i);
	snprintf(e->user, sizeof(e->user), "user%05d", (int)(next() % (uint64_t)users));
	snprintf(e->call, sizeof(e->call), "pbx/%llu", (unsigned long long)i);
	snprintf(e->line, sizeof(e->line), "pbx/%d", 100 + (int)(i % 900));
	e->direction = 1 + (int)(i % 2);
	e->internal = i % 3 == 0;
	e->unanswered = i % 7 == 0;
	e->answered = !e->unanswered;
	e->ended_by = 1;
	e->started_ms = started;
	e->alerting_ms = started + 100;
	e->connected_ms = e->answered ? started + 5000 : 0;
	e->ended_ms = started + 65000;
	e->ring_s = 5;
	e->talk_s = e->answered ? 60 : 0;
	snprintf(e->own_number, sizeof(e->own_number), "+4981513685%03d", (int)(i % 900));
	snprintf(e->remote_number, sizeof(e->remote_number), "+4989%07llu",
		 (unsigned long long)(next() % 10000000));
	snprintf(e->remote_name, sizeof(e->remote_name), "Contact %llu",
		 (unsigned long long)(next() % 50000));
}

static int bench_write(const char *dir, long n)
{
	char path[4096];
	struct jr_db *db;
	struct jr_db_counters c;
	struct jr_entry e;
	int64_t t = 1700000000000ll;
	double t0, t1;
	int err;

	snprintf(path, sizeof(path), "%s/write.db", dir);
	unlink(path);
	err = jr_db_open(path, logfn, NULL, &db);
	if (err)
		return err;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		fill(&e, (uint64_t)i, 1000, t + i * 50);
		if (i % 1024 == 0)
			for (;;) {
				jr_db_counters(db, &c);
				if (c.queued < 200000)
					break;
				usleep(1000);
			}
		err = jr_db_push(db, &e);
		if (err)
			break;
	}
	if (!err)
		err = jr_db_sync(db);
	t1 = now_s();
	jr_db_counters(db, &c);
	jr_db_close(db);
	printf("bench journal_write_entries_per_s %.0f entries/s\n", (double)n / (t1 - t0));
	printf("bench journal_write_entries %ld entries\n", n);
	/* what one core does: the writer thread's own CPU time (the figure
	 * above also holds the time it waited for a core or the disk) */
	printf("bench journal_write_entries_per_writer_cpu_s %.0f entries/s\n",
	       c.writer_cpu_us ? (double)c.committed * 1e6 / (double)c.writer_cpu_us : 0.0);
	printf("bench journal_write_batches %llu commits\n", (unsigned long long)c.batches);
	printf("bench journal_write_max_batch %llu entries\n", (unsigned long long)c.max_batch);
	if (c.committed != (uint64_t)n || c.failed) {
		fprintf(stderr, "bench-journal: %llu of %ld committed, %llu failed\n",
			(unsigned long long)c.committed, n, (unsigned long long)c.failed);
		err = -EIO;
	}
	if (!getenv("BENCH_JOURNAL_KEEP")) {
		unlink(path);
		snprintf(path, sizeof(path), "%s/write.db-wal", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/write.db-shm", dir);
		unlink(path);
	}
	return err;
}

static int build(const char *path, long rows, int users)
{
	struct jr_db *db;
	sqlite3 *s;
	sqlite3_stmt *st;
	struct jr_entry e;
	int64_t t = 1700000000000ll;
	double t0 = now_s();
	int err = jr_db_open(path, logfn, NULL, &db), rc = SQLITE_OK;

	if (err)
		return err;
	jr_db_close(db); /* the schema, as the plugin makes it */
	if (sqlite3_open(path, &s) != SQLITE_OK)
		return -EIO;
	sqlite3_exec(s, "PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000", NULL, NULL, NULL);
	rc = sqlite3_prepare_v2(
		s,
		"INSERT INTO entries(id, user, call, line, direction, internal, "
		"answered, unanswered, ended_by, started_ms, alerting_ms, connected_ms, "
		"ended_ms, ring_s, talk_s, own_number, remote_number, remote_name) "
		"VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
		-1, &st, NULL);
	for (long i = 0; rc == SQLITE_OK && i < rows; i++) {
		/* a year: one call every ~3 s */
		fill(&e, (uint64_t)i, users, t + i * 3150);
		if (i % 100000 == 0)
			sqlite3_exec(s, i ? "COMMIT; BEGIN" : "BEGIN", NULL, NULL, NULL);
		sqlite3_bind_text(st, 1, e.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e.user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e.call, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e.line, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, e.direction);
		sqlite3_bind_int(st, 6, e.internal);
		sqlite3_bind_int(st, 7, e.answered);
		sqlite3_bind_int(st, 8, e.unanswered);
		sqlite3_bind_int(st, 9, e.ended_by);
		sqlite3_bind_int64(st, 10, e.started_ms);
		sqlite3_bind_int64(st, 11, e.alerting_ms);
		sqlite3_bind_int64(st, 12, e.connected_ms);
		sqlite3_bind_int64(st, 13, e.ended_ms);
		sqlite3_bind_int(st, 14, e.ring_s);
		sqlite3_bind_int(st, 15, e.talk_s);
		sqlite3_bind_text(st, 16, e.own_number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 17, e.remote_number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 18, e.remote_name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sqlite3_reset(st);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "bench-journal: build: %s\n", sqlite3_errmsg(s));
	sqlite3_exec(s, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_finalize(st);
	sqlite3_close(s);
	printf("bench journal_dataset_build_s %.1f s\n", now_s() - t0);
	return rc == SQLITE_OK ? 0 : -EIO;
}

struct sink {
	char buf[16384];
	size_t bytes;
};

static int render(const struct jr_entry *e, void *arg)
{
	struct sink *k = arg;

	k->bytes += (size_t)jr_entry_json(e, k->buf, sizeof(k->buf));
	return 0;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* queries random users' last 100 entries, pause_us apart (0: back to back);
 * prints the figures with prefix; returns how many came back short */
static int run_queries(struct jr_db *db, int queries, int users, long rows, int pause_us,
		       const char *prefix, double *lat, double *cpu)
{
	static struct sink k;
	int short_answers = 0, slow = 0, slow_preempted = 0;

	for (int i = 0; i < queries; i++) {
		char user[32];
		struct jr_db_query q = {.user = user, .limit = 100};
		struct rusage r0, r1;
		double t0, c0;
		int n;

		if (pause_us)
			usleep((useconds_t)pause_us);
		snprintf(user, sizeof(user), "user%05d", (int)(next() % (uint64_t)users));
		getrusage(RUSAGE_THREAD, &r0);
		c0 = cpu_s();
		t0 = now_s();
		n = jr_db_query(db, &q, render, &k);
		lat[i] = (now_s() - t0) * 1000.0;
		cpu[i] = (cpu_s() - c0) * 1000.0;
		getrusage(RUSAGE_THREAD, &r1);
		if (lat[i] >= 5.0) {
			/* over the target: was the thread preempted (another process
			 * got the core) or did it wait for the disk? */
			slow++;
			slow_preempted += r1.ru_nivcsw > r0.ru_nivcsw;
		}
		if (n != 100 && rows >= 100L * users)
			short_answers++;
	}
	qsort(lat, (size_t)queries, sizeof(*lat), cmp);
	printf("bench journal_last100_%sp50_ms %.3f ms\n", prefix, lat[queries / 2]);
	printf("bench journal_last100_%sp99_ms %.3f ms\n", prefix, lat[(int)(queries * 0.99)]);
	printf("bench journal_last100_%smax_ms %.3f ms\n", prefix, lat[queries - 1]);
	/* the same on the thread's CPU clock: without the time the thread
	 * waited for a core or the disk */
	qsort(cpu, (size_t)queries, sizeof(*cpu), cmp);
	printf("bench journal_last100_%scpu_p50_ms %.3f ms\n", prefix, cpu[queries / 2]);
	printf("bench journal_last100_%scpu_p99_ms %.3f ms\n", prefix, cpu[(int)(queries * 0.99)]);
	printf("bench journal_last100_%squeries %d queries\n", prefix, queries);
	printf("bench journal_last100_%sover_5ms %d queries\n", prefix, slow);
	printf("bench journal_last100_%sover_5ms_preempted %d queries\n", prefix, slow_preempted);
	return short_answers;
}

static int bench_read(const char *dir, long rows, int queries)
{
	char path[4096];
	struct jr_db *db;
	double *lat = calloc((size_t)queries, sizeof(*lat));
	double *cpu = calloc((size_t)queries, sizeof(*cpu));
	int users = 10000, err = 0, short_answers;

	snprintf(path, sizeof(path), "%s/read-%ld.db", dir, rows);
	if (!lat || !cpu) {
		free(lat);
		free(cpu);
		return -ENOMEM;
	}
	if (access(path, F_OK) != 0 || !getenv("BENCH_JOURNAL_KEEP")) {
		unlink(path);
		err = build(path, rows, users);
	} else {
		printf("bench journal_dataset_build_s 0 s (reused %s)\n", path);
	}
	if (!err)
		err = jr_db_open(path, logfn, NULL, &db);
	if (err) {
		free(lat);
		free(cpu);
		return err;
	}
	printf("bench journal_dataset_rows %lld rows\n", (long long)jr_db_count(db, "entries"));
	short_answers = run_queries(db, queries, users, rows, 1000, "", lat, cpu);
	short_answers += run_queries(db, queries, users, rows, 0, "busy_", lat, cpu);
	jr_db_close(db);
	if (short_answers) {
		fprintf(stderr, "bench-journal: %d queries returned fewer than 100 rows\n",
			short_answers);
		err = -EIO;
	}
	if (!getenv("BENCH_JOURNAL_KEEP")) {
		unlink(path);
		snprintf(path, sizeof(path), "%s/read-%ld.db-wal", dir, rows);
		unlink(path);
		snprintf(path, sizeof(path), "%s/read-%ld.db-shm", dir, rows);
		unlink(path);
	}
	free(lat);
	free(cpu);
	return err;
}

int main(int argc, char **argv)
{
	long write_n = argc > 2 ? atol(argv[2]) : 1000000;
	long rows = argc > 3 ? atol(argv[3]) : 10000000;
	int queries = argc > 4 ? atoi(argv[4]) : 5000;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || write_n < 1 || rows < 1 || queries < 1) {
		fprintf(stderr, "usage: bench-journal DIR [WRITE_N [ROWS [QUERIES]]]\n");
		return 2;
	}
	err = bench_write(argv[1], write_n);
	if (!err)
		err = bench_read(argv[1], rows, queries);
	if (err)
		fprintf(stderr, "bench-journal: %s\n", strerror(-err));
	return err ? 1 : 0;
}
