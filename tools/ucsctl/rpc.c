/*
 * tools/ucsctl/rpc.c - JSON-RPC 2.0 requests, answers and notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "rpc.h"
#include "secret.h"

struct rpc {
	struct conn *c;
	json_int_t next_id;
	rpc_notify_h *notify;
	void *notify_arg;
};

struct rpc *rpc_new(struct conn *c)
{
	struct rpc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	r->next_id = 1;
	return r;
}

void rpc_free(struct rpc *r)
{
	if (!r)
		return;
	conn_close(r->c);
	free(r);
}

void rpc_set_notify(struct rpc *r, rpc_notify_h *h, void *arg)
{
	r->notify = h;
	r->notify_arg = arg;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One message from the server: a notification goes to the handler (1); an
 * answer to `want` sets *result or *error (0); anything else is dropped
 * (1). -1 for text that is not a JSON-RPC message. */
static int dispatch(struct rpc *r, const char *text, size_t len, json_int_t want, json_t **result,
		    json_t **error, char *err, size_t cap)
{
	json_error_t jerr;
	json_t *msg = json_loadb(text, len, 0, &jerr), *id, *method;
	int rc = 1;

	if (!json_is_object(msg)) {
		snprintf(err, cap, "the server sent something that is not JSON-RPC: %.80s", text);
		json_decref(msg);
		return -1;
	}
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	if (json_is_string(method)) {
		if (!id && r->notify)
			r->notify(json_string_value(method), json_object_get(msg, "params"),
				  r->notify_arg);
	} else if (want > 0 &&
		   (json_is_null(id) || (json_is_integer(id) && json_integer_value(id) == want))) {
		json_t *res = json_object_get(msg, "result"), *e = json_object_get(msg, "error");

		/* id null: the server could not read our request at all */
		if (json_is_object(e)) {
			*error = json_incref(e);
			rc = 0;
		} else if (res && !json_is_null(id)) {
			*result = json_incref(res);
			rc = 0;
		} else {
			snprintf(err, cap, "the server's answer has neither result nor error");
			rc = -1;
		}
	}
	json_decref(msg);
	return rc;
}

static int wait_for(struct rpc *r, json_int_t want, int timeout_ms, json_t **result, json_t **error,
		    char *err, size_t cap)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	for (;;) {
		char *text = NULL;
		size_t len = 0;
		int left =
			deadline < 0 ? -1 : (int)(deadline > mono_ms() ? deadline - mono_ms() : 0);
		int rc = conn_recv_text(r->c, left, &text, &len, err, cap);

		if (rc == 1 && want > 0)
			snprintf(err, cap, "no answer from the server within %d s",
				 (timeout_ms + 999) / 1000);
		if (rc == 2 && want > 0)
			snprintf(err, cap, "interrupted");
		if (rc == 2 && want <= 0)
			return 2;
		if (rc == 1)
			return want > 0 ? -1 : 1;
		if (rc)
			return -1;
		rc = dispatch(r, text, len, want, result, error, err, cap);
		free(text);
		if (rc <= 0)
			return rc;
	}
}

int rpc_call(struct rpc *r, const char *method, json_t *params, int timeout_ms, json_t **result,
	     json_t **error, char *err, size_t cap)
{
	json_int_t id = r->next_id++;
	json_t *req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
	char *text = NULL;
	int rc = -1;

	*result = NULL;
	*error = NULL;
	if (!req) {
		snprintf(err, cap, "out of memory");
		goto out;
	}
	if (params) {
		/* json_object_set_new() takes params, also when it fails */
		int bad = json_object_set_new(req, "params", params);

		params = NULL;
		if (bad) {
			snprintf(err, cap, "out of memory");
			goto out;
		}
	}
	text = json_dumps(req, JSON_COMPACT);
	if (!text) {
		snprintf(err, cap, "out of memory");
		goto out;
	}
	if (conn_send_text(r->c, text, strlen(text), err, cap))
		goto out;
	rc = wait_for(r, id, timeout_ms, result, error, err, cap);
	if (rc == 0 && *error)
		rc = 1;
out:
	json_decref(params);
	json_decref(req);
	if (text) /* it may hold a password (admin.login, users passwd) */
		secret_wipe(text, strlen(text));
	free(text);
	return rc;
}

int rpc_listen(struct rpc *r, int timeout_ms, char *err, size_t cap)
{
	json_t *res = NULL, *e = NULL;

	return wait_for(r, 0, timeout_ms, &res, &e, err, cap);
}
