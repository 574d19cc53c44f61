/*
 * plugins/userdb-common/udb_doc.c - the document model: validation of every
 * kind against docs/protocol/userdb.md, the stored form with its defaults,
 * and the read form (see udb.h for the three forms).
 *
 * Each kind is a table of fields. Validation walks the input once to find
 * keys the table does not know (an unknown key is an error, never silently
 * dropped: it would be lost on the next write), then builds the stored form
 * field by field in table order, so two stored documents with the same
 * content are byte-identical on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "udb.h"
#include "ucs_names.h"

/* ---- kinds and ids ---- */

static const char *const kind_names[] = {NULL, "user", "group", "computer", "profile", "settings"};

const char *udb_kind_name(int kind)
{
	return kind >= UDB_KIND_MIN && kind <= UDB_KIND_MAX ? kind_names[kind] : NULL;
}

int udb_kind_from_name(const char *name)
{
	for (int k = UDB_KIND_MIN; name && k <= UDB_KIND_MAX; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	return -EINVAL;
}

static int id_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '@' || c == '-';
}

int udb_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++)
		if (!id_char((unsigned char)s[n]) || n >= UDB_ID_MAX)
			return 0;
	return n > 0;
}

void udb_report(const struct udb_reporter *r, int level, const char *fmt, ...)
{
	va_list ap;

	if (!r || !r->h)
		return;
	va_start(ap, fmt);
	r->h(r->arg, level, fmt, ap);
	va_end(ap);
}

void udb_doc_meta_clear(struct udb_doc_meta *m)
{
	if (!m)
		return;
	json_decref(m->groups);
	m->groups = NULL;
	m->has_password = m->contact_image = m->profile_picture = -1;
}

/* ---- the field tables ---- */

enum ftype {
	F_ID,	     /* an id; required */
	F_TEXT,	     /* a string up to UDB_TEXT_MAX bytes */
	F_NAME,	     /* text whose default is computed; stored "" when equal to it */
	F_LOGIN,     /* required, non-empty text without control characters */
	F_REF,	     /* an id or "" */
	F_BOOL,	     /* default false unless def is "true" */
	F_INT,	     /* a non-negative integer (Unix seconds) */
	F_CHOICE,    /* one of choices */
	F_TEXTS,     /* a list of non-empty texts */
	F_IDS,	     /* a list of distinct ids */
	F_SERVICES,  /* a list of service names */
	F_RIGHTS,    /* {"level": level, "extra": [right]} */
	F_OBJECT,    /* nested fields */
	F_LIST,	     /* a list of objects with nested fields */
	F_JSON,	     /* any JSON object (a profile's settings) */
	F_STORED,    /* a store-owned value: accepted only in the stored form */
	F_READ_BOOL, /* a read-form value: stored form bool, client form compared (meta) */
	F_READ_IDS,  /* a read-form list (a user's groups): client form only (meta) */
};

struct field {
	const char *name;
	enum ftype type;
	const char *def; /* F_BOOL "true", F_CHOICE/F_RIGHTS default name */
	const struct field *sub;
	const char *const *choices;
	size_t max; /* lists: element limit */
};

/* clang-format off */
#define END {NULL, 0, NULL, NULL, NULL, 0}
/* clang-format on */

static const struct field phone_fields[] = {
	{"business", F_TEXT, NULL, NULL, NULL, 0},
	{"business2", F_TEXT, NULL, NULL, NULL, 0},
	{"private", F_TEXT, NULL, NULL, NULL, 0},
	{"mobile", F_TEXT, NULL, NULL, NULL, 0},
	{"pager", F_TEXT, NULL, NULL, NULL, 0},
	{"mailbox", F_TEXT, NULL, NULL, NULL, 0},
	{"recording", F_TEXT, NULL, NULL, NULL, 0},
	{"fax", F_TEXT, NULL, NULL, NULL, 0},
	END,
};

static const struct field contact_fields[] = {
	{"title", F_TEXT, NULL, NULL, NULL, 0},
	{"company", F_TEXT, NULL, NULL, NULL, 0},
	{"department", F_TEXT, NULL, NULL, NULL, 0},
	{"office", F_TEXT, NULL, NULL, NULL, 0},
	{"street", F_TEXT, NULL, NULL, NULL, 0},
	{"postal_code", F_TEXT, NULL, NULL, NULL, 0},
	{"city", F_TEXT, NULL, NULL, NULL, 0},
	{"state", F_TEXT, NULL, NULL, NULL, 0},
	{"country", F_TEXT, NULL, NULL, NULL, 0},
	{"website", F_TEXT, NULL, NULL, NULL, 0},
	END,
};

