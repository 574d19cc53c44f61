/*
 * plugins/mail/mail_admin.c - the batches of the administrator's error mails
 * (the manual's "Send errors as e-mail to administrator", 9.5).
 *
 * Errors of the event log are collected for batch_s seconds into one mail,
 * and at most max_per_hour mails go out in any hour (a sliding window over
 * the times of the mails sent). A batch that falls over the limit is
 * dropped, not held - an error storm must not turn into a backlog of mail -
 * and counted; the next mail that goes out says how many errors were not
 * mailed. At most MAIL_ADMIN_LINES events are quoted per mail, the rest
 * counted. Pure bookkeeping: the plugin supplies the clock and does the
 * sending, so the unit tests can run an hour in a millisecond.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail_int.h"

int mail_admin_add(struct mail_admin *a, int64_t time_ms, const char *tag, const char *text)
{
	char when[64];
	time_t t = (time_t)(time_ms / 1000);
	struct tm tm;

	a->pending++;
	if (a->pending > MAIL_ADMIN_LINES) {
		a->more++;
		return 0;
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	return mail_buf_printf(&a->text, "%s [%s] %s\n", when, tag, text);
}

static uint32_t sent_last_hour(const struct mail_admin *a, int64_t now_ms)
{
	uint32_t n = 0;

	for (size_t i = 0; i < MAIL_ADMIN_RING; i++)
		if (a->sent_at[i] && now_ms - a->sent_at[i] < 3600 * 1000)
			n++;
	return n;
}

static void reset(struct mail_admin *a)
{
	a->pending = 0;
	a->more = 0;
	a->text.len = 0;
	if (a->text.data)
		a->text.data[0] = 0;
}

uint32_t mail_admin_take(struct mail_admin *a, int64_t now_ms, const char *server_name,
			 struct mail_buf *subject, struct mail_buf *body)
{
	uint32_t n = a->pending;
	int err;

	if (!n)
		return 0;
	if (sent_last_hour(a, now_ms) >= a->max_per_hour) {
		a->dropped += n;
		a->dropped_total += n;
		reset(a);
		return 0;
	}
	err = mail_buf_printf(subject, "ucsd on %s: %" PRIu32 " error%s", server_name, n,
			      n == 1 ? "" : "s");
	err = err ?: mail_buf_printf(body, "ucsd on %s logged these errors:\n\n", server_name);
	err = err ?: mail_buf_add(body, a->text.data ? a->text.data : "", a->text.len);
	if (!err && a->more)
		err = mail_buf_printf(body, "\n... and %" PRIu32 " more (see the event log).\n",
				      a->more);
	if (!err && a->dropped)
		err = mail_buf_printf(body,
				      "\n%" PRIu64 " earlier errors were not mailed because of the "
				      "limit of %" PRIu32 " mails per hour (see the event log).\n",
				      a->dropped, a->max_per_hour);
	if (err) {
		a->dropped += n;
		a->dropped_total += n;
		reset(a);
		return 0;
	}
	reset(a);
	return n;
}

void mail_admin_done(struct mail_admin *a, int64_t now_ms, uint32_t n, bool queued)
{
	if (!queued) {
		a->dropped += n;
		a->dropped_total += n;
		return;
	}
	a->dropped = 0;
	a->sent++;
	a->sent_at[a->ring_pos] = now_ms;
	a->ring_pos = (a->ring_pos + 1) % MAIL_ADMIN_RING;
}

void mail_admin_free(struct mail_admin *a)
{
	mail_buf_free(&a->text);
}
