/*
 * plugins/auth/tests/test_plugin.c - the plugin itself (plugin.c) on a
 * host whose every part the test drives by hand: the thread pool runs a
 * job only when the test says so, timers fire when the test moves the
 * clock, and both can be told to fail. The user store is a small table.
 *
 * What the real ucsd cannot show on demand:
 *   - login() never calls done() before it returned: when a refusal cannot
 *     even be deferred (the timer fails), login() reports the error itself
 *     and done() never comes;
 *   - a verification is decided on the account as it is when the job comes
 *     back (deactivated, a new password, removed meanwhile), at the exact
 *     moment between the job and its answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ucs/ucs.h>

#include "auth_conf.h"
#include "auth_hash.h"
#include "check.h"

const struct ucs_plugin_desc *ucs_plugin_descriptor(void);

/* ---- log ---- */

static char log_text[65536];

static void mlogv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, va_list ap)
{
	size_t used = strlen(log_text);

	(void)self, (void)level;
	if (used + 1024 < sizeof(log_text)) {
		vsnprintf(log_text + used, sizeof(log_text) - used - 1, fmt, ap);
		strcat(log_text, "\n");
	}
}

static void mlog(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlogv(self, level, fmt, ap);
	va_end(ap);
}

static int menabled(struct ucs_plugin *self, enum ucs_log_level level)
{
	(void)self, (void)level;
	return 1;
}

static const struct ucs_log_api log_api = {sizeof(log_api), mlog, mlogv, menabled};

/* ---- timers: fire when the test moves the clock ---- */

struct ucs_timer {
	ucs_timer_h *h;
	void *arg;
	int armed;
	uint64_t due;
};

struct once {
	struct once *next;
	uint64_t due;
	ucs_once_h *h;
	void *arg;
};

static uint64_t clock_ms = 1000;
static struct once *onces;
static int once_fails;

static int t_open(struct ucs_plugin *self, struct ucs_timer **out, ucs_timer_h *h, void *arg)
{
	struct ucs_timer *t = calloc(1, sizeof(*t));

	(void)self;
	if (!t)
		return -ENOMEM;
	t->h = h;
	t->arg = arg;
	*out = t;
	return 0;
}

static int t_start(struct ucs_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
	(void)repeat_ms;
	t->armed = 1;
	t->due = clock_ms + timeout_ms;
	return 0;
}

static void t_stop(struct ucs_timer *t)
{
	t->armed = 0;
}

static int t_active(const struct ucs_timer *t)
{
	return t->armed;
}

static void t_close(struct ucs_timer *t)
{
	free(t);
}

static int t_once(struct ucs_plugin *self, uint64_t timeout_ms, ucs_once_h *h, void *arg)
{
	struct once *o, **pp;

	(void)self;
	if (once_fails)
		return -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->due = clock_ms + timeout_ms;
	o->h = h;
	o->arg = arg;
	for (pp = &onces; *pp; pp = &(*pp)->next)
		;
	*pp = o;
	return 0;
}

static uint64_t t_now(void)
{
	return clock_ms;
}

static const struct ucs_timer_api timer_api = {sizeof(timer_api), t_open,  t_start, t_stop,
					       t_active,	  t_close, t_once,  t_now};

/* Moves the clock and fires every once-timer due (also those armed by the
 * callbacks, when due). */
static void advance(uint64_t ms)
{
	clock_ms += ms;
	for (;;) {
		struct once **pp = &onces, *o;

		while (*pp && (*pp)->due > clock_ms)
			pp = &(*pp)->next;
		if (!*pp)
			return;
		o = *pp;
		*pp = o->next;
		o->h(o->arg);
		free(o);
	}
}

/* The host revokes a plugin's timers when it stops. */
static void drop_timers(void)
{
	while (onces) {
		struct once *o = onces;

		onces = o->next;
		free(o);
	}
}

/* ---- the pool: a job runs when the test says so ---- */

