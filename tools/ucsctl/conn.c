/*
 * tools/ucsctl/conn.c - the WebSocket connection: TCP, TLS, upgrade, frames.
 * (See conn.h for the design.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "conn.h"
#include "secret.h"
#include "ws_frame.h"
#include "ws_http.h"

/* Large enough for an export archive; the server has its own limits. */
#define MAX_FRAME     (256u << 20)
#define MAX_MESSAGE   (256u << 20)
#define MAX_HTTP      16384
#define CLOSE_WAIT_MS 1000

/* A message the reader completed that nobody asked for yet. */
struct msg {
	struct msg *next;
	size_t len;
	char text[];
};

struct conn {
	int fd;
	bool tls, tls_up;
	int timeout_ms;
	/* TLS */
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	struct in6_addr ip; /* the host when it is an address literal */
	int ip_len;	    /* 4, 16, or 0 for a name */
	const char *host;
	/* WebSocket */
	struct ws_reader rd;
	struct msg *head, **tail;
	bool peer_closed, close_sent;
	int close_code;
	char close_reason[128];
	char *werr; /* where the reader's handler reports a write failure */
	size_t werr_cap;
	int send_failed;
};

static volatile sig_atomic_t interrupted;

void conn_interrupt(void)
{
	interrupted = 1;
}

static void seterr(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of a deadline for poll(): -1 (none), or >= 0. */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static int64_t deadline_in(int ms)
{
	return ms < 0 ? -1 : now_ms() + ms;
}

/* Waits for the socket: 1 ready, 0 timeout, 2 interrupted, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	for (;;) {
		if (interrupted)
			return 2;
		n = poll(&p, 1, left_ms(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- TCP ---------------------------------------------------------------- */

static int tcp_connect(const struct conn_opts *o, int *out, char *err, size_t cap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = 0}, *res, *ai;
	int rc, fd = -1, soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc) {
		seterr(err, cap, "cannot resolve %s: %s", o->host, gai_strerror(rc));
		return -1;
	}
	seterr(err, cap, "cannot connect to %s port %s", o->host, o->port);
	for (ai = res; ai; ai = ai->ai_next) {
		int64_t deadline = deadline_in(o->timeout_ms);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			seterr(err, cap, "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
			    soerr == 0)
				break;
			errno = rc == 0 ? ETIMEDOUT : rc == 2 ? EINTR : soerr ? soerr : errno;
		}
		seterr(err, cap, "cannot connect to %s port %s: %s", o->host, o->port,
		       strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

/* ---- TLS ---------------------------------------------------------------- */

static int bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct conn *c = arg;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct conn *c = arg;
	ssize_t n = recv(c->fd, buf, len, 0);

	if (n >= 0)
		return (int)n; /* 0: the peer closed TCP */
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* mbedtls 2.28 matches the host only against DNS names; for an address
 * literal we check the certificate's iPAddress entries ourselves (or, in a
 * certificate without subjectAltName, the CN as text), at the leaf. */
static int verify_ip(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct conn *c = arg;
	const mbedtls_x509_sequence *san;
	const mbedtls_x509_name *name;
	bool match = false;

	if (depth != 0 || !c->ip_len)
		return 0;
	if (crt->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) {
		for (san = &crt->subject_alt_names; san && !match; san = san->next)
			match = san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC |
						 MBEDTLS_X509_SAN_IP_ADDRESS) &&
				san->buf.len == (size_t)c->ip_len &&
				memcmp(san->buf.p, &c->ip, (size_t)c->ip_len) == 0;
	} else {
		for (name = &crt->subject; name && !match; name = name->next)
			match = MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &name->oid) == 0 &&
				name->val.len == strlen(c->host) &&
				memcmp(name->val.p, c->host, name->val.len) == 0;
	}
	if (!match)
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

static void tls_err(char *err, size_t cap, const char *what, int rc)
{
	char text[160];

	mbedtls_strerror(rc, text, sizeof(text));
	seterr(err, cap, "TLS %s failed: %s", what, text);
}

