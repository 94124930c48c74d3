/*
 * test_fp_spec.c - F/D behaviour checked against values worked out from the RISC-V
 * unprivileged spec (F and D chapters) rather than a host oracle: RMM (no host has it)
 * on halfway cases, comparisons / fmin / fmax / fclass over the operand pool against
 * the spec's rules, NaN boxing, sign injection, fmv, the fcvt corner cases the spec
 * tabulates, FMA's inf*0+qNaN rule, and every illegal rounding-mode / funct encoding.
 */
#include <stdio.h>
#include <string.h>

#include "../unit/harness.h"
#include "../../type2/cpu/fpu_host.h"
#include "fp_util.h"

#define ADD_D(rm) enc_fp(0x01, 2, 1, rm, 4)
#define MUL_D(rm) enc_fp(0x09, 2, 1, rm, 4)
#define DIV_D(rm) enc_fp(0x0d, 2, 1, rm, 4)
#define FMADD_D(rm) enc_r4(0x43, 1, 3, 2, 1, rm, 4)
#define FMADD_S(rm) enc_r4(0x43, 0, 3, 2, 1, rm, 4)
#define CVT_S_D(rm) enc_fp(0x20, 1, 1, rm, 4)
#define CVT_W_D(rm) enc_fp(0x61, 0, 1, rm, 6)
#define CVT_WU_D(rm) enc_fp(0x61, 1, 1, rm, 6)
#define CVT_L_D(rm) enc_fp(0x61, 2, 1, rm, 6)
#define CVT_LU_S(rm) enc_fp(0x60, 3, 1, rm, 6)
#define CVT_W_S(rm) enc_fp(0x60, 0, 1, rm, 6)
#define CVT_S_W(rm) enc_fp(0x68, 0, 5, rm, 4)

static struct fp_out run(struct tmachine *m, u32 insn, u64 a, u64 b, u64 c)
{
	return fp_run(m, fp_place(m, insn), a, b, c, 0);
}

struct known {
	u32 insn;
	u64 a, b, c;
	u64 want; /* f4 or x6 */
	u32 flags;
	bool to_x;
};

#define K(i, a, b, c, w, fl)                                                                       \
	{                                                                                          \
		i, a, b, c, w, fl, false                                                           \
	}
#define KX(i, a, b, c, w, fl)                                                                      \
	{                                                                                          \
		i, a, b, c, w, fl, true                                                            \
	}
