/*
 * core/service.c - the registry of named, versioned service vtables.
 *
 * A service belongs to the plugin that provided it and disappears with it
 * (ledger). Lookups are by name in a hash map; a failed get() logs the one
 * line that lets an operator fix a startup failure without reading code:
 * who wanted what, and what there is instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "log.h"
#include "service.h"
#include "strmap.h"

struct core_service {
	struct core_res res;
	char *name;
	uint32_t version;
	const void *vtable;
};

static struct core_strmap services;

void core_service_init(void)
{
	core_strmap_init(&services);
}

static void service_free(struct core_service *s)
{
	core_strmap_del(&services, s->name);
	core_ledger_remove(&s->res);
	free(s->name);
	free(s);
}

static void service_revoke(struct core_res *res)
{
	service_free(CORE_CONTAINER_OF(res, struct core_service, res));
}

static int service_provide(struct ucs_plugin *self, const char *name, uint32_t version,
			   const void *vtable)
{
	struct core_service *s;

	if (!name || !*name || !vtable || *(const uint32_t *)vtable < sizeof(uint32_t))
		return -EINVAL;
	s = core_strmap_get(&services, name);
	if (s) {
		core_log(core_plugin_name(self), UCS_LOG_ERROR,
			 "service '%s' is provided already by plugin '%s' (v%u)", name,
			 core_plugin_name(s->res.owner), s->version);
		return -EEXIST;
	}
	s = core_alloc(sizeof(*s));
	s->name = core_strdup(name);
	s->version = version;
	s->vtable = vtable;
	core_strmap_put(&services, name, s);
	core_ledger_add(self, &s->res, "service", service_revoke);
	core_log(core_plugin_name(self), UCS_LOG_DEBUG, "provides service '%s' v%u", name, version);
	return 0;
}

static int service_withdraw(struct ucs_plugin *self, const char *name)
{
	struct core_service *s = name ? core_strmap_get(&services, name) : NULL;

	if (!s)
		return -ENOENT;
	if (s->res.owner != (self ? self : core_self()))
		return -EPERM;
	service_free(s);
	return 0;
}

static const void *service_find(const char *name, uint32_t min_version, uint32_t *version)
{
	struct core_service *s = name ? core_strmap_get(&services, name) : NULL;

	if (!s || s->version < min_version)
		return NULL;
	if (version)
		*version = s->version;
	return s->vtable;
}

static const void *service_get(struct ucs_plugin *self, const char *name, uint32_t min_version)
{
	struct core_service *s = name ? core_strmap_get(&services, name) : NULL;

	if (s && s->version >= min_version)
		return s->vtable;
	if (s)
		core_log(core_plugin_name(self), UCS_LOG_ERROR,
			 "needs service '%s' v%u or newer, but plugin '%s' provides v%u", name,
			 min_version, core_plugin_name(s->res.owner), s->version);
	else
		core_log(core_plugin_name(self), UCS_LOG_ERROR,
			 "needs service '%s' v%u or newer, and no loaded plugin provides it",
			 name ? name : "(null)", min_version);
	return NULL;
}

static void service_free_each(const char *key, void *value, void *arg)
{
	struct core_service *s = value;

	(void)key;
	(void)arg;
	core_ledger_remove(&s->res);
	free(s->name);
	free(s);
}

void core_service_shutdown(void)
{
	core_strmap_each(&services, service_free_each, NULL);
	core_strmap_clear(&services);
}

const struct ucs_service_api core_service_api = {
	.size = sizeof(struct ucs_service_api),
	.provide = service_provide,
	.withdraw = service_withdraw,
	.get = service_get,
	.find = service_find,
};
