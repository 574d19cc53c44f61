/*
 * tools/ucs-dialplan/edit.c - rule list and LCR import/export (see edit.h).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "csv.h"
#include "dp.h"
#include "edit.h"

#define EDIT_FILE_MAX (16 << 20)

static const char *const rule_lists[] = {"external", "internal", "lineNumbers", "incoming",
					 "outgoing", "dial",	 "dialFinal",	NULL};

static void report(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (file && line)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s%s%s\n", file ? file : "", file ? ": " : "", msg);
}

static bool is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Reads a whole file (at most EDIT_FILE_MAX) into a NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		fprintf(stderr, "ucs-dialplan: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= EDIT_FILE_MAX &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		fprintf(stderr, "ucs-dialplan: %s: cannot read it (or larger than 16 MiB)\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Parses an XML file without network access or entity expansion; refuses
 * DOCTYPEs like the dialplan's own loaders. */
static xmlDoc *read_xml(const char *path, const char *text, size_t len)
{
	xmlDoc *doc;

	if (strstr(text, "<!DOCTYPE")) {
		fprintf(stderr, "ucs-dialplan: %s: DOCTYPE declarations are not accepted\n", path);
		return NULL;
	}
	doc = xmlReadMemory(text, (int)len, path, NULL, XML_PARSE_NONET);
	if (!doc)
		fprintf(stderr, "ucs-dialplan: %s: not well-formed XML\n", path);
	return doc;
}

struct locations_file {
	char path[4096];
	char *text;
	size_t len;
	xmlDoc *doc;
	xmlNode *location;
};

static int open_location(struct locations_file *lf, const char *config_dir, const char *location)
{
	xmlNode *root;

	snprintf(lf->path, sizeof(lf->path), "%s/locations.xml", config_dir);
	lf->text = slurp(lf->path, &lf->len);
	if (!lf->text || !(lf->doc = read_xml(lf->path, lf->text, lf->len)))
		return -EINVAL;
	root = xmlDocGetRootElement(lf->doc);
	for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
		xmlChar *name = is_elem(c, "location") ? xmlGetProp(c, BAD_CAST "name") : NULL;
		bool hit = name && (!location || strcmp((const char *)name, location) == 0);

		xmlFree(name);
		if (hit) {
			lf->location = c;
			return 0;
		}
	}
	fprintf(stderr, "ucs-dialplan: %s: no location \"%s\"\n", lf->path,
		location ? location : "(first)");
	return -ENOENT;
}

static void close_location(struct locations_file *lf)
{
	xmlFreeDoc(lf->doc);
	free(lf->text);
}

static bool known_list(const char *list)
{
	for (const char *const *l = rule_lists; *l; l++)
		if (strcmp(*l, list) == 0)
			return true;
	fprintf(stderr,
		"ucs-dialplan: unknown rule list \"%s\" (external, internal, lineNumbers, "
		"incoming, outgoing, dial, dialFinal)\n",
		list);
	return false;
}

/* ---- export ---------------------------------------------------------------------------- */

static char *prop(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, BAD_CAST name);
}

int dpedit_export_rules(const char *config_dir, const char *location, const char *list, bool csv,
			FILE *out)
{
	struct locations_file lf = {0};
	xmlNode *rules;
	int err;

	if (!known_list(list))
		return -EINVAL;
	err = open_location(&lf, config_dir, location);
	if (err)
		goto out;
	rules = child(child(lf.location, "rules"), list);
	if (csv)
		fputs("search,replace,regex\n", out);
	else
		fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rules list=\"%s\">\n",
			list);
	for (xmlNode *r = rules ? rules->children : NULL; r; r = r->next) {
		char *search, *replace, *regex;

		if (!is_elem(r, "rule"))
			continue;
		search = prop(r, "search");
		replace = prop(r, "replace");
		regex = prop(r, "regex");
		if (csv) {
			csv_write_field(out, search ? search : "");
			fputc(',', out);
			csv_write_field(out, replace ? replace : "");
			fputc(',', out);
			fputs(regex && strcmp(regex, "true") == 0 ? "true" : "false", out);
			fputc('\n', out);
		} else {
			xmlNode *copy = xmlCopyNode(r, 1);
			xmlBuffer *b = xmlBufferCreate();

			xmlNodeDump(b, lf.doc, copy, 1, 0);
			fprintf(out, "  %s\n", (const char *)xmlBufferContent(b));
			xmlBufferFree(b);
			xmlFreeNode(copy);
		}
		xmlFree(search);
		xmlFree(replace);
		xmlFree(regex);
	}
	if (!csv)
		fputs("</rules>\n", out);
out:
	close_location(&lf);
	return err;
}

