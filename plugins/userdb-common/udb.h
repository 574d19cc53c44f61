/*
 * plugins/userdb-common/udb.h - the user store both user-store plugins are
 * built on (userdb-file, userdb-ldap): documents, snapshots, the atomic
 * document store on disk, and the "store core" behind the ucs.userdb service.
 *
 * Documents. Every object (user, group, computer, profile, the settings) is
 * a JSON document as docs/protocol/userdb.md defines it. A document has
 * three forms:
 *   - the *client form*: what put_json accepts. Absent keys take their
 *     defaults; unknown keys are errors naming their JSON path; a user
 *     document may carry the read-only keys of the read form, accepted only
 *     when they match what the store holds.
 *   - the *stored form*: what udb_doc_canon() returns and what lies on disk.
 *     Every writable key is present, in a fixed order. Defaults computed
 *     from other fields (a user's identity and display name, the name of a
 *     group, computer or profile) are stored as "" when they equal the
 *     computed value, so they follow their inputs (rename the login and the
 *     identity moves with it). Store-owned keys live here too: a user's
 *     "password_hash" (never leaves the store), "contact_image" and
 *     "profile_picture" (whether the PNG files exist), a computer's
 *     "last_logon" and "last_user".
 *   - the *read form*: what get_json returns, made by udb_doc_read(): the
 *     stored form with computed defaults filled in, the password hash
 *     replaced by "has_password", and a user's "groups" (derived from the
 *     groups' member lists) added. It is a valid client form, so what one
 *     reads can be written back unchanged.
 * Documents in memory are jansson values that are never modified once built
 * (jansson 2.14 counts references atomically), so a set of documents may be
 * shared with a worker thread by reference.
 *
 * Snapshots. udb_snapshot_build() turns a set of stored documents into one
 * immutable struct ucs_ud_snapshot (abi/ucs/userdb.h): arrays sorted by id,
 * users' "groups" derived from the groups' members, computed defaults and
 * flags filled in, phone numbers normalised through ucs.dialplan. Each
 * object is compiled into one reference-counted block holding its struct
 * and strings; a snapshot points into the blocks and holds them, so
 * udb_snapshot_update() makes the snapshot after a one-object change by
 * sharing every other block (a put costs pointer copies, not a rebuild).
 * Building is a pure function of its inputs and may run on any thread; the
 * result is reference counted atomically and released by whichever thread
 * drops it last. Lookups: ids by binary search, logins through a hash of
 * the lower-cased login.
 *
 * The document store (udb_store_*) keeps one file per object under DIR:
 * DIR/users/ID.json, DIR/groups/, DIR/computers/, DIR/profiles/,
 * DIR/settings.json, and the pictures under DIR/pictures/. A write goes to
 * a temporary file in the same directory, is fsync'ed, renamed over the
 * old file and the directory is fsync'ed: after a crash (kill -9, power
 * loss) each object is either the old or the new version, never torn nor
 * lost. Loading reports a file that does not parse or validate and moves it
 * aside (NAME.corrupt-<unix time>), never deletes it; temporary files left
 * by a crash are removed. The profile "default" and settings.json are
 * created on first start.
 *
 * The store core (udb_core_*) implements every slot of struct
 * ucs_userdb_api on top of the documents and the current snapshot: put ->
 * validate -> write to disk -> build the next snapshot -> swap it in ->
 * publish "userdb.changed". What the store writes it loads again: a
 * document whose stored text (udb_store_text) exceeds UDB_DOC_MAX is
 * refused before the write. Once a write reached the disk (the rename) the
 * change counts, whatever happens after it. A removal takes every
 * reference to the object with it - a user's grants from other users, her
 * membership and leader/deputy roles in groups; a group from other groups'
 * monitor and favourite lists; a profile from its users - so an object
 * created later with the same id inherits nothing: the documents that
 * named it are rewritten first, then the object's file goes, and the whole
 * removal is one snapshot swap with one event per changed object.
 *
 * A directory-backed store (userdb-ldap) hands the core a set of
 * *directory documents* for the kinds it reads from the directory:
 * partial documents whose keys (top level, or one level down in "phones"
 * and "contact") are exactly the fields the directory owns. The
 * core's effective document for a directory object is the local document
 * (ucsd's own settings, keyed by the same stable id) with the directory's
 * keys laid over it; a put that changes an owned field is refused with
 * -EROFS unless the store's write_back hook accepts it; objects of a
 * directory kind can neither be created nor removed through the service.
 * A user's contact image is the directory's when its directory document
 * has "contact_image" (the picture attribute is mapped): set_picture then
 * refuses it with -EROFS, while the profile picture stays ucsd's own. The
 * store hands the core the directory documents it already has (the last
 * good read) at udb_core_new, so the very first snapshot holds them, and
 * drops the local document of an object that left the directory for good
 * with udb_core_forget, which also drops the references to it from the
 * other local documents (the directory's own data is left as it is).
 *
 * The loop thread. A bulk change (reload, new directory documents, new
 * user flags) touches every object, so nothing of it that grows with the
 * store runs on the loop thread: the worker copies the document sets it
 * starts from (the loop thread's writes wait for that copy, a few
 * milliseconds at 10,000 users, only when they happen at that moment),
 * loads, merges, builds and diffs; the loop thread swaps pointers and
 * publishes; what the swap replaced (ten thousand documents and snapshot
 * blocks) is freed by another worker job (udb_core_dispose). A single
 * change makes the next snapshot in place (udb_snapshot_update: the
 * changed objects compiled, everything else shared); when that cannot be
 * done - the snapshot skipped a user (two directory users with one login),
 * more than a few objects changed at once - the full build runs as such a
 * worker job too: the documents are in at once, the snapshot and the
 * events follow when the build is swapped in.
 *
 * Threads: udb_doc_*, udb_snapshot_* and udb_store_* may be called from any
 * thread (the store serialises its own writes); udb_core_* run on the loop
 * thread except where noted.
 */
