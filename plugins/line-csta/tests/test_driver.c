/*
 * plugins/line-csta/tests/test_driver.c - the whole driver (plugin.c and
 * everything it links) on a host the test makes by hand: a fake line
 * manager that writes down every call it gets, a fake network whose
 * connections are the test's PBX side (what the driver sends is decoded
 * here, what the PBX says is framed and fed in), and a clock the test
 * moves. The configuration goes through the core's real validator with the
 * plugin's key table.
 *
 * It walks the life of a link: connect, MonitorStart per device, OPEN,
 * snapshot, events to call_event with numbers as given, requests to CSTA
 * and their answers (positive, CSTA error, timeout) to request_done, the
 * monitor limit, keep-alive both ways, malformed documents (dropped, link
 * kept), a bad frame (link dropped), the keep-alive timeout, reconnect with
 * back-off, re-monitor and resync; the application session with
 * credentials; lines on demand; close; status. Then the cases of one small
 * link: line_resync before re-snapshots, long, cut, simple-state, failing
 * snapshots and their retries, DivertedEvent states, open() of an open
 * line, MonitorStart edge cases, when the back-off starts again, requests
 * refused at once, and a manager that calls back and moves the devices.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>
#include <ucs/line.h>

#include "check.h"
#include "config.h"
#include "csta_codec.h"
#include "log.h"

const struct ucs_plugin_desc *ucs_plugin_descriptor(void);

/* ---- journal: everything the driver told the host, one line each ---- */

static char journal[1 << 16];

static void note(const char *fmt, ...) UCS_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
	size_t used = strlen(journal);
	va_list ap;

	if (used + 512 >= sizeof(journal))
		return;
	va_start(ap, fmt);
	vsnprintf(journal + used, sizeof(journal) - used - 1, fmt, ap);
	va_end(ap);
	strcat(journal, "\n");
}

static int noted(const char *needle)
{
	return strstr(journal, needle) != NULL;
}

static int count_noted(const char *needle)
{
	int n = 0;

	for (const char *p = journal; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* ---- log ---- */

static char logtext[1 << 16];

static void mlogv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	size_t used = strlen(logtext);

	(void)self;
	if (used + 1024 >= sizeof(logtext))
		return;
	used += (size_t)snprintf(logtext + used, sizeof(logtext) - used, "%s: ", names[level]);
	vsnprintf(logtext + used, sizeof(logtext) - used - 1, fmt, ap);
	strcat(logtext, "\n");
}

static void mlog(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlogv(self, level, fmt, ap);
	va_end(ap);
}

static int menabled(struct ucs_plugin *self, enum ucs_log_level level)
{
	(void)self, (void)level;
	return 1;
}

static const struct ucs_log_api log_api = {sizeof(log_api), mlog, mlogv, menabled};

/* ---- clock and timers ---- */

struct ucs_timer {
	ucs_timer_h *h;
	void *arg;
	uint64_t due, repeat;
	int active, closed;
};

static uint64_t now;
static struct ucs_timer *timers[64];
static size_t ntimers;

static int t_open(struct ucs_plugin *self, struct ucs_timer **out, ucs_timer_h *h, void *arg)
{
	struct ucs_timer *t = calloc(1, sizeof(*t));

	(void)self;
	t->h = h;
	t->arg = arg;
	timers[ntimers++] = t;
	*out = t;
	return 0;
}

static int t_start(struct ucs_timer *t, uint64_t timeout, uint64_t repeat)
{
	t->due = now + timeout;
	t->repeat = repeat;
	t->active = 1;
	return 0;
}

static void t_stop(struct ucs_timer *t)
{
	t->active = 0;
}

static int t_active(const struct ucs_timer *t)
{
	return t->active;
}

static void t_close(struct ucs_timer *t)
{
	if (t) {
		t->active = 0;
		t->closed = 1;
	}
}

static uint64_t t_now(void)
{
	return now;
}

static const struct ucs_timer_api timer_api = {
	.size = sizeof(timer_api),
	.open = t_open,
	.start = t_start,
	.stop = t_stop,
	.active = t_active,
	.close = t_close,
	.now_ms = t_now,
};

/* Moves the clock, firing what comes due in order. */
static void advance(uint64_t ms)
{
	uint64_t end = now + ms;

	for (;;) {
		struct ucs_timer *next = NULL;

		for (size_t i = 0; i < ntimers; i++)
			if (timers[i]->active && timers[i]->due <= end &&
			    (!next || timers[i]->due < next->due))
				next = timers[i];
		if (!next)
			break;
		now = next->due;
		if (next->repeat)
			next->due += next->repeat;
		else
			next->active = 0;
		next->h(next, next->arg);
	}
	now = end;
}

/* The delay of the one armed one-shot timer (the reconnect), or -1. */
static int64_t armed_oneshot(void)
{
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i]->active && !timers[i]->repeat)
			return (int64_t)(timers[i]->due - now);
	return -1;
}

/* ---- network: each connection is the test's PBX ---- */

struct ucs_conn {
	int port;
	const struct ucs_conn_handlers *h;
	void *arg;
	int closed;
	uint8_t *out;
	size_t outlen, outcap, read; /* what the driver sent; read: consumed by the test */
};

static struct ucs_conn *conns[64];
static size_t nconns;
static int connect_fail;

static int n_connect(struct ucs_plugin *self, struct ucs_conn **out,
		     const struct ucs_connect_opts *o, const struct ucs_conn_handlers *h, void *arg)
{
	struct ucs_conn *c;

	(void)self;
	note("connect %s:%u tls=%d ca=%s", o->host, o->port, o->tls, o->ca_file ? o->ca_file : "-");
	if (connect_fail)
		return -ECONNREFUSED;
	c = calloc(1, sizeof(*c));
	c->port = o->port;
	c->h = h;
	c->arg = arg;
	conns[nconns++] = c;
	*out = c;
	return 0;
}

