/*
 * plugins/userdb-common/tests/test_core.c - the store core of userdb-common
 * (udb_core.c) against a small fake host: the service slots for the file
 * store, the events they publish, bulk reloads and a put racing one, and a
 * directory-backed store (what userdb-ldap builds on): directory documents
 * laid over local ones, owned fields read-only or written back, objects
 * that can be neither created nor removed locally, the directory documents
 * in the very first snapshot, forgetting the local document of an object
 * that left, the directory's contact image; new user flags; and that a
 * bulk change leaves freeing what it replaced to a worker.
 *
 * The fake host runs queued work when the test says so (work, then done,
 * on the test's thread), so the order of events is the test's to choose.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gd.h>

#include "check.h"
#include "udb.h"

/* ---- the fake host ---- */

static char log_text[65536];

static void fake_logv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt,
		      va_list ap)
{
	size_t n = strlen(log_text);
	(void)self;
	if (n + 600 > sizeof(log_text))
		return;
	n += (size_t)snprintf(log_text + n, sizeof(log_text) - n, "%d ", level);
	vsnprintf(log_text + n, sizeof(log_text) - n - 1, fmt, ap);
	strcat(log_text, "\n");
}

static void fake_log(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fake_logv(self, level, fmt, ap);
	va_end(ap);
}

static int fake_enabled(struct ucs_plugin *self, enum ucs_log_level level)
{
	(void)self, (void)level;
	return 1;
}

static const struct ucs_log_api fake_log_api = {sizeof(fake_log_api), fake_log, fake_logv,
						fake_enabled};

struct ucs_msg {
	char key[128];
	struct ucs_userdb_change change;
};

static const struct ucs_msg_type_desc *registered;
static char events[16384]; /* "key op gen;" per published message */

static int fake_type_register(struct ucs_plugin *self, const struct ucs_msg_type_desc *desc,
			      const struct ucs_msg_type **out)
{
	(void)self;
	registered = desc;
	*out = (const struct ucs_msg_type *)desc;
	return 0;
}

static int fake_msg_new(const struct ucs_msg_type *type, const char *key, const void *payload,
			size_t len, struct ucs_msg **out)
{
	struct ucs_msg *m = calloc(1, sizeof(*m));
	(void)type;
	if (!m || len != sizeof(m->change)) {
		free(m);
		return -EINVAL;
	}
	snprintf(m->key, sizeof(m->key), "%s", key ? key : "-");
	memcpy(&m->change, payload, len);
	*out = m;
	return 0;
}

static int fake_publish(struct ucs_plugin *self, struct ucs_msg *msg)
{
	static const char *const ops[] = {"?", "created", "updated", "deleted", "reloaded"};
	size_t n = strlen(events);
	char json[256];

	(void)self;
	/* the type's to_json must format every message */
	CHECK(registered->to_json(&msg->change, sizeof(msg->change), json, sizeof(json)) > 0);
	if (n + 200 < sizeof(events))
		snprintf(events + n, sizeof(events) - n, "%s %s;", msg->key,
			 ops[msg->change.op > 0 && msg->change.op <= 4 ? msg->change.op : 0]);
	free(msg);
	return 0;
}

static const struct ucs_bus_api fake_bus = {
	.size = sizeof(fake_bus),
	.type_register = fake_type_register,
	.msg_new = fake_msg_new,
	.publish = fake_publish,
};

static const void *provided;

static int fake_provide(struct ucs_plugin *self, const char *name, uint32_t version,
			const void *vtable)
{
	(void)self, (void)version;
	CHECK_STR(name, UCS_USERDB_SERVICE);
	provided = vtable;
	return 0;
}

static const void *fake_get(struct ucs_plugin *self, const char *name, uint32_t min_version)
{
	(void)self, (void)name, (void)min_version;
	return NULL; /* no dialplan: numbers stay without canonical forms */
}

static const struct ucs_service_api fake_service = {
	.size = sizeof(fake_service),
	.provide = fake_provide,
	.get = fake_get,
};

struct ucs_work {
	struct ucs_work *next;
	ucs_work_fn *work;
	ucs_work_done_h *done;
	void *arg;
};

/* The pool: a FIFO the test runs when it says so. Besides the one bulk
 * job at a time, the core queues "trash" jobs that free what a commit
 * replaced. */
static struct ucs_work *queued, **queued_tail = &queued;

static int fake_queue(struct ucs_plugin *self, struct ucs_work **out, ucs_work_fn *work,
		      ucs_work_done_h *done, void *arg)
{
	struct ucs_work *w = calloc(1, sizeof(*w));

	(void)self;
	if (!w)
		return -ENOMEM;
	w->work = work;
	w->done = done;
	w->arg = arg;
	*queued_tail = w;
	queued_tail = &w->next;
	if (out)
		*out = w;
	return 0;
}

static int fake_cancel(struct ucs_work *w)
{
	(void)w;
	return 0;
}

static const struct ucs_work_api fake_work = {sizeof(fake_work), fake_queue, fake_cancel};

static struct ucs_work *dequeue(void)
{
	struct ucs_work *w = queued;

	if (w) {
		queued = w->next;
		if (!queued)
			queued_tail = &queued;
	}
	return w;
}

/* Runs every queued job (work, then done, FIFO) until none is left;
 * returns how many ran. */
static int run_work(void)
{
	int n = 0;

	for (struct ucs_work *w; (w = dequeue()) != NULL; n++) {
		w->work(w->arg);
		w->done(0, w->arg);
		free(w);
	}
	return n;
}

static const char *fake_domain(void)
{
	return "example.com";
}

static const struct ucs_env_api fake_env = {.size = sizeof(fake_env),
					    .presence_domain = fake_domain};

static const struct ucs_host host = {
	.size = sizeof(host),
	.log = &fake_log_api,
	.work = &fake_work,
	.bus = &fake_bus,
	.service = &fake_service,
	.env = &fake_env,
};

/* ---- helpers ---- */

static char dir_base[] = "/tmp/udb-core-test-XXXXXX";
static struct udb_core *the_test_core;

static const struct ucs_userdb_api *api(void)
{
	return provided;
}

static int put(int kind, const char *json, char *err, size_t cap)
{
	return api()->put_json(kind, json, strlen(json), err, cap);
}

static const char *get(int kind, const char *id)
{
	static char buf[8192];
	int n = api()->get_json(kind, id, buf, sizeof(buf));
	if (n < 0)
		snprintf(buf, sizeof(buf), "ERR %d", n);
	return buf;
}

