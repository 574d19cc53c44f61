/*
 * plugins/userdb-common/tests/test_doc.c - the document model of
 * userdb-common (udb_doc.c): every kind's defaults, every error path with
 * its JSON path in the message, the stored form's computed defaults, the
 * read form, and directory overlays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "udb.h"

static const struct udb_ctx file_ctx = {"example.com", UDB_ID_IS_NAME};
static const struct udb_ctx stored_ctx = {"example.com", UDB_ID_IS_NAME | UDB_STORED};
static const struct udb_ctx dir_ctx = {"example.com", 0};
static const struct udb_ctx dir_stored_ctx = {"example.com", UDB_STORED};

/* Validates text; returns the stored form as compact JSON (static buffer)
 * or "ERR <errno>: <message>". */
static const char *canon(int kind, const char *text, const struct udb_ctx *ctx,
			 struct udb_doc_meta *meta)
{
	static char out[16384];
	char err[512];
	json_t *doc = NULL;
	int rc = udb_doc_canon_text(kind, text, strlen(text), ctx, &doc, meta, err, sizeof(err));

	if (rc) {
		snprintf(out, sizeof(out), "ERR %d: %s", rc, err);
	} else {
		char *s = json_dumps(doc, JSON_COMPACT);
		snprintf(out, sizeof(out), "%s", s ? s : "(null)");
		free(s);
	}
	json_decref(doc);
	return out;
}

static void check_error(int kind, const char *text, const char *expect)
{
	struct udb_doc_meta meta;
	const char *got = canon(kind, text, &file_ctx, &meta);
	char want[600];

	snprintf(want, sizeof(want), "ERR %d: %s", -EINVAL, expect);
	CHECK_STR(got, want);
	CHECK(meta.groups == NULL);
}

static void test_defaults(void)
{
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"alice\"}", &file_ctx, NULL),
		  "{\"id\":\"alice\",\"login\":\"alice\",\"identity\":\"\",\"first_name\":\"\","
		  "\"last_name\":\"\",\"display_name\":\"\",\"profile\":\"\",\"email\":\"\","
		  "\"active\":true,\"voice_services\":false,\"phones\":{\"business\":\"\","
		  "\"business2\":\"\",\"private\":\"\",\"mobile\":\"\",\"pager\":\"\","
		  "\"mailbox\":\"\",\"recording\":\"\",\"fax\":\"\"},\"other_numbers\":[],"
		  "\"first_phone\":\"\",\"second_phone\":\"\",\"other_lines\":[],"
		  "\"extra_lines\":[],\"contact\":{\"title\":\"\",\"company\":\"\","
		  "\"department\":\"\",\"office\":\"\",\"street\":\"\",\"postal_code\":\"\","
		  "\"city\":\"\",\"state\":\"\",\"country\":\"\",\"website\":\"\"},"
		  "\"services\":[],\"grants\":[],\"dn\":\"\",\"contact_image\":false,"
		  "\"profile_picture\":false,\"password_hash\":\"\"}");
	CHECK_STR(canon(UCS_UD_GROUP, "{\"id\":\"sales\"}", &file_ctx, NULL),
		  "{\"id\":\"sales\",\"name\":\"\",\"active\":true,\"members\":[],\"leader\":\"\","
		  "\"deputy\":\"\",\"services\":[],\"journal\":{\"leader\":false,\"group\":false,"
		  "\"modify\":false},\"member_rights\":{\"level\":\"blocked\",\"extra\":[]},"
		  "\"leader_rights\":{\"level\":\"blocked\",\"extra\":[]},\"monitor_groups\":[],"
		  "\"favourite_groups\":[],\"keys\":[],\"call_group\":\"off\","
		  "\"ringing\":\"parallel\",\"call_number\":\"\",\"dn\":\"\"}");
	CHECK_STR(canon(UCS_UD_COMPUTER, "{\"id\":\"pc1\"}", &file_ctx, NULL),
		  "{\"id\":\"pc1\",\"name\":\"\",\"first_phone\":\"\",\"second_phone\":\"\","
		  "\"lines\":[],\"authorised_only\":false,\"last_logon\":0,\"last_user\":\"\","
		  "\"dn\":\"\"}");
	CHECK_STR(canon(UCS_UD_PROFILE, "{\"id\":\"default\"}", &file_ctx, NULL),
		  "{\"id\":\"default\",\"name\":\"\",\"description\":\"\",\"settings\":{}}");
	CHECK_STR(canon(UCS_UD_SETTINGS, "{}", &file_ctx, NULL),
		  "{\"services\":[],\"rights\":{\"level\":\"public\",\"extra\":[]},"
		  "\"monitor_rights\":{\"level\":\"blocked\",\"extra\":[]},\"journal_all\":false,"
		  "\"journal_delete\":false,\"all_in_monitor\":false,\"auto_line_binding\":true,"
		  "\"restrictions\":{\"presence_off\":false,\"no_user_rights\":false,"
		  "\"chat_off\":false,\"chat_no_history\":false}}");
	/* udb_doc_default is the same stored form */
	{
		json_t *d = udb_doc_default(UCS_UD_GROUP, "g1");
		char *s = json_dumps(d, JSON_COMPACT);
		CHECK_CONTAINS(s, "\"id\":\"g1\",\"name\":\"\",\"active\":true");
		free(s);
		json_decref(d);
		d = udb_doc_default(UCS_UD_SETTINGS, NULL);
		CHECK(json_is_true(json_object_get(d, "auto_line_binding")));
		json_decref(d);
	}
}

