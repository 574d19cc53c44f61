/*
 * plugins/auth/tests/test_text.c - the text the plugin builds from input it
 * does not control: RFC 4515 escaping of logins in LDAP filters, the
 * filter template check, the directory settings check (every URL of a
 * list TLS unless allowed), base DN lists, DN comparison, quoting in audit
 * lines, and the JSON of "auth.event".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_audit.h"
#include "auth_ldap.h"
#include "check.h"

static void test_escape(void)
{
	char out[256];

	CHECK_INT(auth_ldap_escape("alice", out, sizeof(out)), ==, 5);
	CHECK_STR(out, "alice");
	CHECK_INT(auth_ldap_escape("*", out, sizeof(out)), ==, 3);
	CHECK_STR(out, "\\2a");
	auth_ldap_escape("a)(uid=*)(|(x=", out, sizeof(out));
	CHECK_STR(out, "a\\29\\28uid=\\2a\\29\\28|\\28x=");
	auth_ldap_escape("back\\slash", out, sizeof(out));
	CHECK_STR(out, "back\\5cslash");
	auth_ldap_escape("J\xc3\xbcrgen", out, sizeof(out));
	CHECK_STR(out, "J\xc3\xbcrgen"); /* UTF-8 is a value, not syntax */
	/* truncation is reported like snprintf */
	CHECK_INT(auth_ldap_escape("****", out, 5), ==, 12);
	CHECK_INT(strlen(out), ==, 4);
}

/* RFC 4515 section 3: in a value, "*", "(", ")", "\" and NUL must be
 * escaped as a backslash and two hex digits; every other byte may stand
 * for itself (NUL cannot occur in a C string). Every byte, one by one. */
static void test_escape_every_byte(void)
{
	char in[2] = {0}, out[16], want[8];

	for (int b = 1; b < 256; b++) {
		in[0] = (char)b;
		switch (b) {
		case '*':
			snprintf(want, sizeof(want), "\\2a");
			break;
		case '(':
			snprintf(want, sizeof(want), "\\28");
			break;
		case ')':
			snprintf(want, sizeof(want), "\\29");
			break;
		case '\\':
			snprintf(want, sizeof(want), "\\5c");
			break;
		default:
			snprintf(want, sizeof(want), "%c", b);
			break;
		}
		CHECK_INT(auth_ldap_escape(in, out, sizeof(out)), ==, strlen(want));
		if (strcmp(out, want) != 0)
			fprintf(stderr, "byte 0x%02x\n", b);
		CHECK_STR(out, want);
	}
	/* all of them together, and what the escaped login does to a filter */
	CHECK_INT(auth_ldap_escape("*()\\", out, sizeof(out)), ==, 12);
	CHECK_STR(out, "\\2a\\28\\29\\5c");
	{
		char f[256];

		auth_ldap_filter("(uid=%s)", "x*)(|(uid=*))(\\", f, sizeof(f));
		CHECK_STR(f, "(uid=x\\2a\\29\\28|\\28uid=\\2a\\29\\29\\28\\5c)");
		/* one filter, one value: no parenthesis or star of the login survives */
		CHECK_INT(auth_ldap_filter_check("(uid=%s)"), ==, 0);
		CHECK(strchr(f + 5, '(') == NULL && strchr(f, '*') == NULL);
		CHECK_INT(strchr(f, ')') - f, ==, strlen(f) - 1);
	}
}

