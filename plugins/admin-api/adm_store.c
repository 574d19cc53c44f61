/*
 * plugins/admin-api/adm_store.c - users, groups, computers, profiles and
 * the global settings, through the user store's documents (ucs.userdb
 * get_json / put_json / remove) and adm_map.c's translation.
 *
 * A write reads the object's current document, lays the params over it
 * and puts the whole document back, so the store validates every write as
 * a whole and what the params do not name stays. Everything the params
 * can get wrong is checked before anything is written; what only the
 * store knows (text limits, a number it cannot keep, a field the directory
 * owns) comes back as its message, in the protocol's words.
 *
 * A user's groups are kept on the groups: users.create / users.update with
 * `groups` write the user first, then each group that gains or loses her.
 * A password is hashed by auth on the pool after the documents are
 * written; the answer waits for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"

#define ERR_MAX 1024

/* ---- the resolver over a snapshot ---- */

static const char *r_user_id(void *arg, const char *login)
{
	struct adm_snap_resolver *sr = arg;
	const struct ucs_ud_user *u = sr->udb->user_by_login(sr->snap, login);

	return u ? u->id : NULL;
}

static const char *r_user_login(void *arg, const char *id)
{
	struct adm_snap_resolver *sr = arg;
	const struct ucs_ud_user *u = sr->udb->user(sr->snap, id);

	return u ? u->login : NULL;
}

static const struct ucs_ud_group *find_group(const struct adm_snap_resolver *sr, const char *name)
{
	const struct ucs_ud_group *g = sr->udb->group(sr->snap, name);

	for (size_t i = 0; !g && i < sr->snap->n_groups; i++)
		if (strcasecmp(sr->snap->groups[i]->id, name) == 0 ||
		    strcasecmp(sr->snap->groups[i]->name, name) == 0)
			g = sr->snap->groups[i];
	return g;
}

static const char *r_group_id(void *arg, const char *name)
{
	const struct ucs_ud_group *g = find_group(arg, name);

	return g ? g->id : NULL;
}

static const char *r_group_name(void *arg, const char *id)
{
	struct adm_snap_resolver *sr = arg;
	const struct ucs_ud_group *g = sr->udb->group(sr->snap, id);

	return g ? g->name : NULL;
}

static size_t r_group_members(void *arg, const char *id, const char *const **out)
{
	struct adm_snap_resolver *sr = arg;
	const struct ucs_ud_group *g = sr->udb->group(sr->snap, id);

	*out = g ? g->members : NULL;
	return g ? g->n_members : 0;
}

void adm_resolver_init(struct adm_snap_resolver *sr, const struct ucs_userdb_api *udb,
		       const struct ucs_ud_snapshot *snap)
{
	sr->udb = udb;
	sr->snap = snap;
	sr->r = (struct adm_resolver){r_user_id,    r_user_login,    r_group_id,
				      r_group_name, r_group_members, sr};
}

/* ---- documents ---- */

struct doc_ref {
	const struct ucs_userdb_api *udb;
	int kind;
	const char *id;
};

static int fill_doc(const void *ctx, char *buf, size_t cap)
{
	const struct doc_ref *r = ctx;

	return r->udb->get_json(r->kind, r->id, buf, cap);
}

json_t *adm_get_doc(const struct ucs_userdb_api *udb, int kind, const char *id, int *err)
{
	struct doc_ref r = {udb, kind, id};

	return adm_load_text(fill_doc, &r, 16384, err);
}

static int put_doc(const struct ucs_userdb_api *udb, int kind, const json_t *doc, char *err,
		   size_t cap)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	err[0] = 0;
	if (!text)
		return -ENOMEM;
	rc = udb->put_json(kind, text, strlen(text), err, cap);
	free(text);
	return rc;
}

static const char *kind_word(int kind)
{
	switch (kind) {
	case UCS_UD_USER:
		return "user";
	case UCS_UD_GROUP:
		return "group";
	case UCS_UD_COMPUTER:
		return "computer";
	case UCS_UD_PROFILE:
		return "profile";
	default:
		return "settings";
	}
}

