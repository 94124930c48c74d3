/*
 * jit_x86.c - the emulator's block translator for x86-64 hosts (see jit.h). A block is
 * a run of instructions from one decoded block on (through branches not taken, into the
 * blocks that follow in the page): integer ALU instructions (RV64I/M, LUI/AUIPC, a few
 * Zba/Zbb ops), loads and stores, FP loads and stores, double-precision add/sub/mul/div
 * and fused multiply-adds in round-to-nearest (host SSE/FMA3, see "floating point"
 * below), and conditional branches.
 *
 * Guest registers the block uses live in up to ten host registers (rsi, r8-r11, rbx,
 * rbp, r12-r14), all loaded on entry; r15 holds the instruction budget; rax, rcx and rdx
 * are scratch (x86 division needs rdx:rax). A run that needs an eleventh guest register
 * ends before that instruction.
 *
 * Loads and stores check the current TLB view inline exactly as the interpreter's fast
 * path does (rv_load/rv_store): a hit on a RAM page with the access inside the page. Any
 * other case - a miss, MMIO, a code page's write entry, a page-crossing access - leaves
 * the block before that instruction, which the interpreter then executes (faults, A/D
 * bits and code invalidation included), so exceptions stay precise. A branch back to the
 * block's own first instruction loops inside the block while the budget holds one more
 * whole pass; any other taken branch leaves after the branch, into the translated run
 * at its target if there is one (emit_chain), else to the interpreter, which follows it;
 * one not taken goes on with the next instruction, which may be in the decoded block
 * that follows (jit.h: a run may span the blocks of a page). A run that ends at its
 * block's END goes on into the next translated run the same way. A run that ends with a
 * jalr checks the interpreter's prediction for it (emit_jalr) and goes on into the
 * predicted block's translated run even in another page (the code's page is passed by
 * reference, struct rv_jpage, so the interpreter gets the new one back).
 *
 * Code goes into one executable buffer per VM, shared by its vCPUs like the decoded
 * blocks (rv_internal.h), bump-allocated under the VM's code lock; the code takes the
 * vCPU's registers and TLB view as arguments and embeds nothing of any one vCPU. When the
 * buffer (or the block table) fills up, every decoded block is dropped and rv_jit_reset
 * called, with no vCPU running. Only the pages code was written to are ever touched.
 */
#include <stdlib.h>

#include "rv_internal.h"
#include "jit.h"

bool rv_jit_off;
unsigned rv_jit_hot = RV_JIT_HOT;

#if defined(__x86_64__)
#include <stddef.h>
#include <sys/mman.h>

/* Both sized for what a decoded-block arena of RV_ARENA_SLOTS (rv_internal.h) tends to
 * need, and in proportion for a larger one; when either fills up, everything decoded is
 * dropped (rv_code_flush) and built again. */
#define CODE_BYTES (128u << 10)
#define MAX_BLOCKS 4096u
/* Worst-case code per instruction (a load or store with its exit stub is the largest)
 * and per block (prologue, register loads, epilogue, stores). */
#define INSN_BYTES_MAX 144u
#define FRAME_BYTES_MAX 512u

struct rv_jit {
	const union rv_slot *arena; /* the decoded blocks (chained exits read links there) */
	u8 *code;
	size_t used, limit, size;
	struct rv_jblock *blk;
	u32 nblk, maxblk;
};

