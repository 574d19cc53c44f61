/*
 * plugins/line-csta/csta_dev.c - the devices of a link: their lines, their
 * monitors (MonitorStart, MonitorStop, the cross reference ids that tie
 * events to a device), the snapshot after every (re)open, and the calls a
 * device has as far as the driver needs them.
 *
 * Opening is paced: a link with thousands of devices does not send
 * thousands of MonitorStart at once but keeps monitors_in_flight (32)
 * monitor and snapshot requests in flight, from a FIFO of devices that
 * wait; each answer lets the next one go. A PBX that fails when lines are
 * opened too fast (the manual's error-handling case) gets monitor_delay_ms
 * between two MonitorStart as well: the FIFO waits for the link's retry
 * timer, which then pumps again. A device whose monitor the PBX refused stays
 * FAILED (with the PBX's words as the reason) until the line manager asks
 * to open it again, or the link reconnects.
 *
 * A snapshot is what lets the line manager end the calls that ended while
 * nobody watched (ucs/line.h step 5), so it is taken seriously: one that
 * fails is tried again after 1, 2, 4 s (a retry timer per link, the
 * devices' due times), and one that cannot be had, or is cut short, never
 * ends in line_synced. A snapshot of a line whose status stays OPEN begins
 * with line_resync, called right before the SnapshotDevice goes out.
 *
 * Lookups by device number (requests, line_wanted) and by cross reference
 * id (every event) go through small open-addressing indexes, so an event
 * costs the same with 10 devices as with 10,000.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta.h"

/* ---- indexes ---- */

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static const char *key_of(const struct csta_devs *d, const struct csta_index *ix, uint32_t i)
{
	return ix == &d->by_xref ? d->v[i].xref : d->v[i].device;
}

static int index_put(struct csta_devs *d, struct csta_index *ix, uint32_t i);

static int index_grow(struct csta_devs *d, struct csta_index *ix)
{
	struct csta_index old = *ix;
	size_t cap = old.cap ? old.cap * 2 : 64;

	/* The xref index drops stale entries (ended monitors) as it grows. */
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots) {
		*ix = old;
		return -ENOMEM;
	}
	ix->cap = cap;
	ix->used = 0;
	for (size_t s = 0; s < old.cap; s++) {
		uint32_t i;

		if (!old.slots[s])
			continue;
		i = old.slots[s] - 1;
		if (ix == &d->by_xref && (d->v[i].mon != CSTA_MON_OPEN || !d->v[i].xref[0]))
			continue;
		(void)index_put(d, ix, i);
	}
	free(old.slots);
	return 0;
}

static int index_put(struct csta_devs *d, struct csta_index *ix, uint32_t i)
{
	size_t s;

	if ((ix->used + 1) * 2 > ix->cap) {
		int err = index_grow(d, ix);

		if (err)
			return err;
	}
	s = hash(key_of(d, ix, i)) & (ix->cap - 1);
	while (ix->slots[s]) {
		if (ix->slots[s] == i + 1)
			return 0;
		s = (s + 1) & (ix->cap - 1);
	}
	ix->slots[s] = i + 1;
	ix->used++;
	return 0;
}

/* Entries are verified on lookup: the xref index may hold stale ones. */
static struct csta_dev *index_get(struct csta_devs *d, struct csta_index *ix, const char *key,
				  uint32_t *idx)
{
	size_t s;

	if (!ix->cap || !key[0])
		return NULL;
	s = hash(key) & (ix->cap - 1);
	while (ix->slots[s]) {
		uint32_t i = ix->slots[s] - 1;

		if (!strcmp(key_of(d, ix, i), key) &&
		    (ix != &d->by_xref || d->v[i].mon == CSTA_MON_OPEN)) {
			if (idx)
				*idx = i;
			return &d->v[i];
		}
		s = (s + 1) & (ix->cap - 1);
	}
	return NULL;
}

static void index_clear(struct csta_index *ix)
{
	if (ix->slots)
		memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
	ix->used = 0;
}

struct csta_dev *csta_devs_find(struct csta_link *l, const char *device, uint32_t *idx)
{
	return index_get(&l->devs, &l->devs.by_device, device, idx);
}

struct csta_dev *csta_devs_by_xref(struct csta_link *l, const char *xref, uint32_t *idx)
{
	return index_get(&l->devs, &l->devs.by_xref, xref, idx);
}

