/*
 * tools/pbxsim/model.c - devices, calls and connections: the tables and
 * the ECMA-269 operations with the events they cause (see model.h).
 */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* How often a call may be forwarded on before it fails (loops). */
#define MAX_REDIRECTS 8

static const char *const cstate_names[] = {"null", "initiated", "alerting", "connected",
					   "hold", "queued",	"fail"};

const char *cstate_name(enum cstate st)
{
	return cstate_names[st];
}

static const char *const fwd_names[FWD_N] = {"forwardImmediate", "forwardBusy", "forwardNoAns"};

const char *fwd_type_name(enum fwd_type t)
{
	return fwd_names[t];
}

int fwd_type_parse(const char *s)
{
	if (!strcmp(s, "forwardImmediate") || !strcmp(s, "immediate"))
		return FWD_IMMEDIATE;
	if (!strcmp(s, "forwardBusy") || !strcmp(s, "busy"))
		return FWD_BUSY;
	if (!strcmp(s, "forwardNoAns") || !strcmp(s, "noanswer"))
		return FWD_NOANSWER;
	return -1;
}

/* ---- tables ---- */

static size_t hash_str(const char *s)
{
	size_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->next_call = 1;
}

static int dtab_grow(struct model *m)
{
	size_t cap = m->dcap ? m->dcap * 2 : 1024;
	struct device **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < m->dcap; i++) {
		struct device *d = m->dtab[i], *n;

		for (; d; d = n) {
			size_t b = hash_str(d->num) & (cap - 1);

			n = d->hnext;
			d->hnext = t[b];
			t[b] = d;
		}
	}
	free(m->dtab);
	m->dtab = t;
	m->dcap = cap;
	return 0;
}

static int ctab_grow(struct model *m)
{
	size_t cap = m->ccap ? m->ccap * 2 : 1024;
	struct call **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < m->ccap; i++) {
		struct call *c = m->ctab[i], *n;

		for (; c; c = n) {
			size_t b = c->id & (cap - 1);

			n = c->hnext;
			c->hnext = t[b];
			t[b] = c;
		}
	}
	free(m->ctab);
	m->ctab = t;
	m->ccap = cap;
	return 0;
}

struct device *model_dev(struct model *m, const char *num)
{
	if (!m->dcap)
		return NULL;
	for (struct device *d = m->dtab[hash_str(num) & (m->dcap - 1)]; d; d = d->hnext) {
		if (!strcmp(d->num, num))
			return d;
	}
	return NULL;
}

bool model_is_ext(struct model *m, const char *num)
{
	struct device *d = model_dev(m, num);

	return d && d->ext;
}

static struct device *dev_new(struct model *m, const char *num, bool ext)
{
	struct device *d;
	size_t b;

	if (m->dcount >= m->dcap / 2 && dtab_grow(m) < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->num, sizeof(d->num), "%s", num);
	d->ext = ext;
	d->idle_pos = -1;
	b = hash_str(num) & (m->dcap - 1);
	d->hnext = m->dtab[b];
	m->dtab[b] = d;
	m->dcount++;
	return d;
}

static void dev_unlink(struct model *m, struct device *d)
{
	struct device **pp = &m->dtab[hash_str(d->num) & (m->dcap - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == d) {
			*pp = d->hnext;
			m->dcount--;
			return;
		}
	}
}

bool number_valid(const char *num)
{
	size_t n = strlen(num);

	if (n == 0 || n >= NUM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)num[i]) && num[i] != '*' && num[i] != '#' &&
		    !(num[i] == '+' && i == 0))
			return false;
	}
	return true;
}

