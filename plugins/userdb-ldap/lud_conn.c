/*
 * plugins/userdb-ldap/lud_conn.c - one connection to the directory through
 * libldap: TLS (ldaps:// or StartTLS) with certificate verification, the
 * bind, paged searches and modifications.
 *
 * Everything here blocks and runs on a worker thread. Blocking is bounded:
 * connecting (TCP and the TLS handshake) and StartTLS by network_timeout,
 * and every operation by search_timeout counted from the last answer the
 * server gave (a large directory may take long in total, but a server that
 * stops answering - a hung slapd, a half-open connection - is noticed).
 * Results are awaited in slices of 100 ms so that the plugin's cancel flag
 * ends a job quickly when ucsd stops.
 *
 * The TLS handshake is the exception libldap leaves: it does not bound it by
 * LDAP_OPT_NETWORK_TIMEOUT (2.5 loops on a non-blocking socket until the
 * server answers, at full CPU), and a directory that accepts connections
 * but never answers - SIGSTOPped, hung, a black hole behind a load balancer
 * - would hold the job forever, and with it the retries, the write-backs
 * and ucsd's stop. So connecting is watched (struct guard below): a thread
 * shuts the socket down at the deadline or when the cancel flag is set,
 * whatever libldap is doing with it, and the blocked call fails like any
 * lost connection.
 *
 * Referrals are not chased (Active Directory returns them for other
 * partitions; following them would bind elsewhere with our password), and
 * the TLS settings are the handle's own (LDAP_OPT_X_TLS_NEWCTX), so
 * ca_file and verification do not depend on ldap.conf or on another
 * plugin's libldap use in the same process.
 */
#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lud.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define SLICE_MS	 100

/* ---- the connection watchdog ----
 *
 * A guard watches one LDAP handle while it connects: libldap's connect
 * callback (LDAP_OPT_CONNECT_CB) hands it the socket as soon as TCP is
 * connected, before any TLS; while the guard is armed a thread of its own
 * shuts that socket down when the deadline passes or the cancel flag is
 * set, and the handshake (or StartTLS) libldap is blocked in fails. The
 * socket leaves the guard (under its lock) in the disconnect callback,
 * before libldap closes it, so the thread never shuts down a descriptor
 * that was closed and reused meanwhile.
 *
 * The connect callback also turns libldap's network timeout off for the
 * handshake that follows: with a timeout set, libldap 2.5 runs the
 * handshake on a non-blocking socket and retries the read without waiting
 * (a hung server costs a full core until the deadline); without one the
 * read blocks, and the guard's deadline is the time limit instead.
 *
 * The guard outlives the handle it is registered with (the callbacks keep
 * a pointer to it): it is part of struct lud_conn, or on the stack of a
 * function that unbinds its handle before it returns. The thread runs only
 * while the guard is armed (guard_arm .. guard_disarm), at most one per
 * connection attempt.
 */
struct guard {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct ldap_conncb cb;
	atomic_int *cancel;
	int64_t deadline_ms;
	int fd;	     /* the handle's socket once connected, -1 before and after */
	int armed;   /* the thread runs */
	int stop;    /* the thread is asked to end */
	int fired;   /* the deadline passed: the socket was shut down */
	int stopped; /* the cancel flag: the socket was shut down */
};

struct lud_conn {
	LDAP *ld;
	const struct lud_conf *conf;
	atomic_int *cancel;
	char url[256];
	struct guard guard;
	int has_guard;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *guard_main(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		int64_t now = now_ms(), wake = now + SLICE_MS;
		struct timespec ts;

		if (g->fd >= 0 && !g->fired && !g->stopped) {
			if (now >= g->deadline_ms) {
				shutdown(g->fd, SHUT_RDWR);
				g->fired = 1;
			} else if (atomic_load(g->cancel)) {
				shutdown(g->fd, SHUT_RDWR);
				g->stopped = 1;
			}
		}
		if (g->fired || g->stopped || (g->fd < 0 && now >= g->deadline_ms)) {
			/* nothing to watch until a socket comes (the callback
			 * signals) or the guard is disarmed */
			pthread_cond_wait(&g->cond, &g->lock);
			continue;
		}
		/* the cancel flag is a plain flag: looked at once per slice */
		if (g->deadline_ms < wake)
			wake = g->deadline_ms;
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000;
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* libldap connected the socket (TCP only, no TLS yet). */
static int guard_on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
			    struct ldap_conncb *ctx)
{
	struct guard *g = ctx->lc_arg;
	struct timeval unbounded = {-1, 0};
	ber_socket_t fd = -1;

