/*
 * plugins/journal/jr_ops.c - the ucs.journal service: query, update,
 * remove, take_offline, apply_retention, cancel and status, plus the
 * "journal.append" request (an entry from outside the tracker: imports,
 * tests).
 *
 * take_offline is two-phase: the pool thread only reads the rows; once
 * done() delivered them a short job clears exactly those (seq <= the
 * highest read), so a cancelled or failed delivery loses nothing. At stop
 * every pending op ends with -ESHUTDOWN (the service's stop promise,
 * ucs/service.h).
 *
 * An op is checked on the loop thread as far as that is cheap (parameters,
 * whose journal, the actor's rights on it: errors come back at once and
 * done is not called), then runs on a pool thread (host->work): it waits
 * until every entry appended before it is committed (so a query sees what
 * the tracker just wrote), talks to the ops connection and renders its JSON
 * result there. done() runs on the loop thread, where an update or removal
 * is also published as "journal.event". The user store's snapshot the
 * rights were read from travels with the op, so an update's rights (known
 * only once the entry's owner is read) come from the same state.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jr_db.h"
#include "jr_store.h"
#include "jr_track.h"

/* OP_CLEAR: the second half of take_offline, our own (no consumer);
 * OP_RETENTION: apply_retention's handle, run by jr_retention.c. */
enum op_kind { OP_QUERY = 1, OP_UPDATE, OP_REMOVE, OP_OFFLINE, OP_CLEAR, OP_RETENTION };

/*
 * An op's life: queued (work set) -> done_fn on the loop frees it. cancel
 * sets cancelled (read by the pool thread, hence atomic) and asks the host
 * to drop the job; done_fn then frees it without calling the consumer. At
 * stop the host no longer calls done_fn: jr_ops_stop ends every pending op
 * itself (the consumer's done with -ESHUTDOWN, ended set, work NULL) and
 * the memory - which a still running job may touch - stays until fini.
 */
struct ucs_journal_op {
	struct ucs_journal_op *next, *prev;
	enum op_kind kind;
	struct ucs_work *work;
	const struct ucs_ud_snapshot *snap;
	atomic_bool cancelled; /* the pool thread skips what has not started */
	bool ended;	       /* the consumer was told (or never will be): loop only */
	int64_t max_seq;       /* take_offline: the highest seq handed out */
	int64_t after_seq;     /* take_offline: a pending clear covers up to this */
	ucs_journal_done_h *done;
	void *arg;
	/* parameters */
	char actor[UCS_ID_MAX];
	char user[UCS_ID_MAX]; /* whose journal (query, offline) */
	char entry[UCS_ID_MAX];
	struct jr_db_query q;
	char text[128];
	struct ucs_journal_update u;
	uint32_t rights;  /* query: the actor's on user */
	int private_mode; /* update: the configuration's, read on the loop */
	/* result */
	int status;
	char *json;
	size_t len, cap;
	struct jr_entry ent; /* update/remove: the entry (owner, for the event) */
};

static struct jr *the;
static struct ucs_journal_op *ops;
static bool stopping;
static struct {
	uint64_t queries, updates, removes, offline_taken, offline_rows, failed, refused;
} st;

void jr_ops_bind(struct jr *j)
{
	the = j;
	stopping = false;
	memset(&st, 0, sizeof(st));
}

/* ---- result text ------------------------------------------------------------------------ */

static int put(struct ucs_journal_op *op, const char *s, size_t n)
{
	if (op->len + n + 1 > op->cap) {
		size_t cap = op->cap ? op->cap : 4096;
		char *b;

		while (cap < op->len + n + 1)
			cap *= 2;
		b = realloc(op->json, cap);
		if (!b)
			return -ENOMEM;
		op->json = b;
		op->cap = cap;
	}
	memcpy(op->json + op->len, s, n);
	op->len += n;
	op->json[op->len] = '\0';
	return 0;
}

static int put_entry(struct ucs_journal_op *op, const struct jr_entry *e)
{
	char small[8192], *buf = small;
	int n = jr_entry_json(e, small, sizeof(small)), err;

	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		jr_entry_json(e, buf, (size_t)n + 1);
	}
	err = put(op, buf, (size_t)n);
	if (buf != small)
		free(buf);
	return err;
}

static int row_to_array(const struct jr_entry *e, void *arg)
{
	struct ucs_journal_op *op = arg;

	if (op->len > 1 && put(op, ",", 1))
		return 1;
	return put_entry(op, e) ? 1 : 0;
}

