/*
 * core/net.h - the core side of sockets, TLS and name resolution.
 *
 * Implements struct ucs_net_api (abi/ucs/net.h) on libuv, with TLS through
 * core/tls.h. Every listener, connection, UDP socket and resolver request is
 * entered in its owner's ledger (core/core.h) and revoked with it.
 */
#ifndef CORE_NET_H
#define CORE_NET_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucs/net.h>

extern const struct ucs_net_api core_net_api;

int core_net_init(void);
/* SIGHUP: re-read the certificate and key of every TLS listener. */
void core_net_reload_certs(void);
/* Closes what is left (after every plugin was revoked), waits for the close
 * callbacks and frees the TLS globals. */
void core_net_shutdown(void);

/* How long an incoming connection may take from accept to the end of its TLS
 * handshake (first byte included); 0 restores the default of 10 s. For tests
 * and for an operator setting later. */
void core_net_set_handshake_timeout(uint32_t ms);
/* A connection whose unsent output passes high bytes is not read from until
 * it drops below low: a peer that sends but never reads cannot make us queue
 * without end. 0 restores the defaults (1 MiB and 256 KiB). For tests. */
void core_net_set_write_limits(size_t high, size_t low);
/* Tests: sees the addresses connect() resolved for host before they are
 * tried and returns the list to try (freed with freeaddrinfo); NULL: none. */
typedef struct addrinfo *(core_net_resolved_h)(const char *host, struct addrinfo *ai);
void core_net_set_resolved_hook(core_net_resolved_h *h);
/* Listeners, connections and UDP sockets not yet freed (tests, shutdown). */
size_t core_net_live(void);

/* core/resolve.c: the resolver half of core_net_api. */
int core_resolve(struct ucs_plugin *self, struct ucs_resolve **out, const char *host, uint16_t port,
		 int family, ucs_resolve_h *h, void *arg);
int core_resolve_srv(struct ucs_plugin *self, struct ucs_resolve **out, const char *name,
		     ucs_srv_h *h, void *arg);
void core_resolve_cancel(struct ucs_resolve *req);
/* Cancels every request; returns how many are still waiting for their thread. */
size_t core_resolve_cancel_all(void);
/* A libuv getaddrinfo status (UV_EAI_*) as a negative errno. */
int core_resolve_error(int status);
/* RFC 6761: names under .invalid never resolve, so nothing is asked. */
bool core_resolve_is_invalid(const char *name);
/* Parses a DNS answer (as res_nquery returns it) into SRV records sorted by
 * priority, then descending weight. The answer comes from the network: any
 * bytes are safe. 0 with *out (malloc'd, the caller frees) and *count set;
 * -EBADMSG for a malformed message, -ENOENT when there is no usable record
 * or only the "." target (RFC 2782: the service is decidedly absent; a "."
 * among other records is dropped), records whose target runs past their
 * rdata are skipped. */
int core_srv_parse(const uint8_t *answer, size_t len, struct ucs_srv_record **out, size_t *count);

#endif
