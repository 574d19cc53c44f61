/*
 * plugins/wsrpc/jsonrpc.h - JSON-RPC 2.0 messages as the server reads and
 * writes them (private to wsrpc; the tests and the fuzz target use it too).
 *
 * A text message is one request, one notification, or a batch (an array of
 * them). Decoding never answers: it says, per call, whether the call is
 * valid (method, params, id) or what is wrong with it, and for the whole
 * message whether it could be read at all. The server then answers the
 * invalid calls itself and hands the valid ones to the plugin. JSON is read
 * with duplicate keys rejected and without NUL characters in strings; the
 * size is bounded before we get here (max_message) and jansson bounds the
 * nesting depth.
 *
 * Rules (JSON-RPC 2.0, made strict):
 *   - not JSON                            -> parse_error, id null
 *   - JSON that is not an object or array -> invalid_request, id null
 *   - an empty array                      -> invalid_request, id null
 *   - more than max_batch calls           -> too_large, id null
 *   - a call: an object with "jsonrpc":"2.0", a string "method", optional
 *     "params" (object or array) and optional "id" (string, number or
 *     null); any other member, or a member of the wrong type, makes the
 *     call invalid_request (with its id when the id itself is valid).
 *   - no "id": a notification, never answered - unless it is invalid.
 */
#ifndef WSRPC_JSONRPC_H
#define WSRPC_JSONRPC_H

#include <stddef.h>

#include <jansson.h>

#include "wsrpc.h"

struct jsonrpc_call {
	json_t *id;	    /* borrowed from the message; NULL: a notification */
	const char *method; /* NULL for an invalid call */
	json_t *params;	    /* borrowed; NULL when absent */
	int invalid;	    /* answer invalid_request (id: id, or null) */
	const char *why;    /* for an invalid call: what is wrong (static text) */
};

struct jsonrpc_msg {
	json_t *root;  /* the parsed message, owner of everything borrowed */
	int batch;     /* an array */
	int error;     /* -1, or the reason answering the whole message */
	char why[160]; /* for error: the message text of the answer */
	size_t n;      /* calls */
	struct jsonrpc_call *calls;
	struct jsonrpc_call one; /* calls for a single request */
};

/* Decodes text (len bytes, not NUL-terminated). Returns 0 (see error and
 * calls) or -ENOMEM. Free with jsonrpc_msg_free() either way. */
int jsonrpc_decode(const char *text, size_t len, size_t max_batch, struct jsonrpc_msg *out);
void jsonrpc_msg_free(struct jsonrpc_msg *m);

/* {"jsonrpc":"2.0","id":id,"result":result}; id borrowed (NULL: null),
 * result stolen (NULL: null). NULL on allocation failure. */
json_t *jsonrpc_result(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id,"error":{"code","message","data":{...,"reason"}}};
 * id borrowed, data stolen (an object or NULL). */
json_t *jsonrpc_error(json_t *id, enum wsrpc_reason r, const char *message, json_t *data);
/* {"jsonrpc":"2.0","method":method,"params":params}; params stolen. */
json_t *jsonrpc_notification(const char *method, json_t *params);

#endif
