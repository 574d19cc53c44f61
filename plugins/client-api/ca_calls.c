/*
 * plugins/client-api/ca_calls.c - call control: call.make ... call.dtmf,
 * call.alternate / reconnect, line.forward.set / clear, line.dnd.set,
 * line.remote_office.
 *
 * Each request is checked here before anything leaves the plugin, so a
 * request the user may not make never reaches the line manager or a PBX:
 *   - the line: one of her own lines or one of her extra lines; a call
 *     must be on one of them now (looked up through ucs.lines->calls);
 *   - remote office: only on one of her own lines (the line manager's
 *     rule, LM_NEED_OWN: not on an extra line, not on a roaming phone);
 *   - another user's line: pickup and forwarding (and do-not-disturb,
 *     which is a forwarding to nowhere) only with the right
 *     UCS_R_LINE(class, UCS_RL_PICKUP / UCS_RL_SET_FORWARDING) on one of
 *     the line's owners, for the class the line has for her; an extra
 *     line with its "pickup" flag allows both;
 *   - the capability: the line must offer the operation (caps); a missing
 *     one is not_supported with data.capability (after the rights: a user
 *     learns what a line offers only when she may use it).
 * Then "call.control" goes to the line manager as a bus request (timeout
 * request_timeout_ms) and the answer waits for its reply, which comes after
 * the PBX accepted or refused. A request that needs several operations
 * (line.forward.clear of every mode) runs them one after the other and
 * stops at the first refusal.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

#define NUMBER_MAX 64

struct ctl_op {
	struct ca_op op;
	struct ucs_pending *pending;
	struct ucs_call_control req[UCS_FWD_MODES];
	int n, cur;
};

/* ---- the request and its reply ---------------------------------------------- */

