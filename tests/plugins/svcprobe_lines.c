/*
 * tests/plugins/svcprobe_lines.c - svcprobe commands for the line manager
 * (plugins/lines) and its test driver (testdriver.c).
 *
 *   td COMMAND...        one testdriver command (see testdriver.c): the
 *                        test plays the PBX; the answer is the driver's
 *   ln.call JSON          a "call.control" request: {"op": "make"|...,
 *                        "actor", "line", "call", "other_call", "target_line",
 *                        "target_user", "number", "project", "digits",
 *                        "mode": "immediate"|"busy"|"noanswer", "on": 0|1}
 *                        -> "ok {"status":N,"call":..,"reason":..}" when
 *                        the reply came (also for refusals: the status says)
 *   ln.line ID           ucs.lines line()     -> ok JSON (as "line.status")
 *   ln.by_number NUMBER    ucs.lines line_by_number() -> ok JSON
 *   ln.calls ID          ucs.lines calls()    -> ok [JSON,...] (as "call.state")
 *   ln.list              ucs.lines list()     -> ok ["id",...]
 *   ln.admin COMMAND...    a "lines.admin" request -> ok STATUS JSON
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcprobe.h"
#include "testdriver.h"

static void cmd_td(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		   const char *rest)
{
	const struct testdriver_api *td = svcprobe_service(p, TESTDRIVER_SERVICE);
	char out[65536 + 64];

	(void)argc, (void)argv;
	if (!td) {
		svcprobe_reply_err(c, -ENOENT, "no testdriver");
		return;
	}
	td->command(rest, out, sizeof(out));
	svcprobe_reply(c, "%s", out);
}

static const struct ucs_lines_api *lines(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_lines_api *la = svcprobe_service(p, UCS_LINES_SERVICE);

	if (!la)
		svcprobe_reply_err(c, -ENOENT, "no ucs.lines");
	return la;
}

/* A payload as its bus type's JSON. */
static int as_json(struct svcprobe *p, const char *type, const void *payload, size_t len, char *buf,
		   size_t cap)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find(type, 1);
	struct ucs_msg *m;
	int n;

	if (!t || bus->msg_new(t, NULL, payload, len, &m))
		return snprintf(buf, cap, "null");
	n = bus->msg_to_json(m, buf, cap);
	bus->msg_unref(m);
	return n;
}

static void line_reply(struct svcprobe *p, struct svcprobe_client *c, int err,
		       const struct ucs_line_info *li)
{
	char json[4096];

	if (err) {
		svcprobe_reply_err(c, err, "line");
		return;
	}
	as_json(p, UCS_LINE_STATUS_TYPE, li, sizeof(*li), json, sizeof(json));
	svcprobe_reply(c, "ok %s", json);
}

static void cmd_line(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_lines_api *la = lines(p, c);
	struct ucs_line_info li = {.size = sizeof(li)};

	(void)argc, (void)rest;
	if (la)
		line_reply(p, c, la->line(argv[1], &li), &li);
}

static void cmd_by_number(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			  const char *rest)
{
	const struct ucs_lines_api *la = lines(p, c);
	struct ucs_line_info li = {.size = sizeof(li)};

	(void)argc, (void)rest;
	if (la)
		line_reply(p, c, la->line_by_number(argv[1], &li), &li);
}

static void cmd_calls(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_lines_api *la = lines(p, c);
	struct ucs_call_info calls[16];
	char out[16 * 2048 + 8], json[2048];
	size_t o = 0;
	int n;

	(void)argc, (void)rest;
	if (!la)
		return;
	n = la->calls(argv[1], calls, 16);
	if (n < 0) {
		svcprobe_reply_err(c, n, "calls");
		return;
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "[");
	for (int i = 0; i < n; i++) {
		as_json(p, UCS_CALL_STATE_TYPE, &calls[i], sizeof(calls[i]), json, sizeof(json));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "," : "", json);
	}
	snprintf(out + o, sizeof(out) - o, "]");
	svcprobe_reply(c, "ok %s", out);
}

static void cmd_list(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_lines_api *la = lines(p, c);
	struct ucs_id ids[128];
	char out[128 * 70 + 8];
	size_t o = 0;
	int n;

	(void)argc, (void)argv, (void)rest;
	if (!la)
		return;
	n = la->list(ids, 128);
	o += (size_t)snprintf(out + o, sizeof(out) - o, "[");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\"%s\"", i ? "," : "",
				      ids[i].text);
	snprintf(out + o, sizeof(out) - o, "]");
	svcprobe_reply(c, "ok %s", out);
}

/* ---- requests ---------------------------------------------------------------------- */

struct pending {
	struct svcprobe *p;
	struct svcprobe_client *c;
};

