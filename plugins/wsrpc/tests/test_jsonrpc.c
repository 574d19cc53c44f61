/*
 * plugins/wsrpc/tests/test_jsonrpc.c - JSON-RPC 2.0 decoding (single calls,
 * notifications, batches, ids of every type, every invalid shape, parse
 * errors), the reply objects, the error reasons and method lookup.
 */
#include <string.h>

#include "check.h"
#include "jsonrpc.h"

static int decode(const char *text, size_t max_batch, struct jsonrpc_msg *m)
{
	return jsonrpc_decode(text, strlen(text), max_batch, m);
}

/* The error of the whole message (-1: none). */
static int msg_error(const char *text)
{
	struct jsonrpc_msg m;
	int e;

	CHECK_INT(decode(text, 4, &m), ==, 0);
	e = m.error;
	if (e >= 0)
		CHECK(m.why[0] != 0);
	jsonrpc_msg_free(&m);
	return e;
}

/* 1 when the single call is valid, 0 when it is invalid, -1 otherwise. */
static int single_valid(const char *text)
{
	struct jsonrpc_msg m;
	int r = -1;

	CHECK_INT(decode(text, 4, &m), ==, 0);
	if (m.error < 0 && !m.batch && m.n == 1) {
		r = !m.calls[0].invalid;
		if (!r)
			CHECK(m.calls[0].why != NULL && m.calls[0].method == NULL);
	}
	jsonrpc_msg_free(&m);
	return r;
}

static void test_single(void)
{
	struct jsonrpc_msg m;

	CHECK_INT(decode("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"a.b\",\"params\":{\"x\":1}}",
			 4, &m),
		  ==, 0);
	CHECK_INT(m.error, ==, -1);
	CHECK_INT(m.batch, ==, 0);
	CHECK_INT(m.n, ==, 1);
	CHECK_STR(m.calls[0].method, "a.b");
	CHECK(json_is_integer(m.calls[0].id) && json_integer_value(m.calls[0].id) == 7);
	CHECK(json_is_object(m.calls[0].params));
	jsonrpc_msg_free(&m);

	/* a notification: no id; params as an array; no params */
	CHECK_INT(decode("{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":[1,2]}", 4, &m), ==, 0);
	CHECK(m.calls[0].id == NULL);
	CHECK(json_is_array(m.calls[0].params));
	jsonrpc_msg_free(&m);
	CHECK_INT(decode("{\"method\":\"n\",\"jsonrpc\":\"2.0\"}", 4, &m), ==, 0);
	CHECK(m.calls[0].params == NULL && !m.calls[0].invalid);
	jsonrpc_msg_free(&m);

	/* ids of every allowed type */
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"m\"}"), ==, 1);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":\"\",\"method\":\"m\"}"), ==, 1);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":-5,\"method\":\"m\"}"), ==, 1);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}"), ==, 1);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"m\"}"),
		  ==, 1);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}"), ==, 1);
	CHECK_INT(decode("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}", 4, &m), ==, 0);
	CHECK(json_is_null(m.calls[0].id)); /* a request with id null, not a notification */
	jsonrpc_msg_free(&m);
	/* ids of other types */
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}"), ==, 0);
	CHECK_INT(decode("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}", 4, &m), ==, 0);
	CHECK(m.calls[0].id == NULL); /* answered with id null */
	jsonrpc_msg_free(&m);
	/* the version */
	CHECK_INT(single_valid("{\"id\":1,\"method\":\"m\"}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}"), ==, 0);
	CHECK_INT(decode("{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"m\"}", 4, &m), ==, 0);
	CHECK(json_integer_value(m.calls[0].id) == 3); /* a valid id is kept for the answer */
	jsonrpc_msg_free(&m);
	/* the method */
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":1}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}"), ==, 0);
	/* params */
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}"),
		  ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}"), ==,
		  0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":null}"),
		  ==, 0);
	/* members that do not belong: a response, or anything else */
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}"), ==, 0);
	CHECK_INT(single_valid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"x\":1}"), ==, 0);
}

static void test_whole_message_errors(void)
{
	CHECK_INT(msg_error(""), ==, WSRPC_PARSE_ERROR);
	CHECK_INT(msg_error("{"), ==, WSRPC_PARSE_ERROR);
	CHECK_INT(msg_error("[1,"), ==, WSRPC_PARSE_ERROR);
	CHECK_INT(msg_error("{\"jsonrpc\":\"2.0\",\"method\":\"m\"} x"), ==, WSRPC_PARSE_ERROR);
	CHECK_INT(msg_error("{\"method\":\"a\",\"method\":\"b\",\"jsonrpc\":\"2.0\"}"), ==,
		  WSRPC_PARSE_ERROR); /* duplicate keys */
	CHECK_INT(msg_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000b\"}"), ==,
		  WSRPC_PARSE_ERROR); /* NUL in a string */
	CHECK_INT(msg_error("{'jsonrpc':'2.0'}"), ==, WSRPC_PARSE_ERROR);
	CHECK_INT(msg_error("3"), ==, WSRPC_INVALID_REQUEST);
	CHECK_INT(msg_error("\"x\""), ==, WSRPC_INVALID_REQUEST);
	CHECK_INT(msg_error("null"), ==, WSRPC_INVALID_REQUEST);
	CHECK_INT(msg_error("[]"), ==, WSRPC_INVALID_REQUEST);
	CHECK_INT(msg_error("[1,2,3,4,5]"), ==, WSRPC_TOO_LARGE); /* max_batch 4 */
	CHECK_INT(msg_error("[1,2,3,4]"), ==, -1);
	CHECK_INT(msg_error("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}"), ==, -1);
	/* deep nesting is refused by the parser, not by the stack */
	{
		char deep[20001];

		memset(deep, '[', 10000);
		memset(deep + 10000, ']', 10000);
		deep[20000] = 0;
		CHECK_INT(msg_error(deep), ==, WSRPC_PARSE_ERROR);
	}
}

