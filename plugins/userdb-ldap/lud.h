/*
 * plugins/userdb-ldap/lud.h - the LDAP / Active Directory user store.
 *
 * userdb-ldap is the second provider of "ucs.userdb" (only one of the two
 * runs): users, groups and computers come from a directory, everything
 * else - profiles, the global settings, and ucsd's own settings for the
 * directory objects (services, rights, lines, ...) - lives in the same
 * local documents userdb-file keeps, under <state>/userdb-ldap/. The
 * service, the snapshots, the document validation and the change events
 * are userdb-common's store core (udb.h); this plugin only feeds it
 * "directory documents": for every directory object a partial document
 * holding exactly the fields the directory owns. The core lays them over
 * the local documents, refuses puts to owned fields (-EROFS) unless the
 * write-back hook takes them, and publishes what changed.
 *
 * The parts, one concept per file (prefix lud_, never ldap_: that is
 * libldap's namespace):
 *   lud_util.c   text helpers with no libldap: base DN lists, DN
 *                normalisation, GUID/UUID ids, UTF-8 checks.
 *   lud_map.c    the attribute mapping (Active Directory and OpenLDAP
 *                defaults, overrides from the configuration) and the
 *                conversion of one entry into a directory document.
 *   lud_conf.c   the configuration section: keys, defaults, parsing into
 *                struct lud_conf, and its semantic checks.
 *   lud_conn.c   one libldap connection: ldaps/StartTLS/plain with
 *                certificate verification, bind, paged and cancellable
 *                searches, modify. Blocking: worker thread only.
 *   lud_sync.c   one full read of the directory into a set of directory
 *                documents (searches, mapping, duplicates, membership,
 *                the object limit, pictures). Worker thread only.
 *   lud_cache.c  the last good directory documents on disk, so a restart
 *                during an outage still has its users.
 *   plugin.c     the lifecycle, the sync timer with back-off, the status,
 *                the write-back queue.
 *
 * Threads. libldap blocks, so every directory operation runs in a job of
 * the host's thread pool (host->work); at most one job runs at a time, and
 * the connection lives in the plugin between jobs (only the running job
 * touches it). The loop thread only starts jobs and takes their results in
 * done(), where the documents go to the store core.
 */
#ifndef LUD_H
#define LUD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <ucs/ucs.h>

/* ---- text helpers (lud_util.c) ---- */

/* Splits a list of base DNs separated by ';' ("ou=a,dc=x; ou=b,dc=x"):
 * blanks around entries are dropped, empty entries skipped, "\;" does not
 * split. *out is a NULL-terminated array of strings (lud_strv_free).
 * Returns the count, or -ENOMEM / -EINVAL (more than LUD_BASES_MAX). */
#define LUD_BASES_MAX 64
int lud_split_bases(const char *in, char ***out);
void lud_strv_free(char **v);
size_t lud_strv_len(char *const *v);

/* A DN in a form two spellings of the same DN share: ASCII lower case,
 * no blanks around the separators ',', '+' and '='; escapes are kept.
 * -EINVAL for an empty DN or a dangling escape, -ENOSPC when it does not
 * fit. */
int lud_dn_norm(const char *dn, size_t len, char *out, size_t cap);

/* The textual form of a binary objectGUID (16 bytes) as Active Directory
 * writes it: the first three groups byte-swapped, lower case,
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". out needs 37 bytes. */
void lud_guid_text(const unsigned char guid[16], char out[37]);

/* The stable id of an object from the value of its id attribute: a 16-byte
 * value of objectGUID becomes its textual form; anything else must already
 * be text and is lower-cased. Returns 0, or -EINVAL when the result is not
 * a valid id (1-128 of a-z 0-9 . _ @ -). */
int lud_id_from_value(const char *attr, const void *val, size_t len, char *out, size_t cap);

/* 1 when p[0..n) is UTF-8 without NUL. */
int lud_utf8_valid(const char *p, size_t n);

/* FNV-1a, 64 bits: change detection for pictures. */
uint64_t lud_hash64(const void *p, size_t n);

/* ---- the mapping (lud_map.c) ---- */

enum lud_kind {
	LUD_USERS = 0,
	LUD_GROUPS = 1,
	LUD_COMPUTERS = 2,
	LUD_NKINDS = 3,
};
/* UCS_UD_USER ... for a lud_kind, and the config/report name ("users"). */
int lud_ud_kind(int kind);
const char *lud_kind_name(int kind);

enum lud_schema {
	LUD_SCHEMA_AD = 0,
	LUD_SCHEMA_OPENLDAP = 1,
};

