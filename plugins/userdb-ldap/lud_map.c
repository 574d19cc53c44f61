/*
 * plugins/userdb-ldap/lud_map.c - which LDAP attribute feeds which field of
 * a user, group or computer document, and the conversion of one entry.
 *
 * Two default mappings: Active Directory (sAMAccountName, objectGUID,
 * thumbnailPhoto, memberOf, ...) and OpenLDAP's inetOrgPerson (uid,
 * entryUUID, jpegPhoto, groupOfNames/groupOfUniqueNames). Every field can
 * be pointed at other attributes in the configuration, or switched off
 * with "" - a private number the operator does not want anyone to see is
 * then simply empty (and stays read-only: the directory owns it).
 *
 * A field names one or more attributes ("displayName,cn"): the first one
 * the entry has is used. Phone numbers share attributes: inetOrgPerson has
 * one multi-valued telephoneNumber for business and business 2, Active
 * Directory has otherTelephone for business 2 and the further numbers. So
 * phone fields take their attribute's values in order - the first phone
 * field on an attribute gets its first value, the next one the second -
 * and "other_numbers" gets whatever is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lud.h"

#define DEF(ad, ol)    \
	{              \
		ad, ol \
	}

const struct lud_field lud_fields[] = {
	/* users */
	{LUD_USERS, "id", "id", LUD_F_ID, LUD_FF_REQUIRED, DEF("objectGUID", "entryUUID"),
	 "the stable id (objectGUID is turned into its textual form)"},
	{LUD_USERS, "login", "login", LUD_F_LOGIN, LUD_FF_REQUIRED, DEF("sAMAccountName", "uid"),
	 "the login name"},
	{LUD_USERS, "first_name", "first_name", LUD_F_TEXT, 0, DEF("givenName", "givenName"),
	 "first name"},
	{LUD_USERS, "last_name", "last_name", LUD_F_TEXT, 0, DEF("sn", "sn"), "last name"},
	{LUD_USERS, "display_name", "display_name", LUD_F_TEXT, 0,
	 DEF("displayName", "displayName,cn"), "display name"},
	{LUD_USERS, "email", "email", LUD_F_TEXT, 0, DEF("mail", "mail"), "e-mail address"},
	{LUD_USERS, "identity", "identity", LUD_F_TEXT, LUD_FF_LOCAL_WHEN_OFF, DEF("", ""),
	 "federation address; off: login@presence-domain or the local setting"},
	{LUD_USERS, "active", "active", LUD_F_ACCOUNT, LUD_FF_LOCAL_WHEN_OFF,
	 DEF("userAccountControl", ""),
	 "account control flags (disabled accounts are inactive); off: the local setting"},
	{LUD_USERS, "business", "phones.business", LUD_F_PHONE, LUD_FF_WRITABLE,
	 DEF("telephoneNumber", "telephoneNumber"), "business phone number"},
	{LUD_USERS, "business2", "phones.business2", LUD_F_PHONE, LUD_FF_WRITABLE,
	 DEF("otherTelephone", "telephoneNumber"), "business phone number 2"},
	{LUD_USERS, "private", "phones.private", LUD_F_PHONE, LUD_FF_WRITABLE,
	 DEF("homePhone", "homePhone"), "private phone number"},
	{LUD_USERS, "mobile", "phones.mobile", LUD_F_PHONE, LUD_FF_WRITABLE,
	 DEF("mobile", "mobile"), "mobile number"},
	{LUD_USERS, "pager", "phones.pager", LUD_F_PHONE, LUD_FF_WRITABLE, DEF("pager", "pager"),
	 "pager number"},
	{LUD_USERS, "fax", "phones.fax", LUD_F_PHONE, LUD_FF_WRITABLE,
	 DEF("facsimileTelephoneNumber", "facsimileTelephoneNumber"), "fax number"},
	{LUD_USERS, "other_numbers", "other_numbers", LUD_F_NUMBERS, 0,
	 DEF("otherTelephone", "telephoneNumber"),
	 "further numbers (the values the phone fields did not take)"},
	{LUD_USERS, "title", "contact.title", LUD_F_TEXT, 0, DEF("title", "title"), "job title"},
	{LUD_USERS, "company", "contact.company", LUD_F_TEXT, 0, DEF("company", "o"), "company"},
	{LUD_USERS, "department", "contact.department", LUD_F_TEXT, 0, DEF("department", "ou"),
	 "department"},
	{LUD_USERS, "office", "contact.office", LUD_F_TEXT, 0,
	 DEF("physicalDeliveryOfficeName", "roomNumber,physicalDeliveryOfficeName"), "office"},
	{LUD_USERS, "street", "contact.street", LUD_F_TEXT, 0, DEF("streetAddress", "street"),
	 "street"},
	{LUD_USERS, "postal_code", "contact.postal_code", LUD_F_TEXT, 0,
	 DEF("postalCode", "postalCode"), "postal code"},
	{LUD_USERS, "city", "contact.city", LUD_F_TEXT, 0, DEF("l", "l"), "city"},
	{LUD_USERS, "state", "contact.state", LUD_F_TEXT, 0, DEF("st", "st"), "state"},
	{LUD_USERS, "country", "contact.country", LUD_F_TEXT, 0, DEF("co", "c"), "country"},
	{LUD_USERS, "website", "contact.website", LUD_F_URI, 0, DEF("wWWHomePage", "labeledURI"),
	 "web site (of labeledURI the URI, without its label)"},
	/* off: the contact image is ucsd's own (set_picture), not the directory's */
	{LUD_USERS, "picture", "contact_image", LUD_F_PICTURE, LUD_FF_LOCAL_WHEN_OFF,
	 DEF("thumbnailPhoto", "jpegPhoto"), "the contact image (JPEG, PNG or GIF)"},
	{LUD_USERS, "member_of", NULL, LUD_F_DNS, 0, DEF("memberOf", "memberOf"),
	 "the DNs of the user's groups (the groups' member lists count too)"},
	/* groups */
	{LUD_GROUPS, "id", "id", LUD_F_ID, LUD_FF_REQUIRED, DEF("objectGUID", "entryUUID"),
	 "the stable id"},
	{LUD_GROUPS, "name", "name", LUD_F_GROUP_NAME, 0, DEF("cn", "cn"), "the group's name"},
	{LUD_GROUPS, "members", NULL, LUD_F_DNS, 0, DEF("member", "member,uniqueMember"),
	 "the DNs of the members (users; nested groups are not expanded)"},
	/* computers */
	{LUD_COMPUTERS, "name", "name", LUD_F_NAME, LUD_FF_REQUIRED, DEF("cn", "cn"),
	 "the computer's name (its id is the name in lower case)"},
	{-1, NULL, NULL, 0, 0, DEF(NULL, NULL), NULL},
};

