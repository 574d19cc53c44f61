/*
 * plugins/mail/plugin.c - the mail plugin: the "ucs.mail" service, the
 * outbox queue and its delivery sessions, configuration and status.
 *
 * The queue. Every message in the outbox has an entry here: in the ready
 * list (due now, oldest first), the waiting list (due later, after a
 * temporary failure) or busy (a session is sending it). Up to `connections`
 * sessions deliver from the ready list, each keeping its connection for the
 * next message until the list is empty. A message's temporary failure puts
 * it back with exponential backoff and jitter: a random delay between half
 * and all of min_s * 2^(attempts-1), at most max_s. A session that fails as
 * a whole (server down, TLS, AUTH) holds all delivery with the same backoff
 * per consecutive server failure, so a dead server costs one connection
 * attempt per period, not one per message. After give_up_h since submit, a
 * temporary failure becomes permanent.
 *
 * The outbox is scanned at start in the thread pool; the entries are added
 * on the loop in chunks, so that ten thousand queued messages do not hold
 * the loop. Each message is read and rendered in the pool too, with the
 * capabilities of the session that will send it (mail_int.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ucs/mail.h>
#include <ucs/server.h>
#include <ucs/ucs.h>

#include "mail_int.h"

#define MAX_CONNECTIONS 16
#define SCAN_CHUNK	2000
/* An idle session waits this long for the next message before QUIT: a
 * steady trickle of notifications reuses one session instead of paying
 * connect, TLS and AUTH per message. */
#define IDLE_MS		2000

struct mail_entry {
	char name[64];
	int64_t created_ms;
	uint64_t due_ms; /* loop clock */
	uint32_t attempts;
	struct mail_entry *prev, *next;
	bool busy;
};

struct entry_list {
	struct mail_entry *head, *tail;
	size_t n;
};

struct mail;

/* A message read and rendered in the pool for one session. */
struct mail_prep {
	struct mail *m;
	struct mail_conn *conn; /* NULL once the session went away */
	struct mail_entry *entry;
	struct ucs_work *work;
	char dir[4096];
	unsigned caps_flags; /* MAIL_MIME_* the session allows */
	bool smtputf8;	     /* the session offers SMTPUTF8 and utf8 is on */
	/* results */
	int err;
	bool permanent;	 /* err is the message's fault (corrupt, needs SMTPUTF8) */
	bool incomplete; /* the file is empty or cut short (a power loss before its sync) */
	char why[256];
	struct mail_record rec;
	struct smtp_job job;
	struct mail_prep *next_all;
};

struct mail_conn {
	struct mail *m;
	struct smtp_session *s;
	struct mail_prep *prep; /* in the pool or being sent */
	struct ucs_timer *idle; /* QUIT after IDLE_MS without work */
	bool ready;
};

struct ucs_mail_op {
	struct mail *m;
	struct smtp_session *s;
	struct mail_record rec;
	struct smtp_job job;
	ucs_mail_done_h *done;
	void *arg;
	struct ucs_mail_op *prev, *next;
};

struct mail_cfg {
	char *from;
	char *admin_to;
	bool utf8;
	bool admin_enabled;
	uint32_t admin_batch_s, admin_max_per_hour;
	uint32_t retry_min_s, retry_max_s, give_up_h;
	size_t max_bytes;
	uint32_t connections;
};

struct mail {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct mail_cfg cfg;
	struct smtp_settings *set; /* NULL: no SMTP server configured */
	char dir[4096];
	char server[300]; /* "host:port" for logs and status */
	struct entry_list ready, waiting;
	size_t busy;
	struct ucs_timer *timer;
	uint64_t hold_until; /* loop clock: no new session before */
	uint32_t server_failures;
	struct mail_conn *conns[MAX_CONNECTIONS];
	struct mail_prep *preps; /* every prep alive, for stop() */
	struct ucs_mail_op *ops;
	uint32_t seq;
	/* start-up scan */
	bool scanned;
	struct ucs_work *scan_work;
	struct mail_scan scan;
	size_t scan_pos;
	uint64_t scan_t0;
	char (*submitted_early)[64];
	size_t n_early;
	/* counters */
	uint64_t submitted, delivered, failed, rcpt_failed, temp_failures, sessions;
	uint64_t incomplete; /* files cut short, found when read */
	size_t failed_kept;
	int64_t last_delivery_ms, last_error_ms;
	char last_error[512];
	uint64_t recovered, recovery_ms;
	size_t tmp_removed; /* unfinished writes of a crash, removed at start */
	/* admin error mails */
	struct ucs_sub *event_sub;
	struct ucs_timer *admin_timer;
	struct mail_admin admin;
	struct mail_sync *sync; /* the batched fsync thread (mail_sync.c) */
	uint64_t sync_late_logged, sync_late_at;
	bool stopping;
};

static struct mail *the_mail;
/* Set at stop and never cleared: the vtable outlives the plugin's state
 * (abi/ucs/service.h), and every call after stop fails with -ESHUTDOWN. */
static bool mail_stopped;

static void pump(struct mail *m);
static void conn_next(struct mail_conn *c);

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t now_ms(struct mail *m)
{
	return m->host->timer->now_ms();
}

static void note_error(struct mail *m, const char *why)
{
	snprintf(m->last_error, sizeof(m->last_error), "%s", why);
	m->last_error_ms = wall_ms();
}

/* Logs what the sync thread could not make durable since the last look. */
static void sync_check(struct mail *m)
{
	char what[128];
	int err = m->sync ? mail_sync_error(m->sync, what, sizeof(what)) : 0;
	struct mail_sync_stats st;

	if (m->sync) {
		/* a disk slower than the contract: said at most once a minute */
		mail_sync_stats(m->sync, &st);
		if (st.late > m->sync_late_logged && now_ms(m) >= m->sync_late_at) {
			m->host->log->log(m->self, UCS_LOG_WARNING,
					  "outbox sync slower than %d ms: %" PRIu64
					  " batches late, the longest took %" PRIu64 " ms",
					  UCS_MAIL_SYNC_MS, st.late, st.max_ms);
			m->sync_late_logged = st.late;
			m->sync_late_at = now_ms(m) + 60000;
		}
	}

	if (err) {
		char why[300];

		snprintf(why, sizeof(why), "cannot sync %.160s/%.100s to disk: %s", m->dir, what,
			 strerror(-err));
		note_error(m, why);
		m->host->log->log(m->self, UCS_LOG_ERROR, "%s", why);
	}
}

/* Writes an outbox file (complete under its name when this returns) and
 * queues it for the batched fsync. */
static int store(struct mail *m, const char *sub, const char *name, const void *data, size_t len)
{
	int err = mail_outbox_write(m->dir, sub, name, data, len);

	sync_check(m);
	if (err)
		return err;
	err = mail_sync_add(m->sync, sub, name);
	if (err)
		/* stored, only not yet durable against a power loss */
		m->host->log->log(m->self, UCS_LOG_WARNING, "cannot queue %s%s%s for sync: %s", sub,
				  *sub ? "/" : "", name, strerror(-err));
	return 0;
}

/* ---- entry lists ---- */

static void list_push(struct entry_list *l, struct mail_entry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	l->n++;
}

static void list_remove(struct entry_list *l, struct mail_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
	l->n--;
}

static void list_free(struct entry_list *l)
{
	struct mail_entry *e = l->head, *n;

	for (; e; e = n) {
		n = e->next;
		free(e);
	}
	memset(l, 0, sizeof(*l));
}

static uint64_t backoff_ms(struct mail *m, uint32_t attempts)
{
	uint64_t d = (uint64_t)m->cfg.retry_min_s * 1000, max = (uint64_t)m->cfg.retry_max_s * 1000;
	uint32_t r = 0;

	for (uint32_t i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)rand();
	/* "equal jitter": between half and all of the delay */
	return d / 2 + (d / 2 ? r % (d / 2 + 1) : 0);
}

