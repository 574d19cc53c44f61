/*
 * plugins/presence/tests/test_fanout.c - watch relations, coalescing and
 * re-evaluation with a fake clock.
 *
 * bob is watched by alice and dave (Team through a group), carol (Public,
 * the global level) and erin (Business through bob's own grant). Checked:
 * the first view at watch(), counted watches, a view only when the
 * watcher's filtered view changed, at most one view per coalescing window
 * per relation with the last state flushed (also under a 500-change storm
 * and a long random storm), views built once per class of rights, rights
 * changes through a new snapshot, presence switched off and on (one
 * unknown view, then the current ones), a hidden change that moves nothing
 * of a view (seq included), a user who leaves the store taking her
 * relations with her, limits, set() rights, and bulk work in bounded steps.
 */
#include "check.h"
#include "pres_fixture.h"

struct world {
	struct fx f;
	struct fx_env *e;
	struct rights_engine *re;
	struct pres p;
	struct ucs_ud_user *bob, *carol;
};

static void build(struct world *w, size_t extra_team)
{
	struct ucs_ud_group *g;

	fx_init(&w->f);
	fx_user(&w->f, "alice");
	w->bob = fx_user(&w->f, "bob");
	fx_phone(&w->f, w->bob, UCS_UD_PHONE_BUSINESS, "+4930222");
	fx_grant(&w->f, w->bob, "erin", UCS_LEVEL_BUSINESS, 0);
	w->carol = fx_user(&w->f, "carol");
	fx_user(&w->f, "dave");
	fx_user(&w->f, "erin");
	g = fx_group(&w->f, "team", UCS_LEVEL_TEAM, "alice", "bob", "dave", NULL);
	if (extra_team) {
		const char **m = fx_alloc(&w->f, (extra_team + 3) * sizeof(*m));

		m[0] = "alice", m[1] = "bob", m[2] = "dave";
		for (size_t i = 0; i < extra_team; i++) {
			char id[32];

			snprintf(id, sizeof(id), "m%04zu", i);
			m[3 + i] = fx_user(&w->f, id)->id;
		}
		g->members = m;
		g->n_members = extra_team + 3;
	}
	fx_finish(&w->f);
	w->e = calloc(1, sizeof(*w->e));
	w->e->wall = 1700000000000;
	w->e->mono = 5000;
	w->re = rights_new(0);
	fx_core(&w->p, w->re, w->e, &w->f.snap);
}

static void destroy(struct world *w)
{
	pres_fini(&w->p);
	rights_free(w->re);
	fx_free(&w->f);
	free(w->e);
}

static void reload(struct world *w)
{
	fx_finish(&w->f);
	CHECK_INT(rights_load(w->re, &w->f.snap), ==, 0);
	CHECK_INT(pres_load(&w->p, &w->f.snap), ==, 0);
}

static size_t views_for(const struct fx_env *e, size_t from, const char *watcher)
{
	size_t n = 0;

	for (size_t i = from; i < e->n_views && i < 4096; i++)
		n += strcmp(e->views[i].watcher, watcher) == 0;
	return n;
}

/* The last view of bob the watcher got. */
static const struct ucs_presence_view *last_for(const struct fx_env *e, const char *watcher)
{
	for (size_t i = e->n_views < 4096 ? e->n_views : 4096; i-- > 0;)
		if (strcmp(e->views[i].watcher, watcher) == 0 &&
		    strcmp(e->views[i].view.presence.user.text, "bob") == 0)
			return &e->views[i].view;
	return NULL;
}

static void call(struct world *w, int state, const char *remote)
{
	fx_line(&w->p, "l1", "222", "+4930222", state, UCS_CALL_INCOMING, remote);
}

static void advance(struct world *w, uint64_t ms)
{
	w->e->mono += ms;
	pres_flush_due(&w->p);
}

static void watch_all(struct world *w)
{
	CHECK_INT(pres_watch(&w->p, "alice", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w->p, "carol", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w->p, "dave", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w->p, "erin", "bob"), ==, 0);
}

