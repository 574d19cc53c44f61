/*
 * core/log.c - the server's event log (see log.h): turns each event into one
 * line, writes it to stderr and to the day's file in the log directory (size
 * rotation, the midnight switch, retention) and keeps it in the ring of
 * recent events.
 *
 * One mutex guards all state but the level, which is atomic so that
 * core_log_enabled() stays a single load. The caller's text is formatted and
 * escaped outside the lock; the time is read under it, so lines reach files
 * and ring in time order and a line stamped just before midnight can never
 * arrive after the switch and reopen yesterday's file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LOG_PREFIX    "ucsd-"
#define LOG_SUFFIX    ".log"
#define LOG_MORE      "..."
/* time, level, tag and the separators fit in the extra 128 bytes */
#define LOG_LINE_SIZE (CORE_LOG_LINE_MAX + 128)

struct log_state {
	pthread_mutex_t lock;
	bool to_stderr;
	char *dir;	   /* NULL: no files */
	uint64_t max_size; /* bytes; 0: no limit */
	uint32_t keep_days;
	time_t (*now)(void);
	int fd;	       /* the current file, or -1 */
	uint32_t day;  /* YYYYMMDD of the current file, or of the last attempt to open it */
	unsigned part; /* 0: ucsd-DAY.log, n: ucsd-DAY.n.log */
	uint64_t size; /* of the current file */
	bool reported; /* the directory failure was told since files last worked */
	size_t ring_next, ring_count;
	uint64_t seq; /* of the last event */
	struct core_log_event ring[CORE_LOG_RING_SIZE];
};

static atomic_int log_level = UCS_LOG_INFO;
/* set while core_log_recent() calls its handler on this thread, which holds the lock */
static _Thread_local bool log_in_walk;
static _Thread_local struct core_log_capture *log_capture_to;
static void (*_Atomic log_sink)(const struct core_log_event *ev);
static struct log_state st = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.to_stderr = true,
	.fd = -1,
};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static const struct core_log_event *log_emit(const char *tag, enum ucs_log_level level,
					     const char *text, bool notice);

const char *core_log_level_name(enum ucs_log_level level)
{
	return (unsigned)level <= UCS_LOG_DEBUG ? level_names[level] : "?";
}

