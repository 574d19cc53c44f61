/*
 * tests/plugins/svcprobe_auth.c - svcprobe commands for the auth plugin
 * (service "ucs.auth", abi/ucs/auth.h).
 *
 * Passwords travel as hex ("-" for the empty one) so that any byte string,
 * spaces and all, can be tested; addresses are numeric IPv4/IPv6 ("-": no
 * peer). Answers carry the time from login() to done() in microseconds, as
 * the plugin's caller sees it (us=N), for the timing tests.
 *
 *   auth.login KIND LOGIN PWHEX [ADDR [VIA]]
 *       ok user=ID method=M us=N | err ENAME retry_after_ms=N us=N
 *   auth.cancel KIND LOGIN PWHEX ADDR AFTER_MS WAIT_MS
 *       starts a login, cancels it AFTER_MS later (0: at once) unless it
 *       was answered before, and after WAIT_MS reports
 *       ok done_calls=N cancelled=0|1
 *   auth.burst N KIND LOGIN PWHEX ADDR
 *       N logins at once; when all are answered:
 *       ok n=N ok=A EACCES=B EAGAIN=C EPERM=D other=E refused=F
 *   auth.passwd KIND ID PWHEX       set_password
 *   auth.release LOGIN              release
 * KIND is "user" or "admin". Every answer to a login is also logged as
 * "svcprobe: auth answer ..." so a test can tell that none came after the
 * plugin stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svcprobe.h"

struct burst;

struct login_ctx {
	struct login_ctx *prev, *next; /* on the pending list */
	struct svcprobe *p;
	struct svcprobe_client *c;
	struct ucs_auth_op *op;
	struct burst *burst;
	uint64_t t0;
	int done_calls;
	int cancelled;
	int report; /* auth.cancel: report after a wait instead of answering */
};

struct burst {
	struct svcprobe_client *c;
	int n, left, ok, eacces, eagain, eperm, other, refused;
};

/* Logins not answered yet. When the auth plugin stops, their done() never
 * comes (that is the contract): the list keeps them reachable, so they are
 * not leaks, and a test sees none of them answered after the stop. */
static struct login_ctx *pending;

static struct login_ctx *ctx_new(void)
{
	struct login_ctx *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->next = pending;
	if (pending)
		pending->prev = x;
	pending = x;
	return x;
}

static void ctx_free(struct login_ctx *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		pending = x->next;
	if (x->next)
		x->next->prev = x->prev;
	free(x);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const struct ucs_auth_api *auth_api(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_auth_api *api = svcprobe_service(p, UCS_AUTH_SERVICE);

	if (!api)
		svcprobe_reply_err(c, -ENOENT, "no ucs.auth service");
	return api;
}

static int parse_kind(const char *s)
{
	if (!strcmp(s, "user"))
		return UCS_AUTH_USER;
	if (!strcmp(s, "admin"))
		return UCS_AUTH_ADMIN;
	return 0;
}

/* Hex to bytes ("-": empty): the length, or -1. */
static int unhex(const char *hex, char *out, size_t cap)
{
	size_t n = strlen(hex);

	if (!strcmp(hex, "-"))
		return 0;
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (char)v;
	}
	return (int)(n / 2);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!s || !strcmp(s, "-"))
		return 0;
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons(40000);
		return 1;
	}
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons(40000);
		return 1;
	}
	return -1;
}

static const char *err_name(int err)
{
	switch (-err) {
	case EACCES:
		return "EACCES";
	case EAGAIN:
		return "EAGAIN";
	case EPERM:
		return "EPERM";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ECANCELED:
		return "ECANCELED";
	case EINVAL:
		return "EINVAL";
	case ENOENT:
		return "ENOENT";
	default:
		return "E?";
	}
}

static void burst_finish_one(struct burst *b)
{
	if (--b->left == 0) {
		svcprobe_reply(b->c,
			       "ok n=%d ok=%d EACCES=%d EAGAIN=%d EPERM=%d other=%d refused=%d",
			       b->n, b->ok, b->eacces, b->eagain, b->eperm, b->other, b->refused);
		svcprobe_client_put(b->c);
		free(b);
	}
}

