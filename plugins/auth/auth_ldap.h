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
 * the environment say. Plain text needs allow_plain, explicitly. An empty
 * password is refused before the directory is asked: LDAP treats a simple
 * bind with a DN and no password as an "unauthenticated bind" that
 * succeeds without checking anything.
 *
 * When the login is not in the directory, the plugin still binds once (to
 * a DN that cannot exist) so that an unknown login costs the directory the
 * same round trips as a wrong password.
 *
 * libldap blocks: auth_ldap_login() runs on a pool thread, opens its own
 * connection and closes it again. The configuration it reads is immutable
 * while any job uses it. The whole conversation is bounded by timeout_ms:
 * a watchdog shuts the socket down when it runs longer (see auth_ldap.c).
 */
#ifndef AUTH_LDAP_H
#define AUTH_LDAP_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_LDAP_DN_MAX 1024

struct auth_ldap_conf {
	char *url;	 /* one or more URLs separated by spaces */
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

/* Splits "dc=a,dc=b; ou=x,dc=c" into bases (trimmed, empty parts dropped).
 * 0 or -ENOMEM. */
int auth_ldap_set_bases(struct auth_ldap_conf *c, const char *list);

/* Whether the configuration may be used: 0, or -EINVAL with the reason in
 * err (no URL, an URL that is not ldap/ldaps/ldapi, plain text without
 * allow_plain, no base DN, a filter without %s or not in parentheses, a
 * bind DN without a password). */
int auth_ldap_conf_check(const struct auth_ldap_conf *c, char *err, size_t errcap);

void auth_ldap_conf_free(struct auth_ldap_conf *c);

/* RFC 4515 value escaping ("*" -> "\2a", "(" -> "\28", ")" -> "\29",
 * "\" -> "\5c", NUL never occurs in a C string). snprintf rules. */
int auth_ldap_escape(const char *in, char *out, size_t cap);

/* The filter for a login: every "%s" in tmpl replaced by the escaped
 * login, "%%" by "%". snprintf rules; -EINVAL for another "%x". */
int auth_ldap_filter(const char *tmpl, const char *login, char *out, size_t cap);

/* Blocking. 0: the directory accepted the password (dn: the entry),
 * -EACCES: no such entry, several entries, or the bind failed,
 * -EHOSTUNREACH: the directory could not be asked (down, timeout, TLS or
 * certificate failure, the search bind was refused). why gets a short
 * reason for the audit line (never the password). */
int auth_ldap_login(const struct auth_ldap_conf *c, const char *login, const void *pw, size_t len,
		    char *dn, size_t dncap, char *why, size_t whycap);

/* Stops the watchdog thread that bounds hung directory connections (it
 * starts with the first directory login). Call when no login runs any more
 * (the plugin's fini). */
void auth_ldap_shutdown(void);

#endif
