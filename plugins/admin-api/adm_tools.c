/*
 * plugins/admin-api/adm_tools.c - the locations (through the dialplan's
 * editing slots), the dialplan checker and the rights explanation.
 *
 * The dialplan plugin owns the locations and their file: admin-api only
 * passes the administrator's location object to location_put, which
 * validates it as part of the whole model, writes locations.xml and puts
 * the new model in force. dialplan.check runs a number through format()
 * or dial() with a trace handler and returns each step - what the
 * ucs-dialplan tool prints, over the protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"

#define LOC_ERR_MAX 1024

static const struct ucs_dialplan_api *dialplan(struct wsrpc_session *s, json_t *id, int editing)
{
	const struct ucs_dialplan_api *dp = adm_service(UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION);

	if (!dp || (editing && !UCS_HAS_SLOT(dp, struct ucs_dialplan_api, location_remove))) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "%s",
			  dp ? "this dialplan plugin cannot edit locations"
			     : "no dialplan plugin is running");
		return NULL;
	}
	return dp;
}

static int fill_locations(const void *ctx, char *buf, size_t cap)
{
	return ((const struct ucs_dialplan_api *)ctx)->locations_json(buf, cap);
}

static json_t *locations(const struct ucs_dialplan_api *dp, int *err)
{
	json_t *v = adm_load_text(fill_locations, dp, 65536, err);

	if (v && !json_is_array(v)) {
		json_decref(v);
		v = NULL;
		*err = -EIO;
	}
	return v;
}

static json_t *find_location(const json_t *list, const char *name)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n && strcasecmp(n, name) == 0)
			return v;
	}
	return NULL;
}

void adm_m_locations_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_dialplan_api *dp;
	json_t *list;
	int err;

	(void)arg;
	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}) ||
	    !(dp = dialplan(s, id, 1)))
		return;
	list = locations(dp, &err);
	if (!list) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the locations cannot be read: %s",
			  strerror(-err));
		return;
	}
	wsrpc_reply(s, id, json_pack("{s:o}", "locations", list));
}

void adm_m_locations_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_dialplan_api *dp;
	const char *name;
	json_t *list, *loc;
	int err;

	(void)arg;
	if (wsrpc_params_only(s, id, params, (const char *const[]){"name", NULL}) ||
	    wsrpc_param_string(s, id, params, "name", 1, 256, &name) || !(dp = dialplan(s, id, 1)))
		return;
	list = locations(dp, &err);
	if (!list) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the locations cannot be read: %s",
			  strerror(-err));
		return;
	}
	loc = find_location(list, name);
	if (loc)
		wsrpc_reply(s, id, json_incref(loc));
	else
		adm_error(s, id, WSRPC_NOT_FOUND, NULL, "no location \"%s\"", name);
	json_decref(list);
}

static void location_put(struct adm *a, struct wsrpc_session *s, json_t *params, json_t *id,
			 int create)
{
	const char *action = create ? "locations.create" : "locations.update";
	const struct ucs_dialplan_api *dp;
	json_t *loc, *list, *data;
	const char *name;
	char err[LOC_ERR_MAX] = "", *text;
	int rc, exists;

	if (wsrpc_params_only(s, id, params, (const char *const[]){"location", NULL}))
		return;
	loc = json_object_get(params, "location");
	name = json_string_value(json_object_get(loc, "name"));
	if (!json_is_object(loc) || !name || !*name) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_path_data("location", 8),
			  "location: expected a location object with a \"name\"");
		return;
	}
	if (!(dp = dialplan(s, id, 1)))
		return;
	list = locations(dp, &rc);
	if (!list) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the locations cannot be read: %s",
			  strerror(-rc));
		return;
	}
	exists = find_location(list, name) != NULL;
	json_decref(list);
	if (create && exists) {
		adm_audit(a, adm_who(s), adm_peer(s), action, name, "conflict");
		adm_error(s, id, WSRPC_CONFLICT, NULL, "the location \"%s\" exists already", name);
		return;
	}
	if (!create && !exists) {
		adm_audit(a, adm_who(s), adm_peer(s), action, name, "not_found");
		adm_error(s, id, WSRPC_NOT_FOUND, NULL, "no location \"%s\"", name);
		return;
	}
	text = json_dumps(loc, JSON_COMPACT);
	if (!text) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	rc = dp->location_put(text, strlen(text), err, sizeof(err));
	free(text);
	if (rc) {
		enum wsrpc_reason r = adm_reason_of(rc);
		data = rc == -EINVAL ? adm_msg_path(err) : NULL;
		a->write_errors++;
		adm_audit(a, adm_who(s), adm_peer(s), action, name, wsrpc_reason_name(r));
		adm_error(s, id, r, data, "%s", err[0] ? err : strerror(-rc));
		return;
	}
	a->writes++;
	adm_audit(a, adm_who(s), adm_peer(s), action, name, NULL);
	list = locations(dp, &rc);
	loc = list ? find_location(list, name) : NULL;
	wsrpc_reply(s, id, loc ? json_incref(loc) : json_pack("{s:s}", "name", name));
	json_decref(list);
}

void adm_m_locations_create(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	location_put(arg, s, params, id, 1);
}

void adm_m_locations_update(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	location_put(arg, s, params, id, 0);
}

void adm_m_locations_delete(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_dialplan_api *dp;
	const char *name;
	int rc;

	if (wsrpc_params_only(s, id, params, (const char *const[]){"name", NULL}) ||
	    wsrpc_param_string(s, id, params, "name", 1, 256, &name) || !(dp = dialplan(s, id, 1)))
		return;
	rc = dp->location_remove(name);
	if (rc) {
		enum wsrpc_reason r = adm_reason_of(rc);

		a->write_errors++;
		adm_audit(a, adm_who(s), adm_peer(s), "locations.delete", name,
			  wsrpc_reason_name(r));
		adm_error(s, id, r, NULL, "%s",
			  rc == -ENOENT	 ? "no such location"
			  : rc == -EBUSY ? "the default location cannot be removed while others "
					   "exist"
					 : strerror(-rc));
		return;
	}
	a->writes++;
	adm_audit(a, adm_who(s), adm_peer(s), "locations.delete", name, NULL);
	wsrpc_reply(s, id, json_pack("{s:b}", "deleted", 1));
}

/* ---- dialplan.check ---- */

