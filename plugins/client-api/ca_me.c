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
 * order is: check every member and decode and measure the pictures, verify
 * the old password, write the document and pictures, set the password (and
 * end her other sessions and tokens), answer with the new me.get.
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
		ca_jnames(ucs_self_field_names, UCS_SF_COUNT, ca->rights->self_fields(u->id)));
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
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, "params: expected an object",
			    json_pack("{s:s}", "member", "params"));
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
			wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, msg,
				    json_pack("{s:s}", "member", key));
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

/* ---- me.update: pictures ------------------------------------------------------------ */

/* Limits that bound what the synchronous set_picture() costs on the loop
 * (decoding and scaling a 2048x2048 image takes some 100 ms there): the
 * image data, its pixel count (read from the header before anything is
 * decoded), one picture update of a user at a time and one every
 * PIC_INTERVAL_MS. */
#define PIC_MAX_BYTES	(2u << 20)
#define PIC_MAX_PIXELS	(2048u * 2048u)
#define PIC_INTERVAL_MS 5000u

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Width and height from a PNG, GIF or JPEG header: 0, or -EINVAL for data
 * that is none of them. */
static int image_size(const unsigned char *d, size_t n, uint32_t *w, uint32_t *h)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (n >= 24 && memcmp(d, png, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0) {
		*w = be32(d + 16);
		*h = be32(d + 20);
		return 0;
	}
	if (n >= 10 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) {
		*w = (uint32_t)d[6] | (uint32_t)d[7] << 8;
		*h = (uint32_t)d[8] | (uint32_t)d[9] << 8;
		return 0;
	}
	if (n >= 4 && d[0] == 0xff && d[1] == 0xd8) {
		size_t i = 2;

		/* segments up to the first start-of-frame (C0-CF but C4, C8, CC) */
		while (i + 4 <= n) {
			unsigned m;
			size_t len;

			if (d[i] != 0xff)
				return -EINVAL;
			m = d[i + 1];
			if (m == 0xff) {
				i++;
				continue;
			}
			if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
				i += 2;
				continue;
			}
			len = (size_t)d[i + 2] << 8 | d[i + 3];
			if (len < 2)
				return -EINVAL;
			if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
				if (i + 9 > n)
					return -EINVAL;
				*h = (uint32_t)d[i + 5] << 8 | d[i + 6];
				*w = (uint32_t)d[i + 7] << 8 | d[i + 8];
				return 0;
			}
			i += 2 + len;
		}
	}
	return -EINVAL;
}

struct picture {
	bool set;	     /* the request has it */
	unsigned char *data; /* NULL with len 0: remove it */
	size_t len;
};

/* Decodes and checks one picture member; false when answered. */
static bool read_picture(struct ca_sess *s, json_t *id, const char *name, json_t *v,
			 struct picture *out)
{
	const char *b64 = json_string_value(v);
	size_t len = json_string_length(v);
	char msg[200];
	uint32_t w = 0, h = 0;
	ssize_t got;

	memset(out, 0, sizeof(*out));
	if (!v)
		return true;
	out->set = true;
	if (!len)
		return true;
	if (len / 4 * 3 > PIC_MAX_BYTES + 3) {
		snprintf(msg, sizeof(msg), "%s: more than %u bytes of image data", name,
			 PIC_MAX_BYTES);
		goto bad;
	}
	out->data = malloc(len * 3 / 4 + 3);
	if (!out->data) {
		wsrpc_error(s->ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return false;
	}
	got = ca_b64_decode(b64, len, out->data);
	if (got < 0) {
		snprintf(msg, sizeof(msg), "%s: not base64", name);
		goto bad;
	}
	out->len = (size_t)got;
	if (out->len > PIC_MAX_BYTES) {
		snprintf(msg, sizeof(msg), "%s: more than %u bytes of image data", name,
			 PIC_MAX_BYTES);
		goto bad;
	}
	if (image_size(out->data, out->len, &w, &h) || !w || !h) {
		snprintf(msg, sizeof(msg), "%s: not a PNG, JPEG or GIF image", name);
		goto bad;
	}
	if ((uint64_t)w * h > PIC_MAX_PIXELS) {
		snprintf(msg, sizeof(msg), "%s: %ux%u pixels is more than %u pixels", name, w, h,
			 PIC_MAX_PIXELS);
		goto bad;
	}
	return true;
bad:
	free(out->data);
	out->data = NULL;
	wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, msg, json_pack("{s:s}", "member", name));
	return false;
}

