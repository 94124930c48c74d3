/*
 * softfloat.c - the arithmetic half of the emulator's IEEE 754 implementation (see
 * softfloat.h): unpacking, the one rounding routine every operation ends in, and
 * add/sub/mul/div/sqrt/fma. Operands are unpacked to a 64-bit significand with the
 * leading one at bit 63; intermediate results keep enough extra bits (using 128-bit
 * integers where a product or quotient needs them) and fold everything below into a
 * sticky bit, so sf_round_pack sees the exact value's rounding information.
 */
#include "softfloat.h"

typedef unsigned __int128 u128;

const struct sf_fmt sf_fmts[2] = {
	{ 8, 23, 0x7fc00000ULL },
	{ 11, 52, 0x7ff8000000000000ULL },
};

static inline int bias(const struct sf_fmt *f)
{
	return (1 << (f->ebits - 1)) - 1;
}

static inline int clz64(u64 v)
{
	return __builtin_clzll(v);
}

static inline int clz128(u128 v)
{
	u64 hi = (u64)(v >> 64);
	return hi ? clz64(hi) : 64 + clz64((u64)v);
}

static u64 shr_jam64(u64 v, int n)
{
	if (n <= 0)
		return v;
	if (n >= 64)
		return v != 0;
	return (v >> n) | ((v << (64 - n)) != 0);
}

static u128 shr_jam128(u128 v, int n)
{
	if (n <= 0)
		return v;
	if (n >= 128)
		return v != 0;
	return (v >> n) | ((v << (128 - n)) != 0);
}

/* Keep the top 64 bits of a 128-bit value, with the rest as sticky. */
static u64 narrow_jam(u128 v)
{
	return (u64)(v >> 64) | ((u64)v != 0);
}

u64 sf_pack_inf(const struct sf_fmt *f, bool sign)
{
	return ((u64)sign << (f->ebits + f->fbits)) | ((((u64)1 << f->ebits) - 1) << f->fbits);
}

u64 sf_pack_zero(const struct sf_fmt *f, bool sign)
{
	return (u64)sign << (f->ebits + f->fbits);
}

struct sf_unp sf_unpack(const struct sf_fmt *f, u64 x)
{
	struct sf_unp u;
	u64 emask = ((u64)1 << f->ebits) - 1;
	u64 E = (x >> f->fbits) & emask;
	u64 F = x & (((u64)1 << f->fbits) - 1);
	u.sign = (x >> (f->ebits + f->fbits)) & 1;
	u.e = 0;
	u.m = 0;
	if (E == emask) {
		if (!F)
			u.cls = SF_INF;
		else
			u.cls = (F >> (f->fbits - 1)) & 1 ? SF_QNAN : SF_SNAN;
	} else if (E == 0) {
		if (!F) {
			u.cls = SF_ZERO;
		} else {
			int lz = clz64(F);
			u.cls = SF_FINITE;
			u.m = F << lz;
			u.e = 64 - bias(f) - f->fbits - lz;
		}
	} else {
		u.cls = SF_FINITE;
		u.m = (F | ((u64)1 << f->fbits)) << (63 - f->fbits);
		u.e = (int)E - bias(f);
	}
	return u;
}

bool sf_rounds_up(bool sign, bool lsb, u64 rest, int nbits, int rm)
{
	u64 half;
	if (!rest)
		return false;
	half = nbits >= 65 ? 0 : (u64)1 << (nbits - 1);
	switch (rm) {
	case SF_RNE:
		return rest > half || (rest == half && lsb);
	case SF_RDN:
		return sign;
	case SF_RUP:
		return !sign;
	case SF_RMM:
		return rest >= half;
	default: /* SF_RTZ */
		return false;
	}
}

u64 sf_round_pack(const struct sf_fmt *f, bool sign, int e, u64 m, int rm, u32 *fl)
{
	int p = f->fbits + 1, sh = 64 - p;
	int emin = 1 - bias(f), emax = bias(f);
	u64 low = ((u64)1 << sh) - 1;
	bool tiny = false;

	if (e < emin) {
		/* Tiny unless rounding to p bits with unbounded exponent reaches 2^emin. */
		tiny = !(e == emin - 1 && (m >> sh) == (((u64)1 << p) - 1) &&
			 sf_rounds_up(sign, 1, m & low, sh, rm));
		m = shr_jam64(m, emin - e);
		e = emin;
	}
	u64 rest = m & low, sig = m >> sh;
	if (rest) {
		*fl |= SF_NX;
		if (tiny)
			*fl |= SF_UF;
		if (sf_rounds_up(sign, sig & 1, rest, sh, rm)) {
			sig++;
			if (sig >> p) {
				sig >>= 1;
				e++;
			}
		}
	}
	if (e > emax) {
		bool inf = rm == SF_RNE || rm == SF_RMM || (rm == SF_RDN && sign) ||
			   (rm == SF_RUP && !sign);
		*fl |= SF_OF | SF_NX;
		if (inf)
			return sf_pack_inf(f, sign);
		return sf_pack_inf(f, sign) - 1; /* largest finite of that sign */
	}
	u64 E = (sig >> (p - 1)) ? (u64)(e + bias(f)) : 0;
	return ((u64)sign << (f->ebits + f->fbits)) | (E << f->fbits) |
	       (sig & (((u64)1 << f->fbits) - 1));
}

