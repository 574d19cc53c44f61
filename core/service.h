/*
 * core/service.h - the core side of the service registry (abi/ucs/service.h).
 */
#ifndef CORE_SERVICE_H
#define CORE_SERVICE_H

#include <ucs/service.h>

extern const struct ucs_service_api core_service_api;

void core_service_init(void);
void core_service_shutdown(void);

#endif
