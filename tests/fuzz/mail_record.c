/*
 * tests/fuzz/mail_record.c - outbox files are read back after crashes,
 * disk errors and hand edits: mail_record_parse must accept only complete
 * records, and whatever it accepts must serialize, parse again to the same
 * record, and render as MIME in every encoding mode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_record r, again;
	struct mail_buf b = {0}, mime = {0}, stuffed = {0};
	char err[200];

	if (mail_record_parse((const char *)data, size, &r, err, sizeof(err)))
		return 0;
	if (!r.id || !r.env_from || !r.n_rcpt)
		abort();
	if (mail_record_serialize(&r, &b))
		abort();
	if (mail_record_parse(b.data, b.len, &again, err, sizeof(err)))
		abort();
	if (strcmp(again.id, r.id) || again.n_rcpt != r.n_rcpt || again.n_att != r.n_att)
		abort();
	for (unsigned flags = 0; flags < 4; flags++) {
		mime.len = 0;
		stuffed.len = 0;
		if (mail_mime_render(&r, flags, &mime) == 0) {
			/* every line ends in CRLF and stays within the SMTP limit */
			size_t col = 0;

			for (size_t i = 0; i < mime.len; i++) {
				if (mime.data[i] == '\n') {
					if (!i || mime.data[i - 1] != '\r')
						abort();
					col = 0;
				} else if (++col > 998) {
					abort();
				}
			}
			if (mail_dot_stuff(&stuffed, mime.data, mime.len))
				abort();
		}
	}
	mail_buf_free(&b);
	mail_buf_free(&mime);
	mail_buf_free(&stuffed);
	mail_record_free(&again);
	mail_record_free(&r);
	return 0;
}