static const char *op_name(int op)
{
	static const char *const names[] = {"",
					    "make",
					    "answer",
					    "clear",
					    "clear_call",
					    "hold",
					    "retrieve",
					    "consult",
					    "transfer",
					    "conference",
					    "alternate",
					    "reconnect",
					    "deflect",
					    "pickup",
					    "dtmf",
					    "forward_set",
					    "forward_clear",
					    "dnd_set",
					    "remote_office"};

	return op > 0 && (size_t)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

/* The capability an operation needs (its name is data.capability). */
static uint64_t op_cap(const struct ucs_call_control *q)
{
	static const uint64_t caps[] = {0,
					UCS_CAP_MAKE_CALL,
					UCS_CAP_ANSWER,
					UCS_CAP_CLEAR_CONNECTION,
					UCS_CAP_CLEAR_CALL,
					UCS_CAP_HOLD,
					UCS_CAP_RETRIEVE,
					UCS_CAP_CONSULT,
					UCS_CAP_TRANSFER,
					UCS_CAP_CONFERENCE,
					UCS_CAP_ALTERNATE,
					UCS_CAP_RECONNECT,
					UCS_CAP_DEFLECT,
					UCS_CAP_PICKUP,
					UCS_CAP_DTMF};
	static const uint64_t fwd[UCS_FWD_MODES] = {UCS_CAP_FWD_IMMEDIATE, UCS_CAP_FWD_BUSY,
						    UCS_CAP_FWD_NOANSWER};

	if (q->op == UCS_OP_FORWARD_SET || q->op == UCS_OP_FORWARD_CLEAR)
		return q->mode >= 0 && q->mode < UCS_FWD_MODES ? fwd[q->mode] : 0;
	if (q->op == UCS_OP_DND_SET)
		return UCS_CAP_DND;
	if (q->op == UCS_OP_REMOTE_OFFICE)
		return UCS_CAP_REMOTE_OFFICE;
	return q->op > 0 && (size_t)q->op < sizeof(caps) / sizeof(caps[0]) ? caps[q->op] : 0;
}

static void ctl_release(struct ca_op *op)
{
	free(op);
}

static void ctl_cancel(struct ca_op *op)
{
	struct ctl_op *c = (struct ctl_op *)op;

	op->sess->ca->host->bus->request_cancel(c->pending);
	free(c);
}

static int ctl_send(struct ctl_op *c);

static void ctl_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct ctl_op *c = arg;
	struct ca_sess *s = c->op.sess;
	struct ca *ca = s->ca;
	const struct ucs_call_control_result *r = NULL;
	struct ucs_call_control q = c->req[c->cur];
	size_t len = 0;
	char reason[sizeof(r->reason) + 1] = "", msg[sizeof(reason) + 64];
	char line[UCS_ID_MAX], call[UCS_ID_MAX];
	json_t *data;

	c->pending = NULL;
	if (reply) {
		r = ca->host->bus->msg_payload(reply, &len);
		if (r && len >= sizeof(*r)) {
			status = r->status;
			snprintf(reason, sizeof(reason), "%.*s", (int)sizeof(r->reason), r->reason);
		} else {
			r = NULL;
		}
	}
	if (status == 0 && c->cur + 1 < c->n) {
		c->cur++;
		ctl_send(c); /* answered and ended on failure */
		return;
	}
	if (status)
		ca->n.control_refused++;
	if (status && status != -ETIMEDOUT)
		CA_LOG(ca, UCS_LOG_INFO, "%s: %s on line %s refused (%s%s%s)", s->login,
		       op_name(q.op), q.line.text, strerror(-status), reason[0] ? ": " : "",
		       reason);
	snprintf(line, sizeof(line), "%s", q.line.text);
	snprintf(call, sizeof(call), "%s", q.call.text);
	/* every answer ends the op first: s and c are not touched after it */
	switch (status) {
	case 0: {
		json_t *res = json_object();

		if (r && r->call.text[0])
			json_object_set_new(res, "call",
					    ca_jstr(r->call.text, sizeof(r->call.text)));
		ca_op_reply(&c->op, res);
		break;
	}
	case -EPERM:
		ca_op_error(&c->op, WSRPC_FORBIDDEN, reason[0] ? reason : "not allowed",
			    json_pack("{s:s}", "line", line));
		break;
	case -ENOENT:
		data = call[0] ? json_pack("{s:s,s:s}", "line", line, "call", call)
			       : json_pack("{s:s}", "line", line);
		ca_op_error(&c->op, WSRPC_NOT_FOUND, reason[0] ? reason : "no such line or call",
			    data);
		break;
	case -ENOTSUP: {
		uint64_t cap = op_cap(&q);

		snprintf(msg, sizeof(msg), "%s",
			 reason[0] ? reason : "the line does not offer this");
		ca_op_error(&c->op, WSRPC_NOT_SUPPORTED, msg,
			    json_pack("{s:s,s:s}", "capability", cap ? ca_cap_name(cap) : "?",
				      "line", line));
		break;
	}
	case -EREMOTEIO:
		ca_op_error(&c->op, WSRPC_DRIVER_REFUSED,
			    reason[0] ? reason : "the telephone system refused",
			    json_pack("{s:s}", "driver_reason", reason));
		break;
	case -ETIMEDOUT:
		ca_op_error(&c->op, WSRPC_TIMEOUT, "the telephone system did not answer in time",
			    NULL);
		break;
	case -ENETDOWN:
		ca_op_error(&c->op, WSRPC_UNAVAILABLE,
			    reason[0] ? reason : "the line is not available", NULL);
		break;
	case -ESHUTDOWN:
		ca_op_error(&c->op, WSRPC_NOT_AVAILABLE, "the line manager stopped", NULL);
		break;
	default:
		ca_op_error(&c->op, WSRPC_INTERNAL, reason[0] ? reason : strerror(-status), NULL);
		break;
	}
}

/* Sends req[cur]; on failure answers, which ends the op (the caller must
 * not touch it or its session then), and returns the error. */
static int ctl_send(struct ctl_op *c)
{
	struct ca_sess *s = c->op.sess;
	struct ca *ca = s->ca;
	const struct ucs_bus_api *bus = ca->host->bus;
	const struct ucs_msg_type *t = bus->type_find(UCS_CALL_CONTROL_TYPE, 1);
	const struct ucs_call_control *q = &c->req[c->cur];
	struct ucs_msg *m = NULL;
	char key[UCS_ID_MAX + 8];
	int err = t ? 0 : -ENOENT;

	snprintf(key, sizeof(key), "line:%s", q->line.text);
	if (!err)
		err = bus->msg_new(t, key, q, sizeof(*q), &m);
	if (!err) {
		ca->n.control_requests++;
		err = bus->request(ca->self, &c->pending, m, ca->conf.request_timeout_ms, ctl_reply,
				   c);
	}
	if (err == -ENOENT)
		ca_op_error(&c->op, WSRPC_NOT_AVAILABLE, "no line manager is running", NULL);
	else if (err)
		ca_op_error(&c->op, WSRPC_INTERNAL, strerror(-err), NULL);
	return err;
}

/* Starts the requests (n of them, run in order); answers in any case. The
 * last thing a handler does. */
