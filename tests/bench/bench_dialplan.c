/*
 * tests/bench/bench_dialplan.c - dialplan throughput and heap use per call.
 *
 *   bench-dialplan CORPUS [CANONICAL_OUT]
 *
 * Loads the benchmark location (tests/bench/dialplan/locations.xml: DE, DDI
 * line, ten rules in every list, LCR with five zones) and runs every number
 * of CORPUS (one per line, tests/bench/dialplan_corpus.py) through
 *   dp_format  as a reported caller number (the reported-number pipeline),
 *   dp_dial    as a number to call, at the current time (LCR on),
 * on one core, best of BENCH_ROUNDS rounds of BENCH_PASSES passes over the
 * corpus. malloc, calloc and realloc are interposed in this binary (they
 * call glibc's __libc_* functions) to count the heap allocations the two
 * pipelines make per call, after one warm-up pass (the rule engine's match
 * data is made once per thread). CANONICAL_OUT gets the canonical number of
 * every corpus line as dp_format made it, for bench-libphonenumber to
 * compare. One "bench NAME VALUE UNIT" line per figure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp.h"

#define BENCH_ROUNDS 3
#define BENCH_PASSES 20

/* ---- allocation counter ---------------------------------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static unsigned long allocations;

static void count_one(void)
{
	__atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

static unsigned long allocs_now(void)
{
	return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
	count_one();
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count_one();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	count_one();
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}

/* ---- corpus ---------------------------------------------------------------------------- */

struct corpus {
	char **lines;
	size_t n;
};

static int corpus_read(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	if (!f)
		return -errno;
	c->lines = NULL;
	c->n = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		if (c->n == cap) {
			char **v;

			cap = cap ? cap * 2 : 1024;
			v = realloc(c->lines, cap * sizeof(*v));
			if (!v)
				abort();
			c->lines = v;
		}
		c->lines[c->n] = strdup(line);
		if (!c->lines[c->n])
			abort();
		c->n++;
	}
	fclose(f);
	return c->n ? 0 : -ENODATA;
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
}

/* ---- the runs -------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct run {
	const struct dp_model *m;
	const struct dp_location *loc;
	const struct corpus *c;
	unsigned long errors;
	unsigned long sink; /* keeps the results observable */
};

static void pass_format(struct run *r)
{
	struct ucs_dp_number out;

	for (size_t i = 0; i < r->c->n; i++) {
		if (dp_format(r->m, r->loc, UCS_DP_CALLER, r->c->lines[i], &out, NULL, NULL))
			r->errors++;
		r->sink += (unsigned char)out.canonical.text[3];
	}
}

static void pass_dial(struct run *r)
{
	struct ucs_dp_dial_result out;

	for (size_t i = 0; i < r->c->n; i++) {
		struct ucs_dp_dial_request req = {.size = sizeof(req), .number = r->c->lines[i]};

		if (dp_dial(r->m, r->loc, UCS_DP_DIAL, &req, &out, NULL, NULL))
			r->errors++;
		r->sink += (unsigned char)out.dial[3];
	}
}

/* Numbers per second: the best of BENCH_ROUNDS rounds. */
static double measure(struct run *r, void (*pass)(struct run *))
{
	double best = 0;

	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double t0 = now(), rate;

		for (int p = 0; p < BENCH_PASSES; p++)
			pass(r);
		rate = (double)r->c->n * BENCH_PASSES / (now() - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

/* Heap allocations per call over one pass (after a warm-up pass). */
static double allocs_per_call(struct run *r, void (*pass)(struct run *))
{
	unsigned long before;

	pass(r);
	before = allocs_now();
	pass(r);
	return (double)(allocs_now() - before) / (double)r->c->n;
}

static int write_canonical(const struct run *r, const char *path)
{
	FILE *f = fopen(path, "w");
	struct ucs_dp_number out;

	if (!f)
		return -errno;
	for (size_t i = 0; i < r->c->n; i++) {
		if (dp_format(r->m, r->loc, UCS_DP_CALLER, r->c->lines[i], &out, NULL, NULL))
			fprintf(f, "error\n");
		else
			fprintf(f, "%s\n", out.canonical.text);
	}
	return fclose(f) ? -errno : 0;
}

static void on_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%d: %s\n", file ? file : "?", line, msg);
}

/* The counter must see allocations of this binary and of shared libraries. */
static int check_counter(unsigned long load_allocs)
{
	unsigned long before = allocs_now();
	void *volatile p = malloc(24);

	p = realloc(p, 48);
	free(p);
	if (allocs_now() - before != 2 || load_allocs == 0) {
		fprintf(stderr, "bench-dialplan: the allocation counter does not count\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_errors errs = {on_error, NULL, 0};
	struct dp_model m = {0};
	struct corpus c;
	struct run r = {0};
	double fmt, dial, fmt_allocs, dial_allocs;
	unsigned long before;
	int err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-dialplan CORPUS [CANONICAL_OUT]\n");
		return 2;
	}
	err = corpus_read(&c, argv[1]);
	if (err) {
		fprintf(stderr, "bench-dialplan: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	before = allocs_now();
	if (dp_model_load(&m, DP_DATA_DIR, BENCH_DIALPLAN_DIR, NULL, &errs) || errs.count) {
		fprintf(stderr, "bench-dialplan: cannot load %s/locations.xml\n",
			BENCH_DIALPLAN_DIR);
		return 1;
	}
	if (check_counter(allocs_now() - before))
		return 1;
	r = (struct run){.m = &m, .loc = &m.locations[m.default_location], .c = &c};
	if (argc == 3 && (err = write_canonical(&r, argv[2]))) {
		fprintf(stderr, "bench-dialplan: %s: %s\n", argv[2], strerror(-err));
		return 1;
	}

	fmt_allocs = allocs_per_call(&r, pass_format);
	dial_allocs = allocs_per_call(&r, pass_dial);
	fmt = measure(&r, pass_format);
	dial = measure(&r, pass_dial);

	printf("# dialplan: %zu numbers, location %s, %zu rules per list, %zu LCR zones\n", c.n,
	       r.loc->name, r.loc->dial.count, r.loc->lcr.n_zones);
	printf("bench dialplan_format %.0f numbers/s\n", fmt);
	printf("bench dialplan_dial %.0f numbers/s\n", dial);
	printf("bench dialplan_format_allocs_per_call %.3f allocations\n", fmt_allocs);
	printf("bench dialplan_dial_allocs_per_call %.3f allocations\n", dial_allocs);
	/* the figure: the worse of the two pipelines */
	printf("bench dialplan_allocs_per_call %.3f allocations\n",
	       fmt_allocs > dial_allocs ? fmt_allocs : dial_allocs);
	if (r.errors)
		printf("# dialplan: %lu calls failed (sink %lu)\n", r.errors, r.sink);
	dp_model_free(&m);
	corpus_free(&c);
	return r.errors ? 1 : 0;
}
