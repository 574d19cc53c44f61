/*
 * plugins/notify/nt_decide.c - who gets a missed-call message for one
 * finished call, and on which channels (see nt.h for the rules).
 *
 * The journal lists parts (one per line a user took part with) in ringing
 * order. A person is counted once: her parts are folded into one
 * participant at the place of her first ringing part, so a hunt group
 * that rang her desk and her softphone, or a distribution that came back
 * to her, still gives one mail. The rule then picks among the folded
 * participants in the same order as the journal's own rule does.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/presence.h>
#include <ucs/userdb.h>

#include "nt.h"
#include "ucs_pick.h"

#define NT_MAX_PARTS 1024

static const char *const reason_names[NT_REASON_COUNT] = {
	[NT_OK] = "ok",
	[NT_NOT_CHOSEN] = "not_chosen",
	[NT_ANSWERED_CALL] = "answered",
	[NT_NO_RECIPIENTS] = "recipients_none",
	[NT_INTERNAL] = "internal",
	[NT_HIDDEN] = "hidden",
	[NT_NO_CONTACT] = "no_contact",
	[NT_EXCLUDED] = "excluded",
	[NT_SHORT_RING] = "short_ring",
	[NT_SAME_DAY] = "repeated_same_day",
	[NT_NOT_LOGGED_IN] = "repeated_not_logged_in",
	[NT_NO_SERVICE] = "no_service",
	[NT_NO_ADDRESS] = "no_address",
	[NT_UNKNOWN_USER] = "unknown_user",
};

const char *nt_reason_name(int reason)
{
	if (reason < 0 || reason >= NT_REASON_COUNT)
		return "?";
	return reason_names[reason];
}

int nt_call_check(const struct ucs_journal_call *c, size_t len)
{
	if (!c || len < sizeof(*c) || c->size < sizeof(*c) || c->size > len)
		return -EINVAL;
	if (c->n_parts > NT_MAX_PARTS || c->part_size < sizeof(struct ucs_journal_part))
		return -EINVAL;
	/* parts are read in place: each must sit on its type's alignment */
	if (c->size % _Alignof(struct ucs_journal_part) ||
	    c->part_size % _Alignof(struct ucs_journal_part))
		return -EINVAL;
	if ((len - c->size) / c->part_size < c->n_parts)
		return -EINVAL;
	return 0;
}

/* A bounded copy of a fixed-size text member that a writer may not have
 * terminated. */
