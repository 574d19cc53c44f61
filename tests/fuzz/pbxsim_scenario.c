/*
 * tests/fuzz/pbxsim_scenario.c - pbxsim's scenario files, extension ranges
 * and control commands on arbitrary input.
 *
 * The input is parsed as a scenario document; its "extensions" entries go
 * through the range parser (as extensions and as pickup groups) and the
 * hunt group parser, and every step's command is run
 * through the control command interpreter against a PBX without CSTA links.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim sim;
	struct sim *s = &sim;
	struct sbuf err, reply;
	uv_loop_t loop;

	memset(s, 0, sizeof(*s));
	s->quiet = true;
	s->o.edition = 3;
	model_init(&s->m);
	sbuf_init(&s->scratch);
	sbuf_init(&s->ev.body);
	sbuf_init(&err);
	sbuf_init(&reply);
	uv_loop_init(&loop);
	s->loop = &loop;
	sched_init(s);
	if (scenario_parse(&s->scen, (const char *)data, size, &err) == 0) {
		for (size_t i = 0; i < s->scen.next_ext; i++)
			model_add_ranges(&s->m, s->scen.ext_specs[i]);
		model_add_ranges(&s->m, "100-104");
		/* the same range lists as pickup groups (--pickup-group) and as
		 * hunt group specs (--hunt-group), next to two fixed groups the
		 * steps can call */
		for (size_t i = 0; i < s->scen.next_ext; i++) {
			const char *why;

			model_pickup_group(&s->m, s->scen.ext_specs[i]);
			model_hunt_group(&s->m, s->scen.ext_specs[i], &why);
		}
		{
			const char *why;

			model_hunt_group(&s->m, "200=parallel:100,101,102", &why);
			model_hunt_group(&s->m, "201=cyclic:102,103,104:1", &why);
		}
		for (size_t i = 0; i < s->scen.n; i++) {
			sbuf_reset(&reply);
			ctl_exec(s, s->scen.steps[i].cmd, &reply, true);
			uv_run(&loop, UV_RUN_NOWAIT);
		}
	}
	scenario_free(&s->scen);
	sched_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	model_free(&s->m);
	sbuf_free(&s->scratch);
	sbuf_free(&s->ev.body);
	sbuf_free(&err);
	sbuf_free(&reply);
	return 0;
}
