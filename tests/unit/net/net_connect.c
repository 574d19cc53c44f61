/*
 * tests/unit/net/net_connect.c - outgoing connections: an address that
 * fails at once (a multicast one: ENETUNREACH inside connect()) does not end
 * the attempt while others are left, and the most telling error is the one
 * reported; close() before the connection is open still delivers what was
 * sent; names under .invalid fail with -ENOENT without asking anyone; an
 * empty sni is refused; an IP address is verified but not sent as SNI
 * (looked for in the ClientHello a client session writes).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "nettest.h"
#include "tls.h"

static const char *prepend_addr, *append_addr;
static int hook_calls;

static struct addrinfo *numeric(const char *addr)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;

	CHECK_INT(getaddrinfo(addr, NULL, &hints, &ai), ==, 0);
	return ai;
}

/* glibc's freeaddrinfo frees a list node by node, so lists can be joined. */
static struct addrinfo *join(struct addrinfo *a, struct addrinfo *b)
{
	struct addrinfo *p = a;

	while (p->ai_next)
		p = p->ai_next;
	p->ai_next = b;
	return a;
}

static struct addrinfo *hook(const char *host, struct addrinfo *ai)
{
	(void)host;
	hook_calls++;
	if (prepend_addr)
		ai = join(numeric(prepend_addr), ai);
	if (append_addr)
		ai = join(ai, numeric(append_addr));
	return ai;
}

static void test_unreachable_first(void)
{
	struct echo e = {0};
	struct ucs_listener *l = nt_listen(NULL, "reach", UCS_TLS_PLAIN, NULL, NULL, &e);
	int port = net->listener_port(l);
	struct client cl;

	/* 224.0.0.1 first: connect() fails at once, 127.0.0.1 is served */
	prepend_addr = "224.0.0.1";
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK(RUN_UNTIL(cl.connected || cl.closed, 5000));
	CHECK(cl.connected);
	CHECK_INT(cl.err, ==, 0);
	if (cl.connected) {
		CHECK(nt_echo_roundtrip(&cl, "second address\n"));
		net->close(cl.conn);
	}
	net->listener_close(l);
	nt_run_for(50);

	/* refused, then unreachable: the refusal is what is reported */
	prepend_addr = NULL;
	append_addr = "224.0.0.1";
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK(RUN_UNTIL(cl.closed, 5000));
	CHECK_INT(cl.err, ==, -ECONNREFUSED);

	/* unreachable, then refused: the same */
	prepend_addr = "224.0.0.1";
	append_addr = NULL;
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", port, NULL, NULL, false), ==, 0);
	CHECK(RUN_UNTIL(cl.closed, 5000));
	CHECK_INT(cl.err, ==, -ECONNREFUSED);
	prepend_addr = NULL;
}

static void test_close_before_open(bool tls)
{
	struct echo e = {0};
	struct ucs_listener *l =
		nt_listen(NULL, "early", tls ? UCS_TLS_REQUIRED : UCS_TLS_PLAIN, NULL, NULL, &e);
	struct client cl;

	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", net->listener_port(l), tls ? "ca.crt" : NULL,
			     NULL, false),
		  ==, 0);
	CHECK_INT(net->send(cl.conn, "early bird", 10), ==, 0);
	net->close(cl.conn);
	CHECK(RUN_UNTIL(e.bytes == 10 && e.closed == 1, 5000));
	CHECK_INT(e.bytes, ==, 10);
	CHECK_INT(e.closed, ==, 1);
	CHECK(!cl.closed); /* no callback after close() */
	net->listener_close(l);
	nt_run_for(50);
}

static void test_invalid(void)
{
	struct client cl;

	char *log;

	hook_calls = 0;
	nt_capture_begin();
	CHECK_INT(nt_connect(NULL, &cl, "server.example.invalid", 5222, NULL, NULL, false), ==, 0);
	CHECK(!cl.closed); /* never inside the call */
	CHECK(RUN_UNTIL(cl.closed, 5000));
	log = nt_capture_end();
	CHECK_INT(cl.err, ==, -ENOENT);
	/* nobody was asked: no lookup answered, none failed */
	CHECK_INT(hook_calls, ==, 0);
	CHECK(!strstr(log, "cannot resolve"));
	CHECK_CONTAINS(log, "server.example.invalid is an invalid name");

	CHECK_INT(nt_connect(NULL, &cl, "localhost", 5222, "ca.crt", "", false), ==, -EINVAL);
}

/* Does the ClientHello a client session sends first carry server_name?
 * 1 yes, 0 no, -1 it could not be parsed. */
static int hello_has_sni(const char *hostname)
{
	struct core_tls_conf *conf;
	struct core_tls *tls;
	char why[300];
	uint8_t *out, *p, *end;
	size_t len, n;
	int has = -1;

	if (core_tls_conf_client(&conf, NULL, false, NULL, NULL, why, sizeof(why)))
		return -1;
	CHECK_INT(core_tls_new(&tls, conf, hostname), ==, 0);
	CHECK_INT(core_tls_handshake(tls), ==, -EAGAIN);
	out = core_tls_take_output(tls, &len);
	/* record header 5, handshake header 4, version 2, random 32 */
	if (!out || len < 5 + 4 + 2 + 32 + 1)
		goto out;
	p = out + 5 + 4 + 2 + 32;
	end = out + len;
	p += 1 + p[0]; /* session id */
	if (p + 2 > end)
		goto out;
	p += 2 + (p[0] << 8 | p[1]); /* cipher suites */
	if (p + 1 > end)
		goto out;
	p += 1 + p[0]; /* compression methods */
	if (p + 2 > end)
		goto out;
	p += 2; /* extensions length */
	has = 0;
	while (p + 4 <= end) {
		if (p[0] == 0 && p[1] == 0) /* server_name */
			has = 1;
		n = (size_t)(p[2] << 8 | p[3]);
		p += 4 + n;
	}
out:
	free(out);
	core_tls_free(tls);
	core_tls_conf_unref(conf);
	return has;
}

/* RFC 6066 3: "Literal IPv4 and IPv6 addresses are not permitted". */
static void test_no_sni_for_address(void)
{
	struct echo e = {0};
	struct ucs_listener *l = nt_listen(NULL, "by-address", UCS_TLS_REQUIRED, NULL, NULL, &e);
	struct client cl;

	CHECK_INT(hello_has_sni("localhost"), ==, 1);
	CHECK_INT(hello_has_sni("127.0.0.1"), ==, 0);
	CHECK_INT(hello_has_sni("::1"), ==, 0);
	/* and the address is still verified: IP:127.0.0.1 passes, 127.0.0.2
	 * (connected to 127.0.0.1 but named) does not */
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", net->listener_port(l), "ca.crt", NULL, false),
		  ==, 0);
	CHECK(nt_echo_roundtrip(&cl, "by address\n"));
	net->close(cl.conn);
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", net->listener_port(l), "ca.crt", "127.0.0.2",
			     false),
		  ==, 0);
	CHECK(RUN_UNTIL(cl.closed, 5000));
	CHECK_INT(cl.err, ==, -EACCES);
	net->listener_close(l);
	nt_run_for(50);
}

int main(void)
{
	nt_setup();
	core_net_set_resolved_hook(hook);
	test_unreachable_first();
	test_close_before_open(false);
	test_close_before_open(true);
	test_invalid();
	test_no_sni_for_address();
	core_net_set_resolved_hook(NULL);
	return nt_finish();
}
