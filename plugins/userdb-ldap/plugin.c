/*
 * plugins/userdb-ldap/plugin.c - the userdb-ldap plugin: the store core of
 * userdb-common fed from an LDAP directory, synchronised periodically.
 *
 * Scheduling. One timer drives the reads: the first right after start,
 * then every sync_interval seconds; after a failure it retries after 1, 2,
 * 4 ... seconds up to retry_max. Every directory operation is a job in the
 * host's thread pool, one at a time (a sync, or a batch of write-backs);
 * the connection stays open between jobs. Results come back in the job's
 * done() on the loop thread, where changed directory documents go to the
 * store core (which builds the snapshot on a worker thread and publishes
 * the per-object changes, or one UCS_UD_RELOADED when more than 256
 * objects changed at once).
 *
 * Outages. A failed sync keeps the last good directory documents: nothing
 * disappears because a domain controller reboots. The status reports
 * online = 0 with the reason; the log says so once when it happens and
 * once when the directory is back (and again only when the reason
 * changes), never once per retry. The last good read is also on disk
 * (lud_cache.c), so a restart during an outage still serves its users:
 * it goes to the store core with udb_core_new, so the first snapshot -
 * the one every other plugin acquires in its init - already holds them.
 *
 * Deleted objects. ucsd's own settings of an object that left the
 * directory are kept keep_deleted_days; then udb_core_forget drops them
 * (file and memory) - after the core has applied the read that no longer
 * has the object, so the object never shows up without its settings.
 *
 * The loop thread. Directory documents come in sets of ten thousand;
 * freeing one (the previous read, a read that changed nothing) takes
 * tens of milliseconds, so the worker frees what it can and the loop
 * thread hands the rest to udb_core_dispose. SIGHUP applies every key,
 * bind_business, bind_business2 and write_back included (the core
 * rebuilds the snapshot with them).
 *
 * Write-back. With write_back on, a put_json that changes a user's phone
 * number is accepted by the core's write_back hook, which only queues it:
 * the core validates the rest of the document after the hook, so the
 * queue is checked on the next loop iteration against what the store
 * then shows (a put that failed leaves nothing to write). The LDAP modify
 * runs as a job, one per entry and attribute (business and business 2
 * share telephoneNumber in OpenLDAP: both are written together, in their
 * places). A sync that started before a write-back was accepted could
 * carry the old value: its result is dropped and the sync runs again
 * after the write.
 *
 * A write the directory refuses (or lud_phone_values does) leaves the
 * store showing the refused number: the core took it at once. The read
 * that follows equals the plugin's own copy of the last read - the
 * directory did not change - so change detection alone would hand the
 * core nothing and the number would stay. So a failed write-back sets
 * `reapply`: the next good read goes to the core whatever it compares
 * to, and the directory's values replace the refused ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ucs/ucs.h>

#include "lud.h"
#include "udb.h"

enum job_type {
	JOB_SYNC = 1,
	JOB_WRITE = 2,
};

/* The configuration, shared with the job that uses it (a SIGHUP may
 * replace it while a job runs). */
struct confref {
	atomic_int refs;
	struct lud_conf c;
};

/* One phone number to write back. */
struct wb {
	struct wb *next;
	char id[UDB_ID_MAX + 1];
	char *dn;
	char *path;
	char *value;
	int field;
	int result;
	int done;	 /* written, refused or superseded */
	struct wb *lead; /* the first write-back of its modify */
	char err[256];
};

struct lud;

struct job {
	struct lud *p;
	int type;
	struct confref *conf;
	struct ucs_work *work;
	uint64_t wb_seq; /* write-backs accepted when the sync started */
	int reapply;	 /* hand the read to the core even when it did not change */
	int64_t started_ms, took_ms;
	/* sync */
	int has_previous;
	struct udb_docs previous;
	json_t *pictures_in;
	json_t *vanished;
	struct lud_sync_result res;
	struct udb_docs mine; /* the plugin's copy of res.docs (made on the worker) */
	int has_mine;
	int status;
	int changed;
	json_t *expired; /* "kind:id" of objects gone longer than keep_deleted_days */
	char cache_err[256];
	/* write-back */
	struct wb *writes;
};