struct ucs_work {
	struct ucs_work *next;
	ucs_work_fn *fn;
	ucs_work_done_h *done;
	void *arg;
	int cancelled;
};

static struct ucs_work *jobs;
static int queue_fails;

static int w_queue(struct ucs_plugin *self, struct ucs_work **out, ucs_work_fn *fn,
		   ucs_work_done_h *done, void *arg)
{
	struct ucs_work *w, **pp;

	(void)self;
	if (queue_fails)
		return -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->done = done;
	w->arg = arg;
	for (pp = &jobs; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	if (out)
		*out = w;
	return 0;
}

static int w_cancel(struct ucs_work *w)
{
	w->cancelled = 1;
	return 0;
}

static const struct ucs_work_api work_api = {sizeof(work_api), w_queue, w_cancel};

/* Runs the first queued job and hands its result back; 0 when none. */
static int run_one(void)
{
	struct ucs_work *w = jobs;

	if (!w)
		return 0;
	jobs = w->next;
	if (!w->cancelled)
		w->fn(w->arg);
	w->done(w->cancelled ? -ECANCELED : 0, w->arg);
	free(w);
	return 1;
}

static void run_all(void)
{
	while (run_one())
		;
}

/* ---- bus and services ---- */

static int b_register(struct ucs_plugin *self, const struct ucs_msg_type_desc *desc,
		      const struct ucs_msg_type **out)
{
	static int type;

	(void)self, (void)desc;
	*out = (const struct ucs_msg_type *)&type;
	return 0;
}

static int b_msg_new(const struct ucs_msg_type *type, const char *key, const void *payload,
		     size_t len, struct ucs_msg **out)
{
	(void)type, (void)key, (void)payload, (void)len, (void)out;
	return -ENOSYS; /* events are not this test's business */
}

static struct ucs_bus_api bus_api;

/* ---- the user store: a table ---- */

struct muser {
	const char *id;
	int present;
	int active;
	char phc[AUTH_PHC_MAX];
};

static struct muser people[] = {{"alice", 1, 1, ""}, {"bob", 1, 1, ""}};
#define N_PEOPLE (sizeof(people) / sizeof(people[0]))
static struct ucs_ud_user ud[N_PEOPLE];
static const struct ucs_ud_user *ud_list[N_PEOPLE];
static struct ucs_ud_snapshot snap;
static int snap_refs;

static void rebuild(void)
{
	size_t n = 0;

	for (size_t i = 0; i < N_PEOPLE; i++) {
		if (!people[i].present)
			continue;
		memset(&ud[i], 0, sizeof(ud[i]));
		ud[i].size = sizeof(ud[i]);
		ud[i].id = ud[i].login = people[i].id;
		ud[i].dn = "";
		ud[i].flags = (people[i].active ? UCS_UD_ACTIVE : 0) |
			      (people[i].phc[0] ? UCS_UD_HAS_PASSWORD : 0);
		ud_list[n++] = &ud[i];
	}
	snap.size = sizeof(snap);
	snap.generation++;
	snap.store = "file";
	snap.users = ud_list;
	snap.n_users = n;
}

static struct muser *person(const char *id)
{
	for (size_t i = 0; i < N_PEOPLE; i++)
		if (people[i].present && strcasecmp(people[i].id, id) == 0)
			return &people[i];
	return NULL;
}

static const struct ucs_ud_snapshot *u_acquire(void)
{
	snap_refs++;
	return &snap;
}

static void u_release(const struct ucs_ud_snapshot *s)
{
	(void)s;
	snap_refs--;
}

static const struct ucs_ud_user *u_user(const struct ucs_ud_snapshot *s, const char *id)
{
	struct muser *m = person(id);

	(void)s;
	return m && strcmp(m->id, id) == 0 ? &ud[m - people] : NULL;
}

static const struct ucs_ud_user *u_by_login(const struct ucs_ud_snapshot *s, const char *login)
{
	struct muser *m = person(login);

	(void)s;
	return m ? &ud[m - people] : NULL;
}

static int u_hash(const char *id, char *buf, size_t cap)
{
	struct muser *m = person(id);

	if (!m || !m->phc[0])
		return -ENOENT;
	return (size_t)snprintf(buf, cap, "%s", m->phc) < cap ? 0 : -ENOSPC;
}

static int u_set_hash(const char *id, const char *phc)
{
	struct muser *m = person(id);

	if (!m)
		return -ENOENT;
	snprintf(m->phc, sizeof(m->phc), "%s", phc);
	rebuild();
	return 0;
}

static struct ucs_userdb_api udb_api;

static const void *s_get(struct ucs_plugin *self, const char *name, uint32_t min_version)
{
	(void)self, (void)min_version;
	return strcmp(name, UCS_USERDB_SERVICE) == 0 ? &udb_api : NULL;
}

static const struct ucs_auth_api *api; /* what the plugin provided */

static int s_provide(struct ucs_plugin *self, const char *name, uint32_t version,
		     const void *vtable)
{
	(void)self, (void)version;
	if (!strcmp(name, UCS_AUTH_SERVICE))
		api = vtable;
	return 0;
}

static const struct ucs_service_api service_api = {
	.size = sizeof(service_api), .provide = s_provide, .get = s_get};

/* ---- config: the declared defaults, some overridden ---- */

struct ucs_cfg {
	const struct ucs_cfg_key *keys;
};

static const struct ucs_cfg section = {auth_cfg_keys};
static struct ucs_cfg ldap_section;

static const struct {
	const char *key, *value;
} overrides[] = {
	{"hash_memory_kib", "8"},
	{"hash_iterations", "1"},
	{"max_concurrent_hashes", "1"},
	{"max_queued", "1"},
	{"delay_base_ms", "0"},
	{"max_failures_per_login", "0"},
	{"max_failures_per_address", "0"},
};

static const char *raw(const struct ucs_cfg *node, const char *key)
{
	if (node == &section)
		for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++)
			if (!strcmp(overrides[i].key, key))
				return overrides[i].value;
	for (const struct ucs_cfg_key *k = node->keys; k->name; k++)
		if (!strcmp(k->name, key))
			return k->default_json;
	return NULL;
}