int dpedit_export_lcr(const char *config_dir, const char *location, FILE *out)
{
	struct locations_file lf = {0};
	xmlDoc *doc = NULL;
	xmlNode *lcr, *copy;
	xmlChar *name;
	int err = open_location(&lf, config_dir, location);

	if (err)
		goto out;
	lcr = child(lf.location, "lcr");
	doc = xmlNewDoc(BAD_CAST "1.0");
	copy = lcr ? xmlDocCopyNode(lcr, doc, 1) : xmlNewDocNode(doc, NULL, BAD_CAST "lcr", NULL);
	name = xmlGetProp(lf.location, BAD_CAST "name");
	xmlSetProp(copy, BAD_CAST "location", name);
	xmlFree(name);
	xmlDocSetRootElement(doc, copy);
	xmlDocFormatDump(out, doc, 1);
out:
	xmlFreeDoc(doc);
	close_location(&lf);
	return err;
}

/* ---- import ---------------------------------------------------------------------------- */

/* Writes `len` bytes to path (created next to the target) with the mode and
 * owner of `like`, and fsyncs it. */
static int write_file(const char *path, const void *data, size_t len, const struct stat *like)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	/* the server (maybe another user) must still read it after an import */
	if (fchmod(fd, like->st_mode & 07777) != 0 ||
	    (fchown(fd, like->st_uid, like->st_gid) != 0 && errno != EPERM) ||
	    write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* Writes doc over the file atomically (temp file, fsync, rename, fsync of
 * the directory), keeping the previous content as .bak. A symlinked
 * locations.xml is written through: its target is replaced, not the link. */
static int write_atomic(struct locations_file *lf)
{
	char real[4096], tmp[4200], bak[4200], dir[4096], *slash;
	xmlChar *mem = NULL;
	struct stat st;
	int size = 0, err = 0, dfd;

	if (!realpath(lf->path, real) || stat(real, &st) != 0) {
		err = -errno;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", real);
	snprintf(bak, sizeof(bak), "%s.bak", lf->path);
	xmlDocDumpMemoryEnc(lf->doc, &mem, &size, "UTF-8");
	err = write_file(bak, lf->text, lf->len, &st);
	if (!err)
		err = write_file(tmp, mem, (size_t)size, &st);
	if (!err && rename(tmp, real) != 0)
		err = -errno;
	if (!err) {
		snprintf(dir, sizeof(dir), "%s", real);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd); /* the rename itself survives a crash */
			close(dfd);
		}
	}
out:
	if (err) {
		fprintf(stderr, "ucs-dialplan: cannot write %s: %s\n", lf->path, strerror(-err));
		unlink(tmp);
	}
	xmlFree(mem);
	return err;
}

/* Loads the changed configuration; restores the previous file when it fails. */
static int verify_or_restore(struct locations_file *lf, const char *config_dir,
			     const char *data_dir)
{
	struct dp_errors errs = {report, NULL, 0};
	struct dp_model m = {0};
	int err = dp_model_load(&m, data_dir, config_dir, NULL, &errs);

	dp_model_free(&m);
	if (!err && !errs.count)
		return 0;
	{
		char bak[4200];

		char real[4096];
		struct stat st;

		/* the previous content, written back the same careful way */
		snprintf(bak, sizeof(bak), "%s.bak", lf->path);
		if (!realpath(lf->path, real) || stat(real, &st) != 0 ||
		    write_file(bak, lf->text, lf->len, &st) != 0 || rename(bak, real) != 0)
			fprintf(stderr, "ucs-dialplan: cannot restore %s from %s: %s\n", lf->path,
				bak, strerror(errno));
		else
			fprintf(stderr,
				"ucs-dialplan: the imported configuration does not validate; the "
				"previous %s is restored\n",
				lf->path);
	}
	return -EINVAL;
}

struct import_ctx {
	xmlNode *list;
	const char *file;
	int rules, errors;
};

static int add_rule(struct import_ctx *ic, int line, const char *search, const char *replace,
		    const char *regex)
{
	struct dp_errors errs = {report, NULL, 0};
	struct dp_rule r = {0};
	xmlNode *n;

	if (!search || !*search) {
		fprintf(stderr, "%s:%d: a rule needs a search pattern\n", ic->file, line);
		ic->errors++;
		return 0;
	}
	if (regex && strcmp(regex, "true") != 0 && strcmp(regex, "false") != 0) {
		fprintf(stderr, "%s:%d: regex must be true or false, not \"%s\"\n", ic->file, line,
			regex);
		ic->errors++;
		return 0;
	}
	r.search = strdup(search);
	r.replace = strdup(replace ? replace : "");
	r.regex = regex && strcmp(regex, "true") == 0;
	r.line = line;
	if (dp_rule_compile(&r, (const char *)ic->list->name, ic->file, &errs) || errs.count)
		ic->errors++;
	dp_rule_free(&r);
	n = xmlNewChild(ic->list, NULL, BAD_CAST "rule", NULL);
	xmlSetProp(n, BAD_CAST "search", BAD_CAST search);
	if (replace && *replace)
		xmlSetProp(n, BAD_CAST "replace", BAD_CAST replace);
	xmlSetProp(n, BAD_CAST "regex",
		   BAD_CAST(regex && strcmp(regex, "true") == 0 ? "true" : "false"));
	ic->rules++;
	return 0;
}

