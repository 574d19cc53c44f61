/*
 * plugins/mail/mail_int.h - the mail plugin's halves and how they meet.
 *
 * A message goes through four hands. submit() (plugin.c) checks it and
 * turns it into a record (mail_record.c): the envelope, the header values
 * and the bodies as given, plus the Message-ID and Date fixed at that
 * moment. The record is what the outbox (mail_outbox.c) stores, one file
 * per message, complete under its final name before submit returns; the
 * sync thread (mail_sync.c) makes it durable within UCS_MAIL_SYNC_MS. The MIME text is not
 * stored: it is rendered (mail_mime.c) when the message is sent, because
 * how it is encoded depends on the server that takes it - 8bit bodies and
 * UTF-8 headers when the server offers 8BITMIME / SMTPUTF8 (and `utf8` is
 * on), quoted-printable bodies and RFC 2047 encoded words otherwise. The
 * same record therefore goes out correctly after a restart to a server
 * whose capabilities changed. Finally an SMTP session (smtp_session.c, with
 * its reply parser smtp_reply.c and its own TLS over the connection,
 * mail_tls.c, so that STARTTLS can upgrade a plain connection) delivers it
 * and reports per recipient what the server said.
 *
 * Everything here runs on the loop thread except mail_record_load and the
 * rendering, which run in the host's thread pool (files and attachments
 * may be large), and the start-up scan of the outbox directory.
 */
#ifndef MAIL_INT_H
#define MAIL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growing byte buffers ---- */

struct mail_buf {
	char *data;
	size_t len, cap;
};

