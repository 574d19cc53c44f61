/*
 * plugins/presence/pres_json.c - the JSON form of the presence bus types
 * (their to_json formatters) and the names of the presence enums.
 *
 * Payloads of the input types come from other plugins and are formatted
 * as they are: every text field is read only up to its array's end, bytes
 * that are not UTF-8 become U+FFFD, and an enum out of range is written as
 * its number, so a broken publisher still yields valid JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ucs_jsontext.h>
#include <ucs_names.h>

#include "pres.h"

#define NAME(table, i) \
	((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) ? table[i] : NULL)

const char *pres_state_name(int state)
{
	return NAME(ucs_state_names, state);
}

const char *pres_reason_name(int reason)
{
	return NAME(ucs_reason_names, reason);
}

const char *pres_line_state_name(int state)
{
	return NAME(ucs_line_state_names, state);
}

const char *pres_direction_name(int dir)
{
	return NAME(ucs_direction_names, dir);
}

const char *pres_calendar_name(int kind)
{
	return NAME(ucs_calendar_names, kind);
}

const char *pres_class_name(int cls)
{
	return NAME(ucs_class_names, cls);
}

int pres_state_from_name(const char *name)
{
	for (int i = 0; name && i < (int)(sizeof(ucs_state_names) / sizeof(ucs_state_names[0]));
	     i++)
		if (strcmp(ucs_state_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- a bounded writer with snprintf rules ----------------------------- */

struct jb {
	char *buf;
	size_t cap, len;
};

static void jb_raw(struct jb *j, const char *s, size_t n)
{
	if (j->len < j->cap) {
		size_t room = j->cap - j->len - 1;

		memcpy(j->buf + j->len, s, n < room ? n : room);
	}
	j->len += n;
}

