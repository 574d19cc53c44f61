/*
 * plugins/presence/pres.h - the presence core: one presence per user, the
 * lines bound to her, and the views her watchers get.
 *
 * The core is plain C over plain structs; it knows neither the loop nor the
 * bus. plugin.c feeds it (bus inputs, user-store snapshots, service calls),
 * gives it two clocks and a sink, and arms one timer at the deadline the
 * core asks for. The unit tests and the benchmark drive the very same code
 * with a fake clock and a recording sink.
 *
 * Users. Every user the core ever met has a struct pres_user at a stable
 * index (users are never freed while the core lives: watch relations refer
 * to them by index). A user that left the user store keeps her slot with no
 * document (ud NULL, ridx -1) and nothing else: her inputs are forgotten,
 * her presence is offline, and the watch relations she was part of - as
 * watcher or as target - are dropped, so that a user created later with the
 * same id starts clean instead of inheriting them.
 *
 * Inputs -> presence. The four bus inputs (logins, lines, calendar, AV) and
 * the manual state set() update a user's inputs; pres_update() recomputes
 * her presence with the documented precedence (pres_model.c) and, when it
 * changed, hands "presence.changed" to the sink and fans out.
 *
 * Lines. A line is known once presence.in.line reported it; the binding
 * index (pres_binding.c, rebuilt from each snapshot) decides which users own
 * it and as which class (first, second, additional). An internal number
 * names a line only while exactly one live line carries it (two PBXs may
 * both have an extension 222); the core counts the live lines per internal
 * number for that.
 *
 * Views. A watcher's view of a target is the target's presence filtered by
 * the watcher's rights (pres_view.c). Watch relations (pres_fanout.c) are
 * counted; a target's change builds each watcher's view - once per distinct
 * set of effective rights - and hands it to the sink unless it equals the
 * last one that watcher got, at most once per coalescing window per
 * relation; the last state is flushed when the window ends.
 *
 * Bulk work (a new snapshot that touches many users) is queued per user
 * (dirty flags) and run in steps of a bounded duration, so the loop never
 * stalls for long.
 */
#ifndef PRESENCE_PRES_H
#define PRESENCE_PRES_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/presence.h>
#include <ucs/rights.h>
#include <ucs/userdb.h>

#include "rights.h"

/* ---- small containers (pres_map.c, pres_heap.c) ----------------------- */

/* String -> int32 hash map with open addressing. Keys are not copied: they
 * must live as long as their entry. */
struct pres_map_slot {
	const char *key; /* NULL: empty */
	uint32_t hash;
	int32_t val;
};

struct pres_map {
	struct pres_map_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

uint32_t pres_hash_str(const char *s);
void pres_map_free(struct pres_map *m);
void pres_map_clear(struct pres_map *m);
/* The value of key, or -1. */
int32_t pres_map_get(const struct pres_map *m, const char *key);
/* Inserts or replaces. -ENOMEM leaves the map as it was. */
int pres_map_put(struct pres_map *m, const char *key, int32_t val);
/* 0, or -ENOENT. */
int pres_map_del(struct pres_map *m, const char *key);

/* An indexed binary min-heap of deadlines; the node lives in its owner. */
#define PRES_HEAP_NONE UINT32_MAX
struct pres_heap_node {
	uint64_t key;
	uint32_t pos; /* PRES_HEAP_NONE when not in the heap */
};

struct pres_heap {
	struct pres_heap_node **a;
	size_t n, cap;
};

void pres_heap_node_init(struct pres_heap_node *nd);
void pres_heap_free(struct pres_heap *h);
/* Inserts the node or moves it to its new key. */
int pres_heap_set(struct pres_heap *h, struct pres_heap_node *nd, uint64_t key);
void pres_heap_del(struct pres_heap *h, struct pres_heap_node *nd);
struct pres_heap_node *pres_heap_top(const struct pres_heap *h);

/* ---- the core ------------------------------------------------------- */

#define PRES_MAX_SESSIONS   64 /* per user; more are refused */
#define PRES_MAX_USER_LINES 64 /* lines bound to one user; more are not bound */

/* One client session of a user. */
struct pres_session {
	struct ucs_id id;
	int32_t idle;
};

/* A line bound to a user (or a user owning a line), with its class. */
struct pres_bound {
	uint32_t idx; /* line index (in a user) or user index (in a line) */
	int32_t cls;  /* enum ucs_line_class */
};

/* One watcher of a target, kept in the target's array sorted by watcher. */
struct pres_rel {
	uint32_t watcher;   /* user index */
	uint16_t count;	    /* watch() calls not undone */
	uint8_t pending;    /* a change waits for the coalescing window to end */
	uint8_t force;	    /* send the next view even when it did not change */
	uint32_t last_sent; /* monotonic ms (mod 2^32) of the last view sent */
	uint64_t last_hash; /* hash of the last view sent; 0: none sent yet */
};

/* Dirty flags of the bulk-work queue. */
#define PRES_DIRTY_PRESENCE 1u /* recompute her presence */
#define PRES_DIRTY_TARGET   2u /* re-evaluate every relation watching her */
#define PRES_DIRTY_WATCHER  4u /* re-evaluate every relation she watches by */

struct pres_user {
	uint32_t idx;
	int32_t ridx;		      /* rights engine index; -1: not in the snapshot */
	const struct ucs_ud_user *ud; /* in the current snapshot, or NULL */
	uint64_t seen;		      /* snapshot generation that last listed her */
	struct ucs_id id;
	char wkey[UCS_ID_MAX + 8]; /* "watcher:<id>" */
	char ukey[UCS_ID_MAX + 8]; /* "user:<id>" */