static const struct ucs_cfg *c_section(struct ucs_plugin *self)
{
	(void)self;
	return &section;
}

static int c_bool(const struct ucs_cfg *node, const char *key, int *out)
{
	const char *v = raw(node, key);

	*out = v && !strcmp(v, "true");
	return v ? 0 : -ENOENT;
}

static int c_int(const struct ucs_cfg *node, const char *key, int64_t *out)
{
	const char *v = raw(node, key);

	*out = v ? strtoll(v, NULL, 10) : 0;
	return v ? 0 : -ENOENT;
}

/* The defaults are JSON strings without escapes: the text between the quotes. */
static const char *c_string(const struct ucs_cfg *node, const char *key)
{
	static char pool[64][128];
	static int next;
	const char *v = raw(node, key);
	char *out = pool[next++ % 64];

	if (!v || v[0] != '"')
		return NULL;
	snprintf(out, sizeof(pool[0]), "%.*s", (int)strlen(v) - 2, v + 1);
	return out;
}

static const struct ucs_cfg *c_object(const struct ucs_cfg *node, const char *key)
{
	for (const struct ucs_cfg_key *k = node->keys; k->name; k++)
		if (!strcmp(k->name, key) && k->fields) {
			ldap_section.keys = k->fields;
			return &ldap_section;
		}
	return NULL;
}

static int c_where(const struct ucs_cfg *node, const char *key, char *buf, size_t cap)
{
	(void)node, (void)key, (void)buf, (void)cap;
	return -ENOENT;
}

static struct ucs_cfg_api cfg_api;

