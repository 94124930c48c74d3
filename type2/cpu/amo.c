/*
 * amo.c - the A extension for the type-2 emulator: LR/SC and the AMOs, done as host
 * atomic operations on guest RAM so they are atomic between vCPU threads. The LR
 * reservation is a guest-physical address plus the value LR read; SC succeeds only if
 * the reservation is for its address and a compare-exchange against that value works
 * (an ABA change in between goes unnoticed, which LR/SC's forward-progress rules allow).
 * Misaligned LR/SC/AMOs trap (address-misaligned); on anything but RAM they raise an
 * access fault.
 */
#include "rv_internal.h"

static s64 amo_min(s64 a, s64 b)
{
	return a < b ? a : b;
}

static s64 amo_max(s64 a, s64 b)
{
	return a > b ? a : b;
}

/* The new memory value of AMO funct5 f applied to old value o and operand v. */
static u64 amo_apply(u32 f, u64 o, u64 v, bool w)
{
	s64 so = w ? (s32)o : (s64)o, sv = w ? (s32)v : (s64)v;
	u64 uo = w ? (u32)o : o, uv = w ? (u32)v : v;
	switch (f) {
	case 0x10:
		return (u64)amo_min(so, sv);
	case 0x14:
		return (u64)amo_max(so, sv);
	case 0x18:
		return uo < uv ? uo : uv;
	default: /* 0x1c */
		return uo > uv ? uo : uv;
	}
}

/*
 * AMO_RMW - the read-modify-write of AMO funct5 f with operand v on *p; returns the old
 * value. One host atomic where the host has it, else a compare-exchange loop around
 * amo_apply. Stamped out per width (w: 32-bit, sign-extending min/max) so each keeps its
 * own native atomics.
 */
#define AMO_RMW(name, type, w)                                                                     \
	static type name(type *p, u32 f, type v)                                                   \
	{                                                                                          \
		switch (f) {                                                                       \
		case 0x00:                                                                         \
			return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);                         \
		case 0x01:                                                                         \
			return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);                        \
		case 0x04:                                                                         \
			return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);                         \
		case 0x08:                                                                         \
			return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);                          \
		case 0x0c:                                                                         \
			return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);                         \
		}                                                                                  \
		type o = __atomic_load_n(p, __ATOMIC_RELAXED);                                     \
		while (!__atomic_compare_exchange_n(p, &o, (type)amo_apply(f, o, v, w), true,      \
						    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))           \
			;                                                                          \
		return o;                                                                          \
	}
AMO_RMW(amo64, u64, false)
AMO_RMW(amo32, u32, true)

bool rv_amo(struct rv_cpu *c, const struct rv_insn *d)
{
	struct rv_state *st = rv_st(c);
	bool w = d->op == RV_OP_LR_W || d->op == RV_OP_SC_W || d->op == RV_OP_AMO_W;
	bool lr = d->op == RV_OP_LR_W || d->op == RV_OP_LR_D;
	bool sc = d->op == RV_OP_SC_W || d->op == RV_OP_SC_D;
	u64 va = c->x[d->rs1];
	unsigned size = w ? 4 : 8;

	if (va & (size - 1))
		return rv_raise(c, lr ? RV_EXC_LOAD_MISALIGNED : RV_EXC_STORE_MISALIGNED, va);
	struct rv_tlb_entry *e = rv_tlb_lookup(c, va, lr ? RV_ACC_R : RV_ACC_W);
	if (!e)
		return false;
	if (e->tag & RV_TLB_MMIO)
		return rv_raise(c, lr ? RV_EXC_LOAD_ACCESS : RV_EXC_STORE_ACCESS, va);
	void *h = (void *)(uintptr_t)(va + e->addend);
	u64 pa = e->pa | (va & ~RV_PAGE_MASK);
	u64 v = c->x[d->rs2], res;

	if (lr) {
		res = w ? (u64)(s64)(s32)__atomic_load_n((u32 *)h, __ATOMIC_SEQ_CST)
			: __atomic_load_n((u64 *)h, __ATOMIC_SEQ_CST);
		c->resv_addr = pa;
		c->resv_valid = true;
		st->resv_val = res;
		c->x[d->rd] = res;
		return true;
	}
	if ((e->tag & RV_TLB_CODE) && !rv_code_written(c, pa, size))
		e->tag &= ~RV_TLB_CODE;
	if (sc) {
		bool ok = false;
		if (c->resv_valid && c->resv_addr == pa) {
			if (w) {
				u32 exp = (u32)st->resv_val;
				ok = __atomic_compare_exchange_n((u32 *)h, &exp, (u32)v, false,
								 __ATOMIC_SEQ_CST,
								 __ATOMIC_SEQ_CST);
			} else {
				u64 exp = st->resv_val;
				ok = __atomic_compare_exchange_n((u64 *)h, &exp, v, false,
								 __ATOMIC_SEQ_CST,
								 __ATOMIC_SEQ_CST);
			}
		}
		c->resv_valid = false;
		c->x[d->rd] = ok ? 0 : 1;
		return true;
	}
	if (w)
		res = (u64)(s64)(s32)amo32((u32 *)h, d->aux, (u32)v);
	else
		res = amo64((u64 *)h, d->aux, v);
	c->x[d->rd] = res;
	return true;
}
