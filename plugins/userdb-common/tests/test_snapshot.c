/*
 * plugins/userdb-common/tests/test_snapshot.c - the snapshot builder of
 * userdb-common (udb_snapshot.c) with the real dialplan library and the
 * dialplan tests' locations (default: Starnberg, +49 8151 36856-xxx):
 * sorting, derived memberships, computed defaults and flags, number
 * normalisation and its warnings, lookups, reference counting; one-object
 * updates equal to full builds, also for a group of 20,000 members, where
 * one member more costs less than a full build.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dp.h"
#include "udb.h"

static struct dp_model model;
static const struct dp_location *model_loc;

static int fmt(const char *location, enum ucs_dp_kind kind, const char *number,
	       struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg)
{
	const struct dp_location *loc =
		location && *location ? dp_location_find(&model, location) : model_loc;
	if (!loc)
		return -ENOENT;
	return dp_format(&model, loc, kind, number, out, trace, arg);
}

static const struct ucs_dialplan_api dialplan = {.size = sizeof(dialplan), .format = fmt};

/* What the builder reported. */
static char reported[16384];
static int n_reported;

static void report(void *arg, int level, const char *fmt_, va_list ap)
{
	size_t n = strlen(reported);
	(void)arg;
	n += (size_t)snprintf(reported + n, sizeof(reported) - n, "%d ", level);
	if (n < sizeof(reported))
		n += (size_t)vsnprintf(reported + n, sizeof(reported) - n, fmt_, ap);
	if (n < sizeof(reported) - 1)
		strcat(reported, "\n");
	n_reported++;
}

static void reset_report(void)
{
	reported[0] = 0;
	n_reported = 0;
}

static void add(struct udb_docs *d, int kind, const char *text)
{
	static const struct udb_ctx ctx = {"example.com", UDB_STORED};
	char err[256];
	json_t *doc = NULL;
	int rc = udb_doc_canon_text(kind, text, strlen(text), &ctx, &doc, NULL, err, sizeof(err));

	if (rc)
		fprintf(stderr, "fixture: %s\n", err);
	CHECK_INT(rc, ==, 0);
	if (!rc)
		json_object_set_new(d->kind[kind], kind == UCS_UD_SETTINGS ? "" : udb_doc_id(doc),
				    doc);
}

static void base_build(struct udb_build *b, const struct udb_docs *docs, struct udb_numcache *cache)
{
	memset(b, 0, sizeof(*b));
	b->store = "file";
	b->generation = 7;
	b->presence_domain = "example.com";
	b->picture_dir = "/var/lib/ucsd/userdb/pictures";
	b->dialplan = &dialplan;
	b->numcache = cache;
	b->docs = docs;
	b->user_flags = UCS_UD_BIND_BUSINESS;
	b->report.h = report;
}