static void on_step(const char *step, const char *rule, const char *value, void *arg)
{
	json_t *trace = arg;

	json_array_append_new(trace, json_pack("{s:s,s:s?,s:s}", "step", step ? step : "", "rule",
					       rule, "value", value ? value : ""));
}

static const char *const kinds[] = {
	"",	"caller",  "called", "connected_in", "connected_out", "forwarded",
	"line", "display", NULL};

static const char *const check_params[] = {"number", "location", "mode", "kind", "project", NULL};

void adm_m_dialplan_check(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_dialplan_api *dp;
	const char *number, *location = NULL, *mode = "dial", *kind = "display", *project = NULL;
	json_t *trace, *result = NULL;
	int k = 0, rc;

	(void)arg;
	if (wsrpc_params_only(s, id, params, check_params) ||
	    wsrpc_param_string(s, id, params, "number", 1, UCS_DP_NUMBER_MAX * 4, &number) ||
	    wsrpc_param_string(s, id, params, "location", 0, 256, &location) == -EINVAL ||
	    wsrpc_param_string(s, id, params, "mode", 0, 16, &mode) == -EINVAL ||
	    wsrpc_param_string(s, id, params, "kind", 0, 32, &kind) == -EINVAL ||
	    wsrpc_param_string(s, id, params, "project", 0, 64, &project) == -EINVAL)
		return;
	if (strcmp(mode, "dial") && strcmp(mode, "forward") && strcmp(mode, "format")) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_path_data("mode", 4),
			  "mode: expected dial, forward or format");
		return;
	}
	for (k = 1; kinds[k] && strcmp(kinds[k], kind); k++)
		;
	if (!kinds[k]) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_path_data("kind", 4),
			  "kind: expected caller, called, connected_in, connected_out, forwarded, "
			  "line or display");
		return;
	}
	if (!(dp = dialplan(s, id, 0)))
		return;
	trace = json_array();
	if (!trace) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	if (strcmp(mode, "format") == 0) {
		struct ucs_dp_number out;

		memset(&out, 0, sizeof(out));
		out.size = sizeof(out);
		rc = dp->format(location, (enum ucs_dp_kind)k, number, &out, on_step, trace);
		if (!rc)
			result = json_pack(
				"{s:s%,s:s%,s:s%,s:b}", "canonical", out.canonical.text,
				strnlen(out.canonical.text, sizeof(out.canonical.text)), "display",
				out.display, strnlen(out.display, sizeof(out.display)), "location",
				out.location, strnlen(out.location, sizeof(out.location)),
				"internal", out.internal);
	} else {
		struct ucs_dp_dial_request req = {
			.size = sizeof(req), .number = number, .project = project};
		struct ucs_dp_dial_result out;

		memset(&out, 0, sizeof(out));
		out.size = sizeof(out);
		rc = dp->dial(location, strcmp(mode, "dial") == 0 ? UCS_DP_DIAL : UCS_DP_FORWARD,
			      &req, &out, on_step, trace);
		if (!rc)
			result = json_pack(
				"{s:s%,s:s%,s:s%,s:s%,s:b,s:b,s:b}", "dial", out.dial,
				strnlen(out.dial, sizeof(out.dial)), "postdial", out.postdial,
				strnlen(out.postdial, sizeof(out.postdial)), "canonical",
				out.canonical.text,
				strnlen(out.canonical.text, sizeof(out.canonical.text)), "project",
				out.project, strnlen(out.project, sizeof(out.project)), "internal",
				out.internal, "special", out.special, "private_call",
				out.private_call);
	}
	if (rc) {
		json_decref(trace);
		if (rc == -ENOENT)
			adm_error(s, id, WSRPC_NOT_FOUND, adm_path_data("location", 8),
				  "no location \"%s\" (or no locations configured)",
				  location ? location : "(default)");
		else
			adm_error(s, id, adm_reason_of(rc), adm_path_data("number", 6),
				  "number: %s",
				  rc == -EINVAL ? "empty, too long or nothing usable"
						: strerror(-rc));
		return;
	}
	if (!result) {
		json_decref(trace);
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the result is not valid text");
		return;
	}
	wsrpc_reply(s, id, json_pack("{s:o,s:o}", "result", result, "trace", trace));
}

