/*
 * plugins/userdb-ldap/tests/test_map.c - the mapping of directory entries
 * to directory documents, and the text helpers under it: base DN lists, DN
 * normalisation, objectGUID/entryUUID ids, UTF-8, shared phone attributes,
 * switched-off fields, bad values, the limit's ranking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lud.h"
#include "udb.h"

#define V(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}
#define A(name, ...)                                                                           \
	{                                                                                      \
		name, (const struct lud_val[]){__VA_ARGS__},                                   \
			sizeof((const struct lud_val[]){__VA_ARGS__}) / sizeof(struct lud_val) \
	}

static void test_bases(void)
{
	char **v = NULL;

	CHECK_INT(lud_split_bases(" ou=a,dc=x ; ;ou=b\\;c,dc=x;", &v), ==, 2);
	CHECK_STR(v[0], "ou=a,dc=x");
	CHECK_STR(v[1], "ou=b\\;c,dc=x");
	CHECK(v[2] == NULL);
	lud_strv_free(v);
	CHECK_INT(lud_split_bases("", &v), ==, 0);
	CHECK(v && v[0] == NULL);
	lud_strv_free(v);
	CHECK_INT(lud_split_bases(NULL, &v), ==, 0);
	lud_strv_free(v);
	/* a trailing escaped blank is part of the DN */
	CHECK_INT(lud_split_bases("cn=x\\ ;", &v), ==, 1);
	CHECK_STR(v[0], "cn=x\\ ");
	lud_strv_free(v);
	{
		char many[LUD_BASES_MAX * 4 + 16] = "";

		for (int i = 0; i <= LUD_BASES_MAX; i++)
			strcat(many, "o=x;");
		CHECK_INT(lud_split_bases(many, &v), ==, -EINVAL);
	}
}