/* ---- the queue of devices waiting for a monitor or a snapshot ---- */

static int queue_push(struct csta_link *l, uint32_t idx)
{
	struct csta_devs *d = &l->devs;

	if (d->v[idx].queued)
		return 0;
	if (d->qlen == d->qcap) {
		size_t cap = d->qcap ? d->qcap * 2 : 64;
		uint32_t *q = malloc(cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < d->qlen; i++)
			q[i] = d->q[(d->qhead + i) % d->qcap];
		free(d->q);
		d->q = q;
		d->qcap = cap;
		d->qhead = 0;
	}
	d->q[(d->qhead + d->qlen) % d->qcap] = idx;
	d->qlen++;
	d->v[idx].queued = 1;
	return 0;
}

/* ---- devices ---- */

void csta_dev_report(struct csta_link *l, struct csta_dev *d, int status, const char *reason)
{
	struct csta_ctx *c = l->ctx;

	struct ucs_id line = d->line;
	char why[sizeof(d->reason)];

	if (d->status == status && !strcmp(d->reason, reason))
		return;
	d->status = status;
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	snprintf(why, sizeof(why), "%s", reason);
	/* copies: the manager may move the device array under us */
	if (c->drv)
		c->mgr->line_status(c->drv, line.text, status, why);
}

int csta_devs_add(struct csta_link *l, const char *device, int wanted, uint32_t *idx)
{
	struct csta_ctx *c = l->ctx;
	struct csta_devs *d = &l->devs;
	struct ucs_line_desc desc = {.size = sizeof(desc)};
	size_t ln = strlen(l->cfg->name), ld = strlen(device);
	struct csta_dev *v;
	uint32_t i;
	int err = 0;

	if (csta_devs_find(l, device, idx)) {
		err = -EEXIST;
		goto out;
	}
	if (ld >= sizeof(desc.device.text) || ln + 1 + ld >= sizeof(desc.id.text)) {
		err = -EINVAL;
		goto out;
	}
	if (d->n == CSTA_MAX_DEVICES) {
		err = -E2BIG;
		goto out;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct csta_dev *nv = realloc(d->v, cap * sizeof(*nv));

		if (!nv) {
			err = -ENOMEM;
			goto out;
		}
		d->v = nv;
		d->cap = cap;
	}
	i = (uint32_t)d->n;
	v = &d->v[i];
	memset(v, 0, sizeof(*v));
	memcpy(v->device, device, ld + 1);
	memcpy(v->line.text, l->cfg->name, ln);
	v->line.text[ln] = '/';
	memcpy(v->line.text + ln + 1, device, ld + 1);
	v->wanted = wanted;
	v->status = UCS_LS_NOT_INITIALISED;
	/* Indexed first: the line manager hears of the line only once it is
	 * complete here (an index that cannot grow refuses the device). */
	err = index_put(d, &d->by_device, i);
	if (err)
		goto out;
	desc.id = v->line;
	memcpy(desc.device.text, device, ld + 1);
	snprintf(desc.group, sizeof(desc.group), "%s", l->cfg->name);
	err = c->drv ? c->mgr->line_add(c->drv, &desc) : 0;
	if (err) {
		v->device[0] = '\0'; /* its index entry no longer matches anything */
		goto out;
	}
	d->n++;
	if (idx)
		*idx = i;
	if (wanted && l->state == CSTA_LINK_UP) {
		(void)queue_push(l, i);
		csta_devs_pump(l);
	}
out:
	return err;
}

void csta_devs_free(struct csta_devs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].calls);
	free(d->v);
	free(d->by_device.slots);
	free(d->by_xref.slots);
	free(d->q);
	memset(d, 0, sizeof(*d));
}

/* What an open device sends next: its snapshot (unless a retry waits),
 * then the forwarding and DND queries. */
static int next_query(struct csta_link *l, struct csta_dev *v, uint64_t now, int *req)
{
	if (l->no_get_fwd)
		v->due &= ~CSTA_DUE_FWD;
	if (l->no_get_dnd)
		v->due &= ~CSTA_DUE_DND;
	if ((v->due & CSTA_DUE_SNAPSHOT) && v->snap_retry_at <= now) {
		*req = CSTA_R_SNAPSHOT;
		return CSTA_P_SNAPSHOT;
	}
	if (v->due & CSTA_DUE_FWD) {
		*req = CSTA_R_GET_FORWARDING;
		return CSTA_P_GET_FWD;
	}
	if (v->due & CSTA_DUE_DND) {
		*req = CSTA_R_GET_DND;
		return CSTA_P_GET_DND;
	}
	return 0;
}