/* How a field's values become a document value. */
enum lud_ftype {
	LUD_F_ID = 1,	  /* the stable id (objectGUID, entryUUID) */
	LUD_F_LOGIN,	  /* text, required */
	LUD_F_TEXT,	  /* first value */
	LUD_F_PHONE,	  /* next unused value of its attribute (see lud_map.c) */
	LUD_F_NUMBERS,	  /* every remaining value of its attribute */
	LUD_F_URI,	  /* first value up to the first blank (labeledURI "url label") */
	LUD_F_ACCOUNT,	  /* userAccountControl: active unless bit 2 (disabled) */
	LUD_F_PICTURE,	  /* binary image data */
	LUD_F_DNS,	  /* DNs: a user's groups, a group's members */
	LUD_F_NAME,	  /* a computer's name: its id is the name in lower case */
	LUD_F_GROUP_NAME, /* a group's name */
};

/* The field is not owned by the directory when switched off ("" in the
 * configuration): ucsd's own value (or computed default) applies. */
#define LUD_FF_LOCAL_WHEN_OFF (1u << 0)
#define LUD_FF_REQUIRED	      (1u << 1) /* an entry without it is skipped */
#define LUD_FF_WRITABLE	      (1u << 2) /* may be written back (phone numbers) */

struct lud_field {
	int kind;	    /* enum lud_kind */
	const char *key;    /* config key under <kind>.attributes */
	const char *path;   /* document path ("phones.mobile"), NULL: not a document key */
	int type;	    /* enum lud_ftype */
	uint32_t flags;	    /* LUD_FF_* */
	const char *def[2]; /* by enum lud_schema: attributes, ',' separated, "" off */
	const char *help;
};
extern const struct lud_field lud_fields[];
#define LUD_NFIELDS 31

/* The attributes of every field, as configured (each a list of attribute
 * names: the first one an entry has is used; empty: switched off). */
struct lud_map {
	char **attrs[LUD_NFIELDS]; /* NULL-terminated; an empty list is "off" */
};
/* Fills map from the schema defaults and the overrides (override[i] NULL:
 * the default). -EINVAL with err for a malformed attribute name. */
int lud_map_init(struct lud_map *map, int schema, const char *const override[LUD_NFIELDS],
		 char *err, size_t errcap);
void lud_map_free(struct lud_map *map);
/* 1 when field fi has at least one attribute (is not switched off). */
static inline int lud_map_has(const struct lud_map *map, int fi)
{
	return fi >= 0 && fi < LUD_NFIELDS && map->attrs[fi] && map->attrs[fi][0];
}
/* The attribute names a search for kind must request (NULL-terminated,
 * lud_strv_free). */
char **lud_map_attrs(const struct lud_map *map, int kind);
/* The index in lud_fields of kind's field with config key `key`, or -1. */
int lud_field_index(int kind, const char *key);

/* One directory entry as plain data (no libldap types). */
struct lud_val {
	const char *p;
	size_t n;
};
struct lud_attr {
	const char *name;
	const struct lud_val *vals;
	size_t n;
};
struct lud_entry {
	const char *dn;
	const struct lud_attr *attrs;
	size_t n;
};

/* What one entry became. The image data itself is not kept: a sync maps
 * every entry before the object limit applies, so objects carry only the
 * picture's hash, and the data of the kept ones is read again when it
 * changed (lud_sync.c). */
struct lud_obj {
	int kind; /* enum lud_kind */
	char id[129];
	char *dn;      /* as the directory spelled it */
	char *dn_norm; /* lud_dn_norm */
	json_t *doc;   /* the directory document (owned keys; no "groups"/"members") */
	char **dns;    /* normalised DNs: a user's groups / a group's members */
	int has_picture;
	uint64_t picture_hash; /* lud_hash64 of the image data */
	size_t picture_len;
};
void lud_obj_free(struct lud_obj *o);

/* Problems with single values (not fatal for the entry), for one summary
 * line per sync instead of one per value. */
struct lud_map_stats {
	size_t bad_values;   /* not UTF-8, too long, an unusable DN */
	char first_bad[256]; /* "uid=x,...: mail: not UTF-8" */
};

/* Converts one entry of kind into *out. Returns 0, or -EINVAL when the
 * entry cannot be an object (no id, no login, an invalid id) with the
 * reason in err. Never fails for a bad single value: it is left out and
 * counted in stats. */
int lud_map_entry(const struct lud_map *map, int kind, const struct lud_entry *e,
		  struct lud_obj *out, struct lud_map_stats *stats, char *err, size_t errcap);
/* The image data of a user entry (the first value of the first picture
 * attribute it has), or NULL. */
const struct lud_val *lud_map_picture(const struct lud_map *map, const struct lud_entry *e);
/* 1 when the attribute description desc (as a server returns it, maybe
 * with ";options") names the attribute type `name` or one of its aliases
 * (slapd answers "street" for "streetAddress"). */
