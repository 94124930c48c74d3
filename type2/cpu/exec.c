/*
 * exec.c - the type-2 emulator's interpreter: runs decoded instructions out of the
 * decoded-block cache (bcache.c) with threaded dispatch (GNU computed goto). `ip` walks
 * the instructions of the current block; pc is only materialized when needed (page
 * address + the instruction's offset). Sequential flow is `ip++`, running into the
 * block's END; a taken direct branch, jal or END whose target is in the same page is
 * chained to the target block the first time it is looked up, later taken directly; a
 * jalr goes straight to the block it reached last time while the execute TLB entry of
 * its target's page still maps that block's page.
 * Everything else goes through `jump`: a hash lookup by guest-physical pc while on the
 * same page or when the execute TLB entry of pc's page hits, else (a TLB miss or flush,
 * a code-page store, a privilege change, `refetch`) a translation of pc (mmu.c) and a
 * lookup or a new block.
 *
 * Guest exceptions: a helper records cause/tval in rv_state and the handler jumps to
 * `exception`, which enters the guest's trap handler and carries on. The loop returns
 * to cpu.c when the chunk is done, on ecall/wfi/halt, and after anything that may
 * unmask an interrupt.
 */
#include <sched.h>

#include "rv_internal.h"
#include "fpu_host.h"
#include "jit.h"

#define SX32(v) ((u64)(s64)(s32)(v))

static u64 mulh(s64 a, s64 b)
{
	return (u64)(((__int128)a * (__int128)b) >> 64);
}

static u64 mulhsu(s64 a, u64 b)
{
	return (u64)(((__int128)a * (__int128)(unsigned __int128)b) >> 64);
}

static u64 mulhu(u64 a, u64 b)
{
	return (u64)(((unsigned __int128)a * b) >> 64);
}

static u64 div_s(s64 a, s64 b)
{
	if (b == 0)
		return ~0ULL;
	if (a == INT64_MIN && b == -1)
		return (u64)a;
	return (u64)(a / b);
}

static u64 rem_s(s64 a, s64 b)
{
	if (b == 0)
		return (u64)a;
	if (a == INT64_MIN && b == -1)
		return 0;
	return (u64)(a % b);
}

static u64 divw(s32 a, s32 b)
{
	if (b == 0)
		return ~0ULL;
	if (a == INT32_MIN && b == -1)
		return SX32(a);
	return SX32(a / b);
}

static u64 remw(s32 a, s32 b)
{
	if (b == 0)
		return SX32(a);
	if (a == INT32_MIN && b == -1)
		return 0;
	return SX32(a % b);
}

static u64 orc_b(u64 v)
{
	u64 r = 0;
	for (int i = 0; i < 64; i += 8)
		if ((v >> i) & 0xff)
			r |= 0xffULL << i;
	return r;
}

static u64 rol64(u64 v, unsigned s)
{
	s &= 63;
	return s ? (v << s) | (v >> (64 - s)) : v;
}

static u32 rol32(u32 v, unsigned s)
{
	s &= 31;
	return s ? (v << s) | (v >> (32 - s)) : v;
}

/* A fence's StoreLoad ordering costs a host barrier; other orderings the x86-TSO host
 * gives for free, so they only need the compiler to keep its hands off. */
