/*
 * plugins/auth/auth_limit.h - brute-force protection: failure counters,
 * growing delays and temporary lockouts.
 *
 * Someone guessing passwords either tries many passwords for one login, or
 * one password for many logins (a spray), from one address or from many.
 * So failures are counted twice, per login and per source address (IPv6
 * per prefix, /64 by default, because one host owns a whole /64). Each
 * failure delays the answer a little more (0, base, 2*base, 4*base, ...
 * up to a cap), which slows a single guesser down without bothering a
 * user who mistyped once. A login with login_max failures within the
 * window, or an address with addr_max, is locked out for lockout_ms:
 * every attempt fails at once, even with the right password, so the lock
 * cannot be used to test passwords. A success clears the login's counter
 * (not the address's: one good login must not whitewash a spray); a lockout
 * ends by itself when its time is up, or when an administrator releases it.
 *
 * Memory is bounded: the table holds at most max_entries counters. When it
 * is full, the least recently touched counter that is not locked goes
 * first (so a spray of random logins evicts its own counters, not the
 * lockouts it caused); only when every entry is a lockout does the one
 * closest to its end go. Counters older than the window are dropped by
 * auth_limit_expire(). Keys are hashed with SipHash under a random seed,
 * so chosen logins cannot pile up in one bucket.
 *
 * Nothing here reads a clock or starts a timer: every call takes `now`
 * (milliseconds, monotonic), so the tests drive time by hand and the
 * plugin arms one timer for auth_limit_expire()'s next due time.
 * Not thread-safe: the plugin uses it on the loop thread only.
 */
#ifndef AUTH_LIMIT_H
#define AUTH_LIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum auth_limit_scope {
	AUTH_LIMIT_LOGIN = 1,
	AUTH_LIMIT_ADDR = 2,
};

struct auth_limit_policy {
	uint32_t login_max;	/* failures of one login that lock it out; 0: never */
	uint32_t addr_max;	/* failures from one address that lock it out; 0: never */
	uint64_t window_ms;	/* failures older than this are forgotten */
	uint64_t lockout_ms;	/* how long a lockout lasts */
	uint32_t delay_base_ms; /* the second failure's delay; doubles; 0: no delays */
	uint32_t delay_max_ms;
	size_t max_entries; /* at least 1 */
};

/* What one failure did. */
struct auth_limit_verdict {
	uint32_t delay_ms;	 /* hold the answer back this long */
	uint32_t login_failures; /* counts after this failure (0: not counted) */
	uint32_t addr_failures;
	uint64_t login_locked_ms; /* > 0: this failure locked the login for this long */
	uint64_t addr_locked_ms;
};

struct auth_limit;

/* Called for every lockout that ended by itself (auth_limit_expire). */
typedef void(auth_limit_h)(int scope, const char *key, void *arg);

/* seed: 16 bytes for the key hash (random in the plugin). NULL on ENOMEM. */
struct auth_limit *auth_limit_new(const struct auth_limit_policy *policy, const uint8_t seed[16]);
void auth_limit_free(struct auth_limit *l);
/* A new policy (reload): counts stay, running lockouts keep their end. */
void auth_limit_set_policy(struct auth_limit *l, const struct auth_limit_policy *policy);

/* The milliseconds a key's lockout still lasts, 0 when it is not locked.
 * key NULL or "" is never locked. Does not create an entry. */
uint64_t auth_limit_locked(struct auth_limit *l, int scope, const char *key, uint64_t now);

/* Counts one failure for the login and the address (either may be NULL or
 * "": not counted) and says how long to delay and whether it locked. */
void auth_limit_fail(struct auth_limit *l, const char *login, const char *addr, uint64_t now,
		     struct auth_limit_verdict *out);

/* A successful login: its counter goes. */
void auth_limit_success(struct auth_limit *l, const char *login);

/* Drops the key's counter and lockout: 0, or -ENOENT when there was none. */
int auth_limit_release(struct auth_limit *l, int scope, const char *key);

/* Ends the lockouts whose time is up (calling h for each, h may be NULL)
 * and drops counters older than the window. Returns the next time (ms,
 * same clock) at which there is something to do, UINT64_MAX for never. */
uint64_t auth_limit_expire(struct auth_limit *l, uint64_t now, auth_limit_h *h, void *arg);

size_t auth_limit_size(const struct auth_limit *l);
/* Counters pushed out by the size cap since creation. */
uint64_t auth_limit_evictions(const struct auth_limit *l);

/* The counting key of a peer address: IPv4 as is ("192.0.2.1"; an
 * IPv4-mapped IPv6 address counts as its IPv4), IPv6 cut to its first
 * v6_prefix bits ("2001:db8:1:2::/64"). numeric receives the full address
 * for audit lines. Both "" (and -EAFNOSUPPORT) for NULL or another family. */
int auth_limit_addr_key(const struct sockaddr *sa, unsigned v6_prefix, char *key, size_t keycap,
			char *numeric, size_t numcap);

#endif
