/*
 * tests/unit/net/net_flood.c - peers that send but never read must not make
 * the server queue without end. A TLS client that sends handshake records
 * full of empty ClientHellos after the handshake (each refused with an
 * alert, no plaintext for the plugin to see) is closed once the alerts pass
 * 64 KiB; a plain client of an echo service that never reads stops being
 * read from at the high-water mark and gets all its echo once it reads.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>

#include "nettest.h"

static struct ucs_conn *srv;
static size_t delivered, most_pending;
static int closed, close_err;

static void flood_data(struct ucs_conn *c, const uint8_t *p, size_t n, void *a)
{
	(void)c;
	(void)p;
	(void)a;
	delivered += n;
}

static void flood_close(struct ucs_conn *c, int err, void *a)
{
	(void)c;
	(void)a;
	closed = 1;
	close_err = err;
	srv = NULL;
}

static const struct ucs_conn_handlers flood_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = flood_data,
	.on_close = flood_close,
};

static void flood_accept(struct ucs_listener *l, struct ucs_conn *c, void *a)
{
	(void)l;
	(void)a;
	srv = c;
	net->set_handlers(c, &flood_handlers, NULL);
}

/* The child: a TLS client that writes records of 4000 empty ClientHellos
 * (01 00 00 00) each through mbedtls' record layer, then sleeps. */
static void __attribute__((noreturn)) hello_flood(int port, int records)
{
	mbedtls_net_context fd;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	char ps[8];
	int r;

	mbedtls_net_init(&fd);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0);
	snprintf(ps, sizeof(ps), "%d", port);
	if (mbedtls_net_connect(&fd, "127.0.0.1", ps, MBEDTLS_NET_PROTO_TCP))
		_exit(2);
	mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
				    MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_setup(&ssl, &conf);
	mbedtls_ssl_set_bio(&ssl, &fd, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			_exit(3);
	for (int i = 0; i < records; i++) {
		ssl.out_msgtype = MBEDTLS_SSL_MSG_HANDSHAKE;
		ssl.out_msglen = 16000;
		for (size_t k = 0; k < 16000; k += 4) {
			ssl.out_msg[k] = 1;
			ssl.out_msg[k + 1] = ssl.out_msg[k + 2] = ssl.out_msg[k + 3] = 0;
		}
		if (mbedtls_ssl_write_record(&ssl, 1))
			break; /* the server closed: what this test wants */
	}
	sleep(30);
	_exit(0);
}

static bool watch_closed(void)
{
	if (srv && net->pending(srv) > most_pending)
		most_pending = net->pending(srv);
	return closed;
}

static void test_hello_flood(void)
{
	char certp[300], keyp[300];
	struct ucs_listen_opts o = {.size = sizeof(o),
				    .name = "flood",
				    .address = "127.0.0.1",
				    .tls = UCS_TLS_REQUIRED,
				    .cert_file = certp,
				    .key_file = keyp};
	struct ucs_listener *l;
	char *log;
	pid_t pid;

	nt_path(certp, sizeof(certp), "server.crt");
	nt_path(keyp, sizeof(keyp), "server.key");
	CHECK_INT(net->listen(NULL, &l, &o, flood_accept, NULL), ==, 0);
	pid = fork();
	if (!pid)
		hello_flood(net->listener_port(l), 400); /* 6.4 MB of ClientHellos */
	nt_capture_begin();
	RUN_UNTIL(watch_closed(), 8000);
	log = nt_capture_end();
	CHECK(closed);
	CHECK_INT(close_err, ==, -EPROTO);
	CHECK_INT(delivered, ==, 0);
	/* one 64 KiB read of ClientHellos is answered with at most ~500 KB */
	CHECK(most_pending < (2u << 20));
	CHECK_CONTAINS(log, "bytes of TLS alerts, closing");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	net->listener_close(l);
	nt_run_for(50);
}

/* --- an echo client that never reads -------------------------------------- */

#define LIMIT_HIGH (256u << 10)
#define LIMIT_LOW  (64u << 10)
#define SEND_TOTAL (24u << 20)

static struct echo echo_state;
static int raw_fd = -1;
static size_t raw_sent, raw_got;
static uint8_t raw_buf[65536];

/* Writes what the socket takes; true once everything went. */
static bool raw_push(void)
{
	while (raw_sent < SEND_TOTAL) {
		size_t n = SEND_TOTAL - raw_sent < sizeof(raw_buf) ? SEND_TOTAL - raw_sent
								   : sizeof(raw_buf);
		ssize_t w = send(raw_fd, raw_buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			break;
		raw_sent += (size_t)w;
	}
	if (echo_state.last && net->pending(echo_state.last) > most_pending)
		most_pending = net->pending(echo_state.last);
	return raw_sent == SEND_TOTAL;
}

static bool raw_pull(void)
{
	ssize_t r;

	raw_push();
	while ((r = recv(raw_fd, raw_buf, sizeof(raw_buf), MSG_DONTWAIT)) > 0)
		raw_got += (size_t)r;
	return raw_got == SEND_TOTAL;
}

static void test_echo_never_read(void)
{
	struct ucs_listener *l = nt_listen(NULL, "sink", UCS_TLS_PLAIN, NULL, NULL, &echo_state);
	struct sockaddr_in sa = {.sin_family = AF_INET};

	core_net_set_write_limits(LIMIT_HIGH, LIMIT_LOW);
	most_pending = 0;
	raw_fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((uint16_t)net->listener_port(l));
	sa.sin_addr.s_addr = htonl(0x7f000001);
	CHECK_INT(connect(raw_fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	CHECK(RUN_UNTIL(echo_state.last, 5000));
	/* the kernel buffers hold a few MB both ways; the rest must wait at
	 * the sender, not in the server's write queue */
	RUN_UNTIL(raw_push() && false, 3000);
	CHECK(raw_sent < SEND_TOTAL);
	CHECK(most_pending > 0);
	CHECK(most_pending <= LIMIT_HIGH + 65536);
	/* reading again drains it and everything comes back */
	CHECK(RUN_UNTIL(raw_pull(), 30000));
	CHECK_INT(raw_got, ==, SEND_TOTAL);
	CHECK(most_pending <= LIMIT_HIGH + 65536);
	close(raw_fd);
	CHECK(RUN_UNTIL(echo_state.closed == 1, 5000));
	core_net_set_write_limits(0, 0);
	net->listener_close(l);
	nt_run_for(50);
}

int main(void)
{
	nt_setup();
	test_hello_flood();
	test_echo_never_read();
	return nt_finish();
}
