/*
 * plugins/userdb-ldap/lud_cache.c - the last good read of the directory on
 * disk.
 *
 * Without it, ucsd started while the directory is away would know no user
 * at all until the directory comes back - every phone and client of the
 * company would stop working over a domain controller's reboot. So every
 * sync that changed something writes its directory documents to one file,
 * atomically (temporary file, fsync, rename, fsync of the directory): after
 * a crash the file is the old or the new read, never a torn one. At start
 * the plugin serves this read until the first sync succeeds.
 *
 * The file holds what the directory said, nothing of ucsd's own settings
 * (those are the local documents), and no secrets.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lud.h"
#include "udb.h"

#define CACHE_FORMAT 1

int lud_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4096], dir[4096];
	const char *p = data;
	size_t off = 0;
	int fd, dfd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0)
			err = -errno;
		close(dfd);
	}
	return err;
}

static const char *const kind_keys[LUD_NKINDS] = {"users", "groups", "computers"};

void lud_cache_clear(struct lud_cache *c)
{
	if (c->docs) {
		udb_docs_clear(c->docs);
		free(c->docs);
	}
	json_decref(c->pictures);
	json_decref(c->vanished);
	memset(c, 0, sizeof(*c));
}

int lud_cache_load(const char *path, struct lud_cache *c, char *err, size_t errcap)
{
	json_error_t jerr;
	json_t *root, *v;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (access(path, F_OK) != 0)
		return -ENOENT;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errcap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	v = json_object_get(root, "format");
	if (!json_is_object(root) || !json_is_integer(v) || json_integer_value(v) != CACHE_FORMAT) {
		snprintf(err, errcap, "%s: not a directory cache of format %d", path, CACHE_FORMAT);
		rc = -EINVAL;
		goto out;
	}
	c->docs = calloc(1, sizeof(*c->docs));
	if (!c->docs || udb_docs_init(c->docs)) {
		free(c->docs);
		c->docs = NULL;
		rc = -ENOMEM;
		goto out;
	}
	for (int k = 0; k < LUD_NKINDS; k++) {
		json_t *set = json_object_get(root, kind_keys[k]);
		const char *id;
		json_t *doc;

		if (!set)
			continue;
		if (!json_is_object(set)) {
			snprintf(err, errcap, "%s: \"%s\" is not an object", path, kind_keys[k]);
			rc = -EINVAL;
			goto out;
		}
		json_object_foreach(set, id, doc)
		{
			/* the core validates every document; only the shape is ours */
			if (!json_is_object(doc) || !udb_id_valid(id))
				continue;
			if (json_object_set(c->docs->kind[lud_ud_kind(k)], id, doc)) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	v = json_object_get(root, "pictures");
	c->pictures = json_is_object(v) ? json_incref(v) : json_object();
	v = json_object_get(root, "vanished");
	c->vanished = json_is_object(v) ? json_incref(v) : json_object();
	v = json_object_get(root, "synced");
	c->synced = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
	if (!c->pictures || !c->vanished)
		rc = -ENOMEM;
out:
	json_decref(root);
	if (rc)
		lud_cache_clear(c);
	if (rc == -ENOMEM)
		snprintf(err, errcap, "out of memory");
	return rc;
}

int lud_cache_save(const char *path, const struct lud_cache *c, char *err, size_t errcap)
{
	json_t *root = json_object();
	char *text = NULL;
	int rc = 0;

	if (!root || !c->docs)
		goto nomem;
	if (json_object_set_new(root, "format", json_integer(CACHE_FORMAT)) ||
	    json_object_set_new(root, "synced", json_integer(c->synced)))
		goto nomem;
	for (int k = 0; k < LUD_NKINDS; k++) {
		json_t *set = c->docs->kind[lud_ud_kind(k)];

		if (json_object_set_new(root, kind_keys[k], set ? json_incref(set) : json_object()))
			goto nomem;
	}
	if (json_object_set_new(root, "pictures",
				c->pictures ? json_incref(c->pictures) : json_object()) ||
	    json_object_set_new(root, "vanished",
				c->vanished ? json_incref(c->vanished) : json_object()))
		goto nomem;
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		goto nomem;
	rc = lud_write_atomic(path, text, strlen(text));
	if (rc)
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(-rc));
	goto out;
nomem:
	rc = -ENOMEM;
	snprintf(err, errcap, "out of memory");
out:
	free(text);
	json_decref(root);
	return rc;
}

int lud_vanished_key(const char *key, int *ud_kind, const char **id)
{
	const char *colon = key ? strchr(key, ':') : NULL;

	for (int k = 0; colon && k < LUD_NKINDS; k++) {
		const char *name = udb_kind_name(lud_ud_kind(k));
		size_t n = strlen(name);

		if ((size_t)(colon - key) == n && !strncmp(key, name, n) &&
		    udb_id_valid(colon + 1)) {
			*ud_kind = lud_ud_kind(k);
			*id = colon + 1;
			return 0;
		}
	}
	return -EINVAL;
}

size_t lud_vanished_update(json_t *vanished, const struct udb_docs *before,
			   const struct udb_docs *after, int64_t now, int keep_days,
			   const char *picture_dir, json_t *expired)
{
	size_t n_expired = 0;
	const char *key;
	json_t *val, *tmp;
	char path[4096];

	for (int k = 0; k < LUD_NKINDS; k++) {
		int ud = lud_ud_kind(k);
		const char *id;
		json_t *doc;
		char vkey[UDB_ID_MAX + 16];

		if (before && before->kind[ud]) {
			json_object_foreach(before->kind[ud], id, doc)
			{
				if (after && json_object_get(after->kind[ud], id))
					continue;
				snprintf(vkey, sizeof(vkey), "%s:%s", udb_kind_name(ud), id);
				if (!json_object_get(vanished, vkey))
					json_object_set_new(vanished, vkey, json_integer(now));
				if (ud == UCS_UD_USER && picture_dir) {
					snprintf(path, sizeof(path), "%s/%s.contact.png",
						 picture_dir, id);
					unlink(path);
				}
			}
		}
		if (after && after->kind[ud]) {
			json_object_foreach(after->kind[ud], id, doc)
			{
				snprintf(vkey, sizeof(vkey), "%s:%s", udb_kind_name(ud), id);
				json_object_del(vanished, vkey);
			}
		}
	}
	json_object_foreach_safe(vanished, tmp, key, val)
	{
		const char *id;
		int ud;

		if (lud_vanished_key(key, &ud, &id) != 0) {
			json_object_del(vanished, key);
			continue;
		}
		if (json_is_integer(val) &&
		    now - json_integer_value(val) < (int64_t)keep_days * 86400)
			continue;
		if (expired && json_array_append_new(expired, json_string(key)) == 0)
			n_expired++;
	}
	return n_expired;
}
