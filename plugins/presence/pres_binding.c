/*
 * plugins/presence/pres_binding.c - which users a line belongs to.
 *
 * A line (known from presence.in.line: id, internal number, canonical
 * number) is bound to a user
 *   - automatically, when the global switch "automatic line binding" is on
 *     and the line's canonical number equals one of her numbers: business
 *     (when her store lets business take part, UCS_UD_BIND_BUSINESS) binds
 *     it as her first line, business 2 (UCS_UD_BIND_BUSINESS2) as her
 *     second, her other numbers as additional lines;
 *   - directly, whatever the switches say, when her first phone, second
 *     phone or other lines name the line's id or internal number: first,
 *     second, additional line.
 * A user holding a line by several routes holds it in the best class
 * (first before second before additional). Several users may hold the same
 * line (a shared number); each gets it in her presence.
 *
 * Private, mobile, pager, mailbox, recording and fax numbers never bind:
 * they are not her desk lines (a line with her mailbox number is the
 * voicemail system, which would show her "on the phone" whenever someone
 * leaves a message).
 *
 * Additional lines of others made available to her (extra_lines) are not
 * bound to her: they do not make up her presence. They decide what she sees
 * of the lines of the users she watches (pres_view.c) and lines() lists
 * them, with class additional.
 *
 * The index (number -> users, name -> users) is rebuilt from each snapshot;
 * its keys are the snapshot's strings, which live as long as the snapshot
 * the core works with. Lines are re-bound only when a key they carry (id,
 * internal or canonical number) belongs to a user whose binding fields
 * changed: a new snapshot for one edited user touches her lines only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pres.h"

#define PRES_MAX_OWNERS 64

struct pres_line *pres_line_find(const struct pres *p, const char *id)
{
	int32_t i = id ? pres_map_get(&p->line_map, id) : -1;

	return i < 0 ? NULL : p->lines[i];
}

/* ---- the index --------------------------------------------------------- */

static int index_add(struct pres *p, struct pres_map *map, const char *key, uint32_t user, int cls)
{
	struct pres_bind_ent *e;

	if (!key || !*key)
		return 0;
	if (p->n_ents == p->cap_ents) {
		size_t cap = p->cap_ents ? p->cap_ents * 2 : 1024;
		struct pres_bind_ent *ents = realloc(p->ents, cap * sizeof(*ents));

		if (!ents)
			return -ENOMEM;
		p->ents = ents;
		p->cap_ents = cap;
	}
	e = &p->ents[p->n_ents];
	e->user = user;
	e->cls = cls;
	e->next = pres_map_get(map, key);
	if (pres_map_put(map, key, (int32_t)p->n_ents) != 0)
		return -ENOMEM;
	p->n_ents++;
	return 0;
}

static int index_user(struct pres *p, const struct pres_user *u)
{
	const struct ucs_ud_user *d = u->ud;
	int err = 0;

	if (p->auto_binding) {
		if (d->flags & UCS_UD_BIND_BUSINESS)
			err |= index_add(p, &p->bind_num,
					 d->phones[UCS_UD_PHONE_BUSINESS].canonical, u->idx,
					 UCS_LINE_FIRST);
		if (d->flags & UCS_UD_BIND_BUSINESS2)
			err |= index_add(p, &p->bind_num,
					 d->phones[UCS_UD_PHONE_BUSINESS2].canonical, u->idx,
					 UCS_LINE_SECOND);
		for (size_t i = 0; i < d->n_other_numbers; i++)
			err |= index_add(p, &p->bind_num, d->other_numbers[i], u->idx,
					 UCS_LINE_ADDITIONAL);
	}
	err |= index_add(p, &p->bind_name, d->first_phone, u->idx, UCS_LINE_FIRST);
	err |= index_add(p, &p->bind_name, d->second_phone, u->idx, UCS_LINE_SECOND);
	for (size_t i = 0; i < d->n_other_lines; i++)
		err |= index_add(p, &p->bind_name, d->other_lines[i], u->idx, UCS_LINE_ADDITIONAL);
	return err ? -ENOMEM : 0;
}

/* Adds the chain of key to owners (best class per user). */
static void collect(const struct pres *p, const struct pres_map *map, const char *key,
		    struct pres_bound *owners, uint32_t *n)
{
	int32_t e = key && *key ? pres_map_get(map, key) : -1;

	for (; e >= 0; e = p->ents[e].next) {
		const struct pres_bind_ent *ent = &p->ents[e];
		uint32_t i;

		for (i = 0; i < *n; i++)
			if (owners[i].idx == ent->user)
				break;
		if (i < *n) {
			if (ent->cls < owners[i].cls)
				owners[i].cls = ent->cls;
		} else if (*n < PRES_MAX_OWNERS) {
			owners[(*n)++] = (struct pres_bound){ent->user, ent->cls};
		}
	}
}

/* ---- a user's bound lines ------------------------------------------- */

