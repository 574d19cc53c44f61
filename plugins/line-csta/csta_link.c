/*
 * plugins/line-csta/csta_link.c - one PBX link: the connection, the
 * application session, keep-alive both ways, invoke ids and request
 * timeouts, the drop of a broken link and the reconnect with back-off
 * (the life of a link is told in csta.h).
 *
 * Every way a link ends goes through link_down(): it is the one place that
 * fails what is outstanding, turns the lines NOT_AVAILABLE and arms the
 * reconnect, so no path can forget one of them. A generation counter tells
 * code that called out (a frame handler, a pending slot's owner) whether
 * the link went down under it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta.h"

void csta_log(struct csta_ctx *c, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	c->host->log->logv(c->self, level, fmt, ap);
	va_end(ap);
}

void csta_link_complain(struct csta_link *l, const char *fmt, ...)
{
	struct csta_ctx *c = l->ctx;
	uint64_t now = c->host->timer->now_ms();
	char msg[512];
	va_list ap;

	l->errors++;
	if (now - l->log_window_ms >= 10000) {
		if (l->log_suppressed)
			csta_log(c, UCS_LOG_WARNING, "link %s: %u similar messages suppressed",
				 l->cfg->name, l->log_suppressed);
		l->log_window_ms = now;
		l->log_count = 0;
		l->log_suppressed = 0;
	}
	if (l->log_count >= 10) {
		l->log_suppressed++;
		return;
	}
	l->log_count++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	csta_log(c, UCS_LOG_WARNING, "link %s: %s", l->cfg->name, msg);
}

static uint64_t now_ms(const struct csta_link *l)
{
	return l->ctx->host->timer->now_ms();
}

/* ---- debug dumps ---- */

/*
 * A document for the debug log: at most 2000 bytes, with the text of every
 * sessionID, password and userName element replaced by "***" (a session id
 * is a bearer credential for the session: whoever has it can reset or stop
 * it). Elements are matched by local name, with or without a prefix.
 */
static void redact(const char *xml, size_t len, char *out, size_t cap)
{
	static const char *const secret[] = {"sessionID", "password", "userName"};
	size_t o = 0, i = 0;

	if (len > 2000)
		len = 2000;
	while (i < len && o + 1 < cap) {
		size_t hide = 0;

		out[o++] = xml[i];
		if (xml[i++] != '<' || i >= len || xml[i] == '/')
			continue;
		/* the element's local name: after an optional "prefix:" */
		size_t n = i, local = i;

		while (n < len && xml[n] != '>' && xml[n] != ' ' && xml[n] != '/') {
			if (xml[n] == ':')
				local = n + 1;
			n++;
		}
		for (size_t k = 0; k < sizeof(secret) / sizeof(secret[0]); k++)
			if (n - local == strlen(secret[k]) &&
			    !strncmp(xml + local, secret[k], n - local))
				hide = 1;
		if (!hide)
			continue;
		/* copy the tag, then "***" for the text up to the next '<' */
		while (i < len && xml[i] != '>' && o + 1 < cap)
			out[o++] = xml[i++];
		if (i < len && o + 1 < cap)
			out[o++] = xml[i++];
		if (i > 1 && xml[i - 2] == '/')
			continue; /* <sessionID/> */
		for (const char *m = "***"; *m && o + 1 < cap; m++)
			out[o++] = *m;
		while (i < len && xml[i] != '<')
			i++;
	}
	out[o] = '\0';
}

static void log_doc(struct csta_link *l, const char *dir, int invoke, const char *xml, size_t len)
{
	char text[2100];

	redact(xml, len, text, sizeof(text));
	csta_log(l->ctx, UCS_LOG_DEBUG, "link %s: %s %04d %s", l->cfg->name, dir, invoke, text);
}

/* ---- sending ---- */

/* The document is in l->sendbuf after the header's 8 bytes. */
static int send_doc(struct csta_link *l, int invoke, int len, int secret)
{
	struct csta_ctx *c = l->ctx;
	int err;

	if (len < 0)
		return len;
	if (!l->conn)
		return -ENETDOWN;
	csta_header_write((uint8_t *)l->sendbuf, (size_t)len, invoke);
	err = c->host->net->send(l->conn, l->sendbuf, (size_t)len + CSTA_HEADER_BYTES);
	if (err)
		return err;
	l->docs_out++;
	if (c->host->log->enabled(c->self, UCS_LOG_DEBUG))
		log_doc(l, ">", invoke, l->sendbuf + CSTA_HEADER_BYTES, secret ? 40 : (size_t)len);
	return 0;
}

