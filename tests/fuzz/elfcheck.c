/*
 * tests/fuzz/elfcheck.c - the pre-dlopen ELF check must never read outside
 * the bytes it is given, whatever they are, and whatever it accepts must
 * have its program headers and loadable segments inside those bytes.
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	Elf64_Ehdr eh;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (core_elf_check(copy, size) == NULL && sizeof(void *) == 8) {
		memcpy(&eh, copy, sizeof(eh));
		if (eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size)
			abort();
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;

			memcpy(&ph, copy + eh.e_phoff + i * sizeof(ph), sizeof(ph));
			if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > size)
				abort();
		}
	}
	free(copy);
	return 0;
}
