/*
 * plugins/userdb-common/udb_core.c - the store core: every slot of the
 * ucs.userdb service on top of the documents and the current snapshot.
 *
 * Three document sets live here (udb.h explains the forms):
 *   local - the stored documents, as on disk (ucsd's own data);
 *   dir   - the directory documents of a directory-backed store (partial;
 *           their keys are the fields the directory owns);
 *   eff   - the effective documents the snapshot is built from: for a
 *           directory kind the local document with the directory's keys
 *           laid over it, for every other kind the local set itself.
 * A change on the loop thread (put, remove, password, picture, logon)
 * validates, writes the file, updates local and eff for that one object,
 * builds the next snapshot, swaps it in and publishes "userdb.changed".
 * A removal also rewrites every local document that names the object
 * (drop_object) and makes one snapshot of it all. The next snapshot is
 * made in place (udb_snapshot_update); a change it cannot follow so goes
 * to the worker as a plain rebuild, its events kept in `pending` until
 * that build is swapped in (apply, defer).
 *
 * Bulk changes (SIGHUP re-reading the directory, a directory sync, new
 * user flags) run as one job at a time on a worker thread: copy the
 * document sets it starts from, load or merge, build the snapshot and diff
 * it against the documents the job started from, then commit on the loop
 * thread. Each local write bumps local_seq; a job that sees it moved while
 * it ran starts over, so a bulk change never rolls back a put that raced
 * it. Lines the worker wants to log are kept and logged at commit (only
 * the loop thread talks to the host).
 *
 * Nothing that grows with the store runs on the loop thread (udb.h, "The
 * loop thread"). The worker copies the sets under docs_lock, which the
 * loop thread takes only to edit them; the loop thread reads them without
 * it (readers never race a writer: the only writer is the loop thread).
 * A commit swaps pointers and hands what it replaced - the old sets, the
 * old snapshot, ten thousand documents and blocks after a reload - to a
 * "trash" job that frees it on a worker; the same happens to the results
 * of a job that is thrown away.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "udb.h"

#define EVENTS_MAX    256 /* a bulk change with more changes publishes UCS_UD_RELOADED */
#define JOB_LINES_MAX 200 /* lines a worker keeps for the log */
#define JOB_CALLBACKS 8
/* The most objects one change (a removal and the documents that named the
 * removed object) updates in place on the loop thread, each step about
 * 0.05 ms at 10,000 users; a change of more is built on a worker. */
#define CHAIN_MAX     16

struct change {
	int kind, op;
	char id[UDB_ID_MAX + 1];
};

struct line {
	struct line *next;
	int level;
	char text[];
};

struct callback {
	void (*fn)(int status, void *arg);
	void *arg;
};

struct job {
	struct udb_core *core;
	struct job *next; /* core->trash */
	struct ucs_work *work;
	int reload_disk;
	int take_dir;	     /* dir was handed over; else the worker copies the core's */
	int clear_numcache;  /* the dialplan may have changed: normalise afresh */
	uint32_t user_flags; /* what the snapshot is built with */
	int32_t write_back;
	uint64_t seq; /* local_seq when the worker copied the sets */
	/* inputs (the worker copies them from the core under docs_lock) */
	struct udb_docs dir, old_eff;
	/* outputs */
	int status;
	struct udb_docs new_local, new_eff;
	const struct ucs_ud_snapshot *snap;
	struct change *changes;
	size_t n_changes, cap_changes;
	int too_many;
	struct udb_load_stats stats;
	struct line *lines, **lines_tail;
	size_t n_lines, dropped_lines;
	struct callback cbs[JOB_CALLBACKS];
	size_t n_cbs;
	/* what a commit replaced (or udb_core_dispose got): freed on a worker */
	struct udb_docs garbage[3];
	const struct ucs_ud_snapshot *old_snap;
	json_t *extra;
	atomic_int cleared; /* the worker freed the contents */
};

struct udb_core {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	char *store_name;
	char *presence_domain;
	uint32_t directory_kinds, user_flags;
	int32_t write_back;
	struct udb_core_ops ops;
	struct udb_ctx client_ctx; /* put_json */
	struct udb_ctx stored_ctx; /* effective documents */
	struct udb_reporter report;
	struct udb_store *store;
	struct udb_numcache *numcache;
	const struct ucs_dialplan_api *dialplan;
	const struct ucs_msg_type *changed_type;
	struct udb_docs local, dir, eff;
	uint64_t generation;
	uint64_t local_seq;	   /* written under docs_lock */
	pthread_mutex_t docs_lock; /* the loop thread's edits vs the worker's copies */
	pthread_mutex_t snap_lock;
	const struct ucs_ud_snapshot *snap;
	struct ucs_ud_status status;
	int stopping;
	/* bulk work: one job at a time, the next request waits */
	struct job *job;
	int want_reload;
	int want_dir;
	struct udb_docs next_dir;
	struct callback next_cbs[JOB_CALLBACKS];
	size_t n_next_cbs;
	uint32_t next_user_flags; /* udb_core_set_flags: for the next bulk change */
	int32_t next_write_back;
	struct job *trash; /* jobs whose contents a worker frees */
	/* Changes whose documents are in but whose snapshot is not: the
	 * snapshot could not follow them in place (udb_snapshot_update said
	 * -EAGAIN, or too many objects changed at once), so a full build runs
	 * on a worker (want_rebuild) and they are published at its commit.
	 * While snap_stale, every further change waits for that build too. */
	struct change *pending;
	size_t n_pending, cap_pending;
	int pending_overflow; /* more than EVENTS_MAX: publish UCS_UD_RELOADED */
	int snap_stale;
	int want_rebuild;
};

/* The service functions take no context: one user store per process. */
static struct udb_core *the_core;

static void host_report(void *arg, int level, const char *fmt, va_list ap)
{
	struct udb_core *core = arg;

	core->host->log->logv(core->self, (enum ucs_log_level)level, fmt, ap);
}

static int is_dir_kind(const struct udb_core *core, int kind)
{
	return (core->directory_kinds & UDB_KIND_BIT(kind)) != 0;
}

static const char *kind_key(int kind, const char *id)
{
	return kind == UCS_UD_SETTINGS ? "" : id;
}

/* ---- bus ---- */

static const char *const op_names[] = {NULL, "created", "updated", "deleted", "reloaded"};

static int change_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_userdb_change *c = payload;
	json_t *j;
	char *text;
	int n;

	if (len < sizeof(*c))
		return -EINVAL;
	j = json_pack("{s:s?,s:s,s:I,s:s}", "kind", udb_kind_name(c->kind), "op",
		      c->op >= UCS_UD_CREATED && c->op <= UCS_UD_RELOADED ? op_names[c->op] : "?",
		      "generation", (json_int_t)c->generation, "id", c->id.text);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, cap, "%s", text);
	free(text);
	return n;
}

static void publish(struct udb_core *core, int kind, int op, const char *id)
{
	struct ucs_userdb_change c = {.size = sizeof(c), .kind = kind, .op = op};
	char key[UDB_ID_MAX + 16];
	struct ucs_msg *msg = NULL;

	if (core->stopping || !core->changed_type)
		return;
	c.generation = core->generation;
	snprintf(c.id.text, sizeof(c.id.text), "%s", id ? id : "");
	if (op == UCS_UD_RELOADED)
		key[0] = 0;
	else
		snprintf(key, sizeof(key), "%s:%s", udb_kind_name(kind), id ? id : "");
	if (core->host->bus->msg_new(core->changed_type, key[0] ? key : NULL, &c, sizeof(c),
				     &msg) == 0)
		core->host->bus->publish(core->self, msg);
}

/* ---- snapshots ---- */

static json_t *eff_doc(struct udb_core *core, int kind, const char *id)
{
	return json_object_get(core->eff.kind[kind], kind_key(kind, id));
}

/* Only what never changes after udb_core_new is read here besides the
 * generation and the flags, so a worker may call it with its own. */
static void fill_build_gen(struct udb_core *core, struct udb_build *b, const struct udb_docs *docs,
			   const struct udb_reporter *report, uint64_t generation,
			   uint32_t user_flags, int32_t write_back)
{
	memset(b, 0, sizeof(*b));
	b->store = core->store_name;
	b->generation = generation;
	b->write_back = write_back;
	b->presence_domain = core->presence_domain;
	b->picture_dir = udb_store_picture_dir(core->store);
	b->dialplan = core->dialplan;
	b->numcache = core->numcache;
	b->docs = docs;
	b->directory_kinds = core->directory_kinds;
	b->user_flags = user_flags;
	b->report = *report;
}