static const struct known known[] = {
	/* RMM: halfway cases go away from zero, RNE goes to even */
	K(ADD_D(RMM), 0x3ff0000000000000, 0x3ca0000000000000, 0, 0x3ff0000000000001, FL_NX),
	K(ADD_D(RNE), 0x3ff0000000000000, 0x3ca0000000000000, 0, 0x3ff0000000000000, FL_NX),
	K(ADD_D(RMM), 0xbff0000000000000, 0xbca0000000000000, 0, 0xbff0000000000001, FL_NX),
	K(FMADD_D(RMM), 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000000,
	  0x3ff0000000000001, FL_NX),
	K(CVT_S_D(RMM), 0x3ff0000010000000, 0, 0, BOXED(0x3f800001), FL_NX),
	K(CVT_S_D(RNE), 0x3ff0000010000000, 0, 0, BOXED(0x3f800000), FL_NX),
	K(DIV_D(RMM), 0x0010000000000001, 0x4000000000000000, 0, 0x0008000000000001, FL_NX | FL_UF),
	K(DIV_D(RNE), 0x0010000000000001, 0x4000000000000000, 0, 0x0008000000000000, FL_NX | FL_UF),
	K(MUL_D(RMM), 0x7fefffffffffffff, 0x4000000000000000, 0, 0x7ff0000000000000, FL_OF | FL_NX),
	K(MUL_D(RTZ), 0x7fefffffffffffff, 0x4000000000000000, 0, 0x7fefffffffffffff, FL_OF | FL_NX),
	KX(CVT_W_D(RMM), 0x4004000000000000, 0, 0, 3, FL_NX), /* 2.5 */
	KX(CVT_W_D(RNE), 0x4004000000000000, 0, 0, 2, FL_NX),
	KX(CVT_W_D(RMM), 0xc004000000000000, 0, 0, (u64)-3, FL_NX), /* -2.5 */
	KX(CVT_W_D(RMM), 0x3fe0000000000000, 0, 0, 1, FL_NX),	    /* 0.5 */
	KX(CVT_W_D(RNE), 0x3fe0000000000000, 0, 0, 0, FL_NX),
	K(CVT_S_W(RMM), 0x1000001, 0, 0, BOXED(0x4b800001), FL_NX),
	K(CVT_S_W(RNE), 0x1000001, 0, 0, BOXED(0x4b800000), FL_NX),
	/* fcvt saturation and the spec's table */
	KX(CVT_W_S(RNE), BOXED(0x7fc00000), 0, 0, 0x7fffffff, FL_NV),
	KX(CVT_W_S(RNE), BOXED(0xff800000), 0, 0, 0xffffffff80000000, FL_NV),
	KX(CVT_WU_D(RNE), 0xbff0000000000000, 0, 0, 0, FL_NV),	   /* -1.0 */
	KX(CVT_WU_D(RTZ), 0xbfe0000000000000, 0, 0, 0, FL_NX),	   /* -0.5 */
	KX(CVT_WU_D(RNE), 0x7ff8000000000000, 0, 0, ~0ULL, FL_NV), /* sext */
	KX(CVT_L_D(RNE), 0x43e0000000000000, 0, 0, 0x7fffffffffffffff, FL_NV),
	KX(CVT_L_D(RNE), 0xc3e0000000000000, 0, 0, 0x8000000000000000, 0),
	KX(CVT_LU_S(RNE), BOXED(0x7f800000), 0, 0, ~0ULL, FL_NV),
	KX(CVT_W_D(RTZ), 0xc1e0000000100000, 0, 0, 0xffffffff80000000, FL_NX),
	KX(CVT_W_D(RDN), 0xc1e0000000100000, 0, 0, 0xffffffff80000000, FL_NV),
	/* FMA: inf * 0 is invalid even when the addend is a quiet NaN */
	K(FMADD_D(RNE), 0x7ff0000000000000, 0, 0x7ff8000000000000, QNAN_D, FL_NV),
	K(FMADD_S(RNE), BOXED(0), BOXED(0xff800000), BOXED(0x7fc00000), BOXED(QNAN_S), FL_NV),
	/* NaN results are canonical, whatever the inputs' payloads */
	K(ADD_D(RNE), 0x7ff8000000000123, 0x3ff0000000000000, 0, QNAN_D, 0),
	K(ADD_D(RNE), 0x7ff0000000000001, 0x3ff0000000000000, 0, QNAN_D, FL_NV),
	K(CVT_S_D(RNE), 0xfff8000000000123, 0, 0, BOXED(QNAN_S), 0),
	K(CVT_S_D(RNE), 0x7ff0000000000001, 0, 0, BOXED(QNAN_S), FL_NV),
	/* sqrt(-0) = -0 without flags; sqrt(-x) invalid */
	K(enc_fp(0x2d, 0, 1, RNE, 4), 0x8000000000000000, 0, 0, 0x8000000000000000, 0),
	K(enc_fp(0x2d, 0, 1, RNE, 4), 0xbff0000000000000, 0, 0, QNAN_D, FL_NV),
	/* x / 0 */
	K(DIV_D(RNE), 0xbff0000000000000, 0, 0, 0xfff0000000000000, FL_DZ),
	K(DIV_D(RNE), 0, 0, 0, QNAN_D, FL_NV),
	/* improperly boxed singles read as the canonical NaN */
	K(enc_fp(0x00, 2, 1, RNE, 4), 0x000000003f800000, BOXED(0x3f800000), 0, BOXED(QNAN_S), 0),
	K(enc_fp(0x10, 2, 1, 0, 4), 0x000000003f800000, BOXED(0xbf800000), 0, BOXED(0xffc00000),
	  0), /* fsgnj.s: NaN with the sign of b */
	/* sign injection */
	K(enc_fp(0x11, 2, 1, 0, 4), 0x3ff0000000000000, 0x8000000000000000, 0, 0xbff0000000000000,
	  0), /* fsgnj.d */
	K(enc_fp(0x11, 2, 1, 1, 4), 0x3ff0000000000000, 0x8000000000000000, 0, 0x3ff0000000000000,
	  0), /* fsgnjn.d */
	K(enc_fp(0x11, 2, 1, 2, 4), 0xbff0000000000000, 0x8000000000000000, 0, 0x3ff0000000000000,
	  0), /* fsgnjx.d */
	/* moves: no NaN checks, fmv.x.w sign-extends */
	KX(enc_fp(0x70, 0, 1, 0, 6), BOXED(0x80000000), 0, 0, 0xffffffff80000000, 0),
	KX(enc_fp(0x70, 0, 1, 0, 6), 0x1234567880000001, 0, 0, 0xffffffff80000001, 0),
	KX(enc_fp(0x71, 0, 1, 0, 6), 0x7ff0000000000001, 0, 0, 0x7ff0000000000001, 0),
	K(enc_fp(0x78, 0, 5, 0, 4), 0x123456787fa00000, 0, 0, BOXED(0x7fa00000), 0),
	K(enc_fp(0x79, 0, 5, 0, 4), 0x7ff0000000000001, 0, 0, 0x7ff0000000000001, 0),
};