struct lud {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct confref *conf;
	struct udb_core *core;
	struct udb_core_ops ops;
	char *store_dir, *cache_path, *picture_dir, *presence_domain;
	/* touched only by the running job (and fini) */
	struct lud_conn *conn;
	struct confref *conn_conf;
	atomic_int cancel;
	/* loop thread */
	struct job *job;
	int has_dir;
	struct udb_docs dir; /* the last good directory documents */
	json_t *pictures, *vanished;
	struct ucs_timer *timer;
	int sync_wanted;
	unsigned failures_in_row;
	struct wb *pending; /* accepted by the hook, not yet checked */
	struct wb *queued;  /* checked, waiting for a job */
	uint64_t wb_seq;
	int flush_armed;
	int reapply; /* a write-back failed: the store shows a value the directory has not */
	int online, limit_hit, synced_once, stopping;
	json_t *expired; /* to forget once the core has applied the read */
	int last_err;
	size_t last_skipped, last_bad;
	/* what to log once the core has applied a read (the line means: the
	 * data is in the snapshot now) */
	char applied_log[512];
};

static void kick(struct lud *p);

static struct confref *conf_get(struct confref *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

static void conf_put(struct confref *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		lud_conf_free(&c->c);
		free(c);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wb_free(struct wb *w)
{
	while (w) {
		struct wb *next = w->next;

		free(w->dn);
		free(w->path);
		free(w->value);
		free(w);
		w = next;
	}
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->has_previous)
		udb_docs_clear(&j->previous);
	json_decref(j->pictures_in);
	json_decref(j->vanished);
	json_decref(j->expired);
	if (j->has_mine)
		udb_docs_clear(&j->mine);
	lud_sync_result_clear(&j->res);
	wb_free(j->writes);
	conf_put(j->conf);
	free(j);
}

/* job_free on the loop thread: the directory documents a job holds go to
 * a worker (the last reference to a read frees ten thousand documents). */
static void job_release(struct lud *p, struct job *j)
{
	if (p->core && !p->stopping) {
		if (j->has_previous) {
			udb_core_dispose(p->core, &j->previous, j->pictures_in);
			j->has_previous = 0;
			j->pictures_in = NULL;
		}
		if (j->has_mine) {
			udb_core_dispose(p->core, &j->mine, NULL);
			j->has_mine = 0;
		}
		if (j->res.docs || j->res.pictures) {
			udb_core_dispose(p->core, j->res.docs, j->res.pictures);
			free(j->res.docs);
			j->res.docs = NULL;
			j->res.pictures = NULL;
		}
	}
	job_free(j);
}

static void log_at(struct lud *p, enum ucs_log_level level, const char *fmt, ...) UCS_PRINTF(3, 4);
static void log_at(struct lud *p, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p->host->log->logv(p->self, level, fmt, ap);
	va_end(ap);
}

static size_t dir_count(const struct lud *p, int ud_kind)
{
	return p->has_dir ? udb_docs_count(&p->dir, ud_kind) : 0;
}

/* ---- the worker side ---- */

/* The last good read is never edited, only replaced: a job can share its
 * containers by reference instead of copying ten thousand keys on the loop
 * thread. */
static void docs_share(struct udb_docs *dst, const struct udb_docs *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX; k++)
		dst->kind[k] = json_incref(src->kind[k]);
}

static int docs_equal(const struct udb_docs *a, const struct udb_docs *b)
{
	for (int k = 0; k < LUD_NKINDS; k++) {
		int ud = lud_ud_kind(k);

		if (!json_equal(a->kind[ud], b->kind[ud]))
			return 0;
	}
	return 1;
}

