/*
 * plugins/userdb-common/tests/test_store.c - the document store on disk
 * (udb_store.c): layout and first-start documents, round trips, corrupt and
 * misplaced files moved aside (never deleted), leftovers of interrupted
 * writes removed, a failed write that changes nothing, the size limit
 * (what is written loads again), injected faults (a failed fsync after the
 * rename does not fail the write; a file a write replaced between a load's
 * read and its move aside stays), and atomicity under
 * SIGKILL: a child process rewrites documents in a loop and is killed at
 * random moments; every document must then load, and hold a version at
 * least as new as the last one the child had acknowledged (each child
 * starts above every version acknowledged before).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "udb.h"

static char reported[8192];

static void report(void *arg, int level, const char *fmt, va_list ap)
{
	size_t n = strlen(reported);
	(void)arg, (void)level;
	if (n < sizeof(reported) - 2) {
		vsnprintf(reported + n, sizeof(reported) - n - 1, fmt, ap);
		strcat(reported, "\n");
	}
}

static const struct udb_reporter reporter = {report, NULL};
static const struct udb_ctx ctx = {"example.com", UDB_ID_IS_NAME};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int count_matching(const char *dir, const char *needle)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (de = readdir(d)))
		n += strstr(de->d_name, needle) != NULL;
	if (d)
		closedir(d);
	return n;
}

static void rm_rf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

static json_t *user(const char *id, const char *first)
{
	static const struct udb_ctx stored = {"example.com", UDB_ID_IS_NAME | UDB_STORED};
	json_t *in = json_pack("{s:s,s:s,s:s}", "id", id, "login", id, "first_name", first), *out;
	char err[256];

	if (udb_doc_canon(UCS_UD_USER, in, &stored, &out, NULL, err, sizeof(err)))
		out = NULL;
	json_decref(in);
	return out;
}

static void test_layout_and_round_trip(const char *base)
{
	char dir[1024], path[4200];
	struct udb_store *st = NULL;
	struct udb_load_stats stats;
	struct udb_docs docs;
	struct stat sb;
	json_t *doc;

	snprintf(dir, sizeof(dir), "%s/a/userdb", base);
	CHECK_INT(udb_store_open("relative/dir", &ctx, &reporter, &st), ==, -EINVAL);
	CHECK_INT(udb_store_open(dir, &ctx, &reporter, &st), ==, 0);
	if (!st)
		return;
	CHECK_STR(udb_store_dir(st), dir);
	for (const char *const *sub = (const char *const[]){"users", "groups", "computers",
							    "profiles", "pictures", NULL};
	     *sub; sub++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *sub);
		CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	}
	snprintf(path, sizeof(path), "%s/profiles/default.json", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	CHECK(stat(path, &sb) == 0);
	CHECK_CONTAINS(reported, "/profiles/default.json");

	doc = user("alice", "Alice");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);
	doc = user("bob", "Bob");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);
	doc = json_pack("{s:s}", "id", "Bad Id");
	CHECK_INT(udb_store_write(st, UCS_UD_GROUP, doc), ==, -EINVAL);
	json_decref(doc);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.loaded[UCS_UD_USER], ==, 2);
	CHECK_INT(stats.loaded[UCS_UD_PROFILE], ==, 1);
	CHECK_INT(stats.loaded[UCS_UD_SETTINGS], ==, 1);
	CHECK_INT(stats.corrupt, ==, 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(docs.kind[UCS_UD_USER], "bob"),
						    "first_name")),
		  "Bob");
	CHECK(json_object_get(docs.kind[UCS_UD_SETTINGS], "") != NULL);
	udb_docs_clear(&docs);

	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "bob"), ==, 0);
	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "bob"), ==, -ENOENT);
	CHECK_INT(udb_store_remove(st, UCS_UD_SETTINGS, ""), ==, -EINVAL);
	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "../x"), ==, -EINVAL);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.loaded[UCS_UD_USER], ==, 1);
	udb_docs_clear(&docs);

	/* pictures: atomic file writes under pictures/, removed with the user */
	CHECK_INT(udb_store_picture_path(st, "alice", 1, path, sizeof(path)), ==, 0);
	CHECK(strstr(path, "/pictures/alice.profile.png") != NULL);
	CHECK_INT(udb_store_picture_path(st, "a/b", 0, path, sizeof(path)), ==, -EINVAL);
	CHECK_INT(udb_store_picture_path(st, "alice", 0, path, sizeof(path)), ==, 0);
	CHECK_INT(udb_store_write_file(st, path, "PNG", 3), ==, 0);
	CHECK(stat(path, &sb) == 0 && sb.st_size == 3);
	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "alice"), ==, 0);
	CHECK(stat(path, &sb) != 0);
	CHECK_INT(udb_store_write_file(st, path, NULL, 0), ==, 0); /* removing nothing */
	snprintf(path, sizeof(path), "%s/pictures", dir);
	CHECK_INT(count_matching(path, ".tmp-"), ==, 0);
	udb_store_close(st);

	/* a second open creates nothing and keeps what is there */
	reported[0] = 0;
	CHECK_INT(udb_store_open(dir, &ctx, &reporter, &st), ==, 0);
	CHECK(!strstr(reported, "created"));
	udb_store_close(st);
}

