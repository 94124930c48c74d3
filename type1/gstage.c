/*
 * gstage.c - the second translation stage: guest-physical -> host-physical, Sv39x4.
 *
 * Each VM gets its own tables built once at boot (from the heap): a 16 KiB, 16 KiB-aligned
 * root of 2048 entries (GPA bits 40:30) and 4 KiB tables below it. Only the VM's RAM is mapped
 * (GPA PLAT_RAM_BASE.. onto its carved block), with 2 MiB leaves where both sides are
 * aligned and 4 KiB leaves otherwise; every leaf is R/W/X with U=1 (G-stage accesses
 * count as U-mode) and A=D=1 (PITFALLS 3: nobody would set them). Device windows and
 * everything else stay unmapped, so every guest access to them traps as a guest-page
 * fault (trap.c). A VM's tables never change after boot, so the only G-stage fence
 * needed is the hfence.gvma each hart runs when it comes online. hgatp carries the
 * VM's VMID (its index + 1) when the hardware has enough VMID bits.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/platform.h>

#include "hv.h"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define PTE_PPN_SHIFT 10

#define SV39X4_GPA_BITS 41
#define ROOT_ENTRIES 2048
#define ROOT_SIZE (ROOT_ENTRIES * 8)

void t1_gstage_probe(void)
{
	/* hgatp is not legalized on QEMU 7.2 (PITFALLS 3), but the VMID field width is: write
	 * all ones with mode Sv39x4 and a null root, read back, clear. No guest
	 * runs on this hart yet, so the bogus value is never used for a translation. */
	csr_write(hgatp, HGATP_MODE_SV39X4 | (HGATP_VMID_MASK << HGATP_VMID_SHIFT));
	u64 v = csr_read(hgatp);
	csr_write(hgatp, 0);
	u64 vmid = (v >> HGATP_VMID_SHIFT) & HGATP_VMID_MASK;
	unsigned bits = 0;
	while (vmid & 1) {
		bits++;
		vmid >>= 1;
	}
	t1.vmid_bits = bits;
}

/*
 * table_alloc - a zeroed, naturally aligned table from the hypervisor heap (over-allocated
 * to align it). Tables live as long as the machine. Taking them from the heap rather than
 * the page allocator keeps the guests' RAM blocks back to back, with no 2 MiB alignment
 * gaps, so a VM set that passed pack_check_resources always fits.
 */
static u64 *table_alloc(u64 size)
{
	u8 *p = host_zalloc(2 * size);
	return p ? (u64 *)DUO_ALIGN_UP((u64)(uintptr_t)p, size) : NULL;
}

/* map - one leaf of 4 KiB (level 0) or 2 MiB (level 1) at gpa -> pa. */
static int map(u64 *root, gpa_t gpa, u64 pa, int level)
{
	u64 *t = &root[(gpa >> 30) & (ROOT_ENTRIES - 1)];
	for (int l = 1; l >= level; l--) {
		if (!(*t & PTE_V)) {
			u64 *next = table_alloc(4096);
			if (!next)
				return DUO_ENOMEM;
			*t = (((u64)next >> 12) << PTE_PPN_SHIFT) | PTE_V;
		} else if (*t & (PTE_R | PTE_W | PTE_X)) {
			return DUO_EBUSY; /* already a leaf: the caller maps each page once */
		}
		u64 *tbl = (u64 *)((*t >> PTE_PPN_SHIFT) << 12);
		t = &tbl[(gpa >> (12 + 9 * l)) & 511];
	}
	if (*t & PTE_V)
		return DUO_EBUSY;
	*t = ((pa >> 12) << PTE_PPN_SHIFT) | PTE_LEAF;
	return 0;
}

int t1_gstage_build(struct t1_vm *tvm)
{
	u64 root = (u64)(uintptr_t)table_alloc(ROOT_SIZE);
	if (!root)
		return DUO_ENOMEM;
	tvm->gpt_root = (u64 *)root;
	u64 size = tvm->vm.ram_size;
	gpa_t gpa = PLAT_RAM_BASE;
	u64 pa = tvm->ram_pa;
	if (gpa + size > (1ULL << SV39X4_GPA_BITS))
		return DUO_ERANGE;
	for (u64 off = 0; off < size;) {
		int r;
		u64 step;
		if (!((gpa + off) & 0x1fffff) && !((pa + off) & 0x1fffff) &&
		    size - off >= 0x200000) {
			step = 0x200000;
			r = map(tvm->gpt_root, gpa + off, pa + off, 1);
		} else {
			step = 4096;
			r = map(tvm->gpt_root, gpa + off, pa + off, 0);
		}
		if (r)
			return r;
		off += step;
	}
	u64 vmid_max = t1.vmid_bits ? (1ULL << t1.vmid_bits) - 1 : 0;
	tvm->vmid = tvm->vm.id + 1 <= vmid_max ? tvm->vm.id + 1 : 0;
	tvm->hgatp = HGATP_MODE_SV39X4 | ((u64)tvm->vmid << HGATP_VMID_SHIFT) | (root >> 12);
	return 0;
}

u64 t1_gstage_translate(struct t1_vm *tvm, gpa_t gpa)
{
	if (gpa >> SV39X4_GPA_BITS)
		return 0;
	u64 pte = tvm->gpt_root[(gpa >> 30) & (ROOT_ENTRIES - 1)];
	for (int l = 2;; l--) {
		if (!(pte & PTE_V))
			return 0;
		if (pte & (PTE_R | PTE_W | PTE_X)) {
			u64 mask = (1ULL << (12 + 9 * l)) - 1;
			return (((pte >> PTE_PPN_SHIFT) << 12) & ~mask) | (gpa & mask);
		}
		if (l == 0)
			return 0;
		u64 *tbl = (u64 *)((pte >> PTE_PPN_SHIFT) << 12);
		pte = tbl[(gpa >> (12 + 9 * (l - 1))) & 511];
	}
}
