/*
 * test_loader.c - unit tests for core/loader.c: Linux Image, ELF64 and raw kernels, and
 * the placement of initrd and device tree by vm_boot_prepare().
 *
 * Images are built in memory here. Each bad input (truncated or corrupt Image headers,
 * ELF segments outside RAM or past the end of the file, overflowing sizes, empty input,
 * an initrd too big for RAM) must give its DUO_E* and a one-line message; each good
 * path is checked down to the bytes in guest RAM, including zeroed bss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/fdt.h>
#include <duo/loader.h>
#include <duo/vm.h>

#include "harness.h"
#include "fake_host.h"

#define MiB (1ULL << 20)

/* A VM with `mib` MiB whose RAM is filled with 0xee (so zeroing is visible). */
static struct vm *new_vm(u32 mib)
{
	struct vm_config cfg;
	struct vm *vm = calloc(1, sizeof(*vm));
	u8 *ram = malloc((size_t)mib << 20);

	vm_config_defaults(&cfg);
	duo_strlcpy(cfg.kernel, "Image", sizeof(cfg.kernel)); /* vm_config_check wants one */
	cfg.memory_mib = mib;
	if (!vm || !ram || vm_init(vm, &cfg, 0, ram)) {
		free(vm);
		free(ram);
		return NULL;
	}
	memset(ram, 0xee, (size_t)mib << 20);
	return vm;
}

static u8 *ram(struct vm *vm, u64 gpa)
{
	return vm->ram + (gpa - PLAT_RAM_BASE);
}

static bool all_bytes(const u8 *p, u8 v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* One line, naming the problem. */
static bool one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

/* A Linux Image of `len` bytes: header, then a byte pattern. Caller frees. */
static u8 *make_image(size_t len, u64 text_offset, u64 image_size)
{
	u8 *p = malloc(len < 64 ? 64 : len);

	for (size_t i = 0; i < (len < 64 ? 64 : len); i++)
		p[i] = (u8)(i * 7 + 1);
	memset(p, 0, 64);
	duo_put_le32(p, 0x0000006f); /* code0: some instruction */
	duo_put_le64(p + 8, text_offset);
	duo_put_le64(p + 16, image_size);
	duo_put_le64(p + 24, 0); /* flags: little endian */
	duo_put_le32(p + 32, 2); /* version 0.2 */
	memcpy(p + 48, "RISCV\0\0\0", 8);
	memcpy(p + 56, "RSC\x05", 4);
	return p;
}

TEST(loader_linux_image_good)
{
	struct vm *vm = new_vm(64);
	struct boot_plan bp;
	char err[256];
	size_t len = 1 * MiB + 123;
	u8 *img = make_image(len, 0x200000, 3 * MiB);

	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(loader_load_kernel(vm, img, len, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.kind, KERNEL_LINUX_IMAGE);
	CHECK_EQ(bp.entry, 0x80200000);
	CHECK_EQ(bp.kernel_start, 0x80200000);
	CHECK_EQ(bp.kernel_end, 0x80200000 + 3 * MiB);
	CHECK(!memcmp(ram(vm, 0x80200000), img, len));
	CHECK(all_bytes(ram(vm, 0x80200000 + len), 0, 3 * MiB - len)); /* bss zeroed */
	CHECK(all_bytes(ram(vm, 0x80000000), 0xee, 2 * MiB));	       /* below: untouched */
	CHECK_EQ(*ram(vm, 0x80200000 + 3 * MiB), 0xee);

	/* A larger text_offset is honoured (still 2 MiB aligned). */
	duo_put_le64(img + 8, 0x400000);
	CHECK_EQ(loader_load_kernel(vm, img, len, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.entry, 0x80400000);
	free(img);
	fake_vm_free(vm);
}

TEST(loader_linux_image_bad_headers)
{
	struct vm *vm = new_vm(16);
	struct boot_plan bp;
	char err[256];
	u8 *img = make_image(4096, 0x200000, 8192);

	CHECK(vm != NULL);
	if (!vm)
		return;
	/* Header cut short: the deprecated magic is there, magic2 is not in the file. */
	CHECK_EQ(loader_load_kernel(vm, img, 60, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "truncated Linux Image header") && one_line(err));

	/* Old magic, magic2 corrupted. */
	img[57] = 'X';
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "magic2") && one_line(err));
	img[57] = 'S';

	duo_put_le64(img + 8, 0x201000); /* text_offset not 2 MiB aligned */
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "text_offset 0x201000") && one_line(err));
	duo_put_le64(img + 8, 0x200000);

	duo_put_le64(img + 16, 4095); /* image_size smaller than the file */
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "image_size 4095") && one_line(err));

	duo_put_le64(img + 16, 15 * MiB); /* 2 MiB + 15 MiB > 16 MiB of RAM */
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_ENOMEM);
	CHECK(strstr(err, "does not fit in 16 MiB") && one_line(err));

	duo_put_le64(img + 16, UINT64_MAX); /* text_offset + image_size wraps */
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_ENOMEM);
	duo_put_le64(img + 8, 0xffffffffffe00000ULL); /* huge aligned text_offset */
	duo_put_le64(img + 16, 8192);
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_ENOMEM);
	duo_put_le64(img + 8, 0x200000);

	duo_put_le64(img + 24, 1); /* big-endian flag */
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), DUO_EFORMAT);
	duo_put_le64(img + 24, 0);

	/* Nothing above reached RAM. */
	CHECK(all_bytes(vm->ram, 0xee, 16 * MiB));
	CHECK_EQ(loader_load_kernel(vm, img, 4096, &bp, err, sizeof(err)), 0);
	free(img);
	fake_vm_free(vm);
}

