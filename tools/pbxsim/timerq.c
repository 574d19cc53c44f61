/* tools/pbxsim/timerq.c - the timer heap (see timerq.h). */
#include "timerq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static bool before(const struct sched_ent *a, const struct sched_ent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(struct sched_ent *a, struct sched_ent *b)
{
	struct sched_ent t = *a;

	*a = *b;
	*b = t;
}

static void sift_up(struct sched *q, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!before(&q->heap[i], &q->heap[p]))
			break;
		swap(&q->heap[i], &q->heap[p]);
		i = p;
	}
}

static void sift_down(struct sched *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->len && before(&q->heap[l], &q->heap[m]))
			m = l;
		if (r < q->len && before(&q->heap[r], &q->heap[m]))
			m = r;
		if (m == i)
			break;
		swap(&q->heap[i], &q->heap[m]);
		i = m;
	}
}

static void on_timer(uv_timer_t *t);

static void rearm(struct sim *s)
{
	struct sched *q = &s->sched;
	uint64_t now = uv_now(s->loop);

	if (q->len == 0) {
		uv_timer_stop(&q->timer);
		q->armed = 0;
		return;
	}
	if (q->armed == q->heap[0].due)
		return;
	q->armed = q->heap[0].due;
	uv_timer_start(&q->timer, on_timer, q->heap[0].due > now ? q->heap[0].due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct sim *s = t->data;
	struct sched *q = &s->sched;
	uint64_t now = uv_now(s->loop);
	/* Bounded per round so a huge backlog cannot stall the loop. */
	int budget = 20000;

	q->armed = 0;
	while (q->len > 0 && q->heap[0].due <= now && budget-- > 0) {
		struct sched_ent e = q->heap[0];

		q->heap[0] = q->heap[--q->len];
		sift_down(q, 0);
		e.fn(s, &e);
		if (s->stopping)
			return;
	}
	rearm(s);
}

int sched_init(struct sim *s)
{
	memset(&s->sched, 0, sizeof(s->sched));
	s->sched.timer.data = s;
	return uv_timer_init(s->loop, &s->sched.timer);
}

void sched_close(struct sim *s)
{
	uv_timer_stop(&s->sched.timer);
	uv_close((uv_handle_t *)&s->sched.timer, NULL);
	free(s->sched.heap);
	s->sched.heap = NULL;
	s->sched.len = s->sched.cap = 0;
}

int sched_add(struct sim *s, uint64_t delay_ms, sched_fn fn, uint32_t callid, uint32_t arg,
	      const char *dev)
{
	struct sched *q = &s->sched;
	struct sched_ent *e;

	if (s->stopping)
		return 0;
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct sched_ent *h = realloc(q->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		q->heap = h;
		q->cap = cap;
	}
	e = &q->heap[q->len];
	memset(e, 0, sizeof(*e));
	e->due = uv_now(s->loop) + delay_ms;
	e->seq = q->seq++;
	e->fn = fn;
	e->callid = callid;
	e->arg = arg;
	if (dev)
		snprintf(e->dev, sizeof(e->dev), "%s", dev);
	q->len++;
	sift_up(q, q->len - 1);
	if (q->armed == 0 || q->heap[0].due < q->armed) {
		q->armed = 0;
		rearm(s);
	}
	return 0;
}
