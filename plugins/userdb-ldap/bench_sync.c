/*
 * plugins/userdb-ldap/bench_sync.c - how long one full directory read
 * takes: lud_sync_run (paged searches, mapping, duplicates, the limit,
 * membership, validation of every document) against a real server, and the
 * snapshot the store core would build from it (without a dialplan: the
 * number normalisation is measured end to end by tests/bench/ldap_sync.py).
 *
 *   bench-ldap-sync URL BIND_DN PASSWORD BASE [ROUNDS]
 *
 * prints "bench ldap_read_10k_s ..." style lines (the name carries the
 * user count it found, rounded to thousands).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lud.h"
#include "udb.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct lud_conf c = {0};
	struct lud_conn *conn = NULL;
	atomic_int cancel = 0;
	int rounds = argc > 5 ? atoi(argv[5]) : 3;
	double best_read = 1e9, best_snap = 1e9;
	size_t users = 0;
	char err[256];

	if (argc < 5) {
		fprintf(stderr, "usage: %s URL BIND_DN PASSWORD BASE [ROUNDS]\n", argv[0]);
		return 2;
	}
	c.url = argv[1];
	c.bind_dn = argv[2];
	c.password = argv[3];
	c.ca_file = "";
	c.allow_plain = 1;
	c.tls_verify = 1;
	c.network_timeout_ms = 5000;
	c.search_timeout_ms = 60000;
	c.page_size = 1000;
	c.max_objects = 1000000;
	c.schema = LUD_SCHEMA_OPENLDAP;
	for (int k = 0; k < LUD_NKINDS; k++) {
		if (lud_split_bases(argv[4], &c.bases[k]) < 0)
			return 1;
		c.filter[k] = (char *)lud_default_filter(c.schema, k);
	}
	if (lud_map_init(&c.map, c.schema, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		struct lud_sync_in in = {&c, &conn, &cancel, NULL, NULL, NULL, "example.com"};
		struct lud_sync_result res;
		const struct ucs_ud_snapshot *snap = NULL;
		struct udb_build b = {0};
		double t0 = now_s(), t1, t2;
		int rc = lud_sync_run(&in, &res);

		t1 = now_s();
		if (rc) {
			fprintf(stderr, "sync failed: %s\n", res.err);
			return 1;
		}
		users = res.count[LUD_USERS];
		b.store = "ldap";
		b.generation = 1;
		b.presence_domain = "example.com";
		b.docs = res.docs;
		b.directory_kinds = UDB_KIND_BIT(UCS_UD_USER) | UDB_KIND_BIT(UCS_UD_GROUP) |
				    UDB_KIND_BIT(UCS_UD_COMPUTER);
		if (udb_snapshot_build(&b, &snap) != 0)
			return 1;
		t2 = now_s();
		if (snap->n_users != users) {
			fprintf(stderr, "snapshot has %zu users, the read %zu\n", snap->n_users,
				users);
			return 1;
		}
		udb_snapshot_unref(snap);
		lud_sync_result_clear(&res);
		if (t1 - t0 < best_read)
			best_read = t1 - t0;
		if (t2 - t1 < best_snap)
			best_snap = t2 - t1;
	}
	lud_conn_close(conn);
	printf("bench ldap_read_%zuk_s %.3f s\n", (users + 500) / 1000, best_read);
	printf("bench ldap_snapshot_%zuk_s %.3f s\n", (users + 500) / 1000, best_snap);
	for (int k = 0; k < LUD_NKINDS; k++)
		lud_strv_free(c.bases[k]);
	lud_map_free(&c.map);
	return 0;
}
