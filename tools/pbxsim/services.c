/*
 * tools/pbxsim/services.c - the CSTA services: one request document in,
 * its positive response or a CSTAErrorCode out, the call model doing the
 * work (and sending the events). Element names are ECMA-323's; only local
 * names are matched, so every edition's namespace is accepted. Error values
 * are spelled as in ECMA-323's error definitions (category element
 * operation, stateIncompatibility, systemResourceAvailability or
 * securityError, with one of that category's enumerated values).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "xmlmsg.h"

/* Errors of the request itself (beyond the model's M_E*). */
enum {
	S_EPARAM = -1100, /* a required parameter is missing or too long */
	S_EUNKNOWN,	  /* not a service pbxsim implements */
	S_EMONLIMIT,	  /* monitor limit reached */
	S_ECROSSREF,	  /* unknown monitorCrossRefID */
	S_ESESSION,	  /* no application session yet */
	S_EMALFORMED,	  /* not a well-formed document */
};

struct req {
	struct link *l;
	struct sim *s;
	struct xmsg m;
	const char *invoke;
	struct sbuf body; /* the positive response's content */
};

static void send_error(struct link *l, const char *invoke, int err)
{
	const char *cat = "operation", *val = "generic";
	char body[160];

	switch (err) {
	case M_EINVCALL:
		val = "invalidCallID";
		break;
	case M_EINVDEV:
		val = "invalidDeviceID";
		break;
	case M_EINVCONN:
		val = "invalidConnectionID";
		break;
	case M_ESTATE:
		cat = "stateIncompatibility";
		val = "invalidConnectionState";
		break;
	case M_ENOCALL:
		cat = "stateIncompatibility";
		val = "invalidObjectState";
		break;
	case M_ECONNEXISTS:
		cat = "stateIncompatibility";
		val = "connectedCallExists";
		break;
	case M_ESAMEDEV:
		val = "notDifferentDevices";
		break;
	case M_EINVDEST:
		val = "invalidDestination";
		break;
	case M_EINVCALLING:
		val = "invalidCallingDeviceID";
		break;
	case M_ENOMEM:
		cat = "systemResourceAvailability";
		val = "resourceLimitExceeded";
		break;
	case S_EPARAM:
		val = "valueOutOfRange";
		break;
	case S_EUNKNOWN:
		val = "serviceNotSupported";
		break;
	case S_EMONLIMIT:
		cat = "systemResourceAvailability";
		val = "overallMonitorLimitExceeded";
		break;
	case S_ECROSSREF:
		val = "invalidMonitorCrossRefID";
		break;
	case S_ESESSION:
		cat = "security";
		val = "securityInfoViolated";
		break;
	default:
		break;
	}
	snprintf(body, sizeof(body), "<%s>%s</%s>", cat, val, cat);
	link_send_doc(l, invoke, "CSTAErrorCode", body);
}

static const char *body_of(struct req *r)
{
	return r->body.p ? r->body.p : "";
}

static int get(struct req *r, const char *path, char *out, size_t cap)
{
	int err = xmsg_get(&r->m, path, out, cap);

	return err == 0 ? 0 : S_EPARAM;
}

