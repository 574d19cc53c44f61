/*
 * tools/ucsctl/fuzz_text.c - the fuzz target of what ucsctl reads that
 * others wrote: the server's messages (JSON-RPC answers and notifications,
 * through the real rpc.c over a stand-in connection), results of any shape
 * rendered as tables and key/value lines (out.c), the server's error lines
 * with positions, and the -s HOST[:PORT] argument.
 *
 * Input: text. It is tried as -s argument and as error line; split at
 * newlines, its lines are the messages the "server" sends after a request
 * (the answer may come among notifications, or never); the whole input is
 * rendered as a result when it is JSON. Output goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "hostport.h"
#include "out.h"
#include "rpc.h"

/* ---- a connection that replays the input ---- */

struct conn {
	const char *p, *end;
};

int conn_open(const struct conn_opts *o, struct conn **out, char *err, size_t cap)
{
	(void)o;
	(void)out;
	snprintf(err, cap, "not here");
	return -1;
}

int conn_send_text(struct conn *c, const char *text, size_t len, char *err, size_t cap)
{
	(void)c;
	(void)text;
	(void)len;
	(void)err;
	(void)cap;
	return 0;
}

int conn_recv_text(struct conn *c, int timeout_ms, char **msg, size_t *len, char *err, size_t cap)
{
	const char *nl;
	size_t n;

	(void)timeout_ms;
	if (c->p >= c->end) {
		snprintf(err, cap, "the server closed the connection");
		return -1;
	}
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	n = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
	*msg = malloc(n + 1);
	if (!*msg)
		return -1;
	memcpy(*msg, c->p, n);
	(*msg)[n] = 0;
	*len = n;
	c->p += n + (nl != NULL);
	return 0;
}

void conn_interrupt(void)
{
}

void conn_close(struct conn *c)
{
	free(c);
}

static void on_note(const char *method, json_t *params, void *arg)
{
	FILE *out = arg;

	fprintf(out, "%s\n", method);
	out_any(out, params);
}

static const struct out_col cols[] = {
	{"login", NULL}, {"numbers.business", "BUSINESS"}, {"a.b.c.d", NULL}, {NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *out;
	char *text = malloc(size + 1), host[256], port[16], err[256];
	const char *why;
	struct conn *c = malloc(sizeof(*c));
	struct rpc *r;
	json_t *v, *res = NULL, *error = NULL, *rows;
	struct out_col buf[8];

	if (!out)
		out = fopen("/dev/null", "w");
	if (!text || !c || !out) {
		free(text);
		free(c);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = 0;

	hostport_split(text, "7221", host, sizeof(host), port, sizeof(port), &why);
	if (out_position_at(text) > (int)strlen(text))
		abort();

	/* the messages of a conversation */
	c->p = text;
	c->end = text + size;
	r = rpc_new(c);
	if (r) {
		rpc_set_notify(r, on_note, out);
		if (rpc_call(r, "status.get", json_object(), 1000, &res, &error, err,
			     sizeof(err)) >= 0) {
			out_any(out, res ? res : error);
			json_decref(res);
			json_decref(error);
		}
		rpc_free(r);
	} else {
		free(c);
	}

	/* a result of any shape */
	v = json_loadb(text, size, 0, NULL);
	if (v) {
		out_any(out, v);
		out_json(out, v);
		rows = out_list_of(v);
		if (json_is_array(rows)) {
			out_table(out, rows, NULL, 2);
			out_table(out, rows, out_pick_cols(rows, cols, buf, 8), 0);
		}
		out_true_names(v, "services");
		out_any(out, v);
		free(out_cell(out_get(v, "a.b")));
		json_decref(v);
	}
	free(text);
	return 0;
}
