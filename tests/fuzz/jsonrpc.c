/*
 * tests/fuzz/jsonrpc.c - a text message as a client sends it: decoding must
 * either fail for the whole message with a documented reason, or give
 * calls that are each invalid (with a why) or valid (a method string,
 * params an object or array or absent, id a string, number or null or
 * absent) - and the replies built from them must serialise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct jsonrpc_msg m;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (jsonrpc_decode(copy, size, 8, &m) == 0) {
		if (m.error >= 0) {
			if (m.error != WSRPC_PARSE_ERROR && m.error != WSRPC_INVALID_REQUEST &&
			    m.error != WSRPC_TOO_LARGE)
				abort();
			if (m.n != 0 && !m.batch)
				abort();
		} else {
			if (m.n == 0 || m.n > 8 || (!m.batch && m.n != 1))
				abort();
			for (size_t i = 0; i < m.n; i++) {
				struct jsonrpc_call *c = &m.calls[i];
				json_t *reply;
				char *text;

				if (c->invalid) {
					if (!c->why || c->method)
						abort();
					reply = jsonrpc_error(c->id, WSRPC_INVALID_REQUEST, c->why,
							      NULL);
				} else {
					if (!c->method)
						abort();
					if (c->params && !json_is_object(c->params) &&
					    !json_is_array(c->params))
						abort();
					if (c->id && !json_is_string(c->id) &&
					    !json_is_number(c->id) && !json_is_null(c->id))
						abort();
					reply = jsonrpc_result(c->id, json_incref(c->params));
				}
				if (!reply)
					abort();
				text = json_dumps(reply, JSON_COMPACT);
				if (!text)
					abort();
				free(text);
				json_decref(reply);
			}
		}
	}
	jsonrpc_msg_free(&m);
	free(copy);
	return 0;
}
