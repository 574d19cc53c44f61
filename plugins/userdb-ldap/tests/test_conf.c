/*
 * plugins/userdb-ldap/tests/test_conf.c - the configuration section through
 * the host's own validation (core/config.c) and lud_conf_read: defaults,
 * the "force LDAPS" rule, password_file, per-kind bases and filters,
 * attribute overrides, and the errors an operator sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "lud.h"

/* Validates {"userdb-ldap": SECTION} and reads it; 0 or the error. */
static int read_section(const char *section, struct lud_conf *c, char *err, size_t errcap)
{
	struct core_config *cfg = NULL;
	char text[8192];
	int rc;

	snprintf(text, sizeof(text), "{\"userdb-ldap\": %s}", section);
	err[0] = '\0';
	rc = core_config_load_text(&cfg, "test.json", text, strlen(text));
	if (!rc)
		rc = core_config_validate(cfg, "userdb-ldap", lud_conf_keys);
	if (!rc)
		rc = lud_conf_read(c, &core_cfg_api, core_config_section(cfg, "userdb-ldap"), err,
				   errcap);
	else
		snprintf(err, errcap, "(host validation failed)");
	core_config_free(cfg);
	return rc;
}

static void test_defaults(void)
{
	struct lud_conf c;
	char err[512];

	CHECK_INT(read_section("{\"url\": \"ldaps://dc.example.com\"}", &c, err, sizeof(err)), ==,
		  0);
	CHECK_STR(c.url, "ldaps://dc.example.com");
	CHECK(c.starttls && !c.allow_plain && c.tls_verify);
	CHECK(!c.write_back && c.bind_business && c.bind_business2);
	CHECK_STR(c.ca_file, "");
	CHECK_STR(c.bind_dn, "");
	CHECK_STR(c.password, "");
	CHECK_INT(c.network_timeout_ms, ==, 5000);
	CHECK_INT(c.search_timeout_ms, ==, 60000);
	CHECK_INT(c.page_size, ==, 500);
	CHECK_INT(c.sync_interval_s, ==, 300);
	CHECK_INT(c.retry_max_s, ==, 60);
	CHECK_INT(c.max_objects, ==, 2000);
	CHECK_INT(c.keep_deleted_days, ==, 30);
	CHECK_INT(c.schema, ==, LUD_SCHEMA_AD);
	for (int k = 0; k < LUD_NKINDS; k++) {
		CHECK(c.bases[k] && c.bases[k][0] == NULL); /* the naming context */
		CHECK_STR(c.filter[k], lud_default_filter(LUD_SCHEMA_AD, k));
	}
	CHECK_STR(c.map.attrs[lud_field_index(LUD_USERS, "login")][0], "sAMAccountName");
	lud_conf_free(&c);
}

static void test_tls_rules(void)
{
	struct lud_conf c;
	char err[512];

	/* ldap:// upgrades with StartTLS by default */
	CHECK_INT(read_section("{\"url\": \"ldap://dc\"}", &c, err, sizeof(err)), ==, 0);
	lud_conf_free(&c);
	CHECK_INT(
		read_section("{\"url\": \"ldap://dc\", \"starttls\": false}", &c, err, sizeof(err)),
		==, -EINVAL);
	CHECK_STR(err, "url: ldap://dc is not encrypted: use ldaps://, set starttls, or set "
		       "allow_plain to accept clear text");
	CHECK_INT(read_section("{\"url\": \"ldaps://a ldap://b\", \"starttls\": false}", &c, err,
			       sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "ldap://b is not encrypted");
	CHECK_INT(read_section("{\"url\": \"ldap://dc\", \"starttls\": false, \"allow_plain\": "
			       "true}",
			       &c, err, sizeof(err)),
		  ==, 0);
	lud_conf_free(&c);
	CHECK_INT(read_section("{\"url\": \"ldapi://%2Frun%2Fslapd%2Fldapi\", \"starttls\": "
			       "false}",
			       &c, err, sizeof(err)),
		  ==, 0);
	lud_conf_free(&c);
	CHECK_INT(read_section("{\"url\": \"http://dc\"}", &c, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "url: http://dc is no ldap://, ldaps:// or ldapi:// URL");
	CHECK_INT(read_section("{}", &c, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "url: no directory configured");
}

static void test_password(void)
{
	char path[] = "/tmp/ucsd-ldap-pw.XXXXXX", section[512], err[512];
	struct lud_conf c;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, "s3cret\r\nsecond line\n", 20), ==, 20);
	close(fd);
	snprintf(section, sizeof(section),
		 "{\"url\": \"ldaps://dc\", \"bind_dn\": \"ucsd@example.com\", \"password\": "
		 "\"ignored\", \"password_file\": \"%s\"}",
		 path);
	CHECK_INT(read_section(section, &c, err, sizeof(err)), ==, 0);
	CHECK_STR(c.password, "s3cret");
	CHECK_STR(c.bind_dn, "ucsd@example.com");
	lud_conf_free(&c);
	unlink(path);
	CHECK_INT(read_section(section, &c, err, sizeof(err)), ==, -ENOENT);
	CHECK_CONTAINS(err, "password_file: cannot open /tmp/ucsd-ldap-pw.");
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"bind_dn\": \"cn=x\"}", &c, err,
			       sizeof(err)),
		  ==, -EINVAL);
	CHECK_STR(err, "bind_dn is set but no password (password or password_file)");
}

