/*
 * plugins/lines/lm_registry.c - drivers, line groups and lines: the
 * service "ucs.linemgr" (ucs/line.h) and what every other file looks up.
 *
 * A line carries three layers: what its driver said (desc), what the
 * operator configured for it and its group (conf), and what is published
 * (info), which lm_line_apply() computes from the other two and the
 * dialplan. Lines are found by id, internal number and canonical number
 * through hash maps (lm_map.h); a number two lines share (two sites with an
 * extension 222) finds one of them, and another when that one goes.
 *
 * A line that is not used (its group or its own "use" is off) stays in the
 * registry so the administration sees it, but nothing of it is published
 * and the driver is asked to close it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lm.h"

static struct lm *the_lm;

struct lm *lm_the(void)
{
	return the_lm;
}

void lm_registry_bind(struct lm *m)
{
	the_lm = m;
}

int64_t lm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

void lm_line_error(struct lm *m, struct lm_line *l, const char *fmt, ...)
{
	va_list ap;
	size_t i = m->next_last_error;

	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
	l->last_error_ms = lm_now_ms();
	snprintf(m->last_errors[i].line, sizeof(m->last_errors[i].line), "%s", l->info.id.text);
	snprintf(m->last_errors[i].text, sizeof(m->last_errors[i].text), "%s", l->last_error);
	m->last_errors[i].at_ms = l->last_error_ms;
	m->next_last_error = (i + 1) % LM_LAST_ERRORS;
	if (m->n_last_errors < LM_LAST_ERRORS)
		m->n_last_errors++;
}

/* ---- aggregated log lines ----------------------------------------------------- */

static void flush_driver_logs(void *arg)
{
	struct lm *m = arg;

	for (struct lm_driver *d = m->drivers; d; d = d->next) {
		if (!d->log_pending)
			continue;
		d->log_pending = false;
		if (d->n_opened)
			LM_LOG(m, UCS_LOG_INFO, "%s: %zu line%s open", d->name, d->n_opened,
			       d->n_opened == 1 ? "" : "s");
		if (d->n_synced)
			LM_LOG(m, UCS_LOG_INFO,
			       "%s: %zu line%s synchronised: %zu calls kept, %zu ended", d->name,
			       d->n_synced, d->n_synced == 1 ? "" : "s", d->synced_kept,
			       d->synced_ended);
		d->n_opened = d->n_synced = d->synced_kept = d->synced_ended = 0;
	}
}

static void log_later(struct lm *m, struct lm_driver *drv)
{
	bool any = false;

	for (struct lm_driver *d = m->drivers; d; d = d->next)
		any |= d->log_pending;
	drv->log_pending = true;
	if (!any && m->host->timer->once(m->self, 0, flush_driver_logs, m))
		flush_driver_logs(m);
}

void lm_log_opened(struct lm *m, struct lm_driver *drv)
{
	drv->n_opened++;
	log_later(m, drv);
}

void lm_log_synced(struct lm *m, struct lm_driver *drv, size_t kept, size_t ended)
{
	drv->n_synced++;
	drv->synced_kept += kept;
	drv->synced_ended += ended;
	log_later(m, drv);
}

/* ---- lookups ------------------------------------------------------------------- */

struct lm_line *lm_line_find(struct lm *m, const char *id)
{
	return id ? lm_map_get(&m->by_id, id) : NULL;
}

struct lm_line *lm_line_by_number(struct lm *m, const char *number)
{
	struct lm_line *l;
	struct ucs_number n;

	if (!number || !*number)
		return NULL;
	if ((l = lm_index_get(&m->by_internal, number)) ||
	    (l = lm_index_get(&m->by_number, number)))
		return l;
	lm_number_format(m, NULL, UCS_DP_DISPLAY, number, &n, NULL);
	return n.canonical.text[0] ? lm_index_get(&m->by_number, n.canonical.text) : NULL;
}

struct lm_group *lm_group_find(struct lm *m, const char *name)
{
	for (struct lm_group *g = m->groups; g; g = g->next)
		if (strcmp(g->desc.name, name) == 0)
			return g;
	return NULL;
}

/* "<group>\x1f<device>": group names are unique, so are these keys */
static void dev_key(const struct lm_group *g, const char *dev, char *out, size_t cap)
{
	snprintf(out, cap, "%s\x1f%s", g->desc.name, dev);
}

