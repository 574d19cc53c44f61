/*
 * tests/plugins/testdriver.c - a scriptable line driver for the tests of
 * the line manager (plugins/lines): it registers through "ucs.linemgr"
 * exactly as a PBX driver does, and lets a test play the PBX.
 *
 * Configuration (section "testdriver"):
 *   "name": "td"                      the driver's name (call ids "td/<id>")
 *   "simulate": false                 play a small PBX (below)
 *   "groups": [{"name": "pbx", "location": "", "caps": ["*"],
 *               "create_on_interest": false, "native_remote_office": false}]
 *   "lines": [{"id": "pbx/111", "group": "pbx", "device": "111", "name": "",
 *              "caps": [] (the group's), "open": "ok" | "fail" | "none",
 *              "reason": "" (why it fails), "answer": "ok" | "refuse" |
 *              "refuse_pickup" | "mute" | "reject" | "hold",
 *              "refuse_reason": "invalidCallID"}]
 * At start every line answers as its "open" says: OPEN, FAILED with the
 * reason, or nothing (stays not initialised); a later open() (a retry)
 * answers the same way, until "td open" changes it.
 *
 * Requests: each is logged at info as
 *   "request OP line L call C other O number N target T token K"
 * and kept for "td requests"; it is answered as the line's "answer" says:
 * ok (at once; make, consult and pickup create a call "tdcN"), refuse
 * (-EREMOTEIO with refuse_reason), refuse_pickup (refuses pickups only,
 * answers the rest ok), mute (never), reject (request() returns -ENOTSUP),
 * hold (until "td done").
 *
 * A group with "create_on_interest" adds the line "<group>/<device>" when
 * the manager calls line_wanted() for it, and opens it at once.
 *
 * With "simulate", requests a line answers "ok" also act like a PBX among
 * the driver's lines (what the former stand-in line manager "fakelines"
 * did, for the client protocol's tests): make and consult call a line whose
 * device is the number (it rings) or an outside number (one leg), reported
 * to the caller as a CSTA PBX does (service initiated, originated
 * "connected", delivered "connected"); answer
 * connects both legs, clear
 * clears every leg, hold and retrieve change one leg, pickup moves the
 * ringing leg of the target device to the picking line, connected, and
 * deflect moves it to the number's line, ringing; forwarding and
 * do-not-disturb change the line. Answering a call that does not ring, or
 * acting on a call the line does not have, is refused with invalidCallID.
 *
 * Commands (service "test.linedriver", through svcprobe "td ..."):
 *   status LINE open|failed|out_of_service|not_available|not_initialised [REASON...]
 *   event LINE EVENT STATE CALL [calling=N] [called=N] [connected=N]
 *         [redirecting=N] [cause=C] [old=CALL] [hidden=1] [time=MS] [abi=1.1]
 *                                     EVENT, STATE: lm_text names; hidden=1: the
 *                                     caller withheld her number (UCS_LCE_CALLING_HIDDEN);
 *                                     time: the event's time_ms; abi=1.1: sent with
 *                                     the size of ABI 1.1 (no flags)
 *   synced LINE
 *   resync LINE                       a snapshot of an open line begins
 *   fwd LINE immediate|busy|noanswer on|off [TO]
 *   dnd LINE on|off
 *   reinit [REASON...]
 *   done TOKEN ok|EREMOTEIO|ETIMEDOUT|ENETDOWN|ENOTSUP [call=C] [REASON...]
 *   answer LINE MODE [REASON...]
 *   open LINE ok|fail|none [REASON...]
 *   add ID GROUP DEVICE
 *   remove ID
 *   garbage LINE                      a malformed event
 *   requests | opens | closes | wanted   -> "ok JSON" (since the last ask; cleared)
 *   remove_driver
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#include "testdriver.h"

#define MAX_LINES 64
#define LOGCAP	  65536

struct td_line {
	char id[UCS_ID_MAX];
	char device[UCS_PHONE_MAX];
	char open[16];
	char reason[128];
	char answer[16];
	char refuse[128];
};

struct td_leg {
	int used;
	size_t line; /* index into lines */
	char call[64];
	int state;	  /* enum ucs_conn_state */
	char calling[64]; /* the call's calling and called devices */
	char called[64];
};

#define MAX_LEGS 128