#ifndef UDB_H
#define UDB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <ucs/ucs.h>

/* ---- kinds ---- */

#define UDB_KIND_MIN	   UCS_UD_USER
#define UDB_KIND_MAX	   UCS_UD_SETTINGS
#define UDB_KIND_BIT(kind) (1u << (unsigned)(kind))

/* "user", "group", "computer", "profile", "settings"; NULL for others. */
const char *udb_kind_name(int kind);
/* The kind of a name above, or -EINVAL. */
int udb_kind_from_name(const char *name);
/* 1 when s is a valid id: 1-63 characters of a-z 0-9 . _ @ - (an id must fit
 * struct ucs_id, which carries it in every bus message) */
int udb_id_valid(const char *s);

/* Limits of docs/protocol/userdb.md. */
#define UDB_ID_MAX	     (UCS_ID_MAX - 1)
#define UDB_TEXT_MAX	     1024
#define UDB_NAME_MAX	     (2 * UDB_TEXT_MAX + 1) /* identity, display_name: computed from two */
#define UDB_PROFILE_MAX	     (64 * 1024)	    /* a profile's "settings", as compact JSON */
#define UDB_LIST_MAX	     1024		    /* most lists */
#define UDB_MEMBERS_MAX	     100000		    /* a group's members */
#define UDB_DOC_MAX	     (4 * 1024 * 1024)	    /* one document as text (see below) */
#define UDB_PICTURE_IN_MAX   (8 * 1024 * 1024)	    /* image data accepted by set_picture */
#define UDB_CONTACT_IMAGE_PX 96			    /* contact image: 96x96 */
#define UDB_PROFILE_PIC_W    400		    /* profile picture: 400 px wide */

/* How events and problems are reported (a log line); level is enum
 * ucs_log_level. May be called from worker threads. */
typedef void(udb_report_h)(void *arg, int level, const char *fmt, va_list ap);
struct udb_reporter {
	udb_report_h *h; /* NULL: silent */
	void *arg;
};
void udb_report(const struct udb_reporter *r, int level, const char *fmt, ...) UCS_PRINTF(3, 4);