/* The flags of the current snapshot: a single change keeps them. */
static void fill_build(struct udb_core *core, struct udb_build *b, const struct udb_docs *docs,
		       const struct udb_reporter *report)
{
	fill_build_gen(core, b, docs, report, core->generation, core->user_flags, core->write_back);
}

/* Swaps in next and returns the old snapshot (the caller's reference). */
static const struct ucs_ud_snapshot *exchange_snapshot(struct udb_core *core,
						       const struct ucs_ud_snapshot *next)
{
	const struct ucs_ud_snapshot *old;

	pthread_mutex_lock(&core->snap_lock);
	old = core->snap;
	core->snap = next;
	pthread_mutex_unlock(&core->snap_lock);
	return old;
}

/* After a one-object change the old snapshot shares every block with the
 * new one: dropping it frees its arrays only. */
static void swap_snapshot(struct udb_core *core, const struct ucs_ud_snapshot *next)
{
	udb_snapshot_unref(exchange_snapshot(core, next));
}

static void kick(struct udb_core *core);

static void change_set(struct change *c, int kind, int op, const char *id)
{
	c->kind = kind;
	c->op = op;
	snprintf(c->id, sizeof(c->id), "%s", id ? id : "");
}

/* The snapshot cannot follow these changes in place: a full build on a
 * worker makes it, and they are published when it is swapped in. */
static void defer(struct udb_core *core, const struct change *ch, size_t n)
{
	for (size_t i = 0; i < n && !core->pending_overflow; i++) {
		if (core->n_pending >= EVENTS_MAX) {
			core->pending_overflow = 1;
			break;
		}
		if (core->n_pending == core->cap_pending) {
			size_t cap = core->cap_pending ? 2 * core->cap_pending : 16;
			struct change *c = realloc(core->pending, cap * sizeof(*c));

			if (!c) {
				core->pending_overflow = 1;
				break;
			}
			core->pending = c;
			core->cap_pending = cap;
		}
		core->pending[core->n_pending++] = ch[i];
	}
	core->snap_stale = 1;
	core->want_rebuild = 1;
	kick(core);
}

/* Makes the snapshot after the listed objects changed (core->eff holds
 * their new documents; an object absent from it is gone), swaps it in and
 * publishes the changes (loop thread). Each object is updated in place,
 * sharing every other block with the current snapshot; when that cannot
 * be done (udb_snapshot_update's -EAGAIN: a login that collides, users the
 * snapshot skipped; more than CHAIN_MAX objects; a build that failed; an
 * earlier change still waiting for its build) the full build runs on a
 * worker instead, never on the loop thread. */
static void apply(struct udb_core *core, const struct change *ch, size_t n)
{
	const struct ucs_ud_snapshot *cur;
	struct udb_build b;
	int err = 0;

	if (!n)
		return;
	if (core->snap_stale || n > CHAIN_MAX) {
		defer(core, ch, n);
		return;
	}
	fill_build_gen(core, &b, &core->eff, &core->report, core->generation + 1, core->user_flags,
		       core->write_back);
	cur = udb_snapshot_ref(core->snap);
	for (size_t i = 0; i < n && !err; i++) {
		const struct ucs_ud_snapshot *next = NULL;

		err = udb_snapshot_update(cur, &b, ch[i].kind, ch[i].id,
					  eff_doc(core, ch[i].kind, ch[i].id), &next);
		udb_snapshot_unref(cur); /* an intermediate one shares every block */
		cur = next;
	}
	if (err) {
		if (err != -EAGAIN)
			core->host->log->log(core->self, UCS_LOG_ERROR,
					     "cannot update the user store snapshot in place (%s): "
					     "building it on a worker thread",
					     strerror(-err));
		defer(core, ch, n);
		return;
	}
	core->generation++;
	swap_snapshot(core, cur);
	for (size_t i = 0; i < n; i++)
		publish(core, ch[i].kind, ch[i].op, ch[i].id);
}

/* The effective document of one directory object (NULL: invalid). */
static json_t *effective(const struct udb_ctx *ctx, int kind, const json_t *local,
			 const json_t *dirdoc, const struct udb_reporter *report)
{
	char err[512];
	json_t *cand = udb_doc_overlay(kind, local, dirdoc), *out = NULL;

	if (!cand)
		return NULL;
	if (udb_doc_canon(kind, cand, ctx, &out, NULL, err, sizeof(err)) != 0)
		udb_report(report, UCS_LOG_WARNING, "directory %s %s is not usable: %s",
			   udb_kind_name(kind), udb_doc_id(dirdoc), err);
	json_decref(cand);
	return out;
}

/* eff for kind k from local and dir (any thread). */
static int compute_eff(const struct udb_core *core, const struct udb_docs *local,
		       const struct udb_docs *dir, struct udb_docs *eff,
		       const struct udb_reporter *report)
{
	const char *id;
	json_t *d;

	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX; k++) {
		json_decref(eff->kind[k]);
		if (!(core->directory_kinds & UDB_KIND_BIT(k))) {
			eff->kind[k] = json_incref(local->kind[k]);
			continue;
		}
		eff->kind[k] = json_object();
		if (!eff->kind[k])
			return -ENOMEM;
		json_object_foreach(dir->kind[k], id, d)
		{
			json_t *e = effective(&core->stored_ctx, k,
					      json_object_get(local->kind[k], id), d, report);
			if (e)
				json_object_set_new(eff->kind[k], id, e);
		}
	}
	return 0;
}

/* Recomputes eff for one object after local or dir changed. */
static void update_eff(struct udb_core *core, int kind, const char *id)
{
	json_t *e = NULL;

	if (!is_dir_kind(core, kind))
		return; /* eff shares local's object */
	if (json_object_get(core->dir.kind[kind], id))
		e = effective(&core->stored_ctx, kind, json_object_get(core->local.kind[kind], id),
			      json_object_get(core->dir.kind[kind], id), &core->report);
	if (e)
		json_object_set_new(core->eff.kind[kind], id, e);
	else
		json_object_del(core->eff.kind[kind], id);
}

/* ---- single changes (loop thread) ---- */

/* Explains a document too large for the store (-EFBIG of a write) in err
 * or, without err, in the log. */
static void too_large(struct udb_core *core, int kind, const json_t *doc, char *err, size_t cap)
{
	char what[UDB_ID_MAX + 32], *text = NULL;
	size_t len = 0;

	udb_store_text(doc, &text, &len);
	free(text);
	snprintf(what, sizeof(what), "%s %s", udb_kind_name(kind),
		 kind == UCS_UD_SETTINGS ? "" : udb_doc_id(doc));
	if (err)
		snprintf(err, cap,
			 "document: %zu bytes as stored (indented, non-ASCII characters as "
			 "\\u escapes), more than the limit of %d bytes; nothing changed",
			 len, UDB_DOC_MAX);
	else
		core->host->log->log(core->self, UCS_LOG_WARNING,
				     "%s: not written: %zu bytes as stored, more than the limit of "
				     "%d bytes",
				     what, len, UDB_DOC_MAX);
}

/* Writes a new local document, updates eff, makes the next snapshot and
 * publishes (apply). -EIO when the write failed, -EINVAL when the document
 * is too large for the store (explained in err, or logged without it);
 * nothing changed then. Once the document is on disk the result is 0. */
static int commit_local(struct udb_core *core, int kind, json_t *doc, int op, char *errbuf,
			size_t errcap)
{
	const char *id = kind == UCS_UD_SETTINGS ? "" : udb_doc_id(doc);
	struct change ch;
	int err = udb_store_write(core->store, kind, doc);

	if (err) {
		if (err == -EFBIG)
			too_large(core, kind, doc, errbuf, errcap);
		json_decref(doc);
		return err == -EFBIG ? -EINVAL : -EIO;
	}
	change_set(&ch, kind, op, id);
	pthread_mutex_lock(&core->docs_lock);
	core->local_seq++;
	json_object_set_new(core->local.kind[kind], ch.id, doc);
	update_eff(core, kind, ch.id);
	pthread_mutex_unlock(&core->docs_lock);
	apply(core, &ch, 1);
	return 0;
}

/* The local document of an object to edit: the stored one, or for a
 * directory object without one the effective one (a new reference). */