static void test_values(void)
{
	/* names are put in table order, duplicates folded; lists keep order */
	CHECK_STR(canon(UCS_UD_SETTINGS,
			"{\"services\":[\"sms\",\"chat\",\"sms\"],\"rights\":{\"level\":\"team\","
			"\"extra\":[\"line1.pickup\",\"see_presence\"]}}",
			&file_ctx, NULL),
		  "{\"services\":[\"chat\",\"sms\"],\"rights\":{\"level\":\"team\",\"extra\":"
		  "[\"see_presence\",\"line1.pickup\"]},\"monitor_rights\":{\"level\":\"blocked\","
		  "\"extra\":[]},\"journal_all\":false,\"journal_delete\":false,"
		  "\"all_in_monitor\":false,\"auto_line_binding\":true,\"restrictions\":"
		  "{\"presence_off\":false,\"no_user_rights\":false,\"chat_off\":false,"
		  "\"chat_no_history\":false}}");
	/* rights without level take the field's default level */
	CHECK_CONTAINS(canon(UCS_UD_SETTINGS, "{\"rights\":{\"extra\":[]}}", &file_ctx, NULL),
		       "\"rights\":{\"level\":\"public\",\"extra\":[]}");
	CHECK_CONTAINS(canon(UCS_UD_GROUP,
			     "{\"id\":\"g\",\"members\":[\"b\",\"a\"],\"call_group\":\"voice\","
			     "\"ringing\":\"queue\",\"keys\":[{\"label\":\"Pizza\"}]}",
			     &file_ctx, NULL),
		       "\"members\":[\"b\",\"a\"]");
	CHECK_CONTAINS(canon(UCS_UD_GROUP, "{\"id\":\"g\",\"keys\":[{\"label\":\"Pizza\"}]}",
			     &file_ctx, NULL),
		       "\"keys\":[{\"label\":\"Pizza\",\"number\":\"\"}]");
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"a\",\"login\":\"A\",\"extra_lines\":[{\"line\":\"113\","
			     "\"pickup\":true}],\"grants\":[{\"user\":\"b\",\"level\":\"team\","
			     "\"extra\":[\"set_note\"]},{\"user\":\"c\"}]}",
			     &file_ctx, NULL),
		       "\"extra_lines\":[{\"line\":\"113\",\"show_outgoing\":false,"
		       "\"show_incoming\":false,\"pickup\":true}]");
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"a\",\"login\":\"A\",\"grants\":[{\"user\":\"b\",\"level\":"
			     "\"team\",\"extra\":[\"set_note\"]},{\"user\":\"c\"}]}",
			     &file_ctx, NULL),
		       "\"grants\":[{\"user\":\"b\",\"level\":\"team\",\"extra\":[\"set_note\"]},"
		       "{\"user\":\"c\",\"level\":\"blocked\",\"extra\":[]}]");
	CHECK_CONTAINS(canon(UCS_UD_COMPUTER, "{\"id\":\"pc\",\"lines\":[\"*\"]}", &file_ctx, NULL),
		       "\"lines\":[\"*\"]");
	CHECK_CONTAINS(canon(UCS_UD_PROFILE,
			     "{\"id\":\"p\",\"settings\":{\"a\":[1,2,{\"b\":null}]}}", &file_ctx,
			     NULL),
		       "\"settings\":{\"a\":[1,2,{\"b\":null}]}");
	/* a member list of 1000 distinct ids is fine (hash-checked) */
	{
		char *doc = malloc(20000);
		size_t n;

		if (!doc)
			return;
		n = (size_t)sprintf(doc, "{\"id\":\"g\",\"members\":[");
		for (int i = 0; i < 1000; i++)
			n += (size_t)sprintf(doc + n, "%s\"u%d\"", i ? "," : "", i);
		sprintf(doc + n, "]}");
		CHECK_CONTAINS(canon(UCS_UD_GROUP, doc, &file_ctx, NULL), "\"u999\"]");
		sprintf(doc + n, ",\"u17\"]}");
		CHECK_CONTAINS(canon(UCS_UD_GROUP, doc, &file_ctx, NULL),
			       "members[1000]: \"u17\" is listed twice");
		free(doc);
	}
}

