/*
 * plugins/auth/auth_ldap.c - search and simple bind with libldap (see
 * auth_ldap.h). One connection per login, on a pool thread.
 */
#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth_hash.h"
#include "auth_ldap.h"

void auth_ldap_conf_free(struct auth_ldap_conf *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->ca_file);
	for (size_t i = 0; i < c->n_bases; i++)
		free(c->bases[i]);
	free(c->bases);
	free(c->filter);
	free(c->bind_dn);
	if (c->bind_password) {
		auth_wipe(c->bind_password, strlen(c->bind_password));
		free(c->bind_password);
	}
	memset(c, 0, sizeof(*c));
}

int auth_ldap_set_bases(struct auth_ldap_conf *c, const char *list)
{
	const char *p = list ? list : "";

	while (*p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		char **grown;

		p += len + (end ? 1 : 0);
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (!len)
			continue;
		grown = realloc(c->bases, (c->n_bases + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		c->bases = grown;
		c->bases[c->n_bases] = strndup(s, len);
		if (!c->bases[c->n_bases])
			return -ENOMEM;
		c->n_bases++;
	}
	return 0;
}

/* Checks each URL of the space-separated list. */
static int check_urls(const struct auth_ldap_conf *c, char *err, size_t errcap)
{
	const char *p = c->url;
	int n = 0;

	while (p && *p) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (!len)
			break;
		n++;
		if (len >= 8 && strncasecmp(p, "ldaps://", 8) == 0) {
			/* TLS from the first byte */
		} else if ((len >= 7 && strncasecmp(p, "ldap://", 7) == 0) ||
			   (len >= 8 && strncasecmp(p, "ldapi://", 8) == 0)) {
			if (!c->starttls && !c->allow_plain) {
				snprintf(
					err, errcap,
					"%.*s would carry passwords in plain text: use ldaps://, "
					"set \"starttls\": true, or allow it with \"allow_plain\": true",
					(int)(len > 200 ? 200 : len), p);
				return -EINVAL;
			}
		} else {
			snprintf(err, errcap, "%.*s is not an ldap://, ldaps:// or ldapi:// URL",
				 (int)(len > 200 ? 200 : len), p);
			return -EINVAL;
		}
		p += len;
	}
	if (!n) {
		snprintf(err, errcap, "no directory URL (\"url\")");
		return -EINVAL;
	}
	return 0;
}

int auth_ldap_conf_check(const struct auth_ldap_conf *c, char *err, size_t errcap)
{
	char probe[64];
	int rc = check_urls(c, err, errcap);

	if (rc)
		return rc;
	if (!c->n_bases) {
		snprintf(err, errcap, "no base DN (\"base_dn\")");
		return -EINVAL;
	}
	if (!c->filter || !strstr(c->filter, "%s") || c->filter[0] != '(' ||
	    c->filter[strlen(c->filter) - 1] != ')' ||
	    auth_ldap_filter(c->filter, "x", probe, sizeof(probe)) < 0) {
		snprintf(err, errcap,
			 "the filter must be in parentheses and hold %%s for the login, "
			 "like \"(uid=%%s)\"");
		return -EINVAL;
	}
	if (c->bind_dn && *c->bind_dn && (!c->bind_password || !*c->bind_password)) {
		snprintf(
			err, errcap,
			"a bind DN needs a password (\"bind_password\" or \"bind_password_file\")");
		return -EINVAL;
	}
	return 0;
}

int auth_ldap_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *p = in; *p; p++) {
		char esc[4] = {0};
		const char *piece = esc;
		size_t n;

		switch (*p) {
		case '*':
			piece = "\\2a";
			break;
		case '(':
			piece = "\\28";
			break;
		case ')':
			piece = "\\29";
			break;
		case '\\':
			piece = "\\5c";
			break;
		default:
			esc[0] = *p;
			break;
		}
		n = strlen(piece);
		for (size_t i = 0; i < n; i++, o++)
			if (o + 1 < cap)
				out[o] = piece[i];
	}
	if (cap)
		out[o < cap ? o : cap - 1] = 0;
	return o > INT32_MAX ? -EOVERFLOW : (int)o;
}

int auth_ldap_filter(const char *tmpl, const char *login, char *out, size_t cap)
{
	size_t o = 0;
	int elen = auth_ldap_escape(login, NULL, 0);

	if (elen < 0)
		return elen;
	for (const char *p = tmpl; *p; p++) {
		if (*p == '%' && p[1] == 's') {
			if (o < cap)
				auth_ldap_escape(login, out + o, cap - o);
			o += (size_t)elen;
			p++;
			continue;
		}
		if (*p == '%' && p[1] == '%')
			p++;
		else if (*p == '%')
			return -EINVAL;
		if (o + 1 < cap)
			out[o] = *p;
		o++;
	}
	if (cap)
		out[o < cap ? o : cap - 1] = 0;
	return o > INT32_MAX ? -EOVERFLOW : (int)o;
}

/* Could the directory be asked at all? */
static int unreachable(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_NO_MEMORY;
}

