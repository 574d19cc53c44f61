/*
 * plugins/presence/rights.c - the rights engine: the manual's level tables,
 * the index of one user-store snapshot, and the pair cache that answers
 * "what may w see and do of t" in constant time.
 *
 * The tables. The levels (Public, Business, Team, Personal; Blocked adds
 * nothing) are transcribed row by row from the manual's "Presence and lines"
 * (21.2) and "Contact data" (21.1) tables into X-macros, so the code reads
 * like the manual and every mask is a compile-time constant. Two rows of
 * 21.2 have graded cells and become two bits each: private appointments
 * ("Private" only from Business on, subject and place at Personal) and the
 * audio/video line status (grey from Public on, red from Team on). The
 * additional lines' "set call forwarding" and "pickup" rows are empty in
 * every column: only an explicit extra bit grants them.
 *
 * Contact fields. Each contact bit stands for one column of 21.1 (Business
 * and Team are the same column) and unlocks every field marked in it. The
 * contact image is in every column, and 21.2 has its own "See contact image"
 * right: the image travels only when both allow it (a contact bit and
 * UCS_R_SEE_CONTACT_IMAGE). Every level holds both, so this only matters for
 * custom sets, where it errs on the side of showing less.
 *
 * Decisions the manual leaves open:
 *  - A user always holds UCS_R_ALL on herself, active or not. Between two
 *    different users, an inactive watcher or target gets 0 (an inactive user
 *    may not use the server, so she neither watches nor is shown). Her
 *    services and self-configuration fields are 0 as well.
 *  - Membership is taken from the groups' member lists (the store keeps it
 *    there); members, leaders, deputies and grantees that name no user are
 *    ignored, as are monitor groups that name no group.
 *  - Monitor: w sees t through a monitor group when an *active* group of w
 *    lists a group (active or not: it only supplies the member list) that
 *    has t as a member; or when the global "all users have all users in the
 *    monitor" is on.
 *  - Presence switched off (UCS_RESTRICT_PRESENCE_OFF) does not change the
 *    rights: the engine stays a pure function of the store, and the presence
 *    plugin refuses to show presence. "Users may not assign rights"
 *    (UCS_RESTRICT_NO_USER_RIGHTS) makes the engine ignore every user grant.
 *  - Self-configuration uses the directory column of 21.3 for users of a
 *    directory store (snapshot store "ldap", or the user's UCS_UD_DIRECTORY
 *    flag) and the integrated column otherwise.
 *  - Explanations (rights_explain) list the sources as ucs/rights.h spells
 *    them - "global", "monitor" (the monitor rights when w sees t in her
 *    monitor, else []), "groups" (each active group that connects them, with
 *    its member and/or leader rights), "user" (t's grant to w, [] under
 *    "users may not assign rights") - and add "effective" (what rights_get
 *    answers) and, where that is not the union, "reason": "self" or
 *    "inactive". Unknown users give -ENOENT.
 *
 * The index. Users get dense indices (their position in the snapshot);
 * a hash of ids finds them. Per user the index holds sorted arrays of group
 * indices: every group she is a member of, the active groups she leads or
 * deputises, and the groups her active groups show in her monitor; plus her
 * grants sorted by grantee, and her effective services. Per group it holds
 * the member and leader masks (0 for an inactive group, so the query needs
 * no branch on it). A miss merges a few short sorted arrays and searches one.
 *
 * The cache. A bounded, 4-way set-associative table of (w, t) -> mask; a
 * bucket is one 64-byte cache line. Each entry carries the tag of the index
 * generation it was computed under in the mask's spare high bits, so a
 * reload invalidates every entry at once by moving the tag; when the tag
 * space runs out the table is cleared. A miss evicts the bucket's oldest
 * entry. A hit touches one cache line and nothing else; nothing on the
 * query path allocates. rights_new(0) takes 262,144 slots (4 MiB).
 */
#include "rights.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ucs_names.h"

/* ---- The manual's tables ------------------------------------------------ */

#define X	   1
#define _	   0
#define LN(cls, r) UCS_R_LINE(UCS_LINE_##cls, UCS_RL_##r)

