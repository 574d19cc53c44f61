/*
 * plugins/journal/tests/test_track.c - the call tracker (jr_track.c,
 * jr_private.c, jr_sessions.c, jr_publish.c) against a fake host: the test
 * plays the line manager ("call.state" messages straight into the
 * tracker's handler), presence (owners of lines), the line manager's
 * service (journal flag, private flag, numbers) and the user store, and
 * records what the tracker appends and publishes. The store's functions
 * (jr_db_append, jr_entry_json) are stubs that record.
 *
 * Covered: the manual's two rule sets in every setting (none, first, last,
 * all) on parallel ringing, sequential distribution, pickup (monitored and
 * not), the user's own deflection, PBX forwarding inside the grace, internal
 * and outgoing calls, journal off and unowned lines, private modes,
 * offline, contact names, an ABI 1.1 payload, the cap on calls followed,
 * stale calls, and the JSON of "journal.call" including short payloads.
 */
/* scenario steps are positional struct literals that leave the tail zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs_pick.h>

#include "check.h"
#include "jr_track.h"

/* ---- the fake host ------------------------------------------------------- */

struct ucs_msg {
	const struct ucs_msg_type *type;
	char key[128];
	size_t len;
	unsigned char *payload;
};
struct ucs_msg_type {
	const char *name;
};
struct ucs_sub {
	char pattern[64];
	ucs_msg_h *h;
	void *arg;
	int live;
};
struct ucs_timer {
	ucs_timer_h *h;
	void *arg;
	int active;
	uint64_t due, repeat;
};

static struct ucs_sub subs[8];
static struct ucs_timer timers[8];
static uint64_t clock_ms = 1000;
static char last_log[512], last_warning[512];
static int n_logs;

static void f_log(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)self;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	if (level <= UCS_LOG_WARNING)
		memcpy(last_warning, last_log, sizeof(last_log));
	n_logs++;
}
static const struct ucs_log_api log_api = {.size = sizeof(log_api), .log = f_log};

static int f_subscribe(struct ucs_plugin *self, struct ucs_sub **out, const char *pattern,
		       enum ucs_sub_mode mode, const char *key, ucs_msg_h *h, void *arg)
{
	(void)self, (void)mode, (void)key;
	for (int i = 0; i < 8; i++)
		if (!subs[i].live) {
			snprintf(subs[i].pattern, sizeof(subs[i].pattern), "%s", pattern);
			subs[i].h = h;
			subs[i].arg = arg;
			subs[i].live = 1;
			*out = &subs[i];
			return 0;
		}
	return -ENOMEM;
}
static void f_unsubscribe(struct ucs_sub *s)
{
	s->live = 0;
}
static const void *f_payload(const struct ucs_msg *m, size_t *len)
{
	*len = m->len;
	return m->payload;
}

/* what the tracker published */
static struct ucs_msg *published[64];
static int n_published;

static int f_msg_new(const struct ucs_msg_type *type, const char *key, const void *payload,
		     size_t len, struct ucs_msg **out)
{
	struct ucs_msg *m = calloc(1, sizeof(*m));

	m->type = type;
	snprintf(m->key, sizeof(m->key), "%s", key ? key : "");
	m->len = len;
	m->payload = malloc(len);
	memcpy(m->payload, payload, len);
	*out = m;
	return 0;
}
static int f_publish(struct ucs_plugin *self, struct ucs_msg *m)
{
	(void)self;
	if (n_published < 64) {
		published[n_published++] = m;
	} else {
		free(m->payload);
		free(m);
	}
	return 0;
}
static void drop_published(void)
{
	for (int i = 0; i < n_published; i++) {
		free(published[i]->payload);
		free(published[i]);
	}
	n_published = 0;
}
static const struct ucs_bus_api bus_api = {.size = sizeof(bus_api),
					   .subscribe = f_subscribe,
					   .unsubscribe = f_unsubscribe,
					   .msg_payload = f_payload,
					   .msg_new = f_msg_new,
					   .publish = f_publish};

static int f_topen(struct ucs_plugin *self, struct ucs_timer **out, ucs_timer_h *h, void *arg)
{
	(void)self;
	for (int i = 0; i < 8; i++)
		if (!timers[i].h) {
			timers[i] = (struct ucs_timer){.h = h, .arg = arg};
			*out = &timers[i];
			return 0;
		}
	return -ENOMEM;
}
static int f_tstart(struct ucs_timer *t, uint64_t timeout, uint64_t repeat)
{
	t->active = 1;
	t->due = clock_ms + timeout;
	t->repeat = repeat;
	return 0;
}
static void f_tstop(struct ucs_timer *t)
{
	t->active = 0;
}
static int f_tactive(const struct ucs_timer *t)
{
	return t->active;
}
static void f_tclose(struct ucs_timer *t)
{
	if (t)
		memset(t, 0, sizeof(*t));
}
static uint64_t f_now(void)
{
	return clock_ms;
}
static const struct ucs_timer_api timer_api = {.size = sizeof(timer_api),
					       .open = f_topen,
					       .start = f_tstart,
					       .stop = f_tstop,
					       .active = f_tactive,
					       .close = f_tclose,
					       .now_ms = f_now};