/* The retry timer: the earliest of the waiting entries and the hold. */
static void arm_timer(struct mail *m)
{
	uint64_t now = now_ms(m), due = UINT64_MAX;

	for (struct mail_entry *e = m->waiting.head; e; e = e->next)
		if (e->due_ms < due)
			due = e->due_ms;
	if (m->ready.n && m->hold_until > now && m->hold_until < due)
		due = m->hold_until;
	if (due == UINT64_MAX) {
		m->host->timer->stop(m->timer);
		return;
	}
	m->host->timer->start(m->timer, due > now ? due - now : 0, 0);
}

static void on_timer(struct ucs_timer *t, void *arg)
{
	struct mail *m = arg;
	uint64_t now = now_ms(m);
	struct mail_entry *e = m->waiting.head, *n;

	(void)t;
	for (; e; e = n) {
		n = e->next;
		if (e->due_ms <= now) {
			list_remove(&m->waiting, e);
			list_push(&m->ready, e);
		}
	}
	pump(m);
}

/* ---- outcomes ---- */

static void drop_entry(struct mail *m, struct mail_entry *e)
{
	if (e->busy)
		m->busy--;
	free(e);
}

static void unlink_msg(struct mail *m, const char *name)
{
	char path[8300];

	snprintf(path, sizeof(path), "%s/%s", m->dir, name);
	if (unlink(path) && errno != ENOENT)
		m->host->log->log(m->self, UCS_LOG_ERROR, "cannot remove %s: %s", path,
				  strerror(errno));
}

/* A permanent failure: the record goes to failed/ with the reason. */
static void fail_msg(struct mail *m, struct mail_entry *e, struct mail_record *rec, const char *why)
{
	char failed_dir[8300];
	struct mail_buf b = {0};
	int err = 0;

	snprintf(failed_dir, sizeof(failed_dir), "%s/failed", m->dir);
	if (rec) {
		free(rec->last_error);
		rec->last_error = strdup(why);
		err = mail_record_serialize(rec, &b);
		err = err ?: store(m, "failed", e->name, b.data, b.len);
		mail_buf_free(&b);
		if (!err)
			unlink_msg(m, e->name);
	}
	if (!rec || err) {
		/* no record to annotate, or failed/ could not take the new copy:
		 * move the file as it is rather than lose it */
		char from[8300], to[8300];

		snprintf(from, sizeof(from), "%s/%s", m->dir, e->name);
		snprintf(to, sizeof(to), "%s/failed/%s", m->dir, e->name);
		err = rename(from, to) ? -errno : 0;
		if (!err) {
			mail_sync_add(m->sync, "failed", e->name);
			mail_sync_dir(m->sync, "");
		}
	}
	if (err)
		m->host->log->log(m->self, UCS_LOG_ERROR, "cannot keep %s in %s: %s", e->name,
				  failed_dir, strerror(-err));
	else
		m->failed_kept++;
	m->failed++;
	note_error(m, why);
	m->host->log->log(m->self, UCS_LOG_ERROR, "message %s (%s) failed permanently: %s",
			  rec && rec->id ? rec->id : e->name,
			  rec && rec->origin ? rec->origin : "-", why);
	drop_entry(m, e);
}

/* A file a power loss cut short (written, renamed, not yet synced): not a
 * refusal, so it is counted apart, and kept in failed/ for a look. */
static void incomplete_msg(struct mail *m, struct mail_entry *e, const char *why)
{
	char from[8300], to[8300];

	snprintf(from, sizeof(from), "%s/%s", m->dir, e->name);
	snprintf(to, sizeof(to), "%s/failed/%s", m->dir, e->name);
	m->incomplete++;
	if (rename(from, to)) {
		m->host->log->log(m->self, UCS_LOG_ERROR, "cannot move %s to failed/: %s", e->name,
				  strerror(errno));
	} else {
		m->failed_kept++;
		mail_sync_add(m->sync, "failed", e->name);
		mail_sync_dir(m->sync, "");
	}
	m->host->log->log(m->self, UCS_LOG_WARNING,
			  "message file %s is incomplete (%s; a power loss before it was "
			  "synced?): moved to failed/",
			  e->name, why);
	drop_entry(m, e);
}

/* A temporary failure: back to the waiting list, or given up. */
static void retry_msg(struct mail *m, struct mail_entry *e, struct mail_record *rec,
		      const char *why)
{
	int64_t age_ms = wall_ms() - e->created_ms;
	uint64_t delay;

	m->temp_failures++;
	note_error(m, why);
	if (age_ms > (int64_t)m->cfg.give_up_h * 3600 * 1000) {
		char reason[700];

		snprintf(reason, sizeof(reason), "gave up after %u h: %s", m->cfg.give_up_h, why);
		fail_msg(m, e, rec, reason);
		return;
	}
	e->attempts++;
	delay = backoff_ms(m, e->attempts);
	e->due_ms = now_ms(m) + delay;
	if (e->busy) {
		e->busy = false;
		m->busy--;
	}
	list_push(&m->waiting, e);
	m->host->log->log(
		m->self, UCS_LOG_WARNING,
		"message %s not delivered (attempt %u): %s; next attempt in %" PRIu64 " s",
		rec && rec->id ? rec->id : e->name, e->attempts, why, (delay + 999) / 1000);
	arm_timer(m);
}

/* The result of a transaction for the message in prep. */
static void outcome(struct mail *m, struct mail_prep *p)
{
	struct smtp_job *job = &p->job;
	struct mail_record *rec = &p->rec;
	struct mail_entry *e = p->entry;
	size_t keep = 0, ok = 0, perm = 0;

	p->entry = NULL;
	if (job->result == SMTP_PERM) {
		/* every recipient refused, or MAIL / DATA refused: the refused
		 * recipients are counted and logged like those of a partial one */
		for (size_t i = 0; i < job->n_rcpt; i++)
			if (job->rcpt_code[i] >= 500) {
				m->rcpt_failed++;
				m->host->log->log(m->self, UCS_LOG_ERROR,
						  "message %s: recipient %s refused: %s", rec->id,
						  rec->rcpt[i], job->rcpt_reply[i]);
			}
		fail_msg(m, e, rec, job->reply);
		return;
	}
	for (size_t i = 0; i < job->n_rcpt; i++) {
		int c = job->rcpt_code[i];

		if (job->result == SMTP_OK && (c == 250 || c == 251)) {
			ok++;
		} else if (c >= 500) {
			perm++;
			m->rcpt_failed++;
			note_error(m, job->rcpt_reply[i]);
			m->host->log->log(m->self, UCS_LOG_ERROR,
					  "message %s: recipient %s refused: %s", rec->id,
					  rec->rcpt[i], job->rcpt_reply[i]);
		} else {
			/* 4xx, or not tried (MAIL or DATA failed temporarily) */
			char *t = rec->rcpt[keep];

			rec->rcpt[keep] = rec->rcpt[i];
			rec->rcpt[i] = t;
			keep++;
		}
	}
	if (ok) {
		/* a message delivered in parts counts once, when it is done */
		if (!keep)
			m->delivered++;
		m->last_delivery_ms = wall_ms();
		m->host->log->log(m->self, UCS_LOG_DEBUG, "message %s delivered to %zu of %zu: %s",
				  rec->id, ok, job->n_rcpt, job->reply);
	}
	if (!keep) {
		if (!ok) {
			fail_msg(m, e, rec, job->reply[0] ? job->reply : "every recipient refused");
			return;
		}
		unlink_msg(m, e->name);
		drop_entry(m, e);
		return;
	}
	if (ok || perm) {
		/* some recipients are done: store only those still to try */
		struct mail_buf b = {0};
		int err;

		for (size_t i = keep; i < rec->n_rcpt; i++)
			free(rec->rcpt[i]);
		rec->n_rcpt = keep;
		free(rec->last_error);
		rec->last_error = strdup(job->reply);
		rec->attempts = e->attempts + 1;
		err = mail_record_serialize(rec, &b);
		err = err ?: store(m, "", e->name, b.data, b.len);
		mail_buf_free(&b);
		if (err)
			m->host->log->log(
				m->self, UCS_LOG_ERROR,
				"cannot update %s: %s (its delivered recipients may get it "
				"again)",
				e->name, strerror(-err));
	}
	retry_msg(m, e, rec, job->reply[0] ? job->reply : "temporary failure");
}

