/*
 * plugins/mail/tests/test_mail_core.c - addresses, the outbox record, MIME
 * rendering and SMTP reply parsing, without a network.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mail_int.h"

static void test_addresses(void)
{
	struct mail_addr *a;
	size_t n;
	char err[200];

	CHECK_INT(mail_addr_parse("a@x; Bob <b@y>, \"Doe, John\" <j@d.example> ;", &a, &n, err,
				  sizeof(err)),
		  ==, 0);
	CHECK_INT(n, ==, 3);
	CHECK_STR(a[0].addr, "a@x");
	CHECK(a[0].name == NULL);
	CHECK_STR(a[1].name, "Bob");
	CHECK_STR(a[1].addr, "b@y");
	CHECK_STR(a[2].name, "Doe, John");
	CHECK_STR(a[2].addr, "j@d.example");
	mail_addr_free(a, n);
	CHECK_INT(mail_addr_parse("", &a, &n, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "no recipient");
	CHECK_INT(mail_addr_parse("a@x; nobody", &a, &n, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "\"nobody\" is not an e-mail address");
	CHECK_INT(mail_addr_parse("x <a@x", &a, &n, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(mail_addr_parse("a@x>\r\nBcc: e@x", &a, &n, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(mail_addr_parse("a b@x", &a, &n, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(mail_addr_parse("Ü <ü@bücher.example>", &a, &n, err, sizeof(err)), ==, 0);
	CHECK(!mail_ascii(a[0].addr));
	mail_addr_free(a, n);
}

static struct mail_record sample(void)
{
	static char *rcpt[] = {"b@y", "c@z"};
	struct mail_record r = {0};

	r.id = strdup("1.2.3@x");
	r.created_ms = 1700000000000LL;
	r.origin = strdup("notify");
	r.env_from = strdup("a@x");
	r.rcpt = calloc(2, sizeof(char *));
	r.rcpt[0] = strdup(rcpt[0]);
	r.rcpt[1] = strdup(rcpt[1]);
	r.n_rcpt = 2;
	r.from = strdup("a@x");
	r.from_name = strdup("Zentrale Müller");
	r.to = strdup("b@y; C <c@z>");
	r.subject = strdup("Verpasster Anruf von Jürgen");
	r.text = strdup("Grüße\n.dot line\nend");
	r.html = strdup("<p>Grüße</p>");
	r.att = calloc(1, sizeof(*r.att));
	r.att[0].filename = strdup("Jürgen.vcf");
	r.att[0].content_type = strdup("text/vcard");
	r.att[0].data = malloc(3);
	memcpy(r.att[0].data, "\x00\x01\x02", 3);
	r.att[0].len = 3;
	r.n_att = 1;
	return r;
}

static void test_record(void)
{
	struct mail_record r = sample(), back;
	struct mail_buf b = {0};
	char err[200];

	CHECK_INT(mail_record_serialize(&r, &b), ==, 0);
	CHECK_INT(mail_record_parse(b.data, b.len, &back, err, sizeof(err)), ==, 0);
	CHECK_STR(back.id, r.id);
	CHECK_INT(back.created_ms, ==, r.created_ms);
	CHECK_INT(back.n_rcpt, ==, 2);
	CHECK_STR(back.rcpt[1], "c@z");
	CHECK_STR(back.text, r.text);
	CHECK_INT(back.n_att, ==, 1);
	CHECK_INT(back.att[0].len, ==, 3);
	CHECK(memcmp(back.att[0].data, "\x00\x01\x02", 3) == 0);
	mail_record_free(&back);
	/* every truncation is refused, never half-read */
	for (size_t cut = 0; cut < b.len; cut++) {
		int ret = mail_record_parse(b.data, cut, &back, err, sizeof(err));

		CHECK_INT(ret, ==, -EBADMSG);
		if (ret == 0)
			mail_record_free(&back);
	}
	mail_buf_free(&b);
	mail_record_free(&r);
}