_Static_assert(sizeof(lud_fields) / sizeof(lud_fields[0]) == LUD_NFIELDS + 1,
	       "LUD_NFIELDS is not the size of the field table");

int lud_ud_kind(int kind)
{
	static const int map[LUD_NKINDS] = {UCS_UD_USER, UCS_UD_GROUP, UCS_UD_COMPUTER};

	return kind >= 0 && kind < LUD_NKINDS ? map[kind] : 0;
}

const char *lud_kind_name(int kind)
{
	static const char *const names[LUD_NKINDS] = {"users", "groups", "computers"};

	return kind >= 0 && kind < LUD_NKINDS ? names[kind] : "?";
}

int lud_field_index(int kind, const char *key)
{
	for (int i = 0; lud_fields[i].key; i++) {
		if (lud_fields[i].kind == kind && !strcmp(lud_fields[i].key, key))
			return i;
	}
	return -1;
}

/* An attribute description: a name (letters, digits, '-') or an OID,
 * optionally with ";options". */
static int attr_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ';' || c == '_'))
			return 0;
	}
	return 1;
}

/* "a, b" -> {"a", "b", NULL}; "" -> {NULL}. */
static int split_attrs(const char *s, char ***out, char *err, size_t errcap, const char *key)
{
	char **v = calloc(9, sizeof(*v));
	size_t n = 0;
	int rc = 0;

	if (!v)
		return -ENOMEM;
	while (*s) {
		const char *start;
		size_t len;

		while (*s == ' ' || *s == ',')
			s++;
		start = s;
		while (*s && *s != ',' && *s != ' ')
			s++;
		len = (size_t)(s - start);
		if (!len)
			continue;
		if (n == 8) {
			snprintf(err, errcap, "%s: more than 8 attributes", key);
			rc = -EINVAL;
			goto out;
		}
		v[n] = strndup(start, len);
		if (!v[n]) {
			rc = -ENOMEM;
			goto out;
		}
		if (!attr_name_valid(v[n])) {
			snprintf(err, errcap, "%s: \"%s\" is not an attribute name", key, v[n]);
			rc = -EINVAL;
			n++;
			goto out;
		}
		n++;
	}
out:
	if (rc) {
		lud_strv_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int lud_map_init(struct lud_map *map, int schema, const char *const override[LUD_NFIELDS],
		 char *err, size_t errcap)
{
	int rc = 0;

	memset(map, 0, sizeof(*map));
	if (schema != LUD_SCHEMA_AD && schema != LUD_SCHEMA_OPENLDAP) {
		snprintf(err, errcap, "unknown schema %d", schema);
		return -EINVAL;
	}
	for (int i = 0; i < LUD_NFIELDS; i++) {
		const struct lud_field *f = &lud_fields[i];
		const char *spec = override && override[i] ? override[i] : f->def[schema];
		char key[64];

		snprintf(key, sizeof(key), "%s.attributes.%s", lud_kind_name(f->kind), f->key);
		rc = split_attrs(spec, &map->attrs[i], err, errcap, key);
		if (rc)
			goto out;
		if ((f->flags & LUD_FF_REQUIRED) && !map->attrs[i][0]) {
			snprintf(err, errcap, "%s: cannot be switched off", key);
			rc = -EINVAL;
			goto out;
		}
	}
out:
	if (rc)
		lud_map_free(map);
	return rc;
}

void lud_map_free(struct lud_map *map)
{
	for (int i = 0; i < LUD_NFIELDS; i++) {
		lud_strv_free(map->attrs[i]);
		map->attrs[i] = NULL;
	}
}

char **lud_map_attrs(const struct lud_map *map, int kind)
{
	char **v;
	size_t n = 0, cap = 8;

	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (int i = 0; i < LUD_NFIELDS; i++) {
		if (lud_fields[i].kind != kind)
			continue;
		for (char **a = map->attrs[i]; a && *a; a++) {
			bool dup = false;

			for (size_t j = 0; j < n && !dup; j++)
				dup = !strcasecmp(v[j], *a);
			if (dup)
				continue;
			if (n == cap) {
				char **nv = realloc(v, (cap * 2 + 1) * sizeof(*v));

				if (!nv)
					goto fail;
				v = nv;
				cap *= 2;
			}
			v[n] = strdup(*a);
			if (!v[n])
				goto fail;
			v[++n] = NULL;
		}
	}
	v[n] = NULL;
	return v;
fail:
	v[n] = NULL;
	lud_strv_free(v);
	return NULL;
}

/* ---- entries ---- */

/* Names of the same attribute type: a server answers with the name it
 * prefers (slapd returns "street" for a request of "streetAddress"). */
static const char *const aliases[][3] = {
	{"street", "streetAddress", NULL},
	{"l", "localityName", NULL},
	{"st", "stateOrProvinceName", NULL},
	{"c", "countryName", NULL},
	{"co", "friendlyCountryName", NULL},
	{"o", "organizationName", NULL},
	{"ou", "organizationalUnitName", NULL},
	{"cn", "commonName", NULL},
	{"sn", "surname", NULL},
	{"gn", "givenName", NULL},
	{"uid", "userid", NULL},
	{"mail", "rfc822Mailbox", NULL},
	{"homePhone", "homeTelephoneNumber", NULL},
	{"mobile", "mobileTelephoneNumber", NULL},
	{"pager", "pagerTelephoneNumber", NULL},
	{"facsimileTelephoneNumber", "fax", NULL},
};

/* An attribute description as returned ("member;range=0-1499") names the
 * type before its options. */
static int type_equal(const char *desc, const char *type)
{
	size_t n = strcspn(desc, ";");

	return strlen(type) == n && !strncasecmp(desc, type, n);
}

int lud_attr_same(const char *desc, const char *name)
{
	if (type_equal(desc, name))
		return 1;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		int in_a = 0, in_b = 0;

		for (int j = 0; aliases[i][j]; j++) {
			in_a |= type_equal(desc, aliases[i][j]);
			in_b |= !strcasecmp(name, aliases[i][j]);
		}
		if (in_a && in_b)
			return 1;
	}
	return 0;
}

static const struct lud_attr *find_attr(const struct lud_entry *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->attrs[i].name && e->attrs[i].n && lud_attr_same(e->attrs[i].name, name))
			return &e->attrs[i];
	}
	return NULL;
}