static void sync_work(struct job *j)
{
	struct lud *p = j->p;
	struct lud_sync_in in = {
		.conf = &j->conf->c,
		.conn = &p->conn,
		.cancel = &p->cancel,
		.previous = j->has_previous ? &j->previous : NULL,
		.picture_dir = p->picture_dir,
		.pictures = j->pictures_in,
		.presence_domain = p->presence_domain,
	};
	struct lud_cache cache;
	json_t *vanished_copy;
	int pictures_mapped = lud_map_has(&j->conf->c.map, lud_field_index(LUD_USERS, "picture"));

	j->status = lud_sync_run(&in, &j->res);
	if (j->status)
		return;
	j->changed = j->reapply || !j->has_previous || !docs_equal(&j->previous, j->res.docs) ||
		     !json_equal(j->pictures_in, j->res.pictures);
	/* res.docs goes to the store core, which edits its containers (a
	 * write-back shows at once): the plugin keeps its own */
	if (j->changed && udb_docs_copy(&j->mine, j->res.docs) == 0)
		j->has_mine = 1;
	vanished_copy = json_deep_copy(j->vanished);
	j->expired = json_array();
	lud_vanished_update(j->vanished, j->has_previous ? &j->previous : NULL, j->res.docs,
			    (int64_t)time(NULL), j->conf->c.keep_deleted_days,
			    pictures_mapped ? p->picture_dir : NULL, j->expired);
	if (j->changed || !json_equal(vanished_copy, j->vanished)) {
		cache.docs = j->res.docs;
		cache.pictures = j->res.pictures;
		cache.vanished = j->vanished;
		cache.synced = (int64_t)time(NULL);
		lud_cache_save(p->cache_path, &cache, j->cache_err, sizeof(j->cache_err));
	}
	json_decref(vanished_copy);
	if (!j->changed) {
		/* nothing for the loop thread: the read is freed here */
		lud_sync_result_clear_docs(&j->res);
	}
}

/* 1 when two write-backs go into one modify: the same entry, and fields
 * on the same attribute. */
static int same_write(const struct lud_conf *c, const struct wb *a, const struct wb *b)
{
	return !strcmp(a->dn, b->dn) && lud_map_has(&c->map, a->field) &&
	       lud_map_has(&c->map, b->field) &&
	       !strcasecmp(c->map.attrs[a->field][0], c->map.attrs[b->field][0]);
}

static void write_work(struct job *j)
{
	const struct lud_conf *c = &j->conf->c;
	struct lud *p = j->p;

	/* a later value of the same field supersedes an earlier one: that one
	 * is neither written nor logged */
	for (struct wb *w = j->writes; w; w = w->next) {
		for (struct wb *x = w->next; x; x = x->next) {
			if (x->field == w->field && !strcmp(x->dn, w->dn)) {
				w->result = -ECANCELED;
				w->done = 1;
				break;
			}
		}
	}
	for (struct wb *w = j->writes; w; w = w->next) {
		struct lud_phone_change ch[LUD_NFIELDS];
		size_t n = 0;

		if (w->done)
			continue;
		if (atomic_load(&p->cancel)) {
			w->result = -ECANCELED;
			w->done = 1;
			continue;
		}
		/* the entry's changes on the same attribute: one modify */
		for (struct wb *x = w; x; x = x->next) {
			if (!x->done && (x == w || same_write(c, w, x)) && n < LUD_NFIELDS) {
				ch[n++] = (struct lud_phone_change){x->field, x->value};
				x->lead = w;
			}
		}
		w->result = lud_write_phones(c, &p->conn, &p->cancel, w->dn, ch, n, w->err,
					     sizeof(w->err));
		for (struct wb *x = w; x; x = x->next) {
			if (x->lead != w)
				continue;
			x->done = 1;
			x->result = w->result;
			if (x != w)
				snprintf(x->err, sizeof(x->err), "%s", w->err);
		}
	}
}

static void job_work(void *arg)
{
	struct job *j = arg;
	struct lud *p = j->p;

	/* a new configuration: a new connection */
	if (p->conn_conf != j->conf) {
		lud_conn_close(p->conn);
		p->conn = NULL;
		conf_put(p->conn_conf);
		p->conn_conf = conf_get(j->conf);
	}
	if (j->type == JOB_SYNC)
		sync_work(j);
	else
		write_work(j);
	j->took_ms = mono_ms() - j->started_ms;
}

/* ---- results on the loop thread ---- */

static void arm(struct lud *p, uint64_t ms)
{
	if (p->timer && !p->stopping)
		p->host->timer->start(p->timer, ms, 0);
}

static void set_message(struct lud *p, const char *fmt, ...) UCS_PRINTF(2, 3);
static void set_message(struct lud *p, const char *fmt, ...)
{
	struct ucs_ud_status *st = udb_core_status(p->core);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
}

/* Drops ucsd's settings of the objects gone longer than keep_deleted_days
 * (loop thread; after the core applied the read without them). */
