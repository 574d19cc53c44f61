/*
 * plugins/admin-api/adm_map.c - params <-> user store documents (see
 * adm_map.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm_map.h"
#include "ucs_names.h"

#define TEXT_MAX     1024 /* the store's limit of a text field */
#define PASSWORD_MAX 1024 /* the auth service's */

const char *const adm_number_names[] = {"business", "business2", "private", "mobile",
					"pager",    "voicemail", NULL};
const char *const adm_number_doc_keys[] = {"business", "business2", "private", "mobile",
					   "pager",    "mailbox",   NULL};

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
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
	default:
		return "null";
	}
}

int adm_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-') ||
		    n >= ADM_ID_MAX)
			return 0;
	}
	return n > 0;
}

int adm_id_from_name(const char *name, char *id, size_t cap)
{
	size_t n = 0;
	int useful = 0;

	if (!cap)
		return -EINVAL;
	for (; name && *name && n < ADM_ID_MAX && n + 1 < cap; name++) {
		char c = *name;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-'))
			c = '-';
		else if (c != '-')
			useful = 1;
		id[n++] = c;
	}
	id[n] = 0;
	return useful ? 0 : -EINVAL;
}

/* Members of obj not in allowed (NULL-terminated): -EINVAL naming the first. */
static int only(const json_t *obj, const char *const *allowed, const char *path, char *err,
		size_t cap)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			return fail(err, cap, "%s%s%.64s: unknown member", path, *path ? "." : "",
				    key);
	}
	return 0;
}

/* An optional string member: 1 and *out, 0 absent, -EINVAL. null counts
 * as "" when nullable. */
static int opt_string(const json_t *obj, const char *key, const char *path, int nullable,
		      const char **out, char *err, size_t cap)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (nullable && json_is_null(v)) {
		*out = "";
		return 1;
	}
	if (!json_is_string(v))
		return fail(err, cap, "%s%s%s: expected a string, got %s", path, *path ? "." : "",
			    key, type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, cap, "%s%s%s: contains a NUL character", path, *path ? "." : "",
			    key);
	if (json_string_length(v) > TEXT_MAX)
		return fail(err, cap, "%s%s%s: longer than %d bytes", path, *path ? "." : "", key,
			    TEXT_MAX);
	*out = json_string_value(v);
	return 1;
}

static int opt_bool(const json_t *obj, const char *key, const char *path, int *out, char *err,
		    size_t cap)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, cap, "%s%s%s: expected a boolean, got %s", path, *path ? "." : "",
			    key, type_name(v));
	*out = json_is_true(v);
	return 1;
}

/* Sets obj.key to a new reference of a string; -ENOMEM. */
static int set_str(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, json_string(value)) ? -ENOMEM : 0;
}

/* obj.key as an object, created when absent (or not an object). */
static json_t *sub_object(json_t *obj, const char *key)
{
	json_t *sub = json_object_get(obj, key);

	if (json_is_object(sub))
		return sub;
	sub = json_object();
	if (!sub || json_object_set_new(obj, key, sub) != 0)
		return NULL;
	return sub;
}

/* params an object with members from allowed only and, when key is not
 * NULL, a non-empty string under key (into *value): 0, or -EINVAL. */
static int checked_params(const json_t *params, const char *const *allowed, const char *key,
			  const char **value, char *err, size_t cap)
{
	int rc;

	if (!json_is_object(params))
		return fail(err, cap, "params: expected an object");
	rc = only(params, allowed, "", err, cap);
	if (rc || !key)
		return rc;
	rc = opt_string(params, key, "", 0, value, err, cap);
	if (rc < 0)
		return rc;
	if (!rc || !**value)
		return fail(err, cap, "%s: required", key);
	return 0;
}

/* The string members names of obj (at path; null as "" when nullable), as
 * far as present, set in doc under the keys of the same index. */
static int lay_strings(json_t *doc, const json_t *obj, const char *path, const char *const *names,
		       const char *const *keys, int nullable, char *err, size_t cap)
{
	for (size_t i = 0; names[i]; i++) {
		const char *s = NULL;
		int rc = opt_string(obj, names[i], path, nullable, &s, err, cap);

		if (rc < 0)
			return rc;
		if (rc && set_str(doc, keys[i], s))
			return -ENOMEM;
	}
	return 0;
}

/* The boolean members names of obj (at path), as far as present, set in
 * doc under the same names. */
static int lay_bools(json_t *doc, const json_t *obj, const char *path, const char *const *names,
		     char *err, size_t cap)
{
	for (size_t i = 0; names[i]; i++) {
		int on = 0, rc = opt_bool(obj, names[i], path, &on, err, cap);

		if (rc < 0)
			return rc;
		if (rc && json_object_set_new(doc, names[i], json_boolean(on)))
			return -ENOMEM;
	}
	return 0;
}