/* A connection parameter: <NAME><callID/><deviceID/></NAME>. */
static int get_conn(struct req *r, const char *name, struct conn **out)
{
	char path[96], callid[32], dev[NUM_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/callID", name);
	if (get(r, path, callid, sizeof(callid)))
		return S_EPARAM;
	snprintf(path, sizeof(path), "%s/deviceID", name);
	if (get(r, path, dev, sizeof(dev)))
		return S_EPARAM;
	*out = model_conn(&r->s->m, callid, dev, &err);
	return *out ? 0 : err;
}

/* A connection of one of this PBX's extensions. */
static int get_ext_conn(struct req *r, const char *name, struct conn **out)
{
	int err = get_conn(r, name, out);

	if (!err && !(*out)->dev->ext)
		err = M_EINVDEV;
	return err;
}

static int get_ext(struct req *r, const char *path, struct device **out)
{
	char num[NUM_MAX];
	struct device *d;

	if (get(r, path, num, sizeof(num)))
		return S_EPARAM;
	d = model_dev(&r->s->m, num);
	if (!d || !d->ext)
		return M_EINVDEV;
	*out = d;
	return 0;
}

static void put_conn(struct req *r, const char *name, struct call *c, const char *dev)
{
	if (c)
		ev_conn(&r->body, name, c->idstr, dev);
}

/* ---- session and system services ---- */

static bool text_of_any(struct req *r, const char *const *names, char *out, size_t cap)
{
	for (; *names; names++) {
		if (xmsg_text(xmsg_find(&r->m, NULL, *names), out, cap) == 0)
			return true;
	}
	return false;
}

static int svc_start_session(struct req *r)
{
	static const char *const user_names[] = {"userName", "username", "userID",
						 "loginID",  "user",	 NULL};
	static const char *const pw_names[] = {"password", "passWord", NULL};
	struct sim *s = r->s;
	char user[128], pw[128], dur[16];
	long d = 180;

	if (s->o.user) {
		bool ok = text_of_any(r, user_names, user, sizeof(user)) &&
			  text_of_any(r, pw_names, pw, sizeof(pw)) && !strcmp(user, s->o.user) &&
			  !strcmp(pw, s->o.password ? s->o.password : "");

		if (!ok) {
			sim_log(s, "csta: StartApplicationSession refused: wrong user or password");
			link_send_doc(r->l, r->invoke, "StartApplicationSessionNegResponse",
				      "<errorCode><definedError>invalidApplicationInfo"
				      "</definedError></errorCode>");
			return 0;
		}
	}
	if (xmsg_text(xmsg_find(&r->m, NULL, "requestedSessionDuration"), dur, sizeof(dur)) == 0)
		d = strtol(dur, NULL, 10);
	if (d < 1 || d > 86400)
		d = 180;
	r->l->session = true;
	r->l->session_id = ++s->csta.next_session;
	r->l->session_expires = uv_now(s->loop) + (uint64_t)d * 1000;
	sbuf_printf(&r->body,
		    "<sessionID>%u</sessionID><actualProtocolVersion>%s</actualProtocolVersion>"
		    "<actualSessionDuration>%ld</actualSessionDuration>",
		    r->l->session_id, csta_ns(s), d);
	link_send_doc(r->l, r->invoke, "StartApplicationSessionPosResponse", body_of(r));
	return 0;
}

static int svc_reset_timer(struct req *r)
{
	char id[16], dur[16];
	long d = 180;

	if (get(r, "sessionID", id, sizeof(id)) || !r->l->session ||
	    strtoul(id, NULL, 10) != r->l->session_id) {
		link_send_doc(
			r->l, r->invoke, "ResetApplicationSessionTimerNegResponse",
			"<errorCode><definedError>invalidSessionID</definedError></errorCode>");
		return 0;
	}
	if (get(r, "requestedSessionDuration", dur, sizeof(dur)) == 0)
		d = strtol(dur, NULL, 10);
	if (d < 1 || d > 86400)
		d = 180;
	r->l->session_expires = uv_now(r->s->loop) + (uint64_t)d * 1000;
	sbuf_printf(&r->body, "<actualSessionDuration>%ld</actualSessionDuration>", d);
	link_send_doc(r->l, r->invoke, "ResetApplicationSessionTimerPosResponse", body_of(r));
	return 0;
}

static int svc_system_status(struct req *r)
{
	link_send_doc(r->l, r->invoke, "SystemStatusResponse", "");
	return 0;
}

static int svc_request_system_status(struct req *r)
{
	link_send_doc(r->l, r->invoke, "RequestSystemStatusResponse",
		      "<systemStatus>normal</systemStatus>");
	return 0;
}

/* ---- monitoring and snapshot ---- */

static int svc_monitor_start(struct req *r)
{
	struct sim *s = r->s;
	struct device *d;
	struct monitor *mon;
	char num[NUM_MAX];
	int err;

	if (xmsg_text(xmsg_path(&r->m, NULL, "monitorObject/deviceObject"), num, sizeof(num)) &&
	    xmsg_text(xmsg_find(&r->m, NULL, "deviceObject"), num, sizeof(num)))
		return S_EPARAM;
	d = model_dev(&s->m, num);
	if (!d || !d->ext)
		return M_EINVDEV;
	if (s->csta.monitor_limited && s->csta.nmons >= s->csta.monitor_limit)
		return S_EMONLIMIT;
	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return M_ENOMEM;
	mon->id = ++s->csta.next_mon;
	snprintf(mon->idstr, sizeof(mon->idstr), "%u", mon->id);
	mon->dev = d;
	mon->link = r->l;
	mon->dnext = d->mons;
	d->mons = mon;
	mon->lnext = r->l->mons;
	r->l->mons = mon;
	s->csta.nmons++;
	sbuf_printf(&r->body, "<monitorCrossRefID>%s</monitorCrossRefID>", mon->idstr);
	link_send_doc(r->l, r->invoke, "MonitorStartResponse", body_of(r));
	err = 0;
	if (!s->csta.first_monitor) {
		s->csta.first_monitor = true;
		sim_session_ready(s);
	}
	return err;
}

static int svc_monitor_stop(struct req *r)
{
	char id[16];

	if (get(r, "monitorCrossRefID", id, sizeof(id)))
		return S_EPARAM;
	for (struct monitor *m = r->l->mons; m; m = m->lnext) {
		if (!strcmp(m->idstr, id)) {
			monitor_free(r->s, m);
			link_send_doc(r->l, r->invoke, "MonitorStopResponse", "");
			return 0;
		}
	}
	return S_ECROSSREF;
}

static int svc_snapshot_device(struct req *r)
{
	struct device *d;
	int err = get_ext(r, "snapshotObject", &d);

	if (err)
		return err;
	sbuf_puts(&r->body, "<crossRefIDorSnapshotData><snapshotData>");
	for (struct conn *x = d->conns; x; x = x->dnext) {
		sbuf_puts(&r->body, "<snapshotDeviceResponseInfo>");
		ev_conn(&r->body, "connectionIdentifier", x->call->idstr, d->num);
		sbuf_printf(&r->body,
			    "<localCallState><compoundCallState><localConnectionState>%s"
			    "</localConnectionState></compoundCallState></localCallState>",
			    cstate_name(x->st));
		sbuf_puts(&r->body, "</snapshotDeviceResponseInfo>");
	}
	sbuf_puts(&r->body, "</snapshotData></crossRefIDorSnapshotData>");
	link_send_doc(r->l, r->invoke, "SnapshotDeviceResponse", body_of(r));
	return 0;
}

/* ---- call control ---- */

static int svc_make_call(struct req *r)
{
	char from[NUM_MAX], to[NUM_MAX];
	struct call *c = NULL;
	struct device *d;
	int err;

	if (get(r, "callingDevice", from, sizeof(from)) ||
	    get(r, "calledDirectoryNumber", to, sizeof(to)))
		return S_EPARAM;
	d = model_dev(&r->s->m, from);
	if (!d || !d->ext)
		return M_EINVCALLING;
	err = op_make_call(r->s, from, to, &c);
	if (err)
		return err;
	put_conn(r, "callingDevice", c, from);
	link_send_doc(r->l, r->invoke, "MakeCallResponse", body_of(r));
	return 0;
}

static int svc_answer(struct req *r)
{
	struct conn *x;
	int err = get_conn(r, "callToBeAnswered", &x);

	if (!err && !x->dev->ext)
		err = M_EINVDEV;
	if (!err)
		err = op_answer(r->s, x);
	if (!err)
		link_send_doc(r->l, r->invoke, "AnswerCallResponse", "");
	return err;
}

static int svc_clear_conn(struct req *r)
{
	struct conn *x;
	int err = get_conn(r, "connectionToBeCleared", &x);

	if (!err)
		err = op_clear_conn(r->s, x);
	if (!err)
		link_send_doc(r->l, r->invoke, "ClearConnectionResponse", "");
	return err;
}

static int svc_clear_call(struct req *r)
{
	char callid[32];
	struct call *c;
	int err;

	if (get(r, "callToBeCleared/callID", callid, sizeof(callid)))
		return S_EPARAM;
	c = model_call(&r->s->m, callid);
	if (!c)
		return M_EINVCALL;
	err = op_clear_call(r->s, c);
	if (!err)
		link_send_doc(r->l, r->invoke, "ClearCallResponse", "");
	return err;
}

static int svc_hold(struct req *r)
{
	struct conn *x;
	int err = get_ext_conn(r, "callToBeHeld", &x);

	if (!err)
		err = op_hold(r->s, x);
	if (!err)
		link_send_doc(r->l, r->invoke, "HoldCallResponse", "");
	return err;
}

static int svc_retrieve(struct req *r)
{
	struct conn *x;
	int err = get_ext_conn(r, "callToBeRetrieved", &x);

	if (!err)
		err = op_retrieve(r->s, x);
	if (!err)
		link_send_doc(r->l, r->invoke, "RetrieveCallResponse", "");
	return err;
}

static int svc_consult(struct req *r)
{
	char to[NUM_MAX];
	struct conn *x;
	struct call *c = NULL;
	struct device *d;
	int err = get_ext_conn(r, "existingCall", &x);

	if (err)
		return err;
	if (get(r, "consultedDevice", to, sizeof(to)))
		return S_EPARAM;
	d = x->dev;
	err = op_consult(r->s, x, to, &c);
	if (err)
		return err;
	put_conn(r, "initiatedCall", c, d->num);
	link_send_doc(r->l, r->invoke, "ConsultationCallResponse", body_of(r));
	return 0;
}

static int get_pair(struct req *r, struct conn **held, struct conn **active)
{
	int err = get_ext_conn(r, "heldCall", held);

	return err ? err : get_ext_conn(r, "activeCall", active);
}

static int svc_transfer(struct req *r)
{
	struct conn *h, *a;
	struct call *c = NULL;
	int err = get_pair(r, &h, &a);

	if (!err)
		err = op_transfer(r->s, h, a, &c);
	if (err)
		return err;
	if (c && c->conns)
		put_conn(r, "transferredCall", c, c->conns->dev->num);
	link_send_doc(r->l, r->invoke, "TransferCallResponse", body_of(r));
	return 0;
}

static int svc_sst(struct req *r)
{
	char to[NUM_MAX];
	struct conn *a;
	struct call *c = NULL;
	int err = get_ext_conn(r, "activeCall", &a);

	if (err)
		return err;
	if (get(r, "transferredTo", to, sizeof(to)))
		return S_EPARAM;
	err = op_sst(r->s, a, to, &c);
	if (err)
		return err;
	put_conn(r, "transferredCall", c, to);
	link_send_doc(r->l, r->invoke, "SingleStepTransferCallResponse", body_of(r));
	return 0;
}

static int svc_conference(struct req *r)
{
	struct conn *h, *a;
	struct call *c = NULL;
	struct device *d;
	int err = get_pair(r, &h, &a);

	if (err)
		return err;
	d = h->dev;
	err = op_conference(r->s, h, a, &c);
	if (err)
		return err;
	put_conn(r, "conferenceCall", c, d->num);
	link_send_doc(r->l, r->invoke, "ConferenceCallResponse", body_of(r));
	return 0;
}

static int svc_alternate(struct req *r)
{
	struct conn *h, *a;
	int err = get_pair(r, &h, &a);

	if (!err)
		err = op_alternate(r->s, h, a);
	if (!err)
		link_send_doc(r->l, r->invoke, "AlternateCallResponse", "");
	return err;
}

static int svc_reconnect(struct req *r)
{
	struct conn *h, *a;
	int err = get_pair(r, &h, &a);

	if (!err)
		err = op_reconnect(r->s, h, a);
	if (!err)
		link_send_doc(r->l, r->invoke, "ReconnectCallResponse", "");
	return err;
}

static int svc_deflect(struct req *r)
{
	char to[NUM_MAX];
	struct conn *x;
	int err = get_ext_conn(r, "callToBeDiverted", &x);

	if (err)
		return err;
	if (get(r, "newDestination", to, sizeof(to)))
		return S_EPARAM;
	err = op_deflect(r->s, x, to);
	if (!err)
		link_send_doc(r->l, r->invoke, "DeflectCallResponse", "");
	return err;
}

static int svc_directed_pickup(struct req *r)
{
	struct conn *x;
	struct device *by;
	struct call *c;
	int err = get_ext_conn(r, "callToBePickedUp", &x);

	if (!err)
		err = get_ext(r, "requestingDevice", &by);
	if (err)
		return err;
	c = x->call;
	err = op_pickup(r->s, x, by);
	if (err)
		return err;
	put_conn(r, "pickedCall", c, by->num);
	link_send_doc(r->l, r->invoke, "DirectedPickupCallResponse", body_of(r));
	return 0;
}

static int svc_group_pickup(struct req *r)
{
	struct device *by;
	struct call *c = NULL;
	int err = get_ext(r, "newDestination", &by);

	if (err == S_EPARAM)
		err = get_ext(r, "requestingDevice", &by);
	if (err)
		return err;
	err = op_group_pickup(r->s, by, &c);
	if (err)
		return err;
	put_conn(r, "pickedCall", c, by->num);
	link_send_doc(r->l, r->invoke, "GroupPickupCallResponse", body_of(r));
	return 0;
}

static int svc_digits(struct req *r)
{
	char digits[64];
	struct conn *x;
	int err = get_ext_conn(r, "connectionToSendDigits", &x);

	if (err)
		return err;
	if (get(r, "charactersToSend", digits, sizeof(digits)))
		return S_EPARAM;
	err = op_digits(r->s, x, digits);
	if (!err)
		link_send_doc(r->l, r->invoke, "GenerateDigitsResponse", "");
	return err;
}

/* ---- features ---- */

static int parse_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		return 0;
	return -1;
}

