/*
 * plugins/wsrpc/ws_frame.c - RFC 6455 frames: the reader that turns bytes
 * into messages and control frames (checking every rule a peer can break),
 * the frame header writer, masking, close payloads and UTF-8 validation.
 *
 * Memory: the reader holds nothing between messages. A data frame's payload
 * goes into the message buffer, which grows with the bytes that actually
 * arrived (never with what a header merely announces: a peer claiming a
 * 1 MiB frame and sending one byte costs one small buffer, not a megabyte)
 * and is freed as soon as the message is delivered. A control frame's
 * payload (at most 125 bytes) gets its own buffer for as long as it is
 * partial.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

#define CLOSE_PROTOCOL 1002
#define CLOSE_BAD_DATA 1007
#define CLOSE_TOO_BIG  1009
#define MSG_MIN_ALLOC  256

/* --- UTF-8 ---------------------------------------------------------------- */

/*
 * The state is 0 between characters; inside one it holds how many
 * continuation bytes are still needed (bits 0-7) and the range the next one
 * must fall in (low bound bits 8-15, high bound bits 16-23). The first
 * continuation byte's range is what excludes overlong forms (E0, F0),
 * UTF-16 surrogates (ED) and code points above U+10FFFF (F4).
 */
static uint32_t utf8_state(uint32_t need, uint32_t lo, uint32_t hi)
{
	return need | lo << 8 | hi << 16;
}

uint32_t ws_utf8_step(uint32_t state, const uint8_t *data, size_t len)
{
	size_t i = 0;

	if (state == WS_UTF8_BAD)
		return WS_UTF8_BAD;
	while (i < len) {
		uint8_t b = data[i];

		if (state) {
			uint32_t need = state & 0xff, lo = (state >> 8) & 0xff,
				 hi = (state >> 16) & 0xff;

			if (b < lo || b > hi)
				return WS_UTF8_BAD;
			state = need > 1 ? utf8_state(need - 1, 0x80, 0xbf) : 0;
			i++;
			continue;
		}
		if (b < 0x80) {
			/* ASCII runs are the common case: skip them quickly */
			i++;
			while (i < len && data[i] < 0x80)
				i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			state = utf8_state(1, 0x80, 0xbf);
		else if (b == 0xe0)
			state = utf8_state(2, 0xa0, 0xbf);
		else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
			state = utf8_state(2, 0x80, 0xbf);
		else if (b == 0xed)
			state = utf8_state(2, 0x80, 0x9f);
		else if (b == 0xf0)
			state = utf8_state(3, 0x90, 0xbf);
		else if (b >= 0xf1 && b <= 0xf3)
			state = utf8_state(3, 0x80, 0xbf);
		else if (b == 0xf4)
			state = utf8_state(3, 0x80, 0x8f);
		else
			return WS_UTF8_BAD;
		i++;
	}
	return state;
}

/* --- writer --------------------------------------------------------------- */

size_t ws_frame_header(uint8_t out[14], int fin, int opcode, uint64_t len, const uint8_t *mask)
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

size_t ws_close_payload(uint8_t out[125], int code, const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (n > 123) {
		n = 123;
		/* never cut inside a character: back up over continuation bytes */
		while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
			n--;
	}
	if (n)
		memcpy(out + 2, reason, n);
	return 2 + n;
}

/* Codes a peer may send (RFC 6455 7.4.1 and the IANA registry). */
static int close_code_valid(int code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	switch (code) {
	case 1000:
	case 1001:
	case 1002:
	case 1003:
	case 1007:
	case 1008:
	case 1009:
	case 1010:
	case 1011:
	case 1012:
	case 1013:
	case 1014:
		return 1;
	default:
		return 0;
	}
}

int ws_close_parse(const uint8_t *data, size_t len, int *code, const char **reason,
		   size_t *reason_len)
{
	*code = 1005;
	*reason = "";
	*reason_len = 0;
	if (len == 0)
		return 0;
	if (len == 1 || len > 125)
		return CLOSE_PROTOCOL;
	*code = data[0] << 8 | data[1];
	if (!close_code_valid(*code))
		return CLOSE_PROTOCOL;
	if (ws_utf8_step(0, data + 2, len - 2) != 0)
		return CLOSE_PROTOCOL;
	*reason = (const char *)data + 2;
	*reason_len = len - 2;
	return 0;
}

/* --- reader --------------------------------------------------------------- */

void ws_reader_init(struct ws_reader *r, enum ws_side side, size_t max_frame, size_t max_message)
{
	memset(r, 0, sizeof(*r));
	r->side = side;
	r->max_frame = max_frame;
	r->max_message = max_message;
	r->hdr_need = 2;
}

static void msg_reset(struct ws_reader *r)
{
	free(r->msg);
	r->msg = NULL;
	r->msg_len = r->msg_cap = 0;
	r->msg_op = 0;
	r->utf8_state = 0;
}

void ws_reader_free(struct ws_reader *r)
{
	msg_reset(r);
	free(r->frame_buf);
	r->frame_buf = NULL;
}

size_t ws_reader_held(const struct ws_reader *r)
{
	return r->msg_cap + (r->frame_buf ? 125 : 0);
}

static int is_control(int op)
{
	return op & 0x8;
}

/* The header is complete: check it against the rules and the state. */
static int header_done(struct ws_reader *r)
{
	const uint8_t *h = r->hdr;
	size_t at = 2;
	uint64_t len = h[1] & 0x7f;

	r->frame_fin = h[0] >> 7;
	r->frame_op = h[0] & 0x0f;
	r->frame_masked = h[1] >> 7;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		if (len < 126)
			return CLOSE_PROTOCOL; /* not the shortest form */
		at = 4;
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		if (len >> 63 || len <= 0xffff)
			return CLOSE_PROTOCOL;
		at = 10;
	}
	if (r->frame_masked)
		memcpy(r->mask, h + at, 4);
	r->frame_len = len;
	r->frame_got = 0;
	if (h[0] & 0x70)
		return CLOSE_PROTOCOL; /* reserved bits: no extension was agreed */
	switch (r->frame_op) {
	case WS_OP_CONT:
		if (!r->msg_op)
			return CLOSE_PROTOCOL;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (r->msg_op)
			return CLOSE_PROTOCOL;
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!r->frame_fin || len > 125)
			return CLOSE_PROTOCOL;
		break;
	default:
		return CLOSE_PROTOCOL;
	}
	if (r->frame_masked != (r->side == WS_SERVER))
		return CLOSE_PROTOCOL;
	if (!is_control(r->frame_op)) {
		if (len > r->max_frame)
			return CLOSE_TOO_BIG;
		/* max_message may have shrunk below what a message in progress
		 * holds already (a reload, or the limit a session has before
		 * it authenticated): that message is too big now */
		if (r->frame_op == WS_OP_CONT &&
		    (r->msg_len > r->max_message || len > r->max_message - r->msg_len))
			return CLOSE_TOO_BIG;
		if (len > r->max_message)
			return CLOSE_TOO_BIG;
		if (r->frame_op != WS_OP_CONT)
			r->msg_op = r->frame_op;
	} else if (len) {
		r->frame_buf = malloc(125);
		if (!r->frame_buf)
			return CLOSE_TOO_BIG;
	}
	return 0;
}

