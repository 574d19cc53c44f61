/*
 * tests/plugins/svcprobe_sms.c - svcprobe commands for the sms plugin
 * (issue 7): the ucs.sms service as a client plugin uses it.
 *
 *   sms.send JSON            {"user","to","text","origin"} -> when done:
 *                            "ok {"reply":..,"ms":..}" or
 *                            "err ENAME {"reply":..,"ms":..,"sync":bool}"
 *                            (sync: send() refused it, done never ran);
 *                            a done() with -ESHUTDOWN (the sms plugin
 *                            stops) tries send() once more from inside
 *                            done and adds "resend": its ENAME or "ok"
 *   sms.cancel MS WAIT JSON  sends, cancels after MS ms, answers WAIT ms
 *                            later "ok done_calls=N cancelled=0|1"
 *   sms.status               "ok JSON" of the service's status()
 *
 * Calls not answered yet stay on a list: svcprobe_sms_stop() cancels
 * them (svcprobe's stop is to call it, so that no done() of the sms
 * plugin reaches a probe that stopped first).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "svcprobe.h"

struct sms_call {
	struct sms_call *prev, *next; /* on the pending list */
	struct svcprobe *p;
	struct svcprobe_client *c;
	struct ucs_sms_op *op;
	uint64_t t0;
	int done_calls;
	int cancelled;
	int cancel_mode; /* sms.cancel: done only counts */
	int resend;	 /* done(-ESHUTDOWN): send()'s answer then, 1 when not tried */
	json_t *doc;	 /* owns the strings of sms */
	struct ucs_sms sms;
};

static const struct ucs_sms_api *sms_api(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_sms_api *api = svcprobe_service(p, UCS_SMS_SERVICE);

	if (!api)
		svcprobe_reply_err(c, -ENOENT, "no ucs.sms service");
	return api;
}

static struct sms_call *pending;

static struct sms_call *call_new(void)
{
	struct sms_call *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->resend = 1;
	x->next = pending;
	if (pending)
		pending->prev = x;
	pending = x;
	return x;
}

static void call_free(struct sms_call *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		pending = x->next;
	if (x->next)
		x->next->prev = x->prev;
	json_decref(x->doc);
	free(x);
}

static const char *ename(int err)
{
	const char *n = strerrorname_np(-err);

	return n ? n : "E?";
}

static void reply_result(struct sms_call *x, int status, const char *reply, int sync)
{
	uint64_t ms = svcprobe_host(x->p)->timer->now_ms() - x->t0;
	json_t *o = json_pack("{s:s, s:I, s:b}", "reply", reply ? reply : "", "ms", (json_int_t)ms,
			      "sync", sync);
	char *text;

	if (!o) /* jansson takes UTF-8 only: the reply was not */
		o = json_pack("{s:s, s:I, s:b}", "error", "the reply is not valid UTF-8", "ms",
			      (json_int_t)ms, "sync", sync);
	if (o && x->resend != 1)
		json_object_set_new(o, "resend", json_string(x->resend ? ename(x->resend) : "ok"));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (status == 0)
		svcprobe_reply(x->c, "ok %s", text ? text : "{}");
	else
		svcprobe_reply(x->c, "err %s %s", ename(status), text ? text : "{}");
	free(text);
	json_decref(o);
}

static void ignore_done(int status, const char *reply, void *arg)
{
	(void)status;
	(void)reply;
	(void)arg;
}

static void on_done(int status, const char *reply, void *arg)
{
	struct sms_call *x = arg;

	x->done_calls++;
	x->op = NULL;
	if (status == -ESHUTDOWN) {
		/* the plugin stops: it must not take another SMS now */
		const struct ucs_sms_api *api = svcprobe_service(x->p, UCS_SMS_SERVICE);
		struct ucs_sms_op *op = NULL;

		x->resend = api ? api->send(&x->sms, ignore_done, NULL, &op) : -ENOENT;
		if (!x->resend && op)
			api->cancel(op);
	}
	if (x->cancel_mode)
		return; /* reported by report_later */
	reply_result(x, status, reply, 0);
	svcprobe_client_put(x->c);
	call_free(x);
}