/* ---- me.update: phones of others -------------------------------------------------- */

/* Whether `name` (a line id or internal number her phones name) is a line
 * bound to another user and not one of her extra lines. */
static bool line_of_other(struct ca *ca, const struct ucs_ud_user *u, const char *name)
{
	const struct ucs_lines_api *la =
		ca->host->service->find(UCS_LINES_SERVICE, UCS_LINES_VERSION, NULL);
	struct ucs_line_info li = {.size = sizeof(li)};
	struct ucs_id owners[CA_MAX_OWNERS];
	const char *line = name;
	int n;

	if (!name || !*name)
		return false;
	if (la && (la->line(name, &li) == 0 || la->line_by_number(name, &li) == 0))
		line = li.id.text;
	for (size_t i = 0; i < u->n_extra_lines; i++) {
		const char *e = u->extra_lines[i].line;

		if (e && (strcmp(e, name) == 0 || strcmp(e, line) == 0))
			return false;
	}
	/* bound to others and not (also) to her: a shared line she has
	 * already may be named again */
	n = ca->pres->owners(line, owners, CA_MAX_OWNERS);
	for (int i = 0; i < n && i < CA_MAX_OWNERS; i++)
		if (strcmp(owners[i].text, u->id) == 0)
			return false;
	return n > 0;
}

/* phones.first / second / other must not take another user's line. */
static bool check_phones(struct ca_sess *s, json_t *id, json_t *params)
{
	static const char *const paths[] = {"phones.first", "phones.second", "phones.other"};
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *u = ca_me(s, &snap);
	bool ok = true;
	char msg[200];

	for (size_t k = 0; u && ok && k < 3; k++) {
		json_t *v = at(params, paths[k]), *e;
		size_t i;

		if (json_is_string(v) && line_of_other(s->ca, u, json_string_value(v))) {
			snprintf(msg, sizeof(msg), "%s: %.64s is another user's line", paths[k],
				 json_string_value(v));
			ok = false;
		}
		json_array_foreach(json_is_array(v) ? v : NULL, i, e)
		{
			if (ok && line_of_other(s->ca, u, json_string_value(e))) {
				snprintf(msg, sizeof(msg), "%s: %.64s is another user's line",
					 paths[k], json_string_value(e));
				ok = false;
			}
		}
		if (!ok)
			wsrpc_error(s->ws, id, WSRPC_FORBIDDEN, msg,
				    json_pack("{s:s}", "field", paths[k]));
	}
	if (snap)
		s->ca->udb->release(snap);
	return ok;
}

/* ---- me.update: the steps ----------------------------------------------------------- */

struct update_op {
	struct ca_op op;
	struct ca *ca;
	struct ucs_auth_op *verify;
	json_t *params;
	struct picture pic[2]; /* contact_image, profile_picture */
	char user[UCS_ID_MAX];
	bool pic_held; /* holds her user's pic_busy */
	bool setting;  /* set_password runs: it cannot be cancelled */
	bool orphaned; /* ... and the session went meanwhile */
};

static void update_free(struct update_op *u)
{
	struct ca_user *cu = u->pic_held ? ca_user_find(u->ca, u->user) : NULL;

	if (cu)
		cu->pic_busy = false;
	if (u->setting && (cu = ca_user_find(u->ca, u->user)) && cu->pw_changing)
		cu->pw_changing--;
	json_decref(u->params);
	for (int i = 0; i < 2; i++)
		free(u->pic[i].data);
	free(u);
}

static void update_release(struct ca_op *op)
{
	update_free((struct update_op *)op);
}

static void update_cancel(struct ca_op *op)
{
	struct update_op *u = (struct update_op *)op;

	if (u->verify)
		u->ca->auth->cancel(u->verify);
	u->verify = NULL;
	if (u->setting) {
		u->orphaned = true; /* password_set() frees it */
		return;
	}
	update_free(u);
}