static int user_bind(struct pres_user *u, uint32_t line, int cls)
{
	for (uint32_t i = 0; i < u->n_bound; i++)
		if (u->bound[i].idx == line) {
			u->bound[i].cls = cls;
			return 0;
		}
	if (u->n_bound >= PRES_MAX_USER_LINES)
		return -ENOSPC;
	if (u->n_bound == u->cap_bound) {
		uint32_t cap = u->cap_bound ? u->cap_bound * 2 : 4;
		struct pres_bound *b = realloc(u->bound, cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		u->bound = b;
		u->cap_bound = cap;
	}
	u->bound[u->n_bound++] = (struct pres_bound){line, cls};
	return 0;
}

static void user_unbind(struct pres_user *u, uint32_t line)
{
	for (uint32_t i = 0; i < u->n_bound; i++)
		if (u->bound[i].idx == line) {
			u->bound[i] = u->bound[--u->n_bound];
			return;
		}
}

static int find_owner(const struct pres_bound *o, uint32_t n, uint32_t user)
{
	for (uint32_t i = 0; i < n; i++)
		if (o[i].idx == user)
			return (int)i;
	return -1;
}

/* Binds l to the owners the index gives. A user who lost the line or
 * holds it in another class is recomputed now (immediate) or queued; new
 * owners are queued in bulk mode and left to the caller otherwise. */
static int rebind(struct pres *p, struct pres_line *l, int immediate)
{
	struct pres_bound owners[PRES_MAX_OWNERS], *keep;
	uint32_t n = 0, k = 0;
	int err = 0;

	if (p->auto_binding)
		collect(p, &p->bind_num, l->in.canonical.text, owners, &n);
	collect(p, &p->bind_name, l->in.line.text, owners, &n);
	if (strcmp(l->in.internal.text, l->in.line.text) != 0)
		collect(p, &p->bind_name, l->in.internal.text, owners, &n);

	for (uint32_t i = 0; i < l->n_owners; i++) {
		struct pres_user *u = p->users[l->owners[i].idx];
		int j = find_owner(owners, n, l->owners[i].idx);

		if (j >= 0 && owners[j].cls == l->owners[i].cls)
			continue;
		if (j < 0)
			user_unbind(u, l->idx);
		else
			user_bind(u, l->idx, owners[j].cls);
		if (immediate)
			pres_update(p, u);
		else
			pres_mark(p, u, PRES_DIRTY_PRESENCE);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pres_user *u = p->users[owners[i].idx];
		int r;

		if (find_owner(l->owners, l->n_owners, owners[i].idx) < 0) {
			r = user_bind(u, l->idx, owners[i].cls);
			if (r == -ENOMEM)
				err = r;
			if (r)
				continue; /* she holds too many lines already */
			if (!immediate)
				pres_mark(p, u, PRES_DIRTY_PRESENCE);
		}
		owners[k++] = owners[i];
	}
	keep = k ? malloc(k * sizeof(*keep)) : NULL;
	if (k && !keep) {
		/* cannot remember the owners: unbind them all rather than lie */
		for (uint32_t i = 0; i < k; i++) {
			user_unbind(p->users[owners[i].idx], l->idx);
			pres_mark(p, p->users[owners[i].idx], PRES_DIRTY_PRESENCE);
		}
		k = 0;
		err = -ENOMEM;
	} else if (k) {
		memcpy(keep, owners, k * sizeof(*keep));
	}
	free(l->owners);
	l->owners = keep;
	l->n_owners = k;
	return err;
}

int pres_binding_bind_line(struct pres *p, struct pres_line *l)
{
	return rebind(p, l, 1);
}

void pres_binding_unbind_line(struct pres *p, struct pres_line *l)
{
	struct pres_bound *owners = l->owners;
	uint32_t n = l->n_owners;

	l->owners = NULL;
	l->n_owners = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct pres_user *u = p->users[owners[i].idx];

		user_unbind(u, l->idx);
		pres_update(p, u);
	}
	free(owners);
}

/* The fields of a user that bind lines, hashed. */
static uint64_t bind_print(const struct ucs_ud_user *d)
{
	uint64_t h = d->flags & (UCS_UD_BIND_BUSINESS | UCS_UD_BIND_BUSINESS2);
	const char *one[] = {d->phones[UCS_UD_PHONE_BUSINESS].canonical,
			     d->phones[UCS_UD_PHONE_BUSINESS2].canonical, d->first_phone,
			     d->second_phone};

	for (size_t i = 0; i < 4; i++)
		h = h * 0x100000001b3ull ^ pres_hash_str(one[i] ? one[i] : "");
	for (size_t i = 0; i < d->n_other_numbers; i++)
		h = h * 0x100000001b3ull ^ pres_hash_str(d->other_numbers[i]) ^ 0x1000;
	for (size_t i = 0; i < d->n_other_lines; i++)
		h = h * 0x100000001b3ull ^ pres_hash_str(d->other_lines[i]) ^ 0x2000;
	return h;
}

static void note_key(struct pres *p, const char *key)
{
	if (key && *key && pres_map_put(&p->rebind, key, 1) != 0)
		p->rebind_all = 1;
}

