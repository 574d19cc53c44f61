/*
 * tests/unit/net/net_ledger.c - revocation. A fake plugin opens a listener
 * (with connections established on it, plain and TLS, and one still waiting
 * for its first byte), an outgoing connection, one still connecting, a UDP
 * socket and resolver requests; core_ledger_revoke_all() then releases all
 * of it: the peers see their connections end, the port refuses new ones, the
 * ledger is empty, everything is freed, and not one callback reaches the
 * plugin afterwards.
 */
#include "nettest.h"

static bool revoked;
static int late_calls;

static void fake_data(struct ucs_conn *c, const uint8_t *d, size_t n, void *arg)
{
	(void)arg;
	late_calls += revoked;
	net->send(c, d, n);
}

static void fake_close(struct ucs_conn *c, int err, void *arg)
{
	(void)c;
	(void)err;
	(void)arg;
	late_calls += revoked;
}

static void fake_connected(struct ucs_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	late_calls += revoked;
}

static const struct ucs_conn_handlers fake_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = fake_data,
	.on_close = fake_close,
	.on_connected = fake_connected,
};

static int accepted;

static void fake_accept(struct ucs_listener *l, struct ucs_conn *c, void *arg)
{
	(void)l;
	(void)arg;
	late_calls += revoked;
	accepted++;
	net->set_handlers(c, &fake_handlers, NULL);
}

static void fake_dgram(struct ucs_udp *u, const struct sockaddr *from, const uint8_t *d, size_t n,
		       void *arg)
{
	(void)u, (void)from, (void)d, (void)n, (void)arg;
	late_calls += revoked;
}

static void fake_addrs(int err, const struct sockaddr *const *a, size_t n, void *arg)
{
	(void)err, (void)a, (void)n, (void)arg;
	late_calls += revoked;
}

static void fake_srv(int err, const struct ucs_srv_record *r, size_t n, void *arg)
{
	(void)err, (void)r, (void)n, (void)arg;
	late_calls += revoked;
}

int main(void)
{
	struct ucs_plugin fake = {.name = "fake"};
	char cert[300], key[300];
	struct ucs_listen_opts o = {.size = sizeof(o),
				    .name = "fake-api",
				    .address = "127.0.0.1",
				    .tls = UCS_TLS_OPTIONAL,
				    .cert_file = cert,
				    .key_file = key};
	struct ucs_connect_opts co = {.size = sizeof(co), .host = "127.0.0.1"};
	struct ucs_listener *fl, *cl_listener;
	struct ucs_conn *out_conn, *slow_conn;
	struct ucs_udp *udp;
	struct client plain, tls, again;
	struct echo core_echo = {0};
	struct raw waiting;
	size_t revoked_n;
	int port;

	nt_setup();
	core_ledger_init(&fake);
	nt_path(cert, sizeof(cert), "server.crt");
	nt_path(key, sizeof(key), "server.key");

	CHECK_INT(net->listen(&fake, &fl, &o, fake_accept, NULL), ==, 0);
	port = net->listener_port(fl);
	CHECK_INT(nt_connect(NULL, &plain, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK_INT(nt_connect(NULL, &tls, "127.0.0.1", port, "ca.crt", "localhost", false), ==, 0);
	CHECK(nt_echo_roundtrip(&plain, "plain\n"));
	CHECK(nt_echo_roundtrip(&tls, "tls\n"));
	raw_connect(&waiting, port);
	CHECK(RUN_UNTIL(waiting.connected, 3000));

	/* the plugin's own outgoing connection, to a listener of the core */
	cl_listener = nt_listen(NULL, "core-echo", UCS_TLS_PLAIN, NULL, NULL, &core_echo);
	co.port = (uint16_t)net->listener_port(cl_listener);
	CHECK_INT(net->connect(&fake, &out_conn, &co, &fake_handlers, NULL), ==, 0);
	CHECK(RUN_UNTIL(core_echo.accepted == 1, 3000));
	/* one that is still resolving/connecting when the plugin goes */
	CHECK_INT(net->connect(&fake, &slow_conn, &co, &fake_handlers, NULL), ==, 0);
	CHECK_INT(net->udp_open(&fake, &udp, "127.0.0.1", 0, fake_dgram, NULL), ==, 0);
	CHECK_INT(net->resolve(&fake, NULL, "localhost", 1, 0, fake_addrs, NULL), ==, 0);
	CHECK_INT(net->resolve_srv(&fake, NULL, "_a._tcp.b.invalid", fake_srv, NULL), ==, 0);
	CHECK_INT(accepted, ==, 2);
	/* listener, 2 accepted, 1 waiting, 2 outgoing, udp, 2 resolver requests */
	CHECK_INT(fake.ledger_count, ==, 9);

	revoked = true;
	revoked_n = core_ledger_revoke_all(&fake);
	CHECK_INT(revoked_n, ==, 9);
	CHECK_INT(fake.ledger_count, ==, 0);
	core_loop_drain(100);

	/* the peers see the end, the port is gone */
	CHECK(RUN_UNTIL(plain.closed && tls.closed && waiting.closed && core_echo.closed == 1,
			5000));
	CHECK_INT(plain.err, ==, 0);
	CHECK_INT(tls.err, ==, 0);
	CHECK_INT(nt_connect(NULL, &again, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK(RUN_UNTIL(again.closed, 5000));
	CHECK_INT(again.err, ==, -ECONNREFUSED);
	nt_run_for(200);
	CHECK_INT(late_calls, ==, 0);

	raw_close(&waiting);
	net->listener_close(cl_listener);
	core_loop_drain(100);
	/* everything the fake plugin had is freed (the core's clients closed too) */
	CHECK_INT(core_net_live(), ==, 0);
	return nt_finish();
}