/* The document path a store error names, as the params member. */
static const char *member_of(const char *text, json_t *params)
{
	const char *key;
	json_t *v;

	for (size_t i = 0; i < N_FIELDS; i++) {
		size_t n = fields[i].doc ? strlen(fields[i].doc) : 0;

		if (n && strncmp(text, fields[i].doc, n) == 0 &&
		    (text[n] == ':' || text[n] == ' ' || text[n] == '.' || !text[n]))
			return fields[i].param;
	}
	json_object_foreach(params, key, v)
	{
		if (strcmp(key, "old_password"))
			return key;
	}
	return "params";
}

/* Answers a user store error and ends the op. */
static void store_error(struct update_op *u, int err, const char *text)
{
	switch (err) {
	case -EROFS:
		ca_op_error(&u->op, WSRPC_READ_ONLY, *text ? text : "the directory owns this field",
			    NULL);
		break;
	case -EINVAL:
		ca_op_error(&u->op, WSRPC_INVALID_PARAMS, *text ? text : "invalid value",
			    json_pack("{s:s}", "member", member_of(text, u->params)));
		break;
	case -ENOENT:
		ca_op_error(&u->op, WSRPC_NOT_FOUND, "your account is gone", NULL);
		break;
	default:
		ca_op_error(&u->op, WSRPC_INTERNAL, "the user store could not write it", NULL);
		break;
	}
}

