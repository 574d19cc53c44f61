/*
 * tests/unit/net/net_order.c - a tls-optional listener holds the sniffed
 * first chunk of a plain connection; what libuv reads after it in the same
 * batch (it goes on after a full 64 KiB buffer), and an EOF in that batch,
 * must wait for it: 300 KiB arrive complete and in order, with and without
 * the peer closing right after sending.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "nettest.h"

#define TOTAL (300 * 1024)

static uint8_t got[TOTAL + 65536];
static size_t ngot;
static int closed, close_err;

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i / 4096 + 'A');
}

static void order_data(struct ucs_conn *c, const uint8_t *p, size_t n, void *a)
{
	(void)c;
	(void)a;
	if (ngot + n <= sizeof(got))
		memcpy(got + ngot, p, n);
	ngot += n;
}

static void order_close(struct ucs_conn *c, int err, void *a)
{
	(void)c;
	(void)a;
	closed = 1;
	close_err = err;
}

static const struct ucs_conn_handlers order_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = order_data,
	.on_close = order_close,
};

static void order_accept(struct ucs_listener *l, struct ucs_conn *c, void *a)
{
	(void)l;
	(void)a;
	net->set_handlers(c, &order_handlers, NULL);
}

static void __attribute__((noreturn)) sender(int port, bool fin)
{
	static uint8_t buf[TOTAL];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	size_t off = 0;

	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		_exit(2);
	for (size_t i = 0; i < TOTAL; i++)
		buf[i] = pattern(i);
	while (off < TOTAL) {
		ssize_t r = send(s, buf + off, TOTAL - off, 0);

		if (r <= 0)
			_exit(3);
		off += (size_t)r;
	}
	if (fin)
		shutdown(s, SHUT_WR);
	sleep(5);
	_exit(0);
}

static void run(bool fin)
{
	char certp[300], keyp[300];
	struct ucs_listen_opts o = {.size = sizeof(o),
				    .name = "order",
				    .address = "127.0.0.1",
				    .tls = UCS_TLS_OPTIONAL,
				    .cert_file = certp,
				    .key_file = keyp};
	struct ucs_listener *l;
	size_t bad = (size_t)-1;
	pid_t pid;

	ngot = 0;
	closed = 0;
	close_err = 1;
	nt_path(certp, sizeof(certp), "server.crt");
	nt_path(keyp, sizeof(keyp), "server.key");
	CHECK_INT(net->listen(NULL, &l, &o, order_accept, NULL), ==, 0);
	pid = fork();
	if (!pid)
		sender(net->listener_port(l), fin);
	/* let the peer fill the socket before the loop reads: one batch */
	usleep(500000);
	RUN_UNTIL(fin ? closed : ngot >= TOTAL, 5000);
	for (size_t i = 0; i < ngot && i < TOTAL; i++) {
		if (got[i] != pattern(i)) {
			bad = i;
			break;
		}
	}
	CHECK_INT(ngot, ==, TOTAL);
	CHECK_INT(bad, ==, (size_t)-1);
	if (fin) {
		CHECK(closed);
		CHECK_INT(close_err, ==, 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	net->listener_close(l);
	nt_run_for(50);
}

int main(void)
{
	nt_setup();
	run(false);
	run(true);
	return nt_finish();
}
