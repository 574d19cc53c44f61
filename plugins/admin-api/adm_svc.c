/*
 * plugins/admin-api/adm_svc.c - the actions of issue 7's services: a test
 * mail (mail.test, the manual's "Validate"), a test SMS (sms.test), the
 * journal's retention run now (journal.retention.apply), and what those
 * services count for the status monitor.
 *
 * Each service is optional (service->find when a request needs it): without
 * it the method answers not_available with data.plugin. Each action is an
 * operation (struct adm_op) that waits for the service's done callback;
 * unlike a password check it is cancelled when its session closes (the
 * service never calls back afterwards), and at stop. The service may have
 * stopped first (its vtable is gone from the registry then, and its
 * operations with it): an operation is only cancelled through a service
 * that is still registered. A retention run goes on to its end when its
 * session closes (audited as done, the answer dropped; the journal's
 * handle would cancel only the answer), and one the service gave no handle
 * for cannot be cancelled at all.
 *
 * A provider may call done within its start call: the operation carries
 * its cancel function from before the call, done clears the handle (and
 * marks the operation as finished for the caller, svc_ran), and the handle
 * the start call gives is kept only when done has not run meanwhile. A
 * provider that stops first ends what is pending with -ESHUTDOWN
 * (abi/ucs/service.h): answered as not_available.
 *
 * Each is audited like a write: done (the test ran and the server said
 * yes, the retention run finished), failed with the reason (refused, or the
 * test message not delivered), or cancelled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"
#include "ucs_jsontext.h"

#define SMS_TO_MAX    64
#define SMS_TEXT_MAX  1600
#define MAIL_TO_MAX   1024
#define SMS_TEST_TEXT "ucsd: test SMS"

/* ---- operations on a service --------------------------------------------------- */

static void mail_cancel(struct adm_op *op)
{
	const struct ucs_mail_api *m = adm_service(UCS_MAIL_SERVICE, UCS_MAIL_VERSION);

	if (op->svc_op && m == op->svc_api)
		m->cancel(op->svc_op);
	op->svc_op = NULL;
}

static void sms_cancel(struct adm_op *op)
{
	const struct ucs_sms_api *m = adm_service(UCS_SMS_SERVICE, UCS_SMS_VERSION);

	if (op->svc_op && m == op->svc_api)
		m->cancel(op->svc_op);
	op->svc_op = NULL;
}

static void journal_cancel(struct adm_op *op)
{
	const struct ucs_journal_api *j = adm_service(UCS_JOURNAL_SERVICE, UCS_JOURNAL_VERSION);

	if (op->svc_op && j == op->svc_api)
		j->cancel(op->svc_op);
	op->svc_op = NULL;
}

/* Cancels (and audits) every service operation of session s, or every one
 * when s is NULL (stop). */
static void cancel_ops(struct adm *a, struct wsrpc_session *s, const char *why)
{
	struct adm_op *op = a->ops;

	while (op) {
		struct adm_op *next = op->next;

		if (op->svc_cancel && (!s || (op->s == s && !op->svc_keep))) {
			op->svc_cancel(op);
			a->write_errors++;
			adm_audit(a, op->login, op->address, op->action, op->object, why);
			adm_op_free(op);
			next = a->ops; /* the list changed: start over */
		}
		op = next;
	}
}

void adm_svc_session_gone(struct adm *a, struct wsrpc_session *s)
{
	cancel_ops(a, s, "cancelled: the session closed");
}

void adm_svc_stop(struct adm *a)
{
	cancel_ops(a, NULL, "cancelled: the server is stopping");
}

/* An operation of this file; NULL (answered) when out of memory. */
static struct adm_op *svc_op(struct adm *a, struct wsrpc_session *s, json_t *id, const char *action,
			     const char *object, const void *api, void (*cancel)(struct adm_op *op))
{
	struct adm_op *op = adm_op_new(a, s, id, action, object);

	if (!op) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	op->svc_api = api;
	op->svc_cancel = cancel;
	return op;
}