static void copy_text(char *dst, size_t cap, const char *src, size_t srccap)
{
	size_t n = strnlen(src, srccap);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool same_local_day(int64_t a_ms, int64_t b_ms)
{
	time_t a = (time_t)(a_ms / 1000), b = (time_t)(b_ms / 1000);
	struct tm ta, tb;

	if (!localtime_r(&a, &ta) || !localtime_r(&b, &tb))
		return false;
	return ta.tm_year == tb.tm_year && ta.tm_yday == tb.tm_yday;
}

/* When a ringing part stopped ringing. */
static int64_t ring_end(const struct ucs_journal_call *c, const struct ucs_journal_part *p)
{
	if (p->connected_ms > 0)
		return p->connected_ms;
	if (p->ended_ms > 0)
		return p->ended_ms;
	return c->ended_ms;
}

struct folded {
	char user[UCS_ID_MAX];
	uint32_t first_part, n_rang;
	bool rang, answered, incoming, private_call;
	int64_t alert, end;
	int ended_by;
};

/* Folds the parts into one entry per user, in the order of her first part. */
static size_t fold(const struct ucs_journal_call *c, struct folded *f)
{
	size_t n = 0;

	for (uint32_t i = 0; i < c->n_parts; i++) {
		const struct ucs_journal_part *p = ucs_journal_call_part(c, i);
		char user[UCS_ID_MAX];
		size_t k;

		copy_text(user, sizeof(user), p->user.text, sizeof(p->user.text));
		if (!*user)
			continue; /* a line without owner: nobody to tell */
		for (k = 0; k < n && strcmp(f[k].user, user) != 0; k++)
			;
		if (k == n) {
			memset(&f[k], 0, sizeof(f[k]));
			memcpy(f[k].user, user, sizeof(user));
			f[k].first_part = i;
			n++;
		}
		if (p->direction == UCS_CALL_INCOMING)
			f[k].incoming = true;
		if (p->answered)
			f[k].answered = true;
		if (p->size >= offsetof(struct ucs_journal_part, private_call) +
				       sizeof(p->private_call) &&
		    p->private_call)
			f[k].private_call = true;
		if (p->rang) {
			int64_t a = p->alerting_ms > 0 ? p->alerting_ms : c->started_ms;
			int64_t e = ring_end(c, p);

			if (!f[k].rang || a < f[k].alert)
				f[k].alert = a;
			if (e > f[k].end)
				f[k].end = e;
			if (!f[k].rang)
				f[k].first_part = i; /* her place is where she first rang */
			f[k].rang = true;
			f[k].n_rang++;
			f[k].ended_by = p->ended_by;
		}
	}
	/* In the order they first rang (stable: parts come in ringing order). */
	for (size_t i = 1; i < n; i++) {
		struct folded t = f[i];
		size_t j = i;

		for (; j > 0 && f[j - 1].first_part > t.first_part; j--)
			f[j] = f[j - 1];
		f[j] = t;
	}
	return n;
}

bool nt_email_ok(const char *addr)
{
	const char *at;

	if (!addr || !*addr || strlen(addr) > 254)
		return false;
	for (const char *p = addr; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		/* one address: no list separators, no display name, no quoting */
		if (ch <= ' ' || ch == 0x7f || strchr(",;<>()[]\\\"", ch))
			return false;
	}
	at = strchr(addr, '@');
	return at && at != addr && at[1] && !strchr(at + 1, '@') && at[1] != '.' &&
	       addr[strlen(addr) - 1] != '.';
}

static int channels(struct nt_recipient *r, nt_user_fn *user, void *arg)
{
	struct nt_user_facts facts = {0};
	bool svc_mail, svc_sms;

	user(arg, r->user, &facts);
	if (!facts.known)
		return NT_UNKNOWN_USER;
	svc_mail = (facts.services & UCS_SVC_MISSED_CALL_MAIL) != 0;
	svc_sms = (facts.services & UCS_SVC_MISSED_CALL_SMS) != 0;
	if (!svc_mail && !svc_sms)
		return NT_NO_SERVICE;
	r->mail = svc_mail && nt_email_ok(facts.email);
	r->sms = svc_sms && facts.mobile && *facts.mobile;
	r->mail_reason = !svc_mail ? NT_NO_SERVICE : (r->mail ? NT_OK : NT_NO_ADDRESS);
	r->sms_reason = !svc_sms ? NT_NO_SERVICE : (r->sms ? NT_OK : NT_NO_ADDRESS);
	return r->mail || r->sms ? NT_OK : NT_NO_ADDRESS;
}

int nt_decide(const struct nt_conf *conf, const struct ucs_journal_call *c, size_t len,
	      const struct nt_state *st, nt_user_fn *user, void *arg, int64_t now_ms,
	      struct nt_decision *d)
{
	char canonical[UCS_PHONE_MAX], display[64];
	struct folded *f = NULL;
	bool *cand = NULL, *chosen = NULL, private_call = false;
	size_t nf, k;
	int err, call_reason = NT_OK;

	memset(d, 0, sizeof(*d));
	err = nt_call_check(c, len);
	if (err)
		return err;
	err = -ENOMEM;
	f = calloc(c->n_parts ? c->n_parts : 1, sizeof(*f));
	if (!f)
		goto out;
	nf = fold(c, f);
	cand = calloc(nf ? nf : 1, sizeof(*cand));
	chosen = calloc(nf ? nf : 1, sizeof(*chosen));
	d->r = calloc(nf ? nf : 1, sizeof(*d->r));
	if (!cand || !chosen || !d->r)
		goto out;

	copy_text(canonical, sizeof(canonical), c->remote.canonical.text,
		  sizeof(c->remote.canonical.text));
	copy_text(display, sizeof(display), c->remote.display, sizeof(c->remote.display));
	if (!c->hidden)
		copy_text(d->caller, sizeof(d->caller), *canonical ? canonical : display,
			  sizeof(d->caller));

	for (k = 0; k < nf; k++) {
		if (f[k].private_call)
			private_call = true;
		if (f[k].incoming)
			d->incoming = true;
		cand[k] = f[k].incoming && f[k].rang && !f[k].answered;
	}

	/* A private call stays out of the repeated-call memory: neither read
	 * nor written. */
	d->remember = *d->caller && !private_call;

	/* Which reason applies to the whole call, before anyone is picked. */
	if (c->answered && !conf->even_if_answered)
		call_reason = NT_ANSWERED_CALL;
	else if (conf->recipients == UCS_PICK_NONE)
		call_reason = NT_NO_RECIPIENTS;
	ucs_pick(call_reason == NT_OK ? conf->recipients : UCS_PICK_NONE, cand, chosen, nf);

	if (call_reason == NT_OK) {
		/* Exceptions that concern the caller, in the manual's order. */
		if (conf->ex_internal && c->internal)
			call_reason = NT_INTERNAL;
		else if (conf->ex_hidden && c->hidden)
			call_reason = NT_HIDDEN;
		else if (conf->ex_no_contact && !c->contact_found && !c->remote_user.text[0])
			call_reason = NT_NO_CONTACT;
		else if (!c->hidden && nt_excluded(conf, canonical, display))
			call_reason = NT_EXCLUDED;
	}

	for (k = 0; k < nf; k++) {
		struct nt_recipient *r;
		int64_t ring_ms;

		if (!cand[k])
			continue;
		r = &d->r[d->n++];
		memcpy(r->user, f[k].user, sizeof(r->user));
		r->first_part = f[k].first_part;
		r->n_parts = f[k].n_rang;
		r->alerting_ms = f[k].alert;
		r->ring_end_ms = f[k].end > f[k].alert ? f[k].end : f[k].alert;
		ring_ms = r->ring_end_ms - r->alerting_ms;
		r->ring_s = (int)((ring_ms + 500) / 1000);
		r->ended_by = f[k].ended_by;
		r->mail_reason = r->sms_reason = NT_NOT_CHOSEN;
		if (call_reason != NT_OK) {
			r->reason = call_reason;
		} else if (!chosen[k]) {
			r->reason = NT_NOT_CHOSEN;
		} else if (ring_ms < (int64_t)conf->min_ring_s * 1000) {
			r->reason = NT_SHORT_RING;
		} else {
			int64_t last = d->remember ? nt_state_notified(st, r->user, d->caller) : 0;

			if (conf->ex_same_day && last > 0 && same_local_day(last, now_ms))
				r->reason = NT_SAME_DAY;
			else if (conf->ex_not_logged_in && last > 0 &&
				 nt_state_last_login(st, r->user) < last &&
				 !nt_state_online(st, r->user))
				r->reason = NT_NOT_LOGGED_IN;
			else
				r->reason = channels(r, user, arg);
		}
		if (r->reason != NT_OK) {
			r->mail = r->sms = false;
			if (r->mail_reason == NT_NOT_CHOSEN)
				r->mail_reason = r->sms_reason = r->reason;
		}
	}
	err = 0;
out:
	free(f);
	free(cand);
	free(chosen);
	if (err)
		nt_decision_free(d);
	return err;
}

void nt_decide_told(struct nt_state *st, bool remember, const char *caller, const char *user,
		    int64_t now_ms)
{
	if (remember && caller && *caller)
		nt_state_note(st, user, caller, now_ms);
}

void nt_decide_commit(const struct nt_decision *d, struct nt_state *st, int64_t now_ms)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].mail || d->r[i].sms)
			nt_decide_told(st, d->remember, d->caller, d->r[i].user, now_ms);
}

void nt_decision_free(struct nt_decision *d)
{
	free(d->r);
	d->r = NULL;
	d->n = 0;
}
