/*
 * tests/unit/net/net_abuse.c - peers that misbehave on a tls-required
 * listener: random bytes, a record header followed by junk, a partial
 * ClientHello that stalls, a ClientHello dripped one byte per 100 ms, and a
 * crowd of stalled connections. A good client still completes an echo at
 * once (the loop never waits on them), the junk is closed at once, and the
 * handshake deadline (300 ms here) closes the slow ones although they keep
 * sending.
 */
#include "nettest.h"

#define CROWD	    20
#define DEADLINE_MS 300

static const uint8_t partial_hello[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, /* handshake record, 512 bytes announced */
	0x01, 0x00, 0x01, 0xfc,	      /* ClientHello, 508 bytes */
	0x03, 0x03, 0x11, 0x22, 0x33, 0x44,
};

int main(void)
{
	struct echo e = {0};
	struct ucs_listener *l;
	struct raw garbage, junk, stall, drip, crowd[CROWD];
	uint8_t noise[4096];
	struct client good;
	uint64_t t0, good_at;
	char *log;
	int port;

	nt_setup();
	core_net_set_handshake_timeout(DEADLINE_MS);
	l = nt_listen(NULL, "abuse", UCS_TLS_REQUIRED, NULL, NULL, &e);
	port = net->listener_port(l);
	srand(42);
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rand();
	noise[0] = 0x42; /* not a TLS record: refused as plain */

	nt_capture_begin();
	raw_connect(&garbage, port);
	raw_connect(&junk, port);
	raw_connect(&stall, port);
	raw_connect(&drip, port);
	for (int i = 0; i < CROWD; i++)
		raw_connect(&crowd[i], port);
	RUN_UNTIL(garbage.connected && junk.connected && stall.connected && drip.connected, 5000);
	t0 = nt_now_ms();
	raw_send(&garbage, noise, sizeof(noise));
	noise[0] = 0x16; /* a handshake record header, then nonsense */
	noise[1] = 0x03;
	noise[2] = 0x03;
	noise[3] = 0x00;
	noise[4] = 0x40;
	noise[5] = 0x63; /* no such handshake message */
	raw_send(&junk, noise, sizeof(noise));
	raw_send(&stall, partial_hello, sizeof(partial_hello));
	raw_drip(&drip, partial_hello, sizeof(partial_hello), 100);
	for (int i = 0; i < CROWD; i++)
		if (crowd[i].connected)
			raw_send(&crowd[i], partial_hello, 3);

	/* the good client, while all of the above are connected */
	CHECK_INT(nt_connect(NULL, &good, "localhost", port, "ca.crt", NULL, false), ==, 0);
	CHECK(nt_echo_roundtrip(&good, "served promptly\n"));
	good_at = nt_now_ms();
	CHECK(good_at - t0 < 1000);
	CHECK(!stall.closed);

	CHECK(RUN_UNTIL(garbage.closed && junk.closed && stall.closed && drip.closed, 5000));
	for (int i = 0; i < CROWD; i++)
		CHECK(RUN_UNTIL(crowd[i].closed, 3000));
	log = nt_capture_end();

	CHECK(garbage.closed_at - t0 < DEADLINE_MS);
	CHECK(junk.closed_at - t0 < DEADLINE_MS);
	CHECK(stall.closed_at - t0 >= DEADLINE_MS - 50);
	CHECK(stall.closed_at - t0 < 2000);
	CHECK(drip.closed_at - t0 >= DEADLINE_MS - 50);
	CHECK(drip.closed_at - t0 < 2000);
	CHECK(drip.drip_off < sizeof(partial_hello)); /* it was still sending */
	CHECK(good_at < stall.closed_at);
	CHECK_INT(e.accepted, ==, 1);
	CHECK_CONTAINS(log, "refused plain connection from 127.0.0.1:");
	CHECK_CONTAINS(log, "abuse: TLS handshake with 127.0.0.1:");
	CHECK_CONTAINS(log, "abuse: no TLS handshake from 127.0.0.1:");

	/* and the good client is still fine after all of it */
	CHECK(nt_echo_roundtrip(&good, "still here\n"));
	net->close(good.conn);
	raw_close(&garbage);
	raw_close(&junk);
	raw_close(&stall);
	raw_close(&drip);
	for (int i = 0; i < CROWD; i++)
		raw_close(&crowd[i]);
	net->listener_close(l);
	nt_run_for(20);
	return nt_finish();
}