/* "Presence and lines" (21.2): right, Public, Business, Team, Personal. */
#define PRESENCE_AND_LINES(ROW)                                                            \
	ROW(UCS_R_SEE_CONTACT_IMAGE, X, X, X, X)                                           \
	ROW(UCS_R_SEE_PRESENCE, X, X, X, X)                                                \
	ROW(UCS_R_SET_PRESENCE, _, _, X, X)                                                \
	ROW(UCS_R_SEE_NOTE, X, X, X, X)                                                    \
	ROW(UCS_R_SET_NOTE, _, _, X, X)                                                    \
	ROW(UCS_R_SEE_PRIVATE_APPT_BUSY, _, X, X, X) /* x with the indication "Private" */ \
	ROW(UCS_R_SEE_PRIVATE_APPT, _, _, _, X)	     /* X with subject and place */        \
	ROW(UCS_R_SEE_PUBLIC_APPT, _, X, X, X)                                             \
	ROW(UCS_R_SEE_NUMBERS, X, X, X, X)                                                 \
	ROW(UCS_R_SEE_LINE_STATE, _, X, X, X)                                              \
	ROW(LN(FIRST, SEE_OUTGOING), _, X, X, X)                                           \
	ROW(LN(FIRST, SEE_INCOMING), _, X, X, X)                                           \
	ROW(LN(FIRST, SEE_FORWARDING), X, X, X, X)                                         \
	ROW(LN(FIRST, SEE_FWD_NUMBER), _, X, X, X)                                         \
	ROW(LN(FIRST, SET_FORWARDING), _, _, _, X)                                         \
	ROW(LN(FIRST, PICKUP), _, _, X, X)                                                 \
	ROW(LN(SECOND, SEE_OUTGOING), _, _, X, X)                                          \
	ROW(LN(SECOND, SEE_INCOMING), _, _, X, X)                                          \
	ROW(LN(SECOND, SEE_FORWARDING), X, X, X, X)                                        \
	ROW(LN(SECOND, SEE_FWD_NUMBER), _, _, X, X)                                        \
	ROW(LN(SECOND, SET_FORWARDING), _, _, _, X)                                        \
	ROW(LN(SECOND, PICKUP), _, _, _, X)                                                \
	ROW(LN(ADDITIONAL, SEE_OUTGOING), _, _, X, X)                                      \
	ROW(LN(ADDITIONAL, SEE_INCOMING), _, _, X, X)                                      \
	ROW(LN(ADDITIONAL, SEE_FORWARDING), X, X, X, X)                                    \
	ROW(LN(ADDITIONAL, SEE_FWD_NUMBER), _, _, X, X)                                    \
	ROW(LN(ADDITIONAL, SET_FORWARDING), _, _, _, _)                                    \
	ROW(LN(ADDITIONAL, PICKUP), _, _, _, _)                                            \
	ROW(UCS_R_SEE_AV_STATE, X, X, X, X)  /* busy: the AV icon grey */                  \
	ROW(UCS_R_SEE_AV_DETAIL, _, _, X, X) /* busy: the AV icon red */                   \
	ROW(UCS_R_SEE_AV_PARTICIPANTS, _, _, X, X)                                         \
	/* The columns of "Contact data" (21.1), one bit each. */                          \
	ROW(UCS_R_CONTACT_PUBLIC, X, X, X, X)                                              \
	ROW(UCS_R_CONTACT_BUSINESS, _, X, X, X)                                            \
	ROW(UCS_R_CONTACT_PERSONAL, _, _, _, X)

#define COL_PUBLIC(bit, p, b, t, pe)   | ((p) ? (bit) : 0)
#define COL_BUSINESS(bit, p, b, t, pe) | ((b) ? (bit) : 0)
#define COL_TEAM(bit, p, b, t, pe)     | ((t) ? (bit) : 0)
#define COL_PERSONAL(bit, p, b, t, pe) | ((pe) ? (bit) : 0)

static const uint64_t level_masks[UCS_LEVEL_COUNT] = {
	[UCS_LEVEL_BLOCKED] = 0,
	[UCS_LEVEL_PUBLIC] = 0 PRESENCE_AND_LINES(COL_PUBLIC),
	[UCS_LEVEL_BUSINESS] = 0 PRESENCE_AND_LINES(COL_BUSINESS),
	[UCS_LEVEL_TEAM] = 0 PRESENCE_AND_LINES(COL_TEAM),
	[UCS_LEVEL_PERSONAL] = 0 PRESENCE_AND_LINES(COL_PERSONAL),
};

/* "Contact data" (21.1): field, Public, Business, Team, Personal. */
#define CONTACT_DATA(ROW)                       \
	ROW(UCS_CF_IMAGE, X, X, X, X)           \
	ROW(UCS_CF_DISPLAY_NAME, X, X, X, X)    \
	ROW(UCS_CF_TITLE, X, X, X, X)           \
	ROW(UCS_CF_COMPANY, X, X, X, X)         \
	ROW(UCS_CF_DEPARTMENT, _, X, X, X)      \
	ROW(UCS_CF_OFFICE, _, X, X, X)          \
	ROW(UCS_CF_ADDRESS, _, X, X, X)         \
	ROW(UCS_CF_PHONE_BUSINESS, X, X, X, X)  \
	ROW(UCS_CF_PHONE_BUSINESS2, X, X, X, X) \
	ROW(UCS_CF_PHONE_MOBILE, X, X, X, X)    \
	ROW(UCS_CF_PHONE_PAGER, _, X, X, X)     \
	ROW(UCS_CF_PHONE_PRIVATE, _, _, _, X)   \
	ROW(UCS_CF_PHONE_OTHER, _, _, _, X)     \
	ROW(UCS_CF_FAX, _, X, X, X)             \
	ROW(UCS_CF_EMAIL, X, X, X, X)           \
	ROW(UCS_CF_SIP_ADDRESS, X, X, X, X)     \
	ROW(UCS_CF_WEBSITE, _, X, X, X)

