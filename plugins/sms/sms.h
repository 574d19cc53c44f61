/*
 * plugins/sms/sms.h - the pure halves of the sms plugin: the provider
 * model read from smsprovider.xml, the expansion of a provider's templates
 * into one HTTP request, and the HTTP/1.1 response parser.
 *
 * An SMS provider is, to ucsd, nothing but an HTTP gateway: a URL (and for
 * POST a body) with placeholders for the account, the sender, the recipient
 * and the text, and a pattern that tells from the gateway's answer whether
 * it took the message. Everything provider-specific therefore lives in data
 * (smsprovider.xml, docs/plugins/sms.md) and this code only has to be right
 * about three things: that a placeholder's value is encoded for where it
 * lands (a URL component, a form body, JSON, XML, a header), so no text a
 * user types can change the shape of the request; that a broken provider
 * file is refused with file:line instead of half-loaded; and that whatever
 * a gateway answers - garbage, a flood, a truncated chunk - ends in a clear
 * result within fixed limits.
 *
 * None of this touches the loop, the host or the network: the plugin
 * (plugin.c, sms_job.c) drives it, and the unit tests and fuzz targets call
 * it directly.
 */
#ifndef SMS_H
#define SMS_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Limits of the provider file and of what one request may become. */
#define SMS_FILE_MAX	  (1024 * 1024) /* smsprovider.xml */
#define SMS_PROVIDERS_MAX 256
#define SMS_TEMPLATE_MAX  8192 /* one url/body/header template */
#define SMS_HEADERS_MAX	  16   /* extra request headers per provider */
#define SMS_GATEWAYS_MAX  32
#define SMS_REQUEST_MAX	  (64 * 1024) /* the whole expanded request */

/* How a placeholder's value is encoded where it lands. */
enum sms_enc {
	SMS_ENC_NONE = 0,   /* as is (text/plain bodies) */
	SMS_ENC_URL = 1,    /* RFC 3986 percent-encoding of all but unreserved */
	SMS_ENC_FORM = 2,   /* application/x-www-form-urlencoded: space as '+' */
	SMS_ENC_JSON = 3,   /* the inside of a JSON string */
	SMS_ENC_XML = 4,    /* XML character data / attribute value */
	SMS_ENC_HEADER = 5, /* a header value: as is, but no control characters */
};

/* The form a phone number is sent in (recipient and sender). */
enum sms_numfmt {
	SMS_NUM_PLUS = 0,   /* +491701234567 */
	SMS_NUM_00 = 1,	    /* 00491701234567 */
	SMS_NUM_DIGITS = 2, /* 491701234567 */
};

struct sms_header {
	char *name;
	char *value; /* template, SMS_ENC_HEADER */
};

struct sms_gateway {
	char *value;
	char *description;
};

/* HTTP status codes that count as accepted: ranges lo..hi. */
#define SMS_STATUS_RANGES 8
struct sms_status_range {
	int lo, hi;
};

struct sms_provider {
	char *name;
	char *description;
	int post; /* 0: GET, 1: POST */
	char *url;
	char *body;	    /* POST only; NULL: empty */
	char *content_type; /* POST only */
	enum sms_enc body_enc;
	int basic_auth; /* Authorization: Basic base64(%USER%:%PASSWORD%) */
	struct sms_header headers[SMS_HEADERS_MAX];
	size_t n_headers;
	struct sms_gateway gateways[SMS_GATEWAYS_MAX];
	size_t n_gateways;
	struct sms_status_range status[SMS_STATUS_RANGES];
	size_t n_status;
	char *success_text; /* the pattern as written */
	pcre2_code *success;
	enum sms_numfmt recipient_fmt;
	enum sms_numfmt sender_fmt;
	int line; /* of <provider> in the file */
};

struct sms_providers {
	char *file;
	struct sms_provider *v;
	size_t n;
};

/* Called once per problem found while loading (file, line may be 0). */
typedef void(sms_report_h)(void *arg, const char *file, int line, const char *msg);

/* Parses a provider file held in memory; file names it in reports. On
 * any problem every problem is reported, nothing is kept and -EINVAL
 * comes back (-ENOMEM when memory ran out). */
int sms_providers_parse(struct sms_providers *out, const char *file, const char *buf, size_t len,
			sms_report_h *report, void *arg);
/* The same from a file (-ENOENT, -EIO, ... reported as well). */
int sms_providers_load(struct sms_providers *out, const char *path, sms_report_h *report,
		       void *arg);
void sms_providers_free(struct sms_providers *p);
const struct sms_provider *sms_provider_find(const struct sms_providers *p, const char *name);
/* "a, b, c" (snprintf rules) for error messages. */
int sms_provider_names(const struct sms_providers *p, char *buf, size_t cap);

/* 1 when the answer (status, body) means the gateway took the message,
 * 0 when not; -ENOMEM. The pattern is matched against the whole body. */
int sms_provider_accepts(const struct sms_provider *p, int status, const char *body, size_t len);

/* ---- growing buffers ---- */

struct sms_buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len, cap;
	size_t max; /* 0: SMS_REQUEST_MAX */
};

