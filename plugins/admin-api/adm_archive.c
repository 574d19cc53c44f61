/*
 * plugins/admin-api/adm_archive.c - export and import: the user store and
 * the configuration as one archive.
 *
 *   {"format": "ucsd-export", "version": 1, "exported": ISO time,
 *    "server": name, "store": "file" | "ldap",
 *    "users": [...], "groups": [...], "computers": [...], "profiles": [...],
 *    "settings": {...}, "config": the operator file (or null)}
 *
 * Objects are the store's documents in their read form (what get_json
 * returns). A user carries her password hash ("password_hash", the argon2id
 * PHC string) so that an import into a new server keeps every login
 * working: a hash is what the store keeps anyway, and an archive is to be
 * guarded like the state directory it copies. The configuration is the
 * operator file as it is, secrets included, for the same reason.
 *
 * Import validates everything before it writes anything: the archive's
 * shape, every document (the user store's own validation, linked from
 * userdb-common), the hashes, the configuration when it is to be applied,
 * and - unless `replace` - that no user, group, computer or profile of the
 * archive exists already (the default profile and the settings are
 * replaced either way). The target is always a file store (a directory
 * store imports nothing: the directory is the source of its users), so a
 * `dn` of an archive made on a directory-backed server is dropped: the
 * objects become the file store's own.
 *
 * An import applies completely or changes nothing. Before the first write
 * every object it touches is copied (its document and password hash, or
 * "did not exist"); then it writes in slices of about 5 ms per loop turn
 * (each put is an fsync), so the loop stays responsive: profiles, users,
 * groups, computers, the settings, the password hashes, with `replace`
 * then the removals of what the archive does not have, and with `config`
 * the configuration. A step the store refuses (a full disk, a rule only
 * the store knows) turns the import around: the same slices put the
 * copies back and remove what was new, and the answer says what failed
 * and whether the store is as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adm.h"
#ifdef ADM_HAVE_UDB_DOC
#include "udb.h"
#endif

#define IMPORT_SLICE_NS 5000000ull /* writing per loop turn, at most (then one more) */
#define ERR_MAX		1024

static const int kinds[] = {UCS_UD_PROFILE, UCS_UD_USER, UCS_UD_GROUP, UCS_UD_COMPUTER};
static const char *const kind_keys[] = {"profiles", "users", "groups", "computers"};
#define N_KINDS 4

static const char *kind_key(int kind)
{
	for (int i = 0; i < N_KINDS; i++)
		if (kinds[i] == kind)
			return kind_keys[i];
	return "settings";
}

/* ---- export ---- */

static int export_kind(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
		       int kind, json_t *out)
{
	size_t n = kind == UCS_UD_USER	     ? snap->n_users
		   : kind == UCS_UD_GROUP    ? snap->n_groups
		   : kind == UCS_UD_COMPUTER ? snap->n_computers
					     : snap->n_profiles;

	for (size_t i = 0; i < n; i++) {
		const char *id = kind == UCS_UD_USER	   ? snap->users[i]->id
				 : kind == UCS_UD_GROUP	   ? snap->groups[i]->id
				 : kind == UCS_UD_COMPUTER ? snap->computers[i]->id
							   : snap->profiles[i]->id;
		char phc[512];
		int err;
		json_t *doc = adm_get_doc(udb, kind, id, &err);

		if (!doc)
			return err;
		if (kind == UCS_UD_USER && udb->password_hash(id, phc, sizeof(phc)) == 0)
			json_object_set_new(doc, "password_hash", json_string(phc));
		explicit_bzero(phc, sizeof(phc));
		if (json_array_append_new(out, doc) != 0)
			return -ENOMEM;
	}
	return 0;
}