/* ---- preparing a message in the pool ---- */

static bool record_ascii(const struct mail_record *r)
{
	if (!mail_ascii(r->env_from))
		return false;
	for (size_t i = 0; i < r->n_rcpt; i++)
		if (!mail_ascii(r->rcpt[i]))
			return false;
	return true;
}

/* The addr-specs of a header list are ASCII (display names may be encoded
 * words; an address cannot be, without SMTPUTF8). */
static bool list_ascii(const char *list)
{
	struct mail_addr *a;
	size_t n;
	char why[200];
	bool ok = true;

	if (!list || !*list || mail_ascii(list))
		return true;
	if (mail_addr_parse(list, &a, &n, why, sizeof(why)))
		return false;
	for (size_t i = 0; i < n; i++)
		ok = ok && mail_ascii(a[i].addr);
	mail_addr_free(a, n);
	return ok;
}

static bool headers_ascii(const struct mail_record *r)
{
	const char *v[] = {r->from, r->from_name, r->reply_to, r->to, r->subject};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] && !mail_ascii(v[i]))
			return false;
	for (size_t i = 0; i < r->n_att; i++)
		if (r->att[i].filename && !mail_ascii(r->att[i].filename))
			return false;
	return true;
}

/* Fills p->job from p->rec for a session with p's capabilities. */
static int build_job(struct mail_prep *p)
{
	struct mail_record *r = &p->rec;
	struct mail_buf mime = {0};
	unsigned flags = p->caps_flags & MAIL_MIME_8BIT;
	bool ascii = record_ascii(r);
	int err;

	if (ascii && !p->smtputf8 &&
	    (!list_ascii(r->from) || !list_ascii(r->reply_to) || !list_ascii(r->to)))
		ascii = false; /* a header address: the same need for SMTPUTF8 */
	if (!ascii && !p->smtputf8) {
		snprintf(p->why, sizeof(p->why),
			 "an address is not ASCII and the server does not offer SMTPUTF8%s",
			 p->caps_flags & MAIL_MIME_UTF8_HEADERS ? "" : " (or utf8 is off)");
		p->permanent = true;
		return -EINVAL;
	}
	p->job.smtputf8 = p->smtputf8 && (!ascii || !headers_ascii(r));
	if (p->job.smtputf8)
		flags |= MAIL_MIME_UTF8_HEADERS;
	p->job.eightbit = flags & MAIL_MIME_8BIT;
	err = mail_mime_render(r, flags, &mime);
	err = err ?: mail_dot_stuff(&p->job.data, mime.data, mime.len);
	mail_buf_free(&mime);
	if (err)
		return err;
	p->job.env_from = r->env_from;
	p->job.rcpt = r->rcpt;
	p->job.n_rcpt = r->n_rcpt;
	p->job.rcpt_code = calloc(r->n_rcpt, sizeof(*p->job.rcpt_code));
	p->job.rcpt_reply = calloc(r->n_rcpt, sizeof(*p->job.rcpt_reply));
	if (!p->job.rcpt_code || !p->job.rcpt_reply)
		return -ENOMEM;
	return 0;
}

static void prep_work(void *arg)
{
	struct mail_prep *p = arg;
	struct mail_buf b = {0};
	int err = mail_outbox_read(p->dir, p->entry->name, &b);

	if (err) {
		snprintf(p->why, sizeof(p->why), "cannot read %s: %s", p->entry->name,
			 strerror(-err));
		p->err = err;
		return;
	}
	err = mail_record_parse(b.data, b.len, &p->rec, p->why, sizeof(p->why));
	if (err) {
		/* what a power loss leaves of a file written but not yet synced:
		 * nothing, zeros, or a prefix */
		size_t zeros = 0;

		while (zeros < b.len && !b.data[zeros])
			zeros++;
		p->incomplete = !b.len || zeros == b.len || strstr(p->why, "cut short") ||
				strstr(p->why, "bad length or framing");
		p->err = err;
		p->permanent = true;
		mail_buf_free(&b);
		return;
	}
	mail_buf_free(&b);
	err = build_job(p);
	if (err) {
		/* a record that cannot be rendered never will be */
		if (err == -EINVAL)
			p->permanent = true;
		if (!p->why[0])
			snprintf(p->why, sizeof(p->why), "cannot render: %s", strerror(-err));
		p->err = err;
	}
}

static void prep_free(struct mail *m, struct mail_prep *p)
{
	for (struct mail_prep **pp = &m->preps; *pp; pp = &(*pp)->next_all)
		if (*pp == p) {
			*pp = p->next_all;
			break;
		}
	mail_record_free(&p->rec);
	mail_buf_free(&p->job.data);
	free(p->job.rcpt_code);
	free(p->job.rcpt_reply);
	free(p);
}

/* Puts an entry back as due now (its session went away before trying). */
static void requeue(struct mail *m, struct mail_entry *e)
{
	if (e->busy) {
		e->busy = false;
		m->busy--;
	}
	list_push(&m->ready, e);
}

static void prep_done(int status, void *arg)
{
	struct mail_prep *p = arg;
	struct mail *m = p->m;
	struct mail_conn *c = p->conn;

	p->work = NULL;
	if (status || !c) {
		/* cancelled, or the session ended meanwhile */
		if (p->entry)
			requeue(m, p->entry);
		p->entry = NULL;
		if (c)
			c->prep = NULL;
		prep_free(m, p);
		if (c)
			conn_next(c);
		pump(m);
		return;
	}
	if (p->err) {
		struct mail_entry *e = p->entry;

		p->entry = NULL;
		c->prep = NULL;
		if (p->err == -ENOENT) {
			/* gone (removed by hand): nothing to deliver */
			m->host->log->log(m->self, UCS_LOG_WARNING, "%s", p->why);
			drop_entry(m, e);
		} else if (p->incomplete) {
			incomplete_msg(m, e, p->why);
		} else if (p->permanent) {
			fail_msg(m, e, p->rec.id ? &p->rec : NULL, p->why);
		} else {
			retry_msg(m, e, NULL, p->why);
		}
		prep_free(m, p);
		conn_next(c);
		return;
	}
	/* the backoff goes on where the file says it was (across restarts) */
	if (p->rec.attempts > p->entry->attempts)
		p->entry->attempts = p->rec.attempts;
	smtp_session_send(c->s, &p->job);
}

/* ---- sessions ---- */

static void conn_free(struct mail_conn *c)
{
	struct mail *m = c->m;

	m->host->timer->close(c->idle);
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (m->conns[i] == c)
			m->conns[i] = NULL;
	free(c);
}

static struct mail_entry *take_ready(struct mail *m)
{
	struct mail_entry *e = m->ready.head;

	if (!e)
		return NULL;
	list_remove(&m->ready, e);
	e->busy = true;
	m->busy++;
	return e;
}

static void conn_idle(struct ucs_timer *t, void *arg)
{
	struct mail_conn *c = arg;

	(void)t;
	if (c->prep)
		return;
	smtp_session_quit(c->s);
	conn_free(c); /* closes this timer: allowed from its own callback */
}

/* The session is idle: the next message, or QUIT after IDLE_MS. */
static void conn_next(struct mail_conn *c)
{
	struct mail *m = c->m;
	const struct smtp_caps *caps;
	struct mail_prep *p;
	struct mail_entry *e;
	int err;

	if (m->stopping || !c->ready || c->prep)
		return;
	e = take_ready(m);
	if (!e) {
		if (!c->idle && m->host->timer->open(m->self, &c->idle, conn_idle, c)) {
			smtp_session_quit(c->s);
			conn_free(c);
			return;
		}
		if (!m->host->timer->active(c->idle))
			m->host->timer->start(c->idle, IDLE_MS, 0);
		return;
	}
	if (c->idle)
		m->host->timer->stop(c->idle);
	p = calloc(1, sizeof(*p));
	if (!p) {
		requeue(m, e);
		smtp_session_quit(c->s);
		conn_free(c);
		return;
	}
	caps = smtp_session_caps(c->s);
	p->m = m;
	p->conn = c;
	p->entry = e;
	snprintf(p->dir, sizeof(p->dir), "%s", m->dir);
	if (caps->eightbit && m->cfg.utf8)
		p->caps_flags |= MAIL_MIME_8BIT;
	p->smtputf8 = caps->smtputf8 && m->cfg.utf8;
	if (p->smtputf8)
		p->caps_flags |= MAIL_MIME_UTF8_HEADERS;
	p->next_all = m->preps;
	m->preps = p;
	c->prep = p;
	err = m->host->work->queue(m->self, &p->work, prep_work, prep_done, p);
	if (err) {
		c->prep = NULL;
		p->entry = NULL;
		requeue(m, e);
		prep_free(m, p);
		smtp_session_quit(c->s);
		conn_free(c);
	}
}

