/*
 * plugins/userdb-file/bench_loop.c - how long the loop thread is held by a
 * bulk change of the store core (udb_core.c) at 10,000 users: what a
 * userdb-file SIGHUP reload and a userdb-ldap directory sync cost the loop
 * between the worker thread's part and the next event.
 *
 * A bulk change has two loop-thread parts: starting it (the call that
 * queues the worker job) and committing it (the job's done(): swap in,
 * publish). Both are timed here against a small fake host: the bench's
 * main thread is the loop, and its thread pool is one real thread that
 * runs each queued work() while the loop waits (so memory is allocated
 * and freed in the arenas it would be in ucsd), followed by its done() on
 * the loop. Any further job a commit queues (freeing what it replaced)
 * runs the same way. The figure that matters is the longest single loop
 * callback; besides it, the copy of one container of 10,000 documents:
 * the longest a put waits when it lands while a worker copies the sets.
 * Then two changes on the loop thread: removing a user of the 10,000 (with
 * the documents that name her), and a put that adds one member to a group
 * of 20,000 (validation, the write, the snapshot after it).
 *
 * Usage: bench-userdb-loop [DIR]  (a scratch directory: DIR/file and
 * DIR/ldap are made and removed; default: a new one under /tmp). Prints "bench NAME VALUE UNIT"
 * lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udb.h"

#define USERS	   10000
#define GROUPS	   200
#define MEMBERS	   50
#define LOCAL_DOCS 2000 /* directory users with ucsd settings of their own */
#define REPEAT	   7

/* ---- the fake host: quiet log, counting bus, a FIFO thread pool ---- */

static void fake_logv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt,
		      va_list ap)
{
	(void)self;
	if (level <= UCS_LOG_ERROR) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
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

static const struct ucs_log_api log_api = {sizeof(log_api), fake_log, fake_logv, fake_enabled};

struct ucs_msg {
	int dummy;
};
static struct ucs_msg the_msg;
static size_t published;

static int fake_type_register(struct ucs_plugin *self, const struct ucs_msg_type_desc *desc,
			      const struct ucs_msg_type **out)
{
	(void)self;
	*out = (const struct ucs_msg_type *)desc;
	return 0;
}

static int fake_msg_new(const struct ucs_msg_type *type, const char *key, const void *payload,
			size_t len, struct ucs_msg **out)
{
	(void)type, (void)key, (void)payload, (void)len;
	*out = &the_msg;
	return 0;
}

static int fake_publish(struct ucs_plugin *self, struct ucs_msg *msg)
{
	(void)self, (void)msg;
	published++;
	return 0;
}

static const struct ucs_bus_api bus_api = {
	.size = sizeof(bus_api),
	.type_register = fake_type_register,
	.msg_new = fake_msg_new,
	.publish = fake_publish,
};

static const void *provided;

static int fake_provide(struct ucs_plugin *self, const char *name, uint32_t version,
			const void *vtable)
{
	(void)self, (void)name, (void)version;
	provided = vtable;
	return 0;
}

static const void *fake_get(struct ucs_plugin *self, const char *name, uint32_t min_version)
{
	(void)self, (void)name, (void)min_version;
	return NULL;
}

static const struct ucs_service_api service_api = {
	.size = sizeof(service_api),
	.provide = fake_provide,
	.get = fake_get,
};

struct ucs_work {
	struct ucs_work *next;
	ucs_work_fn *work;
	ucs_work_done_h *done;
	void *arg;
};
static struct ucs_work *fifo, **fifo_tail = &fifo;

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
	*fifo_tail = w;
	fifo_tail = &w->next;
	if (out)
		*out = w;
	return 0;
}

static int fake_cancel(struct ucs_work *w)
{
	(void)w;
	return -EBUSY;
}

static const struct ucs_work_api work_api = {sizeof(work_api), fake_queue, fake_cancel};

static const char *fake_domain(void)
{
	return "example.com";
}

static const struct ucs_env_api env_api = {.size = sizeof(env_api), .presence_domain = fake_domain};

