/*
 * plugins/userdb-common/udb_store.c - the document store on disk: one JSON
 * file per object, written atomically, loaded with corrupt files moved
 * aside.
 *
 * Atomicity. A write creates ".ID.json.tmp-PID-N" in the object's own
 * directory (rename is only atomic within one file system), writes and
 * fsyncs it, renames it over ID.json and fsyncs the directory so the rename
 * itself is durable. A crash before the rename leaves the old file and a
 * stray temporary (removed at the next load); after it, the new file. So an
 * object is never torn and never lost, whatever moment a kill -9 or a power
 * cut picks. The rename is the commit point: a write that got past it has
 * happened (the next load sees it), so a failing fsync of the directory
 * afterwards is retried and reported but does not make the write fail -
 * the caller would otherwise answer "nothing changed" while the disk holds
 * the new version. The same holds for the unlink of a removal.
 *
 * Size. A document is written as udb_store_text() serialises it (indented,
 * non-ASCII as \u escapes) and only when that text is within UDB_DOC_MAX,
 * the limit a load reads: whatever the store accepted loads again.
 *
 * Operators may edit the files (and send SIGHUP). A file that does not
 * parse or validate is never deleted: it is renamed ID.json.corrupt-<unix
 * time> and reported, and every other object loads. One mutex serialises
 * writes with the load's clean-up, so a load on a worker thread never moves
 * aside or removes a file a write is producing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udb.h"

#define TMP_MARK ".tmp-"

struct udb_store {
	char *dir;
	char *picture_dir;
	char *presence_domain;
	struct udb_ctx ctx; /* with UDB_STORED */
	struct udb_reporter report;
	pthread_mutex_t lock;
	unsigned long tmp_seq;
	udb_store_fault_h *fault; /* tests: udb_store_set_fault */
	void *fault_arg;
};

static const char *const kind_dirs[] = {NULL, "users", "groups", "computers", "profiles", NULL};

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The test seam: 0, or the errno a test wants this step to fail with. */
static int fault(struct udb_store *st, const char *point, const char *path)
{
	return st->fault ? st->fault(st->fault_arg, point, path) : 0;
}

void udb_store_set_fault(struct udb_store *st, udb_store_fault_h *h, void *arg)
{
	pthread_mutex_lock(&st->lock);
	st->fault = h;
	st->fault_arg = arg;
	pthread_mutex_unlock(&st->lock);
}

static int fsync_dir(struct udb_store *st, const char *dir)
{
	int fd, err = fault(st, "fsync_dir", dir);

	if (err)
		return err;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		err = -errno;
	close(fd);
	return err;
}

/* The directory of path into dir. */
static int dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash || (size_t)(slash - path) >= cap)
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	return 0;
}

/* After a rename or an unlink the change is made: it is what the next load
 * sees, so the caller must treat it as done. What is left is making it
 * durable; a failed fsync of the directory is retried once and otherwise
 * only reported (a power cut before the kernel writes the directory back
 * may still undo it; nothing else will). */
static void settle_dir(struct udb_store *st, const char *path, const char *what)
{
	char dir[4096];
	int err;

	if (dir_of(path, dir, sizeof(dir)))
		return;
	err = fsync_dir(st, dir);
	if (err)
		err = fsync_dir(st, dir);
	if (err)
		udb_report(&st->report, UCS_LOG_WARNING,
			   "%s %s, but cannot fsync its directory (%s, tried twice): the change "
			   "stands, and a power cut before the system writes the directory "
			   "back may undo it",
			   what, path, strerror(-err));
}