#define CF_PUBLIC(f, p, b, t, pe)   | ((p) ? 1u << (f) : 0u)
#define CF_BUSINESS(f, p, b, t, pe) | ((b) ? 1u << (f) : 0u)
#define CF_TEAM(f, p, b, t, pe)	    | ((t) ? 1u << (f) : 0u)
#define CF_PERSONAL(f, p, b, t, pe) | ((pe) ? 1u << (f) : 0u)

/* The Business and Team columns are the same; UCS_R_CONTACT_BUSINESS stands
 * for both (checked at compile time). */
_Static_assert((0u CONTACT_DATA(CF_BUSINESS)) == (0u CONTACT_DATA(CF_TEAM)),
	       "Business and Team contact columns differ");

/* "Configure user account yourself" (21.3): field, directory, integrated.
 * D: always; W: only when the directory may be written back; -: never. */
#define SF_D 1
#define SF_W 2
#define SF_N 0
#define SELF_CONFIGURATION(ROW)              \
	ROW(UCS_SF_FIRST_NAME, SF_N, X)      \
	ROW(UCS_SF_LAST_NAME, SF_N, X)       \
	ROW(UCS_SF_DISPLAY_NAME, SF_N, X)    \
	ROW(UCS_SF_EMAIL, SF_N, X)           \
	ROW(UCS_SF_PASSWORD, SF_D, X)        \
	ROW(UCS_SF_COMPANY, SF_W, X)         \
	ROW(UCS_SF_TITLE, SF_W, X)           \
	ROW(UCS_SF_OFFICE, SF_W, X)          \
	ROW(UCS_SF_STREET, SF_W, X)          \
	ROW(UCS_SF_POSTAL_CITY, SF_W, X)     \
	ROW(UCS_SF_STATE, SF_W, X)           \
	ROW(UCS_SF_COUNTRY, SF_W, X)         \
	ROW(UCS_SF_WEBSITE, SF_W, X)         \
	ROW(UCS_SF_PHONE_BUSINESS, SF_W, X)  \
	ROW(UCS_SF_PHONE_BUSINESS2, SF_W, X) \
	ROW(UCS_SF_PHONE_PRIVATE, SF_W, X)   \
	ROW(UCS_SF_PHONE_MOBILE, SF_W, X)    \
	ROW(UCS_SF_PHONE_MAILBOX, SF_D, X)   \
	ROW(UCS_SF_PHONE_RECORDING, SF_D, X) \
	ROW(UCS_SF_FIRST_PHONE, SF_D, X)     \
	ROW(UCS_SF_SECOND_PHONE, SF_D, X)    \
	ROW(UCS_SF_SERVICES, SF_D, X)        \
	ROW(UCS_SF_OWN_PHONES, SF_D, X)      \
	ROW(UCS_SF_COMPUTER_PHONES, SF_D, X) \
	ROW(UCS_SF_CONTACT_IMAGE, SF_N, X)

#define SF_DIR_ALWAYS(f, d, i) | ((d) == SF_D ? 1u << (f) : 0u)
#define SF_DIR_WRITE(f, d, i)  | ((d) == SF_W ? 1u << (f) : 0u)
#define SF_INTEGRATED(f, d, i) | ((i) ? 1u << (f) : 0u)

static const uint32_t self_dir_always = 0u SELF_CONFIGURATION(SF_DIR_ALWAYS);
static const uint32_t self_dir_write = 0u SELF_CONFIGURATION(SF_DIR_WRITE);
static const uint32_t self_integrated = 0u SELF_CONFIGURATION(SF_INTEGRATED);

uint64_t rights_level_mask(int level)
{
	if (level < 0 || level >= UCS_LEVEL_COUNT)
		return 0;
	return level_masks[level];
}

uint64_t rights_set_mask(const struct ucs_rights_set *set)
{
	if (!set)
		return 0;
	return rights_level_mask(set->level) | (set->extra & UCS_R_ALL);
}

uint32_t rights_contact_fields(uint64_t rights)
{
	uint32_t f = 0;

	if (rights & UCS_R_CONTACT_PUBLIC)
		f |= 0u CONTACT_DATA(CF_PUBLIC);
	if (rights & UCS_R_CONTACT_BUSINESS)
		f |= 0u CONTACT_DATA(CF_BUSINESS);
	if (rights & UCS_R_CONTACT_PERSONAL)
		f |= 0u CONTACT_DATA(CF_PERSONAL);
	if (!(rights & UCS_R_SEE_CONTACT_IMAGE))
		f &= ~(1u << UCS_CF_IMAGE);
	return f;
}

#undef X
#undef _

/* ---- The index ---------------------------------------------------------- */

/* Offsets and lengths into the index's pool of group indices. */
struct ri_list {
	uint32_t off, n;
};

struct ri_user {
	struct ri_list groups;	/* every group she is a member of */
	struct ri_list leads;	/* active groups she leads or deputises */
	struct ri_list monitor; /* groups her active groups show in her monitor */
	struct ri_list grants;	/* her grants (into ri_index.grants), by grantee */
	uint32_t active;
	uint64_t services; /* effective: her own, her active groups', the global ones */
};

struct ri_grant {
	uint32_t grantee;
	uint64_t mask;
};