static void arm_retry(struct csta_link *l, uint64_t at);

void csta_devs_pump(struct csta_link *l)
{
	struct csta_devs *d = &l->devs;
	uint64_t now = l->ctx->host->timer->now_ms();
	uint32_t delay = l->cfg->monitor_delay_ms;

	while (d->qlen && d->inflight < l->cfg->monitors_in_flight && csta_link_is_up(l)) {
		uint32_t i = d->q[d->qhead];
		struct csta_dev *v = &d->v[i];
		struct csta_req_args a = {0};
		int kind = 0, req = 0, err;

		/* monitor_delay_ms: the next MonitorStart waits for its turn,
		 * and so does the FIFO behind it (the retry timer pumps again) */
		if (delay && v->wanted && v->mon == CSTA_MON_IDLE && now < d->next_monitor_at) {
			arm_retry(l, d->next_monitor_at);
			break;
		}
		d->qhead = (d->qhead + 1) % d->qcap;
		d->qlen--;
		v->queued = 0;
		if (v->wanted && v->mon == CSTA_MON_IDLE) {
			req = CSTA_R_MONITOR_START;
			kind = CSTA_P_MONITOR;
		} else if (v->mon == CSTA_MON_OPEN && !v->busy) {
			kind = next_query(l, v, now, &req);
		}
		if (!kind)
			continue;
		if (kind == CSTA_P_SNAPSHOT && v->resync) {
			/* ucs/line.h step 5: a snapshot of a line whose status
			 * stays begins with line_resync. The manager may call
			 * back: the device is fetched again afterwards. */
			v->resync = 0;
			csta_map_resync(l, i);
			if (!csta_link_is_up(l))
				break;
			v = &d->v[i];
			if (v->mon != CSTA_MON_OPEN || v->busy || !(v->due & CSTA_DUE_SNAPSHOT))
				continue;
		}
		if (kind == CSTA_P_SNAPSHOT)
			v->again = 0; /* this one answers any earlier wish */
		a.req = req;
		a.device = v->device;
		err = csta_link_request(l, &a, kind, i, v->epoch);
		if (err == -EBUSY || err == -ENETDOWN) {
			(void)queue_push(l, i); /* an answer or the next UP pumps again */
			break;
		}
		if (err) {
			csta_link_complain(l, "%s for %s could not be sent (%s)",
					   csta_req_name(req), v->device, strerror(-err));
		} else {
			d->inflight++;
			if (kind == CSTA_P_MONITOR && delay)
				d->next_monitor_at = now + delay;
			if (kind == CSTA_P_MONITOR)
				v->mon = CSTA_MON_STARTING;
			else
				v->busy = 1;
		}
	}
	if (d->announce && !d->qlen && !d->inflight && csta_link_is_up(l)) {
		d->announce = 0;
		if (d->answered)
			l->stable = 1; /* the monitors of the connect were answered */
		csta_log(l->ctx, UCS_LOG_INFO, "link %s: %zu of %zu devices monitored",
			 l->cfg->name, d->monitors, d->n);
	}
}

/* ---- snapshot retries ---- */

static void arm_retry(struct csta_link *l, uint64_t at)
{
	const struct ucs_timer_api *t = l->ctx->host->timer;
	uint64_t now = t->now_ms();

	if (l->devs.retry_at && l->devs.retry_at <= at)
		return;
	l->devs.retry_at = at;
	t->start(l->t_retry, at > now ? at - now : 1, 0);
}

void csta_devs_retry(struct csta_link *l)
{
	struct csta_devs *d = &l->devs;
	uint64_t now = l->ctx->host->timer->now_ms(), next = 0;

	d->retry_at = 0;
	if (!csta_link_is_up(l))
		return;
	for (uint32_t i = 0; i < d->n; i++) {
		struct csta_dev *v = &d->v[i];

		if (!v->snap_retry_at)
			continue;
		if (v->mon != CSTA_MON_OPEN || !(v->due & CSTA_DUE_SNAPSHOT)) {
			v->snap_retry_at = 0;
			continue;
		}
		if (v->snap_retry_at <= now) {
			v->snap_retry_at = 0;
			if (!v->busy)
				(void)queue_push(l, i);
		} else if (!next || v->snap_retry_at < next) {
			next = v->snap_retry_at;
		}
	}
	if (next)
		arm_retry(l, next);
	csta_devs_pump(l);
}

