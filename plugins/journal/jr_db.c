/*
 * plugins/journal/jr_db.c - the journal's SQLite database: schema and
 * migrations, the writer thread, the ops connection and retention (see
 * jr_db.h for the design).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/journal.h>
#include <ucs/log.h>

#include "jr_db.h"

/* ---- the columns, in one table for insert and select ---------------------------------- */

enum col_kind { C_TEXT, C_INT, C_U32, C_I64 };

struct col {
	const char *name;
	enum col_kind kind;
	size_t off, size;
};

#define T(f)                                                                                \
	{                                                                                   \
#f, C_TEXT, offsetof(struct jr_entry, f), sizeof(((struct jr_entry *)0)->f) \
	}
#define I(f)                                               \
	{                                                  \
#f, C_INT, offsetof(struct jr_entry, f), 0 \
	}
#define L(f)                                               \
	{                                                  \
#f, C_I64, offsetof(struct jr_entry, f), 0 \
	}
#define I32(f)                                             \
	{                                                  \
#f, C_U32, offsetof(struct jr_entry, f), 0 \
	}

/* "private" and "read" are the columns of private_call and read */
static const struct col cols[] = {
	T(id),
	T(user),
	T(call),
	T(line),
	I(direction),
	I(internal),
	{"private", C_INT, offsetof(struct jr_entry, private_call), 0},
	I(answered),
	I(unanswered),
	I(ended_by),
	I32(flags),
	L(started_ms),
	L(alerting_ms),
	L(connected_ms),
	L(ended_ms),
	I(ring_s),
	I(talk_s),
	T(own_number),
	T(remote_number),
	T(remote_display),
	T(remote_name),
	T(remote_user),
	T(answered_user),
	T(answered_number),
	T(diverted_from),
	T(project),
	T(project_info),
	T(note),
	I(read),
	I(offline),
};
#undef T
#undef I
#undef L
#undef I32
#define N_COLS (sizeof(cols) / sizeof(cols[0]))

/* ---- migrations ------------------------------------------------------------------------- */

/* Index = the version the step reaches minus one. Never edit a step that
 * shipped: add one. */