/* The service took the operation (handle: what its start call gave). One
 * it gave no handle for cannot be cancelled: it runs to its end like a
 * password check - its answer to a closed session is dropped, and at stop
 * it is orphaned (adm_ops_orphan). A retention run is not cancelled when its
 * session closes either (svc_keep), only at stop. */
static void running(struct adm_op *op, void *handle)
{
	op->svc_op = handle;
	if (!op->svc_op)
		op->svc_cancel = NULL;
}

/* Calls start(op, &handle) with the cancel function already set. 1 when the
 * operation is finished (done ran within the call: op is gone), else 0
 * with *err what the call returned (the handle kept when it is 0). */
static int start_op(struct adm_op *op, int (*start)(struct adm_op *op, void **handle), int *err)
{
	bool ran = false;
	void *handle = NULL;

	op->svc_ran = &ran;
	*err = start(op, &handle);
	if (ran)
		return 1;
	op->svc_ran = NULL;
	if (!*err)
		running(op, handle);
	return 0;
}

/* The start of a done callback: the handle is spent (nothing to cancel any
 * more), a start call waiting for the result learns that done ran. */
static void svc_done(struct adm_op *op)
{
	op->svc_op = NULL;
	op->svc_cancel = NULL;
	if (op->svc_ran)
		*op->svc_ran = true;
	op->svc_ran = NULL;
}

/* A reply for JSON: at most 4096 bytes, cut on a character boundary, bytes
 * that are not UTF-8 as U+FFFD. */
static json_t *reply_str(const char *reply)
{
	size_t len = strnlen(reply, 4096), n;
	char *buf;
	json_t *j;

	/* the first byte left out continues a character: leave that one out */
	if (len == 4096 && reply[len])
		while (len > 0 && ((unsigned char)reply[len] & 0xC0) == 0x80)
			len--;
	if (ucs_utf8_valid(reply, len))
		return json_stringn(reply, len);
	buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	n = ucs_utf8_repair(reply, len, buf);
	j = json_stringn(buf, n);
	free(buf);
	return j;
}

/* The service refused at once: audited, answered, freed. */
static void refused_now(struct adm_op *op, enum wsrpc_reason r, json_t *data, const char *msg)
{
	op->a->write_errors++;
	adm_audit(op->a, op->login, op->address, op->action, op->object, wsrpc_reason_name(r));
	adm_error(op->s, op->id, r, data, "%s", msg);
	adm_op_free(op);
}

static void not_running(struct wsrpc_session *s, json_t *id, const char *plugin)
{
	adm_error(s, id, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", plugin),
		  "the %s plugin is not running", plugin);
}

/* The outcome of a test: {"ok", "reply", ...}; audited as done or not. */
static void test_result(struct adm_op *op, int status, const char *reply, const char *failed)
{
	char why[160];
	json_t *res;

	if (!reply || !*reply) {
		snprintf(why, sizeof(why), "%s", status ? strerror(-status) : "ok");
		reply = why;
	}
	/* the server's words, as far as they are text */
	res = json_pack("{s:b,s:o*}", "ok", status == 0, "reply", reply_str(reply));
	/* who it went to; what was asked and the text stay out */
	if (res && json_is_string(json_object_get(op->data, "to")))
		json_object_set(res, "to", json_object_get(op->data, "to"));
	if (status)
		op->a->write_errors++;
	else
		op->a->writes++;
	adm_audit(op->a, op->login, op->address, op->action, op->object, status ? failed : NULL);
	wsrpc_reply(op->s, op->id, res);
	adm_op_free(op);
}

/* ---- mail.test ------------------------------------------------------------------- */

static void mail_done(int status, const char *reply, void *arg)
{
	struct adm_op *op = arg;

	svc_done(op);
	if (adm_op_orphaned(op))
		return;
	if (status == -ESHUTDOWN)
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "mail"),
			    "the mail plugin is not running");
	else
		test_result(op, status, reply, "not delivered");
}

static int start_mail(struct adm_op *op, void **handle)
{
	const struct ucs_mail_api *m = op->svc_api;

	return m->test(json_string_value(json_object_get(op->data, "asked")), mail_done, op,
		       (struct ucs_mail_op **)handle);
}

