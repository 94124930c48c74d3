/*
 * fuzz_loader.c - libFuzzer target: the kernel loader (Linux Image, ELF64, raw), the
 * initrd placement and the device tree built after them (core/loader.c, core/dtb.c,
 * core/fdt.c), through vm_boot_prepare() - what both backends call - into a small
 * guest RAM (16..23 MiB, so odd sizes too).
 *
 * Input: [ram][vcpus][flags][ilen u32 LE] then the kernel image bytes.
 *   ram: 16 + ram % 8 MiB; vcpus: 1 + vcpus % 8.
 *   flags: bit 0 stamps the Image magic "RSC\x05" at 56; bit 1 stamps a valid ELF64
 *   RISC-V executable identity (class, data, type, machine, phentsize); bit 2 passes an
 *   initrd of ilen % 24 MiB bytes (the kernel bytes, then zeroes); bit 3 uses the
 *   kernel's first bytes as the command line (bootargs in the DT); bit 4 pulls header
 *   fields into range (Image text_offset/image_size; ELF phoff/phnum, every phdr a
 *   PT_LOAD in RAM, entry in RAM) so the fuzzer spends its time past the checks.
 *
 * Checked, besides ASan/UBSan: a failure returns a DUO_E* with a one-line message; a
 * success places the kernel, initrd and device tree inside RAM without overlap (initrd
 * page aligned between kernel end and DT, DT 2 MiB aligned), the bytes arrive intact,
 * and the device tree is well formed (header, token stream, string offsets) and
 * carries the command line and the initrd range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/lib.h>
#include <duo/loader.h>
#include <duo/vm.h>

#include "../unit/fake_host.h"

#define HDR 7
#define MiB (1ULL << 20)
#define INITRD_MAX (24 * MiB)
#define RAM_END(vm) (PLAT_RAM_BASE + (vm)->ram_size)

#define CHECK_OR_DIE(cond, ...)                                                     \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "fuzz_loader: %s: ", #cond);                \
			fprintf(stderr, __VA_ARGS__);                               \
			fputc('\n', stderr);                                        \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* [ram - 16 MiB][vcpus - 1], made on first use. VMs of one RAM size share its buffer
 * (exactly that size, so ASan sees a byte past the end). */
static struct vm *vms[8][PLAT_MAX_VCPUS];
static u8 *ram_buf[8];

static struct vm *get_vm(unsigned mib, unsigned n, const char *cmdline)
{
	struct vm **p = &vms[mib - 16][n - 1];
	static bool reset;
	if (!reset) {
		fake_host_reset(); /* host_zalloc works, time 0 */
		reset = true;
	}
	if (!ram_buf[mib - 16] && !(ram_buf[mib - 16] = calloc(1, (size_t)mib * MiB)))
		abort();
	if (!*p) {
		struct vm_config cfg;
		vm_config_defaults(&cfg);
		cfg.memory_mib = mib;
		cfg.vcpus = n;
		duo_strlcpy(cfg.kernel, "fuzz-kernel", sizeof(cfg.kernel));
		*p = calloc(1, sizeof(**p));
		if (!*p || vm_init(*p, &cfg, 0, ram_buf[mib - 16]))
			abort();
	}
	duo_strlcpy((*p)->cfg.cmdline, cmdline, sizeof((*p)->cfg.cmdline));
	return *p;
}

static u8 *at(struct vm *vm, u64 gpa)
{
	return vm->ram + (gpa - PLAT_RAM_BASE);
}

