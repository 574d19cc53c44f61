/*
 * plugins/sms/tests/test_provider.c - the smsprovider.xml loader and the
 * success test (sms_provider.c): the shipped file loads as documented, and
 * each kind of mistake is reported with its line while nothing is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sms.h"

static char msgs[4096];
static int n_msgs;

static void report(void *arg, const char *file, int line, const char *msg)
{
	size_t o = strlen(msgs);

	(void)arg;
	snprintf(msgs + o, sizeof(msgs) - o, "%s:%d: %s\n", file ? file : "", line, msg);
	n_msgs++;
}

static int parse(struct sms_providers *pv, const char *xml)
{
	msgs[0] = '\0';
	n_msgs = 0;
	return sms_providers_parse(pv, "t.xml", xml, strlen(xml), report, NULL);
}

#define HEAD "<?xml version=\"1.0\"?>\n<smsproviders>\n"
#define TAIL "</smsproviders>\n"

/* Parses a document that must be refused with needle among the reports. */
static void refused(const char *xml, const char *needle)
{
	struct sms_providers pv;

	CHECK_INT(parse(&pv, xml), ==, -EINVAL);
	CHECK_INT(pv.n, ==, 0);
	CHECK(pv.v == NULL);
	CHECK_CONTAINS(msgs, needle);
}

