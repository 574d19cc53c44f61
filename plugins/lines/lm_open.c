/*
 * plugins/lines/lm_open.c - opening lines: the error-handling settings and
 * interest in lines.
 *
 * The manager asks a driver to (re)open a line (ops->open) when a line
 * could not be opened (every retry_s seconds), when the driver reports a
 * re-initialisation of its PBX (on_reinit "reopen": every line; "wait":
 * nothing, the driver reports the lines itself), when the administration
 * retries a line, and when someone shows interest in an unused line of a
 * group that opens lines automatically. Opens go through one queue with
 * open_delay_ms between them (some PBXs refuse opens that come too fast).
 * A group that creates lines automatically gets line_wanted() for numbers
 * of interest that no line carries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static void open_next(struct lm *m);

static void on_open_timer(struct ucs_timer *t, void *arg)
{
	(void)t;
	open_next(arg);
}

/* Without a delay, at most this many opens per loop turn: 5,000 lines
 * must not hold the loop in one callback. */
#define OPENS_PER_TURN 64
/* Opens logged by name (info) per round of the queue. */
#define OPENS_LOGGED   16

/* Opens the first queued line; the next one after the delay (or the next
 * batch in the next loop turn). The queue is [open_head, n_open): taking
 * one is O(1). */
static void open_next(struct lm *m)
{
	size_t done = 0;

	while (m->open_head < m->n_open) {
		char id[UCS_ID_MAX];
		struct lm_line *l;
		int err;

		if (done == OPENS_PER_TURN) {
			m->host->timer->start(m->open_timer, 0, 0);
			return;
		}
		snprintf(id, sizeof(id), "%s", m->open_queue[m->open_head]);
		free(m->open_queue[m->open_head]);
		m->open_queue[m->open_head++] = NULL;
		l = lm_line_find(m, id);
		if (!l || !l->used || !l->group->drv->ops->open || l->group->drv->removed) {
			if (l)
				l->opening = false;
			continue;
		}
		l->opening = false;
		done++;
		/* the first few of a round by name, the rest at debug: a retry of
		 * 5,000 failed lines every retry_s must not flood the log */
		LM_LOG(m, m->open_logged < OPENS_LOGGED ? UCS_LOG_INFO : UCS_LOG_DEBUG,
		       "opening line %s", id);
		m->open_logged++;
		err = l->group->drv->ops->open(l->group->drv->ctx, id);
		/* the driver may have removed the line meanwhile: look it up again */
		if (err && (l = lm_line_find(m, id)))
			lm_line_error(m, l, "open: %s", strerror(-err));
		if (m->conf.open_delay_ms && m->open_head < m->n_open) {
			m->host->timer->start(m->open_timer, m->conf.open_delay_ms, 0);
			return;
		}
	}
	/* the queue ran empty: the round ends */
	if (m->open_logged > OPENS_LOGGED)
		LM_LOG(m, UCS_LOG_INFO, "opened %zu more lines (logged at debug)",
		       m->open_logged - OPENS_LOGGED);
	m->open_head = m->n_open = 0;
	m->open_logged = 0;
}

void lm_open_queue(struct lm *m, struct lm_line *l)
{
	char *id;

	if (l->opening || !l->used || !l->group->drv->ops->open)
		return;
	if (m->open_head && m->n_open == m->cap_open) {
		/* reuse the taken front before growing */
		memmove(m->open_queue, m->open_queue + m->open_head,
			(m->n_open - m->open_head) * sizeof(char *));
		m->n_open -= m->open_head;
		m->open_head = 0;
	}
	if (m->n_open == m->cap_open) {
		size_t cap = m->cap_open ? m->cap_open * 2 : 16;
		char **q = realloc(m->open_queue, cap * sizeof(*q));

		if (!q)
			return;
		m->open_queue = q;
		m->cap_open = cap;
	}
	id = strdup(l->info.id.text);
	if (!id)
		return;
	l->opening = true;
	m->open_queue[m->n_open++] = id;
	if (!m->host->timer->active(m->open_timer))
		m->host->timer->start(m->open_timer, 0, 0);
}

static void on_retry(struct ucs_timer *t, void *arg)
{
	struct lm *m = arg;

	(void)t;
	for (struct lm_line *l = m->lines; l; l = l->next)
		if (l->used && l->info.status == UCS_LS_FAILED && !l->opening) {
			m->stats.open_retries++;
			lm_open_queue(m, l);
		}
}

static void arm_retry(struct lm *m)
{
	if (m->conf.retry_s)
		m->host->timer->start(m->retry_timer, (uint64_t)m->conf.retry_s * 1000,
				      (uint64_t)m->conf.retry_s * 1000);
	else
		m->host->timer->stop(m->retry_timer);
}

int lm_open_start(struct lm *m)
{
	int err = m->host->timer->open(m->self, &m->open_timer, on_open_timer, m);

	if (!err)
		err = m->host->timer->open(m->self, &m->retry_timer, on_retry, m);
	if (!err)
		arm_retry(m);
	return err;
}

