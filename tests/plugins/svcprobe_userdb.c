/*
 * tests/plugins/svcprobe_userdb.c - svcprobe commands for the ucs.userdb
 * service, whichever plugin provides it (userdb-file, userdb-ldap).
 *
 * Kinds are spelled user, group, computer, profile, settings. Documents
 * travel as compact JSON on one line. Snapshot objects are shown as JSON
 * with every field of their struct; bit sets (services, rights) are
 * integers, flags a list of names. Answers: "ok <json>" or
 * "err ENAME text".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "svcprobe.h"

static const char *const kind_names[] = {NULL, "user", "group", "computer", "profile", "settings"};

static int kind_of(const char *name)
{
	for (int k = UCS_UD_USER; k <= UCS_UD_SETTINGS; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	return -EINVAL;
}

static const struct ucs_userdb_api *api(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_userdb_api *u = svcprobe_service(p, UCS_USERDB_SERVICE);

	if (!u)
		svcprobe_reply_err(c, -ENOENT, "no " UCS_USERDB_SERVICE " service");
	return u;
}

/* Replies "ok <json>" and drops the reference. */
static void reply_json(struct svcprobe_client *c, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (text)
		svcprobe_reply(c, "ok %s", text);
	else
		svcprobe_reply_err(c, -ENOMEM, NULL);
	free(text);
	json_decref(j);
}

static json_t *str_list(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static json_t *rights_json(const struct ucs_rights_set *r)
{
	return json_pack("{s:i,s:I}", "level", r->level, "extra", (json_int_t)r->extra);
}

static const char *const phone_names[UCS_UD_PHONE_COUNT] = {
	"business", "business2", "private", "mobile", "pager", "mailbox", "recording", "fax",
};

static json_t *user_json(const struct ucs_ud_user *u)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} flag_names[] = {
		{UCS_UD_ACTIVE, "active"},
		{UCS_UD_VOICE_SERVICES, "voice_services"},
		{UCS_UD_DIRECTORY, "directory"},
		{UCS_UD_BIND_BUSINESS, "bind_business"},
		{UCS_UD_BIND_BUSINESS2, "bind_business2"},
		{UCS_UD_HAS_PASSWORD, "has_password"},
	};
	json_t *j = json_object(), *phones = json_object(), *flags = json_array();
	json_t *extra = json_array(), *grants = json_array();

	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (u->flags & flag_names[i].bit)
			json_array_append_new(flags, json_string(flag_names[i].name));
	for (int i = 0; i < UCS_UD_PHONE_COUNT; i++)
		json_object_set_new(phones, phone_names[i],
				    json_pack("{s:s,s:s}", "entered", u->phones[i].entered,
					      "canonical", u->phones[i].canonical));
	for (size_t i = 0; i < u->n_extra_lines; i++)
		json_array_append_new(extra, json_pack("{s:s,s:i}", "line", u->extra_lines[i].line,
						       "rights", (int)u->extra_lines[i].rights));
	for (size_t i = 0; i < u->n_grants; i++)
		json_array_append_new(grants,
				      json_pack("{s:s,s:o}", "user", u->grants[i].user, "rights",
						rights_json(&u->grants[i].rights)));
	json_object_set_new(j, "id", json_string(u->id));
	json_object_set_new(j, "login", json_string(u->login));
	json_object_set_new(j, "identity", json_string(u->identity));
	json_object_set_new(j, "first_name", json_string(u->first_name));
	json_object_set_new(j, "last_name", json_string(u->last_name));
	json_object_set_new(j, "display_name", json_string(u->display_name));
	json_object_set_new(j, "profile", json_string(u->profile));
	json_object_set_new(j, "email", json_string(u->email));
	json_object_set_new(j, "dn", json_string(u->dn));
	json_object_set_new(j, "flags", flags);
	json_object_set_new(j, "phones", phones);
	json_object_set_new(j, "other_numbers", str_list(u->other_numbers, u->n_other_numbers));
	json_object_set_new(j, "first_phone", json_string(u->first_phone));
	json_object_set_new(j, "second_phone", json_string(u->second_phone));
	json_object_set_new(j, "other_lines", str_list(u->other_lines, u->n_other_lines));
	json_object_set_new(j, "extra_lines", extra);
	json_object_set_new(j, "contact",
			    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "title",
				      u->title, "company", u->company, "department", u->department,
				      "office", u->office, "street", u->street, "postal_code",
				      u->postal_code, "city", u->city, "state", u->state, "country",
				      u->country, "website", u->website));
	json_object_set_new(j, "contact_image", json_string(u->contact_image));
	json_object_set_new(j, "profile_picture", json_string(u->profile_picture));
	json_object_set_new(j, "services", json_integer((json_int_t)u->services));
	json_object_set_new(j, "grants", grants);
	json_object_set_new(j, "groups", str_list(u->groups, u->n_groups));
	return j;
}

