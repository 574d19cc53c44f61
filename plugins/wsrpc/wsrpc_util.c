/*
 * plugins/wsrpc/wsrpc_util.c - what a plugin uses to answer requests: the
 * stable error reasons and their codes, method tables and dispatch, and the
 * params helpers that check a member's type and answer invalid_params
 * themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wsrpc.h"

static const struct {
	const char *name;
	int code;
} reasons[WSRPC_REASON_COUNT] = {
	[WSRPC_PARSE_ERROR] = {"parse_error", -32700},
	[WSRPC_INVALID_REQUEST] = {"invalid_request", -32600},
	[WSRPC_METHOD_NOT_FOUND] = {"method_not_found", -32601},
	[WSRPC_INVALID_PARAMS] = {"invalid_params", -32602},
	[WSRPC_INTERNAL] = {"internal", -32603},
	[WSRPC_NOT_AUTHENTICATED] = {"not_authenticated", -32001},
	[WSRPC_AUTH_FAILED] = {"auth_failed", -32002},
	[WSRPC_FORBIDDEN] = {"forbidden", -32003},
	[WSRPC_NOT_FOUND] = {"not_found", -32004},
	[WSRPC_CONFLICT] = {"conflict", -32005},
	[WSRPC_READ_ONLY] = {"read_only", -32006},
	[WSRPC_LOCKED_OUT] = {"locked_out", -32007},
	[WSRPC_TIMEOUT] = {"timeout", -32008},
	[WSRPC_RATE_LIMITED] = {"rate_limited", -32009},
	[WSRPC_NOT_AVAILABLE] = {"not_available", -32010},
	[WSRPC_DRIVER_REFUSED] = {"driver_refused", -32011},
	[WSRPC_INACTIVE] = {"inactive", -32012},
	[WSRPC_UNAVAILABLE] = {"unavailable", -32013},
	[WSRPC_TOO_LARGE] = {"too_large", -32014},
	[WSRPC_NOT_SUPPORTED] = {"not_supported", -32015},
};

const char *wsrpc_reason_name(enum wsrpc_reason r)
{
	if ((unsigned)r >= WSRPC_REASON_COUNT)
		r = WSRPC_INTERNAL;
	return reasons[r].name;
}

int wsrpc_reason_code(enum wsrpc_reason r)
{
	if ((unsigned)r >= WSRPC_REASON_COUNT)
		r = WSRPC_INTERNAL;
	return reasons[r].code;
}

/* --- method tables -------------------------------------------------------- */

const struct wsrpc_method *wsrpc_method_find(const struct wsrpc_method *table, size_t n,
					     const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, table[mid].name);

		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void wsrpc_dispatch(const struct wsrpc_method *table, size_t n, struct wsrpc_session *s,
		    const char *method, json_t *params, json_t *id, void *arg)
{
	const struct wsrpc_method *m = wsrpc_method_find(table, n, method);
	char msg[160];

	if (!m) {
		snprintf(msg, sizeof(msg), "unknown method: %.100s", method);
		wsrpc_error(s, id, WSRPC_METHOD_NOT_FOUND, msg, NULL);
		return;
	}
	if (!(m->flags & WSRPC_M_PUBLIC) && !wsrpc_session_is_authenticated(s)) {
		snprintf(msg, sizeof(msg), "%.100s: log in first", method);
		wsrpc_error(s, id, WSRPC_NOT_AUTHENTICATED, msg, NULL);
		return;
	}
	m->h(s, params, id, arg);
}

/* --- params --------------------------------------------------------------- */

static int bad_param(struct wsrpc_session *s, json_t *id, const char *name, const char *what,
		     int err)
{
	char msg[200];
	json_t *data = json_object();

	if (name) {
		snprintf(msg, sizeof(msg), "params.%.80s: %s", name, what);
		if (data)
			json_object_set_new(data, "member", json_string(name));
	} else {
		snprintf(msg, sizeof(msg), "params: %s", what);
	}
	wsrpc_error(s, id, WSRPC_INVALID_PARAMS, msg, data);
	return err;
}

/* The member, NULL when absent; -EINVAL (answered) when params is not an
 * object, -ENOENT (answered when required) when absent. */
static int member(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		  int required, json_t **out)
{
	*out = NULL;
	if (params && !json_is_object(params))
		return bad_param(s, id, NULL, "must be an object", -EINVAL);
	*out = params ? json_object_get(params, name) : NULL;
	if (!*out) {
		if (required)
			return bad_param(s, id, name, "missing", -ENOENT);
		return -ENOENT;
	}
	return 0;
}

int wsrpc_param_string(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		       int required, size_t max_len, const char **out)
{
	json_t *v;
	int err = member(s, id, params, name, required, &v);
	char what[64];

	if (err)
		return err;
	if (!json_is_string(v))
		return bad_param(s, id, name, "must be a string", -EINVAL);
	if (max_len && json_string_length(v) > max_len) {
		snprintf(what, sizeof(what), "longer than %zu bytes", max_len);
		return bad_param(s, id, name, what, -EINVAL);
	}
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad_param(s, id, name, "holds a NUL character", -EINVAL);
	*out = json_string_value(v);
	return 0;
}

int wsrpc_param_int(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		    int required, int64_t min, int64_t max, int64_t *out)
{
	json_t *v;
	int err = member(s, id, params, name, required, &v);
	char what[96];

	if (err)
		return err;
	if (!json_is_integer(v))
		return bad_param(s, id, name, "must be an integer", -EINVAL);
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(what, sizeof(what), "must be between %lld and %lld", (long long)min,
			 (long long)max);
		return bad_param(s, id, name, what, -EINVAL);
	}
	*out = json_integer_value(v);
	return 0;
}

int wsrpc_param_bool(struct wsrpc_session *s, json_t *id, json_t *params, const char *name,
		     int required, int *out)
{
	json_t *v;
	int err = member(s, id, params, name, required, &v);

	if (err)
		return err;
	if (!json_is_boolean(v))
		return bad_param(s, id, name, "must be true or false", -EINVAL);
	*out = json_is_true(v);
	return 0;
}

int wsrpc_params_only(struct wsrpc_session *s, json_t *id, json_t *params,
		      const char *const *allowed)
{
	const char *key;
	json_t *v;

	if (!params)
		return 0;
	if (!json_is_object(params))
		return bad_param(s, id, NULL, "must be an object", -EINVAL);
	json_object_foreach(params, key, v)
	{
		size_t i = 0;

		while (allowed && allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed || !allowed[i])
			return bad_param(s, id, key, "unknown member", -EINVAL);
	}
	return 0;
}