/* The first attribute of a field's list the entry has. */
static const struct lud_attr *field_attr(const struct lud_map *map, int fi,
					 const struct lud_entry *e)
{
	for (char **a = map->attrs[fi]; a && *a; a++) {
		const struct lud_attr *at = find_attr(e, *a);

		if (at)
			return at;
	}
	return NULL;
}

static void bad_value(struct lud_map_stats *st, const struct lud_entry *e, const char *attr,
		      const char *why)
{
	if (!st)
		return;
	if (st->bad_values++ == 0)
		snprintf(st->first_bad, sizeof(st->first_bad), "%.120s: %.60s: %s",
			 e->dn ? e->dn : "?", attr, why);
}

/* A value as a document text, or NULL (reported) when it cannot be one. */
static json_t *text_value(const struct lud_entry *e, const struct lud_attr *at,
			  const struct lud_val *v, int uri, struct lud_map_stats *st)
{
	size_t n = v->n;
	const char *p = v->p;

	if (!lud_utf8_valid(p, n)) {
		bad_value(st, e, at->name, "not UTF-8 text");
		return NULL;
	}
	/* directories keep surrounding blanks; a document does not need them */
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (uri) {
		for (size_t i = 0; i < n; i++) {
			if (p[i] == ' ' || p[i] == '\t') {
				n = i;
				break;
			}
		}
	}
	if (n > 1024) {
		bad_value(st, e, at->name, "longer than 1024 bytes");
		return NULL;
	}
	return json_stringn(p, n);
}