static int n_send(struct ucs_conn *c, const void *data, size_t len)
{
	if (c->closed)
		abort();
	if (c->outlen + len > c->outcap) {
		c->outcap = (c->outlen + len) * 2;
		c->out = realloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	return 0;
}

static void n_close(struct ucs_conn *c)
{
	note("close %d", c->port);
	c->closed = 1;
}

static int n_is_tls(const struct ucs_conn *c)
{
	(void)c;
	return 0;
}

static const struct ucs_net_api net_api = {
	.size = sizeof(net_api),
	.connect = n_connect,
	.send = n_send,
	.close = n_close,
	.is_tls = n_is_tls,
};

/* The newest connection to port. */
static struct ucs_conn *conn_to(int port)
{
	for (size_t i = nconns; i-- > 0;)
		if (conns[i]->port == port)
			return conns[i];
	return NULL;
}

/* The next document the driver sent on c: its invoke id and text; 0 when
 * there is none. */
static int next_sent(struct ucs_conn *c, int *invoke, char *xml, size_t cap)
{
	size_t total;

	if (c->outlen - c->read < 8)
		return 0;
	if (csta_header_parse(c->out + c->read, 1 << 20, &total, invoke))
		abort();
	if (c->outlen - c->read < total)
		abort();
	snprintf(xml, cap, "%.*s", (int)(total - 8), (const char *)c->out + c->read + 8);
	c->read += total;
	return 1;
}

static void feed(struct ucs_conn *c, int invoke, const char *fmt, ...) UCS_PRINTF(3, 4);

/*
 * After every open the driver asks for the device's forwarding and DND
 * state. Unless a test looks at them, the PBX answers them by itself:
 * forwarding on busy to 0891111, immediate and no-answer off, DND off.
 */
static int auto_features = 1;

static int auto_answer(struct ucs_conn *c, int invoke, const char *xml, const char *expected)
{
	if (!auto_features || !strcmp(expected, "GetForwarding") ||
	    !strcmp(expected, "GetDoNotDisturb"))
		return 0;
	if (strstr(xml, "<GetForwarding ")) {
		feed(c, invoke,
		     "<GetForwardingResponse xmlns=\"" CSTA_NS_ED3 "\"><forwardingList>"
		     "<forwardListItem><forwardingType>forwardImmediate</forwardingType>"
		     "<forwardStatus>false</forwardStatus></forwardListItem><forwardListItem>"
		     "<forwardingType>forwardBusy</forwardingType><forwardStatus>true"
		     "</forwardStatus><forwardDN>0891111</forwardDN></forwardListItem>"
		     "</forwardingList></GetForwardingResponse>");
		return 1;
	}
	if (strstr(xml, "<GetDoNotDisturb ")) {
		feed(c, invoke,
		     "<GetDoNotDisturbResponse xmlns=\"" CSTA_NS_ED3 "\"><doNotDisturbOn>false"
		     "</doNotDisturbOn></GetDoNotDisturbResponse>");
		return 1;
	}
	return 0;
}

/* Takes the next document sent, which must be a `name`; its invoke id. */
static int expect(struct ucs_conn *c, const char *name, char *xml, size_t cap)
{
	char buf[8192], tag[80];
	int invoke = 0;

	snprintf(tag, sizeof(tag), "<%s ", name);
	do {
		if (!next_sent(c, &invoke, buf, sizeof(buf))) {
			fprintf(stderr, "expected %s, nothing was sent\n", name);
			check_failures++;
			return -1;
		}
	} while (auto_answer(c, invoke, buf, name));
	if (!strstr(buf, tag)) {
		fprintf(stderr, "expected %s, got %s\n", name, buf);
		check_failures++;
		return -1;
	}
	if (xml)
		snprintf(xml, cap, "%s", buf);
	return invoke;
}

/* Nothing sent, once the automatic answers are given. */
static int nothing_sent(struct ucs_conn *c)
{
	char buf[8192];
	int invoke;

	while (c->outlen != c->read) {
		size_t at = c->read;

		if (!next_sent(c, &invoke, buf, sizeof(buf)) || !auto_answer(c, invoke, buf, "")) {
			c->read = at;
			return 0;
		}
	}
	return 1;
}

static void feed(struct ucs_conn *c, int invoke, const char *fmt, ...)
{
	uint8_t *frame;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	frame = malloc((size_t)n + 9);
	va_start(ap, fmt);
	vsnprintf((char *)frame + 8, (size_t)n + 1, fmt, ap);
	va_end(ap);
	csta_header_write(frame, (size_t)n, invoke);
	c->h->on_data(c, frame, (size_t)n + 8, c->arg);
	free(frame);
}

#define NS	   "xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\""
#define NS_SESSION "xmlns=\"http://www.ecma-international.org/standards/ecma-354/appl_session\""

/* ---- the fake line manager ---- */

struct ucs_line_driver {
	const struct ucs_line_driver_ops *ops;
	void *ctx;
};

static struct ucs_line_driver the_driver;
static int driver_removed;

/*
 * A manager may call the driver back from any slot. The hook does what a
 * manager could: when a slot named `grow_on` is called, it asks for
 * grow_count new lines (line_wanted), enough to move the driver's device
 * array - a driver
 * that holds a device pointer across the call then uses freed memory (ASan
 * says so).
 */
static const char *grow_on;
static const char *grow_group;
static int grow_seq, grow_count = 64;

static void manager_calls_back(const char *slot)
{
	const char *group = grow_group;

	if (!grow_on || strcmp(grow_on, slot))
		return;
	grow_on = NULL;
	for (int i = 0; i < grow_count; i++) {
		char dev[16];

		snprintf(dev, sizeof(dev), "%d", 500 + grow_seq++);
		(void)the_driver.ops->line_wanted(the_driver.ctx, group, dev);
	}
}

/* Snapshot events are counted; quiet_events leaves them out of the journal. */
static int snapshot_events, quiet_events;

static int m_driver_add(struct ucs_plugin *self, const char *name,
			const struct ucs_line_driver_ops *ops, void *ctx,
			struct ucs_line_driver **out)
{
	(void)self;
	note("driver_add %s", name);
	the_driver.ops = ops;
	the_driver.ctx = ctx;
	*out = &the_driver;
	return 0;
}

static void m_driver_remove(struct ucs_line_driver *d)
{
	(void)d;
	note("driver_remove");
	driver_removed = 1;
}

static int m_group_add(struct ucs_line_driver *d, const struct ucs_line_group_desc *g)
{
	(void)d;
	note("group %s flags=%u caps=%llx location=%s", g->name, g->flags,
	     (unsigned long long)g->caps, g->location);
	return 0;
}

static int m_line_add(struct ucs_line_driver *d, const struct ucs_line_desc *l)
{
	(void)d;
	note("line %s device=%s group=%s", l->id.text, l->device.text, l->group);
	return 0;
}

static int m_line_remove(struct ucs_line_driver *d, const char *line)
{
	(void)d, (void)line;
	return 0;
}

static void m_line_status(struct ucs_line_driver *d, const char *line, int status,
			  const char *reason)
{
	(void)d;
	note("status %s %d '%s'", line, status, reason);
	manager_calls_back(status == UCS_LS_OPEN ? "status-open" : "status");
}

static void m_line_forwarding(struct ucs_line_driver *d, const char *line, int mode, int on,
			      const char *to)
{
	(void)d;
	note("forwarding %s mode=%d on=%d to=%s", line, mode, on, to);
	manager_calls_back("forwarding");
}

static void m_line_dnd(struct ucs_line_driver *d, const char *line, int on)
{
	(void)d;
	note("dnd %s %d", line, on);
}

static void m_call_event(struct ucs_line_driver *d, const struct ucs_line_call_event *ev)
{
	(void)d;
	if (ev->event == UCS_CE_SNAPSHOT)
		snapshot_events++;
	if (!quiet_events || ev->event != UCS_CE_SNAPSHOT)
		note("event %s ev=%d state=%d call=%s old=%s calling=%s called=%s connected=%s "
		     "redirecting=%s cause=%s",
		     ev->line.text, ev->event, ev->state, ev->call, ev->old_call, ev->calling,
		     ev->called, ev->connected, ev->redirecting, ev->cause);
	manager_calls_back(ev->event == UCS_CE_SNAPSHOT ? "snapshot" : "event");
}

static void m_line_synced(struct ucs_line_driver *d, const char *line)
{
	(void)d;
	note("synced %s", line);
}

static void m_line_resync(struct ucs_line_driver *d, const char *line)
{
	(void)d;
	note("resync %s", line);
	manager_calls_back("resync");
}

static void m_request_done(struct ucs_line_driver *d, uint64_t token, int status,
			   const char *reason, const char *call)
{
	(void)d;
	note("done %llu %d '%s' call=%s", (unsigned long long)token, status, reason, call);
}

static void m_driver_reinit(struct ucs_line_driver *d, const char *reason)
{
	(void)d;
	note("reinit %s", reason);
}

static const struct ucs_linemgr_api mgr = {
	.size = sizeof(mgr),
	.driver_add = m_driver_add,
	.driver_remove = m_driver_remove,
	.group_add = m_group_add,
	.line_add = m_line_add,
	.line_remove = m_line_remove,
	.line_status = m_line_status,
	.line_forwarding = m_line_forwarding,
	.line_dnd = m_line_dnd,
	.call_event = m_call_event,
	.line_synced = m_line_synced,
	.request_done = m_request_done,
	.driver_reinit = m_driver_reinit,
	.line_resync = m_line_resync,
};

static const void *s_get(struct ucs_plugin *self, const char *name, uint32_t min_version)
{
	(void)self;
	if (!strcmp(name, UCS_LINEMGR_SERVICE) && min_version <= UCS_LINEMGR_VERSION)
		return &mgr;
	return NULL;
}

static const struct ucs_service_api service_api = {.size = sizeof(service_api), .get = s_get};

/* ---- config through the core's validator ---- */

static struct core_config *config;
static const struct ucs_cfg *section;
static struct ucs_cfg_api cfg_api;

static const struct ucs_cfg *c_section(struct ucs_plugin *self)
{
	(void)self;
	return section;
}

static int load_config(const char *json)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	int err;

	if (config)
		core_config_free(config);
	config = NULL;
	err = core_config_load_text(&config, "test.json", json, strlen(json));
	if (!err)
		err = core_config_validate(config, "line-csta", d->config);
	section = err ? NULL : core_config_section(config, "line-csta");
	return err;
}

static struct ucs_host host;

static void make_host(void)
{
	cfg_api = core_cfg_api;
	cfg_api.section = c_section;
	host.size = sizeof(host);
	host.abi_major = UCS_ABI_MAJOR;
	host.abi_minor = UCS_ABI_MINOR;
	host.log = &log_api;
	host.timer = &timer_api;
	host.net = &net_api;
	host.service = &service_api;
	host.cfg = &cfg_api;
}

static void reset_world(void)
{
	for (size_t i = 0; i < nconns; i++) {
		free(conns[i]->out);
		free(conns[i]);
	}
	nconns = 0;
	for (size_t i = 0; i < ntimers; i++)
		free(timers[i]);
	ntimers = 0;
	journal[0] = logtext[0] = '\0';
	driver_removed = 0;
	connect_fail = 0;
	grow_on = NULL;
	grow_count = 64;
	snapshot_events = quiet_events = 0;
}

static const char *const config_main =
	"{\"line-csta\": {\"links\": ["
	"{\"name\": \"pbx1\", \"host\": \"127.0.0.1\", \"port\": 7001, \"location\": \"munich\","
	" \"devices\": [\"120-122\"], \"keepalive_s\": 10},"
	"{\"name\": \"pbx2\", \"host\": \"127.0.0.1\", \"port\": 7002, \"devices\": [\"auto\"],"
	" \"user\": \"cti\", \"password\": \"s3cret\"}],"
	" \"request_timeout_ms\": 1000, \"reconnect_min_ms\": 500, \"reconnect_max_ms\": 4000,"
	" \"max_frame_bytes\": 4096}}";

/* Opens the three devices of pbx1: MonitorStart answered with xrefs
 * 20, 21, 22 and empty snapshots; returns the connection. */
static struct ucs_conn *open_pbx1(void)
{
	struct ucs_conn *c = conn_to(7001);
	char xml[8192];
	int inv[3];

	c->h->on_connected(c, c->arg);
	for (int i = 0; i < 3; i++) {
		inv[i] = expect(c, "MonitorStart", xml, sizeof(xml));
		char want[64];

		snprintf(want, sizeof(want), "<deviceObject>12%d</deviceObject>", i);
		CHECK_CONTAINS(xml, want);
	}
	CHECK(nothing_sent(c));
	for (int i = 0; i < 3; i++)
		feed(c, inv[i],
		     "<MonitorStartResponse " NS "><monitorCrossRefID>2%d</monitorCrossRefID>"
		     "</MonitorStartResponse>",
		     i);
	for (int i = 0; i < 3; i++) {
		char want[64];
		int s = expect(c, "SnapshotDevice", xml, sizeof(xml));

		snprintf(want, sizeof(want), "<snapshotObject>12%d</snapshotObject>", i);
		CHECK_CONTAINS(xml, want);
		feed(c, s,
		     "<SnapshotDeviceResponse " NS "><crossRefIDorSnapshotData><snapshotData/>"
		     "</crossRefIDorSnapshotData></SnapshotDeviceResponse>");
	}
	return c;
}

static uint64_t token_seq = 100;

static int request(int op, const char *line, const char *call, const char *other,
		   const char *number, uint64_t *token)
{
	struct ucs_line_request rq = {.size = sizeof(rq), .op = op};

	snprintf(rq.line.text, sizeof(rq.line.text), "%s", line);
	snprintf(rq.call, sizeof(rq.call), "%s", call ? call : "");
	snprintf(rq.other_call, sizeof(rq.other_call), "%s", other ? other : "");
	snprintf(rq.number, sizeof(rq.number), "%s", number ? number : "");
	*token = ++token_seq;
	return the_driver.ops->request(the_driver.ctx, &rq, *token);
}

static char *status_of(void *state)
{
	static char buf[4096];

	ucs_plugin_descriptor()->status(state, buf, sizeof(buf));
	return buf;
}

/* ---- the life of a link ---- */

