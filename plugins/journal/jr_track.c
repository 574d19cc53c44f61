/*
 * plugins/journal/jr_track.c - follows every call across the lines it
 * touches and, when it has ended everywhere, writes its journal entries
 * and publishes "journal.event" and "journal.call" (see jr_track.h for
 * what a participant is, when a call ends and the bounds).
 *
 * Layout: the pure part first (legs -> participants -> the manual's rule
 * sets), then the calls followed (a hash by call id, a list of calls whose
 * legs have all ended, waiting out the grace), then the look-ups (line,
 * owners, the contact a remote number belongs to) and the end of a call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs_pick.h>

#include <sys/random.h>
#include <unistd.h>

#include "jr_track.h"

/* Copies text into a fixed array, truncating: the arrays here are all
 * bounded and their sources are NUL-terminated by the time they get here. */
static void scopy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- the pure part ------------------------------------------------------ */

bool jr_leg_answered(const struct jr_leg *l)
{
	if (l->flags & UCS_CALLF_PICKUP)
		return true; /* she picked the call up: the picker answered */
	if (l->ci.connected_ms > 0)
		return true; /* the line manager's "answered" (ESTABLISHED and kin) */
	if (l->ci.direction == UCS_CALL_INCOMING && (l->flags & UCS_CALLF_ANSWERED))
		return true;
	/* forwarding by the user from ucsd counts as answered (manual 10.5) */
	if (l->ended_by == UCS_END_DEFLECTED || l->ended_by == UCS_END_REDIRECTED)
		return true;
	/* so does her own forwarding before the phone rang (immediate, set by
	 * her): the line manager's only event for her line is the diversion,
	 * state null, ended_by FORWARDED, never alerting. A call that rang and
	 * then went on by no-answer forwarding keeps the normal rules. */
	return l->ci.direction == UCS_CALL_INCOMING && l->ended_by == UCS_END_FORWARDED &&
	       l->alerting_ms == 0 && l->ci.alerting_ms == 0;
}

/* A part that the line manager reports only by its end, because the call
 * left the line before it showed anything (ABI 1.2): a forwarding before
 * the phone rang, a deflection, redirection or pickup of a call whose
 * earlier events were not seen. Other null-state events of unknown parts
 * are ends of calls older than the journal. */
bool jr_null_leg_wanted(const struct ucs_call_info *ci, bool has12)
{
	return has12 && ci->state == UCS_CS_NULL &&
	       (ci->ended_by == UCS_END_FORWARDED || ci->ended_by == UCS_END_DEFLECTED ||
		ci->ended_by == UCS_END_REDIRECTED || ci->ended_by == UCS_END_PICKED_UP);
}

/* An answer that connected someone (not a deflection): the answering party. */
static bool leg_connected(const struct jr_leg *l)
{
	return (l->flags & UCS_CALLF_PICKUP) ||
	       (l->ci.direction == UCS_CALL_INCOMING &&
		(l->ci.connected_ms > 0 || (l->flags & UCS_CALLF_ANSWERED)));
}

static int64_t min_nz(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* The call's answering leg and number (jr_summary). */
static void find_answer(const struct jr_leg *legs, size_t n, struct jr_summary *sum)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		int64_t t, bt;

		if (!leg_connected(&legs[i]))
			continue;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		/* the earliest answer; an unknown time sorts last */
		t = legs[i].ci.connected_ms ? legs[i].ci.connected_ms : INT64_MAX;
		bt = legs[best].ci.connected_ms ? legs[best].ci.connected_ms : INT64_MAX;
		if (t < bt)
			best = (int)i;
	}
	sum->answer_leg = best;
	if (best >= 0) {
		const struct jr_leg *l = &legs[best];

		scopy(sum->answered_line, sizeof(sum->answered_line), l->ci.line.text);
		scopy(sum->answered_by.canonical.text, sizeof(sum->answered_by.canonical.text),
		      l->own_number);
		return;
	}
	/* taken elsewhere: the line manager names who took it */
	for (size_t i = 0; i < n; i++) {
		const struct jr_leg *l = &legs[i];

		if (l->ended_by != UCS_END_PICKED_UP && l->ended_by != UCS_END_DEFLECTED &&
		    l->ended_by != UCS_END_REDIRECTED && l->ended_by != UCS_END_FORWARDED &&
		    l->ended_by != UCS_END_TRANSFERRED)
			continue;
		if (!l->ci.answered_line.text[0] && !l->ci.answered_by.canonical.text[0])
			continue;
		if (l->ended_by == UCS_END_FORWARDED || l->ended_by == UCS_END_TRANSFERRED) {
			if (!sum->answered)
				continue; /* moved on, but nobody is known to have answered */
		}
		scopy(sum->answered_line, sizeof(sum->answered_line), l->ci.answered_line.text);
		sum->answered_by = l->ci.answered_by;
		return;
	}
	/* an outgoing call the far end answered */
	for (size_t i = 0; i < n; i++) {
		const struct jr_leg *l = &legs[i];

		if (l->ci.direction == UCS_CALL_OUTGOING && l->ci.connected_ms > 0) {
			sum->answered_by = l->ci.remote;
			return;
		}
	}
}