/* ---- documents (udb_doc.c) ---- */

/* udb_ctx.flags. UDB_ID_IS_NAME: a user's id is her login in lower case, a
 * computer's its name (the file store). UDB_STORED: the input is the stored
 * form (from disk): store-owned keys (password_hash, ...) are accepted,
 * read-form keys are not. */
#define UDB_ID_IS_NAME (1u << 0)
#define UDB_STORED     (1u << 1)

struct udb_ctx {
	const char *presence_domain; /* for the identity default; NULL or "" when none */
	uint32_t flags;
};

/* What a client-form user or computer document said about the store-owned
 * keys of the read form (the caller compares them with the store). -1:
 * absent. groups is a new reference or NULL. */
struct udb_doc_meta {
	int has_password;
	int contact_image;
	int profile_picture;
	json_t *groups; /* the "groups" array as given */
};
void udb_doc_meta_clear(struct udb_doc_meta *m);

/* Validates a document of `kind` and returns its stored form in *out (a new
 * reference). On error returns -EINVAL and writes into err a message that
 * starts with the JSON path ("phones.mobile: expected a string"). Without
 * UDB_STORED the read-form keys (has_password, contact_image,
 * profile_picture, groups) are reported in meta for the caller to compare
 * with the store (meta NULL: they are errors), store-owned keys
 * (password_hash) are errors, and a computer's last_logon/last_user are
 * checked for type and otherwise ignored (the store keeps its own). With
 * UDB_STORED, meta is not used. */
int udb_doc_canon(int kind, const json_t *in, const struct udb_ctx *ctx, json_t **out,
		  struct udb_doc_meta *meta, char *err, size_t errcap);
/* Parses text first (size limit UDB_DOC_MAX; JSON syntax errors name
 * line:column). */
int udb_doc_canon_text(int kind, const char *text, size_t len, const struct udb_ctx *ctx,
		       json_t **out, struct udb_doc_meta *meta, char *err, size_t errcap);
/* The id of a stored-form document ("" for settings). */
const char *udb_doc_id(const json_t *doc);
/* The stored form of an object with nothing but its id (all defaults). */
json_t *udb_doc_default(int kind, const char *id);

/* The read form of a stored document (a new reference). groups: the ids of
 * the user's groups (a JSON array, borrowed), or NULL for an empty list. */
json_t *udb_doc_read(int kind, const json_t *stored, const struct udb_ctx *ctx,
		     const json_t *groups);
/* The computed defaults, as the snapshot and udb_doc_read fill them in
 * (buf gets a NUL-terminated string; returns buf). */
const char *udb_user_identity(const json_t *stored, const char *presence_domain, char *buf,
			      size_t cap);
const char *udb_user_display_name(const json_t *stored, char *buf, size_t cap);

/* Lays a directory document (partial; its keys are owned) over a stored
 * local document: returns a new stored-form candidate (validate it with
 * udb_doc_canon before use). local may be NULL (defaults). */
json_t *udb_doc_overlay(int kind, const json_t *local, const json_t *directory);
/* Calls fn for each owned path of a directory document ("login",
 * "phones.mobile", "contact.city"); stops at the first non-zero result. */
int udb_doc_owned_paths(const json_t *directory,
			int (*fn)(const char *path, const json_t *value, void *arg), void *arg);
/* The value at a path of the form above in a document, or NULL. */
const json_t *udb_doc_get_path(const json_t *doc, const char *path);

/* A set of documents: for each kind, a JSON object mapping id -> stored
 * document (settings: the one key ""). Documents are shared, never edited. */
struct udb_docs {
	json_t *kind[UDB_KIND_MAX + 1]; /* [0] unused */
};
int udb_docs_init(struct udb_docs *d);
void udb_docs_clear(struct udb_docs *d);
/* A shallow copy (documents shared by reference). */
int udb_docs_copy(struct udb_docs *dst, const struct udb_docs *src);
size_t udb_docs_count(const struct udb_docs *d, int kind);