/* Sets doc[path] ("a" or "a.b") to v (reference taken). */
static int set_path(json_t *doc, const char *path, json_t *v)
{
	const char *dot = strchr(path, '.');
	json_t *sub;
	char head[32];

	if (!v)
		return -ENOMEM;
	if (!dot)
		return json_object_set_new(doc, path, v) ? -ENOMEM : 0;
	snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
	sub = json_object_get(doc, head);
	if (!sub) {
		sub = json_object();
		if (!sub || json_object_set_new(doc, head, sub)) {
			json_decref(v);
			return -ENOMEM;
		}
	}
	return json_object_set_new(sub, dot + 1, v) ? -ENOMEM : 0;
}

/* Values of attributes the phone fields have taken so far. */
struct cursor {
	const struct lud_attr *attr[LUD_NFIELDS];
	size_t used[LUD_NFIELDS];
	size_t n;
};

static size_t *cursor_of(struct cursor *c, const struct lud_attr *at)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->attr[i] == at)
			return &c->used[i];
	}
	c->attr[c->n] = at;
	c->used[c->n] = 0;
	return &c->used[c->n++];
}

static int map_dns(const struct lud_entry *e, const struct lud_attr *at, struct lud_obj *o,
		   struct lud_map_stats *st)
{
	size_t have = lud_strv_len(o->dns);
	char **v = realloc(o->dns, (have + at->n + 1) * sizeof(*v));
	char buf[1024];

