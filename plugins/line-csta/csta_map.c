/*
 * plugins/line-csta/csta_map.c - between CSTA and the line-driver contract
 * (ucs/line.h): events and snapshots become call_event / line_forwarding /
 * line_dnd / line_status, the manager's requests become CSTA services, and
 * their answers become request_done.
 *
 * Numbers pass as the PBX wrote them; the only thing removed besides the
 * XML is ECMA-269's dialling-number wrapper "N<...>", which is notation,
 * not number. Which party is the line's own the manager works out; the
 * driver only needs it for the state of the line's connection when the PBX
 * leaves localConnectionInfo out, and to tell the held call from the
 * active one when it asks for a transfer or a conference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "csta.h"

void csta_unwrap_number(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in);

	if (len >= 3 && in[0] == 'N' && in[1] == '<' && in[len - 1] == '>') {
		in += 2;
		len -= 3;
	}
	if (len >= cap)
		len = cap - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

uint64_t csta_caps(void)
{
	return UCS_CAP_MAKE_CALL | UCS_CAP_ANSWER | UCS_CAP_CLEAR_CONNECTION | UCS_CAP_CLEAR_CALL |
	       UCS_CAP_HOLD | UCS_CAP_RETRIEVE | UCS_CAP_CONSULT | UCS_CAP_TRANSFER |
	       UCS_CAP_CONFERENCE | UCS_CAP_ALTERNATE | UCS_CAP_RECONNECT | UCS_CAP_DEFLECT |
	       UCS_CAP_PICKUP | UCS_CAP_GROUP_PICKUP | UCS_CAP_DTMF | UCS_CAP_FWD_IMMEDIATE |
	       UCS_CAP_FWD_BUSY | UCS_CAP_FWD_NOANSWER | UCS_CAP_DND | UCS_CAP_SNAPSHOT |
	       UCS_CAP_OPEN_ON_DEMAND;
}

static int same_device(const char *a, const char *b)
{
	char x[CSTA_DEV_MAX], y[CSTA_DEV_MAX];

	if (!a[0] || !b[0])
		return 0;
	csta_unwrap_number(a, x, sizeof(x));
	csta_unwrap_number(b, y, sizeof(y));
	return !strcmp(x, y);
}

struct state_name {
	const char *name;
	int state;
};

static int lookup_state(const struct state_name *map, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, map[i].name))
			return map[i].state;
	return -1;
}

/* ECMA-323 LocalConnectionState (localConnectionInfo, compoundCallState). */
static int conn_state(const char *s)
{
	static const struct state_name map[] = {
		{"null", UCS_CS_NULL},	       {"initiated", UCS_CS_INITIATED},
		{"alerting", UCS_CS_ALERTING}, {"connected", UCS_CS_CONNECTED},
		{"hold", UCS_CS_HELD},	       {"held", UCS_CS_HELD},
		{"queued", UCS_CS_QUEUED},     {"fail", UCS_CS_FAILED},
		{"failed", UCS_CS_FAILED},
	};

	return lookup_state(map, sizeof(map) / sizeof(map[0]), s);
}

/*
 * ECMA-269 SimpleCallState describes a two-party call in one value whose
 * code is two connection states: the far end's in the high nibble, the
 * local (this device's) in the low one (null 0, initiated 1, alerting 2,
 * connected 3, held 4, queued 5, failed 6). callDelivered (0x23) is an
 * outgoing call ringing at the far end - the local connection is
 * connected; callReceived (0x32) rings here. "...Held" means this device
 * holds the call, "...OnHold" that the far end holds it (locally it is as
 * the state says). The line gets the local half.
 */
static int simple_state(const char *s)
{
	static const struct state_name map[] = {
		{"callNull", UCS_CS_NULL},		     /* 0x00 null-null */
		{"callPending", UCS_CS_INITIATED},	     /* 0x01 null-initiated */
		{"callOriginated", UCS_CS_CONNECTED},	     /* 0x03 null-connected */
		{"callDelivered", UCS_CS_CONNECTED},	     /* 0x23 alerting-connected */
		{"callDeliveredHeld", UCS_CS_HELD},	     /* 0x24 alerting-held */
		{"callReceived", UCS_CS_ALERTING},	     /* 0x32 connected-alerting */
		{"callEstablished", UCS_CS_CONNECTED},	     /* 0x33 connected-connected */
		{"callEstablishedHeld", UCS_CS_HELD},	     /* 0x34 connected-held */
		{"callReceivedOnHold", UCS_CS_ALERTING},     /* 0x42 held-alerting */
		{"callEstablishedOnHold", UCS_CS_CONNECTED}, /* 0x43 held-connected */
		{"callQueued", UCS_CS_CONNECTED},	     /* 0x53 queued-connected */
		{"callQueuedHeld", UCS_CS_HELD},	     /* 0x54 queued-held */
		{"callBlocked", UCS_CS_NULL},		     /* 0x60 failed-null */
		{"callFailed", UCS_CS_CONNECTED},	     /* 0x63 failed-connected */
		{"callFailedHeld", UCS_CS_HELD},	     /* 0x64 failed-held */
	};

	return lookup_state(map, sizeof(map) / sizeof(map[0]), s);
}

