/* tools/pbxsim/control.c - the control port and its commands (see control.h). */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A command line has at most this many bytes before its newline; a longer
 * one is refused as a whole ("error line too long"), never cut and run. */
#define LINE_MAX_LEN 4096
#define MAX_WORDS    8

static const char *op_error(int err)
{
	switch (err) {
	case M_EINVCALL:
		return "invalid call";
	case M_EINVDEV:
		return "invalid device";
	case M_EINVCONN:
		return "invalid connection";
	case M_ESTATE:
		return "invalid connection state";
	case M_EINVDEST:
		return "invalid destination";
	case M_EINVCALLING:
		return "invalid calling party";
	case M_ENOCALL:
		return "no call";
	case M_ECONNEXISTS:
		return "connected call exists";
	case M_ESAMEDEV:
		return "a party is in both calls";
	default:
		return "out of memory";
	}
}

static bool parse_ms(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v > 86400000ull)
		return false;
	*out = v;
	return true;
}

/* The party's connection in the first state of the list that it has. */
static struct conn *party_conn(struct sim *s, const char *party, const enum cstate *states,
			       size_t n)
{
	struct device *d = model_dev(&s->m, party);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct conn *x = dev_conn_in(d, 1u << states[i]);

		if (x)
			return x;
	}
	return NULL;
}

static void state_reply(struct sim *s, struct device *d, struct sbuf *reply)
{
	bool first = true;

	sbuf_printf(reply, "ok %s dnd=%s", d->num, d->dnd ? "on" : "off");
	sbuf_printf(reply, " fwd_immediate=%s fwd_busy=%s fwd_noanswer=%s calls=",
		    d->fwd[FWD_IMMEDIATE][0] ? d->fwd[FWD_IMMEDIATE] : "-",
		    d->fwd[FWD_BUSY][0] ? d->fwd[FWD_BUSY] : "-",
		    d->fwd[FWD_NOANSWER][0] ? d->fwd[FWD_NOANSWER] : "-");
	for (struct conn *x = d->conns; x; x = x->dnext) {
		sbuf_printf(reply, "%s%s:%s", first ? "" : ",", x->call->idstr, cstate_name(x->st));
		first = false;
	}
	(void)s;
}

static int cmd_fault(struct sim *s, char **w, int n, struct sbuf *reply)
{
	uint64_t v;
	int rc = 0;
	bool sent = false; /* the reply says how many documents went out */

	if (n >= 2 && !strcmp(w[1], "drop") && n == 2) {
		csta_fault_drop(s);
	} else if (n == 3 && !strcmp(w[1], "stall") && parse_ms(w[2], &v)) {
		if (csta_fault_stall(s, v) < 0) {
			sbuf_puts(reply, "error out of memory");
			return 0;
		}
	} else if (n == 2 && !strcmp(w[1], "garbage")) {
		csta_fault_garbage(s);
	} else if (n == 2 && !strcmp(w[1], "oversize")) {
		csta_fault_oversize(s);
	} else if (n == 3 && !strcmp(w[1], "monitor-limit") && !strcmp(w[2], "off")) {
		s->csta.monitor_limited = false;
	} else if (n == 3 && !strcmp(w[1], "monitor-limit") && parse_ms(w[2], &v)) {
		/* 0 is a limit too: every MonitorStart is refused. */
		s->csta.monitor_limited = true;
		s->csta.monitor_limit = (size_t)v;
	} else if (n == 4 && !strcmp(w[1], "outofservice") &&
		   (!strcmp(w[3], "on") || !strcmp(w[3], "off"))) {
		rc = fault_service_state(s, w[2], !strcmp(w[3], "on"));
		sent = true;
	} else if (n == 3 && !strcmp(w[1], "lose") && parse_ms(w[2], &v)) {
		s->csta.lose_until = v ? uv_now(s->loop) + v : 0;
	} else if (n == 3 && !strcmp(w[1], "systemstatus")) {
		rc = fault_system_status(s, w[2]);
		sent = true;
	} else if (n == 3 && !strcmp(w[1], "monitor-ended")) {
		rc = fault_monitor_ended(s, w[2]);
		sent = true;
	} else if ((n == 4 || n == 5) && !strcmp(w[1], "error")) {
		v = 1;
		if (n == 5 && (!parse_ms(w[4], &v) || v == 0 || v > 1000000)) {
			sbuf_puts(reply,
				  "error usage: fault error SERVICE VALUE [N] (N 1..1000000)");
			return 0;
		}
		rc = fault_error_arm(s, w[2], w[3], (unsigned)v);
	} else {
		sbuf_puts(reply,
			  "error usage: fault drop|stall MS|garbage|oversize|monitor-limit "
			  "N|off|lose MS|outofservice EXT on|off|systemstatus STATUS|monitor-ended "
			  "EXT|error SERVICE VALUE [N]");
		return 0;
	}
	if (rc == M_EINVDEV) {
		sbuf_puts(reply, "error unknown extension");
		return 0;
	}
	if (rc == -EINVAL) {
		sbuf_printf(reply, "error unknown %s",
			    !strcmp(w[1], "error") ? "service or error value" : "system status");
		return 0;
	}
	if (rc < 0) {
		sbuf_puts(reply, "error out of memory");
		return 0;
	}
	sim_log(s, "control: fault %s%s%s%s%s%s%s", w[1], n >= 3 ? " " : "", n >= 3 ? w[2] : "",
		n >= 4 ? " " : "", n >= 4 ? w[3] : "", n >= 5 ? " " : "", n >= 5 ? w[4] : "");
	if (sent)
		sbuf_printf(reply, "ok %d", rc);
	else
		sbuf_puts(reply, "ok");
	return 0;
}