struct ri_index {
	const struct ucs_ud_snapshot *snap;
	uint32_t n_users, n_groups;
	struct ri_user *users;
	uint64_t *member_mask; /* per group; 0 when the group is inactive */
	uint64_t *leader_mask;
	uint32_t *pool;
	size_t n_pool, cap_pool;
	struct ri_grant *grants;
	int32_t *user_hash; /* open addressing, -1 empty */
	int32_t *group_hash;
	uint32_t user_hash_mask, group_hash_mask;
	uint64_t global, monitor, global_services;
	uint32_t restrictions;
	bool all_in_monitor;
	size_t bytes;
};

/* ---- The pair cache ----------------------------------------------------- */

#define RC_WAYS		 4
#define RC_TAG_SHIFT	 35
#define RC_TAG_MAX	 ((1u << (64 - RC_TAG_SHIFT)) - 1)
#define RC_DEFAULT_SLOTS (1u << 18)
#define RC_MIN_SLOTS	 64u
#define RC_MAX_SLOTS	 (1u << 28)

_Static_assert((UCS_R_ALL >> RC_TAG_SHIFT) == 0, "tag bits overlap the rights");

struct rc_slot {
	uint64_t key; /* w << 32 | t */
	uint64_t val; /* rights | tag << RC_TAG_SHIFT; tag 0 never matches */
};

struct rights_engine {
	struct ri_index *idx; /* NULL before the first load */
	struct rc_slot *cache;
	uint32_t bucket_shift; /* 64 - log2(buckets) */
	uint32_t tag;
	size_t n_slots;
	uint64_t generation;
	uint64_t hits, misses;
};

/* ---- Helpers ------------------------------------------------------------ */

static const char *str(const char *s)
{
	return s ? s : "";
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static int32_t hash_find(const int32_t *table, uint32_t mask, const char *id,
			 const char *(*id_at)(const struct ri_index *, int32_t),
			 const struct ri_index *idx)
{
	uint32_t i;

	if (!table || !id)
		return -1;
	for (i = (uint32_t)hash_str(id) & mask;; i = (i + 1) & mask) {
		if (table[i] < 0)
			return -1;
		if (strcmp(id_at(idx, table[i]), id) == 0)
			return table[i];
	}
}

static const char *user_id_at(const struct ri_index *idx, int32_t i)
{
	return idx->snap->users[i]->id;
}

static const char *group_id_at(const struct ri_index *idx, int32_t i)
{
	return idx->snap->groups[i]->id;
}

static int32_t find_user(const struct ri_index *idx, const char *id)
{
	return hash_find(idx->user_hash, idx->user_hash_mask, id, user_id_at, idx);
}

static int32_t find_group(const struct ri_index *idx, const char *id)
{
	return hash_find(idx->group_hash, idx->group_hash_mask, id, group_id_at, idx);
}

static void *index_alloc(struct ri_index *idx, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p)
		idx->bytes += (n ? n : 1) * size;
	return p;
}

/* Builds an id hash over n objects; id_of returns NULL for a hole. Later
 * duplicates of an id are not entered (the store guarantees none). */
static int build_hash(struct ri_index *idx, size_t n, const char *(*id_of)(const void *),
		      const void *const *objs, int32_t **out, uint32_t *mask_out,
		      const char *(*id_at)(const struct ri_index *, int32_t))
{
	size_t size = pow2_at_least(2 * n + 16);
	int32_t *t = index_alloc(idx, size, sizeof(*t));
	uint32_t mask = (uint32_t)(size - 1);

	if (!t)
		return -ENOMEM;
	memset(t, 0xff, size * sizeof(*t));
	for (size_t k = 0; k < n; k++) {
		const char *id = objs[k] ? id_of(objs[k]) : NULL;
		uint32_t i;

		if (!id)
			continue;
		for (i = (uint32_t)hash_str(id) & mask; t[i] >= 0; i = (i + 1) & mask)
			if (strcmp(id_at(idx, t[i]), id) == 0)
				break;
		if (t[i] < 0)
			t[i] = (int32_t)k;
	}
	*out = t;
	*mask_out = mask;
	return 0;
}

static const char *user_id_of(const void *u)
{
	return ((const struct ucs_ud_user *)u)->id;
}

static const char *group_id_of(const void *g)
{
	return ((const struct ucs_ud_group *)g)->id;
}

/* Makes room for n more entries in the pool and returns their offset in
 * *off; the pool grows, so it is addressed by offsets, never pointers. */
