/*
 * core/host.c - assembles struct ucs_host from the core's parts: the one
 * table every plugin receives in init().
 */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "server.h"
#include "build_config.h"
#include "bus.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "net.h"
#include "service.h"
#include "timer.h"

static struct core_env env = {
	.server_name = "ucsd",
	.presence_domain = "localhost",
	.state_dir = "/",
	.config_dir = "/",
};

/*
 * The host keeps its own copies of the env strings: plugins may hold these
 * pointers for their whole life, across reloads that free the configuration
 * they came from. Every distinct value is kept once (reloads rarely change
 * them, so the list stays tiny) and freed at exit.
 */
struct env_copy {
	struct env_copy *next;
	char text[];
};

static struct env_copy *env_copies;

static const char *keep(const char *s)
{
	struct env_copy *c;
	size_t n;

	s = s ? s : "";
	for (c = env_copies; c; c = c->next)
		if (strcmp(c->text, s) == 0)
			return c->text;
	n = strlen(s) + 1;
	c = core_alloc(sizeof(*c) + n);
	memcpy(c->text, s, n);
	c->next = env_copies;
	env_copies = c;
	return c->text;
}

void core_host_set_env(const struct core_env *e)
{
	env.server_name = keep(e->server_name);
	env.presence_domain = keep(e->presence_domain);
	env.state_dir = keep(e->state_dir);
	env.config_dir = keep(e->config_dir);
}

void core_host_free_env(void)
{
	while (env_copies) {
		struct env_copy *c = env_copies;

		env_copies = c->next;
		free(c);
	}
}

static void host_logv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt,
		      va_list ap)
{
	core_logv(core_plugin_name(self), level, fmt, ap);
}

static void host_log(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	core_logv(core_plugin_name(self), level, fmt, ap);
	va_end(ap);
}

static int host_log_enabled(struct ucs_plugin *self, enum ucs_log_level level)
{
	(void)self;
	return core_log_enabled(level);
}

const struct ucs_log_api core_log_api = {
	.size = sizeof(struct ucs_log_api),
	.log = host_log,
	.logv = host_logv,
	.enabled = host_log_enabled,
};

static const char *env_server_name(void)
{
	return env.server_name;
}

static const char *env_presence_domain(void)
{
	return env.presence_domain;
}

static const char *env_state_dir(void)
{
	return env.state_dir;
}

static const char *env_config_dir(void)
{
	return env.config_dir;
}

static const char *env_plugin_name(const struct ucs_plugin *self)
{
	return core_plugin_name(self);
}

static const char *env_version(void)
{
	return UCSD_VERSION;
}

static const struct ucs_env_api core_env_api = {
	.size = sizeof(struct ucs_env_api),
	.server_name = env_server_name,
	.presence_domain = env_presence_domain,
	.state_dir = env_state_dir,
	.config_dir = env_config_dir,
	.plugin_name = env_plugin_name,
	.version = env_version,
};

const struct ucs_host core_host = {
	.size = sizeof(struct ucs_host),
	.abi_major = UCS_ABI_MAJOR,
	.abi_minor = UCS_ABI_MINOR,
	.log = &core_log_api,
	.timer = &core_timer_api,
	.work = &core_work_api,
	.net = &core_net_api,
	.bus = &core_bus_api,
	.service = &core_service_api,
	.cfg = &core_cfg_api,
	.env = &core_env_api,
	.server = &core_server_api,
};