/* The state of the line's connection after event m, when m does not say. */
static int infer_state(const struct csta_dev *d, const struct csta_msg *m)
{
	int own = same_device(m->device, d->device);
	int known = csta_dev_call_state(d, m->call);

	/* Delivered and Established at another device (a hunt group's other
	 * member ringing or answering, the far end of this device's own call)
	 * leave this device's connection as it was: a member still ringing is
	 * not connected by its neighbour's answer. */
	int mine = own || same_device(m->connected, d->device);

	switch (m->type) {
	case CSTA_T_EV_SERVICE_INITIATED:
		return UCS_CS_INITIATED;
	case CSTA_T_EV_ORIGINATED:
	case CSTA_T_EV_RETRIEVED:
	case CSTA_T_EV_CONFERENCED:
		return UCS_CS_CONNECTED;
	case CSTA_T_EV_ESTABLISHED:
		return mine || known < 0 || known == UCS_CS_INITIATED ? UCS_CS_CONNECTED : known;
	case CSTA_T_EV_DELIVERED:
		if (mine)
			return UCS_CS_ALERTING;
		/* a caller that dialled is connected once the far end rings */
		return known >= 0 && known != UCS_CS_INITIATED ? known : UCS_CS_CONNECTED;
	case CSTA_T_EV_HELD:
		return own || same_device(m->subject, d->device) ? UCS_CS_HELD : UCS_CS_CONNECTED;
	case CSTA_T_EV_DIVERTED:
		/* The call left the diverting device and rings at the new
		 * destination; any other line (the caller's) stays as it was. */
		if (same_device(m->redirecting, d->device))
			return UCS_CS_NULL;
		if (same_device(m->connected, d->device))
			return UCS_CS_ALERTING;
		return known >= 0 ? known : UCS_CS_CONNECTED;
	case CSTA_T_EV_TRANSFERRED:
		return same_device(m->subject, d->device) ? UCS_CS_NULL : UCS_CS_CONNECTED;
	case CSTA_T_EV_CONNECTION_CLEARED:
		return own ? UCS_CS_NULL : known >= 0 ? known : UCS_CS_CONNECTED;
	case CSTA_T_EV_CALL_CLEARED:
		return UCS_CS_NULL;
	case CSTA_T_EV_FAILED:
		return own ? UCS_CS_FAILED : known >= 0 ? known : UCS_CS_CONNECTED;
	}
	return known >= 0 ? known : UCS_CS_CONNECTED;
}

static int event_of(int type)
{
	switch (type) {
	case CSTA_T_EV_SERVICE_INITIATED:
		return UCS_CE_SERVICE_INITIATED;
	case CSTA_T_EV_ORIGINATED:
		return UCS_CE_ORIGINATED;
	case CSTA_T_EV_DELIVERED:
		return UCS_CE_DELIVERED;
	case CSTA_T_EV_ESTABLISHED:
		return UCS_CE_ESTABLISHED;
	case CSTA_T_EV_HELD:
		return UCS_CE_HELD;
	case CSTA_T_EV_RETRIEVED:
		return UCS_CE_RETRIEVED;
	case CSTA_T_EV_DIVERTED:
		return UCS_CE_DIVERTED;
	case CSTA_T_EV_TRANSFERRED:
		return UCS_CE_TRANSFERRED;
	case CSTA_T_EV_CONFERENCED:
		return UCS_CE_CONFERENCED;
	case CSTA_T_EV_CONNECTION_CLEARED:
		return UCS_CE_CONNECTION_CLEARED;
	case CSTA_T_EV_CALL_CLEARED:
		return UCS_CE_CALL_CLEARED;
	case CSTA_T_EV_FAILED:
		return UCS_CE_FAILED;
	}
	return -1;
}

static int fwd_mode(const char *type)
{
	if (!strcmp(type, "forwardImmediate") || !strcmp(type, "forwardImmInt") ||
	    !strcmp(type, "forwardImmExt"))
		return UCS_FWD_IMMEDIATE;
	if (!strncmp(type, "forwardBusy", 11))
		return UCS_FWD_BUSY;
	if (!strncmp(type, "forwardNoAns", 12))
		return UCS_FWD_NOANSWER;
	return -1;
}

