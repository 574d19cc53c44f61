/*
 * tests/unit/net/net_policy.c - the listener TLS policies. tls-optional
 * serves a plain and a TLS client on one port (the plain client's first
 * chunk, read to tell the two apart, still reaches the plugin); tls-required
 * refuses a plain client, closes it and says so in one log line naming the
 * listener and the peer address.
 */
#include "nettest.h"

static void test_optional(void)
{
	struct echo e = {0};
	struct ucs_listener *l = nt_listen(NULL, "policy-opt", UCS_TLS_OPTIONAL, NULL, NULL, &e);
	int port = net->listener_port(l);
	struct client plain, tls;

	CHECK_INT(nt_connect(NULL, &plain, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK_INT(nt_connect(NULL, &tls, "127.0.0.1", port, "ca.crt", "localhost", false), ==, 0);
	CHECK(RUN_UNTIL((plain.connected || plain.closed) && (tls.connected || tls.closed), 5000));
	CHECK(plain.connected);
	CHECK(tls.connected);
	CHECK_INT(net->is_tls(plain.conn), ==, 0);
	CHECK_INT(net->is_tls(tls.conn), ==, 1);
	CHECK(nt_echo_roundtrip(&plain, "plain hello\n"));
	CHECK(nt_echo_roundtrip(&tls, "tls hello\n"));
	CHECK(nt_echo_roundtrip(&plain, "plain again\n"));
	CHECK_INT(e.accepted, ==, 2);
	CHECK_INT(e.tls_seen, ==, 1);
	net->close(plain.conn);
	net->close(tls.conn);
	net->listener_close(l);
	nt_run_for(50);
}

static void test_required(void)
{
	struct echo e = {0};
	struct ucs_listener *l = nt_listen(NULL, "policy-req", UCS_TLS_REQUIRED, NULL, NULL, &e);
	int port = net->listener_port(l);
	struct sockaddr_in me;
	int len = sizeof(me);
	struct raw r;
	char want[128];
	char *log;

	nt_capture_begin();
	raw_connect(&r, port);
	RUN_UNTIL(r.connected || r.closed, 5000);
	raw_send(&r, "GET / HTTP/1.0\r\n\r\n", 18);
	RUN_UNTIL(r.closed, 5000);
	log = nt_capture_end();
	CHECK(r.connected);
	CHECK(r.closed);
	CHECK_INT(r.got, ==, 0);
	CHECK_INT(e.accepted, ==, 0);
	uv_tcp_getsockname(&r.tcp, (struct sockaddr *)&me, &len);
	snprintf(want, sizeof(want),
		 "policy-req: refused plain connection from 127.0.0.1:%u (tls-required)",
		 ntohs(me.sin_port));
	CHECK_CONTAINS(log, want);
	CHECK_CONTAINS(log, "warning");
	raw_close(&r);
	RUN_UNTIL(r.handles_closed, 1000);

	/* a TLS client on the same listener is still served */
	struct client tls;

	CHECK_INT(nt_connect(NULL, &tls, "localhost", port, "ca.crt", NULL, false), ==, 0);
	CHECK(nt_echo_roundtrip(&tls, "still serving\n"));
	net->close(tls.conn);
	net->listener_close(l);
	nt_run_for(50);
}

int main(void)
{
	nt_setup();
	test_optional();
	test_required();
	return nt_finish();
}