static void basics(void)
{
	struct world w;
	const struct ucs_presence_view *v;
	size_t n;

	build(&w, 0);
	call(&w, UCS_LINE_IDLE, NULL);
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0);
	CHECK_INT(w.e->n_views, ==, 1); /* the current view, at once */
	CHECK_STR(w.e->views[0].watcher, "alice");
	CHECK_STR(w.e->views[0].view.watcher.text, "alice");
	CHECK_INT(w.e->views[0].view.presence.state, ==, UCS_PRES_OFFLINE);
	CHECK_INT(pres_watch(&w.p, "nobody", "bob"), ==, -ENOENT);
	CHECK_INT(pres_watch(&w.p, "alice", "nobody"), ==, -ENOENT);
	/* watching again is counted and brings the view again - after the window */
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0);
	CHECK_INT(w.e->n_views, ==, 1);
	advance(&w, 100);
	CHECK_INT(w.e->n_views, ==, 2);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 1);
	CHECK_INT(pres_unwatch(&w.p, "alice", "bob"), ==, 0);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 1);
	CHECK_INT(pres_unwatch(&w.p, "alice", "bob"), ==, 0);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 0);
	CHECK_INT(pres_unwatch(&w.p, "alice", "bob"), ==, -ENOENT);
	call(&w, UCS_LINE_RINGING, "+4989123");
	CHECK_INT(w.e->n_views, ==, 2); /* nobody watches */

	/* everybody watches; one change: each watcher whose view changed */
	advance(&w, 1000);
	watch_all(&w);
	CHECK_INT(w.e->n_views, ==, 6);
	advance(&w, 1000);
	n = w.e->n_views;
	call(&w, UCS_LINE_CONNECTED, "+4989123"); /* ringing -> on the phone */
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	CHECK_INT(views_for(w.e, n, "dave"), ==, 1);
	CHECK_INT(views_for(w.e, n, "erin"), ==, 1);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 0); /* busy before, busy now */
	v = last_for(w.e, "alice");
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_ON_PHONE);
	CHECK_STR(v->presence.lines[0].remote.text, "+4989123");
	v = last_for(w.e, "carol");
	CHECK_INT(v->presence.state, ==, UCS_PRES_BUSY);
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_NONE);
	CHECK_STR(v->presence.lines[0].remote.text, "");
	/* another caller on the same call: erin (Business) sees the first line's
	 * incoming numbers, too */
	advance(&w, 1000);
	n = w.e->n_views;
	call(&w, UCS_LINE_CONNECTED, "+4989999");
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	CHECK_INT(views_for(w.e, n, "erin"), ==, 1);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 0);
	/* the same state again: nobody */
	advance(&w, 1000);
	n = w.e->n_views;
	call(&w, UCS_LINE_CONNECTED, "+4989999");
	CHECK_INT(w.e->n_views, ==, n);
	/* unknown watcher of get() */
	{
		struct ucs_presence_view g;

		CHECK_INT(pres_get(&w.p, "nobody", "bob", &g), ==, -ENOENT);
		CHECK_INT(pres_get(&w.p, "carol", "bob", &g), ==, 0);
		CHECK_INT(g.presence.state, ==, UCS_PRES_BUSY);
		CHECK_STR(g.watcher.text, "carol");
	}
	destroy(&w);
}

