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

/* Between URLs: libldap's separators (comma, space), and tabs and line
 * ends, which libldap would take for part of a URL. */
#define URL_SEP ", \t\r\n"

void auth_ldap_conf_free(struct auth_ldap_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	free(c->urls);
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

int auth_ldap_set_urls(struct auth_ldap_conf *c, const char *list)
{
	const char *p = list ? list : "";

	for (;;) {
		size_t len;
		char **grown;

		p += strspn(p, URL_SEP);
		len = strcspn(p, URL_SEP);
		if (!len)
			return 0;
		grown = realloc(c->urls, (c->n_urls + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		c->urls = grown;
		c->urls[c->n_urls] = strndup(p, len);
		if (!c->urls[c->n_urls])
			return -ENOMEM;
		c->n_urls++;
		p += len;
	}
}

static int is_ldaps(const char *url)
{
	return strncasecmp(url, "ldaps://", 8) == 0;
}

const char *auth_ldap_url_protection(const struct auth_ldap_conf *c, const char *url)
{
	if (is_ldaps(url))
		return "TLS";
	return c->starttls ? "StartTLS" : "PLAIN TEXT";
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

/* Checks every URL of the list: each must parse, and each must be TLS
 * (ldaps://, or StartTLS) unless plain text is allowed. */
static int check_urls(const struct auth_ldap_conf *c, char *err, size_t errcap)
{
	if (!c->n_urls) {
		snprintf(err, errcap, "no directory URL (\"url\")");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_urls; i++) {
		const char *u = c->urls[i];
		LDAPURLDesc *lud = NULL;
		int parsed = ldap_url_parse(u, &lud) == LDAP_URL_SUCCESS;

		if (lud)
			ldap_free_urldesc(lud);
		if (!parsed || (!is_ldaps(u) && strncasecmp(u, "ldap://", 7) != 0 &&
				strncasecmp(u, "ldapi://", 8) != 0)) {
			snprintf(err, errcap, "%.200s is not an ldap://, ldaps:// or ldapi:// URL",
				 u);
			return -EINVAL;
		}
		if (!is_ldaps(u) && !c->starttls && !c->allow_plain) {
			snprintf(err, errcap,
				 "%.200s would carry passwords in plain text: use ldaps://, set "
				 "\"starttls\": true, or allow it with \"allow_plain\": true",
				 u);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- filter templates ----
 *
 * The template is checked by parsing the filter it makes for a sample
 * login: escaped, "z b\2a" is fine inside a value, but its blank and
 * backslash break an attribute description, so a %s outside a value is
 * caught too, and its first letter is no hex digit, so a template whose
 * own escape would end inside the login ("\5%s") is caught as well. The grammar is RFC 4515's, with
 * blanks allowed between the parts of a & or | (libldap skips them there).
 */

#define FILTER_DEPTH_MAX 32

static const char *parse_filter(const char *p, int depth);

static int is_attr_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == ';' || ch == '.' || ch == ':';
}

static int is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* attr ("=" / "~=" / ">=" / "<=" / ":=") value; returns the end or NULL. */
static const char *parse_item(const char *p)
{
	const char *start = p;

	while (is_attr_char(*p))
		p++;
	if (p == start)
		return NULL;
	if ((*p == '~' || *p == '>' || *p == '<') && p[1] == '=')
		p++;
	if (*p != '=')
		return NULL;
	for (p++; *p && *p != ')'; p++) {
		if (*p == '(')
			return NULL;
		if (*p == '\\') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return NULL;
			p += 2;
		}
	}
	return p;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A list of one or more filters for & and |. */
static const char *parse_list(const char *p, int depth)
{
	int n = 0;

	for (p = skip_blanks(p); *p == '('; p = skip_blanks(p), n++) {
		p = parse_filter(p, depth);
		if (!p)
			return NULL;
	}
	return n ? p : NULL;
}

static const char *parse_filter(const char *p, int depth)
{
	if (*p != '(' || depth > FILTER_DEPTH_MAX)
		return NULL;
	p++;
	switch (*p) {
	case '&':
	case '|':
		p = parse_list(p + 1, depth + 1);
		break;
	case '!':
		p = parse_filter(skip_blanks(p + 1), depth + 1);
		if (p)
			p = skip_blanks(p);
		break;
	default:
		p = parse_item(p);
		break;
	}
	if (!p || *p != ')')
		return NULL;
	return p + 1;
}

int auth_ldap_filter_valid(const char *filter)
{
	const char *end = filter ? parse_filter(filter, 0) : NULL;

	return end && !*end ? 0 : -EINVAL;
}

int auth_ldap_filter_check(const char *tmpl)
{
	char probe[4096];
	int n;

	if (!tmpl || !strstr(tmpl, "%s"))
		return -EINVAL;
	n = auth_ldap_filter(tmpl, "z b*", probe, sizeof(probe));
	if (n < 0 || (size_t)n >= sizeof(probe))
		return -EINVAL;
	return auth_ldap_filter_valid(probe);
}

int auth_ldap_conf_check(const struct auth_ldap_conf *c, char *err, size_t errcap)
{
	int rc = check_urls(c, err, errcap);

	if (rc)
		return rc;
	if (!c->n_bases) {
		snprintf(err, errcap, "no base DN (\"base_dn\")");
		return -EINVAL;
	}
	if (auth_ldap_filter_check(c->filter) != 0) {
		snprintf(err, errcap,
			 "the filter must be one LDAP filter in balanced parentheses holding %%s "
			 "for the login inside a value, like \"(uid=%%s)\"");
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

int auth_ldap_dn_equal(const char *a, const char *b)
{
	char *na = NULL, *nb = NULL;
	int eq = 0;

	if (a && b &&
	    ldap_dn_normalize(a, LDAP_DN_FORMAT_LDAP, &na, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    ldap_dn_normalize(b, LDAP_DN_FORMAT_LDAP, &nb, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS)
		eq = na && nb && strcasecmp(na, nb) == 0;
	ldap_memfree(na);
	ldap_memfree(nb);
	return eq;
}

/* A bind result that says nothing about the password: the directory could
 * not be asked, or will not take a simple bind this way (TLS or stronger
 * authentication required). */
static int unreachable(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_NO_MEMORY || rc == LDAP_CONFIDENTIALITY_REQUIRED ||
	       rc == LDAP_STRONG_AUTH_REQUIRED;
}

/* Appends "step: error (diagnostic)" to why ("; " between several). */
static void reason(LDAP *ld, int rc, const char *step, char *why, size_t whycap)
{
	char *diag = NULL;
	size_t used = strlen(why);

	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (used + 3 < whycap)
		snprintf(why + used, whycap - used, "%s%s: %s%s%.160s%s", used ? "; " : "", step,
			 ldap_err2string(rc), diag && *diag ? " (" : "", diag ? diag : "",
			 diag && *diag ? ")" : "");
	ldap_memfree(diag);
}

/* ---- the watchdog ----
 *
 * libldap's timeouts cover connecting and waiting for LDAP responses, but
 * the TLS handshake (of ldaps://, or after StartTLS) is not bounded in a
 * way we can use: with LDAP_OPT_NETWORK_TIMEOUT set, libldap 2.5 runs it
 * on a non-blocking socket and retries the read without waiting for data,
 * a full core until the timeout; without one it reads blocking, forever. A
 * directory that accepts connections but never answers (hung, SIGSTOPped,
 * a black hole behind a load balancer) would hold a pool thread, and a
 * core. So every directory conversation registers its socket here when
 * libldap has connected it, with a deadline; a thread shuts the socket
 * down when the deadline passes, whatever libldap is doing with it, and the
 * blocked call fails. Once the socket is watched, the connect callback
 * also switches libldap's network timeout off for that connection: the
 * handshake then blocks idle and the watchdog's deadline is its time limit
 * (a socket the watchdog could not take keeps libldap's timeout, spinning
 * but bounded). The network timeout only bounds connecting and the
 * handshake; the LDAP operations after it keep LDAP_OPT_TIMEOUT and their
 * own time limits. The socket leaves the list (under the lock) before
 * libldap closes it, so a shut down descriptor is never one that was reused
 * meanwhile.
 *
 * When ucsd stops, the host waits only a few seconds for pool jobs, while
 * a deadline may lie much further off. So the plugin's stop cuts every
 * watched socket at once (auth_ldap_cut_all) and leaves a flag behind: a
 * login that connects afterwards (a job that was still queued, or the next
 * URL of the list) is shut down as soon as it connects, and one that has
 * not connected yet does not try.
 */

struct ldap_call {
	struct ldap_call *next;
	const struct auth_ldap_conf *c;
	uint64_t deadline_ms;
	int fd;
	int watched;
	int fired; /* the deadline passed */
	int cut;   /* ucsd is stopping (auth_ldap_cut_all) */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static struct ldap_call *watch_list;
static pthread_t watch_thread;
static int watch_state;	  /* 0 none, 1 running, 2 stopping */
static int watch_cutting; /* auth_ldap_cut_all ran: no new conversation */

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

void auth_ldap_cut_all(void)
{
	struct ldap_call *w;

	pthread_mutex_lock(&watch_lock);
	watch_cutting = 1;
	while ((w = watch_list)) {
		shutdown(w->fd, SHUT_RDWR);
		w->cut = 1;
		w->watched = 0;
		watch_list = w->next;
	}
	pthread_mutex_unlock(&watch_lock);
}

static int cutting(struct ldap_call *call)
{
	int yes;

	pthread_mutex_lock(&watch_lock);
	yes = watch_cutting;
	if (yes)
		call->cut = 1;
	pthread_mutex_unlock(&watch_lock);
	return yes;
}

void auth_ldap_shutdown(void)
{
	pthread_mutex_lock(&watch_lock);
	watch_cutting = 0; /* a later init starts afresh */
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

/* libldap connected the socket (TCP only, before any TLS): watch it, and
 * let the handshake that follows block instead of spin. */
static int on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
		      struct ldap_conncb *ctx)
{
	struct ldap_call *call = ctx->lc_arg;
	struct timeval unbounded = {.tv_sec = -1, .tv_usec = 0};
	ber_socket_t fd = -1;
	int watched = 0;

	(void)srv, (void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0)
		return 0;
	pthread_mutex_lock(&watch_lock);
	if (watch_cutting) {
		/* stopping: this conversation ends here, its handshake fails */
		shutdown(fd, SHUT_RDWR);
		call->cut = 1;
	} else if (!call->watched && watch_start() == 0) {
		call->fd = fd;
		call->watched = 1;
		call->next = watch_list;
		watch_list = call;
		pthread_cond_signal(&watch_cond);
		watched = 1;
	}
	pthread_mutex_unlock(&watch_lock);
	/* only a watched socket may block: the watchdog is what ends it */
	if (watched)
		ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &unbounded);
	return 0;
}

/* libldap is about to close the socket. */
static void on_disconnect(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld, (void)sb;
	unwatch(ctx->lc_arg);
}

/* Options of one connection; its timeouts are what is left of the
 * conversation's time. */
static int set_options(LDAP *ld, const struct auth_ldap_conf *c, struct ldap_conncb *cb,
		       uint64_t left_ms)
{
	struct timeval tv = {.tv_sec = (time_t)(left_ms / 1000),
			     .tv_usec = (suseconds_t)(left_ms % 1000) * 1000};
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
	return rc == LDAP_OPT_SUCCESS ? 0 : -EHOSTUNREACH;
}

/* Connects to the first URL of the list that answers, one at a time (not
 * libldap's fail-over, which would not redo our StartTLS decision for the
 * next URL): StartTLS on ldap:// when configured, and TLS in place on the
 * connection unless plain text is allowed. 0 and *out, or -EHOSTUNREACH
 * with every URL's failure in why. */
static int open_conn(const struct auth_ldap_conf *c, struct ldap_call *call, struct ldap_conncb *cb,
		     LDAP **out, char *why, size_t whycap)
{
	char step[320];

	*out = NULL;
	for (size_t i = 0; i < c->n_urls; i++) {
		const char *url = c->urls[i];
		uint64_t now = mono_ms();
		LDAP *ld = NULL;
		int rc;

		if (now >= call->deadline_ms)
			break; /* the caller says "no answer within" */
		if (cutting(call))
			break;
		snprintf(step, sizeof(step), "%.200s: connect", url);
		rc = ldap_initialize(&ld, url);
		if (rc == LDAP_SUCCESS && set_options(ld, c, cb, call->deadline_ms - now) != 0) {
			snprintf(step, sizeof(step), "%.200s: TLS setup (ca_file %.80s)", url,
				 c->ca_file && *c->ca_file ? c->ca_file : "system default");
			rc = LDAP_LOCAL_ERROR;
		}
		if (rc == LDAP_SUCCESS)
			rc = ldap_connect(ld);
		if (rc == LDAP_SUCCESS && !is_ldaps(url) && c->starttls) {
			snprintf(step, sizeof(step), "%.200s: StartTLS", url);
			rc = ldap_start_tls_s(ld, NULL, NULL);
		}
		if (rc == LDAP_SUCCESS && !c->allow_plain && !ldap_tls_inplace(ld)) {
			snprintf(step, sizeof(step), "%.200s: no TLS on the connection", url);
			rc = LDAP_CONFIDENTIALITY_REQUIRED;
		}
		if (rc == LDAP_SUCCESS) {
			why[0] = 0; /* earlier URLs failed, this one works */
			*out = ld;
			return 0;
		}
		reason(ld, rc, step, why, whycap);
		unwatch(call); /* given up: the next URL's socket gets watched */
		if (ld)
			ldap_unbind_ext_s(ld, NULL, NULL);
	}
	return -EHOSTUNREACH;
}

/* Every simple bind goes through here: one that carries a password is only
 * sent when TLS is in place on the connection (or plain text is allowed).
 * The LDAP result, or LDAP_CONFIDENTIALITY_REQUIRED without sending. */
static int simple_bind(LDAP *ld, const struct auth_ldap_conf *c, const char *dn, const void *pw,
		       size_t len)
{
	struct berval cred = {.bv_len = len, .bv_val = (char *)pw};

	if (len && !c->allow_plain && !ldap_tls_inplace(ld))
		return LDAP_CONFIDENTIALITY_REQUIRED;
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* Finds the one entry for the login: 0 (dn set), -EACCES (none or several),
 * -EHOSTUNREACH. Only success, a size limit and a base that does not exist
 * (any more) are answers; every other search error is not the user's. */
static int find_dn(LDAP *ld, const struct auth_ldap_conf *c, const char *login, char *dn,
		   size_t dncap, char *why, size_t whycap)
{
	struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
			     .tv_usec = (c->timeout_ms % 1000) * 1000};
	char *attrs[] = {LDAP_NO_ATTRS, NULL};
	char filter[2048];
	int found = 0, n = auth_ldap_filter(c->filter, login, filter, sizeof(filter));

	dn[0] = 0;
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
		if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED &&
		    rc != LDAP_NO_SUCH_OBJECT) {
			reason(ld, rc, "search", why, whycap);
			dn[0] = 0;
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

int auth_ldap_login(const struct auth_ldap_conf *c, const struct auth_ldap_who *who, const void *pw,
		    size_t len, char *dn, size_t dncap, char *why, size_t whycap)
{
	struct ldap_call call = {.c = c, .deadline_ms = mono_ms() + c->timeout_ms, .fd = -1};
	struct ldap_conncb cb = {.lc_add = on_connect, .lc_del = on_disconnect, .lc_arg = &call};
	const char *store_dn = who->store_dn ? who->store_dn : "";
	char found[AUTH_LDAP_DN_MAX];
	LDAP *ld = NULL;
	int rc, err;

	dn[0] = 0;
	why[0] = 0;
	if (!len) {
		snprintf(why, whycap, "empty password");
		return -EACCES;
	}
	err = open_conn(c, &call, &cb, &ld, why, whycap);
	if (err)
		goto out;
	if (c->bind_dn && *c->bind_dn)
		rc = simple_bind(ld, c, c->bind_dn, c->bind_password, strlen(c->bind_password));
	else
		rc = simple_bind(ld, c, "", "", 0);
	if (rc != LDAP_SUCCESS) {
		/* the service account is the operator's business, not the user's */
		reason(ld, rc, unreachable(rc) ? "connect" : "search bind", why, whycap);
		err = -EHOSTUNREACH;
		goto out;
	}
	err = find_dn(ld, c, who->login, found, sizeof(found), why, whycap);
	if (err == -EHOSTUNREACH)
		goto out;
	if (!who->in_store) {
		/* searched for the cost of it; never bound as */
		char what[160];

		snprintf(what, sizeof(what), "%s",
			 err ? why : "a directory entry matches; it was not tried");
		snprintf(why, whycap, "the login is not in the user store (%s)", what);
		err = -EACCES;
	} else if (!err && *store_dn && !auth_ldap_dn_equal(found, store_dn)) {
		snprintf(why, whycap,
			 "the directory entry found is not the user store's (%.90s vs %.90s)",
			 found, store_dn);
		err = -EACCES;
	}
	if (err) {
		/* the same round trip as a wrong password: a bind that must fail */
		char nobody[AUTH_LDAP_DN_MAX + 64];

		snprintf(nobody, sizeof(nobody), "cn=ucsd-no-such-entry,%s", c->bases[0]);
		rc = simple_bind(ld, c, nobody, pw, len);
		if (unreachable(rc)) {
			why[0] = 0;
			reason(ld, rc, "bind", why, whycap);
			err = -EHOSTUNREACH;
		}
		goto out;
	}
	rc = simple_bind(ld, c, found, pw, len);
	if (rc == LDAP_SUCCESS) {
		snprintf(dn, dncap, "%s", found);
		err = 0;
	} else {
		reason(ld, rc, "bind", why, whycap);
		err = unreachable(rc) ? -EHOSTUNREACH : -EACCES;
	}
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	unwatch(&call);
	if (call.cut && err) {
		/* whatever failed, it failed because we hung up */
		snprintf(why, whycap, "cut off: ucsd is stopping");
		err = -EHOSTUNREACH;
	} else if (call.fired && err == -EACCES) {
		/* cut off mid-way: whatever failed, the directory did not answer */
		snprintf(why, whycap, "no complete answer within %u ms", c->timeout_ms);
		err = -EHOSTUNREACH;
	} else if (err == -EHOSTUNREACH && (call.fired || mono_ms() >= call.deadline_ms)) {
		size_t used = strlen(why);

		snprintf(why + used, whycap - used, "%s(no answer within %u ms)", used ? " " : "",
			 c->timeout_ms);
	}
	return err;
}
