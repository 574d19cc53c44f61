/*
 * core/config.c - the server configuration (see config.h): reading and
 * merging the layers, validating sections against key tables, and the
 * read-only nodes that plugins and the core read through core_cfg_api.
 *
 * Positions: each layer keeps the jsonpos table of its own text. A value
 * present in the merged configuration was set by the last layer that has
 * its path (an object merges, anything else is replaced whole, so no later
 * layer can hold the path without setting it), so looking a path up in the
 * layers from the last to the first finds the file and position that set
 * it, with no per-path bookkeeping during the merge. Values filled in from
 * key defaults are marked on their node instead, because an earlier layer
 * may still hold a path that a later layer replaced away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "core.h"
#include "jsonpos.h"
#include "log.h"

#define CFG_TAG		  "config"
#define CFG_FILE_MAX	  (4u << 20)
#define CFG_ERRORS_MAX	  50
#define CFG_JSON_FLAGS	  (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define NO_INDEX	  SIZE_MAX
#define DEFAULT_WHERE	  "(default)"
#define PROGRAMMING_ERROR " (the key table's default: a programming error)"

struct cfg_layer {
	char *name; /* as messages show it */
	char *dir;  /* absolute; its relative PATH values resolve against it */
	struct jsonpos *pos;
};

struct cfg_section {
	char *name;
	struct ucs_cfg *node;
	struct cfg_section *next;
};

struct core_config {
	json_t *merged;
	struct cfg_layer *layers;
	size_t nlayers;
	char *dir;
	char *primary; /* named in messages about what no layer holds */
	struct cfg_section *sections;
	struct ucs_cfg *nodes; /* every node ever built, freed with the config */
	/* object -> its node, open addressing on the pointer */
	const json_t **map_keys;
	struct ucs_cfg **map_vals;
	size_t map_cap, map_len;
};

struct ucs_cfg {
	struct core_config *cfg;
	const struct ucs_cfg *parent;
	char *key;	   /* section name, member name, or the name of the list holding it */
	size_t index;	   /* within that list, or NO_INDEX */
	json_t *obj;	   /* a reference is held */
	json_t *defaulted; /* names of members filled in from their default, or NULL */
	bool from_default; /* the object itself came from a default */
	bool absent;	   /* a section that no layer has */
	struct ucs_cfg *next;
};

struct vctx {
	struct core_config *cfg;
	unsigned errors;
	unsigned in_default; /* checking a default from a key table */
};

/* Text built piecemeal; allocation failure aborts, as core_alloc does. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	size_t need = b->len + more + 1;
	size_t cap = b->cap ? b->cap : 64;
	char *p;

	if (need <= b->cap)
		return;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		fputs("ucsd: out of memory\n", stderr);
		abort();
	}
	b->p = p;
	b->cap = cap;
}

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	sb_reserve(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

static const char *sb_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

/* Names and values from the operator's files are quoted so that a newline
 * or a quote in them cannot forge or garble a log line. */
static void sb_quote(struct sbuf *b, const char *s)
{
	sb_add(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sb_printf(b, "\\u%04x", c);
		else
			sb_addn(b, s, 1);
	}
	sb_add(b, "\"");
}

static void sb_pointer_seg(struct sbuf *b, const char *seg)
{
	sb_add(b, "/");
	for (; *seg; seg++) {
		if (*seg == '~')
			sb_add(b, "~0");
		else if (*seg == '/')
			sb_add(b, "~1");
		else
			sb_addn(b, seg, 1);
	}
}

static char *join_path(const char *dir, const char *name)
{
	struct sbuf b = {0};
	size_t n = strlen(dir);

	sb_add(&b, dir);
	if (!n || dir[n - 1] != '/')
		sb_add(&b, "/");
	sb_add(&b, name);
	return b.p;
}

static char *working_dir(void)
{
	char *cwd = getcwd(NULL, 0);
	char *dir;

	if (!cwd)
		return core_strdup(".");
	dir = core_strdup(cwd);
	free(cwd);
	return dir;
}

/* The directory of file as written ("." when it names none). */
static char *shown_dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	struct sbuf b = {0};

	if (!slash)
		return core_strdup(".");
	sb_addn(&b, file, slash == file ? 1 : (size_t)(slash - file));
	return b.p;
}

