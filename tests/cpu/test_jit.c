/*
 * test_jit.c - the block translator (type2/cpu/jit_x86.c) against the interpreter:
 * random runs of the instructions it translates (every form it accepts, 32-bit and
 * compressed, rd = x0 hints, more live registers than it keeps in host registers, runs
 * crossing a page end and straddling instructions, mul/div/rem with their special
 * operands, loads and stores to RAM - misaligned, crossing a page - and to MMIO, runs
 * that loop back to their start or end in a forward branch, runs and loops with forward
 * branches inside, so that a run spans blocks and chains to others) on random register values
 * and data, FP loads/stores and double-precision arithmetic (static and dynamic rounding,
 * special operands, fflags with and without NX, sstatus.FS Off: exceptions mid-run, with
 * fused multiply-adds, the trap vector ending the run), executed once with the translator
 * and once without;
 * every integer and FP register, fcsr, sstatus, the trap CSRs, the data and instret must
 * agree. Also: every translated FP operation on every pair of special operands alone; a
 * translated FP loop interrupted by the timer, rewritten by a store and after fence.i;
 * and a store into the middle of a translated run must take effect on its next
 * execution; chained runs in lockstep with the interpreter, chunk by chunk.
 */
#include <stdio.h>
#include <string.h>

#include "../unit/harness.h"
#include "../../type2/cpu/rv_internal.h"
#include "../../type2/cpu/jit.h"
#include "machine.h"

static u64 rnd(u64 *s)
{
	u64 x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

#define R(f7, rs2, rs1, f3, rd, opc)                                                               \
	((u32)(f7) << 25 | (u32)(rs2) << 20 | (u32)(rs1) << 15 | (u32)(f3) << 12 |                 \
	 (u32)(rd) << 7 | (opc))
#define I(imm, rs1, f3, rd, opc)                                                                   \
	(((u32)(imm)&0xfff) << 20 | (u32)(rs1) << 15 | (u32)(f3) << 12 | (u32)(rd) << 7 | (opc))

static const struct {
	u8 opc, f3, f7;
} rtype[] = {
	{ 0x33, 0, 0x00 }, { 0x33, 0, 0x20 }, { 0x33, 1, 0x00 }, { 0x33, 2, 0x00 },
	{ 0x33, 3, 0x00 }, { 0x33, 4, 0x00 }, { 0x33, 5, 0x00 }, { 0x33, 5, 0x20 },
	{ 0x33, 6, 0x00 }, { 0x33, 7, 0x00 }, { 0x33, 0, 0x01 }, { 0x3b, 0, 0x00 },
	{ 0x3b, 0, 0x20 }, { 0x3b, 1, 0x00 }, { 0x3b, 5, 0x00 }, { 0x3b, 5, 0x20 },
	{ 0x3b, 0, 0x01 }, { 0x33, 2, 0x10 }, { 0x33, 4, 0x10 }, { 0x33, 6, 0x10 },
	{ 0x3b, 0, 0x04 }, { 0x3b, 2, 0x10 }, { 0x3b, 4, 0x10 }, { 0x3b, 6, 0x10 },
	{ 0x33, 7, 0x20 }, { 0x33, 6, 0x20 }, { 0x33, 4, 0x20 },
};

/* One random translatable instruction; *len gets 2 or 4. */
static u32 random_insn(u64 *s, unsigned nregs, unsigned *len)
{
	unsigned rd = (unsigned)(rnd(s) % nregs) + 1, rs1 = (unsigned)(rnd(s) % (nregs + 1)),
		 rs2 = (unsigned)(rnd(s) % (nregs + 1));
	if (rnd(s) % 16 == 0)
		rd = 0; /* hint */
	s32 imm = (s32)(rnd(s) % 4096) - 2048;
	unsigned sh = (unsigned)(rnd(s) % 64), sh5 = sh & 31;
	*len = 4;
	switch (rnd(s) % 38) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 7: {
		unsigned k = (unsigned)(rnd(s) % DUO_ARRAY_SIZE(rtype));
		return R(rtype[k].f7, rs2, rs1, rtype[k].f3, rd, rtype[k].opc);
	}
	case 8:
		return I(imm, rs1, 0, rd, 0x13); /* addi */
	case 9:
		return I(imm, rs1, 2, rd, 0x13); /* slti */
	case 10:
		return I(imm, rs1, 3, rd, 0x13); /* sltiu */
	case 11:
		return I(imm, rs1, (rnd(s) % 3) == 0 ? 4 : (rnd(s) & 1) ? 6 : 7, rd, 0x13);
	case 12:
		return I(sh, rs1, 1, rd, 0x13); /* slli */
	case 13:
		return I(sh, rs1, 5, rd, 0x13); /* srli */
	case 14:
		return I(0x400 | sh, rs1, 5, rd, 0x13); /* srai */
	case 15:
		return I(imm, rs1, 0, rd, 0x1b); /* addiw */
	case 16:
		return I(sh5, rs1, 1, rd, 0x1b); /* slliw */
	case 17:
		return I((rnd(s) & 1 ? 0x400 : 0) | sh5, rs1, 5, rd, 0x1b); /* sr[al]iw */
	case 18:
		return I(0x080 | sh, rs1, 1, rd, 0x1b); /* slli.uw */
	case 19:
		return (u32)(rnd(s) & 0xfffff000) | rd << 7 | (rnd(s) & 1 ? 0x37 : 0x17);
	case 20: /* c.addi / c.li */
		*len = 2;
		return (u32)((rnd(s) & 1 ? 0x0001 : 0x4001) | ((imm >> 5) & 1) << 12 | rd << 7 |
			     (imm & 31) << 2);
	case 21: /* c.mv / c.add */
		*len = 2;
		return (u32)((rnd(s) & 1 ? 0x8002 : 0x9002) | rd << 7 | (rs2 ? rs2 : 1) << 2);
	case 22: /* c.slli */
		*len = 2;
		return (u32)(0x0002 | ((sh >> 5) & 1) << 12 | rd << 7 | (sh & 31) << 2);
	case 23: /* lui with a small value (li-like) */
		return (u32)(rnd(s) % 16) << 12 | rd << 7 | 0x37;
	case 24: { /* mul/div/rem family, with their special divisors from the registers */
		static const u8 f3w[] = { 0, 4, 5, 6, 7 }; /* mulw divw divuw remw remuw */
		if (rnd(s) & 1)
			return R(1, rs2, rs1, (u32)(rnd(s) % 8), rd, 0x33);
		return R(1, rs2, rs1, f3w[rnd(s) % 5], rd, 0x3b);
	}
	case 30:
	case 31:
	case 32: { /* fadd/fsub/fmul/fdiv.d f0-f7, rm: RNE, dynamic, or one never translated */
		static const u8 rms[] = { 0, 0, 0, 7, 7, 7, 1, 2, 3, 4 };
		unsigned f7 = (unsigned)(rnd(s) % 4) << 2 | 1;
		return R(f7, rnd(s) % 8, rnd(s) % 8, rms[rnd(s) % DUO_ARRAY_SIZE(rms)], rnd(s) % 8,
			 0x53);
	}
	case 36:
	case 37: { /* fmadd/fmsub/fnmsub/fnmadd.d f0-f7 */
		static const u8 rms[] = { 0, 0, 0, 7, 7, 7, 1, 2, 3, 4 };
		u32 r = R(1, rnd(s) % 8, rnd(s) % 8, rms[rnd(s) % DUO_ARRAY_SIZE(rms)], rnd(s) % 8,
			  0x43 + 4 * (rnd(s) % 4));
		return r | (u32)(rnd(s) % 8) << 27;
	}
	case 33:
	case 34:
	case 35: { /* fld/flw/fsd/fsw f0-f7 at x31 (RAM) or x30 (the device) */
		unsigned base = rnd(s) % 8 ? 31 : 30, f = (unsigned)(rnd(s) % 8);
		s32 off = base == 31 ? (s32)(rnd(s) % 2048) - 64 : (s32)(rnd(s) % 64) * 8;
		u32 f3 = rnd(s) & 1 ? 3 : 2;
		if (rnd(s) % 2)
			return I(off, base, f3, f, 0x07);
		return (u32)(((u32)off >> 5) & 0x7f) << 25 | f << 20 | base << 15 | f3 << 12 |
		       ((u32)off & 31) << 7 | 0x27;
	}
	default: { /* loads and stores: RAM at x31 (some misaligned, some crossing into the
		    * next page), the test device at x30 (the interpreter does those) */
		unsigned base = rnd(s) % 8 ? 31 : 30;
		s32 off = base == 31 ? (s32)(rnd(s) % 2048) - 64 : (s32)(rnd(s) % 64) * 8;
		if (rnd(s) % 2)
			return I(off, base, (u32)(rnd(s) % 7), rd, 0x03); /* lb..lwu */
		return (u32)(((u32)off >> 5) & 0x7f) << 25 | rs2 << 20 | base << 15 |
		       (u32)(rnd(s) % 4) << 12 | ((u32)off & 31) << 7 | 0x23; /* sb..sd */
	}
	}
}

