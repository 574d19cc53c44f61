/*
 * plugins/wsrpc/tests/test_frame.c - the RFC 6455 frame reader and writer:
 * every rule a peer can break gives its close code, fragmentation with
 * control frames in between, input split at every byte boundary, 16- and
 * 64-bit lengths, masking on both sides, close payloads.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ws_frame.h"

#define MAX_EVENTS 32

struct event {
	int op;
	size_t len;
	uint8_t *data;
};

struct log {
	struct event ev[MAX_EVENTS];
	size_t n;
	int stop_after; /* return 77 from the handler after this many (0: never) */
};

static int on_msg(int op, const uint8_t *data, size_t len, void *arg)
{
	struct log *l = arg;

	if (l->n < MAX_EVENTS) {
		l->ev[l->n].op = op;
		l->ev[l->n].len = len;
		l->ev[l->n].data = malloc(len + 1);
		memcpy(l->ev[l->n].data, data, len);
		l->ev[l->n].data[len] = 0;
		l->n++;
	}
	if (l->stop_after && l->n == (size_t)l->stop_after)
		return 77;
	return 0;
}

static void log_free(struct log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ev[i].data);
	memset(l, 0, sizeof(*l));
}

/* A growable byte string for building streams of frames. */
struct buf {
	uint8_t *p;
	size_t len;
};

