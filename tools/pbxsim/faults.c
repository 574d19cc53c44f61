/*
 * tools/pbxsim/faults.c - PBX-side situations a CTI client must survive,
 * as the control port's "fault outofservice|systemstatus|monitor-ended|
 * error" commands set them off. Each sends what a real PBX sends in that
 * situation, with ECMA-323's element names: OutOfServiceEvent and
 * BackInServiceEvent to the device's monitors, a SystemStatus request with
 * the given status to every link, MonitorEndedEvent (the monitor is gone
 * afterwards), and CSTAErrorCode answers to the next N requests of one
 * service instead of doing them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

/* ECMA-269 SystemStatus values. */
static const char *const system_statuses[] = {
	"initializing",	     "enabled",		 "normal",	    "messagesLost",	"disabled",
	"partiallyDisabled", "overloadImminent", "overloadReached", "overloadRelieved", NULL};

/* The error values "fault error" accepts and the CSTAErrorCode category
 * each belongs to (the categories services.c uses for its own errors;
 * "generic" is taken as operation's). */
static const struct {
	const char *value;
	const char *category;
} error_values[] = {
	{"generic", "operation"},
	{"requestIncompatibleWithObject", "operation"},
	{"valueOutOfRange", "operation"},
	{"objectNotKnown", "operation"},
	{"invalidCallingDevice", "operation"},
	{"invalidCalledDevice", "operation"},
	{"invalidForwardingDestination", "operation"},
	{"privilegeViolationOnSpecifiedDevice", "operation"},
	{"invalidDeviceID", "operation"},
	{"invalidCallID", "operation"},
	{"invalidConnectionID", "operation"},
	{"invalidDestination", "operation"},
	{"invalidCallingDeviceID", "operation"},
	{"invalidFeature", "operation"},
	{"invalidMonitorCrossRefID", "operation"},
	{"notDifferentDevices", "operation"},
	{"serviceNotSupported", "operation"},
	{"invalidObjectState", "stateIncompatibility"},
	{"invalidConnectionState", "stateIncompatibility"},
	{"connectedCallExists", "stateIncompatibility"},
	{"noActiveCall", "stateIncompatibility"},
	{"noHeldCall", "stateIncompatibility"},
	{"noCallToClear", "stateIncompatibility"},
	{"noConnectionToClear", "stateIncompatibility"},
	{"noCallToAnswer", "stateIncompatibility"},
	{"serviceBusy", "systemResourceAvailability"},
	{"resourceBusy", "systemResourceAvailability"},
	{"resourceOutOfService", "systemResourceAvailability"},
	{"networkBusy", "systemResourceAvailability"},
	{"networkOutOfService", "systemResourceAvailability"},
	{"overallMonitorLimitExceeded", "systemResourceAvailability"},
	{"resourceLimitExceeded", "systemResourceAvailability"},
	{"securityInfoViolated", "security"},
};

static struct device *fault_ext(struct sim *s, const char *ext)
{
	struct device *d = model_dev(&s->m, ext);

	return d && d->ext ? d : NULL;
}

int fault_service_state(struct sim *s, const char *ext, bool out_of_service)
{
	struct device *d = fault_ext(s, ext);
	struct sbuf *b;
	uint64_t before = s->csta.events;

	if (!d)
		return M_EINVDEV;
	b = ev_begin(s, &s->ev, out_of_service ? "OutOfServiceEvent" : "BackInServiceEvent", NULL,
		     NULL);
	ev_dev(b, "device", d->num);
	s->ev.only = d;
	s->ev.no_lci = true;
	ev_emit(s, &s->ev);
	return (int)(s->csta.events - before);
}

int fault_system_status(struct sim *s, const char *status)
{
	char body[64], inv[5];
	int n = 0;
	size_t i;

	for (i = 0; system_statuses[i]; i++) {
		if (!strcmp(system_statuses[i], status))
			break;
	}
	if (!system_statuses[i])
		return -EINVAL;
	snprintf(body, sizeof(body), "<systemStatus>%s</systemStatus>", status);
	for (struct link *l = s->csta.links; l; l = l->next) {
		if (l->closing || l->fail)
			continue;
		/* A fresh invoke id, never the keep-alive's: the answer is
		 * taken and dropped like any response to pbxsim. */
		l->next_invoke = l->next_invoke % 9998 + 1;
		snprintf(inv, sizeof(inv), "%04u", l->next_invoke);
		link_send_doc(l, inv, "SystemStatus", body);
		n++;
	}
	return n;
}

int fault_monitor_ended(struct sim *s, const char *ext)
{
	struct device *d = fault_ext(s, ext);
	char body[96];
	int n = 0;

	if (!d)
		return M_EINVDEV;
	while (d->mons) {
		struct monitor *m = d->mons;

		snprintf(body, sizeof(body),
			 "<monitorCrossRefID>%s</monitorCrossRefID><cause>resourcesNotAvailable"
			 "</cause>",
			 m->idstr);
		link_send_doc(m->link, "9999", "MonitorEndedEvent", body);
		s->csta.events++;
		monitor_free(s, m);
		n++;
	}
	return n;
}

int fault_error_arm(struct sim *s, const char *service, const char *value, unsigned n)
{
	struct svc_fault *slot = NULL;
	const char *cat = NULL;

	if (!svc_known(service) || strlen(value) >= sizeof(slot->value))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(error_values) / sizeof(error_values[0]); i++) {
		if (!strcmp(error_values[i].value, value))
			cat = error_values[i].category;
	}
	if (!cat)
		return -EINVAL;
	/* One fault per service: arming it again replaces it. */
	for (size_t i = 0; i < SVC_FAULTS_MAX; i++) {
		struct svc_fault *f = &s->csta.svc_faults[i];

		if (!strcmp(f->service, service)) {
			slot = f;
			break;
		}
		if (!slot && !f->service[0])
			slot = f;
	}
	if (!slot)
		return M_ENOMEM;
	snprintf(slot->service, sizeof(slot->service), "%s", service);
	snprintf(slot->value, sizeof(slot->value), "%s", value);
	slot->category = cat;
	slot->left = n;
	if (!n)
		slot->service[0] = '\0';
	return 0;
}

bool fault_error_take(struct link *l, const char *invoke, const char *service)
{
	struct sim *s = l->sim;
	char body[128];

	for (size_t i = 0; i < SVC_FAULTS_MAX; i++) {
		struct svc_fault *f = &s->csta.svc_faults[i];

		if (!f->service[0] || strcmp(f->service, service))
			continue;
		snprintf(body, sizeof(body), "<%s>%s</%s>", f->category, f->value, f->category);
		link_send_doc(l, invoke, "CSTAErrorCode", body);
		sim_log(s, "csta: %s answered with the armed error %s (%u left)", service, f->value,
			f->left - 1);
		if (--f->left == 0)
			f->service[0] = '\0';
		return true;
	}
	return false;
}