static void test_build(void)
{
	struct udb_numcache *cache = udb_numcache_new();
	const struct ucs_ud_snapshot *s = NULL, *s2 = NULL;
	const struct ucs_ud_user *u;
	const struct ucs_ud_group *g;
	struct udb_docs docs;
	struct udb_build b;

	udb_docs_init(&docs);
	add(&docs, UCS_UD_USER,
	    "{\"id\":\"zed\",\"login\":\"ALICE\",\"services\":[\"sms\"]}"); /* a taken login */
	add(&docs, UCS_UD_USER,
	    "{\"id\":\"alice\",\"login\":\"Alice\",\"first_name\":\"Alice\",\"last_name\":"
	    "\"Smith\",\"password_hash\":\"$argon2id$v=19$x\",\"contact_image\":true,"
	    "\"phones\":{\"business\":\"08151 3685-620\",\"mobile\":\"0171 1234567\","
	    "\"private\":\"abc\",\"fax\":\"220\"},\"services\":[\"chat\",\"sms\"],"
	    "\"other_numbers\":[\"555\"],\"other_lines\":[\"l3\",\"l4\"],\"first_phone\":\"220\","
	    "\"extra_lines\":[{\"line\":\"113\",\"show_incoming\":true,\"pickup\":true}],"
	    "\"grants\":[{\"user\":\"bob\",\"level\":\"team\",\"extra\":[\"set_note\"]}],"
	    "\"contact\":{\"city\":\"Starnberg\",\"title\":\"Dr.\"}}");
	add(&docs, UCS_UD_USER,
	    "{\"id\":\"bob\",\"login\":\"bob\",\"active\":false,\"voice_services\":true,"
	    "\"identity\":\"robert@other.org\",\"display_name\":\"Bobby\"}");
	add(&docs, UCS_UD_USER, "{\"id\":\"carol\",\"login\":\"carol\",\"last_name\":\"Jones\"}");
	add(&docs, UCS_UD_GROUP,
	    "{\"id\":\"sales\",\"name\":\"Sales\",\"members\":[\"bob\",\"ghost\",\"alice\"],"
	    "\"leader\":\"carol\",\"journal\":{\"leader\":true,\"modify\":true},"
	    "\"member_rights\":{\"level\":\"team\"},\"leader_rights\":{\"level\":\"personal\","
	    "\"extra\":[\"line1.pickup\"]},\"keys\":[{\"label\":\"Pizza\",\"number\":\"123\"}],"
	    "\"call_group\":\"voice\",\"ringing\":\"queue\",\"monitor_groups\":[\"all\"]}");
	add(&docs, UCS_UD_GROUP,
	    "{\"id\":\"all\",\"members\":[\"alice\",\"carol\"],\"active\":false}");
	add(&docs, UCS_UD_COMPUTER,
	    "{\"id\":\"pc2\",\"lines\":[\"*\"],\"authorised_only\":true,\"last_logon\":1700000000,"
	    "\"last_user\":\"alice\"}");
	add(&docs, UCS_UD_COMPUTER, "{\"id\":\"pc1\",\"name\":\"PC1\",\"first_phone\":\"221\"}");
	add(&docs, UCS_UD_PROFILE, "{\"id\":\"sales\",\"settings\":{\"theme\":\"dark\"}}");
	add(&docs, UCS_UD_PROFILE, "{\"id\":\"admin\",\"description\":\"Admins\"}");
	add(&docs, UCS_UD_SETTINGS,
	    "{\"services\":[\"chat\"],\"journal_all\":true,\"auto_line_binding\":false,"
	    "\"restrictions\":{\"chat_off\":true},\"monitor_rights\":{\"level\":\"business\"}}");
	base_build(&b, &docs, cache);
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	if (!s)
		return;
	CHECK_INT(s->generation, ==, 7);
	CHECK_STR(s->store, "file");
	/* users sorted by id; zed lost its login to alice (smaller id) */
	CHECK_INT(s->n_users, ==, 3);
	CHECK_STR(s->users[0]->id, "alice");
	CHECK_STR(s->users[1]->id, "bob");
	CHECK_STR(s->users[2]->id, "carol");
	CHECK_CONTAINS(reported, "user zed: login \"ALICE\" is taken by user alice: skipped");
	/* numbers */
	u = udb_snap_user(s, "alice");
	CHECK(u != NULL);
	if (!u)
		return;
	CHECK_STR(u->phones[UCS_UD_PHONE_BUSINESS].entered, "08151 3685-620");
	CHECK_STR(u->phones[UCS_UD_PHONE_BUSINESS].canonical, "+4981513685620");
	CHECK_STR(u->phones[UCS_UD_PHONE_MOBILE].canonical, "+491711234567");
	CHECK_STR(u->phones[UCS_UD_PHONE_FAX].canonical, "+49815136856220"); /* an extension */
	CHECK_STR(u->phones[UCS_UD_PHONE_PRIVATE].entered, "abc");
	CHECK_STR(u->phones[UCS_UD_PHONE_PRIVATE].canonical, "");
	CHECK_STR(u->phones[UCS_UD_PHONE_PAGER].entered, "");
	CHECK_STR(u->phones[UCS_UD_PHONE_PAGER].canonical, "");
	CHECK_CONTAINS(reported, "user alice: private number \"abc\" cannot be normalised");
	/* computed defaults, flags, lists */
	CHECK_STR(u->identity, "alice@example.com");
	CHECK_STR(u->display_name, "Alice Smith");
	CHECK_INT(u->flags, ==, UCS_UD_ACTIVE | UCS_UD_HAS_PASSWORD | UCS_UD_BIND_BUSINESS);
	CHECK_INT(u->services, ==, UCS_SVC_CHAT | UCS_SVC_SMS);
	CHECK_STR(u->contact_image, "/var/lib/ucsd/userdb/pictures/alice.contact.png");
	CHECK_STR(u->profile_picture, "");
	CHECK_STR(u->city, "Starnberg");
	CHECK_STR(u->title, "Dr.");
	CHECK_STR(u->company, "");
	CHECK_STR(u->first_phone, "220");
	CHECK_INT(u->n_other_numbers, ==, 1);
	CHECK_INT(u->n_other_lines, ==, 2);
	CHECK_STR(u->other_lines[1], "l4");
	CHECK_INT(u->n_extra_lines, ==, 1);
	CHECK_STR(u->extra_lines[0].line, "113");
	CHECK_INT(u->extra_lines[0].rights, ==, UCS_UD_LINE_SHOW_INCOMING | UCS_UD_LINE_PICKUP);
	CHECK_INT(u->n_grants, ==, 1);
	CHECK_STR(u->grants[0].user, "bob");
	CHECK_INT(u->grants[0].rights.level, ==, UCS_LEVEL_TEAM);
	CHECK_INT(u->grants[0].rights.extra, ==, UCS_R_SET_NOTE);
	/* memberships derived from the groups, sorted by group id */
	CHECK_INT(u->n_groups, ==, 2);
	CHECK_STR(u->groups[0], "all");
	CHECK_STR(u->groups[1], "sales");
	u = udb_snap_user(s, "bob");
	CHECK_STR(u->identity, "robert@other.org");
	CHECK_STR(u->display_name, "Bobby");
	CHECK_INT(u->flags, ==, UCS_UD_VOICE_SERVICES | UCS_UD_BIND_BUSINESS);
	CHECK_INT(u->n_groups, ==, 1);
	CHECK_STR(u->groups[0], "sales");
	u = udb_snap_user(s, "carol");
	CHECK_STR(u->display_name, "Jones");
	CHECK_INT(u->n_groups, ==, 1);
	CHECK(u->groups && strcmp(u->groups[0], "all") == 0);
	/* lookups */
	CHECK(udb_snap_user_by_login(s, "ALICE") == udb_snap_user(s, "alice"));
	CHECK(udb_snap_user_by_login(s, "aLiCe") != NULL);
	CHECK(udb_snap_user_by_login(s, "zed") == NULL);
	CHECK(udb_snap_user_by_login(s, "") == NULL);
	CHECK(udb_snap_user(s, "zed") == NULL);
	CHECK(udb_snap_user(s, "alicf") == NULL);
	/* groups */
	CHECK_INT(s->n_groups, ==, 2);
	CHECK_STR(s->groups[0]->id, "all");
	g = udb_snap_group(s, "sales");
	CHECK(g != NULL);
	if (g) {
		CHECK_STR(g->name, "Sales");
		CHECK_INT(g->n_members, ==, 3);
		CHECK_STR(g->members[1], "ghost"); /* kept, ignored for memberships */
		CHECK_STR(g->leader, "carol");
		CHECK_STR(g->deputy, "");
		CHECK_INT(g->active, ==, 1);
		CHECK_INT(g->journal, ==, UCS_UD_JOURNAL_LEADER | UCS_UD_JOURNAL_MODIFY);
		CHECK_INT(g->member_rights.level, ==, UCS_LEVEL_TEAM);
		CHECK_INT(g->leader_rights.level, ==, UCS_LEVEL_PERSONAL);
		CHECK_INT(g->leader_rights.extra, ==, UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_PICKUP));
		CHECK_INT(g->n_keys, ==, 1);
		CHECK_STR(g->keys[0].number, "123");
		CHECK_INT(g->call_group, ==, UCS_UD_CALLGROUP_VOICE);
		CHECK_INT(g->ringing, ==, UCS_UD_RING_QUEUE);
		CHECK_INT(g->n_monitor_groups, ==, 1);
	}
	g = udb_snap_group(s, "all");
	CHECK(g && g->active == 0 && strcmp(g->name, "all") == 0);
	/* computers */
	CHECK_INT(s->n_computers, ==, 2);
	CHECK_STR(s->computers[0]->id, "pc1");
	CHECK_STR(s->computers[0]->name, "PC1");
	CHECK_STR(udb_snap_computer(s, "pc2")->lines[0], "*");
	CHECK_INT(udb_snap_computer(s, "pc2")->last_logon, ==, 1700000000);
	CHECK_INT(udb_snap_computer(s, "pc2")->authorised_only, ==, 1);
	CHECK(udb_snap_computer(s, "pc3") == NULL);
	/* profiles: "default" exists although no document has it */
	CHECK_INT(s->n_profiles, ==, 3);
	CHECK_STR(s->profiles[0]->id, "admin");
	CHECK_STR(s->profiles[1]->id, "default");
	CHECK_STR(s->profiles[2]->id, "sales");
	CHECK_STR(udb_snap_profile(s, "sales")->settings_json, "{\"theme\":\"dark\"}");
	CHECK_STR(udb_snap_profile(s, "default")->settings_json, "{}");
	CHECK_STR(udb_snap_profile(s, "admin")->description, "Admins");
	/* settings */
	CHECK_INT(s->settings->flags, ==, UCS_UD_JOURNAL_ALL);
	CHECK_INT(s->settings->restrictions, ==, UCS_RESTRICT_CHAT_OFF);
	CHECK_INT(s->settings->services, ==, UCS_SVC_CHAT);
	CHECK_INT(s->settings->rights.level, ==, UCS_LEVEL_PUBLIC);
	CHECK_INT(s->settings->monitor_rights.level, ==, UCS_LEVEL_BUSINESS);
	/* the group list of a user as JSON (the read form's "groups") */
	{
		json_t *a = udb_snap_user_groups_json(s, "alice");
		CHECK_INT(json_array_size(a), ==, 2);
		json_decref(a);
		a = udb_snap_user_groups_json(s, "nobody");
		CHECK_INT(json_array_size(a), ==, 0);
		json_decref(a);
	}
	/* a second build with the cache: no second warning for "abc" */
	reset_report();
	b.directory_kinds = UDB_KIND_BIT(UCS_UD_USER);
	CHECK_INT(udb_snapshot_build(&b, &s2), ==, 0);
	CHECK(!strstr(reported, "abc"));
	CHECK(udb_snap_user(s2, "bob")->flags & UCS_UD_DIRECTORY);
	CHECK_STR(udb_snap_user(s2, "alice")->phones[UCS_UD_PHONE_BUSINESS].canonical,
		  "+4981513685620");
	/* references: the snapshot outlives what built it */
	udb_docs_clear(&docs);
	CHECK(udb_snapshot_ref(s) == s);
	udb_snapshot_unref(s);
	CHECK_STR(udb_snap_user(s, "alice")->login, "Alice");
	udb_snapshot_unref(s);
	udb_snapshot_unref(s2);
	udb_snapshot_unref(NULL);
	udb_numcache_free(cache);
}

