/*
 * plugins/mail/smtp_session.c - one SMTP submission session on the loop:
 * connect, greeting, EHLO (HELO when EHLO is refused), STARTTLS or implicit
 * TLS, AUTH PLAIN / LOGIN, then transactions (MAIL, RCPT per recipient,
 * DATA) until the owner quits.
 *
 * Every command waits for its reply with the configured timeout; a server
 * that says nothing, closes, or answers garbage ends the session with an
 * error the owner logs. What is permanent and what is temporary is decided
 * here, per reply: 5xx to MAIL or to the end of DATA fails the message, 5xx
 * to RCPT fails that recipient, 4xx and everything that is not the server's
 * verdict (a lost connection, a timeout, a malformed reply) is temporary.
 * A server that refuses us as a whole (greeting, EHLO, STARTTLS, TLS, AUTH)
 * closes the session: the message in hand stays queued, whatever the code,
 * because the fault is in the configuration or the server, not in it.
 *
 * Credentials go in clear only with tls "none": in the other modes a
 * server without STARTTLS (or one that refuses it) gets no AUTH, since that
 * is what a man in the middle who strips STARTTLS would see.
 *
 * The client never pipelines: one command, then its reply, and bytes after
 * a complete reply in the same read end the session (they would be taken
 * as the reply to the next command). A transaction the server has decided
 * (5xx or 4xx before DATA, then RSET) keeps its verdict when the session
 * dies during the RSET.
 *
 * STARTTLS (RFC 3207): after the 220 nothing may follow in the same read -
 * bytes a man in the middle injected before the handshake would otherwise be
 * taken as replies inside TLS - so leftover bytes end the session. After the
 * handshake the extensions are asked for again with a second EHLO.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#include "mail_int.h"

enum state {
	S_CONNECT,
	S_TLS,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_AUTH_PLAIN,
	S_AUTH_LOGIN,
	S_AUTH_USER,
	S_AUTH_PASS,
	S_READY,
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_DATA_END,
	S_RSET,
	S_DEAD,
};

static const char *const state_names[] = {
	"connect",    "TLS handshake", "greeting",    "EHLO",	    "HELO",   "STARTTLS",
	"AUTH PLAIN", "AUTH LOGIN",    "AUTH LOGIN",  "AUTH LOGIN", "idle",   "MAIL FROM",
	"RCPT TO",    "DATA",	       "end of DATA", "RSET",	    "closed",
};

struct smtp_session {
	const struct ucs_host *host;
	struct ucs_plugin *self;
	struct smtp_settings *set;
	const struct smtp_session_ops *ops;
	void *arg;
	struct ucs_conn *conn;
	struct ucs_timer *timer;
	enum state state;
	struct smtp_parser parser;
	struct smtp_caps caps;
	struct mail_tls *tls;
	bool tls_done; /* TLS is established */
	bool after_starttls;
	struct smtp_job *job;
	size_t rcpt_i;
	size_t accepted;
	bool any_temp;
	int dispatching; /* inside a callback from the host: free later */
	bool dead;
};

struct smtp_settings *smtp_settings_ref(struct smtp_settings *s)
{
	s->refs++;
	return s;
}

void smtp_settings_unref(struct smtp_settings *s)
{
	if (!s || --s->refs)
		return;
	free(s->host);
	free(s->user);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->helo);
	mail_tls_conf_free(s->tls_conf);
	free(s);
}

static void session_free(struct smtp_session *s)
{
	if (s->conn)
		s->host->net->close(s->conn);
	s->host->timer->close(s->timer);
	mail_tls_free(s->tls);
	smtp_settings_unref(s->set);
	free(s);
}

/* Marks the session dead; freed now or when the current callback ends. */
static void session_end(struct smtp_session *s)
{
	s->dead = true;
	s->state = S_DEAD;
	if (!s->dispatching)
		session_free(s);
}