static void call_event(struct csta_link *l, struct csta_dev *d, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	struct ucs_line_call_event ev = {.size = sizeof(ev)};
	int state;

	ev.event = event_of(m->type);
	state = m->lci[0] ? conn_state(m->lci) : -1;
	if (state < 0)
		state = infer_state(d, m);
	ev.state = state;
	ev.line = d->line;
	snprintf(ev.call, sizeof(ev.call), "%s", m->call);
	snprintf(ev.old_call, sizeof(ev.old_call), "%s", m->old_call);
	csta_unwrap_number(m->calling, ev.calling, sizeof(ev.calling));
	csta_unwrap_number(m->called, ev.called, sizeof(ev.called));
	csta_unwrap_number(m->connected, ev.connected, sizeof(ev.connected));
	csta_unwrap_number(m->redirecting, ev.redirecting, sizeof(ev.redirecting));
	snprintf(ev.cause, sizeof(ev.cause), "%s", m->cause);
	if (m->calling_hidden)
		ev.flags |= UCS_LCE_CALLING_HIDDEN;
	if (m->type == CSTA_T_EV_TRANSFERRED || m->type == CSTA_T_EV_CONFERENCED)
		csta_dev_call_set(d, m->old_call, UCS_CS_NULL);
	csta_dev_call_set(d, m->call, m->type == CSTA_T_EV_CALL_CLEARED ? UCS_CS_NULL : state);
	if (c->drv)
		c->mgr->call_event(c->drv, &ev);
}

void csta_map_event(struct csta_link *l, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	uint32_t idx = 0;
	struct csta_dev *d = csta_devs_by_xref(l, m->xref, &idx);
	struct ucs_id line;
	char to[CSTA_DEV_MAX];
	int mode, was;

	if (!d && !m->xref[0] && m->device[0])
		d = csta_devs_find(l, m->device, &idx);
	if (!d || d->mon != CSTA_MON_OPEN) {
		l->unsolicited_unknown++;
		if (c->host->log->enabled(c->self, UCS_LOG_DEBUG))
			csta_log(c, UCS_LOG_DEBUG,
				 "link %s: %s for monitorCrossRefID \"%s\", which is not ours",
				 l->cfg->name, m->name, m->xref);
		return;
	}
	line = d->line; /* the manager gets copies: it may move the devices */
	switch (m->type) {
	case CSTA_T_EV_FORWARDING:
		mode = fwd_mode(m->fwd_type);
		csta_unwrap_number(m->fwd_to, to, sizeof(to));
		if (mode >= 0 && c->drv)
			c->mgr->line_forwarding(c->drv, line.text, mode, m->fwd_on, to);
		break;
	case CSTA_T_EV_DND:
		if (c->drv)
			c->mgr->line_dnd(c->drv, line.text, m->dnd_on);
		break;
	case CSTA_T_EV_OUT_OF_SERVICE:
		csta_dev_report(l, d, UCS_LS_OUT_OF_SERVICE, "out of service");
		break;
	case CSTA_T_EV_BACK_IN_SERVICE:
		/* a snapshot either way; a resync when the line stayed OPEN */
		was = d->status;
		csta_dev_report(l, d, UCS_LS_OPEN, "");
		csta_dev_resnapshot(l, idx, was == UCS_LS_OPEN);
		break;
	case CSTA_T_EV_MONITOR_ENDED:
		/* The PBX ended the monitor: start it again (a refusal then
		 * reports FAILED with the PBX's reason). */
		csta_log(c, UCS_LOG_WARNING, "line %s: the PBX ended the monitor (%s)", line.text,
			 m->cause[0] ? m->cause : "no cause given");
		d->mon = CSTA_MON_IDLE;
		d->xref[0] = '\0';
		d->due = d->resync = d->again = 0;
		d->snap_tries = 0;
		d->snap_retry_at = 0;
		d->epoch++;
		l->devs.monitors--;
		csta_dev_report(l, d, UCS_LS_NOT_AVAILABLE, "monitor ended");
		d = &l->devs.v[idx]; /* the manager may have moved the array */
		if (d->wanted)
			csta_dev_want(l, idx);
		break;
	case CSTA_T_EV_OTHER:
		break;
	default:
		if (event_of(m->type) >= 0)
			call_event(l, d, m);
		break;
	}
}

void csta_map_resync(struct csta_link *l, uint32_t idx)
{
	struct csta_ctx *c = l->ctx;
	struct ucs_id line = l->devs.v[idx].line;

	if (c->drv && UCS_HAS_SLOT(c->mgr, struct ucs_linemgr_api, line_resync))
		c->mgr->line_resync(c->drv, line.text);
}

