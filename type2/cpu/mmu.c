/*
 * mmu.c - guest virtual memory for the type-2 emulator: the Sv39/Sv48/Sv57 page-table
 * walk (privileged spec, "Virtual-Memory System"), the software TLB that caches its
 * results as host pointers, the slow paths of loads and stores (TLB misses, MMIO,
 * accesses that straddle a page, stores into pages holding decoded code) and the
 * halfword fetch of page-straddling instructions. The decoded-block cache is bcache.c.
 *
 * Physical accesses go to guest RAM (vm->ram, contiguous at PLAT_RAM_BASE) or to the
 * core's MMIO bus; an MMIO error is an access fault in the guest. A/D bits are set
 * with a compare-exchange on the PTE, re-walking if another vCPU changed it.
 */
#include <duo/err.h>
#include <duo/mmio.h>
#include "rv_internal.h"
#include "jit.h"

#define PTE_V DUO_BIT(0)
#define PTE_R DUO_BIT(1)
#define PTE_W DUO_BIT(2)
#define PTE_X DUO_BIT(3)
#define PTE_U DUO_BIT(4)
#define PTE_G DUO_BIT(5)
#define PTE_A DUO_BIT(6)
#define PTE_D DUO_BIT(7)
#define PTE_RESERVED (0x3ffULL << 54) /* 63:54: no Svpbmt/Svnapot here */
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK ((1ULL << 44) - 1)

static const u64 page_fault[3] = { RV_EXC_LOAD_PAGE, RV_EXC_STORE_PAGE, RV_EXC_INSN_PAGE };
static const u64 access_fault[3] = { RV_EXC_LOAD_ACCESS, RV_EXC_STORE_ACCESS, RV_EXC_INSN_ACCESS };

/* The leaf's permissions allow acc by the current privilege? */
static bool pte_allows(struct rv_cpu *c, u64 pte, enum rv_acc acc)
{
	bool user = pte & PTE_U;
	if (acc == RV_ACC_X) {
		if (!(pte & PTE_X))
			return false;
		/* S-mode never executes user pages, whatever SUM says. */
		return c->priv == RV_PRIV_U ? user : !user;
	}
	if (c->priv == RV_PRIV_U ? !user : (user && !(c->mstatus & SSTATUS_SUM)))
		return false;
	if (acc == RV_ACC_W)
		return pte & PTE_W;
	return (pte & PTE_R) || ((c->mstatus & SSTATUS_MXR) && (pte & PTE_X));
}

