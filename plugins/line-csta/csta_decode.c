/*
 * plugins/line-csta/csta_decode.c - one ECMA-323 document into a struct
 * csta_msg (see csta_codec.h). Pure: no state, no I/O, no logging; the
 * fuzz target and the unit tests call exactly what the driver calls.
 *
 * The decoder walks the tree by local names. Each service or event names
 * its parties in its own element (DeliveredEvent/alertingDevice,
 * HeldEvent/holdingDevice, ...); the table below says, per root element,
 * which child fills which field, so that adding an event is one line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "csta_codec.h"

void csta_codec_init(void)
{
	xmlInitParser();
}

int csta_type_is_answer(int type)
{
	return type == CSTA_T_ERROR || type == CSTA_T_RESPONSE || type == CSTA_T_SESSION_POS ||
	       type == CSTA_T_SESSION_NEG || type == CSTA_T_RESET_TIMER_POS ||
	       type == CSTA_T_RESET_TIMER_NEG || type == CSTA_T_MONITOR_START_RESP ||
	       type == CSTA_T_SNAPSHOT_RESP || type == CSTA_T_SYSTEM_STATUS_RESP ||
	       type == CSTA_T_GET_FWD_RESP || type == CSTA_T_GET_DND_RESP;
}

int csta_type_is_event(int type)
{
	return type >= CSTA_T_EV_SERVICE_INITIATED && type <= CSTA_T_EV_OTHER;
}

/* ---- tree helpers ---- */

static int is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

/* Private data never holds what the driver reads: not searched. */
static int is_private(const xmlNode *n)
{
	return is(n, "extensions") || is(n, "privateData") || is(n, "CSTAPrivateData");
}

/* Depth-first search below n for an element called name. */
static const xmlNode *find(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
		const xmlNode *hit;

		if (c->type != XML_ELEMENT_NODE || is_private(c))
			continue;
		if (is(c, name))
			return c;
		hit = find(c, name);
		if (hit)
			return hit;
	}
	return NULL;
}

/* The text directly inside n (its text and CDATA children), trimmed, in out. */
static void text_of(const xmlNode *n, char *out, size_t cap)
{
	size_t len = 0;
	char *start;

	out[0] = '\0';
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
		size_t l;

		if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
			continue;
		l = strlen((const char *)c->content);
		if (l > cap - 1 - len)
			l = cap - 1 - len;
		memcpy(out + len, c->content, l);
		len += l;
	}
	out[len] = '\0';
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\n' ||
			   out[len - 1] == '\r'))
		out[--len] = '\0';
	start = out;
	while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
		start++;
	if (start != out)
		memmove(out, start, strlen(start) + 1);
}

static void copy(char *out, size_t cap, const char *s)
{
	size_t l = strlen(s);

	if (l >= cap)
		l = cap - 1;
	memcpy(out, s, l);
	out[l] = '\0';
}

/*
 * A device as ECMA-323 wraps it: <x><deviceIdentifier>100</deviceIdentifier></x>
 * (also deviceID, or the text of x itself for deviceObject, forwardTo...),
 * "" for notKnown / restricted / notRequired.
 */
static void device_of(const xmlNode *n, char *out, size_t cap)
{
	const xmlNode *id;

	out[0] = '\0';
	if (!n)
		return;
	id = find(n, "deviceIdentifier");
	if (!id)
		id = find(n, "deviceID");
	if (!id)
		id = find(n, "deviceNumber");
	text_of(id ? id : n, out, cap);
}

/* A connection: <x><callID>5</callID><deviceID>100</deviceID></x>. */
static void conn_of(const xmlNode *n, char *call, char *device)
{
	call[0] = device[0] = '\0';
	if (!n)
		return;
	text_of(find(n, "callID"), call, CSTA_CALL_MAX);
	device_of(find(n, "deviceID"), device, CSTA_DEV_MAX);
}

/* ---- what each root element is ---- */

enum fld {
	F_NONE = 0,
	F_CONN,	    /* -> call, device */
	F_CALL,	    /* a connection whose callID fills call only */
	F_OLD_CONN, /* -> old_call */
	F_CALLING,
	F_CALLED,
	F_CONNECTED,
	F_REDIRECTING,
	F_SUBJECT,
	F_DEVICE, /* -> device (feature events, MonitorStart object) */
};

struct field_map {
	const char *element;
	enum fld field;
};

struct root_kind {
	const char *name;
	int type;
	struct field_map f[7];
};

