/*
 * tests/unit/net/net_backpressure.c - a peer that writes megabytes to a
 * plugin that paused reading. While paused nothing is read (the bytes wait
 * in the sender's queue, which pending() shows, not in the server), on
 * resume everything arrives and on_drain tells the sender. Pausing from
 * inside on_data holds the rest, plain and TLS (where decrypted input
 * already held by the session must wait too).
 */
#include "nettest.h"

#define TOTAL (16u << 20)
#define CHUNK (64u << 10)

struct sink {
	struct ucs_conn *conn;
	size_t got, calls;
	bool pause_each; /* pause inside every on_data */
};

static void sink_data(struct ucs_conn *c, const uint8_t *d, size_t n, void *arg)
{
	struct sink *s = arg;

	(void)d;
	s->got += n;
	s->calls++;
	if (s->pause_each)
		net->pause_read(c);
}

static void sink_close(struct ucs_conn *c, int err, void *arg)
{
	struct sink *s = arg;

	(void)c;
	(void)err;
	s->conn = NULL;
}

static const struct ucs_conn_handlers sink_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = sink_data,
	.on_close = sink_close,
};

static void sink_accept(struct ucs_listener *l, struct ucs_conn *c, void *arg)
{
	struct sink *s = arg;

	(void)l;
	s->conn = c;
	net->set_handlers(c, &sink_handlers, s);
	net->pause_read(c);
}

static void flood(struct client *cl, size_t total)
{
	static uint8_t chunk[CHUNK];

	for (size_t sent = 0; sent < total; sent += CHUNK)
		CHECK_INT(net->send(cl->conn, chunk, CHUNK), ==, 0);
}

static void test_paused_plain(void)
{
	struct ucs_listen_opts o = {.size = sizeof(o), .name = "bp", .address = "127.0.0.1"};
	struct ucs_listener *l;
	struct sink s = {0};
	struct client cl;

	CHECK_INT(net->listen(NULL, &l, &o, sink_accept, &s), ==, 0);
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", net->listener_port(l), NULL, NULL, false), ==,
		  0);
	CHECK(RUN_UNTIL(cl.connected && s.conn, 5000));
	flood(&cl, TOTAL);
	nt_run_for(1000);
	/* paused at accept: not one byte read; the kernel buffers hold a few MB,
	 * the rest waits at the sender */
	CHECK_INT(s.got, ==, 0);
	CHECK(net->pending(cl.conn) > TOTAL / 2);
	CHECK(!cl.drained);

	net->resume_read(s.conn);
	CHECK(RUN_UNTIL(s.got == TOTAL, 20000));
	CHECK_INT(s.got, ==, TOTAL);
	CHECK(RUN_UNTIL(cl.drained, 5000));
	CHECK_INT(net->pending(cl.conn), ==, 0);

	/* paused from inside on_data: one delivery, then nothing until resumed */
	s.pause_each = true;
	s.calls = 0;
	s.got = 0;
	net->resume_read(s.conn);
	flood(&cl, 4 * CHUNK);
	RUN_UNTIL(s.calls > 0, 5000);
	nt_run_for(300);
	CHECK_INT(s.calls, ==, 1);
	s.pause_each = false;
	net->resume_read(s.conn);
	CHECK(RUN_UNTIL(s.got == 4 * CHUNK, 5000));

	net->close(cl.conn);
	CHECK(RUN_UNTIL(s.conn == NULL, 5000));
	net->listener_close(l);
}

static void test_paused_tls(void)
{
	char cert[300], key[300];
	struct ucs_listen_opts o = {.size = sizeof(o),
				    .name = "bp-tls",
				    .address = "127.0.0.1",
				    .tls = UCS_TLS_REQUIRED,
				    .cert_file = cert,
				    .key_file = key};
	struct ucs_listener *l;
	struct sink s = {.pause_each = true};
	struct client cl;
	size_t total = 2u << 20;

	nt_path(cert, sizeof(cert), "server.crt");
	nt_path(key, sizeof(key), "server.key");
	CHECK_INT(net->listen(NULL, &l, &o, sink_accept, &s), ==, 0);
	CHECK_INT(nt_connect(NULL, &cl, "127.0.0.1", net->listener_port(l), "ca.crt", "localhost",
			     false),
		  ==, 0);
	CHECK(RUN_UNTIL(cl.connected && s.conn, 5000));
	flood(&cl, total);
	nt_run_for(200);
	CHECK_INT(s.got, ==, 0);
	/* one record per resume: each resume must deliver what the session holds */
	for (int i = 0; i < 10000 && s.got < total && s.conn; i++) {
		size_t before = s.calls;

		net->resume_read(s.conn);
		RUN_UNTIL(s.calls > before, 2000);
		CHECK_INT(s.calls, ==, before + 1);
		if (s.calls != before + 1)
			break;
	}
	CHECK_INT(s.got, ==, total);
	/* a paused reader does not notice the peer leave: resume to see it */
	s.pause_each = false;
	net->resume_read(s.conn);
	net->close(cl.conn);
	CHECK(RUN_UNTIL(s.conn == NULL, 5000));
	net->listener_close(l);
}

int main(void)
{
	nt_setup();
	test_paused_plain();
	test_paused_tls();
	return nt_finish();
}
