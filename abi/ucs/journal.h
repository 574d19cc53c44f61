/*
 * ucs/journal.h - the call journal: the "ucs.journal" service and what the
 * journal tells others ("journal.event", "journal.call").
 *
 * The journal plugin watches "call.state" of every line with journal on,
 * follows each call across the lines it touches (parallel ringing, a
 * call distribution, forwarding, pickup, transfer) and, when the call has
 * ended everywhere, writes one entry per call and participating user:
 * direction, internal or external, line, own and remote numbers, the
 * remote contact's name, start/ring/connect/end times, who answered,
 * project and J data, private flag. Which of the users whose phones rang
 * get the call marked unanswered follows the operator's two rule sets
 * (manual 10.5): one for calls nobody answered, one for calls forwarded
 * and answered elsewhere. A pickup counts as answered, so does a user's
 * own deflection from ucsd.
 *
 * Entries are JSON objects when they leave the journal (the client
 * protocol's journal.query rows, docs/protocol/client.md "Journal"); the
 * payloads below carry that text, so a protocol forwards it without
 * knowing the columns.
 *
 * "journal.event" (struct ucs_journal_event, key "user:<id>" of the entry's
 * owner): an entry was created, updated or deleted. An entry created while
 * its owner had no client session is an offline entry: it is kept as such
 * and handed to the first client that logs in (take_offline), the manual's
 * offline journal.
 *
 * "journal.call" (struct ucs_journal_call, no key): a call ended and its
 * entries are written. Participants come in the order their phones rang;
 * notify and sms decide missed-call messages from it with their own
 * recipient rule, so the journal's attribution and the mail's are
 * configured separately, as in the manual.
 *
 * The service's calls that touch the database are asynchronous: they run
 * on the journal's database thread and call done on the loop thread with a
 * status and JSON text. An op can be cancelled until done ran; after
 * cancel, done is never called. Rights are checked by the journal: actor
 * is the user asking ("" for the system). Errors: -EPERM (not within the
 * actor's rights), -ENOENT (no such user or entry), -EINVAL (bad
 * parameters), -EIO (the database failed), -ESHUTDOWN (the journal is
 * stopping).
 */
#ifndef UCS_JOURNAL_H
#define UCS_JOURNAL_H

#include <ucs/lines.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_JOURNAL_SERVICE "ucs.journal"
#define UCS_JOURNAL_VERSION 1

#define UCS_JOURNAL_EVENT_TYPE "journal.event" /* struct ucs_journal_event, key "user:<id>" */
#define UCS_JOURNAL_CALL_TYPE  "journal.call"  /* struct ucs_journal_call, no key */

enum ucs_journal_op_kind {
	UCS_JOURNAL_CREATED = 1,
	UCS_JOURNAL_UPDATED = 2,
	UCS_JOURNAL_DELETED = 3,
};

/* Variable length: the fixed part (size bytes), then json_len bytes of text
 * and a NUL; ucs_journal_event_json() finds the text. */
struct ucs_journal_event {
	uint32_t size;	   /* sizeof(struct ucs_journal_event) */
	int32_t op;	   /* enum ucs_journal_op_kind */
	int32_t offline;   /* created while the owner had no session */
	uint32_t json_len; /* length of json, without the NUL */
	struct ucs_id user;  /* the entry's owner */
	struct ucs_id entry; /* the entry's id */
	/* then: the entry as journal.query returns it ({"id": ...} for a deletion) */
};

/* One participating user of a finished call. */
struct ucs_journal_part {
	uint32_t size;
	int32_t direction;  /* enum ucs_call_direction of ucs/presence.h, as she saw it */
	int32_t rang;	    /* her phone rang */
	int32_t answered;   /* she answered (a pickup and her own deflection count) */
	int32_t unanswered; /* the journal marked the call unanswered for her */
	int32_t ended_by;   /* enum ucs_call_end of her line's part */
	uint32_t flags;	    /* UCS_CALLF_* of her line's part */
	int32_t private_call;
	int64_t alerting_ms; /* Unix ms: her phone started ringing; 0 never */
	int64_t connected_ms;
	int64_t ended_ms;
	struct ucs_id user;
	struct ucs_id line;
	struct ucs_id entry; /* her journal entry */
};