	(void)srv, (void)addr;
	/* the handshake blocks instead of spinning; the guard bounds it */
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &unbounded);
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	g->fd = fd;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* libldap is about to close the socket. */
static void guard_on_disconnect(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	struct guard *g = ctx->lc_arg;

	(void)ld, (void)sb;
	pthread_mutex_lock(&g->lock);
	g->fd = -1;
	pthread_mutex_unlock(&g->lock);
}

static int guard_init(struct guard *g, atomic_int *cancel)
{
	pthread_condattr_t attr;
	int rc;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->cancel = cancel;
	g->cb.lc_add = guard_on_connect;
	g->cb.lc_del = guard_on_disconnect;
	g->cb.lc_arg = g;
	rc = pthread_mutex_init(&g->lock, NULL);
	if (rc)
		return -rc;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&g->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc) {
		pthread_mutex_destroy(&g->lock);
		return -rc;
	}
	return 0;
}

/* After the handle it watched is unbound. */
static void guard_destroy(struct guard *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* Watches the handle for the next timeout_ms. */
static int guard_arm(struct guard *g, int timeout_ms)
{
	int rc;

	pthread_mutex_lock(&g->lock);
	g->deadline_ms = now_ms() + timeout_ms;
	g->fired = g->stopped = g->stop = 0;
	pthread_mutex_unlock(&g->lock);
	rc = pthread_create(&g->thread, NULL, guard_main, g);
	if (rc)
		return -rc;
	g->armed = 1;
	return 0;
}

static void guard_disarm(struct guard *g)
{
	if (!g->armed)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	g->armed = 0;
}

/* 1 when the guard shut the socket down (the call it ended failed for
 * that reason, not the server's). */
static int guard_ended(struct guard *g)
{
	int r;

	pthread_mutex_lock(&g->lock);
	r = g->fired || g->stopped;
	pthread_mutex_unlock(&g->lock);
	return r;
}

static int guard_fired(struct guard *g)
{
	int r;

	pthread_mutex_lock(&g->lock);
	r = g->fired;
	pthread_mutex_unlock(&g->lock);
	return r;
}

/* libldap's diagnostic text for the last error on ld ("" when none). */
static void diagnostic(LDAP *ld, char *buf, size_t cap)
{
	char *msg = NULL;

	buf[0] = '\0';
	if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg) {
		snprintf(buf, cap, "%s", msg);
		ldap_memfree(msg);
	}
}