/* The param v (at path) an object of the members names only, each a
 * string or null, laid into doc (NULL: out of memory) under keys. */
static int lay_string_object(json_t *doc, const json_t *v, const char *path,
			     const char *const *names, const char *const *keys, char *err,
			     size_t cap)
{
	int rc;

	if (!json_is_object(v))
		return fail(err, cap, "%s: expected an object, got %s", path, type_name(v));
	rc = doc ? only(v, names, path, err, cap) : -ENOMEM;
	return rc ? rc : lay_strings(doc, v, path, names, keys, 1, err, cap);
}

/* The id the file store gives a new user or computer: the value (of the
 * param key) in lower case, checked; hint ends the message when it is not
 * a valid id. A new document {"id": id, key: value} into *d. */
static int lower_case_doc(const char *key, const char *value, const char *hint, json_t **d,
			  char *err, size_t cap)
{
	char id[ADM_ID_MAX + 1];
	size_t n = strlen(value), i;

	if (n > ADM_ID_MAX)
		return fail(err, cap, "%s: longer than %d characters", key, ADM_ID_MAX);
	for (i = 0; i < n; i++)
		id[i] = (value[i] >= 'A' && value[i] <= 'Z') ? (char)(value[i] - 'A' + 'a')
							     : value[i];
	id[n] = 0;
	if (!adm_id_valid(id))
		return fail(err, cap, "%s: 1-%d of a-z A-Z 0-9 . _ @ -%s", key, ADM_ID_MAX, hint);
	*d = json_pack("{s:s,s:s}", "id", id, key, value);
	return *d ? 0 : -ENOMEM;
}

static const char *str_or(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : def;
}

/* ---- names ---- */