static char state_dir[64] = "/tmp/test-auth-plugin-XXXXXX";

static const char *e_state_dir(void)
{
	return state_dir;
}

static const struct ucs_env_api env_api = {.size = sizeof(env_api), .state_dir = e_state_dir};

static struct ucs_host host;

static void host_init(void)
{
	bus_api.size = sizeof(bus_api);
	bus_api.type_register = b_register;
	bus_api.msg_new = b_msg_new;
	udb_api.size = sizeof(udb_api);
	udb_api.acquire = u_acquire;
	udb_api.release = u_release;
	udb_api.user = u_user;
	udb_api.user_by_login = u_by_login;
	udb_api.password_hash = u_hash;
	udb_api.set_password_hash = u_set_hash;
	cfg_api.size = sizeof(cfg_api);
	cfg_api.section = c_section;
	cfg_api.get_bool = c_bool;
	cfg_api.get_int = c_int;
	cfg_api.get_string = c_string;
	cfg_api.object = c_object;
	cfg_api.where = c_where;
	host.size = sizeof(host);
	host.log = &log_api;
	host.timer = &timer_api;
	host.work = &work_api;
	host.bus = &bus_api;
	host.service = &service_api;
	host.cfg = &cfg_api;
	host.env = &env_api;
}

/* ---- logins ---- */

struct answer {
	int calls;
	struct ucs_auth_result res;
};

static void on_done(const struct ucs_auth_result *res, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	a->res = *res;
}

static int start_login(const char *login, const char *pw, struct answer *ans,
		       struct ucs_auth_op **op)
{
	struct ucs_auth_request req = {.size = sizeof(req),
				       .kind = UCS_AUTH_USER,
				       .login = login,
				       .password = pw,
				       .password_len = strlen(pw),
				       .via = "test"};

	memset(ans, 0, sizeof(*ans));
	return api->login(NULL, &req, on_done, ans, op);
}

static void set_password(const char *id, const char *pw)
{
	struct auth_cost cost = {.m_kib = 8, .t = 1, .p = 1};
	struct muser *m = person(id);

	CHECK_INT(auth_hash_new(&cost, pw, strlen(pw), m->phc, sizeof(m->phc)), ==, 0);
	rebuild();
}

/* login() never answers before it returned, also when it cannot defer */
static void test_no_synchronous_done(void)
{
	struct answer first, busy, failed;
	struct ucs_auth_op *op = NULL;

	/* one hash at a time and one waiting: the third is refused as busy */
	CHECK_INT(start_login("alice", "right", &first, &op), ==, 0);
	CHECK_INT(start_login("alice", "right", &busy, &op), ==, 0);
	once_fails = 1;
	op = (struct ucs_auth_op *)&op; /* must be reset, not left */
	CHECK_INT(start_login("alice", "right", &failed, &op), ==, -EAGAIN);
	CHECK_INT(failed.calls, ==, 0);
	CHECK(op == NULL);
	once_fails = 0;
	/* deferred as usual: answered by the timer, not inside login() */
	CHECK_INT(start_login("alice", "right", &failed, &op), ==, 0);
	CHECK_INT(failed.calls, ==, 0);
	advance(0);
	CHECK_INT(failed.calls, ==, 1);
	CHECK_INT(failed.res.status, ==, -EAGAIN);
	CHECK_INT(failed.res.retry_after_ms, ==, 1000);
	CHECK_CONTAINS(log_text, "reason=\"too many logins in progress\"");
	/* the pool refuses a job and the timer fails too */
	run_all();
	advance(0);
	CHECK_INT(first.calls, ==, 1);
	CHECK_INT(first.res.status, ==, 0);
	CHECK_INT(busy.calls, ==, 1);
	CHECK_INT(busy.res.status, ==, 0);
	queue_fails = once_fails = 1;
	CHECK_INT(start_login("alice", "right", &failed, &op), ==, -EAGAIN);
	CHECK_INT(failed.calls, ==, 0);
	queue_fails = once_fails = 0;
	CHECK(jobs == NULL && onces == NULL);
}

