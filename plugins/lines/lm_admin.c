/*
 * plugins/lines/lm_admin.c - what the administration sees and does: the
 * plugin's status counters (status.get) and the "lines.admin" request the
 * admin protocol's lines.list / lines.get / lines.retry use.
 *
 * "lines.admin" carries one command as text - "list", "get ID" or
 * "retry ID" - and is answered with "lines.admin.result", JSON text:
 * {"lines":[LINE,...]} for list, LINE with "calls":[CALL,...] for get,
 * {"id":ID,"queued":true} for retry (the outcome arrives as the line's
 * status). Status: 0, -ENOENT (no such line), -EINVAL (no such command),
 * -ENOTSUP (the driver cannot open lines again). LINE is
 * {"id","driver","group","status","reason","used","caps":[names],
 * "internal","number","display","name","location","trunk","private",
 * "journal","dnd","forwarding":{"immediate"|"busy"|"noanswer":number},
 * "remote_office","calls","last_error","last_error_ms"}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static void line_json(struct ucs_jout *o, const struct lm_line *l, bool with_calls)
{
	const struct ucs_line_info *in = &l->info;
	bool first = true;

	ucs_jout_put(o, "{\"id\":");
	ucs_jout_str(o, in->id.text, sizeof(in->id.text));
	ucs_jout_put(o, ",\"driver\":");
	ucs_jout_str(o, l->group->drv->name, sizeof(l->group->drv->name));
	ucs_jout_put(o, ",\"group\":");
	ucs_jout_str(o, in->group, sizeof(in->group));
	ucs_jout_put(o, ",\"status\":\"%s\",\"reason\":", lm_status_name(in->status));
	ucs_jout_str(o, in->reason, sizeof(in->reason));
	ucs_jout_put(o, ",\"used\":%s,\"caps\":", l->used ? "true" : "false");
	lm_out_caps(o, in->caps);
	ucs_jout_put(o, ",\"internal\":");
	ucs_jout_str(o, in->internal.text, sizeof(in->internal.text));
	ucs_jout_put(o, ",\"number\":");
	ucs_jout_str(o, in->number.canonical.text, sizeof(in->number.canonical.text));
	ucs_jout_put(o, ",\"display\":");
	ucs_jout_str(o, in->number.display, sizeof(in->number.display));
	ucs_jout_put(o, ",\"name\":");
	ucs_jout_str(o, in->name, sizeof(in->name));
	ucs_jout_put(o, ",\"location\":");
	ucs_jout_str(o, in->location, sizeof(in->location));
	ucs_jout_put(o, ",\"trunk\":%s,\"private\":%s,\"journal\":%s,\"dnd\":%s,\"forwarding\":{",
		     in->trunk ? "true" : "false", in->private_line ? "true" : "false",
		     l->journal ? "true" : "false", in->dnd ? "true" : "false");
	for (int i = 0; i < UCS_FWD_MODES; i++)
		if (in->fwd_on[i]) {
			ucs_jout_put(o, "%s\"%s\":", first ? "" : ",", lm_fwd_name(i));
			ucs_jout_str(o, in->fwd_to[i].canonical.text,
				     sizeof(in->fwd_to[i].canonical.text));
			first = false;
		}
	ucs_jout_put(o, "},\"remote_office\":");
	if (l->ro_on)
		ucs_jout_str(o, l->ro_number, sizeof(l->ro_number));
	else
		ucs_jout_put(o, "null");
	if (with_calls) {
		ucs_jout_put(o, ",\"calls\":[");
		for (const struct lm_call *c = l->calls; c; c = c->next) {
			int n;

			/* straight into o: a call's JSON has no fixed size (escapes) */
			ucs_jout_put(o, "%s", c == l->calls ? "" : ",");
			n = lm_json_call_info(&c->ci, sizeof(c->ci),
					      o->len < o->cap ? o->buf + o->len : NULL,
					      o->len < o->cap ? o->cap - o->len : 0);
			if (n > 0)
				o->len += (size_t)n;
		}
		ucs_jout_put(o, "]");
	} else {
		ucs_jout_put(o, ",\"calls\":%zu", l->n_calls);
	}
	ucs_jout_put(o, ",\"last_error\":");
	ucs_jout_str(o, l->last_error, sizeof(l->last_error));
	ucs_jout_put(o, ",\"last_error_ms\":%lld}", (long long)l->last_error_ms);
}

