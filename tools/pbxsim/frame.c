/* tools/pbxsim/frame.c - the framing reader and writer (see frame.h). */
#include "frame.h"

#include <errno.h>
#include <string.h>

void frame_rd_init(struct frame_rd *r, size_t max)
{
	sbuf_init(&r->in);
	r->max = max;
}

void frame_rd_free(struct frame_rd *r)
{
	sbuf_free(&r->in);
}

size_t frame_pending(const struct frame_rd *r)
{
	return r->in.len;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int frame_feed(struct frame_rd *r, const void *data, size_t n, frame_cb cb, void *ud)
{
	size_t off = 0;
	int err = 0;

	sbuf_add(&r->in, data, n);
	if (!sbuf_ok(&r->in))
		return -ENOMEM;
	while (r->in.len - off >= FRAME_HDR) {
		const unsigned char *h = (const unsigned char *)r->in.p + off;
		uint32_t flen = be32(h);
		char invoke[4];
		char save;

		if (flen < FRAME_HDR || flen > r->max) {
			err = -EPROTO;
			break;
		}
		for (int i = 0; i < 4; i++) {
			if (h[4 + i] < 0x20 || h[4 + i] > 0x7e) {
				err = -EPROTO;
				goto out;
			}
		}
		if (r->in.len - off < flen)
			break;
		memcpy(invoke, h + 4, 4);
		/* NUL-terminate the document in place for the parser. */
		save = r->in.p[off + flen];
		r->in.p[off + flen] = '\0';
		err = cb(ud, invoke, r->in.p + off + FRAME_HDR, flen - FRAME_HDR);
		r->in.p[off + flen] = save;
		off += flen;
		if (err < 0)
			break;
	}
out:
	sbuf_consume(&r->in, off);
	return err;
}

void frame_write(struct sbuf *out, const char invoke[4], const char *xml, size_t len)
{
	uint32_t flen = (uint32_t)(len + FRAME_HDR);
	unsigned char h[FRAME_HDR] = {
		(unsigned char)(flen >> 24),
		(unsigned char)(flen >> 16),
		(unsigned char)(flen >> 8),
		(unsigned char)flen,
	};

	memcpy(h + 4, invoke, 4);
	sbuf_add(out, h, sizeof(h));
	sbuf_add(out, xml, len);
}