static struct csta_buf doc_buf(struct csta_link *l)
{
	struct csta_buf b;

	csta_buf_init(&b, l->sendbuf + CSTA_HEADER_BYTES, sizeof(l->sendbuf) - CSTA_HEADER_BYTES);
	(void)csta_buf_edition(&b, l->cfg->edition); /* 3..5: checked by the key's choices */
	return b;
}

/* A free invoke id: 1..9998, cycling, skipping those outstanding. */
static int take_invoke(struct csta_link *l)
{
	if (l->npend >= CSTA_INVOKE_MAX)
		return -EBUSY;
	for (;;) {
		int id = l->next_invoke;

		l->next_invoke = id >= CSTA_INVOKE_MAX ? 1 : id + 1;
		if (l->pend[id].kind == CSTA_P_NONE)
			return id;
	}
}

static int pend_add(struct csta_link *l, int len, int kind, int req, uint32_t dev, uint64_t token,
		    int secret)
{
	struct csta_pending *p;
	int id, err;

	if (len < 0)
		return len;
	id = take_invoke(l);
	if (id < 0)
		return id;
	err = send_doc(l, id, len, secret);
	if (err)
		return err;
	p = &l->pend[id];
	p->kind = (uint8_t)kind;
	p->req = (uint8_t)req;
	p->dev = dev;
	p->token = token;
	p->deadline_ms = now_ms(l) + l->ctx->set.request_timeout_ms;
	l->npend++;
	if (!l->ctx->host->timer->active(l->t_tick))
		l->ctx->host->timer->start(l->t_tick, 100, 100);
	return 0;
}

int csta_link_is_up(const struct csta_link *l)
{
	return l->state == CSTA_LINK_UP;
}

int csta_link_request(struct csta_link *l, const struct csta_req_args *a, int kind, uint32_t dev,
		      uint64_t token)
{
	struct csta_buf b;

	if (l->state != CSTA_LINK_UP)
		return -ENETDOWN;
	b = doc_buf(l);
	return pend_add(l, csta_encode_request(&b, a), kind, a->req, dev, token, 0);
}

/* ---- going down and coming back ---- */

static void link_connect(struct csta_link *l);

static uint32_t backoff_ms(struct csta_link *l)
{
	const struct csta_settings *s = &l->ctx->set;
	uint64_t d = s->reconnect_min_ms;

	uint64_t hi;

	for (unsigned i = 0; i < l->attempts && d < s->reconnect_max_ms; i++)
		d *= 2;
	if (d > s->reconnect_max_ms)
		d = s->reconnect_max_ms;
	/* Jitter, so that the links of many servers do not retry in step: the
	 * delay is in [d, 1.5 d], at most reconnect_max_ms; at the maximum in
	 * [3/4 max, max] (never below reconnect_min_ms). */
	hi = d + d / 2;
	if (hi > s->reconnect_max_ms) {
		hi = s->reconnect_max_ms;
		if (d >= hi)
			d = hi - hi / 4;
		if (d < s->reconnect_min_ms)
			d = s->reconnect_min_ms;
	}
	d += hi > d ? (uint64_t)rand() % (hi - d + 1) : 0;
	l->attempts++;
	return (uint32_t)d;
}

/* Answers every slot outstanding with err, in invoke id order. */
static void fail_pending(struct csta_link *l, int err);

static void link_down(struct csta_link *l, int close_conn, const char *why, int status,
		      const char *reason)
{
	struct csta_ctx *c = l->ctx;
	const struct ucs_timer_api *t = c->host->timer;
	uint32_t delay;
	int was = l->state;

	if (was == CSTA_LINK_DOWN || was == CSTA_LINK_STOPPED)
		return;
	/* The back-off starts again only after a link that was stable: a PBX
	 * that accepts and drops at once is not hammered every min ms. */
	if (was == CSTA_LINK_UP && (l->stable || now_ms(l) - l->up_since >= CSTA_STABLE_MS))
		l->attempts = 0;
	l->stable = 0;
	l->state = CSTA_LINK_DOWN;
	l->gen++;
	if (close_conn && l->conn)
		c->host->net->close(l->conn);
	l->conn = NULL;
	csta_reader_reset(&l->rd);
	t->stop(l->t_keepalive);
	t->stop(l->t_session);
	t->stop(l->t_tick);
	t->stop(l->t_retry);
	l->session_id[0] = '\0';
	fail_pending(l, -ENETDOWN);
	csta_devs_link_down(l, status, reason);
	if (c->stopping)
		return;
	delay = backoff_ms(l);
	if (was == CSTA_LINK_CONNECTING)
		csta_log(c, UCS_LOG_WARNING,
			 "link %s: connect to %s:%u failed (%s); retrying in %u ms", l->cfg->name,
			 l->cfg->host, l->cfg->port, why, delay);
	else
		csta_log(
			c, UCS_LOG_WARNING,
			"link %s: connection lost (%s); %zu lines not available, reconnecting in %u "
			"ms",
			l->cfg->name, why, l->devs.n, delay);
	t->start(l->t_reconnect, delay, 0);
}