struct td {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_linemgr_api *mgr;
	struct ucs_line_driver *drv;
	struct td_line lines[MAX_LINES];
	size_t n_lines;
	unsigned next_call;
	int simulate;
	char create_groups[8][64]; /* groups that create lines on interest */
	size_t n_create;
	struct td_leg legs[MAX_LEGS];
	char requests[LOGCAP], opens[LOGCAP], closes[LOGCAP], wanted[LOGCAP];
};

static struct td *the_td;

#define LOG(t, level, ...) (t)->host->log->log((t)->self, (level), __VA_ARGS__)

static const char *const op_names[] = {
	"?",	       "make",		"answer",  "clear",	   "clear_call",
	"hold",	       "retrieve",	"consult", "transfer",	   "conference",
	"alternate",   "reconnect",	"deflect", "pickup",	   "dtmf",
	"forward_set", "forward_clear", "dnd_set", "remote_office"};
static const char *const cap_names[] = {
	"make_call",	  "answer",	  "clear_connection", "clear_call",   "hold",
	"retrieve",	  "consult",	  "transfer",	      "conference",   "alternate",
	"reconnect",	  "deflect",	  "pickup",	      "group_pickup", "dtmf",
	"fwd_immediate",  "fwd_busy",	  "fwd_noanswer",     "dnd",	      "snapshot",
	"open_on_demand", "remote_office"};
static const char *const status_names[] = {"not_initialised", "open", "failed", "out_of_service",
					   "not_available"};
static const char *const event_names[] = {"snapshot",	 "service_initiated",  "originated",
					  "delivered",	 "established",	       "held",
					  "retrieved",	 "diverted",	       "transferred",
					  "conferenced", "connection_cleared", "call_cleared",
					  "failed"};
static const char *const state_names[] = {"null", "initiated", "alerting", "connected",
					  "held", "queued",    "failed"};
static const char *const fwd_names[] = {"immediate", "busy", "noanswer"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int index_of(const char *const *t, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(t[i], s) == 0)
			return (int)i;
	return -1;
}

/* Appends a JSON string element to a log array kept as text ("a","b"). */
static void log_add(char *log, const char *fmt, ...) UCS_PRINTF(2, 3);
static void log_add(char *log, const char *fmt, ...)
{
	size_t o = strlen(log);
	va_list ap;

	if (o + 512 > LOGCAP)
		return;
	if (o)
		log[o++] = ',';
	va_start(ap, fmt);
	vsnprintf(log + o, LOGCAP - o, fmt, ap);
	va_end(ap);
}

static struct td_line *line_of(struct td *t, const char *id)
{
	for (size_t i = 0; i < t->n_lines; i++)
		if (strcmp(t->lines[i].id, id) == 0)
			return &t->lines[i];
	return NULL;
}

static void report_open(struct td *t, struct td_line *l)
{
	if (strcmp(l->open, "ok") == 0)
		t->mgr->line_status(t->drv, l->id, UCS_LS_OPEN, "");
	else if (strcmp(l->open, "fail") == 0)
		t->mgr->line_status(t->drv, l->id, UCS_LS_FAILED, l->reason);
}

/* ---- the simulated PBX ------------------------------------------------------------ */

static struct td_leg *leg_new(struct td *t, size_t line, const char *call, const char *calling,
			      const char *called)
{
	/* the leg is built aside: the strings may be another leg's (a pickup
	 * copies the ringing leg), which the compiler cannot tell from this
	 * slot, so no snprintf may write where it reads */
	struct td_leg n = {.used = 1, .line = line};

	snprintf(n.call, sizeof(n.call), "%s", call);
	snprintf(n.calling, sizeof(n.calling), "%s", calling);
	snprintf(n.called, sizeof(n.called), "%s", called);
	for (size_t i = 0; i < MAX_LEGS; i++)
		if (!t->legs[i].used) {
			t->legs[i] = n;
			return &t->legs[i];
		}
	return NULL;
}

static struct td_leg *leg_find(struct td *t, const char *call, long line)
{
	for (size_t i = 0; i < MAX_LEGS; i++)
		if (t->legs[i].used && strcmp(t->legs[i].call, call) == 0 &&
		    (line < 0 || t->legs[i].line == (size_t)line))
			return &t->legs[i];
	return NULL;
}

static struct td_leg *leg_peer(struct td *t, const struct td_leg *g)
{
	for (size_t i = 0; i < MAX_LEGS; i++)
		if (t->legs[i].used && &t->legs[i] != g && strcmp(t->legs[i].call, g->call) == 0)
			return &t->legs[i];
	return NULL;
}