static void coalescing(void)
{
	struct world w;
	const struct ucs_presence_view *v;
	size_t n;

	build(&w, 0);
	watch_all(&w);
	advance(&w, 1000);
	n = w.e->n_views;
	call(&w, UCS_LINE_RINGING, "+4989001");
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	advance(&w, 10);
	call(&w, UCS_LINE_CONNECTED, "+4989001");
	advance(&w, 10);
	call(&w, UCS_LINE_CONNECTED, "+4989002");
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1); /* deferred */
	CHECK_INT(pres_next_timeout(&w.p), ==, 80);
	advance(&w, 79);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	advance(&w, 1);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 2); /* the newest state */
	v = last_for(w.e, "alice");
	CHECK_STR(v->presence.lines[0].remote.text, "+4989002");
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_ON_PHONE);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 1); /* busy throughout */
	CHECK_INT(pres_next_timeout(&w.p), ==, -1);
	/* a change that comes back before the window ends sends nothing */
	advance(&w, 1000);
	n = w.e->n_views;
	call(&w, UCS_LINE_IDLE, NULL);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	advance(&w, 5);
	call(&w, UCS_LINE_CONNECTED, "+4989002");
	advance(&w, 5);
	call(&w, UCS_LINE_IDLE, NULL);
	advance(&w, 200);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	/* unwatching a pending relation: nothing flushes to her */
	n = w.e->n_views;
	call(&w, UCS_LINE_RINGING, "+1");
	advance(&w, 5);
	call(&w, UCS_LINE_CONNECTED, "+1");
	CHECK_INT(pres_unwatch(&w.p, "alice", "bob"), ==, 0);
	advance(&w, 200);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	CHECK_INT(views_for(w.e, n, "dave"), ==, 2);
	/* coalesce_ms 0: every change */
	w.p.coalesce_ms = 0;
	n = w.e->n_views;
	call(&w, UCS_LINE_IDLE, NULL);
	call(&w, UCS_LINE_RINGING, "+2");
	CHECK_INT(views_for(w.e, n, "dave"), ==, 2);
	destroy(&w);
}

/* Checks that no watcher got two views of bob within `window` ms and that
 * each watcher's last view is what get() says now. */
static void check_spacing(struct world *w, size_t from, uint32_t window)
{
	static const char *const watchers[] = {"alice", "carol", "dave", "erin"};

	CHECK(w->e->n_views <= 4096);
	for (size_t k = 0; k < 4; k++) {
		uint64_t last = 0;
		int seen = 0, bad = 0;
		struct ucs_presence_view now;

		for (size_t i = from; i < w->e->n_views && i < 4096; i++) {
			if (strcmp(w->e->views[i].watcher, watchers[k]) != 0)
				continue;
			if (seen && w->e->views[i].mono - last < window)
				bad++;
			seen = 1;
			last = w->e->views[i].mono;
		}
		CHECK_INT(bad, ==, 0);
		CHECK_INT(pres_get(&w->p, watchers[k], "bob", &now), ==, 0);
		if (seen) {
			const struct ucs_presence_view *got = last_for(w->e, watchers[k]);

			CHECK(pres_view_hash(got) == pres_view_hash(&now));
			CHECK_STR(got->presence.lines[0].remote.text,
				  now.presence.lines[0].remote.text);
		}
	}
}

static void storm(void)
{
	struct world w;
	size_t n;
	char remote[32];
	uint64_t start;

	build(&w, 0);
	watch_all(&w);
	advance(&w, 1000);
	n = w.e->n_views;
	start = w.e->mono;
	/* 500 line changes in 50 ms */
	for (int i = 0; i < 500; i++) {
		snprintf(remote, sizeof(remote), "+49891%04d", i);
		call(&w, i % 7 ? UCS_LINE_CONNECTED : UCS_LINE_RINGING, remote);
		if (i % 10 == 9)
			advance(&w, 1);
	}
	CHECK_INT(w.p.stats.presence_changes > 400, ==, 1);
	advance(&w, 49);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 1);
	advance(&w, 1);
	/* each watcher: the first change at once, the last at the window's end */
	CHECK_INT(views_for(w.e, n, "alice"), ==, 2);
	CHECK_INT(views_for(w.e, n, "dave"), ==, 2);
	CHECK_INT(views_for(w.e, n, "erin"), ==, 2);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 1);
	CHECK_INT(w.e->views[w.e->n_views - 1].mono, ==, start + 100);
	CHECK_STR(last_for(w.e, "alice")->presence.lines[0].remote.text, "+498910499");
	check_spacing(&w, n, 100);

	/* a long random storm: line changes, logins and notes at random times */
	n = w.e->n_views;
	srand(4);
	for (int i = 0; i < 3000; i++) {
		int r = rand() % 10;

		if (r < 6) {
			snprintf(remote, sizeof(remote), "+4989%d", rand() % 5);
			call(&w, 1 + rand() % 5, remote);
		} else if (r < 8) {
			fx_login(&w.p, "bob", "s", rand() % 2, rand() % 2);
		} else {
			pres_set(&w.p, "alice", "bob", rand() % 6, rand() % 2 ? "x" : "y");
		}
		advance(&w, (uint64_t)(rand() % 40));
	}
	advance(&w, 100);
	check_spacing(&w, n, 100);
	CHECK(views_for(w.e, n, "alice") > 100); /* it did send, over 60 s */
	destroy(&w);
}