size_t jr_summarise(const struct jr_leg *legs, size_t n_legs, struct jr_part *parts, size_t cap,
		    struct jr_summary *sum)
{
	size_t n = 0;
	int remote = -1;

	memset(sum, 0, sizeof(*sum));
	sum->answer_leg = -1;
	sum->remote_leg = -1;
	for (size_t i = 0; i < n_legs; i++)
		if (jr_leg_answered(&legs[i]) || legs[i].ended_by == UCS_END_PICKED_UP)
			sum->answered = true; /* a pickup by anyone, monitored or not */
	find_answer(legs, n_legs, sum);

	for (size_t i = 0; i < n_legs; i++) {
		const struct jr_leg *l = &legs[i];
		struct jr_part *p = NULL;
		bool rang = l->ci.direction == UCS_CALL_INCOMING && l->alerting_ms > 0;

		if (!l->journal || !l->owner[0])
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(parts[k].user, l->owner) == 0)
				p = &parts[k];
		if (!p) {
			if (n >= cap)
				continue;
			p = &parts[n++];
			memset(p, 0, sizeof(*p));
			scopy(p->user, sizeof(p->user), l->owner);
			p->leg = i;
		} else {
			/* her representative leg: the one that answered, else the first
			 * that rang */
			const struct jr_leg *r = &legs[p->leg];
			bool better = false;

			if (jr_leg_answered(l) && !jr_leg_answered(r))
				better = true;
			else if (jr_leg_answered(l) == jr_leg_answered(r) && rang &&
				 (!r->alerting_ms || r->ci.direction != UCS_CALL_INCOMING ||
				  l->alerting_ms < r->alerting_ms))
				better = true;
			if (better)
				p->leg = i;
		}
		p->rang |= rang;
		p->answered |= jr_leg_answered(l);
		p->private_call |= l->ci.private_call || l->private_line;
		p->flags |= l->flags;
		p->started_ms = min_nz(p->started_ms, l->ci.started_ms);
		if (rang)
			p->alerting_ms = min_nz(p->alerting_ms, l->alerting_ms);
		p->connected_ms = min_nz(p->connected_ms, l->ci.connected_ms);
		if (l->ended_ms > p->ended_ms)
			p->ended_ms = l->ended_ms;
	}
	for (size_t k = 0; k < n; k++) {
		parts[k].direction = legs[parts[k].leg].ci.direction;
		parts[k].order_ms =
			parts[k].alerting_ms ? parts[k].alerting_ms : parts[k].started_ms;
	}
	/* ringing order; equal times keep the order the legs were seen in */
	for (size_t a = 1; a < n; a++) {
		struct jr_part t = parts[a];
		size_t b = a;

		while (b > 0 && (parts[b - 1].order_ms > t.order_ms ||
				 (parts[b - 1].order_ms == t.order_ms &&
				  legs[parts[b - 1].leg].seq > legs[t.leg].seq))) {
			parts[b] = parts[b - 1];
			b--;
		}
		parts[b] = t;
	}

	/* the other party: the caller as the first ringing line saw her */
	for (size_t k = 0; k < n && remote < 0; k++)
		if (parts[k].direction == UCS_CALL_INCOMING)
			remote = (int)parts[k].leg;
	for (size_t i = 0; i < n_legs && remote < 0; i++)
		if (legs[i].ci.direction == UCS_CALL_INCOMING)
			remote = (int)i;
	if (remote < 0 && n)
		remote = (int)parts[0].leg;
	if (remote < 0 && n_legs)
		remote = 0;
	sum->remote_leg = remote;
	if (remote >= 0) {
		const struct jr_leg *l = &legs[remote];

		sum->hidden = l->ci.direction == UCS_CALL_INCOMING &&
			      ((l->flags & UCS_CALLF_HIDDEN) ||
			       (!l->ci.remote.canonical.text[0] && !l->ci.remote.display[0]));
	}
	return n;
}

size_t jr_attribute(int missed, int forwarded, bool answered, struct jr_part *parts, size_t n)
{
	bool cand[JR_LEGS_MAX] = {false}, chosen[JR_LEGS_MAX] = {false};
	size_t count;

	if (n > JR_LEGS_MAX)
		n = JR_LEGS_MAX;
	for (size_t i = 0; i < n; i++)
		/* missed: everyone whose phone rang; answered elsewhere: those
		 * whose phone rang and who did not answer */
		cand[i] = parts[i].rang && (!answered || !parts[i].answered);
	count = ucs_pick(answered ? forwarded : missed, cand, chosen, n);
	for (size_t i = 0; i < n; i++)
		parts[i].unanswered = chosen[i];
	return count;
}

/* ---- the calls followed ------------------------------------------------- */

#define JR_BUCKETS 4096