/* Advances the clock, firing due timers. */
static void advance(uint64_t ms)
{
	uint64_t end = clock_ms + ms;

	while (clock_ms < end) {
		clock_ms += 50 < end - clock_ms ? 50 : end - clock_ms;
		for (int i = 0; i < 8; i++)
			if (timers[i].h && timers[i].active && timers[i].due <= clock_ms) {
				if (timers[i].repeat)
					timers[i].due = clock_ms + timers[i].repeat;
				else
					timers[i].active = 0;
				timers[i].h(&timers[i], timers[i].arg);
			}
	}
}

static const struct ucs_host host = {
	.size = sizeof(host), .log = &log_api, .timer = &timer_api, .bus = &bus_api};

/* lines: NAME -> journal, private, number; owners */
struct fline {
	const char *id, *number, *owner;
	int journal, private_line;
};
static const struct fline flines[] = {
	{"pbx/120", "+49815136856120", "alice", 1, 0}, {"pbx/121", "+49815136856121", "bob", 1, 0},
	{"pbx/122", "+49815136856122", "carl", 1, 0},  {"pbx/123", "+49815136856123", "dave", 0, 0},
	{"pbx/124", "+49815136856124", "", 1, 0},      {"pbx/125", "+49815136856125", "erin", 1, 1},
	{"pbx/126", "+49815136856126", "alice", 1, 0},
};

static const struct fline *fline_find(const char *id)
{
	for (size_t i = 0; i < sizeof(flines) / sizeof(flines[0]); i++)
		if (strcmp(flines[i].id, id) == 0)
			return &flines[i];
	return NULL;
}
static int f_line(const char *id, struct ucs_line_info *out)
{
	const struct fline *f = fline_find(id);

	if (!f)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->id.text, sizeof(out->id.text), "%s", f->id);
	snprintf(out->number.canonical.text, sizeof(out->number.canonical.text), "%s", f->number);
	out->journal = f->journal;
	out->private_line = f->private_line;
	return 0;
}
static int f_line_by_number(const char *number, struct ucs_line_info *out)
{
	for (size_t i = 0; i < sizeof(flines) / sizeof(flines[0]); i++)
		if (strcmp(flines[i].number, number) == 0)
			return f_line(flines[i].id, out);
	return -ENOENT;
}
static const struct ucs_lines_api lines_api = {
	.size = sizeof(lines_api), .line = f_line, .line_by_number = f_line_by_number};

static int f_owners(const char *line, struct ucs_id *users, size_t max)
{
	const struct fline *f = fline_find(line);

	if (!f || !f->owner[0] || !max)
		return 0;
	snprintf(users[0].text, sizeof(users[0].text), "%s", f->owner);
	return 1;
}
static const struct ucs_presence_api presence_api = {.size = sizeof(presence_api),
						     .owners = f_owners};

/* the user store: alice..erin, and frank (no line) with a mobile number */
static struct ucs_ud_user users[6];
static const struct ucs_ud_user *user_ptrs[6];
static struct ucs_ud_snapshot snap = {.size = sizeof(snap), .generation = 1};
static int snap_refs;

static const struct ucs_ud_snapshot *f_acquire(void)
{
	snap_refs++;
	return &snap;
}
static void f_release(const struct ucs_ud_snapshot *s)
{
	(void)s;
	snap_refs--;
}
static const struct ucs_ud_user *f_user(const struct ucs_ud_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (strcmp(s->users[i]->id, id) == 0)
			return s->users[i];
	return NULL;
}
static const struct ucs_userdb_api userdb_api = {
	.size = sizeof(userdb_api), .acquire = f_acquire, .release = f_release, .user = f_user};

static void users_init(void)
{
	static const char *ids[6] = {"alice", "bob", "carl", "dave", "erin", "frank"};
	static const char *names[6] = {"Alice A", "Bob B", "Carl C", "Dave D", "Erin E", "Frank F"};

	for (int i = 0; i < 6; i++) {
		users[i] = (struct ucs_ud_user){.size = sizeof(users[i]),
						.id = ids[i],
						.login = ids[i],
						.display_name = names[i]};
		for (int k = 0; k < UCS_UD_PHONE_COUNT; k++)
			users[i].phones[k] = (struct ucs_ud_number){"", ""};
		user_ptrs[i] = &users[i];
	}
	users[5].phones[UCS_UD_PHONE_MOBILE] = (struct ucs_ud_number){"0171 555", "+49171555"};
	/* a number two users share: the lower id wins */
	users[3].phones[UCS_UD_PHONE_BUSINESS] = (struct ucs_ud_number){"999", "+49999"};
	users[2].phones[UCS_UD_PHONE_MOBILE] = (struct ucs_ud_number){"999", "+49999"};
	snap.users = user_ptrs;
	snap.n_users = 6;
}

/* ---- the store's stubs ----------------------------------------------------- */

