/*
 * plugins/sms/sms_job.c - one SMS on its way: the HTTP/1.1 exchange with
 * the provider's gateway over the host's network API (TLS, certificate
 * and host name checks are the host's), the timeout, the retries, and the
 * one call of done().
 *
 * Retries. A try that fails before the request could reach the gateway -
 * connection refused or reset, no route, connect or TLS handshake timed
 * out - and an HTTP 500, 502, 503, 504 or 429 answer (the gateway says it
 * failed or is overloaded, and did not take the message) are temporary:
 * the SMS is tried again after 1 s, then 2 s (SMS_ATTEMPTS tries in all).
 * Other answers - a 501 or 505 included - would only come again.
 * Once the request went out, silence (no complete answer within timeout_s)
 * or a connection that ends without an answer is NOT retried: the gateway
 * may well have taken the message, and sending it again would deliver it
 * twice and bill it twice. A certificate that fails verification, a
 * malformed answer and a refusal are final at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sms_plugin.h"

static void pump(struct sms_ctx *ctx);

static void log_job(struct ucs_sms_op *j, enum ucs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_job(struct ucs_sms_op *j, enum ucs_log_level level, const char *fmt, ...)
{
	char clean[1024];
	char *msg = NULL;
	va_list ap;
	int n;

	/* the whole line first: cut before it is scrubbed, a line could end
	 * in the first half of the password */
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		msg = NULL;
		snprintf(clean, sizeof(clean), "(no memory for the log line)");
	} else {
		/* whatever went into the line, the password does not come out */
		sms_clean_text(clean, sizeof(clean), msg, (size_t)n, j->secret, j->account);
	}
	j->ctx->host->log->log(j->ctx->self, level, "SMS %llu: %s", (unsigned long long)j->id,
			       clean);
	free(msg);
}

void sms_job_free(struct ucs_sms_op *j)
{
	if (!j)
		return;
	if (j->timer)
		j->ctx->host->timer->close(j->timer);
	sms_request_free(&j->req);
	sms_http_free(&j->resp);
	pcre2_code_free(j->match.success);
	free(j->ca_bundle);
	free(j->account);
	if (j->secret) {
		/* not left in freed memory either */
		volatile char *p = j->secret;

		while (*p)
			*p++ = '\0';
		free(j->secret);
	}
	free(j);
}

static void unlink_job(struct ucs_sms_op *j)
{
	struct sms_ctx *ctx = j->ctx;

	for (struct ucs_sms_op **pp = &ctx->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			ctx->n_jobs--;
			break;
		}
	if (j->phase != SMS_QUEUED)
		ctx->active--;
}

/* Ends a job's connection (no callback follows) and stops its timer. */
static void quiesce(struct ucs_sms_op *j)
{
	const struct ucs_host *h = j->ctx->host;

	if (j->conn) {
		h->net->close(j->conn);
		j->conn = NULL;
	}
	if (j->timer)
		h->timer->stop(j->timer);
}

/* The one end of a job that reports: done() runs, the job is freed. */
static void finish(struct ucs_sms_op *j, int status, const char *reply)
{
	struct sms_ctx *ctx = j->ctx;
	ucs_sms_done_h *done = j->done;
	void *arg = j->arg;
	char clean[SMS_REPLY_MAX];
	uint64_t ms = ctx->host->timer->now_ms() - j->started_ms;

	quiesce(j);
	unlink_job(j);
	sms_clean_text(clean, sizeof(clean), reply ? reply : "", reply ? strlen(reply) : 0,
		       j->secret, j->account);
	if (status == -ESHUTDOWN) {
		/* counted, and summed up in one warning by sms_stop */
		ctx->failed++;
		log_job(j, UCS_LOG_INFO, "to %s not sent: %s", j->to, clean);
	} else if (status == 0) {
		ctx->sent++;
		log_job(j, UCS_LOG_INFO, "to %s delivered via %s (try %d, %llu ms)%s%s", j->to,
			j->provider, j->attempt, (unsigned long long)ms, clean[0] ? ": " : "",
			clean);
	} else {
		ctx->failed++;
		snprintf(ctx->last_error, sizeof(ctx->last_error), "SMS %llu to %s: %s%s%s",
			 (unsigned long long)j->id, j->to, strerror(-status), clean[0] ? ": " : "",
			 clean);
		ctx->last_error_at = (int64_t)time(NULL);
		log_job(j, UCS_LOG_WARNING, "to %s failed after %d %s (%s)%s%s", j->to, j->attempt,
			j->attempt == 1 ? "try" : "tries", strerror(-status), clean[0] ? ": " : "",
			clean);
	}
	if (j->timer)
		ctx->host->timer->close(j->timer);
	j->timer = NULL;
	sms_job_free(j);
	if (done)
		done(status, clean, arg);
	pump(ctx);
}

