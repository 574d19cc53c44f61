/*
 * plugins/auth/tests/test_admins.c - the administrator accounts document
 * (auth_admins.c): parse, format, set and find; every malformed document
 * refused with a reason; the atomic write (mode 0600, the directory made,
 * no temporary file left, the old file kept when the write cannot happen).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "auth_admins.h"
#include "check.h"

#define H1 \
	"$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
#define H2 "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

static void test_ids(void)
{
	char long_id[AUTH_ID_MAX + 2];

	CHECK(auth_id_valid("admin"));
	CHECK(auth_id_valid("a.b_c@d-e9"));
	CHECK(!auth_id_valid(""));
	CHECK(!auth_id_valid(NULL));
	CHECK(!auth_id_valid("Admin"));
	CHECK(!auth_id_valid("ad min"));
	CHECK(!auth_id_valid("../etc"));
	CHECK(!auth_id_valid("a/b"));
	CHECK(!auth_id_valid("\xc3\xa4"));
	memset(long_id, 'a', sizeof(long_id));
	long_id[AUTH_ID_MAX] = 0;
	CHECK(auth_id_valid(long_id));
	long_id[AUTH_ID_MAX] = 'a';
	long_id[AUTH_ID_MAX + 1] = 0;
	CHECK(!auth_id_valid(long_id));
}

static void test_parse_format(void)
{
	const char *doc = "{\"admins\": [{\"id\": \"root\", \"password_hash\": \"" H2 "\"},"
			  " {\"id\": \"admin\", \"password_hash\": \"" H1 "\"}]}";
	struct auth_admins a, b;
	char err[256] = "";
	char *text;

	CHECK_INT(auth_admins_parse(doc, strlen(doc), &a, err, sizeof(err)), ==, 0);
	CHECK_INT(a.n, ==, 2);
	CHECK_STR(a.v[0].id, "admin"); /* sorted */
	CHECK_STR(auth_admins_find(&a, "root")->phc, H2);
	CHECK(auth_admins_find(&a, "nobody") == NULL);
	CHECK(auth_admins_find(&a, "ROOT") == NULL); /* ids are lower case; callers lower */
	text = auth_admins_format(&a);
	CHECK(text != NULL);
	CHECK_INT(auth_admins_parse(text, strlen(text), &b, err, sizeof(err)), ==, 0);
	CHECK_INT(b.n, ==, 2);
	CHECK(memcmp(a.v, b.v, 2 * sizeof(*a.v)) == 0);
	free(text);
	auth_admins_free(&b);
	/* set: replace one, add one (kept sorted), refuse bad ones */
	CHECK_INT(auth_admins_set(&a, "root", H1), ==, 0);
	CHECK_STR(auth_admins_find(&a, "root")->phc, H1);
	CHECK_INT(auth_admins_set(&a, "bob", H2), ==, 0);
	CHECK_INT(a.n, ==, 3);
	CHECK_STR(a.v[1].id, "bob");
	CHECK_INT(auth_admins_set(&a, "Bob", H2), ==, -EINVAL);
	CHECK_INT(auth_admins_set(&a, "carl", "$argon2id$nope"), ==, -EINVAL);
	CHECK_INT(a.n, ==, 3);
	CHECK_INT(auth_admins_copy(&b, &a), ==, 0);
	CHECK_INT(b.n, ==, 3);
	CHECK_INT(auth_admins_set(&b, "dora", H2), ==, 0);
	CHECK_INT(a.n, ==, 3); /* a copy is a copy */
	auth_admins_free(&b);
	auth_admins_free(&a);
	CHECK_INT(a.n, ==, 0);
	/* an empty list is fine */
	CHECK_INT(auth_admins_parse("{\"admins\": []}", 14, &a, err, sizeof(err)), ==, 0);
	CHECK_INT(a.n, ==, 0);
	text = auth_admins_format(&a);
	CHECK_CONTAINS(text, "\"admins\": []");
	free(text);
	auth_admins_free(&a);
}

