/*
 * tools/pbxsim/model.h - the ECMA-269 call model of the simulated PBX.
 *
 * A device is a dial string: an extension of this PBX (configured with
 * --extensions) or an external party (any other number, created when a
 * call reaches or comes from it and freed when its last connection goes).
 * A call is a set of connections; a connection is the relation of one
 * device to one call and has the ECMA-269 connection state (null,
 * initiated, alerting, connected, hold, queued, fail). Every change of a
 * connection is reported as an event to every monitor of every device the
 * call involves, with that device's own connection state as
 * localConnectionInfo (csta.c does the fan-out, events.c the encoding).
 *
 * The operations below are the PBX's behaviour. Both the CSTA services
 * (services.c) and the control port (control.c) drive the same operations,
 * so a call set up from the control port looks on the CSTA link exactly
 * like one made with MakeCall. Operations return 0 or a negative M_E*
 * code that the CSTA layer maps to a CSTAErrorCode.
 *
 * Call routing at delivery: forwarding immediate (a Diverted event at the
 * forwarding device, then delivery to the destination), do-not-disturb
 * (Failed, cause doNotDisturb), busy (a device with a call in the
 * initiated, alerting or connected state; forwarding busy if set, else
 * Failed, cause busy), otherwise the device rings (Delivered) and, with
 * forwarding on no answer, is diverted after --noanswer-s. External
 * numbers always ring; they answer only when told (control "answer") or
 * in the load mode.
 *
 * Clearing: when a party leaves a 2-party call the other connection goes
 * to null too (ECMA-269: no call with a single connection), so the events
 * are ConnectionCleared for the leaving party, ConnectionCleared for the
 * other, CallCleared; ClearCall ends every connection at once and sends
 * CallCleared alone. A transfer or conference never puts a device into
 * one call twice. A device's connections are kept oldest first, and the
 * extensions without any connection are kept in an index-addressed list
 * (model.idle) so the load mode finds an idle one in O(1).
 */
#ifndef PBXSIM_MODEL_H
#define PBXSIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUM_MAX 64

struct sim;
struct monitor;

enum cstate { CS_NULL, CS_INITIATED, CS_ALERTING, CS_CONNECTED, CS_HOLD, CS_QUEUED, CS_FAIL };

enum fwd_type { FWD_IMMEDIATE, FWD_BUSY, FWD_NOANSWER, FWD_N };

/* Errors of the operations, mapped to CSTAErrorCode by csta.c. */
enum {
	M_EINVCALL = -1000, /* operation invalidCallID */
	M_EINVDEV,	    /* operation invalidDeviceID */
	M_EINVCONN,	    /* operation invalidConnectionID */
	M_ESTATE,	    /* stateIncompatibility invalidConnectionState */
	M_EINVDEST,	    /* operation invalidDestination */
	M_EINVCALLING,	    /* operation invalidCallingDevice */
	M_ENOMEM,	    /* systemResourceAvailability resourceLimitExceeded */
	M_ENOCALL,	    /* stateIncompatibility invalidObjectState (nothing to pick up) */
	M_ECONNEXISTS,	    /* stateIncompatibility connectedCallExists */
	M_ESAMEDEV,	    /* operation notDifferentDevices (a party in both calls) */
};

struct device {
	char num[NUM_MAX];
	bool ext;
	bool dnd;
	int pgroup;		  /* pickup group (0: extensions in no --pickup-group) */
	char fwd[FWD_N][NUM_MAX]; /* "" = off */
	struct conn *conns;	  /* list through conn.dnext */
	struct monitor *mons;	  /* list through monitor.dnext */
	struct device *hnext;
	long idle_pos; /* extensions: index in model.idle while it has no connection, else -1 */
};

struct conn {
	struct call *call;
	struct device *dev;
	enum cstate st;
	uint64_t noanswer_due; /* alerting with forwarding on no answer: when (loop ms), else 0 */
	struct conn *cnext;    /* in call */
	struct conn *dnext;    /* in device, oldest first */
};

struct call {
	uint32_t id;
	char idstr[12];
	struct conn *conns;
	int nconns;
	char calling[NUM_MAX];
	char called[NUM_MAX];
	char lastredir[NUM_MAX];
	int redirects; /* forwardings so far (a loop stops after MAX_REDIRECTS) */
	/* A call to a hunt group's pilot: the group (index + 1; 0: none), the
	 * member it started with and how many members it has rung so far
	 * (sequential and cyclic hunt one member after the other). */
	int hunt;
	size_t hunt_start, hunt_step;
	struct call *hnext;
};

/*
 * Hunt groups (--hunt-group PILOT=MODE:EXT,EXT,...[:RING_S]). A call to the
 * pilot number is distributed to the member extensions, one callID
 * throughout: parallel rings every available member at once (Delivered at
 * each, cause distributed) and clears the others' connections when one
 * answers or the call is picked up; sequential rings the members in their
 * order, RING_S each, a Diverted event (cause distributed) moving the call
 * from one to the next; cyclic does the same starting at the member after
 * the one the group's previous call started with. A member is available
 * when it has no call (busy), no do-not-disturb and is not in the call
 * already; its own forwarding does not apply. The last member rung rings on
 * until someone answers or the caller hangs up; a group without any
 * available member fails the call (busy). The pilot is no device: it
 * cannot be monitored and appears as the calledDevice.
 */