static json_t *local_for_edit(struct udb_core *core, int kind, const char *id)
{
	json_t *doc = json_object_get(core->local.kind[kind], kind_key(kind, id));

	if (!doc)
		doc = eff_doc(core, kind, id);
	return doc ? json_deep_copy(doc) : NULL;
}

struct owned_check {
	struct udb_core *core;
	int kind;
	const char *id;
	const json_t *input;   /* the client's document */
	const json_t *current; /* the effective document, read form */
	json_t *accepted;      /* owned paths written back: path -> value */
	char *err;
	size_t errcap;
};

static int check_owned(const char *path, const json_t *dirval, void *arg)
{
	struct owned_check *oc = arg;
	const json_t *given = udb_doc_get_path(oc->input, path);
	const json_t *cur = udb_doc_get_path(oc->current, path);
	int rc;

	(void)dirval;
	if (!given || json_equal((json_t *)given, (json_t *)(cur ? cur : dirval)))
		return 0;
	rc = -EROFS;
	if (oc->core->ops.write_back)
		rc = oc->core->ops.write_back(oc->core->ops.arg, oc->kind, oc->id, path, given);
	if (rc == 0) {
		json_object_set(oc->accepted, path, (json_t *)given);
		return 0;
	}
	snprintf(oc->err, oc->errcap, "%s: owned by the directory (read-only)", path);
	return -EROFS;
}

/* Sets a path ("login", "phones.mobile") in a document. */
static void set_path(json_t *doc, const char *path, json_t *value)
{
	const char *dot = strchr(path, '.');
	char head[64];
	size_t n;
	json_t *sub;

	if (!dot) {
		json_object_set(doc, path, value);
		return;
	}
	n = (size_t)(dot - path);
	if (n >= sizeof(head))
		return;
	memcpy(head, path, n);
	head[n] = 0;
	sub = json_object_get(doc, head);
	if (!json_is_object(sub)) {
		sub = json_object();
		json_object_set_new(doc, head, sub);
	}
	json_object_set(sub, dot + 1, value);
}

static int fill_owned(const char *path, const json_t *value, void *arg)
{
	json_t *input = arg;

	if (!udb_doc_get_path(input, path))
		set_path(input, path, (json_t *)value);
	return 0;
}

