/*
 * plugins/journal/jr_store.h - the store half's own parts, as plugin.c and
 * the tests see them: JSON in and out (jr_json.c), rights (jr_rights.c),
 * the service's ops (jr_ops.c) and retention (jr_retention.c).
 *
 * The row format (jr_entry_json) is what leaves the journal: the client
 * protocol's journal.query rows, the "journal.event" payload and the
 * svcprobe answers all carry it (docs/plugins/journal.md "Entry format").
 * jr_entry_from_json reads the same format back: the "journal.append"
 * request (tests, imports) and the fuzz target use it.
 */
#ifndef JR_STORE_H
#define JR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ucs/ucs.h>

#include <ucs_jsontext.h>

#include "jr.h"

/* ---- JSON (jr_json.c) ---------------------------------------------------- */

/* JSON text is built with struct ucs_jout (plugins/common/ucs_jsontext.h). */

/* The names used in the row format. */
const char *jr_end_name(int ended_by);
const char *jr_op_name(int op);
int jr_entry_json_out(const struct jr_entry *e, struct ucs_jout *o);

/* Reads an entry in the row format (unknown members are errors; missing
 * ones stay 0/""). 0, or -EINVAL with err saying why. */
int jr_entry_from_json(const char *json, size_t len, struct jr_entry *e, char *err, size_t errcap);

/* ---- rights (jr_rights.c) ----------------------------------------------- */

#define JR_SEE	   (1u << 0) /* may read the owner's entries */
#define JR_MODIFY  (1u << 1) /* may change them (note, read, private) */
#define JR_DELETE  (1u << 2) /* may delete them */
#define JR_PRIVATE (1u << 3) /* sees her private entries too (herself, the system) */

/* What actor ("" = the system) may do with owner's journal, from the
 * user store's groups and settings. 0 when either is unknown. */
uint32_t jr_rights(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
		   const char *actor, const char *owner);
/* Resolves "" (the actor herself), an id or a login to a user id; NULL
 * when unknown. */
const char *jr_resolve_user(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
			    const char *actor, const char *who);

/* ---- the service (jr_ops.c) --------------------------------------------- */

extern const struct ucs_journal_api jr_journal_api;
/* The plugin's instance for the service's slots (one journal per process). */
void jr_ops_bind(struct jr *j);
/* Stops taking ops: every pending op's done runs now with -ESHUTDOWN (the
 * host drops queued jobs), later calls answer -ESHUTDOWN, cancel does
 * nothing; the memory stays until fini. */
void jr_ops_stop(struct jr *j);
/* Frees what is left (after the host waited for running work). */
void jr_ops_fini(struct jr *j);
int jr_ops_status(struct jr *j, char *buf, size_t cap);

/* ---- retention (jr_retention.c) ------------------------------------------ */

int jr_retention_start(struct jr *j);
void jr_retention_stop(struct jr *j);
/* Frees a run the host dropped at stop (fini). */
void jr_retention_fini(void);
/* Queues a run; done(status, json, arg) on the loop - at the latest at
 * jr_retention_stop, with -ESHUTDOWN. -EBUSY while one runs. */
int jr_retention_apply(struct jr *j, ucs_journal_done_h *done, void *arg);
/* Parses "START-END" local hours (0..24, START != END). */
int jr_window_parse(const char *s, int *start, int *end);
/* Whether local hour h lies in [start, end) (wrapping over midnight). */
bool jr_window_has(int start, int end, int h);
/* The night a local time inside the window belongs to: the date
 * (YYYY-MM-DD) the window started on - the day before for the hours after
 * midnight of a window that wraps. */
void jr_window_night(int start, int end, const struct tm *tm, char *buf, size_t cap);
int jr_retention_status(struct jr *j, char *buf, size_t cap);

#endif