static void sess_ready(struct smtp_session *s, void *arg)
{
	struct mail_conn *c = arg;

	(void)s;
	c->ready = true;
	c->m->server_failures = 0;
	conn_next(c);
}

static void sess_done(struct smtp_session *s, struct smtp_job *job, void *arg)
{
	struct mail_conn *c = arg;
	struct mail_prep *p = c->prep;

	(void)s, (void)job;
	c->prep = NULL;
	if (p) {
		outcome(c->m, p);
		prep_free(c->m, p);
	}
	conn_next(c);
}

static void sess_closed(struct smtp_session *s, int err, const char *why, struct smtp_job *job,
			void *arg)
{
	struct mail_conn *c = arg;
	struct mail *m = c->m;
	struct mail_prep *p = c->prep;

	(void)s, (void)err;
	c->s = NULL;
	c->prep = NULL;
	if (p && job) {
		/* the message in flight: temporary, whatever happened */
		struct mail_entry *e = p->entry;

		p->entry = NULL;
		retry_msg(m, e, &p->rec, why);
		prep_free(m, p);
	} else if (p) {
		/* still in the pool: prep_done puts it back */
		p->conn = NULL;
	}
	if (!c->ready) {
		/* the server failed us before the session was usable: hold delivery */
		uint64_t d = backoff_ms(m, ++m->server_failures);

		m->hold_until = now_ms(m) + d;
		note_error(m, why);
		m->host->log->log(m->self, UCS_LOG_WARNING,
				  "mail server %s: %s; next attempt in %" PRIu64 " s", m->server,
				  why, (d + 999) / 1000);
	} else if (!job) {
		m->host->log->log(m->self, UCS_LOG_DEBUG, "session to %s ended: %s", m->server,
				  why);
	}
	conn_free(c);
	if (!m->stopping) {
		arm_timer(m);
		pump(m);
	}
}

static const struct smtp_session_ops conn_ops = {
	.ready = sess_ready,
	.done = sess_done,
	.closed = sess_closed,
};

/* Opens sessions while there is work and room. */
static void pump(struct mail *m)
{
	size_t active = 0, want;

	if (m->stopping || !m->set)
		return;
	if (m->hold_until > now_ms(m)) {
		arm_timer(m);
		return;
	}
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (m->conns[i]) {
			active++;
			if (m->conns[i]->ready && !m->conns[i]->prep)
				conn_next(m->conns[i]);
		}
	want = m->ready.n < m->cfg.connections ? m->ready.n : m->cfg.connections;
	if (m->server_failures && want > 1)
		want = 1; /* a failing server gets one probe, not a volley */
	while (active < want) {
		struct mail_conn *c = calloc(1, sizeof(*c));
		size_t slot = 0;
		int err;

		if (!c)
			return;
		while (slot < MAX_CONNECTIONS && m->conns[slot])
			slot++;
		if (slot == MAX_CONNECTIONS) {
			free(c);
			return;
		}
		c->m = m;
		m->conns[slot] = c;
		active++;
		m->sessions++;
		m->host->log->log(m->self, UCS_LOG_DEBUG,
				  "session %" PRIu64 " to %s (%zu ready, %zu sessions)",
				  m->sessions, m->server, m->ready.n, active);
		err = smtp_session_open(m->host, m->self, m->set, &conn_ops, c, &c->s);
		if (err) {
			m->conns[slot] = NULL;
			free(c);
			m->hold_until = now_ms(m) + backoff_ms(m, ++m->server_failures);
			note_error(m, strerror(-err));
			arm_timer(m);
			return;
		}
	}
}

/* ---- the start-up scan ---- */

static bool submitted_early(struct mail *m, const char *name)
{
	for (size_t i = 0; i < m->n_early; i++)
		if (strcmp(m->submitted_early[i], name) == 0)
			return true;
	return false;
}

static int64_t created_of(const char *name)
{
	return strtoll(name, NULL, 10);
}

static void scan_chunk(void *arg)
{
	struct mail *m = arg;
	size_t end = m->scan_pos + SCAN_CHUNK;

	if (m->stopping)
		return;
	if (end > m->scan.n)
		end = m->scan.n;
	for (; m->scan_pos < end; m->scan_pos++) {
		const char *name = m->scan.names[m->scan_pos];
		struct mail_entry *e;

		if (submitted_early(m, name))
			continue;
		e = calloc(1, sizeof(*e));
		if (!e)
			break;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->created_ms = created_of(name);
		list_push(&m->ready, e);
		m->recovered++;
	}
	if (m->scan_pos < m->scan.n) {
		m->host->timer->once(m->self, 0, scan_chunk, m);
		pump(m);
		return;
	}
	m->recovery_ms = now_ms(m) - m->scan_t0;
	m->host->log->log(m->self, UCS_LOG_INFO,
			  "outbox %s: %" PRIu64 " queued messages recovered in %" PRIu64
			  " ms, %zu failed kept%s",
			  m->dir, m->recovered, m->recovery_ms, m->scan.failed,
			  m->tmp_removed ? " (unfinished writes removed)" : "");
	m->failed_kept = m->scan.failed;
	mail_scan_free(&m->scan);
	free(m->submitted_early);
	m->submitted_early = NULL;
	m->n_early = 0;
	m->scanned = true;
	pump(m);
}

static void scan_work(void *arg)
{
	struct mail *m = arg;

	/* only m->dir and m->scan are touched here; the loop waits for done */
	mail_outbox_scan(m->dir, &m->scan);
}

static void scan_done(int status, void *arg)
{
	struct mail *m = arg;

	m->scan_work = NULL;
	if (status || m->scan.err) {
		m->host->log->log(m->self, UCS_LOG_ERROR, "cannot read the outbox %s: %s", m->dir,
				  strerror(-(status ? status : m->scan.err)));
		mail_scan_free(&m->scan);
		m->scanned = true;
		return;
	}
	m->scan_pos = 0;
	scan_chunk(m);
}

/* ---- building records ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at && at[1] ? at + 1 : "localhost";
}

/* The sender address: the message's, else the configured one, else
 * ucsd@<server name>. */
static int sender_of(struct mail *m, const char *from, char **out, char *why, size_t cap)
{
	struct mail_addr *a;
	size_t n;
	char fallback[300];
	int err;

	if (!from || !*from)
		from = m->cfg.from;
	if (!from || !*from) {
		snprintf(fallback, sizeof(fallback), "ucsd@%s",
			 m->set ? m->set->helo : "localhost");
		from = fallback;
	}
	err = mail_addr_parse(from, &a, &n, why, cap);
	if (err)
		return err;
	if (n != 1) {
		mail_addr_free(a, n);
		snprintf(why, cap, "one sender address expected");
		return -EINVAL;
	}
	*out = strdup(a[0].addr);
	mail_addr_free(a, n);
	return *out ? 0 : -ENOMEM;
}