/* An LDAP result code as a negative errno. */
static int errno_of(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
		return -ECONNREFUSED;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return -ETIMEDOUT;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return -EACCES;
	case LDAP_NO_SUCH_OBJECT:
		return -ENOENT;
	case LDAP_INVALID_SYNTAX:
	case LDAP_CONSTRAINT_VIOLATION:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_UNWILLING_TO_PERFORM:
		return -EINVAL; /* the server refused the data, not the connection */
	case LDAP_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void fail_msg(LDAP *ld, int rc, const char *what, char *err, size_t errcap)
{
	char diag[256];

	diagnostic(ld, diag, sizeof(diag));
	if (diag[0] && strcmp(diag, ldap_err2string(rc)) != 0)
		snprintf(err, errcap, "%s: %s (%s)", what, ldap_err2string(rc), diag);
	else
		snprintf(err, errcap, "%s: %s", what, ldap_err2string(rc));
}

static int set_opt(LDAP *ld, int opt, const void *val, const char *name, char *err, size_t errcap)
{
	int rc = ldap_set_option(ld, opt, val);

	if (rc != LDAP_OPT_SUCCESS) {
		snprintf(err, errcap, "cannot set %s: %s", name, ldap_err2string(rc));
		return -EINVAL;
	}
	return 0;
}

static int setup_handle(LDAP *ld, const struct lud_conf *c, int verify, struct guard *g, char *err,
			size_t errcap)
{
	struct timeval net = {c->network_timeout_ms / 1000, (c->network_timeout_ms % 1000) * 1000};
	/* synchronous calls (StartTLS) are short: bounded like connecting */
	struct timeval op = {c->network_timeout_ms / 1000, (c->network_timeout_ms % 1000) * 1000};
	int version = LDAP_VERSION3;
	int reqcert = verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	const char *ca = *c->ca_file ? c->ca_file : NULL;
	int zero = 0;
	int rc;

	if (!ca && access(SYSTEM_CA_BUNDLE, R_OK) == 0)
		ca = SYSTEM_CA_BUNDLE;
	rc = set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &version, "the protocol version", err, errcap);
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals", err, errcap);
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &net, "the network timeout", err,
			     errcap);
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_TIMEOUT, &op, "the timeout", err, errcap);
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_CONNECT_CB, &g->cb, "the connection watchdog", err,
			     errcap);
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert, "certificate checking", err,
			     errcap);
	if (!rc && ca)
		rc = set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, ca, "ca_file", err, errcap);
	/* a TLS context of this handle's own, with the options above */
	if (!rc)
		rc = set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &zero, "the TLS context", err, errcap);
	return rc;
}

static int is_scheme(const char *url, const char *scheme)
{
	return strncasecmp(url, scheme, strlen(scheme)) == 0;
}

/* libldap reports a failed certificate check like any other failed
 * handshake ("Can't contact LDAP server", "(unknown error code)"). To tell
 * the operator what is wrong, the handshake is tried once more without
 * verification: when that works, the certificate was the problem. Nothing
 * is sent over that connection. */
static int tls_works_unverified(const struct lud_conf *c, const char *url, atomic_int *cancel)
{
	struct guard g;
	char ignored[64];
	LDAP *ld = NULL;
	int ok = 0;

	if (guard_init(&g, cancel))
		return 0;
	if (ldap_initialize(&ld, url) != LDAP_SUCCESS)
		goto out;
	/* one network_timeout for connecting, the handshake and StartTLS */
	if (setup_handle(ld, c, 0, &g, ignored, sizeof(ignored)) == 0 &&
	    guard_arm(&g, c->network_timeout_ms) == 0) {
		if (ldap_connect(ld) == LDAP_SUCCESS)
			ok = is_scheme(url, "ldaps://") ||
			     ldap_start_tls_s(ld, NULL, NULL) == LDAP_SUCCESS;
		guard_disarm(&g);
		ok = ok && !guard_ended(&g);
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
out:
	guard_destroy(&g);
	return ok;
}

static void untrusted_msg(const struct lud_conf *c, const char *url, char *err, size_t errcap)
{
	snprintf(err, errcap,
		 "TLS with %s failed: the server's certificate is not trusted (not issued by a "
		 "CA in %s, or not for this host name)",
		 url, *c->ca_file ? c->ca_file : "the system's trust store");
}

static int next_result(struct lud_conn *conn, int msgid, LDAPMessage **res, const char *what,
		       char *err, size_t errcap);

/* A simple bind, waited for in slices (cancellable). */
static int bind_async(struct lud_conn *conn, const char *what, char *err, size_t errcap)
{
	const struct lud_conf *c = conn->conf;
	struct berval cred = {0, NULL};
	LDAPMessage *res = NULL;
	int msgid, rc, code = LDAP_SUCCESS, e;

	if (*c->bind_dn) {
		cred.bv_val = c->password;
		cred.bv_len = strlen(c->password);
	}
	rc = ldap_sasl_bind(conn->ld, *c->bind_dn ? c->bind_dn : NULL, LDAP_SASL_SIMPLE, &cred,
			    NULL, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, what, err, errcap);
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	e = next_result(conn, msgid, &res, what, err, errcap);
	if (e < 0)
		return e;
	rc = ldap_parse_result(conn->ld, res, &code, NULL, NULL, NULL, NULL, 1);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, what, err, errcap);
		return -EIO;
	}
	if (code != LDAP_SUCCESS) {
		snprintf(err, errcap, "%s: %s", what, ldap_err2string(code));
		return errno_of(code) ? errno_of(code) : -EIO;
	}
	return 0;
}

