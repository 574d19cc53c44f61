/*
 * tests/unit/log/test_log.c - unit tests of core/log: levels, the line
 * format and its escaping, size rotation, the midnight switch, retention,
 * the ring, an unusable directory and concurrent writers.
 *
 * One binary, one test per argv[1]: each test runs in its own process
 * because the log is process-wide state. Files go to a fresh directory under
 * $TMPDIR (or /tmp), removed at the end; the wall clock is faked through
 * core_log_set_clock() wherever the date matters, so no test depends on the
 * day it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

#define LINE_RE                                                                           \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "              \
	"(error|warning|info|debug) \\[[^] ]+\\] "

static char tmp[256];
static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static time_t local_time(int y, int mon, int d, int h, int min, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = min, .tm_sec = s, .tm_isdst = -1,
	};

	return mktime(&tm);
}

static void make_tmp(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/ucsd-log-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(1);
	}
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmp(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmp, name);
	return buf;
}

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1))) {
		ssize_t n = read(fd, buf, (size_t)sb.st_size);

		buf[n > 0 ? n : 0] = '\0';
		if (len)
			*len = n > 0 ? (size_t)n : 0;
	}
	close(fd);
	return buf;
}

static char *slurp_name(const char *name)
{
	char p[512];

	return slurp(path_of(p, sizeof(p), name), NULL);
}

static long long size_of(const char *name)
{
	char p[512];
	struct stat sb;

	return stat(path_of(p, sizeof(p), name), &sb) == 0 ? (long long)sb.st_size : -1;
}

static bool exists(const char *name)
{
	return size_of(name) >= 0;
}

static void touch(const char *name)
{
	char p[512];
	int fd = open(path_of(p, sizeof(p), name), O_WRONLY | O_CREAT, 0600);

	if (fd >= 0)
		close(fd);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;

	for (; s && (s = strstr(s, needle)); s++)
		n++;
	return n;
}

static bool matches(const char *s, const char *re)
{
	regex_t rx;
	bool ok;

	if (!s || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

/* stderr goes to a file between capture_begin() and capture_end(), which returns it. */
static int saved_stderr = -1;

