/*
 * tools/pbxsim/load.h - the load generator (--load CALLS_PER_S).
 *
 * A 5 ms uv_timer creates calls at the requested rate (fractions carry
 * over): each targets a random idle extension, picked in O(1) from the
 * model's list of extensions without a connection (when there is none the
 * attempt is skipped, not queued, and counted in `stats` skipped=N), comes
 * from an outside number or, for --load-internal-pct percent, from another
 * idle extension, rings --load-ring-ms, is answered,
 * lasts --load-hold-ms and is cleared by the caller. The answer and the
 * clear are entries of the timer heap. Generation stops after
 * --load-duration-s (calls in progress finish normally).
 */
#ifndef PBXSIM_LOAD_H
#define PBXSIM_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct sim;

struct load {
	uv_timer_t timer;
	bool running;
	uint64_t started;
	uint64_t last;
	double carry;
	uint64_t attempts, skipped;
	uint32_t rng;
	uint64_t ext_counter;
};

int load_start(struct sim *s);
void load_close(struct sim *s);

#endif
