/*
 * tests/unit/net/net_reload.c - certificate reload (SIGHUP). A connection
 * made before the reload keeps working on its old credentials; a connection
 * made after it gets the new certificate (the ucs client trusts only the new
 * CA, and openssl s_client shows the new subject); a file that fails to load
 * (garbage, or a key that does not match) leaves the previous certificate in
 * place and logs an error naming the file and the mbedtls reason.
 */
#include "nettest.h"

static void copy_file(const char *from, const char *to)
{
	char a[300], b[300], cmd[700];

	nt_path(a, sizeof(a), from);
	nt_path(b, sizeof(b), to);
	snprintf(cmd, sizeof(cmd), "cp %s %s", a, b);
	CHECK_INT(system(cmd), ==, 0);
}

static int connect_result(int port, const char *ca, struct client *cl)
{
	CHECK_INT(nt_connect(NULL, cl, "127.0.0.1", port, ca, "localhost", false), ==, 0);
	RUN_UNTIL(cl->connected || cl->closed, 5000);
	return cl->connected ? 0 : cl->err;
}

static char *s_client_subject(int port)
{
	char in[300], out[300], connect_to[64];
	char *argv[] = {"/usr/bin/openssl", "s_client", "-connect", connect_to, NULL};

	nt_path(in, sizeof(in), "sclient.in");
	nt_path(out, sizeof(out), "sclient.out");
	snprintf(connect_to, sizeof(connect_to), "127.0.0.1:%d", port);
	nt_write_file(in, "");
	CHECK_INT(nt_run_child(argv, in, out, 15000), ==, 0);
	return nt_read_file(out);
}

int main(void)
{
	struct echo e = {0};
	struct ucs_listener *l;
	struct client old, fresh, stale;
	char *text;
	int port;

	nt_setup();
	copy_file("server.crt", "live.crt");
	copy_file("server.key", "live.key");
	l = nt_listen(NULL, "reload", UCS_TLS_REQUIRED, "live.crt", "live.key", &e);
	port = net->listener_port(l);

	CHECK_INT(connect_result(port, "ca.crt", &old), ==, 0);
	CHECK(nt_echo_roundtrip(&old, "before reload\n"));
	CHECK_CONTAINS(s_client_subject(port), "CN = localhost");

	copy_file("server2.crt", "live.crt");
	copy_file("server2.key", "live.key");
	nt_capture_begin();
	core_net_reload_certs();
	text = nt_capture_end();
	CHECK_CONTAINS(text, "reload: reloaded certificate");

	CHECK(nt_echo_roundtrip(&old, "after reload, old session\n"));
	CHECK_INT(connect_result(port, "ca2.crt", &fresh), ==, 0);
	CHECK(nt_echo_roundtrip(&fresh, "new session\n"));
	CHECK_INT(connect_result(port, "ca.crt", &stale), ==, -EACCES);
	CHECK_CONTAINS(s_client_subject(port), "CN = reloaded");

	/* a broken certificate: the error names it, the listener keeps serving */
	copy_file("broken.crt", "live.crt");
	nt_capture_begin();
	core_net_reload_certs();
	text = nt_capture_end();
	CHECK_CONTAINS(text, "error");
	CHECK_CONTAINS(text, "live.crt: X509 - ");
	CHECK_CONTAINS(text, "keeping the previous one");
	net->close(fresh.conn);
	CHECK_INT(connect_result(port, "ca2.crt", &fresh), ==, 0);

	/* a key that does not belong to the certificate */
	copy_file("server.crt", "live.crt");
	nt_capture_begin();
	core_net_reload_certs();
	text = nt_capture_end();
	CHECK_CONTAINS(text, "live.key: ");
	CHECK_CONTAINS(text, "keeping the previous one");
	net->close(fresh.conn);
	CHECK_INT(connect_result(port, "ca2.crt", &fresh), ==, 0);
	CHECK(nt_echo_roundtrip(&old, "the first session outlived three reloads\n"));

	net->close(fresh.conn);
	net->close(old.conn);
	net->listener_close(l);
	return nt_finish();
}