static int same_groups(const json_t *given, const json_t *actual)
{
	size_t i, j;
	json_t *a, *b;

	if (json_array_size(given) != json_array_size(actual))
		return 0;
	json_array_foreach(given, i, a)
	{
		int found = 0;
		json_array_foreach(actual, j, b) if (json_equal(a, b)) found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

static int put_json(int kind, const char *text, size_t len, char *errbuf, size_t errcap)
{
	struct udb_core *core = the_core;
	char dummy[8], *err = errbuf && errcap ? errbuf : dummy;
	size_t cap = errbuf && errcap ? errcap : sizeof(dummy);
	struct udb_doc_meta meta = {-1, -1, -1, NULL};
	json_t *input = NULL, *doc = NULL, *old, *accepted = NULL;
	json_error_t jerr;
	const char *id;
	int rc, is_dir;

	err[0] = 0;
	if (!core)
		return -ESHUTDOWN;
	if (!udb_kind_name(kind)) {
		snprintf(err, cap, "document: unknown kind %d", kind);
		return -EINVAL;
	}
	if (!text || len > UDB_DOC_MAX) {
		snprintf(err, cap, "document: larger than %d bytes", UDB_DOC_MAX);
		return -EINVAL;
	}
	input = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!input) {
		snprintf(err, cap, "document: invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(input)) {
		snprintf(err, cap, "document: expected a JSON object");
		rc = -EINVAL;
		goto out;
	}
	id = kind == UCS_UD_SETTINGS ? "" : json_string_value(json_object_get(input, "id"));
	is_dir = is_dir_kind(core, kind);
	if (is_dir && id) {
		/* A directory object: owned fields keep the directory's value
		 * (or are written back); absent ones are taken from it. */
		const json_t *dirdoc = json_object_get(core->dir.kind[kind], id);
		struct owned_check oc = {core, kind, id, input, NULL, NULL, err, cap};
		json_t *cur;

		if (!dirdoc) {
			snprintf(err, cap,
				 "id: no %s \"%.64s\" in the directory (%ss come from the "
				 "directory)",
				 udb_kind_name(kind), id, udb_kind_name(kind));
			rc = -EROFS;
			goto out;
		}
		cur = eff_doc(core, kind, id);
		oc.current = cur ? udb_doc_read(kind, cur, &core->client_ctx, NULL) : NULL;
		oc.accepted = accepted = json_object();
		rc = udb_doc_owned_paths(dirdoc, check_owned, &oc);
		json_decref((json_t *)oc.current);
		if (rc)
			goto out;
		udb_doc_owned_paths(dirdoc, fill_owned, input);
	}
	rc = udb_doc_canon(kind, input, &core->client_ctx, &doc, &meta, err, cap);
	if (rc)
		goto out;
	id = kind == UCS_UD_SETTINGS ? "" : udb_doc_id(doc);
	if (!is_dir && json_string_length(json_object_get(doc, "dn")) > 0) {
		snprintf(err, cap, "dn: only directory objects have a DN");
		rc = -EINVAL;
		goto out;
	}
	old = json_object_get(core->local.kind[kind], id);
	if (!old && is_dir)
		old = eff_doc(core, kind, id);
	if (kind == UCS_UD_USER) {
		const struct ucs_ud_user *other;
		json_t *groups;
		const char *old_hash = json_string_value(json_object_get(old, "password_hash"));
		int has_pw = old_hash && *old_hash;
		int ci = old && json_is_true(json_object_get(old, "contact_image"));
		int pp = old && json_is_true(json_object_get(old, "profile_picture"));

		if (meta.has_password >= 0 && meta.has_password != has_pw) {
			snprintf(err, cap,
				 "has_password: is %s in the store (passwords are set "
				 "through set_password_hash)",
				 has_pw ? "true" : "false");
			rc = -EINVAL;
			goto out;
		}
		if ((meta.contact_image >= 0 && meta.contact_image != ci) ||
		    (meta.profile_picture >= 0 && meta.profile_picture != pp)) {
			snprintf(err, cap,
				 "%s: is %s in the store (pictures are set through "
				 "set_picture)",
				 meta.contact_image >= 0 && meta.contact_image != ci
					 ? "contact_image"
					 : "profile_picture",
				 meta.contact_image >= 0 && meta.contact_image != ci
					 ? (ci ? "true" : "false")
					 : (pp ? "true" : "false"));
			rc = -EINVAL;
			goto out;
		}
		groups = udb_snap_user_groups_json(core->snap, id);
		if (meta.groups && !same_groups(meta.groups, groups)) {
			snprintf(err, cap,
				 "groups: differs from the store (membership is kept on "
				 "the groups' member lists)");
			rc = -EINVAL;
		}
		json_decref(groups);
		if (rc)
			goto out;
		/* The snapshot may lag behind the documents while a worker
		 * builds it (snap_stale), but not where logins are concerned:
		 * in the file store a login has one possible id (its lower
		 * case), in a directory store logins are the directory's. */
		other = udb_snap_user_by_login(core->snap,
					       json_string_value(json_object_get(doc, "login")));
		if (other && strcmp(other->id, id) != 0) {
			snprintf(err, cap, "login: \"%.64s\" is taken by user %s",
				 json_string_value(json_object_get(doc, "login")), other->id);
			rc = -EEXIST;
			goto out;
		}
		if (old) {
			json_object_set(doc, "password_hash",
					json_object_get(old, "password_hash"));
			json_object_set(doc, "contact_image",
					json_object_get(old, "contact_image"));
			json_object_set(doc, "profile_picture",
					json_object_get(old, "profile_picture"));
		}
	}
	if (kind == UCS_UD_COMPUTER) {
		/* last_logon/last_user are the store's: what the client sent is ignored. */
		json_object_set_new(doc, "last_logon",
				    old ? json_incref(json_object_get(old, "last_logon"))
					: json_integer(0));
		json_object_set_new(doc, "last_user",
				    old ? json_incref(json_object_get(old, "last_user"))
					: json_string(""));
	}
	if (accepted && json_object_size(accepted)) {
		/* Written back: the directory document shows the new values at
		 * once; the next sync confirms them. */
		json_t *nd = json_deep_copy(json_object_get(core->dir.kind[kind], id));
		const char *path;
		json_t *val;

		json_object_foreach(accepted, path, val) set_path(nd, path, val);
		pthread_mutex_lock(&core->docs_lock);
		core->local_seq++; /* a bulk change must not drop it either */
		json_object_set_new(core->dir.kind[kind], id, nd);
		pthread_mutex_unlock(&core->docs_lock);
	}
	if (old && json_equal(old, doc) && !(accepted && json_object_size(accepted))) {
		rc = 0; /* nothing changed: no write, no event */
		goto out;
	}
	{
		int op =
			json_object_get(core->eff.kind[kind], id) ? UCS_UD_UPDATED : UCS_UD_CREATED;
		rc = commit_local(core, kind, doc, op, err, cap);
		doc = NULL;
		if (rc == -EIO)
			snprintf(err, cap, "the write failed; nothing changed");
	}
out:
	udb_doc_meta_clear(&meta);
	json_decref(accepted);
	json_decref(doc);
	json_decref(input);
	return rc;
}

/* ---- removal: the object and every reference to it ---- */

/* A document rewritten without its references to a removed object. */
struct edit {
	int kind;
	json_t *doc; /* the new stored form (a reference) */
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

static void edits_free(struct edits *e)
{
	for (size_t i = 0; i < e->n; i++)
		json_decref(e->v[i].doc);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static int edits_add(struct edits *e, int kind, json_t *doc)
{
	if (!doc)
		return -ENOMEM;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 8;
		struct edit *v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			json_decref(doc);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].kind = kind;
	e->v[e->n].doc = doc;
	e->n++;
	return 0;
}

/* Removes from the array doc[key] every string equal to id (or, with
 * field, every object whose field is id); 1 when one was there. */
static int drop_from_list(json_t *doc, const char *key, const char *field, const char *id)
{
	json_t *list = json_object_get(doc, key);
	int dropped = 0;

	for (size_t i = json_array_size(list); i-- > 0;) {
		json_t *e = json_array_get(list, i);
		const char *s = json_string_value(field ? json_object_get(e, field) : e);

		if (s && strcmp(s, id) == 0) {
			json_array_remove(list, i);
			dropped = 1;
		}
	}
	return dropped;
}

static int list_names(const json_t *doc, const char *key, const char *field, const char *id)
{
	const json_t *list = json_object_get(doc, key); /* once: the loop re-evaluates it */
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(field ? json_object_get(e, field) : e);

		if (s && strcmp(s, id) == 0)
			return 1;
	}
	return 0;
}

static int field_is(const json_t *doc, const char *key, const char *id)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return s && strcmp(s, id) == 0;
}

/* Which fields name an object of kind `kind`, per kind of document:
 * a user's grants, a group's members, leader and deputy; a group's
 * monitor and favourite groups; a user's profile. */
struct ref_field {
	int target;	   /* the removed object's kind */
	int holder;	   /* the kind of document that names it */
	const char *key;   /* the field */
	const char *field; /* lists of objects: the member that holds the id */
	int list;	   /* 1: a list; 0: a single id, reset to "" */
};

static const struct ref_field ref_fields[] = {
	{UCS_UD_USER, UCS_UD_USER, "grants", "user", 1},
	{UCS_UD_USER, UCS_UD_GROUP, "members", NULL, 1},
	{UCS_UD_USER, UCS_UD_GROUP, "leader", NULL, 0},
	{UCS_UD_USER, UCS_UD_GROUP, "deputy", NULL, 0},
	{UCS_UD_GROUP, UCS_UD_GROUP, "monitor_groups", NULL, 1},
	{UCS_UD_GROUP, UCS_UD_GROUP, "favourite_groups", NULL, 1},
	{UCS_UD_PROFILE, UCS_UD_USER, "profile", NULL, 0},
};
#define N_REF_FIELDS (sizeof(ref_fields) / sizeof(ref_fields[0]))

static int names(const json_t *doc, const struct ref_field *f, const char *id)
{
	return f->list ? list_names(doc, f->key, f->field, id) : field_is(doc, f->key, id);
}

/* Whether a snapshot object of kind holder names kind/id in one of the
 * fields of ref_fields (the snapshot's structs carry them as the
 * documents have them). */
static int struct_names(int holder, const void *obj, int kind, const char *id)
{
	if (holder == UCS_UD_USER) {
		const struct ucs_ud_user *u = obj;

		if (kind == UCS_UD_PROFILE)
			return strcmp(u->profile, id) == 0;
		for (size_t i = 0; kind == UCS_UD_USER && i < u->n_grants; i++)
			if (strcmp(u->grants[i].user, id) == 0)
				return 1;
		return 0;
	}
	if (holder == UCS_UD_GROUP) {
		const struct ucs_ud_group *g = obj;

		if (kind == UCS_UD_USER) {
			if (strcmp(g->leader, id) == 0 || strcmp(g->deputy, id) == 0)
				return 1;
			for (size_t i = 0; i < g->n_members; i++)
				if (strcmp(g->members[i], id) == 0)
					return 1;
		}
		for (size_t i = 0; kind == UCS_UD_GROUP && i < g->n_monitor_groups; i++)
			if (strcmp(g->monitor_groups[i], id) == 0)
				return 1;
		for (size_t i = 0; kind == UCS_UD_GROUP && i < g->n_favourite_groups; i++)
			if (strcmp(g->favourite_groups[i], id) == 0)
				return 1;
	}
	return 0;
}

/* A copy of doc (of kind holder, id hid) without its references to
 * kind/id, added to out; nothing when it has none. */
static int strip_doc(int holder, const char *hid, const json_t *doc, int kind, const char *id,
		     struct edits *out)
{
	json_t *copy = NULL;

	if (holder == kind && strcmp(hid, id) == 0)
		return 0;
	for (size_t f = 0; f < N_REF_FIELDS; f++) {
		const struct ref_field *rf = &ref_fields[f];

		if (rf->target != kind || rf->holder != holder || !names(doc, rf, id))
			continue;
		if (!copy && !(copy = json_deep_copy(doc)))
			return -ENOMEM;
		if (rf->list)
			drop_from_list(copy, rf->key, rf->field, id);
		else
			json_object_set_new(copy, rf->key, json_string(""));
	}
	return copy ? edits_add(out, holder, copy) : 0;
}

/* Every local document other than kind/id itself that names kind/id, as
 * a copy without those references (loop thread: core->local is read
 * without the lock). A user's removal must not leave her rights and roles
 * to the next user created with her id. Where the current snapshot is
 * compiled from exactly the local documents of a kind (no change waits
 * for a build, not a directory kind, nobody skipped), its compact structs
 * say which documents to look at; otherwise every document is read - ten
 * thousand scattered JSON documents take milliseconds, the snapshot's
 * arrays a fraction of one. */
static int find_refs(struct udb_core *core, int kind, const char *id, struct edits *out)
{
	const struct ucs_ud_snapshot *s = core->snap;
	int err = 0;

	for (int holder = UDB_KIND_MIN; holder <= UDB_KIND_MAX && !err; holder++) {
		const json_t *docs = core->local.kind[holder];
		size_t n = holder == UCS_UD_USER ? s->n_users : s->n_groups;
		const char *hid;
		json_t *doc;
		int relevant = 0;

		for (size_t f = 0; f < N_REF_FIELDS; f++)
			relevant |= ref_fields[f].target == kind && ref_fields[f].holder == holder;
		if (!relevant)
			continue;
		if (core->snap_stale || is_dir_kind(core, holder) || n != json_object_size(docs)) {
			json_object_foreach((json_t *)docs, hid, doc)
			{
				err = strip_doc(holder, hid, doc, kind, id, out);
				if (err)
					break;
			}
			continue;
		}
		for (size_t i = 0; i < n && !err; i++) {
			const void *obj = holder == UCS_UD_USER ? (const void *)s->users[i]
								: (const void *)s->groups[i];

			hid = holder == UCS_UD_USER ? s->users[i]->id : s->groups[i]->id;
			if (struct_names(holder, obj, kind, id) &&
			    (doc = json_object_get(docs, hid)) != NULL)
				err = strip_doc(holder, hid, doc, kind, id, out);
		}
	}
	return err;
}

/* Writes the edited documents one by one (each atomically) and puts each
 * one written into local and eff; adds a change for each whose effective
 * document changed (a directory object's owned fields hide the local
 * ones). Stops at the first failed write: -EIO (-EINVAL: too large, which
 * dropping a reference never makes a document). Loop thread. */
static int write_edits(struct udb_core *core, struct edits *e, struct change *ch, size_t *n_ch)
{
	for (size_t i = 0; i < e->n; i++) {
		int kind = e->v[i].kind;
		const char *id = kind == UCS_UD_SETTINGS ? "" : udb_doc_id(e->v[i].doc);
		json_t *before = json_incref(eff_doc(core, kind, id));
		int err = udb_store_write(core->store, kind, e->v[i].doc);

		if (err) {
			json_decref(before);
			if (err == -EFBIG)
				too_large(core, kind, e->v[i].doc, NULL, 0);
			return err == -EFBIG ? -EINVAL : -EIO;
		}
		change_set(&ch[*n_ch], kind, UCS_UD_UPDATED, id);
		pthread_mutex_lock(&core->docs_lock);
		core->local_seq++;
		json_object_set(core->local.kind[kind], ch[*n_ch].id, e->v[i].doc);
		update_eff(core, kind, ch[*n_ch].id);
		pthread_mutex_unlock(&core->docs_lock);
		if (before && !json_equal(before, eff_doc(core, kind, ch[*n_ch].id)))
			(*n_ch)++;
		json_decref(before);
	}
	return 0;
}

typedef int(drop_file_fn)(struct udb_core *core, int kind, const char *id, void *arg);

/* The part of a removal both remove() and udb_core_forget() share: every
 * other local document that names kind/id loses the reference, each
 * rewritten atomically, before the object's own files go (drop_file), so
 * a crash in between leaves the object with fewer references, never
 * references to an object that is gone. The local document goes from
 * memory too, then one snapshot swap and one event per object that changed
 * (self_op: the object's own event, 0 none). A failed write stops it: the
 * documents already rewritten stay rewritten (on disk and in memory alike)
 * and the object stays (-EIO). *n_refs: how many documents named it. */
static int drop_object(struct udb_core *core, int kind, const char *id, drop_file_fn *drop_file,
		       void *arg, int self_op, size_t *n_refs)
{
	struct edits e = {0};
	struct change *ch = NULL;
	size_t n = 0;
	int err, had = json_object_get(core->local.kind[kind], id) != NULL;

	*n_refs = 0;
	err = find_refs(core, kind, id, &e);
	if (!err && !(ch = calloc(e.n + 1, sizeof(*ch))))
		err = -ENOMEM;
	if (err) {
		edits_free(&e);
		return err;
	}
	if (self_op)
		n = 1; /* first: the object itself */
	*n_refs = e.n;
	err = write_edits(core, &e, ch, &n);
	if (!err)
		err = drop_file(core, kind, id, arg);
	if (!err && had) {
		pthread_mutex_lock(&core->docs_lock);
		core->local_seq++;
		json_object_del(core->local.kind[kind], id);
		update_eff(core, kind, id);
		pthread_mutex_unlock(&core->docs_lock);
	}
	if (self_op && !err && had)
		change_set(&ch[0], kind, self_op, id);
	else if (self_op)
		memmove(ch, ch + 1, --n * sizeof(*ch)); /* the object stays as it was */
	apply(core, ch, n);
	free(ch);
	edits_free(&e);
	return err;
}

static int remove_files(struct udb_core *core, int kind, const char *id, void *arg)
{
	int err = udb_store_remove(core->store, kind, id);

	(void)arg;
	return err && err != -ENOENT ? -EIO : 0;
}

static int remove_obj(int kind, const char *id)
{
	struct udb_core *core = the_core;

	if (!core)
		return -ESHUTDOWN;
	if (!udb_kind_name(kind) || kind == UCS_UD_SETTINGS || !id || !udb_id_valid(id))
		return -EINVAL;
	if (kind == UCS_UD_PROFILE && strcmp(id, "default") == 0)
		return -EPERM;
	if (is_dir_kind(core, kind))
		return json_object_get(core->eff.kind[kind], id) ? -EROFS : -ENOENT;
	if (!json_object_get(core->local.kind[kind], id))
		return -ENOENT;
	return drop_object(core, kind, id, remove_files, NULL, UCS_UD_DELETED, &(size_t){0});
}

static int get_json(int kind, const char *id, char *buf, size_t cap)
{
	struct udb_core *core = the_core;
	json_t *doc, *groups = NULL, *read;
	char *text;
	int n;

	if (!core)
		return -ESHUTDOWN;
	if (!udb_kind_name(kind))
		return -EINVAL;
	if (kind != UCS_UD_SETTINGS && !id)
		return -EINVAL;
	doc = eff_doc(core, kind, id);
	if (!doc)
		return -ENOENT;
	if (kind == UCS_UD_USER)
		groups = udb_snap_user_groups_json(core->snap, id);
	read = udb_doc_read(kind, doc, &core->client_ctx, groups);
	json_decref(groups);
	text = read ? json_dumps(read, JSON_COMPACT) : NULL;
	json_decref(read);
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, cap, "%s", text);
	free(text);
	return n;
}