/* Room for `more` bytes in the message buffer, growing geometrically but
 * never beyond what the current frame still has to bring. */
static int msg_reserve(struct ws_reader *r, size_t more)
{
	size_t want = r->msg_len + more, cap;
	uint8_t *p;

	if (want <= r->msg_cap)
		return 0;
	cap = r->msg_cap ? r->msg_cap * 2 : MSG_MIN_ALLOC;
	if (cap < want)
		cap = want;
	if (cap > r->msg_len + (r->frame_len - r->frame_got))
		cap = r->msg_len + (size_t)(r->frame_len - r->frame_got);
	p = realloc(r->msg, cap);
	if (!p)
		return -ENOMEM;
	r->msg = p;
	r->msg_cap = cap;
	return 0;
}

static const uint8_t empty_payload[1];

/* The frame's payload is complete. */
static int frame_done(struct ws_reader *r, ws_msg_h *h, void *arg)
{
	int op = r->frame_op, ret;

	r->hdr_len = 0;
	r->hdr_need = 2;
	if (is_control(op)) {
		uint8_t buf[125];
		size_t len = (size_t)r->frame_len;

		if (len)
			memcpy(buf, r->frame_buf, len);
		free(r->frame_buf);
		r->frame_buf = NULL;
		if (op == WS_OP_CLOSE)
			r->closed = 1;
		return h(op, len ? buf : empty_payload, len, arg);
	}
	if (!r->frame_fin)
		return 0;
	if (r->msg_op == WS_OP_TEXT && r->utf8_state != 0)
		return CLOSE_BAD_DATA; /* the text ends inside a character */
	{
		uint8_t *msg = r->msg;
		size_t len = r->msg_len;

		op = r->msg_op;
		r->msg = NULL;
		msg_reset(r);
		ret = h(op, msg ? msg : empty_payload, len, arg);
		free(msg);
	}
	return ret;
}

int ws_reader_feed(struct ws_reader *r, const uint8_t *data, size_t len, ws_msg_h *h, void *arg)
{
	size_t i = 0;
	int ret;

	while (i < len && !r->closed) {
		if (r->hdr_len < r->hdr_need) {
			r->hdr[r->hdr_len++] = data[i++];
			if (r->hdr_len == 2) {
				uint8_t l = r->hdr[1] & 0x7f;

				r->hdr_need = 2 +
					      (l == 126	  ? 2
					       : l == 127 ? 8
							  : 0) +
					      (r->hdr[1] & 0x80 ? 4 : 0);
			}
			if (r->hdr_len < r->hdr_need)
				continue;
			ret = header_done(r);
			if (ret)
				return ret;
			if (r->frame_len == 0) {
				ret = frame_done(r, h, arg);
				if (ret)
					return ret;
			}
			continue;
		}
		/* payload */
		{
			uint64_t left = r->frame_len - r->frame_got;
			size_t n = len - i < left ? len - i : (size_t)left;
			uint8_t *dst;

			if (is_control(r->frame_op)) {
				dst = r->frame_buf + r->frame_got;
			} else {
				if (msg_reserve(r, n))
					return CLOSE_TOO_BIG;
				dst = r->msg + r->msg_len;
			}
			memcpy(dst, data + i, n);
			if (r->frame_masked)
				ws_mask(dst, n, r->mask, r->frame_got);
			if (!is_control(r->frame_op)) {
				if (r->msg_op == WS_OP_TEXT) {
					r->utf8_state = ws_utf8_step(r->utf8_state, dst, n);
					if (r->utf8_state == WS_UTF8_BAD)
						return CLOSE_BAD_DATA;
				}
				r->msg_len += n;
			}
			r->frame_got += n;
			i += n;
			if (r->frame_got == r->frame_len) {
				ret = frame_done(r, h, arg);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}
