/*
 * tools/ucsctl/conn.h - one WebSocket connection to ucsd, plain or TLS.
 *
 * The tool runs one conversation at a time, so the connection is driven
 * synchronously: every call waits (with poll, up to a deadline) until it has
 * written everything or read one whole message. The socket itself is
 * non-blocking, so a TLS record that arrives in pieces or a peer that stops
 * reading cannot hold the tool past its deadline.
 *
 * The layers, bottom up: TCP (getaddrinfo, every address in turn, connect
 * with a timeout), optionally TLS (mbedtls; the server's certificate is
 * verified against --ca or the system bundle and against the host name or
 * IP address, unless --insecure says explicitly not to), the HTTP upgrade
 * and the frames (plugins/wsrpc: ws_http.h, ws_frame.h - the code the
 * server runs, from the client side). Pings are answered, a close frame is
 * answered and ends the connection, fragmented messages are reassembled by
 * the reader. Our frames are masked with a fresh random mask each.
 */
#ifndef UCSCTL_CONN_H
#define UCSCTL_CONN_H

#include <stdbool.h>
#include <stddef.h>

struct conn;

struct conn_opts {
	const char *host; /* name or address (IPv6 without brackets) */
	const char *port;
	bool tls;
	bool insecure;	/* TLS without verifying the certificate */
	const char *ca; /* PEM bundle; NULL: the system bundle */
	int timeout_ms; /* connect, handshake, each write */
};

/* Connects and upgrades. 0, or -1 with a message in err (every failure of
 * this step is "cannot connect": exit code 2). */
int conn_open(const struct conn_opts *o, struct conn **out, char *err, size_t cap);

/* Sends one text message. 0, or -1 with a message in err. */
int conn_send_text(struct conn *c, const char *text, size_t len, char *err, size_t cap);

/* Waits up to timeout_ms (-1: no limit) for the next text message; *msg is
 * the caller's (free()), NUL-terminated. 0, 1 on timeout, or -1 with a
 * message in err (closed by the server, broken, a protocol violation), or 2
 * when conn_interrupt() was called (a signal handler: it sets a flag that
 * the poll's EINTR wake-up sees). */
int conn_recv_text(struct conn *c, int timeout_ms, char **msg, size_t *len, char *err, size_t cap);

void conn_interrupt(void);

/* Sends a close frame (1000), waits briefly for the server's, closes. */
void conn_close(struct conn *c);

#endif
