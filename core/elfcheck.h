/*
 * core/elfcheck.h - is this file a shared object dlopen can map safely?
 *
 * dlopen() trusts the file: a plugin truncated by a failed copy or a full
 * disk has program headers that point past the end of the file, the
 * dynamic loader maps them anyway, and the first touch of the missing pages
 * kills the whole server with SIGBUS. An operator drops files into the
 * plugin directory by hand, so the loader checks before it loads: an ELF
 * header for this machine's class, byte order and architecture, a shared
 * object (ET_DYN), program headers inside the file, and every loadable
 * segment's file range inside the file.
 */
#ifndef CORE_ELFCHECK_H
#define CORE_ELFCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Checks the file's bytes; returns NULL when loadable, else why not. */
const char *core_elf_check(const uint8_t *data, size_t size);
/* Checks the open file fd (at most 256 MiB) with pread, so a file truncated
 * meanwhile cannot fault the check; NULL when loadable, else why not (a
 * static string, or errbuf). The loader then dlopens this very descriptor
 * (/proc/self/fd/N): a file replaced after the check is not the one loaded. */
const char *core_elf_check_fd(int fd, char *errbuf, size_t cap);

#endif