static void test_computed_defaults(void)
{
	/* equal to the computed value: stored as "" (follows login/names) */
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"bob\",\"login\":\"Bob\",\"identity\":\"BOB@example.com\","
			     "\"first_name\":\"Bob\",\"last_name\":\"Builder\",\"display_name\":"
			     "\"Bob Builder\"}",
			     &file_ctx, NULL),
		       "\"identity\":\"\",\"first_name\":\"Bob\",\"last_name\":\"Builder\","
		       "\"display_name\":\"\"");
	/* different: kept */
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"bob\",\"login\":\"Bob\",\"identity\":\"bob@other.org\","
			     "\"display_name\":\"The Builder\"}",
			     &file_ctx, NULL),
		       "\"identity\":\"bob@other.org\"");
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"bob\",\"login\":\"Bob\",\"display_name\":\"The Builder\"}",
			     &file_ctx, NULL),
		       "\"display_name\":\"The Builder\"");
	/* no names: the display name defaults to the login */
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"bob\",\"login\":\"Bob\",\"display_name\":\"Bob\"}",
			     &file_ctx, NULL),
		       "\"display_name\":\"\"");
	CHECK_CONTAINS(canon(UCS_UD_GROUP, "{\"id\":\"g\",\"name\":\"g\"}", &file_ctx, NULL),
		       "\"name\":\"\"");
	CHECK_CONTAINS(canon(UCS_UD_GROUP, "{\"id\":\"g\",\"name\":\"Sales\"}", &file_ctx, NULL),
		       "\"name\":\"Sales\"");
	CHECK_CONTAINS(canon(UCS_UD_COMPUTER, "{\"id\":\"pc1\",\"name\":\"PC1\"}", &file_ctx, NULL),
		       "\"name\":\"PC1\"");
	CHECK_CONTAINS(canon(UCS_UD_PROFILE, "{\"id\":\"p\",\"name\":\"p\"}", &file_ctx, NULL),
		       "\"name\":\"\"");
	{
		char buf[256];
		json_t *d = json_pack("{s:s,s:s}", "login", "Carol", "first_name", "Carol");
		CHECK_STR(udb_user_identity(d, "example.com", buf, sizeof(buf)),
			  "carol@example.com");
		CHECK_STR(udb_user_identity(d, "", buf, sizeof(buf)), "carol");
		CHECK_STR(udb_user_display_name(d, buf, sizeof(buf)), "Carol");
		json_object_set_new(d, "last_name", json_string("Jones"));
		CHECK_STR(udb_user_display_name(d, buf, sizeof(buf)), "Carol Jones");
		json_object_set_new(d, "first_name", json_string(""));
		CHECK_STR(udb_user_display_name(d, buf, sizeof(buf)), "Jones");
		json_decref(d);
	}
}