static void test_corrupt(const char *base)
{
	char dir[1024], path[4200], users[2048];
	struct udb_store *st = NULL;
	struct udb_load_stats stats;
	struct udb_docs docs;
	json_t *doc;

	snprintf(dir, sizeof(dir), "%s/b", base);
	CHECK_INT(udb_store_open(dir, &ctx, &reporter, &st), ==, 0);
	if (!st)
		return;
	snprintf(users, sizeof(users), "%s/users", dir);
	doc = user("good", "Good");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/torn.json", users);
	write_text(path, "{\"id\":\"torn\",\"login\":\"to");
	snprintf(path, sizeof(path), "%s/bad.json", users);
	write_text(path, "{\"id\":\"bad\",\"login\":\"bad\",\"colour\":\"red\"}");
	snprintf(path, sizeof(path), "%s/copy.json", users);
	write_text(path, "{\"id\":\"good\",\"login\":\"good\"}");
	snprintf(path, sizeof(path), "%s/Upper.json", users);
	write_text(path, "{\"id\":\"upper\",\"login\":\"upper\"}");
	snprintf(path, sizeof(path), "%s/notes.txt", users);
	write_text(path, "operator notes are left alone");
	snprintf(path, sizeof(path), "%s/.good.json.tmp-123-4", users);
	write_text(path, "{\"id\":\"good\",\"login\":\"go");
	snprintf(path, sizeof(path), "%s/.settings.json.tmp-9-9", dir);
	write_text(path, "{");
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	write_text(path, "{\"journal_all\":\"yes\"}");
	reported[0] = 0;
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.loaded[UCS_UD_USER], ==, 1);
	CHECK(json_object_get(docs.kind[UCS_UD_USER], "good") != NULL);
	CHECK_INT(stats.corrupt, ==, 5);
	CHECK_INT(stats.misplaced, ==, 1);
	CHECK_INT(stats.temps, ==, 2);
	/* the settings fell back to the defaults in memory */
	CHECK(json_is_true(json_object_get(json_object_get(docs.kind[UCS_UD_SETTINGS], ""),
					   "auto_line_binding")));
	udb_docs_clear(&docs);
	CHECK_CONTAINS(reported, "/users/torn.json: invalid user document: document: invalid JSON "
				 "at line 1 column");
	CHECK_CONTAINS(reported, "/users/bad.json: invalid user document: colour: unknown key; "
				 "moved aside to ");
	CHECK_CONTAINS(reported, "/users/copy.json: invalid user document: id: \"good\" does not "
				 "match the file name");
	CHECK_CONTAINS(reported, "/users/Upper.json: the file name is no valid id");
	CHECK_CONTAINS(reported, "/settings.json: invalid settings document: journal_all: expected "
				 "true or false, got a string");
	CHECK_CONTAINS(reported, "(left by an interrupted write)");
	/* moved aside, not deleted; the temporaries are gone; notes stay */
	CHECK_INT(count_matching(users, "torn.json.corrupt-"), ==, 1);
	CHECK_INT(count_matching(users, "bad.json.corrupt-"), ==, 1);
	CHECK_INT(count_matching(users, "copy.json.corrupt-"), ==, 1);
	CHECK_INT(count_matching(users, "Upper.json.corrupt-"), ==, 1);
	CHECK_INT(count_matching(dir, "settings.json.corrupt-"), ==, 1);
	CHECK_INT(count_matching(users, ".tmp-"), ==, 0);
	CHECK_INT(count_matching(dir, ".tmp-"), ==, 0);
	CHECK_INT(count_matching(users, "notes.txt"), ==, 1);
	/* the next load finds a clean store */
	reported[0] = 0;
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.corrupt, ==, 0);
	CHECK_INT(stats.temps, ==, 0);
	CHECK_STR(reported, "");
	udb_docs_clear(&docs);
	/* the same file broken twice in one second gets a second name */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/torn.json", users);
		write_text(path, "[");
		CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
		CHECK_INT(stats.corrupt, ==, 1);
		udb_docs_clear(&docs);
	}
	CHECK(count_matching(users, "torn.json.corrupt-") >= 2);
	/* a file over the size limit */
	{
		FILE *f;
		snprintf(path, sizeof(path), "%s/huge.json", users);
		f = fopen(path, "w");
		if (f) {
			fseek(f, UDB_DOC_MAX + 10, SEEK_SET);
			fputc('}', f);
			fclose(f);
		}
		reported[0] = 0;
		CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
		CHECK_INT(stats.corrupt, ==, 1);
		CHECK_CONTAINS(reported, "huge.json: cannot be read (larger than the 4 MiB limit)");
		udb_docs_clear(&docs);
	}
	/* a write that cannot happen changes nothing */
	{
		char groups[2048];
		snprintf(groups, sizeof(groups), "%s/groups", dir);
		rm_rf(groups);
		write_text(groups, "not a directory");
		doc = json_pack("{s:s}", "id", "g");
		reported[0] = 0;
		CHECK_INT(udb_store_write(st, UCS_UD_GROUP, doc), ==, -EIO);
		CHECK_CONTAINS(reported, "cannot create ");
		json_decref(doc);
		CHECK_INT(udb_store_load(st, &docs, &stats), <, 0); /* groups/ unreadable */
		unlink(groups);
		mkdir(groups, 0700);
		CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
		udb_docs_clear(&docs);
	}
	udb_store_close(st);
}

