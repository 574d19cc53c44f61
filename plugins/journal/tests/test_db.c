/* plugins/journal/tests/test_db.c - the journal database: migrations from
 * every older version, a newer schema refused, pushes committed within the
 * window and in batches, queries (user, time, missed, private, text with
 * LIKE wildcards taken literally), update, remove, offline take (once),
 * retention by rule and chunk, close committing the queue. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucs/journal.h>

#include "check.h"
#include "jr_db.h"

static char dir[] = "/tmp/jr-test-XXXXXX";
static char path[256];
static char last_log[1024];

static void logfn(void *arg, int level, const char *msg)
{
	(void)arg, (void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void entry(struct jr_entry *e, const char *id, const char *user, int64_t started)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->user, sizeof(e->user), "%s", user);
	snprintf(e->remote_number, sizeof(e->remote_number), "+49891234%s", id);
	e->started_ms = started;
	e->direction = 1;
}

static int sql_int(const char *sql)
{
	sqlite3 *s;
	sqlite3_stmt *st;
	int v = -1;

	sqlite3_open(path, &s);
	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	return v;
}

static const char *sql_text(const char *sql)
{
	static char out[256];
	sqlite3 *s;
	sqlite3_stmt *st;

	out[0] = '\0';
	sqlite3_open(path, &s);
	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, sizeof(out), "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	return out;
}

static int sql_exec(const char *sql)
{
	sqlite3 *s;
	int rc;

	sqlite3_open(path, &s);
	rc = sqlite3_exec(s, sql, NULL, NULL, NULL);
	sqlite3_close(s);
	return rc;
}

struct rows {
	int n;
	char ids[64][40];
};

static int collect(const struct jr_entry *e, void *arg)
{
	struct rows *r = arg;

	if (r->n < 64)
		snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", e->id);
	r->n++;
	return 0;
}

static int fail_row(const struct jr_entry *e, void *arg)
{
	(void)e, (void)arg;
	return 1;
}

static int query(struct jr_db *db, const char *user, bool missed, bool hide, const char *text,
		 struct rows *r)
{
	struct jr_db_query q = {
		.user = user, .limit = 100, .missed = missed, .hide_private = hide, .text = text};

	memset(r, 0, sizeof(*r));
	return jr_db_query(db, &q, collect, r);
}

static void test_migrations(void)
{
	struct jr_db *db = NULL;
	struct jr_entry e;
	struct rows r;

	/* a version 1 database, as the first release wrote it */
	unlink(path);
	CHECK_INT(
		sql_exec(
			"CREATE TABLE schema_version(version INTEGER NOT NULL);"
			"INSERT INTO schema_version VALUES(1);"
			"CREATE TABLE entries(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
			" user TEXT NOT NULL, call TEXT NOT NULL DEFAULT '', line TEXT NOT NULL "
			"DEFAULT '', direction INTEGER NOT NULL DEFAULT 0, internal INTEGER NOT "
			"NULL DEFAULT 0, private INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT "
			"NULL DEFAULT 0, unanswered INTEGER NOT NULL DEFAULT 0, ended_by INTEGER "
			"NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0, started_ms INTEGER "
			"NOT NULL DEFAULT 0, alerting_ms INTEGER NOT NULL DEFAULT 0, connected_ms "
			"INTEGER NOT NULL DEFAULT 0, ended_ms INTEGER NOT NULL DEFAULT 0, ring_s "
			"INTEGER NOT NULL DEFAULT 0, talk_s INTEGER NOT NULL DEFAULT 0, own_number "
			"TEXT NOT NULL DEFAULT '', remote_number TEXT NOT NULL DEFAULT '', "
			"remote_display TEXT NOT NULL DEFAULT '', remote_name TEXT NOT NULL "
			"DEFAULT '', remote_user TEXT NOT NULL DEFAULT '', answered_user TEXT NOT "
			"NULL DEFAULT '', answered_number TEXT NOT NULL DEFAULT '', project TEXT "
			"NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', read INTEGER NOT NULL "
			"DEFAULT 0, offline INTEGER NOT NULL DEFAULT 0);"
			"CREATE INDEX entries_user_started ON entries(user, started_ms);"
			"INSERT INTO entries(id, user, remote_number, note, offline, started_ms) "
			"VALUES('old-1', 'alice', '+4930111', 'from v1', 1, 5);"),
		==, SQLITE_OK);
	CHECK_INT(jr_db_open(path, logfn, NULL, &db), ==, 0);
	CHECK_INT(jr_db_version(db), ==, JR_SCHEMA_VERSION);
	CHECK_INT(jr_db_get(db, "old-1", &e), ==, 0);
	CHECK_STR(e.note, "from v1");
	CHECK_STR(e.diverted_from, "");
	CHECK_INT(e.offline, ==, 1);
	CHECK_INT(query(db, "alice", false, false, "", &r), ==, 1);
	CHECK_INT(jr_db_chat_add(db, "c1", "alice", "bob", 1, "hi"), ==, 0);
	jr_db_close(db);
	CHECK_INT(sql_int("SELECT max(version) FROM schema_version"), ==, JR_SCHEMA_VERSION);
	CHECK_INT(sql_int("SELECT count(*) FROM schema_version"), ==, 1);
	CHECK_STR(sql_text("PRAGMA journal_mode"), "wal");

	/* a newer schema than this code knows is refused and left alone */
	CHECK_INT(sql_exec("UPDATE schema_version SET version = 99"), ==, SQLITE_OK);
	db = NULL;
	CHECK_INT(jr_db_open(path, logfn, NULL, &db), ==, -EPROTO);
	CHECK(db == NULL);
	CHECK_CONTAINS(last_log, "schema version 99");
	CHECK_INT(sql_int("SELECT max(version) FROM schema_version"), ==, 99);
	CHECK_INT(sql_int("SELECT count(*) FROM entries"), ==, 1);
	unlink(path);
}