static json_t *group_json(const struct ucs_ud_group *g)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < g->n_keys; i++)
		json_array_append_new(keys, json_pack("{s:s,s:s}", "label", g->keys[i].label,
						      "number", g->keys[i].number));
	return json_pack("{s:s,s:s,s:s,s:b,s:o,s:s,s:s,s:I,s:i,s:o,s:o,s:o,s:o,s:o,s:i,s:i,s:s}",
			 "id", g->id, "name", g->name, "dn", g->dn, "active", g->active, "members",
			 str_list(g->members, g->n_members), "leader", g->leader, "deputy",
			 g->deputy, "services", (json_int_t)g->services, "journal", (int)g->journal,
			 "member_rights", rights_json(&g->member_rights), "leader_rights",
			 rights_json(&g->leader_rights), "monitor_groups",
			 str_list(g->monitor_groups, g->n_monitor_groups), "favourite_groups",
			 str_list(g->favourite_groups, g->n_favourite_groups), "keys", keys,
			 "call_group", g->call_group, "ringing", g->ringing, "call_number",
			 g->call_number);
}

static json_t *computer_json(const struct ucs_ud_computer *c)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:o,s:I,s:s}", "id", c->id, "name", c->name,
			 "dn", c->dn, "authorised_only", c->authorised_only, "first_phone",
			 c->first_phone, "second_phone", c->second_phone, "lines",
			 str_list(c->lines, c->n_lines), "last_logon", (json_int_t)c->last_logon,
			 "last_user", c->last_user);
}

static json_t *profile_json(const struct ucs_ud_profile *pr)
{
	json_t *settings = json_loads(pr->settings_json, 0, NULL);

	return json_pack("{s:s,s:s,s:s,s:o}", "id", pr->id, "name", pr->name, "description",
			 pr->description, "settings", settings ? settings : json_null());
}

static json_t *settings_json(const struct ucs_ud_settings *s)
{
	return json_pack("{s:i,s:i,s:I,s:o,s:o}", "flags", (int)s->flags, "restrictions",
			 (int)s->restrictions, "services", (json_int_t)s->services, "rights",
			 rights_json(&s->rights), "monitor_rights",
			 rights_json(&s->monitor_rights));
}

/* ---- commands ---- */

static void cmd_get(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int kind = kind_of(argv[1]);
	size_t cap = 4096;
	char *buf = NULL;
	int n;

	(void)rest;
	if (!u)
		return;
	if (kind < 0 || (kind != UCS_UD_SETTINGS && argc < 3)) {
		svcprobe_reply(c, "err EINVAL usage: ud.get KIND [ID]");
		return;
	}
	for (;;) {
		char *nb = realloc(buf, cap);
		if (!nb) {
			n = -ENOMEM;
			break;
		}
		buf = nb;
		n = u->get_json(kind, argc > 2 ? argv[2] : "", buf, cap);
		if (n < 0 || (size_t)n < cap)
			break;
		cap = (size_t)n + 1;
	}
	if (n < 0)
		svcprobe_reply_err(c, n, NULL);
	else
		svcprobe_reply(c, "ok %s", buf);
	free(buf);
}

static void cmd_put(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int kind = kind_of(argv[1]);
	const char *json = strchr(rest, ' ');
	char err[1024] = "";
	int rc;

	(void)argc;
	if (!u)
		return;
	if (kind < 0 || !json) {
		svcprobe_reply(c, "err EINVAL usage: ud.put KIND JSON");
		return;
	}
	json++;
	rc = u->put_json(kind, json, strlen(json), err, sizeof(err));
	if (rc)
		svcprobe_reply_err(c, rc, err[0] ? err : NULL);
	else
		svcprobe_reply(c, "ok");
}

/* ud.putfile KIND PATH : put_json with the file's bytes (documents longer
 * than a probe line, up to the store's limit and beyond). */