/* Pull an ELF's header fields into range (flag bit 4). */
static void tame_elf(u8 *k, size_t len, u64 ram_size)
{
	u64 room = len > 64 ? len - 64 : 0;
	unsigned phnum = (unsigned)DUO_MIN(room / 56, (u64)(duo_le16(k + 56) % 8));

	duo_put_le64(k + 24, PLAT_RAM_BASE + duo_le64(k + 24) % ram_size);
	duo_put_le64(k + 32, 64);
	duo_put_le16(k + 56, (u16)phnum);
	for (unsigned i = 0; i < phnum; i++) {
		u8 *ph = k + 64 + 56 * i;
		u64 off = duo_le64(ph + 8) % (len + 1);
		u64 filesz = duo_le64(ph + 32) % (len - off + 1);
		duo_put_le32(ph, 1);
		duo_put_le64(ph + 8, off);
		duo_put_le64(ph + 24, PLAT_RAM_BASE + duo_le64(ph + 24) % ram_size);
		duo_put_le64(ph + 32, filesz);
		duo_put_le64(ph + 40, filesz + duo_le64(ph + 40) % (4 * MiB));
	}
}

static u64 be64(const u8 *p)
{
	return (u64)duo_be32(p) << 32 | duo_be32(p + 4);
}

/* ---- a device-tree reader, independent of core/fdt.c ------------------------------ */

struct dt_seen {
	const u8 *bootargs;
	u32 bootargs_len;
	bool has_start, has_end;
	u64 start, end;
};

static void check_dtb(const u8 *b, u64 size, struct dt_seen *s)
{
	CHECK_OR_DIE(size >= 40 && duo_be32(b) == 0xd00dfeed, "DT magic");
	u32 total = duo_be32(b + 4), off_struct = duo_be32(b + 8), off_str = duo_be32(b + 12);
	u32 off_rsv = duo_be32(b + 16), size_str = duo_be32(b + 32), size_struct = duo_be32(b + 36);
	CHECK_OR_DIE(total == size, "totalsize %u vs %llu", total, (unsigned long long)size);
	CHECK_OR_DIE(duo_be32(b + 20) == 17 && duo_be32(b + 24) <= 17, "DT version");
	CHECK_OR_DIE(off_rsv >= 40 && off_rsv % 8 == 0 && (u64)off_rsv + 16 <= total, "rsvmap");
	CHECK_OR_DIE(be64(b + off_rsv) == 0 && be64(b + off_rsv + 8) == 0,
		     "rsvmap terminator");
	CHECK_OR_DIE(off_struct % 4 == 0 && (u64)off_struct + size_struct <= total, "struct");
	CHECK_OR_DIE((u64)off_str + size_str <= total, "strings");
	CHECK_OR_DIE(off_struct >= off_rsv + 16 && off_str >= off_struct + size_struct,
		     "blocks overlap");

	const u8 *p = b + off_struct, *end = p + size_struct, *str = b + off_str;
	int depth = 0;
	bool done = false;
	memset(s, 0, sizeof(*s));
	while (!done) {
		CHECK_OR_DIE(p + 4 <= end, "token stream runs off the struct block");
		u32 tok = duo_be32(p);
		p += 4;
		switch (tok) {
		case 1: { /* BEGIN_NODE */
			const u8 *nul = memchr(p, 0, (size_t)(end - p));
			CHECK_OR_DIE(nul, "unterminated node name");
			p += ((size_t)(nul - p) + 1 + 3) & ~(size_t)3;
			depth++;
			break;
		}
		case 2: /* END_NODE */
			CHECK_OR_DIE(depth > 0, "END_NODE at depth 0");
			depth--;
			break;
		case 3: { /* PROP */
			CHECK_OR_DIE(p + 8 <= end, "truncated PROP");
			u32 len = duo_be32(p), nameoff = duo_be32(p + 4);
			p += 8;
			CHECK_OR_DIE(len <= (u64)(end - p), "PROP value past the block");
			CHECK_OR_DIE(nameoff < size_str && memchr(str + nameoff, 0, size_str - nameoff),
				     "bad nameoff %u", nameoff);
			CHECK_OR_DIE(depth > 0, "PROP outside a node");
			const char *name = (const char *)str + nameoff;
			if (!strcmp(name, "bootargs")) {
				s->bootargs = p;
				s->bootargs_len = len;
			} else if (!strcmp(name, "linux,initrd-start")) {
				CHECK_OR_DIE(len == 8, "initrd-start len %u", len);
				s->has_start = true;
				s->start = be64(p);
			} else if (!strcmp(name, "linux,initrd-end")) {
				CHECK_OR_DIE(len == 8, "initrd-end len %u", len);
				s->has_end = true;
				s->end = be64(p);
			}
			p += (len + 3) & ~3u;
			break;
		}
		case 4: /* NOP */
			break;
		case 9: /* END */
			CHECK_OR_DIE(depth == 0, "END at depth %d", depth);
			done = true;
			break;
		default:
			CHECK_OR_DIE(0, "bad token 0x%x", tok);
		}
	}
}

