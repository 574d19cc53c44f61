/*
 * plugins/dialplan/dp_edit.c - changing locations.xml one location at a
 * time (see dp_edit.h): the edited document, its validation by the loader
 * with errors named by JSON path, and the atomic write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "dp_edit.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING | XML_PARSE_NOERROR)

/* ---- reading ------------------------------------------------------------------------------ */

int dp_locations_json(const struct dp_model *m, char *buf, size_t cap)
{
	json_t *a = json_array();
	char *text = NULL;
	size_t len;
	int err = -ENOMEM;

	if (!a)
		goto out;
	for (size_t i = 0; m && i < m->n_locations; i++)
		if (json_array_append_new(a, dp_json_from_location(&m->locations[i],
								   i == m->default_location)) != 0)
			goto out;
	text = json_dumps(a, JSON_COMPACT);
	if (!text)
		goto out;
	len = strlen(text);
	if (len > INT_MAX) {
		err = -EOVERFLOW;
		goto out;
	}
	if (cap)
		snprintf(buf, cap, "%s", text);
	err = (int)len;
out:
	free(text);
	json_decref(a);
	return err;
}

/* ---- the edited document ------------------------------------------------------------------ */

static bool blank_text(const xmlNode *n)
{
	if (!n || n->type != XML_TEXT_NODE)
		return false;
	for (const xmlChar *c = n->content; c && *c; c++)
		if (*c != ' ' && *c != '\t' && *c != '\r' && *c != '\n')
			return false;
	return true;
}

/* The running model's document, or a new one with an empty <locations>. */
static xmlDoc *source_doc(const struct dp_model *cur)
{
	xmlDoc *doc;
	xmlNode *root, *t;

	if (cur && cur->source)
		return xmlReadMemory(cur->source, (int)cur->source_len, "locations.xml", NULL,
				     XML_OPTS);
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "locations", NULL) : NULL;
	t = doc ? xmlNewDocText(doc, BAD_CAST "\n") : NULL;
	if (!root || !t) {
		xmlFreeNode(root);
		xmlFreeNode(t);
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, root);
	xmlAddChild(root, t);
	return doc;
}

static xmlNode *find_location(xmlNode *root, const char *name)
{
	for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
		xmlChar *v;
		bool same;

		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "location") != 0)
			continue;
		v = xmlGetProp(c, BAD_CAST "name");
		same = v && strcmp((const char *)v, name) == 0;
		xmlFree(v);
		if (same)
			return c;
	}
	return NULL;
}

/* The indentation of the file's first <location>, so a new one lines up;
 * two spaces when there is none to copy. */
static void location_indent(const xmlNode *root, char *buf, size_t cap)
{
	snprintf(buf, cap, "  ");
	for (const xmlNode *c = root->children; c; c = c->next) {
		const char *t, *nl;

		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "location") != 0)
			continue;
		if (!blank_text(c->prev))
			return;
		t = (const char *)c->prev->content;
		nl = strrchr(t, '\n');
		if (nl && strlen(nl + 1) < cap)
			snprintf(buf, cap, "%s", nl + 1);
		return;
	}
}

/* Appends loc after the last element, before the whitespace that closes
 * </locations>. */
static int append_location(xmlDoc *doc, xmlNode *root, xmlNode *loc, const char *indent)
{
	char nl[80];
	xmlNode *t, *last = root->last;

	snprintf(nl, sizeof(nl), "\n%s", indent);
	t = xmlNewDocText(doc, BAD_CAST nl);
	if (!t)
		return -ENOMEM;
	if (blank_text(last) && strchr((const char *)last->content, '\n')) {
		/* in this order: xmlAddPrevSibling merges text into text */
		xmlAddPrevSibling(last, loc);
		xmlAddPrevSibling(loc, t);
		return 0;
	}
	xmlAddChild(root, t);
	xmlAddChild(root, loc);
	t = xmlNewDocText(doc, BAD_CAST "\n");
	if (!t)
		return -ENOMEM; /* loc is in the tree: freed with the document */
	xmlAddChild(root, t);
	return 0;
}

