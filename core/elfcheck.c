/*
 * core/elfcheck.c - pre-dlopen sanity check of plugin files (see elfcheck.h).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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

const char *core_elf_check(const uint8_t *data, size_t size)
{
	elf_ehdr eh;

	if (size < sizeof(eh))
		return "file too short for an ELF header";
	memcpy(&eh, data, sizeof(eh));
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

		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			return "truncated: a segment lies past the end of the file";
		if (ph.p_filesz > ph.p_memsz)
			return "malformed segment (file size larger than memory size)";
	}
	return NULL;
}

const char *core_elf_check_file(const char *path, char *errbuf, size_t cap)
{
	const char *why = NULL;
	struct stat st;
	void *map = MAP_FAILED;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(errbuf, cap, "cannot read: %s", strerror(errno));
		why = errbuf;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto out;
	}
	if (st.st_size < (off_t)sizeof(elf_ehdr)) {
		why = "file too short for an ELF header";
		goto out;
	}
	if ((uint64_t)st.st_size > ELFCHECK_MAX_FILE) {
		why = "larger than 256 MiB";
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(errbuf, cap, "cannot map: %s", strerror(errno));
		why = errbuf;
		goto out;
	}
	why = core_elf_check(map, (size_t)st.st_size);
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return why;
}
