/*
 * tests/unit/net/net_loglimit.c - peers decide how often some lines are
 * written, so those are rate limited per listener and kind: a burst of plain
 * connections to a tls-required listener writes one line, and the next one
 * allowed (a second later) says how many were left out.
 */
#include "nettest.h"

#define BURST 20

static size_t count(const char *text, const char *what)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

int main(void)
{
	struct echo e = {0};
	struct ucs_listener *l;
	struct raw r[BURST + 1];
	char *log;
	int port;

	nt_setup();
	l = nt_listen(NULL, "limited", UCS_TLS_REQUIRED, NULL, NULL, &e);
	port = net->listener_port(l);
	nt_capture_begin();
	for (int i = 0; i < BURST; i++)
		raw_connect(&r[i], port);
	for (int i = 0; i < BURST; i++) {
		RUN_UNTIL(r[i].connected || r[i].closed, 2000);
		raw_send(&r[i], "HELLO\r\n", 7);
	}
	for (int i = 0; i < BURST; i++)
		RUN_UNTIL(r[i].closed, 2000);
	nt_run_for(1100);
	raw_connect(&r[BURST], port);
	RUN_UNTIL(r[BURST].connected || r[BURST].closed, 2000);
	raw_send(&r[BURST], "HELLO\r\n", 7);
	RUN_UNTIL(r[BURST].closed, 2000);
	log = nt_capture_end();
	CHECK_INT(count(log, "refused plain connection"), ==, 2);
	CHECK_CONTAINS(log, "limited: 19 similar lines suppressed");
	for (int i = 0; i <= BURST; i++)
		raw_close(&r[i]);
	net->listener_close(l);
	nt_run_for(50);
	return nt_finish();
}
