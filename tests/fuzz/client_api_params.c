/*
 * tests/fuzz/client_api_params.c - the params checks of journal.query,
 * journal.update, journal.delete and sms.send (plugins/client-api/
 * ca_params.c), which copy what a client sent into the fixed-size request
 * structs of ucs.journal and ucs.sms.
 *
 * Input: the first byte selects the method (mod 4: query, update, delete,
 * sms.send), the rest is the params as JSON text (anything that does not
 * load is skipped). Checked: an accepted request fits its struct (every
 * text NUL-terminated, within its bound, ranges kept, update changes
 * something), a refusal has a message and a NUL-terminated member, and
 * nothing reads or writes outside the structs (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

static void terminated(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void refused(const struct ca_bad *b)
{
	terminated(b->msg, sizeof(b->msg));
	terminated(b->member, sizeof(b->member));
	if (strncmp(b->msg, "params", 6) != 0)
		abort();
}

static void query(json_t *p)
{
	struct ucs_journal_query q;
	struct ca_bad b;
	char user[CA_USER_MAX + 1];

	if (ca_parse_journal_query(p, &q, user, sizeof(user), &b)) {
		refused(&b);
		return;
	}
	terminated(q.text, sizeof(q.text));
	terminated(user, sizeof(user));
	if (q.size != sizeof(q) || q.limit < 1 || q.limit > 10000 || q.since < 0 || q.until < 0 ||
	    (q.until && q.since > q.until) || (q.missed != 0 && q.missed != 1))
		abort();
	/* a text that came is the text that goes, never cut */
	if (json_is_string(json_object_get(p, "text")) &&
	    strcmp(json_string_value(json_object_get(p, "text")), q.text) != 0)
		abort();
}

static void update(json_t *p)
{
	struct ucs_journal_update u;
	struct ca_bad b;

	if (ca_parse_journal_update(p, &u, &b)) {
		refused(&b);
		return;
	}
	terminated(u.note, sizeof(u.note));
	terminated(u.entry.text, sizeof(u.entry.text));
	if (!u.set || (u.set & ~(UCS_JU_NOTE | UCS_JU_PRIVATE | UCS_JU_READ)) || !u.entry.text[0])
		abort();
	if ((u.set & UCS_JU_NOTE) &&
	    strcmp(json_string_value(json_object_get(p, "note")), u.note) != 0)
		abort();
	if (strcmp(json_string_value(json_object_get(p, "id")), u.entry.text) != 0)
		abort();
}

static void delete (json_t *p)
{
	char entry[UCS_ID_MAX];
	struct ca_bad b;

	if (ca_parse_journal_delete(p, entry, sizeof(entry), &b)) {
		refused(&b);
		return;
	}
	terminated(entry, sizeof(entry));
	if (!entry[0] || strcmp(json_string_value(json_object_get(p, "id")), entry) != 0)
		abort();
}

static void sms(json_t *p)
{
	const char *to = NULL, *text = NULL;
	struct ca_bad b;

	if (ca_parse_sms_send(p, &to, &text, &b)) {
		refused(&b);
		return;
	}
	if (!to || !text || !*to || !*text || strlen(to) > CA_SMS_TO_MAX ||
	    strlen(text) > CA_SMS_TEXT_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *p;

	if (size < 1)
		return 0;
	p = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!p)
		return 0;
	switch (data[0] % 4) {
	case 0:
		query(p);
		break;
	case 1:
		update(p);
		break;
	case 2:
		delete (p);
		break;
	default:
		sms(p);
		break;
	}
	json_decref(p);
	return 0;
}
