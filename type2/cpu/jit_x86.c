/*
 * jit_x86.c - the emulator's block translator for x86-64 hosts (see jit.h). A block is
 * a straight run of integer ALU instructions (RV64I/M register-register and immediate
 * forms, LUI/AUIPC, a few Zba/Zbb ops): no memory access, no branch, nothing that can
 * trap, so a block runs start to end or not at all and needs no exit paths.
 *
 * Code shape: the generated function gets the guest register file in rdi and the
 * page's virtual address in rsi (for AUIPC). Guest registers used by the block live in
 * six caller-saved host registers (rax, rdx, r8-r11), loaded on first read and stored
 * back at the end if written; rcx is the scratch and shift-count register. A run that
 * needs a seventh guest register ends before that instruction.
 *
 * Code goes into one executable buffer per vCPU, bump-allocated; when it (or the block
 * table) fills up, the owner drops every decoded block and calls rv_jit_reset. Only
 * the pages of the buffer that code was written to are ever touched.
 */
#include <stdlib.h>

#include "rv_internal.h"
#include "jit.h"

bool rv_jit_off;
unsigned rv_jit_hot = RV_JIT_HOT;

#if defined(__x86_64__)
#include <sys/mman.h>

/* Both sized for what one full decoded-block arena (rv_internal.h) tends to need; when
 * either fills up, everything decoded is dropped (rv_code_flush) and built again. */
#define CODE_BYTES (128u << 10)
#define MAX_BLOCKS 4096u
#define BLOCK_BYTES_MAX (RV_JIT_MAX * 40 + 64) /* worst case per block, with stores */

struct rv_jit {
	u8 *code;
	size_t used, limit;
	struct rv_jblock *blk;
	u32 nblk;
};

enum { RAX = 0, RCX = 1, RDX = 2, RSI = 6, RDI = 7, R8 = 8, R9, R10, R11 };
static const u8 pool[] = { RAX, RDX, R8, R9, R10, R11 };
#define NPOOL ((int)sizeof(pool))

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

static void rex(struct emit *e, bool w, int reg, int rm)
{
	u32 r = 0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((rm >> 3) & 1);
	if (r != 0x40)
		b1(e, r);
}