static char *abs_dir_of(const char *file)
{
	char *shown = shown_dir_of(file);
	char *cwd, *dir;

	if (shown[0] == '/')
		return shown;
	cwd = working_dir();
	dir = strcmp(shown, ".") ? join_path(cwd, shown) : core_strdup(cwd);
	free(cwd);
	free(shown);
	return dir;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

static const char *type_wanted(enum ucs_cfg_type type)
{
	switch (type) {
	case UCS_CFG_BOOL:
		return "a boolean";
	case UCS_CFG_INT:
		return "an integer";
	case UCS_CFG_NUMBER:
		return "a number";
	case UCS_CFG_STRING:
	case UCS_CFG_PATH:
		return "a string";
	case UCS_CFG_STRING_LIST:
		return "a list of strings";
	case UCS_CFG_OBJECT:
		return "an object";
	case UCS_CFG_OBJECT_LIST:
		return "a list of objects";
	}
	return "?";
}

/* Key tables: an entry is read through a copy of at most its own size, so
 * a table built with a newer SDK (larger entries) or an older one (smaller)
 * is walked with its own stride and never read beyond an entry. */
static bool key_read(const struct ucs_cfg_key *raw, struct ucs_cfg_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!raw || raw->size < offsetof(struct ucs_cfg_key, name) + sizeof(raw->name))
		return false;
	memcpy(k, raw, raw->size < sizeof(*k) ? raw->size : sizeof(*k));
	return k->name != NULL;
}

static const struct ucs_cfg_key *key_next(const struct ucs_cfg_key *raw)
{
	return (const struct ucs_cfg_key *)(const void *)((const char *)raw + raw->size);
}

static bool key_find(const struct ucs_cfg_key *table, const char *name, struct ucs_cfg_key *k)
{
	for (const struct ucs_cfg_key *raw = table; key_read(raw, k); raw = key_next(raw)) {
		if (!strcmp(k->name, name))
			return true;
	}
	return false;
}

static size_t map_slot(const struct core_config *cfg, const json_t *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (cfg->map_cap - 1);
}

static void map_grow(struct core_config *cfg)
{
	const json_t **keys = cfg->map_keys;
	struct ucs_cfg **vals = cfg->map_vals;
	size_t old = cfg->map_cap;

	cfg->map_cap = old ? old * 2 : 64;
	cfg->map_keys = core_alloc(cfg->map_cap * sizeof(*cfg->map_keys));
	cfg->map_vals = core_alloc(cfg->map_cap * sizeof(*cfg->map_vals));
	for (size_t i = 0; i < old; i++) {
		size_t j;

		if (!keys[i])
			continue;
		for (j = map_slot(cfg, keys[i]); cfg->map_keys[j]; j = (j + 1) & (cfg->map_cap - 1))
			;
		cfg->map_keys[j] = keys[i];
		cfg->map_vals[j] = vals[i];
	}
	free(keys);
	free(vals);
}

static void map_put(struct core_config *cfg, const json_t *key, struct ucs_cfg *node)
{
	size_t i;

	if ((cfg->map_len + 1) * 2 > cfg->map_cap)
		map_grow(cfg);
	for (i = map_slot(cfg, key); cfg->map_keys[i]; i = (i + 1) & (cfg->map_cap - 1)) {
		if (cfg->map_keys[i] == key)
			break;
	}
	if (!cfg->map_keys[i])
		cfg->map_len++;
	cfg->map_keys[i] = key;
	cfg->map_vals[i] = node;
}

static struct ucs_cfg *map_get(const struct core_config *cfg, const json_t *key)
{
	if (!key || !cfg->map_cap)
		return NULL;
	for (size_t i = map_slot(cfg, key); cfg->map_keys[i]; i = (i + 1) & (cfg->map_cap - 1)) {
		if (cfg->map_keys[i] == key)
			return cfg->map_vals[i];
	}
	return NULL;
}

static struct ucs_cfg *node_new(struct core_config *cfg, const struct ucs_cfg *parent,
				const char *key, size_t index, json_t *obj)
{
	struct ucs_cfg *node = core_alloc(sizeof(*node));

	node->cfg = cfg;
	node->parent = parent;
	node->key = core_strdup(key);
	node->index = index;
	node->obj = json_incref(obj);
	node->next = cfg->nodes;
	cfg->nodes = node;
	map_put(cfg, obj, node);
	return node;
}

static void node_pointer(const struct ucs_cfg *node, struct sbuf *b)
{
	if (node->parent)
		node_pointer(node->parent, b);
	sb_pointer_seg(b, node->key);
	if (node->index != NO_INDEX)
		sb_printf(b, "/%zu", node->index);
}