static int tls_start(struct conn *c, const struct conn_opts *o, char *err, size_t cap)
{
	static const char pers[] = "ucsctl";
	const char *ca = o->ca ? o->ca : "/etc/ssl/certs/ca-certificates.crt";
	int64_t deadline = deadline_in(o->timeout_ms);
	int rc, w;
	uint32_t flags;

	c->tls = true;
	mbedtls_ssl_init(&c->ssl);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc) {
		tls_err(err, cap, "random generator", rc);
		return -1;
	}
	if (!o->insecure) {
		rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
		if (rc < 0 || (rc > 0 && !c->ca.version)) {
			char text[160];

			mbedtls_strerror(rc, text, sizeof(text));
			seterr(err, cap, "cannot load the CA certificates %s: %s", ca, text);
			return -1;
		}
	}
	rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		tls_err(err, cap, "setup", rc);
		return -1;
	}
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	if (o->insecure) {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_verify(&c->conf, verify_ip, c);
	}
	rc = mbedtls_ssl_setup(&c->ssl, &c->conf);
	if (rc) {
		tls_err(err, cap, "setup", rc);
		return -1;
	}
	if (inet_pton(AF_INET, o->host, &c->ip) == 1)
		c->ip_len = 4;
	else if (inet_pton(AF_INET6, o->host, &c->ip) == 1)
		c->ip_len = 16;
	/* SNI and the DNS-name check for names; an address is checked by
	 * verify_ip() (RFC 6066: no SNI for literals). */
	rc = mbedtls_ssl_set_hostname(&c->ssl, c->ip_len ? NULL : o->host);
	if (rc) {
		tls_err(err, cap, "setup", rc);
		return -1;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	for (;;) {
		rc = mbedtls_ssl_handshake(&c->ssl);
		if (rc == 0)
			break;
		if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
			flags = mbedtls_ssl_get_verify_result(&c->ssl);
			if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED &&
			    flags == MBEDTLS_X509_BADCERT_CN_MISMATCH) {
				seterr(err, cap,
				       "TLS: the server's certificate is not for %s (it names other "
				       "hosts; connect with a name it has, or use --insecure)",
				       o->host);
			} else if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
				char info[512];

				mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
				info[strcspn(info, "\n")] = 0;
				seterr(err, cap,
				       "TLS: the server's certificate is not trusted: %s (use --ca "
				       "FILE with the issuing CA, or --insecure)",
				       info);
			} else {
				tls_err(err, cap, "handshake", rc);
			}
			return -1;
		}
		w = wait_fd(c->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w != 1) {
			seterr(err, cap, "TLS handshake: %s",
			       w == 0	? "no answer in time"
			       : w == 2 ? "interrupted"
					: strerror(errno));
			return -1;
		}
	}
	c->tls_up = true;
	return 0;
}

/* ---- bytes -------------------------------------------------------------- */

static int write_all(struct conn *c, const void *data, size_t len, char *err, size_t cap)
{
	const uint8_t *p = data;
	int64_t deadline = deadline_in(c->timeout_ms);
	int w;

	while (len) {
		ssize_t n;
		short ev = POLLOUT;

		if (c->tls) {
			int rc = mbedtls_ssl_write(&c->ssl, p, len);

			if (rc >= 0) {
				n = rc;
			} else if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
				   rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
				n = -1;
				ev = rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
			} else {
				tls_err(err, cap, "write", rc);
				return -1;
			}
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				seterr(err, cap, "sending failed: %s", strerror(errno));
				return -1;
			}
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		w = wait_fd(c->fd, ev, deadline);
		if (w != 1) {
			seterr(err, cap, "sending failed: %s",
			       w == 0 ? "the server does not read" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Reads what is there (waiting up to the deadline): bytes read, 0 when
 * the peer closed, -2 timeout, -3 interrupted, -1 error (err set). */
static ssize_t read_some(struct conn *c, void *buf, size_t cap_buf, int64_t deadline, char *err,
			 size_t cap)
{
	for (;;) {
		short ev = POLLIN;
		int w;

		if (c->tls) {
			int rc = mbedtls_ssl_read(&c->ssl, buf, cap_buf);

			if (rc >= 0)
				return rc;
			if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
				return 0;
			if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
				tls_err(err, cap, "read", rc);
				return -1;
			}
			if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
				ev = POLLOUT;
		} else {
			ssize_t n = recv(c->fd, buf, cap_buf, 0);

			if (n >= 0)
				return n;
			if (errno != EAGAIN && errno != EINTR) {
				seterr(err, cap, "receiving failed: %s", strerror(errno));
				return -1;
			}
		}
		w = wait_fd(c->fd, ev, deadline);
		if (w == 0)
			return -2;
		if (w == 2)
			return -3;
		if (w < 0) {
			seterr(err, cap, "receiving failed: %s", strerror(errno));
			return -1;
		}
	}
}

/* ---- frames ------------------------------------------------------------- */

static int send_frame(struct conn *c, int opcode, const void *data, size_t len, char *err,
		      size_t cap)
{
	uint8_t mask[4], *buf;
	size_t hl;
	int rc;

	if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask)) {
		seterr(err, cap, "getrandom: %s", strerror(errno));
		return -1;
	}
	buf = malloc(14 + len);
	if (!buf) {
		seterr(err, cap, "out of memory");
		return -1;
	}
	hl = ws_frame_header(buf, 1, opcode, len, mask);
	if (len)
		memcpy(buf + hl, data, len);
	ws_mask(buf + hl, len, mask, 0);
	rc = write_all(c, buf, hl + len, err, cap);
	secret_wipe(buf, hl + len); /* the frame may carry a password */
	free(buf);
	return rc;
}