static void test_errors(void)
{
	char *big;

	check_error(UCS_UD_USER, "[]", "document: expected a JSON object, got an array");
	check_error(UCS_UD_USER, "{\"login\":\"a\"}", "id: required");
	check_error(UCS_UD_USER, "{\"id\":\"a\"}", "login: required");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"\"}", "login: must not be empty");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\\tb\"}",
		    "login: contains a control character");
	check_error(UCS_UD_USER, "{\"id\":\"Alice\",\"login\":\"alice\"}",
		    "id: \"Alice\" is no valid id (1-63 characters of a-z 0-9 . _ @ -)");
	check_error(UCS_UD_USER, "{\"id\":\"\",\"login\":\"alice\"}", "id: must not be empty");
	check_error(UCS_UD_USER, "{\"id\":\"a/b\",\"login\":\"alice\"}",
		    "id: \"a/b\" is no valid id (1-63 characters of a-z 0-9 . _ @ -)");
	check_error(UCS_UD_USER, "{\"id\":7,\"login\":\"alice\"}",
		    "id: expected a string, got an integer");
	check_error(UCS_UD_USER, "{\"id\":\"bob\",\"login\":\"alice\"}",
		    "id: must be the login in lower case (\"alice\")");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"bogus\":1}",
		    "bogus: unknown key");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"phones\":{\"work\":\"1\"}}",
		    "phones.work: unknown key");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"phones\":{\"mobile\":17}}",
		    "phones.mobile: expected a string, got an integer");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"phones\":[]}",
		    "phones: expected an object, got an array");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"contact\":{\"city\":null}}",
		    "contact.city: expected a string, got null");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"active\":\"yes\"}",
		    "active: expected true or false, got a string");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"other_numbers\":\"1\"}",
		    "other_numbers: expected an array, got a string");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"other_lines\":[\"1\",\"\"]}",
		    "other_lines[1]: must not be empty");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"other_lines\":[1.5]}",
		    "other_lines[0]: expected a string, got a number");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"extra_lines\":[{}]}",
		    "extra_lines[0].line: required");
	check_error(UCS_UD_USER,
		    "{\"id\":\"a\",\"login\":\"a\",\"extra_lines\":[{\"line\":\"1\",\"x\":1}]}",
		    "extra_lines[0].x: unknown key");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"extra_lines\":[7]}",
		    "extra_lines[0]: expected an object, got an integer");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"services\":[\"chat\",\"fly\"]}",
		    "services[1]: unknown service \"fly\"");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"services\":{}}",
		    "services: expected an array of service names, got an object");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"grants\":[{\"level\":\"team\"}]}",
		    "grants[0].user: required");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"grants\":[{\"user\":\"a\"}]}",
		    "grants[0].user: a user cannot grant rights to herself");
	check_error(UCS_UD_USER,
		    "{\"id\":\"a\",\"login\":\"a\",\"grants\":[{\"user\":\"b\"},{\"user\":\"b\"}]}",
		    "grants[1].user: \"b\" has a grant already");
	check_error(
		UCS_UD_USER,
		"{\"id\":\"a\",\"login\":\"a\",\"grants\":[{\"user\":\"b\",\"level\":\"boss\"}]}",
		"grants[0].level: \"boss\" is not one of blocked, public, business, team, "
		"personal");
	check_error(
		UCS_UD_USER,
		"{\"id\":\"a\",\"login\":\"a\",\"grants\":[{\"user\":\"b\",\"extra\":[\"x\"]}]}",
		"grants[0].extra[0]: unknown right \"x\"");
	check_error(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"password_hash\":\"$x\"}",
		    "password_hash: not part of the document (set through the store)");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"members\":[\"a\",\"a\"]}",
		    "members[1]: \"a\" is listed twice");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"members\":[\"A\"]}",
		    "members[0]: \"A\" is no valid id (1-63 characters of a-z 0-9 . _ @ -)");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"leader\":\"Bob\"}",
		    "leader: \"Bob\" is no valid id (1-63 characters of a-z 0-9 . _ @ -)");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"call_group\":\"loud\"}",
		    "call_group: \"loud\" is not one of off, sip, voice");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"ringing\":3}",
		    "ringing: expected a string, got an integer");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"member_rights\":\"team\"}",
		    "member_rights: expected an object {\"level\": ..., \"extra\": [...]}, got a "
		    "string");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"member_rights\":{\"lvl\":\"team\"}}",
		    "member_rights.lvl: unknown key");
	check_error(
		UCS_UD_GROUP, "{\"id\":\"g\",\"leader_rights\":{\"level\":\"custom\"}}",
		"leader_rights.level: \"custom\" is not one of blocked, public, business, team, "
		"personal");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"journal\":{\"all\":true}}",
		    "journal.all: unknown key");
	check_error(UCS_UD_GROUP, "{\"id\":\"g\",\"keys\":[{\"label\":1}]}",
		    "keys[0].label: expected a string, got an integer");
	check_error(UCS_UD_COMPUTER, "{\"id\":\"pc\",\"lines\":[\"*\",\"110\"]}",
		    "lines[0]: \"*\" (every line) must be the only entry");
	check_error(UCS_UD_COMPUTER, "{\"id\":\"pc\",\"last_logon\":-1}",
		    "last_logon: expected a non-negative integer, got a negative one");
	check_error(UCS_UD_COMPUTER, "{\"id\":\"pc\",\"last_logon\":\"now\"}",
		    "last_logon: expected a non-negative integer, got a string");
	check_error(UCS_UD_COMPUTER, "{\"id\":\"pc\",\"name\":\"OTHER\"}",
		    "name: must be the id in any case (\"pc\")");
	check_error(UCS_UD_PROFILE, "{\"id\":\"p\",\"settings\":[]}",
		    "settings: expected an object, got an array");
	check_error(UCS_UD_SETTINGS, "{\"id\":\"\"}", "id: unknown key");
	check_error(UCS_UD_SETTINGS, "{\"restrictions\":{\"chat_off\":1}}",
		    "restrictions.chat_off: expected true or false, got an integer");
	check_error(UCS_UD_SETTINGS, "{\"monitor_rights\":{\"extra\":[\"see_presence\",5]}}",
		    "monitor_rights.extra[1]: expected a string, got an integer");
	/* JSON syntax errors name the position */
	CHECK_CONTAINS(canon(UCS_UD_SETTINGS, "{\n\"services\": [,]}", &file_ctx, NULL),
		       "document: invalid JSON at line 2 column");
	CHECK_CONTAINS(canon(UCS_UD_SETTINGS, "{\"services\":[],\"services\":[]}", &file_ctx, NULL),
		       "duplicate object key");
	CHECK_CONTAINS(
		canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\\u0000b\"}", &file_ctx, NULL),
		"document: invalid JSON");
	/* limits */
	big = malloc(UDB_PROFILE_MAX + 200);
	if (!big)
		return;
	{
		size_t n = (size_t)sprintf(big, "{\"id\":\"a\",\"login\":\"a\",\"email\":\"");
		memset(big + n, 'x', UDB_TEXT_MAX + 1);
		strcpy(big + n + UDB_TEXT_MAX + 1, "\"}");
		CHECK_STR(canon(UCS_UD_USER, big, &file_ctx, NULL),
			  "ERR -22: email: longer than 1024 bytes (1025)");
		big[n + UDB_TEXT_MAX] = '"';
		big[n + UDB_TEXT_MAX + 1] = '}';
		big[n + UDB_TEXT_MAX + 2] = 0;
		CHECK(strncmp(canon(UCS_UD_USER, big, &file_ctx, NULL), "{", 1) == 0);
		n = (size_t)sprintf(big, "{\"id\":\"p\",\"settings\":{\"k\":\"");
		memset(big + n, 'y', UDB_PROFILE_MAX);
		strcpy(big + n + UDB_PROFILE_MAX, "\"}}");
		CHECK_CONTAINS(canon(UCS_UD_PROFILE, big, &file_ctx, NULL),
			       "settings: longer than 65536 bytes as JSON");
	}
	free(big);
	{
		char id[200];
		char doc[400];
		memset(id, 'a', UDB_ID_MAX + 1);
		id[UDB_ID_MAX + 1] = 0;
		snprintf(doc, sizeof(doc), "{\"id\":\"%s\"}", id);
		CHECK_CONTAINS(canon(UCS_UD_GROUP, doc, &file_ctx, NULL), "is no valid id");
		id[UDB_ID_MAX] = 0;
		snprintf(doc, sizeof(doc), "{\"id\":\"%s\"}", id);
		CHECK(strncmp(canon(UCS_UD_GROUP, doc, &file_ctx, NULL), "{", 1) == 0);
	}
	{
		char *doc = malloc(20000);
		size_t n;

		if (!doc)
			return;
		n = (size_t)sprintf(doc, "{\"id\":\"a\",\"login\":\"a\",\"other_lines\":[");
		for (int i = 0; i <= UDB_LIST_MAX; i++)
			n += (size_t)sprintf(doc + n, "%s\"%d\"", i ? "," : "", i);
		sprintf(doc + n, "]}");
		CHECK_STR(canon(UCS_UD_USER, doc, &file_ctx, NULL),
			  "ERR -22: other_lines: more than 1024 elements (1025)");
		free(doc);
	}
	{
		char err[64];
		json_t *out = (json_t *)1;
		CHECK_INT(udb_doc_canon_text(UCS_UD_USER, "{}", UDB_DOC_MAX + 1, &file_ctx, &out,
					     NULL, err, sizeof(err)),
			  ==, -EINVAL);
		CHECK(out == NULL);
		CHECK_STR(err, "document: larger than 4194304 bytes");
		json_t *empty = json_object();
		CHECK_INT(udb_doc_canon(9, empty, &file_ctx, &out, NULL, err, sizeof(err)), ==,
			  -EINVAL);
		json_decref(empty);
	}
}