struct jr_tcall {
	struct jr_tcall *hnext;		/* hash chain */
	struct jr_tcall *cprev, *cnext; /* closing list */
	char id[UCS_ID_MAX];
	struct jr_leg *legs;
	size_t n_legs, cap_legs;
	uint32_t next_seq;
	bool closing;
	bool legs_full_logged;
	uint64_t last_mono; /* monotonic ms of its last event */
	uint64_t close_at;  /* monotonic ms; when closing */
};

struct jr_num {
	const char *number;
	const struct ucs_ud_user *user;
	size_t order; /* users by id, then the slot: who wins a shared number */
};

struct jr_tracker {
	struct jr *j;
	struct ucs_sub *sub;
	struct ucs_timer *tick;
	struct ucs_timer *sweep;
	struct jr_sessions *sessions;
	struct jr_tcall *buckets[JR_BUCKETS];
	size_t n_calls;
	struct jr_tcall *close_head, *close_tail;
	uint32_t entry_seq;
	uint32_t run_id; /* random per start: ids stay unique across restarts */
	/* counters for status */
	uint64_t calls_journaled, entries, unanswered, calls_dropped, legs_dropped, stale_closed,
		append_failed;
	uint64_t dropped_since_log;
	uint64_t full_logged_mono;
	bool no_presence_logged;
	/* the contacts: canonical numbers of the users of one snapshot */
	const struct ucs_ud_snapshot *snap;
	struct jr_num *nums;
	size_t n_nums;
};

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(const struct jr_tracker *t)
{
	return t->j->host->timer->now_ms();
}

#define TLOG(t, level, ...) (t)->j->host->log->log((t)->j->self, (level), __VA_ARGS__)

static size_t hash_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % JR_BUCKETS;
}

static struct jr_tcall *call_find(struct jr_tracker *t, const char *id)
{
	for (struct jr_tcall *c = t->buckets[hash_of(id)]; c; c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void closing_remove(struct jr_tracker *t, struct jr_tcall *c)
{
	if (!c->closing)
		return;
	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else
		t->close_head = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	else
		t->close_tail = c->cprev;
	c->cprev = c->cnext = NULL;
	c->closing = false;
}

/* Every leg ended: the call closes after grace_ms unless a leg comes back
 * or another line joins. The list is sorted by when calls fall due; a new
 * one goes in from the tail (with one grace it is the tail at once, a
 * short grace passes the few long ones of moved calls). */
static void closing_add(struct jr_tracker *t, struct jr_tcall *c, uint64_t grace_ms)
{
	struct jr_tcall *after;

	closing_remove(t, c);
	c->closing = true;
	c->close_at = mono_ms(t) + grace_ms;
	after = t->close_tail;
	while (after && after->close_at > c->close_at)
		after = after->cprev;
	c->cprev = after;
	c->cnext = after ? after->cnext : t->close_head;
	if (c->cnext)
		c->cnext->cprev = c;
	else
		t->close_tail = c;
	if (after)
		after->cnext = c;
	else
		t->close_head = c;
	if (t->tick && !t->j->host->timer->active(t->tick))
		t->j->host->timer->start(t->tick, grace_ms ? JR_TICK_MS : 1, JR_TICK_MS);
}

static void call_free(struct jr_tracker *t, struct jr_tcall *c)
{
	struct jr_tcall **pp = &t->buckets[hash_of(c->id)];

	closing_remove(t, c);
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	t->n_calls--;
	free(c->legs);
	free(c);
}

/* ---- look-ups ----------------------------------------------------------- */

static void line_facts(struct jr_tracker *t, struct jr_leg *l)
{
	struct jr *j = t->j;
	struct ucs_line_info info;
	struct ucs_id owners[4];

	if (j->lines && j->lines->line(l->ci.line.text, &info) == 0) {
		l->journal = info.journal != 0;
		l->private_line = info.private_line != 0;
		scopy(l->own_number, sizeof(l->own_number),
		      info.number.canonical.text[0] ? info.number.canonical.text
						    : info.internal.text);
	}
	if (!j->presence) {
		if (!t->no_presence_logged)
			TLOG(t, UCS_LOG_WARNING,
			     "no ucs.presence: lines have no owners, calls are not journaled");
		t->no_presence_logged = true;
		return;
	}
	if (j->presence->owners(l->ci.line.text, owners, 4) > 0)
		snprintf(l->owner, sizeof(l->owner), "%.*s",
			 (int)strnlen(owners[0].text, sizeof(owners[0].text) - 1), owners[0].text);
}

static int num_cmp(const void *a, const void *b)
{
	const struct jr_num *x = a, *y = b;
	int c = strcmp(x->number, y->number);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* bsearch's key: the number only */
static int num_key_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct jr_num *)b)->number);
}

/* The numbers of the current snapshot's users, sorted; rebuilt when the
 * store moved on. */
