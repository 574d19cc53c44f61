/*
 * plugins/sms/sms_provider.c - the loader of smsprovider.xml and the
 * success test of a gateway's answer.
 *
 * The file is the operator's (or ours, shipped): every problem in it is
 * reported with file:line and the whole file is refused, so the server
 * never sends through a provider it half understood. Unknown elements and
 * attributes are errors too - a misspelt <sucess> would otherwise turn
 * into "every answer is a success". Templates are checked for unknown
 * placeholders, success patterns are compiled (PCRE2, UTF-8, and matching
 * of invalid UTF-8 allowed, since a gateway's answer is whatever it is),
 * and a URL template is expanded with sample values and parsed, so a
 * template that can never become a usable URL is refused at load, not at
 * the first SMS. No DTD, no entities, no network (XML_PARSE_NONET, no
 * XML_PARSE_NOENT; a document with a DOCTYPE is refused).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "sms.h"

struct loader {
	const char *file;
	sms_report_h *report;
	void *arg;
	int problems;
	int nomem;
};

static void problem(struct loader *l, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct loader *l, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->problems++;
	if (l->report)
		l->report(l->arg, l->file, line, msg);
}

static int line_of(const xmlNode *n)
{
	return (int)xmlGetLineNo(n);
}

static int is_el(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Comments, processing instructions and white space between elements. */
static int ignorable(struct loader *l, const xmlNode *n, const char *in)
{
	if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE)
		return 1;
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
		const xmlChar *t = n->content;

		for (; t && *t; t++)
			if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r') {
				problem(l, line_of(n), "text is not allowed directly in <%s>", in);
				return 1;
			}
		return 1;
	}
	return 0;
}

static char *dup_str(struct loader *l, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		l->nomem = 1;
	return d;
}

/* The element's text, or NULL (problem reported) when it has children. */
static char *text_of(struct loader *l, const xmlNode *n)
{
	xmlChar *t;
	char *d;

	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			problem(l, line_of(c), "<%s> may hold only text, not <%s>", n->name,
				c->name);
			return NULL;
		}
	t = xmlNodeGetContent(n);
	d = dup_str(l, t ? (const char *)t : "");
	xmlFree(t);
	return d;
}

static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* Every attribute of n must be one of allowed (NULL-terminated). */
static void check_attrs(struct loader *l, const xmlNode *n, const char *const *allowed)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		int ok = 0;

		for (size_t i = 0; allowed && allowed[i]; i++)
			if (strcmp((const char *)a->name, allowed[i]) == 0)
				ok = 1;
		if (!ok)
			problem(l, line_of(n), "unknown attribute %s on <%s>", a->name, n->name);
	}
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?={}", *s))
			return 0;
	return 1;
}

static void check_template(struct loader *l, const xmlNode *n, const char *t)
{
	char bad[80];

	if (strlen(t) > SMS_TEMPLATE_MAX)
		problem(l, line_of(n), "<%s> is longer than %d bytes", n->name, SMS_TEMPLATE_MAX);
	else if (sms_template_check(t, bad, sizeof(bad)))
		problem(l, line_of(n),
			"unknown placeholder %s in <%s> (known: %%USER%% "
			"%%PASSWORD%% %%SENDER%% %%RECIPIENT%% %%TEXT%% %%GATEWAY%%)",
			bad, n->name);
}

/*
 * The URL template expanded with sample values must parse: a space in the
 * host, a port past 65535 or user information would otherwise only show
 * at the first SMS. The samples are plain words, so a %GATEWAY% in the
 * host name passes here and is checked with the real value at send time.
 */
static void check_url(struct loader *l, const xmlNode *n, const char *tmpl)
{
	static const struct sms_values sample = {
		.user = "user",
		.password = "password",
		.sender = "+491701234567",
		.recipient = "+491701234567",
		.text = "text",
		.gateway = "gateway",
	};
	struct sms_buf url = {0};
	struct sms_url u;
	char why[160];
	int err = sms_expand(&url, tmpl, SMS_ENC_URL, &sample);

	if (err == -ENOMEM)
		l->nomem = 1;
	else if (err || !url.data)
		problem(l, line_of(n), "<url> is too long once expanded");
	else if ((err = sms_url_parse(url.data, &u, why, sizeof(why))) == -ENOMEM)
		l->nomem = 1;
	else if (err)
		problem(l, line_of(n), "<url> is not a usable URL: %s", why);
	else
		sms_url_free(&u);
	sms_buf_free(&url);
}

