/*
 * plugins/client-api/ca_contacts.c - contacts.search: who is behind a number
 * or a name.
 *
 * The server's search order is the manual's (20.3): the cache of contacts
 * found before, the user store, then directory plugins; for a number the
 * first source with a hit ends the search. A text search looks in the user
 * store and, when that gives fewer than the limit, in the directories.
 *
 * Not filtered by rights: the manual's one exception ("the authorization
 * levels restrict only the contact details exchanged through presence").
 * Only attributes the administrator switched off would be hidden; the user
 * store has no such switch yet, so every contact field is returned.
 *
 * Numbers are compared in canonical form: the query goes through the
 * dialplan (format, UCS_DP_DISPLAY), the stored numbers are canonical in
 * the snapshot. The cache is an LRU of number -> contacts (contacts_cache
 * entries), emptied on every change of the user store.
 *
 * Directories. A directory plugin serves the bus request
 * "directory.search"; its payload is JSON text (variable length):
 * {"text"} or {"number","canonical"} with "limit", and its reply
 * {"contacts":[{...}]}. No directory plugin exists yet, so this is where the
 * contract is written down; when the type is not registered the step is
 * skipped silently.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca.h"

#define DIRECTORY_SEARCH_TYPE "directory.search"
#define TEXT_MAX	      128
#define DEFAULT_LIMIT	      20

struct cache_ent {
	struct cache_ent *prev, *next;
	json_t *contacts;
	char key[UCS_PHONE_MAX];
};

struct ca_contacts {
	struct ca_map map;
	struct cache_ent lru; /* head: most recent first */
	size_t n;
};

int ca_contacts_new(struct ca *ca)
{
	ca->contacts = calloc(1, sizeof(*ca->contacts));
	if (!ca->contacts)
		return -ENOMEM;
	ca->contacts->lru.next = ca->contacts->lru.prev = &ca->contacts->lru;
	return 0;
}

static void ent_unlink(struct cache_ent *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void ent_front(struct ca_contacts *c, struct cache_ent *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void ent_drop(struct ca_contacts *c, struct cache_ent *e)
{
	ent_unlink(e);
	ca_map_del(&c->map, e->key);
	json_decref(e->contacts);
	free(e);
	c->n--;
}

void ca_contacts_flush(struct ca *ca)
{
	struct ca_contacts *c = ca->contacts;

	while (c && c->lru.next != &c->lru)
		ent_drop(c, c->lru.next);
}

void ca_contacts_free(struct ca *ca)
{
	if (!ca->contacts)
		return;
	ca_contacts_flush(ca);
	ca_map_free(&ca->contacts->map);
	free(ca->contacts);
	ca->contacts = NULL;
}

static json_t *cache_get(struct ca *ca, const char *key)
{
	struct ca_contacts *c = ca->contacts;
	struct cache_ent *e = ca_map_get(&c->map, key);

	if (!e)
		return NULL;
	ent_unlink(e);
	ent_front(c, e);
	return e->contacts;
}

static void cache_put(struct ca *ca, const char *key, json_t *contacts)
{
	struct ca_contacts *c = ca->contacts;
	struct cache_ent *e;

	if (!ca->conf.contacts_cache || strlen(key) >= UCS_PHONE_MAX || ca_map_get(&c->map, key))
		return;
	while (c->n >= ca->conf.contacts_cache)
		ent_drop(c, c->lru.prev);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	snprintf(e->key, sizeof(e->key), "%s", key);
	if (ca_map_put(&c->map, e->key, e)) {
		free(e);
		return;
	}
	e->contacts = json_incref(contacts);
	ent_front(c, e);
	c->n++;
}

/* ---- the user store ------------------------------------------------------------ */

static json_t *user_contact(struct ca *ca, const struct ucs_ud_user *u)
{
	json_t *c = ca_jcontact(ca, u, (1u << UCS_CF_COUNT) - 1);

	json_object_set_new(c, "source", json_string("users"));
	json_object_set_new(c, "user", CA_JS(u->id));
	json_object_set_new(c, "login", CA_JS(u->login));
	return c;
}

static bool has_number(const struct ucs_ud_user *u, const char *canonical)
{
	static const int slots[] = {UCS_UD_PHONE_BUSINESS, UCS_UD_PHONE_BUSINESS2,
				    UCS_UD_PHONE_PRIVATE,  UCS_UD_PHONE_MOBILE,
				    UCS_UD_PHONE_PAGER,	   UCS_UD_PHONE_FAX};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		const char *c = u->phones[slots[i]].canonical;

		if (c && *c && strcmp(c, canonical) == 0)
			return true;
	}
	for (size_t i = 0; i < u->n_other_numbers; i++)
		if (u->other_numbers[i] && strcmp(u->other_numbers[i], canonical) == 0)
			return true;
	return false;
}

static bool has_text(const struct ucs_ud_user *u, const char *text)
{
	const char *fields[] = {u->display_name, u->first_name, u->last_name,
				u->login,	 u->email,	u->company};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] && strcasestr(fields[i], text))
			return true;
	return false;
}

