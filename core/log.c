/*
 * core/log.c - the server's event log (see log.h).
 * Interim version: stderr only; the full file/rotation/ring version replaces it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum ucs_log_level log_level = UCS_LOG_INFO;

void core_log_init(void) {}
int core_log_configure(const struct core_log_settings *s) { log_level = s->level; return 0; }
bool core_log_enabled(enum ucs_log_level level) { return level <= log_level; }
enum ucs_log_level core_log_level(void) { return log_level; }
static const char *const names[] = {"error", "warning", "info", "debug"};
const char *core_log_level_name(enum ucs_log_level l) { return (unsigned)l < 4 ? names[l] : "?"; }
int core_log_level_parse(const char *name, enum ucs_log_level *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) { *out = (enum ucs_log_level)i; return 0; }
	return -EINVAL;
}
void core_logv(const char *tag, enum ucs_log_level level, const char *fmt, va_list ap)
{
	if (!core_log_enabled(level))
		return;
	fprintf(stderr, "%s [%s] ", core_log_level_name(level), tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}
void core_log(const char *tag, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	core_logv(tag, level, fmt, ap);
	va_end(ap);
}
size_t core_log_recent(void (*h)(const struct core_log_event *, void *), void *arg) { (void)h; (void)arg; return 0; }
void core_log_close(void) {}