static void capture_begin(void)
{
	char p[512];
	int fd = open(path_of(p, sizeof(p), "stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(void)
{
	char p[512];

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	return slurp(path_of(p, sizeof(p), "stderr.txt"), NULL);
}

static struct core_log_settings settings(const char *dir, enum ucs_log_level level)
{
	return (struct core_log_settings){.level = level, .dir = dir, .to_stderr = false};
}

struct collected {
	size_t n;
	struct core_log_event ev[8];
};

static void collect(const struct core_log_event *ev, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		c->ev[c->n] = *ev;
	c->n++;
}

/* Only events at or above the level reach files and ring; names parse both ways. */
static void test_levels(void)
{
	struct core_log_settings s = settings(tmp, UCS_LOG_WARNING);
	enum ucs_log_level l = UCS_LOG_DEBUG;
	struct collected c = {0};
	char *f;

	CHECK_INT(core_log_level_parse("error", &l), ==, 0);
	CHECK_INT(l, ==, UCS_LOG_ERROR);
	CHECK_INT(core_log_level_parse("debug", &l), ==, 0);
	CHECK_INT(l, ==, UCS_LOG_DEBUG);
	CHECK_INT(core_log_level_parse("info", &l), ==, 0);
	CHECK_INT(l, ==, UCS_LOG_INFO);
	CHECK_INT(core_log_level_parse("warning", &l), ==, 0);
	CHECK_INT(l, ==, UCS_LOG_WARNING);
	CHECK_INT(core_log_level_parse("information", &l), ==, -EINVAL);
	CHECK_INT(core_log_level_parse("", &l), ==, -EINVAL);
	CHECK_STR(core_log_level_name(UCS_LOG_INFO), "info");
	CHECK_STR(core_log_level_name(UCS_LOG_WARNING), "warning");
	CHECK_STR(core_log_level_name((enum ucs_log_level)9), "?");

	core_log_init();
	CHECK_INT(core_log_level(), ==, UCS_LOG_INFO);
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);
	CHECK_INT(core_log_configure(&s), ==, 0);
	CHECK_INT(core_log_level(), ==, UCS_LOG_WARNING);
	CHECK(core_log_enabled(UCS_LOG_ERROR));
	CHECK(core_log_enabled(UCS_LOG_WARNING));
	CHECK(!core_log_enabled(UCS_LOG_INFO));
	CHECK(!core_log_enabled(UCS_LOG_DEBUG));
	core_log("t", UCS_LOG_ERROR, "e1");
	core_log("t", UCS_LOG_WARNING, "w1");
	core_log("t", UCS_LOG_INFO, "i1");
	core_log("t", UCS_LOG_DEBUG, "d1");

	f = slurp_name("ucsd-20261126.log");
	CHECK_INT(count_lines(f), ==, 2);
	CHECK_CONTAINS(f, " error [t] e1\n");
	CHECK_CONTAINS(f, " warning [t] w1\n");
	CHECK(f && !strstr(f, "i1") && !strstr(f, "d1"));
	free(f);
	CHECK_INT(core_log_recent(collect, &c), ==, 2);
	CHECK_STR(c.ev[0].text, "e1");
	CHECK_STR(c.ev[1].text, "w1");
	CHECK_INT(c.ev[1].level, ==, UCS_LOG_WARNING);

	s.level = (enum ucs_log_level)7;
	CHECK_INT(core_log_configure(&s), ==, -EINVAL);
	CHECK_INT(core_log_level(), ==, UCS_LOG_WARNING);
	core_log_close();
}

/* `YYYY-MM-DD HH:MM:SS.mmm level [tag] text`, the same on stderr and in the file. */
static void test_format(void)
{
	struct core_log_settings s = settings(NULL, UCS_LOG_DEBUG);
	char *err, *f;

	core_log_init();
	s.to_stderr = true;
	capture_begin();
	core_log_configure(&s);
	core_log("sip", UCS_LOG_WARNING, "hello %d", 42);
	err = capture_end();
	CHECK(matches(err, LINE_RE "hello 42\n$"));
	CHECK(matches(err, "^[^ ]+ [^ ]+ warning \\[sip\\] hello 42\n$"));
	free(err);

	/* a NULL or empty tag still gives a parseable line */
	capture_begin();
	core_log(NULL, UCS_LOG_INFO, "x");
	core_log("", UCS_LOG_INFO, "y");
	core_log("a b\n", UCS_LOG_INFO, "z");
	err = capture_end();
	CHECK_CONTAINS(err, " info [core] x\n");
	CHECK_CONTAINS(err, " info [core] y\n");
	CHECK_CONTAINS(err, " info [a?b?] z\n");
	free(err);

	fake_now = local_time(2026, 11, 26, 6, 18, 30);
	core_log_set_clock(fake_clock);
	s.dir = tmp;
	capture_begin();
	CHECK_INT(core_log_configure(&s), ==, 0);
	core_log("core", UCS_LOG_DEBUG, "to %s", "both");
	err = capture_end();
	f = slurp_name("ucsd-20261126.log");
	CHECK(matches(f, "^2026-11-26 06:18:30\\.[0-9]{3} debug \\[core\\] to both\n$"));
	CHECK_STR(err, f);
	free(err);
	free(f);

	/* to_stderr false: the file only */
	s.to_stderr = false;
	capture_begin();
	CHECK_INT(core_log_configure(&s), ==, 0);
	core_log("core", UCS_LOG_ERROR, "file only");
	err = capture_end();
	CHECK_STR(err, "");
	free(err);
	f = slurp_name("ucsd-20261126.log");
	CHECK_INT(count_lines(f), ==, 2);
	CHECK_CONTAINS(f, " error [core] file only\n");
	free(f);
	core_log_close();
}

/* A peer-controlled string cannot start a line of its own; long text ends in "...". */
static void test_escape(void)
{
	struct core_log_settings s = settings(tmp, UCS_LOG_DEBUG);
	struct collected c = {0};
	static char big[5001];
	size_t len;
	char *f;

	core_log_init();
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);
	CHECK_INT(core_log_configure(&s), ==, 0);
	core_log("sip", UCS_LOG_INFO, "caller %s",
		 "evil\n2026-11-26 06:18:30.123 error [core] forged\r\t\x1b[31m\x7f|\xc2\x85|\xc3\xa9");
	f = slurp_name("ucsd-20261126.log");
	CHECK_INT(count_lines(f), ==, 1);
	CHECK_CONTAINS(f, "caller evil\\x0a2026-11-26 06:18:30.123 error [core] forged\\x0d\\x09"
			  "\\x1b[31m\\x7f|\\xc2\\x85|\xc3\xa9\n");
	free(f);

	memset(big, 'a', 5000);
	big[5000] = '\0';
	core_log("sip", UCS_LOG_INFO, "%s", big);
	/* every byte escapes to four: the cut comes from the escaping, not from vsnprintf */
	memset(big, '\n', 1000);
	big[1000] = '\0';
	core_log("sip", UCS_LOG_INFO, "%s", big);
	/* 'a' and 2-byte characters: the cut falls inside one, which must go entirely */
	big[0] = 'a';
	for (len = 1; len + 2 <= 5000; len += 2)
		memcpy(big + len, "\xc3\xa9", 2);
	big[len] = '\0';
	core_log("sip", UCS_LOG_INFO, "%s", big);

	CHECK_INT(core_log_recent(collect, &c), ==, 4);
	for (size_t i = 1; i < 4; i++) {
		len = strlen(c.ev[i].text);
		CHECK_INT(len, <, CORE_LOG_LINE_MAX);
		CHECK_INT(len, >, CORE_LOG_LINE_MAX - 8);
		CHECK(len > 3 && !strcmp(c.ev[i].text + len - 3, "..."));
	}
	CHECK_INT(strspn(c.ev[1].text, "a"), ==, strlen(c.ev[1].text) - 3);
	CHECK(!strchr(c.ev[2].text, '\n'));
	CHECK(!strncmp(c.ev[2].text, "\\x0a\\x0a", 8));
	len = strlen(c.ev[3].text) - 3;
	CHECK_INT((unsigned char)c.ev[3].text[len - 1], ==, 0xa9);
	CHECK_INT((unsigned char)c.ev[3].text[len - 2], ==, 0xc3);
	f = slurp_name("ucsd-20261126.log");
	CHECK_INT(count_lines(f), ==, 4);
	free(f);
	core_log_close();
}

static void fill(int lines, size_t width)
{
	char *pad = malloc(width + 1);

	memset(pad, 'x', width);
	pad[width] = '\0';
	for (int i = 0; i < lines; i++)
		core_log("fill", UCS_LOG_INFO, "%06d %s", i, pad);
	free(pad);
}

/* max_size_mb=1: a new part before a file would pass 1 MiB; a restart appends to the newest. */
static void test_rotation(void)
{
	struct core_log_settings s = settings(tmp, UCS_LOG_INFO);
	long long a, b;
	char *fa, *fb;

	core_log_init();
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);
	s.max_size_mb = 1;
	CHECK_INT(core_log_configure(&s), ==, 0);
	fill(1200, 1000);
	a = size_of("ucsd-20261126.log");
	b = size_of("ucsd-20261126.1.log");
	CHECK_INT(a, >, 1000000);
	CHECK_INT(a, <=, 1 << 20);
	CHECK_INT(b, >, 0);
	CHECK_INT(b, <=, 1 << 20);
	CHECK(!exists("ucsd-20261126.2.log"));
	fa = slurp_name("ucsd-20261126.log");
	fb = slurp_name("ucsd-20261126.1.log");
	CHECK_INT(count_lines(fa) + count_lines(fb), ==, 1200);
	/* the split is between lines and in order */
	CHECK(fb && matches(fb, LINE_RE));
	CHECK(fa && fb && fa[a - 1] == '\n');
	CHECK(fb && strstr(fb, "[fill] 001199 "));
	CHECK(fa && strstr(fa, "[fill] 000000 ") && !strstr(fa, "[fill] 001199 "));
	free(fa);
	free(fb);

	/* a restart the same day goes on with the newest file */
	core_log_close();
	CHECK_INT(core_log_configure(&s), ==, 0);
	core_log("x", UCS_LOG_INFO, "after restart");
	CHECK_INT(size_of("ucsd-20261126.log"), ==, a);
	CHECK_INT(size_of("ucsd-20261126.1.log"), >, b);
	fill(1100, 1000);
	CHECK(exists("ucsd-20261126.2.log"));
	CHECK_INT(size_of("ucsd-20261126.1.log"), <=, 1 << 20);

	/* max_size_mb=0: no limit */
	s.max_size_mb = 0;
	CHECK_INT(core_log_configure(&s), ==, 0);
	b = size_of("ucsd-20261126.2.log");
	fill(1100, 1000);
	CHECK_INT(size_of("ucsd-20261126.2.log"), >, 1 << 20);
	CHECK(!exists("ucsd-20261126.3.log"));
	core_log_close();
}