static int pool_reserve(struct ri_index *idx, size_t n, size_t *off)
{
	if (n > UINT32_MAX - idx->n_pool)
		return -E2BIG;
	if (idx->n_pool + n > idx->cap_pool) {
		size_t cap = idx->cap_pool ? idx->cap_pool : 1024;
		uint32_t *p;

		while (cap < idx->n_pool + n)
			cap *= 2;
		p = realloc(idx->pool, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		idx->pool = p;
		idx->cap_pool = cap;
	}
	*off = idx->n_pool;
	idx->n_pool += n;
	return 0;
}

static int pool_push(struct ri_index *idx, uint32_t v)
{
	size_t off;
	int err = pool_reserve(idx, 1, &off);

	if (!err)
		idx->pool[off] = v;
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_grant(const void *a, const void *b)
{
	uint32_t x = ((const struct ri_grant *)a)->grantee;
	uint32_t y = ((const struct ri_grant *)b)->grantee;

	return (x > y) - (x < y);
}

/* Sorts and de-duplicates the pool's tail from off on; returns its length. */
static uint32_t pool_sort_unique(struct ri_index *idx, size_t off)
{
	uint32_t *a = idx->pool + off;
	size_t n = idx->n_pool - off, k = 0;

	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), cmp_u32);
	for (size_t i = 1; i < n; i++)
		if (a[i] != a[k])
			a[++k] = a[i];
	idx->n_pool = off + k + 1;
	return (uint32_t)(k + 1);
}

static void index_free(struct ri_index *idx)
{
	if (!idx)
		return;
	free(idx->users);
	free(idx->member_mask);
	free(idx->leader_mask);
	free(idx->pool);
	free(idx->grants);
	free(idx->user_hash);
	free(idx->group_hash);
	free(idx);
}

/* Adds g to u's list in the pool unless it is already its last entry (a
 * group naming a user twice); lists are filled group by group, so they come
 * out sorted. */
static void list_append(struct ri_index *idx, struct ri_list *l, uint32_t g)
{
	uint32_t *a = idx->pool + l->off;

	if (l->n == 0 || a[l->n - 1] != g)
		a[l->n++] = g;
}

/* Every group each user is a member of (unknown and repeated members
 * skipped), and the active groups she leads or deputises: counted first,
 * then laid out per user. */
static int index_memberships(struct ri_index *idx, uint32_t *n_groups, uint32_t *n_leads)
{
	const struct ucs_ud_snapshot *s = idx->snap;
	size_t total = 0, off;
	int err;

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t g = 0; g < idx->n_groups; g++) {
			const struct ucs_ud_group *gr = s->groups[g];
			int32_t l, d;

			if (!gr)
				continue;
			for (size_t m = 0; m < gr->n_members; m++) {
				int32_t u = find_user(idx, gr->members[m]);

				if (u < 0)
					continue;
				if (pass == 0)
					n_groups[u]++, total++;
				else
					list_append(idx, &idx->users[u].groups, g);
			}
			if (!gr->active)
				continue;
			l = find_user(idx, str(gr->leader));
			d = find_user(idx, str(gr->deputy));
			if (d == l)
				d = -1;
			if (pass == 0) {
				total += (l >= 0) + (d >= 0);
				if (l >= 0)
					n_leads[l]++;
				if (d >= 0)
					n_leads[d]++;
				continue;
			}
			if (l >= 0)
				list_append(idx, &idx->users[l].leads, g);
			if (d >= 0)
				list_append(idx, &idx->users[d].leads, g);
		}
		if (pass == 1)
			break;
		err = pool_reserve(idx, total, &off);
		if (err)
			return err;
		for (uint32_t u = 0; u < idx->n_users; u++) {
			idx->users[u].groups.off = (uint32_t)off;
			off += n_groups[u];
			idx->users[u].leads.off = (uint32_t)off;
			off += n_leads[u];
		}
	}
	return 0;
}

/* The groups each user sees in her monitor: the union of the monitor groups
 * of her active groups. Each group's resolved list is built first. */
static int index_monitor(struct ri_index *idx)
{
	const struct ucs_ud_snapshot *s = idx->snap;
	struct ri_list *gmon = calloc(idx->n_groups + 1, sizeof(*gmon));
	int err = 0;

	if (!gmon)
		return -ENOMEM;
	for (uint32_t g = 0; g < idx->n_groups; g++) {
		const struct ucs_ud_group *gr = s->groups[g];
		size_t off = idx->n_pool;

		gmon[g].off = (uint32_t)off;
		for (size_t m = 0; gr && gr->active && m < gr->n_monitor_groups; m++) {
			int32_t mg = find_group(idx, gr->monitor_groups[m]);

			if (mg >= 0) {
				err = pool_push(idx, (uint32_t)mg);
				if (err)
					goto out;
			}
		}
		gmon[g].n = pool_sort_unique(idx, off);
	}
	for (uint32_t u = 0; u < idx->n_users; u++) {
		struct ri_user *ru = &idx->users[u];
		size_t off = idx->n_pool;

		for (uint32_t k = 0; k < ru->groups.n; k++) {
			uint32_t g = idx->pool[ru->groups.off + k];

			for (uint32_t j = 0; j < gmon[g].n; j++) {
				err = pool_push(idx, idx->pool[gmon[g].off + j]);
				if (err)
					goto out;
			}
		}
		ru->monitor.off = (uint32_t)off;
		ru->monitor.n = pool_sort_unique(idx, off);
	}
out:
	free(gmon);
	return err;
}

/* Each user's grants, resolved, sorted by grantee, repeated grantees merged.
 * Grants to herself and to unknown users are dropped. */
