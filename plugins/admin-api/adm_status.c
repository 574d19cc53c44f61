/*
 * plugins/admin-api/adm_status.c - status.get and plugins.list: the
 * reference product's status monitor.
 *
 * What the monitor shows comes from whoever knows it: the server itself
 * (name, version, start, the plugins with their own counters, through
 * host->server), this plugin (the administrators logged in), the client
 * protocol (its `.status` counters: sessions and users), and the line
 * manager (ucs.lines: lines open and failed, calls), and the journal, mail
 * and sms services (their status(): null when not running). A part whose
 * source is not running says so ("available": false) instead of showing
 * zeros.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adm.h"

#define LINES_MAX 131072 /* lines looked at, at most */
#define CALLS_MAX 64	 /* calls per line */

static const struct ucs_server_api *server_api(struct adm *a)
{
	if (!UCS_HAS_SLOT(a->host, struct ucs_host, server) ||
	    !UCS_HAS_SLOT(a->host->server, struct ucs_server_api, restart))
		return NULL;
	return a->host->server;
}

/* A snprintf-rules producer's text, grown until it fits; parsed. */
json_t *adm_grow_json(int (*fn)(char *buf, size_t cap), int *err)
{
	size_t cap = 65536;
	char *buf = NULL;
	json_t *v = NULL;

	*err = 0;
	for (int tries = 0; tries < 4; tries++) {
		char *next = realloc(buf, cap);
		int n;

		if (!next) {
			*err = -ENOMEM;
			break;
		}
		buf = next;
		n = fn(buf, cap);
		if (n < 0) {
			*err = n;
			break;
		}
		if ((size_t)n < cap) {
			json_error_t jerr;

			v = json_loadb(buf, (size_t)n, 0, &jerr);
			if (!v)
				*err = -EIO;
			break;
		}
		cap = (size_t)n + 1;
	}
	free(buf);
	if (!v && !*err)
		*err = -ENOSPC;
	return v;
}

static json_t *plugins_json(struct adm *a, int *err)
{
	const struct ucs_server_api *srv = server_api(a);

	if (!srv) {
		*err = -ENOTSUP;
		return NULL;
	}
	return adm_grow_json(srv->plugins, err);
}

static json_t *server_part(struct adm *a)
{
	const struct ucs_server_api *srv = server_api(a);
	int64_t started = srv ? srv->started_ms() : 0, now = adm_now_ms();
	char ts[40];

	adm_iso_time(started, ts, sizeof(ts));
	return json_pack("{s:s,s:s,s:s?,s:I,s:I}", "name", a->host->env->server_name(), "version",
			 a->host->env->version(), "started", srv ? ts : NULL, "uptime_s",
			 (json_int_t)(srv && now > started ? (now - started) / 1000 : 0), "pid",
			 (json_int_t)getpid());
}

static json_t *admins_part(struct adm *a)
{
	json_t *list = json_array();
	char ts[40];

	for (struct adm_session *x = a->sessions; list && x; x = x->next) {
		if (!x->login[0])
			continue;
		adm_iso_time(x->since_ms, ts, sizeof(ts));
		if (json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "login", x->login,
							  "address", x->address, "since", ts, "tls",
							  wsrpc_session_is_tls(x->s))) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* clients: the client protocol's own counters (its `.status`). */
static json_t *clients_part(const json_t *plugins)
{
	json_t *per = json_object(), *v;
	json_int_t sessions = 0, connections = 0, users = 0;
	int found = 0;
	size_t i;

	if (!per)
		return NULL;
	json_array_foreach(plugins, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *state = json_string_value(json_object_get(v, "state"));
		json_t *st = json_object_get(v, "status");

		if (!name || strcmp(name, "client-api") != 0)
			continue;
		found = state && strcmp(state, "running") == 0;
		if (json_is_object(st)) {
			/* logged-in sessions; connections still anonymous apart */
			json_t *auth = json_object_get(st, "authenticated");

			sessions +=
				json_integer_value(auth ? auth : json_object_get(st, "sessions"));
			connections += json_integer_value(json_object_get(st, "sessions"));
			users += json_integer_value(json_object_get(st, "users_online"));
			json_object_set(per, name, st);
		}
	}
	if (!found) {
		json_decref(per);
		return json_pack("{s:b}", "available", 0);
	}
	return json_pack("{s:b,s:I,s:I,s:I,s:o}", "available", 1, "sessions", sessions,
			 "connections", connections, "users", users, "per_plugin", per);
}

static int same_call(const struct ucs_id *seen, size_t n, const struct ucs_id *call)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(seen[i].text, call->text, sizeof(call->text)) == 0)
			return 1;
	return 0;
}