/* Why the guard ended a connection attempt: the error for it. */
static int guard_msg(struct lud_conn *conn, const char *what, char *err, size_t errcap)
{
	if (guard_fired(&conn->guard)) {
		snprintf(err, errcap, "%s: no TLS handshake within %d s", what,
			 conn->conf->network_timeout_ms / 1000);
		return -ETIMEDOUT;
	}
	snprintf(err, errcap, "%s: cancelled", what);
	return -ECANCELED;
}

/* Connects, upgrades and binds to one URL. */
static int open_one(struct lud_conn *conn, const char *url, char *err, size_t errcap)
{
	const struct lud_conf *c = conn->conf;
	LDAP *ld = NULL;
	char what[320];
	int rc, e;

	rc = ldap_initialize(&ld, url);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errcap, "%s: %s", url, ldap_err2string(rc));
		e = -EINVAL;
		goto out;
	}
	e = setup_handle(ld, c, c->tls_verify, &conn->guard, err, errcap);
	if (e)
		goto out;
	/* TCP and, for ldaps://, the TLS handshake */
	e = guard_arm(&conn->guard, c->network_timeout_ms);
	if (e) {
		snprintf(err, errcap, "cannot start the connection watchdog: %s", strerror(-e));
		goto out;
	}
	rc = ldap_connect(ld);
	guard_disarm(&conn->guard);
	/* (the guard may have shut the socket down just as the handshake ended) */
	if (rc != LDAP_SUCCESS || guard_ended(&conn->guard)) {
		snprintf(what, sizeof(what), "cannot connect to %s", url);
		if (guard_ended(&conn->guard)) {
			e = guard_msg(conn, what, err, errcap);
			goto out;
		}
		fail_msg(ld, rc, what, err, errcap);
		e = errno_of(rc);
		if (is_scheme(url, "ldaps://") && c->tls_verify &&
		    tls_works_unverified(c, url, conn->cancel)) {
			untrusted_msg(c, url, err, errcap);
			e = -EPROTO;
		}
		goto out;
	}
	if (is_scheme(url, "ldap://") && c->starttls) {
		/* the request, its answer and the handshake */
		e = guard_arm(&conn->guard, c->network_timeout_ms);
		if (e) {
			snprintf(err, errcap, "cannot start the connection watchdog: %s",
				 strerror(-e));
			goto out;
		}
		rc = ldap_start_tls_s(ld, NULL, NULL);
		guard_disarm(&conn->guard);
		if (rc != LDAP_SUCCESS || guard_ended(&conn->guard)) {
			snprintf(what, sizeof(what), "StartTLS with %s failed", url);
			if (guard_ended(&conn->guard)) {
				e = guard_msg(conn, what, err, errcap);
				goto out;
			}
			fail_msg(ld, rc, what, err, errcap);
			/* a refused upgrade is no outage: never fall back to clear text */
			e = rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? errno_of(rc) : -EPROTO;
			if (c->tls_verify && rc != LDAP_TIMEOUT &&
			    tls_works_unverified(c, url, conn->cancel))
				untrusted_msg(c, url, err, errcap);
			goto out;
		}
	}
	if (atomic_load(conn->cancel)) {
		e = -ECANCELED;
		goto out;
	}
	snprintf(what, sizeof(what), "bind to %s as %s failed", url,
		 *c->bind_dn ? c->bind_dn : "anonymous");
	conn->ld = ld;
	e = bind_async(conn, what, err, errcap);
	conn->ld = NULL;
	if (e)
		goto out;
	snprintf(conn->url, sizeof(conn->url), "%s", url);
	conn->ld = ld;
	ld = NULL;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return e;
}