static void forget_expired(struct lud *p)
{
	size_t i, n = 0;
	json_t *v;

	if (!p->expired || !p->core)
		return;
	json_array_foreach(p->expired, i, v)
	{
		const char *key = json_string_value(v), *id;
		int kind, rc = -EINVAL;

		if (key && lud_vanished_key(key, &kind, &id) == 0)
			rc = udb_core_forget(p->core, kind, id);
		if (rc == 0)
			n++;
		if (rc == -EIO) /* logged by the store; tried again at the next sync */
			continue;
		if (key && p->vanished)
			json_object_del(p->vanished, key);
	}
	json_array_clear(p->expired);
	if (n)
		log_at(p, UCS_LOG_INFO,
		       "removed ucsd's settings of %zu objects that left the directory more than "
		       "%d days ago",
		       n, p->conf->c.keep_deleted_days);
}

static void add_expired(struct lud *p, json_t *keys)
{
	if (!keys || !json_array_size(keys))
		return;
	if (!p->expired)
		p->expired = json_array();
	if (p->expired)
		json_array_extend(p->expired, keys);
}

static void directory_set(int status, void *arg)
{
	struct lud *p = arg;

	if (p->stopping)
		return;
	if (status && status != -ECANCELED)
		log_at(p, UCS_LOG_ERROR, "the directory data could not be applied: %s",
		       strerror(-status));
	else if (!status && p->applied_log[0])
		log_at(p, UCS_LOG_INFO, "%s", p->applied_log);
	p->applied_log[0] = '\0';
	forget_expired(p);
}

static void sync_failed(struct lud *p, struct job *j)
{
	struct ucs_ud_status *st = udb_core_status(p->core);
	unsigned shift = p->failures_in_row < 16 ? p->failures_in_row : 16;
	uint64_t delay = 1ull << shift;

	if (delay > (uint64_t)p->conf->c.retry_max_s)
		delay = (uint64_t)p->conf->c.retry_max_s;
	p->failures_in_row++;
	st->failures++;
	st->online = 0;
	set_message(p, "%s (serving the last good data)", j->res.err);
	if (p->online || !p->synced_once || p->last_err != j->status) {
		if (p->has_dir)
			log_at(p, UCS_LOG_ERROR,
			       "directory unavailable: %s; serving the last good data (%zu users, "
			       "%zu groups, %zu computers) and retrying",
			       j->res.err, dir_count(p, UCS_UD_USER), dir_count(p, UCS_UD_GROUP),
			       dir_count(p, UCS_UD_COMPUTER));
		else
			log_at(p, UCS_LOG_ERROR,
			       "directory unavailable: %s; no directory data yet, retrying",
			       j->res.err);
	} else {
		log_at(p, UCS_LOG_DEBUG, "retry in %llu s: %s", (unsigned long long)delay,
		       j->res.err);
	}
	p->online = 0;
	p->synced_once = 1;
	p->last_err = j->status;
	arm(p, delay * 1000);
}

static void report_problems(struct lud *p, const struct lud_sync_result *r)
{
	if (r->skipped && r->skipped != p->last_skipped)
		log_at(p, UCS_LOG_WARNING, "%zu directory entries left out (first: %s)", r->skipped,
		       r->first_skipped);
	if (r->stats.bad_values && r->stats.bad_values != p->last_bad)
		log_at(p, UCS_LOG_WARNING, "%zu directory values ignored (first: %s)",
		       r->stats.bad_values, r->stats.first_bad);
	p->last_skipped = r->skipped;
	p->last_bad = r->stats.bad_values;
}