/* 300 Team watchers with the same rights: their view is built once. */
static void classes(void)
{
	struct world w;
	size_t n;
	uint64_t built;

	build(&w, 300);
	for (int i = 0; i < 300; i++) {
		char id[32];

		snprintf(id, sizeof(id), "m%04d", i);
		CHECK_INT(pres_watch(&w.p, id, "bob"), ==, 0);
	}
	watch_all(&w);
	advance(&w, 1000);
	n = w.e->n_views;
	built = w.p.stats.classes_built;
	call(&w, UCS_LINE_RINGING, "+4989123");
	CHECK_INT(w.e->n_views - n, ==, 304);
	/* Team (alice, dave, 300 members), Public (carol), Business (erin) */
	CHECK_INT(w.p.stats.classes_built - built, ==, 3);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 304);
	CHECK(w.p.stats.relation_bytes >= 304 * (sizeof(struct pres_rel) + 4));
	destroy(&w);
}

static void rights_change(void)
{
	struct world w;
	const struct ucs_presence_view *v;
	size_t n;

	build(&w, 0);
	watch_all(&w);
	call(&w, UCS_LINE_CONNECTED, "+4989123");
	advance(&w, 1000);
	v = last_for(w.e, "carol");
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_NONE);
	/* bob grants carol Team: the plugin queues bob as a target */
	n = w.e->n_views;
	fx_grant(&w.f, w.bob, "carol", UCS_LEVEL_TEAM, 0);
	reload(&w);
	pres_mark(&w.p, pres_user_find(&w.p, "bob"),
		  PRES_DIRTY_PRESENCE | PRES_DIRTY_TARGET | PRES_DIRTY_WATCHER);
	while (pres_step(&w.p, 1000))
		;
	CHECK_INT(views_for(w.e, n, "carol"), ==, 0); /* her window is still open */
	advance(&w, 100);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 1);
	CHECK_INT(views_for(w.e, n, "alice"), ==, 0); /* her view did not change */
	v = last_for(w.e, "carol");
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_ON_PHONE);
	CHECK_STR(v->presence.lines[0].remote.text, "+4989123");
	CHECK(v->rights & UCS_R_SET_PRESENCE);
	/* carol may now set bob's presence and note */
	CHECK_INT(pres_set(&w.p, "carol", "bob", UCS_PRES_AWAY, "at lunch"), ==, 0);
	CHECK_STR(pres_user_find(&w.p, "bob")->pres.note, "at lunch");
	/* the group loses dave: dave drops to Public */
	advance(&w, 1000);
	n = w.e->n_views;
	w.f.groups[0]->n_members = 2; /* alice, bob */
	reload(&w);
	pres_mark(&w.p, pres_user_find(&w.p, "dave"), PRES_DIRTY_TARGET);
	pres_mark(&w.p, pres_user_find(&w.p, "bob"), PRES_DIRTY_TARGET);
	while (pres_step(&w.p, 1000))
		;
	advance(&w, 100);
	CHECK_INT(views_for(w.e, n, "dave"), ==, 1);
	v = last_for(w.e, "dave");
	CHECK_INT(v->presence.reason, ==, UCS_PRES_R_NONE);
	CHECK_STR(v->presence.note, "at lunch"); /* Public sees the note */
	CHECK_STR(v->presence.lines[0].remote.text, "");
	destroy(&w);
}

