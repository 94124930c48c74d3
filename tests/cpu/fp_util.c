/*
 * fp_util.c - see fp_util.h: one-instruction FP execution and operand pools for the
 * CPU tests. The operand pools mix exact specials (zeros, subnormals, extremes, NaNs
 * of both kinds, integer boundaries, halfway cases) with random bit patterns and
 * random values in ranges where rounding, underflow and overflow happen.
 */
#include <string.h>

#include "fp_util.h"

#define CODE_BASE (PLAT_RAM_BASE + 0x10000)
#define CODE_SLOTS 4096

static unsigned next_slot;
u32 fp_initial_flags;

u64 fp_place(struct tmachine *m, u32 insn)
{
	u64 pc = CODE_BASE + 4ULL * (next_slot++ % CODE_SLOTS);
	tm_load(m, pc, &insn, 4);
	return pc;
}

struct fp_out fp_run(struct tmachine *m, u64 pc, u64 a, u64 b, u64 c, int frm)
{
	struct rv_cpu *cpu = &m->cpu;
	struct fp_out o;
	cpu->f[1] = a;
	cpu->f[2] = b;
	cpu->f[3] = c;
	cpu->f[4] = 0x5555555555555555ULL;
	cpu->x[5] = a;
	cpu->x[6] = 0x5555555555555555ULL;
	cpu->fcsr = (u32)frm << 5 | fp_initial_flags;
	cpu->mstatus = (cpu->mstatus & ~(3ULL << 13)) | (1ULL << 13);
	cpu->stvec = PLAT_RAM_BASE + 0x8000;
	cpu->priv = RV_PRIV_S;
	cpu->scause = 0;
	cpu->pc = pc;
	rv_cpu_run(cpu, 1);
	o.trapped = cpu->pc != pc + 4;
	o.cause = cpu->scause;
	o.f = cpu->f[4];
	o.x = cpu->x[6];
	o.flags = cpu->fcsr & 0x1f;
	if (o.trapped) /* leave S-mode state as it was for the next run */
		cpu->mstatus &= ~(1ULL << 8);
	return o;
}

static u64 rnd(u64 *s)
{
	u64 x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const u64 specials_d[] = {
	0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
	0x0000000000000001, 0x8000000000000001, 0x000fffffffffffff, 0x0010000000000000,
	0x0010000000000001, 0x7fefffffffffffff, 0xffefffffffffffff, 0x7ff0000000000000,
	0xfff0000000000000, 0x7ff8000000000000, 0x7ff8000000000123, 0xfff8000000000000,
	0x7ff0000000000001, 0x7ff4000000000000, 0x3ff8000000000000, 0x3fb999999999999a,
	0x4330000000000000, 0x4340000000000001, 0x41dfffffffc00000, 0x41e0000000000000,
	0xc1e0000000000000, 0xc1e0000000200000, 0x41effffffffe0000, 0x41f0000000000000,
	0x43e0000000000000, 0xc3e0000000000000, 0x43f0000000000000, 0x3fe0000000000000,
	0x4004000000000000, 0xc004000000000000, 0x3ca0000000000000, 0x0008000000000000,
	0x001fffffffffffff, 0x7fe0000000000000, 0x3ff0000000000001, 0xbfe0000000000001,
};

static const u64 specials_s[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x00000001, 0x80000001, 0x007fffff,
	0x00800000, 0x00800001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000,
	0x7fc00123, 0xffc00000, 0x7f800001, 0x7fa00000, 0x3fc00000, 0x3dcccccd, 0x4b000000,
	0x4b800001, 0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000,
	0x5f000000, 0xdf000000, 0x5f800000, 0x3f000000, 0x40200000, 0xc0200000, 0x33800000,
	0x00400000, 0x00ffffff, 0x7f000000, 0x3f800001, 0xbf000001,
};

/* Random value: 1/4 raw bits, 3/4 random significand with an exponent from `ranges`. */
static u64 random_fp(u64 *s, int ebits, int fbits)
{
	u64 r = rnd(s);
	int bias = (1 << (ebits - 1)) - 1, emax = (1 << ebits) - 1;
	u64 sign = rnd(s) & 1, frac = rnd(s) & ((1ULL << fbits) - 1), e;
	switch (r & 7) {
	case 0:
	case 1:
		return rnd(s) & ((ebits == 8) ? 0xffffffffULL : ~0ULL);
	case 2: /* around 1 */
		e = (u64)(bias - 3 + (int)(rnd(s) % 7));
		break;
	case 3: /* near the bottom: results underflow */
		e = rnd(s) % 4;
		break;
	case 4: /* near the top: results overflow */
		e = (u64)(emax - 1 - (int)(rnd(s) % 3));
		break;
	case 5: /* few significant bits: exact results and halfway cases */
		frac &= ~((1ULL << (fbits - 4)) - 1);
		e = (u64)(bias - 8 + (int)(rnd(s) % 40));
		break;
	default: /* integer-ish magnitudes */
		e = (u64)(bias + (int)(rnd(s) % 70));
		if (e >= (u64)emax)
			e = (u64)emax - 1;
		break;
	}
	return (sign << (ebits + fbits)) | (e << fbits) | frac;
}

size_t fp_operands_d(u64 *out, size_t max, u64 seed)
{
	size_t n = 0;
	for (size_t i = 0; i < DUO_ARRAY_SIZE(specials_d) && n < max; i++)
		out[n++] = specials_d[i];
	while (n < max)
		out[n++] = random_fp(&seed, 11, 52);
	return n;
}

size_t fp_operands_s(u64 *out, size_t max, u64 seed)
{
	size_t n = 0;
	for (size_t i = 0; i < DUO_ARRAY_SIZE(specials_s) && n < max; i++)
		out[n++] = specials_s[i];
	while (n < max)
		out[n++] = random_fp(&seed, 8, 23);
	return n;
}