int sms_buf_add(struct sms_buf *b, const void *data, size_t len);
int sms_buf_str(struct sms_buf *b, const char *s);
void sms_buf_free(struct sms_buf *b);

/* ---- templates ---- */

struct sms_values {
	const char *user;
	const char *password;
	const char *sender;
	const char *recipient;
	const char *text;
	const char *gateway;
};

/* Appends s encoded per enc; -EINVAL for a control character in a header
 * value, -E2BIG past the buffer's max. */
int sms_encode(struct sms_buf *out, const char *s, size_t len, enum sms_enc enc);
/* Appends tmpl with every %NAME% replaced by its value encoded per enc
 * (%% is one %). Placeholders: USER PASSWORD SENDER RECIPIENT TEXT
 * GATEWAY. */
int sms_expand(struct sms_buf *out, const char *tmpl, enum sms_enc enc, const struct sms_values *v);
/* 0 when every placeholder of tmpl is known; -EINVAL with the first
 * unknown one (%NAME%) in bad. A %XY% of two hex digits is taken as a
 * literal percent-encoded octet followed by '%'. */
int sms_template_check(const char *tmpl, char *bad, size_t cap);
/* enc for a content type: form, json, xml, else none. */
enum sms_enc sms_enc_for_type(const char *content_type);
/* Appends the base64 (RFC 4648, padded) of s. */
int sms_base64(struct sms_buf *out, const char *s, size_t len);
/* A canonical "+491701234567" in the provider's form. */
int sms_number_format(const char *canonical, enum sms_numfmt fmt, char *out, size_t cap);

/* ---- URL and request ---- */

struct sms_url {
	int tls;
	char host[256];
	uint16_t port;
	char *target; /* path and query, at least "/" */
	int ipv6;     /* host is a numeric IPv6 address (written in [] in Host:) */
};

/* http:// and https:// URLs only, no user info, no fragment kept. */
int sms_url_parse(const char *url, struct sms_url *out, char *why, size_t cap);
void sms_url_free(struct sms_url *u);

struct sms_request {
	struct sms_url url;
	struct sms_buf bytes; /* the request as sent */
	char *shown;	      /* scheme://host:port/path (no query) for logs */
};

/* Expands p's templates with v into one HTTP/1.1 request
 * ("Connection: close"). -EINVAL with why when the expanded URL is not
 * usable or a header would carry a control character. */
int sms_request_build(struct sms_request *out, const struct sms_provider *p,
		      const struct sms_values *v, const char *user_agent, char *why, size_t cap);
void sms_request_free(struct sms_request *r);

/* ---- the HTTP/1.1 response parser ---- */

#define SMS_HTTP_HEADER_MAX (16 * 1024)
#define SMS_HTTP_BODY_MAX   (64 * 1024)
#define SMS_HTTP_FIELDS_MAX 100

enum sms_http_state {
	SMS_HTTP_STATUS = 0,
	SMS_HTTP_HEADERS,
	SMS_HTTP_BODY_LENGTH,
	SMS_HTTP_BODY_CLOSE, /* until the peer closes */
	SMS_HTTP_CHUNK_SIZE,
	SMS_HTTP_CHUNK_DATA,
	SMS_HTTP_CHUNK_CRLF,
	SMS_HTTP_TRAILERS,
	SMS_HTTP_DONE,
	SMS_HTTP_ERROR,
};

struct sms_http_resp {
	enum sms_http_state state;
	int status;
	char reason[128];	      /* "" when the phrase did not fit (reason_cut) */
	char location[512];	      /* "" when it did not fit (location_cut) */
	int reason_cut, location_cut; /* a cut one could end inside a secret */
	int chunked;
	int64_t content_length; /* -1: not given */
	uint64_t left;		/* of the body or of the current chunk */
	size_t header_bytes;	/* of the current response head */
	int fields;
	struct sms_buf line; /* the line being read */
	struct sms_buf body;
	char error[160];
};

void sms_http_init(struct sms_http_resp *r);
/* Feeds bytes as they arrive: 1 when the response is complete (later
 * bytes are ignored), 0 when more are needed, -EPROTO (malformed) or
 * -EMSGSIZE (over a limit) with r->error. */
int sms_http_feed(struct sms_http_resp *r, const uint8_t *data, size_t len);
/* The peer closed: 1 when that completes the response (a body that runs
 * until close), else -EPROTO ("closed before ..."). */
int sms_http_eof(struct sms_http_resp *r);
void sms_http_free(struct sms_http_resp *r);

/* Copies text for a log line, a reply or the status: valid UTF-8 (each
 * invalid byte as U+FFFD, so the JSON of replies and status stays valid),
 * control characters as spaces, runs of white space as one, trimmed, cut
 * to at most cap-1 bytes (never inside a character), and every occurrence
 * of secret - raw, URL-, form-, JSON- or XML-encoded, and with user not
 * NULL also base64(user:secret), the Basic authentication - as "***",
 * before anything is cut. */
void sms_clean_text(char *out, size_t cap, const char *text, size_t len, const char *secret,
		    const char *user);

#endif
