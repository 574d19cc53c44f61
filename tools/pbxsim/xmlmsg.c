/* tools/pbxsim/xmlmsg.c - ECMA-323 document reading (see xmlmsg.h). */
#include "xmlmsg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* libxml2 reports some problems (encoding conversion) through its generic
 * error handler even with XML_PARSE_NOERROR; a client's bad document is
 * answered on the wire and logged once by the caller, not dumped to stderr. */
static void quiet_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void xmsg_global_init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet_error);
}

void xmsg_global_cleanup(void)
{
	xmlCleanupParser();
}

int xmsg_parse(struct xmsg *m, const char *xml, size_t len)
{
	/* NONET: no network; no NOENT / DTDLOAD / DTDATTR: entities stay
	 * unexpanded and no external subset is read. NOERROR/NOWARNING keep
	 * libxml2 from printing to stderr on malformed input. */
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;

	memset(m, 0, sizeof(*m));
	if (len > INT_MAX)
		return -EINVAL;
	m->doc = xmlReadMemory(xml, (int)len, NULL, NULL, opts);
	if (!m->doc)
		return -EINVAL;
	if (m->doc->intSubset || m->doc->extSubset) {
		xmsg_free(m);
		return -EINVAL;
	}
	m->root = xmlDocGetRootElement(m->doc);
	if (!m->root || !m->root->name) {
		xmsg_free(m);
		return -EINVAL;
	}
	m->name = (const char *)m->root->name;
	return 0;
}

void xmsg_free(struct xmsg *m)
{
	if (m->doc)
		xmlFreeDoc(m->doc);
	memset(m, 0, sizeof(*m));
}

const char *xmsg_local(xmlNodePtr n)
{
	return n ? (const char *)n->name : "";
}

static xmlNodePtr child_named(xmlNodePtr n, const char *name, size_t len)
{
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == len &&
		    memcmp(c->name, name, len) == 0)
			return c;
	}
	return NULL;
}

xmlNodePtr xmsg_path(const struct xmsg *m, xmlNodePtr n, const char *path)
{
	if (!n)
		n = m->root;
	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);

		n = child_named(n, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

static xmlNodePtr find_rec(xmlNodePtr n, const char *local, int depth)
{
	if (depth > 64)
		return NULL;
	for (xmlNodePtr c = n->children; c; c = c->next) {
		xmlNodePtr r;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, local) == 0)
			return c;
		r = find_rec(c, local, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

xmlNodePtr xmsg_find(const struct xmsg *m, xmlNodePtr n, const char *local)
{
	return find_rec(n ? n : m->root, local, 0);
}

int xmsg_text(xmlNodePtr n, char *out, size_t cap)
{
	xmlChar *t;
	const char *s, *e;
	size_t len;
	int err = 0;

	out[0] = '\0';
	if (!n)
		return -ENOENT;
	t = xmlNodeGetContent(n);
	if (!t)
		return -ENOENT;
	s = (const char *)t;
	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	len = (size_t)(e - s);
	if (len == 0) {
		err = -ENOENT;
	} else if (len >= cap) {
		err = -E2BIG;
	} else {
		memcpy(out, s, len);
		out[len] = '\0';
	}
	xmlFree(t);
	return err;
}

int xmsg_get(const struct xmsg *m, const char *path, char *out, size_t cap)
{
	return xmsg_text(xmsg_path(m, NULL, path), out, cap);
}
