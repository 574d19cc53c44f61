/*
 * ucs/log.h - the server's event log, as a plugin writes to it.
 *
 * Every line carries a level and the tag of the plugin that wrote it, so an
 * operator can tell which part of the server speaks. The levels are those of
 * the reference product's event protocol: errors (something failed and needs
 * an operator), warnings (something is off but the server copes),
 * information (what an operator wants to see in a healthy server: a line
 * opened, a plugin started) and debug (what a developer wants). The core
 * decides where lines go (stderr, a daily log file with size limit and
 * retention, an in-memory ring of recent events for the admin interface);
 * a plugin only says what happened.
 *
 * Log calls are cheap when the level is filtered out; check enabled() before
 * building an expensive message.
 */
#ifndef UCS_LOG_H
#define UCS_LOG_H

#include <stdarg.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ucs_log_level {
	UCS_LOG_ERROR = 0,
	UCS_LOG_WARNING = 1,
	UCS_LOG_INFO = 2,
	UCS_LOG_DEBUG = 3,
};

struct ucs_log_api {
	uint32_t size;
	void (*log)(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
		UCS_PRINTF(3, 4);
	void (*logv)(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, va_list ap)
		UCS_PRINTF(3, 0);
	int (*enabled)(struct ucs_plugin *self, enum ucs_log_level level);
};

#ifdef __cplusplus
}
#endif

#endif
