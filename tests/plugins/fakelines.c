/*
 * tests/plugins/fakelines.c - a stand-in line manager for the tests of the
 * client protocol, until the real one (issue 6) exists.
 *
 * It speaks the consumer side of abi/ucs/lines.h exactly: the service
 * "ucs.lines" v1, "line.status" and "call.state" on the bus (key
 * "line:<id>"), and it serves the request "call.control" with replies of
 * type "call.control.result". It also registers those four bus types,
 * which the real line manager will own. For presence it reports each line
 * through "presence.in.line" (idle at start, then as calls come and go), so
 * presence binds the lines to users by number or by first/second phone.
 *
 * Configuration (section "fakelines"):
 *   "lines": [{"id": "pbx/111", "internal": "111", "number": "+4981513685111",
 *              "caps": ["make_call", ...] (default ["*"]: every capability),
 *              "refuse": "invalidCallID" (every request on the line is
 *              refused with -EREMOTEIO and these words), "mute": true (requests
 *              are never answered: the requester times out)}]
 *
 * A call is made between two of its lines when the dialled number is
 * another line's internal or (canonical) number: the caller's leg is
 * originated and delivered, the callee's leg rings (alerting); answer
 * connects both, clear clears the call on both, hold and retrieve change
 * one leg, pickup moves a ringing leg to the picking line. A number that
 * is no line makes a one-legged outgoing call. The other operations are
 * accepted without changing anything. Forwarding and do-not-disturb change
 * the line and are published.
 *
 * Every request is logged at info before anything is decided:
 *   "request OP line L actor A"
 * so a test can assert that a request the client protocol refused never
 * got here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/ucs.h>

#define MAX_LINES 32
#define MAX_LEGS  128
#define MAX_MUTED 32

struct fl_line {
	struct ucs_line_info info;
	char refuse[128];
	int mute;
};

struct fl_leg {
	int used;
	int line; /* index */
	struct ucs_call_info ci;
};

struct fl {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct fl_line lines[MAX_LINES];
	size_t n_lines;
	struct fl_leg legs[MAX_LEGS];
	unsigned next_call;
	const struct ucs_msg_type *t_status, *t_state, *t_control, *t_result;
	struct ucs_server *server;
	struct ucs_request *muted[MAX_MUTED];
	size_t n_muted;
};

static struct fl *the_fl;

#define LOG(f, level, ...) (f)->host->log->log((f)->self, (level), __VA_ARGS__)

static const char *const cap_names[] = {
	"make_call",	 "answer",   "clear_connection", "clear_call",	 "hold",
	"retrieve",	 "consult",  "transfer",	 "conference",	 "alternate",
	"reconnect",	 "deflect",  "pickup",		 "group_pickup", "dtmf",
	"fwd_immediate", "fwd_busy", "fwd_noanswer",	 "dnd",		 "snapshot",
	"open_on_demand"};
#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))

static const char *const op_names[] = {
	"?",	    "make",    "answer",   "clear",	  "clear_call",	   "hold",
	"retrieve", "consult", "transfer", "conference",  "alternate",	   "reconnect",
	"deflect",  "pickup",  "dtmf",	   "forward_set", "forward_clear", "dnd_set"};

static const char *op_name(int op)
{
	return op > 0 && (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- JSON forms of the two state types ---------------------------------------- */

/* A JSON string of printable ASCII text (anything else becomes '?'). */
static int jstr(char *buf, size_t cap, const char *s, size_t max)
{
	size_t o = 0;
	int n;

	n = snprintf(buf, cap, "\"");
	o += (size_t)n;
	for (size_t i = 0; i < max && s[i]; i++) {
		char c = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\' ? s[i] : '?';

		if (o + 1 < cap)
			buf[o] = c;
		o++;
	}
	if (o < cap)
		buf[o] = '\0';
	n = snprintf(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, "\"");
	return (int)o + n;
}

#define PUT(...)                                                                                 \
	do {                                                                                     \
		int n_ = snprintf(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, __VA_ARGS__); \
		o += (size_t)n_;                                                                 \
	} while (0)
#define PUTS(s, max)                                                                        \
	do {                                                                                \
		o += (size_t)jstr(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, s, max); \
	} while (0)

static int status_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_line_info *li = payload;
	size_t o = 0;

	if (len < sizeof(*li))
		return -EINVAL;
	PUT("{\"id\":");
	PUTS(li->id.text, sizeof(li->id.text));
	PUT(",\"status\":%d,\"caps\":%llu,\"dnd\":%d,\"number\":", li->status,
	    (unsigned long long)li->caps, li->dnd);
	PUTS(li->number.canonical.text, sizeof(li->number.canonical.text));
	PUT(",\"fwd\":[%d,%d,%d]}", li->fwd_on[0], li->fwd_on[1], li->fwd_on[2]);
	return (int)o;
}

static int state_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_call_info *ci = payload;
	size_t o = 0;

	if (len < sizeof(*ci))
		return -EINVAL;
	PUT("{\"call\":");
	PUTS(ci->call.text, sizeof(ci->call.text));
	PUT(",\"line\":");
	PUTS(ci->line.text, sizeof(ci->line.text));
	PUT(",\"event\":%d,\"state\":%d,\"direction\":%d,\"remote\":", ci->event, ci->state,
	    ci->direction);
	PUTS(ci->remote.canonical.text, sizeof(ci->remote.canonical.text));
	PUT("}");
	return (int)o;
}

