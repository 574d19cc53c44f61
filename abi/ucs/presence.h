/*
 * ucs/presence.h - one presence per user, seen by each watcher through the
 * rights it holds: the "ucs.presence" service and its bus messages.
 *
 * Inputs. The presence plugin computes a user's presence from what other
 * plugins publish (the types are registered by the presence plugin; the
 * publishers only fill the payloads):
 *   "presence.in.login"    a client session of the user came or went, or
 *                          went idle (client-api);
 *   "presence.in.line"     the state of one line: idle, ringing, dialing,
 *                          connected, held, forwarding, do-not-disturb, with
 *                          the remote number (the line manager);
 *   "presence.in.calendar" the user's current appointment or absence (the
 *                          calendar sources);
 *   "presence.in.av"       the user's audio/video chat is busy or free.
 * A manual state and note are set through the service (set()), subject to
 * the actor's rights.
 *
 * Precedence (first match wins; docs/plugins/presence.md has the table):
 * manual do-not-disturb; a line in do-not-disturb; a line ringing or in a
 * call (busy, on the phone); an audio/video call (busy); calendar out of
 * office (away); calendar meeting (busy); manual busy, away or offline; a
 * line forwarded unconditionally (away); every session idle (away); logged
 * in or manually available (available); otherwise offline. `since` is when
 * the state last changed (not the reason, which a watcher may not see).
 *
 * Line binding. A line is bound to a user when its canonical number equals
 * one of her business numbers (global switch "automatic line binding", and
 * per store the business/business 2 switches) or when her first phone,
 * second phone or other lines name it directly. Her first line is the one
 * bound by business number or first phone, her second line the one bound by
 * business 2 or second phone; every other is additional.
 *
 * Outputs. "presence.changed" (key "user:<id>") carries the unfiltered
 * presence for trusted consumers (journal, federation). "presence.view"
 * (key "watcher:<id>") carries what one watcher may see of one user, built
 * from her rights: a Public watcher sees "busy", a Team watcher sees "on
 * the phone with +49 89 ..." when it may see incoming numbers. Views go to
 * the watchers registered with watch(); a watcher gets at most one view of
 * a user per 100 ms (configurable), and the last state always arrives.
 */
#ifndef UCS_PRESENCE_H
#define UCS_PRESENCE_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_PRESENCE_SERVICE "ucs.presence"
#define UCS_PRESENCE_VERSION 1

#define UCS_PRESENCE_IN_LOGIN_TYPE    "presence.in.login"
#define UCS_PRESENCE_IN_LINE_TYPE     "presence.in.line"
#define UCS_PRESENCE_IN_CALENDAR_TYPE "presence.in.calendar"
#define UCS_PRESENCE_IN_AV_TYPE	      "presence.in.av"
#define UCS_PRESENCE_CHANGED_TYPE     "presence.changed"
#define UCS_PRESENCE_VIEW_TYPE	      "presence.view"

enum ucs_presence_state {
	UCS_PRES_UNKNOWN = 0, /* the watcher may not see it */
	UCS_PRES_AVAILABLE = 1,
	UCS_PRES_AWAY = 2,
	UCS_PRES_BUSY = 3,
	UCS_PRES_DND = 4,
	UCS_PRES_OFFLINE = 5,
};

enum ucs_presence_reason {
	UCS_PRES_R_NONE = 0, /* or hidden from this watcher */
	UCS_PRES_R_MANUAL = 1,
	UCS_PRES_R_ON_PHONE = 2,
	UCS_PRES_R_RINGING = 3,
	UCS_PRES_R_AV_CALL = 4,
	UCS_PRES_R_MEETING = 5,
	UCS_PRES_R_OUT_OF_OFFICE = 6,
	UCS_PRES_R_FORWARDED = 7,
	UCS_PRES_R_LINE_DND = 8,
	UCS_PRES_R_IDLE = 9,
};

/* --- inputs --------------------------------------------------------- */

struct ucs_presence_login {
	uint32_t size;
	int32_t logged_in; /* 0: this session ended */
	int32_t idle;	   /* the session reports no user activity */
	uint32_t reserved;
	struct ucs_id user;
	struct ucs_id session; /* distinguishes a user's several sessions */
};

enum ucs_line_state {
	UCS_LINE_GONE = 0, /* the line was removed or went out of service */
	UCS_LINE_IDLE = 1,
	UCS_LINE_RINGING = 2,
	UCS_LINE_DIALING = 3,
	UCS_LINE_CONNECTED = 4,
	UCS_LINE_HELD = 5,
};

