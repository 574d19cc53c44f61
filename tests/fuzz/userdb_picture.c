/*
 * tests/fuzz/userdb_picture.c - set_picture takes image bytes from clients
 * and directories (thumbnailPhoto): the header probe (PNG IHDR, GIF screen,
 * JPEG frame markers) must never read out of bounds and must refuse huge
 * claimed sizes; what it passes on, libgd decodes and we scale. The first
 * byte picks the picture (contact image or profile picture).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *png = NULL;
	size_t len = 0;
	int rc;

	if (size < 1)
		return 0;
	rc = udb_picture_scale(data + 1, size - 1, data[0] & 1, &png, &len);
	if (rc == 0) {
		if (!png || len < 8 || memcmp(png, "\x89PNG", 4) != 0)
			abort();
		free(png);
	} else if (png || len) {
		abort();
	}
	return 0;
}