	/* inputs */
	struct pres_session *sessions; /* grown on demand: most users have one or two */
	uint32_t n_sessions, cap_sessions;
	uint32_t n_bound;
	struct pres_bound *bound; /* lines bound to her */
	uint32_t cap_bound;
	int32_t manual; /* enum ucs_presence_state, 0: none */
	int32_t av_busy;
	int32_t has_cal;
	struct ucs_presence_calendar cal;
	struct pres_heap_node cal_node; /* next calendar transition (wall ms) */
	struct ucs_id av_with;
	char note[256];

	/* output */
	struct ucs_presence pres;

	/* watch relations */
	struct pres_rel *watchers; /* sorted by watcher index */
	uint32_t n_watchers, cap_watchers;
	uint32_t *watching; /* target indices, sorted */
	uint32_t n_watching, cap_watching;
	uint32_t n_pending;		  /* relations in watchers[] with pending set */
	struct pres_heap_node flush_node; /* when her pending relations may go (mono ms) */

	uint8_t dirty; /* PRES_DIRTY_* */
};

struct pres_line {
	uint32_t idx;
	int32_t live;
	struct ucs_presence_line in; /* the last state reported, sanitised */
	struct pres_bound *owners;   /* users the line is bound to */
	uint32_t n_owners;
};

/* The live lines that carry one internal number. */
struct pres_num {
	uint32_t lines;		  /* how many */
	uint32_t warned;	  /* the ambiguity was logged (reset when unique again) */
	char text[UCS_PHONE_MAX]; /* the map's key */
};

/* Binding index entries, chained per key. */
struct pres_bind_ent {
	uint32_t user;
	int32_t cls;
	int32_t next; /* -1 ends the chain */
};

/* What the core hands out. view's out->watcher is filled in. */
struct pres_sink {
	void (*changed)(void *arg, const struct pres_user *u);
	void (*view)(void *arg, const struct pres_user *watcher, const struct ucs_presence_view *v);
	void *arg;
};

struct pres_clock {
	uint64_t (*mono_ms)(void *arg); /* coalescing */
	int64_t (*wall_ms)(void *arg);	/* Unix ms: calendar, presence.since */
	void *arg;
};

/* Views with the same effective rights on one target are built once. */
#define PRES_CLASSES 8
struct pres_class {
	uint64_t rights;
	uint32_t xg;
	uint32_t used;
	uint64_t hash;
	struct ucs_presence_view view;
};

struct pres_stats {
	uint64_t views_sent, views_unchanged, views_deferred, flushes;
	uint64_t presence_changes, classes_built;
	size_t long_ids;       /* users of the last snapshot whose id does not fit a ucs_id */
	size_t relations;      /* distinct (watcher, target) pairs */
	size_t relation_bytes; /* memory the relations hold (both directions) */
};

struct pres {
	struct rights_engine *re;	    /* not owned */
	const struct ucs_ud_snapshot *snap; /* not owned; the one re indexes */
	struct pres_sink sink;
	struct pres_clock clock;

	uint32_t coalesce_ms;
	uint32_t max_watches; /* per watcher; 0: no limit */
	uint32_t step_budget_us;
	int presence_off;
	int auto_binding;

