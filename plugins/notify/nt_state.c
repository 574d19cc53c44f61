/*
 * plugins/notify/nt_state.c - the repeated-call memory: which caller was
 * last notified to which user and when, and when each user last logged in.
 *
 * Two exceptions read it: "repeated calls on the same day" (the pair was
 * notified earlier today) and "repeated calls while the user has not
 * logged in" (the pair was notified before, and she has not logged in
 * since). Both maps are hash tables bounded by max_pairs; when full, the
 * oldest entry makes room, so a flood of distinct callers costs memory
 * once and forgets the oldest first - which only ever means one more mail.
 * The plugin saves the state as JSON (notify.json) and loads it at start.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nt.h"

struct nt_entry {
	struct nt_entry *next;
	int64_t ms;
	char *key; /* "user\ncaller" or "user" */
};

struct nt_map {
	struct nt_entry **b;
	size_t nb; /* power of two */
	size_t n;
};

struct nt_state {
	struct nt_map pairs;
	struct nt_map logins;
	struct nt_map sessions; /* "user\nsession" of the sessions open now */
	struct nt_map online;	/* user -> how many of her sessions are open (in ms) */
	size_t max;
	uint64_t generation;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int map_init(struct nt_map *m, size_t max)
{
	m->nb = 64;
	while (m->nb < max && m->nb < (1u << 20))
		m->nb <<= 1;
	m->b = calloc(m->nb, sizeof(*m->b));
	m->n = 0;
	return m->b ? 0 : -ENOMEM;
}

static void map_free(struct nt_map *m)
{
	for (size_t i = 0; m->b && i < m->nb; i++) {
		struct nt_entry *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->b);
	m->b = NULL;
	m->n = 0;
}

static struct nt_entry *map_find(const struct nt_map *m, const char *key)
{
	struct nt_entry *e = m->b[hash(key) & (m->nb - 1)];

	while (e && strcmp(e->key, key) != 0)
		e = e->next;
	return e;
}

static void map_remove(struct nt_map *m, struct nt_entry *victim)
{
	struct nt_entry **pp = &m->b[hash(victim->key) & (m->nb - 1)];

	while (*pp && *pp != victim)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = victim->next;
		free(victim->key);
		free(victim);
		m->n--;
	}
}

/* The entry with the smallest time: only looked for when the map is full. */
static void map_evict_oldest(struct nt_map *m)
{
	struct nt_entry *oldest = NULL;

	for (size_t i = 0; i < m->nb; i++)
		for (struct nt_entry *e = m->b[i]; e; e = e->next)
			if (!oldest || e->ms < oldest->ms)
				oldest = e;
	if (oldest)
		map_remove(m, oldest);
}

/* Sets key to ms (keeping the later time); makes room when full. */
static void map_set(struct nt_map *m, size_t max, const char *key, int64_t ms)
{
	struct nt_entry *e = map_find(m, key);
	size_t slot;

	if (e) {
		if (ms > e->ms)
			e->ms = ms;
		return;
	}
	if (max == 0)
		return;
	while (m->n >= max)
		map_evict_oldest(m);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return;
	}
	e->ms = ms;
	slot = hash(key) & (m->nb - 1);
	e->next = m->b[slot];
	m->b[slot] = e;
	m->n++;
}

static char *pair_key(const char *user, const char *caller, char *buf, size_t cap)
{
	if ((size_t)snprintf(buf, cap, "%s\n%s", user, caller) >= cap)
		return NULL;
	return buf;
}

struct nt_state *nt_state_new(size_t max_pairs)
{
	struct nt_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max_pairs;
	if (map_init(&s->pairs, max_pairs) || map_init(&s->logins, max_pairs) ||
	    map_init(&s->sessions, 64) || map_init(&s->online, 64)) {
		nt_state_free(s);
		return NULL;
	}
	return s;
}

