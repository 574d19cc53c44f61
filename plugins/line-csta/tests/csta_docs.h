/*
 * plugins/line-csta/tests/csta_docs.h - the canned ECMA-323 documents in
 * tests/docs/ (written from the standard's schema) that the codec's test and
 * its benchmark decode. CSTA_DOCS_DIR names the directory at build time.
 */
#ifndef CSTA_DOCS_H
#define CSTA_DOCS_H

#include <stddef.h>

/* The document NAME, NUL-terminated (*len: its length without the NUL), in a
 * buffer the caller frees; exits with status 2 when it cannot be read (a test
 * without its input has nothing to say). */
char *csta_doc_load(const char *name, size_t *len);

#endif