static void search_users(struct ca *ca, const char *text, const char *canonical, size_t limit,
			 json_t *out)
{
	const struct ucs_ud_snapshot *snap = ca->udb->acquire();

	for (size_t i = 0; snap && i < snap->n_users && json_array_size(out) < limit; i++) {
		const struct ucs_ud_user *u = snap->users[i];

		if (text ? has_text(u, text) : has_number(u, canonical))
			json_array_append_new(out, user_contact(ca, u));
	}
	if (snap)
		ca->udb->release(snap);
}

/* ---- directories ------------------------------------------------------------------ */

struct search_op {
	struct ca_op op;
	struct ucs_pending *pending;
	json_t *contacts; /* found before the directories */
	size_t limit;
	bool number;
	char canonical[UCS_PHONE_MAX];
};

static void search_free(struct search_op *so)
{
	json_decref(so->contacts);
	free(so);
}

static void search_release(struct ca_op *op)
{
	search_free((struct search_op *)op);
}

static void search_cancel(struct ca_op *op)
{
	struct search_op *so = (struct search_op *)op;

	op->sess->ca->host->bus->request_cancel(so->pending);
	search_free(so);
}

static void answer(struct ca_sess *s, json_t *id, const char *source, json_t *contacts)
{
	wsrpc_reply(s->ws, id, json_pack("{s:s,s:O}", "source", source, "contacts", contacts));
}

static void directory_done(int status, const struct ucs_msg *reply, void *arg)
{
	struct search_op *so = arg;
	struct ca_sess *s = so->op.sess;
	struct ca *ca = s->ca;
	size_t len = 0, added = 0, i;
	const char *text = reply ? ca->host->bus->msg_payload(reply, &len) : NULL;
	json_t *doc = NULL, *found, *e;

	so->pending = NULL;
	if (status == 0 && text && len)
		doc = json_loadb(text, len, 0, NULL);
	found = json_object_get(doc, "contacts");
	json_array_foreach(found, i, e)
	{
		if (!json_is_object(e) || json_array_size(so->contacts) >= so->limit)
			continue;
		json_object_set_new(e, "source", json_string("directory"));
		json_array_append(so->contacts, e);
		added++;
	}
	if (so->number && added)
		cache_put(ca, so->canonical, so->contacts);
	json_decref(doc);
	/* the answer ends the op (and may close the session): last */
	ca_op_reply(&so->op, json_pack("{s:s,s:O}", "source",
				       added ? "directory"
					     : (json_array_size(so->contacts) ? "users" : "none"),
				       "contacts", so->contacts));
}

/* Asks the directories when one is there: true when the answer will come
 * from directory_done(). */
static bool ask_directories(struct ca_sess *s, json_t *id, const char *text, const char *number,
			    const char *canonical, size_t limit, json_t *contacts)
{
	struct ca *ca = s->ca;
	const struct ucs_bus_api *bus = ca->host->bus;
	const struct ucs_msg_type *t = bus->type_find(DIRECTORY_SEARCH_TYPE, 1);
	struct search_op *so;
	struct ucs_msg *m;
	json_t *q;
	char *payload;
	int err;

	if (!t)
		return false;
	q = text ? json_pack("{s:s,s:I}", "text", text, "limit", (json_int_t)limit)
		 : json_pack("{s:s,s:s,s:I}", "number", number, "canonical", canonical, "limit",
			     (json_int_t)limit);
	payload = q ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	so = payload ? calloc(1, sizeof(*so)) : NULL;
	if (!so || bus->msg_new(t, NULL, payload, strlen(payload), &m)) {
		free(payload);
		free(so);
		return false;
	}
	free(payload);
	so->contacts = json_incref(contacts);
	so->limit = limit;
	so->number = number != NULL;
	snprintf(so->canonical, sizeof(so->canonical), "%s", canonical ? canonical : "");
	err = bus->request(ca->self, &so->pending, m, ca->conf.request_timeout_ms, directory_done,
			   so);
	if (err) { /* nobody serves it: skipped */
		search_free(so);
		return false;
	}
	so->op.cancel = search_cancel;
	so->op.release = search_release;
	ca_op_add(s, &so->op, id);
	return true;
}

