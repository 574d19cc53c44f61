/*
 * plugins/wsrpc/jsonrpc.c - decoding JSON-RPC 2.0 messages into calls and
 * building the reply objects (the rules are in jsonrpc.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"

static int id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

static void decode_call(json_t *obj, struct jsonrpc_call *c)
{
	json_t *v;
	const char *key;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(obj)) {
		c->invalid = 1;
		c->why = "a request must be an object";
		return;
	}
	v = json_object_get(obj, "id");
	if (v) {
		if (!id_valid(v)) {
			c->invalid = 1;
			c->why = "id must be a string, a number or null";
			return;
		}
		c->id = v;
	}
	v = json_object_get(obj, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		c->invalid = 1;
		c->why = "jsonrpc must be \"2.0\"";
		return;
	}
	v = json_object_get(obj, "method");
	if (!json_is_string(v)) {
		c->invalid = 1;
		c->why = "method must be a string";
		return;
	}
	c->method = json_string_value(v);
	v = json_object_get(obj, "params");
	if (v && !json_is_object(v) && !json_is_array(v)) {
		c->invalid = 1;
		c->method = NULL;
		c->why = "params must be an object or an array";
		return;
	}
	c->params = v;
	json_object_foreach(obj, key, v)
	{
		if (strcmp(key, "jsonrpc") && strcmp(key, "method") && strcmp(key, "params") &&
		    strcmp(key, "id")) {
			c->invalid = 1;
			c->method = NULL;
			c->params = NULL;
			c->why = "unknown member in a request";
			return;
		}
	}
}

int jsonrpc_decode(const char *text, size_t len, size_t max_batch, struct jsonrpc_msg *out)
{
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	out->error = -1;
	out->root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!out->root) {
		out->error = WSRPC_PARSE_ERROR;
		snprintf(out->why, sizeof(out->why), "not JSON: %.100s at byte %d", jerr.text,
			 jerr.position);
		return 0;
	}
	if (json_is_object(out->root)) {
		out->n = 1;
		out->calls = &out->one;
		decode_call(out->root, &out->one);
		return 0;
	}
	if (!json_is_array(out->root)) {
		out->error = WSRPC_INVALID_REQUEST;
		snprintf(out->why, sizeof(out->why), "a message must be an object or an array");
		return 0;
	}
	out->batch = 1;
	out->n = json_array_size(out->root);
	if (out->n == 0) {
		out->error = WSRPC_INVALID_REQUEST;
		snprintf(out->why, sizeof(out->why), "empty batch");
		return 0;
	}
	if (out->n > max_batch) {
		out->error = WSRPC_TOO_LARGE;
		snprintf(out->why, sizeof(out->why), "a batch of %zu calls (at most %zu)", out->n,
			 max_batch);
		out->n = 0;
		return 0;
	}
	out->calls = calloc(out->n, sizeof(*out->calls));
	if (!out->calls) {
		out->n = 0;
		return -ENOMEM;
	}
	for (size_t i = 0; i < out->n; i++)
		decode_call(json_array_get(out->root, i), &out->calls[i]);
	return 0;
}

void jsonrpc_msg_free(struct jsonrpc_msg *m)
{
	if (m->calls && m->calls != &m->one)
		free(m->calls);
	m->calls = NULL;
	m->n = 0;
	json_decref(m->root);
	m->root = NULL;
}

static json_t *envelope(json_t *id)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "jsonrpc", json_string("2.0")) ||
	    json_object_set(o, "id", id ? id : json_null())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jsonrpc_result(json_t *id, json_t *result)
{
	json_t *o = envelope(id);

	if (!o || json_object_set_new(o, "result", result ? result : json_null())) {
		if (!o)
			json_decref(result);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jsonrpc_error(json_t *id, enum wsrpc_reason r, const char *message, json_t *data)
{
	json_t *o, *err = json_object(), *msg = message ? json_string(message) : NULL;

	/* a message that is not UTF-8 must not cost the reply */
	if (!msg)
		msg = json_string(wsrpc_reason_name(r));
	if (!json_is_object(data)) {
		json_decref(data);
		data = json_object();
	}
	if (!data || !err ||
	    json_object_set_new(data, "reason", json_string(wsrpc_reason_name(r))) ||
	    json_object_set_new(err, "code", json_integer(wsrpc_reason_code(r))) ||
	    json_object_set(err, "message", msg)) {
		json_decref(msg);
		json_decref(data);
		json_decref(err);
		return NULL;
	}
	json_decref(msg);
	if (json_object_set_new(err, "data", data)) { /* steals data */
		json_decref(err);
		return NULL;
	}
	o = envelope(id);
	if (!o || json_object_set_new(o, "error", err)) { /* steals err */
		if (!o)
			json_decref(err);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jsonrpc_notification(const char *method, json_t *params)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "jsonrpc", json_string("2.0")) ||
	    json_object_set_new(o, "method", json_string(method))) {
		json_decref(o);
		json_decref(params);
		return NULL;
	}
	if (params && json_object_set_new(o, "params", params)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
