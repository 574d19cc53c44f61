/*
 * plugins/lines/lm_calls.c - the calls of each line, from the driver's
 * ECMA-269 events.
 *
 * One record per call the line takes part in, keyed by the PBX's call id.
 * The published id is "<driver>/<pbx call id>" as the call first appeared
 * on the line, and stays so when a transfer or conference moves the line's
 * connection into another call (the event names the new call and the old
 * one: the record follows to the new PBX id, the journal and clients keep
 * one call). Direction and the other party are worked out from the line's
 * own device against the event's calling, called and connected devices;
 * every number goes through the dialplan at the line's location.
 *
 * Resynchronisation: every (re)open of a line starts a new generation;
 * snapshot events and live events mark the calls they name as seen in it,
 * and line_synced() ends the calls that were not (they ended while the line
 * was not watched). A call the snapshot names is kept as it is - no second
 * "delivered" - and published again only when its state changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

/* "<driver>/<pbx id>" in full; an id that does not fit (a driver name and
 * a PBX id of up to 63 bytes each) becomes "<driver>/~<hash of the pbx
 * id>", still unique for the call and stable across its events. */
void lm_call_id(const struct lm_line *l, const char *pbx, struct ucs_id *out)
{
	const char *drv = l->group->drv->name;
	uint64_t h = 1469598103934665603ull;

	size_t nd = strlen(drv), np = strlen(pbx);

	if (nd + 1 + np < sizeof(out->text)) {
		memcpy(out->text, drv, nd);
		out->text[nd] = '/';
		memcpy(out->text + nd + 1, pbx, np + 1);
		return;
	}
	for (const char *p = pbx; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(out->text, sizeof(out->text), "%.40s/~%016llx", drv, (unsigned long long)h);
}

/* The index of calls by (driver, PBX call id): the lines of one PBX call. */
static void call_key(const struct lm_call *c, char *out, size_t cap)
{
	snprintf(out, cap, "%s\x1f%s", c->line->group->drv->name, c->pbx);
}

static void call_index(struct lm *m, struct lm_call *c, bool add)
{
	char key[64 + 64 + 2];

	call_key(c, key, sizeof(key));
	if (add)
		lm_index_add(&m->by_call, key, c);
	else
		lm_index_del(&m->by_call, key, c);
}

struct lm_call *lm_call_by_pbx(struct lm_line *l, const char *pbx)
{
	for (struct lm_call *c = l->calls; c; c = c->next)
		if (strcmp(c->pbx, pbx) == 0)
			return c;
	return NULL;
}

struct lm_call *lm_call_find(struct lm_line *l, const char *id)
{
	if (!id || !*id)
		return NULL;
	for (struct lm_call *c = l->calls; c; c = c->next)
		if (strcmp(c->ci.call.text, id) == 0)
			return c;
	return lm_call_by_pbx(l, id);
}

struct lm_call *lm_call_alerting(struct lm_line *l)
{
	for (struct lm_call *c = l->calls; c; c = c->next)
		if (c->ci.state == UCS_CS_ALERTING)
			return c;
	return NULL;
}

static void call_free(struct lm *m, struct lm_line *l, struct lm_call *c)
{
	struct lm_call **pp;

	lm_redirect_call_gone(m, c);
	call_index(m, c, false);
	for (pp = &l->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	l->n_calls--;
	free(c);
}

/* A transfer or conference ends this line's part: keep its party. */
static void handover_put(struct lm *m, const struct lm_line *l, const struct lm_call *c)
{
	struct lm_handover *h = &m->handovers[m->next_handover];

	m->next_handover = (m->next_handover + 1) % LM_HANDOVERS;
	h->drv = l->group->drv;
	snprintf(h->pbx, sizeof(h->pbx), "%s", c->pbx);
	h->remote = c->ci.remote;
	snprintf(h->remote_name, sizeof(h->remote_name), "%s", c->ci.remote_name);
	h->internal = c->ci.internal;
	h->owner = l->info.number.canonical;
}

/* A party of the resulting call that is neither this line nor the line
 * that reported it: another line's live record of the call, or what a line
 * left behind when the transfer took its connection. */
static bool party_ok(const struct lm_line *l, const struct ucs_number *n, const char *owner)
{
	return n->canonical.text[0] && strcmp(n->canonical.text, l->info.number.canonical.text) &&
	       strcmp(n->canonical.text, owner);
}

static void joined_party(struct lm *m, struct lm_line *l, struct lm_call *c,
			 const struct ucs_line_call_event *ev)
{
	const char *ids[2] = {ev->call, ev->old_call};

	/* the other lines' records of the two calls: an index lookup each */
	for (int k = 0; k < 2; k++) {
		char key[64 + 64 + 2];
		void *const *v;
		size_t n;

		if (!ids[k][0])
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s", l->group->drv->name, ids[k]);
		n = lm_index_all(&m->by_call, key, &v);
		for (size_t i = 0; i < n; i++) {
			const struct lm_call *r = v[i];
			const struct lm_line *o = r->line;

			if (o == l || !party_ok(l, &r->ci.remote, o->info.number.canonical.text))
				continue;
			c->ci.remote = r->ci.remote;
			memcpy(c->ci.remote_name, r->ci.remote_name, sizeof(c->ci.remote_name));
			c->ci.internal = r->ci.internal;
			return;
		}
	}
	for (size_t i = 0; i < LM_HANDOVERS; i++) {
		const struct lm_handover *h = &m->handovers[i];

		for (int k = 0; k < 2; k++)
			if (h->drv == l->group->drv && ids[k][0] && strcmp(h->pbx, ids[k]) == 0 &&
			    party_ok(l, &h->remote, h->owner.text)) {
				c->ci.remote = h->remote;
				memcpy(c->ci.remote_name, h->remote_name,
				       sizeof(c->ci.remote_name));
				c->ci.internal = h->internal;
				return;
			}
	}
}

/* ---- how a line's part ends ------------------------------------------------------- */

static struct lm_line *party(struct lm *m, const struct lm_line *l, int kind, const char *raw,
			     struct ucs_number *out, int *internal);
static bool is_dev(const struct lm_line *l, const char *dev);

/* The published flags (UCS_CALLF_*) from what the record knows. A call
 * that came by a pickup or a transfer names the device it came from as
 * its last redirection too: that is not forwarding. */
static uint32_t flags_of(const struct lm_call *c)
{
	uint32_t f = 0;

	if (c->forwarded && !c->picked && !c->via_transfer && c->ci.direction == UCS_CALL_INCOMING)
		f |= UCS_CALLF_FORWARDED;
	if (c->picked)
		f |= UCS_CALLF_PICKUP;
	if (c->via_transfer)
		f |= UCS_CALLF_TRANSFERRED;
	if (c->conference)
		f |= UCS_CALLF_CONFERENCE;
	if (c->answered)
		f |= UCS_CALLF_ANSWERED;
	if (c->hidden)
		f |= UCS_CALLF_HIDDEN;
	return f;
}

static bool cause_is(const char *cause, const char *name)
{
	return cause && strcmp(cause, name) == 0;
}

/* A PBX diversion (forwarding of any kind, distribution in a hunt group)
 * by its ECMA-269 cause. */
static bool cause_forwarding(const char *cause)
{
	return cause && (strncmp(cause, "callForward", 11) == 0 ||
			 strcmp(cause, "distributed") == 0 || strcmp(cause, "redirected") == 0);
}

/* Whether ucsd's departure mark explains this diversion: only while it is
 * fresh, and only for a cause a deflection or pickup produces ("redirected",
 * "callPickup", none, "unknown") or when the diversion goes where ucsd sent
 * the call. A PBX forwarding of its own (callForwardNoAnswer to voicemail
 * while ucsd's request was under way) keeps the PBX's reason. */
static bool leaving_applies(struct lm *m, const struct lm_call *c, const char *cause,
			    const char *to)
{
	struct ucs_number a, b;
	int internal;

	if (!c->leaving || lm_now_ms() > c->leaving_until_ms)
		return false;
	if (!cause || !*cause || cause_is(cause, "unknown") || cause_is(cause, "redirected") ||
	    cause_is(cause, "callPickup"))
		return true;
	if (!to || !*to || !c->leaving_to[0])
		return false;
	if (strcmp(to, c->leaving_to) == 0)
		return true;
	party(m, c->line, UCS_DP_CALLED, to, &a, &internal);
	party(m, c->line, UCS_DP_CALLED, c->leaving_to, &b, &internal);
	return a.canonical.text[0] && strcmp(a.canonical.text, b.canonical.text) == 0;
}

/* Why the line's part ends with this event. The PBX's diversion of a call
 * that ucsd moved itself (marked by lm_call_leaving) is ucsd's reason;
 * otherwise the cause tells a pickup ("callPickup") and a deflection at
 * the phone ("redirected") from forwarding and distribution. Some PBXs end
 * a picked-up or forwarded ringing connection with ConnectionCleared and
 * the cause alone: a ringing part that was never answered reads it too. */
static int end_reason(struct lm *m, const struct lm_call *c, int event, const char *cause,
		      const char *to)
{
	bool ringing_part = !c->answered && c->ci.direction == UCS_CALL_INCOMING;

	if (event == UCS_CE_DIVERTED ||
	    (ringing_part && (cause_is(cause, "callPickup") || cause_forwarding(cause)))) {
		if (leaving_applies(m, c, cause, to))
			return c->leaving;
		if (cause_is(cause, "callPickup"))
			return UCS_END_PICKED_UP;
		if (cause_is(cause, "redirected"))
			return UCS_END_DEFLECTED;
		return UCS_END_FORWARDED;
	}
	if (event == UCS_CE_TRANSFERRED)
		return UCS_END_TRANSFERRED;
	if (c->failed || event == UCS_CE_FAILED)
		return UCS_END_FAILED;
	return UCS_END_CLEARED;
}

/* Another line's record of the same PBX call that answered it as its
 * called party: who took a call that rang here in parallel (a hunt group,
 * a call that rang at several phones). */
static const struct lm_call *answered_elsewhere(struct lm *m, const struct lm_call *c)
{
	char key[64 + 64 + 2];
	void *const *v;
	size_t n;

	snprintf(key, sizeof(key), "%s\x1f%s", c->line->group->drv->name, c->pbx);
	n = lm_index_all(&m->by_call, key, &v);
	/* only a line that rang; only a record that reached the same caller,
	 * and never the ringing line's own far party (a transfer made while
	 * this line rang leaves the transferring side's party answered) */
	if (!c->ci.alerting_ms)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct lm_call *r = v[i];

		if (r == c || r->line == c->line || !r->answered ||
		    r->ci.direction != UCS_CALL_INCOMING ||
		    strcmp(r->ci.remote.canonical.text, c->ci.remote.canonical.text) != 0 ||
		    strcmp(r->line->info.number.canonical.text, c->ci.remote.canonical.text) == 0)
			continue;
		return r;
	}
	return NULL;
}

/* Who took the call from this line: the party the ending event names
 * (diversion's new destination, transfer's transferred-to device), else
 * where ucsd sent it, else - for a ringing part answered elsewhere -
 * the line that answered. */
static void answered_party(struct lm *m, struct lm_line *l, struct lm_call *c, int end,
			   const char *to)
{
	const struct lm_call *r;
	struct lm_line *o;
	int internal;

	memset(&c->ci.answered_line, 0, sizeof(c->ci.answered_line));
	memset(&c->ci.answered_by, 0, sizeof(c->ci.answered_by));
	if (end == UCS_END_PICKED_UP || end == UCS_END_DEFLECTED || end == UCS_END_REDIRECTED ||
	    end == UCS_END_FORWARDED || end == UCS_END_TRANSFERRED) {
		if ((!to || !*to || is_dev(l, to)) && c->leaving && end == c->leaving)
			to = c->leaving_to;
		if (!to || !*to || is_dev(l, to))
			return;
		o = party(m, l, UCS_DP_CALLED, to, &c->ci.answered_by, &internal);
		if (o && o != l && o->used)
			c->ci.answered_line = o->info.id;
		return;
	}
	if (end == UCS_END_CLEARED && !c->answered && c->ci.direction == UCS_CALL_INCOMING &&
	    (r = answered_elsewhere(m, c))) {
		c->ci.answered_line = r->line->info.id;
		c->ci.answered_by = r->line->info.number;
	}
}

/* Publishes the end of a call (event, state null) and forgets it. end is
 * the reason (enum ucs_call_end), or -1 to read it from the event; to is
 * the party the ending event names (who took the call), "" if none. */
static void call_end(struct lm *m, struct lm_line *l, struct lm_call *c, int event,
		     const char *cause, int end, const char *to, int64_t at_ms)
{
	if (event == UCS_CE_TRANSFERRED || event == UCS_CE_CONFERENCED)
		handover_put(m, l, c);
	if (event == UCS_CE_CONFERENCED)
		c->conference = true;
	c->ci.event = event;
	c->ci.state = UCS_CS_NULL;
	if (cause && *cause)
		snprintf(c->ci.cause, sizeof(c->ci.cause), "%s", cause);
	c->ci.ended_ms = at_ms > 0 ? at_ms : lm_now_ms();
	c->ci.ended_by = end >= 0 ? end : end_reason(m, c, event, cause, to);
	answered_party(m, l, c, c->ci.ended_by, to);
	c->ci.flags = flags_of(c);
	lm_publish_call(m, l, c);
	call_free(m, l, c);
}

void lm_calls_drop(struct lm *m, struct lm_line *l, bool publish)
{
	/* the line went away: how its calls end is not known */
	while (l->calls) {
		if (publish && l->used && m->started)
			call_end(m, l, l->calls, UCS_CE_CALL_CLEARED, "", UCS_END_NONE, "", 0);
		else
			call_free(m, l, l->calls);
	}
	if (publish && l->used && m->started)
		lm_publish_presence(m, l);
}

void lm_call_leaving(struct lm *m, struct lm_line *l, const char *pbx, int why, const char *to)
{
	struct lm_call *c = lm_call_by_pbx(l, pbx);

	if (!c)
		return;
	c->leaving = why;
	/* the diversion comes with the PBX's answer or a little after it */
	c->leaving_until_ms = lm_now_ms() + m->conf.request_timeout_ms + 5000;
	snprintf(c->leaving_to, sizeof(c->leaving_to), "%s", to ? to : "");
}

void lm_call_leaving_clear(struct lm *m, const char *line, const char *pbx, int why)
{
	struct lm_line *l = lm_line_find(m, line);
	struct lm_call *c = l ? lm_call_by_pbx(l, pbx) : NULL;

	if (c && c->leaving == why)
		c->leaving = 0;
}

static bool is_dev(const struct lm_line *l, const char *dev)
{
	return dev[0] &&
	       (strcmp(dev, l->desc.device.text) == 0 || strcmp(dev, l->info.internal.text) == 0);
}

static int direction_of(const struct lm_line *l, const struct ucs_line_call_event *ev)
{
	if (ev->event == UCS_CE_ORIGINATED || ev->event == UCS_CE_SERVICE_INITIATED ||
	    ev->state == UCS_CS_INITIATED || is_dev(l, ev->calling))
		return UCS_CALL_OUTGOING;
	if (is_dev(l, ev->called) || is_dev(l, ev->connected) || ev->state == UCS_CS_ALERTING ||
	    ev->calling[0])
		return UCS_CALL_INCOMING;
	return UCS_CALL_OUTGOING;
}

/* The other party's number as this event names it, "" when it does not. */
static const char *remote_of(const struct lm_line *l, const struct lm_call *c,
			     const struct ucs_line_call_event *ev, int *kind)
{
	bool out = c->ci.direction == UCS_CALL_OUTGOING;

	/* the party that answered or was added replaces the dialled one - but
	 * not on a line where the call still rings: another phone ringing or
	 * answering in parallel (a hunt group) is not this line's party */
	bool parallel = !out && c->ci.state == UCS_CS_ALERTING &&
			(ev->event == UCS_CE_DELIVERED || ev->event == UCS_CE_ESTABLISHED ||
			 ev->event == UCS_CE_DIVERTED);

	if (ev->connected[0] && !is_dev(l, ev->connected) && !parallel) {
		*kind = out ? UCS_DP_CONNECTED_OUT : UCS_DP_CONNECTED_IN;
		return ev->connected;
	}
	if (out && ev->called[0] && !is_dev(l, ev->called)) {
		*kind = UCS_DP_CALLED;
		return ev->called;
	}
	if (!out && ev->calling[0] && !is_dev(l, ev->calling)) {
		*kind = UCS_DP_CALLER;
		return ev->calling;
	}
	return "";
}

/*
 * A party's number: one of the server's own lines (by its internal number,
 * as a PBX reports its extensions) has that line's number, whatever the
 * dialplan would make of the digits; anything else goes through the
 * dialplan. Map lookups only: no second trip through the dialplan.
 */
static struct lm_line *party(struct lm *m, const struct lm_line *l, int kind, const char *raw,
			     struct ucs_number *out, int *internal)
{
	/* the PBX's own extension first (another PBX may have one alike) */
	struct lm_line *other = lm_line_in_group(m, l->group, raw);

	if (!other)
		other = lm_index_get(&m->by_internal, raw);
	if (other) {
		*out = other->info.number;
		*internal = 1;
		return other;
	}
	lm_number_format(m, l->info.location, kind, raw, out, internal);
	return lm_index_get(&m->by_number, out->canonical.text);
}

static void set_remote(struct lm *m, struct lm_line *l, struct lm_call *c, const char *raw,
		       int kind)
{
	int internal = 0;
	struct lm_line *other = party(m, l, kind, raw, &c->ci.remote, &internal);

	c->ci.internal = internal || other != NULL;
	snprintf(c->ci.remote_name, sizeof(c->ci.remote_name), "%s", other ? other->info.name : "");
}

static void made_apply(struct lm_call *c, const struct lm_dial_extra *x)
{
	if (x->project[0])
		snprintf(c->ci.project, sizeof(c->ci.project), "%s", x->project);
	if (x->project_info[0])
		snprintf(c->ci.project_info, sizeof(c->ci.project_info), "%s", x->project_info);
	if (x->private_call)
		c->ci.private_call = 1;
	if (x->postdial[0])
		snprintf(c->postdial, sizeof(c->postdial), "%s", x->postdial);
}

static struct lm_call *call_new(struct lm *m, struct lm_line *l,
				const struct ucs_line_call_event *ev)
{
	struct lm_call *c = calloc(1, sizeof(*c));

	if (!c) {
		LM_LOG(m, UCS_LOG_ERROR, "line %s: no memory for call %s", l->info.id.text,
		       ev->call);
		return NULL;
	}
	c->line = l;
	snprintf(c->pbx, sizeof(c->pbx), "%s", ev->call);
	c->ci.size = sizeof(c->ci);
	c->ci.line = l->info.id;
	lm_call_id(l, ev->call, &c->ci.call);
	c->ci.started_ms = ev->time_ms > 0 ? ev->time_ms : lm_now_ms();
	c->ci.direction = direction_of(l, ev);
	c->ci.private_call = l->info.private_line;
	if (l->pickup_until_ms && lm_now_ms() <= l->pickup_until_ms) {
		c->picked = true;
		l->pickup_until_ms = 0;
	}
	c->next = l->calls;
	l->calls = c;
	l->n_calls++;
	call_index(m, c, true);
	if (l->made_call[0] && strcmp(l->made_call, c->pbx) == 0) {
		l->made_call[0] = '\0';
		made_apply(c, &l->made); /* published with the event that created it */
	}
	return c;
}

static void postdial_done(struct lm *m, struct lm_req *rq, int status, const char *reason,
			  const char *call)
{
	(void)call;
	if (status)
		LM_LOG(m, UCS_LOG_WARNING, "line %s: postdial digits not sent: %s", rq->line,
		       reason);
}

/* The postdial digits of a dialled number go out once the call is answered. */
static void send_postdial(struct lm *m, struct lm_line *l, struct lm_call *c)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_DTMF};

	if (!c->postdial[0] || !c->answered)
		return;
	if (l->info.caps & UCS_CAP_DTMF) {
		snprintf(rq.call, sizeof(rq.call), "%s", c->pbx);
		snprintf(rq.digits, sizeof(rq.digits), "%s", c->postdial);
		LM_LOG(m, UCS_LOG_DEBUG, "line %s: postdial digits for call %s", l->info.id.text,
		       c->ci.call.text);
		lm_request_send(m, l, &rq, postdial_done, NULL, NULL, NULL);
	} else {
		LM_LOG(m, UCS_LOG_WARNING,
		       "line %s: postdial digits not sent: the line has no DTMF", l->info.id.text);
	}
	c->postdial[0] = '\0';
}