int lud_conn_open(const struct lud_conf *c, atomic_int *cancel, struct lud_conn **out, char *err,
		  size_t errcap)
{
	struct lud_conn *conn = calloc(1, sizeof(*conn));
	const char *p = c->url;
	int e = -EINVAL;

	if (!conn)
		return -ENOMEM;
	conn->conf = c;
	conn->cancel = cancel;
	e = guard_init(&conn->guard, cancel);
	if (e) {
		snprintf(err, errcap, "cannot set up the connection watchdog: %s", strerror(-e));
		free(conn);
		return e;
	}
	conn->has_guard = 1;
	e = -EINVAL;
	snprintf(err, errcap, "no URL");
	/* several URLs: the first that works; the error is the last one's */
	while (*p) {
		char url[256];
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, " \t,");
		if (!len)
			continue;
		snprintf(url, sizeof(url), "%.*s", (int)len, p);
		p += len;
		e = open_one(conn, url, err, errcap);
		if (!e || e == -ECANCELED || atomic_load(cancel))
			break;
	}
	if (!e && atomic_load(cancel))
		e = -ECANCELED;
	if (e) {
		lud_conn_close(conn);
		return e;
	}
	*out = conn;
	return 0;
}

void lud_conn_close(struct lud_conn *conn)
{
	if (!conn)
		return;
	if (conn->ld)
		ldap_unbind_ext_s(conn->ld, NULL, NULL);
	/* after the unbind: its disconnect callback still reaches the guard */
	if (conn->has_guard)
		guard_destroy(&conn->guard);
	free(conn);
}

/* Waits for the next message of msgid; 1 with *res, or a negative errno
 * (the operation is abandoned). */
static int next_result(struct lud_conn *conn, int msgid, LDAPMessage **res, const char *what,
		       char *err, size_t errcap)
{
	int64_t deadline = now_ms() + conn->conf->search_timeout_ms;

	for (;;) {
		struct timeval tv = {0, SLICE_MS * 1000};
		int rc = ldap_result(conn->ld, msgid, LDAP_MSG_ONE, &tv, res);

		if (rc > 0)
			return 1;
		if (rc < 0) {
			int code = LDAP_SERVER_DOWN;

			ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &code);
			fail_msg(conn->ld, code, what, err, errcap);
			return errno_of(code) ? errno_of(code) : -EIO;
		}
		if (atomic_load(conn->cancel)) {
			ldap_abandon_ext(conn->ld, msgid, NULL, NULL);
			snprintf(err, errcap, "%s: cancelled", what);
			return -ECANCELED;
		}
		if (now_ms() >= deadline) {
			ldap_abandon_ext(conn->ld, msgid, NULL, NULL);
			snprintf(err, errcap, "%s: no answer within %d s", what,
				 conn->conf->search_timeout_ms / 1000);
			return -ETIMEDOUT;
		}
	}
}

