/*
 * tests/bench/bench_bus.c - message bus throughput.
 *
 * Prints one line per figure: "bench <name> <value> <unit>". Measures:
 *   queued publish -> deliver with 1, 10 and 1,000 exact subscribers
 *     (messages/s published; deliveries/s = messages/s x subscribers);
 *   keyed delivery: every message has a key and exactly one of K keyed
 *     subscriptions receives it, for K = 1,000 and K = 100,000 - the cost
 *     per message must not grow with K;
 *   cross-thread post from 1 and 4 producer threads to one subscriber
 *     (messages/s from the first post to the last delivery).
 * Each figure is the best of BENCH_ROUNDS runs (the machine is shared; the
 * best run is the one least disturbed).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "core.h"
#include "log.h"

#define BENCH_ROUNDS 3

static const struct ucs_bus_api *bus = &core_bus_api;

struct payload {
	uint64_t seq;
	uint64_t pad;
};

static uint64_t delivered;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_msg(const struct ucs_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	delivered++;
}

static const struct ucs_msg_type *make_type(const char *name)
{
	struct ucs_msg_type_desc d = {.size = sizeof(d),
				      .name = name,
				      .version = 1,
				      .payload_size = sizeof(struct payload)};
	const struct ucs_msg_type *t = NULL;

	if (bus->type_register(NULL, &d, &t) != 0)
		abort();
	return t;
}

/* Publishes n messages (in batches, as a busy server does) and delivers them. */
static double run_queued(const struct ucs_msg_type *t, uint64_t n, const char *const *keys,
			 size_t nkeys)
{
	const uint64_t batch = 4096;
	double t0 = now();

	for (uint64_t i = 0; i < n; i += batch) {
		for (uint64_t j = i; j < i + batch && j < n; j++) {
			struct payload p = {j, 0};
			struct ucs_msg *m;

			bus->msg_new(t, keys ? keys[(j * 2654435761u) % nkeys] : NULL, &p,
				     sizeof(p), &m);
			bus->publish(NULL, m);
		}
		uv_run(core_loop(), UV_RUN_NOWAIT);
	}
	core_bus_flush();
	return (double)n / (now() - t0);
}

static void bench_fanout(int subscribers, uint64_t n)
{
	char name[64];
	const struct ucs_msg_type *t;
	struct ucs_sub **subs = calloc((size_t)subscribers, sizeof(*subs));
	double best = 0;

	snprintf(name, sizeof(name), "bench.fanout.%d", subscribers);
	t = make_type(name);
	for (int i = 0; i < subscribers; i++)
		bus->subscribe(NULL, &subs[i], name, UCS_SUB_EXACT, NULL, on_msg, NULL);
	for (int r = 0; r < BENCH_ROUNDS; r++) {
		double rate;

		delivered = 0;
		rate = run_queued(t, n, NULL, 0);
		if (delivered != n * (uint64_t)subscribers) {
			fprintf(stderr, "fanout %d: delivered %llu of %llu\n", subscribers,
				(unsigned long long)delivered,
				(unsigned long long)(n * (uint64_t)subscribers));
			exit(1);
		}
		if (rate > best)
			best = rate;
	}
	printf("bench bus_publish_deliver_%d_subscribers %.0f msgs/s\n", subscribers, best);
	printf("bench bus_deliveries_%d_subscribers %.0f deliveries/s\n", subscribers,
	       best * subscribers);
	for (int i = 0; i < subscribers; i++)
		bus->unsubscribe(subs[i]);
	free(subs);
}

/* nkeys keyed subscriptions exist; messages address the first `active` of
 * them (all of them when active == nkeys). */
