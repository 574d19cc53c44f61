/*
 * core/config.h - loading, merging and validating the server configuration.
 *
 * Layers, merged in this order (objects merge key by key, recursively;
 * arrays and scalars of a later layer replace earlier ones):
 *   1. the shipped defaults, config/ucsd.json compiled into ucsd;
 *   2. the operator file (ucsd -c FILE), if any;
 *   3. every DIR/conf.d/ *.json next to the operator file, in name order.
 * Each layer must be a JSON object. Syntax errors name file:line:column.
 *
 * Validation runs against key tables (struct ucs_cfg_key): the core's own
 * sections ("server", "log", "plugins") and every loaded plugin's section.
 * Unknown keys, wrong types, values out of range or not among the choices,
 * and missing required keys are errors naming file:line:column of the value
 * (for a missing key: of the enclosing object); defaults are filled in,
 * PATH values are made absolute against the directory of the file that
 * set them (defaults and values from the built-in layer resolve against
 * the operator file's directory, or the working directory without one).
 * A top-level section that belongs to no loaded plugin is a warning: an
 * operator may disable a plugin and keep its settings.
 *
 * Every error and warning is logged with tag "config"; functions return 0,
 * or -EINVAL after logging at least one error.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stddef.h>

#include <jansson.h>

#include <ucs/config.h>

struct core_config;

/* Name shown for positions in the built-in layer. */
#define CORE_CONFIG_BUILTIN_NAME "(built-in defaults)"

/* builtin_json: the text of the built-in layer (may be NULL for none).
 * operator_file: NULL for none. On success *out is a merged, not yet
 * validated configuration. */
int core_config_load(struct core_config **out, const char *builtin_json, const char *operator_file);
/* One layer from memory, named name in messages, with the same checks as a
 * file (size, syntax, object); relative paths resolve against the working
 * directory. For tests and fuzzing. */
int core_config_load_text(struct core_config **out, const char *name, const char *text, size_t len);
/* Like core_config_load, with the operator layer given as text instead of
 * read from operator_file (which names it in messages and decides the
 * directory of relative paths and of conf.d): a candidate to validate
 * before it is written. */
int core_config_load_candidate(struct core_config **out, const char *builtin_json,
			       const char *operator_file, const char *text, size_t len);
/* The merged configuration (defaults of validated sections filled in). */
const json_t *core_config_json(const struct core_config *cfg);
/* Validates the named top-level section against keys and fills in defaults.
 * The section may be absent: it is then validated as an empty object. */
int core_config_validate(struct core_config *cfg, const char *section,
			 const struct ucs_cfg_key *keys);
/* Warns about every top-level section not among known[] (count n). */
void core_config_warn_unknown_sections(const struct core_config *cfg, const char *const *known,
				       size_t n);
/* The validated section as a node; NULL when it was never validated. Valid
 * until core_config_free(cfg). */
const struct ucs_cfg *core_config_section(const struct core_config *cfg, const char *section);
/* Directory that relative paths of the operator's layer resolve against. */
const char *core_config_dir(const struct core_config *cfg);
void core_config_free(struct core_config *cfg);

/* The accessor that plugins (and the core) read nodes with. Its section()
 * slot returns plugin->section. */
extern const struct ucs_cfg_api core_cfg_api;

#endif