int main(void)
{
	struct sms_providers pv;
	const struct sms_provider *p;

	CHECK_INT(sms_providers_load(&pv, SMS_SOURCE_DIR "/smsprovider.xml", report, NULL), ==, 0);
	CHECK_INT(n_msgs, ==, 0);
	CHECK_INT(pv.n, ==, 4);
	p = sms_provider_find(&pv, "generic-get");
	CHECK(p && !p->post && p->recipient_fmt == SMS_NUM_00 && p->n_gateways == 2);
	CHECK(p && sms_provider_accepts(p, 200, "OK 4711", 7) == 1);
	CHECK(p && sms_provider_accepts(p, 200, "ERROR 401", 9) == 0);
	CHECK(p && sms_provider_accepts(p, 201, "OK 4711", 7) == 0);
	p = sms_provider_find(&pv, "generic-rest-json");
	CHECK(p && p->post && p->basic_auth && p->body_enc == SMS_ENC_JSON);
	CHECK(p && sms_provider_accepts(p, 201, "{\"status\": \"queued\"}", 20) == 1);
	CHECK(p && sms_provider_accepts(p, 203, "{\"status\": \"queued\"}", 20) == 0);
	p = sms_provider_find(&pv, "generic-post-form");
	CHECK(p && p->body_enc == SMS_ENC_FORM && p->recipient_fmt == SMS_NUM_DIGITS);
	/* invalid UTF-8 in an answer is matched, not a crash */
	p = sms_provider_find(&pv, "generic-rest-apikey");
	CHECK(p && sms_provider_accepts(p, 200, "\xff\xfe\"success\": true", 18) == 1);
	CHECK(sms_provider_find(&pv, "nope") == NULL);
	{
		char names[256];

		sms_provider_names(&pv, names, sizeof(names));
		CHECK_STR(names, "generic-get, generic-post-form, generic-rest-json, "
				 "generic-rest-apikey");
	}
	sms_providers_free(&pv);

	/* a minimal provider: GET, status 2xx by default */
	CHECK_INT(parse(&pv, HEAD "<provider name=\"a\"><url>http://x/?t=%TEXT%</url>"
				  "<success>^OK</success></provider>\n" TAIL),
		  ==, 0);
	CHECK(pv.n == 1 && sms_provider_accepts(&pv.v[0], 299, "OK", 2) == 1);
	CHECK(pv.n == 1 && sms_provider_accepts(&pv.v[0], 300, "OK", 2) == 0);
	sms_providers_free(&pv);

	refused("<smsproviders><provider", "t.xml:1: XML:");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<sucess>OK</sucess>\n"
		     "</provider>\n" TAIL,
		"t.xml:5: unknown element <sucess> in <provider>");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<success>OK</success>\n"
		     "</provider>\n<provider name=\"a\">\n<url>http://x/</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:7: provider a is defined twice (first on line 3)");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/?u=%USR%</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:4: unknown placeholder %USR% in <url>");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<success>OK(</success>\n"
		     "</provider>\n" TAIL,
		"t.xml:5: success pattern:");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n</provider>\n" TAIL,
		"t.xml:3: provider a has no <success> pattern");
	refused(HEAD "<provider name=\"a\">\n<success>OK</success>\n</provider>\n" TAIL,
		"has no <url>");
	refused(HEAD "<provider name=\"a\">\n<method>PUT</method>\n<url>http://x/</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:4: <method> must be GET or POST");
	refused(HEAD "<provider name=\"a\">\n<url>ftp://x/</url>\n<success>OK</success>\n"
		     "</provider>\n" TAIL,
		"must start with http:// or https://");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<body>x</body>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:5: <body> needs <method>POST</method>");
	refused(HEAD "<provider name=\"a\">\n<method>POST</method>\n<url>http://x/</url>\n"
		     "<header name=\"Host\">x</header>\n<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:6: header Host is set by ucsd itself");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n"
		     "<success status=\"2x\">OK</success>\n</provider>\n" TAIL,
		"t.xml:5: invalid status \"2x\"");
	refused(HEAD "<provider name=\"a\" nme=\"b\">\n<url>http://x/</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:3: unknown attribute nme on <provider>");
	refused(HEAD "<provider name=\"a b\">\n<url>http://x/</url>\n<success>OK</success>\n"
		     "</provider>\n" TAIL,
		"t.xml:3: <provider> needs a name");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<recipient format=\"e164\"/>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:5: format must be international, 00 or digits");
	refused(HEAD "<provider name=\"a\">\n<url>http://x/<b/></url>\n<success>OK</success>\n"
		     "</provider>\n" TAIL,
		"t.xml:4: <url> may hold only text, not <b>");
	refused(HEAD TAIL, "no <provider> in the file");
	refused("<?xml version=\"1.0\"?>\n<providers/>\n", "t.xml:2: the root element must be "
							   "<smsproviders>");
	refused("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<smsproviders/>\n",
		"t.xml:2: <!DOCTYPE is not allowed");
	/* a DOCTYPE is found by the parser, not by a byte search: one in a
	 * comment is a comment, and the one that counts has its line */
	CHECK_INT(parse(&pv, "<?xml version=\"1.0\"?>\n<!-- no <!DOCTYPE here -->\n<smsproviders>"
			     "<provider name=\"a\"><url>http://x/</url><success>OK</success>"
			     "</provider>" TAIL),
		  ==, 0);
	sms_providers_free(&pv);
	refused("<?xml version=\"1.0\"?>\n<!-- <!DOCTYPE -->\n\n<!DOCTYPE smsproviders>\n"
		"<smsproviders/>\n",
		"t.xml:4: <!DOCTYPE is not allowed");
	/* the URL template, expanded with sample values, must be a usable URL */
	refused(HEAD "<provider name=\"a\">\n<url>http://sms gw.example/?t=%TEXT%</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:4: <url> is not a usable URL: invalid character in the URL's host");
	refused(HEAD "<provider name=\"a\">\n<url>https://gw.example:99999/?t=%TEXT%</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:4: <url> is not a usable URL: invalid port in the URL");
	refused(HEAD "<provider name=\"a\">\n<url>https://%USER%:%PASSWORD%@gw.example/</url>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:4: <url> is not a usable URL: user information");
	/* a placeholder in the host name is fine at load */
	CHECK_INT(parse(&pv, HEAD "<provider name=\"a\"><url>https://%GATEWAY%.example.net/s</url>"
				  "<success>OK</success></provider>\n" TAIL),
		  ==, 0);
	sms_providers_free(&pv);
	/* a status list too long for its buffer is reported, not cut */
	{
		char xml[1024];

		snprintf(xml, sizeof(xml),
			 HEAD "<provider name=\"a\">\n<url>http://x/</url>\n<success status=\"%s\">"
			      "OK</success>\n</provider>\n" TAIL,
			 "200,                                                          "
			 "                                                             "
			 "                                                             201");
		refused(xml, "t.xml:5: the status list is longer than 127 characters");
	}
	/* User-Agent and Accept are ucsd's */
	refused(HEAD
		"<provider name=\"a\">\n<url>http://x/</url>\n"
		"<header name=\"user-agent\">x</header>\n<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:5: header user-agent is set by ucsd itself");
	refused(HEAD
		"<provider name=\"a\">\n<url>http://x/</url>\n"
		"<header name=\"Accept\">x</header>\n<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:5: header Accept is set by ucsd itself");
	/* every problem is reported, not only the first */
	refused(HEAD "<provider name=\"a\">\n<url>http://x/?%USR%</url>\n<foo/>\n"
		     "<success>OK</success>\n</provider>\n" TAIL,
		"t.xml:5: unknown element <foo>");
	CHECK_CONTAINS(msgs, "t.xml:4: unknown placeholder %USR%");
	CHECK_INT(sms_providers_load(&pv, "/nonexistent/smsprovider.xml", report, NULL), ==,
		  -ENOENT);
	CHECK_CONTAINS(msgs, "/nonexistent/smsprovider.xml:0: cannot open");
	return check_report();
}
