/*
 * plugins/client-api/ca_tokens.c - resume tokens: what lets a client that
 * lost its connection (a train tunnel, a laptop lid, a queue overflow) come
 * back without the password.
 *
 * A token is 24 bytes from getrandom() in base64url (32 characters, 192
 * bits): unguessable, so holding it is the proof. It is held by at most one
 * session; while held it does not expire, and when its session ends it may
 * be resumed for resume_ttl_s. Tokens are kept in memory only (a restart
 * ends them), never logged, and revoked by logout, by the deletion or
 * deactivation of their user and by a change of her password (a token
 * remembers a digest of the password hash it was issued under). A sweep
 * every minute drops expired ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ca.h"

#define TOKEN_BYTES 24

/* Each user's tokens are on her list (struct ca_tokuser), so revoking them
 * looks at hers only; tokens nobody holds are also on one list in the order
 * they were let go (ca->unheld), which the sweep reads from the front, and
 * a user keeps at most CA_UNHELD_PER_USER of them (a client that never
 * resumes and logs in again and again evicts its own oldest). */
struct ca_token {
	char user[UCS_ID_MAX];
	char key[48];
	struct ca_sess *holder; /* NULL: free to resume until expires_ms */
	uint64_t expires_ms;
	uint64_t pw_tag;		/* ca_pw_tag() when issued */
	struct ca_token *uprev, *unext; /* her list */
	struct ca_token *hprev, *hnext; /* ca->unheld, while unheld */
	struct ca_tokuser *tu;
};

struct ca_tokuser {
	struct ca_token *head, *tail;
	size_t n_unheld;
	char user[UCS_ID_MAX];
};

static void unheld_add(struct ca *ca, struct ca_token *t)
{
	t->hnext = NULL;
	t->hprev = ca->unheld_tail;
	if (ca->unheld_tail)
		ca->unheld_tail->hnext = t;
	else
		ca->unheld = t;
	ca->unheld_tail = t;
	t->tu->n_unheld++;
}

static void unheld_del(struct ca *ca, struct ca_token *t)
{
	if (t->hprev)
		t->hprev->hnext = t->hnext;
	else
		ca->unheld = t->hnext;
	if (t->hnext)
		t->hnext->hprev = t->hprev;
	else
		ca->unheld_tail = t->hprev;
	t->hprev = t->hnext = NULL;
	t->tu->n_unheld--;
}

/* Frees a token (the session holding it loses it). */
static void token_drop(struct ca *ca, struct ca_token *t)
{
	struct ca_tokuser *tu = t->tu;

	if (t->holder)
		t->holder->token[0] = '\0';
	else
		unheld_del(ca, t);
	if (t->uprev)
		t->uprev->unext = t->unext;
	else
		tu->head = t->unext;
	if (t->unext)
		t->unext->uprev = t->uprev;
	else
		tu->tail = t->uprev;
	ca_map_del(&ca->tokens, t->key);
	explicit_bzero(t->key, sizeof(t->key));
	free(t);
	if (!tu->head) {
		ca_map_del(&ca->tokusers, tu->user);
		free(tu);
	}
}

static struct ca_tokuser *tokuser(struct ca *ca, const char *user)
{
	struct ca_tokuser *tu = ca_map_get(&ca->tokusers, user);

	if (tu)
		return tu;
	tu = calloc(1, sizeof(*tu));
	if (!tu)
		return NULL;
	snprintf(tu->user, sizeof(tu->user), "%s", user);
	if (ca_map_put(&ca->tokusers, tu->user, tu)) {
		free(tu);
		return NULL;
	}
	return tu;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

int ca_token_issue(struct ca_sess *s)
{
	_Static_assert(TOKEN_BYTES % 3 == 0, "whole base64 groups");
	struct ca *ca = s->ca;
	unsigned char raw[TOKEN_BYTES];
	struct ca_tokuser *tu;
	struct ca_token *t;
	size_t got = 0;
	int err;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	t = calloc(1, sizeof(*t));
	tu = t ? tokuser(ca, s->user->id) : NULL;
	if (!tu) {
		free(t);
		return -ENOMEM;
	}
	snprintf(t->user, sizeof(t->user), "%s", s->user->id);
	t->holder = s;
	t->tu = tu;
	t->pw_tag = s->user->pw_tag;
	b64url(raw, sizeof(raw), t->key);
	explicit_bzero(raw, sizeof(raw));
	err = ca_map_put(&ca->tokens, t->key, t);
	if (err) {
		free(t);
		if (!tu->head) {
			ca_map_del(&ca->tokusers, tu->user);
			free(tu);
		}
		return err;
	}
	t->uprev = tu->tail;
	if (tu->tail)
		tu->tail->unext = t;
	else
		tu->head = t;
	tu->tail = t;
	snprintf(s->token, sizeof(s->token), "%s", t->key);
	return 0;
}

static bool expired(struct ca *ca, const struct ca_token *t)
{
	return !t->holder && t->expires_ms <= ca->host->timer->now_ms();
}

int ca_token_take(struct ca *ca, const char *token, struct ca_sess *s, char *user,
		  struct ca_sess **holder)
{
	struct ca_token *t = ca_map_get(&ca->tokens, token);