static const u64 specials[] = { 0,
				1,
				~0ULL,
				0x8000000000000000ULL,
				0x7fffffffffffffffULL,
				0x80000000,
				0x7fffffff,
				0xffffffff,
				31,
				32,
				63,
				64 };

/* FP register values: zeros, infinities, NaNs (quiet, signalling, NaN-boxed singles),
 * subnormals, the smallest normals, values whose products underflow or overflow. */
static const u64 fspecials[] = {
	0,
	0x8000000000000000ULL,
	0x3ff0000000000000ULL, /* 1 */
	0xbff8000000000000ULL, /* -1.5 */
	0x7ff0000000000000ULL,
	0xfff0000000000000ULL,
	0x7ff8000000000000ULL,
	0x7ff4000000000000ULL,
	0xffffffff3f800000ULL, /* 1.0f, NaN-boxed */
	1,
	0x000fffffffffffffULL,
	0x0010000000000000ULL,
	0x0020000000000000ULL,
	0x0018000000000001ULL,
	0x1e0fffffffffffffULL, /* ~1e-160 */
	0x6120000000000001ULL, /* ~1e160 */
	0x7fefffffffffffffULL,
	0x4000000000000000ULL, /* 2 */
	0x3fe0000000000000ULL, /* 0.5 */
	0x8010000000000000ULL,
	0x3fffffffffffffffULL, /* 2 - 2^-52: times 2^-1023 rounds up to the smallest normal */
	0x0008000000000000ULL, /* 2^-1023 */
	0x0010000000000001ULL,
	0x7fe0000000000000ULL, /* 2^1023 */
	0xc000000000000000ULL, /* -2 */
};

