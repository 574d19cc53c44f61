/*
 * ucs/server.h - the server about itself: what the administration sees and
 * does (the reference product's status monitor, server events, plugin list,
 * configuration and restart).
 *
 * The host offers this table as host->server (ABI 1.1; check with
 * UCS_HAS_SLOT). Only an administration plugin has a reason to use it:
 * everything here is about the whole server, not about one plugin.
 *
 * Server events. Every log line of every plugin and of the core is an event
 * with a level (ucs/log.h), the writer's tag and a sequence number that only
 * grows. The last UCS_SERVER_EVENTS_KEPT events are kept in memory:
 * events() replays them (oldest first, those after a sequence number), and
 * every new one is also published on the bus as "server.event" (struct
 * ucs_server_event, no key; delivered on the loop thread like any message,
 * so a subscriber never runs inside a logging call). Events logged by the
 * subscriber while it handles one are published too; it must not log per
 * event it receives.
 *
 * Plugin status. plugins() describes every plugin the loader knows, as a
 * JSON array; a running plugin that fills the descriptor's status slot adds
 * its own counters ("status" member).
 *
 * Configuration. config() returns the effective configuration (built-in
 * defaults, operator file, conf.d drop-ins, merged) as JSON, with secrets
 * replaced by "********" (members named password, password_hash, secret,
 * token, or ending in _password). check() validates a candidate operator
 * file - the core's keys and every plugin's section, as --check-config does
 * - without applying it; apply() validates it, writes it atomically as the
 * operator file (the previous one kept as FILE.bak) and reloads with SIGHUP
 * semantics: plugins whose reload refuses keep their previous settings. err
 * gets "file:line:column: message" lines (snprintf rules).
 *
 * restart() stops every plugin in order, then runs the same ucsd again
 * with the same arguments (exec), after the reply that asked for it had
 * time to leave: it returns 0 at once and the restart happens later.
 */
#ifndef UCS_SERVER_H
#define UCS_SERVER_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_SERVER_EVENT_TYPE	"server.event"
#define UCS_SERVER_EVENTS_KEPT	1024
#define UCS_SERVER_EVENT_TEXT	1024

struct ucs_server_event {
	uint32_t size;
	int32_t level; /* enum ucs_log_level */
	uint64_t seq;  /* 1, 2, ...: grows with every event since start */
	int64_t time_ms; /* Unix ms */
	char tag[32];	 /* "core", or the plugin's name */
	char text[UCS_SERVER_EVENT_TEXT];
};

typedef void(ucs_server_event_h)(const struct ucs_server_event *ev, void *arg);

struct ucs_server_api {
	uint32_t size;
	/* Unix ms of the start, and this process's pid. */
	int64_t (*started_ms)(void);
	/* Kept events after seq (0: all), oldest first; the count. */
	size_t (*events)(uint64_t after_seq, ucs_server_event_h *h, void *arg);
	/* JSON array: [{"name","version","license","description","file","state",
	 * "critical","provides":[..],"requires":[..],"status":{..}}] where state
	 * is "running", "failed", "disabled", "refused" or "stopped" (snprintf
	 * rules). */
	int (*plugins)(char *buf, size_t cap);
	/* The effective configuration, secrets replaced (snprintf rules). */
	int (*config)(char *buf, size_t cap);
	/* The operator file's path ("" when none is in use and apply() would
	 * create the default one). */
	const char *(*config_file)(void);
	int (*check)(const char *json, size_t len, char *err, size_t errcap);
	int (*apply)(const char *json, size_t len, char *err, size_t errcap);
	int (*restart)(void);
};

#ifdef __cplusplus
}
#endif

#endif
