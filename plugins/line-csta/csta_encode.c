/*
 * plugins/line-csta/csta_encode.c - the documents the driver sends: the
 * ECMA-323 requests of the contract's operations, monitors and snapshots,
 * keep-alive answers, and the ECMA-354 session requests. Written as text
 * into a caller's fixed buffer (no allocation per document); every value
 * is escaped, so a dial string can never change the document's structure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "csta_codec.h"

void csta_buf_init(struct csta_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	b->ns = CSTA_NS_ED3;
	if (cap)
		mem[0] = '\0';
}

int csta_buf_edition(struct csta_buf *b, int edition)
{
	static const char *const ns[] = {CSTA_NS_ED3, CSTA_NS_ED4, CSTA_NS_ED5};

	if (edition < 3 || edition > 5)
		return -EINVAL;
	b->ns = ns[edition - 3];
	return 0;
}

static void put(struct csta_buf *b, const char *s, size_t l)
{
	if (b->overflow || b->len + l + 1 > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, l);
	b->len += l;
	b->p[b->len] = '\0';
}

static void puts_(struct csta_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_escaped(struct csta_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		case '&':
			puts_(b, "&amp;");
			break;
		case '"':
			puts_(b, "&quot;");
			break;
		case '\'':
			puts_(b, "&apos;");
			break;
		default:
			/* Control characters other than tab/newline are not XML 1.0. */
			if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
				put(b, s, 1);
			break;
		}
	}
}