bool rv_translate(struct rv_cpu *c, u64 va, enum rv_acc acc, u64 *pa)
{
	u64 mode = c->satp >> SATP_MODE_SHIFT;
	int levels;
	if (mode == 0) {
		*pa = va;
		return true;
	}
	levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
	int vabits = 12 + 9 * levels;
	/* Bits 63..vabits-1 must all equal bit vabits-1. */
	s64 top = (s64)va >> (vabits - 1);
	if (top != 0 && top != -1)
		return rv_raise(c, page_fault[acc], va);
again:;
	u64 table = (c->satp & SATP_PPN_MASK) << RV_PAGE_SHIFT;
	for (int i = levels - 1; i >= 0; i--) {
		u64 idx = (va >> (12 + 9 * i)) & 511;
		u64 *p = vm_gpa_ptr(c->vm, table + idx * 8, 8);
		if (!p)
			return rv_raise(c, access_fault[acc], va);
		u64 pte = __atomic_load_n(p, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
			return rv_raise(c, page_fault[acc], va);
		u64 ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
		if (!(pte & (PTE_R | PTE_X))) {
			/* Pointer to the next level. */
			if (i == 0)
				return rv_raise(c, page_fault[acc], va);
			table = ppn << RV_PAGE_SHIFT;
			continue;
		}
		if (!pte_allows(c, pte, acc))
			return rv_raise(c, page_fault[acc], va);
		u64 lowmask = (1ULL << (9 * i)) - 1;
		if (ppn & lowmask) /* misaligned superpage */
			return rv_raise(c, page_fault[acc], va);
		u64 want = pte | PTE_A | (acc == RV_ACC_W ? PTE_D : 0);
		if (want != pte && !__atomic_compare_exchange_n(p, &pte, want, false,
								__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			goto again;
		ppn |= (va >> RV_PAGE_SHIFT) & lowmask;
		*pa = (ppn << RV_PAGE_SHIFT) | (va & ~RV_PAGE_MASK);
		return true;
	}
	return rv_raise(c, page_fault[acc], va); /* not reached */
}

static void tlb_invalidate_set(struct rv_tlb_set *s)
{
	for (int a = 0; a < 3; a++)
		for (unsigned i = 0; i < RV_TLB_SIZE; i++)
			s->e[a][i].tag = RV_TLB_INVALID;
}

void rv_tlb_flush_all(struct rv_cpu *c)
{
	struct rv_state *st = rv_st(c);
	for (int s = 0; s < RV_NTLBSET; s++)
		tlb_invalidate_set(&st->tlb[s]);
	st->refetch = true;
}

void rv_tlb_flush_va(struct rv_cpu *c, u64 va)
{
	struct rv_state *st = rv_st(c);
	unsigned i = (va >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1);
	/* A superpage leaf may be cached under any of its 4 KiB pages, but each entry is
	 * tagged by its own page, so dropping this one index suffices for this va. */
	for (int s = 0; s < RV_NTLBSET; s++)
		for (int a = 0; a < 3; a++)
			st->tlb[s].e[a][i].tag = RV_TLB_INVALID;
	st->refetch = true;
}

struct rv_tlb_entry *rv_tlb_lookup(struct rv_cpu *c, u64 va, enum rv_acc acc)
{
	struct rv_state *st = rv_st(c);
	u64 page = va & RV_PAGE_MASK;
	struct rv_tlb_entry *e = &st->cur->e[acc][(va >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1)];
	u64 pa;
	if ((e->tag & RV_PAGE_MASK) == page && !(e->tag & RV_TLB_INVALID))
		return e;
	if (!rv_translate(c, va, acc, &pa))
		return NULL;
	pa &= RV_PAGE_MASK;
	u8 *h = vm_gpa_ptr(c->vm, pa, RV_PAGE_SIZE);
	e->pa = pa;
	if (h) {
		e->tag = page;
		e->addend = (uintptr_t)h - (uintptr_t)page;
		if (acc == RV_ACC_W && rv_cpage_find(st->code, pa >> RV_PAGE_SHIFT))
			e->tag |= RV_TLB_CODE;
	} else {
		e->tag = page | RV_TLB_MMIO;
		e->addend = 0;
	}
	return e;
}

/* One access that does not cross a page. */
static bool access_page(struct rv_cpu *c, u64 va, unsigned size, bool write, u64 *val)
{
	enum rv_acc acc = write ? RV_ACC_W : RV_ACC_R;
	struct rv_tlb_entry *e = rv_tlb_lookup(c, va, acc);
	if (!e)
		return false;
	if (!(e->tag & RV_TLB_MMIO)) {
		u8 *h = (u8 *)(uintptr_t)(va + e->addend);
		if (write) {
			memcpy(h, val, size); /* little-endian host */
			if ((e->tag & RV_TLB_CODE) &&
			    !rv_code_written(c, e->pa | (va & ~RV_PAGE_MASK), size))
				e->tag &= ~RV_TLB_CODE;
		} else {
			*val = 0;
			memcpy(val, h, size);
		}
		return true;
	}
	u64 pa = e->pa | (va & ~RV_PAGE_MASK);
	u64 v = write ? *val : 0;
	if (mmio_access(&c->vm->bus, pa, size, write, &v) != 0)
		return rv_raise(c, access_fault[acc], va);
	if (!write)
		*val = v;
	return true;
}

bool rv_load_slow(struct rv_cpu *c, u64 va, unsigned size, u64 *val)
{
	if ((va & ~RV_PAGE_MASK) + size <= RV_PAGE_SIZE)
		return access_page(c, va, size, false, val);
	/* Straddles two pages: byte by byte (Linux has no misaligned-access handler). */
	u64 v = 0;
	for (unsigned i = 0; i < size; i++) {
		u64 byte;
		if (!access_page(c, va + i, 1, false, &byte))
			return false;
		v |= byte << (8 * i);
	}
	*val = v;
	return true;
}

bool rv_store_slow(struct rv_cpu *c, u64 va, unsigned size, u64 val)
{
	if ((va & ~RV_PAGE_MASK) + size <= RV_PAGE_SIZE)
		return access_page(c, va, size, true, &val);
	/* Straddles two pages: check both for write, and that every byte has RAM or a
	 * device behind it, before changing anything. */
	u64 second = (va & RV_PAGE_MASK) + RV_PAGE_SIZE;
	if (!rv_tlb_lookup(c, va, RV_ACC_W) || !rv_tlb_lookup(c, second, RV_ACC_W))
		return false;
	for (unsigned i = 0; i < size; i++) {
		struct rv_tlb_entry *e = rv_tlb_lookup(c, va + i, RV_ACC_W);
		u64 pa = e->pa | ((va + i) & ~RV_PAGE_MASK);
		if ((e->tag & RV_TLB_MMIO) && !mmio_find(&c->vm->bus, pa, 1))
			return rv_raise(c, RV_EXC_STORE_ACCESS, va + i);
	}
	for (unsigned i = 0; i < size; i++) {
		u64 byte = (val >> (8 * i)) & 0xff;
		if (!access_page(c, va + i, 1, true, &byte))
			return false;
	}
	return true;
}

bool rv_fetch16(struct rv_cpu *c, u64 va, u16 *out)
{
	struct rv_tlb_entry *e = rv_tlb_lookup(c, va, RV_ACC_X);
	if (!e)
		return false;
	if (e->tag & RV_TLB_MMIO)
		return rv_raise(c, RV_EXC_INSN_ACCESS, va);
	memcpy(out, (u8 *)(uintptr_t)(va + e->addend), 2);
	return true;
}
