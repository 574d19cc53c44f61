/*
 * plugins/presence/pres_model.c - users, their inputs and the one presence
 * computed from them.
 *
 * Precedence (first match wins; docs/plugins/presence.md explains each row):
 *
 *   1 manual do-not-disturb                    dnd        manual
 *   2 a bound line in do-not-disturb           dnd        line_dnd
 *   3 a bound line dialing, connected or held  busy       on_phone
 *   4 a bound line ringing                     busy       ringing
 *   5 audio/video call                         busy       av_call
 *   6 calendar: out of office                  away       out_of_office
 *   7 calendar: meeting                        busy       meeting
 *   8 manual busy, away or offline             that state manual
 *   9 a bound line forwarded unconditionally   away       forwarded
 *  10 logged in, every session idle            away       idle
 *  11 logged in                                available  none (manual if set so)
 *  12 manual available                         available  manual
 *  13 otherwise                                offline    none
 *
 * Inputs come from other plugins over the bus; a payload is checked before
 * anything of it is used (ids and numbers must be terminated inside their
 * arrays, enums in range), so a broken publisher gets -EINVAL and changes
 * nothing. Inputs for users the user store does not know are dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pres.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- lifecycle ------------------------------------------------------ */

int pres_init(struct pres *p, struct rights_engine *re, const struct pres_sink *sink,
	      const struct pres_clock *clock)
{
	memset(p, 0, sizeof(*p));
	p->re = re;
	p->sink = *sink;
	p->clock = *clock;
	p->coalesce_ms = 100;
	p->step_budget_us = 1000;
	p->auto_binding = 1;
	p->cls_target = -1;
	return 0;
}

static void user_free(struct pres_user *u)
{
	free(u->sessions);
	free(u->bound);
	free(u->watchers);
	free(u->watching);
	free(u);
}

void pres_fini(struct pres *p)
{
	/* the heaps' nodes live in the users: the heaps go first */
	pres_heap_free(&p->cal_heap);
	pres_heap_free(&p->flush_heap);
	for (size_t i = 0; i < p->n_users; i++)
		user_free(p->users[i]);
	free(p->users);
	for (size_t i = 0; i < p->n_lines; i++) {
		free(p->lines[i]->owners);
		free(p->lines[i]);
	}
	free(p->lines);
	free(p->free_lines);
	pres_binding_free_nums(p);
	free(p->ents);
	free(p->queue);
	pres_map_free(&p->user_map);
	pres_map_free(&p->line_map);
	pres_map_free(&p->bind_num);
	pres_map_free(&p->bind_name);
	pres_map_free(&p->rebind);
	memset(p, 0, sizeof(*p));
}

/* ---- users ---------------------------------------------------------- */

struct pres_user *pres_user_find(const struct pres *p, const char *id)
{
	int32_t i = id ? pres_map_get(&p->user_map, id) : -1;

	return i < 0 ? NULL : p->users[i];
}

static struct pres_user *user_new(struct pres *p, const char *id)
{
	struct pres_user *u = NULL;
	size_t len = strlen(id);

	if (!len || len >= UCS_ID_MAX)
		goto out;
	if (p->n_users == p->cap_users) {
		size_t cap = p->cap_users ? p->cap_users * 2 : 256;
		struct pres_user **users = realloc(p->users, cap * sizeof(*users));

		if (!users)
			goto out;
		p->users = users;
		p->cap_users = cap;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		goto out;
	u->idx = (uint32_t)p->n_users;
	u->ridx = -1;
	memcpy(u->id.text, id, len + 1);
	snprintf(u->wkey, sizeof(u->wkey), "watcher:%s", id);
	snprintf(u->ukey, sizeof(u->ukey), "user:%s", id);
	pres_heap_node_init(&u->cal_node);
	pres_heap_node_init(&u->flush_node);
	u->pres.size = sizeof(u->pres);
	u->pres.user = u->id;
	u->pres.state = UCS_PRES_OFFLINE;
	u->pres.seq = 1;
	u->pres.since = p->clock.wall_ms(p->clock.arg);
	if (pres_map_put(&p->user_map, u->id.text, (int32_t)u->idx) != 0) {
		free(u);
		u = NULL;
		goto out;
	}
	p->users[p->n_users++] = u;
out:
	return u;
}

struct pres_user *pres_user_get(struct pres *p, const char *id)
{
	struct pres_user *u = pres_user_find(p, id);