static void test_store(void)
{
	struct jr_db *db = NULL;
	struct jr_db_counters c;
	struct jr_entry e, got;
	struct rows r;
	int64_t t = now_ms();
	double t0;

	unlink(path);
	CHECK_INT(jr_db_open(path, logfn, NULL, &db), ==, 0);
	if (!db)
		return;
	/* committed within the window without anyone asking */
	entry(&e, "a1", "alice", t - 3000);
	CHECK_INT(jr_db_push(db, &e), ==, 0);
	t0 = mono();
	do {
		jr_db_counters(db, &c);
		usleep(5000);
	} while (c.committed < 1 && mono() - t0 < 2);
	CHECK_INT(c.committed, ==, 1);
	CHECK((mono() - t0) * 1000 < JR_FLUSH_MS + 50);
	CHECK_INT(sql_int("SELECT count(*) FROM entries WHERE id = 'a1'"), ==, 1);

	entry(&e, "a2", "alice", t - 2000);
	e.unanswered = 1;
	snprintf(e.remote_name, sizeof(e.remote_name), "Müller 100%%");
	CHECK_INT(jr_db_push(db, &e), ==, 0);
	entry(&e, "a3", "alice", t - 1000);
	e.private_call = 1;
	snprintf(e.note, sizeof(e.note), "call back about_x");
	CHECK_INT(jr_db_push(db, &e), ==, 0);
	entry(&e, "b1", "bob", t);
	e.offline = 1;
	CHECK_INT(jr_db_push(db, &e), ==, 0);
	/* a duplicate id loses itself only */
	entry(&e, "a1", "alice", t);
	CHECK_INT(jr_db_push(db, &e), ==, 0);
	entry(&e, "", "alice", t);
	CHECK_INT(jr_db_push(db, &e), ==, -EINVAL);
	CHECK_INT(jr_db_sync(db), ==, 0);
	jr_db_counters(db, &c);
	CHECK_INT(c.committed, ==, 4);
	CHECK_INT(c.failed, ==, 1);
	CHECK_INT(c.queued, ==, 0);

	/* newest first, filters */
	CHECK_INT(query(db, "alice", false, false, "", &r), ==, 3);
	CHECK_STR(r.ids[0], "a3");
	CHECK_STR(r.ids[2], "a1");
	CHECK_INT(query(db, "alice", true, false, NULL, &r), ==, 1);
	CHECK_STR(r.ids[0], "a2");
	CHECK_INT(query(db, "alice", false, true, "", &r), ==, 2);
	CHECK_INT(query(db, "alice", false, false, "ller 100%", &r), ==, 1);
	CHECK_STR(r.ids[0], "a2");
	/* % and _ are literal */
	CHECK_INT(query(db, "alice", false, false, "100_", &r), ==, 0);
	CHECK_INT(query(db, "alice", false, false, "about_x", &r), ==, 1);
	CHECK_INT(query(db, "alice", false, false, "bout", &r), ==, 1);
	CHECK_INT(query(db, "alice", false, true, "bout", &r), ==, 0);
	CHECK_INT(query(db, "alice", false, false, "891234a1", &r), ==, 1);
	{
		struct jr_db_query q = {
			.user = "alice", .limit = 10, .since = t - 2500, .until = t - 1000};

		memset(&r, 0, sizeof(r));
		CHECK_INT(jr_db_query(db, &q, collect, &r), ==, 1);
		CHECK_STR(r.ids[0], "a2");
		q.limit = 1;
		q.since = q.until = 0;
		CHECK_INT(jr_db_query(db, &q, collect, &r), ==, 1);
	}

	/* update and remove */
	CHECK_INT(jr_db_update(db, "a2", UCS_JU_NOTE | UCS_JU_READ, "noted", 0, 1, NULL, &got), ==,
		  0);
	CHECK_STR(got.note, "noted");
	CHECK_INT(got.read, ==, 1);
	CHECK_INT(got.unanswered, ==, 1);
	{
		struct jr_entry mask = got;

		/* the private-call mode applied with the mark (hidden here) */
		mask.remote_number[0] = mask.remote_display[0] = mask.remote_name[0] = '\0';
		CHECK(got.remote_number[0] != '\0');
		CHECK_INT(jr_db_update(db, "a2", UCS_JU_PRIVATE, NULL, 1, 0, &mask, &got), ==, 0);
	}
	CHECK_STR(got.note, "noted");
	CHECK_INT(got.private_call, ==, 1);
	CHECK_INT(got.read, ==, 1);
	CHECK_STR(got.remote_number, "");
	CHECK_INT(jr_db_get(db, "a2", &got), ==, 0);
	CHECK_STR(got.remote_number, "");
	CHECK_INT(jr_db_update(db, "nope", UCS_JU_READ, NULL, 0, 1, NULL, &got), ==, -ENOENT);
	CHECK_INT(jr_db_remove(db, "a1"), ==, 0);
	CHECK_INT(jr_db_remove(db, "a1"), ==, -ENOENT);
	CHECK_INT(jr_db_get(db, "a1", &got), ==, -ENOENT);

	/* offline: handed out once, oldest first */
	memset(&r, 0, sizeof(r));
	CHECK_INT(jr_db_take_offline(db, "bob", collect, &r), ==, 1);
	CHECK_STR(r.ids[0], "b1");
	memset(&r, 0, sizeof(r));
	CHECK_INT(jr_db_take_offline(db, "bob", collect, &r), ==, 0);
	CHECK_INT(jr_db_get(db, "b1", &got), ==, 0);
	CHECK_INT(got.offline, ==, 0);

	/* two phases: a select hands rows out without clearing them (a
	 * cancelled delivery loses nothing); the clear ends only the rows up
	 * to the seq the select saw, not one that came in between */
	{
		int64_t max_seq = -1, max2 = -1;

		entry(&e, "c1", "carl", t);
		e.offline = 1;
		jr_db_push(db, &e);
		CHECK_INT(jr_db_sync(db), ==, 0);
		memset(&r, 0, sizeof(r));
		CHECK_INT(jr_db_offline_select(db, "carl", 0, collect, &r, &max_seq), ==, 1);
		CHECK(max_seq > 0);
		memset(&r, 0, sizeof(r));
		CHECK_INT(jr_db_offline_select(db, "carl", 0, collect, &r, &max2), ==, 1);
		CHECK(max2 == max_seq);
		entry(&e, "c2", "carl", t + 1);
		e.offline = 1;
		jr_db_push(db, &e);
		CHECK_INT(jr_db_sync(db), ==, 0);
		/* what a clear still pending covers is not handed out twice */
		memset(&r, 0, sizeof(r));
		CHECK_INT(jr_db_offline_select(db, "carl", max_seq, collect, &r, &max2), ==, 1);
		CHECK_STR(r.ids[0], "c2");
		CHECK_INT(jr_db_offline_clear(db, "carl", max_seq), ==, 1);
		memset(&r, 0, sizeof(r));
		CHECK_INT(jr_db_offline_select(db, "carl", 0, collect, &r, &max2), ==, 1);
		CHECK_STR(r.ids[0], "c2");
		CHECK(max2 > max_seq);
		/* a row callback that fails (no memory for the result) is an error */
		CHECK_INT(jr_db_offline_select(db, "carl", 0, fail_row, NULL, &max2), ==, -ENOMEM);
		CHECK(max2 == 0);
	}

	/* the queue is committed at close */
	for (int i = 0; i < 2500; i++) {
		char id[32];

		snprintf(id, sizeof(id), "z%d", i);
		entry(&e, id, "zed", t + i);
		jr_db_push(db, &e);
	}
	jr_db_close(db);
	CHECK_INT(sql_int("SELECT count(*) FROM entries WHERE user = 'zed'"), ==, 2500);
	CHECK_STR(sql_text("PRAGMA integrity_check"), "ok");
}

