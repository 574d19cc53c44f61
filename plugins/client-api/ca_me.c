/*
 * plugins/client-api/ca_me.c - me.get, me.update, me.idle: the user's own
 * account as the client shows and edits it.
 *
 * me.update changes only what self-configuration allows (rights->
 * self_fields: the manual's "Configure user account yourself" table, which
 * depends on the user store). Every member of the request is checked before
 * anything is written: one field she may not change refuses the whole
 * request with forbidden and data.field naming it. The fields are written
 * through the user store's document form (get_json, edit, put_json), so the
 * store validates them exactly as an administrator's change; pictures go
 * through set_picture. A new password needs the old one, verified through
 * the auth service like a login (so a guessed old password counts against
 * the brute-force protection), and is hashed by auth (set_password). The
 * order is: verify the old password, write the document and pictures, set
 * the password, answer with the new me.get.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs_names.h>

#include "ca.h"

#define TEXT_MAX 1024

/* ---- me.get ---------------------------------------------------------------- */

static json_t *jme(struct ca *ca, const struct ucs_ud_user *u)
{
	static const struct {
		const char *name;
		int phone;
	} numbers[] = {
		{"business", UCS_UD_PHONE_BUSINESS}, {"business2", UCS_UD_PHONE_BUSINESS2},
		{"private", UCS_UD_PHONE_PRIVATE},   {"mobile", UCS_UD_PHONE_MOBILE},
		{"pager", UCS_UD_PHONE_PAGER},	     {"voicemail", UCS_UD_PHONE_MAILBOX},
	};
	static const char *const restriction_names[] = {"presence_off", "no_user_rights",
							"chat_off", "chat_no_history"};
	struct ucs_presence_view v = {.size = sizeof(v)};
	json_t *o = json_object(), *nums = json_object(), *groups = json_array(),
	       *other = json_array();

	json_object_set_new(o, "id", CA_JS(u->id));
	json_object_set_new(o, "login", CA_JS(u->login));
	json_object_set_new(o, "display_name", CA_JS(u->display_name));
	json_object_set_new(o, "first_name", CA_JS(u->first_name));
	json_object_set_new(o, "last_name", CA_JS(u->last_name));
	json_object_set_new(o, "identity", CA_JS(u->identity));
	json_object_set_new(o, "email", CA_JS(u->email));
	json_object_set_new(o, "profile", CA_JS(u->profile));
	json_object_set_new(o, "directory", json_boolean(u->flags & UCS_UD_DIRECTORY));
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		json_object_set_new(nums, numbers[i].name,
				    ca_jnumber(ca, &u->phones[numbers[i].phone]));
	json_object_set_new(o, "numbers", nums);
	for (size_t i = 0; i < u->n_other_lines; i++)
		json_array_append_new(other, CA_JS(u->other_lines[i]));
	json_object_set_new(o, "phones",
			    json_pack("{s:o,s:o,s:o}", "first", CA_JS(u->first_phone), "second",
				      CA_JS(u->second_phone), "other", other));
	json_object_set_new(o, "contact",
			    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "title",
				      CA_JS(u->title), "company", CA_JS(u->company), "department",
				      CA_JS(u->department), "office", CA_JS(u->office), "street",
				      CA_JS(u->street), "postal_code", CA_JS(u->postal_code),
				      "city", CA_JS(u->city), "state", CA_JS(u->state), "country",
				      CA_JS(u->country), "website", CA_JS(u->website)));
	json_object_set_new(o, "images",
			    json_pack("{s:b,s:b}", "contact_image",
				      u->contact_image && *u->contact_image, "profile_picture",
				      u->profile_picture && *u->profile_picture));
	json_object_set_new(o, "services", ca_jservice_names(ca->rights->services(u->id)));
	json_object_set_new(
		o, "self_fields",
		ca_jnames(ca_self_field_names, UCS_SF_COUNT, ca->rights->self_fields(u->id)));
	json_object_set_new(o, "restrictions",
			    ca_jnames(restriction_names, 4, ca->rights->restrictions()));
	for (size_t i = 0; i < u->n_groups; i++)
		json_array_append_new(groups, CA_JS(u->groups[i]));
	json_object_set_new(o, "groups", groups);
	if (ca->pres->get(u->id, u->id, &v) == 0)
		json_object_set_new(o, "presence", ca_jpresence(ca, &v.presence));
	else
		json_object_set_new(o, "presence", json_null());
	return o;
}