static void test_empty_and_without_dialplan(void)
{
	const struct ucs_ud_snapshot *s = NULL;
	struct udb_docs docs;
	struct udb_build b;

	udb_docs_init(&docs);
	base_build(&b, &docs, NULL);
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	CHECK_INT(s->n_users, ==, 0);
	CHECK_INT(s->n_profiles, ==, 1);
	CHECK(s->settings != NULL);
	CHECK_INT(s->settings->flags, ==, UCS_UD_AUTO_LINE_BINDING);
	CHECK_INT(s->settings->rights.level, ==, UCS_LEVEL_PUBLIC);
	CHECK(udb_snap_user(s, "x") == NULL);
	CHECK(udb_snap_user_by_login(s, "x") == NULL);
	CHECK(udb_snap_group(s, "x") == NULL);
	udb_snapshot_unref(s);
	/* without a dialplan: no canonical forms, one warning per number */
	add(&docs, UCS_UD_USER, "{\"id\":\"a\",\"login\":\"a\",\"phones\":{\"mobile\":\"0171\"}}");
	b.dialplan = NULL;
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	CHECK_STR(udb_snap_user(s, "a")->phones[UCS_UD_PHONE_MOBILE].canonical, "");
	CHECK_CONTAINS(reported, "mobile number \"0171\" cannot be normalised (no dialplan)");
	udb_snapshot_unref(s);
	udb_docs_clear(&docs);
}