static void link_up(struct csta_link *l)
{
	struct csta_ctx *c = l->ctx;
	uint64_t ka = (uint64_t)l->cfg->keepalive_s * 1000;

	if (l->reconnects_pending)
		l->reconnects++;
	l->reconnects_pending = 1;
	l->state = CSTA_LINK_UP;
	l->up_since = now_ms(l);
	l->stable = 0;
	l->warned_state = 0;
	csta_log(c, UCS_LOG_INFO, "link %s: connected to %s:%u%s, monitoring %zu devices",
		 l->cfg->name, l->cfg->host, l->cfg->port,
		 c->host->net->is_tls(l->conn) ? " (TLS)" : "", l->devs.n);
	c->host->timer->start(l->t_keepalive, ka, ka);
	csta_devs_link_up(l);
}

/* ---- answers ---- */

static void session_answer(struct csta_link *l, int err, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;
	uint64_t every;

	if (err || !m || m->type != CSTA_T_SESSION_POS) {
		char why[160];

		snprintf(why, sizeof(why), "session refused: %s",
			 m && m->error[0]    ? m->error
			 : err == -ETIMEDOUT ? "no answer"
					     : "refused");
		csta_log(c, UCS_LOG_ERROR, "link %s: StartApplicationSession failed (%s)",
			 l->cfg->name,
			 m && m->error[0] ? m->error : strerror(-err ? -err : EPROTO));
		link_down(l, 1, why, UCS_LS_FAILED, "login error");
		return;
	}
	snprintf(l->session_id, sizeof(l->session_id), "%s", m->session_id);
	/* Reset the timer well before the session would expire. */
	every = (uint64_t)(m->session_duration > 0 ? m->session_duration : CSTA_SESSION_S) * 1000 *
		2 / 3;
	if (every < 1000)
		every = 1000;
	c->host->timer->start(l->t_session, every, every);
	/* not the session id: it is the session's credential */
	csta_log(c, UCS_LOG_INFO, "link %s: application session started (%d s)", l->cfg->name,
		 m->session_duration);
	link_up(l);
}

static void dispatch(struct csta_link *l, const struct csta_pending *p, int err,
		     const struct csta_msg *m)
{
	switch (p->kind) {
	case CSTA_P_USER:
		csta_map_answer(l, p, err, m);
		break;
	case CSTA_P_MONITOR:
	case CSTA_P_MONITOR_STOP:
	case CSTA_P_SNAPSHOT:
	case CSTA_P_GET_FWD:
	case CSTA_P_GET_DND:
		csta_dev_answer(l, p, err, m);
		break;
	case CSTA_P_KEEPALIVE:
		if (err != -ETIMEDOUT && err != -ENETDOWN)
			l->stable = 1; /* the PBX answers: the link works */
		if (err == -ETIMEDOUT) {
			char why[96];

			snprintf(why, sizeof(why), "keep-alive not answered within %u ms",
				 l->ctx->set.request_timeout_ms);
			link_down(l, 1, why, UCS_LS_NOT_AVAILABLE, "communication error");
		}
		break;
	case CSTA_P_SESSION:
		if (err != -ENETDOWN)
			session_answer(l, err, m);
		break;
	case CSTA_P_RESET_TIMER:
		if (err && err != -ENETDOWN)
			link_down(l, 1, "the session timer could not be reset",
				  UCS_LS_NOT_AVAILABLE, "communication error");
		break;
	}
}

