/*
 * plugins/notify/nt_render.c - XSLT templates, compiled once and applied
 * to each notification document, in a sandbox.
 *
 * A template comes from the operator (CONFIG_DIR/templates) or ships with
 * ucsd; either way it must not reach beyond the document it is given. So:
 * the stylesheet is parsed without network access and without a DOCTYPE,
 * xsl:include and xsl:import are refused before libxslt sees them (they
 * would read files while compiling), and every transformation runs under
 * security preferences that refuse reading and writing files, creating
 * directories and the network - document('file:///etc/passwd') and
 * xsl:document end the rendering with an error instead of a mail. Errors
 * libxslt reports during compilation or transformation are collected per
 * thread and returned as the error text.
 *
 * A template may also simply not end (doubly recursive templates double
 * their work with each level, within any depth bound). Three bounds stop
 * it: the template depth, libxml2's XPath operation limit (opLimit, counted
 * over the whole transformation) and a watch (struct nt_watch) through
 * which another thread stops a transformation that runs too long by
 * setting the context's state to XSLT_STATE_STOPPED, which libxslt checks
 * between instructions.
 *
 * libxml2's generic error handler is per thread; while compiling or
 * rendering ours collects, and the handler that was there before is put
 * back afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/tree.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

#include "nt.h"

#define XSLT_NS "http://www.w3.org/1999/XSL/Transform"

struct nt_template {
	xsltStylesheetPtr style;
	char name[256];
};

/* What libxslt said while this thread compiled or transformed. */
struct collector {
	char *err;
	size_t cap;
	int errors;
	bool refused; /* a security check said no */
};

static __thread struct collector *current;

/* The handler in force before nt_xml_quiet(true) / a compile or render. */
static __thread xmlGenericErrorFunc saved_func;
static __thread void *saved_ctx;
static __thread int quiet_depth;

static void collect(void *ctx, const char *fmt, ...) UCS_PRINTF(2, 3);

static void quiet_push(void)
{
	if (quiet_depth++ == 0) {
		saved_func = xmlGenericError;
		saved_ctx = xmlGenericErrorContext;
	}
	xmlSetGenericErrorFunc(NULL, collect);
}

static void quiet_pop(void)
{
	if (quiet_depth > 0 && --quiet_depth == 0) {
		xmlSetGenericErrorFunc(saved_ctx, saved_func);
		saved_func = NULL;
		saved_ctx = NULL;
	}
}

struct nt_watch {
	pthread_mutex_t mu;
	xsltTransformContextPtr ctxt; /* the transformation running, or NULL */
	int64_t since_ms;
	unsigned long op_limit;
	bool stopped;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct nt_watch *nt_watch_new(void)
{
	struct nt_watch *w = calloc(1, sizeof(*w));

	if (w && pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w);
		w = NULL;
	}
	return w;
}

void nt_watch_free(struct nt_watch *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void nt_watch_set_op_limit(struct nt_watch *w, unsigned long op_limit)
{
	pthread_mutex_lock(&w->mu);
	w->op_limit = op_limit;
	pthread_mutex_unlock(&w->mu);
}

bool nt_watch_check(struct nt_watch *w, int64_t limit_ms)
{
	bool stop = false;

	if (!w)
		return false;
	pthread_mutex_lock(&w->mu);
	if (w->ctxt && !w->stopped && mono_ms() - w->since_ms > limit_ms) {
		/* libxslt reads the state between instructions; an int store */
		__atomic_store_n((int *)&w->ctxt->state, (int)XSLT_STATE_STOPPED, __ATOMIC_RELAXED);
		w->stopped = stop = true;
	}
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static void collect(void *ctx, const char *fmt, ...)
{
	struct collector *c = current;
	va_list ap;
	size_t used;

	(void)ctx;
	if (!c)
		return;
	c->errors++;
	used = strlen(c->err);
	/* Keep the first message: it names the cause; the rest is the echo. */
	if (used > 0 || c->cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->cap, fmt, ap);
	va_end(ap);
	c->err[strcspn(c->err, "\n")] = '\0';
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_errors(void)
{
	/* libxslt reports through one process-wide function; ours writes to
	 * the calling thread's collector and drops messages otherwise. */
	xsltSetGenericErrorFunc(NULL, collect);
}

static bool refuses_files(const xmlNode *n, char *err, size_t cap)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns && xmlStrcmp(n->ns->href, BAD_CAST XSLT_NS) == 0 &&
		    (xmlStrcmp(n->name, BAD_CAST "include") == 0 ||
		     xmlStrcmp(n->name, BAD_CAST "import") == 0)) {
			snprintf(err, cap,
				 "line %ld: xsl:%s is not allowed: a template may not read files",
				 xmlGetLineNo(n), (const char *)n->name);
			return true;
		}
		if (refuses_files(n->children, err, cap))
			return true;
	}
	return false;
}