/* The FP and trap state a run starts from and what it leaves. */
struct fpstate {
	u64 f[32];
	u32 fcsr;
	u64 mstatus, sepc, scause, stval;
};

#define B(imm, rs2, rs1, f3)                                                                       \
	((((u32)(imm) >> 12) & 1) << 31 | (((u32)(imm) >> 5) & 0x3f) << 25 | (u32)(rs2) << 20 |    \
	 (u32)(rs1) << 15 | (u32)(f3) << 12 | (((u32)(imm) >> 1) & 0xf) << 8 |                     \
	 (((u32)(imm) >> 11) & 1) << 7 | 0x63)

/* Data the random loads and stores use: around a page boundary at x31, and the test
 * device at x30 (MMIO: the translated code leaves those to the interpreter). */
#define DATA_GPA (PLAT_RAM_BASE + 0x21000)
#define DATA_BYTES 0x1000

/* Run `code` at gpa on m from registers `x` and data `data` (twice: the second pass runs
 * whatever the first one translated), leaving the registers in out and the data in
 * dout. */
static void run(struct tmachine *m, u64 gpa, const u8 *code, size_t len, const u64 *x,
		const struct fpstate *fin, const u8 *data, u64 *out, struct fpstate *fout, u8 *dout)
{
	u32 ecall = 0x73;
	u16 cnop = 0x0001;
	tm_load(m, gpa, code, len);
	u64 end = (gpa + len + 3) & ~3ULL; /* the ecall 4-byte aligned: also the trap vector */
	if (end != gpa + len)
		tm_load(m, gpa + len, &cnop, 2);
	tm_load(m, end, &ecall, 4);
	u8 *ram = m->vm.ram + (DATA_GPA - DATA_BYTES / 2 - PLAT_RAM_BASE);
	memcpy(ram, data, DATA_BYTES);
	for (int r = 0; r < 2; r++) {
		memcpy(m->cpu.x, x, 32 * 8);
		m->cpu.x[0] = 0;
		m->cpu.x[30] = TM_MMIO_BASE;
		m->cpu.x[31] = DATA_GPA - 1024;
		memcpy(m->cpu.f, fin->f, sizeof(m->cpu.f));
		m->cpu.fcsr = fin->fcsr;
		m->cpu.mstatus = fin->mstatus;
		m->cpu.stvec = end; /* an exception ends the run too */
		m->cpu.sepc = m->cpu.scause = m->cpu.stval = 0;
		m->cpu.pc = gpa;
		while (rv_cpu_run(&m->cpu, 1000) != RV_EXIT_ECALL)
			;
	}
	memcpy(out, m->cpu.x, 32 * 8);
	memcpy(fout->f, m->cpu.f, sizeof(m->cpu.f));
	fout->fcsr = m->cpu.fcsr;
	fout->mstatus = m->cpu.mstatus;
	fout->sepc = m->cpu.sepc;
	fout->scause = m->cpu.scause;
	fout->stval = m->cpu.stval;
	memcpy(dout, ram, DATA_BYTES);
}