static void test_filter(void)
{
	char out[256];

	CHECK_INT(auth_ldap_filter("(uid=%s)", "bob", out, sizeof(out)), ==, 9);
	CHECK_STR(out, "(uid=bob)");
	auth_ldap_filter("(&(objectClass=person)(|(uid=%s)(mail=%s)))", "b*", out, sizeof(out));
	CHECK_STR(out, "(&(objectClass=person)(|(uid=b\\2a)(mail=b\\2a)))");
	auth_ldap_filter("(sAMAccountName=%s)", "x)(objectClass=*", out, sizeof(out));
	CHECK_STR(out, "(sAMAccountName=x\\29\\28objectClass=\\2a)");
	auth_ldap_filter("(cn=100%%%s)", "a", out, sizeof(out));
	CHECK_STR(out, "(cn=100%a)");
	CHECK_INT(auth_ldap_filter("(uid=%d)", "a", out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_ldap_filter("(uid=%", "a", out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(auth_ldap_filter("(uid=%s)", "abc", out, 6), ==, 9);
	CHECK_STR(out, "(uid=");
}

static struct auth_ldap_conf conf(const char *url, int starttls, int plain)
{
	struct auth_ldap_conf c = {0};

	auth_ldap_set_urls(&c, url);
	c.starttls = starttls;
	c.allow_plain = plain;
	c.filter = strdup("(uid=%s)");
	c.bind_dn = strdup("");
	c.bind_password = strdup("");
	auth_ldap_set_bases(&c, "dc=example,dc=com");
	c.timeout_ms = 1000;
	return c;
}

static int check_conf(const char *url, int starttls, int plain, char *err)
{
	struct auth_ldap_conf c = conf(url, starttls, plain);
	int rc = auth_ldap_conf_check(&c, err, 512);

	auth_ldap_conf_free(&c);
	return rc;
}

static void test_conf_check(void)
{
	struct auth_ldap_conf c;
	char err[512];

	CHECK_INT(check_conf("ldaps://127.0.0.1:636", 0, 0, err), ==, 0);
	CHECK_INT(check_conf("ldap://127.0.0.1:389", 1, 0, err), ==, 0);
	CHECK_INT(check_conf("ldap://127.0.0.1:389", 0, 0, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "plain text");
	CHECK_INT(check_conf("LDAP://127.0.0.1", 0, 0, err), ==, -EINVAL);
	CHECK_INT(check_conf("ldaps://a ldap://b", 0, 0, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "ldap://b");
	CHECK_INT(check_conf("ldaps://a ldaps://b", 0, 0, err), ==, 0);
	CHECK_INT(check_conf("ldapi:///run/slapd.sock", 0, 0, err), ==, -EINVAL);
	CHECK_INT(check_conf("ldap://127.0.0.1:389", 0, 1, err), ==, 0);
	CHECK_INT(check_conf("http://x", 0, 1, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "not an ldap");
	CHECK_INT(check_conf("", 0, 1, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "no directory URL");
	CHECK_INT(check_conf("   ", 0, 1, err), ==, -EINVAL);
	/* lists: libldap splits on commas too, and fails over to later URLs,
	 * so every URL of the list must pass */
	CHECK_INT(check_conf("ldaps://a,ldap://b", 0, 0, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "ldap://b would carry passwords in plain text");
	CHECK_INT(check_conf("ldaps://a, ldap://b:389", 0, 0, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "ldap://b:389 would carry");
	CHECK_INT(check_conf("ldaps://a\tldap://b", 0, 0, err), ==, -EINVAL);
	CHECK_INT(check_conf("ldaps://a,ldap://b", 1, 0, err), ==, 0);
	CHECK_INT(check_conf("ldaps://a,,ldaps://b, ldaps://c\n", 0, 0, err), ==, 0);
	CHECK_INT(check_conf(" , ,", 0, 1, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "no directory URL");
	CHECK_INT(check_conf("ldaps://a,http://b", 0, 1, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "http://b is not an ldap");
	CHECK_INT(check_conf("ldaps://[::1", 0, 0, err), ==, -EINVAL);
	CHECK_CONTAINS(err, "is not an ldap");

	c = conf("ldaps://dc1:636, ldap://dc2 ,ldaps://dc3", 1, 0);
	CHECK_INT(c.n_urls, ==, 3);
	CHECK_STR(c.urls[0], "ldaps://dc1:636");
	CHECK_STR(c.urls[1], "ldap://dc2");
	CHECK_STR(c.urls[2], "ldaps://dc3");
	CHECK_STR(auth_ldap_url_protection(&c, c.urls[0]), "TLS");
	CHECK_STR(auth_ldap_url_protection(&c, c.urls[1]), "StartTLS");
	c.starttls = 0;
	CHECK_STR(auth_ldap_url_protection(&c, c.urls[1]), "PLAIN TEXT");
	CHECK_STR(auth_ldap_url_protection(&c, "LDAPS://x"), "TLS");
	auth_ldap_conf_free(&c);

	c = conf("ldaps://x", 0, 0);
	free(c.filter);
	c.filter = strdup("uid=%s");
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "filter");
	free(c.filter);
	c.filter = strdup("(uid=bob)");
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, -EINVAL);
	free(c.filter);
	c.filter = strdup("(uid=%s)(x=%q)");
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, -EINVAL);
	free(c.filter);
	c.filter = strdup("(uid=%s)");
	free(c.bind_dn);
	c.bind_dn = strdup("cn=search,dc=example,dc=com");
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "bind DN needs a password");
	free(c.bind_password);
	c.bind_password = strdup("pw");
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, 0);
	auth_ldap_conf_free(&c);

	c = conf("ldaps://x", 0, 0);
	for (size_t i = 0; i < c.n_bases; i++)
		free(c.bases[i]);
	free(c.bases);
	c.bases = NULL;
	c.n_bases = 0;
	CHECK_INT(auth_ldap_set_bases(&c, " ; ;"), ==, 0);
	CHECK_INT(auth_ldap_conf_check(&c, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "no base DN");
	CHECK_INT(auth_ldap_set_bases(&c,
				      "ou=people,dc=example,dc=com ; ou=staff,dc=example,dc=org;"),
		  ==, 0);
	CHECK_INT(c.n_bases, ==, 2);
	CHECK_STR(c.bases[0], "ou=people,dc=example,dc=com");
	CHECK_STR(c.bases[1], "ou=staff,dc=example,dc=org");
	auth_ldap_conf_free(&c);
}

static void test_filter_check(void)
{
	static const char *const good[] = {
		"(uid=%s)",
		"(sAMAccountName=%s)",
		"(&(objectClass=person)(|(uid=%s)(mail=%s)))",
		"(&(objectClass=user) (sAMAccountName=%s))",
		"(&(uid=%s)(!(employeeType=disabled)))",
		"(&(uid=%s)(memberOf=cn=ucs\\2cusers,dc=example,dc=com))",
		"(cn=100%%%s)",
		"(uid:dn:=%s)",
		"(uid=%s*)",
		"(|(uid=%s)(uid~=%s)(cn>=%s)(cn<=%s))",
		NULL,
	};
	static const char *const bad[] = {
		"",
		"uid=%s",		     /* no parentheses */
		"(uid=bob)",		     /* no %s */
		"(uid=%s)(x=%q)",	     /* not a placeholder */
		"(uid=%s))((objectClass=*)", /* unbalanced, two filters */
		"(&(uid=%s)",		     /* not closed */
		"(uid=%s",		     /* not closed */
		"(uid=%s)(cn=x)",	     /* two filters */
		"((uid=%s))",		     /* a filter in a filter without & | ! */
		"(%s=alice)",		     /* the login as an attribute */
		"(|)(uid=%s)",		     /* an empty list */
		"(&)",			     /* and nothing else */
		"(uid=%s\\zz)",		     /* an escape that is no hex pair */
		"(uid=x\\5%s)",		     /* an escape that would end in the login */
		"(=%s)",		     /* no attribute */
		"(uid %s)",		     /* no operator */
		"(uid=%s) ",		     /* something after the filter */
		"(uid=(%s))",		     /* a parenthesis in a value */
		NULL,
	};
	char deep[200] = "";

	for (size_t i = 0; good[i]; i++) {
		if (auth_ldap_filter_check(good[i]) != 0)
			fprintf(stderr, "refused: %s\n", good[i]);
		CHECK_INT(auth_ldap_filter_check(good[i]), ==, 0);
	}
	for (size_t i = 0; bad[i]; i++) {
		if (auth_ldap_filter_check(bad[i]) == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(auth_ldap_filter_check(bad[i]), ==, -EINVAL);
	}
	CHECK_INT(auth_ldap_filter_check(NULL), ==, -EINVAL);
	/* nesting is bounded: 40 levels of (! ... ) are refused, not recursed */
	for (int i = 0; i < 40; i++)
		strcat(deep, "(!");
	strcat(deep, "(uid=%s)");
	for (int i = 0; i < 40; i++)
		strcat(deep, ")");
	CHECK_INT(auth_ldap_filter_check(deep), ==, -EINVAL);
}

static void test_dn_equal(void)
{
	const char *alice = "uid=alice,ou=people,dc=example,dc=com";

	CHECK_INT(auth_ldap_dn_equal(alice, alice), ==, 1);
	CHECK_INT(auth_ldap_dn_equal("UID=Alice, OU=People,DC=example, DC=com", alice), ==, 1);
	CHECK_INT(auth_ldap_dn_equal("cn=a\\,b,dc=x", "cn=a\\2cb,dc=x"), ==, 1);
	CHECK_INT(auth_ldap_dn_equal("uid=mallory,ou=people,dc=example,dc=com", alice), ==, 0);
	CHECK_INT(auth_ldap_dn_equal("uid=alice,ou=people,dc=example", alice), ==, 0);
	CHECK_INT(auth_ldap_dn_equal("uid=alice2,ou=people,dc=example,dc=com", alice), ==, 0);
	CHECK_INT(auth_ldap_dn_equal("not a dn", "not a dn"), ==, 0);
	CHECK_INT(auth_ldap_dn_equal(alice, NULL), ==, 0);
}

static void test_quote(void)
{
	char out[64];

	CHECK_STR(auth_audit_quote("alice", out, sizeof(out)), "\"alice\"");
	CHECK_STR(auth_audit_quote("a\"b\\c", out, sizeof(out)), "\"a\\x22b\\x5cc\"");
	/* a newline cannot forge a second log line */
	CHECK_STR(auth_audit_quote("x\naudit: login accepted", out, sizeof(out)),
		  "\"x\\x0aaudit: login accepted\"");
	CHECK_STR(auth_audit_quote("J\xc3\xbc", out, sizeof(out)), "\"J\\xc3\\xbc\"");
	CHECK_STR(auth_audit_quote(NULL, out, sizeof(out)), "\"\"");
	CHECK_STR(auth_audit_quote("0123456789012345678901234567890123456789", out, 24),
		  "\"012345678901234567...\"");
	CHECK_INT(strlen(auth_audit_quote("\x01\x01\x01\x01\x01\x01\x01\x01", out, 20)), <, 20);
}

static void test_event_json(void)
{
	struct ucs_auth_event ev;
	char buf[512];
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.kind = UCS_AUTH_EV_FAILURE;
	snprintf(ev.login.text, sizeof(ev.login.text), "al\"ice\n");
	snprintf(ev.address, sizeof(ev.address), "192.0.2.1");
	snprintf(ev.via, sizeof(ev.via), "client-api");
	n = auth_event_to_json(&ev, sizeof(ev), buf, sizeof(buf));
	CHECK_STR(buf, "{\"kind\":\"failure\",\"login\":\"al\\\"ice\\u000a\",\"address\":"
		       "\"192.0.2.1\",\"via\":\"client-api\"}");
	CHECK_INT(n, ==, strlen(buf));
	/* valid UTF-8 passes, broken UTF-8 becomes U+FFFD */
	snprintf(ev.login.text, sizeof(ev.login.text), "J\xc3\xbc\xff\xc3");
	ev.kind = UCS_AUTH_EV_LOCKOUT;
	auth_event_to_json(&ev, sizeof(ev), buf, sizeof(buf));
	CHECK_CONTAINS(buf, "\"kind\":\"lockout\",\"login\":\"J\xc3\xbc\\ufffd\\ufffd\"");
	/* a login that fills its field ends at the field */
	memset(ev.login.text, 'x', sizeof(ev.login.text));
	ev.kind = 99;
	n = auth_event_to_json(&ev, sizeof(ev), buf, sizeof(buf));
	CHECK_CONTAINS(buf, "\"kind\":\"?\"");
	CHECK_INT(n, ==, strlen(buf));
	/* too small a buffer: the length it needs, terminated */
	CHECK_INT(auth_event_to_json(&ev, sizeof(ev), buf, 10), ==, n);
	CHECK_INT(strlen(buf), ==, 9);
	CHECK_INT(auth_event_to_json(&ev, 3, buf, sizeof(buf)), ==, -EINVAL);
	CHECK_STR(auth_event_kind_name(UCS_AUTH_EV_RELEASE), "release");
	CHECK_STR(auth_event_kind_name(UCS_AUTH_EV_SUCCESS), "success");
}

int main(void)
{
	test_escape();
	test_escape_every_byte();
	test_filter();
	test_filter_check();
	test_conf_check();
	test_dn_equal();
	test_quote();
	test_event_json();
	return check_report();
}