TEST(loader_empty_and_raw)
{
	struct vm *vm = new_vm(16);
	struct boot_plan bp;
	char err[256];
	static u8 raw[5000];

	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(loader_load_kernel(vm, raw, 0, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "empty") && one_line(err));
	CHECK_EQ(loader_load_kernel(vm, NULL, 10, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK_EQ(vm_boot_prepare(vm, raw, 0, NULL, 0, &bp, err, sizeof(err)), DUO_EFORMAT);

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (u8)(i ^ 0x5a);
	CHECK_EQ(loader_load_kernel(vm, raw, sizeof(raw), &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.kind, KERNEL_RAW);
	CHECK_EQ(bp.entry, PLAT_RAM_BASE + PLAT_KERNEL_OFFSET);
	CHECK_EQ(bp.kernel_end, PLAT_RAM_BASE + PLAT_KERNEL_OFFSET + sizeof(raw));
	CHECK(!memcmp(ram(vm, bp.entry), raw, sizeof(raw)));

	/* A raw image one byte larger than RAM above 2 MiB. */
	size_t big = 14 * MiB + 1;
	u8 *b = calloc(1, big);
	CHECK_EQ(loader_load_kernel(vm, b, big, &bp, err, sizeof(err)), DUO_ENOMEM);
	CHECK(strstr(err, "raw image") && one_line(err));
	CHECK_EQ(loader_load_kernel(vm, b, big - 1, &bp, err, sizeof(err)), 0);
	free(b);
	/* Errors are written even into a tiny buffer, always terminated. */
	char tiny[8];
	CHECK_EQ(loader_load_kernel(vm, raw, 0, &bp, tiny, sizeof(tiny)), DUO_EFORMAT);
	CHECK_EQ(strlen(tiny), 7);
	fake_vm_free(vm);
}

/* ---- ELF ------------------------------------------------------------------------------ */

struct seg {
	u32 type;
	u64 off, paddr, filesz, memsz;
};

/* An ELF64 RISC-V executable: header, phdrs at 64, file of `len` bytes (pattern). */
static u8 *make_elf(size_t len, u64 entry, const struct seg *s, unsigned n)
{
	u8 *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (u8)(i * 13 + 5);
	memset(p, 0, 64 + 56 * n);
	memcpy(p,
	       "\x7f"
	       "ELF",
	       4);
	p[4] = 2;		   /* ELFCLASS64 */
	p[5] = 1;		   /* little endian */
	p[6] = 1;		   /* EV_CURRENT */
	duo_put_le16(p + 16, 2);   /* ET_EXEC */
	duo_put_le16(p + 18, 243); /* EM_RISCV */
	duo_put_le32(p + 20, 1);
	duo_put_le64(p + 24, entry);
	duo_put_le64(p + 32, 64); /* e_phoff */
	duo_put_le16(p + 52, 64);
	duo_put_le16(p + 54, 56);
	duo_put_le16(p + 56, (u16)n);
	for (unsigned i = 0; i < n; i++) {
		u8 *ph = p + 64 + 56 * i;
		duo_put_le32(ph, s[i].type);
		duo_put_le32(ph + 4, 7);
		duo_put_le64(ph + 8, s[i].off);
		duo_put_le64(ph + 16, s[i].paddr);
		duo_put_le64(ph + 24, s[i].paddr);
		duo_put_le64(ph + 32, s[i].filesz);
		duo_put_le64(ph + 40, s[i].memsz);
		duo_put_le64(ph + 48, 0x1000);
	}
	return p;
}

TEST(loader_elf_good)
{
	struct vm *vm = new_vm(16);
	struct boot_plan bp;
	char err[256];
	struct seg s[3] = {
		{ 1, 0x1000, 0x80200000, 0x800, 0x800 },
		{ 4, 0, 0, 0, 0 },			  /* PT_NOTE: ignored */
		{ 1, 0x1800, 0x80300000, 0x400, 0x3000 }, /* data + bss */
	};
	u8 *elf = make_elf(0x2000, 0x80200010, s, 3);

	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(loader_load_kernel(vm, elf, 0x2000, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.kind, KERNEL_ELF);
	CHECK_EQ(bp.entry, 0x80200010);
	CHECK_EQ(bp.kernel_start, 0x80200000);
	CHECK_EQ(bp.kernel_end, 0x80303000);
	CHECK(!memcmp(ram(vm, 0x80200000), elf + 0x1000, 0x800));
	CHECK(!memcmp(ram(vm, 0x80300000), elf + 0x1800, 0x400));
	CHECK(all_bytes(ram(vm, 0x80300400), 0, 0x2c00));
	CHECK_EQ(*ram(vm, 0x80303000), 0xee);
	CHECK_EQ(*ram(vm, 0x80200800), 0xee);
	free(elf);
	fake_vm_free(vm);
}

/* Load a one-segment ELF built from `s` (file 0x2000 bytes); expect `want`. */
static int elf_one(struct vm *vm, struct seg s, u64 entry, char *err, size_t errlen)
{
	struct boot_plan bp;
	u8 *elf = make_elf(0x2000, entry, &s, 1);
	int r = loader_load_kernel(vm, elf, 0x2000, &bp, err, errlen);

	free(elf);
	return r;
}

TEST(loader_elf_bad_segments)
{
	struct vm *vm = new_vm(16);
	char err[256];
	const u64 R = PLAT_RAM_BASE, E = PLAT_RAM_BASE + 16 * MiB;

	CHECK(vm != NULL);
	if (!vm)
		return;
	/* Sanity: the base case loads. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, R, 0x100, 0x100 }, R, err, 256), 0);
	/* Below RAM, straddling its start, past its end, ending exactly at its end. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, 0x1000, 0x100, 0x100 }, R, err, 256),
		 DUO_ERANGE);
	CHECK(strstr(err, "outside guest RAM") && one_line(err));
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, R - 0x10, 0x100, 0x100 }, R, err, 256),
		 DUO_ERANGE);
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, E - 0x80, 0x100, 0x100 }, R, err, 256),
		 DUO_ERANGE);
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, E - 0x100, 0x100, 0x100 }, R, err, 256), 0);
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, E, 0, 0x1 }, R, err, 256), DUO_ERANGE);
	/* paddr + memsz wraps around 2^64. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, R + 0x1000, 0x100, UINT64_MAX - 0xfff }, R,
			 err, 256),
		 DUO_ERANGE);
	/* p_offset + p_filesz wraps; p_offset past the file; data runs off the end. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, UINT64_MAX - 0x10, R, 0x100, 0x100 }, R, err, 256),
		 DUO_EFORMAT);
	CHECK(strstr(err, "past the end of the file") && one_line(err));
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x3000, R, 0, 0x100 }, R, err, 256), DUO_EFORMAT);
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1f00, R, 0x101, 0x200 }, R, err, 256), DUO_EFORMAT);
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1f00, R, 0x100, 0x200 }, R, err, 256), 0);
	/* p_filesz > p_memsz. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, R, 0x200, 0x100 }, R, err, 256), DUO_EFORMAT);
	CHECK(strstr(err, "p_filesz") && one_line(err));
	/* Entry outside RAM; no loadable segment. */
	CHECK_EQ(elf_one(vm, (struct seg){ 1, 0x1000, R, 0x100, 0x100 }, 0x1000, err, 256),
		 DUO_ERANGE);
	CHECK(strstr(err, "entry point") && one_line(err));
	CHECK_EQ(elf_one(vm, (struct seg){ 4, 0x1000, R, 0x100, 0x100 }, R, err, 256), DUO_EFORMAT);
	CHECK(strstr(err, "no loadable segment") && one_line(err));
	fake_vm_free(vm);
}

TEST(loader_elf_bad_headers)
{
	struct vm *vm = new_vm(16);
	struct boot_plan bp;
	char err[256];
	struct seg s = { 1, 0x1000, PLAT_RAM_BASE, 0x100, 0x100 };
	u8 *elf = make_elf(0x2000, PLAT_RAM_BASE, &s, 1);

	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(loader_load_kernel(vm, elf, 40, &bp, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "truncated ELF header") && one_line(err));

	struct {
		size_t off, size;
		u64 bad;
	} corrupt[] = {
		{ 4, 1, 1 },		   /* ELFCLASS32 */
		{ 5, 1, 2 },		   /* big endian */
		{ 18, 2, 62 },		   /* EM_X86_64 */
		{ 16, 2, 3 },		   /* ET_DYN */
		{ 54, 2, 32 },		   /* e_phentsize */
		{ 32, 8, 0x1ff0 },	   /* phdrs run past the end */
		{ 32, 8, UINT64_MAX - 8 }, /* e_phoff wraps */
		{ 56, 2, 0xffff },	   /* e_phnum way too big */
	};
	for (size_t i = 0; i < DUO_ARRAY_SIZE(corrupt); i++) {
		u8 save[8];
		memcpy(save, elf + corrupt[i].off, corrupt[i].size);
		for (size_t k = 0; k < corrupt[i].size; k++)
			elf[corrupt[i].off + k] = (u8)(corrupt[i].bad >> (8 * k));
		err[0] = 0;
		int r = loader_load_kernel(vm, elf, 0x2000, &bp, err, sizeof(err));
		if (r != DUO_EFORMAT)
			printf("    corrupt[%zu]: got %d (%s)\n", i, r, err);
		CHECK_EQ(r, DUO_EFORMAT);
		CHECK(one_line(err));
		memcpy(elf + corrupt[i].off, save, corrupt[i].size);
	}
	CHECK(all_bytes(vm->ram, 0xee, 16 * MiB));
	CHECK_EQ(loader_load_kernel(vm, elf, 0x2000, &bp, err, sizeof(err)), 0);
	free(elf);
	fake_vm_free(vm);
}

/* ---- vm_boot_prepare: initrd and device tree placement --------------------------------- */

static u64 be64(const u8 *p)
{
	return ((u64)duo_be32(p) << 32) | duo_be32(p + 4);
}

/* Find property `name` anywhere in a blob we built; returns its data or NULL. */
static const u8 *find_prop(const u8 *fdt, const char *name, u32 *len)
{
	const u8 *s = fdt + duo_be32(fdt + 8), *str = fdt + duo_be32(fdt + 12);
	u32 size = duo_be32(fdt + 36);

	for (u32 off = 0; off + 4 <= size;) {
		u32 tok = duo_be32(s + off);
		off += 4;
		if (tok == 1) {
			off += (u32)(strlen((const char *)s + off) + 4) & ~3u;
		} else if (tok == 3) {
			u32 l = duo_be32(s + off), no = duo_be32(s + off + 4);
			if (!strcmp((const char *)str + no, name)) {
				*len = l;
				return s + off + 8;
			}
			off += 8 + ((l + 3) & ~3u);
		}
	}
	return NULL;
}

TEST(loader_boot_prepare_places_initrd_and_fdt)
{
	struct vm *vm = new_vm(64);
	struct boot_plan bp;
	char err[256];
	u8 *img = make_image(2 * MiB, 0x200000, 5 * MiB);
	size_t ilen = 3 * MiB + 77;
	u8 *initrd = malloc(ilen);
	const u8 *p;
	u32 len;

	CHECK(vm != NULL);
	if (!vm)
		return;
	for (size_t i = 0; i < ilen; i++)
		initrd[i] = (u8)(i * 31);
	CHECK_EQ(vm_boot_prepare(vm, img, 2 * MiB, initrd, ilen, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.kind, KERNEL_LINUX_IMAGE);
	CHECK_EQ(bp.entry, 0x80200000);
	/* 64 MiB: RAM ends at 0x84000000; the DTB gets the top 2 MiB-aligned slot. */
	CHECK_EQ(bp.fdt_addr, 0x83e00000);
	CHECK(bp.fdt_size > 0 && bp.fdt_size <= PLAT_FDT_MAX_SIZE);
	CHECK_EQ(duo_be32(ram(vm, bp.fdt_addr)), 0xd00dfeed);
	CHECK_EQ(duo_be32(ram(vm, bp.fdt_addr) + 4), bp.fdt_size);
	/* initrd: page aligned, right below the DTB, above the kernel, bytes intact. */
	CHECK_EQ(bp.initrd_start % 4096, 0);
	CHECK_EQ(bp.initrd_end, bp.initrd_start + ilen);
	CHECK(bp.initrd_end <= bp.fdt_addr && bp.fdt_addr - bp.initrd_end < 4096);
	CHECK(bp.initrd_start >= bp.kernel_end);
	CHECK(!memcmp(ram(vm, bp.initrd_start), initrd, ilen));
	/* ...and the device tree says so. */
	p = find_prop(ram(vm, bp.fdt_addr), "linux,initrd-start", &len);
	CHECK(p && len == 8 && be64(p) == bp.initrd_start);
	p = find_prop(ram(vm, bp.fdt_addr), "linux,initrd-end", &len);
	CHECK(p && len == 8 && be64(p) == bp.initrd_end);

	/* Without an initrd: no initrd range, no initrd properties. */
	CHECK_EQ(vm_boot_prepare(vm, img, 2 * MiB, NULL, 0, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.initrd_start, 0);
	CHECK_EQ(bp.initrd_end, 0);
	CHECK(find_prop(ram(vm, bp.fdt_addr), "linux,initrd-start", &len) == NULL);
	CHECK(find_prop(ram(vm, bp.fdt_addr), "bootargs", &len) != NULL);
	free(initrd);
	free(img);
	fake_vm_free(vm);
}

TEST(loader_boot_prepare_odd_ram_size)
{
	struct vm *vm = new_vm(17);
	struct boot_plan bp;
	char err[256];
	static u8 raw[4096];

	CHECK(vm != NULL);
	if (!vm)
		return;
	raw[0] = 0x6f;
	CHECK_EQ(vm_boot_prepare(vm, raw, sizeof(raw), raw, 100, &bp, err, sizeof(err)), 0);
	/* RAM ends at 0x81100000; the DTB needs 64 KiB below that, 2 MiB aligned. */
	CHECK_EQ(bp.fdt_addr, 0x81000000);
	CHECK_EQ(bp.initrd_start, 0x81000000 - 4096);
	fake_vm_free(vm);
}

TEST(loader_boot_prepare_huge_initrd)
{
	struct vm *vm = new_vm(64);
	struct boot_plan bp;
	char err[256];
	u8 *img = make_image(1 * MiB, 0x200000, 20 * MiB);
	/* Free: 0x83e00000 - 0x81600000 = 40 MiB; 41 MiB cannot fit, 40 MiB can. */
	size_t big = 41 * MiB;
	u8 *initrd = calloc(1, big);

	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(vm_boot_prepare(vm, img, 1 * MiB, initrd, big, &bp, err, sizeof(err)), DUO_ENOMEM);
	CHECK(!strcmp(err, "initrd (41 MiB) does not fit in 64 MiB of guest RAM above the kernel"));
	CHECK_EQ(vm_boot_prepare(vm, img, 1 * MiB, initrd, 40 * MiB, &bp, err, sizeof(err)), 0);
	CHECK_EQ(bp.initrd_start, bp.kernel_end);
	/* An absurd length (a caller's bug, or size_t from a hostile source) is refused too. */
	CHECK_EQ(vm_boot_prepare(vm, img, 1 * MiB, initrd, SIZE_MAX, &bp, err, sizeof(err)),
		 DUO_ENOMEM);
	/* A kernel whose bss reaches the DTB slot leaves no room for the tree. */
	duo_put_le64(img + 16, 62 * MiB - 0x10000 + 1);
	CHECK_EQ(vm_boot_prepare(vm, img, 1 * MiB, NULL, 0, &bp, err, sizeof(err)), DUO_ENOMEM);
	CHECK(strstr(err, "no room for the device tree") && one_line(err));
	free(initrd);
	free(img);
	fake_vm_free(vm);
}
