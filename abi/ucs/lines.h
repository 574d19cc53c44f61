/*
 * ucs/lines.h - the line manager as its consumers see it: the "ucs.lines"
 * service, the line and call state on the bus, and call control.
 *
 * A PBX driver (ucs/line.h, the driver contract) reports what its PBX says,
 * numbers as the PBX gave them. The line manager turns that into the shared
 * state every consumer reads: lines with a status, capabilities and
 * forwarding, and calls in the ECMA-269 model with canonical numbers. The
 * journal, presence and every client session read this state; none of them
 * talks to a driver.
 *
 * State on the bus. "line.status" (struct ucs_line_info) is published when
 * anything about a line changes; "call.state" (struct ucs_call_info) on
 * every call event of a line: one message per line a call touches, so a
 * consumer that watches line 111 sees everything it needs under key
 * "line:<id>". A consumer that starts late (a client that connects, a
 * session that resynchronises after a queue overflow) reads the present
 * through the service: line() and calls().
 *
 * Call control. "call.control" is a bus request (struct ucs_call_control,
 * reply struct ucs_call_control_result) served by the line manager. The
 * actor is the user on whose behalf the request is made; the line manager
 * checks her rights (her own lines; pickup and forwarding on another
 * user's lines only with those rights; "only authorised users may dial")
 * and then asks the driver. The reply comes after the driver accepted or
 * refused: status 0, -EPERM (rights), -ENOENT (no such line or call),
 * -ENOTSUP (the line lacks the capability), -EREMOTEIO (the PBX refused:
 * reason carries its words, for example "invalidCallID"), -ETIMEDOUT (the
 * PBX did not answer), -ENETDOWN (the line is not available). A requester
 * that asks with no line manager running gets -ENOENT from the bus at once.
 *
 * Numbers in messages carry both forms: canonical ("+4989123456", or an
 * internal number "220") and display ("+49 89 123456"), both "" when
 * unknown or suppressed (CLIR). Consumers that show a number to a user
 * filter it through the rights of ucs/rights.h themselves.
 */
#ifndef UCS_LINES_H
#define UCS_LINES_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_LINES_SERVICE "ucs.lines"
#define UCS_LINES_VERSION 1

#define UCS_LINE_STATUS_TYPE  "line.status"  /* struct ucs_line_info, key "line:<id>" */
#define UCS_CALL_STATE_TYPE   "call.state"   /* struct ucs_call_info, key "line:<id>" */
#define UCS_CALL_CONTROL_TYPE "call.control" /* request: ucs_call_control -> ucs_call_control_result */
#define UCS_CALL_CONTROL_RESULT_TYPE "call.control.result"

/* Capabilities of a line (what its driver serves and its group allows). */
#define UCS_CAP_MAKE_CALL	 (1ull << 0)
#define UCS_CAP_ANSWER		 (1ull << 1)
#define UCS_CAP_CLEAR_CONNECTION (1ull << 2)
#define UCS_CAP_CLEAR_CALL	 (1ull << 3)
#define UCS_CAP_HOLD		 (1ull << 4)
#define UCS_CAP_RETRIEVE	 (1ull << 5)
#define UCS_CAP_CONSULT		 (1ull << 6)
#define UCS_CAP_TRANSFER	 (1ull << 7)
#define UCS_CAP_CONFERENCE	 (1ull << 8)
#define UCS_CAP_ALTERNATE	 (1ull << 9)
#define UCS_CAP_RECONNECT	 (1ull << 10)
#define UCS_CAP_DEFLECT		 (1ull << 11)
#define UCS_CAP_PICKUP		 (1ull << 12) /* directed pickup */
#define UCS_CAP_GROUP_PICKUP	 (1ull << 13)
#define UCS_CAP_DTMF		 (1ull << 14)
#define UCS_CAP_FWD_IMMEDIATE	 (1ull << 15)
#define UCS_CAP_FWD_BUSY	 (1ull << 16)
#define UCS_CAP_FWD_NOANSWER	 (1ull << 17)
#define UCS_CAP_DND		 (1ull << 18)
#define UCS_CAP_SNAPSHOT	 (1ull << 19)
#define UCS_CAP_OPEN_ON_DEMAND	 (1ull << 20)
#define UCS_CAP_REMOTE_OFFICE	 (1ull << 21) /* native or emulated (see lines) */