static long line_by_device(struct td *t, const char *dev)
{
	for (size_t i = 0; i < t->n_lines; i++)
		if (strcmp(t->lines[i].device, dev) == 0)
			return (long)i;
	return -1;
}

/* Reports one leg's event (connected: the answering / added party). */
static void leg_event(struct td *t, struct td_leg *g, int event, int state, const char *connected,
		      const char *redirecting)
{
	struct ucs_line_call_event ev = {.size = sizeof(ev), .event = event, .state = state};

	g->state = state;
	snprintf(ev.line.text, sizeof(ev.line.text), "%s", t->lines[g->line].id);
	snprintf(ev.call, sizeof(ev.call), "%s", g->call);
	snprintf(ev.calling, sizeof(ev.calling), "%s", g->calling);
	snprintf(ev.called, sizeof(ev.called), "%s", g->called);
	snprintf(ev.connected, sizeof(ev.connected), "%s", connected ? connected : "");
	snprintf(ev.redirecting, sizeof(ev.redirecting), "%s", redirecting ? redirecting : "");
	if (state == UCS_CS_NULL)
		g->used = 0;
	t->mgr->call_event(t->drv, &ev);
}

/* A call from line li to number; its id into call. */
static int sim_make(struct td *t, size_t li, const char *number, char *call, size_t cap)
{
	long to = line_by_device(t, number);
	const char *dev = t->lines[li].device;
	struct td_leg *a, *b = NULL;

	snprintf(call, cap, "tdc%u", ++t->next_call);
	a = leg_new(t, li, call, dev, number);
	if (!a)
		return -ENOSPC;
	if (to >= 0 && !(b = leg_new(t, (size_t)to, call, dev, number))) {
		a->used = 0;
		return -ENOSPC;
	}
	/* what a CSTA PBX reports to the caller: its connection is "connected"
	 * from the originated event on, long before anyone answers */
	leg_event(t, a, UCS_CE_SERVICE_INITIATED, UCS_CS_INITIATED, NULL, NULL);
	leg_event(t, a, UCS_CE_ORIGINATED, UCS_CS_CONNECTED, NULL, NULL);
	if (b)
		leg_event(t, b, UCS_CE_DELIVERED, UCS_CS_ALERTING, NULL, NULL);
	leg_event(t, a, UCS_CE_DELIVERED, UCS_CS_CONNECTED, NULL, NULL);
	return 0;
}

/* Acts on a request like a PBX: 0, or -EREMOTEIO with why. */
static int simulate(struct td *t, size_t li, const struct ucs_line_request *rq, char *call,
		    size_t cap, const char **why)
{
	const char *dev = t->lines[li].device;
	struct td_leg *g = rq->call[0] ? leg_find(t, rq->call, (long)li) : NULL, *p, *n;
	long to;

	*why = "invalidCallID";
	switch (rq->op) {
	case UCS_OP_MAKE:
	case UCS_OP_CONSULT:
		if (sim_make(t, li, rq->number, call, cap)) {
			*why = "noRoom";
			return -EREMOTEIO;
		}
		return 0;
	case UCS_OP_ANSWER:
		/* answering connects both legs: ESTABLISHED to each */
		if (!g || g->state != UCS_CS_ALERTING)
			return -EREMOTEIO;
		leg_event(t, g, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, dev, NULL);
		if ((p = leg_peer(t, g)))
			leg_event(t, p, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, dev, NULL);
		return 0;
	case UCS_OP_CLEAR:
	case UCS_OP_CLEAR_CALL:
		if (!g)
			return -EREMOTEIO;
		snprintf(call, cap, "%s", g->call);
		while ((g = leg_find(t, call, -1)))
			leg_event(t, g, UCS_CE_CALL_CLEARED, UCS_CS_NULL, NULL, NULL);
		call[0] = '\0';
		return 0;
	case UCS_OP_HOLD:
	case UCS_OP_RETRIEVE:
		if (!g)
			return -EREMOTEIO;
		if (rq->op == UCS_OP_HOLD)
			leg_event(t, g, UCS_CE_HELD, UCS_CS_HELD, NULL, NULL);
		else
			leg_event(t, g, UCS_CE_RETRIEVED, UCS_CS_CONNECTED, NULL, NULL);
		return 0;
	case UCS_OP_PICKUP:
	case UCS_OP_DEFLECT: {
		/* pickup: the target's ringing leg comes here, connected; deflect:
		 * this line's ringing leg goes to the number's line, ringing */
		long from = rq->op == UCS_OP_PICKUP ? line_by_device(t, rq->target.text) : (long)li;
		const char *redirecting = t->lines[from < 0 ? li : (size_t)from].device;

		to = rq->op == UCS_OP_PICKUP ? (long)li : line_by_device(t, rq->number);
		g = from >= 0 ? leg_find(t, rq->call, from) : NULL;
		if (!g || g->state != UCS_CS_ALERTING) {
			*why = "noCallToPickUp";
			return -EREMOTEIO;
		}
		snprintf(call, cap, "%s", g->call);
		n = to >= 0 ? leg_new(t, (size_t)to, g->call, g->calling, g->called) : NULL;
		leg_event(t, g, UCS_CE_DIVERTED, UCS_CS_NULL,
			  rq->op == UCS_OP_PICKUP ? dev : rq->number, NULL);
		if (n && rq->op == UCS_OP_PICKUP) {
			leg_event(t, n, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, dev, redirecting);
			if ((p = leg_peer(t, n)))
				leg_event(t, p, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, dev,
					  redirecting);
		} else if (n) {
			leg_event(t, n, UCS_CE_DELIVERED, UCS_CS_ALERTING, NULL, redirecting);
		}
		if (rq->op == UCS_OP_DEFLECT)
			call[0] = '\0';
		return 0;
	}
	case UCS_OP_FORWARD_SET:
	case UCS_OP_FORWARD_CLEAR:
		t->mgr->line_forwarding(t->drv, t->lines[li].id, rq->mode,
					rq->op == UCS_OP_FORWARD_SET, rq->number);
		return 0;
	case UCS_OP_DND_SET:
		t->mgr->line_dnd(t->drv, t->lines[li].id, rq->on);
		return 0;
	default: /* transfer, conference, dtmf, ...: accepted as they are */
		return rq->call[0] && !g ? -EREMOTEIO : 0;
	}
}