static void reason(LDAP *ld, int rc, const char *step, char *why, size_t whycap)
{
	char *diag = NULL;

	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(why, whycap, "%s: %s%s%.160s%s", step, ldap_err2string(rc),
		 diag && *diag ? " (" : "", diag ? diag : "", diag && *diag ? ")" : "");
	ldap_memfree(diag);
}

static int simple_bind(LDAP *ld, const char *dn, const void *pw, size_t len)
{
	struct berval cred = {.bv_len = len, .bv_val = (char *)pw};

	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* ---- the watchdog ----
 *
 * libldap's timeouts cover connecting and waiting for LDAP responses, but
 * not the TLS handshake of an ldaps:// connection (libldap 2.5 reads it
 * blocking, and with a socket receive timeout it spins). A directory that
 * accepts connections but never answers (hung, SIGSTOPped, a black hole
 * behind a load balancer) would hold a pool thread forever. So every
 * directory conversation registers its socket here when libldap has
 * connected it, with a deadline; a thread shuts the socket down when the
 * deadline passes, whatever libldap is doing with it, and the blocked call
 * fails. The socket leaves the list (under the lock) before libldap closes
 * it, so a shut down descriptor is never one that was reused meanwhile.
 */

struct ldap_call {
	struct ldap_call *next;
	const struct auth_ldap_conf *c;
	uint64_t deadline_ms;
	int fd;
	int watched;
	int fired;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static struct ldap_call *watch_list;
static pthread_t watch_thread;
static int watch_state; /* 0 none, 1 running, 2 stopping */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *watch_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&watch_lock);
	while (watch_state == 1) {
		uint64_t now = mono_ms(), next = UINT64_MAX;
		struct ldap_call **pp = &watch_list, *w;

		while ((w = *pp)) {
			if (w->deadline_ms <= now) {
				shutdown(w->fd, SHUT_RDWR);
				w->fired = 1;
				w->watched = 0;
				*pp = w->next;
				continue;
			}
			if (w->deadline_ms < next)
				next = w->deadline_ms;
			pp = &w->next;
		}
		if (next == UINT64_MAX) {
			pthread_cond_wait(&watch_cond, &watch_lock);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(next / 1000),
					      .tv_nsec = (long)(next % 1000) * 1000000};

			pthread_cond_timedwait(&watch_cond, &watch_lock, &ts);
		}
	}
	pthread_mutex_unlock(&watch_lock);
	return NULL;
}

/* Starts the thread on first use; caller holds watch_lock. */
static int watch_start(void)
{
	pthread_condattr_t attr;
	int rc;

	if (watch_state == 1)
		return 0;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&watch_cond, &attr);
	pthread_condattr_destroy(&attr);
	watch_state = 1;
	rc = pthread_create(&watch_thread, NULL, watch_main, NULL);
	if (rc) {
		watch_state = 0;
		pthread_cond_destroy(&watch_cond);
		return -rc;
	}
	return 0;
}

void auth_ldap_shutdown(void)
{
	pthread_mutex_lock(&watch_lock);
	if (watch_state != 1) {
		pthread_mutex_unlock(&watch_lock);
		return;
	}
	watch_state = 2;
	pthread_cond_signal(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
	pthread_join(watch_thread, NULL);
	pthread_mutex_lock(&watch_lock);
	pthread_cond_destroy(&watch_cond);
	watch_state = 0;
	pthread_mutex_unlock(&watch_lock);
}

static void unwatch(struct ldap_call *call)
{
	pthread_mutex_lock(&watch_lock);
	if (call->watched) {
		struct ldap_call **pp = &watch_list;

		while (*pp != call)
			pp = &(*pp)->next;
		*pp = call->next;
		call->watched = 0;
	}
	pthread_mutex_unlock(&watch_lock);
}

/* libldap connected the socket (before any TLS): watch it. */
static int on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
		      struct ldap_conncb *ctx)
{
	struct ldap_call *call = ctx->lc_arg;
	ber_socket_t fd = -1;

	(void)ld, (void)srv, (void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0)
		return 0;
	pthread_mutex_lock(&watch_lock);
	if (!call->watched && watch_start() == 0) {
		call->fd = fd;
		call->watched = 1;
		call->next = watch_list;
		watch_list = call;
		pthread_cond_signal(&watch_cond);
	}
	pthread_mutex_unlock(&watch_lock);
	return 0;
}

/* libldap is about to close the socket. */
static void on_disconnect(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld, (void)sb;
	unwatch(ctx->lc_arg);
}

static int set_options(LDAP *ld, const struct auth_ldap_conf *c, struct ldap_conncb *cb, char *why,
		       size_t whycap)
{
	struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
			     .tv_usec = (c->timeout_ms % 1000) * 1000};
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0, rc;

	rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_CONNECT_CB, cb);
	/* certificate and host name are verified whatever ldap.conf says */
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (rc == LDAP_OPT_SUCCESS && c->ca_file && *c->ca_file)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
	if (rc != LDAP_OPT_SUCCESS) {
		snprintf(why, whycap, "TLS setup failed (ca_file %s)",
			 c->ca_file && *c->ca_file ? c->ca_file : "system default");
		return -EHOSTUNREACH;
	}
	return 0;
}