static int csv_row(void *arg, int line, char **f, size_t n)
{
	struct import_ctx *ic = arg;

	if (line == 1) {
		if (n != 3 || strcmp(f[0], "search") || strcmp(f[1], "replace") ||
		    strcmp(f[2], "regex")) {
			fprintf(stderr, "%s:1: the header must be \"search,replace,regex\"\n",
				ic->file);
			ic->errors++;
			return -EINVAL;
		}
		return 0;
	}
	if (n != 3) {
		fprintf(stderr, "%s:%d: expected 3 fields (search,replace,regex), got %zu\n",
			ic->file, line, n);
		ic->errors++;
		return 0;
	}
	return add_rule(ic, line, f[0], f[1], f[2]);
}

static int read_rules(struct import_ctx *ic, const char *text, size_t len)
{
	const char *p = text;
	char err[256];

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '<') {
		xmlDoc *doc = read_xml(ic->file, text, len);
		xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

		if (!doc)
			return -EINVAL;
		if (!is_elem(root, "rules")) {
			fprintf(stderr, "%s: the root element must be <rules>\n", ic->file);
			xmlFreeDoc(doc);
			return -EINVAL;
		}
		for (xmlNode *r = root->children; r; r = r->next) {
			char *s, *rp, *rx;

			if (r->type != XML_ELEMENT_NODE)
				continue;
			if (!is_elem(r, "rule")) {
				fprintf(stderr, "%s:%ld: unknown element <%s>\n", ic->file,
					xmlGetLineNo(r), r->name);
				ic->errors++;
				continue;
			}
			s = prop(r, "search");
			rp = prop(r, "replace");
			rx = prop(r, "regex");
			add_rule(ic, (int)xmlGetLineNo(r), s, rp, rx);
			xmlFree(s);
			xmlFree(rp);
			xmlFree(rx);
		}
		xmlFreeDoc(doc);
		return 0;
	}
	if (csv_parse(text, len, csv_row, ic, err, sizeof(err)) && err[0]) {
		fprintf(stderr, "%s: %s\n", ic->file, err);
		return -EINVAL;
	}
	return 0;
}

int dpedit_import_rules(const char *config_dir, const char *data_dir, const char *location,
			const char *list, const char *file)
{
	struct locations_file lf = {0};
	struct import_ctx ic = {.file = file};
	xmlNode *rules, *old;
	char *text = NULL;
	size_t len = 0;
	int err;

	if (!known_list(list))
		return -EINVAL;
	err = open_location(&lf, config_dir, location);
	if (err)
		goto out;
	rules = child(lf.location, "rules");
	if (!rules)
		rules = xmlNewChild(lf.location, NULL, BAD_CAST "rules", NULL);
	ic.list = xmlNewNode(NULL, BAD_CAST list);
	text = slurp(file, &len);
	if (!text || read_rules(&ic, text, len) || ic.errors) {
		fprintf(stderr, "ucs-dialplan: %s: nothing imported\n", file);
		xmlFreeNode(ic.list);
		err = -EINVAL;
		goto out;
	}
	old = child(rules, list);
	if (old) {
		xmlReplaceNode(old, ic.list);
		xmlFreeNode(old);
	} else {
		xmlAddChild(rules, ic.list);
	}
	err = write_atomic(&lf);
	if (!err)
		err = verify_or_restore(&lf, config_dir, data_dir);
	if (!err)
		fprintf(stderr,
			"ucs-dialplan: %d rules imported into <%s> (previous file: %s.bak)\n",
			ic.rules, list, lf.path);
out:
	free(text);
	close_location(&lf);
	return err;
}

int dpedit_import_lcr(const char *config_dir, const char *data_dir, const char *location,
		      const char *file)
{
	struct locations_file lf = {0};
	xmlDoc *doc = NULL;
	xmlNode *root, *copy, *old;
	char *text = NULL;
	size_t len = 0;
	int err = open_location(&lf, config_dir, location);

	if (err)
		goto out;
	text = slurp(file, &len);
	if (!text || !(doc = read_xml(file, text, len))) {
		err = -EINVAL;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "lcr")) {
		fprintf(stderr, "%s: the root element must be <lcr>\n", file);
		err = -EINVAL;
		goto out;
	}
	copy = xmlDocCopyNode(root, lf.doc, 1);
	xmlUnsetProp(copy, BAD_CAST "location");
	old = child(lf.location, "lcr");
	if (old) {
		xmlReplaceNode(old, copy);
		xmlFreeNode(old);
	} else {
		xmlNode *adv = child(lf.location, "advanced");

		if (adv)
			xmlAddPrevSibling(adv, copy);
		else
			xmlAddChild(lf.location, copy);
	}
	err = write_atomic(&lf);
	if (!err)
		err = verify_or_restore(&lf, config_dir, data_dir);
	if (!err)
		fprintf(stderr,
			"ucs-dialplan: least cost routing imported (previous file: %s.bak)\n",
			lf.path);
out:
	xmlFreeDoc(doc);
	free(text);
	close_location(&lf);
	return err;
}
