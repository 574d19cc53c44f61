/*
 * plugins/notify/tests/test_render.c - the message: the shipped template on
 * the shipped samples gives well-formed HTML with the caller and the links;
 * link prefixes; escaping; hostile templates (document() of a file,
 * xsl:include, xsl:import, xsl:document, entities) fail cleanly; language
 * files (good, broken, fallback); subject expansion; the vCard; runaway
 * templates (the XPath operation limit and the watchdog); every @how of
 * <ended>; the libxml2 error handler put back after use; UTF-8 cuts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucs/lines.h>

#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>

#include "check.h"
#include "nt.h"

#define SRC NOTIFY_SRC_DIR

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* HTML that libxml2's HTML parser reads without a single error. */
static bool well_formed_html(const char *html, size_t len)
{
	htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
	htmlDocPtr doc =
		htmlCtxtReadMemory(ctxt, html, (int)len, NULL, "UTF-8",
				   HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	bool ok = doc && ctxt->wellFormed && ctxt->errNo == 0;

	if (doc)
		xmlFreeDoc(doc);
	htmlFreeParserCtxt(ctxt);
	return ok;
}

static struct nt_template *shipped_template(void)
{
	struct nt_template *t = NULL;
	char err[512];

	CHECK_INT(nt_template_load_file(SRC "/templates/default/unanswered.xslt", &t, err,
					sizeof(err)),
		  ==, 0);
	return t;
}

static char *render_file(struct nt_template *t, const char *path)
{
	size_t len = 0, hlen = 0;
	char *xml = slurp(path, &len), *html = NULL, err[512] = "";
	void *doc = NULL;

	CHECK(xml != NULL);
	CHECK_INT(nt_xml_parse(xml, len, &doc, err, sizeof(err)), ==, 0);
	CHECK_INT(nt_render(t, doc, &html, &hlen, err, sizeof(err)), ==, 0);
	if (html)
		CHECK(well_formed_html(html, hlen));
	nt_xml_free(doc);
	free(xml);
	return html;
}

static void test_samples(void)
{
	struct nt_template *t = shipped_template();
	char *html;

	html = render_file(t, SRC "/templates/default/sample_unanswered.xml");
	CHECK_CONTAINS(html, "<html");
	CHECK_CONTAINS(html, "Missed call");
	CHECK_CONTAINS(html, "Bob Builder");
	CHECK_CONTAINS(html, "Builder &amp; Sons");
	CHECK_CONTAINS(html, "<a href=\"tel:+4989123456\">+49 89 123456</a>");
	CHECK_CONTAINS(html, "Call back");
	CHECK_CONTAINS(html, "mailto:bob@example.com");
	CHECK_CONTAINS(html, "18");
	CHECK_CONTAINS(html, "Alice desk");
	CHECK(!strstr(html, "Answered by"));
	free(html);

	html = render_file(t, SRC "/templates/default/sample_redirected.xml");
	CHECK_CONTAINS(html, "Call answered by another party");
	CHECK_CONTAINS(html, "Answered by");
	CHECK_CONTAINS(html, "Carol Clerk");
	CHECK_CONTAINS(html, "href=\"tel:+4989123456\"");
	free(html);
	nt_template_free(t);
}

static void notice(struct nt_notice *n)
{
	memset(n, 0, sizeof(*n));
	strcpy(n->call_id, "c9");
	n->started_ms = n->alerting_ms = 1764169200000ll;
	n->ended_ms = n->started_ms + 5000;
	n->ring_s = 5;
	strcpy(n->ended, "missed");
	strcpy(n->caller.canonical, "+4930987654");
	strcpy(n->caller.display, "+49 30 987654");
	strcpy(n->recipient.id, "alice");
	strcpy(n->recipient.name, "Alice");
	strcpy(n->line_internal, "111");
	strcpy(n->server, "ucsd-test");
	strcpy(n->link_prefix, "tel:");
}

static char *render_notice(struct nt_template *t, const struct nt_notice *n,
			   const struct nt_lang *l, const struct nt_lang *fb)
{
	void *doc = NULL;
	char *html = NULL, err[512];
	size_t len = 0;

	CHECK_INT(nt_xml_build(n, l, fb, &doc), ==, 0);
	CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, 0);
	if (html)
		CHECK(well_formed_html(html, len));
	nt_xml_free(doc);
	return html;
}