static void control(struct ca_sess *s, json_t *id, const struct ucs_call_control *req, int n)
{
	struct ctl_op *c = calloc(1, sizeof(*c));

	if (!c) {
		wsrpc_error(s->ws, id, WSRPC_INTERNAL, "out of memory", NULL);
		return;
	}
	memcpy(c->req, req, (size_t)n * sizeof(*req));
	for (int i = 0; i < n; i++) {
		c->req[i].size = sizeof(c->req[i]);
		snprintf(c->req[i].actor.text, sizeof(c->req[i].actor.text), "%s", s->user->id);
	}
	c->n = n;
	c->op.cancel = ctl_cancel;
	c->op.release = ctl_release;
	ca_op_add(s, &c->op, id);
	ctl_send(c);
}

/* ---- what a request needs ------------------------------------------------------ */

/* The context of one request: the user, the line manager, the lines. */
struct ctx {
	struct ca_sess *s;
	struct ca *ca;
	json_t *id;
	const struct ucs_lines_api *la;
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *u;
};

static bool ctx_open(struct ctx *x, struct wsrpc_session *ws, json_t *id, struct ca *ca)
{
	memset(x, 0, sizeof(*x));
	x->s = ca_sess_of(ws);
	x->ca = ca;
	x->id = id;
	x->la = ca_lines_api(x->s, id);
	if (!x->la)
		return false;
	x->u = ca_me(x->s, &x->snap);
	if (!x->u) {
		wsrpc_error(ws, id, WSRPC_NOT_FOUND, "your account is gone", NULL);
		return false;
	}
	return true;
}

static void ctx_close(struct ctx *x)
{
	if (x->snap)
		x->ca->udb->release(x->snap);
}

static bool need_cap(struct ctx *x, const struct ucs_line_info *li, uint64_t cap)
{
	char msg[160];

	if (li->caps & cap)
		return true;
	snprintf(msg, sizeof(msg), "line %.64s does not offer %s", li->id.text, ca_cap_name(cap));
	wsrpc_error(x->s->ws, x->id, WSRPC_NOT_SUPPORTED, msg,
		    json_pack("{s:s,s:s}", "capability", ca_cap_name(cap), "line", li->id.text));
	return false;
}

/* The call `call` on one of the user's lines: its line and access. */
static bool find_call(struct ctx *x, const char *member, const char *call, struct ucs_line_info *li,
		      struct ca_line_access *acc)
{
	struct ucs_id *ids = calloc(MAX_USER_LINES, sizeof(*ids));
	struct ucs_line_info *infos = calloc(MAX_USER_LINES, sizeof(*infos));
	struct ca_line_access *accs = calloc(MAX_USER_LINES, sizeof(*accs));
	struct ucs_call_info *calls = calloc(32, sizeof(*calls));
	bool found = false;
	char msg[200];
	int n;

	if (!ids || !infos || !accs || !calls) {
		wsrpc_error(x->s->ws, x->id, WSRPC_INTERNAL, "out of memory", NULL);
		goto out;
	}
	n = ca_user_lines(x->ca, x->u, x->la, ids, infos, accs, MAX_USER_LINES);
	for (int i = 0; i < n && !found; i++) {
		int nc = x->la->calls(ids[i].text, calls, 32);

		for (int c = 0; c < nc && c < 32; c++)
			if (strcmp(calls[c].call.text, call) == 0) {
				*li = infos[i];
				*acc = accs[i];
				found = true;
				break;
			}
	}
	if (!found) {
		snprintf(msg, sizeof(msg), "%s: no call %.64s on your lines", member, call);
		wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, msg,
			    json_pack("{s:s}", "call", call));
	}
out:
	free(ids);
	free(infos);
	free(accs);
	free(calls);
	return found;
}

/* A line the request names (or for NULL the user's first own line, else
 * the first phone she roams on), with her access; not_found / forbidden
 * answered. any: also lines of others (access CA_NONE), for pickup and
 * forwarding. */
static bool find_line(struct ctx *x, const char *line, bool any, struct ucs_line_info *li,
		      struct ca_line_access *acc)
{
	char msg[160];