/* Parses the JSON and calls send(); 0 or send()'s error (answered). */
static int start(struct svcprobe *p, struct svcprobe_client *c, struct sms_call *x,
		 const char *json)
{
	const struct ucs_sms_api *api = sms_api(p, c);
	json_error_t jerr;
	int err;

	if (!api)
		return -ENOENT;
	x->doc = json_loads(json ? json : "", 0, &jerr);
	if (!json_is_object(x->doc)) {
		svcprobe_reply_err(c, -EINVAL, "JSON object expected");
		return -EINVAL;
	}
	x->sms.size = sizeof(x->sms);
	x->sms.user = json_string_value(json_object_get(x->doc, "user"));
	x->sms.to = json_string_value(json_object_get(x->doc, "to"));
	x->sms.text = json_string_value(json_object_get(x->doc, "text"));
	x->sms.origin = json_string_value(json_object_get(x->doc, "origin"));
	if (!x->sms.user)
		x->sms.user = "";
	if (!x->sms.origin)
		x->sms.origin = "svcprobe";
	x->p = p;
	x->c = c;
	x->t0 = svcprobe_host(p)->timer->now_ms();
	err = api->send(&x->sms, on_done, x, &x->op);
	if (err)
		reply_result(x, err, "", 1);
	return err;
}

static void cmd_send(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	struct sms_call *x = call_new();

	(void)argc;
	(void)argv;
	if (!x) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	if (start(p, c, x, rest) != 0) {
		call_free(x);
		return;
	}
	svcprobe_client_get(c);
}

static void cancel_later(void *arg)
{
	struct sms_call *x = arg;
	const struct ucs_sms_api *api = svcprobe_service(x->p, UCS_SMS_SERVICE);

	if (!x->done_calls && api && x->op) {
		api->cancel(x->op);
		x->op = NULL;
		x->cancelled = 1;
	}
}

static void report_later(void *arg)
{
	struct sms_call *x = arg;

	svcprobe_reply(x->c, "ok done_calls=%d cancelled=%d", x->done_calls, x->cancelled);
	svcprobe_client_put(x->c);
	call_free(x);
}

static void cmd_cancel(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_host *h = svcprobe_host(p);
	struct sms_call *x = call_new();
	long ms = strtol(argv[1], NULL, 10), wait = strtol(argv[2], NULL, 10);
	const char *json = rest;

	(void)argc;
	if (!x) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	/* rest is "MS WAIT JSON": the JSON starts at the first '{' */
	json = rest ? strchr(rest, '{') : NULL;
	x->cancel_mode = 1;
	if (start(p, c, x, json) != 0) {
		call_free(x);
		return;
	}
	svcprobe_client_get(c);
	h->timer->once(svcprobe_self(p), (uint64_t)(ms > 0 ? ms : 0), cancel_later, x);
	h->timer->once(svcprobe_self(p),
		       (uint64_t)(ms > 0 ? ms : 0) + (uint64_t)(wait > 0 ? wait : 0), report_later,
		       x);
}

static void cmd_status(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_sms_api *api = sms_api(p, c);
	char buf[4096];
	int n;

	(void)argc;
	(void)argv;
	(void)rest;
	if (!api)
		return;
	n = api->status(buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf))
		svcprobe_reply_err(c, n < 0 ? n : -ENOSPC, "status");
	else
		svcprobe_reply(c, "ok %s", buf);
}

/* Cancels every call still waiting for done(); for svcprobe's stop (the
 * client connections are closed then, nothing is answered). */
void svcprobe_sms_stop(struct svcprobe *p)
{
	const struct ucs_sms_api *api = svcprobe_service(p, UCS_SMS_SERVICE);

	while (pending) {
		struct sms_call *x = pending;

		if (api && x->op && !x->done_calls)
			api->cancel(x->op);
		svcprobe_client_put(x->c); /* each pending call holds one */
		call_free(x);
	}
}

const struct svcprobe_cmd svcprobe_sms_cmds[] = {
	{"sms.send", 1, "sms.send JSON {user,to,text,origin}", cmd_send},
	{"sms.cancel", 3, "sms.cancel MS WAIT JSON", cmd_cancel},
	{"sms.status", 0, "sms.status", cmd_status},
	{NULL},
};