static void test_links_and_escaping(void)
{
	struct nt_template *t = shipped_template();
	struct nt_lang en = {0}, de = {0};
	struct nt_notice n;
	char err[512], *html;

	CHECK_INT(nt_lang_load_file(&en, SRC "/languages/en.xml", err, sizeof(err)), ==, 0);
	CHECK_INT(nt_lang_load_file(&de, SRC "/languages/de.xml", err, sizeof(err)), ==, 0);

	notice(&n);
	html = render_notice(t, &n, &en, NULL);
	CHECK_CONTAINS(html, "href=\"tel:+4930987654\"");
	CHECK_CONTAINS(html, "+49 30 987654"); /* no name: the number is the caller */
	free(html);

	strcpy(n.link_prefix, "callto:");
	html = render_notice(t, &n, &en, NULL);
	CHECK_CONTAINS(html, "href=\"callto:+4930987654\"");
	CHECK(!strstr(html, "tel:"));
	free(html);

	n.link_prefix[0] = '\0';
	html = render_notice(t, &n, &en, NULL);
	CHECK(!strstr(html, "href=\"tel:"));
	CHECK(!strstr(html, "callto:"));
	CHECK(!strstr(html, "Call back"));
	CHECK_CONTAINS(html, "+49 30 987654");
	free(html);

	/* whatever the caller's name holds stays text */
	strcpy(n.link_prefix, "tel:");
	strcpy(n.caller_name, "<script>alert(1)</script> & \"co\"");
	html = render_notice(t, &n, &en, NULL);
	CHECK(!strstr(html, "<script>"));
	CHECK_CONTAINS(html, "&lt;script&gt;");
	free(html);

	/* hidden: no number, no link, the language's words */
	n.caller_name[0] = '\0';
	n.hidden = true;
	html = render_notice(t, &n, &en, NULL);
	CHECK_CONTAINS(html, "withheld number");
	CHECK(!strstr(html, "987654"));
	CHECK(!strstr(html, "href=\"tel:"));
	free(html);
	n.hidden = false;

	/* German, with English for a string German lacks */
	for (size_t i = 0; i < de.n; i++)
		if (strcmp(de.s[i].name, "label_call_back") == 0)
			strcpy(de.s[i].name, "renamed_xx");
	html = render_notice(t, &n, &de, &en);
	CHECK_CONTAINS(html, "Anruf in Abwesenheit");
	CHECK_CONTAINS(html, "26.11.2025");
	CHECK_CONTAINS(html, "Call back");
	free(html);

	nt_lang_free(&en);
	nt_lang_free(&de);
	nt_template_free(t);
}

static int load_tmpl(const char *text, char *err, size_t cap, struct nt_template **t)
{
	return nt_template_load_mem(text, strlen(text), "test.xslt", t, err, cap);
}

#define XSL_HEAD                                                    \
	"<?xml version=\"1.0\"?>\n<xsl:stylesheet version=\"1.0\" " \
	"xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n"

