/*
 * tests/fuzz/lines_text.c - the line manager's text forms from untrusted
 * bytes: pickup code templates (operator config), internal numbers,
 * capability names, and the JSON of the bus types from arbitrary payload
 * bytes (a payload's text fields are not trusted to be terminated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/lines.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], out[64], json[8192];
	const char *nl;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	union {
		struct ucs_line_info li;
		struct ucs_call_info ci;
		struct ucs_call_control q;
		struct ucs_call_control_result r;
	} u;

	memcpy(text, data, n);
	text[n] = '\0';
	/* "TEMPLATE\nNUMBER" */
	nl = strchr(text, '\n');
	if (nl) {
		char tmpl[256];

		memcpy(tmpl, text, (size_t)(nl - text));
		tmpl[nl - text] = '\0';
		if (lm_pickup_code_expand(tmpl, nl + 1, out, sizeof(out)) == 0 &&
		    strlen(out) >= sizeof(out))
			abort();
	}
	lm_pickup_code_check(text);
	lm_internal_valid(text);
	lm_dial_valid(text);
	lm_cap_bit(text);
	lm_op_from_name(text);

	memset(&u, 0, sizeof(u));
	memcpy(&u, data, size < sizeof(u) ? size : sizeof(u));
	if (lm_json_line_info(&u.li, sizeof(u.li), json, sizeof(json)) >= (int)sizeof(json) ||
	    lm_json_call_info(&u.ci, sizeof(u.ci), json, sizeof(json)) >= (int)sizeof(json) ||
	    lm_json_call_control(&u.q, sizeof(u.q), json, sizeof(json)) >= (int)sizeof(json))
		abort();
	lm_json_call_result(&u.r, sizeof(u.r), json, 16);
	return 0;
}