void adm_m_mail_test(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_mail_api *m;
	const char *to = "", *admin = NULL;
	struct adm_op *op;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){"to", NULL}))
		return;
	err = wsrpc_param_string(s, id, params, "to", 0, MAIL_TO_MAX, &to);
	if (err == -EINVAL)
		return;
	m = adm_service(UCS_MAIL_SERVICE, UCS_MAIL_VERSION);
	if (!m || !UCS_HAS_SLOT(m, struct ucs_mail_api, cancel)) {
		not_running(s, id, "mail");
		return;
	}
	op = svc_op(a, s, id, "mail.test", to, m, mail_cancel);
	if (!op)
		return;
	/* who it goes to (the admin addresses when none was given) */
	if (!*to && UCS_HAS_SLOT(m, struct ucs_mail_api, admin_to) && m->admin_to)
		admin = m->admin_to();
	op->data = json_pack("{s:s,s:s}", "to", *to ? to : admin ? admin : "", "asked", to);
	if (!op->data) {
		refused_now(op, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	/* the service keeps our copy (op->data) until done */
	if (start_op(op, start_mail, &err) || !err)
		return;
	switch (err) {
	case -EINVAL:
		refused_now(op, WSRPC_INVALID_PARAMS, adm_path_data("to", 2),
			    *to ? "to: not a valid recipient"
				: "to: no recipient given and no administrator address "
				  "configured (mail.admin_to)");
		break;
	case -ENOTCONN:
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "mail"),
			    "no SMTP server is configured (mail.smtp.host)");
		break;
	case -ESHUTDOWN:
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "mail"),
			    "the mail plugin is not running");
		break;
	default:
		/* the test could not even start: its outcome, not a refusal */
		test_result(op, err, NULL, "not delivered");
		break;
	}
}

/* ---- sms.test --------------------------------------------------------------------- */

static void sms_done(int status, const char *reply, void *arg)
{
	struct adm_op *op = arg;

	svc_done(op);
	if (adm_op_orphaned(op))
		return;
	if (status == -ESHUTDOWN)
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "sms"),
			    "the sms plugin is not running");
	else
		test_result(op, status, reply, "not sent");
}

static int start_sms(struct adm_op *op, void **handle)
{
	const struct ucs_sms_api *m = op->svc_api;
	struct ucs_sms sms = {.size = sizeof(sms)};

	/* the texts stay with the operation until the service is done */
	sms.user = "";
	sms.to = json_string_value(json_object_get(op->data, "to"));
	sms.text = json_string_value(json_object_get(op->data, "text"));
	sms.origin = "admin-api";
	return m->send(&sms, sms_done, op, (struct ucs_sms_op **)handle);
}

static int number_ok(const char *s)
{
	int digit = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = 1;
		else if (!strchr("+ -()/.", *s))
			return 0;
	}
	return digit;
}

void adm_m_sms_test(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_sms_api *m;
	const char *to, *text = SMS_TEST_TEXT;
	struct adm_op *op;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){"to", "text", NULL}) ||
	    wsrpc_param_string(s, id, params, "to", 1, SMS_TO_MAX, &to))
		return;
	err = wsrpc_param_string(s, id, params, "text", 0, SMS_TEXT_MAX, &text);
	if (err == -EINVAL)
		return;
	if (!number_ok(to)) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "to: not a phone number");
		return;
	}
	if (!*text) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "text: must not be empty");
		return;
	}
	m = adm_service(UCS_SMS_SERVICE, UCS_SMS_VERSION);
	if (!m || !UCS_HAS_SLOT(m, struct ucs_sms_api, cancel)) {
		not_running(s, id, "sms");
		return;
	}
	op = svc_op(a, s, id, "sms.test", to, m, sms_cancel);
	if (!op)
		return;
	op->data = json_pack("{s:s,s:s}", "to", to, "text", text);
	if (!op->data) {
		refused_now(op, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	if (start_op(op, start_sms, &err) || !err)
		return;
	switch (err) {
	case -EINVAL:
		/* the service does not say which of the two */
		refused_now(op, WSRPC_INVALID_PARAMS, NULL,
			    "the SMS service refused the number or the text");
		break;
	case -ENOTCONN:
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "sms"),
			    "no SMS provider is configured (sms.provider)");
		break;
	case -ESHUTDOWN:
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "sms"),
			    "the sms plugin is not running");
		break;
	default:
		test_result(op, err, NULL, "not sent");
		break;
	}
}

