/*
 * plugins/auth/tests/test_limit.c - the brute-force limiter (auth_limit.c)
 * with a hand-driven clock: delays grow and cap, a login locks after N
 * failures within the window and not with them spread wider, addresses
 * count separately from logins, success clears only the login, release,
 * expiry (with the callback and the next due time), the table cap and its
 * eviction order, and the address keys of IPv4, IPv6 /64 and mapped
 * addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "auth_limit.h"
#include "check.h"

static const uint8_t seed[16] = "0123456789abcdef";

static struct auth_limit_policy policy(void)
{
	return (struct auth_limit_policy){.login_max = 5,
					  .addr_max = 20,
					  .window_ms = 60000,
					  .lockout_ms = 300000,
					  .delay_base_ms = 250,
					  .delay_max_ms = 2000,
					  .max_entries = 1000};
}

static void test_delays_and_lockout(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l = auth_limit_new(&p, seed);
	struct auth_limit_verdict v;
	static const uint32_t want[] = {0, 250, 500, 1000, 2000};
	uint64_t t = 1000;

	for (int i = 0; i < 5; i++) {
		CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:alice", t), ==, 0);
		auth_limit_fail(l, "user:alice", "192.0.2.1", t, &v);
		CHECK_INT(v.delay_ms, ==, want[i]);
		CHECK_INT(v.login_failures, ==, i + 1);
		CHECK_INT(v.addr_failures, ==, i + 1);
		CHECK_INT(v.login_locked_ms, ==, i == 4 ? 300000 : 0);
		CHECK_INT(v.addr_locked_ms, ==, 0);
		t += 100;
	}
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:alice", t), ==, 300000 - 100);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:bob", t), ==, 0);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_ADDR, "192.0.2.1", t), ==, 0);
	/* the same text as another scope is another key */
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_ADDR, "user:alice", t), ==, 0);
	/* a failure during the lockout does not lock again nor extend it */
	auth_limit_fail(l, "user:alice", NULL, t, &v);
	CHECK_INT(v.login_locked_ms, ==, 0);
	CHECK_INT(v.login_failures, ==, 6);
	CHECK_INT(v.delay_ms, ==, 2000); /* capped */
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:alice", t), ==, 300000 - 100);
	/* lookups do not create counters */
	CHECK_INT(auth_limit_size(l), ==, 2);
	auth_limit_free(l);
}

static void test_window(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l = auth_limit_new(&p, seed);
	struct auth_limit_verdict v;
	uint64_t t = 0;

	/* four failures, then a pause longer than the window: counting restarts */
	for (int i = 0; i < 4; i++)
		auth_limit_fail(l, "user:carol", NULL, t += 1000, &v);
	CHECK_INT(v.login_failures, ==, 4);
	t += 60000;
	auth_limit_fail(l, "user:carol", NULL, t, &v);
	CHECK_INT(v.login_failures, ==, 1);
	CHECK_INT(v.login_locked_ms, ==, 0);
	CHECK_INT(v.delay_ms, ==, 0);
	/* spread over more than the window from the first failure: no lockout */
	for (int i = 0; i < 4; i++)
		auth_limit_fail(l, "user:carol", NULL, t += 15000, &v);
	CHECK_INT(v.login_failures, ==, 1);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:carol", t), ==, 0);
	auth_limit_free(l);
}

static void test_addresses(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l = auth_limit_new(&p, seed);
	struct auth_limit_verdict v;
	char login[32];
	uint64_t t = 5;

	/* a spray: 20 logins, one failure each, from one address */
	for (int i = 0; i < 20; i++) {
		snprintf(login, sizeof(login), "user:u%d", i);
		auth_limit_fail(l, login, "198.51.100.7", t, &v);
		CHECK_INT(v.login_failures, ==, 1);
		CHECK_INT(v.addr_failures, ==, i + 1);
		CHECK_INT(v.addr_locked_ms, ==, i == 19 ? 300000 : 0);
		CHECK_INT(v.login_locked_ms, ==, 0);
	}
	CHECK_INT(v.delay_ms, ==, 2000); /* the address count drives the delay */
	CHECK(auth_limit_locked(l, AUTH_LIMIT_ADDR, "198.51.100.7", t) > 0);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_ADDR, "198.51.100.8", t), ==, 0);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:u0", t), ==, 0);
	/* success clears the login, not the address */
	auth_limit_fail(l, "user:dave", "203.0.113.1", t, &v);
	auth_limit_fail(l, "user:dave", "203.0.113.1", t, &v);
	CHECK_INT(v.login_failures, ==, 2);
	auth_limit_success(l, "user:dave");
	auth_limit_fail(l, "user:dave", "203.0.113.1", t, &v);
	CHECK_INT(v.login_failures, ==, 1);
	CHECK_INT(v.addr_failures, ==, 3);
	/* no address: only the login counts */
	auth_limit_fail(l, "user:erin", NULL, t, &v);
	CHECK_INT(v.addr_failures, ==, 0);
	auth_limit_fail(l, "user:erin", "", t, &v);
	CHECK_INT(v.addr_failures, ==, 0);
	CHECK_INT(v.login_failures, ==, 2);
	auth_limit_free(l);
}

