/*
 * plugins/dialplan/dp_edit.h - locations as JSON, and changing locations.xml
 * through them (the administration's `locations.*`).
 *
 * locations.xml stays the one place locations live, and the loader in
 * dp_locations.c stays their one validator. An edit therefore never patches
 * the running model: it takes the document the running model was read from
 * (dp_model.source), replaces, adds or removes one <location> element in
 * it, and loads the resulting document into a new model exactly as a start
 * or a SIGHUP would. Only a model that loads is written to disk (atomically,
 * the previous file kept as locations.xml.bak) and swapped in; on any error
 * the running model and the files stay as they were. Comments and layout
 * outside the edited location are kept; a replaced location is written
 * anew.
 *
 * The JSON form of a location (docs/plugins/dialplan.md, "Locations as
 * JSON") mirrors the XML: the same names, elements as objects, comma lists
 * as arrays, numbers of the number space as integers. dp_json.c converts
 * both ways: a model's location to its JSON object (every key present, the
 * generated cross-location rules left out, so a read object can be written
 * back unchanged), and a JSON object to the <location> element it
 * describes, checking only the shape (types, unknown keys, required keys);
 * whether the values make sense is the loader's question. The loader's
 * messages carry XML line numbers; they are turned back into the JSON path
 * of the element on that line, so an error names the field it is about
 * ("pbx.extensions: ...", "rules.dial[2]: ...").
 *
 * Everything here allocates, may take a few milliseconds (PCRE2 compiles
 * every rule of every location again) and is meant for one caller at a
 * time; the plugin serialises edits with reloads.
 */
#ifndef DIALPLAN_DP_EDIT_H
#define DIALPLAN_DP_EDIT_H

#include <jansson.h>
#include <libxml/tree.h>

#include "dp.h"

#define DP_JSON_DOC_MAX	 (1 << 20) /* longest accepted location object, in bytes */
#define DP_JSON_TEXT_MAX 4096	   /* longest string in it */

/* ---- the JSON form (dp_json.c) --------------------------------------------------------- */

/* The location as its JSON object, every key present; NULL without memory. */
json_t *dp_json_from_location(const struct dp_location *loc, bool is_default);

/* The JSON path of every element dp_json_to_xml built, in document order
 * (the location element itself is ""). */
struct dp_json_paths {
	char **v;
	size_t n, cap;
};

void dp_json_paths_free(struct dp_json_paths *p);

/* Checks the shape of the location object o and builds the <location>
 * element it describes in doc (not linked into the tree), indented as a
 * child of an element indented by `indent`. 0; -EINVAL with err naming
 * the JSON path ("pbx.access.local: expected a string, got integer");
 * -ENOMEM. */
int dp_json_to_xml(const json_t *o, xmlDoc *doc, const char *indent, xmlNode **out,
		   struct dp_json_paths *paths, char *err, size_t errcap);

/* ---- editing (dp_edit.c) --------------------------------------------------------------- */

/* Every location as one JSON array (compact), the default one marked;
 * "[]" for no model. snprintf rules: the length of the whole text, which
 * was cut when it is >= cap; -ENOMEM. */
int dp_locations_json(const struct dp_model *m, char *buf, size_t cap);

/* What an edit works on. */
struct dp_edit {
	const struct dp_model *cur; /* the running model; NULL: no locations yet */
	const char *config_dir;	    /* where locations.xml is (and is written) */
	const char *data_dir;	    /* the shipped reference data (cur NULL only) */
	const char *default_name;   /* the configured default location; NULL or "": first */
};

/* Builds the model with the location given as a JSON object (len bytes)
 * added, or replacing the one of the same name, into *next (zeroed first):
 * with the running model's reference data (next->data_borrowed), or with
 * data loaded from data_dir and config_dir when there is none. Nothing is
 * written. name gets the location's name. 0; -EINVAL with err ("PATH:
 * message"); -EIO when the reference data cannot be loaded; -ENOMEM. On
 * error *next is empty. */
int dp_edit_put(const struct dp_edit *e, const char *json, size_t len, struct dp_model *next,
		char *name, size_t namecap, char *err, size_t errcap);

/* Builds the model without the location `name` into *next. -ENOENT when
 * there is no such location, -EBUSY when it is the default one and others
 * exist. Removing the last one gives a model without locations
 * (n_locations 0, source NULL): dp_edit_write then moves the file aside. */
int dp_edit_remove(const struct dp_edit *e, const char *name, struct dp_model *next, char *err,
		   size_t errcap);

/* Makes next->source CONFIG_DIR/locations.xml: written to
 * locations.xml.tmp, fsync'ed, the previous file copied to
 * locations.xml.bak (fsync'ed), renamed over locations.xml, the directory
 * fsync'ed. A symlinked locations.xml is written through (its target is
 * replaced). A model without locations renames locations.xml to
 * locations.xml.bak. On error nothing changed (the temporary file is
 * removed) and err says what failed; -errno. A failed fsync of the
 * directory after the rename is not an error (the file is in place):
 * *warning is set. */
int dp_edit_write(const char *config_dir, const struct dp_model *next, bool *warning, char *err,
		  size_t errcap);

#endif