static int index_grants(struct ri_index *idx)
{
	const struct ucs_ud_snapshot *s = idx->snap;
	size_t total = 0, n = 0;

	for (uint32_t u = 0; u < idx->n_users; u++)
		total += s->users[u] ? s->users[u]->n_grants : 0;
	if (total > UINT32_MAX / 2)
		return -E2BIG;
	idx->grants = index_alloc(idx, total, sizeof(*idx->grants));
	if (!idx->grants)
		return -ENOMEM;
	for (uint32_t u = 0; u < idx->n_users; u++) {
		const struct ucs_ud_user *us = s->users[u];
		struct ri_grant *a = idx->grants + n;
		size_t k = 0;

		idx->users[u].grants.off = (uint32_t)n;
		for (size_t i = 0; us && i < us->n_grants; i++) {
			int32_t g = find_user(idx, us->grants[i].user);

			if (g < 0 || (uint32_t)g == u)
				continue;
			a[k].grantee = (uint32_t)g;
			a[k].mask = rights_set_mask(&us->grants[i].rights);
			k++;
		}
		if (k > 1) {
			size_t j = 0;

			qsort(a, k, sizeof(*a), cmp_grant);
			for (size_t i = 1; i < k; i++) {
				if (a[i].grantee == a[j].grantee)
					a[j].mask |= a[i].mask;
				else
					a[++j] = a[i];
			}
			k = j + 1;
		}
		idx->users[u].grants.n = (uint32_t)k;
		n += k;
	}
	return 0;
}

static int index_build(const struct ucs_ud_snapshot *s, struct ri_index **out)
{
	struct ri_index *idx = calloc(1, sizeof(*idx));
	uint32_t *n_groups = NULL, *n_leads = NULL;
	int err;

	if (!idx)
		return -ENOMEM;
	idx->snap = s;
	idx->bytes = sizeof(*idx);
	if (s->n_users >= INT32_MAX || s->n_groups >= INT32_MAX || (s->n_groups && !s->groups) ||
	    (s->n_users && !s->users)) {
		err = -EINVAL;
		goto out;
	}
	idx->n_users = (uint32_t)s->n_users;
	idx->n_groups = (uint32_t)s->n_groups;
	if (s->settings) {
		idx->global = rights_set_mask(&s->settings->rights);
		idx->monitor = rights_set_mask(&s->settings->monitor_rights);
		idx->global_services = s->settings->services;
		idx->restrictions = s->settings->restrictions;
		idx->all_in_monitor = (s->settings->flags & UCS_UD_ALL_IN_MONITOR) != 0;
	}
	err = -ENOMEM;
	idx->users = index_alloc(idx, idx->n_users, sizeof(*idx->users));
	idx->member_mask = index_alloc(idx, idx->n_groups, sizeof(*idx->member_mask));
	idx->leader_mask = index_alloc(idx, idx->n_groups, sizeof(*idx->leader_mask));
	n_groups = calloc(idx->n_users + 1, sizeof(*n_groups));
	n_leads = calloc(idx->n_users + 1, sizeof(*n_leads));
	if (!idx->users || !idx->member_mask || !idx->leader_mask || !n_groups || !n_leads)
		goto out;
	err = build_hash(idx, idx->n_users, user_id_of, (const void *const *)s->users,
			 &idx->user_hash, &idx->user_hash_mask, user_id_at);
	if (err)
		goto out;
	err = build_hash(idx, idx->n_groups, group_id_of, (const void *const *)s->groups,
			 &idx->group_hash, &idx->group_hash_mask, group_id_at);
	if (err)
		goto out;
	for (uint32_t g = 0; g < idx->n_groups; g++) {
		const struct ucs_ud_group *gr = s->groups[g];

		if (gr && gr->active) {
			idx->member_mask[g] = rights_set_mask(&gr->member_rights);
			idx->leader_mask[g] = rights_set_mask(&gr->leader_rights);
		}
	}
	err = index_memberships(idx, n_groups, n_leads);
	if (!err)
		err = index_monitor(idx);
	if (!err)
		err = index_grants(idx);
	if (err)
		goto out;
	for (uint32_t u = 0; u < idx->n_users; u++) {
		const struct ucs_ud_user *us = s->users[u];
		struct ri_user *ru = &idx->users[u];

		ru->active = us && (us->flags & UCS_UD_ACTIVE);
		if (!ru->active)
			continue;
		ru->services = us->services | idx->global_services;
		for (uint32_t k = 0; k < ru->groups.n; k++) {
			const struct ucs_ud_group *gr = s->groups[idx->pool[ru->groups.off + k]];

			if (gr->active)
				ru->services |= gr->services;
		}
	}
	idx->bytes += idx->cap_pool * sizeof(*idx->pool);
	err = 0;
out:
	free(n_groups);
	free(n_leads);
	if (err)
		index_free(idx);
	else
		*out = idx;
	return err;
}

/* ---- Queries ------------------------------------------------------------ */

static bool lists_meet(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
	uint32_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
			return true;
	}
	return false;
}

/* OR of masks[g] over the groups g in both sorted lists. */
static uint64_t lists_common_or(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
				const uint64_t *masks)
{
	uint64_t r = 0;
	uint32_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] < b[j]) {
			i++;
		} else if (a[i] > b[j]) {
			j++;
		} else {
			r |= masks[a[i]];
			i++;
			j++;
		}
	}
	return r;
}

