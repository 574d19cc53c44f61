/*
 * tests/bench/bench_userdb.c - the file-based user store (issue 4): how long
 * loading 10,000 users (and 200 groups of 50) from disk takes, building
 * their snapshot with every number normalised through the real dialplan,
 * a full rebuild with the numbers cached (a SIGHUP reload), the snapshot
 * after one user or one group changed (what every put costs: shared blocks,
 * udb_snapshot_update), lookups, and one atomic document write (fsync
 * included).
 *
 * Usage: bench-userdb [DIR]  (a scratch directory; default: a new one under
 * /tmp, removed afterwards). Prints "bench NAME VALUE UNIT" lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"
#include "udb.h"

#define USERS	10000
#define GROUPS	200
#define MEMBERS 50
#define REPEAT	5
#define LOOKUPS 1000000

static struct dp_model model;
static const struct dp_location *loc;

static int fmt(const char *location, enum ucs_dp_kind kind, const char *number,
	       struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg)
{
	(void)location;
	return dp_format(&model, loc, kind, number, out, trace, arg);
}

static const struct ucs_dialplan_api dialplan = {.size = sizeof(dialplan), .format = fmt};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void quiet(void *arg, int level, const char *f, va_list ap)
{
	(void)arg, (void)level, (void)f, (void)ap;
}

static void on_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "dialplan: %s:%d: %s\n", file ? file : "", line, msg);
}

/* The documents, written plainly (setting up is not what is measured). */
static int populate(const char *dir)
{
	char path[4096];

	for (int i = 0; i < USERS; i++) {
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
			"\"Starnberg\",\"company\":\"ACME\"},\"grants\":[{\"user\":\"user%05d\","
			"\"level\":\"team\"}]}\n",
			i, i, i, i, i, i, i, (i + 1) % USERS);
		fclose(f);
	}
	for (int g = 0; g < GROUPS; g++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/groups/group%03d.json", dir, g);
		f = fopen(path, "w");
		if (!f)
			return -errno;
		fprintf(f,
			"{\"id\":\"group%03d\",\"member_rights\":{\"level\":\"team\"},\"members\":[",
			g);
		for (int m = 0; m < MEMBERS; m++)
			fprintf(f, "%s\"user%05d\"", m ? "," : "", (g * MEMBERS + m) % USERS);
		fprintf(f, "],\"leader\":\"user%05d\"}\n", g * MEMBERS % USERS);
		fclose(f);
	}
	return 0;
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