/* One entry as struct lud_entry, for the handler. */
static int deliver(struct lud_conn *conn, LDAPMessage *msg, lud_entry_h *h, void *arg)
{
	struct lud_attr attrs[64];
	struct lud_val *vals[64] = {0};
	struct berval **bvs[64] = {0};
	char *names[64] = {0};
	BerElement *ber = NULL;
	size_t n = 0;
	char *dn = ldap_get_dn(conn->ld, msg);
	int rc = 0;

	for (char *a = ldap_first_attribute(conn->ld, msg, &ber); a;
	     a = ldap_next_attribute(conn->ld, msg, ber)) {
		size_t nv;

		if (n == 64) {
			ldap_memfree(a);
			continue;
		}
		names[n] = a;
		bvs[n] = ldap_get_values_len(conn->ld, msg, a);
		nv = bvs[n] ? (size_t)ldap_count_values_len(bvs[n]) : 0;
		vals[n] = calloc(nv ? nv : 1, sizeof(**vals));
		if (!vals[n]) {
			n++;
			rc = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < nv; i++) {
			vals[n][i].p = bvs[n][i]->bv_val;
			vals[n][i].n = bvs[n][i]->bv_len;
		}
		attrs[n].name = a;
		attrs[n].vals = vals[n];
		attrs[n].n = nv;
		n++;
	}
	if (ber)
		ber_free(ber, 0);
	if (!rc && dn) {
		struct lud_entry e = {dn, attrs, n};

		rc = h(&e, arg);
	}
	for (size_t i = 0; i < n; i++) {
		free(vals[i]);
		if (bvs[i])
			ldap_value_free_len(bvs[i]);
		ldap_memfree(names[i]);
	}
	ldap_memfree(dn);
	return rc;
}

/* The end of one page: the result code and the cookie of the next page. */
static int page_end(struct lud_conn *conn, LDAPMessage *msg, struct berval *cookie,
		    const char *what, char *err, size_t errcap)
{
	LDAPControl **ctrls = NULL;
	char *text = NULL, *matched = NULL;
	int code = LDAP_SUCCESS, rc, e = 0;

	rc = ldap_parse_result(conn->ld, msg, &code, &matched, &text, NULL, &ctrls, 0);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, what, err, errcap);
		e = -EIO;
		goto out;
	}
	if (code != LDAP_SUCCESS) {
		if (code == LDAP_SIZELIMIT_EXCEEDED || code == LDAP_ADMINLIMIT_EXCEEDED)
			snprintf(err, errcap,
				 "%s: %s - the server's limit for the bind account stops the "
				 "read (raise it, or allow paged results)",
				 what, ldap_err2string(code));
		else
			snprintf(err, errcap, "%s: %s%s%s", what, ldap_err2string(code),
				 text && *text ? ": " : "", text ? text : "");
		e = errno_of(code);
		goto out;
	}
	if (cookie->bv_val) {
		ber_memfree(cookie->bv_val);
		cookie->bv_val = NULL;
		cookie->bv_len = 0;
	}
	if (ctrls) {
		LDAPControl *pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
		ber_int_t estimate;

		if (pr && ldap_parse_pageresponse_control(conn->ld, pr, &estimate, cookie) !=
				  LDAP_SUCCESS) {
			snprintf(err, errcap, "%s: a broken paged-results answer", what);
			e = -EIO;
		}
	}
out:
	ldap_memfree(text);
	ldap_memfree(matched);
	if (ctrls)
		ldap_controls_free(ctrls);
	return e;
}

int lud_conn_search(struct lud_conn *conn, const char *base, const char *filter, char *const *attrs,
		    lud_entry_h *h, void *arg, char *err, size_t errcap)
{
	struct berval cookie = {0, NULL};
	char what[600];
	int e = 0;

	snprintf(what, sizeof(what), "search of \"%s\" under \"%s\"", filter, base);
	do {
		LDAPControl *page = NULL, *ctrls[2] = {NULL, NULL};
		int msgid, rc;
		bool done = false;

		rc = ldap_create_page_control(conn->ld, conn->conf->page_size,
					      cookie.bv_val ? &cookie : NULL, 0, &page);
		if (rc != LDAP_SUCCESS) {
			fail_msg(conn->ld, rc, what, err, errcap);
			e = errno_of(rc) ? errno_of(rc) : -EIO;
			break;
		}
		ctrls[0] = page;
		rc = ldap_search_ext(conn->ld, base, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0,
				     ctrls, NULL, NULL, 0, &msgid);
		ldap_control_free(page);
		if (rc != LDAP_SUCCESS) {
			fail_msg(conn->ld, rc, what, err, errcap);
			e = errno_of(rc) ? errno_of(rc) : -EIO;
			break;
		}
		while (!done && !e) {
			LDAPMessage *res = NULL;

			e = next_result(conn, msgid, &res, what, err, errcap);
			if (e < 0)
				break;
			e = 0;
			switch (ldap_msgtype(res)) {
			case LDAP_RES_SEARCH_ENTRY:
				e = deliver(conn, res, h, arg);
				if (e) {
					ldap_abandon_ext(conn->ld, msgid, NULL, NULL);
					if (!err[0] || e == -ENOMEM)
						snprintf(err, errcap, "%s: %s", what, strerror(-e));
				}
				break;
			case LDAP_RES_SEARCH_RESULT:
				e = page_end(conn, res, &cookie, what, err, errcap);
				done = true;
				break;
			default: /* references: not followed */
				break;
			}
			ldap_msgfree(res);
		}
	} while (!e && cookie.bv_val && cookie.bv_len > 0);
	if (cookie.bv_val)
		ber_memfree(cookie.bv_val);
	return e;
}