/* At local midnight the next line opens the new day's file, starting again at part 0. */
static void test_day_switch(void)
{
	struct core_log_settings s = settings(tmp, UCS_LOG_INFO);
	char *f;

	core_log_init();
	fake_now = local_time(2026, 11, 26, 23, 59, 59);
	core_log_set_clock(fake_clock);
	s.max_size_mb = 1;
	CHECK_INT(core_log_configure(&s), ==, 0);
	fill(1100, 1000);
	CHECK(exists("ucsd-20261126.1.log"));
	core_log("x", UCS_LOG_INFO, "before");
	fake_now = local_time(2026, 11, 27, 0, 0, 1);
	core_log("x", UCS_LOG_INFO, "after");

	f = slurp_name("ucsd-20261126.1.log");
	CHECK(matches(f, "2026-11-26 23:59:59\\.[0-9]{3} info \\[x\\] before\n$"));
	CHECK(f && !strstr(f, "after"));
	free(f);
	f = slurp_name("ucsd-20261127.log");
	CHECK(matches(f, "^2026-11-27 00:00:01\\.[0-9]{3} info \\[x\\] after\n$"));
	free(f);
	CHECK(!exists("ucsd-20261127.1.log"));
	core_log_close();
}

/* keep_days=2 deletes ucsd-*.log dated more than 2 days back, at configure and at midnight. */
static void test_retention(void)
{
	static const char *const kept[] = {
		"ucsd-20261124.log", "ucsd-20261125.1.log", "notes.txt", "ucsd-20261101.log.gz",
		"ucsd-2026.log", "ucsd-20261301.log", "ucsd-20261120.0.log", "ucsd-20261120.x.log",
		"ucsd-20261201.log",
	};
	static const char *const gone[] = {
		"ucsd-20261120.log", "ucsd-20261120.3.log", "ucsd-20261123.log", "ucsd-20251126.log",
	};
	struct core_log_settings s = settings(tmp, UCS_LOG_INFO);

	core_log_init();
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		touch(kept[i]);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		touch(gone[i]);
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);

	/* keep_days=0 keeps everything */
	CHECK_INT(core_log_configure(&s), ==, 0);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		CHECK(exists(gone[i]));

	s.keep_days = 2;
	CHECK_INT(core_log_configure(&s), ==, 0);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		CHECK(exists(kept[i]));
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		CHECK(!exists(gone[i]));
	core_log("x", UCS_LOG_INFO, "today");
	CHECK(exists("ucsd-20261126.log"));

	/* two days on, at the first line after midnight */
	fake_now = local_time(2026, 11, 28, 0, 0, 5);
	core_log("x", UCS_LOG_INFO, "two days on");
	CHECK(!exists("ucsd-20261124.log"));
	CHECK(!exists("ucsd-20261125.1.log"));
	CHECK(exists("ucsd-20261126.log"));
	CHECK(exists("ucsd-20261128.log"));
	CHECK(exists("notes.txt"));
	CHECK(exists("ucsd-20261201.log"));
	core_log_close();
}

