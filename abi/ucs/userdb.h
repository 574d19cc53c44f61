/*
 * ucs/userdb.h - the "ucs.userdb" service: users, groups, computers,
 * profiles and the global user settings.
 *
 * Exactly one plugin provides the user store: userdb-file keeps every object
 * as a JSON document under the state directory; userdb-ldap reads users,
 * groups and computers from a directory and keeps ucsd's own settings for
 * them (services, rights, lines) in the same local documents, keyed by the
 * directory object's stable id. Consumers do not care which one runs.
 *
 * Snapshots. The whole store is presented as an immutable snapshot: arrays
 * of plain structs whose strings the snapshot owns. acquire() returns the
 * current one with a reference (atomic, so any thread may hold one);
 * release() drops it. A change never edits a snapshot: the provider builds
 * a new one, swaps it in, and publishes "userdb.changed". So a consumer
 * that computes something from a snapshot (a rights cache, a line binding)
 * sees one consistent state, and a long LDAP sync never shows half a
 * directory. Arrays are sorted by id; the lookup slots find an object in
 * O(log n) (ids) or O(1) (hashed logins).
 *
 * Documents. Every object also has a JSON document form - the one stored on
 * disk and carried by the admin protocol; docs/protocol/userdb.md defines
 * it. get_json returns it; put_json validates a document, writes it
 * atomically (a crash never leaves a torn or lost object) and publishes the
 * change. Phone numbers are stored as entered and normalised through
 * "ucs.dialplan" when the snapshot is built: canonical is "" when the
 * number could not be normalised.
 *
 * A directory-backed store refuses changes to fields the directory owns
 * with -EROFS (phone numbers are written back when the operator allowed
 * it), also a contact image the directory provides (set_picture). The
 * snapshot a plugin acquires in its init already holds the directory's last
 * good read (persisted), so no burst of "created" events follows the start. Errors are negative errno values: -ENOENT (no such object),
 * -EINVAL (invalid document; err says where and why), -EEXIST (login taken),
 * -EROFS, -EIO (the write failed; nothing changed).
 */
#ifndef UCS_USERDB_H
#define UCS_USERDB_H

#include <ucs/rights.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_USERDB_SERVICE "ucs.userdb"
#define UCS_USERDB_VERSION 1

/* "userdb.changed": payload struct ucs_userdb_change, key "<kind>:<id>"
 * ("user:alice", "settings:"); UCS_UD_RELOADED comes without a key, so only
 * subscribers without a key see it: it says "re-read the snapshot", after a
 * bulk change (a sync, a SIGHUP reload, or a reload that changed flags such
 * as UCS_UD_BIND_BUSINESS or the snapshot's write_back, which may change at
 * run time). Published after the new snapshot is in.
 * put_json, set_picture and computer_logon write synchronously (an fsync,
 * about half a millisecond on an SSD). */
#define UCS_USERDB_CHANGED_TYPE "userdb.changed"

enum ucs_ud_kind {
	UCS_UD_USER = 1,
	UCS_UD_GROUP = 2,
	UCS_UD_COMPUTER = 3,
	UCS_UD_PROFILE = 4,
	UCS_UD_SETTINGS = 5, /* one object, id "" */
};

enum ucs_ud_change_op {
	UCS_UD_CREATED = 1,
	UCS_UD_UPDATED = 2,
	UCS_UD_DELETED = 3,
	UCS_UD_RELOADED = 4, /* many objects changed at once (sync, SIGHUP); id "" */
};

struct ucs_userdb_change {
	uint32_t size;
	int32_t kind; /* enum ucs_ud_kind; 0 with UCS_UD_RELOADED */
	int32_t op;   /* enum ucs_ud_change_op */
	uint64_t generation;
	struct ucs_id id;
};