/* The local connection's state of one snapshot entry: the compound state's
 * localConnectionState, else the simple call state's local half; -1 when
 * neither is known. */
static int snap_state(const struct csta_snap_entry *e)
{
	int state = e->local[0] ? conn_state(e->local) : -1;

	if (state < 0 && e->simple[0])
		state = simple_state(e->simple);
	return state;
}

void csta_map_snapshot(struct csta_link *l, uint32_t idx, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	struct csta_dev *d = &l->devs.v[idx];
	struct ucs_id line = d->line;

	d->ncalls = 0;
	/* SnapshotDevice lists the device's own connections, one per call. */
	for (size_t i = 0; i < m->snap_count; i++) {
		const struct csta_snap_entry *e = &m->snap[i];
		struct ucs_line_call_event ev = {.size = sizeof(ev), .event = UCS_CE_SNAPSHOT};
		int state = snap_state(e);

		if (state < 0) {
			if (!l->warned_state) {
				l->warned_state = 1;
				csta_log(
					c, UCS_LOG_WARNING,
					"link %s: unknown call state \"%s\" in the snapshot of %s; "
					"taken as connected (said once per connection)",
					l->cfg->name, e->local[0] ? e->local : e->simple,
					d->device);
			}
			state = UCS_CS_CONNECTED;
		}
		if (state == UCS_CS_NULL)
			continue;
		ev.state = state;
		ev.line = line;
		snprintf(ev.call, sizeof(ev.call), "%s", e->call);
		csta_dev_call_set(d, e->call, ev.state);
		if (c->drv)
			c->mgr->call_event(c->drv, &ev);
		d = &l->devs.v[idx]; /* the manager may have moved the array */
	}
	if (m->snap_truncated) {
		/* Calls beyond the list may be live: no line_synced, which
		 * would end them (ucs/line.h step 5). */
		csta_link_complain(l,
				   "snapshot of %s cut short after %zu calls; the line is not "
				   "marked synchronised",
				   d->device, m->snap_count);
		return;
	}
	if (c->drv)
		c->mgr->line_synced(c->drv, line.text);
}

/* ---- requests ---- */

static struct csta_link *link_of(struct csta_ctx *c, const char *line, const char **device)
{
	const char *slash = strchr(line, '/');

	if (!slash)
		return NULL;
	for (size_t i = 0; i < c->nlinks; i++) {
		const char *name = c->links[i].cfg->name;

		if (strlen(name) == (size_t)(slash - line) && !strncmp(name, line, strlen(name))) {
			*device = slash + 1;
			return &c->links[i];
		}
	}
	return NULL;
}

static const char *fwd_type(int mode)
{
	switch (mode) {
	case UCS_FWD_IMMEDIATE:
		return "forwardImmediate";
	case UCS_FWD_BUSY:
		return "forwardBusy";
	case UCS_FWD_NOANSWER:
		return "forwardNoAns";
	}
	return NULL;
}