static void clear(void)
{
	events[0] = 0;
	log_text[0] = 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* ---- the file store ---- */

static void test_file_store(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "file",
				   .user_flags = UCS_UD_BIND_BUSINESS};
	const struct ucs_ud_snapshot *s, *s2;
	struct udb_core *core = NULL;
	char dir[256], path[512], err[512];
	uint64_t gen;

	snprintf(dir, sizeof(dir), "%s/file", dir_base);
	cfg.dir = dir;
	clear();
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	CHECK_CONTAINS(log_text, "loaded 0 users, 0 groups, 0 computers, 1 profiles from");
	CHECK_INT(udb_core_provide(core), ==, 0);
	CHECK(api() == udb_core_api());
	s = api()->acquire();
	CHECK(s != NULL && s->n_profiles == 1 && strcmp(s->store, "file") == 0);
	gen = s->generation;

	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\"}", err, sizeof(err)), ==,
		  0);
	CHECK_INT(put(UCS_UD_GROUP, "{\"id\":\"g\",\"members\":[\"alice\"]}", err, sizeof(err)), ==,
		  0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\",\"email\":\"a@x\"}", err,
		      sizeof(err)),
		  ==, 0);
	CHECK_STR(events, "user:alice created;group:g created;user:alice updated;");
	/* the held snapshot is unchanged; the new one has it all */
	CHECK_INT(s->n_users, ==, 0);
	s2 = api()->acquire();
	CHECK_INT(s2->generation, ==, gen + 3);
	CHECK_STR(api()->user(s2, "alice")->email, "a@x");
	CHECK_INT(api()->user(s2, "alice")->n_groups, ==, 1);
	CHECK(api()->user(s2, "alice")->flags & UCS_UD_BIND_BUSINESS);
	CHECK(api()->user_by_login(s2, "ALICE") == api()->user(s2, "alice"));
	CHECK(api()->group(s2, "g") != NULL);
	api()->release(s);
	api()->release(s2);
	CHECK_CONTAINS(get(UCS_UD_USER, "alice"), "\"groups\":[\"g\"]");
	CHECK_STR(get(UCS_UD_USER, "bob"), "ERR -2");
	CHECK_STR(get(9, "bob"), "ERR -22");
	/* get_json follows snprintf: the length it needs */
	{
		char small[8];
		int n = api()->get_json(UCS_UD_USER, "alice", small, sizeof(small));
		CHECK_INT(n, ==, (int)strlen(get(UCS_UD_USER, "alice")));
		CHECK_INT(strlen(small), ==, 7);
	}
	/* refused: nothing changes, nothing is published */
	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\",\"x\":1}", err,
		      sizeof(err)),
		  ==, -EINVAL);
	CHECK_STR(err, "x: unknown key");
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\",\"groups\":[]}", err,
		      sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "groups: differs from the store");
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\",\"dn\":\"cn=a\"}", err,
		      sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(put(UCS_UD_USER, "{", err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\"}", NULL, 0), ==, 0);
	CHECK_INT(put(0, "{}", err, sizeof(err)), ==, -EINVAL);
	CHECK_STR(events, "user:alice updated;"); /* the last put dropped the e-mail */
	/* an unchanged document: no write, no event */
	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\"}", err, sizeof(err)), ==,
		  0);
	CHECK_STR(events, "");
	/* passwords and logons */
	CHECK_INT(api()->set_password_hash("alice", "$argon2id$v=19$x"), ==, 0);
	{
		char h[64];
		CHECK_INT(api()->password_hash("alice", h, sizeof(h)), ==, 0);
		CHECK_STR(h, "$argon2id$v=19$x");
		CHECK_INT(api()->password_hash("alice", h, 4), ==, -ENOSPC);
		CHECK_INT(api()->password_hash("nobody", h, sizeof(h)), ==, -ENOENT);
	}
	CHECK_INT(api()->set_password_hash("alice", "no phc"), ==, -EINVAL);
	CHECK_INT(api()->set_password_hash("nobody", "$x"), ==, -ENOENT);
	CHECK(strstr(get(UCS_UD_USER, "alice"), "argon2") == NULL);
	CHECK(strstr(log_text, "argon2") == NULL);
	CHECK_INT(api()->computer_logon("pc", "alice", 5), ==, -ENOENT);
	CHECK_INT(put(UCS_UD_COMPUTER, "{\"id\":\"pc\"}", err, sizeof(err)), ==, 0);
	CHECK_INT(api()->computer_logon("pc", "alice", 5), ==, 0);
	CHECK_INT(api()->computer_logon("pc", "alice", -5), ==, -EINVAL);
	CHECK_CONTAINS(get(UCS_UD_COMPUTER, "pc"), "\"last_logon\":5,\"last_user\":\"alice\"");
	CHECK_INT(api()->set_picture("alice", 0, "nope", 4), ==, -EINVAL);
	CHECK_INT(api()->set_picture("alice", 0, NULL, 0), ==, 0); /* removing none */
	/* removal */
	clear();
	CHECK_INT(api()->remove(UCS_UD_PROFILE, "default"), ==, -EPERM);
	CHECK_INT(api()->remove(UCS_UD_SETTINGS, ""), ==, -EINVAL);
	CHECK_INT(api()->remove(UCS_UD_USER, "Alice"), ==, -EINVAL);
	CHECK_INT(api()->remove(UCS_UD_USER, "bob"), ==, -ENOENT);
	CHECK_INT(api()->remove(UCS_UD_USER, "alice"), ==, 0);
	CHECK_STR(events, "user:alice deleted;group:g updated;");
	s = api()->acquire();
	CHECK(api()->user(s, "alice") == NULL);
	CHECK_INT(api()->group(s, "g")->n_members, ==, 0); /* she left her group too */
	api()->release(s);

	/* a reload: files edited by hand */
	snprintf(path, sizeof(path), "%s/users/carol.json", dir);
	write_file(path, "{\"id\":\"carol\",\"login\":\"carol\"}");
	snprintf(path, sizeof(path), "%s/groups/g.json", dir);
	unlink(path);
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_STR(events, "user:carol created;group:g deleted;");
	CHECK_CONTAINS(log_text, "reloaded 1 users, 0 groups, 1 computers, 1 profiles");
	/* a put while the reload runs: the reload starts over and keeps it */
	snprintf(path, sizeof(path), "%s/users/dave.json", dir);
	write_file(path, "{\"id\":\"dave\",\"login\":\"dave\"}");
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	CHECK(queued != NULL && queued->next == NULL); /* the reload alone */
	if (queued) {
		struct ucs_work *w = dequeue();
		w->work(w->arg); /* read the disk without erin */
		CHECK_INT(
			put(UCS_UD_USER, "{\"id\":\"erin\",\"login\":\"erin\"}", err, sizeof(err)),
			==, 0);
		w->done(0, w->arg); /* sees the put: starts over */
		free(w);
		CHECK(queued != NULL);
		CHECK_STR(events, "user:erin created;"); /* the thrown-away job published nothing */
		run_work();
	}
	CHECK_STR(events, "user:erin created;user:dave created;");
	s = api()->acquire();
	CHECK(api()->user(s, "erin") != NULL && api()->user(s, "dave") != NULL);
	api()->release(s);
	/* status */
	{
		struct ucs_ud_status st = {.size = sizeof(st)};
		CHECK_INT(api()->status(&st), ==, 0);
		CHECK_INT(st.online, ==, 1);
		CHECK_INT(st.syncs, ==, 3);
	}
	udb_core_stop(core);
	udb_core_free(core);
}

/* ---- a directory-backed store ---- */

static int write_backs;

