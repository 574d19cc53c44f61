/*
 * tests/unit/net/net_srv_parse.c - SRV answers from DNS, parsed.
 *
 * No DNS server is reachable from the tests, so the answers are built here
 * in wire format (RFC 1035 section 4, RFC 2782 rdata) and handed to
 * core_srv_parse, the same function resolve_srv uses on what res_nquery
 * returns: ordering, the "." target (alone and among others), name
 * compression, other record types mixed in, and the malformed cases a
 * hostile or broken server sends (a name running past its rdata, too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "net.h"

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void put16(struct msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

static void put32(struct msg *m, unsigned long v)
{
	put16(m, (unsigned)(v >> 16));
	put16(m, (unsigned)(v & 0xffff));
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		m->b[m->n++] = (uint8_t)len;
		memcpy(m->b + m->n, name, len);
		m->n += len;
		name += len + (dot ? 1 : 0);
	}
	m->b[m->n++] = 0;
}

/* Header and the question "_xmpp-server._tcp.example.com SRV IN". */
static void begin(struct msg *m, unsigned answers)
{
	m->n = 0;
	put16(m, 0x1234); /* id */
	put16(m, 0x8180); /* response, recursion desired and available, no error */
	put16(m, 1);	  /* questions */
	put16(m, answers);
	put16(m, 0); /* authority */
	put16(m, 0); /* additional */
	put_name(m, "_xmpp-server._tcp.example.com");
	put16(m, 33); /* SRV */
	put16(m, 1);  /* IN */
}

/* One SRV answer whose owner is a pointer to the question name (offset 12). */
static void srv(struct msg *m, unsigned prio, unsigned weight, unsigned port, const char *target)
{
	size_t rdlen_at;

	put16(m, 0xc00c);
	put16(m, 33);
	put16(m, 1);
	put32(m, 3600);
	rdlen_at = m->n;
	put16(m, 0);
	put16(m, prio);
	put16(m, weight);
	put16(m, port);
	if (strcmp(target, ".") == 0)
		m->b[m->n++] = 0;
	else
		put_name(m, target);
	m->b[rdlen_at] = (uint8_t)((m->n - rdlen_at - 2) >> 8);
	m->b[rdlen_at + 1] = (uint8_t)(m->n - rdlen_at - 2);
}

static int parse(const struct msg *m, struct ucs_srv_record **recs, size_t *n)
{
	/* an exact-size copy, so ASan sees a read past the end */
	uint8_t *copy = malloc(m->n);
	int err;

	memcpy(copy, m->b, m->n);
	err = core_srv_parse(copy, m->n, recs, n);
	free(copy);
	return err;
}

int main(void)
{
	struct ucs_srv_record *r;
	struct msg m;
	size_t n;

	/* sorted by priority, then by descending weight */
	begin(&m, 4);
	srv(&m, 20, 0, 5269, "backup.example.com");
	srv(&m, 10, 10, 5269, "light.example.com");
	srv(&m, 10, 60, 5270, "heavy.example.com");
	srv(&m, 5, 0, 5271, "first.example.com");
	CHECK_INT(parse(&m, &r, &n), ==, 0);
	CHECK_INT(n, ==, 4);
	if (n == 4) {
		CHECK_STR(r[0].target, "first.example.com");
		CHECK_INT(r[0].port, ==, 5271);
		CHECK_STR(r[1].target, "heavy.example.com");
		CHECK_INT(r[1].weight, ==, 60);
		CHECK_STR(r[2].target, "light.example.com");
		CHECK_STR(r[3].target, "backup.example.com");
		CHECK_INT(r[3].priority, ==, 20);
	}
	free(r);

	/* a target compressed against the question name */
	begin(&m, 1);
	put16(&m, 0xc00c);
	put16(&m, 33);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 6 + 6);
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 443);
	m.b[m.n++] = 3;
	memcpy(m.b + m.n, "xmp", 3);
	m.n += 3;
	put16(&m, 0xc000 | 30); /* "example.com" inside the question name */
	CHECK_INT(parse(&m, &r, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	if (n == 1)
		CHECK_STR(r[0].target, "xmp.example.com");
	free(r);

	/* RFC 2782: a lone "." means the service is not offered */
	begin(&m, 1);
	srv(&m, 0, 0, 0, ".");
	CHECK_INT(parse(&m, &r, &n), ==, -ENOENT);
	CHECK(r == NULL);
	CHECK_INT(n, ==, 0);

	/* among other records "." is no target: dropped, not returned */
	begin(&m, 3);
	srv(&m, 0, 0, 0, ".");
	srv(&m, 10, 5, 5269, "sip.example.com");
	srv(&m, 5, 0, 0, ".");
	CHECK_INT(parse(&m, &r, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	if (n == 1)
		CHECK_STR(r[0].target, "sip.example.com");
	free(r);

	/* only "." records, more than one: no service either */
	begin(&m, 2);
	srv(&m, 0, 0, 0, ".");
	srv(&m, 1, 0, 0, ".");
	CHECK_INT(parse(&m, &r, &n), ==, -ENOENT);
	CHECK(r == NULL);

	/* a target whose labels run past its rdata into the next record (rdlen
	 * says 7: the fixed fields and one label-length byte) is skipped */
	begin(&m, 2);
	put16(&m, 0xc00c);
	put16(&m, 33);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 7);
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 80);
	m.b[m.n++] = 2; /* "a label of 2": the next record's first bytes */
	srv(&m, 10, 5, 5269, "sip.example.com");
	CHECK_INT(parse(&m, &r, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	if (n == 1)
		CHECK_STR(r[0].target, "sip.example.com");
	free(r);

	/* other record types among the answers are skipped */
	begin(&m, 2);
	put16(&m, 0xc00c);
	put16(&m, 1); /* A */
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 4);
	put32(&m, 0x7f000001);
	srv(&m, 1, 1, 5061, "sip.example.com");
	CHECK_INT(parse(&m, &r, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	free(r);

	/* no answer at all */
	begin(&m, 0);
	CHECK_INT(parse(&m, &r, &n), ==, -ENOENT);

	/* the header claims more answers than the message holds */
	begin(&m, 3);
	srv(&m, 1, 1, 5061, "sip.example.com");
	CHECK_INT(parse(&m, &r, &n), ==, -EBADMSG);
	CHECK(r == NULL);

	/* rdata too short for priority, weight, port and a name */
	begin(&m, 1);
	put16(&m, 0xc00c);
	put16(&m, 33);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 4);
	put32(&m, 0);
	CHECK_INT(parse(&m, &r, &n), ==, -ENOENT);

	/* a compression pointer that points at itself (a loop) */
	begin(&m, 1);
	put16(&m, 0xc00c);
	put16(&m, 33);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 8);
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 80);
	put16(&m, (unsigned)(0xc000 | m.n));
	CHECK_INT(parse(&m, &r, &n), ==, -ENOENT);

	/* truncated in every possible place: never a crash, never success */
	begin(&m, 2);
	srv(&m, 10, 5, 5269, "a.example.com");
	srv(&m, 20, 5, 5269, "b.example.com");
	for (size_t cut = 0; cut < m.n; cut++) {
		struct msg t = m;
		int err;

		t.n = cut;
		err = parse(&t, &r, &n);
		CHECK(err == -EBADMSG || err == -ENOENT);
	}
	return check_report();
}