static void burst_count(struct burst *b, int status, int refused)
{
	if (refused)
		b->refused++;
	else if (status == 0)
		b->ok++;
	else if (status == -EACCES)
		b->eacces++;
	else if (status == -EAGAIN)
		b->eagain++;
	else if (status == -EPERM)
		b->eperm++;
	else
		b->other++;
	burst_finish_one(b);
}

static void on_login(const struct ucs_auth_result *res, void *arg)
{
	struct login_ctx *x = arg;
	uint64_t us = mono_us() - x->t0;

	x->done_calls++;
	svcprobe_host(x->p)->log->log(
		svcprobe_self(x->p), UCS_LOG_INFO, "svcprobe: auth answer %s%s after %llu us",
		res->status ? "err " : "ok", res->status ? err_name(res->status) : "",
		(unsigned long long)us);
	if (x->report)
		return; /* auth.cancel reports later and frees then */
	if (x->burst) {
		burst_count(x->burst, res->status, 0);
	} else if (res->status == 0) {
		svcprobe_reply(x->c, "ok user=%s method=%s us=%llu", res->user.text, res->method,
			       (unsigned long long)us);
	} else {
		svcprobe_reply(x->c, "err %s retry_after_ms=%u method=%s us=%llu",
			       err_name(res->status), res->retry_after_ms, res->method,
			       (unsigned long long)us);
	}
	if (!x->burst)
		svcprobe_client_put(x->c);
	ctx_free(x);
}

/* Starts one login; 0 or the error login() returned (x is then not used). */
static int start_login(struct svcprobe *p, const struct ucs_auth_api *api, struct login_ctx *x,
		       int kind, const char *login, const char *pwhex, const char *addr,
		       const char *via)
{
	char pw[2048];
	struct sockaddr_storage ss;
	struct ucs_auth_request req;
	int len = unhex(pwhex, pw, sizeof(pw)), has_addr = parse_addr(addr, &ss), err;

	if (len < 0 || has_addr < 0)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.kind = kind;
	req.login = login;
	req.password = pw;
	req.password_len = (size_t)len;
	req.peer = has_addr ? (const struct sockaddr *)&ss : NULL;
	req.via = via;
	x->p = p;
	x->t0 = mono_us();
	err = api->login(svcprobe_self(p), &req, on_login, x, &x->op);
	memset(pw, 0, sizeof(pw));
	return err;
}

static void cmd_login(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_auth_api *api = auth_api(p, c);
	struct login_ctx *x;
	int kind = parse_kind(argv[1]), err;

	(void)rest;
	if (!api)
		return;
	if (!kind) {
		svcprobe_reply_err(c, -EINVAL, "KIND is user or admin");
		return;
	}
	x = ctx_new();
	if (!x) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	x->c = svcprobe_client_get(c);
	err = start_login(p, api, x, kind, argv[2], argv[3], argc > 4 ? argv[4] : NULL,
			  argc > 5 ? argv[5] : "svcprobe");
	if (err) {
		svcprobe_client_put(c);
		ctx_free(x);
		svcprobe_reply_err(c, err, "login refused the request");
	}
}

static void cancel_later(void *arg)
{
	struct login_ctx *x = arg;
	const struct ucs_auth_api *api = svcprobe_service(x->p, UCS_AUTH_SERVICE);

	if (!x->done_calls && api) {
		api->cancel(x->op);
		x->cancelled = 1;
	}
}

static void report_later(void *arg)
{
	struct login_ctx *x = arg;

	svcprobe_reply(x->c, "ok done_calls=%d cancelled=%d", x->done_calls, x->cancelled);
	svcprobe_client_put(x->c);
	ctx_free(x);
}