/* ---- the driver's vtable --------------------------------------------------------- */

static int td_request(void *ctx, const struct ucs_line_request *rq, uint64_t token)
{
	struct td *t = ctx;
	struct td_line *l = line_of(t, rq->line.text);
	const char *op = rq->op > 0 && (size_t)rq->op < N(op_names) ? op_names[rq->op] : "?";
	char call[64] = "";

	LOG(t, UCS_LOG_INFO, "request %s line %s call %s other %s number %s target %s token %llu",
	    op, rq->line.text, rq->call[0] ? rq->call : "-",
	    rq->other_call[0] ? rq->other_call : "-", rq->number[0] ? rq->number : "-",
	    rq->target.text[0] ? rq->target.text : "-", (unsigned long long)token);
	log_add(t->requests,
		"{\"op\":\"%s\",\"line\":\"%s\",\"call\":\"%s\",\"other\":\"%s\",\"number\":\"%s\","
		"\"target\":\"%s\",\"digits\":\"%s\",\"mode\":%d,\"on\":%d,\"token\":%llu}",
		op, rq->line.text, rq->call, rq->other_call, rq->number, rq->target.text,
		rq->digits, rq->mode, rq->on, (unsigned long long)token);
	if (!l)
		return -ENOENT;
	if (strcmp(l->answer, "reject") == 0)
		return -ENOTSUP;
	if (strcmp(l->answer, "mute") == 0 || strcmp(l->answer, "hold") == 0)
		return 0;
	if (strcmp(l->answer, "refuse") == 0 ||
	    (strcmp(l->answer, "refuse_pickup") == 0 && rq->op == UCS_OP_PICKUP)) {
		t->mgr->request_done(t->drv, token, -EREMOTEIO, l->refuse, "");
		return 0;
	}
	if (t->simulate) {
		const char *why = "";
		int err = simulate(t, (size_t)(l - t->lines), rq, call, sizeof(call), &why);

		t->mgr->request_done(t->drv, token, err, err ? why : "", err ? "" : call);
		return 0;
	}
	if (rq->op == UCS_OP_MAKE || rq->op == UCS_OP_CONSULT || rq->op == UCS_OP_PICKUP)
		snprintf(call, sizeof(call), "tdc%u", ++t->next_call);
	t->mgr->request_done(t->drv, token, 0, "", call);
	return 0;
}

static int td_open(void *ctx, const char *id)
{
	struct td *t = ctx;
	struct td_line *l = line_of(t, id);

	LOG(t, UCS_LOG_INFO, "open %s", id);
	log_add(t->opens, "\"%s\"", id);
	if (!l)
		return -ENOENT;
	report_open(t, l);
	return 0;
}