	*holder = NULL;
	if (!t)
		return -ENOENT;
	/* expired, or her password changed since (hers or an administrator's
	 * change: a token must not outlive the password it was won with) */
	if (expired(ca, t) || ca_pw_tag(ca, t->user) != t->pw_tag) {
		token_drop(ca, t);
		return -ENOENT;
	}
	*holder = t->holder;
	if (t->holder)
		t->holder->token[0] = '\0'; /* the old session loses it */
	else
		unheld_del(ca, t);
	t->holder = s;
	snprintf(s->token, sizeof(s->token), "%s", token);
	snprintf(user, UCS_ID_MAX, "%s", t->user);
	return 0;
}

void ca_token_release(struct ca_sess *s)
{
	struct ca *ca = s->ca;
	struct ca_token *t = ca_map_get(&ca->tokens, s->token);

	s->token[0] = '\0';
	if (!t || t->holder != s)
		return;
	t->holder = NULL;
	if (!ca->conf.resume_ttl_s) {
		token_drop(ca, t);
		return;
	}
	t->expires_ms = ca->host->timer->now_ms() + (uint64_t)ca->conf.resume_ttl_s * 1000;
	unheld_add(ca, t);
	/* her oldest unheld tokens go beyond the cap */
	while (t->tu->n_unheld > CA_UNHELD_PER_USER) {
		struct ca_token *o = t->tu->head;

		while (o->holder)
			o = o->unext;
		token_drop(ca, o);
	}
}

void ca_token_revoke(struct ca *ca, const char *token)
{
	struct ca_token *t = ca_map_get(&ca->tokens, token);

	if (t)
		token_drop(ca, t);
}

void ca_token_retag(struct ca_sess *s)
{
	struct ca_token *t = s->token[0] ? ca_map_get(&s->ca->tokens, s->token) : NULL;

	if (t && s->user)
		t->pw_tag = s->user->pw_tag;
}

void ca_tokens_revoke_user_but(struct ca *ca, const char *user, const char *keep)
{
	struct ca_tokuser *tu = ca_map_get(&ca->tokusers, user);
	struct ca_token *t, *next;

	/* token_drop frees tu with her last token: only t and next are read */
	for (t = tu ? tu->head : NULL; t; t = next) {
		next = t->unext;
		if (!keep || strcmp(t->key, keep) != 0)
			token_drop(ca, t);
	}
}

void ca_tokens_revoke_user(struct ca *ca, const char *user)
{
	ca_tokens_revoke_user_but(ca, user, NULL);
}

void ca_tokens_sweep(struct ca *ca)
{
	/* oldest release first; a shorter resume_ttl_s after a reload may
	 * leave one behind a later one for a minute: take() checks again */
	while (ca->unheld && expired(ca, ca->unheld))
		token_drop(ca, ca->unheld);
}

struct check {
	struct ca *ca;
	const struct ucs_ud_snapshot *snap;
	char (*gone)[UCS_ID_MAX];
	size_t n, cap;
};

static void check_one(const char *key, void *val, void *arg)
{
	struct check *c = arg;
	struct ca_tokuser *tu = val;
	const struct ucs_ud_user *u = c->ca->udb->user(c->snap, key);
	bool bad = !u || !(u->flags & UCS_UD_ACTIVE);
	uint64_t tag = bad ? 0 : ca_pw_tag(c->ca, key);

	for (struct ca_token *t = tu->head; t && !bad; t = t->unext)
		bad = t->pw_tag != tag;
	if (!bad || c->n == c->cap)
		return;
	snprintf(c->gone[c->n++], UCS_ID_MAX, "%s", key);
}

void ca_tokens_check(struct ca *ca, const struct ucs_ud_snapshot *snap)
{
	struct check c = {.ca = ca, .snap = snap};

	if (!snap || !ca->tokusers.n)
		return;
	c.cap = ca->tokusers.n;
	c.gone = calloc(c.cap, sizeof(*c.gone));
	if (!c.gone)
		return;
	ca_map_each(&ca->tokusers, check_one, &c);
	/* a user whose password changed loses the tokens issued before; one
	 * gone or switched off loses them all */
	for (size_t i = 0; i < c.n; i++) {
		struct ca_tokuser *tu = ca_map_get(&ca->tokusers, c.gone[i]);
		const struct ucs_ud_user *u = ca->udb->user(snap, c.gone[i]);
		uint64_t tag = u && (u->flags & UCS_UD_ACTIVE) ? ca_pw_tag(ca, c.gone[i]) : 0;
		struct ca_token *t, *next;
		bool all = !u || !(u->flags & UCS_UD_ACTIVE);

		if (all) {
			ca_tokens_revoke_user(ca, c.gone[i]);
			continue;
		}
		for (t = tu ? tu->head : NULL; t; t = next) {
			next = t->unext;
			if (t->pw_tag != tag)
				token_drop(ca, t);
		}
	}
	free(c.gone);
}

static void free_one(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

void ca_tokens_free(struct ca *ca)
{
	ca_map_each(&ca->tokens, free_one, NULL);
	ca_map_free(&ca->tokens);
	ca_map_each(&ca->tokusers, free_one, NULL);
	ca_map_free(&ca->tokusers);
	ca->unheld = ca->unheld_tail = NULL;
}