	if (!v)
		return -ENOMEM;
	o->dns = v;
	v[have] = NULL;
	for (size_t i = 0; i < at->n; i++) {
		size_t n = at->vals[i].n;
		const char *p = at->vals[i].p;

		/* uniqueMember: "dn#'0101'B" carries an optional unique id */
		for (size_t j = n; j > 0; j--) {
			if (p[j - 1] == '#' && j >= 2 && p[j - 2] != '\\') {
				n = j - 1;
				break;
			}
		}
		if (!lud_utf8_valid(p, n) || lud_dn_norm(p, n, buf, sizeof(buf)) != 0) {
			bad_value(st, e, at->name, "not a usable DN");
			continue;
		}
		v[have] = strdup(buf);
		if (!v[have])
			return -ENOMEM;
		v[++have] = NULL;
	}
	return 0;
}

static int map_field(const struct lud_map *map, int fi, const struct lud_entry *e,
		     struct lud_obj *o, struct cursor *cur, struct lud_map_stats *st, char *err,
		     size_t errcap)
{
	const struct lud_field *f = &lud_fields[fi];
	const struct lud_attr *at;
	json_t *v = NULL;
	size_t *used;

	if (!map->attrs[fi] || !map->attrs[fi][0]) {
		/* switched off */
		if ((f->flags & LUD_FF_LOCAL_WHEN_OFF) || !f->path)
			return 0;
		if (f->type == LUD_F_NUMBERS)
			return set_path(o->doc, f->path, json_array());
		return set_path(o->doc, f->path, json_string(""));
	}
	at = field_attr(map, fi, e);
	switch (f->type) {
	case LUD_F_ID:
		if (!at || lud_id_from_value(at->name, at->vals[0].p, at->vals[0].n, o->id,
					     sizeof(o->id)) != 0) {
			snprintf(err, errcap, "%s", at ? "an unusable id" : "no id attribute");
			return -EINVAL;
		}
		return set_path(o->doc, "id", json_string(o->id));
	case LUD_F_NAME:
		if (!at || !(v = text_value(e, at, &at->vals[0], 0, st)) ||
		    lud_id_from_value(NULL, json_string_value(v), json_string_length(v), o->id,
				      sizeof(o->id)) != 0) {
			json_decref(v);
			snprintf(err, errcap, "%s", at ? "a name that is no valid id" : "no name");
			return -EINVAL;
		}
		if (set_path(o->doc, "id", json_string(o->id)))
			return -ENOMEM;
		return set_path(o->doc, f->path, v);
	case LUD_F_LOGIN:
		if (at)
			v = text_value(e, at, &at->vals[0], 0, st);
		if (!v || json_string_length(v) == 0) {
			json_decref(v);
			snprintf(err, errcap, "no usable login");
			return -EINVAL;
		}
		return set_path(o->doc, f->path, v);
	case LUD_F_TEXT:
	case LUD_F_URI:
	case LUD_F_GROUP_NAME:
		if (at)
			v = text_value(e, at, &at->vals[0], f->type == LUD_F_URI, st);
		return set_path(o->doc, f->path, v ? v : json_string(""));
	case LUD_F_PHONE:
		if (at) {
			used = cursor_of(cur, at);
			while (*used < at->n && !v)
				v = text_value(e, at, &at->vals[(*used)++], 0, st);
		}
		return set_path(o->doc, f->path, v ? v : json_string(""));
	case LUD_F_NUMBERS:
		v = json_array();
		if (!v)
			return -ENOMEM;
		if (at) {
			used = cursor_of(cur, at);
			for (; *used < at->n && json_array_size(v) < 1024; (*used)++) {
				json_t *s = text_value(e, at, &at->vals[*used], 0, st);

				if (s && json_string_length(s))
					json_array_append_new(v, s);
				else
					json_decref(s);
			}
		}
		return set_path(o->doc, f->path, v);
	case LUD_F_ACCOUNT: {
		char num[24];
		long long flags;
		char *end;

		if (!at || at->vals[0].n == 0 || at->vals[0].n >= sizeof(num)) {
			if (at)
				bad_value(st, e, at->name, "not a number");
			return set_path(o->doc, f->path, json_true());
		}
		memcpy(num, at->vals[0].p, at->vals[0].n);
		num[at->vals[0].n] = '\0';
		flags = strtoll(num, &end, 10);
		if (*end) {
			bad_value(st, e, at->name, "not a number");
			return set_path(o->doc, f->path, json_true());
		}
		/* ADS_UF_ACCOUNTDISABLE */
		return set_path(o->doc, f->path, json_boolean(!(flags & 2)));
	}
	case LUD_F_PICTURE:
		/* only its hash: the sync reads the data of the objects it keeps
		 * and decides once the image is scaled and stored */
		if (at && at->vals[0].n) {
			o->has_picture = 1;
			o->picture_hash = lud_hash64(at->vals[0].p, at->vals[0].n);
			o->picture_len = at->vals[0].n;
		}
		return set_path(o->doc, f->path, json_false());
	case LUD_F_DNS:
		/* every attribute of the list counts (member and uniqueMember) */
		for (char **a = map->attrs[fi]; *a; a++) {
			const struct lud_attr *x = find_attr(e, *a);
			int rc = x ? map_dns(e, x, o, st) : 0;

			if (rc)
				return rc;
		}
		return 0;
	}
	return 0;
}

