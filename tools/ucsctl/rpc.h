/*
 * tools/ucsctl/rpc.h - JSON-RPC 2.0 calls over the connection.
 *
 * The tool makes one call at a time and waits for its answer; the ids are
 * a counter. Notifications that arrive meanwhile (events.subscribe's
 * events) go to the handler set with rpc_set_notify(); answers to ids we do
 * not wait for are dropped (a call that timed out answered late).
 */
#ifndef UCSCTL_RPC_H
#define UCSCTL_RPC_H

#include <jansson.h>

struct conn;
struct rpc;

typedef void(rpc_notify_h)(const char *method, json_t *params, void *arg);

/* Takes the connection (rpc_free() closes it). NULL when out of memory. */
struct rpc *rpc_new(struct conn *c);
void rpc_free(struct rpc *r);
void rpc_set_notify(struct rpc *r, rpc_notify_h *h, void *arg);

/* One call; params is taken (NULL: no params). Returns 0 with *result (the
 * caller's reference), 1 with *error (the JSON-RPC error object, the
 * caller's) when the server refused, or -1 with a message in err when the
 * connection failed, broke or did not answer within timeout_ms. */
int rpc_call(struct rpc *r, const char *method, json_t *params, int timeout_ms, json_t **result,
	     json_t **error, char *err, size_t cap);

/* Waits for messages and passes notifications to the handler: returns 1
 * after timeout_ms (-1: never), 2 when interrupted (conn_interrupt), -1
 * with a message in err when the connection ended. */
int rpc_listen(struct rpc *r, int timeout_ms, char *err, size_t cap);

#endif