static void test_dn(void)
{
	char out[128];
	const char *a = "UID=Bob, OU=People,  DC=example ,DC=com";

	CHECK_INT(lud_dn_norm(a, strlen(a), out, sizeof(out)), ==, 0);
	CHECK_STR(out, "uid=bob,ou=people,dc=example,dc=com");
	a = "cn=Smith\\, John + uid = js;o=X";
	CHECK_INT(lud_dn_norm(a, strlen(a), out, sizeof(out)), ==, 0);
	CHECK_STR(out, "cn=smith\\, john+uid=js,o=x");
	CHECK_INT(lud_dn_norm("   ", 3, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lud_dn_norm("cn=x\\", 5, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lud_dn_norm("cn=x\0y", 6, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lud_dn_norm("cn=abcdef", 9, out, 5), ==, -ENOSPC);
}

static void test_ids(void)
{
	/* {3F2504E0-4F89-11D3-9A0C-0305E82C3301} as AD stores it */
	static const unsigned char guid[16] = {0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11,
					       0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01};
	char out[129];

	CHECK_INT(lud_id_from_value("objectGUID", guid, 16, out, sizeof(out)), ==, 0);
	CHECK_STR(out, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
	CHECK_INT(lud_id_from_value("objectguid", guid, 16, out, sizeof(out)), ==, 0);
	CHECK_INT(lud_id_from_value("entryUUID", "4F85E21A-7dbf-1041-8806-015045ac804e", 36, out,
				    sizeof(out)),
		  ==, 0);
	CHECK_STR(out, "4f85e21a-7dbf-1041-8806-015045ac804e");
	/* 16 bytes of another attribute are text, and this text is no id */
	CHECK_INT(lud_id_from_value("entryUUID", guid, 16, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lud_id_from_value("x", "a b", 3, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lud_id_from_value("x", "", 0, out, sizeof(out)), ==, -EINVAL);
	{
		char long_id[130];

		memset(long_id, 'a', sizeof(long_id));
		CHECK_INT(lud_id_from_value("x", long_id, UDB_ID_MAX + 1, out, sizeof(out)), ==,
			  -EINVAL);
		CHECK_INT(lud_id_from_value("x", long_id, UDB_ID_MAX, out, sizeof(out)), ==, 0);
	}
}

static void test_utf8(void)
{
	CHECK(lud_utf8_valid("Stra\xc3\x9f"
			     "e",
			     7));
	CHECK(lud_utf8_valid("\xe2\x82\xac \xf0\x9f\x98\x80", 8));
	CHECK(!lud_utf8_valid("\xc3", 1));	       /* cut */
	CHECK(!lud_utf8_valid("\xc0\xaf", 2));	       /* overlong */
	CHECK(!lud_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!lud_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!lud_utf8_valid("a\0b", 3));
	CHECK(!lud_utf8_valid("\xff", 1));
	CHECK(lud_utf8_valid("", 0));
}

static json_t *path(const json_t *doc, const char *p)
{
	return (json_t *)udb_doc_get_path(doc, p);
}

static const char *str(const json_t *doc, const char *p)
{
	const char *s = json_string_value(path(doc, p));

	return s ? s : "(absent)";
}

static void test_defaults(void)
{
	struct lud_map ad, ol;
	char err[256];
	char **attrs;

	CHECK_INT(lud_map_init(&ad, LUD_SCHEMA_AD, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_init(&ol, LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)), ==, 0);
	CHECK_STR(ad.attrs[lud_field_index(LUD_USERS, "login")][0], "sAMAccountName");
	CHECK_STR(ol.attrs[lud_field_index(LUD_USERS, "login")][0], "uid");
	CHECK_STR(ad.attrs[lud_field_index(LUD_USERS, "id")][0], "objectGUID");
	CHECK_STR(ol.attrs[lud_field_index(LUD_GROUPS, "id")][0], "entryUUID");
	CHECK_STR(ol.attrs[lud_field_index(LUD_GROUPS, "members")][1], "uniqueMember");
	CHECK(!lud_map_has(&ad, lud_field_index(LUD_USERS, "identity")));
	CHECK(lud_map_has(&ad, lud_field_index(LUD_USERS, "active")));
	CHECK(!lud_map_has(&ol, lud_field_index(LUD_USERS, "active")));
	CHECK_INT(lud_field_index(LUD_USERS, "nope"), ==, -1);
	CHECK_INT(lud_field_index(LUD_GROUPS, "login"), ==, -1);
	/* the search asks for each attribute once */
	attrs = lud_map_attrs(&ol, LUD_USERS);
	CHECK(attrs != NULL);
	{
		size_t tel = 0, n = lud_strv_len(attrs);

		for (size_t i = 0; i < n; i++)
			tel += !strcmp(attrs[i], "telephoneNumber");
		CHECK_INT(tel, ==, 1);
		CHECK_INT(n, >=, 20);
	}
	lud_strv_free(attrs);
	attrs = lud_map_attrs(&ad, LUD_COMPUTERS);
	CHECK_INT(lud_strv_len(attrs), ==, 1);
	CHECK_STR(attrs[0], "cn");
	lud_strv_free(attrs);
	lud_map_free(&ad);
	lud_map_free(&ol);
	CHECK_STR(lud_default_filter(LUD_SCHEMA_AD, LUD_USERS),
		  "(&(objectCategory=person)(objectClass=user))");
	CHECK_STR(lud_default_filter(LUD_SCHEMA_OPENLDAP, LUD_GROUPS),
		  "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))");
	CHECK(lud_default_filter(2, LUD_USERS) == NULL);
}

static void test_overrides(void)
{
	const char *over[LUD_NFIELDS] = {0};
	struct lud_map m;
	char err[256];

	over[lud_field_index(LUD_USERS, "private")] = "";
	over[lud_field_index(LUD_USERS, "mobile")] = "mobile, otherMobile";
	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_AD, over, err, sizeof(err)), ==, 0);
	CHECK(!lud_map_has(&m, lud_field_index(LUD_USERS, "private")));
	CHECK_STR(m.attrs[lud_field_index(LUD_USERS, "mobile")][1], "otherMobile");
	lud_map_free(&m);
	over[lud_field_index(LUD_USERS, "mobile")] = "mob ile(";
	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_AD, over, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "users.attributes.mobile: \"ile(\" is not an attribute name");
	over[lud_field_index(LUD_USERS, "mobile")] = NULL;
	over[lud_field_index(LUD_USERS, "login")] = "";
	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_AD, over, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "users.attributes.login: cannot be switched off");
	CHECK_INT(lud_map_init(&m, 7, NULL, err, sizeof(err)), ==, -EINVAL);
}

static void test_openldap_user(void)
{
	static const unsigned char pic[] = {0x89, 'P', 'N', 'G'};
	const struct lud_attr attrs[] = {
		A("entryUUID", V("4F85E21A-7dbf-1041-8806-015045ac804e")),
		A("uid", V("alice")),
		A("cn", V("Alice Archer")),
		A("givenName", V("Alice")),
		A("sn", V("Archer")),
		A("telephoneNumber", V("+49 1"), V("+49 2"), V("+49 3"), V("+49 4")),
		A("homePhone", V("\xff bad"), V("089 2")),
		A("street", V("  Hauptstrasse 1 \r\n")),
		A("labeledURI", V("https://x.example/a  my page")),
		A("roomNumber", V("R 1")),
		A("physicalDeliveryOfficeName", V("ignored, roomNumber wins")),
		A("jpegPhoto", {(const char *)pic, sizeof(pic)}),
		A("memberOf", V("CN=Sales, OU=Groups,DC=x"), V("\xff")),
	};
	struct lud_entry e = {"uid=alice,ou=People,dc=x", attrs, sizeof(attrs) / sizeof(*attrs)};
	struct lud_map_stats st = {0};
	struct lud_map m;
	struct lud_obj o;
	char err[256];

	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, &st, err, sizeof(err)), ==, 0);
	CHECK_STR(o.id, "4f85e21a-7dbf-1041-8806-015045ac804e");
	CHECK_STR(str(o.doc, "id"), o.id);
	CHECK_STR(o.dn_norm, "uid=alice,ou=people,dc=x");
	CHECK_STR(str(o.doc, "login"), "alice");
	CHECK_STR(str(o.doc, "display_name"), "Alice Archer"); /* displayName absent: cn */
	CHECK_STR(str(o.doc, "phones.business"), "+49 1");
	CHECK_STR(str(o.doc, "phones.business2"), "+49 2");
	CHECK_STR(str(o.doc, "phones.private"), "089 2"); /* the bad first value skipped */
	CHECK_STR(str(o.doc, "phones.mobile"), "");
	{
		json_t *other = path(o.doc, "other_numbers");

		CHECK_INT(json_array_size(other), ==, 2);
		CHECK_STR(json_string_value(json_array_get(other, 0)), "+49 3");
		CHECK_STR(json_string_value(json_array_get(other, 1)), "+49 4");
	}
	CHECK_STR(str(o.doc, "contact.street"), "Hauptstrasse 1");
	CHECK_STR(str(o.doc, "contact.website"), "https://x.example/a");
	CHECK_STR(str(o.doc, "contact.office"), "R 1");
	CHECK_STR(str(o.doc, "contact.country"), "");
	CHECK(path(o.doc, "identity") == NULL); /* off: ucsd's default applies */
	CHECK(path(o.doc, "active") == NULL);
	CHECK(json_is_false(path(o.doc, "contact_image"))); /* the sync stores it */
	/* only the hash of the image is kept (the limit applies later) */
	CHECK(o.has_picture);
	CHECK(o.picture_hash == lud_hash64(pic, sizeof(pic)));
	CHECK_INT(o.picture_len, ==, sizeof(pic));
	CHECK(lud_map_picture(&m, &e) && lud_map_picture(&m, &e)->p == (const char *)pic);
	CHECK(o.dns && o.dns[0] && !o.dns[1]);
	CHECK_STR(o.dns[0], "cn=sales,ou=groups,dc=x");
	CHECK_INT(st.bad_values, ==, 2);
	CHECK_CONTAINS(st.first_bad, "uid=alice,ou=People,dc=x: homePhone: not UTF-8 text");
	/* the directory document is a valid stored form once laid over defaults */
	{
		struct udb_ctx ctx = {"example.com", UDB_STORED};
		json_t *cand = udb_doc_overlay(UCS_UD_USER, NULL, o.doc), *canon = NULL;

		json_object_set_new(cand, "dn", json_string(o.dn));
		CHECK_INT(udb_doc_canon(UCS_UD_USER, cand, &ctx, &canon, NULL, err, sizeof(err)),
			  ==, 0);
		json_decref(cand);
		json_decref(canon);
	}
	lud_obj_free(&o);
	lud_map_free(&m);
}