int nt_template_load_mem(const char *buf, size_t len, const char *name, struct nt_template **out,
			 char *err, size_t cap)
{
	struct collector col = {err, cap, 0, false};
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	struct nt_template *t = NULL;
	int rc = -EINVAL;

	*out = NULL;
	if (cap)
		err[0] = '\0';
	nt_xml_init();
	if (len > 4 * 1024 * 1024) {
		snprintf(err, cap, "%s: a template is at most 4 MiB", name);
		return -EINVAL;
	}
	ctxt = xmlNewParserCtxt();
	t = calloc(1, sizeof(*t));
	if (!ctxt || !t) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	quiet_push();
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	quiet_pop();
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		snprintf(err, cap, "%s: line %d: %s", name, e ? e->line : 0,
			 e && e->message ? e->message : "not well-formed XML");
		err[strcspn(err, "\n")] = '\0';
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		snprintf(err, cap, "%s: a template may not have a DOCTYPE", name);
		goto out;
	}
	if (refuses_files(xmlDocGetRootElement(doc), err, cap)) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", name, err);
		snprintf(err, cap, "%s", tmp);
		goto out;
	}
	current = &col;
	/* libxml2's own messages (XPath compilation) go to this thread's
	 * handler: collect them instead of printing them on stderr */
	quiet_push();
	t->style = xsltParseStylesheetDoc(doc);
	quiet_pop();
	current = NULL;
	if (!t->style || t->style->errors) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: not a valid XSLT stylesheet%s%s", name,
			 *err ? ": " : "", err);
		snprintf(err, cap, "%s", tmp);
		if (t->style) {
			xsltFreeStylesheet(t->style); /* frees doc */
			t->style = NULL;
			doc = NULL;
		}
		goto out;
	}
	doc = NULL; /* the stylesheet owns it */
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (doc)
		xmlFreeDoc(doc);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	free(t);
	return rc;
}

int nt_template_load_file(const char *path, struct nt_template **t, char *err, size_t cap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	int rc = -EIO;

	*t = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    size > 4 * 1024 * 1024) {
		snprintf(err, cap, "%s: cannot read (or larger than 4 MiB)", path);
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, cap, "%s: cannot read", path);
		goto out;
	}
	rc = nt_template_load_mem(buf, (size_t)size, path, t, err, cap);
out:
	free(buf);
	fclose(f);
	return rc;
}

void nt_template_free(struct nt_template *t)
{
	if (!t)
		return;
	if (t->style)
		xsltFreeStylesheet(t->style);
	free(t);
}

/* Every security check: no, and remember that it said no. */
static int forbid(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value)
{
	(void)sec;
	(void)value;
	if (current)
		current->refused = true;
	(void)ctxt;
	return 0;
}

static void transform_error(void *ctx, const char *fmt, ...) UCS_PRINTF(2, 3);
static void transform_error(void *ctx, const char *fmt, ...)
{
	struct collector *c = ctx;
	va_list ap;

	c->errors++;
	if (c->cap == 0 || c->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->cap, fmt, ap);
	va_end(ap);
	c->err[strcspn(c->err, "\n")] = '\0';
}

int nt_render(struct nt_template *t, void *doc, char **html, size_t *len, char *err, size_t cap)
{
	return nt_render_watched(t, doc, NULL, html, len, err, cap);
}