int main(int argc, char **argv)
{
	static const struct udb_ctx ctx = {"example.com", UDB_ID_IS_NAME};
	struct udb_reporter rep = {quiet, NULL};
	struct dp_errors errs = {on_error, NULL, 0};
	char tmpl[] = "/tmp/bench-userdb-XXXXXX", cmd[4200];
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
	struct udb_store *st = NULL;
	struct udb_load_stats stats;
	struct udb_numcache *cache;
	double load[REPEAT], build[REPEAT], rebuild[REPEAT], t0, ms;
	struct udb_build b;
	struct udb_docs docs;
	const struct ucs_ud_snapshot *snap = NULL;
	volatile size_t hits = 0;
	int err;

	if (!dir || dp_model_load(&model, DP_DATA_DIR, DP_FIXTURES_DIR, "Starnberg", &errs) ||
	    errs.count)
		return 1;
	loc = dp_location_find(&model, "Starnberg");
	err = udb_store_open(dir, &ctx, &rep, &st);
	if (!err)
		err = populate(dir);
	if (err) {
		fprintf(stderr, "bench-userdb: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	cache = udb_numcache_new();
	for (int r = 0; r < REPEAT; r++) {
		t0 = now_ms();
		if (udb_store_load(st, &docs, &stats) || stats.loaded[UCS_UD_USER] != USERS)
			return 1;
		load[r] = now_ms() - t0;
		memset(&b, 0, sizeof(b));
		b.store = "file";
		b.presence_domain = "example.com";
		b.picture_dir = "/tmp";
		b.dialplan = &dialplan;
		b.numcache = cache;
		b.docs = &docs;
		b.report = rep;
		udb_numcache_clear(cache); /* every number normalised afresh */
		t0 = now_ms();
		if (udb_snapshot_build(&b, &snap))
			return 1;
		build[r] = now_ms() - t0;
		udb_snapshot_unref(snap);
		t0 = now_ms(); /* numbers cached: a reload that changed nothing */
		if (udb_snapshot_build(&b, &snap))
			return 1;
		rebuild[r] = now_ms() - t0;
		if (r < REPEAT - 1) {
			udb_snapshot_unref(snap);
			udb_docs_clear(&docs);
		}
	}
	{
		/* one user changed, then one group of 50 (their lists change) */
		static const struct udb_ctx sctx = {"example.com", UDB_ID_IS_NAME | UDB_STORED};
		const char *utext = "{\"id\":\"user00042\",\"login\":\"User00042\","
				    "\"first_name\":\"Changed\",\"phones\":{\"business\":"
				    "\"+49 89 7654321\"}}";
		const char *gtext = "{\"id\":\"group007\",\"members\":[\"user00001\","
				    "\"user00002\",\"user09999\"]}";
		json_t *udoc = NULL, *gdoc = NULL;
		double uu[50], gg[50];
		char e[256];

		if (udb_doc_canon_text(UCS_UD_USER, utext, strlen(utext), &sctx, &udoc, NULL, e,
				       sizeof(e)) ||
		    udb_doc_canon_text(UCS_UD_GROUP, gtext, strlen(gtext), &sctx, &gdoc, NULL, e,
				       sizeof(e)))
			return 1;
		for (int i = 0; i < 50; i++) {
			const struct ucs_ud_snapshot *next;
			t0 = now_ms();
			if (udb_snapshot_update(snap, &b, UCS_UD_USER, "user00042", udoc, &next))
				return 1;
			uu[i] = now_ms() - t0;
			udb_snapshot_unref(next);
			t0 = now_ms();
			if (udb_snapshot_update(snap, &b, UCS_UD_GROUP, "group007", gdoc, &next))
				return 1;
			gg[i] = now_ms() - t0;
			udb_snapshot_unref(next);
		}
		json_decref(udoc);
		json_decref(gdoc);
		printf("bench userdb_update_user_10k_ms %.3f ms\n", median(uu, 50));
		printf("bench userdb_update_group_10k_ms %.3f ms\n", median(gg, 50));
	}
	printf("bench userdb_load_10k_ms %.1f ms\n", median(load, REPEAT));
	printf("bench userdb_snapshot_10k_ms %.1f ms\n", median(build, REPEAT));
	printf("bench userdb_rebuild_cached_numbers_10k_ms %.1f ms\n", median(rebuild, REPEAT));
	printf("bench userdb_load_and_build_10k_ms %.1f ms\n",
	       median(load, REPEAT) + median(build, REPEAT));

	{
		char login[32], id[32];
		t0 = now_ms();
		for (int i = 0; i < LOOKUPS; i++) {
			snprintf(login, sizeof(login), "USER%05d", i % USERS);
			hits += udb_snap_user_by_login(snap, login) != NULL;
		}
		ms = now_ms() - t0;
		t0 = now_ms();
		for (int i = 0; i < LOOKUPS; i++)
			snprintf(login, sizeof(login), "USER%05d", i % USERS);
		ms -= now_ms() - t0; /* without the snprintf */
		printf("bench userdb_lookup_login_ns %.0f ns\n", ms * 1e6 / LOOKUPS);
		t0 = now_ms();
		for (int i = 0; i < LOOKUPS; i++) {
			snprintf(id, sizeof(id), "user%05d", i % USERS);
			hits += udb_snap_user(snap, id) != NULL;
		}
		ms = now_ms() - t0;
		t0 = now_ms();
		for (int i = 0; i < LOOKUPS; i++)
			snprintf(id, sizeof(id), "user%05d", i % USERS);
		ms -= now_ms() - t0;
		printf("bench userdb_lookup_id_ns %.0f ns\n", ms * 1e6 / LOOKUPS);
		if (hits != 2 * LOOKUPS)
			return 1;
	}
	{
		/* one atomic write: temp file, fsync, rename, fsync of the directory */
		json_t *doc = json_object_get(docs.kind[UCS_UD_USER], "user00042");
		double w[50];
		for (int i = 0; i < 50; i++) {
			t0 = now_ms();
			if (udb_store_write(st, UCS_UD_USER, doc))
				return 1;
			w[i] = now_ms() - t0;
		}
		printf("bench userdb_write_ms %.2f ms\n", median(w, 50));
	}
	udb_snapshot_unref(snap);
	udb_docs_clear(&docs);
	udb_numcache_free(cache);
	udb_store_close(st);
	dp_model_free(&model);
	if (argc <= 1) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