void adm_m_export(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_userdb_api *udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	const struct ucs_ud_snapshot *snap;
	char ts[40], err[ERR_MAX] = "";
	json_t *archive, *config, *settings;
	int rc = 0;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	if (!udb || !(snap = udb->acquire())) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "no user store is running");
		return;
	}
	adm_iso_time(adm_now_ms(), ts, sizeof(ts));
	config = adm_operator_file(a, err, sizeof(err));
	settings = adm_get_doc(udb, UCS_UD_SETTINGS, "", &rc);
	archive = json_pack("{s:s,s:i,s:s,s:s,s:s,s:[],s:[],s:[],s:[],s:o,s:o}", "format",
			    "ucsd-export", "version", 1, "exported", ts, "server",
			    a->host->env->server_name(), "store", snap->store ? snap->store : "",
			    "users", "groups", "computers", "profiles", "settings",
			    settings ? settings : json_null(), "config",
			    config ? config : json_null());
	if (!archive)
		rc = -ENOMEM;
	for (int i = 0; !rc && i < N_KINDS; i++)
		rc = export_kind(udb, snap, kinds[i], json_object_get(archive, kind_keys[i]));
	udb->release(snap);
	if (rc || !config) {
		json_decref(archive);
		adm_audit(a, adm_who(s), adm_peer(s), "export", "", "internal");
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the export failed: %s",
			  err[0] ? err : strerror(-rc));
		return;
	}
	adm_audit(a, adm_who(s), adm_peer(s), "export", "", NULL);
	wsrpc_reply(s, id, json_pack("{s:o}", "archive", archive));
}

/* ---- import: validation ---- */

struct adm_import {
	struct adm *a;
	struct wsrpc_session *s;
	json_t *id;
	char login[64];
	char address[64];
	json_t *steps; /* [{"op": "remove"|"put"|"hash", "kind", "id", "doc", "hash"}] */
	size_t next;
	/* what every object the import touches was: {"KIND:ID": {"kind", "id",
	 * "doc" (absent: it did not exist), "hash" (users: "" for none)}} */
	json_t *undo;
	int rolling_back;   /* the steps are the way back */
	size_t undo_failed; /* steps of the way back the store refused */
	int fail_rc;	    /* why the import turned around */
	char fail_what[160];
	char fail_msg[ERR_MAX];
	struct ucs_timer *timer;
	char *config;	      /* the operator file to apply at the end, or NULL */
	json_int_t counts[6]; /* by kind (1-5); [0]: removed */
	json_int_t passwords;
};

static int fail(char *err, size_t cap, const char *fmt, ...) UCS_PRINTF(3, 4);

static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int add_step(json_t *steps, const char *op, int kind, const char *id, json_t *doc,
		    const char *hash)
{
	json_t *st = json_pack("{s:s,s:i,s:s,s:O?,s:s?}", "op", op, "kind", kind, "id", id, "doc",
			       doc, "hash", hash);

	return st && json_array_append_new(steps, st) == 0 ? 0 : -ENOMEM;
}

/* One document of the archive, made fit to put: 0, or -EINVAL with err. */
static const char *const readonly[] = {"has_password", "contact_image", "profile_picture",
				       "groups",       "password_hash", NULL};

static int import_doc(struct adm *a, int kind, size_t i, json_t *doc, json_t **out,
		      const char **hash, char *err, size_t cap)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	json_t *d;

	*out = NULL;
	*hash = NULL;
	if (!json_is_object(doc))
		return fail(err, cap, "archive.%s[%zu]: expected an object", kind_key(kind), i);
	if (!adm_id_valid(id))
		return fail(err, cap, "archive.%s[%zu].id: 1-%d of a-z 0-9 . _ @ -", kind_key(kind),
			    i, ADM_ID_MAX);
	if (kind == UCS_UD_USER) {
		json_t *h = json_object_get(doc, "password_hash");

		if (h && !json_is_null(h) &&
		    (!json_is_string(h) || !adm_phc_shape(json_string_value(h))))
			return fail(err, cap,
				    "archive.users[%zu] (%s).password_hash: not an argon2id PHC "
				    "string",
				    i, id);
		*hash = json_string_value(h);
	}
	d = json_deep_copy(doc);
	if (!d)
		return -ENOMEM;
	for (size_t k = 0; kind == UCS_UD_USER && readonly[k]; k++)
		json_object_del(d, readonly[k]);
	/* the target is a file store: only directory objects have a DN */
	json_object_del(d, "dn");
