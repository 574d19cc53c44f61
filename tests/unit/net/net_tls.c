/*
 * tests/unit/net/net_tls.c - TLS between a tls-required ucs listener and
 * (a) the ucs client with a CA file, (b) openssl s_client as an independent
 * peer: handshake, echo in both directions, a large transfer across many
 * records, and a clean close seen by the other side.
 */
#include "nettest.h"

static void test_ucs_client(int port, struct echo *e)
{
	struct client cl;
	static char big[1 << 20];
	size_t closed_before = e->closed;

	CHECK_INT(nt_connect(NULL, &cl, "localhost", port, "ca.crt", NULL, false), ==, 0);
	CHECK(RUN_UNTIL(cl.connected || cl.closed, 5000));
	CHECK(cl.connected);
	CHECK_INT(net->is_tls(cl.conn), ==, 1);
	CHECK(nt_echo_roundtrip(&cl, "hello over tls\n"));
	CHECK_INT(e->tls_seen, ==, 1);

	/* many records, and a server that must pump what one read delivered */
	memset(big, 'x', sizeof(big));
	cl.total = 0;
	CHECK_INT(net->send(cl.conn, big, sizeof(big)), ==, 0);
	CHECK(net->pending(cl.conn) > 0);
	CHECK(RUN_UNTIL(cl.total >= sizeof(big) || cl.closed, 10000));
	CHECK_INT(cl.total, ==, sizeof(big));
	CHECK(cl.drained);

	/* our close: no callback to us, the server sees the peer leave (err 0) */
	net->close(cl.conn);
	CHECK(RUN_UNTIL(e->closed > closed_before, 5000));
	CHECK(!cl.closed);
}

static void test_openssl_peer(int port)
{
	char in[300], out[300], ca[300], connect_to[64];
	char *argv[] = {"/usr/bin/openssl", "s_client",	 "-connect",
			connect_to,	    "-CAfile",	 ca,
			"-servername",	    "localhost", "-verify_return_error",
			"-ign_eof",	    NULL};
	char *text;
	int status;

	nt_path(in, sizeof(in), "sclient.in");
	nt_path(out, sizeof(out), "sclient.out");
	nt_path(ca, sizeof(ca), "ca.crt");
	snprintf(connect_to, sizeof(connect_to), "127.0.0.1:%d", port);
	/* the server closes on "quit", which ends s_client too */
	nt_write_file(in, "ping from openssl, quit\n");
	status = nt_run_child(argv, in, out, 15000);
	text = nt_read_file(out);
	CHECK_INT(status, ==, 0);
	CHECK_CONTAINS(text, "Verify return code: 0 (ok)");
	CHECK_CONTAINS(text, "CN = localhost");
	/* the echo: once sent by s_client, once received from us */
	CHECK_CONTAINS(text, "ping from openssl, quit");
	CHECK_CONTAINS(text, "TLSv1.2");
	if (check_failures)
		fprintf(stderr, "s_client said:\n%s\n", text);
}

int main(void)
{
	struct echo e = {0};
	struct ucs_listener *l;
	int port;

	nt_setup();
	l = nt_listen(NULL, "tls-test", UCS_TLS_REQUIRED, NULL, NULL, &e);
	port = net->listener_port(l);
	CHECK(port > 0);
	test_ucs_client(port, &e);
	test_openssl_peer(port);
	CHECK_INT(e.accepted, ==, 2);
	CHECK_INT(e.tls_seen, ==, 2);
	net->listener_close(l);
	return nt_finish();
}