enum ucs_call_direction {
	UCS_CALL_NONE = 0,
	UCS_CALL_INCOMING = 1,
	UCS_CALL_OUTGOING = 2,
};

struct ucs_presence_line {
	uint32_t size;
	int32_t state;	   /* enum ucs_line_state */
	int32_t direction; /* enum ucs_call_direction */
	int32_t forwarding;  /* unconditional forwarding is on */
	int32_t dnd;	     /* do-not-disturb is on */
	uint32_t reserved;
	struct ucs_id line;	     /* the line manager's line id */
	struct ucs_phone internal;   /* "111" */
	struct ucs_phone canonical;  /* "+4981513685111"; "" when unknown */
	struct ucs_phone remote;     /* the other party, canonical */
	char remote_name[64];
	struct ucs_phone fwd_target; /* canonical */
};

enum ucs_calendar_kind {
	UCS_CAL_FREE = 0,
	UCS_CAL_MEETING = 1,
	UCS_CAL_OUT_OF_OFFICE = 2,
};

struct ucs_presence_calendar {
	uint32_t size;
	int32_t kind;	   /* enum ucs_calendar_kind */
	int32_t private_;  /* the appointment is marked private */
	uint32_t reserved;
	int64_t start;	   /* Unix seconds */
	int64_t end;	   /* the state lapses by itself at end (0: until changed) */
	struct ucs_id user;
	char subject[128];
	char place[64];
};

struct ucs_presence_av {
	uint32_t size;
	int32_t busy;
	struct ucs_id user;
	struct ucs_id with; /* the other participant (user id or address) */
};

/* --- outputs -------------------------------------------------------- */

#define UCS_PRESENCE_LINES 4 /* lines carried in one presence (first, second, two more) */

struct ucs_presence_line_view {
	struct ucs_id line;
	int32_t line_class; /* enum ucs_line_class of ucs/rights.h */
	int32_t state;	    /* enum ucs_line_state; UCS_LINE_IDLE when hidden */
	int32_t direction;
	int32_t forwarding; /* -1: hidden */
	int32_t dnd;
	uint32_t reserved;
	struct ucs_phone number; /* the line's number; "" when hidden */
	struct ucs_phone remote; /* "" when hidden */
	char remote_name[64];
	struct ucs_phone fwd_target;
};

struct ucs_presence {
	uint32_t size;
	int32_t state;	/* enum ucs_presence_state */
	int32_t reason; /* enum ucs_presence_reason */
	int32_t manual; /* the manual state, 0 when none */
	int32_t av_busy;
	int32_t calendar; /* enum ucs_calendar_kind */
	int32_t calendar_private;
	uint32_t n_lines;
	int64_t calendar_end;
	int64_t since; /* Unix milliseconds of the last change */
	uint64_t seq;  /* moves with every change of this user's presence */
	struct ucs_id user;
	struct ucs_id av_with;
	char note[256];
	char subject[128];
	char place[64];
	struct ucs_presence_line_view lines[UCS_PRESENCE_LINES];
};

/* What one watcher may see of one user: a struct ucs_presence filtered by
 * the watcher's rights (hidden parts are empty or zero), plus the rights
 * and the contact fields that decided it. */
struct ucs_presence_view {
	uint32_t size;
	uint32_t contact_fields; /* bit per enum ucs_contact_field */
	uint64_t rights;	 /* UCS_R_* the watcher holds on the user */
	struct ucs_id watcher;
	struct ucs_presence presence;
};

struct ucs_presence_api {
	uint32_t size;
	/* Registers that `watcher` wants views of `target`; the current view
	 * follows at once. Watching twice is counted (unwatch as often). */
	int (*watch)(const char *watcher, const char *target);
	int (*unwatch)(const char *watcher, const char *target);
	/* The view `watcher` has of `target` now (-ENOENT: unknown user). */
	int (*get)(const char *watcher, const char *target, struct ucs_presence_view *out);
	/* Sets `target`'s manual state (enum ucs_presence_state; 0 clears it,
	 * -1 keeps it) and note (NULL keeps it). -EPERM when actor lacks
	 * UCS_R_SET_PRESENCE / UCS_R_SET_NOTE on target, -ENOTSUP when
	 * presence is switched off globally. */
	int (*set)(const char *actor, const char *target, int state, const char *note);
	/* The lines bound to a user (ids and classes, up to max); the count. */
	int (*lines)(const char *user, struct ucs_id *ids, int32_t *classes, size_t max);
	/* The users a line is bound to (up to max); the count. */
	int (*owners)(const char *line, struct ucs_id *users, size_t max);
};

#ifdef __cplusplus
}
#endif

#endif