/* ---- snapshots (udb_snapshot.c) ---- */

/* Canonical forms of phone numbers, shared between builds so that a
 * rebuild does not normalise ten thousand numbers again and does not warn
 * twice about the same number. Thread-safe. */
struct udb_numcache;
struct udb_numcache *udb_numcache_new(void);
void udb_numcache_clear(struct udb_numcache *c); /* the dialplan changed */
void udb_numcache_free(struct udb_numcache *c);

struct udb_build {
	const char *store; /* "file", "ldap" */
	uint64_t generation;
	int32_t write_back;
	const char *presence_domain;
	const char *picture_dir; /* absolute; picture paths are PICTURE_DIR/ID.contact.png, ...*/
	const struct ucs_dialplan_api *dialplan; /* NULL: no canonical forms */
	struct udb_numcache *numcache;		 /* NULL: normalise every number */
	const struct udb_docs *docs;		 /* effective stored-form documents */
	uint32_t directory_kinds;		 /* UDB_KIND_BIT: objects get UCS_UD_DIRECTORY */
	uint32_t user_flags;			 /* added to every user (UCS_UD_BIND_BUSINESS...) */
	struct udb_reporter report;		 /* numbers that do not normalise, dup logins */
};

/* Builds a snapshot with one reference. Documents that are not valid stored
 * forms are skipped with a report. A user whose login (case-insensitive)
 * another user with a smaller id already has is skipped with a report. */
int udb_snapshot_build(const struct udb_build *b, const struct ucs_ud_snapshot **out);
/* The snapshot after one object changed: kind/id now has the stored-form
 * document doc (NULL: the object is gone; in->docs is not used). Every
 * other object is shared with prev, so this costs pointer copies, not a
 * rebuild: what a put on the loop thread uses. The result equals what
 * udb_snapshot_build makes of the changed documents. -EAGAIN when the
 * change needs a full build (a login that collides, users prev skipped, the
 * default profile or the settings removed). */
int udb_snapshot_update(const struct ucs_ud_snapshot *prev, const struct udb_build *in, int kind,
			const char *id, const json_t *doc, const struct ucs_ud_snapshot **out);
const struct ucs_ud_snapshot *udb_snapshot_ref(const struct ucs_ud_snapshot *s);
void udb_snapshot_unref(const struct ucs_ud_snapshot *s);
/* Lookups (NULL when absent); id lookups O(log n), logins O(1). */
const struct ucs_ud_user *udb_snap_user(const struct ucs_ud_snapshot *s, const char *id);
const struct ucs_ud_user *udb_snap_user_by_login(const struct ucs_ud_snapshot *s,
						 const char *login);
const struct ucs_ud_group *udb_snap_group(const struct ucs_ud_snapshot *s, const char *id);
const struct ucs_ud_computer *udb_snap_computer(const struct ucs_ud_snapshot *s, const char *id);
const struct ucs_ud_profile *udb_snap_profile(const struct ucs_ud_snapshot *s, const char *id);
/* The ids of the groups listing `user` as member, as a new JSON array
 * (what a user's read form shows), from the snapshot. */
json_t *udb_snap_user_groups_json(const struct ucs_ud_snapshot *s, const char *user);

/* ---- pictures (udb_picture.c) ---- */

/* Decodes PNG, JPEG or GIF data and scales it: which 0 -> 96x96 (centre
 * cropped to a square first), 1 -> 400 px wide keeping the aspect ratio.
 * Returns PNG data in *png (free() it). -EINVAL for data that is no image
 * or larger than UDB_PICTURE_IN_MAX. */
int udb_picture_scale(const void *data, size_t len, int which, void **png, size_t *png_len);

/* ---- the document store on disk (udb_store.c) ---- */

struct udb_store;
/* Creates DIR and its layout when missing, and the profile "default" and
 * settings.json when missing (0700 directories, 0600 files). */
int udb_store_open(const char *dir, const struct udb_ctx *ctx, const struct udb_reporter *report,
		   struct udb_store **out);
