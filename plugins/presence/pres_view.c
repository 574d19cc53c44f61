/*
 * plugins/presence/pres_view.c - what one watcher may see of one presence.
 *
 * A view starts empty and receives only what a right allows
 * (docs/plugins/presence.md has the table):
 *
 *   state, since, manual state   see_presence (without it: UNKNOWN, nothing else)
 *   note                         see_note
 *   public appointment           see_public_appointments (or see_private_appointments)
 *   private appointment          see_private_appointments: subject and place;
 *                                see_private_appointments_busy: subject "Private"
 *   AV busy / AV partner         see_av_state or see_av_detail / see_av_participants
 *   a line's number              see_numbers
 *   a line's state, direction,   see_line_state (or an extra line of the watcher)
 *     do-not-disturb
 *   the remote party             the line's see_incoming / see_outgoing by the
 *                                call's direction (or the extra line's show_*),
 *                                with the line's state visible
 *   forwarding on/off            the line's see_forwarding (else -1: hidden)
 *   the forwarding target        the line's see_fwd_number
 *   reason                       only when the watcher sees its cause: on_phone,
 *                                ringing and line_dnd need a visible line state,
 *                                av_call the AV state, meeting and out_of_office
 *                                the appointment, forwarded a visible forwarding;
 *                                manual and idle go with the state
 *
 * A line the watcher can see nothing of (no state, number or forwarding) is
 * left out. Presence switched off globally makes every view UNKNOWN.
 *
 * seq. The presence's seq moves with every change of anything in it, also
 * of what a watcher may not see: copied into her view it would tell her
 * that the remote party of a call changed although the number is hidden.
 * So a view carries seq only when it hides nothing (rights UCS_R_ALL: a
 * user's view of herself) and 0 otherwise; a client tells views apart by
 * their content, which moves only with what she sees, and views of one
 * user reach her in order.
 *
 * An extra line names a line by id, or by internal number when exactly one
 * live line carries it (pres_binding.c).
 */
#include <errno.h>
#include <string.h>

#include "pres.h"

static int line_justifies(const struct ucs_presence_line_view *v, int reason)
{
	switch (reason) {
	case UCS_PRES_R_ON_PHONE:
		return v->state == UCS_LINE_DIALING || v->state == UCS_LINE_CONNECTED ||
		       v->state == UCS_LINE_HELD;
	case UCS_PRES_R_RINGING:
		return v->state == UCS_LINE_RINGING;
	case UCS_PRES_R_LINE_DND:
		return v->dnd != 0;
	default:
		return 0;
	}
}

void pres_view_build(const struct ucs_presence *p, uint64_t rights, uint32_t xg, int off,
		     struct ucs_presence_view *out)
{
	struct ucs_presence *v = &out->presence;
	int cal = 0; /* 0 hidden, 1 "Private", 2 everything */
	int line_reason = 0, fwd_seen = 0, state_all = !!(rights & UCS_R_SEE_LINE_STATE);

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->rights = rights;
	out->contact_fields = rights_contact_fields(rights);
	v->size = sizeof(*v);
	v->user = p->user;
	if (off || !(rights & UCS_R_SEE_PRESENCE)) {
		v->state = UCS_PRES_UNKNOWN;
		return;
	}
	v->state = p->state;
	v->since = p->since;
	if ((rights & UCS_R_ALL) == UCS_R_ALL)
		v->seq = p->seq;
	v->manual = p->manual;

	if (p->calendar != UCS_CAL_FREE) {
		if (!p->calendar_private)
			cal = rights & (UCS_R_SEE_PUBLIC_APPT | UCS_R_SEE_PRIVATE_APPT) ? 2 : 0;
		else if (rights & UCS_R_SEE_PRIVATE_APPT)
			cal = 2;
		else if (rights & UCS_R_SEE_PRIVATE_APPT_BUSY)
			cal = 1;
	}
	if (cal) {
		v->calendar = p->calendar;
		v->calendar_private = p->calendar_private;
		v->calendar_end = p->calendar_end;
		if (cal == 2) {
			memcpy(v->subject, p->subject, sizeof(v->subject));
			memcpy(v->place, p->place, sizeof(v->place));
		} else {
			strcpy(v->subject, "Private");
		}
	}
	if (rights & UCS_R_SEE_NOTE)
		memcpy(v->note, p->note, sizeof(v->note));
	if (rights & (UCS_R_SEE_AV_STATE | UCS_R_SEE_AV_DETAIL)) {
		v->av_busy = p->av_busy;
		if (p->av_busy && (rights & UCS_R_SEE_AV_PARTICIPANTS))
			v->av_with = p->av_with;
	}