static int svc_set_forwarding(struct req *r)
{
	char type[32], act[8], dn[NUM_MAX] = "";
	struct device *d;
	int t, on, err = get_ext(r, "device", &d);

	if (err)
		return err;
	if (get(r, "forwardingType", type, sizeof(type)) ||
	    get(r, "activateForward", act, sizeof(act)))
		return S_EPARAM;
	t = fwd_type_parse(type);
	on = parse_bool(act);
	if (t < 0 || on < 0)
		return S_EPARAM;
	if (on && get(r, "forwardDN", dn, sizeof(dn)))
		return M_EINVDEST;
	err = op_set_fwd(r->s, d, (enum fwd_type)t, on, dn);
	if (!err)
		link_send_doc(r->l, r->invoke, "SetForwardingResponse", "");
	return err;
}

static int svc_get_forwarding(struct req *r)
{
	struct device *d;
	int err = get_ext(r, "device", &d);

	if (err)
		return err;
	sbuf_puts(&r->body, "<forwardingList>");
	for (int t = 0; t < FWD_N; t++) {
		sbuf_printf(&r->body,
			    "<forwardListItem><forwardingType>%s</forwardingType>"
			    "<forwardStatus>%s</forwardStatus>",
			    fwd_type_name((enum fwd_type)t), d->fwd[t][0] ? "true" : "false");
		if (d->fwd[t][0])
			sbuf_elem(&r->body, "forwardDN", d->fwd[t]);
		sbuf_puts(&r->body, "</forwardListItem>");
	}
	sbuf_puts(&r->body, "</forwardingList>");
	link_send_doc(r->l, r->invoke, "GetForwardingResponse", body_of(r));
	return 0;
}