static void test_read_form_keys(void)
{
	struct udb_doc_meta meta;
	const char *doc = "{\"id\":\"a\",\"login\":\"a\",\"has_password\":true,\"contact_image\":"
			  "false,\"profile_picture\":true,\"groups\":[\"g2\",\"g1\"]}";

	/* client form: reported in meta, placeholders in the stored form */
	CHECK_CONTAINS(canon(UCS_UD_USER, doc, &file_ctx, &meta),
		       "\"contact_image\":false,\"profile_picture\":false,\"password_hash\":\"\"}");
	CHECK_INT(meta.has_password, ==, 1);
	CHECK_INT(meta.contact_image, ==, 0);
	CHECK_INT(meta.profile_picture, ==, 1);
	CHECK_INT(json_array_size(meta.groups), ==, 2);
	udb_doc_meta_clear(&meta);
	CHECK(meta.groups == NULL);
	/* absent: -1 */
	canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\"}", &file_ctx, &meta);
	CHECK_INT(meta.has_password, ==, -1);
	CHECK_INT(meta.contact_image, ==, -1);
	CHECK(meta.groups == NULL);
	/* without meta the read-form keys are refused */
	CHECK_STR(
		canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"groups\":[]}", &file_ctx, NULL),
		"ERR -22: groups: read-only (kept on the groups)");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"has_password\":false}",
			&file_ctx, NULL),
		  "ERR -22: has_password: read-only (kept by the store)");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"has_password\":1}", &file_ctx,
			&meta),
		  "ERR -22: has_password: expected true or false, got an integer");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"groups\":[\"g\",\"g\"]}",
			&file_ctx, &meta),
		  "ERR -22: groups[1]: \"g\" is listed twice");
	CHECK(meta.groups == NULL);
	/* stored form: the hash and picture flags are kept, read-form keys are errors */
	CHECK_CONTAINS(canon(UCS_UD_USER,
			     "{\"id\":\"a\",\"login\":\"a\",\"password_hash\":\"$argon2id$x\","
			     "\"contact_image\":true}",
			     &stored_ctx, NULL),
		       "\"contact_image\":true,\"profile_picture\":false,\"password_hash\":"
		       "\"$argon2id$x\"}");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"has_password\":true}",
			&stored_ctx, NULL),
		  "ERR -22: has_password: unknown key");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"groups\":[]}", &stored_ctx,
			NULL),
		  "ERR -22: groups: unknown key");
	CHECK_STR(canon(UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"password_hash\":\"a\\nb\"}",
			&stored_ctx, NULL),
		  "ERR -22: password_hash: contains a control character");
	/* directory stores: ids need not be logins */
	CHECK(strncmp(canon(UCS_UD_USER,
			    "{\"id\":\"0b7c3f2e-1111-4a4a-9b9b-000000000001\",\"login\":\"Alice\"}",
			    &dir_ctx, NULL),
		      "{", 1) == 0);
}

