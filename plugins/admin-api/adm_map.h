/*
 * plugins/admin-api/adm_map.h - the administration's params and the user
 * store's documents, mapped both ways.
 *
 * The admin protocol speaks the words an administrator and a script use
 * (issue 5, "Contract details that scripts rely on"): a user has `numbers`
 * {business, ..., voicemail}, `phones` {first, second}, `services` as a map
 * of name -> bool, `rights` she grants to other users or to whole groups,
 * and the `groups` she belongs to. The user store keeps documents
 * (docs/protocol/userdb.md): `phones` {.., mailbox}, `first_phone`, a list
 * of `services`, `grants` to user ids only, and membership on the groups.
 * This file is the one place that translates, in both directions, so the
 * handlers only fetch, call and write.
 *
 * Writing. A create or update starts from the object's current read-form
 * document (NULL for a create), lays the params over it and returns the
 * complete document to store - so what params do not mention stays as it
 * was, and every document written is one the store validates as a whole.
 * Params are checked strictly first: unknown members, wrong types, unknown
 * names of services, levels and rights, logins and groups that do not
 * exist are refused with a message that starts with the param's path
 * ("numbers.fax: unknown member", "rights[1].group: no group \"sales\"").
 *
 * Rights granted to a group. The document model knows grants to users
 * only, so a `{"group": NAME}` entry is expanded to one grant per member
 * at write time (not kept as a group: a member who joins later gets
 * nothing until the rights are written again). Explicit user entries win
 * over entries that come from groups; where several groups name the same
 * user, the highest level and the union of the extra rights count. The
 * granter herself is skipped. Reading gives the grants per user.
 *
 * Everything here is pure: the store is reached through struct
 * adm_resolver, so the unit tests and the fuzz target run it without one.
 */
#ifndef ADM_MAP_H
#define ADM_MAP_H

#include <stddef.h>

#include <jansson.h>

/* Lookups in the current snapshot. Every function may be NULL (then
 * nothing is found). Returned strings stay valid while the snapshot does. */
struct adm_resolver {
	/* The id of the user with this login (case-insensitive), or NULL. */
	const char *(*user_id)(void *arg, const char *login);
	/* The login of a user id, or NULL. */
	const char *(*user_login)(void *arg, const char *id);
	/* The id of the group with this id or name (case-insensitive), or NULL. */
	const char *(*group_id)(void *arg, const char *name);
	/* The name of a group id, or NULL. */
	const char *(*group_name)(void *arg, const char *id);
	/* The members (user ids) of a group: the count, *out set. */
	size_t (*group_members)(void *arg, const char *id, const char *const **out);
	void *arg;
};

#define ADM_ID_MAX 63

/* 1 when s is a valid store id (1-63 of a-z 0-9 . _ @ -). */
int adm_id_valid(const char *s);
/* The id a name gives when none is given: lower case, other characters
 * than a-z 0-9 . _ @ - become '-', at most ADM_ID_MAX. 0, or -EINVAL when
 * nothing is left. */
int adm_id_from_name(const char *name, char *id, size_t cap);

/* Users. params: the users.create / users.update params. current: the
 * user's read-form document (NULL: create; the id is the login in lower
 * case). On success *doc is the document to store (read-only keys
 * removed) and *groups the ids of the groups she is to be a member of, or
 * NULL when params do not say (`groups` absent). -EINVAL with err, or
 * -ENOMEM. The password is not part of the document: see
 * adm_user_password. */
int adm_user_doc(const json_t *params, const json_t *current, const struct adm_resolver *r,
		 json_t **doc, json_t **groups, char *err, size_t cap);
/* The password param: 1 and *pw when given (a string of 1..1024 bytes
 * without NUL), 0 when absent, -EINVAL with err. */
int adm_user_password(const json_t *params, const char **pw, char *err, size_t cap);

/* The protocol's view of a user: from her read-form document and her
 * numbers as {slot: {entered, canonical, display}} (stolen; may be NULL).
 * NULL on ENOMEM. */
json_t *adm_user_view(const json_t *doc, json_t *numbers, const struct adm_resolver *r);
/* The numbers slots: protocol names and the document's phones keys. */
extern const char *const adm_number_names[]; /* business ... voicemail, NULL */
extern const char *const adm_number_doc_keys[];

/* Groups: groups.create / groups.update params over the read-form document
 * (NULL: create). */
int adm_group_doc(const json_t *params, const json_t *current, const struct adm_resolver *r,
		  json_t **doc, char *err, size_t cap);
json_t *adm_group_view(const json_t *doc, const struct adm_resolver *r);
/* A group document with user id (added when add, else removed) in its
 * members: a new document, or NULL when nothing changes (or ENOMEM, *nomem
 * set). */
json_t *adm_group_member(const json_t *doc, const char *user, int add, int *nomem);

/* Computers and profiles: their params are the document's own keys. */
int adm_computer_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		     size_t cap);
int adm_profile_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		    size_t cap);

/* Settings: settings.set params over the read-form document. */
int adm_settings_doc(const json_t *params, const json_t *current, json_t **doc, char *err,
		     size_t cap);
json_t *adm_settings_view(const json_t *doc);

/* A store's message about a document ("phones.mailbox: ...") in the
 * protocol's words ("numbers.voicemail: ..."), for kind (enum ucs_ud_kind). */
void adm_store_message(int kind, const char *msg, char *out, size_t cap);

#endif