int conn_send_text(struct conn *c, const char *text, size_t len, char *err, size_t cap)
{
	if (c->peer_closed || c->close_sent) {
		seterr(err, cap, "the connection is closed");
		return -1;
	}
	return send_frame(c, WS_OP_TEXT, text, len, err, cap);
}

static void send_close(struct conn *c, int code, const char *reason)
{
	uint8_t payload[125];
	size_t n;
	char err[64];

	if (c->close_sent)
		return;
	c->close_sent = true;
	n = ws_close_payload(payload, code, reason);
	send_frame(c, WS_OP_CLOSE, payload, n, err, sizeof(err));
}

/* The reader's handler: queues messages, answers pings and closes. */
static int on_frame(int opcode, const uint8_t *data, size_t len, void *arg)
{
	struct conn *c = arg;
	struct msg *m;
	const char *reason;
	size_t rlen;

	switch (opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		m = malloc(sizeof(*m) + len + 1);
		if (!m)
			return -ENOMEM;
		m->next = NULL;
		m->len = len;
		memcpy(m->text, data, len);
		m->text[len] = 0;
		*c->tail = m;
		c->tail = &m->next;
		return 0;
	case WS_OP_PING:
		if (!c->close_sent && send_frame(c, WS_OP_PONG, data, len, c->werr, c->werr_cap)) {
			c->send_failed = 1;
			return 1;
		}
		return 0;
	case WS_OP_CLOSE:
		c->peer_closed = true;
		if (ws_close_parse(data, len, &c->close_code, &reason, &rlen) != 0) {
			c->close_code = 1002;
			rlen = 0;
		}
		if (rlen >= sizeof(c->close_reason))
			rlen = sizeof(c->close_reason) - 1;
		if (rlen)
			memcpy(c->close_reason, reason, rlen);
		c->close_reason[rlen] = 0;
		send_close(c, c->close_code == 1005 ? 1000 : c->close_code, "");
		return 1;
	default:
		return 0;
	}
}

static void closed_err(struct conn *c, char *err, size_t cap)
{
	if (c->close_reason[0])
		seterr(err, cap, "the server closed the connection (%d: %s)", c->close_code,
		       c->close_reason);
	else
		seterr(err, cap, "the server closed the connection (%d)", c->close_code);
}

int conn_recv_text(struct conn *c, int timeout_ms, char **msg, size_t *len, char *err, size_t cap)
{
	int64_t deadline = deadline_in(timeout_ms);
	uint8_t buf[16384];

	c->werr = err;
	c->werr_cap = cap;
	for (;;) {
		struct msg *m = c->head;
		ssize_t n;
		int rc;

		if (m) {
			c->head = m->next;
			if (!c->head)
				c->tail = &c->head;
			*len = m->len;
			/* hand the text over in place: the header goes with it */
			memmove(m, m->text, m->len + 1);
			*msg = (char *)m;
			return 0;
		}
		if (c->peer_closed) {
			closed_err(c, err, cap);
			return -1;
		}
		n = read_some(c, buf, sizeof(buf), deadline, err, cap);
		if (n == -2)
			return 1;
		if (n == -3)
			return 2;
		if (n < 0)
			return -1;
		if (n == 0) {
			seterr(err, cap, "the server closed the connection");
			return -1;
		}
		rc = ws_reader_feed(&c->rd, buf, (size_t)n, on_frame, c);
		if (c->send_failed)
			return -1;
		if (rc < 0) {
			seterr(err, cap, "out of memory");
			return -1;
		}
		if (rc > 1) { /* a close code for the server's violation */
			send_close(c, rc, "protocol error");
			c->peer_closed = true;
			seterr(err, cap, "the server broke the WebSocket protocol (close code %d)",
			       rc);
			return -1;
		}
	}
}

/* ---- opening and closing ------------------------------------------------ */