/* The answer is decided on the account as it is when the job comes back. */
static void test_account_changed_meanwhile(void)
{
	struct answer ans;
	struct ucs_auth_op *op;
	char old[AUTH_PHC_MAX];

	CHECK_INT(start_login("alice", "right", &ans, &op), ==, 0);
	run_all();
	advance(0);
	CHECK_INT(ans.res.status, ==, 0);
	CHECK_STR(ans.res.user.text, "alice");

	CHECK_INT(start_login("alice", "right", &ans, &op), ==, 0);
	people[0].active = 0;
	rebuild();
	run_all();
	advance(0);
	CHECK_INT(ans.calls, ==, 1);
	CHECK_INT(ans.res.status, ==, -EPERM);
	people[0].active = 1;
	rebuild();

	snprintf(old, sizeof(old), "%s", people[0].phc);
	CHECK_INT(start_login("ALICE", "right", &ans, &op), ==, 0);
	set_password("alice", "new");
	run_all();
	advance(0);
	CHECK_INT(ans.res.status, ==, -EACCES);
	CHECK_CONTAINS(log_text, "reason=\"the password was changed while the login ran\"");

	/* deactivated and re-passworded: the old password does not learn it */
	CHECK_INT(start_login("alice", "new", &ans, &op), ==, 0);
	people[0].active = 0;
	snprintf(people[0].phc, sizeof(people[0].phc), "%s", old);
	rebuild();
	run_all();
	advance(0);
	CHECK_INT(ans.res.status, ==, -EACCES);
	people[0].active = 1;
	rebuild();

	CHECK_INT(start_login("alice", "right", &ans, &op), ==, 0);
	people[0].present = 0;
	rebuild();
	run_all();
	advance(0);
	CHECK_INT(ans.res.status, ==, -EACCES);
	CHECK_CONTAINS(log_text, "reason=\"the account was removed while the login ran\"");
	people[0].present = 1;
	rebuild();

	/* another account's change does not matter */
	CHECK_INT(start_login("alice", "right", &ans, &op), ==, 0);
	set_password("bob", "other");
	run_all();
	advance(0);
	CHECK_INT(ans.res.status, ==, 0);
}

/* ---- administrator accounts from the configuration (ABI 1.1) ---- */

static int admin_login(const char *login, const char *pw)
{
	struct ucs_auth_request req = {.size = sizeof(req),
				       .kind = UCS_AUTH_ADMIN,
				       .login = login,
				       .password = pw,
				       .password_len = strlen(pw),
				       .via = "test"};
	struct answer ans;

	memset(&ans, 0, sizeof(ans));
	if (api->login(NULL, &req, on_done, &ans, NULL) != 0)
		return -1000;
	run_all();
	advance(60000); /* a failure's delay */
	CHECK_INT(ans.calls, ==, 1);
	return ans.res.status;
}

static void on_status(int status, void *arg)
{
	*(int *)arg = status;
}