static const struct ri_grant *find_grant(const struct ri_index *idx, const struct ri_user *t,
					 uint32_t w)
{
	const struct ri_grant *a = idx->grants + t->grants.off;
	uint32_t lo = 0, hi = t->grants.n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (a[mid].grantee < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->grants.n && a[lo].grantee == w ? &a[lo] : NULL;
}

static bool sees_in_monitor(const struct ri_index *idx, const struct ri_user *uw,
			    const struct ri_user *ut)
{
	return idx->all_in_monitor || lists_meet(idx->pool + uw->monitor.off, uw->monitor.n,
						 idx->pool + ut->groups.off, ut->groups.n);
}

/* The union for two different, valid indices (the cache's miss path). */
static uint64_t compute(const struct ri_index *idx, uint32_t w, uint32_t t)
{
	const struct ri_user *uw = &idx->users[w], *ut = &idx->users[t];
	const struct ri_grant *gr;
	uint64_t r;

	if (!uw->active || !ut->active)
		return 0;
	r = idx->global;
	if (idx->monitor && sees_in_monitor(idx, uw, ut))
		r |= idx->monitor;
	r |= lists_common_or(idx->pool + uw->groups.off, uw->groups.n, idx->pool + ut->groups.off,
			     ut->groups.n, idx->member_mask);
	r |= lists_common_or(idx->pool + uw->leads.off, uw->leads.n, idx->pool + ut->groups.off,
			     ut->groups.n, idx->leader_mask);
	if (!(idx->restrictions & UCS_RESTRICT_NO_USER_RIGHTS) && (gr = find_grant(idx, ut, w)))
		r |= gr->mask;
	return r;
}

uint64_t rights_get(struct rights_engine *re, int32_t w, int32_t t)
{
	const struct ri_index *idx = re->idx;
	uint64_t key, tag, r;
	struct rc_slot *b;

	if (!idx || (uint32_t)w >= idx->n_users || (uint32_t)t >= idx->n_users)
		return 0;
	if (w == t)
		return UCS_R_ALL;
	key = (uint64_t)(uint32_t)w << 32 | (uint32_t)t;
	tag = (uint64_t)re->tag << RC_TAG_SHIFT;
	b = re->cache + ((key * 0x9e3779b97f4a7c15ull) >> re->bucket_shift) * RC_WAYS;
	for (int i = 0; i < RC_WAYS; i++) {
		if (b[i].key == key && (b[i].val & ~UCS_R_ALL) == tag) {
			re->hits++;
			return b[i].val & UCS_R_ALL;
		}
	}
	re->misses++;
	r = compute(idx, (uint32_t)w, (uint32_t)t);
	/* First in, first out within the bucket: stale entries drift out. */
	memmove(b + 1, b, (RC_WAYS - 1) * sizeof(*b));
	b[0].key = key;
	b[0].val = r | tag;
	return r;
}

uint64_t rights_get_id(struct rights_engine *re, const char *w, const char *t)
{
	return rights_get(re, rights_user_index(re, w), rights_user_index(re, t));
}

/* ---- The engine --------------------------------------------------------- */

/* For the tests: the cache tag, to exercise its wrap-around without 2^29
 * reloads. */
void rights_test_set_tag(struct rights_engine *re, uint32_t tag);
void rights_test_set_tag(struct rights_engine *re, uint32_t tag)
{
	re->tag = tag;
}

/* For the plugin (declared in pres.h, not in rights.h: only the plugin
 * swaps engines): a new engine goes on from the generation of the one it
 * replaces, so the generation never moves backwards. */
void rights_set_generation(struct rights_engine *re, uint64_t generation);
void rights_set_generation(struct rights_engine *re, uint64_t generation)
{
	re->generation = generation;
}

struct rights_engine *rights_new(size_t cache_slots)
{
	struct rights_engine *re = calloc(1, sizeof(*re));
	size_t n = cache_slots ? cache_slots : RC_DEFAULT_SLOTS;
	uint32_t bits = 0;

	if (!re)
		return NULL;
	if (n < RC_MIN_SLOTS)
		n = RC_MIN_SLOTS;
	if (n > RC_MAX_SLOTS)
		n = RC_MAX_SLOTS;
	n = pow2_at_least(n);
	while (((size_t)RC_WAYS << bits) < n)
		bits++;
	re->n_slots = n;
	re->bucket_shift = 64 - bits;
	re->cache = aligned_alloc(64, n * sizeof(*re->cache));
	if (!re->cache) {
		free(re);
		return NULL;
	}
	memset(re->cache, 0, n * sizeof(*re->cache));
	return re;
}

void rights_free(struct rights_engine *re)
{
	if (!re)
		return;
	index_free(re->idx);
	free(re->cache);
	free(re);
}

int rights_load(struct rights_engine *re, const struct ucs_ud_snapshot *snap)
{
	struct ri_index *idx = NULL;
	int err;

	if (!re || !snap)
		return -EINVAL;
	err = index_build(snap, &idx);
	if (err)
		return err;
	index_free(re->idx);
	re->idx = idx;
	re->generation++;
	if (re->tag >= RC_TAG_MAX) {
		memset(re->cache, 0, re->n_slots * sizeof(*re->cache));
		re->tag = 0;
	}
	re->tag++;
	return 0;
}

uint64_t rights_generation(const struct rights_engine *re)
{
	return re->generation;
}

size_t rights_user_count(const struct rights_engine *re)
{
	return re->idx ? re->idx->n_users : 0;
}

int32_t rights_user_index(const struct rights_engine *re, const char *id)
{
	return re->idx ? find_user(re->idx, id) : -1;
}

const struct ucs_ud_user *rights_user_at(const struct rights_engine *re, int32_t i)
{
	if (!re->idx || (uint32_t)i >= re->idx->n_users)
		return NULL;
	return re->idx->snap->users[i];
}

uint64_t rights_services(const struct rights_engine *re, int32_t user)
{
	if (!re->idx || (uint32_t)user >= re->idx->n_users)
		return 0;
	return re->idx->users[user].services;
}

uint32_t rights_self_fields(const struct rights_engine *re, int32_t user)
{
	const struct ri_index *idx = re->idx;
	const struct ucs_ud_user *u;
	uint32_t f;

	if (!(rights_services(re, user) & UCS_SVC_CONFIGURE_SELF))
		return 0;
	u = idx->snap->users[user];
	if (!(u->flags & UCS_UD_DIRECTORY) && strcmp(str(idx->snap->store), "ldap") != 0)
		return self_integrated;
	f = self_dir_always;
	if (idx->snap->write_back)
		f |= self_dir_write;
	return f;
}

uint32_t rights_restrictions(const struct rights_engine *re)
{
	return re->idx ? re->idx->restrictions : 0;
}

void rights_stats(const struct rights_engine *re, struct rights_stats *out)
{
	out->hits = re->hits;
	out->misses = re->misses;
	out->index_bytes = re->idx ? re->idx->bytes : 0;
	out->cache_bytes = re->n_slots * sizeof(*re->cache);
}

/* ---- Explanations ------------------------------------------------------- */

/* snprintf-style output that keeps counting past the end of buf. */
struct out {
	char *buf;
	size_t cap, len;
};

static char *out_at(const struct out *o)
{
	return o->len < o->cap ? o->buf + o->len : NULL;
}

static size_t out_room(const struct out *o)
{
	return o->len < o->cap ? o->cap - o->len : 0;
}

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out_at(o), out_room(o), fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void out_rights(struct out *o, uint64_t bits)
{
	int n = ucs_bits_to_json(ucs_right_names, bits, out_at(o), out_room(o));

	if (n > 0)
		o->len += (size_t)n;
}

static void out_json_string(struct out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "\"");
}