static void test_kinds(void)
{
	struct lud_conf c;
	char err[512];

	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"schema\": \"openldap\", \"base\": "
			       "\"dc=x;dc=y\", \"users\": {\"base\": \"ou=a,dc=x; ou=b,dc=x\", "
			       "\"filter\": \"(uid=*)\", \"attributes\": {\"private\": \"\", "
			       "\"mobile\": \"mobile,otherMobile\"}}, \"groups\": {\"attributes\": "
			       "{\"members\": \"member\"}}}",
			       &c, err, sizeof(err)),
		  ==, 0);
	CHECK_INT(c.schema, ==, LUD_SCHEMA_OPENLDAP);
	CHECK_INT(lud_strv_len(c.bases[LUD_USERS]), ==, 2);
	CHECK_STR(c.bases[LUD_USERS][1], "ou=b,dc=x");
	CHECK_INT(lud_strv_len(c.bases[LUD_GROUPS]), ==, 2); /* the section's base */
	CHECK_STR(c.bases[LUD_COMPUTERS][0], "dc=x");
	CHECK_STR(c.filter[LUD_USERS], "(uid=*)");
	CHECK_STR(c.filter[LUD_COMPUTERS], "(objectClass=device)");
	CHECK(!lud_map_has(&c.map, lud_field_index(LUD_USERS, "private")));
	CHECK_STR(c.map.attrs[lud_field_index(LUD_USERS, "mobile")][1], "otherMobile");
	CHECK_STR(c.map.attrs[lud_field_index(LUD_USERS, "login")][0], "uid");
	CHECK_INT(lud_strv_len(c.map.attrs[lud_field_index(LUD_GROUPS, "members")]), ==, 1);
	lud_conf_free(&c);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"groups\": {\"filter\": "
			       "\"(cn=x\"}}",
			       &c, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_STR(err, "groups.filter: \"(cn=x\" is not a parenthesised LDAP filter");
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"users\": {\"attributes\": {\"id\": "
			       "\"\"}}}",
			       &c, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_STR(err, "users.attributes.id: cannot be switched off");
}

static void test_host_rejects(void)
{
	struct lud_conf c;
	char err[512];

	/* the host's validation: unknown keys, ranges, types, choices */
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"users\": {\"attributes\": "
			       "{\"no_such_field\": \"x\"}}}",
			       &c, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"max_objects\": 99}", &c, err,
			       sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"max_objects\": 100}", &c, err,
			       sizeof(err)),
		  ==, 0);
	lud_conf_free(&c);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"schema\": \"novell\"}", &c, err,
			       sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"starttls\": \"yes\"}", &c, err,
			       sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(read_section("{\"url\": \"ldaps://dc\", \"unknown\": 1}", &c, err, sizeof(err)),
		  ==, -EINVAL);
}

int main(void)
{
	test_defaults();
	test_tls_rules();
	test_password();
	test_kinds();
	test_host_rejects();
	return check_report();
}