static json_t *bits_json(const struct ucs_name_bit *table, uint64_t bits)
{
	json_t *a = json_array();

	for (; a && table->name; table++)
		if ((bits & table->bit) && json_array_append_new(a, json_string(table->name))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* A list of names of table: the bits; -EINVAL naming the element. */
static int names_bits(const json_t *list, const struct ucs_name_bit *table, const char *what,
		      const char *path, uint64_t *out, char *err, size_t cap)
{
	size_t i;
	json_t *v;

	*out = 0;
	if (!json_is_array(list))
		return fail(err, cap, "%s: expected an array of %s names, got %s", path, what,
			    type_name(list));
	json_array_foreach(list, i, v)
	{
		uint64_t bit = json_is_string(v) ? ucs_name_bit(table, json_string_value(v)) : 0;

		if (!json_is_string(v))
			return fail(err, cap, "%s[%zu]: expected a string, got %s", path, i,
				    type_name(v));
		if (!bit)
			return fail(err, cap, "%s[%zu]: unknown %s \"%.64s\"", path, i, what,
				    json_string_value(v));
		*out |= bit;
	}
	return 0;
}

/* The bits of a stored list of names (already valid). */
static uint64_t stored_bits(const json_t *list, const struct ucs_name_bit *table)
{
	uint64_t bits = 0;
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		bits |= ucs_name_bit(table, json_string_value(v));
	}
	return bits;
}

static int level_of(const json_t *v, const char *path, int *out, char *err, size_t cap)
{
	int level = json_is_string(v) ? ucs_level_from_name(json_string_value(v)) : -1;

	if (level < 0)
		return fail(err, cap,
			    "%s: expected one of blocked, public, business, team, personal", path);
	*out = level;
	return 0;
}

/* services {name: bool} laid over the document's list of names. */
static int apply_services(json_t *doc, const json_t *map, const char *path, char *err, size_t cap)
{
	uint64_t bits = stored_bits(json_object_get(doc, "services"), ucs_service_names);
	const char *key;
	json_t *v, *list;

	if (!json_is_object(map))
		return fail(err, cap,
			    "%s: expected an object of service names and booleans, got %s", path,
			    type_name(map));
	json_object_foreach((json_t *)map, key, v)
	{
		uint64_t bit = ucs_name_bit(ucs_service_names, key);

		if (!bit)
			return fail(err, cap, "%s.%.64s: unknown service", path, key);
		if (!json_is_boolean(v))
			return fail(err, cap, "%s.%.64s: expected a boolean, got %s", path, key,
				    type_name(v));
		bits = json_is_true(v) ? bits | bit : bits & ~bit;
	}
	list = bits_json(ucs_service_names, bits);
	if (!list || json_object_set_new(doc, "services", list) != 0)
		return -ENOMEM;
	return 0;
}

static json_t *services_view(const json_t *list)
{
	uint64_t bits = stored_bits(list, ucs_service_names);
	json_t *o = json_object();

	for (const struct ucs_name_bit *t = ucs_service_names; o && t->name; t++)
		if (json_object_set_new(o, t->name, json_boolean(bits & t->bit)) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* A rights object {"level","extra"} of a document: level and extra params
 * (either may be absent) laid over it. */
static int apply_rights(json_t *doc, const char *key, const json_t *level, const json_t *extra,
			const char *level_path, const char *extra_path, char *err, size_t cap)
{
	json_t *r;
	int lv = 0, rc;

	if (!level && !extra)
		return 0;
	r = sub_object(doc, key);
	if (!r)
		return -ENOMEM;
	if (level) {
		rc = level_of(level, level_path, &lv, err, cap);
		if (rc)
			return rc;
		if (set_str(r, "level", ucs_level_names[lv]))
			return -ENOMEM;
	}
	if (extra) {
		uint64_t bits;
		json_t *names;

		rc = names_bits(extra, ucs_right_names, "right", extra_path, &bits, err, cap);
		if (rc)
			return rc;
		names = bits_json(ucs_right_names, bits);
		if (!names || json_object_set_new(r, "extra", names) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* A stored list (a new reference), or an empty one. */
static json_t *names_or_empty(const json_t *list)
{
	return list ? json_incref((json_t *)list) : json_array();
}

/* ---- users ---- */

int adm_user_password(const json_t *params, const char **pw, char *err, size_t cap)
{
	json_t *v = json_object_get(params, "password");

	if (!v)
		return 0;
	if (!json_is_string(v) || !json_string_length(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    json_string_length(v) > PASSWORD_MAX)
		return fail(err, cap, "password: expected a string of 1-%d bytes without NUL",
			    PASSWORD_MAX);
	*pw = json_string_value(v);
	return 1;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int grant_merge(json_t *set, const char *id, int level, uint64_t extra, int keep_max)
{
	json_t *cur = json_object_get(set, id);
	json_t *g;

	if (cur && keep_max) {
		int old = (int)json_integer_value(json_object_get(cur, "level"));
		uint64_t bits = (uint64_t)json_integer_value(json_object_get(cur, "extra"));

		level = level > old ? level : old;
		extra |= bits;
	}
	g = json_pack("{s:I,s:I}", "level", (json_int_t)level, "extra", (json_int_t)extra);
	if (!g || json_object_set_new(set, id, g) != 0)
		return -ENOMEM;
	return 0;
}

/* rights params -> the document's grants (see adm_map.h). */
static int build_grants(json_t *doc, const json_t *rights, const struct adm_resolver *r, char *err,
			size_t cap)
{
	static const char *const allowed[] = {"user", "group", "level", "extra", NULL};
	const char *self = str_or(doc, "id", "");
	json_t *mine = json_object(), *fromg = json_object(), *grants = json_array(), *v;
	const char *id;
	char path[64];
	size_t i;
	int rc = -ENOMEM;

	if (!mine || !fromg || !grants)
		goto out;
	if (!json_is_array(rights)) {
		rc = fail(err, cap, "rights: expected an array, got %s", type_name(rights));
		goto out;
	}
	json_array_foreach(rights, i, v)
	{
		json_t *user = json_object_get(v, "user"), *group = json_object_get(v, "group");
		json_t *extra = json_object_get(v, "extra");
		uint64_t bits = 0;
		int level = 0;

		snprintf(path, sizeof(path), "rights[%zu]", i);
		if (!json_is_object(v)) {
			rc = fail(err, cap, "%s: expected an object, got %s", path, type_name(v));
			goto out;
		}
		rc = only(v, allowed, path, err, cap);
		if (rc)
			goto out;
		if (!user == !group) {
			rc = fail(err, cap, "%s: give either \"user\" or \"group\"", path);
			goto out;
		}
		if (!json_object_get(v, "level")) {
			rc = fail(err, cap, "%s.level: required", path);
			goto out;
		}
		snprintf(path, sizeof(path), "rights[%zu].level", i);
		rc = level_of(json_object_get(v, "level"), path, &level, err, cap);
		if (rc)
			goto out;
		snprintf(path, sizeof(path), "rights[%zu].extra", i);
		if (extra &&
		    (rc = names_bits(extra, ucs_right_names, "right", path, &bits, err, cap)))
			goto out;
		if (user) {
			const char *login = json_string_value(user);

			id = login && r->user_id ? r->user_id(r->arg, login) : NULL;
			if (!json_is_string(user) || !id) {
				rc = json_is_string(user)
					     ? fail(err, cap, "rights[%zu].user: no user \"%.64s\"",
						    i, login)
					     : fail(err, cap,
						    "rights[%zu].user: expected a login, got %s", i,
						    type_name(user));
				goto out;
			}
			if (strcmp(id, self) == 0) {
				rc = fail(err, cap,
					  "rights[%zu].user: a user cannot grant rights to herself",
					  i);
				goto out;
			}
			if (json_object_get(mine, id)) {
				rc = fail(err, cap, "rights[%zu].user: \"%.64s\" appears twice", i,
					  login);
				goto out;
			}
			rc = grant_merge(mine, id, level, bits, 0);
		} else {
			const char *name = json_string_value(group);
			const char *gid = name && r->group_id ? r->group_id(r->arg, name) : NULL;
			const char *const *members = NULL;
			size_t n = 0;

			if (!gid) {
				rc = json_is_string(group)
					     ? fail(err, cap,
						    "rights[%zu].group: no group \"%.64s\"", i,
						    name)
					     : fail(err, cap,
						    "rights[%zu].group: expected a group name, got %s",
						    i, type_name(group));
				goto out;
			}
			if (r->group_members)
				n = r->group_members(r->arg, gid, &members);
			rc = 0;
			for (size_t k = 0; k < n && !rc; k++)
				if (members[k] && strcmp(members[k], self) != 0)
					rc = grant_merge(fromg, members[k], level, bits, 1);
		}
		if (rc)
			goto out;
	}
	/* explicit entries win over what groups gave */
	json_object_foreach(fromg, id, v)
	{
		if (!json_object_get(mine, id) && json_object_set(mine, id, v) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	{
		/* sorted by grantee, so that one set of rights is one document */
		const char **keys = NULL;
		size_t n = json_object_size(mine), k = 0;

		keys = n ? calloc(n, sizeof(*keys)) : NULL;
		if (n && !keys) {
			rc = -ENOMEM;
			goto out;
		}
		json_object_foreach(mine, id, v)
		{
			keys[k++] = id;
		}
		if (n > 1)
			qsort(keys, n, sizeof(*keys), cmp_str);
		rc = 0;
		for (k = 0; k < n && !rc; k++) {
			json_t *g = json_object_get(mine, keys[k]);
			json_t *extra = bits_json(
				ucs_right_names,
				(uint64_t)json_integer_value(json_object_get(g, "extra")));
			json_t *o = extra ? json_pack("{s:s,s:s,s:o}", "user", keys[k], "level",
						      ucs_level_names[json_integer_value(
							      json_object_get(g, "level"))],
						      "extra", extra)
					  : NULL;

			if (!o || json_array_append_new(grants, o) != 0)
				rc = -ENOMEM;
		}
		free(keys);
		if (rc)
			goto out;
	}
	rc = json_object_set(doc, "grants", grants) ? -ENOMEM : 0;
out:
	json_decref(mine);
	json_decref(fromg);
	json_decref(grants);
	return rc;
}

/* groups params -> the ids of her groups (a new array). */
static int build_groups(const json_t *list, const struct adm_resolver *r, json_t **out, char *err,
			size_t cap)
{
	json_t *ids, *v;
	size_t i;

	*out = NULL;
	if (!json_is_array(list))
		return fail(err, cap, "groups: expected an array of group names, got %s",
			    type_name(list));
	ids = json_array();
	if (!ids)
		return -ENOMEM;
	json_array_foreach(list, i, v)
	{
		const char *name = json_string_value(v);
		const char *gid = name && r->group_id ? r->group_id(r->arg, name) : NULL;
		size_t k;
		json_t *x;
		int seen = 0;

		if (!gid) {
			json_decref(ids);
			return name ? fail(err, cap, "groups[%zu]: no group \"%.64s\"", i, name)
				    : fail(err, cap, "groups[%zu]: expected a group name, got %s",
					   i, type_name(v));
		}
		json_array_foreach(ids, k, x)
		{
			seen |= strcmp(json_string_value(x), gid) == 0;
		}
		if (!seen && json_array_append_new(ids, json_string(gid)) != 0) {
			json_decref(ids);
			return -ENOMEM;
		}
	}
	*out = ids;
	return 0;
}

int adm_user_doc(const json_t *params, const json_t *current, const struct adm_resolver *r,
		 json_t **doc, json_t **groups, char *err, size_t cap)
{
	static const char *const allowed[] = {"login",	   "password", "display_name", "first_name",
					      "last_name", "email",    "active",       "numbers",
					      "phones",	   "services", "rights",       "groups",
					      "profile",   NULL};
	static const char *const texts[] = {"display_name", "first_name", "last_name",
					    "email",	    "profile",	  NULL};
	static const char *const readonly[] = {"has_password", "contact_image", "profile_picture",
					       "groups", NULL};
	static const char *const active[] = {"active", NULL};
	static const char *const phone_names[] = {"first", "second", NULL};
	static const char *const phone_keys[] = {"first_phone", "second_phone"};
	json_t *d = NULL, *v;
	const char *login = NULL, *pw;
	int rc;

	*doc = NULL;
	*groups = NULL;
	rc = checked_params(params, allowed, "login", &login, err, cap);
	if (rc)
		return rc;
	rc = adm_user_password(params, &pw, err, cap);
	if (rc < 0)
		return rc;
	if (current) {
		d = json_deep_copy(current);
		if (!d)
			return -ENOMEM;
		for (size_t i = 0; readonly[i]; i++)
			json_object_del(d, readonly[i]);
	} else {
		rc = lower_case_doc("login", login, " (the user's id is her login in lower case)",
				    &d, err, cap);
		if (rc)
			return rc;
	}
	rc = lay_strings(d, params, "", texts, texts, 0, err, cap);
	if (!rc)
		rc = lay_bools(d, params, "", active, err, cap);
	if (!rc && (v = json_object_get(params, "numbers")))
		rc = lay_string_object(sub_object(d, "phones"), v, "numbers", adm_number_names,
				       adm_number_doc_keys, err, cap);
	if (!rc && (v = json_object_get(params, "phones")))
		rc = lay_string_object(d, v, "phones", phone_names, phone_keys, err, cap);
	if (rc)
		goto out;
	if ((v = json_object_get(params, "services")) &&
	    (rc = apply_services(d, v, "services", err, cap)))
		goto out;
	if ((v = json_object_get(params, "rights")) && (rc = build_grants(d, v, r, err, cap)))
		goto out;
	if ((v = json_object_get(params, "groups")) && (rc = build_groups(v, r, groups, err, cap)))
		goto out;
	*doc = d;
	d = NULL;
out:
	json_decref(d);
	return rc;
}

json_t *adm_user_view(const json_t *doc, json_t *numbers, const struct adm_resolver *r)
{
	json_t *o = NULL, *rights = NULL, *groups = NULL, *services = NULL, *v;
	const json_t *phones = json_object_get(doc, "phones");
	size_t i;

	if (!numbers) {
		numbers = json_object();
		for (i = 0; numbers && adm_number_names[i]; i++) {
			const char *e = str_or(phones, adm_number_doc_keys[i], "");

			if (json_object_set_new(numbers, adm_number_names[i],
						json_pack("{s:s,s:s,s:s}", "entered", e,
							  "canonical", "", "display", e)) != 0) {
				json_decref(numbers);
				numbers = NULL;
			}
		}
		if (!numbers)
			return NULL;
	}
	rights = json_array();
	groups = json_array();
	services = services_view(json_object_get(doc, "services"));
	if (!rights || !groups || !services)
		goto fail;
	json_array_foreach(json_object_get(doc, "grants"), i, v)
	{
		const char *id = str_or(v, "user", "");
		const char *login = r && r->user_login ? r->user_login(r->arg, id) : NULL;
		json_t *g = json_pack("{s:s,s:s,s:o}", "user", login ? login : id, "level",
				      str_or(v, "level", "blocked"), "extra",
				      names_or_empty(json_object_get(v, "extra")));

		if (!g || json_array_append_new(rights, g) != 0)
			goto fail;
	}
	json_array_foreach(json_object_get(doc, "groups"), i, v)
	{
		const char *id = json_string_value(v);
		const char *name = id && r && r->group_name ? r->group_name(r->arg, id) : NULL;

		if (id && json_array_append_new(groups, json_string(name ? name : id)) != 0)
			goto fail;
	}
	o = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:{s:s,s:s},s:o,s:o,s:o,s:b,s:b}", "id",
		str_or(doc, "id", ""), "login", str_or(doc, "login", ""), "display_name",
		str_or(doc, "display_name", ""), "first_name", str_or(doc, "first_name", ""),
		"last_name", str_or(doc, "last_name", ""), "email", str_or(doc, "email", ""),
		"profile", str_or(doc, "profile", ""), "identity", str_or(doc, "identity", ""),
		"active",
		json_object_get(doc, "active") ? json_is_true(json_object_get(doc, "active")) : 1,
		"numbers", numbers, "phones", "first", str_or(doc, "first_phone", ""), "second",
		str_or(doc, "second_phone", ""), "services", services, "rights", rights, "groups",
		groups, "has_password", json_is_true(json_object_get(doc, "has_password")),
		"directory", *str_or(doc, "dn", "") != 0);
	return o; /* json_pack's "o" stole the parts, also on failure */
fail:
	json_decref(numbers);
	json_decref(rights);
	json_decref(groups);
	json_decref(services);
	return NULL;
}

/* ---- groups ---- */

/* A login param (or "") -> a user id into *out (new string). */
static int login_to_id(const json_t *v, const char *path, const struct adm_resolver *r,
		       json_t **out, char *err, size_t cap)
{
	const char *login = json_string_value(v), *id;

	if (!json_is_string(v) && !json_is_null(v))
		return fail(err, cap, "%s: expected a login, got %s", path, type_name(v));
	if (!login || !*login) {
		*out = json_string("");
		return *out ? 0 : -ENOMEM;
	}
	id = r->user_id ? r->user_id(r->arg, login) : NULL;
	if (!id)
		return fail(err, cap, "%s: no user \"%.64s\"", path, login);
	*out = json_string(id);
	return *out ? 0 : -ENOMEM;
}

/* The part groups and profiles share: the params checked against allowed,
 * `name` required, and the document to edit - a copy of current (renamed
 * by new_name) or a new one with the id given or made from the name. 0
 * with *d (the caller's), or a negative errno with err. */
static int named_doc(const json_t *params, const char *const *allowed, const json_t *current,
		     const char *kind, const char **name, json_t **d, char *err, size_t cap)
{
	char id[ADM_ID_MAX + 1];
	const char *s;
	int rc;

	*d = NULL;
	rc = checked_params(params, allowed, "name", name, err, cap);
	if (rc)
		return rc;
	if (current) {
		if (json_object_get(params, "id"))
			return fail(err, cap, "id: cannot be changed");
		rc = opt_string(params, "new_name", "", 0, &s, err, cap);
		if (rc < 0)
			return rc;
		*d = json_deep_copy(current);
		if (!*d || (rc && set_str(*d, "name", s))) {
			json_decref(*d);
			*d = NULL;
			return -ENOMEM;
		}
		return 0;
	}
	if (json_object_get(params, "new_name"))
		return fail(err, cap, "new_name: only for %s.update", kind);
	rc = opt_string(params, "id", "", 0, &s, err, cap);
	if (rc < 0)
		return rc;
	if (rc) {
		if (!adm_id_valid(s))
			return fail(err, cap, "id: 1-%d of a-z 0-9 . _ @ -", ADM_ID_MAX);
		snprintf(id, sizeof(id), "%s", s);
	} else if (adm_id_from_name(*name, id, sizeof(id)) != 0) {
		return fail(err, cap, "name: gives no id: name the id in \"id\"");
	}
	*d = json_pack("{s:s,s:s}", "id", id, "name", *name);
	return *d ? 0 : -ENOMEM;
}

int adm_group_doc(const json_t *params, const json_t *current, const struct adm_resolver *r,
		  json_t **doc, char *err, size_t cap)
{
	static const char *const allowed[] = {
		"name",	 "id",	   "new_name",	   "members",	   "leader",   "deputy", "level",
		"extra", "active", "leader_level", "leader_extra", "services", NULL};
	static const char *const active[] = {"active", NULL};
	json_t *d = NULL, *v;
	const char *name = NULL;
	char path[48];
	int rc;

	*doc = NULL;
	rc = named_doc(params, allowed, current, "groups", &name, &d, err, cap);
	if (rc)
		return rc;
	rc = lay_bools(d, params, "", active, err, cap);
	if (rc)
		goto out;
	if ((v = json_object_get(params, "members"))) {
		json_t *ids = json_array(), *m, *x;
		size_t i, k;

		if (!ids) {
			rc = -ENOMEM;
			goto out;
		}
		if (!json_is_array(v))
			rc = fail(err, cap, "members: expected an array of logins, got %s",
				  type_name(v));
		json_array_foreach(v, i, m)
		{
			json_t *one = NULL;

			if (rc)
				break;
			snprintf(path, sizeof(path), "members[%zu]", i);
			rc = json_is_string(m) && *json_string_value(m)
				     ? login_to_id(m, path, r, &one, err, cap)
				     : fail(err, cap, "%s: expected a login", path);
			json_array_foreach(ids, k, x)
			{
				if (!rc &&
				    strcmp(json_string_value(x), json_string_value(one)) == 0)
					rc = fail(err, cap, "%s: \"%.64s\" appears twice", path,
						  json_string_value(m));
			}
			if (!rc && json_array_append(ids, one) != 0)
				rc = -ENOMEM;
			json_decref(one);
		}
		if (!rc && json_object_set(d, "members", ids) != 0)
			rc = -ENOMEM;
		json_decref(ids);
		if (rc)
			goto out;
	}
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "deputy" : "leader";
		json_t *one = NULL;

		if (!(v = json_object_get(params, key)))
			continue;
		rc = login_to_id(v, key, r, &one, err, cap);
		if (!rc && json_object_set_new(d, key, one) != 0)
			rc = -ENOMEM;
		if (rc)
			goto out;
	}
	rc = apply_rights(d, "member_rights", json_object_get(params, "level"),
			  json_object_get(params, "extra"), "level", "extra", err, cap);
	if (!rc)
		rc = apply_rights(d, "leader_rights", json_object_get(params, "leader_level"),
				  json_object_get(params, "leader_extra"), "leader_level",
				  "leader_extra", err, cap);
	if (!rc && (v = json_object_get(params, "services")))
		rc = apply_services(d, v, "services", err, cap);
	if (rc)
		goto out;
	*doc = d;
	d = NULL;
out:
	json_decref(d);
	return rc;
}

static json_t *logins_of(const json_t *ids, const struct adm_resolver *r)
{
	json_t *a = json_array(), *v;
	size_t i;

	json_array_foreach(ids, i, v)
	{
		const char *id = json_string_value(v);
		const char *login = id && r && r->user_login ? r->user_login(r->arg, id) : NULL;

		if (a && id && json_array_append_new(a, json_string(login ? login : id)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static const char *login_or(const char *id, const struct adm_resolver *r)
{
	const char *login = *id && r && r->user_login ? r->user_login(r->arg, id) : NULL;

	return login ? login : id;
}

json_t *adm_group_view(const json_t *doc, const struct adm_resolver *r)
{
	const json_t *mr = json_object_get(doc, "member_rights");
	const json_t *lr = json_object_get(doc, "leader_rights");
	json_t *members = logins_of(json_object_get(doc, "members"), r);
	json_t *services = services_view(json_object_get(doc, "services"));

	if (!members || !services) {
		json_decref(members);
		json_decref(services);
		return NULL;
	}
	return json_pack(
		"{s:s,s:s,s:b,s:o,s:s,s:s,s:s,s:o,s:s,s:o,s:o}", "id", str_or(doc, "id", ""),
		"name", str_or(doc, "name", ""), "active",
		json_object_get(doc, "active") ? json_is_true(json_object_get(doc, "active")) : 1,
		"members", members, "leader", login_or(str_or(doc, "leader", ""), r), "deputy",
		login_or(str_or(doc, "deputy", ""), r), "level", str_or(mr, "level", "blocked"),
		"extra", names_or_empty(json_object_get(mr, "extra")), "leader_level",
		str_or(lr, "level", "blocked"), "leader_extra",
		names_or_empty(json_object_get(lr, "extra")), "services", services);
}

json_t *adm_group_member(const json_t *doc, const char *user, int add, int *nomem)
{
	const json_t *members = json_object_get(doc, "members");
	json_t *d, *list, *v;
	size_t i;
	int at = -1;

	*nomem = 0;
	json_array_foreach(members, i, v)
	{
		if (at < 0 && json_is_string(v) && strcmp(json_string_value(v), user) == 0)
			at = (int)i;
	}
	if ((at >= 0) == !!add)
		return NULL; /* already so */
	d = json_deep_copy(doc);
	list = d ? json_object_get(d, "members") : NULL;
	if (d && !list) {
		list = json_array();
		if (!list || json_object_set_new(d, "members", list) != 0)
			list = NULL;
	}
	if (!list || (add ? json_array_append_new(list, json_string(user))
			  : json_array_remove(list, (size_t)at)) != 0) {
		json_decref(d);
		*nomem = 1;
		return NULL;
	}
	return d;
}

/* ---- computers and profiles ---- */

int adm_computer_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		     size_t cap)
{
	static const char *const allowed[] = {"name",  "first_phone",	  "second_phone",
					      "lines", "authorised_only", NULL};
	static const char *const texts[] = {"first_phone", "second_phone", NULL};
	static const char *const flags[] = {"authorised_only", NULL};
	const char *name = NULL;
	json_t *d = NULL, *v;
	int rc;

	*doc = NULL;
	rc = checked_params(params, allowed, "name", &name, err, cap);
	if (rc)
		return rc;
	if (current) {
		d = json_deep_copy(current);
		if (!d)
			return -ENOMEM;
	} else {
		/* the file store's rule: a computer's id is its name in lower case */
		rc = lower_case_doc("name", name, "", &d, err, cap);
		if (rc)
			return rc;
	}
	rc = lay_strings(d, params, "", texts, texts, 0, err, cap);
	if (rc)
		goto out;
	if ((v = json_object_get(params, "lines"))) {
		size_t i;
		json_t *x;

		if (!json_is_array(v)) {
			rc = fail(err, cap, "lines: expected an array of lines, got %s",
				  type_name(v));
			goto out;
		}
		json_array_foreach(v, i, x)
		{
			if (!json_is_string(x)) {
				rc = fail(err, cap, "lines[%zu]: expected a string, got %s", i,
					  type_name(x));
				goto out;
			}
		}
		if (json_object_set(d, "lines", v) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = lay_bools(d, params, "", flags, err, cap);
	if (rc)
		goto out;
	*doc = d;
	d = NULL;
out:
	json_decref(d);
	return rc;
}

int adm_profile_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		    size_t cap)
{
	static const char *const allowed[] = {"name",	     "id",	 "new_name",
					      "description", "settings", NULL};
	const char *name = NULL, *s;
	json_t *d = NULL, *v;
	int rc;

	*doc = NULL;
	rc = named_doc(params, allowed, current, "profiles", &name, &d, err, cap);
	if (rc)
		return rc;
	rc = opt_string(params, "description", "", 0, &s, err, cap);
	if (rc < 0)
		goto out;
	if (rc && set_str(d, "description", s)) {
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
	if ((v = json_object_get(params, "settings"))) {
		if (!json_is_object(v)) {
			rc = fail(err, cap, "settings: expected an object, got %s", type_name(v));
			goto out;
		}
		if (json_object_set(d, "settings", v) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	*doc = d;
	d = NULL;
out:
	json_decref(d);
	return rc;
}

/* ---- settings ---- */

static const char *const restriction_names[] = {"presence_off", "no_user_rights", "chat_off",
						"chat_no_history", NULL};
static const char *const settings_flags[] = {"journal_all", "journal_delete", "all_in_monitor",
					     "auto_line_binding", NULL};

int adm_settings_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		     size_t cap)
{
	static const char *const allowed[] = {"global_level",
					      "global_extra",
					      "monitor_level",
					      "monitor_extra",
					      "services",
					      "restrictions",
					      "journal_all",
					      "journal_delete",
					      "all_in_monitor",
					      "auto_line_binding",
					      NULL};
	json_t *d, *v;
	int rc;

	*doc = NULL;
	rc = checked_params(params, allowed, NULL, NULL, err, cap);
	if (rc)
		return rc;
	d = current ? json_deep_copy(current) : json_object();
	if (!d)
		return -ENOMEM;
	rc = apply_rights(d, "rights", json_object_get(params, "global_level"),
			  json_object_get(params, "global_extra"), "global_level", "global_extra",
			  err, cap);
	if (!rc)
		rc = apply_rights(d, "monitor_rights", json_object_get(params, "monitor_level"),
				  json_object_get(params, "monitor_extra"), "monitor_level",
				  "monitor_extra", err, cap);
	if (!rc && (v = json_object_get(params, "services")))
		rc = apply_services(d, v, "services", err, cap);
	if (!rc && (v = json_object_get(params, "restrictions"))) {
		json_t *r = sub_object(d, "restrictions");

		if (!json_is_object(v))
			rc = fail(err, cap, "restrictions: expected an object, got %s",
				  type_name(v));
		else if (!r)
			rc = -ENOMEM;
		else
			rc = only(v, restriction_names, "restrictions", err, cap);
		if (!rc)
			rc = lay_bools(r, v, "restrictions", restriction_names, err, cap);
	}
	if (!rc)
		rc = lay_bools(d, params, "", settings_flags, err, cap);
	if (rc) {
		json_decref(d);
		return rc;
	}
	*doc = d;
	return 0;
}

json_t *adm_settings_view(const json_t *doc)
{
	const json_t *gr = json_object_get(doc, "rights"),
		     *mr = json_object_get(doc, "monitor_rights");
	const json_t *res = json_object_get(doc, "restrictions");
	json_t *o, *r = json_object(), *services = services_view(json_object_get(doc, "services"));

	for (size_t i = 0; r && restriction_names[i]; i++)
		if (json_object_set_new(r, restriction_names[i],
					json_boolean(json_is_true(json_object_get(
						res, restriction_names[i])))) != 0) {
			json_decref(r);
			r = NULL;
		}
	o = r && services ? json_pack("{s:s,s:o,s:s,s:o,s:o,s:o}", "global_level",
				      str_or(gr, "level", "public"), "global_extra",
				      names_or_empty(json_object_get(gr, "extra")), "monitor_level",
				      str_or(mr, "level", "blocked"), "monitor_extra",
				      names_or_empty(json_object_get(mr, "extra")), "services",
				      services, "restrictions", r)
			  : NULL;
	if (!o) {
		if (!r || !services) {
			json_decref(r);
			json_decref(services);
		}
		return NULL;
	}
	for (size_t i = 0; settings_flags[i]; i++) {
		json_t *f = json_object_get(doc, settings_flags[i]);

		if (json_object_set_new(o, settings_flags[i],
					json_boolean(f ? json_is_true(f)
						       : strcmp(settings_flags[i],
								"auto_line_binding") == 0)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- store messages ---- */

struct rename {
	int kind; /* 0: every kind */
	const char *doc;
	const char *param;
};

static const struct rename renames[] = {
	{1, "phones.mailbox", "numbers.voicemail"},
	{1, "phones.", "numbers."},
	{1, "first_phone", "phones.first"},
	{1, "second_phone", "phones.second"},
	{1, "grants", "rights"},
	{2, "member_rights.level", "level"},
	{2, "member_rights.extra", "extra"},
	{2, "leader_rights.level", "leader_level"},
	{2, "leader_rights.extra", "leader_extra"},
	{5, "rights.level", "global_level"},
	{5, "rights.extra", "global_extra"},
	{5, "monitor_rights.level", "monitor_level"},
	{5, "monitor_rights.extra", "monitor_extra"},
	{0, NULL, NULL},
};

void adm_store_message(int kind, const char *msg, char *out, size_t cap)
{
	if (!msg)
		msg = "";
	for (const struct rename *r = renames; r->doc; r++) {
		size_t n = strlen(r->doc);

		if ((r->kind == 0 || r->kind == kind) && strncmp(msg, r->doc, n) == 0) {
			snprintf(out, cap, "%s%s", r->param, msg + n);
			return;
		}
	}
	snprintf(out, cap, "%s", msg);
}