/* The dotted name messages use: "client-api.listeners[0].port". */
static void node_name(const struct ucs_cfg *node, struct sbuf *b)
{
	if (node->parent) {
		node_name(node->parent, b);
		sb_add(b, ".");
	}
	sb_add(b, node->key);
	if (node->index != NO_INDEX)
		sb_printf(b, "[%zu]", node->index);
}

static void member_name(const struct ucs_cfg *node, const char *key, size_t index, struct sbuf *b)
{
	node_name(node, b);
	sb_add(b, ".");
	sb_add(b, key);
	if (index != NO_INDEX)
		sb_printf(b, "[%zu]", index);
}

/* The last layer holding the pointer: the one that set the value. */
static const struct cfg_layer *origin(const struct core_config *cfg, const struct sbuf *ptr,
				      struct jsonpos_loc *value, struct jsonpos_loc *key)
{
	for (size_t i = cfg->nlayers; i-- > 0;) {
		if (jsonpos_find(cfg->layers[i].pos, sb_str(ptr), ptr->len, value, key) >= 0)
			return &cfg->layers[i];
	}
	return NULL;
}

static bool loc_pointer(const struct core_config *cfg, const struct sbuf *ptr, bool want_key,
			struct sbuf *out)
{
	struct jsonpos_loc value, key;
	const struct cfg_layer *layer = origin(cfg, ptr, &value, &key);

	if (!layer)
		return false;
	if (want_key && key.line)
		value = key;
	sb_printf(out, "%s:%u:%u", layer->name, (unsigned)value.line, (unsigned)value.col);
	return true;
}

/* Where an object sits; one that no layer holds (filled in from a default,
 * or an absent section) is placed at its nearest ancestor that one does. */
static void loc_node(const struct ucs_cfg *node, struct sbuf *out)
{
	for (const struct ucs_cfg *n = node; n; n = n->parent) {
		struct sbuf ptr = {0};
		bool found;

		if (n->from_default)
			continue;
		node_pointer(n, &ptr);
		found = loc_pointer(n->cfg, &ptr, false, out);
		sb_free(&ptr);
		if (found)
			return;
	}
	sb_add(out, node->cfg->primary);
}

static bool member_defaulted(const struct ucs_cfg *node, const char *key)
{
	return node->from_default || (node->defaulted && json_object_get(node->defaulted, key));
}

/* Where a member's value (want_key: its name), or an element of it, sits. */
static void loc_member(const struct ucs_cfg *node, const char *key, size_t index, bool want_key,
		       struct sbuf *out)
{
	struct sbuf ptr = {0};

	if (member_defaulted(node, key)) {
		sb_add(out, DEFAULT_WHERE);
		return;
	}
	node_pointer(node, &ptr);
	sb_pointer_seg(&ptr, key);
	if (index != NO_INDEX)
		sb_printf(&ptr, "/%zu", index);
	if (!loc_pointer(node->cfg, &ptr, want_key, out))
		loc_node(node, out);
	sb_free(&ptr);
}

/* Counts an error; false when it is past the cap and is not to be shown
 * (nor formatted: a hostile file may hold a million of them). */
static bool error_shown(struct vctx *ctx)
{
	ctx->errors++;
	if (ctx->errors <= CFG_ERRORS_MAX)
		return true;
	if (ctx->errors == CFG_ERRORS_MAX + 1)
		core_log(CFG_TAG, UCS_LOG_ERROR, "more than %d errors; the rest are not shown",
			 CFG_ERRORS_MAX);
	return false;
}

