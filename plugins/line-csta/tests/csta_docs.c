/* plugins/line-csta/tests/csta_docs.c - loading the canned documents (csta_docs.h). */
#include "csta_docs.h"

#include <stdio.h>
#include <stdlib.h>

char *csta_doc_load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = NULL;
	long n = -1;

	snprintf(path, sizeof(path), "%s/%s", CSTA_DOCS_DIR, name);
	f = fopen(path, "rb");
	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (n >= 0 && fseek(f, 0, SEEK_SET) == 0)
		buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}
