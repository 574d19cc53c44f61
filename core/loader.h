/*
 * core/loader.h - finding, checking, ordering and running plugins.
 *
 * The loader turns a directory of NAME.so files into a running, ordered set
 * of plugins and back:
 *
 *   scan      dlopen every NAME.so the operator allows (plugins.enabled /
 *             plugins.disabled), with RTLD_NOW | RTLD_LOCAL, find the one
 *             exported descriptor, and check ABI major ==, minor <=, the
 *             descriptor size and its fields. A refused file gets one log
 *             line (and a place in `refused`, for --list-plugins) naming
 *             the file, what it was built for and what the host offers.
 *   order     sort by requires/provides so every provider comes before the
 *             plugins that need its capability. A plugin whose capability
 *             has no provider, or that is part of a cycle, cannot run: it
 *             is refused with a line naming the plugins involved.
 *   start     init() every plugin in order, then start() every plugin in
 *             order. A failure is logged; the plugin and everything that
 *             depends on it are unwound exactly (what had been started is
 *             stopped, what had been initialised is finalised, everything
 *             they owned is revoked); the server runs on - unless the plugin
 *             is critical, in which case everything is unwound and start
 *             fails.
 *   stop      stop() in reverse order, revoke what each still owns, wait
 *             (bounded) for its thread-pool jobs, fini().
 *
 * Failure severity: a plugin in plugins.critical stops startup; one in
 * plugins.optional is reported as a warning; any other is an error but the
 * server runs on without it.
 */
#ifndef CORE_LOADER_H
#define CORE_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

struct core_config;

struct core_refusal {
	char *path; /* file, or plugin name */
	char *reason;
	struct core_refusal *next;
};

struct core_name_list {
	const char *const *names;
	size_t count;
};

struct core_plugin_policy {
	struct core_name_list enabled; /* empty: every NAME.so in the directory */
	struct core_name_list disabled;
	struct core_name_list optional;
	struct core_name_list critical;
};

struct core_plugins {
	struct ucs_plugin *head; /* in start order after core_loader_order() */
	size_t count;
	struct core_refusal *refused; /* in the order found */
	/* Descriptors the scan loaded objects through (/proc/self/fd/N): all
	 * stay open until the scan ends, so no name is reused within it. */
	int *scan_fds;
	size_t n_scan_fds, cap_scan_fds;
};

void core_loader_init(struct core_plugins *set);
/* Adds the plugins of dir (and records refusals). -ENOENT when dir cannot
 * be read. */
int core_loader_scan(struct core_plugins *set, const char *dir,
		     const struct core_plugin_policy *policy);
/* Adds one plugin from a descriptor already in memory (tests, static builds). */
int core_loader_add(struct core_plugins *set, const struct ucs_plugin_desc *desc, const char *path,
		    const struct core_plugin_policy *policy);
/* Returns -ELOOP/-ENOENT when a critical plugin cannot be ordered. */
int core_loader_order(struct core_plugins *set);
/* Validates every plugin's config section; -EINVAL after logging errors. */
int core_loader_validate(struct core_plugins *set, struct core_config *cfg);
/* Points every plugin at its (validated) section in cfg. */
void core_loader_bind_config(struct core_plugins *set, struct core_config *cfg);
/* init + start; -ECANCELED when a critical plugin failed (all unwound). */
int core_loader_start(struct core_plugins *set, const struct ucs_host *host);
/* Calls reload() of every started plugin with its new section; a plugin
 * that accepts it reads cfg from then on, one that has no reload() or
 * refuses keeps its previous section (and configuration). */
void core_loader_reload(struct core_plugins *set, struct core_config *cfg);
/* Was any plugin left as a zombie (its pool job outlived its stop)? */
bool core_loader_has_zombies(void);
/* Does any plugin (zombies included) still read a section of cfg? */
bool core_loader_uses_config(const struct core_plugins *set, const struct core_config *cfg);
void core_loader_stop(struct core_plugins *set);
/* Forgets every plugin (dlclose unless built with sanitizers). */
void core_loader_free(struct core_plugins *set);
size_t core_loader_running(const struct core_plugins *set);
/* Names of every plugin in the set (for the unknown-section warning). */
size_t core_loader_names(const struct core_plugins *set, const char **names, size_t max);

#endif