	for (uint32_t i = 0; i < p->n_lines && i < UCS_PRESENCE_LINES; i++) {
		const struct ucs_presence_line_view *l = &p->lines[i];
		struct ucs_presence_line_view *o;
		int cls = l->line_class;
		int st = state_all || (xg & PRES_XG(i, PRES_XG_STATE));
		int fwd = !!(rights & UCS_R_LINE(cls, UCS_RL_SEE_FORWARDING));
		int num = !!(rights & UCS_R_SEE_NUMBERS);
		int remote = 0;

		if (cls < UCS_LINE_FIRST || cls > UCS_LINE_ADDITIONAL || !(st || fwd || num))
			continue;
		o = &v->lines[v->n_lines++];
		o->line = l->line;
		o->line_class = cls;
		o->state = st ? l->state : UCS_LINE_IDLE;
		o->direction = st ? l->direction : UCS_CALL_NONE;
		o->dnd = st ? l->dnd : 0;
		if (st && l->direction == UCS_CALL_INCOMING)
			remote = (rights & UCS_R_LINE(cls, UCS_RL_SEE_INCOMING)) ||
				 (xg & PRES_XG(i, PRES_XG_INCOMING));
		else if (st && l->direction == UCS_CALL_OUTGOING)
			remote = (rights & UCS_R_LINE(cls, UCS_RL_SEE_OUTGOING)) ||
				 (xg & PRES_XG(i, PRES_XG_OUTGOING));
		if (remote) {
			o->remote = l->remote;
			memcpy(o->remote_name, l->remote_name, sizeof(o->remote_name));
		}
		o->forwarding = fwd ? l->forwarding : -1;
		if (fwd && l->forwarding && (rights & UCS_R_LINE(cls, UCS_RL_SEE_FWD_NUMBER)))
			o->fwd_target = l->fwd_target;
		if (num)
			o->number = l->number;
		if (st && line_justifies(l, p->reason))
			line_reason = 1;
		if (fwd && l->forwarding)
			fwd_seen = 1;
	}

	switch (p->reason) {
	case UCS_PRES_R_MANUAL:
	case UCS_PRES_R_IDLE:
		v->reason = p->reason;
		break;
	case UCS_PRES_R_ON_PHONE:
	case UCS_PRES_R_RINGING:
	case UCS_PRES_R_LINE_DND:
		v->reason = state_all || line_reason ? p->reason : UCS_PRES_R_NONE;
		break;
	case UCS_PRES_R_AV_CALL:
		v->reason = rights & (UCS_R_SEE_AV_STATE | UCS_R_SEE_AV_DETAIL) ? p->reason
										: UCS_PRES_R_NONE;
		break;
	case UCS_PRES_R_MEETING:
	case UCS_PRES_R_OUT_OF_OFFICE:
		v->reason = cal ? p->reason : UCS_PRES_R_NONE;
		break;
	case UCS_PRES_R_FORWARDED:
		v->reason = fwd_seen ? p->reason : UCS_PRES_R_NONE;
		break;
	default:
		v->reason = UCS_PRES_R_NONE;
		break;
	}
}

/* Mixes 8 bytes at a time; the view's padding is zero (built by memset). */
static uint64_t mix(uint64_t h, const unsigned char *b, size_t n)
{
	uint64_t w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, b, n);
	h = (h ^ w ^ n) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

uint64_t pres_view_hash(const struct ucs_presence_view *v)
{
	const unsigned char *b = (const unsigned char *)v;
	size_t w0 = offsetof(struct ucs_presence_view, watcher);
	size_t w1 = w0 + sizeof(v->watcher);
	size_t s0 =
		offsetof(struct ucs_presence_view, presence) + offsetof(struct ucs_presence, seq);
	size_t s1 = s0 + sizeof(v->presence.seq);
	uint64_t h = 0x243f6a8885a308d3ull;

	h = mix(h, b, w0);
	h = mix(h, b + w1, s0 - w1);
	h = mix(h, b + s1, sizeof(*v) - s1);
	return h ? h : 1;
}

/* An extra line names a line by id or by an internal number that only
 * this live line carries. */
static int names_line(const struct pres *p, const char *name,
		      const struct ucs_presence_line_view *lv, const struct pres_line *l)
{
	if (!name || !*name)
		return 0;
	return strcmp(name, lv->line.text) == 0 ||
	       (l && l->in.internal.text[0] && strcmp(name, l->in.internal.text) == 0 &&
		pres_internal_unique(p, name));
}

uint32_t pres_view_extra_grants(const struct pres *p, const struct pres_user *w,
				const struct ucs_presence *tp)
{
	const struct ucs_ud_user *d = w->ud;
	uint32_t xg = 0;

	if (!d || !d->n_extra_lines)
		return 0;
	for (uint32_t i = 0; i < tp->n_lines && i < UCS_PRESENCE_LINES; i++) {
		const struct pres_line *l = pres_line_find(p, tp->lines[i].line.text);

		for (size_t e = 0; e < d->n_extra_lines; e++) {
			const struct ucs_ud_extra_line *x = &d->extra_lines[e];

			if (!names_line(p, x->line, &tp->lines[i], l))
				continue;
			xg |= PRES_XG(i, PRES_XG_STATE);
			if (x->rights & UCS_UD_LINE_SHOW_OUTGOING)
				xg |= PRES_XG(i, PRES_XG_OUTGOING);
			if (x->rights & UCS_UD_LINE_SHOW_INCOMING)
				xg |= PRES_XG(i, PRES_XG_INCOMING);
		}
	}
	return xg;
}

int pres_get(struct pres *p, const char *watcher, const char *target, struct ucs_presence_view *out)
{
	struct pres_user *w = watcher ? pres_user_get(p, watcher) : NULL;
	struct pres_user *t = target ? pres_user_get(p, target) : NULL;
	uint64_t r;

	if (!w || !w->ud || !t || !t->ud)
		return -ENOENT;
	r = rights_get(p->re, w->ridx, t->ridx);
	pres_view_build(&t->pres, r, pres_view_extra_grants(p, w, &t->pres), p->presence_off, out);
	out->watcher = w->id;
	return 0;
}