/* NaN operands: the canonical NaN, invalid if any was signaling (or `invalid`). */
static u64 nan_result(const struct sf_fmt *f, const struct sf_unp *a, const struct sf_unp *b,
		      const struct sf_unp *c, bool invalid, u32 *fl)
{
	if (invalid || a->cls == SF_SNAN || (b && b->cls == SF_SNAN) || (c && c->cls == SF_SNAN))
		*fl |= SF_NV;
	return f->qnan;
}

static inline bool is_nan(const struct sf_unp *u)
{
	return u->cls == SF_QNAN || u->cls == SF_SNAN;
}

static u64 pack_unp(const struct sf_fmt *f, const struct sf_unp *u, u64 raw)
{
	/* A finite operand returned unchanged except perhaps for its sign. */
	u64 sbit = (u64)1 << (f->ebits + f->fbits);
	return (raw & ~sbit) | (u->sign ? sbit : 0);
}

static u64 add_core(const struct sf_fmt *f, struct sf_unp a, u64 ra, struct sf_unp b, u64 rb,
		    int rm, u32 *fl)
{
	if (is_nan(&a) || is_nan(&b))
		return nan_result(f, &a, &b, NULL, false, fl);
	if (a.cls == SF_INF) {
		if (b.cls == SF_INF && a.sign != b.sign)
			return nan_result(f, &a, &b, NULL, true, fl);
		return sf_pack_inf(f, a.sign);
	}
	if (b.cls == SF_INF)
		return sf_pack_inf(f, b.sign);
	if (a.cls == SF_ZERO && b.cls == SF_ZERO)
		return sf_pack_zero(f, a.sign == b.sign ? a.sign : rm == SF_RDN);
	if (a.cls == SF_ZERO)
		return pack_unp(f, &b, rb);
	if (b.cls == SF_ZERO)
		return pack_unp(f, &a, ra);
	if (a.e < b.e || (a.e == b.e && a.m < b.m)) {
		struct sf_unp t = a;
		a = b;
		b = t;
	}
	u64 A = a.m >> 1, B = shr_jam64(b.m >> 1, a.e - b.e), S;
	if (a.sign == b.sign) {
		S = A + B;
	} else {
		S = A - B;
		if (!S)
			return sf_pack_zero(f, rm == SF_RDN);
	}
	int lz = clz64(S);
	return sf_round_pack(f, a.sign, a.e + 1 - lz, S << lz, rm, fl);
}

u64 sf_add(int fmt, u64 a, u64 b, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	return add_core(f, sf_unpack(f, a), a, sf_unpack(f, b), b, rm, fl);
}

u64 sf_sub(int fmt, u64 a, u64 b, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ub = sf_unpack(f, b);
	ub.sign = !ub.sign;
	return add_core(f, sf_unpack(f, a), a, ub, b, rm, fl);
}

u64 sf_mul(int fmt, u64 a, u64 b, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ua = sf_unpack(f, a), ub = sf_unpack(f, b);
	bool sign = ua.sign ^ ub.sign;
	if (is_nan(&ua) || is_nan(&ub))
		return nan_result(f, &ua, &ub, NULL, false, fl);
	if (ua.cls == SF_INF || ub.cls == SF_INF) {
		if (ua.cls == SF_ZERO || ub.cls == SF_ZERO)
			return nan_result(f, &ua, &ub, NULL, true, fl);
		return sf_pack_inf(f, sign);
	}
	if (ua.cls == SF_ZERO || ub.cls == SF_ZERO)
		return sf_pack_zero(f, sign);
	u128 P = (u128)ua.m * ub.m;
	if (P >> 127)
		return sf_round_pack(f, sign, ua.e + ub.e + 1, narrow_jam(P), rm, fl);
	return sf_round_pack(f, sign, ua.e + ub.e, narrow_jam(P << 1), rm, fl);
}