static const struct ucs_host host = {
	.size = sizeof(host),
	.log = &log_api,
	.work = &work_api,
	.bus = &bus_api,
	.service = &service_api,
	.env = &env_api,
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What one bulk change cost. */
struct figures {
	double start;  /* the call that queues the job (loop) */
	double worker; /* every work() (worker threads) */
	double commit; /* the longest done() (loop) */
};

/* The pool thread: runs one work() at a time when handed one. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct ucs_work *pool_job;
static int pool_busy, pool_quit;

static void *pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		while (!pool_busy && !pool_quit)
			pthread_cond_wait(&pool_cond, &pool_lock);
		if (pool_quit)
			break;
		pthread_mutex_unlock(&pool_lock);
		pool_job->work(pool_job->arg);
		pthread_mutex_lock(&pool_lock);
		pool_busy = 0;
		pthread_cond_broadcast(&pool_cond);
	}
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

static void run_on_pool(struct ucs_work *w)
{
	pthread_mutex_lock(&pool_lock);
	pool_job = w;
	pool_busy = 1;
	pthread_cond_broadcast(&pool_cond);
	while (pool_busy)
		pthread_cond_wait(&pool_cond, &pool_lock);
	pthread_mutex_unlock(&pool_lock);
}

/* Runs every queued job: work on the pool thread, then done timed here. */
static void drain(struct figures *f)
{
	while (fifo) {
		struct ucs_work *w = fifo;
		double t0, t1, t2;

		fifo = w->next;
		if (!fifo)
			fifo_tail = &fifo;
		t0 = now_ms();
		run_on_pool(w);
		t1 = now_ms();
		w->done(0, w->arg);
		t2 = now_ms();
		f->worker += t1 - t0;
		if (t2 - t1 > f->commit)
			f->commit = t2 - t1;
		free(w);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void report(const char *name, struct figures *f, int n)
{
	double start[REPEAT], commit[REPEAT], worker[REPEAT], worst[REPEAT];

	for (int i = 0; i < n; i++) {
		start[i] = f[i].start;
		commit[i] = f[i].commit;
		worker[i] = f[i].worker;
		worst[i] = f[i].start > f[i].commit ? f[i].start : f[i].commit;
	}
	printf("bench %s_loop_start_ms %.2f ms\n", name, median(start, n));
	printf("bench %s_loop_commit_ms %.2f ms\n", name, median(commit, n));
	printf("bench %s_loop_max_ms %.2f ms\n", name, median(worst, n));
	printf("bench %s_worker_ms %.1f ms\n", name, median(worker, n));
}

/* ---- userdb-file: SIGHUP re-reads 10,000 users from disk ---- */

static int write_user(const char *dir, int i, const char *city)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/users/user%05d.json", dir, i);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"{\"id\":\"user%05d\",\"login\":\"User%05d\",\"first_name\":\"First%d\","
		"\"last_name\":\"Last%d\",\"email\":\"user%05d@example.com\","
		"\"phones\":{\"business\":\"+49 89 %07d\",\"mobile\":\"0171 %07d\"},"
		"\"services\":[\"chat\",\"softphone_audio\"],\"contact\":{\"city\":"
		"\"%s\",\"company\":\"ACME\"},\"grants\":[{\"user\":\"user%05d\","
		"\"level\":\"team\"}]}\n",
		i, i, i, i, i, i, i, city, (i + 1) % USERS);
	return fclose(f) == 0 ? 0 : -errno;
}

static int populate(const char *dir)
{
	char path[4200];
	int err = 0;

	snprintf(path, sizeof(path), "%s/users", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/groups", dir);
	mkdir(path, 0700);
	for (int i = 0; i < USERS && !err; i++)
		err = write_user(dir, i, "Starnberg");
	for (int g = 0; g < GROUPS && !err; g++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/groups/group%03d.json", dir, g);
		f = fopen(path, "w");
		if (!f)
			return -errno;
		fprintf(f, "{\"id\":\"group%03d\",\"members\":[", g);
		for (int m = 0; m < MEMBERS; m++)
			fprintf(f, "%s\"user%05d\"", m ? "," : "", (g * MEMBERS + m) % USERS);
		fprintf(f, "]}\n");
		fclose(f);
	}
	return err;
}

static int bench_file(const char *base)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg), .host = &host, .store = "file"};
	struct figures f[REPEAT];
	struct udb_core *core = NULL;
	char dir[2048];
	int err;

	snprintf(dir, sizeof(dir), "%s/file", base);
	err = populate(dir);
	cfg.dir = dir;
	if (!err)
		err = udb_core_new(&cfg, &core);
	if (!err)
		err = udb_core_provide(core);
	if (err) {
		fprintf(stderr, "bench-userdb-loop: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	for (int r = 0; r < REPEAT; r++) {
		double t0;

		memset(&f[r], 0, sizeof(f[r]));
		/* an operator edited one file: one event */
		if (write_user(dir, 42, r % 2 ? "Munich" : "Berlin"))
			return 1;
		published = 0;
		t0 = now_ms();
		if (udb_core_reload(core, NULL, NULL))
			return 1;
		f[r].start = now_ms() - t0;
		drain(&f[r]);
		if (published != 1) {
			fprintf(stderr, "bench-userdb-loop: %zu events, expected 1\n", published);
			return 1;
		}
	}
	report("userdb_file_reload_10k", f, REPEAT);
	{
		/* A removal on the loop thread: the user, the grant to her in
		 * another user's document, her membership in a group (three
		 * documents written, each with its fsync), one snapshot. */
		const struct ucs_userdb_api *api = udb_core_api();
		double t[REPEAT];

		for (int r = 0; r < REPEAT; r++) {
			char id[16];
			double t0;

			snprintf(id, sizeof(id), "user%05d", 42 + 100 * r);
			published = 0;
			t0 = now_ms();
			err = api->remove(UCS_UD_USER, id);
			t[r] = now_ms() - t0;
			if (err || published != 3 || fifo) {
				fprintf(stderr, "bench-userdb-loop: remove %s: %d, %zu events\n",
					id, err, published);
				return 1;
			}
		}
		printf("bench userdb_file_remove_user_10k_ms %.2f ms\n", median(t, REPEAT));
	}
	udb_core_stop(core);
	udb_core_free(core);
	return 0;
}

/* ---- userdb-ldap: a sync hands 10,000 directory users to the core ---- */

static json_t *dir_user(int i, const char *title)
{
	char id[40], login[20], dn[80], phone[32];

	snprintf(id, sizeof(id), "0b7c3f2e-1111-4a4a-9b9b-%012d", i);
	snprintf(login, sizeof(login), "u%05d", i);
	snprintf(dn, sizeof(dn), "uid=u%05d,ou=people,dc=example,dc=com", i);
	snprintf(phone, sizeof(phone), "+49 8151 3685%04d", i % 10000);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:b}", "id", id, "login",
			 login, "first_name", "User", "last_name", login, "email", "u@example.com",
			 "dn", dn, "phones", "business", phone, "mobile", "0171 1234567", "contact",
			 "title", title, "city", "Starnberg", "contact_image", 0);
}

