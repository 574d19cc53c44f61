/*
 * plugins/wsrpc/ws_http.h - the HTTP/1.1 side of a WebSocket: the opening
 * handshake (RFC 6455 section 4), without I/O.
 *
 * Server side: the request is parsed with libhttp-parser (a maintained,
 * widely deployed parser; we do not hand-roll HTTP) and checked: GET, path
 * /ws (a query string is allowed and ignored), HTTP/1.1, Host present,
 * Upgrade: websocket and Connection: upgrade (token lists, any case),
 * Sec-WebSocket-Version 13, a Sec-WebSocket-Key that decodes to 16 bytes,
 * no request body. The answer to a bad request is an HTTP status with a
 * short text body and Connection: close: 400 malformed, 404 other paths,
 * 405 not GET, 426 no upgrade or another version (with
 * Sec-WebSocket-Version: 13), 431 headers over the limit, 403 an Origin
 * not allowed.
 *
 * Client side (ucsctl, the load generator): the request with a random key,
 * and the check of the server's 101 answer (Sec-WebSocket-Accept).
 */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct ws_upgrade {
	char key[32];	  /* Sec-WebSocket-Key as sent */
	char origin[256]; /* "" when absent (non-browser clients) */
	char user_agent[128];
	char protocol[128]; /* Sec-WebSocket-Protocol as sent, "" when absent */
	char host[256];
};

/* Parses the upgrade request at the start of data (len bytes so far).
 * Returns 0 when complete and valid (*consumed: bytes of the request;
 * bytes after it are WebSocket frames already), -EAGAIN when more bytes are
 * needed (len < max_header), or -EINVAL with *status the HTTP status to
 * answer (400, 404, 405, 426, 431). */
int ws_http_parse_upgrade(const uint8_t *data, size_t len, size_t max_header,
			  struct ws_upgrade *out, size_t *consumed, int *status);
/* base64(SHA-1(key + RFC 6455 GUID)) into out (29 bytes with NUL). */
int ws_http_accept_key(const char *key, char out[29]);
/* The 101 answer for a valid request (snprintf rules). */
int ws_http_accept_response(const struct ws_upgrade *up, char *buf, size_t cap);
/* An error answer: status line, Content-Type text/plain, Connection:
 * close, Sec-WebSocket-Version: 13 with 426, and the text (snprintf rules). */
int ws_http_error_response(int status, const char *text, char *buf, size_t cap);

/* Client side: writes a GET /ws upgrade request for host (and port) with a
 * fresh random key (copied to key_out) (snprintf rules). */
int ws_http_client_request(const char *host, const char *path, char *buf, size_t cap,
			   char key_out[32]);
/* Checks a server's answer. 0 (101 with the right accept; *consumed set),
 * -EAGAIN (incomplete), -EPROTO (any other answer; *status the HTTP
 * status when one was read, else 0). */
int ws_http_client_check(const uint8_t *data, size_t len, const char *key, size_t *consumed,
			 int *status);

#endif