/* Answers with the session user's me.get (or not_found when she is gone). */
static void reply_me(struct ca_sess *s, json_t *id)
{
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *u = ca_me(s, &snap);

	if (u)
		wsrpc_reply(s->ws, id, jme(s->ca, u));
	else
		wsrpc_error(s->ws, id, WSRPC_NOT_FOUND, "your account is gone", NULL);
	if (snap)
		s->ca->udb->release(snap);
}

CA_METHOD(ca_m_me_get)
{
	static const char *const only[] = {NULL};

	(void)arg;
	if (wsrpc_params_only(ws, id, params, only))
		return;
	reply_me(ca_sess_of(ws), id);
}

CA_METHOD(ca_m_me_idle)
{
	static const char *const only[] = {"idle", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	int idle;

	(void)arg;
	if (wsrpc_params_only(ws, id, params, only) ||
	    wsrpc_param_bool(ws, id, params, "idle", 1, &idle))
		return;
	if (s->idle != (idle != 0)) {
		s->idle = idle != 0;
		ca_publish_login(s, 1);
	}
	wsrpc_reply(ws, id, json_object());
}

/* ---- me.update: what may be changed, and where it goes ------------------------ */

enum kind { K_TEXT, K_LIST, K_SERVICES, K_PICTURE, K_PASSWORD };

struct field {
	const char *param; /* "contact.title" */
	const char *doc;   /* its place in the user document, NULL: not a document key */
	int sf;		   /* enum ucs_self_field; -1: never self-configurable */
	enum kind kind;
};

static const struct field fields[] = {
	{"first_name", "first_name", UCS_SF_FIRST_NAME, K_TEXT},
	{"last_name", "last_name", UCS_SF_LAST_NAME, K_TEXT},
	{"display_name", "display_name", UCS_SF_DISPLAY_NAME, K_TEXT},
	{"email", "email", UCS_SF_EMAIL, K_TEXT},
	{"contact.title", "contact.title", UCS_SF_TITLE, K_TEXT},
	{"contact.company", "contact.company", UCS_SF_COMPANY, K_TEXT},
	{"contact.department", "contact.department", -1, K_TEXT},
	{"contact.office", "contact.office", UCS_SF_OFFICE, K_TEXT},
	{"contact.street", "contact.street", UCS_SF_STREET, K_TEXT},
	{"contact.postal_code", "contact.postal_code", UCS_SF_POSTAL_CITY, K_TEXT},
	{"contact.city", "contact.city", UCS_SF_POSTAL_CITY, K_TEXT},
	{"contact.state", "contact.state", UCS_SF_STATE, K_TEXT},
	{"contact.country", "contact.country", UCS_SF_COUNTRY, K_TEXT},
	{"contact.website", "contact.website", UCS_SF_WEBSITE, K_TEXT},
	{"numbers.business", "phones.business", UCS_SF_PHONE_BUSINESS, K_TEXT},
	{"numbers.business2", "phones.business2", UCS_SF_PHONE_BUSINESS2, K_TEXT},
	{"numbers.private", "phones.private", UCS_SF_PHONE_PRIVATE, K_TEXT},
	{"numbers.mobile", "phones.mobile", UCS_SF_PHONE_MOBILE, K_TEXT},
	{"numbers.pager", "phones.pager", -1, K_TEXT},
	{"numbers.voicemail", "phones.mailbox", UCS_SF_PHONE_MAILBOX, K_TEXT},
	{"numbers.recording", "phones.recording", UCS_SF_PHONE_RECORDING, K_TEXT},
	{"numbers.fax", "phones.fax", -1, K_TEXT},
	{"phones.first", "first_phone", UCS_SF_FIRST_PHONE, K_TEXT},
	{"phones.second", "second_phone", UCS_SF_SECOND_PHONE, K_TEXT},
	{"phones.other", "other_lines", UCS_SF_OWN_PHONES, K_LIST},
	{"services", "services", UCS_SF_SERVICES, K_SERVICES},
	{"contact_image", NULL, UCS_SF_CONTACT_IMAGE, K_PICTURE},
	{"profile_picture", NULL, UCS_SF_CONTACT_IMAGE, K_PICTURE},
	{"password", NULL, UCS_SF_PASSWORD, K_PASSWORD},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct field *field_find(const char *param)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i].param, param) == 0)
			return &fields[i];
	return NULL;
}

/* The value at a dotted path of an object ("contact.title"), or NULL. */
static json_t *at(json_t *o, const char *path)
{
	char part[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, part);
		path = dot + 1;
	}
	return json_object_get(o, path);
}