void lm_calls_made(struct lm *m, struct lm_line *l, const char *pbx, const struct lm_dial_extra *x)
{
	struct lm_call *c;

	if (!pbx || !*pbx || !x ||
	    (!x->project[0] && !x->project_info[0] && !x->postdial[0] && !x->private_call))
		return;
	c = lm_call_by_pbx(l, pbx);
	if (!c) {
		/* the request's answer came before the call's first event */
		snprintf(l->made_call, sizeof(l->made_call), "%s", pbx);
		l->made = *x;
		return;
	}
	made_apply(c, x);
	lm_publish_call(m, l, c);
	send_postdial(m, l, c);
}

/* What an event says of the line's part beyond state and parties: a
 * failure, a withheld caller, a transfer that brought the call or changed
 * its party, a conference, and a pickup made at the phone (the picking
 * device answers with cause callPickup, or starts the pickup itself as a
 * call of its own - the PBXs that report pickups as outgoing calls). */
static void event_marks(const struct lm_line *l, struct lm_call *c,
			const struct ucs_line_call_event *ev)
{
	bool live = ev->state != UCS_CS_NULL;

	/* the line's own connection failed (a failed event about another party
	 * of a conference leaves this line's state as it was) */
	if (ev->state == UCS_CS_FAILED || (ev->event == UCS_CE_FAILED && !live))
		c->failed = true;
	if ((ev->flags & UCS_LCE_CALLING_HIDDEN) && c->ci.direction == UCS_CALL_INCOMING)
		c->hidden = true;
	if (live && (ev->event == UCS_CE_TRANSFERRED ||
		     (ev->event != UCS_CE_DIVERTED && (cause_is(ev->cause, "singleStepTransfer") ||
						       cause_is(ev->cause, "transfer")))))
		c->via_transfer = true;
	if (ev->event == UCS_CE_CONFERENCED)
		c->conference = true;
	if (live && ev->event != UCS_CE_DIVERTED && cause_is(ev->cause, "callPickup") &&
	    (is_dev(l, ev->connected) || ev->event == UCS_CE_SERVICE_INITIATED ||
	     ev->event == UCS_CE_ORIGINATED))
		c->picked = true;
}

