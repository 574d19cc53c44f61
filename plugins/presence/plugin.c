/*
 * plugins/presence/plugin.c - the presence plugin: the rights engine as the
 * service "ucs.rights" v1 and the presence core (pres.h) as "ucs.presence"
 * v1, fed by the user store and the presence inputs on the bus.
 *
 * Snapshots. The plugin holds the user-store snapshot the rights engine and
 * the core index. On "userdb.changed" of a user, a group, the settings or a
 * reload it acquires the newest one, loads it into the engine and the core,
 * and only then lets the one before go. Computers and profiles change no
 * right and no presence: their messages load nothing (a rights-relevant
 * change made meanwhile has a message of its own, which loads it), so the
 * rights generation and cache stay.
 *
 * The snapshot before (base). A group change is compared with the group as
 * it was: its old members lose what it gave them. When several changes were
 * made before the first of their messages arrives (a bulk commit publishes
 * all its messages with one generation), the first message already brings
 * the newest snapshot, and every message of the batch must be compared with
 * the state before the batch. So base is kept until a newer snapshot is
 * loaded: then it becomes the snapshot before that load when the message
 * that loads it is newer than that snapshot (every message of the previous
 * batch has been handled: the bus delivers in order), and stays as it is
 * otherwise (the load came early, inside a batch whose messages still
 * arrive; base, older still, is before both).
 *
 * After each change it publishes "rights.changed" (target: the user for a
 * user change, "" otherwise) and queues exactly the relations the change can
 * touch: a user's watchers and her own watching for a user change, the old
 * and new members, leader and deputy (and the members of the groups it
 * monitors) as targets for a group change, everything for the settings or a
 * reload. A deleted user is forgotten on her message (relations both ways,
 * inputs) even when the snapshot has her again, created anew meanwhile.
 * The queue runs in steps of step_budget_us; a timer with timeout 0 gives
 * the loop back between steps. A new rights cache size (SIGHUP) builds a new
 * engine whose generation goes on from the old one's, and rights.changed
 * says so.
 *
 * One timer (tick) is armed at the core's next deadline: the end of a
 * coalescing window or a calendar transition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/ucs.h>

#include "pres.h"
#include "rights.h"

struct presence {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_userdb_api *ud;
	struct rights_engine *re;
	const struct ucs_ud_snapshot *snap; /* what re and the core index */
	const struct ucs_ud_snapshot *base; /* before the batch snap belongs to */
	int running;
	int64_t cache_slots;
	struct pres core;
	const struct ucs_msg_type *t_changed, *t_view, *t_rights;
	struct ucs_timer *tick, *step;
};

/* The service functions take no plugin argument: one presence per server. */
static struct presence *the_presence;

#define LOG(pl, level, ...) (pl)->host->log->log((pl)->self, (level), __VA_ARGS__)

/* ---- clocks and sink ---------------------------------------------------- */

/* Not the loop's cached now_ms(): a long callback (a burst of inputs) would
 * stamp views with a time from before it began and shorten the next window. */