/* ---- on a pool thread ------------------------------------------------------------------- */

static int do_change(struct ucs_journal_op *op)
{
	struct jr_db *db = the->db;
	uint32_t r;
	int err = jr_db_get(db, op->entry, &op->ent);

	if (err)
		return err;
	r = jr_rights(the->userdb, op->snap, op->actor, op->ent.user);
	/* an entry she may not see does not exist for her (someone else's
	 * private one, or one of a user outside her rights): -ENOENT, so the
	 * answer does not tell that the id exists */
	if (!(r & JR_SEE) || (op->ent.private_call && !(r & JR_PRIVATE))) {
		op->ent.id[0] = '\0';
		return -ENOENT;
	}
	if (op->kind == OP_REMOVE) {
		if (!(r & JR_DELETE)) {
			op->ent.id[0] = '\0';
			return -EPERM;
		}
		err = jr_db_remove(db, op->entry);
		if (err)
			op->ent.id[0] = '\0';
		if (!err) {
			err = put(op, "{\"id\":", 6);
			if (!err) {
				char q[3 * UCS_ID_MAX + 8];
				struct ucs_jout o = {q, sizeof(q), 0};

				ucs_jout_str(&o, op->entry, sizeof(op->entry));
				err = put(op, q, strlen(q));
			}
			if (!err)
				err = put(op, "}", 1);
		}
		return err;
	}
	if (!(r & JR_MODIFY) || ((op->u.set & UCS_JU_PRIVATE) && !(r & JR_PRIVATE))) {
		op->ent.id[0] = '\0';
		return -EPERM;
	}
	if ((op->u.set & UCS_JU_PRIVATE) && op->u.private_call && !op->ent.private_call &&
	    op->private_mode != JR_PRIVATE_NORMAL) {
		/* marked private later: the stored row (and so the UPDATED event)
		 * gets the private-call mode as a call private from the start
		 * would have; the numbers do not come back when the mark is
		 * cleared */
		struct jr_entry *mask = malloc(sizeof(*mask));

		if (!mask)
			return -ENOMEM;
		*mask = op->ent;
		mask->private_call = 1;
		jr_private_apply(op->private_mode, mask);
		err = jr_db_update(db, op->entry, op->u.set, op->u.note, op->u.private_call,
				   op->u.read, mask, &op->ent);
		free(mask);
	} else {
		err = jr_db_update(db, op->entry, op->u.set, op->u.note, op->u.private_call,
				   op->u.read, NULL, &op->ent);
	}
	if (err)
		op->ent.id[0] = '\0';
	else
		err = put_entry(op, &op->ent);
	return err;
}

static void work_fn(void *arg)
{
	struct ucs_journal_op *op = arg;
	int n, err;

	if (op->kind == OP_CLEAR) {
		/* not cancelled by anyone: what was handed out is delivered */
		n = jr_db_offline_clear(the->db, op->user, op->max_seq);
		op->status = n < 0 ? n : 0;
		return;
	}
	err = jr_db_sync(the->db);
	if (atomic_load(&op->cancelled)) {
		op->status = -ECANCELED;
		return;
	}
	if (err) {
		op->status = err;
		return;
	}
	switch (op->kind) {
	case OP_QUERY:
		err = put(op, "[", 1);
		n = err ? err : jr_db_query(the->db, &op->q, row_to_array, op);
		err = n < 0 ? n : put(op, "]", 1);
		break;
	case OP_OFFLINE:
		err = put(op, "[", 1);
		/* phase one: read only; the rows stay offline until done_fn
		 * knows the consumer got them (OP_CLEAR) */
		n = err ? err
			: jr_db_offline_select(the->db, op->user, op->after_seq, row_to_array, op,
					       &op->max_seq);
		err = n < 0 ? n : put(op, "]", 1);
		break;
	case OP_UPDATE:
	case OP_REMOVE:
		err = do_change(op);
		break;
	case OP_CLEAR:
	case OP_RETENTION:
		err = -EINVAL;
		break;
	}
	op->status = err;
}

/* ---- on the loop ------------------------------------------------------------------------ */

static void op_free(struct ucs_journal_op *op)
{
	if (op->snap)
		the->userdb->release(op->snap);
	free(op->json);
	free(op);
}

static void unlink_op(struct ucs_journal_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->next = op->prev = NULL;
}

static int submit(struct ucs_journal_op *op, struct ucs_journal_op **out);