static struct jr_entry entries[64];
static int n_entries;
static int append_fail;

int jr_db_append(struct jr *j, const struct jr_entry *e)
{
	(void)j;
	if (append_fail)
		return -EIO;
	if (n_entries < 64)
		entries[n_entries++] = *e;
	return 0;
}

int jr_entry_json(const struct jr_entry *e, char *buf, size_t cap)
{
	return snprintf(buf, cap, "{\"id\":\"%s\",\"user\":\"%s\"}", e->id, e->user);
}

/* ---- the scenario language ------------------------------------------------- */

static struct jr J;

static struct ucs_sub *sub_of(const char *type)
{
	for (int i = 0; i < 8; i++)
		if (subs[i].live && strcmp(subs[i].pattern, type) == 0)
			return &subs[i];
	return NULL;
}

struct ev {
	const char *line;
	int event, state, dir;
	const char *remote;
	int64_t alerting, connected, ended;
	int ended_by;
	uint32_t flags;
	const char *answered_line, *answered_by;
	int private_call;
	size_t len; /* 0: the whole struct */
};

static const char *call_id = "pbx/1";

static void send_ev(struct ev e)
{
	struct ucs_call_info ci;
	struct ucs_msg m = {.payload = (unsigned char *)&ci};
	struct ucs_sub *s = sub_of(UCS_CALL_STATE_TYPE);

	memset(&ci, 0, sizeof(ci));
	ci.size = e.len ? (uint32_t)e.len : sizeof(ci);
	ci.event = e.event;
	ci.state = e.state;
	ci.direction = e.dir;
	ci.private_call = e.private_call;
	ci.started_ms = 1700000000000;
	ci.connected_ms = e.connected;
	snprintf(ci.call.text, sizeof(ci.call.text), "%s", call_id);
	snprintf(ci.line.text, sizeof(ci.line.text), "%s", e.line);
	snprintf(ci.remote.canonical.text, sizeof(ci.remote.canonical.text), "%s",
		 e.remote ? e.remote : "");
	snprintf(ci.remote.display, sizeof(ci.remote.display), "%s", e.remote ? e.remote : "");
	ci.alerting_ms = e.alerting;
	ci.ended_ms = e.ended;
	ci.ended_by = e.ended_by;
	ci.flags = e.flags;
	snprintf(ci.answered_line.text, sizeof(ci.answered_line.text), "%s",
		 e.answered_line ? e.answered_line : "");
	snprintf(ci.answered_by.canonical.text, sizeof(ci.answered_by.canonical.text), "%s",
		 e.answered_by ? e.answered_by : "");
	m.len = e.len ? e.len : sizeof(ci);
	CHECK(s != NULL);
	if (s)
		s->h(&m, s->arg);
}

#define CALLER "+4989123456"
#define T0     1700000001000ll

/* a line rings (incoming) at T0 + at */
static void ring(const char *line, int64_t at)
{
	send_ev((struct ev){line, UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING, CALLER,
			    T0 + at});
}
static void answer(const char *line, int64_t at, int64_t conn)
{
	send_ev((struct ev){line, UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, UCS_CALL_INCOMING, CALLER,
			    T0 + at, T0 + conn, .flags = UCS_CALLF_ANSWERED});
}
static void end(const char *line, int64_t at, int64_t conn, int by)
{
	send_ev((struct ev){line, UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER,
			    at ? T0 + at : 0, conn ? T0 + conn : 0, T0 + 20000, by,
			    conn ? UCS_CALLF_ANSWERED : 0});
}

static void reset(int missed, int forwarded, int mode)
{
	drop_published();
	n_entries = 0;
	J.conf.missed = missed;
	J.conf.forwarded = forwarded;
	J.conf.private_mode = mode;
}

/* The user's entry; an empty one (user "") when she has none, so a check
 * on a missing entry fails instead of crashing the test. */
static const struct jr_entry *entry_of(const char *user)
{
	static const struct jr_entry none;

	for (int i = 0; i < n_entries; i++)
		if (strcmp(entries[i].user, user) == 0)
			return &entries[i];
	return &none;
}

static const struct ucs_journal_call *the_call(void)
{
	for (int i = 0; i < n_published; i++)
		if (published[i]->type == J.call_type)
			return (const struct ucs_journal_call *)(const void *)published[i]->payload;
	return NULL;
}

static int events_published(void)
{
	int n = 0;

	for (int i = 0; i < n_published; i++)
		n += published[i]->type == J.event_type;
	return n;
}

/* "alice,bob" of the entries marked unanswered, in entry order */
static const char *marked(void)
{
	static char buf[256];
	size_t l = 0;

	buf[0] = '\0';
	for (int i = 0; i < n_entries; i++)
		if (entries[i].unanswered)
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? "," : "",
					      entries[i].user);
	return buf;
}

/* ---- cases -------------------------------------------------------------- */