/* "line" is required: F_LOGIN is "required non-empty text". */
static const struct field extra_line_fields[] = {
	{"line", F_LOGIN, NULL, NULL, NULL, 0},
	{"show_outgoing", F_BOOL, NULL, NULL, NULL, 0},
	{"show_incoming", F_BOOL, NULL, NULL, NULL, 0},
	{"pickup", F_BOOL, NULL, NULL, NULL, 0},
	END,
};

static const struct field grant_fields[] = {
	{"user", F_ID, NULL, NULL, NULL, 0},
	{"level", F_CHOICE, "blocked", NULL, ucs_level_names, 0},
	{"extra", F_TEXTS, NULL, NULL, NULL, 0}, /* checked as rights in check_grants */
	END,
};

static const struct field user_fields[] = {
	{"id", F_ID, NULL, NULL, NULL, 0},
	{"login", F_LOGIN, NULL, NULL, NULL, 0},
	{"identity", F_NAME, NULL, NULL, NULL, 0},
	{"first_name", F_TEXT, NULL, NULL, NULL, 0},
	{"last_name", F_TEXT, NULL, NULL, NULL, 0},
	{"display_name", F_NAME, NULL, NULL, NULL, 0},
	{"profile", F_REF, NULL, NULL, NULL, 0},
	{"email", F_TEXT, NULL, NULL, NULL, 0},
	{"active", F_BOOL, "true", NULL, NULL, 0},
	{"voice_services", F_BOOL, NULL, NULL, NULL, 0},
	{"phones", F_OBJECT, NULL, phone_fields, NULL, 0},
	{"other_numbers", F_TEXTS, NULL, NULL, NULL, UDB_LIST_MAX},
	{"first_phone", F_TEXT, NULL, NULL, NULL, 0},
	{"second_phone", F_TEXT, NULL, NULL, NULL, 0},
	{"other_lines", F_TEXTS, NULL, NULL, NULL, UDB_LIST_MAX},
	{"extra_lines", F_LIST, NULL, extra_line_fields, NULL, UDB_LIST_MAX},
	{"contact", F_OBJECT, NULL, contact_fields, NULL, 0},
	{"services", F_SERVICES, NULL, NULL, NULL, 0},
	{"grants", F_LIST, NULL, grant_fields, NULL, UDB_LIST_MAX},
	{"dn", F_TEXT, NULL, NULL, NULL, 0},
	{"contact_image", F_READ_BOOL, NULL, NULL, NULL, 0},
	{"profile_picture", F_READ_BOOL, NULL, NULL, NULL, 0},
	{"password_hash", F_STORED, NULL, NULL, NULL, 0},
	{"has_password", F_READ_BOOL, NULL, NULL, NULL, 0},
	{"groups", F_READ_IDS, NULL, NULL, NULL, UDB_LIST_MAX},
	END,
};

static const struct field journal_fields[] = {
	{"leader", F_BOOL, NULL, NULL, NULL, 0},
	{"group", F_BOOL, NULL, NULL, NULL, 0},
	{"modify", F_BOOL, NULL, NULL, NULL, 0},
	END,
};

static const struct field key_fields[] = {
	{"label", F_TEXT, NULL, NULL, NULL, 0},
	{"number", F_TEXT, NULL, NULL, NULL, 0},
	END,
};

static const char *const call_group_names[] = {"off", "sip", "voice", NULL};
static const char *const ringing_names[] = {"parallel", "sequential", "queue", NULL};

static const struct field group_fields[] = {
	{"id", F_ID, NULL, NULL, NULL, 0},
	{"name", F_NAME, NULL, NULL, NULL, 0},
	{"active", F_BOOL, "true", NULL, NULL, 0},
	{"members", F_IDS, NULL, NULL, NULL, UDB_MEMBERS_MAX},
	{"leader", F_REF, NULL, NULL, NULL, 0},
	{"deputy", F_REF, NULL, NULL, NULL, 0},
	{"services", F_SERVICES, NULL, NULL, NULL, 0},
	{"journal", F_OBJECT, NULL, journal_fields, NULL, 0},
	{"member_rights", F_RIGHTS, "blocked", NULL, NULL, 0},
	{"leader_rights", F_RIGHTS, "blocked", NULL, NULL, 0},
	{"monitor_groups", F_IDS, NULL, NULL, NULL, UDB_LIST_MAX},
	{"favourite_groups", F_IDS, NULL, NULL, NULL, UDB_LIST_MAX},
	{"keys", F_LIST, NULL, key_fields, NULL, UDB_LIST_MAX},
	{"call_group", F_CHOICE, "off", NULL, call_group_names, 0},
	{"ringing", F_CHOICE, "parallel", NULL, ringing_names, 0},
	{"call_number", F_TEXT, NULL, NULL, NULL, 0},
	{"dn", F_TEXT, NULL, NULL, NULL, 0},
	END,
};