static void do_fence(u32 raw)
{
	bool pred_w = raw & (0x5U << 24); /* PW or PO */
	bool succ_r = raw & (0xaU << 20); /* SR or SI */
	if (pred_w && succ_r)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

int rv_exec(struct rv_cpu *c, u64 n, u64 *retired)
{
#define RV_LABEL(name) [RV_OP_##name] = &&op_##name,
	static const void *const labels[RV_NOPS] = { RV_OPS(RV_LABEL) };
	struct rv_state *st = rv_st(c);
	u64 *const x = c->x;
	u64 pc = c->pc;	 /* valid at `jump`, `refetch`, `exception_pc` and `out` */
	u64 page_va = 1; /* never a page address: translate first */
	u64 page_pa = 0; /* guest-physical page behind page_va */
	union rv_slot *const arena = st->arena;
	const u8 *const jit_code = st->jit ? rv_jit_code(st->jit) : NULL;
	const struct rv_jblock *const jblk = st->jit ? rv_jit_block(st->jit, 0) : NULL;
	const u32 hot = rv_jit_hot << st->code->hot_shift; /* fixed while any vCPU is in here */
	struct rv_tlb_set *tlb = st->cur;
	const struct rv_insn *ip = NULL;
	/* taken direct branch or END waiting for its target block, to chain to it */
	struct rv_insn *link_from = NULL;
	/* jalr waiting for its target block, to remember it as its prediction */
	struct rv_insn *jalr_from = NULL;
	/* a page-straddling instruction runs from cross[0]; cross[1] ends the page */
	struct rv_insn cross[2];
	s64 left = (s64)n;
	int ret = RV_CONT;
	u64 v;

	st->refetch = false;
	st->irq_check = false;

#define PC() (page_va + ip->off)
/* Slot fields other vCPUs may change while this one runs the slot (rv_internal.h). */
#define OP(p) __atomic_load_n(&(p)->op, __ATOMIC_RELAXED)
#define LINK(p) __atomic_load_n(&(p)->raw, __ATOMIC_ACQUIRE)
#define SET_LINK(p, v) __atomic_store_n(&(p)->raw, (v), __ATOMIC_RELEASE)
#define DISPATCH()                                                                                 \
	do {                                                                                       \
		if (unlikely(--left < 0))                                                          \
			goto out_budget;                                                           \
		goto *labels[OP(ip)];                                                              \
	} while (0)
#define NEXT()                                                                                     \
	do {                                                                                       \
		ip++;                                                                              \
		DISPATCH();                                                                        \
	} while (0)
/* After a helper that may have flushed the TLB/code or unmasked an interrupt. */
#define NEXT_CHECKED()                                                                             \
	do {                                                                                       \
		ip++;                                                                              \
		if (unlikely(st->refetch | st->irq_check))                                         \
			goto slow_next;                                                            \
		DISPATCH();                                                                        \
	} while (0)
#define JUMP(target)                                                                               \
	do {                                                                                       \
		pc = (target);                                                                     \
		goto jump;                                                                         \
	} while (0)
/* Taken direct branch/jal: the chained block if known, else through `jump`. */
#define TAKE(cur)                                                                                  \
	do {                                                                                       \
		u32 to_ = LINK(ip);                                                                \
		if (likely(to_ != RV_TGT_NONE)) {                                                  \
			ip = &arena[to_].i;                                                        \
			DISPATCH();                                                                \
		}                                                                                  \
		link_from = (struct rv_insn *)ip;                                                  \
		JUMP((cur) + IMM);                                                                 \
	} while (0)
#define RD x[ip->rd]
#define RS1 x[ip->rs1]
#define RS2 x[ip->rs2]
#define IMM ((u64)(s64)ip->imm)
#define ALU(name, expr)                                                                            \
	op_##name : RD = (expr);                                                                   \
	NEXT();
#define BRANCH(name, cond)                                                                         \
	op_##name : if (cond) TAKE(PC());                                                          \
	NEXT();
#define LOAD(name, size, conv)                                                                     \
	op_##name : if (unlikely(!rv_load(c, tlb, RS1 + IMM, size, &v))) goto exception_ip;        \
	RD = (conv);                                                                               \
	x[0] = 0;                                                                                  \
	NEXT();
#define STORE(name, size)                                                                          \
	op_##name : switch (rv_store(c, tlb, RS1 + IMM, size, RS2))                                \
	{                                                                                          \
	case 0:                                                                                    \
		goto exception_ip;                                                                 \
	case 2:                                                                                    \
		NEXT_CHECKED();                                                                    \
	}                                                                                          \
	NEXT();

jump: /* continue at pc (not yet counted) */
	if (likely((pc & RV_PAGE_MASK) == page_va)) {
		const struct rv_insn *t = rv_find_block(st, page_pa | (pc & ~RV_PAGE_MASK));
		if (likely(t != NULL)) {
			if (link_from) {
				SET_LINK(link_from, (u32)((const union rv_slot *)t - arena));
				link_from = NULL;
			}
			if (jalr_from) {
				SET_LINK(jalr_from, (u32)((const union rv_slot *)t - arena) - 1);
				jalr_from = NULL;
			}
			ip = t;
			DISPATCH();
		}
	} else {
		/* Another page: its execute entry in the current view (a hit is RAM), then the
		 * hash. No chaining across pages (the mapping may change). */
		const struct rv_tlb_entry *e =
			&tlb->e[RV_ACC_X][(pc >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1)];
		if (likely(e->tag == (pc & RV_PAGE_MASK))) {
			const struct rv_insn *t = rv_find_block(st, e->pa | (pc & ~RV_PAGE_MASK));
			if (likely(t != NULL)) {
				link_from = NULL;
				if (jalr_from) {
					SET_LINK(jalr_from, (u32)((const union rv_slot *)t - arena) - 1);
					jalr_from = NULL;
				}
				page_va = pc & RV_PAGE_MASK;
				page_pa = e->pa;
				ip = t;
				DISPATCH();
			}
		}
	}
	if (unlikely(--left < 0))
		goto out_budget_pc;
	{
		struct rv_insn *from = link_from, *jfrom = jalr_from;
		link_from = NULL;
		jalr_from = NULL;
		c->pc = pc;
		const struct rv_insn *t = rv_fetch_block(c, pc);
		if (unlikely(!t)) {
			if (st->flush_why) { /* the arena is full: flush in rv_cpu_run, come back */
				left++;
				goto out;
			}
			goto exception_pc;
		}
		/* Chain only inside the page (no flush happens while we are in here). */
		if (from && (pc & RV_PAGE_MASK) == page_va && st->code_pa == page_pa)
			SET_LINK(from, (u32)((const union rv_slot *)t - arena));
		if (jfrom)
			SET_LINK(jfrom, (u32)((const union rv_slot *)t - arena) - 1);
		st->refetch = false;
		page_va = pc & RV_PAGE_MASK;
		page_pa = st->code_pa;
		tlb = st->cur;
		ip = t;
		goto *labels[OP(ip)];
	}

slow_next: /* ip is the next instruction */
	pc = PC();
	if (st->refetch) {
		st->refetch = false;
		page_va = 1;
		tlb = st->cur;
	}
	if (st->irq_check)
		goto out;
	goto jump;

exception_ip:
	pc = PC();
exception_pc:
	c->pc = pc;
	rv_take_trap(c, st->exc_cause, st->exc_tval);
	if (unlikely(c->halt_reason)) {
		ret = RV_EXIT_HALT;
		goto out_nopc;
	}
	pc = c->pc;
	page_va = 1;
	tlb = st->cur;
	st->refetch = false;
	goto jump;

op_BLOCK : {
	const struct rv_jblock *b = &jblk[__atomic_load_n(&ip->raw, __ATOMIC_RELAXED) & ~RV_JIT_ID];
	if (unlikely(left + 1 < (s64)b->n))
		goto block_first; /* budget too short for all of it: just this one */
	struct rv_jpage pg = { page_va, page_pa };
	struct rv_jret r = rv_jit_call(jit_code, b, x, &pg, left + 1, tlb);
	left = r.left;
	page_va = pg.va; /* a final jalr may have gone on in another page */
	page_pa = pg.pa;
	if (r.k & RV_JIT_TAKEN) { /* a branch of the run was taken: follow it */
		ip = &arena[r.k & ~RV_JIT_TAKEN].i;
		TAKE(PC());
	}
	const struct rv_insn *entry = ip;
	/* in this block or, past a branch not taken, a later one */
	ip = &arena[r.k].i;
	if (OP(ip) == RV_OP_END) { /* END, chained: its target */
		u32 to = LINK(ip);
		if (to != RV_TGT_NONE) {
			ip = &arena[to].i;
			DISPATCH();
		}
	}
	if (unlikely(--left < 0))
		goto out_budget;
	if (ip == entry) /* its first instruction is the interpreter's (a TLB miss, the budget) */
		goto block_first;
	goto *labels[OP(ip)];
}
block_first: /* run the first instruction of translated run ip alone (already counted) */
	if (likely(ip->aux < RV_OP_FLW || ip->aux > RV_OP_FNMADD_D))
		goto *labels[ip->aux];
	{
		/* An FP instruction: its operands (`raw`, `aux`) gave way to the run's, so
		 * decode it again from guest memory (its page is unchanged while the block
		 * lives) and continue at the run's second slot through an END. */
		const u8 *h = vm_gpa_ptr(c->vm, page_pa | ip->off, ip->len);
		u32 raw = 0;
		memcpy(&raw, h, ip->len);
		if (ip->len == 2)
			rv_decode16((u16)raw, &cross[0]);
		else
			rv_decode32(raw, &cross[0]);
		cross[0].off = ip->off;
		cross[1] = (struct rv_insn){ .op = RV_OP_END,
					     .off = (u16)(ip->off + ip->len),
					     .raw = (u32)((const union rv_slot *)(ip + 1) - arena) };
		ip = &cross[0];
		goto *labels[ip->op];
	}
op_HOT : {
	/* Count by compare-exchange: another vCPU may be turning the slot into a BLOCK,
	 * whose id carries RV_JIT_ID, so a stale count never overwrites it. */
	u32 cnt = __atomic_load_n(&ip->raw, __ATOMIC_RELAXED);
	if (cnt & RV_JIT_ID) /* translated just now: it is an RV_OP_BLOCK from now on */
		goto *labels[ip->aux];
	if ((cnt & RV_HOT_COUNT) + 1 < hot) {
		__atomic_compare_exchange_n(&((struct rv_insn *)ip)->raw, &cnt, cnt + 1, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		goto *labels[ip->aux];
	}
	rv_translate_hot(st, (struct rv_insn *)ip);
	goto *labels[OP(ip)];
}
op_CROSS : {
	u16 lo, hi;
	pc = PC();
	if (!rv_fetch16(c, pc, &lo) || !rv_fetch16(c, pc + 2, &hi))
		goto exception_pc;
	rv_decode32(lo | ((u32)hi << 16), &cross[0]);
	cross[0].off = (u16)(RV_PAGE_SIZE - 2);
	if (rv_is_direct(cross[0].op) || cross[0].op == RV_OP_JALR)
		cross[0].raw = RV_TGT_NONE;
	cross[1] = (struct rv_insn){ .op = RV_OP_END,
				     .off = (u16)(RV_PAGE_SIZE + 2),
				     .raw = RV_TGT_NONE };
	ip = &cross[0];
	goto *labels[cross[0].op];
}
op_END: /* not an instruction: the block's continuation */
	left++;
	{
		u32 to = LINK(ip);
		if (likely(to != RV_TGT_NONE)) {
			ip = &arena[to].i;
			DISPATCH();
		}
	}
	if (ip->off < RV_PAGE_SIZE)
		link_from = (struct rv_insn *)ip;
	JUMP(PC());
op_STALE: /* a dead block's first instruction (only dead blocks link to it): look up pc */
	left++;
	JUMP(PC());
op_ILLEGAL:
	rv_raise(c, RV_EXC_ILLEGAL, ip->raw);
	goto exception_ip;
op_NOP:
	NEXT();
	ALU(LI, IMM)
	ALU(MV, RS1)
	ALU(LUI, IMM)
	ALU(AUIPC, PC() + IMM)
op_JAL:
	v = PC();
	RD = v + ip->len;
	x[0] = 0;
	TAKE(v);
op_JALR:
	v = (RS1 + IMM) & ~1ULL;
	RD = PC() + ip->len;
	x[0] = 0;
	/* Its last target block (header index in `raw`), if v still maps to it: the execute
	 * entry of v's page hits in the current view (RAM), and the block starts at that
	 * physical address and is alive. */
	u32 pred = LINK(ip);
	if (likely(pred != RV_TGT_NONE)) {
		const struct rv_tlb_entry *e =
			&tlb->e[RV_ACC_X][(v >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1)];
		const union rv_slot *h = &arena[pred];
		if (likely(e->tag == (v & RV_PAGE_MASK) &&
			   h->h.pa == (e->pa | (v & ~RV_PAGE_MASK)) && OP(&h[1].i) != RV_OP_STALE)) {
			page_va = v & RV_PAGE_MASK;
			page_pa = e->pa;
			ip = &h[1].i;
			DISPATCH();
		}
	}
	jalr_from = (struct rv_insn *)ip;
	JUMP(v);
	BRANCH(BEQ, RS1 == RS2)
	BRANCH(BNE, RS1 != RS2)
	BRANCH(BLT, (s64)RS1 < (s64)RS2)
	BRANCH(BGE, (s64)RS1 >= (s64)RS2)
	BRANCH(BLTU, RS1 < RS2)
	BRANCH(BGEU, RS1 >= RS2)
	LOAD(LB, 1, (u64)(s64)(s8)v)
	LOAD(LH, 2, (u64)(s64)(s16)v)
	LOAD(LW, 4, SX32(v))
	LOAD(LD, 8, v)
	LOAD(LBU, 1, v)
	LOAD(LHU, 2, v)
	LOAD(LWU, 4, v)
	STORE(SB, 1)
	STORE(SH, 2)
	STORE(SW, 4)
	STORE(SD, 8)
	ALU(ADDI, RS1 + IMM)
	ALU(SLTI, (s64)RS1 < (s64)IMM)
	ALU(SLTIU, RS1 < IMM)
	ALU(XORI, RS1 ^ IMM)
	ALU(ORI, RS1 | IMM)
	ALU(ANDI, RS1 & IMM)
	ALU(SLLI, RS1 << ip->imm)
	ALU(SRLI, RS1 >> ip->imm)
	ALU(SRAI, (u64)((s64)RS1 >> ip->imm))
	ALU(ADD, RS1 + RS2)
	ALU(SUB, RS1 - RS2)
	ALU(SLL, RS1 << (RS2 & 63))
	ALU(SLT, (s64)RS1 < (s64)RS2)
	ALU(SLTU, RS1 < RS2)
	ALU(XOR, RS1 ^ RS2)
	ALU(SRL, RS1 >> (RS2 & 63))
	ALU(SRA, (u64)((s64)RS1 >> (RS2 & 63)))
	ALU(OR, RS1 | RS2)
	ALU(AND, RS1 & RS2)
	ALU(ADDIW, SX32(RS1 + IMM))
	ALU(SLLIW, SX32((u32)RS1 << ip->imm))
	ALU(SRLIW, SX32((u32)RS1 >> ip->imm))
	ALU(SRAIW, SX32((s32)RS1 >> ip->imm))
	ALU(ADDW, SX32(RS1 + RS2))
	ALU(SUBW, SX32(RS1 - RS2))
	ALU(SLLW, SX32((u32)RS1 << (RS2 & 31)))
	ALU(SRLW, SX32((u32)RS1 >> (RS2 & 31)))
	ALU(SRAW, SX32((s32)RS1 >> (RS2 & 31)))
	ALU(MUL, RS1 * RS2)
	ALU(MULH, mulh((s64)RS1, (s64)RS2))
	ALU(MULHSU, mulhsu((s64)RS1, RS2))
	ALU(MULHU, mulhu(RS1, RS2))
	ALU(DIV, div_s((s64)RS1, (s64)RS2))
	ALU(DIVU, RS2 ? RS1 / RS2 : ~0ULL)
	ALU(REM, rem_s((s64)RS1, (s64)RS2))
	ALU(REMU, RS2 ? RS1 % RS2 : RS1)
	ALU(MULW, SX32(RS1 * RS2))
	ALU(DIVW, divw((s32)RS1, (s32)RS2))
	ALU(DIVUW, (u32)RS2 ? SX32((u32)RS1 / (u32)RS2) : ~0ULL)
	ALU(REMW, remw((s32)RS1, (s32)RS2))
	ALU(REMUW, (u32)RS2 ? SX32((u32)RS1 % (u32)RS2) : SX32(RS1))
	ALU(SH1ADD, (RS1 << 1) + RS2)
	ALU(SH2ADD, (RS1 << 2) + RS2)
	ALU(SH3ADD, (RS1 << 3) + RS2)
	ALU(ADD_UW, (u64)(u32)RS1 + RS2)
	ALU(SH1ADD_UW, ((u64)(u32)RS1 << 1) + RS2)
	ALU(SH2ADD_UW, ((u64)(u32)RS1 << 2) + RS2)
	ALU(SH3ADD_UW, ((u64)(u32)RS1 << 3) + RS2)
	ALU(SLLI_UW, (u64)(u32)RS1 << ip->imm)
	ALU(ANDN, RS1 & ~RS2)
	ALU(ORN, RS1 | ~RS2)
	ALU(XNOR, ~(RS1 ^ RS2))
	ALU(CLZ, RS1 ? (u64)__builtin_clzll(RS1) : 64)
	ALU(CLZW, (u32)RS1 ? (u64)__builtin_clz((u32)RS1) : 32)
	ALU(CTZ, RS1 ? (u64)__builtin_ctzll(RS1) : 64)
	ALU(CTZW, (u32)RS1 ? (u64)__builtin_ctz((u32)RS1) : 32)
	ALU(CPOP, (u64)__builtin_popcountll(RS1))
	ALU(CPOPW, (u64)__builtin_popcount((u32)RS1))
	ALU(MAX, (s64)RS1 > (s64)RS2 ? RS1 : RS2)
	ALU(MAXU, RS1 > RS2 ? RS1 : RS2)
	ALU(MIN, (s64)RS1 < (s64)RS2 ? RS1 : RS2)
	ALU(MINU, RS1 < RS2 ? RS1 : RS2)
	ALU(SEXT_B, (u64)(s64)(s8)RS1)
	ALU(SEXT_H, (u64)(s64)(s16)RS1)
	ALU(ZEXT_H, (u16)RS1)
	ALU(ROL, rol64(RS1, (unsigned)RS2))
	ALU(ROLW, SX32(rol32((u32)RS1, (unsigned)RS2)))
	ALU(ROR, rol64(RS1, (unsigned)(64 - (RS2 & 63))))
	ALU(RORW, SX32(rol32((u32)RS1, (unsigned)(32 - (RS2 & 31)))))
	ALU(RORI, rol64(RS1, (unsigned)(64 - ip->imm)))
	ALU(RORIW, SX32(rol32((u32)RS1, (unsigned)(32 - ip->imm))))
	ALU(ORC_B, orc_b(RS1))
	ALU(REV8, __builtin_bswap64(RS1))
op_FENCE:
	do_fence(ip->raw);
	/* `pause` (Zihintpause; Linux's cpu_relax): this vCPU spins on a lock held by another.
	 * With more vCPU threads than host cores the holder may not be running: give the core
	 * away now and then instead of burning the whole time slice. */
	if (ip->raw == 0x0100000fU && (++st->pauses & 31) == 0)
		sched_yield();
	NEXT();
op_FENCE_I: /* drop all decoded code before the next instruction: in rv_cpu_run */
	st->flush_why |= RV_FLUSH_FENCE;
	st->flush_gen = __atomic_load_n(&st->code->gen, __ATOMIC_ACQUIRE);
	pc = PC() + ip->len;
	goto out;
op_ECALL:
	if (c->priv == RV_PRIV_U) {
		rv_raise(c, RV_EXC_ECALL_U, 0);
		goto exception_ip;
	}
	pc = PC();
	ret = RV_EXIT_ECALL;
	goto out;
op_EBREAK:
	rv_raise(c, RV_EXC_BREAKPOINT, PC());
	goto exception_ip;
op_SRET:
	if (!rv_sret(c, ip))
		goto exception_ip;
	pc = c->pc;
	st->refetch = false;
	st->irq_check = false;
	goto out;
op_WFI:
	if (c->priv == RV_PRIV_U)
		goto op_ILLEGAL;
	pc = PC() + ip->len;
	ret = rv_cpu_irq_pending(c) ? RV_CONT : RV_EXIT_WFI;
	goto out;
op_SFENCE_VMA:
	if (c->priv == RV_PRIV_U)
		goto op_ILLEGAL;
	if (ip->rs1)
		rv_tlb_flush_va(c, RS1);
	else
		rv_tlb_flush_all(c);
	NEXT_CHECKED();
op_CSR:
	st->chunk_retired = n - (u64)left;
	if (!rv_csr_op(c, ip))
		goto exception_ip;
	x[0] = 0;
	NEXT_CHECKED();
op_LR_W:
op_SC_W:
op_AMO_W:
op_LR_D:
op_SC_D:
op_AMO_D:
	if (!rv_amo(c, ip))
		goto exception_ip;
	x[0] = 0;
	NEXT_CHECKED();
/* Each op its own label: another vCPU may turn this slot into a run's RV_OP_BLOCK (the
 * op changes, the operands stay), so the handler must not look at ip->op again. */
#define FLOAD(name, size, box)                                                                     \
	op_##name : if (unlikely(!rv_fs_on(c))) goto op_ILLEGAL;                                   \
	if (unlikely(!rv_load(c, tlb, RS1 + IMM, size, &v)))                                       \
		goto exception_ip;                                                                 \
	c->f[ip->rd] = v | (box);                                                                  \
	rv_fs_dirty(c);                                                                            \
	NEXT();
#define FSTORE(name, size)                                                                         \
	op_##name : if (unlikely(!rv_fs_on(c))) goto op_ILLEGAL;                                   \
	switch (rv_store(c, tlb, RS1 + IMM, size, c->f[ip->rs2])) {                                \
	case 0:                                                                                    \
		goto exception_ip;                                                                 \
	case 2:                                                                                    \
		NEXT_CHECKED();                                                                    \
	}                                                                                          \
	NEXT();
	FLOAD(FLW, 4, 0xffffffff00000000ULL)
	FLOAD(FLD, 8, 0)
	FSTORE(FSW, 4)
	FSTORE(FSD, 8)
op_FP:
	if (!rv_fp_exec(c, ip))
		goto exception_ip;
	x[0] = 0;
	NEXT();
/*
 * Double-precision arithmetic, quick path: round-to-nearest (static, or DYN with frm 0),
 * NX already accrued, finite operands and a result at least twice the smallest normal.
 * Then nothing but NX can be raised (NV/DZ/OF/UF need NaN, infinite or tiny results),
 * so the host's own arithmetic in its default rounding mode is the exact answer. Any
 * other case goes to the generic path (fpu.c), which also decides legality.
 */
#define FP_QUICK_OK()                                                                              \
	(likely((c->mstatus & SSTATUS_FS) && (c->fcsr & 1) &&                                      \
		(ip->aux == 0 || (ip->aux == 7 && (c->fcsr >> 5) == 0))))
#define FP_FINITE(v) ((((v) >> 52) & 0x7ff) != 0x7ff)
#define FP_DONE(r)                                                                                 \
	do {                                                                                       \
		u64 rb_;                                                                           \
		memcpy(&rb_, &(r), 8);                                                             \
		u64 e_ = (rb_ >> 52) & 0x7ff;                                                      \
		if (likely(e_ >= 2 && e_ != 0x7ff)) {                                              \
			c->f[ip->rd] = rb_;                                                        \
			c->mstatus |= SSTATUS_FS_DIRTY;                                            \
			NEXT();                                                                    \
		}                                                                                  \
		goto op_FP;                                                                        \
	} while (0)
#define FP_BIN(name, expr)                                                                         \
	op_##name : if (FP_QUICK_OK())                                                             \
	{                                                                                          \
		u64 a_ = c->f[ip->rs1], b_ = c->f[ip->rs2];                                        \
		if (FP_FINITE(a_) && FP_FINITE(b_)) {                                              \
			double a, b, r;                                                            \
			memcpy(&a, &a_, 8);                                                        \
			memcpy(&b, &b_, 8);                                                        \
			r = (expr);                                                                \
			FP_DONE(r);                                                                \
		}                                                                                  \
	}                                                                                          \
	goto op_FP;
	FP_BIN(FADD_D, a + b)
	FP_BIN(FSUB_D, a - b)
	FP_BIN(FMUL_D, a * b)
	FP_BIN(FDIV_D, a / b)
op_FMADD_D:
op_FMSUB_D:
op_FNMSUB_D:
op_FNMADD_D:
	if (FP_QUICK_OK()) {
		u64 a_ = c->f[ip->rs1], b_ = c->f[ip->rs2], c_ = c->f[ip->imm], r_;
		u32 fl_;
		if (FP_FINITE(a_) && FP_FINITE(b_) && FP_FINITE(c_) &&
		    rv_fp_host_arith((enum rv_fp_op)(RV_FP_FMADD + (ip->op - RV_OP_FMADD_D)), true,
				     a_, b_, c_, 0, c->fcsr, &r_, &fl_) &&
		    !fl_) {
			double r;
			memcpy(&r, &r_, 8);
			FP_DONE(r);
		}
	}
	goto op_FP;

out_budget: /* ip is the next instruction, not executed */
	pc = PC();
out_budget_pc:
	left = 0;
out:
	c->pc = pc;
out_nopc:
	*retired = n - (u64)left;
	return ret;
}