/* Fills the envelope and identity of a new record. */
static int record_init(struct mail *m, struct mail_record *r, const char *from, const char *to,
		       char *why, size_t cap)
{
	struct mail_addr *a;
	size_t n;
	uint64_t rnd = 0;
	char id[200];
	int err;

	/* the message's own sender is checked; the envelope (where bounces go)
	 * is the configured sender when there is one: a caller's address as
	 * the envelope sender would fail the SPF checks of the caller's domain */
	if (from && *from) {
		err = sender_of(m, from, &r->env_from, why, cap);
		if (err)
			return err;
		if (m->cfg.from && *m->cfg.from) {
			free(r->env_from);
			r->env_from = NULL;
		}
	}
	if (!r->env_from) {
		err = sender_of(m, NULL, &r->env_from, why, cap);
		if (err)
			return err;
	}
	err = mail_addr_parse(to, &a, &n, why, cap);
	if (err)
		return err;
	r->rcpt = calloc(n, sizeof(*r->rcpt));
	if (!r->rcpt) {
		mail_addr_free(a, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!m->cfg.utf8 && !mail_ascii(a[i].addr)) {
			snprintf(why, cap, "\"%s\" is not ASCII and utf8 is off", a[i].addr);
			mail_addr_free(a, n);
			return -EINVAL;
		}
		r->rcpt[i] = a[i].addr;
		a[i].addr = NULL;
		r->n_rcpt++;
	}
	mail_addr_free(a, n);
	if (!m->cfg.utf8 && !mail_ascii(r->env_from)) {
		snprintf(why, cap, "the sender is not ASCII and utf8 is off");
		return -EINVAL;
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
	r->created_ms = wall_ms();
	snprintf(id, sizeof(id), "%" PRId64 ".%d.%" PRIu32 ".%016" PRIx64 "@%s", r->created_ms,
		 (int)getpid(), ++m->seq, rnd, domain_of(r->env_from));
	r->id = strdup(id);
	return r->id ? 0 : -ENOMEM;
}

static size_t estimate(const struct ucs_mail *mm)
{
	size_t n = 4096;

	if (mm->text)
		n += strlen(mm->text) * 3;
	if (mm->html)
		n += strlen(mm->html) * 3;
	for (size_t i = 0; i < mm->n_attachments; i++)
		n += mm->attachments[i].len / 3 * 4 + mm->attachments[i].len / 57 * 2 + 512;
	return n;
}

/* Stores the record as a new outbox file and queues it. */
static int enqueue(struct mail *m, const struct mail_record *r)
{
	struct mail_buf b = {0};
	struct mail_entry *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	snprintf(e->name, sizeof(e->name), "%015" PRId64 "-%d-%" PRIu32 ".msg", r->created_ms,
		 (int)getpid(), m->seq);
	e->created_ms = r->created_ms;
	err = mail_record_serialize(r, &b);
	err = err ?: store(m, "", e->name, b.data, b.len);
	mail_buf_free(&b);
	if (err) {
		free(e);
		return err == -ENOMEM ? -ENOMEM : err == -ENOSPC ? -ENOSPC : -EIO;
	}
	if (!m->scanned) {
		char(*v)[64] = realloc(m->submitted_early, (m->n_early + 1) * sizeof(*v));

		if (v) {
			m->submitted_early = v;
			snprintf(v[m->n_early++], sizeof(v[0]), "%s", e->name);
		}
	}
	m->submitted++;
	list_push(&m->ready, e);
	pump(m);
	return 0;
}

static int do_submit(struct mail *m, const struct ucs_mail *mm, char *id, size_t idcap, char *why,
		     size_t cap)
{
	struct mail_record r = {0};
	int err;

	if (!m->set) {
		snprintf(why, cap, "no SMTP server configured");
		return -ENOTCONN;
	}
	if (!mm || mm->size < offsetof(struct ucs_mail, origin) + sizeof(mm->origin) ||
	    ((!mm->text || !*mm->text) && (!mm->html || !*mm->html) && !mm->n_attachments)) {
		snprintf(why, cap, "empty message");
		return -EINVAL;
	}
	if (estimate(mm) > m->cfg.max_bytes) {
		snprintf(why, cap, "larger than max_message_kb");
		return -EMSGSIZE;
	}
	err = record_init(m, &r, mm->from, mm->to, why, cap);
	if (err)
		goto out;
	if (mm->reply_to && *mm->reply_to) {
		struct mail_addr *a;
		size_t n;

		err = mail_addr_parse(mm->reply_to, &a, &n, why, cap);
		if (err)
			goto out;
		mail_addr_free(a, n);
	}
	r.origin = strdup(mm->origin && *mm->origin ? mm->origin : "unknown");
	r.from = dup_or_null(mm->from && *mm->from ? mm->from : m->cfg.from);
	r.from_name = dup_or_null(mm->from_name);
	r.reply_to = dup_or_null(mm->reply_to);
	r.to = strdup(mm->to);
	r.subject = strdup(mm->subject ? mm->subject : "");
	r.text = dup_or_null(mm->text);
	r.html = dup_or_null(mm->html);
	if (!r.origin || !r.to || !r.subject) {
		err = -ENOMEM;
		goto out;
	}
	if (mm->n_attachments) {
		r.att = calloc(mm->n_attachments, sizeof(*r.att));
		if (!r.att) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < mm->n_attachments; i++) {
			const struct ucs_mail_attachment *a = &mm->attachments[i];
			struct mail_att *o = &r.att[r.n_att++];

			o->filename = strdup(a->filename ? a->filename : "attachment");
			o->content_type = strdup(a->content_type ? a->content_type
								 : "application/octet-stream");
			o->data = malloc(a->len ? a->len : 1);
			if (!o->filename || !o->content_type || !o->data || (a->len && !a->data)) {
				err = o->data && a->len && !a->data ? -EINVAL : -ENOMEM;
				snprintf(why, cap, "bad attachment");
				goto out;
			}
			if (a->len)
				memcpy(o->data, a->data, a->len);
			o->len = a->len;
		}
	}
	err = enqueue(m, &r);
	if (err) {
		snprintf(why, cap, "cannot store it in the outbox: %s", strerror(-err));
		goto out;
	}
	if (id && idcap)
		snprintf(id, idcap, "<%s>", r.id);
out:
	mail_record_free(&r);
	return err;
}

/* ---- the service ---- */

static int svc_submit(const struct ucs_mail *mm, char *id, size_t idcap)
{
	struct mail *m = the_mail;
	char why[300] = "";
	int err;

	if (mail_stopped || !m || m->stopping)
		return -ESHUTDOWN;
	err = do_submit(m, mm, id, idcap, why, sizeof(why));
	if (err)
		m->host->log->log(m->self, err == -ENOTCONN ? UCS_LOG_DEBUG : UCS_LOG_WARNING,
				  "message from %s not accepted: %s",
				  mm && mm->origin ? mm->origin : "?", why);
	return err;
}

static void op_unlink(struct mail *m, struct ucs_mail_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		m->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
}

static void op_free(struct ucs_mail_op *op)
{
	mail_record_free(&op->rec);
	mail_buf_free(&op->job.data);
	free(op->job.rcpt_code);
	free(op->job.rcpt_reply);
	free(op);
}

static void op_finish(struct ucs_mail_op *op, int status, const char *reply)
{
	struct mail *m = op->m;

	op_unlink(m, op);
	m->host->log->log(m->self, status ? UCS_LOG_WARNING : UCS_LOG_INFO,
			  "test message to %s: %s%s", op->rec.to, status ? "failed: " : "", reply);
	op->done(status, reply, op->arg);
	op_free(op);
}

static void test_ready(struct smtp_session *s, void *arg)
{
	struct ucs_mail_op *op = arg;
	struct mail_prep p = {0};
	const struct smtp_caps *caps = smtp_session_caps(s);
	int err;

	p.rec = op->rec;
	if (caps->eightbit && op->m->cfg.utf8)
		p.caps_flags |= MAIL_MIME_8BIT;
	p.smtputf8 = caps->smtputf8 && op->m->cfg.utf8;
	err = build_job(&p);
	op->job = p.job;
	if (err) {
		smtp_session_quit(s);
		op->s = NULL;
		op_finish(op, err, p.why[0] ? p.why : strerror(-err));
		return;
	}
	smtp_session_send(s, &op->job);
}