/* alice, bob, carl ring in parallel (in that order); nobody answers */
static void parallel_missed(int rule, const char *expect)
{
	reset(rule, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	ring("pbx/121", 10);
	ring("pbx/122", 20);
	end("pbx/122", 20, 0, UCS_END_CLEARED);
	end("pbx/120", 0, 0, UCS_END_CLEARED);
	end("pbx/121", 10, 0, UCS_END_CLEARED);
	CHECK_INT(n_entries, ==, 0); /* the grace */
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 3);
	CHECK_STR(marked(), expect);
	CHECK_INT(events_published(), ==, 3);
	const struct ucs_journal_call *c = the_call();
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(c->n_parts, ==, 3);
		CHECK_STR(ucs_journal_call_part(c, 0)->user.text, "alice");
		CHECK_STR(ucs_journal_call_part(c, 1)->user.text, "bob");
		CHECK_STR(ucs_journal_call_part(c, 2)->user.text, "carl");
		CHECK_INT(c->answered, ==, 0);
		CHECK_STR(c->remote.canonical.text, CALLER);
		CHECK_INT(ucs_journal_call_part(c, 0)->rang, ==, 1);
	}
	CHECK_STR(entry_of("alice")->answered_user, "");
	CHECK_INT(entry_of("alice")->ring_s, ==, 20);
}

/* alice, bob, carl ring; bob answers: the forwarded rule among alice, carl */
static void parallel_answered(int missed, int rule, const char *expect)
{
	reset(missed, rule, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	ring("pbx/121", 10);
	ring("pbx/122", 20);
	answer("pbx/121", 10, 3000);
	end("pbx/120", 0, 0, UCS_END_CLEARED);
	end("pbx/122", 20, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS * 3);
	CHECK_INT(n_entries, ==, 0); /* bob still talks */
	end("pbx/121", 10, 3000, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 3);
	CHECK_STR(marked(), expect);
	for (int i = 0; i < n_entries; i++) {
		CHECK_STR(entries[i].answered_user, "bob");
		CHECK_STR(entries[i].answered_number, "+49815136856121");
	}
	CHECK_INT(entry_of("bob")->answered, ==, 1);
	CHECK_INT(entry_of("bob")->talk_s, ==, 17);
	CHECK_INT(entry_of("bob")->ring_s, ==, 3);
	CHECK(the_call() && the_call()->answered == 1);
	CHECK(the_call() && strcmp(the_call()->answered_user.text, "bob") == 0);
}

/* sequential distribution: alice rings, the PBX moves it to bob (inside the
 * grace), then carl; nobody answers */
static void sequential(void)
{
	reset(UCS_PICK_FIRST, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_FORWARDED);
	advance(JR_GRACE_MS - 500); /* bob's first event comes late */
	ring("pbx/121", 5000);
	end("pbx/121", 5000, 0, UCS_END_FORWARDED);
	ring("pbx/122", 10000);
	end("pbx/122", 10000, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 3);
	CHECK_STR(marked(), "alice");
	CHECK(the_call() && the_call()->n_parts == 3);

	reset(UCS_PICK_LAST, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_FORWARDED);
	ring("pbx/121", 5000);
	end("pbx/121", 5000, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_STR(marked(), "bob");

	/* a call forwarded on lives on elsewhere: a line that joins 10 s
	 * later is still the same call (the longer grace of a moved call) */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_FORWARDED);
	advance(10000);
	CHECK_INT(n_entries, ==, 0);
	ring("pbx/121", 10000);
	end("pbx/121", 10000, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);

	/* ... unless the call is known to be cleared: then the short grace */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_FORWARDED);
	send_ev((struct ev){"pbx/120", UCS_CE_CALL_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER,
			    T0, 0, T0 + 3000, UCS_END_FORWARDED});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);

	/* after the (moved call's) grace a late line is a call of its own */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_FORWARDED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 0);
	advance(JR_MOVED_GRACE_MS - JR_GRACE_MS);
	CHECK_INT(n_entries, ==, 1);
	ring("pbx/121", 5000);
	end("pbx/121", 5000, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
}