static void test_batch(void)
{
	struct jsonrpc_msg m;
	const char *text = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},"
			   "1,"
			   "{\"jsonrpc\":\"2.0\",\"method\":\"n\"},"
			   "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":5}]";

	CHECK_INT(decode(text, 4, &m), ==, 0);
	CHECK_INT(m.error, ==, -1);
	CHECK_INT(m.batch, ==, 1);
	CHECK_INT(m.n, ==, 4);
	CHECK(!m.calls[0].invalid && !strcmp(m.calls[0].method, "a"));
	CHECK(m.calls[1].invalid && m.calls[1].id == NULL);
	CHECK(!m.calls[2].invalid && m.calls[2].id == NULL);
	CHECK(m.calls[3].invalid && json_is_string(m.calls[3].id));
	jsonrpc_msg_free(&m);
	/* a batch of one is still a batch (answered with an array) */
	CHECK_INT(decode("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}]", 4, &m), ==, 0);
	CHECK_INT(m.batch, ==, 1);
	CHECK_INT(m.n, ==, 1);
	jsonrpc_msg_free(&m);
	/* nested batches are invalid calls */
	CHECK_INT(decode("[[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}]]", 4, &m), ==, 0);
	CHECK(m.n == 1 && m.calls[0].invalid);
	jsonrpc_msg_free(&m);
}

static void test_replies(void)
{
	json_t *id = json_integer(4), *o, *e;
	char *text;

	o = jsonrpc_result(id, json_pack("{si}", "a", 1));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(text, "{\"id\":4,\"jsonrpc\":\"2.0\",\"result\":{\"a\":1}}");
	free(text);
	json_decref(o);
	o = jsonrpc_result(NULL, NULL);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(text, "{\"id\":null,\"jsonrpc\":\"2.0\",\"result\":null}");
	free(text);
	json_decref(o);
	o = jsonrpc_error(id, WSRPC_FORBIDDEN, "no", json_pack("{ss}", "what", "x"));
	e = json_object_get(o, "error");
	CHECK_INT(json_integer_value(json_object_get(e, "code")), ==, -32003);
	CHECK_STR(json_string_value(json_object_get(e, "message")), "no");
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "data"), "reason")),
		  "forbidden");
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "data"), "what")), "x");
	json_decref(o);
	/* a message that is not UTF-8, data that is not an object */
	o = jsonrpc_error(NULL, WSRPC_INTERNAL, "bad \xff", json_integer(1));
	e = json_object_get(o, "error");
	CHECK_STR(json_string_value(json_object_get(e, "message")), "internal");
	CHECK(json_is_null(json_object_get(o, "id")));
	json_decref(o);
	o = jsonrpc_notification("server.event", json_pack("{ss}", "kind", "resync"));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(
		text,
		"{\"jsonrpc\":\"2.0\",\"method\":\"server.event\",\"params\":{\"kind\":\"resync\"}}");
	free(text);
	json_decref(o);
	json_decref(id);
}

static void test_reasons(void)
{
	static const char *const names[] = {
		"parse_error", "invalid_request",   "method_not_found", "invalid_params",
		"internal",    "not_authenticated", "auth_failed",	"forbidden",
		"not_found",   "conflict",	    "read_only",	"locked_out",
		"timeout",     "rate_limited",	    "not_available",	"driver_refused",
		"inactive",    "unavailable",	    "too_large",	"not_supported",
	};

	CHECK_INT(sizeof(names) / sizeof(names[0]), ==, WSRPC_REASON_COUNT);
	for (int r = 0; r < WSRPC_REASON_COUNT; r++) {
		int code = wsrpc_reason_code((enum wsrpc_reason)r);

		CHECK_STR(wsrpc_reason_name((enum wsrpc_reason)r), names[r]);
		CHECK((code <= -32600 && code >= -32700) || (code <= -32000 && code >= -32099));
		for (int q = 0; q < r; q++)
			CHECK(code != wsrpc_reason_code((enum wsrpc_reason)q));
	}
	CHECK_INT(wsrpc_reason_code(WSRPC_PARSE_ERROR), ==, -32700);
	CHECK_INT(wsrpc_reason_code(WSRPC_METHOD_NOT_FOUND), ==, -32601);
	CHECK_STR(wsrpc_reason_name(WSRPC_REASON_COUNT), "internal");
}

static void nop(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	(void)s;
	(void)params;
	(void)id;
	(void)arg;
}

static void test_methods(void)
{
	static const struct wsrpc_method t[] = {
		{"a", 0, nop},	 {"auth.login", WSRPC_M_PUBLIC, nop},
		{"b.c", 0, nop}, {"call.make", 0, nop},
		{"z", 0, nop},
	};
	size_t n = sizeof(t) / sizeof(t[0]);

	for (size_t i = 0; i < n; i++)
		CHECK(wsrpc_method_find(t, n, t[i].name) == &t[i]);
	CHECK(wsrpc_method_find(t, n, "auth") == NULL);
	CHECK(wsrpc_method_find(t, n, "") == NULL);
	CHECK(wsrpc_method_find(t, n, "zz") == NULL);
	CHECK(wsrpc_method_find(t, 0, "a") == NULL);
}

int main(void)
{
	test_single();
	test_whole_message_errors();
	test_batch();
	test_replies();
	test_reasons();
	test_methods();
	return check_report();
}