#ifdef ADM_HAVE_UDB_DOC
	{
		struct udb_ctx ctx = {a->host->env->presence_domain(), UDB_ID_IS_NAME};
		char why[ERR_MAX];
		json_t *canon = NULL;
		int rc = udb_doc_canon(kind, d, &ctx, &canon, NULL, why, sizeof(why));

		json_decref(canon);
		if (rc) {
			json_decref(d);
			return rc == -EINVAL ? fail(err, cap, "archive.%s[%zu] (%s): %s",
						    kind_key(kind), i, id, why)
					     : rc;
		}
	}
#else
	(void)a;
#endif
	*out = d;
	return 0;
}

static int exists(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap, int kind,
		  const char *id)
{
	switch (kind) {
	case UCS_UD_USER:
		return udb->user(snap, id) != NULL;
	case UCS_UD_GROUP:
		return udb->group(snap, id) != NULL;
	case UCS_UD_COMPUTER:
		return udb->computer(snap, id) != NULL;
	default:
		return udb->profile(snap, id) != NULL;
	}
}

/* The object as it is now, for the way back (once per object). */
static int remember(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
		    json_t *undo, int kind, const char *id)
{
	char key[160], phc[512];
	json_t *u, *doc = NULL;
	int err = 0;

	snprintf(key, sizeof(key), "%d:%s", kind, id);
	if (json_object_get(undo, key))
		return 0;
	u = json_pack("{s:i,s:s}", "kind", kind, "id", id);
	if (!u)
		return -ENOMEM;
	if (kind == UCS_UD_SETTINGS || exists(udb, snap, kind, id)) {
		doc = adm_get_doc(udb, kind, id, &err);
		if (!doc && err != -ENOENT) {
			json_decref(u);
			return err;
		}
	}
	if (doc) {
		for (size_t k = 0; kind == UCS_UD_USER && readonly[k]; k++)
			json_object_del(doc, readonly[k]);
		json_object_set_new(u, "doc", doc);
		if (kind == UCS_UD_USER) {
			if (udb->password_hash(id, phc, sizeof(phc)) != 0)
				phc[0] = 0;
			json_object_set_new(u, "hash", json_string(phc));
			explicit_bzero(phc, sizeof(phc));
		}
	}
	return json_object_set_new(undo, key, u) == 0 ? 0 : -ENOMEM;
}

/* Everything checked; the steps in *steps. -EINVAL (err), -EEXIST (err,
 * *existing), -ENOMEM. */
