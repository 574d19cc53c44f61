/*
 * plugins/wsrpc/ws_frame.h - RFC 6455 framing, both directions, without I/O.
 *
 * A WebSocket carries messages (text or binary) cut into frames, with
 * control frames (ping, pong, close) allowed between the fragments of a
 * message. The reader turns a byte stream into whole messages and control
 * frames: it keeps at most one partial frame and one partial message,
 * unmasks, reassembles, checks every rule a peer can break (reserved bits
 * without an extension, unknown opcodes, fragmented or oversized control
 * frames, a continuation without a start, a new message inside another,
 * masking required from a client and forbidden from a server, 64-bit
 * lengths with the top bit set or not minimal, sizes over the limits,
 * text that is not UTF-8 - checked as fragments arrive, so a bad byte is
 * caught before the message completes) and reports a violation as the close
 * code to send. The writer produces frame headers (with a mask for the
 * client side). The same code serves the server (wsrpc), ucsctl and the
 * load generator, and is what the fuzz target drives.
 */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

enum ws_side {
	WS_SERVER = 0, /* reads masked frames from a client */
	WS_CLIENT = 1, /* reads unmasked frames from a server */
};

/* A whole message (opcode TEXT or BINARY) or a control frame (CLOSE, PING,
 * PONG). data is valid during the call only. For CLOSE, data holds the raw
 * payload (code in the first two bytes, if any); ws_close_parse() splits it. */
typedef int(ws_msg_h)(int opcode, const uint8_t *data, size_t len, void *arg);

struct ws_reader {
	enum ws_side side;
	size_t max_frame, max_message;
	/* partial frame header and payload */
	uint8_t hdr[14];
	size_t hdr_len, hdr_need;
	uint64_t frame_len, frame_got;
	int frame_op, frame_fin, frame_masked;
	uint8_t mask[4];
	uint8_t *frame_buf; /* control frame payload */
	/* partial message */
	int msg_op; /* 0: none in progress */
	uint8_t *msg;
	size_t msg_len, msg_cap;
	uint32_t utf8_state;
	int closed; /* a close frame was read; nothing more is accepted */
};

void ws_reader_init(struct ws_reader *r, enum ws_side side, size_t max_frame, size_t max_message);
void ws_reader_free(struct ws_reader *r);
/* Feeds bytes; calls h for every message and control frame completed. A
 * handler returning nonzero stops reading (that value is returned). Returns
 * 0, or a close code (1002 protocol error, 1007 invalid UTF-8, 1009 too
 * big) for a peer's violation: send it in a close frame and stop reading. */
int ws_reader_feed(struct ws_reader *r, const uint8_t *data, size_t len, ws_msg_h *h, void *arg);
/* Bytes held for partial frames and messages (memory accounting). */
size_t ws_reader_held(const struct ws_reader *r);

/* Writes a frame header into out (2..14 bytes) and returns its length;
 * mask NULL for the server side. The payload follows, masked with
 * ws_mask() by a client. */
size_t ws_frame_header(uint8_t out[14], int fin, int opcode, uint64_t len, const uint8_t *mask);
/* XORs data with the mask, starting at byte `offset` of the payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);
/* A close payload: 2-byte code plus reason (cut to 123 bytes at a UTF-8
 * boundary). Returns the payload length (<= 125). */
size_t ws_close_payload(uint8_t out[125], int code, const char *reason);
/* Splits a received close payload: 0, or 1002 for a bad one (length 1, an
 * invalid code, a reason that is not UTF-8). code 1005 when empty. */
int ws_close_parse(const uint8_t *data, size_t len, int *code, const char **reason,
		   size_t *reason_len);

/* UTF-8 validation (incremental: state 0 at start; the text is complete and
 * valid when the final state is 0). Returns the new state, or UINT32_MAX
 * for an invalid sequence. */
#define WS_UTF8_BAD UINT32_MAX
uint32_t ws_utf8_step(uint32_t state, const uint8_t *data, size_t len);

#endif
