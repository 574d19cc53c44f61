/*
 * plugins/client-api/ca_session.c - sessions, the users they belong to, and
 * the asynchronous operations a session waits for.
 *
 * A session becomes a user's on login or resume (ca_sess_attach) and stays
 * hers until it closes; the struct ca_user lives while she has a session.
 * Presence learns about each session through "presence.in.login" (its id is
 * "client-api/<wsrpc session id>"): logged in, idle, gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

struct ca_sess *ca_sess_new(struct ca *ca, struct wsrpc_session *ws)
{
	struct ca_sess *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ca = ca;
	s->ws = ws;
	s->id = wsrpc_session_id(ws);
	snprintf(s->tag, sizeof(s->tag), "client-api/%llu", (unsigned long long)s->id);
	s->ops.next = s->ops.prev = &s->ops;
	return s;
}

void ca_op_add(struct ca_sess *s, struct ca_op *op, json_t *id)
{
	op->sess = s;
	op->id = id ? json_incref(id) : NULL;
	op->next = &s->ops;
	op->prev = s->ops.prev;
	s->ops.prev->next = op;
	s->ops.prev = op;
}

static void after_unlink(struct ca_op *op)
{
	struct ca_op **pp;

	if (!op->resume)
		return;
	for (pp = &op->sess->ca->after; *pp; pp = &(*pp)->wnext)
		if (*pp == op) {
			*pp = op->wnext;
			break;
		}
	op->wnext = NULL;
	op->resume = NULL;
}

void ca_op_remove(struct ca_op *op)
{
	after_unlink(op);
	if (op->next) {
		op->prev->next = op->next;
		op->next->prev = op->prev;
		op->next = op->prev = NULL;
	}
	json_decref(op->id);
	op->id = NULL;
}

/* Takes the op off its session and releases it; what the answer needs
 * stays in *ws (a reference) and *id. */
static void op_end(struct ca_op *op, struct wsrpc_session **ws, json_t **id)
{
	*ws = wsrpc_session_ref(op->sess->ws);
	*id = json_incref(op->id);
	ca_op_remove(op);
	op->release(op);
}

int ca_op_reply(struct ca_op *op, json_t *result)
{
	struct wsrpc_session *ws;
	json_t *id;
	int err;

	op_end(op, &ws, &id);
	err = wsrpc_reply(ws, id, result);
	json_decref(id);
	wsrpc_session_unref(ws);
	return err;
}

int ca_op_error(struct ca_op *op, enum wsrpc_reason r, const char *message, json_t *data)
{
	struct wsrpc_session *ws;
	json_t *id;
	int err;

	op_end(op, &ws, &id);
	err = wsrpc_error(ws, id, r, message, data);
	json_decref(id);
	wsrpc_session_unref(ws);
	return err;
}

uint64_t ca_pw_tag(struct ca *ca, const char *user)
{
	char phc[512];
	uint64_t tag = 0;

	if (ca->udb->password_hash && ca->udb->password_hash(user, phc, sizeof(phc)) == 0) {
		/* never kept: only a digest of it, to notice that it changed */
		tag = ca_hash(phc, strlen(phc)) | 1;
		explicit_bzero(phc, sizeof(phc));
	}
	return tag;
}

void ca_publish_login(struct ca_sess *s, int logged_in)
{
	struct ca *ca = s->ca;
	const struct ucs_bus_api *bus = ca->host->bus;
	const struct ucs_msg_type *t = bus->type_find(UCS_PRESENCE_IN_LOGIN_TYPE, 1);
	struct ucs_presence_login in = {.size = sizeof(in)};
	struct ucs_msg *m;

	if (!t || !s->user)
		return;
	in.logged_in = logged_in;
	in.idle = s->idle;
	snprintf(in.user.text, sizeof(in.user.text), "%s", s->user->id);
	snprintf(in.session.text, sizeof(in.session.text), "%s", s->tag);
	if (bus->msg_new(t, NULL, &in, sizeof(in), &m) == 0)
		bus->publish(ca->self, m);
}