static void contacts_refresh(struct jr_tracker *t)
{
	const struct ucs_userdb_api *udb = t->j->userdb;
	const struct ucs_ud_snapshot *snap;
	static const int slots[] = {UCS_UD_PHONE_BUSINESS, UCS_UD_PHONE_BUSINESS2,
				    UCS_UD_PHONE_MOBILE, UCS_UD_PHONE_PRIVATE};
	struct jr_num *nums;
	size_t n = 0;

	if (!udb)
		return;
	snap = udb->acquire();
	if (!snap)
		return;
	if (t->snap && t->snap->generation == snap->generation) {
		udb->release(snap);
		return;
	}
	nums = calloc(snap->n_users * 4 + 1, sizeof(*nums));
	if (!nums) {
		udb->release(snap);
		return;
	}
	for (size_t i = 0; i < snap->n_users; i++)
		for (size_t k = 0; k < 4; k++) {
			const char *c = snap->users[i]->phones[slots[k]].canonical;

			if (!c || !*c)
				continue;
			nums[n] = (struct jr_num){c, snap->users[i], n};
			n++;
		}
	/* equal numbers: the lower id, then the business slot, wins */
	qsort(nums, n, sizeof(*nums), num_cmp);
	if (t->snap)
		udb->release(t->snap);
	free(t->nums);
	t->snap = snap;
	t->nums = nums;
	t->n_nums = n;
}

/* The ucsd user a number belongs to: the owner of the line with that number,
 * else a user whose canonical business, mobile or private number it is. */
static bool contact_find(struct jr_tracker *t, const char *number, char *user, size_t ucap,
			 char *name, size_t ncap)
{
	struct jr *j = t->j;
	struct ucs_line_info info;
	struct ucs_id owners[1];
	const struct ucs_ud_user *u = NULL;

	if (!number[0])
		return false;
	contacts_refresh(t);
	if (j->lines && j->presence && j->lines->line_by_number(number, &info) == 0 &&
	    j->presence->owners(info.id.text, owners, 1) > 0 && t->snap)
		u = j->userdb->user(t->snap, owners[0].text);
	if (!u && t->n_nums) {
		const struct jr_num *hit =
			bsearch(number, t->nums, t->n_nums, sizeof(*t->nums), num_key_cmp);

		/* the first of equal numbers */
		while (hit && hit > t->nums && strcmp(hit[-1].number, number) == 0)
			hit--;
		u = hit ? hit->user : NULL;
	}
	if (!u)
		return false;
	scopy(user, ucap, u->id);
	scopy(name, ncap, u->display_name && *u->display_name ? u->display_name : u->login);
	return true;
}

static void owner_of_line(struct jr_tracker *t, const char *line, char *out, size_t cap)
{
	struct ucs_id owners[1];

	out[0] = '\0';
	if (line[0] && t->j->presence && t->j->presence->owners(line, owners, 1) > 0)
		snprintf(out, cap, "%.*s", (int)strnlen(owners[0].text, sizeof(owners[0].text) - 1),
			 owners[0].text);
}

/* ---- the end of a call -------------------------------------------------- */

static int32_t secs(int64_t from, int64_t to)
{
	if (!from || !to || to <= from)
		return 0;
	return (int32_t)((to - from + 500) / 1000);
}

static void entry_fill(struct jr_tracker *t, const struct jr_tcall *c, const struct jr_part *p,
		       const struct jr_summary *sum, const char *answered_user, struct jr_entry *e)
{
	const struct jr_leg *l = &c->legs[p->leg];
	int64_t now = unix_ms();

	memset(e, 0, sizeof(*e));
	/* "<ms>-<run>-<seq>": the random run part keeps ids unique when a
	 * restart (or a clock set back) repeats a millisecond and a seq */
	snprintf(e->id, sizeof(e->id), "%lld-%08x-%u", (long long)now, t->run_id, ++t->entry_seq);
	scopy(e->user, sizeof(e->user), p->user);
	scopy(e->call, sizeof(e->call), c->id);
	scopy(e->line, sizeof(e->line), l->ci.line.text);
	e->direction = p->direction;
	e->internal = l->ci.internal != 0;
	e->private_call = p->private_call;
	e->answered = p->answered;
	e->unanswered = p->unanswered;
	e->ended_by = l->ended_by;
	e->flags = p->flags;
	e->started_ms = p->started_ms;
	e->alerting_ms = p->alerting_ms;
	e->connected_ms = p->connected_ms;
	e->ended_ms = p->ended_ms ? p->ended_ms : now;
	e->ring_s = p->alerting_ms
			    ? secs(p->alerting_ms, p->connected_ms ? p->connected_ms : e->ended_ms)
			    : 0;
	e->talk_s = p->connected_ms ? secs(p->connected_ms, e->ended_ms) : 0;
	scopy(e->own_number, sizeof(e->own_number), l->own_number);
	scopy(e->remote_number, sizeof(e->remote_number), l->ci.remote.canonical.text);
	scopy(e->remote_display, sizeof(e->remote_display), l->ci.remote.display);
	if (!contact_find(t, e->remote_number, e->remote_user, sizeof(e->remote_user),
			  e->remote_name, sizeof(e->remote_name)))
		scopy(e->remote_name, sizeof(e->remote_name), l->ci.remote_name);
	scopy(e->answered_user, sizeof(e->answered_user), answered_user);
	scopy(e->answered_number, sizeof(e->answered_number), sum->answered_by.canonical.text);
	scopy(e->diverted_from, sizeof(e->diverted_from), l->ci.diverted_from.canonical.text);
	scopy(e->project, sizeof(e->project), l->ci.project);
	scopy(e->project_info, sizeof(e->project_info), l->ci.project_info);
	e->offline = !jr_sessions_online(t->sessions, p->user);
	jr_private_apply(t->j->conf.private_mode, e);
}