static int import_plan(struct adm *a, const struct ucs_userdb_api *udb,
		       const struct ucs_ud_snapshot *snap, const json_t *archive, int replace,
		       json_t *steps, json_t *undo, json_t *existing, char *err, size_t cap)
{
	json_t *puts = json_array(), *hashes = json_array(), *removes = json_array();
	json_t *seen = json_object(), *v;
	const json_t *settings;
	int rc = 0;

	if (!puts || !hashes || !removes || !seen) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_is_object(archive)) {
		rc = fail(err, cap, "archive: expected an object");
		goto out;
	}
	v = json_object_get(archive, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), "ucsd-export") != 0) {
		rc = fail(err, cap, "archive.format: expected \"ucsd-export\"");
		goto out;
	}
	v = json_object_get(archive, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		rc = fail(err, cap, "archive.version: this server reads version 1");
		goto out;
	}
	for (int k = 0; k < N_KINDS && !rc; k++) {
		const json_t *list = json_object_get(archive, kind_keys[k]);
		json_t *ids = json_object(), *doc;
		size_t i;

		if (!ids || json_object_set_new(seen, kind_keys[k], ids) != 0) {
			rc = -ENOMEM;
			break;
		}
		if (list && !json_is_array(list)) {
			rc = fail(err, cap, "archive.%s: expected an array", kind_keys[k]);
			break;
		}
		json_array_foreach(list, i, doc)
		{
			const char *hash;
			json_t *d;

			rc = import_doc(a, kinds[k], i, doc, &d, &hash, err, cap);
			if (rc)
				break;
			const char *id = json_string_value(json_object_get(d, "id"));

			if (json_object_get(ids, id)) {
				json_decref(d);
				rc = fail(err, cap, "archive.%s[%zu].id: \"%s\" appears twice",
					  kind_keys[k], i, id);
				break;
			}
			json_object_set_new(ids, id, json_true());
			if (!replace && exists(udb, snap, kinds[k], id) &&
			    !(kinds[k] == UCS_UD_PROFILE && strcmp(id, "default") == 0)) {
				char what[128];

				snprintf(what, sizeof(what), "%s:%s", kind_keys[k], id);
				if (json_array_size(existing) < 20)
					json_array_append_new(existing, json_string(what));
				rc = -EEXIST;
			}
			if (add_step(puts, "put", kinds[k], id, d, NULL) ||
			    (hash && add_step(hashes, "hash", UCS_UD_USER, id, NULL, hash)))
				rc = rc ? rc : -ENOMEM;
			if (!rc) {
				int e = remember(udb, snap, undo, kinds[k], id);

				rc = e ? e : rc;
			}
			json_decref(d);
			if (rc && rc != -EEXIST)
				break;
		}
	}
	if (rc == -EEXIST) {
		snprintf(err, cap,
			 "objects of the archive exist already (%s, ...): import with \"replace\": "
			 "true to overwrite the store",
			 json_string_value(json_array_get(existing, 0)));
		goto out;
	}
	if (rc)
		goto out;
	settings = json_object_get(archive, "settings");
	if (settings && !json_is_null(settings)) {
#ifdef ADM_HAVE_UDB_DOC
		struct udb_ctx ctx = {a->host->env->presence_domain(), UDB_ID_IS_NAME};
		char why[ERR_MAX];
		json_t *canon = NULL;

		rc = json_is_object(settings) ? udb_doc_canon(UCS_UD_SETTINGS, settings, &ctx,
							      &canon, NULL, why, sizeof(why))
					      : -EINVAL;
		json_decref(canon);
		if (rc) {
			rc = fail(err, cap, "archive.settings: %s",
				  json_is_object(settings) ? why : "expected an object");
			goto out;
		}
#endif
		if (add_step(puts, "put", UCS_UD_SETTINGS, "", (json_t *)settings, NULL)) {
			rc = -ENOMEM;
			goto out;
		}
		rc = remember(udb, snap, undo, UCS_UD_SETTINGS, "");
		if (rc)
			goto out;
	}
	/* with replace: what the archive does not have goes last (what
	 * depends on others first: computers, groups, users, profiles) */
	for (int k = N_KINDS - 1; replace && k >= 0; k--) {
		json_t *ids = json_object_get(seen, kind_keys[k]);
		size_t n = kinds[k] == UCS_UD_USER	 ? snap->n_users
			   : kinds[k] == UCS_UD_GROUP	 ? snap->n_groups
			   : kinds[k] == UCS_UD_COMPUTER ? snap->n_computers
							 : snap->n_profiles;

		for (size_t i = 0; i < n; i++) {
			const char *id = kinds[k] == UCS_UD_USER       ? snap->users[i]->id
					 : kinds[k] == UCS_UD_GROUP    ? snap->groups[i]->id
					 : kinds[k] == UCS_UD_COMPUTER ? snap->computers[i]->id
								       : snap->profiles[i]->id;

			if (json_object_get(ids, id) ||
			    (kinds[k] == UCS_UD_PROFILE && strcmp(id, "default") == 0))
				continue;
			if (add_step(removes, "remove", kinds[k], id, NULL, NULL)) {
				rc = -ENOMEM;
				goto out;
			}
			rc = remember(udb, snap, undo, kinds[k], id);
			if (rc)
				goto out;
		}
	}
	if (json_array_extend(steps, puts) || json_array_extend(steps, hashes) ||
	    json_array_extend(steps, removes))
		rc = -ENOMEM;
out:
	json_decref(puts);
	json_decref(hashes);
	json_decref(removes);
	json_decref(seen);
	return rc;
}