int mail_buf_add(struct mail_buf *b, const void *data, size_t len);
int mail_buf_str(struct mail_buf *b, const char *s);
int mail_buf_printf(struct mail_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mail_buf_free(struct mail_buf *b);

/* ---- addresses (mail_addr.c) ---- */

/* One address of a ';' (or ',') separated list: "user@domain" or
 * "Name <user@domain>" or "\"Name\" <user@domain>". */
struct mail_addr {
	char *name; /* display name, UTF-8, or NULL */
	char *addr; /* addr-spec, never empty */
};

/* Parses a list; *out is an array of *n (>= 1) addresses. -EINVAL with a
 * reason in err for an empty list or a malformed address. */
int mail_addr_parse(const char *list, struct mail_addr **out, size_t *n, char *err, size_t errcap);
void mail_addr_free(struct mail_addr *a, size_t n);
/* True when the addr-spec is plain ASCII (sendable without SMTPUTF8). */
bool mail_ascii(const char *s);

/* ---- the stored form of a message (mail_record.c) ---- */

struct mail_att {
	char *filename;
	char *content_type;
	uint8_t *data;
	size_t len;
};

struct mail_record {
	char *id;	    /* Message-ID without the angle brackets */
	int64_t created_ms; /* Unix ms of submit */
	char *origin;	    /* "notify", "admin", ... */
	char *env_from;	    /* envelope sender (addr-spec) */
	char **rcpt;	    /* envelope recipients still to deliver */
	size_t n_rcpt;
	char *from; /* header values, UTF-8 */
	char *from_name;
	char *reply_to;
	char *to;
	char *subject;
	char *text;
	char *html;
	struct mail_att *att;
	size_t n_att;
	char *last_error; /* the last temporary failure, kept across restarts */
	uint32_t attempts;
};

void mail_record_free(struct mail_record *r);
/* The file form: "UCSMAIL 1\n" then fields "NAME LEN\n" + LEN bytes + "\n". */
int mail_record_serialize(const struct mail_record *r, struct mail_buf *out);
/* -EBADMSG with a reason for anything but a well-formed record. */
int mail_record_parse(const char *data, size_t len, struct mail_record *r, char *err,
		      size_t errcap);

/* ---- MIME (mail_mime.c) ---- */

enum {
	MAIL_MIME_8BIT = 1u << 0,	  /* server offers 8BITMIME: 8bit text parts */
	MAIL_MIME_UTF8_HEADERS = 1u << 1, /* SMTPUTF8 in use: raw UTF-8 in headers */
};

/* The whole message (headers and body, CRLF lines, not dot-stuffed). */
int mail_mime_render(const struct mail_record *r, unsigned flags, struct mail_buf *out);
/* RFC 2047 encoded word(s) of a UTF-8 value (or the value itself when it is
 * plain ASCII and needs none), for a header named `name` (folding). */
int mail_mime_header(struct mail_buf *out, const char *name, const char *value, unsigned flags);
/* Appends data dot-stuffed for DATA, then the ".\r\n" terminator. */
int mail_dot_stuff(struct mail_buf *out, const char *data, size_t len);
int mail_base64(struct mail_buf *out, const uint8_t *data, size_t len, size_t line);
/* RFC 5322 date of a Unix ms time, local zone. */
void mail_date(int64_t ms, char *buf, size_t cap);

/* ---- SMTP replies (smtp_reply.c) ---- */

#define SMTP_LINE_MAX  1000 /* RFC 5321 says 512 with CRLF; servers exceed it */
#define SMTP_LINES_MAX 100
#define SMTP_TEXT_MAX  4096

struct smtp_reply {
	int code;		  /* 200..599 */
	size_t n_lines;		  /* lines of the reply */
	char text[SMTP_TEXT_MAX]; /* the lines' texts, joined by '\n' (printable ASCII) */
};

struct smtp_parser {
	char line[SMTP_LINE_MAX + 1];
	size_t line_len;
	bool line_long;
	struct smtp_reply cur;
	size_t text_len;
};

void smtp_parser_init(struct smtp_parser *p);
/* Feeds received bytes. Returns 1 when a reply completed (*used bytes were
 * consumed, the reply is in *out; call again with the rest), 0 when all
 * bytes were consumed and more are needed, -EPROTO for a malformed line,
 * -EMSGSIZE for a line or reply over the limits (err says which). */
int smtp_parse(struct smtp_parser *p, const uint8_t *data, size_t len, size_t *used,
	       struct smtp_reply *out, char *err, size_t errcap);

struct smtp_caps {
	bool esmtp, starttls, smtputf8, eightbit, pipelining;
	bool auth_plain, auth_login;
	uint64_t size; /* 0: none announced */
};
/* The extensions an EHLO reply announces. */
void smtp_caps_parse(const struct smtp_reply *r, struct smtp_caps *caps);
/* A reply as one line for logs and status: "550 5.1.1 no such user" (the
 * lines joined by " / "). */
void smtp_reply_line(const struct smtp_reply *r, char *buf, size_t cap);

/* ---- administrator error mails (mail_admin.c) ---- */

#define MAIL_ADMIN_LINES 50   /* event lines quoted in one mail */
#define MAIL_ADMIN_RING	 1000 /* >= the largest max_per_hour */

struct mail_admin {
	uint32_t max_per_hour;
	struct mail_buf text; /* the batch's lines */
	uint32_t pending;     /* errors in the batch */
	uint32_t more;	      /* of them, not quoted */
	uint64_t dropped;     /* errors not mailed since the last mail */
	uint64_t dropped_total, sent;
	int64_t sent_at[MAIL_ADMIN_RING]; /* wall ms of the mails sent (ring) */
	uint32_t ring_pos;
};

/* One error event into the batch. */
int mail_admin_add(struct mail_admin *a, int64_t time_ms, const char *tag, const char *text);
/* The batch is due. Returns the number of errors the mail carries (> 0)
 * with subject and body filled, or 0: nothing pending, or the hourly limit
 * dropped the batch (counted; the next mail says how many). The caller
 * reports with mail_admin_done whether the mail was queued. */
uint32_t mail_admin_take(struct mail_admin *a, int64_t now_ms, const char *server_name,
			 struct mail_buf *subject, struct mail_buf *body);
void mail_admin_done(struct mail_admin *a, int64_t now_ms, uint32_t n, bool queued);
void mail_admin_free(struct mail_admin *a);

/* ---- TLS over the connection (mail_tls.c) ---- */

struct mail_tls_conf; /* verification settings and the CA chain */
struct mail_tls;      /* one client session */

/* verify: check the chain against ca_file (NULL or "": the system bundle)
 * and the host name. -EINVAL with a reason when the CA file fails to load. */
int mail_tls_conf_new(struct mail_tls_conf **out, bool verify, const char *ca_file, char *err,
		      size_t errcap);
void mail_tls_conf_free(struct mail_tls_conf *conf);
/* host: the name (or address) the certificate must carry. */
int mail_tls_new(struct mail_tls **out, struct mail_tls_conf *conf, const char *host);
void mail_tls_free(struct mail_tls *tls);
/* Ciphertext from the peer. */
int mail_tls_feed(struct mail_tls *tls, const uint8_t *data, size_t len);
/* 0 when the handshake is complete, -EAGAIN while it needs more input,
 * -EACCES (certificate) or -EPROTO otherwise; mail_tls_why says why. */
int mail_tls_handshake(struct mail_tls *tls);
/* Plaintext received: bytes (> 0), -EAGAIN for none yet, 0 when the peer
 * closed the TLS session, or a negative errno. */
int mail_tls_read(struct mail_tls *tls, uint8_t *buf, size_t cap);
int mail_tls_write(struct mail_tls *tls, const void *data, size_t len);
/* Ciphertext to send; the caller sends and then clears it. */
const uint8_t *mail_tls_out(struct mail_tls *tls, size_t *len);
void mail_tls_out_clear(struct mail_tls *tls);
const char *mail_tls_why(const struct mail_tls *tls);

/* ---- the outbox directory (mail_outbox.c) ---- */

/* Creates DIR, DIR/failed and DIR/tmp (0700) and empties DIR/tmp (the
 * writes a crash interrupted; *tmp_removed says how many). */
int mail_outbox_prepare(const char *dir, size_t *tmp_removed);
/* Writes data to DIR/SUB/NAME (SUB "" or "failed"): DIR/tmp/NAME, then a
 * rename, so the file appears only complete (safe against a crash or kill
 * of ucsd). No fsync: the caller queues the name on the sync thread
 * (mail_sync_add) for the durability against a power loss. */
int mail_outbox_write(const char *dir, const char *sub, const char *name, const void *data,
		      size_t len);

/* ---- the batched fsync thread (mail_sync.c) ---- */

struct mail_sync;

struct mail_sync_stats {
	uint64_t batches, files, errors;
	uint64_t max_batch; /* files in the largest batch */
	uint64_t max_ms;    /* longest time from queueing to durable */
	uint64_t last_ms;   /* the same for the last batch */
	uint64_t queued;    /* names waiting for the next batch */
	uint64_t late;	    /* batches that took longer than UCS_MAIL_SYNC_MS */
};

/* Starts the thread for the outbox DIR. */
int mail_sync_start(struct mail_sync **out, const char *dir);
/* Queues DIR/SUB/NAME and its directory for the next batch (loop thread;
 * -ESHUTDOWN after stop). */
int mail_sync_add(struct mail_sync *s, const char *sub, const char *name);
/* Queues only a directory (SUB "" or "failed"): a rename or unlink in it. */
void mail_sync_dir(struct mail_sync *s, const char *sub);
/* The last error of the thread (0: none since the last call) and what it
 * was about. */
int mail_sync_error(struct mail_sync *s, char *what, size_t cap);
void mail_sync_stats(struct mail_sync *s, struct mail_sync_stats *st);
/* Syncs what is queued and ends the thread (blocks for that batch). */
void mail_sync_stop(struct mail_sync *s);
void mail_sync_free(struct mail_sync *s);
/* The whole file (NUL-terminated for convenience). */
int mail_outbox_read(const char *dir, const char *name, struct mail_buf *out);

struct mail_scan {
	char (*names)[64]; /* "*.msg" files, sorted (oldest first) */
	size_t n;
	size_t failed;	/* files in DIR/failed */
	size_t skipped; /* other names, left alone */
	int err;
};
/* Lists DIR (blocking: run it in the thread pool). */
void mail_outbox_scan(const char *dir, struct mail_scan *out);
void mail_scan_free(struct mail_scan *s);

/* ---- SMTP sessions (smtp_session.c) ---- */

struct ucs_host;
struct ucs_plugin;

enum mail_tls_mode {
	MAIL_TLS_NONE = 0,     /* plain only */
	MAIL_TLS_STARTTLS = 1, /* upgrade when the server offers it */
	MAIL_TLS_REQUIRED = 2, /* STARTTLS or fail: never send in clear */
	MAIL_TLS_IMPLICIT = 3, /* TLS from the first byte (port 465) */
};

/* The server settings a session runs with (refcounted: a reload makes new
 * ones while sessions finish with theirs). */
struct smtp_settings {
	unsigned refs;
	char *host;
	uint16_t port;
	enum mail_tls_mode tls;
	char *user, *password; /* NULL: no AUTH */
	bool utf8;
	uint32_t timeout_ms;
	char *helo;			/* the name we greet with */
	struct mail_tls_conf *tls_conf; /* NULL when tls is NONE */
	bool tls_conf_verify;		/* the certificate is verified */
};

struct smtp_settings *smtp_settings_ref(struct smtp_settings *s);
void smtp_settings_unref(struct smtp_settings *s);

enum smtp_result {
	SMTP_OK = 0,   /* DATA accepted for the recipients whose code is 2xx */
	SMTP_TEMP = 1, /* try again later (4xx, connection lost, timeout) */
	SMTP_PERM = 2, /* 5xx: never */
};

/* One transaction. The session fills the results. */
struct smtp_job {
	const char *env_from;
	char *const *rcpt;
	size_t n_rcpt;
	struct mail_buf data; /* dot-stuffed, with the ".\r\n" terminator */
	bool smtputf8;	      /* MAIL FROM ... SMTPUTF8 */
	bool eightbit;	      /* MAIL FROM ... BODY=8BITMIME */
	/* results */
	enum smtp_result result;
	int *rcpt_code;		 /* n_rcpt codes (0: not tried) */
	char (*rcpt_reply)[160]; /* n_rcpt reply lines */
	char reply[512];	 /* the reply (or ucsd's words) that decided */
};

struct smtp_session;

struct smtp_session_ops {
	/* Connected, greeted, TLS and AUTH done: send a job or quit. */
	void (*ready)(struct smtp_session *s, void *arg);
	/* The job finished; the session is ready for the next one. */
	void (*done)(struct smtp_session *s, struct smtp_job *job, void *arg);
	/* The session ended without quit(): err < 0 and why; job is the one in
	 * flight (its result SMTP_TEMP) or NULL. The session is freed after. */
	void (*closed)(struct smtp_session *s, int err, const char *why, struct smtp_job *job,
		       void *arg);
};

int smtp_session_open(const struct ucs_host *host, struct ucs_plugin *self,
		      struct smtp_settings *settings, const struct smtp_session_ops *ops, void *arg,
		      struct smtp_session **out);
/* Only from ready() or done() (or later while idle). */
void smtp_session_send(struct smtp_session *s, struct smtp_job *job);
/* QUIT and close; no callback follows. */
void smtp_session_quit(struct smtp_session *s);
/* Close now; no callback follows. */
void smtp_session_abort(struct smtp_session *s);
const struct smtp_caps *smtp_session_caps(const struct smtp_session *s);
bool smtp_session_tls(const struct smtp_session *s);

#endif