static uint64_t clock_mono(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t clock_wall(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish(struct presence *pl, const struct ucs_msg_type *type, const char *key,
		    const void *payload, size_t len)
{
	const struct ucs_bus_api *bus = pl->host->bus;
	struct ucs_msg *m;

	if (bus->msg_new(type, key, payload, len, &m) == 0)
		bus->publish(pl->self, m);
}

static void sink_changed(void *arg, const struct pres_user *u)
{
	struct presence *pl = arg;

	publish(pl, pl->t_changed, u->ukey, &u->pres, sizeof(u->pres));
}

static void sink_view(void *arg, const struct pres_user *w, const struct ucs_presence_view *v)
{
	struct presence *pl = arg;

	if (pl->host->log->enabled(pl->self, UCS_LOG_DEBUG))
		LOG(pl, UCS_LOG_DEBUG, "view of %s for %s: %s/%s (seq %llu)", v->presence.user.text,
		    w->id.text, pres_state_name(v->presence.state),
		    pres_reason_name(v->presence.reason), (unsigned long long)v->presence.seq);
	publish(pl, pl->t_view, w->wkey, v, sizeof(*v));
}

static void core_warn(void *arg, const char *text)
{
	struct presence *pl = arg;

	LOG(pl, UCS_LOG_WARNING, "%s", text);
}

/* ---- timers ------------------------------------------------------------- */

static void rearm(struct presence *pl)
{
	int64_t t = pres_next_timeout(&pl->core);

	if (!pl->running)
		return;
	if (t < 0)
		pl->host->timer->stop(pl->tick);
	else /* +1: a wall-clock deadline must not come back a hair early */
		pl->host->timer->start(pl->tick, (uint64_t)t + 1, 0);
	if (pl->core.q_len && !pl->host->timer->active(pl->step))
		pl->host->timer->start(pl->step, 0, 0);
}

static void on_tick(struct ucs_timer *timer, void *arg)
{
	struct presence *pl = arg;

	(void)timer;
	pres_flush_due(&pl->core);
	pres_calendar_due(&pl->core);
	rearm(pl);
}

static void on_step(struct ucs_timer *timer, void *arg)
{
	struct presence *pl = arg;

	(void)timer;
	pres_step(&pl->core, pl->core.step_budget_us);
	rearm(pl);
}

/* ---- the user store ------------------------------------------------------ */

/* Loads snap into the engine and the core; the caller then owns the old
 * snapshot. -ENOMEM keeps everything as it was. */
static int load(struct presence *pl, const struct ucs_ud_snapshot *snap)
{
	int was_off = pl->core.presence_off, err = rights_load(pl->re, snap);

	if (err)
		return err;
	pl->snap = snap;
	err = pres_load(&pl->core, snap);
	if (err)
		LOG(pl, UCS_LOG_ERROR, "out of memory while indexing user store generation %llu",
		    (unsigned long long)snap->generation);
	if (pl->core.stats.long_ids)
		LOG(pl, UCS_LOG_WARNING,
		    "%zu users have ids of %d characters or more: they have no presence",
		    pl->core.stats.long_ids, UCS_ID_MAX);
	if (pl->running && was_off != pl->core.presence_off)
		LOG(pl, UCS_LOG_INFO, "%s",
		    pl->core.presence_off
			    ? "presence switched off globally: every watcher gets an unknown view"
			    : "presence switched on again: every watcher gets the current view");
	return 0;
}

static void mark_id(struct presence *pl, const char *id, unsigned flags)
{
	struct pres_user *u = id && *id ? pres_user_get(&pl->core, id) : NULL;

	if (u)
		pres_mark(&pl->core, u, flags);
}

static void mark_group(struct presence *pl, const struct ucs_ud_snapshot *snap, const char *id,
		       int depth)
{
	const struct ucs_ud_group *g = snap ? pl->ud->group(snap, id) : NULL;

	if (!g)
		return;
	for (size_t i = 0; i < g->n_members; i++)
		mark_id(pl, g->members[i], PRES_DIRTY_TARGET);
	mark_id(pl, g->leader, PRES_DIRTY_TARGET);
	mark_id(pl, g->deputy, PRES_DIRTY_TARGET);
	/* members of G see the members of its monitor groups with monitor rights */
	for (size_t i = 0; depth == 0 && i < g->n_monitor_groups; i++) {
		const struct ucs_ud_group *m = pl->ud->group(snap, g->monitor_groups[i]);

		for (size_t k = 0; m && k < m->n_members; k++)
			mark_id(pl, m->members[k], PRES_DIRTY_TARGET);
	}
}

/* Loads next (newer than the current snapshot) for a message of generation
 * chgen, and moves base as the header says. */
static int load_next(struct presence *pl, const struct ucs_ud_snapshot *next, uint64_t chgen)
{
	const struct ucs_ud_snapshot *prev = pl->snap;
	int err = load(pl, next);

	if (err) {
		LOG(pl, UCS_LOG_ERROR,
		    "cannot load user store generation %llu (%s): keeping generation %llu",
		    (unsigned long long)next->generation, strerror(-err),
		    (unsigned long long)prev->generation);
		pl->ud->release(next);
		return err;
	}
	if (!pl->base) {
		pl->base = prev;
	} else if (!chgen || chgen > prev->generation) {
		pl->ud->release(pl->base);
		pl->base = prev;
	} else {
		pl->ud->release(prev); /* inside a batch: base is before it */
	}
	return 0;
}

static void on_userdb_changed(const struct ucs_msg *msg, void *arg)
{
	struct presence *pl = arg;
	const struct ucs_userdb_change *ch;
	const struct ucs_ud_snapshot *next;
	struct ucs_rights_changed rc = {.size = sizeof(rc)};
	struct pres_user *u;
	size_t len;
	int kind;

	ch = pl->host->bus->msg_payload(msg, &len);
	if (!pl->running || !ch || len < sizeof(*ch))
		return;
	/* a change that names no proper object touches everything */
	kind = ch->op == UCS_UD_RELOADED || !memchr(ch->id.text, 0, sizeof(ch->id.text))
		       ? UCS_UD_SETTINGS
		       : ch->kind;
	if (kind == UCS_UD_COMPUTER || kind == UCS_UD_PROFILE)
		return; /* no right and no presence depends on them */
	next = pl->ud->acquire();
	if (next && next->generation != pl->snap->generation) {
		if (load_next(pl, next, ch->generation) != 0)
			return;
	} else if (next) {
		pl->ud->release(next);
	}
	switch (kind) {
	case UCS_UD_USER:
		u = pres_user_find(&pl->core, ch->id.text);
		if (u && ch->op == UCS_UD_DELETED)
			pres_user_forget(&pl->core, u); /* also when created anew since */
		mark_id(pl, ch->id.text,
			PRES_DIRTY_PRESENCE | PRES_DIRTY_TARGET | PRES_DIRTY_WATCHER);
		rc.target = ch->id;
		break;
	case UCS_UD_GROUP:
		mark_group(pl, pl->base ? pl->base : pl->snap, ch->id.text, 0);
		mark_group(pl, pl->snap, ch->id.text, 0);
		break;
	default: /* the settings, a reload, a kind this plugin does not know */
		pres_mark_all(&pl->core, PRES_DIRTY_PRESENCE | PRES_DIRTY_TARGET);
		break;
	}
	rc.generation = rights_generation(pl->re);
	publish(pl, pl->t_rights, NULL, &rc, sizeof(rc));
	pres_step(&pl->core, pl->core.step_budget_us);
	rearm(pl);
}

/* ---- inputs ------------------------------------------------------------ */

static void input_result(struct presence *pl, const char *type, int err)
{
	if (err == -ENOENT)
		LOG(pl, UCS_LOG_DEBUG, "%s for a user or line not known: ignored", type);
	else if (err == -ENOSPC)
		LOG(pl, UCS_LOG_WARNING, "%s: too many sessions of one user: ignored", type);
	else if (err)
		LOG(pl, UCS_LOG_WARNING, "%s: invalid payload (%s): ignored", type, strerror(-err));
}

#define INPUT_HANDLER(fn, type, ctype, core_fn)                          \
	static void fn(const struct ucs_msg *msg, void *arg)             \
	{                                                                \
		struct presence *pl = arg;                               \
		size_t len;                                              \
		const ctype *in = pl->host->bus->msg_payload(msg, &len); \
                                                                         \
		if (!pl->running)                                        \
			return;                                          \
		if (!in || len != sizeof(ctype))                         \
			input_result(pl, type, -EINVAL);                 \
		else                                                     \
			input_result(pl, type, core_fn(&pl->core, in));  \
		rearm(pl);                                               \
	}

INPUT_HANDLER(on_login, UCS_PRESENCE_IN_LOGIN_TYPE, struct ucs_presence_login, pres_in_login)
INPUT_HANDLER(on_line, UCS_PRESENCE_IN_LINE_TYPE, struct ucs_presence_line, pres_in_line)
INPUT_HANDLER(on_calendar, UCS_PRESENCE_IN_CALENDAR_TYPE, struct ucs_presence_calendar,
	      pres_in_calendar)
INPUT_HANDLER(on_av, UCS_PRESENCE_IN_AV_TYPE, struct ucs_presence_av, pres_in_av)

/* ---- ucs.rights ---------------------------------------------------------- */

static struct presence *loaded(void)
{
	struct presence *pl = the_presence;

	return pl && pl->snap ? pl : NULL;
}

static uint64_t svc_level_mask(int level)
{
	return rights_level_mask(level);
}

static uint64_t svc_rights(const char *watcher, const char *target)
{
	struct presence *pl = loaded();

	return pl && watcher && target ? rights_get_id(pl->re, watcher, target) : 0;
}

static uint32_t svc_contact_fields(const char *watcher, const char *target)
{
	return rights_contact_fields(svc_rights(watcher, target));
}

static int32_t user_index(struct presence *pl, const char *id)
{
	return pl && id ? rights_user_index(pl->re, id) : -1;
}

static uint64_t svc_services(const char *user)
{
	struct presence *pl = loaded();
	int32_t i = user_index(pl, user);

	return i < 0 ? 0 : rights_services(pl->re, i);
}

static uint32_t svc_self_fields(const char *user)
{
	struct presence *pl = loaded();
	int32_t i = user_index(pl, user);

	return i < 0 ? 0 : rights_self_fields(pl->re, i);
}

static uint32_t svc_restrictions(void)
{
	struct presence *pl = loaded();

	return pl ? rights_restrictions(pl->re) : 0;
}

static uint64_t svc_generation(void)
{
	struct presence *pl = loaded();

	return pl ? rights_generation(pl->re) : 0;
}

static int svc_explain(const char *watcher, const char *target, char *buf, size_t cap)
{
	struct presence *pl = loaded();
	int32_t w = user_index(pl, watcher), t = user_index(pl, target);

	if (!pl)
		return -EAGAIN;
	if (w < 0 || t < 0)
		return -ENOENT;
	return rights_explain(pl->re, w, t, buf, cap);
}

static const struct ucs_rights_api rights_api = {
	.size = sizeof(rights_api),
	.level_mask = svc_level_mask,
	.rights = svc_rights,
	.contact_fields = svc_contact_fields,
	.services = svc_services,
	.self_fields = svc_self_fields,
	.restrictions = svc_restrictions,
	.generation = svc_generation,
	.explain = svc_explain,
};

/* ---- ucs.presence ---------------------------------------------------- */

static int svc_watch(const char *watcher, const char *target)
{
	struct presence *pl = loaded();
	int err;

	if (!pl)
		return -EAGAIN;
	err = pres_watch(&pl->core, watcher, target);
	if (err == -ENOSPC)
		LOG(pl, UCS_LOG_WARNING, "%s watches %u users already (max_watches): %s refused",
		    watcher, pl->core.max_watches, target);
	rearm(pl);
	return err;
}

static int svc_unwatch(const char *watcher, const char *target)
{
	struct presence *pl = loaded();
	int err;

	if (!pl)
		return -EAGAIN;
	err = pres_unwatch(&pl->core, watcher, target);
	rearm(pl);
	return err;
}

static int svc_get(const char *watcher, const char *target, struct ucs_presence_view *out)
{
	struct presence *pl = loaded();

	if (!pl)
		return -EAGAIN;
	if (!out)
		return -EINVAL;
	return pres_get(&pl->core, watcher, target, out);
}

static int svc_set(const char *actor, const char *target, int state, const char *note)
{
	struct presence *pl = loaded();
	int err;

	if (!pl)
		return -EAGAIN;
	err = pres_set(&pl->core, actor, target, state, note);
	if (err == -EPERM)
		LOG(pl, UCS_LOG_INFO, "%s may not set the presence or note of %s: refused", actor,
		    target);
	rearm(pl);
	return err;
}

static int svc_lines(const char *user, struct ucs_id *ids, int32_t *classes, size_t max)
{
	struct presence *pl = loaded();

	if (!pl)
		return -EAGAIN;
	if (max && (!ids || !classes))
		return -EINVAL;
	return pres_lines(&pl->core, user, ids, classes, max);
}

static int svc_owners(const char *line, struct ucs_id *users, size_t max)
{
	struct presence *pl = loaded();

	if (!pl)
		return -EAGAIN;
	if (max && !users)
		return -EINVAL;
	return pres_owners(&pl->core, line, users, max);
}

static const struct ucs_presence_api presence_api = {
	.size = sizeof(presence_api),
	.watch = svc_watch,
	.unwatch = svc_unwatch,
	.get = svc_get,
	.set = svc_set,
	.lines = svc_lines,
	.owners = svc_owners,
};

/* ---- configuration ------------------------------------------------------ */

static void configure(struct presence *pl, const struct ucs_cfg *section)
{
	const struct ucs_cfg_api *cfg = pl->host->cfg;
	int64_t v;

	if (cfg->get_int(section, "coalesce_ms", &v) == 0)
		pl->core.coalesce_ms = (uint32_t)v;
	if (cfg->get_int(section, "max_watches", &v) == 0)
		pl->core.max_watches = (uint32_t)v;
	if (cfg->get_int(section, "step_budget_us", &v) == 0)
		pl->core.step_budget_us = (uint32_t)v;
	if (cfg->get_int(section, "rights_cache_slots", &v) == 0)
		pl->cache_slots = v;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int register_type(struct presence *pl, const char *name, size_t size,
			 int (*to_json)(const void *, size_t, char *, size_t),
			 const struct ucs_msg_type **out)
{
	struct ucs_msg_type_desc d = {.size = sizeof(d),
				      .name = name,
				      .version = 1,
				      .payload_size = size,
				      .to_json = to_json};
	const struct ucs_msg_type *t = NULL;
	int err = pl->host->bus->type_register(pl->self, &d, &t);

	if (err)
		LOG(pl, UCS_LOG_ERROR, "cannot register the bus type %s: %s", name, strerror(-err));
	if (out)
		*out = t;
	return err;
}

static int rights_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_rights_changed *rc = payload;

	if (len != sizeof(*rc))
		return -EINVAL;
	return snprintf(buf, cap, "{\"generation\":%llu,\"target\":\"%.*s\"}",
			(unsigned long long)rc->generation, (int)strnlen(rc->target.text, 63),
			rc->target.text);
}

static int subscribe(struct presence *pl, const char *type, ucs_msg_h *h)
{
	struct ucs_sub *sub;

	return pl->host->bus->subscribe(pl->self, &sub, type, UCS_SUB_EXACT, NULL, h, pl);
}

static void presence_fini(void *state);

static int presence_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct presence *pl = calloc(1, sizeof(*pl));
	struct pres_sink sink = {sink_changed, sink_view, pl};
	struct pres_clock clock = {clock_mono, clock_wall, pl};
	int err;

	if (!pl)
		return -ENOMEM;
	pl->self = self;
	pl->host = host;
	pres_init(&pl->core, NULL, &sink, &clock);
	pl->core.warn = core_warn;
	pl->core.warn_arg = pl;
	configure(pl, host->cfg->section(self));
	pl->re = rights_new((size_t)pl->cache_slots);
	pl->core.re = pl->re;
	pl->ud = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	err = !pl->re ? -ENOMEM : !pl->ud ? -ENOENT : 0;
	if (!err)
		err = register_type(pl, UCS_PRESENCE_IN_LOGIN_TYPE,
				    sizeof(struct ucs_presence_login), pres_json_login, NULL);
	if (!err)
		err = register_type(pl, UCS_PRESENCE_IN_LINE_TYPE, sizeof(struct ucs_presence_line),
				    pres_json_line, NULL);
	if (!err)
		err = register_type(pl, UCS_PRESENCE_IN_CALENDAR_TYPE,
				    sizeof(struct ucs_presence_calendar), pres_json_calendar, NULL);
	if (!err)
		err = register_type(pl, UCS_PRESENCE_IN_AV_TYPE, sizeof(struct ucs_presence_av),
				    pres_json_av, NULL);
	if (!err)
		err = register_type(pl, UCS_PRESENCE_CHANGED_TYPE, sizeof(struct ucs_presence),
				    pres_json_presence, &pl->t_changed);
	if (!err)
		err = register_type(pl, UCS_PRESENCE_VIEW_TYPE, sizeof(struct ucs_presence_view),
				    pres_json_view, &pl->t_view);
	if (!err)
		err = register_type(pl, UCS_RIGHTS_CHANGED_TYPE, sizeof(struct ucs_rights_changed),
				    rights_to_json, &pl->t_rights);
	if (!err)
		err = host->service->provide(self, UCS_RIGHTS_SERVICE, UCS_RIGHTS_VERSION,
					     &rights_api);
	if (!err)
		err = host->service->provide(self, UCS_PRESENCE_SERVICE, UCS_PRESENCE_VERSION,
					     &presence_api);
	if (!err)
		err = subscribe(pl, UCS_USERDB_CHANGED_TYPE, on_userdb_changed);
	if (!err)
		err = subscribe(pl, UCS_PRESENCE_IN_LOGIN_TYPE, on_login);
	if (!err)
		err = subscribe(pl, UCS_PRESENCE_IN_LINE_TYPE, on_line);
	if (!err)
		err = subscribe(pl, UCS_PRESENCE_IN_CALENDAR_TYPE, on_calendar);
	if (!err)
		err = subscribe(pl, UCS_PRESENCE_IN_AV_TYPE, on_av);
	if (!err)
		err = host->timer->open(self, &pl->tick, on_tick, pl);
	if (!err)
		err = host->timer->open(self, &pl->step, on_step, pl);
	if (err) {
		presence_fini(pl);
		return err;
	}
	the_presence = pl;
	*state = pl;
	return 0;
}

static int presence_start(void *state)
{
	struct presence *pl = state;
	const struct ucs_ud_snapshot *snap = pl->ud->acquire();
	int err;

	if (!snap) {
		LOG(pl, UCS_LOG_ERROR, "the user store offers no snapshot");
		return -EAGAIN;
	}
	err = load(pl, snap);
	if (err) {
		LOG(pl, UCS_LOG_ERROR, "cannot index the user store: %s", strerror(-err));
		pl->ud->release(snap);
		return err;
	}
	pl->running = 1;
	pres_step(&pl->core, pl->core.step_budget_us);
	rearm(pl);
	LOG(pl, UCS_LOG_INFO,
	    "presence for %zu users (user store generation %llu), coalescing %u ms%s",
	    pl->core.n_users, (unsigned long long)snap->generation, pl->core.coalesce_ms,
	    pl->core.presence_off ? "; presence is switched off globally" : "");
	return 0;
}

static int presence_reload(void *state, const struct ucs_cfg *section)
{
	struct presence *pl = state;
	int64_t slots = pl->cache_slots;
	struct rights_engine *re;
	struct ucs_rights_changed rc = {.size = sizeof(rc)};

	configure(pl, section);
	if (pl->cache_slots != slots && pl->snap) {
		re = rights_new((size_t)pl->cache_slots);
		if (re) /* the generation never moves backwards */
			rights_set_generation(re, rights_generation(pl->re));
		if (!re || rights_load(re, pl->snap) != 0) {
			rights_free(re);
			pl->cache_slots = slots;
			LOG(pl, UCS_LOG_ERROR, "cannot resize the rights cache: keeping %lld slots",
			    (long long)slots);
			return -ENOMEM;
		}
		rights_free(pl->re);
		pl->re = re;
		pl->core.re = re;
		pres_load(&pl->core, pl->snap);
		rc.generation = rights_generation(re);
		publish(pl, pl->t_rights, NULL, &rc, sizeof(rc));
	}
	LOG(pl, UCS_LOG_INFO,
	    "settings: coalescing %u ms, at most %u watches per watcher (0: no limit), "
	    "steps of %u us, %lld rights cache slots (0: default)",
	    pl->core.coalesce_ms, pl->core.max_watches, pl->core.step_budget_us,
	    (long long)pl->cache_slots);
	rearm(pl);
	return 0;
}

static void presence_stop(void *state)
{
	struct presence *pl = state;

	pl->running = 0;
	the_presence = NULL;
	if (pl->tick)
		pl->host->timer->close(pl->tick);
	if (pl->step)
		pl->host->timer->close(pl->step);
	pl->tick = pl->step = NULL;
	if (pl->base)
		pl->ud->release(pl->base);
	if (pl->snap)
		pl->ud->release(pl->snap);
	pl->base = pl->snap = NULL;
}

static void presence_fini(void *state)
{
	struct presence *pl = state;

	if (the_presence == pl)
		the_presence = NULL;
	pres_fini(&pl->core);
	rights_free(pl->re);
	free(pl);
}

static const struct ucs_cfg_key presence_keys[] = {
	UCS_CFG_INT_KEY("coalesce_ms", "100", 0, 60000,
			"a watcher gets at most one view of a user per this many ms; the last "
			"state always arrives"),
	UCS_CFG_INT_KEY("rights_cache_slots", "0", 0, 1 << 26,
			"pairs (watcher, target) the rights cache holds; 0: the engine's default"),
	UCS_CFG_INT_KEY("max_watches", "10000", 0, 10000000,
			"users one watcher may watch at once; 0: no limit"),
	UCS_CFG_INT_KEY("step_budget_us", "1000", 100, 100000,
			"longest run of bulk re-evaluation (after a change of the settings or "
			"a reload) before the loop gets its turn"),
	UCS_CFG_END,
};

static const char *const presence_requires[] = {UCS_USERDB_SERVICE, NULL};
static const char *const presence_provides[] = {UCS_RIGHTS_SERVICE, UCS_PRESENCE_SERVICE, NULL};

static const struct ucs_plugin_desc presence_desc = {
	UCS_PLUGIN_HEADER,
	.name = "presence",
	.version = "1.0.0",
	.license = "MIT",
	.description = "rights engine, presence computation, line binding and fan-out",
	.requires = presence_requires,
	.provides = presence_provides,
	.config = presence_keys,
	.init = presence_init,
	.start = presence_start,
	.reload = presence_reload,
	.stop = presence_stop,
	.fini = presence_fini,
};

UCS_PLUGIN_DEFINE(presence_desc)