/* take_offline's second phase: the rows handed out (seq <= max_seq) stop
 * being offline. Queued only after the consumer's done ran with them. */
static void queue_clear(const struct ucs_journal_op *from)
{
	struct ucs_journal_op *op = calloc(1, sizeof(*op));

	if (!op) {
		st.failed++;
		return;
	}
	op->kind = OP_CLEAR;
	op->ended = true; /* nobody to tell */
	op->max_seq = from->max_seq;
	snprintf(op->user, sizeof(op->user), "%s", from->user);
	if (submit(op, NULL))
		st.failed++;
}

static void done_fn(int status, void *arg)
{
	struct ucs_journal_op *op = arg;
	bool cancelled = atomic_load(&op->cancelled);
	int res = status ? status : op->status;

	unlink_op(op);
	op->work = NULL;
	/* a change the pool thread applied is published even when the
	 * consumer cancelled meanwhile: the entry did change */
	if (status == 0 && op->status == 0 && op->ent.id[0] && op->json) {
		if (op->kind == OP_UPDATE)
			jr_publish_event(the, UCS_JOURNAL_UPDATED, op->ent.user, op->ent.id,
					 op->ent.offline, op->json);
		else if (op->kind == OP_REMOVE)
			jr_publish_event(the, UCS_JOURNAL_DELETED, op->ent.user, op->ent.id, 0,
					 op->json);
	}
	if (res && res != -ECANCELED)
		st.failed++;
	if (!cancelled && !op->ended && res != -ECANCELED) {
		op->ended = true;
		op->done(res, res ? NULL : op->json, op->arg);
		/* delivered: now (and only now) the rows leave the offline journal */
		if (op->kind == OP_OFFLINE && res == 0 && op->max_seq > 0 && !stopping)
			queue_clear(op);
	}
	op_free(op);
}

static struct ucs_journal_op *op_new(enum op_kind kind, ucs_journal_done_h *done, void *arg,
				     const char *actor)
{
	struct ucs_journal_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	op->done = done;
	op->arg = arg;
	snprintf(op->actor, sizeof(op->actor), "%s", actor ? actor : "");
	return op;
}

static int submit(struct ucs_journal_op *op, struct ucs_journal_op **out)
{
	int err = the->host->work->queue(the->self, op->kind == OP_CLEAR ? NULL : &op->work,
					 work_fn, done_fn, op);

	if (err) {
		op_free(op);
		return err;
	}
	op->next = ops;
	if (ops)
		ops->prev = op;
	ops = op;
	if (out)
		*out = op;
	return 0;
}

static int ready(ucs_journal_done_h *done)
{
	if (!the || stopping || !the->db)
		return -ESHUTDOWN;
	return done ? 0 : -EINVAL;
}

static int op_query(const struct ucs_journal_query *q, ucs_journal_done_h *done, void *arg,
		    struct ucs_journal_op **out)
{
	struct ucs_journal_op *op = NULL;
	const char *user;
	int err = ready(done);

	if (!err && (!q || q->size < sizeof(*q) || q->limit < 1 || q->limit > 10000 ||
		     q->since < 0 || q->until < 0 || (q->until && q->until < q->since) ||
		     !memchr(q->text, '\0', sizeof(q->text)) ||
		     !memchr(q->actor.text, '\0', sizeof(q->actor.text)) ||
		     !memchr(q->user.text, '\0', sizeof(q->user.text))))
		err = -EINVAL;
	if (!err && !(op = op_new(OP_QUERY, done, arg, q->actor.text)))
		err = -ENOMEM;
	if (err)
		goto out;
	op->snap = the->userdb->acquire();
	user = jr_resolve_user(the->userdb, op->snap, op->actor, q->user.text);
	if (!user) {
		err = -ENOENT;
		goto out;
	}
	op->rights = jr_rights(the->userdb, op->snap, op->actor, user);
	if (!(op->rights & JR_SEE)) {
		err = -EPERM;
		goto out;
	}
	snprintf(op->user, sizeof(op->user), "%s", user);
	snprintf(op->text, sizeof(op->text), "%s", q->text);
	op->q.user = op->user;
	op->q.since = q->since;
	op->q.until = q->until;
	op->q.limit = q->limit;
	op->q.missed = q->missed != 0;
	op->q.hide_private = !(op->rights & JR_PRIVATE);
	op->q.text = op->text;
	st.queries++;
	err = submit(op, out);
	op = NULL;
out:
	if (err && err != -ESHUTDOWN)
		st.refused++;
	if (op)
		op_free(op);
	return err;
}