static void put(struct buf *b, const void *d, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A frame as a client (masked) or server (unmasked) writes it. */
static void put_frame(struct buf *b, int fin, int op, const void *payload, size_t len, int masked)
{
	uint8_t hdr[14], *copy = malloc(len + 1);
	size_t hl = ws_frame_header(hdr, fin, op, len, masked ? MASK : NULL);

	memcpy(copy, payload, len);
	if (masked)
		ws_mask(copy, len, MASK, 0);
	put(b, hdr, hl);
	put(b, copy, len);
	free(copy);
}

static void put_raw(struct buf *b, const char *bytes, size_t n)
{
	put(b, bytes, n);
}

/* Feeds the whole stream at once to a fresh server-side reader. */
static int feed_all(enum ws_side side, const struct buf *b, struct log *l, size_t max_frame,
		    size_t max_message)
{
	struct ws_reader r;
	int ret;

	ws_reader_init(&r, side, max_frame, max_message);
	ret = ws_reader_feed(&r, b->p, b->len, on_msg, l);
	ws_reader_free(&r);
	return ret;
}

static int feed_server(const struct buf *b, struct log *l)
{
	return feed_all(WS_SERVER, b, l, 1 << 20, 1 << 22);
}

/* One frame with a hand-written header (for headers the writer refuses to
 * produce): b0, b1 and extra length bytes, then a mask and the payload. */
static int violation(uint8_t b0, uint8_t b1, const uint8_t *ext, size_t next, size_t paylen)
{
	struct buf b = {0};
	struct log l = {0};
	uint8_t *pl = calloc(1, paylen + 1);
	int ret;

	put(&b, &b0, 1);
	put(&b, &b1, 1);
	if (next)
		put(&b, ext, next);
	if (b1 & 0x80)
		put(&b, MASK, 4);
	put(&b, pl, paylen);
	ret = feed_server(&b, &l);
	CHECK_INT(l.n, ==, 0);
	log_free(&l);
	free(pl);
	free(b.p);
	return ret;
}

static void test_simple(void)
{
	struct buf b = {0};
	struct log l = {0};

	put_frame(&b, 1, WS_OP_TEXT, "hello", 5, 1);
	CHECK_INT(feed_server(&b, &l), ==, 0);
	CHECK_INT(l.n, ==, 1);
	CHECK_INT(l.ev[0].op, ==, WS_OP_TEXT);
	CHECK_STR((char *)l.ev[0].data, "hello");
	log_free(&l);
	free(b.p);

	/* an empty text message and an empty binary one */
	b = (struct buf){0};
	put_frame(&b, 1, WS_OP_TEXT, "", 0, 1);
	put_frame(&b, 1, WS_OP_BINARY, "", 0, 1);
	CHECK_INT(feed_server(&b, &l), ==, 0);
	CHECK_INT(l.n, ==, 2);
	CHECK_INT(l.ev[0].len, ==, 0);
	CHECK_INT(l.ev[1].op, ==, WS_OP_BINARY);
	log_free(&l);
	free(b.p);
}

static void test_violations(void)
{
	uint8_t ext[8] = {0};

	/* masking: required from a client, forbidden from a server */
	CHECK_INT(violation(0x81, 0x05, NULL, 0, 5), ==, 1002);
	{
		struct buf b = {0};
		struct log l = {0};

		put_frame(&b, 1, WS_OP_TEXT, "hi", 2, 1);
		CHECK_INT(feed_all(WS_CLIENT, &b, &l, 100, 100), ==, 1002);
		CHECK_INT(l.n, ==, 0);
		free(b.p);
		b = (struct buf){0};
		put_frame(&b, 1, WS_OP_TEXT, "hi", 2, 0);
		CHECK_INT(feed_all(WS_CLIENT, &b, &l, 100, 100), ==, 0);
		CHECK_INT(l.n, ==, 1);
		log_free(&l);
		free(b.p);
	}
	/* reserved bits without an extension */
	CHECK_INT(violation(0xc1, 0x81, NULL, 0, 1), ==, 1002);
	CHECK_INT(violation(0xa1, 0x81, NULL, 0, 1), ==, 1002);
	CHECK_INT(violation(0x91, 0x81, NULL, 0, 1), ==, 1002);
	/* unknown opcodes */
	for (int op = 3; op <= 7; op++)
		CHECK_INT(violation((uint8_t)(0x80 | op), 0x81, NULL, 0, 1), ==, 1002);
	for (int op = 0xb; op <= 0xf; op++)
		CHECK_INT(violation((uint8_t)(0x80 | op), 0x81, NULL, 0, 1), ==, 1002);
	/* control frames: fragmented, or longer than 125 */
	CHECK_INT(violation(0x09, 0x80, NULL, 0, 0), ==, 1002);
	CHECK_INT(violation(0x08, 0x80, NULL, 0, 0), ==, 1002);
	ext[0] = 0;
	ext[1] = 126;
	CHECK_INT(violation(0x89, 0x80 | 126, ext, 2, 126), ==, 1002);
	CHECK_INT(violation(0x8a, 0x80 | 126, ext, 2, 126), ==, 1002);
	/* a continuation without a message */
	CHECK_INT(violation(0x80, 0x81, NULL, 0, 1), ==, 1002);
	/* lengths not in the shortest form, or with the top bit set */
	ext[0] = 0;
	ext[1] = 100;
	CHECK_INT(violation(0x81, 0x80 | 126, ext, 2, 100), ==, 1002);
	memset(ext, 0, 8);
	ext[6] = 0xff;
	ext[7] = 0xff; /* 65535 in 64 bits */
	CHECK_INT(violation(0x81, 0x80 | 127, ext, 8, 0), ==, 1002);
	memset(ext, 0, 8);
	ext[0] = 0x80;
	CHECK_INT(violation(0x81, 0x80 | 127, ext, 8, 0), ==, 1002);
	/* a new message inside a fragmented one */
	{
		struct buf b = {0};
		struct log l = {0};

		put_frame(&b, 0, WS_OP_TEXT, "a", 1, 1);
		put_frame(&b, 1, WS_OP_TEXT, "b", 1, 1);
		CHECK_INT(feed_server(&b, &l), ==, 1002);
		CHECK_INT(l.n, ==, 0);
		free(b.p);
		b = (struct buf){0};
		put_frame(&b, 0, WS_OP_TEXT, "a", 1, 1);
		put_frame(&b, 1, WS_OP_BINARY, "b", 1, 1);
		CHECK_INT(feed_server(&b, &l), ==, 1002);
		log_free(&l);
		free(b.p);
	}
}

static void test_sizes(void)
{
	struct buf b = {0};
	struct log l = {0};
	uint8_t big[300];
	struct ws_reader r;
	uint8_t hdr[14];
	size_t hl;

	memset(big, 'a', sizeof(big));
	/* a frame over max_frame: refused on its header, before any payload */
	hl = ws_frame_header(hdr, 1, WS_OP_TEXT, 101, MASK);
	ws_reader_init(&r, WS_SERVER, 100, 1000);
	CHECK_INT(ws_reader_feed(&r, hdr, hl, on_msg, &l), ==, 1009);
	CHECK_INT(ws_reader_held(&r), ==, 0);
	ws_reader_free(&r);
	/* exactly max_frame is fine */
	put_frame(&b, 1, WS_OP_TEXT, big, 100, 1);
	CHECK_INT(feed_all(WS_SERVER, &b, &l, 100, 1000), ==, 0);
	CHECK_INT(l.n, ==, 1);
	log_free(&l);
	free(b.p);
	/* a message over max_message, in frames each within max_frame */
	b = (struct buf){0};
	put_frame(&b, 0, WS_OP_TEXT, big, 100, 1);
	put_frame(&b, 0, WS_OP_CONT, big, 100, 1);
	put_frame(&b, 1, WS_OP_CONT, big, 51, 1);
	CHECK_INT(feed_all(WS_SERVER, &b, &l, 100, 250), ==, 1009);
	CHECK_INT(l.n, ==, 0);
	CHECK_INT(feed_all(WS_SERVER, &b, &l, 100, 251), ==, 0);
	CHECK_INT(l.n, ==, 1);
	CHECK_INT(l.ev[0].len, ==, 251);
	log_free(&l);
	free(b.p);
	/* control frames are not subject to max_frame (they are <= 125) */
	b = (struct buf){0};
	put_frame(&b, 1, WS_OP_PING, big, 125, 1);
	CHECK_INT(feed_all(WS_SERVER, &b, &l, 10, 10), ==, 0);
	CHECK_INT(l.n, ==, 1);
	CHECK_INT(l.ev[0].op, ==, WS_OP_PING);
	CHECK_INT(l.ev[0].len, ==, 125);
	log_free(&l);
	free(b.p);
}

/* A 300-byte first fragment, then max_message set to `limit`, then a
 * continuation of cont_len bytes (final or not): what the reader says. */
static int after_lowering(size_t limit, int fin, size_t cont_len, struct log *l)
{
	static uint8_t big[300];
	struct buf b = {0};
	struct ws_reader r;
	int ret;

	ws_reader_init(&r, WS_SERVER, 1000, 1000);
	put_frame(&b, 0, WS_OP_TEXT, big, 300, 1);
	ret = ws_reader_feed(&r, b.p, b.len, on_msg, l);
	CHECK_INT(ret, ==, 0);
	CHECK_INT(r.msg_len, ==, 300);
	r.max_message = limit;
	b.len = 0;
	put_frame(&b, fin, WS_OP_CONT, big, cont_len, 1);
	ret = ws_reader_feed(&r, b.p, b.len, on_msg, l);
	ws_reader_free(&r);
	free(b.p);
	return ret;
}

/* max_message lowered below what a fragmented message in progress holds
 * (a reload; the smaller limit before authentication): the next fragment,
 * even an empty final one, closes with 1009 - max_message - msg_len must
 * not wrap around and let the message grow without bound. */
static void test_limit_lowered_mid_message(void)
{
	struct log l = {0};

	CHECK_INT(after_lowering(200, 0, 300, &l), ==, 1009);
	CHECK_INT(after_lowering(299, 1, 0, &l), ==, 1009);
	CHECK_INT(l.n, ==, 0);
	/* lowered to exactly what it holds: nothing more may come, but it ends */
	CHECK_INT(after_lowering(300, 0, 1, &l), ==, 1009);
	CHECK_INT(after_lowering(300, 1, 0, &l), ==, 0);
	CHECK_INT(l.n, ==, 1);
	CHECK_INT(l.ev[0].len, ==, 300);
	log_free(&l);
}

/* A stream with every kind of event: fragmented text with pings and pongs
 * in between, a 16-bit length, a binary message, an empty fragment, a
 * close. */
static void build_mixed(struct buf *b, int masked)
{
	uint8_t mid[200];

	for (size_t i = 0; i < sizeof(mid); i++)
		mid[i] = (uint8_t)('A' + i % 26);
	put_frame(b, 0, WS_OP_TEXT, "Hel", 3, masked);
	put_frame(b, 1, WS_OP_PING, "p1", 2, masked);
	put_frame(b, 0, WS_OP_CONT, "lo \xc3", 4, masked); /* a character cut in two */
	put_frame(b, 1, WS_OP_PONG, "", 0, masked);
	put_frame(b, 0, WS_OP_CONT, "", 0, masked);
	put_frame(b, 1, WS_OP_CONT, "\xa9t\xc3\xa9", 4, masked);
	put_frame(b, 1, WS_OP_TEXT, mid, sizeof(mid), masked);
	put_frame(b, 1, WS_OP_BINARY, "\x00\xff", 2, masked);
	put_frame(b, 1, WS_OP_CLOSE,
		  "\x03\xe8"
		  "bye",
		  5, masked);
}

static void check_mixed(const struct log *l)
{
	CHECK_INT(l->n, ==, 6);
	if (l->n != 6)
		return;
	CHECK_INT(l->ev[0].op, ==, WS_OP_PING);
	CHECK_STR((char *)l->ev[0].data, "p1");
	CHECK_INT(l->ev[1].op, ==, WS_OP_PONG);
	CHECK_INT(l->ev[1].len, ==, 0);
	CHECK_INT(l->ev[2].op, ==, WS_OP_TEXT);
	CHECK_STR((char *)l->ev[2].data, "Hello \xc3\xa9t\xc3\xa9");
	CHECK_INT(l->ev[3].op, ==, WS_OP_TEXT);
	CHECK_INT(l->ev[3].len, ==, 200);
	CHECK_INT(l->ev[3].data[199], ==, 'A' + 199 % 26);
	CHECK_INT(l->ev[4].op, ==, WS_OP_BINARY);
	CHECK_INT(l->ev[4].len, ==, 2);
	CHECK_INT(l->ev[5].op, ==, WS_OP_CLOSE);
	CHECK_INT(l->ev[5].len, ==, 5);
}

static void test_fragmentation_and_splits(void)
{
	for (int side = 0; side < 2; side++) {
		struct buf b = {0};
		struct log l = {0};
		int split_failures = 0;

		build_mixed(&b, side == WS_SERVER);
		CHECK_INT(feed_all((enum ws_side)side, &b, &l, 1000, 1000), ==, 0);
		check_mixed(&l);
		log_free(&l);
		/* cut in two at every byte boundary */
		for (size_t cut = 0; cut <= b.len; cut++) {
			struct ws_reader r;
			int ret;

			ws_reader_init(&r, (enum ws_side)side, 1000, 1000);
			ret = ws_reader_feed(&r, b.p, cut, on_msg, &l);
			ret |= ws_reader_feed(&r, b.p + cut, b.len - cut, on_msg, &l);
			if (ret || l.n != 6 ||
			    strcmp((char *)l.ev[2].data, "Hello \xc3\xa9t\xc3\xa9"))
				split_failures++;
			ws_reader_free(&r);
			log_free(&l);
		}
		CHECK_INT(split_failures, ==, 0);
		/* one byte at a time */
		{
			struct ws_reader r;
			int ret = 0;

			ws_reader_init(&r, (enum ws_side)side, 1000, 1000);
			for (size_t i = 0; i < b.len; i++)
				ret |= ws_reader_feed(&r, b.p + i, 1, on_msg, &l);
			CHECK_INT(ret, ==, 0);
			check_mixed(&l);
			CHECK_INT(ws_reader_held(&r), ==, 0);
			ws_reader_free(&r);
			log_free(&l);
		}
		free(b.p);
	}
}

static void test_long_lengths(void)
{
	size_t n = 70000;
	uint8_t *payload = malloc(n);
	struct buf b = {0};
	struct log l = {0};
	uint8_t hdr[14];

	for (size_t i = 0; i < n; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	/* the writer picks 2, 4 or 10 header bytes (+4 with a mask) */
	CHECK_INT(ws_frame_header(hdr, 1, WS_OP_TEXT, 125, NULL), ==, 2);
	CHECK_INT(ws_frame_header(hdr, 1, WS_OP_TEXT, 126, NULL), ==, 4);
	CHECK_INT(hdr[1], ==, 126);
	CHECK_INT(ws_frame_header(hdr, 1, WS_OP_TEXT, 65535, NULL), ==, 4);
	CHECK_INT(ws_frame_header(hdr, 1, WS_OP_TEXT, 65536, NULL), ==, 10);
	CHECK_INT(hdr[1], ==, 127);
	CHECK_INT(hdr[7], ==, 1);
	CHECK_INT(ws_frame_header(hdr, 0, WS_OP_BINARY, 0x123456789aULL, MASK), ==, 14);
	CHECK_INT(hdr[0], ==, 0x02);
	CHECK_INT(hdr[1], ==, 0x80 | 127);
	CHECK_INT(hdr[5], ==, 0x12);
	CHECK_INT(hdr[9], ==, 0x9a);
	CHECK(!memcmp(hdr + 10, MASK, 4));

	for (int side = 0; side < 2; side++) {
		struct ws_reader r;
		int ret = 0, bad = 0;
		size_t cuts[] = {1, 2, 3, 5, 9, 10, 11, 13, 14, 15, 1000, 65536, 69999, 70013};

		b = (struct buf){0};
		put_frame(&b, 1, WS_OP_TEXT, payload, n, side == WS_SERVER);
		CHECK_INT(b.len, ==, n + (side == WS_SERVER ? 14 : 10));
		CHECK_INT(feed_all((enum ws_side)side, &b, &l, n, n), ==, 0);
		CHECK_INT(l.n, ==, 1);
		CHECK(l.n == 1 && l.ev[0].len == n && !memcmp(l.ev[0].data, payload, n));
		log_free(&l);
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			size_t cut = cuts[i] < b.len ? cuts[i] : b.len;

			ws_reader_init(&r, (enum ws_side)side, n, n);
			ret = ws_reader_feed(&r, b.p, cut, on_msg, &l);
			if (cut < b.len && ws_reader_held(&r) > cut + 256) {
				fprintf(stderr, "cut %zu: %zu held\n", cut, ws_reader_held(&r));
				bad++; /* holds what arrived, not what was announced */
			}
			ret |= ws_reader_feed(&r, b.p + cut, b.len - cut, on_msg, &l);
			if (ret || l.n != 1 || memcmp(l.ev[0].data, payload, n)) {
				fprintf(stderr, "cut %zu: %d %zu\n", cut, ret, l.n);
				bad++;
			}
			ws_reader_free(&r);
			log_free(&l);
		}
		CHECK_INT(bad, ==, 0);
		/* one byte over the limit */
		CHECK_INT(feed_all((enum ws_side)side, &b, &l, n - 1, n), ==, 1009);
		CHECK_INT(feed_all((enum ws_side)side, &b, &l, n, n - 1), ==, 1009);
		CHECK_INT(l.n, ==, 0);
		free(b.p);
	}
	free(payload);
}

static void test_masking(void)
{
	uint8_t data[10] = "abcdefghij", copy[10];

	memcpy(copy, data, 10);
	ws_mask(copy, 10, MASK, 0);
	CHECK_INT(copy[0], ==, 'a' ^ MASK[0]);
	CHECK_INT(copy[5], ==, 'f' ^ MASK[1]);
	ws_mask(copy, 3, MASK, 0);
	ws_mask(copy + 3, 7, MASK, 3); /* continuing at an offset */
	CHECK(!memcmp(copy, data, 10));
}

static void test_utf8_in_frames(void)
{
	struct buf b = {0};
	struct log l = {0};
	struct ws_reader r;

	/* invalid byte in the first fragment: caught before the message ends */
	put_frame(&b, 0, WS_OP_TEXT, "ok\xff", 3, 1);
	ws_reader_init(&r, WS_SERVER, 100, 100);
	CHECK_INT(ws_reader_feed(&r, b.p, b.len, on_msg, &l), ==, 1007);
	CHECK_INT(l.n, ==, 0);
	ws_reader_free(&r);
	free(b.p);
	/* a text that ends inside a character */
	b = (struct buf){0};
	put_frame(&b, 0, WS_OP_TEXT, "ok", 2, 1);
	put_frame(&b, 1, WS_OP_CONT, "\xe2\x82", 2, 1);
	CHECK_INT(feed_server(&b, &l), ==, 1007);
	CHECK_INT(l.n, ==, 0);
	free(b.p);
	/* the same bytes in a binary message are fine */
	b = (struct buf){0};
	put_frame(&b, 0, WS_OP_BINARY, "ok\xff", 3, 1);
	put_frame(&b, 1, WS_OP_CONT, "\xe2\x82", 2, 1);
	CHECK_INT(feed_server(&b, &l), ==, 0);
	CHECK_INT(l.n, ==, 1);
	log_free(&l);
	free(b.p);
	/* a surrogate split over two fragments */
	b = (struct buf){0};
	put_frame(&b, 0, WS_OP_TEXT, "\xed", 1, 1);
	put_frame(&b, 1, WS_OP_CONT, "\xa0\x80", 2, 1);
	CHECK_INT(feed_server(&b, &l), ==, 1007);
	free(b.p);
	log_free(&l);
}

static void test_close(void)
{
	uint8_t pl[125] = {0};
	int code;
	const char *reason;
	size_t rl;
	char longreason[300];

	CHECK_INT(ws_close_parse(pl, 0, &code, &reason, &rl), ==, 0);
	CHECK_INT(code, ==, 1005);
	CHECK_INT(ws_close_payload(pl, 1000, "bye"), ==, 5);
	CHECK_INT(ws_close_parse(pl, 5, &code, &reason, &rl), ==, 0);
	CHECK_INT(code, ==, 1000);
	CHECK_INT(rl, ==, 3);
	CHECK(!memcmp(reason, "bye", 3));
	CHECK_INT(ws_close_parse(pl, 1, &code, &reason, &rl), ==, 1002);
	{
		int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
		int good[] = {1000, 1001, 1002, 1003, 1007, 1008,
			      1009, 1010, 1011, 3000, 4001, 4999};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ws_close_payload(pl, bad[i], "");
			CHECK_INT(ws_close_parse(pl, 2, &code, &reason, &rl), ==, 1002);
		}
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			ws_close_payload(pl, good[i], "");
			CHECK_INT(ws_close_parse(pl, 2, &code, &reason, &rl), ==, 0);
			CHECK_INT(code, ==, good[i]);
		}
	}
	ws_close_payload(pl, 1000, "");
	pl[2] = 0xc0;
	pl[3] = 0xaf;
	CHECK_INT(ws_close_parse(pl, 4, &code, &reason, &rl), ==, 1002);
	/* a long reason is cut to 123 bytes, never inside a character */
	for (size_t i = 0; i + 2 < sizeof(longreason); i += 2) {
		longreason[i] = (char)0xc3;
		longreason[i + 1] = (char)0xa9;
	}
	longreason[sizeof(longreason) - 2] = 0;
	rl = ws_close_payload(pl, 4008, longreason);
	CHECK_INT(rl, <=, 125);
	CHECK_INT(rl, ==, 124); /* 61 two-byte characters after the code */
	CHECK_INT(ws_close_parse(pl, rl, &code, &reason, &rl), ==, 0);
	CHECK_INT(code, ==, 4008);
}

