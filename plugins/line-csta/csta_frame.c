/*
 * plugins/line-csta/csta_frame.c - the 8-byte CSTA frame header and the
 * incremental reader that cuts a TCP byte stream into documents (see
 * csta_codec.h for the format and why a bad header drops the link).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csta_codec.h"

int csta_header_parse(const uint8_t hdr[CSTA_HEADER_BYTES], size_t max_frame, size_t *total,
		      int *invoke)
{
	uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
		       (uint32_t)hdr[3];
	int id = 0;

	for (int i = 4; i < 8; i++) {
		if (hdr[i] < 0x20 || hdr[i] > 0x7e)
			return -EPROTO;
		if (id >= 0 && hdr[i] >= '0' && hdr[i] <= '9')
			id = id * 10 + (hdr[i] - '0');
		else
			id = -1;
	}
	if (len < CSTA_HEADER_BYTES)
		return -EPROTO;
	if (len > max_frame)
		return -EMSGSIZE;
	*total = len;
	*invoke = id;
	return 0;
}

void csta_header_write(uint8_t hdr[CSTA_HEADER_BYTES], size_t xml_len, int invoke)
{
	uint32_t len = (uint32_t)(xml_len + CSTA_HEADER_BYTES);

	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	invoke = invoke < 0 ? 0 : invoke % 10000;
	for (int i = 7; i >= 4; i--) {
		hdr[i] = (uint8_t)('0' + invoke % 10);
		invoke /= 10;
	}
}

void csta_reader_init(struct csta_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame;
}

void csta_reader_reset(struct csta_reader *r)
{
	r->len = 0;
}

void csta_reader_free(struct csta_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* Moves input into the partial frame until it holds want bytes or the input
 * runs out (*data and *len advance past what it took); the buffer never grows
 * beyond one frame. */
static int reader_fill(struct csta_reader *r, size_t want, const uint8_t **data, size_t *len)
{
	size_t take = want - r->len;

	if (take > *len)
		take = *len;
	if (r->len + take > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		uint8_t *p;

		while (cap < r->len + take)
			cap *= 2;
		p = realloc(r->buf, cap);
		if (!p)
			return -ENOMEM;
		r->buf = p;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, *data, take);
	r->len += take;
	*data += take;
	*len -= take;
	return 0;
}

int csta_reader_feed(struct csta_reader *r, const uint8_t *data, size_t len, csta_frame_h *h,
		     void *arg)
{
	int err = 0;

	while (len > 0) {
		size_t total, take;
		int invoke;

		/* Complete the header first, then exactly the body it announces. */
		if (r->len < CSTA_HEADER_BYTES) {
			err = reader_fill(r, CSTA_HEADER_BYTES, &data, &len);
			if (err)
				goto out;
			if (r->len < CSTA_HEADER_BYTES)
				break;
		}
		err = csta_header_parse(r->buf, r->max_frame, &total, &invoke);
		if (err)
			goto out;
		/* A whole frame in the input and nothing buffered: no copy. */
		if (r->len == CSTA_HEADER_BYTES && len >= total - CSTA_HEADER_BYTES) {
			take = total - CSTA_HEADER_BYTES;
			r->len = 0;
			err = h(arg, invoke, (const char *)data, take);
			if (err < 0)
				goto out;
			err = 0;
			data += take;
			len -= take;
			continue;
		}
		err = reader_fill(r, total, &data, &len);
		if (err)
			goto out;
		if (r->len == total) {
			r->len = 0;
			err = h(arg, invoke, (const char *)r->buf + CSTA_HEADER_BYTES,
				total - CSTA_HEADER_BYTES);
			if (err < 0)
				goto out;
			err = 0;
		}
	}
out:
	return err;
}
