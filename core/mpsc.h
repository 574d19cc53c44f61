/*
 * core/mpsc.h - an intrusive multi-producer, single-consumer queue.
 *
 * Threads that run foreign stacks (libre, a vendor SDK, the thread pool)
 * hand messages to the loop thread through this queue. Producers never
 * block and never wait for each other: a push is one atomic exchange and
 * one store (D. Vyukov's intrusive MPSC design). The consumer, the loop
 * thread alone, may briefly see a push that is half done (exchanged but not
 * yet linked); pop() then returns NULL, and the producer's uv_async_send()
 * that follows every push wakes the consumer again.
 */
#ifndef CORE_MPSC_H
#define CORE_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

struct core_mpsc_node {
	struct core_mpsc_node *_Atomic next;
};

struct core_mpsc {
	struct core_mpsc_node *_Atomic head; /* producers push here */
	struct core_mpsc_node *tail;	     /* the consumer pops here */
	struct core_mpsc_node stub;
};

static inline void core_mpsc_init(struct core_mpsc *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
	q->tail = &q->stub;
}

static inline void core_mpsc_push(struct core_mpsc *q, struct core_mpsc_node *n)
{
	struct core_mpsc_node *prev;

	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

static inline struct core_mpsc_node *core_mpsc_pop(struct core_mpsc *q)
{
	struct core_mpsc_node *tail = q->tail;
	struct core_mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);

	if (tail == &q->stub) {
		if (!next)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&tail->next, memory_order_acquire);
	}
	if (next) {
		q->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL; /* a producer is between its exchange and its link */
	core_mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

#endif
