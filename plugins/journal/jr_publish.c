/*
 * plugins/journal/jr_publish.c - what the journal tells the others:
 * "journal.event" (an entry created, updated or deleted; key "user:<id>")
 * and the JSON form of "journal.call" (a finished call with its parts in
 * ringing order, abi/ucs/journal.h).
 *
 * jr_call_to_json reads a payload another plugin may hand around: every
 * size is checked against the length and every text field is bounded by
 * its array, so a short or unterminated payload gives -EINVAL or truncated
 * text, never a read past the message.
 *
 * "journal.call" JSON: {"call", "internal", "answered", "hidden",
 * "contact_found", "started_ms", "ended_ms", "remote", "remote_display",
 * "remote_name", "remote_user", "answered_user", "answered_by",
 * "answered_by_display", "parts": [{"user", "line", "entry", "direction",
 * "rang", "answered", "unanswered", "ended_by", "flags", "private",
 * "alerting_ms", "connected_ms", "ended_ms"}, ...]}; numbers canonical.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs_jsontext.h>

#include "jr_track.h"

/* "key":"text", text bounded by its array */
static void out_str(struct ucs_jout *o, const char *key, const char *s, size_t max)
{
	ucs_jout_put(o, ",\"%s\":", key);
	ucs_jout_str(o, s, max);
}

#define STR(o, key, field) out_str((o), (key), (field), sizeof(field))

int jr_call_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_journal_call *c = payload;
	struct ucs_jout o = {.buf = buf, .cap = cap};

	if (!c || len < sizeof(*c) || c->size < sizeof(*c) || c->size > len ||
	    c->part_size < sizeof(struct ucs_journal_part) || c->n_parts > JR_LEGS_MAX ||
	    (len - c->size) / c->part_size < c->n_parts)
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	ucs_jout_put(&o, "{\"internal\":%d,\"answered\":%d,\"hidden\":%d,\"contact_found\":%d",
		     c->internal != 0, c->answered != 0, c->hidden != 0, c->contact_found != 0);
	ucs_jout_put(&o, ",\"started_ms\":%lld,\"ended_ms\":%lld", (long long)c->started_ms,
		     (long long)c->ended_ms);
	STR(&o, "call", c->call.text);
	STR(&o, "remote", c->remote.canonical.text);
	STR(&o, "remote_display", c->remote.display);
	STR(&o, "remote_name", c->remote_name);
	STR(&o, "remote_user", c->remote_user.text);
	STR(&o, "answered_user", c->answered_user.text);
	STR(&o, "answered_by", c->answered_by.canonical.text);
	STR(&o, "answered_by_display", c->answered_by.display);
	ucs_jout_put(&o, ",\"parts\":[");
	for (uint32_t i = 0; i < c->n_parts; i++) {
		const struct ucs_journal_part *p = ucs_journal_call_part(c, i);

		ucs_jout_put(&o,
			     "%s{\"direction\":%d,\"rang\":%d,\"answered\":%d,\"unanswered\":%d,"
			     "\"ended_by\":%d,\"flags\":%u,\"private\":%d,\"alerting_ms\":%lld,"
			     "\"connected_ms\":%lld,\"ended_ms\":%lld",
			     i ? "," : "", (int)p->direction, p->rang != 0, p->answered != 0,
			     p->unanswered != 0, (int)p->ended_by, (unsigned)p->flags,
			     p->private_call != 0, (long long)p->alerting_ms,
			     (long long)p->connected_ms, (long long)p->ended_ms);
		STR(&o, "user", p->user.text);
		STR(&o, "line", p->line.text);
		STR(&o, "entry", p->entry.text);
		ucs_jout_put(&o, "}");
	}
	ucs_jout_put(&o, "]}");
	if (o.len > INT32_MAX)
		return -EOVERFLOW;
	return (int)o.len;
}

int jr_publish_event(struct jr *j, int op, const char *user, const char *entry, int offline,
		     const char *json)
{
	const struct ucs_bus_api *bus = j->host->bus;
	size_t jlen = json ? strlen(json) : 0;
	size_t len = sizeof(struct ucs_journal_event) + jlen + 1;
	struct ucs_journal_event *ev;
	struct ucs_msg *msg = NULL;
	char key[8 + UCS_ID_MAX];
	int err;

	if (!j->event_type)
		return -ENOENT;
	if (jlen > UINT32_MAX - 1)
		return -EINVAL;
	ev = calloc(1, len);
	if (!ev)
		return -ENOMEM;
	ev->size = sizeof(*ev);
	ev->op = op;
	ev->offline = offline != 0;
	ev->json_len = (uint32_t)jlen;
	snprintf(ev->user.text, sizeof(ev->user.text), "%s", user ? user : "");
	snprintf(ev->entry.text, sizeof(ev->entry.text), "%s", entry ? entry : "");
	if (jlen)
		memcpy((char *)ev + ev->size, json, jlen);
	snprintf(key, sizeof(key), "user:%s", ev->user.text);
	err = bus->msg_new(j->event_type, key, ev, len, &msg);
	free(ev);
	if (err)
		return err;
	return bus->publish(j->self, msg);
}
