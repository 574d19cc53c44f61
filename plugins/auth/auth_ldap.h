/*
 * plugins/auth/auth_ldap.h - the directory login: "is this the password of
 * this person in the directory?", asked with an LDAP simple bind.
 *
 * The Linux counterpart of the reference product's Windows domain
 * authentication. The login a user types is not a DN, so first the plugin
 * searches for it (as a configured service account, or anonymously) with
 * an operator's filter such as "(uid=%s)" or "(sAMAccountName=%s)" in one
 * or more base DNs; the login is escaped per RFC 4515 before it goes into
 * the filter, so "*" or ")(" in a login are characters, not filter syntax.
 * Exactly one entry must match. Then it binds as that entry's DN with the
 * password: the directory checks it, and the password never touches our
 * disk.
 *
 * The password crosses the network, so only TLS is allowed (ldaps://, or
 * ldap:// with StartTLS), with the server certificate verified against
 * ca_file (or the system CAs) and the host name - whatever /etc/ldap or
 * the environment say. Plain text needs allow_plain, explicitly. The URL
 * list is split the way libldap splits it (commas and blanks) and every
 * URL is checked; the plugin then connects to one URL at a time itself
 * (libldap's own fail-over would move on to a later URL behind our back),
 * decides StartTLS for that URL, and before any bind that carries a
 * password asks libldap whether TLS really is in place on the connection:
 * if not (and allow_plain is off), the password is not sent. An empty
 * password is refused before the directory is asked: LDAP treats a simple
 * bind with a DN and no password as an "unauthenticated bind" that
 * succeeds without checking anything.
 *
 * The entry is tied to the user of the user store: the search uses the
 * store's login (not the text typed), and when the store knows the user's
 * DN (userdb-ldap) the entry found must be that DN. A login that is not in
 * the store is searched for (so it costs the same round trips) but never
 * bound as: login variants cannot trip the directory's own lockout of an
 * entry. When no entry may be bound as (none, several, not the store's,
 * not in the store), the plugin binds once to a DN that cannot exist, so
 * every refusal costs the directory the same round trips as a wrong
 * password.
 *
 * Only the answers "found" (success, size limit) and "no such base"
 * (noSuchObject) count as the directory having been asked: any other
 * search error (insufficientAccess, unwillingToPerform, ...) is the
 * directory's or the operator's problem, reported as unreachable and not
 * counted against the user.
 *
 * libldap blocks: auth_ldap_login() runs on a pool thread, opens its own
 * connection and closes it again. The configuration it reads is immutable
 * while any job uses it. The whole conversation is bounded by timeout_ms:
 * a watchdog shuts the socket down when it runs longer (see auth_ldap.c),
 * and auth_ldap_cut_all() shuts every socket down when ucsd stops.
 */
#ifndef AUTH_LDAP_H
#define AUTH_LDAP_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_LDAP_DN_MAX 1024

struct auth_ldap_conf {
	char **urls; /* tried in order, split on commas and blanks */
	size_t n_urls;
	int starttls;	 /* ldap:// URLs: StartTLS before anything else */
	int allow_plain; /* plain ldap:// without StartTLS allowed */
	char *ca_file;	 /* "" or NULL: the system CAs */
	char **bases;	 /* base DNs, searched in order */
	size_t n_bases;
	char *filter;  /* "(uid=%s)": every %s becomes the escaped login */
	char *bind_dn; /* "" or NULL: anonymous search */
	char *bind_password;
	uint32_t timeout_ms; /* the whole directory conversation of one login */
};

/* Splits a URL list on commas and blanks (libldap's separators, and tabs
 * and line ends) into urls. 0 or -ENOMEM. */
int auth_ldap_set_urls(struct auth_ldap_conf *c, const char *list);

/* How a URL of the list is protected: "TLS" (ldaps://), "StartTLS", or
 * "PLAIN TEXT" (allow_plain). */
const char *auth_ldap_url_protection(const struct auth_ldap_conf *c, const char *url);

/* Splits "dc=a,dc=b; ou=x,dc=c" into bases (trimmed, empty parts dropped).
 * 0 or -ENOMEM. */
int auth_ldap_set_bases(struct auth_ldap_conf *c, const char *list);

/* Whether the configuration may be used: 0, or -EINVAL with the reason in
 * err (no URL, a URL that is not ldap/ldaps/ldapi, plain text without
 * allow_plain, no base DN, a filter that auth_ldap_filter_check refuses, a
 * bind DN without a password). */
int auth_ldap_conf_check(const struct auth_ldap_conf *c, char *err, size_t errcap);

void auth_ldap_conf_free(struct auth_ldap_conf *c);

/* Whether tmpl is a usable filter template: 0, or -EINVAL. The filter it
 * makes must be one RFC 4515 filter - "(" ... ")" with balanced,
 * well-formed parts (&, |, ! and items attr=value, ~=, >=, <=, :=;
 * blanks are allowed between the parts of & and |) - holding at least one
 * %s, each inside an attribute value; "%%" is a percent sign. */
int auth_ldap_filter_check(const char *tmpl);
/* Whether filter is one filter of that grammar: 0, or -EINVAL. */
int auth_ldap_filter_valid(const char *filter);

/* 1 when two DNs name the same entry: both parse and are equal after
 * normalisation (RFC 4514 form), compared case-insensitively; 0 otherwise. */
int auth_ldap_dn_equal(const char *a, const char *b);

/* RFC 4515 value escaping ("*" -> "\2a", "(" -> "\28", ")" -> "\29",
 * "\" -> "\5c", NUL never occurs in a C string). snprintf rules. */
int auth_ldap_escape(const char *in, char *out, size_t cap);

/* The filter for a login: every "%s" in tmpl replaced by the escaped
 * login, "%%" by "%". snprintf rules; -EINVAL for another "%x". */
int auth_ldap_filter(const char *tmpl, const char *login, char *out, size_t cap);

/* Who is logging in. */
struct auth_ldap_who {
	const char *login;    /* searched for: the store's login (the typed text when
				 the login is not in the store) */
	const char *store_dn; /* the store user's DN; "" or NULL: the store has none */
	int in_store;	      /* 0: search, but never bind as an entry */
};

/* Blocking. 0: the directory accepted the password (dn: the entry),
 * -EACCES: not in the store, no such entry, several entries, not the
 * store's entry, or the bind failed, -EHOSTUNREACH: the directory could
 * not be asked (down, timeout, TLS or certificate failure, no TLS in place
 * for a password, the search bind was refused, a search error). why gets
 * a short reason for the audit line (never the password). */
int auth_ldap_login(const struct auth_ldap_conf *c, const struct auth_ldap_who *who, const void *pw,
		    size_t len, char *dn, size_t dncap, char *why, size_t whycap);

/* Shuts down, at once, every directory connection a login holds, and
 * every one a login makes from now on (as soon as it connects; a login that
 * has not connected yet does not try): those logins fail with
 * -EHOSTUNREACH ("cut off: ucsd is stopping") instead of waiting for
 * timeout_ms. Thread-safe. Call from the plugin's stop, before the host
 * waits for the pool; auth_ldap_shutdown() clears it. */
void auth_ldap_cut_all(void);

/* Stops the watchdog thread that bounds hung directory connections (it
 * starts with the first directory login). Call when no login runs any more
 * (the plugin's fini). */
void auth_ldap_shutdown(void);

#endif