/* Answers a refused store operation and audits it. */
static void store_fail(struct adm *a, struct wsrpc_session *s, json_t *id, int kind,
		       const char *action, const char *object, int rc, const char *msg)
{
	enum wsrpc_reason r = adm_reason_of(rc);
	char text[ERR_MAX], path[128] = "";
	json_t *data = NULL;

	a->write_errors++;
	adm_store_message(kind, msg, text, sizeof(text));
	if (text[0]) {
		const char *colon = strstr(text, ": ");

		if (colon && colon - text < (int)sizeof(path))
			snprintf(path, sizeof(path), "%.*s", (int)(colon - text), text);
	}
	switch (rc) {
	case -EROFS:
		data = json_pack("{s:s}", "field", path);
		if (!text[0])
			snprintf(text, sizeof(text), "the %s belongs to the directory (read-only)",
				 kind_word(kind));
		break;
	case -EINVAL:
		data = path[0] ? adm_path_data(path, strlen(path)) : NULL;
		break;
	case -ENOENT:
		snprintf(text, sizeof(text), "no %s \"%s\"", kind_word(kind), object);
		break;
	case -EEXIST:
		if (!text[0])
			snprintf(text, sizeof(text), "the %s \"%s\" exists already",
				 kind_word(kind), object);
		break;
	case -EPERM:
		if (!text[0])
			snprintf(text, sizeof(text), "the %s \"%s\" cannot be removed",
				 kind_word(kind), object);
		break;
	default:
		if (!text[0])
			snprintf(text, sizeof(text), "the user store failed: %s", strerror(-rc));
	}
	adm_audit(a, adm_who(s), adm_peer(s), action, object, wsrpc_reason_name(r));
	adm_error(s, id, r, data, "%s", text);
}

static void done_ok(struct adm *a, struct wsrpc_session *s, json_t *id, const char *action,
		    const char *object, json_t *result)
{
	a->writes++;
	adm_audit(a, adm_who(s), adm_peer(s), action, object, NULL);
	wsrpc_reply(s, id, result);
}

/* The user store, or an answer that it is not there. */
static const struct ucs_userdb_api *need_udb(struct wsrpc_session *s, json_t *id)
{
	const struct ucs_userdb_api *udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);

	if (!udb || !UCS_HAS_SLOT(udb, struct ucs_userdb_api, remove)) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "no user store is running");
		return NULL;
	}
	return udb;
}

/* A required string param that names an object. */
static int name_param(struct wsrpc_session *s, json_t *id, json_t *params, const char *key,
		      const char **out)
{
	if (!json_is_object(params)) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "params: expected an object");
		return -EINVAL;
	}
	if (wsrpc_param_string(s, id, params, key, 1, 1024, out))
		return -EINVAL;
	if (!**out) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "%s: required", key);
		return -EINVAL;
	}
	return 0;
}

static void map_fail(struct wsrpc_session *s, json_t *id, int rc, const char *err)
{
	if (rc == -EINVAL) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_msg_path(err), "%s", err);
	} else {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
	}
}

/* ---- users ---- */