/* A SnapshotDevice failed: try again later, or give up without
 * line_synced (the manager keeps the calls it has until their next event). */
static void snapshot_failed(struct csta_link *l, uint32_t idx, int err, const struct csta_msg *m)
{
	struct csta_dev *v = &l->devs.v[idx];
	const char *why = err == -EREMOTEIO   ? (m && m->error[0] ? m->error : "refused")
			  : err == -ETIMEDOUT ? "no answer from the PBX"
					      : "not a SnapshotDeviceResponse";
	uint32_t delay;

	v->snap_tries++;
	if (v->snap_tries >= CSTA_SNAP_TRIES) {
		v->due &= ~CSTA_DUE_SNAPSHOT;
		v->snap_tries = 0;
		v->snap_retry_at = 0;
		csta_log(l->ctx, UCS_LOG_WARNING,
			 "line %s: no snapshot after %d attempts (%s); its calls are kept until "
			 "their next event",
			 v->line.text, CSTA_SNAP_TRIES, why);
		return;
	}
	delay = CSTA_SNAP_RETRY_MS << (v->snap_tries - 1);
	v->snap_retry_at = l->ctx->host->timer->now_ms() + delay;
	csta_link_complain(l, "SnapshotDevice of %s failed (%s); retrying in %u ms", v->device, why,
			   delay);
	arm_retry(l, v->snap_retry_at);
}

/* ---- link up and down ---- */

void csta_devs_link_up(struct csta_link *l)
{
	struct csta_devs *d = &l->devs;

	index_clear(&d->by_xref);
	d->announce = 1;
	d->retry_at = 0;
	d->answered = 0;
	l->no_get_fwd = l->no_get_dnd = 0;
	for (uint32_t i = 0; i < d->n; i++) {
		struct csta_dev *v = &d->v[i];

		v->mon = CSTA_MON_IDLE;
		v->due = v->busy = v->resync = v->reopen = v->again = 0;
		v->snap_tries = 0;
		v->snap_retry_at = 0;
		if (v->wanted)
			(void)queue_push(l, i);
	}
	csta_devs_pump(l);
}

void csta_devs_link_down(struct csta_link *l, int status, const char *reason)
{
	struct csta_devs *d = &l->devs;

	index_clear(&d->by_xref);
	d->qlen = d->qhead = 0;
	d->inflight = 0;
	d->monitors = 0;
	d->announce = 0;
	d->retry_at = 0;
	l->ctx->host->timer->stop(l->t_retry);
	for (size_t i = 0; i < d->n; i++) {
		struct csta_dev *v = &d->v[i];

		v->mon = CSTA_MON_IDLE;
		v->queued = 0;
		v->due = v->busy = v->resync = v->reopen = v->again = 0;
		v->snap_tries = 0;
		v->snap_retry_at = 0;
		v->xref[0] = '\0';
		v->epoch++;
		if (v->wanted)
			csta_dev_report(l, v, status, reason); /* v is fetched again next round */
	}
}

/* ---- monitors ---- */

/* Ends an open monitor: MonitorStop, and every answer still due for the
 * old monitor is stale (epoch). */
static void monitor_stop(struct csta_link *l, uint32_t idx)
{
	struct csta_dev *v = &l->devs.v[idx];
	struct csta_req_args a = {.req = CSTA_R_MONITOR_STOP, .xref = v->xref};

	(void)csta_link_request(l, &a, CSTA_P_MONITOR_STOP, idx, 0);
	l->devs.monitors--;
	v->mon = CSTA_MON_IDLE;
	v->xref[0] = '\0';
	v->due = 0;
	v->resync = v->again = 0;
	v->snap_tries = 0;
	v->snap_retry_at = 0;
	v->epoch++;
}

