/*
 * plugins/journal/jr_track.h - the tracker: from "call.state" to journal
 * entries.
 *
 * The line manager publishes one "call.state" per call event per line; a
 * call that rings a hunt group, is picked up or diverted touches several
 * lines, each reporting its own part (a leg) under the same call id. The
 * journal wants the call as a whole: who rang first, who answered, whether
 * the call was answered at all. So the tracker keeps every call it sees,
 * keyed by ucs_call_info.call, with one leg per line, and turns the call
 * into entries only when it has ended everywhere:
 *
 *   a call ends when every leg it has is in state null, and no leg came
 *   back or joined for JR_GRACE_MS afterwards (a diversion target's first
 *   event may arrive a little after the diverting line's last one) - or
 *   JR_MOVED_GRACE_MS when the leg that ended last moved the call on
 *   (forwarded, deflected, transferred) and no call-cleared event came;
 *
 *   a participant is a user who owns (ucs.presence owners(), first owner)
 *   a line with journal on that took part in the call; a user with several
 *   such lines is one participant. Participants are ordered by when their
 *   phone started ringing (alerting_ms; one that never rang by when her
 *   part began);
 *
 *   the call is answered when any leg - journal on or not, owned or not -
 *   was connected (an incoming leg's answer, an outgoing leg's far end),
 *   picked a call up, ended picked up, or was deflected/redirected by ucsd
 *   for its user; a participant answered when one of her legs did, and
 *   her own deflection counts (manual 10.5, special cases);
 *
 *   unanswered: when nobody answered, ucs_pick(conf.missed) among those
 *   whose phones rang; when someone answered, ucs_pick(conf.forwarded)
 *   among those whose phones rang and who did not answer.
 *
 * The pure part (jr_summarise, jr_attribute) works on plain legs and is
 * unit tested on its own (tests/test_track.c); the bus, timers and look-ups
 * live around it in jr_track.c.
 *
 * Bounds: at most JR_CALLS_MAX calls followed at once (a new call beyond
 * that is not journaled and the tracker logs it), at most JR_LEGS_MAX legs
 * per call (further lines of that call are ignored, logged), and a call
 * without any event for JR_STALE_MS (a driver that lost its PBX and never
 * ended the call) is closed with the legs it has.
 */
#ifndef JR_TRACK_H
#define JR_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jr.h"

#define JR_GRACE_MS	  2000
/* The grace when the leg that ended last moved the call on (forwarded,
 * deflected, transferred): the call lives on at a line that may show up
 * later, or at one ucsd does not follow; a UCS_CE_CALL_CLEARED for the call
 * ends the wait at once (then JR_GRACE_MS). */
#define JR_MOVED_GRACE_MS 30000
#define JR_CALLS_MAX	  20000
#define JR_LEGS_MAX	  64
#define JR_STALE_MS	  (12ll * 3600 * 1000)
#define JR_TICK_MS	  250
#define JR_SWEEP_MS	  60000
#define JR_FINISH_BATCH	  32 /* calls journaled per loop callback at most */

/* One line's part of a call as the tracker keeps it: the last "call.state"
 * of the line plus what the tracker learnt about the line and its owner. */
struct jr_leg {
	struct ucs_call_info ci; /* the last call.state of this line for the call */
	char owner[UCS_ID_MAX];	 /* first owner of the line; "" none */
	char own_number[UCS_PHONE_MAX];
	int journal;	     /* the line has journal on */
	int private_line;    /* the line is flagged private */
	int ended;	     /* its part is in state null */
	int64_t alerting_ms; /* when it started ringing (ABI 1.2 field, else seen) */
	int64_t ended_ms;    /* when its part ended (ABI 1.2 field, else seen) */
	int32_t ended_by;    /* enum ucs_call_end (ABI 1.2 field, else derived) */
	uint32_t flags;	     /* UCS_CALLF_* (ABI 1.2 field, else derived) */
	uint32_t seq;	     /* order the tracker first saw the legs in */
};

/* One participating user of a call, the summary of her legs. */
struct jr_part {
	char user[UCS_ID_MAX];
	size_t leg;	   /* index of her representative leg (answering, else first ringing) */
	int direction;	   /* enum ucs_call_direction of that leg */
	bool rang;	   /* one of her phones rang on an incoming leg */
	bool answered;	   /* one of her legs answered, picked up, or she deflected it */
	bool unanswered;   /* set by jr_attribute */
	bool private_call; /* a private call or one of her lines is private */
	uint32_t flags;	   /* UCS_CALLF_* of all her legs */
	int64_t started_ms, alerting_ms, connected_ms, ended_ms;
	int64_t order_ms; /* alerting_ms, else started_ms: the ringing order */
};

/* What the legs say about the call as a whole. */
struct jr_summary {
	bool answered;	/* anyone answered, a participant or not */
	bool hidden;	/* the caller withheld her number */
	int answer_leg; /* the leg that answered (-1: none or unmonitored) */
	int remote_leg; /* the leg whose remote is the call's other party (-1: none) */
	char answered_line[UCS_ID_MAX];
	struct ucs_number answered_by; /* the number that answered, if known */
};

/* Whether a leg counts as answering the call (connected, picked up,
 * deflected or redirected by ucsd for its user). */
bool jr_leg_answered(const struct jr_leg *l);
/* A null-state call.state of a part not seen before that still makes a
 * leg: the line manager's only report of a part that ended before it showed
 * (forwarded before ringing, deflected, redirected, picked up; ABI 1.2). */
bool jr_null_leg_wanted(const struct ucs_call_info *ci, bool has12);

/* Groups the legs into participants (journal on, owned) in ringing order;
 * fills sum. Returns the number of parts written (at most cap). */
size_t jr_summarise(const struct jr_leg *legs, size_t n_legs, struct jr_part *parts, size_t cap,
		    struct jr_summary *sum);

/* The manual's two rule sets: sets parts[i].unanswered. Returns how many
 * were marked. missed/forwarded are enum ucs_pick. */
size_t jr_attribute(int missed, int forwarded, bool answered, struct jr_part *parts, size_t n);

/* Whether the user has a client session now (the tracker's view). */
bool jr_track_online(struct jr *j, const char *user);

/* ---- private calls (jr_private.c) -------------------------------------- */

/* Replaces the last three digits of a number with 'X' in place (fewer
 * digits: all of them). */
void jr_private_shorten(char *number);
/* Applies the mode to what the entry stores of the other party: shortened
 * keeps the number with XXX and drops the name; hidden drops both. */
void jr_private_apply(int mode, struct jr_entry *e);
/* The same for the call's remote party in "journal.call". */
void jr_private_apply_call(int mode, struct ucs_journal_call *c);
/* "normal", "shortened", "hidden" -> enum jr_private_mode; -EINVAL. */
int jr_private_parse(const char *name);
const char *jr_private_name(int mode);

/* ---- client sessions (jr_sessions.c) ----------------------------------- */

struct jr_sessions;

/* Follows "presence.in.login". */
int jr_sessions_open(struct jr *j, struct jr_sessions **out);
void jr_sessions_close(struct jr_sessions *s);
/* Records that a session of user came (logged_in 1) or went (0); the tracker
 * and the tests call it directly. */
void jr_sessions_note(struct jr_sessions *s, const char *user, const char *session, int logged_in);
/* Whether the user has a client session now. */
bool jr_sessions_online(const struct jr_sessions *s, const char *user);
size_t jr_sessions_count(const struct jr_sessions *s);

#endif
