/*
 * plugins/lines/lm_control.c - the "call.control" request: rights,
 * capabilities, the line's state, the call, the number dialled, then the
 * driver.
 *
 * Checks run in that order, so the answer says the first thing that is
 * wrong: -ENOENT (no such line), -EPERM (rights, lm_rights.c), -ENOTSUP
 * (the line does not offer it: the driver's capabilities minus the group's
 * "CTI functions switched off"), -ENETDOWN (the line is not open), -ENOENT
 * (no such call on the line), -EINVAL (the number cannot be dialled); then
 * the driver's answer: 0, -EREMOTEIO with the PBX's words, -ETIMEDOUT.
 *
 * Pickup follows the manual: the call ringing at the target is first
 * redirected (deflected) to the picking line; when that fails, when the
 * group says "always pick up", or when the target's driver cannot deflect,
 * it is picked up directly; a driver without directed pickup dials the
 * group's pickup feature code with the target's internal number instead,
 * and so does a direct pickup the PBX refuses (once). A pickup naming no
 * target is a group pickup on the picking line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "lm_rights.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

uint64_t lm_op_cap(int op, int mode)
{
	static const uint64_t fwd[] = {UCS_CAP_FWD_IMMEDIATE, UCS_CAP_FWD_BUSY,
				       UCS_CAP_FWD_NOANSWER};

	switch (op) {
	case UCS_OP_MAKE:
		return UCS_CAP_MAKE_CALL;
	case UCS_OP_ANSWER:
		return UCS_CAP_ANSWER;
	case UCS_OP_CLEAR:
		return UCS_CAP_CLEAR_CONNECTION;
	case UCS_OP_CLEAR_CALL:
		return UCS_CAP_CLEAR_CALL;
	case UCS_OP_HOLD:
		return UCS_CAP_HOLD;
	case UCS_OP_RETRIEVE:
		return UCS_CAP_RETRIEVE;
	case UCS_OP_CONSULT:
		return UCS_CAP_CONSULT;
	case UCS_OP_TRANSFER:
		return UCS_CAP_TRANSFER;
	case UCS_OP_CONFERENCE:
		return UCS_CAP_CONFERENCE;
	case UCS_OP_ALTERNATE:
		return UCS_CAP_ALTERNATE;
	case UCS_OP_RECONNECT:
		return UCS_CAP_RECONNECT;
	case UCS_OP_DEFLECT:
		return UCS_CAP_DEFLECT;
	case UCS_OP_PICKUP:
		return UCS_CAP_PICKUP;
	case UCS_OP_DTMF:
		return UCS_CAP_DTMF;
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
		return mode >= 0 && mode < UCS_FWD_MODES ? fwd[mode] : 0;
	case UCS_OP_DND_SET:
		return UCS_CAP_DND;
	case UCS_OP_REMOTE_OFFICE:
		return UCS_CAP_REMOTE_OFFICE;
	}
	return 0;
}

void lm_control_reply(struct lm *m, struct ucs_request *req, int status, const char *call,
		      const char *reason)
{
	struct ucs_call_control_result r = {.size = sizeof(r), .status = status};
	struct ucs_msg *msg = NULL;

	if (!req)
		return;
	snprintf(r.call.text, sizeof(r.call.text), "%s", call ? call : "");
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	if (m->host->bus->msg_new(m->t_result, NULL, &r, sizeof(r), &msg))
		msg = NULL;
	m->host->bus->reply(req, status, msg);
}

/* Does the request create a call (ucs/lines.h: "the new call (make,
 * consult, pickup)")? A pickup by feature code goes out as a make. */
static bool creates_call(int op)
{
	return op == UCS_OP_MAKE || op == UCS_OP_CONSULT || op == UCS_OP_PICKUP;
}

/* The usual end of a request: the answer goes to the requester; a call the
 * request created is named by its published id. Whatever id a driver hands
 * back for another operation (a transfer's surviving call, say) is not a
 * new call: the result's call stays empty and the call is not marked as
 * made by the request. */
void lm_reply_done(struct lm *m, struct lm_req *rq, int status, const char *reason,
		   const char *call)
{
	struct lm_line *l = lm_line_find(m, rq->line);
	struct ucs_id id = {{0}};

	if (status == 0 && call && *call && l && creates_call(rq->rq.op)) {
		/* a call whose events came first is named as it was published */
		const struct lm_call *c = lm_call_by_pbx(l, call);

		if (c)
			id = c->ci.call;
		else
			lm_call_id(l, call, &id);
		lm_calls_made(m, l, call, &rq->extra);
	}
	lm_control_reply(m, rq->bus_req, status, id.text, reason);
}