static int parse_numfmt(struct loader *l, const xmlNode *n, enum sms_numfmt *out)
{
	static const char *const allowed[] = {"format", NULL};
	char *f = attr(n, "format");
	int err = 0;

	check_attrs(l, n, allowed);
	if (!f || strcmp(f, "international") == 0)
		*out = SMS_NUM_PLUS;
	else if (strcmp(f, "00") == 0)
		*out = SMS_NUM_00;
	else if (strcmp(f, "digits") == 0)
		*out = SMS_NUM_DIGITS;
	else {
		problem(l, line_of(n), "format must be international, 00 or digits, not \"%s\"", f);
		err = -EINVAL;
	}
	if (n->children)
		for (const xmlNode *c = n->children; c; c = c->next)
			ignorable(l, c, (const char *)n->name);
	xmlFree(f);
	return err;
}

/* "200", "200,202", "200-299", "2xx" */
static void parse_status(struct loader *l, const xmlNode *n, struct sms_provider *p, const char *s)
{
	char buf[128], *save = NULL, *tok = NULL;
	int bad = 0;

	p->n_status = 0;
	if (strlen(s) >= sizeof(buf)) {
		problem(l, line_of(n), "the status list is longer than %zu characters",
			sizeof(buf) - 1);
		bad = 1;
	} else {
		snprintf(buf, sizeof(buf), "%s", s);
		tok = strtok_r(buf, ", ", &save);
	}
	for (; !bad && tok; tok = strtok_r(NULL, ", ", &save)) {
		int lo = 0, hi = 0;
		char c1, c2;

		if (p->n_status == SMS_STATUS_RANGES) {
			problem(l, line_of(n), "more than %d status ranges", SMS_STATUS_RANGES);
			bad = 1;
		} else if (strlen(tok) == 3 && tok[0] >= '1' && tok[0] <= '5' &&
			   strcasecmp(tok + 1, "xx") == 0) {
			lo = (tok[0] - '0') * 100;
			hi = lo + 99;
		} else if (sscanf(tok, "%3d-%3d%c", &lo, &hi, &c1) == 2) {
		} else if (sscanf(tok, "%3d%c", &lo, &c2) == 1) {
			hi = lo;
		} else {
			problem(l, line_of(n), "invalid status \"%s\" (e.g. 200, 200-299, 2xx)",
				tok);
			bad = 1;
		}
		if (!bad && (lo < 100 || hi > 599 || lo > hi)) {
			problem(l, line_of(n), "invalid status range \"%s\"", tok);
			bad = 1;
		}
		if (!bad) {
			p->status[p->n_status].lo = lo;
			p->status[p->n_status].hi = hi;
			p->n_status++;
		}
	}
	if (!bad && !p->n_status)
		problem(l, line_of(n), "empty status list");
}

static void parse_success(struct loader *l, const xmlNode *n, struct sms_provider *p)
{
	static const char *const allowed[] = {"status", NULL};
	char *status = attr(n, "status");
	PCRE2_SIZE off;
	int code;

	check_attrs(l, n, allowed);
	if (p->success_text) {
		problem(l, line_of(n), "a second <success>");
		xmlFree(status);
		return;
	}
	if (status)
		parse_status(l, n, p, status);
	xmlFree(status);
	p->success_text = text_of(l, n);
	if (!p->success_text)
		return;
	p->success = pcre2_compile((PCRE2_SPTR)p->success_text, PCRE2_ZERO_TERMINATED,
				   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
	if (!p->success) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(code, msg, sizeof(msg));
		problem(l, line_of(n), "success pattern: %s at offset %zu", (const char *)msg,
			(size_t)off);
	}
}

static void parse_body(struct loader *l, const xmlNode *n, struct sms_provider *p)
{
	static const char *const allowed[] = {"type", "encoding", NULL};
	char *type = attr(n, "type"), *enc = attr(n, "encoding");

	check_attrs(l, n, allowed);
	if (p->body || p->content_type) {
		problem(l, line_of(n), "a second <body>");
		goto out;
	}
	if (type && (!*type || strpbrk(type, "\r\n"))) {
		problem(l, line_of(n), "invalid body type");
		goto out;
	}
	p->content_type =
		dup_str(l, type ? type : "application/x-www-form-urlencoded; charset=utf-8");
	p->body_enc = sms_enc_for_type(p->content_type);
	if (enc) {
		if (strcmp(enc, "form") == 0)
			p->body_enc = SMS_ENC_FORM;
		else if (strcmp(enc, "url") == 0)
			p->body_enc = SMS_ENC_URL;
		else if (strcmp(enc, "json") == 0)
			p->body_enc = SMS_ENC_JSON;
		else if (strcmp(enc, "xml") == 0)
			p->body_enc = SMS_ENC_XML;
		else if (strcmp(enc, "none") == 0)
			p->body_enc = SMS_ENC_NONE;
		else
			problem(l, line_of(n), "encoding must be form, url, json, xml or none");
	}
	p->body = text_of(l, n);
	if (p->body)
		check_template(l, n, p->body);
out:
	xmlFree(type);
	xmlFree(enc);
}

