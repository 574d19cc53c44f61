/* tools/pbxsim/load.c - the load generator (see load.h). */
#include "load.h"

#include <stdio.h>
#include <string.h>

#include "sim.h"

#define TICK_MS 5

static uint32_t rnd(struct load *l)
{
	uint32_t x = l->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	l->rng = x;
	return x;
}

/* A random extension with no call at all (other than except), or NULL when
 * there is none: one pick from the model's idle list, O(1). */
static struct device *idle_ext(struct sim *s, struct device *except)
{
	struct model *m = &s->m;
	size_t n = m->nidle, i;

	if (except && except->idle_pos >= 0)
		n--; /* except is in the list: one fewer to choose from */
	if (n == 0)
		return NULL;
	i = rnd(&s->load) % m->nidle;
	if (m->idle[i] == except)
		i = (i + 1) % m->nidle;
	return m->idle[i];
}

static void load_clear(struct sim *s, const struct sched_ent *e)
{
	struct call *c = model_call_id(&s->m, e->callid);

	if (c && c->conns)
		op_clear_conn(s, c->conns);
}

static void load_answer(struct sim *s, const struct sched_ent *e)
{
	struct call *c = model_call_id(&s->m, e->callid);

	if (!c)
		return;
	for (struct conn *x = c->conns; x; x = x->cnext) {
		if (x->st == CS_ALERTING) {
			op_answer(s, x);
			break;
		}
	}
	sched_add(s, s->o.load_hold_ms, load_clear, e->callid, 0, NULL);
}

static void load_one(struct sim *s)
{
	struct load *l = &s->load;
	struct device *to = idle_ext(s, NULL), *from = NULL;
	struct call *c = NULL;
	char ext[NUM_MAX];

	if (!to) {
		l->skipped++;
		return;
	}
	if (rnd(l) % 100 < s->o.load_internal_pct)
		from = idle_ext(s, to);
	if (from) {
		snprintf(ext, sizeof(ext), "%s", from->num);
	} else {
		l->ext_counter = (l->ext_counter + 1) % 10000000;
		snprintf(ext, sizeof(ext), "+4930%07llu", (unsigned long long)l->ext_counter);
	}
	l->attempts++;
	if (op_make_call(s, ext, to->num, &c) == 0 && c)
		sched_add(s, s->o.load_ring_ms, load_answer, c->id, 0, NULL);
}

static void on_tick(uv_timer_t *t)
{
	struct sim *s = t->data;
	struct load *l = &s->load;
	uint64_t now = uv_now(s->loop);
	double want;
	long n;

	if (s->o.load_duration_s > 0 &&
	    (double)(now - l->started) >= s->o.load_duration_s * 1000.0) {
		uv_timer_stop(t);
		l->running = false;
		sim_log(s,
			"load: generation ends after %llu attempts (%llu skipped: no idle extension)",
			(unsigned long long)l->attempts, (unsigned long long)l->skipped);
		return;
	}
	want = s->o.load_cps * (double)(now - l->last) / 1000.0 + l->carry;
	l->last = now;
	/* After a long stall do not make up for more than one second. */
	if (want > s->o.load_cps)
		want = s->o.load_cps;
	n = (long)want;
	l->carry = want - (double)n;
	while (n-- > 0 && !s->stopping)
		load_one(s);
}

int load_start(struct sim *s)
{
	struct load *l = &s->load;
	int err;

	memset(l, 0, sizeof(*l));
	if (s->m.nexts == 0)
		return 0;
	err = uv_timer_init(s->loop, &l->timer);
	if (err)
		return err;
	l->timer.data = s;
	l->rng = 0x9e3779b9u;
	l->started = l->last = uv_now(s->loop);
	l->running = true;
	sim_log(s, "load: %.0f calls/s, ring %u ms, hold %u ms, %u%% internal", s->o.load_cps,
		s->o.load_ring_ms, s->o.load_hold_ms, s->o.load_internal_pct);
	return uv_timer_start(&l->timer, on_tick, TICK_MS, TICK_MS);
}

void load_close(struct sim *s)
{
	struct load *l = &s->load;

	if (l->timer.loop && !uv_is_closing((uv_handle_t *)&l->timer)) {
		uv_timer_stop(&l->timer);
		uv_close((uv_handle_t *)&l->timer, NULL);
	}
}
