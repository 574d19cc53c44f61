/*
 * plugins/journal/jr_json.c - the journal entry as JSON (the row format of
 * docs/plugins/journal.md "Entry format"), the "journal.event" to_json, and
 * the reader of the same format for "journal.append".
 *
 * Every text member is bounded by its array (a payload or an entry is not
 * trusted to be terminated) and written as valid UTF-8; enums travel as
 * names so a client needs no table of numbers.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ucs_jsontext.h>
#include <ucs_names.h>

#include "jr_store.h"

static const char *const end_names[] = {"none",	      "cleared",   "picked_up",	  "deflected",
					"redirected", "forwarded", "transferred", "failed"};
#define N_ENDS (sizeof(end_names) / sizeof(end_names[0]))

static const char *const flag_names[] = {"forwarded",  "pickup",   "transferred",
					 "conference", "answered", "hidden"};
#define N_FLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

static const char *const op_names[] = {"", "created", "updated", "deleted"};

const char *jr_end_name(int ended_by)
{
	return ended_by >= 0 && (size_t)ended_by < N_ENDS ? end_names[ended_by] : "none";
}

const char *jr_op_name(int op)
{
	return op >= 1 && op <= 3 ? op_names[op] : "unknown";
}

#define STR(o, e, f)                                     \
	do {                                             \
		ucs_jout_put(o, ",\"" #f "\":");         \
		ucs_jout_str(o, (e)->f, sizeof((e)->f)); \
	} while (0)
#define BOOL(o, name, v) ucs_jout_put(o, ",\"%s\":%s", name, (v) ? "true" : "false")

int jr_entry_json_out(const struct jr_entry *e, struct ucs_jout *o)
{
	size_t start = o->len;
	bool first = true;

	ucs_jout_put(o, "{\"id\":");
	ucs_jout_str(o, e->id, sizeof(e->id));
	STR(o, e, user);
	STR(o, e, call);
	STR(o, e, line);
	ucs_jout_put(
		o, ",\"direction\":\"%s\"",
		ucs_enum_name(ucs_direction_names, UCS_NAMES_DIRECTIONS, e->direction)
			? ucs_enum_name(ucs_direction_names, UCS_NAMES_DIRECTIONS, e->direction)
			: "none");
	BOOL(o, "internal", e->internal);
	BOOL(o, "private", e->private_call);
	BOOL(o, "answered", e->answered);
	BOOL(o, "unanswered", e->unanswered);
	ucs_jout_put(o, ",\"ended_by\":\"%s\",\"flags\":[", jr_end_name(e->ended_by));
	for (size_t i = 0; i < N_FLAGS; i++)
		if (e->flags & (1u << i)) {
			ucs_jout_put(o, "%s\"%s\"", first ? "" : ",", flag_names[i]);
			first = false;
		}
	ucs_jout_put(o,
		     "],\"started_ms\":%lld,\"alerting_ms\":%lld,\"connected_ms\":%lld,"
		     "\"ended_ms\":%lld,\"ring_s\":%d,\"talk_s\":%d",
		     (long long)e->started_ms, (long long)e->alerting_ms,
		     (long long)e->connected_ms, (long long)e->ended_ms, (int)e->ring_s,
		     (int)e->talk_s);
	STR(o, e, own_number);
	STR(o, e, remote_number);
	STR(o, e, remote_display);
	STR(o, e, remote_name);
	STR(o, e, remote_user);
	STR(o, e, answered_user);
	STR(o, e, answered_number);
	STR(o, e, diverted_from);
	STR(o, e, project);
	STR(o, e, project_info);
	STR(o, e, note);
	BOOL(o, "read", e->read);
	BOOL(o, "offline", e->offline);
	ucs_jout_put(o, "}");
	return (int)(o->len - start);
}

int jr_entry_json(const struct jr_entry *e, char *buf, size_t cap)
{
	struct ucs_jout o = {buf, cap, 0};

	if (cap)
		buf[0] = '\0';
	return jr_entry_json_out(e, &o);
}

int jr_event_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_journal_event *ev = payload;
	struct ucs_jout o = {buf, cap, 0};
	const char *json;
	size_t jl;

	if (len < sizeof(*ev) || ev->size < sizeof(*ev) || ev->size > len ||
	    (size_t)ev->json_len > len - ev->size)
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	json = ucs_journal_event_json(ev);
	jl = strnlen(json, ev->json_len);
	ucs_jout_put(&o, "{\"op\":\"%s\",\"user\":", jr_op_name(ev->op));
	ucs_jout_str(&o, ev->user.text, sizeof(ev->user.text));
	ucs_jout_put(&o, ",\"entry\":");
	ucs_jout_str(&o, ev->entry.text, sizeof(ev->entry.text));
	ucs_jout_put(&o, ",\"offline\":%s,\"entry_json\":", ev->offline ? "true" : "false");
	/* the text came from jr_entry_json; a payload someone else built is
	 * checked to be one JSON value before it is passed on */
	{
		json_t *v = jl ? json_loadb(json, jl, 0, NULL) : NULL;

		if (v && json_is_object(v))
			ucs_jout_put(&o, "%.*s", (int)jl, json);
		else
			ucs_jout_put(&o, "null");
		json_decref(v);
	}
	ucs_jout_put(&o, "}");
	return (int)o.len;
}

