/*
 * tools/pbxsim/timerq.h - timed actions on one libuv timer.
 *
 * Everything pbxsim does later (no-answer forwarding, the answer and clear
 * of load calls, scenario steps, the end of a stall) is an entry in one
 * binary heap ordered by due time, driven by a single uv_timer re-armed for
 * the earliest entry. Entries refer to calls by id and devices by number,
 * never by pointer, so an action whose call has gone meanwhile finds
 * nothing and does nothing.
 */
#ifndef PBXSIM_TIMERQ_H
#define PBXSIM_TIMERQ_H

#include <stdint.h>
#include <uv.h>

#include "model.h"

struct sim;
struct sched_ent;

typedef void (*sched_fn)(struct sim *s, const struct sched_ent *e);

struct sched_ent {
	uint64_t due;
	uint64_t seq;
	sched_fn fn;
	uint32_t callid;
	uint32_t arg;
	char dev[NUM_MAX];
};

struct sched {
	uv_timer_t timer;
	struct sched_ent *heap;
	size_t len, cap;
	uint64_t seq;
	uint64_t armed; /* due time the timer is armed for, 0 = not armed */
};

int sched_init(struct sim *s);
void sched_close(struct sim *s);
/* 0 or -ENOMEM. dev may be NULL. */
int sched_add(struct sim *s, uint64_t delay_ms, sched_fn fn, uint32_t callid, uint32_t arg,
	      const char *dev);

#endif