static void report(const struct sbuf *where, bool programming, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(const struct sbuf *where, bool programming, const char *fmt, ...)
{
	struct sbuf msg = {0};
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	core_log(CFG_TAG, UCS_LOG_ERROR, "%s: %s%s", sb_str(where), sb_str(&msg),
		 programming ? PROGRAMMING_ERROR : "");
	sb_free(&msg);
}

/* A member's (or element's) value is wrong: the message names its place. */
static void report_value(struct vctx *ctx, const struct ucs_cfg *node, const char *key,
			 size_t index, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report_value(struct vctx *ctx, const struct ucs_cfg *node, const char *key,
			 size_t index, const char *fmt, ...)
{
	struct sbuf where = {0}, name = {0}, detail = {0};
	va_list ap;

	if (!error_shown(ctx))
		return;
	loc_member(node, key, index, false, &where);
	member_name(node, key, index, &name);
	va_start(ap, fmt);
	sb_vprintf(&detail, fmt, ap);
	va_end(ap);
	report(&where, ctx->in_default > 0, "%s: %s", sb_str(&name), sb_str(&detail));
	sb_free(&where);
	sb_free(&name);
	sb_free(&detail);
}

static int validate_object(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *table);

static void check_child(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *k,
			size_t index, json_t *obj)
{
	struct ucs_cfg *child = node_new(ctx->cfg, node, k->name, index, obj);

	child->from_default = member_defaulted(node, k->name);
	validate_object(ctx, child, k->fields);
}

static void check_choices(struct vctx *ctx, const struct ucs_cfg *node, const struct ucs_cfg_key *k,
			  const char *s)
{
	struct sbuf list = {0}, quoted = {0};

	if (!k->choices)
		return;
	for (size_t i = 0; k->choices[i]; i++) {
		if (!strcmp(k->choices[i], s))
			goto out;
		sb_printf(&list, "%s%s", i ? ", " : "", k->choices[i]);
	}
	sb_quote(&quoted, s);
	report_value(ctx, node, k->name, NO_INDEX, "%s is not one of %s", sb_str(&quoted),
		     sb_str(&list));
out:
	sb_free(&list);
	sb_free(&quoted);
}

static void resolve_path(struct vctx *ctx, struct ucs_cfg *node, const char *key, const char *s)
{
	const char *dir = ctx->cfg->dir;
	struct sbuf ptr = {0};
	const struct cfg_layer *layer;
	char *abs;

	/* "" stays "": it means "none" (no log directory, ...) */
	if (!*s || *s == '/')
		return;
	if (!member_defaulted(node, key)) {
		node_pointer(node, &ptr);
		sb_pointer_seg(&ptr, key);
		layer = origin(ctx->cfg, &ptr, NULL, NULL);
		if (layer)
			dir = layer->dir;
		sb_free(&ptr);
	}
	abs = join_path(dir, s);
	/* the directory need not be UTF-8; the value is only ever read back */
	json_object_set_new(node->obj, key, json_stringn_nocheck(abs, strlen(abs)));
	free(abs);
}

static void check_string_list(struct vctx *ctx, const struct ucs_cfg *node,
			      const struct ucs_cfg_key *k, const json_t *v)
{
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			report_value(ctx, node, k->name, i, "expected a string, got %s",
				     json_kind(e));
	}
}

static void check_object_list(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *k,
			      json_t *v)
{
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
	{
		if (json_is_object(e))
			check_child(ctx, node, k, i, e);
		else
			report_value(ctx, node, k->name, i, "expected an object, got %s",
				     json_kind(e));
	}
}

static bool type_fits(enum ucs_cfg_type type, const json_t *v)
{
	switch (type) {
	case UCS_CFG_BOOL:
		return json_is_boolean(v);
	case UCS_CFG_INT:
		return json_is_integer(v);
	case UCS_CFG_NUMBER:
		return json_is_number(v);
	case UCS_CFG_STRING:
	case UCS_CFG_PATH:
		return json_is_string(v);
	case UCS_CFG_STRING_LIST:
	case UCS_CFG_OBJECT_LIST:
		return json_is_array(v);
	case UCS_CFG_OBJECT:
		return json_is_object(v);
	}
	return false;
}

/* v is node's member k->name; a PATH value is replaced, so v is not used after. */
static void check_value(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *k,
			json_t *v)
{
	json_int_t n;

	if (k->type < UCS_CFG_BOOL || k->type > UCS_CFG_OBJECT_LIST) {
		report_value(ctx, node, k->name, NO_INDEX,
			     "the key table gives the unknown type %d (a programming error)",
			     (int)k->type);
		return;
	}
	if (!type_fits(k->type, v)) {
		report_value(ctx, node, k->name, NO_INDEX, "expected %s, got %s",
			     type_wanted(k->type), json_kind(v));
		return;
	}
	switch (k->type) {
	case UCS_CFG_INT:
		n = json_integer_value(v);
		if (k->min < k->max && (n < k->min || n > k->max))
			report_value(ctx, node, k->name, NO_INDEX,
				     "%lld is out of range %lld..%lld", (long long)n,
				     (long long)k->min, (long long)k->max);
		break;
	case UCS_CFG_STRING:
		check_choices(ctx, node, k, json_string_value(v));
		break;
	case UCS_CFG_PATH:
		resolve_path(ctx, node, k->name, json_string_value(v));
		break;
	case UCS_CFG_STRING_LIST:
		check_string_list(ctx, node, k, v);
		break;
	case UCS_CFG_OBJECT:
		check_child(ctx, node, k, NO_INDEX, v);
		break;
	case UCS_CFG_OBJECT_LIST:
		check_object_list(ctx, node, k, v);
		break;
	default:
		break;
	}
}

static void check_members(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *table)
{
	struct ucs_cfg_key k;
	const char *name;
	json_t *v;

	/* replacing a member's value (PATH) keeps the iteration valid */
	json_object_foreach(node->obj, name, v)
	{
		struct sbuf where = {0}, what = {0}, quoted = {0};

		if (key_find(table, name, &k)) {
			check_value(ctx, node, &k, v);
			continue;
		}
		if (!error_shown(ctx))
			continue;
		loc_member(node, name, NO_INDEX, true, &where);
		node_name(node, &what);
		sb_quote(&quoted, name);
		report(&where, ctx->in_default > 0, "%s: unknown key %s", sb_str(&what),
		       sb_str(&quoted));
		sb_free(&where);
		sb_free(&what);
		sb_free(&quoted);
	}
}

static void fill_default(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *k)
{
	json_error_t jerr;
	json_t *v = json_loads(k->default_json, CFG_JSON_FLAGS, &jerr);

	if (!node->defaulted)
		node->defaulted = json_object();
	json_object_set_new(node->defaulted, k->name, json_true());
	if (!v) {
		report_value(ctx, node, k->name, NO_INDEX,
			     "the default %s is not JSON: %s (a programming error)",
			     k->default_json, jerr.text);
		return;
	}
	json_object_set_new(node->obj, k->name, v);
	ctx->in_default++;
	check_value(ctx, node, k, v);
	ctx->in_default--;
}

static void report_missing(struct vctx *ctx, const struct ucs_cfg *node, const char *key)
{
	struct sbuf where = {0}, what = {0};

	if (!error_shown(ctx))
		return;
	loc_node(node, &where);
	node_name(node, &what);
	report(&where, false, "%s: missing required key \"%s\"", sb_str(&what), key);
	sb_free(&where);
	sb_free(&what);
}

static int validate_object(struct vctx *ctx, struct ucs_cfg *node, const struct ucs_cfg_key *table)
{
	struct ucs_cfg_key k;
	unsigned before = ctx->errors;

	check_members(ctx, node, table);
	for (const struct ucs_cfg_key *raw = table; key_read(raw, &k); raw = key_next(raw)) {
		if (json_object_get(node->obj, k.name))
			continue;
		if (k.default_json)
			fill_default(ctx, node, &k);
		else if (k.flags & UCS_CFG_REQUIRED)
			report_missing(ctx, node, k.name);
	}
	return ctx->errors > before ? -EINVAL : 0;
}

static struct cfg_section *section_find(const struct core_config *cfg, const char *name)
{
	for (struct cfg_section *s = cfg->sections; s; s = s->next) {
		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

static void section_set(struct core_config *cfg, const char *name, struct ucs_cfg *node)
{
	struct cfg_section *s = section_find(cfg, name);

	if (!s) {
		s = core_alloc(sizeof(*s));
		s->name = core_strdup(name);
		s->next = cfg->sections;
		cfg->sections = s;
	}
	/* an earlier node stays alive (and readable) until core_config_free */
	s->node = node;
}

/* Where a top-level section (want_key: its name) sits. */
static void loc_section(const struct core_config *cfg, const char *name, bool want_key,
			struct sbuf *out)
{
	struct sbuf ptr = {0};

	sb_pointer_seg(&ptr, name);
	if (!loc_pointer(cfg, &ptr, want_key, out))
		sb_add(out, cfg->primary);
	sb_free(&ptr);
}

int core_config_validate(struct core_config *cfg, const char *section,
			 const struct ucs_cfg_key *keys)
{
	struct vctx ctx = {.cfg = cfg};
	struct ucs_cfg *node;
	json_t *v, *obj;
	int err;

	if (!cfg || !section)
		return -EINVAL;
	v = json_object_get(cfg->merged, section);
	if (v && !json_is_object(v)) {
		struct sbuf where = {0};

		loc_section(cfg, section, false, &where);
		report(&where, false, "%s: expected an object, got %s", section, json_kind(v));
		sb_free(&where);
		return -EINVAL;
	}
	/* validation fills in defaults and rewrites paths: on a copy, so that
	 * validating a section again starts from what the files say */
	obj = v ? json_deep_copy(v) : json_object();
	if (!obj)
		return -ENOMEM;
	node = node_new(cfg, NULL, section, NO_INDEX, obj);
	json_decref(obj);
	node->absent = !v;
	err = validate_object(&ctx, node, keys);
	if (!err)
		section_set(cfg, section, node);
	return err;
}

void core_config_warn_unknown_sections(const struct core_config *cfg, const char *const *known,
				       size_t n)
{
	const char *name;
	json_t *v;

	if (!cfg)
		return;
	json_object_foreach(cfg->merged, name, v)
	{
		struct sbuf where = {0}, quoted = {0};
		bool found = section_find(cfg, name) != NULL;

		for (size_t i = 0; !found && known && i < n; i++)
			found = known[i] && !strcmp(known[i], name);
		if (found)
			continue;
		loc_section(cfg, name, true, &where);
		sb_quote(&quoted, name);
		core_log(CFG_TAG, UCS_LOG_WARNING,
			 "%s: section %s belongs to no loaded plugin (ignored)", sb_str(&where),
			 sb_str(&quoted));
		sb_free(&where);
		sb_free(&quoted);
	}
}

const struct ucs_cfg *core_config_section(const struct core_config *cfg, const char *section)
{
	const struct cfg_section *s = cfg && section ? section_find(cfg, section) : NULL;

	return s ? s->node : NULL;
}

const char *core_config_dir(const struct core_config *cfg)
{
	return cfg ? cfg->dir : NULL;
}

void core_config_free(struct core_config *cfg)
{
	if (!cfg)
		return;
	while (cfg->nodes) {
		struct ucs_cfg *node = cfg->nodes;

		cfg->nodes = node->next;
		json_decref(node->obj);
		json_decref(node->defaulted);
		free(node->key);
		free(node);
	}
	while (cfg->sections) {
		struct cfg_section *s = cfg->sections;

		cfg->sections = s->next;
		free(s->name);
		free(s);
	}
	for (size_t i = 0; i < cfg->nlayers; i++) {
		free(cfg->layers[i].name);
		free(cfg->layers[i].dir);
		jsonpos_free(cfg->layers[i].pos);
	}
	free(cfg->layers);
	free(cfg->map_keys);
	free(cfg->map_vals);
	json_decref(cfg->merged);
	free(cfg->dir);
	free(cfg->primary);
	free(cfg);
}

/* Objects merge key by key; anything else replaces what was there. */
static int merge(json_t *dst, json_t *src)
{
	const char *key;
	json_t *sv;
	int err = 0;

	json_object_foreach(src, key, sv)
	{
		json_t *dv = json_object_get(dst, key);

		if (json_is_object(dv) && json_is_object(sv))
			err = merge(dv, sv);
		else if (json_object_set(dst, key, sv))
			err = -ENOMEM;
		if (err)
			break;
	}
	return err;
}

/* Line and column (in characters, as jansson and jsonpos count) of text[off]. */
static void text_loc(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* jansson refuses a NUL byte inside a string but silently drops one that
 * follows a number or a literal; refuse them all, before parsing. */
static int check_nul(const char *name, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	unsigned line, col;

	if (!nul)
		return 0;
	text_loc(text, (size_t)(nul - text), &line, &col);
	core_log(CFG_TAG, UCS_LOG_ERROR, "%s:%u:%u: invalid JSON: a NUL byte", name, line, col);
	return -EINVAL;
}

static int add_layer(struct core_config *cfg, const char *name, const char *dir, const char *text,
		     size_t len)
{
	struct jsonpos *pos = NULL;
	struct cfg_layer *layer;
	json_error_t jerr;
	json_t *root;
	int err = check_nul(name, text, len);

	if (err)
		return err;
	root = json_loadb(text, len, CFG_JSON_FLAGS, &jerr);
	if (!root) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s:%d:%d: invalid JSON: %s", name,
			 jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
			 jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s:1:1: the configuration must be a JSON object",
			 name);
		err = -EINVAL;
		goto out;
	}
	err = jsonpos_scan(&pos, text, len);
	if (err) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: cannot record positions: %s", name,
			 strerror(-err));
		goto out;
	}
	err = merge(cfg->merged, root);
	if (err) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: cannot merge: %s", name, strerror(-err));
		goto out;
	}
	layer = realloc(cfg->layers, (cfg->nlayers + 1) * sizeof(*cfg->layers));
	if (!layer) {
		err = -ENOMEM;
		goto out;
	}
	cfg->layers = layer;
	cfg->layers[cfg->nlayers++] = (struct cfg_layer){
		.name = core_strdup(name),
		.dir = core_strdup(dir),
		.pos = pos,
	};
	pos = NULL;