static void test_many(void)
{
	struct udb_numcache *cache = udb_numcache_new();
	const struct ucs_ud_snapshot *s = NULL;
	struct udb_docs docs;
	struct udb_build b;
	char text[256], id[32], login[32];
	int found = 0, by_login = 0;

	udb_docs_init(&docs);
	for (int i = 0; i < 3000; i++) {
		/* 40 numbers that do not normalise: 10 reported, then a summary */
		if (i < 40)
			snprintf(text, sizeof(text),
				 "{\"id\":\"user%d\",\"login\":\"User%d\",\"phones\":{"
				 "\"business\":\"n/a %c%c\"}}",
				 i, i, 'a' + i / 26, 'a' + i % 26);
		else
			snprintf(text, sizeof(text),
				 "{\"id\":\"user%d\",\"login\":\"User%d\",\"phones\":{"
				 "\"business\":\"08151 3685-%d\"}}",
				 i, i, i);
		add(&docs, UCS_UD_USER, text);
	}
	base_build(&b, &docs, cache);
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	CHECK_INT(s->n_users, ==, 3000);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "user%d", i);
		snprintf(login, sizeof(login), "USER%d", i);
		found += udb_snap_user(s, id) != NULL && strcmp(udb_snap_user(s, id)->id, id) == 0;
		by_login += udb_snap_user_by_login(s, login) == udb_snap_user(s, id);
	}
	CHECK_INT(found, ==, 3000);
	CHECK_INT(by_login, ==, 3000);
	for (size_t i = 1; i < s->n_users; i++)
		CHECK(strcmp(s->users[i - 1]->id, s->users[i]->id) < 0);
	CHECK_INT(n_reported, ==, 11);
	CHECK_CONTAINS(reported, "30 more phone numbers cannot be normalised");
	CHECK_STR(udb_snap_user(s, "user2999")->phones[0].canonical, "+4981513685"
								     "2999");
	udb_snapshot_unref(s);
	/* a rebuild reuses the cache: nothing reported again */
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	CHECK_INT(n_reported, ==, 0);
	udb_snapshot_unref(s);
	/* cleared (dialplan reloaded): reported again */
	udb_numcache_clear(cache);
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &s), ==, 0);
	CHECK_INT(n_reported, ==, 11);
	udb_snapshot_unref(s);
	udb_docs_clear(&docs);
	udb_numcache_free(cache);
}