static int password_hash(const char *id, char *buf, size_t cap)
{
	struct udb_core *core = the_core;
	json_t *doc;
	const char *h;

	if (!core)
		return -ESHUTDOWN;
	doc = id ? eff_doc(core, UCS_UD_USER, id) : NULL;
	h = doc ? json_string_value(json_object_get(doc, "password_hash")) : NULL;
	if (!h || !*h)
		return -ENOENT;
	if (snprintf(buf, cap, "%s", h) >= (int)cap)
		return -ENOSPC;
	return 0;
}

static int phc_valid(const char *s)
{
	size_t n = 0;

	if (s[0] != '$')
		return 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n <= UDB_TEXT_MAX;
}

static int set_password_hash(const char *id, const char *phc)
{
	struct udb_core *core = the_core;
	json_t *doc;

	if (!core)
		return -ESHUTDOWN;
	if (!id || !eff_doc(core, UCS_UD_USER, id))
		return -ENOENT;
	if (phc && *phc && !phc_valid(phc))
		return -EINVAL;
	doc = local_for_edit(core, UCS_UD_USER, id);
	if (!doc)
		return -ENOMEM;
	json_object_set_new(doc, "password_hash", json_string(phc ? phc : ""));
	return commit_local(core, UCS_UD_USER, doc, UCS_UD_UPDATED, NULL, 0);
}

static int computer_logon(const char *id, const char *user, int64_t when)
{
	struct udb_core *core = the_core;
	json_t *doc;

	if (!core)
		return -ESHUTDOWN;
	if (!id || !eff_doc(core, UCS_UD_COMPUTER, id))
		return -ENOENT;
	if (when < 0 || (user && strlen(user) > UDB_TEXT_MAX))
		return -EINVAL;
	doc = local_for_edit(core, UCS_UD_COMPUTER, id);
	if (!doc)
		return -ENOMEM;
	json_object_set_new(doc, "last_logon", json_integer(when));
	json_object_set_new(doc, "last_user", json_string(user ? user : ""));
	return commit_local(core, UCS_UD_COMPUTER, doc, UCS_UD_UPDATED, NULL, 0);
}

static int set_picture(const char *id, int which, const void *data, size_t len)
{
	struct udb_core *core = the_core;
	const char *key = which ? "profile_picture" : "contact_image";
	char path[4096];
	void *png = NULL;
	size_t png_len = 0;
	json_t *doc;
	int err;

	if (!core)
		return -ESHUTDOWN;
	if (which != 0 && which != 1)
		return -EINVAL;
	if (!id || !eff_doc(core, UCS_UD_USER, id))
		return -ENOENT;
	if (len && !data)
		return -EINVAL;
	/* the directory's picture: the file is the directory-backed store's,
	 * written at every sync */
	if (which == 0 && is_dir_kind(core, UCS_UD_USER) &&
	    json_object_get(json_object_get(core->dir.kind[UCS_UD_USER], id), "contact_image"))
		return -EROFS;
	err = udb_store_picture_path(core->store, id, which, path, sizeof(path));
	if (err)
		return err;
	if (len) {
		err = udb_picture_scale(data, len, which, &png, &png_len);
		if (err)
			return err;
	}
	/* The picture file first, then the document that points at it: a
	 * crash in between leaves an unused file, never a dangling flag. */
	if (len) {
		err = udb_store_write_file(core->store, path, png, png_len);
		free(png);
		if (err)
			return -EIO;
	}
	doc = local_for_edit(core, UCS_UD_USER, id);
	if (!doc)
		return -ENOMEM;
	json_object_set_new(doc, key, json_boolean(len != 0));
	err = commit_local(core, UCS_UD_USER, doc, UCS_UD_UPDATED, NULL, 0);
	if (!err && !len && udb_store_write_file(core->store, path, NULL, 0) != 0)
		core->host->log->log(core->self, UCS_LOG_WARNING, "cannot remove %s", path);
	return err;
}