/* ---- the size limit: what is written loads again ---- */

/* A group whose stored text is exactly `size` bytes (members fill it, the
 * name pads the rest), or NULL. */
static json_t *group_of_size(size_t size)
{
	json_t *g = udb_doc_default(UCS_UD_GROUP, "big"); /* a stored form */
	json_t *members = json_object_get(g, "members");
	char id[64], *text = NULL;
	size_t len = 0, n = 0;
	int rc;

	for (;;) {
		rc = udb_store_text(g, &text, &len);
		free(text);
		if (rc || len + 900 > size)
			break;
		/* about 46 bytes each as stored: add many at once, fewer near the end */
		for (size_t k = (size - len - 900) / 46 + 1; k > 0; k--) {
			snprintf(id, sizeof(id), "member-%032zu", n++);
			json_array_append_new(members, json_string(id));
		}
	}
	if (rc || len > size) {
		json_decref(g);
		return NULL;
	}
	{
		char *pad = malloc(size - len + 1);

		memset(pad, 'x', size - len);
		pad[size - len] = 0;
		json_object_set_new(g, "name", json_string(pad));
		free(pad);
	}
	return g;
}

static void test_size_limit(const char *base)
{
	char dir[1024], path[4200], groups[2048];
	struct udb_store *st = NULL;
	struct udb_load_stats stats;
	struct udb_docs docs;
	struct stat sb;
	json_t *g, *canon = NULL;
	char *text = NULL, err[256];
	size_t len = 0;

	snprintf(dir, sizeof(dir), "%s/size", base);
	CHECK_INT(udb_store_open(dir, &ctx, &reporter, &st), ==, 0);
	if (!st)
		return;
	snprintf(groups, sizeof(groups), "%s/groups", dir);
	snprintf(path, sizeof(path), "%s/big.json", groups);
	/* exactly the limit: written, and loaded back as it is */
	g = group_of_size(UDB_DOC_MAX);
	CHECK(g != NULL);
	if (!g) {
		udb_store_close(st);
		return;
	}
	{
		static const struct udb_ctx sctx = {"example.com", UDB_ID_IS_NAME | UDB_STORED};
		CHECK_INT(udb_doc_canon(UCS_UD_GROUP, g, &sctx, &canon, NULL, err, sizeof(err)), ==,
			  0);
		CHECK(json_equal(canon, g)); /* a stored form as it is */
		json_decref(canon);
	}
	CHECK_INT(udb_store_text(g, &text, &len), ==, 0);
	CHECK_INT(len, ==, UDB_DOC_MAX);
	free(text);
	CHECK_INT(udb_store_write(st, UCS_UD_GROUP, g), ==, 0);
	CHECK(stat(path, &sb) == 0 && sb.st_size == UDB_DOC_MAX);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.corrupt, ==, 0);
	CHECK(json_equal(json_object_get(docs.kind[UCS_UD_GROUP], "big"), g));
	udb_docs_clear(&docs);
	/* one byte more: refused before anything is written */
	{
		json_t *name = json_object_get(g, "name");
		char *more = malloc(json_string_length(name) + 2);

		snprintf(more, json_string_length(name) + 2, "%sx", json_string_value(name));
		json_object_set_new(g, "name", json_string(more));
		free(more);
	}
	CHECK_INT(udb_store_text(g, &text, &len), ==, -EFBIG);
	CHECK(text == NULL);
	CHECK_INT(len, ==, UDB_DOC_MAX + 1);
	reported[0] = 0;
	CHECK_INT(udb_store_write(st, UCS_UD_GROUP, g), ==, -EFBIG);
	CHECK_STR(reported, "");
	CHECK(stat(path, &sb) == 0 && sb.st_size == UDB_DOC_MAX); /* the old version */
	CHECK_INT(count_matching(groups, ".tmp-"), ==, 0);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK_INT(stats.corrupt, ==, 0);
	CHECK_INT(stats.loaded[UCS_UD_GROUP], ==, 1);
	udb_docs_clear(&docs);
	json_decref(g);
	udb_store_close(st);
}

