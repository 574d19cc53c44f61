/*
 * tests/fuzz/pbxsim_csta.c - pbxsim's whole CSTA request path on arbitrary
 * documents: XML reading, every service, the call model and the events,
 * on a link whose output is discarded (no sockets).
 *
 * The input is a list of documents separated by form feeds (\f); each is
 * framed with its own invoke id and fed to one link of a PBX with
 * extensions 100-109 that monitors nothing at first (the documents can
 * start monitors, make calls, transfer, ...). Control commands can be
 * mixed in: a piece starting with '!' is run as a control command.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "xmlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim sim;
	struct sim *s = &sim;
	uv_loop_t loop;
	struct link *l;
	struct sbuf reply, fr;
	size_t start = 0;
	unsigned n = 0;

	xmsg_global_init(); /* idempotent: quiet libxml2 */
	memset(s, 0, sizeof(*s));
	s->quiet = true;
	s->o.edition = 3;
	s->o.noanswer_s = 0;
	s->o.require_session = size > 0 && (data[0] & 1);
	model_init(&s->m);
	model_add_ranges(&s->m, "100-109");
	sbuf_init(&s->scratch);
	sbuf_init(&s->ev.body);
	uv_loop_init(&loop);
	s->loop = &loop;
	sched_init(s);
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->sim = s;
	l->sink = true;
	frame_rd_init(&l->rd, 64 * 1024);
	sbuf_init(&l->out);
	sbuf_init(&l->inflight);
	s->csta.links = l;
	sbuf_init(&reply);
	sbuf_init(&fr);
	for (size_t i = 0; i <= size; i++) {
		char inv[5];

		if (i < size && data[i] != '\f')
			continue;
		if (i > start && data[start] == '!') {
			char cmd[256];
			size_t len =
				i - start - 1 < sizeof(cmd) - 1 ? i - start - 1 : sizeof(cmd) - 1;

			memcpy(cmd, data + start + 1, len);
			cmd[len] = '\0';
			sbuf_reset(&reply);
			ctl_exec(s, cmd, &reply, true);
		} else {
			snprintf(inv, sizeof(inv), "%04u", n++ % 9998 + 1);
			sbuf_reset(&fr);
			frame_write(&fr, inv, (const char *)data + start, i - start);
			link_input(l, fr.p, fr.len);
		}
		start = i + 1;
		/* Due timers (no-answer forwarding at 0 s, failed outside calls). */
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	sbuf_free(&reply);
	sbuf_free(&fr);
	while (l->mons)
		monitor_free(s, l->mons);
	frame_rd_free(&l->rd);
	sbuf_free(&l->out);
	sbuf_free(&l->inflight);
	free(l);
	s->csta.links = NULL;
	sched_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	model_free(&s->m);
	sbuf_free(&s->scratch);
	sbuf_free(&s->ev.body);
	return 0;
}
