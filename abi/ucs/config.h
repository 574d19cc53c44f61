/*
 * ucs/config.h - a plugin's configuration section, declared and read.
 *
 * The server's configuration is JSON: the shipped defaults built into ucsd,
 * the operator's file, and conf.d/ drop-ins, merged in that order (objects
 * merge key by key, anything else is replaced). Each plugin owns the
 * section named after it ("client-api": {...}) and declares in its
 * descriptor which keys that section may hold, with their types, defaults
 * and limits. The host validates every section against its declaration
 * before any plugin sees it: an unknown key, a wrong type or a value out of
 * range is an error that names file:line:column, at startup, in
 * `ucsd --check-config`, and on SIGHUP (where the running configuration then
 * stays). So a plugin reads values that are known to be there and of the
 * right type, and never parses JSON itself (no JSON library types cross the
 * ABI).
 *
 * A key table is an array of struct ucs_cfg_key ended by an entry with a
 * NULL name. Each entry records its own size, so that entries may grow
 * within ABI major 1; use the UCS_CFG_* initialiser macros. Objects and
 * lists of objects nest: their `fields` point at another key table.
 *
 * Nodes (struct ucs_cfg) are read-only views of a section or of a nested
 * object. A node and every string read from it stay valid until the plugin's
 * reload() returns (for the section reload() received: until the next
 * reload) or the plugin stops; copy what must live longer. where() gives the
 * file:line:column of a key, for a plugin's own semantic errors ("port 7222
 * is used twice").
 */
#ifndef UCS_CONFIG_H
#define UCS_CONFIG_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ucs_cfg;

enum ucs_cfg_type {
	UCS_CFG_BOOL = 1,
	UCS_CFG_INT = 2,    /* a JSON integer within [min, max] when min < max */
	UCS_CFG_NUMBER = 3, /* any JSON number */
	UCS_CFG_STRING = 4, /* one of choices[] when choices is set */
	UCS_CFG_PATH = 5, /* a string; relative paths resolve against the config file's directory */
	UCS_CFG_STRING_LIST = 6,
	UCS_CFG_OBJECT = 7,	 /* keys declared by fields */
	UCS_CFG_OBJECT_LIST = 8, /* an array of objects whose keys are declared by fields */
};

enum ucs_cfg_flags {
	UCS_CFG_REQUIRED = 1u << 0, /* an error when absent (no default) */
};

struct ucs_cfg_key {
	uint32_t size; /* sizeof(struct ucs_cfg_key) */
	const char *name;
	enum ucs_cfg_type type;
	uint32_t flags;
	const char *default_json; /* the default as JSON text; NULL: none */
	int64_t min, max;
	const char *const *choices;	  /* NULL-terminated, for STRING */
	const struct ucs_cfg_key *fields; /* for OBJECT and OBJECT_LIST */
	const char *help;
};

#define UCS_CFG_KEY_(n, t, fl, def, lo, hi, ch, fi, h)                                         \
	{                                                                                      \
		sizeof(struct ucs_cfg_key), (n), (t), (fl), (def), (lo), (hi), (ch), (fi), (h) \
	}
#define UCS_CFG_BOOL_KEY(n, def, h) UCS_CFG_KEY_(n, UCS_CFG_BOOL, 0, def, 0, 0, NULL, NULL, h)
#define UCS_CFG_INT_KEY(n, def, lo, hi, h) \
	UCS_CFG_KEY_(n, UCS_CFG_INT, 0, def, lo, hi, NULL, NULL, h)
#define UCS_CFG_NUMBER_KEY(n, def, h)	  UCS_CFG_KEY_(n, UCS_CFG_NUMBER, 0, def, 0, 0, NULL, NULL, h)
#define UCS_CFG_STRING_KEY(n, def, h)	  UCS_CFG_KEY_(n, UCS_CFG_STRING, 0, def, 0, 0, NULL, NULL, h)
#define UCS_CFG_CHOICE_KEY(n, def, ch, h) UCS_CFG_KEY_(n, UCS_CFG_STRING, 0, def, 0, 0, ch, NULL, h)
#define UCS_CFG_PATH_KEY(n, def, h)	  UCS_CFG_KEY_(n, UCS_CFG_PATH, 0, def, 0, 0, NULL, NULL, h)
#define UCS_CFG_LIST_KEY(n, def, h) \
	UCS_CFG_KEY_(n, UCS_CFG_STRING_LIST, 0, def, 0, 0, NULL, NULL, h)
#define UCS_CFG_OBJECT_KEY(n, fi, h) UCS_CFG_KEY_(n, UCS_CFG_OBJECT, 0, "{}", 0, 0, NULL, fi, h)
#define UCS_CFG_OBJECTS_KEY(n, def, fi, h) \
	UCS_CFG_KEY_(n, UCS_CFG_OBJECT_LIST, 0, def, 0, 0, NULL, fi, h)
#define UCS_CFG_END UCS_CFG_KEY_(NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL)

struct ucs_cfg_api {
	uint32_t size;
	/* The plugin's current section (an empty object when absent). */
	const struct ucs_cfg *(*section)(struct ucs_plugin *self);
	/* 0, or -ENOENT when the key is absent and has no default. */
	int (*get_bool)(const struct ucs_cfg *node, const char *key, int *out);
	int (*get_int)(const struct ucs_cfg *node, const char *key, int64_t *out);
	int (*get_number)(const struct ucs_cfg *node, const char *key, double *out);
	/* STRING and PATH (PATH comes back absolute); NULL when absent. */
	const char *(*get_string)(const struct ucs_cfg *node, const char *key);
	/* Element count of a STRING_LIST or OBJECT_LIST, or -ENOENT. */
	int (*count)(const struct ucs_cfg *node, const char *key);
	const char *(*list_string)(const struct ucs_cfg *node, const char *key, size_t index);
	const struct ucs_cfg *(*list_object)(const struct ucs_cfg *node, const char *key,
					     size_t index);
	const struct ucs_cfg *(*object)(const struct ucs_cfg *node, const char *key);
	/* "file:line:column" of the key's value (snprintf rules), or of the
	 * node itself when key is NULL; "(default)" for a built-in default. */
	int (*where)(const struct ucs_cfg *node, const char *key, char *buf, size_t cap);
};

#ifdef __cplusplus
}
#endif

#endif