/*
 * A call forwarded away before it rang (forwarding immediate, or a
 * diversion at the PBX before delivery): the line's first and last event
 * for it is a Diverted that ends its connection. The manual counts a call
 * the user forwarded as answered, her journal showing who took it, so the
 * line publishes one call.state: DIVERTED, state null, incoming, the caller
 * as remote, ended forwarded towards the new destination, never alerting.
 */
static void forwarded_away(struct lm *m, struct lm_line *l, const struct ucs_line_call_event *ev)
{
	int64_t pickup_until = l->pickup_until_ms, now = lm_now_ms();
	struct lm_call *c;

	if (!ev->call[0] || (ev->redirecting[0] && !is_dev(l, ev->redirecting)) ||
	    is_dev(l, ev->connected) || is_dev(l, ev->calling))
		return;
	c = call_new(m, l, ev);
	l->pickup_until_ms = pickup_until; /* a pickup's result is another call */
	if (!c)
		return;
	c->seen_gen = l->sync_gen;
	c->ci.direction = UCS_CALL_INCOMING;
	c->ci.started_ms = now;
	if (ev->calling[0])
		set_remote(m, l, c, ev->calling, UCS_DP_CALLER);
	if (ev->flags & UCS_LCE_CALLING_HIDDEN)
		c->hidden = true;
	call_end(m, l, c, UCS_CE_DIVERTED, ev->cause, UCS_END_FORWARDED, ev->connected, now);
	lm_publish_presence(m, l);
}