int ctl_exec(struct sim *s, const char *line, struct sbuf *reply, bool scenario)
{
	static const enum cstate hangup_order[] = {CS_CONNECTED, CS_ALERTING, CS_INITIATED,
						   CS_FAIL,	 CS_HOLD,     CS_QUEUED};
	static const enum cstate ringing[] = {CS_ALERTING};
	static const enum cstate talking[] = {CS_CONNECTED};
	static const enum cstate holding[] = {CS_HOLD};
	char buf[LINE_MAX_LEN + 2]; /* a line may end in \r */
	char *w[MAX_WORDS], *save = NULL, *t;
	int n = 0, err = 0;
	struct conn *x;
	struct device *d;

	if (strlen(line) >= sizeof(buf)) { /* never cut a command and run the rest */
		sbuf_puts(reply, "error line too long");
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	for (t = strtok_r(buf, " \t\r\n", &save); t && n < MAX_WORDS;
	     t = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = t;
	if (t) {
		sbuf_puts(reply, "error too many words");
		return 0;
	}
	if (n == 0) {
		sbuf_puts(reply, "error empty command");
		return 0;
	}
	if (!strcmp(w[0], "call") && n == 3) {
		struct call *c = NULL;

		err = op_make_call(s, w[1], w[2], &c);
		if (!err)
			sbuf_printf(reply, "ok %s", c->idstr);
	} else if (!strcmp(w[0], "answer") && n == 2) {
		x = party_conn(s, w[1], ringing, 1);
		if (!x) {
			sbuf_puts(reply, "error no ringing call");
			return 0;
		}
		err = op_answer(s, x);
	} else if (!strcmp(w[0], "pickup") && (n == 2 || n == 3)) {
		struct call *c = NULL;

		/* at the phone: EXT picks up TARGET's ringing call, or (no
		 * TARGET) the longest ringing call of its pickup group */
		d = model_dev(&s->m, w[1]);
		if (!d || !d->ext) {
			sbuf_puts(reply, "error unknown extension");
			return 0;
		}
		if (n == 3) {
			struct device *t = model_dev(&s->m, w[2]);

			if (!t || !t->ext) {
				sbuf_puts(reply, "error unknown extension");
				return 0;
			}
			x = dev_conn_in(t, 1u << CS_ALERTING);
			if (!x) {
				sbuf_puts(reply, "error no ringing call");
				return 0;
			}
			c = x->call;
			err = op_pickup(s, x, d);
		} else {
			err = op_group_pickup(s, d, &c);
		}
		if (!err)
			sbuf_printf(reply, "ok %s", c->idstr);
	} else if (!strcmp(w[0], "deflect") && n == 3) {
		/* at the phone: EXT sends its ringing call on to NUMBER */
		d = model_dev(&s->m, w[1]);
		if (!d || !d->ext) {
			sbuf_puts(reply, "error unknown extension");
			return 0;
		}
		x = dev_conn_in(d, 1u << CS_ALERTING);
		if (!x) {
			sbuf_puts(reply, "error no ringing call");
			return 0;
		}
		err = op_deflect(s, x, w[2]);
	} else if (!strcmp(w[0], "hangup") && n == 2) {
		x = party_conn(s, w[1], hangup_order,
			       sizeof(hangup_order) / sizeof(hangup_order[0]));
		if (!x) {
			sbuf_puts(reply, "error no call");
			return 0;
		}
		err = op_clear_conn(s, x);
	} else if (!strcmp(w[0], "hold") && n == 2) {
		x = party_conn(s, w[1], talking, 1);
		if (!x) {
			sbuf_puts(reply, "error no connected call");
			return 0;
		}
		err = op_hold(s, x);
	} else if (!strcmp(w[0], "retrieve") && n == 2) {
		x = party_conn(s, w[1], holding, 1);
		if (!x) {
			sbuf_puts(reply, "error no held call");
			return 0;
		}
		err = op_retrieve(s, x);
	} else if (!strcmp(w[0], "forward") && n == 4) {
		int type = fwd_type_parse(w[2]);
		bool off = !strcmp(w[3], "off");

		d = model_dev(&s->m, w[1]);
		if (!d || !d->ext) {
			sbuf_puts(reply, "error unknown extension");
			return 0;
		}
		if (type < 0) {
			sbuf_puts(reply,
				  "error usage: forward EXT immediate|busy|noanswer NUMBER|off");
			return 0;
		}
		err = op_set_fwd(s, d, (enum fwd_type)type, !off, off ? NULL : w[3]);
	} else if (!strcmp(w[0], "dnd") && n == 3 &&
		   (!strcmp(w[2], "on") || !strcmp(w[2], "off"))) {
		d = model_dev(&s->m, w[1]);
		if (!d || !d->ext) {
			sbuf_puts(reply, "error unknown extension");
			return 0;
		}
		err = op_set_dnd(s, d, !strcmp(w[2], "on"));
	} else if (!strcmp(w[0], "state") && n == 2) {
		d = model_dev(&s->m, w[1]);
		if (!d || !d->ext) {
			sbuf_puts(reply, "error unknown extension");
			return 0;
		}
		state_reply(s, d, reply);
		return 0;
	} else if (!strcmp(w[0], "monitors") && n == 1) {
		sbuf_printf(reply, "ok %zu", s->csta.nmons);
		return 0;
	} else if (!strcmp(w[0], "stats") && n == 1) {
		sbuf_printf(
			reply,
			"ok sent=%llu received=%llu events=%llu calls=%llu skipped=%llu lost=%llu",
			(unsigned long long)s->csta.sent, (unsigned long long)s->csta.received,
			(unsigned long long)s->csta.events, (unsigned long long)s->m.calls_total,
			(unsigned long long)s->load.skipped, (unsigned long long)s->csta.lost);
		return 0;
	} else if (!strcmp(w[0], "fault") && n >= 2) {
		return cmd_fault(s, w, n, reply);
	} else if (!strcmp(w[0], "wait")) {
		sbuf_puts(reply, scenario ? "error usage: wait MS" : "error wait is for scenarios");
		return 0;
	} else if (!strcmp(w[0], "quit") && n == 1) {
		sbuf_puts(reply, "ok");
		return 2;
	} else {
		sbuf_printf(reply, "error unknown command or wrong arguments: %s", w[0]);
		return 0;
	}
	if (err)
		sbuf_printf(reply, "error %s", op_error(err));
	else if (reply->len == 0)
		sbuf_puts(reply, "ok");
	return 0;
}

/* ---- the TCP side ---- */

struct ctl_write {
	uv_write_t req;
	struct ctl_client *c;
	bool quit;
	char data[];
};

static void client_closed(uv_handle_t *h)
{
	struct ctl_client *c = h->data;
	struct sim *s = c->sim;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->ctl.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sbuf_free(&c->in);
	free(c);
}

static void client_close(struct ctl_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void on_reply_written(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct sim *s = w->c->sim;
	bool quit = w->quit;

	(void)status;
	free(w);
	if (quit && !s->stopping)
		sim_stop(s);
}

static void client_reply(struct ctl_client *c, const struct sbuf *r, bool quit)
{
	struct ctl_write *w = malloc(sizeof(*w) + r->len + 1);
	uv_buf_t buf;

	if (!w) {
		client_close(c);
		return;
	}
	w->c = c;
	w->quit = quit;
	memcpy(w->data, r->p ? r->p : "", r->len);
	w->data[r->len] = '\n';
	buf = uv_buf_init(w->data, (unsigned)r->len + 1);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_reply_written) < 0) {
		free(w);
		if (quit)
			sim_stop(c->sim);
		else
			client_close(c);
	}
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char b[4096];

	(void)h;
	(void)suggested;
	buf->base = b;
	buf->len = sizeof(b);
}

static void ctl_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_client *c = st->data;
	struct sim *s = c->sim;
	struct sbuf reply;
	char *nl;

	if (n < 0) {
		client_close(c);
		return;
	}
	sbuf_add(&c->in, buf->base, (size_t)n);
	sbuf_init(&reply);
	while (!c->closing && !s->stopping && c->in.len) {
		size_t len;
		int rc = 0;

		nl = memchr(c->in.p, '\n', c->in.len);
		if (!nl) {
			/* Too long already: drop what came and skip to the end
			 * of the line (answered once, when it ends). */
			if (c->in.len > LINE_MAX_LEN + 1) {
				c->skipping = true;
				sbuf_reset(&c->in);
			}
			break;
		}
		*nl = '\0';
		len = (size_t)(nl - c->in.p);
		if (len && c->in.p[len - 1] == '\r')
			len--;
		sbuf_reset(&reply);
		if (c->skipping || len > LINE_MAX_LEN) {
			sim_log(s, "control: a line longer than %d bytes refused", LINE_MAX_LEN);
			sbuf_puts(&reply, "error line too long");
			c->skipping = false;
		} else {
			sim_log(s, "control: %s", c->in.p);
			rc = ctl_exec(s, c->in.p, &reply, false);
		}
		sbuf_consume(&c->in, (size_t)(nl - c->in.p) + 1);
		client_reply(c, &reply, rc == 2);
		if (rc == 2) {
			uv_read_stop(st);
			break;
		}
	}
	sbuf_free(&reply);
	if (!c->closing && !sbuf_ok(&c->in))
		client_close(c);
}

