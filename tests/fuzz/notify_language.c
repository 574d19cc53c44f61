/*
 * tests/fuzz/notify_language.c - a language file (plugins/notify/nt_lang.c)
 * is the operator's: whatever it holds, loading it gives the strings or an
 * error that changes nothing, and a loaded one goes into a notification
 * document and through the placeholder expansion without crashing or
 * leaking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_lang l = {0};
	struct nt_notice n;
	char err[256], out[256];
	void *doc = NULL;

	if (nt_lang_load_mem(&l, (const char *)data, size, err, sizeof(err)) != 0) {
		if (l.n != 0 || l.s != NULL)
			abort(); /* a failed load leaves the language as it was */
		return 0;
	}
	memset(&n, 0, sizeof(n));
	strcpy(n.caller.canonical, "+4930123");
	strcpy(n.link_prefix, "tel:");
	n.started_ms = 1764169200000ll;
	for (size_t i = 0; i < l.n; i++) {
		int need = nt_expand(l.s[i].value, &n, &l, NULL, out, sizeof(out));

		if (need < 0 || strlen(out) >= sizeof(out))
			abort();
	}
	if (nt_xml_build(&n, &l, NULL, &doc) == 0)
		nt_xml_free(doc);
	nt_lang_free(&l);
	return 0;
}