static void differential(size_t code_limit)
{
	u64 s = 0x9e3779b97f4a7c15ULL;
	int bad = 0;
	/* pass 1 of each run counts executions, pass 2 translates and runs the code */
	rv_jit_hot = 2;
	struct tmachine *mj = tm_new();
	if (code_limit)
		rv_jit_limit(rv_st(&mj->cpu)->jit, code_limit);
	rv_jit_off = true;
	struct tmachine *mi = tm_new();
	rv_jit_off = false;
	CHECK(rv_st(&mj->cpu)->jit != NULL);
	CHECK(rv_st(&mi->cpu)->jit == NULL);
	static u8 data[DATA_BYTES], da[DATA_BYTES], db[DATA_BYTES];
	for (int iter = 0; iter < 5000 && bad < 5; iter++) {
		u8 code[320];
		size_t len = 0;
		unsigned nregs = (unsigned)(iter % 3 == 0 ? 12 : 5);
		unsigned n = 1 + (unsigned)(rnd(&s) % 40);
		/* shapes: a straight run; a loop of cnt passes (x28 counts down, bne back to
		 * the body's first instruction); a run ending in a branch over one instruction;
		 * runs with such branches inside (one translated run goes on through the blocks
		 * that follow a branch not taken), straight and as a loop's body */
		unsigned shape = (unsigned)(rnd(&s) % 5), cnt = 1 + (unsigned)(rnd(&s) % 40);
		static const u8 f3[] = { 0, 1, 4, 5, 6, 7 };
		u32 insn;
		if (shape == 1 || shape == 4) {
			insn = I(cnt, 0, 0, 28, 0x13); /* addi x28, x0, cnt */
			memcpy(code + len, &insn, 4);
			len += 4;
		}
		size_t body = len;
		for (unsigned k = 0; k < n && len + 16 <= sizeof(code) - 16; k++) {
			unsigned l;
			if (shape >= 3 && k > 0 && rnd(&s) % 5 == 0) {
				unsigned a = (unsigned)(rnd(&s) % (nregs + 1)),
					 b = (unsigned)(rnd(&s) % 3);
				insn = B(8, b, a, f3[rnd(&s) % 6]);
				memcpy(code + len, &insn, 4);
				len += 4;
				insn = I(1, 1, 0, 1, 0x13); /* addi ra, ra, 1: skipped when taken */
				memcpy(code + len, &insn, 4);
				len += 4;
				continue;
			}
			insn = random_insn(&s, nregs, &l);
			memcpy(code + len, &insn, l);
			len += l;
		}
		if (shape == 1 || shape == 4) {
			insn = I(-1, 28, 0, 28, 0x13); /* addi x28, x28, -1 */
			memcpy(code + len, &insn, 4);
			len += 4;
			insn = B(-(s32)(len - body), 0, 28, 1); /* bne x28, x0, body */
			memcpy(code + len, &insn, 4);
			len += 4;
		} else if (shape == 2) {
			unsigned a = (unsigned)(rnd(&s) % (nregs + 1)), b = (unsigned)(rnd(&s) % 3);
			insn = B(8, b, a, f3[rnd(&s) % 6]);
			memcpy(code + len, &insn, 4);
			len += 4;
			insn = I(1, 1, 0, 1, 0x13); /* addi ra, ra, 1: skipped when taken */
			memcpy(code + len, &insn, 4);
			len += 4;
		}
		u64 x[32], a[32], b[32];
		struct fpstate fin = { 0 }, fa, fb;
		for (int r = 0; r < 32; r++)
			x[r] = rnd(&s) % 3 ? rnd(&s) : specials[rnd(&s) % DUO_ARRAY_SIZE(specials)];
		for (int r = 0; r < 32; r++) {
			u64 k = rnd(&s) % 4;
			fin.f[r] = k == 0   ? rnd(&s)
				   : k == 1 ? 0x4000000000000000ULL ^ (rnd(&s) & 0x801fffffffffffffULL)
					    : fspecials[rnd(&s) % DUO_ARRAY_SIZE(fspecials)];
		}
		/* frm 0-4 (DYN with frm 0 is the translated case), fflags random (NX mostly
		 * set); FS mostly on, sometimes Off (FP instructions are illegal) */
		fin.fcsr = (u32)(rnd(&s) % 3 ? 0 : rnd(&s) % 5) << 5 | (u32)(rnd(&s) & 0x1e) |
			   (rnd(&s) % 4 ? 1U : 0U);
		fin.mstatus = (u64)(rnd(&s) % 10 ? 1 + rnd(&s) % 3 : 0) << 13;
		for (size_t i = 0; i < DATA_BYTES; i += 8) {
			u64 v = rnd(&s);
			memcpy(data + i, &v, 8);
		}
		/* some runs cross from one page into the next */
		u64 gpa =
			PLAT_RAM_BASE + 0x10000 + (iter % 4 == 0 ? 0x1000 - 2 * (rnd(&s) % 40) : 0);
		run(mj, gpa, code, len, x, &fin, data, a, &fa, da);
		run(mi, gpa, code, len, x, &fin, data, b, &fb, db);
		if (memcmp(fa.f, fb.f, sizeof(fa.f)) || fa.fcsr != fb.fcsr ||
		    fa.mstatus != fb.mstatus || fa.sepc != fb.sepc || fa.scause != fb.scause ||
		    fa.stval != fb.stval) {
			char msg[200];
			int r = 0;
			while (r < 31 && fa.f[r] == fb.f[r])
				r++;
			snprintf(msg, sizeof(msg),
				 "iter %d: FP/trap state differs: f%d %llx/%llx fcsr %x/%x mstatus "
				 "%llx/%llx scause %llx/%llx sepc %llx/%llx",
				 iter, r, (unsigned long long)fa.f[r], (unsigned long long)fb.f[r],
				 fa.fcsr, fb.fcsr, (unsigned long long)fa.mstatus,
				 (unsigned long long)fb.mstatus, (unsigned long long)fa.scause,
				 (unsigned long long)fb.scause, (unsigned long long)fa.sepc,
				 (unsigned long long)fb.sepc);
			test_fail(__FILE__, __LINE__, msg);
			bad++;
		}
		for (int r = 0; r < 32; r++)
			if (a[r] != b[r]) {
				char msg[160];
				snprintf(msg, sizeof(msg),
					 "iter %d: x%d jit %llx interp %llx (first insn %08x)",
					 iter, r, (unsigned long long)a[r],
					 (unsigned long long)b[r], *(u32 *)code);
				test_fail(__FILE__, __LINE__, msg);
				bad++;
				break;
			}
		if (mj->cpu.instret != mi->cpu.instret) {
			char msg[80];
			snprintf(msg, sizeof(msg), "iter %d: instret jit %llu interp %llu", iter,
				 (unsigned long long)mj->cpu.instret,
				 (unsigned long long)mi->cpu.instret);
			test_fail(__FILE__, __LINE__, msg);
			bad++;
		}
		if (memcmp(da, db, DATA_BYTES)) {
			char msg[80];
			snprintf(msg, sizeof(msg), "iter %d: memory differs", iter);
			test_fail(__FILE__, __LINE__, msg);
			bad++;
		}
	}
	tm_free(mj);
	tm_free(mi);
	rv_jit_hot = RV_JIT_HOT;
}

TEST(jit_differential_random_runs)
{
	differential(0);
}