/* alice rings; carl picks it up at his phone (monitored) */
static void pickup(void)
{
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, T0,
			    0, T0 + 4000, UCS_END_PICKED_UP, 0, "pbx/122", "+49815136856122"});
	send_ev((struct ev){"pbx/122", UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, UCS_CALL_INCOMING,
			    CALLER, 0, T0 + 4000, .flags = UCS_CALLF_PICKUP});
	send_ev((struct ev){"pbx/122", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING,
			    CALLER, 0, T0 + 4000, T0 + 9000, UCS_END_CLEARED,
			    UCS_CALLF_PICKUP | UCS_CALLF_ANSWERED});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
	CHECK_STR(marked(), "alice"); /* forwarded rule: all who rang and did not answer */
	CHECK_INT(entry_of("carl")->answered, ==, 1);
	CHECK_INT(entry_of("carl")->unanswered, ==, 0);
	CHECK_STR(entry_of("alice")->answered_user, "carl");
	CHECK_INT(entry_of("alice")->ended_by, ==, UCS_END_PICKED_UP);
	CHECK(the_call() && the_call()->answered);

	/* picked up by a phone ucsd does not monitor: still answered */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, T0,
			    0, T0 + 4000, UCS_END_PICKED_UP, 0, "", "199"});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_STR(marked(), ""); /* answered: the forwarded rule (none) applies */
	CHECK_STR(entry_of("alice")->answered_number, "199");
	CHECK_STR(entry_of("alice")->answered_user, "");
	CHECK(the_call() && the_call()->answered);

	/* ended the way nobody knows (a resynchronisation): stays UCS_END_NONE */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_NONE);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_INT(entry_of("alice")->ended_by, ==, UCS_END_NONE);
	CHECK_STR(marked(), "alice");

	/* an ABI 1.1 line manager: the pickup known from the cause only */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING, CALLER,
			    .len = offsetof(struct ucs_call_info, alerting_ms)});
	{
		struct ucs_call_info ci;
		struct ucs_msg m = {.payload = (unsigned char *)&ci,
				    .len = offsetof(struct ucs_call_info, alerting_ms)};

		memset(&ci, 0, sizeof(ci));
		ci.size = (uint32_t)m.len;
		ci.event = UCS_CE_DIVERTED;
		ci.state = UCS_CS_NULL;
		ci.direction = UCS_CALL_INCOMING;
		snprintf(ci.call.text, sizeof(ci.call.text), "%s", call_id);
		snprintf(ci.line.text, sizeof(ci.line.text), "pbx/120");
		snprintf(ci.cause, sizeof(ci.cause), "callPickup");
		ci.alerting_ms = 12345; /* beyond the payload: never read */
		sub_of(UCS_CALL_STATE_TYPE)->h(&m, sub_of(UCS_CALL_STATE_TYPE)->arg);
	}
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_INT(entry_of("alice")->ended_by, ==, UCS_END_PICKED_UP);
	CHECK(entry_of("alice")->alerting_ms > 1700000000000ll); /* seen ringing, not 12345 */
	CHECK(the_call() && the_call()->answered);
	CHECK_STR(marked(), "");
}

/* alice deflects the ringing call to a mobile from ucsd: answered for her */
static void deflect(void)
{
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	ring("pbx/121", 10);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, T0,
			    0, T0 + 3000, UCS_END_DEFLECTED, 0, "", "+49171555"});
	end("pbx/121", 10, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
	CHECK_INT(entry_of("alice")->answered, ==, 1);
	CHECK_STR(marked(), "bob"); /* bob rang and did not answer: forwarded=all */
	CHECK_STR(entry_of("bob")->answered_number, "+49171555");
	CHECK_STR(entry_of("bob")->answered_user, "frank"); /* whose mobile it is */

	/* PBX forwarding to an unmonitored number: nobody is known to answer */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, T0,
			    0, T0 + 15000, UCS_END_FORWARDED, 0, "", "+4930111"});
	advance(JR_MOVED_GRACE_MS + JR_TICK_MS + 50);
	CHECK_STR(marked(), "alice");
	CHECK_STR(entry_of("alice")->answered_number, "");
	CHECK(the_call() && !the_call()->answered);

	/* alice forwarded her calls to bob herself before the call came: her
	 * line's only event is the diversion (state null, never alerting). It
	 * counts as answered for her (manual 10.5) and her entry says bob took
	 * it. */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, 0,
			    0, T0, UCS_END_FORWARDED, 0, "pbx/121", "+49815136856121"});
	ring("pbx/121", 10);
	answer("pbx/121", 10, 500);
	end("pbx/121", 10, 500, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
	CHECK_STR(entry_of("alice")->user, "alice");
	if (entry_of("alice")) {
		CHECK_INT(entry_of("alice")->answered, ==, 1);
		CHECK_INT(entry_of("alice")->unanswered, ==, 0);
		CHECK_STR(entry_of("alice")->answered_user, "bob");
	}
	CHECK_STR(marked(), "");
	CHECK(the_call() && the_call()->answered);

	/* ... to a number outside: answered for her, by that number */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER, 0,
			    0, T0, UCS_END_FORWARDED, 0, "", "+4930111"});
	advance(JR_MOVED_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_STR(marked(), "");
	if (entry_of("alice")) {
		CHECK_INT(entry_of("alice")->answered, ==, 1);
		CHECK_STR(entry_of("alice")->answered_number, "+4930111");
	}

	/* an old line manager (no ABI 1.2 tail) cannot say so: still dropped */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_DIVERTED, UCS_CS_NULL, UCS_CALL_INCOMING, CALLER,
			    .len = offsetof(struct ucs_call_info, alerting_ms)});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 0);
}

