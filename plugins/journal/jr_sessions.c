/*
 * plugins/journal/jr_sessions.c - which users have a client session now,
 * from "presence.in.login".
 *
 * The offline journal (manual 10.4.1.3, 20.2) keeps the calls a user got
 * while no client of hers was connected, to hand them over at her next
 * login. The client protocol publishes "presence.in.login" for every
 * session that comes or goes (logged_in 1/0, one session id each); the
 * tracker asks, when it writes an entry, whether its owner has any session
 * left. A set of (user, session) pairs in a chained hash by user; bounded
 * by JR_SESSIONS_MAX (a flood of fake sessions cannot eat the memory:
 * beyond it a login is not recorded, logged, and that user's entries are
 * marked offline - delivered at the next login instead of lost).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jr_track.h"

#define JR_SESSION_BUCKETS 1024
#define JR_SESSIONS_MAX	   200000

struct jr_session {
	struct jr_session *next;
	char user[UCS_ID_MAX];
	char session[UCS_ID_MAX];
};

struct jr_sessions {
	struct jr *j;
	struct ucs_sub *sub;
	size_t count;
	int full_logged;
	struct jr_session *buckets[JR_SESSION_BUCKETS];
};

static size_t bucket_of(const char *user)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % JR_SESSION_BUCKETS;
}

void jr_sessions_note(struct jr_sessions *s, const char *user, const char *session, int logged_in)
{
	struct jr_session **pp = &s->buckets[bucket_of(user)], *n;

	for (; (n = *pp); pp = &n->next)
		if (strcmp(n->user, user) == 0 && strcmp(n->session, session) == 0)
			break;
	if (!logged_in) {
		if (n) {
			*pp = n->next;
			free(n);
			s->count--;
		}
		return;
	}
	if (n)
		return; /* idle/active changes of a known session */
	if (s->count >= JR_SESSIONS_MAX || !(n = calloc(1, sizeof(*n)))) {
		if (!s->full_logged && s->j)
			s->j->host->log->log(
				s->j->self, UCS_LOG_WARNING,
				"%zu client sessions recorded: the session of %s is not; "
				"her calls go to the offline journal",
				s->count, user);
		s->full_logged = 1;
		return;
	}
	snprintf(n->user, sizeof(n->user), "%s", user);
	snprintf(n->session, sizeof(n->session), "%s", session);
	n->next = s->buckets[bucket_of(user)];
	s->buckets[bucket_of(user)] = n;
	s->count++;
	s->full_logged = 0;
}

bool jr_sessions_online(const struct jr_sessions *s, const char *user)
{
	if (!s)
		return false;
	for (const struct jr_session *n = s->buckets[bucket_of(user)]; n; n = n->next)
		if (strcmp(n->user, user) == 0)
			return true;
	return false;
}

size_t jr_sessions_count(const struct jr_sessions *s)
{
	return s ? s->count : 0;
}

static void on_login(const struct ucs_msg *msg, void *arg)
{
	struct jr_sessions *s = arg;
	const struct ucs_bus_api *bus = s->j->host->bus;
	size_t len = 0;
	const struct ucs_presence_login *in = bus->msg_payload(msg, &len);
	char user[UCS_ID_MAX], session[UCS_ID_MAX];

	if (!in || len < sizeof(*in))
		return;
	/* the payload is another plugin's: never trust its terminators */
	snprintf(user, sizeof(user), "%.*s", (int)strnlen(in->user.text, sizeof(user) - 1),
		 in->user.text);
	snprintf(session, sizeof(session), "%.*s",
		 (int)strnlen(in->session.text, sizeof(session) - 1), in->session.text);
	if (!user[0])
		return;
	jr_sessions_note(s, user, session, in->logged_in);
}

int jr_sessions_open(struct jr *j, struct jr_sessions **out)
{
	struct jr_sessions *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->j = j;
	if (j && j->host) {
		err = j->host->bus->subscribe(j->self, &s->sub, UCS_PRESENCE_IN_LOGIN_TYPE,
					      UCS_SUB_EXACT, NULL, on_login, s);
		if (err) {
			free(s);
			return err;
		}
	}
	*out = s;
	return 0;
}

void jr_sessions_close(struct jr_sessions *s)
{
	if (!s)
		return;
	if (s->sub)
		s->j->host->bus->unsubscribe(s->sub);
	for (size_t i = 0; i < JR_SESSION_BUCKETS; i++)
		while (s->buckets[i]) {
			struct jr_session *n = s->buckets[i];

			s->buckets[i] = n->next;
			free(n);
		}
	free(s);
}
