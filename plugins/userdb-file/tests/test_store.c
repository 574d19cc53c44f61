/*
 * plugins/userdb-file/tests/test_store.c - the document store on disk
 * (udb_store.c): layout and first-start documents, round trips, corrupt and
 * misplaced files moved aside (never deleted), leftovers of interrupted
 * writes removed, a failed write that changes nothing, and atomicity under
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
	test_kill_loop(base);
	rm_rf(base);
	return check_report();
}