static void sync_succeeded(struct lud *p, struct job *j)
{
	struct ucs_ud_status *st = udb_core_status(p->core);
	const struct lud_conf *c = &j->conf->c;
	struct lud_sync_result *r = &j->res;
	int was_online = p->online, first = !p->synced_once;
	int apply = j->changed || !p->has_dir;

	p->failures_in_row = 0;
	p->last_err = 0;
	report_problems(p, r);
	if (j->cache_err[0])
		log_at(p, UCS_LOG_WARNING,
		       "%s: a restart during an outage would start with "
		       "older directory data",
		       j->cache_err);
	add_expired(p, j->expired);
	if (first || !was_online)
		snprintf(p->applied_log, sizeof(p->applied_log),
			 "%s %zu users, %zu groups, %zu computers from %s in %lld ms",
			 first ? "read" : "directory available again:", r->count[LUD_USERS],
			 r->count[LUD_GROUPS], r->count[LUD_COMPUTERS], c->url,
			 (long long)j->took_ms);
	else if (j->changed)
		snprintf(p->applied_log, sizeof(p->applied_log),
			 "sync: %zu users, %zu groups, %zu computers (changed) in %lld ms",
			 r->count[LUD_USERS], r->count[LUD_GROUPS], r->count[LUD_COMPUTERS],
			 (long long)j->took_ms);
	else
		log_at(p, UCS_LOG_DEBUG, "sync: no change (%lld ms)", (long long)j->took_ms);
	if (r->limit_hit && !p->limit_hit)
		log_at(p, UCS_LOG_WARNING,
		       "the directory holds %zu objects, more than max_objects (%d): only %d are "
		       "used",
		       r->found, c->max_objects, c->max_objects);
	else if (!r->limit_hit && p->limit_hit)
		log_at(p, UCS_LOG_INFO, "the directory is within max_objects (%d) again",
		       c->max_objects);
	p->online = 1;
	p->synced_once = 1;
	p->limit_hit = r->limit_hit;
	st->online = 1;
	st->limit_hit = r->limit_hit;
	if (r->limit_hit)
		set_message(p,
			    "object limit reached: the directory holds %zu objects, max_objects "
			    "is %d",
			    r->found, c->max_objects);
	else
		st->message[0] = '\0';
	if (apply) {
		if (j->has_mine) {
			if (p->has_dir)
				udb_core_dispose(p->core, &p->dir, NULL);
			p->dir = j->mine;
			p->has_dir = 1;
			j->has_mine = 0;
			if (j->reapply)
				p->reapply = 0;
			udb_core_set_directory(p->core, r->docs, directory_set, p);
		} else {
			log_at(p, UCS_LOG_ERROR, "out of memory applying the directory data");
		}
	} else {
		/* nothing to hand to the core (it counts the syncs it applies) */
		st->last_sync = (int64_t)time(NULL);
		st->syncs++;
	}
	if (!apply && p->applied_log[0]) {
		/* the directory is back unchanged: the data is in */
		log_at(p, UCS_LOG_INFO, "%s", p->applied_log);
		p->applied_log[0] = '\0';
	}
	if (r->pictures) {
		/* a read that changed nothing left its (equal) pictures on the worker */
		udb_core_dispose(p->core, NULL, p->pictures);
		p->pictures = json_incref(r->pictures);
	}
	json_decref(p->vanished);
	p->vanished = json_incref(j->vanished);
	if (!apply)
		forget_expired(p);
	arm(p, (uint64_t)c->sync_interval_s * 1000);
}

static void write_done(struct lud *p, struct job *j)
{
	int failed = 0;

	for (struct wb *w = j->writes; w; w = w->next) {
		if (w->result == -ECANCELED)
			continue;
		if (!w->result) {
			log_at(p, UCS_LOG_INFO, "wrote %s \"%s\" of %s to the directory", w->path,
			       w->value, w->dn);
			continue;
		}
		failed = 1;
		log_at(p, UCS_LOG_ERROR,
		       "could not write %s of %s to the directory: %s; the directory's value "
		       "returns with the next sync",
		       w->path, w->dn, w->err);
	}
	if (failed) {
		/* the store shows the refused value: the next read replaces it
		 * even though it equals the last one */
		p->reapply = 1;
		p->sync_wanted = 1;
		p->host->timer->stop(p->timer);
	}
}

static void job_done(int status, void *arg)
{
	struct job *j = arg;
	struct lud *p = j->p;

	p->job = NULL;
	if (status == -ECANCELED || p->stopping) {
		job_free(j); /* stopping: no loop to keep free */
		return;
	}
	if (j->type == JOB_WRITE) {
		write_done(p, j);
	} else if (j->status == -ECANCELED) {
		/* not ours to report */
	} else if (j->status) {
		sync_failed(p, j);
	} else if (j->wb_seq != p->wb_seq) {
		/* a write-back was accepted meanwhile: this read may predate it */
		p->sync_wanted = 1;
	} else {
		sync_succeeded(p, j);
	}
	job_release(p, j);
	kick(p);
}