void nt_state_free(struct nt_state *s)
{
	if (!s)
		return;
	map_free(&s->pairs);
	map_free(&s->logins);
	map_free(&s->sessions);
	map_free(&s->online);
	free(s);
}

int64_t nt_state_notified(const struct nt_state *s, const char *user, const char *caller)
{
	char key[256];
	const struct nt_entry *e;

	if (!pair_key(user, caller, key, sizeof(key)))
		return 0;
	e = map_find(&s->pairs, key);
	return e ? e->ms : 0;
}

void nt_state_note(struct nt_state *s, const char *user, const char *caller, int64_t ms)
{
	char key[256];

	if (!*user || !*caller || !pair_key(user, caller, key, sizeof(key)))
		return;
	map_set(&s->pairs, s->max, key, ms);
	s->generation++;
}

void nt_state_login(struct nt_state *s, const char *user, int64_t ms)
{
	if (!*user || strchr(user, '\n'))
		return;
	map_set(&s->logins, s->max, user, ms);
	s->generation++;
}

void nt_state_session(struct nt_state *s, const char *user, const char *session, bool on)
{
	char key[256];
	struct nt_entry *e, *count;

	if (!*user || strchr(user, '\n') || !pair_key(user, session, key, sizeof(key)))
		return;
	e = map_find(&s->sessions, key);
	count = map_find(&s->online, user);
	if (on && !e) {
		/* sessions are few (clients of this server): no bound but memory */
		map_set(&s->sessions, SIZE_MAX, key, 1);
		if (count)
			count->ms++;
		else
			map_set(&s->online, SIZE_MAX, user, 1);
	} else if (!on && e) {
		map_remove(&s->sessions, e);
		if (count && --count->ms <= 0)
			map_remove(&s->online, count);
	}
}

bool nt_state_online(const struct nt_state *s, const char *user)
{
	return map_find(&s->online, user) != NULL;
}

int64_t nt_state_last_login(const struct nt_state *s, const char *user)
{
	const struct nt_entry *e = map_find(&s->logins, user);

	return e ? e->ms : 0;
}

void nt_state_prune(struct nt_state *s, int64_t older_than_ms)
{
	size_t before = s->pairs.n;

	for (size_t i = 0; i < s->pairs.nb; i++) {
		struct nt_entry **pp = &s->pairs.b[i];

		while (*pp) {
			struct nt_entry *e = *pp;

			if (e->ms < older_than_ms) {
				*pp = e->next;
				free(e->key);
				free(e);
				s->pairs.n--;
			} else {
				pp = &e->next;
			}
		}
	}
	if (s->pairs.n != before)
		s->generation++;
}

size_t nt_state_pairs(const struct nt_state *s)
{
	return s->pairs.n;
}

uint64_t nt_state_generation(const struct nt_state *s)
{
	return s->generation;
}

/* The persistent maps copied into one allocation: entries, then keys. */
struct nt_flat_entry {
	const char *key;
	int64_t ms;
	bool login;
};

struct nt_state_flat {
	size_t n;
	struct nt_flat_entry e[];
};

struct nt_state_flat *nt_state_flat_copy(const struct nt_state *s)
{
	const struct nt_map *maps[2] = {&s->pairs, &s->logins};
	size_t n = 0, bytes = 0, k = 0;
	struct nt_state_flat *f;
	char *text;

	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < maps[m]->nb; i++)
			for (const struct nt_entry *e = maps[m]->b[i]; e; e = e->next) {
				n++;
				bytes += strlen(e->key) + 1;
			}
	f = malloc(sizeof(*f) + n * sizeof(f->e[0]) + bytes);
	if (!f)
		return NULL;
	text = (char *)&f->e[n];
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < maps[m]->nb; i++)
			for (const struct nt_entry *e = maps[m]->b[i]; e; e = e->next) {
				size_t len = strlen(e->key) + 1;

				memcpy(text, e->key, len);
				f->e[k].key = text;
				f->e[k].ms = e->ms;
				f->e[k].login = m == 1;
				text += len;
				k++;
			}
	f->n = n;
	return f;
}