enum ucs_line_status {
	UCS_LS_NOT_INITIALISED = 0,
	UCS_LS_OPEN = 1,
	UCS_LS_FAILED = 2,	   /* could not be opened: reason says why */
	UCS_LS_OUT_OF_SERVICE = 3,
	UCS_LS_NOT_AVAILABLE = 4,  /* the connection to the PBX is lost */
	UCS_LS_REMOVED = 5,	   /* the line is gone (last message for it) */
};

enum ucs_forward_mode {
	UCS_FWD_IMMEDIATE = 0,
	UCS_FWD_BUSY = 1,
	UCS_FWD_NOANSWER = 2,
};
#define UCS_FWD_MODES 3

/* A number in both forms. */
struct ucs_number {
	struct ucs_phone canonical;
	char display[64];
};

struct ucs_line_info {
	uint32_t size;
	int32_t status;	 /* enum ucs_line_status */
	uint64_t caps;	 /* UCS_CAP_* */
	int32_t dnd;
	int32_t private_line; /* calls on it are private calls */
	int32_t trunk;	      /* a trunk line (calls on it are outside calls) */
	int32_t fwd_on[UCS_FWD_MODES];
	int32_t journal;      /* journal on: its calls go into the journal */
	struct ucs_id id;
	struct ucs_phone internal; /* "111", "111b" */
	struct ucs_number number;  /* the line's own number */
	struct ucs_number fwd_to[UCS_FWD_MODES];
	char name[64];
	char group[64];	   /* line group name */
	char location[64];
	char reason[128];  /* why the line failed or is out of service, "" */
};

enum ucs_conn_state {
	UCS_CS_NULL = 0,
	UCS_CS_INITIATED = 1,
	UCS_CS_ALERTING = 2,
	UCS_CS_CONNECTED = 3,
	UCS_CS_HELD = 4,
	UCS_CS_QUEUED = 5,
	UCS_CS_FAILED = 6,
};

enum ucs_call_event {
	UCS_CE_SNAPSHOT = 0, /* present state, not a change (resynchronisation) */
	UCS_CE_SERVICE_INITIATED = 1,
	UCS_CE_ORIGINATED = 2,
	UCS_CE_DELIVERED = 3,
	UCS_CE_ESTABLISHED = 4,
	UCS_CE_HELD = 5,
	UCS_CE_RETRIEVED = 6,
	UCS_CE_DIVERTED = 7,
	UCS_CE_TRANSFERRED = 8,
	UCS_CE_CONFERENCED = 9,
	UCS_CE_CONNECTION_CLEARED = 10,
	UCS_CE_CALL_CLEARED = 11,
	UCS_CE_FAILED = 12,
};

/* One call as one line sees it. */
struct ucs_call_info {
	uint32_t size;
	int32_t event;	   /* enum ucs_call_event */
	int32_t state;	   /* enum ucs_conn_state of this line's connection */
	int32_t direction; /* enum ucs_call_direction of ucs/presence.h */
	int32_t internal;  /* the other party is internal */
	int32_t private_call;
	int64_t started_ms;   /* Unix ms: offered or dialled */
	int64_t connected_ms; /* 0: not (yet) connected */
	struct ucs_id call;   /* unique while the call lasts */
	struct ucs_id line;
	struct ucs_number remote; /* the other party */
	char remote_name[64];
	struct ucs_number diverted_from; /* a forwarded call: who forwarded it */
	char project[64];
	char cause[64]; /* clear / failure cause, ECMA-269 name ("busy", "noAnswer") */
	/* ABI 1.2: what the journal needs to record a call and attribute an
	 * unanswered one (check size before reading). */
	int64_t alerting_ms; /* Unix ms this line started ringing; 0: it never rang */
	int64_t ended_ms;    /* Unix ms this line's part ended; 0: not (yet) ended */
	int32_t ended_by;    /* enum ucs_call_end: why this line's part ended */
	uint32_t flags;	     /* UCS_CALLF_* */
	/* Who answered a call this line did not answer itself: the line that
	 * took it (a pickup, a deflection or a redirection to a monitored line),
	 * and the number (also for an unmonitored party). "" when unknown. */
	struct ucs_id answered_line;
	struct ucs_number answered_by;
	char project_info[64]; /* what the dialled project's J puts in the journal */
};