int ca_after_bus(struct ca_op *op, void (*fn)(struct ca_op *op))
{
	struct ca *ca = op->sess->ca;
	const struct ucs_bus_api *bus = ca->host->bus;
	uint64_t seq = ++ca->after_seq;
	struct ca_op **pp;
	struct ucs_msg *m;
	int err;

	err = bus->msg_new(ca->t_after, NULL, &seq, sizeof(seq), &m);
	if (!err)
		err = bus->publish(ca->self, m);
	if (err)
		return err;
	op->wseq = seq;
	op->resume = fn;
	op->wnext = NULL;
	for (pp = &ca->after; *pp; pp = &(*pp)->wnext)
		;
	*pp = op;
	return 0;
}

void ca_after_delivered(const struct ucs_msg *msg, void *arg)
{
	struct ca *ca = arg;
	size_t len = 0;
	const uint64_t *seq = ca->host->bus->msg_payload(msg, &len);

	if (!seq || len != sizeof(*seq))
		return;
	while (ca->after && ca->after->wseq <= *seq) {
		struct ca_op *op = ca->after;
		void (*fn)(struct ca_op * op) = op->resume;

		ca->after = op->wnext;
		op->wnext = NULL;
		op->resume = NULL;
		fn(op);
	}
}

struct ca_user *ca_user_find(struct ca *ca, const char *id)
{
	return ca_map_get(&ca->users, id);
}