	if (!line) {
		struct ucs_id *ids = calloc(MAX_USER_LINES, sizeof(*ids));
		struct ucs_line_info *infos = calloc(MAX_USER_LINES, sizeof(*infos));
		struct ca_line_access *accs = calloc(MAX_USER_LINES, sizeof(*accs));
		int n = ids && infos && accs ? ca_user_lines(x->ca, x->u, x->la, ids, infos, accs,
							     MAX_USER_LINES)
					     : 0;
		bool found = false;

		for (int i = 0; i < n && !found; i++)
			if (accs[i].kind == CA_OWN) {
				*li = infos[i];
				*acc = accs[i];
				found = true;
			}
		/* without a line of her own: the phone she roams on */
		for (int i = 0; i < n && !found; i++)
			if (accs[i].kind == CA_ROAMING) {
				*li = infos[i];
				*acc = accs[i];
				found = true;
			}
		free(ids);
		free(infos);
		free(accs);
		if (!found)
			wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, "you have no line", NULL);
		return found;
	}
	*li = (struct ucs_line_info){.size = sizeof(*li)};
	if (x->la->line(line, li)) {
		snprintf(msg, sizeof(msg), "no line %.64s", line);
		wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, msg,
			    json_pack("{s:s}", "line", line));
		return false;
	}
	ca_line_access(x->ca, x->u, li->id.text, li, acc);
	if (acc->kind == CA_NONE && !any) {
		snprintf(msg, sizeof(msg), "line %.64s is not yours", line);
		wsrpc_error(x->s->ws, x->id, WSRPC_FORBIDDEN, msg,
			    json_pack("{s:s}", "line", line));
		return false;
	}
	return true;
}

/* Whether the user holds line right rl (UCS_RL_*) on a line of others:
 * on one of its owners, for the class the line has for that owner. */
static bool right_on_line(struct ctx *x, const char *line, unsigned rl)
{
	struct ucs_id owners[CA_MAX_OWNERS], ids[MAX_USER_LINES];
	int32_t classes[MAX_USER_LINES];
	int n = x->ca->pres->owners(line, owners, CA_MAX_OWNERS);

	for (int i = 0; i < n && i < CA_MAX_OWNERS; i++) {
		uint64_t r = x->ca->rights->rights(x->u->id, owners[i].text);
		int m = x->ca->pres->lines(owners[i].text, ids, classes, MAX_USER_LINES);

		for (int j = 0; j < m && j < MAX_USER_LINES; j++)
			if (strcmp(ids[j].text, line) == 0 && (r & UCS_R_LINE(classes[j], rl)))
				return true;
	}
	return false;
}

/* Pickup and forwarding on a line: own, extra with "pickup", or the right. */
static bool may_manage(struct ctx *x, const struct ucs_line_info *li,
		       const struct ca_line_access *acc, unsigned rl, const char *what)
{
	char msg[200];

	if (acc->kind == CA_OWN)
		return true;
	if (acc->kind == CA_EXTRA && (acc->extra & UCS_UD_LINE_PICKUP))
		return true;
	/* an extra line without "pickup" is still a line of its owners */
	if (right_on_line(x, li->id.text, rl))
		return true;
	snprintf(msg, sizeof(msg), "you may not %s on line %.64s", what, li->id.text);
	wsrpc_error(x->s->ws, x->id, WSRPC_FORBIDDEN, msg, json_pack("{s:s}", "line", li->id.text));
	return false;
}

/* Dialling on a line (make, consult, deflect, a blind transfer): refused
 * for a roaming user on a phone of an authorised-only computer, which only
 * the line's owners dial on (the line manager refuses it too). */
static bool may_dial(struct ctx *x, const struct ucs_line_info *li,
		     const struct ca_line_access *acc)
{
	char msg[160];

	if (acc->kind != CA_ROAMING || !acc->no_dial)
		return true;
	snprintf(msg, sizeof(msg), "only the owners of line %.64s may dial on it", li->id.text);
	wsrpc_error(x->s->ws, x->id, WSRPC_FORBIDDEN, msg, json_pack("{s:s}", "line", li->id.text));
	return false;
}

/* A number member that was read: it must not be empty. */
static bool number_nonempty(struct ctx *x, const char *name, const char *value)
{
	char msg[120];

	if (value && *value)
		return true;
	snprintf(msg, sizeof(msg), "%s: must not be empty", name);
	wsrpc_error(x->s->ws, x->id, WSRPC_INVALID_PARAMS, msg, json_pack("{s:s}", "member", name));
	return false;
}

/* Reads the optional/required string member; false when answered. */
static bool str_param(struct ctx *x, json_t *params, const char *name, int required, size_t max,
		      const char **out)
{
	int err;

	*out = NULL;
	err = wsrpc_param_string(x->s->ws, x->id, params, name, required, max, out);
	if (err == -ENOENT && !required) {
		*out = NULL;
		return true;
	}
	return err == 0;
}

