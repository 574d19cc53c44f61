/*
 * plugins/admin-api/adm_audit.c - the audit trail of the administration.
 *
 * Every administrator action - a login that succeeded or failed, every
 * write, a configuration applied, a restart, an import - is one log line
 * at info (warning when it was refused or failed), tag admin-api, prefix
 * "audit:", saying who, from where, what and on what:
 *
 *     audit: admin 'root' from 127.0.0.1: users.create alice
 *     audit: admin 'root' from 127.0.0.1: users.create alice: failed (conflict)
 *
 * and one "admin.audit" bus message with the same facts (struct
 * adm_audit_event, JSON through its to_json), so a later journal or a
 * SIEM bridge can keep them without parsing log lines. Secrets never
 * appear: passwords are not part of an action's object, and text from the
 * peer (a login tried) is quoted byte by byte so it cannot forge a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"

static int audit_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct adm_audit_event *ev = payload;
	char ts[40];
	json_t *o;
	char *text;
	int n;

	if (len < sizeof(*ev))
		return -EINVAL;
	adm_iso_time(ev->time_ms, ts, sizeof(ts));
	o = json_pack("{s:s,s:s%,s:s%,s:s%,s:s%,s:b,s:s%}", "time", ts, "login", ev->login,
		      strnlen(ev->login, sizeof(ev->login)), "address", ev->address,
		      strnlen(ev->address, sizeof(ev->address)), "action", ev->action,
		      strnlen(ev->action, sizeof(ev->action)), "object", ev->object,
		      strnlen(ev->object, sizeof(ev->object)), "ok", ev->ok, "result", ev->result,
		      strnlen(ev->result, sizeof(ev->result)));
	if (!o)
		return -EINVAL; /* not UTF-8: cannot be JSON text */
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, cap, "%s", text);
	free(text);
	return n;
}

static const struct ucs_msg_type_desc audit_desc = {
	.size = sizeof(audit_desc),
	.name = ADM_AUDIT_TYPE,
	.version = 1,
	.payload_size = sizeof(struct adm_audit_event),
	.to_json = audit_to_json,
};

int adm_audit_init(struct adm *a)
{
	return a->host->bus->type_register(a->self, &audit_desc, &a->audit_type);
}

void adm_audit(struct adm *a, const char *login, const char *address, const char *action,
	       const char *object, const char *result)
{
	char qlogin[4 * 64 + 8], qobject[4 * 128 + 8];
	struct adm_audit_event ev;
	struct ucs_msg *msg;

	a->audit_seq++;
	adm_quote(login && *login ? login : "-", qlogin, sizeof(qlogin));
	adm_quote(object ? object : "", qobject, sizeof(qobject));
	a->host->log->log(a->self, result ? UCS_LOG_WARNING : UCS_LOG_INFO,
			  "audit: admin '%s' from %s: %s%s%s%s%s%s", qlogin,
			  address && *address ? address : "-", action, *qobject ? " " : "", qobject,
			  result ? ": failed (" : "", result ? result : "", result ? ")" : "");
	if (!a->audit_type)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.ok = result == NULL;
	ev.time_ms = adm_now_ms();
	/* the quoted forms: the JSON form must be valid UTF-8 */
	snprintf(ev.login, sizeof(ev.login), "%.63s", qlogin);
	snprintf(ev.address, sizeof(ev.address), "%.63s", address ? address : "");
	snprintf(ev.action, sizeof(ev.action), "%.31s", action);
	snprintf(ev.object, sizeof(ev.object), "%.127s", qobject);
	snprintf(ev.result, sizeof(ev.result), "%.63s", result ? result : "");
	if (a->host->bus->msg_new(a->audit_type, NULL, &ev, sizeof(ev), &msg) == 0)
		a->host->bus->publish(a->self, msg);
}