static void known_values(void)
{
	struct tmachine *m = tm_new();
	for (size_t i = 0; i < DUO_ARRAY_SIZE(known); i++) {
		const struct known *k = &known[i];
		struct fp_out o = run(m, k->insn, k->a, k->b, k->c);
		u64 got = k->to_x ? o.x : o.f;
		if (o.trapped || got != k->want || o.flags != k->flags) {
			char msg[200];
			snprintf(msg, sizeof(msg),
				 "case %zu (insn %08x): got %llx fl %x trap %d, want %llx fl %x", i,
				 k->insn, (unsigned long long)got, o.flags, o.trapped,
				 (unsigned long long)k->want, k->flags);
			test_fail(__FILE__, __LINE__, msg);
		}
	}
	tm_free(m);
}

TEST(fp_known_values_hostfpu)
{
	rv_fp_host_off = false;
	known_values();
}

TEST(fp_known_values_softfloat)
{
	rv_fp_host_off = true;
	known_values();
	rv_fp_host_off = false;
}

/* The spec's rules for comparisons, fmin/fmax and fclass, on raw binary64 bits. */
static bool is_nan_d(u64 v)
{
	return ((v >> 52) & 0x7ff) == 0x7ff && (v & 0xfffffffffffffULL);
}

static bool is_snan_d(u64 v)
{
	return is_nan_d(v) && !(v & (1ULL << 51));
}

/* -1/0/1 ordering for non-NaNs; zero_eq makes -0 == +0. */
static int order_d(u64 a, u64 b, bool zero_eq)
{
	if (zero_eq && !(a << 1) && !(b << 1))
		return 0;
	s64 ka = (a >> 63) ? -(s64)(a & ~(1ULL << 63)) - 1 : (s64)a;
	s64 kb = (b >> 63) ? -(s64)(b & ~(1ULL << 63)) - 1 : (s64)b;
	return ka < kb ? -1 : ka > kb;
}

static u32 class_d(u64 v)
{
	bool neg = v >> 63;
	u64 e = (v >> 52) & 0x7ff, f = v & 0xfffffffffffffULL;
	if (e == 0x7ff)
		return f ? ((f >> 51) ? 1u << 9 : 1u << 8) : (neg ? 1u : 1u << 7);
	if (e == 0)
		return f ? (neg ? 1u << 2 : 1u << 5) : (neg ? 1u << 3 : 1u << 4);
	return neg ? 1u << 1 : 1u << 6;
}

TEST(fp_compare_minmax_class)
{
	struct tmachine *m = tm_new();
	enum { N = 100 };
	u64 pool[N];
	int bad = 0;
	fp_operands_d(pool, N, 5);
	u64 feq = fp_place(m, enc_fp(0x51, 2, 1, 2, 6)),
	    flt = fp_place(m, enc_fp(0x51, 2, 1, 1, 6));
	u64 fle = fp_place(m, enc_fp(0x51, 2, 1, 0, 6)),
	    fmin = fp_place(m, enc_fp(0x15, 2, 1, 0, 4));
	u64 fmax = fp_place(m, enc_fp(0x15, 2, 1, 1, 4)),
	    fcls = fp_place(m, enc_fp(0x71, 0, 1, 1, 6));
	for (int i = 0; i < N && bad < 10; i++) {
		struct fp_out o = fp_run(m, fcls, pool[i], 0, 0, 0);
		if (o.x != class_d(pool[i]) || o.flags)
			bad++, test_fail(__FILE__, __LINE__, "fclass.d");
		for (int j = 0; j < N && bad < 10; j++) {
			u64 a = pool[i], b = pool[j];
			bool nan = is_nan_d(a) || is_nan_d(b), snan = is_snan_d(a) || is_snan_d(b);
			int ord = nan ? 2 : order_d(a, b, true);
			u64 wmin, wmax;
			if (is_nan_d(a) && is_nan_d(b))
				wmin = wmax = QNAN_D;
			else if (is_nan_d(a))
				wmin = wmax = b;
			else if (is_nan_d(b))
				wmin = wmax = a;
			else {
				int o2 = order_d(a, b, false);
				wmin = o2 <= 0 ? a : b;
				wmax = o2 >= 0 ? a : b;
			}
			struct fp_out r[5] = { fp_run(m, feq, a, b, 0, 0),
					       fp_run(m, flt, a, b, 0, 0),
					       fp_run(m, fle, a, b, 0, 0),
					       fp_run(m, fmin, a, b, 0, 0),
					       fp_run(m, fmax, a, b, 0, 0) };
			bool ok = r[0].x == (ord == 0) && r[0].flags == (snan ? FL_NV : 0u) &&
				  r[1].x == (ord == -1) && r[1].flags == (nan ? FL_NV : 0u) &&
				  r[2].x == (ord == -1 || ord == 0) &&
				  r[2].flags == (nan ? FL_NV : 0u) && r[3].f == wmin &&
				  r[4].f == wmax && r[3].flags == (snan ? FL_NV : 0u) &&
				  r[4].flags == (snan ? FL_NV : 0u);
			if (!ok) {
				char msg[160];
				snprintf(msg, sizeof(msg), "compare/min/max a=%llx b=%llx",
					 (unsigned long long)a, (unsigned long long)b);
				test_fail(__FILE__, __LINE__, msg);
				bad++;
			}
		}
	}
	/* -0 < +0 for fmin/fmax only */
	CHECK_EQ(fp_run(m, fmin, 0, 1ULL << 63, 0, 0).f, 1ULL << 63);
	CHECK_EQ(fp_run(m, fmax, 1ULL << 63, 0, 0, 0).f, 0);
	CHECK_EQ(fp_run(m, feq, 0, 1ULL << 63, 0, 0).x, 1);
	tm_free(m);
}