static void modrm(struct emit *e, int reg, int rm)
{
	b1(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* opc r/m(dst), r(src): 01 add, 09 or, 21 and, 29 sub, 31 xor, 39 cmp, 89 mov */
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

/* 81 /digit id: 0 add, 1 or, 4 and, 6 xor, 7 cmp */
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

static void movsxd(struct emit *e, int dst, int src)
{
	rex(e, true, dst, src);
	b1(e, 0x63);
	modrm(e, dst, src);
}

static void not64(struct emit *e, int r)
{
	rex(e, true, 0, r);
	b1(e, 0xf7);
	modrm(e, 2, r);
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
	rex(e, true, r, RDI);
	b1(e, 0x8b);
	b1(e, 0x80 | (r & 7) << 3 | 7);
	b4(e, 8 * g);
}

static void stg(struct emit *e, int r, unsigned g)
{
	rex(e, true, r, RDI);
	b1(e, 0x89);
	b1(e, 0x80 | (r & 7) << 3 | 7);
	b4(e, 8 * g);
}

/* ---- guest-register cache ------------------------------------------------------------- */

struct rcache {
	s8 host[32]; /* pool index, -1 when not cached */
	bool dirty[32];
	int used;
};

static bool reads_rs1(u8 op)
{
	return op != RV_OP_LI && op != RV_OP_LUI && op != RV_OP_AUIPC && op != RV_OP_NOP;
}

static bool reads_rs2(u8 op)
{
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
	case RV_OP_MULW:
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

bool rv_jit_can(u8 op)
{
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
	return reads_rs2(op);
}

/* How many not-yet-cached registers d would bring in. */
static int newregs(const struct rcache *rc, const struct rv_insn *d)
{
	int n = 0, seen[3], ns = 0;
	int regs[3] = { reads_rs1(d->op) ? d->rs1 : -1, reads_rs2(d->op) ? d->rs2 : -1,
			d->op == RV_OP_NOP ? -1 : d->rd };
	for (int i = 0; i < 3; i++) {
		int r = regs[i], dup = 0;
		if (r < 0 || rc->host[r] >= 0)
			continue;
		for (int k = 0; k < ns; k++)
			dup |= seen[k] == r;
		if (!dup) {
			seen[ns++] = r;
			n++;
		}
	}
	return n;
}

/* The host register for guest register g, loading it when `load`. */
static int reg(struct emit *e, struct rcache *rc, unsigned g, bool load)
{
	if (rc->host[g] < 0) {
		rc->host[g] = (s8)rc->used++;
		if (load)
			ldg(e, pool[rc->host[g]], g);
	}
	return pool[rc->host[g]];
}

static void translate(struct emit *e, struct rcache *rc, const struct rv_insn *d)
{
	u8 op = d->op;
	s32 imm = d->imm;
	int A = reads_rs1(op) ? reg(e, rc, d->rs1, true) : -1;
	int B = reads_rs2(op) ? reg(e, rc, d->rs2, true) : -1;
	if (op == RV_OP_NOP || d->rd == 0)
		return;
	int D = reg(e, rc, d->rd, false);
	rc->dirty[d->rd] = true;
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
		rr(e, true, 0x01, RCX, RSI);
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
		not64(e, RCX);
		rr(e, true, op == RV_OP_ANDN ? 0x21 : 0x09, RCX, A);
		mov64(e, D, RCX);
		return;
	case RV_OP_XNOR:
		mov64(e, RCX, A);
		rr(e, true, 0x31, RCX, B);
		not64(e, RCX);
		mov64(e, D, RCX);
		return;
	}
}

struct rv_jit *rv_jit_create(void)
{
	if (rv_jit_off || getenv("DUO_NOJIT"))
		return NULL;
	struct rv_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->blk = calloc(MAX_BLOCKS, sizeof(*j->blk));
	j->code = mmap(NULL, CODE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	j->limit = CODE_BYTES;
	if (!j->blk || j->code == MAP_FAILED) {
		if (j->code != MAP_FAILED)
			munmap(j->code, CODE_BYTES);
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
	munmap(j->code, CODE_BYTES);
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
	j->limit = DUO_MIN(bytes, (size_t)CODE_BYTES);
}

int rv_jit_build(struct rv_jit *j, const struct rv_insn *slots, unsigned n, bool *full)
{
	struct rcache rc;
	struct emit e;
	unsigned k;
	if (j->nblk >= MAX_BLOCKS || j->used + BLOCK_BYTES_MAX > j->limit) {
		*full = true;
		return -1;
	}
	memset(rc.host, -1, sizeof(rc.host));
	memset(rc.dirty, 0, sizeof(rc.dirty));
	rc.used = 0;
	e.p = j->code + j->used;
	u8 *start = e.p;
	for (k = 0; k < n && k < RV_JIT_MAX; k++) {
		if (rc.used + newregs(&rc, &slots[k]) > NPOOL)
			break;
		translate(&e, &rc, &slots[k]);
	}
	if (k < RV_JIT_MIN) /* emitted code is simply abandoned */
		return -1;
	for (unsigned g = 1; g < 32; g++)
		if (rc.host[g] >= 0 && rc.dirty[g])
			stg(&e, pool[rc.host[g]], g);
	b1(&e, 0xc3); /* ret */
	j->used = DUO_ALIGN_UP((size_t)(e.p - j->code), 16);
	struct rv_jblock *b = &j->blk[j->nblk];
	b->code = (u32)(start - j->code);
	b->n = k;
	return (int)j->nblk++;
}

#else /* no translator on this host */

void rv_jit_limit(struct rv_jit *j, size_t bytes)
{
}

struct rv_jit *rv_jit_create(void)
{
	return NULL;
}

void rv_jit_destroy(struct rv_jit *j)
{
}

void rv_jit_reset(struct rv_jit *j)
{
}

bool rv_jit_can(u8 op)
{
	return false;
}

const struct rv_jblock *rv_jit_block(const struct rv_jit *j, u32 id)
{
	return NULL;
}

int rv_jit_build(struct rv_jit *j, const struct rv_insn *slots, unsigned n, bool *full)
{
	return -1;
}

const u8 *rv_jit_code(const struct rv_jit *j)
{
	return NULL;
}

#endif