static void fail(struct smtp_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct smtp_session *s, int err, const char *fmt, ...)
{
	struct smtp_job *job = s->job;
	char why[512];
	va_list ap;

	if (s->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->job = NULL;
	if (job && s->state == S_RSET) {
		/* the server decided the transaction before the RSET (a 5xx to
		 * MAIL, DATA or every RCPT, or a 4xx): that verdict stands, only
		 * the session ends - a lost connection must not turn a refusal
		 * into a retry */
		s->dispatching++;
		s->ops->done(s, job, s->arg);
		s->dispatching--;
		job = NULL;
		if (s->dead) {
			/* the owner quit in done(): no further callback */
			if (!s->dispatching)
				session_free(s);
			return;
		}
	}
	if (job) {
		job->result = SMTP_TEMP;
		snprintf(job->reply, sizeof(job->reply), "%s", why);
	}
	s->dead = true; /* no more callbacks, whatever closed() does */
	s->state = S_DEAD;
	s->dispatching++;
	s->ops->closed(s, err, why, job, s->arg);
	s->dispatching--;
	if (!s->dispatching)
		session_free(s);
}

static void flush_tls(struct smtp_session *s)
{
	size_t len;
	const uint8_t *out = mail_tls_out(s->tls, &len);

	if (len) {
		s->host->net->send(s->conn, out, len);
		mail_tls_out_clear(s->tls);
	}
}

static void arm(struct smtp_session *s)
{
	s->host->timer->start(s->timer, s->set->timeout_ms, 0);
}

static int send_raw(struct smtp_session *s, const void *data, size_t len)
{
	int err;

	if (s->tls_done) {
		err = mail_tls_write(s->tls, data, len);
		if (err)
			return err;
		flush_tls(s);
		return 0;
	}
	return s->host->net->send(s->conn, data, len);
}

/* A command line (CRLF added) and the reply timer. */
static void cmd(struct smtp_session *s, enum state next, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cmd(struct smtp_session *s, enum state next, const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		fail(s, -EINVAL, "command too long");
		return;
	}
	memcpy(line + n, "\r\n", 2);
	s->state = next;
	err = send_raw(s, line, (size_t)n + 2);
	explicit_bzero(line, sizeof(line)); /* AUTH lines carry secrets */
	if (err) {
		fail(s, err, "cannot send %s: %s", state_names[next],
		     s->tls ? mail_tls_why(s->tls) : strerror(-err));
		return;
	}
	arm(s);
}

static void b64(const void *data, size_t len, char *out, size_t cap)
{
	struct mail_buf b = {0};

	out[0] = 0;
	if (!mail_base64(&b, data, len, 0) && b.len < cap)
		memcpy(out, b.data, b.len + 1);
	if (b.data)
		explicit_bzero(b.data, b.len);
	mail_buf_free(&b);
}

static void become_ready(struct smtp_session *s)
{
	s->state = S_READY;
	s->host->timer->stop(s->timer);
	s->dispatching++;
	s->ops->ready(s, s->arg);
	s->dispatching--;
}

static void auth_or_ready(struct smtp_session *s)
{
	const char *user = s->set->user;

	if (!user || !*user) {
		become_ready(s);
		return;
	}
	if (!s->tls_done && s->set->tls != MAIL_TLS_NONE) {
		/* a man in the middle strips STARTTLS from the EHLO reply (or
		 * refuses it) to read the password: only tls "none" says that
		 * the operator accepts AUTH in clear */
		fail(s, -EPROTONOSUPPORT,
		     "%s offers no STARTTLS (or refused it): not sending the password in clear "
		     "(tls \"none\" allows it)",
		     s->set->host);
		return;
	}
	if (!s->tls_done)
		s->host->log->log(s->self, UCS_LOG_WARNING,
				  "authenticating to %s without TLS: the password travels in clear",
				  s->set->host);
	if (s->caps.auth_plain) {
		const char *pw = s->set->password ? s->set->password : "";
		size_t ul = strlen(user), pl = strlen(pw);
		char raw[600], enc[820];

		if (ul + pl + 2 > sizeof(raw)) {
			fail(s, -EINVAL, "user name or password too long for AUTH PLAIN");
			return;
		}
		raw[0] = 0;
		memcpy(raw + 1, user, ul);
		raw[1 + ul] = 0;
		memcpy(raw + 2 + ul, pw, pl);
		b64(raw, ul + pl + 2, enc, sizeof(enc));
		explicit_bzero(raw, sizeof(raw));
		cmd(s, S_AUTH_PLAIN, "AUTH PLAIN %s", enc);
		explicit_bzero(enc, sizeof(enc));
	} else if (s->caps.auth_login) {
		cmd(s, S_AUTH_LOGIN, "AUTH LOGIN");
	} else {
		fail(s, -EPROTONOSUPPORT,
		     "%s offers no AUTH PLAIN or LOGIN%s, but a user is configured", s->set->host,
		     s->tls_done ? "" : " (before TLS)");
	}
}

static void after_ehlo(struct smtp_session *s)
{
	enum mail_tls_mode m = s->set->tls;

	if (!s->tls_done && (m == MAIL_TLS_STARTTLS || m == MAIL_TLS_REQUIRED)) {
		if (s->caps.starttls) {
			cmd(s, S_STARTTLS, "STARTTLS");
			return;
		}
		if (m == MAIL_TLS_REQUIRED) {
			fail(s, -EPROTONOSUPPORT,
			     "%s does not offer STARTTLS and tls is \"required\": not sending in "
			     "clear",
			     s->set->host);
			return;
		}
	}
	auth_or_ready(s);
}

static void start_tls(struct smtp_session *s)
{
	int err = mail_tls_new(&s->tls, s->set->tls_conf, s->set->host);

	if (err) {
		fail(s, err, "cannot start TLS: %s", strerror(-err));
		return;
	}
	s->state = S_TLS;
	arm(s);
	err = mail_tls_handshake(s->tls);
	flush_tls(s);
	if (err != -EAGAIN)
		fail(s, err, "%s", mail_tls_why(s->tls));
}

static void job_finish(struct smtp_session *s)
{
	struct smtp_job *job = s->job;

	s->job = NULL;
	s->state = S_READY;
	s->host->timer->stop(s->timer);
	s->dispatching++;
	s->ops->done(s, job, s->arg);
	s->dispatching--;
}

/* The transaction failed before the end of DATA: RSET, then done. */
static void job_abort(struct smtp_session *s, enum smtp_result r, const struct smtp_reply *rep)
{
	s->job->result = r;
	smtp_reply_line(rep, s->job->reply, sizeof(s->job->reply));
	cmd(s, S_RSET, "RSET");
}

static void next_rcpt(struct smtp_session *s)
{
	struct smtp_job *job = s->job;

	if (s->rcpt_i < job->n_rcpt) {
		cmd(s, S_RCPT, "RCPT TO:<%s>", job->rcpt[s->rcpt_i]);
		return;
	}
	if (s->accepted) {
		cmd(s, S_DATA, "DATA");
		return;
	}
	/* every recipient refused: the deciding reply is the last one */
	job->result = s->any_temp ? SMTP_TEMP : SMTP_PERM;
	snprintf(job->reply, sizeof(job->reply), "no recipient accepted: %s",
		 job->rcpt_reply[job->n_rcpt - 1]);
	cmd(s, S_RSET, "RSET");
}

static void on_reply(struct smtp_session *s, const struct smtp_reply *r)
{
	char line[300];
	int c = r->code;

	smtp_reply_line(r, line, sizeof(line));
	if (c == 421 && s->state != S_DATA_END) {
		fail(s, -ECONNRESET, "%s closes the session: %s", s->set->host, line);
		return;
	}
	switch (s->state) {
	case S_GREETING:
		if (c != 220) {
			fail(s, -ECONNREFUSED, "%s refused the session: %s", s->set->host, line);
			return;
		}
		cmd(s, S_EHLO, "EHLO %s", s->set->helo);
		return;
	case S_EHLO:
		if (c == 250) {
			smtp_caps_parse(r, &s->caps);
			after_ehlo(s);
		} else if (c >= 500 && !s->tls_done) {
			cmd(s, S_HELO, "HELO %s", s->set->helo);
		} else {
			fail(s, -EPROTO, "EHLO refused: %s", line);
		}
		return;
	case S_HELO:
		if (c != 250) {
			fail(s, -EPROTO, "HELO refused: %s", line);
			return;
		}
		memset(&s->caps, 0, sizeof(s->caps));
		after_ehlo(s);
		return;
	case S_STARTTLS:
		if (c != 220) {
			if (s->set->tls == MAIL_TLS_REQUIRED)
				fail(s, -EPROTO, "STARTTLS refused and tls is \"required\": %s",
				     line);
			else
				auth_or_ready(s);
			return;
		}
		s->after_starttls = true;
		start_tls(s);
		return;
	case S_AUTH_PLAIN:
	case S_AUTH_PASS:
		if (c != 235) {
			fail(s, -EACCES, "authentication as %s failed: %s", s->set->user, line);
			return;
		}
		become_ready(s);
		return;
	case S_AUTH_LOGIN:
	case S_AUTH_USER: {
		const char *v = s->state == S_AUTH_LOGIN ? s->set->user
				: s->set->password	 ? s->set->password
							 : "";
		char enc[820];

		if (c != 334) {
			fail(s, -EACCES, "authentication as %s failed: %s", s->set->user, line);
			return;
		}
		if (strlen(v) > 600) {
			fail(s, -EINVAL, "user name or password too long");
			return;
		}
		b64(v, strlen(v), enc, sizeof(enc));
		cmd(s, s->state == S_AUTH_LOGIN ? S_AUTH_USER : S_AUTH_PASS, "%s", enc);
		explicit_bzero(enc, sizeof(enc));
		return;
	}
	case S_MAIL:
		if (c == 250) {
			s->rcpt_i = 0;
			s->accepted = 0;
			s->any_temp = false;
			next_rcpt(s);
		} else {
			job_abort(s, c >= 500 ? SMTP_PERM : SMTP_TEMP, r);
		}
		return;
	case S_RCPT:
		s->job->rcpt_code[s->rcpt_i] = c;
		snprintf(s->job->rcpt_reply[s->rcpt_i], sizeof(s->job->rcpt_reply[0]), "%.159s",
			 line);
		if (c == 250 || c == 251)
			s->accepted++;
		else if (c < 500)
			s->any_temp = true;
		s->rcpt_i++;
		next_rcpt(s);
		return;
	case S_DATA:
		if (c != 354) {
			job_abort(s, c >= 500 ? SMTP_PERM : SMTP_TEMP, r);
			return;
		}
		s->state = S_DATA_END;
		if (send_raw(s, s->job->data.data, s->job->data.len)) {
			fail(s, -EIO, "cannot send the message");
			return;
		}
		arm(s);
		return;
	case S_DATA_END:
		s->job->result = c == 250 ? SMTP_OK : c >= 500 ? SMTP_PERM : SMTP_TEMP;
		smtp_reply_line(r, s->job->reply, sizeof(s->job->reply));
		if (c == 421) {
			struct smtp_job *job = s->job;

			/* the verdict came, then the server leaves: report, then close */
			s->job = NULL;
			s->dispatching++;
			s->ops->done(s, job, s->arg);
			s->dispatching--;
			fail(s, -ECONNRESET, "%s closes the session: %s", s->set->host, line);
			return;
		}
		job_finish(s);
		return;
	case S_RSET:
		if (c != 250) {
			/* the transaction state is unknown: report and leave */
			struct smtp_job *job = s->job;

			s->job = NULL;
			s->dispatching++;
			s->ops->done(s, job, s->arg);
			s->dispatching--;
			fail(s, -EPROTO, "RSET refused: %s", line);
			return;
		}
		job_finish(s);
		return;
	case S_READY:
		fail(s, -EPROTO, "unexpected reply while idle: %s", line);
		return;
	default:
		fail(s, -EPROTO, "unexpected reply during %s: %s", state_names[s->state], line);
		return;
	}
}

/* Plaintext from the server: replies. */
static void on_plain(struct smtp_session *s, const uint8_t *data, size_t len)
{
	char why[200];

	while (len && !s->dead) {
		struct smtp_reply r;
		size_t used = 0;
		int ret = smtp_parse(&s->parser, data, len, &used, &r, why, sizeof(why));

		if (ret < 0) {
			fail(s, ret, "%s (during %s)", why, state_names[s->state]);
			return;
		}
		data += used;
		len -= used;
		if (ret == 0)
			return;
		if (s->state == S_READY || s->state == S_CONNECT || s->state == S_TLS) {
			if (s->state != S_READY || r.code != 421) {
				smtp_reply_line(&r, why, sizeof(why));
				fail(s, -EPROTO, "unexpected reply during %s: %s",
				     state_names[s->state], why);
				return;
			}
		}
		if (s->state == S_STARTTLS && r.code == 220 && len) {
			fail(s, -EPROTO, "data after the STARTTLS reply: refusing the session");
			return;
		}
		if (len) {
			/* one command, one reply: the client does not pipeline, so
			 * a second reply in the same read would be taken as the
			 * answer to a command not sent yet */
			enum state st = s->state;

			smtp_reply_line(&r, why, sizeof(why));
			if (st == S_DATA_END) {
				/* the verdict on the message stands ("250 ok" then
				 * "421 bye"): a retry would deliver it twice */
				on_reply(s, &r);
				if (s->dead)
					return;
			}
			fail(s, -EPROTO, "data after the reply to %s (%s): refusing the session",
			     state_names[st], why);
			return;
		}
		on_reply(s, &r);
	}
}

static void on_data(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg)
{
	struct smtp_session *s = arg;
	uint8_t buf[16384];

	(void)conn;
	s->dispatching++;
	if (!s->tls) {
		on_plain(s, data, len);
		goto out;
	}
	if (mail_tls_feed(s->tls, data, len)) {
		fail(s, -ENOMEM, "out of memory");
		goto out;
	}
	if (s->state == S_TLS) {
		int err = mail_tls_handshake(s->tls);

		flush_tls(s);
		if (err == -EAGAIN)
			goto out;
		if (err) {
			fail(s, err, "%s", mail_tls_why(s->tls));
			goto out;
		}
		s->tls_done = true;
		if (s->after_starttls) {
			cmd(s, S_EHLO, "EHLO %s", s->set->helo);
		} else {
			s->state = S_GREETING;
			arm(s);
		}
	}
	while (!s->dead && s->tls_done) {
		int n = mail_tls_read(s->tls, buf, sizeof(buf));

		flush_tls(s);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			fail(s, -ECONNRESET, "%s closed the TLS session during %s", s->set->host,
			     state_names[s->state]);
			break;
		}
		if (n < 0) {
			fail(s, n, "%s", mail_tls_why(s->tls));
			break;
		}
		on_plain(s, buf, (size_t)n);
	}
out:
	s->dispatching--;
	if (s->dead && !s->dispatching)
		session_free(s);
}