int core_log_level_parse(const char *name, enum ucs_log_level *out)
{
	for (unsigned i = 0; name && i <= UCS_LOG_DEBUG; i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum ucs_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool core_log_enabled(enum ucs_log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

enum ucs_log_level core_log_level(void)
{
	return (enum ucs_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* Length of s[0..n) without a trailing UTF-8 character that truncation cut short. */
static size_t log_utf8_whole(const char *s, size_t n)
{
	size_t i = n, need;
	unsigned char lead;

	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return n;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0)
		return n;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return n - i + 1 < need ? i - 1 : n;
}

/*
 * Copies in to out so that it stays one line: C0 controls, DEL and the C1
 * controls in their UTF-8 form (U+0085 is a newline to some viewers) become
 * \xNN, so a peer cannot start a forged line through a name that gets
 * logged. Text that does not fit, or arrived cut, ends in "...".
 */
static void log_escape(char *out, size_t size, const char *in, bool cut)
{
	const unsigned char *p = (const unsigned char *)in;
	const size_t room = size - sizeof(LOG_MORE);
	bool in_c1 = false;
	size_t n = 0;

	for (; *p; p++) {
		/* p[1] is readable: p[0] is not the terminator */
		bool lead_c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
		bool esc = p[0] < 0x20 || p[0] == 0x7f || lead_c1 || in_c1;
		size_t w = esc ? 4 : 1;

		if (n + w > room) {
			cut = true;
			break;
		}
		if (esc)
			snprintf(out + n, 5, "\\x%02x", p[0]);
		else
			out[n] = (char)p[0];
		n += w;
		in_c1 = lead_c1;
	}
	if (cut) {
		n = log_utf8_whole(out, n);
		memcpy(out + n, LOG_MORE, strlen(LOG_MORE));
		n += strlen(LOG_MORE);
	}
	out[n] = '\0';
}

static void log_format(char *text, size_t size, const char *fmt, va_list ap)
{
	char raw[CORE_LOG_LINE_MAX];
	int len = vsnprintf(raw, sizeof(raw), fmt, ap);

	/* a format the C library refuses still says where it came from */
	if (len < 0)
		len = snprintf(raw, sizeof(raw), "(unformattable) %s", fmt);
	log_escape(text, size, raw, len >= (int)sizeof(raw));
}

/* The tag names a plugin, which the configuration names: keep it to one printable word. */
static void log_tag(char *out, size_t size, const char *tag)
{
	size_t n = 0;

	for (; tag && tag[n] && n + 1 < size; n++) {
		unsigned char c = (unsigned char)tag[n];

		out[n] = c <= 0x20 || c == 0x7f ? '?' : (char)c;
	}
	n = log_utf8_whole(out, n);
	out[n] = '\0';
	if (!n)
		snprintf(out, size, "core");
}

static void log_clock(struct timespec *when, struct tm *tm)
{
	clock_gettime(CLOCK_REALTIME, when);
	if (st.now)
		when->tv_sec = st.now();
	localtime_r(&when->tv_sec, tm);
}

static uint32_t log_ymd(const struct tm *tm)
{
	return (uint32_t)(tm->tm_year + 1900) * 10000 + (uint32_t)(tm->tm_mon + 1) * 100 +
	       (uint32_t)tm->tm_mday;
}

/* Days since the epoch of a YYYYMMDD date, to age files by the date in their name. */
static long log_day_number(uint32_t ymd)
{
	struct tm tm = {
		.tm_year = (int)(ymd / 10000) - 1900,
		.tm_mon = (int)(ymd / 100 % 100) - 1,
		.tm_mday = (int)(ymd % 100),
		.tm_hour = 12,
	};

	return (long)(timegm(&tm) / 86400);
}

static size_t log_line(char *buf, size_t size, const struct timespec *when, const struct tm *tm,
		       enum ucs_log_level level, const char *tag, const char *text)
{
	int n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s [%s] %s\n",
			 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
			 tm->tm_sec, when->tv_nsec / 1000000, core_log_level_name(level), tag,
			 text);

	/* cannot happen with the sizes above; if it did, the line must still end */
	if (n < 0 || (size_t)n >= size) {
		buf[size - 2] = '\n';
		return size - 1;
	}
	return (size_t)n;
}

static void log_write_stderr(const char *line, size_t len)
{
	ssize_t r;

	do
		r = write(STDERR_FILENO, line, len);
	while (r < 0 && errno == EINTR);
}

/* Parses ucsd-YYYYMMDD.log and ucsd-YYYYMMDD.N.log (N from 1, no leading zero). */
static bool log_name_parse(const char *name, uint32_t *day, unsigned *part)
{
	const size_t plen = strlen(LOG_PREFIX);
	const char *p = name + plen;
	uint32_t d = 0;
	unsigned n = 0;

	if (strncmp(name, LOG_PREFIX, plen))
		return false;
	for (int i = 0; i < 8; i++, p++) {
		if (*p < '0' || *p > '9')
			return false;
		d = d * 10 + (uint32_t)(*p - '0');
	}
	if (p[0] == '.' && p[1] >= '1' && p[1] <= '9') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (n >= 100000)
				return false;
			n = n * 10 + (unsigned)(*p - '0');
		}
	}
	if (strcmp(p, LOG_SUFFIX))
		return false;
	if (d / 100 % 100 < 1 || d / 100 % 100 > 12 || d % 100 < 1 || d % 100 > 31)
		return false;
	*day = d;
	*part = n;
	return true;
}

static int log_path(char *buf, size_t size, uint32_t day, unsigned part)
{
	int n;

	if (part)
		n = snprintf(buf, size, "%s/" LOG_PREFIX "%08u.%u" LOG_SUFFIX, st.dir, day, part);
	else
		n = snprintf(buf, size, "%s/" LOG_PREFIX "%08u" LOG_SUFFIX, st.dir, day);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p, mode 0750 for every directory it creates. */
static int log_mkdir(const char *dir)
{
	char path[PATH_MAX];
	char *p;

	if (strlen(dir) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, dir);
	for (p = path + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*p = c;
	}
}

static void log_close_file(void)
{
	if (st.fd >= 0)
		close(st.fd);
	st.fd = -1;
	st.size = 0;
}

static int log_open_part(unsigned part)
{
	char path[PATH_MAX];
	struct stat sb;
	int err, fd;

	log_close_file();
	err = log_path(path, sizeof(path), st.day, part);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	st.fd = fd;
	st.part = part;
	st.size = (uint64_t)sb.st_size;
	return 0;
}

/* The highest N of today's files, so a restart goes on appending where it left off. */
static int log_newest_part(unsigned *part)
{
	struct dirent *de;
	uint32_t day;
	unsigned n;
	DIR *d;

	*part = 0;
	d = opendir(st.dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (log_name_parse(de->d_name, &day, &n) && day == st.day && n > *part)
			*part = n;
	}
	closedir(d);
	return 0;
}

/* Deletes ucsd-*.log files whose date is more than keep_days days before today. */
static void log_prune(void)
{
	struct dirent *de;
	unsigned part;
	uint32_t day;
	long today;
	DIR *d;

	if (!st.keep_days)
		return;
	d = opendir(st.dir);
	if (!d)
		return;
	today = log_day_number(st.day);
	while ((de = readdir(d))) {
		if (!log_name_parse(de->d_name, &day, &part))
			continue;
		/* a file that will not go is retried at the next day or configure */
		if (today - log_day_number(day) > (long)st.keep_days)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* Files stop until the next day or configure; stderr takes over (log_emit). */
static void log_fail(int err, const char *what)
{
	char raw[CORE_LOG_LINE_MAX], text[CORE_LOG_LINE_MAX];

	log_close_file();
	if (st.reported)
		return;
	st.reported = true;
	snprintf(raw, sizeof(raw), "log directory %s: %s: %s; logging to stderr", st.dir, what,
		 strerror(-err));
	log_escape(text, sizeof(text), raw, false);
	log_emit("core", UCS_LOG_WARNING, text, true);
}

static int log_open_day(void)
{
	unsigned part;
	int err;

	err = log_mkdir(st.dir);
	if (err)
		goto out;
	err = log_newest_part(&part);
	if (err)
		goto out;
	err = log_open_part(part);
	/* the newest file may be full: log_write_file moves on */
out:
	if (err)
		log_fail(err, "cannot open");
	else
		st.reported = false;
	return err;
}

static void log_follow_day(const struct tm *tm)
{
	uint32_t day = log_ymd(tm);

	if (!st.dir || day == st.day)
		return;
	log_close_file();
	st.day = day;
	log_prune();
	(void)log_open_day();
}

static void log_write_file(const char *line, size_t len)
{
	ssize_t r;
	int err;

	if (st.fd < 0)
		return;
	/* a line longer than the limit still goes into a file of its own */
	while (st.max_size && st.size && st.size + len > st.max_size) {
		err = log_open_part(st.part + 1);
		if (err) {
			log_fail(err, "cannot open");
			return;
		}
	}
	/* one write() per line: a reader never sees half of one */
	do
		r = write(st.fd, line, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		log_fail(-errno, "cannot write");
		return;
	}
	st.size += (uint64_t)r;
}

static struct core_log_event *log_ring_slot(void)
{
	struct core_log_event *ev = &st.ring[st.ring_next];

	st.ring_next = (st.ring_next + 1) % CORE_LOG_RING_SIZE;
	if (st.ring_count < CORE_LOG_RING_SIZE)
		st.ring_count++;
	return ev;
}

/*
 * Under the lock: stores the event in the ring and writes its line. A notice
 * about the log itself goes to the ring and to stderr whatever the settings
 * (the operator must learn that files stopped), and not to the file it is
 * about; any other line falls back to stderr while the directory is
 * configured but no file is open, so nothing is lost.
 */
static const struct core_log_event *log_emit(const char *tag, enum ucs_log_level level,
					     const char *text, bool notice)
{
	char line[LOG_LINE_SIZE];
	struct core_log_event *ev;
	struct timespec when;
	struct tm tm;
	size_t len;

	log_clock(&when, &tm);
	if (!notice)
		log_follow_day(&tm);
	ev = log_ring_slot();
	ev->seq = ++st.seq;
	ev->when = when;
	ev->level = level;
	log_tag(ev->tag, sizeof(ev->tag), tag);
	snprintf(ev->text, sizeof(ev->text), "%s", text);
	len = log_line(line, sizeof(line), &ev->when, &tm, level, ev->tag, ev->text);
	if (!notice)
		log_write_file(line, len);
	if (notice || st.to_stderr || (st.dir && st.fd < 0))
		log_write_stderr(line, len);
	return ev;
}

/* Appends a warning or error to this thread's capture. */
static void log_capture_line(enum ucs_log_level level, const char *text)
{
	struct core_log_capture *c = log_capture_to;
	int n;

	if (!c || level > UCS_LOG_WARNING)
		return;
	if (level == UCS_LOG_ERROR)
		c->errors++;
	if (!c->buf || c->len + 1 >= c->cap)
		return;
	n = snprintf(c->buf + c->len, c->cap - c->len, "%s\n", text);
	if (n > 0)
		c->len = c->len + (size_t)n < c->cap ? c->len + (size_t)n : c->cap - 1;
}

struct core_log_capture *core_log_capture(struct core_log_capture *c)
{
	struct core_log_capture *prev = log_capture_to;

	log_capture_to = c;
	return prev;
}

void core_log_set_sink(void (*h)(const struct core_log_event *ev))
{
	pthread_mutex_lock(&st.lock);
	atomic_store(&log_sink, h);
	pthread_mutex_unlock(&st.lock);
}

void core_logv(const char *tag, enum ucs_log_level level, const char *fmt, va_list ap)
{
	void (*sink)(const struct core_log_event *ev);
	const struct core_log_event *ev;
	char text[CORE_LOG_LINE_MAX];

	if (!core_log_enabled(level))
		return;
	log_format(text, sizeof(text), fmt, ap);
	if (log_in_walk) {
		/* a core_log_recent() handler logs: this thread holds the lock already */
		char line[LOG_LINE_SIZE], t[sizeof(st.ring[0].tag)];
		struct timespec when;
		struct tm tm;

		log_tag(t, sizeof(t), tag);
		log_clock(&when, &tm);
		log_write_stderr(line, log_line(line, sizeof(line), &when, &tm, level, t, text));
		return;
	}
	log_capture_line(level, text);
	pthread_mutex_lock(&st.lock);
	ev = log_emit(tag, level, text, false);
	/* under the lock: events reach the sink in sequence order, and none
	 * is in it any more once core_log_set_sink(NULL) returned */
	sink = atomic_load(&log_sink);
	if (sink)
		sink(ev);
	pthread_mutex_unlock(&st.lock);
}

void core_log(const char *tag, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	core_logv(tag, level, fmt, ap);
	va_end(ap);
}

/* Under the lock: back to stderr only, as at start. */
static void log_drop_files(void)
{
	log_close_file();
	free(st.dir);
	st.dir = NULL;
	st.day = 0;
	st.reported = false;
}

void core_log_init(void)
{
	atomic_store(&log_level, UCS_LOG_INFO);
	pthread_mutex_lock(&st.lock);
	log_drop_files();
	st.to_stderr = true;
	st.max_size = 0;
	st.keep_days = 0;
	st.ring_next = 0;
	st.ring_count = 0;
	pthread_mutex_unlock(&st.lock);
}

int core_log_configure(const struct core_log_settings *s)
{
	struct timespec when;
	char *dir = NULL;
	struct tm tm;
	int err = 0;

	if ((unsigned)s->level > UCS_LOG_DEBUG)
		return -EINVAL;
	if (s->dir && *s->dir && !(dir = strdup(s->dir)))
		return -ENOMEM;
	atomic_store(&log_level, (int)s->level);
	pthread_mutex_lock(&st.lock);
	log_drop_files();
	st.dir = dir;
	st.to_stderr = s->to_stderr;
	st.max_size = (uint64_t)s->max_size_mb << 20;
	st.keep_days = s->keep_days;
	if (!st.dir)
		goto out;
	log_clock(&when, &tm);
	st.day = log_ymd(&tm);
	/* prune first: on a full disk that may be what lets the new file open */
	log_prune();
	err = log_open_day();
out:
	pthread_mutex_unlock(&st.lock);
	return err;
}

/* The handler runs under the lock: loggers wait while the admin interface copies the ring. */
size_t core_log_recent(void (*h)(const struct core_log_event *ev, void *arg), void *arg)
{
	size_t first, count;

	pthread_mutex_lock(&st.lock);
	count = st.ring_count;
	first = (st.ring_next + CORE_LOG_RING_SIZE - count) % CORE_LOG_RING_SIZE;
	log_in_walk = true;
	for (size_t i = 0; h && i < count; i++)
		h(&st.ring[(first + i) % CORE_LOG_RING_SIZE], arg);
	log_in_walk = false;
	pthread_mutex_unlock(&st.lock);
	return count;
}

void core_log_close(void)
{
	pthread_mutex_lock(&st.lock);
	log_drop_files();
	st.to_stderr = true;
	pthread_mutex_unlock(&st.lock);
}

void core_log_set_clock(time_t (*now)(void))
{
	pthread_mutex_lock(&st.lock);
	st.now = now;
	pthread_mutex_unlock(&st.lock);
}