/* ---- journal.retention.apply ------------------------------------------------------ */

static const char busy_msg[] = "a retention run is going on already: try again when it has "
			       "finished";

static void retention_done(int status, const char *json, void *arg)
{
	struct adm_op *op = arg;
	json_t *res = NULL;

	svc_done(op);
	if (adm_op_orphaned(op))
		return;
	if (status == 0) {
		res = json ? json_loads(json, 0, NULL) : NULL;
		if (!json_is_object(res)) {
			json_decref(res);
			status = -EIO;
		}
	}
	if (status == 0) {
		op->a->writes++;
		adm_audit(op->a, op->login, op->address, op->action, op->object, NULL);
		wsrpc_reply(op->s, op->id, res);
	} else if (status == -EBUSY) {
		refused_now(op, WSRPC_CONFLICT, NULL, busy_msg);
		return;
	} else if (status == -ESHUTDOWN) {
		refused_now(op, WSRPC_NOT_AVAILABLE, json_pack("{s:s}", "plugin", "journal"),
			    "the journal plugin is not running");
		return;
	} else {
		char msg[160];

		snprintf(msg, sizeof(msg), "the retention run failed: %s", strerror(-status));
		refused_now(op, WSRPC_INTERNAL, NULL, msg);
		return;
	}
	adm_op_free(op);
}

static int start_retention(struct adm_op *op, void **handle)
{
	const struct ucs_journal_api *j = op->svc_api;

	return j->apply_retention(retention_done, op, (struct ucs_journal_op **)handle);
}

void adm_m_journal_retention(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_journal_api *j;
	struct adm_op *op;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	j = adm_service(UCS_JOURNAL_SERVICE, UCS_JOURNAL_VERSION);
	if (!j || !UCS_HAS_SLOT(j, struct ucs_journal_api, cancel)) {
		not_running(s, id, "journal");
		return;
	}
	op = svc_op(a, s, id, "journal.retention.apply", "", j, journal_cancel);
	if (!op)
		return;
	/* the run goes on whatever its session does (the journal's handle
	 * cancels only the answer): it is audited as done when it ends */
	op->svc_keep = 1;
	if (start_op(op, start_retention, &err) || !err)
		return;
	retention_done(err, NULL, op);
}

/* ---- status ----------------------------------------------------------------------- */

json_t *adm_svc_status(const char *service)
{
	int (*fn)(char *buf, size_t cap) = NULL;
	json_t *v;
	int err;

	if (strcmp(service, UCS_JOURNAL_SERVICE) == 0) {
		const struct ucs_journal_api *j =
			adm_service(UCS_JOURNAL_SERVICE, UCS_JOURNAL_VERSION);

		fn = j && UCS_HAS_SLOT(j, struct ucs_journal_api, status) ? j->status : NULL;
	} else if (strcmp(service, UCS_MAIL_SERVICE) == 0) {
		const struct ucs_mail_api *m = adm_service(UCS_MAIL_SERVICE, UCS_MAIL_VERSION);

		fn = m && UCS_HAS_SLOT(m, struct ucs_mail_api, status) ? m->status : NULL;
	} else if (strcmp(service, UCS_SMS_SERVICE) == 0) {
		const struct ucs_sms_api *m = adm_service(UCS_SMS_SERVICE, UCS_SMS_VERSION);

		fn = m && UCS_HAS_SLOT(m, struct ucs_sms_api, status) ? m->status : NULL;
	}
	if (!fn)
		return json_null();
	v = adm_grow_json(fn, &err);
	if (!v)
		return json_pack("{s:s}", "error", strerror(err < 0 ? -err : EIO));
	return v;
}