static void test_link_life(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	struct ucs_conn *c;
	void *state = NULL;
	char xml[8192], want[256];
	uint64_t tok;
	int inv;

	reset_world();
	CHECK_INT(load_config(config_main), ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK(noted("driver_add line-csta"));
	snprintf(want, sizeof(want), "group pbx1 flags=0 caps=%llx location=munich",
		 (unsigned long long)(((1ull << 21) - 1)));
	CHECK(noted(want));
	CHECK(noted("group pbx2 flags=1 caps="));
	CHECK(noted("line pbx1/120 device=120 group=pbx1"));
	CHECK(noted("line pbx1/122 device=122 group=pbx1"));
	CHECK_INT(count_noted("line pbx"), ==, 3);

	CHECK_INT(d->start(state), ==, 0);
	CHECK(noted("connect 127.0.0.1:7001 tls=0 ca=-"));
	CHECK(noted("connect 127.0.0.1:7002 tls=0"));

	/* --- opening: monitors, OPEN, snapshots, synced --- */
	journal[0] = '\0';
	c = open_pbx1();
	CHECK(noted("status pbx1/120 1 ''"));
	CHECK(noted("status pbx1/122 1 ''"));
	CHECK(noted("synced pbx1/120"));
	CHECK(noted("synced pbx1/121"));
	CHECK(noted("synced pbx1/122"));
	/* then the forwarding and DND state of each device (answered by auto_answer) */
	CHECK(nothing_sent(c));
	CHECK(noted("forwarding pbx1/120 mode=0 on=0 to=\n"));
	CHECK(noted("forwarding pbx1/120 mode=1 on=1 to=0891111\n"));
	CHECK(noted("forwarding pbx1/122 mode=2 on=0 to=\n"));
	CHECK(noted("dnd pbx1/121 0"));
	CHECK(noted("dnd pbx1/122 0"));
	CHECK_CONTAINS(logtext, "link pbx1: 3 of 3 devices monitored");
	CHECK_CONTAINS(status_of(state), "\"name\":\"pbx1\",\"state\":\"up\",\"connected\":true");
	CHECK_CONTAINS(status_of(state), "\"monitors\":3");

	/* --- events --- */
	journal[0] = '\0';
	feed(c, 9999,
	     "<DeliveredEvent " NS "><monitorCrossRefID>20</monitorCrossRefID>"
	     "<connection><callID>4711</callID><deviceID>120</deviceID></connection>"
	     "<alertingDevice><deviceIdentifier>120</deviceIdentifier></alertingDevice>"
	     "<callingDevice><deviceIdentifier>N&lt;+4989123456&gt;</deviceIdentifier>"
	     "</callingDevice><calledDevice><deviceIdentifier>120</deviceIdentifier></calledDevice>"
	     "<cause>newCall</cause></DeliveredEvent>");
	CHECK(noted("event pbx1/120 ev=3 state=2 call=4711 old= calling=+4989123456 called=120 "
		    "connected=120 redirecting= cause=newCall"));
	feed(c, 9999,
	     "<EstablishedEvent " NS "><monitorCrossRefID>20</monitorCrossRefID>"
	     "<establishedConnection><callID>4711</callID><deviceID>120</deviceID>"
	     "</establishedConnection><answeringDevice><deviceIdentifier>120</deviceIdentifier>"
	     "</answeringDevice><callingDevice><deviceIdentifier>0891234</deviceIdentifier>"
	     "</callingDevice></EstablishedEvent>");
	CHECK(noted("event pbx1/120 ev=4 state=3 call=4711 old= calling=0891234"));
	/* held without localConnectionInfo: the state comes from the holding device */
	feed(c, 9999,
	     "<HeldEvent " NS "><monitorCrossRefID>20</monitorCrossRefID><heldConnection>"
	     "<callID>4711</callID><deviceID>120</deviceID></heldConnection><holdingDevice>"
	     "<deviceIdentifier>120</deviceIdentifier></holdingDevice></HeldEvent>");
	CHECK(noted("event pbx1/120 ev=5 state=4 call=4711"));
	/* an event for a cross reference id that is not ours: dropped quietly */
	feed(c, 9999,
	     "<CallClearedEvent " NS "><monitorCrossRefID>99</monitorCrossRefID><clearedCall>"
	     "<callID>1</callID></clearedCall></CallClearedEvent>");
	CHECK(!noted("call=1 "));
	feed(c, 9999,
	     "<ForwardingEvent " NS "><monitorCrossRefID>21</monitorCrossRefID><device>"
	     "<deviceIdentifier>121</deviceIdentifier></device><forwardingType>forwardNoAns"
	     "</forwardingType><forwardStatus>true</forwardStatus><forwardTo><deviceIdentifier>"
	     "0891111</deviceIdentifier></forwardTo></ForwardingEvent>");
	CHECK(noted("forwarding pbx1/121 mode=2 on=1 to=0891111"));
	feed(c, 9999,
	     "<DoNotDisturbEvent " NS "><monitorCrossRefID>22</monitorCrossRefID><device>"
	     "<deviceIdentifier>122</deviceIdentifier></device><doNotDisturbOn>true"
	     "</doNotDisturbOn></DoNotDisturbEvent>");
	CHECK(noted("dnd pbx1/122 1"));
	feed(c, 9999,
	     "<OutOfServiceEvent " NS "><monitorCrossRefID>22</monitorCrossRefID><device>"
	     "<deviceIdentifier>122</deviceIdentifier></device></OutOfServiceEvent>");
	CHECK(noted("status pbx1/122 3 'out of service'"));
	feed(c, 9999,
	     "<BackInServiceEvent " NS "><monitorCrossRefID>22</monitorCrossRefID><device>"
	     "<deviceIdentifier>122</deviceIdentifier></device></BackInServiceEvent>");
	CHECK(noted("status pbx1/122 1 ''"));
	inv = expect(c, "SnapshotDevice", xml, sizeof(xml));
	feed(c, inv,
	     "<SnapshotDeviceResponse " NS "><crossRefIDorSnapshotData><snapshotData/>"
	     "</crossRefIDorSnapshotData></SnapshotDeviceResponse>");

	/* --- requests --- */
	journal[0] = '\0';
	CHECK_INT(request(UCS_OP_MAKE, "pbx1/121", NULL, NULL, "0891234567", &tok), ==, 0);
	inv = expect(c, "MakeCall", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<callingDevice>121</callingDevice>");
	CHECK_CONTAINS(xml, "<calledDirectoryNumber>0891234567</calledDirectoryNumber>");
	feed(c, inv,
	     "<MakeCallResponse " NS "><callingDevice><callID>12</callID><deviceID>121</deviceID>"
	     "</callingDevice></MakeCallResponse>");
	snprintf(want, sizeof(want), "done %llu 0 '' call=12", (unsigned long long)tok);
	CHECK(noted(want));

	CHECK_INT(request(UCS_OP_ANSWER, "pbx1/120", "77", NULL, NULL, &tok), ==, 0);
	inv = expect(c, "AnswerCall", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<callToBeAnswered><callID>77</callID><deviceID>120</deviceID>");
	feed(c, inv, "<CSTAErrorCode " NS "><operation>invalidCallID</operation></CSTAErrorCode>");
	snprintf(want, sizeof(want), "done %llu %d 'invalidCallID' call=", (unsigned long long)tok,
		 -EREMOTEIO);
	CHECK(noted(want));

	/* transfer: the held call is sent as heldCall whichever came first */
	CHECK_INT(request(UCS_OP_TRANSFER, "pbx1/120", "5000", "4711", NULL, &tok), ==, 0);
	inv = expect(c, "TransferCall", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<heldCall><callID>4711</callID>");
	CHECK_CONTAINS(xml, "<activeCall><callID>5000</callID>");
	feed(c, inv, "<TransferCallResponse " NS "/>");
	snprintf(want, sizeof(want), "done %llu 0 '' call=", (unsigned long long)tok);
	CHECK(noted(want));

	CHECK_INT(request(UCS_OP_TRANSFER, "pbx1/120", "4711", NULL, "130", &tok), ==, 0);
	inv = expect(c, "SingleStepTransferCall", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<transferredTo>130</transferredTo>");
	feed(c, inv, "<SingleStepTransferCallResponse " NS "/>");

	{
		struct ucs_line_request rq = {
			.size = sizeof(rq), .op = UCS_OP_FORWARD_SET, .mode = UCS_FWD_IMMEDIATE};

		snprintf(rq.line.text, sizeof(rq.line.text), "pbx1/122");
		snprintf(rq.number, sizeof(rq.number), "0891111");
		CHECK_INT(the_driver.ops->request(the_driver.ctx, &rq, 555), ==, 0);
		inv = expect(c, "SetForwarding", xml, sizeof(xml));
		CHECK_CONTAINS(xml, "<device>122</device><forwardingType>forwardImmediate"
				    "</forwardingType><activateForward>true</activateForward>"
				    "<forwardDN>0891111</forwardDN>");
		feed(c, inv, "<SetForwardingResponse " NS "/>");
		CHECK(noted("done 555 0 '' call="));
		rq.op = UCS_OP_DND_SET;
		rq.on = 1;
		CHECK_INT(the_driver.ops->request(the_driver.ctx, &rq, 556), ==, 0);
		inv = expect(c, "SetDoNotDisturb", xml, sizeof(xml));
		CHECK_CONTAINS(xml, "<doNotDisturbOn>true</doNotDisturbOn>");
		feed(c, inv, "<SetDoNotDisturbResponse " NS "/>");
		CHECK(noted("done 556 0 '' call="));
		rq.op = UCS_OP_REMOTE_OFFICE;
		CHECK_INT(the_driver.ops->request(the_driver.ctx, &rq, 557), ==, -ENOTSUP);
	}
	/* refused at once: unknown line, missing call, no request_done */
	CHECK_INT(request(UCS_OP_HOLD, "pbx1/999", "1", NULL, NULL, &tok), ==, -ENOENT);
	CHECK_INT(request(UCS_OP_HOLD, "nosuch/120", "1", NULL, NULL, &tok), ==, -ENOENT);
	CHECK_INT(request(UCS_OP_HOLD, "pbx1/120", "", NULL, NULL, &tok), ==, -EINVAL);
	CHECK(nothing_sent(c));

	/* a request the PBX never answers: -ETIMEDOUT after request_timeout_ms */
	CHECK_INT(request(UCS_OP_HOLD, "pbx1/120", "4711", NULL, NULL, &tok), ==, 0);
	inv = expect(c, "HoldCall", xml, sizeof(xml));
	advance(900);
	snprintf(want, sizeof(want), "done %llu %d", (unsigned long long)tok, -ETIMEDOUT);
	CHECK(!noted(want));
	advance(300);
	CHECK(noted(want));
	/* its late answer is complained about, nothing else */
	feed(c, inv, "<HoldCallResponse " NS "/>");
	CHECK_CONTAINS(logtext, "which is not outstanding");

	/* --- keep-alive both ways --- */
	journal[0] = '\0';
	feed(c, 4242, "<SystemStatus " NS "><systemStatus>normal</systemStatus></SystemStatus>");
	CHECK_INT(expect(c, "SystemStatusResponse", NULL, 0), ==, 4242);
	advance(10000 - 1200);
	inv = expect(c, "SystemStatus", xml, sizeof(xml));
	CHECK(inv > 0);
	feed(c, inv, "<SystemStatusResponse " NS "/>");
	advance(2000);
	CHECK(!noted("close 7001"));

	/* the PBX lost events: every open device is snapshot again */
	feed(c, 4243,
	     "<SystemStatus " NS "><systemStatus>messagesLost</systemStatus></SystemStatus>");
	CHECK_INT(expect(c, "SystemStatusResponse", NULL, 0), ==, 4243);
	CHECK_CONTAINS(logtext, "link pbx1: the PBX reports system status messagesLost");
	for (int i = 0; i < 3; i++) {
		inv = expect(c, "SnapshotDevice", NULL, 0);
		feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
	}
	CHECK(nothing_sent(c));
	feed(c, 4244, "<RequestSystemStatus " NS "/>");
	CHECK_INT(expect(c, "RequestSystemStatusResponse", xml, sizeof(xml)), ==, 4244);
	CHECK_CONTAINS(xml, "<systemStatus>normal</systemStatus>");
	feed(c, 4245,
	     "<SystemStatus " NS "><systemStatus>initializing</systemStatus></SystemStatus>");
	(void)expect(c, "SystemStatusResponse", NULL, 0);
	CHECK(noted("reinit PBX initializing"));

	/* --- malformed documents are dropped, the link stays --- */
	feed(c, 9999, "<DeliveredEvent " NS "><monitorCrossRefID>20</monitorCross");
	feed(c, 9999, "<DeliveredEvent xmlns=\"urn:x\"/>");
	CHECK_CONTAINS(logtext, "malformed document dropped (not well-formed XML");
	CHECK_CONTAINS(logtext, "malformed document dropped (foreign namespace");
	CHECK(!noted("close 7001"));
	CHECK_CONTAINS(status_of(state), "\"errors\":");

	/* --- a request outstanding when the link breaks: -ENETDOWN --- */
	CHECK_INT(request(UCS_OP_RETRIEVE, "pbx1/120", "4711", NULL, NULL, &tok), ==, 0);
	(void)expect(c, "RetrieveCall", NULL, 0);

	/* --- a frame error drops the link: every line NOT_AVAILABLE at once --- */
	journal[0] = '\0';
	{
		uint8_t hdr[8];

		csta_header_write(hdr, 2 * 1024 * 1024, 9999);
		c->h->on_data(c, hdr, 8, c->arg);
	}
	CHECK(noted("close 7001"));
	CHECK(noted("status pbx1/120 4 'communication error'"));
	CHECK(noted("status pbx1/121 4 'communication error'"));
	CHECK(noted("status pbx1/122 4 'communication error'"));
	snprintf(want, sizeof(want), "done %llu %d 'link to the PBX lost'", (unsigned long long)tok,
		 -ENETDOWN);
	CHECK(noted(want));
	CHECK_CONTAINS(logtext, "frame error: a frame larger than max_frame_bytes");
	CHECK_CONTAINS(logtext, "link pbx1: connection lost (frame error");
	CHECK_CONTAINS(status_of(state),
		       "\"name\":\"pbx1\",\"state\":\"down\",\"connected\":false");
	CHECK_INT(request(UCS_OP_HOLD, "pbx1/120", "4711", NULL, NULL, &tok), ==, -ENETDOWN);

	/* --- reconnect after the back-off (a stable link: from the start, with
	 * jitter within [min, 1.5 min]) --- */
	{
		int64_t delay = armed_oneshot();

		CHECK(delay >= 500 && delay <= 750);
		journal[0] = '\0';
		advance((uint64_t)delay);
		CHECK(noted("connect 127.0.0.1:7001"));
	}
	/* this time a call went on across the outage: the snapshot names it */
	c = conn_to(7001);
	c->h->on_connected(c, c->arg);
	for (int i = 0; i < 3; i++) {
		inv = expect(c, "MonitorStart", NULL, 0);
		if (i == 2)
			feed(c, inv,
			     "<CSTAErrorCode " NS "><systemResourceAvailability>"
			     "overallMonitorLimitExceeded</systemResourceAvailability>"
			     "</CSTAErrorCode>");
		else
			feed(c, inv,
			     "<MonitorStartResponse " NS "><monitorCrossRefID>3%d"
			     "</monitorCrossRefID></MonitorStartResponse>",
			     i);
	}
	CHECK(noted("status pbx1/122 2 'overallMonitorLimitExceeded'"));
	CHECK_CONTAINS(logtext,
		       "line pbx1/122: MonitorStart refused (overallMonitorLimitExceeded)");
	inv = expect(c, "SnapshotDevice", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<snapshotObject>120</snapshotObject>");
	feed(c, inv,
	     "<SnapshotDeviceResponse " NS "><crossRefIDorSnapshotData><snapshotData>"
	     "<snapshotDeviceResponseInfo><connectionIdentifier><callID>4711</callID>"
	     "<deviceID>120</deviceID></connectionIdentifier><localCallState><compoundCallState>"
	     "<localConnectionState>hold</localConnectionState></compoundCallState>"
	     "</localCallState></snapshotDeviceResponseInfo></snapshotData>"
	     "</crossRefIDorSnapshotData></SnapshotDeviceResponse>");
	CHECK(noted("event pbx1/120 ev=0 state=4 call=4711"));
	CHECK(noted("synced pbx1/120"));
	/* events now come with the new cross reference ids */
	feed(c, 9999,
	     "<CallClearedEvent " NS "><monitorCrossRefID>30</monitorCrossRefID><clearedCall>"
	     "<callID>4711</callID></clearedCall><cause>normalClearing</cause></CallClearedEvent>");
	CHECK(noted("event pbx1/120 ev=11 state=0 call=4711"));
	inv = expect(c, "SnapshotDevice", NULL, 0);
	feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
	CHECK(noted("synced pbx1/121"));
	CHECK_CONTAINS(status_of(state), "\"reconnects\":1");

	/* the manager retries the failed line: MonitorStart again */
	journal[0] = '\0';
	CHECK_INT(the_driver.ops->open(the_driver.ctx, "pbx1/122"), ==, 0);
	inv = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>122</deviceObject>");
	feed(c, inv,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>32</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	CHECK(noted("status pbx1/122 1 ''"));
	inv = expect(c, "SnapshotDevice", NULL, 0);
	feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
	CHECK(noted("synced pbx1/122"));

	/* close: MonitorStop with the cross reference id */
	CHECK_INT(the_driver.ops->close(the_driver.ctx, "pbx1/121"), ==, 0);
	inv = expect(c, "MonitorStop", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<monitorCrossRefID>31</monitorCrossRefID>");
	feed(c, inv, "<MonitorStopResponse " NS "/>");
	CHECK_CONTAINS(status_of(state), "\"monitors\":2");

	/* --- a stalled PBX: the keep-alive is not answered, the link goes --- */
	journal[0] = '\0';
	advance(10000);
	inv = expect(c, "SystemStatus", NULL, 0);
	CHECK(inv > 0);
	advance(1100);
	CHECK(noted("close 7001"));
	CHECK(noted("status pbx1/120 4 'communication error'"));
	CHECK_CONTAINS(logtext, "keep-alive not answered within 1000 ms");
	/* a closed line is not reported */
	CHECK(!noted("status pbx1/121"));

	/* --- the PBX refuses connections: back-off doubles up to the max --- */
	connect_fail = 1;
	journal[0] = '\0';
	{
		int64_t prev = armed_oneshot(), cur;

		for (int i = 0; i < 5; i++) {
			advance((uint64_t)prev);
			cur = armed_oneshot();
			CHECK(cur >= 500 && cur <= 4000);
			prev = cur;
		}
		CHECK(prev >= 3000); /* at the max (4000, jitter down to 3/4 of it) */
	}
	/* the lines said NOT_AVAILABLE once; failed attempts do not repeat it */
	CHECK_INT(count_noted("connect 127.0.0.1:7001"), ==, 5);
	CHECK_INT(count_noted("status pbx1/"), ==, 0);
	CHECK_CONTAINS(logtext, "link pbx1: connect to 127.0.0.1:7001 failed (Connection refused)");
	connect_fail = 0;

	d->stop(state);
	CHECK(driver_removed);
	d->fini(state);
}

/* ---- the application session, and lines on demand ---- */

static void test_session_and_auto(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	struct ucs_conn *c;
	void *state = NULL;
	char xml[8192];
	int inv;

	reset_world();
	CHECK_INT(load_config(config_main), ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK_INT(d->start(state), ==, 0);
	c = conn_to(7002);
	c->h->on_connected(c, c->arg);
	inv = expect(c, "StartApplicationSession", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<userName>cti</userName>");
	CHECK_CONTAINS(xml, "<password>s3cret</password>");
	/* never a secret in the log, even at debug */
	CHECK(!strstr(logtext, "s3cret"));
	CHECK(nothing_sent(c));
	/* a line wanted before the session is up waits for it */
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "pbx2", "250"), ==, 0);
	CHECK(noted("line pbx2/250 device=250 group=pbx2"));
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "pbx2", "250"), ==, -EEXIST);
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "pbx1", "250"), ==, -EPERM);
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "pbx2", "a b"), ==, -EINVAL);
	CHECK(nothing_sent(c));
	feed(c, inv,
	     "<StartApplicationSessionPosResponse " NS_SESSION "><sessionID>S-1</sessionID>"
	     "<actualSessionDuration>30</actualSessionDuration>"
	     "</StartApplicationSessionPosResponse>");
	/* the session id is the session's credential: not in the log, not
	 * even in the debug dump of the answer */
	CHECK_CONTAINS(logtext, "link pbx2: application session started (30 s)");
	CHECK_CONTAINS(logtext, "<sessionID>***</sessionID>");
	CHECK(!strstr(logtext, "S-1"));
	inv = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>250</deviceObject>");
	feed(c, inv,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>1</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	CHECK(noted("status pbx2/250 1 ''"));
	inv = expect(c, "SnapshotDevice", NULL, 0);
	feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
	/* a PBX without GetForwarding: refused once, not asked again */
	auto_features = 0;
	inv = expect(c, "GetForwarding", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<device>250</device>");
	feed(c, inv,
	     "<CSTAErrorCode " NS "><operation>serviceNotSupported</operation></CSTAErrorCode>");
	CHECK_CONTAINS(logtext, "link pbx2: the PBX refused GetForwarding (serviceNotSupported); "
				"not asked again until the link reconnects");
	inv = expect(c, "GetDoNotDisturb", xml, sizeof(xml));
	feed(c, inv,
	     "<GetDoNotDisturbResponse " NS "><doNotDisturbOn>true</doNotDisturbOn>"
	     "</GetDoNotDisturbResponse>");
	CHECK(noted("dnd pbx2/250 1"));
	CHECK(!noted("forwarding pbx2/250"));
	/* the session timer is reset before it runs out (2/3 of 30 s) */
	advance(20000);
	inv = expect(c, "ResetApplicationSessionTimer", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<sessionID>S-1</sessionID>");
	feed(c, inv, "<ResetApplicationSessionTimerPosResponse " NS_SESSION "/>");
	CHECK(!strstr(logtext, "S-1")); /* the debug dump of the request neither */
	/* a line added while up is monitored at once */
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "pbx2", "251"), ==, 0);
	inv = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>251</deviceObject>");
	feed(c, inv,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>2</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	inv = expect(c, "SnapshotDevice", NULL, 0);
	feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
	inv = expect(c, "GetDoNotDisturb", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<device>251</device>");
	auto_features = 1;
	/* the PBX ends the session: the link goes down and comes back */
	journal[0] = '\0';
	feed(c, 7,
	     "<StopApplicationSession " NS_SESSION "><sessionID>S-1</sessionID>"
	     "</StopApplicationSession>");
	CHECK(noted("close 7002"));
	CHECK(noted("status pbx2/250 4 'communication error'"));
	CHECK(noted("status pbx2/251 4 'communication error'"));
	/* refused login on the next attempt */
	advance((uint64_t)armed_oneshot());
	c = conn_to(7002);
	c->h->on_connected(c, c->arg);
	inv = expect(c, "StartApplicationSession", NULL, 0);
	journal[0] = '\0';
	feed(c, inv,
	     "<StartApplicationSessionNegResponse " NS_SESSION "><errorCode><definedError>"
	     "invalidApplicationInfo</definedError></errorCode>"
	     "</StartApplicationSessionNegResponse>");
	CHECK_CONTAINS(logtext, "StartApplicationSession failed (invalidApplicationInfo)");
	CHECK(noted("close 7002"));
	CHECK(noted("status pbx2/250 2 'login error'"));
	/* the manager retries the failed line while the link is down: the
	 * reason stays "login error" (it used to become "communication error") */
	journal[0] = '\0';
	CHECK_INT(the_driver.ops->open(the_driver.ctx, "pbx2/250"), ==, 0);
	CHECK_INT(the_driver.ops->open(the_driver.ctx, "pbx2/251"), ==, 0);
	CHECK(!noted("status pbx2/"));
	/* ... and the line is monitored once the next session is up */
	advance((uint64_t)armed_oneshot());
	c = conn_to(7002);
	c->h->on_connected(c, c->arg);
	inv = expect(c, "StartApplicationSession", NULL, 0);
	CHECK(!noted("status pbx2/"));
	feed(c, inv,
	     "<StartApplicationSessionPosResponse " NS_SESSION "><sessionID>S-2</sessionID>"
	     "</StartApplicationSessionPosResponse>");
	inv = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>250</deviceObject>");
	feed(c, inv,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>5</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	CHECK(noted("status pbx2/250 1 ''"));
	d->stop(state);
	d->fini(state);
}

/* ---- invoke ids: cycling, skipping those outstanding ---- */

static void test_invoke_ids(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	struct ucs_conn *c;
	void *state = NULL;
	uint64_t tok;
	int first, inv, last = 0, wrapped = 0;

	reset_world();
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"p\", \"host\": \"h\","
			      " \"port\": 1, \"devices\": [\"100\"]}],"
			      " \"request_timeout_ms\": 600000}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK_INT(d->start(state), ==, 0);
	c = conn_to(1);
	c->h->on_connected(c, c->arg);
	first = expect(c, "MonitorStart", NULL, 0);
	CHECK_INT(first, ==, 1);
	feed(c, first,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>1</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	inv = expect(c, "SnapshotDevice", NULL, 0);
	CHECK_INT(inv, ==, 2);
	/* keep invoke id 3 outstanding, answer everything else, go round */
	CHECK_INT(request(UCS_OP_HOLD, "p/100", "1", NULL, NULL, &tok), ==, 0);
	CHECK_INT(expect(c, "HoldCall", NULL, 0), ==, 3);
	for (int i = 0; i < 9998; i++) {
		CHECK_INT(request(UCS_OP_HOLD, "p/100", "1", NULL, NULL, &tok), ==, 0);
		inv = expect(c, "HoldCall", NULL, 0);
		if (inv == 3 || inv < 1 || inv > 9998) {
			CHECK(inv != 3);
			break;
		}
		feed(c, inv, "<HoldCallResponse " NS "/>");
		wrapped |= last == 9998 && inv == 1;
		last = inv;
	}
	/* the id after 9998 is 1 (2 was answered long ago) and 3 is skipped */
	CHECK(wrapped);
	CHECK(last >= 1 && last <= 9998);
	CHECK(!strstr(logtext, "not outstanding"));
	d->stop(state);
	d->fini(state);
}

/* ---- configuration errors ---- */

static void test_config_errors(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = NULL;

	reset_world();
	/* unknown keys and bad types are the validator's */
	CHECK(load_config("{\"line-csta\": {\"bogus\": 1}}") != 0);
	CHECK(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			  " \"port\": 1, \"colour\": \"red\"}]}}") != 0);
	CHECK(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\"}]}}") !=
	      0);
	/* the plugin's own rules */
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			      " \"port\": 1, \"devices\": [\"199-100\"]}]}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, -EINVAL);
	CHECK_CONTAINS(logtext, "\"199-100\" is not a device or a range of devices");
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a/b\", \"host\": \"h\","
			      " \"port\": 1}]}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, -EINVAL);
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			      " \"port\": 1}, {\"name\": \"a\", \"host\": \"h\", \"port\": 2}]}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, -EINVAL);
	CHECK_CONTAINS(logtext, "link name \"a\" is used twice");
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			      " \"port\": 1, \"devices\": [\"1-200000\"]}]}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, -E2BIG);
	/* a user or password that does not fit is an error, not cut silently */
	{
		char cfg[1024], longpw[200];

		memset(longpw, 'x', 128);
		longpw[128] = '\0';
		snprintf(cfg, sizeof(cfg),
			 "{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			 " \"port\": 1, \"user\": \"cti\", \"password\": \"%s\"}]}}",
			 longpw);
		CHECK_INT(load_config(cfg), ==, 0);
		CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, -EINVAL);
		CHECK_CONTAINS(logtext, "password is longer than 127 bytes");
		CHECK(!strstr(logtext, longpw));
		longpw[127] = '\0'; /* 127 bytes fit */
		snprintf(cfg, sizeof(cfg),
			 "{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			 " \"port\": 1, \"user\": \"%s\", \"devices\": [\"1\"]}]}}",
			 longpw);
		CHECK_INT(load_config(cfg), ==, 0);
		CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
		d->stop(state);
		d->fini(state);
	}
	/* tls is accepted: the host's net API connects with TLS */
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			      " \"port\": 1, \"tls\": true, \"ca_file\": \"/etc/pbx-ca.pem\","
			      " \"devices\": [\"0100-0102\", \"250\"]}]}}"),
		  ==, 0);
	journal[0] = '\0';
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK(noted("line a/0100 device=0100"));
	CHECK(noted("line a/0102 device=0102"));
	CHECK(noted("line a/250 device=250"));
	CHECK_INT(d->start(state), ==, 0);
	CHECK(noted("connect h:1 tls=1 ca=/etc/pbx-ca.pem"));
	/* SIGHUP: the same section is fine, a changed one is refused */
	CHECK_INT(d->reload(state, section), ==, 0);
	CHECK_INT(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			      " \"port\": 2, \"tls\": true, \"ca_file\": \"/etc/pbx-ca.pem\","
			      " \"devices\": [\"0100-0102\", \"250\"]}]}}"),
		  ==, 0);
	CHECK_INT(d->reload(state, section), ==, -EBUSY);
	CHECK_CONTAINS(logtext, "the \"line-csta\" section changed; the links keep their settings "
				"until ucsd restarts");
	d->stop(state);
	d->fini(state);
}

/* ---- one link "p" with devices 120-122 (and "auto"), for the cases below ---- */

static void *start_one(int keepalive_s)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = NULL;
	char cfg[1024];

	reset_world();
	snprintf(cfg, sizeof(cfg),
		 "{\"line-csta\": {\"links\": [{\"name\": \"p\", \"host\": \"h\", \"port\": 7010,"
		 " \"devices\": [\"auto\", \"120-122\"], \"keepalive_s\": %d}],"
		 " \"request_timeout_ms\": 1000, \"reconnect_min_ms\": 500,"
		 " \"reconnect_max_ms\": 4000, \"max_frame_bytes\": 1048576}}",
		 keepalive_s);
	CHECK_INT(load_config(cfg), ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK_INT(d->start(state), ==, 0);
	return state;
}

/* Connects p: 120..122 monitored with cross reference ids 1..3, empty
 * snapshots, the features answered. */
static struct ucs_conn *up_one(void)
{
	struct ucs_conn *c = conn_to(7010);
	int inv[3];

	c->h->on_connected(c, c->arg);
	for (int i = 0; i < 3; i++)
		inv[i] = expect(c, "MonitorStart", NULL, 0);
	for (int i = 0; i < 3; i++)
		feed(c, inv[i],
		     "<MonitorStartResponse " NS "><monitorCrossRefID>%d</monitorCrossRefID>"
		     "</MonitorStartResponse>",
		     i + 1);
	for (int i = 0; i < 3; i++)
		feed(c, expect(c, "SnapshotDevice", NULL, 0), "<SnapshotDeviceResponse " NS "/>");
	CHECK(nothing_sent(c));
	return c;
}

/* Appends one snapshotDeviceResponseInfo to buf. */
static void snap_entry(char *buf, size_t cap, const char *call, const char *device,
		       const char *state)
{
	size_t used = strlen(buf);

	snprintf(buf + used, cap - used,
		 "<snapshotDeviceResponseInfo><connectionIdentifier><callID>%s</callID>"
		 "<deviceID>%s</deviceID></connectionIdentifier><localCallState>%s"
		 "</localCallState></snapshotDeviceResponseInfo>",
		 call, device, state);
}

static void feed_snapshot(struct ucs_conn *c, int invoke, const char *entries)
{
	feed(c, invoke,
	     "<SnapshotDeviceResponse " NS "><crossRefIDorSnapshotData><snapshotData>%s"
	     "</snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>",
	     entries);
}

#define SIMPLE(x) "<simpleCallState>" x "</simpleCallState>"
#define COMPOUND(x) \
	"<compoundCallState><localConnectionState>" x "</localConnectionState></compoundCallState>"

/* Where needle is in the journal, or -1. */
static long noted_at(const char *needle)
{
	const char *p = strstr(journal, needle);

	return p ? (long)(p - journal) : -1;
}

/* messagesLost: line_resync first, then the snapshot, then line_synced;
 * long snapshots, simple call states, a snapshot cut short. */
static void test_resync_and_snapshots(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();
	static char entries[1 << 19];
	int inv[3];

	/* a call on 120 that ends while the PBX loses the events */
	feed(c, 9999,
	     "<EstablishedEvent " NS "><monitorCrossRefID>1</monitorCrossRefID>"
	     "<establishedConnection><callID>77</callID><deviceID>120</deviceID>"
	     "</establishedConnection><answeringDevice><deviceIdentifier>120</deviceIdentifier>"
	     "</answeringDevice><callingDevice><deviceIdentifier>0891234</deviceIdentifier>"
	     "</callingDevice></EstablishedEvent>");
	CHECK(noted("event p/120 ev=4 state=3 call=77"));
	journal[0] = '\0';
	feed(c, 4243,
	     "<SystemStatus " NS "><systemStatus>messagesLost</systemStatus></SystemStatus>");
	CHECK_INT(expect(c, "SystemStatusResponse", NULL, 0), ==, 4243);
	for (int i = 0; i < 3; i++)
		inv[i] = expect(c, "SnapshotDevice", NULL, 0);
	/* the status stays OPEN, so each snapshot is announced by line_resync */
	CHECK(noted("resync p/120"));
	CHECK(noted("resync p/121"));
	CHECK(noted("resync p/122"));
	CHECK(!noted("status p/"));
	feed_snapshot(c, inv[0], "");
	CHECK(noted_at("resync p/120") >= 0 && noted_at("resync p/120") < noted_at("synced p/120"));
	CHECK(!noted("call=77")); /* the manager ends it: not named since the resync */

	/* more than 16 calls: every one reported, then synced */
	entries[0] = '\0';
	for (int i = 0; i < 20; i++) {
		char call[16];

		snprintf(call, sizeof(call), "c%d", i);
		snap_entry(entries, sizeof(entries), call, "121", COMPOUND("connected"));
	}
	feed_snapshot(c, inv[1], entries);
	CHECK(noted("event p/121 ev=0 state=3 call=c0 "));
	CHECK(noted("event p/121 ev=0 state=3 call=c16 "));
	CHECK(noted("event p/121 ev=0 state=3 call=c19 "));
	CHECK(noted("synced p/121"));

	/* a list beyond the cap: what came is reported, the line is not synced */
	entries[0] = '\0';
	for (int i = 0; i < CSTA_SNAP_MAX + 1; i++) {
		char call[16];

		snprintf(call, sizeof(call), "k%d", i);
		snap_entry(entries, sizeof(entries), call, "122", COMPOUND("connected"));
	}
	quiet_events = 1;
	snapshot_events = 0;
	feed_snapshot(c, inv[2], entries);
	quiet_events = 0;
	CHECK_INT(snapshot_events, ==, CSTA_SNAP_MAX);
	CHECK(!noted("synced p/122"));
	CHECK_CONTAINS(logtext, "link p: snapshot of 122 cut short after 1024 calls; the line is "
				"not marked synchronised");
	CHECK(nothing_sent(c));

	/* simpleCallState: the local half of the two-party state; the compound
	 * state wins when both are there; SnapshotDevice lists the device's own
	 * connections, whatever its deviceID looks like */
	journal[0] = logtext[0] = '\0';
	feed(c, 9999,
	     "<BackInServiceEvent " NS "><monitorCrossRefID>2</monitorCrossRefID><device>"
	     "<deviceIdentifier>121</deviceIdentifier></device></BackInServiceEvent>");
	CHECK(noted("resync p/121")); /* OPEN before and after */
	entries[0] = '\0';
	snap_entry(entries, sizeof(entries), "s1", "121", SIMPLE("callDelivered"));
	snap_entry(entries, sizeof(entries), "s2", "121", SIMPLE("callReceived"));
	snap_entry(entries, sizeof(entries), "s3", "121", SIMPLE("callEstablishedHeld"));
	snap_entry(entries, sizeof(entries), "s4", "121", SIMPLE("callEstablishedOnHold"));
	snap_entry(entries, sizeof(entries), "s5", "121", SIMPLE("callNull"));
	snap_entry(entries, sizeof(entries), "s6", "121", SIMPLE("callReceivedOnHold"));
	snap_entry(entries, sizeof(entries), "s7", "121",
		   COMPOUND("hold") SIMPLE("callEstablished"));
	snap_entry(entries, sizeof(entries), "s8", "121", SIMPLE("callPending"));
	snap_entry(entries, sizeof(entries), "s9", "121", SIMPLE("callSomethingNew"));
	snap_entry(entries, sizeof(entries), "s10", "121", SIMPLE("callDeliveredHeld"));
	snap_entry(entries, sizeof(entries), "s11", "+4989555121", SIMPLE("callEstablished"));
	snap_entry(entries, sizeof(entries), "s12", "121", SIMPLE("callQueued"));
	feed_snapshot(c, expect(c, "SnapshotDevice", NULL, 0), entries);
	CHECK(noted("event p/121 ev=0 state=3 call=s1 ")); /* outgoing, far end rings */
	CHECK(noted("event p/121 ev=0 state=2 call=s2 ")); /* rings here */
	CHECK(noted("event p/121 ev=0 state=4 call=s3 ")); /* this device holds */
	CHECK(noted("event p/121 ev=0 state=3 call=s4 ")); /* the far end holds */
	CHECK(!noted("call=s5 "));
	CHECK(noted("event p/121 ev=0 state=2 call=s6 "));
	CHECK(noted("event p/121 ev=0 state=4 call=s7 "));
	CHECK(noted("event p/121 ev=0 state=1 call=s8 "));
	CHECK(noted("event p/121 ev=0 state=3 call=s9 ")); /* unknown: connected, logged */
	CHECK(noted("event p/121 ev=0 state=4 call=s10 "));
	CHECK(noted("event p/121 ev=0 state=3 call=s11 "));
	CHECK(noted("event p/121 ev=0 state=3 call=s12 "));
	CHECK(noted("synced p/121"));
	CHECK_CONTAINS(logtext,
		       "link p: unknown call state \"callSomethingNew\" in the snapshot of "
		       "121; taken as connected (said once per connection)");
	d->stop(state);
	d->fini(state);
}

/* SnapshotDevice answered with an error, not at all, or with another
 * answer: retried after 1, 2, 4 s, then given up - never line_synced
 * without a snapshot. */
static void test_snapshot_failures(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();
	int inv[3];

	journal[0] = logtext[0] = '\0';
	feed(c, 4243,
	     "<SystemStatus " NS "><systemStatus>messagesLost</systemStatus></SystemStatus>");
	(void)expect(c, "SystemStatusResponse", NULL, 0);
	for (int i = 0; i < 3; i++)
		inv[i] = expect(c, "SnapshotDevice", NULL, 0);
	feed(c, inv[0],
	     "<CSTAErrorCode " NS "><operation>invalidDeviceID</operation></CSTAErrorCode>");
	feed_snapshot(c, inv[1], "");
	/* a positive answer that is not a snapshot does not count as one */
	feed(c, inv[2], "<SnapshotCallResponse " NS "/>");
	CHECK(!noted("synced p/120"));
	CHECK(noted("synced p/121"));
	CHECK(!noted("synced p/122"));
	CHECK_CONTAINS(logtext, "link p: SnapshotDevice of 120 failed (invalidDeviceID); retrying "
				"in 1000 ms");
	CHECK_CONTAINS(logtext,
		       "link p: SnapshotDevice of 122 failed (not a SnapshotDeviceResponse)"
		       "; retrying in 1000 ms");
	/* the queries go on meanwhile; the snapshots wait for their delay */
	CHECK(nothing_sent(c));
	advance(999);
	CHECK(nothing_sent(c));
	advance(1);
	inv[0] = expect(c, "SnapshotDevice", NULL, 0);
	inv[2] = expect(c, "SnapshotDevice", NULL, 0);
	CHECK(nothing_sent(c));
	feed_snapshot(c, inv[2], "");
	CHECK(noted("synced p/122"));
	CHECK_INT(count_noted("resync p/122"), ==, 1);
	/* 120: no answer (timeout), then errors until it gives up */
	advance(1000);
	CHECK_CONTAINS(logtext, "link p: SnapshotDevice of 120 failed (no answer from the PBX); "
				"retrying in 2000 ms");
	advance(1999);
	CHECK(nothing_sent(c));
	advance(1);
	feed(c, expect(c, "SnapshotDevice", NULL, 0),
	     "<CSTAErrorCode " NS "><operation>invalidDeviceID</operation></CSTAErrorCode>");
	CHECK_CONTAINS(logtext, "retrying in 4000 ms");
	advance(4000);
	feed(c, expect(c, "SnapshotDevice", NULL, 0),
	     "<CSTAErrorCode " NS "><operation>invalidDeviceID</operation></CSTAErrorCode>");
	CHECK_CONTAINS(logtext, "line p/120: no snapshot after 4 attempts (invalidDeviceID); its "
				"calls are kept until their next event");
	CHECK(!noted("synced p/120"));
	CHECK_INT(count_noted("resync p/120"), ==, 1);
	advance(60000);
	CHECK(nothing_sent(c));
	/* the next open snapshots it again */
	feed(c, 9999,
	     "<BackInServiceEvent " NS "><monitorCrossRefID>1</monitorCrossRefID><device>"
	     "<deviceIdentifier>120</deviceIdentifier></device></BackInServiceEvent>");
	feed_snapshot(c, expect(c, "SnapshotDevice", NULL, 0), "");
	CHECK(noted("synced p/120"));
	d->stop(state);
	d->fini(state);
}

/* DivertedEvent without localConnectionInfo: the diverting line's call is
 * gone, the new destination rings, the caller's line stays as it was. */
static void test_diverted(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();

	/* 120 calls 121: 120 is connected (the far end rings), 121 rings */
	feed(c, 9999,
	     "<DeliveredEvent " NS "><monitorCrossRefID>1</monitorCrossRefID><connection>"
	     "<callID>50</callID><deviceID>121</deviceID></connection><alertingDevice>"
	     "<deviceIdentifier>121</deviceIdentifier></alertingDevice><callingDevice>"
	     "<deviceIdentifier>120</deviceIdentifier></callingDevice></DeliveredEvent>");
	feed(c, 9999,
	     "<DeliveredEvent " NS "><monitorCrossRefID>2</monitorCrossRefID><connection>"
	     "<callID>50</callID><deviceID>121</deviceID></connection><alertingDevice>"
	     "<deviceIdentifier>121</deviceIdentifier></alertingDevice><callingDevice>"
	     "<deviceIdentifier>120</deviceIdentifier></callingDevice></DeliveredEvent>");
	CHECK(noted("event p/120 ev=3 state=3 call=50 "));
	CHECK(noted("event p/121 ev=3 state=2 call=50 "));
	/* 121 diverts to 122 */
	journal[0] = '\0';
	for (int x = 1; x <= 3; x++)
		feed(c, 9999,
		     "<DivertedEvent " NS "><monitorCrossRefID>%d</monitorCrossRefID><connection>"
		     "<callID>50</callID><deviceID>121</deviceID></connection><divertingDevice>"
		     "<deviceIdentifier>121</deviceIdentifier></divertingDevice><newDestination>"
		     "<deviceIdentifier>122</deviceIdentifier></newDestination><callingDevice>"
		     "<deviceIdentifier>120</deviceIdentifier></callingDevice>"
		     "<cause>forwardNoAns</cause></DivertedEvent>",
		     x);
	CHECK(noted("event p/120 ev=7 state=3 call=50 ")); /* the caller: still connected */
	CHECK(noted("event p/121 ev=7 state=0 call=50 ")); /* the diverting line: gone */
	CHECK(noted("event p/122 ev=7 state=2 call=50 ")); /* the new destination rings */
	/* a call the line knows nothing of stays connected, not ringing */
	journal[0] = '\0';
	feed(c, 9999,
	     "<DivertedEvent " NS "><monitorCrossRefID>1</monitorCrossRefID><connection>"
	     "<callID>51</callID><deviceID>130</deviceID></connection><divertingDevice>"
	     "<deviceIdentifier>130</deviceIdentifier></divertingDevice><newDestination>"
	     "<deviceIdentifier>131</deviceIdentifier></newDestination></DivertedEvent>");
	CHECK(noted("event p/120 ev=7 state=3 call=51 "));
	d->stop(state);
	d->fini(state);
}

/* open() of an open line restarts its monitor (after driver_reinit the
 * PBX may have lost it): MonitorStop, MonitorStart, OPEN, resync, snapshot. */
static void test_reopen_open_line(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();
	char xml[8192] = "";
	int stop, start;

	journal[0] = '\0';
	CHECK_INT(the_driver.ops->open(the_driver.ctx, "p/120"), ==, 0);
	stop = expect(c, "MonitorStop", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<monitorCrossRefID>1</monitorCrossRefID>");
	start = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>120</deviceObject>");
	feed(c, stop, "<MonitorStopResponse " NS "/>");
	/* events of the old monitor are not this line's any more */
	feed(c, 9999,
	     "<CallClearedEvent " NS "><monitorCrossRefID>1</monitorCrossRefID><clearedCall>"
	     "<callID>9</callID></clearedCall></CallClearedEvent>");
	CHECK(!noted("call=9 "));
	feed(c, start,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>11</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	CHECK(noted("status p/120 1 ''")); /* the manager asked: it hears OPEN */
	feed_snapshot(c, expect(c, "SnapshotDevice", NULL, 0), "");
	CHECK(noted_at("status p/120 1") < noted_at("resync p/120"));
	CHECK(noted_at("resync p/120") >= 0 && noted_at("resync p/120") < noted_at("synced p/120"));
	feed(c, 9999,
	     "<CallClearedEvent " NS "><monitorCrossRefID>11</monitorCrossRefID><clearedCall>"
	     "<callID>9</callID></clearedCall></CallClearedEvent>");
	CHECK(noted("event p/120 ev=11 state=0 call=9 "));
	CHECK_CONTAINS(status_of(state), "\"monitors\":3");
	/* the PBX loses events while a snapshot is in flight: that snapshot
	 * may be from before the loss, so another one follows */
	{
		char x[8192];
		int snap, lost[3];

		feed(c, 9999,
		     "<BackInServiceEvent " NS "><monitorCrossRefID>2</monitorCrossRefID><device>"
		     "<deviceIdentifier>121</deviceIdentifier></device></BackInServiceEvent>");
		snap = expect(c, "SnapshotDevice", x, sizeof(x));
		CHECK_CONTAINS(x, "<snapshotObject>121</snapshotObject>");
		feed(c, 4243,
		     "<SystemStatus " NS
		     "><systemStatus>messagesLost</systemStatus></SystemStatus>");
		(void)expect(c, "SystemStatusResponse", NULL, 0);
		lost[0] = expect(c, "SnapshotDevice", NULL, 0);
		lost[1] = expect(c, "SnapshotDevice", NULL, 0);
		CHECK(nothing_sent(c));
		journal[0] = '\0';
		feed_snapshot(c, snap, "");
		CHECK(noted("synced p/121"));
		lost[2] = expect(c, "SnapshotDevice", x, sizeof(x));
		CHECK_CONTAINS(x, "<snapshotObject>121</snapshotObject>");
		CHECK(noted("resync p/121"));
		for (int i = 0; i < 3; i++)
			feed_snapshot(c, lost[i], "");
		CHECK(nothing_sent(c));
	}
	d->stop(state);
	d->fini(state);
}

/* MonitorStart: a refusal for a line closed meanwhile reports nothing; a
 * timeout makes the line FAILED and the late grant is stopped again. */
static void test_monitor_start_edges(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();
	char xml[8192] = "";
	int inv;

	journal[0] = '\0';
	CHECK_INT(the_driver.ops->line_wanted(the_driver.ctx, "p", "130"), ==, 0);
	inv = expect(c, "MonitorStart", NULL, 0);
	CHECK_INT(the_driver.ops->close(the_driver.ctx, "p/130"), ==, 0);
	feed(c, inv,
	     "<CSTAErrorCode " NS "><systemResourceAvailability>overallMonitorLimitExceeded"
	     "</systemResourceAvailability></CSTAErrorCode>");
	CHECK(!noted("status p/130"));
	CHECK(nothing_sent(c));

	CHECK_INT(the_driver.ops->open(the_driver.ctx, "p/130"), ==, 0);
	inv = expect(c, "MonitorStart", NULL, 0);
	advance(1100);
	CHECK(noted("status p/130 2 'no answer from the PBX'"));
	feed(c, inv,
	     "<MonitorStartResponse " NS "><monitorCrossRefID>99</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	CHECK(expect(c, "MonitorStop", xml, sizeof(xml)) > 0);
	CHECK_CONTAINS(xml, "<monitorCrossRefID>99</monitorCrossRefID>");
	CHECK_CONTAINS(logtext, "stopping monitor 99");
	CHECK_CONTAINS(status_of(state), "\"monitors\":3");
	d->stop(state);
	d->fini(state);
}

/* The back-off starts again only after a stable link; its first delay is
 * in [min, 1.5 min], not always min. */
static void reconnect_now(void)
{
	advance((uint64_t)armed_oneshot());
}

/* Connects p and takes its three MonitorStarts; their invoke ids in inv. */
static struct ucs_conn *connect_p(int inv[3])
{
	struct ucs_conn *c;

	reconnect_now();
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	for (int k = 0; k < 3; k++)
		inv[k] = expect(c, "MonitorStart", NULL, 0);
	return c;
}

static void test_backoff(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(12);
	struct ucs_conn *c = up_one();
	int64_t delay;
	int inv[3], above_min = 0;

	/* up and every monitor answered: stable; a drop backs off from the start */
	c->h->on_close(c, -ECONNRESET, c->arg);
	delay = armed_oneshot();
	CHECK(delay >= 500 && delay <= 750);
	/* a PBX that accepts, takes the MonitorStarts and drops: not stable */
	for (int round = 0; round < 3; round++) {
		c = connect_p(inv);
		c->h->on_close(c, 0, c->arg);
		delay = armed_oneshot();
		if (round == 0)
			CHECK(delay >= 1000 && delay <= 1500);
		else if (round == 1)
			CHECK(delay >= 2000 && delay <= 3000);
		else
			CHECK(delay >= 3000 && delay <= 4000);
	}
	/* MonitorStarts that time out are no answer: 9 s up is not stable */
	c = connect_p(inv);
	advance(9000);
	c->h->on_close(c, 0, c->arg);
	CHECK(armed_oneshot() >= 3000);
	/* 10 s up is */
	c = connect_p(inv);
	advance(10000);
	c->h->on_close(c, 0, c->arg);
	delay = armed_oneshot();
	CHECK(delay >= 500 && delay <= 750);
	/* the jitter: a stable link's first delay is not always exactly min
	 * (refusals are answers: the PBX works) */
	for (int i = 0; i < 8; i++) {
		c = connect_p(inv);
		for (int k = 0; k < 3; k++)
			feed(c, inv[k],
			     "<CSTAErrorCode " NS "><systemResourceAvailability>"
			     "overallMonitorLimitExceeded</systemResourceAvailability>"
			     "</CSTAErrorCode>");
		c->h->on_close(c, 0, c->arg);
		delay = armed_oneshot();
		CHECK(delay >= 500 && delay <= 750);
		above_min |= delay > 500;
	}
	CHECK(above_min);
	d->stop(state);
	d->fini(state);

	/* an answered keep-alive makes a link stable before any monitor answer */
	state = start_one(2);
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	c->h->on_close(c, 0, c->arg); /* unstable: the next delay doubles ... */
	c = connect_p(inv);
	advance(2000); /* the MonitorStarts time out at 1 s, the keep-alive goes at 2 s */
	feed(c, expect(c, "SystemStatus", NULL, 0), "<SystemStatusResponse " NS "/>");
	c->h->on_close(c, 0, c->arg);
	delay = armed_oneshot();
	CHECK(delay >= 500 && delay <= 750); /* ... unless the link was stable */
	d->stop(state);
	d->fini(state);
}

/* Requests that cannot be carried out are refused at once. */
static void test_request_refusals(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = start_one(3600);
	struct ucs_conn *c = up_one();
	struct ucs_line_request rq = {.size = sizeof(rq), .op = UCS_OP_CONSULT};
	uint64_t tok;

	/* a consultation needs the call it consults from */
	CHECK_INT(request(UCS_OP_CONSULT, "p/120", "", NULL, "130", &tok), ==, -EINVAL);
	CHECK_INT(request(UCS_OP_CONSULT, "p/120", "5", NULL, "", &tok), ==, -EINVAL);
	CHECK_INT(request(UCS_OP_DEFLECT, "p/120", "", NULL, "130", &tok), ==, -EINVAL);
	CHECK_INT(request(UCS_OP_TRANSFER, "p/120", "", NULL, "130", &tok), ==, -EINVAL);
	/* DTMF needs digits */
	rq.op = UCS_OP_DTMF;
	snprintf(rq.line.text, sizeof(rq.line.text), "p/120");
	snprintf(rq.call, sizeof(rq.call), "5");
	CHECK_INT(the_driver.ops->request(the_driver.ctx, &rq, 900), ==, -EINVAL);
	CHECK(nothing_sent(c));
	snprintf(rq.digits, sizeof(rq.digits), "12#");
	CHECK_INT(the_driver.ops->request(the_driver.ctx, &rq, 901), ==, 0);
	(void)expect(c, "GenerateDigits", NULL, 0);
	CHECK_INT(request(UCS_OP_CONSULT, "p/120", "5", NULL, "130", &tok), ==, 0);
	(void)expect(c, "ConsultationCall", NULL, 0);
	CHECK(!noted("done 900"));
	d->stop(state);
	d->fini(state);
}

/* A PBX for p: answers whatever the driver sends until it sends nothing
 * more - monitors of 120..122 granted (cross reference id = device),
 * others refused, snapshots empty, the queries by auto_answer. */
static void pbx_loop(struct ucs_conn *c)
{
	char xml[8192], dev[32];
	int inv;

	while (next_sent(c, &inv, xml, sizeof(xml))) {
		const char *o = strstr(xml, "<deviceObject>");

		if (auto_answer(c, inv, xml, ""))
			continue;
		if (strstr(xml, "<MonitorStart ") && o) {
			snprintf(dev, sizeof(dev), "%.*s", (int)strcspn(o + 14, "<"), o + 14);
			if (atoi(dev) >= 120 && atoi(dev) <= 122)
				feed(c, inv,
				     "<MonitorStartResponse " NS "><monitorCrossRefID>%s"
				     "</monitorCrossRefID></MonitorStartResponse>",
				     dev);
			else
				feed(c, inv,
				     "<CSTAErrorCode " NS "><systemResourceAvailability>"
				     "overallMonitorLimitExceeded</systemResourceAvailability>"
				     "</CSTAErrorCode>");
		} else if (strstr(xml, "<SnapshotDevice ")) {
			feed(c, inv, "<SnapshotDeviceResponse " NS "/>");
		} else if (strstr(xml, "<MonitorStop ")) {
			feed(c, inv, "<MonitorStopResponse " NS "/>");
		}
	}
}

/* The manager calls back from its slots and moves the device array: the
 * driver must not hold device pointers across (ASan sees the old code's
 * use after free). Each case ends with the driver's view still right. */
static void test_manager_calls_back(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	static char entries[4096];
	struct ucs_conn *c;
	void *state;
	int inv[3];

	/* a snapshot event */
	state = start_one(3600);
	c = up_one();
	journal[0] = '\0';
	entries[0] = '\0';
	snap_entry(entries, sizeof(entries), "h1", "120", COMPOUND("hold"));
	snap_entry(entries, sizeof(entries), "h2", "120", COMPOUND("connected"));
	feed(c, 9999,
	     "<BackInServiceEvent " NS "><monitorCrossRefID>1</monitorCrossRefID><device>"
	     "<deviceIdentifier>120</deviceIdentifier></device></BackInServiceEvent>");
	inv[0] = expect(c, "SnapshotDevice", NULL, 0);
	grow_group = "p";
	grow_on = "snapshot";
	feed_snapshot(c, inv[0], entries);
	CHECK(grow_on == NULL);
	CHECK(noted("event p/120 ev=0 state=3 call=h2 "));
	CHECK(noted("synced p/120"));
	/* the driver still knows which call is held: transfer swaps them */
	{
		char xml[8192];
		uint64_t tok;

		c->read = c->outlen; /* the new lines' MonitorStarts */
		CHECK_INT(request(UCS_OP_TRANSFER, "p/120", "h2", "h1", NULL, &tok), ==, 0);
		(void)expect(c, "TransferCall", xml, sizeof(xml));
		CHECK_CONTAINS(xml, "<heldCall><callID>h1</callID>");
	}
	d->stop(state);
	d->fini(state);

	/* OPEN of a monitor answer (the old code set the snapshot due on the
	 * freed copy: 120 was never snapshot) */
	state = start_one(3600);
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	journal[0] = '\0';
	grow_seq = 0;
	grow_on = "status-open";
	pbx_loop(c);
	CHECK(grow_on == NULL);
	CHECK(noted("synced p/120"));
	CHECK(noted("synced p/121"));
	CHECK(noted("synced p/122"));
	CHECK(noted("status p/563 2 'overallMonitorLimitExceeded'"));
	/* the forwarding of the queries after an open (all three modes) */
	journal[0] = '\0';
	CHECK_INT(the_driver.ops->open(the_driver.ctx, "p/120"), ==, 0);
	grow_on = "forwarding";
	pbx_loop(c);
	CHECK(grow_on == NULL);
	CHECK(noted("forwarding p/120 mode=0 on=0 to=\n"));
	CHECK(noted("forwarding p/120 mode=1 on=1 to=0891111\n"));
	CHECK(noted("forwarding p/120 mode=2 on=0 to=\n"));
	/* the NOT_AVAILABLE of a monitor the PBX ended: monitored again (131
	 * lines in an array of 256: 130 more move it) */
	journal[0] = '\0';
	grow_count = 130;
	grow_on = "status";
	feed(c, 9999,
	     "<MonitorEndedEvent " NS "><monitorCrossRefID>121</monitorCrossRefID>"
	     "<cause>resourcesNotAvailable</cause></MonitorEndedEvent>");
	CHECK(grow_on == NULL);
	CHECK(noted("status p/121 4 'monitor ended'"));
	pbx_loop(c);
	CHECK(noted("status p/121 1 ''"));
	CHECK(noted("synced p/121"));
	CHECK_CONTAINS(status_of(state), "\"lines\":261,\"monitors\":3");
	grow_count = 64;
	d->stop(state);
	d->fini(state);
}

/* ---- monitor pacing: monitor_delay_ms and monitors_in_flight ---- */

static void *start_paced(int delay_ms, int in_flight)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = NULL;
	char cfg[1024];

	reset_world();
	snprintf(cfg, sizeof(cfg),
		 "{\"line-csta\": {\"links\": [{\"name\": \"p\", \"host\": \"h\", \"port\": 7010,"
		 " \"devices\": [\"120-123\"], \"keepalive_s\": 3600,"
		 " \"monitor_delay_ms\": %d, \"monitors_in_flight\": %d}],"
		 " \"request_timeout_ms\": 5000}}",
		 delay_ms, in_flight);
	CHECK_INT(load_config(cfg), ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK_INT(d->start(state), ==, 0);
	return state;
}

static void test_monitor_pacing(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state;
	struct ucs_conn *c;
	char xml[8192], want[64];
	int inv[4];

	/* the keys are declared: out of range is the validator's error */
	reset_world();
	CHECK(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			  " \"port\": 1, \"monitor_delay_ms\": -1}]}}") != 0);
	CHECK(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			  " \"port\": 1, \"monitors_in_flight\": 0}]}}") != 0);

	/* 100 ms between two MonitorStart (a reconnect takes the same path) */
	state = start_paced(100, 32);
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	for (int i = 0; i < 4; i++) {
		inv[i] = expect(c, "MonitorStart", xml, sizeof(xml));
		snprintf(want, sizeof(want), "<deviceObject>12%d</deviceObject>", i);
		CHECK_CONTAINS(xml, want);
		CHECK(nothing_sent(c));
		if (i < 3) {
			advance(99);
			CHECK(nothing_sent(c));
			advance(1);
		}
	}
	for (int i = 0; i < 4; i++)
		feed(c, inv[i],
		     "<MonitorStartResponse " NS "><monitorCrossRefID>%d</monitorCrossRefID>"
		     "</MonitorStartResponse>",
		     i + 1);
	/* snapshots are not paced */
	for (int i = 0; i < 4; i++)
		feed(c, expect(c, "SnapshotDevice", NULL, 0), "<SnapshotDeviceResponse " NS "/>");
	CHECK(nothing_sent(c));
	CHECK_CONTAINS(logtext, "link p: 4 of 4 devices monitored");
	d->stop(state);
	d->fini(state);

	/* default: no delay, every MonitorStart at once */
	state = start_paced(0, 32);
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	for (int i = 0; i < 4; i++)
		CHECK(expect(c, "MonitorStart", NULL, 0) > 0);
	d->stop(state);
	d->fini(state);

	/* monitors_in_flight: 2 outstanding, each answer lets the next go */
	state = start_paced(0, 2);
	c = conn_to(7010);
	c->h->on_connected(c, c->arg);
	inv[0] = expect(c, "MonitorStart", NULL, 0);
	inv[1] = expect(c, "MonitorStart", NULL, 0);
	CHECK(nothing_sent(c));
	feed(c, inv[0],
	     "<MonitorStartResponse " NS "><monitorCrossRefID>1</monitorCrossRefID>"
	     "</MonitorStartResponse>");
	inv[2] = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<deviceObject>122</deviceObject>");
	CHECK(nothing_sent(c));
	d->stop(state);
	d->fini(state);
}

/* ---- edition: the namespace of the documents sent ---- */

static void test_edition(void)
{
	const struct ucs_plugin_desc *d = ucs_plugin_descriptor();
	void *state = NULL;
	struct ucs_conn *c;
	char xml[8192];
	int inv;

	reset_world();
	CHECK(load_config("{\"line-csta\": {\"links\": [{\"name\": \"a\", \"host\": \"h\","
			  " \"port\": 1, \"edition\": \"ed6\"}]}}") != 0);
	CHECK_INT(load_config("{\"line-csta\": {\"links\": ["
			      "{\"name\": \"e5\", \"host\": \"h\", \"port\": 7020,"
			      " \"devices\": [\"120\"], \"edition\": \"ed5\", \"session\": true},"
			      "{\"name\": \"e3\", \"host\": \"h\", \"port\": 7021,"
			      " \"devices\": [\"130\"]}]}}"),
		  ==, 0);
	CHECK_INT(d->init((struct ucs_plugin *)1, &host, &state), ==, 0);
	CHECK_INT(d->start(state), ==, 0);

	c = conn_to(7020);
	c->h->on_connected(c, c->arg);
	inv = expect(c, "StartApplicationSession", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<protocolVersion>" CSTA_NS_ED5 "</protocolVersion>");
	CHECK(!strstr(xml, CSTA_NS_ED3));
	feed(c, inv,
	     "<StartApplicationSessionPosResponse " NS_SESSION "><sessionID>s1</sessionID>"
	     "<actualProtocolVersion>" CSTA_NS_ED5 "</actualProtocolVersion>"
	     "<actualSessionDuration>180</actualSessionDuration>"
	     "</StartApplicationSessionPosResponse>");
	inv = expect(c, "MonitorStart", xml, sizeof(xml));
	CHECK_CONTAINS(xml, "<MonitorStart xmlns=\"" CSTA_NS_ED5 "\">");
	/* the PBX's own documents may come in any edition */
	feed(c, 4242, "<SystemStatus " NS "><systemStatus>normal</systemStatus></SystemStatus>");
	CHECK_INT(expect(c, "SystemStatusResponse", xml, sizeof(xml)), ==, 4242);
	CHECK_CONTAINS(xml, CSTA_NS_ED5);
	CHECK(!strstr(xml, CSTA_NS_ED3));

	/* the other link keeps the default, ed3 */
	c = conn_to(7021);
	c->h->on_connected(c, c->arg);
	CHECK(expect(c, "MonitorStart", xml, sizeof(xml)) > 0);
	CHECK_CONTAINS(xml, "<MonitorStart xmlns=\"" CSTA_NS_ED3 "\">");
	d->stop(state);
	d->fini(state);
}

int main(void)
{
	core_log_init();
	make_host();
	test_link_life();
	test_session_and_auto();
	test_invoke_ids();
	test_config_errors();
	test_resync_and_snapshots();
	test_snapshot_failures();
	test_diverted();
	test_reopen_open_line();
	test_monitor_start_edges();
	test_backoff();
	test_request_refusals();
	test_manager_calls_back();
	test_monitor_pacing();
	test_edition();
	reset_world();
	core_config_free(config);
	return check_report();
}