/* A user's deflect answered: a refusal takes the departure mark back. */
static void deflect_done(struct lm *m, struct lm_req *rq, int status, const char *reason,
			 const char *call)
{
	if (status)
		lm_call_leaving_clear(m, rq->line, rq->rq.call, UCS_END_DEFLECTED);
	lm_reply_done(m, rq, status, reason, call);
}

/* ---- pickup -------------------------------------------------------------------------- */

/* A pickup that failed brings no call: the picking line's next call is not
 * its result. */
static void pickup_failed(struct lm *m, const char *line)
{
	struct lm_line *l = lm_line_find(m, line);

	if (l)
		l->pickup_until_ms = 0;
}

/* The answer to a pickup the picking line sent itself (code, group). */
static void pickup_own_done(struct lm *m, struct lm_req *rq, int status, const char *reason,
			    const char *call)
{
	if (status)
		pickup_failed(m, rq->line);
	lm_reply_done(m, rq, status, reason, call);
}

static uint64_t driver_caps(const struct lm_line *l)
{
	return (l->desc.caps ? l->desc.caps : l->group->desc.caps) & ~l->group->conf.cti_off;
}

static void pickup_direct(struct lm *m, struct lm_line *l, struct lm_line *t, const char *pbx,
			  struct ucs_request *req);

/* The redirect step answered: done, or pick up directly. */
static void pickup_deflected(struct lm *m, struct lm_req *rq, int status, const char *reason,
			     const char *call)
{
	struct lm_line *l = lm_line_find(m, rq->arg_text);
	struct lm_line *t = lm_line_find(m, rq->line);
	struct ucs_id id;

	(void)call;
	if (status) {
		lm_call_leaving_clear(m, rq->line, rq->rq.call, UCS_END_PICKED_UP);
		pickup_failed(m, rq->arg_text);
	}
	if (status == 0 && t) {
		lm_call_id(t, rq->rq.call, &id);
		lm_control_reply(m, rq->bus_req, 0, id.text, "");
		return;
	}
	/* only the PBX's refusal is worth the direct way; a driver that is gone
	 * (-ENETDOWN), a server that stops (-ESHUTDOWN) or a timeout is not */
	if (status != -EREMOTEIO || !l || !t || l->info.status != UCS_LS_OPEN ||
	    l->group->drv->removed) {
		lm_control_reply(m, rq->bus_req, status, "", reason);
		return;
	}
	LM_LOG(m, UCS_LOG_INFO, "pickup of %s on %s: redirect failed (%s), picking up", rq->rq.call,
	       t->info.id.text, reason);
	pickup_direct(m, l, t, rq->rq.call, rq->bus_req);
}

/* The pickup feature code of l's group dialled from l with t's internal
 * number: 0 when sent (the answer goes to req), -ENOTSUP when there is no
 * code or it does not fit. */
static int pickup_by_code(struct lm *m, struct lm_line *l, struct lm_line *t,
			  struct ucs_request *req)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_MAKE};

	if (!l->group->conf.pickup_code[0] || !(driver_caps(l) & UCS_CAP_MAKE_CALL) ||
	    lm_pickup_code_expand(l->group->conf.pickup_code, t->info.internal.text, rq.number,
				  sizeof(rq.number)) != 0)
		return -ENOTSUP;
	l->pickup_until_ms = lm_now_ms() + m->conf.request_timeout_ms;
	lm_request_send(m, l, &rq, pickup_own_done, req, NULL, NULL);
	return 0;
}

/* The direct pickup answered: done; when the PBX refused it, the manual's
 * last resort is the group's pickup feature code (once). */
static void pickup_picked(struct lm *m, struct lm_req *rq, int status, const char *reason,
			  const char *call)
{
	struct lm_line *l = lm_line_find(m, rq->line);
	struct lm_line *t = lm_line_find(m, rq->arg_text);

	if (status && t)
		lm_call_leaving_clear(m, t->info.id.text, rq->rq.call, UCS_END_PICKED_UP);
	if (status)
		pickup_failed(m, rq->line);
	if (status == -EREMOTEIO && l && t && l->info.status == UCS_LS_OPEN &&
	    !l->group->drv->removed && l->group->conf.pickup_code[0]) {
		LM_LOG(m, UCS_LOG_INFO,
		       "pickup of %s on %s: direct pickup failed (%s), dialling the pickup code",
		       rq->rq.call, t->info.id.text, reason);
		if (pickup_by_code(m, l, t, rq->bus_req) == 0)
			return;
	}
	lm_reply_done(m, rq, status, reason, call);
}