static int local_user(const char *dir, int i)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/users/0b7c3f2e-1111-4a4a-9b9b-%012d.json", dir, i);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"{\"id\":\"0b7c3f2e-1111-4a4a-9b9b-%012d\",\"login\":\"u%05d\","
		"\"services\":[\"chat\"],\"first_phone\":\"1%04d\"}\n",
		i, i, i);
	return fclose(f) == 0 ? 0 : -errno;
}

static int bench_ldap(const char *base)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg),
				   .host = &host,
				   .store = "ldap",
				   .directory_kinds = UDB_KIND_BIT(UCS_UD_USER) |
						      UDB_KIND_BIT(UCS_UD_GROUP) |
						      UDB_KIND_BIT(UCS_UD_COMPUTER)};
	struct figures f[REPEAT], first = {0};
	struct udb_core *core = NULL;
	struct udb_docs cur;
	char dir[2048], path[2100];
	int err = 0;

	snprintf(dir, sizeof(dir), "%s/ldap", base);
	snprintf(path, sizeof(path), "%s/users", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	for (int i = 0; i < LOCAL_DOCS && !err; i++)
		err = local_user(dir, i * (USERS / LOCAL_DOCS));
	cfg.dir = dir;
	if (!err)
		err = udb_core_new(&cfg, &core);
	if (!err)
		err = udb_core_provide(core);
	if (!err)
		err = udb_docs_init(&cur);
	if (err) {
		fprintf(stderr, "bench-userdb-loop: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	for (int i = 0; i < USERS; i++) {
		json_t *u = dir_user(i, "Engineer");

		json_object_set_new(cur.kind[UCS_UD_USER],
				    json_string_value(json_object_get(u, "id")), u);
	}
	for (int g = 0; g < GROUPS; g++) {
		char id[16];
		json_t *m = json_array();

		snprintf(id, sizeof(id), "group%03d", g);
		for (int k = 0; k < MEMBERS; k++) {
			char uid[40];

			snprintf(uid, sizeof(uid), "0b7c3f2e-1111-4a4a-9b9b-%012d",
				 (g * MEMBERS + k) % USERS);
			json_array_append_new(m, json_string(uid));
		}
		json_object_set_new(cur.kind[UCS_UD_GROUP], id,
				    json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", id, "dn",
					      "cn=g,dc=example,dc=com", "members", m));
	}
	/* the first read: every object created (one UCS_UD_RELOADED) */
	{
		struct udb_docs handed;
		double t0;

		if (udb_docs_copy(&handed, &cur))
			return 1;
		t0 = now_ms();
		if (udb_core_set_directory(core, &handed, NULL, NULL))
			return 1;
		first.start = now_ms() - t0;
		drain(&first);
		if (udb_core_snapshot(core)->n_users != USERS) {
			fprintf(stderr, "bench-userdb-loop: %zu directory users\n",
				udb_core_snapshot(core)->n_users);
			return 1;
		}
	}
	for (int r = 0; r < REPEAT; r++) {
		struct udb_docs handed;
		char id[40];
		double t0;

		/* the next sync: one user's title changed */
		memset(&f[r], 0, sizeof(f[r]));
		snprintf(id, sizeof(id), "0b7c3f2e-1111-4a4a-9b9b-%012d", 42);
		json_object_set_new(cur.kind[UCS_UD_USER], id,
				    dir_user(42, r % 2 ? "Boss" : "Chief"));
		if (udb_docs_copy(&handed, &cur))
			return 1;
		published = 0;
		t0 = now_ms();
		if (udb_core_set_directory(core, &handed, NULL, NULL))
			return 1;
		f[r].start = now_ms() - t0;
		drain(&f[r]);
		if (published != 1) {
			fprintf(stderr, "bench-userdb-loop: %zu events, expected 1\n", published);
			return 1;
		}
	}
	printf("bench userdb_ldap_first_sync_10k_loop_max_ms %.2f ms\n",
	       first.start > first.commit ? first.start : first.commit);
	{
		/* The longest a put waits for the worker: the copy of one
		 * container of 10,000 documents (held under the core's lock). */
		double c[REPEAT];

		for (int r = 0; r < REPEAT; r++) {
			double t0 = now_ms();
			json_t *copy = json_copy(cur.kind[UCS_UD_USER]);

			c[r] = now_ms() - t0;
			json_decref(copy);
		}
		printf("bench userdb_copy_container_10k_ms %.2f ms\n", median(c, REPEAT));
	}
	report("userdb_ldap_sync_10k", f, REPEAT);
	udb_docs_clear(&cur);
	udb_core_stop(core);
	udb_core_free(core);
	return 0;
}