#define HUNT_MAX_MEMBERS 32
#define HUNT_MAX_GROUPS	 64
#define HUNT_RING_S	 10 /* the default ring time of sequential and cyclic */

enum hunt_mode { HUNT_PARALLEL, HUNT_SEQUENTIAL, HUNT_CYCLIC };

struct hunt_group {
	char pilot[NUM_MAX];
	enum hunt_mode mode;
	unsigned ring_s;
	size_t n;
	struct device *members[HUNT_MAX_MEMBERS]; /* extensions: they live as long as the model */
	size_t next_start;			  /* cyclic: where the next call starts */
};

/* The device name of a caller who withheld her number ("call anonymous
 * TO"): an outside party that events name as <restricted/>. */
#define ANONYMOUS "anonymous"

struct model {
	struct device **dtab;
	size_t dcap, dcount;
	struct call **ctab;
	size_t ccap, ccount;
	uint32_t next_call;
	uint64_t calls_total;
	size_t nexts;
	struct device **exts; /* extensions in configuration order */
	size_t extcap;
	/* Extensions without any connection, in no order (the load mode picks
	 * one at random in O(1)); device.idle_pos is the index. */
	struct device **idle;
	size_t nidle;
	int npgroups;
	struct hunt_group *hunts;
	size_t nhunts;
};

const char *cstate_name(enum cstate s);
const char *fwd_type_name(enum fwd_type t); /* forwardImmediate, ... */
int fwd_type_parse(const char *s);	    /* CSTA or control spelling; -1 */

void model_init(struct model *m);
void model_free(struct model *m);
/* Adds extension num (idempotent). 0 or -ENOMEM / -EINVAL. */
int model_add_ext(struct model *m, const char *num);
/* Adds every extension of "100-199,250". 0 or -EINVAL/-ENOMEM. */
int model_add_ranges(struct model *m, const char *spec);
/* Puts the extensions of spec (which must exist) into a new pickup group. */
int model_pickup_group(struct model *m, const char *spec);
/* Adds a hunt group from "PILOT=parallel|sequential|cyclic:EXT,EXT,...[:RING_S]"
 * (the members must be extensions; the pilot a dialable number that is no
 * extension and no other group's pilot). 0, or -EINVAL with why. */
int model_hunt_group(struct model *m, const char *spec, const char **why);
/* The hunt group whose pilot is num, or NULL. */
struct hunt_group *model_hunt(struct model *m, const char *num);
struct device *model_dev(struct model *m, const char *num);
bool model_is_ext(struct model *m, const char *num);
struct call *model_call(struct model *m, const char *idstr);
struct call *model_call_id(struct model *m, uint32_t id);
/* The connection (callID, deviceID), or NULL; *err says why. */
struct conn *model_conn(struct model *m, const char *callid, const char *dev, int *err);
/* A device's connection in a call, or NULL. */
struct conn *call_conn_of(struct call *c, struct device *d);
/* The device's oldest connection in one of the states of mask (1 << st). */
struct conn *dev_conn_in(struct device *d, unsigned mask);
bool dev_busy(struct device *d);
/* Whether a number can be dialled at all (digits, + * #, 1..NUM_MAX-1). */
bool number_valid(const char *num);

/* The operations. */
/* from: an extension, an outside number, or ANONYMOUS (an outside caller
 * who withheld her number); to: anything for an extension, an extension
 * or a hunt group's pilot for an outside caller. */
int op_make_call(struct sim *s, const char *from, const char *to, struct call **out);
int op_answer(struct sim *s, struct conn *c);
int op_clear_conn(struct sim *s, struct conn *c);
int op_clear_call(struct sim *s, struct call *c);
int op_hold(struct sim *s, struct conn *c);
int op_retrieve(struct sim *s, struct conn *c);
int op_consult(struct sim *s, struct conn *existing, const char *to, struct call **out);
int op_transfer(struct sim *s, struct conn *held, struct conn *active, struct call **out);
int op_sst(struct sim *s, struct conn *active, const char *to, struct call **out);
int op_conference(struct sim *s, struct conn *held, struct conn *active, struct call **out);
int op_alternate(struct sim *s, struct conn *held, struct conn *active);
int op_reconnect(struct sim *s, struct conn *held, struct conn *active);
int op_deflect(struct sim *s, struct conn *alerting, const char *to);
int op_pickup(struct sim *s, struct conn *alerting, struct device *by);
int op_group_pickup(struct sim *s, struct device *by, struct call **out);
int op_digits(struct sim *s, struct conn *c, const char *digits);
int op_set_fwd(struct sim *s, struct device *d, enum fwd_type t, bool on, const char *to);
int op_set_dnd(struct sim *s, struct device *d, bool on);

/* The no-answer timer of (call, device) fired. */
void op_noanswer_due(struct sim *s, uint32_t callid, const char *dev);

#endif
