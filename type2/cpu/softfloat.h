/*
 * softfloat.h - IEEE 754-2008 binary32/binary64 arithmetic in integer code, private to
 * the type-2 emulator (type2/cpu). Results and exception flags are what the RISC-V F/D
 * extensions require, independent of the host FPU: tininess is detected after rounding,
 * every NaN result is the canonical NaN, all five rounding modes (incl. RMM) work.
 *
 * Values are raw bit patterns in a u64 (binary32 in the low 32 bits, no NaN boxing:
 * that is fpu.c's business). `fmt` is SF_S or SF_D; `rm` is the RISC-V rm encoding 0..4.
 * Flags are OR-ed into *fl with the fflags bit layout.
 */
#ifndef DUO_TYPE2_SOFTFLOAT_H
#define DUO_TYPE2_SOFTFLOAT_H

#include <duo/types.h>

enum { SF_S = 0, SF_D = 1 };
enum { SF_RNE = 0, SF_RTZ = 1, SF_RDN = 2, SF_RUP = 3, SF_RMM = 4 };
enum { SF_NX = 1, SF_UF = 2, SF_OF = 4, SF_DZ = 8, SF_NV = 16 };
/* Integer kinds of fcvt, in the order of the rs2 field. */
enum { SF_W = 0, SF_WU = 1, SF_L = 2, SF_LU = 3 };

u64 sf_add(int fmt, u64 a, u64 b, int rm, u32 *fl);
u64 sf_sub(int fmt, u64 a, u64 b, int rm, u32 *fl);
u64 sf_mul(int fmt, u64 a, u64 b, int rm, u32 *fl);
u64 sf_div(int fmt, u64 a, u64 b, int rm, u32 *fl);
u64 sf_sqrt(int fmt, u64 a, int rm, u32 *fl);
/* sf_fma - (neg_prod ? -(a*b) : a*b) + (neg_c ? -c : c), rounded once. */
u64 sf_fma(int fmt, u64 a, u64 b, u64 c, bool neg_prod, bool neg_c, int rm, u32 *fl);

/* sf_to_int - fcvt.{w,wu,l,lu}: saturating; W/WU results sign-extended to 64 bits. */
u64 sf_to_int(int fmt, u64 a, int kind, int rm, u32 *fl);
/* sf_from_int - fcvt.{s,d}.{w,wu,l,lu} from the integer register value v. */
u64 sf_from_int(int fmt, u64 v, int kind, int rm, u32 *fl);
/* sf_convert - fcvt.s.d / fcvt.d.s. */
u64 sf_convert(int to, int from, u64 a, int rm, u32 *fl);

bool sf_eq(int fmt, u64 a, u64 b, u32 *fl); /* quiet */
bool sf_lt(int fmt, u64 a, u64 b, u32 *fl); /* signaling */
bool sf_le(int fmt, u64 a, u64 b, u32 *fl); /* signaling */
/* sf_minmax - fmin/fmax (IEEE 754-2019 minimumNumber/maximumNumber, -0 < +0). */
u64 sf_minmax(int fmt, u64 a, u64 b, bool max, u32 *fl);
/* sf_classify - the fclass 10-bit mask. */
u32 sf_classify(int fmt, u64 a);

/* ---- shared by softfloat*.c ---------------------------------------------------------- */

struct sf_fmt {
	int ebits, fbits;
	u64 qnan; /* canonical NaN */
};
extern const struct sf_fmt sf_fmts[2];

enum sf_cls { SF_ZERO, SF_FINITE, SF_INF, SF_QNAN, SF_SNAN };

/* An unpacked operand: finite nonzero values are m * 2^(e-63) with bit 63 of m set. */
struct sf_unp {
	enum sf_cls cls;
	bool sign;
	int e;
	u64 m;
};

struct sf_unp sf_unpack(const struct sf_fmt *f, u64 x);
/* sf_round_pack - round sign * m * 2^(e-63) (m normalized, sticky in bit 0) to fmt. */
u64 sf_round_pack(const struct sf_fmt *f, bool sign, int e, u64 m, int rm, u32 *fl);
u64 sf_pack_inf(const struct sf_fmt *f, bool sign);
u64 sf_pack_zero(const struct sf_fmt *f, bool sign);
/* sf_rounds_up - would rounding (lsb, round bits `rest` of `nbits`) increment? */
bool sf_rounds_up(bool sign, bool lsb, u64 rest, int nbits, int rm);

#endif