struct seq_check {
	int next;
	int bad;
	long prev_ms;
};

static void seq_walk(const struct core_log_event *ev, void *arg)
{
	struct seq_check *c = arg;
	long ms = (long)ev->when.tv_sec * 1000 + ev->when.tv_nsec / 1000000;
	int n = -1;

	if (sscanf(ev->text, "event %d", &n) != 1 || n != c->next || ev->level != UCS_LOG_INFO ||
	    strcmp(ev->tag, "ring") || ms < c->prev_ms)
		c->bad++;
	c->next++;
	c->prev_ms = ms;
}

static int walk_logs;

static void walk_and_log(const struct core_log_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	/* from inside the walk: must neither deadlock nor disturb the ring */
	if (walk_logs++ == 0)
		core_log("walk", UCS_LOG_ERROR, "logged from the walk");
}

/* The ring keeps the newest CORE_LOG_RING_SIZE enabled events, oldest first. */
static void test_ring(void)
{
	struct core_log_settings s = settings(NULL, UCS_LOG_INFO);
	struct seq_check c = {.next = 100};
	char *err;

	core_log_init();
	CHECK_INT(core_log_recent(NULL, NULL), ==, 0);
	CHECK_INT(core_log_configure(&s), ==, 0);
	for (int i = 0; i < CORE_LOG_RING_SIZE + 100; i++) {
		core_log("ring", UCS_LOG_INFO, "event %d", i);
		core_log("ring", UCS_LOG_DEBUG, "filtered %d", i);
	}
	CHECK_INT(core_log_recent(seq_walk, &c), ==, CORE_LOG_RING_SIZE);
	CHECK_INT(c.bad, ==, 0);
	CHECK_INT(c.next, ==, CORE_LOG_RING_SIZE + 100);

	capture_begin();
	CHECK_INT(core_log_recent(walk_and_log, NULL), ==, CORE_LOG_RING_SIZE);
	err = capture_end();
	CHECK_INT(walk_logs, ==, CORE_LOG_RING_SIZE);
	CHECK_CONTAINS(err, " error [walk] logged from the walk\n");
	free(err);
	c = (struct seq_check){.next = 100};
	core_log_recent(seq_walk, &c);
	CHECK_INT(c.bad, ==, 0);

	core_log_init();
	CHECK_INT(core_log_recent(NULL, NULL), ==, 0);
	core_log_close();
}

