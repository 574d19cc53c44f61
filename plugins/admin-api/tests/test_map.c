/*
 * plugins/admin-api/tests/test_map.c - the admin protocol's params and the
 * user store's documents (adm_map.c): every mapping the issue fixes, the
 * rights given to groups, and the errors that name their param.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm_map.h"
#include "check.h"

/* ---- a store of three users and one group ---- */

static const char *const users[][2] = {{"alice", "Alice"}, {"bob", "Bob"}, {"carol", "Carol"}};
static const char *const sales[] = {"alice", "bob"};

static const char *user_id(void *arg, const char *login)
{
	(void)arg;
	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(users[i][1], login) == 0)
			return users[i][0];
	return NULL;
}

static const char *user_login(void *arg, const char *id)
{
	(void)arg;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(users[i][0], id) == 0)
			return users[i][1];
	return NULL;
}

static const char *group_id(void *arg, const char *name)
{
	(void)arg;
	return strcasecmp(name, "Sales") == 0 || strcmp(name, "sales") == 0 ? "sales" : NULL;
}

static const char *group_name(void *arg, const char *id)
{
	(void)arg;
	return strcmp(id, "sales") == 0 ? "Sales" : NULL;
}

static size_t group_members(void *arg, const char *id, const char *const **out)
{
	(void)arg;
	*out = strcmp(id, "sales") == 0 ? sales : NULL;
	return *out ? 2 : 0;
}

static const struct adm_resolver R = {user_id,	  user_login,	 group_id,
				      group_name, group_members, NULL};

static json_t *J(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	if (!v)
		fprintf(stderr, "bad test JSON: %s\n", text);
	return v;
}

static int same(const json_t *v, const char *text)
{
	json_t *w = J(text);
	int eq = json_equal((json_t *)v, w);

	if (!eq) {
		char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

		fprintf(stderr, "  got:  %s\n  want: %s\n", got ? got : "(null)", text);
		free(got);
	}
	json_decref(w);
	return eq;
}

static const char *str(const json_t *v, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		v = json_object_get(v, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(v, path));
}

/* users.create with every param of the contract */
static void test_user_create(void)
{
	json_t *params =
		J("{\"login\": \"Carol\", \"password\": \"x\", \"display_name\": \"C. D.\","
		  "\"first_name\": \"Carol\", \"last_name\": \"Doe\", \"email\": \"c@x\","
		  "\"active\": false,"
		  "\"numbers\": {\"business\": \"+49 89 123456\", \"business2\": \"221\","
		  "  \"private\": \"0891\", \"mobile\": \"0170 1\", \"pager\": \"9\","
		  "  \"voicemail\": \"299\"},"
		  "\"phones\": {\"first\": \"220\", \"second\": \"\"},"
		  "\"services\": {\"chat\": true, \"sms\": false, \"configure_self\": true},"
		  "\"rights\": [{\"group\": \"Sales\", \"level\": \"business\"},"
		  "  {\"user\": \"bob\", \"level\": \"team\", \"extra\": [\"see_note\"]}],"
		  "\"groups\": [\"Sales\", \"sales\"]}");
	json_t *doc = NULL, *groups = NULL;
	char err[256] = "";
	const char *pw = NULL;

	CHECK_INT(adm_user_doc(params, NULL, &R, &doc, &groups, err, sizeof(err)), ==, 0);
	CHECK_STR(err, "");
	CHECK(same(doc,
		   "{\"id\": \"carol\", \"login\": \"Carol\", \"display_name\": \"C. D.\","
		   "\"first_name\": \"Carol\", \"last_name\": \"Doe\", \"email\": \"c@x\","
		   "\"active\": false,"
		   "\"phones\": {\"business\": \"+49 89 123456\", \"business2\": \"221\","
		   "  \"private\": \"0891\", \"mobile\": \"0170 1\", \"pager\": \"9\","
		   "  \"mailbox\": \"299\"},"
		   "\"first_phone\": \"220\", \"second_phone\": \"\","
		   "\"services\": [\"configure_self\", \"chat\"],"
		   "\"grants\": [{\"user\": \"alice\", \"level\": \"business\", \"extra\": []},"
		   "  {\"user\": \"bob\", \"level\": \"team\", \"extra\": [\"see_note\"]}]}"));
	/* twice named, once a member */
	CHECK(same(groups, "[\"sales\"]"));
	CHECK_INT(adm_user_password(params, &pw, err, sizeof(err)), ==, 1);
	CHECK_STR(pw, "x");
	json_decref(doc);
	json_decref(groups);
	json_decref(params);
}