static void cmd_cancel(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_auth_api *api = auth_api(p, c);
	const struct ucs_timer_api *t = svcprobe_host(p)->timer;
	struct login_ctx *x;
	int kind = parse_kind(argv[1]), err;
	long after = atol(argv[5]), wait = atol(argv[6]);

	(void)argc, (void)rest;
	if (!api)
		return;
	x = ctx_new();
	if (!kind || !x || after < 0 || wait < 0) {
		if (x)
			ctx_free(x);
		svcprobe_reply_err(c, -EINVAL, "usage");
		return;
	}
	x->report = 1;
	x->c = svcprobe_client_get(c);
	err = start_login(p, api, x, kind, argv[2], argv[3], argv[4], "svcprobe");
	if (err) {
		svcprobe_client_put(c);
		ctx_free(x);
		svcprobe_reply_err(c, err, "login refused the request");
		return;
	}
	if (after == 0)
		cancel_later(x);
	else
		t->once(svcprobe_self(p), (uint64_t)after, cancel_later, x);
	/* x lives until the report, so a late done() would be counted, not a crash */
	t->once(svcprobe_self(p), (uint64_t)(after + wait), report_later, x);
}

static void cmd_burst(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_auth_api *api = auth_api(p, c);
	int n = atoi(argv[1]), kind = parse_kind(argv[2]);
	struct burst *b;

	(void)argc, (void)rest;
	if (!api)
		return;
	if (n < 1 || n > 10000 || !kind) {
		svcprobe_reply_err(c, -EINVAL, "usage");
		return;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	b->c = svcprobe_client_get(c);
	b->n = n;
	b->left = n + 1; /* one extra, dropped below, keeps b alive while starting */
	for (int i = 0; i < n; i++) {
		struct login_ctx *x = ctx_new();
		int err = x ? 0 : -ENOMEM;

		if (x) {
			x->burst = b;
			x->c = c;
			err = start_login(p, api, x, kind, argv[3], argv[4], argv[5], "svcprobe");
		}
		if (err) {
			if (x)
				ctx_free(x);
			burst_count(b, err, 1);
		}
	}
	burst_finish_one(b); /* b may be gone now */
}

static void on_status(int status, void *arg)
{
	struct svcprobe_client *c = arg;

	if (status)
		svcprobe_reply_err(c, status, "set_password failed");
	else
		svcprobe_reply(c, "ok");
	svcprobe_client_put(c);
}

static void cmd_passwd(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_auth_api *api = auth_api(p, c);
	int kind = parse_kind(argv[1]), len, err;
	char pw[2048];

	(void)argc, (void)rest;
	if (!api)
		return;
	len = unhex(argv[3], pw, sizeof(pw));
	if (!kind || len < 0) {
		svcprobe_reply_err(c, -EINVAL, "usage");
		return;
	}
	svcprobe_client_get(c);
	err = api->set_password(svcprobe_self(p), kind, argv[2], pw, (size_t)len, on_status, c);
	memset(pw, 0, sizeof(pw));
	if (err) {
		svcprobe_client_put(c);
		svcprobe_reply_err(c, err, "set_password refused the request");
	}
}

static void cmd_release(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_auth_api *api = auth_api(p, c);
	int err;

	(void)argc, (void)rest;
	if (!api)
		return;
	err = api->release(argv[1]);
	if (err)
		svcprobe_reply_err(c, err, "nothing to release");
	else
		svcprobe_reply(c, "ok");
}

const struct svcprobe_cmd svcprobe_auth_cmds[] = {
	{"auth.login", 3, "auth.login user|admin LOGIN PWHEX|- [ADDR|- [VIA]]", cmd_login},
	{"auth.cancel", 6, "auth.cancel user|admin LOGIN PWHEX ADDR|- AFTER_MS WAIT_MS",
	 cmd_cancel},
	{"auth.burst", 5, "auth.burst N user|admin LOGIN PWHEX ADDR|-", cmd_burst},
	{"auth.passwd", 3, "auth.passwd user|admin ID PWHEX", cmd_passwd},
	{"auth.release", 1, "auth.release LOGIN|ADDRESS", cmd_release},
	{NULL, 0, NULL, NULL},
};