static void cmd_putfile(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int kind = kind_of(argv[1]), rc;
	char err[1024] = "", *data = NULL;
	size_t len = 0;
	long size;
	FILE *f;

	(void)argc, (void)rest;
	if (!u)
		return;
	if (kind < 0) {
		svcprobe_reply(c, "err EINVAL usage: ud.putfile KIND PATH");
		return;
	}
	f = fopen(argv[2], "rb");
	if (!f) {
		svcprobe_reply_err(c, -errno, "cannot open the file");
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = size > 0 ? malloc((size_t)size) : NULL;
	len = data ? fread(data, 1, (size_t)size, f) : 0;
	fclose(f);
	if (!data) {
		svcprobe_reply_err(c, -EINVAL, "empty file");
		return;
	}
	rc = u->put_json(kind, data, len, err, sizeof(err));
	free(data);
	if (rc)
		svcprobe_reply_err(c, rc, err[0] ? err : NULL);
	else
		svcprobe_reply(c, "ok");
}

static void cmd_remove(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int kind = kind_of(argv[1]), rc;

	(void)argc, (void)rest;
	if (!u)
		return;
	rc = kind < 0 ? -EINVAL : u->remove(kind, argv[2]);
	if (rc)
		svcprobe_reply_err(c, rc, NULL);
	else
		svcprobe_reply(c, "ok");
}

static void cmd_snap(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	const struct ucs_ud_snapshot *s;

	(void)argc, (void)argv, (void)rest;
	if (!u)
		return;
	s = u->acquire();
	if (!s) {
		svcprobe_reply_err(c, -ENOENT, "no snapshot");
		return;
	}
	reply_json(c, json_pack("{s:I,s:s,s:i,s:I,s:I,s:I,s:I}", "generation",
				(json_int_t)s->generation, "store", s->store, "write_back",
				s->write_back, "users", (json_int_t)s->n_users, "groups",
				(json_int_t)s->n_groups, "computers", (json_int_t)s->n_computers,
				"profiles", (json_int_t)s->n_profiles));
	u->release(s);
}

/* ud.list KIND: the ids in the snapshot, in its order. */
static void cmd_list(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	const struct ucs_ud_snapshot *s;
	int kind = kind_of(argv[1]);
	json_t *a;

	(void)argc, (void)rest;
	if (!u)
		return;
	s = u->acquire();
	a = json_array();
	switch (kind) {
	case UCS_UD_USER:
		for (size_t i = 0; i < s->n_users; i++)
			json_array_append_new(a, json_string(s->users[i]->id));
		break;
	case UCS_UD_GROUP:
		for (size_t i = 0; i < s->n_groups; i++)
			json_array_append_new(a, json_string(s->groups[i]->id));
		break;
	case UCS_UD_COMPUTER:
		for (size_t i = 0; i < s->n_computers; i++)
			json_array_append_new(a, json_string(s->computers[i]->id));
		break;
	case UCS_UD_PROFILE:
		for (size_t i = 0; i < s->n_profiles; i++)
			json_array_append_new(a, json_string(s->profiles[i]->id));
		break;
	default:
		json_decref(a);
		a = NULL;
	}
	u->release(s);
	if (a)
		reply_json(c, a);
	else
		svcprobe_reply(c, "err EINVAL usage: ud.list user|group|computer|profile");
}

static void cmd_object(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	const struct ucs_ud_snapshot *s;
	json_t *j = NULL;

	(void)rest;
	if (!u)
		return;
	s = u->acquire();
	if (strcmp(argv[0], "ud.user") == 0) {
		const struct ucs_ud_user *x = u->user(s, argv[1]);
		j = x ? user_json(x) : NULL;
	} else if (strcmp(argv[0], "ud.login") == 0) {
		const struct ucs_ud_user *x = u->user_by_login(s, argv[1]);
		j = x ? user_json(x) : NULL;
	} else if (strcmp(argv[0], "ud.group") == 0) {
		const struct ucs_ud_group *x = u->group(s, argv[1]);
		j = x ? group_json(x) : NULL;
	} else if (strcmp(argv[0], "ud.computer") == 0) {
		const struct ucs_ud_computer *x = u->computer(s, argv[1]);
		j = x ? computer_json(x) : NULL;
	} else if (strcmp(argv[0], "ud.profile") == 0) {
		const struct ucs_ud_profile *x = u->profile(s, argv[1]);
		j = x ? profile_json(x) : NULL;
	} else if (strcmp(argv[0], "ud.settings") == 0) {
		j = s->settings ? settings_json(s->settings) : NULL;
	}
	(void)argc;
	u->release(s);
	if (j)
		reply_json(c, j);
	else
		svcprobe_reply_err(c, -ENOENT, NULL);
}

static void cmd_status(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	struct ucs_ud_status st = {.size = sizeof(st)};
	int rc;

	(void)argc, (void)argv, (void)rest;
	if (!u)
		return;
	rc = u->status(&st);
	if (rc) {
		svcprobe_reply_err(c, rc, NULL);
		return;
	}
	reply_json(c, json_pack("{s:b,s:b,s:I,s:I,s:I,s:s}", "online", st.online, "limit_hit",
				st.limit_hit, "last_sync", (json_int_t)st.last_sync, "syncs",
				(json_int_t)st.syncs, "failures", (json_int_t)st.failures,
				"message", st.message));
}

/* ud.passwd ID PHC|- : sets (or with "-" clears) the hash. */
static void cmd_passwd(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int rc;

	(void)argc, (void)rest;
	if (!u)
		return;
	rc = u->set_password_hash(argv[1], strcmp(argv[2], "-") == 0 ? NULL : argv[2]);
	if (rc)
		svcprobe_reply_err(c, rc, NULL);
	else
		svcprobe_reply(c, "ok");
}

static void cmd_hash(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	char buf[1100];
	int rc;

	(void)argc, (void)rest;
	if (!u)
		return;
	rc = u->password_hash(argv[1], buf, sizeof(buf));
	if (rc)
		svcprobe_reply_err(c, rc, NULL);
	else
		svcprobe_reply(c, "ok %s", buf);
}

static void cmd_logon(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	int rc;

	(void)argc, (void)rest;
	if (!u)
		return;
	rc = u->computer_logon(argv[1], argv[2], strtoll(argv[3], NULL, 10));
	if (rc)
		svcprobe_reply_err(c, rc, NULL);
	else
		svcprobe_reply(c, "ok");
}

/* ud.picture ID 0|1 PATH|- : the file's bytes to set_picture ("-" removes). */
static void cmd_picture(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_userdb_api *u = api(p, c);
	char *data = NULL;
	size_t len = 0;
	int rc;

	(void)argc, (void)rest;
	if (!u)
		return;
	if (strcmp(argv[3], "-") != 0) {
		FILE *f = fopen(argv[3], "rb");
		long size;

		if (!f) {
			svcprobe_reply_err(c, -errno, "cannot open the file");
			return;
		}
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fseek(f, 0, SEEK_SET);
		data = size > 0 ? malloc((size_t)size) : NULL;
		len = data ? fread(data, 1, (size_t)size, f) : 0;
		fclose(f);
		if (!data) {
			svcprobe_reply_err(c, -EINVAL, "empty file");
			return;
		}
	}
	rc = u->set_picture(argv[1], atoi(argv[2]), data, len);
	free(data);
	if (rc)
		svcprobe_reply_err(c, rc, NULL);
	else
		svcprobe_reply(c, "ok");
}

const struct svcprobe_cmd svcprobe_userdb_cmds[] = {
	{"ud.get", 1,
	 "ud.get KIND [ID]  (the read form; KIND user|group|computer|profile|settings)", cmd_get},
	{"ud.put", 2, "ud.put KIND JSON", cmd_put},
	{"ud.putfile", 2, "ud.putfile KIND PATH  (put_json with the file's content)", cmd_putfile},
	{"ud.remove", 2, "ud.remove KIND ID", cmd_remove},
	{"ud.snap", 0, "ud.snap  (generation, store, counts)", cmd_snap},
	{"ud.list", 1, "ud.list KIND  (ids in the snapshot)", cmd_list},
	{"ud.user", 1, "ud.user ID  (the snapshot's struct)", cmd_object},
	{"ud.login", 1, "ud.login LOGIN", cmd_object},
	{"ud.group", 1, "ud.group ID", cmd_object},
	{"ud.computer", 1, "ud.computer ID", cmd_object},
	{"ud.profile", 1, "ud.profile ID", cmd_object},
	{"ud.settings", 0, "ud.settings", cmd_object},
	{"ud.status", 0, "ud.status", cmd_status},
	{"ud.passwd", 2, "ud.passwd ID PHC|-", cmd_passwd},
	{"ud.hash", 1, "ud.hash ID", cmd_hash},
	{"ud.logon", 3, "ud.logon COMPUTER USER UNIXTIME", cmd_logon},
	{"ud.picture", 3, "ud.picture ID 0|1 PATH|-", cmd_picture},
	{NULL, 0, NULL, NULL},
};