/* A code buffer that fills after a few blocks: flush and rebuild, results unchanged. */
TEST(jit_differential_tiny_code_buffer)
{
	differential(2000); /* room for one block at a time */
}

/* A translated run whose middle instruction the guest rewrites: the next pass must use
 * the new instruction (the store lands in the same page as the run). */
TEST(jit_block_invalidated_by_store)
{
	struct tmachine *m = tm_new();
	CHECK(rv_st(&m->cpu)->jit != NULL);
	rv_jit_hot = 1; /* translated on its first execution */
	/*  0: addi a0, x0, 1    4: addi a0, a0, 1    8: addi a0, a0, 1    12: addi a0, a0, 1
	 * 16: ecall             20: sw t1, 8(t0)     24: ecall                                  */
	const u32 code[] = { I(1, 0, 0, 10, 0x13),
			     I(1, 10, 0, 10, 0x13),
			     I(1, 10, 0, 10, 0x13),
			     I(1, 10, 0, 10, 0x13),
			     0x73,
			     R(0, 6, 5, 2, 8, 0x23),
			     0x73 };
	u64 base = PLAT_RAM_BASE + 0x2000;
	tm_load(m, base, code, sizeof(code));
	m->cpu.pc = base;
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[10], 4);
	/* the guest replaces instruction 2 with addi a0, a0, 100 */
	m->cpu.x[5] = base;
	m->cpu.x[6] = I(100, 10, 0, 10, 0x13);
	m->cpu.pc = base + 20;
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_ECALL);
	m->cpu.pc = base;
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[10], 103);
	rv_jit_hot = RV_JIT_HOT;
	tm_free(m);
}

/* A straight run of translatable instructions becomes one translated run once hot. */
TEST(jit_long_run_is_one_block)
{
	struct tmachine *m = tm_new();
	CHECK(rv_st(&m->cpu)->jit != NULL);
	u32 code[11];
	for (int i = 0; i < 10; i++)
		code[i] = I(i + 1, 10, 0, 10, 0x13); /* addi a0, a0, i+1 */
	code[10] = 0x73;
	u64 base = PLAT_RAM_BASE + 0x3000;
	tm_load(m, base, code, sizeof(code));
	rv_jit_hot = 2;
	for (int r = 0; r < 2; r++) {
		m->cpu.x[10] = 0;
		m->cpu.pc = base;
		CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_ECALL);
		CHECK_EQ(m->cpu.x[10], 55);
	}
	rv_jit_hot = RV_JIT_HOT;
	const struct rv_insn *b = rv_find_block(rv_st(&m->cpu), base);
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ(b->op, RV_OP_BLOCK);
		if (b->op == RV_OP_BLOCK)
			CHECK_EQ(rv_jit_block(rv_st(&m->cpu)->jit, b->raw & ~RV_JIT_ID)->n, 10);
	}
	tm_free(m);
}

/* One chunk of `budget` instructions on mj (translator) and mi (interpreter), in
 * lockstep: false, with a test failure, when they disagree on the exit, pc, instret or
 * the integer registers. */
static bool lockstep_chunk(struct tmachine *mj, struct tmachine *mi, u64 budget, int chunk,
			   enum rv_exit r[2])
{
	r[0] = rv_cpu_run(&mj->cpu, budget);
	r[1] = rv_cpu_run(&mi->cpu, budget);
	if (r[0] == r[1] && mj->cpu.pc == mi->cpu.pc && mj->cpu.instret == mi->cpu.instret &&
	    !memcmp(mj->cpu.x, mi->cpu.x, sizeof(mj->cpu.x)))
		return true;
	char msg[160];
	snprintf(msg, sizeof(msg), "chunk %d (budget %llu): pc %llx/%llx instret %llu/%llu", chunk,
		 (unsigned long long)budget, (unsigned long long)mj->cpu.pc,
		 (unsigned long long)mi->cpu.pc, (unsigned long long)mj->cpu.instret,
		 (unsigned long long)mi->cpu.instret);
	test_fail(__FILE__, __LINE__, msg);
	return false;
}

/*
 * A loop whose body is several blocks (forward branches over one instruction, taken or
 * not by the counter's bits): once hot, one translated run covers the body through the
 * branches not taken, and taken ones go straight into the translated run at their target.
 * Run with and without the translator in lockstep, in chunks of 1..64 instructions: after
 * every chunk pc, instret and the registers agree (a run, chained or not, never executes
 * more than its budget).
 */
