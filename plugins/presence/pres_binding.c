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
 * An internal number names a line only while exactly one live line carries
 * it: internal numbers are unique within one PBX, not across several (two
 * sites may both have an extension 222). While several lines carry it they
 * bind by line id only, and a warning names the number and the lines once;
 * when all but one go, the number names that one again. The core counts
 * the live lines per internal number (struct pres_num) for this.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pres.h"

#define PRES_MAX_OWNERS 64

struct pres_line *pres_line_find(const struct pres *p, const char *id)
{
	int32_t i = id ? pres_map_get(&p->line_map, id) : -1;

	return i < 0 ? NULL : p->lines[i];
}

/* ---- internal numbers ---------------------------------------------------- */

static struct pres_num *num_find(const struct pres *p, const char *text, int32_t *slot)
{
	int32_t i = text && *text ? pres_map_get(&p->num_map, text) : -1;

	if (slot)
		*slot = i;
	return i < 0 ? NULL : p->nums[i];
}

int pres_internal_unique(const struct pres *p, const char *internal)
{
	const struct pres_num *n = num_find(p, internal, NULL);

	return n && n->lines == 1;
}

/* One more live line carries text: the new count, or -ENOMEM (then the
 * line is not counted: its number names nothing). */
static int num_add(struct pres *p, const char *text)
{
	struct pres_num *n = num_find(p, text, NULL);
	uint32_t slot;

	if (n)
		return (int)++n->lines;
	if (!p->n_free_nums && p->n_nums == p->cap_nums) {
		size_t cap = p->cap_nums ? p->cap_nums * 2 : 64;
		struct pres_num **nums = realloc(p->nums, cap * sizeof(*nums));
		uint32_t *fr;

		if (!nums)
			return -ENOMEM;
		p->nums = nums;
		fr = realloc(p->free_nums, cap * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		p->free_nums = fr;
		p->cap_nums = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	memcpy(n->text, text, strnlen(text, sizeof(n->text) - 1));
	n->lines = 1;
	slot = p->n_free_nums ? p->free_nums[--p->n_free_nums] : (uint32_t)p->n_nums++;
	p->nums[slot] = n;
	if (pres_map_put(&p->num_map, n->text, (int32_t)slot) != 0) {
		p->nums[slot] = NULL;
		p->free_nums[p->n_free_nums++] = slot;
		free(n);
		return -ENOMEM;
	}
	return 1;
}

/* One live line fewer carries text: the new count. */
static uint32_t num_del(struct pres *p, const char *text)
{
	int32_t slot;
	struct pres_num *n = num_find(p, text, &slot);

	if (!n)
		return 0;
	if (--n->lines > 0) {
		if (n->lines == 1)
			n->warned = 0; /* a new ambiguity is worth a new warning */
		return n->lines;
	}
	pres_map_del(&p->num_map, n->text);
	free(n);
	p->nums[slot] = NULL;
	p->free_nums[p->n_free_nums++] = (uint32_t)slot;
	return 0;
}

void pres_binding_free_nums(struct pres *p)
{
	for (size_t i = 0; i < p->n_nums; i++)
		free(p->nums[i]);
	free(p->nums);
	free(p->free_nums);
	pres_map_free(&p->num_map);
	p->nums = NULL;
	p->free_nums = NULL;
	p->n_nums = p->cap_nums = p->n_free_nums = 0;
}

/* "internal number 222 is reported by several lines (a/222, b/222): ..."
 * with the lines sorted by id (the first eight). */
static void warn_ambiguous(struct pres *p, struct pres_num *n)
{
	const struct pres_line *ls[8];
	size_t k = 0, more = 0, len;
	char text[800];

	n->warned = 1;
	if (!p->warn)
		return;
	for (size_t i = 0; i < p->n_lines; i++) {
		const struct pres_line *l = p->lines[i];
		size_t j;

		if (!l->live || strcmp(l->in.internal.text, n->text) != 0)
			continue;
		if (k == 8) {
			more++;
			continue;
		}
		for (j = k++; j > 0 && strcmp(l->in.line.text, ls[j - 1]->in.line.text) < 0; j--)
			ls[j] = ls[j - 1];
		ls[j] = l;
	}
	len = (size_t)snprintf(text, sizeof(text),
			       "internal number %s is reported by several lines (", n->text);
	for (size_t i = 0; i < k && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? ", " : "",
					ls[i]->in.line.text);
	if (more && len < sizeof(text))
		len += (size_t)snprintf(text + len, sizeof(text) - len, " and %zu more", more);
	if (len < sizeof(text))
		snprintf(text + len, sizeof(text) - len, "): they bind by line id only");
	p->warn(p->warn_arg, text);
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
	if (strcmp(l->in.internal.text, l->in.line.text) != 0 &&
	    pres_internal_unique(p, l->in.internal.text))
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

/* The owners of l: their watchers' extra lines may name l by its internal
 * number, which started or stopped naming it. */
static void mark_owners(struct pres *p, const struct pres_line *l)
{
	for (uint32_t k = 0; k < l->n_owners; k++)
		pres_mark(p, p->users[l->owners[k].idx], PRES_DIRTY_TARGET);
}

/* The live lines but skip that carry internal: their internal number
 * started or stopped naming them, so they are bound afresh (rebind()
 * updates the owners it dropped or moved, this the ones it added). */
static int rebind_internal(struct pres *p, const char *internal, const struct pres_line *skip)
{
	int err = 0;

	for (size_t i = 0; i < p->n_lines; i++) {
		struct pres_line *o = p->lines[i];

		if (o == skip || !o->live || strcmp(o->in.internal.text, internal) != 0)
			continue;
		if (rebind(p, o, 1) != 0)
			err = -ENOMEM;
		for (uint32_t k = 0; k < o->n_owners; k++)
			pres_update(p, p->users[o->owners[k].idx]);
		mark_owners(p, o);
	}
	return err;
}

int pres_binding_line_changed(struct pres *p, struct pres_line *l, const char *old_internal)
{
	const char *now = l->in.internal.text;
	int err = 0, c;

	if (!old_internal || strcmp(old_internal, now) != 0) {
		mark_owners(p, l);
		if (old_internal && *old_internal && num_del(p, old_internal) == 1 &&
		    rebind_internal(p, old_internal, l) != 0)
			err = -ENOMEM; /* the one line left has it alone again */
		c = *now ? num_add(p, now) : 0;
		if (c < 0) {
			err = c;
		} else if (c == 2) { /* it names several lines from now on */
			struct pres_num *n = num_find(p, now, NULL);

			if (!n->warned)
				warn_ambiguous(p, n);
			if (rebind_internal(p, now, l) != 0)
				err = -ENOMEM;
		}
	}
	if (rebind(p, l, 1) != 0)
		err = -ENOMEM;
	if (old_internal && strcmp(old_internal, now) != 0)
		mark_owners(p, l);
	return err;
}

void pres_binding_line_gone(struct pres *p, struct pres_line *l)
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
	if (l->in.internal.text[0] && num_del(p, l->in.internal.text) == 1)
		rebind_internal(p, l->in.internal.text, l);
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

/* The live line an extra line names (line id, or an internal number only
 * one live line carries). */
static const struct pres_line *resolve(const struct pres *p, const char *name)
{
	const struct pres_line *l = pres_line_find(p, name);
	int by_internal = !l && name && *name && pres_internal_unique(p, name);

	for (size_t i = 0; by_internal && !l && i < p->n_lines; i++)
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
