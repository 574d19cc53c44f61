/* tools/pbxsim/events.c - event building and fan-out (see events.h). */
#include "events.h"

#include <string.h>

#include "sim.h"

struct sbuf *ev_begin(struct sim *s, struct ev *e, const char *type, struct call *call,
		      const char *cause)
{
	(void)s;
	e->type = type;
	e->call = call;
	e->nextra = 0;
	e->only = NULL;
	e->no_lci = false;
	e->cause = cause;
	sbuf_reset(&e->body);
	return &e->body;
}

void ev_extra(struct ev *e, struct device *d)
{
	if (e->nextra < (int)(sizeof(e->extra) / sizeof(e->extra[0])))
		e->extra[e->nextra++] = d;
}

void ev_conn(struct sbuf *b, const char *name, const char *callid, const char *dev)
{
	sbuf_printf(b, "<%s><callID>%s</callID><deviceID>", name, callid);
	sbuf_xml(b, dev);
	sbuf_printf(b, "</deviceID></%s>", name);
}

void ev_dev(struct sbuf *b, const char *name, const char *num)
{
	if (!num || !num[0]) {
		sbuf_printf(b, "<%s><notKnown/></%s>", name, name);
		return;
	}
	if (!strcmp(num, ANONYMOUS)) { /* the caller withheld her number (CLIR) */
		sbuf_printf(b, "<%s><restricted/></%s>", name, name);
		return;
	}
	sbuf_printf(b, "<%s><deviceIdentifier>", name);
	sbuf_xml(b, num);
	sbuf_printf(b, "</deviceIdentifier></%s>", name);
}

void ev_redir(struct sbuf *b, const char *num)
{
	if (!num || !num[0])
		sbuf_puts(b, "<lastRedirectionDevice><notRequired/></lastRedirectionDevice>");
	else
		ev_dev(b, "lastRedirectionDevice", num);
}

bool ev_wanted(struct call *c, struct device *extra)
{
	if (extra && extra->mons)
		return true;
	if (!c)
		return false;
	for (struct conn *x = c->conns; x; x = x->cnext) {
		if (x->dev->mons)
			return true;
	}
	return false;
}

static void send_to(struct sim *s, struct ev *e, struct device *d)
{
	const char *lci = "null";
	struct sbuf *o = &s->scratch;

	if (!d->mons)
		return;
	/* "fault lose": a PBX that drops events (it says messagesLost later,
	 * when told to with "fault systemstatus messagesLost"). */
	if (s->csta.lose_until && uv_now(s->loop) < s->csta.lose_until) {
		for (struct monitor *m = d->mons; m; m = m->dnext)
			s->csta.lost++;
		return;
	}
	if (e->call) {
		struct conn *x = call_conn_of(e->call, d);

		if (x)
			lci = cstate_name(x->st);
	}
	for (struct monitor *m = d->mons; m; m = m->dnext) {
		sbuf_reset(o);
		sbuf_printf(o,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><%s xmlns=\"%s\">"
			    "<monitorCrossRefID>%s</monitorCrossRefID>",
			    e->type, csta_ns(s), m->idstr);
		sbuf_add(o, e->body.p, e->body.len);
		if (!e->no_lci && !s->o.no_lci)
			sbuf_printf(o, "<localConnectionInfo>%s</localConnectionInfo>", lci);
		if (e->cause)
			sbuf_printf(o, "<cause>%s</cause>", e->cause);
		sbuf_printf(o, "</%s>", e->type);
		if (!sbuf_ok(o))
			continue;
		if (link_send(m->link, "9999", o->p, o->len))
			s->csta.events++;
	}
}

void ev_emit(struct sim *s, struct ev *e)
{
	if (!sbuf_ok(&e->body))
		return;
	if (e->only) {
		send_to(s, e, e->only);
		return;
	}
	if (e->call) {
		for (struct conn *x = e->call->conns; x; x = x->cnext)
			send_to(s, e, x->dev);
	}
	for (int i = 0; i < e->nextra; i++) {
		if (!e->call || !call_conn_of(e->call, e->extra[i]))
			send_to(s, e, e->extra[i]);
	}
}