static int accept_numbers(void *arg, int kind, const char *id, const char *path,
			  const json_t *value)
{
	(void)arg, (void)kind, (void)id, (void)value;
	write_backs++;
	return strncmp(path, "phones.", 7) == 0 ? 0 : -EROFS;
}

static json_t *dir_user(const char *id, const char *login, const char *first, const char *phone)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s}}", "id", id, "login", login,
			 "first_name", first, "dn", "cn=x,dc=example", "phones", "business", phone,
			 "mobile", "", "contact", "city", "Munich");
}

static void test_directory_store(void)
{
	struct udb_core_ops ops = {sizeof(ops), accept_numbers, NULL};
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds =
					   UDB_KIND_BIT(UCS_UD_USER) | UDB_KIND_BIT(UCS_UD_GROUP),
				   .write_back = 1,
				   .ops = &ops};
	const char *u1 = "0b7c3f2e-1111-4a4a-9b9b-000000000001";
	const struct ucs_ud_snapshot *s;
	const struct ucs_ud_user *u;
	struct udb_core *core = NULL;
	struct udb_docs d;
	char dir[256], err[512], doc[1024], path[512];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/ldap", dir_base);
	cfg.dir = dir;
	clear();
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	CHECK_INT(udb_core_provide(core), ==, 0);
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, dir_user(u1, "Alice", "Alice", "089 1"));
	json_object_set_new(
		d.kind[UCS_UD_GROUP], "sales",
		json_pack("{s:s,s:s,s:[s]}", "id", "sales", "name", "Sales", "members", u1));
	json_object_set_new(d.kind[UCS_UD_PROFILE], "ignored",
			    json_pack("{s:s}", "id", "ignored")); /* not a directory kind */
	clear();
	CHECK_INT(udb_core_set_directory(core, &d, NULL, NULL), ==, 0);
	CHECK(d.kind[UCS_UD_USER] == NULL); /* taken over */
	run_work();
	CHECK_STR(events, "user:0b7c3f2e-1111-4a4a-9b9b-000000000001 created;group:sales created;");
	s = api()->acquire();
	u = api()->user(s, u1);
	CHECK(u != NULL);
	if (u) {
		CHECK_STR(u->login, "Alice");
		CHECK_STR(u->identity, "alice@example.com");
		CHECK_STR(u->dn, "cn=x,dc=example");
		CHECK(u->flags & UCS_UD_DIRECTORY);
		CHECK_INT(u->n_groups, ==, 1);
	}
	CHECK_STR(s->store, "ldap");
	CHECK_INT(s->write_back, ==, 1);
	CHECK(api()->profile(s, "ignored") == NULL);
	api()->release(s);

	/* local fields: fine, with the owned ones taken from the directory */
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"services\":[\"chat\"]}", u1);
	clear();
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	CHECK_STR(events, "user:0b7c3f2e-1111-4a4a-9b9b-000000000001 updated;");
	snprintf(path, sizeof(path), "%s/users/%s.json", dir, u1);
	CHECK(stat(path, &sb) == 0); /* the local document */
	s = api()->acquire();
	CHECK_INT(api()->user(s, u1)->services, ==, UCS_SVC_CHAT);
	CHECK_STR(api()->user(s, u1)->city, "Munich");
	api()->release(s);
	/* the read form written back is fine as it is */
	{
		char read[8192];
		snprintf(read, sizeof(read), "%s", get(UCS_UD_USER, u1));
		CHECK_CONTAINS(read, "\"first_name\":\"Alice\"");
		clear();
		CHECK_INT(put(UCS_UD_USER, read, err, sizeof(err)), ==, 0);
		CHECK_STR(events, "");
	}
	/* an owned field: read-only, unless written back */
	write_backs = 0;
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"first_name\":\"Alicia\"}", u1);
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, -EROFS);
	CHECK_STR(err, "first_name: owned by the directory (read-only)");
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"phones\":{\"business\":\"089 2\"}}", u1);
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	CHECK_INT(write_backs, ==, 2);
	s = api()->acquire();
	CHECK_STR(api()->user(s, u1)->phones[UCS_UD_PHONE_BUSINESS].entered, "089 2");
	CHECK_INT(api()->user(s, u1)->services, ==, 0); /* a put replaces the local fields */
	api()->release(s);
	/* neither created nor removed locally */
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"nobody\",\"login\":\"nobody\"}", err, sizeof(err)),
		  ==, -EROFS);
	CHECK_CONTAINS(err, "users come from the directory");
	CHECK_INT(api()->remove(UCS_UD_USER, u1), ==, -EROFS);
	CHECK_INT(api()->remove(UCS_UD_USER, "nobody"), ==, -ENOENT);
	/* local kinds stay local */
	CHECK_INT(put(UCS_UD_PROFILE, "{\"id\":\"p\"}", err, sizeof(err)), ==, 0);
	/* the password hash lives in the local document */
	CHECK_INT(api()->set_password_hash(u1, "$argon2id$y"), ==, 0);
	CHECK_CONTAINS(get(UCS_UD_USER, u1), "\"has_password\":true");

	/* the next sync: the user is gone from the directory */
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_GROUP], "sales",
			    json_pack("{s:s,s:[s]}", "id", "sales", "members", u1));
	clear();
	CHECK_INT(udb_core_set_directory(core, &d, NULL, NULL), ==, 0);
	run_work();
	CHECK_CONTAINS(events, "user:0b7c3f2e-1111-4a4a-9b9b-000000000001 deleted;");
	CHECK_CONTAINS(events, "group:sales updated;");
	s = api()->acquire();
	CHECK(api()->user(s, u1) == NULL);
	CHECK_INT(s->n_users, ==, 0);
	api()->release(s);
	CHECK(stat(path, &sb) == 0); /* ucsd's own settings for her are kept */
	udb_core_stop(core);
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, -ESHUTDOWN);
	udb_core_free(core);
	udb_docs_clear(&d);
}

/* ---- the directory documents at start ---- */

static json_t *user_doc(const char *id, const char *login, int image)
{
	json_t *u = dir_user(id, login, login, "089 1");

	if (image >= 0)
		json_object_set_new(u, "contact_image", json_boolean(image));
	return u;
}

