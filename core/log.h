/*
 * core/log.h - the server's event log.
 *
 * One line per event: time, level, tag (the plugin, or "core"), text. Lines
 * go to stderr and/or to a log directory. In the directory the current file
 * is ucsd-YYYYMMDD.log; when it would pass log.max_size_mb a new one is
 * started (ucsd-YYYYMMDD.1.log, .2, ...), at local midnight a new day's file
 * begins, and files older than log.keep_days days are deleted (0 keeps
 * them all) - the reference product's "Events" settings. The last
 * CORE_LOG_RING_SIZE lines are also kept in memory for the admin interface.
 *
 * Logging never fails the caller: if the directory becomes unwritable the
 * line still reaches stderr and the ring, and one warning says so.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <ucs/log.h>

#define CORE_LOG_RING_SIZE 1024
#define CORE_LOG_LINE_MAX  2048

struct core_log_settings {
	enum ucs_log_level level;
	const char *dir;      /* NULL or "": no files */
	uint32_t max_size_mb; /* 0: no size limit */
	uint32_t keep_days;   /* 0: keep forever */
	bool to_stderr;
};

struct core_log_event {
	uint64_t seq;	      /* 1, 2, ... since the process started */
	struct timespec when; /* CLOCK_REALTIME */
	enum ucs_log_level level;
	char tag[32];
	char text[CORE_LOG_LINE_MAX];
};

/* Starts logging to stderr at level info; safe to call before anything else. */
void core_log_init(void);
/* Applies settings (again on SIGHUP). A directory that cannot be created or
 * written is reported and files are switched off; returns 0 or -errno. */
int core_log_configure(const struct core_log_settings *settings);
void core_log(const char *tag, enum ucs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void core_logv(const char *tag, enum ucs_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
bool core_log_enabled(enum ucs_log_level level);
enum ucs_log_level core_log_level(void);
/* Parses "error", "warning", "info", "debug"; -EINVAL otherwise. */
int core_log_level_parse(const char *name, enum ucs_log_level *out);
const char *core_log_level_name(enum ucs_log_level level);
/* Calls h for the retained events, oldest first; returns how many. */
size_t core_log_recent(void (*h)(const struct core_log_event *ev, void *arg), void *arg);
void core_log_close(void);
/*
 * Live events: h is called for every event after it was stored and written,
 * on the logging thread, under the log's lock - so events reach h in
 * sequence order, and after core_log_set_sink(NULL) returns h runs no more.
 * h must not log (it would wait for the lock it holds) and must be quick:
 * the server events build a bus message and post it (lock-free).
 */
void core_log_set_sink(void (*h)(const struct core_log_event *ev));
/*
 * Capture: while active on this thread, every line this thread logs at
 * error or warning level is also appended to buf ("text\n" each, cut at
 * cap). For validating a configuration on request and returning what the
 * validator said. Returns the previous capture's state to restore.
 */
struct core_log_capture {
	char *buf;
	size_t cap, len;
	unsigned errors;
};
struct core_log_capture *core_log_capture(struct core_log_capture *c);
/* Test hook: the wall clock (seconds) comes from now() instead of time(), so
 * tests can cross midnight and age files; NULL restores time(). */
void core_log_set_clock(time_t (*now)(void));

#endif