int lm_admin_status(struct lm *m, char *buf, size_t cap)
{
	struct ucs_jout o = {buf, cap, 0};
	size_t by[UCS_LS_REMOVED + 1] = {0}, unused = 0, calls = 0;

	if (cap)
		buf[0] = '\0';
	for (const struct lm_line *l = m->lines; l; l = l->next) {
		if (!l->used) {
			unused++;
			continue;
		}
		if (l->info.status >= 0 && l->info.status <= UCS_LS_REMOVED)
			by[l->info.status]++;
		calls += l->n_calls;
	}
	ucs_jout_put(&o, "{\"lines\":%zu,\"unused\":%zu,\"by_status\":{", m->n_lines, unused);
	for (int i = 0; i < UCS_LS_REMOVED; i++)
		ucs_jout_put(&o, "%s\"%s\":%zu", i ? "," : "", lm_status_name(i), by[i]);
	ucs_jout_put(&o,
		     "},\"calls\":%zu,\"requests_in_flight\":%zu,\"requests\":%llu,"
		     "\"requests_failed\":%llu,\"timeouts\":%llu,\"events\":%llu,"
		     "\"redirects\":%llu,\"open_retries\":%llu,\"drivers\":[",
		     calls, m->n_reqs, (unsigned long long)m->stats.requests,
		     (unsigned long long)m->stats.requests_failed,
		     (unsigned long long)m->stats.timeouts, (unsigned long long)m->stats.events,
		     (unsigned long long)m->stats.redirects,
		     (unsigned long long)m->stats.open_retries);
	for (const struct lm_driver *d = m->drivers; d; d = d->next) {
		ucs_jout_put(&o, "%s", d == m->drivers ? "" : ",");
		ucs_jout_str(&o, d->name, sizeof(d->name));
	}
	ucs_jout_put(&o, "],\"last_errors\":[");
	/* newest first */
	for (size_t k = 0; k < m->n_last_errors; k++) {
		size_t i = (m->next_last_error + LM_LAST_ERRORS - 1 - k) % LM_LAST_ERRORS;

		ucs_jout_put(&o, "%s{\"line\":", k ? "," : "");
		ucs_jout_str(&o, m->last_errors[i].line, sizeof(m->last_errors[i].line));
		ucs_jout_put(&o, ",\"error\":");
		ucs_jout_str(&o, m->last_errors[i].text, sizeof(m->last_errors[i].text));
		ucs_jout_put(&o, ",\"at_ms\":%lld}", (long long)m->last_errors[i].at_ms);
	}
	ucs_jout_put(&o, "]}");
	return (int)o.len;
}

/* Runs one command into o: 0 or a negative errno (o then holds the why). */
static int command(struct lm *m, const char *cmd, size_t len, struct ucs_jout *o)
{
	char arg[UCS_ID_MAX];
	struct lm_line *l;
	int verb = lm_admin_parse(cmd, len, arg, sizeof(arg));

	if (verb == LM_ADMIN_MALFORMED) {
		ucs_jout_put(o, "{\"error\":\"malformed command\"}");
		return -EINVAL;
	}
	if (verb == LM_ADMIN_LIST) {
		ucs_jout_put(o, "{\"lines\":[");
		for (const struct lm_line *p = m->lines; p; p = p->next) {
			ucs_jout_put(o, "%s", p == m->lines ? "" : ",");
			line_json(o, p, false);
		}
		ucs_jout_put(o, "]}");
		return 0;
	}
	if (verb != LM_ADMIN_GET && verb != LM_ADMIN_RETRY) {
		ucs_jout_put(o, "{\"error\":\"unknown command\"}");
		return -EINVAL;
	}
	l = lm_line_find(m, arg);
	if (!l) {
		ucs_jout_put(o, "{\"error\":\"no such line\"}");
		return -ENOENT;
	}
	if (verb == LM_ADMIN_GET) {
		line_json(o, l, true);
		return 0;
	}
	if (!l->group->drv->ops->open || !l->used) {
		ucs_jout_put(o, "{\"error\":\"%s\"}",
			     l->used ? "the driver cannot open lines again"
				     : "the line is not used");
		return -ENOTSUP;
	}
	LM_LOG(m, UCS_LOG_INFO, "line %s: open again on the administration's request", arg);
	lm_open_queue(m, l);
	ucs_jout_put(o, "{\"id\":");
	ucs_jout_str(o, l->info.id.text, sizeof(l->info.id.text));
	ucs_jout_put(o, ",\"queued\":true}");
	return 0;
}

void lm_admin_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct lm *m = arg;
	size_t len = 0;
	const char *cmd = m->host->bus->msg_payload(msg, &len);
	struct ucs_jout o = {NULL, 0, 0};
	struct ucs_msg *reply = NULL;
	int status;

	/* list and get may run twice to size the buffer; retry's answer
	 * always fits the first one */
	o.cap = 4096 + m->n_lines * 1024;
	for (int tries = 0; tries < 2; tries++) {
		char *b = realloc(o.buf, o.cap);

		if (!b) {
			free(o.buf);
			m->host->bus->reply(req, -ENOMEM, NULL);
			return;
		}
		o.buf = b;
		o.len = 0;
		status = command(m, cmd ? cmd : "", cmd ? len : 0, &o);
		if (o.len < o.cap)
			break;
		o.cap = o.len + 1;
	}
	if (m->host->bus->msg_new(m->t_admin_result, NULL, o.buf, o.len, &reply))
		reply = NULL;
	free(o.buf);
	m->host->bus->reply(req, status, reply);
}