void lm_calls_event(struct lm *m, struct lm_line *l, const struct ucs_line_call_event *ev)
{
	struct lm_call *c = lm_call_by_pbx(l, ev->call), *old = NULL;
	bool created = false, changed = true, parallel;
	const char *raw;
	int kind = 0;

	if (ev->old_call[0] && strcmp(ev->old_call, ev->call) != 0)
		old = lm_call_by_pbx(l, ev->old_call);
	if (old && !c) {
		/* the line's connection moved into the new call: one call for the journal */
		call_index(m, old, false);
		snprintf(old->pbx, sizeof(old->pbx), "%s", ev->call);
		call_index(m, old, true);
		c = old;
		old = NULL;
	} else if (old) {
		/* both calls were this line's: the old one merged into c */
		call_end(m, l, old, ev->event, ev->cause, -1, ev->connected, ev->time_ms);
	}
	if (!c) {
		if (ev->state == UCS_CS_NULL && ev->event == UCS_CE_DIVERTED)
			forwarded_away(m, l, ev);
		if (ev->state == UCS_CS_NULL)
			return; /* the end of a call this line never saw */
		c = call_new(m, l, ev);
		if (!c)
			return;
		created = true;
	}
	c->seen_gen = l->sync_gen;
	/* a call ringing here in parallel (a hunt group) that another member's
	 * pickup or deflection moved: that diversion is not this line's - its
	 * party, forwarding and state stay as they were */
	if (!created && ev->event == UCS_CE_DIVERTED && ev->state != UCS_CS_NULL &&
	    c->ci.state == UCS_CS_ALERTING && c->ci.direction == UCS_CALL_INCOMING &&
	    !is_dev(l, ev->redirecting))
		return;
	parallel = !created && c->ci.state == UCS_CS_ALERTING &&
		   c->ci.direction == UCS_CALL_INCOMING &&
		   (ev->event == UCS_CE_DELIVERED || ev->event == UCS_CE_ESTABLISHED) &&
		   ev->connected[0] && !is_dev(l, ev->connected);
	if (ev->event == UCS_CE_SNAPSHOT && !created && c->ci.state == ev->state)
		changed = false;
	c->ci.event = ev->event;
	if (ev->state >= UCS_CS_NULL && ev->state <= UCS_CS_FAILED)
		c->ci.state = ev->state;
	/* the event that ends this line's connection names who it went to, not
	 * who this line talked to */
	raw = ev->state != UCS_CS_NULL ? remote_of(l, c, ev, &kind) : "";
	if (*raw)
		set_remote(m, l, c, raw, kind);
	else if ((ev->event == UCS_CE_TRANSFERRED || ev->event == UCS_CE_CONFERENCED) &&
		 ev->state != UCS_CS_NULL)
		joined_party(m, l, c, ev);
	if (ev->redirecting[0] && !is_dev(l, ev->redirecting) && !parallel) {
		int internal;

		party(m, l, UCS_DP_CALLER, ev->redirecting, &c->ci.diverted_from, &internal);
		if (c->ci.direction == UCS_CALL_INCOMING)
			c->forwarded = true;
	}
	if (ev->event == UCS_CE_DIVERTED && ev->state != UCS_CS_NULL)
		c->forwarded = true;
	if (ev->cause[0])
		snprintf(c->ci.cause, sizeof(c->ci.cause), "%s", ev->cause);
	event_marks(l, c, ev);
	if (c->picked && l->group->conf.reverse_pickup_direction &&
	    c->ci.direction == UCS_CALL_OUTGOING)
		c->ci.direction = UCS_CALL_INCOMING;
	/* ringing: an incoming call's first alerting (a caller's "alerting" is
	 * the far end's ringing) */
	if (!c->ci.alerting_ms && c->ci.state == UCS_CS_ALERTING &&
	    c->ci.direction == UCS_CALL_INCOMING)
		c->ci.alerting_ms = ev->time_ms > 0 ? ev->time_ms : lm_now_ms();
	/* ECMA-269 makes a caller's connection "connected" as soon as it dials
	 * (originated, delivered): answered is what ESTABLISHED says, or a
	 * connection an incoming call, a transfer or a conference left connected,
	 * or a connected call a snapshot finds (it cannot tell more) */
	if (!c->answered && c->ci.state == UCS_CS_CONNECTED &&
	    (ev->event == UCS_CE_ESTABLISHED || ev->event == UCS_CE_TRANSFERRED ||
	     ev->event == UCS_CE_CONFERENCED || (ev->event == UCS_CE_SNAPSHOT && created) ||
	     c->ci.direction == UCS_CALL_INCOMING)) {
		c->answered = true;
		c->ci.connected_ms = ev->time_ms > 0 ? ev->time_ms : lm_now_ms();
	}
	/* ucsd's departure mark is spent on the diversion it announced */
	if (ev->event == UCS_CE_DIVERTED && c->ci.state != UCS_CS_NULL)
		c->leaving = 0;
	if (!changed)
		return;
	if (c->ci.state == UCS_CS_NULL) {
		call_end(m, l, c, ev->event, ev->cause, -1, ev->connected, ev->time_ms);
		lm_publish_presence(m, l);
		return;
	}
	c->ci.flags = flags_of(c);
	lm_publish_call(m, l, c);
	lm_publish_presence(m, l);
	if (ev->event == UCS_CE_DELIVERED && c->ci.state == UCS_CS_ALERTING &&
	    c->ci.direction == UCS_CALL_INCOMING)
		lm_redirect_offered(m, l, c);
	if (c->answered) {
		lm_remote_call_changed(m, l, c);
		send_postdial(m, l, c);
	}
}

void lm_calls_synced(struct lm *m, struct lm_line *l)
{
	struct lm_call *c, *next;
	size_t kept = 0, ended = 0;

	for (c = l->calls; c; c = next) {
		next = c->next;
		if (c->seen_gen == l->sync_gen) {
			kept++;
			continue;
		}
		/* it ended while the line was not watched: how is not known */
		call_end(m, l, c, UCS_CE_CALL_CLEARED, "", UCS_END_NONE, "", 0);
		ended++;
	}
	if (ended)
		lm_publish_presence(m, l);
	LM_LOG(m, UCS_LOG_DEBUG, "line %s synchronised: %zu calls kept, %zu ended", l->info.id.text,
	       kept, ended);
	lm_log_synced(m, l->group->drv, kept, ended);
}