/* Services a user may use (user, group and global settings add up). */
#define UCS_SVC_CONFIGURE_SELF	 (1ull << 0)
#define UCS_SVC_CHAT		 (1ull << 1)
#define UCS_SVC_SOFTPHONE_AUDIO	 (1ull << 2)
#define UCS_SVC_SOFTPHONE_VIDEO	 (1ull << 3)
#define UCS_SVC_SCREEN_ACCEPT	 (1ull << 4)
#define UCS_SVC_SCREEN_INITIATE	 (1ull << 5)
#define UCS_SVC_SMS		 (1ull << 6)
#define UCS_SVC_MISSED_CALL_MAIL (1ull << 7)
#define UCS_SVC_MISSED_CALL_SMS	 (1ull << 8)
#define UCS_SVC_RECORD_CALLS	 (1ull << 9)
#define UCS_SVC_PHONE_BOOKS	 (1ull << 10)
#define UCS_SVC_APPS		 (1ull << 11)
#define UCS_SVC_INTERNET_LOGIN	 (1ull << 12)
#define UCS_SVC_WEB_APP		 (1ull << 13)
#define UCS_SVC_FILES		 (1ull << 14)
#define UCS_SVC_BUSINESS_CARD	 (1ull << 15) /* profile page visible to anonymous users */
#define UCS_SVC_TEAMS_PRESENCE	 (1ull << 16)
#define UCS_SVC_VOICE_MAILBOX	 (1ull << 17) /* Voice Services users only */
#define UCS_SVC_PORTAL		 (1ull << 18) /* groups: shown in the web portal */
#define UCS_SVC_SCREEN_FEDERATION (1ull << 19) /* global: screen sharing via federation */

/* The phone numbers of a user's contact, as slots of ucs_ud_user.phones. */
enum ucs_ud_phone {
	UCS_UD_PHONE_BUSINESS = 0,
	UCS_UD_PHONE_BUSINESS2,
	UCS_UD_PHONE_PRIVATE,
	UCS_UD_PHONE_MOBILE,
	UCS_UD_PHONE_PAGER,
	UCS_UD_PHONE_MAILBOX,
	UCS_UD_PHONE_RECORDING,
	UCS_UD_PHONE_FAX,
	UCS_UD_PHONE_COUNT
};

struct ucs_ud_number {
	const char *entered;   /* as stored; "" when empty */
	const char *canonical; /* super-canonical, "" when not normalisable */
};

/* A line made available to a user beyond her own (manual: additional lines). */
#define UCS_UD_LINE_SHOW_OUTGOING (1u << 0)
#define UCS_UD_LINE_SHOW_INCOMING (1u << 1)
#define UCS_UD_LINE_PICKUP	  (1u << 2) /* forward / pick up calls */
struct ucs_ud_extra_line {
	const char *line; /* line id or internal number */
	uint32_t rights;  /* UCS_UD_LINE_* */
};

/* One user's grant to another: grantee holds level + extra on the granter. */
struct ucs_ud_grant {
	const char *user; /* grantee id */
	struct ucs_rights_set rights;
};

/* ucs_ud_user.flags */
#define UCS_UD_ACTIVE	      (1u << 0) /* may log on and use the server */
#define UCS_UD_VOICE_SERVICES (1u << 1)
#define UCS_UD_DIRECTORY      (1u << 2) /* comes from a directory (LDAP) */
#define UCS_UD_BIND_BUSINESS  (1u << 3) /* business number takes part in line binding */
#define UCS_UD_BIND_BUSINESS2 (1u << 4) /* business 2 number takes part in line binding */
#define UCS_UD_HAS_PASSWORD   (1u << 5) /* a UC password is set */

