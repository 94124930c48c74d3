/*
 * fpu_host.c - the fast path of the emulator's F/D arithmetic: the host's own SSE unit
 * (x86-64), which computes IEEE 754 results exactly as RISC-V wants them for the four
 * rounding modes it has. Differences it must paper over: RISC-V returns the canonical
 * NaN (x86 propagates payloads), has RMM (x86 does not), and its FMA's invalid rule
 * for inf*0+qNaN (left to softfloat: any FMA with a NaN or infinite operand falls
 * back). Underflow (tininess after rounding, reported only when inexact) and the other
 * flags match; tests/cpu/test_fp_oracle.c checks the softfloat path against the same
 * hardware, and the fast path against softfloat.
 *
 * MXCSR: rounding control is set for the one operation and the flags are read back
 * right after; the thread is left in round-to-nearest so host C code is unaffected.
 * Every MXCSR access and every operation is an `asm volatile`, so the compiler cannot
 * move the arithmetic across them. Other hosts: rv_fp_host_* return false.
 */
#include "rv_internal.h"
#include "fpu_host.h"

bool rv_fp_host_off;

#if defined(__x86_64__)

#define MXCSR_DEFAULT 0x1f80U /* all exceptions masked, RNE, no FTZ/DAZ */

/* RISC-V rm 0..3 -> MXCSR RC (bits 14:13): RNE 00, RTZ 11, RDN 01, RUP 10. */
static const u32 rc_bits[4] = { 0U << 13, 3U << 13, 1U << 13, 2U << 13 };

