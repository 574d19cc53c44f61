/*
 * plugins/lines/lm_redirect.c - server-side call redirection.
 *
 * A line's "redirect" list is an ordered list of targets with ring times.
 * An incoming call that starts ringing on the line - and did not reach it
 * through forwarding or a redirection - rings ring_s of the first entry;
 * unanswered, it is deflected to that entry's target. If the target is a
 * line the server watches (open), the call rings there ring_s of the next
 * entry and moves on; the first line's list applies all the way, not the
 * targets' own lists (their calls arrive redirected). A target the server
 * does not watch ends the chain: the call is sent there and left alone, as
 * the manual says. A chain ends when the call is answered or gone, when a
 * line cannot deflect, or when the list is done.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

struct lm_redirect {
	struct lm_redirect *next;
	struct lm *m;
	struct ucs_timer *timer;
	char origin[UCS_ID_MAX]; /* the line whose list applies */
	char line[UCS_ID_MAX];	 /* where the call rings now */
	char pbx[64];		 /* the call */
	struct lm_redirect_target list[LM_MAX_REDIRECTS];
	size_t n, next_idx;
};

static void chain_free(struct lm *m, struct lm_redirect *r)
{
	for (struct lm_redirect **pp = &m->redirects; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	m->host->timer->close(r->timer);
	free(r);
}

static void deflected(struct lm *m, struct lm_req *rq, int status, const char *reason,
		      const char *call)
{
	struct lm_redirect *r = rq->arg;
	struct lm_line *t, *from;
	bool watched;

	(void)call;
	/* the chain may have ended meanwhile (the call was answered) */
	for (struct lm_redirect *p = m->redirects; p; p = p->next)
		if (p == r)
			goto found;
	return;
found:
	if (status) {
		lm_call_leaving_clear(m, rq->line, rq->rq.call, UCS_END_REDIRECTED);
		LM_LOG(m, UCS_LOG_WARNING, "redirection of call %s on %s failed: %s", r->pbx,
		       r->line, reason);
		chain_free(m, r);
		return;
	}
	m->stats.redirects++;
	/* the target on the same PBX first: another PBX may have the extension too */
	from = lm_line_find(m, r->line);
	t = from ? lm_line_in_group(m, from->group, rq->arg_text) : NULL;
	if (!t)
		t = lm_line_by_number(m, rq->arg_text);
	if (t && t->group->drv != rq->drv)
		t = NULL; /* the call stays on its PBX: a line of another one is not it */
	watched = t && t->used && t->info.status == UCS_LS_OPEN;
	if (!watched || r->next_idx >= r->n) {
		LM_LOG(m, UCS_LOG_INFO, "call %s redirected from %s to %s%s", r->pbx, r->line,
		       rq->arg_text, watched ? "" : " (not monitored: redirection ends)");
		chain_free(m, r);
		return;
	}
	LM_LOG(m, UCS_LOG_INFO, "call %s redirected from %s to %s", r->pbx, r->line,
	       t->info.id.text);
	snprintf(r->line, sizeof(r->line), "%s", t->info.id.text);
	m->host->timer->start(r->timer, (uint64_t)r->list[r->next_idx].ring_s * 1000, 0);
}

static void on_ring_timeout(struct ucs_timer *timer, void *arg)
{
	struct lm_redirect *r = arg;
	struct lm *m = r->m;
	struct lm_line *l = lm_line_find(m, r->line);
	struct lm_call *c = l ? lm_call_by_pbx(l, r->pbx) : NULL;
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_DEFLECT};
	const struct lm_redirect_target *t;
	char why[160];

	(void)timer;
	if (!c || c->ci.state != UCS_CS_ALERTING || r->next_idx >= r->n) {
		chain_free(m, r);
		return;
	}
	if (!(l->info.caps & UCS_CAP_DEFLECT) || l->info.status != UCS_LS_OPEN) {
		LM_LOG(m, UCS_LOG_WARNING, "line %s cannot redirect call %s (no deflect)", r->line,
		       r->pbx);
		chain_free(m, r);
		return;
	}
	t = &r->list[r->next_idx++];
	if (lm_number_dial(m, l, UCS_DP_DIAL, t->to, NULL, rq.number, sizeof(rq.number), why,
			   sizeof(why))) {
		LM_LOG(m, UCS_LOG_WARNING, "redirection of %s to %s: %s", r->line, t->to, why);
		chain_free(m, r);
		return;
	}
	snprintf(rq.call, sizeof(rq.call), "%s", c->pbx);
	/* the diversion that follows ends the line's part as a redirection */
	lm_call_leaving(m, l, c->pbx, UCS_END_REDIRECTED, rq.number);
	lm_request_send(m, l, &rq, deflected, NULL, r, t->to);
}

void lm_redirect_offered(struct lm *m, struct lm_line *l, struct lm_call *c)
{
	struct lm_redirect *r;

	if (!l->conf.n_redirect || c->forwarded)
		return;
	for (r = m->redirects; r; r = r->next)
		if (strcmp(r->pbx, c->pbx) == 0)
			return; /* already on its way */
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->m = m;
	if (m->host->timer->open(m->self, &r->timer, on_ring_timeout, r)) {
		free(r);
		return;
	}
	snprintf(r->origin, sizeof(r->origin), "%s", l->info.id.text);
	snprintf(r->line, sizeof(r->line), "%s", l->info.id.text);
	snprintf(r->pbx, sizeof(r->pbx), "%s", c->pbx);
	memcpy(r->list, l->conf.redirect, sizeof(r->list));
	r->n = l->conf.n_redirect;
	r->next = m->redirects;
	m->redirects = r;
	m->host->timer->start(r->timer, (uint64_t)r->list[0].ring_s * 1000, 0);
}

void lm_redirect_call_gone(struct lm *m, struct lm_call *c)
{
	/* a call that left the line it rings on (answered elsewhere, cleared)
	 * ends its chain; while a deflect is under way (no timer running) the
	 * deflect's answer moves the chain instead */
	for (struct lm_redirect *r = m->redirects; r; r = r->next)
		if (strcmp(r->pbx, c->pbx) == 0 && strcmp(r->line, c->line->info.id.text) == 0 &&
		    m->host->timer->active(r->timer)) {
			chain_free(m, r);
			return;
		}
}

void lm_redirect_fini(struct lm *m)
{
	while (m->redirects)
		chain_free(m, m->redirects);
}
