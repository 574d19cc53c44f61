/*
 * tests/fuzz/lines_admin.c - the "lines.admin" command parser of the line
 * manager (lm_admin_parse, plugins/lines/lm_text.c) from untrusted bytes:
 * the administration protocol passes a client's line id into it, and any
 * plugin on the bus may send the request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[64];
	/* an exact-size heap copy: ASan sees any read past the command */
	char *cmd = malloc(size ? size : 1);
	int verb;

	if (!cmd)
		return 0;
	memcpy(cmd, data, size);
	memset(id, 'x', sizeof(id));
	verb = lm_admin_parse(cmd, size, id, sizeof(id));
	if (!memchr(id, '\0', sizeof(id)))
		abort();
	switch (verb) {
	case LM_ADMIN_LIST:
		if (id[0] || size != 4)
			abort();
		break;
	case LM_ADMIN_GET:
	case LM_ADMIN_RETRY:
		/* the id is the command's rest, exactly */
		if (!id[0] || strlen(id) + 1 + (verb == LM_ADMIN_GET ? 3 : 5) != size ||
		    memcmp(id, cmd + size - strlen(id), strlen(id)) != 0)
			abort();
		break;
	case LM_ADMIN_BAD:
	case LM_ADMIN_MALFORMED:
		if (id[0])
			abort();
		break;
	default:
		abort();
	}
	free(cmd);
	return 0;
}