static void parse_header(struct loader *l, const xmlNode *n, struct sms_provider *p)
{
	static const char *const allowed[] = {"name", NULL};
	/* the last one only with <auth>basic</auth> */
	static const char *const reserved[] = {
		"host",	      "content-length", "connection",	"transfer-encoding",
		"user-agent", "accept",		"content-type", "authorization"};
	const size_t always = sizeof(reserved) / sizeof(reserved[0]) - 1;
	char *name = attr(n, "name");
	struct sms_header *h;

	check_attrs(l, n, allowed);
	if (!name || !token(name)) {
		problem(l, line_of(n), "<header> needs a valid name attribute");
		goto out;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i]) == 0 && (i < always || p->basic_auth)) {
			problem(l, line_of(n), "header %s is set by ucsd itself", name);
			goto out;
		}
	if (p->n_headers == SMS_HEADERS_MAX) {
		problem(l, line_of(n), "more than %d headers", SMS_HEADERS_MAX);
		goto out;
	}
	h = &p->headers[p->n_headers++];
	h->name = dup_str(l, name);
	h->value = text_of(l, n);
	if (h->value) {
		check_template(l, n, h->value);
		if (strpbrk(h->value, "\r\n"))
			problem(l, line_of(n), "a header value must be one line");
	}
out:
	xmlFree(name);
}

static void parse_gateway(struct loader *l, const xmlNode *n, struct sms_provider *p)
{
	static const char *const allowed[] = {"value", NULL};
	char *value = attr(n, "value");

	check_attrs(l, n, allowed);
	if (!value) {
		problem(l, line_of(n), "<gateway> needs a value attribute");
		return;
	}
	if (p->n_gateways == SMS_GATEWAYS_MAX) {
		problem(l, line_of(n), "more than %d gateways", SMS_GATEWAYS_MAX);
	} else {
		struct sms_gateway *g = &p->gateways[p->n_gateways++];

		g->value = dup_str(l, value);
		g->description = text_of(l, n);
	}
	xmlFree(value);
}

static void provider_free(struct sms_provider *p)
{
	free(p->name);
	free(p->description);
	free(p->url);
	free(p->body);
	free(p->content_type);
	for (size_t i = 0; i < p->n_headers; i++) {
		free(p->headers[i].name);
		free(p->headers[i].value);
	}
	for (size_t i = 0; i < p->n_gateways; i++) {
		free(p->gateways[i].value);
		free(p->gateways[i].description);
	}
	free(p->success_text);
	pcre2_code_free(p->success);
	memset(p, 0, sizeof(*p));
}

