/*
 * plugins/mail/mail_mime.c - a record rendered as an Internet message
 * (RFC 5322 with MIME, RFC 2045-2047, 2231).
 *
 * Structure: a text and/or an HTML body (both: multipart/alternative, the
 * text first as RFC 2046 wants the plainest first) and, with attachments,
 * multipart/mixed around it with one base64 part per attachment.
 *
 * Encoding follows what the server takes (flags, chosen per session):
 *  - a body part that is ASCII with lines of at most 998 bytes goes 7bit;
 *  - UTF-8 text goes 8bit when the server offers 8BITMIME (and `utf8` is
 *    on), otherwise quoted-printable (the documented fallback);
 *  - header values with non-ASCII characters become RFC 2047 encoded words
 *    (=?UTF-8?B?...?=), unless SMTPUTF8 is in use, where UTF-8 goes raw;
 *  - attachment file names with non-ASCII, quotes or over 60 characters go
 *    as RFC 2231 name*= / filename*= parameters, split into continuations
 *    (name*0*=, name*1*=, ...) so that no header line grows past 78.
 * Header values never carry CR, LF or other controls (they become spaces):
 * nothing a sender passes can add a header. Bodies get CRLF line ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail_int.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int mail_base64(struct mail_buf *out, const uint8_t *d, size_t len, size_t line)
{
	size_t col = 0;
	int err = 0;

	for (size_t i = 0; i < len && !err; i += 3) {
		char q[4];
		uint32_t v = (uint32_t)d[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		err = mail_buf_add(out, q, 4);
		col += 4;
		if (line && col >= line && i + 3 < len) {
			err = err ?: mail_buf_add(out, "\r\n", 2);
			col = 0;
		}
	}
	if (line && !err)
		err = mail_buf_add(out, "\r\n", 2);
	return err;
}

void mail_date(int64_t ms, char *buf, size_t cap)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, cap, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* Length of the UTF-8 sequence starting at s (1 for a stray byte). */
static size_t u8len(const unsigned char *s, size_t left)
{
	size_t n = *s < 0x80	     ? 1
		   : (*s >> 5) == 6  ? 2
		   : (*s >> 4) == 14 ? 3
		   : (*s >> 3) == 30 ? 4
				     : 1;

	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* The value with controls replaced by spaces. */
static char *clean(const char *v)
{
	char *s = strdup(v ? v : "");

	if (s)
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	return s;
}

/* Encoded words for s, folded: each word at most 75 characters. */
static int encoded_words(struct mail_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	bool first = true;
	int err = 0;

	size_t col = out->len;

	for (size_t i = out->len; i >= 2; i--)
		if (out->data[i - 2] == '\r' && out->data[i - 1] == '\n') {
			col = out->len - i;
			break;
		}
	while (left && !err) {
		size_t n = 0, max = 45;

		/* 45 bytes make 60 base64 characters: 72 with the delimiters and
		 * the folding space; the first word fits in what its line has
		 * left of 76 (RFC 2047 2), at least 3 bytes */
		if (first)
			max = col + 12 + 4 < 76 ? (76 - col - 12) / 4 * 3 : 3;
		if (max > 45)
			max = 45;
		while (n < left) {
			size_t k = u8len(p + n, left - n);

			if (n + k > max && n)
				break;
			n += k;
			if (n >= max)
				break;
		}
		err = mail_buf_str(out, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
		err = err ?: mail_base64(out, p, n, 0);
		err = err ?: mail_buf_str(out, "?=");
		p += n;
		left -= n;
		first = false;
	}
	return err;
}

/* A header "Name: value" with the value as is (ASCII or raw UTF-8) when it
 * fits, else as encoded words. */
int mail_mime_header(struct mail_buf *out, const char *name, const char *value, unsigned flags)
{
	char *v = clean(value);
	int err;

	if (!v)
		return -ENOMEM;
	err = mail_buf_printf(out, "%s: ", name);
	if (!err) {
		if ((mail_ascii(v) || (flags & MAIL_MIME_UTF8_HEADERS)) &&
		    strlen(v) + strlen(name) < 900 && !strstr(v, "=?"))
			err = mail_buf_str(out, v);
		else
			err = encoded_words(out, v);
	}
	err = err ?: mail_buf_str(out, "\r\n");
	free(v);
	return err;
}

/* A display name as a phrase: an atom run, a quoted string or encoded words. */
static int phrase(struct mail_buf *out, const char *name, unsigned flags)
{
	char *v = clean(name);
	bool plain = true;
	int err = 0;

	if (!v)
		return -ENOMEM;
	if ((!mail_ascii(v) && !(flags & MAIL_MIME_UTF8_HEADERS)) || strstr(v, "=?") ||
	    strlen(v) > 200) {
		err = encoded_words(out, v);
		free(v);
		return err;
	}
	for (const char *p = v; *p; p++)
		if (strchr("()<>[]:;@\\,.\"", *p))
			plain = false;
	if (plain) {
		err = mail_buf_str(out, v);
	} else {
		err = mail_buf_add(out, "\"", 1);
		for (const char *p = v; *p && !err; p++) {
			if (*p == '"' || *p == '\\')
				err = mail_buf_add(out, "\\", 1);
			err = err ?: mail_buf_add(out, p, 1);
		}
		err = err ?: mail_buf_add(out, "\"", 1);
	}
	free(v);
	return err;
}

static int address_header(struct mail_buf *out, const char *hname, const char *list,
			  const char *extra_name, unsigned flags)
{
	struct mail_addr *a;
	size_t n;
	char why[200];
	int err = mail_addr_parse(list, &a, &n, why, sizeof(why));

	if (err)
		return err;
	err = mail_buf_printf(out, "%s: ", hname);
	for (size_t i = 0; i < n && !err; i++) {
		const char *name = extra_name && n == 1 ? extra_name : a[i].name;

		if (i)
			err = mail_buf_str(out, ",\r\n ");
		if (name && *name) {
			err = err ?: phrase(out, name, flags);
			err = err ?: mail_buf_printf(out, " <%s>", a[i].addr);
		} else {
			err = err ?: mail_buf_str(out, a[i].addr);
		}
	}
	err = err ?: mail_buf_str(out, "\r\n");
	mail_addr_free(a, n);
	return err;
}

/* ---- body parts ---- */

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP };

static enum cte choose_cte(const char *s, unsigned flags)
{
	size_t col = 0;
	bool ascii = true, valid = true;
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	if (strstr(s, "=_"))
		return CTE_QP; /* could collide with a boundary */
	while (left) {
		size_t k = u8len(p, left);

		if (*p == '\n' || *p == '\r') {
			col = 0;
		} else {
			col += k;
			if (col > 990)
				return CTE_QP;
		}
		if (*p >= 0x80) {
			ascii = false;
			if (k == 1)
				valid = false;
		}
		p += k;
		left -= k;
	}
	if (ascii)
		return CTE_7BIT;
	return (flags & MAIL_MIME_8BIT) && valid ? CTE_8BIT : CTE_QP;
}

/* Appends s with every line end (LF, CR, CRLF) as CRLF and a final CRLF. */
static int crlf_text(struct mail_buf *out, const char *s)
{
	int err = 0;
	const char *start = s;

	for (; *s && !err; s++) {
		if (*s != '\r' && *s != '\n')
			continue;
		err = mail_buf_add(out, start, (size_t)(s - start));
		err = err ?: mail_buf_add(out, "\r\n", 2);
		if (*s == '\r' && s[1] == '\n')
			s++;
		start = s + 1;
	}
	err = err ?: mail_buf_add(out, start, (size_t)(s - start));
	if (!err && (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0))
		err = mail_buf_add(out, "\r\n", 2);
	return err;
}

static int qp_text(struct mail_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int err = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && !err; p++) {
		char enc[3];
		size_t n;
		bool eol;

		if (*p == '\r' || *p == '\n') {
			err = mail_buf_add(out, "\r\n", 2);
			if (*p == '\r' && p[1] == '\n')
				p++;
			col = 0;
			continue;
		}
		eol = !p[1] || p[1] == '\r' || p[1] == '\n';
		if ((*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !eol)) {
			enc[0] = (char)*p;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		if (col + n > 75) {
			err = mail_buf_add(out, "=\r\n", 3);
			col = 0;
		}
		err = err ?: mail_buf_add(out, enc, n);
		col += n;
	}
	if (!err && (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0))
		err = mail_buf_add(out, "\r\n", 2);
	return err;
}

static int text_part(struct mail_buf *out, const char *subtype, const char *s, unsigned flags)
{
	enum cte cte = choose_cte(s, flags);
	static const char *const names[] = {"7bit", "8bit", "quoted-printable"};
	int err = mail_buf_printf(out,
				  "Content-Type: text/%s; charset=utf-8\r\n"
				  "Content-Transfer-Encoding: %s\r\n\r\n",
				  subtype, names[cte]);

	if (err)
		return err;
	return cte == CTE_QP ? qp_text(out, s) : crlf_text(out, s);
}

static bool ct_ok(const char *ct)
{
	const char *slash = ct ? strchr(ct, '/') : NULL;
	const char *p;

	if (!slash || slash == ct || !slash[1] || slash[1] == ';' || strlen(ct) > 200)
		return false;
	/* type/subtype: tokens */
	for (p = ct; *p && *p != ';'; p++)
		if (p != slash && (*p <= 0x20 || *p >= 0x7f || strchr("()<>@,:\\\"[]?=/", *p)))
			return false;
	/* parameters ("; charset=utf-8"): printable ASCII, on the same line */
	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* An RFC 2231 parameter: PNAME*=UTF-8''percent-encoded, or, when that
 * would make a long line, continuations PNAME*0*=UTF-8''...;CRLF PNAME*1*=...
 * of at most SEG encoded characters each (a %XX is never split). */
#define SEG 56
static int rfc2231(struct mail_buf *out, const char *pname, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct mail_buf enc = {0};
	int err = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && !err; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p)) {
			err = mail_buf_add(&enc, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			err = mail_buf_add(&enc, e, 3);
		}
	}
	if (!err && !enc.data)
		err = mail_buf_add(&enc, "", 0);
	if (!err && enc.len <= SEG) {
		err = mail_buf_printf(out, "%s*=UTF-8''%s", pname, enc.data);
	} else if (!err) {
		size_t at = 0;

		for (unsigned i = 0; at < enc.len && !err; i++) {
			size_t n = enc.len - at < SEG ? enc.len - at : SEG;

			/* do not cut a %XX: end before its '%' */
			if (at + n < enc.len) {
				if (enc.data[at + n - 1] == '%')
					n -= 1;
				else if (n >= 2 && enc.data[at + n - 2] == '%')
					n -= 2;
			}
			err = mail_buf_printf(out, "%s%s*%u*=%s%.*s", i ? ";\r\n " : "", pname, i,
					      i ? "" : "UTF-8''", (int)n, enc.data + at);
			at += n;
		}
	}
	mail_buf_free(&enc);
	return err;
}