static void check_success(struct vm *vm, const struct boot_plan *bp, const u8 *k, size_t klen,
			  const u8 *initrd, u64 ilen)
{
	u64 ram_end = RAM_END(vm);

	CHECK_OR_DIE(bp->kind >= KERNEL_LINUX_IMAGE && bp->kind <= KERNEL_RAW, "kind %d", bp->kind);
	CHECK_OR_DIE(bp->kernel_start >= PLAT_RAM_BASE && bp->kernel_start < bp->kernel_end &&
			     bp->kernel_end <= ram_end,
		     "kernel [0x%llx, 0x%llx)", (unsigned long long)bp->kernel_start,
		     (unsigned long long)bp->kernel_end);
	CHECK_OR_DIE(vm_gpa_ptr(vm, bp->entry, 4), "entry 0x%llx", (unsigned long long)bp->entry);
	if (bp->kind == KERNEL_LINUX_IMAGE) {
		CHECK_OR_DIE(bp->entry == bp->kernel_start && bp->kernel_start % (2 * MiB) == 0 &&
				     bp->kernel_end - bp->kernel_start >= klen,
			     "Image placement");
		CHECK_OR_DIE(!memcmp(at(vm, bp->kernel_start), k, klen), "Image bytes");
		if (bp->kernel_end - bp->kernel_start > klen)
			CHECK_OR_DIE(*at(vm, bp->kernel_end - 1) == 0 &&
					     *at(vm, bp->kernel_start + klen) == 0,
				     "Image bss not zeroed");
	} else if (bp->kind == KERNEL_RAW) {
		CHECK_OR_DIE(bp->entry == PLAT_RAM_BASE + PLAT_KERNEL_OFFSET &&
				     bp->kernel_end == bp->entry + klen,
			     "raw placement");
		CHECK_OR_DIE(!memcmp(at(vm, bp->entry), k, klen), "raw bytes");
	} else {
		CHECK_OR_DIE(bp->entry == duo_le64(k + 24), "ELF entry");
	}

	/* Device tree: 2 MiB aligned, PLAT_FDT_MAX_SIZE of room, above the kernel. */
	CHECK_OR_DIE(bp->fdt_addr % (2 * MiB) == 0 && bp->fdt_addr >= bp->kernel_end &&
			     bp->fdt_addr + PLAT_FDT_MAX_SIZE <= ram_end,
		     "DT at 0x%llx, kernel end 0x%llx", (unsigned long long)bp->fdt_addr,
		     (unsigned long long)bp->kernel_end);
	CHECK_OR_DIE(bp->fdt_size > 0 && bp->fdt_size <= PLAT_FDT_MAX_SIZE, "DT size");

	/* initrd: page aligned, between the kernel and the DT, intact. */
	if (ilen) {
		CHECK_OR_DIE(bp->initrd_start % 4096 == 0 && bp->initrd_start >= bp->kernel_end &&
				     bp->initrd_end == bp->initrd_start + ilen &&
				     bp->initrd_end <= bp->fdt_addr,
			     "initrd [0x%llx, 0x%llx)", (unsigned long long)bp->initrd_start,
			     (unsigned long long)bp->initrd_end);
		u64 n = DUO_MIN(ilen, 4096ULL);
		CHECK_OR_DIE(!memcmp(at(vm, bp->initrd_start), initrd, n) &&
				     !memcmp(at(vm, bp->initrd_end - n), initrd + ilen - n, n),
			     "initrd bytes");
	} else {
		CHECK_OR_DIE(bp->initrd_start == 0 && bp->initrd_end == 0, "initrd without one");
	}

	struct dt_seen s;
	check_dtb(at(vm, bp->fdt_addr), bp->fdt_size, &s);
	size_t cl = strlen(vm->cfg.cmdline);
	CHECK_OR_DIE(s.bootargs && s.bootargs_len == cl + 1 &&
			     !memcmp(s.bootargs, vm->cfg.cmdline, cl + 1),
		     "bootargs");
	CHECK_OR_DIE(s.has_start == (ilen != 0) && s.has_end == (ilen != 0), "initrd props");
	if (ilen)
		CHECK_OR_DIE(s.start == bp->initrd_start && s.end == bp->initrd_end,
			     "initrd props 0x%llx..0x%llx", (unsigned long long)s.start,
			     (unsigned long long)s.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static u8 *initrd;
	char cmdline[CFG_CMDLINE_MAX], err[256];
	struct boot_plan bp;

	if (size < HDR)
		return 0;
	if (!initrd) {
		initrd = calloc(1, INITRD_MAX);
		if (!initrd)
			abort();
	}
	unsigned mib = 16 + data[0] % 8, n = 1 + data[1] % PLAT_MAX_VCPUS, flags = data[2];
	u64 ilen = (flags & 4) ? duo_le32(data + 3) % (INITRD_MAX + 1) : 0;
	size_t klen = size - HDR;
	u8 *k = malloc(klen ? klen : 1); /* exactly klen: ASan sees any over-read */
	if (!k)
		return 0;
	memcpy(k, data + HDR, klen);

	cmdline[0] = 0;
	if (flags & 8) {
		size_t cl = DUO_MIN(klen, sizeof(cmdline) - 1);
		memcpy(cmdline, k, cl);
		cmdline[cl] = 0;
	}
	struct vm *vm = get_vm(mib, n, cmdline);

	if ((flags & 1) && klen >= 64) {
		memcpy(k + 56, "RSC\x05", 4);
		if (flags & 16) {
			duo_put_le64(k + 8, (duo_le64(k + 8) % 12) * 2 * MiB);
			duo_put_le64(k + 16, klen + duo_le64(k + 16) % (20 * MiB));
			duo_put_le64(k + 24, 0);
		}
	} else if ((flags & 2) && klen >= 64) {
		memcpy(k, "\x7f" "ELF\x02\x01", 6);
		duo_put_le16(k + 16, 2);
		duo_put_le16(k + 18, 243);
		duo_put_le16(k + 54, 56);
		if (flags & 16)
			tame_elf(k, klen, vm->ram_size);
	}

	/* The initrd: the kernel's bytes, then zeroes (what a previous input left is
	 * cleared back to zero below). */
	size_t icopy = (size_t)DUO_MIN((u64)klen, ilen);
	memcpy(initrd, k, icopy);

	memset(err, 0x55, sizeof(err));
	int r = vm_boot_prepare(vm, k, klen, ilen ? initrd : NULL, ilen, &bp, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "vm_boot_prepare: %d %s kind %d entry 0x%llx initrd 0x%llx+%llu\n", r,
			r ? err : "", bp.kind, (unsigned long long)bp.entry,
			(unsigned long long)bp.initrd_start, (unsigned long long)ilen);
	if (r) {
		CHECK_OR_DIE(r < 0, "returned %d", r);
		CHECK_OR_DIE(memchr(err, 0, sizeof(err)) && err[0] && !strchr(err, '\n'),
			     "failure %d without a one-line message", r);
	} else {
		check_success(vm, &bp, k, klen, initrd, ilen);
	}
	memset(initrd, 0, icopy);
	free(k);
	return 0;
}
