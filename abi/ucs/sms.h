/*
 * ucs/sms.h - the "ucs.sms" service: sending text messages through an
 * SMS provider's HTTP gateway.
 *
 * The sms plugin reads the providers from smsprovider.xml (a shipped
 * default, the operator's override) and sends through the configured one
 * with HTTP GET or POST over HTTPS (mbedtls, certificates verified). The
 * sender shown to the recipient is chosen by the configuration: a fixed
 * one, the sending user's mobile number, or none. send() is asynchronous:
 * done runs on the loop thread with 0 once the provider's answer matched
 * its success pattern, or the error and the provider's words. Temporary
 * failures (no connection, HTTP 5xx) are retried a few times first. After
 * cancel, done is never called.
 *
 * A message the server sends (user "") in sender mode "mobile" goes out
 * from the configured fixed number, or without a sender when there is none.
 *
 * Errors: -EINVAL (no or an invalid recipient number, an empty or too long
 * text, a request over 64 KiB), -ENOTCONN (no provider configured), -ENOENT
 * (the sender is the user's mobile number and she has none), -EREMOTEIO (the provider refused:
 * reply carries its answer), -ETIMEDOUT, -ECONNREFUSED, -EBUSY (too many
 * messages queued), -ESHUTDOWN (the sms plugin stops: pending sends end
 * with it too).
 */
#ifndef UCS_SMS_H
#define UCS_SMS_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_SMS_SERVICE "ucs.sms"
#define UCS_SMS_VERSION 1

struct ucs_sms {
	uint32_t size;
	uint32_t reserved;
	const char *user;   /* the sending user's id ("" the server): sender and log */
	const char *to;	    /* the recipient's number as entered; normalised by ucs.dialplan */
	const char *text;   /* UTF-8 */
	const char *origin; /* "notify", "client-api", "admin-api" */
};

struct ucs_sms_op;

typedef void(ucs_sms_done_h)(int status, const char *reply, void *arg);

struct ucs_sms_api {
	uint32_t size;
	int (*send)(const struct ucs_sms *sms, ucs_sms_done_h *done, void *arg,
		    struct ucs_sms_op **op);
	void (*cancel)(struct ucs_sms_op *op);
	/* Counters and the provider in use as a JSON object (snprintf rules). */
	int (*status)(char *buf, size_t cap);
};

#ifdef __cplusplus
}
#endif

#endif
