/*
 * tests/fuzz/mail_addr.c - recipient lists come from user records and the
 * configuration: mail_addr_parse must return only addresses that are safe
 * in an SMTP command (no spaces, controls, '<', '>'), and a header built
 * from any list must not gain a line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[200];
	struct mail_addr *a;
	size_t n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (mail_addr_parse(s, &a, &n, err, sizeof(err)) == 0) {
		struct mail_buf h = {0};

		if (!n)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!a[i].addr || !*a[i].addr || !strchr(a[i].addr, '@'))
				abort();
			for (const char *p = a[i].addr; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == '<' || *p == '>')
					abort();
			if (a[i].name)
				for (const char *p = a[i].name; *p; p++)
					if ((unsigned char)*p < 0x20)
						abort();
		}
		/* a header from any value: one line (folded lines start with a space) */
		if (mail_mime_header(&h, "Subject", s, 0) == 0)
			for (size_t i = 0; i + 2 < h.len; i++)
				if (h.data[i] == '\n' && h.data[i + 1] != ' ')
					abort();
		mail_buf_free(&h);
		mail_addr_free(a, n);
	}
	free(s);
	return 0;
}