void udb_store_close(struct udb_store *st);
const char *udb_store_dir(const struct udb_store *st);
const char *udb_store_picture_dir(const struct udb_store *st);

struct udb_load_stats {
	size_t loaded[UDB_KIND_MAX + 1];
	size_t corrupt;	  /* files moved aside */
	size_t temps;	  /* leftover temporary files removed */
	size_t misplaced; /* a valid document whose id does not match its file name */
};
/* Reads every document (blocking; any thread). Files that do not parse or
 * validate are reported and moved aside. */
int udb_store_load(struct udb_store *st, struct udb_docs *out, struct udb_load_stats *stats);
/* The text udb_store_write writes for a stored-form document: indented by
 * one space, every non-ASCII character as a \u escape (a character of
 * three UTF-8 bytes takes six, one of four takes twelve), so the file can
 * be more than twice as long as the client's text. Returns a new string in
 * *text (free() it) and its length in *len; -EFBIG (*text NULL, *len the
 * length it would have) when it is longer than UDB_DOC_MAX. UDB_DOC_MAX is the one limit of a
 * document's text: what put_json reads from a client, what a write puts on
 * disk and what a load reads back, so nothing the store accepts is moved
 * aside at the next load. */
int udb_store_text(const json_t *doc, char **text, size_t *len);
/* Writes one stored-form document atomically. -EFBIG when its text is
 * longer than UDB_DOC_MAX (nothing written, nothing reported: the caller
 * explains); -EIO and a report when the write failed before the rename
 * (the old file is then untouched). Once the rename is done the write
 * counts: a failed fsync of the directory afterwards is retried once and
 * reported as a warning, and the result is 0. */
int udb_store_write(struct udb_store *st, int kind, const json_t *doc);
/* Removes one object's file (and for users its pictures). -ENOENT. */
int udb_store_remove(struct udb_store *st, int kind, const char *id);
/* Removes only the document file, never a picture. -ENOENT. */
int udb_store_remove_doc(struct udb_store *st, int kind, const char *id);
/* Absolute path of a user's picture (which 0: contact image, 1: profile
 * picture) into buf. */
int udb_store_picture_path(const struct udb_store *st, const char *id, int which, char *buf,
			   size_t cap);
/* Writes data to a file under the store atomically (temp + fsync + rename
 * + fsync of the directory); data NULL removes it. */
int udb_store_write_file(struct udb_store *st, const char *path, const void *data, size_t len);
/* Tests only: a fault-injection seam. h is called at named points of the
 * store's work - "write" (before a temporary file is written), "rename",
 * "fsync_dir" (the directory after a rename or an unlink), "unlink",
 * "move_aside" (a file that failed to load, before the store's lock is
 * taken to move it) - with the path concerned; a negative errno it returns
 * fails that step as if the system call had. h NULL: none (the default). */
typedef int(udb_store_fault_h)(void *arg, const char *point, const char *path);
void udb_store_set_fault(struct udb_store *st, udb_store_fault_h *h, void *arg);

/* ---- the store core behind the ucs.userdb service (udb_core.c) ---- */

struct udb_core;

/* What a directory-backed store adds; NULL for the file store. */
struct udb_core_ops {
	uint32_t size;
	/* A put changes an owned field (path as in udb_doc_owned_paths) of a
	 * directory object to `value`. Return 0 when the plugin writes it back
	 * to the directory (the core then shows the new value at once) or
	 * -EROFS to refuse. NULL: every owned field is read-only. */
	int (*write_back)(void *arg, int kind, const char *id, const char *path,
			  const json_t *value);
	void *arg;
};

struct udb_core_cfg {
	uint32_t size;
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const char *store;	  /* "file", "ldap": ucs_ud_snapshot.store */
	const char *dir;	  /* the store's directory (documents and pictures) */
	uint32_t directory_kinds; /* UDB_KIND_BIT(kind): these objects come from the directory */
	uint32_t user_flags;	  /* UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2 as configured */
	int32_t write_back;	  /* ucs_ud_snapshot.write_back */
	const struct udb_core_ops *ops;
	/* A directory-backed store's directory documents at start (the last
	 * good read it kept), as for udb_core_set_directory: ownership is
	 * taken and *directory emptied, also when udb_core_new fails. NULL:
	 * none (the first snapshot has no directory objects). */
	struct udb_docs *directory;
};