/* ---- import: writing ---- */

static void import_free(struct adm_import *im)
{
	if (!im)
		return;
	if (im->a && im->a->import == im)
		im->a->import = NULL;
	if (im->timer)
		im->a->host->timer->close(im->timer);
	if (im->s)
		wsrpc_session_unref(im->s);
	json_decref(im->id);
	json_decref(im->steps);
	json_decref(im->undo);
	if (im->config) {
		explicit_bzero(im->config, strlen(im->config));
		free(im->config);
	}
	free(im);
}

static json_t *import_counts(const struct adm_import *im, int config)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "users", im->counts[UCS_UD_USER],
			 "groups", im->counts[UCS_UD_GROUP], "computers",
			 im->counts[UCS_UD_COMPUTER], "profiles", im->counts[UCS_UD_PROFILE],
			 "settings", im->counts[UCS_UD_SETTINGS], "removed", im->counts[0],
			 "passwords", im->passwords, "config", config);
}

static void import_end(struct adm_import *im, int rc, const char *what, const char *msg)
{
	struct adm *a = im->a;

	if (rc) {
		enum wsrpc_reason r = adm_reason_of(rc);
		int back = im->undo_failed == 0;
		json_t *data = json_pack("{s:s,s:b,s:I}", "failed", what, "rolled_back", back,
					 "not_restored", (json_int_t)im->undo_failed);

		a->write_errors++;
		adm_audit(a, im->login, im->address, "import", what, wsrpc_reason_name(r));
		adm_error(im->s, im->id, r, data, "the import stopped at %s: %s (%s)", what, msg,
			  back ? "nothing was changed"
			       : "the store could not be restored completely: see the log");
	} else {
		a->writes++;
		adm_audit(a, im->login, im->address, "import", "", NULL);
		wsrpc_reply(im->s, im->id,
			    json_pack("{s:o}", "imported", import_counts(im, im->config != NULL)));
	}
	import_free(im);
}

/* The way back from a failed step: what was new goes, what was there is
 * put back as it was (profiles first, so that users find theirs), then
 * the old password hashes. Only the objects steps[0..upto] touched. */
static int rollback_steps(struct adm_import *im, size_t upto)
{
	static const int order[] = {UCS_UD_PROFILE, UCS_UD_USER, UCS_UD_GROUP, UCS_UD_COMPUTER,
				    UCS_UD_SETTINGS};
	json_t *touched = json_object(), *back = json_array(), *st, *u;
	const char *key;
	size_t i;
	int rc = 0;

	if (!touched || !back) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(im->steps, i, st)
	{
		char k[160];

		if (i > upto)
			break;
		snprintf(k, sizeof(k), "%d:%s",
			 (int)json_integer_value(json_object_get(st, "kind")),
			 json_string_value(json_object_get(st, "id")));
		u = json_object_get(im->undo, k);
		if (u)
			json_object_set(touched, k, u);
	}
	for (int o = N_KINDS - 1; o >= 0 && !rc; o--) /* the new ones */
		json_object_foreach(touched, key, u)
		{
			int kind = (int)json_integer_value(json_object_get(u, "kind"));

			if (kind == order[o] && !json_object_get(u, "doc") &&
			    add_step(back, "remove", kind,
				     json_string_value(json_object_get(u, "id")), NULL, NULL))
				rc = -ENOMEM;
		}
	for (int o = 0; o < 5 && !rc; o++) /* the old ones */
		json_object_foreach(touched, key, u)
		{
			int kind = (int)json_integer_value(json_object_get(u, "kind"));
			json_t *doc = json_object_get(u, "doc");

			if (kind == order[o] && doc &&
			    add_step(back, "put", kind, json_string_value(json_object_get(u, "id")),
				     doc, NULL))
				rc = -ENOMEM;
		}
	json_object_foreach(touched, key, u)
	{
		const char *hash = json_string_value(json_object_get(u, "hash"));

		if (!rc && hash &&
		    add_step(back, "hash", UCS_UD_USER, json_string_value(json_object_get(u, "id")),
			     NULL, hash))
			rc = -ENOMEM;
	}
	if (!rc) {
		json_decref(im->steps);
		im->steps = json_incref(back);
		im->next = 0;
		im->rolling_back = 1;
	}
out:
	json_decref(touched);
	json_decref(back);
	return rc;
}

