/*
 * tools/pbxsim/control.h - the control port and its command language.
 *
 * A line protocol on TCP (--control PORT): one command per line, one reply
 * line each, "ok[ WORDS]" or "error WORDS". The same commands are the "do"
 * strings of scenario steps, so ctl_exec() serves both. The commands act
 * on the call model like a user at a phone or an outside caller would
 * (call - also "call anonymous TO" for a withheld caller -, answer, hangup,
 * hold, retrieve, pickup, deflect, forward, dnd), inspect it (state,
 * monitors, stats), inject faults or quit. See docs/tools/pbxsim.md.
 */
#ifndef PBXSIM_CONTROL_H
#define PBXSIM_CONTROL_H

#include <uv.h>

#include "sbuf.h"

struct sim;

struct ctl_client {
	uv_tcp_t tcp;
	struct sim *sim;
	struct ctl_client *prev, *next;
	struct sbuf in;
	bool closing;
	bool skipping; /* inside a line that is too long: dropped up to its newline */
};

struct control {
	uv_tcp_t server;
	bool listening;
	struct ctl_client *clients;
};

int control_start(struct sim *s, const char *bind, int port, int *bound);
void control_close(struct sim *s);
/* Runs one command; the reply line (without newline) goes to reply.
 * scenario: allows "wait" (the caller handles it; returns 1). */
int ctl_exec(struct sim *s, const char *line, struct sbuf *reply, bool scenario);

#endif