/* ---- snapshot slots ---- */

static const struct ucs_ud_snapshot *acquire(void)
{
	struct udb_core *core = the_core;
	const struct ucs_ud_snapshot *s;

	if (!core)
		return NULL;
	pthread_mutex_lock(&core->snap_lock);
	s = udb_snapshot_ref(core->snap);
	pthread_mutex_unlock(&core->snap_lock);
	return s;
}

static void release(const struct ucs_ud_snapshot *snap)
{
	udb_snapshot_unref(snap);
}

static int status(struct ucs_ud_status *out)
{
	struct udb_core *core = the_core;
	uint32_t size;

	if (!core || !out)
		return -EINVAL;
	size = out->size && out->size < sizeof(*out) ? out->size : sizeof(*out);
	memcpy(out, &core->status, size);
	out->size = size;
	return 0;
}

static const struct ucs_userdb_api udb_api = {
	.size = sizeof(udb_api),
	.acquire = acquire,
	.release = release,
	.user = udb_snap_user,
	.user_by_login = udb_snap_user_by_login,
	.group = udb_snap_group,
	.computer = udb_snap_computer,
	.profile = udb_snap_profile,
	.get_json = get_json,
	.put_json = put_json,
	.remove = remove_obj,
	.password_hash = password_hash,
	.set_password_hash = set_password_hash,
	.computer_logon = computer_logon,
	.set_picture = set_picture,
	.status = status,
};

const struct ucs_userdb_api *udb_core_api(void)
{
	return &udb_api;
}

/* ---- bulk changes on a worker thread ---- */

static void job_report(void *arg, int level, const char *fmt, va_list ap)
{
	struct job *job = arg;
	char text[1024];
	struct line *l;
	int n;

	if (job->n_lines >= JOB_LINES_MAX) {
		job->dropped_lines++;
		return;
	}
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	l = malloc(sizeof(*l) + strlen(text) + 1);
	if (!l)
		return;
	l->next = NULL;
	l->level = level;
	memcpy(l->text, text, strlen(text) + 1);
	*job->lines_tail = l;
	job->lines_tail = &l->next;
	job->n_lines++;
}

static void add_change(struct job *job, int kind, int op, const char *id)
{
	if (job->too_many)
		return;
	if (job->n_changes >= EVENTS_MAX) {
		job->too_many = 1;
		return;
	}
	if (job->n_changes == job->cap_changes) {
		size_t cap = job->cap_changes ? job->cap_changes * 2 : 16;
		struct change *c = realloc(job->changes, cap * sizeof(*c));
		if (!c) {
			job->too_many = 1;
			return;
		}
		job->changes = c;
		job->cap_changes = cap;
	}
	job->changes[job->n_changes].kind = kind;
	job->changes[job->n_changes].op = op;
	snprintf(job->changes[job->n_changes].id, sizeof(job->changes[0].id), "%s", id);
	job->n_changes++;
}

static void diff(struct job *job)
{
	const char *id;
	json_t *doc;

	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX && !job->too_many; k++) {
		json_t *before = job->old_eff.kind[k], *after = job->new_eff.kind[k];

		json_object_foreach(after, id, doc)
		{
			json_t *old = json_object_get(before, id);
			if (!old)
				add_change(job, k, UCS_UD_CREATED, id);
			else if (old != doc && !json_equal(old, doc))
				add_change(job, k, UCS_UD_UPDATED, id);
		}
		json_object_foreach(before, id, doc)
		{
			if (!json_object_get(after, id))
				add_change(job, k, UCS_UD_DELETED, id);
		}
	}
}

/* Copies one of the core's sets (worker), each container under
 * docs_lock: a loop-thread write waits for one container's copy at most
 * (a millisecond or two at 10,000 objects), not for the whole set. The
 * containers themselves are not replaced while a job runs. */
