/*
 * plugins/notify/nt_lang.c - language files: the words of a notification.
 *
 *   <language code="en" name="English">
 *     <string name="subject_unanswered">Missed call from %CALLER%</string>
 *     ...
 *   </language>
 *
 * The template gets every string in the document (<strings>), the subject,
 * the plain text and the SMS come from here with placeholders expanded
 * (nt_expand). A file is parsed without network access and must not carry
 * a DOCTYPE (no entities, so no entity expansion tricks). A malformed file
 * is an error naming the line; the caller keeps what it had.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "nt.h"

#define NT_LANG_MAX_STRINGS 1000
#define NT_LANG_MAX_VALUE   8192

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

void nt_lang_free(struct nt_lang *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->s[i].name);
		free(l->s[i].value);
	}
	free(l->s);
	memset(l, 0, sizeof(*l));
}

static int add(struct nt_lang *l, const char *name, const char *value)
{
	struct nt_lang_string *s = realloc(l->s, (l->n + 1) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	l->s = s;
	s[l->n].name = strdup(name);
	s[l->n].value = strdup(value);
	if (!s[l->n].name || !s[l->n].value) {
		free(s[l->n].name);
		free(s[l->n].value);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static int parse(struct nt_lang *l, xmlDocPtr doc, char *err, size_t cap)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlChar *code = NULL, *lname = NULL;
	int rc = -EINVAL;

	if (doc->intSubset || doc->extSubset) {
		snprintf(err, cap, "a language file may not have a DOCTYPE");
		goto out;
	}
	if (!root || xmlStrcmp(root->name, BAD_CAST "language") != 0 || root->ns) {
		snprintf(err, cap, "the root element must be <language>");
		goto out;
	}
	code = xmlGetProp(root, BAD_CAST "code");
	lname = xmlGetProp(root, BAD_CAST "name");
	if (!code || nt_language_check((const char *)code) != 0) {
		snprintf(err, cap, "line %ld: <language> needs a code of letters, digits, - and _",
			 xmlGetLineNo(root));
		goto out;
	}
	snprintf(l->code, sizeof(l->code), "%s", (const char *)code);
	snprintf(l->name, sizeof(l->name), "%s", lname ? (const char *)lname : l->code);
	for (xmlNodePtr n = root->children; n; n = n->next) {
		xmlChar *name, *value;
		int e;

		if (n->type == XML_COMMENT_NODE || n->type == XML_TEXT_NODE) {
			if (n->type == XML_TEXT_NODE && !xmlIsBlankNode(n)) {
				snprintf(err, cap, "line %ld: text outside <string>",
					 xmlGetLineNo(n));
				goto out;
			}
			continue;
		}
		if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "string") != 0) {
			snprintf(err, cap, "line %ld: only <string> elements belong in <language>",
				 xmlGetLineNo(n));
			goto out;
		}
		for (xmlNodePtr c = n->children; c; c = c->next)
			if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
				snprintf(err, cap, "line %ld: <string> holds text only",
					 xmlGetLineNo(n));
				goto out;
			}
		name = xmlGetProp(n, BAD_CAST "name");
		if (!name || !name_ok((const char *)name)) {
			snprintf(err, cap, "line %ld: <string> needs a name of [a-z0-9_]",
				 xmlGetLineNo(n));
			xmlFree(name);
			goto out;
		}
		if (nt_lang_get(l, (const char *)name)) {
			snprintf(err, cap, "line %ld: string \"%s\" is defined twice",
				 xmlGetLineNo(n), (const char *)name);
			xmlFree(name);
			goto out;
		}
		if (l->n >= NT_LANG_MAX_STRINGS) {
			snprintf(err, cap, "more than %d strings", NT_LANG_MAX_STRINGS);
			xmlFree(name);
			goto out;
		}
		value = xmlNodeGetContent(n);
		if (value && strlen((const char *)value) > NT_LANG_MAX_VALUE) {
			snprintf(err, cap, "line %ld: string \"%s\" is longer than %d bytes",
				 xmlGetLineNo(n), (const char *)name, NT_LANG_MAX_VALUE);
			xmlFree(name);
			xmlFree(value);
			goto out;
		}
		e = add(l, (const char *)name, value ? (const char *)value : "");
		xmlFree(name);
		xmlFree(value);
		if (e) {
			rc = e;
			snprintf(err, cap, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	xmlFree(code);
	xmlFree(lname);
	return rc;
}

int nt_lang_load_mem(struct nt_lang *l, const char *buf, size_t len, char *err, size_t cap)
{
	void *doc;
	struct nt_lang next = {0};
	int rc;

	if (len > 1024 * 1024) {
		snprintf(err, cap, "a language file is at most 1 MiB");
		return -EINVAL;
	}
	/* the same guarded parse as the notification documents: no network,
	 * no DOCTYPE, libxml2's messages collected rather than printed */
	rc = nt_xml_parse(buf, len, &doc, err, cap);
	if (rc)
		return rc;
	rc = parse(&next, doc, err, cap);
	nt_xml_free(doc);
	if (rc) {
		nt_lang_free(&next);
		return rc;
	}
	nt_lang_free(l);
	*l = next;
	return 0;
}

int nt_lang_load_file(struct nt_lang *l, const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	int rc = -EIO;

	if (!f) {
		rc = -errno;
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, cap, "%s: cannot read", path);
		goto out;
	}
	if (size > 1024 * 1024) {
		snprintf(err, cap, "%s: a language file is at most 1 MiB", path);
		rc = -EINVAL;
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
	rc = nt_lang_load_mem(l, buf, (size_t)size, err, cap);
	if (rc) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, cap, "%s", tmp);
	}
out:
	free(buf);
	fclose(f);
	return rc;
}

const char *nt_lang_get(const struct nt_lang *l, const char *name)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->s[i].name, name) == 0)
			return l->s[i].value;
	return NULL;
}
