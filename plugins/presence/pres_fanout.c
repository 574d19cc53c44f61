/*
 * plugins/presence/pres_fanout.c - watch relations, coalescing and the
 * bulk-work queue.
 *
 * Relations. watch(w, t) files a struct pres_rel in t's array (sorted by
 * watcher, so a repeated watch or an unwatch is a binary search) and t's
 * index in w's array (sorted too, for "everything w watches" after w's
 * rights changed). A relation costs sizeof(struct pres_rel) + 4 bytes plus
 * the arrays' slack.
 *
 * Fan-out. When t's presence changes, every relation is evaluated: within
 * its coalescing window (a view went out less than coalesce_ms ago) it is
 * only marked pending and t gets a flush deadline; otherwise the watcher's
 * view is built and handed to the sink unless its hash equals the last view
 * that relation got. Views are built once per distinct (rights, extra-line
 * grants) on t's current presence - a target's 200 watchers usually fall
 * into a handful of such classes - so the work per watcher is a rights
 * lookup, a hash compare and the hand-off. When the window ends, the flush
 * evaluates the pending relations again: the newest state goes out, or
 * nothing when the view came back to what the watcher has. Presence
 * switched off is a view like any other: every watcher gets one UNKNOWN
 * view (within the same rules) and then nothing, since it does not change;
 * switched on again, the current views differ from it and go out.
 *
 * A user who leaves the store takes her relations with her, both ways
 * (pres_drop_relations); nobody gets a view for that.
 *
 * Bulk work. A new snapshot may touch every relation; it is queued per user
 * (dirty flags) and pres_step() works through the queue for a bounded time,
 * so the caller can give the loop back between steps. One user's relations
 * are not split across steps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pres.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static uint64_t mono(const struct pres *p)
{
	return p->clock.mono_ms(p->clock.arg);
}

/* ---- relations -------------------------------------------------------- */

/* Position of watcher w in t's array, or where it would go. */
static uint32_t rel_pos(const struct pres_user *t, uint32_t w, int *found)
{
	uint32_t lo = 0, hi = t->n_watchers;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->watchers[mid].watcher < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->n_watchers && t->watchers[lo].watcher == w;
	return lo;
}

