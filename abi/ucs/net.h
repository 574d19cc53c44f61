/*
 * ucs/net.h - TCP, TLS, UDP and name resolution on the server's loop.
 *
 * Plugins never touch sockets, libuv or mbedtls themselves: they ask the host
 * for listeners, connections and datagram sockets, and get callbacks on the
 * loop thread. That is what lets the host close everything a plugin opened
 * when the plugin stops, apply one TLS policy everywhere, and reload
 * certificates on SIGHUP for every listener at once.
 *
 * TLS policy of a listener (the reference product's "unencrypted",
 * "STARTTLS optional", "STARTTLS mandatory"):
 *   UCS_TLS_PLAIN     plain TCP only.
 *   UCS_TLS_OPTIONAL  one port serves both: the first byte of a connection
 *                     tells (0x16 opens a TLS ClientHello record; nothing a
 *                     plain-text protocol sends starts with it).
 *   UCS_TLS_REQUIRED  TLS only; a plain connection is refused and logged.
 * Certificates and keys are PEM files. On SIGHUP the host re-reads them;
 * connections already established keep the credentials they started with,
 * new ones get the new files. A listener whose files fail to load keeps the
 * previous ones and logs why.
 *
 * Connections. A listener calls accept_h once a connection is fully
 * established (for TLS: after the handshake). Inside accept_h the plugin
 * calls set_handlers() to adopt it or close() to refuse it. Outgoing
 * connections resolve the host name, connect and (optionally) run the TLS
 * handshake, verifying the peer against the system CA bundle (or ca_file)
 * and the host name, unless verify_none is set explicitly; on_connected
 * reports success.
 *
 * Lifetimes. on_close(conn, err, arg) is called exactly once when the
 * connection ends for a reason the plugin did not cause: the peer closed it
 * (err 0), a read or write failed, a connect or handshake failed (err is a
 * negative errno: -ECONNREFUSED, -ETIMEDOUT, -EPROTO for a TLS failure,
 * -EACCES for a peer certificate that failed verification). The connection
 * is freed when on_close returns. When the plugin calls close(), no callback
 * follows: the host flushes what was queued (and a TLS close_notify) in the
 * background, bounded in time, and frees the connection itself.
 *
 * Writes are queued and copied; pending() tells how many bytes have not been
 * written yet, so a plugin can bound what a slow peer makes it hold and
 * disconnect it. pause_read()/resume_read() let a plugin stop reading from a
 * peer that sends faster than it can process. The host also stops reading
 * from a peer whose unsent output exceeds 1 MiB, until it drains.
 *
 * Addresses are POSIX sockaddrs (struct sockaddr_in / sockaddr_in6).
 */
#ifndef UCS_NET_H
#define UCS_NET_H

#include <sys/socket.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_listener;
struct ucs_conn;
struct ucs_udp;
struct ucs_resolve;

enum ucs_tls_policy {
	UCS_TLS_PLAIN = 0,
	UCS_TLS_OPTIONAL = 1,
	UCS_TLS_REQUIRED = 2,
};

struct ucs_listen_opts {
	uint32_t size;
	const char *name;    /* shown in log lines: "client-api", "admin-api" */
	const char *address; /* numeric bind address; NULL: "::" (v4 and v6) */
	uint16_t port;	     /* 0: ephemeral (see listener_port) */
	enum ucs_tls_policy tls;
	const char *cert_file; /* PEM certificate chain; needed unless plain */
	const char *key_file;  /* PEM private key */
};

struct ucs_conn_handlers {
	uint32_t size;
	void (*on_data)(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg);
	void (*on_close)(struct ucs_conn *conn, int err, void *arg);
	void (*on_connected)(struct ucs_conn *conn, void *arg); /* outgoing only; may be NULL */
	void (*on_drain)(struct ucs_conn *conn, void *arg); /* write queue emptied; may be NULL */
};

struct ucs_connect_opts {
	uint32_t size;
	const char *host; /* name or numeric address */
	uint16_t port;
	int tls;	       /* nonzero: TLS handshake after connect */
	int verify_none;       /* nonzero: do not verify the peer (explicit opt-out) */
	const char *sni;       /* server name to send and verify; NULL: host */
	const char *ca_file;   /* PEM CA bundle; NULL: the system bundle */
	const char *cert_file; /* optional client certificate */
	const char *key_file;
	uint32_t timeout_ms; /* connect + handshake; 0: 10000 */
};

typedef void(ucs_accept_h)(struct ucs_listener *listener, struct ucs_conn *conn, void *arg);
typedef void(ucs_udp_recv_h)(struct ucs_udp *udp, const struct sockaddr *from, const uint8_t *data,
			     size_t len, void *arg);
/* addrs carry the port asked for; they are valid only during the call. */
typedef void(ucs_resolve_h)(int err, const struct sockaddr *const *addrs, size_t count, void *arg);

struct ucs_srv_record {
	uint16_t priority;
	uint16_t weight;
	uint16_t port;
	char target[256];
};
/* Records come sorted by priority, then by descending weight. */
typedef void(ucs_srv_h)(int err, const struct ucs_srv_record *records, size_t count, void *arg);

struct ucs_net_api {
	uint32_t size;

	int (*listen)(struct ucs_plugin *self, struct ucs_listener **out,
		      const struct ucs_listen_opts *opts, ucs_accept_h *h, void *arg);
	int (*listener_port)(const struct ucs_listener *listener);
	void (*listener_close)(struct ucs_listener *listener);

	int (*connect)(struct ucs_plugin *self, struct ucs_conn **out,
		       const struct ucs_connect_opts *opts, const struct ucs_conn_handlers *h,
		       void *arg);
	void (*set_handlers)(struct ucs_conn *conn, const struct ucs_conn_handlers *h, void *arg);
	int (*send)(struct ucs_conn *conn, const void *data, size_t len);
	size_t (*pending)(const struct ucs_conn *conn);
	void (*pause_read)(struct ucs_conn *conn);
	void (*resume_read)(struct ucs_conn *conn);
	int (*is_tls)(const struct ucs_conn *conn);
	int (*peer_addr)(const struct ucs_conn *conn, struct sockaddr_storage *out);
	int (*local_addr)(const struct ucs_conn *conn, struct sockaddr_storage *out);
	void (*close)(struct ucs_conn *conn);

	int (*udp_open)(struct ucs_plugin *self, struct ucs_udp **out, const char *address,
			uint16_t port, ucs_udp_recv_h *h, void *arg);
	int (*udp_send)(struct ucs_udp *udp, const struct sockaddr *to, const void *data,
			size_t len);
	int (*udp_local_addr)(const struct ucs_udp *udp, struct sockaddr_storage *out);
	void (*udp_close)(struct ucs_udp *udp);

	/* Name resolution off the loop thread. *out may be NULL when the
	 * caller never cancels; the handler is not called after cancel. */
	int (*resolve)(struct ucs_plugin *self, struct ucs_resolve **out, const char *host,
		       uint16_t port, int family, ucs_resolve_h *h, void *arg);
	int (*resolve_srv)(struct ucs_plugin *self, struct ucs_resolve **out, const char *name,
			   ucs_srv_h *h, void *arg);
	void (*resolve_cancel)(struct ucs_resolve *req);
};

#ifdef __cplusplus
}
#endif

#endif
