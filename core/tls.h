/*
 * core/tls.h - the core's TLS engine, kept behind a small interface.
 *
 * A session never touches a socket: ciphertext read from the network is fed
 * in, plaintext comes out; plaintext to send goes in, ciphertext to write
 * comes out as a buffer the caller owns. That keeps all I/O, timers and
 * lifetimes in core/net.c and lets a later TLS 1.3 backend replace this file
 * (and tls.c) without touching anything else. Today it is mbedtls 2.28,
 * TLS 1.2.
 *
 * A configuration (certificate, key, CA bundle, verification mode) is
 * refcounted: every session holds a reference to the one it started with,
 * so a listener can swap in freshly loaded certificates while established
 * sessions keep theirs.
 *
 * Results are 0 or negative errno: -EAGAIN (needs more input), -EPROTO (the
 * TLS protocol failed), -EACCES (the peer certificate failed verification),
 * -EINVAL/-ENOENT (a file did not load). After a failure core_tls_error()
 * tells why in words, for the log line.
 */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct core_tls_conf;
struct core_tls;

/* Loads a server configuration; on failure *why names the file and reason. */
int core_tls_conf_server(struct core_tls_conf **out, const char *cert_file, const char *key_file,
			 char *why, size_t why_size);
/* ca_file NULL: the system bundle. cert_file/key_file: optional client certificate. */
int core_tls_conf_client(struct core_tls_conf **out, const char *ca_file, bool verify,
			 const char *cert_file, const char *key_file, char *why, size_t why_size);
struct core_tls_conf *core_tls_conf_ref(struct core_tls_conf *conf);
void core_tls_conf_unref(struct core_tls_conf *conf);

/* Does the DER X.509 v3 extensions block (SEQUENCE OF Extension, as in
 * mbedtls_x509_crt.v3_ext) hold an iPAddress subjectAltName equal to ip
 * (4 or 16 bytes)? 1 yes, 0 no, -EBADMSG malformed. The bytes come from the
 * peer: any input is safe. */
int core_tls_san_has_ip(const uint8_t *ext, size_t len, const uint8_t *ip, size_t ip_len);

/* hostname (clients only): checked against the certificate and sent as SNI,
 * unless it is an IP address (RFC 6066 allows only host names there). */
int core_tls_new(struct core_tls **out, struct core_tls_conf *conf, const char *hostname);
void core_tls_free(struct core_tls *tls);

/* Ciphertext from the peer; copied. */
void core_tls_feed(struct core_tls *tls, const uint8_t *data, size_t len);
/* 0 once established, -EAGAIN while it needs more input, else an error. */
int core_tls_handshake(struct core_tls *tls);
/* Plaintext: >0 bytes, -EAGAIN nothing complete yet, 0 the peer sent
 * close_notify, else an error. */
int core_tls_read(struct core_tls *tls, uint8_t *buf, size_t size);
/* Ciphertext core_tls_read has written so far (alerts, in answer to
 * handshake messages after the handshake): a peer that never reads can make
 * it grow without sending any plaintext, so the caller bounds it. */
size_t core_tls_read_output(const struct core_tls *tls);
/* True when input is held that core_tls_read could turn into plaintext. */
bool core_tls_has_input(const struct core_tls *tls);
/* Encrypts all of data into the output; 0 or an error. */
int core_tls_write(struct core_tls *tls, const uint8_t *data, size_t len);
int core_tls_close_notify(struct core_tls *tls);
/* Hands over the ciphertext waiting to be written (malloc'd; free() it), or
 * NULL when there is none. */
uint8_t *core_tls_take_output(struct core_tls *tls, size_t *len);
const char *core_tls_error(const struct core_tls *tls);

/* Frees the process-wide random generator (after the last session). */
void core_tls_shutdown(void);

#endif