/* Views of (watcher, target) from index `from` on. */
static size_t views_of(const struct fx_env *e, size_t from, const char *watcher, const char *target)
{
	size_t n = 0;

	for (size_t i = from; i < e->n_views && i < 4096; i++)
		n += strcmp(e->views[i].watcher, watcher) == 0 &&
		     strcmp(e->views[i].view.presence.user.text, target) == 0;
	return n;
}

static void switch_presence(struct world *w, int off)
{
	if (off)
		w->f.settings.restrictions |= UCS_RESTRICT_PRESENCE_OFF;
	else
		w->f.settings.restrictions &= ~UCS_RESTRICT_PRESENCE_OFF;
	reload(w);
	while (pres_step(&w->p, 1000))
		;
}

/* Presence switched off: every watcher gets one UNKNOWN view (so clients
 * stop showing the last state), then nothing; switched on again: the
 * current views. Both go through the coalescing window. */
static void switched_off(void)
{
	struct world w;
	struct ucs_presence_view g;
	size_t n, changed;

	build(&w, 0);
	watch_all(&w);
	advance(&w, 1000);
	n = w.e->n_views;
	changed = w.e->n_changed;
	switch_presence(&w, 1);
	CHECK_INT(w.e->n_views - n, ==, 4);
	for (size_t i = n; i < w.e->n_views; i++) {
		const struct ucs_presence *v = &w.e->views[i].view.presence;

		CHECK_INT(v->state, ==, UCS_PRES_UNKNOWN);
		CHECK_INT(v->n_lines, ==, 0);
		CHECK_INT(v->since, ==, 0);
	}
	n = w.e->n_views;
	call(&w, UCS_LINE_CONNECTED, "+4989123");
	advance(&w, 1000);
	CHECK_INT(w.e->n_views, ==, n);
	CHECK_INT(w.e->n_changed, ==, changed);
	CHECK_INT(pres_get(&w.p, "alice", "bob", &g), ==, 0);
	CHECK_INT(g.presence.state, ==, UCS_PRES_UNKNOWN);
	CHECK_INT(pres_get(&w.p, "bob", "bob", &g), ==, 0);
	CHECK_INT(g.presence.state, ==, UCS_PRES_UNKNOWN);
	CHECK_INT(pres_set(&w.p, "bob", "bob", UCS_PRES_BUSY, NULL), ==, -ENOTSUP);
	CHECK_INT(pres_watch(&w.p, "alice", "carol"), ==, 0); /* the current view: unknown */
	CHECK_INT(w.e->n_views, ==, n + 1);
	CHECK_INT(w.e->views[n].view.presence.state, ==, UCS_PRES_UNKNOWN);
	/* on again: every watcher gets the current view */
	advance(&w, 1000);
	n = w.e->n_views;
	switch_presence(&w, 0);
	CHECK_INT(w.e->n_views - n, ==, 5);
	CHECK_INT(last_for(w.e, "alice")->presence.reason, ==, UCS_PRES_R_ON_PHONE);
	CHECK_INT(pres_get(&w.p, "carol", "bob", &g), ==, 0);
	CHECK(pres_view_hash(&g) == pres_view_hash(last_for(w.e, "carol")));
	/* switched off inside the window of a view: the unknown view comes
	 * when the window ends; alice's view of carol is older and goes now */
	advance(&w, 1000);
	call(&w, UCS_LINE_IDLE, NULL);
	n = w.e->n_views;
	advance(&w, 10);
	switch_presence(&w, 1);
	CHECK_INT(w.e->n_views - n, ==, 1);
	CHECK_INT(views_of(w.e, n, "alice", "carol"), ==, 1);
	advance(&w, 89);
	CHECK_INT(w.e->n_views - n, ==, 1);
	advance(&w, 1);
	CHECK_INT(w.e->n_views - n, ==, 5);
	CHECK_INT(last_for(w.e, "dave")->presence.state, ==, UCS_PRES_UNKNOWN);
	/* switched on and off again inside the window: bob's watchers get
	 * nothing at all (the view came back to what they have) */
	n = w.e->n_views;
	advance(&w, 10);
	switch_presence(&w, 0);
	switch_presence(&w, 1);
	advance(&w, 1000);
	CHECK_INT(views_of(w.e, n, "alice", "bob") + views_of(w.e, n, "carol", "bob") +
			  views_of(w.e, n, "dave", "bob") + views_of(w.e, n, "erin", "bob"),
		  ==, 0);
	destroy(&w);
}