static void on_call_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct pending *w = arg;
	const struct ucs_bus_api *bus = svcprobe_host(w->p)->bus;
	struct ucs_call_control_result r = {.size = sizeof(r), .status = status};
	size_t len = 0;
	const void *pl = reply ? bus->msg_payload(reply, &len) : NULL;
	json_t *o;
	char *text;

	if (pl && len >= sizeof(r))
		memcpy(&r, pl, sizeof(r));
	r.call.text[sizeof(r.call.text) - 1] = '\0';
	r.reason[sizeof(r.reason) - 1] = '\0';
	o = json_pack("{s:i,s:s,s:s}", "status", status, "call", r.call.text, "reason", r.reason);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (svcprobe_client_alive(w->c))
		svcprobe_reply(w->c, "ok %s", text ? text : "null");
	free(text);
	json_decref(o);
	svcprobe_client_put(w->c);
	free(w);
}

static const char *const op_names[] = {
	"?",	       "make",		"answer",  "clear",	   "clear_call",
	"hold",	       "retrieve",	"consult", "transfer",	   "conference",
	"alternate",   "reconnect",	"deflect", "pickup",	   "dtmf",
	"forward_set", "forward_clear", "dnd_set", "remote_office"};
static const char *const mode_names[] = {"immediate", "busy", "noanswer"};

static void copy_member(json_t *o, const char *key, char *dst, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(dst, cap, "%s", v ? v : "");
}

static void cmd_call(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find(UCS_CALL_CONTROL_TYPE, 1);
	struct ucs_call_control q = {.size = sizeof(q)};
	json_error_t jerr;
	json_t *o = json_loads(rest, 0, &jerr);
	const char *op = json_string_value(json_object_get(o, "op"));
	const char *mode = json_string_value(json_object_get(o, "mode"));
	struct pending *w;
	struct ucs_msg *m;
	int err;

	(void)argc, (void)argv;
	if (!json_is_object(o) || !op) {
		json_decref(o);
		svcprobe_reply_err(c, -EINVAL, "call JSON with op");
		return;
	}
	for (size_t i = 1; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op_names[i], op) == 0)
			q.op = (int32_t)i;
	for (size_t i = 0; mode && i < 3; i++)
		if (strcmp(mode_names[i], mode) == 0)
			q.mode = (int32_t)i;
	q.on = (int32_t)json_integer_value(json_object_get(o, "on"));
	copy_member(o, "actor", q.actor.text, sizeof(q.actor.text));
	copy_member(o, "line", q.line.text, sizeof(q.line.text));
	copy_member(o, "call", q.call.text, sizeof(q.call.text));
	copy_member(o, "other_call", q.other_call.text, sizeof(q.other_call.text));
	copy_member(o, "target_line", q.target_line.text, sizeof(q.target_line.text));
	copy_member(o, "target_user", q.target_user.text, sizeof(q.target_user.text));
	copy_member(o, "number", q.number, sizeof(q.number));
	copy_member(o, "project", q.project, sizeof(q.project));
	copy_member(o, "digits", q.digits, sizeof(q.digits));
	json_decref(o);
	if (!t) {
		svcprobe_reply_err(c, -ENOENT, "no call.control type");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || bus->msg_new(t, NULL, &q, sizeof(q), &m)) {
		free(w);
		svcprobe_reply_err(c, -ENOMEM, "request");
		return;
	}
	w->p = p;
	w->c = svcprobe_client_get(c);
	err = bus->request(svcprobe_self(p), NULL, m, 30000, on_call_reply, w);
	if (err) {
		svcprobe_client_put(c);
		free(w);
		svcprobe_reply_err(c, err, "request");
	}
}

static void on_admin_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct pending *w = arg;
	const struct ucs_bus_api *bus = svcprobe_host(w->p)->bus;
	size_t len = 0;
	const char *pl = reply ? bus->msg_payload(reply, &len) : NULL;

	if (svcprobe_client_alive(w->c))
		svcprobe_reply(w->c, "ok %d %.*s", status, pl ? (int)len : 4, pl ? pl : "null");
	svcprobe_client_put(w->c);
	free(w);
}

static void cmd_admin(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find("lines.admin", 1);
	struct pending *w;
	struct ucs_msg *m;
	int err;

	(void)argc, (void)argv;
	w = t ? calloc(1, sizeof(*w)) : NULL;
	if (!w || bus->msg_new(t, NULL, rest, strlen(rest), &m)) {
		free(w);
		svcprobe_reply_err(c, t ? -ENOMEM : -ENOENT, "lines.admin");
		return;
	}
	w->p = p;
	w->c = svcprobe_client_get(c);
	err = bus->request(svcprobe_self(p), NULL, m, 10000, on_admin_reply, w);
	if (err) {
		svcprobe_client_put(c);
		free(w);
		svcprobe_reply_err(c, err, "request");
	}
}

const struct svcprobe_cmd svcprobe_lines_cmds[] = {
	{"td", 1, "td COMMAND...  (testdriver)", cmd_td},
	{"ln.call", 1, "ln.call JSON  (call.control)", cmd_call},
	{"ln.line", 1, "ln.line ID", cmd_line},
	{"ln.by_number", 1, "ln.by_number NUMBER", cmd_by_number},
	{"ln.calls", 1, "ln.calls LINE", cmd_calls},
	{"ln.list", 0, "ln.list", cmd_list},
	{"ln.admin", 1, "ln.admin COMMAND...  (lines.admin)", cmd_admin},
	{NULL, 0, NULL, NULL},
};