/* alice calls bob (internal); bob does not answer / answers */
static void internal_call(void)
{
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_ORIGINATED, UCS_CS_CONNECTED, UCS_CALL_OUTGOING,
			    "+49815136856121"});
	send_ev((struct ev){"pbx/121", UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING,
			    "+49815136856120", T0});
	send_ev((struct ev){"pbx/120", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_OUTGOING,
			    "+49815136856121", 0, 0, T0 + 5000, UCS_END_CLEARED});
	send_ev((struct ev){"pbx/121", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING,
			    "+49815136856120", T0, 0, T0 + 5000, UCS_END_CLEARED});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
	CHECK_STR(marked(), "bob");
	CHECK_INT(entry_of("alice")->direction, ==, UCS_CALL_OUTGOING);
	CHECK_INT(entry_of("alice")->unanswered, ==, 0);
	CHECK_STR(entry_of("alice")->remote_user, "bob");
	CHECK_STR(entry_of("alice")->remote_name, "Bob B");
	CHECK_STR(entry_of("bob")->remote_user, "alice");
	CHECK(the_call() && strcmp(the_call()->remote_user.text, "alice") == 0 &&
	      the_call()->contact_found);

	/* an outgoing call to outside, answered there */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_ESTABLISHED, UCS_CS_CONNECTED, UCS_CALL_OUTGOING,
			    CALLER, 0, T0 + 2000});
	send_ev((struct ev){"pbx/120", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_OUTGOING,
			    CALLER, 0, T0 + 2000, T0 + 7000, UCS_END_CLEARED});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_STR(marked(), "");
	CHECK_INT(entry_of("alice")->answered, ==, 1);
	CHECK_STR(entry_of("alice")->answered_number, CALLER);
	CHECK_INT(entry_of("alice")->talk_s, ==, 5);
	CHECK_INT(entry_of("alice")->ring_s, ==, 0);
	CHECK_STR(entry_of("alice")->remote_name, ""); /* no contact */
	CHECK(the_call() && !the_call()->contact_found);
}

/* lines without journal or owner make no entries; one user with two lines
 * makes one entry */
