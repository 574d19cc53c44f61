/*
 * plugins/presence/tests/rights/snapbuild.h - user-store snapshots built by
 * hand for the rights engine's tests and benchmark.
 *
 * The engine only reads struct ucs_ud_snapshot (abi/ucs/userdb.h); these
 * helpers fill those plain structs the way a store would (users and groups
 * sorted by id, strings owned by the builder) without any store code. One
 * builder owns everything it hands out; sb_free() releases it all.
 */
#ifndef RIGHTS_TEST_SNAPBUILD_H
#define RIGHTS_TEST_SNAPBUILD_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/rights.h>
#include <ucs/userdb.h>

struct sb;

/* store: "file" or "ldap"; the settings start as all zero (global level
 * Blocked, no services, no restrictions). Aborts on allocation failure. */
struct sb *sb_new(const char *store);
void sb_free(struct sb *b);

struct ucs_ud_settings *sb_settings(struct sb *b);
void sb_write_back(struct sb *b, int on);

/* An active user (flags UCS_UD_ACTIVE) with the given id and login. */
struct ucs_ud_user *sb_user(struct sb *b, const char *id);
void sb_grant(struct sb *b, struct ucs_ud_user *granter, const char *grantee, int level,
	      uint64_t extra);

/* An active group with no members and Blocked rights. */
struct ucs_ud_group *sb_group(struct sb *b, const char *id);
void sb_member(struct sb *b, struct ucs_ud_group *g, const char *user);
void sb_monitor(struct sb *b, struct ucs_ud_group *g, const char *group);
void sb_leader(struct sb *b, struct ucs_ud_group *g, const char *leader, const char *deputy);

struct ucs_rights_set sb_set(int level, uint64_t extra);

/* The snapshot of what was built so far (users and groups sorted by id;
 * each user's `groups` filled from the groups' member lists). Valid until
 * the next sb_snapshot() or sb_free(); objects may be changed and the
 * snapshot taken again. */
const struct ucs_ud_snapshot *sb_snapshot(struct sb *b);

#endif
