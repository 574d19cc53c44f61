/*
 * tools/pbxsim/frame.h - the CSTA-over-TCP framing (ECMA TR/88 style).
 *
 * Every document travels behind an 8-byte header: a 4-byte big-endian
 * length that counts the whole frame (header and XML), then 4 ASCII
 * characters of invoke id. A request carries the id its sender chose, the
 * response repeats it, unsolicited events use "9999". The reader below
 * accumulates bytes from the socket and hands out complete frames; a header
 * that announces less than the header itself or more than the size limit
 * is a framing error that ends the link (the stream cannot be resynchronised).
 */
#ifndef PBXSIM_FRAME_H
#define PBXSIM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define FRAME_HDR	  8
/* The largest frame pbxsim accepts from a client. */
#define FRAME_MAX_DEFAULT (1024 * 1024)

struct frame_rd {
	struct sbuf in;
	size_t max;
};

/* Called once per complete frame; invoke is 4 chars, xml is NUL-terminated.
 * A negative return stops feeding and is returned by frame_feed(). */
typedef int (*frame_cb)(void *ud, const char invoke[4], const char *xml, size_t len);

void frame_rd_init(struct frame_rd *r, size_t max);
void frame_rd_free(struct frame_rd *r);
/* 0, -EPROTO on a bad header, -ENOMEM, or the callback's negative value. */
int frame_feed(struct frame_rd *r, const void *data, size_t n, frame_cb cb, void *ud);
/* Bytes of an incomplete frame waiting for more input. */
size_t frame_pending(const struct frame_rd *r);
/* Appends header + xml to out. invoke is 4 chars. */
void frame_write(struct sbuf *out, const char invoke[4], const char *xml, size_t len);

#endif
