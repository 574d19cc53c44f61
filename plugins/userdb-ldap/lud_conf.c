/*
 * plugins/userdb-ldap/lud_conf.c - the "userdb-ldap" configuration section:
 * its keys with defaults and help, and the reading of a validated section
 * into struct lud_conf with the checks the host cannot make.
 *
 * Security defaults follow the reference product's "Force LDAPS": an
 * ldap:// URL is upgraded with StartTLS, certificates are verified against
 * ca_file or the system's trust store, and a connection without TLS is
 * refused unless allow_plain says otherwise. The bind password can live in
 * its own file (password_file) so that the main configuration holds no
 * secret; it is never logged.
 *
 * Attribute overrides have no defaults in the key table: an absent key
 * means "the default of the chosen schema", "" switches the field off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lud.h"

#define ATTR(k, h) UCS_CFG_STRING_KEY(k, NULL, h)

static const struct ucs_cfg_key user_attr_keys[] = {
	ATTR("id", "stable id; default objectGUID (ad) / entryUUID (openldap)"),
	ATTR("login", "login name; default sAMAccountName / uid"),
	ATTR("first_name", "default givenName"),
	ATTR("last_name", "default sn"),
	ATTR("display_name", "default displayName / displayName,cn"),
	ATTR("email", "default mail"),
	ATTR("identity", "federation address; default off (login@presence-domain)"),
	ATTR("active", "account flags (disabled: inactive); default userAccountControl / off"),
	ATTR("business", "business number; default telephoneNumber"),
	ATTR("business2",
	     "business number 2; default otherTelephone / telephoneNumber (2nd value)"),
	ATTR("private", "private number; default homePhone"),
	ATTR("mobile", "default mobile"),
	ATTR("pager", "default pager"),
	ATTR("fax", "default facsimileTelephoneNumber"),
	ATTR("other_numbers", "further numbers; default otherTelephone / telephoneNumber"),
	ATTR("title", "default title"),
	ATTR("company", "default company / o"),
	ATTR("department", "default department / ou"),
	ATTR("office",
	     "default physicalDeliveryOfficeName / roomNumber,physicalDeliveryOfficeName"),
	ATTR("street", "default streetAddress / street"),
	ATTR("postal_code", "default postalCode"),
	ATTR("city", "default l"),
	ATTR("state", "default st"),
	ATTR("country", "default co / c"),
	ATTR("website", "default wWWHomePage / labeledURI"),
	ATTR("picture", "contact image; default thumbnailPhoto / jpegPhoto"),
	ATTR("member_of", "the user's group DNs; default memberOf"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key group_attr_keys[] = {
	ATTR("id", "stable id; default objectGUID / entryUUID"),
	ATTR("name", "default cn"),
	ATTR("members", "member DNs; default member / member,uniqueMember"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key computer_attr_keys[] = {
	ATTR("name", "the computer name (its id in lower case); default cn"),
	UCS_CFG_END,
};

#define KIND_KEYS(var, attrs, what)                                                              \
	static const struct ucs_cfg_key var[] = {                                                \
		UCS_CFG_STRING_KEY("base", NULL,                                                 \
				   "base DNs of the " what " separated by ';'; absent: the "     \
				   "section's base"),                                            \
		UCS_CFG_STRING_KEY("filter", NULL,                                               \
				   "LDAP filter of the " what "; absent: the schema's default"), \
		UCS_CFG_OBJECT_KEY("attributes", attrs,                                          \
				   "attribute of each field: a name, several separated by "      \
				   "',' (the first present wins), or \"\" (off)"),               \
		UCS_CFG_END,                                                                     \
	}

KIND_KEYS(user_keys, user_attr_keys, "users");
KIND_KEYS(group_keys, group_attr_keys, "groups");
KIND_KEYS(computer_keys, computer_attr_keys, "computers");

static const char *const schema_names[] = {"ad", "openldap", NULL};

const struct ucs_cfg_key lud_conf_keys[] = {
	UCS_CFG_STRING_KEY("url", "\"\"",
			   "the directory: ldaps://host[:port] or ldap://host[:port]; several "
			   "separated by blanks are tried in order"),
	UCS_CFG_BOOL_KEY("starttls", "true", "upgrade ldap:// connections with StartTLS"),
	UCS_CFG_BOOL_KEY("allow_plain", "false",
			 "allow ldap:// without StartTLS (passwords and data in clear text)"),
	UCS_CFG_BOOL_KEY("tls_verify", "true",
			 "verify the server certificate and its name (never switch off in "
			 "production)"),
	UCS_CFG_PATH_KEY("ca_file", "\"\"",
			 "PEM file of the CA certificates to trust; empty: the system's"),
	UCS_CFG_STRING_KEY("bind_dn", "\"\"",
			   "the account ucsd binds as (user@domain or a DN); empty: anonymous"),
	UCS_CFG_STRING_KEY("password", "\"\"", "the bind password (prefer password_file)"),
	UCS_CFG_PATH_KEY("password_file", "\"\"",
			 "a file whose first line is the bind password; wins over password"),
	UCS_CFG_INT_KEY("network_timeout", "5", 1, 300, "seconds to connect (TCP and TLS)"),
	UCS_CFG_INT_KEY("search_timeout", "60", 1, 3600, "seconds one search or modify may take"),
	UCS_CFG_INT_KEY("page_size", "500", 10, 100000, "entries per page of a search"),
	UCS_CFG_INT_KEY("sync_interval", "300", 1, 86400, "seconds between two synchronisations"),
	UCS_CFG_INT_KEY("retry_max", "60", 1, 3600,
			"longest wait in seconds between retries while the directory is away"),
	UCS_CFG_INT_KEY("max_objects", "2000", 100, 10000000,
			"most users, groups and computers read; more are left out with a warning"),
	UCS_CFG_CHOICE_KEY("schema", "\"ad\"", schema_names,
			   "the default mapping: \"ad\" (Active Directory) or \"openldap\" "
			   "(inetOrgPerson)"),
	UCS_CFG_STRING_KEY("base", "\"\"",
			   "base DNs for every kind separated by ';'; empty: the server's naming "
			   "context"),
	UCS_CFG_OBJECT_KEY("users", user_keys, "where and how users are read"),
	UCS_CFG_OBJECT_KEY("groups", group_keys, "where and how groups are read"),
	UCS_CFG_OBJECT_KEY("computers", computer_keys, "where and how computers are read"),
	UCS_CFG_BOOL_KEY("write_back", "false",
			 "phone numbers changed in ucsd are written to the directory (the bind "
			 "account needs write access)"),
	UCS_CFG_BOOL_KEY("bind_business", "true",
			 "the business number of directory users takes part in automatic line "
			 "binding"),
	UCS_CFG_BOOL_KEY("bind_business2", "true",
			 "the business number 2 of directory users takes part in automatic "
			 "line binding"),
	UCS_CFG_INT_KEY("keep_deleted_days", "30", 0, 36500,
			"days ucsd keeps its own settings of an object that left the directory "
			"(it gets them back when it returns)"),
	UCS_CFG_END,
};

static const char *const default_filters[2][LUD_NKINDS] = {
	[LUD_SCHEMA_AD] = {"(&(objectCategory=person)(objectClass=user))", "(objectClass=group)",
			   "(objectClass=computer)"},
	[LUD_SCHEMA_OPENLDAP] = {"(objectClass=inetOrgPerson)",
				 "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
				 "(objectClass=device)"},
};

const char *lud_default_filter(int schema, int kind)
{
	if (schema < 0 || schema > 1 || kind < 0 || kind >= LUD_NKINDS)
		return NULL;
	return default_filters[schema][kind];
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* The first line of a file, without its line end. */
static int read_password_file(const char *path, char **out, char *err, size_t errcap)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errcap, "password_file: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}

