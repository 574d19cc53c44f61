/*
 * core/elfcheck.c - pre-dlopen sanity check of plugin files (see elfcheck.h).
 */
#include <elf.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcheck.h"

#define ELFCHECK_MAX_FILE (256u << 20)

#if UINTPTR_MAX == 0xffffffffffffffffu
typedef Elf64_Ehdr elf_ehdr;
typedef Elf64_Phdr elf_phdr;
#define ELFCHECK_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr elf_ehdr;
typedef Elf32_Phdr elf_phdr;
#define ELFCHECK_CLASS ELFCLASS32
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ELFCHECK_DATA ELFDATA2LSB
#else
#define ELFCHECK_DATA ELFDATA2MSB
#endif

#if defined(__x86_64__)
#define ELFCHECK_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define ELFCHECK_MACHINE EM_AARCH64
#elif defined(__i386__)
#define ELFCHECK_MACHINE EM_386
#elif defined(__arm__)
#define ELFCHECK_MACHINE EM_ARM
#elif defined(__riscv)
#define ELFCHECK_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define ELFCHECK_MACHINE EM_PPC64
#elif defined(__s390x__)
#define ELFCHECK_MACHINE EM_S390
#endif

/* The checks, reading through `read` so that a mapped buffer and a file
 * descriptor share them; returns NULL when loadable. */
typedef bool(elf_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

static const char *elf_check(elf_read_fn *rd, void *ctx, uint64_t size)
{
	elf_ehdr eh;

	if (size < sizeof(eh) || !rd(ctx, 0, &eh, sizeof(eh)))
		return "file too short for an ELF header";
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return "not an ELF file";
	if (eh.e_ident[EI_CLASS] != ELFCHECK_CLASS || eh.e_ident[EI_DATA] != ELFCHECK_DATA)
		return "ELF class or byte order of another architecture";
#ifdef ELFCHECK_MACHINE
	if (eh.e_machine != ELFCHECK_MACHINE)
		return "built for another processor architecture";
#endif
	if (eh.e_type != ET_DYN)
		return "not a shared object";
	if (eh.e_phentsize != sizeof(elf_phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return "malformed program header table";
	if (eh.e_phoff > size || (size - eh.e_phoff) / sizeof(elf_phdr) < eh.e_phnum)
		return "truncated: the program headers lie past the end of the file";
	for (size_t i = 0; i < eh.e_phnum; i++) {
		elf_phdr ph;

		if (!rd(ctx, eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)))
			return "truncated: the program headers lie past the end of the file";
		if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			return "truncated: a segment lies past the end of the file";
		if (ph.p_filesz > ph.p_memsz)
			return "malformed segment (file size larger than memory size)";
	}
	return NULL;
}

struct mem_src {
	const uint8_t *data;
	size_t size;
};

static bool mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct mem_src *m = ctx;

	if (off > m->size || len > m->size - off)
		return false;
	memcpy(buf, m->data + off, len);
	return true;
}

static bool fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return pread(*(int *)ctx, buf, len, (off_t)off) == (ssize_t)len;
}

const char *core_elf_check(const uint8_t *data, size_t size)
{
	struct mem_src m = {data, size};

	return elf_check(mem_read, &m, size);
}

const char *core_elf_check_fd(int fd, char *errbuf, size_t cap)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(errbuf, cap, "cannot read: %s", strerror(errno));
		return errbuf;
	}
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if ((uint64_t)st.st_size > ELFCHECK_MAX_FILE)
		return "larger than 256 MiB";
	return elf_check(fd_read, &fd, (uint64_t)st.st_size);
}