/* The picture switched off: the contact image is not the directory's
 * (no "contact_image" key: ucsd's own, set through set_picture), while a
 * switched-off text field stays owned and empty. */
static void test_picture_off(void)
{
	static const unsigned char pic[] = {0x89, 'P', 'N', 'G'};
	const struct lud_attr attrs[] = {
		A("entryUUID", V("4f85e21a-7dbf-1041-8806-015045ac804f")),
		A("uid", V("bob")),
		A("homePhone", V("089 1")),
		A("jpegPhoto", {(const char *)pic, sizeof(pic)}),
	};
	struct lud_entry e = {"uid=bob,dc=x", attrs, sizeof(attrs) / sizeof(*attrs)};
	const char *over[LUD_NFIELDS] = {0};
	struct lud_map m;
	struct lud_obj o;
	char err[256];

	over[lud_field_index(LUD_USERS, "picture")] = "";
	over[lud_field_index(LUD_USERS, "private")] = "";
	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_OPENLDAP, over, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, NULL, err, sizeof(err)), ==, 0);
	CHECK(path(o.doc, "contact_image") == NULL);
	CHECK(!o.has_picture);
	CHECK(lud_map_picture(&m, &e) == NULL);
	CHECK_STR(str(o.doc, "phones.private"), "");
	lud_obj_free(&o);
	lud_map_free(&m);
}