/* ---- a put that adds one member to a group of 20,000 ---- */

#define BIG_GROUP 20000

/* The loop thread's whole put_json: validation, the write (fsync) and the
 * snapshot after it, in which every member's group list is checked. */
static int bench_big_group(const char *base)
{
	struct udb_core_cfg cfg = {.size = sizeof(cfg), .host = &host, .store = "file"};
	const struct ucs_userdb_api *api;
	struct udb_core *core = NULL;
	double t[REPEAT];
	char dir[2048], path[2200], err[256];
	size_t cap = (size_t)(BIG_GROUP + 1) * 16 + 64, n;
	char *doc = malloc(cap);
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/group", base);
	snprintf(path, sizeof(path), "%s/users", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	for (int i = 0; i <= BIG_GROUP && !rc; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/users/m%05d.json", dir, i);
		f = fopen(path, "w");
		if (!f) {
			rc = 1;
			break;
		}
		fprintf(f, "{\"id\":\"m%05d\",\"login\":\"m%05d\"}\n", i, i);
		rc = fclose(f) != 0;
	}
	cfg.dir = dir;
	if (rc || !doc || udb_core_new(&cfg, &core) || udb_core_provide(core)) {
		fprintf(stderr, "bench-userdb-loop: %s: cannot set up\n", dir);
		free(doc);
		udb_core_free(core);
		return 1;
	}
	api = udb_core_api();
	for (int r = 0; r <= REPEAT && !rc; r++) {
		/* the group with its 20,000 members (round 0 creates it), then
		 * alternately with one more and without her again */
		int members = BIG_GROUP + (r % 2);
		double t0;

		n = (size_t)snprintf(doc, cap, "{\"id\":\"big\",\"members\":[");
		for (int i = 0; i < members; i++)
			n += (size_t)snprintf(doc + n, cap - n, "%s\"m%05d\"", i ? "," : "", i);
		n += (size_t)snprintf(doc + n, cap - n, "]}");
		t0 = now_ms();
		rc = api->put_json(UCS_UD_GROUP, doc, n, err, sizeof(err));
		if (r)
			t[r - 1] = now_ms() - t0;
		if (rc)
			fprintf(stderr, "bench-userdb-loop: put: %s\n", err);
		drain(&(struct figures){0}); /* nothing should be queued */
	}
	if (!rc) {
		const struct ucs_ud_snapshot *s = udb_core_snapshot(core);

		rc = !s || api->user(s, "m20000") == NULL || api->user(s, "m00001")->n_groups != 1;
	}
	if (!rc)
		printf("bench userdb_put_group_20k_members_add_one_ms %.1f ms\n",
		       median(t, REPEAT));
	free(doc);
	udb_core_stop(core);
	udb_core_free(core);
	return rc;
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/bench-userdb-loop-XXXXXX", cmd[4200];
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
	pthread_t pool;
	int rc;

	if (!dir || pthread_create(&pool, NULL, pool_main, NULL) != 0)
		return 1;
	mkdir(dir, 0700);
	rc = bench_file(dir);
	if (!rc)
		rc = bench_ldap(dir);
	if (!rc)
		rc = bench_big_group(dir);
	pthread_mutex_lock(&pool_lock);
	pool_quit = 1;
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	pthread_join(pool, NULL);
	if (argc > 1)
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/file' '%s/ldap' '%s/group'", dir, dir, dir);
	else
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
