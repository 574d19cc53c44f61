/*
 * example_line.c - a complete PBX line driver, built outside the ucsd tree
 * against the installed SDK (ucs-plugin-1.pc), as a vendor builds one. The
 * contract it implements is abi/ucs/line.h; docs/sdk/line-driver.md walks
 * through it with this file as the example.
 *
 * The "PBX" is a loopback PBX inside the plugin: a handful of extensions
 * (config "devices", default 10 and 11) that can call each other. A make
 * call from one extension to another rings the other one; answering
 * connects both; hold, retrieve, DTMF, clearing a connection or the whole
 * call, forwarding and do-not-disturb work as a PBX would report them. Every
 * request is answered: the loopback PBX knows the outcome at once, so the
 * driver reports the PBX's events and then calls request_done() before
 * request() returns - which the contract allows. A driver of a real PBX
 * returns 0 from request() and calls request_done() when the PBX's answer
 * arrives.
 *
 * Opening: every line is OPEN at start, followed by its snapshot and
 * line_synced(). The manager may ask to open a line that is open already
 * (it re-opens every line after a driver_reinit()): that is a resync of an
 * open line - line_resync(), the snapshot, line_synced() - not a second OPEN
 * (el_open_line). The manager's slots are called from inside ops->open()
 * and ops->request(), which the contract allows.
 *
 * What the driver does NOT do (the line manager does it): numbers are
 * reported as the PBX uses them ("11"), never formatted; no rights, no
 * users, no dialplan, no journal; no check of the capability mask on
 * requests (the manager never sends a request a line's caps lack).
 *
 * Configuration (section "example-line" of ucsd.json):
 *   "group":    the line group's name; line ids are "<group>/<device>"  "loop"
 *   "location": dialplan location of the group ("": the default)         ""
 *   "devices":  the extensions of the loopback PBX (1..8 of them)         ["10", "11"]
 *
 * Log lines (info): "loopback PBX with N lines in group G"; "call C: A
 * calls B". Warning: "request OP on line L refused: WORDS".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#define EL_MAX_LINES 8
#define EL_MAX_CALLS 16

#define EL_CAPS                                                                               \
	(UCS_CAP_MAKE_CALL | UCS_CAP_ANSWER | UCS_CAP_CLEAR_CONNECTION | UCS_CAP_CLEAR_CALL | \
	 UCS_CAP_HOLD | UCS_CAP_RETRIEVE | UCS_CAP_DTMF | UCS_CAP_FWD_IMMEDIATE |             \
	 UCS_CAP_FWD_BUSY | UCS_CAP_FWD_NOANSWER | UCS_CAP_DND | UCS_CAP_SNAPSHOT)

struct el_line {
	char device[32];     /* the PBX's number of the extension */
	char id[UCS_ID_MAX]; /* "<group>/<device>" */
	int open;	     /* reported UCS_LS_OPEN (and not reported otherwise since) */
};

/* A call of the loopback PBX: two legs, 0 the caller's and 1 the callee's,
 * each a connection with an ECMA-269 state. */
struct el_call {
	int used;
	char id[16];
	int line[2];  /* index into el.lines */
	int state[2]; /* enum ucs_conn_state */
};

struct el {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_linemgr_api *mgr;
	struct ucs_line_driver *drv;
	char group[64];
	char location[64];
	struct el_line lines[EL_MAX_LINES];
	size_t n_lines;
	struct el_call calls[EL_MAX_CALLS];
	unsigned next_call;
	unsigned long long requests, calls_made;
};

#define LOG(e, level, ...) (e)->host->log->log((e)->self, (level), __VA_ARGS__)