static void test_initial_directory(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds =
					   UDB_KIND_BIT(UCS_UD_USER) | UDB_KIND_BIT(UCS_UD_GROUP)};
	const char *u1 = "0b7c3f2e-2222-4a4a-9b9b-000000000001";
	const struct ucs_ud_snapshot *s;
	struct udb_core *core = NULL;
	struct udb_docs d;
	char dir[256], path[512];

	snprintf(dir, sizeof(dir), "%s/initial", dir_base);
	/* a local document from an earlier run: laid under the directory's */
	CHECK_INT(mkdir(dir, 0700), ==, 0);
	snprintf(path, sizeof(path), "%s/users", dir);
	CHECK_INT(mkdir(path, 0700), ==, 0);
	snprintf(path, sizeof(path), "%s/users/%s.json", dir, u1);
	write_file(path, "{\"id\":\"0b7c3f2e-2222-4a4a-9b9b-000000000001\",\"login\":\"x\","
			 "\"services\":[\"chat\"]}");
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", 0));
	json_object_set_new(
		d.kind[UCS_UD_GROUP], "sales",
		json_pack("{s:s,s:s,s:[s]}", "id", "sales", "name", "Sales", "members", u1));
	json_object_set_new(d.kind[UCS_UD_PROFILE], "ignored", json_pack("{s:s}", "id", "ignored"));
	cfg.dir = dir;
	cfg.directory = &d;
	clear();
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	CHECK(d.kind[UCS_UD_USER] == NULL); /* taken over */
	if (!core)
		return;
	CHECK_INT(udb_core_provide(core), ==, 0);
	/* the first snapshot, before any work ran: the directory's objects */
	CHECK(queued == NULL);
	s = api()->acquire();
	CHECK_INT(s->generation, ==, 1);
	CHECK_INT(s->n_users, ==, 1);
	CHECK_INT(s->n_groups, ==, 1);
	CHECK(api()->profile(s, "ignored") == NULL);
	if (s->n_users == 1) {
		CHECK_STR(s->users[0]->login, "Alice");		    /* the directory's */
		CHECK_INT(s->users[0]->services, ==, UCS_SVC_CHAT); /* the local one */
		CHECK(s->users[0]->flags & UCS_UD_DIRECTORY);
		CHECK_INT(s->users[0]->n_groups, ==, 1);
	}
	api()->release(s);
	CHECK_STR(events, ""); /* nothing appeared: it was there */
	/* the same read again (the first sync): no change, no event */
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", 0));
	json_object_set_new(
		d.kind[UCS_UD_GROUP], "sales",
		json_pack("{s:s,s:s,s:[s]}", "id", "sales", "name", "Sales", "members", u1));
	CHECK_INT(udb_core_set_directory(core, &d, NULL, NULL), ==, 0);
	run_work();
	CHECK_STR(events, "");
	udb_core_stop(core);
	udb_core_free(core);
	/* taken also when the core cannot be made */
	udb_docs_init(&d);
	cfg.dir = NULL;
	CHECK_INT(udb_core_new(&cfg, &core), ==, -EINVAL);
	CHECK(d.kind[UCS_UD_USER] == NULL);
}

/* ---- forgetting an object's local document ---- */

static void test_forget(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds =
					   UDB_KIND_BIT(UCS_UD_USER) | UDB_KIND_BIT(UCS_UD_GROUP)};
	const char *u1 = "0b7c3f2e-3333-4a4a-9b9b-000000000001";
	const char *u2 = "0b7c3f2e-3333-4a4a-9b9b-000000000002";
	const struct ucs_ud_snapshot *s;
	struct udb_core *core = NULL;
	struct udb_docs d;
	char dir[256], path[512], pic[600], doc[512], err[256];

	snprintf(dir, sizeof(dir), "%s/forget", dir_base);
	cfg.dir = dir;
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", 1));
	json_object_set_new(d.kind[UCS_UD_USER], u2, user_doc(u2, "Bob", 1));
	json_object_set_new(d.kind[UCS_UD_GROUP], "sales",
			    json_pack("{s:s,s:[s,s]}", "id", "sales", "members", u1, u2));
	cfg.directory = &d;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	CHECK_INT(udb_core_provide(core), ==, 0);
	/* ucsd's own settings of both: bob grants alice a level, and alice
	 * leads the directory's group (leader and deputy are ucsd's fields) */
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"services\":[\"chat\"]}", u1);
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	snprintf(doc, sizeof(doc),
		 "{\"id\":\"%s\",\"services\":[\"chat\"],\"grants\":[{\"user\":\"%s\","
		 "\"level\":\"team\"}]}",
		 u2, u1);
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	snprintf(doc, sizeof(doc), "{\"id\":\"sales\",\"leader\":\"%s\",\"deputy\":\"%s\"}", u1,
		 u1);
	CHECK_INT(put(UCS_UD_GROUP, doc, err, sizeof(err)), ==, 0);
	CHECK_STR(api()->group(udb_core_snapshot(core), "sales")->leader, u1);
	CHECK_INT(api()->set_password_hash(u1, "$argon2id$z"), ==, 0);
	snprintf(path, sizeof(path), "%s/users/%s.json", dir, u1);
	CHECK(access(path, F_OK) == 0);
	CHECK_INT(udb_core_forget(core, UCS_UD_PROFILE, "default"), ==, -EINVAL);
	CHECK_INT(udb_core_forget(core, UCS_UD_USER, "Not Valid"), ==, -EINVAL);
	CHECK_INT(udb_core_forget(core, UCS_UD_USER, "nobody"), ==, -ENOENT);

	/* alice leaves the directory; later her settings are forgotten, and
	 * so are the grants and roles ucsd's documents give her */
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u2, user_doc(u2, "Bob", 1));
	json_object_set_new(d.kind[UCS_UD_GROUP], "sales",
			    json_pack("{s:s,s:[s]}", "id", "sales", "members", u2));
	CHECK_INT(udb_core_set_directory(core, &d, NULL, NULL), ==, 0);
	run_work();
	CHECK(access(path, F_OK) == 0); /* kept while she may come back */
	CHECK_INT(api()->user(udb_core_snapshot(core), u2)->n_grants, ==, 1);
	clear();
	CHECK_INT(udb_core_forget(core, UCS_UD_USER, u1), ==, 0);
	/* she is not in the snapshot: only the documents that named her */
	CHECK_STR(events, "user:0b7c3f2e-3333-4a4a-9b9b-000000000002 updated;group:sales updated;");
	CHECK(access(path, F_OK) != 0);
	CHECK_INT(udb_core_forget(core, UCS_UD_USER, u1), ==, -ENOENT);
	s = api()->acquire();
	CHECK_INT(api()->user(s, u2)->n_grants, ==, 0);
	CHECK_INT(api()->user(s, u2)->services, ==, UCS_SVC_CHAT); /* the rest stays */
	CHECK_STR(api()->group(s, "sales")->leader, "");
	CHECK_STR(api()->group(s, "sales")->deputy, "");
	api()->release(s);
	snprintf(pic, sizeof(pic), "%s/users/%s.json", dir, u2);
	{
		FILE *f = fopen(pic, "r");
		char text[8192] = "";
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

		if (f)
			fclose(f);
		text[n] = 0;
		CHECK(n > 0 && strstr(text, u1) == NULL);
	}
	/* she comes back: without the settings, in memory as on disk, and
	 * with nothing the others' documents gave her before */
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", 1));
	json_object_set_new(d.kind[UCS_UD_USER], u2, user_doc(u2, "Bob", 1));
	json_object_set_new(d.kind[UCS_UD_GROUP], "sales",
			    json_pack("{s:s,s:[s]}", "id", "sales", "members", u2));
	CHECK_INT(udb_core_set_directory(core, &d, NULL, NULL), ==, 0);
	run_work();
	s = api()->acquire();
	CHECK(api()->user(s, u1) != NULL);
	if (api()->user(s, u1)) {
		CHECK_INT(api()->user(s, u1)->services, ==, 0);
		CHECK(!(api()->user(s, u1)->flags & UCS_UD_HAS_PASSWORD));
	}
	CHECK_INT(api()->user(s, u2)->n_grants, ==, 0);
	CHECK_STR(api()->group(s, "sales")->leader, "");
	api()->release(s);
	CHECK_CONTAINS(get(UCS_UD_USER, u1), "\"has_password\":false");
	/* and a reload from disk does not bring them back either */
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_INT(udb_core_snapshot(core)->n_users, ==, 2);
	CHECK_CONTAINS(get(UCS_UD_USER, u1), "\"services\":[]");

	/* bob is still in the directory: he keeps its fields, loses ucsd's;
	 * his profile picture goes, the directory's contact image stays */
	snprintf(pic, sizeof(pic), "%s/pictures/%s.contact.png", dir, u2);
	write_file(pic, "directory's");
	snprintf(path, sizeof(path), "%s/pictures/%s.profile.png", dir, u2);
	write_file(path, "ucsd's");
	clear();
	CHECK_INT(udb_core_forget(core, UCS_UD_USER, u2), ==, 0);
	CHECK_STR(events, "user:0b7c3f2e-3333-4a4a-9b9b-000000000002 updated;");
	CHECK(access(pic, F_OK) == 0);
	CHECK(access(path, F_OK) != 0);
	s = api()->acquire();
	CHECK(api()->user(s, u2) != NULL);
	if (api()->user(s, u2)) {
		CHECK_INT(api()->user(s, u2)->services, ==, 0);
		CHECK_STR(api()->user(s, u2)->login, "Bob");
	}
	api()->release(s);

	/* a forget while a bulk change runs: the change starts over without it */
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"services\":[\"chat\"]}", u2);
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	{
		struct ucs_work *w = dequeue();

		CHECK(w != NULL);
		if (w) {
			w->work(w->arg); /* read the disk with bob's settings */
			CHECK_INT(udb_core_forget(core, UCS_UD_USER, u2), ==, 0);
			w->done(0, w->arg);
			free(w);
		}
		run_work();
	}
	CHECK_CONTAINS(get(UCS_UD_USER, u2), "\"services\":[]");
	udb_core_stop(core);
	udb_core_free(core);
}