struct lm_line *lm_line_in_group(struct lm *m, const struct lm_group *g, const char *dev)
{
	char key[64 + UCS_PHONE_MAX + 2];

	if (!g || !dev || !*dev)
		return NULL;
	dev_key(g, dev, key, sizeof(key));
	return lm_index_get(&m->by_dev, key);
}

static void index_key(struct lm_index *ix, const char *key, struct lm_line *l, bool add)
{
	if (!key || !*key)
		return;
	if (add)
		lm_index_add(ix, key, l);
	else
		lm_index_del(ix, key, l);
}

/* A line is indexed under its numbers; a number several lines carry finds
 * the first of them, and the next one when that one goes (O(lines under
 * the key), no scan of the registry). */
void lm_registry_reindex(struct lm *m, struct lm_line *l, bool add)
{
	char key[64 + UCS_PHONE_MAX + 2];

	index_key(&m->by_internal, l->info.internal.text, l, add);
	index_key(&m->by_number, l->info.number.canonical.text, l, add);
	for (size_t i = 0; i < l->conf.n_addresses; i++)
		index_key(&m->by_number, l->conf.addresses[i], l, add);
	dev_key(l->group, l->desc.device.text, key, sizeof(key));
	index_key(&m->by_dev, key, l, add);
	if (l->info.internal.text[0] && strcmp(l->info.internal.text, l->desc.device.text)) {
		dev_key(l->group, l->info.internal.text, key, sizeof(key));
		index_key(&m->by_dev, key, l, add);
	}
}

/* ---- properties ---------------------------------------------------------------------- */

uint64_t lm_line_caps(const struct lm_line *l)
{
	const struct lm_group *g = l->group;
	uint64_t caps = (l->desc.caps ? l->desc.caps : g->desc.caps) & ~UCS_CAP_REMOTE_OFFICE;

	/* pickup through the feature code when the driver has none */
	if (!(caps & UCS_CAP_PICKUP) && g->conf.pickup_code[0] && (caps & UCS_CAP_MAKE_CALL))
		caps |= UCS_CAP_PICKUP;
	if (lm_remote_possible(l))
		caps |= UCS_CAP_REMOTE_OFFICE;
	return caps & ~g->conf.cti_off;
}

static void default_group_conf(struct lm_group_conf *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->use = c->use_all_lines = c->set_numbers_automatically = c->remote_office = true;
}

void lm_group_apply(struct lm *m, struct lm_group *g)
{
	const struct lm_group_conf *gc = lm_conf_group(&m->conf, g->desc.name);

	if (gc)
		g->conf = *gc;
	else
		default_group_conf(&g->conf, g->desc.name);
}

void lm_line_apply(struct lm *m, struct lm_line *l)
{
	const struct lm_line_conf *lc = lm_conf_line(&m->conf, l->desc.id.text);
	struct lm_group *g = l->group;
	struct ucs_line_info *in = &l->info;
	char location[64];

	lm_group_apply(m, g);
	lm_registry_reindex(m, l, false);
	if (lc) {
		l->conf = *lc;
	} else {
		memset(&l->conf, 0, sizeof(l->conf));
		snprintf(l->conf.id, sizeof(l->conf.id), "%s", l->desc.id.text);
		l->conf.use = true;
	}
	in->size = sizeof(*in);
	in->id = l->desc.id;
	snprintf(in->group, sizeof(in->group), "%s", g->desc.name);
	snprintf(in->internal.text, sizeof(in->internal.text), "%s",
		 l->conf.internal[0] ? l->conf.internal : l->desc.device.text);
	lm_line_location(m, l, location, sizeof(location));
	snprintf(in->location, sizeof(in->location), "%s", location);
	if (g->conf.set_numbers_automatically || !l->conf.number[0])
		lm_number_format(m, location, UCS_DP_LINE, l->desc.device.text, &in->number, NULL);
	else
		lm_number_format(m, location, UCS_DP_LINE, l->conf.number, &in->number, NULL);
	if (l->conf.name[0])
		snprintf(in->name, sizeof(in->name), "%s", l->conf.name);
	else if (g->conf.driver_line_names && l->desc.name[0])
		snprintf(in->name, sizeof(in->name), "%s", l->desc.name);
	else
		snprintf(in->name, sizeof(in->name), "%s", in->internal.text);
	in->trunk = l->conf.trunk;
	in->private_line = l->conf.private_line;
	in->caps = lm_line_caps(l);
	l->journal = l->conf.journal || g->conf.journal_all;
	in->journal = l->journal;
	/* the line's own "use": false is the operator's last word, also over the
	 * group's use_all_lines and over interest */
	if (lc && !lc->use)
		l->used = false;
	else
		l->used = g->conf.use && (g->conf.use_all_lines ? true : (lc && lc->use))
				  ? true
				  : l->wanted;
	lm_registry_reindex(m, l, true);
}