static json_t *user_numbers(const struct ucs_ud_user *u)
{
	const struct ucs_dialplan_api *dp = adm_service(UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION);
	json_t *o = json_object();

	for (int i = 0; o && adm_number_names[i]; i++) {
		const char *entered = u->phones[i].entered ? u->phones[i].entered : "";
		const char *canonical = u->phones[i].canonical ? u->phones[i].canonical : "";
		struct ucs_dp_number num;
		const char *display = entered;

		memset(&num, 0, sizeof(num));
		num.size = sizeof(num);
		if (*canonical && dp &&
		    dp->format(NULL, UCS_DP_DISPLAY, canonical, &num, NULL, NULL) == 0 &&
		    num.display[0])
			display = num.display;
		if (json_object_set_new(o, adm_number_names[i],
					json_pack("{s:s,s:s,s:s}", "entered", entered, "canonical",
						  canonical, "display", display)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The view of user id as the store has it now (a fresh snapshot). */
static json_t *user_view(const struct ucs_userdb_api *udb, const char *uid, int *err)
{
	const struct ucs_ud_snapshot *snap = udb->acquire();
	const struct ucs_ud_user *u = snap ? udb->user(snap, uid) : NULL;
	struct adm_snap_resolver sr;
	json_t *doc, *view = NULL;

	*err = -ENOENT;
	if (!u)
		goto out;
	adm_resolver_init(&sr, udb, snap);
	doc = adm_get_doc(udb, UCS_UD_USER, uid, err);
	if (doc) {
		view = adm_user_view(doc, user_numbers(u), &sr.r);
		*err = view ? 0 : -ENOMEM;
	}
	json_decref(doc);
out:
	if (snap)
		udb->release(snap);
	return view;
}

static const char *const list_params[] = {"text", "offset", "limit", NULL};

/* The paging params of every list (text only for users): 0, or answered. */
static int page_params(struct wsrpc_session *s, json_t *id, json_t *params, int with_text,
		       const char **text, int64_t *offset, int64_t *limit)
{
	*offset = 0;
	*limit = 100;
	return wsrpc_params_only(s, id, params, list_params + !with_text) ||
			       (with_text && wsrpc_param_string(s, id, params, "text", 0, 256,
								text) == -EINVAL) ||
			       wsrpc_param_int(s, id, params, "offset", 0, 0, INT32_MAX, offset) ==
				       -EINVAL ||
			       wsrpc_param_int(s, id, params, "limit", 0, 1, 1000, limit) == -EINVAL
		       ? -EINVAL
		       : 0;
}

/* Appends a listed object's view (taken; NULL: one that could not be read,
 * left out) to *list; out of memory drops the list (NULL). */
static void list_add(json_t **list, json_t *view)
{
	if (view && json_array_append_new(*list, view) != 0) {
		json_decref(*list);
		*list = NULL;
	}
}

/* Ends a listing: the snapshot released, then {key: list, "total",
 * "offset"} or, without a list, out of memory. */
static void list_reply(struct wsrpc_session *s, json_t *id, const struct ucs_userdb_api *udb,
		       const struct ucs_ud_snapshot *snap, const char *key, json_t *list,
		       size_t total, int64_t offset)
{
	if (snap)
		udb->release(snap);
	if (!list) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	wsrpc_reply(s, id,
		    json_pack("{s:o,s:I,s:I}", key, list, "total", (json_int_t)total, "offset",
			      (json_int_t)offset));
}

void adm_m_users_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	struct adm_snap_resolver sr;
	const char *text = NULL;
	int64_t offset = 0, limit = 100;
	size_t total = 0;
	json_t *list;

	(void)arg;
	if (page_params(s, id, params, 1, &text, &offset, &limit))
		return;
	if (!(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	list = json_array();
	adm_resolver_init(&sr, udb, snap);
	for (size_t i = 0; snap && list && i < snap->n_users; i++) {
		const struct ucs_ud_user *u = snap->users[i];
		json_t *doc, *view;
		int err;

		if (text && *text && !strcasestr(u->login, text) &&
		    !strcasestr(u->display_name ? u->display_name : "", text))
			continue;
		if (total++ < (size_t)offset || json_array_size(list) >= (size_t)limit)
			continue;
		doc = adm_get_doc(udb, UCS_UD_USER, u->id, &err);
		view = doc ? adm_user_view(doc, user_numbers(u), &sr.r) : NULL;
		json_decref(doc);
		list_add(&list, view);
	}
	list_reply(s, id, udb, snap, "users", list, total, offset);
}

/* The user a login names, in snap: her id copied into uid. */
static int find_user(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
		     const char *login, char *uid, size_t cap)
{
	const struct ucs_ud_user *u = snap ? udb->user_by_login(snap, login) : NULL;

	if (!u)
		return -ENOENT;
	snprintf(uid, cap, "%s", u->id);
	return 0;
}

void adm_m_users_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	char uid[UCS_ID_MAX + 1];
	const char *login;
	json_t *view;
	int err;

	(void)arg;
	if (name_param(s, id, params, "login", &login) ||
	    wsrpc_params_only(s, id, params, (const char *const[]){"login", NULL}))
		return;
	if (!(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	err = find_user(udb, snap, login, uid, sizeof(uid));
	if (snap)
		udb->release(snap);
	view = err ? NULL : user_view(udb, uid, &err);
	if (!view) {
		adm_error(s, id, adm_reason_of(err), NULL, "%s",
			  err == -ENOENT ? "no such user" : strerror(-err));
		return;
	}
	wsrpc_reply(s, id, view);
}

/* The document of group gid with user uid added (add) or removed, into
 * out unless she is so already. */
static int member_doc(const struct ucs_userdb_api *udb, const char *gid, const char *uid, int add,
		      json_t *out)
{
	int err = 0, nomem;
	json_t *doc = adm_get_doc(udb, UCS_UD_GROUP, gid, &err), *next;

	if (!doc)
		return err;
	next = adm_group_member(doc, uid, add, &nomem);
	json_decref(doc);
	if (nomem)
		return -ENOMEM;
	if (next && json_array_append_new(out, next) != 0)
		return -ENOMEM;
	return 0;
}

/* The group documents to write so that user uid is a member of exactly
 * `want` (group ids), given the groups she is in now (have). */
static int membership_docs(const struct ucs_userdb_api *udb, const char *uid, const json_t *want,
			   const char *const *have, size_t n_have, json_t *out)
{
	json_t *v;
	size_t i;
	int err;

	json_array_foreach(want, i, v)
	{
		err = member_doc(udb, json_string_value(v), uid, 1, out);
		if (err)
			return err;
	}
	for (i = 0; i < n_have; i++) {
		int keep = 0;
		size_t k;

		json_array_foreach(want, k, v)
		{
			keep |= strcmp(json_string_value(v), have[i]) == 0;
		}
		if (keep)
			continue;
		err = member_doc(udb, have[i], uid, 0, out);
		if (err)
			return err;
	}
	return 0;
}

/* After the documents: the password (if any) on the pool, then the answer. */
static void on_user_password(int status, void *arg)
{
	struct adm_op *op = arg;
	const struct ucs_userdb_api *udb;
	json_t *view;
	int err;

	if (adm_op_orphaned(op))
		return;
	udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	if (status) {
		op->a->write_errors++;
		adm_audit(op->a, op->login, op->address, op->action, op->object,
			  wsrpc_reason_name(adm_reason_of(status)));
		adm_error(op->s, op->id, adm_reason_of(status), json_pack("{s:b}", "written", 1),
			  "the user was written, but her password was not set: %s",
			  strerror(-status));
		adm_op_free(op);
		return;
	}
	view = udb ? user_view(udb, json_string_value(json_object_get(op->data, "id")), &err)
		   : NULL;
	op->a->writes++;
	adm_audit(op->a, op->login, op->address, op->action, op->object, NULL);
	wsrpc_reply(op->s, op->id, view ? view : json_pack("{s:b}", "written", 1));
	adm_op_free(op);
}

static void user_write(struct adm *a, struct wsrpc_session *s, json_t *params, json_t *id,
		       int create)
{
	const char *action = create ? "users.create" : "users.update";
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	struct adm_snap_resolver sr;
	json_t *current = NULL, *doc = NULL, *groups = NULL, *gdocs = json_array();
	char err[ERR_MAX] = "", uid[UCS_ID_MAX + 1] = "";
	const char *login = NULL, *pw = NULL;
	int rc;

	if (!gdocs) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	if (name_param(s, id, params, "login", &login) || !(udb = need_udb(s, id)))
		goto out;
	rc = adm_user_password(params, &pw, err, sizeof(err));
	if (rc < 0) {
		map_fail(s, id, rc, err);
		goto out;
	}
	if (pw && (int64_t)strlen(pw) < a->conf.min_password) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_path_data("password", 8),
			  "password: at least %lld characters", (long long)a->conf.min_password);
		goto out;
	}
	snap = udb->acquire();
	if (!snap) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "the user store is not ready");
		goto out;
	}
	adm_resolver_init(&sr, udb, snap);
	rc = find_user(udb, snap, login, uid, sizeof(uid));
	if (create && rc == 0) {
		udb->release(snap);
		store_fail(a, s, id, UCS_UD_USER, action, login, -EEXIST,
			   "login: a user with this login exists already");
		goto out;
	}
	if (!create && rc) {
		udb->release(snap);
		store_fail(a, s, id, UCS_UD_USER, action, login, -ENOENT, NULL);
		goto out;
	}
	if (!create) {
		current = adm_get_doc(udb, UCS_UD_USER, uid, &rc);
		if (!current) {
			udb->release(snap);
			store_fail(a, s, id, UCS_UD_USER, action, login, rc, NULL);
			goto out;
		}
	}
	rc = adm_user_doc(params, current, &sr.r, &doc, &groups, err, sizeof(err));
	if (!rc) {
		snprintf(uid, sizeof(uid), "%s", json_string_value(json_object_get(doc, "id")));
		if (create && udb->user(snap, uid)) {
			udb->release(snap);
			store_fail(a, s, id, UCS_UD_USER, action, login, -EEXIST,
				   "login: a user with this id exists already");
			goto out;
		}
	}
	if (!rc && groups) {
		const struct ucs_ud_user *u = udb->user(snap, uid);

		rc = membership_docs(udb, uid, groups, u ? u->groups : NULL, u ? u->n_groups : 0,
				     gdocs);
		if (rc)
			snprintf(err, sizeof(err), "groups: %s", strerror(-rc));
	}
	udb->release(snap);
	if (rc) {
		if (rc == -EINVAL)
			map_fail(s, id, rc, err);
		else
			adm_error(s, id, adm_reason_of(rc), NULL, "%s", err);
		goto out;
	}
	/* everything checked: write the user, then her groups */
	rc = put_doc(udb, UCS_UD_USER, doc, err, sizeof(err));
	if (rc) {
		store_fail(a, s, id, UCS_UD_USER, action, login, rc, err);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(gdocs); i++) {
		json_t *g = json_array_get(gdocs, i);

		rc = put_doc(udb, UCS_UD_GROUP, g, err, sizeof(err));
		if (rc) {
			char msg[ERR_MAX + 128];

			snprintf(msg, sizeof(msg), "the user was written, but group %s was not: %s",
				 json_string_value(json_object_get(g, "id")), err);
			store_fail(a, s, id, UCS_UD_GROUP, action, login, rc, msg);
			goto out;
		}
	}
	if (pw) {
		struct adm_op *op = adm_op_new(a, s, id, action, login);

		rc = op ? adm_op_secret(op, pw) : -ENOMEM;
		if (!rc) {
			op->data = json_pack("{s:s}", "id", uid);
			rc = op->data ? a->auth->set_password(a->self, UCS_AUTH_USER, uid, pw,
							      strlen(pw), on_user_password, op)
				      : -ENOMEM;
		}
		if (op && op->secret)
			explicit_bzero(op->secret, op->secret_len);
		if (rc && op)
			on_user_password(rc, op); /* answers and frees */
		else if (rc)
			adm_error(s, id, WSRPC_INTERNAL, json_pack("{s:b}", "written", 1),
				  "the user was written, but her password was not set");
		goto out;
	}
	{
		json_t *view = user_view(udb, uid, &rc);

		done_ok(a, s, id, action, login, view ? view : json_pack("{s:s}", "id", uid));
	}
out:
	json_decref(current);
	json_decref(doc);
	json_decref(groups);
	json_decref(gdocs);
}

void adm_m_users_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	user_write(arg, s, params, id, 1);
}

void adm_m_users_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	user_write(arg, s, params, id, 0);
}

