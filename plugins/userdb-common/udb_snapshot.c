/*
 * plugins/userdb-common/udb_snapshot.c - builds the immutable snapshot of
 * the whole store from a set of stored-form documents, and answers lookups
 * in it.
 *
 * Each object (a user, group, computer, profile) is compiled once from its
 * document into a reference-counted block that holds its struct and every
 * string it points at (one small arena). A snapshot is arrays of pointers
 * into such blocks, sorted by id, plus a hash of the logins; each pointer
 * holds a reference. So a change of one object (a put, a logon) makes the
 * next snapshot by copying the previous one's arrays and compiling that one
 * object (udb_snapshot_update), not by rebuilding ten thousand users, and a
 * consumer holding a snapshot keeps every block it points at alive.
 * A user's group list is derived from the groups, so a user that is a
 * member somewhere appears as an "entry": a small block with her struct and
 * group list that shares the strings of her compiled base block.
 *
 * The builder trusts its input to be in the stored form (the core validates
 * before anything reaches it) but reads every value defensively: a missing
 * or mistyped value reads as empty.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udb.h"
#include "ucs_names.h"

/* ---- arena ---- */

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
	size_t block; /* size of a new block; 0: ARENA_BLOCK */
};

static void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->head;
	size_t need = (size + 15) & ~(size_t)15;
	void *p;

	if (!b || b->cap - b->used < need) {
		size_t block = a->block ? a->block : ARENA_BLOCK;
		size_t cap = need > block ? need : block;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		/* A block made for one large object goes behind the current
		 * one so that the current block keeps filling. */
		if (a->head && need > block) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

static const char *arena_str(struct arena *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *p;

	if (!n)
		return "";
	p = arena_alloc(a, n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

/* ---- compiled objects and the snapshot behind the public struct ---- */

#define OBJ_ENTRY 100 /* a user with her groups: a base user plus a group list */
#define OBJ_BLOCK 1024

struct obj {
	atomic_uint refs;
	int kind;	     /* UCS_UD_USER (a base user), OBJ_ENTRY, UCS_UD_GROUP, ... */
	uint64_t login_hash; /* users and entries */
	struct obj *base;    /* entries: the base user whose strings they share (a reference) */
	struct arena arena;
	union {
		struct ucs_ud_user user;
		struct ucs_ud_group group;
		struct ucs_ud_computer computer;
		struct ucs_ud_profile profile;
	} u;
};

/* The block a snapshot's struct pointer points into. */
static struct obj *obj_of(const void *item)
{
	return (struct obj *)(uintptr_t)((const char *)item - offsetof(struct obj, u));
}

static struct obj *obj_new(int kind, size_t block)
{
	struct obj *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	atomic_init(&o->refs, 1);
	o->kind = kind;
	o->arena.block = block;
	return o;
}

static struct obj *obj_ref(struct obj *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

static void obj_unref(struct obj *o)
{
	if (!o || atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
		return;
	obj_unref(o->base);
	arena_free(&o->arena);
	free(o);
}

/* The base block of a snapshot's user (the entry's base, or itself). */
static struct obj *user_base(const struct ucs_ud_user *u)
{
	struct obj *o = obj_of(u);
	return o->kind == OBJ_ENTRY ? o->base : o;
}

struct udb_snap {
	struct ucs_ud_snapshot pub; /* first: the public pointer is this one */
	atomic_uint refs;
	struct arena arena;    /* the arrays and the settings */
	uint32_t *login_slots; /* user index + 1, 0 empty; open addressing */
	size_t login_mask;
	size_t skipped; /* users left out (no login, login taken): no updates, rebuild */
};

static struct udb_snap *snap_of(const struct ucs_ud_snapshot *s)
{
	return (struct udb_snap *)(uintptr_t)s;
}

const struct ucs_ud_snapshot *udb_snapshot_ref(const struct ucs_ud_snapshot *s)
{
	if (s)
		atomic_fetch_add_explicit(&snap_of(s)->refs, 1, memory_order_relaxed);
	return s;
}

/* Every pointer in the arrays holds one reference on its block. */
static void snap_objs(const struct ucs_ud_snapshot *s, int take)
{
	for (size_t i = 0; i < s->n_users; i++)
		take ? (void)obj_ref(obj_of(s->users[i])) : obj_unref(obj_of(s->users[i]));
	for (size_t i = 0; i < s->n_groups; i++)
		take ? (void)obj_ref(obj_of(s->groups[i])) : obj_unref(obj_of(s->groups[i]));
	for (size_t i = 0; i < s->n_computers; i++)
		take ? (void)obj_ref(obj_of(s->computers[i])) : obj_unref(obj_of(s->computers[i]));
	for (size_t i = 0; i < s->n_profiles; i++)
		take ? (void)obj_ref(obj_of(s->profiles[i])) : obj_unref(obj_of(s->profiles[i]));
}

void udb_snapshot_unref(const struct ucs_ud_snapshot *s)
{
	struct udb_snap *sn;

	if (!s)
		return;
	sn = snap_of(s);
	if (atomic_fetch_sub_explicit(&sn->refs, 1, memory_order_acq_rel) != 1)
		return;
	snap_objs(s, 0);
	arena_free(&sn->arena);
	free(sn->login_slots);
	free(sn);
}

static struct udb_snap *snap_new(const struct udb_build *in)
{
	struct udb_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->pub.size = sizeof(s->pub);
	s->pub.generation = in->generation;
	s->pub.store = arena_str(&s->arena, in->store ? in->store : "");
	s->pub.write_back = in->write_back;
	return s;
}

/* ---- the number cache ---- */

struct num_entry {
	struct num_entry *next;
	uint64_t hash;
	int status; /* 0 or the negative errno of format() */
	char canonical[UCS_PHONE_MAX];
	char number[];
};

#define NUMCACHE_MAX 262144

struct udb_numcache {
	pthread_mutex_t lock;
	struct num_entry **slots;
	size_t n_slots, count;
};

static uint64_t hash_bytes(const char *s, int fold)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 1099511628211ull;
	}
	return h;
}

struct udb_numcache *udb_numcache_new(void)
{
	struct udb_numcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void numbers_drop(struct udb_numcache *c)
{
	for (size_t i = 0; i < c->n_slots; i++) {
		while (c->slots[i]) {
			struct num_entry *e = c->slots[i];
			c->slots[i] = e->next;
			free(e);
		}
	}
	free(c->slots);
	c->slots = NULL;
	c->n_slots = c->count = 0;
}

static void numcache_drop(struct udb_numcache *c)
{
	numbers_drop(c);
}

void udb_numcache_clear(struct udb_numcache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	numcache_drop(c);
	pthread_mutex_unlock(&c->lock);
}

void udb_numcache_free(struct udb_numcache *c)
{
	if (!c)
		return;
	numcache_drop(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* 1 and the cached result when number is known. */
static int numcache_get(struct udb_numcache *c, const char *number, uint64_t h, int *status,
			char *canonical)
{
	int found = 0;

	pthread_mutex_lock(&c->lock);
	if (c->n_slots) {
		for (struct num_entry *e = c->slots[h & (c->n_slots - 1)]; e; e = e->next) {
			if (e->hash == h && strcmp(e->number, number) == 0) {
				*status = e->status;
				memcpy(canonical, e->canonical, UCS_PHONE_MAX);
				found = 1;
				break;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void numcache_put(struct udb_numcache *c, const char *number, uint64_t h, int status,
			 const char *canonical)
{
	size_t len = strlen(number);
	struct num_entry *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return;
	e->hash = h;
	e->status = status;
	snprintf(e->canonical, sizeof(e->canonical), "%s", canonical);
	memcpy(e->number, number, len + 1);
	pthread_mutex_lock(&c->lock);
	if (c->count >= NUMCACHE_MAX)
		numbers_drop(c); /* numbers churned: start over rather than grow */
	if (c->count + 1 > c->n_slots) {
		size_t n = c->n_slots ? c->n_slots * 2 : 1024;
		struct num_entry **slots = calloc(n, sizeof(*slots));

		if (slots) {
			for (size_t i = 0; i < c->n_slots; i++) {
				while (c->slots[i]) {
					struct num_entry *x = c->slots[i];
					c->slots[i] = x->next;
					x->next = slots[x->hash & (n - 1)];
					slots[x->hash & (n - 1)] = x;
				}
			}
			free(c->slots);
			c->slots = slots;
			c->n_slots = n;
		}
	}
	if (!c->n_slots) {
		pthread_mutex_unlock(&c->lock);
		free(e);
		return;
	}
	e->next = c->slots[h & (c->n_slots - 1)];
	c->slots[h & (c->n_slots - 1)] = e;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

/* ---- reading stored documents ---- */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int jbool(const json_t *o, const char *key, int def)
{
	const json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static uint64_t jnames(const json_t *o, const char *key, const struct ucs_name_bit *table)
{
	const json_t *a = json_object_get(o, key), *e;
	uint64_t bits = 0;
	size_t i;

	json_array_foreach(a, i, e) bits |= ucs_name_bit(table, json_string_value(e));
	return bits;
}

static struct ucs_rights_set jrights(const json_t *o, const char *key, int def_level)
{
	const json_t *r = key ? json_object_get(o, key) : o;
	struct ucs_rights_set s = {def_level, 0, 0};
	int level = ucs_level_from_name(jstr(r, "level"));

	if (level >= 0)
		s.level = level;
	s.extra = jnames(r, "extra", ucs_right_names);
	return s;
}

static int jchoice(const json_t *o, const char *key, const char *const *names)
{
	const char *s = jstr(o, key);

	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return 0;
}

/* A list of strings copied into the arena. */
static const char *const *jlist(struct arena *a, const json_t *o, const char *key, size_t *n)
{
	const json_t *arr = json_object_get(o, key), *e;
	const char **out;
	size_t i, k = 0;

	*n = 0;
	if (!json_array_size(arr))
		return NULL;
	out = arena_alloc(a, json_array_size(arr) * sizeof(*out));
	if (!out)
		return NULL;
	json_array_foreach(arr, i, e)
	{
		if (json_is_string(e))
			out[k++] = arena_str(a, json_string_value(e));
	}
	*n = k;
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object ids of one kind, sorted. */
static int sorted_ids(const json_t *obj, const char ***out, size_t *n)
{
	const char *key;
	json_t *val;
	size_t i = 0;

	*n = json_object_size(obj);
	*out = NULL;
	if (!*n)
		return 0;
	*out = malloc(*n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, key, val)(*out)[i++] = key;
	qsort(*out, *n, sizeof(**out), cmp_str);
	return 0;
}

/* ---- building ---- */

#define REPORT_NUMBERS 10   /* numbers reported one by one per build; then a summary */
#define OBJ_BLOCK      1024 /* arena block of one compiled object */

static const char *const phone_keys[UCS_UD_PHONE_COUNT] = {
	"business", "business2", "private", "mobile", "pager", "mailbox", "recording", "fax",
};
static const char *const ringing_names[] = {"parallel", "sequential", "queue", NULL};
static const char *const call_group_names[] = {"off", "sip", "voice", NULL};

struct build {
	const struct udb_build *in;
	const struct ucs_ud_snapshot *prev; /* udb_snapshot_update */
	struct udb_snap *s;
	const struct ucs_ud_user **users; /* full build: the snapshot's array, sorted by id */
	size_t n_users;
	size_t n_failed;    /* numbers that did not normalise in this build */
	struct obj **fresh; /* update: blocks made, whose first reference is ours */
	size_t n_fresh, cap_fresh;
};

static void normalise(struct build *b, struct arena *a, const char *user, const char *slot,
		      const char *entered, struct ucs_ud_number *out)
{
	const struct udb_build *in = b->in;
	char canonical[UCS_PHONE_MAX] = "";
	uint64_t h = 0;
	int status = 0, cached = 0;

	out->entered = arena_str(a, entered);
	out->canonical = "";
	if (!*entered)
		return;
	if (in->numcache) {
		h = hash_bytes(entered, 0);
		cached = numcache_get(in->numcache, entered, h, &status, canonical);
	}
	if (!cached) {
		struct ucs_dp_number n = {.size = sizeof(n)};

		status = in->dialplan ? in->dialplan->format(NULL, UCS_DP_DISPLAY, entered, &n,
							     NULL, NULL)
				      : -ENOSYS;
		if (!status)
			snprintf(canonical, sizeof(canonical), "%s", n.canonical.text);
		if (in->numcache)
			numcache_put(in->numcache, entered, h, status, canonical);
		if (status) {
			/* Warned once per distinct number (the cache remembers
			 * the failure), and at most REPORT_NUMBERS per build. */
			if (b->n_failed < REPORT_NUMBERS)
				udb_report(&in->report, UCS_LOG_WARNING,
					   "user %s: %s number \"%s\" cannot be normalised (%s); "
					   "kept without a canonical form",
					   user, slot, entered,
					   status == -ENOSYS ? "no dialplan" : strerror(-status));
			b->n_failed++;
		}
	}
	if (!status && *canonical)
		out->canonical = arena_str(a, canonical);
}

static int cmp_user(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ucs_ud_user *const *)elem)->id);
}

static long user_index(struct build *b, const char *id)
{
	const struct ucs_ud_user **u;

	if (!b->n_users)
		return -1; /* b->users may be NULL: no bsearch on it */
	u = bsearch(id, b->users, b->n_users, sizeof(*b->users), cmp_user);
	return u ? (long)(u - b->users) : -1;
}

static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y || !x)
			return x - y;
	}
}

static void compile_user(struct build *b, struct arena *a, struct ucs_ud_user *u, const char *id,
			 const json_t *doc)
{
	const struct udb_build *in = b->in;
	const json_t *phones = json_object_get(doc, "phones");
	const json_t *contact = json_object_get(doc, "contact");
	const json_t *list, *e;
	char buf[2 * UDB_TEXT_MAX + 4], path[4096];
	size_t i, k;

	u->size = sizeof(*u);
	u->id = arena_str(a, id);
	u->login = arena_str(a, jstr(doc, "login"));
	u->identity = arena_str(a, udb_user_identity(doc, in->presence_domain, buf, sizeof(buf)));
	u->first_name = arena_str(a, jstr(doc, "first_name"));
	u->last_name = arena_str(a, jstr(doc, "last_name"));
	u->display_name = arena_str(a, udb_user_display_name(doc, buf, sizeof(buf)));
	u->profile = arena_str(a, jstr(doc, "profile"));
	u->email = arena_str(a, jstr(doc, "email"));
	u->dn = arena_str(a, jstr(doc, "dn"));
	u->flags = in->user_flags;
	if (jbool(doc, "active", 1))
		u->flags |= UCS_UD_ACTIVE;
	if (jbool(doc, "voice_services", 0))
		u->flags |= UCS_UD_VOICE_SERVICES;
	if (*jstr(doc, "password_hash"))
		u->flags |= UCS_UD_HAS_PASSWORD;
	if (in->directory_kinds & UDB_KIND_BIT(UCS_UD_USER))
		u->flags |= UCS_UD_DIRECTORY;
	for (int p = 0; p < UCS_UD_PHONE_COUNT; p++)
		normalise(b, a, id, phone_keys[p], jstr(phones, phone_keys[p]), &u->phones[p]);
	u->other_numbers = jlist(a, doc, "other_numbers", &u->n_other_numbers);
	u->first_phone = arena_str(a, jstr(doc, "first_phone"));
	u->second_phone = arena_str(a, jstr(doc, "second_phone"));
	u->other_lines = jlist(a, doc, "other_lines", &u->n_other_lines);
	list = json_object_get(doc, "extra_lines");
	if (json_array_size(list)) {
		struct ucs_ud_extra_line *x = arena_alloc(a, json_array_size(list) * sizeof(*x));
		k = 0;
		json_array_foreach(list, i, e)
		{
			if (!x)
				break;
			x[k].line = arena_str(a, jstr(e, "line"));
			x[k].rights =
				(jbool(e, "show_outgoing", 0) ? UCS_UD_LINE_SHOW_OUTGOING : 0) |
				(jbool(e, "show_incoming", 0) ? UCS_UD_LINE_SHOW_INCOMING : 0) |
				(jbool(e, "pickup", 0) ? UCS_UD_LINE_PICKUP : 0);
			k++;
		}
		u->extra_lines = x;
		u->n_extra_lines = x ? k : 0;
	}
	u->title = arena_str(a, jstr(contact, "title"));
	u->company = arena_str(a, jstr(contact, "company"));
	u->department = arena_str(a, jstr(contact, "department"));
	u->office = arena_str(a, jstr(contact, "office"));
	u->street = arena_str(a, jstr(contact, "street"));
	u->postal_code = arena_str(a, jstr(contact, "postal_code"));
	u->city = arena_str(a, jstr(contact, "city"));
	u->state = arena_str(a, jstr(contact, "state"));
	u->country = arena_str(a, jstr(contact, "country"));
	u->website = arena_str(a, jstr(contact, "website"));
	u->contact_image = "";
	u->profile_picture = "";
	if (in->picture_dir && jbool(doc, "contact_image", 0)) {
		snprintf(path, sizeof(path), "%s/%s.contact.png", in->picture_dir, id);
		u->contact_image = arena_str(a, path);
	}
	if (in->picture_dir && jbool(doc, "profile_picture", 0)) {
		snprintf(path, sizeof(path), "%s/%s.profile.png", in->picture_dir, id);
		u->profile_picture = arena_str(a, path);
	}
	u->services = jnames(doc, "services", ucs_service_names);
	list = json_object_get(doc, "grants");
	if (json_array_size(list)) {
		struct ucs_ud_grant *g = arena_alloc(a, json_array_size(list) * sizeof(*g));
		k = 0;
		json_array_foreach(list, i, e)
		{
			if (!g)
				break;
			g[k].user = arena_str(a, jstr(e, "user"));
			g[k].rights = jrights(e, NULL, UCS_LEVEL_BLOCKED);
			k++;
		}
		u->grants = g;
		u->n_grants = g ? k : 0;
	}
	u->groups = NULL; /* per snapshot */
	u->n_groups = 0;
}

static void compile_group(struct arena *a, struct ucs_ud_group *g, const char *id,
			  const json_t *doc)
{
	const json_t *journal = json_object_get(doc, "journal");
	const json_t *list = json_object_get(doc, "keys"), *e;
	size_t k;

	g->size = sizeof(*g);
	g->id = arena_str(a, id);
	g->name = arena_str(a, *jstr(doc, "name") ? jstr(doc, "name") : id);
	g->dn = arena_str(a, jstr(doc, "dn"));
	g->active = jbool(doc, "active", 1);
	g->members = jlist(a, doc, "members", &g->n_members);
	g->leader = arena_str(a, jstr(doc, "leader"));
	g->deputy = arena_str(a, jstr(doc, "deputy"));
	g->services = jnames(doc, "services", ucs_service_names);
	g->journal = (jbool(journal, "leader", 0) ? UCS_UD_JOURNAL_LEADER : 0) |
		     (jbool(journal, "group", 0) ? UCS_UD_JOURNAL_GROUP : 0) |
		     (jbool(journal, "modify", 0) ? UCS_UD_JOURNAL_MODIFY : 0);
	g->member_rights = jrights(doc, "member_rights", UCS_LEVEL_BLOCKED);
	g->leader_rights = jrights(doc, "leader_rights", UCS_LEVEL_BLOCKED);
	g->monitor_groups = jlist(a, doc, "monitor_groups", &g->n_monitor_groups);
	g->favourite_groups = jlist(a, doc, "favourite_groups", &g->n_favourite_groups);
	if (json_array_size(list)) {
		struct ucs_ud_key *keys = arena_alloc(a, json_array_size(list) * sizeof(*keys));
		json_array_foreach(list, k, e)
		{
			if (!keys)
				break;
			keys[k].label = arena_str(a, jstr(e, "label"));
			keys[k].number = arena_str(a, jstr(e, "number"));
		}
		g->keys = keys;
		g->n_keys = keys ? json_array_size(list) : 0;
	}
	g->call_group = jchoice(doc, "call_group", call_group_names);
	g->ringing = jchoice(doc, "ringing", ringing_names);
	g->call_number = arena_str(a, jstr(doc, "call_number"));
}

static void compile_computer(struct arena *a, struct ucs_ud_computer *c, const char *id,
			     const json_t *doc)
{
	const json_t *ll = json_object_get(doc, "last_logon");

	c->size = sizeof(*c);
	c->id = arena_str(a, id);
	c->name = arena_str(a, *jstr(doc, "name") ? jstr(doc, "name") : id);
	c->dn = arena_str(a, jstr(doc, "dn"));
	c->authorised_only = jbool(doc, "authorised_only", 0);
	c->first_phone = arena_str(a, jstr(doc, "first_phone"));
	c->second_phone = arena_str(a, jstr(doc, "second_phone"));
	c->lines = jlist(a, doc, "lines", &c->n_lines);
	c->last_logon = json_is_integer(ll) ? (int64_t)json_integer_value(ll) : 0;
	c->last_user = arena_str(a, jstr(doc, "last_user"));
}

static void compile_profile(struct arena *a, struct ucs_ud_profile *p, const char *id,
			    const json_t *doc)
{
	const json_t *settings = json_object_get(doc, "settings");
	char *text = settings ? json_dumps(settings, JSON_COMPACT) : NULL;

	p->size = sizeof(*p);
	p->id = arena_str(a, id);
	p->name = arena_str(a, *jstr(doc, "name") ? jstr(doc, "name") : id);
	p->description = arena_str(a, jstr(doc, "description"));
	p->settings_json = arena_str(a, text ? text : "{}");
	free(text);
}

/* A compiled object of one document (one reference, the caller's). */
static struct obj *compile(struct build *b, int kind, const char *id, const json_t *doc)
{
	struct obj *o = obj_new(kind, OBJ_BLOCK);

	if (!o)
		return NULL;
	switch (kind) {
	case UCS_UD_USER:
		compile_user(b, &o->arena, &o->u.user, id, doc);
		o->login_hash = hash_bytes(o->u.user.login, 1);
		break;
	case UCS_UD_GROUP:
		compile_group(&o->arena, &o->u.group, id, doc);
		break;
	case UCS_UD_COMPUTER:
		compile_computer(&o->arena, &o->u.computer, id, doc);
		break;
	default:
		compile_profile(&o->arena, &o->u.profile, id, doc);
		break;
	}
	return o;
}

/* A user with her group ids (sorted): an entry sharing base's strings, or
 * the base itself without groups. One new reference either way. */
static struct obj *user_with_groups(struct obj *base, const char *const *groups, size_t n)
{
	struct obj *e;
	const char **list;
	size_t bytes = n * sizeof(char *);

	if (!n)
		return obj_ref(base);
	for (size_t i = 0; i < n; i++)
		bytes += (strlen(groups[i]) + 16) & ~(size_t)15;
	e = obj_new(OBJ_ENTRY, bytes + 16);
	list = e ? arena_alloc(&e->arena, n * sizeof(char *)) : NULL;
	if (!list) {
		obj_unref(e);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		list[i] = arena_str(&e->arena, groups[i]);
	e->base = obj_ref(base);
	e->login_hash = base->login_hash;
	e->u.user = base->u.user;
	e->u.user.groups = list;
	e->u.user.n_groups = n;
	return e;
}

/* The login hash of a user array (rebuilt from the hashes in the blocks);
 * users NULL: an empty table for n users. */
static int login_table(struct udb_snap *s, const struct ucs_ud_user *const *users, size_t n)
{
	size_t slots = 16;

	while (slots < 2 * n)
		slots *= 2;
	free(s->login_slots);
	s->login_slots = calloc(slots, sizeof(*s->login_slots));
	if (!s->login_slots)
		return -ENOMEM;
	s->login_mask = slots - 1;
	for (size_t i = 0; users && i < n; i++) {
		size_t slot = obj_of(users[i])->login_hash & s->login_mask;
		while (s->login_slots[slot])
			slot = (slot + 1) & s->login_mask;
		s->login_slots[slot] = (uint32_t)(i + 1);
	}
	return 0;
}

static const struct ucs_ud_user *find_login(const struct udb_snap *s, const char *login, uint64_t h)
{
	size_t slot;

	if (!s->login_slots)
		return NULL;
	for (slot = h & s->login_mask; s->login_slots[slot]; slot = (slot + 1) & s->login_mask) {
		const struct ucs_ud_user *u = s->pub.users[s->login_slots[slot] - 1];
		if (ascii_casecmp(u->login, login) == 0)
			return u;
	}
	return NULL;
}

/* Full build, users: the base blocks, sorted; logins checked. */
static int build_users(struct build *b)
{
	const json_t *docs = b->in->docs->kind[UCS_UD_USER];
	struct udb_snap *s = b->s;
	const char **ids = NULL;
	size_t n;
	int err;

	err = sorted_ids(docs, &ids, &n);
	if (err)
		return err;
	b->users = n ? arena_alloc(&s->arena, n * sizeof(*b->users)) : NULL;
	if (n && !b->users) {
		free(ids);
		return -ENOMEM;
	}
	/* the table grows as users are accepted: pub.users must see them */
	s->pub.users = (const struct ucs_ud_user *const *)b->users;
	err = login_table(s, NULL, n);
	for (size_t i = 0; i < n && !err; i++) {
		const json_t *doc = json_object_get(docs, ids[i]);
		const char *login = jstr(doc, "login");
		const struct ucs_ud_user *other;
		uint64_t h = hash_bytes(login, 1);
		struct obj *o;
		size_t slot;

		if (!*login) {
			udb_report(&b->in->report, UCS_LOG_WARNING, "user %s has no login: skipped",
				   ids[i]);
			s->skipped++;
			continue;
		}
		other = find_login(s, login, h);
		if (other) {
			udb_report(&b->in->report, UCS_LOG_WARNING,
				   "user %s: login \"%s\" is taken by user %s: skipped", ids[i],
				   login, other->id);
			s->skipped++;
			continue;
		}
		o = compile(b, UCS_UD_USER, ids[i], doc);
		if (!o) {
			err = -ENOMEM;
			break;
		}
		b->users[b->n_users++] = &o->u.user;
		s->pub.n_users = b->n_users;
		for (slot = h & s->login_mask; s->login_slots[slot];
		     slot = (slot + 1) & s->login_mask)
			;
		s->login_slots[slot] = (uint32_t)b->n_users;
	}
	free(ids);
	return err;
}

/* Full build, groups; then each member gets her group list. */
static int build_groups(struct build *b)
{
	const json_t *docs = b->in->docs->kind[UCS_UD_GROUP];
	struct arena *a = &b->s->arena;
	const struct ucs_ud_group **groups = NULL;
	const char **ids = NULL, ***lists = NULL;
	size_t *counts = NULL, n, i, k;
	int err;

	err = sorted_ids(docs, &ids, &n);
	if (err)
		return err;
	if (n)
		groups = arena_alloc(a, n * sizeof(*groups));
	counts = calloc(b->n_users + 1, sizeof(*counts));
	lists = calloc(b->n_users + 1, sizeof(*lists));
	if ((n && !groups) || !counts || !lists) {
		err = -ENOMEM;
		goto out;
	}
	b->s->pub.groups = (const struct ucs_ud_group *const *)groups;
	for (i = 0; i < n; i++) {
		struct obj *o = compile(b, UCS_UD_GROUP, ids[i], json_object_get(docs, ids[i]));

		if (!o) {
			err = -ENOMEM;
			goto out;
		}
		groups[i] = &o->u.group;
		b->s->pub.n_groups = i + 1;
		for (k = 0; k < groups[i]->n_members; k++) {
			long u = user_index(b, groups[i]->members[k]);
			if (u >= 0)
				counts[u]++;
		}
	}
	for (size_t u = 0; u < b->n_users; u++) {
		if (counts[u] && !(lists[u] = malloc(counts[u] * sizeof(char *)))) {
			err = -ENOMEM;
			goto out;
		}
		counts[u] = 0;
	}
	/* groups are visited in id order, so each list comes out sorted */
	for (i = 0; i < n; i++) {
		for (k = 0; k < groups[i]->n_members; k++) {
			long u = user_index(b, groups[i]->members[k]);
			if (u >= 0)
				lists[u][counts[u]++] = groups[i]->id;
		}
	}
	for (size_t u = 0; u < b->n_users; u++) {
		struct obj *base, *e;

		if (!counts[u])
			continue;
		base = obj_of(b->users[u]);
		e = user_with_groups(base, lists[u], counts[u]);
		if (!e) {
			err = -ENOMEM;
			goto out;
		}
		b->users[u] = &e->u.user;
		obj_unref(base); /* the entry holds it now */
	}
out:
	if (lists)
		for (size_t u = 0; u < b->n_users; u++)
			free(lists[u]);
	free(lists);
	free(counts);
	free(ids);
	return err;
}

static int build_computers(struct build *b)
{
	const json_t *docs = b->in->docs->kind[UCS_UD_COMPUTER];
	const struct ucs_ud_computer **list = NULL;
	const char **ids = NULL;
	size_t n;
	int err = sorted_ids(docs, &ids, &n);

	if (err)
		return err;
	if (n && !(list = arena_alloc(&b->s->arena, n * sizeof(*list)))) {
		free(ids);
		return -ENOMEM;
	}
	b->s->pub.computers = (const struct ucs_ud_computer *const *)list;
	for (size_t i = 0; i < n; i++) {
		struct obj *o = compile(b, UCS_UD_COMPUTER, ids[i], json_object_get(docs, ids[i]));

		if (!o) {
			free(ids);
			return -ENOMEM;
		}
		list[i] = &o->u.computer;
		b->s->pub.n_computers = i + 1;
	}
	free(ids);
	return 0;
}

static int build_profiles(struct build *b)
{
	const json_t *docs = b->in->docs->kind[UCS_UD_PROFILE];
	const struct ucs_ud_profile **list;
	const char **ids = NULL;
	size_t n;
	int has_default = json_object_get(docs, "default") != NULL;
	int err = sorted_ids(docs, &ids, &n);

	if (err)
		return err;
	/* The profile "default" always exists, even when its file is gone. */
	list = arena_alloc(&b->s->arena, (n + 1) * sizeof(*list));
	if (!list) {
		free(ids);
		return -ENOMEM;
	}
	b->s->pub.profiles = (const struct ucs_ud_profile *const *)list;
	for (size_t i = 0, k = 0; i < n || !has_default; i++) {
		struct obj *o;

		if (!has_default && (i == n || strcmp(ids[i], "default") > 0)) {
			o = compile(b, UCS_UD_PROFILE, "default", NULL);
			if (!o)
				break;
			list[k++] = &o->u.profile;
			b->s->pub.n_profiles = k;
			has_default = 1;
		}
		if (i < n) {
			o = compile(b, UCS_UD_PROFILE, ids[i], json_object_get(docs, ids[i]));
			if (!o)
				break;
			list[k++] = &o->u.profile;
			b->s->pub.n_profiles = k;
		}
	}
	free(ids);
	return b->s->pub.n_profiles == n + (json_object_get(docs, "default") ? 0 : 1) ? 0 : -ENOMEM;
}

static int build_settings(struct build *b, const json_t *doc)
{
	const json_t *r = json_object_get(doc, "restrictions");
	struct ucs_ud_settings *st = arena_alloc(&b->s->arena, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->size = sizeof(*st);
	st->flags = (jbool(doc, "journal_all", 0) ? UCS_UD_JOURNAL_ALL : 0) |
		    (jbool(doc, "journal_delete", 0) ? UCS_UD_JOURNAL_DELETE : 0) |
		    (jbool(doc, "all_in_monitor", 0) ? UCS_UD_ALL_IN_MONITOR : 0) |
		    (jbool(doc, "auto_line_binding", 1) ? UCS_UD_AUTO_LINE_BINDING : 0);
	st->restrictions = (jbool(r, "presence_off", 0) ? UCS_RESTRICT_PRESENCE_OFF : 0) |
			   (jbool(r, "no_user_rights", 0) ? UCS_RESTRICT_NO_USER_RIGHTS : 0) |
			   (jbool(r, "chat_off", 0) ? UCS_RESTRICT_CHAT_OFF : 0) |
			   (jbool(r, "chat_no_history", 0) ? UCS_RESTRICT_CHAT_NO_HISTORY : 0);
	st->services = jnames(doc, "services", ucs_service_names);
	st->rights = jrights(doc, "rights", UCS_LEVEL_PUBLIC);
	st->monitor_rights = jrights(doc, "monitor_rights", UCS_LEVEL_BLOCKED);
	b->s->pub.settings = st;
	return 0;
}

static void report_summary(struct build *b)
{
	if (b->n_failed > REPORT_NUMBERS)
		udb_report(&b->in->report, UCS_LOG_WARNING,
			   "%zu more phone numbers cannot be normalised; kept without a "
			   "canonical form",
			   b->n_failed - REPORT_NUMBERS);
}

int udb_snapshot_build(const struct udb_build *in, const struct ucs_ud_snapshot **out)
{
	struct build b = {.in = in};
	int err;

	*out = NULL;
	b.s = snap_new(in);
	if (!b.s)
		return -ENOMEM;
	err = build_users(&b);
	if (!err)
		err = build_groups(&b);
	if (!err)
		err = build_computers(&b);
	if (!err)
		err = build_profiles(&b);
	if (!err)
		err = build_settings(&b, json_object_get(in->docs->kind[UCS_UD_SETTINGS], ""));
	if (!err)
		err = login_table(b.s, b.s->pub.users, b.s->pub.n_users);
	if (err) {
		udb_snapshot_unref(&b.s->pub);
		return err;
	}
	report_summary(&b);
	*out = &b.s->pub;
	return 0;
}

/* ---- single changes ---- */

/* Where id is or would go in a sorted array of structs whose first
 * pointer-sized id lives at offset `off`. */
static size_t lower_bound(const void *const *items, size_t n, size_t off, const char *id,
			  int *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *mid_id = *(const char *const *)((const char *)items[mid] + off);
		if (strcmp(mid_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && strcmp(*(const char *const *)((const char *)items[lo] + off), id) == 0;
	return lo;
}

/* A copy of array `from` (n items) into the arena with the item at pos
 * replaced (found, item), removed (found, !item) or inserted (!found). */
static const void **splice(struct arena *a, const void *const *from, size_t n, size_t pos,
			   int found, const void *item, size_t *n_out)
{
	size_t m = n + (found ? (item ? 0 : (size_t)-1) : (item ? 1 : 0));
	const void **to = arena_alloc(a, (m ? m : 1) * sizeof(*to));

	if (!to)
		return NULL;
	if (pos)
		memcpy(to, from, pos * sizeof(*to));
	if (item)
		to[pos] = item;
	if (n > pos + (size_t)found)
		memcpy(to + pos + (item ? 1 : 0), from + pos + found,
		       (n - pos - (size_t)found) * sizeof(*to));
	*n_out = m;
	return to;
}

/* Adds or removes one group id in a sorted list (into buf, n + 1 long). */
static size_t edit_groups(const char *const *list, size_t n, const char *group, int member,
			  const char **buf)
{
	size_t k = 0, i = 0;

	for (; i < n && strcmp(list[i], group) < 0; i++)
		buf[k++] = list[i];
	if (i < n && strcmp(list[i], group) == 0)
		i++;
	if (member)
		buf[k++] = group;
	for (; i < n; i++)
		buf[k++] = list[i];
	return k;
}

static int is_member(const struct ucs_ud_group *g, const char *user)
{
	for (size_t i = 0; g && i < g->n_members; i++)
		if (strcmp(g->members[i], user) == 0)
			return 1;
	return 0;
}

/* A group's member ids, sorted (a new array, free() it; NULL and n 0 for
 * none): membership tests in O(log n) instead of a scan of the list. */
static int sorted_members(const struct ucs_ud_group *g, const char ***out, size_t *n)
{
	*out = NULL;
	*n = g ? g->n_members : 0;
	if (!*n)
		return 0;
	*out = malloc(*n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, g->members, *n * sizeof(**out));
	qsort(*out, *n, sizeof(**out), cmp_str);
	return 0;
}

static int in_sorted(const char *const *list, size_t n, const char *id)
{
	return n && bsearch(&id, list, n, sizeof(*list), cmp_str) != NULL;
}

static int keep_fresh(struct build *b, struct obj *o)
{
	if (b->n_fresh == b->cap_fresh) {
		size_t cap = b->cap_fresh ? 2 * b->cap_fresh : 16;
		struct obj **f = realloc(b->fresh, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		b->fresh = f;
		b->cap_fresh = cap;
	}
	b->fresh[b->n_fresh++] = o;
	return 0;
}

/* A group changed from old to now (either may be NULL): every user in
 * either member list whose group list changes gets a new entry. users is
 * the new snapshot's array (no references taken yet). O(m log m) for m
 * members: the old members are looked up in a sorted copy of the new list
 * (a scan of it for each would make editing a group of 20,000 members
 * take seconds). */
static int regroup(struct build *b, const struct ucs_ud_user **users, const char *id,
		   const struct ucs_ud_group *old, const struct ucs_ud_group *now)
{
	const struct ucs_ud_snapshot *cur = &b->s->pub;
	const char **buf = NULL, **members = NULL;
	size_t cap = 0, n_members = 0;
	int err = sorted_members(now, &members, &n_members);

	for (int pass = 0; pass < 2 && !err; pass++) {
		const struct ucs_ud_group *g = pass ? now : old;

		for (size_t i = 0; g && i < g->n_members && !err; i++) {
			int member = pass || in_sorted(members, n_members, g->members[i]);
			int has = 0, found;
			const struct ucs_ud_user *u = udb_snap_user(cur, g->members[i]);
			struct obj *e;
			size_t n, pos;

			if (!u)
				continue; /* not a user (yet) */
			for (size_t k = 0; k < u->n_groups; k++)
				has |= strcmp(u->groups[k], id) == 0;
			if (has == member)
				continue; /* her list is right already */
			if (u->n_groups + 1 > cap) {
				const char **nb = realloc(buf, (u->n_groups + 1) * sizeof(*buf));
				if (!nb) {
					err = -ENOMEM;
					break;
				}
				buf = nb;
				cap = u->n_groups + 1;
			}
			n = edit_groups(u->groups, u->n_groups, id, member, buf);
			e = user_with_groups(user_base(u), buf, n);
			if (!e || keep_fresh(b, e)) {
				obj_unref(e);
				err = -ENOMEM;
				break;
			}
			pos = lower_bound((const void *const *)users, cur->n_users,
					  offsetof(struct ucs_ud_user, id), u->id, &found);
			users[pos] = &e->u.user;
		}
	}
	free(members);
	free(buf);
	return err;
}

/* Copies an array of prev into the new snapshot's arena. */
static const void **copy_array(struct arena *a, const void *const *from, size_t n)
{
	const void **to = arena_alloc(a, (n ? n : 1) * sizeof(*to));

	if (to && n)
		memcpy(to, from, n * sizeof(*to));
	return to;
}

/* Frees a snapshot whose arrays hold no references yet. */
static void snap_discard(struct udb_snap *s)
{
	arena_free(&s->arena);
	free(s->login_slots);
	free(s);
}

int udb_snapshot_update(const struct ucs_ud_snapshot *prev, const struct udb_build *in, int kind,
			const char *id, const json_t *doc, const struct ucs_ud_snapshot **out)
{
	struct build b = {.in = in, .prev = prev};
	struct udb_snap *s;
	struct arena *a;
	struct obj *o = NULL;
	size_t pos, n;
	int err = 0, found, same_positions = 1;

	*out = NULL;
	if (!prev || snap_of(prev)->skipped)
		return -EAGAIN;
	if (!udb_kind_name(kind) || (kind != UCS_UD_SETTINGS && !udb_id_valid(id)))
		return -EINVAL;
	if ((kind == UCS_UD_PROFILE && !doc && strcmp(id, "default") == 0) ||
	    (kind == UCS_UD_SETTINGS && !doc))
		return -EAGAIN; /* what always exists: a full build makes the default */
	s = b.s = snap_new(in);
	if (!s)
		return -ENOMEM;
	a = &s->arena;
	/* everything of prev, in this snapshot's own arrays */
	s->pub.users = (const struct ucs_ud_user *const *)copy_array(
		a, (const void *const *)prev->users, prev->n_users);
	s->pub.n_users = prev->n_users;
	s->pub.groups = (const struct ucs_ud_group *const *)copy_array(
		a, (const void *const *)prev->groups, prev->n_groups);
	s->pub.n_groups = prev->n_groups;
	s->pub.computers = (const struct ucs_ud_computer *const *)copy_array(
		a, (const void *const *)prev->computers, prev->n_computers);
	s->pub.n_computers = prev->n_computers;
	s->pub.profiles = (const struct ucs_ud_profile *const *)copy_array(
		a, (const void *const *)prev->profiles, prev->n_profiles);
	s->pub.n_profiles = prev->n_profiles;
	if (!s->pub.users || !s->pub.groups || !s->pub.computers || !s->pub.profiles) {
		err = -ENOMEM;
		goto out;
	}
	switch (kind) {
	case UCS_UD_USER: {
		const struct ucs_ud_user *old = udb_snap_user(prev, id);

		if (doc) {
			const char *login = jstr(doc, "login");
			const struct ucs_ud_user *other =
				*login ? find_login(snap_of(prev), login, hash_bytes(login, 1))
				       : NULL;
			const char **list = NULL;
			struct obj *base;
			size_t k = 0;

			if (!*login || (other && other != old)) {
				/* which user keeps a login: the full build decides */
				err = -EAGAIN;
				goto out;
			}
			base = compile(&b, UCS_UD_USER, id, doc);
			if (!base) {
				err = -ENOMEM;
				goto out;
			}
			if (old) {
				o = user_with_groups(base, old->groups, old->n_groups);
			} else {
				list = malloc((prev->n_groups + 1) * sizeof(*list));
				for (size_t g = 0; list && g < prev->n_groups; g++)
					if (is_member(prev->groups[g], id))
						list[k++] = prev->groups[g]->id;
				o = list ? user_with_groups(base, list, k) : NULL;
				free(list);
			}
			obj_unref(base);
			if (!o || keep_fresh(&b, o)) {
				obj_unref(o);
				err = -ENOMEM;
				goto out;
			}
			same_positions = old && ascii_casecmp(old->login, login) == 0;
		} else {
			same_positions = 0;
		}
		pos = lower_bound((const void *const *)prev->users, prev->n_users,
				  offsetof(struct ucs_ud_user, id), id, &found);
		s->pub.users = (const struct ucs_ud_user *const *)splice(
			a, (const void *const *)prev->users, prev->n_users, pos, found,
			o ? &o->u.user : NULL, &n);
		s->pub.n_users = n;
		if (!found && !o)
			same_positions = 1; /* removing nobody */
		break;
	}
	case UCS_UD_GROUP: {
		const struct ucs_ud_group *old = udb_snap_group(prev, id);

		if (doc) {
			o = compile(&b, UCS_UD_GROUP, id, doc);
			if (!o || keep_fresh(&b, o)) {
				obj_unref(o);
				err = -ENOMEM;
				goto out;
			}
		}
		pos = lower_bound((const void *const *)prev->groups, prev->n_groups,
				  offsetof(struct ucs_ud_group, id), id, &found);
		s->pub.groups = (const struct ucs_ud_group *const *)splice(
			a, (const void *const *)prev->groups, prev->n_groups, pos, found,
			o ? &o->u.group : NULL, &n);
		s->pub.n_groups = n;
		if (s->pub.groups)
			err = regroup(&b, (const struct ucs_ud_user **)s->pub.users, id, old,
				      o ? &o->u.group : NULL);
		break;
	}
	case UCS_UD_COMPUTER:
		if (doc) {
			o = compile(&b, UCS_UD_COMPUTER, id, doc);
			if (!o || keep_fresh(&b, o)) {
				obj_unref(o);
				err = -ENOMEM;
				goto out;
			}
		}
		pos = lower_bound((const void *const *)prev->computers, prev->n_computers,
				  offsetof(struct ucs_ud_computer, id), id, &found);
		s->pub.computers = (const struct ucs_ud_computer *const *)splice(
			a, (const void *const *)prev->computers, prev->n_computers, pos, found,
			o ? &o->u.computer : NULL, &n);
		s->pub.n_computers = n;
		break;
	case UCS_UD_PROFILE:
		if (doc) {
			o = compile(&b, UCS_UD_PROFILE, id, doc);
			if (!o || keep_fresh(&b, o)) {
				obj_unref(o);
				err = -ENOMEM;
				goto out;
			}
		}
		pos = lower_bound((const void *const *)prev->profiles, prev->n_profiles,
				  offsetof(struct ucs_ud_profile, id), id, &found);
		s->pub.profiles = (const struct ucs_ud_profile *const *)splice(
			a, (const void *const *)prev->profiles, prev->n_profiles, pos, found,
			o ? &o->u.profile : NULL, &n);
		s->pub.n_profiles = n;
		break;
	default:
		break;
	}
	if (!err && (!s->pub.users || !s->pub.groups || !s->pub.computers || !s->pub.profiles))
		err = -ENOMEM;
	if (!err && kind == UCS_UD_SETTINGS) {
		err = build_settings(&b, doc);
	} else if (!err) {
		struct ucs_ud_settings *st = arena_alloc(a, sizeof(*st));
		if (st)
			*st = *prev->settings;
		s->pub.settings = st;
		err = st ? 0 : -ENOMEM;
	}
	if (!err && same_positions) {
		s->login_mask = snap_of(prev)->login_mask;
		s->login_slots = malloc((s->login_mask + 1) * sizeof(*s->login_slots));
		if (s->login_slots)
			memcpy(s->login_slots, snap_of(prev)->login_slots,
			       (s->login_mask + 1) * sizeof(*s->login_slots));
		else
			err = -ENOMEM;
	} else if (!err) {
		err = login_table(s, s->pub.users, s->pub.n_users);
	}
out:
	if (!err)
		snap_objs(&s->pub, 1); /* every pointer in the arrays: one reference */
	for (size_t i = 0; i < b.n_fresh; i++)
		obj_unref(b.fresh[i]); /* what compile() and the entries handed us */
	free(b.fresh);
	if (err) {
		snap_discard(s);
		return err;
	}
	report_summary(&b);
	*out = &s->pub;
	return 0;
}

/* ---- lookups ---- */

static int cmp_group(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ucs_ud_group *const *)elem)->id);
}

static int cmp_computer(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ucs_ud_computer *const *)elem)->id);
}

static int cmp_profile(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ucs_ud_profile *const *)elem)->id);
}

const struct ucs_ud_user *udb_snap_user(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_user *const *u;

	if (!s || !id || !s->n_users)
		return NULL;
	u = bsearch(id, s->users, s->n_users, sizeof(*s->users), cmp_user);
	return u ? *u : NULL;
}

const struct ucs_ud_user *udb_snap_user_by_login(const struct ucs_ud_snapshot *s, const char *login)
{
	const struct udb_snap *sn;
	size_t slot;

	if (!s || !login || !*login)
		return NULL;
	sn = snap_of(s);
	if (!sn->login_slots)
		return NULL;
	slot = hash_bytes(login, 1) & sn->login_mask;
	while (sn->login_slots[slot]) {
		const struct ucs_ud_user *u = s->users[sn->login_slots[slot] - 1];
		if (ascii_casecmp(u->login, login) == 0)
			return u;
		slot = (slot + 1) & sn->login_mask;
	}
	return NULL;
}

const struct ucs_ud_group *udb_snap_group(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_group *const *g;

	if (!s || !id || !s->n_groups)
		return NULL;
	g = bsearch(id, s->groups, s->n_groups, sizeof(*s->groups), cmp_group);
	return g ? *g : NULL;
}

const struct ucs_ud_computer *udb_snap_computer(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_computer *const *c;

	if (!s || !id || !s->n_computers)
		return NULL;
	c = bsearch(id, s->computers, s->n_computers, sizeof(*s->computers), cmp_computer);
	return c ? *c : NULL;
}

const struct ucs_ud_profile *udb_snap_profile(const struct ucs_ud_snapshot *s, const char *id)
{
	const struct ucs_ud_profile *const *p;

	if (!s || !id || !s->n_profiles)
		return NULL;
	p = bsearch(id, s->profiles, s->n_profiles, sizeof(*s->profiles), cmp_profile);
	return p ? *p : NULL;
}

json_t *udb_snap_user_groups_json(const struct ucs_ud_snapshot *s, const char *user)
{
	const struct ucs_ud_user *u = udb_snap_user(s, user);
	json_t *a = json_array();

	for (size_t i = 0; a && u && i < u->n_groups; i++)
		json_array_append_new(a, json_string(u->groups[i]));
	return a;
}
