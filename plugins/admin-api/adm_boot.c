/*
 * plugins/admin-api/adm_boot.c - the first start: an administrator who
 * can log in, without a default password.
 *
 * A fresh server has no administrator account. Rather than ship a known
 * password (which stays in use on too many servers), the first start with
 * no account configured and none in the auth plugin's file creates
 * `admin` with a random password - 24 bytes from getrandom(), base64url,
 * 32 characters - and writes it to STATE_DIR/admin-password, mode 0600,
 * where only the operator (and ucsd) can read it. The log says where the
 * password is, never what it is.
 *
 * Order, so that a crash leaves nothing unusable behind: the file is
 * written first (a temporary file, fsync, then link() to the final name,
 * which fails rather than overwrite, then an fsync of the directory), and
 * only then is the account created. A start that finds the file but no
 * account (the crash came in between, or the operator removed the
 * accounts) creates the account with the password the file holds, so the
 * file is always the truth; a start that finds an account leaves the file
 * alone. File work runs on the thread pool (fsync).
 *
 * The file is trusted only when it is ucsd's own and private: one that
 * others may read or write (group/other bits) or that another user owns is
 * refused with an error - its password may be known, so no account is
 * made from it. Once `admin` changes its password (admin.passwd) the file
 * holds a dead password: it is removed, with a log line. Configured
 * accounts (admin-api.accounts) next to a left-over file get a warning:
 * the file's `admin` lives on in auth's file until ucs-passwd removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adm.h"

#define PW_BYTES 24 /* 32 characters of base64url */
#define PW_MIN	 20
#define PW_MAX	 128

struct boot {
	struct adm *a;
	char path[PATH_MAX];
	char pw[PW_MAX + 1];
	int existed; /* the file was there: its password is used */
	int status;
	char err[640];
};

static struct boot *the_boot;

static void boot_free(struct boot *b)
{
	if (!b)
		return;
	if (the_boot == b)
		the_boot = NULL;
	explicit_bzero(b, sizeof(*b));
	free(b);
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	out[o] = 0; /* n is a multiple of 3 here */
}

