/*
 * plugins/lines/lm_json.c - the JSON form of the line manager's bus types
 * (their to_json slots), which client protocol bridges and the svcprobe
 * show: snprintf rules, every text field bounded by its array (a payload is
 * not trusted to be terminated) and written as valid UTF-8.
 *
 * Field names: "line.status" {id, status, status_name, caps, dnd, number,
 * display, internal, name, group, location, reason, private, trunk, journal, fwd,
 * fwd_to}; "call.state" {call, line, event, event_name, state, state_name,
 * direction, remote, remote_display, remote_name, internal, private,
 * started_ms, connected_ms, diverted_from, project, cause, alerting_ms,
 * ended_ms, ended_by, ended_by_name, flags, flag_names, answered_line,
 * answered_by, answered_by_display, project_info};
 * "call.control" {op, mode, on, actor, line, call, other_call, target_line,
 * target_user, number, project, digits}; "call.control.result" {status,
 * call, reason}. Numbers are the canonical forms.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ucs_jsontext.h>

#include "lm.h"

void lm_out_caps(struct ucs_jout *o, uint64_t caps)
{
	bool first = true;

	ucs_jout_put(o, "[");
	for (int i = 0; i < LM_N_CAPS; i++)
		if (caps & (1ull << i)) {
			ucs_jout_put(o, "%s\"%s\"", first ? "" : ",", lm_cap_names[i]);
			first = false;
		}
	ucs_jout_put(o, "]");
}

#define STR(o, key, field)                                 \
	do {                                               \
		ucs_jout_put((o), ",\"%s\":", (key));      \
		ucs_jout_str((o), (field), sizeof(field)); \
	} while (0)

static int finish(struct ucs_jout *o)
{
	if (o->cap && o->len >= o->cap)
		o->buf[o->cap - 1] = '\0';
	return (int)o->len;
}

int lm_json_line_info(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_line_info *li = payload;
	struct ucs_jout o = {buf, cap, 0};

	if (!li || len < sizeof(*li))
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	ucs_jout_put(&o, "{\"id\":");
	ucs_jout_str(&o, li->id.text, sizeof(li->id.text));
	ucs_jout_put(&o, ",\"status\":%d,\"status_name\":\"%s\",\"caps\":%llu,\"dnd\":%d",
		     li->status, lm_status_name(li->status), (unsigned long long)li->caps,
		     li->dnd != 0);
	STR(&o, "number", li->number.canonical.text);
	STR(&o, "display", li->number.display);
	STR(&o, "internal", li->internal.text);
	STR(&o, "name", li->name);
	STR(&o, "group", li->group);
	STR(&o, "location", li->location);
	STR(&o, "reason", li->reason);
	ucs_jout_put(&o,
		     ",\"private\":%d,\"trunk\":%d,\"journal\":%d,\"fwd\":[%d,%d,%d],\"fwd_to\":[",
		     li->private_line != 0, li->trunk != 0, li->journal != 0, li->fwd_on[0] != 0,
		     li->fwd_on[1] != 0, li->fwd_on[2] != 0);
	for (int i = 0; i < UCS_FWD_MODES; i++) {
		ucs_jout_put(&o, i ? "," : "");
		ucs_jout_str(&o, li->fwd_to[i].canonical.text,
			     sizeof(li->fwd_to[i].canonical.text));
	}
	ucs_jout_put(&o, "]}");
	return finish(&o);
}

int lm_json_call_info(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_call_info *ci = payload;
	struct ucs_jout o = {buf, cap, 0};

	if (!ci || len < sizeof(*ci))
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	ucs_jout_put(&o, "{\"call\":");
	ucs_jout_str(&o, ci->call.text, sizeof(ci->call.text));
	STR(&o, "line", ci->line.text);
	ucs_jout_put(&o,
		     ",\"event\":%d,\"event_name\":\"%s\",\"state\":%d,\"state_name\":\"%s\","
		     "\"direction\":%d",
		     ci->event, lm_event_name(ci->event), ci->state, lm_state_name(ci->state),
		     ci->direction);
	STR(&o, "remote", ci->remote.canonical.text);
	STR(&o, "remote_display", ci->remote.display);
	STR(&o, "remote_name", ci->remote_name);
	ucs_jout_put(&o,
		     ",\"internal\":%d,\"private\":%d,\"started_ms\":%lld,\"connected_ms\":%lld",
		     ci->internal != 0, ci->private_call != 0, (long long)ci->started_ms,
		     (long long)ci->connected_ms);
	STR(&o, "diverted_from", ci->diverted_from.canonical.text);
	STR(&o, "project", ci->project);
	STR(&o, "cause", ci->cause);
	/* ABI 1.2: the end of the line's part and how the call reached it */
	ucs_jout_put(&o,
		     ",\"alerting_ms\":%lld,\"ended_ms\":%lld,\"ended_by\":%d,"
		     "\"ended_by_name\":\"%s\",\"flags\":%u,\"flag_names\":[",
		     (long long)ci->alerting_ms, (long long)ci->ended_ms, ci->ended_by,
		     lm_end_name(ci->ended_by), ci->flags);
	for (int i = 0, first = 1; i < LM_N_CALLF; i++)
		if (ci->flags & (1u << i)) {
			ucs_jout_put(&o, "%s\"%s\"", first ? "" : ",", lm_callf_names[i]);
			first = 0;
		}
	ucs_jout_put(&o, "]");
	STR(&o, "answered_line", ci->answered_line.text);
	STR(&o, "answered_by", ci->answered_by.canonical.text);
	STR(&o, "answered_by_display", ci->answered_by.display);
	STR(&o, "project_info", ci->project_info);
	ucs_jout_put(&o, "}");
	return finish(&o);
}

int lm_json_call_control(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_call_control *q = payload;
	struct ucs_jout o = {buf, cap, 0};

	if (!q || len < sizeof(*q))
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	ucs_jout_put(&o, "{\"op\":\"%s\",\"mode\":%d,\"on\":%d", lm_op_name(q->op), q->mode,
		     q->on != 0);
	STR(&o, "actor", q->actor.text);
	STR(&o, "line", q->line.text);
	STR(&o, "call", q->call.text);
	STR(&o, "other_call", q->other_call.text);
	STR(&o, "target_line", q->target_line.text);
	STR(&o, "target_user", q->target_user.text);
	STR(&o, "number", q->number);
	STR(&o, "project", q->project);
	STR(&o, "digits", q->digits);
	ucs_jout_put(&o, "}");
	return finish(&o);
}

int lm_json_call_result(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_call_control_result *r = payload;
	struct ucs_jout o = {buf, cap, 0};

	if (!r || len < sizeof(*r))
		return -EINVAL;
	if (cap)
		buf[0] = '\0';
	ucs_jout_put(&o, "{\"status\":%d", r->status);
	STR(&o, "call", r->call.text);
	STR(&o, "reason", r->reason);
	ucs_jout_put(&o, "}");
	return finish(&o);
}

/* The administration's payloads are JSON text already (not terminated). */
int lm_json_text(const void *payload, size_t len, char *buf, size_t cap)
{
	if (!payload)
		return -EINVAL;
	if (cap) {
		size_t k = len < cap - 1 ? len : cap - 1;

		memcpy(buf, payload, k);
		buf[k] = '\0';
	}
	return (int)len;
}