TEST(jit_chained_runs_keep_the_budget)
{
	/*  0: addi x28, x0, 300
	 *  4: addi x5, x5, 3       8: andi x6, x28, 1      12: beq x6, x0, +8
	 * 16: addi x7, x7, 1      20: xor x8, x5, x7      24: andi x6, x28, 2
	 * 28: bne x6, x0, +8      32: addi x9, x9, 5      36: add x10, x10, x8
	 * 40: andi x6, x28, 4     44: beq x6, x0, +8      48: sub x11, x11, x9
	 * 52: addi x12, x12, 1    56: addi x28, x28, -1   60: bne x28, x0, 4
	 * 64: ecall */
	const u32 code[] = { I(300, 0, 0, 28, 0x13),
			     I(3, 5, 0, 5, 0x13),
			     I(1, 28, 7, 6, 0x13),
			     B(8, 0, 6, 0),
			     I(1, 7, 0, 7, 0x13),
			     R(0, 7, 5, 4, 8, 0x33),
			     I(2, 28, 7, 6, 0x13),
			     B(8, 0, 6, 1),
			     I(5, 9, 0, 9, 0x13),
			     R(0, 8, 10, 0, 10, 0x33),
			     I(4, 28, 7, 6, 0x13),
			     B(8, 0, 6, 0),
			     R(0x20, 9, 11, 0, 11, 0x33),
			     I(1, 12, 0, 12, 0x13),
			     I(-1, 28, 0, 28, 0x13),
			     B(-56, 0, 28, 1),
			     0x73 };
	u64 base = PLAT_RAM_BASE + 0x5000, s = 12345;
	rv_jit_hot = 2;
	struct tmachine *mj = tm_new();
	rv_jit_off = true;
	struct tmachine *mi = tm_new();
	rv_jit_off = false;
	struct tmachine *m[2] = { mj, mi };
	for (int k = 0; k < 2; k++) {
		tm_load(m[k], base, code, sizeof(code));
		m[k]->cpu.pc = base;
	}
	int chunks = 0, bad = 0;
	bool spans = false;
	for (;;) {
		u64 budget = 1 + rnd(&s) % 64;
		enum rv_exit r[2];
		if (!lockstep_chunk(mj, mi, budget, ++chunks, r) && ++bad > 3)
			break;
		/* the body's run goes past its first branch (into the block after it) */
		const struct rv_insn *b = rv_find_block(rv_st(&mj->cpu), base + 4);
		if (b && b->op == RV_OP_BLOCK)
			spans |= rv_jit_block(rv_st(&mj->cpu)->jit, b->raw & ~RV_JIT_ID)->n > 3;
		if (r[0] == RV_EXIT_ECALL || r[1] == RV_EXIT_ECALL || chunks > 100000)
			break;
	}
	CHECK_EQ(mj->cpu.x[28], 0);
	CHECK(spans);
	rv_jit_hot = RV_JIT_HOT;
	tm_free(mj);
	tm_free(mi);
}

/*
 * Calls and returns across pages: a loop in one page calls, through jalr, a function in
 * the next page (auipc there: its result depends on the page the code runs in) and a
 * two-instruction one; the returns land on a block that a run starts and on one that
 * starts with a branch. Once hot, the runs end in their jalr and go on into the run they
 * predict, in the other page. In lockstep with the interpreter, in chunks of 1..64
 * instructions, as above.
 */
TEST(jit_jalr_runs_across_pages)
{
	/*  0: addi x28, x0, 200       4: auipc x20, 1          8: addi x20, x20, -4
	 * 12: addi x21, x20, 64
	 * 16: addi x5, x5, 1         20: xor x6, x5, x28      24: addi x7, x7, 3
	 * 28: jalr x1, 0(x20)        32: add x8, x8, x10      36: addi x9, x9, 7
	 * 40: andi x11, x28, 1       44: jalr x1, 0(x21)      48: beq x10, x0, +8
	 * 52: addi x12, x12, 1       56: addi x28, x28, -1    60: bne x28, x0, -44
	 * 64: ecall
	 * f, next page:  0: auipc x13, 0    4: add x10, x5, x13    8: srli x10, x10, 1
	 *               12: sub x14, x14, x6   16: jalr x0, 0(x1)
	 * g, f + 64:     0: andi x10, x28, 1   4: jalr x0, 0(x1) */
	const u32 code[] = { I(200, 0, 0, 28, 0x13),
			     (1u << 12) | 20u << 7 | 0x17,
			     I(-4, 20, 0, 20, 0x13),
			     I(64, 20, 0, 21, 0x13),
			     I(1, 5, 0, 5, 0x13),
			     R(0, 28, 5, 4, 6, 0x33),
			     I(3, 7, 0, 7, 0x13),
			     I(0, 20, 0, 1, 0x67),
			     R(0, 10, 8, 0, 8, 0x33),
			     I(7, 9, 0, 9, 0x13),
			     I(1, 28, 7, 11, 0x13),
			     I(0, 21, 0, 1, 0x67),
			     B(8, 0, 10, 0),
			     I(1, 12, 0, 12, 0x13),
			     I(-1, 28, 0, 28, 0x13),
			     B(-44, 0, 28, 1),
			     0x73 };
	const u32 f[] = { 13u << 7 | 0x17, R(0, 13, 5, 0, 10, 0x33), I(1, 10, 5, 10, 0x13),
			  R(0x20, 6, 14, 0, 14, 0x33), I(0, 1, 0, 0, 0x67) };
	const u32 g[] = { I(1, 28, 7, 10, 0x13), I(0, 1, 0, 0, 0x67) };
	u64 base = PLAT_RAM_BASE + 0x5000, s = 4242;
	rv_jit_hot = 2;
	struct tmachine *mj = tm_new();
	rv_jit_off = true;
	struct tmachine *mi = tm_new();
	rv_jit_off = false;
	struct tmachine *m[2] = { mj, mi };
	for (int k = 0; k < 2; k++) {
		tm_load(m[k], base, code, sizeof(code));
		tm_load(m[k], base + 0x1000, f, sizeof(f));
		tm_load(m[k], base + 0x1040, g, sizeof(g));
		m[k]->cpu.pc = base;
	}
	int chunks = 0, bad = 0;
	unsigned ends_in_jalr = 0;
	for (;;) {
		u64 budget = 1 + rnd(&s) % 64;
		enum rv_exit r[2];
		if (!lockstep_chunk(mj, mi, budget, ++chunks, r) && ++bad > 3)
			break;
		/* the callers' runs and both functions' end in their jalr */
		static const u32 at[] = { 16, 32, 0x1000, 0x1040 }, len[] = { 4, 4, 5, 2 };
		for (int i = 0; i < 4; i++) {
			const struct rv_insn *b = rv_find_block(rv_st(&mj->cpu), base + at[i]);
			if (b && b->op == RV_OP_BLOCK &&
			    rv_jit_block(rv_st(&mj->cpu)->jit, b->raw & ~RV_JIT_ID)->n == len[i])
				ends_in_jalr |= 1u << i;
		}
		if (r[0] == RV_EXIT_ECALL || r[1] == RV_EXIT_ECALL || chunks > 100000)
			break;
	}
	CHECK_EQ(mj->cpu.x[28], 0);
	CHECK_EQ(ends_in_jalr, 15);
	rv_jit_hot = RV_JIT_HOT;
	tm_free(mj);
	tm_free(mi);
}