void lm_open_stop(struct lm *m)
{
	m->host->timer->close(m->open_timer);
	m->host->timer->close(m->retry_timer);
	m->open_timer = m->retry_timer = NULL;
	for (size_t i = m->open_head; i < m->n_open; i++)
		free(m->open_queue[i]);
	free(m->open_queue);
	m->open_queue = NULL;
	m->open_head = m->n_open = m->cap_open = 0;
}

void lm_open_reinit(struct lm *m, struct lm_driver *drv, const char *reason)
{
	size_t n = 0;

	LM_LOG(m, UCS_LOG_WARNING, "driver %s re-initialised (%s): %s", drv->name,
	       reason && *reason ? reason : "no reason given",
	       m->conf.on_reinit == LM_REINIT_WAIT ? "waiting for its lines"
						   : "reopening its lines");
	if (m->conf.on_reinit == LM_REINIT_WAIT)
		return;
	/* a line still queued stays queued once */
	for (struct lm_line *l = m->lines; l; l = l->next)
		if (l->group->drv == drv && l->used && !l->opening) {
			lm_open_queue(m, l);
			n++;
		}
	LM_LOG(m, UCS_LOG_DEBUG, "driver %s: %zu lines queued to open", drv->name, n);
}

/*
 * The extension a number is at the group's PBX, or -ENOENT: a PBX creates
 * lines for its own extensions only, not for a mobile or a business number
 * of another site. The dialplan at the group's location says whether the
 * number is internal there; its internal form (no DDI prefix) is what the
 * PBX calls the device. Without a dialplan only a plain digit string is
 * taken as an extension.
 */
static int extension_at(struct lm *m, const struct lm_group *g, const char *number, char *out,
			size_t cap)
{
	const struct ucs_dialplan_api *dp = m->host->service->find(UCS_DIALPLAN_SERVICE, 1, NULL);
	const char *loc = g->conf.location[0] && g->conf.location[0] != '<' ? g->conf.location
									    : g->desc.location;
	struct ucs_dp_number n = {.size = sizeof(n)};
	char dial[128], why[160];
	struct ucs_dp_dial_result r;
	struct lm_line probe = {0};

	if (!dp) {
		if (strspn(number, "0123456789") != strlen(number) || strlen(number) >= cap)
			return -ENOENT;
		snprintf(out, cap, "%s", number);
		return 0;
	}
	if (dp->format(loc[0] ? loc : NULL, UCS_DP_DISPLAY, number, &n, NULL, NULL) || !n.internal)
		return -ENOENT;
	/* what the PBX dials for it from that location is its extension */
	probe.group = (struct lm_group *)g;
	snprintf(probe.info.location, sizeof(probe.info.location), "%s", loc);
	if (lm_number_dial_ex(m, &probe, UCS_DP_DIAL, n.canonical.text, NULL, dial, sizeof(dial),
			      why, sizeof(why), &r) ||
	    !r.internal || strlen(dial) >= cap)
		return -ENOENT;
	snprintf(out, cap, "%s", dial);
	return 0;
}

void lm_open_interest(struct lm *m, const char *number)
{
	struct lm_line *l = lm_line_by_number(m, number);

	if (!m->started || !number || !*number)
		return;
	if (!l)
		l = lm_line_find(m, number);
	if (l) {
		const struct lm_line_conf *lc = lm_conf_line(&m->conf, l->desc.id.text);

		/* a line the operator switched off ("use": false) is not opened */
		if (!l->used && l->group->conf.use && l->group->conf.open_automatically &&
		    !(lc && !lc->use)) {
			l->wanted = true;
			lm_line_apply(m, l);
			LM_LOG(m, UCS_LOG_INFO, "line %s opened on interest", l->info.id.text);
			lm_publish_line(m, l);
			lm_publish_presence(m, l);
			lm_open_queue(m, l);
		}
		return;
	}
	for (struct lm_group *g = m->groups; g; g = g->next)
		if (g->conf.create_automatically && g->conf.use && !g->drv->removed &&
		    (g->desc.flags & UCS_LGF_CREATE_ON_INTEREST) && g->drv->ops->line_wanted) {
			char dev[UCS_PHONE_MAX];

			if (extension_at(m, g, number, dev, sizeof(dev)) == 0)
				g->drv->ops->line_wanted(g->drv->ctx, g->desc.name, dev);
		}
}

/* A new configuration: every line's properties again; lines that came
 * into use or went out of it are published or removed. */
void lm_open_apply_conf(struct lm *m)
{
	/* every group, also one without lines (create lines automatically) */
	for (struct lm_group *g = m->groups; g; g = g->next)
		lm_group_apply(m, g);
	for (struct lm_line *l = m->lines; l; l = l->next) {
		bool was = l->used;

		lm_line_apply(m, l);
		if (was && !l->used) {
			struct ucs_line_info keep = l->info;

			l->used = true; /* the last word for consumers */
			lm_calls_drop(m, l, true);
			l->info.status = UCS_LS_REMOVED;
			lm_publish_line(m, l);
			lm_publish_gone(m, l);
			l->info = keep;
			l->used = false;
			lm_line_unused(m, l);
		} else if (l->used) {
			lm_publish_line(m, l);
			lm_publish_presence(m, l);
			if (!was)
				lm_open_queue(m, l);
		}
	}
	arm_retry(m);
}