/* Why a line's part of a call ended (ucs_call_info.ended_by). The journal
 * tells a missed call from one answered elsewhere by it. */
enum ucs_call_end {
	UCS_END_NONE = 0,	/* still going, or the reason is not known */
	UCS_END_CLEARED = 1,	/* hung up (by either side) */
	UCS_END_PICKED_UP = 2,	/* another phone picked the ringing call up */
	UCS_END_DEFLECTED = 3,	/* a user forwarded it from ucsd (deflect) */
	UCS_END_REDIRECTED = 4, /* ucsd's server-side redirection moved it on */
	UCS_END_FORWARDED = 5,	/* the PBX diverted it (forwarding, distribution) */
	UCS_END_TRANSFERRED = 6, /* the line transferred the call away */
	UCS_END_FAILED = 7,	/* the call failed (busy, invalid number) */
};

/* ucs_call_info.flags */
#define UCS_CALLF_FORWARDED   (1u << 0) /* reached this line by forwarding/diversion */
#define UCS_CALLF_PICKUP      (1u << 1) /* this line picked the call up */
#define UCS_CALLF_TRANSFERRED (1u << 2) /* the call came to this line by a transfer */
#define UCS_CALLF_CONFERENCE  (1u << 3) /* the line was in a conference on the call */
#define UCS_CALLF_ANSWERED    (1u << 4) /* this line's connection was connected at some time */
#define UCS_CALLF_HIDDEN      (1u << 5) /* the other party withheld its number (CLIR) */

enum ucs_call_op {
	UCS_OP_MAKE = 1,     /* line, number, project */
	UCS_OP_ANSWER,	     /* call */
	UCS_OP_CLEAR,	     /* call: clear this line's connection */
	UCS_OP_CLEAR_CALL,   /* call: clear every connection */
	UCS_OP_HOLD,	     /* call */
	UCS_OP_RETRIEVE,     /* call */
	UCS_OP_CONSULT,	     /* call, number */
	UCS_OP_TRANSFER,     /* call, and number (blind) or other_call (consulted) */
	UCS_OP_CONFERENCE,   /* call, other_call */
	UCS_OP_ALTERNATE,    /* call, other_call */
	UCS_OP_RECONNECT,    /* call, other_call */
	UCS_OP_DEFLECT,	     /* call, number */
	UCS_OP_PICKUP,	     /* line (the picking line), and target_line or target_user */
	UCS_OP_DTMF,	     /* call, digits */
	UCS_OP_FORWARD_SET,  /* line, mode, number */
	UCS_OP_FORWARD_CLEAR, /* line, mode */
	UCS_OP_DND_SET,	     /* line, on */
	UCS_OP_REMOTE_OFFICE, /* line, on, number: calls of the line go to number */
};

struct ucs_call_control {
	uint32_t size;
	int32_t op;   /* enum ucs_call_op */
	int32_t mode; /* enum ucs_forward_mode */
	int32_t on;
	struct ucs_id actor; /* the user asking; "" for the system */
	struct ucs_id line;
	struct ucs_id call;
	struct ucs_id other_call;
	struct ucs_id target_line;
	struct ucs_id target_user;
	char number[128]; /* as the user entered it: the line manager dials it */
	char project[64];
	char digits[64];
};

struct ucs_call_control_result {
	uint32_t size;
	int32_t status;	   /* 0 or a negative errno (see above) */
	struct ucs_id call; /* the new call (make, consult, pickup) */
	char reason[128];  /* the driver's or the line manager's words */
};

struct ucs_lines_api {
	uint32_t size;
	/* One line's present state: 0, -ENOENT. */
	int (*line)(const char *id, struct ucs_line_info *out);
	/* The line whose internal number (or canonical number) is `number`. */
	int (*line_by_number)(const char *number, struct ucs_line_info *out);
	/* The calls on a line now (event UCS_CE_SNAPSHOT), up to max; the count. */
	int (*calls)(const char *line, struct ucs_call_info *out, size_t max);
	/* Every line id, up to max; the count (status monitor). */
	int (*list)(struct ucs_id *ids, size_t max);
};

#ifdef __cplusplus
}
#endif

#endif