/* ---- single-object updates equal full builds ---- */

/* Everything a snapshot says, as text (pointer-free). */
static void dump_strs(FILE *f, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s,", list[i]);
	fputc(';', f);
}

static char *dump(const struct ucs_ud_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fprintf(f, "%s %d %zu %zu %zu %zu\n", s->store, s->write_back, s->n_users, s->n_groups,
		s->n_computers, s->n_profiles);
	for (size_t i = 0; i < s->n_users; i++) {
		const struct ucs_ud_user *u = s->users[i];
		fprintf(f, "U %s %s %s %s %s %s %s %s %s %s %x %llx|", u->id, u->login, u->identity,
			u->first_name, u->last_name, u->display_name, u->profile, u->email, u->dn,
			u->first_phone, u->flags, (unsigned long long)u->services);
		for (int p = 0; p < UCS_UD_PHONE_COUNT; p++)
			fprintf(f, "%s=%s,", u->phones[p].entered, u->phones[p].canonical);
		dump_strs(f, u->other_numbers, u->n_other_numbers);
		dump_strs(f, u->other_lines, u->n_other_lines);
		for (size_t k = 0; k < u->n_extra_lines; k++)
			fprintf(f, "%s:%u,", u->extra_lines[k].line, u->extra_lines[k].rights);
		for (size_t k = 0; k < u->n_grants; k++)
			fprintf(f, "%s:%d:%llx,", u->grants[k].user, u->grants[k].rights.level,
				(unsigned long long)u->grants[k].rights.extra);
		fprintf(f, "%s %s %s %s %s %s %s %s %s %s %s %s %s|", u->second_phone, u->title,
			u->company, u->department, u->office, u->street, u->postal_code, u->city,
			u->state, u->country, u->website, u->contact_image, u->profile_picture);
		dump_strs(f, u->groups, u->n_groups);
		fputc('\n', f);
		/* the login lookup finds her */
		if (udb_snap_user_by_login(s, u->login) != u)
			fprintf(f, "LOGIN LOOKUP FAILED %s\n", u->login);
	}
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct ucs_ud_group *g = s->groups[i];
		fprintf(f, "G %s %s %d %s %s %llx %u %d %llx %d %llx %d %d %s|", g->id, g->name,
			g->active, g->leader, g->deputy, (unsigned long long)g->services,
			g->journal, g->member_rights.level,
			(unsigned long long)g->member_rights.extra, g->leader_rights.level,
			(unsigned long long)g->leader_rights.extra, g->call_group, g->ringing,
			g->call_number);
		dump_strs(f, g->members, g->n_members);
		dump_strs(f, g->monitor_groups, g->n_monitor_groups);
		dump_strs(f, g->favourite_groups, g->n_favourite_groups);
		for (size_t k = 0; k < g->n_keys; k++)
			fprintf(f, "%s=%s,", g->keys[k].label, g->keys[k].number);
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->n_computers; i++) {
		const struct ucs_ud_computer *c = s->computers[i];
		fprintf(f, "C %s %s %d %s %s %lld %s|", c->id, c->name, c->authorised_only,
			c->first_phone, c->second_phone, (long long)c->last_logon, c->last_user);
		dump_strs(f, c->lines, c->n_lines);
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->n_profiles; i++)
		fprintf(f, "P %s %s %s %s\n", s->profiles[i]->id, s->profiles[i]->name,
			s->profiles[i]->description, s->profiles[i]->settings_json);
	fprintf(f, "S %x %x %llx %d %llx %d %llx\n", s->settings->flags, s->settings->restrictions,
		(unsigned long long)s->settings->services, s->settings->rights.level,
		(unsigned long long)s->settings->rights.extra, s->settings->monitor_rights.level,
		(unsigned long long)s->settings->monitor_rights.extra);
	fclose(f);
	return text;
}