static int td_close(void *ctx, const char *id)
{
	struct td *t = ctx;

	LOG(t, UCS_LOG_INFO, "close %s", id);
	log_add(t->closes, "\"%s\"", id);
	return 0;
}

static int add_line(struct td *t, const char *id, const char *group, const char *device,
		    const char *name, uint64_t caps);

/* A group with create_on_interest adds the line "<group>/<device>" and
 * opens it, as a PBX driver that monitors devices on demand does. */
static int td_wanted(void *ctx, const char *group, const char *device)
{
	struct td *t = ctx;
	char id[UCS_ID_MAX];
	int err = 0;

	LOG(t, UCS_LOG_INFO, "wanted %s %s", group, device);
	log_add(t->wanted, "\"%s/%s\"", group, device);
	for (size_t i = 0; i < t->n_create; i++)
		if (strcmp(t->create_groups[i], group) == 0) {
			snprintf(id, sizeof(id), "%.40s/%.20s", group, device);
			if (line_of(t, id))
				return 0;
			err = add_line(t, id, group, device, "", 0);
			if (!err)
				report_open(t, &t->lines[t->n_lines - 1]);
			break;
		}
	return err;
}

static const struct ucs_line_driver_ops td_ops = {
	.size = sizeof(td_ops),
	.request = td_request,
	.open = td_open,
	.close = td_close,
	.line_wanted = td_wanted,
};

/* ---- commands ---------------------------------------------------------------------- */

static int errno_of(const char *s)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {{"ok", 0},
		     {"EREMOTEIO", -EREMOTEIO},
		     {"ETIMEDOUT", -ETIMEDOUT},
		     {"ENETDOWN", -ENETDOWN},
		     {"ENOTSUP", -ENOTSUP},
		     {"EINVAL", -EINVAL}};

	for (size_t i = 0; i < N(names); i++)
		if (strcmp(names[i].name, s) == 0)
			return names[i].err;
	return 1;
}

/* The words from argv[from] on, joined by spaces. */
static void rest_of(int argc, char **argv, int from, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = from; i < argc && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i > from ? " " : "", argv[i]);
}

static int add_line(struct td *t, const char *id, const char *group, const char *device,
		    const char *name, uint64_t caps)
{
	struct ucs_line_desc d = {.size = sizeof(d), .caps = caps};
	struct td_line *l;
	int err;

	if (t->n_lines == MAX_LINES)
		return -ENOSPC;
	snprintf(d.id.text, sizeof(d.id.text), "%s", id);
	snprintf(d.device.text, sizeof(d.device.text), "%s", device);
	snprintf(d.group, sizeof(d.group), "%s", group);
	snprintf(d.name, sizeof(d.name), "%s", name ? name : "");
	err = t->mgr->line_add(t->drv, &d);
	if (err)
		return err;
	l = &t->lines[t->n_lines++];
	memset(l, 0, sizeof(*l));
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->device, sizeof(l->device), "%s", device);
	snprintf(l->open, sizeof(l->open), "ok");
	snprintf(l->answer, sizeof(l->answer), "ok");
	snprintf(l->refuse, sizeof(l->refuse), "invalidCallID");
	return 0;
}

static void take(char *log, char *out, size_t cap)
{
	snprintf(out, cap, "ok [%s]", log);
	log[0] = '\0';
}

