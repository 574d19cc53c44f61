/*
 * core/server.h - the host's "server about itself" table (ucs/server.h),
 * and what it needs from main.c.
 *
 * main.c owns the running configuration, the plugin set and the process's
 * lifecycle; this module turns them into the table plugins see. It also
 * owns the bus type "server.event": from core_server_start() until
 * core_server_stop() every log event is posted on the bus.
 */
#ifndef CORE_SERVER_H
#define CORE_SERVER_H

#include <stddef.h>

#include <ucs/server.h>

struct core_plugins;
struct core_config;

struct core_server_hooks {
	const struct core_plugins *(*plugins)(void);
	const struct core_config *(*config)(void);
	const char *(*config_file)(void);
	/* Validate (and for apply: write and reload) a candidate operator
	 * file; messages go to the log, which the caller captures. */
	int (*check)(const char *json, size_t len);
	int (*apply)(const char *json, size_t len);
	int (*restart)(void);
};

extern const struct ucs_server_api core_server_api;

void core_server_set_hooks(const struct core_server_hooks *hooks);
/* Registers "server.event" and starts publishing log events; -errno. */
int core_server_start(void);
void core_server_stop(void);

#endif
