/*
 * plugins/auth/auth_accounts.c - the administrator accounts in memory, the
 * reload on change and the serial write queue (see auth_accounts.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth_accounts.h"
#include "auth_admins.h"
#include "auth_hash.h"

/* One change of the file, made by a pool job. */
struct write {
	struct write *next;
	struct auth_accounts *s;
	char id[AUTH_ID_MAX + 1];
	char phc[AUTH_PHC_MAX];
	char expect[AUTH_PHC_MAX];
	ucs_auth_status_h *done;
	void *arg;
	struct auth_admins next_set; /* what the job wrote */
	char err[512];
	int status;
	int running;
};

struct auth_accounts {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	char *path;
	struct auth_admins admins;
	struct auth_admins configured; /* from the configuration: win over the file */
	int broken;
	int seen; /* st holds the file's last stat */
	struct stat st;
	int stopped;
	struct write *writes; /* FIFO; the head may run */
};

static void start_writes(struct auth_accounts *s);

static int same_file(const struct stat *x, const struct stat *y)
{
	return x->st_dev == y->st_dev && x->st_ino == y->st_ino && x->st_size == y->st_size &&
	       x->st_mtim.tv_sec == y->st_mtim.tv_sec && x->st_mtim.tv_nsec == y->st_mtim.tv_nsec;
}

void auth_accounts_refresh(struct auth_accounts *s)
{
	struct auth_admins next;
	struct stat st;
	char err[512];

	if (stat(s->path, &st) != 0) {
		if (s->seen)
			s->host->log->log(s->self, UCS_LOG_WARNING,
					  "%s is gone: no administrator can log in", s->path);
		auth_admins_free(&s->admins);
		s->seen = 0;
		s->broken = 0;
		return;
	}
	if (s->seen && same_file(&st, &s->st))
		return;
	s->seen = 1;
	s->st = st;
	if (auth_admins_load(s->path, &next, err, sizeof(err)) != 0) {
		s->host->log->log(s->self, UCS_LOG_ERROR,
				  "%s: %s: administrator logins and changes are refused until the "
				  "file is fixed (it is not overwritten)",
				  s->path, err);
		auth_admins_free(&s->admins);
		s->broken = 1;
		return;
	}
	auth_admins_free(&s->admins);
	s->admins = next;
	s->broken = 0;
	s->host->log->log(s->self, UCS_LOG_INFO, "%zu administrator account%s loaded from %s",
			  s->admins.n, s->admins.n == 1 ? "" : "s", s->path);
}

int auth_accounts_new(struct ucs_plugin *self, const struct ucs_host *host, const char *path,
		      struct auth_accounts **out)
{
	struct auth_accounts *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	auth_accounts_refresh(s);
	*out = s;
	return 0;
}

static void write_free(struct write *w)
{
	auth_admins_free(&w->next_set);
	auth_wipe(w, sizeof(*w));
	free(w);
}

void auth_accounts_stop(struct auth_accounts *s)
{
	s->stopped = 1;
}

void auth_accounts_free(struct auth_accounts *s)
{
	if (!s)
		return;
	while (s->writes) {
		struct write *w = s->writes;

		s->writes = w->next;
		write_free(w);
	}
	auth_admins_free(&s->admins);
	auth_admins_free(&s->configured);
	free(s->path);
	free(s);
}

int auth_accounts_broken(const struct auth_accounts *s)
{
	return s->broken;
}

size_t auth_accounts_count(const struct auth_accounts *s)
{
	size_t n = s->configured.n;

	for (size_t i = 0; i < s->admins.n; i++)
		n += auth_admins_find(&s->configured, s->admins.v[i].id) == NULL;
	return n;
}

int auth_accounts_configured(const struct auth_accounts *s, const char *id)
{
	return auth_admins_find(&s->configured, id) != NULL;
}

size_t auth_accounts_configured_count(const struct auth_accounts *s)
{
	return s->configured.n;
}

static int same_set(const struct auth_admins *x, const struct auth_admins *y)
{
	if (x->n != y->n)
		return 0;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].id, y->v[i].id) != 0 || strcmp(x->v[i].phc, y->v[i].phc) != 0)
			return 0;
	return 1;
}

