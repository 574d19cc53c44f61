/*
 * tests/fuzz/smtp_reply.c - SMTP replies come from the network: whatever
 * the bytes and however they are split, smtp_parse must stay within its
 * limits, return only well-formed replies (a code 200..599, printable
 * text), and the EHLO parser and the log form must handle any reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const struct smtp_reply *r)
{
	struct smtp_caps caps;
	char line[300];

	if (r->code < 200 || r->code > 599 || !r->n_lines || r->n_lines > SMTP_LINES_MAX)
		abort();
	if (!memchr(r->text, 0, sizeof(r->text)))
		abort();
	for (const char *p = r->text; *p; p++)
		if (*p != '\n' && (*p < 0x20 || *p >= 0x7f))
			abort();
	smtp_caps_parse(r, &caps);
	smtp_reply_line(r, line, sizeof(line));
	if (!memchr(line, 0, sizeof(line)))
		abort();
}

/* The input in one piece, then again split at the first byte's value. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int pass = 0; pass < 2; pass++) {
		struct smtp_parser *p = malloc(sizeof(*p));
		size_t split = pass && size ? data[0] % (size + 1) : size;
		const uint8_t *d = data;
		size_t left = size, piece = split ? split : 1;

		if (!p)
			return 0;
		smtp_parser_init(p);
		while (left) {
			size_t n = left < piece ? left : piece, used = 0;
			struct smtp_reply r;
			char err[200];
			int ret = smtp_parse(p, d, n, &used, &r, err, sizeof(err));

			if (used > n)
				abort();
			if (ret < 0) {
				if (!memchr(err, 0, sizeof(err)) || !err[0])
					abort();
				break;
			}
			if (ret == 1)
				check_reply(&r);
			else if (used != n)
				abort();
			d += used;
			left -= used;
			if (ret == 0)
				piece = split ? split : 1;
		}
		free(p);
	}
	return 0;
}