/* A filter must at least be parenthesised and balanced: libldap's own
 * message for a broken filter ("Bad search filter") names neither the kind
 * nor the filter. */
static int filter_ok(const char *f)
{
	int depth = 0;

	if (!f || f[0] != '(')
		return 0;
	for (const char *p = f; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return 0;
	}
	return depth == 0;
}

static int check_url(const struct lud_conf *c, char *err, size_t errcap)
{
	const char *p = c->url;
	int n = 0;

	while (*p) {
		const char *start;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		len = (size_t)(p - start);
		if (!len)
			continue;
		n++;
		if (len > 8 && !strncasecmp(start, "ldaps://", 8))
			continue;
		if (len > 8 && !strncasecmp(start, "ldapi://", 8))
			continue; /* a local socket: nothing travels over a network */
		if (len > 7 && !strncasecmp(start, "ldap://", 7)) {
			if (c->starttls || c->allow_plain)
				continue;
			snprintf(err, errcap,
				 "url: %.*s is not encrypted: use ldaps://, set starttls, or set "
				 "allow_plain to accept clear text",
				 (int)len, start);
			return -EINVAL;
		}
		snprintf(err, errcap, "url: %.*s is no ldap://, ldaps:// or ldapi:// URL", (int)len,
			 start);
		return -EINVAL;
	}
	if (!n) {
		snprintf(err, errcap, "url: no directory configured");
		return -EINVAL;
	}
	return 0;
}

