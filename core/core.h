/*
 * core/core.h - what every part of the core shares: the loop, the record of
 * a loaded plugin, and the resource ledger.
 *
 * The ledger is how the host keeps its promise that a plugin cannot leak
 * past its stop. Every object the host creates on a plugin's behalf (timer,
 * listener, connection, UDP socket, resolver request, work item,
 * subscription, server, pending request, service, bus type) embeds a struct
 * core_res and is entered into its owner's ledger when created and removed
 * when the plugin releases it. When a plugin stops, the host walks the
 * ledger newest first and calls each entry's revoke(), which must release the
 * object as if the plugin had closed it (without calling the plugin back)
 * and remove it from the ledger. Objects the core creates for itself are
 * owned by core_self(), a record with the name "core".
 */
#ifndef CORE_CORE_H
#define CORE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <ucs/ucs.h>

struct core_config;

struct core_res {
	struct core_res *prev, *next;
	struct ucs_plugin *owner;
	const char *kind; /* "timer", "listener", ... for log lines */
	void (*revoke)(struct core_res *res);
};

enum core_plugin_state {
	CORE_PLUGIN_LOADED = 0, /* descriptor accepted, not initialised */
	CORE_PLUGIN_INITIALISED,
	CORE_PLUGIN_STARTED,
	CORE_PLUGIN_STOPPED,
	CORE_PLUGIN_FAILED,
};

/* The host's record of one plugin (or of the core itself). */
struct ucs_plugin {
	char *name;
	char *path; /* the .so, NULL for the core and built-in test plugins */
	void *dl;   /* dlopen handle, NULL when none */
	const struct ucs_plugin_desc *desc;
	void *state; /* what init() returned */
	enum core_plugin_state lifecycle;
	bool optional, critical;
	struct core_res ledger; /* list head; ledger.next is the oldest entry */
	size_t ledger_count;
	const struct ucs_cfg *section; /* current config section */
	unsigned work_inflight;	       /* revoked jobs still running in the pool */
	/* The configuration that owns `section`: after a SIGHUP a plugin that
	 * has no reload() or refused its new section keeps its old one, so
	 * that configuration lives on until no plugin points into it. */
	const struct core_config *section_owner;
	bool zombie;		 /* pool jobs outlived its stop: never finalised nor unloaded */
	struct ucs_plugin *next; /* in load order */
};

uv_loop_t *core_loop(void);
struct ucs_plugin *core_self(void);
const char *core_plugin_name(const struct ucs_plugin *p);

void core_ledger_init(struct ucs_plugin *p);
void core_ledger_add(struct ucs_plugin *owner, struct core_res *res, const char *kind,
		     void (*revoke)(struct core_res *res));
void core_ledger_remove(struct core_res *res);
/* Revokes everything the plugin still owns, newest first; returns how many. */
size_t core_ledger_revoke_all(struct ucs_plugin *p);

/* Run the loop until nothing but the handles the core owns is left, at most
 * max_rounds iterations: lets close callbacks of revoked handles finish. */
void core_loop_drain(unsigned max_rounds);

/* Allocation helpers that abort on exhaustion: a server that cannot get a
 * few hundred bytes cannot log either, and pretending otherwise spreads
 * half-handled -ENOMEM paths through every caller. */
void *core_alloc(size_t size); /* zeroed */
char *core_strdup(const char *s);

#define CORE_ARRAY_SIZE(a)		     (sizeof(a) / sizeof((a)[0]))
#define CORE_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