	struct pres_user **users;
	size_t n_users, cap_users;
	struct pres_map user_map;

	struct pres_line **lines; /* slots; dead ones are reused */
	size_t n_lines, cap_lines;
	uint32_t *free_lines;
	size_t n_free_lines;
	struct pres_map line_map; /* line id -> index */

	struct pres_map num_map; /* internal number -> index in nums */
	struct pres_num **nums;	 /* slots; NULL ones are free */
	size_t n_nums, cap_nums;
	uint32_t *free_nums;
	size_t n_free_nums;

	struct pres_map bind_num;  /* canonical number -> chain (automatic binding) */
	struct pres_map bind_name; /* line id / internal number -> chain (direct) */
	struct pres_map rebind;	   /* during pres_load: keys whose owners may change */
	int rebind_all;		   /* ... or every line */
	struct pres_bind_ent *ents;
	size_t n_ents, cap_ents;

	struct pres_heap cal_heap;   /* wall ms */
	struct pres_heap flush_heap; /* mono ms */

	uint32_t *queue; /* ring of user indices with dirty flags */
	size_t q_head, q_len, q_cap;

	/* class cache of the target being fanned out */
	int32_t cls_target;
	uint64_t cls_seq, cls_gen;
	int cls_off;
	uint32_t cls_n, cls_clock;
	struct pres_class classes[PRES_CLASSES];

	struct pres_stats stats;