static void test_after_close_and_stop(void)
{
	struct buf b = {0};
	struct log l = {0};
	struct ws_reader r;

	/* nothing is accepted after a close frame, not even garbage */
	put_frame(&b, 1, WS_OP_CLOSE, "\x03\xe8", 2, 1);
	put_raw(&b, "\xff\xff\xff\xff", 4);
	CHECK_INT(feed_server(&b, &l), ==, 0);
	CHECK_INT(l.n, ==, 1);
	log_free(&l);
	free(b.p);
	/* a handler's nonzero return stops reading and comes back */
	b = (struct buf){0};
	put_frame(&b, 1, WS_OP_TEXT, "1", 1, 1);
	put_frame(&b, 1, WS_OP_TEXT, "2", 1, 1);
	put_frame(&b, 1, WS_OP_TEXT, "3", 1, 1);
	l.stop_after = 2;
	ws_reader_init(&r, WS_SERVER, 100, 100);
	CHECK_INT(ws_reader_feed(&r, b.p, b.len, on_msg, &l), ==, 77);
	CHECK_INT(l.n, ==, 2);
	ws_reader_free(&r);
	log_free(&l);
	free(b.p);
	/* held bytes: only while a message is partial */
	b = (struct buf){0};
	put_frame(&b, 0, WS_OP_TEXT, "abc", 3, 1);
	ws_reader_init(&r, WS_SERVER, 100, 100);
	CHECK_INT(ws_reader_feed(&r, b.p, b.len, on_msg, &l), ==, 0);
	CHECK_INT(ws_reader_held(&r), >, 0);
	free(b.p);
	b = (struct buf){0};
	put_frame(&b, 1, WS_OP_CONT, "d", 1, 1);
	CHECK_INT(ws_reader_feed(&r, b.p, b.len, on_msg, &l), ==, 0);
	CHECK_INT(ws_reader_held(&r), ==, 0);
	CHECK_INT(l.n, ==, 1);
	CHECK_STR((char *)l.ev[0].data, "abcd");
	ws_reader_free(&r);
	log_free(&l);
	free(b.p);
}

int main(void)
{
	test_simple();
	test_violations();
	test_sizes();
	test_limit_lowered_mid_message();
	test_fragmentation_and_splits();
	test_long_lengths();
	test_masking();
	test_utf8_in_frames();
	test_close();
	test_after_close_and_stop();
	return check_report();
}