static void count_notices(const struct core_log_event *ev, void *arg)
{
	if (ev->level == UCS_LOG_WARNING && !strcmp(ev->tag, "core") &&
	    strstr(ev->text, "log directory"))
		++*(int *)arg;
}

/* A directory under a regular file: one notice, lines go on to stderr, and a good one heals. */
static void test_unwritable(void)
{
	struct core_log_settings s = settings(NULL, UCS_LOG_INFO);
	char bad[512], *err, *f;
	int notices = 0;

	core_log_init();
	touch("plain");
	path_of(bad, sizeof(bad), "plain/logs");
	s.dir = bad;
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);
	capture_begin();
	CHECK_INT(core_log_configure(&s), ==, -ENOTDIR);
	for (int i = 0; i < 3; i++)
		core_log("x", UCS_LOG_INFO, "lost? %d", i);
	/* the next day retries, fails again, and does not repeat the notice */
	fake_now = local_time(2026, 11, 27, 12, 0, 0);
	for (int i = 3; i < 5; i++)
		core_log("x", UCS_LOG_INFO, "lost? %d", i);
	err = capture_end();
	CHECK_INT(count_of(err, "log directory"), ==, 1);
	CHECK_CONTAINS(err, " warning [core] log directory ");
	CHECK_CONTAINS(err, "plain/logs");
	CHECK_INT(count_of(err, "lost? "), ==, 5);
	CHECK_INT(count_lines(err), ==, 6);
	free(err);
	core_log_recent(count_notices, &notices);
	CHECK_INT(notices, ==, 1);

	/* a reload with a usable directory: files again, stderr quiet */
	s.dir = tmp;
	capture_begin();
	CHECK_INT(core_log_configure(&s), ==, 0);
	core_log("x", UCS_LOG_INFO, "kept");
	err = capture_end();
	CHECK_STR(err, "");
	free(err);
	f = slurp_name("ucsd-20261127.log");
	CHECK_CONTAINS(f, " info [x] kept\n");
	free(f);
	core_log_close();
}