/* The end of a delete: rc the lookup of the object's id oid. */
static void delete_found(struct adm *a, struct wsrpc_session *s, json_t *id,
			 const struct ucs_userdb_api *udb, int kind, const char *action,
			 const char *name, int rc, const char *oid)
{
	if (!rc)
		rc = udb->remove(kind, oid);
	if (rc) {
		store_fail(a, s, id, kind, action, name, rc, NULL);
		return;
	}
	done_ok(a, s, id, action, name, json_pack("{s:b}", "deleted", 1));
}

void adm_m_users_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	char uid[UCS_ID_MAX + 1];
	const char *login;
	int rc;

	if (name_param(s, id, params, "login", &login) ||
	    wsrpc_params_only(s, id, params, (const char *const[]){"login", NULL}) ||
	    !(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	rc = find_user(udb, snap, login, uid, sizeof(uid));
	if (snap)
		udb->release(snap);
	delete_found(a, s, id, udb, UCS_UD_USER, "users.delete", login, rc, uid);
}

/* ---- groups, computers, profiles ---- */

/* The id of the object `name` names (groups and profiles: id or name,
 * case-insensitively; computers: the name in lower case). */
static int object_id(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap, int kind,
		     const char *name, char *out, size_t cap)
{
	struct adm_snap_resolver sr;

	adm_resolver_init(&sr, udb, snap);
	if (kind == UCS_UD_GROUP) {
		const struct ucs_ud_group *g = find_group(&sr, name);

		if (g)
			return snprintf(out, cap, "%s", g->id) < (int)cap ? 0 : -ENOENT;
	} else if (kind == UCS_UD_COMPUTER) {
		for (size_t i = 0; i < snap->n_computers; i++)
			if (strcasecmp(snap->computers[i]->id, name) == 0 ||
			    strcasecmp(snap->computers[i]->name, name) == 0)
				return snprintf(out, cap, "%s", snap->computers[i]->id) < (int)cap
					       ? 0
					       : -ENOENT;
	} else {
		for (size_t i = 0; i < snap->n_profiles; i++)
			if (strcasecmp(snap->profiles[i]->id, name) == 0 ||
			    strcasecmp(snap->profiles[i]->name, name) == 0)
				return snprintf(out, cap, "%s", snap->profiles[i]->id) < (int)cap
					       ? 0
					       : -ENOENT;
	}
	return -ENOENT;
}

static json_t *object_view(const struct adm_snap_resolver *sr, int kind, json_t *doc)
{
	if (kind == UCS_UD_GROUP)
		return adm_group_view(doc, &sr->r);
	return json_incref(doc);
}

static const char *plural(int kind)
{
	return kind == UCS_UD_GROUP ? "groups" : kind == UCS_UD_COMPUTER ? "computers" : "profiles";
}

static void objects_list(struct wsrpc_session *s, json_t *params, json_t *id, int kind)
{
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	struct adm_snap_resolver sr;
	int64_t offset, limit;
	json_t *list;
	size_t n;

	if (page_params(s, id, params, 0, NULL, &offset, &limit) || !(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	list = json_array();
	adm_resolver_init(&sr, udb, snap);
	n = !snap		      ? 0
	    : kind == UCS_UD_GROUP    ? snap->n_groups
	    : kind == UCS_UD_COMPUTER ? snap->n_computers
				      : snap->n_profiles;
	for (size_t i = (size_t)offset; list && i < n && i < (size_t)(offset + limit); i++) {
		const char *oid = kind == UCS_UD_GROUP	    ? snap->groups[i]->id
				  : kind == UCS_UD_COMPUTER ? snap->computers[i]->id
							    : snap->profiles[i]->id;
		int err;
		json_t *doc = adm_get_doc(udb, kind, oid, &err);
		json_t *view = doc ? object_view(&sr, kind, doc) : NULL;

		json_decref(doc);
		list_add(&list, view);
	}
	list_reply(s, id, udb, snap, plural(kind), list, n, offset);
}

static void object_get(struct wsrpc_session *s, json_t *params, json_t *id, int kind)
{
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	struct adm_snap_resolver sr;
	char oid[UCS_ID_MAX + 1];
	const char *name;
	json_t *doc = NULL, *view = NULL;
	int err;

	if (name_param(s, id, params, "name", &name) ||
	    wsrpc_params_only(s, id, params, (const char *const[]){"name", NULL}) ||
	    !(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	err = snap ? object_id(udb, snap, kind, name, oid, sizeof(oid)) : -ENOENT;
	if (!err) {
		adm_resolver_init(&sr, udb, snap);
		doc = adm_get_doc(udb, kind, oid, &err);
		view = doc ? object_view(&sr, kind, doc) : NULL;
	}
	if (snap)
		udb->release(snap);
	json_decref(doc);
	if (!view) {
		adm_error(s, id, adm_reason_of(err ? err : -ENOMEM), NULL, "%s",
			  err == -ENOENT ? "no such object" : strerror(err ? -err : ENOMEM));
		return;
	}
	wsrpc_reply(s, id, view);
}

static int object_doc(int kind, json_t *params, const json_t *current,
		      const struct adm_snap_resolver *sr, json_t **doc, char *err, size_t cap)
{
	if (kind == UCS_UD_GROUP)
		return adm_group_doc(params, current, &sr->r, doc, err, cap);
	if (kind == UCS_UD_COMPUTER)
		return adm_computer_doc(params, current, doc, err, cap);
	return adm_profile_doc(params, current, doc, err, cap);
}

static void object_write(struct adm *a, struct wsrpc_session *s, json_t *params, json_t *id,
			 int kind, int create)
{
	char action[32], err[ERR_MAX] = "", oid[UCS_ID_MAX + 1] = "";
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	struct adm_snap_resolver sr;
	json_t *current = NULL, *doc = NULL;
	const char *name;
	int rc;

	snprintf(action, sizeof(action), "%s.%s", plural(kind), create ? "create" : "update");
	if (name_param(s, id, params, "name", &name) || !(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	if (!snap) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "the user store is not ready");
		return;
	}
	adm_resolver_init(&sr, udb, snap);
	rc = object_id(udb, snap, kind, name, oid, sizeof(oid));
	if (!create && rc) {
		udb->release(snap);
		store_fail(a, s, id, kind, action, name, -ENOENT, NULL);
		return;
	}
	if (create && !rc) {
		udb->release(snap);
		store_fail(a, s, id, kind, action, name, -EEXIST,
			   "name: an object of this name exists already");
		return;
	}
	if (!create && !(current = adm_get_doc(udb, kind, oid, &rc))) {
		udb->release(snap);
		store_fail(a, s, id, kind, action, name, rc, NULL);
		return;
	}
	rc = object_doc(kind, params, current, &sr, &doc, err, sizeof(err));
	if (!rc && create) {
		const char *nid = json_string_value(json_object_get(doc, "id"));
		int exists = kind == UCS_UD_GROUP      ? udb->group(snap, nid) != NULL
			     : kind == UCS_UD_COMPUTER ? udb->computer(snap, nid) != NULL
						       : udb->profile(snap, nid) != NULL;

		if (exists) {
			udb->release(snap);
			store_fail(a, s, id, kind, action, name, -EEXIST,
				   "id: an object with this id exists already");
			goto out;
		}
	}
	udb->release(snap);
	if (rc) {
		map_fail(s, id, rc, err);
		goto out;
	}
	rc = put_doc(udb, kind, doc, err, sizeof(err));
	if (rc) {
		store_fail(a, s, id, kind, action, name, rc, err);
		goto out;
	}
	snprintf(oid, sizeof(oid), "%s", json_string_value(json_object_get(doc, "id")));
	json_decref(doc);
	doc = adm_get_doc(udb, kind, oid, &rc);
	/* the write is done: it is answered whatever the view can show (no
	 * snapshot: the id only) */
	snap = udb->acquire();
	if (snap)
		adm_resolver_init(&sr, udb, snap);
	done_ok(a, s, id, action, name,
		doc && snap ? object_view(&sr, kind, doc) : json_pack("{s:s}", "id", oid));
	if (snap)
		udb->release(snap);
out:
	json_decref(current);
	json_decref(doc);
}

static void object_delete(struct adm *a, struct wsrpc_session *s, json_t *params, json_t *id,
			  int kind)
{
	char action[32], oid[UCS_ID_MAX + 1];
	const struct ucs_userdb_api *udb;
	const struct ucs_ud_snapshot *snap;
	const char *name;
	int rc;

	snprintf(action, sizeof(action), "%s.delete", plural(kind));
	if (name_param(s, id, params, "name", &name) ||
	    wsrpc_params_only(s, id, params, (const char *const[]){"name", NULL}) ||
	    !(udb = need_udb(s, id)))
		return;
	snap = udb->acquire();
	rc = snap ? object_id(udb, snap, kind, name, oid, sizeof(oid)) : -ENOENT;
	if (snap)
		udb->release(snap);
	delete_found(a, s, id, udb, kind, action, name, rc, oid);
}

#define OBJECT_METHODS(word, KIND)                                                                 \
	void adm_m_##word##_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)   \
	{                                                                                          \
		(void)arg;                                                                         \
		objects_list(s, params, id, KIND);                                                 \
	}                                                                                          \
	void adm_m_##word##_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)    \
	{                                                                                          \
		(void)arg;                                                                         \
		object_get(s, params, id, KIND);                                                   \
	}                                                                                          \
	void adm_m_##word##_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg) \
	{                                                                                          \
		object_write(arg, s, params, id, KIND, 1);                                         \
	}                                                                                          \
	void adm_m_##word##_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg) \
	{                                                                                          \
		object_write(arg, s, params, id, KIND, 0);                                         \
	}                                                                                          \
	void adm_m_##word##_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg) \
	{                                                                                          \
		object_delete(arg, s, params, id, KIND);                                           \
	}

OBJECT_METHODS(groups, UCS_UD_GROUP)
OBJECT_METHODS(computers, UCS_UD_COMPUTER)
OBJECT_METHODS(profiles, UCS_UD_PROFILE)

/* ---- settings ---- */

/* The view of the global settings as the store has them now. */
static json_t *settings_view(const struct ucs_userdb_api *udb, int *err)
{
	json_t *doc = adm_get_doc(udb, UCS_UD_SETTINGS, "", err);
	json_t *view = doc ? adm_settings_view(doc) : NULL;

	json_decref(doc);
	return view;
}

void adm_m_settings_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_userdb_api *udb;
	json_t *view;
	int err;

	(void)arg;
	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}) ||
	    !(udb = need_udb(s, id)))
		return;
	view = settings_view(udb, &err);
	if (!view) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the settings cannot be read: %s",
			  strerror(err ? -err : ENOMEM));
		return;
	}
	wsrpc_reply(s, id, view);
}

void adm_m_settings_set(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_userdb_api *udb;
	json_t *current, *doc = NULL, *view;
	char err[ERR_MAX];
	int rc;

	if (!(udb = need_udb(s, id)))
		return;
	current = adm_get_doc(udb, UCS_UD_SETTINGS, "", &rc);
	if (!current) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the settings cannot be read: %s",
			  strerror(-rc));
		return;
	}
	rc = adm_settings_doc(params, current, &doc, err, sizeof(err));
	json_decref(current);
	if (rc) {
		map_fail(s, id, rc, err);
		return;
	}
	rc = put_doc(udb, UCS_UD_SETTINGS, doc, err, sizeof(err));
	json_decref(doc);
	if (rc) {
		store_fail(a, s, id, UCS_UD_SETTINGS, "settings.set", "", rc, err);
		return;
	}
	view = settings_view(udb, &rc);
	done_ok(a, s, id, "settings.set", "", view ? view : json_pack("{s:b}", "written", 1));
}
