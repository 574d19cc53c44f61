/*
 * plugins/userdb-ldap/tests/test_cache.c - the last good read on disk
 * (round trip, a broken file, no temporary left behind) and the
 * bookkeeping of objects that left the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lud.h"
#include "udb.h"

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static size_t count_files(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	size_t n = 0;

	while (dh && (de = readdir(dh)))
		n += de->d_name[0] != '.';
	if (dh)
		closedir(dh);
	return n;
}

static void test_round_trip(void)
{
	struct lud_cache c = {0}, back;
	char path[128], err[256];
	struct udb_docs docs;

	snprintf(path, sizeof(path), "%s/directory.json", dir);
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, -ENOENT);
	CHECK_INT(udb_docs_init(&docs), ==, 0);
	json_object_set_new(docs.kind[UCS_UD_USER], "u1",
			    json_pack("{s:s,s:s,s:{s:s}}", "id", "u1", "login", "alice", "phones",
				      "business", "+49 1"));
	json_object_set_new(docs.kind[UCS_UD_COMPUTER], "pc1",
			    json_pack("{s:s,s:s}", "id", "pc1", "name", "PC1"));
	c.docs = &docs;
	c.pictures = json_pack("{s:s}", "u1", "0123456789abcdef");
	c.vanished = json_pack("{s:I}", "user:old", (json_int_t)1000);
	c.synced = 1234;
	CHECK_INT(lud_cache_save(path, &c, err, sizeof(err)), ==, 0);
	CHECK_INT(count_files(dir), ==, 1); /* no temporary file left */
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, 0);
	CHECK_INT(back.synced, ==, 1234);
	CHECK(json_equal(back.docs->kind[UCS_UD_USER], docs.kind[UCS_UD_USER]));
	CHECK(json_equal(back.docs->kind[UCS_UD_COMPUTER], docs.kind[UCS_UD_COMPUTER]));
	CHECK_INT(udb_docs_count(back.docs, UCS_UD_GROUP), ==, 0);
	CHECK(json_equal(back.pictures, c.pictures));
	CHECK(json_equal(back.vanished, c.vanished));
	lud_cache_clear(&back);
	json_decref(c.pictures);
	json_decref(c.vanished);
	udb_docs_clear(&docs);
	/* broken files are reported, never half used */
	write_text(path, "{\"format\": 1, \"users\": {\"u1\": ");
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "directory.json:1:");
	write_text(path, "{\"format\": 2}");
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "not a directory cache of format 1");
	write_text(path, "{\"format\": 1, \"groups\": []}");
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "\"groups\" is not an object");
	/* invalid ids and non-objects are dropped, the rest is used */
	write_text(path, "{\"format\": 1, \"users\": {\"Bad Id\": {}, \"ok\": {\"id\": \"ok\"}, "
			 "\"n\": 1}}");
	CHECK_INT(lud_cache_load(path, &back, err, sizeof(err)), ==, 0);
	CHECK_INT(udb_docs_count(back.docs, UCS_UD_USER), ==, 1);
	lud_cache_clear(&back);
	unlink(path);
}

static void test_vanished(void)
{
	struct udb_docs before, after;
	char path[128], pic[160], pics[128];
	json_t *v = json_object(), *expired = json_array();
	const char *id;
	int kind;

	snprintf(path, sizeof(path), "%s/users", dir);
	CHECK_INT(mkdir(path, 0700), ==, 0);
	snprintf(pics, sizeof(pics), "%s/pictures", dir);
	CHECK_INT(mkdir(pics, 0700), ==, 0);
	snprintf(path, sizeof(path), "%s/users/gone.json", dir);
	write_text(path, "{}");
	snprintf(pic, sizeof(pic), "%s/gone.contact.png", pics);
	write_text(pic, "png");
	CHECK_INT(udb_docs_init(&before), ==, 0);
	CHECK_INT(udb_docs_init(&after), ==, 0);
	json_object_set_new(before.kind[UCS_UD_USER], "gone", json_object());
	json_object_set_new(before.kind[UCS_UD_USER], "stays", json_object());
	json_object_set_new(after.kind[UCS_UD_USER], "stays", json_object());
	json_object_set_new(v, "group:back", json_integer(10));
	json_object_set_new(after.kind[UCS_UD_GROUP], "back", json_object());
	/* day 0: gone is recorded, its picture dropped, nothing expired */
	CHECK_INT(lud_vanished_update(v, &before, &after, 100000, 30, pics, expired), ==, 0);
	CHECK_INT(json_integer_value(json_object_get(v, "user:gone")), ==, 100000);
	CHECK(json_object_get(v, "group:back") == NULL); /* it returned */
	CHECK(access(pic, F_OK) != 0);
	/* 29 days later: still kept; the time it left does not move */
	CHECK_INT(lud_vanished_update(v, &after, &after, 100000 + 29 * 86400, 30, pics, expired),
		  ==, 0);
	CHECK_INT(lud_vanished_update(v, &before, &after, 100000 + 29 * 86400, 30, pics, expired),
		  ==, 0);
	CHECK_INT(json_integer_value(json_object_get(v, "user:gone")), ==, 100000);
	CHECK_INT(json_array_size(expired), ==, 0);
	/* 30 days: expired. The local document is the store core's to drop
	 * (udb_core_forget): this leaves it, and keeps the key until then */
	CHECK_INT(lud_vanished_update(v, &after, &after, 100000 + 30 * 86400, 30, pics, expired),
		  ==, 1);
	CHECK_STR(json_string_value(json_array_get(expired, 0)), "user:gone");
	CHECK(json_object_get(v, "user:gone") != NULL);
	CHECK(access(path, F_OK) == 0);
	CHECK_INT(lud_vanished_key("user:gone", &kind, &id), ==, 0);
	CHECK_INT(kind, ==, UCS_UD_USER);
	CHECK_STR(id, "gone");
	CHECK_INT(lud_vanished_key("computer:pc-1", &kind, &id), ==, 0);
	CHECK_INT(kind, ==, UCS_UD_COMPUTER);
	CHECK_INT(lud_vanished_key("profile:p", &kind, &id), ==, -EINVAL);
	CHECK_INT(lud_vanished_key("user:../x", &kind, &id), ==, -EINVAL);
	CHECK_INT(lud_vanished_key("nokind", &kind, &id), ==, -EINVAL);
	/* without a picture directory no picture is touched */
	write_text(pic, "png");
	CHECK_INT(lud_vanished_update(v, &before, &after, 100000 + 31 * 86400, 30, NULL, NULL), ==,
		  0);
	CHECK(access(pic, F_OK) == 0);
	/* broken keys are dropped without touching files */
	json_object_del(v, "user:gone");
	json_array_clear(expired);
	json_object_set_new(v, "nokind", json_integer(0));
	json_object_set_new(v, "user:../x", json_integer(0));
	CHECK_INT(lud_vanished_update(v, NULL, NULL, 100000, 0, pics, expired), ==, 0);
	CHECK_INT(json_object_size(v), ==, 0);
	CHECK_INT(json_array_size(expired), ==, 0);
	json_decref(v);
	json_decref(expired);
	udb_docs_clear(&before);
	udb_docs_clear(&after);
}

int main(void)
{
	char tmpl[] = "/tmp/ucsd-ldap-cache.XXXXXX";

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_round_trip();
	test_vanished();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_report();
}