static void fail_pending(struct csta_link *l, int err)
{
	for (int id = 1; id <= CSTA_INVOKE_MAX && l->npend; id++) {
		struct csta_pending p = l->pend[id];

		if (p.kind == CSTA_P_NONE)
			continue;
		l->pend[id].kind = CSTA_P_NONE;
		l->npend--;
		dispatch(l, &p, err, NULL);
	}
}

static void on_tick(struct ucs_timer *timer, void *arg)
{
	struct csta_link *l = arg;
	uint64_t now = now_ms(l), gen = l->gen;

	(void)timer;
	for (int id = 1; id <= CSTA_INVOKE_MAX && l->npend && gen == l->gen; id++) {
		struct csta_pending p = l->pend[id];

		if (p.kind == CSTA_P_NONE || p.deadline_ms > now)
			continue;
		l->pend[id].kind = CSTA_P_NONE;
		l->npend--;
		dispatch(l, &p, -ETIMEDOUT, NULL);
	}
	if (l->npend == 0)
		l->ctx->host->timer->stop(l->t_tick);
}

/* ---- what the PBX sends ---- */

static void answer_pbx(struct csta_link *l, int invoke, const struct csta_msg *m)
{
	struct csta_buf b = doc_buf(l);
	int len;

	switch (m->type) {
	case CSTA_T_SYSTEM_STATUS:
		len = csta_encode_system_status_response(&b);
		break;
	case CSTA_T_REQUEST_SYSTEM_STATUS:
		len = csta_encode_request_system_status_response(&b);
		break;
	default:
		len = csta_encode_error(&b, "operation", "generic");
		break;
	}
	if (send_doc(l, invoke < 0 ? 0 : invoke, len, 0) < 0)
		csta_link_complain(l, "could not answer %s", m->name);
}

static void system_status(struct csta_link *l, const struct csta_msg *m)
{
	struct csta_ctx *c = l->ctx;

	if (!m->status[0] || !strcmp(m->status, "normal"))
		return;
	csta_log(c, UCS_LOG_INFO, "link %s: the PBX reports system status %s", l->cfg->name,
		 m->status);
	/* Events were lost, or the PBX starts again: what we hold may be
	 * stale; the snapshots of every open device tell the present. */
	if (!strcmp(m->status, "messagesLost") || !strcmp(m->status, "enabled"))
		for (uint32_t i = 0; i < l->devs.n && csta_link_is_up(l); i++)
			csta_dev_resnapshot(l, i, 1);
	if (!strcmp(m->status, "initializing") && c->drv)
		c->mgr->driver_reinit(c->drv, "PBX initializing");
}

static int on_frame(void *arg, int invoke, const char *xml, size_t len)
{
	struct csta_link *l = arg;
	struct csta_ctx *c = l->ctx;
	uint64_t gen = l->gen;
	struct csta_msg m;
	int err;

	l->docs_in++;
	if (c->host->log->enabled(c->self, UCS_LOG_DEBUG))
		log_doc(l, "<", invoke < 0 ? 0 : invoke, xml, len);
	err = csta_decode(xml, len, &m);
	if (err) {
		csta_msg_free(&m);
		csta_link_complain(l, "malformed document dropped (%s, %zu bytes, invoke id %04d)",
				   err == -EPROTO ? "foreign namespace" : "not well-formed XML",
				   len, invoke < 0 ? 0 : invoke);
		return 0;
	}
	if (csta_type_is_answer(m.type)) {
		if (invoke >= 1 && invoke <= CSTA_INVOKE_MAX && l->pend[invoke].kind) {
			struct csta_pending p = l->pend[invoke];

			l->pend[invoke].kind = CSTA_P_NONE;
			l->npend--;
			err = m.type == CSTA_T_ERROR || m.type == CSTA_T_SESSION_NEG ||
					      m.type == CSTA_T_RESET_TIMER_NEG
				      ? -EREMOTEIO
				      : 0;
			dispatch(l, &p, err, &m);
		} else if (m.type == CSTA_T_MONITOR_START_RESP && m.xref[0] &&
			   l->state == CSTA_LINK_UP) {
			/* A MonitorStart we gave up on (timed out) was granted
			 * after all: the monitor is nobody's, stop it. */
			struct csta_req_args a = {.req = CSTA_R_MONITOR_STOP, .xref = m.xref};

			csta_link_complain(l,
					   "MonitorStartResponse for invoke id %04d, which is not "
					   "outstanding; stopping monitor %s",
					   invoke < 0 ? 0 : invoke, m.xref);
			(void)csta_link_request(l, &a, CSTA_P_MONITOR_STOP, UINT32_MAX, 0);
		} else {
			csta_link_complain(l, "%s for invoke id %04d, which is not outstanding",
					   m.name, invoke < 0 ? 0 : invoke);
		}
	} else if (csta_type_is_event(m.type)) {
		if (l->state == CSTA_LINK_UP)
			csta_map_event(l, &m);
	} else if (m.type == CSTA_T_SYSTEM_STATUS || m.type == CSTA_T_REQUEST_SYSTEM_STATUS) {
		answer_pbx(l, invoke, &m);
		system_status(l, &m);
	} else if (m.type == CSTA_T_STOP_SESSION) {
		link_down(l, 1, "the PBX stopped the application session", UCS_LS_NOT_AVAILABLE,
			  "communication error");
	} else {
		csta_link_complain(l, "%s is not a service this driver offers", m.name);
		answer_pbx(l, invoke, &m);
	}
	csta_msg_free(&m);
	return gen == l->gen ? 0 : -ECANCELED;
}