/* ---- the driver's side: ucs.linemgr ----------------------------------------------------- */

static bool name_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n] && n < max; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n > 0 && n < max;
}

static int drv_add(struct ucs_plugin *self, const char *name, const struct ucs_line_driver_ops *ops,
		   void *ctx, struct ucs_line_driver **out)
{
	struct lm *m = the_lm;
	struct lm_driver *d;

	(void)self;
	if (!m || !ops || !ops->request || !out || !name_ok(name, 64))
		return -EINVAL;
	for (d = m->drivers; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ops = ops;
	d->ctx = ctx;
	d->next = m->drivers;
	m->drivers = d;
	*out = d;
	LM_LOG(m, UCS_LOG_INFO, "driver %s registered", name);
	return 0;
}

static void line_free(struct lm *m, struct lm_line *l, bool publish)
{
	lm_calls_drop(m, l, publish);
	if (publish && l->used && m->started) {
		l->info.status = UCS_LS_REMOVED;
		lm_publish_line(m, l);
		lm_publish_gone(m, l);
	}
	lm_registry_reindex(m, l, false);
	lm_map_del(&m->by_id, l->info.id.text, l);
	if (l->prev)
		l->prev->next = l->next;
	else
		m->lines = l->next;
	if (l->next)
		l->next->prev = l->prev;
	m->n_lines--;
	free(l);
}

static void drv_remove(struct ucs_line_driver *drv)
{
	struct lm *m = drv ? drv->m : NULL;
	struct lm_line *l, *next;
	struct lm_group **gp;
	struct lm_driver **dp;

	if (!m)
		return;
	/* first: a done handler that runs below must not reach the driver */
	drv->removed = true;
	lm_requests_fail_driver(m, drv);
	for (l = m->lines; l; l = next) {
		next = l->next;
		if (l->group->drv == drv)
			line_free(m, l, true);
	}
	for (gp = &m->groups; *gp;) {
		struct lm_group *g = *gp;

		if (g->drv == drv) {
			*gp = g->next;
			free(g);
		} else {
			gp = &g->next;
		}
	}
	for (dp = &m->drivers; *dp; dp = &(*dp)->next)
		if (*dp == drv) {
			*dp = drv->next;
			break;
		}
	LM_LOG(m, UCS_LOG_INFO, "driver %s removed", drv->name);
	free(drv);
}

static int grp_add(struct ucs_line_driver *drv, const struct ucs_line_group_desc *desc)
{
	struct lm *m = drv ? drv->m : NULL;
	struct lm_group *g;

	if (!m || !desc || desc->size < sizeof(*desc) || !TERMINATED(desc->name) ||
	    !desc->name[0] || !TERMINATED(desc->location))
		return -EINVAL;
	if (lm_group_find(m, desc->name))
		return -EEXIST;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->drv = drv;
	g->desc = *desc;
	lm_group_apply(m, g);
	g->next = m->groups;
	m->groups = g;
	return 0;
}

/* Lines that are not used are closed at the driver, outside its call. */
static void close_unused(void *arg)
{
	struct lm *m = arg;

	for (struct lm_line *l = m->lines; l; l = l->next)
		if (l->close_pending) {
			l->close_pending = false;
			if (!l->used && l->group->drv->ops->close)
				l->group->drv->ops->close(l->group->drv->ctx, l->info.id.text);
		}
}

void lm_line_unused(struct lm *m, struct lm_line *l)
{
	if (l->close_pending || !l->group->drv->ops->close)
		return;
	l->close_pending = true;
	m->host->timer->once(m->self, 0, close_unused, m);
}

static int ln_add(struct ucs_line_driver *drv, const struct ucs_line_desc *desc)
{
	struct lm *m = drv ? drv->m : NULL;
	struct lm_group *g;
	struct lm_line *l;
	int err;

	if (!m || !desc || desc->size < sizeof(*desc) || !TERMINATED(desc->id.text) ||
	    !desc->id.text[0] || !TERMINATED(desc->device.text) || !desc->device.text[0] ||
	    !TERMINATED(desc->group) || !TERMINATED(desc->name))
		return -EINVAL;
	g = lm_group_find(m, desc->group);
	if (!g || g->drv != drv)
		return -ENOENT;
	if (lm_line_find(m, desc->id.text))
		return -EEXIST;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->group = g;
	l->desc = *desc;
	l->info.status = UCS_LS_NOT_INITIALISED;
	snprintf(l->info.id.text, sizeof(l->info.id.text), "%s", desc->id.text);
	err = lm_map_put(&m->by_id, l->info.id.text, l);
	if (err) {
		free(l);
		return err;
	}
	l->next = m->lines;
	if (m->lines)
		m->lines->prev = l;
	m->lines = l;
	m->n_lines++;
	lm_line_apply(m, l);
	if (!l->used)
		lm_line_unused(m, l);
	else if (m->started) {
		lm_publish_line(m, l);
		lm_publish_presence(m, l);
	}
	return 0;
}

static int ln_remove(struct ucs_line_driver *drv, const char *id)
{
	struct lm *m = drv ? drv->m : NULL;
	struct lm_line *l = m ? lm_line_find(m, id) : NULL;

	if (!l || l->group->drv != drv)
		return -ENOENT;
	line_free(m, l, true);
	return 0;
}

static struct lm_line *driver_line(struct lm_driver *drv, const char *id)
{
	struct lm_line *l = drv && drv->m ? lm_line_find(drv->m, id) : NULL;

	return l && l->group->drv == drv ? l : NULL;
}

static void ln_status(struct ucs_line_driver *drv, const char *id, int status, const char *reason)
{
	struct lm_line *l = driver_line(drv, id);
	struct lm *m = drv ? drv->m : NULL;
	int was;

	if (!l || status < UCS_LS_NOT_INITIALISED || status > UCS_LS_NOT_AVAILABLE)
		return;
	was = l->info.status;
	l->opening = false;
	if (was == status && strcmp(l->info.reason, reason ? reason : "") == 0)
		return; /* nothing changed: nothing to say */
	l->info.status = status;
	snprintf(l->info.reason, sizeof(l->info.reason), "%s", reason ? reason : "");
	if (status == UCS_LS_OPEN && was != UCS_LS_OPEN)
		l->sync_gen++; /* calls are confirmed by the snapshot that follows */
	if (status == UCS_LS_FAILED || status == UCS_LS_OUT_OF_SERVICE) {
		lm_line_error(m, l, "%s: %s", lm_status_name(status),
			      reason && *reason ? reason : "no reason given");
		if (was != status)
			LM_LOG(m, UCS_LOG_WARNING, "line %s %s: %s", id,
			       status == UCS_LS_FAILED ? "could not be opened"
						       : "is out of service",
			       reason && *reason ? reason : "no reason given");
	} else if (status == UCS_LS_NOT_AVAILABLE && was != status) {
		/* every line of a lost link at once: the driver logs the link */
		LM_LOG(m, UCS_LOG_DEBUG, "line %s not available: %s", id,
		       reason && *reason ? reason : "no reason given");
	} else if (status == UCS_LS_OPEN && was != status) {
		/* thousands of lines open at once after a reconnect: one line per driver */
		LM_LOG(m, UCS_LOG_DEBUG, "line %s open", id);
		lm_log_opened(m, drv);
	}
	if (l->used && m->started) {
		lm_publish_line(m, l);
		if (was != status)
			lm_publish_presence(m, l);
	}
}

static void ln_forwarding(struct ucs_line_driver *drv, const char *id, int mode, int on,
			  const char *to)
{
	struct lm_line *l = driver_line(drv, id);
	struct lm *m = drv ? drv->m : NULL;

	if (!l || mode < 0 || mode >= UCS_FWD_MODES)
		return;
	l->info.fwd_on[mode] = on != 0;
	if (on && to && *to)
		lm_number_format(m, l->info.location, UCS_DP_FORWARDED, to, &l->info.fwd_to[mode],
				 NULL);
	else
		memset(&l->info.fwd_to[mode], 0, sizeof(l->info.fwd_to[mode]));
	if (mode == UCS_FWD_IMMEDIATE && !on && l->ro_on) {
		l->ro_on = false;
		LM_LOG(m, UCS_LOG_INFO, "line %s: remote office ended (forwarding cleared)", id);
	}
	if (l->used && m->started) {
		lm_publish_line(m, l);
		lm_publish_presence(m, l);
	}
}

static void ln_dnd(struct ucs_line_driver *drv, const char *id, int on)
{
	struct lm_line *l = driver_line(drv, id);
	struct lm *m = drv ? drv->m : NULL;

	if (!l)
		return;
	l->info.dnd = on != 0;
	if (l->used && m->started) {
		lm_publish_line(m, l);
		lm_publish_presence(m, l);
	}
}

/* The event as the manager reads it: a driver built against ABI 1.1 hands
 * a shorter one (no flags), taken as if its new fields were zero. */
#define LM_EVENT_MIN_SIZE offsetof(struct ucs_line_call_event, flags)

static void ln_event(struct ucs_line_driver *drv, const struct ucs_line_call_event *in)
{
	struct ucs_line_call_event copy, *ev = &copy;
	struct lm_line *l;
	struct lm *m = drv ? drv->m : NULL;

	if (in && in->size >= LM_EVENT_MIN_SIZE) {
		size_t n = in->size < sizeof(copy) ? in->size : sizeof(copy);

		memset(&copy, 0, sizeof(copy));
		memcpy(&copy, in, n);
	} else {
		ev = NULL;
	}
	if (!m || !ev || !TERMINATED(ev->line.text) || !TERMINATED(ev->call) ||
	    !TERMINATED(ev->old_call) || !TERMINATED(ev->calling) || !TERMINATED(ev->called) ||
	    !TERMINATED(ev->connected) || !TERMINATED(ev->redirecting) || !TERMINATED(ev->cause) ||
	    !ev->call[0]) {
		int64_t now;

		if (!m)
			return;
		/* at most one warning a minute per driver, with the count */
		now = lm_now_ms();
		drv->malformed_dropped++;
		if (!drv->malformed_logged_ms || now - drv->malformed_logged_ms >= 60000) {
			LM_LOG(m, UCS_LOG_WARNING, "driver %s: %zu malformed call event%s dropped",
			       drv->name, drv->malformed_dropped,
			       drv->malformed_dropped == 1 ? "" : "s");
			drv->malformed_logged_ms = now;
			drv->malformed_dropped = 0;
		}
		return;
	}
	l = driver_line(drv, ev->line.text);
	if (!l || !l->used)
		return;
	m->stats.events++;
	lm_calls_event(m, l, ev);
}

static void ln_synced(struct ucs_line_driver *drv, const char *id)
{
	struct lm_line *l = driver_line(drv, id);

	if (l && l->used)
		lm_calls_synced(drv->m, l);
}

/* A snapshot of a line that stayed open begins: calls not named from now
 * until line_synced() ended unseen. */
static void ln_resync(struct ucs_line_driver *drv, const char *id)
{
	struct lm_line *l = driver_line(drv, id);

	if (l)
		l->sync_gen++;
}

static void rq_done(struct ucs_line_driver *drv, uint64_t token, int status, const char *reason,
		    const char *call)
{
	if (drv && drv->m)
		lm_request_done(drv->m, drv, token, status, reason, call);
}

static void drv_reinit(struct ucs_line_driver *drv, const char *reason)
{
	if (drv && drv->m)
		lm_open_reinit(drv->m, drv, reason);
}

const struct ucs_linemgr_api lm_linemgr_api = {
	.size = sizeof(lm_linemgr_api),
	.driver_add = drv_add,
	.driver_remove = drv_remove,
	.group_add = grp_add,
	.line_add = ln_add,
	.line_remove = ln_remove,
	.line_status = ln_status,
	.line_forwarding = ln_forwarding,
	.line_dnd = ln_dnd,
	.call_event = ln_event,
	.line_synced = ln_synced,
	.request_done = rq_done,
	.driver_reinit = drv_reinit,
	.line_resync = ln_resync,
};

void lm_registry_fini(struct lm *m)
{
	while (m->lines)
		line_free(m, m->lines, false);
	while (m->groups) {
		struct lm_group *g = m->groups;

		m->groups = g->next;
		free(g);
	}
	while (m->drivers) {
		struct lm_driver *d = m->drivers;

		m->drivers = d->next;
		free(d);
	}
	lm_map_free(&m->by_id);
	lm_index_free(&m->by_internal);
	lm_index_free(&m->by_number);
	lm_index_free(&m->by_dev);
	lm_index_free(&m->by_call);
}