struct ucs_ud_user {
	uint32_t size;
	uint32_t flags;
	const char *id;	      /* stable: the login (file store), entryUUID/objectGUID (LDAP) */
	const char *login;    /* unique, compared case-insensitively */
	const char *identity; /* "alice@example.com"; defaults to login@presence-domain */
	const char *first_name;
	const char *last_name;
	const char *display_name; /* defaults to "first last", else the login */
	const char *profile;	  /* profile id; "" means the default profile */
	const char *email;
	const char *dn; /* directory DN, "" for the file store */
	struct ucs_ud_number phones[UCS_UD_PHONE_COUNT];
	const char *const *other_numbers; /* additional numbers (directory: otherTelephone) */
	size_t n_other_numbers;
	const char *first_phone;  /* own phones: line ids / internal numbers, "" if none */
	const char *second_phone; /* (the "other" phones that others do not see) */
	const char *const *other_lines;
	size_t n_other_lines;
	const struct ucs_ud_extra_line *extra_lines;
	size_t n_extra_lines;
	/* contact address */
	const char *title;
	const char *company;
	const char *department;
	const char *office;
	const char *street;
	const char *postal_code;
	const char *city;
	const char *state;
	const char *country;
	const char *website;
	const char *contact_image;   /* absolute path of the 96x96 PNG, "" if none */
	const char *profile_picture; /* absolute path of the 400 px wide PNG, "" if none */
	uint64_t services;	     /* UCS_SVC_* set on the user herself */
	const struct ucs_ud_grant *grants;
	size_t n_grants;
	const char *const *groups; /* ids of the groups she is a member of */
	size_t n_groups;
};

enum ucs_ud_call_group {
	UCS_UD_CALLGROUP_OFF = 0,
	UCS_UD_CALLGROUP_SIP = 1,
	UCS_UD_CALLGROUP_VOICE = 2,
};
enum ucs_ud_ringing {
	UCS_UD_RING_PARALLEL = 0,
	UCS_UD_RING_SEQUENTIAL = 1,
	UCS_UD_RING_QUEUE = 2,
};

/* ucs_ud_group.journal */
#define UCS_UD_JOURNAL_LEADER (1u << 0) /* leader and deputy see the members' journals */
#define UCS_UD_JOURNAL_GROUP  (1u << 1) /* every member sees every member's journal */
#define UCS_UD_JOURNAL_MODIFY (1u << 2) /* ... and may modify the entries */

struct ucs_ud_key {
	const char *label;
	const char *number;
};

struct ucs_ud_group {
	uint32_t size;
	int32_t active; /* group settings active */
	const char *id;
	const char *name;
	const char *dn;
	const char *const *members; /* user ids, in ringing order */
	size_t n_members;
	const char *leader; /* user ids, "" if none; need not be members */
	const char *deputy;
	uint64_t services;
	uint32_t journal;		     /* UCS_UD_JOURNAL_* */
	struct ucs_rights_set member_rights; /* members among themselves */
	struct ucs_rights_set leader_rights; /* leader and deputy on the members */
	const char *const *monitor_groups;   /* group ids shown in the members' monitor */
	size_t n_monitor_groups;
	const char *const *favourite_groups;
	size_t n_favourite_groups;
	const struct ucs_ud_key *keys;
	size_t n_keys;
	int32_t call_group; /* enum ucs_ud_call_group */
	int32_t ringing;    /* enum ucs_ud_ringing */
	const char *call_number;
};

struct ucs_ud_computer {
	uint32_t size;
	int32_t authorised_only; /* only a line's owner may dial on it */
	const char *id;		 /* the computer name, lower case */
	const char *name;
	const char *dn;
	const char *first_phone;
	const char *second_phone;
	const char *const *lines; /* multiline list; a single "*" means all lines */
	size_t n_lines;
	int64_t last_logon; /* Unix seconds, 0 never */
	const char *last_user;
};

struct ucs_ud_profile {
	uint32_t size;
	const char *id;
	const char *name;
	const char *description;
	const char *settings_json; /* the client settings, a JSON object as text */
};