static void on_close(struct ucs_conn *conn, int err, void *arg)
{
	struct smtp_session *s = arg;
	enum state st = s->state;

	(void)conn;
	s->conn = NULL; /* the host frees it */
	if (st == S_CONNECT)
		fail(s, err ? err : -ECONNRESET, "cannot connect to %s:%u: %s", s->set->host,
		     s->set->port, strerror(err ? -err : ECONNRESET));
	else
		fail(s, err ? err : -ECONNRESET, "%s closed the connection during %s%s%s",
		     s->set->host, state_names[st], err ? ": " : "", err ? strerror(-err) : "");
}

static void on_connected(struct ucs_conn *conn, void *arg)
{
	struct smtp_session *s = arg;

	(void)conn;
	if (s->set->tls == MAIL_TLS_IMPLICIT) {
		s->dispatching++;
		start_tls(s);
		s->dispatching--;
		if (s->dead && !s->dispatching)
			session_free(s);
		return;
	}
	s->state = S_GREETING;
	arm(s);
}

static void on_timeout(struct ucs_timer *t, void *arg)
{
	struct smtp_session *s = arg;

	(void)t;
	fail(s, -ETIMEDOUT, "%s did not answer within %u s during %s", s->set->host,
	     s->set->timeout_ms / 1000, state_names[s->state]);
}

