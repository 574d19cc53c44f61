/*
 * tests/fuzz/pbxsim_frame.c - pbxsim's framing reader and ECMA-323
 * document reader on arbitrary bytes.
 *
 * The input is a byte stream as a client would send it (length header,
 * invoke id, XML), fed in two pieces at an input-chosen split to exercise
 * partial frames; every complete frame is parsed and queried the way the
 * services do.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "xmlmsg.h"

static int on_frame(void *ud, const char invoke[4], const char *xml, size_t len)
{
	struct xmsg m;
	char buf[64];

	(void)ud;
	(void)invoke;
	if (xmsg_parse(&m, xml, len) < 0)
		return 0;
	xmsg_get(&m, "monitorObject/deviceObject", buf, sizeof(buf));
	xmsg_get(&m, "callToBeAnswered/callID", buf, sizeof(buf));
	xmsg_text(xmsg_find(&m, NULL, "deviceObject"), buf, sizeof(buf));
	xmsg_text(xmsg_find(&m, NULL, "password"), buf, sizeof(buf));
	xmsg_text(m.root, buf, sizeof(buf));
	(void)xmsg_local(m.root);
	xmsg_free(&m);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_rd rd;
	struct sbuf out;
	size_t split = size ? data[0] % (size + 1) : 0;

	xmsg_global_init(); /* idempotent: quiet libxml2 */
	frame_rd_init(&rd, 64 * 1024);
	if (frame_feed(&rd, data, split, on_frame, NULL) == 0)
		frame_feed(&rd, data + split, size - split, on_frame, NULL);
	frame_rd_free(&rd);
	/* The writer's output reads back as the same single frame. */
	sbuf_init(&out);
	frame_write(&out, "0001", (const char *)data, size > 4096 ? 4096 : size);
	frame_rd_init(&rd, 64 * 1024);
	frame_feed(&rd, out.p, out.len, on_frame, NULL);
	frame_rd_free(&rd);
	sbuf_free(&out);
	return 0;
}
