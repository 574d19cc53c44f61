/*
 * core/bus.h - the core side of the typed message bus (abi/ucs/bus.h).
 */
#ifndef CORE_BUS_H
#define CORE_BUS_H

#include <stddef.h>

#include <ucs/bus.h>

extern const struct ucs_bus_api core_bus_api;

int core_bus_init(void);
/* Drops what is still queued (undelivered), frees every topic and type.
 * Call after every plugin was revoked. */
void core_bus_shutdown(void);
/* Messages and requests waiting for delivery on the loop thread. */
size_t core_bus_queued(void);
/* Delivers everything queued now (tests, and shutdown ordering). */
void core_bus_flush(void);

#endif
