/*
 * loader.c - puts a guest's kernel, initrd and device tree into its RAM (duo/loader.h).
 *
 * Both backends read the files and hand the bytes here, so placement is identical on
 * type 1 and type 2. The kernel is a Linux `Image` (placed where its header asks, see
 * Linux Documentation/riscv/boot-image-header.rst and RISCV-PITFALLS item 12), an
 * ELF64 RISC-V executable, or a raw binary. Then, from the top of RAM down: the device
 * tree in the highest 2 MiB-aligned slot with PLAT_FDT_MAX_SIZE of room, the initrd
 * page-aligned right below it; both must stay above the kernel's end. Every size and
 * offset in an image is untrusted: all range checks are written so they cannot
 * overflow, and nothing is written to RAM before the kernel image passed them.
 */
#include <duo/err.h>
#include <duo/fdt.h>
#include <duo/lib.h>
#include <duo/loader.h>
#include <duo/platform.h>
#include <duo/vm.h>

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define MIB(x) (((u64)(x) + (1ULL << 20) - 1) >> 20) /* bytes -> MiB, rounded up */

/* Linux Image header (boot-image-header.rst): 64 bytes, little endian. */
#define IMG_HDR_SIZE 64
#define IMG_TEXT_OFFSET 8
#define IMG_IMAGE_SIZE 16
#define IMG_FLAGS 24
#define IMG_MAGIC 48  /* "RISCV\0\0\0", deprecated since header 0.2 */
#define IMG_MAGIC2 56 /* "RSC\x05" */
#define IMG_FLAG_BE 1ULL

/* ELF64 (System V gABI + RISC-V psABI): the fields we use. */
#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_RISCV 243
#define PT_LOAD 1

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		duo_vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Is [gpa, gpa + len) inside RAM? Overflow-safe; len 0 counts as inside if gpa is. */
static bool in_ram(const struct vm *vm, u64 gpa, u64 len)
{
	u64 off;

	if (gpa < PLAT_RAM_BASE)
		return false;
	off = gpa - PLAT_RAM_BASE;
	return off <= vm->ram_size && len <= vm->ram_size - off;
}

static u8 *ram_at(struct vm *vm, u64 gpa)
{
	return vm->ram + (gpa - PLAT_RAM_BASE);
}

static bool is_linux_image(const u8 *img, size_t len)
{
	return len >= IMG_HDR_SIZE && !duo_memcmp(img + IMG_MAGIC2, "RSC\x05", 4);
}

static bool is_elf(const u8 *img, size_t len)
{
	return len >= 4 && !duo_memcmp(img,
				       "\x7f"
				       "ELF",
				       4);
}

static int load_linux_image(struct vm *vm, const u8 *img, size_t len, struct boot_plan *bp,
			    char *err, size_t errlen)
{
	u64 text_offset = duo_le64(img + IMG_TEXT_OFFSET);
	u64 image_size = duo_le64(img + IMG_IMAGE_SIZE);
	u64 flags = duo_le64(img + IMG_FLAGS);
	u64 start;

	if (flags & IMG_FLAG_BE)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: big-endian Linux Image not supported");
	if (text_offset % SZ_2M)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: Linux Image text_offset 0x%llx is not 2 MiB aligned",
			    (unsigned long long)text_offset);
	if (image_size < len)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: Linux Image header says image_size %llu but the file has %llu "
			    "bytes",
			    (unsigned long long)image_size, (unsigned long long)len);
	if (text_offset >= vm->ram_size || image_size > vm->ram_size - text_offset)
		return fail(err, errlen, DUO_ENOMEM,
			    "kernel: Linux Image (%llu MiB at offset %llu MiB) does not fit in "
			    "%llu MiB of guest RAM",
			    (unsigned long long)MIB(image_size),
			    (unsigned long long)(text_offset >> 20),
			    (unsigned long long)(vm->ram_size >> 20));

	start = PLAT_RAM_BASE + text_offset;
	duo_memcpy(ram_at(vm, start), img, len);
	/* The rest of image_size is bss: zero it (RAM is reused across reboots). */
	duo_memset(ram_at(vm, start + len), 0, image_size - len);
	bp->kind = KERNEL_LINUX_IMAGE;
	bp->entry = start;
	bp->kernel_start = start;
	bp->kernel_end = start + image_size;
	return 0;
}

