/*
 * plugins/presence/tests/pres_fixture.h - user-store snapshots built by
 * hand for the presence tests, the fuzz target and the benchmark.
 *
 * The presence core reads nothing but struct ucs_ud_snapshot, so the tests
 * make one from plain structs - no user store involved. Every string field
 * is "" unless set (as a real store delivers them), users and groups are
 * sorted by id at fx_finish(), and everything lives in one arena that
 * fx_free() releases. A fake clock (mono and wall) and a recording sink
 * complete the harness.
 */
#ifndef PRES_FIXTURE_H
#define PRES_FIXTURE_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pres.h"

struct fx_block {
	struct fx_block *next;
	max_align_t align[];
};

struct fx {
	struct fx_block *arena;
	struct ucs_ud_snapshot snap;
	struct ucs_ud_settings settings;
	struct ucs_ud_user **users;
	size_t n_users, cap_users;
	struct ucs_ud_group **groups;
	size_t n_groups, cap_groups;
};

static inline void *fx_alloc(struct fx *f, size_t n)
{
	struct fx_block *b = calloc(1, sizeof(*b) + n);

	if (!b)
		abort();
	b->next = f->arena;
	f->arena = b;
	return b->align;
}

static inline const char *fx_str(struct fx *f, const char *s)
{
	char *d = fx_alloc(f, strlen(s) + 1);

	strcpy(d, s);
	return d;
}

/* Copies text into a fixed array, cut to fit. */
static inline void fx_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

static inline void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->settings.size = sizeof(f->settings);
	f->settings.flags = UCS_UD_AUTO_LINE_BINDING;
	f->settings.rights.level = UCS_LEVEL_PUBLIC;
	f->snap.size = sizeof(f->snap);
	f->snap.generation = 1;
	f->snap.store = "file";
	f->snap.settings = &f->settings;
}

static inline void fx_free(struct fx *f)
{
	while (f->arena) {
		struct fx_block *b = f->arena;

		f->arena = b->next;
		free(b);
	}
	free(f->users);
	free(f->groups);
	memset(f, 0, sizeof(*f));
}

static inline struct ucs_ud_user *fx_user(struct fx *f, const char *id)
{
	struct ucs_ud_user *u = fx_alloc(f, sizeof(*u));

	u->size = sizeof(*u);
	u->flags = UCS_UD_ACTIVE | UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2;
	u->id = u->login = fx_str(f, id);
	u->identity = u->first_name = u->last_name = u->display_name = u->profile = "";
	u->email = u->dn = u->first_phone = u->second_phone = "";
	u->title = u->company = u->department = u->office = u->street = "";
	u->postal_code = u->city = u->state = u->country = u->website = "";
	u->contact_image = u->profile_picture = "";
	for (int i = 0; i < UCS_UD_PHONE_COUNT; i++)
		u->phones[i].entered = u->phones[i].canonical = "";
	if (f->n_users == f->cap_users) {
		f->cap_users = f->cap_users ? f->cap_users * 2 : 16;
		f->users = realloc(f->users, f->cap_users * sizeof(*f->users));
		if (!f->users)
			abort();
	}
	f->users[f->n_users++] = u;
	return u;
}

/* A store never edits a snapshot's object: it builds a new one. The copy
 * of u that replaces it (edit the copy, then fx_finish). */
static inline struct ucs_ud_user *fx_edit(struct fx *f, struct ucs_ud_user *u)
{
	struct ucs_ud_user *c = fx_alloc(f, sizeof(*c));

	*c = *u;
	for (size_t i = 0; i < f->n_users; i++)
		if (f->users[i] == u)
			f->users[i] = c;
	return c;
}

static inline void fx_phone(struct fx *f, struct ucs_ud_user *u, int slot, const char *canonical)
{
	u->phones[slot].entered = u->phones[slot].canonical = fx_str(f, canonical);
}

