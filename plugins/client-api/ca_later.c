/*
 * plugins/client-api/ca_later.c - chat.*: methods whose plugin comes later
 * (the journal, which came with issue 7, is ca_journal.c).
 *
 * The methods are part of the protocol now, so clients can be written
 * against them: their params are validated exactly (a malformed request is
 * invalid_params today and tomorrow), the rights and restrictions that do
 * not need the plugin are applied (chat switched off globally or not
 * granted to the user: forbidden), and then the answer says clearly that
 * the plugin is not running (not_available).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ca.h"

#define CHAT_SERVICE "ucs.chat"

/* The plugin's service may exist before this plugin knows its contract:
 * then the answer says that instead. */
static void not_running(struct wsrpc_session *ws, json_t *id, const char *what)
{
	struct ca *ca = ca_sess_of(ws)->ca;
	char msg[96];

	if (ca->host->service->find(CHAT_SERVICE, 1, NULL))
		snprintf(msg, sizeof(msg), "the %s is not offered to clients by this version",
			 what);
	else
		snprintf(msg, sizeof(msg), "the %s plugin is not running", what);
	wsrpc_error(ws, id, WSRPC_NOT_AVAILABLE, msg, json_pack("{s:s}", "plugin", what));
}

/* An optional integer member that is a Unix time in ms; false when answered. */
static bool opt_int(struct wsrpc_session *ws, json_t *id, json_t *params, const char *name,
		    int64_t min, int64_t max)
{
	int64_t v;

	return wsrpc_param_int(ws, id, params, name, 0, min, max, &v) != -EINVAL;
}

static bool opt_str(struct wsrpc_session *ws, json_t *id, json_t *params, const char *name,
		    int required, size_t max)
{
	const char *v;
	int err = wsrpc_param_string(ws, id, params, name, required, max, &v);

	return err == 0 || (err == -ENOENT && !required);
}

/* Chat switched off globally, or not one of the user's services. */
static bool chat_allowed(struct ca *ca, struct ca_sess *s, json_t *id)
{
	if (ca->rights->restrictions() & UCS_RESTRICT_CHAT_OFF) {
		wsrpc_error(s->ws, id, WSRPC_FORBIDDEN, "chat is switched off on this server",
			    NULL);
		return false;
	}
	if (!(ca->rights->services(s->user->id) & UCS_SVC_CHAT)) {
		wsrpc_error(s->ws, id, WSRPC_FORBIDDEN, "chat is not one of your services",
			    json_pack("{s:s}", "service", "chat"));
		return false;
	}
	return true;
}

CA_METHOD(ca_m_chat_send)
{
	static const char *const only[] = {"to", "text", NULL};
	struct ca *ca = arg;

	if (wsrpc_params_only(ws, id, params, only) || !opt_str(ws, id, params, "to", 1, 256) ||
	    !opt_str(ws, id, params, "text", 1, 16384))
		return;
	if (!chat_allowed(ca, ca_sess_of(ws), id))
		return;
	not_running(ws, id, "chat");
}

CA_METHOD(ca_m_chat_history)
{
	static const char *const only[] = {"with", "before", "limit", NULL};
	struct ca *ca = arg;

	if (wsrpc_params_only(ws, id, params, only) || !opt_str(ws, id, params, "with", 1, 256) ||
	    !opt_int(ws, id, params, "before", 0, INT64_MAX) ||
	    !opt_int(ws, id, params, "limit", 1, 1000))
		return;
	if (!chat_allowed(ca, ca_sess_of(ws), id))
		return;
	not_running(ws, id, "chat");
}