static void test_done(struct smtp_session *s, struct smtp_job *job, void *arg)
{
	struct ucs_mail_op *op = arg;
	char reply[800];
	int status = job->result == SMTP_OK ? 0 : job->result == SMTP_TEMP ? -EAGAIN : -EREMOTEIO;

	snprintf(reply, sizeof(reply), "%s", job->reply);
	for (size_t i = 0; i < job->n_rcpt; i++)
		if (job->rcpt_code[i] && job->rcpt_code[i] != 250 && job->rcpt_code[i] != 251) {
			size_t l = strlen(reply);

			snprintf(reply + l, sizeof(reply) - l, "; %s: %s", job->rcpt[i],
				 job->rcpt_reply[i]);
			if (!status)
				status = job->rcpt_code[i] >= 500 ? -EREMOTEIO : -EAGAIN;
		}
	smtp_session_quit(s);
	op->s = NULL;
	op_finish(op, status, reply);
}

static void test_closed(struct smtp_session *s, int err, const char *why, struct smtp_job *job,
			void *arg)
{
	struct ucs_mail_op *op = arg;

	(void)s, (void)job;
	op->s = NULL;
	op_finish(op, err ? err : -ECONNRESET, why);
}

static const struct smtp_session_ops test_ops = {
	.ready = test_ready,
	.done = test_done,
	.closed = test_closed,
};

static int svc_test(const char *to, ucs_mail_done_h *done, void *arg, struct ucs_mail_op **out)
{
	struct mail *m = the_mail;
	struct ucs_mail_op *op;
	char why[300], text[600], server_name[200];
	int err;

	if (out)
		*out = NULL;
	if (mail_stopped || !m || m->stopping)
		return -ESHUTDOWN;
	if (!done)
		return -EINVAL;
	if (!m->set)
		return -ENOTCONN;
	if (!to || !*to)
		to = m->cfg.admin_to;
	if (!to || !*to)
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->m = m;
	op->done = done;
	op->arg = arg;
	err = record_init(m, &op->rec, NULL, to, why, sizeof(why));
	if (err) {
		m->host->log->log(m->self, UCS_LOG_WARNING, "test message not sent: %s", why);
		op_free(op);
		return err;
	}
	snprintf(server_name, sizeof(server_name), "%s", m->host->env->server_name());
	snprintf(text, sizeof(text),
		 "This is a test message from ucsd on %s.\n\n"
		 "The mail server %s accepted it: e-mail dispatch works.\n",
		 server_name, m->server);
	op->rec.origin = strdup("test");
	op->rec.from = dup_or_null(m->cfg.from);
	op->rec.to = strdup(to);
	op->rec.subject = strdup("ucsd test message");
	op->rec.text = strdup(text);
	if (!op->rec.origin || !op->rec.to || !op->rec.subject || !op->rec.text) {
		op_free(op);
		return -ENOMEM;
	}
	op->next = m->ops;
	if (m->ops)
		m->ops->prev = op;
	m->ops = op;
	err = smtp_session_open(m->host, m->self, m->set, &test_ops, op, &op->s);
	if (err) {
		op_unlink(m, op);
		op_free(op);
		return err;
	}
	if (out)
		*out = op;
	return 0;
}

static void svc_cancel(struct ucs_mail_op *op)
{
	if (!op)
		return;
	if (op->s)
		smtp_session_abort(op->s);
	op_unlink(op->m, op);
	op_free(op);
}

static const char *svc_admin_to(void)
{
	return the_mail && the_mail->cfg.admin_to ? the_mail->cfg.admin_to : "";
}

static void json_str(struct mail_buf *b, const char *s)
{
	mail_buf_add(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			mail_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			mail_buf_printf(b, "\\u%04x", c);
		else
			mail_buf_add(b, s, 1);
	}
	mail_buf_add(b, "\"", 1);
}

static int status_json(struct mail *m, char *buf, size_t cap)
{
	struct mail_buf b = {0};
	size_t active = 0;
	int n;

	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (m->conns[i])
			active++;
	mail_buf_printf(&b, "{\"configured\":%s,\"server\":", m->set ? "true" : "false");
	json_str(&b, m->server);
	mail_buf_printf(&b,
			",\"queued\":%zu,\"waiting\":%zu,\"sending\":%zu,\"connections\":%zu,"
			"\"submitted\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64
			",\"failed_kept\":%zu,\"recipients_refused\":%" PRIu64
			",\"temporary_failures\":%" PRIu64 ",\"sessions\":%" PRIu64
			",\"server_failures\":%" PRIu32 ",\"hold_s\":%" PRIu64
			",\"last_delivery_ms\":%" PRId64 ",\"last_error_ms\":%" PRId64
			",\"last_error\":",
			m->ready.n + m->waiting.n + m->busy, m->waiting.n, m->busy, active,
			m->submitted, m->delivered, m->failed, m->failed_kept, m->rcpt_failed,
			m->temp_failures, m->sessions, m->server_failures,
			m->hold_until > now_ms(m) ? (m->hold_until - now_ms(m) + 999) / 1000 : 0,
			m->last_delivery_ms, m->last_error_ms);
	json_str(&b, m->last_error);
	mail_buf_printf(&b,
			",\"incomplete\":%" PRIu64 ",\"recovered\":%" PRIu64
			",\"recovery_ms\":%" PRIu64
			",\"scanned\":%s,\"admin_errors\":{\"sent\":%" PRIu64
			",\"dropped\":%" PRIu64 ",\"pending\":%" PRIu32 "}}",
			m->incomplete, m->recovered, m->recovery_ms, m->scanned ? "true" : "false",
			m->admin.sent, m->admin.dropped_total, m->admin.pending);
	if (m->sync && b.data && b.len) {
		struct mail_sync_stats st;

		sync_check(m);
		mail_sync_stats(m->sync, &st);
		b.len--; /* reopen the object */
		mail_buf_printf(&b,
				",\"sync\":{\"batches\":%" PRIu64 ",\"files\":%" PRIu64
				",\"max_batch\":%" PRIu64 ",\"max_ms\":%" PRIu64
				",\"last_ms\":%" PRIu64 ",\"queued\":%" PRIu64 ",\"late\":%" PRIu64
				",\"errors\":%" PRIu64 "}}",
				st.batches, st.files, st.max_batch, st.max_ms, st.last_ms,
				st.queued, st.late, st.errors);
	}
	if (!b.data)
		return -ENOMEM;
	n = (int)b.len;
	if (cap)
		snprintf(buf, cap, "%s", b.data);
	mail_buf_free(&b);
	return n;
}

static int svc_status(char *buf, size_t cap)
{
	return the_mail ? status_json(the_mail, buf, cap) : -ENOTCONN;
}

static const struct ucs_mail_api mail_api = {
	.size = sizeof(struct ucs_mail_api),
	.submit = svc_submit,
	.test = svc_test,
	.cancel = svc_cancel,
	.admin_to = svc_admin_to,
	.status = svc_status,
};

/* ---- administrator error mails (batching: mail_admin.c) ---- */

/* The batch of error events as one mail into the outbox. */
static void admin_send(struct mail *m)
{
	struct ucs_mail mm = {.size = sizeof(mm)};
	struct mail_buf subject = {0}, body = {0};
	uint32_t pending = m->admin.pending;
	char id[300], why[300];
	uint32_t n;
	int err;

	n = mail_admin_take(&m->admin, wall_ms(), m->host->env->server_name(), &subject, &body);
	if (!n) {
		if (pending)
			m->host->log->log(m->self, UCS_LOG_WARNING,
					  "%" PRIu32
					  " errors not mailed to the administrator: limit "
					  "of %" PRIu32 " mails per hour reached",
					  pending, m->cfg.admin_max_per_hour);
		goto out;
	}
	mm.to = m->cfg.admin_to;
	mm.subject = subject.data;
	mm.text = body.data;
	mm.origin = "admin-errors";
	err = do_submit(m, &mm, id, sizeof(id), why, sizeof(why));
	/* a warning, not an error: an error here would feed the next batch */
	if (err)
		m->host->log->log(m->self, UCS_LOG_WARNING,
				  "administrator error mail not queued: %s", why);
	mail_admin_done(&m->admin, wall_ms(), n, err == 0);
out:
	mail_buf_free(&subject);
	mail_buf_free(&body);
}