static int kind_path(const struct udb_store *st, int kind, const char *id, char *buf, size_t cap)
{
	int n;

	if (kind == UCS_UD_SETTINGS)
		n = snprintf(buf, cap, "%s/settings.json", st->dir);
	else if (kind >= UDB_KIND_MIN && kind < UCS_UD_SETTINGS && udb_id_valid(id))
		n = snprintf(buf, cap, "%s/%s/%s.json", st->dir, kind_dirs[kind], id);
	else
		return -EINVAL;
	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* Writes data to path through a temporary file in the same directory;
 * called with the lock held. An error means the old file is untouched;
 * once the rename succeeded the result is 0 (settle_dir). */
static int write_atomic(struct udb_store *st, const char *path, const void *data, size_t len)
{
	char dir[4096], tmp[4200];
	const char *what = "create";
	size_t off = 0;
	int fd = -1, err;

	err = dir_of(path, dir, sizeof(dir));
	if (err)
		return err;
	snprintf(tmp, sizeof(tmp), "%s/.%s%s%ld-%lu", dir, strrchr(path, '/') + 1, TMP_MARK,
		 (long)getpid(), ++st->tmp_seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	what = "write";
	err = fault(st, "write", tmp);
	while (!err && off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (err)
		goto out;
	what = "fsync";
	if (fsync(fd) != 0) {
		err = -errno;
		goto out;
	}
	what = "close";
	if (close(fd) != 0) {
		fd = -1;
		err = -errno;
		goto out;
	}
	fd = -1;
	what = "rename";
	err = fault(st, "rename", path);
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err)
		goto out;
	settle_dir(st, path, "wrote");
out:
	if (fd >= 0)
		close(fd);
	if (err) {
		unlink(tmp);
		udb_report(&st->report, UCS_LOG_ERROR, "cannot %s %s: %s", what,
			   strcmp(what, "rename") == 0 ? path : tmp, strerror(-err));
	}
	return err;
}

/* Removes path; once the unlink succeeded the result is 0 (settle_dir). */
static int remove_durable(struct udb_store *st, const char *path)
{
	int err = fault(st, "unlink", path);

	if (!err && unlink(path) != 0)
		err = -errno;
	if (err)
		return err;
	settle_dir(st, path, "removed");
	return 0;
}

int udb_store_write_file(struct udb_store *st, const char *path, const void *data, size_t len)
{
	int err;

	pthread_mutex_lock(&st->lock);
	if (data) {
		err = write_atomic(st, path, data, len);
	} else {
		err = remove_durable(st, path);
		if (err == -ENOENT)
			err = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

int udb_store_text(const json_t *doc, char **text, size_t *len)
{
	*text = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	*len = 0;
	if (!*text)
		return -ENOMEM;
	*len = strlen(*text);
	if (*len > UDB_DOC_MAX) {
		free(*text);
		*text = NULL;
		return -EFBIG;
	}
	return 0;
}

int udb_store_write(struct udb_store *st, int kind, const json_t *doc)
{
	char path[4096], *text;
	size_t len;
	int err;

	err = kind_path(st, kind, udb_doc_id(doc), path, sizeof(path));
	if (err)
		return err;
	err = udb_store_text(doc, &text, &len);
	if (err)
		return err;
	pthread_mutex_lock(&st->lock);
	err = write_atomic(st, path, text, len);
	pthread_mutex_unlock(&st->lock);
	free(text);
	return err ? -EIO : 0;
}

int udb_store_picture_path(const struct udb_store *st, const char *id, int which, char *buf,
			   size_t cap)
{
	int n;

	if (!udb_id_valid(id) || (which != 0 && which != 1))
		return -EINVAL;
	n = snprintf(buf, cap, "%s/%s.%s.png", st->picture_dir, id, which ? "profile" : "contact");
	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static int remove_obj(struct udb_store *st, int kind, const char *id, int pictures)
{
	char path[4096];
	int err;

	if (kind == UCS_UD_SETTINGS)
		return -EINVAL;
	err = kind_path(st, kind, id, path, sizeof(path));
	if (err)
		return err;
	pthread_mutex_lock(&st->lock);
	err = remove_durable(st, path);
	if (err && err != -ENOENT) {
		udb_report(&st->report, UCS_LOG_ERROR, "cannot remove %s: %s", path,
			   strerror(-err));
		err = -EIO;
	}
	if (!err && pictures && kind == UCS_UD_USER) {
		for (int which = 0; which < 2; which++)
			if (udb_store_picture_path(st, id, which, path, sizeof(path)) == 0)
				remove_durable(st, path);
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

int udb_store_remove(struct udb_store *st, int kind, const char *id)
{
	return remove_obj(st, kind, id, 1);
}

int udb_store_remove_doc(struct udb_store *st, int kind, const char *id)
{
	return remove_obj(st, kind, id, 0);
}

/* ---- loading ---- */

/* Reads a whole file (at most UDB_DOC_MAX bytes; larger: -EFBIG). */
static int read_file(const char *path, char **out, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;
	int fd, err = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (sb.st_size > UDB_DOC_MAX) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = 0;
	*out = buf;
	*len = off;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

/* Moves a file that failed to load aside, unless it changed since it was
 * read: a write may have replaced it in the meantime, and what a write
 * puts there is valid. The check is made again under the lock that
 * serialises writes: the content must still be `seen` (a document that
 * did not validate), or, when the load could not read it at all (seen
 * NULL), reading it must still fail with `expect` (-EFBIG, -EISDIR); with
 * seen NULL and expect 0 the name is what is wrong (no write makes such a
 * file), and it must still exist. */
static void move_aside(struct udb_store *st, const char *path, const char *seen, size_t seen_len,
		       int expect, const char *why)
{
	char dest[4200], *now = NULL;
	size_t now_len = 0;
	time_t t = time(NULL);
	int rc, same;

	fault(st, "move_aside", path);
	pthread_mutex_lock(&st->lock);
	rc = read_file(path, &now, &now_len);
	if (seen)
		same = rc == 0 && now_len == seen_len && memcmp(now, seen, seen_len) == 0;
	else if (expect)
		same = rc == expect;
	else
		same = rc != -ENOENT;
	free(now);
	if (!same) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	snprintf(dest, sizeof(dest), "%s.corrupt-%lld", path, (long long)t);
	for (int i = 1; access(dest, F_OK) == 0 && i < 1000; i++)
		snprintf(dest, sizeof(dest), "%s.corrupt-%lld-%d", path, (long long)t, i);
	if (rename(path, dest) != 0) {
		udb_report(&st->report, UCS_LOG_ERROR, "%s: %s; cannot move it aside: %s", path,
			   why, strerror(errno));
	} else {
		udb_report(&st->report, UCS_LOG_ERROR, "%s: %s; moved aside to %s", path, why,
			   dest);
		settle_dir(st, dest, "moved aside");
	}
	pthread_mutex_unlock(&st->lock);
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Loads one file; 1 when it went into docs, 0 when it was moved aside. */
static int load_one(struct udb_store *st, int kind, const char *path, const char *id, json_t *docs,
		    struct udb_load_stats *stats)
{
	char err[512], why[700];
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int rc;

	rc = read_file(path, &text, &len);
	if (rc == -ENOENT) /* removed since the directory was read */
		return 0;
	if (rc) {
		if (rc == -EFBIG)
			snprintf(why, sizeof(why), "cannot be read (larger than the %d MiB limit)",
				 UDB_DOC_MAX / (1024 * 1024));
		else
			snprintf(why, sizeof(why), "cannot be read (%s)", strerror(-rc));
		if (rc == -EFBIG || rc == -EISDIR) {
			stats->corrupt++;
			move_aside(st, path, NULL, 0, rc, why);
		} else {
			udb_report(&st->report, UCS_LOG_ERROR, "%s: %s", path, why);
		}
		return 0;
	}
	rc = udb_doc_canon_text(kind, text, len, &st->ctx, &doc, NULL, err, sizeof(err));
	if (!rc && strcmp(udb_doc_id(doc), id) != 0) {
		snprintf(err, sizeof(err), "id: \"%s\" does not match the file name",
			 udb_doc_id(doc));
		stats->misplaced++;
		rc = -EINVAL;
	}
	if (rc) {
		snprintf(why, sizeof(why), "invalid %s document: %s", udb_kind_name(kind), err);
		stats->corrupt++;
		move_aside(st, path, text, len, 0, why);
		json_decref(doc);
		free(text);
		return 0;
	}
	free(text);
	json_object_set_new(docs, id, doc);
	stats->loaded[kind]++;
	return 1;
}

/* Removes the temporaries a crash left behind (under the lock: no write is
 * in flight, so every temporary is a leftover). */
static void remove_temps(struct udb_store *st, const char *dir, struct udb_load_stats *stats)
{
	char path[4200];
	struct dirent *de;
	DIR *d;

	pthread_mutex_lock(&st->lock);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] != '.' || !strstr(de->d_name, TMP_MARK))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0) {
			stats->temps++;
			udb_report(&st->report, UCS_LOG_WARNING,
				   "removed %s (left by an interrupted write)", path);
		}
	}
	if (d)
		closedir(d);
	pthread_mutex_unlock(&st->lock);
}

static int load_kind(struct udb_store *st, int kind, json_t *docs, struct udb_load_stats *stats)
{
	char dir[4096], path[4400], id[UDB_ID_MAX + 8];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", st->dir, kind_dirs[kind]);
	remove_temps(st, dir, stats);
	d = opendir(dir);
	if (!d) {
		int err = -errno;
		udb_report(&st->report, UCS_LOG_ERROR, "cannot read %s: %s", dir, strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".json"))
			continue; /* temporaries, *.corrupt-*, an operator's notes */
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n - 5 > UDB_ID_MAX) {
			stats->corrupt++;
			move_aside(st, path, NULL, 0, 0, "the file name is no valid id");
			continue;
		}
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = 0;
		if (!udb_id_valid(id)) {
			stats->corrupt++;
			move_aside(st, path, NULL, 0, 0,
				   "the file name is no valid id (a-z 0-9 . _ @ - before .json)");
			continue;
		}
		load_one(st, kind, path, id, docs, stats);
	}
	closedir(d);
	return 0;
}

int udb_store_load(struct udb_store *st, struct udb_docs *out, struct udb_load_stats *stats)
{
	struct udb_load_stats dummy;
	char path[4200];
	int err;

	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	err = udb_docs_init(out);
	if (err)
		return err;
	for (int k = UDB_KIND_MIN; k < UCS_UD_SETTINGS && !err; k++)
		err = load_kind(st, k, out->kind[k], stats);
	if (!err) {
		remove_temps(st, st->dir, stats);
		remove_temps(st, st->picture_dir, stats);
		snprintf(path, sizeof(path), "%s/settings.json", st->dir);
		if (access(path, F_OK) == 0)
			load_one(st, UCS_UD_SETTINGS, path, "", out->kind[UCS_UD_SETTINGS], stats);
	}
	if (err) {
		udb_docs_clear(out);
		return err;
	}
	/* What must always exist exists, in memory at least (a moved-aside
	 * settings.json falls back to the defaults). */
	if (!json_object_get(out->kind[UCS_UD_SETTINGS], ""))
		json_object_set_new(out->kind[UCS_UD_SETTINGS], "",
				    udb_doc_default(UCS_UD_SETTINGS, NULL));
	if (!json_object_get(out->kind[UCS_UD_PROFILE], "default"))
		json_object_set_new(out->kind[UCS_UD_PROFILE], "default",
				    udb_doc_default(UCS_UD_PROFILE, "default"));
	return 0;
}

/* ---- opening ---- */

static int ensure_doc(struct udb_store *st, int kind, const char *id)
{
	char path[4200];
	json_t *doc;
	int err;

	err = kind_path(st, kind, id, path, sizeof(path));
	if (err || access(path, F_OK) == 0)
		return err;
	doc = udb_doc_default(kind, id);
	if (!doc)
		return -ENOMEM;
	err = udb_store_write(st, kind, doc);
	json_decref(doc);
	if (!err)
		udb_report(&st->report, UCS_LOG_INFO, "created %s", path);
	return err;
}

int udb_store_open(const char *dir, const struct udb_ctx *ctx, const struct udb_reporter *report,
		   struct udb_store **out)
{
	struct udb_store *st;
	char path[4200];
	int err = 0;

	*out = NULL;
	if (!dir || dir[0] != '/')
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	if (report)
		st->report = *report;
	st->dir = strdup(dir);
	st->presence_domain = strdup(ctx && ctx->presence_domain ? ctx->presence_domain : "");
	if (st->dir && asprintf(&st->picture_dir, "%s/pictures", dir) < 0)
		st->picture_dir = NULL;
	if (!st->dir || !st->presence_domain || !st->picture_dir) {
		err = -ENOMEM;
		goto out;
	}
	st->ctx.presence_domain = st->presence_domain;
	st->ctx.flags = (ctx ? ctx->flags : 0) | UDB_STORED;
	for (int k = UDB_KIND_MIN; k < UCS_UD_SETTINGS && !err; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kind_dirs[k]);
		err = mkdir_p(path);
	}
	if (!err)
		err = mkdir_p(st->picture_dir);
	if (err) {
		udb_report(&st->report, UCS_LOG_ERROR, "cannot create the store under %s: %s", dir,
			   strerror(-err));
		goto out;
	}
	err = ensure_doc(st, UCS_UD_PROFILE, "default");
	if (!err)
		err = ensure_doc(st, UCS_UD_SETTINGS, "");
out:
	if (err) {
		udb_store_close(st);
		return err;
	}
	*out = st;
	return 0;
}

void udb_store_close(struct udb_store *st)
{
	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st->picture_dir);
	free(st->presence_domain);
	free(st);
}

const char *udb_store_dir(const struct udb_store *st)
{
	return st->dir;
}

const char *udb_store_picture_dir(const struct udb_store *st)
{
	return st->picture_dir;
}