/* ---- connection callbacks ---- */

static void on_data(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg)
{
	struct csta_link *l = arg;
	uint64_t gen = l->gen;
	int err;

	(void)conn;
	err = csta_reader_feed(&l->rd, data, len, on_frame, l);
	if (err && err != -ECANCELED && gen == l->gen) {
		char why[128];

		l->errors++;
		snprintf(why, sizeof(why), "frame error: %s",
			 err == -EMSGSIZE ? "a frame larger than max_frame_bytes"
			 : err == -ENOMEM ? "out of memory"
					  : "not a CSTA frame header");
		csta_log(l->ctx, UCS_LOG_WARNING, "link %s: %s; dropping the link", l->cfg->name,
			 why);
		link_down(l, 1, why, UCS_LS_NOT_AVAILABLE, "communication error");
	}
}

static void on_close(struct ucs_conn *conn, int err, void *arg)
{
	struct csta_link *l = arg;
	char why[128];

	(void)conn;
	if (err)
		snprintf(why, sizeof(why), "%s", strerror(-err));
	else
		snprintf(why, sizeof(why), "closed by the PBX");
	l->conn = NULL;
	link_down(l, 0, why, UCS_LS_NOT_AVAILABLE, "communication error");
}

static void on_connected(struct ucs_conn *conn, void *arg)
{
	struct csta_link *l = arg;
	struct csta_buf b;
	int err;

	(void)conn;
	if (!l->cfg->session) {
		link_up(l);
		return;
	}
	l->state = CSTA_LINK_SESSION;
	b = doc_buf(l);
	err = pend_add(
		l, csta_encode_start_session(&b, l->cfg->user, l->cfg->password, CSTA_SESSION_S),
		CSTA_P_SESSION, 0, 0, 0, 1);
	if (err)
		link_down(l, 1, "StartApplicationSession could not be sent", UCS_LS_NOT_AVAILABLE,
			  "communication error");
}

static const struct ucs_conn_handlers handlers = {
	.size = sizeof(handlers),
	.on_data = on_data,
	.on_close = on_close,
	.on_connected = on_connected,
};

static void link_connect(struct csta_link *l)
{
	struct csta_ctx *c = l->ctx;
	struct ucs_connect_opts o = {
		.size = sizeof(o),
		.host = l->cfg->host,
		.port = l->cfg->port,
		.tls = l->cfg->tls,
		.ca_file = l->cfg->ca_file[0] ? l->cfg->ca_file : NULL,
		.timeout_ms = c->set.request_timeout_ms > 10000 ? c->set.request_timeout_ms : 10000,
	};
	int err;

	l->gen++;
	l->state = CSTA_LINK_CONNECTING;
	err = c->host->net->connect(c->self, &l->conn, &o, &handlers, l);
	if (err) {
		l->conn = NULL;
		link_down(l, 0, strerror(-err), UCS_LS_NOT_AVAILABLE, "communication error");
	}
}

static void on_reconnect(struct ucs_timer *timer, void *arg)
{
	(void)timer;
	link_connect(arg);
}

static void on_keepalive(struct ucs_timer *timer, void *arg)
{
	struct csta_link *l = arg;
	struct csta_req_args a = {.req = CSTA_R_SYSTEM_STATUS};

	(void)timer;
	if (l->state != CSTA_LINK_UP)
		return;
	for (int id = 1; id <= CSTA_INVOKE_MAX; id++)
		if (l->pend[id].kind == CSTA_P_KEEPALIVE)
			return; /* the one outstanding times out by itself */
	if (csta_link_request(l, &a, CSTA_P_KEEPALIVE, 0, 0) < 0)
		csta_link_complain(l, "keep-alive could not be sent");
}