/* Starts the next job: write-backs first, then a wanted sync. */
static void kick(struct lud *p)
{
	struct job *j;
	int err;

	if (p->job || p->stopping || (!p->queued && !p->sync_wanted))
		return;
	j = calloc(1, sizeof(*j));
	if (!j) {
		arm(p, 1000); /* try again */
		return;
	}
	j->p = p;
	j->conf = conf_get(p->conf);
	j->started_ms = mono_ms();
	if (p->queued) {
		j->type = JOB_WRITE;
		j->writes = p->queued;
		p->queued = NULL;
	} else {
		j->type = JOB_SYNC;
		j->wb_seq = p->wb_seq;
		j->reapply = p->reapply;
		if (p->has_dir) {
			docs_share(&j->previous, &p->dir);
			j->has_previous = 1;
		}
		j->pictures_in = p->pictures ? json_incref(p->pictures) : json_object();
		j->vanished = p->vanished ? json_deep_copy(p->vanished) : json_object();
		if (!j->pictures_in || !j->vanished) {
			job_free(j);
			arm(p, 1000);
			return;
		}
		p->sync_wanted = 0;
	}
	p->job = j;
	err = p->host->work->queue(p->self, &j->work, job_work, job_done, j);
	if (err) {
		p->job = NULL;
		log_at(p, UCS_LOG_ERROR, "cannot queue directory work: %s", strerror(-err));
		if (j->type == JOB_WRITE) {
			p->queued = j->writes;
			j->writes = NULL;
		} else {
			p->sync_wanted = 1;
		}
		job_free(j);
		arm(p, 1000);
	}
}

static void on_timer(struct ucs_timer *t, void *arg)
{
	struct lud *p = arg;

	(void)t;
	p->sync_wanted = 1;
	kick(p);
}

/* ---- write-back ---- */

/* The phone field a document path names, or -1. */
static int phone_field(const char *path)
{
	for (int i = 0; i < LUD_NFIELDS; i++) {
		const struct lud_field *f = &lud_fields[i];

		if (f->kind == LUD_USERS && (f->flags & LUD_FF_WRITABLE) && f->path &&
		    !strcmp(f->path, path))
			return i;
	}
	return -1;
}

/* The write-backs the hook accepted, checked against what the store shows
 * now: the core validated the rest of the put after the hook, and a put
 * that failed there left the old value. */
static void flush_pending(void *arg)
{
	struct lud *p = arg;
	const struct ucs_userdb_api *api = udb_core_api();
	struct wb *w = p->pending, **tail;

	p->flush_armed = 0;
	p->pending = NULL;
	if (p->stopping) {
		wb_free(w);
		return;
	}
	for (tail = &p->queued; *tail; tail = &(*tail)->next)
		;
	while (w) {
		struct wb *next = w->next;
		int n = api->get_json(UCS_UD_USER, w->id, NULL, 0);
		char *buf = n > 0 ? malloc((size_t)n + 1) : NULL;
		json_t *doc = NULL;
		const json_t *now;

		if (buf && api->get_json(UCS_UD_USER, w->id, buf, (size_t)n + 1) == n)
			doc = json_loadb(buf, (size_t)n, 0, NULL);
		free(buf);
		now = doc ? udb_doc_get_path(doc, w->path) : NULL;
		w->next = NULL;
		if (now && json_is_string(now) && !strcmp(json_string_value(now), w->value)) {
			*tail = w;
			tail = &w->next;
		} else {
			log_at(p, UCS_LOG_DEBUG, "write-back of %s of %s dropped: the put failed",
			       w->path, w->dn);
			wb_free(w);
		}
		json_decref(doc);
		w = next;
	}
	kick(p);
}