static void publish_call(struct jr_tracker *t, const struct jr_tcall *c,
			 const struct jr_part *parts, size_t n, const struct jr_summary *sum,
			 const char *answered_user, char (*entry_ids)[40])
{
	struct jr *j = t->j;
	size_t len = sizeof(struct ucs_journal_call) + n * sizeof(struct ucs_journal_part);
	struct ucs_journal_call *jc;
	struct ucs_msg *msg = NULL;
	bool private_call = false;
	int err;

	if (!j->call_type)
		return;
	jc = calloc(1, len);
	if (!jc)
		return;
	jc->size = sizeof(*jc);
	jc->part_size = sizeof(struct ucs_journal_part);
	jc->n_parts = (uint32_t)n;
	jc->answered = sum->answered;
	jc->hidden = sum->hidden;
	scopy(jc->call.text, sizeof(jc->call.text), c->id);
	jc->started_ms = INT64_MAX;
	for (size_t i = 0; i < c->n_legs; i++) {
		if (c->legs[i].ci.started_ms && c->legs[i].ci.started_ms < jc->started_ms)
			jc->started_ms = c->legs[i].ci.started_ms;
		if (c->legs[i].ended_ms > jc->ended_ms)
			jc->ended_ms = c->legs[i].ended_ms;
	}
	if (jc->started_ms == INT64_MAX)
		jc->started_ms = 0;
	if (sum->remote_leg >= 0) {
		const struct jr_leg *r = &c->legs[sum->remote_leg];

		jc->internal = r->ci.internal != 0;
		jc->remote = r->ci.remote;
		if (contact_find(t, r->ci.remote.canonical.text, jc->remote_user.text,
				 sizeof(jc->remote_user.text), jc->remote_name,
				 sizeof(jc->remote_name)))
			jc->contact_found = 1;
		else
			scopy(jc->remote_name, sizeof(jc->remote_name), r->ci.remote_name);
	}
	scopy(jc->answered_user.text, sizeof(jc->answered_user.text), answered_user);
	jc->answered_by = sum->answered_by;
	for (size_t i = 0; i < n; i++) {
		struct ucs_journal_part *p =
			(struct ucs_journal_part *)(void *)((char *)jc + jc->size +
							    i * jc->part_size);
		const struct jr_leg *l = &c->legs[parts[i].leg];

		p->size = sizeof(*p);
		p->direction = parts[i].direction;
		p->rang = parts[i].rang;
		p->answered = parts[i].answered;
		p->unanswered = parts[i].unanswered;
		p->ended_by = l->ended_by;
		p->flags = parts[i].flags;
		p->private_call = parts[i].private_call;
		p->alerting_ms = parts[i].alerting_ms;
		p->connected_ms = parts[i].connected_ms;
		p->ended_ms = parts[i].ended_ms;
		scopy(p->user.text, sizeof(p->user.text), parts[i].user);
		p->line = l->ci.line;
		scopy(p->entry.text, sizeof(p->entry.text), entry_ids[i]);
		private_call |= parts[i].private_call;
	}
	if (private_call)
		jr_private_apply_call(j->conf.private_mode, jc);
	err = j->host->bus->msg_new(j->call_type, NULL, jc, len, &msg);
	free(jc);
	if (!err)
		err = j->host->bus->publish(j->self, msg);
	if (err)
		TLOG(t, UCS_LOG_WARNING, "call %s: journal.call not published: %s", c->id,
		     strerror(-err));
}

/* The call has ended everywhere (or went stale): entries, events, the
 * call's message; then it is forgotten. */