static void on_retry(struct ucs_timer *timer, void *arg)
{
	(void)timer;
	csta_devs_retry(arg);
}

static void on_session_timer(struct ucs_timer *timer, void *arg)
{
	struct csta_link *l = arg;
	struct csta_buf b;

	(void)timer;
	if (l->state != CSTA_LINK_UP || !l->session_id[0])
		return;
	b = doc_buf(l);
	if (pend_add(l, csta_encode_reset_timer(&b, l->session_id, CSTA_SESSION_S),
		     CSTA_P_RESET_TIMER, 0, 0, 0, 0) < 0)
		csta_link_complain(l, "ResetApplicationSessionTimer could not be sent");
}

/* ---- life ---- */

int csta_link_init(struct csta_ctx *c, struct csta_link *l, struct csta_link_cfg *cfg)
{
	const struct ucs_timer_api *t = c->host->timer;
	int err;

	memset(l, 0, sizeof(*l));
	l->ctx = c;
	l->cfg = cfg;
	l->next_invoke = 1;
	csta_reader_init(&l->rd, c->set.max_frame_bytes);
	l->pend = calloc(CSTA_INVOKE_MAX + 1, sizeof(*l->pend));
	if (!l->pend)
		return -ENOMEM;
	err = t->open(c->self, &l->t_reconnect, on_reconnect, l);
	if (!err)
		err = t->open(c->self, &l->t_keepalive, on_keepalive, l);
	if (!err)
		err = t->open(c->self, &l->t_tick, on_tick, l);
	if (!err)
		err = t->open(c->self, &l->t_session, on_session_timer, l);
	if (!err)
		err = t->open(c->self, &l->t_retry, on_retry, l);
	for (size_t i = 0; !err && i < cfg->ndevices; i++)
		err = csta_devs_add(l, cfg->devices[i], 1, NULL);
	return err;
}

void csta_link_start(struct csta_link *l)
{
	csta_log(l->ctx, UCS_LOG_INFO, "link %s: connecting to %s:%u%s", l->cfg->name, l->cfg->host,
		 l->cfg->port, l->cfg->tls ? " with TLS" : "");
	link_connect(l);
}

void csta_link_stop(struct csta_link *l)
{
	struct csta_ctx *c = l->ctx;

	if (l->state == CSTA_LINK_UP && l->session_id[0]) {
		struct csta_buf b = doc_buf(l);
		int id = take_invoke(l);

		if (id > 0)
			(void)send_doc(l, id, csta_encode_stop_session(&b, l->session_id), 0);
	}
	if (l->state != CSTA_LINK_DOWN)
		link_down(l, 1, "stopping", UCS_LS_NOT_AVAILABLE, "communication error");
	l->state = CSTA_LINK_STOPPED;
	c->host->timer->close(l->t_reconnect);
	c->host->timer->close(l->t_keepalive);
	c->host->timer->close(l->t_tick);
	c->host->timer->close(l->t_session);
	c->host->timer->close(l->t_retry);
	l->t_reconnect = l->t_keepalive = l->t_tick = l->t_session = l->t_retry = NULL;
}

void csta_link_fini(struct csta_link *l)
{
	csta_reader_free(&l->rd);
	free(l->pend);
	l->pend = NULL;
	csta_devs_free(&l->devs);
}

int csta_link_status(const struct csta_link *l, char *buf, size_t cap)
{
	static const char *const states[] = {"down", "connecting", "session", "up", "stopped"};

	return snprintf(buf, cap,
			"{\"name\":\"%s\",\"state\":\"%s\",\"connected\":%s,\"reconnects\":%llu,"
			"\"documents_in\":%llu,\"documents_out\":%llu,\"errors\":%llu,"
			"\"lines\":%zu,\"monitors\":%zu,\"requests_outstanding\":%zu}",
			l->cfg->name, states[l->state], l->state == CSTA_LINK_UP ? "true" : "false",
			(unsigned long long)l->reconnects, (unsigned long long)l->docs_in,
			(unsigned long long)l->docs_out, (unsigned long long)l->errors, l->devs.n,
			l->devs.monitors, l->npend);
}