/* lines and calls, through the line manager. */
static void lines_part(json_t *out)
{
	const struct ucs_lines_api *lines = adm_service(UCS_LINES_SERVICE, UCS_LINES_VERSION);
	struct ucs_call_info *calls = NULL;
	struct ucs_id *ids = NULL, *seen = NULL;
	size_t n_seen = 0, cap_seen = 0;
	json_int_t open = 0, failed = 0, active = 0, outside = 0;
	json_t *failures = NULL;
	int n;

	if (!lines || !UCS_HAS_SLOT(lines, struct ucs_lines_api, list)) {
		json_object_set_new(out, "lines", json_pack("{s:b}", "available", 0));
		json_object_set_new(out, "calls", json_pack("{s:b}", "available", 0));
		return;
	}
	calls = calloc(CALLS_MAX, sizeof(*calls));
	failures = json_array();
	if (!calls || !failures)
		goto out;
	/* "up to max; the count": a full array may mean more */
	for (size_t cap = 1024;; cap *= 2) {
		struct ucs_id *next = realloc(ids, cap * sizeof(*ids));

		if (!next)
			goto out;
		ids = next;
		n = lines->list(ids, cap);
		if (n < (int)cap || cap >= LINES_MAX)
			break;
	}
	for (int i = 0; i < n; i++) {
		struct ucs_line_info li;
		int c;

		memset(&li, 0, sizeof(li));
		li.size = sizeof(li);
		if (lines->line(ids[i].text, &li) != 0)
			continue;
		if (li.status == UCS_LS_OPEN)
			open++;
		if (li.status == UCS_LS_FAILED || li.status == UCS_LS_NOT_AVAILABLE ||
		    li.status == UCS_LS_OUT_OF_SERVICE) {
			failed++;
			json_array_append_new(
				failures,
				json_pack("{s:s%,s:s%,s:s%,s:s}", "id", li.id.text,
					  strnlen(li.id.text, sizeof(li.id.text)), "name", li.name,
					  strnlen(li.name, sizeof(li.name)), "reason", li.reason,
					  strnlen(li.reason, sizeof(li.reason)), "status",
					  li.status == UCS_LS_FAILED	      ? "failed"
					  : li.status == UCS_LS_NOT_AVAILABLE ? "not_available"
									      : "out_of_service"));
		}
		c = lines->calls(ids[i].text, calls, CALLS_MAX);
		for (int k = 0; k < c; k++) {
			if (same_call(seen, n_seen, &calls[k].call))
				continue;
			if (n_seen == cap_seen) {
				size_t nc = cap_seen ? cap_seen * 2 : 64;
				struct ucs_id *ns = realloc(seen, nc * sizeof(*ns));

				if (!ns)
					goto out;
				seen = ns;
				cap_seen = nc;
			}
			seen[n_seen++] = calls[k].call;
			active++;
			/* a call on an outside line: a trunk, or an external party */
			if (li.trunk || !calls[k].internal)
				outside++;
		}
	}
	json_object_set_new(out, "lines",
			    json_pack("{s:b,s:i,s:I,s:I,s:O}", "available", 1, "total", n, "open",
				      open, "failed", failed, "failures", failures));
	json_object_set_new(
		out, "calls",
		json_pack("{s:b,s:I,s:I}", "available", 1, "active", active, "outside", outside));
out:
	json_decref(failures);
	free(ids);
	free(calls);
	free(seen);
}

void adm_m_status(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	json_t *out, *plugins;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	plugins = plugins_json(a, &err);
	out = json_object();
	if (!out) {
		json_decref(plugins);
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return;
	}
	json_object_set_new(out, "server", server_part(a));
	json_object_set_new(out, "admin_sessions", admins_part(a));
	json_object_set_new(out, "clients", clients_part(plugins));
	lines_part(out);
	json_object_set_new(out, "journal", adm_svc_status(UCS_JOURNAL_SERVICE));
	json_object_set_new(out, "mail", adm_svc_status(UCS_MAIL_SERVICE));
	json_object_set_new(out, "sms", adm_svc_status(UCS_SMS_SERVICE));
	json_object_set_new(out, "plugins", plugins ? plugins : json_null());
	wsrpc_reply(s, id, out);
}

void adm_m_plugins(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	json_t *plugins;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	plugins = plugins_json(a, &err);
	if (!plugins) {
		adm_error(s, id, err == -ENOTSUP ? WSRPC_NOT_AVAILABLE : WSRPC_INTERNAL, NULL,
			  "the plugin list is not available: %s",
			  err == -ENOTSUP ? "this ucsd offers no server interface"
					  : strerror(-err));
		return;
	}
	wsrpc_reply(s, id, json_pack("{s:o}", "plugins", plugins));
}