/* ---- pictures of directory users ---- */

static void *png_data(int *size)
{
	gdImagePtr im = gdImageCreateTrueColor(120, 80);
	void *data;

	gdImageFilledRectangle(im, 0, 0, 119, 79, gdTrueColor(0, 200, 0));
	data = gdImagePngPtr(im, size);
	gdImageDestroy(im);
	return data;
}

static void test_directory_pictures(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds = UDB_KIND_BIT(UCS_UD_USER)};
	const char *u1 = "0b7c3f2e-4444-4a4a-9b9b-000000000001"; /* the directory's image */
	const char *u2 = "0b7c3f2e-4444-4a4a-9b9b-000000000002"; /* no picture attribute */
	struct udb_core *core = NULL;
	struct udb_docs d;
	char dir[256], pic[600], read[8192];
	int size = 0;
	void *png = png_data(&size);
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/pictures", dir_base);
	cfg.dir = dir;
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", 1));
	json_object_set_new(d.kind[UCS_UD_USER], u2, user_doc(u2, "Bob", -1));
	cfg.directory = &d;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core || !png) {
		udb_core_free(core);
		gdFree(png);
		return;
	}
	CHECK_INT(udb_core_provide(core), ==, 0);
	/* the file the directory-backed store wrote at its last sync */
	snprintf(pic, sizeof(pic), "%s/pictures/%s.contact.png", dir, u1);
	write_file(pic, "the directory's image");
	clear();
	CHECK_INT(api()->set_picture(u1, 0, png, (size_t)size), ==, -EROFS);
	CHECK_INT(api()->set_picture(u1, 0, NULL, 0), ==, -EROFS);
	CHECK_STR(events, "");
	f = fopen(pic, "r");
	CHECK(f != NULL);
	if (f) {
		char buf[64] = "";
		CHECK(fgets(buf, sizeof(buf), f) != NULL);
		CHECK_STR(buf, "the directory's image"); /* untouched */
		fclose(f);
	}
	/* the profile picture is ucsd's own */
	CHECK_INT(api()->set_picture(u1, 1, png, (size_t)size), ==, 0);
	CHECK_STR(events, "user:0b7c3f2e-4444-4a4a-9b9b-000000000001 updated;");
	snprintf(read, sizeof(read), "%s", get(UCS_UD_USER, u1));
	CHECK_CONTAINS(read, "\"contact_image\":true");
	CHECK_CONTAINS(read, "\"profile_picture\":true");
	CHECK(strstr(udb_core_snapshot(core)->users[0]->profile_picture, ".profile.png") != NULL);
	CHECK_INT(api()->set_picture(u1, 1, NULL, 0), ==, 0);
	CHECK_CONTAINS(get(UCS_UD_USER, u1), "\"profile_picture\":false");
	/* without the directory's picture the contact image is ucsd's too */
	CHECK_INT(api()->set_picture(u2, 0, png, (size_t)size), ==, 0);
	CHECK_CONTAINS(get(UCS_UD_USER, u2), "\"contact_image\":true");
	gdFree(png);
	udb_core_stop(core);
	udb_core_free(core);
}

/* ---- user flags and write_back on SIGHUP; the trash ---- */

static void test_flags_and_trash(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "file",
				   .user_flags = UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2};
	struct udb_core *core = NULL;
	const struct ucs_ud_snapshot *s;
	char dir[256], err[256];
	struct udb_docs d;

	snprintf(dir, sizeof(dir), "%s/flags", dir_base);
	cfg.dir = dir;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	CHECK_INT(udb_core_provide(core), ==, 0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"alice\"}", err, sizeof(err)), ==,
		  0);
	/* new flags: nothing changes until the re-read */
	udb_core_set_flags(core, UCS_UD_BIND_BUSINESS2, 1);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"bob\",\"login\":\"bob\"}", err, sizeof(err)), ==, 0);
	s = api()->acquire();
	CHECK_INT(api()->user(s, "bob")->flags & (UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2), ==,
		  UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2);
	CHECK_INT(s->write_back, ==, 0);
	api()->release(s);
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	/* the commit frees nothing itself: one job for a worker to do it */
	{
		struct ucs_work *w = dequeue();

		CHECK(w != NULL && queued == NULL);
		if (w) {
			w->work(w->arg);
			w->done(0, w->arg);
			free(w);
		}
		CHECK(queued != NULL); /* the trash: the old sets and snapshot */
		CHECK_INT(run_work(), ==, 1);
	}
	CHECK_STR(events, "- reloaded;"); /* every user changed */
	s = api()->acquire();
	CHECK_INT(api()->user(s, "alice")->flags & (UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2),
		  ==, UCS_UD_BIND_BUSINESS2);
	CHECK_INT(api()->user(s, "bob")->flags & (UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2), ==,
		  UCS_UD_BIND_BUSINESS2);
	CHECK_INT(s->write_back, ==, 1);
	api()->release(s);
	/* and puts keep them */
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"carol\",\"login\":\"carol\"}", err, sizeof(err)), ==,
		  0);
	s = api()->acquire();
	CHECK_INT(api()->user(s, "carol")->flags & (UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2),
		  ==, UCS_UD_BIND_BUSINESS2);
	api()->release(s);
	/* the same flags again: a re-read with per-object events only */
	udb_core_set_flags(core, UCS_UD_BIND_BUSINESS2, 1);
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_STR(events, "");
	/* trash the host dropped at stop (never ran) is freed by udb_core_free
	 * (the sanitizer's leak check says whether it was) */
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], "x", json_pack("{s:s}", "id", "x"));
	udb_core_dispose(core, &d, json_pack("{s:i}", "n", 1));
	CHECK(d.kind[UCS_UD_USER] == NULL);
	CHECK(queued != NULL);
	udb_core_stop(core);
	udb_core_free(core);
	while (queued)
		free(dequeue()); /* dropped, as the host does at stop */
}

