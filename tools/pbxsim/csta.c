/* tools/pbxsim/csta.c - CSTA links, output, keep-alive and faults (see csta.h). */
#include "csta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A frame started but not finished within this time ends the link. */
#define PARTIAL_TIMEOUT_MS 5000
/* A client that lets this much output pile up is not reading: drop it. */
#define OUT_LIMIT	   (64u * 1024 * 1024)
#define HOUSE_MS	   250

static const char *const namespaces[] = {
	"http://www.ecma-international.org/standards/ecma-323/csta/ed3",
	"http://www.ecma-international.org/standards/ecma-323/csta/ed4",
	"http://www.ecma-international.org/standards/ecma-323/csta/ed5",
};

const char *csta_ns(const struct sim *s)
{
	int e = s->o.edition;

	return namespaces[(e >= 3 && e <= 5) ? e - 3 : 0];
}

static char rbuf[65536];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

static void on_closed(uv_handle_t *h)
{
	struct link *l = h->data;
	struct sim *s = l->sim;

	if (l->prev)
		l->prev->next = l->next;
	else
		s->csta.links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	frame_rd_free(&l->rd);
	sbuf_free(&l->out);
	sbuf_free(&l->inflight);
	free(l);
}

void monitor_free(struct sim *s, struct monitor *m)
{
	struct monitor **pp;

	for (pp = &m->dev->mons; *pp; pp = &(*pp)->dnext) {
		if (*pp == m) {
			*pp = m->dnext;
			break;
		}
	}
	for (pp = &m->link->mons; *pp; pp = &(*pp)->lnext) {
		if (*pp == m) {
			*pp = m->lnext;
			break;
		}
	}
	s->csta.nmons--;
	free(m);
}

void link_close(struct link *l, const char *why)
{
	struct sim *s = l->sim;

	if (l->closing)
		return;
	l->closing = true;
	sim_log(s, "csta: link %s closed: %s", l->peer, why);
	while (l->mons)
		monitor_free(s, l->mons);
	if (l->sink)
		return;
	uv_read_stop((uv_stream_t *)&l->tcp);
	uv_close((uv_handle_t *)&l->tcp, on_closed);
}

static void link_flush(struct link *l);

static void on_written(uv_write_t *req, int status)
{
	struct link *l = req->data;

	l->writing = false;
	sbuf_reset(&l->inflight);
	if (l->closing)
		return;
	if (status < 0) {
		link_close(l, uv_strerror(status));
		return;
	}
	link_flush(l);
}

static void link_flush(struct link *l)
{
	struct sbuf t;
	uv_buf_t buf;
	int err;

	if (l->writing || l->hold || l->closing || l->fail || l->sim->csta.stalled ||
	    l->out.len == 0)
		return;
	if (l->sink) {
		sbuf_reset(&l->out);
		return;
	}
	t = l->inflight;
	l->inflight = l->out;
	l->out = t;
	sbuf_reset(&l->out);
	buf = uv_buf_init(l->inflight.p, (unsigned)l->inflight.len);
	l->wreq.data = l;
	err = uv_write(&l->wreq, (uv_stream_t *)&l->tcp, &buf, 1, on_written);
	if (err < 0) {
		l->fail = "write failed";
		sbuf_reset(&l->inflight);
		return;
	}
	l->writing = true;
}

static bool link_queue(struct link *l, const char invoke[4], const char *xml, size_t len,
		       bool reply)
{
	struct sim *s = l->sim;

	if (l->closing || l->fail)
		return false;
	if (reply && l->hold) {
		/* In front of the events this request caused. */
		struct sbuf f;

		sbuf_init(&f);
		frame_write(&f, invoke, xml, len);
		if (sbuf_ok(&f)) {
			sbuf_insert(&l->out, l->hold_off, f.p, f.len);
			l->hold_off += f.len;
		}
		sbuf_free(&f);
	} else {
		frame_write(&l->out, invoke, xml, len);
	}
	s->csta.sent++;
	sim_log_doc(s, '>', invoke, xml, len);
	if (!sbuf_ok(&l->out) || l->out.len > OUT_LIMIT) {
		/* Not closed here: this may run inside an event fan-out over
		 * this link's monitors. */
		l->fail = "output not read by the client";
		sbuf_free(&l->out);
		return false;
	}
	link_flush(l);
	return true;
}

bool link_send(struct link *l, const char invoke[4], const char *xml, size_t len)
{
	return link_queue(l, invoke, xml, len, false);
}