/* Writes the document fields and pictures: 0, or answered (the op ended). */
static int apply(struct update_op *u)
{
	struct ca *ca = u->ca;
	const char *uid = u->user;
	json_t *doc = NULL, *params = u->params;
	char *buf = NULL, *text = NULL, err[512] = "";
	bool changed = false;
	int n, rc;

	n = ca->udb->get_json(UCS_UD_USER, uid, NULL, 0);
	if (n < 0) {
		store_error(u, n, "");
		return n;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || ca->udb->get_json(UCS_UD_USER, uid, buf, (size_t)n + 1) != n ||
	    !(doc = json_loads(buf, 0, NULL))) {
		rc = -EIO;
		store_error(u, rc, "");
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
			store_error(u, rc, err);
			goto out;
		}
	}
	/* the pictures were decoded and their size checked before anything was
	 * written; what remains is the store's decoding (synchronous) */
	for (int which = 0; which < 2; which++) {
		const char *name = which ? "profile_picture" : "contact_image";
		struct ca_user *cu;

		if (!u->pic[which].set)
			continue;
		rc = ca->udb->set_picture(uid, which, u->pic[which].data, u->pic[which].len);
		if ((cu = ca_user_find(ca, uid)))
			cu->pic_next_ms = ca->host->timer->now_ms() + PIC_INTERVAL_MS;
		if (rc) {
			snprintf(err, sizeof(err), "%s: %s", name,
				 rc == -EINVAL ? "not a PNG, JPEG or GIF image" : strerror(-rc));
			if (rc == -EINVAL)
				ca_op_error(&u->op, WSRPC_INVALID_PARAMS, err,
					    json_pack("{s:s}", "member", name));
			else
				store_error(u, rc, err);
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

/* The answer waits until the change reached the rights engine (services,
 * self_fields). */
static void answer_now(struct ca_op *op)
{
	struct update_op *u = (struct update_op *)op;
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *me = ca_me(op->sess, &snap);
	json_t *result = me ? jme(u->ca, me) : NULL;
	struct ca *ca = u->ca;

	if (snap)
		ca->udb->release(snap);
	if (result)
		ca_op_reply(op, result);
	else
		ca_op_error(op, WSRPC_NOT_FOUND, "your account is gone", NULL);
}

/* Everything was written: the answer (which ends the op). */
static void update_done(struct update_op *u)
{
	if (ca_after_bus(&u->op, answer_now))
		answer_now(&u->op);
}

static void password_set(int status, void *arg)
{
	struct update_op *u = arg;
	struct ca_sess *s = u->op.sess;
	struct ca_user *cu;

	if (u->orphaned) {
		/* the session went: her other sessions and tokens still go */
		u->setting = false;
		if ((cu = ca_user_find(u->ca, u->user)) && cu->pw_changing)
			cu->pw_changing--;
		if (!status)
			ca_user_revoke_others(u->ca, u->user, NULL, "password changed");
		update_free(u);
		return;
	}
	u->setting = false;
	cu = s->user;
	if (cu && cu->pw_changing)
		cu->pw_changing--;
	if (status) {
		if (status == -EROFS)
			ca_op_error(&u->op, WSRPC_READ_ONLY,
				    "the password of this account cannot be changed here", NULL);
		else if (status == -EINVAL)
			ca_op_error(&u->op, WSRPC_INVALID_PARAMS, "password: must not be empty",
				    json_pack("{s:s}", "member", "password"));
		else
			ca_op_error(&u->op, WSRPC_INTERNAL, "the password could not be stored",
				    NULL);
		return;
	}
	CA_LOG(u->ca, UCS_LOG_INFO, "%s changed her password (session %llu)", s->login,
	       (unsigned long long)s->id);
	/* this session and its token go on; every other one of hers ends */
	if (cu) {
		cu->pw_tag = ca_pw_tag(u->ca, cu->id);
		ca_token_retag(s);
	}
	ca_user_revoke_others(u->ca, u->user, s, "password changed");
	update_done(u);
}

/* After the old password was verified (or none was needed). */
static void update_apply(struct update_op *u)
{
	struct ca_sess *s = u->op.sess;
	struct ca *ca = u->ca;
	json_t *pw = json_object_get(u->params, "password");
	int err;

	if (apply(u))
		return;
	if (!pw) {
		update_done(u);
		return;
	}
	u->setting = true;
	if (s->user)
		s->user->pw_changing++;
	err = ca->auth->set_password(ca->self, UCS_AUTH_USER, u->user, json_string_value(pw),
				     json_string_length(pw), password_set, u);
	if (err) {
		if (s->user && s->user->pw_changing)
			s->user->pw_changing--;
		u->setting = false;
		ca_op_error(&u->op, err == -EINVAL ? WSRPC_INVALID_PARAMS : WSRPC_INTERNAL,
			    err == -EINVAL ? "password: must not be empty"
					   : "the password could not be stored",
			    err == -EINVAL ? json_pack("{s:s}", "member", "password") : NULL);
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
		ca_op_error(&u->op, WSRPC_LOCKED_OUT, "locked out: try again later",
			    json_pack("{s:I}", "retry_after_ms", (json_int_t)res->retry_after_ms));
	else if (res->status == -EHOSTUNREACH)
		ca_op_error(&u->op, WSRPC_UNAVAILABLE,
			    "the directory that checks passwords cannot be reached", NULL);
	else
		ca_op_error(&u->op, WSRPC_AUTH_FAILED, "old_password is wrong",
			    json_pack("{s:s}", "field", "old_password"));
}

CA_METHOD(ca_m_me_update)
{
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	struct ca_user *cu = s->user;
	struct ucs_auth_request req = {.size = sizeof(req)};
	struct picture pic[2] = {{0}};
	struct update_op *u;
	uint64_t now;
	json_t *old;
	int err;

	if (!check_params(s, id, params, ca->rights->self_fields(s->user->id)) ||
	    !check_phones(s, id, params) ||
	    !read_picture(s, id, "contact_image", json_object_get(params, "contact_image"),
			  &pic[0]))
		return;
	if (!read_picture(s, id, "profile_picture", json_object_get(params, "profile_picture"),
			  &pic[1])) {
		free(pic[0].data);
		return;
	}
	now = ca->host->timer->now_ms();
	if ((pic[0].set || pic[1].set) && (cu->pic_busy || now < cu->pic_next_ms)) {
		uint64_t wait = cu->pic_busy ? 1000 : cu->pic_next_ms - now;

		free(pic[0].data);
		free(pic[1].data);
		wsrpc_error(ws, id, WSRPC_RATE_LIMITED,
			    "one picture update at a time: try again later",
			    json_pack("{s:I}", "retry_after_ms", (json_int_t)wait));
		return;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		free(pic[0].data);
		free(pic[1].data);
		wsrpc_error(ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	u->ca = ca;
	u->params = json_incref(params);
	memcpy(u->pic, pic, sizeof(pic));
	snprintf(u->user, sizeof(u->user), "%s", cu->id);
	if (pic[0].set || pic[1].set) {
		cu->pic_busy = true;
		u->pic_held = true;
	}
	u->op.cancel = update_cancel;
	u->op.release = update_release;
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
	if (err)
		ca_op_error(&u->op, err == -EAGAIN ? WSRPC_LOCKED_OUT : WSRPC_UNAVAILABLE,
			    "the old password could not be checked",
			    err == -EAGAIN ? json_pack("{s:i}", "retry_after_ms", 1000) : NULL);
}
