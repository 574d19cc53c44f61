/*
 * plugins/client-api/ca_presence.c - presence.set, presence.subscribe,
 * presence.unsubscribe and the presence.event notifications.
 *
 * The presence plugin filters every view by the watcher's rights; this file
 * adds the contact card, cut to the fields the view says she may see
 * (view.contact_fields, from rights->contact_fields), and spells numbers in
 * both forms. A user watches a target once (presence->watch) however many of
 * her sessions subscribed it: struct ca_user counts them, and her one
 * "presence.view" subscription ("watcher:<id>") fans each view out to the
 * sessions that subscribed its target. An event is serialised once and the
 * same text goes to each of them; a session that already has exactly this
 * (the answer to its subscribe, or the previous event) gets nothing, so the
 * view watch() sends at once does not repeat the answer.
 *
 * A change of the target's own document (her name, her numbers) changes no
 * presence; ca_presence_user_changed() sends the new card to her watchers.
 * A deleted target ends every subscription of her with one last event
 * {user, removed: true}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

#define USERS_MAX 1000 /* targets in one request */

/* {user, login, presence, contact} of one view. */
static json_t *entry(struct ca *ca, const struct ucs_ud_snapshot *snap,
		     const struct ucs_presence_view *v)
{
	const struct ucs_ud_user *t = ca->udb->user(snap, v->presence.user.text);

	return json_pack("{s:o,s:o,s:o,s:o}", "user",
			 ca_jstr(v->presence.user.text, sizeof(v->presence.user.text)), "login",
			 t ? CA_JS(t->login) : json_string(""), "presence",
			 ca_jpresence(ca, &v->presence), "contact",
			 t ? ca_jcontact(ca, t, v->contact_fields) : json_object());
}

static uint64_t entry_hash(json_t *e)
{
	char *text = json_dumps(e, JSON_COMPACT);
	uint64_t h = text ? ca_hash(text, strlen(text)) | 1 : 0;

	free(text);
	return h;
}

/* Sends one entry to every session of cu that watches its target and does
 * not have it yet. */
static void fan_out(struct ca_user *cu, const char *target, json_t *params)
{
	struct ca *ca = cu->ca;
	uint64_t h = entry_hash(params);
	struct wsrpc_session **v = malloc(cu->n_sess * sizeof(*v) + 1);
	size_t n = 0, len = 0;
	char *text = NULL;

	if (!v)
		return;
	/* references first: a send may close a session (queue overflow) */
	for (size_t i = 0; i < cu->n_sess; i++)
		v[n++] = wsrpc_session_ref(cu->sess[i]->ws);
	for (size_t i = 0; i < n; i++) {
		struct ca_sess *s = wsrpc_session_open(v[i]) ? ca_sess_of(v[i]) : NULL;
		struct ca_watch *w = s ? ca_map_get(&s->watch, target) : NULL;

		if (!w || w->last == h)
			continue;
		w->last = h;
		if (!text)
			text = ca_notification_text("presence.event", params, &len);
		if (text && wsrpc_send_text(s->ws, text, len) == 0)
			ca->n.presence_events++;
	}
	for (size_t i = 0; i < n; i++)
		wsrpc_session_unref(v[i]);
	free(v);
	free(text);
}

static void on_view(const struct ucs_msg *msg, void *arg)
{
	struct ca_user *cu = arg;
	struct ca *ca = cu->ca;
	size_t len = 0;
	const struct ucs_presence_view *v = ca->host->bus->msg_payload(msg, &len);
	const struct ucs_ud_snapshot *snap;
	char target[UCS_ID_MAX];
	json_t *e;

	if (!v || len < sizeof(*v) || strcmp(v->watcher.text, cu->id))
		return;
	snprintf(target, sizeof(target), "%.*s", (int)sizeof(v->presence.user.text) - 1,
		 v->presence.user.text);
	if (!ca_map_get(&cu->watching, target))
		return;
	snap = ca->udb->acquire();
	if (!snap)
		return;
	e = entry(ca, snap, v);
	if (e)
		fan_out(cu, target, e);
	json_decref(e);
	ca->udb->release(snap);
}

/* ---- watching ---------------------------------------------------------------- */

