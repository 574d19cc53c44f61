/*
 * plugins/lines/lm_remote.c - remote office: calls of a business line made
 * from anywhere (a mobile), shown with the business number.
 *
 * Native: a group whose driver says UCS_LGF_NATIVE_REMOTE_OFFICE gets the
 * request as it is (UCS_OP_REMOTE_OFFICE, the number as a forwarding
 * destination). Emulated, as the manual describes, when the line can set
 * forwarding, make calls and transfer: switching it on forwards the line
 * immediately to the remote number; a call made on the line then first
 * calls the remote number, and once that call is connected it is
 * transferred (blind) to the number the user wanted (answered: ESTABLISHED,
 * not the caller's own "connected" of ECMA-269 while it still rings). Switching it off
 * clears the forwarding. A line that can do neither does not offer
 * UCS_CAP_REMOTE_OFFICE, and the request is refused with -ENOTSUP before
 * it gets here. The group option "remote_office" switches it off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lm.h"

#define EMULATION_CAPS (UCS_CAP_FWD_IMMEDIATE | UCS_CAP_MAKE_CALL | UCS_CAP_TRANSFER)

static bool native(const struct lm_line *l)
{
	return (l->group->desc.flags & UCS_LGF_NATIVE_REMOTE_OFFICE) != 0;
}

bool lm_remote_possible(const struct lm_line *l)
{
	uint64_t caps =
		(l->desc.caps ? l->desc.caps : l->group->desc.caps) & ~l->group->conf.cti_off;

	if (!l->group->conf.remote_office)
		return false;
	return native(l) || (caps & EMULATION_CAPS) == EMULATION_CAPS;
}

bool lm_remote_emulated(const struct lm_line *l)
{
	return lm_remote_possible(l) && !native(l);
}

/* The forwarding for remote office answered. */
static void forwarded(struct lm *m, struct lm_req *rq, int status, const char *reason,
		      const char *call)
{
	struct lm_line *l = lm_line_find(m, rq->line);

	if (status == 0 && l) {
		l->ro_on = rq->rq.op == UCS_OP_FORWARD_SET;
		snprintf(l->ro_number, sizeof(l->ro_number), "%s", l->ro_on ? rq->arg_text : "");
		if (l->ro_on)
			LM_LOG(m, UCS_LOG_INFO, "line %s: remote office on to %s", l->info.id.text,
			       rq->rq.number);
		else
			LM_LOG(m, UCS_LOG_INFO, "line %s: remote office off", l->info.id.text);
	}
	lm_reply_done(m, rq, status, reason, call);
}

void lm_remote_control(struct lm *m, struct lm_line *l, const struct ucs_call_control *q,
		       struct ucs_request *req)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .on = q->on != 0};
	char dial[128] = "", why[160];
	int err;

	if (q->on) {
		err = lm_number_dial(m, l, UCS_DP_FORWARD, q->number, NULL, rq.number,
				     sizeof(rq.number), why, sizeof(why));
		if (!err)
			err = lm_number_dial(m, l, UCS_DP_DIAL, q->number, NULL, dial, sizeof(dial),
					     why, sizeof(why));
		if (err) {
			lm_control_reply(m, req, err, "", why);
			return;
		}
	}
	if (native(l)) {
		rq.op = UCS_OP_REMOTE_OFFICE;
		lm_request_send(m, l, &rq, lm_reply_done, req, NULL, NULL);
		return;
	}
	rq.op = q->on ? UCS_OP_FORWARD_SET : UCS_OP_FORWARD_CLEAR;
	rq.mode = UCS_FWD_IMMEDIATE;
	lm_request_send(m, l, &rq, forwarded, req, NULL, dial);
}

/* The call to the remote number was made: it is transferred when it connects. */
static void ro_made(struct lm *m, struct lm_req *rq, int status, const char *reason,
		    const char *call)
{
	struct lm_line *l = lm_line_find(m, rq->line);
	struct lm_call *c;

	if (status == 0 && l && call && *call) {
		c = lm_call_by_pbx(l, call);
		if (c) {
			c->ro_transfer = true;
			snprintf(c->ro_target, sizeof(c->ro_target), "%s", rq->arg_text);
			if (c->answered)
				lm_remote_call_changed(m, l, c);
		} else {
			snprintf(l->ro_pending, sizeof(l->ro_pending), "%s", call);
			snprintf(l->ro_target, sizeof(l->ro_target), "%s", rq->arg_text);
		}
	}
	lm_reply_done(m, rq, status, reason, call);
}

bool lm_remote_make(struct lm *m, struct lm_line *l, const struct ucs_call_control *q,
		    struct ucs_request *req)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_MAKE};
	char target[128], why[160];
	int err;

	if (!l->ro_on || native(l))
		return false;
	err = lm_number_dial(m, l, UCS_DP_DIAL, q->number, q->project[0] ? q->project : NULL,
			     target, sizeof(target), why, sizeof(why));
	if (err) {
		lm_control_reply(m, req, err, "", why);
		return true;
	}
	snprintf(rq.number, sizeof(rq.number), "%s", l->ro_number);
	LM_LOG(m, UCS_LOG_INFO, "line %s: remote office call to %s through %s", l->info.id.text,
	       target, l->ro_number);
	lm_request_send(m, l, &rq, ro_made, req, NULL, target);
	return true;
}

static void transferred(struct lm *m, struct lm_req *rq, int status, const char *reason,
			const char *call)
{
	(void)call;
	if (status)
		LM_LOG(m, UCS_LOG_WARNING, "line %s: remote office transfer to %s failed: %s",
		       rq->line, rq->rq.number, reason);
	else
		LM_LOG(m, UCS_LOG_INFO, "line %s: remote office call transferred to %s", rq->line,
		       rq->rq.number);
}

void lm_remote_call_changed(struct lm *m, struct lm_line *l, struct lm_call *c)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_TRANSFER};

	if (l->ro_pending[0] && strcmp(l->ro_pending, c->pbx) == 0) {
		c->ro_transfer = true;
		snprintf(c->ro_target, sizeof(c->ro_target), "%s", l->ro_target);
		l->ro_pending[0] = '\0';
	}
	/* the mobile must have answered: a caller's connection is "connected"
	 * from the moment it dials (ECMA-269), which is not yet an answer */
	if (!c->ro_transfer || !c->answered || c->ci.state != UCS_CS_CONNECTED)
		return;
	c->ro_transfer = false;
	snprintf(rq.call, sizeof(rq.call), "%s", c->pbx);
	snprintf(rq.number, sizeof(rq.number), "%s", c->ro_target);
	lm_request_send(m, l, &rq, transferred, NULL, NULL, NULL);
}