static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};

/* A random valid stored document of kind for id. */
static json_t *random_doc(int kind, const char *id)
{
	static const struct udb_ctx ctx = {"example.com", UDB_STORED};
	char text[1024], err[256];
	json_t *doc = NULL;
	int r = rand();

	switch (kind) {
	case UCS_UD_USER:
		/* now and then a login another user has (in another case) */
		snprintf(
			text, sizeof(text),
			"{\"id\":\"%s\",\"login\":\"%s\",\"first_name\":\"F%d\",\"phones\":{"
			"\"business\":\"08151 3685-%d\"},\"services\":[\"%s\"],\"grants\":[{\"user\":"
			"\"%s\",\"level\":\"team\"}]}",
			id, r % 11 == 0 ? (r % 2 ? "A" : "B") : id, r % 97, r % 1000,
			r % 3 ? "chat" : "sms", strcmp(id, "a") ? "a" : "b");
		break;
	case UCS_UD_GROUP: {
		size_t n = 0;
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "{\"id\":\"%s\",\"active\":%s,\"members\":[", id,
				      r % 5 ? "true" : "false");
		for (int i = 0, k = 0; i < 8; i++)
			if ((r >> (i + 3)) & 1)
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"%s\"",
						      k++ ? "," : "", names[i]);
		snprintf(text + n, sizeof(text) - n, "],\"leader\":\"%s\"}", names[r % 8]);
		break;
	}
	case UCS_UD_COMPUTER:
		snprintf(text, sizeof(text), "{\"id\":\"%s\",\"lines\":[\"%d\"],\"last_logon\":%d}",
			 id, r % 300, r % 100000);
		break;
	case UCS_UD_PROFILE:
		snprintf(text, sizeof(text), "{\"id\":\"%s\",\"settings\":{\"n\":%d}}", id, r % 50);
		break;
	default:
		snprintf(text, sizeof(text), "{\"services\":[\"%s\"],\"journal_all\":%s}",
			 r % 2 ? "chat" : "files", r % 3 ? "true" : "false");
	}
	CHECK_INT(udb_doc_canon_text(kind, text, strlen(text), &ctx, &doc, NULL, err, sizeof(err)),
		  ==, 0);
	return doc;
}