/* ucs_ud_settings.flags */
#define UCS_UD_JOURNAL_ALL	  (1u << 0) /* every user sees every journal */
#define UCS_UD_JOURNAL_DELETE	  (1u << 1) /* users may delete journal entries */
#define UCS_UD_ALL_IN_MONITOR	  (1u << 2)
#define UCS_UD_AUTO_LINE_BINDING  (1u << 3) /* phone numbers bind lines */

struct ucs_ud_settings {
	uint32_t size;
	uint32_t flags;			      /* UCS_UD_JOURNAL_ALL ... */
	uint32_t restrictions;		      /* UCS_RESTRICT_* of ucs/rights.h */
	uint32_t reserved;
	uint64_t services;		      /* every user has these */
	struct ucs_rights_set rights;	      /* every user on every other */
	struct ucs_rights_set monitor_rights; /* users seen through monitor groups */
};

struct ucs_ud_snapshot {
	uint32_t size;
	uint64_t generation; /* moves with every change */
	const char *store;   /* "file" or "ldap" */
	/* For self-configuration: the store lets users change directory
	 * fields (LDAP write-back of contact fields and numbers allowed). */
	int32_t write_back;
	const struct ucs_ud_user *const *users; /* sorted by id */
	size_t n_users;
	const struct ucs_ud_group *const *groups;
	size_t n_groups;
	const struct ucs_ud_computer *const *computers;
	size_t n_computers;
	const struct ucs_ud_profile *const *profiles;
	size_t n_profiles;
	const struct ucs_ud_settings *settings;
};

/* What the store is doing, for the status monitor. */
struct ucs_ud_status {
	uint32_t size;
	int32_t online;	     /* 0: the directory is unreachable, last good data served */
	int32_t limit_hit;   /* the maximum object count was reached */
	uint32_t reserved;
	int64_t last_sync;   /* Unix seconds of the last successful load/sync */
	uint64_t syncs;
	uint64_t failures;
	char message[256];   /* the last error or warning, "" if none */
};

struct ucs_userdb_api {
	uint32_t size;
	/* The current snapshot with a reference; never NULL once started. */
	const struct ucs_ud_snapshot *(*acquire)(void);
	void (*release)(const struct ucs_ud_snapshot *snap);
	const struct ucs_ud_user *(*user)(const struct ucs_ud_snapshot *snap, const char *id);
	const struct ucs_ud_user *(*user_by_login)(const struct ucs_ud_snapshot *snap,
						   const char *login);
	const struct ucs_ud_group *(*group)(const struct ucs_ud_snapshot *snap, const char *id);
	const struct ucs_ud_computer *(*computer)(const struct ucs_ud_snapshot *snap,
						  const char *id);
	const struct ucs_ud_profile *(*profile)(const struct ucs_ud_snapshot *snap,
						const char *id);

	/* Documents (loop thread). id is ignored for UCS_UD_SETTINGS.
	 * get_json follows snprintf rules (returns the length it needs). */
	int (*get_json)(int kind, const char *id, char *buf, size_t cap);
	int (*put_json)(int kind, const char *json, size_t len, char *err, size_t errcap);
	int (*remove)(int kind, const char *id);

	/* The UC password hash (PHC string) of a user: 0, -ENOENT when none
	 * is set, -ENOSPC when cap is too small. Only the auth plugin has a
	 * reason to call these. */
	int (*password_hash)(const char *id, char *buf, size_t cap);
	int (*set_password_hash)(const char *id, const char *phc);
	/* The last logon of a computer (and who used it). */
	int (*computer_logon)(const char *id, const char *user, int64_t when);
	/* Stores a user's contact image (which = 0, scaled to 96x96) or
	 * profile picture (which = 1, scaled to 400 px wide) from PNG, JPEG or
	 * GIF data; len 0 removes it. -EINVAL for data that is no image. */
	int (*set_picture)(const char *id, int which, const void *data, size_t len);

	int (*status)(struct ucs_ud_status *out);
};

#ifdef __cplusplus
}
#endif

#endif