static int collect_naming(const struct lud_entry *e, void *arg)
{
	char **out = arg;
	const struct lud_attr *def = NULL, *any = NULL;

	for (size_t i = 0; i < e->n; i++) {
		if (!strcasecmp(e->attrs[i].name, "defaultNamingContext") && e->attrs[i].n)
			def = &e->attrs[i];
		else if (!strcasecmp(e->attrs[i].name, "namingContexts") && e->attrs[i].n)
			any = &e->attrs[i];
	}
	if (!def)
		def = any;
	if (def && !*out) {
		*out = strndup(def->vals[0].p, def->vals[0].n);
		if (!*out)
			return -ENOMEM;
	}
	return 0;
}

int lud_conn_naming_context(struct lud_conn *conn, char **out, char *err, size_t errcap)
{
	char *attrs[] = {"defaultNamingContext", "namingContexts", NULL};
	LDAPMessage *res = NULL;
	char *found = NULL;
	int msgid, rc, e;

	rc = ldap_search_ext(conn->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
			     NULL, 0, &msgid);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, "reading the root DSE", err, errcap);
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	for (;;) {
		e = next_result(conn, msgid, &res, "reading the root DSE", err, errcap);
		if (e < 0)
			break;
		e = 0;
		if (ldap_msgtype(res) == LDAP_RES_SEARCH_ENTRY) {
			e = deliver(conn, res, collect_naming, &found);
		} else if (ldap_msgtype(res) == LDAP_RES_SEARCH_RESULT) {
			ldap_msgfree(res);
			break;
		}
		ldap_msgfree(res);
		if (e)
			break;
	}
	if (!e && !found) {
		snprintf(err, errcap, "the server names no naming context: configure base");
		e = -ENOENT;
	}
	if (e) {
		free(found);
		return e;
	}
	*out = found;
	return 0;
}

/* Waits for the result of a modify and checks it. */
static int op_result(struct lud_conn *conn, int msgid, const char *what, char *err, size_t errcap)
{
	LDAPMessage *res = NULL;
	char *text = NULL;
	int code = LDAP_SUCCESS, e;

	e = next_result(conn, msgid, &res, what, err, errcap);
	if (e < 0)
		return e;
	e = 0;
	if (ldap_parse_result(conn->ld, res, &code, NULL, &text, NULL, NULL, 1) != LDAP_SUCCESS) {
		snprintf(err, errcap, "%s: a broken answer", what);
		e = -EIO;
	} else if (code != LDAP_SUCCESS) {
		snprintf(err, errcap, "%s: %s%s%s", what, ldap_err2string(code),
			 text && *text ? ": " : "", text ? text : "");
		e = errno_of(code);
	}
	ldap_memfree(text);
	return e;
}