/* A try failed in a way that another try may fix. */
static void temporary(struct ucs_sms_op *j, int status, const char *why)
{
	uint64_t wait;

	quiesce(j);
	if (j->attempt >= SMS_ATTEMPTS) {
		finish(j, status, why);
	} else {
		wait = (uint64_t)SMS_RETRY_FIRST_MS << (j->attempt - 1);
		j->ctx->retries++;
		log_job(j, UCS_LOG_INFO, "try %d to %s failed (%s); trying again in %llu ms",
			j->attempt, j->req.shown, why, (unsigned long long)wait);
		j->phase = SMS_WAITING;
		j->ctx->host->timer->start(j->timer, wait, 0);
	}
}

/* Whether a connection error happened before the request could be sent
 * and another try may succeed. */
static int retryable(int err)
{
	switch (-err) {
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EPIPE:
	case EAGAIN:
		return 1;
	default:
		return 0;
	}
}

static void connect_failed(struct ucs_sms_op *j, int err)
{
	char why[600];

	if (err == -EACCES)
		snprintf(why, sizeof(why),
			 "the certificate of %s failed verification (the log says why)",
			 j->req.url.host);
	else if (err == -EPROTO)
		snprintf(why, sizeof(why), "TLS handshake with %s failed", j->req.url.host);
	else if (err == -ETIMEDOUT) /* the host's connect timer, the same as ours */
		snprintf(why, sizeof(why), "no connection to %s within %u s", j->req.url.host,
			 j->timeout_ms / 1000);
	else
		snprintf(why, sizeof(why), "cannot connect to %s port %u: %s", j->req.url.host,
			 j->req.url.port, strerror(-err));
	if (err != -EACCES && err != -EPROTO && retryable(err))
		temporary(j, err, why);
	else
		finish(j, err, why);
}

/* The answers that say the gateway did not take the message and may take
 * it a little later: failed, overloaded, or "too many requests". */