static void admin_flush(struct ucs_timer *t, void *arg)
{
	(void)t;
	admin_send(arg);
}

static void on_event(const struct ucs_msg *msg, void *arg)
{
	struct mail *m = arg;
	size_t len = 0;
	const struct ucs_server_event *ev = m->host->bus->msg_payload(msg, &len);
	char tag[sizeof(ev->tag) + 1], text[sizeof(ev->text) + 1];

	if (!ev || len < sizeof(*ev) || ev->level != UCS_LOG_ERROR)
		return;
	snprintf(tag, sizeof(tag), "%.*s", (int)sizeof(ev->tag), ev->tag);
	/* never our own errors: a failing mail server would mail about itself */
	if (strcmp(tag, m->host->env->plugin_name(m->self)) == 0)
		return;
	if (!m->cfg.admin_enabled || !m->cfg.admin_to || !*m->cfg.admin_to || !m->set)
		return;
	snprintf(text, sizeof(text), "%.*s", (int)sizeof(ev->text), ev->text);
	mail_admin_add(&m->admin, ev->time_ms, tag, text);
	if (!m->host->timer->active(m->admin_timer))
		m->host->timer->start(m->admin_timer, (uint64_t)m->cfg.admin_batch_s * 1000, 0);
}

/* ---- configuration ---- */

static const char *const tls_modes[] = {"starttls", "none", "required", "implicit", NULL};