void csta_dev_want(struct csta_link *l, uint32_t idx)
{
	struct csta_dev *v = &l->devs.v[idx];

	v->wanted = 1;
	/* Down (or in the session's login): the line is monitored when the
	 * link comes up and reported then. What was reported stays: a retry
	 * after "login error" must not turn it into "communication error". */
	if (!csta_link_is_up(l))
		return;
	v->reopen = 1;
	if (v->mon == CSTA_MON_FAILED)
		v->mon = CSTA_MON_IDLE;
	if (v->mon == CSTA_MON_OPEN) {
		/* Asked to open an open line (after driver_reinit, say): the
		 * PBX may have lost the monitor without saying so. Start it
		 * again; its snapshot resynchronises the line. */
		csta_log(l->ctx, UCS_LOG_INFO, "line %s: open again: restarting its monitor",
			 v->line.text);
		monitor_stop(l, idx);
	}
	if (v->mon == CSTA_MON_IDLE) {
		(void)queue_push(l, idx);
		csta_devs_pump(l);
	}
	/* STARTING: its answer reports */
}

void csta_dev_unwant(struct csta_link *l, uint32_t idx)
{
	struct csta_dev *v = &l->devs.v[idx];

	v->wanted = 0;
	v->reopen = 0;
	if (v->mon == CSTA_MON_OPEN)
		monitor_stop(l, idx);
	else if (v->mon == CSTA_MON_FAILED)
		v->mon = CSTA_MON_IDLE;
	/* STARTING: the answer sees !wanted and stops the monitor then. */
}

void csta_dev_resnapshot(struct csta_link *l, uint32_t idx, int resync)
{
	struct csta_dev *v = &l->devs.v[idx];

	if (v->mon != CSTA_MON_OPEN)
		return;
	v->due |= CSTA_DUE_SNAPSHOT;
	if (resync)
		v->resync = 1;
	if (v->busy) {
		/* queued again when the request in flight is answered; if
		 * that is a snapshot, it is from before this wish */
		v->again = 1;
		return;
	}
	(void)queue_push(l, idx);
	csta_devs_pump(l);
}

static void monitor_answer(struct csta_link *l, uint32_t idx, int err, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	struct csta_dev *v = &l->devs.v[idx];

	if (err == -ENETDOWN) {
		v->mon = CSTA_MON_IDLE;
		return;
	}
	if (!err || err == -EREMOTEIO)
		l->devs.answered++; /* a timeout is no answer (link stability) */
	if (!err && (m->type != CSTA_T_MONITOR_START_RESP || !m->xref[0])) {
		csta_link_complain(l, "%s for the MonitorStart of %s%s", m->name, v->device,
				   m->type == CSTA_T_MONITOR_START_RESP
					   ? " without monitorCrossRefID"
					   : ", which is not a MonitorStartResponse");
		err = -EPROTO;
	}
	if (err && !v->wanted) {
		/* closed while the monitor was starting: nothing to report */
		v->mon = CSTA_MON_IDLE;
		return;
	}
	if (err) {
		const char *why = err == -EREMOTEIO && m && m->error[0] ? m->error
				  : err == -ETIMEDOUT			? "no answer from the PBX"
									: "protocol error";

		v->mon = CSTA_MON_FAILED;
		v->reopen = 0;
		csta_log(c, UCS_LOG_WARNING, "line %s: MonitorStart refused (%s)", v->line.text,
			 why);
		csta_dev_report(l, v, UCS_LS_FAILED, why);
		return;
	}
	snprintf(v->xref, sizeof(v->xref), "%s", m->xref);
	v->mon = CSTA_MON_OPEN;
	l->devs.monitors++;
	(void)index_put(&l->devs, &l->devs.by_xref, idx);
	if (!v->wanted) {
		/* closed while the monitor was starting */
		csta_dev_unwant(l, idx);
		return;
	}
	v->due = CSTA_DUE_SNAPSHOT | CSTA_DUE_FWD | CSTA_DUE_DND;
	v->snap_tries = 0;
	v->snap_retry_at = 0;
	(void)queue_push(l, idx);
	if (v->status == UCS_LS_OPEN) {
		/* Re-monitored while OPEN (open() of an open line, a closed
		 * line opened again): the status does not change, so the
		 * snapshot is a resync. The manager asked: it hears OPEN. */
		struct ucs_id line = v->line;
		int say = v->reopen;

		v->resync = 1;
		v->reopen = 0;
		if (say && c->drv)
			c->mgr->line_status(c->drv, line.text, UCS_LS_OPEN, "");
	} else {
		v->reopen = 0;
		csta_dev_report(l, v, UCS_LS_OPEN, "");
	}
}

/* GetForwarding / GetDoNotDisturb: a PBX that refuses one is not asked
 * again on this connection (many PBXs offer the events, not the queries). */
