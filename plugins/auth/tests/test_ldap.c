/*
 * plugins/auth/tests/test_ldap.c - the directory login's connection rules
 * against a fake directory: a loopback listener that accepts and counts
 * the requests it receives, and never answers.
 *
 * The configuration check refuses a plain ldap:// URL without StartTLS or
 * allow_plain, so only a settings struct built by hand can reach the last
 * guard: before any bind that carries a password, TLS must be in place on
 * the connection. With such settings not one byte may reach the directory
 * but the UnbindRequest of the goodbye (the service account's bind would
 * carry its password; the anonymous search and the user's bind would
 * follow). With allow_plain the same login does bind (the control), and a
 * list of URLs is tried one at a time, in order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth_ldap.h"
#include "check.h"

#define FAKE_MAX 8192

struct fake {
	int lfd;
	int port;
	int accepted;
	size_t len;
	unsigned char data[FAKE_MAX]; /* everything received */
	pthread_t thread;
};

/* The protocolOp tags of the LDAP messages received, as a string of hex
 * pairs ("60" BindRequest, "42" UnbindRequest, "77" ExtendedRequest). */
static void ops(const struct fake *f, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	out[0] = 0;
	while (i + 2 < f->len && f->data[i] == 0x30 && o + 3 < cap) {
		size_t len = f->data[i + 1], hdr = 2, at;

		if (len & 0x80) { /* long form */
			size_t n = len & 0x7f;

			len = 0;
			for (size_t k = 0; k < n && i + 2 + k < f->len; k++)
				len = len << 8 | f->data[i + 2 + k];
			hdr += n;
		}
		at = i + hdr; /* messageID: 02 len id */
		if (at + 1 >= f->len || f->data[at] != 0x02)
			break;
		at += 2 + f->data[at + 1];
		if (at >= f->len)
			break;
		o += (size_t)snprintf(out + o, cap - o, "%02x", f->data[at]);
		i += hdr + len;
	}
}

static int received(const struct fake *f, const char *s)
{
	return memmem(f->data, f->len, s, strlen(s)) != NULL;
}

/* Accepts connections for a while and counts what arrives. */
static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = {.fd = f->lfd, .events = POLLIN};

	while (poll(&p, 1, 700) > 0) {
		int c = accept(f->lfd, NULL, NULL);
		struct pollfd q = {.events = POLLIN};
		ssize_t n;

		if (c < 0)
			break;
		f->accepted++;
		q.fd = c;
		while (f->len < FAKE_MAX && poll(&q, 1, 300) > 0 &&
		       (n = read(c, f->data + f->len, FAKE_MAX - f->len)) > 0)
			f->len += (size_t)n;
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(f, 0, sizeof(*f));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(f->lfd >= 0);
	CHECK_INT(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
	CHECK_INT(listen(f->lfd, 8), ==, 0);
	getsockname(f->lfd, (struct sockaddr *)&sin, &len);
	f->port = ntohs(sin.sin_port);
	pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

/* A port nobody listens on (bound, then closed). */
static int dead_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static struct auth_ldap_conf conf(const char *urls, int allow_plain, const char *bind_dn)
{
	struct auth_ldap_conf c = {0};

	auth_ldap_set_urls(&c, urls);
	c.allow_plain = allow_plain;
	c.filter = strdup("(uid=%s)");
	c.bind_dn = strdup(bind_dn);
	c.bind_password = strdup(*bind_dn ? "service-secret" : "");
	auth_ldap_set_bases(&c, "dc=example,dc=com");
	c.timeout_ms = 600;
	return c;
}

static int login(const struct auth_ldap_conf *c, char *why, size_t whycap)
{
	struct auth_ldap_who who = {.login = "alice", .store_dn = "", .in_store = 1};
	char dn[AUTH_LDAP_DN_MAX];

	return auth_ldap_login(c, &who, "user-secret", 11, dn, sizeof(dn), why, whycap);
}

static void test_no_tls_nothing_sent(void)
{
	static const char *const binders[] = {"", "cn=search,dc=example,dc=com"};
	char url[64], why[256], got[64];

	for (size_t i = 0; i < 2; i++) {
		struct fake f;
		struct auth_ldap_conf c;

		fake_start(&f);
		snprintf(url, sizeof(url), "ldap://127.0.0.1:%d", f.port);
		c = conf(url, 0, binders[i]);
		CHECK_INT(login(&c, why, sizeof(why)), ==, -EHOSTUNREACH);
		CHECK_CONTAINS(why, "no TLS on the connection");
		fake_stop(&f);
		ops(&f, got, sizeof(got));
		CHECK_INT(f.accepted, ==, 1); /* it did connect ... */
		CHECK_STR(got, "42");	      /* ... and only said goodbye */
		CHECK(!received(&f, "secret"));
		auth_ldap_conf_free(&c);
	}
}

/* The control: allowed plain text talks to the directory (which never
 * answers: the conversation's time runs out). */
static void test_plain_allowed_talks(void)
{
	struct fake f;
	struct auth_ldap_conf c;
	char url[64], why[256], got[64];

	fake_start(&f);
	snprintf(url, sizeof(url), "ldap://127.0.0.1:%d", f.port);
	c = conf(url, 1, "cn=search,dc=example,dc=com");
	CHECK_INT(login(&c, why, sizeof(why)), ==, -EHOSTUNREACH);
	fake_stop(&f);
	ops(&f, got, sizeof(got));
	CHECK_INT(f.accepted, ==, 1);
	CHECK(strncmp(got, "60", 2) == 0); /* the service account's bind */
	CHECK(received(&f, "service-secret"));
	auth_ldap_conf_free(&c);
}

/* A list is tried in order, one URL at a time: the first is down, the
 * second one gets the conversation; without TLS it gets nothing. */
static void test_list_in_order(void)
{
	for (int plain = 0; plain < 2; plain++) {
		struct fake f;
		struct auth_ldap_conf c;
		char urls[128], why[256], got[64];
		int dead = dead_port();

		fake_start(&f);
		snprintf(urls, sizeof(urls), "ldaps://127.0.0.1:%d,ldap://127.0.0.1:%d", dead,
			 f.port);
		c = conf(urls, plain, "cn=search,dc=example,dc=com");
		CHECK_INT(c.n_urls, ==, 2);
		CHECK_INT(login(&c, why, sizeof(why)), ==, -EHOSTUNREACH);
		fake_stop(&f);
		ops(&f, got, sizeof(got));
		CHECK_INT(f.accepted, ==, 1);
		if (plain) {
			CHECK(strncmp(got, "60", 2) == 0);
		} else {
			CHECK_STR(got, "42");
			CHECK_CONTAINS(why, "Can't contact LDAP server");
			CHECK_CONTAINS(why, "no TLS on the connection");
		}
		auth_ldap_conf_free(&c);
	}
}

int main(void)
{
	test_no_tls_nothing_sent();
	test_plain_allowed_talks();
	test_list_in_order();
	auth_ldap_shutdown();
	return check_report();
}
