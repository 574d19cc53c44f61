/*
 * tests/unit/net/net_udp_resolve.c - UDP round trip between a v4 socket and
 * a dual-stack one (the v4 sender shows up as 127.0.0.1, and a reply to that
 * address works), and the resolver: localhost resolves to loopback with the
 * port filled in, names under .invalid and impossible lookups fail with an
 * error, SRV lookups of .invalid names fail cleanly, and cancel means the
 * handler is never called.
 */
#include <netinet/in.h>

#include "nettest.h"

struct dgram {
	struct sockaddr_storage from;
	char text[64];
	int count;
};

static void on_dgram(struct ucs_udp *u, const struct sockaddr *from, const uint8_t *d, size_t n,
		     void *arg)
{
	struct dgram *g = arg;

	memcpy(&g->from, from,
	       from->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6));
	snprintf(g->text, sizeof(g->text), "%.*s", (int)n, (const char *)d);
	g->count++;
	if (!strcmp(g->text, "ping"))
		net->udp_send(u, from, "pong", 4);
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void test_udp(void)
{
	struct ucs_udp *a, *b;
	struct dgram ga = {0}, gb = {0};
	struct sockaddr_storage la, lb;
	struct sockaddr_in to;
	char ip[64];

	CHECK_INT(net->udp_open(NULL, &a, "127.0.0.1", 0, on_dgram, &ga), ==, 0);
	CHECK_INT(net->udp_open(NULL, &b, NULL, 0, on_dgram, &gb), ==, 0);
	CHECK_INT(net->udp_local_addr(a, &la), ==, 0);
	CHECK_INT(net->udp_local_addr(b, &lb), ==, 0);
	CHECK_INT(la.ss_family, ==, AF_INET);
	CHECK_INT(lb.ss_family, ==, AF_INET6);
	CHECK(port_of(&la) > 0 && port_of(&lb) > 0);
	uv_ip4_addr("127.0.0.1", port_of(&lb), &to);
	CHECK_INT(net->udp_send(a, (struct sockaddr *)&to, "ping", 4), ==, 0);
	CHECK(RUN_UNTIL(ga.count == 1, 3000));
	CHECK_STR(gb.text, "ping");
	CHECK_STR(ga.text, "pong");
	CHECK_INT(gb.from.ss_family, ==, AF_INET);
	uv_ip4_name((struct sockaddr_in *)&gb.from, ip, sizeof(ip));
	CHECK_STR(ip, "127.0.0.1");
	CHECK_INT(port_of(&gb.from), ==, port_of(&la));
	net->udp_close(a);
	net->udp_close(b);
	CHECK_INT(net->udp_open(NULL, &a, "not-an-address", 0, on_dgram, &ga), ==, -EINVAL);
}

struct answer {
	int calls, err;
	size_t count;
	bool loopback, port_ok;
};

static void on_addrs(int err, const struct sockaddr *const *addrs, size_t n, void *arg)
{
	struct answer *a = arg;
	char ip[64];

	a->calls++;
	a->err = err;
	a->count = n;
	a->port_ok = n > 0;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i]->sa_family == AF_INET) {
			uv_ip4_name((const struct sockaddr_in *)addrs[i], ip, sizeof(ip));
			a->port_ok &=
				ntohs(((const struct sockaddr_in *)addrs[i])->sin_port) == 5060;
		} else {
			uv_ip6_name((const struct sockaddr_in6 *)addrs[i], ip, sizeof(ip));
			a->port_ok &=
				ntohs(((const struct sockaddr_in6 *)addrs[i])->sin6_port) == 5060;
		}
		if (!strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1"))
			a->loopback = true;
	}
}

static void on_srv(int err, const struct ucs_srv_record *r, size_t n, void *arg)
{
	struct answer *a = arg;

	(void)r;
	a->calls++;
	a->err = err;
	a->count = n;
}

static void test_resolve(void)
{
	struct answer local = {0}, invalid = {0}, family = {0}, srv = {0}, gone = {0},
		      gone_srv = {0};
	struct ucs_resolve *r1, *r2;

	CHECK_INT(net->resolve(NULL, NULL, "localhost", 5060, 0, on_addrs, &local), ==, 0);
	CHECK_INT(net->resolve(NULL, NULL, "nothing.invalid", 5060, 0, on_addrs, &invalid), ==, 0);
	CHECK_INT(net->resolve(NULL, NULL, "127.0.0.1", 5060, AF_INET6, on_addrs, &family), ==, 0);
	CHECK_INT(net->resolve_srv(NULL, NULL, "_sip._tcp.example.invalid", on_srv, &srv), ==, 0);
	/* no handler runs inside the call that asked */
	CHECK_INT(invalid.calls + srv.calls, ==, 0);
	CHECK(RUN_UNTIL(local.calls && invalid.calls && family.calls && srv.calls, 10000));
	CHECK_INT(local.err, ==, 0);
	CHECK(local.count > 0);
	CHECK(local.loopback);
	CHECK(local.port_ok);
	CHECK_INT(invalid.err, ==, -ENOENT);
	CHECK_INT(invalid.count, ==, 0);
	CHECK(family.err < 0);
	CHECK_INT(srv.err, ==, -ENOENT);
	CHECK_INT(srv.count, ==, 0);

	CHECK_INT(net->resolve(NULL, &r1, "localhost", 1, 0, on_addrs, &gone), ==, 0);
	CHECK_INT(net->resolve_srv(NULL, &r2, "_xmpp-server._tcp.x.invalid", on_srv, &gone_srv), ==,
		  0);
	net->resolve_cancel(r1);
	net->resolve_cancel(r2);
	nt_run_for(300);
	CHECK_INT(gone.calls, ==, 0);
	CHECK_INT(gone_srv.calls, ==, 0);
	CHECK_INT(net->resolve(NULL, NULL, "", 1, 0, on_addrs, &gone), ==, -EINVAL);
}

int main(void)
{
	nt_setup();
	test_udp();
	test_resolve();
	CHECK_INT(core_self()->ledger_count, ==, 0);
	return nt_finish();
}
