/*
 * tests/plugins/svcprobe_mail.c - svcprobe commands for the mail plugin
 * (ucs.mail, abi/ucs/mail.h; issue 7).
 *
 *   mail.submit JSON     submit() of {"to", "subject", "text", "html", "from",
 *                        "from_name", "reply_to", "origin", "attachments":
 *                        [{"filename", "content_type", "data" | "data_b64"}]}
 *                        -> ok id=<MESSAGE-ID> | err ENAME text
 *   mail.burst N [TO]    N submits in a row (subject "burst I", a small text)
 *                        -> ok n=N ms=T (stops at the first error: err ENAME i=I)
 *   mail.test [TO]       test() -> ok status=0 reply=TEXT | err ENAME reply=TEXT
 *                        (when the result came; also logged as "mail.test
 *                        done: ENAME|ok TEXT"; on ESHUTDOWN - a stop - only
 *                        logged, not answered; submit() and
 *                        test() are called again and logged: "mail.test
 *                        after stop: submit ENAME, test ENAME")
 *   mail.cancel_test [TO] test() then cancel() at once -> ok (no done after)
 *   mail.status          status() -> ok JSON
 *   mail.admin_to        admin_to() -> ok TEXT
 *   mail.log LEVEL TEXT  logs TEXT at error|warning|info as svcprobe (a
 *                        source of server events for the admin error mails)
 * Error names are the errno names (a table below, portable), e.g. ENOTCONN;
 * E? for one the table lacks.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/mail.h>

#include "svcprobe.h"

static const struct ucs_mail_api *mail_api(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_mail_api *m = svcprobe_service(p, UCS_MAIL_SERVICE);

	if (!m)
		svcprobe_reply_err(c, -ENOENT, "no ucs.mail");
	return m;
}

/* The errno names the tests expect, without glibc's strerrorname_np. */
static const char *ename(int err)
{
	static const struct {
		int n;
		const char *name;
	} names[] = {
		{EINVAL, "EINVAL"},	    {ENOTCONN, "ENOTCONN"},
		{ENOSPC, "ENOSPC"},	    {EIO, "EIO"},
		{EMSGSIZE, "EMSGSIZE"},	    {ESHUTDOWN, "ESHUTDOWN"},
		{ENOMEM, "ENOMEM"},	    {ENOENT, "ENOENT"},
		{EAGAIN, "EAGAIN"},	    {EREMOTEIO, "EREMOTEIO"},
		{ECONNRESET, "ECONNRESET"}, {ECONNREFUSED, "ECONNREFUSED"},
		{ETIMEDOUT, "ETIMEDOUT"},   {EACCES, "EACCES"},
		{EPROTO, "EPROTO"},	    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
		{EPERM, "EPERM"},	    {ECANCELED, "ECANCELED"},
		{EBUSY, "EBUSY"},	    {ENAMETOOLONG, "ENAMETOOLONG"},
	};
	int e = err < 0 ? -err : err;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].n == e)
			return names[i].name;
	return "E?";
}

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Decodes base64 (padding and whitespace ignored) into a new buffer. */
static unsigned char *unb64(const char *s, size_t *len)
{
	unsigned char *out = malloc(strlen(s) / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (!out)
		return NULL;
	for (; *s; s++) {
		int v = b64val((unsigned char)*s);

		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*len = n;
	return out;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void cmd_submit(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_mail_api *api = mail_api(p, c);
	struct ucs_mail m = {.size = sizeof(m)};
	struct ucs_mail_attachment *att = NULL;
	unsigned char **bufs = NULL;
	json_error_t jerr;
	json_t *doc, *atts;
	char id[300];
	size_t n = 0;
	int err;

	(void)argc, (void)argv;
	if (!api)
		return;
	doc = json_loads(rest, 0, &jerr);
	if (!json_is_object(doc)) {
		svcprobe_reply_err(c, -EINVAL, "JSON object expected");
		json_decref(doc);
		return;
	}
	m.to = jstr(doc, "to");
	m.subject = jstr(doc, "subject");
	m.text = jstr(doc, "text");
	m.html = jstr(doc, "html");
	m.from = jstr(doc, "from");
	m.from_name = jstr(doc, "from_name");
	m.reply_to = jstr(doc, "reply_to");
	m.origin = jstr(doc, "origin") ? jstr(doc, "origin") : "svcprobe";
	atts = json_object_get(doc, "attachments");
	if (json_is_array(atts) && json_array_size(atts)) {
		n = json_array_size(atts);
		att = calloc(n, sizeof(*att));
		bufs = calloc(n, sizeof(*bufs));
		if (!att || !bufs) {
			free(att);
			free(bufs);
			json_decref(doc);
			svcprobe_reply_err(c, -ENOMEM, NULL);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *a = json_array_get(atts, i);

			att[i].size = sizeof(att[i]);
			att[i].filename = jstr(a, "filename");
			att[i].content_type = jstr(a, "content_type");
			if (jstr(a, "data_b64")) {
				bufs[i] = unb64(jstr(a, "data_b64"), &att[i].len);
				att[i].data = bufs[i];
			} else {
				att[i].data = jstr(a, "data") ? jstr(a, "data") : "";
				att[i].len = strlen(att[i].data);
			}
		}
		m.attachments = att;
		m.n_attachments = n;
	}
	err = api->submit(&m, id, sizeof(id));
	if (err)
		svcprobe_reply(c, "err %s %s", ename(err), strerror(-err));
	else
		svcprobe_reply(c, "ok id=%s", id);
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(att);
	json_decref(doc);
}

static void cmd_burst(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_mail_api *api = mail_api(p, c);
	long n = strtol(argv[1], NULL, 10);
	const char *to = argc > 2 ? argv[2] : "burst@example.com";
	struct timespec a, b;

	(void)rest;
	if (!api)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		struct ucs_mail m = {.size = sizeof(m)};
		char subject[64], text[200];
		int err;

		snprintf(subject, sizeof(subject), "burst %ld", i);
		snprintf(text, sizeof(text), "Message %ld of a burst of %ld.\n", i, n);
		m.to = to;
		m.subject = subject;
		m.text = text;
		m.origin = "burst";
		err = api->submit(&m, NULL, 0);
		if (err) {
			svcprobe_reply(c, "err %s i=%ld", ename(err), i);
			return;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	svcprobe_reply(c, "ok n=%ld ms=%ld", n,
		       (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000));
}

struct test_ctx {
	struct svcprobe *p;
	struct svcprobe_client *c;
};

/* test()'s done. It is also logged ("mail.test done: ..."), because at a
 * stop the client may be gone; when it reports -ESHUTDOWN, the later calls
 * are tried right here and logged too (the stop promise, ucs/service.h). */
static void test_done(int status, const char *reply, void *arg)
{
	struct test_ctx *x = arg;
	const struct ucs_host *h = svcprobe_host(x->p);

	h->log->log(svcprobe_self(x->p), UCS_LOG_INFO, "mail.test done: %s %s",
		    status ? ename(status) : "ok", reply ? reply : "");
	if (status == -ESHUTDOWN) {
		const struct ucs_mail_api *api = svcprobe_service(x->p, UCS_MAIL_SERVICE);
		struct ucs_mail m = {.size = sizeof(m), .to = "late@example.com", .text = "late"};
		struct ucs_mail_op *op = NULL;

		if (api) {
			int a = api->submit(&m, NULL, 0);
			int b = api->test("late@example.com", test_done, x, &op);

			h->log->log(svcprobe_self(x->p), UCS_LOG_INFO,
				    "mail.test after stop: submit %s, test %s", ename(a), ename(b));
			if (!b)
				return; /* a broken promise: x lives on, the test says so */
		}
	}
	/* not at a stop: svcprobe may have stopped first and closed its clients
	 * without marking them (svcprobe_client_alive still says yes) */
	if (status != -ESHUTDOWN && svcprobe_client_alive(x->c)) {
		if (status)
			svcprobe_reply(x->c, "err %s reply=%s", ename(status), reply ? reply : "");
		else
			svcprobe_reply(x->c, "ok status=0 reply=%s", reply ? reply : "");
	}
	svcprobe_client_put(x->c);
	free(x);
}

static void cmd_test(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_mail_api *api = mail_api(p, c);
	struct test_ctx *x;
	struct ucs_mail_op *op;
	int err;

	(void)rest;
	if (!api)
		return;
	x = calloc(1, sizeof(*x));
	if (!x) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	x->p = p;
	x->c = svcprobe_client_get(c);
	err = api->test(argc > 1 ? argv[1] : NULL, test_done, x, &op);
	if (err) {
		svcprobe_client_put(c);
		free(x);
		svcprobe_reply(c, "err %s %s", ename(err), strerror(-err));
		return;
	}
	if (strcmp(argv[0], "mail.cancel_test") == 0) {
		api->cancel(op);
		svcprobe_client_put(c);
		free(x);
		svcprobe_reply(c, "ok");
	}
}

static void cmd_status(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_mail_api *api = mail_api(p, c);
	char buf[8192];
	int n;

	(void)argc, (void)argv, (void)rest;
	if (!api)
		return;
	n = api->status(buf, sizeof(buf));
	if (n < 0)
		svcprobe_reply(c, "err %s status", ename(n));
	else
		svcprobe_reply(c, "ok %s", buf);
}

static void cmd_admin_to(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			 const char *rest)
{
	const struct ucs_mail_api *api = mail_api(p, c);

	(void)argc, (void)argv, (void)rest;
	if (api)
		svcprobe_reply(c, "ok %s", api->admin_to());
}

static void cmd_log(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	enum ucs_log_level level = !strcmp(argv[1], "error")	 ? UCS_LOG_ERROR
				   : !strcmp(argv[1], "warning") ? UCS_LOG_WARNING
								 : UCS_LOG_INFO;
	const char *text = strchr(rest, ' ');

	(void)argc;
	svcprobe_host(p)->log->log(svcprobe_self(p), level, "%s", text ? text + 1 : "");
	svcprobe_reply(c, "ok");
}

const struct svcprobe_cmd svcprobe_mail_cmds[] = {
	{"mail.log", 2, "mail.log LEVEL TEXT", cmd_log},
	{"mail.submit", 1, "mail.submit JSON", cmd_submit},
	{"mail.burst", 1, "mail.burst N [TO]", cmd_burst},
	{"mail.test", 0, "mail.test [TO]", cmd_test},
	{"mail.cancel_test", 0, "mail.cancel_test [TO]", cmd_test},
	{"mail.status", 0, "mail.status", cmd_status},
	{"mail.admin_to", 0, "mail.admin_to", cmd_admin_to},
	{NULL},
};