static void UCS_PRINTF(2, 3) jb_printf(struct jb *j, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jb_raw(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void jb_emit(void *arg, const char *p, size_t n)
{
	jb_raw(arg, p, n);
}

/* A JSON string of the text in s (at most cap bytes, up to its NUL). */
static void jb_str(struct jb *j, const char *s, size_t cap)
{
	ucs_json_quote(s, strnlen(s, cap), jb_emit, j);
}

#define JB_FIELD(j, name, arr)                                   \
	do {                                                     \
		jb_raw((j), ",\"" name "\":", sizeof(name) + 3); \
		jb_str((j), (arr), sizeof(arr));                 \
	} while (0)

static void jb_enum(struct jb *j, const char *key, const char *name, int value)
{
	jb_printf(j, ",\"%s\":", key);
	if (name)
		jb_printf(j, "\"%s\"", name);
	else
		jb_printf(j, "%d", value);
}

static void jb_bool(struct jb *j, const char *key, int value)
{
	jb_printf(j, ",\"%s\":%s", key, value ? "true" : "false");
}

static int jb_end(struct jb *j)
{
	if (j->cap)
		j->buf[j->len < j->cap ? j->len : j->cap - 1] = 0;
	return j->len > INT32_MAX ? -EOVERFLOW : (int)j->len;
}

/* ---- presence and views ------------------------------------------------ */

static void presence_body(struct jb *j, const struct ucs_presence *p)
{
	jb_raw(j, "{\"user\":", 8);
	jb_str(j, p->user.text, sizeof(p->user.text));
	jb_enum(j, "state", pres_state_name(p->state), p->state);
	jb_enum(j, "reason", pres_reason_name(p->reason), p->reason);
	jb_enum(j, "manual", p->manual ? pres_state_name(p->manual) : "none", p->manual);
	jb_printf(j, ",\"since\":%" PRId64 ",\"seq\":%" PRIu64, p->since, p->seq);
	JB_FIELD(j, "note", p->note);
	jb_enum(j, "calendar", pres_calendar_name(p->calendar), p->calendar);
	jb_bool(j, "calendar_private", p->calendar_private);
	jb_printf(j, ",\"calendar_end\":%" PRId64, p->calendar_end);
	JB_FIELD(j, "subject", p->subject);
	JB_FIELD(j, "place", p->place);
	jb_bool(j, "av_busy", p->av_busy);
	JB_FIELD(j, "av_with", p->av_with.text);
	jb_raw(j, ",\"lines\":[", 10);
	for (uint32_t i = 0; i < p->n_lines && i < UCS_PRESENCE_LINES; i++) {
		const struct ucs_presence_line_view *l = &p->lines[i];

		jb_raw(j, i ? ",{\"line\":" : "{\"line\":", i ? 9 : 8);
		jb_str(j, l->line.text, sizeof(l->line.text));
		jb_enum(j, "class", pres_class_name(l->line_class), l->line_class);
		jb_enum(j, "state", pres_line_state_name(l->state), l->state);
		jb_enum(j, "direction", pres_direction_name(l->direction), l->direction);
		if (l->forwarding < 0)
			jb_raw(j, ",\"forwarding\":null", 18);
		else
			jb_bool(j, "forwarding", l->forwarding);
		jb_bool(j, "dnd", l->dnd);
		JB_FIELD(j, "number", l->number.text);
		JB_FIELD(j, "remote", l->remote.text);
		JB_FIELD(j, "remote_name", l->remote_name);
		JB_FIELD(j, "fwd_target", l->fwd_target.text);
		jb_raw(j, "}", 1);
	}
	jb_raw(j, "]}", 2);
}

int pres_json_presence(const void *payload, size_t len, char *buf, size_t cap)
{
	struct jb j = {buf, cap, 0};

	if (len != sizeof(struct ucs_presence))
		return -EINVAL;
	presence_body(&j, payload);
	return jb_end(&j);
}

int pres_json_view(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_presence_view *v = payload;
	struct jb j = {buf, cap, 0};
	char names[2048];
	int n, first = 1;

	if (len != sizeof(*v))
		return -EINVAL;
	jb_raw(&j, "{\"watcher\":", 11);
	jb_str(&j, v->watcher.text, sizeof(v->watcher.text));
	jb_printf(&j, ",\"rights\":\"0x%" PRIx64 "\",\"rights_names\":", v->rights);
	n = ucs_bits_to_json(ucs_right_names, v->rights, names, sizeof(names));
	if (n < 0 || (size_t)n >= sizeof(names))
		jb_raw(&j, "null", 4);
	else
		jb_raw(&j, names, (size_t)n);
	jb_raw(&j, ",\"contact_fields\":[", 19);
	for (int i = 0; i < UCS_CF_COUNT; i++)
		if (v->contact_fields & (1u << i)) {
			jb_printf(&j, "%s\"%s\"", first ? "" : ",", ucs_contact_field_names[i]);
			first = 0;
		}
	jb_raw(&j, "],\"presence\":", 13);
	presence_body(&j, &v->presence);
	jb_raw(&j, "}", 1);
	return jb_end(&j);
}

/* ---- inputs ----------------------------------------------------------- */

int pres_json_login(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_presence_login *in = payload;
	struct jb j = {buf, cap, 0};

	if (len != sizeof(*in))
		return -EINVAL;
	jb_raw(&j, "{\"user\":", 8);
	jb_str(&j, in->user.text, sizeof(in->user.text));
	JB_FIELD(&j, "session", in->session.text);
	jb_bool(&j, "logged_in", in->logged_in);
	jb_bool(&j, "idle", in->idle);
	jb_raw(&j, "}", 1);
	return jb_end(&j);
}

int pres_json_line(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_presence_line *in = payload;
	struct jb j = {buf, cap, 0};

	if (len != sizeof(*in))
		return -EINVAL;
	jb_raw(&j, "{\"line\":", 8);
	jb_str(&j, in->line.text, sizeof(in->line.text));
	JB_FIELD(&j, "internal", in->internal.text);
	JB_FIELD(&j, "canonical", in->canonical.text);
	jb_enum(&j, "state", pres_line_state_name(in->state), in->state);
	jb_enum(&j, "direction", pres_direction_name(in->direction), in->direction);
	jb_bool(&j, "forwarding", in->forwarding);
	jb_bool(&j, "dnd", in->dnd);
	JB_FIELD(&j, "remote", in->remote.text);
	JB_FIELD(&j, "remote_name", in->remote_name);
	JB_FIELD(&j, "fwd_target", in->fwd_target.text);
	jb_raw(&j, "}", 1);
	return jb_end(&j);
}

int pres_json_calendar(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_presence_calendar *in = payload;
	struct jb j = {buf, cap, 0};

	if (len != sizeof(*in))
		return -EINVAL;
	jb_raw(&j, "{\"user\":", 8);
	jb_str(&j, in->user.text, sizeof(in->user.text));
	jb_enum(&j, "kind", pres_calendar_name(in->kind), in->kind);
	jb_bool(&j, "private", in->private_);
	jb_printf(&j, ",\"start\":%" PRId64 ",\"end\":%" PRId64, in->start, in->end);
	JB_FIELD(&j, "subject", in->subject);
	JB_FIELD(&j, "place", in->place);
	jb_raw(&j, "}", 1);
	return jb_end(&j);
}

int pres_json_av(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_presence_av *in = payload;
	struct jb j = {buf, cap, 0};

	if (len != sizeof(*in))
		return -EINVAL;
	jb_raw(&j, "{\"user\":", 8);
	jb_str(&j, in->user.text, sizeof(in->user.text));
	jb_bool(&j, "busy", in->busy);
	JB_FIELD(&j, "with", in->with.text);
	jb_raw(&j, "}", 1);
	return jb_end(&j);
}