u64 sf_div(int fmt, u64 a, u64 b, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ua = sf_unpack(f, a), ub = sf_unpack(f, b);
	bool sign = ua.sign ^ ub.sign;
	if (is_nan(&ua) || is_nan(&ub))
		return nan_result(f, &ua, &ub, NULL, false, fl);
	if (ua.cls == SF_INF) {
		if (ub.cls == SF_INF)
			return nan_result(f, &ua, &ub, NULL, true, fl);
		return sf_pack_inf(f, sign);
	}
	if (ub.cls == SF_INF)
		return sf_pack_zero(f, sign);
	if (ub.cls == SF_ZERO) {
		if (ua.cls == SF_ZERO)
			return nan_result(f, &ua, &ub, NULL, true, fl);
		*fl |= SF_DZ;
		return sf_pack_inf(f, sign);
	}
	if (ua.cls == SF_ZERO)
		return sf_pack_zero(f, sign);
	u128 N = (u128)ua.m << 64;
	u128 q = N / ub.m;
	bool rem = (N - q * ub.m) != 0;
	if (q >> 64)
		return sf_round_pack(f, sign, ua.e - ub.e, (u64)(q >> 1) | (u64)(q & 1) | rem, rm,
				     fl);
	return sf_round_pack(f, sign, ua.e - ub.e - 1, (u64)q | rem, rm, fl);
}

/* Integer square root of a 128-bit value: floor(sqrt(n)), and whether it was exact. */
static u64 isqrt128(u128 n, bool *exact)
{
	u128 res = 0, one = (u128)1 << 126;
	while (one > n)
		one >>= 2;
	while (one) {
		if (n >= res + one) {
			n -= res + one;
			res = (res >> 1) + one;
		} else {
			res >>= 1;
		}
		one >>= 2;
	}
	*exact = n == 0;
	return (u64)res;
}

u64 sf_sqrt(int fmt, u64 a, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp u = sf_unpack(f, a);
	bool exact;
	if (is_nan(&u))
		return nan_result(f, &u, NULL, NULL, false, fl);
	if (u.cls == SF_ZERO)
		return a; /* sqrt(-0) = -0 */
	if (u.sign)
		return nan_result(f, &u, NULL, NULL, true, fl);
	if (u.cls == SF_INF)
		return a;
	/* value = m * 2^t with t = e - 63; make the exponent even, root has 64 bits. */
	int t = u.e - 63;
	u128 N;
	int half;
	if (t & 1) {
		N = (u128)u.m << 63;
		half = (t - 63) / 2;
	} else {
		N = (u128)u.m << 64;
		half = (t - 64) / 2;
	}
	u64 r = isqrt128(N, &exact);
	return sf_round_pack(f, false, 63 + half, r | !exact, rm, fl);
}

u64 sf_fma(int fmt, u64 a, u64 b, u64 c, bool neg_prod, bool neg_c, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ua = sf_unpack(f, a), ub = sf_unpack(f, b), uc = sf_unpack(f, c);
	bool ps = ua.sign ^ ub.sign ^ neg_prod, cs = uc.sign ^ neg_c;
	bool inv =
		(ua.cls == SF_INF && ub.cls == SF_ZERO) || (ua.cls == SF_ZERO && ub.cls == SF_INF);
	/* inf * 0 is invalid even when c is a quiet NaN (RISC-V F, FMA). */
	if (is_nan(&ua) || is_nan(&ub) || is_nan(&uc) || inv)
		return nan_result(f, &ua, &ub, &uc, inv, fl);
	if (ua.cls == SF_INF || ub.cls == SF_INF) {
		if (uc.cls == SF_INF && cs != ps)
			return nan_result(f, &ua, &ub, &uc, true, fl);
		return sf_pack_inf(f, ps);
	}
	if (uc.cls == SF_INF)
		return sf_pack_inf(f, cs);
	if (ua.cls == SF_ZERO || ub.cls == SF_ZERO) {
		if (uc.cls == SF_ZERO)
			return sf_pack_zero(f, ps == cs ? ps : rm == SF_RDN);
		uc.sign = cs;
		return pack_unp(f, &uc, c);
	}
	/* Exact product, normalized to bit 127: value = P * 2^(ep-127). */
	u128 P = (u128)ua.m * ub.m;
	int ep = ua.e + ub.e;
	if (P >> 127)
		ep++;
	else
		P <<= 1;
	if (uc.cls == SF_ZERO)
		return sf_round_pack(f, ps, ep, narrow_jam(P), rm, fl);
	u128 C = (u128)uc.m << 64;
	int ec = uc.e;
	bool s = ps;
	if (ep < ec || (ep == ec && P < C)) {
		u128 t = P;
		P = C;
		C = t;
		int te = ep;
		ep = ec;
		ec = te;
		s = cs;
	}
	u128 A = P >> 1, B = shr_jam128(C >> 1, ep - ec), S;
	if (ps == cs) {
		S = A + B;
	} else {
		S = A - B;
		if (!S)
			return sf_pack_zero(f, rm == SF_RDN);
	}
	int lz = clz128(S);
	return sf_round_pack(f, s, ep + 1 - lz, narrow_jam(S << lz), rm, fl);
}