static void test_read_form(void)
{
	struct udb_doc_meta meta_any;
	struct udb_ctx ctx = {"example.com", 0};
	json_t *stored = NULL, *groups = json_pack("[s]", "sales"), *read;
	char err[256];
	char *text;

	const char *bob = "{\"id\":\"bob\",\"login\":\"Bob\",\"first_name\":\"Bob\","
			  "\"password_hash\":\"$argon2id$secret\"}";

	CHECK_INT(udb_doc_canon_text(UCS_UD_USER, bob, strlen(bob), &stored_ctx, &stored, NULL, err,
				     sizeof(err)),
		  ==, 0);
	read = udb_doc_read(UCS_UD_USER, stored, &ctx, groups);
	text = json_dumps(read, JSON_COMPACT);
	CHECK_CONTAINS(text, "\"identity\":\"bob@example.com\"");
	CHECK_CONTAINS(text, "\"display_name\":\"Bob\"");
	CHECK_CONTAINS(text, "\"has_password\":true");
	CHECK_CONTAINS(text, "\"groups\":[\"sales\"]");
	CHECK(!strstr(text, "secret"));
	CHECK(!strstr(text, "password_hash"));
	free(text);
	/* the read form is a valid client form that yields the same stored form
	 * (but for the store-owned values the store puts back) */
	{
		struct udb_doc_meta meta;
		json_t *again = NULL;
		CHECK_INT(udb_doc_canon(UCS_UD_USER, read, &file_ctx, &again, &meta, err,
					sizeof(err)),
			  ==, 0);
		json_object_set(again, "password_hash", json_object_get(stored, "password_hash"));
		CHECK(json_equal(again, stored));
		CHECK_INT(meta.has_password, ==, 1);
		udb_doc_meta_clear(&meta);
		json_decref(again);
	}
	json_decref(read);
	json_decref(stored);
	json_decref(groups);
	/* long names: the computed display name joins two 1024-byte fields and
	 * the read form must still be a valid document */
	{
		char *text = malloc(3000), *first = malloc(1100), *last = malloc(1100);
		json_t *again = NULL;

		if (text && first && last) {
			memset(first, 'F', 1024);
			first[1024] = 0;
			memset(last, 'L', 1024);
			last[1024] = 0;
			snprintf(text, 3000,
				 "{\"id\":\"x\",\"login\":\"x\",\"first_name\":\"%s\","
				 "\"last_name\":\"%s\"}",
				 first, last);
			CHECK_INT(udb_doc_canon_text(UCS_UD_USER, text, strlen(text), &stored_ctx,
						     &stored, NULL, err, sizeof(err)),
				  ==, 0);
			read = udb_doc_read(UCS_UD_USER, stored, &ctx, NULL);
			CHECK_INT(strlen(json_string_value(json_object_get(read, "display_name"))),
				  ==, 2049);
			CHECK_INT(udb_doc_canon(UCS_UD_USER, read, &file_ctx, &again, &meta_any,
						err, sizeof(err)),
				  ==, 0);
			CHECK_STR(json_string_value(json_object_get(again, "display_name")), "");
			udb_doc_meta_clear(&meta_any);
			json_decref(again);
			json_decref(read);
			json_decref(stored);
		}
		free(text);
		free(first);
		free(last);
	}
	/* names filled in for the other kinds */
	stored = udb_doc_default(UCS_UD_COMPUTER, "pc7");
	read = udb_doc_read(UCS_UD_COMPUTER, stored, &ctx, NULL);
	CHECK_STR(json_string_value(json_object_get(read, "name")), "pc7");
	json_decref(read);
	json_decref(stored);
}