/* ---- removal: the object and every reference to it ---- */

static const struct ucs_ud_user *snap_user(const char *id)
{
	return api()->user(udb_core_snapshot(the_test_core), id);
}

static int count_events(void)
{
	int n = 0;

	for (const char *p = events; *p; p++)
		n += *p == ';';
	return n;
}

/* Whether any user grants something to `who` or any group names her. */
static int referenced(const struct ucs_ud_snapshot *s, const char *who)
{
	for (size_t i = 0; i < s->n_users; i++)
		for (size_t k = 0; k < s->users[i]->n_grants; k++)
			if (strcmp(s->users[i]->grants[k].user, who) == 0)
				return 1;
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct ucs_ud_group *g = s->groups[i];

		if (strcmp(g->leader, who) == 0 || strcmp(g->deputy, who) == 0)
			return 1;
		for (size_t k = 0; k < g->n_members; k++)
			if (strcmp(g->members[k], who) == 0)
				return 1;
	}
	return 0;
}

static const char *file_text(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

struct fault_plan {
	const char *point;
	int skip;  /* matching calls that pass first */
	int times; /* then this many fail */
	int calls;
};

static int plan_fault(void *arg, const char *point, const char *path)
{
	struct fault_plan *fp = arg;

	(void)path;
	if (strcmp(point, fp->point) != 0)
		return 0;
	fp->calls++;
	if (fp->skip > 0) {
		fp->skip--;
		return 0;
	}
	if (fp->times <= 0)
		return 0;
	fp->times--;
	return -EIO;
}

static void test_remove_references(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg), .host = &host, .store = "file"};
	const struct ucs_ud_snapshot *s;
	struct udb_core *core = NULL;
	char dir[256], path[512], err[512], doc[512];
	uint64_t gen;

	snprintf(dir, sizeof(dir), "%s/refs", dir_base);
	cfg.dir = dir;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	the_test_core = core;
	CHECK_INT(udb_core_provide(core), ==, 0);
	{
		static const char *const setup[][2] = {
			{"u", "{\"id\":\"alice\",\"login\":\"alice\"}"},
			{"u", "{\"id\":\"bob\",\"login\":\"bob\",\"grants\":[{\"user\":\"alice\","
			      "\"level\":\"team\"}]}"},
			{"u", "{\"id\":\"carol\",\"login\":\"carol\",\"grants\":[{\"user\":"
			      "\"alice\",\"level\":\"personal\"},{\"user\":\"dave\",\"level\":"
			      "\"business\"}]}"},
			{"u", "{\"id\":\"dave\",\"login\":\"dave\"}"},
			{"g", "{\"id\":\"sales\",\"members\":[\"alice\",\"bob\"],\"leader\":"
			      "\"alice\",\"deputy\":\"alice\"}"},
			{"g", "{\"id\":\"team\",\"members\":[\"bob\"],\"leader\":\"bob\","
			      "\"deputy\":\"alice\"}"},
			{"g", "{\"id\":\"wall\",\"monitor_groups\":[\"sales\",\"team\"],"
			      "\"favourite_groups\":[\"sales\"]}"},
			{"p", "{\"id\":\"night\"}"},
			{"u", "{\"id\":\"erin\",\"login\":\"erin\",\"profile\":\"night\"}"},
		};
		for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
			CHECK_INT(put(setup[i][0][0] == 'u'   ? UCS_UD_USER
				      : setup[i][0][0] == 'g' ? UCS_UD_GROUP
							      : UCS_UD_PROFILE,
				      setup[i][1], err, sizeof(err)),
				  ==, 0);
	}
	CHECK(referenced(udb_core_snapshot(core), "alice"));
	CHECK_INT(snap_user("alice")->n_groups, ==, 1);

	/* alice goes: her grants, membership and roles go with her, in one
	 * snapshot swap with an event for every document that changed */
	gen = udb_core_snapshot(core)->generation;
	clear();
	CHECK_INT(api()->remove(UCS_UD_USER, "alice"), ==, 0);
	CHECK_INT(count_events(), ==, 5);
	CHECK(strncmp(events, "user:alice deleted;", 19) == 0);
	CHECK_CONTAINS(events, "user:bob updated;");
	CHECK_CONTAINS(events, "user:carol updated;");
	CHECK_CONTAINS(events, "group:sales updated;");
	CHECK_CONTAINS(events, "group:team updated;");
	s = udb_core_snapshot(core);
	CHECK_INT(s->generation, ==, gen + 1);
	CHECK(!referenced(s, "alice"));
	CHECK_INT(snap_user("carol")->n_grants, ==, 1);
	if (snap_user("carol")->n_grants) {
		CHECK_STR(snap_user("carol")->grants[0].user, "dave");
		CHECK_INT(snap_user("carol")->grants[0].rights.level, ==, UCS_LEVEL_BUSINESS);
	}
	CHECK_INT(api()->group(s, "sales")->n_members, ==, 1);
	CHECK_STR(api()->group(s, "team")->leader, "bob");
	snprintf(path, sizeof(path), "%s/users/bob.json", dir);
	CHECK(strstr(file_text(path), "alice") == NULL);
	snprintf(path, sizeof(path), "%s/groups/sales.json", dir);
	CHECK(strstr(file_text(path), "alice") == NULL);
	CHECK_CONTAINS(file_text(path), "\"bob\"");

	/* a new alice: nothing of the old one's */
	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"Alice\"}", err, sizeof(err)), ==,
		  0);
	CHECK_STR(events, "user:alice created;");
	CHECK_INT(snap_user("alice")->n_groups, ==, 0);
	CHECK(!referenced(udb_core_snapshot(core), "alice"));
	/* and that is what the disk says too */
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_STR(events, "");
	CHECK(!referenced(udb_core_snapshot(core), "alice"));

	/* a group goes: out of every monitor and favourites list */
	clear();
	CHECK_INT(api()->remove(UCS_UD_GROUP, "sales"), ==, 0);
	CHECK_STR(events, "group:sales deleted;group:wall updated;");
	s = udb_core_snapshot(core);
	CHECK_INT(api()->group(s, "wall")->n_monitor_groups, ==, 1);
	if (api()->group(s, "wall")->n_monitor_groups)
		CHECK_STR(api()->group(s, "wall")->monitor_groups[0], "team");
	CHECK_INT(api()->group(s, "wall")->n_favourite_groups, ==, 0);
	CHECK_INT(put(UCS_UD_GROUP, "{\"id\":\"sales\"}", err, sizeof(err)), ==, 0);
	CHECK_INT(api()->group(udb_core_snapshot(core), "wall")->n_monitor_groups, ==, 1);
	/* a profile goes: its users fall back to the default profile */
	clear();
	CHECK_INT(api()->remove(UCS_UD_PROFILE, "night"), ==, 0);
	CHECK_STR(events, "profile:night deleted;user:erin updated;");
	CHECK_STR(snap_user("erin")->profile, "");
	/* a user nobody names: her event alone */
	clear();
	CHECK_INT(api()->remove(UCS_UD_USER, "dave"), ==, 0);
	CHECK_STR(events, "user:dave deleted;user:carol updated;");
	CHECK_INT(snap_user("carol")->n_grants, ==, 0);
	clear();
	CHECK_INT(api()->remove(UCS_UD_USER, "erin"), ==, 0);
	CHECK_STR(events, "user:erin deleted;");

	/* more documents than one change updates in place: the snapshot is
	 * built on a worker, and the events follow when it is in */
	for (int i = 0; i < 20; i++) {
		snprintf(doc, sizeof(doc),
			 "{\"id\":\"u%02d\",\"login\":\"u%02d\",\"grants\":[{\"user\":\"zed\"}]}",
			 i, i);
		CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	}
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"zed\",\"login\":\"zed\"}", err, sizeof(err)), ==, 0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"wen\",\"login\":\"wen\"}", err, sizeof(err)), ==, 0);
	CHECK_INT(put(UCS_UD_USER,
		      "{\"id\":\"ola\",\"login\":\"ola\",\"grants\":[{\"user\":\"wen\"}]}", err,
		      sizeof(err)),
		  ==, 0);
	run_work();
	clear();
	gen = udb_core_snapshot(core)->generation;
	CHECK_INT(api()->remove(UCS_UD_USER, "zed"), ==, 0);
	CHECK_STR(events, "");
	CHECK(queued != NULL);
	CHECK(snap_user("zed") != NULL); /* not yet */
	/* a put meanwhile waits for the same build */
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"yan\",\"login\":\"yan\"}", err, sizeof(err)), ==, 0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"yan\",\"login\":\"Yan\",\"email\":\"y@x\"}", err,
		      sizeof(err)),
		  ==, 0);
	/* a removal meanwhile finds its references in the documents (the
	 * snapshot is behind them) */
	CHECK_INT(api()->remove(UCS_UD_USER, "wen"), ==, 0);
	CHECK_STR(events, "");
	run_work();
	CHECK_INT(count_events(), ==, 25);
	CHECK_CONTAINS(events, "user:wen deleted;user:ola updated;");
	CHECK_INT(snap_user("ola")->n_grants, ==, 0);
	CHECK(strncmp(events, "user:zed deleted;", 17) == 0);
	CHECK_CONTAINS(events, "user:u19 updated;");
	CHECK_CONTAINS(events, "user:yan created;user:yan updated;");
	s = udb_core_snapshot(core);
	CHECK(s->generation > gen);
	CHECK(snap_user("zed") == NULL && !referenced(s, "zed"));
	CHECK(snap_user("yan") != NULL && strcmp(snap_user("yan")->email, "y@x") == 0);
	/* in place again once it is in */
	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"yan\",\"login\":\"yan\"}", err, sizeof(err)), ==, 0);
	CHECK_STR(events, "user:yan updated;");
	CHECK(queued == NULL);

	/* a write fails half way: what was rewritten stays rewritten (disk
	 * and memory agree), the user stays, and the caller hears -EIO */
	for (int i = 0; i < 3; i++) {
		snprintf(doc, sizeof(doc),
			 "{\"id\":\"v%d\",\"login\":\"v%d\",\"grants\":[{\"user\":\"xia\"}]}", i,
			 i);
		CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	}
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"xia\",\"login\":\"xia\"}", err, sizeof(err)), ==, 0);
	{
		struct fault_plan fp = {"rename", 1, 1, 0};
		int still = 0;

		udb_store_set_fault(udb_core_store(core), plan_fault, &fp);
		clear();
		CHECK_INT(api()->remove(UCS_UD_USER, "xia"), ==, -EIO);
		udb_store_set_fault(udb_core_store(core), NULL, NULL);
		CHECK_INT(count_events(), ==, 1); /* the one rewritten before the failure */
		CHECK(snap_user("xia") != NULL);
		snprintf(path, sizeof(path), "%s/users/xia.json", dir);
		CHECK(access(path, F_OK) == 0);
		for (int i = 0; i < 3; i++) {
			char id[8];
			snprintf(id, sizeof(id), "v%d", i);
			still += snap_user(id)->n_grants;
		}
		CHECK_INT(still, ==, 2);
		clear();
		CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
		run_work();
		CHECK_STR(events, ""); /* memory is what the disk holds */
		/* trying again finishes it */
		CHECK_INT(api()->remove(UCS_UD_USER, "xia"), ==, 0);
		CHECK(!referenced(udb_core_snapshot(core), "xia"));
	}
	udb_core_stop(core);
	udb_core_free(core);
	the_test_core = NULL;
}

