/*
 * plugins/journal/jr_db.h - the journal's SQLite database.
 *
 * One file (STATE_DIR/journal.db by default) in WAL mode with
 * synchronous=NORMAL: a commit is in the WAL once COMMIT returns, so a
 * killed process loses nothing it committed and never leaves a torn
 * database (a power cut may lose the last commits, never consistency).
 *
 * Three kinds of connection, so that no caller waits for another kind:
 *
 *   the writer, owned by the writer thread: jr_db_push() copies an entry
 *   into a queue under a mutex and returns; the thread commits what is
 *   queued in one transaction when 1,000 rows are waiting or the oldest
 *   waited JR_FLUSH_MS / 2, so every entry is on disk within JR_FLUSH_MS
 *   of its push (the bound the plugin promises);
 *
 *   the ops connection for queries and small changes (update, remove,
 *   take offline), used by whichever pool thread runs an op, one op at a
 *   time (a mutex); an op first waits until everything pushed before it
 *   was committed, so a query sees the entries appended before it;
 *
 *   a retention connection opened per run, deleting in chunks of
 *   JR_DB_CHUNK rows per transaction so the writer never waits long.
 *
 * The schema has a version (table schema_version); migrations run at open,
 * forward only, each in its own transaction together with the version it
 * reaches. A database newer than this code is refused (-EPROTO), never
 * touched.
 *
 * Nothing here knows the host: the plugin passes a log function, and the
 * unit tests and the benchmark use the same code without a server.
 */
#ifndef JR_DB_H
#define JR_DB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jr.h"

#define JR_SCHEMA_VERSION  4	/* the version this code migrates to */
#define JR_DB_BATCH	   1000 /* a full batch is committed at once */
#define JR_DB_COMMIT_TRIES 4	/* a batch commit: the first try and three retries */
#define JR_DB_CHUNK	   2000 /* rows deleted per retention transaction */

struct jr_db;

/* level: enum ucs_log_level. Called from any thread. */
typedef void(jr_db_log_fn)(void *arg, int level, const char *msg);

struct jr_db_counters {
	uint64_t appended;  /* pushed */
	uint64_t committed; /* on disk */
	uint64_t batches;   /* commits of the writer */
	uint64_t failed;    /* rows lost because a commit failed */
	uint64_t queued;    /* pushed, not yet committed */
	uint64_t max_batch;
	uint64_t last_commit_us; /* duration of the last commit */
	uint64_t writer_cpu_us;	 /* CPU time the writer thread spent committing */
	int broken;		 /* the writer gave up: -EIO on push */
};

/* Opens (creates) the database, migrates it and starts the writer thread.
 * -EPROTO: the file's schema is newer than this code; -EIO: SQLite failed
 * (logged with SQLite's message). */
int jr_db_open(const char *path, jr_db_log_fn *log, void *log_arg, struct jr_db **out);
/* Commits what is queued, stops the writer, closes. NULL is ignored. */
void jr_db_close(struct jr_db *db);

/* Queues a copy of e. Any thread. -EIO (broken), -ESHUTDOWN (closing),
 * -EINVAL (no id or user), -ENOMEM. */
int jr_db_push(struct jr_db *db, const struct jr_entry *e);
/* Waits until every entry pushed before the call is committed (or failed);
 * 0, or -EIO when the writer broke. */
int jr_db_sync(struct jr_db *db);
void jr_db_counters(struct jr_db *db, struct jr_db_counters *out);
int jr_db_version(struct jr_db *db);
const char *jr_db_path(struct jr_db *db);

/* ---- ops (any thread; serialised on the ops connection) --------------- */

struct jr_db_query {
	const char *user; /* whose entries (a user id) */
	int64_t since;	  /* started_ms >= since (0: any) */
	int64_t until;	  /* started_ms < until (0: any) */
	int limit;
	bool missed;	   /* unanswered only */
	bool hide_private; /* leave out private entries */
	const char *text;  /* "" or NULL: no text filter */
};

/* Called per row, newest first; a non-zero return stops the query. */
typedef int(jr_db_row_fn)(const struct jr_entry *e, void *arg);

/* Rows of q; the count of rows, -ENOMEM when fn returned nonzero, or -EIO. */
int jr_db_query(struct jr_db *db, const struct jr_db_query *q, jr_db_row_fn *fn, void *arg);
/* One entry by id; -ENOENT. */
int jr_db_get(struct jr_db *db, const char *id, struct jr_entry *out);
/* Changes note/private/read (UCS_JU_* in set) of an entry; with mask also
 * its remote_number, remote_display, remote_name, remote_user and
 * answered_number (the private-call mode applied when an entry is marked
 * private later). out gets the changed entry. -ENOENT. */
int jr_db_update(struct jr_db *db, const char *id, uint32_t set, const char *note, int private_call,
		 int read, const struct jr_entry *mask, struct jr_entry *out);
/* -ENOENT when no such entry. */
int jr_db_remove(struct jr_db *db, const char *id);
/* The user's offline entries with a seq above after_seq (those up to it
 * are being cleared already), oldest first, through fn (a nonzero return
 * stops with -ENOMEM); they stay offline. *max_seq gets the highest row
 * seq read (0 for none), for jr_db_offline_clear. The count, or -errno. */
int jr_db_offline_select(struct jr_db *db, const char *user, int64_t after_seq, jr_db_row_fn *fn,
			 void *arg, int64_t *max_seq);
/* Ends the offline state of the user's entries up to max_seq (the ones a
 * select handed out; later ones stay offline). The count, or -EIO. */
int jr_db_offline_clear(struct jr_db *db, const char *user, int64_t max_seq);
/* Select and clear in one call (tests, tools). */
int jr_db_take_offline(struct jr_db *db, const char *user, jr_db_row_fn *fn, void *arg);

/* ---- retention (its own connection; any thread) ---------------------- */

struct jr_retention_rules {
	int internal_days, external_days, noted_days, chat_days, offline_days;
	int64_t now_ms; /* the reference time */
};

struct jr_retention_result {
	uint64_t calls_deleted;
	uint64_t offline_deleted; /* left the offline journal (still in the journal) */
	uint64_t chat_deleted;
	uint64_t chunks;
	uint64_t ms;
};

/* Applies the rules in chunks; stops early (-ECANCELED) when *stop is set.
 * 0 or a negative errno; res holds what was done either way. */
int jr_db_retention(struct jr_db *db, const struct jr_retention_rules *r, const atomic_int *stop,
		    struct jr_retention_result *res);

/* The meta table (key/value text kept across restarts): -ENOENT. Any
 * thread; a short statement on the ops connection. */
int jr_db_meta_get(struct jr_db *db, const char *key, char *buf, size_t cap);
int jr_db_meta_set(struct jr_db *db, const char *key, const char *value);

/* Chat messages (for the chat plugin later and the retention test). */
int jr_db_chat_add(struct jr_db *db, const char *id, const char *from, const char *to,
		   int64_t sent_ms, const char *text);
int64_t jr_db_count(struct jr_db *db, const char *table);

#endif
