/*
 * tools/ucs-dialplan/edit.h - import and export of a location's rule lists
 * (XML or CSV) and of its least cost routing (.lcrxml), the reference
 * product's "Export"/"Import" buttons.
 *
 * Exports print to a stream. Imports validate what they read, replace the
 * one element in locations.xml - written to a temporary file, fsync'ed and
 * renamed over the original, the previous version kept as
 * locations.xml.bak - and then load the whole configuration again: if it
 * does not validate, the previous file is put back and the import fails.
 * Everything else in the file (comments, layout, other locations) is kept.
 */
#ifndef UCS_DIALPLAN_EDIT_H
#define UCS_DIALPLAN_EDIT_H

#include <stdbool.h>
#include <stdio.h>

/* list: external, internal, lineNumbers, incoming, outgoing, dial, dialFinal */
int dpedit_export_rules(const char *config_dir, const char *location, const char *list, bool csv,
			FILE *out);
int dpedit_import_rules(const char *config_dir, const char *data_dir, const char *location,
			const char *list, const char *file);
int dpedit_export_lcr(const char *config_dir, const char *location, FILE *out);
int dpedit_import_lcr(const char *config_dir, const char *data_dir, const char *location,
		      const char *file);

#endif