static void test_malformed(void)
{
	static const struct {
		const char *doc, *why;
	} bad[] = {
		{"", "line 1"},
		{"[]", "not a JSON object"},
		{"{\"admins\": {}}", "must be an array"},
		{"{}", "must be an array"},
		{"{\"admins\": [], \"x\": 1}", "unknown key \"x\""},
		{"{\"admins\": [], \"admins\": []}", "line 1"},
		{"{\"admins\": [1]}", "admins[0]: not an object"},
		{"{\"admins\": [{\"id\": \"a\"}]}", "password_hash"},
		{"{\"admins\": [{\"password_hash\": \"" H1 "\"}]}", "\"id\" must be"},
		{"{\"admins\": [{\"id\": \"A\", \"password_hash\": \"" H1 "\"}]}",
		 "\"id\" must be"},
		{"{\"admins\": [{\"id\": \"a\\u0000b\", \"password_hash\": \"" H1 "\"}]}",
		 "line 1"},
		{"{\"admins\": [{\"id\": 5, \"password_hash\": \"" H1 "\"}]}", "\"id\" must be"},
		{"{\"admins\": [{\"id\": \"a\", \"password_hash\": \"x\"}]}", "not an argon2id"},
		{"{\"admins\": [{\"id\": \"a\", \"password_hash\": \"" H1 "\\u0000\"}]}", "line 1"},
		{"{\"admins\": [{\"id\": \"a\", \"password_hash\": \"" H1 "\", \"role\": 1}]}",
		 "unknown key \"role\""},
		{"{\"admins\": [{\"id\": \"a\", \"password_hash\": \"" H1 "\"}, {\"id\": \"a\", "
		 "\"password_hash\": \"" H2 "\"}]}",
		 "appears twice"},
		{"{\"admins\": [{\"id\": \"a\", \"password_hash\": \"" H1 "\"}]} x", "line 1"},
	};
	struct auth_admins a;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_INT(auth_admins_parse(bad[i].doc, strlen(bad[i].doc), &a, err, sizeof(err)),
			  ==, -EINVAL);
		CHECK_CONTAINS(err, bad[i].why);
		CHECK_INT(a.n, ==, 0);
		CHECK(a.v == NULL);
	}
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_files(void)
{
	char tmpl[] = "/tmp/auth-admins-XXXXXX", path[600], dir[512], err[256];
	struct auth_admins a = {0}, b;
	struct stat st;
	char *text;

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(dir, sizeof(dir), "%s/auth", tmpl);
	snprintf(path, sizeof(path), "%s/admins.json", dir);
	CHECK_INT(auth_admins_load(path, &b, err, sizeof(err)), ==, -ENOENT);
	CHECK_INT(auth_admins_set(&a, "admin", H1), ==, 0);
	text = auth_admins_format(&a);
	CHECK_INT(auth_file_write_atomic(path, text, strlen(text)), ==, 0);
	free(text);
	CHECK_INT(stat(path, &st), ==, 0);
	CHECK_INT(st.st_mode & 0777, ==, 0600);
	CHECK_INT(stat(dir, &st), ==, 0);
	CHECK_INT(st.st_mode & 0777, ==, 0700);
	CHECK_INT(count_files(dir), ==, 1); /* no temporary file left */
	CHECK_INT(auth_admins_load(path, &b, err, sizeof(err)), ==, 0);
	CHECK_INT(b.n, ==, 1);
	CHECK_STR(b.v[0].phc, H1);
	auth_admins_free(&b);
	/* a broken file: load says why */
	CHECK_INT(auth_file_write_atomic(path, "{\"admins\": [", 12), ==, 0);
	CHECK_INT(auth_admins_load(path, &b, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "line 1");
	/* a write that cannot happen keeps the old file */
	CHECK_INT(chmod(dir, 0500), ==, 0);
	if (geteuid() != 0) { /* root writes anyway */
		CHECK(auth_file_write_atomic(path, "{}", 2) < 0);
		CHECK_INT(auth_admins_load(path, &b, err, sizeof(err)), ==, -EINVAL);
		CHECK_CONTAINS(err, "line 1");
	}
	chmod(dir, 0700);
	/* not a regular file */
	CHECK_INT(auth_admins_load(dir, &b, err, sizeof(err)), ==, -EINVAL);
	unlink(path);
	rmdir(dir);
	rmdir(tmpl);
	auth_admins_free(&a);
}

int main(void)
{
	test_ids();
	test_parse_format();
	test_malformed();
	test_files();
	return check_report();
}