/* ---- numbers ------------------------------------------------------------------ */

static void number_of(struct fl *f, const char *entered, enum ucs_dp_kind kind,
		      struct ucs_number *out)
{
	const struct ucs_dialplan_api *dp = f->host->service->find(UCS_DIALPLAN_SERVICE, 1, NULL);
	struct ucs_dp_number n = {.size = sizeof(n)};

	memset(out, 0, sizeof(*out));
	if (dp && dp->format(NULL, kind, entered, &n, NULL, NULL) == 0 && n.canonical.text[0]) {
		out->canonical = n.canonical;
		snprintf(out->display, sizeof(out->display), "%s", n.display);
		return;
	}
	snprintf(out->canonical.text, sizeof(out->canonical.text), "%s", entered);
	snprintf(out->display, sizeof(out->display), "%s", entered);
}

/* ---- publishing ---------------------------------------------------------------- */

static void publish(struct fl *f, const struct ucs_msg_type *t, const char *line, const void *p,
		    size_t len)
{
	const struct ucs_bus_api *bus = f->host->bus;
	char key[UCS_ID_MAX + 8];
	struct ucs_msg *m;

	if (!t)
		return;
	if (line)
		snprintf(key, sizeof(key), "line:%s", line);
	if (bus->msg_new(t, line ? key : NULL, p, len, &m) == 0)
		bus->publish(f->self, m);
}

/* presence.in.line of a line: its state from its legs. */
static void publish_presence(struct fl *f, int li)
{
	const struct ucs_msg_type *t = f->host->bus->type_find(UCS_PRESENCE_IN_LINE_TYPE, 1);
	const struct fl_line *l = &f->lines[li];
	struct ucs_presence_line in = {.size = sizeof(in), .state = UCS_LINE_IDLE};

	in.line = l->info.id;
	in.internal = l->info.internal;
	in.canonical = l->info.number.canonical;
	in.forwarding = l->info.fwd_on[UCS_FWD_IMMEDIATE];
	in.fwd_target = l->info.fwd_to[UCS_FWD_IMMEDIATE].canonical;
	in.dnd = l->info.dnd;
	for (size_t i = 0; i < MAX_LEGS; i++) {
		const struct fl_leg *g = &f->legs[i];
		int st;

		if (!g->used || g->line != li)
			continue;
		switch (g->ci.state) {
		case UCS_CS_ALERTING:
			st = UCS_LINE_RINGING;
			break;
		case UCS_CS_INITIATED:
			st = UCS_LINE_DIALING;
			break;
		case UCS_CS_HELD:
			st = UCS_LINE_HELD;
			break;
		default:
			st = UCS_LINE_CONNECTED;
			break;
		}
		in.state = st;
		in.direction = g->ci.direction;
		in.remote = g->ci.remote.canonical;
		snprintf(in.remote_name, sizeof(in.remote_name), "%s", g->ci.remote_name);
		break;
	}
	publish(f, t, NULL, &in, sizeof(in));
}

static void publish_line(struct fl *f, int li)
{
	publish(f, f->t_status, f->lines[li].info.id.text, &f->lines[li].info,
		sizeof(f->lines[li].info));
	publish_presence(f, li);
}