/* ---- faults: the seam of udb_store_set_fault ---- */

struct fault_plan {
	const char *point;  /* which step fails */
	const char *suffix; /* only for paths ending so; NULL any */
	int times;	    /* how often (then it succeeds) */
	int err;
	int calls; /* how often the step was reached for a matching path */
	struct udb_store *st;
	json_t *replace; /* "move_aside": a write that lands first */
};

static int has_end(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int plan_fault(void *arg, const char *point, const char *path)
{
	struct fault_plan *fp = arg;

	if (strcmp(point, fp->point) != 0 || (fp->suffix && !has_end(path, fp->suffix)))
		return 0;
	fp->calls++;
	if (fp->replace) {
		/* a put of that object between the load's read and its move */
		CHECK_INT(udb_store_write(fp->st, UCS_UD_USER, fp->replace), ==, 0);
		return 0;
	}
	if (fp->times <= 0)
		return 0;
	fp->times--;
	return fp->err;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static void test_faults(const char *base)
{
	char dir[1024], path[4200], users[2048];
	struct udb_store *st = NULL;
	struct udb_load_stats stats;
	struct udb_docs docs;
	struct fault_plan fp;
	json_t *doc;

	snprintf(dir, sizeof(dir), "%s/faults", base);
	CHECK_INT(udb_store_open(dir, &ctx, &reporter, &st), ==, 0);
	if (!st)
		return;
	snprintf(users, sizeof(users), "%s/users", dir);
	snprintf(path, sizeof(path), "%s/alice.json", users);
	doc = user("alice", "One");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);

	/* the directory's fsync fails after the rename: the write is done */
	fp = (struct fault_plan){"fsync_dir", "/users", 2, -EIO, 0, st, NULL};
	udb_store_set_fault(st, plan_fault, &fp);
	reported[0] = 0;
	doc = user("alice", "Two");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);
	CHECK_INT(fp.calls, ==, 2); /* tried again once */
	CHECK_CONTAINS(slurp(path), "\"Two\"");
	CHECK_CONTAINS(reported, "wrote ");
	CHECK_CONTAINS(reported, "/users/alice.json, but cannot fsync its directory (Input/output "
				 "error, tried twice): the change stands");
	/* failing once only: the retry makes it, nothing to report */
	fp = (struct fault_plan){"fsync_dir", "/users", 1, -EIO, 0, st, NULL};
	reported[0] = 0;
	doc = user("alice", "Three");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, 0);
	json_decref(doc);
	CHECK_INT(fp.calls, ==, 2);
	CHECK_STR(reported, "");
	/* the rename fails: nothing changed, no temporary left */
	fp = (struct fault_plan){"rename", "/alice.json", 1, -EIO, 0, st, NULL};
	reported[0] = 0;
	doc = user("alice", "Four");
	CHECK_INT(udb_store_write(st, UCS_UD_USER, doc), ==, -EIO);
	json_decref(doc);
	CHECK_CONTAINS(slurp(path), "\"Three\"");
	CHECK_CONTAINS(reported, "cannot rename ");
	CHECK_INT(count_matching(users, ".tmp-"), ==, 0);
	/* a removal: the unlink fails (-EIO, the file stays), or the fsync
	 * after it (done: 0, the file is gone) */
	fp = (struct fault_plan){"unlink", "/alice.json", 1, -EACCES, 0, st, NULL};
	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "alice"), ==, -EIO);
	CHECK(access(path, F_OK) == 0);
	fp = (struct fault_plan){"fsync_dir", "/users", 2, -EIO, 0, st, NULL};
	reported[0] = 0;
	CHECK_INT(udb_store_remove(st, UCS_UD_USER, "alice"), ==, 0);
	CHECK(access(path, F_OK) != 0);
	CHECK_CONTAINS(reported, "removed ");

	/* A load finds a file over the limit and, before it moves it aside,
	 * a write replaces it with a valid version: that version stays. */
	snprintf(path, sizeof(path), "%s/bob.json", users);
	{
		FILE *f = fopen(path, "w");
		if (f) {
			fseek(f, UDB_DOC_MAX + 10, SEEK_SET);
			fputc('}', f);
			fclose(f);
		}
	}
	fp = (struct fault_plan){"move_aside", "/bob.json", 0, 0, 0, st, user("bob", "Valid")};
	reported[0] = 0;
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	udb_docs_clear(&docs);
	CHECK_INT(fp.calls, ==, 1);
	CHECK_INT(count_matching(users, "bob.json.corrupt-"), ==, 0);
	CHECK_CONTAINS(slurp(path), "\"Valid\"");
	CHECK(strstr(reported, "moved aside") == NULL);
	json_decref(fp.replace);
	udb_store_set_fault(st, NULL, NULL);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	CHECK(json_object_get(docs.kind[UCS_UD_USER], "bob") != NULL);
	CHECK_INT(stats.corrupt, ==, 0);
	udb_docs_clear(&docs);
	/* the same for a document that does not validate */
	write_text(path, "{\"id\":\"bob\",\"login\":\"bob\",\"colour\":\"red\"}");
	fp = (struct fault_plan){"move_aside", "/bob.json", 0, 0, 0, st, user("bob", "Again")};
	udb_store_set_fault(st, plan_fault, &fp);
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	udb_docs_clear(&docs);
	CHECK_INT(count_matching(users, "bob.json.corrupt-"), ==, 0);
	CHECK_CONTAINS(slurp(path), "\"Again\"");
	json_decref(fp.replace);
	/* and without a write in between, it is moved aside as before */
	write_text(path, "{\"id\":\"bob\",\"login\":\"bob\",\"colour\":\"red\"}");
	fp = (struct fault_plan){"move_aside", "/bob.json", 0, 0, 0, st, NULL};
	CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
	udb_docs_clear(&docs);
	CHECK_INT(fp.calls, ==, 1);
	CHECK_INT(count_matching(users, "bob.json.corrupt-"), ==, 1);
	udb_store_set_fault(st, NULL, NULL);
	udb_store_close(st);
}

