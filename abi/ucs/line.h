/*
 * ucs/line.h - the line-driver contract: how a PBX driver plugin hands its
 * PBX's lines and calls to the line manager, and how it is asked to act.
 *
 * A driver knows one kind of PBX (CSTA over TCP, SIP, a vendor's API). It
 * reports what the PBX says and does what it is asked; it knows nothing of
 * users, rights, locations, journals or clients. Everything above the wire
 * belongs to the line manager (the "lines" plugin), which provides the
 * service "ucs.linemgr" that this header describes, and publishes the
 * shared state of ucs/lines.h that every consumer reads.
 *
 * The life of a driver:
 *
 *   1. In init() (its descriptor `requires` "ucs.linemgr", so the manager
 *      is initialised first) it fetches the service and calls driver_add()
 *      with its request vtable. It gets a handle back.
 *   2. It declares its line groups (group_add: one per PBX link is typical)
 *      and its lines (line_add). A line's id is the driver's own, unique
 *      across the server: "<link>/<device>" is the convention ("pbx1/111").
 *      Lines start UCS_LS_NOT_INITIALISED.
 *   3. As the PBX answers, it reports line_status(): OPEN when the line is
 *      monitored, FAILED with a reason when it could not be opened
 *      ("overallMonitorLimitExceeded", "login error", "licence"), and
 *      NOT_AVAILABLE for every line at once when the link to the PBX is
 *      lost. The manager keeps the calls of a line that is not available:
 *      they may well go on at the PBX.
 *   4. Call events arrive through call_event() in the ECMA-269 model, one
 *      per monitored line the PBX reports them for, with the numbers exactly
 *      as the PBX gave them (device ids such as "100" or "N<0891234>" are the
 *      driver's to unwrap into a dial string, not to format: the manager runs
 *      them through ucs.dialplan). Forwarding and do-not-disturb changes of a
 *      line arrive through line_forwarding() and line_dnd().
 *   5. After a line is (re)opened the driver reports the calls the device
 *      has now as UCS_CE_SNAPSHOT events and then line_synced(). The manager
 *      ends every call it still held for that line that no event named since
 *      the line turned OPEN (it ended during the outage) and keeps the
 *      others, so a call that continued across an outage is neither lost nor
 *      counted twice. A snapshot of a line that stayed open (the PBX lost
 *      messages) starts with line_resync(). A driver that cannot tell the
 *      whole present (a snapshot it could not get, or one cut short) does
 *      not call line_synced(): ending a live call is worse than keeping a
 *      dead one until its next event.
 *   6. In stop() it calls driver_remove(): its lines are published as
 *      UCS_LS_REMOVED and its open requests fail with -ENETDOWN.
 *
 * Requests. The manager checks rights, capabilities and dialling rules and
 * then calls ops->request() with a struct ucs_line_request whose numbers are
 * already the dial strings the PBX wants. The driver returns 0 when it took
 * the request (it answers later, exactly once, through request_done() with
 * the token it was given) or a negative errno when it refuses at once, and
 * then request_done() is not called. The manager times a request out after
 * its own deadline; a late request_done() for an unknown token is ignored.
 * The statuses of request_done() are those of ucs/lines.h: 0, -EREMOTEIO
 * (the PBX refused; reason carries its words, for example
 * "invalidCallID"), -ETIMEDOUT, -ENETDOWN, -ENOTSUP.
 *
 * Every function runs on the loop thread, and every slot of the manager's
 * vtable may be called from within any ops callback (a driver that knows
 * the answer at once may call request_done() before request() returns 0;
 * open() may report line_status() at once). The manager, in turn, may call
 * ops back from within its slots, so a driver re-finds its own records
 * after each call into the manager instead of holding pointers into tables
 * that may grow. After driver_remove() the handle is gone: pending tokens
 * are dropped without a request_done().
 *
 * Capabilities. A group and each line carry a UCS_CAP_* mask (ucs/lines.h):
 * what the driver can do for them. The manager intersects it with what the
 * line group allows ("CTI functions switched off") and never sends a request
 * the mask lacks.
 */
