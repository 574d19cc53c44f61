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
size_t auth_accounts_count(const struct auth_accounts *s);
const char *auth_accounts_path(const struct auth_accounts *s);

/* Calls fn with the hash of every account (the costs in use). */
void auth_accounts_each_hash(const struct auth_accounts *s, void (*fn)(const char *phc, void *arg),
			     void *arg);

/* The account's id and hash (lower-case id expected): 0, or -ENOENT. */
int auth_accounts_find(const struct auth_accounts *s, const char *id, char *phc, size_t cap);

/* Creates or changes an account: done(status, arg) on the loop thread once
 * the file is written (0), or failed (-EIO broken file, -ENOSPC too many
 * accounts, a write error). With expect set (a re-hash), the change is
 * dropped (-ESTALE) when the account's hash is no longer expect. done may
 * be NULL; it is called at once when the write cannot even start. */
void auth_accounts_set(struct auth_accounts *s, const char *id, const char *phc, const char *expect,
		       ucs_auth_status_h *done, void *arg);

#endif