/* A change a watcher may not see moves nothing of her view: get() gives the
 * same bytes before and after (seq included), and no view goes out. A view
 * carries seq only when it hides nothing (her own). */
static void hidden_change(void)
{
	struct world w;
	struct ucs_presence_view a, b, self_a, self_b;
	size_t n;

	build(&w, 0);
	watch_all(&w);
	call(&w, UCS_LINE_CONNECTED, "+4989001");
	advance(&w, 1000); /* the window's end: the views go */
	advance(&w, 1000); /* and the next window is over too */
	CHECK_INT(pres_get(&w.p, "carol", "bob", &a), ==, 0);
	CHECK_INT(pres_get(&w.p, "bob", "bob", &self_a), ==, 0);
	n = w.e->n_views;
	call(&w, UCS_LINE_CONNECTED, "+4989002");
	CHECK_INT(pres_get(&w.p, "carol", "bob", &b), ==, 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK_INT(a.presence.seq, ==, 0);
	CHECK_INT(views_for(w.e, n, "carol"), ==, 0);
	/* erin (Business) sees the caller change: a view, without seq */
	CHECK_INT(views_for(w.e, n, "erin"), ==, 1);
	CHECK_STR(last_for(w.e, "erin")->presence.lines[0].remote.text, "+4989002");
	CHECK_INT(last_for(w.e, "erin")->presence.seq, ==, 0);
	CHECK_INT(pres_get(&w.p, "bob", "bob", &self_b), ==, 0);
	CHECK(self_b.presence.seq > self_a.presence.seq);
	CHECK_INT(self_b.presence.seq, ==, pres_user_find(&w.p, "bob")->pres.seq);
	destroy(&w);
}

/* Removes the user with that id from the fixture's next snapshot. */
static void drop_user(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->f.n_users; i++)
		if (strcmp(w->f.users[i]->id, id) == 0) {
			memmove(&w->f.users[i], &w->f.users[i + 1],
				(w->f.n_users - i - 1) * sizeof(*w->f.users));
			w->f.n_users--;
			return;
		}
}

/* bob leaves the store: the relations he is part of go with him, both
 * ways, a pending one too, and his inputs; a bob created later with the
 * same id starts clean. */
