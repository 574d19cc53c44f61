/*
 * plugins/client-api/ca_sms.c - sms.send: a user sends a text message
 * through the server's SMS provider (ucs.sms, the sms plugin).
 *
 * Only users with the `sms` service may (forbidden otherwise, data.service
 * "sms"); the sender the recipient sees is the sms plugin's choice (its
 * configuration: none, a fixed number, or the user's mobile number). The
 * send is an op of the session: a session that closes cancels it. The
 * provider's refusal comes back as driver_refused with its answer in
 * data.driver_reason; a provider that cannot be reached as unavailable or
 * timeout; a full queue of the sms plugin as rate_limited. The text is
 * never logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

struct sop {
	struct ca_op op;
	const struct ucs_sms_api *api;
	struct ucs_sms_op *sop;
	char user[UCS_ID_MAX];
	char login[UCS_ID_MAX + 192];
	/* the request's texts, ours until done (params go with the request) */
	char to[CA_SMS_TO_MAX + 1];
	char *text;
	bool detached; /* its session went, and there was no handle to cancel */
};

static const struct ucs_sms_api *sms_api(struct ca *ca)
{
	const struct ucs_sms_api *a =
		ca->host->service->find(UCS_SMS_SERVICE, UCS_SMS_VERSION, NULL);

	if (a && !UCS_HAS_SLOT(a, struct ucs_sms_api, cancel))
		return NULL;
	return a;
}

static void sop_free(struct sop *o)
{
	free(o->text);
	free(o);
}

static void sop_release(struct ca_op *op)
{
	sop_free((struct sop *)op);
}

static void sop_cancel(struct ca_op *op)
{
	struct sop *o = (struct sop *)op;

	if (!o->sop) {
		o->detached = true; /* no handle: freed by its done */
		return;
	}
	if (sms_api(op->sess->ca) == o->api)
		o->api->cancel(o->sop);
	sop_free(o);
}

/* The reply of the provider (or the sms plugin's words) for data: "" when
 * none; cut to a length a client can show. */
static json_t *reply_text(const char *reply)
{
	return ca_jstr(reply ? reply : "", reply ? strnlen(reply, 512) : 0);
}

static void sop_done(int status, const char *reply, void *arg)
{
	struct sop *o = arg;
	struct ca *ca;
	char msg[160];

	if (o->detached) {
		sop_free(o);
		return;
	}
	ca = o->op.sess->ca;
	o->sop = NULL;
	if (status == 0) {
		ca->n.sms_sent++;
		CA_LOG(ca, UCS_LOG_INFO, "%s sent an SMS to %s", o->login, o->to);
		ca_op_reply(&o->op, json_object());
		return;
	}
	ca->n.sms_failed++;
	CA_LOG(ca, UCS_LOG_INFO, "%s could not send an SMS to %s: %s", o->login, o->to,
	       strerror(-status));
	switch (status) {
	case -EINVAL:
		ca_op_error(&o->op, WSRPC_INVALID_PARAMS,
			    "the SMS service refused the number or the text",
			    json_pack("{s:o}", "reply", reply_text(reply)));
		return;
	case -ENOTCONN:
		ca_op_error(&o->op, WSRPC_NOT_AVAILABLE, "no SMS provider is configured",
			    json_pack("{s:s}", "plugin", "sms"));
		return;
	case -ESHUTDOWN:
		ca_op_error(&o->op, WSRPC_NOT_AVAILABLE, "the sms plugin is not running",
			    json_pack("{s:s}", "plugin", "sms"));
		return;
	case -ENOENT:
		ca_op_error(&o->op, WSRPC_NOT_FOUND,
			    "the sender is your mobile number, and you have none", NULL);
		return;
	case -EREMOTEIO:
		ca_op_error(&o->op, WSRPC_DRIVER_REFUSED, "the SMS provider refused the message",
			    json_pack("{s:o}", "driver_reason", reply_text(reply)));
		return;
	case -EBUSY:
		/* the sms plugin's queue is full: a moment later it may not be */
		ca_op_error(&o->op, WSRPC_RATE_LIMITED,
			    "too many SMS are waiting to be sent: try again later", NULL);
		return;
	case -ETIMEDOUT:
		ca_op_error(&o->op, WSRPC_TIMEOUT, "the SMS provider did not answer in time", NULL);
		return;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		ca_op_error(&o->op, WSRPC_UNAVAILABLE, "the SMS provider cannot be reached",
			    json_pack("{s:o}", "reply", reply_text(reply)));
		return;
	default:
		snprintf(msg, sizeof(msg), "the SMS could not be sent: %s", strerror(-status));
		ca_op_error(&o->op, WSRPC_INTERNAL, msg,
			    json_pack("{s:o}", "reply", reply_text(reply)));
		return;
	}
}

CA_METHOD(ca_m_sms_send)
{
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_sms_api *api;
	struct ucs_sms m = {.size = sizeof(m)};
	const char *to, *text;
	struct ca_bad b;
	struct sop *o;
	int err;

	if (ca_parse_sms_send(params, &to, &text, &b)) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, b.msg,
			    b.member[0] ? json_pack("{s:s}", "member", b.member) : NULL);
		return;
	}
	if (!(ca->rights->services(s->user->id) & UCS_SVC_SMS)) {
		wsrpc_error(ws, id, WSRPC_FORBIDDEN, "sending SMS is not one of your services",
			    json_pack("{s:s}", "service", "sms"));
		return;
	}
	api = sms_api(ca);
	if (!api) {
		wsrpc_error(ws, id, WSRPC_NOT_AVAILABLE, "the sms plugin is not running",
			    json_pack("{s:s}", "plugin", "sms"));
		return;
	}
	o = calloc(1, sizeof(*o));
	if (o)
		o->text = strdup(text);
	if (!o || !o->text) {
		if (o)
			sop_free(o);
		wsrpc_error(ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	o->api = api;
	o->op.cancel = sop_cancel;
	o->op.release = sop_release;
	snprintf(o->user, sizeof(o->user), "%s", s->user->id);
	snprintf(o->login, sizeof(o->login), "%s", s->login);
	snprintf(o->to, sizeof(o->to), "%s", to);
	m.user = o->user;
	m.to = o->to;
	m.text = o->text;
	m.origin = "client-api";
	ca_op_add(s, &o->op, id);
	err = api->send(&m, sop_done, o, &o->sop);
	if (err) {
		o->sop = NULL;
		sop_done(err, NULL, o);
	}
}
