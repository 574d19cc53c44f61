/*
 * tools/ucsctl/hostport.h - the -s HOST[:PORT] argument.
 *
 * A host name, an IPv4 address or an IPv6 address, with an optional port:
 * "ucs.example.com", "ucs.example.com:7231", "192.0.2.7:7221", "[::1]:7221",
 * "[::1]", and a bare IPv6 address ("::1", "fe80::1%eth0": more than one
 * colon and no brackets means there is no port).
 */
#ifndef UCSCTL_HOSTPORT_H
#define UCSCTL_HOSTPORT_H

#include <stddef.h>

/* Splits s into host and port (default_port when s has none). 0, or -1
 * with *why saying what is wrong (a static text). */
int hostport_split(const char *s, const char *default_port, char *host, size_t hcap, char *port,
		   size_t pcap, const char **why);

#endif