static int dump(xmlDoc *doc, char **text, size_t *len)
{
	xmlChar *mem = NULL;
	int size = 0;

	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (!mem || size < 0) {
		xmlFree(mem);
		return -ENOMEM;
	}
	*text = (char *)mem;
	*len = (size_t)size;
	return 0;
}

/* ---- validation ---------------------------------------------------------------------------- */

/* The loader's first problem, and how many there were. */
struct first_err {
	int line;
	char msg[512];
	int count;
};

static void keep_first(void *arg, const char *file, int line, const char *msg)
{
	struct first_err *f = arg;

	(void)file;
	if (!f->count++) {
		f->line = line;
		snprintf(f->msg, sizeof(f->msg), "%s", msg);
	}
}

/* Line of each element the JSON became, in document order (as paths). */
static int element_lines(const xmlNode *n, int *lines, size_t *i, size_t max)
{
	if (*i == max)
		return -ERANGE;
	lines[(*i)++] = (int)xmlGetLineNo((xmlNode *)n);
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && element_lines(c, lines, i, max))
			return -ERANGE;
	return 0;
}

/*
 * err for the loader's first problem: when its line is inside the location
 * that came from JSON, the JSON path of the element starting there (or the
 * last one before it) and the message without its "location "NAME": "
 * (the caller knows which location it sent); otherwise the message alone.
 */
static void name_error(const char *text, size_t len, const char *name,
		       const struct dp_json_paths *paths, const struct first_err *f, char *err,
		       size_t errcap)
{
	xmlDoc *doc = paths ? xmlReadMemory(text, (int)len, "locations.xml", NULL, XML_OPTS) : NULL;
	const xmlNode *loc = doc ? find_location(xmlDocGetRootElement(doc), name) : NULL;
	int *lines = paths && paths->n ? calloc(paths->n, sizeof(*lines)) : NULL;
	const char *path = NULL, *msg = f->msg;
	char more[48] = "", prefix[DP_NAME_MAX + 16];
	size_t n = 0;

	if (loc && lines && !element_lines(loc, lines, &n, paths->n) && n == paths->n &&
	    f->line >= lines[0]) {
		const xmlNode *after = xmlNextElementSibling((xmlNode *)loc);
		int end = after ? (int)xmlGetLineNo((xmlNode *)after) : INT_MAX;

		for (size_t i = 0; f->line < end && i < n; i++)
			if (lines[i] <= f->line)
				path = paths->v[i];
	}
	if (path && *path) {
		snprintf(prefix, sizeof(prefix), "location \"%s\": ", name);
		if (strncmp(msg, prefix, strlen(prefix)) == 0)
			msg += strlen(prefix);
	}
	if (f->count > 1)
		snprintf(more, sizeof(more), " (and %d more problem%s)", f->count - 1,
			 f->count > 2 ? "s" : "");
	if (path && *path)
		snprintf(err, errcap, "%s: %s%s", path, msg, more);
	else
		snprintf(err, errcap, "%s%s", msg, more);
	free(lines);
	xmlFreeDoc(doc);
}

/* Loads text into *next as a start would, with the running model's data. */
static int load_next(const struct dp_edit *e, const char *text, size_t len, const char *name,
		     const struct dp_json_paths *paths, struct dp_model *next, char *err,
		     size_t errcap)
{
	struct first_err f = {0};
	struct dp_errors errs = {keep_first, &f, 0};
	int rc;

	memset(next, 0, sizeof(*next));
	if (e->cur) {
		next->data = e->cur->data;
		next->data_borrowed = true;
	} else {
		rc = dp_data_load(&next->data, e->data_dir, e->config_dir, &errs);
		if (rc || f.count) {
			snprintf(err, errcap, "the dialplan's reference data cannot be loaded: %s",
				 f.count ? f.msg : strerror(-rc));
			rc = -EIO;
			goto out;
		}
	}
	rc = dp_locations_load_memory(next, "locations.xml", text, len, e->default_name, &errs);
	if (rc == -ENOMEM) {
		snprintf(err, errcap, "document: out of memory");
	} else if (rc || f.count) {
		name_error(text, len, name, paths, &f, err, errcap);
		rc = -EINVAL;
	}
out:
	if (rc)
		dp_model_free(next);
	return rc;
}