static void on_ctl_connection(uv_stream_t *server, int status)
{
	struct sim *s = server->data;
	struct ctl_client *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->sim = s;
	sbuf_init(&c->in);
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->next = s->ctl.clients;
	if (c->next)
		c->next->prev = c;
	s->ctl.clients = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		client_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, ctl_alloc, ctl_read);
}

int control_start(struct sim *s, const char *bind, int port, int *bound)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	int err;

	err = uv_tcp_init(s->loop, &s->ctl.server);
	if (err)
		return err;
	s->ctl.server.data = s;
	s->ctl.listening = true;
	if (strchr(bind, ':'))
		err = uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&ss);
	else
		err = uv_ip4_addr(bind, port, (struct sockaddr_in *)&ss);
	if (!err)
		err = uv_tcp_bind(&s->ctl.server, (struct sockaddr *)&ss, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&s->ctl.server, 16, on_ctl_connection);
	if (!err)
		err = uv_tcp_getsockname(&s->ctl.server, (struct sockaddr *)&ss, &sl);
	if (err)
		return err;
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void control_close(struct sim *s)
{
	for (struct ctl_client *c = s->ctl.clients; c; c = c->next)
		client_close(c);
	if (s->ctl.listening && !uv_is_closing((uv_handle_t *)&s->ctl.server))
		uv_close((uv_handle_t *)&s->ctl.server, NULL);
}