static void leg_event(struct fl *f, struct fl_leg *g, int event, int state)
{
	g->ci.event = event;
	g->ci.state = state;
	if (state == UCS_CS_CONNECTED && !g->ci.connected_ms)
		g->ci.connected_ms = now_ms();
	publish(f, f->t_state, g->ci.line.text, &g->ci, sizeof(g->ci));
	if (state == UCS_CS_NULL)
		g->used = 0;
	publish_presence(f, g->line);
}

/* ---- the model ------------------------------------------------------------------- */

static int line_index(struct fl *f, const char *id)
{
	for (size_t i = 0; i < f->n_lines; i++)
		if (strcmp(f->lines[i].info.id.text, id) == 0)
			return (int)i;
	return -1;
}

static int line_by_number(struct fl *f, const char *number)
{
	struct ucs_number n;

	number_of(f, number, UCS_DP_DISPLAY, &n);
	for (size_t i = 0; i < f->n_lines; i++)
		if (strcmp(f->lines[i].info.internal.text, number) == 0 ||
		    (n.canonical.text[0] &&
		     strcmp(f->lines[i].info.number.canonical.text, n.canonical.text) == 0))
			return (int)i;
	return -1;
}

static struct fl_leg *leg_new(struct fl *f, int li, const char *call, int dir)
{
	for (size_t i = 0; i < MAX_LEGS; i++) {
		struct fl_leg *g = &f->legs[i];

		if (g->used)
			continue;
		memset(g, 0, sizeof(*g));
		g->used = 1;
		g->line = li;
		g->ci.size = sizeof(g->ci);
		g->ci.direction = dir;
		g->ci.started_ms = now_ms();
		snprintf(g->ci.call.text, sizeof(g->ci.call.text), "%s", call);
		g->ci.line = f->lines[li].info.id;
		return g;
	}
	return NULL;
}

static struct fl_leg *leg_find(struct fl *f, const char *call, int li)
{
	for (size_t i = 0; i < MAX_LEGS; i++) {
		struct fl_leg *g = &f->legs[i];

		if (g->used && strcmp(g->ci.call.text, call) == 0 && (li < 0 || g->line == li))
			return g;
	}
	return NULL;
}

/* The other leg of a call. */
static struct fl_leg *leg_peer(struct fl *f, const struct fl_leg *g)
{
	for (size_t i = 0; i < MAX_LEGS; i++) {
		struct fl_leg *p = &f->legs[i];

		if (p->used && p != g && strcmp(p->ci.call.text, g->ci.call.text) == 0)
			return p;
	}
	return NULL;
}

/* A call from line li to number; the call id into call. */
static int make_call(struct fl *f, int li, const char *number, const char *project, char *call,
		     size_t cap)
{
	int to = line_by_number(f, number);
	struct fl_leg *a, *b = NULL;

	snprintf(call, cap, "fc%u", ++f->next_call);
	a = leg_new(f, li, call, UCS_CALL_OUTGOING);
	if (!a)
		return -ENOSPC;
	snprintf(a->ci.project, sizeof(a->ci.project), "%s", project);
	if (to >= 0) {
		b = leg_new(f, to, call, UCS_CALL_INCOMING);
		if (!b) {
			a->used = 0;
			return -ENOSPC;
		}
		a->ci.remote = f->lines[to].info.number;
		a->ci.internal = b->ci.internal = 1;
		snprintf(a->ci.remote_name, sizeof(a->ci.remote_name), "%s",
			 f->lines[to].info.name);
		b->ci.remote = f->lines[li].info.number;
		snprintf(b->ci.remote_name, sizeof(b->ci.remote_name), "%s",
			 f->lines[li].info.name);
	} else {
		number_of(f, number, UCS_DP_CALLED, &a->ci.remote);
	}
	leg_event(f, a, UCS_CE_ORIGINATED, UCS_CS_INITIATED);
	if (b) {
		leg_event(f, b, UCS_CE_DELIVERED, UCS_CS_ALERTING);
		leg_event(f, a, UCS_CE_DELIVERED, UCS_CS_CONNECTED);
	} else {
		leg_event(f, a, UCS_CE_DELIVERED, UCS_CS_CONNECTED);
	}
	return 0;
}

static void clear_call(struct fl *f, const char *call)
{
	struct fl_leg *g;

	while ((g = leg_find(f, call, -1)))
		leg_event(f, g, UCS_CE_CALL_CLEARED, UCS_CS_NULL);
}

/* ---- call.control ------------------------------------------------------------------- */