static ssize_t index_of(const struct dp_model *m, const char *name)
{
	for (size_t i = 0; m && i < m->n_locations; i++)
		if (strcmp(m->locations[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int dp_edit_put(const struct dp_edit *e, const char *json, size_t len, struct dp_model *next,
		char *name, size_t namecap, char *err, size_t errcap)
{
	struct dp_json_paths paths = {0};
	json_error_t jerr;
	json_t *o = NULL;
	const json_t *def;
	xmlDoc *doc = NULL;
	xmlNode *root, *loc = NULL, *old;
	const char *lname;
	char indent[64], *text = NULL;
	size_t text_len = 0;
	ssize_t idx;
	int rc;

	memset(next, 0, sizeof(*next));
	if (namecap)
		name[0] = '\0';
	if (errcap)
		err[0] = '\0';
	if (len > DP_JSON_DOC_MAX) {
		snprintf(err, errcap, "document: larger than %d bytes", DP_JSON_DOC_MAX);
		rc = -EINVAL;
		goto out;
	}
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		snprintf(err, errcap, "document: invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		rc = -EINVAL;
		goto out;
	}
	doc = source_doc(e->cur);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		snprintf(err, errcap, "document: out of memory");
		rc = -ENOMEM;
		goto out;
	}
	location_indent(root, indent, sizeof(indent));
	rc = dp_json_to_xml(o, doc, indent, &loc, &paths, err, errcap);
	if (rc)
		goto out;
	lname = json_string_value(json_object_get(o, "name"));
	old = find_location(root, lname);
	if (old) {
		xmlReplaceNode(old, loc);
		xmlFreeNode(old);
	} else {
		rc = append_location(doc, root, loc, indent);
		if (rc) {
			xmlFreeNode(loc);
			snprintf(err, errcap, "document: out of memory");
			goto out;
		}
	}
	rc = dump(doc, &text, &text_len);
	if (rc) {
		snprintf(err, errcap, "document: out of memory");
		goto out;
	}
	rc = load_next(e, text, text_len, lname, &paths, next, err, errcap);
	if (rc)
		goto out;
	/* "default" is what a read object says; written back it must still
	 * hold - the default location is chosen by the configuration */
	idx = index_of(next, lname);
	def = json_object_get(o, "default");
	if (def && json_is_true(def) != (idx >= 0 && (size_t)idx == next->default_location)) {
		snprintf(
			err, errcap,
			"default: this location %s the default location (dialplan.default_location, "
			"else the first location decides; it cannot be changed here)",
			json_is_true(def) ? "would not be" : "is");
		dp_model_free(next);
		rc = -EINVAL;
		goto out;
	}
	snprintf(name, namecap, "%s", lname);
out:
	xmlFree(text);
	dp_json_paths_free(&paths);
	xmlFreeDoc(doc);
	json_decref(o);
	return rc;
}

int dp_edit_remove(const struct dp_edit *e, const char *name, struct dp_model *next, char *err,
		   size_t errcap)
{
	ssize_t idx = name ? index_of(e->cur, name) : -1;
	xmlDoc *doc = NULL;
	xmlNode *loc;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(next, 0, sizeof(*next));
	if (errcap)
		err[0] = '\0';
	if (idx < 0) {
		snprintf(err, errcap, "no location \"%s\"", name ? name : "");
		rc = -ENOENT;
		goto out;
	}
	if ((size_t)idx == e->cur->default_location && e->cur->n_locations > 1) {
		snprintf(err, errcap,
			 "location \"%s\" is the default location; remove the others first or "
			 "configure another default (dialplan.default_location)",
			 name);
		rc = -EBUSY;
		goto out;
	}
	if (e->cur->n_locations == 1) {
		rc = 0; /* no locations: no file */
		goto out;
	}
	doc = source_doc(e->cur);
	loc = doc ? find_location(xmlDocGetRootElement(doc), name) : NULL;
	if (!loc) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* the element and the line break and indentation in front of it */
	if (blank_text(loc->prev)) {
		xmlNode *ws = loc->prev;

		xmlUnlinkNode(ws);
		xmlFreeNode(ws);
	}
	xmlUnlinkNode(loc);
	xmlFreeNode(loc);
	rc = dump(doc, &text, &len);
	if (rc) {
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	rc = load_next(e, text, len, name, NULL, next, err, errcap);
out:
	xmlFree(text);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Writes len bytes to path (created or truncated) with the mode and owner
 * of like (when given), and fsyncs it. */
static int write_file(const char *path, const char *data, size_t len, const struct stat *like)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int err = 0;

	if (fd < 0)
		return -errno;
	/* the server (maybe another user than the one editing) reads it */
	if (like && (fchmod(fd, like->st_mode & 07777) != 0 ||
		     (fchown(fd, like->st_uid, like->st_gid) != 0 && errno != EPERM)))
		err = -errno;
	while (!err && len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	return err;
}

/* The whole file (at most 16 MiB, what the loader accepts). */
static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
		err = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		err = -errno;
	close(fd);
	return err;
}

int dp_edit_write(const char *config_dir, const struct dp_model *next, bool *warning, char *err,
		  size_t errcap)
{
	char path[PATH_MAX], real[PATH_MAX], tmp[PATH_MAX + 8], bak[PATH_MAX + 8],
		baktmp[PATH_MAX + 16], dir[PATH_MAX];
	char *old = NULL, *slash;
	const char *step = "";
	size_t old_len = 0;
	struct stat st;
	bool exists, made_tmp = false;
	int rc = 0;

	*warning = false;
	if (errcap)
		err[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/locations.xml", config_dir) >= (int)sizeof(path)) {
		snprintf(err, errcap, "%s: name too long", config_dir);
		return -ENAMETOOLONG;
	}
	snprintf(bak, sizeof(bak), "%s.bak", path);
	/* a symlinked file is replaced where it really is */
	exists = realpath(path, real) != NULL;
	if (!exists) {
		if (errno != ENOENT) {
			rc = -errno;
			step = path;
			goto fail;
		}
		snprintf(real, sizeof(real), "%s", path);
	}
	snprintf(dir, sizeof(dir), "%s", real);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(tmp, sizeof(tmp), "%s.tmp", real);
	snprintf(baktmp, sizeof(baktmp), "%s.bak.tmp", path);
	if (!next->n_locations) {
		/* the last location went: no file, as on a fresh server */
		if (exists && rename(real, bak) != 0) {
			rc = -errno;
			step = bak;
			goto fail;
		}
		goto sync;
	}
	if (exists && stat(real, &st) != 0) {
		rc = -errno;
		step = real;
		goto fail;
	}
	made_tmp = true;
	rc = write_file(tmp, next->source, next->source_len, exists ? &st : NULL);
	if (rc == -EISDIR || rc == -ELOOP || rc == -EEXIST)
		made_tmp = false; /* something else is in the way: not ours to remove */
	if (rc) {
		step = tmp;
		goto fail;
	}
	if (exists) {
		/* the previous file, as it is on disk now */
		rc = read_file(real, &old, &old_len);
		if (!rc)
			rc = write_file(baktmp, old, old_len, &st);
		if (!rc && rename(baktmp, bak) != 0)
			rc = -errno;
		if (rc) {
			step = bak;
			unlink(baktmp);
			goto fail;
		}
	}
	if (rename(tmp, real) != 0) {
		rc = -errno;
		step = real;
		goto fail;
	}
sync:
	/* the rename itself survives a crash only with its directory synced */
	if (fsync_dir(!slash ? "." : slash == dir ? "/" : dir) != 0)
		*warning = true;
	free(old);
	return 0;
fail:
	if (made_tmp)
		unlink(tmp);
	snprintf(err, errcap, "cannot write %s: %s; nothing changed", step, strerror(-rc));
	free(old);
	return rc;
}