int lud_map_entry(const struct lud_map *map, int kind, const struct lud_entry *e,
		  struct lud_obj *out, struct lud_map_stats *stats, char *err, size_t errcap)
{
	struct cursor cur = {0};
	char buf[1024];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (!e->dn || lud_dn_norm(e->dn, strlen(e->dn), buf, sizeof(buf)) != 0) {
		snprintf(err, errcap, "an unusable DN");
		return -EINVAL;
	}
	out->dn = strdup(e->dn);
	out->dn_norm = strdup(buf);
	out->doc = json_object();
	if (!out->dn || !out->dn_norm || !out->doc) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < LUD_NFIELDS && !rc; i++) {
		if (lud_fields[i].kind == kind)
			rc = map_field(map, i, e, out, &cur, stats, err, errcap);
	}
out:
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errcap, "out of memory");
		lud_obj_free(out);
	}
	return rc;
}

void lud_obj_free(struct lud_obj *o)
{
	if (!o)
		return;
	free(o->dn);
	free(o->dn_norm);
	json_decref(o->doc);
	lud_strv_free(o->dns);
	memset(o, 0, sizeof(*o));
}

const struct lud_val *lud_map_picture(const struct lud_map *map, const struct lud_entry *e)
{
	int fi = lud_field_index(LUD_USERS, "picture");
	const struct lud_attr *at = lud_map_has(map, fi) ? field_attr(map, fi, e) : NULL;

	return at && at->vals[0].n ? &at->vals[0] : NULL;
}

/* ---- phone numbers sharing an attribute ---- */

/* A value the mapping gives a phone field (text_value accepts it). */
static int phone_text(const struct lud_val *v)
{
	size_t n = v->n;
	const char *p = v->p;

	if (!lud_utf8_valid(p, n))
		return 0;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	return n <= 1024;
}

static const char *field_path(int fi)
{
	return lud_fields[fi].path ? lud_fields[fi].path : lud_fields[fi].key;
}