/* Check one PT_LOAD; returns 0 or fills err. i is its index for the message. */
static int check_segment(const struct vm *vm, const u8 *ph, size_t len, unsigned i, char *err,
			 size_t errlen)
{
	u64 off = duo_le64(ph + 8), paddr = duo_le64(ph + 24);
	u64 filesz = duo_le64(ph + 32), memsz = duo_le64(ph + 40);

	if (filesz > memsz)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: ELF segment %u has p_filesz 0x%llx > p_memsz 0x%llx", i,
			    (unsigned long long)filesz, (unsigned long long)memsz);
	if (off > len || filesz > len - off)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: ELF segment %u data [0x%llx, +0x%llx) runs past the end of "
			    "the file (%llu bytes)",
			    i, (unsigned long long)off, (unsigned long long)filesz,
			    (unsigned long long)len);
	if (!in_ram(vm, paddr, memsz))
		return fail(err, errlen, DUO_ERANGE,
			    "kernel: ELF segment %u [0x%llx, +0x%llx) is outside guest RAM "
			    "[0x%llx, 0x%llx)",
			    i, (unsigned long long)paddr, (unsigned long long)memsz,
			    (unsigned long long)PLAT_RAM_BASE,
			    (unsigned long long)(PLAT_RAM_BASE + vm->ram_size));
	return 0;
}

static int load_elf(struct vm *vm, const u8 *img, size_t len, struct boot_plan *bp, char *err,
		    size_t errlen)
{
	u64 entry, phoff, lo = UINT64_MAX, hi = 0;
	unsigned phnum, nload = 0;
	int r;

	if (len < EHDR_SIZE)
		return fail(err, errlen, DUO_EFORMAT, "kernel: truncated ELF header (%llu bytes)",
			    (unsigned long long)len);
	if (img[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, DUO_EFORMAT, "kernel: ELF is not 64-bit (ELFCLASS64)");
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, DUO_EFORMAT, "kernel: ELF is not little-endian");
	if (duo_le16(img + 18) != EM_RISCV)
		return fail(err, errlen, DUO_EFORMAT, "kernel: ELF machine %u is not RISC-V (243)",
			    duo_le16(img + 18));
	if (duo_le16(img + 16) != ET_EXEC)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: ELF type %u is not an executable (ET_EXEC)",
			    duo_le16(img + 16));
	entry = duo_le64(img + 24);
	phoff = duo_le64(img + 32);
	phnum = duo_le16(img + 56);
	if (duo_le16(img + 54) != PHDR_SIZE)
		return fail(err, errlen, DUO_EFORMAT, "kernel: ELF e_phentsize %u is not %u",
			    duo_le16(img + 54), PHDR_SIZE);
	if (phoff > len || (u64)phnum * PHDR_SIZE > len - phoff)
		return fail(err, errlen, DUO_EFORMAT,
			    "kernel: ELF program headers run past the end of the file");

	/* Validate every segment before writing any. */
	for (unsigned i = 0; i < phnum; i++) {
		const u8 *ph = img + phoff + (u64)i * PHDR_SIZE;
		u64 paddr = duo_le64(ph + 24), memsz = duo_le64(ph + 40);

		if (duo_le32(ph) != PT_LOAD)
			continue;
		r = check_segment(vm, ph, len, i, err, errlen);
		if (r)
			return r;
		if (memsz == 0)
			continue;
		nload++;
		lo = DUO_MIN(lo, paddr);
		hi = DUO_MAX(hi, paddr + memsz);
	}
	if (!nload)
		return fail(err, errlen, DUO_EFORMAT, "kernel: ELF has no loadable segment");
	if (!in_ram(vm, entry, 4))
		return fail(err, errlen, DUO_ERANGE,
			    "kernel: ELF entry point 0x%llx is outside guest RAM",
			    (unsigned long long)entry);

	for (unsigned i = 0; i < phnum; i++) {
		const u8 *ph = img + phoff + (u64)i * PHDR_SIZE;
		u64 off = duo_le64(ph + 8), paddr = duo_le64(ph + 24);
		u64 filesz = duo_le64(ph + 32), memsz = duo_le64(ph + 40);

		if (duo_le32(ph) != PT_LOAD || memsz == 0)
			continue;
		duo_memcpy(ram_at(vm, paddr), img + off, filesz);
		duo_memset(ram_at(vm, paddr + filesz), 0, memsz - filesz);
	}
	bp->kind = KERNEL_ELF;
	bp->entry = entry;
	bp->kernel_start = lo;
	bp->kernel_end = hi;
	return 0;
}