static void test_updates(void)
{
	struct udb_numcache *cache = udb_numcache_new();
	const struct ucs_ud_snapshot *snap = NULL;
	struct udb_docs docs;
	struct udb_build b;
	int updates = 0, rebuilds = 0, mismatches = 0;

	srand(4);
	udb_docs_init(&docs);
	json_object_set_new(docs.kind[UCS_UD_SETTINGS], "", udb_doc_default(UCS_UD_SETTINGS, NULL));
	base_build(&b, &docs, cache);
	reset_report();
	CHECK_INT(udb_snapshot_build(&b, &snap), ==, 0);
	for (int step = 0; step < 3000 && snap; step++) {
		int kind = UCS_UD_USER + rand() % 5;
		const char *id = kind == UCS_UD_SETTINGS ? "" : names[rand() % 8];
		int remove = kind != UCS_UD_SETTINGS && rand() % 4 == 0 &&
			     !(kind == UCS_UD_PROFILE && strcmp(id, "default") == 0);
		json_t *doc = remove ? NULL : random_doc(kind, id);
		const struct ucs_ud_snapshot *next = NULL, *full = NULL;
		char *a, *c;
		int rc;

		if (doc)
			json_object_set(docs.kind[kind], id, doc);
		else
			json_object_del(docs.kind[kind], id);
		b.generation++;
		rc = udb_snapshot_update(snap, &b, kind, id, doc, &next);
		CHECK(rc == 0 || rc == -EAGAIN);
		if (rc == -EAGAIN) {
			rebuilds++;
			rc = udb_snapshot_build(&b, &next);
		} else {
			updates++;
		}
		CHECK_INT(rc, ==, 0);
		CHECK_INT(udb_snapshot_build(&b, &full), ==, 0);
		a = dump(next);
		c = dump(full);
		if (strcmp(a, c) != 0) {
			if (!mismatches)
				fprintf(stderr,
					"step %d (%s %s %s):\nupdate:\n%s\nfull build:\n%s\n", step,
					remove ? "remove" : "put", udb_kind_name(kind), id, a, c);
			mismatches++;
		}
		CHECK(!strstr(a, "LOOKUP FAILED"));
		free(a);
		free(c);
		json_decref(doc);
		/* the old snapshot stays usable while the new one lives */
		CHECK(snap->n_users == 0 ||
		      udb_snap_user(snap, snap->users[0]->id) == snap->users[0]);
		udb_snapshot_unref(snap);
		udb_snapshot_unref(full);
		snap = next;
	}
	CHECK_INT(mismatches, ==, 0);
	CHECK(updates > 2000);
	CHECK(rebuilds > 0); /* login collisions ("Xa" vs "xa") happen */
	fprintf(stderr, "%d updates, %d full builds\n", updates, rebuilds);
	udb_snapshot_unref(snap);
	udb_docs_clear(&docs);
	udb_numcache_free(cache);
}

