/*
 * plugins/auth/auth_limit.c - the failure counter table (see auth_limit.h).
 *
 * A chained hash table of entries, each also on one of two lists: the
 * unlocked counters in least-recently-touched order (the eviction and
 * idle-drop order), and the running lockouts. The bucket array doubles when
 * the table holds more entries than buckets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_limit.h"

struct entry {
	struct entry *chain;	   /* next in the bucket */
	struct entry *prev, *next; /* on the unlocked LRU list or the locked list */
	uint64_t hash;
	uint64_t first_ms; /* first failure of the current window */
	uint64_t last_ms;  /* last failure */
	uint64_t locked_until;
	uint32_t failures;
	int scope;
	char key[]; /* NUL-terminated */
};

struct list {
	struct entry *head, *tail; /* head: most recent */
};

struct auth_limit {
	struct auth_limit_policy policy;
	uint8_t seed[16];
	struct entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t size;
	uint64_t evictions;
	struct list lru;
	struct list locked;
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), keyed with the table's seed ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void sip_rounds(uint64_t v[4], int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = ROTL(v[1], 13);
		v[1] ^= v[0];
		v[0] = ROTL(v[0], 32);
		v[2] += v[3];
		v[3] = ROTL(v[3], 16);
		v[3] ^= v[2];
		v[0] += v[3];
		v[3] = ROTL(v[3], 21);
		v[3] ^= v[0];
		v[2] += v[1];
		v[1] = ROTL(v[1], 17);
		v[1] ^= v[2];
		v[2] = ROTL(v[2], 32);
	}
}