static int watch(struct ca_sess *s, const char *target)
{
	struct ca *ca = s->ca;
	struct ca_user *cu = s->user;
	uintptr_t count = (uintptr_t)ca_map_get(&cu->watching, target);
	struct ca_watch *w;
	char key[UCS_ID_MAX + 16];
	int err;

	if (ca_map_get(&s->watch, target))
		return 0;
	if (s->watch.n >= ca->conf.max_watch_per_session)
		return -ENOSPC;
	if (!cu->view_sub) {
		snprintf(key, sizeof(key), "watcher:%s", cu->id);
		err = ca->host->bus->subscribe(ca->self, &cu->view_sub, UCS_PRESENCE_VIEW_TYPE,
					       UCS_SUB_EXACT, key, on_view, cu);
		if (err)
			return err;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	err = ca_map_put(&s->watch, target, w);
	if (err) {
		free(w);
		return err;
	}
	if (!count) {
		err = ca_map_put(&cu->watching, target, (void *)(uintptr_t)1);
		if (!err) {
			err = ca->pres->watch(cu->id, target);
			if (err)
				ca_map_del(&cu->watching, target);
		}
	} else {
		ca_map_del(&cu->watching, target);
		err = ca_map_put(&cu->watching, target, (void *)(count + 1));
	}
	if (err)
		free(ca_map_del(&s->watch, target));
	return err;
}

/* tell: presence forgot her already (a deleted target) when false. */
static void unwatch(struct ca_sess *s, const char *target, bool tell)
{
	struct ca *ca = s->ca;
	struct ca_user *cu = s->user;
	struct ca_watch *w = ca_map_del(&s->watch, target);
	uintptr_t count;

	if (!w)
		return;
	free(w);
	count = (uintptr_t)ca_map_del(&cu->watching, target);
	if (count > 1)
		ca_map_put(&cu->watching, target, (void *)(count - 1));
	else if (count == 1 && tell)
		ca->pres->unwatch(cu->id, target);
}

static void unwatch_one(const char *key, void *val, void *arg)
{
	struct ca_sess *s = arg;
	char target[UCS_ID_MAX];

	(void)val;
	snprintf(target, sizeof(target), "%s", key);
	unwatch(s, target, true);
}

void ca_presence_session_close(struct ca_sess *s)
{
	if (s->user)
		ca_map_each(&s->watch, unwatch_one, s);
}

/* ---- the target changed or left ----------------------------------------------------- */

struct watchers {
	const char *target;
	char (*ids)[UCS_ID_MAX];
	size_t n, cap;
};

static void collect(const char *key, void *val, void *arg)
{
	struct ca_user *cu = val;
	struct watchers *w = arg;

	(void)key;
	if (!ca_map_get(&cu->watching, w->target))
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		char(*v)[UCS_ID_MAX] = realloc(w->ids, cap * sizeof(*v));

		if (!v)
			return;
		w->ids = v;
		w->cap = cap;
	}
	snprintf(w->ids[w->n++], UCS_ID_MAX, "%s", cu->id);
}

void ca_presence_user_changed(struct ca *ca, const char *target)
{
	const struct ucs_ud_snapshot *snap = ca->udb->acquire();
	bool gone = !snap || !ca->udb->user(snap, target);
	struct watchers w = {.target = target};

	/* the watchers first: sending may close sessions and free users */
	ca_map_each(&ca->users, collect, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct ca_user *cu = ca_user_find(ca, w.ids[i]);
		struct ucs_presence_view v = {.size = sizeof(v)};
		json_t *e = NULL;

		if (!cu)
			continue;
		if (gone)
			e = json_pack("{s:s,s:b}", "user", target, "removed", 1);
		else if (ca->pres->get(cu->id, target, &v) == 0)
			e = entry(ca, snap, &v);
		if (e)
			fan_out(cu, target, e);
		json_decref(e);
		/* a deleted target: presence dropped the relations itself */
		for (size_t j = 0; gone && (cu = ca_user_find(ca, w.ids[i])) && j < cu->n_sess; j++)
			unwatch(cu->sess[j], target, false);
	}
	free(w.ids);
	if (snap)
		ca->udb->release(snap);
}

/* ---- the methods ----------------------------------------------------------------------- */