void link_send_doc(struct link *l, const char invoke[4], const char *name, const char *body)
{
	struct sbuf d;

	sbuf_init(&d);
	sbuf_printf(&d, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><%s xmlns=\"%s\">%s</%s>", name,
		    csta_ns(l->sim), body, name);
	if (sbuf_ok(&d))
		link_queue(l, invoke, d.p, d.len, true);
	sbuf_free(&d);
}

static int on_frame(void *ud, const char invoke[4], const char *xml, size_t len)
{
	struct link *l = ud;
	struct sim *s = l->sim;

	if (l->closing)
		return -ECANCELED;
	s->csta.received++;
	l->frames_in++;
	sim_log_doc(s, '<', invoke, xml, len);
	l->hold = true;
	l->hold_off = l->out.len;
	svc_handle(l, invoke, xml, len);
	l->hold = false;
	if (l->closing || s->stopping)
		return -ECANCELED;
	link_flush(l);
	return 0;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct link *l = st->data;

	if (n < 0) {
		link_close(l, n == UV_EOF ? "closed by the client" : uv_strerror((int)n));
		return;
	}
	link_input(l, buf->base, (size_t)n);
}

void link_input(struct link *l, const void *data, size_t n)
{
	int err;

	uint64_t before = l->frames_in;

	if (n == 0 || l->closing)
		return;
	err = frame_feed(&l->rd, data, n, on_frame, l);
	if (err == -EPROTO) {
		link_close(l, "framing error (bad length or invoke id)");
		return;
	}
	if (err == -ENOMEM) {
		link_close(l, "out of memory");
		return;
	}
	if (l->closing)
		return;
	/* The time limit is per frame: a stream that keeps completing frames
	 * is not slow even if every read ends inside the next one. */
	if (frame_pending(&l->rd) == 0)
		l->partial_since = 0;
	else if (l->partial_since == 0 || l->frames_in != before)
		l->partial_since = uv_now(l->sim->loop);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct sim *s = server->data;
	struct link *l;
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	if (status < 0)
		return;
	l = calloc(1, sizeof(*l));
	if (!l)
		return;
	l->sim = s;
	frame_rd_init(&l->rd, FRAME_MAX_DEFAULT);
	sbuf_init(&l->out);
	sbuf_init(&l->inflight);
	uv_tcp_init(s->loop, &l->tcp);
	l->tcp.data = l;
	l->next = s->csta.links;
	if (l->next)
		l->next->prev = l;
	s->csta.links = l;
	l->last_ka = uv_now(s->loop);
	if (uv_accept(server, (uv_stream_t *)&l->tcp) < 0) {
		link_close(l, "accept failed");
		return;
	}
	uv_tcp_nodelay(&l->tcp, 1);
	snprintf(l->peer, sizeof(l->peer), "?");
	if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		char ip[48] = "?";
		int port = 0;

		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			uv_ip4_name(a, ip, sizeof(ip));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			uv_ip6_name(a, ip, sizeof(ip));
			port = ntohs(a->sin6_port);
		}
		snprintf(l->peer, sizeof(l->peer), "%s:%d", ip, port);
	}
	sim_log(s, "csta: link %s connected", l->peer);
	if (!s->csta.stalled)
		uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
}

static void send_keepalive(struct link *l, uint64_t now)
{
	struct sim *s = l->sim;

	l->next_invoke = l->next_invoke % 9998 + 1;
	snprintf(l->ka_invoke, sizeof(l->ka_invoke), "%04u", l->next_invoke);
	l->ka_sent = now;
	l->last_ka = now;
	link_send_doc(l, l->ka_invoke, "SystemStatus", "<systemStatus>normal</systemStatus>");
	(void)s;
}

static void on_house(uv_timer_t *t)
{
	struct sim *s = t->data;
	uint64_t now = uv_now(s->loop);
	uint64_t ka = (uint64_t)s->o.keepalive_s * 1000;

	for (struct link *l = s->csta.links, *n; l; l = n) {
		n = l->next;
		if (l->closing)
			continue;
		if (l->fail) {
			link_close(l, l->fail);
			continue;
		}
		if (s->csta.stalled)
			continue;
		if (s->o.require_session && l->session && now >= l->session_expires) {
			link_close(l,
				   "application session expired (no ResetApplicationSessionTimer)");
			continue;
		}
		if (l->partial_since && now - l->partial_since > PARTIAL_TIMEOUT_MS) {
			link_close(l, "incomplete frame not finished in time (slow input)");
			continue;
		}
		if (!ka)
			continue;
		if (l->ka_sent && now - l->ka_sent > ka) {
			link_close(l, "keep-alive SystemStatus not answered");
			continue;
		}
		if (!l->ka_sent && now - l->last_ka >= ka)
			send_keepalive(l, now);
	}
}