out:
	jsonpos_free(pos);
	json_decref(root);
	return err;
}

/* Reads at most CFG_FILE_MAX bytes: -EFBIG beyond, so that a runaway file
 * (or /dev/zero) cannot eat the memory of a server being configured. */
static int read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = NULL, *nbuf;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n == cap || !buf) {
			if (buf)
				cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				err = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CFG_FILE_MAX) {
			err = -EFBIG;
			goto out;
		}
	}
out:
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*text = buf;
	*len = n;
	return 0;
}

static int load_file(struct core_config *cfg, const char *path, const char *dir)
{
	char *text = NULL;
	size_t len = 0;
	int err = read_file(path, &text, &len);

	if (err == -EFBIG)
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: larger than %u MiB, refused", path,
			 CFG_FILE_MAX >> 20);
	else if (err)
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: cannot read: %s", path, strerror(-err));
	else
		err = add_layer(cfg, path, dir, text, len);
	free(text);
	return err ? -EINVAL : 0;
}

static bool is_dropin_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".json");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dropins(const char *dir, char ***names, size_t *count)
{
	struct dirent *e;
	size_t cap = 0;
	DIR *d;

	*names = NULL;
	*count = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		char *path;
		struct stat st;
		bool regular;

		if (!is_dropin_name(e->d_name))
			continue;
		path = join_path(dir, e->d_name);
		regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		free(path);
		if (!regular)
			continue;
		if (*count == cap) {
			cap = cap ? cap * 2 : 16;
			*names = realloc(*names, cap * sizeof(**names));
			if (!*names) {
				fputs("ucsd: out of memory\n", stderr);
				abort();
			}
		}
		(*names)[(*count)++] = core_strdup(e->d_name);
	}
	closedir(d);
	qsort(*names, *count, sizeof(**names), cmp_names);
	return 0;
}

