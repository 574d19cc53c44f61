/*
 * plugins/line-csta/tests/test_codec.c - the wire codec on canned ECMA-323
 * documents (tests/docs/, written from the standard's schema): every event
 * and answer of the contract decodes into the fields the driver reads,
 * numbers stay as the PBX wrote them, namespaces of editions 3-5 and
 * prefixes are accepted, private data is ignored, foreign namespaces, DTDs
 * and broken XML are refused; the frame header and the incremental reader
 * cut streams correctly in any chunking and refuse bad headers before
 * buffering a body; every request encodes into a well-formed document
 * that carries its values escaped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "check.h"
#include "csta_codec.h"
#include "csta_docs.h"

static int decode_file(const char *name, struct csta_msg *m)
{
	size_t len;
	char *xml = csta_doc_load(name, &len);
	int err = csta_decode(xml, len, m);

	free(xml);
	return err;
}

static void test_events(void)
{
	struct csta_msg m;

	CHECK_INT(decode_file("delivered.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_DELIVERED);
	CHECK_INT(m.edition, ==, 3);
	CHECK_STR(m.xref, "17");
	CHECK_STR(m.call, "4711");
	CHECK_STR(m.device, "120");
	CHECK_STR(m.connected, "120");
	CHECK_STR(m.calling, "+4989123456");
	CHECK_STR(m.called, "120");
	CHECK_STR(m.redirecting, "");
	CHECK_STR(m.lci, "alerting");
	CHECK_STR(m.cause, "newCall");
	CHECK_INT(m.calling_hidden, ==, 0); /* a lastRedirectionDevice notKnown is not the caller */

	/* a withheld caller: no number, marked */
	CHECK_INT(decode_file("delivered_restricted.xml", &m), ==, 0);
	CHECK_STR(m.calling, "");
	CHECK_INT(m.calling_hidden, ==, 1);
	{
		static const char nk[] =
			"<DeliveredEvent xmlns=\"http://www.ecma-international.org/standards/"
			"ecma-323/csta/ed4\"><monitorCrossRefID>1</monitorCrossRefID>"
			"<connection><callID>9</callID><deviceID>120</deviceID></connection>"
			"<callingDevice><notKnown/></callingDevice></DeliveredEvent>";
		static const char none[] =
			"<DeliveredEvent xmlns=\"http://www.ecma-international.org/standards/"
			"ecma-323/csta/ed4\"><monitorCrossRefID>1</monitorCrossRefID>"
			"<connection><callID>9</callID><deviceID>120</deviceID></connection>"
			"</DeliveredEvent>";

		/* notKnown: the PBX has no number, the caller did not withhold it */
		CHECK_INT(csta_decode(nk, sizeof(nk) - 1, &m), ==, 0);
		CHECK_INT(m.calling_hidden, ==, 0);
		CHECK_INT(csta_decode(none, sizeof(none) - 1, &m), ==, 0);
		CHECK_INT(m.calling_hidden, ==, 0);
	}

	/* the number is kept as written (the wrapper is unwrapped by the mapping) */
	CHECK_INT(decode_file("established.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_ESTABLISHED);
	CHECK_STR(m.calling, "N<0891234567>");
	CHECK_STR(m.connected, "120");

	CHECK_INT(decode_file("service_initiated.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_SERVICE_INITIATED);
	CHECK_STR(m.call, "12");
	CHECK_STR(m.calling, "120");
	CHECK_STR(m.lci, "initiated");

	CHECK_INT(decode_file("originated.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_ORIGINATED);
	CHECK_STR(m.called, "00891234567");

	CHECK_INT(decode_file("held.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_HELD);
	CHECK_STR(m.subject, "120");
	CHECK_STR(m.lci, "");

	CHECK_INT(decode_file("retrieved.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_RETRIEVED);

	CHECK_INT(decode_file("diverted.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_DIVERTED);
	CHECK_STR(m.redirecting, "120");
	CHECK_STR(m.connected, "130");
	CHECK_STR(m.cause, "redirected");

	CHECK_INT(decode_file("transfered.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_TRANSFERRED);
	CHECK_STR(m.call, "4713");
	CHECK_STR(m.old_call, "4711");
	CHECK_STR(m.subject, "120");
	CHECK_STR(m.connected, "121");

	/* the conference goes on as the primary call: old_call is the other */
	CHECK_INT(decode_file("conferenced.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_CONFERENCED);
	CHECK_STR(m.call, "4711");
	CHECK_STR(m.old_call, "4712");
	CHECK_STR(m.connected, "121");

	CHECK_INT(decode_file("connection_cleared.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_CONNECTION_CLEARED);
	CHECK_STR(m.device, "+4989123456");
	CHECK_STR(m.subject, "+4989123456");

	CHECK_INT(decode_file("call_cleared.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_CALL_CLEARED);
	CHECK_STR(m.call, "4711");
	CHECK_STR(m.cause, "normalClearing");

	CHECK_INT(decode_file("failed.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_FAILED);
	CHECK_STR(m.cause, "busy");

	CHECK_INT(decode_file("forwarding.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_FORWARDING);
	CHECK_STR(m.device, "120");
	CHECK_STR(m.fwd_type, "forwardBusy");
	CHECK_INT(m.fwd_on, ==, 1);
	CHECK_STR(m.fwd_to, "0891111");

	CHECK_INT(decode_file("dnd.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_DND);
	CHECK_INT(m.dnd_on, ==, 1);

	CHECK_INT(decode_file("out_of_service.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_OUT_OF_SERVICE);
	CHECK_INT(decode_file("back_in_service.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_BACK_IN_SERVICE);
	CHECK(csta_type_is_event(m.type));
	CHECK(!csta_type_is_answer(m.type));
}

static void test_answers(void)
{
	struct csta_msg m;

	CHECK_INT(decode_file("error_invalid_call.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_ERROR);
	CHECK_STR(m.error, "invalidCallID");
	CHECK_STR(m.error_category, "operation");
	CHECK(csta_type_is_answer(m.type));

	CHECK_INT(decode_file("error_monitor_limit.xml", &m), ==, 0);
	CHECK_STR(m.error, "overallMonitorLimitExceeded");
	CHECK_STR(m.error_category, "systemResourceAvailability");

	CHECK_INT(decode_file("monitor_start_response.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_MONITOR_START_RESP);
	CHECK_STR(m.xref, "17");

	CHECK_INT(decode_file("snapshot_response.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_SNAPSHOT_RESP);
	CHECK_INT(m.snap_count, ==, 2);
	CHECK_STR(m.snap[0].call, "4711");
	CHECK_STR(m.snap[0].device, "120");
	CHECK_STR(m.snap[0].local, "connected");
	CHECK_STR(m.snap[0].simple, "");
	CHECK_STR(m.snap[1].call, "4720");
	CHECK_STR(m.snap[1].local, "hold");
	csta_msg_free(&m);
	CHECK(m.snap == NULL && m.snap_count == 0);

	CHECK_INT(decode_file("session_pos.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_SESSION_POS);
	CHECK_STR(m.session_id, "A-17-xyz");
	CHECK_INT(m.session_duration, ==, 90);
	CHECK_INT(m.edition, ==, 0);

	CHECK_INT(decode_file("session_neg.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_SESSION_NEG);
	CHECK_STR(m.error, "invalidApplicationInfo");

	CHECK_INT(decode_file("system_status.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_SYSTEM_STATUS);
	CHECK_STR(m.status, "normal");

	CHECK_INT(decode_file("get_forwarding_response.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_GET_FWD_RESP);
	CHECK(csta_type_is_answer(m.type));
	CHECK_INT(m.fwd_count, ==, 2);
	CHECK_STR(m.fwd[0].type, "forwardImmediate");
	CHECK_INT(m.fwd[0].on, ==, 0);
	CHECK_STR(m.fwd[0].to, "");
	CHECK_STR(m.fwd[1].type, "forwardNoAns");
	CHECK_INT(m.fwd[1].on, ==, 1);
	CHECK_STR(m.fwd[1].to, "N<0891234>");

	CHECK_INT(decode_file("get_dnd_response.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_GET_DND_RESP);
	CHECK_INT(m.dnd_on, ==, 1);

	CHECK_INT(decode_file("make_call_response.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_RESPONSE);
	CHECK_STR(m.call, "12");
}

static void test_namespaces_and_refusals(void)
{
	struct csta_msg m;

	/* prefixed, edition 5, private data naming another caller: ignored */
	CHECK_INT(decode_file("prefixed_ed5.xml", &m), ==, 0);
	CHECK_INT(m.type, ==, CSTA_T_EV_DELIVERED);
	CHECK_INT(m.edition, ==, 5);
	CHECK_STR(m.calling, "0891234567");
	CHECK_STR(m.call, "99");

	CHECK_INT(decode_file("ed4_plain.xml", &m), ==, 0);
	CHECK_INT(m.edition, ==, 4);
	CHECK_INT(m.type, ==, CSTA_T_EV_HELD);

	CHECK_INT(decode_file("foreign_ns.xml", &m), ==, -EPROTO);
	CHECK_INT(decode_file("dtd.xml", &m), ==, -EBADMSG);
	CHECK_INT(decode_file("xxe.xml", &m), ==, -EBADMSG);
	CHECK_INT(decode_file("malformed.xml", &m), ==, -EBADMSG);
	CHECK_INT(csta_decode("", 0, &m), ==, -EBADMSG);

	/* a broken encoding: refused, and libxml2 prints nothing to stderr */
	{
		const char bad[] = "<?xml version=\"1.0\" encoding=\"EUC-JP\"?><CallClearedEvent>"
				   "\xc2\xc2\xc2\xc2\xc2</CallClearedEvent>";
		char path[] = "/tmp/test-csta-stderr-XXXXXX";
		int fd = mkstemp(path), saved = dup(2);
		off_t size;

		fflush(stderr);
		dup2(fd, 2);
		CHECK_INT(csta_decode(bad, sizeof(bad) - 1, &m), ==, -EBADMSG);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		size = lseek(fd, 0, SEEK_END);
		close(fd);
		unlink(path);
		CHECK_INT(size, ==, 0);
	}
	/* no namespace at all: accepted (some PBXs leave it out) */
	{
		const char *doc =
			"<CallClearedEvent><monitorCrossRefID>3</monitorCrossRefID>"
			"<clearedCall><callID>9</callID></clearedCall></CallClearedEvent>";

		CHECK_INT(csta_decode(doc, strlen(doc), &m), ==, 0);
		CHECK_INT(m.type, ==, CSTA_T_EV_CALL_CLEARED);
		CHECK_STR(m.call, "9");
	}
	/* unknown events and responses are classified, not refused */
	{
		const char *ev = "<QueuedEvent xmlns=\"" CSTA_NS_ED3 "\"/>";
		const char *rs = "<AnswerCallResponse xmlns=\"" CSTA_NS_ED3 "\"/>";
		const char *rq = "<EscapeService xmlns=\"" CSTA_NS_ED3 "\"/>";

		CHECK_INT(csta_decode(ev, strlen(ev), &m), ==, 0);
		CHECK_INT(m.type, ==, CSTA_T_EV_OTHER);
		CHECK_INT(csta_decode(rs, strlen(rs), &m), ==, 0);
		CHECK_INT(m.type, ==, CSTA_T_RESPONSE);
		CHECK_INT(csta_decode(rq, strlen(rq), &m), ==, 0);
		CHECK_INT(m.type, ==, CSTA_T_OTHER_REQUEST);
	}
	/* over-long values are cut, never overflow */
	{
		char doc[2048];
		int n = snprintf(doc, sizeof(doc),
				 "<DeliveredEvent xmlns=\"" CSTA_NS_ED3 "\"><connection><callID>");

		memset(doc + n, '7', 500);
		n += 500;
		n += snprintf(doc + n, sizeof(doc) - (size_t)n,
			      "</callID></connection></DeliveredEvent>");
		CHECK_INT(csta_decode(doc, (size_t)n, &m), ==, 0);
		CHECK_INT(strlen(m.call), ==, CSTA_CALL_MAX - 1);
	}
}

/* ---- framing ---- */

struct collected {
	int n;
	int invoke[8];
	char doc[8][64];
};

static int collect(void *arg, int invoke, const char *xml, size_t len)
{
	struct collected *c = arg;

	if (c->n < 8) {
		c->invoke[c->n] = invoke;
		snprintf(c->doc[c->n], sizeof(c->doc[0]), "%.*s", (int)len, xml);
	}
	c->n++;
	return 0;
}

static int stop_second(void *arg, int invoke, const char *xml, size_t len)
{
	(void)invoke, (void)xml, (void)len;
	return ++*(int *)arg == 2 ? -ECANCELED : 0;
}

static size_t put_frame(uint8_t *out, const char *doc, int invoke)
{
	size_t len = strlen(doc);

	csta_header_write(out, len, invoke);
	memcpy(out + CSTA_HEADER_BYTES, doc, len);
	return len + CSTA_HEADER_BYTES;
}

static void test_framing(void)
{
	uint8_t hdr[8], stream[256];
	size_t total, n = 0;
	int invoke;
	struct csta_reader r;

	csta_header_write(hdr, 100, 42);
	CHECK(!memcmp(hdr,
		      "\x00\x00\x00\x6c"
		      "0042",
		      8));
	CHECK_INT(csta_header_parse(hdr, 65536, &total, &invoke), ==, 0);
	CHECK_INT(total, ==, 108);
	CHECK_INT(invoke, ==, 42);
	CHECK_INT(csta_header_parse(hdr, 100, &total, &invoke), ==, -EMSGSIZE);
	memcpy(hdr,
	       "\x00\x00\x00\x07"
	       "0001",
	       8);
	CHECK_INT(csta_header_parse(hdr, 65536, &total, &invoke), ==, -EPROTO);
	memcpy(hdr,
	       "\x00\x00\x00\x10"
	       "00\x01"
	       "1",
	       8);
	CHECK_INT(csta_header_parse(hdr, 65536, &total, &invoke), ==, -EPROTO);
	memcpy(hdr,
	       "\x00\x00\x00\x10"
	       "ab12",
	       8);
	CHECK_INT(csta_header_parse(hdr, 65536, &total, &invoke), ==, 0);
	CHECK_INT(invoke, ==, -1);

	n += put_frame(stream + n, "<a/>", 1);
	n += put_frame(stream + n, "<bb/>", 9999);
	n += put_frame(stream + n, "", 3);
	n += put_frame(stream + n, "<ccc/>", 9998);
	/* every chunking gives the same four frames */
	for (size_t step = 1; step <= n; step++) {
		struct collected c = {0};
		int err = 0;

		csta_reader_init(&r, 1024);
		for (size_t off = 0; off < n && !err; off += step)
			err = csta_reader_feed(&r, stream + off, off + step > n ? n - off : step,
					       collect, &c);
		CHECK_INT(err, ==, 0);
		CHECK_INT(c.n, ==, 4);
		CHECK_STR(c.doc[0], "<a/>");
		CHECK_INT(c.invoke[1], ==, 9999);
		CHECK_STR(c.doc[1], "<bb/>");
		CHECK_STR(c.doc[2], "");
		CHECK_STR(c.doc[3], "<ccc/>");
		CHECK_INT(c.invoke[3], ==, 9998);
		CHECK_INT(r.len, ==, 0);
		csta_reader_free(&r);
	}
	/* a header beyond the limit is refused before any of its body is kept */
	{
		struct collected c = {0};
		uint8_t big[8];

		csta_reader_init(&r, 1024);
		csta_header_write(big, 2 * 1024 * 1024, 9999);
		CHECK_INT(csta_reader_feed(&r, big, 8, collect, &c), ==, -EMSGSIZE);
		CHECK_INT(c.n, ==, 0);
		CHECK(r.cap <= 1024);
		csta_reader_free(&r);
	}
	/* a frame handler that stops the reader: its error comes back, no more frames */
	{
		int calls = 0;

		csta_reader_init(&r, 1024);
		CHECK_INT(csta_reader_feed(&r, stream, n, stop_second, &calls), ==, -ECANCELED);
		CHECK_INT(calls, ==, 2);
		csta_reader_free(&r);
	}
}

/* ---- encoding ---- */

static int well_formed(const char *doc, size_t len)
{
	xmlDoc *d = xmlReadMemory(doc, (int)len, "t.xml", NULL, XML_PARSE_NONET);
	int ok = d != NULL;

	xmlFreeDoc(d);
	return ok;
}

static void test_encode(void)
{
	char mem[4096];
	struct csta_buf b;
	int len;

	for (int req = CSTA_R_MAKE_CALL; req <= CSTA_R_GET_DND; req++) {
		struct csta_req_args a = {
			.req = req,
			.conn = {"c1", "120"},
			.other = {"c2", "120"},
			.device = "120",
			.number = "0<&>\"'9",
			.digits = "12#",
			.fwd_type = "forwardBusy",
			.on = 1,
			.xref = "17",
		};

		csta_buf_init(&b, mem, sizeof(mem));
		len = csta_encode_request(&b, &a);
		CHECK(len > 0);
		CHECK(well_formed(mem, (size_t)len));
		CHECK_CONTAINS(mem, csta_req_name(req));
		CHECK_CONTAINS(mem, CSTA_NS_ED3);
		CHECK(!strstr(mem, "0<&>"));
	}
	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_request(&b, &(struct csta_req_args){.req = CSTA_R_MAKE_CALL,
							      .device = "120",
							      .number = "0891234567"});
	CHECK_CONTAINS(mem, "<callingDevice>120</callingDevice>");
	CHECK_CONTAINS(mem, "<calledDirectoryNumber>0891234567</calledDirectoryNumber>");

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_request(&b, &(struct csta_req_args){.req = CSTA_R_TRANSFER,
							      .conn = {"1", "120"},
							      .other = {"2", "120"}});
	CHECK_CONTAINS(mem, "<heldCall><callID>1</callID><deviceID>120</deviceID></heldCall>"
			    "<activeCall><callID>2</callID><deviceID>120</deviceID></activeCall>");

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_request(&b, &(struct csta_req_args){.req = CSTA_R_SET_FORWARDING,
							      .device = "120",
							      .fwd_type = "forwardImmediate",
							      .on = 0,
							      .number = ""});
	CHECK_CONTAINS(mem, "<activateForward>false</activateForward>");
	CHECK(!strstr(mem, "forwardDN"));

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_request(
		&b, &(struct csta_req_args){.req = CSTA_R_MONITOR_START, .device = "120"});
	CHECK_CONTAINS(mem, "<monitorObject><deviceObject>120</deviceObject></monitorObject>");

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_start_session(&b, "u<1>", "p&w", 180);
	CHECK(len > 0 && well_formed(mem, (size_t)len));
	CHECK_CONTAINS(mem, "<userName>u&lt;1&gt;</userName>");
	CHECK_CONTAINS(mem, "<password>p&amp;w</password>");
	CHECK_CONTAINS(mem, "<requestedSessionDuration>180</requestedSessionDuration>");

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_reset_timer(&b, "S1", 180);
	CHECK(len > 0 && well_formed(mem, (size_t)len));
	CHECK_CONTAINS(mem, "<sessionID>S1</sessionID>");

	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_error(&b, "operation", "generic");
	CHECK(len > 0 && well_formed(mem, (size_t)len));
	{
		struct csta_msg m;

		CHECK_INT(csta_decode(mem, (size_t)len, &m), ==, 0);
		CHECK_STR(m.error, "generic");
	}
	csta_buf_init(&b, mem, sizeof(mem));
	len = csta_encode_system_status_response(&b);
	CHECK(len > 0 && well_formed(mem, (size_t)len));

	/* too small a buffer: -ENOSPC, never a cut document */
	csta_buf_init(&b, mem, 40);
	CHECK_INT(csta_encode_request(&b, &(struct csta_req_args){.req = CSTA_R_MAKE_CALL,
								  .device = "120",
								  .number = "1"}),
		  ==, -ENOSPC);
	csta_buf_init(&b, mem, sizeof(mem));
	CHECK_INT(csta_encode_request(&b, &(struct csta_req_args){.req = 999}), ==, -EINVAL);
}

/* A snapshot document with n entries; entry i has call "c<i>" and state. */
static char *snapshot_doc(size_t n, const char *state_xml, size_t *len)
{
	size_t cap = 512 + n * 400, used;
	char *doc = malloc(cap);

	used = (size_t)snprintf(doc, cap,
				"<SnapshotDeviceResponse xmlns=\"" CSTA_NS_ED3
				"\"><crossRefIDorSnapshotData><snapshotData>");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(
			doc + used, cap - used,
			"<snapshotDeviceResponseInfo><connectionIdentifier>"
			"<callID>c%zu</callID><deviceID>120</deviceID>"
			"</connectionIdentifier><localCallState>%s</localCallState>"
			"</snapshotDeviceResponseInfo>",
			i, state_xml);
	used += (size_t)snprintf(
		doc + used, cap - used,
		"</snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>");
	*len = used;
	return doc;
}

/* The snapshot list grows with the document (it used to stop at 16) up to
 * CSTA_SNAP_MAX, and says when it was cut; simple and compound states are
 * both kept. */
static void test_snapshot_sizes(void)
{
	struct csta_msg m;
	size_t len;
	char *doc;

	doc = snapshot_doc(40, "<simpleCallState>callEstablished</simpleCallState>", &len);
	CHECK_INT(csta_decode(doc, len, &m), ==, 0);
	CHECK_INT(m.snap_count, ==, 40);
	CHECK_INT(m.snap_truncated, ==, 0);
	if (m.snap_count == 40) {
		CHECK_STR(m.snap[39].call, "c39");
		CHECK_STR(m.snap[39].simple, "callEstablished");
		CHECK_STR(m.snap[39].local, "");
	}
	csta_msg_free(&m);
	free(doc);

	doc = snapshot_doc(CSTA_SNAP_MAX + 5,
			   "<compoundCallState><localConnectionState>hold</localConnectionState>"
			   "</compoundCallState>",
			   &len);
	CHECK_INT(csta_decode(doc, len, &m), ==, 0);
	CHECK_INT(m.snap_count, ==, CSTA_SNAP_MAX);
	CHECK_INT(m.snap_truncated, ==, 1);
	CHECK_STR(m.snap[CSTA_SNAP_MAX - 1].local, "hold");
	csta_msg_free(&m);
	free(doc);
}

/* The edition of the documents sent: ed3 by default, ed4/ed5 on request,
 * every document of the driver in it, and decodable by our own decoder. */
static void test_encode_edition(void)
{
	static const char *const ns[] = {CSTA_NS_ED3, CSTA_NS_ED4, CSTA_NS_ED5};
	char mem[4096];
	struct csta_buf b;
	struct csta_msg m;
	int len;

	for (int ed = 3; ed <= 5; ed++) {
		csta_buf_init(&b, mem, sizeof(mem));
		CHECK_INT(csta_buf_edition(&b, ed), ==, 0);
		len = csta_encode_request(
			&b, &(struct csta_req_args){.req = CSTA_R_MONITOR_START, .device = "120"});
		CHECK(len > 0);
		CHECK_CONTAINS(mem, ns[ed - 3]);
		for (int o = 3; o <= 5; o++)
			if (o != ed)
				CHECK(!strstr(mem, ns[o - 3]));
		csta_buf_init(&b, mem, sizeof(mem));
		CHECK_INT(csta_buf_edition(&b, ed), ==, 0);
		len = csta_encode_system_status_response(&b);
		CHECK(len > 0);
		CHECK_CONTAINS(mem, ns[ed - 3]);
		CHECK_INT(csta_decode(mem, (size_t)len, &m), ==, 0);
		csta_buf_init(&b, mem, sizeof(mem));
		CHECK_INT(csta_buf_edition(&b, ed), ==, 0);
		len = csta_encode_error(&b, "operation", "invalidCallID");
		CHECK_CONTAINS(mem, ns[ed - 3]);
		csta_buf_init(&b, mem, sizeof(mem));
		CHECK_INT(csta_buf_edition(&b, ed), ==, 0);
		len = csta_encode_start_session(&b, "u", "p", 180);
		CHECK(len > 0);
		CHECK(well_formed(mem, (size_t)len));
		CHECK_CONTAINS(mem, CSTA_NS_SESSION);
		CHECK_CONTAINS(mem, ns[ed - 3]);
	}
	/* anything else is refused and the buffer keeps its edition */
	csta_buf_init(&b, mem, sizeof(mem));
	CHECK_INT(csta_buf_edition(&b, 4), ==, 0);
	CHECK_INT(csta_buf_edition(&b, 2), ==, -EINVAL);
	CHECK_INT(csta_buf_edition(&b, 6), ==, -EINVAL);
	len = csta_encode_request(
		&b, &(struct csta_req_args){.req = CSTA_R_MONITOR_START, .device = "120"});
	CHECK(len > 0);
	CHECK_CONTAINS(mem, CSTA_NS_ED4);
}

int main(void)
{
	csta_codec_init();
	test_events();
	test_answers();
	test_snapshot_sizes();
	test_namespaces_and_refusals();
	test_framing();
	test_encode();
	test_encode_edition();
	return check_report();
}