static int collect(const char *path, const json_t *value, void *arg)
{
	char *buf = arg;
	(void)value;
	strcat(buf, path);
	strcat(buf, " ");
	return 0;
}

static void test_overlay(void)
{
	json_t *local = NULL, *dir, *eff, *out = NULL;
	char paths[256] = "", err[256];

	const char *u1 = "{\"id\":\"u1\",\"login\":\"old\",\"services\":[\"chat\"],\"phones\":"
			 "{\"mobile\":\"0171\",\"business\":\"99\"}}";

	udb_doc_canon_text(UCS_UD_USER, u1, strlen(u1), &dir_ctx, &local, NULL, err, sizeof(err));
	CHECK(local != NULL);
	dir = json_pack("{s:s,s:s,s:s,s:{s:s},s:{s:s}}", "id", "u1", "login", "alice", "first_name",
			"Alice", "phones", "business", "+49 89 1", "contact", "city", "Munich");
	eff = udb_doc_overlay(UCS_UD_USER, local, dir);
	CHECK_INT(udb_doc_canon(UCS_UD_USER, eff, &dir_stored_ctx, &out, NULL, err, sizeof(err)),
		  ==, 0);
	CHECK_STR(json_string_value(json_object_get(out, "login")), "alice");
	CHECK_STR(json_string_value(udb_doc_get_path(out, "phones.business")), "+49 89 1");
	CHECK_STR(json_string_value(udb_doc_get_path(out, "phones.mobile")), "0171");
	CHECK_STR(json_string_value(udb_doc_get_path(out, "contact.city")), "Munich");
	CHECK_INT(json_array_size(json_object_get(out, "services")), ==, 1);
	CHECK(udb_doc_get_path(out, "phones.nothing") == NULL);
	CHECK(udb_doc_get_path(
		      out, "verylongheadthatdoesnotfitintothebufferofsixtyfourcharactersatall.x") ==
	      NULL);
	udb_doc_owned_paths(dir, collect, paths);
	CHECK_STR(paths, "login first_name phones.business contact.city ");
	json_decref(eff);
	json_decref(out);
	/* without a local document the defaults are the base */
	eff = udb_doc_overlay(UCS_UD_USER, NULL, dir);
	CHECK_STR(json_string_value(json_object_get(eff, "login")), "alice");
	CHECK(json_is_true(json_object_get(eff, "active")));
	json_decref(eff);
	json_decref(dir);
	json_decref(local);
}