static void call_finish(struct jr_tracker *t, struct jr_tcall *c)
{
	struct jr *j = t->j;
	struct jr_part parts[JR_LEGS_MAX];
	char entry_ids[JR_LEGS_MAX][40];
	char answered_user[UCS_ID_MAX] = "", who[256] = "";
	struct jr_summary sum;
	struct jr_entry *e = NULL;
	char *json = NULL;
	size_t n, marked, wl = 0;

	for (size_t i = 0; i < c->n_legs; i++)
		if (!c->legs[i].owner[0] && c->legs[i].journal)
			line_facts(t, &c->legs[i]); /* bound to a user meanwhile? */
	n = jr_summarise(c->legs, c->n_legs, parts, JR_LEGS_MAX, &sum);
	if (!n)
		goto out; /* no line with journal on and an owner took part */
	marked = jr_attribute(j->conf.missed, j->conf.forwarded, sum.answered, parts, n);
	if (sum.answer_leg >= 0)
		scopy(answered_user, sizeof(answered_user), c->legs[sum.answer_leg].owner);
	else if (sum.answered_line[0])
		owner_of_line(t, sum.answered_line, answered_user, sizeof(answered_user));
	if (!answered_user[0] && sum.answered && sum.answered_by.canonical.text[0]) {
		char name[64];

		contact_find(t, sum.answered_by.canonical.text, answered_user,
			     sizeof(answered_user), name, sizeof(name));
	}
	e = malloc(sizeof(*e));
	json = malloc(16384);
	if (!e || !json) {
		TLOG(t, UCS_LOG_ERROR, "call %s: no memory for its journal entries", c->id);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int err, len;

		entry_fill(t, c, &parts[i], &sum, answered_user, e);
		err = jr_db_append(j, e);
		entry_ids[i][0] = '\0';
		if (err) {
			t->append_failed++;
			continue;
		}
		scopy(entry_ids[i], sizeof(entry_ids[i]), e->id);
		t->entries++;
		len = jr_entry_json(e, json, 16384);
		if (len > 0 && len < 16384)
			jr_publish_event(j, UCS_JOURNAL_CREATED, e->user, e->id, e->offline, json);
		if (parts[i].unanswered && wl < sizeof(who))
			wl += (size_t)snprintf(who + wl, sizeof(who) - wl, "%s%s", wl ? "," : "",
					       parts[i].user);
	}
	t->calls_journaled++;
	t->unanswered += marked;
	publish_call(t, c, parts, n, &sum, answered_user, entry_ids);
	TLOG(t, UCS_LOG_DEBUG, "call %s ended: %zu entries, %s, unanswered for %s", c->id, n,
	     sum.answered ? "answered" : "not answered", wl ? who : "nobody");
out:
	free(e);
	free(json);
	call_free(t, c);
}

/* At most JR_FINISH_BATCH calls per callback (a burst of calls ending at
 * once - a PBX link that dropped - must not hold the loop): when more are
 * due, the timer comes back after a millisecond. */
static void on_tick(struct ucs_timer *timer, void *arg)
{
	struct jr_tracker *t = arg;
	uint64_t now = mono_ms(t);
	size_t done = 0;

	while (t->close_head && t->close_head->close_at <= now && done < JR_FINISH_BATCH) {
		call_finish(t, t->close_head);
		done++;
	}
	if (!t->close_head)
		t->j->host->timer->stop(timer);
	else if (t->close_head->close_at <= now)
		t->j->host->timer->start(timer, 1, JR_TICK_MS);
}

/* A call that has seen no event for JR_STALE_MS is closed as it is: its
 * driver lost it (a PBX that went away without ending its calls). The
 * tick journals it; one log line per sweep says how many. */
static void on_sweep(struct ucs_timer *timer, void *arg)
{
	struct jr_tracker *t = arg;
	uint64_t now = mono_ms(t);
	size_t stale = 0;
	char first[UCS_ID_MAX] = "";

	(void)timer;
	for (size_t b = 0; b < JR_BUCKETS; b++)
		for (struct jr_tcall *c = t->buckets[b]; c; c = c->hnext) {
			if (c->closing || now - c->last_mono < (uint64_t)JR_STALE_MS)
				continue;
			for (size_t i = 0; i < c->n_legs; i++)
				if (!c->legs[i].ended) {
					c->legs[i].ended = 1;
					c->legs[i].ended_ms = unix_ms();
				}
			if (!stale++)
				scopy(first, sizeof(first), c->id);
			closing_add(t, c, 0);
		}
	if (stale) {
		t->stale_closed += stale;
		TLOG(t, UCS_LOG_WARNING,
		     "%zu calls without any event for %lld s are journaled as they are (the "
		     "first: %s): their line driver lost them",
		     stale, (long long)(JR_STALE_MS / 1000), first);
	}
	if (t->dropped_since_log) {
		TLOG(t, UCS_LOG_WARNING,
		     "%llu calls were not journaled in the last minute: "
		     "%d calls followed already",
		     (unsigned long long)t->dropped_since_log, JR_CALLS_MAX);
		t->dropped_since_log = 0;
	}
}

/* ---- call.state --------------------------------------------------------- */

/* ended_by for a line manager older than ABI 1.2 */
static int32_t end_derived(const struct ucs_call_info *ci)
{
	if (strcmp(ci->cause, "callPickup") == 0)
		return UCS_END_PICKED_UP;
	switch (ci->event) {
	case UCS_CE_DIVERTED:
		return UCS_END_FORWARDED;
	case UCS_CE_TRANSFERRED:
		return UCS_END_TRANSFERRED;
	case UCS_CE_FAILED:
		return UCS_END_FAILED;
	default:
		return UCS_END_CLEARED;
	}
}

static void terminate(char *s, size_t n)
{
	s[n - 1] = '\0';
}

static struct jr_tcall *call_new(struct jr_tracker *t, const char *id)
{
	struct jr_tcall *c;
	size_t b = hash_of(id);