static int attachment_part(struct mail_buf *out, const struct mail_att *a)
{
	const char *ct = ct_ok(a->content_type) ? a->content_type : "application/octet-stream";
	char *fn = clean(a->filename && *a->filename ? a->filename : "attachment");
	bool simple = true;
	int err;

	if (!fn)
		return -ENOMEM;
	for (const char *p = fn; *p; p++)
		if ((unsigned char)*p >= 0x80 || *p == '"' || *p == '\\')
			simple = false;
	if (strlen(fn) > 60)
		simple = false;
	err = mail_buf_printf(out, "Content-Type: %s", ct);
	if (simple) {
		err = err
			      ?: mail_buf_printf(
					 out,
					 "; name=\"%s\"\r\n"
					 "Content-Disposition: attachment; filename=\"%s\"\r\n",
					 fn, fn);
	} else {
		err = err ?: mail_buf_str(out, ";\r\n ");
		err = err ?: rfc2231(out, "name", fn);
		err = err ?: mail_buf_str(out, "\r\nContent-Disposition: attachment;\r\n ");
		err = err ?: rfc2231(out, "filename", fn);
		err = err ?: mail_buf_str(out, "\r\n");
	}
	err = err ?: mail_buf_str(out, "Content-Transfer-Encoding: base64\r\n\r\n");
	err = err ?: mail_base64(out, a->data, a->len, 76);
	free(fn);
	return err;
}

