/*
 * softfloat_cvt.c - the non-arithmetic half of the emulator's IEEE 754 implementation
 * (see softfloat.h): float<->integer conversions with the RISC-V saturation rules
 * (unprivileged spec, F extension, "Floating-Point Conversion"), float<->float
 * conversion, comparisons, fmin/fmax and fclass.
 */
#include "softfloat.h"

u64 sf_to_int(int fmt, u64 a, int kind, int rm, u32 *fl)
{
	static const u64 maxv[4] = { 0x7fffffffULL, 0xffffffffULL, 0x7fffffffffffffffULL, ~0ULL };
	static const u64 minmag[4] = { 0x80000000ULL, 0, 0x8000000000000000ULL, 0 };
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp u = sf_unpack(f, a);
	bool w = kind == SF_W || kind == SF_WU;
	u64 r;

	if (u.cls == SF_QNAN || u.cls == SF_SNAN) {
		*fl |= SF_NV;
		r = maxv[kind];
		goto out;
	}
	if (u.cls == SF_INF) {
		*fl |= SF_NV;
		r = u.sign ? (u64)0 - minmag[kind] : maxv[kind];
		goto out;
	}
	if (u.cls == SF_ZERO)
		return 0;

	u64 ival;
	bool inexact;
	if (u.e >= 64) { /* |value| >= 2^64: beyond every range */
		*fl |= SF_NV;
		r = u.sign ? (u64)0 - minmag[kind] : maxv[kind];
		goto out;
	}
	if (u.e < 0) {
		/* |value| < 1: the fraction is all of it. */
		ival = 0;
		inexact = true;
		bool up;
		if (u.e == -1) /* [0.5, 1): ties only at exactly 0.5 */
			up = sf_rounds_up(u.sign, 0, u.m, 64, rm);
		else
			up = sf_rounds_up(u.sign, 0, 1, 64, rm); /* below one half */
		ival = up;
	} else {
		int sh = 63 - u.e;
		u64 rest = sh ? u.m & (((u64)1 << sh) - 1) : 0;
		ival = u.m >> sh;
		inexact = rest != 0;
		if (sf_rounds_up(u.sign, ival & 1, rest, sh, rm))
			ival++;
	}
	if (!u.sign) {
		if (ival > maxv[kind]) {
			*fl |= SF_NV;
			r = maxv[kind];
			goto out;
		}
		r = ival;
	} else {
		if (ival > minmag[kind]) {
			*fl |= SF_NV;
			r = (u64)0 - minmag[kind];
			goto out;
		}
		r = (u64)0 - ival;
	}
	if (inexact)
		*fl |= SF_NX;
out:
	return w ? (u64)(s64)(s32)(u32)r : r;
}

u64 sf_from_int(int fmt, u64 v, int kind, int rm, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	bool sign = false;
	u64 mag;
	switch (kind) {
	case SF_W:
		sign = (s32)v < 0;
		mag = sign ? (u64)0 - (u64)(s64)(s32)v : (u64)(u32)v;
		break;
	case SF_WU:
		mag = (u32)v;
		break;
	case SF_L:
		sign = (s64)v < 0;
		mag = sign ? (u64)0 - v : v;
		break;
	default:
		mag = v;
		break;
	}
	if (!mag)
		return sf_pack_zero(f, false);
	int lz = __builtin_clzll(mag);
	return sf_round_pack(f, sign, 63 - lz, mag << lz, rm, fl);
}

u64 sf_convert(int to, int from, u64 a, int rm, u32 *fl)
{
	const struct sf_fmt *t = &sf_fmts[to];
	struct sf_unp u = sf_unpack(&sf_fmts[from], a);
	switch (u.cls) {
	case SF_SNAN:
		*fl |= SF_NV;
		/* fall through */
	case SF_QNAN:
		return t->qnan;
	case SF_INF:
		return sf_pack_inf(t, u.sign);
	case SF_ZERO:
		return sf_pack_zero(t, u.sign);
	default:
		return sf_round_pack(t, u.sign, u.e, u.m, rm, fl);
	}
}

static bool nan_cls(enum sf_cls c)
{
	return c == SF_QNAN || c == SF_SNAN;
}

/* Ordered compare of two non-NaN values: -1, 0, 1 (with -0 == +0 when zero_eq). */
static int cmp_num(const struct sf_fmt *f, u64 a, u64 b, bool zero_eq)
{
	int top = f->ebits + f->fbits;
	bool sa = (a >> top) & 1, sb = (b >> top) & 1;
	u64 ma = a & (((u64)1 << top) - 1), mb = b & (((u64)1 << top) - 1);
	if (zero_eq && !ma && !mb)
		return 0;
	if (sa != sb)
		return sa ? -1 : 1;
	if (ma == mb)
		return 0;
	return ((ma < mb) != sa) ? -1 : 1;
}

bool sf_eq(int fmt, u64 a, u64 b, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ua = sf_unpack(f, a), ub = sf_unpack(f, b);
	if (nan_cls(ua.cls) || nan_cls(ub.cls)) {
		if (ua.cls == SF_SNAN || ub.cls == SF_SNAN)
			*fl |= SF_NV;
		return false;
	}
	return cmp_num(f, a, b, true) == 0;
}

bool sf_lt(int fmt, u64 a, u64 b, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	if (nan_cls(sf_unpack(f, a).cls) || nan_cls(sf_unpack(f, b).cls)) {
		*fl |= SF_NV;
		return false;
	}
	return cmp_num(f, a, b, true) < 0;
}

bool sf_le(int fmt, u64 a, u64 b, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	if (nan_cls(sf_unpack(f, a).cls) || nan_cls(sf_unpack(f, b).cls)) {
		*fl |= SF_NV;
		return false;
	}
	return cmp_num(f, a, b, true) <= 0;
}

u64 sf_minmax(int fmt, u64 a, u64 b, bool max, u32 *fl)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp ua = sf_unpack(f, a), ub = sf_unpack(f, b);
	if (ua.cls == SF_SNAN || ub.cls == SF_SNAN)
		*fl |= SF_NV;
	if (nan_cls(ua.cls) && nan_cls(ub.cls))
		return f->qnan;
	if (nan_cls(ua.cls))
		return b;
	if (nan_cls(ub.cls))
		return a;
	int c = cmp_num(f, a, b, false); /* -0 < +0 here */
	if (max)
		return c >= 0 ? a : b;
	return c <= 0 ? a : b;
}

u32 sf_classify(int fmt, u64 a)
{
	const struct sf_fmt *f = &sf_fmts[fmt];
	struct sf_unp u = sf_unpack(f, a);
	u64 E = (a >> f->fbits) & (((u64)1 << f->ebits) - 1);
	switch (u.cls) {
	case SF_INF:
		return u.sign ? 1U << 0 : 1U << 7;
	case SF_ZERO:
		return u.sign ? 1U << 3 : 1U << 4;
	case SF_SNAN:
		return 1U << 8;
	case SF_QNAN:
		return 1U << 9;
	default:
		if (E == 0)
			return u.sign ? 1U << 2 : 1U << 5;
		return u.sign ? 1U << 1 : 1U << 6;
	}
}