static int set_at(json_t *o, const char *path, json_t *v)
{
	char part[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		json_t *next;

		snprintf(part, sizeof(part), "%.*s", (int)(dot - path), path);
		next = json_object_get(o, part);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(o, part, next);
		}
		o = next;
		path = dot + 1;
	}
	return json_object_set(o, path, v);
}

/* Checks one value's type; answers invalid_params and returns false when
 * wrong. */
static bool valid_value(struct ca_sess *s, json_t *id, const struct field *f, json_t *v)
{
	char msg[160];
	size_t i;
	json_t *e;
	const char *key;

	switch (f->kind) {
	case K_TEXT:
	case K_PASSWORD:
		if (json_is_string(v) && json_string_length(v) <= TEXT_MAX)
			return true;
		snprintf(msg, sizeof(msg), "%s: expected a string of at most %d bytes", f->param,
			 TEXT_MAX);
		break;
	case K_PICTURE:
		if (json_is_string(v))
			return true;
		snprintf(msg, sizeof(msg), "%s: expected base64 image data (\"\" removes it)",
			 f->param);
		break;
	case K_LIST:
		if (json_is_array(v) && json_array_size(v) <= 1024) {
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e) || json_string_length(e) > TEXT_MAX)
					break;
			}
			if (i == json_array_size(v))
				return true;
		}
		snprintf(msg, sizeof(msg), "%s: expected a list of strings", f->param);
		break;
	case K_SERVICES:
		if (json_is_object(v)) {
			bool ok = true;

			json_object_foreach(v, key, e)
			{
				if (!json_is_boolean(e) || !ucs_name_bit(ucs_service_names, key))
					ok = false;
			}
			if (ok)
				return true;
		}
		snprintf(msg, sizeof(msg), "%s: expected {service name: true|false}", f->param);
		break;
	}
	wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, msg, json_pack("{s:s}", "member", f->param));
	return false;
}

/* One member of the request: known, well-typed and allowed. */
static bool check_one(struct ca_sess *s, json_t *id, const char *path, json_t *v, uint32_t allowed)
{
	const struct field *f = field_find(path);
	char msg[200];

	if (!f) {
		snprintf(msg, sizeof(msg), "%s: unknown member", path);
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, msg,
			    json_pack("{s:s}", "member", path));
		return false;
	}
	if (!valid_value(s, id, f, v))
		return false;
	if (f->sf < 0 || !(allowed & (1u << f->sf))) {
		snprintf(msg, sizeof(msg), "you may not change %s", path);
		wsrpc_error(s->ws, id, WSRPC_FORBIDDEN, msg, json_pack("{s:s}", "field", path));
		return false;
	}
	return true;
}

/* Walks params: every member known, well-typed and allowed, before anything
 * is written. */
static bool check_params(struct ca_sess *s, json_t *id, json_t *params, uint32_t allowed)
{
	const char *key, *sub;
	json_t *v, *e;
	char path[128], msg[200];

	if (!json_is_object(params)) {
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, "params: expected an object", NULL);
		return false;
	}
	json_object_foreach(params, key, v)
	{
		if (strcmp(key, "old_password") == 0) {
			if (!json_is_string(v) || json_string_length(v) > TEXT_MAX) {
				wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS,
					    "old_password: expected a string",
					    json_pack("{s:s}", "member", "old_password"));
				return false;
			}
			continue;
		}
		if (strcmp(key, "contact") && strcmp(key, "numbers") && strcmp(key, "phones")) {
			if (!check_one(s, id, key, v, allowed))
				return false;
			continue;
		}
		if (!json_is_object(v)) {
			snprintf(msg, sizeof(msg), "%s: expected an object", key);
			wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, msg, NULL);
			return false;
		}
		json_object_foreach(v, sub, e)
		{
			snprintf(path, sizeof(path), "%s.%.64s", key, sub);
			if (!check_one(s, id, path, e, allowed))
				return false;
		}
	}
	if (json_object_get(params, "password") && !json_object_get(params, "old_password")) {
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS,
			    "old_password: required to set a new password",
			    json_pack("{s:s}", "member", "old_password"));
		return false;
	}
	return true;
}

