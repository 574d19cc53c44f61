/*
 * tests/fuzz/ldap_cache.c - the directory cache (userdb-ldap's last good
 * read, <state>/userdb-ldap/directory.json) is read at every start; a file
 * damaged by a disk or an editor must give an error or a usable set of
 * documents, never a crash. Input: the file's content.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lud.h"
#include "udb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct lud_cache c;
	char err[256];
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/ucsd-fuzz-ldap-cache.%ld", (long)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (lud_cache_load(path, &c, err, sizeof(err)) == 0) {
		for (int k = 0; k < LUD_NKINDS; k++) {
			const char *id;
			json_t *doc;

			json_object_foreach(c.docs->kind[lud_ud_kind(k)], id,
					    doc) if (!udb_id_valid(id) || !json_is_object(doc))
				abort();
		}
		if (!json_is_object(c.pictures) || !json_is_object(c.vanished))
			abort();
		lud_cache_clear(&c);
	}
	unlink(path);
	return 0;
}
