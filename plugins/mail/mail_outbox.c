/*
 * plugins/mail/mail_outbox.c - the outbox directory on disk.
 *
 * One file per message, named "<created ms>-<pid>-<seq>.msg" so that a
 * plain sort is the order of submission and names never collide across
 * restarts. A file appears only complete: it is written as tmp/NAME and
 * renamed into the outbox, so after a crash or kill of ucsd a message is
 * either wholly there or was never accepted. Nothing here fsyncs: the
 * callers queue the names on the sync thread (mail_sync.c), which makes
 * them durable against a power loss in batches, off the loop. Left-overs in
 * tmp/ are removed by mail_outbox_prepare at the next start, before any
 * submit can be writing there (the scan of the outbox itself runs later,
 * in the pool, beside new submits). Delivered messages are unlinked;
 * permanently failed ones are rewritten into failed/ with the reason. The
 * only disk work on the loop is the write and rename of submit(), which
 * the service contract wants done before it returns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_int.h"

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int mail_outbox_prepare(const char *dir, size_t *tmp_removed)
{
	char sub[4200], path[8400];
	struct dirent *e;
	DIR *d;
	int err = mkdir_p(dir);

	*tmp_removed = 0;
	if (err)
		return err;
	snprintf(sub, sizeof(sub), "%s/failed", dir);
	err = mkdir_p(sub);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	err = err ?: mkdir_p(sub);
	if (err)
		return err;
	d = opendir(sub);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
		if (unlink(path) == 0)
			(*tmp_removed)++;
	}
	closedir(d);
	return 0;
}

int mail_outbox_write(const char *dir, const char *sub, const char *name, const void *data,
		      size_t len)
{
	char tmp[4200], path[4200], target[4200];
	const char *p = data;
	int fd, err = 0;

	if (snprintf(target, sizeof(target), "%s%s%s", dir, *sub ? "/" : "", sub) >=
		    (int)sizeof(target) ||
	    snprintf(path, sizeof(path), "%s/%s", target, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int mail_outbox_read(const char *dir, const char *name, struct mail_buf *out)
{
	char path[4200], chunk[65536];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		err = mail_buf_add(out, chunk, (size_t)n);
		if (err)
			break;
	}
	close(fd);
	if (!err && !out->data)
		err = mail_buf_add(out, "", 0);
	return err;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

void mail_outbox_scan(const char *dir, struct mail_scan *out)
{
	char path[4200];
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	d = opendir(dir);
	if (!d) {
		out->err = -errno;
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!ends_with(e->d_name, ".msg") || strlen(e->d_name) >= sizeof(out->names[0])) {
			if (strcmp(e->d_name, "failed") != 0 && strcmp(e->d_name, "tmp") != 0)
				out->skipped++;
			continue;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			char(*v)[64] = realloc(out->names, nc * sizeof(*v));

			if (!v) {
				out->err = -ENOMEM;
				break;
			}
			out->names = v;
			cap = nc;
		}
		/* the length was checked above */
		memcpy(out->names[out->n++], e->d_name, strlen(e->d_name) + 1);
	}
	closedir(d);
	/* names start with the creation time in ms, same width until 2286 */
	if (out->n)
		qsort(out->names, out->n, sizeof(out->names[0]), by_name);
	snprintf(path, sizeof(path), "%s/failed", dir);
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)))
			if (ends_with(e->d_name, ".msg"))
				out->failed++;
		closedir(d);
	}
}

void mail_scan_free(struct mail_scan *s)
{
	free(s->names);
	memset(s, 0, sizeof(*s));
}