static void test_ad_user(void)
{
	static const unsigned char guid[16] = {0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11,
					       0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01};
	const struct lud_attr attrs[] = {
		A("objectGUID", {(const char *)guid, 16}),
		A("sAMAccountName", V("Alice")),
		A("userAccountControl", V("514")),
		A("telephoneNumber", V("111")),
		A("otherTelephone", V("222"), V("333")),
		A("street", V("Weg 2")), /* slapd's name for streetAddress */
		A("co", V("Germany")),
		A("wWWHomePage", V("https://a b")), /* AD keeps it as is: no label */
	};
	struct lud_entry e = {"CN=Alice,CN=Users,DC=x", attrs, sizeof(attrs) / sizeof(*attrs)};
	struct lud_map m;
	struct lud_obj o;
	char err[256];

	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_AD, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, NULL, err, sizeof(err)), ==, 0);
	CHECK_STR(o.id, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
	CHECK_STR(str(o.doc, "login"), "Alice");
	CHECK(json_is_false(path(o.doc, "active"))); /* ACCOUNTDISABLE */
	CHECK_STR(str(o.doc, "phones.business"), "111");
	CHECK_STR(str(o.doc, "phones.business2"), "222");
	CHECK_INT(json_array_size(path(o.doc, "other_numbers")), ==, 1);
	CHECK_STR(str(o.doc, "contact.street"), "Weg 2");
	CHECK_STR(str(o.doc, "contact.country"), "Germany");
	lud_obj_free(&o);
	/* enabled; a broken flag word counts as a bad value and stays active */
	{
		const struct lud_attr a2[] = {
			A("objectGUID", {(const char *)guid, 16}),
			A("sAMAccountName", V("b")),
			A("userAccountControl", V("512x")),
		};
		struct lud_entry e2 = {"cn=b", a2, 3};
		struct lud_map_stats st = {0};

		CHECK_INT(lud_map_entry(&m, LUD_USERS, &e2, &o, &st, err, sizeof(err)), ==, 0);
		CHECK(json_is_true(path(o.doc, "active")));
		CHECK_INT(st.bad_values, ==, 1);
		lud_obj_free(&o);
	}
	lud_map_free(&m);
}

static void test_rejects(void)
{
	const struct lud_attr no_login[] = {A("entryUUID", V("abc"))};
	const struct lud_attr bad_id[] = {A("entryUUID", V("has blank")), A("uid", V("x"))};
	const struct lud_attr blank_login[] = {A("entryUUID", V("abc")), A("uid", V("   "))};
	const struct lud_attr pc_bad[] = {A("cn", V("PC 01"))};
	struct lud_entry e = {"uid=x,dc=y", no_login, 1};
	struct lud_map m;
	struct lud_obj o;
	char err[256];

	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, NULL, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "no usable login");
	e.attrs = bad_id;
	e.n = 2;
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, NULL, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "an unusable id");
	e.attrs = blank_login;
	CHECK_INT(lud_map_entry(&m, LUD_USERS, &e, &o, NULL, err, sizeof(err)), ==, -EINVAL);
	e.attrs = pc_bad;
	e.n = 1;
	CHECK_INT(lud_map_entry(&m, LUD_COMPUTERS, &e, &o, NULL, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "a name that is no valid id");
	e.dn = "";
	CHECK_INT(lud_map_entry(&m, LUD_COMPUTERS, &e, &o, NULL, err, sizeof(err)), ==, -EINVAL);
	lud_map_free(&m);
}