static void departed(void)
{
	struct world w;
	struct pres_user *bob;
	size_t n;

	build(&w, 0);
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "carol", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "bob", "carol"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "bob", "dave"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "bob", "bob"), ==, 0); /* a client watching herself */
	CHECK_INT(fx_login(&w.p, "bob", "s1", 1, 0), ==, 0);
	CHECK_INT(pres_set(&w.p, "bob", "bob", UCS_PRES_BUSY, "gone fishing"), ==, 0);
	CHECK_INT(fx_av(&w.p, "bob", 1, "carol"), ==, 0);
	call(&w, UCS_LINE_RINGING, "+4989001");
	bob = pres_user_find(&w.p, "bob");
	CHECK(bob->n_pending > 0);
	drop_user(&w, "bob");
	reload(&w);
	while (pres_step(&w.p, 1000))
		;
	CHECK(bob->ud == NULL);
	CHECK_INT(bob->n_watchers, ==, 0);
	CHECK_INT(bob->n_watching, ==, 0);
	CHECK_INT(bob->n_pending, ==, 0);
	CHECK_INT(pres_user_find(&w.p, "carol")->n_watchers, ==, 0);
	CHECK_INT(pres_user_find(&w.p, "alice")->n_watching, ==, 0);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 0);
	CHECK_INT(pres_unwatch(&w.p, "alice", "bob"), ==, -ENOENT);
	CHECK_INT(pres_unwatch(&w.p, "bob", "carol"), ==, -ENOENT);
	n = w.e->n_views;
	advance(&w, 1000);
	CHECK_INT(w.e->n_views, ==, n); /* nothing about him flushes */
	CHECK_INT(pres_next_timeout(&w.p), ==, -1);
	/* a new bob with the same id */
	fx_user(&w.f, "bob");
	reload(&w);
	while (pres_step(&w.p, 1000))
		;
	CHECK(pres_user_find(&w.p, "bob") == bob);
	CHECK(bob->ud != NULL);
	CHECK_INT(bob->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_STR(bob->pres.note, "");
	CHECK_INT(bob->pres.av_busy, ==, 0);
	CHECK_INT(bob->manual, ==, 0);
	CHECK_INT(bob->n_sessions, ==, 0);
	CHECK_INT(bob->n_watchers + bob->n_watching, ==, 0);
	n = w.e->n_views;
	fx_login(&w.p, "carol", "s", 1, 0);
	fx_login(&w.p, "dave", "s", 1, 0);
	CHECK_INT(views_for(w.e, n, "bob"), ==, 0);
	/* watching him works as for anyone */
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0);
	CHECK_INT(views_of(w.e, n, "alice", "bob"), ==, 1);
	/* deleted and created anew before the core saw him gone (both in one
	 * batch): the plugin forgets him on the deletion's message */
	CHECK_INT(pres_watch(&w.p, "bob", "carol"), ==, 0);
	CHECK_INT(fx_login(&w.p, "bob", "s1", 1, 0), ==, 0);
	CHECK_INT(bob->pres.state, ==, UCS_PRES_AVAILABLE);
	advance(&w, 1000);
	n = w.e->n_views;
	pres_user_forget(&w.p, bob);
	while (pres_step(&w.p, 1000))
		;
	CHECK_INT(bob->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_INT(bob->n_sessions, ==, 0);
	pres_fanout_stats(&w.p);
	CHECK_INT(w.p.stats.relations, ==, 0);
	CHECK_INT(w.e->n_views, ==, n);
	destroy(&w);
}

static void limits_and_set(void)
{
	struct world w;
	char note[300];

	build(&w, 0);
	w.p.max_watches = 2;
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "alice", "carol"), ==, 0);
	CHECK_INT(pres_watch(&w.p, "alice", "dave"), ==, -ENOSPC);
	CHECK_INT(pres_watch(&w.p, "alice", "bob"), ==, 0); /* an existing one still counts */
	/* set(): Public may neither, Team may both, herself always */
	CHECK_INT(pres_set(&w.p, "carol", "bob", UCS_PRES_BUSY, NULL), ==, -EPERM);
	CHECK_INT(pres_set(&w.p, "carol", "bob", -1, "hi"), ==, -EPERM);
	CHECK_INT(pres_set(&w.p, "erin", "bob", UCS_PRES_BUSY, NULL), ==, -EPERM); /* Business */
	CHECK_INT(pres_set(&w.p, "nobody", "bob", UCS_PRES_BUSY, NULL), ==, -EPERM);
	CHECK_INT(pres_user_find(&w.p, "bob")->manual, ==, 0);
	CHECK_INT(pres_set(&w.p, "alice", "bob", UCS_PRES_BUSY, "in a call"), ==, 0);
	CHECK_INT(pres_user_find(&w.p, "bob")->pres.state, ==, UCS_PRES_BUSY);
	CHECK_STR(pres_user_find(&w.p, "bob")->pres.note, "in a call");
	CHECK_INT(pres_set(&w.p, "alice", "bob", -1, NULL), ==, 0); /* keeps both */
	CHECK_INT(pres_user_find(&w.p, "bob")->manual, ==, UCS_PRES_BUSY);
	CHECK_INT(pres_set(&w.p, "alice", "bob", 0, ""), ==, 0); /* clears both */
	CHECK_INT(pres_user_find(&w.p, "bob")->pres.state, ==, UCS_PRES_OFFLINE);
	CHECK_STR(pres_user_find(&w.p, "bob")->pres.note, "");
	CHECK_INT(pres_set(&w.p, "carol", "carol", UCS_PRES_DND, "do not"), ==, 0);
	CHECK_INT(pres_set(&w.p, "alice", "nobody", UCS_PRES_BUSY, NULL), ==, -ENOENT);
	CHECK_INT(pres_set(&w.p, "alice", "bob", 6, NULL), ==, -EINVAL);
	CHECK_INT(pres_set(&w.p, "alice", "bob", -2, NULL), ==, -EINVAL);
	memset(note, 'n', sizeof(note) - 1);
	note[sizeof(note) - 1] = 0;
	CHECK_INT(pres_set(&w.p, "alice", "bob", -1, note), ==, -EINVAL);
	note[255] = 0;
	CHECK_INT(pres_set(&w.p, "alice", "bob", -1, note), ==, 0);
	destroy(&w);
}

