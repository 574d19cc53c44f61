/*
 * ucs/plugin.h - what a plugin is, as seen by the host.
 *
 * A plugin is a shared object (NAME.so) that exports exactly one symbol,
 * ucs_plugin_descriptor(), returning a pointer to a constant descriptor.
 * Everything else in the object is hidden (-fvisibility=hidden), and the
 * plugin never calls a symbol of the ucsd executable: everything it may use
 * reaches it through the struct ucs_host vtable passed to init(). That keeps
 * dlopen(RTLD_NOW | RTLD_LOCAL) free of "undefined symbol" surprises and lets
 * one .so load into any 1.x host that is at least as new as its SDK.
 *
 * The descriptor says who the plugin is (name, version, licence), what it
 * needs and offers (capabilities such as "ucs.userdb" or "ucs.line-driver"),
 * which configuration keys its section may hold, and its lifecycle:
 *
 *   init    create state, register bus types and services, read config.
 *           Services it needs from others are available here, because the
 *           host initialises plugins in dependency order (providers first).
 *   start   open sockets, start timers: begin doing work. After every
 *           plugin started, ucsd reports itself ready.
 *   reload  SIGHUP: the whole configuration was re-read and validated; this
 *           is the plugin's new section. Return 0 when applied, a negative
 *           errno when the plugin keeps its previous settings.
 *   stop    quiesce, in reverse dependency order. Whatever the plugin still
 *           owns through the host afterwards is revoked by the host.
 *   fini    free the state. Nothing of the host may be used any more.
 *   status  (optional) the plugin's counters for the status monitor.
 *
 * A failing init or start (negative errno) unwinds exactly what had been
 * done: the plugins already started are stopped and finalised in reverse.
 * Whether the server then goes on without the plugin is the operator's
 * choice (plugins.optional / plugins.critical in the configuration).
 *
 * Use UCS_PLUGIN_DEFINE at file scope to produce the descriptor function.
 */
#ifndef UCS_PLUGIN_H
#define UCS_PLUGIN_H

#include <ucs/types.h>
#include <ucs/version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_host;
struct ucs_cfg;
struct ucs_cfg_key;

struct ucs_plugin_desc {
	uint32_t size;	    /* sizeof(struct ucs_plugin_desc) the plugin was built with */
	uint16_t abi_major; /* UCS_ABI_MAJOR at build time */
	uint16_t abi_minor; /* UCS_ABI_MINOR at build time */
	const char *name;   /* [a-z0-9-]+; also the name of its config section */
	const char *version;
	const char *license;
	const char *description;
	const char *const *requires; /* NULL-terminated capability names, or NULL */
	const char *const *provides; /* NULL-terminated capability names, or NULL */
	/* Keys of the plugin's config section, terminated by an entry whose
	 * name is NULL; NULL when the plugin takes no configuration. */
	const struct ucs_cfg_key *config;

	int (*init)(struct ucs_plugin *self, const struct ucs_host *host, void **state);
	int (*start)(void *state);
	int (*reload)(void *state, const struct ucs_cfg *section);
	void (*stop)(void *state);
	void (*fini)(void *state);

	/* ABI 1.1, may be NULL: the plugin's own counters for the status
	 * monitor, as one JSON object (snprintf rules), on the loop thread. */
	int (*status)(void *state, char *buf, size_t cap);
};

/* The one exported symbol. */
#define UCS_PLUGIN_SYMBOL "ucs_plugin_descriptor"
typedef const struct ucs_plugin_desc *(ucs_plugin_descriptor_fn)(void);

#define UCS_PLUGIN_DEFINE(desc_var)                                           \
	UCS_EXPORT const struct ucs_plugin_desc *ucs_plugin_descriptor(void); \
	UCS_EXPORT const struct ucs_plugin_desc *ucs_plugin_descriptor(void)  \
	{                                                                     \
		return &(desc_var);                                           \
	}

/* Fills the header fields of a descriptor initialiser. */
#define UCS_PLUGIN_HEADER                                                   \
	.size = sizeof(struct ucs_plugin_desc), .abi_major = UCS_ABI_MAJOR, \
	.abi_minor = UCS_ABI_MINOR

#ifdef __cplusplus
}
#endif

#endif