/* a granter in the group she grants to is skipped; groups merge upwards */
static void test_group_rights(void)
{
	json_t *params =
		J("{\"login\": \"alice\", \"rights\": ["
		  "  {\"group\": \"Sales\", \"level\": \"public\", \"extra\": [\"pickup\"]}]}");
	json_t *doc = NULL, *groups = NULL;
	char err[256] = "";

	/* "pickup" alone is no right: the line classes prefix it */
	CHECK_INT(adm_user_doc(params, NULL, &R, &doc, &groups, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "rights[0].extra[0]: unknown right \"pickup\"");
	json_decref(params);

	params = J("{\"login\": \"alice\", \"rights\": ["
		   "  {\"group\": \"Sales\", \"level\": \"public\", \"extra\": [\"line1.pickup\"]},"
		   "  {\"group\": \"sales\", \"level\": \"team\"}]}");
	CHECK_INT(adm_user_doc(params, NULL, &R, &doc, &groups, err, sizeof(err)), ==, 0);
	CHECK(same(json_object_get(doc, "grants"),
		   "[{\"user\": \"bob\", \"level\": \"team\", \"extra\": [\"line1.pickup\"]}]"));
	CHECK(groups == NULL);
	json_decref(doc);
	json_decref(params);
	/* no rights at all: an empty list replaces the grants */
	params = J("{\"login\": \"alice\", \"rights\": []}");
	CHECK_INT(adm_user_doc(params, NULL, &R, &doc, &groups, err, sizeof(err)), ==, 0);
	CHECK(same(json_object_get(doc, "grants"), "[]"));
	json_decref(doc);
	json_decref(params);
}

/* an update lays params over the current document; read-only keys go */
static void test_user_update(void)
{
	json_t *current = J("{\"id\": \"bob\", \"login\": \"Bob\", \"email\": \"b@x\","
			    "\"active\": true, \"has_password\": true, \"contact_image\": false,"
			    "\"profile_picture\": false, \"groups\": [\"sales\"],"
			    "\"phones\": {\"business\": \"1\", \"mobile\": \"2\"},"
			    "\"services\": [\"chat\", \"sms\"], \"grants\": []}");
	json_t *params = J("{\"login\": \"bob\", \"numbers\": {\"mobile\": null},"
			   "\"services\": {\"chat\": false, \"files\": true}}");
	json_t *doc = NULL, *groups = NULL;
	char err[256] = "";

	CHECK_INT(adm_user_doc(params, current, &R, &doc, &groups, err, sizeof(err)), ==, 0);
	CHECK(same(doc, "{\"id\": \"bob\", \"login\": \"Bob\", \"email\": \"b@x\","
			"\"active\": true,"
			"\"phones\": {\"business\": \"1\", \"mobile\": \"\"},"
			"\"services\": [\"sms\", \"files\"], \"grants\": []}"));
	CHECK(groups == NULL);
	json_decref(doc);
	json_decref(params);
	json_decref(current);
}

static void expect_user_error(const char *params_text, const char *message)
{
	json_t *params = J(params_text), *doc = (json_t *)1, *groups = (json_t *)1;
	char err[256] = "";

	CHECK_INT(adm_user_doc(params, NULL, &R, &doc, &groups, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, message);
	CHECK(doc == NULL && groups == NULL);
	json_decref(params);
}

static void test_user_errors(void)
{
	expect_user_error("{}", "login: required");
	expect_user_error("{\"login\": 5}", "login: expected a string, got an integer");
	expect_user_error("{\"login\": \"a b\"}",
			  "login: 1-63 of a-z A-Z 0-9 . _ @ - (the user's id is her login in lower "
			  "case)");
	expect_user_error("{\"login\": \"x\", \"nickname\": \"y\"}", "nickname: unknown member");
	expect_user_error("{\"login\": \"x\", \"numbers\": {\"fax\": \"1\"}}",
			  "numbers.fax: unknown member");
	expect_user_error("{\"login\": \"x\", \"numbers\": {\"mobile\": 1}}",
			  "numbers.mobile: expected a string, got an integer");
	expect_user_error("{\"login\": \"x\", \"numbers\": []}",
			  "numbers: expected an object, got an array");
	expect_user_error("{\"login\": \"x\", \"phones\": {\"third\": \"1\"}}",
			  "phones.third: unknown member");
	expect_user_error("{\"login\": \"x\", \"services\": {\"telepathy\": true}}",
			  "services.telepathy: unknown service");
	expect_user_error("{\"login\": \"x\", \"services\": {\"chat\": 1}}",
			  "services.chat: expected a boolean, got an integer");
	expect_user_error("{\"login\": \"x\", \"active\": \"yes\"}",
			  "active: expected a boolean, got a string");
	expect_user_error("{\"login\": \"x\", \"rights\": {}}",
			  "rights: expected an array, got an object");
	expect_user_error("{\"login\": \"x\", \"rights\": [{\"level\": \"team\"}]}",
			  "rights[0]: give either \"user\" or \"group\"");
	expect_user_error(
		"{\"login\": \"x\", \"rights\": [{\"user\": \"bob\", \"group\": \"Sales\","
		"\"level\": \"team\"}]}",
		"rights[0]: give either \"user\" or \"group\"");
	expect_user_error("{\"login\": \"x\", \"rights\": [{\"user\": \"bob\"}]}",
			  "rights[0].level: required");
	expect_user_error(
		"{\"login\": \"x\", \"rights\": [{\"user\": \"bob\", \"level\": \"boss\"}]}",
		"rights[0].level: expected one of blocked, public, business, team, "
		"personal");
	expect_user_error(
		"{\"login\": \"x\", \"rights\": [{\"user\": \"dave\", \"level\": \"team\"}]}",
		"rights[0].user: no user \"dave\"");
	expect_user_error(
		"{\"login\": \"x\", \"rights\": [{\"group\": \"ops\", \"level\": \"team\"}]}",
		"rights[0].group: no group \"ops\"");
	expect_user_error(
		"{\"login\": \"bob\", \"rights\": [{\"user\": \"Bob\", \"level\": \"team\"}]}",
		"rights[0].user: a user cannot grant rights to herself");
	expect_user_error(
		"{\"login\": \"x\", \"rights\": [{\"user\": \"bob\", \"level\": \"team\"},"
		"{\"user\": \"Bob\", \"level\": \"public\"}]}",
		"rights[1].user: \"Bob\" appears twice");
	expect_user_error("{\"login\": \"x\", \"rights\": [{\"user\": \"bob\", \"level\": \"team\","
			  "\"why\": 1}]}",
			  "rights[0].why: unknown member");
	expect_user_error("{\"login\": \"x\", \"groups\": [\"Sales\", \"ops\"]}",
			  "groups[1]: no group \"ops\"");
	expect_user_error("{\"login\": \"x\", \"groups\": \"Sales\"}",
			  "groups: expected an array of group names, got a string");
	expect_user_error("{\"login\": \"x\", \"password\": \"\"}",
			  "password: expected a string of 1-1024 bytes without NUL");
}

static void test_user_view(void)
{
	json_t *doc = J("{\"id\": \"carol\", \"login\": \"Carol\", \"display_name\": \"C D\","
			"\"first_name\": \"C\", \"last_name\": \"D\", \"email\": \"\","
			"\"profile\": \"\", \"identity\": \"carol@x\", \"active\": true,"
			"\"has_password\": true, \"dn\": \"\","
			"\"phones\": {\"business\": \"220\"}, \"first_phone\": \"220\","
			"\"services\": [\"chat\"], \"groups\": [\"sales\"],"
			"\"grants\": [{\"user\": \"bob\", \"level\": \"team\", \"extra\": []}]}");
	json_t *numbers = J("{\"business\": {\"entered\": \"220\", \"canonical\": "
			    "\"+4989123220\", \"display\": \"+49 89 123220\"}}");
	json_t *view = adm_user_view(doc, numbers, &R);

	CHECK(view != NULL);
	CHECK_STR(str(view, "login"), "Carol");
	CHECK_STR(str(view, "numbers.business.canonical"), "+4989123220");
	CHECK_STR(str(view, "numbers.business.display"), "+49 89 123220");
	CHECK_STR(str(view, "phones.first"), "220");
	CHECK(json_is_true(json_object_get(json_object_get(view, "services"), "chat")));
	CHECK(json_is_false(json_object_get(json_object_get(view, "services"), "sms")));
	CHECK(same(json_object_get(view, "rights"),
		   "[{\"user\": \"Bob\", \"level\": \"team\", \"extra\": []}]"));
	CHECK(same(json_object_get(view, "groups"), "[\"Sales\"]"));
	CHECK(json_is_true(json_object_get(view, "has_password")));
	CHECK(json_is_false(json_object_get(view, "directory")));
	json_decref(view);
	/* without numbers from the snapshot: entered everywhere, no canonical */
	view = adm_user_view(doc, NULL, &R);
	CHECK(same(
		json_object_get(view, "numbers"),
		"{\"business\": {\"entered\": \"220\", \"canonical\": \"\", \"display\": \"220\"},"
		"\"business2\": {\"entered\": \"\", \"canonical\": \"\", \"display\": \"\"},"
		"\"private\": {\"entered\": \"\", \"canonical\": \"\", \"display\": \"\"},"
		"\"mobile\": {\"entered\": \"\", \"canonical\": \"\", \"display\": \"\"},"
		"\"pager\": {\"entered\": \"\", \"canonical\": \"\", \"display\": \"\"},"
		"\"voicemail\": {\"entered\": \"\", \"canonical\": \"\", \"display\": \"\"}}"));
	json_decref(view);
	json_decref(doc);
}

static void test_groups(void)
{
	json_t *params = J("{\"name\": \"Support Team\", \"members\": [\"Alice\", \"carol\"],"
			   "\"leader\": \"bob\", \"deputy\": \"\", \"level\": \"team\","
			   "\"services\": {\"portal\": true}}");
	json_t *doc = NULL, *view, *next;
	char err[256] = "";
	int nomem;

	CHECK_INT(adm_group_doc(params, NULL, &R, &doc, err, sizeof(err)), ==, 0);
	CHECK(same(doc,
		   "{\"id\": \"support-team\", \"name\": \"Support Team\","
		   "\"members\": [\"alice\", \"carol\"], \"leader\": \"bob\", \"deputy\": \"\","
		   "\"member_rights\": {\"level\": \"team\"}, \"services\": [\"portal\"]}"));
	view = adm_group_view(doc, &R);
	CHECK(same(json_object_get(view, "members"), "[\"Alice\", \"Carol\"]"));
	CHECK_STR(str(view, "leader"), "Bob");
	CHECK_STR(str(view, "level"), "team");
	CHECK_STR(str(view, "leader_level"), "blocked");
	json_decref(view);
	/* membership edits */
	next = adm_group_member(doc, "bob", 1, &nomem);
	CHECK(same(json_object_get(next, "members"), "[\"alice\", \"carol\", \"bob\"]"));
	json_decref(next);
	CHECK(adm_group_member(doc, "alice", 1, &nomem) == NULL && !nomem);
	next = adm_group_member(doc, "alice", 0, &nomem);
	CHECK(same(json_object_get(next, "members"), "[\"carol\"]"));
	json_decref(next);
	CHECK(adm_group_member(doc, "bob", 0, &nomem) == NULL && !nomem);
	json_decref(params);
	/* an update renames and changes the leader's rights */
	params = J("{\"name\": \"Support Team\", \"new_name\": \"Support\","
		   "\"leader_level\": \"personal\", \"leader_extra\": [\"set_presence\"]}");
	next = NULL;
	CHECK_INT(adm_group_doc(params, doc, &R, &next, err, sizeof(err)), ==, 0);
	CHECK_STR(str(next, "name"), "Support");
	CHECK_STR(str(next, "id"), "support-team");
	CHECK(same(json_object_get(next, "leader_rights"),
		   "{\"level\": \"personal\", \"extra\": [\"set_presence\"]}"));
	json_decref(next);
	json_decref(params);
	/* errors */
	params = J("{\"name\": \"x\", \"members\": [\"alice\", \"ALICE\"]}");
	CHECK_INT(adm_group_doc(params, NULL, &R, &next, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "members[1]: \"ALICE\" appears twice");
	json_decref(params);
	params = J("{\"name\": \"x\", \"leader\": \"dave\"}");
	CHECK_INT(adm_group_doc(params, NULL, &R, &next, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "leader: no user \"dave\"");
	json_decref(params);
	params = J("{\"name\": \"!!!\"}");
	CHECK_INT(adm_group_doc(params, NULL, &R, &next, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "name: gives no id: name the id in \"id\"");
	json_decref(params);
	params = J("{\"name\": \"x\", \"id\": \"support-team\"}");
	CHECK_INT(adm_group_doc(params, doc, &R, &next, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "id: cannot be changed");
	json_decref(params);
	json_decref(doc);
}

static void test_computers_profiles(void)
{
	json_t *params = J("{\"name\": \"PC-17\", \"lines\": [\"111\", \"112\"],"
			   "\"first_phone\": \"111\", \"authorised_only\": true}");
	json_t *doc = NULL;
	char err[256];

	CHECK_INT(adm_computer_doc(params, NULL, &doc, err, sizeof(err)), ==, 0);
	CHECK(same(doc, "{\"id\": \"pc-17\", \"name\": \"PC-17\", \"lines\": [\"111\", \"112\"],"
			"\"first_phone\": \"111\", \"authorised_only\": true}"));
	json_decref(doc);
	json_decref(params);
	params = J("{\"name\": \"PC-17\", \"lines\": [1]}");
	CHECK_INT(adm_computer_doc(params, NULL, &doc, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "lines[0]: expected a string, got an integer");
	json_decref(params);
	params = J("{\"name\": \"Night shift\", \"description\": \"d\", \"settings\": {\"a\": 1}}");
	CHECK_INT(adm_profile_doc(params, NULL, &doc, err, sizeof(err)), ==, 0);
	CHECK(same(doc, "{\"id\": \"night-shift\", \"name\": \"Night shift\", \"description\": "
			"\"d\", \"settings\": {\"a\": 1}}"));
	json_decref(doc);
	json_decref(params);
	params = J("{\"name\": \"n\", \"settings\": []}");
	CHECK_INT(adm_profile_doc(params, NULL, &doc, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "settings: expected an object, got an array");
	json_decref(params);
}

static void test_settings(void)
{
	json_t *current = J("{\"services\": [\"chat\"], \"rights\": {\"level\": \"public\", "
			    "\"extra\": []}, \"monitor_rights\": {\"level\": \"blocked\", "
			    "\"extra\": []}, \"journal_all\": false, \"journal_delete\": false,"
			    "\"all_in_monitor\": false, \"auto_line_binding\": true,"
			    "\"restrictions\": {\"presence_off\": false, \"no_user_rights\": false,"
			    "\"chat_off\": false, \"chat_no_history\": false}}");
	json_t *params = J("{\"global_level\": \"business\", \"global_extra\": [\"see_note\"],"
			   "\"restrictions\": {\"no_user_rights\": true, \"chat_off\": true},"
			   "\"journal_all\": true, \"services\": {\"sms\": true}}");
	json_t *doc = NULL, *view;
	char err[256];

	CHECK_INT(adm_settings_doc(params, current, &doc, err, sizeof(err)), ==, 0);
	view = adm_settings_view(doc);
	CHECK(same(view,
		   "{\"global_level\": \"business\", \"global_extra\": [\"see_note\"],"
		   "\"monitor_level\": \"blocked\", \"monitor_extra\": [],"
		   "\"services\": {\"configure_self\": false, \"chat\": true,"
		   "  \"softphone_audio\": false, \"softphone_video\": false,"
		   "  \"screen_accept\": false, \"screen_initiate\": false, \"sms\": true,"
		   "  \"missed_calls_mail\": false, \"missed_calls_sms\": false,"
		   "  \"record_calls\": false, \"phone_books\": false, \"apps\": false,"
		   "  \"internet_login\": false, \"web_app\": false, \"files\": false,"
		   "  \"business_card\": false, \"teams_presence\": false,"
		   "  \"voice_mailbox\": false, \"portal\": false, \"screen_federation\": false},"
		   "\"restrictions\": {\"presence_off\": false, \"no_user_rights\": true,"
		   "  \"chat_off\": true, \"chat_no_history\": false},"
		   "\"journal_all\": true, \"journal_delete\": false, \"all_in_monitor\": false,"
		   "\"auto_line_binding\": true}"));
	json_decref(view);
	json_decref(doc);
	json_decref(params);
	params = J("{\"restrictions\": {\"presence\": true}}");
	CHECK_INT(adm_settings_doc(params, current, &doc, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "restrictions.presence: unknown member");
	json_decref(params);
	params = J("{\"global_level\": 3}");
	CHECK_INT(adm_settings_doc(params, current, &doc, err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(err, "global_level: expected one of blocked, public, business, team, personal");
	json_decref(params);
	json_decref(current);
}

static void test_messages(void)
{
	char out[128];

	adm_store_message(1, "phones.mailbox: not a number", out, sizeof(out));
	CHECK_STR(out, "numbers.voicemail: not a number");
	adm_store_message(1, "phones.mobile: too long", out, sizeof(out));
	CHECK_STR(out, "numbers.mobile: too long");
	adm_store_message(1, "first_phone: too long", out, sizeof(out));
	CHECK_STR(out, "phones.first: too long");
	adm_store_message(2, "member_rights.level: bad", out, sizeof(out));
	CHECK_STR(out, "level: bad");
	adm_store_message(5, "rights.level: bad", out, sizeof(out));
	CHECK_STR(out, "global_level: bad");
	adm_store_message(2, "phones.mobile: x", out, sizeof(out));
	CHECK_STR(out, "phones.mobile: x");
	adm_store_message(1, NULL, out, sizeof(out));
	CHECK_STR(out, "");
}

static void test_ids(void)
{
	char id[80];

	CHECK(adm_id_valid("a.b_c@d-1"));
	CHECK(!adm_id_valid("A"));
	CHECK(!adm_id_valid(""));
	CHECK(!adm_id_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	CHECK_INT(adm_id_from_name("Sales Team (EU)", id, sizeof(id)), ==, 0);
	CHECK_STR(id, "sales-team--eu-");
	CHECK_INT(adm_id_from_name("---", id, sizeof(id)), ==, -EINVAL);
	CHECK_INT(adm_id_from_name("", id, sizeof(id)), ==, -EINVAL);
}

int main(void)
{
	test_user_create();
	test_group_rights();
	test_user_update();
	test_user_errors();
	test_user_view();
	test_groups();
	test_computers_profiles();
	test_settings();
	test_messages();
	test_ids();
	return check_report();
}