static void test_kinds_and_ids(void)
{
	CHECK_STR(udb_kind_name(UCS_UD_USER), "user");
	CHECK_STR(udb_kind_name(UCS_UD_SETTINGS), "settings");
	CHECK(udb_kind_name(0) == NULL);
	CHECK(udb_kind_name(6) == NULL);
	CHECK_INT(udb_kind_from_name("computer"), ==, UCS_UD_COMPUTER);
	CHECK_INT(udb_kind_from_name("users"), ==, -EINVAL);
	CHECK_INT(udb_kind_from_name(NULL), ==, -EINVAL);
	CHECK(udb_id_valid("a.b_c@d-e9"));
	CHECK(!udb_id_valid(""));
	CHECK(!udb_id_valid(NULL));
	CHECK(!udb_id_valid("a b"));
	CHECK(!udb_id_valid(".."
			    "/etc"));
}

static void test_docs(void)
{
	struct udb_docs a, b;

	CHECK_INT(udb_docs_init(&a), ==, 0);
	json_object_set_new(a.kind[UCS_UD_USER], "x", udb_doc_default(UCS_UD_USER, "x"));
	CHECK_INT(udb_docs_copy(&b, &a), ==, 0);
	CHECK_INT(udb_docs_count(&b, UCS_UD_USER), ==, 1);
	/* a shallow copy: the documents are shared, the containers are not */
	CHECK(json_object_get(b.kind[UCS_UD_USER], "x") ==
	      json_object_get(a.kind[UCS_UD_USER], "x"));
	json_object_del(a.kind[UCS_UD_USER], "x");
	CHECK_INT(udb_docs_count(&b, UCS_UD_USER), ==, 1);
	CHECK_INT(udb_docs_count(&b, 0), ==, 0);
	udb_docs_clear(&a);
	udb_docs_clear(&b);
}

int main(void)
{
	test_kinds_and_ids();
	test_defaults();
	test_values();
	test_computed_defaults();
	test_errors();
	test_read_form_keys();
	test_read_form();
	test_overlay();
	test_docs();
	return check_report();
}
