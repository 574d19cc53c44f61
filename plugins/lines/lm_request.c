/*
 * plugins/lines/lm_request.c - requests to drivers: a token each, a
 * deadline each, exactly one answer each.
 *
 * A request leaves with a token the driver hands back in request_done().
 * Whatever happens - the driver answers, refuses at once, never answers
 * (the deadline, request_timeout_ms, answers -ETIMEDOUT), or goes away
 * (-ENETDOWN) - the request's done handler runs once and the request is
 * freed; a late or unknown token is ignored. The done handler is the
 * call.control reply for a user's request, or the next step of a
 * procedure the manager runs itself (redirection, pickup, remote office).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static void unlink_req(struct lm *m, struct lm_req *r)
{
	for (struct lm_req **pp = &m->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			m->n_reqs--;
			return;
		}
}

static void finish(struct lm *m, struct lm_req *r, int status, const char *reason, const char *call)
{
	struct lm_line *l = lm_line_find(m, r->line);

	unlink_req(m, r);
	m->host->timer->close(r->timer);
	r->timer = NULL;
	if (status == 0) {
		m->stats.requests_ok++;
	} else {
		m->stats.requests_failed++;
		if (status == -ETIMEDOUT)
			m->stats.timeouts++;
		if (l)
			lm_line_error(m, l, "%s: %s%s%s", lm_op_name(r->rq.op), strerror(-status),
				      reason && *reason ? ": " : "", reason ? reason : "");
	}
	r->done(m, r, status, reason ? reason : "", call ? call : "");
	free(r);
}

static void on_timeout(struct ucs_timer *t, void *arg)
{
	struct lm_req *r = arg;

	(void)t;
	LM_LOG(r->m, UCS_LOG_WARNING, "request %s on line %s: no answer from driver %s in time",
	       lm_op_name(r->rq.op), r->line, r->drv->name);
	finish(r->m, r, -ETIMEDOUT, "the PBX did not answer", NULL);
}

void lm_request_send(struct lm *m, struct lm_line *l, const struct ucs_line_request *rq,
		     lm_req_done_h *done, struct ucs_request *bus_req, void *arg,
		     const char *arg_text)
{
	lm_request_send_x(m, l, rq, done, bus_req, arg, arg_text, NULL);
}

/* A request that never reached a driver: its done handler at once. */
static void fail_now(struct lm *m, struct lm_line *l, const struct ucs_line_request *rq,
		     lm_req_done_h *done, struct ucs_request *bus_req, void *arg,
		     const char *arg_text, int status, const char *why)
{
	struct lm_req tmp = {
		.m = m, .drv = l->group->drv, .done = done, .bus_req = bus_req, .arg = arg};

	tmp.rq = *rq;
	snprintf(tmp.line, sizeof(tmp.line), "%s", l->info.id.text);
	snprintf(tmp.arg_text, sizeof(tmp.arg_text), "%s", arg_text ? arg_text : "");
	m->stats.requests_failed++;
	done(m, &tmp, status, why, "");
}

void lm_request_send_x(struct lm *m, struct lm_line *l, const struct ucs_line_request *rq,
		       lm_req_done_h *done, struct ucs_request *bus_req, void *arg,
		       const char *arg_text, const struct lm_dial_extra *x)
{
	struct lm_driver *drv = l->group->drv;
	struct lm_req *r;
	uint64_t token;
	int err;

	m->stats.requests++;
	if (drv->removed) {
		fail_now(m, l, rq, done, bus_req, arg, arg_text, -ENETDOWN, "the driver is gone");
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		fail_now(m, l, rq, done, bus_req, arg, arg_text, -ENOMEM, "no memory");
		return;
	}
	/* no deadline, no request: one that could hang forever is refused */
	if (m->host->timer->open(m->self, &r->timer, on_timeout, r)) {
		free(r);
		fail_now(m, l, rq, done, bus_req, arg, arg_text, -ENOMEM,
			 "no timer for the request");
		return;
	}
	r->m = m;
	r->drv = drv;
	r->token = token = ++m->next_token;
	r->rq = *rq;
	r->rq.size = sizeof(r->rq);
	r->rq.line = l->info.id;
	snprintf(r->line, sizeof(r->line), "%s", l->info.id.text);
	r->done = done;
	r->bus_req = bus_req;
	r->arg = arg;
	snprintf(r->arg_text, sizeof(r->arg_text), "%s", arg_text ? arg_text : "");
	if (x)
		r->extra = *x;
	m->host->timer->start(r->timer, m->conf.request_timeout_ms, 0);
	r->next = m->reqs;
	m->reqs = r;
	m->n_reqs++;
	err = drv->ops->request(drv->ctx, &r->rq, token);
	if (err) {
		/* refused at once; it may have answered already, then r is gone */
		for (struct lm_req *p = m->reqs; p; p = p->next)
			if (p->token == token) {
				finish(m, p, err < 0 ? err : -EIO, "the driver refused the request",
				       NULL);
				break;
			}
	}
}

void lm_request_done(struct lm *m, struct lm_driver *drv, uint64_t token, int status,
		     const char *reason, const char *call)
{
	for (struct lm_req *r = m->reqs; r; r = r->next)
		if (r->token == token) {
			if (r->drv != drv)
				return; /* another driver's token: not its to answer */
			if (status > 0)
				status = -EIO;
			finish(m, r, status, reason, call);
			return;
		}
}

void lm_requests_fail_driver(struct lm *m, struct lm_driver *drv)
{
	struct lm_req *r = m->reqs;

	while (r) {
		if (r->drv == drv) {
			finish(m, r, -ENETDOWN, "the driver is gone", NULL);
			r = m->reqs; /* the list changed under the handler */
		} else {
			r = r->next;
		}
	}
}

void lm_requests_fini(struct lm *m)
{
	while (m->reqs)
		finish(m, m->reqs, -ESHUTDOWN, "the line manager stops", NULL);
}