/* Opens the store (creating its layout), loads every document (blocking:
 * call from init()), takes cfg->directory, registers "userdb.changed" and
 * builds the first snapshot from both: a plugin that acquires it in its own
 * init() already sees every object, and no event follows for them. Logs
 * what it loaded. Does not provide the service yet. */
int udb_core_new(const struct udb_core_cfg *cfg, struct udb_core **out);
/* Registers UCS_USERDB_SERVICE v1 (one core per process). */
int udb_core_provide(struct udb_core *core);
const struct ucs_userdb_api *udb_core_api(void);
/* SIGHUP: re-reads the directory on a worker thread, then (loop thread)
 * swaps in what was read and publishes what changed: one event per object
 * when few changed, otherwise UCS_UD_RELOADED. Clears the number cache (the
 * dialplan may have changed too). done may be NULL. */
int udb_core_reload(struct udb_core *core, void (*done)(int status, void *arg), void *arg);
/* A directory-backed store's new directory documents (ownership of *dir is
 * taken, *dir is emptied; kinds not in directory_kinds are ignored). The
 * snapshot is built on a worker thread, swapped in on the loop thread, and
 * the changes are published as in udb_core_reload. done may be NULL. */
int udb_core_set_directory(struct udb_core *core, struct udb_docs *dir,
			   void (*done)(int status, void *arg), void *arg);
/* New user flags and write_back (SIGHUP). They take effect with the next
 * bulk change - call udb_core_reload or udb_core_set_directory after it -
 * which rebuilds every object with them and, when they differ from the
 * current snapshot's, publishes one UCS_UD_RELOADED instead of per-object
 * events (every user changed). Until then puts keep the current ones. */
void udb_core_set_flags(struct udb_core *core, uint32_t user_flags, int32_t write_back);
/* Drops ucsd's own document of an object of a directory kind - its
 * settings, for an object that left the directory for good: the file, a
 * user's profile picture and (unless the directory provides it) her
 * contact image, and the copy in memory, so it does not come back with
 * the object nor at the next bulk change - and every reference to it in
 * the other local documents (a user's grants, leader and deputy of groups,
 * members a local document lists; a group in monitor and favourite
 * lists), so an object that appears later with the same id inherits
 * nothing. Those documents are rewritten first, each atomically; the
 * directory's own data is not touched. An object still in the directory
 * stays with the directory's fields only (one "updated" event); a
 * document that named it gets one "updated" when its effective form
 * changed; nothing else is published. Returns 0, -ENOENT when there is
 * neither a local document nor a reference to drop, -EINVAL for another
 * kind or an invalid id, -EIO when a file could not be written or removed
 * (the object's own document stays; references already dropped stay
 * dropped, on disk as in memory). Loop thread. */
int udb_core_forget(struct udb_core *core, int kind, const char *id);
/* Drops references the loop thread must not drop itself - the last
 * reference to ten thousand documents takes tens of milliseconds to free
 * - on a worker thread. Takes *docs (emptied; may be NULL) and extra (a
 * reference; may be NULL). Frees at once when no worker can be had. */
void udb_core_dispose(struct udb_core *core, struct udb_docs *docs, json_t *extra);
/* The status the service reports; the plugin may edit it (loop thread). */
struct ucs_ud_status *udb_core_status(struct udb_core *core);
/* The current snapshot (borrowed; loop thread). */
const struct ucs_ud_snapshot *udb_core_snapshot(struct udb_core *core);
/* The core's document store (tests: udb_store_set_fault). */
struct udb_store *udb_core_store(struct udb_core *core);
/* Withdraws nothing (the host does); stops publishing, cancels work. */
void udb_core_stop(struct udb_core *core);
void udb_core_free(struct udb_core *core);

#endif