static void store_error(struct ca_sess *s, json_t *id, int err, const char *text)
{
	switch (err) {
	case -EROFS:
		wsrpc_error(s->ws, id, WSRPC_READ_ONLY,
			    *text ? text : "the directory owns this field", NULL);
		break;
	case -EINVAL:
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, *text ? text : "invalid value", NULL);
		break;
	case -ENOENT:
		wsrpc_error(s->ws, id, WSRPC_NOT_FOUND, "your account is gone", NULL);
		break;
	default:
		wsrpc_error(s->ws, id, WSRPC_INTERNAL, "the user store could not write it", NULL);
		break;
	}
}

/* Writes the document fields and pictures; 0 or answered already. */
static int apply(struct ca_sess *s, json_t *id, json_t *params)
{
	struct ca *ca = s->ca;
	const char *uid = s->user->id;
	json_t *doc = NULL;
	char *buf = NULL, *text = NULL, err[512] = "";
	bool changed = false;
	int n, rc;

	n = ca->udb->get_json(UCS_UD_USER, uid, NULL, 0);
	if (n < 0) {
		store_error(s, id, n, "");
		return n;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || ca->udb->get_json(UCS_UD_USER, uid, buf, (size_t)n + 1) != n ||
	    !(doc = json_loads(buf, 0, NULL))) {
		rc = -ENOMEM;
		store_error(s, id, -EIO, "");
		goto out;
	}
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		json_t *v = at(params, f->param), *cur, *list, *e;
		const char *key;

		if (!v || !f->doc)
			continue;
		changed = true;
		if (f->kind != K_SERVICES) {
			set_at(doc, f->doc, v);
			continue;
		}
		/* services: {name: bool} edits her own list */
		cur = json_object_get(doc, "services");
		list = json_array();
		json_object_foreach(v, key, e)
		{
			if (json_is_true(e))
				json_array_append_new(list, json_string(key));
		}
		for (size_t j = 0; json_is_array(cur) && j < json_array_size(cur); j++) {
			const char *name = json_string_value(json_array_get(cur, j));

			if (name && !json_object_get(v, name))
				json_array_append_new(list, json_string(name));
		}
		json_object_set_new(doc, "services", list);
	}
	if (changed) {
		text = json_dumps(doc, JSON_COMPACT);
		rc = text ? ca->udb->put_json(UCS_UD_USER, text, strlen(text), err, sizeof(err))
			  : -ENOMEM;
		if (rc) {
			store_error(s, id, rc, err);
			goto out;
		}
	}
	for (int which = 0; which < 2; which++) {
		json_t *v = json_object_get(params, which ? "profile_picture" : "contact_image");
		const char *b64 = json_string_value(v);
		size_t len = json_string_length(v);
		unsigned char *data;
		ssize_t got;

		if (!v)
			continue;
		data = malloc(len * 3 / 4 + 3);
		got = data ? ca_b64_decode(b64, len, data) : -ENOMEM;
		if (got < 0) {
			free(data);
			rc = -EINVAL;
			snprintf(err, sizeof(err), "%s: not base64",
				 which ? "profile_picture" : "contact_image");
			store_error(s, id, rc, err);
			goto out;
		}
		rc = ca->udb->set_picture(uid, which, data, (size_t)got);
		free(data);
		if (rc) {
			snprintf(err, sizeof(err), "%s: %s",
				 which ? "profile_picture" : "contact_image",
				 rc == -EINVAL ? "not a PNG, JPEG or GIF image (at most 8 MiB)"
					       : strerror(-rc));
			store_error(s, id, rc, err);
			goto out;
		}
	}
	rc = 0;
out:
	free(text);
	free(buf);
	json_decref(doc);
	return rc;
}

/* ---- me.update: the asynchronous steps ------------------------------------------ */

struct update_op {
	struct ca_op op;
	struct ucs_auth_op *verify;
	json_t *params;
	bool setting;  /* set_password runs: it cannot be cancelled */
	bool orphaned; /* ... and the session went meanwhile */
};

static void update_free(struct update_op *u)
{
	json_decref(u->params);
	free(u);
}

static void update_cancel(struct ca_op *op)
{
	struct update_op *u = (struct update_op *)op;

	if (u->verify)
		op->sess->ca->auth->cancel(u->verify);
	if (u->setting) {
		u->orphaned = true; /* password_set() frees it */
		return;
	}
	update_free(u);
}

static void finish_op(struct update_op *u, bool ok);

/* The answer waits until the change reached the rights engine (services,
 * self_fields). */