static const struct root_kind roots[] = {
	{"ServiceInitiatedEvent",
	 CSTA_T_EV_SERVICE_INITIATED,
	 {{"initiatedConnection", F_CONN}, {"initiatingDevice", F_CALLING}}},
	{"OriginatedEvent",
	 CSTA_T_EV_ORIGINATED,
	 {{"originatedConnection", F_CONN},
	  {"callingDevice", F_CALLING},
	  {"calledDevice", F_CALLED}}},
	{"DeliveredEvent",
	 CSTA_T_EV_DELIVERED,
	 {{"connection", F_CONN},
	  {"alertingDevice", F_CONNECTED},
	  {"callingDevice", F_CALLING},
	  {"calledDevice", F_CALLED},
	  {"lastRedirectionDevice", F_REDIRECTING}}},
	{"EstablishedEvent",
	 CSTA_T_EV_ESTABLISHED,
	 {{"establishedConnection", F_CONN},
	  {"answeringDevice", F_CONNECTED},
	  {"callingDevice", F_CALLING},
	  {"calledDevice", F_CALLED},
	  {"lastRedirectionDevice", F_REDIRECTING}}},
	{"HeldEvent", CSTA_T_EV_HELD, {{"heldConnection", F_CONN}, {"holdingDevice", F_SUBJECT}}},
	{"RetrievedEvent",
	 CSTA_T_EV_RETRIEVED,
	 {{"retrievedConnection", F_CONN}, {"retrievingDevice", F_SUBJECT}}},
	{"DivertedEvent",
	 CSTA_T_EV_DIVERTED,
	 {{"connection", F_CONN},
	  {"divertingDevice", F_REDIRECTING},
	  {"newDestination", F_CONNECTED},
	  {"callingDevice", F_CALLING},
	  {"calledDevice", F_CALLED}}},
	{"TransferedEvent",
	 CSTA_T_EV_TRANSFERRED,
	 {{"primaryOldCall", F_OLD_CONN},
	  {"secondaryOldCall", F_CONN},
	  {"transferringDevice", F_SUBJECT},
	  {"transferredToDevice", F_CONNECTED}}},
	{"TransferredEvent", /* the spelling some PBXs use */
	 CSTA_T_EV_TRANSFERRED,
	 {{"primaryOldCall", F_OLD_CONN},
	  {"secondaryOldCall", F_CONN},
	  {"transferringDevice", F_SUBJECT},
	  {"transferredToDevice", F_CONNECTED}}},
	{"ConferencedEvent",
	 CSTA_T_EV_CONFERENCED,
	 {{"primaryOldCall", F_OLD_CONN},
	  {"secondaryOldCall", F_CONN},
	  {"conferencingDevice", F_SUBJECT},
	  {"addedParty", F_CONNECTED}}},
	{"ConnectionClearedEvent",
	 CSTA_T_EV_CONNECTION_CLEARED,
	 {{"droppedConnection", F_CONN}, {"releasingDevice", F_SUBJECT}}},
	{"CallClearedEvent", CSTA_T_EV_CALL_CLEARED, {{"clearedCall", F_CONN}}},
	{"FailedEvent",
	 CSTA_T_EV_FAILED,
	 {{"failedConnection", F_CONN},
	  {"failingDevice", F_SUBJECT},
	  {"calledDevice", F_CALLED},
	  {"callingDevice", F_CALLING}}},
	{"ForwardingEvent", CSTA_T_EV_FORWARDING, {{"device", F_DEVICE}}},
	{"DoNotDisturbEvent", CSTA_T_EV_DND, {{"device", F_DEVICE}}},
	{"OutOfServiceEvent", CSTA_T_EV_OUT_OF_SERVICE, {{"device", F_DEVICE}}},
	{"BackInServiceEvent", CSTA_T_EV_BACK_IN_SERVICE, {{"device", F_DEVICE}}},
	{"MonitorEndedEvent", CSTA_T_EV_MONITOR_ENDED, {{NULL, F_NONE}}},
	{"CSTAErrorCode", CSTA_T_ERROR, {{NULL, F_NONE}}},
	{"StartApplicationSessionPosResponse", CSTA_T_SESSION_POS, {{NULL, F_NONE}}},
	{"StartApplicationSessionNegResponse", CSTA_T_SESSION_NEG, {{NULL, F_NONE}}},
	{"ResetApplicationSessionTimerPosResponse", CSTA_T_RESET_TIMER_POS, {{NULL, F_NONE}}},
	{"ResetApplicationSessionTimerNegResponse", CSTA_T_RESET_TIMER_NEG, {{NULL, F_NONE}}},
	{"MonitorStartResponse", CSTA_T_MONITOR_START_RESP, {{NULL, F_NONE}}},
	{"SnapshotDeviceResponse", CSTA_T_SNAPSHOT_RESP, {{NULL, F_NONE}}},
	{"GetForwardingResponse", CSTA_T_GET_FWD_RESP, {{NULL, F_NONE}}},
	{"GetDoNotDisturbResponse", CSTA_T_GET_DND_RESP, {{NULL, F_NONE}}},
	{"SystemStatus", CSTA_T_SYSTEM_STATUS, {{NULL, F_NONE}}},
	{"RequestSystemStatus", CSTA_T_REQUEST_SYSTEM_STATUS, {{NULL, F_NONE}}},
	{"SystemStatusResponse", CSTA_T_SYSTEM_STATUS_RESP, {{NULL, F_NONE}}},
	{"StopApplicationSession", CSTA_T_STOP_SESSION, {{NULL, F_NONE}}},
	/* answers whose content the driver does not need beyond the call id */
	{"MakeCallResponse", CSTA_T_RESPONSE, {{"callingDevice", F_CALL}}},
	{"ConsultationCallResponse", CSTA_T_RESPONSE, {{"initiatedCall", F_CALL}}},
	{"TransferCallResponse", CSTA_T_RESPONSE, {{"transferredCall", F_CALL}}},
	{"SingleStepTransferCallResponse", CSTA_T_RESPONSE, {{"transferredCall", F_CALL}}},
	{"ConferenceCallResponse", CSTA_T_RESPONSE, {{"conferenceCall", F_CALL}}},
	{"DirectedPickupCallResponse", CSTA_T_RESPONSE, {{"pickedCall", F_CALL}}},
	{"GroupPickupCallResponse", CSTA_T_RESPONSE, {{"pickedCall", F_CALL}}},
};