static const struct ucs_cfg_key smtp_keys[] = {
	UCS_CFG_STRING_KEY("host", "\"\"", "SMTP server name or address; \"\": no e-mail"),
	UCS_CFG_INT_KEY("port", "25", 1, 65535,
			"SMTP port: 25, 587 (submission), 465 (implicit TLS)"),
	UCS_CFG_CHOICE_KEY("tls", "\"starttls\"", tls_modes,
			   "starttls: upgrade when offered; required: STARTTLS or fail (force "
			   "TLS); implicit: TLS from the first byte (465); none: plain"),
	UCS_CFG_STRING_KEY("user", "\"\"", "SMTP AUTH user (\"\": no AUTH)"),
	UCS_CFG_STRING_KEY("password", "\"\"", "SMTP AUTH password"),
	UCS_CFG_BOOL_KEY("verify", "true", "verify the server's certificate and name"),
	UCS_CFG_PATH_KEY("ca", "\"\"", "PEM CA file for the server (\"\": the system bundle)"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key admin_keys[] = {
	UCS_CFG_BOOL_KEY("enabled", "true", "mail errors of the event log to admin_to"),
	UCS_CFG_INT_KEY("batch_s", "60", 1, 86400, "collect errors this long into one mail"),
	UCS_CFG_INT_KEY("max_per_hour", "10", 1, 1000, "at most this many error mails per hour"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key retry_keys[] = {
	UCS_CFG_INT_KEY("min_s", "30", 1, 86400, "first retry delay after a temporary failure"),
	UCS_CFG_INT_KEY("max_s", "3600", 1, 86400, "longest retry delay"),
	UCS_CFG_INT_KEY("give_up_h", "72", 1, 8760,
			"a message still undelivered this long after submit fails"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key mail_keys[] = {
	UCS_CFG_OBJECT_KEY("smtp", smtp_keys, "the SMTP server"),
	UCS_CFG_STRING_KEY("from", "\"\"", "sender address (\"\": ucsd@<server name>)"),
	UCS_CFG_STRING_KEY("admin_to", "\"\"", "administrator addresses, ';'-separated"),
	UCS_CFG_BOOL_KEY("utf8", "true",
			 "use 8BITMIME / SMTPUTF8 when offered; off: 7-bit encodings only"),
	UCS_CFG_OBJECT_KEY("admin_errors", admin_keys, "error mails to the administrator"),
	UCS_CFG_OBJECT_KEY("retry", retry_keys, "retries of temporary failures"),
	UCS_CFG_INT_KEY("max_message_kb", "10240", 1, 1048576, "largest message accepted"),
	UCS_CFG_INT_KEY("timeout_s", "60", 1, 3600, "connect and reply timeout"),
	UCS_CFG_INT_KEY("connections", "2", 1, MAX_CONNECTIONS, "parallel SMTP sessions"),
	UCS_CFG_END,
};

static int64_t get_int(const struct ucs_host *h, const struct ucs_cfg *n, const char *k)
{
	int64_t v = 0;

	h->cfg->get_int(n, k, &v);
	return v;
}

static bool get_bool(const struct ucs_host *h, const struct ucs_cfg *n, const char *k)
{
	int v = 0;

	h->cfg->get_bool(n, k, &v);
	return v != 0;
}

static char *get_str(const struct ucs_host *h, const struct ucs_cfg *n, const char *k)
{
	const char *s = h->cfg->get_string(n, k);

	return strdup(s ? s : "");
}

static void cfg_free(struct mail_cfg *c)
{
	free(c->from);
	free(c->admin_to);
	memset(c, 0, sizeof(*c));
}

/* A name to greet with: the server name when it is a host name. */
static char *helo_name(struct mail *m)
{
	const char *n = m->host->env->server_name();
	char host[256] = "";

	if (!n || !*n ||
	    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
		    strlen(n)) {
		if (gethostname(host, sizeof(host) - 1) || !*host ||
		    strspn(host,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
			    strlen(host))
			snprintf(host, sizeof(host), "localhost");
		n = host;
	}
	return strdup(n);
}

static int read_config(struct mail *m, const struct ucs_cfg *sec, struct mail_cfg *c,
		       struct smtp_settings **set_out, char *server, size_t server_cap)
{
	const struct ucs_host *h = m->host;
	const struct ucs_cfg *smtp = h->cfg->object(sec, "smtp");
	const struct ucs_cfg *adm = h->cfg->object(sec, "admin_errors");
	const struct ucs_cfg *retry = h->cfg->object(sec, "retry");
	struct smtp_settings *s = NULL;
	const char *tls, *host;
	char why[300], *ca = NULL;
	bool verify;
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->from = get_str(h, sec, "from");
	c->admin_to = get_str(h, sec, "admin_to");
	c->utf8 = get_bool(h, sec, "utf8");
	c->admin_enabled = get_bool(h, adm, "enabled");
	c->admin_batch_s = (uint32_t)get_int(h, adm, "batch_s");
	c->admin_max_per_hour = (uint32_t)get_int(h, adm, "max_per_hour");
	c->retry_min_s = (uint32_t)get_int(h, retry, "min_s");
	c->retry_max_s = (uint32_t)get_int(h, retry, "max_s");
	c->give_up_h = (uint32_t)get_int(h, retry, "give_up_h");
	c->max_bytes = (size_t)get_int(h, sec, "max_message_kb") * 1024;
	c->connections = (uint32_t)get_int(h, sec, "connections");
	if (!c->from || !c->admin_to) {
		err = -ENOMEM;
		goto out;
	}
	if (c->retry_max_s < c->retry_min_s)
		c->retry_max_s = c->retry_min_s;
	if (*c->from) {
		struct mail_addr *a;
		size_t n;

		err = mail_addr_parse(c->from, &a, &n, why, sizeof(why));
		if (!err && n != 1)
			err = -EINVAL, snprintf(why, sizeof(why), "one address expected");
		if (!err)
			mail_addr_free(a, n);
		if (err) {
			h->log->log(m->self, UCS_LOG_ERROR, "mail.from: %s", why);
			goto out;
		}
	}
	if (*c->admin_to) {
		struct mail_addr *a;
		size_t n;

		err = mail_addr_parse(c->admin_to, &a, &n, why, sizeof(why));
		if (err) {
			h->log->log(m->self, UCS_LOG_ERROR, "mail.admin_to: %s", why);
			goto out;
		}
		mail_addr_free(a, n);
	}
	host = h->cfg->get_string(smtp, "host");
	if (!host || !*host) {
		snprintf(server, server_cap, "%s", "");
		*set_out = NULL;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	s->refs = 1;
	s->host = strdup(host);
	s->port = (uint16_t)get_int(h, smtp, "port");
	tls = h->cfg->get_string(smtp, "tls");
	s->tls = !strcmp(tls, "none")	    ? MAIL_TLS_NONE
		 : !strcmp(tls, "required") ? MAIL_TLS_REQUIRED
		 : !strcmp(tls, "implicit") ? MAIL_TLS_IMPLICIT
					    : MAIL_TLS_STARTTLS;
	s->user = get_str(h, smtp, "user");
	s->password = get_str(h, smtp, "password");
	s->utf8 = c->utf8;
	s->timeout_ms = (uint32_t)get_int(h, sec, "timeout_s") * 1000;
	s->helo = helo_name(m);
	verify = get_bool(h, smtp, "verify");
	ca = get_str(h, smtp, "ca");
	if (!s->host || !s->user || !s->password || !s->helo || !ca) {
		err = -ENOMEM;
		goto out;
	}
	if (s->tls != MAIL_TLS_NONE) {
		s->tls_conf_verify = verify;
		err = mail_tls_conf_new(&s->tls_conf, verify, ca, why, sizeof(why));
		if (err) {
			h->log->log(m->self, UCS_LOG_ERROR, "mail.smtp.ca: %s", why);
			goto out;
		}
	}
	snprintf(server, server_cap, "%s:%u", s->host, s->port);
	*set_out = s;
	s = NULL;
out:
	free(ca);
	if (s)
		smtp_settings_unref(s);
	if (err)
		cfg_free(c);
	return err;
}

static const char *tls_name(enum mail_tls_mode t)
{
	static const char *const names[] = {"none", "starttls", "required", "implicit"};

	return names[t];
}

static void log_settings(struct mail *m)
{
	if (!m->set) {
		m->host->log->log(m->self, UCS_LOG_INFO,
				  "no SMTP server configured (mail.smtp.host): e-mail is off");
		return;
	}
	m->host->log->log(
		m->self, UCS_LOG_INFO,
		"SMTP server %s, tls %s%s, %s, %u connection%s, admin errors to %s", m->server,
		tls_name(m->set->tls),
		m->set->tls != MAIL_TLS_NONE && !m->set->tls_conf_verify ? " (not verified)" : "",
		*m->set->user ? "with AUTH" : "without AUTH", m->cfg.connections,
		m->cfg.connections == 1 ? "" : "s",
		*m->cfg.admin_to && m->cfg.admin_enabled ? m->cfg.admin_to : "nobody");
}

/* ---- lifecycle ---- */

static int mail_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct mail *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	m->self = self;
	m->host = host;
	err = read_config(m, host->cfg->section(self), &m->cfg, &m->set, m->server,
			  sizeof(m->server));
	if (err)
		goto fail;
	if (snprintf(m->dir, sizeof(m->dir), "%s/mail/outbox", host->env->state_dir()) >=
	    (int)sizeof(m->dir)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	m->admin.max_per_hour = m->cfg.admin_max_per_hour;
	err = mail_outbox_prepare(m->dir, &m->tmp_removed);
	if (err) {
		host->log->log(self, UCS_LOG_ERROR, "cannot create the outbox %s: %s", m->dir,
			       strerror(-err));
		goto fail;
	}
	err = mail_sync_start(&m->sync, m->dir);
	if (err) {
		host->log->log(self, UCS_LOG_ERROR, "cannot start the outbox sync thread: %s",
			       strerror(-err));
		goto fail;
	}
	err = host->timer->open(self, &m->timer, on_timer, m);
	err = err ?: host->timer->open(self, &m->admin_timer, admin_flush, m);
	if (err)
		goto fail;
	err = host->service->provide(self, UCS_MAIL_SERVICE, UCS_MAIL_VERSION, &mail_api);
	if (err)
		goto fail;
	the_mail = m;
	mail_stopped = false;
	*state = m;
	return 0;
fail:
	host->timer->close(m->timer);
	host->timer->close(m->admin_timer);
	mail_sync_free(m->sync);
	smtp_settings_unref(m->set);
	cfg_free(&m->cfg);
	free(m);
	return err;
}

static int mail_start(void *state)
{
	struct mail *m = state;
	int err;

	log_settings(m);
	if (UCS_HAS_SLOT(m->host, struct ucs_host, server)) {
		err = m->host->bus->subscribe(m->self, &m->event_sub, UCS_SERVER_EVENT_TYPE,
					      UCS_SUB_EXACT, NULL, on_event, m);
		if (err)
			return err;
	}
	m->scan_t0 = now_ms(m);
	err = m->host->work->queue(m->self, &m->scan_work, scan_work, scan_done, m);
	if (err) {
		m->host->log->log(m->self, UCS_LOG_ERROR, "cannot scan the outbox: %s",
				  strerror(-err));
		return err;
	}
	return 0;
}

static int mail_reload(void *state, const struct ucs_cfg *section)
{
	struct mail *m = state;
	struct mail_cfg c;
	struct smtp_settings *set = NULL;
	char server[300];
	int err = read_config(m, section, &c, &set, server, sizeof(server));

	if (err)
		return err;
	cfg_free(&m->cfg);
	m->cfg = c;
	smtp_settings_unref(m->set);
	m->set = set;
	snprintf(m->server, sizeof(m->server), "%s", server);
	m->hold_until = 0;
	m->server_failures = 0;
	m->admin.max_per_hour = m->cfg.admin_max_per_hour;
	log_settings(m);
	pump(m);
	return 0;
}

static void mail_stop(void *state)
{
	struct mail *m = state;

	m->stopping = true;
	mail_stopped = true;
	/* the host revokes a plugin's timers when it stops: close ours first */
	m->host->timer->close(m->timer);
	m->host->timer->close(m->admin_timer);
	m->timer = m->admin_timer = NULL;
	if (m->event_sub)
		m->host->bus->unsubscribe(m->event_sub);
	m->event_sub = NULL;
	for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
		struct mail_conn *c = m->conns[i];

		if (!c)
			continue;
		if (c->prep) {
			c->prep->conn = NULL;
			if (c->prep->entry) {
				requeue(m, c->prep->entry);
				c->prep->entry = NULL;
			}
		}
		if (c->s)
			smtp_session_quit(c->s);
		conn_free(c);
	}
	/* errors still waiting for their batch: one mail now, not lost */
	if (m->admin.pending)
		admin_send(m);
	/* the stop promise (ucs/service.h): pending tests end with -ESHUTDOWN */
	while (m->ops) {
		struct ucs_mail_op *op = m->ops;

		if (op->s)
			smtp_session_abort(op->s);
		op->s = NULL;
		op_finish(op, -ESHUTDOWN, "the server stops");
	}
	/* the last batch, including that mail, reaches the disk */
	mail_sync_stop(m->sync);
	sync_check(m);
}

static void mail_fini(void *state)
{
	struct mail *m = state;

	/* jobs of the pool have finished or were dropped: free their memory */
	while (m->preps) {
		struct mail_prep *p = m->preps;

		if (p->entry)
			free(p->entry);
		p->entry = NULL;
		prep_free(m, p);
	}
	list_free(&m->ready);
	list_free(&m->waiting);
	mail_scan_free(&m->scan);
	free(m->submitted_early);
	mail_admin_free(&m->admin);
	mail_sync_free(m->sync);
	smtp_settings_unref(m->set);
	cfg_free(&m->cfg);
	if (the_mail == m)
		the_mail = NULL;
	free(m);
}

static int mail_status(void *state, char *buf, size_t cap)
{
	return status_json(state, buf, cap);
}

static const char *const provides[] = {UCS_MAIL_SERVICE, NULL};

static const struct ucs_plugin_desc mail_desc = {
	UCS_PLUGIN_HEADER,
	.name = "mail",
	.version = "1.0.0",
	.license = "MIT",
	.description = "SMTP submission with a persistent outbox (ucs.mail)",
	.requires = NULL,
	.provides = provides,
	.config = mail_keys,
	.init = mail_init,
	.start = mail_start,
	.reload = mail_reload,
	.stop = mail_stop,
	.fini = mail_fini,
	.status = mail_status,
};

UCS_PLUGIN_DEFINE(mail_desc)
