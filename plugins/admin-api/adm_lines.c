/*
 * plugins/admin-api/adm_lines.c - lines.list, lines.get and lines.retry:
 * the line manager's lines as the administration sees them (status,
 * capabilities, last error) and the retry of a line that could not be
 * opened.
 *
 * The line manager (the lines plugin) answers the bus request
 * "lines.admin" (docs/plugins/lines.md): one command as text ("list",
 * "get ID", "retry ID"), the answer as JSON text, which is passed on as
 * the method's result. Without a line manager the methods answer
 * not_available. A retry changes something: its handler audits it (done or
 * refused) when the line manager answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"

#define LINES_ADMIN_TYPE "lines.admin"
#define LINES_TIMEOUT_MS 10000

static void on_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct adm_op *op = arg;
	const struct ucs_bus_api *bus;
	const char *text = NULL;
	json_t *result = NULL;
	size_t len = 0;

	if (adm_op_orphaned(op))
		return;
	bus = op->a->host->bus;
	if (reply)
		text = bus->msg_payload(reply, &len);
	if (text)
		result = json_loadb(text, len, 0, NULL);
	if (status == 0 && result) {
		if (strcmp(op->action, "lines.retry") == 0)
			adm_audit(op->a, op->login, op->address, op->action, op->object, NULL);
		wsrpc_reply(op->s, op->id, result);
		result = NULL;
	} else {
		enum wsrpc_reason r = status == -ENOTSUP ? WSRPC_NOT_SUPPORTED
				      : status == -ESHUTDOWN
					      ? WSRPC_NOT_AVAILABLE
					      : adm_reason_of(status ? status : -EIO);
		const char *why = json_string_value(json_object_get(result, "error"));

		if (strcmp(op->action, "lines.retry") == 0)
			adm_audit(op->a, op->login, op->address, op->action, op->object,
				  wsrpc_reason_name(r));
		adm_error(op->s, op->id, r, NULL, "%s: %s", op->object[0] ? op->object : "lines",
			  why ? why : strerror(status ? -status : EIO));
	}
	json_decref(result);
	adm_op_free(op);
}

/* Sends one command to the line manager; the reply answers the method. */
static void ask(struct wsrpc_session *s, json_t *id, struct adm *a, const char *method,
		const char *line, const char *cmd)
{
	const struct ucs_bus_api *bus = a->host->bus;
	const struct ucs_msg_type *t = bus->type_find(LINES_ADMIN_TYPE, 1);
	struct ucs_msg *m = NULL;
	struct adm_op *op;
	int err;

	if (!t) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "the line manager is not running");
		return;
	}
	op = adm_op_new(a, s, id, method, line);
	if (!op || bus->msg_new(t, NULL, cmd, strlen(cmd), &m)) {
		adm_op_free(op);
		adm_error(s, id, WSRPC_INTERNAL, NULL, "no memory");
		return;
	}
	err = bus->request(a->self, NULL, m, LINES_TIMEOUT_MS, on_reply, op);
	if (err) {
		adm_op_free(op);
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL, "the line manager is not running");
	}
}

void adm_m_lines_list(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}))
		return;
	ask(s, id, arg, "lines.list", "", "list");
}

/* lines.get / lines.retry {"id": LINE} */
static void on_line(struct wsrpc_session *s, json_t *params, json_t *id, struct adm *a,
		    const char *method, const char *verb)
{
	char cmd[UCS_ID_MAX + 16];
	const char *line;

	if (wsrpc_params_only(s, id, params, (const char *const[]){"id", NULL}) ||
	    wsrpc_param_string(s, id, params, "id", 1, UCS_ID_MAX - 1, &line))
		return;
	if (!*line || strchr(line, ' ')) {
		adm_error(s, id, WSRPC_INVALID_PARAMS, NULL, "id: not a line id");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s %s", verb, line);
	ask(s, id, a, method, line, cmd);
}

void adm_m_lines_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	on_line(s, params, id, arg, "lines.get", "get");
}

void adm_m_lines_retry(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	on_line(s, params, id, arg, "lines.retry", "retry");
}