struct released {
	int n;
	char last[64];
	int scope;
};

static void on_release(int scope, const char *key, void *arg)
{
	struct released *r = arg;

	r->n++;
	r->scope = scope;
	snprintf(r->last, sizeof(r->last), "%s", key);
}

static void test_release_and_expiry(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l = auth_limit_new(&p, seed);
	struct auth_limit_verdict v;
	struct released r = {0};
	uint64_t t = 100, next;

	CHECK_INT(auth_limit_expire(l, t, on_release, &r), ==, UINT64_MAX);
	for (int i = 0; i < 5; i++)
		auth_limit_fail(l, "user:frank", "192.0.2.9", t, &v);
	CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:frank", t) > 0);
	CHECK_INT(auth_limit_release(l, AUTH_LIMIT_LOGIN, "user:frank"), ==, 0);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:frank", t), ==, 0);
	CHECK_INT(auth_limit_release(l, AUTH_LIMIT_LOGIN, "user:frank"), ==, -ENOENT);
	/* released: counting starts from zero */
	auth_limit_fail(l, "user:frank", NULL, t, &v);
	CHECK_INT(v.login_failures, ==, 1);
	CHECK_INT(r.n, ==, 0);

	/* lock again and let it expire */
	for (int i = 0; i < 4; i++)
		auth_limit_fail(l, "user:frank", NULL, t, &v);
	CHECK_INT(v.login_locked_ms, ==, 300000);
	/* first due: the address counter (5 failures at t) goes idle */
	next = auth_limit_expire(l, t + 1, on_release, &r);
	CHECK_INT(next, ==, t + 60000);
	CHECK_INT(auth_limit_size(l), ==, 2);
	next = auth_limit_expire(l, t + 60000, on_release, &r);
	CHECK_INT(next, ==, t + 300000);
	CHECK_INT(auth_limit_size(l), ==, 1);
	CHECK_INT(r.n, ==, 0);
	next = auth_limit_expire(l, t + 299999, on_release, &r);
	CHECK_INT(r.n, ==, 0);
	CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:frank", t + 299999) > 0);
	/* locked() alone already tells the truth at the end time */
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:frank", t + 300000), ==, 0);
	next = auth_limit_expire(l, t + 300000, on_release, &r);
	CHECK_INT(r.n, ==, 1);
	CHECK_INT(r.scope, ==, AUTH_LIMIT_LOGIN);
	CHECK_STR(r.last, "user:frank");
	CHECK_INT(next, ==, UINT64_MAX);
	CHECK_INT(auth_limit_size(l), ==, 0);
	/* after expiry counting starts over */
	auth_limit_fail(l, "user:frank", NULL, t + 300001, &v);
	CHECK_INT(v.login_failures, ==, 1);
	/* an idle counter's due time is its last failure plus the window */
	CHECK_INT(auth_limit_expire(l, t + 300002, on_release, &r), ==, t + 300001 + 60000);
	CHECK_INT(auth_limit_expire(l, t + 300001 + 60000, on_release, &r), ==, UINT64_MAX);
	CHECK_INT(auth_limit_size(l), ==, 0);
	CHECK_INT(r.n, ==, 1);

	/* an address lockout expires with its own scope */
	for (int i = 0; i < 20; i++)
		auth_limit_fail(l, NULL, "2001:db8::/64", 1000000, &v);
	CHECK_INT(v.addr_locked_ms, ==, 300000);
	auth_limit_expire(l, 1300000, on_release, &r);
	CHECK_INT(r.n, ==, 2);
	CHECK_INT(r.scope, ==, AUTH_LIMIT_ADDR);
	CHECK_STR(r.last, "2001:db8::/64");
	auth_limit_free(l);
}