static void reply(struct fl *f, struct ucs_request *req, int status, const char *call,
		  const char *reason)
{
	struct ucs_call_control_result r = {.size = sizeof(r), .status = status};
	struct ucs_msg *m = NULL;

	if (call)
		snprintf(r.call.text, sizeof(r.call.text), "%s", call);
	if (reason)
		snprintf(r.reason, sizeof(r.reason), "%s", reason);
	if (f->host->bus->msg_new(f->t_result, NULL, &r, sizeof(r), &m))
		m = NULL;
	f->host->bus->reply(req, status, m);
}

static uint64_t op_cap(const struct ucs_call_control *q)
{
	static const uint64_t fwd[] = {UCS_CAP_FWD_IMMEDIATE, UCS_CAP_FWD_BUSY,
				       UCS_CAP_FWD_NOANSWER};

	switch (q->op) {
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
		return q->mode >= 0 && q->mode < UCS_FWD_MODES ? fwd[q->mode] : 0;
	case UCS_OP_DND_SET:
		return UCS_CAP_DND;
	}
	return 0;
}

static void serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct fl *f = arg;
	size_t len = 0;
	const struct ucs_call_control *q = f->host->bus->msg_payload(msg, &len);
	char call[UCS_ID_MAX] = "";
	struct fl_line *l;
	struct fl_leg *g, *p;
	int li;

	if (!q || len < sizeof(*q)) {
		reply(f, req, -EINVAL, NULL, "malformed request");
		return;
	}
	LOG(f, UCS_LOG_INFO, "request %s line %.63s actor %.63s", op_name(q->op), q->line.text,
	    q->actor.text);
	li = line_index(f, q->line.text);
	if (li < 0) {
		reply(f, req, -ENOENT, NULL, "no such line");
		return;
	}
	l = &f->lines[li];
	if (l->refuse[0]) {
		reply(f, req, -EREMOTEIO, NULL, l->refuse);
		return;
	}
	if (l->mute && f->n_muted < MAX_MUTED) {
		f->muted[f->n_muted++] = req; /* answered at stop */
		return;
	}
	if (!(l->info.caps & op_cap(q))) {
		reply(f, req, -ENOTSUP, NULL, "the line does not offer this");
		return;
	}
	switch (q->op) {
	case UCS_OP_MAKE:
	case UCS_OP_CONSULT: {
		int err = make_call(f, li, q->number, q->project, call, sizeof(call));

		reply(f, req, err, err ? NULL : call, err ? "no room for calls" : NULL);
		return;
	}
	case UCS_OP_ANSWER:
		g = leg_find(f, q->call.text, li);
		if (!g || g->ci.state != UCS_CS_ALERTING) {
			reply(f, req, -EREMOTEIO, NULL, "invalidCallID");
			return;
		}
		leg_event(f, g, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED);
		if ((p = leg_peer(f, g)))
			leg_event(f, p, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED);
		break;
	case UCS_OP_CLEAR:
	case UCS_OP_CLEAR_CALL:
		if (!leg_find(f, q->call.text, li)) {
			reply(f, req, -EREMOTEIO, NULL, "invalidCallID");
			return;
		}
		clear_call(f, q->call.text);
		break;
	case UCS_OP_HOLD:
	case UCS_OP_RETRIEVE:
		g = leg_find(f, q->call.text, li);
		if (!g) {
			reply(f, req, -EREMOTEIO, NULL, "invalidCallID");
			return;
		}
		if (q->op == UCS_OP_HOLD)
			leg_event(f, g, UCS_CE_HELD, UCS_CS_HELD);
		else
			leg_event(f, g, UCS_CE_RETRIEVED, UCS_CS_CONNECTED);
		break;
	case UCS_OP_PICKUP: {
		int ti = line_index(f, q->target_line.text);
		struct fl_leg *n;

		g = NULL;
		for (size_t i = 0; ti >= 0 && i < MAX_LEGS; i++)
			if (f->legs[i].used && f->legs[i].line == ti &&
			    f->legs[i].ci.state == UCS_CS_ALERTING)
				g = &f->legs[i];
		if (!g) {
			reply(f, req, -EREMOTEIO, NULL, "noCallToPickUp");
			return;
		}
		snprintf(call, sizeof(call), "%s", g->ci.call.text);
		n = leg_new(f, li, call, UCS_CALL_INCOMING);
		if (!n) {
			reply(f, req, -ENOSPC, NULL, "no room for calls");
			return;
		}
		n->ci.remote = g->ci.remote;
		n->ci.diverted_from = f->lines[ti].info.number;
		leg_event(f, g, UCS_CE_DIVERTED, UCS_CS_NULL);
		leg_event(f, n, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED);
		if ((p = leg_peer(f, n)))
			leg_event(f, p, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED);
		reply(f, req, 0, call, NULL);
		return;
	}
	case UCS_OP_FORWARD_SET:
		l->info.fwd_on[q->mode] = 1;
		number_of(f, q->number, UCS_DP_FORWARDED, &l->info.fwd_to[q->mode]);
		publish_line(f, li);
		break;
	case UCS_OP_FORWARD_CLEAR:
		l->info.fwd_on[q->mode] = 0;
		memset(&l->info.fwd_to[q->mode], 0, sizeof(l->info.fwd_to[q->mode]));
		publish_line(f, li);
		break;
	case UCS_OP_DND_SET:
		l->info.dnd = q->on != 0;
		publish_line(f, li);
		break;
	default: /* transfer, conference, deflect, dtmf, ...: accepted as they are */
		if (q->call.text[0] && !leg_find(f, q->call.text, li)) {
			reply(f, req, -EREMOTEIO, NULL, "invalidCallID");
			return;
		}
		break;
	}
	reply(f, req, 0, NULL, NULL);
}