static uint32_t target_pos(const struct pres_user *w, uint32_t t, int *found)
{
	uint32_t lo = 0, hi = w->n_watching;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (w->watching[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < w->n_watching && w->watching[lo] == t;
	return lo;
}

/* Relations live long and are many: grow by a quarter (the slack stays
 * near 12 % on average) rather than doubling. */
static uint32_t grown(uint32_t cap)
{
	return cap + cap / 4 + 8;
}

static int reserve(struct pres_user *w, struct pres_user *t)
{
	if (t->n_watchers == t->cap_watchers) {
		uint32_t cap = grown(t->cap_watchers);
		struct pres_rel *a = realloc(t->watchers, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		t->watchers = a;
		t->cap_watchers = cap;
	}
	if (w->n_watching == w->cap_watching) {
		uint32_t cap = grown(w->cap_watching);
		uint32_t *a = realloc(w->watching, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		w->watching = a;
		w->cap_watching = cap;
	}
	return 0;
}

/* ---- views of one target ---------------------------------------------- */

static struct pres_class *class_for(struct pres *p, const struct pres_user *t,
				    const struct pres_user *w)
{
	uint64_t gen = rights_generation(p->re);
	uint64_t r = w->ridx >= 0 && t->ridx >= 0 ? rights_get(p->re, w->ridx, t->ridx) : 0;
	uint32_t xg = pres_view_extra_grants(p, w, &t->pres);
	struct pres_class *c;
	uint32_t i, victim = 0;

	if (p->cls_target != (int32_t)t->idx || p->cls_seq != t->pres.seq || p->cls_gen != gen ||
	    p->cls_off != p->presence_off) {
		p->cls_target = (int32_t)t->idx;
		p->cls_seq = t->pres.seq;
		p->cls_gen = gen;
		p->cls_off = p->presence_off;
		p->cls_n = 0;
	}
	for (i = 0; i < p->cls_n; i++) {
		c = &p->classes[i];
		if (c->rights == r && c->xg == xg) {
			c->used = ++p->cls_clock;
			return c;
		}
		if (c->used < p->classes[victim].used)
			victim = i;
	}
	if (p->cls_n < PRES_CLASSES)
		victim = p->cls_n++;
	c = &p->classes[victim];
	c->rights = r;
	c->xg = xg;
	c->used = ++p->cls_clock;
	pres_view_build(&t->pres, r, xg, p->presence_off, &c->view);
	c->hash = pres_view_hash(&c->view);
	p->stats.classes_built++;
	return c;
}

static void settle(struct pres_user *t, struct pres_rel *rel)
{
	if (rel->pending) {
		rel->pending = 0;
		t->n_pending--;
	}
}

/* Evaluates one relation now: send, skip (unchanged) or defer. */
static void eval_rel(struct pres *p, struct pres_user *t, struct pres_rel *rel, uint64_t now)
{
	struct pres_user *w = p->users[rel->watcher];
	uint32_t age = (uint32_t)now - rel->last_sent;
	struct pres_class *c;

	if (rel->last_hash && age < p->coalesce_ms) {
		uint64_t due = now + (p->coalesce_ms - age);

		if (!rel->pending) {
			rel->pending = 1;
			t->n_pending++;
		}
		if (t->flush_node.pos == PRES_HEAP_NONE || t->flush_node.key > due)
			pres_heap_set(&p->flush_heap, &t->flush_node, due);
		p->stats.views_deferred++;
		return;
	}
	c = class_for(p, t, w);
	settle(t, rel);
	if (!rel->force && c->hash == rel->last_hash) {
		p->stats.views_unchanged++;
		return;
	}
	c->view.watcher = w->id;
	if (p->sink.view)
		p->sink.view(p->sink.arg, w, &c->view);
	rel->last_hash = c->hash;
	rel->last_sent = (uint32_t)now;
	rel->force = 0;
	p->stats.views_sent++;
}

void pres_fanout(struct pres *p, struct pres_user *t)
{
	uint64_t now;

	if (!t->n_watchers)
		return;
	now = mono(p);
	for (uint32_t i = 0; i < t->n_watchers; i++)
		eval_rel(p, t, &t->watchers[i], now);
}

void pres_reeval_target(struct pres *p, struct pres_user *t)
{
	pres_fanout(p, t);
}

void pres_reeval_watcher(struct pres *p, struct pres_user *w)
{
	uint64_t now = mono(p);

	for (uint32_t i = 0; i < w->n_watching; i++) {
		struct pres_user *t = p->users[w->watching[i]];
		int found;
		uint32_t pos = rel_pos(t, w->idx, &found);

		if (found)
			eval_rel(p, t, &t->watchers[pos], now);
	}
}

static void flush_target(struct pres *p, struct pres_user *t, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	p->stats.flushes++;
	for (uint32_t i = 0; i < t->n_watchers && t->n_pending; i++) {
		struct pres_rel *rel = &t->watchers[i];
		uint32_t age = (uint32_t)now - rel->last_sent;

		if (!rel->pending)
			continue;
		if (age >= p->coalesce_ms)
			eval_rel(p, t, rel, now);
		else if (now + (p->coalesce_ms - age) < next)
			next = now + (p->coalesce_ms - age);
	}
	if (t->n_pending && next != UINT64_MAX)
		pres_heap_set(&p->flush_heap, &t->flush_node, next);
}

void pres_flush_due(struct pres *p)
{
	uint64_t now = mono(p);
	struct pres_heap_node *nd;

	while ((nd = pres_heap_top(&p->flush_heap)) && nd->key <= now) {
		struct pres_user *t = container_of(nd, struct pres_user, flush_node);

		pres_heap_del(&p->flush_heap, nd);
		flush_target(p, t, now);
	}
}

/* ---- watch / unwatch ---------------------------------------------------- */

int pres_watch(struct pres *p, const char *watcher, const char *target)
{
	struct pres_user *w = watcher ? pres_user_get(p, watcher) : NULL;
	struct pres_user *t = target ? pres_user_get(p, target) : NULL;
	struct pres_rel *rel;
	uint32_t pos, tpos;
	int found, tfound;

	if (!w || !w->ud || !t || !t->ud)
		return -ENOENT;
	pos = rel_pos(t, w->idx, &found);
	if (found) {
		rel = &t->watchers[pos];
		if (rel->count == UINT16_MAX)
			return -EOVERFLOW;
		rel->count++;
		rel->force = 1; /* the new watch wants the current view, too */
		eval_rel(p, t, rel, mono(p));
		return 0;
	}
	if (p->max_watches && w->n_watching >= p->max_watches)
		return -ENOSPC;
	if (reserve(w, t) != 0)
		return -ENOMEM;
	memmove(&t->watchers[pos + 1], &t->watchers[pos],
		(t->n_watchers - pos) * sizeof(*t->watchers));
	t->n_watchers++;
	rel = &t->watchers[pos];
	memset(rel, 0, sizeof(*rel));
	rel->watcher = w->idx;
	rel->count = 1;
	rel->force = 1;
	tpos = target_pos(w, t->idx, &tfound);
	memmove(&w->watching[tpos + 1], &w->watching[tpos],
		(w->n_watching - tpos) * sizeof(*w->watching));
	w->watching[tpos] = t->idx;
	w->n_watching++;
	eval_rel(p, t, rel, mono(p));
	return 0;
}

/* Takes the relation at pos out of t's array. */
static void remove_rel(struct pres *p, struct pres_user *t, uint32_t pos)
{
	settle(t, &t->watchers[pos]);
	memmove(&t->watchers[pos], &t->watchers[pos + 1],
		(t->n_watchers - pos - 1) * sizeof(*t->watchers));
	t->n_watchers--;
	if (!t->n_pending)
		pres_heap_del(&p->flush_heap, &t->flush_node);
}

/* Takes target t out of w's array. */
static void remove_watching(struct pres_user *w, uint32_t t)
{
	int found;
	uint32_t pos = target_pos(w, t, &found);

	if (!found)
		return;
	memmove(&w->watching[pos], &w->watching[pos + 1],
		(w->n_watching - pos - 1) * sizeof(*w->watching));
	w->n_watching--;
}

int pres_unwatch(struct pres *p, const char *watcher, const char *target)
{
	struct pres_user *w = watcher ? pres_user_find(p, watcher) : NULL;
	struct pres_user *t = target ? pres_user_find(p, target) : NULL;
	uint32_t pos;
	int found;

	if (!w || !t)
		return -ENOENT;
	pos = rel_pos(t, w->idx, &found);
	if (!found)
		return -ENOENT;
	if (--t->watchers[pos].count > 0)
		return 0;
	remove_rel(p, t, pos);
	remove_watching(w, t->idx);
	return 0;
}

void pres_drop_relations(struct pres *p, struct pres_user *u)
{
	/* as target: her watchers no longer list her (also she herself) */
	for (uint32_t i = 0; i < u->n_watchers; i++)
		remove_watching(p->users[u->watchers[i].watcher], u->idx);
	free(u->watchers);
	u->watchers = NULL;
	u->n_watchers = u->cap_watchers = 0;
	u->n_pending = 0;
	pres_heap_del(&p->flush_heap, &u->flush_node);
	/* as watcher: the users she watched lose her relation */
	for (uint32_t i = 0; i < u->n_watching; i++) {
		struct pres_user *t = p->users[u->watching[i]];
		int found;
		uint32_t pos = rel_pos(t, u->idx, &found);

		if (found)
			remove_rel(p, t, pos);
	}
	free(u->watching);
	u->watching = NULL;
	u->n_watching = u->cap_watching = 0;
}

/* ---- bulk work -------------------------------------------------------- */

int pres_mark(struct pres *p, struct pres_user *u, unsigned flags)
{
	if (!u->dirty) {
		if (p->q_len == p->q_cap) {
			size_t cap = p->q_cap ? p->q_cap * 2 : 256;
			uint32_t *q = malloc(cap * sizeof(*q));

			if (!q)
				return -ENOMEM;
			for (size_t i = 0; i < p->q_len; i++)
				q[i] = p->queue[(p->q_head + i) % p->q_cap];
			free(p->queue);
			p->queue = q;
			p->q_cap = cap;
			p->q_head = 0;
		}
		p->queue[(p->q_head + p->q_len++) % p->q_cap] = u->idx;
	}
	u->dirty |= (uint8_t)flags;
	return 0;
}

int pres_mark_all(struct pres *p, unsigned flags)
{
	int err = 0;

	for (size_t i = 0; i < p->n_users; i++)
		if (pres_mark(p, p->users[i], flags) != 0)
			err = -ENOMEM;
	return err;
}

static uint64_t elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000000u +
	       (uint64_t)((t1.tv_nsec - t0->tv_nsec) / 1000);
}

size_t pres_step(struct pres *p, uint32_t budget_us)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (p->q_len) {
		struct pres_user *u = p->users[p->queue[p->q_head]];
		unsigned f = u->dirty;

		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_len--;
		u->dirty = 0;
		if ((f & PRES_DIRTY_PRESENCE) && pres_update(p, u))
			f &= ~PRES_DIRTY_TARGET; /* the update fanned out already */
		if (f & PRES_DIRTY_TARGET)
			pres_reeval_target(p, u);
		if (f & PRES_DIRTY_WATCHER)
			pres_reeval_watcher(p, u);
		if (elapsed_us(&t0) >= budget_us)
			break;
	}
	return p->q_len;
}

int64_t pres_next_timeout(struct pres *p)
{
	struct pres_heap_node *f = pres_heap_top(&p->flush_heap);
	struct pres_heap_node *c = pres_heap_top(&p->cal_heap);
	int64_t best = -1;

	if (f) {
		uint64_t now = mono(p);

		best = f->key > now ? (int64_t)(f->key - now) : 0;
	}
	if (c) {
		int64_t now = p->clock.wall_ms(p->clock.arg);
		int64_t d = (int64_t)c->key > now ? (int64_t)c->key - now : 0;

		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

void pres_fanout_stats(struct pres *p)
{
	size_t rel = 0, bytes = 0;

	for (size_t i = 0; i < p->n_users; i++) {
		const struct pres_user *u = p->users[i];

		rel += u->n_watchers;
		bytes += u->cap_watchers * sizeof(struct pres_rel) +
			 u->cap_watching * sizeof(uint32_t);
	}
	p->stats.relations = rel;
	p->stats.relation_bytes = bytes;
}
