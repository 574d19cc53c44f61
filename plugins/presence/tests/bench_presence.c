/*
 * plugins/presence/tests/bench_presence.c - presence fan-out at scale.
 *
 * 10,000 users in 50 groups of 200 (Team among members), Public globally;
 * every user is watched by 200 others: 120 of her group (Team), 70 outside
 * it (Public) and 10 outside it she granted Business - three classes of
 * rights per target, as a company's monitor lists look. Every user has a
 * bound line. A change is one presence.in.line input; its time runs from
 * the input to the 200th view handed to the real bus (msg_new + publish of
 * core/bus.c; delivery is not part of it - there are no subscribers). The
 * coalescing window is kept open between changes, so every change sends.
 *
 * Prints "bench NAME VALUE UNIT" lines:
 *   presence_fanout_200_us        median time of one change (warm rights cache)
 *   presence_fanout_200_p99_us    its 99th percentile
 *   presence_fanout_200_cold_us   median, first change of a target after the
 *                                 rights cache was emptied (a new snapshot)
 *   presence_fanout_deferred_us   a change inside every watcher's window
 *   presence_relation_bytes       memory per watch relation (both directions,
 *                                 with array slack), and by malloc's count
 *   presence_watch_per_s          watch() calls per second building the set
 *   presence_load_10k_ms          the first snapshot: rights_load + pres_load
 *   presence_reload_10k_ms        a new snapshot with one user edited
 * Argument: rights cache slots (default: the engine's default).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "core.h"
#include "log.h"
#include "pres_fixture.h"

#define USERS	 10000
#define GROUP	 200
#define WATCHERS 200
#define IN_GROUP 120
#define BUSINESS 10
#define CHANGES	 4000

static const struct ucs_bus_api *bus = &core_bus_api;
static const struct ucs_msg_type *view_type, *changed_type;
static uint64_t fake_mono = 1000;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static uint64_t mono(void *arg)
{
	(void)arg;
	return fake_mono;
}

static int64_t wall(void *arg)
{
	(void)arg;
	return 1700000000000ll + (int64_t)fake_mono;
}

static size_t handed;

static void sink_view(void *arg, const struct pres_user *w, const struct ucs_presence_view *v)
{
	struct ucs_msg *m;

	(void)arg;
	if (bus->msg_new(view_type, w->wkey, v, sizeof(*v), &m) == 0 && bus->publish(NULL, m) == 0)
		handed++;
}

static void sink_changed(void *arg, const struct pres_user *u)
{
	struct ucs_msg *m;

	(void)arg;
	if (bus->msg_new(changed_type, u->ukey, &u->pres, sizeof(u->pres), &m) == 0)
		bus->publish(NULL, m);
}

static const struct ucs_msg_type *make_type(const char *name, size_t size)
{
	struct ucs_msg_type_desc d = {
		.size = sizeof(d), .name = name, .version = 1, .payload_size = size};
	const struct ucs_msg_type *t = NULL;

	if (bus->type_register(NULL, &d, &t) != 0)
		abort();
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static char ids[USERS][16];
static char lines[USERS][16];
static char numbers[USERS][24];

static unsigned char ringing[USERS];

/* User i's line goes idle <-> ringing from a new number: what every class
 * of watcher sees changes. */
static void toggle(struct pres *p, int i, int k)
{
	char remote[24];

	snprintf(remote, sizeof(remote), "+4989%07d", k);
	ringing[i] = !ringing[i];
	fx_line(p, lines[i], "", numbers[i], ringing[i] ? UCS_LINE_RINGING : UCS_LINE_IDLE,
		UCS_CALL_INCOMING, remote);
}

/* One change; its duration in us. */
static double change(struct pres *p, int i, int k)
{
	double t0, t1;
	size_t before = handed;

	t0 = now_us();
	toggle(p, i, k);
	t1 = now_us();
	if (handed - before != WATCHERS) {
		fprintf(stderr, "change %d of %s: %zu views, expected %d\n", k, ids[i],
			handed - before, WATCHERS);
		exit(1);
	}
	core_bus_flush(); /* outside the measurement: nobody subscribes */
	return t1 - t0;
}