/* A NULL-terminated list of strings as an array in the arena. */
static inline const char *const *fx_list(struct fx *f, size_t *n, const char *first, va_list ap)
{
	const char *tmp[256] = {0};
	const char **out;

	*n = 0;
	for (const char *s = first; s && *n < 256; s = va_arg(ap, const char *))
		tmp[(*n)++] = s;
	out = fx_alloc(f, (*n + 1) * sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = fx_str(f, tmp[i]);
	return out;
}

static inline void fx_other_lines(struct fx *f, struct ucs_ud_user *u, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	u->other_lines = fx_list(f, &u->n_other_lines, first, ap);
	va_end(ap);
}

static inline void fx_other_numbers(struct fx *f, struct ucs_ud_user *u, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	u->other_numbers = fx_list(f, &u->n_other_numbers, first, ap);
	va_end(ap);
}

static inline void fx_extra_line(struct fx *f, struct ucs_ud_user *u, const char *line,
				 uint32_t rights)
{
	struct ucs_ud_extra_line *x = fx_alloc(f, (u->n_extra_lines + 1) * sizeof(*x));

	if (u->n_extra_lines)
		memcpy(x, u->extra_lines, u->n_extra_lines * sizeof(*x));
	x[u->n_extra_lines].line = fx_str(f, line);
	x[u->n_extra_lines].rights = rights;
	u->extra_lines = x;
	u->n_extra_lines++;
}

/* granter grants grantee level + extra. */
static inline void fx_grant(struct fx *f, struct ucs_ud_user *granter, const char *grantee,
			    int level, uint64_t extra)
{
	struct ucs_ud_grant *g = fx_alloc(f, (granter->n_grants + 1) * sizeof(*g));

	if (granter->n_grants)
		memcpy(g, granter->grants, granter->n_grants * sizeof(*g));
	g[granter->n_grants].user = fx_str(f, grantee);
	g[granter->n_grants].rights.level = level;
	g[granter->n_grants].rights.extra = extra;
	granter->grants = g;
	granter->n_grants++;
}

/* A group with member rights `level`; members follow, NULL-terminated. */
static inline struct ucs_ud_group *fx_group(struct fx *f, const char *id, int level,
					    const char *first, ...)
{
	struct ucs_ud_group *g = fx_alloc(f, sizeof(*g));
	va_list ap;

	g->size = sizeof(*g);
	g->active = 1;
	g->id = g->name = fx_str(f, id);
	g->dn = g->leader = g->deputy = g->call_number = "";
	g->member_rights.level = level;
	va_start(ap, first);
	g->members = fx_list(f, &g->n_members, first, ap);
	va_end(ap);
	g->monitor_groups = g->favourite_groups = fx_alloc(f, sizeof(char *));
	if (f->n_groups == f->cap_groups) {
		f->cap_groups = f->cap_groups ? f->cap_groups * 2 : 16;
		f->groups = realloc(f->groups, f->cap_groups * sizeof(*f->groups));
		if (!f->groups)
			abort();
	}
	f->groups[f->n_groups++] = g;
	return g;
}

static inline int fx_cmp_user(const void *a, const void *b)
{
	return strcmp((*(struct ucs_ud_user *const *)a)->id, (*(struct ucs_ud_user *const *)b)->id);
}

static inline int fx_cmp_group(const void *a, const void *b)
{
	return strcmp((*(struct ucs_ud_group *const *)a)->id,
		      (*(struct ucs_ud_group *const *)b)->id);
}

/* Sorts and publishes the arrays; call again after changes (generation moves). */
static inline const struct ucs_ud_snapshot *fx_finish(struct fx *f)
{
	if (f->n_users)
		qsort(f->users, f->n_users, sizeof(*f->users), fx_cmp_user);
	if (f->n_groups)
		qsort(f->groups, f->n_groups, sizeof(*f->groups), fx_cmp_group);
	f->snap.users = (const struct ucs_ud_user *const *)f->users;
	f->snap.n_users = f->n_users;
	f->snap.groups = (const struct ucs_ud_group *const *)f->groups;
	f->snap.n_groups = f->n_groups;
	f->snap.generation++;
	return &f->snap;
}

/* ---- fake clock and recording sink -------------------------------------- */

struct fx_rec {
	uint64_t mono; /* when it was handed out */
	char watcher[UCS_ID_MAX];
	struct ucs_presence_view view;
};

struct fx_env {
	uint64_t mono;
	int64_t wall;
	size_t n_views, n_changed, n_warnings;
	struct fx_rec views[4096];
	struct ucs_presence last_changed;
	char warning[512]; /* the last one */
};

static inline uint64_t fx_mono(void *arg)
{
	return ((struct fx_env *)arg)->mono;
}

static inline int64_t fx_wall(void *arg)
{
	return ((struct fx_env *)arg)->wall;
}

static inline void fx_on_changed(void *arg, const struct pres_user *u)
{
	struct fx_env *e = arg;

	e->n_changed++;
	e->last_changed = u->pres;
}

static inline void fx_on_view(void *arg, const struct pres_user *w,
			      const struct ucs_presence_view *v)
{
	struct fx_env *e = arg;

	if (e->n_views < sizeof(e->views) / sizeof(e->views[0])) {
		e->views[e->n_views].mono = e->mono;
		fx_copy(e->views[e->n_views].watcher, UCS_ID_MAX, w->id.text);
		e->views[e->n_views].view = *v;
	}
	e->n_views++;
}

static inline void fx_on_warn(void *arg, const char *text)
{
	struct fx_env *e = arg;

	e->n_warnings++;
	fx_copy(e->warning, sizeof(e->warning), text);
}

/* A core over snap with the fake clock and the recorder. */
static inline void fx_core(struct pres *p, struct rights_engine *re, struct fx_env *e,
			   const struct ucs_ud_snapshot *snap)
{
	struct pres_sink sink = {fx_on_changed, fx_on_view, e};
	struct pres_clock clock = {fx_mono, fx_wall, e};

	pres_init(p, re, &sink, &clock);
	p->warn = fx_on_warn;
	p->warn_arg = e;
	if (rights_load(re, snap) != 0 || pres_load(p, snap) != 0)
		abort();
	while (pres_step(p, 1000000))
		;
}

/* Inputs from plain values. */
static inline int fx_line(struct pres *p, const char *line, const char *internal,
			  const char *canonical, int state, int dir, const char *remote)
{
	struct ucs_presence_line in = {.size = sizeof(in), .state = state, .direction = dir};

	fx_copy(in.line.text, sizeof(in.line.text), line);
	fx_copy(in.internal.text, sizeof(in.internal.text), internal);
	fx_copy(in.canonical.text, sizeof(in.canonical.text), canonical);
	fx_copy(in.remote.text, sizeof(in.remote.text), remote ? remote : "");
	return pres_in_line(p, &in);
}

static inline int fx_line_ex(struct pres *p, const char *line, const char *internal,
			     const char *canonical, int state, int dir, const char *remote, int fwd,
			     int dnd, const char *fwd_target)
{
	struct ucs_presence_line in = {.size = sizeof(in),
				       .state = state,
				       .direction = dir,
				       .forwarding = fwd,
				       .dnd = dnd};

	fx_copy(in.line.text, sizeof(in.line.text), line);
	fx_copy(in.internal.text, sizeof(in.internal.text), internal);
	fx_copy(in.canonical.text, sizeof(in.canonical.text), canonical);
	fx_copy(in.remote.text, sizeof(in.remote.text), remote ? remote : "");
	fx_copy(in.fwd_target.text, sizeof(in.fwd_target.text), fwd_target ? fwd_target : "");
	return pres_in_line(p, &in);
}

static inline int fx_login(struct pres *p, const char *user, const char *session, int in, int idle)
{
	struct ucs_presence_login l = {.size = sizeof(l), .logged_in = in, .idle = idle};

	fx_copy(l.user.text, sizeof(l.user.text), user);
	fx_copy(l.session.text, sizeof(l.session.text), session);
	return pres_in_login(p, &l);
}

static inline int fx_av(struct pres *p, const char *user, int busy, const char *with)
{
	struct ucs_presence_av a = {.size = sizeof(a), .busy = busy};

	fx_copy(a.user.text, sizeof(a.user.text), user);
	fx_copy(a.with.text, sizeof(a.with.text), with ? with : "");
	return pres_in_av(p, &a);
}

static inline int fx_cal(struct pres *p, const char *user, int kind, int priv, int64_t start,
			 int64_t end, const char *subject)
{
	struct ucs_presence_calendar c = {
		.size = sizeof(c), .kind = kind, .private_ = priv, .start = start, .end = end};

	fx_copy(c.user.text, sizeof(c.user.text), user);
	fx_copy(c.subject, sizeof(c.subject), subject ? subject : "");
	fx_copy(c.place, sizeof(c.place), subject ? "Room 1" : "");
	return pres_in_calendar(p, &c);
}

#endif