#define THREADS 4
#define PER_THREAD 5000

static void *writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	char pad[400];

	for (int i = 0; i < PER_THREAD; i++) {
		size_t w = (size_t)(i * 7 + t * 13) % (sizeof(pad) - 1);

		memset(pad, 'a' + t, w);
		pad[w] = '\0';
		core_log("mt", UCS_LOG_INFO, "t%d n%d %s", t, i, pad);
		if (i % 1000 == 0)
			core_log_recent(NULL, NULL);
	}
	return NULL;
}

/* Check every line of one file: well formed, and each (thread, number) seen once. */
static void tally(const char *name, unsigned char *seen, size_t *lines, size_t *bad)
{
	char *f = slurp_name(name), *line, *save = NULL;
	int t, n, off;

	for (line = f ? strtok_r(f, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		const char *text = strstr(line, " [mt] ");
		size_t w;

		++*lines;
		off = -1;
		if (!matches(line, LINE_RE "t[0-9] n[0-9]+ [a-z]*$") || !text ||
		    sscanf(text, " [mt] t%d n%d %n", &t, &n, &off) != 2 || off < 0 || t < 0 ||
		    t >= THREADS || n < 0 || n >= PER_THREAD || seen[t * PER_THREAD + n]++) {
			++*bad;
			continue;
		}
		/* the padding arrived whole: the line is the one this call wrote */
		w = (size_t)(n * 7 + t * 13) % 399;
		if (strspn(text + off, (char[]){(char)('a' + t), '\0'}) != w || text[off + (int)w])
			++*bad;
	}
	free(f);
}

/* 4 threads, rotation under way: only whole lines, each call exactly one line. */
static void test_threads(void)
{
	struct core_log_settings s = settings(tmp, UCS_LOG_INFO);
	static unsigned char seen[THREADS * PER_THREAD];
	pthread_t th[THREADS];
	size_t lines = 0, bad = 0;
	char name[64];

	core_log_init();
	fake_now = local_time(2026, 11, 26, 12, 0, 0);
	core_log_set_clock(fake_clock);
	s.max_size_mb = 1;
	CHECK_INT(core_log_configure(&s), ==, 0);
	for (int t = 0; t < THREADS; t++)
		CHECK_INT(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t), ==, 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	core_log_close();

	tally("ucsd-20261126.log", seen, &lines, &bad);
	for (int part = 1; part < 100; part++) {
		snprintf(name, sizeof(name), "ucsd-20261126.%d.log", part);
		if (!exists(name))
			break;
		CHECK_INT(size_of(name), <=, 1 << 20);
		tally(name, seen, &lines, &bad);
	}
	CHECK(exists("ucsd-20261126.2.log"));
	CHECK_INT(lines, ==, THREADS * PER_THREAD);
	CHECK_INT(bad, ==, 0);
	CHECK_INT(core_log_recent(NULL, NULL), ==, CORE_LOG_RING_SIZE);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{"levels", test_levels},       {"format", test_format},
	{"escape", test_escape},       {"rotation", test_rotation},
	{"day-switch", test_day_switch}, {"retention", test_retention},
	{"ring", test_ring},           {"unwritable", test_unwritable},
	{"threads", test_threads},
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc == 2 && i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(argv[1], tests[i].name))
			continue;
		make_tmp();
		tests[i].fn();
		core_log_set_clock(NULL);
		remove_tmp();
		return check_report();
	}
	fprintf(stderr, "usage: %s TEST (see tests[] in %s)\n", argv[0], __FILE__);
	return 2;
}