/* ---- the service ------------------------------------------------------------------------ */

static int svc_line(const char *id, struct ucs_line_info *out)
{
	struct fl *f = the_fl;
	int li = f ? line_index(f, id) : -1;

	if (li < 0)
		return -ENOENT;
	*out = f->lines[li].info;
	return 0;
}

static int svc_line_by_number(const char *number, struct ucs_line_info *out)
{
	struct fl *f = the_fl;
	int li = f ? line_by_number(f, number) : -1;

	if (li < 0)
		return -ENOENT;
	*out = f->lines[li].info;
	return 0;
}

static int svc_calls(const char *line, struct ucs_call_info *out, size_t max)
{
	struct fl *f = the_fl;
	int li = f ? line_index(f, line) : -1;
	size_t n = 0;

	if (li < 0)
		return -ENOENT;
	for (size_t i = 0; i < MAX_LEGS; i++)
		if (f->legs[i].used && f->legs[i].line == li) {
			if (n < max) {
				out[n] = f->legs[i].ci;
				out[n].event = UCS_CE_SNAPSHOT;
			}
			n++;
		}
	return (int)(n < max ? n : max);
}

static int svc_list(struct ucs_id *ids, size_t max)
{
	struct fl *f = the_fl;
	size_t n = 0;

	for (; f && n < f->n_lines && n < max; n++)
		ids[n] = f->lines[n].info.id;
	return (int)n;
}

static const struct ucs_lines_api lines_api = {
	.size = sizeof(lines_api),
	.line = svc_line,
	.line_by_number = svc_line_by_number,
	.calls = svc_calls,
	.list = svc_list,
};

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int read_lines(struct fl *f)
{
	const struct ucs_cfg_api *cfg = f->host->cfg;
	const struct ucs_cfg *sec = cfg->section(f->self);
	int n = cfg->count(sec, "lines");

	for (int i = 0; i < n && f->n_lines < MAX_LINES; i++) {
		const struct ucs_cfg *o = cfg->list_object(sec, "lines", (size_t)i);
		struct fl_line *l = &f->lines[f->n_lines];
		const char *s;
		int caps = cfg->count(o, "caps"), mute = 0;

		memset(l, 0, sizeof(*l));
		l->info.size = sizeof(l->info);
		l->info.status = UCS_LS_OPEN;
		snprintf(l->info.id.text, sizeof(l->info.id.text), "%s", cfg->get_string(o, "id"));
		if (!l->info.id.text[0]) {
			LOG(f, UCS_LOG_ERROR, "lines[%d]: no id", i);
			return -EINVAL;
		}
		snprintf(l->info.internal.text, sizeof(l->info.internal.text), "%s",
			 (s = cfg->get_string(o, "internal")) ? s : "");
		snprintf(l->info.name, sizeof(l->info.name), "%s",
			 (s = cfg->get_string(o, "name")) ? s : "");
		s = cfg->get_string(o, "number");
		if (s && *s)
			number_of(f, s, UCS_DP_LINE, &l->info.number);
		snprintf(l->refuse, sizeof(l->refuse), "%s",
			 (s = cfg->get_string(o, "refuse")) ? s : "");
		cfg->get_bool(o, "mute", &mute);
		l->mute = mute;
		for (int c = 0; c < caps; c++) {
			const char *name = cfg->list_string(o, "caps", (size_t)c);
			size_t k;

			if (strcmp(name, "*") == 0) {
				l->info.caps = (1ull << N_CAPS) - 1;
				continue;
			}
			for (k = 0; k < N_CAPS && strcmp(cap_names[k], name); k++)
				;
			if (k == N_CAPS) {
				LOG(f, UCS_LOG_ERROR, "lines[%d]: unknown capability %s", i, name);
				return -EINVAL;
			}
			l->info.caps |= 1ull << k;
		}
		f->n_lines++;
	}
	return 0;
}