	if (t->n_calls >= JR_CALLS_MAX) {
		uint64_t now = mono_ms(t);

		t->calls_dropped++;
		t->dropped_since_log++;
		if (!t->full_logged_mono || now - t->full_logged_mono >= (uint64_t)JR_SWEEP_MS) {
			TLOG(t, UCS_LOG_WARNING,
			     "%d calls followed already: call %s is not journaled", JR_CALLS_MAX,
			     id);
			t->full_logged_mono = now ? now : 1;
			t->dropped_since_log = 0;
		}
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	scopy(c->id, sizeof(c->id), id);
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	t->n_calls++;
	return c;
}

static struct jr_leg *leg_get(struct jr_tracker *t, struct jr_tcall *c,
			      const struct ucs_call_info *ci, bool has12)
{
	struct jr_leg *l;

	for (size_t i = 0; i < c->n_legs; i++)
		if (strcmp(c->legs[i].ci.line.text, ci->line.text) == 0)
			return &c->legs[i];
	if (ci->state == UCS_CS_NULL && !jr_null_leg_wanted(ci, has12))
		return NULL; /* the end of a part this call never showed */
	if (c->n_legs >= JR_LEGS_MAX) {
		t->legs_dropped++;
		if (!c->legs_full_logged)
			TLOG(t, UCS_LOG_WARNING,
			     "call %s touches more than %d lines: line %s is not journaled", c->id,
			     JR_LEGS_MAX, ci->line.text);
		c->legs_full_logged = true;
		return NULL;
	}
	if (c->n_legs == c->cap_legs) {
		size_t cap = c->cap_legs ? c->cap_legs * 2 : 2;
		struct jr_leg *legs = realloc(c->legs, cap * sizeof(*legs));

		if (!legs)
			return NULL;
		c->legs = legs;
		c->cap_legs = cap;
	}
	l = &c->legs[c->n_legs++];
	memset(l, 0, sizeof(*l));
	l->ci = *ci;
	l->seq = c->next_seq++;
	line_facts(t, l);
	return l;
}

static void on_call_state(const struct ucs_msg *msg, void *arg)
{
	struct jr_tracker *t = arg;
	size_t len = 0;
	const void *payload = t->j->host->bus->msg_payload(msg, &len);
	const size_t v12 = offsetof(struct ucs_call_info, project_info) +
			   sizeof(((struct ucs_call_info *)0)->project_info);
	struct ucs_call_info ci;
	struct jr_tcall *c;
	struct jr_leg *l;
	bool has12, all_ended = true;
	int64_t now = unix_ms();

	if (!payload || len < offsetof(struct ucs_call_info, alerting_ms))
		return;
	memset(&ci, 0, sizeof(ci));
	memcpy(&ci, payload, len < sizeof(ci) ? len : sizeof(ci));
	has12 = len >= v12 && ci.size >= v12;
	if (!has12) /* an older line manager: its tail is not there */
		memset(&ci.alerting_ms, 0,
		       sizeof(ci) - offsetof(struct ucs_call_info, alerting_ms));
	terminate(ci.call.text, sizeof(ci.call.text));
	terminate(ci.line.text, sizeof(ci.line.text));
	terminate(ci.remote.canonical.text, sizeof(ci.remote.canonical.text));
	terminate(ci.remote.display, sizeof(ci.remote.display));
	terminate(ci.remote_name, sizeof(ci.remote_name));
	terminate(ci.diverted_from.canonical.text, sizeof(ci.diverted_from.canonical.text));
	terminate(ci.diverted_from.display, sizeof(ci.diverted_from.display));
	terminate(ci.project, sizeof(ci.project));
	terminate(ci.cause, sizeof(ci.cause));
	terminate(ci.answered_line.text, sizeof(ci.answered_line.text));
	terminate(ci.answered_by.canonical.text, sizeof(ci.answered_by.canonical.text));
	terminate(ci.answered_by.display, sizeof(ci.answered_by.display));
	terminate(ci.project_info, sizeof(ci.project_info));
	if (!ci.call.text[0] || !ci.line.text[0])
		return;

	c = call_find(t, ci.call.text);
	if (!c) {
		if (ci.state == UCS_CS_NULL && !jr_null_leg_wanted(&ci, has12))
			return; /* the end of a call that began before the journal ran */
		c = call_new(t, ci.call.text);
		if (!c)
			return;
	}
	c->last_mono = mono_ms(t);
	l = leg_get(t, c, &ci, has12);
	if (!l) {
		if (!c->n_legs)
			call_free(t, c);
		return;
	}
	l->ci = ci;
	if (has12 && ci.alerting_ms)
		l->alerting_ms = ci.alerting_ms;
	else if (!l->alerting_ms && ci.state == UCS_CS_ALERTING)
		l->alerting_ms = now;
	l->flags |= ci.flags;
	if (ci.diverted_from.canonical.text[0] && ci.direction == UCS_CALL_INCOMING)
		l->flags |= UCS_CALLF_FORWARDED;
	if (ci.direction == UCS_CALL_INCOMING && ci.remote.canonical.text[0] == '\0' &&
	    ci.remote.display[0] == '\0' && ci.state != UCS_CS_NULL && !has12)
		l->flags |= UCS_CALLF_HIDDEN;
	if (ci.state == UCS_CS_NULL) {
		l->ended = 1;
		l->ended_ms = has12 && ci.ended_ms ? ci.ended_ms : now;
		/* a 1.2 line manager's UCS_END_NONE means "not known" (a call a
		 * resynchronisation ended): it stays so */
		l->ended_by = has12 ? ci.ended_by : end_derived(&ci);
	} else {
		l->ended = 0;
		l->ended_by = 0;
		l->ended_ms = 0;
	}
	for (size_t i = 0; i < c->n_legs && all_ended; i++)
		all_ended = c->legs[i].ended;
	/* a call the last leg moved on lives on elsewhere: wait longer for
	 * its next line, unless the call is known to be cleared */
	if (all_ended)
		closing_add(t, c,
			    ci.event != UCS_CE_CALL_CLEARED && (l->ended_by == UCS_END_FORWARDED ||
								l->ended_by == UCS_END_DEFLECTED ||
								l->ended_by == UCS_END_TRANSFERRED)
				    ? JR_MOVED_GRACE_MS
				    : JR_GRACE_MS);
	else
		closing_remove(t, c);
}

/* ---- start, stop, status ------------------------------------------------ */

int jr_track_start(struct jr *j)
{
	struct jr_tracker *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->j = j;
	if (getrandom(&t->run_id, sizeof(t->run_id), GRND_NONBLOCK) != sizeof(t->run_id))
		t->run_id = (uint32_t)unix_ms() ^ (uint32_t)getpid() << 16;
	err = jr_sessions_open(j, &t->sessions);
	if (!err)
		err = j->host->timer->open(j->self, &t->tick, on_tick, t);
	if (!err)
		err = j->host->timer->open(j->self, &t->sweep, on_sweep, t);
	if (!err)
		err = j->host->timer->start(t->sweep, JR_SWEEP_MS, JR_SWEEP_MS);
	if (!err)
		err = j->host->bus->subscribe(j->self, &t->sub, UCS_CALL_STATE_TYPE, UCS_SUB_EXACT,
					      NULL, on_call_state, t);
	j->trk = t;
	if (err) {
		TLOG(t, UCS_LOG_ERROR, "the call tracker did not start: %s", strerror(-err));
		jr_track_stop(j);
		return err;
	}
	TLOG(t, UCS_LOG_INFO,
	     "call tracker: a call is journaled %d ms after its last line ended (%d ms when it "
	     "moved on to a party ucsd does not see); up to %d calls and %d lines per call "
	     "followed; a call without events for %lld s is closed",
	     JR_GRACE_MS, JR_MOVED_GRACE_MS, JR_CALLS_MAX, JR_LEGS_MAX,
	     (long long)(JR_STALE_MS / 1000));
	return 0;
}

void jr_track_stop(struct jr *j)
{
	struct jr_tracker *t = j->trk;
	size_t open = 0;

	if (!t)
		return;
	if (t->sub)
		j->host->bus->unsubscribe(t->sub);
	t->sub = NULL;
	/* the calls that have ended everywhere are journaled now; a call still
	 * going at the stop is not (its end will never be seen) */
	while (t->close_head)
		call_finish(t, t->close_head);
	for (size_t b = 0; b < JR_BUCKETS; b++)
		while (t->buckets[b]) {
			call_free(t, t->buckets[b]);
			open++;
		}
	if (open)
		TLOG(t, UCS_LOG_INFO, "%zu calls still going at the stop are not journaled", open);
	j->host->timer->close(t->tick);
	j->host->timer->close(t->sweep);
	jr_sessions_close(t->sessions);
	if (t->snap)
		j->userdb->release(t->snap);
	free(t->nums);
	free(t);
	j->trk = NULL;
}

int jr_track_status(struct jr *j, char *buf, size_t cap)
{
	const struct jr_tracker *t = j->trk;

	if (!t)
		return snprintf(buf, cap, "\"calls_open\":0");
	return snprintf(buf, cap,
			"\"calls_open\":%zu,\"calls_journaled\":%llu,\"entries\":%llu,"
			"\"unanswered\":%llu,\"calls_dropped\":%llu,\"lines_dropped\":%llu,"
			"\"stale_closed\":%llu,\"append_failed\":%llu,\"sessions\":%zu",
			t->n_calls, (unsigned long long)t->calls_journaled,
			(unsigned long long)t->entries, (unsigned long long)t->unanswered,
			(unsigned long long)t->calls_dropped, (unsigned long long)t->legs_dropped,
			(unsigned long long)t->stale_closed, (unsigned long long)t->append_failed,
			jr_sessions_count(t->sessions));
}

/* For the tests and the store: the tracker's view of client sessions. */
bool jr_track_online(struct jr *j, const char *user)
{
	return j->trk && jr_sessions_online(j->trk->sessions, user);
}
