/*
 * plugins/auth/auth_admins.h - the administrator accounts and their file.
 *
 * Administrators are not users: an operator must be able to log in to the
 * admin interface when the user store is empty, broken, or a directory
 * that is down, and a user must never become an administrator by being
 * renamed in a directory. So the auth plugin keeps the administrator
 * accounts itself, in one small JSON document under the state directory
 * (<state>/auth/admins.json, mode 0600):
 *
 *     {"admins": [{"id": "admin", "password_hash": "$argon2id$v=19$..."}]}
 *
 * Ids follow the user store's id rules (1-128 of a-z 0-9 . _ @ -; the
 * login is matched case-insensitively by lower-casing it). The file is
 * replaced atomically (temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves either the old or the new document. A file
 * that does not parse is never overwritten: the plugin refuses admin logins
 * and changes until an operator fixes it, and says so.
 */
#ifndef AUTH_ADMINS_H
#define AUTH_ADMINS_H

#include <stddef.h>

#include "auth_phc.h"

#define AUTH_ID_MAX	128
#define AUTH_ADMINS_MAX 1000

struct auth_admin {
	char id[AUTH_ID_MAX + 1];
	char phc[AUTH_PHC_MAX];
};

struct auth_admins {
	struct auth_admin *v; /* sorted by id */
	size_t n;
};

/* 1 when id is a valid account id. */
int auth_id_valid(const char *id);

/* Parses a document: 0, or -EINVAL with a reason in err (JSON syntax,
 * unknown key, invalid id, malformed hash, duplicate id, too many). */
int auth_admins_parse(const char *text, size_t len, struct auth_admins *out, char *err,
		      size_t errcap);
/* Reads and parses path: 0, -ENOENT when there is no file, -EINVAL/-EIO
 * with a reason in err. */
int auth_admins_load(const char *path, struct auth_admins *out, char *err, size_t errcap);
/* The document as text (malloc'ed), or NULL on ENOMEM. */
char *auth_admins_format(const struct auth_admins *a);
/* Creates or replaces the account: 0, -EINVAL (bad id or hash), -ENOSPC
 * (AUTH_ADMINS_MAX), -ENOMEM. */
int auth_admins_set(struct auth_admins *a, const char *id, const char *phc);
const struct auth_admin *auth_admins_find(const struct auth_admins *a, const char *id);
/* A deep copy (dst is overwritten, not freed). */
int auth_admins_copy(struct auth_admins *dst, const struct auth_admins *src);
/* Wipes and frees; the struct is empty afterwards. */
void auth_admins_free(struct auth_admins *a);

/* Readers and writers of the file in several processes (the server and
 * ucs-passwd) take turns through an flock on "<path>.lock" (created 0600,
 * its directory 0700), held for a whole read-modify-rename, so neither
 * overwrites a change the other made in between. auth_admins_lock blocks
 * until it has the lock: the descriptor, or a negative errno. */
int auth_admins_lock(const char *path);
void auth_admins_unlock(int fd);

/* Under the lock: reads path (none: no accounts), sets id to phc - with
 * expect (a re-hash), only while the account's hash still is expect - and
 * writes the file atomically. 0 and, when out is not NULL, the accounts
 * written in *out; -EIO when the file does not parse (it is not written),
 * -ESTALE, -EINVAL, -ENOSPC, or a write error, with the reason in err. */
int auth_admins_update(const char *path, const char *id, const char *phc, const char *expect,
		       struct auth_admins *out, char *err, size_t errcap);

/* Writes text to path atomically, creating the directory (0700) and the
 * file with mode 0600: 0 or a negative errno (the old file then stays). */
int auth_file_write_atomic(const char *path, const char *text, size_t len);

#endif