static void feature_answer(struct csta_link *l, uint32_t idx, int kind, int err,
			   const struct csta_msg *m)
{
	const char *what = kind == CSTA_P_GET_FWD ? "GetForwarding" : "GetDoNotDisturb";

	if (!err) {
		if (l->devs.v[idx].mon == CSTA_MON_OPEN)
			csta_map_features(l, idx, m);
		return;
	}
	if (err == -EREMOTEIO) {
		if (kind == CSTA_P_GET_FWD)
			l->no_get_fwd = 1;
		else
			l->no_get_dnd = 1;
		csta_log(l->ctx, UCS_LOG_INFO,
			 "link %s: the PBX refused %s (%s); not asked again "
			 "until the link reconnects",
			 l->cfg->name, what, m && m->error[0] ? m->error : "refused");
		return;
	}
	csta_link_complain(l, "%s of %s failed (%s)", what, l->devs.v[idx].device, strerror(-err));
}

void csta_dev_answer(struct csta_link *l, const struct csta_pending *p, int err,
		     const struct csta_msg *m)
{
	struct csta_devs *d = &l->devs;
	uint32_t idx = p->dev;
	struct csta_dev *v;

	if (idx >= d->n)
		return;
	v = &d->v[idx];
	switch (p->kind) {
	case CSTA_P_MONITOR:
		if (d->inflight)
			d->inflight--;
		monitor_answer(l, idx, err, m);
		break;
	case CSTA_P_SNAPSHOT:
	case CSTA_P_GET_FWD:
	case CSTA_P_GET_DND:
		if (d->inflight)
			d->inflight--;
		v->busy = 0;
		if (err == -ENETDOWN)
			break;
		if (p->token != v->epoch || v->mon != CSTA_MON_OPEN) {
			/* the answer of a monitor that has ended since */
		} else if (p->kind != CSTA_P_SNAPSHOT) {
			v->due &= ~(p->kind == CSTA_P_GET_FWD ? CSTA_DUE_FWD : CSTA_DUE_DND);
			feature_answer(l, idx, p->kind, err, m);
		} else {
			if (!err && m->type != CSTA_T_SNAPSHOT_RESP)
				err = -EPROTO; /* a positive answer, but not a snapshot */
			if (err) {
				snapshot_failed(l, idx, err, m);
			} else {
				if (!v->again)
					v->due &= ~CSTA_DUE_SNAPSHOT;
				v->again = 0;
				v->snap_tries = 0;
				v->snap_retry_at = 0;
				csta_map_snapshot(l, idx, m);
			}
		}
		v = &d->v[idx]; /* the manager may have moved the array */
		if (v->due && v->mon == CSTA_MON_OPEN && !v->busy)
			(void)queue_push(l, idx);
		break;
	case CSTA_P_MONITOR_STOP:
		if (err && err != -ENETDOWN)
			csta_link_complain(l, "MonitorStop of %s failed (%s)", v->device,
					   m && m->error[0] ? m->error : strerror(-err));
		break;
	}
	if (err != -ENETDOWN)
		csta_devs_pump(l);
}

/* ---- calls ---- */

int csta_dev_call_state(const struct csta_dev *d, const char *call)
{
	for (size_t i = 0; i < d->ncalls; i++)
		if (!strcmp(d->calls[i].id, call))
			return d->calls[i].state;
	return -1;
}

void csta_dev_call_set(struct csta_dev *d, const char *call, int state)
{
	size_t i;

	if (!call[0])
		return;
	for (i = 0; i < d->ncalls && strcmp(d->calls[i].id, call); i++)
		;
	if (state == UCS_CS_NULL || state < 0) {
		if (i < d->ncalls)
			d->calls[i] = d->calls[--d->ncalls];
		return;
	}
	if (i == d->ncalls) {
		if (d->ncalls == d->capcalls) {
			size_t cap = d->capcalls ? d->capcalls * 2 : 4;
			struct csta_call *nc;

			/* A device with hundreds of calls is a PBX bug: forget, do not grow. */
			if (cap > 256)
				return;
			nc = realloc(d->calls, cap * sizeof(*nc));
			if (!nc)
				return;
			d->calls = nc;
			d->capcalls = cap;
		}
		snprintf(d->calls[i].id, sizeof(d->calls[i].id), "%s", call);
		d->ncalls++;
	}
	d->calls[i].state = state;
}
