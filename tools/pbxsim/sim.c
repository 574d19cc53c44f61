/* tools/pbxsim/sim.c - logging and the orderly stop of the simulator (see sim.h). */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Whether xml[i] starts a <password> or <passWord> start tag (any prefix,
 * any attributes); *end is then the index after its '>'. */
static bool password_tag(const char *xml, size_t len, size_t i, size_t *end)
{
	size_t j = i + 1, name;

	if (xml[i] != '<' || j >= len || xml[j] == '/')
		return false;
	name = j;
	while (j < len && xml[j] != '>' && xml[j] != ' ' && xml[j] != '\t' && xml[j] != '/') {
		if (xml[j] == ':')
			name = j + 1; /* after a namespace prefix */
		j++;
	}
	if (j - name != 8 || strncasecmp(xml + name, "password", 8))
		return false;
	while (j < len && xml[j] != '>')
		j++;
	if (j >= len || xml[j - 1] == '/')
		return false;
	*end = j + 1;
	return true;
}

/* One line per document: line breaks become spaces, and what a password
 * element holds is replaced by "***" (logs must not carry secrets). */
void sim_log_doc(struct sim *s, char dir, const char invoke[4], const char *xml, size_t len)
{
	struct sbuf line;
	size_t i = 0;

	if (!s->o.verbose)
		return;
	sbuf_init(&line);
	sbuf_printf(&line, "%c %.4s ", dir, invoke);
	while (i < len) {
		size_t end;

		if (password_tag(xml, len, i, &end)) {
			sbuf_add(&line, xml + i, end - i);
			sbuf_puts(&line, "***");
			i = end;
			while (i < len && xml[i] != '<')
				i++;
			continue;
		}
		sbuf_add(&line, xml[i] == '\n' || xml[i] == '\r' ? " " : xml + i, 1);
		i++;
	}
	sbuf_add(&line, "\n", 1);
	if (sbuf_ok(&line))
		fwrite(line.p, 1, line.len, stderr);
	sbuf_free(&line);
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