#ifndef UCS_LINE_H
#define UCS_LINE_H

#include <ucs/lines.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_LINEMGR_SERVICE "ucs.linemgr"
#define UCS_LINEMGR_VERSION 1

/* The manager's handle of one registered driver. */
struct ucs_line_driver;

/* A line group as the driver sees it (one PBX link). */
struct ucs_line_group_desc {
	uint32_t size;
	uint32_t flags;	   /* UCS_LGF_* */
	uint64_t caps;	   /* UCS_CAP_* the driver serves for the group's lines */
	char name[64];	   /* unique across the server: "pbx1" */
	char location[64]; /* dialplan location name; "" for the default */
};

/* The driver creates lines itself when someone shows interest in a number
 * it has no line for (line_wanted); without it, wanted numbers are ignored. */
#define UCS_LGF_CREATE_ON_INTEREST   (1u << 0)
/* The PBX offers remote office natively (UCS_OP_REMOTE_OFFICE). */
#define UCS_LGF_NATIVE_REMOTE_OFFICE (1u << 1)

struct ucs_line_desc {
	uint32_t size;
	uint32_t reserved;
	uint64_t caps;		 /* UCS_CAP_*; 0: the group's */
	struct ucs_id id;	 /* "<group>/<device>" by convention */
	struct ucs_phone device; /* the number the PBX uses for it: its internal number */
	char group[64];		 /* a group this driver added */
	char name[64];		 /* the driver's (PBX's) name for the line, "" */
};

/*
 * One call event as one line saw it. The party fields are the PBX's device
 * ids of the event's parties, "" when the event does not name them; which
 * one is the line's own device and which is the other party the manager
 * works out from the line's device. Transferred and conferenced events name
 * the resulting call in `call` and the call that ended in `old_call` (the
 * other call of the two that were joined); `connected` is then the party
 * this line is connected to afterwards (from the PBX's transferred or
 * conference connections), "" when the line left the call.
 *
 * A diverted event names the new destination in `connected` and the
 * diverting device in `redirecting`. `cause` is the PBX's ECMA-269 event
 * cause as it gave it; the manager reads "callPickup" (a pickup: on the
 * diverted line the call was picked up elsewhere, on the picking line it
 * is the picked call), "redirected" (a deflection), "singleStepTransfer" /
 * "transfer" (the call arrives by a transfer) and the failure causes, so a
 * driver passes causes on unchanged.
 */
struct ucs_line_call_event {
	uint32_t size;
	int32_t event; /* enum ucs_call_event */
	int32_t state; /* enum ucs_conn_state: this line's connection after the event */
	int32_t reserved;
	int64_t time_ms;       /* Unix ms when the PBX reported it; 0: now */
	struct ucs_id line;    /* the driver's line id */
	char call[64];	       /* the PBX's call id */
	char old_call[64];     /* transferred, conferenced: the call merged into `call` */
	char calling[128];     /* calling device */
	char called[128];      /* called device (as dialled) */
	char connected[128];   /* answering / alerting / added party, "" */
	char redirecting[128]; /* last redirection / diverting device, "" */
	char cause[64];	       /* ECMA-269 event cause ("busy", "noAnswer"), "" */
	/* ABI 1.2 (the manager accepts the shorter 1.1 event without them). */
	uint32_t flags; /* UCS_LCE_* */
	uint32_t reserved2;
};

/* ucs_line_call_event.flags. The PBX said the calling party withheld its
 * number: CSTA's callingDevice "restricted" instead of a device identifier,
 * or the PBX's own explicit privacy marker. A caller whose number is only
 * unknown (CSTA "notKnown", no callingDevice at all) leaves it clear. */
#define UCS_LCE_CALLING_HIDDEN (1u << 0)