static bool list_has(const uint32_t *a, uint32_t n, uint32_t v)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && a[lo] == v;
}

int rights_explain(struct rights_engine *re, int32_t w, int32_t t, char *buf, size_t cap)
{
	const struct ri_index *idx = re->idx;
	const struct ri_user *uw, *ut;
	const struct ri_grant *gr;
	struct out o = {.buf = buf, .cap = cap};
	uint64_t effective;
	bool first = true;

	if (!idx || (uint32_t)w >= idx->n_users || (uint32_t)t >= idx->n_users)
		return -ENOENT;
	if (cap)
		buf[0] = '\0';
	uw = &idx->users[w];
	ut = &idx->users[t];
	out_printf(&o, "{\"global\":");
	out_rights(&o, idx->global);
	out_printf(&o, ",\"monitor\":");
	out_rights(&o, sees_in_monitor(idx, uw, ut) ? idx->monitor : 0);
	out_printf(&o, ",\"groups\":{");
	for (uint32_t k = 0; k < ut->groups.n; k++) {
		uint32_t g = idx->pool[ut->groups.off + k];
		bool member = list_has(idx->pool + uw->groups.off, uw->groups.n, g);
		bool leads = list_has(idx->pool + uw->leads.off, uw->leads.n, g);

		if (!idx->snap->groups[g]->active || (!member && !leads))
			continue;
		out_printf(&o, first ? "" : ",");
		out_json_string(&o, str(idx->snap->groups[g]->id));
		out_printf(&o, ":");
		out_rights(&o,
			   (member ? idx->member_mask[g] : 0) | (leads ? idx->leader_mask[g] : 0));
		first = false;
	}
	out_printf(&o, "},\"user\":");
	gr = idx->restrictions & UCS_RESTRICT_NO_USER_RIGHTS ? NULL
							     : find_grant(idx, ut, (uint32_t)w);
	out_rights(&o, gr ? gr->mask : 0);
	effective = rights_get(re, w, t);
	out_printf(&o, ",\"effective\":");
	out_rights(&o, effective);
	if (w == t)
		out_printf(&o, ",\"reason\":\"self\"");
	else if (!uw->active || !ut->active)
		out_printf(&o, ",\"reason\":\"inactive\"");
	out_printf(&o, "}");
	return o.len > INT32_MAX ? -EOVERFLOW : (int)o.len;
}