static uint64_t siphash(const uint8_t seed[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = load64(seed), k1 = load64(seed + 8);
	uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
			 k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load64(in + i);
		v[3] ^= m;
		sip_rounds(v, 2);
		v[0] ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v[3] ^= b;
	sip_rounds(v, 2);
	v[0] ^= b;
	v[2] ^= 0xff;
	sip_rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t key_hash(const struct auth_limit *l, int scope, const char *key)
{
	uint8_t buf[512];
	size_t len = strlen(key);

	/* the scope is hashed with the key: "10.0.0.1" the login and the address differ */
	if (len + 1 > sizeof(buf))
		return siphash(l->seed, (const uint8_t *)key, len) ^ (uint64_t)scope;
	buf[0] = (uint8_t)scope;
	memcpy(buf + 1, key, len);
	return siphash(l->seed, buf, len + 1);
}

/* ---- lists ---- */

static void list_remove(struct list *li, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		li->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		li->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_push(struct list *li, struct entry *e)
{
	e->prev = NULL;
	e->next = li->head;
	if (li->head)
		li->head->prev = e;
	else
		li->tail = e;
	li->head = e;
}

static struct list *list_of(struct auth_limit *l, const struct entry *e)
{
	return e->locked_until ? &l->locked : &l->lru;
}

/* ---- the table ---- */

static struct entry *find(struct auth_limit *l, int scope, const char *key)
{
	uint64_t h;

	if (!key || !*key)
		return NULL;
	h = key_hash(l, scope, key);
	for (struct entry *e = l->buckets[h & (l->n_buckets - 1)]; e; e = e->chain)
		if (e->hash == h && e->scope == scope && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void drop(struct auth_limit *l, struct entry *e)
{
	struct entry **pp = &l->buckets[e->hash & (l->n_buckets - 1)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	list_remove(list_of(l, e), e);
	l->size--;
	free(e);
}

static void grow(struct auth_limit *l)
{
	size_t n = l->n_buckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < l->n_buckets; i++) {
		struct entry *e = l->buckets[i], *next;

		for (; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(l->buckets);
	l->buckets = b;
	l->n_buckets = n;
}

/* Evicts until room more entries fit under the cap. */
static void evict(struct auth_limit *l, size_t room)
{
	while (l->size + room > l->policy.max_entries) {
		struct entry *victim = l->lru.tail;

		if (!victim) {
			for (struct entry *e = l->locked.head; e; e = e->next)
				if (!victim || e->locked_until < victim->locked_until)
					victim = e;
		}
		if (!victim)
			return;
		drop(l, victim);
		l->evictions++;
	}
}

static struct entry *find_or_add(struct auth_limit *l, int scope, const char *key)
{
	struct entry *e = find(l, scope, key);
	size_t len;

	if (e || !key || !*key)
		return e;
	evict(l, 1);
	len = strlen(key);
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, len + 1);
	e->scope = scope;
	e->hash = key_hash(l, scope, key);
	e->chain = l->buckets[e->hash & (l->n_buckets - 1)];
	l->buckets[e->hash & (l->n_buckets - 1)] = e;
	list_push(&l->lru, e);
	l->size++;
	if (l->size > l->n_buckets)
		grow(l);
	return e;
}

static void sanitise(struct auth_limit_policy *p)
{
	if (p->max_entries < 1)
		p->max_entries = 1;
	if (p->delay_max_ms < p->delay_base_ms)
		p->delay_max_ms = p->delay_base_ms;
}

struct auth_limit *auth_limit_new(const struct auth_limit_policy *policy, const uint8_t seed[16])
{
	struct auth_limit *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->policy = *policy;
	sanitise(&l->policy);
	memcpy(l->seed, seed, sizeof(l->seed));
	l->n_buckets = 64;
	l->buckets = calloc(l->n_buckets, sizeof(*l->buckets));
	if (!l->buckets) {
		free(l);
		return NULL;
	}
	return l;
}

void auth_limit_free(struct auth_limit *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_buckets; i++) {
		struct entry *e = l->buckets[i], *next;

		for (; e; e = next) {
			next = e->chain;
			free(e);
		}
	}
	free(l->buckets);
	free(l);
}

void auth_limit_set_policy(struct auth_limit *l, const struct auth_limit_policy *policy)
{
	l->policy = *policy;
	sanitise(&l->policy);
	evict(l, 0);
}

uint64_t auth_limit_locked(struct auth_limit *l, int scope, const char *key, uint64_t now)
{
	struct entry *e = find(l, scope, key);

	if (!e || !e->locked_until || e->locked_until <= now)
		return 0;
	return e->locked_until - now;
}

/* Counts one failure of one key; the lockout length when it locked now. */
static uint64_t count(struct auth_limit *l, int scope, const char *key, uint32_t max, uint64_t now,
		      uint32_t *failures)
{
	struct entry *e = find_or_add(l, scope, key);
	uint64_t locked = 0;

	*failures = 0;
	if (!e)
		return 0;
	if (!e->locked_until && (e->failures == 0 || now - e->first_ms >= l->policy.window_ms)) {
		e->failures = 0;
		e->first_ms = now;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now;
	list_remove(list_of(l, e), e);
	if (!e->locked_until && max && e->failures >= max && l->policy.lockout_ms) {
		e->locked_until = now + l->policy.lockout_ms;
		locked = l->policy.lockout_ms;
	}
	list_push(list_of(l, e), e);
	*failures = e->failures;
	return locked;
}

static uint32_t delay_for(const struct auth_limit_policy *p, uint32_t failures)
{
	uint64_t d;

	if (failures < 2 || !p->delay_base_ms)
		return 0;
	if (failures - 2 >= 32)
		return p->delay_max_ms;
	d = (uint64_t)p->delay_base_ms << (failures - 2);
	return d > p->delay_max_ms ? p->delay_max_ms : (uint32_t)d;
}

void auth_limit_fail(struct auth_limit *l, const char *login, const char *addr, uint64_t now,
		     struct auth_limit_verdict *out)
{
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (login && *login)
		out->login_locked_ms = count(l, AUTH_LIMIT_LOGIN, login, l->policy.login_max, now,
					     &out->login_failures);
	if (addr && *addr)
		out->addr_locked_ms = count(l, AUTH_LIMIT_ADDR, addr, l->policy.addr_max, now,
					    &out->addr_failures);
	n = out->login_failures > out->addr_failures ? out->login_failures : out->addr_failures;
	out->delay_ms = delay_for(&l->policy, n);
}

void auth_limit_success(struct auth_limit *l, const char *login)
{
	struct entry *e = find(l, AUTH_LIMIT_LOGIN, login);

	if (e)
		drop(l, e);
}

int auth_limit_release(struct auth_limit *l, int scope, const char *key)
{
	struct entry *e = find(l, scope, key);

	if (!e)
		return -ENOENT;
	drop(l, e);
	return 0;
}

uint64_t auth_limit_expire(struct auth_limit *l, uint64_t now, auth_limit_h *h, void *arg)
{
	uint64_t next = UINT64_MAX;
	struct entry *e, *n;

	for (e = l->locked.head; e; e = n) {
		n = e->next;
		if (e->locked_until <= now) {
			if (h)
				h(e->scope, e->key, arg);
			drop(l, e);
		} else if (e->locked_until < next) {
			next = e->locked_until;
		}
	}
	while ((e = l->lru.tail) && now - e->last_ms >= l->policy.window_ms)
		drop(l, e);
	if (e && e->last_ms + l->policy.window_ms < next)
		next = e->last_ms + l->policy.window_ms;
	return next;
}

size_t auth_limit_size(const struct auth_limit *l)
{
	return l->size;
}

uint64_t auth_limit_evictions(const struct auth_limit *l)
{
	return l->evictions;
}

int auth_limit_addr_key(const struct sockaddr *sa, unsigned v6_prefix, char *key, size_t keycap,
			char *numeric, size_t numcap)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (keycap)
		key[0] = 0;
	if (numcap)
		numeric[0] = 0;
	if (!sa)
		return -EAFNOSUPPORT;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
		snprintf(key, keycap, "%s", text);
		snprintf(numeric, numcap, "%s", text);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text));
		snprintf(key, keycap, "%s", text);
		snprintf(numeric, numcap, "%s", text);
		return 0;
	}
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(numeric, numcap, "%s", text);
	if (v6_prefix > 128)
		v6_prefix = 128;
	for (unsigned bit = v6_prefix; bit < 128; bit++)
		a6.s6_addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(key, keycap, "%s/%u", text, v6_prefix);
	return 0;
}