/* DIR/conf.d/ *.json in strcmp order of their names; a missing conf.d is fine. */
static int load_dropins(struct core_config *cfg, const char *operator_file)
{
	char *shown = shown_dir_of(operator_file);
	char *dir = join_path(shown, "conf.d");
	char *abs = join_path(cfg->dir, "conf.d");
	char **names = NULL;
	size_t count = 0;
	int err;

	err = list_dropins(dir, &names, &count);
	if (err) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: cannot read directory: %s", dir,
			 strerror(-err));
		err = -EINVAL;
	}
	for (size_t i = 0; i < count; i++) {
		char *path = join_path(dir, names[i]);

		if (load_file(cfg, path, abs))
			err = -EINVAL;
		free(path);
		free(names[i]);
	}
	free(names);
	free(abs);
	free(dir);
	free(shown);
	return err;
}

static struct core_config *config_new(const char *primary, char *dir)
{
	struct core_config *cfg = core_alloc(sizeof(*cfg));

	cfg->primary = core_strdup(primary);
	cfg->dir = dir;
	cfg->merged = json_object();
	if (!cfg->merged) {
		fputs("ucsd: out of memory\n", stderr);
		abort();
	}
	return cfg;
}

int core_config_load(struct core_config **out, const char *builtin_json, const char *operator_file)
{
	struct core_config *cfg;
	int err = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	cfg = config_new(operator_file ? operator_file : CORE_CONFIG_BUILTIN_NAME,
			 operator_file ? abs_dir_of(operator_file) : working_dir());
	if (builtin_json &&
	    add_layer(cfg, CORE_CONFIG_BUILTIN_NAME, cfg->dir, builtin_json, strlen(builtin_json)))
		err = -EINVAL;
	if (operator_file && load_file(cfg, operator_file, cfg->dir))
		err = -EINVAL;
	if (operator_file && load_dropins(cfg, operator_file))
		err = -EINVAL;
	if (err) {
		core_config_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

int core_config_load_candidate(struct core_config **out, const char *builtin_json,
			       const char *operator_file, const char *text, size_t len)
{
	struct core_config *cfg;
	int err = 0;

	if (!out || !operator_file || (!text && len))
		return -EINVAL;
	*out = NULL;
	if (len > CFG_FILE_MAX) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: larger than %u MiB, refused", operator_file,
			 CFG_FILE_MAX >> 20);
		return -EINVAL;
	}
	cfg = config_new(operator_file, abs_dir_of(operator_file));
	if (builtin_json &&
	    add_layer(cfg, CORE_CONFIG_BUILTIN_NAME, cfg->dir, builtin_json, strlen(builtin_json)))
		err = -EINVAL;
	if (add_layer(cfg, operator_file, cfg->dir, text ? text : "", len))
		err = -EINVAL;
	if (load_dropins(cfg, operator_file))
		err = -EINVAL;
	if (err) {
		core_config_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

const json_t *core_config_json(const struct core_config *cfg)
{
	return cfg ? cfg->merged : NULL;
}

int core_config_load_text(struct core_config **out, const char *name, const char *text, size_t len)
{
	struct core_config *cfg;
	int err;

	if (!out || !name || (!text && len))
		return -EINVAL;
	*out = NULL;
	if (len > CFG_FILE_MAX) {
		core_log(CFG_TAG, UCS_LOG_ERROR, "%s: larger than %u MiB, refused", name,
			 CFG_FILE_MAX >> 20);
		return -EINVAL;
	}
	cfg = config_new(name, working_dir());
	err = add_layer(cfg, name, cfg->dir, text ? text : "", len);
	if (err) {
		core_config_free(cfg);
		return -EINVAL;
	}
	*out = cfg;
	return 0;
}

static const struct ucs_cfg *api_section(struct ucs_plugin *self)
{
	return self ? self->section : NULL;
}

static json_t *member(const struct ucs_cfg *node, const char *key)
{
	return node && key ? json_object_get(node->obj, key) : NULL;
}

static int api_get_bool(const struct ucs_cfg *node, const char *key, int *out)
{
	json_t *v = member(node, key);

	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return -EINVAL;
	if (out)
		*out = json_is_true(v);
	return 0;
}

static int api_get_int(const struct ucs_cfg *node, const char *key, int64_t *out)
{
	json_t *v = member(node, key);

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v))
		return -EINVAL;
	if (out)
		*out = json_integer_value(v);
	return 0;
}

