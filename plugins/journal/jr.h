/*
 * plugins/journal/jr.h - the journal plugin's parts and how they meet.
 *
 * The journal is two halves joined by struct jr_entry:
 *
 *   the tracker (jr_track.c, jr_publish.c, jr_sessions.c) follows every
 *   call through "call.state" across the lines it touches, and when the
 *   call has ended everywhere turns it into one jr_entry per participating
 *   user - numbers, times, who answered, the unanswered mark from the
 *   operator's rule sets, the private-call mode applied - hands them to
 *   the store (jr_db_append) and publishes "journal.call" and
 *   "journal.event";
 *
 *   the store (jr_db.c, jr_ops.c, jr_retention.c, jr_rights.c, jr_json.c)
 *   owns the SQLite database in WAL mode: migrations at start, a writer
 *   thread that commits appended entries in batches (durable within
 *   JR_FLUSH_MS while commits succeed: a kill -9 loses at most that window
 *   and never corrupts),
 *   the service's queries and changes (rights checked), offline delivery
 *   and retention.
 *
 * Everything here runs on the loop thread unless it says otherwise.
 */
#ifndef JR_H
#define JR_H

#include <stdbool.h>
#include <stdint.h>

#include <ucs/ucs.h>

/* Appended entries are committed at the latest this long after append -
 * while the writer keeps up (fewer than about 50,000 entries a second) and
 * the database accepts the commit. A failed BEGIN/COMMIT keeps the batch
 * and retries it after 50, 200 and 800 ms (JR_DB_COMMIT_TRIES, jr_db.h),
 * so under a transient failure the bound grows by about a second (plus
 * SQLite's 5 s busy timeout per try while another connection holds the
 * write lock);
 * when every try fails the batch's entries are counted failed and logged.
 * kill -9 loses at most the entries not yet committed. */
#define JR_FLUSH_MS 200

enum jr_private_mode {
	JR_PRIVATE_NORMAL = 0,	  /* no special handling */
	JR_PRIVATE_SHORTENED = 1, /* last digits replaced with XXX, no name */
	JR_PRIVATE_HIDDEN = 2,	  /* no number, no name */
};

struct jr_conf {
	int missed;	  /* enum ucs_pick (plugins/common/ucs_pick.h): calls nobody answered */
	int forwarded;	  /* enum ucs_pick: forwarded and answered by someone else */
	int private_mode; /* enum jr_private_mode */
	/* retention, days; 0 = keep forever */
	int internal_days;  /* internal calls without notes */
	int external_days;  /* external calls without notes */
	int noted_days;	    /* calls with notes */
	int chat_days;	    /* chat messages */
	int offline_days;   /* undelivered offline entries */
	int window_start_h; /* nightly maintenance window [start, end) local hours */
	int window_end_h;
	char db_path[4096];
};

/* One journal entry: a call as one participating user saw it. Strings are
 * "" when unknown. */
struct jr_entry {
	char id[40];	  /* unique, assigned by the tracker ("<ms>-<run>-<seq>") */
	char user[64];	  /* the owner (user id) */
	char call[64];	  /* ucs_call_info.call */
	char line[64];	  /* her line */
	int direction;	  /* enum ucs_call_direction */
	int internal;	  /* the other party is internal */
	int private_call; /* the mode is already applied to the numbers and name */
	int answered;	  /* she answered (pickup and own deflection count) */
	int unanswered;	  /* marked unanswered by the rule sets */
	int ended_by;	  /* enum ucs_call_end of her line */
	uint32_t flags;	  /* UCS_CALLF_* */
	int64_t started_ms, alerting_ms, connected_ms, ended_ms;
	int32_t ring_s, talk_s; /* durations in seconds */
	char own_number[48];	/* her line's canonical number */
	char remote_number[48]; /* canonical */
	char remote_display[64];
	char remote_name[64];	  /* from the contact lookup */
	char remote_user[64];	  /* the other party when she is a ucsd user */
	char answered_user[64];	  /* who answered, if a user */
	char answered_number[48]; /* ... or the number that answered */
	char diverted_from[48];	  /* a forwarded call: who forwarded it */
	char project[64];
	char project_info[64]; /* the project's J data */
	char note[1025];
	int read;
	int offline; /* created while she had no client session, not yet delivered */
};

struct jr;

/* ---- the store (jr_db.c) ------------------------------------------------ */

/* Queues an entry for the writer thread; never blocks on the disk. -EIO
 * when the database is broken (logged once), -ESHUTDOWN while stopping. */
int jr_db_append(struct jr *j, const struct jr_entry *e);

/* The entry as a JSON object (the client protocol's journal row), snprintf
 * rules (jr_json.c). */
int jr_entry_json(const struct jr_entry *e, char *buf, size_t cap);

/* to_json of "journal.event" (jr_json.c): {"op","user","entry","offline","entry_json":{...}} */
int jr_event_to_json(const void *payload, size_t len, char *buf, size_t cap);

/* ---- the tracker (jr_track.c, jr_publish.c) ----------------------------- */

/* to_json of "journal.call" (jr_publish.c). */
int jr_call_to_json(const void *payload, size_t len, char *buf, size_t cap);
/* Publishes "journal.event" for an entry (created/updated: json is the
 * entry; deleted: {"id":...}); used by the tracker and by jr_ops.c. */
int jr_publish_event(struct jr *j, int op, const char *user, const char *entry, int offline,
		     const char *json);

int jr_track_start(struct jr *j);
void jr_track_stop(struct jr *j);
/* Counters for status (JSON members without braces, snprintf rules). */
int jr_track_status(struct jr *j, char *buf, size_t cap);

/* The parts' shared state, owned by plugin.c. */
struct jr {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct jr_conf conf;
	struct jr_db *db;	/* the store */
	struct jr_tracker *trk; /* the tracker */
	const struct ucs_userdb_api *userdb;
	const struct ucs_rights_api *rights;
	const struct ucs_presence_api *presence;
	const struct ucs_lines_api *lines;
	const struct ucs_msg_type *event_type; /* "journal.event" */
	const struct ucs_msg_type *call_type;  /* "journal.call" */
};

#endif