/* Every translated FP operation (the fused ones with f4 as the addend, several of them
 * per pair) on every pair of special operands, alone in a run (so its flags are its own),
 * with static and dynamic round-to-nearest, NX accrued or not: results, fflags and
 * sstatus.FS as the interpreter has them. */
TEST(jit_fp_special_operands)
{
	rv_jit_hot = 2;
	struct tmachine *mj = tm_new();
	rv_jit_off = true;
	struct tmachine *mi = tm_new();
	rv_jit_off = false;
	static u8 data[DATA_BYTES], da[DATA_BYTES], db[DATA_BYTES];
	int bad = 0;
	unsigned nsp = DUO_ARRAY_SIZE(fspecials);
	/* the addend of the fused ops: a few of the specials */
	static const u64 addend[] = { 0, 0x8000000000000000ULL, 0x3ff0000000000000ULL,
				      0x7ff0000000000000ULL, 0x7ff4000000000000ULL, 1,
				      0x0010000000000000ULL, 0xbff8000000000000ULL };
	for (unsigned i = 0; i < nsp * nsp * 16 * 3 && bad < 5; i++) {
		unsigned op = i % 8, rm = (i / 8) % 2 ? 7 : 0, nx = (i / 16) % 2;
		unsigned pair = (i / 32) % (nsp * nsp), third = i / 32 / (nsp * nsp);
		u32 fp = op < 4 ? R(op << 2 | 1, 2, 1, rm, 3, 0x53)
				: R(1, 2, 1, rm, 3, 0x43 + 4 * (op - 4)) | 4U << 27;
		u32 code[4] = { I(1, 0, 0, 5, 0x13), I(2, 0, 0, 6, 0x13), fp,
				I(3, 0, 0, 7, 0x13) };
		u64 x[32] = { 0 }, a[32], b[32];
		struct fpstate fin = { 0 }, fa, fb;
		fin.f[1] = fspecials[pair % nsp];
		fin.f[2] = fspecials[pair / nsp];
		fin.f[3] = 0x1234;
		fin.f[4] = addend[(pair + third * 3) % DUO_ARRAY_SIZE(addend)];
		fin.fcsr = nx;
		fin.mstatus = SSTATUS_FS_INITIAL;
		run(mj, PLAT_RAM_BASE + 0x10000, (const u8 *)code, sizeof(code), x, &fin, data, a,
		    &fa, da);
		run(mi, PLAT_RAM_BASE + 0x10000, (const u8 *)code, sizeof(code), x, &fin, data, b,
		    &fb, db);
		if (fa.f[3] != fb.f[3] || fa.fcsr != fb.fcsr || fa.mstatus != fb.mstatus ||
		    memcmp(a, b, sizeof(a))) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "op %u rm %u %llx, %llx: jit %llx fcsr %x, interp %llx fcsr %x", op,
				 rm, (unsigned long long)fin.f[1], (unsigned long long)fin.f[2],
				 (unsigned long long)fa.f[3], fa.fcsr, (unsigned long long)fb.f[3],
				 fb.fcsr);
			test_fail(__FILE__, __LINE__, msg);
			bad++;
		}
	}
	/* the runs above were translated */
	const struct rv_insn *blk = rv_find_block(rv_st(&mj->cpu), PLAT_RAM_BASE + 0x10000);
	CHECK(blk != NULL && blk->op == RV_OP_BLOCK);
	tm_free(mj);
	tm_free(mi);
	rv_jit_hot = RV_JIT_HOT;
}

#define J(imm)                                                                                     \
	((((u32)(imm) >> 20) & 1) << 31 | (((u32)(imm) >> 1) & 0x3ff) << 21 |                     \
	 (((u32)(imm) >> 11) & 1) << 20 | (((u32)(imm) >> 12) & 0xff) << 12 | 0x6f)

/* A translated FP loop (fld, fmul, fadd, fsd) interrupted by the timer in the middle
 * (the handler turns the timer off and returns), then rewritten by a guest store (fmul
 * becomes fdiv, no fence.i) and run again, fence.i, and once more after a store puts fmul
 * back: registers, FP state, memory, the interrupt's sepc and instret as the interpreter
 * has them. */
