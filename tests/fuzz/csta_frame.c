/*
 * tests/fuzz/csta_frame.c - the CSTA byte stream as the PBX sends it: the
 * frame reader of plugins/line-csta, fed the input in pieces whose sizes
 * the input itself chooses, must cut whole frames only, never hand out a
 * document beyond max_frame_bytes, and decode each one without reading
 * outside it (the driver's csta_decode on every frame, as on the wire).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csta_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAME 4096

static int on_frame(void *arg, int invoke, const char *xml, size_t len)
{
	struct csta_msg m;
	char *copy;

	(*(size_t *)arg)++;
	if (len + 8 > MAX_FRAME || invoke > 9999)
		abort();
	/* an exact-size copy: ASan sees any read beyond the document */
	copy = malloc(len ? len : 1);
	if (!copy)
		return -1;
	memcpy(copy, xml, len);
	(void)csta_decode(copy, len, &m);
	free(copy);
	if (m.snap_count > CSTA_SNAP_MAX || m.snap_count > m.snap_cap ||
	    !memchr(m.call, 0, sizeof(m.call)) || !memchr(m.calling, 0, sizeof(m.calling)) ||
	    !memchr(m.error, 0, sizeof(m.error)))
		abort();
	csta_msg_free(&m);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csta_reader r;
	size_t frames = 0;
	uint8_t step;

	if (size < 1)
		return 0;
	/* the first byte picks the chunk size (1..256) */
	step = data[0];
	data++;
	size--;
	csta_codec_init();
	csta_reader_init(&r, MAX_FRAME);
	while (size > 0) {
		size_t n = (size_t)step + 1 < size ? (size_t)step + 1 : size;

		if (csta_reader_feed(&r, data, n, on_frame, &frames) != 0)
			break;
		if (r.len > MAX_FRAME)
			abort();
		data += n;
		size -= n;
	}
	csta_reader_free(&r);
	return 0;
}