int lud_attr_same(const char *desc, const char *name);

/* Phone numbers that share an attribute (lud_map.c). The phone fields
 * whose first attribute is the same take its values by position, the
 * further numbers what is left: a value's position decides its field. So
 * a write-back writes the attribute as a whole, every field in its place:
 * lud_phone_values makes the new list of values from the directory's
 * current ones and the changed fields. A change that position cannot
 * express - a field cleared while a later one sharing the attribute (or a
 * further number) keeps its value, or a field set while an earlier one is
 * empty - would move the later values into other fields; it is refused
 * with -EINVAL and a message naming the fields. Values that are no text
 * (the mapping skips them) are kept after the others. */
struct lud_phone_change {
	int field;	   /* index in lud_fields of a LUD_F_PHONE user field */
	const char *value; /* "" clears it */
};
/* *out (free() it; its values point into cur and the changes) gets the
 * attribute's new values. All changes must share the first attribute of
 * the first one's field (-EINVAL otherwise). */
int lud_phone_values(const struct lud_map *map, const struct lud_val *cur, size_t ncur,
		     const struct lud_phone_change *ch, size_t nch, struct lud_val **out,
		     size_t *nout, char *err, size_t errcap);

/* ---- the configuration (lud_conf.c) ---- */

struct lud_conf {
	char *url;     /* one or more URLs separated by blanks */
	bool starttls; /* ldap:// URLs upgrade with StartTLS */
	bool allow_plain;
	bool tls_verify;
	char *ca_file;	/* "" : the system's trust store */
	char *bind_dn;	/* "" : anonymous */
	char *password; /* from "password" or "password_file" */
	int network_timeout_ms;
	int search_timeout_ms;
	int page_size;
	int sync_interval_s;
	int retry_max_s;
	int max_objects;
	int schema;		  /* enum lud_schema */
	char **bases[LUD_NKINDS]; /* NULL-terminated; empty: the naming context */
	char *filter[LUD_NKINDS];
	struct lud_map map;
	bool write_back;
	bool bind_business;
	bool bind_business2;
	int keep_deleted_days;
};

extern const struct ucs_cfg_key lud_conf_keys[];
/* Reads and checks a validated section. -EINVAL with a message in err
 * ("url: ldap://x is not encrypted; set starttls or allow_plain"). */
int lud_conf_read(struct lud_conf *c, const struct ucs_cfg_api *cfg, const struct ucs_cfg *sec,
		  char *err, size_t errcap);
void lud_conf_free(struct lud_conf *c);
/* The default filter of a kind for a schema. */
const char *lud_default_filter(int schema, int kind);

/* ---- one connection (lud_conn.c) ---- */

struct lud_conn;

/* Errors carry a message ("TLS handshake failed: certificate not trusted").
 * -ECONNREFUSED / -ETIMEDOUT / -EHOSTUNREACH: the directory is unreachable;
 * -EACCES: bind refused; -EPROTO: TLS failure; -ENOENT: no such base;
 * -EINVAL: the server refused the data (a value's syntax, a constraint);
 * -ECANCELED: cancel flag set; -EIO: any other LDAP error. A connection
 * attempt that gets no TLS handshake within network_timeout (a server that
 * accepts connections and never answers) fails with -ETIMEDOUT. */
int lud_conn_open(const struct lud_conf *c, atomic_int *cancel, struct lud_conn **out, char *err,
		  size_t errcap);
void lud_conn_close(struct lud_conn *conn);
/* The naming context of the server's root DSE (defaultNamingContext, else
 * the first namingContexts) as a new string. */
int lud_conn_naming_context(struct lud_conn *conn, char **out, char *err, size_t errcap);

typedef int(lud_entry_h)(const struct lud_entry *e, void *arg);
/* A subtree search, page by page; h is called per entry (a non-zero result
 * stops the search and is returned). */
int lud_conn_search(struct lud_conn *conn, const char *base, const char *filter, char *const *attrs,
		    lud_entry_h *h, void *arg, char *err, size_t errcap);

/* One attribute modification: replace attr's values with vals (n 0:
 * delete the attribute). */
int lud_conn_replace(struct lud_conn *conn, const char *dn, const char *attr,
		     const struct lud_val *vals, size_t n, char *err, size_t errcap);
/* The values of one attribute of one entry, as they are (binary): *out
 * gets *n values, each in memory of its own (lud_vals_free). */
int lud_conn_read_attr(struct lud_conn *conn, const char *dn, const char *attr,
		       struct lud_val **out, size_t *n, char *err, size_t errcap);