static void pickup_direct(struct lm *m, struct lm_line *l, struct lm_line *t, const char *pbx,
			  struct ucs_request *req)
{
	struct ucs_line_request rq = {.size = sizeof(rq)};

	/* a device id means something only to its own PBX */
	if (l->group->drv != t->group->drv) {
		lm_control_reply(m, req, -ENOTSUP, "",
				 "the call rings on another PBX: it can only be redirected");
		return;
	}
	/* the redirect step's mark went with its failure */
	l->pickup_until_ms = 0;
	if (driver_caps(l) & UCS_CAP_PICKUP) {
		rq.op = UCS_OP_PICKUP;
		snprintf(rq.call, sizeof(rq.call), "%s", pbx);
		snprintf(rq.target.text, sizeof(rq.target.text), "%s", t->desc.device.text);
		l->pickup_until_ms = lm_now_ms() + m->conf.request_timeout_ms;
		/* the ringing line's part ends as picked up, by the picking line */
		lm_call_leaving(m, t, pbx, UCS_END_PICKED_UP, l->desc.device.text);
		lm_request_send(m, l, &rq, pickup_picked, req, NULL, t->info.id.text);
		return;
	}
	if (pickup_by_code(m, l, t, req) != 0)
		lm_control_reply(m, req, -ENOTSUP, "", "the line cannot pick up calls");
}

/* The call to pick up on t: the one the request names, or the ringing one. */
static struct lm_call *pick_call(struct lm_line *t, const struct ucs_call_control *q)
{
	struct lm_call *c;

	if (!q->call.text[0])
		return lm_call_alerting(t);
	c = lm_call_find(t, q->call.text);
	return c && c->ci.state == UCS_CS_ALERTING ? c : NULL;
}

static void pickup(struct lm *m, struct lm_line *l, const struct ucs_call_control *q,
		   struct ucs_request *req)
{
	const struct ucs_presence_api *pres = m->host->service->find(UCS_PRESENCE_SERVICE, 1, NULL);
	struct lm_line *t = NULL;
	struct lm_call *c = NULL;
	char why[160] = "";
	int err = -ENOENT;

	if (q->target_line.text[0]) {
		t = lm_line_find(m, q->target_line.text);
		if (t && t->used)
			err = lm_may(m, q->actor.text, t, LM_NEED_PICKUP, why, sizeof(why));
		c = t && !err ? pick_call(t, q) : NULL;
	} else if (q->target_user.text[0] && pres) {
		struct ucs_id ids[32];
		int32_t classes[32];
		int n = pres->lines(q->target_user.text, ids, classes, 32);

		for (int i = 0; i < n && i < 32 && !c; i++) {
			struct lm_line *o = lm_line_find(m, ids[i].text);
			int e;

			if (!o || !o->used)
				continue;
			e = lm_may(m, q->actor.text, o, LM_NEED_PICKUP, why, sizeof(why));
			if (e) {
				if (err == -ENOENT)
					err = e;
				continue;
			}
			err = 0;
			if ((c = pick_call(o, q)))
				t = o;
		}
	}
	if (err) {
		lm_control_reply(m, req, err, "", why[0] ? why : "no such line to pick up from");
		return;
	}
	if (!c) {
		lm_control_reply(m, req, -ENOENT, "", "no call to pick up");
		return;
	}
	if (!l->group->conf.always_pickup && (driver_caps(t) & UCS_CAP_DEFLECT) &&
	    t->info.status == UCS_LS_OPEN) {
		struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_DEFLECT};