/* ---- the size limit: nothing is stored that would not load ---- */

static char *big_user(const char *id, int lists, const char *ch)
{
	size_t cap = 2 * 1024 * 1024 * (size_t)lists + 4096, n;
	char *text = malloc(cap), elem[1100];
	size_t el = 0;

	while (el + strlen(ch) <= 1024)
		el += (size_t)snprintf(elem + el, sizeof(elem) - el, "%s", ch);
	n = (size_t)snprintf(text, cap, "{\"id\":\"%s\",\"login\":\"%s\"", id, id);
	for (int l = 0; l < lists; l++) {
		n += (size_t)snprintf(text + n, cap - n, ",\"%s\":[",
				      l ? "other_lines" : "other_numbers");
		for (int i = 0; i < 1024; i++)
			n += (size_t)snprintf(text + n, cap - n, "%s\"%s\"", i ? "," : "", elem);
		n += (size_t)snprintf(text + n, cap - n, "]");
	}
	snprintf(text + n, cap - n, "}");
	return text;
}

static void test_size_limit(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg), .host = &host, .store = "file"};
	struct udb_core *core = NULL;
	char dir[256], path[512], err[512], *text;
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/size", dir_base);
	cfg.dir = dir;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	the_test_core = core;
	CHECK_INT(udb_core_provide(core), ==, 0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"alice\"}", err, sizeof(err)), ==,
		  0);
	snprintf(path, sizeof(path), "%s/users/alice.json", dir);
	CHECK(stat(path, &sb) == 0);
	/* 2 MiB of euro signs (three bytes each, six as \u20ac on disk) */
	text = big_user("alice", 2, "\xe2\x82\xac");
	CHECK(strlen(text) > 2 * 1024 * 1024 && strlen(text) < UDB_DOC_MAX);
	clear();
	CHECK_INT(put(UCS_UD_USER, text, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "document: ");
	CHECK_CONTAINS(err, " bytes as stored (indented, non-ASCII characters as \\u escapes), "
			    "more than the limit of 4194304 bytes; nothing changed");
	CHECK_STR(events, "");
	free(text);
	{
		struct stat now;
		CHECK(stat(path, &now) == 0 && now.st_size == sb.st_size); /* the old version */
	}
	/* a new user likewise: no file at all */
	text = big_user("bob", 2, "\xe2\x82\xac");
	CHECK_INT(put(UCS_UD_USER, text, err, sizeof(err)), ==, -EINVAL);
	free(text);
	snprintf(path, sizeof(path), "%s/users/bob.json", dir);
	CHECK(access(path, F_OK) != 0);
	CHECK(snap_user("bob") == NULL);
	/* half of it fits (about 2 MiB as stored), and survives a reload */
	text = big_user("bob", 1, "\xe2\x82\xac");
	CHECK_INT(put(UCS_UD_USER, text, err, sizeof(err)), ==, 0);
	free(text);
	/* a group whose compact text fits and whose indented text does not */
	{
		size_t cap = 4200000, n;
		char *g = malloc(cap);

		n = (size_t)snprintf(g, cap, "{\"id\":\"crowd\",\"members\":[");
		for (int i = 0; i < 100000; i++)
			n += (size_t)snprintf(g + n, cap - n, "%s\"m%037d\"", i ? "," : "", i);
		snprintf(g + n, cap - n, "]}");
		CHECK(strlen(g) < UDB_DOC_MAX);
		CHECK_INT(put(UCS_UD_GROUP, g, err, sizeof(err)), ==, -EINVAL);
		CHECK_CONTAINS(err, "more than the limit of 4194304 bytes");
		free(g);
	}
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_CONTAINS(log_text, "reloaded 2 users, 0 groups, 0 computers, 1 profiles");
	CHECK_CONTAINS(log_text, "(0 corrupt files moved aside");
	CHECK_STR(events, "");
	CHECK(snap_user("bob") != NULL && snap_user("bob")->n_other_numbers == 1024);
	udb_core_stop(core);
	udb_core_free(core);
	the_test_core = NULL;
}