static void parse_provider(struct loader *l, const xmlNode *pn, struct sms_provider *p)
{
	static const char *const allowed[] = {"name", NULL};
	char *name = attr(pn, "name");
	int have_method = 0, have_auth = 0, have_rfmt = 0, have_sfmt = 0;
	const xmlNode *url_node = NULL, *body_node = NULL;

	p->line = line_of(pn);
	p->status[0].lo = 200;
	p->status[0].hi = 299;
	p->n_status = 1;
	check_attrs(l, pn, allowed);
	if (!name || !valid_name(name))
		problem(l, p->line,
			"<provider> needs a name attribute of letters, digits, '-', "
			"'_' and '.' (at most 64)");
	p->name = dup_str(l, name ? name : "");
	xmlFree(name);
	/* <auth> first: it decides whether an Authorization header is ours */
	for (const xmlNode *c = pn->children; c; c = c->next)
		if (is_el(c, "auth")) {
			char *t = text_of(l, c);

			if (have_auth++)
				problem(l, line_of(c), "a second <auth>");
			else if (t && strcmp(t, "basic") == 0)
				p->basic_auth = 1;
			else if (t && strcmp(t, "none") != 0)
				problem(l, line_of(c), "<auth> must be basic or none");
			check_attrs(l, c, NULL);
			free(t);
		}
	for (const xmlNode *c = pn->children; c; c = c->next) {
		if (ignorable(l, c, "provider") || is_el(c, "auth"))
			continue;
		if (is_el(c, "description")) {
			check_attrs(l, c, NULL);
			if (p->description)
				problem(l, line_of(c), "a second <description>");
			else
				p->description = text_of(l, c);
		} else if (is_el(c, "method")) {
			char *t = text_of(l, c);

			check_attrs(l, c, NULL);
			if (have_method++)
				problem(l, line_of(c), "a second <method>");
			else if (t && strcmp(t, "POST") == 0)
				p->post = 1;
			else if (t && strcmp(t, "GET") != 0)
				problem(l, line_of(c), "<method> must be GET or POST, not \"%s\"",
					t);
			free(t);
		} else if (is_el(c, "url")) {
			check_attrs(l, c, NULL);
			if (p->url) {
				problem(l, line_of(c), "a second <url>");
				continue;
			}
			url_node = c;
			p->url = text_of(l, c);
			if (p->url) {
				int before = l->problems;

				check_template(l, c, p->url);
				if (strncmp(p->url, "http://", 7) != 0 &&
				    strncmp(p->url, "https://", 8) != 0)
					problem(l, line_of(c),
						"<url> must start with http:// or https://");
				else if (l->problems == before)
					check_url(l, c, p->url);
			}
		} else if (is_el(c, "body")) {
			body_node = c;
			parse_body(l, c, p);
		} else if (is_el(c, "header")) {
			parse_header(l, c, p);
		} else if (is_el(c, "success")) {
			parse_success(l, c, p);
		} else if (is_el(c, "recipient")) {
			if (have_rfmt++)
				problem(l, line_of(c), "a second <recipient>");
			parse_numfmt(l, c, &p->recipient_fmt);
		} else if (is_el(c, "sender")) {
			if (have_sfmt++)
				problem(l, line_of(c), "a second <sender>");
			parse_numfmt(l, c, &p->sender_fmt);
		} else if (is_el(c, "gateway")) {
			parse_gateway(l, c, p);
		} else {
			problem(l, line_of(c), "unknown element <%s> in <provider>", c->name);
		}
	}
	if (!url_node)
		problem(l, p->line, "provider %s has no <url>", p->name ? p->name : "");
	if (!p->success_text)
		problem(l, p->line, "provider %s has no <success> pattern", p->name ? p->name : "");
	if (body_node && !p->post)
		problem(l, line_of(body_node), "<body> needs <method>POST</method>");
	if (p->post && !p->body && !l->nomem)
		p->body = dup_str(l, "");
	if (p->post && !p->content_type && !l->nomem) {
		p->content_type = dup_str(l, "application/x-www-form-urlencoded; charset=utf-8");
		p->body_enc = SMS_ENC_FORM;
	}
}