static void run(struct td *t, int argc, char **argv, char *out, size_t cap)
{
	const char *cmd = argv[0];
	struct td_line *l = argc > 1 ? line_of(t, argv[1]) : NULL;
	char words[256];
	int v, err = 0;

	if (!t->drv && strcmp(cmd, "requests") != 0) {
		snprintf(out, cap, "err ENODEV the driver is removed");
		return;
	}
	if (strcmp(cmd, "requests") == 0) {
		take(t->requests, out, cap);
		return;
	}
	if (strcmp(cmd, "opens") == 0) {
		take(t->opens, out, cap);
		return;
	}
	if (strcmp(cmd, "closes") == 0) {
		take(t->closes, out, cap);
		return;
	}
	if (strcmp(cmd, "wanted") == 0) {
		take(t->wanted, out, cap);
		return;
	}
	if (strcmp(cmd, "reinit") == 0) {
		rest_of(argc, argv, 1, words, sizeof(words));
		t->mgr->driver_reinit(t->drv, words);
	} else if (strcmp(cmd, "remove_driver") == 0) {
		t->mgr->driver_remove(t->drv);
		t->drv = NULL;
	} else if (strcmp(cmd, "done") == 0 && argc >= 3 && (v = errno_of(argv[2])) <= 0) {
		const char *call = "";
		int from = 3;

		if (argc > 3 && strncmp(argv[3], "call=", 5) == 0) {
			call = argv[3] + 5;
			from = 4;
		}
		rest_of(argc, argv, from, words, sizeof(words));
		t->mgr->request_done(t->drv, strtoull(argv[1], NULL, 10), v, words, call);
	} else if (strcmp(cmd, "add") == 0 && argc >= 4) {
		err = add_line(t, argv[1], argv[2], argv[3], "", 0);
	} else if (strcmp(cmd, "remove") == 0 && argc >= 2) {
		err = t->mgr->line_remove(t->drv, argv[1]);
	} else if (!l) {
		snprintf(out, cap, "err ENOENT no such command or line");
		return;
	} else if (strcmp(cmd, "status") == 0 && argc >= 3 &&
		   (v = index_of(status_names, N(status_names), argv[2])) >= 0) {
		rest_of(argc, argv, 3, words, sizeof(words));
		t->mgr->line_status(t->drv, l->id, v, words);
	} else if (strcmp(cmd, "synced") == 0) {
		t->mgr->line_synced(t->drv, l->id);
	} else if (strcmp(cmd, "resync") == 0) {
		t->mgr->line_resync(t->drv, l->id);
	} else if (strcmp(cmd, "fwd") == 0 && argc >= 4 &&
		   (v = index_of(fwd_names, N(fwd_names), argv[2])) >= 0) {
		t->mgr->line_forwarding(t->drv, l->id, v, strcmp(argv[3], "on") == 0,
					argc > 4 ? argv[4] : "");
	} else if (strcmp(cmd, "dnd") == 0 && argc >= 3) {
		t->mgr->line_dnd(t->drv, l->id, strcmp(argv[2], "on") == 0);
	} else if (strcmp(cmd, "answer") == 0 && argc >= 3) {
		snprintf(l->answer, sizeof(l->answer), "%s", argv[2]);
		rest_of(argc, argv, 3, words, sizeof(words));
		if (words[0])
			snprintf(l->refuse, sizeof(l->refuse), "%.120s", words);
	} else if (strcmp(cmd, "open") == 0 && argc >= 3) {
		snprintf(l->open, sizeof(l->open), "%s", argv[2]);
		rest_of(argc, argv, 3, words, sizeof(words));
		snprintf(l->reason, sizeof(l->reason), "%.120s", words);
	} else if (strcmp(cmd, "garbage") == 0) {
		struct ucs_line_call_event ev;

		/* every text unterminated: the manager must drop it */
		memset(&ev, 'x', sizeof(ev));
		ev.size = sizeof(ev);
		ev.event = 99;
		ev.state = -5;
		snprintf(ev.line.text, sizeof(ev.line.text), "%s", l->id);
		t->mgr->call_event(t->drv, &ev);
		/* a terminated one with nonsense event and state values */
		memset(&ev, 0, sizeof(ev));
		ev.size = sizeof(ev);
		ev.event = 1000;
		ev.state = 1000;
		snprintf(ev.line.text, sizeof(ev.line.text), "%s", l->id);
		snprintf(ev.call, sizeof(ev.call), "junk");
		t->mgr->call_event(t->drv, &ev);
	} else if (strcmp(cmd, "event") == 0 && argc >= 5) {
		struct ucs_line_call_event ev = {.size = sizeof(ev)};

		ev.event = index_of(event_names, N(event_names), argv[2]);
		ev.state = index_of(state_names, N(state_names), argv[3]);
		if (ev.event < 0 || ev.state < 0) {
			snprintf(out, cap, "err EINVAL unknown event or state");
			return;
		}
		snprintf(ev.line.text, sizeof(ev.line.text), "%s", l->id);
		snprintf(ev.call, sizeof(ev.call), "%s", argv[4]);
		for (int i = 5; i < argc; i++) {
			char *eq = strchr(argv[i], '=');
			const char *k = argv[i], *val = eq ? eq + 1 : "";

			if (eq)
				*eq = '\0';
			if (strcmp(k, "calling") == 0)
				snprintf(ev.calling, sizeof(ev.calling), "%s", val);
			else if (strcmp(k, "called") == 0)
				snprintf(ev.called, sizeof(ev.called), "%s", val);
			else if (strcmp(k, "connected") == 0)
				snprintf(ev.connected, sizeof(ev.connected), "%s", val);
			else if (strcmp(k, "redirecting") == 0)
				snprintf(ev.redirecting, sizeof(ev.redirecting), "%s", val);
			else if (strcmp(k, "cause") == 0)
				snprintf(ev.cause, sizeof(ev.cause), "%s", val);
			else if (strcmp(k, "old") == 0)
				snprintf(ev.old_call, sizeof(ev.old_call), "%s", val);
			else if (strcmp(k, "hidden") == 0 && strcmp(val, "1") == 0)
				ev.flags |= UCS_LCE_CALLING_HIDDEN;
			else if (strcmp(k, "time") == 0)
				ev.time_ms = strtoll(val, NULL, 10);
			else if (strcmp(k, "abi") == 0 && strcmp(val, "1.1") == 0)
				ev.size = offsetof(struct ucs_line_call_event, flags);
		}
		t->mgr->call_event(t->drv, &ev);
	} else {
		snprintf(out, cap, "err EINVAL bad arguments");
		return;
	}
	if (err)
		snprintf(out, cap, "err %s %s",
			 err == -EEXIST	  ? "EEXIST"
			 : err == -ENOENT ? "ENOENT"
					  : "EINVAL",
			 strerror(-err));
	else
		snprintf(out, cap, "ok");
}