static void note_user(struct pres *p, const struct ucs_ud_user *d)
{
	note_key(p, d->phones[UCS_UD_PHONE_BUSINESS].canonical);
	note_key(p, d->phones[UCS_UD_PHONE_BUSINESS2].canonical);
	note_key(p, d->first_phone);
	note_key(p, d->second_phone);
	for (size_t i = 0; i < d->n_other_numbers; i++)
		note_key(p, d->other_numbers[i]);
	for (size_t i = 0; i < d->n_other_lines; i++)
		note_key(p, d->other_lines[i]);
}

void pres_binding_note(struct pres *p, const struct ucs_ud_user *old, const struct ucs_ud_user *d)
{
	if (old == d || p->rebind_all || (old && d && bind_print(old) == bind_print(d)))
		return;
	if (old)
		note_user(p, old);
	if (d)
		note_user(p, d);
	if (p->rebind.n > 4096)
		p->rebind_all = 1; /* cheaper to re-bind everything */
}

static int touched(const struct pres *p, const struct pres_line *l)
{
	return p->rebind_all || pres_map_get(&p->rebind, l->in.line.text) >= 0 ||
	       pres_map_get(&p->rebind, l->in.internal.text) >= 0 ||
	       pres_map_get(&p->rebind, l->in.canonical.text) >= 0;
}

int pres_binding_build(struct pres *p)
{
	int err = 0;

	pres_map_clear(&p->bind_num);
	pres_map_clear(&p->bind_name);
	p->n_ents = 0;
	for (size_t i = 0; i < p->n_users; i++)
		if (p->users[i]->ud && index_user(p, p->users[i]) != 0)
			err = -ENOMEM;
	if (err)
		p->rebind_all = 1; /* the index is partial: lines bind to what it has */
	for (size_t i = 0; (p->rebind_all || p->rebind.n) && i < p->n_lines; i++)
		if (p->lines[i]->live && touched(p, p->lines[i]) && rebind(p, p->lines[i], 0) != 0)
			err = -ENOMEM;
	/* the keys point into the snapshot before: forget them */
	pres_map_clear(&p->rebind);
	p->rebind_all = 0;
	return err;
}

/* ---- the service slots ---------------------------------------------- */

static int owner_before(const struct pres *p, const struct pres_bound *a,
			const struct pres_bound *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	return strcmp(p->users[a->idx]->id.text, p->users[b->idx]->id.text) < 0;
}

static int line_before(const struct pres *p, const struct pres_bound *a, const struct pres_bound *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	return strcmp(p->lines[a->idx]->in.line.text, p->lines[b->idx]->in.line.text) < 0;
}

/* Sorts a small array with the given order. */
static void sort_bound(const struct pres *p, struct pres_bound *a, uint32_t n,
		       int (*before)(const struct pres *, const struct pres_bound *,
				     const struct pres_bound *))
{
	for (uint32_t i = 1; i < n; i++) {
		struct pres_bound x = a[i];
		uint32_t j = i;

		while (j > 0 && before(p, &x, &a[j - 1])) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

/* The live line an extra line names (line id or internal number). */
static const struct pres_line *resolve(const struct pres *p, const char *name)
{
	const struct pres_line *l = pres_line_find(p, name);

	for (size_t i = 0; !l && name && *name && i < p->n_lines; i++)
		if (p->lines[i]->live && strcmp(p->lines[i]->in.internal.text, name) == 0)
			l = p->lines[i];
	return l;
}

int pres_lines(struct pres *p, const char *user, struct ucs_id *ids, int32_t *classes, size_t max)
{
	struct pres_user *u = user ? pres_user_get(p, user) : NULL;
	struct pres_bound own[PRES_MAX_USER_LINES];
	size_t n = 0;

	if (!u || !u->ud)
		return -ENOENT;
	if (u->n_bound)
		memcpy(own, u->bound, u->n_bound * sizeof(*own));
	sort_bound(p, own, u->n_bound, line_before);
	for (uint32_t i = 0; i < u->n_bound && n < max; i++, n++) {
		ids[n] = p->lines[own[i].idx]->in.line;
		classes[n] = own[i].cls;
	}
	for (size_t i = 0; i < u->ud->n_extra_lines && n < max; i++) {
		const struct pres_line *l = resolve(p, u->ud->extra_lines[i].line);
		int dup = 0;

		if (!l)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(ids[j].text, l->in.line.text) == 0;
		if (dup)
			continue;
		ids[n] = l->in.line;
		classes[n++] = UCS_LINE_ADDITIONAL;
	}
	return (int)n;
}

int pres_owners(struct pres *p, const char *line, struct ucs_id *users, size_t max)
{
	struct pres_line *l = pres_line_find(p, line);
	struct pres_bound o[PRES_MAX_OWNERS];
	size_t n = 0;

	if (!l)
		return -ENOENT;
	if (l->n_owners)
		memcpy(o, l->owners, l->n_owners * sizeof(*o));
	sort_bound(p, o, l->n_owners, owner_before);
	for (; n < l->n_owners && n < max; n++)
		users[n] = p->users[o[n].idx]->id;
	return (int)n;
}
