/*
 * tools/pbxsim/xmlmsg.h - reading ECMA-323 documents.
 *
 * Documents are parsed with libxml2 without network access, without entity
 * substitution and without loading a DTD; a document that carries a DTD
 * (internal subset) is refused outright, so no entity can be declared.
 * CSTA editions differ in their namespace
 * (http://www.ecma-international.org/standards/ecma-323/csta/ed3, ed4, ed5)
 * but not in the element names pbxsim reads, so every lookup matches local
 * names and ignores the namespace. Values are the trimmed text content of an
 * element, which reads both <deviceObject>100</deviceObject> and forms that
 * wrap the value in a child element.
 */
#ifndef PBXSIM_XMLMSG_H
#define PBXSIM_XMLMSG_H

#include <stdbool.h>
#include <stddef.h>

struct _xmlNode;
struct _xmlDoc;

struct xmsg {
	struct _xmlDoc *doc;
	struct _xmlNode *root;
	const char *name; /* the root's local name: the service or event */
};

/* Process-wide libxml2 setup and teardown. */
void xmsg_global_init(void);
void xmsg_global_cleanup(void);

/* 0 or -EINVAL (not well-formed, has a DTD, no root element). */
int xmsg_parse(struct xmsg *m, const char *xml, size_t len);
void xmsg_free(struct xmsg *m);

/* The element at a '/'-separated path of local names below n (NULL = root). */
struct _xmlNode *xmsg_path(const struct xmsg *m, struct _xmlNode *n, const char *path);
/* The first descendant element with this local name (depth first). */
struct _xmlNode *xmsg_find(const struct xmsg *m, struct _xmlNode *n, const char *local);
/* Trimmed text content of n into out. 0, -ENOENT (n NULL or empty),
 * -E2BIG (longer than cap - 1). */
int xmsg_text(struct _xmlNode *n, char *out, size_t cap);
/* xmsg_text of xmsg_path. */
int xmsg_get(const struct xmsg *m, const char *path, char *out, size_t cap);
const char *xmsg_local(struct _xmlNode *n);

#endif
