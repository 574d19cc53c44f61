/*
 * ucs/service.h - synchronous interfaces between plugins.
 *
 * Events travel over the bus; questions that need an answer right now go
 * through services. Formatting a phone number or checking a right happens for
 * every event, so it must be a direct function call, not a bus round trip.
 *
 * A service is a named vtable ("ucs.dialplan", "ucs.userdb") with a version.
 * The vtable begins with a uint32_t size and only ever grows at its end, so a
 * consumer that needs version N accepts any provider of version >= N and
 * checks the size before calling a slot that came later. The provider
 * registers it in init(); because the host initialises providers before the
 * plugins whose `requires` name their capability, a consumer can fetch it in
 * its own init(). get() of a missing or too old service returns NULL and logs
 * one line naming the consumer, the service and version it wanted, and what
 * is registered (or that nothing is), so a startup failure points at both
 * sides. find() is the same without the log line, for optional services.
 *
 * A service lives until its provider stops. Providers stop after the
 * consumers whose `requires` name them (reverse dependency order), so such
 * a consumer may keep the vtable pointer until its own stop().
 *
 * An optional service (one a consumer only find()s) carries no order: its
 * provider may stop first. The vtable stays callable until every plugin has
 * stopped (nothing is finalised before), so a provider of asynchronous
 * operations keeps this promise at its stop(): every operation still pending
 * ends with its done callback and -ESHUTDOWN, and every later call fails
 * with -ESHUTDOWN. A consumer forgets an operation's handle when its done
 * runs, so it never cancels one its provider has already ended; a consumer
 * that looks the vtable up again (find) after the provider stopped gets
 * NULL.
 */
#ifndef UCS_SERVICE_H
#define UCS_SERVICE_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_service_api {
	uint32_t size;
	/* -EEXIST when the name is taken; the vtable must outlive the plugin's stop. */
	int (*provide)(struct ucs_plugin *self, const char *name, uint32_t version,
		       const void *vtable);
	int (*withdraw)(struct ucs_plugin *self, const char *name);
	const void *(*get)(struct ucs_plugin *self, const char *name, uint32_t min_version);
	const void *(*find)(const char *name, uint32_t min_version, uint32_t *version);
};

#ifdef __cplusplus
}
#endif

#endif