static inline void csr_set(u32 v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static inline u32 csr_get(void)
{
	u32 v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

/* MXCSR flags IE DE ZE OE UE PE -> fflags NV - DZ OF UF NX. */
static inline u32 flags_of(u32 m)
{
	return ((m & 1) ? 16U : 0) | ((m & 4) ? 8U : 0) | ((m & 8) ? 4U : 0) | ((m & 16) ? 2U : 0) |
	       ((m & 32) ? 1U : 0);
}

static bool have_fma(void)
{
	static int known = -1;
	if (known < 0)
		known = __builtin_cpu_supports("fma") ? 1 : 0;
	return known;
}

#define BINOP(name, insn, type, reg)                                                               \
	static inline type name(type a, type b)                                                    \
	{                                                                                          \
		__asm__ volatile(insn " %1, %0" : "+x"(a) : "x"(b));                               \
		return a;                                                                          \
	}
BINOP(add_d, "addsd", double, x)
BINOP(sub_d, "subsd", double, x)
BINOP(mul_d, "mulsd", double, x)
BINOP(div_d, "divsd", double, x)
BINOP(add_s, "addss", float, x)
BINOP(sub_s, "subss", float, x)
BINOP(mul_s, "mulss", float, x)
BINOP(div_s, "divss", float, x)

static inline double sqrt_d(double a)
{
	__asm__ volatile("sqrtsd %0, %0" : "+x"(a));
	return a;
}

static inline float sqrt_s(float a)
{
	__asm__ volatile("sqrtss %0, %0" : "+x"(a));
	return a;
}

/* a*b + c, one rounding (FMA3; the caller checked the CPU has it). */
__attribute__((target("fma"))) static inline double fma_d(double a, double b, double c)
{
	__asm__ volatile("vfmadd231sd %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
	return c;
}

__attribute__((target("fma"))) static inline float fma_s(float a, float b, float c)
{
	__asm__ volatile("vfmadd231ss %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
	return c;
}

static inline bool nan_or_inf(u64 v, bool dbl)
{
	return dbl ? ((v >> 52) & 0x7ff) == 0x7ff : ((v >> 23) & 0xff) == 0xff;
}

/* Host values from RISC-V bit patterns and back (binary32 in the low 32 bits). */
static inline double dbl_of(u64 v)
{
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static inline float flt_of(u64 v)
{
	u32 w = (u32)v;
	float f;
	memcpy(&f, &w, 4);
	return f;
}

static inline u64 bits_of_dbl(double r)
{
	u64 v;
	memcpy(&v, &r, 8);
	return v;
}

static inline u64 bits_of_flt(float r)
{
	u32 v;
	memcpy(&v, &r, 4);
	return v;
}

static u64 canon(double r)
{
	u64 v = bits_of_dbl(r);
	return ((v >> 52) & 0x7ff) == 0x7ff && (v << 12) ? 0x7ff8000000000000ULL : v;
}

static u64 canon_s(float r)
{
	u32 v = (u32)bits_of_flt(r);
	return ((v >> 23) & 0xff) == 0xff && (v << 9) ? 0x7fc00000ULL : v;
}

/* The result's biased exponent is >= 2 and not all-ones: finite, and at least twice
 * the smallest normal, so it cannot be tiny after rounding. */
static inline bool comfortably_normal(u64 v, bool dbl)
{
	u64 e = dbl ? (v >> 52) & 0x7ff : (v >> 23) & 0xff;
	return e >= 2 && e != (dbl ? 0x7ffU : 0xffU);
}

void rv_fp_host_enter(void)
{
	csr_set(MXCSR_DEFAULT);
}

/* op_d / op_s - op on the bit patterns a, b, c (sqrt: a alone) in the thread's current
 * MXCSR mode; `of` turns a pattern into the host type. Each case converts only what it
 * uses, which keeps the unused operands out of registers on the hot path. */
#define FP_OP(sfx, type, of)                                                                       \
	static inline type op_##sfx(enum rv_fp_op op, u64 a, u64 b, u64 c)                         \
	{                                                                                          \
		switch (op) {                                                                      \
		case RV_FP_ADD:                                                                    \
			return add_##sfx(of(a), of(b));                                            \
		case RV_FP_SUB:                                                                    \
			return sub_##sfx(of(a), of(b));                                            \
		case RV_FP_MUL:                                                                    \
			return mul_##sfx(of(a), of(b));                                            \
		case RV_FP_DIV:                                                                    \
			return div_##sfx(of(a), of(b));                                            \
		case RV_FP_SQRT:                                                                   \
			return sqrt_##sfx(of(a));                                                  \
		case RV_FP_FMADD:                                                                  \
			return fma_##sfx(of(a), of(b), of(c));                                     \
		case RV_FP_FMSUB:                                                                  \
			return fma_##sfx(of(a), of(b), -of(c));                                    \
		case RV_FP_FNMSUB:                                                                 \
			return fma_##sfx(-of(a), of(b), of(c));                                    \
		default:                                                                           \
			return fma_##sfx(-of(a), of(b), -of(c));                                   \
		}                                                                                  \
	}
FP_OP(d, double, dbl_of)
FP_OP(s, float, flt_of)

/* op in round-to-nearest with the thread's MXCSR left alone (it is MXCSR_DEFAULT). */
static u64 quick(enum rv_fp_op op, bool dbl, u64 a, u64 b, u64 c)
{
	if (dbl)
		return bits_of_dbl(op_d(op, a, b, c));
	return bits_of_flt(op_s(op, a, b, c));
}

bool rv_fp_host_arith(enum rv_fp_op op, bool dbl, u64 a, u64 b, u64 c, int rm, u32 accrued,
		      u64 *res, u32 *fl)
{
	if (rm > 3 || rv_fp_host_off)
		return false; /* RMM */
	bool special = nan_or_inf(a, dbl) || (op != RV_FP_SQRT && nan_or_inf(b, dbl)) ||
		       (op >= RV_FP_FMADD && nan_or_inf(c, dbl));
	if (op >= RV_FP_FMADD && (!have_fma() || special))
		return false;
	/*
	 * With finite operands and a comfortably normal result, no flag but NX can arise
	 * (NV and DZ come with NaN/infinite results, OF with an infinite or saturated one,
	 * UF with a tiny one). If NX is already accrued there is nothing to detect.
	 */
	if (rm == 0 && (accrued & 1) && !special) {
		u64 r = quick(op, dbl, a, b, c);
		if (comfortably_normal(r, dbl)) {
			*res = r;
			*fl = 0;
			return true;
		}
	}
	csr_set(MXCSR_DEFAULT | rc_bits[rm]);
	if (dbl) {
		double r = op_d(op, a, b, c);
		*fl = flags_of(csr_get());
		*res = canon(r);
	} else {
		float r = op_s(op, a, b, c);
		*fl = flags_of(csr_get());
		*res = canon_s(r);
	}
	if (rm)
		csr_set(MXCSR_DEFAULT);
	return true;
}

bool rv_fp_host_convert(bool to_dbl, u64 a, int rm, u64 *res, u32 *fl)
{
	if (rm > 3 || rv_fp_host_off)
		return false;
	csr_set(MXCSR_DEFAULT | rc_bits[rm]);
	if (to_dbl) {
		double r;
		__asm__ volatile("cvtss2sd %1, %0" : "=x"(r) : "x"(flt_of(a)));
		*fl = flags_of(csr_get());
		*res = canon(r);
	} else {
		float r;
		__asm__ volatile("cvtsd2ss %1, %0" : "=x"(r) : "x"(dbl_of(a)));
		*fl = flags_of(csr_get());
		*res = canon_s(r);
	}
	if (rm)
		csr_set(MXCSR_DEFAULT);
	return true;
}

#else

void rv_fp_host_enter(void)
{
}

bool rv_fp_host_arith(enum rv_fp_op op, bool dbl, u64 a, u64 b, u64 c, int rm, u32 accrued,
		      u64 *res, u32 *fl)
{
	return false;
}

bool rv_fp_host_convert(bool to_dbl, u64 a, int rm, u64 *res, u32 *fl)
{
	return false;
}

#endif