static void who_counts(void)
{
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/123", 0); /* dave: journal off */
	ring("pbx/124", 0); /* no owner */
	end("pbx/123", 0, 0, UCS_END_CLEARED);
	end("pbx/124", 0, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 0);
	CHECK(the_call() == NULL);

	/* dave (journal off) answers what rang at alice's: answered, by dave */
	reset(UCS_PICK_ALL, UCS_PICK_ALL, JR_PRIVATE_NORMAL);
	ring("pbx/120", 0);
	ring("pbx/123", 0);
	answer("pbx/123", 0, 1000);
	end("pbx/120", 0, 0, UCS_END_CLEARED);
	end("pbx/123", 0, 1000, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 1);
	CHECK_STR(entry_of("alice")->answered_user, "dave");
	CHECK_STR(marked(), "alice");

	/* alice's two lines ring: one entry, rang from the first */
	reset(UCS_PICK_FIRST, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/121", 0);
	ring("pbx/126", 100);
	ring("pbx/120", 50);
	end("pbx/121", 0, 0, UCS_END_CLEARED);
	end("pbx/126", 100, 0, UCS_END_CLEARED);
	end("pbx/120", 50, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(n_entries, ==, 2);
	CHECK_STR(marked(), "bob");
	CHECK_STR(entry_of("alice")->line, "pbx/120");
	CHECK_INT(entry_of("alice")->alerting_ms, ==, T0 + 50);
	CHECK(the_call() && the_call()->n_parts == 2 &&
	      strcmp(ucs_journal_call_part(the_call(), 0)->user.text, "bob") == 0);
}

/* a caller whose number two users have: the lower user id */
static void shared_number(void)
{
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	send_ev((struct ev){"pbx/120", UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING,
			    "+49999", T0});
	send_ev((struct ev){"pbx/120", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING,
			    "+49999", T0, 0, T0 + 100, UCS_END_CLEARED});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_STR(entry_of("alice")->remote_user, "carl");
	CHECK_STR(entry_of("alice")->remote_name, "Carl C");
}

/* the ringing order is alerting_ms, not the order events arrived in */
static void ringing_order(void)
{
	reset(UCS_PICK_FIRST, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	ring("pbx/121", 100);
	ring("pbx/120", 50);
	end("pbx/121", 100, 0, UCS_END_CLEARED);
	end("pbx/120", 50, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_STR(marked(), "alice");
	CHECK(the_call() && the_call()->n_parts == 2 &&
	      strcmp(ucs_journal_call_part(the_call(), 0)->user.text, "alice") == 0);
}

/* private line (erin) and private calls in the three modes; offline */
static void private_and_offline(void)
{
	static const int modes[3] = {JR_PRIVATE_NORMAL, JR_PRIVATE_SHORTENED, JR_PRIVATE_HIDDEN};
	static const char *numbers[3] = {"+49171555", "+49171XXX", ""};

	for (int m = 0; m < 3; m++) {
		reset(UCS_PICK_ALL, UCS_PICK_NONE, modes[m]);
		send_ev((struct ev){"pbx/125", UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING,
				    "+49171555", T0});
		send_ev((struct ev){"pbx/125", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL,
				    UCS_CALL_INCOMING, "+49171555", T0, 0, T0 + 100,
				    UCS_END_CLEARED});
		advance(JR_GRACE_MS + JR_TICK_MS + 50);
		CHECK_INT(n_entries, ==, 1);
		CHECK_INT(entries[0].private_call, ==, 1);
		CHECK_STR(entries[0].remote_number, numbers[m]);
		CHECK_STR(entries[0].remote_name, m ? "" : "Frank F");
		CHECK_STR(entries[0].remote_user, m ? "" : "frank");
		CHECK(the_call() && strcmp(the_call()->remote.canonical.text, numbers[m]) == 0);
	}
	/* a private call on a normal line */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_SHORTENED);
	send_ev((struct ev){"pbx/120", UCS_CE_DELIVERED, UCS_CS_ALERTING, UCS_CALL_INCOMING, CALLER,
			    T0, .private_call = 1});
	send_ev((struct ev){"pbx/120", UCS_CE_CONNECTION_CLEARED, UCS_CS_NULL, UCS_CALL_INCOMING,
			    CALLER, T0, 0, T0 + 100, UCS_END_CLEARED, .private_call = 1});
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_STR(entries[0].remote_number, "+4989123XXX");
	CHECK_STR(entries[0].remote_display, "+4989123XXX");

	/* offline: alice has a session, bob had one that ended */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	{
		struct ucs_presence_login in = {.size = sizeof(in), .logged_in = 1};
		struct ucs_msg m = {.payload = (unsigned char *)&in, .len = sizeof(in)};
		struct ucs_sub *s = sub_of(UCS_PRESENCE_IN_LOGIN_TYPE);

		CHECK(s != NULL);
		snprintf(in.user.text, sizeof(in.user.text), "alice");
		snprintf(in.session.text, sizeof(in.session.text), "s1");
		s->h(&m, s->arg);
		snprintf(in.user.text, sizeof(in.user.text), "bob");
		s->h(&m, s->arg);
		in.logged_in = 0;
		s->h(&m, s->arg);
		m.len = sizeof(in) - 1; /* short: ignored */
		in.logged_in = 1;
		s->h(&m, s->arg);
	}
	CHECK(jr_track_online(&J, "alice"));
	CHECK(!jr_track_online(&J, "bob"));
	ring("pbx/120", 0);
	ring("pbx/121", 0);
	end("pbx/120", 0, 0, UCS_END_CLEARED);
	end("pbx/121", 0, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	CHECK_INT(entry_of("alice")->offline, ==, 0);
	CHECK_INT(entry_of("bob")->offline, ==, 1);
	for (int i = 0; i < n_published; i++)
		if (published[i]->type == J.event_type) {
			const struct ucs_journal_event *ev = (const void *)published[i]->payload;

			CHECK_INT(ev->offline, ==, strcmp(ev->user.text, "bob") == 0);
			CHECK(strncmp(published[i]->key, "user:", 5) == 0);
			CHECK_STR(published[i]->key + 5, ev->user.text);
			CHECK_CONTAINS(ucs_journal_event_json(ev), ev->entry.text);
		}
}

/* the bounds: the cap on calls followed, stale calls, a failing store */
static void bounds(void)
{
	char id[64], status[512];

	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	for (int i = 0; i < JR_CALLS_MAX + 5; i++) {
		snprintf(id, sizeof(id), "pbx/cap%d", i);
		call_id = id;
		ring("pbx/120", 0);
	}
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"calls_open\":20000,");
	CHECK_CONTAINS(status, "\"calls_dropped\":5,");
	CHECK_CONTAINS(last_warning, "calls followed already");
	/* nothing happens for 12 hours: every call is closed, journaled */
	advance((uint64_t)JR_STALE_MS + 2 * JR_SWEEP_MS);
	CHECK_CONTAINS(last_warning, "calls without any event");
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"calls_open\":0,");
	CHECK_CONTAINS(status, "\"stale_closed\":20000,");
	CHECK_INT(n_entries, ==, 64); /* the stub keeps 64 */
	call_id = "pbx/1";

	/* 100 calls end at once: journaled 32 per loop callback */
	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "pbx/burst%d", i);
		call_id = id;
		ring("pbx/120", 0);
		end("pbx/120", 0, 0, UCS_END_CLEARED);
	}
	call_id = "pbx/1";
	advance(JR_GRACE_MS - 50);
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"calls_open\":100,");
	advance(50);
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"calls_open\":68,");
	advance(200);
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"calls_open\":0,");

	reset(UCS_PICK_ALL, UCS_PICK_NONE, JR_PRIVATE_NORMAL);
	append_fail = 1;
	ring("pbx/120", 0);
	end("pbx/120", 0, 0, UCS_END_CLEARED);
	advance(JR_GRACE_MS + JR_TICK_MS + 50);
	append_fail = 0;
	CHECK_INT(events_published(), ==, 0);
	jr_track_status(&J, status, sizeof(status));
	CHECK_CONTAINS(status, "\"append_failed\":1,");
}