static void test_retention(void)
{
	struct jr_db *db = NULL;
	struct jr_entry e;
	struct jr_retention_result res;
	int64_t now = now_ms(), day = 86400000ll;
	int n = 0;

	unlink(path);
	CHECK_INT(jr_db_open(path, logfn, NULL, &db), ==, 0);
	if (!db)
		return;
	/* 5000 old internal, 3000 old external, 10 old noted, recent ones */
	for (int i = 0; i < 5000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "i%d", i);
		entry(&e, id, i % 2 ? "alice" : "bob", now - 40 * day);
		e.internal = 1;
		e.offline = i < 100;
		jr_db_push(db, &e);
	}
	for (int i = 0; i < 3000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "x%d", i);
		entry(&e, id, "alice", now - 20 * day);
		jr_db_push(db, &e);
	}
	for (int i = 0; i < 10; i++) {
		char id[32];

		snprintf(id, sizeof(id), "n%d", i);
		entry(&e, id, "alice", now - 400 * day);
		snprintf(e.note, sizeof(e.note), "keep?");
		jr_db_push(db, &e);
	}
	entry(&e, "recent", "alice", now - day);
	e.internal = 1;
	e.offline = 1;
	jr_db_push(db, &e);
	for (int i = 0; i < 3; i++) {
		char id[32];

		snprintf(id, sizeof(id), "chat%d", i);
		jr_db_chat_add(db, id, "a", "b", now - (i ? 100 : 1) * day, "x");
	}
	CHECK_INT(jr_db_sync(db), ==, 0);
	CHECK_INT(jr_db_count(db, "entries"), ==, 8011);

	/* keep forever: nothing */
	struct jr_retention_rules r = {.now_ms = now};
	CHECK_INT(jr_db_retention(db, &r, NULL, &res), ==, 0);
	CHECK_INT(res.calls_deleted + res.offline_deleted + res.chat_deleted, ==, 0);

	/* a stop request ends the run before its next chunk */
	atomic_int stop = 1;
	r.internal_days = 30;
	CHECK_INT(jr_db_retention(db, &r, &stop, &res), ==, -ECANCELED);
	CHECK_INT(jr_db_count(db, "entries"), ==, 8011);

	r.internal_days = 30;
	r.external_days = 30;
	r.noted_days = 365;
	r.chat_days = 50;
	r.offline_days = 30;
	CHECK_INT(jr_db_retention(db, &r, NULL, &res), ==, 0);
	CHECK_INT(res.calls_deleted, ==, 5010);
	CHECK_INT(res.offline_deleted, ==, 100);
	CHECK_INT(res.chat_deleted, ==, 2);
	CHECK(res.chunks >= 3);
	CHECK_INT(jr_db_count(db, "entries"), ==, 3001);
	CHECK_INT(jr_db_count(db, "chat_messages"), ==, 1);
	/* the external ones are 20 days old: they stay; so does the recent
	 * offline entry */
	struct rows rr;
	memset(&rr, 0, sizeof(rr));
	CHECK_INT(jr_db_take_offline(db, "alice", collect, &rr), ==, 1);
	CHECK_STR(rr.ids[0], "recent");
	r.external_days = 10;
	CHECK_INT(jr_db_retention(db, &r, NULL, &res), ==, 0);
	CHECK_INT(res.calls_deleted, ==, 3000);
	n = (int)jr_db_count(db, "entries");
	CHECK_INT(n, ==, 1);
	jr_db_close(db);
}

