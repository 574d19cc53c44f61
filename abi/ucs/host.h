/*
 * ucs/host.h - everything the host offers a plugin, in one vtable.
 *
 * init() receives a pointer to this struct; it stays valid until fini()
 * returns. Each member points at an interface table that begins with its own
 * size and only grows at its end, so a plugin that uses a slot added in a
 * later minor checks the table's size first (UCS_HAS_SLOT). The struct ucs_plugin
 * handle passed to init() is the plugin's identity in every call that
 * creates something: the host records what each plugin owns and revokes it
 * when the plugin stops.
 *
 * Threads: the host calls a plugin only on the loop thread, and a plugin may
 * call the host only from the loop thread - except where an interface says
 * otherwise (bus messages and post, which work from any thread).
 */
#ifndef UCS_HOST_H
#define UCS_HOST_H

#include <stddef.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_log_api;
struct ucs_timer_api;
struct ucs_work_api;
struct ucs_net_api;
struct ucs_bus_api;
struct ucs_service_api;
struct ucs_cfg_api;
struct ucs_server_api;

/* Facts about the running server. Paths are absolute. */
struct ucs_env_api {
	uint32_t size;
	const char *(*server_name)(void);
	const char *(*presence_domain)(void);
	const char *(*state_dir)(void);
	const char *(*config_dir)(void);
	const char *(*plugin_name)(const struct ucs_plugin *self);
	const char *(*version)(void); /* ucsd's own version string */
};

struct ucs_host {
	uint32_t size;
	uint16_t abi_major;
	uint16_t abi_minor;
	const struct ucs_log_api *log;
	const struct ucs_timer_api *timer;
	const struct ucs_work_api *work;
	const struct ucs_net_api *net;
	const struct ucs_bus_api *bus;
	const struct ucs_service_api *service;
	const struct ucs_cfg_api *cfg;
	const struct ucs_env_api *env;
	/* ABI 1.1: the server about itself (ucs/server.h). */
	const struct ucs_server_api *server;
};

/* True when interface table `api` (a pointer to a table that starts with its
 * size) is new enough to contain `slot`. */
#define UCS_HAS_SLOT(api, type, slot)                                                        \
	((api) != NULL && (api)->size >= offsetof(type, slot) + sizeof(((type *)0)->slot) && \
	 (api)->slot != NULL)

#ifdef __cplusplus
}
#endif

#endif