/* A request the manager asks a driver to carry out. For transfer,
 * conference, alternate and reconnect, `call` is the call the user acts on
 * (usually the active one) and `other_call` the other of the two; which of
 * them is on hold at the PBX is the driver's to know from the events. */
struct ucs_line_request {
	uint32_t size;
	int32_t op;   /* enum ucs_call_op */
	int32_t mode; /* enum ucs_forward_mode */
	int32_t on;
	struct ucs_id line;	 /* the driver's line id the request acts on */
	char call[64];		 /* the PBX's call id */
	char other_call[64];	 /* transfer, conference, alternate, reconnect */
	struct ucs_phone target; /* pickup: the device whose call is picked up */
	char number[128];	 /* the dial string for the PBX (dialplan applied) */
	char digits[64];	 /* DTMF */
};

struct ucs_line_driver_ops {
	uint32_t size;
	/* Carry out a request: 0 (request_done follows, exactly once) or a
	 * negative errno now (and no request_done). */
	int (*request)(void *ctx, const struct ucs_line_request *rq, uint64_t token);
	/* Open (monitor) a line again: a retry of a failed line or opening on
	 * demand. The outcome arrives as line_status(). NULL: not supported. */
	int (*open)(void *ctx, const char *line);
	/* The manager no longer needs the line (closed on demand). May be NULL. */
	int (*close)(void *ctx, const char *line);
	/* Someone is interested in a number the driver has no line for (group
	 * option "create lines automatically"); the driver may line_add() it.
	 * May be NULL. */
	int (*line_wanted)(void *ctx, const char *group, const char *device);
};

struct ucs_linemgr_api {
	uint32_t size;
	/* Register a driver; `name` ([a-z0-9-]+) names it in logs and status.
	 * The vtable and ctx must live until driver_remove(). */
	int (*driver_add)(struct ucs_plugin *self, const char *name,
			  const struct ucs_line_driver_ops *ops, void *ctx,
			  struct ucs_line_driver **out);
	/* Every line of the driver becomes UCS_LS_REMOVED; its requests fail. */
	void (*driver_remove)(struct ucs_line_driver *drv);

	/* -EEXIST (a group or line id taken), -EINVAL (malformed), -ENOENT
	 * (line_add to an unknown group). */
	int (*group_add)(struct ucs_line_driver *drv, const struct ucs_line_group_desc *group);
	int (*line_add)(struct ucs_line_driver *drv, const struct ucs_line_desc *line);
	int (*line_remove)(struct ucs_line_driver *drv, const char *line);

	/* Line state, as the PBX reports it. reason: "" or the PBX's words. */
	void (*line_status)(struct ucs_line_driver *drv, const char *line, int status,
			    const char *reason);
	void (*line_forwarding)(struct ucs_line_driver *drv, const char *line, int mode, int on,
				const char *to);
	void (*line_dnd)(struct ucs_line_driver *drv, const char *line, int on);

	void (*call_event)(struct ucs_line_driver *drv, const struct ucs_line_call_event *ev);
	/* Every call of the line now was reported (snapshot after an open). */
	void (*line_synced)(struct ucs_line_driver *drv, const char *line);

	/* The answer to a request: status as in ucs/lines.h, reason "" or
	 * the PBX's words, call the PBX's id of a call the request created. */
	void (*request_done)(struct ucs_line_driver *drv, uint64_t token, int status,
			     const char *reason, const char *call);

	/* The PBX re-initialised (a restart, a new session): the manager
	 * reacts as its error-handling settings say (re-open every line,
	 * or wait for the driver's line_status). */
	void (*driver_reinit)(struct ucs_line_driver *drv, const char *reason);

	/* A snapshot of the line begins now although its status did not change
	 * (the PBX said messages were lost, or the driver re-monitored an open
	 * line): the next line_synced() ends every call of the line that no
	 * event named since this call. Turning OPEN begins one implicitly. */
	void (*line_resync)(struct ucs_line_driver *drv, const char *line);
};

#ifdef __cplusplus
}
#endif

#endif