		snprintf(rq.call, sizeof(rq.call), "%s", c->pbx);
		if (l->group->drv == t->group->drv) {
			snprintf(rq.number, sizeof(rq.number), "%s", l->desc.device.text);
		} else if (lm_number_dial(m, t, UCS_DP_DIAL, l->info.number.canonical.text, NULL,
					  rq.number, sizeof(rq.number), why, sizeof(why))) {
			/* another PBX: the picking line's full number, dialled from t */
			lm_control_reply(m, req, -ENOTSUP, "", why);
			return;
		}
		/* a pickup for the journal, however the PBX moves it: the ringing
		 * line's part ends picked up, and the call that arrives at the
		 * picking line is the picked one */
		lm_call_leaving(m, t, c->pbx, UCS_END_PICKED_UP, rq.number);
		l->pickup_until_ms = lm_now_ms() + m->conf.request_timeout_ms;
		lm_request_send(m, t, &rq, pickup_deflected, req, NULL, l->info.id.text);
		return;
	}
	pickup_direct(m, l, t, c->pbx, req);
}

/* A pickup naming neither a line nor a user picks up whatever rings in the
 * picking line's pickup group at the PBX: the driver gets a pickup with no
 * target and no call (CSTA GroupPickupCall, the picking device as the new
 * destination). */
static bool is_group_pickup(const struct ucs_call_control *q)
{
	return q->op == UCS_OP_PICKUP && !q->target_line.text[0] && !q->target_user.text[0];
}

static void group_pickup(struct lm *m, struct lm_line *l, struct ucs_request *req)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_PICKUP};

	l->pickup_until_ms = lm_now_ms() + m->conf.request_timeout_ms;
	lm_request_send(m, l, &rq, pickup_own_done, req, NULL, NULL);
}

/* ---- serving ---------------------------------------------------------------------------- */

static bool needs_call(int op)
{
	switch (op) {
	case UCS_OP_ANSWER:
	case UCS_OP_CLEAR:
	case UCS_OP_CLEAR_CALL:
	case UCS_OP_HOLD:
	case UCS_OP_RETRIEVE:
	case UCS_OP_CONSULT:
	case UCS_OP_TRANSFER:
	case UCS_OP_CONFERENCE:
	case UCS_OP_ALTERNATE:
	case UCS_OP_RECONNECT:
	case UCS_OP_DEFLECT:
	case UCS_OP_DTMF:
		return true;
	}
	return false;
}

static enum lm_need need_of(const struct ucs_call_control *q)
{
	switch (q->op) {
	case UCS_OP_MAKE:
	case UCS_OP_CONSULT:
	case UCS_OP_DEFLECT:
		return LM_NEED_DIAL;
	case UCS_OP_TRANSFER:
		return q->other_call.text[0] ? LM_NEED_CONTROL : LM_NEED_DIAL;
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
	case UCS_OP_DND_SET:
		return LM_NEED_FORWARD;
	case UCS_OP_REMOTE_OFFICE:
		return LM_NEED_OWN;
	}
	return LM_NEED_CONTROL;
}

static bool well_formed(const struct ucs_call_control *q)
{
	return TERMINATED(q->actor.text) && TERMINATED(q->line.text) && TERMINATED(q->call.text) &&
	       TERMINATED(q->other_call.text) && TERMINATED(q->target_line.text) &&
	       TERMINATED(q->target_user.text) && TERMINATED(q->number) && TERMINATED(q->project) &&
	       TERMINATED(q->digits) && q->op >= UCS_OP_MAKE && q->op <= UCS_OP_REMOTE_OFFICE;
}