static int load_raw(struct vm *vm, const u8 *img, size_t len, struct boot_plan *bp, char *err,
		    size_t errlen)
{
	u64 start = PLAT_RAM_BASE + PLAT_KERNEL_OFFSET;

	if (!in_ram(vm, start, len))
		return fail(err, errlen, DUO_ENOMEM,
			    "kernel: raw image (%llu MiB) does not fit in %llu MiB of guest RAM at "
			    "offset 2 MiB",
			    (unsigned long long)MIB(len), (unsigned long long)(vm->ram_size >> 20));
	duo_memcpy(ram_at(vm, start), img, len);
	bp->kind = KERNEL_RAW;
	bp->entry = start;
	bp->kernel_start = start;
	bp->kernel_end = start + len;
	return 0;
}

int loader_load_kernel(struct vm *vm, const void *image, size_t len, struct boot_plan *bp,
		       char *err, size_t errlen)
{
	const u8 *img = image;

	if (err && errlen)
		err[0] = 0;
	if (!vm || !bp || !vm->ram || vm->ram_size == 0)
		return fail(err, errlen, DUO_EINVAL, "kernel: no guest RAM to load into");
	if (!img || len == 0)
		return fail(err, errlen, DUO_EFORMAT, "kernel: image is empty");
	if (is_linux_image(img, len))
		return load_linux_image(vm, img, len, bp, err, errlen);
	/* The deprecated magic without magic2, or a header cut short: a broken Image. */
	if (len >= IMG_MAGIC + 6 && !duo_memcmp(img + IMG_MAGIC, "RISCV\0", 6))
		return fail(err, errlen, DUO_EFORMAT,
			    len < IMG_HDR_SIZE ? "kernel: truncated Linux Image header (%llu bytes)"
					       : "kernel: Linux Image without magic2 \"RSC\\x05\" "
						 "at offset 56 (%llu bytes)",
			    (unsigned long long)len);
	if (is_elf(img, len))
		return load_elf(vm, img, len, bp, err, errlen);
	return load_raw(vm, img, len, bp, err, errlen);
}

int vm_boot_prepare(struct vm *vm, const void *kernel, size_t klen, const void *initrd, size_t ilen,
		    struct boot_plan *bp, char *err, size_t errlen)
{
	u64 ram_end, fdt_addr, istart = 0;
	long n;
	int r;

	duo_memset(bp, 0, sizeof(*bp));
	r = loader_load_kernel(vm, kernel, klen, bp, err, errlen);
	if (r)
		return r;

	/* The device tree: highest 2 MiB-aligned address with PLAT_FDT_MAX_SIZE above it. */
	ram_end = PLAT_RAM_BASE + vm->ram_size;
	fdt_addr = DUO_ALIGN_DOWN(ram_end - PLAT_FDT_MAX_SIZE, SZ_2M);
	if (fdt_addr < bp->kernel_end)
		return fail(err, errlen, DUO_ENOMEM,
			    "kernel (ends at %llu MiB) leaves no room for the device tree in %llu "
			    "MiB of guest RAM",
			    (unsigned long long)MIB(bp->kernel_end - PLAT_RAM_BASE),
			    (unsigned long long)(vm->ram_size >> 20));

	if (ilen) {
		if (!initrd || ilen > fdt_addr - bp->kernel_end ||
		    (istart = DUO_ALIGN_DOWN(fdt_addr - ilen, SZ_4K)) < bp->kernel_end)
			return fail(err, errlen, DUO_ENOMEM,
				    "initrd (%llu MiB) does not fit in %llu MiB of guest RAM above "
				    "the kernel",
				    (unsigned long long)MIB(ilen),
				    (unsigned long long)(vm->ram_size >> 20));
		duo_memcpy(ram_at(vm, istart), initrd, ilen);
		bp->initrd_start = istart;
		bp->initrd_end = istart + ilen;
	}

	bp->fdt_addr = fdt_addr;
	n = dtb_build(vm, bp, ram_at(vm, fdt_addr), PLAT_FDT_MAX_SIZE);
	if (n < 0)
		return fail(err, errlen, (int)n, "device tree: cannot build it (%s)",
			    duo_strerror((int)n));
	bp->fdt_size = (u64)n;
	return 0;
}