void sms_providers_free(struct sms_providers *p)
{
	for (size_t i = 0; i < p->n; i++)
		provider_free(&p->v[i]);
	free(p->v);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

/* 1-based line of offset off in buf. */
static int line_at(const char *buf, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

/* The line of the DOCTYPE libxml2 found (its node has no line number):
 * the first "<!DOCTYPE" outside comments, which is where a well-formed
 * document can have it (before the root, after the XML declaration). */
static int doctype_line(const char *buf, size_t len)
{
	static const char what[] = "<!DOCTYPE";
	size_t n = sizeof(what) - 1;

	for (size_t i = 0; i + n <= len; i++) {
		if (i + 4 <= len && memcmp(buf + i, "<!--", 4) == 0) {
			size_t j = i + 4;

			while (j + 3 <= len && memcmp(buf + j, "-->", 3) != 0)
				j++;
			i = j + 2;
			continue;
		}
		if (memcmp(buf + i, what, n) == 0)
			return line_at(buf, i);
	}
	return 0;
}

int sms_providers_parse(struct sms_providers *out, const char *file, const char *buf, size_t len,
			sms_report_h *report, void *arg)
{
	struct loader l = {.file = file, .report = report, .arg = arg};
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	xmlDtdPtr dtd;
	size_t count = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	xmlInitParser();
	if (len > SMS_FILE_MAX) {
		problem(&l, 0, "larger than %d bytes", SMS_FILE_MAX);
		err = -EINVAL;
		goto out;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		err = -ENOMEM;
		goto out;
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, file, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
					XML_PARSE_BIG_LINES);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *xe = xmlCtxtGetLastError(ctxt);
		char msg[256] = "not well-formed XML";

		if (xe && xe->message) {
			snprintf(msg, sizeof(msg), "%s", xe->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		problem(&l, xe ? xe->line : 0, "XML: %s", msg);
		err = -EINVAL;
		goto out;
	}
	/* entities are never substituted (no XML_PARSE_NOENT) and nothing is
	 * fetched (XML_PARSE_NONET), but a document with a DTD is refused
	 * before anything of it is read: what it declares would go unused at
	 * best and surprise its author at worst */
	dtd = xmlGetIntSubset(doc);
	if (dtd) {
		problem(&l, doctype_line(buf, len),
			"<!DOCTYPE is not allowed (no DTD or entities)");
		err = -EINVAL;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_el(root, "smsproviders")) {
		problem(&l, root ? line_of(root) : 0, "the root element must be <smsproviders>");
		err = -EINVAL;
		goto out;
	}
	{
		static const char *const allowed[] = {"version", NULL};

		check_attrs(&l, root, allowed);
	}
	for (const xmlNode *c = root->children; c; c = c->next)
		if (is_el(c, "provider"))
			count++;
	if (count > SMS_PROVIDERS_MAX) {
		problem(&l, line_of(root), "more than %d providers", SMS_PROVIDERS_MAX);
		err = -EINVAL;
		goto out;
	}
	out->v = calloc(count ? count : 1, sizeof(*out->v));
	out->file = strdup(file ? file : "");
	if (!out->v || !out->file) {
		err = -ENOMEM;
		goto out;
	}
	for (const xmlNode *c = root->children; c; c = c->next) {
		struct sms_provider *p;

		if (ignorable(&l, c, "smsproviders"))
			continue;
		if (!is_el(c, "provider")) {
			problem(&l, line_of(c), "unknown element <%s> in <smsproviders>", c->name);
			continue;
		}
		p = &out->v[out->n++];
		parse_provider(&l, c, p);
		for (size_t i = 0; p->name && *p->name && i + 1 < out->n; i++)
			if (strcmp(out->v[i].name, p->name) == 0)
				problem(&l, p->line,
					"provider %s is defined twice (first on line %d)", p->name,
					out->v[i].line);
	}
	if (!out->n)
		problem(&l, line_of(root), "no <provider> in the file");
	if (l.nomem)
		err = -ENOMEM;
	else if (l.problems)
		err = -EINVAL;
out:
	if (doc)
		xmlFreeDoc(doc);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	if (err)
		sms_providers_free(out);
	return err;
}

int sms_providers_load(struct sms_providers *out, const char *path, sms_report_h *report, void *arg)
{
	struct loader l = {.file = path, .report = report, .arg = arg};
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!f) {
		err = -errno;
		problem(&l, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	buf = malloc(SMS_FILE_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	len = fread(buf, 1, SMS_FILE_MAX + 1, f);
	if (ferror(f)) {
		err = -EIO;
		problem(&l, 0, "cannot read");
		goto out;
	}
	err = sms_providers_parse(out, path, buf, len, report, arg);
out:
	free(buf);
	if (f)
		fclose(f);
	return err;
}

const struct sms_provider *sms_provider_find(const struct sms_providers *p, const char *name)
{
	for (size_t i = 0; name && i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

int sms_provider_names(const struct sms_providers *p, char *buf, size_t cap)
{
	size_t o = 0;
	int n;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		n = snprintf(buf + o, o < cap ? cap - o : 0, "%s%s", i ? ", " : "", p->v[i].name);
		if (n < 0)
			return -EINVAL;
		o += (size_t)n;
	}
	return (int)o;
}

int sms_provider_accepts(const struct sms_provider *p, int status, const char *body, size_t len)
{
	pcre2_match_data *md;
	pcre2_match_context *mc;
	int in = 0, rc;

	for (size_t i = 0; i < p->n_status; i++)
		if (status >= p->status[i].lo && status <= p->status[i].hi)
			in = 1;
	if (!in)
		return 0;
	if (!p->success)
		return 0;
	md = pcre2_match_data_create_from_pattern(p->success, NULL);
	mc = pcre2_match_context_create(NULL);
	if (!md || !mc) {
		pcre2_match_data_free(md);
		pcre2_match_context_free(mc);
		return -ENOMEM;
	}
	/* a pattern that backtracks badly gives up instead of stalling the loop */
	pcre2_set_match_limit(mc, 100000);
	pcre2_set_depth_limit(mc, 1000);
	rc = pcre2_match(p->success, (PCRE2_SPTR)(body ? body : ""), len, 0, 0, md, mc);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return rc >= 0 ? 1 : 0;
}
