/*
 * tools/pbxsim/sbuf.h - a growable byte buffer for building documents.
 *
 * Every CSTA document and control reply pbxsim writes is built in an sbuf.
 * Appending never fails visibly: on allocation failure the buffer turns
 * "broken" (oom set) and later appends are ignored, so builders need not
 * check every call; the sender checks sbuf_ok() once.
 */
#ifndef PBXSIM_SBUF_H
#define PBXSIM_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
bool sbuf_ok(const struct sbuf *b);
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the five XML special characters escaped. */
void sbuf_xml(struct sbuf *b, const char *s);
/* Appends <name>escaped text</name>. */
void sbuf_elem(struct sbuf *b, const char *name, const char *text);
/* Removes the first n bytes. */
void sbuf_consume(struct sbuf *b, size_t n);
/* Inserts data at offset off (off <= len). */
void sbuf_insert(struct sbuf *b, size_t off, const void *data, size_t n);

#endif