/* ---- reading the row format ------------------------------------------------------------- */

static int set_err(char *err, size_t cap, const char *fmt, const char *key)
{
	if (cap)
		snprintf(err, cap, fmt, key);
	return -EINVAL;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

struct tfield {
	const char *name;
	size_t off, size;
};
#define TF(f)                                                                       \
	{                                                                           \
#f, offsetof(struct jr_entry, f), sizeof(((struct jr_entry *)0)->f) \
	}
static const struct tfield text_fields[] = {
	TF(id),
	TF(user),
	TF(call),
	TF(line),
	TF(own_number),
	TF(remote_number),
	TF(remote_display),
	TF(remote_name),
	TF(remote_user),
	TF(answered_user),
	TF(answered_number),
	TF(diverted_from),
	TF(project),
	TF(project_info),
	TF(note),
};
#undef TF

struct bfield {
	const char *name;
	size_t off;
};
#define BF(n, f)                                \
	{                                       \
		n, offsetof(struct jr_entry, f) \
	}
static const struct bfield bool_fields[] = {
	BF("internal", internal), BF("private", private_call),
	BF("answered", answered), BF("unanswered", unanswered),
	BF("read", read),	  BF("offline", offline),
};
#undef BF

static int read_member(const char *key, json_t *v, struct jr_entry *e, char *err, size_t errcap)
{
	char *base = (char *)e;

	for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
		const struct tfield *f = &text_fields[i];

		if (strcmp(key, f->name) != 0)
			continue;
		if (!json_is_string(v))
			return set_err(err, errcap, "%s: a string expected", key);
		if (json_string_length(v) >= f->size ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return set_err(err, errcap, "%s: too long or holds a NUL", key);
		memcpy(base + f->off, json_string_value(v), json_string_length(v) + 1);
		return 0;
	}
	for (size_t i = 0; i < sizeof(bool_fields) / sizeof(bool_fields[0]); i++) {
		if (strcmp(key, bool_fields[i].name) != 0)
			continue;
		if (!json_is_boolean(v))
			return set_err(err, errcap, "%s: true or false expected", key);
		*(int *)(base + bool_fields[i].off) = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "direction") == 0) {
		int d = json_is_string(v) ? name_index(ucs_direction_names, UCS_NAMES_DIRECTIONS,
						       json_string_value(v))
					  : -1;

		if (d < 0)
			return set_err(err, errcap, "%s: \"none\", \"incoming\" or \"outgoing\"",
				       key);
		e->direction = d;
		return 0;
	}
	if (strcmp(key, "ended_by") == 0) {
		int d = json_is_string(v) ? name_index(end_names, N_ENDS, json_string_value(v))
					  : -1;

		if (d < 0)
			return set_err(err, errcap, "%s: an unknown reason", key);
		e->ended_by = d;
		return 0;
	}
	if (strcmp(key, "flags") == 0) {
		size_t i;
		json_t *f;

		if (!json_is_array(v))
			return set_err(err, errcap, "%s: an array of names expected", key);
		e->flags = 0;
		json_array_foreach(v, i, f)
		{
			int b = json_is_string(f)
					? name_index(flag_names, N_FLAGS, json_string_value(f))
					: -1;

			if (b < 0)
				return set_err(err, errcap, "%s: an unknown flag", key);
			e->flags |= 1u << b;
		}
		return 0;
	}
	if (strcmp(key, "started_ms") == 0 || strcmp(key, "alerting_ms") == 0 ||
	    strcmp(key, "connected_ms") == 0 || strcmp(key, "ended_ms") == 0) {
		int64_t *p = key[0] == 's'   ? &e->started_ms
			     : key[0] == 'a' ? &e->alerting_ms
			     : key[0] == 'c' ? &e->connected_ms
					     : &e->ended_ms;

		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return set_err(err, errcap, "%s: a non-negative integer expected", key);
		*p = json_integer_value(v);
		return 0;
	}
	if (strcmp(key, "ring_s") == 0 || strcmp(key, "talk_s") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return set_err(err, errcap, "%s: a non-negative integer expected", key);
		*(key[0] == 'r' ? &e->ring_s : &e->talk_s) = (int32_t)json_integer_value(v);
		return 0;
	}
	return set_err(err, errcap, "%s: unknown member", key);
}

int jr_entry_from_json(const char *json, size_t len, struct jr_entry *e, char *err, size_t errcap)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	const char *key;
	json_t *v;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (errcap)
		err[0] = '\0';
	if (!root) {
		if (errcap)
			snprintf(err, errcap, "not JSON: %s (column %d)", je.text, je.column);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		rc = set_err(err, errcap, "%s", "an object expected");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		rc = read_member(key, v, e, err, errcap);
		if (rc)
			goto out;
	}
	if (!e->id[0] || !e->user[0])
		rc = set_err(err, errcap, "%s", "id and user are required");
out:
	json_decref(root);
	return rc;
}