static int change(enum op_kind kind, const char *actor, const char *entry,
		  const struct ucs_journal_update *u, ucs_journal_done_h *done, void *arg,
		  struct ucs_journal_op **out)
{
	struct ucs_journal_op *op = NULL;
	int err = ready(done);

	if (!err && (!actor || !entry || !entry[0] || strlen(entry) >= UCS_ID_MAX ||
		     strlen(actor) >= UCS_ID_MAX))
		err = -EINVAL;
	if (!err && !(op = op_new(kind, done, arg, actor)))
		err = -ENOMEM;
	if (err)
		goto out;
	snprintf(op->entry, sizeof(op->entry), "%s", entry);
	if (u)
		op->u = *u;
	op->private_mode = the->conf.private_mode;
	op->snap = the->userdb->acquire();
	/* an actor that is no user may do nothing */
	if (actor[0] && !the->userdb->user(op->snap, actor)) {
		err = -EPERM;
		goto out;
	}
	if (kind == OP_UPDATE)
		st.updates++;
	else
		st.removes++;
	err = submit(op, out);
	op = NULL;
out:
	if (op)
		op_free(op);
	return err;
}

static int op_update(const struct ucs_journal_update *u, ucs_journal_done_h *done, void *arg,
		     struct ucs_journal_op **out)
{
	if (!u || u->size < sizeof(*u) || !u->set ||
	    (u->set & ~(UCS_JU_NOTE | UCS_JU_PRIVATE | UCS_JU_READ)) ||
	    !memchr(u->note, '\0', sizeof(u->note)) ||
	    !memchr(u->entry.text, '\0', sizeof(u->entry.text)) ||
	    !memchr(u->actor.text, '\0', sizeof(u->actor.text)))
		return the && !stopping ? -EINVAL : -ESHUTDOWN;
	return change(OP_UPDATE, u->actor.text, u->entry.text, u, done, arg, out);
}

static int op_remove(const char *actor, const char *entry, ucs_journal_done_h *done, void *arg,
		     struct ucs_journal_op **out)
{
	return change(OP_REMOVE, actor, entry, NULL, done, arg, out);
}

static int op_offline(const char *user, ucs_journal_done_h *done, void *arg,
		      struct ucs_journal_op **out)
{
	struct ucs_journal_op *op = NULL;
	const char *id;
	int err = ready(done);

	if (!err && (!user || !user[0]))
		err = -EINVAL;
	if (!err && !(op = op_new(OP_OFFLINE, done, arg, "")))
		err = -ENOMEM;
	if (err)
		goto out;
	op->snap = the->userdb->acquire();
	id = jr_resolve_user(the->userdb, op->snap, "", user);
	if (!id) {
		err = -ENOENT;
		goto out;
	}
	snprintf(op->user, sizeof(op->user), "%s", id);
	/* a clear still queued for her: its rows are delivered already */
	for (struct ucs_journal_op *o = ops; o; o = o->next)
		if (o->kind == OP_CLEAR && o->max_seq > op->after_seq &&
		    strcmp(o->user, op->user) == 0)
			op->after_seq = o->max_seq;
	st.offline_taken++;
	err = submit(op, out);
	op = NULL;
out:
	if (op)
		op_free(op);
	return err;
}

/* The run's end (jr_retention.c calls it on the loop, also with
 * -ESHUTDOWN at stop). After stop the op stays in the list until fini. */
static void retention_done(int status, const char *json, void *arg)
{
	struct ucs_journal_op *op = arg;

	if (op->ended)
		return;
	op->ended = true;
	if (!atomic_load(&op->cancelled))
		op->done(status, json, op->arg);
	if (!stopping) {
		unlink_op(op);
		op_free(op);
	}
}

static int op_retention(ucs_journal_done_h *done, void *arg, struct ucs_journal_op **out)
{
	struct ucs_journal_op *op = NULL;
	int err = ready(done);

	if (out)
		*out = NULL;
	if (!err && !(op = op_new(OP_RETENTION, done, arg, "")))
		err = -ENOMEM;
	if (!err)
		err = jr_retention_apply(the, retention_done, op);
	if (err) {
		if (op)
			op_free(op);
		return err;
	}
	/* the handle cancels the answer, not the run: the rules are applied
	 * anyway (the run is one transaction per chunk, harmless to finish) */
	op->next = ops;
	if (ops)
		ops->prev = op;
	ops = op;
	if (out)
		*out = op;
	return 0;
}