int lud_phone_values(const struct lud_map *map, const struct lud_val *cur, size_t ncur,
		     const struct lud_phone_change *ch, size_t nch, struct lud_val **out,
		     size_t *nout, char *err, size_t errcap)
{
	int slot_field[LUD_NFIELDS], changed[LUD_NFIELDS] = {0};
	struct lud_val slot[LUD_NFIELDS];
	size_t nslots = 0, used = 0, n = 0, rest = 0;
	struct lud_val *v = NULL;
	const char *attr;
	int gap = -1, after = -1;

	*out = NULL;
	*nout = 0;
	if (!nch || ch[0].field < 0 || ch[0].field >= LUD_NFIELDS ||
	    !lud_map_has(map, ch[0].field)) {
		snprintf(err, errcap, "the field has no attribute");
		return -EROFS;
	}
	attr = map->attrs[ch[0].field][0];
	/* the fields on the attribute, in the order the mapping fills them */
	for (int i = 0; i < LUD_NFIELDS; i++) {
		if (lud_fields[i].kind != LUD_USERS || lud_fields[i].type != LUD_F_PHONE ||
		    !lud_map_has(map, i) || strcasecmp(map->attrs[i][0], attr))
			continue;
		slot_field[nslots] = i;
		/* the next value that is text, as lud_map_entry takes it */
		while (used < ncur && !phone_text(&cur[used]))
			used++;
		slot[nslots++] = used < ncur ? cur[used++] : (struct lud_val){"", 0};
	}
	for (size_t c = 0; c < nch; c++) {
		size_t k = 0;

		while (k < nslots && slot_field[k] != ch[c].field)
			k++;
		if (k == nslots || !ch[c].value) {
			snprintf(err, errcap, "%s: does not share %s", field_path(ch[c].field),
				 attr);
			return -EINVAL;
		}
		slot[k] = (struct lud_val){ch[c].value, strlen(ch[c].value)};
		/* the mapping would skip it and give its place to the next value */
		if (slot[k].n && !phone_text(&slot[k])) {
			snprintf(err, errcap, "%s: not a usable number", field_path(ch[c].field));
			return -EINVAL;
		}
		changed[k] = 1;
	}
	/* the values the fields did not take and the mapping would give the
	 * further numbers (or no field) */
	for (size_t i = used; i < ncur; i++)
		rest += (size_t)phone_text(&cur[i]);
	/* an empty field before a value would take that value */
	for (size_t k = 0; k < nslots && gap < 0; k++) {
		if (slot[k].n)
			continue;
		for (size_t j = k + 1; j < nslots && after < 0; j++) {
			if (slot[j].n)
				after = (int)j;
		}
		if (after >= 0 || rest)
			gap = (int)k;
	}
	if (gap >= 0) {
		const char *g = field_path(slot_field[gap]);

		if (after >= 0 && !changed[gap])
			snprintf(err, errcap,
				 "%s cannot be set while %s is empty: they share %s, where a "
				 "number's position decides its field (set %s first, or both at "
				 "once)",
				 field_path(slot_field[after]), g, attr, g);
		else if (after >= 0)
			snprintf(err, errcap,
				 "%s cannot be cleared: %s follows it in %s, where a number's "
				 "position decides its field (clear %s first, or move its number "
				 "to %s)",
				 g, field_path(slot_field[after]), attr,
				 field_path(slot_field[after]), g);
		else
			snprintf(err, errcap,
				 "%s cannot be cleared: further numbers follow it in %s, where a "
				 "number's position decides its field",
				 g, attr);
		return -EINVAL;
	}
	v = calloc(ncur + nslots + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < nslots; k++) {
		if (slot[k].n)
			v[n++] = slot[k];
	}
	/* then the rest in its order, and the values that are no text (no
	 * field shows them, none is lost) */
	for (size_t i = used; i < ncur; i++)
		v[n++] = cur[i];
	for (size_t i = 0; i < used; i++) {
		if (!phone_text(&cur[i]))
			v[n++] = cur[i];
	}
	*out = v;
	*nout = n;
	return 0;
}