static void test_configured_admins(void)
{
	struct auth_cost cost = {.m_kib = 8, .t = 1, .p = 1};
	char cfg_hash[AUTH_PHC_MAX], other[AUTH_PHC_MAX];
	const char *logins[] = {"Root", "ops"}, *hashes[2] = {cfg_hash, other};
	const char *bad[] = {cfg_hash,
			     "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"};
	const char *twice[] = {"root", "ROOT"};
	int status = 1;

	CHECK_INT(auth_hash_new(&cost, "cfg pw", 6, cfg_hash, sizeof(cfg_hash)), ==, 0);
	CHECK_INT(auth_hash_new(&cost, "ops cfg", 7, other, sizeof(other)), ==, 0);
	CHECK_INT(api->admin_count(), ==, 0);
	CHECK_INT(api->set_admin_accounts(NULL, logins, hashes, 1), ==, 0);
	CHECK_INT(api->admin_count(), ==, 1);
	CHECK_CONTAINS(log_text, "1 administrator account from the configuration");
	/* matched lower-cased, like the file's */
	CHECK_INT(admin_login("root", "cfg pw"), ==, 0);
	CHECK_INT(admin_login("ROOT", "cfg pw"), ==, 0);
	CHECK_INT(admin_login("root", "wrong"), ==, -EACCES);
	/* the configuration owns it */
	CHECK_INT(api->set_password(NULL, UCS_AUTH_ADMIN, "root", "x", 1, on_status, &status), ==,
		  -EROFS);
	/* a broken set changes nothing */
	CHECK_INT(api->set_admin_accounts(NULL, logins, bad, 2), ==, -EINVAL);
	CHECK_CONTAINS(log_text,
		       "account 1 (ops): the password_hash is not an argon2id PHC string");
	CHECK_INT(api->set_admin_accounts(NULL, twice, hashes, 2), ==, -EINVAL);
	CHECK_CONTAINS(log_text, "the login \"root\" appears twice");
	CHECK_INT(api->set_admin_accounts(NULL, (const char *const[]){"bad/id"}, hashes, 1), ==,
		  -EINVAL);
	CHECK_INT(api->admin_count(), ==, 1);
	CHECK_INT(admin_login("root", "cfg pw"), ==, 0);
	/* an account of the file ... */
	CHECK_INT(api->set_password(NULL, UCS_AUTH_ADMIN, "ops", "ops file", 8, on_status, &status),
		  ==, 0);
	run_all(); /* the hash */
	run_all(); /* the file write */
	CHECK_INT(status, ==, 0);
	CHECK_INT(api->admin_count(), ==, 2);
	CHECK_INT(admin_login("ops", "ops file"), ==, 0);
	/* ... is shadowed by a configured one of the same login */
	CHECK_INT(api->set_admin_accounts(NULL, logins, hashes, 2), ==, 0);
	CHECK_INT(api->admin_count(), ==, 2);
	CHECK_INT(admin_login("ops", "ops cfg"), ==, 0);
	CHECK_INT(admin_login("ops", "ops file"), ==, -EACCES);
	/* and comes back when the configuration drops it */
	CHECK_INT(api->set_admin_accounts(NULL, NULL, NULL, 0), ==, 0);
	CHECK_INT(api->admin_count(), ==, 1);
	CHECK_INT(admin_login("ops", "ops file"), ==, 0);
	CHECK_INT(admin_login("root", "cfg pw"), ==, -EACCES);
	CHECK_CONTAINS(log_text, "0 administrator accounts from the configuration");
}

int main(void)
{
	const struct ucs_plugin_desc *desc = ucs_plugin_descriptor();
	static char self_storage[64];
	struct ucs_plugin *self = (struct ucs_plugin *)self_storage;
	void *state = NULL;

	CHECK(mkdtemp(state_dir) != NULL);
	host_init();
	set_password("alice", "right");
	CHECK_INT(desc->init(self, &host, &state), ==, 0);
	CHECK_INT(desc->start(state), ==, 0);
	CHECK(api != NULL);
	run_all();  /* the start-up measurement */
	advance(0); /* the scan of stored hashes */
	CHECK_CONTAINS(log_text, "argon2id m=8 KiB t=1 p=1: one hash takes");

	test_no_synchronous_done();
	test_account_changed_meanwhile();
	test_configured_admins();

	desc->stop(state);
	drop_timers();
	run_all();
	desc->fini(state);
	CHECK_INT(snap_refs, ==, 0);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/auth/admins.json", state_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/auth/admins.json.lock", state_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/auth", state_dir);
		rmdir(path);
		rmdir(state_dir);
	}
	if (check_failures)
		fputs(log_text, stderr);
	return check_report();
}