/* A step failed (or the configuration was refused): turn around, or end
 * when already on the way back. Returns 1 when the import is over. */
static int import_failed(struct adm_import *im, int rc, const char *what, const char *msg)
{
	if (im->rolling_back) {
		im->undo_failed++;
		im->a->host->log->log(im->a->self, UCS_LOG_ERROR, "import: cannot restore %s: %s",
				      what, msg);
		im->next++;
		return 0;
	}
	im->fail_rc = rc;
	snprintf(im->fail_what, sizeof(im->fail_what), "%s", what);
	snprintf(im->fail_msg, sizeof(im->fail_msg), "%s", msg);
	if (rollback_steps(im, im->next) != 0) {
		im->undo_failed = 1;
		import_end(im, rc, what, msg);
		return 1;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void import_step(struct ucs_timer *timer, void *arg)
{
	struct adm_import *im = arg;
	struct adm *a = im->a;
	const struct ucs_userdb_api *udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	char err[ERR_MAX], what[160];
	uint64_t t0 = mono_ns();
	int count = !im->rolling_back;

	(void)timer;
	if (!udb) {
		import_end(im, -ENOENT, "the start", "the user store is gone");
		return;
	}
	while (im->next < json_array_size(im->steps) && mono_ns() - t0 < IMPORT_SLICE_NS) {
		json_t *st = json_array_get(im->steps, im->next);
		const char *op = json_string_value(json_object_get(st, "op"));
		const char *id = json_string_value(json_object_get(st, "id"));
		int kind = (int)json_integer_value(json_object_get(st, "kind")), rc;

		err[0] = 0;
		snprintf(what, sizeof(what), "%s:%s", kind_key(kind), id);
		if (strcmp(op, "remove") == 0) {
			rc = udb->remove(kind, id);
			if (rc == -ENOENT)
				rc = 0; /* gone with another one already */
			if (!rc && count)
				im->counts[0]++;
		} else if (strcmp(op, "hash") == 0) {
			rc = udb->set_password_hash(id,
						    json_string_value(json_object_get(st, "hash")));
			if (!rc && count)
				im->passwords++;
		} else {
			char *text = json_dumps(json_object_get(st, "doc"), JSON_COMPACT);

			rc = text ? udb->put_json(kind, text, strlen(text), err, sizeof(err))
				  : -ENOMEM;
			free(text);
			if (!rc && count)
				im->counts[kind]++;
		}
		if (rc) {
			if (import_failed(im, rc, what, err[0] ? err : strerror(-rc)))
				return;
			if (count)
				break; /* turned around: the way back from the next turn */
			continue;
		}
		im->next++;
	}
	if (im->next < json_array_size(im->steps)) {
		/* 1 ms, not 0: libuv runs a timer restarted with 0 inside its own
		 * callback again in the same pass, before any I/O */
		a->host->timer->start(im->timer, 1, 0);
		return;
	}
	if (im->rolling_back) {
		import_end(im, im->fail_rc, im->fail_what, im->fail_msg);
		return;
	}
	if (im->config) {
		char *cerr = calloc(1, 16384);
		int rc = cerr ? a->host->server->apply(im->config, strlen(im->config), cerr, 16384)
			      : -ENOMEM;

		if (rc) {
			/* the store goes back too: all or nothing */
			im->next = json_array_size(im->steps) - 1;
			if (json_array_size(im->steps) == 0 ||
			    !import_failed(im, rc, "config",
					   cerr && cerr[0] ? cerr : strerror(-rc))) {
				if (json_array_size(im->steps) == 0)
					import_end(im, rc, "config",
						   cerr && cerr[0] ? cerr : strerror(-rc));
				else
					a->host->timer->start(im->timer, 1, 0);
			}
			free(cerr);
			return;
		}
		free(cerr);
	}
	import_end(im, 0, "", "");
}

static const char *const import_params[] = {"archive", "replace", "config", NULL};

void adm_m_import(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	const json_t *archive;
	struct adm_import *im = NULL;
	char err[ERR_MAX] = "";
	json_t *existing = NULL;
	int replace = 0, config = 0, rc;

	if (wsrpc_params_only(s, id, params, import_params) ||
	    wsrpc_param_bool(s, id, params, "replace", 0, &replace) == -EINVAL ||
	    wsrpc_param_bool(s, id, params, "config", 0, &config) == -EINVAL)
		return;
	archive = json_object_get(params, "archive");
	udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	if (!udb || !(snap = udb->acquire())) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "no user store is running");
		return;
	}
	if (snap->store && strcmp(snap->store, "ldap") == 0) {
		udb->release(snap);
		adm_audit(a, adm_who(s), adm_peer(s), "import", "", "read_only");
		adm_error(s, id, WSRPC_READ_ONLY, NULL,
			  "the user store is a directory (LDAP): import users there");
		return;
	}
	if (a->import) {
		udb->release(snap);
		adm_error(s, id, WSRPC_CONFLICT, NULL, "an import is running");
		return;
	}
	im = calloc(1, sizeof(*im));
	existing = json_array();
	if (im) {
		im->steps = json_array();
		im->undo = json_object();
	}
	rc = im && im->steps && im->undo && existing
		     ? import_plan(a, udb, snap, archive, replace, im->steps, im->undo, existing,
				   err, sizeof(err))
		     : -ENOMEM;
	udb->release(snap);
	if (!rc && config) {
		const json_t *c = json_object_get(archive, "config");

		if (!json_is_object(c)) {
			rc = fail(err, sizeof(err),
				  "archive.config: the archive holds no configuration to apply");
		} else if (!UCS_HAS_SLOT(a->host, struct ucs_host, server) ||
			   !UCS_HAS_SLOT(a->host->server, struct ucs_server_api, apply)) {
			rc = -ENOTSUP;
			snprintf(err, sizeof(err), "this ucsd cannot apply a configuration");
		} else {
			im->config = json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			rc = im->config ? a->host->server->check(im->config, strlen(im->config),
								 err, sizeof(err))
					: -ENOMEM;
			if (!rc)
				rc = adm_conf_check_candidate(c, err, sizeof(err));
			if (rc && rc != -ENOMEM)
				rc = -EINVAL;
		}
	}
	if (rc) {
		enum wsrpc_reason r = rc == -ENOTSUP ? WSRPC_NOT_AVAILABLE : adm_reason_of(rc);

		adm_audit(a, adm_who(s), adm_peer(s), "import", "", wsrpc_reason_name(r));
		adm_error(s, id, r,
			  rc == -EEXIST	  ? json_pack("{s:O}", "existing", existing)
			  : rc == -EINVAL ? adm_path_data("archive", 7)
					  : NULL,
			  "%s", err[0] ? err : strerror(-rc));
		json_decref(existing);
		if (im) {
			im->a = NULL;
			json_decref(im->steps);
			json_decref(im->undo);
			free(im->config);
			free(im);
		}
		return;
	}
	json_decref(existing);
	im->a = a;
	im->s = wsrpc_session_ref(s);
	im->id = json_incref(id);
	snprintf(im->login, sizeof(im->login), "%.63s", adm_who(s));
	snprintf(im->address, sizeof(im->address), "%.63s", adm_peer(s));
	rc = a->host->timer->open(a->self, &im->timer, import_step, im);
	if (!rc)
		rc = a->host->timer->start(im->timer, 0, 0);
	if (rc) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "cannot start the import: %s",
			  strerror(-rc));
		import_free(im);
		return;
	}
	a->import = im;
	adm_audit(a, im->login, im->address, "import", replace ? "(replace)" : "", NULL);
}

void adm_import_stop(struct adm *a)
{
	/* the host closes the timer with the plugin; nobody answers any more */
	if (a->import) {
		struct adm_import *im = a->import;

		im->timer = NULL;
		import_free(im);
	}
}
