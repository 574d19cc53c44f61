/*
 * tests/fuzz/dialplan_csv.c - the CSV reader of rule imports
 * (tools/ucs-dialplan/csv.c). Whatever the bytes, it returns an error or
 * records whose fields are NUL-terminated and within the limits, and what
 * it returns survives a round trip: written with csv_write_field and read
 * again, every record comes back identical.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
	char text[CSV_FIELDS_MAX * (2 * CSV_FIELD_MAX + 3) + 2];
	size_t n;
};

static struct rec recs[64];
static size_t nrecs, checked;

static int collect(void *arg, int line, char **f, size_t n)
{
	FILE *out = arg;

	(void)line;
	if (n < 1 || n > CSV_FIELDS_MAX)
		abort();
	/* a record of one empty field ("" on a line) is written back as a blank
	 * line, which is no record: the one case without an exact round trip */
	if (n == 1 && !f[0][0])
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strlen(f[i]) > CSV_FIELD_MAX)
			abort();
		if (i)
			fputc(',', out);
		csv_write_field(out, f[i]);
	}
	fputc('\n', out);
	if (nrecs < 64) {
		recs[nrecs].n = n;
		snprintf(recs[nrecs].text, sizeof(recs[nrecs].text), "%zu", n);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(recs[nrecs].text);

			snprintf(recs[nrecs].text + l, sizeof(recs[nrecs].text) - l, "|%s", f[i]);
		}
		nrecs++;
	}
	return 0;
}

static int compare(void *arg, int line, char **f, size_t n)
{
	char text[sizeof(recs[0].text)];

	(void)arg;
	(void)line;
	if (checked >= nrecs)
		return 0;
	snprintf(text, sizeof(text), "%zu", n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(text);

		snprintf(text + l, sizeof(text) - l, "|%s", f[i]);
	}
	if (strcmp(text, recs[checked].text) != 0)
		abort();
	checked++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *written = NULL;
	size_t wlen = 0;
	FILE *out = open_memstream(&written, &wlen);
	char *copy = malloc(size ? size : 1);

	if (!out || !copy)
		abort();
	memcpy(copy, data, size);
	nrecs = checked = 0;
	if (csv_parse(copy, size, collect, out, err, sizeof(err)) == 0) {
		fclose(out);
		out = NULL;
		if (csv_parse(written, wlen, compare, NULL, err, sizeof(err)) != 0)
			abort();
	}
	if (out)
		fclose(out);
	free(written);
	free(copy);
	return 0;
}