/* ---- contacts.search ---------------------------------------------------------------- */

/* The canonical form of a number a user typed. */
static void canonical_of(struct ca *ca, const char *number, char *out, size_t cap)
{
	const struct ucs_dialplan_api *dp = ca->host->service->find(UCS_DIALPLAN_SERVICE, 1, NULL);
	struct ucs_dp_number n = {.size = sizeof(n)};
	size_t o = 0;

	if (dp && dp->format(NULL, UCS_DP_DISPLAY, number, &n, NULL, NULL) == 0 &&
	    n.canonical.text[0]) {
		snprintf(out, cap, "%s", n.canonical.text);
		return;
	}
	/* no dialplan: the digits (and a leading +) as typed */
	for (const char *p = number; *p && o + 1 < cap; p++)
		if (isdigit((unsigned char)*p) || (*p == '+' && o == 0))
			out[o++] = *p;
	out[o] = '\0';
}

CA_METHOD(ca_m_contacts_search)
{
	static const char *const only[] = {"text", "number", "limit", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const char *text = NULL, *number = NULL;
	char canonical[UCS_PHONE_MAX];
	int64_t limit = DEFAULT_LIMIT;
	json_t *contacts, *hit;

	if (wsrpc_params_only(ws, id, params, only) ||
	    wsrpc_param_string(ws, id, params, "text", 0, TEXT_MAX, &text) == -EINVAL ||
	    wsrpc_param_string(ws, id, params, "number", 0, UCS_DP_NUMBER_MAX, &number) ==
		    -EINVAL ||
	    wsrpc_param_int(ws, id, params, "limit", 0, 1, ca->conf.contacts_limit, &limit) ==
		    -EINVAL)
		return;
	text = json_object_get(params, "text") ? text : NULL;
	number = json_object_get(params, "number") ? number : NULL;
	if (!json_object_get(params, "limit"))
		limit = DEFAULT_LIMIT < ca->conf.contacts_limit ? DEFAULT_LIMIT
								: ca->conf.contacts_limit;
	if (!text == !number || (text && !*text) || (number && !*number)) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "give either text or number (not empty)",
			    json_pack("{s:s}", "member", text ? "text" : "number"));
		return;
	}
	ca->n.searches++;
	contacts = json_array();
	if (text) {
		search_users(ca, text, NULL, (size_t)limit, contacts);
		if (json_array_size(contacts) >= (size_t)limit ||
		    !ask_directories(s, id, text, NULL, NULL, (size_t)limit, contacts))
			answer(s, id, json_array_size(contacts) ? "users" : "none", contacts);
		goto out;
	}
	canonical_of(ca, number, canonical, sizeof(canonical));
	if (!canonical[0]) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "number: no digits in it",
			    json_pack("{s:s}", "member", "number"));
		goto out;
	}
	hit = cache_get(ca, canonical);
	if (hit) {
		/* the cached list may be longer than this request's limit */
		ca->n.search_cache_hits++;
		for (size_t i = 0; i < json_array_size(hit) && i < (size_t)limit; i++)
			json_array_append(contacts, json_array_get(hit, i));
		answer(s, id, "cache", contacts);
		goto out;
	}
	search_users(ca, NULL, canonical, (size_t)limit, contacts);
	if (json_array_size(contacts)) {
		cache_put(ca, canonical, contacts);
		answer(s, id, "users", contacts);
	} else if (!ask_directories(s, id, NULL, number, canonical, (size_t)limit, contacts)) {
		answer(s, id, "none", contacts);
	}
out:
	json_decref(contacts);
}