static int reg(struct fl *f, const char *name, size_t size,
	       int (*to_json)(const void *, size_t, char *, size_t),
	       const struct ucs_msg_type **out)
{
	struct ucs_msg_type_desc d = {.size = sizeof(d),
				      .name = name,
				      .version = 1,
				      .payload_size = size,
				      .to_json = to_json};

	return f->host->bus->type_register(f->self, &d, out);
}

static int fl_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct fl *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->self = self;
	f->host = host;
	err = reg(f, UCS_LINE_STATUS_TYPE, sizeof(struct ucs_line_info), status_json, &f->t_status);
	if (!err)
		err = reg(f, UCS_CALL_STATE_TYPE, sizeof(struct ucs_call_info), state_json,
			  &f->t_state);
	if (!err)
		err = reg(f, UCS_CALL_CONTROL_TYPE, sizeof(struct ucs_call_control), NULL,
			  &f->t_control);
	if (!err)
		err = reg(f, UCS_CALL_CONTROL_RESULT_TYPE, sizeof(struct ucs_call_control_result),
			  NULL, &f->t_result);
	if (!err)
		err = host->bus->serve(self, &f->server, UCS_CALL_CONTROL_TYPE, serve, f);
	if (!err)
		err = host->service->provide(self, UCS_LINES_SERVICE, UCS_LINES_VERSION,
					     &lines_api);
	if (err) {
		free(f);
		return err;
	}
	the_fl = f;
	*state = f;
	return 0;
}

static int fl_start(void *state)
{
	struct fl *f = state;
	int err = read_lines(f);

	if (err)
		return err;
	for (size_t i = 0; i < f->n_lines; i++)
		publish_line(f, (int)i);
	LOG(f, UCS_LOG_INFO, "%zu fake lines", f->n_lines);
	return 0;
}

static void fl_stop(void *state)
{
	struct fl *f = state;

	for (size_t i = 0; i < f->n_muted; i++)
		reply(f, f->muted[i], -ESHUTDOWN, NULL, "stopping");
	f->n_muted = 0;
	the_fl = NULL;
}

static void fl_fini(void *state)
{
	free(state);
}

static const struct ucs_cfg_key line_keys[] = {
	UCS_CFG_STRING_KEY("id", "\"\"", "line id"),
	UCS_CFG_STRING_KEY("internal", "\"\"", "internal number"),
	UCS_CFG_STRING_KEY("name", "\"\"", "line name"),
	UCS_CFG_STRING_KEY("number", "\"\"", "the line's number (formatted through the dialplan)"),
	UCS_CFG_LIST_KEY("caps", "[\"*\"]", "capability names; \"*\": all"),
	UCS_CFG_STRING_KEY("refuse", "\"\"", "refuse every request with -EREMOTEIO and this"),
	UCS_CFG_BOOL_KEY("mute", "false", "never answer requests"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key fl_keys[] = {
	UCS_CFG_OBJECTS_KEY("lines", "[]", line_keys, "the fake lines"),
	UCS_CFG_END,
};

static const char *const fl_provides[] = {UCS_LINES_SERVICE, NULL};

static const struct ucs_plugin_desc fl_desc = {
	UCS_PLUGIN_HEADER,
	.name = "fakelines",
	.version = "1.0.0",
	.license = "MIT",
	.description = "test stand-in for the line manager",
	.provides = fl_provides,
	.config = fl_keys,
	.init = fl_init,
	.start = fl_start,
	.stop = fl_stop,
	.fini = fl_fini,
};

UCS_PLUGIN_DEFINE(fl_desc)
