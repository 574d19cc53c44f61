/*
 * plugins/client-api/ca_params.c - the params of journal.* and sms.send
 * turned into the services' request structs, without a session.
 *
 * These methods hand what a client sent to another plugin's service in a
 * fixed-size struct (struct ucs_journal_query, struct ucs_journal_update),
 * so every member is checked here for type, range and length before a byte
 * is copied: a text that does not fit is refused, never cut. The checks
 * live apart from the methods so the fuzz target (tests/fuzz/
 * client_api_params.c) runs exactly this code; the messages have the
 * wsrpc helpers' form ("params.NAME: why", data.member NAME).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ca.h"

static int bad(struct ca_bad *b, const char *member, const char *what)
{
	snprintf(b->member, sizeof(b->member), "%s", member ? member : "");
	if (member)
		snprintf(b->msg, sizeof(b->msg), "params.%s: %s", member, what);
	else
		snprintf(b->msg, sizeof(b->msg), "params: %s", what);
	return -EINVAL;
}

/* Members not in `allowed` are refused; params NULL is no member at all. */
static int only(json_t *params, const char *const *allowed, struct ca_bad *b)
{
	const char *key;
	json_t *v;

	if (!params)
		return 0;
	if (!json_is_object(params))
		return bad(b, NULL, "must be an object");
	json_object_foreach(params, key, v)
	{
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i]) {
			/* the member name is the client's: keep it printable and short */
			char name[48];
			size_t n = 0;

			for (const char *p = key; *p && n < sizeof(name) - 1; p++)
				name[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
			name[n] = '\0';
			return bad(b, name, "unknown member");
		}
	}
	return 0;
}

/* A string member of at most max bytes without NUL: 0 (*out set),
 * -ENOENT absent, -EINVAL. */
static int str(json_t *params, const char *name, size_t max, const char **out, struct ca_bad *b)
{
	json_t *v = params ? json_object_get(params, name) : NULL;
	char what[48];

	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return bad(b, name, "must be a string");
	if (json_string_length(v) > max) {
		snprintf(what, sizeof(what), "longer than %zu bytes", max);
		return bad(b, name, what);
	}
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(b, name, "holds a NUL character");
	*out = json_string_value(v);
	return 0;
}

static int integer(json_t *params, const char *name, int64_t min, int64_t max, int64_t *out,
		   struct ca_bad *b)
{
	json_t *v = params ? json_object_get(params, name) : NULL;
	char what[96];

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v))
		return bad(b, name, "must be an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(what, sizeof(what), "must be between %lld and %lld", (long long)min,
			 (long long)max);
		return bad(b, name, what);
	}
	*out = json_integer_value(v);
	return 0;
}

static int boolean(json_t *params, const char *name, int *out, struct ca_bad *b)
{
	json_t *v = params ? json_object_get(params, name) : NULL;

	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return bad(b, name, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

/* An entry id as the journal hands them out: printable ASCII, no blank. */
static int entry_id(json_t *params, const char *name, char *out, size_t cap, struct ca_bad *b)
{
	const char *v = NULL;
	int err = str(params, name, CA_ENTRY_ID_MAX, &v, b);

	if (err == -ENOENT)
		return bad(b, name, "missing");
	if (err)
		return err;
	if (!*v)
		return bad(b, name, "must not be empty");
	for (const char *p = v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return bad(b, name, "not an entry id");
	snprintf(out, cap, "%s", v);
	return 0;
}

int ca_parse_journal_query(json_t *params, struct ucs_journal_query *q, char *user, size_t ucap,
			   struct ca_bad *b)
{
	static const char *const allowed[] = {"since", "until", "limit", "missed",
					      "user",  "text",	NULL};
	const char *text = "", *who = "";
	int64_t since = 0, until = 0, limit = CA_JOURNAL_LIMIT;
	int missed = 0, err;

	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	user[0] = '\0';
	if ((err = only(params, allowed, b)) != 0)
		return err;
	if ((err = integer(params, "since", 0, INT64_MAX, &since, b)) == -EINVAL ||
	    (err = integer(params, "until", 0, INT64_MAX, &until, b)) == -EINVAL ||
	    (err = integer(params, "limit", 1, 10000, &limit, b)) == -EINVAL ||
	    (err = boolean(params, "missed", &missed, b)) == -EINVAL ||
	    (err = str(params, "user", CA_USER_MAX, &who, b)) == -EINVAL ||
	    (err = str(params, "text", sizeof(q->text) - 1, &text, b)) == -EINVAL)
		return -EINVAL;
	if (until && since > until)
		return bad(b, "until", "must not be before since");
	q->since = since;
	q->until = until;
	q->limit = (int32_t)limit;
	q->missed = missed;
	snprintf(q->text, sizeof(q->text), "%s", text);
	snprintf(user, ucap, "%s", who);
	return 0;
}

int ca_parse_journal_update(json_t *params, struct ucs_journal_update *u, struct ca_bad *b)
{
	static const char *const allowed[] = {"id", "note", "private", "read", NULL};
	const char *note = NULL;
	int priv = 0, read = 0, err;

	memset(u, 0, sizeof(*u));
	u->size = sizeof(*u);
	if ((err = only(params, allowed, b)) != 0 ||
	    (err = entry_id(params, "id", u->entry.text, sizeof(u->entry.text), b)) != 0)
		return err;
	err = str(params, "note", sizeof(u->note) - 1, &note, b);
	if (err == -EINVAL)
		return err;
	if (err == 0) {
		u->set |= UCS_JU_NOTE;
		snprintf(u->note, sizeof(u->note), "%s", note);
	}
	err = boolean(params, "private", &priv, b);
	if (err == -EINVAL)
		return err;
	if (err == 0) {
		u->set |= UCS_JU_PRIVATE;
		u->private_call = priv;
	}
	err = boolean(params, "read", &read, b);
	if (err == -EINVAL)
		return err;
	if (err == 0) {
		u->set |= UCS_JU_READ;
		u->read = read;
	}
	if (!u->set)
		return bad(b, NULL, "nothing to change: give note, private or read");
	return 0;
}

int ca_parse_journal_delete(json_t *params, char *entry, size_t cap, struct ca_bad *b)
{
	static const char *const allowed[] = {"id", NULL};
	int err = only(params, allowed, b);

	if (!err)
		err = entry_id(params, "id", entry, cap, b);
	return err;
}

/* A phone number as people type it: digits and the usual separators, at
 * least one digit; the SMS service normalises it through the dialplan. */
static bool number_ok(const char *s)
{
	bool digit = false;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (!strchr("+ -()/.", *s))
			return false;
	}
	return digit;
}

int ca_parse_sms_send(json_t *params, const char **to, const char **text, struct ca_bad *b)
{
	static const char *const allowed[] = {"to", "text", NULL};
	int err = only(params, allowed, b);

	if (err)
		return err;
	err = str(params, "to", CA_SMS_TO_MAX, to, b);
	if (err == -ENOENT)
		return bad(b, "to", "missing");
	if (err)
		return err;
	if (!number_ok(*to))
		return bad(b, "to", "not a phone number");
	err = str(params, "text", CA_SMS_TEXT_MAX, text, b);
	if (err == -ENOENT)
		return bad(b, "text", "missing");
	if (err)
		return err;
	if (!**text)
		return bad(b, "text", "must not be empty");
	return 0;
}