void lm_control_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct lm *m = arg;
	size_t len = 0;
	const struct ucs_call_control *q = m->host->bus->msg_payload(msg, &len);
	struct ucs_line_request rq = {.size = sizeof(rq)};
	struct lm_line *l;
	struct lm_call *c = NULL, *o = NULL;
	struct ucs_dp_dial_result res;
	struct lm_dial_extra x = {0};
	uint64_t cap;
	char why[200] = "";
	int err;

	if (!q || len < sizeof(*q) || !well_formed(q)) {
		lm_control_reply(m, req, -EINVAL, "", "malformed request");
		return;
	}
	/* every request, before anything is decided: who asked for what (one
	 * line per request: the audit of control; the client protocol's tests
	 * read it) */
	LM_LOG(m, UCS_LOG_INFO, "call.control %s line %s actor %s", lm_op_name(q->op), q->line.text,
	       q->actor.text[0] ? q->actor.text : "-");
	l = lm_line_find(m, q->line.text);
	if (!l || !l->used) {
		snprintf(why, sizeof(why), "no line %.64s", q->line.text);
		lm_control_reply(m, req, -ENOENT, "", why);
		return;
	}
	err = lm_may(m, q->actor.text, l, q->op == UCS_OP_PICKUP ? LM_NEED_CONTROL : need_of(q),
		     why, sizeof(why));
	if (err) {
		lm_control_reply(m, req, err, "", why);
		return;
	}
	cap = lm_op_cap(q->op, q->mode);
	if (is_group_pickup(q))
		cap = UCS_CAP_GROUP_PICKUP;
	if (!cap || !(l->info.caps & cap)) {
		snprintf(why, sizeof(why), "line %.64s does not offer %s", l->info.id.text,
			 cap ? lm_cap_names[__builtin_ctzll(cap)] : "this");
		lm_control_reply(m, req, -ENOTSUP, "", why);
		return;
	}
	if (l->info.status != UCS_LS_OPEN) {
		snprintf(why, sizeof(why), "line %.64s is not available (%s)", l->info.id.text,
			 lm_status_name(l->info.status));
		lm_control_reply(m, req, -ENETDOWN, "", why);
		return;
	}
	if (needs_call(q->op) && !(c = lm_call_find(l, q->call.text))) {
		snprintf(why, sizeof(why), "no call %.64s on line %.64s", q->call.text,
			 l->info.id.text);
		lm_control_reply(m, req, -ENOENT, "", why);
		return;
	}
	if (q->other_call.text[0] && !(o = lm_call_find(l, q->other_call.text))) {
		snprintf(why, sizeof(why), "no call %.64s on line %.64s", q->other_call.text,
			 l->info.id.text);
		lm_control_reply(m, req, -ENOENT, "", why);
		return;
	}
	switch (q->op) {
	case UCS_OP_PICKUP:
		if (is_group_pickup(q))
			group_pickup(m, l, req);
		else
			pickup(m, l, q, req);
		return;
	case UCS_OP_REMOTE_OFFICE:
		lm_remote_control(m, l, q, req);
		return;
	case UCS_OP_MAKE:
		if (lm_remote_make(m, l, q, req))
			return;
		break;
	case UCS_OP_CONFERENCE:
	case UCS_OP_ALTERNATE:
	case UCS_OP_RECONNECT:
		if (!o) {
			lm_control_reply(m, req, -EINVAL, "", "other_call is needed");
			return;
		}
		break;
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
		rq.mode = q->mode;
		break;
	}
	rq.op = q->op;
	rq.on = q->on != 0;
	if (c)
		snprintf(rq.call, sizeof(rq.call), "%s", c->pbx);
	if (o)
		snprintf(rq.other_call, sizeof(rq.other_call), "%s", o->pbx);
	snprintf(rq.digits, sizeof(rq.digits), "%s", q->digits);
	if (q->op == UCS_OP_MAKE || q->op == UCS_OP_CONSULT || q->op == UCS_OP_DEFLECT ||
	    q->op == UCS_OP_FORWARD_SET || (q->op == UCS_OP_TRANSFER && !o)) {
		err = lm_number_dial_ex(m, l,
					q->op == UCS_OP_FORWARD_SET ? UCS_DP_FORWARD : UCS_DP_DIAL,
					q->number, q->project[0] ? q->project : NULL, rq.number,
					sizeof(rq.number), why, sizeof(why), &res);
		if (err) {
			lm_control_reply(m, req, err, "", why);
			return;
		}
		/* what the dialplan says of a call made: it goes with the call */
		if (q->op == UCS_OP_MAKE || q->op == UCS_OP_CONSULT) {
			snprintf(x.project, sizeof(x.project), "%s",
				 res.project[0] ? res.project : q->project);
			snprintf(x.project_info, sizeof(x.project_info), "%s", res.project_info);
			snprintf(x.postdial, sizeof(x.postdial), "%s", res.postdial);
			x.private_call = res.private_call != 0;
		}
	}
	if (q->op == UCS_OP_DTMF && !q->digits[0]) {
		lm_control_reply(m, req, -EINVAL, "", "no digits");
		return;
	}
	if (q->op == UCS_OP_DEFLECT) {
		/* the user's own deflection: her part of the call ends so */
		lm_call_leaving(m, l, c->pbx, UCS_END_DEFLECTED, rq.number);
		lm_request_send(m, l, &rq, deflect_done, req, NULL, NULL);
		return;
	}
	/* a call made carries its project, postdial digits, private flag */
	lm_request_send_x(m, l, &rq, lm_reply_done, req, NULL, NULL, &x);
}