	if (!u && p->snap && rights_user_index(p->re, id) >= 0)
		u = user_new(p, id);
	return u;
}

void pres_user_forget(struct pres *p, struct pres_user *u)
{
	pres_drop_relations(p, u);
	u->n_sessions = 0;
	u->manual = 0;
	memset(u->note, 0, sizeof(u->note));
	u->av_busy = 0;
	memset(&u->av_with, 0, sizeof(u->av_with));
	u->has_cal = 0;
	pres_heap_del(&p->cal_heap, &u->cal_node);
	pres_mark(p, u, PRES_DIRTY_PRESENCE);
}

int pres_load(struct pres *p, const struct ucs_ud_snapshot *snap)
{
	const struct ucs_ud_settings *st = snap->settings;
	int was_off = p->presence_off, err = 0;
	uint64_t gen = snap->generation ? snap->generation : 1;

	int auto_binding = st ? !!(st->flags & UCS_UD_AUTO_LINE_BINDING) : 1;

	p->snap = snap;
	p->presence_off = st && (st->restrictions & UCS_RESTRICT_PRESENCE_OFF);
	if (auto_binding != p->auto_binding)
		p->rebind_all = 1;
	p->auto_binding = auto_binding;
	p->stats.long_ids = 0;
	for (size_t i = 0; i < snap->n_users; i++) {
		const struct ucs_ud_user *d = snap->users[i];
		struct pres_user *u;

		if (!d || !d->id || !*d->id || strlen(d->id) >= UCS_ID_MAX) {
			p->stats.long_ids++; /* cannot travel in a presence (struct ucs_id) */
			continue;
		}
		u = pres_user_find(p, d->id);
		if (!u)
			u = user_new(p, d->id);
		if (!u) {
			err = -ENOMEM;
			continue;
		}
		pres_binding_note(p, u->ud, d); /* (u->ud's snapshot is still alive) */
		u->ud = d; /* (new to the store: she has no relations to re-evaluate) */
		u->ridx = rights_user_index(p->re, d->id);
		u->seen = gen;
	}
	for (size_t i = 0; i < p->n_users; i++) {
		struct pres_user *u = p->users[i];

		if (u->seen == gen)
			continue;
		u->ridx = -1;
		if (!u->ud)
			continue;
		pres_binding_note(p, u->ud, NULL);
		u->ud = NULL; /* she left the store */
		pres_user_forget(p, u);
	}
	if (pres_binding_build(p) != 0)
		err = -ENOMEM;
	/* switched off: every watcher gets one UNKNOWN view; on: the current */
	if (was_off != p->presence_off &&
	    pres_mark_all(p, PRES_DIRTY_PRESENCE | PRES_DIRTY_TARGET) != 0)
		err = -ENOMEM;
	return err;
}

/* ---- checking inputs ------------------------------------------------ */

static int terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

#define TERMINATED(field) terminated((field), sizeof(field))

/* Free text is cut at its array's end instead. */
static void copy_text(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* The user an input names: known to the store, else NULL. */
static struct pres_user *input_user(struct pres *p, const struct ucs_id *id)
{
	struct pres_user *u;

	if (!TERMINATED(id->text))
		return NULL;
	u = pres_user_get(p, id->text);
	return u && u->ud ? u : NULL;
}

/* ---- inputs ----------------------------------------------------------- */

int pres_in_login(struct pres *p, const struct ucs_presence_login *in)
{
	struct pres_user *u;
	uint32_t i;

	if (!TERMINATED(in->user.text) || !TERMINATED(in->session.text))
		return -EINVAL;
	u = input_user(p, &in->user);
	if (!u)
		return -ENOENT;
	for (i = 0; i < u->n_sessions; i++)
		if (strcmp(u->sessions[i].id.text, in->session.text) == 0)
			break;
	if (!in->logged_in) {
		if (i == u->n_sessions)
			return 0;
		u->sessions[i] = u->sessions[--u->n_sessions];
	} else if (i < u->n_sessions) {
		u->sessions[i].idle = !!in->idle;
	} else {
		if (u->n_sessions >= PRES_MAX_SESSIONS)
			return -ENOSPC;
		if (u->n_sessions == u->cap_sessions) {
			/* 20,000 users online with 64 slots each cost 87 MB; 2, 4, ... */
			uint32_t cap = u->cap_sessions ? u->cap_sessions * 2 : 2;
			struct pres_session *grown = realloc(u->sessions, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			u->sessions = grown;
			u->cap_sessions = cap;
		}
		copy_text(u->sessions[i].id.text, in->session.text, sizeof(in->session.text));
		u->sessions[i].idle = !!in->idle;
		u->n_sessions++;
	}
	pres_update(p, u);
	return 0;
}

static void line_free_slot(struct pres *p, struct pres_line *l)
{
	pres_map_del(&p->line_map, l->in.line.text);
	l->live = 0;
	l->in.line.text[0] = 0;
	p->free_lines[p->n_free_lines++] = l->idx;
}

static struct pres_line *line_new(struct pres *p)
{
	struct pres_line *l;

	if (p->n_free_lines) {
		l = p->lines[p->free_lines[--p->n_free_lines]];
		l->live = 1;
		return l;
	}
	if (p->n_lines == p->cap_lines) {
		size_t cap = p->cap_lines ? p->cap_lines * 2 : 256;
		struct pres_line **lines = realloc(p->lines, cap * sizeof(*lines));
		uint32_t *fl;

		if (!lines)
			return NULL;
		p->lines = lines;
		fl = realloc(p->free_lines, cap * sizeof(*fl));
		if (!fl)
			return NULL;
		p->free_lines = fl;
		p->cap_lines = cap;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->idx = (uint32_t)p->n_lines;
	l->live = 1;
	p->lines[p->n_lines++] = l;
	return l;
}

int pres_in_line(struct pres *p, const struct ucs_presence_line *in)
{
	struct pres_line *l;
	struct ucs_phone old_internal;
	int renumbered, had;

	if (!TERMINATED(in->line.text) || !in->line.text[0] || !TERMINATED(in->internal.text) ||
	    !TERMINATED(in->canonical.text) || !TERMINATED(in->remote.text) ||
	    !TERMINATED(in->fwd_target.text))
		return -EINVAL;
	if (in->state < UCS_LINE_GONE || in->state > UCS_LINE_HELD ||
	    in->direction < UCS_CALL_NONE || in->direction > UCS_CALL_OUTGOING)
		return -EINVAL;
	l = pres_line_find(p, in->line.text);
	if (in->state == UCS_LINE_GONE) {
		if (!l)
			return -ENOENT;
		pres_binding_line_gone(p, l);
		line_free_slot(p, l);
		return 0;
	}
	had = l != NULL;
	if (l)
		old_internal = l->in.internal;
	if (!l) {
		l = line_new(p);
		if (!l)
			return -ENOMEM;
		memset(&l->in, 0, sizeof(l->in));
		l->in.line = in->line;
		if (pres_map_put(&p->line_map, l->in.line.text, (int32_t)l->idx) != 0) {
			line_free_slot(p, l);
			return -ENOMEM;
		}
		renumbered = 1;
	} else {
		renumbered = strcmp(l->in.internal.text, in->internal.text) != 0 ||
			     strcmp(l->in.canonical.text, in->canonical.text) != 0;
	}
	l->in.size = sizeof(l->in);
	l->in.state = in->state;
	l->in.direction = in->state == UCS_LINE_IDLE ? UCS_CALL_NONE : in->direction;
	l->in.forwarding = !!in->forwarding;
	l->in.dnd = !!in->dnd;
	l->in.internal = in->internal;
	l->in.canonical = in->canonical;
	memset(&l->in.remote, 0, sizeof(l->in.remote));
	memset(l->in.remote_name, 0, sizeof(l->in.remote_name));
	if (in->state != UCS_LINE_IDLE) {
		l->in.remote = in->remote;
		copy_text(l->in.remote_name, in->remote_name, sizeof(l->in.remote_name));
	}
	memset(&l->in.fwd_target, 0, sizeof(l->in.fwd_target));
	if (l->in.forwarding)
		l->in.fwd_target = in->fwd_target;
	if (renumbered && pres_binding_line_changed(p, l, had ? old_internal.text : NULL) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->n_owners; i++)
		pres_update(p, p->users[l->owners[i].idx]);
	return 0;
}

/* ---- calendar ------------------------------------------------------- */

static int64_t secs_to_ms(int64_t s)
{
	if (s <= 0)
		return 0;
	if (s > INT64_MAX / 1000)
		return INT64_MAX;
	return s * 1000;
}

static int cal_active(const struct pres_user *u, int64_t now)
{
	int64_t start = secs_to_ms(u->cal.start), end = secs_to_ms(u->cal.end);

	return u->has_cal && start <= now && (!end || now < end);
}

/* Drops a lapsed entry and files the next transition of u's calendar. */
static void cal_schedule(struct pres *p, struct pres_user *u, int64_t now)
{
	int64_t start = secs_to_ms(u->cal.start), end = secs_to_ms(u->cal.end), next = 0;

	if (u->has_cal && end && end <= now)
		u->has_cal = 0;
	if (u->has_cal)
		next = start > now ? start : end;
	if (next > 0)
		pres_heap_set(&p->cal_heap, &u->cal_node, (uint64_t)next);
	else
		pres_heap_del(&p->cal_heap, &u->cal_node);
}

int pres_in_calendar(struct pres *p, const struct ucs_presence_calendar *in)
{
	struct pres_user *u;

	if (!TERMINATED(in->user.text) || in->kind < UCS_CAL_FREE ||
	    in->kind > UCS_CAL_OUT_OF_OFFICE)
		return -EINVAL;
	u = input_user(p, &in->user);
	if (!u)
		return -ENOENT;
	memset(&u->cal, 0, sizeof(u->cal));
	u->cal.size = sizeof(u->cal);
	u->cal.kind = in->kind;
	u->cal.private_ = !!in->private_;
	u->cal.start = in->start;
	u->cal.end = in->end;
	u->cal.user = u->id;
	copy_text(u->cal.subject, in->subject, sizeof(u->cal.subject));
	copy_text(u->cal.place, in->place, sizeof(u->cal.place));
	u->has_cal = in->kind != UCS_CAL_FREE;
	cal_schedule(p, u, p->clock.wall_ms(p->clock.arg));
	pres_update(p, u);
	return 0;
}

void pres_calendar_due(struct pres *p)
{
	int64_t now = p->clock.wall_ms(p->clock.arg);
	struct pres_heap_node *nd;

	while ((nd = pres_heap_top(&p->cal_heap)) && (int64_t)nd->key <= now) {
		struct pres_user *u = container_of(nd, struct pres_user, cal_node);

		pres_heap_del(&p->cal_heap, nd);
		cal_schedule(p, u, now);
		pres_update(p, u);
	}
}

/* ---- audio/video, manual ---------------------------------------------- */

int pres_in_av(struct pres *p, const struct ucs_presence_av *in)
{
	struct pres_user *u;

	if (!TERMINATED(in->user.text) || !TERMINATED(in->with.text))
		return -EINVAL;
	u = input_user(p, &in->user);
	if (!u)
		return -ENOENT;
	u->av_busy = !!in->busy;
	memset(&u->av_with, 0, sizeof(u->av_with));
	if (u->av_busy)
		u->av_with = in->with;
	pres_update(p, u);
	return 0;
}

int pres_set(struct pres *p, const char *actor, const char *target, int state, const char *note)
{
	struct pres_user *t, *a;
	uint64_t r = UCS_R_ALL;

	if (p->presence_off)
		return -ENOTSUP;
	if (!actor || !target)
		return -EINVAL;
	t = pres_user_get(p, target);
	if (!t || !t->ud)
		return -ENOENT;
	if (state < -1 || state > UCS_PRES_OFFLINE)
		return -EINVAL;
	if (note && strlen(note) >= sizeof(t->note))
		return -EINVAL;
	if (strcmp(actor, target) != 0) {
		a = pres_user_get(p, actor);
		r = a && a->ud ? rights_get(p->re, a->ridx, t->ridx) : 0;
	}
	if ((state != -1 && !(r & UCS_R_SET_PRESENCE)) || (note && !(r & UCS_R_SET_NOTE)))
		return -EPERM;
	if (state != -1)
		t->manual = state;
	if (note) { /* no bytes of a longer note after the end: the views are hashed */
		memset(t->note, 0, sizeof(t->note));
		memcpy(t->note, note, strlen(note));
	}
	pres_update(p, t);
	return 0;
}

/* ---- the presence --------------------------------------------------- */

static int bound_before(const struct pres *p, const struct pres_bound *a,
			const struct pres_bound *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	return strcmp(p->lines[a->idx]->in.line.text, p->lines[b->idx]->in.line.text) < 0;
}

static void line_view(const struct pres_line *l, int cls, struct ucs_presence_line_view *v)
{
	const struct ucs_presence_line *in = &l->in;

	v->line = in->line;
	v->line_class = cls;
	v->state = in->state;
	v->direction = in->direction;
	v->forwarding = in->forwarding;
	v->dnd = in->dnd;
	v->number = in->canonical.text[0] ? in->canonical : in->internal;
	v->remote = in->remote;
	memcpy(v->remote_name, in->remote_name, sizeof(v->remote_name));
	v->fwd_target = in->fwd_target;
}

void pres_compute(const struct pres *p, const struct pres_user *u, int64_t now,
		  struct ucs_presence *out)
{
	struct pres_bound order[PRES_MAX_USER_LINES];
	int dnd = 0, call = 0, ringing = 0, fwd = 0, all_idle = 1, cal = UCS_CAL_FREE;
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->user = u->id;
	for (uint32_t i = 0; i < u->n_bound && n < PRES_MAX_USER_LINES; i++) {
		const struct pres_line *l = p->lines[u->bound[i].idx];
		uint32_t j = n++;

		dnd |= l->in.dnd;
		fwd |= l->in.forwarding;
		call |= l->in.state == UCS_LINE_DIALING || l->in.state == UCS_LINE_CONNECTED ||
			l->in.state == UCS_LINE_HELD;
		ringing |= l->in.state == UCS_LINE_RINGING;
		/* insertion sort: first, second, additional; by id within a class */
		while (j > 0 && bound_before(p, &u->bound[i], &order[j - 1])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = u->bound[i];
	}
	for (uint32_t i = 0; i < n && i < UCS_PRESENCE_LINES; i++)
		line_view(p->lines[order[i].idx], order[i].cls, &out->lines[out->n_lines++]);
	for (uint32_t i = 0; i < u->n_sessions; i++)
		all_idle &= u->sessions[i].idle != 0;
	if (cal_active(u, now)) {
		cal = u->cal.kind;
		out->calendar = cal;
		out->calendar_private = u->cal.private_;
		out->calendar_end = u->cal.end > 0 ? u->cal.end : 0;
		memcpy(out->subject, u->cal.subject, sizeof(out->subject));
		memcpy(out->place, u->cal.place, sizeof(out->place));
	}
	out->manual = u->manual;
	out->av_busy = u->av_busy;
	out->av_with = u->av_with;
	memcpy(out->note, u->note, sizeof(out->note));

	if (u->manual == UCS_PRES_DND) {
		out->state = UCS_PRES_DND;
		out->reason = UCS_PRES_R_MANUAL;
	} else if (dnd) {
		out->state = UCS_PRES_DND;
		out->reason = UCS_PRES_R_LINE_DND;
	} else if (call || ringing) {
		out->state = UCS_PRES_BUSY;
		out->reason = call ? UCS_PRES_R_ON_PHONE : UCS_PRES_R_RINGING;
	} else if (u->av_busy) {
		out->state = UCS_PRES_BUSY;
		out->reason = UCS_PRES_R_AV_CALL;
	} else if (cal == UCS_CAL_OUT_OF_OFFICE) {
		out->state = UCS_PRES_AWAY;
		out->reason = UCS_PRES_R_OUT_OF_OFFICE;
	} else if (cal == UCS_CAL_MEETING) {
		out->state = UCS_PRES_BUSY;
		out->reason = UCS_PRES_R_MEETING;
	} else if (u->manual == UCS_PRES_BUSY || u->manual == UCS_PRES_AWAY ||
		   u->manual == UCS_PRES_OFFLINE) {
		out->state = u->manual;
		out->reason = UCS_PRES_R_MANUAL;
	} else if (fwd) {
		out->state = UCS_PRES_AWAY;
		out->reason = UCS_PRES_R_FORWARDED;
	} else if (u->n_sessions && all_idle) {
		out->state = UCS_PRES_AWAY;
		out->reason = UCS_PRES_R_IDLE;
	} else if (u->n_sessions || u->manual == UCS_PRES_AVAILABLE) {
		out->state = UCS_PRES_AVAILABLE;
		out->reason = u->manual == UCS_PRES_AVAILABLE ? UCS_PRES_R_MANUAL : UCS_PRES_R_NONE;
	} else {
		out->state = UCS_PRES_OFFLINE;
		out->reason = UCS_PRES_R_NONE;
	}
}

int pres_update(struct pres *p, struct pres_user *u)
{
	int64_t now = p->clock.wall_ms(p->clock.arg);
	struct ucs_presence np;

	pres_compute(p, u, now, &np);
	np.seq = u->pres.seq;
	np.since = u->pres.since;
	if (memcmp(&np, &u->pres, sizeof(np)) == 0)
		return 0;
	if (np.state != u->pres.state)
		np.since = now;
	np.seq++;
	u->pres = np;
	p->stats.presence_changes++;
	if (!p->presence_off && p->sink.changed)
		p->sink.changed(p->sink.arg, u);
	pres_fanout(p, u);
	return 1;
}