/* ---- the directory's fsync fails after the rename ---- */

static void test_fsync_after_rename(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg), .host = &host, .store = "file"};
	struct fault_plan fp = {"fsync_dir", 0, 1000, 0};
	struct udb_core *core = NULL;
	char dir[256], err[512];

	snprintf(dir, sizeof(dir), "%s/fsync", dir_base);
	cfg.dir = dir;
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	the_test_core = core;
	CHECK_INT(udb_core_provide(core), ==, 0);
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"alice\"}", err, sizeof(err)), ==,
		  0);
	udb_store_set_fault(udb_core_store(core), plan_fault, &fp);
	/* the new version is on disk: the put counts, memory follows */
	clear();
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"alice\",\"login\":\"alice\",\"email\":\"a@x\"}", err,
		      sizeof(err)),
		  ==, 0);
	CHECK_STR(events, "user:alice updated;");
	CHECK_STR(snap_user("alice")->email, "a@x");
	CHECK_CONTAINS(log_text, "/users/alice.json, but cannot fsync its directory");
	CHECK_INT(fp.calls, ==, 2);
	/* so does a removal whose unlink was done */
	clear();
	CHECK_INT(api()->remove(UCS_UD_USER, "alice"), ==, 0);
	CHECK_STR(events, "user:alice deleted;");
	udb_store_set_fault(udb_core_store(core), NULL, NULL);
	/* and the disk agrees with memory */
	CHECK_INT(put(UCS_UD_USER, "{\"id\":\"bob\",\"login\":\"bob\"}", err, sizeof(err)), ==, 0);
	clear();
	CHECK_INT(udb_core_reload(core, NULL, NULL), ==, 0);
	run_work();
	CHECK_STR(events, "");
	CHECK(snap_user("alice") == NULL && snap_user("bob") != NULL);
	udb_core_stop(core);
	udb_core_free(core);
	the_test_core = NULL;
}

/* ---- a change the snapshot cannot follow in place: built on a worker ---- */

static void test_rebuild_on_worker(void)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds = UDB_KIND_BIT(UCS_UD_USER)};
	const char *u1 = "0b7c3f2e-5555-4a4a-9b9b-000000000001";
	const char *u2 = "0b7c3f2e-5555-4a4a-9b9b-000000000002"; /* the same login */
	struct udb_core *core = NULL;
	struct udb_docs d;
	char dir[256], err[512], doc[512];
	uint64_t gen;

	snprintf(dir, sizeof(dir), "%s/worker", dir_base);
	cfg.dir = dir;
	udb_docs_init(&d);
	json_object_set_new(d.kind[UCS_UD_USER], u1, user_doc(u1, "Alice", -1));
	json_object_set_new(d.kind[UCS_UD_USER], u2, user_doc(u2, "alice", -1));
	cfg.directory = &d;
	clear();
	CHECK_INT(udb_core_new(&cfg, &core), ==, 0);
	if (!core)
		return;
	the_test_core = core;
	CHECK_INT(udb_core_provide(core), ==, 0);
	CHECK_CONTAINS(log_text, "login \"alice\" is taken by user " /* u2 skipped */);
	CHECK_INT(udb_core_snapshot(core)->n_users, ==, 1);
	gen = udb_core_snapshot(core)->generation;
	/* a snapshot that skipped a user cannot be updated in place: the full
	 * build goes to a worker, not onto the loop thread */
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"services\":[\"chat\"]}", u1);
	clear();
	CHECK_INT(put(UCS_UD_USER, doc, err, sizeof(err)), ==, 0);
	CHECK(queued != NULL);
	CHECK_STR(events, "");
	CHECK_INT(udb_core_snapshot(core)->generation, ==, gen);
	CHECK_INT(snap_user(u1)->services, ==, 0);
	CHECK_CONTAINS(get(UCS_UD_USER, u1), "\"services\":[\"chat\"]"); /* the document is in */
	run_work();
	CHECK_STR(events, "user:0b7c3f2e-5555-4a4a-9b9b-000000000001 updated;");
	CHECK_INT(snap_user(u1)->services, ==, UCS_SVC_CHAT);
	CHECK(udb_core_snapshot(core)->generation > gen);
	{
		struct ucs_ud_status st = {.size = sizeof(st)};
		CHECK_INT(api()->status(&st), ==, 0);
		CHECK_INT(st.syncs, ==, 1); /* a rebuild is no sync */
	}
	udb_core_stop(core);
	udb_core_free(core);
	the_test_core = NULL;
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir_base))
		return 1;
	test_file_store();
	test_directory_store();
	test_initial_directory();
	test_forget();
	test_directory_pictures();
	test_flags_and_trash();
	test_remove_references();
	test_size_limit();
	test_fsync_after_rename();
	test_rebuild_on_worker();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir_base);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