int auth_accounts_configure(struct auth_accounts *s, const char *const *logins,
			    const char *const *hashes, size_t n, char *err, size_t errcap)
{
	struct auth_admins next = {0};
	char id[AUTH_ID_MAX + 1];
	int rc = 0;

	err[0] = 0;
	if (n > AUTH_ADMINS_MAX) {
		snprintf(err, errcap, "more than %d accounts", AUTH_ADMINS_MAX);
		return -EINVAL;
	}
	if (n && (!logins || !hashes)) {
		snprintf(err, errcap, "no logins or hashes");
		return -EINVAL;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		size_t len = logins[i] ? strlen(logins[i]) : 0, j;

		/* logins are matched lower-cased, so they are kept that way */
		for (j = 0; j < len && j < AUTH_ID_MAX; j++) {
			char c = logins[i][j];

			id[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		id[j] = 0;
		if (len > AUTH_ID_MAX || !auth_id_valid(id)) {
			snprintf(err, errcap,
				 "account %zu: the login must be 1-%d of a-z 0-9 . _ @ -", i,
				 AUTH_ID_MAX);
			rc = -EINVAL;
		} else if (auth_admins_find(&next, id)) {
			snprintf(err, errcap, "account %zu: the login \"%s\" appears twice", i, id);
			rc = -EINVAL;
		} else {
			rc = auth_admins_set(&next, id, hashes[i]);
			if (rc == -EINVAL)
				snprintf(
					err, errcap,
					"account %zu (%s): the password_hash is not an argon2id PHC "
					"string",
					i, id);
			else if (rc)
				snprintf(err, errcap, "account %zu (%s): %s", i, id, strerror(-rc));
		}
	}
	if (rc) {
		auth_admins_free(&next);
		return rc;
	}
	if (!same_set(&next, &s->configured))
		s->host->log->log(s->self, UCS_LOG_INFO,
				  "%zu administrator account%s from the configuration", next.n,
				  next.n == 1 ? "" : "s");
	auth_admins_free(&s->configured);
	s->configured = next;
	return 0;
}

const char *auth_accounts_path(const struct auth_accounts *s)
{
	return s->path;
}

void auth_accounts_each_hash(const struct auth_accounts *s, void (*fn)(const char *phc, void *arg),
			     void *arg)
{
	for (size_t i = 0; i < s->configured.n; i++)
		fn(s->configured.v[i].phc, arg);
	for (size_t i = 0; i < s->admins.n; i++)
		fn(s->admins.v[i].phc, arg);
}

int auth_accounts_find(const struct auth_accounts *s, const char *id, char *phc, size_t cap)
{
	const struct auth_admin *ad = auth_admins_find(&s->configured, id);

	if (!ad)
		ad = auth_admins_find(&s->admins, id);

	if (!ad || (size_t)snprintf(phc, cap, "%s", ad->phc) >= cap)
		return -ENOENT;
	return 0;
}

/* ---- the write queue ---- */

/* The whole read-modify-rename, under the lock that ucs-passwd takes too:
 * blocking, so on the pool, never on the loop. */
static void write_fn(void *arg)
{
	struct write *w = arg;

	w->status = auth_admins_update(w->s->path, w->id, w->phc, w->expect, &w->next_set, w->err,
				       sizeof(w->err));
}

static void write_done(int status, void *arg)
{
	struct write *w = arg;
	struct auth_accounts *s = w->s;
	struct stat st;
	int err = status ? status : w->status;

	s->writes = w->next;
	if (!err) {
		/* what was written is what we hold: no reload of our own write */
		auth_admins_free(&s->admins);
		s->admins = w->next_set;
		w->next_set.v = NULL;
		w->next_set.n = 0;
		if (stat(s->path, &st) == 0) {
			s->st = st;
			s->seen = 1;
		}
		if (w->expect[0])
			s->host->log->log(s->self, UCS_LOG_INFO,
					  "the password of administrator %s was re-hashed with the "
					  "new costs",
					  w->id);
		else
			s->host->log->log(s->self, UCS_LOG_INFO, "audit: password set: admin=%s",
					  w->id);
	} else if (err == -EIO && (auth_accounts_refresh(s), s->broken)) {
		/* it does not parse (any more): the refresh said so */
	} else if (err != -ESTALE) { /* a re-hash that came too late is moot */
		s->host->log->log(s->self, UCS_LOG_ERROR, "writing %s failed: %s", s->path,
				  w->err[0] ? w->err : strerror(-err));
	}
	if (w->done)
		w->done(err, w->arg);
	write_free(w);
	start_writes(s);
}

/* Starts the head of the queue unless it runs already; fails the writes
 * that cannot start. */
static void start_writes(struct auth_accounts *s)
{
	while (s->writes && !s->writes->running && !s->stopped) {
		struct write *w = s->writes;
		int err;

		/* a quick answer for a file known to be broken; the job itself
		 * decides on what it finds under the lock */
		auth_accounts_refresh(s);
		err = s->broken ? -EIO : 0;
		if (!err) {
			w->running = 1;
			err = s->host->work->queue(s->self, NULL, write_fn, write_done, w);
			if (!err)
				return;
		}
		s->writes = w->next;
		if (w->done)
			w->done(err, w->arg);
		write_free(w);
	}
}

void auth_accounts_set(struct auth_accounts *s, const char *id, const char *phc, const char *expect,
		       ucs_auth_status_h *done, void *arg)
{
	struct write *w = calloc(1, sizeof(*w)), **pp;

	if (s->stopped) { /* no callbacks after the stop */
		free(w);
		return;
	}
	if (!w) {
		if (done)
			done(-ENOMEM, arg);
		return;
	}
	w->s = s;
	snprintf(w->id, sizeof(w->id), "%s", id);
	snprintf(w->phc, sizeof(w->phc), "%s", phc);
	snprintf(w->expect, sizeof(w->expect), "%s", expect ? expect : "");
	w->done = done;
	w->arg = arg;
	for (pp = &s->writes; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	start_writes(s);
}