/* ---- a large group: one member more must not cost a scan per member ---- */

#define BIG 20000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *big_group(int members)
{
	json_t *g = udb_doc_default(UCS_UD_GROUP, "big"), *list = json_object_get(g, "members");
	char id[16];

	for (int i = 0; i < members; i++) {
		snprintf(id, sizeof(id), "m%05d", (i * 7919) % (BIG + 1)); /* not in id order */
		json_array_append_new(list, json_string(id));
	}
	return g;
}

static void test_big_group(void)
{
	const struct ucs_ud_snapshot *snap = NULL, *next = NULL, *full = NULL;
	struct udb_docs docs;
	struct udb_build b;
	double update_ms = 1e9, build_ms = 1e9;
	json_t *more = big_group(BIG + 1);
	char id[16];

	udb_docs_init(&docs);
	for (int i = 0; i <= BIG; i++) {
		snprintf(id, sizeof(id), "m%05d", i);
		json_object_set_new(docs.kind[UCS_UD_USER], id, udb_doc_default(UCS_UD_USER, id));
	}
	json_object_set_new(docs.kind[UCS_UD_GROUP], "big", big_group(BIG));
	base_build(&b, &docs, NULL);
	b.dialplan = NULL;
	CHECK_INT(udb_snapshot_build(&b, &snap), ==, 0);
	json_object_set(docs.kind[UCS_UD_GROUP], "big", more);
	for (int r = 0; r < 3 && snap; r++) {
		double t0 = now_ms(), t1;

		udb_snapshot_unref(next);
		udb_snapshot_unref(full);
		CHECK_INT(udb_snapshot_update(snap, &b, UCS_UD_GROUP, "big", more, &next), ==, 0);
		t1 = now_ms();
		CHECK_INT(udb_snapshot_build(&b, &full), ==, 0);
		if (t1 - t0 < update_ms)
			update_ms = t1 - t0;
		if (now_ms() - t1 < build_ms)
			build_ms = now_ms() - t1;
	}
	fprintf(stderr, "one member more in a group of %d: update %.1f ms, full build %.1f ms\n",
		BIG, update_ms, build_ms);
	/* A scan of the new list per old member made this update take 1.2 s
	 * (20,000 members), thirty times a full build of the whole store; a
	 * sorted list makes it a fraction of one. */
	CHECK(update_ms < build_ms);
	if (next && full) {
		char *a = dump(next), *c = dump(full);

		CHECK(strcmp(a, c) == 0);
		free(a);
		free(c);
		CHECK_INT(udb_snap_user(next, "m20000")->n_groups, ==, 1);
		CHECK_INT(udb_snap_group(next, "big")->n_members, ==, BIG + 1);
	}
	udb_snapshot_unref(next);
	udb_snapshot_unref(full);
	udb_snapshot_unref(snap);
	json_decref(more);
	udb_docs_clear(&docs);
}

static void on_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "dialplan: %s:%d: %s\n", file ? file : "", line, msg);
}

int main(void)
{
	struct dp_errors errs = {on_error, NULL, 0};

	CHECK_INT(dp_model_load(&model, DP_DATA_DIR, DP_FIXTURES_DIR, "Starnberg", &errs), ==, 0);
	CHECK_INT(errs.count, ==, 0);
	if (errs.count || !model.n_locations)
		return check_report();
	model_loc = dp_location_find(&model, "Starnberg");
	CHECK(model_loc != NULL);
	test_build();
	test_empty_and_without_dialplan();
	test_many();
	test_updates();
	test_big_group();
	dp_model_free(&model);
	return check_report();
}