static void test_hostile_templates(void)
{
	struct nt_template *t = NULL;
	struct nt_notice n;
	char err[512], *html = NULL;
	void *doc = NULL;
	size_t len = 0;

	notice(&n);
	CHECK_INT(nt_xml_build(&n, NULL, NULL, &doc), ==, 0);

	/* document() of a local file: compiled, but the transformation fails */
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><html><body>"
				     "<xsl:copy-of select=\"document('file:///etc/passwd')\"/>"
				     "</body></html></xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
	CHECK(html == NULL);
	CHECK_CONTAINS(err, "refused");
	nt_template_free(t);
	t = NULL;

	/* a relative one and the network, too */
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><x>"
				     "<xsl:value-of select=\"document('http://127.0.0.1:9/x')\"/>"
				     "<xsl:value-of select=\"document('../../etc/passwd')\"/>"
				     "</x></xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
	nt_template_free(t);
	t = NULL;

	/* document('') (the template itself) is a file read like any other */
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><x>"
				     "<xsl:value-of select=\"count(document(''))\"/>"
				     "</x></xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	if (t) {
		CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
		free(html);
		html = NULL;
		nt_template_free(t);
		t = NULL;
	}

	/* xsl:include and xsl:import never compile, even of a valid stylesheet */
	{
		FILE *f = fopen("/tmp/nt-test-included.xsl", "w");

		CHECK(f != NULL);
		if (f) {
			fputs(XSL_HEAD "<xsl:template match=\"/\"><secret/></xsl:template>"
				       "</xsl:stylesheet>\n",
			      f);
			fclose(f);
		}
	}
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:include href=\"/tmp/nt-test-included.xsl\"/>"
				     "</xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, -EINVAL);
	CHECK(t == NULL);
	CHECK_CONTAINS(err, "xsl:include is not allowed");
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:import href=\"file:///tmp/nt-test-included.xsl\"/>"
				     "</xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "xsl:import is not allowed");
	unlink("/tmp/nt-test-included.xsl");

	/* writing a file with xsl:document (XSLT 1.1) */
	unlink("/tmp/nt-test-written.html");
	CHECK_INT(load_tmpl("<?xml version=\"1.0\"?>\n<xsl:stylesheet version=\"1.1\" "
			    "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
			    "<xsl:template match=\"/\"><xsl:document "
			    "href=\"/tmp/nt-test-written.html\"><x/></xsl:document><y/>"
			    "</xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	if (t) {
		CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
		CHECK(access("/tmp/nt-test-written.html", F_OK) != 0);
		nt_template_free(t);
		t = NULL;
	}

	/* external entities: a DOCTYPE is refused outright */
	CHECK_INT(load_tmpl("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "
			    "\"file:///etc/passwd\">]>\n<xsl:stylesheet version=\"1.0\" "
			    "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
			    "<xsl:template match=\"/\"><x>&e;</x></xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "DOCTYPE");

	/* not XSLT, not XML, nothing produced */
	CHECK_INT(load_tmpl("<html/>", err, sizeof(err), &t), ==, -EINVAL);
	CHECK_INT(load_tmpl("<xsl:stylesheet", err, sizeof(err), &t), ==, -EINVAL);
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><xsl:value-of select=\"(((\"/>"
				     "</xsl:template></xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, -EINVAL);
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"/></xsl:stylesheet>", err,
			    sizeof(err), &t),
		  ==, 0);
	if (t) {
		CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
		nt_template_free(t);
		t = NULL;
	}
	/* endless recursion ends */
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><xsl:call-template name=\"r\"/>"
				     "</xsl:template><xsl:template name=\"r\"><a>"
				     "<xsl:call-template name=\"r\"/></a></xsl:template>"
				     "</xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	if (t) {
		CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, -EINVAL);
		nt_template_free(t);
	}
	nt_xml_free(doc);

	/* documents with a DOCTYPE are refused too */
	CHECK_INT(nt_xml_parse("<!DOCTYPE n SYSTEM \"file:///etc/passwd\"><notification/>", 54,
			       &doc, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(nt_xml_parse("<notification>", 14, &doc, err, sizeof(err)), ==, -EINVAL);
}

static int load_lang(const char *text, struct nt_lang *l, char *err, size_t cap)
{
	return nt_lang_load_mem(l, text, strlen(text), err, cap);
}

static void test_languages(void)
{
	struct nt_lang l = {0};
	char err[512];

	CHECK_INT(load_lang("<language code=\"xx\" name=\"X\"><string name=\"a\">A &amp; "
			    "b</string><!-- c --><string name=\"b_2\"><![CDATA[<b>]]></string>"
			    "</language>",
			    &l, err, sizeof(err)),
		  ==, 0);
	CHECK_STR(l.code, "xx");
	CHECK_STR(nt_lang_get(&l, "a"), "A & b");
	CHECK_STR(nt_lang_get(&l, "b_2"), "<b>");
	CHECK(nt_lang_get(&l, "c") == NULL);

	/* a broken file changes nothing */
	CHECK_INT(load_lang("<language code=\"yy\"><string name=\"a\">1</string>"
			    "<string name=\"a\">2</string></language>",
			    &l, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "twice");
	CHECK_STR(l.code, "xx");
	CHECK_INT(load_lang("<lang code=\"yy\"/>", &l, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(load_lang("<language/>", &l, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(load_lang("<language code=\"../x\"/>", &l, err, sizeof(err)), ==, -EINVAL);
	CHECK_INT(load_lang("<language code=\"y\"><other/></language>", &l, err, sizeof(err)), ==,
		  -EINVAL);
	CHECK_INT(load_lang("<language code=\"y\"><string name=\"A\">x</string></language>", &l,
			    err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(load_lang("<language code=\"y\"><string name=\"a\"><b/></string></language>", &l,
			    err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(load_lang("<language code=\"y\">text</language>", &l, err, sizeof(err)), ==,
		  -EINVAL);
	CHECK_INT(load_lang("<!DOCTYPE language [<!ENTITY x \"y\">]><language code=\"y\"/>", &l,
			    err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(load_lang("<language code=\"y\"", &l, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "line 1");
	CHECK_STR(l.code, "xx");
	nt_lang_free(&l);
	CHECK_INT(nt_lang_load_file(&l, "/nonexistent/en.xml", err, sizeof(err)), ==, -ENOENT);
}

static void test_texts(void)
{
	struct nt_lang en = {0};
	struct nt_notice n;
	char err[256], out[512], *v;

	CHECK_INT(nt_lang_load_file(&en, SRC "/languages/en.xml", err, sizeof(err)), ==, 0);
	notice(&n);
	nt_expand("%CALLER% on %LINE% at %DATE% %TIME%, %RING% s; 100% %UNKNOWN%", &n, &en, NULL,
		  out, sizeof(out));
	CHECK_STR(out, "+49 30 987654 on 111 at 2025-11-26 16:00, 5 s; 100% %UNKNOWN%");
	strcpy(n.caller_name, "Eve");
	nt_expand(nt_lang_get(&en, "subject_unanswered"), &n, &en, NULL, out, sizeof(out));
	CHECK_STR(out, "Missed call from Eve");
	n.hidden = true;
	nt_expand(nt_lang_get(&en, "subject_unanswered"), &n, &en, NULL, out, sizeof(out));
	CHECK_STR(out, "Missed call from withheld number");
	/* snprintf rules */
	CHECK_INT(nt_expand("%CALLER%!", &n, &en, NULL, out, 4), ==, 16);
	CHECK_STR(out, "wit");

	/* vCard: none for a hidden or unknown caller */
	n.contact_found = true;
	CHECK(nt_vcard(&n) == NULL);
	n.hidden = false;
	n.caller_name[0] = '\0';
	CHECK(nt_vcard(&n) == NULL);
	strcpy(n.caller_name, "Eve, the; \\one");
	/* a name the PBX passed on is no contact data */
	n.contact_found = false;
	CHECK(nt_vcard(&n) == NULL);
	n.contact_found = true;
	v = nt_vcard(&n);
	CHECK_CONTAINS(v, "BEGIN:VCARD\r\nVERSION:4.0\r\n");
	CHECK_CONTAINS(v, "FN:Eve\\, the\\; \\\\one\r\n");
	/* N has five components */
	CHECK_CONTAINS(v, "\r\nN:Eve\\, the\\; \\\\one;;;;\r\n");
	CHECK_CONTAINS(v, "TEL;TYPE=voice:+4930987654\r\n");
	CHECK_CONTAINS(v, "END:VCARD\r\n");
	free(v);
	/* control characters do not reach the card; long lines are folded at
	 * 75 octets, never inside a UTF-8 character */
	strcpy(n.caller_name, "A\x01\tB\x7f");
	v = nt_vcard(&n);
	CHECK_CONTAINS(v, "FN:A  B \r\n");
	free(v);
	memset(n.caller_name, 0, sizeof(n.caller_name));
	for (int i = 0; i < 60; i++)
		strcat(n.caller_name, "\xc3\xa4"); /* 60 x a-umlaut: 120 octets */
	v = nt_vcard(&n);
	CHECK(v != NULL);
	for (const char *l = v; v && *l;) {
		const char *e = strstr(l, "\r\n");
		size_t len = e ? (size_t)(e - l) : strlen(l);

		CHECK_INT(len, <=, 75);
		/* a folded line starts with a space and never with a continuation byte */
		if (l != v && *l == ' ')
			CHECK(((unsigned char)l[1] & 0xc0) != 0x80);
		l += len + (e ? 2 : 0);
	}
	CHECK_CONTAINS(v, "FN:\xc3\xa4");
	CHECK_CONTAINS(v, "\r\n \xc3\xa4");
	free(v);
	strcpy(n.caller_name, "Eve");
	n.caller_is_user = true;
	strcpy(n.caller_user.name, "Bob Builder");
	strcpy(n.caller_user.first_name, "Bob");
	strcpy(n.caller_user.last_name, "Builder");
	strcpy(n.caller_user.email, "bob@example.com");
	strcpy(n.caller_user.company, "ACME");
	strcpy(n.caller_user.city, "Berlin");
	v = nt_vcard(&n);
	CHECK_CONTAINS(v, "FN:Bob Builder\r\n");
	CHECK_CONTAINS(v, "N:Builder;Bob;;;\r\n");
	CHECK_CONTAINS(v, "ORG:ACME\r\n");
	CHECK_CONTAINS(v, "EMAIL;TYPE=work:bob@example.com\r\n");
	CHECK_CONTAINS(v, "ADR;TYPE=work:;;;Berlin;;;\r\n");
	free(v);
	/* a ucsd user calling has contact data without a contact lookup */
	n.contact_found = false;
	v = nt_vcard(&n);
	CHECK_CONTAINS(v, "FN:Bob Builder\r\n");
	free(v);
	nt_lang_free(&en);
}

/* Every @how of <ended> fits the notice and reaches the document. */
static void test_ended(void)
{
	static const int ends[] = {UCS_END_PICKED_UP,
				   UCS_END_DEFLECTED,
				   UCS_END_REDIRECTED,
				   UCS_END_FORWARDED,
				   UCS_END_TRANSFERRED,
				   UCS_END_FAILED,
				   0};
	struct nt_notice n;

	for (int elsewhere = 0; elsewhere < 2; elsewhere++)
		for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			const char *how = nt_ended_name(ends[i], elsewhere);
			char want[64], *text = NULL;
			size_t len = 0;
			void *doc = NULL;

			notice(&n);
			snprintf(n.ended, sizeof(n.ended), "%s", how);
			CHECK_STR(n.ended, how);
			CHECK_INT(nt_xml_build(&n, NULL, NULL, &doc), ==, 0);
			CHECK_INT(nt_xml_dump(doc, &text, &len), ==, 0);
			snprintf(want, sizeof(want), "how=\"%s\"", how);
			CHECK_CONTAINS(text, want);
			free(text);
			nt_xml_free(doc);
		}
	CHECK_STR(nt_ended_name(0, true), "answered_elsewhere");
	CHECK_STR(nt_ended_name(0, false), "missed");
}

#define RUNAWAY                                                                       \
	XSL_HEAD "<xsl:template match=\"/\"><x><xsl:call-template name=\"f\">"        \
		 "<xsl:with-param name=\"n\" select=\"40\"/></xsl:call-template></x>" \
		 "</xsl:template><xsl:template name=\"f\"><xsl:param name=\"n\"/>"    \
		 "<xsl:if test=\"$n &gt; 0\"><xsl:call-template name=\"f\">"          \
		 "<xsl:with-param name=\"n\" select=\"$n - 1\"/></xsl:call-template>" \
		 "<xsl:call-template name=\"f\"><xsl:with-param name=\"n\" "          \
		 "select=\"$n - 1\"/></xsl:call-template></xsl:if></xsl:template>"    \
		 "</xsl:stylesheet>"

struct runaway {
	struct nt_template *t;
	void *doc;
	struct nt_watch *w;
	int rc;
	char err[512];
	volatile int done;
};

static void *render_thread(void *arg)
{
	struct runaway *r = arg;
	char *html = NULL;
	size_t len = 0;

	r->rc = nt_render_watched(r->t, r->doc, r->w, &html, &len, r->err, sizeof(r->err));
	free(html);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A doubly recursive template (2^40 calls, depth 40) ends: by the XPath
 * operation limit, or - with that raised - by the watchdog. */
static void test_runaway(void)
{
	struct runaway r = {0};
	struct nt_notice n;
	char *html = NULL;
	size_t len = 0;
	pthread_t th;
	time_t t0;

	notice(&n);
	CHECK_INT(nt_xml_build(&n, NULL, NULL, &r.doc), ==, 0);
	CHECK_INT(load_tmpl(RUNAWAY, r.err, sizeof(r.err), &r.t), ==, 0);
	if (!r.t)
		return;
	t0 = time(NULL);
	CHECK_INT(nt_render(r.t, r.doc, &html, &len, r.err, sizeof(r.err)), ==, -EINVAL);
	CHECK(html == NULL);
	CHECK_CONTAINS(r.err, "XPath operations");
	CHECK_INT(time(NULL) - t0, <, 60);

	r.w = nt_watch_new();
	CHECK(r.w != NULL);
	/* nothing running: nothing to stop */
	CHECK(!nt_watch_check(r.w, -1));
	nt_watch_set_op_limit(r.w, ~0ul);
	r.err[0] = '\0';
	CHECK_INT(pthread_create(&th, NULL, render_thread, &r), ==, 0);
	t0 = time(NULL);
	while (!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST) && !nt_watch_check(r.w, 300) &&
	       time(NULL) - t0 < 60)
		usleep(10000);
	pthread_join(th, NULL);
	CHECK_INT(r.rc, ==, -EINVAL);
	CHECK_CONTAINS(r.err, "ran too long");
	CHECK_INT(time(NULL) - t0, <, 30);
	nt_watch_free(r.w);
	nt_template_free(r.t);
	nt_xml_free(r.doc);
}

static int mine_called;
static void mine(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
	mine_called++;
}

/* The thread's libxml2 error handler is put back, not reset to the default. */
static void test_error_handler(void)
{
	struct nt_template *t = NULL;
	char err[256], *html = NULL;
	struct nt_notice n;
	void *doc = NULL;
	size_t len = 0;
	int marker = 7;

	xmlSetGenericErrorFunc(&marker, mine);
	CHECK_INT(load_tmpl(XSL_HEAD "<xsl:template match=\"/\"><x/></xsl:template>"
				     "</xsl:stylesheet>",
			    err, sizeof(err), &t),
		  ==, 0);
	CHECK(xmlGenericError == mine && xmlGenericErrorContext == &marker);
	CHECK_INT(nt_xml_parse("<broken", 7, &doc, err, sizeof(err)), ==, -EINVAL);
	CHECK(xmlGenericError == mine && xmlGenericErrorContext == &marker);
	notice(&n);
	CHECK_INT(nt_xml_build(&n, NULL, NULL, &doc), ==, 0);
	if (t)
		CHECK_INT(nt_render(t, doc, &html, &len, err, sizeof(err)), ==, 0);
	CHECK(xmlGenericError == mine && xmlGenericErrorContext == &marker);
	CHECK_INT(mine_called, ==, 0); /* our messages were collected, not passed on */
	free(html);
	nt_xml_free(doc);
	nt_template_free(t);
	xmlSetGenericErrorFunc(NULL, NULL);
}

static void test_utf8_copy(void)
{
	char out[6];

	/* "a" then three 2-octet characters: 7 octets into 6 */
	CHECK_STR(nt_utf8_copy(out, sizeof(out), "a\xc3\xa4\xc3\xb6\xc3\xbc"), "a\xc3\xa4\xc3\xb6");
	CHECK_STR(nt_utf8_copy(out, sizeof(out), "ab\xe2\x82\xac\xe2\x82\xac"), "ab\xe2\x82\xac");
	CHECK_STR(nt_utf8_copy(out, sizeof(out), "abcd\xf0\x9f\x98\x80"), "abcd");
	CHECK_STR(nt_utf8_copy(out, sizeof(out), "abcdefgh"), "abcde");
	CHECK_STR(nt_utf8_copy(out, sizeof(out), "ab"), "ab");
}

int main(void)
{
	test_samples();
	test_links_and_escaping();
	test_hostile_templates();
	test_languages();
	test_texts();
	test_ended();
	test_runaway();
	test_error_handler();
	test_utf8_copy();
	return check_report();
}