static void bench_keyed(size_t nkeys, size_t active, uint64_t n)
{
	char name[64];
	char **keys = calloc(nkeys, sizeof(*keys));
	struct ucs_sub **subs = calloc(nkeys, sizeof(*subs));
	const struct ucs_msg_type *t;
	double best = 0;

	snprintf(name, sizeof(name), "bench.keyed.%zu.%zu", nkeys, active);
	t = make_type(name);
	for (size_t i = 0; i < nkeys; i++) {
		char key[32];

		snprintf(key, sizeof(key), "line:%zu", i);
		keys[i] = strdup(key);
		bus->subscribe(NULL, &subs[i], name, UCS_SUB_EXACT, keys[i], on_msg, NULL);
	}
	for (int r = 0; r < BENCH_ROUNDS; r++) {
		double rate;

		delivered = 0;
		rate = run_queued(t, n, (const char *const *)keys, active);
		if (delivered != n) {
			fprintf(stderr, "keyed: delivered %llu of %llu\n",
				(unsigned long long)delivered, (unsigned long long)n);
			exit(1);
		}
		if (rate > best)
			best = rate;
	}
	if (active == nkeys)
		printf("bench bus_keyed_delivery_uniform_over_%zu_keys %.0f msgs/s\n", nkeys, best);
	else
		printf("bench bus_keyed_delivery_%zu_active_among_%zu_keys %.0f msgs/s\n", active,
		       nkeys, best);
	for (size_t i = 0; i < nkeys; i++) {
		bus->unsubscribe(subs[i]);
		free(keys[i]);
	}
	free(subs);
	free(keys);
}

struct producer {
	const struct ucs_msg_type *type;
	uint64_t count;
};

static uint64_t post_target;

static void on_post(const struct ucs_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	if (++delivered == post_target)
		uv_stop(core_loop());
}

static void on_guard(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "post: only %llu of %llu delivered in time\n",
		(unsigned long long)delivered, (unsigned long long)post_target);
	exit(1);
}

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = 0; i < p->count; i++) {
		struct payload pl = {i, 0};
		struct ucs_msg *m;

		bus->msg_new(p->type, NULL, &pl, sizeof(pl), &m);
		bus->post(NULL, m);
	}
	return NULL;
}

static void bench_post(int threads, uint64_t n)
{
	char name[64];
	const struct ucs_msg_type *t;
	struct ucs_sub *s;
	double best = 0;

	snprintf(name, sizeof(name), "bench.post.%d", threads);
	t = make_type(name);
	bus->subscribe(NULL, &s, name, UCS_SUB_EXACT, NULL, on_post, NULL);
	for (int r = 0; r < BENCH_ROUNDS; r++) {
		pthread_t th[16];
		struct producer p = {t, n / (uint64_t)threads};
		double t0, rate;
		uv_timer_t guard; /* keeps the loop alive until the last delivery */

		uv_timer_init(core_loop(), &guard);
		uv_timer_start(&guard, on_guard, 60000, 0);
		delivered = 0;
		post_target = p.count * (uint64_t)threads;
		t0 = now();
		for (int i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, produce, &p);
		uv_run(core_loop(), UV_RUN_DEFAULT);
		rate = (double)post_target / (now() - t0);
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		uv_close((uv_handle_t *)&guard, NULL);
		uv_run(core_loop(), UV_RUN_NOWAIT);
		if (delivered != post_target) {
			fprintf(stderr, "post: delivered %llu of %llu\n",
				(unsigned long long)delivered, (unsigned long long)post_target);
			exit(1);
		}
		if (rate > best)
			best = rate;
	}
	printf("bench bus_post_from_%d_threads %.0f msgs/s\n", threads, best);
	bus->unsubscribe(s);
}

/* The floor every message pays: allocating and freeing a message-sized
 * block. Reported so the bus figures can be read as a ratio to it, which
 * survives a noisy machine better than an absolute rate. */
static void bench_baseline(uint64_t n)
{
	double best = 0;

	for (int r = 0; r < BENCH_ROUNDS; r++) {
		double t0 = now();

		for (uint64_t i = 0; i < n; i++) {
			void *volatile p = malloc(64);

			*(volatile char *)p = 1;
			free(p);
		}
		if ((double)n / (now() - t0) > best)
			best = (double)n / (now() - t0);
	}
	printf("bench baseline_malloc_free_64 %.0f ops/s\n", best);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;

	core_log_init();
	core_bus_init();
	bench_baseline(n);
	bench_fanout(1, n);
	bench_fanout(10, n / 4);
	bench_fanout(1000, n / 200);
	bench_keyed(1000, 1000, n / 2);
	bench_keyed(100000, 1000, n / 2);
	bench_keyed(100000, 100000, n / 2);
	bench_post(1, n);
	bench_post(4, n);
	core_ledger_revoke_all(core_self());
	core_bus_shutdown();
	core_loop_drain(4);
	return 0;
}