/* The first line of the file: 0, or a negative errno with err. */
static int read_password(struct boot *b)
{
	char buf[PW_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd = open(b->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(b->err, sizeof(b->err), "cannot stat %.400s: %s", b->path,
			 strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		rc = -EPERM;
		snprintf(b->err, sizeof(b->err),
			 "%.300s is mode %04o, owner uid %u: not used, its password may be known "
			 "(it must be mode 0600, owned by uid %u)",
			 b->path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			 (unsigned)geteuid());
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = -errno;
		snprintf(b->err, sizeof(b->err), "cannot read %.400s: %s", b->path,
			 strerror(errno));
	} else {
		buf[n] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		if (strlen(buf) < PW_MIN || strlen(buf) > PW_MAX) {
			rc = -EINVAL;
			snprintf(
				b->err, sizeof(b->err),
				"%.400s does not hold a password of %d-%d characters on its first line",
				b->path, PW_MIN, PW_MAX);
		} else {
			/* checked above: at most PW_MAX < sizeof(b->pw) bytes */
			memcpy(b->pw, buf, strlen(buf) + 1);
		}
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int fsync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A new password into a new file, never over an existing one. */
static int write_password(struct boot *b)
{
	unsigned char raw[PW_BYTES];
	char tmp[PATH_MAX + 32], line[PW_MAX + 2];
	size_t len, done = 0;
	int fd, rc = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(b->err, sizeof(b->err), "getrandom: %s", strerror(errno));
		return -EIO;
	}
	b64url(raw, sizeof(raw), b->pw);
	explicit_bzero(raw, sizeof(raw));
	len = (size_t)snprintf(line, sizeof(line), "%s\n", b->pw);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", b->path, (int)getpid());
	unlink(tmp); /* a leftover of an earlier crash of this pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(b->err, sizeof(b->err), "cannot create %.400s: %s", tmp, strerror(errno));
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (rc) {
		snprintf(b->err, sizeof(b->err), "cannot write %.400s: %s", tmp, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	/* link() does not replace: whoever was first wins, and we read theirs */
	if (link(tmp, b->path) != 0) {
		rc = -errno;
		unlink(tmp);
		if (rc == -EEXIST) {
			rc = read_password(b);
			b->existed = rc == 0;
		} else {
			snprintf(b->err, sizeof(b->err), "cannot create %.400s: %s", b->path,
				 strerror(-rc));
		}
		goto out;
	}
	unlink(tmp);
	rc = fsync_dir(b->path);
	if (rc)
		snprintf(b->err, sizeof(b->err), "cannot sync the directory of %.400s: %s", b->path,
			 strerror(-rc));
out:
	explicit_bzero(line, sizeof(line));
	return rc;
}

static void boot_work(void *arg)
{
	struct boot *b = arg;
	int rc = read_password(b);

	if (rc == 0)
		b->existed = 1;
	else if (rc == -ENOENT)
		rc = write_password(b);
	b->status = rc;
}

static void on_password_set(int status, void *arg)
{
	struct boot *b = arg;
	struct adm *a = b->a;

	if (!a->stopped) {
		if (status == 0 && b->existed)
			a->host->log->log(a->self, UCS_LOG_WARNING,
					  "no administrator account configured: created 'admin' "
					  "with the password kept in %s",
					  b->path);
		else if (status == 0)
			a->host->log->log(a->self, UCS_LOG_WARNING,
					  "no administrator account configured: created 'admin' "
					  "with a random password in %s",
					  b->path);
		else
			a->host->log->log(a->self, UCS_LOG_ERROR,
					  "no administrator account configured, and creating "
					  "'admin' failed: %s",
					  strerror(-status));
	}
	boot_free(b);
}

static void boot_done(int status, void *arg)
{
	struct boot *b = arg;
	struct adm *a = b->a;
	int rc;

	a->boot_job = NULL;
	if (status || b->status) {
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "no administrator account configured, and none could be "
				  "created: %s",
				  b->err[0] ? b->err : strerror(-(status ? status : b->status)));
		boot_free(b);
		return;
	}
	/* someone may have made an account meanwhile (ucs-passwd) */
	if (a->auth->admin_count() > 0) {
		boot_free(b);
		return;
	}
	rc = a->auth->set_password(a->self, UCS_AUTH_ADMIN, "admin", b->pw, strlen(b->pw),
				   on_password_set, b);
	explicit_bzero(b->pw, sizeof(b->pw));
	if (rc)
		on_password_set(rc, b);
}

static int password_path(struct adm *a, char *path, size_t cap)
{
	return snprintf(path, cap, "%s/admin-password", a->host->env->state_dir()) >= (int)cap
		       ? -ENAMETOOLONG
		       : 0;
}

void adm_boot_password_changed(struct adm *a, const char *login)
{
	char path[PATH_MAX];

	/* one unlink(), no fsync: a file that comes back after a crash holds a
	 * password that no longer works, nothing more */
	if (strcasecmp(login, "admin") != 0 || password_path(a, path, sizeof(path)) != 0)
		return;
	if (unlink(path) == 0)
		a->host->log->log(a->self, UCS_LOG_INFO,
				  "removed %s: the password of 'admin' was changed", path);
	else if (errno != ENOENT)
		a->host->log->log(a->self, UCS_LOG_WARNING,
				  "cannot remove %s (the password of 'admin' was changed, the "
				  "file's is void): %s",
				  path, strerror(errno));
}

int adm_boot_start(struct adm *a)
{
	struct boot *b;
	int n, rc;

	if (a->conf.n_accounts) {
		char path[PATH_MAX];
		struct stat st;

		if (password_path(a, path, sizeof(path)) == 0 && stat(path, &st) == 0)
			a->host->log->log(a->self, UCS_LOG_WARNING,
					  "admin-api.accounts is configured, but %s still holds "
					  "the first start's password of 'admin', an account in "
					  "auth's file that still works: remove it (ucs-passwd) "
					  "and the file",
					  path);
	}
	if (!a->conf.create_admin || a->conf.n_accounts)
		return 0;
	n = a->auth->admin_count();
	if (n != 0)
		return 0; /* an account exists (or auth cannot say: it logs why) */
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->a = a;
	if (password_path(a, b->path, sizeof(b->path)) != 0) {
		boot_free(b);
		return -ENAMETOOLONG;
	}
	the_boot = b;
	rc = a->host->work->queue(a->self, &a->boot_job, boot_work, boot_done, b);
	if (rc) {
		a->boot_job = NULL;
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "cannot create the first administrator account: %s",
				  strerror(-rc));
		boot_free(b);
	}
	return 0;
}

void adm_boot_fini(void)
{
	/* a queued job was dropped at stop, a running one finished unseen (the
	 * host waited for it), and auth, stopped by now, calls back no more */
	boot_free(the_boot);
}