int nt_render_watched(struct nt_template *t, void *doc, struct nt_watch *w, char **html,
		      size_t *len, char *err, size_t cap)
{
	struct collector col = {err, cap, 0, false};
	xsltSecurityPrefsPtr sec = NULL;
	xsltTransformContextPtr ctxt = NULL;
	xmlDocPtr res = NULL;
	xmlChar *mem = NULL;
	int size = 0, rc = -EINVAL;
	bool stopped = false;

	*html = NULL;
	*len = 0;
	if (cap)
		err[0] = '\0';
	sec = xsltNewSecurityPrefs();
	ctxt = xsltNewTransformContext(t->style, doc);
	if (!sec || !ctxt) {
		rc = -ENOMEM;
		goto out;
	}
	if (xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, forbid) ||
	    xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, forbid) ||
	    xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, forbid) ||
	    xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, forbid) ||
	    xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, forbid) ||
	    xsltSetCtxtSecurityPrefs(sec, ctxt)) {
		snprintf(err, cap, "cannot set the template's security preferences");
		goto out;
	}
	xsltSetTransformErrorFunc(ctxt, &col, transform_error);
	/* Bounds against a runaway template (recursion is the only loop XSLT has). */
	ctxt->maxTemplateDepth = 500;
	ctxt->xpathCtxt->opLimit = NT_RENDER_OP_LIMIT;
	if (w) {
		pthread_mutex_lock(&w->mu);
		if (w->op_limit)
			ctxt->xpathCtxt->opLimit = w->op_limit;
		w->ctxt = ctxt;
		w->since_ms = mono_ms();
		w->stopped = false;
		pthread_mutex_unlock(&w->mu);
	}
	current = &col;
	quiet_push();
	res = xsltApplyStylesheetUser(t->style, doc, NULL, NULL, NULL, ctxt);
	quiet_pop();
	current = NULL;
	if (w) {
		pthread_mutex_lock(&w->mu);
		stopped = w->stopped;
		w->ctxt = NULL;
		pthread_mutex_unlock(&w->mu);
	}
	if (stopped) {
		snprintf(err, cap, "the template ran too long: stopped");
		goto out;
	}
	if (ctxt->xpathCtxt->opLimit && ctxt->xpathCtxt->opCount >= ctxt->xpathCtxt->opLimit) {
		snprintf(err, cap,
			 "the template did too much work (more than %lu XPath operations): "
			 "stopped",
			 ctxt->xpathCtxt->opLimit);
		goto out;
	}
	if (col.refused) {
		if (!err[0] || !strstr(err, "refused"))
			snprintf(err, cap,
				 "the template tried to read or write a file or the "
				 "network: refused");
		goto out;
	}
	if (!res || ctxt->state == XSLT_STATE_ERROR || ctxt->state == XSLT_STATE_STOPPED) {
		if (!err[0])
			snprintf(err, cap, "the transformation failed");
		goto out;
	}
	if (xsltSaveResultToString(&mem, &size, res, t->style) != 0 || !mem) {
		if (!mem && size == 0) {
			/* an empty result is a result, but not a mail */
			snprintf(err, cap, "the template produced nothing");
		} else {
			snprintf(err, cap, "cannot serialise the result");
		}
		goto out;
	}
	*html = malloc((size_t)size + 1);
	if (!*html) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*html, mem, (size_t)size);
	(*html)[size] = '\0';
	*len = (size_t)size;
	rc = 0;
out:
	current = NULL;
	xmlFree(mem);
	if (res)
		xmlFreeDoc(res);
	if (ctxt)
		xsltFreeTransformContext(ctxt);
	if (sec)
		xsltFreeSecurityPrefs(sec);
	return rc;
}

void nt_xml_quiet(bool on)
{
	if (on)
		quiet_push();
	else
		quiet_pop();
}

void nt_xml_init(void)
{
	/* Idempotent; makes libxml2's globals ready for threads. */
	xmlInitParser();
	xsltInit();
	pthread_once(&init_once, init_errors);
}
