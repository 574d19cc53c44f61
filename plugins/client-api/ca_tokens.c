/*
 * plugins/client-api/ca_tokens.c - resume tokens: what lets a client that
 * lost its connection (a train tunnel, a laptop lid, a queue overflow) come
 * back without the password.
 *
 * A token is 24 bytes from getrandom() in base64url (32 characters, 192
 * bits): unguessable, so holding it is the proof. It is held by at most one
 * session; while held it does not expire, and when its session ends it may
 * be resumed for resume_ttl_s. Tokens are kept in memory only (a restart
 * ends them), never logged, and revoked by logout and by the deletion or
 * deactivation of their user. A sweep every minute drops expired ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ca.h"

#define TOKEN_BYTES 24

struct ca_token {
	char user[UCS_ID_MAX];
	struct ca_sess *holder; /* NULL: free to resume until expires_ms */
	uint64_t expires_ms;
};

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
	unsigned char raw[TOKEN_BYTES];
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
	if (!t)
		return -ENOMEM;
	snprintf(t->user, sizeof(t->user), "%s", s->user->id);
	t->holder = s;
	b64url(raw, sizeof(raw), s->token);
	explicit_bzero(raw, sizeof(raw));
	err = ca_map_put(&s->ca->tokens, s->token, t);
	if (err) {
		s->token[0] = '\0';
		free(t);
	}
	return err;
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
	if (expired(ca, t)) {
		free(ca_map_del(&ca->tokens, token));
		return -ENOENT;
	}
	*holder = t->holder;
	if (t->holder)
		t->holder->token[0] = '\0'; /* the old session loses it */
	t->holder = s;
	snprintf(s->token, sizeof(s->token), "%s", token);
	snprintf(user, UCS_ID_MAX, "%s", t->user);
	return 0;
}

void ca_token_release(struct ca_sess *s)
{
	struct ca *ca = s->ca;
	struct ca_token *t = ca_map_get(&ca->tokens, s->token);

	if (t && t->holder == s) {
		t->holder = NULL;
		t->expires_ms = ca->host->timer->now_ms() + (uint64_t)ca->conf.resume_ttl_s * 1000;
		if (!ca->conf.resume_ttl_s)
			free(ca_map_del(&ca->tokens, s->token));
	}
	s->token[0] = '\0';
}

void ca_token_revoke(struct ca *ca, const char *token)
{
	free(ca_map_del(&ca->tokens, token));
}

struct sweep {
	struct ca *ca;
	const char *user; /* NULL: expired ones */
};

static void sweep_one(const char *key, void *val, void *arg)
{
	struct sweep *w = arg;
	struct ca_token *t = val;

	if (w->user ? strcmp(t->user, w->user) == 0 : expired(w->ca, t)) {
		if (t->holder)
			t->holder->token[0] = '\0';
		free(ca_map_del(&w->ca->tokens, key));
	}
}

void ca_tokens_revoke_user(struct ca *ca, const char *user)
{
	struct sweep w = {ca, user};

	ca_map_each(&ca->tokens, sweep_one, &w);
}

void ca_tokens_sweep(struct ca *ca)
{
	struct sweep w = {ca, NULL};

	ca_map_each(&ca->tokens, sweep_one, &w);
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
}