static void test_group_and_computer(void)
{
	const struct lud_attr g[] = {
		A("entryUUID", V("g1")),
		A("cn", V("Sales")),
		A("member", V("uid=a,dc=x")),
		A("uniqueMember", V("UID=B, DC=X#'0101'B"), V("uid=c\\#1,dc=x")),
	};
	const struct lud_attr c[] = {A("cn", V("PC-01"))};
	struct lud_entry e = {"cn=Sales,dc=x", g, 4};
	struct lud_map m;
	struct lud_obj o;
	char err[256];

	CHECK_INT(lud_map_init(&m, LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_entry(&m, LUD_GROUPS, &e, &o, NULL, err, sizeof(err)), ==, 0);
	CHECK_STR(str(o.doc, "name"), "Sales");
	CHECK_INT(lud_strv_len(o.dns), ==, 3);
	CHECK_STR(o.dns[0], "uid=a,dc=x");
	CHECK_STR(o.dns[1], "uid=b,dc=x");
	CHECK_STR(o.dns[2], "uid=c\\#1,dc=x");
	CHECK(path(o.doc, "members") == NULL); /* the sync resolves DNs to ids */
	lud_obj_free(&o);
	e.attrs = c;
	e.n = 1;
	CHECK_INT(lud_map_entry(&m, LUD_COMPUTERS, &e, &o, NULL, err, sizeof(err)), ==, 0);
	CHECK_STR(o.id, "pc-01");
	CHECK_STR(str(o.doc, "name"), "PC-01");
	lud_obj_free(&o);
	lud_map_free(&m);
}

static struct lud_obj *obj(int kind, const char *id, const char *dn)
{
	struct lud_obj *o = calloc(1, sizeof(*o));

	o->kind = kind;
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->dn_norm = strdup(dn);
	return o;
}

static void test_rank(void)
{
	struct lud_obj *v[5];
	struct udb_docs prev;

	v[0] = obj(LUD_GROUPS, "g", "cn=a");
	v[1] = obj(LUD_USERS, "u2", "uid=b");
	v[2] = obj(LUD_COMPUTERS, "c", "cn=0");
	v[3] = obj(LUD_USERS, "u1", "uid=a");
	v[4] = obj(LUD_USERS, "u9", "uid=z");
	lud_sync_rank(v, 5, NULL);
	CHECK_STR(v[0]->id, "u1");
	CHECK_STR(v[1]->id, "u2");
	CHECK_STR(v[2]->id, "u9");
	CHECK_STR(v[3]->id, "g");
	CHECK_STR(v[4]->id, "c");
	/* known objects first, whatever their kind and DN */
	CHECK_INT(udb_docs_init(&prev), ==, 0);
	json_object_set_new(prev.kind[UCS_UD_USER], "u9", json_object());
	json_object_set_new(prev.kind[UCS_UD_COMPUTER], "c", json_object());
	json_object_set_new(prev.kind[UCS_UD_GROUP], "u1", json_object()); /* another kind */
	lud_sync_rank(v, 5, &prev);
	CHECK_STR(v[0]->id, "u9");
	CHECK_STR(v[1]->id, "c");
	CHECK_STR(v[2]->id, "u1");
	CHECK_STR(v[3]->id, "u2");
	CHECK_STR(v[4]->id, "g");
	udb_docs_clear(&prev);
	for (int i = 0; i < 5; i++) {
		lud_obj_free(v[i]);
		free(v[i]);
	}
}

/* The values a write-back makes of an attribute the phone fields share. */
static int phone_case(const struct lud_map *m, const struct lud_val *cur, size_t ncur,
		      const struct lud_phone_change *ch, size_t nch, const char *want, char *err,
		      size_t errcap)
{
	struct lud_val *out = NULL;
	size_t n = 0;
	char got[512] = "";
	int rc = lud_phone_values(m, cur, ncur, ch, nch, &out, &n, err, errcap);

	for (size_t i = 0; !rc && i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s[%.*s]", i ? " " : "",
			 (int)out[i].n, out[i].p);
	if (!rc)
		CHECK_STR(got, want);
	free(out);
	return rc;
}

static void test_phone_values(void)
{
	const int b1 = lud_field_index(LUD_USERS, "business"),
		  b2 = lud_field_index(LUD_USERS, "business2"),
		  mob = lud_field_index(LUD_USERS, "mobile");
	const struct lud_val two[] = {V("111"), V("222")},
			     four[] = {V("1"), V("2"), V("3"), V("4")},
			     bad[] = {V("\xff"), V("111"), V("222")}, one[] = {V("111")};
	struct lud_map ol, ad;
	char err[512];

	CHECK_INT(lud_map_init(&ol, LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)), ==, 0);
	CHECK_INT(lud_map_init(&ad, LUD_SCHEMA_AD, NULL, err, sizeof(err)), ==, 0);
	/* OpenLDAP: business and business 2 are telephoneNumber's 1st and 2nd */
	CHECK_INT(phone_case(&ol, two, 2, (struct lud_phone_change[]){{b1, "999"}}, 1,
			     "[999] [222]", err, sizeof(err)),
		  ==, 0);
	CHECK_INT(phone_case(&ol, two, 2, (struct lud_phone_change[]){{b2, "999"}}, 1,
			     "[111] [999]", err, sizeof(err)),
		  ==, 0);
	CHECK_INT(phone_case(&ol, two, 2, (struct lud_phone_change[]){{b2, ""}}, 1, "[111]", err,
			     sizeof(err)),
		  ==, 0);
	/* the further numbers stay behind, in their order */
	CHECK_INT(phone_case(&ol, four, 4, (struct lud_phone_change[]){{b2, "9"}}, 1,
			     "[1] [9] [3] [4]", err, sizeof(err)),
		  ==, 0);
	/* clearing business would make business 2 the business number */
	CHECK_INT(phone_case(&ol, two, 2, (struct lud_phone_change[]){{b1, ""}}, 1, "", err,
			     sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "phones.business cannot be cleared: phones.business2 follows it in "
			    "telephoneNumber");
	/* ... unless both go */
	CHECK_INT(phone_case(&ol, two, 2, (struct lud_phone_change[]){{b1, ""}, {b2, ""}}, 2, "",
			     err, sizeof(err)),
		  ==, 0);
	/* business 2 alone would be read as business */
	CHECK_INT(phone_case(&ol, NULL, 0, (struct lud_phone_change[]){{b2, "222"}}, 1, "", err,
			     sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "phones.business2 cannot be set while phones.business is empty");
	CHECK_INT(phone_case(&ol, NULL, 0, (struct lud_phone_change[]){{b2, "2"}, {b1, "1"}}, 2,
			     "[1] [2]", err, sizeof(err)),
		  ==, 0);
	CHECK_INT(phone_case(&ol, one, 1, (struct lud_phone_change[]){{b2, "2"}}, 1, "[111] [2]",
			     err, sizeof(err)),
		  ==, 0);
	/* business 2 with further numbers behind it */
	CHECK_INT(phone_case(&ol, four, 4, (struct lud_phone_change[]){{b1, ""}, {b2, ""}}, 2, "",
			     err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "phones.business cannot be cleared: further numbers follow it in "
			    "telephoneNumber");
	/* a value that is no text is skipped by the mapping and kept */
	CHECK_INT(phone_case(&ol, bad, 3, (struct lud_phone_change[]){{b1, "9"}}, 1,
			     "[9] [222] [\xff]", err, sizeof(err)),
		  ==, 0);
	/* AD: business 2 is otherTelephone's first value, the rest further numbers */
	CHECK_INT(phone_case(&ad, two, 2, (struct lud_phone_change[]){{b2, "9"}}, 1, "[9] [222]",
			     err, sizeof(err)),
		  ==, 0);
	CHECK_INT(phone_case(&ad, two, 2, (struct lud_phone_change[]){{b2, ""}}, 1, "", err,
			     sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "further numbers follow it in otherTelephone");
	CHECK_INT(phone_case(&ad, one, 1, (struct lud_phone_change[]){{b1, ""}}, 1, "", err,
			     sizeof(err)),
		  ==, 0);
	/* a field alone on its attribute; other values of it stay */
	CHECK_INT(phone_case(&ol, one, 1, (struct lud_phone_change[]){{mob, "0171"}}, 1, "[0171]",
			     err, sizeof(err)),
		  ==, 0);
	/* fields on different attributes are not one write */
	CHECK_INT(phone_case(&ol, one, 1, (struct lud_phone_change[]){{b1, "1"}, {mob, "2"}}, 2, "",
			     err, sizeof(err)),
		  ==, -EINVAL);
	lud_map_free(&ol);
	lud_map_free(&ad);
}

int main(void)
{
	test_bases();
	test_dn();
	test_ids();
	test_utf8();
	test_defaults();
	test_overrides();
	test_openldap_user();
	test_ad_user();
	test_picture_off();
	test_rejects();
	test_group_and_computer();
	test_rank();
	test_phone_values();
	return check_report();
}
