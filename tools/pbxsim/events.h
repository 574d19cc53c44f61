/*
 * tools/pbxsim/events.h - building and fanning out CSTA events.
 *
 * The call model describes an event once: its element name, the call whose
 * devices receive it, extra receivers that already left the call (the
 * releasing device of ConnectionCleared, the diverting device of
 * Diverted), and the XML of its fields. ev_emit() then sends one document
 * per monitor of every receiving device, each with that monitor's
 * monitorCrossRefID and the device's own connection state in the call as
 * localConnectionInfo.
 */
#ifndef PBXSIM_EVENTS_H
#define PBXSIM_EVENTS_H

#include <stdbool.h>

#include "model.h"
#include "sbuf.h"

struct sim;

struct ev {
	const char *type;
	struct call *call;
	struct device *extra[4];
	int nextra;
	struct device *only; /* device events (forwarding, DND): just this device */
	bool no_lci;	     /* no localConnectionInfo (CallCleared, device events) */
	const char *cause;
	struct sbuf body;
};

/* Starts an event (body reset); returns the body to append fields to. */
struct sbuf *ev_begin(struct sim *s, struct ev *e, const char *type, struct call *call,
		      const char *cause);
void ev_extra(struct ev *e, struct device *d);
/* Appends <name><callID>..</callID><deviceID>..</deviceID></name>. */
void ev_conn(struct sbuf *b, const char *name, const char *callid, const char *dev);
/* Appends <name><deviceIdentifier>..</deviceIdentifier></name> (notKnown when empty,
 * restricted for ANONYMOUS). */
void ev_dev(struct sbuf *b, const char *name, const char *num);
/* lastRedirectionDevice: the device or notRequired. */
void ev_redir(struct sbuf *b, const char *num);
void ev_emit(struct sim *s, struct ev *e);
/* Whether any receiver of the call (plus extra) has a monitor: events
 * nobody receives need not be built. */
bool ev_wanted(struct call *c, struct device *extra);

#endif