static int svc_set_dnd(struct req *r)
{
	char on[8];
	struct device *d;
	int v, err = get_ext(r, "device", &d);

	if (err)
		return err;
	if (get(r, "doNotDisturbOn", on, sizeof(on)) || (v = parse_bool(on)) < 0)
		return S_EPARAM;
	err = op_set_dnd(r->s, d, v);
	if (!err)
		link_send_doc(r->l, r->invoke, "SetDoNotDisturbResponse", "");
	return err;
}

static int svc_get_dnd(struct req *r)
{
	struct device *d;
	int err = get_ext(r, "device", &d);

	if (err)
		return err;
	sbuf_printf(&r->body, "<doNotDisturbOn>%s</doNotDisturbOn>", d->dnd ? "true" : "false");
	link_send_doc(r->l, r->invoke, "GetDoNotDisturbResponse", body_of(r));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct req *r);
	bool before_session; /* allowed without an application session */
} services[] = {
	{"StartApplicationSession", svc_start_session, true},
	{"ResetApplicationSessionTimer", svc_reset_timer, false},
	{"SystemStatus", svc_system_status, true},
	{"RequestSystemStatus", svc_request_system_status, true},
	{"MonitorStart", svc_monitor_start, false},
	{"MonitorStop", svc_monitor_stop, false},
	{"SnapshotDevice", svc_snapshot_device, false},
	{"MakeCall", svc_make_call, false},
	{"AnswerCall", svc_answer, false},
	{"ClearConnection", svc_clear_conn, false},
	{"ClearCall", svc_clear_call, false},
	{"HoldCall", svc_hold, false},
	{"RetrieveCall", svc_retrieve, false},
	{"ConsultationCall", svc_consult, false},
	{"TransferCall", svc_transfer, false},
	{"SingleStepTransferCall", svc_sst, false},
	{"ConferenceCall", svc_conference, false},
	{"AlternateCall", svc_alternate, false},
	{"ReconnectCall", svc_reconnect, false},
	{"DeflectCall", svc_deflect, false},
	{"DirectedPickupCall", svc_directed_pickup, false},
	{"GroupPickupCall", svc_group_pickup, false},
	{"GenerateDigits", svc_digits, false},
	{"SetForwarding", svc_set_forwarding, false},
	{"GetForwarding", svc_get_forwarding, false},
	{"SetDoNotDisturb", svc_set_dnd, false},
	{"GetDoNotDisturb", svc_get_dnd, false},
};

