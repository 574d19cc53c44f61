/*
 * tests/fuzz/auth_ldap_text.c - the directory login's text handling, which
 * takes an operator's settings and a login anybody can type.
 *
 * The input is split at its first two newlines into a filter template, a
 * login and a URL list. Properties:
 *   - the template check, the URL split and check, the escaping and the DN
 *     comparison read nothing outside their input and do not crash;
 *   - a template the check accepts stays one valid filter whatever the
 *     login is (the escaping cannot be broken out of);
 *   - an escaped login holds no "*", "(", ")" and only "\" of an escape;
 *   - every URL the split yields is non-empty and free of separators;
 *   - two DNs compare the same both ways round.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_ldap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, *p, len);
		s[len] = 0; /* a NUL inside ends the string early: fine */
	}
	*p += len + (nl ? 1 : 0);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *tmpl = part(&p, end), *login = part(&p, end), *urls = part(&p, end);
	char filter[4096], esc[2048], err[512];
	struct auth_ldap_conf c = {0};
	int n;

	if (!tmpl || !login || !urls)
		goto out;
	if (strlen(login) <= 256) {
		n = auth_ldap_escape(login, esc, sizeof(esc));
		if (n < 0 || (size_t)n >= sizeof(esc))
			abort();
		for (const char *e = esc; *e; e++) {
			if (*e == '*' || *e == '(' || *e == ')')
				abort();
			if (*e != '\\')
				continue;
			if (strncmp(e, "\\2a", 3) && strncmp(e, "\\28", 3) &&
			    strncmp(e, "\\29", 3) && strncmp(e, "\\5c", 3))
				abort();
			e += 2;
		}
		if (auth_ldap_filter_check(tmpl) == 0) {
			n = auth_ldap_filter(tmpl, login, filter, sizeof(filter));
			if (n >= 0 && (size_t)n < sizeof(filter) &&
			    auth_ldap_filter_valid(filter) != 0)
				abort();
		}
	}
	if (auth_ldap_set_urls(&c, urls) == 0) {
		for (size_t i = 0; i < c.n_urls; i++)
			if (!c.urls[i][0] || strpbrk(c.urls[i], ", \t\r\n"))
				abort();
		c.filter = strdup("(uid=%s)");
		c.bind_dn = strdup("");
		c.bind_password = strdup("");
		auth_ldap_set_bases(&c, login);
		c.starttls = size & 1;
		auth_ldap_conf_check(&c, err, sizeof(err));
	}
	if (auth_ldap_dn_equal(tmpl, login) != auth_ldap_dn_equal(login, tmpl))
		abort();
out:
	auth_ldap_conf_free(&c);
	free(tmpl);
	free(login);
	free(urls);
	return 0;
}