static const struct field computer_fields[] = {
	{"id", F_ID, NULL, NULL, NULL, 0},
	{"name", F_NAME, NULL, NULL, NULL, 0},
	{"first_phone", F_TEXT, NULL, NULL, NULL, 0},
	{"second_phone", F_TEXT, NULL, NULL, NULL, 0},
	{"lines", F_TEXTS, NULL, NULL, NULL, UDB_LIST_MAX},
	{"authorised_only", F_BOOL, NULL, NULL, NULL, 0},
	{"last_logon", F_INT, NULL, NULL, NULL, 0},
	{"last_user", F_TEXT, NULL, NULL, NULL, 0},
	{"dn", F_TEXT, NULL, NULL, NULL, 0},
	END,
};

static const struct field profile_fields[] = {
	{"id", F_ID, NULL, NULL, NULL, 0},
	{"name", F_NAME, NULL, NULL, NULL, 0},
	{"description", F_TEXT, NULL, NULL, NULL, 0},
	{"settings", F_JSON, NULL, NULL, NULL, 0},
	END,
};

static const struct field restriction_fields[] = {
	{"presence_off", F_BOOL, NULL, NULL, NULL, 0},
	{"no_user_rights", F_BOOL, NULL, NULL, NULL, 0},
	{"chat_off", F_BOOL, NULL, NULL, NULL, 0},
	{"chat_no_history", F_BOOL, NULL, NULL, NULL, 0},
	END,
};

static const struct field settings_fields[] = {
	{"services", F_SERVICES, NULL, NULL, NULL, 0},
	{"rights", F_RIGHTS, "public", NULL, NULL, 0},
	{"monitor_rights", F_RIGHTS, "blocked", NULL, NULL, 0},
	{"journal_all", F_BOOL, NULL, NULL, NULL, 0},
	{"journal_delete", F_BOOL, NULL, NULL, NULL, 0},
	{"all_in_monitor", F_BOOL, NULL, NULL, NULL, 0},
	{"auto_line_binding", F_BOOL, "true", NULL, NULL, 0},
	{"restrictions", F_OBJECT, NULL, restriction_fields, NULL, 0},
	END,
};

static const struct field *const kind_fields[] = {
	NULL, user_fields, group_fields, computer_fields, profile_fields, settings_fields};

/* ---- validation ---- */

struct vstate {
	const struct udb_ctx *ctx;
	struct udb_doc_meta *meta;
	char *err;
	size_t errcap;
};