/* ---- the methods ------------------------------------------------------------------ */

CA_METHOD(ca_m_call_make)
{
	static const char *const only[] = {"number", "line", "project", NULL};
	struct ucs_call_control q = {.op = UCS_OP_MAKE};
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *number = NULL, *line, *project;
	struct ctx x;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "number", 1, NUMBER_MAX, &number) ||
	    !number_nonempty(&x, "number", number) ||
	    !str_param(&x, params, "line", 0, UCS_ID_MAX - 1, &line) ||
	    !str_param(&x, params, "project", 0, sizeof(q.project) - 1, &project))
		goto out;
	if (!find_line(&x, line, false, &li, &acc) || !may_dial(&x, &li, &acc) ||
	    !need_cap(&x, &li, UCS_CAP_MAKE_CALL))
		goto out;
	q.line = li.id;
	snprintf(q.number, sizeof(q.number), "%s", number);
	if (project)
		snprintf(q.project, sizeof(q.project), "%s", project);
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}

/* The methods on one call: {call} plus what `extra` reads. */
static void on_call(struct wsrpc_session *ws, json_t *params, json_t *id, void *arg,
		    const char *const *only, int op, uint64_t cap,
		    bool (*extra)(struct ctx *x, json_t *params, struct ucs_call_control *q))
{
	struct ucs_call_control q = {.op = op};
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *call;
	struct ctx x;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "call", 1, UCS_ID_MAX - 1, &call) ||
	    !find_call(&x, "call", call, &li, &acc))
		goto out;
	if (extra && !extra(&x, params, &q))
		goto out;
	if ((op == UCS_OP_CONSULT || op == UCS_OP_DEFLECT ||
	     (op == UCS_OP_TRANSFER && !q.other_call.text[0])) &&
	    !may_dial(&x, &li, &acc))
		goto out;
	if (!need_cap(&x, &li, cap))
		goto out;
	q.line = li.id;
	snprintf(q.call.text, sizeof(q.call.text), "%s", call);
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}

static const char *const only_call[] = {"call", NULL};

CA_METHOD(ca_m_call_answer)
{
	on_call(ws, params, id, arg, only_call, UCS_OP_ANSWER, UCS_CAP_ANSWER, NULL);
}

CA_METHOD(ca_m_call_hold)
{
	on_call(ws, params, id, arg, only_call, UCS_OP_HOLD, UCS_CAP_HOLD, NULL);
}

CA_METHOD(ca_m_call_retrieve)
{
	on_call(ws, params, id, arg, only_call, UCS_OP_RETRIEVE, UCS_CAP_RETRIEVE, NULL);
}

static bool clear_all(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	int all = 0;

	if (wsrpc_param_bool(x->s->ws, x->id, params, "all", 0, &all) == -EINVAL)
		return false;
	if (all)
		q->op = UCS_OP_CLEAR_CALL;
	return true;
}

CA_METHOD(ca_m_call_clear)
{
	static const char *const only[] = {"call", "all", NULL};
	int all = 0;

	/* the capability depends on "all": read it first */
	if (json_is_true(json_object_get(params, "all")))
		all = 1;
	on_call(ws, params, id, arg, only, UCS_OP_CLEAR,
		all ? UCS_CAP_CLEAR_CALL : UCS_CAP_CLEAR_CONNECTION, clear_all);
}

static bool read_number(struct ctx *x, json_t *params, const char *name, struct ucs_call_control *q)
{
	const char *n = NULL;

	if (!str_param(x, params, name, 1, NUMBER_MAX, &n) || !number_nonempty(x, name, n))
		return false;
	snprintf(q->number, sizeof(q->number), "%s", n);
	return true;
}

static bool consult_number(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	return read_number(x, params, "number", q);
}

CA_METHOD(ca_m_call_consult)
{
	static const char *const only[] = {"call", "number", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_CONSULT, UCS_CAP_CONSULT, consult_number);
}

static bool deflect_to(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	return read_number(x, params, "to", q);
}

CA_METHOD(ca_m_call_deflect)
{
	static const char *const only[] = {"call", "to", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_DEFLECT, UCS_CAP_DEFLECT, deflect_to);
}

/* The other call of a transfer or conference: also on her lines. */
static bool with_call(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *with;

	if (!str_param(x, params, "with", 1, UCS_ID_MAX - 1, &with) ||
	    !find_call(x, "with", with, &li, &acc))
		return false;
	snprintf(q->other_call.text, sizeof(q->other_call.text), "%s", with);
	return true;
}