/* Variable length: the fixed part (size bytes), then n_parts parts of
 * part_size bytes each; ucs_journal_call_part() finds part i. */
struct ucs_journal_call {
	uint32_t size;	     /* sizeof(struct ucs_journal_call) */
	int32_t internal;    /* the other party is internal */
	int32_t answered;    /* anyone answered, a participant or an unmonitored party */
	int32_t hidden;	     /* the caller withheld her number */
	int32_t contact_found; /* remote_name came from a contact lookup */
	uint32_t n_parts;
	uint32_t part_size; /* sizeof(struct ucs_journal_part) of the writer */
	uint32_t reserved;
	int64_t started_ms;
	int64_t ended_ms;
	struct ucs_id call;
	struct ucs_number remote; /* the outside party (caller of an incoming call) */
	char remote_name[64];
	struct ucs_id remote_user;   /* the outside party when she is a ucsd user */
	struct ucs_id answered_user; /* the user who answered, "" if none or unmonitored */
	struct ucs_number answered_by; /* the number that answered, if known */
	/* then: the parts, in the order their phones rang */
};

static inline const char *ucs_journal_event_json(const struct ucs_journal_event *ev)
{
	return (const char *)ev + ev->size;
}

/* Part i (< n_parts); a reader checks the part's size before reading
 * members a newer writer added. */
static inline const struct ucs_journal_part *ucs_journal_call_part(const struct ucs_journal_call *c,
								   uint32_t i)
{
	return (const struct ucs_journal_part *)(const void *)((const char *)c + c->size +
							       (size_t)i * c->part_size);
}

struct ucs_journal_op;

/* status 0 or a negative errno; json the result (NULL on error), valid
 * during the call. */
typedef void(ucs_journal_done_h)(int status, const char *json, void *arg);

struct ucs_journal_query {
	uint32_t size;
	int32_t limit;	 /* 1..10000 */
	int32_t missed;	 /* only entries marked unanswered */
	int32_t reserved;
	int64_t since;	 /* Unix ms, 0: from the beginning */
	int64_t until;	 /* Unix ms, 0: up to now */
	struct ucs_id actor;
	struct ucs_id user; /* whose journal: "" the actor's own; an id or login */
	char text[128];	    /* "" or a text searched in numbers, names, notes, project */
};

/* ucs_journal_update.set */
#define UCS_JU_NOTE    (1u << 0)
#define UCS_JU_PRIVATE (1u << 1)
#define UCS_JU_READ    (1u << 2)

struct ucs_journal_update {
	uint32_t size;
	uint32_t set; /* UCS_JU_*: which of the fields below to change */
	int32_t private_call;
	int32_t read;
	struct ucs_id actor;
	struct ucs_id entry;
	char note[1025]; /* UTF-8, at most 1024 bytes */
};

struct ucs_journal_api {
	uint32_t size;
	/* Rows as a JSON array, newest first. */
	int (*query)(const struct ucs_journal_query *q, ucs_journal_done_h *done, void *arg,
		     struct ucs_journal_op **op);
	/* The changed entry as a JSON object; publishes "journal.event". */
	int (*update)(const struct ucs_journal_update *u, ucs_journal_done_h *done, void *arg,
		      struct ucs_journal_op **op);
	/* {"id": ...}; publishes "journal.event". */
	int (*remove)(const char *actor, const char *entry, ucs_journal_done_h *done, void *arg,
		      struct ucs_journal_op **op);
	/* The user's offline entries (kept while she had no session) as a JSON
	 * array, oldest first; they are delivered from then on. */
	int (*take_offline)(const char *user, ucs_journal_done_h *done, void *arg,
			    struct ucs_journal_op **op);
	/* Runs the retention rules now (the admin's "apply now"); the result
	 * is {"calls_deleted": n, "offline_deleted": n, "chat_deleted": n,
	 * "ms": n}. -EBUSY while a run is going. */
	int (*apply_retention)(ucs_journal_done_h *done, void *arg, struct ucs_journal_op **op);
	/* After cancel, done is never called. op may be NULL. */
	void (*cancel)(struct ucs_journal_op *op);
	/* Counters for the status monitor as a JSON object (snprintf rules). */
	int (*status)(char *buf, size_t cap);
};

#ifdef __cplusplus
}
#endif

#endif