static int fail(struct vstate *v, const char *path, const char *fmt, ...) UCS_PRINTF(3, 4);
static int fail(struct vstate *v, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (v->err && v->errcap) {
		n = snprintf(v->err, v->errcap, "%s: ", path);
		if (n < 0 || (size_t)n >= v->errcap)
			return -EINVAL;
		va_start(ap, fmt);
		vsnprintf(v->err + n, v->errcap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* snprintf for JSON paths: a path that does not fit is cut (error texts only). */
static void pathf(char *buf, size_t cap, const char *fmt, ...) UCS_PRINTF(3, 4);
static void pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static void child_path(char *buf, size_t cap, const char *parent, const char *key)
{
	if (!parent || !*parent)
		pathf(buf, cap, "%s", key);
	else
		pathf(buf, cap, "%s.%s", parent, key);
}

static int check_text(struct vstate *v, const char *path, const json_t *j, size_t max)
{
	size_t len;

	if (!json_is_string(j))
		return fail(v, path, "expected a string, got %s", type_name(j));
	len = json_string_length(j);
	if (len > max)
		return fail(v, path, "longer than %zu bytes (%zu)", max, len);
	if (strlen(json_string_value(j)) != len)
		return fail(v, path, "contains a NUL character");
	return 0;
}

static int check_plain(struct vstate *v, const char *path, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return fail(v, path, "contains a control character");
	return 0;
}

static int check_id(struct vstate *v, const char *path, const json_t *j, int allow_empty)
{
	int err = check_text(v, path, j, UDB_TEXT_MAX);
	const char *s;

	if (err)
		return err;
	s = json_string_value(j);
	if (allow_empty && !*s)
		return 0;
	if (!*s)
		return fail(v, path, "must not be empty");
	if (!udb_id_valid(s))
		return fail(v, path,
			    "\"%.64s\" is no valid id (1-63 characters of a-z 0-9 . _ @ -)", s);
	return 0;
}

/* A list of texts (non-empty) or of distinct ids. */
static int check_list(struct vstate *v, const char *path, const json_t *j, size_t max, int ids,
		      json_t **out)
{
	char ep[320];
	json_t *e, *seen = NULL;
	size_t i;
	int err = 0;

	*out = NULL;
	if (!json_is_array(j))
		return fail(v, path, "expected an array, got %s", type_name(j));
	if (json_array_size(j) > max)
		return fail(v, path, "more than %zu elements (%zu)", max, json_array_size(j));
	*out = json_array();
	seen = ids ? json_object() : NULL;
	if (!*out || (ids && !seen)) {
		err = -ENOMEM;
		goto out;
	}
	json_array_foreach(j, i, e)
	{
		pathf(ep, sizeof(ep), "%s[%zu]", path, i);
		err = ids ? check_id(v, ep, e, 0) : check_text(v, ep, e, UDB_TEXT_MAX);
		if (!err && !ids && !*json_string_value(e))
			err = fail(v, ep, "must not be empty");
		if (!err && ids && json_object_get(seen, json_string_value(e)))
			err = fail(v, ep, "\"%s\" is listed twice", json_string_value(e));
		if (err)
			break;
		if (ids)
			json_object_set_new(seen, json_string_value(e), json_true());
		json_array_append(*out, e);
	}
out:
	json_decref(seen);
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

/* A list of names from `table`, in the table's order, without duplicates. */
static int check_names(struct vstate *v, const char *path, const json_t *j,
		       const struct ucs_name_bit *table, const char *what, uint64_t *bits,
		       json_t **out)
{
	char ep[320];
	size_t i;
	json_t *e;
	int err;

	*bits = 0;
	if (!json_is_array(j))
		return fail(v, path, "expected an array of %s names, got %s", what, type_name(j));
	if (json_array_size(j) > UDB_LIST_MAX)
		return fail(v, path, "more than %d elements", UDB_LIST_MAX);
	json_array_foreach(j, i, e)
	{
		uint64_t bit;

		pathf(ep, sizeof(ep), "%s[%zu]", path, i);
		err = check_text(v, ep, e, UDB_TEXT_MAX);
		if (err)
			return err;
		bit = ucs_name_bit(table, json_string_value(e));
		if (!bit)
			return fail(v, ep, "unknown %s \"%.64s\"", what, json_string_value(e));
		*bits |= bit;
	}
	*out = json_array();
	if (!*out)
		return -ENOMEM;
	for (; table->name; table++)
		if (*bits & table->bit)
			json_array_append_new(*out, json_string(table->name));
	return 0;
}

static int check_choice(struct vstate *v, const char *path, const json_t *j,
			const char *const *choices)
{
	int err = check_text(v, path, j, UDB_TEXT_MAX);
	char list[256];
	size_t n = 0;

	if (err)
		return err;
	for (const char *const *c = choices; *c; c++)
		if (strcmp(*c, json_string_value(j)) == 0)
			return 0;
	list[0] = 0;
	for (const char *const *c = choices; *c && n < sizeof(list); c++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *c);
	return fail(v, path, "\"%.64s\" is not one of %s", json_string_value(j), list);
}

static int check_fields(struct vstate *v, const char *path, const json_t *in,
			const struct field *fields, json_t **out);

static int check_rights(struct vstate *v, const char *path, const json_t *j, const char *def,
			json_t **out)
{
	char p[320];
	const char *key;
	json_t *val, *level, *extra, *names = NULL;
	uint64_t bits;
	int err;

	if (j && !json_is_object(j))
		return fail(v, path,
			    "expected an object {\"level\": ..., \"extra\": [...]}, got %s",
			    type_name(j));
	json_object_foreach((json_t *)j, key, val)
	{
		if (strcmp(key, "level") && strcmp(key, "extra")) {
			child_path(p, sizeof(p), path, key);
			return fail(v, p, "unknown key");
		}
	}
	level = j ? json_object_get(j, "level") : NULL;
	extra = j ? json_object_get(j, "extra") : NULL;
	child_path(p, sizeof(p), path, "level");
	if (level && (err = check_choice(v, p, level, ucs_level_names)))
		return err;
	child_path(p, sizeof(p), path, "extra");
	if (extra) {
		err = check_names(v, p, extra, ucs_right_names, "right", &bits, &names);
		if (err)
			return err;
	} else {
		names = json_array();
	}
	*out = json_pack("{s:s,s:o}", "level", level ? json_string_value(level) : def, "extra",
			 names);
	return *out ? 0 : -ENOMEM;
}

static int check_field(struct vstate *v, const char *path, const struct field *f, const json_t *val,
		       json_t **out)
{
	int err = 0;
	uint64_t bits;

	*out = NULL;
	switch (f->type) {
	case F_ID:
		if (!val)
			return fail(v, path, "required");
		err = check_id(v, path, val, 0);
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_LOGIN:
		if (!val)
			return fail(v, path, "required");
		err = check_text(v, path, val, UDB_TEXT_MAX);
		if (!err && !*json_string_value(val))
			err = fail(v, path, "must not be empty");
		if (!err)
			err = check_plain(v, path, json_string_value(val));
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_TEXT:
	case F_NAME:
		if (!val) {
			*out = json_string("");
			break;
		}
		/* a computed name joins two fields ("first last"), so what the
		 * read form shows can be written back */
		err = check_text(v, path, val, f->type == F_NAME ? UDB_NAME_MAX : UDB_TEXT_MAX);
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_REF:
		if (!val) {
			*out = json_string("");
			break;
		}
		err = check_id(v, path, val, 1);
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_BOOL:
		if (!val) {
			*out = json_boolean(f->def && strcmp(f->def, "true") == 0);
			break;
		}
		if (!json_is_boolean(val))
			return fail(v, path, "expected true or false, got %s", type_name(val));
		*out = json_incref((json_t *)val);
		break;
	case F_INT:
		if (!val) {
			*out = json_integer(0);
			break;
		}
		if (!json_is_integer(val) || json_integer_value(val) < 0)
			return fail(v, path, "expected a non-negative integer, got %s",
				    json_is_integer(val) ? "a negative one" : type_name(val));
		*out = json_incref((json_t *)val);
		break;
	case F_CHOICE:
		if (!val) {
			*out = json_string(f->def);
			break;
		}
		err = check_choice(v, path, val, f->choices);
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_TEXTS:
	case F_IDS:
		if (!val) {
			*out = json_array();
			break;
		}
		err = check_list(v, path, val, f->max ? f->max : UDB_LIST_MAX, f->type == F_IDS,
				 out);
		break;
	case F_SERVICES:
		if (!val) {
			*out = json_array();
			break;
		}
		err = check_names(v, path, val, ucs_service_names, "service", &bits, out);
		break;
	case F_RIGHTS:
		err = check_rights(v, path, val, f->def, out);
		break;
	case F_OBJECT:
		err = check_fields(v, path, val, f->sub, out);
		break;
	case F_LIST: {
		char ep[320];
		size_t i;
		json_t *e, *o;

		if (!val) {
			*out = json_array();
			break;
		}
		if (!json_is_array(val))
			return fail(v, path, "expected an array, got %s", type_name(val));
		if (json_array_size(val) > f->max)
			return fail(v, path, "more than %zu elements (%zu)", f->max,
				    json_array_size(val));
		*out = json_array();
		json_array_foreach(val, i, e)
		{
			pathf(ep, sizeof(ep), "%s[%zu]", path, i);
			if (!json_is_object(e)) {
				err = fail(v, ep, "expected an object, got %s", type_name(e));
				break;
			}
			err = check_fields(v, ep, e, f->sub, &o);
			if (err)
				break;
			json_array_append_new(*out, o);
		}
		break;
	}
	case F_JSON: {
		char *text;
		size_t len;

		if (!val) {
			*out = json_object();
			break;
		}
		if (!json_is_object(val))
			return fail(v, path, "expected an object, got %s", type_name(val));
		text = json_dumps(val, JSON_COMPACT);
		len = text ? strlen(text) : 0;
		free(text);
		if (!text)
			return -ENOMEM;
		if (len > UDB_PROFILE_MAX)
			return fail(v, path, "longer than %d bytes as JSON (%zu)", UDB_PROFILE_MAX,
				    len);
		*out = json_deep_copy(val);
		break;
	}
	case F_STORED:
		if (!(v->ctx->flags & UDB_STORED)) {
			if (val)
				return fail(v, path,
					    "not part of the document (set through the store)");
			*out = json_string(""); /* the caller puts the store's value */
			break;
		}
		if (!val) {
			*out = json_string("");
			break;
		}
		err = check_text(v, path, val, UDB_TEXT_MAX);
		if (!err)
			err = check_plain(v, path, json_string_value(val));
		if (!err)
			*out = json_incref((json_t *)val);
		break;
	case F_READ_BOOL: {
		/* contact_image/profile_picture are stored; has_password is
		 * only in the read form. */
		int stored = strcmp(f->name, "has_password") != 0;
		int *slot = NULL;

		if (v->ctx->flags & UDB_STORED) {
			if (!stored) {
				if (val)
					return fail(v, path, "unknown key");
				return 0;
			}
			if (val && !json_is_boolean(val))
				return fail(v, path, "expected true or false, got %s",
					    type_name(val));
			*out = val ? json_incref((json_t *)val) : json_false();
			break;
		}
		if (val && !json_is_boolean(val))
			return fail(v, path, "expected true or false, got %s", type_name(val));
		if (val && !v->meta)
			return fail(v, path, "read-only (kept by the store)");
		if (v->meta) {
			slot = strcmp(f->name, "has_password") == 0    ? &v->meta->has_password
			       : strcmp(f->name, "contact_image") == 0 ? &v->meta->contact_image
								       : &v->meta->profile_picture;
			*slot = val ? json_is_true(val) : -1;
		}
		if (!stored)
			return 0;
		*out = json_false(); /* the caller puts the store's value */
		break;
	}
	case F_READ_IDS: {
		json_t *list = NULL;

		if (!val)
			return 0;
		if (v->ctx->flags & UDB_STORED)
			return fail(v, path, "unknown key");
		if (!v->meta)
			return fail(v, path, "read-only (kept on the groups)");
		err = check_list(v, path, val, f->max, 1, &list);
		if (!err) {
			json_decref(v->meta->groups);
			v->meta->groups = list;
		}
		return err;
	}
	}
	if (!err && !*out)
		err = -ENOMEM;
	return err;
}

static int check_fields(struct vstate *v, const char *path, const json_t *in,
			const struct field *fields, json_t **out)
{
	char p[320];
	const char *key;
	json_t *val, *o;
	const struct field *f;
	int err = 0;

	*out = NULL;
	if (in && !json_is_object(in))
		return fail(v, path && *path ? path : "document", "expected an object, got %s",
			    type_name(in));
	if (in) {
		json_object_foreach((json_t *)in, key, val)
		{
			for (f = fields; f->name; f++)
				if (strcmp(f->name, key) == 0)
					break;
			if (!f->name) {
				child_path(p, sizeof(p), path, key);
				return fail(v, p, "unknown key");
			}
		}
	}
	*out = json_object();
	if (!*out)
		return -ENOMEM;
	for (f = fields; f->name; f++) {
		child_path(p, sizeof(p), path, f->name);
		err = check_field(v, p, f, in ? json_object_get(in, f->name) : NULL, &o);
		if (err) {
			json_decref(o); /* a list may be half built */
			break;
		}
		if (o && json_object_set_new(*out, f->name, o)) {
			err = -ENOMEM;
			break;
		}
	}
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

static const char *str(const json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));
	return s ? s : "";
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = 0;
}

const char *udb_user_identity(const json_t *stored, const char *presence_domain, char *buf,
			      size_t cap)
{
	char login[UDB_TEXT_MAX + 1];
	const char *id = str(stored, "identity");

	if (*id) {
		snprintf(buf, cap, "%s", id);
		return buf;
	}
	lower_copy(login, sizeof(login), str(stored, "login"));
	if (presence_domain && *presence_domain)
		snprintf(buf, cap, "%s@%s", login, presence_domain);
	else
		snprintf(buf, cap, "%s", login);
	return buf;
}

const char *udb_user_display_name(const json_t *stored, char *buf, size_t cap)
{
	const char *dn = str(stored, "display_name");
	const char *first = str(stored, "first_name"), *last = str(stored, "last_name");

	if (*dn)
		snprintf(buf, cap, "%s", dn);
	else if (*first || *last)
		snprintf(buf, cap, "%s%s%s", first, *first && *last ? " " : "", last);
	else
		snprintf(buf, cap, "%s", str(stored, "login"));
	return buf;
}

/* Cross-field rules of each kind, on the stored form. */
static int check_kind(struct vstate *v, int kind, json_t *doc)
{
	char buf[UDB_NAME_MAX + 4], low[UDB_NAME_MAX + 4], ep[64];
	const char *id = str(doc, "id");
	size_t i;
	json_t *e;
	int err;

	switch (kind) {
	case UCS_UD_USER: {
		json_t *grants = json_object_get(doc, "grants"), *seen;

		lower_copy(low, sizeof(low), str(doc, "login"));
		if ((v->ctx->flags & UDB_ID_IS_NAME) && strcmp(low, id) != 0)
			return fail(v, "id", "must be the login in lower case (\"%.64s\")", low);
		/* Computed defaults are stored as "" so they follow their inputs. */
		snprintf(buf, sizeof(buf), "%s", str(doc, "identity"));
		json_object_set_new(doc, "identity", json_string(""));
		udb_user_identity(doc, v->ctx->presence_domain, low, sizeof(low));
		if (*buf && strcasecmp(buf, low) != 0)
			json_object_set_new(doc, "identity", json_string(buf));
		snprintf(buf, sizeof(buf), "%s", str(doc, "display_name"));
		json_object_set_new(doc, "display_name", json_string(""));
		udb_user_display_name(doc, low, sizeof(low));
		if (*buf && strcmp(buf, low) != 0)
			json_object_set_new(doc, "display_name", json_string(buf));
		seen = json_object();
		json_array_foreach(grants, i, e)
		{
			const char *grantee = str(e, "user");
			uint64_t bits;
			json_t *names = NULL;

			pathf(ep, sizeof(ep), "grants[%zu].user", i);
			if (strcmp(grantee, id) == 0) {
				err = fail(v, ep, "a user cannot grant rights to herself");
				json_decref(seen);
				return err;
			}
			if (json_object_get(seen, grantee)) {
				err = fail(v, ep, "\"%s\" has a grant already", grantee);
				json_decref(seen);
				return err;
			}
			json_object_set_new(seen, grantee, json_true());
			pathf(ep, sizeof(ep), "grants[%zu].extra", i);
			err = check_names(v, ep, json_object_get(e, "extra"), ucs_right_names,
					  "right", &bits, &names);
			if (err) {
				json_decref(seen);
				return err;
			}
			json_object_set_new(e, "extra", names);
		}
		json_decref(seen);
		break;
	}
	case UCS_UD_COMPUTER: {
		json_t *lines = json_object_get(doc, "lines");
		const char *name = str(doc, "name");

		lower_copy(low, sizeof(low), name);
		if ((v->ctx->flags & UDB_ID_IS_NAME) && *name && strcmp(low, id) != 0)
			return fail(v, "name", "must be the id in any case (\"%s\")", id);
		if (strcmp(name, id) == 0)
			json_object_set_new(doc, "name", json_string(""));
		json_array_foreach(lines, i, e)
		{
			if (strcmp(json_string_value(e), "*") == 0 && json_array_size(lines) > 1) {
				pathf(ep, sizeof(ep), "lines[%zu]", i);
				return fail(v, ep, "\"*\" (every line) must be the only entry");
			}
		}
		break;
	}
	case UCS_UD_GROUP:
	case UCS_UD_PROFILE:
		if (strcmp(str(doc, "name"), id) == 0)
			json_object_set_new(doc, "name", json_string(""));
		break;
	default:
		break;
	}
	return 0;
}

int udb_doc_canon(int kind, const json_t *in, const struct udb_ctx *ctx, json_t **out,
		  struct udb_doc_meta *meta, char *err, size_t errcap)
{
	static const struct udb_ctx no_ctx = {NULL, 0};
	struct vstate v = {ctx ? ctx : &no_ctx, (ctx && (ctx->flags & UDB_STORED)) ? NULL : meta,
			   err, errcap};
	json_t *doc = NULL;
	int rc;

	*out = NULL;
	if (err && errcap)
		err[0] = 0;
	if (v.meta) {
		v.meta->groups = NULL;
		v.meta->has_password = v.meta->contact_image = v.meta->profile_picture = -1;
	}
	if (!udb_kind_name(kind))
		return fail(&v, "document", "unknown kind %d", kind);
	if (!json_is_object(in))
		return fail(&v, "document", "expected a JSON object, got %s",
			    in ? type_name(in) : "nothing");
	rc = check_fields(&v, "", in, kind_fields[kind], &doc);
	if (!rc)
		rc = check_kind(&v, kind, doc);
	if (rc) {
		json_decref(doc);
		if (v.meta)
			udb_doc_meta_clear(v.meta);
		return rc;
	}
	*out = doc;
	return 0;
}

int udb_doc_canon_text(int kind, const char *text, size_t len, const struct udb_ctx *ctx,
		       json_t **out, struct udb_doc_meta *meta, char *err, size_t errcap)
{
	json_error_t jerr;
	json_t *in;
	int rc;

	*out = NULL;
	if (meta) {
		meta->groups = NULL;
		meta->has_password = meta->contact_image = meta->profile_picture = -1;
	}
	if (len > UDB_DOC_MAX) {
		snprintf(err, errcap, "document: larger than %d bytes", UDB_DOC_MAX);
		return -EINVAL;
	}
	in = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!in) {
		snprintf(err, errcap, "document: invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = udb_doc_canon(kind, in, ctx, out, meta, err, errcap);
	json_decref(in);
	return rc;
}

const char *udb_doc_id(const json_t *doc)
{
	return str(doc, "id");
}

json_t *udb_doc_default(int kind, const char *id)
{
	static const struct udb_ctx stored = {NULL, UDB_STORED};
	json_t *in, *out = NULL;

	if (kind == UCS_UD_SETTINGS)
		in = json_object();
	else
		in = json_pack("{s:s}", "id", id ? id : "");
	if (kind == UCS_UD_USER && in)
		json_object_set_new(in, "login", json_string(id ? id : ""));
	if (in)
		udb_doc_canon(kind, in, &stored, &out, NULL, NULL, 0);
	json_decref(in);
	return out;
}

json_t *udb_doc_read(int kind, const json_t *stored, const struct udb_ctx *ctx,
		     const json_t *groups)
{
	char buf[2 * UDB_TEXT_MAX + 4];
	json_t *doc = json_deep_copy(stored);

	if (!doc)
		return NULL;
	switch (kind) {
	case UCS_UD_USER:
		json_object_set_new(
			doc, "identity",
			json_string(udb_user_identity(stored, ctx ? ctx->presence_domain : NULL,
						      buf, sizeof(buf))));
		json_object_set_new(doc, "display_name",
				    json_string(udb_user_display_name(stored, buf, sizeof(buf))));
		json_object_set_new(doc, "has_password",
				    json_boolean(*str(stored, "password_hash")));
		json_object_del(doc, "password_hash");
		json_object_set_new(doc, "groups", groups ? json_deep_copy(groups) : json_array());
		break;
	case UCS_UD_GROUP:
	case UCS_UD_COMPUTER:
	case UCS_UD_PROFILE:
		if (!*str(stored, "name"))
			json_object_set_new(doc, "name", json_string(str(stored, "id")));
		break;
	default:
		break;
	}
	return doc;
}

/* ---- directory overlays ---- */

static int is_nested(const char *key)
{
	return strcmp(key, "phones") == 0 || strcmp(key, "contact") == 0;
}

json_t *udb_doc_overlay(int kind, const json_t *local, const json_t *directory)
{
	const char *key, *k2;
	json_t *val, *v2, *doc;

	if (local)
		doc = json_deep_copy(local);
	else
		doc = udb_doc_default(kind, udb_doc_id(directory));
	if (!doc)
		return NULL;
	json_object_foreach((json_t *)directory, key, val)
	{
		json_t *cur = json_object_get(doc, key);

		if (is_nested(key) && json_is_object(val) && json_is_object(cur)) {
			json_object_foreach(val, k2, v2) json_object_set(cur, k2, v2);
		} else {
			json_object_set(doc, key, val);
		}
	}
	return doc;
}

int udb_doc_owned_paths(const json_t *directory,
			int (*fn)(const char *path, const json_t *value, void *arg), void *arg)
{
	char p[320];
	const char *key, *k2;
	json_t *val, *v2;
	int rc = 0;

	json_object_foreach((json_t *)directory, key, val)
	{
		if (strcmp(key, "id") == 0)
			continue;
		if (is_nested(key) && json_is_object(val)) {
			json_object_foreach(val, k2, v2)
			{
				pathf(p, sizeof(p), "%s.%s", key, k2);
				if ((rc = fn(p, v2, arg)))
					return rc;
			}
		} else if ((rc = fn(key, val, arg))) {
			return rc;
		}
	}
	return rc;
}

const json_t *udb_doc_get_path(const json_t *doc, const char *path)
{
	char head[64];
	const char *dot = strchr(path, '.');
	size_t n;

	if (!dot)
		return json_object_get(doc, path);
	n = (size_t)(dot - path);
	if (n >= sizeof(head))
		return NULL;
	memcpy(head, path, n);
	head[n] = 0;
	return json_object_get(json_object_get(doc, head), dot + 1);
}

/* ---- document sets ---- */

int udb_docs_init(struct udb_docs *d)
{
	memset(d, 0, sizeof(*d));
	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX; k++) {
		d->kind[k] = json_object();
		if (!d->kind[k]) {
			udb_docs_clear(d);
			return -ENOMEM;
		}
	}
	return 0;
}

void udb_docs_clear(struct udb_docs *d)
{
	for (int k = 0; k <= UDB_KIND_MAX; k++) {
		json_decref(d->kind[k]);
		d->kind[k] = NULL;
	}
}

int udb_docs_copy(struct udb_docs *dst, const struct udb_docs *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = UDB_KIND_MIN; k <= UDB_KIND_MAX; k++) {
		dst->kind[k] = src->kind[k] ? json_copy(src->kind[k]) : json_object();
		if (!dst->kind[k]) {
			udb_docs_clear(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

size_t udb_docs_count(const struct udb_docs *d, int kind)
{
	return kind >= UDB_KIND_MIN && kind <= UDB_KIND_MAX ? json_object_size(d->kind[kind]) : 0;
}
