/*
 * tools/pbxsim/scenario.h - scripted scenarios from a JSON file.
 *
 * {"extensions": ["100-199"], "start": "immediately" | "monitor",
 *  "steps": [{"at_ms": 0, "do": "call +4989123456 120"}, ...]}
 * Each step's "do" is a control command. at_ms counts from the start: the
 * first answered MonitorStart (default), or pbxsim's start with
 * "start": "immediately". A "wait MS" step delays every later step by MS.
 * Steps run in file order; a step whose time has passed runs at once.
 */
#ifndef PBXSIM_SCENARIO_H
#define PBXSIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct sim;
struct model;

struct scen_step {
	uint64_t at_ms;
	char *cmd;
};

struct scenario {
	struct scen_step *steps;
	size_t n;
	bool immediately;
	char **ext_specs; /* "extensions" entries */
	size_t next_ext;
	size_t next; /* next step to run */
	bool started;
	uint64_t t0;	/* loop time of the start */
	uint64_t shift; /* accumulated "wait" */
};

/* Parses a scenario document. 0 or -EINVAL with a message in err. */
int scenario_parse(struct scenario *sc, const char *text, size_t len, struct sbuf *err);
void scenario_free(struct scenario *sc);
/* Starts running the steps (idempotent). */
void scenario_start(struct sim *s);

#endif