static int el_line_index(const struct el *e, const char *id)
{
	for (size_t i = 0; i < e->n_lines; i++)
		if (strcmp(e->lines[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int el_line_by_device(const struct el *e, const char *device)
{
	for (size_t i = 0; i < e->n_lines; i++)
		if (strcmp(e->lines[i].device, device) == 0)
			return (int)i;
	return -1;
}

/* The call `id` and which of its legs is on line `li`, or NULL. */
static struct el_call *el_call_find(struct el *e, const char *id, int li, int *leg)
{
	for (size_t i = 0; i < EL_MAX_CALLS; i++) {
		struct el_call *c = &e->calls[i];

		if (!c->used || strcmp(c->id, id) != 0)
			continue;
		if (c->line[0] == li && c->state[0] != UCS_CS_NULL) {
			*leg = 0;
			return c;
		}
		if (c->line[1] == li && c->state[1] != UCS_CS_NULL) {
			*leg = 1;
			return c;
		}
	}
	return NULL;
}

/*
 * Reports one event of call c as the line of `leg` sees it: the state is
 * that leg's connection after the event; the parties are the PBX's device
 * numbers, exactly as the PBX would put them into its CSTA event.
 */
static void el_emit(struct el *e, const struct el_call *c, int leg, int event, const char *cause)
{
	struct ucs_line_call_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.event = event;
	ev.state = c->state[leg];
	snprintf(ev.line.text, sizeof(ev.line.text), "%s", e->lines[c->line[leg]].id);
	snprintf(ev.call, sizeof(ev.call), "%s", c->id);
	snprintf(ev.calling, sizeof(ev.calling), "%s", e->lines[c->line[0]].device);
	snprintf(ev.called, sizeof(ev.called), "%s", e->lines[c->line[1]].device);
	/* alerting and answering device: the callee */
	if (event == UCS_CE_DELIVERED || event == UCS_CE_ESTABLISHED || event == UCS_CE_SNAPSHOT)
		snprintf(ev.connected, sizeof(ev.connected), "%s", e->lines[c->line[1]].device);
	snprintf(ev.cause, sizeof(ev.cause), "%s", cause);
	e->mgr->call_event(e->drv, &ev);
}

/* Both legs see the event (held, retrieved, established). */
static void el_emit_both(struct el *e, const struct el_call *c, int event)
{
	el_emit(e, c, 0, event, "");
	el_emit(e, c, 1, event, "");
}

/*
 * A line was opened (at start, or again on the manager's request): it is
 * OPEN, then the calls its device has now are reported as snapshots, then
 * line_synced() - the manager ends every call of the line that no event
 * named since the line turned OPEN.
 *
 * The manager may ask to open a line that is open already (it re-opens
 * every line after driver_reinit()). Reporting OPEN again would change
 * nothing, and its line_synced() would end calls by the events of the
 * previous open: the status did not change, so the snapshot begins with
 * line_resync() instead. A manager older than that slot has no resync; the
 * snapshot is then reported without line_synced() (a call it does not name
 * stays until its next event: better than ending a live one).
 */
static void el_open_line(struct el *e, int li)
{
	struct el_line *l = &e->lines[li];
	const char *id = l->id;
	int synced = 1;

	if (!l->open) {
		l->open = 1;
		e->mgr->line_status(e->drv, id, UCS_LS_OPEN, "");
	} else if (UCS_HAS_SLOT(e->mgr, struct ucs_linemgr_api, line_resync)) {
		e->mgr->line_resync(e->drv, id);
	} else {
		synced = 0;
	}
	for (size_t i = 0; i < EL_MAX_CALLS; i++) {
		const struct el_call *c = &e->calls[i];

		for (int leg = 0; c->used && leg < 2; leg++)
			if (c->line[leg] == li && c->state[leg] != UCS_CS_NULL)
				el_emit(e, c, leg, UCS_CE_SNAPSHOT, "");
	}
	if (synced)
		e->mgr->line_synced(e->drv, id);
}

/* ---- the requests of the manager, carried out by the loopback PBX ---- */

/* Make call: the caller's line sees service initiated, originated and
 * delivered (the far end rings); the called line sees delivered. */
static int el_make(struct el *e, int li, const char *number, const char **refusal,
		   const char **call_id)
{
	int to = el_line_by_device(e, number);
	struct el_call *c = NULL;

	if (to < 0 || to == li) {
		*refusal = "invalidCalledDevice"; /* the PBX's words (ECMA-269) */
		return -EREMOTEIO;
	}
	for (size_t i = 0; i < EL_MAX_CALLS && !c; i++)
		if (!e->calls[i].used)
			c = &e->calls[i];
	if (!c) {
		*refusal = "noCallsAvailable";
		return -EREMOTEIO;
	}
	memset(c, 0, sizeof(*c));
	c->used = 1;
	snprintf(c->id, sizeof(c->id), "%u", ++e->next_call);
	c->line[0] = li;
	c->line[1] = to;
	c->state[0] = UCS_CS_INITIATED;
	el_emit(e, c, 0, UCS_CE_SERVICE_INITIATED, "");
	c->state[0] = UCS_CS_CONNECTED;
	el_emit(e, c, 0, UCS_CE_ORIGINATED, "");
	c->state[1] = UCS_CS_ALERTING;
	el_emit(e, c, 0, UCS_CE_DELIVERED, "");
	el_emit(e, c, 1, UCS_CE_DELIVERED, "");
	e->calls_made++;
	LOG(e, UCS_LOG_INFO, "call %s: %s calls %s", c->id, e->lines[li].device,
	    e->lines[to].device);
	*call_id = c->id;
	return 0;
}

/* One leg leaves (clear connection): its line sees connection cleared; a
 * two-party call then ends for the other line too (call cleared). */
static void el_clear(struct el *e, struct el_call *c, int leg, int whole_call)
{
	int other = 1 - leg;

	c->state[leg] = UCS_CS_NULL;
	if (whole_call) {
		el_emit(e, c, leg, UCS_CE_CALL_CLEARED, "normalClearing");
	} else {
		el_emit(e, c, leg, UCS_CE_CONNECTION_CLEARED, "normalClearing");
	}
	if (c->state[other] != UCS_CS_NULL) {
		c->state[other] = UCS_CS_NULL;
		el_emit(e, c, other, UCS_CE_CALL_CLEARED, "normalClearing");
	}
	c->used = 0;
}

/* A call request: the call must have a connection on the line. */
static int el_call_op(struct el *e, const struct ucs_line_request *rq, int li, const char **refusal)
{
	int leg = 0;
	struct el_call *c = el_call_find(e, rq->call, li, &leg);

	if (!c) {
		*refusal = "invalidCallID";
		return -EREMOTEIO;
	}
	switch (rq->op) {
	case UCS_OP_ANSWER:
		if (leg != 1 || c->state[1] != UCS_CS_ALERTING)
			break;
		c->state[1] = UCS_CS_CONNECTED;
		el_emit_both(e, c, UCS_CE_ESTABLISHED);
		return 0;
	case UCS_OP_CLEAR:
	case UCS_OP_CLEAR_CALL:
		el_clear(e, c, leg, rq->op == UCS_OP_CLEAR_CALL);
		return 0;
	case UCS_OP_HOLD:
		if (c->state[leg] != UCS_CS_CONNECTED || c->state[1 - leg] != UCS_CS_CONNECTED)
			break;
		c->state[leg] = UCS_CS_HELD;
		el_emit_both(e, c, UCS_CE_HELD);
		return 0;
	case UCS_OP_RETRIEVE:
		if (c->state[leg] != UCS_CS_HELD)
			break;
		c->state[leg] = UCS_CS_CONNECTED;
		el_emit_both(e, c, UCS_CE_RETRIEVED);
		return 0;
	case UCS_OP_DTMF:
		if (c->state[leg] != UCS_CS_CONNECTED)
			break;
		return 0; /* the digits go into the voice path; no event */
	default:
		return -ENOTSUP;
	}
	*refusal = "invalidConnectionState";
	return -EREMOTEIO;
}

static int el_request(void *ctx, const struct ucs_line_request *rq, uint64_t token)
{
	struct el *e = ctx;
	int li = el_line_index(e, rq->line.text);
	const char *refusal = "", *call_id = "";
	int status;

	e->requests++;
	if (li < 0)
		return -ENOENT; /* refused at once: no request_done() follows */
	switch (rq->op) {
	case UCS_OP_MAKE:
		status = el_make(e, li, rq->number, &refusal, &call_id);
		break;
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
		/* the PBX confirms with a ForwardingEvent: report the new state */
		e->mgr->line_forwarding(e->drv, e->lines[li].id, rq->mode,
					rq->op == UCS_OP_FORWARD_SET, rq->number);
		status = 0;
		break;
	case UCS_OP_DND_SET:
		e->mgr->line_dnd(e->drv, e->lines[li].id, rq->on);
		status = 0;
		break;
	default:
		status = el_call_op(e, rq, li, &refusal);
		if (status == -ENOTSUP)
			return status; /* not in the caps: the manager never asks */
		break;
	}
	if (status)
		LOG(e, UCS_LOG_WARNING, "request %d on line %s refused: %s", rq->op,
		    e->lines[li].id, refusal);
	/* exactly once per accepted request, here before request() returns */
	e->mgr->request_done(e->drv, token, status, refusal, call_id);
	return 0;
}

static int el_open(void *ctx, const char *line)
{
	struct el *e = ctx;
	int li = el_line_index(e, line);

	if (li < 0)
		return -ENOENT;
	el_open_line(e, li);
	return 0;
}

static const struct ucs_line_driver_ops el_ops = {
	.size = sizeof(el_ops), .request = el_request, .open = el_open,
	/* close and line_wanted: NULL (lines stay monitored; no lines on demand) */
};

/* ---- lifecycle ---- */

static int el_read_config(struct el *e)
{
	const struct ucs_cfg_api *cfg = e->host->cfg;
	const struct ucs_cfg *section = cfg->section(e->self);
	int n = cfg->count(section, "devices");
	/* both have defaults, but get_string() answers NULL for an absent key */
	const char *group = cfg->get_string(section, "group");
	const char *location = cfg->get_string(section, "location");

	snprintf(e->group, sizeof(e->group), "%s", group ? group : "");
	snprintf(e->location, sizeof(e->location), "%s", location ? location : "");
	if (n < 1 || n > EL_MAX_LINES || !e->group[0]) {
		LOG(e, UCS_LOG_ERROR, "1 to %d devices and a group name, please", EL_MAX_LINES);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		struct el_line *l = &e->lines[i];
		const char *dev = cfg->list_string(section, "devices", (size_t)i);

		if (!dev)
			dev = "";
		if (!dev[0] || strlen(dev) >= sizeof(l->device) || el_line_by_device(e, dev) >= 0) {
			LOG(e, UCS_LOG_ERROR, "device '%s' is empty, too long or given twice", dev);
			return -EINVAL;
		}
		snprintf(l->device, sizeof(l->device), "%s", dev);
		if (snprintf(l->id, sizeof(l->id), "%s/%s", e->group, dev) >= (int)sizeof(l->id)) {
			LOG(e, UCS_LOG_ERROR, "line id %s/%s is too long", e->group, dev);
			return -EINVAL;
		}
		e->n_lines++;
	}
	return 0;
}

/* Step 1 and 2 of a driver's life: register, declare the group and lines
 * (they start UCS_LS_NOT_INITIALISED). */
static int el_declare(struct el *e)
{
	struct ucs_line_group_desc g;
	int err;

	err = e->mgr->driver_add(e->self, "example-line", &el_ops, e, &e->drv);
	if (err)
		return err;
	memset(&g, 0, sizeof(g));
	g.size = sizeof(g);
	g.caps = EL_CAPS;
	snprintf(g.name, sizeof(g.name), "%s", e->group);
	snprintf(g.location, sizeof(g.location), "%s", e->location);
	err = e->mgr->group_add(e->drv, &g);
	for (size_t i = 0; !err && i < e->n_lines; i++) {
		struct ucs_line_desc l;

		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.caps = 0; /* the group's */
		snprintf(l.id.text, sizeof(l.id.text), "%s", e->lines[i].id);
		snprintf(l.device.text, sizeof(l.device.text), "%s", e->lines[i].device);
		snprintf(l.group, sizeof(l.group), "%s", e->group);
		snprintf(l.name, sizeof(l.name), "Loop %s", e->lines[i].device);
		err = e->mgr->line_add(e->drv, &l);
	}
	return err;
}

static int el_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct el *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	e->self = self;
	e->host = host;
	/* "requires": the manager is initialised before us, so it is there */
	e->mgr = host->service->get(self, UCS_LINEMGR_SERVICE, UCS_LINEMGR_VERSION);
	err = e->mgr ? el_read_config(e) : -ENOENT;
	if (!err)
		err = el_declare(e);
	if (err) {
		if (e->drv)
			e->mgr->driver_remove(e->drv);
		free(e);
		return err;
	}
	*state = e;
	return 0;
}

/* Step 3 and 5: the PBX is "connected": every line opens and is synced. */
static int el_start(void *state)
{
	struct el *e = state;

	for (size_t i = 0; i < e->n_lines; i++)
		el_open_line(e, (int)i);
	LOG(e, UCS_LOG_INFO, "loopback PBX with %zu lines in group %s", e->n_lines, e->group);
	return 0;
}

/* Step 6: the lines become REMOVED; nothing of ours is called afterwards.
 * The handle is dead after driver_remove(): a real driver also drops its
 * pending request tokens here without request_done() (the manager failed
 * those requests itself) and never touches e->drv again. */
static void el_stop(void *state)
{
	struct el *e = state;

	e->mgr->driver_remove(e->drv);
	e->drv = NULL;
	for (size_t i = 0; i < e->n_lines; i++)
		e->lines[i].open = 0;
}

static void el_fini(void *state)
{
	free(state);
}

static int el_status(void *state, char *buf, size_t cap)
{
	const struct el *e = state;

	return snprintf(buf, cap, "{\"lines\":%zu,\"requests\":%llu,\"calls\":%llu}", e->n_lines,
			e->requests, e->calls_made);
}

static const struct ucs_cfg_key el_keys[] = {
	UCS_CFG_STRING_KEY("group", "\"loop\"", "line group name; line ids are <group>/<device>"),
	UCS_CFG_STRING_KEY("location", "\"\"", "dialplan location of the group; \"\": default"),
	UCS_CFG_LIST_KEY("devices", "[\"10\", \"11\"]", "extensions of the loopback PBX (1-8)"),
	UCS_CFG_END,
};

static const char *const el_requires[] = {UCS_LINEMGR_SERVICE, NULL};

static const struct ucs_plugin_desc el_desc = {
	UCS_PLUGIN_HEADER,
	.name = "example-line",
	.version = "1.0.0",
	.license = "MIT",
	.description = "SDK example: a line driver for a loopback PBX",
	.requires = el_requires,
	.config = el_keys,
	.init = el_init,
	.start = el_start,
	.stop = el_stop,
	.fini = el_fini,
	.status = el_status,
};

UCS_PLUGIN_DEFINE(el_desc)
