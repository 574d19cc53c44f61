/*
 * tests/unit/net/net_verify.c - the client side's failures and their
 * errors: a certificate from the wrong CA and one for another host name
 * (-EACCES, with mbedtls' reason in the log), verify_none as the explicit
 * way around it, a refused port (-ECONNREFUSED), a peer that never answers
 * the handshake (-ETIMEDOUT) and one that answers garbage (-EPROTO).
 */
#include "nettest.h"

static void expect_failure(int port, const char *ca, const char *sni, int want_err,
			   const char *want_log, uint32_t timeout_ms)
{
	char cap[300];
	struct ucs_connect_opts o = {.size = sizeof(o),
				     .host = "127.0.0.1",
				     .port = (uint16_t)port,
				     .tls = 1,
				     .sni = sni,
				     .timeout_ms = timeout_ms};
	struct client cl = {0};
	char *log;
	int err;

	nt_path(cap, sizeof(cap), ca);
	o.ca_file = cap;
	nt_capture_begin();
	err = net->connect(NULL, &cl.conn, &o, &client_handlers, &cl);
	RUN_UNTIL(cl.closed, 5000);
	log = nt_capture_end();
	CHECK_INT(err, ==, 0);
	CHECK(cl.closed);
	CHECK(!cl.connected);
	CHECK_INT(cl.err, ==, want_err);
	CHECK_CONTAINS(log, want_log);
}

static bool muted_seen;

static void silent_close(struct ucs_conn *c, int err, void *arg)
{
	(void)c;
	(void)err;
	*(struct ucs_conn **)arg = NULL; /* freed when we return */
}

static void silent_accept(struct ucs_listener *l, struct ucs_conn *c, void *arg)
{
	static const struct ucs_conn_handlers quiet = {.size = sizeof(quiet),
						       .on_close = silent_close};

	(void)l;
	muted_seen = true;
	*(struct ucs_conn **)arg = c;
	net->set_handlers(c, &quiet, arg);
}

int main(void)
{
	struct echo e = {0};
	struct ucs_listener *l, *plain, *mute;
	struct ucs_listen_opts po = {
		.size = sizeof(po), .name = "plain-echo", .address = "127.0.0.1"};
	struct ucs_listen_opts mo = {.size = sizeof(mo), .name = "mute", .address = "127.0.0.1"};
	struct ucs_conn *muted = NULL;
	struct client cl;
	int port;

	nt_setup();
	l = nt_listen(NULL, "verify", UCS_TLS_REQUIRED, NULL, NULL, &e);
	port = net->listener_port(l);

	/* the right CA and name work (the baseline the failures differ from) */
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, "ca.crt", "localhost", false), ==, 0);
	CHECK(nt_echo_roundtrip(&cl, "verified\n"));
	net->close(cl.conn);

	/* A peer named by its address is verified against the certificate's
	 * iPAddress subjectAltNames (127.0.0.1 and ::1 in the test PKI; the CN is
	 * "localhost"), not accepted just because the chain is good. */
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, "ca.crt", NULL, false), ==, 0);
	CHECK(nt_echo_roundtrip(&cl, "by IPv4 address\n"));
	net->close(cl.conn);
	CHECK_INT(nt_connect(NULL, &cl, "::1", port, "ca.crt", NULL, false), ==, 0);
	CHECK(nt_echo_roundtrip(&cl, "by IPv6 address\n"));
	net->close(cl.conn);
	expect_failure(port, "ca.crt", "127.0.0.2", -EACCES, "Common Name (CN) does not match", 0);

	/* Client configurations are cached (parsing a CA bundle is slow) until
	 * SIGHUP: a CA file replaced on disk is not seen before the reload, and
	 * is seen after it. */
	{
		char ca[512], ca2[512], cached[512], *text;

		nt_path(ca, sizeof(ca), "ca.crt");
		nt_path(ca2, sizeof(ca2), "ca2.crt");
		nt_path(cached, sizeof(cached), "cached-ca.crt");
		text = nt_read_file(ca); /* a static buffer */
		nt_write_file(cached, text);
		CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, "cached-ca.crt", "localhost", false),
			  ==, 0);
		CHECK(nt_echo_roundtrip(&cl, "first\n"));
		net->close(cl.conn);
		text = nt_read_file(ca2);
		nt_write_file(cached, text);
		CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, "cached-ca.crt", "localhost", false),
			  ==, 0);
		CHECK(nt_echo_roundtrip(&cl, "cached\n"));
		net->close(cl.conn);
		core_net_reload_certs();
		expect_failure(port, "cached-ca.crt", "localhost", -EACCES,
			       "not correctly signed by the trusted CA", 0);
	}

	expect_failure(port, "ca2.crt", "localhost", -EACCES,
		       "not correctly signed by the trusted CA", 0);
	expect_failure(port, "ca.crt", "wrong.example", -EACCES, "Common Name (CN) does not match",
		       0);

	/* the explicit opt-out accepts the certificate from the other CA */
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, NULL, "wrong.example", true), ==, 0);
	CHECK(nt_echo_roundtrip(&cl, "unverified\n"));
	CHECK(cl.connected);
	net->close(cl.conn);

	/* a closed port */
	net->listener_close(l);
	nt_run_for(20);
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, "ca.crt", "localhost", false), ==, 0);
	CHECK(RUN_UNTIL(cl.closed, 5000));
	CHECK_INT(cl.err, ==, -ECONNREFUSED);

	/* a plain echo answers the ClientHello with itself: a TLS failure */
	CHECK_INT(net->listen(NULL, &plain, &po, echo_accept, &e), ==, 0);
	expect_failure(net->listener_port(plain), "ca.crt", "localhost", -EPROTO,
		       "TLS handshake with 127.0.0.1", 0);

	/* a peer that never answers: the connect+handshake deadline */
	CHECK_INT(net->listen(NULL, &mute, &mo, silent_accept, &muted), ==, 0);
	uint64_t t0 = nt_now_ms();
	expect_failure(net->listener_port(mute), "ca.crt", "localhost", -ETIMEDOUT, "timed out",
		       300);
	CHECK(nt_now_ms() - t0 < 3000);
	CHECK(muted_seen);
	if (muted)
		net->close(muted);

	/* a CA file that does not exist fails the call itself */
	struct ucs_connect_opts bad = {.size = sizeof(bad),
				       .host = "127.0.0.1",
				       .port = 1,
				       .tls = 1,
				       .ca_file = "/nonexistent/ca.pem"};
	struct ucs_conn *c = NULL;

	CHECK(net->connect(NULL, &c, &bad, &client_handlers, &cl) < 0);
	CHECK(c == NULL);

	net->listener_close(plain);
	net->listener_close(mute);
	return nt_finish();
}