static void test_mime(void)
{
	struct mail_record r = sample();
	struct mail_buf qp = {0}, eight = {0}, st = {0};

	CHECK_INT(mail_mime_render(&r, 0, &qp), ==, 0);
	CHECK_CONTAINS(qp.data, "MIME-Version: 1.0\r\n");
	CHECK_CONTAINS(qp.data, "Message-ID: <1.2.3@x>\r\n");
	CHECK_CONTAINS(qp.data, "Date: ");
	/* "Verpasster Anruf von Jürgen" as an encoded word */
	CHECK_CONTAINS(qp.data,
		       "Subject: =?UTF-8?B?VmVycGFzc3RlciBBbnJ1ZiB2b24gSsO8cmdlbg==?=\r\n");
	CHECK_CONTAINS(qp.data, "From: =?UTF-8?B?WmVudHJhbGUgTcO8bGxlcg==?= <a@x>\r\n");
	CHECK_CONTAINS(qp.data, "To: b@y,\r\n C <c@z>\r\n");
	CHECK_CONTAINS(qp.data, "multipart/mixed");
	CHECK_CONTAINS(qp.data, "multipart/alternative");
	CHECK_CONTAINS(qp.data,
		       "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n");
	CHECK_CONTAINS(qp.data, "filename*=UTF-8''J%C3%BCrgen.vcf");
	CHECK_CONTAINS(qp.data, "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n");
	CHECK(mail_ascii(qp.data));
	CHECK_INT(mail_mime_render(&r, MAIL_MIME_8BIT | MAIL_MIME_UTF8_HEADERS, &eight), ==, 0);
	CHECK_CONTAINS(eight.data, "Subject: Verpasster Anruf von Jürgen\r\n");
	CHECK_CONTAINS(eight.data, "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n.dot line\r\n");
	CHECK_INT(mail_dot_stuff(&st, eight.data, eight.len), ==, 0);
	CHECK_CONTAINS(st.data, "\r\n..dot line\r\n");
	CHECK(st.len > 5 && memcmp(st.data + st.len - 5, "\r\n.\r\n", 5) == 0);
	mail_buf_free(&qp);
	mail_buf_free(&eight);
	mail_buf_free(&st);
	/* header injection: a CR LF in a value stays inside the header */
	{
		struct mail_buf h = {0};

		CHECK_INT(mail_mime_header(&h, "Subject", "hi\r\nBcc: evil@x", 0), ==, 0);
		CHECK_STR(h.data, "Subject: hi  Bcc: evil@x\r\n");
		mail_buf_free(&h);
	}
	mail_record_free(&r);
}

static void test_reply(void)
{
	struct smtp_parser p;
	struct smtp_reply r;
	struct smtp_caps caps;
	const char *ehlo = "250-smtp.test Hello\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-STARTTLS\r\n"
			   "250-AUTH LOGIN PLAIN\r\n250 SIZE 1000\r\n220 next";
	size_t used = 0;
	char err[200], line[300];

	smtp_parser_init(&p);
	/* one byte at a time */
	for (size_t i = 0; i < strlen(ehlo); i++) {
		int ret = smtp_parse(&p, (const uint8_t *)ehlo + i, 1, &used, &r, err, sizeof(err));

		CHECK_INT(used, ==, 1);
		if (ret == 1) {
			CHECK_INT(i, ==, strlen(ehlo) - 9);
			CHECK_INT(r.code, ==, 250);
			CHECK_INT(r.n_lines, ==, 6);
		} else {
			CHECK_INT(ret, ==, 0);
		}
	}
	smtp_caps_parse(&r, &caps);
	CHECK(caps.eightbit && caps.smtputf8 && caps.starttls && caps.auth_plain &&
	      caps.auth_login && !caps.pipelining);
	CHECK_INT(caps.size, ==, 1000);
	smtp_reply_line(&r, line, sizeof(line));
	CHECK_STR(line, "250 smtp.test Hello / 8BITMIME / SMTPUTF8 / STARTTLS / AUTH LOGIN PLAIN / "
			"SIZE 1000");
	smtp_parser_init(&p);
	CHECK_INT(smtp_parse(&p, (const uint8_t *)"hello\r\n", 7, &used, &r, err, sizeof(err)), ==,
		  -EPROTO);
	CHECK_CONTAINS(err, "malformed SMTP reply line \"hello\"");
	smtp_parser_init(&p);
	CHECK_INT(smtp_parse(&p, (const uint8_t *)"250-a\r\n251 b\r\n", 14, &used, &r, err,
			     sizeof(err)),
		  ==, -EPROTO);
	{
		char big[1200];

		memset(big, 'x', sizeof(big));
		memcpy(big, "250 ", 4);
		smtp_parser_init(&p);
		CHECK_INT(smtp_parse(&p, (const uint8_t *)big, sizeof(big), &used, &r, err,
				     sizeof(err)),
			  ==, -EMSGSIZE);
	}
}