static void test_cap(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l;
	struct auth_limit_verdict v;
	char login[32];

	p.max_entries = 100;
	p.login_max = 3;
	l = auth_limit_new(&p, seed);
	/* ten locked logins */
	for (int i = 0; i < 10; i++) {
		snprintf(login, sizeof(login), "user:locked%d", i);
		for (int k = 0; k < 3; k++)
			auth_limit_fail(l, login, NULL, 10, &v);
	}
	/* a spray of 100000 random logins: the table stays at its cap */
	for (int i = 0; i < 100000; i++) {
		snprintf(login, sizeof(login), "user:spray%d", i);
		auth_limit_fail(l, login, NULL, 20, &v);
		if (auth_limit_size(l) > 100)
			break;
	}
	CHECK_INT(auth_limit_size(l), ==, 100);
	CHECK_INT(auth_limit_evictions(l), ==, 100000 + 10 - 100);
	/* the lockouts survived the spray: unlocked counters went first */
	for (int i = 0; i < 10; i++) {
		snprintf(login, sizeof(login), "user:locked%d", i);
		CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, login, 30) > 0);
	}
	/* the most recent counters are there, the oldest not */
	auth_limit_fail(l, "user:spray99999", NULL, 30, &v);
	CHECK_INT(v.login_failures, ==, 2);
	auth_limit_free(l);

	/* a table full of lockouts gives up the one that ends first */
	p.max_entries = 3;
	p.login_max = 1;
	l = auth_limit_new(&p, seed);
	auth_limit_fail(l, "user:a", NULL, 300, &v);
	auth_limit_fail(l, "user:b", NULL, 100, &v);
	auth_limit_fail(l, "user:c", NULL, 200, &v);
	auth_limit_fail(l, "user:d", NULL, 400, &v);
	CHECK_INT(auth_limit_size(l), ==, 3);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:b", 401), ==, 0);
	CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:a", 401) > 0);
	CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:c", 401) > 0);
	CHECK(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:d", 401) > 0);
	/* a smaller cap by reload evicts at once */
	p.max_entries = 1;
	auth_limit_set_policy(l, &p);
	CHECK_INT(auth_limit_size(l), ==, 1);
	auth_limit_free(l);
}

static void test_disabled(void)
{
	struct auth_limit_policy p = policy();
	struct auth_limit *l;
	struct auth_limit_verdict v;

	p.login_max = 0;
	p.addr_max = 0;
	p.delay_base_ms = 0;
	l = auth_limit_new(&p, seed);
	for (int i = 0; i < 50; i++)
		auth_limit_fail(l, "user:g", "192.0.2.50", 1, &v);
	CHECK_INT(v.delay_ms, ==, 0);
	CHECK_INT(v.login_locked_ms + v.addr_locked_ms, ==, 0);
	CHECK_INT(auth_limit_locked(l, AUTH_LIMIT_LOGIN, "user:g", 2), ==, 0);
	/* a huge count does not overflow the delay */
	p.delay_base_ms = 1000;
	p.delay_max_ms = 600000;
	auth_limit_set_policy(l, &p);
	auth_limit_fail(l, "user:g", NULL, 3, &v);
	CHECK_INT(v.delay_ms, ==, 600000);
	auth_limit_free(l);
}

static void key_of(const char *text, unsigned prefix, char *key, char *num)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		ss.ss_family = AF_UNIX;
	auth_limit_addr_key((struct sockaddr *)&ss, prefix, key, 64, num, 64);
}

static void test_addr_keys(void)
{
	char key[64], num[64];

	key_of("192.0.2.33", 64, key, num);
	CHECK_STR(key, "192.0.2.33");
	CHECK_STR(num, "192.0.2.33");
	key_of("::ffff:192.0.2.33", 64, key, num);
	CHECK_STR(key, "192.0.2.33");
	CHECK_STR(num, "192.0.2.33");
	key_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, key, num);
	CHECK_STR(key, "2001:db8:1:2::/64");
	CHECK_STR(num, "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	key_of("2001:db8:1:2::1", 64, key, num);
	CHECK_STR(key, "2001:db8:1:2::/64");
	key_of("2001:db8:1:3::1", 64, key, num);
	CHECK_STR(key, "2001:db8:1:3::/64");
	key_of("2001:db8:1:3::1", 48, key, num);
	CHECK_STR(key, "2001:db8:1::/48");
	key_of("2001:db8:1:3::1", 128, key, num);
	CHECK_STR(key, "2001:db8:1:3::1/128");
	key_of("2001:db8:1:3::1", 60, key, num);
	CHECK_STR(key, "2001:db8:1::/60");
	key_of("::1", 64, key, num);
	CHECK_STR(key, "::/64");
	key_of("unix", 64, key, num);
	CHECK_STR(key, "");
	CHECK_STR(num, "");
	CHECK_INT(auth_limit_addr_key(NULL, 64, key, 64, num, 64), ==, -EAFNOSUPPORT);
	CHECK_STR(key, "");
}

int main(void)
{
	test_delays_and_lockout();
	test_window();
	test_addresses();
	test_release_and_expiry();
	test_cap();
	test_disabled();
	test_addr_keys();
	return check_report();
}