int model_add_ext(struct model *m, const char *num)
{
	struct device *d;

	if (!number_valid(num) || num[0] == '+')
		return -EINVAL;
	d = model_dev(m, num);
	if (d)
		return d->ext ? 0 : -EINVAL;
	if (m->nexts == m->extcap) {
		size_t cap = m->extcap ? m->extcap * 2 : 256;
		struct device **e = realloc(m->exts, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		m->exts = e;
		e = realloc(m->idle, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		m->idle = e;
		m->extcap = cap;
	}
	d = dev_new(m, num, true);
	if (!d)
		return -ENOMEM;
	m->exts[m->nexts++] = d;
	d->idle_pos = (long)m->nidle;
	m->idle[m->nidle++] = d;
	return 0;
}

/* The idle list holds every extension without a connection; both changes
 * are O(1) (the last entry fills the gap). */
static void idle_remove(struct model *m, struct device *d)
{
	struct device *last;

	if (d->idle_pos < 0)
		return;
	last = m->idle[--m->nidle];
	m->idle[d->idle_pos] = last;
	last->idle_pos = d->idle_pos;
	d->idle_pos = -1;
}

static void idle_add(struct model *m, struct device *d)
{
	if (!d->ext || d->idle_pos >= 0 || d->conns)
		return;
	d->idle_pos = (long)m->nidle;
	m->idle[m->nidle++] = d;
}

/* At most this many extensions in all (a typo like 1-99999999 stays cheap). */
#define EXT_LIMIT 1000000

/* With group > 0 the range's extensions join that pickup group instead of
 * being added. */
static int add_range_group(struct model *m, const char *item, int group);

static int add_one(struct model *m, const char *num, int group)
{
	struct device *d;

	if (!group)
		return model_add_ext(m, num);
	d = model_dev(m, num);
	if (!d || !d->ext)
		return -EINVAL;
	d->pgroup = group;
	return 0;
}

static int add_range(struct model *m, const char *item)
{
	return add_range_group(m, item, 0);
}

static int add_range_group(struct model *m, const char *item, int group)
{
	char lo[NUM_MAX], hi[NUM_MAX];
	const char *dash = strchr(item, '-');
	unsigned long a, b;
	char *end;
	int err = 0;

	if (!dash)
		return add_one(m, item, group);
	if ((size_t)(dash - item) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi) || dash == item)
		return -EINVAL;
	memcpy(lo, item, (size_t)(dash - item));
	lo[dash - item] = '\0';
	snprintf(hi, sizeof(hi), "%s", dash + 1);
	for (const char *p = lo; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	for (const char *p = hi; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	if (!hi[0] || strlen(lo) > 18 || strlen(hi) > 18)
		return -EINVAL;
	a = strtoul(lo, &end, 10);
	b = strtoul(hi, &end, 10);
	if (b < a || b - a >= EXT_LIMIT || m->nexts + (b - a) >= EXT_LIMIT)
		return -EINVAL;
	/* Leading zeros of the lower bound set the width (0100-0199). */
	for (unsigned long v = a; v <= b && err == 0; v++) {
		char num[NUM_MAX];

		snprintf(num, sizeof(num), "%0*lu", lo[0] == '0' ? (int)strlen(lo) : 0, v);
		err = add_one(m, num, group);
	}
	return err;
}

static int ranges(struct model *m, const char *spec, int group);

int model_add_ranges(struct model *m, const char *spec)
{
	return ranges(m, spec, 0);
}

int model_pickup_group(struct model *m, const char *spec)
{
	return ranges(m, spec, ++m->npgroups);
}

static int ranges(struct model *m, const char *spec, int group)
{
	char buf[256];
	const char *p = spec;
	int err = 0;

	while (*p && err == 0) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *s = buf, *e;

		if (len >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, p, len);
		buf[len] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s)
			return -EINVAL;
		err = group ? add_range_group(m, s, group) : add_range(m, s);
		p += len;
		if (*p == ',')
			p++;
	}
	return err;
}

/* ---- hunt groups (see model.h) ---- */

struct hunt_group *model_hunt(struct model *m, const char *num)
{
	for (size_t i = 0; i < m->nhunts; i++)
		if (!strcmp(m->hunts[i].pilot, num))
			return &m->hunts[i];
	return NULL;
}

static int hunt_fail(const char **why, const char *text)
{
	*why = text;
	return -EINVAL;
}

int model_hunt_group(struct model *m, const char *spec, const char **why)
{
	struct hunt_group g = {.ring_s = HUNT_RING_S};
	char buf[1024], *mode, *list, *ring, *tok, *save = NULL;
	struct hunt_group *grown;

	if (strlen(spec) >= sizeof(buf))
		return hunt_fail(why, "too long");
	snprintf(buf, sizeof(buf), "%s", spec);
	mode = strchr(buf, '=');
	if (!mode)
		return hunt_fail(why, "expected PILOT=MODE:EXT,EXT,...[:RING_S]");
	*mode++ = '\0';
	list = strchr(mode, ':');
	if (!list)
		return hunt_fail(why, "expected PILOT=MODE:EXT,EXT,...[:RING_S]");
	*list++ = '\0';
	ring = strchr(list, ':');
	if (ring)
		*ring++ = '\0';
	if (!number_valid(buf) || model_is_ext(m, buf))
		return hunt_fail(why, "the pilot must be a number that is no extension");
	if (model_hunt(m, buf))
		return hunt_fail(why, "the pilot is another hunt group's");
	snprintf(g.pilot, sizeof(g.pilot), "%.*s", NUM_MAX - 1, buf); /* number_valid: it fits */
	if (!strcmp(mode, "parallel"))
		g.mode = HUNT_PARALLEL;
	else if (!strcmp(mode, "sequential"))
		g.mode = HUNT_SEQUENTIAL;
	else if (!strcmp(mode, "cyclic"))
		g.mode = HUNT_CYCLIC;
	else
		return hunt_fail(why, "the mode is parallel, sequential or cyclic");
	if (ring) {
		char *end;
		unsigned long v = strtoul(ring, &end, 10);

		if (!*ring || *end || *ring == '-' || v < 1 || v > 3600)
			return hunt_fail(why, "RING_S is 1..3600 seconds");
		g.ring_s = (unsigned)v;
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct device *d = model_dev(m, tok);

		if (!d || !d->ext)
			return hunt_fail(why, "every member must be a configured extension");
		for (size_t i = 0; i < g.n; i++)
			if (g.members[i] == d)
				return hunt_fail(why, "a member is listed twice");
		if (g.n >= HUNT_MAX_MEMBERS)
			return hunt_fail(why, "at most 32 members");
		g.members[g.n++] = d;
	}
	if (!g.n)
		return hunt_fail(why, "no members");
	if (m->nhunts >= HUNT_MAX_GROUPS)
		return hunt_fail(why, "at most 64 hunt groups");
	grown = realloc(m->hunts, (m->nhunts + 1) * sizeof(*grown));
	if (!grown)
		return hunt_fail(why, "out of memory");
	m->hunts = grown;
	m->hunts[m->nhunts++] = g;
	return 0;
}

struct call *model_call(struct model *m, const char *idstr)
{
	char *end;
	unsigned long id;

	if (!m->ccap || !isdigit((unsigned char)idstr[0]))
		return NULL;
	id = strtoul(idstr, &end, 10);
	if (*end || id > UINT32_MAX)
		return NULL;
	for (struct call *c = m->ctab[id & (m->ccap - 1)]; c; c = c->hnext) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

struct call *model_call_id(struct model *m, uint32_t id)
{
	if (!m->ccap)
		return NULL;
	for (struct call *c = m->ctab[id & (m->ccap - 1)]; c; c = c->hnext) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

struct conn *call_conn_of(struct call *c, struct device *d)
{
	for (struct conn *x = c->conns; x; x = x->cnext) {
		if (x->dev == d)
			return x;
	}
	return NULL;
}

struct conn *model_conn(struct model *m, const char *callid, const char *dev, int *err)
{
	struct call *c = model_call(m, callid);
	struct device *d;
	struct conn *x = NULL;

	if (!c) {
		*err = M_EINVCALL;
		return NULL;
	}
	d = model_dev(m, dev);
	if (d)
		x = call_conn_of(c, d);
	if (!x)
		*err = d ? M_EINVCONN : M_EINVDEV;
	return x;
}

struct conn *dev_conn_in(struct device *d, unsigned mask)
{
	for (struct conn *x = d->conns; x; x = x->dnext) {
		if (mask & (1u << x->st))
			return x;
	}
	return NULL;
}

bool dev_busy(struct device *d)
{
	return dev_conn_in(d, 1u << CS_INITIATED | 1u << CS_ALERTING | 1u << CS_CONNECTED) != NULL;
}

static struct call *call_new(struct model *m)
{
	struct call *c;
	size_t b;

	if (m->ccount >= m->ccap / 2 && ctab_grow(m) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	do {
		c->id = m->next_call++;
		if (m->next_call == 0)
			m->next_call = 1;
	} while (model_call_id(m, c->id));
	snprintf(c->idstr, sizeof(c->idstr), "%u", c->id);
	b = c->id & (m->ccap - 1);
	c->hnext = m->ctab[b];
	m->ctab[b] = c;
	m->ccount++;
	m->calls_total++;
	return c;
}

static struct conn *conn_new(struct model *m, struct call *c, struct device *d, enum cstate st)
{
	struct conn *x = calloc(1, sizeof(*x)), **pp;

	if (!x)
		return NULL;
	x->call = c;
	x->dev = d;
	x->st = st;
	/* Append: the call's connections keep their order of joining. */
	for (pp = &c->conns; *pp; pp = &(*pp)->cnext)
		;
	*pp = x;
	c->nconns++;
	/* The device's list is in order of joining too: "answer" takes the
	 * oldest ringing call, snapshots list the oldest first. */
	for (pp = &d->conns; *pp; pp = &(*pp)->dnext)
		;
	*pp = x;
	idle_remove(m, d);
	return x;
}

static void conn_unlink_dev(struct model *m, struct conn *x)
{
	struct conn **pp = &x->dev->conns;

	for (; *pp; pp = &(*pp)->dnext) {
		if (*pp == x) {
			*pp = x->dnext;
			break;
		}
	}
	idle_add(m, x->dev);
}

static void conn_unlink_call(struct conn *x)
{
	struct conn **pp = &x->call->conns;

	for (; *pp; pp = &(*pp)->cnext) {
		if (*pp == x) {
			*pp = x->cnext;
			x->call->nconns--;
			return;
		}
	}
}

/* An external device without connections has no reason to exist. */
static void dev_gc(struct model *m, struct device *d)
{
	if (!d->ext && !d->conns && !d->mons) {
		dev_unlink(m, d);
		free(d);
	}
}

static void conn_free(struct model *m, struct conn *x)
{
	struct device *d = x->dev;

	conn_unlink_call(x);
	conn_unlink_dev(m, x);
	free(x);
	dev_gc(m, d);
}

static void call_free(struct model *m, struct call *c)
{
	struct call **pp = &m->ctab[c->id & (m->ccap - 1)];

	while (c->conns)
		conn_free(m, c->conns);
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			m->ccount--;
			break;
		}
	}
	free(c);
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->ccap; i++) {
		while (m->ctab[i])
			call_free(m, m->ctab[i]);
	}
	for (size_t i = 0; i < m->dcap; i++) {
		struct device *d = m->dtab[i], *n;

		for (; d; d = n) {
			n = d->hnext;
			free(d);
		}
	}
	free(m->ctab);
	free(m->dtab);
	free(m->exts);
	free(m->idle);
	free(m->hunts);
	memset(m, 0, sizeof(*m));
}

/* The device for a number: an extension, a known external party, or a new
 * external party. NULL for an invalid number or no memory. */
static struct device *dev_for(struct model *m, const char *num)
{
	struct device *d = model_dev(m, num);

	if (d)
		return d;
	if (!number_valid(num))
		return NULL;
	return dev_new(m, num, false);
}

/* ---- events of the model ---- */

/* The parties every call progress event (Delivered, Established, Diverted,
 * Failed) names after its own fields. */
static void ev_parties(struct sbuf *b, const struct call *c)
{
	ev_dev(b, "callingDevice", c->calling);
	ev_dev(b, "calledDevice", c->called);
	ev_redir(b, c->lastredir);
}

/* An event about connection x: the event type names the field for the
 * connection (connfield) and for its device (devfield); the call progress
 * events add the call's parties. */
static void emit_conn_event(struct sim *s, const char *type, const char *connfield,
			    const char *devfield, bool parties, struct conn *x, const char *cause)
{
	struct sbuf *b;

	if (!ev_wanted(x->call, NULL))
		return;
	b = ev_begin(s, &s->ev, type, x->call, cause);
	ev_conn(b, connfield, x->call->idstr, x->dev->num);
	ev_dev(b, devfield, x->dev->num);
	if (parties)
		ev_parties(b, x->call);
	ev_emit(s, &s->ev);
}

/* Diverted: the call leaves device d (which may or may not have a
 * connection in it) for newdest. */
static void emit_diverted(struct sim *s, struct call *c, struct device *d, const char *newdest,
			  const char *cause)
{
	struct sbuf *b;

	if (!ev_wanted(c, d))
		return;
	b = ev_begin(s, &s->ev, "DivertedEvent", c, cause);
	ev_conn(b, "connection", c->idstr, d->num);
	ev_dev(b, "divertingDevice", d->num);
	ev_dev(b, "newDestination", newdest);
	ev_parties(b, c);
	if (!call_conn_of(c, d))
		ev_extra(&s->ev, d);
	ev_emit(s, &s->ev);
}

static void emit_call_cleared(struct sim *s, struct call *c, struct device *extra,
			      const char *cause)
{
	struct sbuf *b;

	if (!ev_wanted(c, extra))
		return;
	b = ev_begin(s, &s->ev, "CallClearedEvent", c, cause);
	s->ev.no_lci = true;
	if (extra)
		ev_extra(&s->ev, extra);
	sbuf_printf(b, "<clearedCall><callID>%s</callID></clearedCall>", c->idstr);
	ev_emit(s, &s->ev);
}

/* ---- routing ---- */

static struct conn *caller_conn(struct call *c)
{
	return c->conns; /* the originator joined first */
}

static void clear_failed_due(struct sim *s, const struct sched_ent *e)
{
	struct call *c = model_call_id(&s->m, e->callid);

	if (c && c->conns)
		op_clear_conn(s, caller_conn(c));
}

/* The call cannot reach to: the caller's connection fails. */
static void call_failed(struct sim *s, struct call *c, const char *to, const char *cause)
{
	struct conn *x = caller_conn(c);
	struct sbuf *b;

	if (!x)
		return;
	x->st = CS_FAIL;
	if (ev_wanted(c, NULL)) {
		b = ev_begin(s, &s->ev, "FailedEvent", c, cause);
		ev_conn(b, "failedConnection", c->idstr, x->dev->num);
		ev_dev(b, "failingDevice", to);
		ev_parties(b, c);
		ev_emit(s, &s->ev);
	}
	/* An outside caller hears the busy tone and hangs up; an extension
	 * stays in the failed state until its user (or client) clears. */
	if (!x->dev->ext)
		sched_add(s, 0, clear_failed_due, c->id, 0, NULL);
}

static void noanswer_due(struct sim *s, const struct sched_ent *e)
{
	op_noanswer_due(s, e->callid, e->dev);
}

/* ---- hunt group distribution (see model.h) ---- */

static bool member_available(struct call *c, struct device *d)
{
	return !d->dnd && !dev_busy(d) && !call_conn_of(c, d);
}

/* Member d rings (Delivered, cause distributed - or, for the call's
 * arrival, the cause it arrived with: a transfer or deflection to the pilot). */
static int hunt_ring(struct sim *s, struct call *c, struct device *d, const char *cause)
{
	struct conn *x = conn_new(&s->m, c, d, CS_ALERTING);

	if (!x)
		return M_ENOMEM;
	emit_conn_event(s, "DeliveredEvent", "connection", "alertingDevice", true, x,
			cause && cause[0] && strcmp(cause, "newCall") ? cause : "distributed");
	return 0;
}

static void hunt_due(struct sim *s, const struct sched_ent *e);

/* Sequential and cyclic: the next available member of the call's order
 * rings; from (the member ringing now, NULL at the start) hands the call
 * over with a Diverted event. When no member is left, from rings on; when
 * none was available at all, the call fails. */
static int hunt_next(struct sim *s, struct call *c, struct hunt_group *g, struct conn *from,
		     const char *cause)
{
	for (; c->hunt_step < g->n; c->hunt_step++) {
		struct device *d = g->members[(c->hunt_start + c->hunt_step) % g->n];
		int err;

		if (!member_available(c, d))
			continue;
		if (from) {
			struct device *fd = from->dev;

			from->st = CS_NULL;
			emit_diverted(s, c, fd, d->num, "distributed");
			snprintf(c->lastredir, sizeof(c->lastredir), "%s", fd->num);
			conn_free(&s->m, from);
		}
		err = hunt_ring(s, c, d, from ? "distributed" : cause);
		if (err)
			return err;
		c->hunt_step++;
		sched_add(s, (uint64_t)g->ring_s * 1000, hunt_due, c->id, (uint32_t)c->hunt_step,
			  d->num);
		return 0;
	}
	if (!from)
		call_failed(s, c, g->pilot, "busy");
	return 0;
}

/* A member's ring time ran out: the call moves on (if it is still the
 * same step of the same hunt and the member still rings). */
static void hunt_due(struct sim *s, const struct sched_ent *e)
{
	struct call *c = model_call_id(&s->m, e->callid);
	struct device *d = model_dev(&s->m, e->dev);
	struct conn *x = c && d ? call_conn_of(c, d) : NULL;

	if (!x || x->st != CS_ALERTING || !c->hunt || c->hunt_step != e->arg ||
	    (size_t)c->hunt > s->m.nhunts)
		return;
	hunt_next(s, c, &s->m.hunts[c->hunt - 1], x, "distributed");
}

/* A call reaches the pilot of g. */
static int hunt_deliver(struct sim *s, struct call *c, struct hunt_group *g, const char *cause)
{
	int rung = 0, err;

	c->hunt = (int)(g - s->m.hunts) + 1;
	c->hunt_step = 0;
	c->hunt_start = 0;
	if (g->mode == HUNT_PARALLEL) {
		for (size_t i = 0; i < g->n; i++) {
			if (!member_available(c, g->members[i]))
				continue;
			err = hunt_ring(s, c, g->members[i], cause);
			if (err)
				return err;
			rung++;
		}
		if (!rung)
			call_failed(s, c, g->pilot, "busy");
		return 0;
	}
	if (g->mode == HUNT_CYCLIC) {
		c->hunt_start = g->next_start;
		g->next_start = (g->next_start + 1) % g->n;
	}
	return hunt_next(s, c, g, NULL, cause);
}

/* Someone took a hunt call (answered, picked up): the hunt ends, and the
 * members that still ring stop (ConnectionCleared each). */
static void hunt_taken(struct sim *s, struct call *c, struct conn *by)
{
	struct conn *y, *next;

	if (!c->hunt)
		return;
	c->hunt = 0;
	for (y = c->conns; y; y = next) {
		next = y->cnext;
		if (y == by || y->st != CS_ALERTING)
			continue;
		y->st = CS_NULL;
		emit_conn_event(s, "ConnectionClearedEvent", "droppedConnection", "releasingDevice",
				false, y, "normalClearing");
		conn_free(&s->m, y);
	}
}

/* Routes call c to number to; redir is the device the call comes from by
 * forwarding/deflection ("" for the first delivery). */
static int deliver(struct sim *s, struct call *c, const char *to, const char *redir,
		   const char *cause)
{
	struct hunt_group *g;
	struct device *d;
	struct conn *x;

	if (redir && redir[0])
		snprintf(c->lastredir, sizeof(c->lastredir), "%s", redir);
	g = model_hunt(&s->m, to);
	if (g)
		return hunt_deliver(s, c, g, cause);
	d = strcmp(to, ANONYMOUS) ? dev_for(&s->m, to) : NULL;
	if (!d) {
		call_failed(s, c, to,
			    number_valid(to) ? "resourcesNotAvailable" : "destNotObtainable");
		return 0;
	}
	if (call_conn_of(c, d)) {
		call_failed(s, c, to, "busy");
		return 0;
	}
	if (d->ext) {
		if (d->fwd[FWD_IMMEDIATE][0] && c->redirects < MAX_REDIRECTS) {
			char dest[NUM_MAX];

			snprintf(dest, sizeof(dest), "%s", d->fwd[FWD_IMMEDIATE]);
			c->redirects++;
			emit_diverted(s, c, d, dest, "callForwardImmediate");
			return deliver(s, c, dest, d->num, "callForwardImmediate");
		}
		if (d->dnd) {
			call_failed(s, c, d->num, "doNotDisturb");
			return 0;
		}
		if (dev_busy(d)) {
			if (d->fwd[FWD_BUSY][0] && c->redirects < MAX_REDIRECTS) {
				char dest[NUM_MAX];

				snprintf(dest, sizeof(dest), "%s", d->fwd[FWD_BUSY]);
				c->redirects++;
				emit_diverted(s, c, d, dest, "callForwardBusy");
				return deliver(s, c, dest, d->num, "callForwardBusy");
			}
			call_failed(s, c, d->num, "busy");
			return 0;
		}
	}
	x = conn_new(&s->m, c, d, CS_ALERTING);
	if (!x)
		return M_ENOMEM;
	emit_conn_event(s, "DeliveredEvent", "connection", "alertingDevice", true, x, cause);
	if (d->ext && d->fwd[FWD_NOANSWER][0] && c->redirects < MAX_REDIRECTS) {
		x->noanswer_due = uv_now(s->loop) + (uint64_t)s->o.noanswer_s * 1000;
		sched_add(s, (uint64_t)s->o.noanswer_s * 1000, noanswer_due, c->id, 0, d->num);
	}
	return 0;
}

/* The no-answer timer names the call by id: a ringing connection that moved
 * into another call (transfer, conference) gets a timer under the new id
 * for the time it had left. */
static void noanswer_rearm(struct sim *s, struct conn *x)
{
	uint64_t now = uv_now(s->loop);

	if (x->st != CS_ALERTING || !x->noanswer_due)
		return;
	sched_add(s, x->noanswer_due > now ? x->noanswer_due - now : 0, noanswer_due, x->call->id,
		  0, x->dev->num);
}

/* A new call from device fd (connected at once for outside callers; an
 * extension goes through initiated with ServiceInitiated and Originated). */
static int originate(struct sim *s, struct device *fd, const char *to, const char *cause,
		     struct call **out)
{
	struct call *c;
	struct conn *x;
	struct sbuf *b;
	int err;

	/* a withheld caller has no number to call back */
	if (!strcmp(to, ANONYMOUS))
		return M_EINVDEST;
	c = call_new(&s->m);
	if (!c)
		return M_ENOMEM;
	snprintf(c->calling, sizeof(c->calling), "%s", fd->num);
	snprintf(c->called, sizeof(c->called), "%s", to);
	x = conn_new(&s->m, c, fd, fd->ext ? CS_INITIATED : CS_CONNECTED);
	if (!x) {
		call_free(&s->m, c);
		return M_ENOMEM;
	}
	if (fd->ext) {
		emit_conn_event(s, "ServiceInitiatedEvent", "initiatedConnection",
				"initiatingDevice", false, x, cause);
		x->st = CS_CONNECTED;
		if (ev_wanted(c, NULL)) {
			b = ev_begin(s, &s->ev, "OriginatedEvent", c, cause);
			ev_conn(b, "originatedConnection", c->idstr, fd->num);
			ev_dev(b, "callingDevice", fd->num);
			ev_dev(b, "calledDevice", to);
			ev_emit(s, &s->ev);
		}
	}
	*out = c;
	err = deliver(s, c, to, "", cause);
	return err;
}

/* ---- operations ---- */

int op_make_call(struct sim *s, const char *from, const char *to, struct call **out)
{
	struct device *fd = model_dev(&s->m, from);

	/* A second call from a phone that is talking is a consultation
	 * (ConsultationCall), never a plain MakeCall (ECMA-269 state
	 * incompatibility connectedCallExists). */
	if (fd && fd->ext && dev_conn_in(fd, 1u << CS_CONNECTED))
		return M_ECONNEXISTS;
	if (!fd || !fd->ext) {
		bool anonymous = !strcmp(from, ANONYMOUS);

		if (!anonymous && !number_valid(from))
			return M_EINVCALLING;
		if (!model_is_ext(&s->m, to) && !model_hunt(&s->m, to))
			return M_EINVDEST; /* two outside parties: not this PBX's call */
		/* a withheld caller is one outside party the events never name */
		fd = anonymous ? (fd ? fd : dev_new(&s->m, ANONYMOUS, false))
			       : dev_for(&s->m, from);
		if (!fd)
			return M_ENOMEM;
	}
	if (!to[0])
		return M_EINVDEST;
	return originate(s, fd, to, "newCall", out);
}

int op_answer(struct sim *s, struct conn *x)
{
	if (x->st != CS_ALERTING)
		return M_ESTATE;
	x->st = CS_CONNECTED;
	emit_conn_event(s, "EstablishedEvent", "establishedConnection", "answeringDevice", true, x,
			"newCall");
	hunt_taken(s, x->call, x);
	return 0;
}

int op_clear_conn(struct sim *s, struct conn *x)
{
	struct call *c = x->call;
	/* a caller who gives up while the hunt group still rings ends it all */
	bool hunt_over = c->hunt && x == caller_conn(c);

	x->st = CS_NULL;
	emit_conn_event(s, "ConnectionClearedEvent", "droppedConnection", "releasingDevice", false,
			x, "normalClearing");
	if (c->nconns <= 2 || hunt_over) {
		/* The last other party's connection goes to null as well
		 * (ECMA-269: a call cannot exist with one connection): its
		 * own ConnectionCleared, then CallCleared. */
		for (struct conn *y = c->conns; y; y = y->cnext) {
			if (y->st == CS_NULL)
				continue;
			y->st = CS_NULL;
			emit_conn_event(s, "ConnectionClearedEvent", "droppedConnection",
					"releasingDevice", false, y, "normalClearing");
		}
		emit_call_cleared(s, c, NULL, "normalClearing");
		call_free(&s->m, c);
		return 0;
	}
	conn_free(&s->m, x);
	return 0;
}

int op_clear_call(struct sim *s, struct call *c)
{
	for (struct conn *y = c->conns; y; y = y->cnext)
		y->st = CS_NULL;
	emit_call_cleared(s, c, NULL, "normalClearing");
	call_free(&s->m, c);
	return 0;
}

int op_hold(struct sim *s, struct conn *x)
{
	if (x->st != CS_CONNECTED)
		return M_ESTATE;
	x->st = CS_HOLD;
	emit_conn_event(s, "HeldEvent", "heldConnection", "holdingDevice", false, x, "normal");
	return 0;
}

int op_retrieve(struct sim *s, struct conn *x)
{
	if (x->st != CS_HOLD)
		return M_ESTATE;
	x->st = CS_CONNECTED;
	emit_conn_event(s, "RetrievedEvent", "retrievedConnection", "retrievingDevice", false, x,
			"normal");
	return 0;
}

int op_consult(struct sim *s, struct conn *existing, const char *to, struct call **out)
{
	int err;

	if (!existing->dev->ext)
		return M_EINVCONN;
	if (existing->st != CS_CONNECTED && existing->st != CS_HOLD)
		return M_ESTATE;
	if (!number_valid(to))
		return M_EINVDEST;
	if (existing->st == CS_CONNECTED) {
		err = op_hold(s, existing);
		if (err)
			return err;
	}
	return originate(s, existing->dev, to, "consultation", out);
}

static int check_pair(struct conn *held, struct conn *active)
{
	if (!held->dev->ext)
		return M_EINVDEV;
	if (held->dev != active->dev || held->call == active->call)
		return M_EINVCONN;
	if (held->st != CS_HOLD || active->st != CS_CONNECTED)
		return M_ESTATE;
	return 0;
}

/* The first party of x's call other than x: in a consultation call, the
 * party it reached (NULL when x is alone). */
static struct conn *other_conn(struct conn *x)
{
	for (struct conn *y = x->call->conns; y; y = y->cnext) {
		if (y != x)
			return y;
	}
	return NULL;
}

/* Whether a party of call a (other than device except) is in call b too:
 * joining the calls would put one device twice into the result. */
static bool calls_share_party(struct call *a, struct call *b, struct device *except)
{
	for (struct conn *y = a->conns; y; y = y->cnext) {
		if (y->dev != except && call_conn_of(b, y->dev))
			return true;
	}
	return false;
}

/* Moves connection y into call to, at *at (the end when at is NULL);
 * returns where the next one goes to keep the order. */
static struct conn **conn_move(struct sim *s, struct conn *y, struct call *to, struct conn **at)
{
	conn_unlink_call(y);
	y->call = to;
	if (!at)
		for (at = &to->conns; *at; at = &(*at)->cnext)
			;
	y->cnext = *at;
	*at = y;
	to->nconns++;
	noanswer_rearm(s, y);
	return &y->cnext;
}

static void list_entry(struct sbuf *b, const char *newcall, const char *oldcall, const char *dev)
{
	sbuf_puts(b, "<connectionListEntry>");
	ev_conn(b, "newConnection", newcall, dev);
	ev_conn(b, "oldConnection", oldcall, dev);
	sbuf_puts(b, "<endpoint><deviceID>");
	sbuf_xml(b, dev);
	sbuf_puts(b, "</deviceID></endpoint></connectionListEntry>");
}

int op_transfer(struct sim *s, struct conn *held, struct conn *active, struct call **out)
{
	struct call *c1 = held->call, *c2 = active->call;
	struct device *a = held->dev;
	struct conn *to;
	struct sbuf *b;
	int err = check_pair(held, active);

	if (err)
		return err;
	to = other_conn(active);
	if (!to)
		return M_ESTATE;
	if (calls_share_party(c1, c2, a))
		return M_ESAMEDEV;
	/* The resulting call is the consultation call (secondaryOldCall):
	 * the held party moves into it, the transferring device leaves both. */
	b = ev_begin(s, &s->ev, "TransferedEvent", c2, "transfer");
	ev_conn(b, "primaryOldCall", c1->idstr, a->num);
	ev_conn(b, "secondaryOldCall", c2->idstr, a->num);
	ev_dev(b, "transferringDevice", a->num);
	ev_dev(b, "transferredToDevice", to->dev->num);
	sbuf_puts(b, "<transferredConnections>");
	for (struct conn *y = c1->conns; y; y = y->cnext) {
		if (y != held)
			list_entry(b, c2->idstr, c1->idstr, y->dev->num);
	}
	for (struct conn *y = c2->conns; y; y = y->cnext) {
		if (y != active)
			list_entry(b, c2->idstr, c2->idstr, y->dev->num);
	}
	sbuf_puts(b, "</transferredConnections>");
	ev_extra(&s->ev, a);
	conn_free(&s->m, active);
	/* The held call's parties go in front, in their order: the first of
	 * them is the result's calling party (for the consulted device the
	 * far end is now the party it was transferred to). */
	{
		struct conn **at = &c2->conns;

		while (c1->conns && c1->conns != held)
			at = conn_move(s, c1->conns, c2, at);
		while (held->cnext)
			at = conn_move(s, held->cnext, c2, at);
	}
	if (c2->conns && c2->conns != to)
		snprintf(c2->calling, sizeof(c2->calling), "%s", c2->conns->dev->num);
	ev_emit(s, &s->ev);
	call_free(&s->m, c1);
	if (c2->nconns < 2) {
		op_clear_call(s, c2);
		c2 = NULL;
	}
	*out = c2;
	return 0;
}

int op_sst(struct sim *s, struct conn *active, const char *to, struct call **out)
{
	struct call *c = active->call;
	struct device *a = active->dev;
	struct sbuf *b;

	if (!a->ext)
		return M_EINVDEV;
	if (active->st != CS_CONNECTED)
		return M_ESTATE;
	if (c->nconns < 2)
		return M_ESTATE;
	if (!number_valid(to))
		return M_EINVDEST;
	b = ev_begin(s, &s->ev, "TransferedEvent", c, "singleStepTransfer");
	ev_conn(b, "primaryOldCall", c->idstr, a->num);
	ev_dev(b, "transferringDevice", a->num);
	ev_dev(b, "transferredToDevice", to);
	sbuf_puts(b, "<transferredConnections>");
	for (struct conn *y = c->conns; y; y = y->cnext) {
		if (y != active)
			list_entry(b, c->idstr, c->idstr, y->dev->num);
	}
	sbuf_puts(b, "</transferredConnections>");
	ev_extra(&s->ev, a);
	conn_free(&s->m, active);
	/* When the transferring device made the call, the party it leaves
	 * behind is the calling party from now on. */
	if (!strcmp(c->calling, a->num) && c->conns)
		snprintf(c->calling, sizeof(c->calling), "%s", c->conns->dev->num);
	ev_emit(s, &s->ev);
	*out = c;
	return deliver(s, c, to, a->num, "singleStepTransfer");
}

int op_conference(struct sim *s, struct conn *held, struct conn *active, struct call **out)
{
	struct call *c1 = held->call, *c2 = active->call;
	struct device *a = held->dev;
	struct conn *added;
	struct sbuf *b;
	int err = check_pair(held, active);

	if (err)
		return err;
	added = other_conn(active);
	size_t n1 = (size_t)c1->nconns, i = 0;

	if (!added)
		return M_ESTATE;
	if (calls_share_party(c2, c1, a))
		return M_ESAMEDEV;
	conn_free(&s->m, active);
	while (c2->conns)
		conn_move(s, c2->conns, c1, NULL);
	held->st = CS_CONNECTED;
	b = ev_begin(s, &s->ev, "ConferencedEvent", c1, "conference");
	ev_conn(b, "primaryOldCall", c1->idstr, a->num);
	ev_conn(b, "secondaryOldCall", c2->idstr, a->num);
	ev_dev(b, "conferencingDevice", a->num);
	ev_dev(b, "addedParty", added->dev->num);
	sbuf_puts(b, "<conferenceConnections>");
	for (struct conn *y = c1->conns; y; y = y->cnext, i++)
		list_entry(b, c1->idstr, i < n1 ? c1->idstr : c2->idstr, y->dev->num);
	sbuf_puts(b, "</conferenceConnections>");
	ev_emit(s, &s->ev);
	call_free(&s->m, c2);
	*out = c1;
	return 0;
}

int op_alternate(struct sim *s, struct conn *held, struct conn *active)
{
	int err = check_pair(held, active);

	if (err)
		return err;
	op_hold(s, active);
	return op_retrieve(s, held);
}

int op_reconnect(struct sim *s, struct conn *held, struct conn *active)
{
	if (held->dev != active->dev || held->call == active->call)
		return M_EINVCONN;
	if (held->st != CS_HOLD)
		return M_ESTATE;
	op_clear_conn(s, active);
	return op_retrieve(s, held);
}

/* A deflection must reach someone new: a phone already in the call (the
 * caller, a hunt member ringing in parallel) or a pilot whose members all
 * are would end the call busy after the Diverted event - it is refused
 * before anything moves, as a PBX refuses an invalid destination. */
static bool deflect_dest_ok(struct sim *s, struct call *c, const char *to)
{
	struct hunt_group *g = model_hunt(&s->m, to);
	struct device *d;

	if (g) {
		for (size_t i = 0; i < g->n; i++)
			if (!call_conn_of(c, g->members[i]))
				return true;
		return false;
	}
	d = model_dev(&s->m, to);
	return !d || !call_conn_of(c, d);
}

int op_deflect(struct sim *s, struct conn *x, const char *to)
{
	struct call *c = x->call;
	struct device *d = x->dev;
	char from[NUM_MAX];

	if (x->st != CS_ALERTING)
		return M_ESTATE;
	if (!number_valid(to))
		return M_EINVDEST;
	if (!strcmp(to, d->num) || !deflect_dest_ok(s, c, to))
		return M_EINVDEST;
	/* d may be an outside party that goes away with its connection */
	snprintf(from, sizeof(from), "%s", d->num);
	x->st = CS_NULL;
	emit_diverted(s, c, d, to, "redirected");
	conn_free(&s->m, x);
	return deliver(s, c, to, from, "redirected");
}

int op_pickup(struct sim *s, struct conn *x, struct device *by)
{
	struct call *c = x->call;
	struct device *d = x->dev;
	struct conn *y;

	/* Only a call ringing at one of this PBX's phones can be picked up. */
	if (!by->ext || !d->ext)
		return M_EINVDEV;
	if (x->st != CS_ALERTING)
		return M_ESTATE;
	if (call_conn_of(c, by))
		return M_ESTATE;
	x->st = CS_NULL;
	emit_diverted(s, c, d, by->num, "callPickup");
	snprintf(c->lastredir, sizeof(c->lastredir), "%s", d->num);
	conn_free(&s->m, x);
	y = conn_new(&s->m, c, by, CS_CONNECTED);
	if (!y)
		return M_ENOMEM;
	emit_conn_event(s, "EstablishedEvent", "establishedConnection", "answeringDevice", true, y,
			"callPickup");
	hunt_taken(s, c, y);
	return 0;
}

int op_group_pickup(struct sim *s, struct device *by, struct call **out)
{
	struct conn *best = NULL;

	if (!by->ext)
		return M_EINVDEV;
	/* The longest ringing call in the requester's pickup group. */
	for (size_t i = 0; i < s->m.nexts; i++) {
		struct device *d = s->m.exts[i];

		if (d == by || d->pgroup != by->pgroup)
			continue;
		for (struct conn *x = d->conns; x; x = x->dnext) {
			if (x->st == CS_ALERTING && !call_conn_of(x->call, by) &&
			    (!best || x->call->id < best->call->id))
				best = x;
		}
	}
	if (!best)
		return M_ENOCALL;
	*out = best->call;
	return op_pickup(s, best, by);
}

int op_digits(struct sim *s, struct conn *x, const char *digits)
{
	(void)s;
	if (x->st != CS_CONNECTED)
		return M_ESTATE;
	for (const char *p = digits; *p; p++) {
		if (!isdigit((unsigned char)*p) && !strchr("*#ABCDabcd,", *p))
			return M_EINVDEST;
	}
	return 0;
}

int op_set_fwd(struct sim *s, struct device *d, enum fwd_type t, bool on, const char *to)
{
	struct sbuf *b;

	if (!d->ext)
		return M_EINVDEV;
	if (on && (!to || !number_valid(to) || !strcmp(to, d->num)))
		return M_EINVDEST;
	snprintf(d->fwd[t], sizeof(d->fwd[t]), "%s", on ? to : "");
	if (!d->mons)
		return 0;
	b = ev_begin(s, &s->ev, "ForwardingEvent", NULL, NULL);
	s->ev.only = d;
	s->ev.no_lci = true;
	ev_dev(b, "device", d->num);
	sbuf_elem(b, "forwardingType", fwd_type_name(t));
	sbuf_elem(b, "forwardStatus", on ? "true" : "false");
	if (on)
		sbuf_elem(b, "forwardTo", to);
	ev_emit(s, &s->ev);
	return 0;
}

int op_set_dnd(struct sim *s, struct device *d, bool on)
{
	struct sbuf *b;

	if (!d->ext)
		return M_EINVDEV;
	d->dnd = on;
	if (!d->mons)
		return 0;
	b = ev_begin(s, &s->ev, "DoNotDisturbEvent", NULL, NULL);
	s->ev.only = d;
	s->ev.no_lci = true;
	ev_dev(b, "device", d->num);
	sbuf_elem(b, "doNotDisturbOn", on ? "true" : "false");
	ev_emit(s, &s->ev);
	return 0;
}

void op_noanswer_due(struct sim *s, uint32_t callid, const char *dev)
{
	struct call *c = model_call_id(&s->m, callid);
	struct device *d = model_dev(&s->m, dev);
	struct conn *x;
	char dest[NUM_MAX];

	if (!c || !d)
		return;
	x = call_conn_of(c, d);
	if (!x || x->st != CS_ALERTING || !d->fwd[FWD_NOANSWER][0])
		return;
	if (c->redirects >= MAX_REDIRECTS)
		return;
	c->redirects++;
	snprintf(dest, sizeof(dest), "%s", d->fwd[FWD_NOANSWER]);
	x->st = CS_NULL;
	emit_diverted(s, c, d, dest, "callForwardNoAnswer");
	conn_free(&s->m, x);
	deliver(s, c, dest, d->num, "callForwardNoAnswer");
}