static bool transfer_target(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	bool to = json_object_get(params, "to") != NULL, with = json_object_get(params, "with");

	if (to == with) {
		wsrpc_error(x->s->ws, x->id, WSRPC_INVALID_PARAMS,
			    "give either to (a number: blind transfer) or with (a call: consulted "
			    "transfer)",
			    json_pack("{s:s}", "member", "to"));
		return false;
	}
	return to ? read_number(x, params, "to", q) : with_call(x, params, q);
}

CA_METHOD(ca_m_call_transfer)
{
	static const char *const only[] = {"call", "to", "with", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_TRANSFER, UCS_CAP_TRANSFER, transfer_target);
}

CA_METHOD(ca_m_call_conference)
{
	static const char *const only[] = {"call", "with", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_CONFERENCE, UCS_CAP_CONFERENCE, with_call);
}

/* Alternate: `call` (the active one) goes on hold, `with` (the held one)
 * comes back; reconnect: `call` is cleared, `with` comes back. */
CA_METHOD(ca_m_call_alternate)
{
	static const char *const only[] = {"call", "with", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_ALTERNATE, UCS_CAP_ALTERNATE, with_call);
}

CA_METHOD(ca_m_call_reconnect)
{
	static const char *const only[] = {"call", "with", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_RECONNECT, UCS_CAP_RECONNECT, with_call);
}

static bool dtmf_digits(struct ctx *x, json_t *params, struct ucs_call_control *q)
{
	const char *d;

	if (!str_param(x, params, "digits", 1, sizeof(q->digits) - 1, &d))
		return false;
	for (const char *p = d; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("*#ABCDabcd,", *p)) {
			wsrpc_error(x->s->ws, x->id, WSRPC_INVALID_PARAMS,
				    "digits: only 0-9 * # A-D and , (a pause)",
				    json_pack("{s:s}", "member", "digits"));
			return false;
		}
	if (!*d) {
		wsrpc_error(x->s->ws, x->id, WSRPC_INVALID_PARAMS, "digits: must not be empty",
			    json_pack("{s:s}", "member", "digits"));
		return false;
	}
	snprintf(q->digits, sizeof(q->digits), "%s", d);
	return true;
}

CA_METHOD(ca_m_call_dtmf)
{
	static const char *const only[] = {"call", "digits", NULL};

	on_call(ws, params, id, arg, only, UCS_OP_DTMF, UCS_CAP_DTMF, dtmf_digits);
}

/* The alerting call on one line of t's, into q; whether there is one. */
static bool alerting_on(struct ctx *x, const struct ucs_id *line, const char *target,
			struct ucs_call_control *q)
{
	struct ucs_call_info calls[8];
	int nc = x->la->calls(line->text, calls, 8);

	for (int c = 0; c < nc && c < 8; c++)
		if (calls[c].state == UCS_CS_ALERTING) {
			q->target_line = *line;
			snprintf(q->target_user.text, sizeof(q->target_user.text), "%s", target);
			return true;
		}
	return false;
}

/* The line of another user's alerting call that the user may pick up: a
 * line of t's with the pickup right for its class, or one of the picker's
 * extra lines with "pickup" that is bound to t. */
static bool pickup_by_user(struct ctx *x, const char *name, struct ucs_call_control *q)
{
	const struct ucs_ud_user *t = ca_user_lookup(x->ca, x->snap, name);
	struct ucs_id ids[MAX_USER_LINES], owners[CA_MAX_OWNERS];
	int32_t classes[MAX_USER_LINES];
	bool allowed = false;
	char msg[160];
	uint64_t r;
	int n;

	if (!t) {
		snprintf(msg, sizeof(msg), "user: no user %.64s", name);
		wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, msg,
			    json_pack("{s:s}", "user", name));
		return false;
	}
	r = x->ca->rights->rights(x->u->id, t->id);
	n = x->ca->pres->lines(t->id, ids, classes, MAX_USER_LINES);
	for (int i = 0; i < n && i < MAX_USER_LINES; i++) {
		int no = x->ca->pres->owners(ids[i].text, owners, CA_MAX_OWNERS);
		struct ca_line_access acc;
		bool own = false;

		for (int j = 0; j < no && j < CA_MAX_OWNERS; j++)
			own |= strcmp(owners[j].text, t->id) == 0;
		if (!own)
			continue;
		if (!(r & UCS_R_LINE(classes[i], UCS_RL_PICKUP))) {
			ca_line_access(x->ca, x->u, ids[i].text, NULL, &acc);
			if (acc.kind != CA_EXTRA || !(acc.extra & UCS_UD_LINE_PICKUP))
				continue;
		}
		allowed = true;
		if (alerting_on(x, &ids[i], t->id, q))
			return true;
	}
	if (!allowed) {
		snprintf(msg, sizeof(msg), "you may not pick up calls of %.64s", name);
		wsrpc_error(x->s->ws, x->id, WSRPC_FORBIDDEN, msg,
			    json_pack("{s:s}", "user", name));
	} else {
		snprintf(msg, sizeof(msg), "no call of %.64s to pick up", name);
		wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, msg,
			    json_pack("{s:s}", "user", name));
	}
	return false;
}