static void op_cancel(struct ucs_journal_op *op)
{
	/* after stop every op has ended already (the consumer was told
	 * -ESHUTDOWN); a consumer never cancels an ended op, but be safe */
	if (!op || stopping || op->ended)
		return;
	atomic_store(&op->cancelled, true);
	/* a queued job reports -ECANCELED to done_fn, a running one finishes;
	 * either way done_fn frees it without calling the consumer */
	if (op->work)
		the->host->work->cancel(op->work);
}

int jr_ops_status(struct jr *j, char *buf, size_t cap)
{
	struct jr_db_counters c = {0};
	size_t running = 0;

	for (struct ucs_journal_op *op = ops; op; op = op->next)
		running++;
	if (j->db)
		jr_db_counters(j->db, &c);
	return snprintf(buf, cap,
			"\"appended\":%llu,\"committed\":%llu,\"queued\":%llu,\"failed\":%llu,"
			"\"batches\":%llu,\"max_batch\":%llu,\"last_commit_us\":%llu,"
			"\"writer_cpu_us\":%llu,"
			"\"broken\":%s,\"schema_version\":%d,\"ops_running\":%zu,"
			"\"queries\":%llu,\"updates\":%llu,\"removes\":%llu,"
			"\"offline_taken\":%llu,\"ops_failed\":%llu,\"ops_refused\":%llu",
			(unsigned long long)c.appended, (unsigned long long)c.committed,
			(unsigned long long)c.queued, (unsigned long long)c.failed,
			(unsigned long long)c.batches, (unsigned long long)c.max_batch,
			(unsigned long long)c.last_commit_us, (unsigned long long)c.writer_cpu_us,
			c.broken ? "true" : "false", j->db ? jr_db_version(j->db) : 0, running,
			(unsigned long long)st.queries, (unsigned long long)st.updates,
			(unsigned long long)st.removes, (unsigned long long)st.offline_taken,
			(unsigned long long)st.failed, (unsigned long long)st.refused);
}

static int op_status(char *buf, size_t cap)
{
	struct ucs_jout o = {buf, cap, 0};
	char part[2048];

	if (cap)
		buf[0] = '\0';
	if (!the)
		return snprintf(buf, cap, "{}");
	jr_ops_status(the, part, sizeof(part));
	ucs_jout_put(&o, "{%s", part);
	if (jr_retention_status(the, part, sizeof(part)) > 0)
		ucs_jout_put(&o, ",%s", part);
	if (jr_track_status(the, part, sizeof(part)) > 0)
		ucs_jout_put(&o, ",%s", part);
	ucs_jout_put(&o, "}");
	return (int)o.len;
}

void jr_ops_stop(struct jr *j)
{
	(void)j;
	/* the service's stop promise (ucs/service.h): the host drops queued
	 * jobs now and never calls done_fn again, so every pending op ends
	 * here with -ESHUTDOWN; a running job sees cancelled and skips what
	 * it has not started. The memory stays until fini (the host waited for
	 * running jobs then). A consumer's done may call us: stopping is set
	 * first, so new calls fail with -ESHUTDOWN and cancel does nothing. */
	stopping = true;
	for (struct ucs_journal_op *op = ops; op; op = op->next) {
		atomic_store(&op->cancelled, true);
		op->work = NULL;
	}
	for (struct ucs_journal_op *op = ops; op; op = op->next) {
		if (op->ended)
			continue;
		op->ended = true;
		op->done(-ESHUTDOWN, NULL, op->arg);
	}
}

void jr_ops_fini(struct jr *j)
{
	/* the host no longer calls done: what is left is ours to free. An
	 * offline clear whose done never came (dropped, or ran unseen: the
	 * clear is idempotent) is done now, so entries a client already got
	 * are not delivered again after a restart. */
	while (ops) {
		struct ucs_journal_op *op = ops;

		if (op->kind == OP_CLEAR && op->max_seq > 0 && j->db)
			jr_db_offline_clear(j->db, op->user, op->max_seq);
		unlink_op(op);
		op_free(op);
	}
	the = NULL;
}

const struct ucs_journal_api jr_journal_api = {
	.size = sizeof(struct ucs_journal_api),
	.query = op_query,
	.update = op_update,
	.remove = op_remove,
	.take_offline = op_offline,
	.apply_retention = op_retention,
	.cancel = op_cancel,
	.status = op_status,
};