TEST(fp_illegal_encodings)
{
	struct tmachine *m = tm_new();
	static const u32 bad[] = {
		enc_fp(0x01, 2, 1, 5, 4),	/* fadd.d rm 5 */
		enc_fp(0x01, 2, 1, 6, 4),	/* fadd.d rm 6 */
		enc_fp(0x02, 2, 1, 0, 4),	/* fmt H */
		enc_fp(0x03, 2, 1, 0, 4),	/* fmt Q */
		enc_fp(0x11, 2, 1, 3, 4),	/* fsgnj funct3 3 */
		enc_fp(0x15, 2, 1, 2, 4),	/* fmin/fmax funct3 2 */
		enc_fp(0x51, 2, 1, 3, 6),	/* fcmp funct3 3 */
		enc_fp(0x2d, 1, 1, 0, 4),	/* fsqrt rs2 != 0 */
		enc_fp(0x21, 1, 1, 0, 4),	/* fcvt.d.s with rs2 1 */
		enc_fp(0x20, 0, 1, 0, 4),	/* fcvt.s.d with rs2 0 */
		enc_fp(0x21, 0, 1, 5, 4),	/* fcvt.d.s rm 5 */
		enc_fp(0x61, 4, 1, 0, 6),	/* fcvt.?.d rs2 4 */
		enc_fp(0x71, 0, 1, 2, 6),	/* fmv/fclass funct3 2 */
		enc_fp(0x79, 1, 5, 0, 4),	/* fmv.d.x rs2 1 */
		enc_r4(0x43, 1, 3, 2, 1, 5, 4), /* fmadd rm 5 */
		enc_r4(0x4f, 2, 3, 2, 1, 0, 4), /* fnmadd fmt H */
	};
	for (size_t i = 0; i < DUO_ARRAY_SIZE(bad); i++) {
		struct fp_out o = run(m, bad[i], 0, 0, 0);
		if (!o.trapped || o.cause != 2 || m->cpu.stval != bad[i]) {
			char msg[80];
			snprintf(msg, sizeof(msg), "encoding %08x not illegal", bad[i]);
			test_fail(__FILE__, __LINE__, msg);
		}
	}
	/* DYN with a reserved frm is illegal; fcvt/fsgnj do not care about frm */
	u64 pc = fp_place(m, enc_fp(0x01, 2, 1, DYN, 4));
	for (int frm = 5; frm <= 7; frm++) {
		struct fp_out o = fp_run(m, pc, 0, 0, 0, frm);
		CHECK(o.trapped && o.cause == 2);
	}
	CHECK(!fp_run(m, fp_place(m, enc_fp(0x11, 2, 1, 0, 4)), 0, 0, 0, 7).trapped);
	/* FS = Off: every FP instruction, FP load/store and fcsr access is illegal */
	m->cpu.mstatus &= ~(3ULL << 13);
	u64 pc2 = fp_place(m, enc_fp(0x11, 2, 1, 0, 4));
	m->cpu.pc = pc2;
	rv_cpu_run(&m->cpu, 1);
	CHECK_EQ(m->cpu.scause, 2);
	tm_free(m);
}
