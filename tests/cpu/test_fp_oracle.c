/*
 * test_fp_oracle.c - the emulator's F/D arithmetic and conversions against the host's
 * own IEEE 754 hardware as the oracle: the same operation on the same operands under
 * fesetround() in each of the four rounding modes the host has (RNE, RTZ, RDN, RUP;
 * both static rm and DYN via frm), comparing result bits and the five exception flags
 * exactly. RISC-V and x86 SSE agree on what matters here (tininess after rounding, the
 * flag rules); RISC-V's canonical NaN is applied to the host's NaN results. Float to
 * integer conversions use the spec's saturation rules around a host rint()/round().
 * RMM has no host mode: test_fp_spec.c covers it with known values. Every test runs
 * twice: through the emulator's host-FPU fast path and with it off (pure softfloat).
 *
 * This file is compiled with -frounding-math (cpu.mk) so gcc keeps the operations in
 * place between fesetround() and fetestexcept().
 */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../unit/harness.h"
#include "../../type2/cpu/fpu_host.h"
#include "fp_util.h"

#define NPOOL 120
static const int host_rm[4] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };

static u32 host_flags(void)
{
	int e = fetestexcept(FE_ALL_EXCEPT);
	return ((e & FE_INEXACT) ? FL_NX : 0) | ((e & FE_UNDERFLOW) ? FL_UF : 0) |
	       ((e & FE_OVERFLOW) ? FL_OF : 0) | ((e & FE_DIVBYZERO) ? FL_DZ : 0) |
	       ((e & FE_INVALID) ? FL_NV : 0);
}