TEST(jit_fp_loop_interrupt_and_rewrite)
{
	extern u64 stub_time;
	const u32 fdiv = R(0x0d, 3, 1, 0, 2, 0x53), fmul = R(0x09, 3, 1, 0, 2, 0x53);
	const u32 code[] = {
		I(1500, 0, 0, 5, 0x13),			    /*  0: addi t0, x0, 1500 */
		I(0, 31, 3, 1, 0x07),			    /*  4: fld f1, 0(x31) */
		fmul,					    /*  8: fmul.d f2, f1, f3 */
		R(0x01, 2, 4, 0, 4, 0x53),		    /* 12: fadd.d f4, f4, f2 */
		(0u << 25) | 4u << 20 | 31u << 15 | 3u << 12 | 8u << 7 | 0x27, /* 16: fsd f4, 8(x31) */
		I(-1, 5, 0, 5, 0x13),			    /* 20: addi t0, t0, -1 */
		B(-20, 0, 5, 1),			    /* 24: bne t0, x0, 4 */
		B(20, 0, 6, 0),				    /* 28: beq t1, x0, 48 */
		(0u << 25) | 7u << 20 | 8u << 15 | 2u << 12 | 8u << 7 | 0x23, /* 32: sw t2, 8(s0) */
		I(-1, 6, 0, 6, 0x13),			    /* 36: addi t1, t1, -1 */
		J(-40),					    /* 40: jal x0, 0 */
		0,					    /* 44: (unused) */
		B(8, 0, 11, 0),				    /* 48: beq a1, x0, 56 */
		0x0000100fu,				    /* 52: fence.i */
		0x73,					    /* 56: ecall */
		0x73,					    /* 60: ecall */
		(0x14du << 20) | 9u << 15 | 1u << 12 | 0x73, /* 64: csrw stimecmp, s1 */
		I(1, 10, 0, 10, 0x13),			    /* 68: addi a0, a0, 1 */
		0x10200073u,				    /* 72: sret */
	};
	u64 base = PLAT_RAM_BASE + 0x30000;
	struct tmachine *m[2];
	rv_jit_hot = 2;
	m[0] = tm_new();
	rv_jit_off = true;
	m[1] = tm_new();
	rv_jit_off = false;
	for (int k = 0; k < 2; k++) {
		struct rv_cpu *c = &m[k]->cpu;
		double one5 = 1.5;
		tm_load(m[k], base, code, sizeof(code));
		memcpy(m[k]->vm.ram + (DATA_GPA - PLAT_RAM_BASE), &one5, 8);
		c->x[6] = 1;
		c->x[7] = fdiv;
		c->x[11] = 1; /* fence.i at the end */
		c->x[8] = base;
		c->x[9] = ~0ULL;
		c->x[31] = DATA_GPA;
		c->f[3] = 0x3ff0000010c6f7a1ULL; /* 1.000001 */
		c->fcsr = 1;
		c->mstatus = SSTATUS_FS_INITIAL | SSTATUS_SIE;
		c->sie = SIP_STIP;
		c->stvec = base + 64;
		c->pc = base;
		stub_time = 1000;
		c->stimecmp = 1003; /* due at the fourth chunk boundary */
		int guard = 0;
		while (rv_cpu_run(c, 1000000) != RV_EXIT_ECALL && guard++ < 1000)
			;
		/* pass 2 (t1 = 0 after the rewrite) ran fdiv, then fence.i; now the fdiv
		 * loop again, then fmul put back by a store and its loop, no fence.i */
		CHECK_EQ(c->pc, base + 56);
		c->x[6] = 1;
		c->x[7] = fmul;
		c->x[11] = 0;
		c->pc = base;
		while (rv_cpu_run(c, 1000000) != RV_EXIT_ECALL && guard++ < 2000)
			;
	}
	struct rv_cpu *a = &m[0]->cpu, *b = &m[1]->cpu;
	CHECK_EQ(a->x[10], 1); /* one interrupt */
	CHECK_EQ(b->x[10], 1);
	CHECK(memcmp(a->x, b->x, sizeof(a->x)) == 0);
	CHECK(memcmp(a->f, b->f, sizeof(a->f)) == 0);
	CHECK_EQ(a->fcsr, b->fcsr);
	CHECK_EQ(a->mstatus, b->mstatus);
	CHECK_EQ(a->sepc, b->sepc);
	CHECK(a->sepc != base + 64 && a->sepc >= base + 4 && a->sepc <= base + 24);
	CHECK_EQ(a->instret, b->instret);
	CHECK_EQ(a->pc, b->pc);
	CHECK(memcmp(m[0]->vm.ram + (DATA_GPA - PLAT_RAM_BASE),
		     m[1]->vm.ram + (DATA_GPA - PLAT_RAM_BASE), 16) == 0);
	/* the loop was translated on the translating machine */
	const struct rv_insn *blk = rv_find_block(rv_st(a), base + 4);
	CHECK(blk != NULL && (blk->op == RV_OP_BLOCK || blk[1].op == RV_OP_BLOCK ||
			      blk[2].op == RV_OP_BLOCK || blk[4].op == RV_OP_BLOCK));
	tm_free(m[0]);
	tm_free(m[1]);
	rv_jit_hot = RV_JIT_HOT;
}