	/* Operator warnings (an internal number on several lines); optional. */
	void (*warn)(void *arg, const char *text);
	void *warn_arg;
};

/* ---- lifecycle and snapshots (pres_model.c) ------------------------- */

int pres_init(struct pres *p, struct rights_engine *re, const struct pres_sink *sink,
	      const struct pres_clock *clock);
void pres_fini(struct pres *p);
/* Adopts snap (already loaded into re by the caller): refreshes every
 * user's document and index, rebuilds the binding, and queues the users
 * whose lines, existence or the global switches changed. */
int pres_load(struct pres *p, const struct ucs_ud_snapshot *snap);
struct pres_user *pres_user_find(const struct pres *p, const char *id);
/* The user with that id, created when the snapshot knows her. */
struct pres_user *pres_user_get(struct pres *p, const char *id);
/* She left the store or was deleted (perhaps created anew already): drops
 * her watch relations both ways and forgets her inputs; her presence is
 * recomputed (queued). */
void pres_user_forget(struct pres *p, struct pres_user *u);

/* ---- inputs and presence (pres_model.c) ---------------------------- */

int pres_in_login(struct pres *p, const struct ucs_presence_login *in);
int pres_in_line(struct pres *p, const struct ucs_presence_line *in);
int pres_in_calendar(struct pres *p, const struct ucs_presence_calendar *in);
int pres_in_av(struct pres *p, const struct ucs_presence_av *in);
/* ucs_presence_api.set (errors as documented there). */
int pres_set(struct pres *p, const char *actor, const char *target, int state, const char *note);
/* Recomputes u's presence; 1 and fan-out when it changed, else 0. */
int pres_update(struct pres *p, struct pres_user *u);
/* The presence u's inputs give at wall time now (seq and since untouched). */
void pres_compute(const struct pres *p, const struct pres_user *u, int64_t now,
		  struct ucs_presence *out);
/* Runs the calendar transitions that are due. */
void pres_calendar_due(struct pres *p);

/* ---- line binding (pres_binding.c) ---------------------------------- */

/* Before the user's document changes from old to d (either may be NULL):
 * notes the keys whose owners may change. */
void pres_binding_note(struct pres *p, const struct ucs_ud_user *old, const struct ucs_ud_user *d);
/* Rebuilds the index from p->snap and re-binds the known lines that
 * pres_binding_note() named (every line after rebind_all); users whose
 * lines changed are marked PRES_DIRTY_PRESENCE. */
int pres_binding_build(struct pres *p);
/* A line appeared (old_internal NULL) or changed its numbers: counts its
 * internal number, (re)binds it, and re-binds the other lines whose
 * internal number became ambiguous or unique by that. */
int pres_binding_line_changed(struct pres *p, struct pres_line *l, const char *old_internal);
/* A line goes: unbinds it and uncounts its internal number (the caller
 * frees the slot afterwards). */
void pres_binding_line_gone(struct pres *p, struct pres_line *l);
/* Whether exactly one live line carries this internal number (only then
 * does the number name a line). */
int pres_internal_unique(const struct pres *p, const char *internal);
void pres_binding_free_nums(struct pres *p);
struct pres_line *pres_line_find(const struct pres *p, const char *id);
/* ucs_presence_api.lines / owners. */
int pres_lines(struct pres *p, const char *user, struct ucs_id *ids, int32_t *classes, size_t max);
int pres_owners(struct pres *p, const char *line, struct ucs_id *users, size_t max);

/* ---- views (pres_view.c) -------------------------------------------- */

/* Extra-line grants of a watcher on the lines of one presence: three bits
 * per slot of presence.lines (state, outgoing, incoming). */
#define PRES_XG_STATE	   1u
#define PRES_XG_OUTGOING   2u
#define PRES_XG_INCOMING   4u
#define PRES_XG(slot, bit) ((uint32_t)(bit) << (3u * (unsigned)(slot)))

/* The view rights (and extra grants xg) give of presence p; presence
 * switched off (off) gives UNKNOWN. out->watcher is left empty. seq is
 * carried only when the view hides nothing (rights UCS_R_ALL: her own
 * view), 0 otherwise: it moves with every change, also the hidden ones. */
void pres_view_build(const struct ucs_presence *p, uint64_t rights, uint32_t xg, int off,
		     struct ucs_presence_view *out);
/* Hash of everything a watcher sees (not watcher, not seq); never 0. */
uint64_t pres_view_hash(const struct ucs_presence_view *v);
/* The extra-line grants watcher w holds on the lines of presence tp. */
uint32_t pres_view_extra_grants(const struct pres *p, const struct pres_user *w,
				const struct ucs_presence *tp);
/* ucs_presence_api.get: the view w has of t now. */
int pres_get(struct pres *p, const char *watcher, const char *target,
	     struct ucs_presence_view *out);

/* ---- watch relations and fan-out (pres_fanout.c) -------------------- */

int pres_watch(struct pres *p, const char *watcher, const char *target);
int pres_unwatch(struct pres *p, const char *watcher, const char *target);
/* t's presence changed: every watcher's view, coalesced. */
void pres_fanout(struct pres *p, struct pres_user *t);
/* Rights (or lines) changed: re-evaluate relations watching t / watched by w. */
void pres_reeval_target(struct pres *p, struct pres_user *t);
void pres_reeval_watcher(struct pres *p, struct pres_user *w);
/* Drops every relation u is part of, as watcher and as target, with their
 * pending flushes; nobody gets a view for it. */
void pres_drop_relations(struct pres *p, struct pres_user *u);
/* Sends the pending views whose window ended. */
void pres_flush_due(struct pres *p);
/* Queues bulk work for u. */
int pres_mark(struct pres *p, struct pres_user *u, unsigned flags);
int pres_mark_all(struct pres *p, unsigned flags);
/* Runs queued work for at most budget_us (at least one user); the number
 * of users still queued. */
size_t pres_step(struct pres *p, uint32_t budget_us);
/* Milliseconds until the next flush or calendar transition; -1: none. */
int64_t pres_next_timeout(struct pres *p);
/* Relation count and memory into p->stats. */
void pres_fanout_stats(struct pres *p);

/* ---- the rights engine, for the plugin (rights.c) ------------------- */

/* Sets the generation a new engine starts from, before its first load: an
 * engine that replaces another (a new cache size) goes on from the old
 * one's, so the generation consumers cache by never moves backwards. (Not
 * in rights.h: only the plugin swaps engines.) */
void rights_set_generation(struct rights_engine *re, uint64_t generation);

/* ---- JSON (pres_json.c) --------------------------------------------- */

const char *pres_state_name(int state);
const char *pres_reason_name(int reason);
const char *pres_line_state_name(int state);
const char *pres_direction_name(int dir);
const char *pres_calendar_name(int kind);
const char *pres_class_name(int cls);
int pres_state_from_name(const char *name);
/* to_json formatters of the bus types (snprintf rules). */
int pres_json_presence(const void *payload, size_t len, char *buf, size_t cap);
int pres_json_view(const void *payload, size_t len, char *buf, size_t cap);
int pres_json_login(const void *payload, size_t len, char *buf, size_t cap);
int pres_json_line(const void *payload, size_t len, char *buf, size_t cap);
int pres_json_calendar(const void *payload, size_t len, char *buf, size_t cap);
int pres_json_av(const void *payload, size_t len, char *buf, size_t cap);

#endif
