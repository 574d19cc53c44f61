/*
 * plugins/auth/auth_admins.c - parsing, formatting and atomically writing
 * the administrator accounts (see auth_admins.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_admins.h"
#include "auth_hash.h"

#define ADMINS_FILE_MAX (1024 * 1024)

int auth_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return 0;
	for (; id[n]; n++) {
		char c = id[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-'))
			return 0;
		if (n >= AUTH_ID_MAX)
			return 0;
	}
	return n > 0;
}

static int cmp_admin(const void *a, const void *b)
{
	return strcmp(((const struct auth_admin *)a)->id, ((const struct auth_admin *)b)->id);
}

void auth_admins_free(struct auth_admins *a)
{
	if (!a)
		return;
	if (a->v) {
		auth_wipe(a->v, a->n * sizeof(*a->v));
		free(a->v);
	}
	a->v = NULL;
	a->n = 0;
}

static int phc_valid(const char *phc)
{
	struct auth_phc parsed;

	return phc && auth_phc_parse(phc, strlen(phc), &parsed) == 0;
}

int auth_admins_parse(const char *text, size_t len, struct auth_admins *out, char *err,
		      size_t errcap)
{
	struct auth_admins a = {0};
	json_error_t jerr;
	json_t *root, *list, *v;
	const char *key;
	size_t i;
	int rc = -EINVAL;

	out->v = NULL;
	out->n = 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errcap, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errcap, "the document is not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "admins") != 0) {
			snprintf(err, errcap, "unknown key \"%.64s\"", key);
			goto out;
		}
	}
	list = json_object_get(root, "admins");
	if (!json_is_array(list)) {
		snprintf(err, errcap, "\"admins\" must be an array");
		goto out;
	}
	if (json_array_size(list) > AUTH_ADMINS_MAX) {
		snprintf(err, errcap, "more than %d accounts", AUTH_ADMINS_MAX);
		goto out;
	}
	a.v = calloc(json_array_size(list) + 1, sizeof(*a.v));
	if (!a.v) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, v)
	{
		json_t *id = json_object_get(v, "id"), *hash = json_object_get(v, "password_hash");
		const char *k;
		json_t *x;

		if (!json_is_object(v)) {
			snprintf(err, errcap, "admins[%zu]: not an object", i);
			goto out;
		}
		json_object_foreach(v, k, x)
		{
			if (strcmp(k, "id") != 0 && strcmp(k, "password_hash") != 0) {
				snprintf(err, errcap, "admins[%zu]: unknown key \"%.64s\"", i, k);
				goto out;
			}
		}
		if (!json_is_string(id) || !auth_id_valid(json_string_value(id)) ||
		    strlen(json_string_value(id)) != json_string_length(id)) {
			snprintf(err, errcap, "admins[%zu]: \"id\" must be 1-%d of a-z 0-9 . _ @ -",
				 i, AUTH_ID_MAX);
			goto out;
		}
		if (!json_is_string(hash) ||
		    strlen(json_string_value(hash)) != json_string_length(hash) ||
		    !phc_valid(json_string_value(hash))) {
			snprintf(
				err, errcap,
				"admins[%zu] (%s): \"password_hash\" is not an argon2id PHC string",
				i, json_string_value(id));
			goto out;
		}
		snprintf(a.v[i].id, sizeof(a.v[i].id), "%s", json_string_value(id));
		snprintf(a.v[i].phc, sizeof(a.v[i].phc), "%s", json_string_value(hash));
		a.n = i + 1;
	}
	qsort(a.v, a.n, sizeof(*a.v), cmp_admin);
	for (i = 1; i < a.n; i++) {
		if (strcmp(a.v[i - 1].id, a.v[i].id) == 0) {
			snprintf(err, errcap, "the account \"%s\" appears twice", a.v[i].id);
			goto out;
		}
	}
	*out = a;
	a.v = NULL;
	a.n = 0;
	rc = 0;
out:
	auth_admins_free(&a);
	json_decref(root);
	return rc;
}

int auth_admins_load(const char *path, struct auth_admins *out, char *err, size_t errcap)
{
	char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, rc;

	out->v = NULL;
	out->n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "%s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ADMINS_FILE_MAX) {
		snprintf(err, errcap, "not a regular file of at most %d bytes", ADMINS_FILE_MAX);
		rc = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -EIO;
			snprintf(err, errcap, "read failed");
			goto out;
		}
		got += (size_t)n;
	}
	rc = auth_admins_parse(buf, got, out, err, errcap);
out:
	if (buf) {
		auth_wipe(buf, got);
		free(buf);
	}
	close(fd);
	return rc;
}

char *auth_admins_format(const struct auth_admins *a)
{
	json_t *root = json_object(), *list = json_array();
	char *text = NULL;

	if (!root || !list)
		goto out;
	for (size_t i = 0; i < a->n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "id", a->v[i].id, "password_hash", a->v[i].phc);

		if (!o || json_array_append_new(list, o) != 0)
			goto out;
	}
	if (json_object_set(root, "admins", list) != 0)
		goto out;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(list);
	json_decref(root);
	return text;
}

const struct auth_admin *auth_admins_find(const struct auth_admins *a, const char *id)
{
	struct auth_admin key;

	if (!a->n || !id || strlen(id) > AUTH_ID_MAX)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, a->v, a->n, sizeof(*a->v), cmp_admin);
}

int auth_admins_set(struct auth_admins *a, const char *id, const char *phc)
{
	struct auth_admin *slot = (struct auth_admin *)auth_admins_find(a, id), *v;

	if (!auth_id_valid(id) || !phc_valid(phc))
		return -EINVAL;
	if (!slot) {
		if (a->n >= AUTH_ADMINS_MAX)
			return -ENOSPC;
		v = calloc(a->n + 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (a->n)
			memcpy(v, a->v, a->n * sizeof(*v));
		auth_admins_free(&(struct auth_admins){a->v, a->n});
		a->v = v;
		slot = &a->v[a->n++];
		snprintf(slot->id, sizeof(slot->id), "%s", id);
	}
	snprintf(slot->phc, sizeof(slot->phc), "%s", phc);
	qsort(a->v, a->n, sizeof(*a->v), cmp_admin);
	return 0;
}

int auth_admins_copy(struct auth_admins *dst, const struct auth_admins *src)
{
	dst->v = NULL;
	dst->n = 0;
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

static int mkdir_parent(const char *path)
{
	char *copy = strdup(path), *dir;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = -errno;
	free(copy);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int auth_file_write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	size_t done = 0;
	int fd = -1, rc;

	/* the pid keeps a running server and ucs-passwd off each other's temp file */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	rc = mkdir_parent(path);
	if (rc)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	return fsync_dir_of(path);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int auth_admins_lock(const char *path)
{
	char lock[4096];
	int fd, rc;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	rc = mkdir_parent(path);
	if (rc)
		return rc;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

void auth_admins_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

int auth_admins_update(const char *path, const char *id, const char *phc, const char *expect,
		       struct auth_admins *out, char *err, size_t errcap)
{
	struct auth_admins set = {0};
	const struct auth_admin *cur;
	char *text = NULL;
	int fd, rc;

	err[0] = 0;
	fd = auth_admins_lock(path);
	if (fd < 0) {
		snprintf(err, errcap, "cannot lock %s.lock: %s", path, strerror(-fd));
		return fd;
	}
	/* from here to the rename nobody else reads or writes the file */
	rc = auth_admins_load(path, &set, err, errcap);
	if (rc == -ENOENT) {
		rc = 0;
		err[0] = 0;
	} else if (rc) {
		rc = -EIO; /* a file that does not parse is never overwritten */
		goto out;
	}
	cur = auth_admins_find(&set, id);
	if (expect && *expect && (!cur || strcmp(cur->phc, expect) != 0)) {
		snprintf(err, errcap, "the account changed meanwhile");
		rc = -ESTALE;
		goto out;
	}
	rc = auth_admins_set(&set, id, phc);
	if (rc) {
		snprintf(err, errcap, "cannot set %s: %s", id, strerror(-rc));
		goto out;
	}
	text = auth_admins_format(&set);
	rc = text ? auth_file_write_atomic(path, text, strlen(text)) : -ENOMEM;
	if (rc)
		snprintf(err, errcap, "writing failed: %s", strerror(-rc));
out:
	auth_admins_unlock(fd);
	if (text) {
		auth_wipe(text, strlen(text));
		free(text);
	}
	if (!rc && out) {
		*out = set;
		set.v = NULL;
		set.n = 0;
	}
	auth_admins_free(&set);
	return rc;
}