static const char *const ns_accepted[] = {
	"http://www.ecma-international.org/standards/ecma-323/csta/ed3",
	"http://www.ecma-international.org/standards/ecma-323/csta/ed4",
	"http://www.ecma-international.org/standards/ecma-323/csta/ed5",
	CSTA_NS_SESSION,
};

static int namespace_edition(const xmlNode *root, int *edition)
{
	const char *href = root->ns && root->ns->href ? (const char *)root->ns->href : NULL;

	*edition = 0;
	if (!href)
		return 0;
	for (size_t i = 0; i < sizeof(ns_accepted) / sizeof(ns_accepted[0]); i++)
		if (!strcmp(href, ns_accepted[i])) {
			*edition = i < 3 ? (int)i + 3 : 0;
			return 0;
		}
	return -EPROTO;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void fill(const xmlNode *root, const struct root_kind *k, struct csta_msg *m)
{
	for (size_t i = 0; i < sizeof(k->f) / sizeof(k->f[0]) && k->f[i].element; i++) {
		const xmlNode *n = child(root, k->f[i].element);
		char scratch[CSTA_DEV_MAX];

		if (!n)
			continue;
		switch (k->f[i].field) {
		case F_CONN:
			conn_of(n, m->call, m->device);
			break;
		case F_CALL:
			conn_of(n, m->call, scratch);
			if (!m->device[0])
				copy(m->device, sizeof(m->device), scratch);
			break;
		case F_OLD_CONN:
			conn_of(n, m->old_call, scratch);
			break;
		case F_CALLING:
			device_of(n, m->calling, sizeof(m->calling));
			/* ECMA-323 CallingDeviceID: the caller's number withheld
			 * (restricted). notKnown says only that the PBX was not
			 * given one (an analogue trunk, a caller without CLIP):
			 * unknown, not hidden */
			if (!m->calling[0] && find(n, "restricted"))
				m->calling_hidden = 1;
			break;
		case F_CALLED:
			device_of(n, m->called, sizeof(m->called));
			break;
		case F_CONNECTED:
			device_of(n, m->connected, sizeof(m->connected));
			break;
		case F_REDIRECTING:
			device_of(n, m->redirecting, sizeof(m->redirecting));
			break;
		case F_SUBJECT:
			device_of(n, m->subject, sizeof(m->subject));
			break;
		case F_DEVICE:
			device_of(n, m->device, sizeof(m->device));
			break;
		case F_NONE:
			break;
		}
	}
}

/*
 * Transferred and conferenced: the resulting call is the callID of the new
 * connections (transferredConnections / conferenceConnections); without
 * them, the secondary old call goes on. old_call is then the other old call.
 */
static void fill_join(const xmlNode *root, struct csta_msg *m)
{
	const xmlNode *list = child(root, "transferredConnections");
	char primary[CSTA_CALL_MAX], secondary[CSTA_CALL_MAX], newcall[CSTA_CALL_MAX] = "";
	char scratch[CSTA_DEV_MAX];

	if (!list)
		list = child(root, "conferenceConnections");
	if (list) {
		const xmlNode *nc = find(list, "newConnection");

		if (nc)
			conn_of(nc, newcall, scratch);
	}
	copy(primary, sizeof(primary), m->old_call);
	copy(secondary, sizeof(secondary), m->call);
	if (newcall[0]) {
		copy(m->call, sizeof(m->call), newcall);
		copy(m->old_call, sizeof(m->old_call),
		     strcmp(newcall, primary) ? primary : secondary);
	}
}

static void fill_error(const xmlNode *root, struct csta_msg *m)
{
	/* <CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>;
	 * session refusals carry <errorCode><definedError>..</definedError>. */
	const xmlNode *cat = NULL;
	const xmlNode *ec = child(root, "errorCode");

	for (const xmlNode *c = (ec ? ec : root)->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !is_private(c)) {
			cat = c;
			break;
		}
	if (!cat)
		return;
	copy(m->error_category, sizeof(m->error_category), (const char *)cat->name);
	text_of(cat, m->error, sizeof(m->error));
	if (!m->error[0] && cat->children && cat->children->type == XML_ELEMENT_NODE)
		copy(m->error, sizeof(m->error), (const char *)cat->children->name);
	if (!m->error[0])
		copy(m->error, sizeof(m->error), (const char *)cat->name);
}

static int bool_of(const xmlNode *n)
{
	char t[16];

	text_of(n, t, sizeof(t));
	return !strcmp(t, "true") || !strcmp(t, "1");
}

/* Room for one more snapshot entry: NULL beyond the cap or without memory. */
static struct csta_snap_entry *snap_add(struct csta_msg *m)
{
	if (m->snap_count == m->snap_cap) {
		size_t cap = m->snap_cap ? m->snap_cap * 2 : 8;
		struct csta_snap_entry *v;

		if (m->snap_cap >= CSTA_SNAP_MAX)
			return NULL;
		if (cap > CSTA_SNAP_MAX)
			cap = CSTA_SNAP_MAX;
		v = realloc(m->snap, cap * sizeof(*v));
		if (!v)
			return NULL;
		m->snap = v;
		m->snap_cap = cap;
	}
	return &m->snap[m->snap_count];
}

/*
 * <snapshotData><snapshotDeviceResponseInfo><connectionIdentifier>..
 * <localCallState> is a choice: <compoundCallState> (the device's own
 * <localConnectionState> and the far <endpoints>) or <simpleCallState>
 * (both ends in one value); both are kept, the driver prefers the first.
 */
static void fill_snapshot(const xmlNode *root, struct csta_msg *m)
{
	const xmlNode *data = find(root, "snapshotData");

	for (const xmlNode *c = data ? data->children : NULL; c; c = c->next) {
		struct csta_snap_entry *e;

		if (!is(c, "snapshotDeviceResponseInfo"))
			continue;
		e = snap_add(m);
		if (!e) {
			m->snap_truncated = 1;
			break;
		}
		memset(e, 0, sizeof(*e));
		conn_of(child(c, "connectionIdentifier"), e->call, e->device);
		text_of(find(c, "localConnectionState"), e->local, sizeof(e->local));
		text_of(find(c, "simpleCallState"), e->simple, sizeof(e->simple));
		if (e->call[0])
			m->snap_count++;
	}
	m->xref[0] = '\0';
	text_of(find(root, "crossRefID"), m->xref, sizeof(m->xref));
}

/* <forwardingList><forwardListItem><forwardingType>forwardBusy</forwardingType>
 * <forwardStatus>true</forwardStatus><forwardDN>200</forwardDN></forwardListItem>... */
static void fill_forwarding(const xmlNode *root, struct csta_msg *m)
{
	const xmlNode *list = find(root, "forwardingList");

	for (const xmlNode *c = list ? list->children : NULL; c; c = c->next) {
		struct csta_fwd_item *f;

		if (!is(c, "forwardListItem"))
			continue;
		if (m->fwd_count == CSTA_FWD_MAX)
			break;
		f = &m->fwd[m->fwd_count++];
		text_of(child(c, "forwardingType"), f->type, sizeof(f->type));
		f->on = bool_of(child(c, "forwardStatus"));
		device_of(child(c, "forwardDN"), f->to, sizeof(f->to));
	}
}

/* libxml2 reports some input errors (bad encodings) through its generic
 * error handler, which prints to stderr; the driver counts and logs them
 * itself. The handler is per thread: set around the parse, then restored. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

void csta_msg_free(struct csta_msg *m)
{
	free(m->snap);
	m->snap = NULL;
	m->snap_count = m->snap_cap = 0;
}

int csta_decode(const char *xml, size_t len, struct csta_msg *m)
{
	xmlGenericErrorFunc saved_func = xmlGenericError;
	void *saved_ctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc saved_sfunc = xmlStructuredError;
	void *saved_sctx = xmlStructuredErrorContext;
	/* No NOENT (entities are not substituted), no DTDLOAD, no network. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR |
			 XML_PARSE_NOCDATA | XML_PARSE_COMPACT;
	xmlDoc *doc = NULL;
	const xmlNode *root;
	const struct root_kind *k = NULL;
	int err = 0;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > INT32_MAX) {
		err = -EBADMSG;
		goto out;
	}
	xmlSetGenericErrorFunc(NULL, quiet);
	xmlSetStructuredErrorFunc(NULL, NULL);
	doc = xmlReadMemory(xml, (int)len, "csta.xml", NULL, opts);
	xmlSetGenericErrorFunc(saved_ctx, saved_func);
	xmlSetStructuredErrorFunc(saved_sctx, saved_sfunc);
	if (!doc || doc->intSubset || doc->extSubset) {
		err = -EBADMSG;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root) {
		err = -EBADMSG;
		goto out;
	}
	copy(m->name, sizeof(m->name), (const char *)root->name);
	err = namespace_edition(root, &m->edition);
	if (err)
		goto out;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(m->name, roots[i].name)) {
			k = &roots[i];
			break;
		}
	if (k) {
		m->type = k->type;
		fill(root, k, m);
	} else if (ends_with(m->name, "Event")) {
		m->type = CSTA_T_EV_OTHER;
	} else if (ends_with(m->name, "Response")) {
		m->type = CSTA_T_RESPONSE;
	} else {
		m->type = CSTA_T_OTHER_REQUEST;
	}
	text_of(child(root, "monitorCrossRefID"), m->xref, sizeof(m->xref));
	text_of(child(root, "cause"), m->cause, sizeof(m->cause));
	text_of(child(root, "localConnectionInfo"), m->lci, sizeof(m->lci));
	switch (m->type) {
	case CSTA_T_EV_TRANSFERRED:
	case CSTA_T_EV_CONFERENCED:
		fill_join(root, m);
		break;
	case CSTA_T_ERROR:
	case CSTA_T_SESSION_NEG:
	case CSTA_T_RESET_TIMER_NEG:
		fill_error(root, m);
		break;
	case CSTA_T_SESSION_POS: {
		char d[16];

		text_of(child(root, "sessionID"), m->session_id, sizeof(m->session_id));
		text_of(child(root, "actualSessionDuration"), d, sizeof(d));
		m->session_duration = d[0] ? (int)strtol(d, NULL, 10) : 0;
		if (m->session_duration < 0)
			m->session_duration = 0;
		break;
	}
	case CSTA_T_SYSTEM_STATUS:
		text_of(child(root, "systemStatus"), m->status, sizeof(m->status));
		break;
	case CSTA_T_EV_FORWARDING:
		text_of(child(root, "forwardingType"), m->fwd_type, sizeof(m->fwd_type));
		m->fwd_on = bool_of(child(root, "forwardStatus"));
		device_of(child(root, "forwardTo"), m->fwd_to, sizeof(m->fwd_to));
		break;
	case CSTA_T_GET_FWD_RESP:
		fill_forwarding(root, m);
		break;
	case CSTA_T_GET_DND_RESP:
	case CSTA_T_EV_DND:
		m->dnd_on = bool_of(child(root, "doNotDisturbOn"));
		break;
	case CSTA_T_SNAPSHOT_RESP:
		fill_snapshot(root, m);
		break;
	default:
		break;
	}
out:
	xmlFreeDoc(doc);
	return err;
}