/* Bulk work runs in steps of bounded duration. */
static void steps(void)
{
	struct world w;
	size_t left, steps = 0;

	build(&w, 2000);
	for (int i = 0; i < 2000; i++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "m%04d", i);
		snprintf(b, sizeof(b), "m%04d", (i + 1) % 2000);
		CHECK_INT(pres_watch(&w.p, a, b), ==, 0);
	}
	advance(&w, 1000);
	w.e->n_views = 0;
	w.f.groups[0]->member_rights.level = UCS_LEVEL_PUBLIC;
	reload(&w);
	pres_mark_all(&w.p, PRES_DIRTY_PRESENCE | PRES_DIRTY_TARGET);
	left = pres_step(&w.p, 1);
	CHECK(left > 0 && left < 2005);
	while (left) {
		left = pres_step(&w.p, 200);
		steps++;
	}
	CHECK(steps >= 1);
	CHECK_INT(w.e->n_views, ==, 2000); /* every relation re-evaluated, once */
	destroy(&w);
}

/* A user's sessions: the array grows on demand up to PRES_MAX_SESSIONS,
 * one more is refused, leaving in any order keeps the right ones. */
static void sessions(void)
{
	struct world w;
	struct pres_user *bob;
	char id[16];

	build(&w, 0);
	for (int i = 0; i < PRES_MAX_SESSIONS; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		CHECK_INT(fx_login(&w.p, "bob", id, 1, i != 8), ==, 0);
	}
	bob = pres_user_find(&w.p, "bob");
	CHECK(bob != NULL);
	if (!bob) {
		destroy(&w);
		return;
	}
	CHECK_INT(bob->n_sessions, ==, PRES_MAX_SESSIONS);
	CHECK_INT(bob->cap_sessions, ==, PRES_MAX_SESSIONS);
	CHECK_INT(fx_login(&w.p, "bob", "one-more", 1, 0), ==, -ENOSPC);
	CHECK_INT(bob->pres.state, ==, UCS_PRES_AVAILABLE); /* s8 is not idle */
	for (int i = PRES_MAX_SESSIONS - 1; i >= 0; i -= 2) {
		snprintf(id, sizeof(id), "s%d", i);
		CHECK_INT(fx_login(&w.p, "bob", id, 0, 0), ==, 0);
	}
	CHECK_INT(bob->n_sessions, ==, PRES_MAX_SESSIONS / 2);
	CHECK_INT(bob->pres.state, ==, UCS_PRES_AVAILABLE); /* s8 stayed */
	CHECK_INT(fx_login(&w.p, "bob", "s8", 0, 0), ==, 0); /* the one active session */
	CHECK_INT(bob->pres.state, ==, UCS_PRES_AWAY);	     /* every other is idle */
	for (int i = 0; i < PRES_MAX_SESSIONS; i += 2) {
		snprintf(id, sizeof(id), "s%d", i);
		CHECK_INT(fx_login(&w.p, "bob", id, 0, 0), ==, 0);
	}
	CHECK_INT(bob->n_sessions, ==, 0);
	CHECK_INT(bob->pres.state, ==, UCS_PRES_OFFLINE);
	destroy(&w);
}

int main(void)
{
	sessions();
	basics();
	coalescing();
	storm();
	classes();
	rights_change();
	switched_off();
	hidden_change();
	departed();
	limits_and_set();
	steps();
	return check_report();
}