int ca_sess_attach(struct ca_sess *s, const struct ucs_ud_user *u)
{
	struct ca *ca = s->ca;
	struct ca_user *cu = ca_user_find(ca, u->id);
	bool fresh = false;
	int err = 0;

	if (strlen(u->id) >= UCS_ID_MAX)
		return -ENAMETOOLONG;
	if (!cu) {
		cu = calloc(1, sizeof(*cu));
		if (!cu)
			return -ENOMEM;
		cu->ca = ca;
		snprintf(cu->id, sizeof(cu->id), "%s", u->id);
		cu->pw_tag = ca_pw_tag(ca, u->id);
		err = ca_map_put(&ca->users, cu->id, cu);
		if (err) {
			free(cu);
			return err;
		}
		fresh = true;
	}
	if (ca->conf.max_sessions_per_user && cu->n_sess >= ca->conf.max_sessions_per_user) {
		err = -EUSERS;
		goto out;
	}
	if (cu->n_sess == cu->cap_sess) {
		size_t cap = cu->cap_sess ? cu->cap_sess * 2 : 4;
		struct ca_sess **v = realloc(cu->sess, cap * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		cu->sess = v;
		cu->cap_sess = cap;
	}
	cu->sess[cu->n_sess++] = s;
	s->user = cu;
	/* no journal events is no reason to refuse the login (logged); a
	 * subscription that failed is tried again at each login of hers */
	if (!cu->journal_sub)
		ca_journal_user_new(cu);
	snprintf(s->login, sizeof(s->login), "%s", u->login);
	s->idle = false;
	wsrpc_session_authenticated(s->ws);
	ca_publish_login(s, 1);
out:
	if (err && fresh) {
		ca_map_del(&ca->users, cu->id);
		ca_journal_user_free(cu);
		free(cu->sess);
		free(cu);
	}
	return err;
}

static void user_free(struct ca *ca, struct ca_user *cu)
{
	const struct ucs_bus_api *bus = ca->host->bus;

	ca_map_del(&ca->users, cu->id);
	ca_journal_user_free(cu);
	if (cu->view_sub)
		bus->unsubscribe(cu->view_sub);
	ca_map_free(&cu->watching);
	free(cu->sess);
	free(cu);
}

/* Takes the session out of its user (who goes when it was her last). */
static void detach(struct ca_sess *s)
{
	struct ca_user *cu = s->user;

	if (!cu)
		return;
	ca_publish_login(s, 0);
	for (size_t i = 0; i < cu->n_sess; i++) {
		if (cu->sess[i] == s) {
			cu->sess[i] = cu->sess[--cu->n_sess];
			break;
		}
	}
	s->user = NULL;
	if (!cu->n_sess)
		user_free(s->ca, cu);
}

void ca_sess_free(struct ca_sess *s)
{
	/* every op cancels and frees itself; none calls back afterwards */
	while (s->ops.next != &s->ops) {
		struct ca_op *op = s->ops.next;

		ca_op_remove(op);
		op->cancel(op);
	}
	ca_presence_session_close(s);
	ca_lines_session_close(s);
	if (s->token[0])
		ca_token_release(s);
	detach(s);
	ca_map_free(&s->watch);
	free(s->lines);
	free(s);
}

void ca_user_revoke(struct ca *ca, const char *id, const char *why)
{
	struct ca_user *cu;

	ca_tokens_revoke_user(ca, id);
	/* closing calls on_close, which takes the session out of cu->sess and
	 * frees cu with the last one: take the sessions one by one from the end */
	while ((cu = ca_user_find(ca, id)) && cu->n_sess) {
		struct ca_sess *s = cu->sess[cu->n_sess - 1];
		struct wsrpc_session *ws = wsrpc_session_ref(s->ws);

		CA_LOG(ca, UCS_LOG_INFO, "session %llu of %s closed: %s", (unsigned long long)s->id,
		       s->login, why);
		ca->n.revoked++;
		wsrpc_session_close(ws, WSRPC_CLOSE_REVOKED, why);
		/* on_close has run and freed s (the data is gone); should the
		 * transport ever defer it, take the session off her by hand */
		if (wsrpc_session_data(ws) == s)
			detach(s);
		wsrpc_session_unref(ws);
	}
}

void ca_user_revoke_others(struct ca *ca, const char *id, struct ca_sess *keep, const char *why)
{
	struct ca_user *cu;
	size_t i;

	ca_tokens_revoke_user_but(ca, id, keep && keep->token[0] ? keep->token : NULL);
	/* closing one frees it (and cu with the last): look again each time */
	for (;;) {
		struct ca_sess *s = NULL;
		struct wsrpc_session *ws;

		cu = ca_user_find(ca, id);
		for (i = 0; cu && i < cu->n_sess; i++)
			if (cu->sess[i] != keep) {
				s = cu->sess[i];
				break;
			}
		if (!s)
			break;
		CA_LOG(ca, UCS_LOG_INFO, "session %llu of %s closed: %s", (unsigned long long)s->id,
		       s->login, why);
		ca->n.revoked++;
		ws = wsrpc_session_ref(s->ws);
		wsrpc_session_close(ws, WSRPC_CLOSE_REVOKED, why);
		if (wsrpc_session_data(ws) == s)
			detach(s);
		wsrpc_session_unref(ws);
	}
}

/* ---- what the methods share ------------------------------------------------------ */

const struct ucs_ud_user *ca_me(struct ca_sess *s, const struct ucs_ud_snapshot **snap)
{
	const struct ucs_userdb_api *udb = s->ca->udb;
	const struct ucs_ud_user *u;

	*snap = udb->acquire();
	if (!*snap)
		return NULL;
	u = s->user ? udb->user(*snap, s->user->id) : NULL;
	return u;
}

const struct ucs_ud_user *ca_user_lookup(struct ca *ca, const struct ucs_ud_snapshot *snap,
					 const char *name)
{
	const struct ucs_ud_user *u = ca->udb->user(snap, name);

	return u ? u : ca->udb->user_by_login(snap, name);
}

const struct ucs_lines_api *ca_lines_api(struct ca_sess *s, json_t *id)
{
	const struct ucs_lines_api *l =
		s->ca->host->service->find(UCS_LINES_SERVICE, UCS_LINES_VERSION, NULL);

	if (!l && id)
		wsrpc_error(s->ws, id, WSRPC_NOT_AVAILABLE, "no line manager is running", NULL);
	return l;
}