enum { RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
/* Guest registers live here; caller-saved ones first, so small blocks push little. */
static const u8 pool[] = { RSI, R8, R9, R10, R11, RBX, RBP, R12, R13, R14 };
#define NPOOL ((int)sizeof(pool))
#define LEFT R15     /* instructions the block may still execute */
/* Above the callee-saved registers the block pushes (b->saved of them): */
#define FRAME_PAGE 0 /* [rsp + 0]: the page (struct rv_jpage *, va then pa) */
#define FRAME_TLB 8  /* [rsp + 8]: the current TLB view */
#define TLB_ENTRY ((s32)sizeof(struct rv_tlb_entry))
#define TLB_ACC(acc) ((s32)(acc) * (s32)RV_TLB_SIZE * TLB_ENTRY)

struct emit {
	u8 *p;
};

static void b1(struct emit *e, u32 v)
{
	*e->p++ = (u8)v;
}

static void b4(struct emit *e, u32 v)
{
	for (int i = 0; i < 4; i++)
		b1(e, v >> (8 * i));
}

/* REX with W, R (reg), X (index) and B (rm/base) bits; `force` for sil/dil/bpl bytes. */
static void rexx(struct emit *e, bool w, int reg, int index, int rm, bool force)
{
	u32 r = 0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
		((rm >> 3) & 1);
	if (r != 0x40 || force)
		b1(e, r);
}

static void rex(struct emit *e, bool w, int reg, int rm)
{
	rexx(e, w, reg, 0, rm, false);
}

static void modrm(struct emit *e, int reg, int rm)
{
	b1(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* The ModRM/SIB/disp32 of [base + index << shift + disp] (index < 0: none). */
static void mem(struct emit *e, int reg, int base, int index, int shift, s32 disp)
{
	if (index < 0 && (base & 7) != RSP) {
		b1(e, 0x80 | (reg & 7) << 3 | (base & 7));
	} else {
		b1(e, 0x80 | (reg & 7) << 3 | 4);
		b1(e, (u32)shift << 6 | (index < 0 ? 4 : (index & 7)) << 3 | (base & 7));
	}
	b4(e, (u32)disp);
}

/* opc reg, [base + index << shift + disp] with optional 0x0f escape */
static void memop(struct emit *e, bool w, bool esc, u32 opc, int reg, int base, int index,
		  int shift, s32 disp)
{
	rexx(e, w, reg, index < 0 ? 0 : index, base, false);
	if (esc)
		b1(e, 0x0f);
	b1(e, opc);
	mem(e, reg, base, index, shift, disp);
}

/* opc r/m(dst), r(src): 01 add, 09 or, 21 and, 29 sub, 31 xor, 39 cmp, 85 test, 89 mov */
static void rr(struct emit *e, bool w, u32 opc, int dst, int src)
{
	rex(e, w, src, dst);
	b1(e, opc);
	modrm(e, src, dst);
}

static void mov64(struct emit *e, int dst, int src)
{
	if (dst != src)
		rr(e, true, 0x89, dst, src);
}

/* mov r32, r32: also zero-extends into the upper half */
static void mov32(struct emit *e, int dst, int src)
{
	rr(e, false, 0x89, dst, src);
}

/* 81 /digit id: 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp */
static void ri(struct emit *e, bool w, int digit, int dst, s32 imm)
{
	rex(e, w, 0, dst);
	b1(e, 0x81);
	modrm(e, digit, dst);
	b4(e, (u32)imm);
}

/* mov r64, simm32 (C7 /0), or the full 64-bit form (B8+r) */
static void movi(struct emit *e, int dst, s64 imm)
{
	if (imm == (s32)imm) {
		rex(e, true, 0, dst);
		b1(e, 0xc7);
		modrm(e, 0, dst);
		b4(e, (u32)imm);
		return;
	}
	rex(e, true, 0, dst);
	b1(e, 0xb8 + (dst & 7));
	b4(e, (u32)imm);
	b4(e, (u32)((u64)imm >> 32));
}

/* mov r32, imm32 (B8+r): zero-extends */
static void movi32(struct emit *e, int dst, u32 imm)
{
	rex(e, false, 0, dst);
	b1(e, 0xb8 + (dst & 7));
	b4(e, imm);
}

/* C1 /digit ib and D3 /digit (by cl): 4 shl, 5 shr, 7 sar */
static void shi(struct emit *e, bool w, int digit, int dst, u32 n)
{
	rex(e, w, 0, dst);
	b1(e, 0xc1);
	modrm(e, digit, dst);
	b1(e, n);
}

static void shcl(struct emit *e, bool w, int digit, int dst)
{
	rex(e, w, 0, dst);
	b1(e, 0xd3);
	modrm(e, digit, dst);
}

static void imul(struct emit *e, bool w, int dst, int src)
{
	rex(e, w, dst, src);
	b1(e, 0x0f);
	b1(e, 0xaf);
	modrm(e, dst, src);
}

/* F7 /digit: 2 not, 3 neg, 4 mul, 5 imul, 6 div, 7 idiv (rdx:rax) */
static void f7(struct emit *e, bool w, int digit, int r)
{
	rex(e, w, 0, r);
	b1(e, 0xf7);
	modrm(e, digit, r);
}

static void movsxd(struct emit *e, int dst, int src)
{
	rex(e, true, dst, src);
	b1(e, 0x63);
	modrm(e, dst, src);
}

/* setcc cl; movzx dst, cl (cc: 0xc less, 0x2 below) */
static void setcc(struct emit *e, u32 cc, int dst)
{
	b1(e, 0x0f);
	b1(e, 0x90 | cc);
	modrm(e, 0, RCX);
	rex(e, true, dst, RCX);
	b1(e, 0x0f);
	b1(e, 0xb6);
	modrm(e, dst, RCX);
}

/* mov r64, [rdi + 8*g] / mov [rdi + 8*g], r64 */
static void ldg(struct emit *e, int r, unsigned g)
{
	memop(e, true, false, 0x8b, r, RDI, -1, 0, (s32)(8 * g));
}

static void stg(struct emit *e, int r, unsigned g)
{
	memop(e, true, false, 0x89, r, RDI, -1, 0, (s32)(8 * g));
}

static void push(struct emit *e, int r)
{
	rex(e, false, 0, r);
	b1(e, 0x50 + (r & 7));
}

static bool callee_saved(int r)
{
	return r == RBX || r == RBP || r >= R12;
}

static void pop(struct emit *e, int r)
{
	rex(e, false, 0, r);
	b1(e, 0x58 + (r & 7));
}

/* jcc rel32 / jmp rel32 to be patched: returns the rel32's address */
static u8 *jcc(struct emit *e, u32 cc)
{
	b1(e, 0x0f);
	b1(e, 0x80 | cc);
	b4(e, 0);
	return e->p - 4;
}

static u8 *jmp(struct emit *e)
{
	b1(e, 0xe9);
	b4(e, 0);
	return e->p - 4;
}

static void patch(u8 *rel, const u8 *target)
{
	s32 d = (s32)(target - (rel + 4));
	memcpy(rel, &d, 4);
}

/* ---- what a block may contain ------------------------------------------------------- */

static bool is_branch(u8 op)
{
	return op >= RV_OP_BEQ && op <= RV_OP_BGEU;
}

static bool is_load(u8 op)
{
	return op >= RV_OP_LB && op <= RV_OP_LWU;
}

static bool is_store(u8 op)
{
	return op >= RV_OP_SB && op <= RV_OP_SD;
}

/* FLW/FLD/FSW/FSD: the address is an integer register, the data an FP one. */
static bool is_fp_mem(u8 op)
{
	return op >= RV_OP_FLW && op <= RV_OP_FSD;
}

/* FADD.D/FSUB.D/FMUL.D/FDIV.D and the fused FMADD.D..FNMADD.D: FP registers only. */
static bool is_fp_arith(u8 op)
{
	return op >= RV_OP_FADD_D && op <= RV_OP_FNMADD_D;
}

static bool is_fma(u8 op)
{
	return op >= RV_OP_FMADD_D && op <= RV_OP_FNMADD_D;
}

/* The host has FMA3 (the fused ops are translated only then). */
static bool host_fma(void)
{
	static int known = -1;
	if (known < 0)
		known = __builtin_cpu_supports("fma") ? 1 : 0;
	return known;
}

static bool reads_rs1(u8 op)
{
	return op != RV_OP_LI && op != RV_OP_LUI && op != RV_OP_AUIPC && op != RV_OP_NOP &&
	       !is_fp_arith(op);
}

static bool reads_rs2(u8 op)
{
	if (is_branch(op) || is_store(op))
		return true;
	switch (op) {
	case RV_OP_ADD:
	case RV_OP_SUB:
	case RV_OP_SLL:
	case RV_OP_SLT:
	case RV_OP_SLTU:
	case RV_OP_XOR:
	case RV_OP_SRL:
	case RV_OP_SRA:
	case RV_OP_OR:
	case RV_OP_AND:
	case RV_OP_ADDW:
	case RV_OP_SUBW:
	case RV_OP_SLLW:
	case RV_OP_SRLW:
	case RV_OP_SRAW:
	case RV_OP_MUL:
	case RV_OP_MULH:
	case RV_OP_MULHU:
	case RV_OP_DIV:
	case RV_OP_DIVU:
	case RV_OP_REM:
	case RV_OP_REMU:
	case RV_OP_MULW:
	case RV_OP_DIVW:
	case RV_OP_DIVUW:
	case RV_OP_REMW:
	case RV_OP_REMUW:
	case RV_OP_SH1ADD:
	case RV_OP_SH2ADD:
	case RV_OP_SH3ADD:
	case RV_OP_ADD_UW:
	case RV_OP_SH1ADD_UW:
	case RV_OP_SH2ADD_UW:
	case RV_OP_SH3ADD_UW:
	case RV_OP_ANDN:
	case RV_OP_ORN:
	case RV_OP_XNOR:
		return true;
	}
	return false;
}

static bool writes_rd(const struct rv_insn *d)
{
	return d->op != RV_OP_NOP && !is_branch(d->op) && !is_store(d->op) && !is_fp_mem(d->op) &&
	       !is_fp_arith(d->op) && d->rd != 0;
}

bool rv_jit_can(const struct rv_insn *d)
{
	u8 op = d->op;
	if (is_fp_mem(op))
		return true;
	if (is_fp_arith(op)) /* round to nearest, static or dynamic (checked when run) */
		return (d->aux == 0 || d->aux == 7) && (!is_fma(op) || host_fma());
	switch (op) {
	case RV_OP_NOP:
	case RV_OP_LI:
	case RV_OP_MV:
	case RV_OP_LUI:
	case RV_OP_AUIPC:
	case RV_OP_ADDI:
	case RV_OP_SLTI:
	case RV_OP_SLTIU:
	case RV_OP_XORI:
	case RV_OP_ORI:
	case RV_OP_ANDI:
	case RV_OP_SLLI:
	case RV_OP_SRLI:
	case RV_OP_SRAI:
	case RV_OP_ADDIW:
	case RV_OP_SLLIW:
	case RV_OP_SRLIW:
	case RV_OP_SRAIW:
	case RV_OP_SLLI_UW:
		return true;
	}
	return is_load(op) || reads_rs2(op);
}

bool rv_jit_can_start(const struct rv_insn *d)
{
	return rv_jit_can(d) && !is_fp_mem(d->op) && !is_fp_arith(d->op) && !is_branch(d->op);
}

/* ---- guest-register cache ------------------------------------------------------------- */

struct rcache {
	s8 host[32];	/* pool index, -1 when not cached */
	bool dirty[32]; /* written somewhere in the block */
	int used;
};

/* Give d's registers host registers; false (nothing changed) when they do not fit. */
static bool alloc_regs(struct rcache *rc, const struct rv_insn *d)
{
	int regs[3] = { reads_rs1(d->op) ? d->rs1 : -1, reads_rs2(d->op) ? d->rs2 : -1,
			writes_rd(d) ? d->rd : -1 };
	int n = 0;
	for (int i = 0; i < 3; i++) {
		bool dup = false;
		for (int k = 0; k < i; k++)
			dup |= regs[k] == regs[i];
		if (regs[i] >= 0 && rc->host[regs[i]] < 0 && !dup)
			n++;
	}
	if (rc->used + n > NPOOL)
		return false;
	for (int i = 0; i < 3; i++)
		if (regs[i] >= 0 && rc->host[regs[i]] < 0)
			rc->host[regs[i]] = (s8)rc->used++;
	if (regs[2] >= 0)
		rc->dirty[regs[2]] = true;
	return true;
}

static int H(const struct rcache *rc, unsigned g)
{
	return pool[rc->host[g]];
}

/* One block being built: where its exits jump, to be patched at the end. */
struct fixup {
	u8 *rel;
	unsigned k; /* leave to the interpreter at run position k */
	bool taken; /* k is a branch, taken (executed) */
};

struct build {
	struct emit e;
	struct rcache rc;
	struct fixup fix[2 * RV_JIT_MAX + 2]; /* FP: guard 2, mul/div 2 each */
	unsigned nfix;
	unsigned n;	 /* positions in the run */
	int saved;	 /* callee-saved registers pushed after the frame */
	bool fs_dirtied; /* an earlier FP write of the block sets sstatus.FS = Dirty */
};

/* jcc to "leave at slot k" (patched to a stub that sets k). */
static void exit_if(struct build *b, u32 cc, unsigned k)
{
	b->fix[b->nfix++] = (struct fixup){ jcc(&b->e, cc), k, false };
}

/* rcx = the host address of a `size`-byte access at [A + imm] of type acc, or leave at
 * slot k when the TLB misses (or the entry is MMIO/code, or the access crosses the page
 * end): the interpreter then does it, fault and all. */
static void tlb_hit(struct build *b, int A, s32 imm, unsigned size, enum rv_acc acc, unsigned k)
{
	struct emit *e = &b->e;
	memop(e, true, false, 0x8d, RCX, A, -1, 0, imm); /* lea rcx, [A + imm] */
	mov32(e, RDX, RCX);
	shi(e, false, 5, RDX, RV_PAGE_SHIFT);
	rex(e, false, RDX, RDX); /* movzx edx, dl */
	b1(e, 0x0f);
	b1(e, 0xb6);
	modrm(e, RDX, RDX);
	_Static_assert(RV_TLB_SIZE == 256 && sizeof(struct rv_tlb_entry) == 24, "index math");
	memop(e, true, false, 0x8d, RDX, RDX, RDX, 1, 0); /* lea rdx, [rdx + rdx*2] */
	/* mov rax, [rsp + tlb]: the view */
	memop(e, true, false, 0x8b, RAX, RSP, -1, 0, b->saved * 8 + FRAME_TLB);
	memop(e, true, false, 0x8d, RAX, RAX, RDX, 3, TLB_ACC(acc)); /* lea rax, [rax+rdx*8+] */
	memop(e, true, false, 0x8d, RDX, RCX, -1, 0, (s32)size - 1); /* last byte */
	ri(e, true, 4, RDX, (s32)RV_PAGE_MASK);
	memop(e, true, false, 0x3b, RDX, RAX, -1, 0, offsetof(struct rv_tlb_entry, tag));
	exit_if(b, 0x5, k);
	memop(e, true, false, 0x03, RCX, RAX, -1, 0, offsetof(struct rv_tlb_entry, addend));
}

static void emit_load(struct build *b, const struct rv_insn *d, unsigned k)
{
	static const u8 size[] = { 1, 2, 4, 8, 1, 2, 4 };
	unsigned op = d->op - RV_OP_LB;
	tlb_hit(b, H(&b->rc, d->rs1), d->imm, size[op], RV_ACC_R, k);
	if (!writes_rd(d))
		return; /* RAM: reading it has no effect */
	int D = H(&b->rc, d->rd);
	struct emit *e = &b->e;
	switch (d->op) {
	case RV_OP_LB:
		memop(e, true, true, 0xbe, D, RCX, -1, 0, 0);
		break;
	case RV_OP_LBU:
		memop(e, false, true, 0xb6, D, RCX, -1, 0, 0);
		break;
	case RV_OP_LH:
		memop(e, true, true, 0xbf, D, RCX, -1, 0, 0);
		break;
	case RV_OP_LHU:
		memop(e, false, true, 0xb7, D, RCX, -1, 0, 0);
		break;
	case RV_OP_LW:
		memop(e, true, false, 0x63, D, RCX, -1, 0, 0);
		break;
	case RV_OP_LWU:
		memop(e, false, false, 0x8b, D, RCX, -1, 0, 0);
		break;
	default:
		memop(e, true, false, 0x8b, D, RCX, -1, 0, 0);
		break;
	}
}

static void emit_store(struct build *b, const struct rv_insn *d, unsigned k)
{
	unsigned size = 1U << (d->op - RV_OP_SB);
	tlb_hit(b, H(&b->rc, d->rs1), d->imm, size, RV_ACC_W, k);
	int V = H(&b->rc, d->rs2);
	struct emit *e = &b->e;
	if (size == 2)
		b1(e, 0x66);
	rexx(e, size == 8, V, 0, RCX, size == 1);
	b1(e, size == 1 ? 0x88 : 0x89);
	mem(e, V, RCX, -1, 0, 0);
}

/* DIV[U]/REM[U][W]: RISC-V's results for a zero divisor and for overflow, which x86
 * would trap on. */
static void emit_div(struct emit *e, u8 op, int A, int B, int D)
{
	bool w = !(op >= RV_OP_DIVW && op <= RV_OP_REMUW);
	bool sgn = op == RV_OP_DIV || op == RV_OP_REM || op == RV_OP_DIVW || op == RV_OP_REMW;
	bool rem = op == RV_OP_REM || op == RV_OP_REMU || op == RV_OP_REMW || op == RV_OP_REMUW;
	u8 *done[2], *zero, *ovf = NULL;
	if (w)
		mov64(e, RAX, A);
	else
		mov32(e, RAX, A);
	rr(e, w, 0x85, B, B); /* test B, B */
	zero = jcc(e, 0x4);
	if (sgn) {
		ri(e, w, 7, B, -1);
		ovf = jcc(e, 0x4);
		rex(e, w, 0, 0); /* cqo / cdq */
		b1(e, 0x99);
		f7(e, w, 7, B);
	} else {
		rr(e, false, 0x31, RDX, RDX);
		f7(e, w, 6, B);
	}
	if (rem)
		mov64(e, RAX, RDX);
	done[0] = jmp(e);
	patch(zero, e->p);
	if (!rem)
		movi(e, RAX, -1); /* x / 0 = all ones; x % 0 = x (still in rax) */
	if (sgn) {
		done[1] = jmp(e);
		patch(ovf, e->p); /* x / -1 = -x (MIN stays MIN); x % -1 = 0 */
		if (rem)
			rr(e, false, 0x31, RAX, RAX);
		else
			f7(e, w, 3, RAX);
		patch(done[1], e->p);
	}
	patch(done[0], e->p);
	if (w)
		mov64(e, D, RAX);
	else
		movsxd(e, D, RAX);
}

/* ---- floating point ------------------------------------------------------------------
 *
 * FP registers stay in struct rv_cpu (rdi points at it: x[] is its first member); only
 * the integer registers of loads/stores are cached. The first FP instruction of a block
 * is preceded by a guard, valid for the rest of the block (nothing translated changes
 * sstatus.FS or fcsr): FS is not Off, and when the block computes, fflags.NX is already
 * set and the dynamic rounding mode, if an instruction uses it, is round-to-nearest.
 * Then an addition or subtraction whose result is not infinite or NaN, a
 * multiplication or division whose result is at least twice the smallest normal
 * number (or an exact zero from a zero operand), or a fused multiply-add (host FMA3)
 * whose result is at least twice the smallest normal and finite raises nothing but NX
 * (a NaN or infinite operand never gives such a result): the host's SSE result, in its
 * default rounding mode, is RISC-V's. Anything else leaves the block
 * before the instruction, and the interpreter does it (fpu.c: softfloat, flags, NaNs).
 */
#define OFF_F ((s32)(offsetof(struct rv_cpu, f) - offsetof(struct rv_cpu, x)))
#define OFF_FCSR ((s32)(offsetof(struct rv_cpu, fcsr) - offsetof(struct rv_cpu, x)))
#define OFF_MSTATUS ((s32)(offsetof(struct rv_cpu, mstatus) - offsetof(struct rv_cpu, x)))
_Static_assert(offsetof(struct rv_cpu, x) == 0, "rdi is the rv_cpu");
_Static_assert(SSTATUS_FS == 0x6000, "FS in the low dword");

static s32 freg(unsigned r)
{
	return OFF_F + (s32)(8 * r);
}

/* mov rax, f[r] / mov f[r], rax */
static void ldf(struct emit *e, int reg, unsigned r)
{
	memop(e, true, false, 0x8b, reg, RDI, -1, 0, freg(r));
}

static void stf(struct emit *e, int reg, unsigned r)
{
	memop(e, true, false, 0x89, reg, RDI, -1, 0, freg(r));
}

/* sstatus.FS = Dirty after an FP register write: or dword [rdi + mstatus], 0x6000. Only
 * the block's first FP write needs it: the code is straight, everything after it runs
 * only if it did (a read-modify-write per instruction would chain them through memory). */
static void fs_dirty(struct build *b)
{
	if (b->fs_dirtied)
		return;
	b->fs_dirtied = true;
	memop(&b->e, false, false, 0x81, 1, RDI, -1, 0, OFF_MSTATUS);
	b4(&b->e, (u32)SSTATUS_FS);
}

/* The guard before slot k, the block's first FP instruction (see above). */
static void emit_fp_guard(struct build *b, const struct rv_insn *slots, unsigned n, unsigned k)
{
	struct emit *e = &b->e;
	bool arith = false, dyn = false;
	for (unsigned i = k; i < n; i++)
		if (is_fp_arith(slots[i].op)) {
			arith = true;
			dyn |= slots[i].aux == 7;
		}
	memop(e, false, false, 0xf7, 0, RDI, -1, 0, OFF_MSTATUS); /* test dword [], FS */
	b4(e, (u32)SSTATUS_FS);
	exit_if(b, 0x4, k);
	if (!arith)
		return;
	memop(e, false, false, 0x8b, RAX, RDI, -1, 0, OFF_FCSR);
	ri(e, false, 4, RAX, dyn ? 0xe1 : 0x01); /* frm and NX */
	ri(e, false, 7, RAX, 1);
	exit_if(b, 0x5, k);
}

static void emit_fp_mem(struct build *b, const struct rv_insn *d, unsigned k)
{
	struct emit *e = &b->e;
	bool word = d->op == RV_OP_FLW || d->op == RV_OP_FSW;
	if (d->op == RV_OP_FLW || d->op == RV_OP_FLD) {
		tlb_hit(b, H(&b->rc, d->rs1), d->imm, word ? 4 : 8, RV_ACC_R, k);
		memop(e, !word, false, 0x8b, RAX, RCX, -1, 0, 0);
		if (word) { /* NaN-boxed */
			movi(e, RDX, (s64)0xffffffff00000000ULL);
			rr(e, true, 0x09, RAX, RDX);
		}
		stf(e, RAX, d->rd);
		fs_dirty(b);
		return;
	}
	tlb_hit(b, H(&b->rc, d->rs1), d->imm, word ? 4 : 8, RV_ACC_W, k);
	ldf(e, RAX, d->rs2);
	memop(e, !word, false, 0x89, RAX, RCX, -1, 0, 0);
}

static void emit_fp_arith(struct build *b, const struct rv_insn *d, unsigned k)
{
	static const u8 sse[] = { 0x58, 0x5c, 0x59, 0x5e }; /* addsd subsd mulsd divsd */
	/* vf(n)madd/vf(n)msub231sd: a*b+c, a*b-c, -(a*b)+c, -(a*b)-c, RISC-V's order */
	static const u8 fma[] = { 0xb9, 0xbb, 0xbd, 0xbf };
	struct emit *e = &b->e;
	u8 op = d->op;
	if (is_fma(op)) {
		b1(e, 0xf2); /* movsd xmm0, f[rs3]; movsd xmm1, f[rs1] */
		memop(e, false, true, 0x10, 0, RDI, -1, 0, freg((unsigned)d->imm));
		b1(e, 0xf2);
		memop(e, false, true, 0x10, 1, RDI, -1, 0, freg(d->rs1));
		b1(e, 0xc4); /* VEX: 0F38, W1, vvvv = xmm1, 66: OP231sd xmm0, xmm1, f[rs2] */
		b1(e, 0xe2);
		b1(e, 0xf1);
		b1(e, fma[op - RV_OP_FMADD_D]);
		mem(e, 0, RDI, -1, 0, freg(d->rs2));
	} else {
		b1(e, 0xf2); /* movsd xmm0, f[rs1] */
		memop(e, false, true, 0x10, 0, RDI, -1, 0, freg(d->rs1));
		b1(e, 0xf2); /* OPsd xmm0, f[rs2] */
		memop(e, false, true, sse[op - RV_OP_FADD_D], 0, RDI, -1, 0, freg(d->rs2));
	}
	b1(e, 0x66); /* movq rax, xmm0 */
	rex(e, true, 0, RAX);
	b1(e, 0x0f);
	b1(e, 0x7e);
	modrm(e, 0, RAX);
	mov64(e, RDX, RAX); /* edx = biased exponent */
	shi(e, true, 5, RDX, 52);
	ri(e, false, 4, RDX, 0x7ff);
	if (op == RV_OP_FADD_D || op == RV_OP_FSUB_D) {
		/* finite operands: a tiny sum is exact, so only overflow (or NaN/inf in) */
		ri(e, false, 7, RDX, 0x7ff);
		exit_if(b, 0x4, k);
	} else if (is_fma(op)) {
		/* finite operands, a result at least twice the smallest normal: NX at most */
		ri(e, false, 5, RDX, 2);
		ri(e, false, 7, RDX, 0x7ff - 2);
		exit_if(b, 0x3, k); /* jae */
	} else {
		ri(e, false, 5, RDX, 2);
		ri(e, false, 7, RDX, 0x7ff - 2);
		u8 *ok = jcc(e, 0x2); /* jb: 2 <= exponent < 0x7ff */
		/* else only an exact zero: the result is +-0 and so is the dividend or a factor */
		mov64(e, RDX, RAX);
		rr(e, true, 0x01, RDX, RDX);
		exit_if(b, 0x5, k);
		ldf(e, RCX, d->rs1);
		rr(e, true, 0x01, RCX, RCX);
		if (op == RV_OP_FMUL_D) {
			u8 *zero = jcc(e, 0x4);
			ldf(e, RCX, d->rs2);
			rr(e, true, 0x01, RCX, RCX);
			exit_if(b, 0x5, k);
			patch(zero, e->p);
		} else {
			exit_if(b, 0x5, k);
		}
		patch(ok, e->p);
	}
	stf(e, RAX, d->rd);
	fs_dirty(b);
}

static void translate(struct build *b, const struct rv_insn *d, unsigned k)
{
	struct emit *e = &b->e;
	struct rcache *rc = &b->rc;
	u8 op = d->op;
	s32 imm = d->imm;
	if (is_load(op)) {
		emit_load(b, d, k);
		return;
	}
	if (is_store(op)) {
		emit_store(b, d, k);
		return;
	}
	if (is_fp_mem(op)) {
		emit_fp_mem(b, d, k);
		return;
	}
	if (is_fp_arith(op)) {
		emit_fp_arith(b, d, k);
		return;
	}
	if (!writes_rd(d))
		return;
	int A = reads_rs1(op) ? H(rc, d->rs1) : -1;
	int B = reads_rs2(op) ? H(rc, d->rs2) : -1;
	int D = H(rc, d->rd);
	switch (op) {
	case RV_OP_LI:
	case RV_OP_LUI:
		movi(e, D, imm);
		return;
	case RV_OP_MV:
		mov64(e, D, A);
		return;
	case RV_OP_AUIPC:
		movi(e, RCX, (s64)d->off + imm);
		memop(e, true, false, 0x8b, RAX, RSP, -1, 0, b->saved * 8 + FRAME_PAGE);
		memop(e, true, false, 0x03, RCX, RAX, -1, 0, 0); /* + page va */
		mov64(e, D, RCX);
		return;
	case RV_OP_ADDI:
	case RV_OP_XORI:
	case RV_OP_ORI:
	case RV_OP_ANDI: {
		int digit = op == RV_OP_ADDI ? 0 : op == RV_OP_XORI ? 6 : op == RV_OP_ORI ? 1 : 4;
		mov64(e, D, A);
		ri(e, true, digit, D, imm);
		return;
	}
	case RV_OP_SLTI:
	case RV_OP_SLTIU:
		ri(e, true, 7, A, imm);
		setcc(e, op == RV_OP_SLTI ? 0xc : 0x2, D);
		return;
	case RV_OP_SLLI:
	case RV_OP_SRLI:
	case RV_OP_SRAI:
		mov64(e, D, A);
		shi(e, true, op == RV_OP_SLLI ? 4 : op == RV_OP_SRLI ? 5 : 7, D, (u32)imm);
		return;
	case RV_OP_ADDIW:
		mov32(e, RCX, A);
		ri(e, false, 0, RCX, imm);
		movsxd(e, D, RCX);
		return;
	case RV_OP_SLLIW:
	case RV_OP_SRLIW:
	case RV_OP_SRAIW:
		mov32(e, RCX, A);
		shi(e, false, op == RV_OP_SLLIW ? 4 : op == RV_OP_SRLIW ? 5 : 7, RCX, (u32)imm);
		movsxd(e, D, RCX);
		return;
	case RV_OP_SLLI_UW:
		mov32(e, RCX, A);
		shi(e, true, 4, RCX, (u32)imm);
		mov64(e, D, RCX);
		return;
	case RV_OP_ADD:
	case RV_OP_SUB:
	case RV_OP_XOR:
	case RV_OP_OR:
	case RV_OP_AND: {
		u32 opc = op == RV_OP_ADD   ? 0x01
			  : op == RV_OP_SUB ? 0x29
			  : op == RV_OP_XOR ? 0x31
			  : op == RV_OP_OR  ? 0x09
					    : 0x21;
		mov64(e, RCX, A);
		rr(e, true, opc, RCX, B);
		mov64(e, D, RCX);
		return;
	}
	case RV_OP_SLT:
	case RV_OP_SLTU:
		rr(e, true, 0x39, A, B);
		setcc(e, op == RV_OP_SLT ? 0xc : 0x2, D);
		return;
	case RV_OP_SLL:
	case RV_OP_SRL:
	case RV_OP_SRA:
		mov64(e, RCX, B);
		mov64(e, D, A);
		shcl(e, true, op == RV_OP_SLL ? 4 : op == RV_OP_SRL ? 5 : 7, D);
		return;
	case RV_OP_ADDW:
	case RV_OP_SUBW:
		mov32(e, RCX, A);
		rr(e, false, op == RV_OP_ADDW ? 0x01 : 0x29, RCX, B);
		movsxd(e, D, RCX);
		return;
	case RV_OP_SLLW:
	case RV_OP_SRLW:
	case RV_OP_SRAW:
		mov64(e, RCX, B);
		mov32(e, D, A);
		shcl(e, false, op == RV_OP_SLLW ? 4 : op == RV_OP_SRLW ? 5 : 7, D);
		movsxd(e, D, D);
		return;
	case RV_OP_MUL:
		mov64(e, RCX, A);
		imul(e, true, RCX, B);
		mov64(e, D, RCX);
		return;
	case RV_OP_MULW:
		mov32(e, RCX, A);
		imul(e, false, RCX, B);
		movsxd(e, D, RCX);
		return;
	case RV_OP_MULH:
	case RV_OP_MULHU:
		mov64(e, RAX, A);
		f7(e, true, op == RV_OP_MULH ? 5 : 4, B);
		mov64(e, D, RDX);
		return;
	case RV_OP_DIV:
	case RV_OP_DIVU:
	case RV_OP_REM:
	case RV_OP_REMU:
	case RV_OP_DIVW:
	case RV_OP_DIVUW:
	case RV_OP_REMW:
	case RV_OP_REMUW:
		emit_div(e, op, A, B, D);
		return;
	case RV_OP_SH1ADD:
	case RV_OP_SH2ADD:
	case RV_OP_SH3ADD:
		mov64(e, RCX, A);
		shi(e, true, 4, RCX, op == RV_OP_SH1ADD ? 1 : op == RV_OP_SH2ADD ? 2 : 3);
		rr(e, true, 0x01, RCX, B);
		mov64(e, D, RCX);
		return;
	case RV_OP_ADD_UW:
	case RV_OP_SH1ADD_UW:
	case RV_OP_SH2ADD_UW:
	case RV_OP_SH3ADD_UW:
		mov32(e, RCX, A);
		if (op != RV_OP_ADD_UW)
			shi(e, true, 4, RCX,
			    op == RV_OP_SH1ADD_UW   ? 1
			    : op == RV_OP_SH2ADD_UW ? 2
						    : 3);
		rr(e, true, 0x01, RCX, B);
		mov64(e, D, RCX);
		return;
	case RV_OP_ANDN:
	case RV_OP_ORN:
		mov64(e, RCX, B);
		f7(e, true, 2, RCX);
		rr(e, true, op == RV_OP_ANDN ? 0x21 : 0x09, RCX, A);
		mov64(e, D, RCX);
		return;
	case RV_OP_XNOR:
		mov64(e, RCX, A);
		rr(e, true, 0x31, RCX, B);
		f7(e, true, 2, RCX);
		mov64(e, D, RCX);
		return;
	}
}

/* A conditional branch at run position k. Not taken: go on with position k + 1 (or, at
 * the run's end, leave there: the decoded block's END). Taken back to the run's own first
 * instruction (a loop): count the pass and go round again while the budget allows a
 * whole run, else leave at position 0. Taken elsewhere: leave with the branch's slot
 * marked RV_JIT_TAKEN, counted, and the interpreter follows it without evaluating it
 * again. */
static void emit_branch(struct build *b, const struct rv_insn *d, unsigned k, u16 first_off,
			const u8 *top)
{
	static const u8 cc[] = { 0x4, 0x5, 0xc, 0xd, 0x2, 0x3 }; /* e ne l ge b ae */
	struct emit *e = &b->e;
	u32 c = cc[d->op - RV_OP_BEQ];
	rr(e, true, 0x39, H(&b->rc, d->rs1), H(&b->rc, d->rs2));
	u8 *not_taken = jcc(e, c ^ 1);
	if ((s32)d->off + d->imm == (s32)first_off) {
		ri(e, true, 5, LEFT, (s32)(k + 1));
		ri(e, true, 7, LEFT, (s32)b->n);
		u8 *again = jcc(e, 0xd); /* jge top */
		patch(again, top);
		b->fix[b->nfix++] = (struct fixup){ jmp(e), 0, false };
	} else {
		b->fix[b->nfix++] = (struct fixup){ jmp(e), k, true };
	}
	patch(not_taken, e->p);
}

/*
 * A jalr ending the run (slot k, its arena slot ai): the interpreter's prediction check
 * (exec.c op_JALR) in the code - its last target block (header index in the slot's
 * `raw`) is still what the execute TLB entry of the target's page maps, and alive - and
 * then it writes rd, makes the target's page the frame's page (the interpreter reads it
 * back) and, when that block is a translated run the budget holds, leaves through the
 * jalr epilogue (*to_chain; rax: the target's struct rv_jblock) into that run's body, in
 * any page, else to the interpreter at the block (*to_ret; edx, ecx set). Otherwise it
 * leaves before the jalr, unchanged: the interpreter executes it.
 */
static void emit_jalr(struct build *b, const struct rv_jit *j, const struct rv_insn *d, unsigned k,
		      u32 ai, u8 **to_chain, u8 **to_ret)
{
	struct emit *e = &b->e;
	const s32 op = (s32)offsetof(struct rv_insn, op), raw = (s32)offsetof(struct rv_insn, raw);
	_Static_assert(offsetof(struct rv_tlb_entry, tag) == 0 &&
			       offsetof(struct rv_tlb_entry, pa) == 16 &&
			       offsetof(struct rv_bhdr, pa) == 0,
		       "field offsets");
	memop(e, true, false, 0x8d, RAX, H(&b->rc, d->rs1), -1, 0, d->imm); /* rax = v */
	ri(e, true, 4, RAX, -2);
	mov32(e, RCX, RAX); /* rdx = the execute entry of v's page */
	shi(e, false, 5, RCX, RV_PAGE_SHIFT);
	rex(e, false, RCX, RCX);
	b1(e, 0x0f); /* movzx ecx, cl */
	b1(e, 0xb6);
	modrm(e, RCX, RCX);
	memop(e, true, false, 0x8d, RCX, RCX, RCX, 1, 0); /* lea rcx, [rcx + rcx*2] */
	memop(e, true, false, 0x8b, RDX, RSP, -1, 0, b->saved * 8 + FRAME_TLB);
	memop(e, true, false, 0x8d, RDX, RDX, RCX, 3, TLB_ACC(RV_ACC_X));
	mov64(e, RCX, RAX);
	ri(e, true, 4, RCX, (s32)RV_PAGE_MASK);
	memop(e, true, false, 0x3b, RCX, RDX, -1, 0, 0); /* cmp rcx, [rdx + tag] */
	exit_if(b, 0x5, k);
	memop(e, true, false, 0x8b, RDX, RDX, -1, 0, 16); /* its pa to the red zone */
	memop(e, true, false, 0x89, RDX, RSP, -1, 0, -8);
	movi(e, RDX, (s64)(uintptr_t)j->arena);
	memop(e, false, false, 0x8b, RCX, RDX, -1, 0, (s32)(ai * 16) + raw); /* the prediction */
	ri(e, false, 7, RCX, -1);					     /* RV_TGT_NONE */
	exit_if(b, 0x4, k);
	shi(e, true, 4, RCX, 4);
	rr(e, true, 0x01, RDX, RCX); /* rdx = its header */
	mov32(e, RCX, RAX);
	ri(e, false, 4, RCX, (s32)~RV_PAGE_MASK);
	memop(e, true, false, 0x0b, RCX, RSP, -1, 0, -8); /* rcx = v's pa */
	memop(e, true, false, 0x3b, RCX, RDX, -1, 0, 0);  /* cmp rcx, [rdx + pa] */
	exit_if(b, 0x5, k);
	memop(e, false, false, 0x80, 7, RDX, -1, 0, 16 + op); /* cmp byte [first + op], STALE */
	b1(e, RV_OP_STALE);
	exit_if(b, 0x4, k);
	/* taken: rd, the page */
	memop(e, true, false, 0x8b, RCX, RSP, -1, 0, b->saved * 8 + FRAME_PAGE);
	if (d->rd) {
		int D = H(&b->rc, d->rd);
		memop(e, true, false, 0x8b, D, RCX, -1, 0, 0);
		ri(e, true, 0, D, (s32)(d->off + d->len));
	}
	ri(e, true, 4, RAX, (s32)RV_PAGE_MASK);
	memop(e, true, false, 0x89, RAX, RCX, -1, 0, 0); /* the page: va */
	memop(e, true, false, 0x8b, RAX, RSP, -1, 0, -8);
	memop(e, true, false, 0x89, RAX, RCX, -1, 0, 8); /* pa */
	/* into the target's translated run if the budget holds it, else to the interpreter */
	memop(e, false, false, 0x80, 7, RDX, -1, 0, 16 + op); /* cmp byte [first + op], BLOCK */
	b1(e, RV_OP_BLOCK);
	u8 *interp = jcc(e, 0x5);
	memop(e, false, false, 0x8b, RAX, RDX, -1, 0, 16 + raw);
	ri(e, false, 4, RAX, (s32)~RV_JIT_ID);
	movi(e, RCX, (s64)(uintptr_t)j->blk);
	memop(e, true, false, 0x8d, RAX, RCX, RAX, 3, 0); /* rax = its struct rv_jblock */
	memop(e, false, false, 0x8b, RCX, RAX, -1, 0, 4); /* ecx = its n */
	ri(e, true, 0, RCX, (s32)(k + 1));		  /* + this run's */
	rr(e, true, 0x39, LEFT, RCX);			  /* cmp r15, rcx */
	u8 *interp2 = jcc(e, 0xc);			  /* jl */
	*to_chain = jmp(e);
	patch(interp, e->p);
	patch(interp2, e->p);
	movi(e, RCX, (s64)(uintptr_t)j->arena); /* ecx = the target's slot */
	rr(e, true, 0x29, RDX, RCX);
	shi(e, true, 5, RDX, 4);
	memop(e, false, false, 0x8d, RCX, RDX, -1, 0, 1);
	movi32(e, RDX, k + 1);
	*to_ret = jmp(e);
}

struct rv_jit *rv_jit_create(const union rv_slot *arena, u32 slots)
{
	if (rv_jit_off || getenv("DUO_NOJIT"))
		return NULL;
	struct rv_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->arena = arena;
	u32 scale = DUO_MAX(slots / 4096u, 1u); /* eighths of RV_ARENA_SLOTS */
	j->size = DUO_ALIGN_UP((size_t)CODE_BYTES * scale / 8, 4096);
	j->maxblk = MAX_BLOCKS * scale / 8;
	j->blk = calloc(j->maxblk, sizeof(*j->blk));
	j->code = mmap(NULL, j->size, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	j->limit = j->size;
	if (!j->blk || j->code == MAP_FAILED) {
		if (j->code != MAP_FAILED)
			munmap(j->code, j->size);
		free(j->blk);
		free(j);
		return NULL;
	}
	return j;
}

void rv_jit_destroy(struct rv_jit *j)
{
	if (!j)
		return;
	munmap(j->code, j->size);
	free(j->blk);
	free(j);
}

void rv_jit_reset(struct rv_jit *j)
{
	if (j) {
		j->used = 0;
		j->nblk = 0;
	}
}

const struct rv_jblock *rv_jit_block(const struct rv_jit *j, u32 id)
{
	return &j->blk[id];
}

const u8 *rv_jit_code(const struct rv_jit *j)
{
	return j->code;
}

void rv_jit_limit(struct rv_jit *j, size_t bytes)
{
	j->limit = DUO_MIN(bytes, j->size);
}

/* push r15; push rcx; push rsi; mov r15, rdx */
#define PROLOGUE_BYTES 7

/* Leaving the block's body (edx: instructions executed, ecx: the slot to go on with):
 * store the guest registers it wrote, count the budget down, pop the callee-saved
 * registers; `chain`: the copy before emit_chain. */
static void emit_exit(struct build *b, bool chain)
{
	struct emit *e = &b->e;
	for (unsigned g = 1; g < 32; g++)
		if (b->rc.host[g] >= 0 && b->rc.dirty[g])
			stg(e, pool[b->rc.host[g]], g);
	rr(e, true, 0x29, LEFT, RDX);
	for (int i = b->rc.used - 1; i >= 0; i--)
		if (callee_saved(pool[i]))
			pop(e, pool[i]);
}

/*
 * Chaining, after a taken branch or at an END (ecx: its slot, RV_JIT_TAKEN for a
 * branch; r15: the budget left, the frame as after the prologue): when the interpreter
 * would next enter a translated run - the block the slot links to (in the same page) is
 * an RV_OP_BLOCK and the budget holds that run - jump into its body, past its prologue,
 * instead of returning. Every chained block executed at least its first instruction
 * (n >= RV_JIT_MIN), so the budget bounds how far it goes. Falls through (rax and rdx
 * clobbered, ecx kept) when it does not chain.
 */
static void emit_chain(struct build *b, const struct rv_jit *j)
{
	struct emit *e = &b->e;
	const s32 op = (s32)offsetof(struct rv_insn, op), raw = (s32)offsetof(struct rv_insn, raw);
	_Static_assert(sizeof(union rv_slot) == 16, "slot index math");
	mov32(e, RAX, RCX);
	ri(e, false, 4, RAX, (s32)~RV_JIT_TAKEN);
	shi(e, true, 4, RAX, 4);
	movi(e, RDX, (s64)(uintptr_t)j->arena);
	memop(e, false, false, 0x8b, RAX, RDX, RAX, 0, raw); /* eax = link: [rdx + rax + raw] */
	ri(e, false, 7, RAX, -1);			     /* RV_TGT_NONE */
	u8 *none = jcc(e, 0x4);
	shi(e, true, 4, RAX, 4);
	rr(e, true, 0x01, RAX, RDX);			 /* rax = the block's first slot */
	memop(e, false, false, 0x80, 7, RAX, -1, 0, op); /* cmp byte [rax + op], BLOCK */
	b1(e, RV_OP_BLOCK);
	u8 *none2 = jcc(e, 0x5);
	memop(e, false, false, 0x8b, RAX, RAX, -1, 0, raw);
	ri(e, false, 4, RAX, (s32)~RV_JIT_ID);
	_Static_assert(sizeof(struct rv_jblock) == 8 && offsetof(struct rv_jblock, n) == 4,
		       "block table math");
	movi(e, RDX, (s64)(uintptr_t)j->blk);
	memop(e, true, false, 0x8d, RAX, RDX, RAX, 3, 0); /* lea rax, [rdx + rax*8] */
	memop(e, false, false, 0x8b, RDX, RAX, -1, 0, 4); /* mov edx, [rax + n] */
	rr(e, true, 0x39, LEFT, RDX);			  /* cmp r15, rdx */
	u8 *none3 = jcc(e, 0xc);			  /* jl */
	memop(e, false, false, 0x8b, RAX, RAX, -1, 0, 0); /* mov eax, [rax + code] */
	movi(e, RDX, (s64)(uintptr_t)(j->code + PROLOGUE_BYTES));
	rr(e, true, 0x01, RAX, RDX);
	b1(e, 0xff); /* jmp rax */
	modrm(e, 4, RAX);
	patch(none, e->p);
	patch(none2, e->p);
	patch(none3, e->p);
}

/*
 * Code shape: rv_jit_call's arguments arrive in rdi (guest registers), rsi (page), rdx
 * (budget) and rcx (TLB view). The prologue, the same in every block, saves r15, keeps
 * the page and the TLB view in a two-slot frame and the budget in r15; the body then
 * saves the callee-saved pool registers the block uses and loads every guest register it
 * uses (so any exit may store every one the block writes), and runs the instructions;
 * each exit jumps to a stub that puts the instructions it executed in edx and the arena
 * slot to go on with in ecx, then to an epilogue, which stores the written registers,
 * counts the budget down and restores the saved ones; then either into the next run's
 * body (emit_chain: after a taken branch and at an END) or back with { budget, ecx }.
 */
int rv_jit_build(struct rv_jit *j, const struct rv_insn *slots, const u32 *idx, unsigned n,
		 bool *full)
{
	struct build *b = &(struct build){ 0 };
	unsigned k;
	n = DUO_MIN(n, RV_JIT_MAX);
	size_t room = j->limit > j->used ? j->limit - j->used : 0;
	if (j->nblk >= j->maxblk || room < FRAME_BYTES_MAX + RV_JIT_MIN * INSN_BYTES_MAX) {
		*full = true;
		return -1;
	}
	n = DUO_MIN(n, (unsigned)((room - FRAME_BYTES_MAX) / INSN_BYTES_MAX));
	memset(b->rc.host, -1, sizeof(b->rc.host));
	for (k = 0; k < n; k++)
		if (!alloc_regs(&b->rc, &slots[k]))
			break;
	n = k;
	/* a final jalr takes room for two */
	if (n && slots[n - 1].op == RV_OP_JALR && room < FRAME_BYTES_MAX + (n + 1) * INSN_BYTES_MAX)
		n--;
	if (n < (n && slots[n - 1].op == RV_OP_JALR ? RV_JIT_MIN - 1 : RV_JIT_MIN))
		return -1;
	b->n = n;
	struct emit *e = &b->e;
	e->p = j->code + j->used;
	u8 *start = e->p;
	/* prologue: the frame every block has; a chained exit enters the next block after it */
	push(e, LEFT);
	push(e, RCX);
	push(e, RSI);
	mov64(e, LEFT, RDX);
	if (e->p - start != PROLOGUE_BYTES)
		abort();
	for (int i = 0; i < b->rc.used; i++)
		if (callee_saved(pool[i])) {
			push(e, pool[i]);
			b->saved++;
		}
	for (unsigned g = 0; g < 32; g++)
		if (b->rc.host[g] >= 0)
			ldg(e, pool[b->rc.host[g]], g);
	u8 *top = e->p, *to_jalr = NULL, *jalr_ret = NULL;
	bool fp_guarded = false;
	for (k = 0; k < n; k++) {
		if (!fp_guarded && (is_fp_mem(slots[k].op) || is_fp_arith(slots[k].op))) {
			emit_fp_guard(b, slots, n, k);
			fp_guarded = true;
		}
		if (is_branch(slots[k].op)) {
			emit_branch(b, &slots[k], k, slots[0].off, top);
		} else if (slots[k].op == RV_OP_JALR) {
			emit_jalr(b, j, &slots[k], k, idx[k], &to_jalr, &jalr_ret);
		} else
			translate(b, &slots[k], k);
	}
	movi32(e, RDX, n);
	movi32(e, RCX, idx[n]);
	/* the run's end: an END links to the next block; anything else is the interpreter's */
	bool end_links = !to_jalr && j->arena[idx[n]].i.op == RV_OP_END;
	u8 *to_chain = end_links ? jmp(e) : NULL;
	u8 *epi = e->p, *ret_path;
	if (jalr_ret)
		patch(jalr_ret, epi);
	emit_exit(b, false);
	ret_path = e->p;
	mov64(e, RAX, LEFT);
	mov32(e, RDX, RCX);
	ri(e, true, 0, RSP, 16);
	pop(e, LEFT);
	b1(e, 0xc3); /* ret */
	u8 *epi_chain = e->p;
	if (to_chain)
		patch(to_chain, epi_chain);
	emit_exit(b, true);
	emit_chain(b, j);
	patch(jmp(e), ret_path);
	if (to_jalr) { /* the jalr epilogue: into the body of the run in rax */
		patch(to_jalr, e->p);
		movi32(e, RDX, n);
		emit_exit(b, true);
		memop(e, false, false, 0x8b, RAX, RAX, -1, 0, 0); /* mov eax, [rax + code] */
		movi(e, RDX, (s64)(uintptr_t)(j->code + PROLOGUE_BYTES));
		rr(e, true, 0x01, RAX, RDX);
		b1(e, 0xff); /* jmp rax */
		modrm(e, 4, RAX);
	}
	/* exit stubs, one per position left before and one per branch taken */
	u8 *stub[2][RV_JIT_MAX] = { { 0 } };
	for (unsigned f = 0; f < b->nfix; f++) {
		unsigned s = b->fix[f].k;
		bool t = b->fix[f].taken;
		if (!stub[t][s]) {
			stub[t][s] = e->p;
			movi32(e, RDX, t ? s + 1 : s);
			movi32(e, RCX, t ? idx[s] | RV_JIT_TAKEN : idx[s]);
			patch(jmp(e), t ? epi_chain : epi);
		}
		patch(b->fix[f].rel, stub[t][s]);
	}
	if ((size_t)(e->p - start) > FRAME_BYTES_MAX + (n + (to_jalr != NULL)) * INSN_BYTES_MAX)
		abort(); /* the bounds above are wrong: the buffer may have overflowed */
	j->used = DUO_ALIGN_UP((size_t)(e->p - j->code), 16);
	struct rv_jblock *blk = &j->blk[j->nblk];
	blk->code = (u32)(start - j->code);
	blk->n = n;
	return (int)j->nblk++;
}

#else /* no translator on this host */

void rv_jit_limit(struct rv_jit *j, size_t bytes)
{
}

struct rv_jit *rv_jit_create(const union rv_slot *arena, u32 slots)
{
	return NULL;
}

void rv_jit_destroy(struct rv_jit *j)
{
}

void rv_jit_reset(struct rv_jit *j)
{
}

bool rv_jit_can(const struct rv_insn *d)
{
	return false;
}

bool rv_jit_can_start(const struct rv_insn *d)
{
	return false;
}

const struct rv_jblock *rv_jit_block(const struct rv_jit *j, u32 id)
{
	return NULL;
}

int rv_jit_build(struct rv_jit *j, const struct rv_insn *slots, const u32 *idx, unsigned n,
		 bool *full)
{
	return -1;
}

const u8 *rv_jit_code(const struct rv_jit *j)
{
	return NULL;
}

#endif