static int write_back_hook(void *arg, int kind, const char *id, const char *path,
			   const json_t *value)
{
	struct lud *p = arg;
	const struct lud_conf *c = &p->conf->c;
	const char *dn;
	struct wb *w, **tail;
	int field = phone_field(path);

	if (kind != UCS_UD_USER || !c->write_back || field < 0 || !lud_map_has(&c->map, field))
		return -EROFS;
	if (!json_is_string(value) || json_string_length(value) > UDB_TEXT_MAX ||
	    !lud_utf8_valid(json_string_value(value), json_string_length(value)))
		return -EROFS;
	dn = p->has_dir ? json_string_value(json_object_get(
				  json_object_get(p->dir.kind[UCS_UD_USER], id), "dn"))
			: NULL;
	if (!dn || !*dn)
		return -EROFS;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->dn = strdup(dn);
	w->path = strdup(path);
	w->value = strdup(json_string_value(value));
	w->field = field;
	if (!w->dn || !w->path || !w->value) {
		wb_free(w);
		return -ENOMEM;
	}
	for (tail = &p->pending; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	/* a sync already running may carry the old value */
	p->wb_seq++;
	if (!p->flush_armed) {
		if (p->host->timer->once(p->self, 0, flush_pending, p) != 0) {
			*tail = NULL;
			wb_free(w);
			return -ENOMEM;
		}
		p->flush_armed = 1;
	}
	return 0;
}

/* ---- lifecycle ---- */

static int make_paths(struct lud *p)
{
	const char *state = p->host->env->state_dir();
	const char *domain = p->host->env->presence_domain();

	if (asprintf(&p->store_dir, "%s/userdb-ldap", state) < 0) {
		p->store_dir = NULL;
		return -ENOMEM;
	}
	if (asprintf(&p->cache_path, "%s/directory.json", p->store_dir) < 0) {
		p->cache_path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&p->picture_dir, "%s/pictures", p->store_dir) < 0) {
		p->picture_dir = NULL;
		return -ENOMEM;
	}
	p->presence_domain = strdup(domain ? domain : "");
	if (!p->presence_domain)
		return -ENOMEM;
	if (mkdir(p->store_dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int read_conf(struct lud *p, const struct ucs_cfg *section, struct confref **out)
{
	struct confref *c = calloc(1, sizeof(*c));
	char err[512];
	int rc;

	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	rc = lud_conf_read(&c->c, p->host->cfg, section, err, sizeof(err));
	if (rc) {
		log_at(p, UCS_LOG_ERROR, "%s", err);
		free(c);
		return rc;
	}
	if (!c->c.tls_verify)
		log_at(p, UCS_LOG_WARNING,
		       "tls_verify is off: the directory's certificate is not checked");
	if (c->c.allow_plain && !c->c.starttls && strstr(c->c.url, "ldap://"))
		log_at(p, UCS_LOG_WARNING,
		       "allow_plain: the connection to %s is not encrypted (password and data "
		       "in clear text)",
		       c->c.url);
	*out = c;
	return 0;
}

/* The last good read from disk: served until the first sync succeeds. */
static void load_cache(struct lud *p)
{
	struct lud_cache cache;
	struct udb_docs mine;
	char err[512];
	int rc = lud_cache_load(p->cache_path, &cache, err, sizeof(err));

	if (rc == -ENOENT)
		return;
	if (rc) {
		log_at(p, UCS_LOG_WARNING, "the directory cache is unusable, ignored: %s", err);
		return;
	}
	/* settings of objects gone for too long: dropped once the core is up */
	p->expired = json_array();
	lud_vanished_update(cache.vanished, NULL, NULL, (int64_t)time(NULL),
			    p->conf->c.keep_deleted_days, NULL, p->expired);
	if (udb_docs_copy(&mine, cache.docs) == 0) {
		p->dir = mine;
		p->has_dir = 1;
		p->pictures = json_incref(cache.pictures);
		p->vanished = json_incref(cache.vanished);
		log_at(p, UCS_LOG_INFO,
		       "%zu users, %zu groups, %zu computers from the last directory read (%s)",
		       udb_docs_count(&mine, UCS_UD_USER), udb_docs_count(&mine, UCS_UD_GROUP),
		       udb_docs_count(&mine, UCS_UD_COMPUTER), p->cache_path);
	}
	lud_cache_clear(&cache);
}

static void lud_free(struct lud *p)
{
	if (!p)
		return;
	job_free(p->job);
	wb_free(p->pending);
	wb_free(p->queued);
	lud_conn_close(p->conn);
	conf_put(p->conn_conf);
	udb_core_free(p->core);
	if (p->has_dir)
		udb_docs_clear(&p->dir);
	json_decref(p->pictures);
	json_decref(p->vanished);
	json_decref(p->expired);
	conf_put(p->conf);
	free(p->store_dir);
	free(p->cache_path);
	free(p->picture_dir);
	free(p->presence_domain);
	free(p);
}

static uint32_t user_flags(const struct lud_conf *c)
{
	return (c->bind_business ? UCS_UD_BIND_BUSINESS : 0) |
	       (c->bind_business2 ? UCS_UD_BIND_BUSINESS2 : 0);
}

static int lud_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct lud *p = calloc(1, sizeof(*p));
	struct udb_core_cfg cfg = {.size = sizeof(cfg)};
	struct udb_docs handed;
	int err;

	if (!p)
		return -ENOMEM;
	p->self = self;
	p->host = host;
	atomic_init(&p->cancel, 0);
	p->online = 1;
	err = read_conf(p, host->cfg->section(self), &p->conf);
	if (err)
		goto out;
	err = make_paths(p);
	if (err) {
		log_at(p, UCS_LOG_ERROR, "cannot create %s: %s", p->store_dir ? p->store_dir : "?",
		       strerror(-err));
		goto out;
	}
	load_cache(p);
	p->ops.size = sizeof(p->ops);
	p->ops.write_back = write_back_hook;
	p->ops.arg = p;
	cfg.self = self;
	cfg.host = host;
	cfg.store = "ldap";
	cfg.dir = p->store_dir;
	cfg.directory_kinds = UDB_KIND_BIT(UCS_UD_USER) | UDB_KIND_BIT(UCS_UD_GROUP) |
			      UDB_KIND_BIT(UCS_UD_COMPUTER);
	cfg.user_flags = user_flags(&p->conf->c);
	cfg.write_back = p->conf->c.write_back;
	cfg.ops = &p->ops;
	if (p->has_dir) {
		/* the cached read is in the first snapshot (init may block: the
		 * store loads here too); the core edits what it gets, so it gets
		 * its own containers */
		err = udb_docs_copy(&handed, &p->dir);
		if (err)
			goto out;
		cfg.directory = &handed;
	}
	err = udb_core_new(&cfg, &p->core);
	if (err) {
		log_at(p, UCS_LOG_ERROR, "cannot open the local store %s: %s", p->store_dir,
		       strerror(-err));
		goto out;
	}
	forget_expired(p);
	err = udb_core_provide(p->core);
out:
	if (err) {
		lud_free(p);
		return err;
	}
	*state = p;
	return 0;
}

static int lud_start(void *state)
{
	struct lud *p = state;
	int err = p->host->timer->open(p->self, &p->timer, on_timer, p);

	if (err)
		return err;
	/* the first read right away; start() does not wait for it */
	p->sync_wanted = 1;
	kick(p);
	return 0;
}

static int lud_reload(void *state, const struct ucs_cfg *section)
{
	struct lud *p = state;
	struct confref *next;
	int err = read_conf(p, section, &next);

	if (err)
		return err; /* the running configuration stays */
	conf_put(p->conf);
	p->conf = next;
	/* the local documents may have been edited, the directory settings
	 * too; the re-read rebuilds every user with the new flags (and
	 * publishes UCS_UD_RELOADED when they changed). The write-back hook
	 * reads p->conf: it follows at once. */
	udb_core_set_flags(p->core, user_flags(&next->c), next->c.write_back);
	udb_core_reload(p->core, NULL, NULL);
	p->sync_wanted = 1;
	p->host->timer->stop(p->timer);
	kick(p);
	return 0;
}

static void lud_stop(void *state)
{
	struct lud *p = state;

	p->stopping = 1;
	atomic_store(&p->cancel, 1);
	p->host->timer->close(p->timer);
	p->timer = NULL;
	udb_core_stop(p->core);
}

static void lud_fini(void *state)
{
	lud_free(state);
}

static const char *const lud_requires[] = {UCS_DIALPLAN_SERVICE, NULL};
static const char *const lud_provides[] = {UCS_USERDB_SERVICE, NULL};

static const struct ucs_plugin_desc lud_desc = {
	UCS_PLUGIN_HEADER,
	.name = "userdb-ldap",
	.version = "1.0.0",
	.license = "MIT",
	.description = "users, groups and computers from LDAP / Active Directory",
	.requires = lud_requires,
	.provides = lud_provides,
	.config = lud_conf_keys,
	.init = lud_init,
	.start = lud_start,
	.reload = lud_reload,
	.stop = lud_stop,
	.fini = lud_fini,
};

UCS_PLUGIN_DEFINE(lud_desc)