/* ---- rights.explain ---- */

void adm_m_rights_explain(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	const struct ucs_rights_api *rights = adm_service(UCS_RIGHTS_SERVICE, UCS_RIGHTS_VERSION);
	const struct ucs_userdb_api *udb = adm_service(UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *w = NULL, *t = NULL;
	const char *watcher, *target;
	char wid[UCS_ID_MAX + 1] = "", tid[UCS_ID_MAX + 1] = "", buf[16384];
	json_t *v;
	int n;

	(void)arg;
	if (wsrpc_params_only(s, id, params, (const char *const[]){"watcher", "target", NULL}) ||
	    wsrpc_param_string(s, id, params, "watcher", 1, 256, &watcher) ||
	    wsrpc_param_string(s, id, params, "target", 1, 256, &target))
		return;
	if (!rights || !UCS_HAS_SLOT(rights, struct ucs_rights_api, explain) || !udb) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "no rights engine is running");
		return;
	}
	snap = udb->acquire();
	if (snap) {
		w = udb->user_by_login(snap, watcher);
		t = udb->user_by_login(snap, target);
		if (w)
			snprintf(wid, sizeof(wid), "%s", w->id);
		if (t)
			snprintf(tid, sizeof(tid), "%s", t->id);
		udb->release(snap);
	}
	if (!wid[0] || !tid[0]) {
		adm_error(s, id, WSRPC_NOT_FOUND,
			  adm_path_data(wid[0] ? "target" : "watcher", wid[0] ? 6 : 7),
			  "no user \"%s\"", wid[0] ? target : watcher);
		return;
	}
	n = rights->explain(wid, tid, buf, sizeof(buf));
	v = n >= 0 && (size_t)n < sizeof(buf) ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	if (!v) {
		adm_error(s, id, n == -ENOENT ? WSRPC_NOT_FOUND : WSRPC_INTERNAL, NULL,
			  "the rights cannot be explained: %s",
			  n < 0 ? strerror(-n) : "the explanation is too long");
		return;
	}
	json_object_set_new(v, "watcher", json_string(watcher));
	json_object_set_new(v, "target", json_string(target));
	wsrpc_reply(s, id, v);
}