CA_METHOD(ca_m_call_pickup)
{
	static const char *const only[] = {"line", "user", "at", NULL};
	struct ucs_call_control q = {.op = UCS_OP_PICKUP};
	struct ucs_line_info li, at_li;
	struct ca_line_access acc, at_acc;
	const char *line, *user, *at;
	struct ctx x;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "line", 0, UCS_ID_MAX - 1, &line) ||
	    !str_param(&x, params, "user", 0, 256, &user) ||
	    !str_param(&x, params, "at", 0, UCS_ID_MAX - 1, &at))
		goto out;
	if (!line == !user) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "give either line or user",
			    json_pack("{s:s}", "member", "line"));
		goto out;
	}
	/* the picking line: hers; the rights on the target come before what
	 * her line offers (a refused request is forbidden, whatever her line) */
	if (!find_line(&x, at, false, &at_li, &at_acc))
		goto out;
	if (line) {
		if (!find_line(&x, line, true, &li, &acc) ||
		    !may_manage(&x, &li, &acc, UCS_RL_PICKUP, "pick up calls"))
			goto out;
		q.target_line = li.id;
	} else if (!pickup_by_user(&x, user, &q)) {
		goto out;
	}
	if (!need_cap(&x, &at_li, UCS_CAP_PICKUP))
		goto out;
	q.line = at_li.id;
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}

static const uint64_t fwd_caps[UCS_FWD_MODES] = {UCS_CAP_FWD_IMMEDIATE, UCS_CAP_FWD_BUSY,
						 UCS_CAP_FWD_NOANSWER};

/* The forwarding mode member; -1 when absent (and allowed), -2 answered. */
static int mode_param(struct ctx *x, json_t *params, int required)
{
	const char *mode;
	int m;

	if (!str_param(x, params, "mode", required, 16, &mode))
		return -2;
	if (!mode)
		return -1;
	m = ca_fwd_mode_from_name(mode);
	if (m < 0) {
		wsrpc_error(x->s->ws, x->id, WSRPC_INVALID_PARAMS,
			    "mode: immediate, busy or noanswer",
			    json_pack("{s:s}", "member", "mode"));
		return -2;
	}
	return m;
}

CA_METHOD(ca_m_line_forward_set)
{
	static const char *const only[] = {"line", "mode", "to", NULL};
	struct ucs_call_control q = {.op = UCS_OP_FORWARD_SET};
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *line;
	struct ctx x;
	int mode;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "line", 1, UCS_ID_MAX - 1, &line) ||
	    (mode = mode_param(&x, params, 1)) < 0 || !read_number(&x, params, "to", &q))
		goto out;
	if (!find_line(&x, line, true, &li, &acc) ||
	    !may_manage(&x, &li, &acc, UCS_RL_SET_FORWARDING, "set forwarding") ||
	    !need_cap(&x, &li, fwd_caps[mode]))
		goto out;
	q.line = li.id;
	q.mode = mode;
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}

CA_METHOD(ca_m_line_forward_clear)
{
	static const char *const only[] = {"line", "mode", NULL};
	struct ucs_call_control q[UCS_FWD_MODES];
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *line;
	struct ctx x;
	int mode, n = 0;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "line", 1, UCS_ID_MAX - 1, &line) ||
	    (mode = mode_param(&x, params, 0)) == -2)
		goto out;
	if (!find_line(&x, line, true, &li, &acc) ||
	    !may_manage(&x, &li, &acc, UCS_RL_SET_FORWARDING, "clear forwarding"))
		goto out;
	if (mode >= 0 && !need_cap(&x, &li, fwd_caps[mode]))
		goto out;
	memset(q, 0, sizeof(q));
	for (int m = 0; m < UCS_FWD_MODES; m++) {
		/* no mode: every mode that is on (or, when none is, every one the
		 * line offers: clearing what is off is harmless) */
		bool pick = mode >= 0 ? m == mode
				      : (li.caps & fwd_caps[m]) &&
						(li.fwd_on[m] ||
						 (!li.fwd_on[0] && !li.fwd_on[1] && !li.fwd_on[2]));

		if (!pick)
			continue;
		q[n].op = UCS_OP_FORWARD_CLEAR;
		q[n].mode = m;
		q[n].line = li.id;
		n++;
	}
	if (!n) {
		need_cap(&x, &li, UCS_CAP_FWD_IMMEDIATE);
		goto out;
	}
	control(x.s, id, q, n);
