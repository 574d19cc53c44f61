/*
 * tools/pbxsim/csta.h - the CSTA side: TCP links, sessions and monitors.
 *
 * Each accepted TCP connection is one link (struct link) with its framing
 * reader, an output buffer, its application session (when
 * --require-session asks for StartApplicationSession first), its
 * keep-alive state and its monitors. A monitor ties a link to a device
 * under a monitorCrossRefID; events reach a link only through its
 * monitors. Closing a link ends its monitors at once.
 *
 * Output: documents are appended to the link's buffer and written with
 * one uv_write at a time, so under load many documents share one write.
 * While a request is handled the buffer is held, and the response is put
 * in front of the events the request caused (a client sees
 * MakeCallResponse before the ServiceInitiated of that call).
 *
 * Faults (control "fault ...") act here: drop every link, stall reading
 * and writing for a while, send one malformed or one oversized frame,
 * lower the monitor limit.
 */
#ifndef PBXSIM_CSTA_H
#define PBXSIM_CSTA_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"
#include "model.h"
#include "sbuf.h"

struct sim;
struct link;

/* "fault error SERVICE VALUE [N]": the next N requests of SERVICE are
 * answered with CSTAErrorCode <CATEGORY>VALUE</CATEGORY> (faults.c). */
#define SVC_FAULTS_MAX 8
struct svc_fault {
	char service[40]; /* "" = free slot */
	const char *category;
	char value[48];
	unsigned left;
};

struct monitor {
	uint32_t id;
	char idstr[12];
	struct device *dev;
	struct link *link;
	struct monitor *dnext; /* in device */
	struct monitor *lnext; /* in link */
};

struct link {
	uv_tcp_t tcp;
	struct sim *sim;
	struct link *prev, *next;
	struct frame_rd rd;
	struct sbuf out;      /* waiting to be written */
	struct sbuf inflight; /* being written */
	uv_write_t wreq;
	bool writing;
	bool closing;
	bool hold;	 /* a request is being handled */
	size_t hold_off; /* where its response goes in out */
	bool session;	 /* StartApplicationSession accepted */
	uint32_t session_id;
	uint64_t session_expires; /* with --require-session: the link ends then */
	struct monitor *mons;
	uint64_t partial_since; /* the current incomplete frame began (ms), 0 = none */
	uint64_t frames_in;	/* frames received on this link */
	uint64_t ka_sent;	/* our SystemStatus waits for an answer since, 0 = none */
	char ka_invoke[5];
	uint64_t last_ka;
	uint32_t next_invoke;
	char peer[64];
	bool sink;	  /* tests: output is discarded instead of written */
	const char *fail; /* why the link must close (closed by the housekeeping timer,
			     never in the middle of an event fan-out) */
};

struct csta {
	uv_tcp_t server;
	uv_timer_t house; /* keep-alive and slow-input checks */
	struct link *links;
	uint32_t next_mon;
	uint32_t next_session;
	size_t nmons;
	bool monitor_limited; /* false: no limit */
	size_t monitor_limit; /* MonitorStart is refused at this many (0: every one) */
	bool stalled;
	uint64_t stall_started;
	bool first_monitor; /* a MonitorStart has been answered */
	uint64_t sent, received, events;
	struct svc_fault svc_faults[SVC_FAULTS_MAX]; /* "fault error" (faults.c) */
	uint64_t lose_until; /* "fault lose MS": events are dropped until then (loop ms) */
	uint64_t lost;	     /* events dropped so */
};

int csta_start(struct sim *s, const char *bind, int port, int *bound);
void csta_close(struct sim *s);

/* Sends one document (the XML after the header) on a link; false when the
 * link takes no more output (closing, or failed and about to close). */
bool link_send(struct link *l, const char invoke[4], const char *xml, size_t len);
/* Sends <NAME xmlns=NS>BODY</NAME> with the configured namespace. */
void link_send_doc(struct link *l, const char invoke[4], const char *name, const char *body);
void link_close(struct link *l, const char *why);
/* Bytes received on a link: frames are handled, a framing error closes it. */
void link_input(struct link *l, const void *data, size_t n);

/* Faults. */
void csta_fault_drop(struct sim *s);
int csta_fault_stall(struct sim *s, uint64_t ms);
void csta_fault_garbage(struct sim *s);
void csta_fault_oversize(struct sim *s);
/* Device and system faults (faults.c). Each returns how many documents
 * (events or requests) it sent, or a negative M_E* / -EINVAL. */
int fault_service_state(struct sim *s, const char *ext, bool out_of_service);
int fault_system_status(struct sim *s, const char *status);
int fault_monitor_ended(struct sim *s, const char *ext);
/* Arms "fault error"; -EINVAL for a service pbxsim does not implement or
 * a value not in ECMA-323's error definitions. */
int fault_error_arm(struct sim *s, const char *service, const char *value, unsigned n);
/* When an armed fault matches this request name: answers it with the
 * error (consuming one of N) and returns true. */
bool fault_error_take(struct link *l, const char *invoke, const char *service);
/* Whether pbxsim implements this request (services.c). */
bool svc_known(const char *name);

/* The namespace of --edition. */
const char *csta_ns(const struct sim *s);

/* Handles one received document on a link (services.c). */
void svc_handle(struct link *l, const char invoke[4], const char *xml, size_t len);
/* Removes a monitor from its device and link lists and frees it. */
void monitor_free(struct sim *s, struct monitor *m);

#endif