static int api_get_number(const struct ucs_cfg *node, const char *key, double *out)
{
	json_t *v = member(node, key);

	if (!v)
		return -ENOENT;
	if (!json_is_number(v))
		return -EINVAL;
	if (out)
		*out = json_number_value(v);
	return 0;
}

static const char *api_get_string(const struct ucs_cfg *node, const char *key)
{
	return json_string_value(member(node, key));
}

static int api_count(const struct ucs_cfg *node, const char *key)
{
	json_t *v = member(node, key);

	if (!v)
		return -ENOENT;
	return json_is_array(v) ? (int)json_array_size(v) : -EINVAL;
}

static const char *api_list_string(const struct ucs_cfg *node, const char *key, size_t index)
{
	return json_string_value(json_array_get(member(node, key), index));
}

static const struct ucs_cfg *api_list_object(const struct ucs_cfg *node, const char *key,
					     size_t index)
{
	json_t *v = json_array_get(member(node, key), index);

	return json_is_object(v) ? map_get(node->cfg, v) : NULL;
}

static const struct ucs_cfg *api_object(const struct ucs_cfg *node, const char *key)
{
	json_t *v = member(node, key);

	return json_is_object(v) ? map_get(node->cfg, v) : NULL;
}

static int api_where(const struct ucs_cfg *node, const char *key, char *buf, size_t cap)
{
	struct sbuf where = {0};
	int n;

	if (cap)
		buf[0] = '\0';
	if (!node || (key && !member(node, key)))
		return -ENOENT;
	if (key)
		loc_member(node, key, NO_INDEX, false, &where);
	else if (node->from_default || node->absent)
		sb_add(&where, DEFAULT_WHERE);
	else
		loc_node(node, &where);
	n = snprintf(buf, cap, "%s", sb_str(&where));
	sb_free(&where);
	return n;
}

const struct ucs_cfg_api core_cfg_api = {
	.size = sizeof(struct ucs_cfg_api),
	.section = api_section,
	.get_bool = api_get_bool,
	.get_int = api_get_int,
	.get_number = api_get_number,
	.get_string = api_get_string,
	.count = api_count,
	.list_string = api_list_string,
	.list_object = api_list_object,
	.object = api_object,
	.where = api_where,
};
