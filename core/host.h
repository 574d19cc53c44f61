/*
 * core/host.h - the struct ucs_host handed to every plugin, and the facts
 * about the running server that its env interface reports.
 */
#ifndef CORE_HOST_H
#define CORE_HOST_H

#include <ucs/host.h>

struct core_env {
	const char *server_name;
	const char *presence_domain;
	const char *state_dir;	/* absolute */
	const char *config_dir; /* absolute */
};

extern const struct ucs_host core_host;
extern const struct ucs_log_api core_log_api;

/* Sets what env reports; the host copies the strings (plugins may keep the
 * pointers until they stop). core_host_free_env() at exit frees them. */
void core_host_set_env(const struct core_env *env);
void core_host_free_env(void);

#endif
