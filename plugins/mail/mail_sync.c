/*
 * plugins/mail/mail_sync.c - the outbox's batched fsync thread.
 *
 * submit() must not wait for the disk on the loop (abi/ucs/mail.h): it
 * writes the message to tmp/ and renames it into the outbox, which makes it
 * safe against a crash or kill of ucsd at once (the page cache belongs to
 * the kernel), and hands the name to this thread. The thread makes the
 * files and the directories that name them durable against a power loss:
 * it wakes when a name is queued, lets the batch gather for GATHER_MS and
 * takes everything queued by then as one batch, which it makes durable
 * with one syncfs() of the outbox's file system: that writes back the
 * batch's files and commits the journal once, renames included. An fsync
 * per file would be one journal commit and one flush of the disk's cache
 * each (milliseconds apiece: a 2000-message burst took seconds that way);
 * the price of syncfs is that other programs' dirty data on that file
 * system is written too. Only when syncfs fails does the batch fall back
 * to an fsync per file (one open at a time) and of the directories. Names
 * queued meanwhile form the next batch (group commit): under a burst the
 * batches grow instead of the queue. The time from queueing to the end of
 * the batch is measured (status sync.max_ms; batches over UCS_MAIL_SYNC_MS
 * are counted as late and the loop warns about them).
 *
 * A name whose file is gone by the time its batch runs (delivered and
 * removed, or moved to failed/) is skipped: the removal needs no sync,
 * because a message that comes back after a power loss is only sent again.
 * Errors are counted and the last one kept; the loop thread logs them
 * (mail_sync_error), since this thread does not call the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucs/mail.h>

#include "mail_int.h"

/* The oldest name of a batch waits this long for others (of the
 * UCS_MAIL_SYNC_MS the contract allows, the rest is for the sync). */
#define GATHER_MS 10

struct sync_name {
	char path[80]; /* relative to the outbox: "NAME" or "failed/NAME" */
	uint64_t queued_ms;
};

struct mail_sync {
	char dir[4096];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sync_name *q; /* queued, not yet taken */
	size_t n, cap;
	unsigned dirs; /* MAIL_SYNC_DIR_* of the queued batch */
	bool quit;
	bool running;
	/* under lock: statistics and errors */
	struct mail_sync_stats st;
	int err; /* the last error not yet taken by the loop */
	char err_what[128];
};

enum {
	DIR_OUTBOX = 1u << 0,
	DIR_FAILED = 1u << 1,
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void note_err(struct mail_sync *s, int err, const char *what)
{
	pthread_mutex_lock(&s->lock);
	s->st.errors++;
	s->err = err;
	snprintf(s->err_what, sizeof(s->err_what), "%s", what);
	pthread_mutex_unlock(&s->lock);
}

static void sync_dir(struct mail_sync *s, int dfd, const char *sub)
{
	int fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd)) {
		note_err(s, -errno, *sub && strcmp(sub, ".") ? sub : "the outbox directory");
	}
	if (fd >= 0)
		close(fd);
}

/* Makes one batch durable. No lock held. */
static void sync_batch(struct mail_sync *s, int dfd, const struct sync_name *b, size_t n,
		       unsigned dirs)
{
	/* one journal commit for the files and the renames of the batch */
	if (syncfs(dfd) == 0)
		return;
	note_err(s, -errno, "the outbox's file system (syncfs; fsync per file instead)");
	for (size_t i = 0; i < n; i++) {
		int fd = openat(dfd, b[i].path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			if (errno != ENOENT)
				note_err(s, -errno, b[i].path);
			continue;
		}
		if (fsync(fd))
			note_err(s, -errno, b[i].path);
		close(fd);
	}
	if (dirs & DIR_FAILED)
		sync_dir(s, dfd, "failed");
	if (dirs & DIR_OUTBOX)
		sync_dir(s, dfd, ".");
}

static void *sync_main(void *arg)
{
	struct mail_sync *s = arg;
	struct sync_name *b = NULL;
	size_t bcap = 0;
	int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		note_err(s, -errno, "the outbox directory");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		size_t n;
		unsigned dirs;
		uint64_t oldest, t;

		while (!s->n && !s->dirs && !s->quit)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->n && !s->dirs)
			break; /* quit, and nothing left */
		/* gather: a burst's names join this batch for GATHER_MS, so
		 * that a burst costs a few commits, not one per loop turn */
		while (s->n && !s->quit && mono_ms() < s->q[0].queued_ms + GATHER_MS) {
			struct timespec until;
			uint64_t at = s->q[0].queued_ms + GATHER_MS;

			until.tv_sec = (time_t)(at / 1000);
			until.tv_nsec = (long)(at % 1000) * 1000000;
			pthread_cond_timedwait(&s->cond, &s->lock, &until);
		}
		/* take the batch: swap the queue with the spare array */
		{
			struct sync_name *q = s->q;
			size_t qcap = s->cap;

			s->q = b;
			s->cap = bcap;
			b = q;
			bcap = qcap;
		}
		n = s->n;
		dirs = s->dirs;
		s->n = 0;
		s->dirs = 0;
		pthread_mutex_unlock(&s->lock);
		oldest = n ? b[0].queued_ms : mono_ms();
		if (dfd >= 0)
			sync_batch(s, dfd, b, n, dirs);
		t = mono_ms();
		pthread_mutex_lock(&s->lock);
		s->st.batches++;
		s->st.files += n;
		if (n > s->st.max_batch)
			s->st.max_batch = n;
		if (t - oldest > s->st.max_ms)
			s->st.max_ms = t - oldest;
		s->st.last_ms = t - oldest;
		if (t - oldest > UCS_MAIL_SYNC_MS)
			s->st.late++;
	}
	pthread_mutex_unlock(&s->lock);
	if (dfd >= 0)
		close(dfd);
	free(b);
	return NULL;
}

int mail_sync_start(struct mail_sync **out, const char *dir)
{
	struct mail_sync *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	err = -pthread_create(&s->thread, NULL, sync_main, s);
	if (err) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return err;
	}
	s->running = true;
	*out = s;
	return 0;
}

int mail_sync_add(struct mail_sync *s, const char *sub, const char *name)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->quit) {
		err = -ESHUTDOWN;
		goto out;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct sync_name *v = realloc(s->q, nc * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		s->q = v;
		s->cap = nc;
	}
	if (snprintf(s->q[s->n].path, sizeof(s->q[0].path), "%s%s%s", sub, *sub ? "/" : "", name) >=
	    (int)sizeof(s->q[0].path)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	s->q[s->n++].queued_ms = mono_ms();
	s->dirs |= *sub ? DIR_FAILED : DIR_OUTBOX;
	pthread_cond_signal(&s->cond);
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

void mail_sync_dir(struct mail_sync *s, const char *sub)
{
	pthread_mutex_lock(&s->lock);
	if (!s->quit) {
		s->dirs |= *sub ? DIR_FAILED : DIR_OUTBOX;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

int mail_sync_error(struct mail_sync *s, char *what, size_t cap)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = s->err;
	s->err = 0;
	snprintf(what, cap, "%s", s->err_what);
	pthread_mutex_unlock(&s->lock);
	return err;
}

void mail_sync_stats(struct mail_sync *s, struct mail_sync_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	st->queued = s->n;
	pthread_mutex_unlock(&s->lock);
}

void mail_sync_stop(struct mail_sync *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* the thread syncs what is queued before it ends */
	if (s->running)
		pthread_join(s->thread, NULL);
	s->running = false;
}

void mail_sync_free(struct mail_sync *s)
{
	if (!s)
		return;
	mail_sync_stop(s);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->q);
	free(s);
}