CA_METHOD(ca_m_presence_set)
{
	static const char *const only[] = {"state", "note", "user", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_ud_snapshot *snap = NULL;
	const struct ucs_ud_user *t;
	struct ucs_presence_view v = {.size = sizeof(v)};
	const char *state = NULL, *note = NULL, *user = NULL;
	char msg[200];
	int st = -1, err;

	if (wsrpc_params_only(ws, id, params, only) ||
	    wsrpc_param_string(ws, id, params, "state", 0, 16, &state) == -EINVAL ||
	    wsrpc_param_string(ws, id, params, "note", 0, 255, &note) == -EINVAL ||
	    wsrpc_param_string(ws, id, params, "user", 0, 256, &user) == -EINVAL)
		return;
	if (!json_object_get(params, "state"))
		state = NULL;
	if (!json_object_get(params, "note"))
		note = NULL;
	if (!json_object_get(params, "user"))
		user = NULL;
	if (!state && !note) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "give state, note or both",
			    json_pack("{s:s}", "member", "state"));
		return;
	}
	if (state) {
		st = strcmp(state, "none") == 0 ? 0 : ca_state_from_name(state);
		if (st <= 0 && strcmp(state, "none")) {
			wsrpc_error(ws, id, WSRPC_INVALID_PARAMS,
				    "state: available, away, busy, dnd, offline or none",
				    json_pack("{s:s}", "member", "state"));
			return;
		}
	}
	snap = ca->udb->acquire();
	t = user ? ca_user_lookup(ca, snap, user) : ca->udb->user(snap, s->user->id);
	if (!t) {
		snprintf(msg, sizeof(msg), "no user %.64s", user ? user : s->user->id);
		wsrpc_error(ws, id, WSRPC_NOT_FOUND, msg, NULL);
		goto out;
	}
	err = ca->pres->set(s->user->id, t->id, st, note);
	switch (err) {
	case 0:
		if (ca->pres->get(s->user->id, t->id, &v) == 0)
			wsrpc_reply(ws, id,
				    json_pack("{s:o}", "presence", ca_jpresence(ca, &v.presence)));
		else
			wsrpc_reply(ws, id, json_object());
		break;
	case -EPERM:
		snprintf(msg, sizeof(msg), "you may not set the %s of %.64s",
			 state ? "presence" : "note", t->login);
		wsrpc_error(ws, id, WSRPC_FORBIDDEN, msg, json_pack("{s:s}", "user", t->id));
		break;
	case -ENOTSUP:
		wsrpc_error(ws, id, WSRPC_NOT_AVAILABLE, "presence is switched off", NULL);
		break;
	case -EINVAL:
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "invalid state or note",
			    json_pack("{s:s}", "member", note ? "note" : "state"));
		break;
	case -ENOENT:
		wsrpc_error(ws, id, WSRPC_NOT_FOUND, "no such user",
			    json_pack("{s:s}", "user", user ? user : s->user->id));
		break;
	default:
		wsrpc_error(ws, id, WSRPC_UNAVAILABLE, strerror(-err), NULL);
		break;
	}
out:
	if (snap)
		ca->udb->release(snap);
}

/* The users member: a list of logins or ids (1..USERS_MAX). */
static json_t *users_param(struct wsrpc_session *ws, json_t *id, json_t *params)
{
	json_t *users = json_object_get(params, "users"), *e;
	size_t i;

	if (!json_is_array(users) || json_array_size(users) > USERS_MAX)
		goto bad;
	json_array_foreach(users, i, e)
	{
		if (!json_is_string(e) || !json_string_length(e) || json_string_length(e) > 256)
			goto bad;
	}
	return users;
bad:
	wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "users: expected a list of logins or user ids",
		    json_pack("{s:s}", "member", "users"));
	return NULL;
}

CA_METHOD(ca_m_presence_subscribe)
{
	static const char *const only[] = {"users", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_ud_snapshot *snap;
	json_t *users, *e, *list, *missing, *refused;
	size_t i;

	if (wsrpc_params_only(ws, id, params, only) || !(users = users_param(ws, id, params)))
		return;
	snap = ca->udb->acquire();
	list = json_array();
	missing = json_array();
	refused = json_array();
	json_array_foreach(users, i, e)
	{
		const char *name = json_string_value(e);
		const struct ucs_ud_user *t = snap ? ca_user_lookup(ca, snap, name) : NULL;
		struct ucs_presence_view v = {.size = sizeof(v)};
		struct ca_watch *w;
		json_t *one;
		int err;

		if (!t || strlen(t->id) >= UCS_ID_MAX) {
			json_array_append_new(missing, CA_JS(name));
			continue;
		}
		err = watch(s, t->id);
		if (!err)
			err = ca->pres->get(s->user->id, t->id, &v);
		if (err) {
			json_array_append_new(
				refused, json_pack("{s:s,s:s}", "user", t->id, "reason",
						   err == -ENOSPC ? "too_large" : "unavailable"));
			continue;
		}
		one = entry(ca, snap, &v);
		w = ca_map_get(&s->watch, t->id);
		if (w)
			w->last = entry_hash(one);
		json_array_append_new(list, one);
	}
	wsrpc_reply(ws, id,
		    json_pack("{s:o,s:o,s:o}", "users", list, "not_found", missing, "refused",
			      refused));
	if (snap)
		ca->udb->release(snap);
}

CA_METHOD(ca_m_presence_unsubscribe)
{
	static const char *const only[] = {"users", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_ud_snapshot *snap;
	json_t *users, *e;
	size_t i;

	if (wsrpc_params_only(ws, id, params, only) || !(users = users_param(ws, id, params)))
		return;
	snap = ca->udb->acquire();
	json_array_foreach(users, i, e)
	{
		const char *name = json_string_value(e);
		const struct ucs_ud_user *t;

		if (ca_map_get(&s->watch, name)) {
			unwatch(s, name, true);
			continue;
		}
		t = snap ? ca_user_lookup(ca, snap, name) : NULL;
		if (t)
			unwatch(s, t->id, true);
	}
	wsrpc_reply(ws, id, json_object());
	if (snap)
		ca->udb->release(snap);
}