static void td_command(const char *line, char *out, size_t cap)
{
	char buf[1024], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line ? line : "");
	for (char *w = strtok_r(buf, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (!the_td || argc == 0) {
		snprintf(out, cap, "err EINVAL no command");
		return;
	}
	run(the_td, argc, argv, out, cap);
}

static const struct testdriver_api td_api = {.size = sizeof(td_api), .command = td_command};

/* ---- lifecycle ---------------------------------------------------------------------------- */

static uint64_t caps_of(struct td *t, const struct ucs_cfg *o, int *bad)
{
	const struct ucs_cfg_api *cfg = t->host->cfg;
	int n = cfg->count(o, "caps");
	uint64_t caps = 0;

	for (int i = 0; i < n; i++) {
		const char *s = cfg->list_string(o, "caps", (size_t)i);
		int k = index_of(cap_names, N(cap_names), s);

		if (strcmp(s, "*") == 0)
			caps |= (1ull << N(cap_names)) - 1;
		else if (k < 0)
			*bad = 1;
		else
			caps |= 1ull << k;
	}
	return caps;
}

static int td_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct td *t = calloc(1, sizeof(*t));
	const struct ucs_cfg_api *cfg = host->cfg;
	const struct ucs_cfg *sec = cfg->section(self);
	int err, bad = 0, n;

	if (!t)
		return -ENOMEM;
	t->self = self;
	t->host = host;
	t->mgr = host->service->get(self, UCS_LINEMGR_SERVICE, UCS_LINEMGR_VERSION);
	cfg->get_bool(sec, "simulate", &t->simulate);
	err = t->mgr ? t->mgr->driver_add(self, cfg->get_string(sec, "name"), &td_ops, t, &t->drv)
		     : -ENOENT;
	n = cfg->count(sec, "groups");
	for (int i = 0; !err && i < n; i++) {
		const struct ucs_cfg *o = cfg->list_object(sec, "groups", (size_t)i);
		struct ucs_line_group_desc g = {.size = sizeof(g)};
		int flag = 0;

		snprintf(g.name, sizeof(g.name), "%s", cfg->get_string(o, "name"));
		snprintf(g.location, sizeof(g.location), "%s", cfg->get_string(o, "location"));
		g.caps = caps_of(t, o, &bad);
		cfg->get_bool(o, "create_on_interest", &flag);
		g.flags |= flag ? UCS_LGF_CREATE_ON_INTEREST : 0;
		if (flag && t->n_create < N(t->create_groups))
			snprintf(t->create_groups[t->n_create++], sizeof(t->create_groups[0]), "%s",
				 g.name);
		flag = 0;
		cfg->get_bool(o, "native_remote_office", &flag);
		g.flags |= flag ? UCS_LGF_NATIVE_REMOTE_OFFICE : 0;
		err = t->mgr->group_add(t->drv, &g);
	}
	n = cfg->count(sec, "lines");
	for (int i = 0; !err && i < n; i++) {
		const struct ucs_cfg *o = cfg->list_object(sec, "lines", (size_t)i);
		struct td_line *l;

		err = add_line(t, cfg->get_string(o, "id"), cfg->get_string(o, "group"),
			       cfg->get_string(o, "device"), cfg->get_string(o, "name"),
			       caps_of(t, o, &bad));
		if (err) {
			LOG(t, UCS_LOG_ERROR, "line %s: %s", cfg->get_string(o, "id"),
			    strerror(-err));
			break;
		}
		l = &t->lines[t->n_lines - 1];
		snprintf(l->open, sizeof(l->open), "%s", cfg->get_string(o, "open"));
		snprintf(l->reason, sizeof(l->reason), "%s", cfg->get_string(o, "reason"));
		snprintf(l->answer, sizeof(l->answer), "%s", cfg->get_string(o, "answer"));
		snprintf(l->refuse, sizeof(l->refuse), "%s", cfg->get_string(o, "refuse_reason"));
	}
	if (!err && bad)
		err = -EINVAL;
	if (!err)
		err = host->service->provide(self, TESTDRIVER_SERVICE, 1, &td_api);
	if (err) {
		if (t->drv)
			t->mgr->driver_remove(t->drv);
		free(t);
		return err;
	}
	the_td = t;
	*state = t;
	return 0;
}