static int copy_locked(struct udb_core *core, struct udb_docs *dst, const struct udb_docs *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX; k++) {
		pthread_mutex_lock(&core->docs_lock);
		dst->kind[k] = src->kind[k] ? json_copy(src->kind[k]) : json_object();
		pthread_mutex_unlock(&core->docs_lock);
		if (!dst->kind[k]) {
			udb_docs_clear(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

static void job_work(void *arg)
{
	struct job *job = arg;
	struct udb_core *core = job->core;
	struct udb_reporter rep = {job_report, job};
	struct udb_build b;
	int err = 0;

	if (job->clear_numcache)
		udb_numcache_clear(core->numcache); /* the dialplan may have changed too */
	/* The sets the job starts from. The loop thread edits them only under
	 * the lock and bumps local_seq with every edit: one that lands between
	 * two of the copies below makes them disagree, and the job starts over
	 * at done() because seq moved, so what it built is never used. */
	pthread_mutex_lock(&core->docs_lock);
	job->seq = core->local_seq;
	pthread_mutex_unlock(&core->docs_lock);
	if (!job->reload_disk)
		err = copy_locked(core, &job->new_local, &core->local);
	if (!err)
		err = copy_locked(core, &job->old_eff, &core->eff);
	if (!err && !job->take_dir)
		err = copy_locked(core, &job->dir, &core->dir);
	if (!err && job->reload_disk)
		err = udb_store_load(core->store, &job->new_local, &job->stats);
	if (!err)
		err = udb_docs_init(&job->new_eff);
	if (!err)
		err = compute_eff(core, &job->new_local, &job->dir, &job->new_eff, &rep);
	if (!err) {
		/* the generation is set at commit */
		fill_build_gen(core, &b, &job->new_eff, &rep, 0, job->user_flags, job->write_back);
		err = udb_snapshot_build(&b, &job->snap);
	}
	if (!err)
		diff(job);
	job->status = err;
}

/* Everything a job holds but the struct itself (any thread). */
static void job_clear(struct job *job)
{
	udb_docs_clear(&job->dir);
	udb_docs_clear(&job->old_eff);
	udb_docs_clear(&job->new_local);
	udb_docs_clear(&job->new_eff);
	for (int i = 0; i < 3; i++)
		udb_docs_clear(&job->garbage[i]);
	udb_snapshot_unref(job->snap);
	job->snap = NULL;
	udb_snapshot_unref(job->old_snap);
	job->old_snap = NULL;
	json_decref(job->extra);
	job->extra = NULL;
	free(job->changes);
	job->changes = NULL;
	while (job->lines) {
		struct line *l = job->lines;
		job->lines = l->next;
		free(l);
	}
}

static void job_free(struct job *job)
{
	if (!job)
		return;
	job_clear(job);
	free(job);
}

/* ---- the trash: freeing on a worker ---- */

static void trash_work(void *arg)
{
	struct job *job = arg;

	job_clear(job);
	atomic_store(&job->cleared, 1);
}

static void trash_done(int status, void *arg)
{
	struct job *job = arg;
	struct udb_core *core = job->core;

	(void)status; /* cancelled: not run; the contents go now */
	for (struct job **pp = &core->trash; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	}
	job_free(job);
}

/* Hands a job (finished, or a bag of references) to a worker to free. The
 * trash list keeps it until done(): a queued job the host drops at stop
 * is freed by udb_core_free. */
static void dispose_job(struct udb_core *core, struct job *job)
{
	job->core = core;
	if (!core->stopping &&
	    core->host->work->queue(core->self, &job->work, trash_work, trash_done, job) == 0) {
		job->next = core->trash;
		core->trash = job;
		return;
	}
	job_free(job);
}

void udb_core_dispose(struct udb_core *core, struct udb_docs *docs, json_t *extra)
{
	struct job *job;
	int empty = !extra;

	for (int k = 0; docs && k <= UDB_KIND_MAX; k++)
		empty &= docs->kind[k] == NULL;
	if (empty)
		return;
	job = calloc(1, sizeof(*job));
	if (!job) {
		if (docs)
			udb_docs_clear(docs);
		json_decref(extra);
		return;
	}
	if (docs) {
		job->garbage[0] = *docs;
		memset(docs, 0, sizeof(*docs));
	}
	job->extra = extra;
	dispose_job(core, job);
}

static void job_done(int status, void *arg);

/* Starts the next bulk change when none runs and one is wanted. Only
 * pointers are moved here: the worker copies what it starts from. */
static void kick(struct udb_core *core)
{
	struct job *job;
	int err;

	if (core->job || core->stopping ||
	    (!core->want_reload && !core->want_dir && !core->want_rebuild))
		return;
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->core = core;
	job->lines_tail = &job->lines;
	job->reload_disk = core->want_reload;
	job->clear_numcache = core->want_reload;
	job->user_flags = core->next_user_flags;
	job->write_back = core->next_write_back;
	if (core->want_dir) {
		job->take_dir = 1;
		job->dir = core->next_dir; /* taken over */
		memset(&core->next_dir, 0, sizeof(core->next_dir));
	}
	memcpy(job->cbs, core->next_cbs, sizeof(job->cbs));
	job->n_cbs = core->n_next_cbs;
	core->n_next_cbs = 0;
	core->want_reload = 0;
	core->want_dir = 0;
	core->want_rebuild = 0; /* every job builds from the current documents */
	core->job = job;
	err = core->host->work->queue(core->self, &job->work, job_work, job_done, job);
	if (err) {
		core->job = NULL;
		core->host->log->log(core->self, UCS_LOG_ERROR, "cannot queue the reload: %s",
				     strerror(-err));
		for (size_t i = 0; i < job->n_cbs; i++)
			job->cbs[i].fn(err, job->cbs[i].arg);
		job_free(job);
	}
}

static void log_stats(struct udb_core *core, const struct udb_docs *docs,
		      const struct udb_load_stats *st, const char *what)
{
	core->host->log->log(
		core->self, UCS_LOG_INFO,
		"%s %zu users, %zu groups, %zu computers, %zu profiles from %s "
		"(%zu corrupt files moved aside, %zu interrupted writes cleaned up)",
		what, udb_docs_count(docs, UCS_UD_USER), udb_docs_count(docs, UCS_UD_GROUP),
		udb_docs_count(docs, UCS_UD_COMPUTER), udb_docs_count(docs, UCS_UD_PROFILE),
		udb_store_dir(core->store), st->corrupt, st->temps);
	if (st->corrupt)
		snprintf(core->status.message, sizeof(core->status.message),
			 "%zu corrupt document files moved aside at the last load (see the log)",
			 st->corrupt);
}

/* Swaps the job's results in (loop thread): pointers only; what they
 * replace goes into the job, which the caller hands to the trash. */
static void commit(struct udb_core *core, struct job *job)
{
	int flags_changed =
		job->user_flags != core->user_flags || job->write_back != core->write_back;

	pthread_mutex_lock(&core->docs_lock);
	job->garbage[0] = core->local;
	job->garbage[1] = core->dir;
	job->garbage[2] = core->eff;
	core->local = job->new_local;
	core->dir = job->dir;
	core->eff = job->new_eff;
	pthread_mutex_unlock(&core->docs_lock);
	memset(&job->new_local, 0, sizeof(job->new_local));
	memset(&job->dir, 0, sizeof(job->dir));
	memset(&job->new_eff, 0, sizeof(job->new_eff));
	core->user_flags = job->user_flags;
	core->write_back = job->write_back;
	core->generation++;
	((struct ucs_ud_snapshot *)(uintptr_t)job->snap)->generation = core->generation;
	job->old_snap = exchange_snapshot(core, job->snap);
	job->snap = NULL;
	if (job->reload_disk || job->take_dir) { /* not a rebuild of what is in memory */
		core->status.last_sync = (int64_t)time(NULL);
		core->status.syncs++;
	}
	if (job->reload_disk) {
		core->status.message[0] = 0;
		log_stats(core, &core->local, &job->stats, "reloaded");
	}
	/* The changes that waited for a full build come first: the job's diff
	 * started from documents that had them already. */
	if (job->too_many || flags_changed || core->pending_overflow ||
	    core->n_pending + job->n_changes > EVENTS_MAX) {
		/* new flags or write_back change every user */
		publish(core, 0, UCS_UD_RELOADED, "");
	} else {
		for (size_t i = 0; i < core->n_pending; i++)
			publish(core, core->pending[i].kind, core->pending[i].op,
				core->pending[i].id);
		for (size_t i = 0; i < job->n_changes; i++)
			publish(core, job->changes[i].kind, job->changes[i].op, job->changes[i].id);
	}
	core->n_pending = 0;
	core->pending_overflow = 0;
	core->snap_stale = 0;
}

static void job_done(int status, void *arg)
{
	struct job *job = arg;
	struct udb_core *core = job->core;
	int err = status ? status : job->status;

	core->job = NULL;
	for (struct line *l = job->lines; l; l = l->next)
		core->host->log->log(core->self, (enum ucs_log_level)l->level, "%s", l->text);
	if (job->dropped_lines)
		core->host->log->log(core->self, UCS_LOG_WARNING, "... and %zu more lines",
				     job->dropped_lines);
	if (!err && job->seq != core->local_seq && !core->stopping) {
		/* A put raced the job: start over from the current state, keeping
		 * the job's directory documents unless newer ones wait. */
		if (job->take_dir && !core->want_dir) {
			core->next_dir = job->dir;
			memset(&job->dir, 0, sizeof(job->dir));
			core->want_dir = 1;
		}
		core->want_reload |= job->reload_disk;
		core->want_rebuild |= core->snap_stale;
		for (size_t i = 0; i < job->n_cbs && core->n_next_cbs < JOB_CALLBACKS; i++)
			core->next_cbs[core->n_next_cbs++] = job->cbs[i];
		dispose_job(core, job);
		kick(core);
		return;
	}
	if (!err && !core->stopping) {
		commit(core, job);
	} else if (err && err != -ECANCELED) {
		core->status.failures++;
		snprintf(core->status.message, sizeof(core->status.message), "reload failed: %s",
			 strerror(-err));
		core->host->log->log(core->self, UCS_LOG_ERROR,
				     "reload failed (%s): the store keeps its current content",
				     strerror(-err));
		/* Changes that wait for a build: a failed reload or sync leaves
		 * that to a plain rebuild now; a failed rebuild to the next
		 * change (no retry loop on a persistent error). */
		if (core->snap_stale && (job->reload_disk || job->take_dir))
			core->want_rebuild = 1;
	}
	for (size_t i = 0; i < job->n_cbs; i++)
		job->cbs[i].fn(err, job->cbs[i].arg);
	dispose_job(core, job);
	kick(core);
}

static void add_callback(struct udb_core *core, void (*done)(int, void *), void *arg)
{
	if (!done)
		return;
	if (core->n_next_cbs < JOB_CALLBACKS) {
		core->next_cbs[core->n_next_cbs].fn = done;
		core->next_cbs[core->n_next_cbs].arg = arg;
		core->n_next_cbs++;
	} else {
		done(-EBUSY, arg);
	}
}

int udb_core_reload(struct udb_core *core, void (*done)(int status, void *arg), void *arg)
{
	if (core->stopping)
		return -ESHUTDOWN;
	core->want_reload = 1;
	add_callback(core, done, arg);
	kick(core);
	return 0;
}

/* Keeps the directory kinds of d; the others become empty. */
static int directory_kinds_only(const struct udb_core *core, struct udb_docs *d)
{
	for (int k = 0; k <= UDB_KIND_MAX; k++) {
		if (k < UDB_KIND_MIN || !(core->directory_kinds & UDB_KIND_BIT(k))) {
			json_decref(d->kind[k]);
			d->kind[k] = NULL;
		}
		if (k >= UDB_KIND_MIN && !json_is_object(d->kind[k])) {
			json_decref(d->kind[k]);
			d->kind[k] = json_object();
			if (!d->kind[k])
				return -ENOMEM;
		}
	}
	return 0;
}

int udb_core_set_directory(struct udb_core *core, struct udb_docs *dir,
			   void (*done)(int status, void *arg), void *arg)
{
	if (core->stopping) {
		udb_docs_clear(dir);
		return -ESHUTDOWN;
	}
	/* documents that waited for a running job and were never used */
	if (udb_docs_count(&core->next_dir, UCS_UD_USER) +
		    udb_docs_count(&core->next_dir, UCS_UD_GROUP) +
		    udb_docs_count(&core->next_dir, UCS_UD_COMPUTER) >
	    0)
		udb_core_dispose(core, &core->next_dir, NULL);
	else
		udb_docs_clear(&core->next_dir);
	core->next_dir = *dir;
	memset(dir, 0, sizeof(*dir));
	if (directory_kinds_only(core, &core->next_dir)) {
		udb_docs_clear(&core->next_dir);
		return -ENOMEM;
	}
	core->want_dir = 1;
	add_callback(core, done, arg);
	kick(core);
	return 0;
}

void udb_core_set_flags(struct udb_core *core, uint32_t user_flags, int32_t write_back)
{
	core->next_user_flags = user_flags;
	core->next_write_back = write_back;
}

/* udb_core_forget's files: the local document - also when memory has none
 * (a start that could not load it); *(int *)arg says whether there was
 * one - and ucsd's pictures; a contact image the directory provides
 * stays. */
static int forget_files(struct udb_core *core, int kind, const char *id, void *arg)
{
	const json_t *dirdoc = json_object_get(core->dir.kind[kind], id);
	int owned_image = dirdoc && json_object_get(dirdoc, "contact_image") != NULL;
	int err = udb_store_remove_doc(core->store, kind, id);

	if (err && err != -ENOENT)
		return -EIO;
	*(int *)arg = err == 0;
	for (int which = owned_image ? 1 : 0; kind == UCS_UD_USER && which < 2; which++) {
		char path[4096];

		if (udb_store_picture_path(core->store, id, which, path, sizeof(path)) == 0 &&
		    udb_store_write_file(core->store, path, NULL, 0) != 0)
			core->host->log->log(core->self, UCS_LOG_WARNING, "cannot remove %s", path);
	}
	return 0;
}

int udb_core_forget(struct udb_core *core, int kind, const char *id)
{
	int had, file = 0, err;
	size_t refs = 0;

	if (!core || !udb_kind_name(kind) || !is_dir_kind(core, kind) || !id || !udb_id_valid(id))
		return -EINVAL;
	had = json_object_get(core->local.kind[kind], id) != NULL;
	/* Still in the directory: she stays with the directory's fields only
	 * (one "updated"); otherwise she is not in the snapshot (no event of
	 * her own; the documents that named her get theirs). */
	err = drop_object(core, kind, id, forget_files, &file,
			  had && json_object_get(core->dir.kind[kind], id) ? UCS_UD_UPDATED : 0,
			  &refs);
	if (!err && !had && !file && !refs)
		return -ENOENT;
	return err;
}

/* ---- lifecycle ---- */

int udb_core_new(const struct udb_core_cfg *cfg, struct udb_core **out)
{
	static const struct ucs_msg_type_desc change_desc = {
		.size = sizeof(change_desc),
		.name = UCS_USERDB_CHANGED_TYPE,
		.version = 1,
		.payload_size = sizeof(struct ucs_userdb_change),
		.to_json = change_to_json,
	};
	struct udb_docs initial = {0};
	struct udb_load_stats stats;
	struct udb_core *core;
	struct udb_build b;
	const char *domain;
	int err;

	*out = NULL;
	if (cfg && cfg->directory) {
		/* taken in every case, as udb.h says */
		initial = *cfg->directory;
		memset(cfg->directory, 0, sizeof(*cfg->directory));
	}
	if (!cfg || !cfg->host || !cfg->dir) {
		udb_docs_clear(&initial);
		return -EINVAL;
	}
	core = calloc(1, sizeof(*core));
	if (!core) {
		udb_docs_clear(&initial);
		return -ENOMEM;
	}
	pthread_mutex_init(&core->snap_lock, NULL);
	pthread_mutex_init(&core->docs_lock, NULL);
	core->self = cfg->self;
	core->host = cfg->host;
	core->directory_kinds = cfg->directory_kinds;
	core->user_flags = core->next_user_flags = cfg->user_flags;
	core->write_back = core->next_write_back = cfg->write_back;
	if (cfg->ops)
		memcpy(&core->ops, cfg->ops,
		       cfg->ops->size < sizeof(core->ops) ? cfg->ops->size : sizeof(core->ops));
	core->report.h = host_report;
	core->report.arg = core;
	domain = cfg->host->env->presence_domain ? cfg->host->env->presence_domain() : NULL;
	core->store_name = strdup(cfg->store ? cfg->store : "file");
	core->presence_domain = strdup(domain ? domain : "");
	core->numcache = udb_numcache_new();
	if (!core->store_name || !core->presence_domain || !core->numcache) {
		err = -ENOMEM;
		goto out;
	}
	core->client_ctx.presence_domain = core->presence_domain;
	core->client_ctx.flags = cfg->directory_kinds ? 0 : UDB_ID_IS_NAME;
	core->stored_ctx.presence_domain = core->presence_domain;
	core->stored_ctx.flags = UDB_STORED;
	if (cfg->directory && cfg->directory_kinds) {
		core->dir = initial;
		memset(&initial, 0, sizeof(initial));
		err = directory_kinds_only(core, &core->dir);
	} else {
		udb_docs_clear(&initial);
		err = udb_docs_init(&core->dir);
	}
	if (!err)
		err = udb_docs_init(&core->eff);
	if (!err)
		err = udb_docs_init(&core->next_dir);
	if (err)
		goto out;
	core->dialplan =
		cfg->host->service->get(cfg->self, UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION);
	if (!core->dialplan)
		core->host->log->log(core->self, UCS_LOG_WARNING,
				     "no %s service: phone numbers get no canonical form",
				     UCS_DIALPLAN_SERVICE);
	err = udb_store_open(cfg->dir, &core->client_ctx, &core->report, &core->store);
	if (err)
		goto out;
	err = udb_store_load(core->store, &core->local, &stats);
	if (err)
		goto out;
	err = compute_eff(core, &core->local, &core->dir, &core->eff, &core->report);
	if (err)
		goto out;
	err = cfg->host->bus->type_register(cfg->self, &change_desc, &core->changed_type);
	if (err) {
		core->host->log->log(core->self, UCS_LOG_ERROR, "cannot register %s: %s",
				     UCS_USERDB_CHANGED_TYPE, strerror(-err));
		goto out;
	}
	core->generation = 1;
	fill_build(core, &b, &core->eff, &core->report);
	err = udb_snapshot_build(&b, &core->snap);
	if (err)
		goto out;
	core->status.size = sizeof(core->status);
	core->status.online = 1;
	core->status.last_sync = (int64_t)time(NULL);
	core->status.syncs = 1;
	log_stats(core, &core->local, &stats, "loaded");
out:
	if (err) {
		udb_core_free(core);
		return err;
	}
	*out = core;
	return 0;
}

int udb_core_provide(struct udb_core *core)
{
	int err;

	if (the_core && the_core != core)
		return -EEXIST;
	the_core = core;
	err = core->host->service->provide(core->self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION,
					   &udb_api);
	if (err)
		the_core = NULL;
	return err;
}

struct ucs_ud_status *udb_core_status(struct udb_core *core)
{
	return &core->status;
}

const struct ucs_ud_snapshot *udb_core_snapshot(struct udb_core *core)
{
	return core->snap;
}

struct udb_store *udb_core_store(struct udb_core *core)
{
	return core->store;
}

void udb_core_stop(struct udb_core *core)
{
	if (!core)
		return;
	core->stopping = 1;
	if (core->job && core->job->work)
		core->host->work->cancel(core->job->work);
}

void udb_core_free(struct udb_core *core)
{
	if (!core)
		return;
	if (the_core == core)
		the_core = NULL;
	/* A job whose done() never came (the plugin stopped) is freed here;
	 * the host waited for it to finish running. So are trash jobs: run
	 * (contents freed) or dropped by the host (not). */
	job_free(core->job);
	while (core->trash) {
		struct job *t = core->trash;

		core->trash = t->next;
		if (!atomic_load(&t->cleared))
			job_clear(t);
		free(t);
	}
	udb_docs_clear(&core->local);
	udb_docs_clear(&core->dir);
	udb_docs_clear(&core->eff);
	udb_docs_clear(&core->next_dir);
	free(core->pending);
	udb_snapshot_unref(core->snap);
	udb_store_close(core->store);
	udb_numcache_free(core->numcache);
	pthread_mutex_destroy(&core->snap_lock);
	pthread_mutex_destroy(&core->docs_lock);
	free(core->store_name);
	free(core->presence_domain);
	free(core);
}
