/*
 * ucs/mail.h - the "ucs.mail" service: sending e-mail.
 *
 * One plugin (mail) submits messages to the operator's SMTP server: the
 * administrator's error mails, missed-call notifications, voicemail later.
 * A sender hands over a message and forgets it. submit() builds the MIME
 * message (headers with encoded words, multipart/alternative for text and
 * HTML, multipart/mixed for attachments) and writes it to the outbox under
 * the state directory before it returns 0 (a complete file under its final
 * name: a crash or kill of ucsd from then on loses nothing). The fsync that
 * protects it against a power loss is batched on a thread and done within
 * UCS_MAIL_SYNC_MS, so submit() never waits for the disk on the loop: a
 * power loss can lose at most the messages of that window. From then on
 * the message is the mail plugin's and is never lost. It is delivered in the
 * background, retried with backoff on temporary failures (the server is
 * down, slow, or answers 4xx) across restarts, and dropped only on a
 * permanent failure (5xx), which is logged with the server's reply and
 * counted in status.
 *
 * Addresses: "to" holds one or more addresses separated by ';' (the
 * manual's form), each "user@domain" or "Name <user@domain>". from NULL
 * or "" means the configured sender.
 *
 * test() sends one message now, outside the outbox, and reports the
 * outcome with the server's last reply: the manual's "Validate". Like
 * every callback here, done runs on the loop thread; after cancel it is
 * never called.
 *
 * Errors: -EINVAL (no or an invalid recipient, an empty message; nothing
 * accepted), -ENOTCONN (no SMTP server is configured), -ENOSPC / -EIO (the
 * outbox could not store it; nothing accepted), -EMSGSIZE (larger than the
 * configured maximum).
 */
#ifndef UCS_MAIL_H
#define UCS_MAIL_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_MAIL_SERVICE "ucs.mail"
#define UCS_MAIL_VERSION 1

/* Accepted messages are on stable storage at the latest this long after
 * submit() returned. */
#define UCS_MAIL_SYNC_MS 100

struct ucs_mail_attachment {
	uint32_t size;
	uint32_t reserved;
	const char *filename;	  /* UTF-8; encoded as RFC 2231 when needed */
	const char *content_type; /* "text/vcard", "audio/wav" */
	const void *data;
	size_t len;
};

struct ucs_mail {
	uint32_t size;
	uint32_t reserved;
	const char *from;      /* NULL or "": the configured sender */
	const char *from_name; /* display name of the sender, NULL for none */
	const char *reply_to;  /* NULL for none */
	const char *to;	       /* "a@x; B <b@y>" */
	const char *subject;   /* UTF-8 */
	const char *text;      /* text/plain body, UTF-8, or NULL */
	const char *html;      /* text/html body, UTF-8, or NULL */
	const struct ucs_mail_attachment *attachments;
	size_t n_attachments;
	const char *origin; /* who sends it, for the log and status: "notify" */
};

struct ucs_mail_op;

/* status 0 or a negative errno; reply the server's last reply line(s) or
 * ucsd's words ("connection refused", "STARTTLS not offered"). */
typedef void(ucs_mail_done_h)(int status, const char *reply, void *arg);

struct ucs_mail_api {
	uint32_t size;
	/* Into the outbox; id (may be NULL) gets the message id "<...@host>". */
	int (*submit)(const struct ucs_mail *m, char *id, size_t idcap);
	/* A test message to `to` ("" or NULL: the admin addresses), now. */
	int (*test)(const char *to, ucs_mail_done_h *done, void *arg, struct ucs_mail_op **op);
	void (*cancel)(struct ucs_mail_op *op);
	/* The configured administrator addresses ("" when none). */
	const char *(*admin_to)(void);
	/* Outbox and delivery counters as a JSON object (snprintf rules). */
	int (*status)(char *buf, size_t cap);
};

#ifdef __cplusplus
}
#endif

#endif