static double dv(u64 v)
{
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static float sv(u64 v)
{
	u32 w = (u32)v;
	float f;
	memcpy(&f, &w, 4);
	return f;
}

static u64 dbits(double d)
{
	u64 v;
	if (isnan(d))
		return QNAN_D;
	memcpy(&v, &d, 8);
	return v;
}

static u64 sbits(float f)
{
	u32 w;
	if (isnan(f))
		return QNAN_S;
	memcpy(&w, &f, 4);
	return w;
}

enum { O_ADD, O_SUB, O_MUL, O_DIV, O_SQRT, O_FMADD, O_FMSUB, O_FNMSUB, O_FNMADD, O_N };
static const char *const opname[O_N] = { "add",	  "sub",   "mul",    "div",   "sqrt",
					 "fmadd", "fmsub", "fnmsub", "fnmadd" };

static u64 native(int op, bool dbl, u64 a, u64 b, u64 c, int rm, u32 *fl)
{
	u64 r;
	fesetround(host_rm[rm]);
	feclearexcept(FE_ALL_EXCEPT);
	if (dbl) {
		volatile double x = dv(a), y = dv(b), z = dv(c), t;
		double mx = -x;
		switch (op) {
		case O_ADD:
			t = x + y;
			break;
		case O_SUB:
			t = x - y;
			break;
		case O_MUL:
			t = x * y;
			break;
		case O_DIV:
			t = x / y;
			break;
		case O_SQRT:
			t = sqrt(x);
			break;
		case O_FMADD:
			t = fma(x, y, z);
			break;
		case O_FMSUB:
			t = fma(x, y, -z);
			break;
		case O_FNMSUB:
			t = fma(mx, y, z);
			break;
		default:
			t = fma(mx, y, -z);
			break;
		}
		*fl = host_flags();
		r = dbits(t);
	} else {
		volatile float x = sv(a), y = sv(b), z = sv(c), t;
		float mx = -x;
		switch (op) {
		case O_ADD:
			t = x + y;
			break;
		case O_SUB:
			t = x - y;
			break;
		case O_MUL:
			t = x * y;
			break;
		case O_DIV:
			t = x / y;
			break;
		case O_SQRT:
			t = sqrtf(x);
			break;
		case O_FMADD:
			t = fmaf(x, y, z);
			break;
		case O_FMSUB:
			t = fmaf(x, y, -z);
			break;
		case O_FNMSUB:
			t = fmaf(mx, y, z);
			break;
		default:
			t = fmaf(mx, y, -z);
			break;
		}
		*fl = host_flags();
		r = sbits(t);
	}
	fesetround(FE_TONEAREST);
	return r;
}

static u32 encode(int op, int fmt, int rm)
{
	static const u32 f5[5] = { 0x00, 0x01, 0x02, 0x03, 0x0b };
	static const u32 r4[4] = { 0x43, 0x47, 0x4b, 0x4f };
	if (op <= O_SQRT)
		return enc_fp(f5[op] << 2 | (u32)fmt, 0, 1, (u32)rm, 4) |
		       (op == O_SQRT ? 0 : 2u << 20);
	return enc_r4(r4[op - O_FMADD], (u32)fmt, 3, 2, 1, (u32)rm, 4);
}

static int report(const char *what, u64 a, u64 b, u64 c, int rm, u64 got, u32 gfl, u64 want,
		  u32 wfl, int *budget)
{
	if (*budget <= 0)
		return 0;
	char msg[256];
	snprintf(msg, sizeof(msg), "%s rm%d a=%llx b=%llx c=%llx: got %llx fl %x, want %llx fl %x",
		 what, rm, (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
		 (unsigned long long)got, gfl, (unsigned long long)want, wfl);
	test_fail(__FILE__, __LINE__, msg);
	return --*budget;
}

static void oracle_arith(void)
{
	struct tmachine *m = tm_new();
	u64 pool[2][NPOOL];
	int budget = 20;
	long checked = 0;
	fp_operands_s(pool[0], NPOOL, 0x1234567);
	fp_operands_d(pool[1], NPOOL, 0x7654321);
	for (int fmt = 0; fmt < 2; fmt++)
		for (int op = 0; op < O_N; op++)
			for (int rm = 0; rm < 4; rm++) {
				/* static rm, and DYN with frm = rm */
				u64 pc_s = fp_place(m, encode(op, fmt, rm));
				u64 pc_d = fp_place(m, encode(op, fmt, DYN));
				for (int i = 0; i < NPOOL; i++)
					for (int j = 0; j < NPOOL; j++) {
						u64 a = pool[fmt][i], b = pool[fmt][j];
						u64 c = pool[fmt][(i * 7 + j * 13) % NPOOL];
						if (op == O_SQRT && j > 0)
							break;
						u32 wfl;
						u64 want = native(op, fmt, a, b, c, rm, &wfl);
						u64 box = fmt ? 0 : 0xffffffff00000000ULL;
						struct fp_out o =
							fp_run(m, (i + j) & 1 ? pc_d : pc_s,
							       a | box, b | box, c | box, rm);
						checked++;
						wfl |= fp_initial_flags;
						if (o.trapped || o.f != (want | box) ||
						    o.flags != wfl)
							report(opname[op], a, b, c, rm, o.f,
							       o.flags, want | box, wfl, &budget);
					}
			}
	CHECK(checked > 500000);
	tm_free(m);
}

TEST(fp_oracle_arith_hostfpu)
{
	rv_fp_host_off = false;
	oracle_arith();
}

/* With NX already accrued the fast path may skip flag detection: still exact? */
TEST(fp_oracle_arith_hostfpu_nx_accrued)
{
	rv_fp_host_off = false;
	fp_initial_flags = FL_NX;
	oracle_arith();
	fp_initial_flags = 0;
}

TEST(fp_oracle_arith_softfloat)
{
	rv_fp_host_off = true;
	oracle_arith();
	rv_fp_host_off = false;
}

/* Expected fcvt.{w,wu,l,lu}: host rint()/round() to an integral double, then the
 * RISC-V range rules. */
static u64 want_to_int(double v, int kind, int rm, u32 *fl)
{
	static const double lo[4] = { -2147483648.0, 0.0, -9223372036854775808.0, 0.0 };
	static const double hi[4] = { 2147483648.0, 4294967296.0, 9223372036854775808.0,
				      18446744073709551616.0 };
	static const u64 maxv[4] = { 0x7fffffff, 0xffffffff, 0x7fffffffffffffffULL, ~0ULL };
	static const u64 minv[4] = { 0x80000000, 0, 0x8000000000000000ULL, 0 };
	u64 r;
	*fl = 0;
	if (isnan(v)) {
		*fl = FL_NV;
		r = maxv[kind];
	} else {
		double t;
		if (rm == RMM) {
			t = round(v);
		} else {
			fesetround(host_rm[rm]);
			volatile double vv = v;
			t = nearbyint(vv);
			fesetround(FE_TONEAREST);
		}
		if (t < lo[kind] || t >= hi[kind]) {
			*fl = FL_NV;
			r = v < 0 ? minv[kind] : maxv[kind];
		} else {
			r = (kind & 1) ? (u64)t : (u64)(s64)t;
			*fl = t != v ? FL_NX : 0;
		}
	}
	return kind < 2 ? (u64)(s64)(s32)(u32)r : r;
}

static u64 native_from_int(u64 v, int kind, bool dbl, int rm, u32 *fl)
{
	u64 r;
	fesetround(host_rm[rm]);
	feclearexcept(FE_ALL_EXCEPT);
	volatile s32 w = (s32)v;
	volatile u32 wu = (u32)v;
	volatile s64 l = (s64)v;
	volatile u64 lu = v;
	if (dbl) {
		volatile double t = kind == 0	? (double)w
				    : kind == 1 ? (double)wu
				    : kind == 2 ? (double)l
						: (double)lu;
		*fl = host_flags();
		r = dbits(t);
	} else {
		volatile float t = kind == 0   ? (float)w
				   : kind == 1 ? (float)wu
				   : kind == 2 ? (float)l
					       : (float)lu;
		*fl = host_flags();
		r = sbits(t);
	}
	fesetround(FE_TONEAREST);
	return r;
}

static void oracle_convert(void)
{
	struct tmachine *m = tm_new();
	enum { N = 1500 };
	static u64 pool[2][N];
	int budget = 20;
	fp_operands_s(pool[0], N, 99);
	fp_operands_d(pool[1], N, 77);
	/* float -> int, all five rounding modes */
	for (int fmt = 0; fmt < 2; fmt++)
		for (int kind = 0; kind < 4; kind++)
			for (int rm = 0; rm <= RMM; rm++) {
				u64 pc = fp_place(
					m, enc_fp(0x60 | (u32)fmt, (u32)kind, 1, (u32)rm, 6));
				for (int i = 0; i < N; i++) {
					u64 a = pool[fmt][i];
					double v = fmt ? dv(a) : (double)sv(a);
					u32 wfl;
					u64 want = want_to_int(v, kind, rm, &wfl);
					struct fp_out o =
						fp_run(m, pc, fmt ? a : BOXED(a), 0, 0, 0);
					if (o.trapped || o.x != want || o.flags != wfl)
						report("fcvt.int", a, (u64)kind, 0, rm, o.x,
						       o.flags, want, wfl, &budget);
				}
			}
	/* int -> float */
	u64 ints[N];
	u64 s = 42;
	static const u64 special_ints[] = { 0,
					    1,
					    ~0ULL,
					    0x7fffffff,
					    0x80000000,
					    0xffffffff80000000ULL,
					    0x7fffffffffffffffULL,
					    0x8000000000000000ULL,
					    0x1000001,
					    0x20000000000001ULL,
					    0xfffffffffe000001ULL,
					    0xffffffff };
	for (int i = 0; i < N; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		ints[i] = i < (int)DUO_ARRAY_SIZE(special_ints)
				  ? special_ints[i]
				  : (s >> (s & 63)) ^ ((s & 64) ? ~0ULL : 0);
	}
	for (int fmt = 0; fmt < 2; fmt++)
		for (int kind = 0; kind < 4; kind++)
			for (int rm = 0; rm < 4; rm++) {
				u64 pc = fp_place(
					m, enc_fp(0x68 | (u32)fmt, (u32)kind, 5, (u32)rm, 4));
				for (int i = 0; i < N; i++) {
					u32 wfl;
					u64 want = native_from_int(ints[i], kind, fmt, rm, &wfl);
					if (!fmt)
						want = BOXED(want);
					struct fp_out o = fp_run(m, pc, ints[i], 0, 0, 0);
					if (o.trapped || o.f != want || o.flags != wfl)
						report("fcvt.fp", ints[i], (u64)kind, 0, rm, o.f,
						       o.flags, want, wfl, &budget);
				}
			}
	/* fcvt.s.d and fcvt.d.s */
	for (int rm = 0; rm < 4; rm++) {
		u64 pc_sd = fp_place(m, enc_fp(0x20, 1, 1, (u32)rm, 4));
		u64 pc_ds = fp_place(m, enc_fp(0x21, 0, 1, (u32)rm, 4));
		for (int i = 0; i < N; i++) {
			fesetround(host_rm[rm]);
			feclearexcept(FE_ALL_EXCEPT);
			volatile double d = dv(pool[1][i]);
			volatile float f = (float)d;
			u32 wfl = host_flags();
			feclearexcept(FE_ALL_EXCEPT);
			volatile float g = sv(pool[0][i]);
			volatile double e = (double)g;
			u32 wfl2 = host_flags();
			fesetround(FE_TONEAREST);
			struct fp_out o = fp_run(m, pc_sd, pool[1][i], 0, 0, 0);
			if (o.trapped || o.f != BOXED(sbits(f)) || o.flags != wfl)
				report("fcvt.s.d", pool[1][i], 0, 0, rm, o.f, o.flags,
				       BOXED(sbits(f)), wfl, &budget);
			o = fp_run(m, pc_ds, BOXED(pool[0][i]), 0, 0, 0);
			if (o.trapped || o.f != dbits(e) || o.flags != wfl2)
				report("fcvt.d.s", pool[0][i], 0, 0, rm, o.f, o.flags, dbits(e),
				       wfl2, &budget);
		}
	}
	tm_free(m);
}

TEST(fp_oracle_convert_hostfpu)
{
	rv_fp_host_off = false;
	oracle_convert();
}

TEST(fp_oracle_convert_softfloat)
{
	rv_fp_host_off = true;
	oracle_convert();
	rv_fp_host_off = false;
}