int lud_conn_replace(struct lud_conn *conn, const char *dn, const char *attr,
		     const struct lud_val *vals, size_t n, char *err, size_t errcap)
{
	struct berval *bv = calloc(n + 1, sizeof(*bv));
	struct berval **bvp = calloc(n + 1, sizeof(*bvp));
	LDAPMod mod, *mods[2] = {&mod, NULL};
	char what[600];
	int msgid, rc, e;

	if (!bv || !bvp) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bv[i].bv_val = (char *)vals[i].p;
		bv[i].bv_len = vals[i].n;
		bvp[i] = &bv[i];
	}
	mod.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
	mod.mod_type = (char *)attr;
	mod.mod_bvalues = bvp;
	snprintf(what, sizeof(what), "writing %s of %s", attr, dn);
	rc = ldap_modify_ext(conn->ld, dn, mods, NULL, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, what, err, errcap);
		e = errno_of(rc) ? errno_of(rc) : -EIO;
		goto out;
	}
	e = op_result(conn, msgid, what, err, errcap);
out:
	free(bv);
	free(bvp);
	return e;
}

void lud_vals_free(struct lud_val *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free((void *)v[i].p);
	free(v);
}

int lud_conn_read_entry(struct lud_conn *conn, const char *dn, char *const *attrs, lud_entry_h *h,
			void *arg, char *err, size_t errcap)
{
	char what[600];
	int msgid, rc, e = 0;

	snprintf(what, sizeof(what), "reading %s", dn);
	rc = ldap_search_ext(conn->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **)attrs, 0,
			     NULL, NULL, NULL, 0, &msgid);
	if (rc != LDAP_SUCCESS) {
		fail_msg(conn->ld, rc, what, err, errcap);
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	for (;;) {
		LDAPMessage *res = NULL;
		int type;

		e = next_result(conn, msgid, &res, what, err, errcap);
		if (e < 0)
			break;
		e = 0;
		type = ldap_msgtype(res);
		if (type == LDAP_RES_SEARCH_ENTRY) {
			e = deliver(conn, res, h, arg);
			if (e) {
				ldap_abandon_ext(conn->ld, msgid, NULL, NULL);
				if (!err[0] || e == -ENOMEM)
					snprintf(err, errcap, "%s: %s", what, strerror(-e));
			}
		} else if (type == LDAP_RES_SEARCH_RESULT) {
			struct berval none = {0, NULL};

			e = page_end(conn, res, &none, what, err, errcap);
			if (none.bv_val)
				ber_memfree(none.bv_val);
			ldap_msgfree(res);
			break;
		}
		ldap_msgfree(res);
		if (e)
			break;
	}
	return e;
}

struct read_ctx {
	const char *attr;
	struct lud_val *vals;
	size_t n;
};

static int collect_attr(const struct lud_entry *e, void *arg)
{
	struct read_ctx *r = arg;

	for (size_t i = 0; i < e->n; i++) {
		const struct lud_attr *a = &e->attrs[i];

		if (!a->name || !lud_attr_same(a->name, r->attr))
			continue;
		lud_vals_free(r->vals, r->n);
		r->n = 0;
		r->vals = calloc(a->n + 1, sizeof(*r->vals));
		if (!r->vals)
			return -ENOMEM;
		for (size_t j = 0; j < a->n; j++) {
			/* a NUL after the data: text users may treat it as a string */
			char *copy = malloc(a->vals[j].n + 1);

			if (!copy)
				return -ENOMEM;
			memcpy(copy, a->vals[j].p, a->vals[j].n);
			copy[a->vals[j].n] = '\0';
			r->vals[r->n++] = (struct lud_val){copy, a->vals[j].n};
		}
		break;
	}
	return 0;
}

int lud_conn_read_attr(struct lud_conn *conn, const char *dn, const char *attr,
		       struct lud_val **out, size_t *n, char *err, size_t errcap)
{
	char *attrs[] = {(char *)attr, NULL};
	struct read_ctx r = {attr, NULL, 0};
	int e;

	*out = NULL;
	*n = 0;
	e = lud_conn_read_entry(conn, dn, attrs, collect_attr, &r, err, errcap);
	if (e) {
		lud_vals_free(r.vals, r.n);
		return e;
	}
	*out = r.vals;
	*n = r.n;
	return 0;
}