void nt_state_flat_free(struct nt_state_flat *f)
{
	free(f);
}

int nt_state_flat_json(const struct nt_state_flat *f, char **out)
{
	json_t *root = json_object(), *pairs = json_array(), *logins = json_object();
	int err = -ENOMEM;

	*out = NULL;
	if (!root || !pairs || !logins)
		goto out;
	for (size_t i = 0; i < f->n; i++) {
		const struct nt_flat_entry *e = &f->e[i];
		const char *nl = strchr(e->key, '\n');
		json_t *p;

		if (e->login) {
			if (json_object_set_new(logins, e->key, json_integer(e->ms)))
				goto out;
			continue;
		}
		if (!nl)
			continue;
		p = json_pack("{s:s%,s:s,s:I}", "user", e->key, (size_t)(nl - e->key), "caller",
			      nl + 1, "ms", (json_int_t)e->ms);
		if (!p || json_array_append_new(pairs, p))
			goto out;
	}
	if (json_object_set_new(root, "version", json_integer(1)) ||
	    json_object_set(root, "notified", pairs) || json_object_set(root, "logins", logins))
		goto out;
	*out = json_dumps(root, JSON_COMPACT);
	err = *out ? 0 : -ENOMEM;
out:
	json_decref(pairs);
	json_decref(logins);
	json_decref(root);
	return err;
}

int nt_state_save_json(const struct nt_state *s, char **out)
{
	struct nt_state_flat *f = nt_state_flat_copy(s);
	int err;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	err = nt_state_flat_json(f, out);
	nt_state_flat_free(f);
	return err;
}

int nt_state_load_json(struct nt_state *s, const char *buf, size_t len, char *err, size_t cap)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *pairs, *logins, *v, *version;
	const char *key;
	size_t i;
	int rc = -EINVAL;

	if (!root) {
		snprintf(err, cap, "line %d: %s", jerr.line, jerr.text);
		return -EINVAL;
	}
	version = json_object_get(root, "version");
	pairs = json_object_get(root, "notified");
	logins = json_object_get(root, "logins");
	if (!json_is_object(root) || !json_is_integer(version) ||
	    json_integer_value(version) != 1) {
		snprintf(err, cap, "not a notify state of version 1");
		goto out;
	}
	if ((pairs && !json_is_array(pairs)) || (logins && !json_is_object(logins))) {
		snprintf(err, cap, "\"notified\" must be an array and \"logins\" an object");
		goto out;
	}
	/* Check everything before taking anything: a bad file changes nothing. */
	json_array_foreach(pairs, i, v)
	{
		json_t *u = json_object_get(v, "user"), *c = json_object_get(v, "caller"),
		       *ms = json_object_get(v, "ms");

		if (!json_is_string(u) || !json_is_string(c) || !json_is_integer(ms) ||
		    !*json_string_value(u) || !*json_string_value(c) ||
		    json_string_length(u) >= UCS_ID_MAX || json_string_length(c) >= 64 ||
		    strchr(json_string_value(u), '\n')) {
			snprintf(err, cap, "notified[%zu]: needs user, caller and ms", i);
			goto out;
		}
	}
	json_object_foreach(logins, key, v)
	{
		if (!json_is_integer(v) || !*key || strlen(key) >= UCS_ID_MAX ||
		    strchr(key, '\n')) {
			snprintf(err, cap, "logins: bad entry");
			goto out;
		}
	}
	json_array_foreach(pairs, i, v)
		nt_state_note(s, json_string_value(json_object_get(v, "user")),
			      json_string_value(json_object_get(v, "caller")),
			      json_integer_value(json_object_get(v, "ms")));
	json_object_foreach(logins, key, v) nt_state_login(s, key, json_integer_value(v));
	rc = 0;
out:
	json_decref(root);
	return rc;
}