static const struct ucs_conn_handlers handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = on_data,
	.on_close = on_close,
	.on_connected = on_connected,
};

int smtp_session_open(const struct ucs_host *host, struct ucs_plugin *self,
		      struct smtp_settings *set, const struct smtp_session_ops *ops, void *arg,
		      struct smtp_session **out)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	struct ucs_connect_opts o = {.size = sizeof(o)};
	int err;

	if (!s)
		return -ENOMEM;
	s->host = host;
	s->self = self;
	s->set = smtp_settings_ref(set);
	s->ops = ops;
	s->arg = arg;
	smtp_parser_init(&s->parser);
	err = host->timer->open(self, &s->timer, on_timeout, s);
	if (err)
		goto fail;
	o.host = set->host;
	o.port = set->port;
	o.timeout_ms = set->timeout_ms;
	err = host->net->connect(self, &s->conn, &o, &handlers, s);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	s->conn = NULL;
	session_free(s);
	return err;
}

void smtp_session_send(struct smtp_session *s, struct smtp_job *job)
{
	if (s->dead || s->state != S_READY)
		return;
	s->job = job;
	job->result = SMTP_TEMP;
	job->reply[0] = 0;
	for (size_t i = 0; i < job->n_rcpt; i++) {
		job->rcpt_code[i] = 0;
		job->rcpt_reply[i][0] = 0;
	}
	cmd(s, S_MAIL, "MAIL FROM:<%s>%s%s", job->env_from,
	    job->eightbit && s->caps.eightbit ? " BODY=8BITMIME" : "",
	    job->smtputf8 && s->caps.smtputf8 ? " SMTPUTF8" : "");
}

void smtp_session_quit(struct smtp_session *s)
{
	if (s->dead)
		return;
	if (s->state == S_READY)
		send_raw(s, "QUIT\r\n", 6);
	session_end(s);
}

void smtp_session_abort(struct smtp_session *s)
{
	if (!s->dead)
		session_end(s);
}

const struct smtp_caps *smtp_session_caps(const struct smtp_session *s)
{
	return &s->caps;
}

bool smtp_session_tls(const struct smtp_session *s)
{
	return s->tls_done;
}