/* The body (Content-Type onwards) of text/html alternatives. */
static int body_part(struct mail_buf *out, const struct mail_record *r, const char *boundary,
		     unsigned flags)
{
	int err;

	if (r->text && r->html) {
		err = mail_buf_printf(out,
				      "Content-Type: multipart/alternative;\r\n"
				      " boundary=\"%s-a\"\r\n\r\n"
				      "--%s-a\r\n",
				      boundary, boundary);
		err = err ?: text_part(out, "plain", r->text, flags);
		err = err ?: mail_buf_printf(out, "\r\n--%s-a\r\n", boundary);
		err = err ?: text_part(out, "html", r->html, flags);
		err = err ?: mail_buf_printf(out, "\r\n--%s-a--\r\n", boundary);
		return err;
	}
	if (r->html)
		return text_part(out, "html", r->html, flags);
	return text_part(out, "plain", r->text ? r->text : "", flags);
}

int mail_mime_render(const struct mail_record *r, unsigned flags, struct mail_buf *out)
{
	char date[64], boundary[96];
	unsigned long h = 5381;
	int err;

	for (const char *p = r->id; p && *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(boundary, sizeof(boundary), "=_ucsd_%08lx", h & 0xffffffffUL);
	mail_date(r->created_ms, date, sizeof(date));
	err = mail_buf_printf(out, "Date: %s\r\nMessage-ID: <%s>\r\n", date, r->id);
	if (r->from && *r->from)
		err = err ?: address_header(out, "From", r->from, r->from_name, flags);
	else
		err = err ?: address_header(out, "From", r->env_from, r->from_name, flags);
	if (r->to && *r->to)
		err = err ?: address_header(out, "To", r->to, NULL, flags);
	if (r->reply_to && *r->reply_to)
		err = err ?: address_header(out, "Reply-To", r->reply_to, NULL, flags);
	err = err ?: mail_mime_header(out, "Subject", r->subject ? r->subject : "", flags);
	err = err
		      ?: mail_buf_str(out, "MIME-Version: 1.0\r\n"
					   "Auto-Submitted: auto-generated\r\n"
					   "X-Mailer: ucsd\r\n");
	if (err)
		return err;
	if (!r->n_att)
		return body_part(out, r, boundary, flags);
	err = mail_buf_printf(out,
			      "Content-Type: multipart/mixed;\r\n"
			      " boundary=\"%s-m\"\r\n\r\n"
			      "This is a multi-part message in MIME format.\r\n\r\n"
			      "--%s-m\r\n",
			      boundary, boundary);
	if (r->text || r->html || !r->n_att)
		err = err ?: body_part(out, r, boundary, flags);
	for (size_t i = 0; i < r->n_att && !err; i++) {
		if (i || r->text || r->html)
			err = mail_buf_printf(out, "\r\n--%s-m\r\n", boundary);
		err = err ?: attachment_part(out, &r->att[i]);
	}
	err = err ?: mail_buf_printf(out, "\r\n--%s-m--\r\n", boundary);
	return err;
}

int mail_dot_stuff(struct mail_buf *out, const char *d, size_t len)
{
	size_t start = 0;
	int err = 0;

	for (size_t i = 0; i < len && !err; i++) {
		if (d[i] == '.' && (i == 0 || d[i - 1] == '\n')) {
			err = mail_buf_add(out, d + start, i - start);
			err = err ?: mail_buf_add(out, ".", 1);
			start = i;
		}
	}
	err = err ?: mail_buf_add(out, d + start, len - start);
	if (!err && len && (len < 2 || d[len - 2] != '\r' || d[len - 1] != '\n'))
		err = mail_buf_add(out, "\r\n", 2);
	err = err ?: mail_buf_add(out, ".\r\n", 3);
	return err;
}
