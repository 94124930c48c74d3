/*
 * loader.h - put a guest's kernel, initrd and device tree into its RAM.
 *
 * Kernels: a RISC-V Linux `Image` (header validated: magic "RSC\x05" at 56, text_offset,
 * image_size), an ELF64 RISC-V executable (PT_LOAD segments at their physical address),
 * or else a raw binary loaded at RAM + PLAT_KERNEL_OFFSET. The images are in memory
 * (backends read the files); nothing here touches a file.
 */
#ifndef DUO_LOADER_H
#define DUO_LOADER_H

#include <duo/types.h>

struct vm;

enum kernel_kind { KERNEL_LINUX_IMAGE = 1, KERNEL_ELF = 2, KERNEL_RAW = 3 };

struct boot_plan {
	enum kernel_kind kind;
	gpa_t entry; /* boot hart starts here in S-mode, a0 = 0, a1 = fdt */
	gpa_t kernel_start, kernel_end; /* [start, end) incl. bss for Linux images */
	gpa_t initrd_start, initrd_end; /* 0,0 when none */
	gpa_t fdt_addr;
	u64 fdt_size;
};

/*
 * vm_boot_prepare - load kernel and (optional, ilen 0) initrd into vm's RAM, build the
 * device tree after them, and fill *bp. On any error (truncated or corrupt image, does not
 * fit in RAM) returns DUO_E* with one line in err naming what is wrong; RAM may be dirty.
 */
int vm_boot_prepare(struct vm *vm, const void *kernel, size_t klen, const void *initrd,
		    size_t ilen, struct boot_plan *bp, char *err, size_t errlen);

/* loader_load_kernel - the kernel step alone (kind, entry, kernel range in bp). */
int loader_load_kernel(struct vm *vm, const void *img, size_t len, struct boot_plan *bp,
		       char *err, size_t errlen);

#endif