/* jr_attribute alone: the rule table */
static void rules(void)
{
	struct jr_part p[3];
	static const char *const want_missed[4] = {"000", "100", "001", "111"};
	static const char *const want_fwd[4] = {"000", "100", "001", "101"};

	for (int rule = 0; rule < 4; rule++) {
		char got[4] = "";

		memset(p, 0, sizeof(p));
		p[0].rang = p[1].rang = p[2].rang = true;
		jr_attribute(rule, UCS_PICK_NONE, false, p, 3);
		for (int i = 0; i < 3; i++)
			got[i] = p[i].unanswered ? '1' : '0';
		CHECK_STR(got, want_missed[rule]);

		memset(p, 0, sizeof(p));
		p[0].rang = p[1].rang = p[2].rang = true;
		p[1].answered = true;
		jr_attribute(UCS_PICK_ALL, rule, true, p, 3);
		for (int i = 0; i < 3; i++)
			got[i] = p[i].unanswered ? '1' : '0';
		CHECK_STR(got, want_fwd[rule]);
	}
	/* who did not ring is never a candidate */
	memset(p, 0, sizeof(p));
	p[1].rang = true;
	CHECK_INT(jr_attribute(UCS_PICK_FIRST, UCS_PICK_NONE, false, p, 3), ==, 1);
	CHECK(!p[0].unanswered && p[1].unanswered);
}

static void shorten(void)
{
	char a[32] = "+49 (89) 123456", b[8] = "12", c[8] = "";

	jr_private_shorten(a);
	jr_private_shorten(b);
	jr_private_shorten(c);
	CHECK_STR(a, "+49 (89) 123XXX");
	CHECK_STR(b, "XX");
	CHECK_STR(c, "");
	CHECK_INT(jr_private_parse("shortened"), ==, JR_PRIVATE_SHORTENED);
	CHECK_INT(jr_private_parse("x"), ==, -EINVAL);
}

/* the JSON of journal.call and its guard against short payloads */
static void call_json(void)
{
	unsigned char buf[sizeof(struct ucs_journal_call) + 2 * sizeof(struct ucs_journal_part)];
	struct ucs_journal_call *c = (void *)buf;
	struct ucs_journal_part *p;
	char out[4096];
	int n;

	memset(buf, 0, sizeof(buf));
	c->size = sizeof(*c);
	c->part_size = sizeof(*p);
	c->n_parts = 2;
	c->answered = 1;
	snprintf(c->call.text, sizeof(c->call.text), "pbx/\"7");
	memset(c->remote_name, 'a', sizeof(c->remote_name)); /* unterminated */
	p = (void *)(buf + sizeof(*c) + sizeof(*p));
	p->size = sizeof(*p);
	p->unanswered = 1;
	snprintf(p->user.text, sizeof(p->user.text), "bob");
	n = jr_call_to_json(buf, sizeof(buf), out, sizeof(out));
	CHECK(n > 0 && n < (int)sizeof(out));
	CHECK_CONTAINS(out, "\"call\":\"pbx/\\\"7\"");
	CHECK_CONTAINS(out, "\"answered\":1");
	CHECK_CONTAINS(out, "\"user\":\"bob\"");
	CHECK_CONTAINS(out, "\"unanswered\":1");
	CHECK_INT(strlen(strstr(out, "\"remote_name\":\"") + 15), >, 64);
	CHECK_INT(jr_call_to_json(buf, sizeof(buf) - 1, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(jr_call_to_json(buf, 10, out, sizeof(out)), ==, -EINVAL);
	c->n_parts = 1000000;
	CHECK_INT(jr_call_to_json(buf, sizeof(buf), out, sizeof(out)), ==, -EINVAL);
	c->n_parts = 2;
	/* snprintf rules: the length it needs */
	CHECK_INT(jr_call_to_json(buf, sizeof(buf), out, 10), ==, n);
	CHECK_INT(strlen(out), ==, 9);
}

int main(void)
{
	static const struct ucs_msg_type ev_type = {"journal.event"}, call_type = {"journal.call"};

	users_init();
	J.host = &host;
	J.lines = &lines_api;
	J.presence = &presence_api;
	J.userdb = &userdb_api;
	J.event_type = &ev_type;
	J.call_type = &call_type;
	CHECK_INT(jr_track_start(&J), ==, 0);

	parallel_missed(UCS_PICK_NONE, "");
	parallel_missed(UCS_PICK_FIRST, "alice");
	parallel_missed(UCS_PICK_LAST, "carl");
	parallel_missed(UCS_PICK_ALL, "alice,bob,carl");
	parallel_answered(UCS_PICK_ALL, UCS_PICK_NONE, "");
	parallel_answered(UCS_PICK_NONE, UCS_PICK_FIRST, "alice");
	parallel_answered(UCS_PICK_NONE, UCS_PICK_LAST, "carl");
	parallel_answered(UCS_PICK_NONE, UCS_PICK_ALL, "alice,carl");
	sequential();
	pickup();
	deflect();
	internal_call();
	who_counts();
	ringing_order();
	shared_number();
	private_and_offline();
	bounds();
	rules();
	shorten();
	call_json();

	jr_track_stop(&J);
	CHECK(J.trk == NULL);
	CHECK_INT(snap_refs, ==, 0);
	drop_published();
	return check_report();
}