out:
	ctx_close(&x);
}

CA_METHOD(ca_m_line_dnd_set)
{
	static const char *const only[] = {"line", "on", NULL};
	struct ucs_call_control q = {.op = UCS_OP_DND_SET};
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *line;
	struct ctx x;
	int on;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "line", 1, UCS_ID_MAX - 1, &line) ||
	    wsrpc_param_bool(ws, id, params, "on", 1, &on))
		goto out;
	if (!find_line(&x, line, true, &li, &acc) ||
	    !may_manage(&x, &li, &acc, UCS_RL_SET_FORWARDING, "set do-not-disturb") ||
	    !need_cap(&x, &li, UCS_CAP_DND))
		goto out;
	q.line = li.id;
	q.on = on != 0;
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}

/* Remote office only on her own lines: the line manager refuses it on an
 * extra line and on a roaming phone (LM_NEED_OWN), so it is refused here
 * before it goes there. */
static bool may_remote(struct ctx *x, const struct ucs_line_info *li,
		       const struct ca_line_access *acc)
{
	char msg[160];

	if (acc->kind == CA_OWN)
		return true;
	snprintf(msg, sizeof(msg), "remote office only on your own lines: %.64s is not one",
		 li->id.text);
	wsrpc_error(x->s->ws, x->id, WSRPC_FORBIDDEN, msg, json_pack("{s:s}", "line", li->id.text));
	return false;
}

/* Her first own line (no roaming phone: remote office is for own lines). */
static bool first_own_line(struct ctx *x, struct ucs_line_info *li, struct ca_line_access *acc)
{
	struct ucs_id *ids = calloc(MAX_USER_LINES, sizeof(*ids));
	struct ucs_line_info *infos = calloc(MAX_USER_LINES, sizeof(*infos));
	struct ca_line_access *accs = calloc(MAX_USER_LINES, sizeof(*accs));
	int n = ids && infos && accs
			? ca_user_lines(x->ca, x->u, x->la, ids, infos, accs, MAX_USER_LINES)
			: 0;
	bool found = false;

	for (int i = 0; i < n && !found; i++)
		if (accs[i].kind == CA_OWN) {
			*li = infos[i];
			*acc = accs[i];
			found = true;
		}
	free(ids);
	free(infos);
	free(accs);
	if (!found)
		wsrpc_error(x->s->ws, x->id, WSRPC_NOT_FOUND, "you have no line of your own", NULL);
	return found;
}

CA_METHOD(ca_m_line_remote_office)
{
	static const char *const only[] = {"line", "on", "number", NULL};
	struct ucs_call_control q = {.op = UCS_OP_REMOTE_OFFICE};
	struct ucs_line_info li;
	struct ca_line_access acc;
	const char *line, *number;
	struct ctx x;
	int on = 0;

	if (wsrpc_params_only(ws, id, params, only))
		return;
	if (!ctx_open(&x, ws, id, arg))
		goto out;
	if (!str_param(&x, params, "line", 0, UCS_ID_MAX - 1, &line) ||
	    wsrpc_param_bool(ws, id, params, "on", 1, &on) ||
	    !str_param(&x, params, "number", on != 0, NUMBER_MAX, &number) ||
	    (on && !number_nonempty(&x, "number", number)))
		goto out;
	if (line ? !find_line(&x, line, false, &li, &acc) : !first_own_line(&x, &li, &acc))
		goto out;
	if (!may_remote(&x, &li, &acc) || !need_cap(&x, &li, UCS_CAP_REMOTE_OFFICE))
		goto out;
	q.line = li.id;
	q.on = on != 0;
	if (on)
		snprintf(q.number, sizeof(q.number), "%s", number);
	control(x.s, id, &q, 1);
out:
	ctx_close(&x);
}