/* Finds the one entry for the login: 0 (dn set), -EACCES (none or several),
 * -EHOSTUNREACH. */
static int find_dn(LDAP *ld, const struct auth_ldap_conf *c, const char *login, char *dn,
		   size_t dncap, char *why, size_t whycap)
{
	struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
			     .tv_usec = (c->timeout_ms % 1000) * 1000};
	char *attrs[] = {LDAP_NO_ATTRS, NULL};
	char filter[2048];
	int found = 0, n = auth_ldap_filter(c->filter, login, filter, sizeof(filter));

	if (n < 0 || (size_t)n >= sizeof(filter)) {
		snprintf(why, whycap, "the login does not fit the search filter");
		return -EACCES;
	}
	for (size_t i = 0; i < c->n_bases && found < 2; i++) {
		LDAPMessage *res = NULL;
		int rc = ldap_search_ext_s(ld, c->bases[i], LDAP_SCOPE_SUBTREE, filter, attrs, 1,
					   NULL, NULL, &tv, 2, &res);

		if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
			for (LDAPMessage *e = ldap_first_entry(ld, res); e;
			     e = ldap_next_entry(ld, e)) {
				char *d = ldap_get_dn(ld, e);

				if (d && !found)
					snprintf(dn, dncap, "%s", d);
				found++;
				ldap_memfree(d);
			}
			if (rc == LDAP_SIZELIMIT_EXCEEDED)
				found = found < 2 ? 2 : found;
		}
		ldap_msgfree(res);
		if (unreachable(rc)) {
			reason(ld, rc, "search", why, whycap);
			return -EHOSTUNREACH;
		}
		/* a base that does not exist (any more) is not an outage */
	}
	if (found == 1)
		return 0;
	snprintf(why, whycap,
		 found ? "the login matches several directory entries"
		       : "no directory entry for the login");
	dn[0] = 0;
	return -EACCES;
}

int auth_ldap_login(const struct auth_ldap_conf *c, const char *login, const void *pw, size_t len,
		    char *dn, size_t dncap, char *why, size_t whycap)
{
	struct ldap_call call = {.c = c, .deadline_ms = mono_ms() + c->timeout_ms, .fd = -1};
	struct ldap_conncb cb = {.lc_add = on_connect, .lc_del = on_disconnect, .lc_arg = &call};
	LDAP *ld = NULL;
	int rc, err;

	dn[0] = 0;
	why[0] = 0;
	if (!len) {
		snprintf(why, whycap, "empty password");
		return -EACCES;
	}
	rc = ldap_initialize(&ld, c->url);
	if (rc != LDAP_SUCCESS) {
		reason(NULL, rc, "connect", why, whycap);
		return -EHOSTUNREACH;
	}
	err = set_options(ld, c, &cb, why, whycap);
	if (err)
		goto out;
	if (c->starttls && strncasecmp(c->url, "ldaps://", 8) != 0) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			reason(ld, rc, "StartTLS", why, whycap);
			err = -EHOSTUNREACH;
			goto out;
		}
	}
	if (c->bind_dn && *c->bind_dn)
		rc = simple_bind(ld, c->bind_dn, c->bind_password, strlen(c->bind_password));
	else
		rc = simple_bind(ld, "", "", 0);
	if (rc != LDAP_SUCCESS) {
		/* the service account is the operator's business, not the user's */
		reason(ld, rc, unreachable(rc) ? "connect" : "search bind", why, whycap);
		err = -EHOSTUNREACH;
		goto out;
	}
	err = find_dn(ld, c, login, dn, dncap, why, whycap);
	if (err == -EHOSTUNREACH)
		goto out;
	if (err) {
		/* the same round trip as a wrong password: a bind that must fail */
		char nobody[AUTH_LDAP_DN_MAX + 64];

		snprintf(nobody, sizeof(nobody), "cn=ucsd-no-such-entry,%s", c->bases[0]);
		rc = simple_bind(ld, nobody, pw, len);
		if (unreachable(rc)) {
			reason(ld, rc, "bind", why, whycap);
			err = -EHOSTUNREACH;
		}
		goto out;
	}
	rc = simple_bind(ld, dn, pw, len);
	if (rc == LDAP_SUCCESS) {
		err = 0;
	} else {
		reason(ld, rc, "bind", why, whycap);
		err = unreachable(rc) ? -EHOSTUNREACH : -EACCES;
	}
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	unwatch(&call);
	if (call.fired && err == -EACCES) {
		/* cut off mid-way: whatever failed, the directory did not answer */
		snprintf(why, whycap, "no complete answer within %u ms", c->timeout_ms);
		err = -EHOSTUNREACH;
	} else if (call.fired && err == -EHOSTUNREACH) {
		snprintf(why + strlen(why), whycap - strlen(why), " (no answer within %u ms)",
			 c->timeout_ms);
	}
	return err;
}