/* Batching and the hourly limit, on a clock the test runs. */
static void test_admin(void)
{
	struct mail_admin a = {.max_per_hour = 2};
	struct mail_buf subj = {0}, body = {0};
	int64_t t = 1700000000000LL;
	uint32_t n;

	CHECK_INT(mail_admin_take(&a, t, "srv", &subj, &body), ==, 0); /* nothing pending */
	mail_admin_add(&a, t, "lines", "link down");
	mail_admin_add(&a, t, "journal", "disk full");
	n = mail_admin_take(&a, t, "srv", &subj, &body);
	CHECK_INT(n, ==, 2);
	CHECK_STR(subj.data, "ucsd on srv: 2 errors");
	CHECK_CONTAINS(body.data, "[lines] link down\n");
	CHECK_CONTAINS(body.data, "[journal] disk full\n");
	mail_admin_done(&a, t, n, true);
	subj.len = body.len = 0;
	/* more than MAIL_ADMIN_LINES: the rest is counted */
	for (int i = 0; i < MAIL_ADMIN_LINES + 5; i++)
		mail_admin_add(&a, t, "x", "e");
	n = mail_admin_take(&a, t + 1000, "srv", &subj, &body);
	CHECK_INT(n, ==, MAIL_ADMIN_LINES + 5);
	CHECK_CONTAINS(body.data, "... and 5 more");
	mail_admin_done(&a, t + 1000, n, true);
	subj.len = body.len = 0;
	/* the third batch within the hour is dropped and counted */
	mail_admin_add(&a, t, "x", "dropped one");
	mail_admin_add(&a, t, "x", "dropped two");
	CHECK_INT(mail_admin_take(&a, t + 2000, "srv", &subj, &body), ==, 0);
	CHECK_INT(a.dropped, ==, 2);
	CHECK_INT(a.pending, ==, 0);
	/* an hour after the first mail, one slot is free: the next mail says it */
	mail_admin_add(&a, t, "x", "after the hour");
	n = mail_admin_take(&a, t + 3600 * 1000, "srv", &subj, &body);
	CHECK_INT(n, ==, 1);
	CHECK_CONTAINS(body.data, "[x] after the hour");
	CHECK_CONTAINS(body.data, "2 earlier errors were not mailed because of the limit of 2 "
				  "mails per hour");
	CHECK(!strstr(body.data, "dropped one"));
	mail_admin_done(&a, t + 3600 * 1000, n, true);
	CHECK_INT(a.dropped, ==, 0);
	CHECK_INT(a.dropped_total, ==, 2);
	CHECK_INT(a.sent, ==, 3);
	/* a mail that could not be queued counts as dropped */
	mail_admin_add(&a, t, "x", "y");
	subj.len = body.len = 0;
	n = mail_admin_take(&a, t + 7200 * 1000, "srv", &subj, &body);
	mail_admin_done(&a, t + 7200 * 1000, n, false);
	CHECK_INT(a.dropped, ==, 1);
	mail_buf_free(&subj);
	mail_buf_free(&body);
	mail_admin_free(&a);
}

/* The longest line of a rendered message (without its CRLF). */
static size_t longest_line(const char *s)
{
	size_t best = 0;

	while (*s) {
		const char *e = strstr(s, "\r\n");
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n > best)
			best = n;
		s += n + (e ? 2 : 0);
	}
	return best;
}

/* Review findings: long RFC 2231 names fold into continuations; content
 * types keep their parameters; over-long ids and addresses in a record are
 * refused. */
static void test_review(void)
{
	struct mail_record r = sample(), back;
	struct mail_buf out = {0}, b = {0};
	char name[400] = "", err[200];

	for (int i = 0; i < 85; i++)
		strcat(name, "\xc3\xbc"); /* 85 x u-umlaut: 510 bytes encoded */
	strcat(name, "\"quote.vcf");
	free(r.att[0].filename);
	r.att[0].filename = strdup(name);
	free(r.att[0].content_type);
	r.att[0].content_type = strdup("text/vcard; charset=utf-8");
	CHECK_INT(mail_mime_render(&r, 0, &out), ==, 0);
	CHECK(longest_line(out.data) <= 78);
	CHECK_CONTAINS(out.data,
		       "Content-Type: text/vcard; charset=utf-8;\r\n name*0*=UTF-8''%C3%BC");
	CHECK_CONTAINS(out.data, "\r\n filename*1*=%");
	CHECK_CONTAINS(out.data, "%22quote.vcf\r\n");
	mail_buf_free(&out);
	/* an injected line break in a content type is not taken */
	free(r.att[0].content_type);
	r.att[0].content_type = strdup("text/plain; x=1\r\nBcc: evil@x");
	CHECK_INT(mail_mime_render(&r, 0, &out), ==, 0);
	CHECK(strstr(out.data, "\r\nBcc:") == NULL);
	CHECK_CONTAINS(out.data, "Content-Type: application/octet-stream");
	mail_buf_free(&out);
	/* a 300-character id or rcpt in a file is refused */
	free(r.id);
	r.id = malloc(301);
	memset(r.id, 'i', 300);
	r.id[300] = 0;
	CHECK_INT(mail_record_serialize(&r, &b), ==, 0);
	CHECK_INT(mail_record_parse(b.data, b.len, &back, err, sizeof(err)), ==, -EBADMSG);
	CHECK_CONTAINS(err, "too long");
	mail_buf_free(&b);
	mail_record_free(&r);
	/* encoded words: no line over 76, the first one counted from the name */
	{
		struct mail_buf h = {0};
		char subj[600] = "";

		for (int i = 0; i < 60; i++) /* 8 bytes each */
			strcat(subj, "J\xc3\xbcrgen ");
		CHECK_INT(mail_mime_header(&h, "Subject", subj, 0), ==, 0);
		CHECK(longest_line(h.data) <= 76);
		mail_buf_free(&h);
	}
	/* an address that is not UTF-8 is refused */
	{
		struct mail_addr *a;
		size_t n;

		CHECK_INT(mail_addr_parse("j\xfcrgen@x.example", &a, &n, err, sizeof(err)), ==,
			  -EINVAL);
		CHECK_INT(mail_addr_parse("j\xc3\xbcrgen@x.example", &a, &n, err, sizeof(err)), ==,
			  0);
		mail_addr_free(a, n);
	}
}

int main(void)
{
	test_admin();
	test_addresses();
	test_record();
	test_mime();
	test_reply();
	test_review();
	return check_report();
}