int csta_map_request(struct csta_ctx *c, const struct ucs_line_request *rq, uint64_t token)
{
	struct csta_req_args a = {0};
	struct csta_link *l;
	struct csta_dev *d;
	const char *device;
	uint32_t idx;
	int swap = 0, err = 0;

	l = link_of(c, rq->line.text, &device);
	d = l ? csta_devs_find(l, device, &idx) : NULL;
	if (!d) {
		err = -ENOENT;
		goto out;
	}
	if (!csta_link_is_up(l)) {
		err = -ENETDOWN;
		goto out;
	}
	a.device = d->device;
	a.conn.call = rq->call;
	a.conn.device = d->device;
	a.other.call = rq->other_call;
	a.other.device = d->device;
	a.number = rq->number;
	switch (rq->op) {
	case UCS_OP_MAKE:
		a.req = CSTA_R_MAKE_CALL;
		break;
	case UCS_OP_ANSWER:
		a.req = CSTA_R_ANSWER;
		break;
	case UCS_OP_CLEAR:
		a.req = CSTA_R_CLEAR_CONNECTION;
		break;
	case UCS_OP_CLEAR_CALL:
		a.req = CSTA_R_CLEAR_CALL;
		break;
	case UCS_OP_HOLD:
		a.req = CSTA_R_HOLD;
		break;
	case UCS_OP_RETRIEVE:
		a.req = CSTA_R_RETRIEVE;
		break;
	case UCS_OP_CONSULT:
		a.req = CSTA_R_CONSULT;
		break;
	case UCS_OP_TRANSFER:
		a.req = rq->other_call[0] ? CSTA_R_TRANSFER : CSTA_R_SINGLE_STEP_TRANSFER;
		break;
	case UCS_OP_CONFERENCE:
		a.req = CSTA_R_CONFERENCE;
		break;
	case UCS_OP_ALTERNATE:
		a.req = CSTA_R_ALTERNATE;
		break;
	case UCS_OP_RECONNECT:
		a.req = CSTA_R_RECONNECT;
		break;
	case UCS_OP_DEFLECT:
		a.req = CSTA_R_DEFLECT;
		break;
	case UCS_OP_PICKUP:
		if (rq->target.text[0]) {
			a.req = CSTA_R_DIRECTED_PICKUP;
			a.conn.device = rq->target.text;
		} else {
			a.req = CSTA_R_GROUP_PICKUP;
		}
		break;
	case UCS_OP_DTMF:
		a.req = CSTA_R_DIGITS;
		a.digits = rq->digits;
		break;
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
		a.req = CSTA_R_SET_FORWARDING;
		a.fwd_type = fwd_type(rq->mode);
		a.on = rq->op == UCS_OP_FORWARD_SET;
		if (!a.on)
			a.number = "";
		if (!a.fwd_type)
			err = -EINVAL;
		break;
	case UCS_OP_DND_SET:
		a.req = CSTA_R_SET_DND;
		a.on = rq->on;
		break;
	default:
		err = -ENOTSUP;
		goto out;
	}
	switch (a.req) {
	case CSTA_R_MAKE_CALL:
		if (!rq->number[0])
			err = -EINVAL;
		break;
	case CSTA_R_CONSULT:
	case CSTA_R_SINGLE_STEP_TRANSFER:
	case CSTA_R_DEFLECT:
		/* the call to consult from, transfer or deflect, and where to */
		if (!rq->call[0] || !rq->number[0])
			err = -EINVAL;
		break;
	case CSTA_R_DIGITS:
		if (!rq->call[0] || !rq->digits[0])
			err = -EINVAL;
		break;
	case CSTA_R_TRANSFER:
	case CSTA_R_CONFERENCE:
	case CSTA_R_ALTERNATE:
	case CSTA_R_RECONNECT:
		if (!rq->other_call[0]) {
			err = -EINVAL;
			break;
		}
		/* heldCall is the one the line holds, whichever the manager named first */
		swap = csta_dev_call_state(d, rq->call) != UCS_CS_HELD &&
		       csta_dev_call_state(d, rq->other_call) == UCS_CS_HELD;
		if (swap) {
			a.conn.call = rq->other_call;
			a.other.call = rq->call;
		}
		break;
	case CSTA_R_SET_FORWARDING:
	case CSTA_R_SET_DND:
	case CSTA_R_GROUP_PICKUP:
		break;
	case CSTA_R_DIRECTED_PICKUP:
		break;
	default:
		if (!rq->call[0])
			err = -EINVAL;
		break;
	}
	if (!err)
		err = csta_link_request(l, &a, CSTA_P_USER, idx, token);
out:
	return err;
}

void csta_map_answer(struct csta_link *l, const struct csta_pending *p, int err,
		     const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	const char *reason = "";

	if (!c->drv)
		return;
	if (err == -EREMOTEIO)
		reason = m && m->error[0] ? m->error : "refused";
	else if (err == -ETIMEDOUT)
		reason = "no answer from the PBX";
	else if (err == -ENETDOWN)
		reason = "link to the PBX lost";
	c->mgr->request_done(c->drv, p->token, err, reason, !err && m ? m->call : "");
}

void csta_map_features(struct csta_link *l, uint32_t idx, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	struct ucs_id line = l->devs.v[idx].line; /* the manager may move the devices */

	if (!c->drv)
		return;
	if (m->type == CSTA_T_GET_DND_RESP) {
		c->mgr->line_dnd(c->drv, line.text, m->dnd_on);
		return;
	}
	if (m->type != CSTA_T_GET_FWD_RESP)
		return;
	/* Every mode: what the PBX lists, off for what it leaves out. */
	for (int mode = 0; mode < UCS_FWD_MODES; mode++) {
		char to[CSTA_DEV_MAX] = "";
		int on = 0;

		for (size_t i = 0; i < m->fwd_count; i++)
			if (fwd_mode(m->fwd[i].type) == mode && (m->fwd[i].on || !on)) {
				on = m->fwd[i].on;
				csta_unwrap_number(m->fwd[i].to, to, sizeof(to));
			}
		c->mgr->line_forwarding(c->drv, line.text, mode, on, on ? to : "");
	}
}