void lud_vals_free(struct lud_val *v, size_t n);
/* A base search of one entry: h gets it (not called when it does not
 * exist or the filter does not match; -ENOENT when the entry is gone). */
int lud_conn_read_entry(struct lud_conn *conn, const char *dn, char *const *attrs, lud_entry_h *h,
			void *arg, char *err, size_t errcap);

/* ---- one full read (lud_sync.c) ---- */

struct udb_docs;

struct lud_sync_result {
	struct udb_docs *docs; /* directory documents by ucs kind (NULL on failure) */
	size_t count[LUD_NKINDS];
	size_t found; /* objects the directory returned (before the limit) */
	int limit_hit;
	size_t skipped; /* entries that could not be objects */
	char first_skipped[256];
	struct lud_map_stats stats;
	size_t pictures_written;
	json_t *pictures; /* id -> hash of the directory's image data */
	char err[256];
};

struct lud_sync_in {
	const struct lud_conf *conf;
	struct lud_conn **conn; /* kept open between syncs; (re)opened when NULL */
	atomic_int *cancel;
	const struct udb_docs *previous; /* the last good directory documents, or NULL */
	const char *picture_dir;	 /* where contact images go (NULL: nowhere) */
	const json_t *pictures;		 /* the previous result's pictures, or NULL */
	const char *presence_domain;
};
/* Reads everything; returns 0 and fills out, or a negative errno with
 * out->err (the connection is then closed). */
int lud_sync_run(const struct lud_sync_in *in, struct lud_sync_result *out);
void lud_sync_result_clear(struct lud_sync_result *r);
/* Frees the documents and pictures of a result, keeping its counts and
 * messages (a read that changed nothing, freed on the worker). */
void lud_sync_result_clear_docs(struct lud_sync_result *r);

/* Writes phone numbers of the entry dn that share one attribute (see
 * lud_phone_values) to the directory in one modify: the attribute's values
 * are read, the changed fields put in their places, and the attribute
 * written as a whole. -EINVAL (err) for a change that positions cannot
 * express; -EROFS for a field that is switched off. */
int lud_write_phones(const struct lud_conf *c, struct lud_conn **conn, atomic_int *cancel,
		     const char *dn, const struct lud_phone_change *ch, size_t nch, char *err,
		     size_t errcap);

/* Ranks objects for the limit (exported for the unit test): objects known
 * before first, then users, groups, computers, then by DN. */
void lud_sync_rank(struct lud_obj **objs, size_t n, const struct udb_docs *previous);

/* ---- the cache of the last good read (lud_cache.c) ---- */

/* The file <store>/directory.json: {"format": 1, "synced": T, "users": {id:
 * directory document}, "groups": {...}, "computers": {...}, "pictures":
 * {id: hash}, "vanished": {"user:id": T}}. */
struct lud_cache {
	struct udb_docs *docs; /* by ucs kind; NULL when there is no cache */
	json_t *pictures;      /* id -> picture hash */
	json_t *vanished;      /* "kind:id" -> Unix seconds it left the directory */
	int64_t synced;	       /* Unix seconds of the read */
};
/* -ENOENT when there is none; -EINVAL (err) when it is unusable (the caller
 * logs it and starts without). Documents of unknown kinds are ignored. */
int lud_cache_load(const char *path, struct lud_cache *c, char *err, size_t errcap);
int lud_cache_save(const char *path, const struct lud_cache *c, char *err, size_t errcap);
void lud_cache_clear(struct lud_cache *c);
/* Objects that left the directory: ucsd keeps their local documents
 * (services, rights, lines) for keep_days, so an object that comes back -
 * restored from the recycle bin, moved back into a searched OU - has its
 * settings again. Updates vanished ("kind:id" -> Unix seconds) from the
 * previous and the new read (both NULL: only the expiry is checked),
 * removes the contact images under picture_dir (NULL: none; the
 * directory's pictures) of users that left, and appends to expired the
 * keys of objects gone longer than keep_days. Their local documents are
 * the caller's to drop, through the store core (udb_core_forget) so that
 * its copy in memory goes too; the keys stay in vanished until the caller
 * removes them, so a stop in between purges them at the next start.
 * Malformed keys are dropped. Returns the count appended. */
size_t lud_vanished_update(json_t *vanished, const struct udb_docs *before,
			   const struct udb_docs *after, int64_t now, int keep_days,
			   const char *picture_dir, json_t *expired);
/* The ucs kind and the id of a key of vanished ("user:ID"); -EINVAL for a
 * malformed key. */
int lud_vanished_key(const char *key, int *ud_kind, const char **id);
/* Writes a file atomically: temp file, fsync, rename, fsync of the
 * directory. */
int lud_write_atomic(const char *path, const void *data, size_t len);

#endif