bool svc_known(const char *name)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (!strcmp(services[i].name, name))
			return true;
	}
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

void svc_handle(struct link *l, const char invoke[4], const char *xml, size_t len)
{
	struct req r;
	char inv[5];
	int err = S_EUNKNOWN;

	memcpy(inv, invoke, 4);
	inv[4] = '\0';
	memset(&r, 0, sizeof(r));
	r.l = l;
	r.s = l->sim;
	r.invoke = inv;
	sbuf_init(&r.body);
	if (xmsg_parse(&r.m, xml, len) < 0) {
		sim_log(r.s, "csta: link %s sent a malformed document (invoke %s)", l->peer, inv);
		send_error(l, inv, S_EMALFORMED);
		goto out;
	}
	/* Answers to what pbxsim asked (keep-alive) need no answer. */
	if (ends_with(r.m.name, "Response") || !strcmp(r.m.name, "CSTAErrorCode")) {
		if (l->ka_sent && !strcmp(inv, l->ka_invoke))
			l->ka_sent = 0;
		goto out;
	}
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (strcmp(services[i].name, r.m.name))
			continue;
		if (r.s->o.require_session && !l->session && !services[i].before_session)
			err = S_ESESSION;
		else if (fault_error_take(l, inv, r.m.name))
			err = 0;
		else
			err = services[i].fn(&r);
		break;
	}
	if (err == S_EUNKNOWN)
		sim_log(r.s, "csta: unsupported request %s", r.m.name);
	if (err)
		send_error(l, inv, err);
out:
	xmsg_free(&r.m);
	sbuf_free(&r.body);
}