int csta_start(struct sim *s, const char *bind, int port, int *bound)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	int err;

	s->csta.monitor_limited = s->o.monitor_limit >= 0;
	s->csta.monitor_limit = s->o.monitor_limit >= 0 ? (size_t)s->o.monitor_limit : 0;
	s->csta.server.data = s;
	err = uv_tcp_init(s->loop, &s->csta.server);
	if (err)
		return err;
	err = uv_timer_init(s->loop, &s->csta.house);
	if (err)
		return err;
	s->csta.house.data = s;
	if (strchr(bind, ':'))
		err = uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&ss);
	else
		err = uv_ip4_addr(bind, port, (struct sockaddr_in *)&ss);
	if (!err)
		err = uv_tcp_bind(&s->csta.server, (struct sockaddr *)&ss, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&s->csta.server, 256, on_connection);
	if (!err)
		err = uv_tcp_getsockname(&s->csta.server, (struct sockaddr *)&ss, &sl);
	if (err)
		return err;
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	uv_timer_start(&s->csta.house, on_house, HOUSE_MS, HOUSE_MS);
	return 0;
}

void csta_close(struct sim *s)
{
	for (struct link *l = s->csta.links; l; l = l->next)
		link_close(l, "pbxsim stops");
	if (uv_is_active((uv_handle_t *)&s->csta.house) || s->csta.house.data)
		uv_timer_stop(&s->csta.house);
	if (s->csta.house.loop && !uv_is_closing((uv_handle_t *)&s->csta.house))
		uv_close((uv_handle_t *)&s->csta.house, NULL);
	if (s->csta.server.loop && !uv_is_closing((uv_handle_t *)&s->csta.server))
		uv_close((uv_handle_t *)&s->csta.server, NULL);
}

void csta_fault_drop(struct sim *s)
{
	for (struct link *l = s->csta.links; l; l = l->next)
		link_close(l, "fault drop");
}

static uint32_t stall_gen;

static void stall_end(struct sim *s, const struct sched_ent *e)
{
	uint64_t now = uv_now(s->loop);

	if (e->arg != stall_gen)
		return;
	s->csta.stalled = false;
	sim_log(s, "csta: stall ends");
	/* The stall is not the client's fault: its session time runs on after. */
	for (struct link *l = s->csta.links; l; l = l->next)
		l->session_expires += now - s->csta.stall_started;
	for (struct link *l = s->csta.links; l; l = l->next) {
		if (l->closing)
			continue;
		uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
		if (l->partial_since)
			l->partial_since = now;
		if (l->ka_sent)
			l->ka_sent = now;
		l->last_ka = now;
		link_flush(l);
	}
}

int csta_fault_stall(struct sim *s, uint64_t ms)
{
	if (!s->csta.stalled)
		s->csta.stall_started = uv_now(s->loop);
	s->csta.stalled = true;
	stall_gen++;
	sim_log(s, "csta: stall for %llu ms", (unsigned long long)ms);
	for (struct link *l = s->csta.links; l; l = l->next) {
		if (!l->closing)
			uv_read_stop((uv_stream_t *)&l->tcp);
	}
	return sched_add(s, ms, stall_end, 0, stall_gen, NULL);
}

void csta_fault_garbage(struct sim *s)
{
	struct sbuf d;

	sbuf_init(&d);
	sbuf_printf(&d,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeliveredEvent xmlns=\"%s\">"
		    "<monitorCrossRefID>1</monitorCrossRefID><connection><callID>&broken;<</",
		    csta_ns(s));
	for (struct link *l = s->csta.links; l; l = l->next) {
		if (!l->closing && sbuf_ok(&d))
			link_send(l, "9999", d.p, d.len);
	}
	sbuf_free(&d);
}

void csta_fault_oversize(struct sim *s)
{
	/* A header announcing 2 MiB + 8, then the start of a document; the
	 * rest never comes. A client must refuse the frame by its header. */
	static const unsigned char hdr[] = {0x00, 0x20, 0x00, 0x08, '9', '9', '9', '9'};
	static const char start[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeliveredEvent>";

	for (struct link *l = s->csta.links; l; l = l->next) {
		if (l->closing || l->fail)
			continue;
		sbuf_add(&l->out, hdr, sizeof(hdr));
		sbuf_add(&l->out, start, sizeof(start) - 1);
		s->csta.sent++;
		sim_log(s, "csta: > 9999 (oversized frame header: 2097160 bytes announced)");
		link_flush(l);
	}
}
