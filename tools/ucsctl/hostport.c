/*
 * tools/ucsctl/hostport.c - HOST[:PORT] (see hostport.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"

int hostport_split(const char *s, const char *default_port, char *host, size_t hcap, char *port,
		   size_t pcap, const char **why)
{
	const char *colon, *p = NULL;
	size_t hl;
	char *end;
	long v;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':')) {
			*why = "an IPv6 address with a port is written [ADDR]:PORT";
			return -1;
		}
		hl = (size_t)(close - s - 1);
		s++;
		p = close[1] ? close + 2 : NULL;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		hl = (size_t)(colon - s);
		p = colon + 1;
	} else {
		hl = strlen(s); /* a name, or IPv6 without a port */
	}
	if (!hl || hl >= hcap) {
		*why = hl ? "the host is too long" : "the host is empty";
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = 0;
	if (!p) {
		if ((size_t)snprintf(port, pcap, "%s", default_port) >= pcap) {
			*why = "the port is too long";
			return -1;
		}
		return 0;
	}
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || end == p || *end || v < 1 || v > 65535 || p[0] == '+' || p[0] == ' ') {
		*why = "bad port (1-65535)";
		return -1;
	}
	snprintf(port, pcap, "%ld", v);
	return 0;
}