static const char *const migrations[JR_SCHEMA_VERSION] = {
	/* 1: the journal */
	"CREATE TABLE entries("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" user TEXT NOT NULL,"
	" call TEXT NOT NULL DEFAULT '',"
	" line TEXT NOT NULL DEFAULT '',"
	" direction INTEGER NOT NULL DEFAULT 0,"
	" internal INTEGER NOT NULL DEFAULT 0,"
	" private INTEGER NOT NULL DEFAULT 0,"
	" answered INTEGER NOT NULL DEFAULT 0,"
	" unanswered INTEGER NOT NULL DEFAULT 0,"
	" ended_by INTEGER NOT NULL DEFAULT 0,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" started_ms INTEGER NOT NULL DEFAULT 0,"
	" alerting_ms INTEGER NOT NULL DEFAULT 0,"
	" connected_ms INTEGER NOT NULL DEFAULT 0,"
	" ended_ms INTEGER NOT NULL DEFAULT 0,"
	" ring_s INTEGER NOT NULL DEFAULT 0,"
	" talk_s INTEGER NOT NULL DEFAULT 0,"
	" own_number TEXT NOT NULL DEFAULT '',"
	" remote_number TEXT NOT NULL DEFAULT '',"
	" remote_display TEXT NOT NULL DEFAULT '',"
	" remote_name TEXT NOT NULL DEFAULT '',"
	" remote_user TEXT NOT NULL DEFAULT '',"
	" answered_user TEXT NOT NULL DEFAULT '',"
	" answered_number TEXT NOT NULL DEFAULT '',"
	" project TEXT NOT NULL DEFAULT '',"
	" note TEXT NOT NULL DEFAULT '',"
	" read INTEGER NOT NULL DEFAULT 0,"
	" offline INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX entries_user_started ON entries(user, started_ms);",
	/* 2: forwarding and the project's J data */
	"ALTER TABLE entries ADD COLUMN diverted_from TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE entries ADD COLUMN project_info TEXT NOT NULL DEFAULT '';",
	/* 3: chat messages (kept for the chat plugin, under chat_days) and a
	 * small index of the offline journal */
	"CREATE TABLE chat_messages("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" sender TEXT NOT NULL,"
	" recipient TEXT NOT NULL,"
	" sent_ms INTEGER NOT NULL,"
	" text TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX entries_offline ON entries(user, started_ms) WHERE offline = 1;",
	/* 4: small facts the journal keeps across restarts (the date of the
	 * last nightly retention run) */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

/* ---- state ------------------------------------------------------------------------------ */

struct queue {
	struct jr_entry *v;
	size_t n, cap;
	uint64_t first_ns; /* when v[0] was pushed */
};

enum { Q_MISSED = 1, Q_HIDE_PRIVATE = 2, Q_TEXT = 4, Q_VARIANTS = 8 };

struct jr_db {
	char *path;
	jr_db_log_fn *log;
	void *log_arg;
	int version;

	/* writer */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* to the writer: something to do */
	pthread_cond_t cv_done; /* from the writer: a batch is done */
	struct queue q, spare;
	uint64_t pushed_seq, done_seq;
	int sync_waiters;
	bool stopping;
	int broken;
	int fail_streak;
	sqlite3 *wdb;
	sqlite3_stmt *insert;
	struct jr_db_counters c;

	/* ops */
	pthread_mutex_t ops_mu;
	sqlite3 *odb;
	sqlite3_stmt *query[Q_VARIANTS];
	sqlite3_stmt *get, *del, *off_select, *off_clear, *chat_add;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void logf_(struct jr_db *db, int level, const char *fmt, ...) UCS_PRINTF(3, 4);
static void logf_(struct jr_db *db, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!db->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	db->log(db->log_arg, level, msg);
}

static int sq_err(struct jr_db *db, sqlite3 *s, int rc, const char *what)
{
	logf_(db, UCS_LOG_ERROR, "journal database %s: %s: %s", db->path, what,
	      s ? sqlite3_errmsg(s) : sqlite3_errstr(rc));
	return -EIO;
}

static int exec(struct jr_db *db, sqlite3 *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		logf_(db, UCS_LOG_ERROR, "journal database %s: %.60s...: %s", db->path, sql,
		      msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int set_modes(struct jr_db *db, sqlite3 *s)
{
	return exec(db, s,
		    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
		    "PRAGMA cache_size=-16384;");
}

/* modes: set WAL and friends at once (every connection but the first,
 * which checks the schema version before it changes anything) */
static int open_conn(struct jr_db *db, sqlite3 **out, bool create, bool modes)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(db->path, out, flags, NULL);
	int err;

	if (rc != SQLITE_OK) {
		err = sq_err(db, *out, rc, "open");
		sqlite3_close(*out);
		*out = NULL;
		return err;
	}
	sqlite3_busy_timeout(*out, 5000);
	err = modes ? set_modes(db, *out) : 0;
	if (err) {
		sqlite3_close(*out);
		*out = NULL;
	}
	return err;
}

static int prepare(struct jr_db *db, sqlite3 *s, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v3(s, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);

	return rc == SQLITE_OK ? 0 : sq_err(db, s, rc, "prepare");
}

/* ---- migrations at open --------------------------------------------------------------- */

static int read_version(struct jr_db *db, sqlite3 *s, int *version)
{
	sqlite3_stmt *st = NULL;
	int err = prepare(db, s,
			  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
			  "'schema_version'",
			  &st);
	bool exists = !err && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;

	*version = 0;
	sqlite3_finalize(st);
	st = NULL;
	if (!err && exists) {
		err = prepare(db, s, "SELECT max(version) FROM schema_version", &st);
		if (!err && sqlite3_step(st) == SQLITE_ROW)
			*version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return err;
}

static int migrate(struct jr_db *db, sqlite3 *s)
{
	int version, err = read_version(db, s, &version);
	char sql[96];

	if (err)
		return err;
	if (version > JR_SCHEMA_VERSION) {
		logf_(db, UCS_LOG_ERROR,
		      "journal database %s has schema version %d; this ucsd knows up to %d and "
		      "leaves it untouched",
		      db->path, version, JR_SCHEMA_VERSION);
		return -EPROTO;
	}
	/* only now the file may change: WAL mode and the version table */
	err = set_modes(db, s);
	if (!err)
		err = exec(db, s,
			   "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
	if (err)
		return err;
	for (int v = version; v < JR_SCHEMA_VERSION; v++) {
		/* the step and its version in one transaction: a crash leaves
		 * the database at v or at v + 1, never in between */
		err = exec(db, s, "BEGIN IMMEDIATE");
		if (!err)
			err = exec(db, s, migrations[v]);
		snprintf(sql, sizeof(sql),
			 "DELETE FROM schema_version; INSERT INTO schema_version "
			 "VALUES(%d)",
			 v + 1);
		if (!err)
			err = exec(db, s, sql);
		if (!err)
			err = exec(db, s, "COMMIT");
		if (err) {
			exec(db, s, "ROLLBACK");
			logf_(db, UCS_LOG_ERROR,
			      "journal database %s: migration to version %d failed", db->path,
			      v + 1);
			return err;
		}
		logf_(db, UCS_LOG_INFO, "journal database %s migrated to schema version %d",
		      db->path, v + 1);
	}
	db->version = JR_SCHEMA_VERSION;
	return 0;
}

/* ---- rows ------------------------------------------------------------------------------- */

static int bind_entry(sqlite3_stmt *st, const struct jr_entry *e)
{
	const char *base = (const char *)e;
	int rc = SQLITE_OK;

	for (size_t i = 0; i < N_COLS && rc == SQLITE_OK; i++) {
		const void *p = base + cols[i].off;
		int idx = (int)i + 1;

		switch (cols[i].kind) {
		case C_TEXT:
			rc = sqlite3_bind_text(st, idx, p, (int)strnlen(p, cols[i].size),
					       SQLITE_STATIC);
			break;
		case C_INT:
			rc = sqlite3_bind_int(st, idx, *(const int *)p);
			break;
		case C_U32:
			rc = sqlite3_bind_int64(st, idx, *(const uint32_t *)p);
			break;
		case C_I64:
			rc = sqlite3_bind_int64(st, idx, *(const int64_t *)p);
			break;
		}
	}
	return rc;
}

static void row_entry(sqlite3_stmt *st, struct jr_entry *e)
{
	char *base = (char *)e;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < N_COLS; i++) {
		void *p = base + cols[i].off;

		switch (cols[i].kind) {
		case C_TEXT: {
			const unsigned char *t = sqlite3_column_text(st, (int)i);
			size_t n = (size_t)sqlite3_column_bytes(st, (int)i);

			if (n >= cols[i].size)
				n = cols[i].size - 1;
			if (t)
				memcpy(p, t, n);
			((char *)p)[n] = '\0';
			break;
		}
		case C_INT:
			*(int *)p = sqlite3_column_int(st, (int)i);
			break;
		case C_U32:
			*(uint32_t *)p = (uint32_t)sqlite3_column_int64(st, (int)i);
			break;
		case C_I64:
			*(int64_t *)p = sqlite3_column_int64(st, (int)i);
			break;
		}
	}
}

/* "id,user,...,offline" */
static void col_list(char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_COLS; i++)
		len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s\"%s\"",
					i ? "," : "", cols[i].name);
}

/* ---- the writer thread ------------------------------------------------------------------ */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One attempt at the batch in one transaction: 0, or a negative errno when
 * the transaction as a whole failed (BEGIN, COMMIT, or a row error that
 * made SQLite roll the transaction back) and nothing of it was written. */
static int try_batch(struct jr_db *db, struct queue *b, uint64_t *ok, uint64_t *bad)
{
	int err = exec(db, db->wdb, "BEGIN IMMEDIATE");

	*ok = *bad = 0;
	for (size_t i = 0; !err && i < b->n; i++) {
		int rc = bind_entry(db->insert, &b->v[i]);

		if (rc == SQLITE_OK)
			rc = sqlite3_step(db->insert);
		if (rc == SQLITE_DONE) {
			(*ok)++;
		} else if (sqlite3_get_autocommit(db->wdb)) {
			/* the error ended the transaction (disk full, I/O): what
			 * was inserted is gone; the batch as a whole is retried */
			err = sq_err(db, db->wdb, rc, "journal batch");
		} else {
			/* one bad row (a duplicate id) loses itself, not the batch */
			(*bad)++;
			if (*bad <= 3)
				logf_(db, UCS_LOG_ERROR, "journal entry %s of %s not written: %s",
				      b->v[i].id, b->v[i].user, sqlite3_errmsg(db->wdb));
		}
		sqlite3_reset(db->insert);
	}
	sqlite3_clear_bindings(db->insert);
	if (!err)
		err = exec(db, db->wdb, "COMMIT");
	if (err) {
		if (!sqlite3_get_autocommit(db->wdb))
			exec(db, db->wdb, "ROLLBACK");
		*ok = 0;
		*bad = b->n;
	}
	return err;
}

static void commit_batch(struct jr_db *db, struct queue *b)
{
	uint64_t t0 = now_ns(), c0 = thread_cpu_ns(), ok = 0, bad = 0;
	int err = -EIO;

	/* a failed BEGIN/COMMIT (a lock held by a checkpoint or a backup, a
	 * transient I/O error) keeps the batch: retried after 50, 200 and
	 * 800 ms before its rows count as failed. Appends queue meanwhile. */
	for (int attempt = 0; attempt < JR_DB_COMMIT_TRIES; attempt++) {
		if (attempt) {
			struct timespec ts = {0, (long)(50 << (2 * (attempt - 1))) * 1000000L};

			nanosleep(&ts, NULL);
		}
		err = try_batch(db, b, &ok, &bad);
		if (!err)
			break;
		logf_(db, UCS_LOG_WARNING,
		      "journal database %s: commit of %zu entries failed "
		      "(attempt %d of %d): %s",
		      db->path, b->n, attempt + 1, JR_DB_COMMIT_TRIES, strerror(-err));
	}
	pthread_mutex_lock(&db->mu);
	db->c.committed += ok;
	db->c.failed += bad;
	db->c.batches++;
	if (b->n > db->c.max_batch)
		db->c.max_batch = b->n;
	db->c.last_commit_us = (now_ns() - t0) / 1000;
	db->c.writer_cpu_us += (thread_cpu_ns() - c0) / 1000;
	db->fail_streak = err ? db->fail_streak + 1 : 0;
	if (db->fail_streak >= 3 && !db->broken) {
		db->broken = 1;
		logf_(db, UCS_LOG_ERROR,
		      "journal database %s: three commits in a row failed; new entries are "
		      "refused until a restart",
		      db->path);
	}
	db->done_seq += b->n;
	pthread_cond_broadcast(&db->cv_done);
	pthread_mutex_unlock(&db->mu);
	b->n = 0;
}

static void deadline_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
}

static void *writer_main(void *arg)
{
	struct jr_db *db = arg;

	pthread_mutex_lock(&db->mu);
	for (;;) {
		struct queue b;
		uint64_t deadline;
		struct timespec ts;

		while (!db->q.n && !db->stopping)
			pthread_cond_wait(&db->cv_work, &db->mu);
		if (!db->q.n)
			break;
		/* gather for half the window, so that the commit has the other half */
		deadline = db->q.first_ns + (uint64_t)JR_FLUSH_MS * 1000000ull / 2;
		deadline_ts(deadline, &ts);
		while (db->q.n < JR_DB_BATCH && !db->stopping && !db->sync_waiters &&
		       now_ns() < deadline)
			if (pthread_cond_timedwait(&db->cv_work, &db->mu, &ts) == ETIMEDOUT)
				break;
		b = db->q;
		db->q = db->spare;
		db->q.n = 0;
		pthread_mutex_unlock(&db->mu);
		commit_batch(db, &b);
		pthread_mutex_lock(&db->mu);
		db->spare = b;
	}
	pthread_mutex_unlock(&db->mu);
	return NULL;
}

int jr_db_push(struct jr_db *db, const struct jr_entry *e)
{
	int err = 0;

	if (!e->id[0] || !e->user[0])
		return -EINVAL;
	pthread_mutex_lock(&db->mu);
	if (db->stopping) {
		err = -ESHUTDOWN;
		goto out;
	}
	if (db->broken) {
		err = -EIO;
		goto out;
	}
	if (db->q.n == db->q.cap) {
		size_t cap = db->q.cap ? db->q.cap * 2 : 256;
		struct jr_entry *v = realloc(db->q.v, cap * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		db->q.v = v;
		db->q.cap = cap;
	}
	if (!db->q.n)
		db->q.first_ns = now_ns();
	db->q.v[db->q.n++] = *e;
	db->pushed_seq++;
	db->c.appended++;
	if (db->q.n == 1 || db->q.n == JR_DB_BATCH)
		pthread_cond_signal(&db->cv_work);
out:
	pthread_mutex_unlock(&db->mu);
	return err;
}

int jr_db_append(struct jr *j, const struct jr_entry *e)
{
	return j && j->db ? jr_db_push(j->db, e) : -ESHUTDOWN;
}

int jr_db_sync(struct jr_db *db)
{
	int err;

	pthread_mutex_lock(&db->mu);
	uint64_t want = db->pushed_seq;

	db->sync_waiters++;
	pthread_cond_signal(&db->cv_work);
	while (db->done_seq < want)
		pthread_cond_wait(&db->cv_done, &db->mu);
	db->sync_waiters--;
	err = db->broken ? -EIO : 0;
	pthread_mutex_unlock(&db->mu);
	return err;
}

void jr_db_counters(struct jr_db *db, struct jr_db_counters *out)
{
	pthread_mutex_lock(&db->mu);
	*out = db->c;
	out->queued = db->pushed_seq - db->done_seq;
	out->broken = db->broken;
	pthread_mutex_unlock(&db->mu);
}

int jr_db_version(struct jr_db *db)
{
	return db->version;
}

const char *jr_db_path(struct jr_db *db)
{
	return db->path;
}

/* ---- open and close --------------------------------------------------------------------- */

static int prepare_ops(struct jr_db *db)
{
	char list[1024], sql[4096];
	int err = 0;

	col_list(list, sizeof(list));
	for (int v = 0; v < Q_VARIANTS && !err; v++) {
		/* ?1 user, ?2 since, ?3 until, ?4 limit, ?5 the LIKE pattern */
		snprintf(sql, sizeof(sql),
			 "SELECT %s FROM entries WHERE user = ?1 AND started_ms >= ?2 AND "
			 "started_ms < ?3%s%s%s ORDER BY started_ms DESC, seq DESC LIMIT ?4",
			 list, v & Q_MISSED ? " AND unanswered = 1" : "",
			 v & Q_HIDE_PRIVATE ? " AND private = 0" : "",
			 v & Q_TEXT
				 ? " AND (remote_number LIKE ?5 ESCAPE '\\' OR remote_name LIKE "
				   "?5 ESCAPE '\\' OR remote_display LIKE ?5 ESCAPE '\\' OR "
				   "own_number LIKE ?5 ESCAPE '\\' OR note LIKE ?5 ESCAPE '\\' OR "
				   "project LIKE ?5 ESCAPE '\\' OR project_info LIKE ?5 ESCAPE "
				   "'\\')"
				 : "");
		err = prepare(db, db->odb, sql, &db->query[v]);
	}
	snprintf(sql, sizeof(sql), "SELECT %s FROM entries WHERE id = ?1", list);
	if (!err)
		err = prepare(db, db->odb, sql, &db->get);
	if (!err)
		err = prepare(db, db->odb, "DELETE FROM entries WHERE id = ?1", &db->del);
	snprintf(sql, sizeof(sql),
		 "SELECT %s, seq FROM entries WHERE user = ?1 AND offline = 1 AND seq > ?2 "
		 "ORDER BY started_ms, seq",
		 list);
	if (!err)
		err = prepare(db, db->odb, sql, &db->off_select);
	if (!err)
		err = prepare(db, db->odb,
			      "UPDATE entries SET offline = 0 WHERE user = ?1 AND offline = 1 "
			      "AND seq <= ?2",
			      &db->off_clear);
	if (!err)
		err = prepare(db, db->odb,
			      "INSERT INTO chat_messages(id, sender, recipient, sent_ms, text) "
			      "VALUES(?1, ?2, ?3, ?4, ?5)",
			      &db->chat_add);
	return err;
}

int jr_db_open(const char *path, jr_db_log_fn *log, void *log_arg, struct jr_db **out)
{
	struct jr_db *db = calloc(1, sizeof(*db));
	pthread_condattr_t ca;
	char list[1024], sql[2048], marks[256];
	size_t len = 0;
	int err;

	if (!db)
		return -ENOMEM;
	db->log = log;
	db->log_arg = log_arg;
	db->path = strdup(path);
	pthread_mutex_init(&db->mu, NULL);
	pthread_mutex_init(&db->ops_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->cv_work, &ca);
	pthread_cond_init(&db->cv_done, &ca);
	pthread_condattr_destroy(&ca);
	if (!db->path) {
		err = -ENOMEM;
		goto out;
	}
	err = open_conn(db, &db->wdb, true, false);
	if (!err)
		err = migrate(db, db->wdb);
	col_list(list, sizeof(list));
	for (size_t i = 0; i < N_COLS; i++)
		len += (size_t)snprintf(marks + len, sizeof(marks) - len, "%s?", i ? "," : "");
	snprintf(sql, sizeof(sql), "INSERT INTO entries(%s) VALUES(%s)", list, marks);
	if (!err)
		err = prepare(db, db->wdb, sql, &db->insert);
	if (!err)
		err = open_conn(db, &db->odb, false, true);
	if (!err)
		err = prepare_ops(db);
	if (!err && pthread_create(&db->thread, NULL, writer_main, db) != 0)
		err = -EAGAIN;
	if (!err)
		db->thread_started = true;
out:
	if (err) {
		jr_db_close(db);
		return err;
	}
	*out = db;
	return 0;
}

void jr_db_close(struct jr_db *db)
{
	if (!db)
		return;
	if (db->thread_started) {
		pthread_mutex_lock(&db->mu);
		db->stopping = true;
		pthread_cond_signal(&db->cv_work);
		pthread_mutex_unlock(&db->mu);
		pthread_join(db->thread, NULL);
	}
	sqlite3_finalize(db->insert);
	for (int v = 0; v < Q_VARIANTS; v++)
		sqlite3_finalize(db->query[v]);
	sqlite3_finalize(db->get);
	sqlite3_finalize(db->del);
	sqlite3_finalize(db->off_select);
	sqlite3_finalize(db->off_clear);
	sqlite3_finalize(db->chat_add);
	sqlite3_close(db->odb);
	sqlite3_close(db->wdb);
	free(db->q.v);
	free(db->spare.v);
	pthread_cond_destroy(&db->cv_work);
	pthread_cond_destroy(&db->cv_done);
	pthread_mutex_destroy(&db->mu);
	pthread_mutex_destroy(&db->ops_mu);
	free(db->path);
	free(db);
}

/* ---- ops -------------------------------------------------------------------------------- */

/* "%text%" with the LIKE wildcards of text escaped. */
static void like_pattern(const char *text, char *out, size_t cap)
{
	size_t n = 0;

	out[n++] = '%';
	for (const char *p = text; *p && n + 3 < cap; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n++] = '%';
	out[n] = '\0';
}

int jr_db_query(struct jr_db *db, const struct jr_db_query *q, jr_db_row_fn *fn, void *arg)
{
	bool text = q->text && q->text[0];
	int v = (q->missed ? Q_MISSED : 0) | (q->hide_private ? Q_HIDE_PRIVATE : 0) |
		(text ? Q_TEXT : 0);
	sqlite3_stmt *st;
	char pat[300];
	struct jr_entry *e = malloc(sizeof(*e));
	int rc, n = 0, err = 0;

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&db->ops_mu);
	st = db->query[v];
	sqlite3_bind_text(st, 1, q->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, q->since);
	sqlite3_bind_int64(st, 3, q->until > 0 ? q->until : INT64_MAX);
	sqlite3_bind_int(st, 4, q->limit);
	if (text) {
		like_pattern(q->text, pat, sizeof(pat));
		sqlite3_bind_text(st, 5, pat, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_entry(st, e);
		n++;
		if (fn && fn(e, arg)) {
			/* the caller ran out of memory for the result */
			err = -ENOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = sq_err(db, db->odb, rc, "query");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&db->ops_mu);
	free(e);
	return err ? err : n;
}

static int get_locked(struct jr_db *db, const char *id, struct jr_entry *out)
{
	int rc, err;

	sqlite3_bind_text(db->get, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(db->get);
	if (rc == SQLITE_ROW) {
		row_entry(db->get, out);
		err = 0;
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sq_err(db, db->odb, rc, "get");
	}
	sqlite3_reset(db->get);
	sqlite3_clear_bindings(db->get);
	return err;
}

int jr_db_get(struct jr_db *db, const char *id, struct jr_entry *out)
{
	int err;

	pthread_mutex_lock(&db->ops_mu);
	err = get_locked(db, id, out);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_update(struct jr_db *db, const char *id, uint32_t set, const char *note, int private_call,
		 int read, const struct jr_entry *mask, struct jr_entry *out)
{
	char sql[384];
	size_t len = 0;
	sqlite3_stmt *st = NULL;
	int rc, err, idx = 1;

	/* the statement depends on which fields change; updates are rare */
	len += (size_t)snprintf(sql + len, sizeof(sql) - len, "UPDATE entries SET seq = seq");
	if (set & UCS_JU_NOTE)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", note = ?%d", ++idx);
	if (set & UCS_JU_PRIVATE)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", private = ?%d", ++idx);
	if (set & UCS_JU_READ)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", read = ?%d", ++idx);
	if (mask) {
		len += (size_t)snprintf(
			sql + len, sizeof(sql) - len,
			", remote_number = ?%d, remote_display = ?%d, "
			"remote_name = ?%d, remote_user = ?%d, answered_number = ?%d",
			idx + 1, idx + 2, idx + 3, idx + 4, idx + 5);
		idx += 5;
	}
	snprintf(sql + len, sizeof(sql) - len, " WHERE id = ?1");
	pthread_mutex_lock(&db->ops_mu);
	rc = sqlite3_prepare_v2(db->odb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(db, db->odb, rc, "update");
		goto out;
	}
	idx = 1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (set & UCS_JU_NOTE)
		sqlite3_bind_text(st, ++idx, note ? note : "", -1, SQLITE_STATIC);
	if (set & UCS_JU_PRIVATE)
		sqlite3_bind_int(st, ++idx, private_call ? 1 : 0);
	if (set & UCS_JU_READ)
		sqlite3_bind_int(st, ++idx, read ? 1 : 0);
	if (mask) {
		sqlite3_bind_text(st, ++idx, mask->remote_number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, ++idx, mask->remote_display, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, ++idx, mask->remote_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, ++idx, mask->remote_user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, ++idx, mask->answered_number, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		err = sq_err(db, db->odb, rc, "update");
		goto out;
	}
	err = sqlite3_changes(db->odb) ? get_locked(db, id, out) : -ENOENT;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_remove(struct jr_db *db, const char *id)
{
	int rc, err;

	pthread_mutex_lock(&db->ops_mu);
	sqlite3_bind_text(db->del, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(db->del);
	if (rc == SQLITE_DONE)
		err = sqlite3_changes(db->odb) ? 0 : -ENOENT;
	else
		err = sq_err(db, db->odb, rc, "remove");
	sqlite3_reset(db->del);
	sqlite3_clear_bindings(db->del);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_offline_select(struct jr_db *db, const char *user, int64_t after_seq, jr_db_row_fn *fn,
			 void *arg, int64_t *max_seq)
{
	struct jr_entry *e = malloc(sizeof(*e));
	int rc, n = 0, err = 0;

	*max_seq = 0;
	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&db->ops_mu);
	/* only a read: the rows stay offline until the caller has handed them
	 * out and clears them (jr_db_offline_clear), so a cancelled or failed
	 * delivery loses nothing */
	sqlite3_bind_text(db->off_select, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->off_select, 2, after_seq);
	while ((rc = sqlite3_step(db->off_select)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(db->off_select, (int)N_COLS);

		row_entry(db->off_select, e);
		n++;
		if (seq > *max_seq)
			*max_seq = seq;
		if (fn && fn(e, arg)) {
			err = -ENOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_err(db, db->odb, rc, "offline");
	sqlite3_reset(db->off_select);
	sqlite3_clear_bindings(db->off_select);
	pthread_mutex_unlock(&db->ops_mu);
	free(e);
	if (err)
		*max_seq = 0;
	return err ? err : n;
}

int jr_db_offline_clear(struct jr_db *db, const char *user, int64_t max_seq)
{
	int rc, err;

	pthread_mutex_lock(&db->ops_mu);
	sqlite3_bind_text(db->off_clear, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->off_clear, 2, max_seq);
	rc = sqlite3_step(db->off_clear);
	err = rc == SQLITE_DONE ? sqlite3_changes(db->odb) : sq_err(db, db->odb, rc, "offline");
	sqlite3_reset(db->off_clear);
	sqlite3_clear_bindings(db->off_clear);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_take_offline(struct jr_db *db, const char *user, jr_db_row_fn *fn, void *arg)
{
	int64_t max_seq;
	int n = jr_db_offline_select(db, user, 0, fn, arg, &max_seq), err;

	if (n > 0) {
		err = jr_db_offline_clear(db, user, max_seq);
		if (err < 0)
			n = err;
	}
	return n;
}

int jr_db_meta_get(struct jr_db *db, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc, err = -ENOENT;

	pthread_mutex_lock(&db->ops_mu);
	rc = sqlite3_prepare_v2(db->odb, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
			err = 0;
		} else if (rc != SQLITE_DONE) {
			err = sq_err(db, db->odb, rc, "meta");
		}
	} else {
		err = sq_err(db, db->odb, rc, "meta");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_meta_set(struct jr_db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	pthread_mutex_lock(&db->ops_mu);
	rc = sqlite3_prepare_v2(db->odb, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	err = rc == SQLITE_DONE ? 0 : sq_err(db, db->odb, rc, "meta");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->ops_mu);
	return err;
}

int jr_db_chat_add(struct jr_db *db, const char *id, const char *from, const char *to,
		   int64_t sent_ms, const char *text)
{
	int rc;

	pthread_mutex_lock(&db->ops_mu);
	sqlite3_bind_text(db->chat_add, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(db->chat_add, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(db->chat_add, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->chat_add, 4, sent_ms);
	sqlite3_bind_text(db->chat_add, 5, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(db->chat_add);
	sqlite3_reset(db->chat_add);
	sqlite3_clear_bindings(db->chat_add);
	pthread_mutex_unlock(&db->ops_mu);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int64_t jr_db_count(struct jr_db *db, const char *table)
{
	char sql[96];
	sqlite3_stmt *st = NULL;
	int64_t n = -EIO;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
		 strcmp(table, "chat_messages") == 0 ? "chat_messages" : "entries");
	pthread_mutex_lock(&db->ops_mu);
	if (sqlite3_prepare_v2(db->odb, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->ops_mu);
	return n;
}

/* ---- retention -------------------------------------------------------------------------- */

/* One rule: find up to JR_DB_CHUNK matching rows after the cursor (a read,
 * no lock held), then change them in one short write transaction, until
 * none are left. The cursor makes the whole run one pass over the table. */
static int run_rule(struct jr_db *db, sqlite3 *s, const char *table, const char *where,
		    const char *change, int64_t cutoff, const atomic_int *stop, uint64_t *count,
		    uint64_t *chunks)
{
	char sql[512];
	sqlite3_stmt *sel = NULL, *chg = NULL;
	int64_t *seqs = malloc(JR_DB_CHUNK * sizeof(*seqs)), cursor = 0;
	int err = 0, rc;

	if (!seqs)
		return -ENOMEM;
	const char *tcol = strcmp(table, "chat_messages") == 0 ? "sent_ms" : "started_ms";

	snprintf(sql, sizeof(sql),
		 "SELECT seq FROM %s WHERE seq > ?1 AND %s < ?2 AND (%s) ORDER BY seq LIMIT %d",
		 table, tcol, where, JR_DB_CHUNK);
	err = prepare(db, s, sql, &sel);
	/* the change repeats the rule: a row that changed since the select (a
	 * note added, delivered meanwhile) no longer matches and stays */
	snprintf(sql, sizeof(sql), change, table, tcol, where);
	if (!err)
		err = prepare(db, s, sql, &chg);
	while (!err) {
		size_t n = 0;

		if (stop && atomic_load(stop)) {
			err = -ECANCELED;
			break;
		}
		sqlite3_bind_int64(sel, 1, cursor);
		sqlite3_bind_int64(sel, 2, cutoff);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW)
			seqs[n++] = sqlite3_column_int64(sel, 0);
		sqlite3_reset(sel);
		if (rc != SQLITE_DONE) {
			err = sq_err(db, s, rc, "retention");
			break;
		}
		if (!n)
			break;
		cursor = seqs[n - 1];
		err = exec(db, s, "BEGIN IMMEDIATE");
		for (size_t i = 0; !err && i < n; i++) {
			sqlite3_bind_int64(chg, 1, seqs[i]);
			sqlite3_bind_int64(chg, 2, cutoff);
			rc = sqlite3_step(chg);
			if (rc != SQLITE_DONE)
				err = sq_err(db, s, rc, "retention");
			else
				*count += (uint64_t)sqlite3_changes(s);
			sqlite3_reset(chg);
		}
		if (!err)
			err = exec(db, s, "COMMIT");
		if (err)
			exec(db, s, "ROLLBACK");
		(*chunks)++;
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(chg);
	free(seqs);
	return err;
}

static int64_t cutoff_ms(const struct jr_retention_rules *r, int days)
{
	return r->now_ms - (int64_t)days * 86400000ll;
}

int jr_db_retention(struct jr_db *db, const struct jr_retention_rules *r, const atomic_int *stop,
		    struct jr_retention_result *res)
{
	static const char del[] = "DELETE FROM %s WHERE seq = ?1 AND %s < ?2 AND (%s)";
	static const char unoff[] = "UPDATE %s SET offline = 0 WHERE seq = ?1 AND %s < ?2 AND (%s)";
	uint64_t t0 = now_ns();
	sqlite3 *s = NULL;
	int err;

	memset(res, 0, sizeof(*res));
	err = open_conn(db, &s, false, true);
	/* the offline journal first: its period is the shortest */
	if (!err && r->offline_days > 0)
		err = run_rule(db, s, "entries", "offline = 1", unoff,
			       cutoff_ms(r, r->offline_days), stop, &res->offline_deleted,
			       &res->chunks);
	if (!err && r->internal_days > 0)
		err = run_rule(db, s, "entries", "internal = 1 AND note = ''", del,
			       cutoff_ms(r, r->internal_days), stop, &res->calls_deleted,
			       &res->chunks);
	if (!err && r->external_days > 0)
		err = run_rule(db, s, "entries", "internal = 0 AND note = ''", del,
			       cutoff_ms(r, r->external_days), stop, &res->calls_deleted,
			       &res->chunks);
	if (!err && r->noted_days > 0)
		err = run_rule(db, s, "entries", "note <> ''", del, cutoff_ms(r, r->noted_days),
			       stop, &res->calls_deleted, &res->chunks);
	if (!err && r->chat_days > 0)
		err = run_rule(db, s, "chat_messages", "1", del, cutoff_ms(r, r->chat_days), stop,
			       &res->chat_deleted, &res->chunks);
	sqlite3_close(s);
	res->ms = (now_ns() - t0) / 1000000;
	return err;
}