static void answer_now(struct ca_op *op)
{
	struct update_op *u = (struct update_op *)op;
	struct ca_sess *s = op->sess;
	json_t *id = json_incref(op->id);

	ca_op_remove(op);
	reply_me(s, id);
	json_decref(id);
	update_free(u);
}

static void finish_op(struct update_op *u, bool ok)
{
	if (ok && ca_after_bus(&u->op, answer_now) == 0)
		return;
	if (ok)
		answer_now(&u->op);
	else {
		ca_op_remove(&u->op);
		update_free(u);
	}
}

static void password_set(int status, void *arg)
{
	struct update_op *u = arg;
	struct ca_sess *s = u->op.sess;

	u->setting = false;
	if (u->orphaned) {
		update_free(u);
		return;
	}
	if (status) {
		if (status == -EROFS)
			wsrpc_error(s->ws, u->op.id, WSRPC_READ_ONLY,
				    "the password of this account cannot be changed here", NULL);
		else if (status == -EINVAL)
			wsrpc_error(s->ws, u->op.id, WSRPC_INVALID_PARAMS,
				    "password: must not be empty", NULL);
		else
			wsrpc_error(s->ws, u->op.id, WSRPC_INTERNAL,
				    "the password could not be stored", NULL);
		finish_op(u, false);
		return;
	}
	CA_LOG(s->ca, UCS_LOG_INFO, "%s changed her password (session %llu)", s->login,
	       (unsigned long long)s->id);
	finish_op(u, true);
}

/* After the old password was verified (or none was needed). */
static void update_apply(struct update_op *u)
{
	struct ca_sess *s = u->op.sess;
	struct ca *ca = s->ca;
	json_t *pw = json_object_get(u->params, "password");
	int err;

	if (apply(s, u->op.id, u->params)) {
		finish_op(u, false);
		return;
	}
	if (!pw) {
		finish_op(u, true);
		return;
	}
	u->setting = true;
	err = ca->auth->set_password(ca->self, UCS_AUTH_USER, s->user->id, json_string_value(pw),
				     json_string_length(pw), password_set, u);
	if (err) {
		u->setting = false;
		wsrpc_error(s->ws, u->op.id, err == -EINVAL ? WSRPC_INVALID_PARAMS : WSRPC_INTERNAL,
			    err == -EINVAL ? "password: must not be empty"
					   : "the password could not be stored",
			    NULL);
		finish_op(u, false);
	}
}

static void verified(const struct ucs_auth_result *res, void *arg)
{
	struct update_op *u = arg;
	struct ca_sess *s = u->op.sess;

	u->verify = NULL;
	if (res->status == 0 && s->user && strcmp(res->user.text, s->user->id) == 0) {
		update_apply(u);
		return;
	}
	if (res->status == -EAGAIN)
		wsrpc_error(s->ws, u->op.id, WSRPC_LOCKED_OUT, "locked out: try again later",
			    json_pack("{s:I}", "retry_after_ms", (json_int_t)res->retry_after_ms));
	else if (res->status == -EHOSTUNREACH)
		wsrpc_error(s->ws, u->op.id, WSRPC_UNAVAILABLE,
			    "the directory that checks passwords cannot be reached", NULL);
	else
		wsrpc_error(s->ws, u->op.id, WSRPC_AUTH_FAILED, "old_password is wrong",
			    json_pack("{s:s}", "field", "old_password"));
	finish_op(u, false);
}

CA_METHOD(ca_m_me_update)
{
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	struct ucs_auth_request req = {.size = sizeof(req)};
	struct update_op *u;
	json_t *old;
	int err;

	if (!check_params(s, id, params, ca->rights->self_fields(s->user->id)))
		return;
	u = calloc(1, sizeof(*u));
	if (!u) {
		wsrpc_error(ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	u->params = json_incref(params);
	u->op.cancel = update_cancel;
	ca_op_add(s, &u->op, id);
	old = json_object_get(params, "old_password");
	if (!json_object_get(params, "password")) {
		update_apply(u);
		return;
	}
	req.kind = UCS_AUTH_USER;
	req.login = s->login;
	req.password = json_string_value(old);
	req.password_len = json_string_length(old);
	req.peer = wsrpc_session_peer(ws);
	req.via = "client-api";
	err = ca->auth->login(ca->self, &req, verified, u, &u->verify);
	if (err) {
		wsrpc_error(ws, id, err == -EAGAIN ? WSRPC_LOCKED_OUT : WSRPC_UNAVAILABLE,
			    "the old password could not be checked", NULL);
		finish_op(u, false);
	}
}