/* A commit that fails because another connection holds the write lock
 * longer than the busy timeout (5 s: a backup, a long checkpoint) keeps
 * its batch and retries: nothing is counted failed, all is on disk. */
static void test_commit_retry(void)
{
	struct jr_db *db = NULL;
	struct jr_db_counters c;
	struct jr_entry e;
	sqlite3 *blocker = NULL;
	int64_t t = now_ms();

	unlink(path);
	CHECK_INT(jr_db_open(path, logfn, NULL, &db), ==, 0);
	if (!db)
		return;
	CHECK_INT(sqlite3_open(path, &blocker), ==, SQLITE_OK);
	CHECK_INT(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
	for (int i = 0; i < 10; i++) {
		char id[32];

		snprintf(id, sizeof(id), "r%d", i);
		entry(&e, id, "rita", t + i);
		jr_db_push(db, &e);
	}
	sleep(6); /* the first try gives up after the 5 s busy timeout */
	CHECK_INT(sqlite3_exec(blocker, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
	sqlite3_close(blocker);
	CHECK_INT(jr_db_sync(db), ==, 0);
	jr_db_counters(db, &c);
	CHECK_INT(c.failed, ==, 0);
	CHECK_INT(c.committed, ==, 10);
	CHECK_CONTAINS(last_log, "attempt 1 of 4");
	jr_db_close(db);
	CHECK_INT(sql_int("SELECT count(*) FROM entries WHERE user = 'rita'"), ==, 10);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	test_migrations();
	test_store();
	test_retention();
	test_commit_retry();
	unlink(path);
	{
		char p[300];

		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	rmdir(dir);
	return check_report();
}
