/*
 * plugins/auth/auth_accounts.h - the administrator accounts of a running
 * server: the file (auth_admins.h) as the plugin keeps it in memory.
 *
 * The file may change under the server: ucs-passwd writes it while ucsd
 * runs, an operator fixes a broken one. So before every use the plugin
 * asks for a refresh, which is one stat() when nothing changed and a
 * reload when something did. Changes made through the service are
 * serialised: one write at a time runs on the thread pool (the fsyncs
 * must not hold the loop, nor may the wait for the lock), and each job
 * reads, changes and renames the file under the lock that ucs-passwd
 * takes too (auth_admins_update), so a change made by the tool meanwhile
 * is kept, not overwritten, and the tool keeps ours. A file that does not
 * parse is never written: changes fail with -EIO until it is fixed.
 *
 * Besides the file, the operator may configure accounts (the admin-api
 * section's `accounts`, handed over through set_admin_accounts of
 * ucs/auth.h). They live in memory only, take precedence over an account
 * of the same id in the file, and cannot be changed through the service:
 * the configuration owns them (a change there, then SIGHUP).
 *
 * Loop thread only, except the write jobs, which touch nothing but their
 * own struct and the path.
 */
#ifndef AUTH_ACCOUNTS_H
#define AUTH_ACCOUNTS_H

#include <ucs/ucs.h>

struct auth_accounts;

/* The accounts in path (read now; a missing file is no accounts). */
int auth_accounts_new(struct ucs_plugin *self, const struct ucs_host *host, const char *path,
		      struct auth_accounts **out);
/* No more callbacks nor new jobs (the plugin stops). */
void auth_accounts_stop(struct auth_accounts *s);
/* Frees everything, also writes whose job never came back (fini). */
void auth_accounts_free(struct auth_accounts *s);

/* Reloads the file if it changed on disk. */
void auth_accounts_refresh(struct auth_accounts *s);
/* 1 when the file does not parse (and nobody may log in or change it). */
int auth_accounts_broken(const struct auth_accounts *s);
/* Accounts that can log in: the configured ones and those of the file
 * whose id is not configured. */
size_t auth_accounts_count(const struct auth_accounts *s);
const char *auth_accounts_path(const struct auth_accounts *s);

/* Replaces the configured accounts: n logins (matched lower-cased) and
 * their argon2id PHC hashes. 0; -EINVAL with the reason in err (an invalid
 * id, a hash that is not an argon2id PHC string, an id twice, more than
 * AUTH_ADMINS_MAX) - nothing changes then; -ENOMEM. */
int auth_accounts_configure(struct auth_accounts *s, const char *const *logins,
			    const char *const *hashes, size_t n, char *err, size_t errcap);
/* 1 when id (lower case) is a configured account. */
int auth_accounts_configured(const struct auth_accounts *s, const char *id);
size_t auth_accounts_configured_count(const struct auth_accounts *s);

/* Calls fn with the hash of every account, configured or in the file (the
 * costs in use). */
void auth_accounts_each_hash(const struct auth_accounts *s, void (*fn)(const char *phc, void *arg),
			     void *arg);

/* The account's hash (lower-case id expected), a configured account's
 * first: 0, or -ENOENT. */
int auth_accounts_find(const struct auth_accounts *s, const char *id, char *phc, size_t cap);

/* Creates or changes an account: done(status, arg) on the loop thread once
 * the file is written (0), or failed (-EIO broken file, -ENOSPC too many
 * accounts, a write error). With expect set (a re-hash), the change is
 * dropped (-ESTALE) when the account's hash is no longer expect. done may
 * be NULL; it is called at once when the write cannot even start. */
void auth_accounts_set(struct auth_accounts *s, const char *id, const char *phc, const char *expect,
		       ucs_auth_status_h *done, void *arg);

#endif