static int retry_status(int status)
{
	return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

/* A complete answer: accepted, refused, or a temporary failure to try again. */
static void answered(struct ucs_sms_op *j)
{
	const struct sms_http_resp *r = &j->resp;
	char why[SMS_REPLY_MAX + 800], body[SMS_REPLY_MAX];
	int ok;

	sms_clean_text(body, sizeof(body), r->body.data ? r->body.data : "", r->body.len, j->secret,
		       j->account);
	if (retry_status(r->status)) {
		snprintf(why, sizeof(why), "HTTP %d %s%s%s", r->status,
			 r->reason_cut ? "(a reason phrase too long to show)" : r->reason,
			 body[0] ? ": " : "", body);
		temporary(j, -EREMOTEIO, why);
		return;
	}
	if (r->status >= 300 && r->status < 400) {
		char loc[300];

		sms_clean_text(loc, sizeof(loc), r->location, strlen(r->location), j->secret,
			       j->account);
		snprintf(why, sizeof(why), "HTTP %d %s (redirect to %s not followed)", r->status,
			 r->reason_cut ? "(a reason phrase too long to show)" : r->reason,
			 loc[0]		   ? loc
			 : r->location_cut ? "a location too long to show"
					   : "nowhere");
		finish(j, -EREMOTEIO, why);
		return;
	}
	/* the provider's pattern as it was when the SMS was accepted */
	ok = sms_provider_accepts(&j->match, r->status, r->body.data, r->body.len);
	if (ok == 1) {
		snprintf(why, sizeof(why), "%s", body);
		finish(j, 0, why);
		return;
	}
	snprintf(why, sizeof(why), "HTTP %d%s%s", r->status, body[0] ? ": " : "", body);
	finish(j, ok < 0 ? ok : -EREMOTEIO, why);
}

static void on_data(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg)
{
	struct ucs_sms_op *j = arg;
	int rc;
	char why[600];

	(void)conn;
	if (j->phase != SMS_SENT)
		return;
	rc = sms_http_feed(&j->resp, data, len);
	if (rc == 1) {
		answered(j);
	} else if (rc < 0) {
		snprintf(why, sizeof(why), "invalid answer from the gateway: %s", j->resp.error);
		finish(j, -EPROTO, why);
	}
}

static void on_close(struct ucs_conn *conn, int err, void *arg)
{
	struct ucs_sms_op *j = arg;
	char why[600];
	int rc;

	(void)conn;
	j->conn = NULL; /* the host frees it when this returns */
	if (j->phase == SMS_CONNECTING) {
		connect_failed(j, err ? err : -ECONNRESET);
		return;
	}
	if (j->phase != SMS_SENT)
		return;
	if (err) {
		snprintf(why, sizeof(why), "the connection to %s failed: %s", j->req.url.host,
			 strerror(-err));
		finish(j, err, why);
		return;
	}
	rc = sms_http_eof(&j->resp);
	if (rc == 1) {
		answered(j);
		return;
	}
	if (j->resp.state == SMS_HTTP_ERROR && !j->resp.status && !j->resp.header_bytes) {
		finish(j, -ECONNRESET, "the gateway closed the connection without an answer");
		return;
	}
	snprintf(why, sizeof(why), "invalid answer from the gateway: %s", j->resp.error);
	finish(j, -EPROTO, why);
}

static void on_connected(struct ucs_conn *conn, void *arg)
{
	struct ucs_sms_op *j = arg;
	int err;

	err = j->ctx->host->net->send(conn, j->req.bytes.data, j->req.bytes.len);
	if (err) {
		connect_failed(j, err);
		return;
	}
	j->phase = SMS_SENT;
}

static const struct ucs_conn_handlers handlers = {
	.size = sizeof(handlers),
	.on_data = on_data,
	.on_close = on_close,
	.on_connected = on_connected,
};

static void start_try(struct ucs_sms_op *j)
{
	const struct ucs_host *h = j->ctx->host;
	struct ucs_connect_opts o = {
		.size = sizeof(o),
		.host = j->req.url.host,
		.port = j->req.url.port,
		.tls = j->req.url.tls,
		.verify_none = !j->verify,
		.ca_file = j->ca_bundle,
		.timeout_ms = j->timeout_ms,
	};
	int err;

	j->attempt++;
	j->phase = SMS_CONNECTING;
	sms_http_free(&j->resp);
	sms_http_init(&j->resp);
	j->sync_err = 0;
	err = h->net->connect(j->ctx->self, &j->conn, &o, &handlers, j);
	if (err) {
		/* reported from the timer: never inside send(), never in a
		 * loop of pump() */
		j->conn = NULL;
		j->sync_err = err;
		h->timer->start(j->timer, 0, 0);
		return;
	}
	h->timer->start(j->timer, j->timeout_ms, 0);
}

static void on_timer(struct ucs_timer *timer, void *arg)
{
	struct ucs_sms_op *j = arg;
	char why[600];

	(void)timer;
	switch (j->phase) {
	case SMS_WAITING:
		start_try(j);
		break;
	case SMS_CONNECTING:
		if (j->sync_err) {
			connect_failed(j, j->sync_err);
			break;
		}
		snprintf(why, sizeof(why), "no connection to %s within %u s", j->req.url.host,
			 j->timeout_ms / 1000);
		temporary(j, -ETIMEDOUT, why);
		break;
	case SMS_SENT:
		snprintf(why, sizeof(why), "no complete answer from %s within %u s",
			 j->req.url.host, j->timeout_ms / 1000);
		finish(j, -ETIMEDOUT, why);
		break;
	default:
		break;
	}
}

/* Starts queued jobs while fewer than SMS_PARALLEL are under way. */
static void pump(struct sms_ctx *ctx)
{
	struct ucs_sms_op *j;

	while (!ctx->stopping && ctx->active < SMS_PARALLEL) {
		for (j = ctx->jobs; j && j->phase != SMS_QUEUED; j = j->next)
			;
		if (!j)
			return;
		ctx->active++;
		start_try(j);
	}
}

int sms_job_prepare(struct sms_ctx *ctx, struct ucs_sms_op *job)
{
	return ctx->host->timer->open(ctx->self, &job->timer, on_timer, job);
}

void sms_job_submit(struct sms_ctx *ctx, struct ucs_sms_op *job)
{
	struct ucs_sms_op **pp = &ctx->jobs;

	while (*pp)
		pp = &(*pp)->next;
	job->next = NULL;
	job->phase = SMS_QUEUED;
	job->started_ms = ctx->host->timer->now_ms();
	*pp = job;
	ctx->n_jobs++;
	pump(ctx);
}

void sms_job_cancel(struct ucs_sms_op *j)
{
	struct sms_ctx *ctx = j->ctx;

	quiesce(j);
	if (j->timer)
		ctx->host->timer->close(j->timer);
	j->timer = NULL;
	unlink_job(j);
	log_job(j, UCS_LOG_INFO, "to %s cancelled", j->to);
	sms_job_free(j);
	pump(ctx);
}

size_t sms_job_end_all(struct sms_ctx *ctx, int status, const char *why)
{
	size_t n = 0;

	/* ctx->stopping is set: a done() that sends again gets -ESHUTDOWN,
	 * and pump() starts nothing. A done() may cancel other jobs, so the
	 * list is read afresh each time. */
	while (ctx->jobs) {
		finish(ctx->jobs, status, why);
		n++;
	}
	return n;
}
