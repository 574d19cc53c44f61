/*
 * plugins/mail/mail_record.c - a message as the outbox stores it.
 *
 * The file form is line-framed and binary-safe, so that any text and any
 * attachment round-trips exactly and a reader never guesses:
 *
 *   UCSMAIL 1\n
 *   NAME LEN\n  LEN bytes  \n      (repeated)
 *
 * NAME is [a-z_]+, LEN decimal. The fields: id, created, origin, env_from,
 * rcpt (once per envelope recipient still to deliver), from, from_name,
 * reply_to, to, subject, text, html, then att_name, att_type, att_data once
 * per attachment (in that order), last_error and attempts, and "end 0" last:
 * a record cut anywhere is refused. Unknown names are skipped (a newer ucsd
 * may add some); id, created, env_from and one rcpt are required. Text
 * fields must not contain NUL bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define MAGIC "UCSMAIL 1\n"

void mail_record_free(struct mail_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->origin);
	free(r->env_from);
	for (size_t i = 0; i < r->n_rcpt; i++)
		free(r->rcpt[i]);
	free(r->rcpt);
	free(r->from);
	free(r->from_name);
	free(r->reply_to);
	free(r->to);
	free(r->subject);
	free(r->text);
	free(r->html);
	for (size_t i = 0; i < r->n_att; i++) {
		free(r->att[i].filename);
		free(r->att[i].content_type);
		free(r->att[i].data);
	}
	free(r->att);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

static int field(struct mail_buf *b, const char *name, const void *data, size_t len)
{
	int err = mail_buf_printf(b, "%s %zu\n", name, len);

	if (!err)
		err = mail_buf_add(b, data, len);
	if (!err)
		err = mail_buf_add(b, "\n", 1);
	return err;
}

static int sfield(struct mail_buf *b, const char *name, const char *s)
{
	return s ? field(b, name, s, strlen(s)) : 0;
}

int mail_record_serialize(const struct mail_record *r, struct mail_buf *b)
{
	char num[32];
	int err = mail_buf_str(b, MAGIC);

	err = err ?: sfield(b, "id", r->id);
	snprintf(num, sizeof(num), "%" PRId64, r->created_ms);
	err = err ?: sfield(b, "created", num);
	err = err ?: sfield(b, "origin", r->origin);
	err = err ?: sfield(b, "env_from", r->env_from);
	for (size_t i = 0; i < r->n_rcpt && !err; i++)
		err = sfield(b, "rcpt", r->rcpt[i]);
	err = err ?: sfield(b, "from", r->from);
	err = err ?: sfield(b, "from_name", r->from_name);
	err = err ?: sfield(b, "reply_to", r->reply_to);
	err = err ?: sfield(b, "to", r->to);
	err = err ?: sfield(b, "subject", r->subject);
	err = err ?: sfield(b, "text", r->text);
	err = err ?: sfield(b, "html", r->html);
	for (size_t i = 0; i < r->n_att && !err; i++) {
		err = sfield(b, "att_name", r->att[i].filename ? r->att[i].filename : "");
		err = err ?: sfield(b, "att_type", r->att[i].content_type);
		err = err ?: field(b, "att_data", r->att[i].data, r->att[i].len);
	}
	err = err ?: sfield(b, "last_error", r->last_error);
	snprintf(num, sizeof(num), "%" PRIu32, r->attempts);
	err = err ?: sfield(b, "attempts", num);
	err = err ?: field(b, "end", "", 0);
	return err;
}

static char *text_dup(const char *p, size_t n)
{
	char *s;

	if (memchr(p, 0, n))
		return NULL;
	s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Sets *slot to the text (replacing a previous one). */
static int set_text(char **slot, const char *p, size_t n)
{
	char *s = text_dup(p, n);

	if (!s)
		return memchr(p, 0, n) ? -EBADMSG : -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

static int parse_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 20)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* The id and the envelope go into SMTP commands and the Message-ID header:
 * no spaces, controls or angle brackets, and no longer than max (an address
 * is at most 254 bytes, RFC 5321; an id of ours is far below 250), whatever
 * a damaged file says. */
static bool token_ok(const char *s, size_t max)
{
	if (!*s || strlen(s) > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '<' || *s == '>')
			return false;
	return true;
}