/* The child: rewrites N documents round-robin, version after version, and
 * acknowledges each finished write by writing "id version\n" to a pipe. */
static void writer(const char *dir, int ack, long start)
{
	struct udb_store *st = NULL;
	char id[16], ver[32];

	if (udb_store_open(dir, &ctx, NULL, &st))
		_exit(2);
	for (long v = start;; v++) {
		for (int i = 0; i < 8; i++) {
			json_t *doc;
			char line[64];
			int n;

			snprintf(id, sizeof(id), "u%d", i);
			snprintf(ver, sizeof(ver), "%ld", v);
			doc = user(id, ver);
			/* bulk makes each write take long enough to be interrupted */
			json_object_set_new(doc, "other_lines",
					    json_pack("[sssssssssss]", "a", "b", "c", "d", "e", "f",
						      "g", "h", "i", "j", "k"));
			if (udb_store_write(st, UCS_UD_USER, doc) != 0)
				_exit(3);
			json_decref(doc);
			n = snprintf(line, sizeof(line), "%s %ld\n", id, v);
			if (write(ack, line, (size_t)n) != n)
				_exit(4);
		}
	}
}

static void test_kill_loop(const char *base)
{
	char dir[1024];
	long acked[8] = {0};
	int rounds = 30, lost = 0, torn = 0;

	snprintf(dir, sizeof(dir), "%s/c", base);
	srand((unsigned)time(NULL));
	for (int r = 0; r < rounds; r++) {
		struct udb_store *st = NULL;
		struct udb_load_stats stats;
		struct udb_docs docs;
		char buf[65536];
		int fds[2];
		pid_t pid;
		ssize_t n;
		size_t len = 0;

		long start = 1;

		for (int i = 0; i < 8; i++)
			if (acked[i] >= start)
				start = acked[i] + 1;
		if (pipe(fds) != 0)
			return;
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			writer(dir, fds[1], start);
		}
		close(fds[1]);
		usleep(2000 + (unsigned)(rand() % 20000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* what the child acknowledged before it died */
		while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
			len += (size_t)n;
			if (len >= sizeof(buf) - 1) {
				/* keep the last half: only the newest versions matter */
				memmove(buf, buf + len / 2, len - len / 2);
				len -= len / 2;
			}
		}
		close(fds[0]);
		buf[len] = 0;
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			int i;
			long v;
			if (sscanf(line, "u%d %ld", &i, &v) == 2 && i >= 0 && i < 8 && v > acked[i])
				acked[i] = v;
		}
		/* everything loads; nothing acknowledged is lost or torn */
		CHECK_INT(udb_store_open(dir, &ctx, NULL, &st), ==, 0);
		if (!st)
			return;
		CHECK_INT(udb_store_load(st, &docs, &stats), ==, 0);
		torn += (int)stats.corrupt;
		for (int i = 0; i < 8; i++) {
			char id[16];
			json_t *doc;
			snprintf(id, sizeof(id), "u%d", i);
			doc = json_object_get(docs.kind[UCS_UD_USER], id);
			if (!acked[i])
				continue;
			if (!doc || atol(json_string_value(json_object_get(doc, "first_name"))) <
					    acked[i]) {
				fprintf(stderr, "round %d: %s has %s, acknowledged %ld\n", r, id,
					doc ? json_string_value(json_object_get(doc, "first_name"))
					    : "(nothing)",
					acked[i]);
				lost++;
			}
		}
		udb_docs_clear(&docs);
		udb_store_close(st);
	}
	CHECK_INT(torn, ==, 0);
	CHECK_INT(lost, ==, 0);
	CHECK(acked[0] > 0);
	{
		char users[2048];
		snprintf(users, sizeof(users), "%s/users", dir);
		CHECK_INT(count_matching(users, ".corrupt-"), ==, 0);
	}
}

int main(void)
{
	char base[] = "/tmp/udb-store-test-XXXXXX";

	if (!mkdtemp(base))
		return 1;
	test_layout_and_round_trip(base);
	test_corrupt(base);
	test_size_limit(base);
	test_faults(base);
	test_kill_loop(base);
	rm_rf(base);
	return check_report();
}