static void open_doc(struct csta_buf *b, const char *root, const char *ns)
{
	puts_(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><");
	puts_(b, root);
	puts_(b, " xmlns=\"");
	puts_(b, ns);
	puts_(b, "\">");
}

static void close_tag(struct csta_buf *b, const char *name)
{
	puts_(b, "</");
	puts_(b, name);
	puts_(b, ">");
}

static void open_tag(struct csta_buf *b, const char *name)
{
	puts_(b, "<");
	puts_(b, name);
	puts_(b, ">");
}

static void elem(struct csta_buf *b, const char *name, const char *text)
{
	open_tag(b, name);
	put_escaped(b, text);
	close_tag(b, name);
}

static void conn(struct csta_buf *b, const char *name, const struct csta_conn_ref *c)
{
	open_tag(b, name);
	if (c->call && c->call[0])
		elem(b, "callID", c->call);
	if (c->device && c->device[0])
		elem(b, "deviceID", c->device);
	close_tag(b, name);
}

static int finish(struct csta_buf *b)
{
	return b->overflow ? -ENOSPC : (int)b->len;
}

static const char *const req_names[] = {
	[CSTA_R_MAKE_CALL] = "MakeCall",
	[CSTA_R_ANSWER] = "AnswerCall",
	[CSTA_R_CLEAR_CONNECTION] = "ClearConnection",
	[CSTA_R_CLEAR_CALL] = "ClearCall",
	[CSTA_R_HOLD] = "HoldCall",
	[CSTA_R_RETRIEVE] = "RetrieveCall",
	[CSTA_R_CONSULT] = "ConsultationCall",
	[CSTA_R_TRANSFER] = "TransferCall",
	[CSTA_R_SINGLE_STEP_TRANSFER] = "SingleStepTransferCall",
	[CSTA_R_CONFERENCE] = "ConferenceCall",
	[CSTA_R_ALTERNATE] = "AlternateCall",
	[CSTA_R_RECONNECT] = "ReconnectCall",
	[CSTA_R_DEFLECT] = "DeflectCall",
	[CSTA_R_DIRECTED_PICKUP] = "DirectedPickupCall",
	[CSTA_R_GROUP_PICKUP] = "GroupPickupCall",
	[CSTA_R_DIGITS] = "GenerateDigits",
	[CSTA_R_SET_FORWARDING] = "SetForwarding",
	[CSTA_R_SET_DND] = "SetDoNotDisturb",
	[CSTA_R_MONITOR_START] = "MonitorStart",
	[CSTA_R_MONITOR_STOP] = "MonitorStop",
	[CSTA_R_SNAPSHOT] = "SnapshotDevice",
	[CSTA_R_SYSTEM_STATUS] = "SystemStatus",
	[CSTA_R_GET_FORWARDING] = "GetForwarding",
	[CSTA_R_GET_DND] = "GetDoNotDisturb",
};

const char *csta_req_name(int req)
{
	if (req <= 0 || (size_t)req >= sizeof(req_names) / sizeof(req_names[0]) || !req_names[req])
		return "?";
	return req_names[req];
}

int csta_encode_request(struct csta_buf *b, const struct csta_req_args *a)
{
	const char *name = csta_req_name(a->req);

	if (!strcmp(name, "?"))
		return -EINVAL;
	open_doc(b, name, b->ns);
	switch (a->req) {
	case CSTA_R_MAKE_CALL:
		elem(b, "callingDevice", a->device);
		elem(b, "calledDirectoryNumber", a->number);
		elem(b, "autoOriginate", "doNotPrompt");
		break;
	case CSTA_R_ANSWER:
		conn(b, "callToBeAnswered", &a->conn);
		break;
	case CSTA_R_CLEAR_CONNECTION:
		conn(b, "connectionToBeCleared", &a->conn);
		break;
	case CSTA_R_CLEAR_CALL:
		conn(b, "callToBeCleared", &a->conn);
		break;
	case CSTA_R_HOLD:
		conn(b, "callToBeHeld", &a->conn);
		break;
	case CSTA_R_RETRIEVE:
		conn(b, "callToBeRetrieved", &a->conn);
		break;
	case CSTA_R_CONSULT:
		conn(b, "existingCall", &a->conn);
		elem(b, "consultedDevice", a->number);
		break;
	case CSTA_R_TRANSFER:
	case CSTA_R_CONFERENCE:
	case CSTA_R_ALTERNATE:
		conn(b, "heldCall", &a->conn);
		conn(b, "activeCall", &a->other);
		break;
	case CSTA_R_RECONNECT:
		conn(b, "activeCall", &a->other);
		conn(b, "heldCall", &a->conn);
		break;
	case CSTA_R_SINGLE_STEP_TRANSFER:
		conn(b, "activeCall", &a->conn);
		elem(b, "transferredTo", a->number);
		break;
	case CSTA_R_DEFLECT:
		conn(b, "callToBeDiverted", &a->conn);
		elem(b, "newDestination", a->number);
		break;
	case CSTA_R_DIRECTED_PICKUP:
		conn(b, "callToBePickedUp", &a->conn);
		elem(b, "requestingDevice", a->device);
		break;
	case CSTA_R_GROUP_PICKUP:
		elem(b, "newDestination", a->device);
		break;
	case CSTA_R_DIGITS:
		conn(b, "connectionToSendDigits", &a->conn);
		elem(b, "charactersToSend", a->digits);
		break;
	case CSTA_R_SET_FORWARDING:
		elem(b, "device", a->device);
		elem(b, "forwardingType", a->fwd_type);
		elem(b, "activateForward", a->on ? "true" : "false");
		if (a->number && a->number[0])
			elem(b, "forwardDN", a->number);
		break;
	case CSTA_R_SET_DND:
		elem(b, "device", a->device);
		elem(b, "doNotDisturbOn", a->on ? "true" : "false");
		break;
	case CSTA_R_MONITOR_START:
		open_tag(b, "monitorObject");
		elem(b, "deviceObject", a->device);
		close_tag(b, "monitorObject");
		break;
	case CSTA_R_MONITOR_STOP:
		elem(b, "monitorCrossRefID", a->xref);
		break;
	case CSTA_R_SNAPSHOT:
		elem(b, "snapshotObject", a->device);
		break;
	case CSTA_R_SYSTEM_STATUS:
		elem(b, "systemStatus", "normal");
		break;
	case CSTA_R_GET_FORWARDING:
	case CSTA_R_GET_DND:
		elem(b, "device", a->device);
		break;
	}
	close_tag(b, name);
	return finish(b);
}

int csta_encode_start_session(struct csta_buf *b, const char *user, const char *password,
			      int duration_s)
{
	char d[16];

	snprintf(d, sizeof(d), "%d", duration_s);
	open_doc(b, "StartApplicationSession", CSTA_NS_SESSION);
	open_tag(b, "applicationInfo");
	elem(b, "applicationID", "ucsd");
	if ((user && user[0]) || (password && password[0])) {
		open_tag(b, "applicationSpecificInfo");
		puts_(b, "<SessionLoginInfo xmlns=\"");
		puts_(b, b->ns);
		puts_(b, "\">");
		elem(b, "userName", user);
		elem(b, "password", password);
		close_tag(b, "SessionLoginInfo");
		close_tag(b, "applicationSpecificInfo");
	}
	close_tag(b, "applicationInfo");
	open_tag(b, "requestedProtocolVersions");
	elem(b, "protocolVersion", b->ns);
	close_tag(b, "requestedProtocolVersions");
	elem(b, "requestedSessionDuration", d);
	close_tag(b, "StartApplicationSession");
	return finish(b);
}

int csta_encode_reset_timer(struct csta_buf *b, const char *session_id, int duration_s)
{
	char d[16];

	snprintf(d, sizeof(d), "%d", duration_s);
	open_doc(b, "ResetApplicationSessionTimer", CSTA_NS_SESSION);
	elem(b, "sessionID", session_id);
	elem(b, "requestedSessionDuration", d);
	close_tag(b, "ResetApplicationSessionTimer");
	return finish(b);
}

int csta_encode_stop_session(struct csta_buf *b, const char *session_id)
{
	open_doc(b, "StopApplicationSession", CSTA_NS_SESSION);
	elem(b, "sessionID", session_id);
	open_tag(b, "sessionEndReason");
	elem(b, "appEndReason", "normal");
	close_tag(b, "sessionEndReason");
	close_tag(b, "StopApplicationSession");
	return finish(b);
}

int csta_encode_system_status_response(struct csta_buf *b)
{
	open_doc(b, "SystemStatusResponse", b->ns);
	close_tag(b, "SystemStatusResponse");
	return finish(b);
}

int csta_encode_request_system_status_response(struct csta_buf *b)
{
	open_doc(b, "RequestSystemStatusResponse", b->ns);
	elem(b, "systemStatus", "normal");
	close_tag(b, "RequestSystemStatusResponse");
	return finish(b);
}

int csta_encode_error(struct csta_buf *b, const char *category, const char *value)
{
	open_doc(b, "CSTAErrorCode", b->ns);
	elem(b, category, value);
	close_tag(b, "CSTAErrorCode");
	return finish(b);
}
