/* tools/pbxsim/sim.c - logging and the orderly stop of the simulator (see sim.h). */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>

void sim_log(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->quiet)
		return;
	fputs("pbxsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void sim_log_doc(struct sim *s, char dir, const char invoke[4], const char *xml, size_t len)
{
	if (s->o.verbose)
		fprintf(stderr, "%c %.4s %.*s\n", dir, invoke, (int)len, xml);
}

void sim_session_ready(struct sim *s)
{
	scenario_start(s);
}

void sim_stop(struct sim *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	csta_close(s);
	control_close(s);
	load_close(s);
	sched_close(s);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
}
