/*
 * core/net.h - the core side of sockets, TLS and name resolution.
 *
 * Implements struct ucs_net_api (abi/ucs/net.h) on libuv, with TLS through
 * core/tls.h. Every listener, connection, UDP socket and resolver request is
 * entered in its owner's ledger (core/core.h) and revoked with it.
 */
#ifndef CORE_NET_H
#define CORE_NET_H

#include <ucs/net.h>

extern const struct ucs_net_api core_net_api;

int core_net_init(void);
/* SIGHUP: re-read the certificate and key of every TLS listener. */
void core_net_reload_certs(void);
/* Closes what is left (after every plugin was revoked). */
void core_net_shutdown(void);

#endif
