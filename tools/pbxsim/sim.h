/*
 * tools/pbxsim/sim.h - the simulator as one object.
 *
 * pbxsim is a single-threaded libuv program. struct sim holds the options,
 * the call model, the timer heap, the CSTA server with its links and
 * monitors, the control port, the scenario and the load generator; every
 * module gets the sim and reaches the others through it.
 */
#ifndef PBXSIM_SIM_H
#define PBXSIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "control.h"
#include "csta.h"
#include "events.h"
#include "load.h"
#include "model.h"
#include "scenario.h"
#include "timerq.h"

struct opts {
	const char *bind;
	int port;
	int control; /* -1 = no control port */
	const char *scenario;
	double load_cps;
	double load_duration_s; /* 0 = until stopped */
	unsigned load_hold_ms;
	unsigned load_ring_ms;
	unsigned load_internal_pct;
	long long monitor_limit; /* -1 = none */
	bool require_session;
	const char *user;
	const char *password;
	unsigned keepalive_s;
	int edition;
	unsigned noanswer_s;
	bool no_lci; /* --no-local-connection-info: events without localConnectionInfo */
	int verbose;
};

struct sim {
	uv_loop_t *loop;
	struct opts o;
	struct model m;
	struct sched sched;
	struct csta csta;
	struct control ctl;
	struct scenario scen;
	struct load load;
	struct ev ev;	     /* the event being built (one at a time) */
	struct sbuf scratch; /* document assembly */
	uv_signal_t sigterm, sigint;
	bool stopping;
	bool quiet; /* fuzz targets: no log lines */
	int exit_code;
};

/* Begins the orderly shutdown (closes every handle; the loop then ends). */
void sim_stop(struct sim *s);
/* -v logging of a document: dir is '>' (sent) or '<' (received). */
void sim_log_doc(struct sim *s, char dir, const char invoke[4], const char *xml, size_t len);
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called when the first MonitorStart was answered (scenario start). */
void sim_session_ready(struct sim *s);

#endif
