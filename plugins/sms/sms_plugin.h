/*
 * plugins/sms/sms_plugin.h - the running sms plugin: its settings, its
 * counters and the jobs (one per accepted SMS) that sms_job.c drives over
 * the host's network API.
 *
 * A job is the struct ucs_sms_op a caller holds. It is built completely
 * when send() accepts it - the request bytes, where to connect, the TLS
 * settings - so a SIGHUP that changes the provider never changes an SMS
 * already on its way. Jobs run at most SMS_PARALLEL at a time; the rest
 * wait in order. A job ends exactly once: done() with the result, or
 * cancel(). At the plugin's stop every job still there ends with done()
 * and -ESHUTDOWN: the callers find ucs.sms at run time (notify,
 * client-api, admin-api) and may well stop after the sms plugin, holding
 * their ops until done() says they are over.
 */
#ifndef SMS_PLUGIN_H
#define SMS_PLUGIN_H

#include <ucs/ucs.h>

#include "sms.h"

#define SMS_PARALLEL	   4	/* requests on the wire at once */
#define SMS_QUEUE_MAX	   1000 /* accepted and not yet done; beyond: -EBUSY */
#define SMS_ATTEMPTS	   3	/* tries of one SMS on temporary failures */
#define SMS_RETRY_FIRST_MS 1000 /* backoff before the 2nd try; doubles */
#define SMS_REPLY_MAX	   256	/* the provider's words handed to done() */
/* The longest max_text: a text of 4-byte characters, each percent-encoded
 * (12 bytes), still fits into one request (SMS_REQUEST_MAX) with room for
 * the rest of the template. */
#define SMS_MAX_TEXT_LIMIT 5000

enum sms_sender_mode {
	SMS_SENDER_NONE = 0,
	SMS_SENDER_FIXED = 1,
	SMS_SENDER_MOBILE = 2,
};

struct sms_settings {
	char *provider; /* "" : SMS off */
	char *user;
	char *password;
	char *gateway;
	enum sms_sender_mode sender_mode;
	char *sender_number;
	char sender_fixed[32]; /* sender_number checked: "+49..." or the name; "" none */
	char *providers_file;  /* the file in force */
	char *ca_bundle;       /* what connect gets as ca_file; NULL: the system bundle */
	int verify;
	unsigned timeout_s;
	unsigned max_text;
};

enum sms_phase {
	SMS_QUEUED = 0,
	SMS_CONNECTING,
	SMS_SENT,
	SMS_WAITING, /* backoff before the next try */
};

struct sms_ctx;

struct ucs_sms_op {
	struct ucs_sms_op *next;
	struct sms_ctx *ctx;
	uint64_t id;
	char user[UCS_ID_MAX];
	char origin[32];
	char to[32];
	char provider[65];
	struct sms_request req;
	struct sms_provider match; /* only status[] and a copy of success */
	char *ca_bundle;
	char *secret;  /* the password, kept out of every log line and reply */
	char *account; /* sms.user: base64(account:password) is a secret too */
	int verify;
	unsigned timeout_ms;
	ucs_sms_done_h *done;
	void *arg;
	int attempt;
	int sync_err; /* connect() refused the try at once */
	enum sms_phase phase;
	struct ucs_conn *conn;
	struct ucs_timer *timer;
	struct sms_http_resp resp;
	uint64_t started_ms;
};

struct sms_ctx {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_dialplan_api *dialplan;
	const struct ucs_userdb_api *userdb;
	struct sms_providers providers;
	const struct sms_provider *provider; /* NULL: SMS off */
	struct sms_settings set;
	struct ucs_sms_op *jobs; /* in submission order */
	size_t n_jobs;
	unsigned active;
	uint64_t next_id;
	uint64_t sent, failed, rejected, retries;
	int stopping;	    /* sms_stop ran: send() answers -ESHUTDOWN */
	int told_no_mobile; /* "no user, so no mobile number" was logged */
	char last_error[SMS_REPLY_MAX + 64];
	int64_t last_error_at;
};

/* sms_job.c */
/* What can fail before a job is accepted (its timer). */
int sms_job_prepare(struct sms_ctx *ctx, struct ucs_sms_op *job);
/* Queues the job and starts what may start; done() is never called
 * from inside this call. */
void sms_job_submit(struct sms_ctx *ctx, struct ucs_sms_op *job);
void sms_job_cancel(struct ucs_sms_op *job);
/* Ends every job with done(status, why) (the plugin stops; set
 * ctx->stopping first); the number ended. */
size_t sms_job_end_all(struct sms_ctx *ctx, int status, const char *why);
void sms_job_free(struct ucs_sms_op *job);

#endif