static int td_start(void *state)
{
	struct td *t = state;

	for (size_t i = 0; i < t->n_lines; i++)
		report_open(t, &t->lines[i]);
	LOG(t, UCS_LOG_INFO, "%zu test lines", t->n_lines);
	return 0;
}

static void td_stop(void *state)
{
	struct td *t = state;

	if (t->drv)
		t->mgr->driver_remove(t->drv);
	t->drv = NULL;
	the_td = NULL;
}

static void td_fini(void *state)
{
	free(state);
}

static const char *const open_choices[] = {"ok", "fail", "none", NULL};
static const char *const answer_choices[] = {"ok", "refuse", "mute", "reject", "hold", NULL};

static const struct ucs_cfg_key group_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"pbx\"", "group name"),
	UCS_CFG_STRING_KEY("location", "\"\"", "dialplan location"),
	UCS_CFG_LIST_KEY("caps", "[\"*\"]", "capability names; \"*\": all"),
	UCS_CFG_BOOL_KEY("create_on_interest", "false", "UCS_LGF_CREATE_ON_INTEREST"),
	UCS_CFG_BOOL_KEY("native_remote_office", "false", "UCS_LGF_NATIVE_REMOTE_OFFICE"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key line_keys[] = {
	UCS_CFG_STRING_KEY("id", "\"\"", "line id"),
	UCS_CFG_STRING_KEY("group", "\"pbx\"", "its group"),
	UCS_CFG_STRING_KEY("device", "\"\"", "the PBX's device number"),
	UCS_CFG_STRING_KEY("name", "\"\"", "the PBX's name for it"),
	UCS_CFG_LIST_KEY("caps", "[]", "capability names; []: the group's"),
	UCS_CFG_CHOICE_KEY("open", "\"ok\"", open_choices, "how opens are answered"),
	UCS_CFG_STRING_KEY("reason", "\"\"", "why opens fail"),
	UCS_CFG_CHOICE_KEY("answer", "\"ok\"", answer_choices, "how requests are answered"),
	UCS_CFG_STRING_KEY("refuse_reason", "\"invalidCallID\"", "the PBX's words when refusing"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key td_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"td\"", "the driver's name"),
	UCS_CFG_BOOL_KEY("simulate", "false", "act like a PBX on requests answered ok"),
	UCS_CFG_OBJECTS_KEY("groups", "[{\"name\": \"pbx\"}]", group_keys, "line groups"),
	UCS_CFG_OBJECTS_KEY("lines", "[]", line_keys, "lines"),
	UCS_CFG_END,
};

static const char *const td_requires[] = {UCS_LINEMGR_SERVICE, NULL};
static const char *const td_provides[] = {TESTDRIVER_SERVICE, NULL};

static const struct ucs_plugin_desc td_desc = {
	UCS_PLUGIN_HEADER,
	.name = "testdriver",
	.version = "1.0.0",
	.license = "MIT",
	.description = "a scriptable line driver for tests",
	.requires = td_requires,
	.provides = td_provides,
	.config = td_keys,
	.init = td_init,
	.start = td_start,
	.stop = td_stop,
	.fini = td_fini,
};

UCS_PLUGIN_DEFINE(td_desc)