static int read_kind(struct lud_conf *c, const struct ucs_cfg_api *cfg, const struct ucs_cfg *sec,
		     int kind, const char *overrides[LUD_NFIELDS], char *err, size_t errcap)
{
	const struct ucs_cfg *k = cfg->object(sec, lud_kind_name(kind));
	const struct ucs_cfg *attrs = k ? cfg->object(k, "attributes") : NULL;
	const char *base = k ? cfg->get_string(k, "base") : NULL;
	const char *filter = k ? cfg->get_string(k, "filter") : NULL;
	int n;

	if (!base)
		base = cfg->get_string(sec, "base");
	n = lud_split_bases(base, &c->bases[kind]);
	if (n < 0) {
		snprintf(err, errcap, "%s.base: more than %d base DNs", lud_kind_name(kind),
			 LUD_BASES_MAX);
		return n;
	}
	if (!filter)
		filter = lud_default_filter(c->schema, kind);
	if (!filter_ok(filter)) {
		snprintf(err, errcap, "%s.filter: \"%s\" is not a parenthesised LDAP filter",
			 lud_kind_name(kind), filter);
		return -EINVAL;
	}
	c->filter[kind] = strdup(filter);
	if (!c->filter[kind])
		return -ENOMEM;
	for (int i = 0; attrs && i < LUD_NFIELDS; i++) {
		if (lud_fields[i].kind == kind)
			overrides[i] = cfg->get_string(attrs, lud_fields[i].key);
	}
	return 0;
}

static int get_int(const struct ucs_cfg_api *cfg, const struct ucs_cfg *sec, const char *key)
{
	int64_t v = 0;

	cfg->get_int(sec, key, &v);
	return (int)v;
}

static bool get_bool(const struct ucs_cfg_api *cfg, const struct ucs_cfg *sec, const char *key)
{
	int v = 0;

	cfg->get_bool(sec, key, &v);
	return v != 0;
}

int lud_conf_read(struct lud_conf *c, const struct ucs_cfg_api *cfg, const struct ucs_cfg *sec,
		  char *err, size_t errcap)
{
	const char *overrides[LUD_NFIELDS] = {0};
	const char *schema = cfg->get_string(sec, "schema");
	const char *pwfile = cfg->get_string(sec, "password_file");
	int rc;

	memset(c, 0, sizeof(*c));
	c->schema = schema && !strcmp(schema, "openldap") ? LUD_SCHEMA_OPENLDAP : LUD_SCHEMA_AD;
	c->url = dup_or_empty(cfg->get_string(sec, "url"));
	c->ca_file = dup_or_empty(cfg->get_string(sec, "ca_file"));
	c->bind_dn = dup_or_empty(cfg->get_string(sec, "bind_dn"));
	if (!c->url || !c->ca_file || !c->bind_dn) {
		rc = -ENOMEM;
		goto out;
	}
	c->starttls = get_bool(cfg, sec, "starttls");
	c->allow_plain = get_bool(cfg, sec, "allow_plain");
	c->tls_verify = get_bool(cfg, sec, "tls_verify");
	c->write_back = get_bool(cfg, sec, "write_back");
	c->bind_business = get_bool(cfg, sec, "bind_business");
	c->bind_business2 = get_bool(cfg, sec, "bind_business2");
	c->network_timeout_ms = get_int(cfg, sec, "network_timeout") * 1000;
	c->search_timeout_ms = get_int(cfg, sec, "search_timeout") * 1000;
	c->page_size = get_int(cfg, sec, "page_size");
	c->sync_interval_s = get_int(cfg, sec, "sync_interval");
	c->retry_max_s = get_int(cfg, sec, "retry_max");
	c->max_objects = get_int(cfg, sec, "max_objects");
	c->keep_deleted_days = get_int(cfg, sec, "keep_deleted_days");
	rc = check_url(c, err, errcap);
	if (rc)
		goto out;
	if (pwfile && *pwfile)
		rc = read_password_file(pwfile, &c->password, err, errcap);
	else
		c->password = dup_or_empty(cfg->get_string(sec, "password"));
	if (!rc && !c->password)
		rc = -ENOMEM;
	if (rc)
		goto out;
	if (*c->bind_dn && !*c->password) {
		snprintf(err, errcap, "bind_dn is set but no password (password or password_file)");
		rc = -EINVAL;
		goto out;
	}
	for (int k = 0; k < LUD_NKINDS && !rc; k++)
		rc = read_kind(c, cfg, sec, k, overrides, err, errcap);
	if (rc)
		goto out;
	rc = lud_map_init(&c->map, c->schema, overrides, err, errcap);
out:
	if (rc == -ENOMEM)
		snprintf(err, errcap, "out of memory");
	if (rc)
		lud_conf_free(c);
	return rc;
}

void lud_conf_free(struct lud_conf *c)
{
	free(c->url);
	free(c->ca_file);
	free(c->bind_dn);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	for (int k = 0; k < LUD_NKINDS; k++) {
		lud_strv_free(c->bases[k]);
		free(c->filter[k]);
	}
	lud_map_free(&c->map);
	memset(c, 0, sizeof(*c));
}
