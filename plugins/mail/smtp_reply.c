/*
 * plugins/mail/smtp_reply.c - SMTP replies as they arrive (RFC 5321 4.2)
 * and the EHLO extensions they announce.
 *
 * A reply is one or more lines "DDD-text" ended by a line "DDD text" (or
 * just "DDD"), all with the same code. The parser is incremental - bytes
 * come in whatever pieces the connection delivers - and bounded: a line
 * longer than SMTP_LINE_MAX or a reply of more than SMTP_LINES_MAX lines or
 * SMTP_TEXT_MAX bytes of text is an error, so a hostile or broken server
 * cannot make ucsd buffer without limit. Texts keep printable ASCII only
 * (anything else becomes '?'): they end up in log lines and JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_int.h"

void smtp_parser_init(struct smtp_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static int fail(int err, char *buf, size_t cap, const char *fmt, const char *line)
{
	char shown[64];
	size_t i;

	for (i = 0; line[i] && i < sizeof(shown) - 1; i++)
		shown[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
	shown[i] = 0;
	if (buf && cap)
		snprintf(buf, cap, fmt, shown);
	return err;
}

/* One complete line (without CRLF). Returns 1 when it ended the reply. */
static int take_line(struct smtp_parser *p, char *err, size_t errcap)
{
	const char *l = p->line;
	int code;
	bool last;
	size_t i;

	if (p->line_len < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]) || l[0] < '2' || l[0] > '5' || l[1] > '5')
		return fail(-EPROTO, err, errcap, "malformed SMTP reply line \"%s\"", l);
	if (p->line_len > 3 && l[3] != ' ' && l[3] != '-')
		return fail(-EPROTO, err, errcap, "malformed SMTP reply line \"%s\"", l);
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	last = p->line_len == 3 || l[3] == ' ';
	if (p->cur.n_lines && code != p->cur.code)
		return fail(-EPROTO, err, errcap,
			    "SMTP reply line \"%s\" changes the code of a multi-line reply", l);
	if (p->cur.n_lines >= SMTP_LINES_MAX)
		return fail(-EMSGSIZE, err, errcap, "SMTP reply of too many lines (at \"%s\")", l);
	p->cur.code = code;
	if (p->cur.n_lines) {
		if (p->text_len + 1 >= sizeof(p->cur.text))
			return fail(-EMSGSIZE, err, errcap, "SMTP reply too long (at \"%s\")", l);
		p->cur.text[p->text_len++] = '\n';
	}
	for (i = 4; i < p->line_len; i++) {
		unsigned char c = (unsigned char)l[i];

		if (p->text_len + 1 >= sizeof(p->cur.text))
			return fail(-EMSGSIZE, err, errcap, "SMTP reply too long (at \"%s\")", l);
		p->cur.text[p->text_len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	p->cur.text[p->text_len] = 0;
	p->cur.n_lines++;
	return last ? 1 : 0;
}

int smtp_parse(struct smtp_parser *p, const uint8_t *data, size_t len, size_t *used,
	       struct smtp_reply *out, char *err, size_t errcap)
{
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		char c = (char)data[i];

		if (c != '\n') {
			if (p->line_len >= SMTP_LINE_MAX) {
				p->line[p->line_len] = 0;
				*used = i;
				return fail(-EMSGSIZE, err, errcap,
					    "SMTP reply line longer than 1000 bytes (\"%s...\")",
					    p->line);
			}
			if (c == 0) {
				*used = i;
				p->line[p->line_len] = 0;
				return fail(-EPROTO, err, errcap,
					    "NUL byte in SMTP reply line \"%s\"", p->line);
			}
			p->line[p->line_len++] = c;
			continue;
		}
		if (p->line_len && p->line[p->line_len - 1] == '\r')
			p->line_len--;
		p->line[p->line_len] = 0;
		r = take_line(p, err, errcap);
		p->line_len = 0;
		if (r < 0) {
			*used = i + 1;
			return r;
		}
		if (r == 1) {
			*out = p->cur;
			memset(&p->cur, 0, sizeof(p->cur));
			p->text_len = 0;
			*used = i + 1;
			return 1;
		}
	}
	*used = len;
	return 0;
}

/* The keyword of an EHLO line and its parameters. */
static bool keyword(const char *line, size_t n, const char *kw, const char **params)
{
	size_t k = strlen(kw);

	if (n < k || strncasecmp(line, kw, k) != 0)
		return false;
	if (n > k && line[k] != ' ' && line[k] != '=')
		return false;
	*params = line + k + (n > k ? 1 : 0);
	return true;
}

static bool has_word(const char *params, size_t n, const char *w)
{
	size_t k = strlen(w), i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && params[j] != ' ')
			j++;
		if (j - i == k && strncasecmp(params + i, w, k) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

void smtp_caps_parse(const struct smtp_reply *r, struct smtp_caps *caps)
{
	const char *line = r->text, *params;

	memset(caps, 0, sizeof(*caps));
	caps->esmtp = true;
	/* the first line is the greeting ("host says hello"), not a keyword */
	line = strchr(line, '\n');
	while (line) {
		const char *end;
		size_t n;

		line++;
		end = strchr(line, '\n');
		n = end ? (size_t)(end - line) : strlen(line);
		if (keyword(line, n, "STARTTLS", &params))
			caps->starttls = true;
		else if (keyword(line, n, "SMTPUTF8", &params))
			caps->smtputf8 = true;
		else if (keyword(line, n, "8BITMIME", &params))
			caps->eightbit = true;
		else if (keyword(line, n, "PIPELINING", &params))
			caps->pipelining = true;
		else if (keyword(line, n, "SIZE", &params))
			caps->size = strtoull(params, NULL, 10);
		else if (keyword(line, n, "AUTH", &params)) {
			size_t pn = n - (size_t)(params - line);

			if (has_word(params, pn, "PLAIN"))
				caps->auth_plain = true;
			if (has_word(params, pn, "LOGIN"))
				caps->auth_login = true;
		}
		line = end;
	}
}

void smtp_reply_line(const struct smtp_reply *r, char *buf, size_t cap)
{
	size_t o;

	if (!cap)
		return;
	o = (size_t)snprintf(buf, cap, "%d", r->code);
	for (const char *t = r->text; *t && o + 1 < cap; t++) {
		if (t == r->text && o + 1 < cap)
			buf[o++] = ' ';
		if (*t == '\n') {
			if (o + 3 >= cap)
				break;
			memcpy(buf + o, " / ", 3);
			o += 3;
		} else {
			buf[o++] = *t;
		}
	}
	if (o >= cap)
		o = cap - 1;
	buf[o] = 0;
}
