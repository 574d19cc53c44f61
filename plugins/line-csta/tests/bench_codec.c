/*
 * plugins/line-csta/tests/bench_codec.c - how many CSTA documents per second
 * the driver's codec decodes on one core: the events of a typical call
 * (Delivered, Established, ConnectionCleared, CallCleared, from tests/docs/)
 * framed into one stream and cut by the frame reader, every frame decoded,
 * and the encoding of a MakeCall. Prints "bench NAME VALUE UNIT" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta_codec.h"
#include "csta_docs.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t decoded;

static int on_frame(void *arg, int invoke, const char *xml, size_t len)
{
	struct csta_msg m;

	(void)arg, (void)invoke;
	if (csta_decode(xml, len, &m) == 0 && csta_type_is_event(m.type))
		decoded++;
	csta_msg_free(&m);
	return 0;
}

int main(void)
{
	static const char *const names[] = {"delivered.xml", "established.xml",
					    "connection_cleared.xml", "call_cleared.xml"};
	const int rounds = 20000;
	uint8_t *stream = NULL;
	size_t len = 0, cap = 0;
	struct csta_reader r;
	double t0, t;
	char mem[4096];
	long encoded = 0;

	csta_codec_init();
	for (size_t i = 0; i < 4; i++) {
		size_t n;
		char *doc = csta_doc_load(names[i], &n);

		if (len + n + 8 > cap) {
			cap = (len + n + 8) * 2;
			stream = realloc(stream, cap);
		}
		csta_header_write(stream + len, n, 9999);
		memcpy(stream + len + 8, doc, n);
		len += n + 8;
		free(doc);
	}
	csta_reader_init(&r, 65536);
	t0 = now_s();
	for (int i = 0; i < rounds; i++)
		/* uneven chunks, as TCP delivers them */
		for (size_t off = 0; off < len; off += 700)
			csta_reader_feed(&r, stream + off, off + 700 > len ? len - off : 700,
					 on_frame, NULL);
	t = now_s() - t0;
	csta_reader_free(&r);
	if (decoded != (size_t)rounds * 4) {
		fprintf(stderr, "decoded %zu of %d\n", decoded, rounds * 4);
		return 1;
	}
	printf("bench csta_decode_events %.0f docs/s\n", (double)decoded / t);
	printf("bench csta_decode_bytes %.1f MB/s\n", (double)len * rounds / t / 1e6);
	t0 = now_s();
	for (int i = 0; i < rounds * 4; i++) {
		struct csta_buf b;
		struct csta_req_args a = {
			.req = CSTA_R_MAKE_CALL, .device = "120", .number = "0891234567"};

		csta_buf_init(&b, mem, sizeof(mem));
		if (csta_encode_request(&b, &a) > 0)
			encoded++;
	}
	t = now_s() - t0;
	printf("bench csta_encode_makecall %.0f docs/s\n", (double)encoded / t);
	free(stream);
	return 0;
}