int main(int argc, char **argv)
{
	size_t slots = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	static double times[CHANGES];
	struct fx f;
	struct pres p;
	struct pres_sink sink = {sink_changed, sink_view, NULL};
	struct pres_clock clock = {mono, wall, NULL};
	struct rights_engine *re = rights_new(slots);
	struct ucs_ud_user *users[USERS];
	struct mallinfo2 m0, m1;
	double t0, t1;
	size_t n;

	core_log_init();
	core_bus_init();
	view_type = make_type(UCS_PRESENCE_VIEW_TYPE, sizeof(struct ucs_presence_view));
	changed_type = make_type(UCS_PRESENCE_CHANGED_TYPE, sizeof(struct ucs_presence));

	fx_init(&f);
	for (int i = 0; i < USERS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "u%05d", i);
		snprintf(lines[i], sizeof(lines[i]), "line/%05d", i);
		snprintf(numbers[i], sizeof(numbers[i]), "+49301%05d", i);
		users[i] = fx_user(&f, ids[i]);
		fx_phone(&f, users[i], UCS_UD_PHONE_BUSINESS, numbers[i]);
	}
	for (int g = 0; g < USERS / GROUP; g++) {
		char name[16];
		struct ucs_ud_group *grp;
		const char **members = fx_alloc(&f, GROUP * sizeof(*members));

		snprintf(name, sizeof(name), "g%02d", g);
		grp = fx_group(&f, name, UCS_LEVEL_TEAM, NULL);
		for (int k = 0; k < GROUP; k++)
			members[k] = users[g * GROUP + k]->id;
		grp->members = members;
		grp->n_members = GROUP;
	}
	/* the 10 Business watchers: outside her group, granted by her */
	for (int i = 0; i < USERS; i++)
		for (int k = 0; k < BUSINESS; k++)
			fx_grant(&f, users[i], ids[(i + GROUP + 7 * k) % USERS], UCS_LEVEL_BUSINESS,
				 0);
	fx_finish(&f);

	pres_init(&p, re, &sink, &clock);
	t0 = now_us();
	if (rights_load(re, &f.snap) != 0)
		abort();
	t1 = now_us();
	if (pres_load(&p, &f.snap) != 0)
		abort();
	while (pres_step(&p, 1000000))
		;
	printf("bench presence_load_10k_ms %.2f ms (rights_load %.2f ms, the presence core %.2f "
	       "ms)\n",
	       (now_us() - t0) / 1e3, (t1 - t0) / 1e3, (now_us() - t1) / 1e3);
	for (int i = 0; i < USERS; i++)
		fx_line(&p, lines[i], "", numbers[i], UCS_LINE_IDLE, 0, NULL);

	/* the relations */
	core_bus_flush();
	m0 = mallinfo2();
	t0 = now_us();
	for (int i = 0; i < USERS; i++) {
		int base = i / GROUP * GROUP, k = 0;

		for (int j = 1; k < IN_GROUP; j++, k++)
			pres_watch(&p, ids[base + (i - base + j) % GROUP], ids[i]);
		for (int j = 0; j < BUSINESS; j++, k++)
			pres_watch(&p, ids[(i + GROUP + 7 * j) % USERS], ids[i]);
		for (int j = 0; k < WATCHERS; j++, k++)
			pres_watch(&p, ids[(i + 2 * GROUP + 13 * j + 1) % USERS], ids[i]);
		core_bus_flush();
	}
	t1 = now_us();
	m1 = mallinfo2();
	pres_fanout_stats(&p);
	if (p.stats.relations != (size_t)USERS * WATCHERS) {
		fprintf(stderr, "%zu relations, expected %d\n", p.stats.relations,
			USERS * WATCHERS);
		return 1;
	}
	printf("bench presence_watch_per_s %.0f /s\n", p.stats.relations / ((t1 - t0) / 1e6));
	printf("bench presence_relation_bytes %.1f bytes (%zu relations, %.1f MB; malloc: %.1f "
	       "bytes)\n",
	       (double)p.stats.relation_bytes / p.stats.relations, p.stats.relations,
	       p.stats.relation_bytes / 1e6,
	       (double)(m1.uordblks - m0.uordblks) / p.stats.relations);

	/* a new snapshot with one user's first phone edited */
	users[5] = fx_edit(&f, users[5]);
	users[5]->first_phone = "line/00006";
	fx_finish(&f);
	t0 = now_us();
	rights_load(re, &f.snap);
	t1 = now_us();
	pres_load(&p, &f.snap);
	printf("bench presence_reload_10k_ms %.2f ms (rights_load %.2f ms, the presence core "
	       "%.2f ms; 2M relations, 10,000 lines)\n",
	       (now_us() - t0) / 1e3, (t1 - t0) / 1e3, (now_us() - t1) / 1e3);
	while (pres_step(&p, 1000000))
		;
	core_bus_flush();

	/* cold: the first change of each target after that new snapshot */
	fake_mono += 1000;
	for (n = 0; n < 1000; n++)
		times[n] = change(&p, (int)(n * 9973 % USERS), (int)n);
	printf("bench presence_fanout_200_cold_us %.1f us\n", median(times, n));

	/* warm: every target changed before; the window has passed */
	srand(1);
	for (n = 0; n < CHANGES; n++) {
		int i = rand() % 1000 * 9973 % USERS;

		fake_mono += 200;
		times[n] = change(&p, i, (int)n + 1000);
	}
	printf("bench presence_fanout_200_us %.1f us (%d changes, 200 views each, 3 classes)\n",
	       median(times, n), CHANGES);
	printf("bench presence_fanout_200_p99_us %.1f us\n", times[n * 99 / 100]);

	/* a storm: changes inside every watcher's window are deferred; the
	 * window's end sends each watcher the newest state */
	for (n = 0; n < 1000; n++) {
		char remote[24];
		size_t before = handed;

		snprintf(remote, sizeof(remote), "+4940%07zu", n);
		t0 = now_us();
		fx_line(&p, lines[42], "", numbers[42], UCS_LINE_CONNECTED, UCS_CALL_INCOMING,
			remote);
		t1 = now_us();
		times[n] = t1 - t0;
		if (n > 0 && handed != before) {
			fprintf(stderr, "a deferred change sent views\n");
			return 1;
		}
	}
	printf("bench presence_fanout_deferred_us %.2f us\n", median(times, n));
	fake_mono += 200;
	pres_flush_due(&p);
	core_bus_flush();
	for (n = 0; n < 200; n++) {
		int i = (int)(n * 37 % USERS);
		size_t before;

		fake_mono += 200;
		change(&p, i, (int)n); /* sends */
		toggle(&p, i, (int)n); /* deferred */
		fake_mono += 100;
		before = handed;
		t0 = now_us();
		pres_flush_due(&p);
		times[n] = now_us() - t0;
		if (handed - before != WATCHERS) {
			fprintf(stderr, "flush: %zu views\n", handed - before);
			return 1;
		}
		core_bus_flush();
	}
	printf("bench presence_flush_200_us %.1f us\n", median(times, n));

	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	core_ledger_revoke_all(core_self());
	core_bus_shutdown();
	core_loop_drain(4);
	return 0;
}