static int upgrade(struct conn *c, const struct conn_opts *o, char *err, size_t cap)
{
	char req[1024], host[300], key[32];
	uint8_t *resp;
	size_t got = 0, used = 0;
	int64_t deadline = deadline_in(o->timeout_ms);
	int n, rc = -1, status = 0;

	if (strchr(o->host, ':'))
		snprintf(host, sizeof(host), "[%s]:%s", o->host, o->port);
	else
		snprintf(host, sizeof(host), "%s:%s", o->host, o->port);
	n = ws_http_client_request(host, "/ws", req, sizeof(req), key);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		seterr(err, cap, "cannot build the upgrade request");
		return -1;
	}
	if (write_all(c, req, (size_t)n, err, cap))
		return -1;
	resp = malloc(MAX_HTTP);
	if (!resp) {
		seterr(err, cap, "out of memory");
		return -1;
	}
	for (;;) {
		ssize_t r = read_some(c, resp + got, MAX_HTTP - got, deadline, err, cap);

		if (r == -2 || r == -3) {
			seterr(err, cap, "no WebSocket answer from %s port %s in time", o->host,
			       o->port);
			goto out;
		}
		if (r < 0) {
			if (!o->tls) {
				size_t l = strlen(err);

				snprintf(err + l, cap - l, " (is it a TLS port? try --tls)");
			}
			goto out;
		}
		if (r == 0) {
			seterr(err, cap,
			       "%s port %s closed the connection during the WebSocket upgrade%s",
			       o->host, o->port, o->tls ? "" : " (does it want TLS? try --tls)");
			goto out;
		}
		got += (size_t)r;
		rc = ws_http_client_check(resp, got, key, &used, &status);
		if (rc == 0)
			break;
		if (rc != -EAGAIN || got == MAX_HTTP) {
			if (status == 426 && !o->tls)
				seterr(err, cap, "%s port %s requires TLS (HTTP 426): use --tls",
				       o->host, o->port);
			else if (status)
				seterr(err, cap,
				       "%s port %s refused the WebSocket upgrade (HTTP %d)",
				       o->host, o->port, status);
			else
				seterr(err, cap, "%s port %s does not speak WebSocket%s", o->host,
				       o->port, o->tls ? "" : " (is it a TLS port? try --tls)");
			rc = -1;
			goto out;
		}
	}
	/* frames that came with the answer */
	if (got > used) {
		int f = ws_reader_feed(&c->rd, resp + used, got - used, on_frame, c);

		if (f > 1) {
			seterr(err, cap, "the server broke the WebSocket protocol (close code %d)",
			       f);
			rc = -1;
		}
	}
out:
	free(resp);
	return rc;
}

int conn_open(const struct conn_opts *o, struct conn **out, char *err, size_t cap)
{
	struct conn *c = calloc(1, sizeof(*c));
	int err_rc = -1;

	if (!c) {
		seterr(err, cap, "out of memory");
		return -1;
	}
	c->fd = -1;
	c->timeout_ms = o->timeout_ms;
	c->host = o->host;
	c->tail = &c->head;
	c->werr = err;
	c->werr_cap = cap;
	ws_reader_init(&c->rd, WS_CLIENT, MAX_FRAME, MAX_MESSAGE);
	if (tcp_connect(o, &c->fd, err, cap))
		goto out;
	if (o->tls && tls_start(c, o, err, cap))
		goto out;
	if (upgrade(c, o, err, cap))
		goto out;
	err_rc = 0;
out:
	if (err_rc) {
		c->close_sent = true; /* nothing to say on a half-open connection */
		conn_close(c);
		c = NULL;
	}
	*out = c;
	return err_rc;
}

void conn_close(struct conn *c)
{
	struct msg *m;

	if (!c)
		return;
	if (c->fd >= 0 && !c->close_sent && (!c->tls || c->tls_up)) {
		int64_t deadline = deadline_in(CLOSE_WAIT_MS);
		uint8_t buf[4096];
		char e[128];

		c->werr = e;
		c->werr_cap = sizeof(e);
		send_close(c, 1000, "");
		/* the server's close frame (or its end of TCP), briefly */
		while (!c->peer_closed) {
			ssize_t n = read_some(c, buf, sizeof(buf), deadline, e, sizeof(e));

			if (n <= 0 || ws_reader_feed(&c->rd, buf, (size_t)n, on_frame, c) > 1)
				break;
		}
	}
	if (c->tls) {
		if (c->tls_up)
			mbedtls_ssl_close_notify(&c->ssl);
		mbedtls_ssl_free(&c->ssl);
		mbedtls_ssl_config_free(&c->conf);
		mbedtls_x509_crt_free(&c->ca);
		mbedtls_ctr_drbg_free(&c->drbg);
		mbedtls_entropy_free(&c->entropy);
	}
	if (c->fd >= 0)
		close(c->fd);
	while ((m = c->head)) {
		c->head = m->next;
		free(m);
	}
	ws_reader_free(&c->rd);
	free(c);
}
