/*
 * plugins/presence/tests/rights/snapbuild.c - hand-built snapshots (see
 * snapbuild.h). Every allocation goes on the builder's list and is freed by
 * sb_free(); running out of memory aborts the test.
 */
#include "snapbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb {
	const char *store;
	int32_t write_back;
	struct ucs_ud_settings settings;
	struct ucs_ud_user **users;
	size_t n_users;
	struct ucs_ud_group **groups;
	size_t n_groups;
	void **allocs; /* everything else: strings, arrays, snapshots */
	size_t n_allocs, cap_allocs;
};

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "snapbuild: out of memory\n");
		abort();
	}
	return p;
}

static void *own(struct sb *b, void *p)
{
	must(p);
	if (b->n_allocs == b->cap_allocs) {
		b->cap_allocs = b->cap_allocs ? 2 * b->cap_allocs : 64;
		b->allocs = must(realloc(b->allocs, b->cap_allocs * sizeof(*b->allocs)));
	}
	b->allocs[b->n_allocs++] = p;
	return p;
}

static const char *dup(struct sb *b, const char *s)
{
	return own(b, strdup(s ? s : ""));
}

/* Grows an owned array by one element; the old block stays owned (freed at
 * the end), so earlier snapshots that point at it stay valid. */
static void *grow(struct sb *b, const void *old, size_t n, size_t size)
{
	void *p = own(b, calloc(n + 1, size));

	if (n)
		memcpy(p, old, n * size);
	return p;
}

struct sb *sb_new(const char *store)
{
	struct sb *b = must(calloc(1, sizeof(*b)));

	b->store = dup(b, store);
	b->settings.size = sizeof(b->settings);
	return b;
}

void sb_free(struct sb *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_allocs; i++)
		free(b->allocs[i]);
	free(b->allocs);
	free(b->users);
	free(b->groups);
	free(b);
}

struct ucs_ud_settings *sb_settings(struct sb *b)
{
	return &b->settings;
}

void sb_write_back(struct sb *b, int on)
{
	b->write_back = on;
}

struct ucs_rights_set sb_set(int level, uint64_t extra)
{
	struct ucs_rights_set s = {.level = level, .extra = extra};

	return s;
}

struct ucs_ud_user *sb_user(struct sb *b, const char *id)
{
	struct ucs_ud_user *u = own(b, calloc(1, sizeof(*u)));

	u->size = sizeof(*u);
	u->flags = UCS_UD_ACTIVE;
	u->id = dup(b, id);
	u->login = u->id;
	u->identity = u->display_name = u->first_name = u->last_name = u->profile = u->email =
		u->dn = "";
	u->first_phone = u->second_phone = "";
	u->title = u->company = u->department = u->office = u->street = u->postal_code = u->city =
		u->state = u->country = u->website = u->contact_image = u->profile_picture = "";
	for (int i = 0; i < UCS_UD_PHONE_COUNT; i++)
		u->phones[i].entered = u->phones[i].canonical = "";
	b->users = must(realloc(b->users, (b->n_users + 1) * sizeof(*b->users)));
	b->users[b->n_users++] = u;
	return u;
}

void sb_grant(struct sb *b, struct ucs_ud_user *granter, const char *grantee, int level,
	      uint64_t extra)
{
	struct ucs_ud_grant *g = grow(b, granter->grants, granter->n_grants, sizeof(*g));

	g[granter->n_grants].user = dup(b, grantee);
	g[granter->n_grants].rights = sb_set(level, extra);
	granter->grants = g;
	granter->n_grants++;
}

struct ucs_ud_group *sb_group(struct sb *b, const char *id)
{
	struct ucs_ud_group *g = own(b, calloc(1, sizeof(*g)));

	g->size = sizeof(*g);
	g->active = 1;
	g->id = dup(b, id);
	g->name = g->id;
	g->dn = g->leader = g->deputy = g->call_number = "";
	b->groups = must(realloc(b->groups, (b->n_groups + 1) * sizeof(*b->groups)));
	b->groups[b->n_groups++] = g;
	return g;
}

static const char *const *add_id(struct sb *b, const char *const *list, size_t *n, const char *id)
{
	const char **l = grow(b, list, *n, sizeof(*l));

	l[(*n)++] = dup(b, id);
	return l;
}

void sb_member(struct sb *b, struct ucs_ud_group *g, const char *user)
{
	g->members = add_id(b, g->members, &g->n_members, user);
}

void sb_monitor(struct sb *b, struct ucs_ud_group *g, const char *group)
{
	g->monitor_groups = add_id(b, g->monitor_groups, &g->n_monitor_groups, group);
}

void sb_leader(struct sb *b, struct ucs_ud_group *g, const char *leader, const char *deputy)
{
	g->leader = dup(b, leader);
	g->deputy = dup(b, deputy);
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp((*(const struct ucs_ud_user *const *)a)->id,
		      (*(const struct ucs_ud_user *const *)b)->id);
}

static int cmp_group(const void *a, const void *b)
{
	return strcmp((*(const struct ucs_ud_group *const *)a)->id,
		      (*(const struct ucs_ud_group *const *)b)->id);
}

const struct ucs_ud_snapshot *sb_snapshot(struct sb *b)
{
	struct ucs_ud_snapshot *s = own(b, calloc(1, sizeof(*s)));
	const struct ucs_ud_user **users = own(b, calloc(b->n_users + 1, sizeof(*users)));
	const struct ucs_ud_group **groups = own(b, calloc(b->n_groups + 1, sizeof(*groups)));
	struct ucs_ud_settings *settings = own(b, malloc(sizeof(*settings)));
	static uint64_t generation;

	if (b->n_users)
		qsort(b->users, b->n_users, sizeof(*b->users), cmp_user);
	if (b->n_groups)
		qsort(b->groups, b->n_groups, sizeof(*b->groups), cmp_group);
	for (size_t i = 0; i < b->n_users; i++) {
		b->users[i]->groups = NULL;
		b->users[i]->n_groups = 0;
		users[i] = b->users[i];
	}
	/* Each user's groups, from the groups' member lists (as a store does). */
	for (size_t g = 0; g < b->n_groups; g++) {
		for (size_t m = 0; m < b->groups[g]->n_members; m++) {
			struct ucs_ud_user key = {.id = b->groups[g]->members[m]}, *kp = &key;
			struct ucs_ud_user **found =
				bsearch(&kp, b->users, b->n_users, sizeof(*b->users), cmp_user);
			struct ucs_ud_user *u = found ? *found : NULL;

			if (!u || (u->n_groups &&
				   strcmp(u->groups[u->n_groups - 1], b->groups[g]->id) == 0))
				continue;
			u->groups = add_id(b, u->groups, &u->n_groups, b->groups[g]->id);
		}
	}
	for (size_t g = 0; g < b->n_groups; g++)
		groups[g] = b->groups[g];
	*settings = b->settings;
	s->size = sizeof(*s);
	s->generation = ++generation;
	s->store = b->store;
	s->write_back = b->write_back;
	s->users = users;
	s->n_users = b->n_users;
	s->groups = groups;
	s->n_groups = b->n_groups;
	s->settings = settings;
	return s;
}