static int add_att(struct mail_record *r)
{
	struct mail_att *a = realloc(r->att, (r->n_att + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	r->att = a;
	memset(&a[r->n_att], 0, sizeof(*a));
	r->n_att++;
	return 0;
}

int mail_record_parse(const char *data, size_t len, struct mail_record *r, char *err, size_t errcap)
{
	const char *p = data, *end = data + len;
	int ret = 0;
	enum { ATT_NONE, ATT_NAME, ATT_TYPE } att = ATT_NONE;
	bool ended = false;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(MAGIC) - 1 || memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0) {
		snprintf(err, errcap, "not an outbox record (no \"UCSMAIL 1\" line)");
		return -EBADMSG;
	}
	p += sizeof(MAGIC) - 1;
	while (p < end && !ended) {
		const char *name = p, *sp, *nl, *val;
		size_t nlen;
		uint64_t vlen;

		sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp || sp == name || sp - name > 32) {
			snprintf(err, errcap, "malformed field header at byte %zu",
				 (size_t)(p - data));
			ret = -EBADMSG;
			goto out;
		}
		for (const char *q = name; q < sp; q++)
			if (!((*q >= 'a' && *q <= 'z') || *q == '_')) {
				snprintf(err, errcap, "malformed field name at byte %zu",
					 (size_t)(p - data));
				ret = -EBADMSG;
				goto out;
			}
		nlen = (size_t)(sp - name);
		nl = memchr(sp, '\n', (size_t)(end - sp));
		if (!nl || parse_num(sp + 1, (size_t)(nl - sp - 1), UINT32_MAX, &vlen) ||
		    vlen > (uint64_t)(end - nl - 1) || (size_t)(end - nl - 1) - vlen < 1 ||
		    nl[1 + vlen] != '\n') {
			snprintf(err, errcap, "field \"%.*s\" at byte %zu: bad length or framing",
				 (int)nlen, name, (size_t)(p - data));
			ret = -EBADMSG;
			goto out;
		}
		val = nl + 1;
		p = val + vlen + 1;
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
		if ((att != ATT_NONE || IS("att_type") || IS("att_data")) &&
		    !((att == ATT_NAME && IS("att_type")) || (att == ATT_TYPE && IS("att_data")))) {
			snprintf(err, errcap, "incomplete attachment before \"%.*s\"", (int)nlen,
				 name);
			ret = -EBADMSG;
			goto out;
		}
		if (IS("id"))
			ret = set_text(&r->id, val, vlen);
		else if (IS("created")) {
			uint64_t v = 0;

			ret = parse_num(val, vlen, INT64_MAX, &v);
			r->created_ms = (int64_t)v;
		} else if (IS("origin"))
			ret = set_text(&r->origin, val, vlen);
		else if (IS("env_from"))
			ret = set_text(&r->env_from, val, vlen);
		else if (IS("rcpt")) {
			char **v = realloc(r->rcpt, (r->n_rcpt + 1) * sizeof(*v));

			if (!v) {
				ret = -ENOMEM;
			} else {
				r->rcpt = v;
				v[r->n_rcpt] = NULL;
				ret = set_text(&v[r->n_rcpt], val, vlen);
				if (!ret)
					r->n_rcpt++;
			}
		} else if (IS("from"))
			ret = set_text(&r->from, val, vlen);
		else if (IS("from_name"))
			ret = set_text(&r->from_name, val, vlen);
		else if (IS("reply_to"))
			ret = set_text(&r->reply_to, val, vlen);
		else if (IS("to"))
			ret = set_text(&r->to, val, vlen);
		else if (IS("subject"))
			ret = set_text(&r->subject, val, vlen);
		else if (IS("text"))
			ret = set_text(&r->text, val, vlen);
		else if (IS("html"))
			ret = set_text(&r->html, val, vlen);
		else if (IS("att_name")) {
			ret = add_att(r);
			if (!ret)
				ret = set_text(&r->att[r->n_att - 1].filename, val, vlen);
			att = ATT_NAME;
		} else if (IS("att_type")) {
			ret = set_text(&r->att[r->n_att - 1].content_type, val, vlen);
			att = ATT_TYPE;
		} else if (IS("att_data")) {
			struct mail_att *a = &r->att[r->n_att - 1];

			a->data = malloc(vlen ? vlen : 1);
			if (!a->data) {
				ret = -ENOMEM;
			} else {
				memcpy(a->data, val, vlen);
				a->len = vlen;
			}
			att = ATT_NONE;
		} else if (IS("last_error"))
			ret = set_text(&r->last_error, val, vlen);
		else if (IS("end"))
			ended = true;
		else if (IS("attempts")) {
			uint64_t v = 0;

			ret = parse_num(val, vlen, UINT32_MAX, &v);
			r->attempts = (uint32_t)v;
		}
#undef IS
		if (ret) {
			if (ret == -EBADMSG)
				snprintf(err, errcap, "field \"%.*s\": bad value", (int)nlen, name);
			else
				snprintf(err, errcap, "out of memory");
			goto out;
		}
	}
	if (!ended || p != end) {
		snprintf(err, errcap, ended ? "data after the end" : "the record is cut short");
		ret = -EBADMSG;
	} else if (att != ATT_NONE) {
		snprintf(err, errcap, "incomplete attachment at the end");
		ret = -EBADMSG;
	} else if (!r->id || !r->env_from || !r->n_rcpt || !r->created_ms) {
		snprintf(err, errcap, "id, created, env_from or rcpt missing");
		ret = -EBADMSG;
	} else {
		bool ok = token_ok(r->id, 250) && token_ok(r->env_from, 254);

		for (size_t i = 0; i < r->n_rcpt; i++)
			ok = ok && token_ok(r->rcpt[i], 254);
		if (!ok) {
			snprintf(err, errcap,
				 "id, env_from or rcpt too long or holding a space or control");
			ret = -EBADMSG;
		}
	}
out:
	if (ret)
		mail_record_free(r);
	return ret;
}
