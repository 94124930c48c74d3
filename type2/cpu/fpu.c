/*
 * fpu.c - the F and D extensions' register-level semantics for the type-2 emulator:
 * decoding OP-FP and the fused multiply-adds, rounding-mode selection (static rm, or
 * frm for DYN; reserved modes are illegal), NaN boxing of singles in the 64-bit f
 * registers, fflags accrual and sstatus.FS tracking. The arithmetic itself is
 * softfloat*.c. FP loads and stores are in the interpreter (exec.c).
 */
#include "rv_internal.h"
#include "fpu_host.h"
#include "softfloat.h"

#define BOX 0xffffffff00000000ULL
#define QNAN_S 0x7fc00000ULL

/* Read f[r] as format fmt: a single that is not properly boxed is the canonical NaN. */
static u64 freg(struct rv_cpu *c, unsigned r, int fmt)
{
	u64 v = c->f[r];
	if (fmt == SF_D)
		return v;
	return (v & BOX) == BOX ? (v & 0xffffffffULL) : QNAN_S;
}

static void fset(struct rv_cpu *c, unsigned r, int fmt, u64 v)
{
	c->f[r] = fmt == SF_D ? v : (v | BOX);
	rv_fs_dirty(c);
}

static bool illegal(struct rv_cpu *c, const struct rv_insn *d)
{
	return rv_raise(c, RV_EXC_ILLEGAL, d->raw);
}

static u64 sgnj(int fmt, u64 a, u64 b, unsigned f3)
{
	u64 sbit = fmt == SF_D ? 1ULL << 63 : 1ULL << 31;
	u64 s;
	switch (f3) {
	case 0:
		s = b & sbit;
		break;
	case 1:
		s = ~b & sbit;
		break;
	default:
		s = (a ^ b) & sbit;
		break;
	}
	return (a & ~sbit) | s;
}

bool rv_fp_exec(struct rv_cpu *c, const struct rv_insn *d)
{
	u32 r = d->raw;
	unsigned opc = r & 0x7f, rd = (r >> 7) & 31, f3 = (r >> 12) & 7;
	unsigned rs1 = (r >> 15) & 31, rs2 = (r >> 20) & 31, rs3 = r >> 27;
	int fmt = (r >> 25) & 3;
	int rm = f3 == 7 ? (int)((c->fcsr >> 5) & 7) : (int)f3;
	bool rm_ok = rm <= SF_RMM;
	u32 fl = 0;
	u64 a, b;

	if (!rv_fs_on(c))
		return illegal(c, d);
	if (opc != 0x53) { /* FMADD, FMSUB, FNMSUB, FNMADD */
		if (!rm_ok)
			return illegal(c, d);
		bool neg_prod = opc == 0x4b || opc == 0x4f, neg_c = opc == 0x47 || opc == 0x4f;
		u64 x = freg(c, rs1, fmt), y = freg(c, rs2, fmt), z = freg(c, rs3, fmt), v;
		if (!rv_fp_host_arith((enum rv_fp_op)(RV_FP_FMADD + ((opc - 0x43) >> 2)), fmt, x, y,
				      z, rm, c->fcsr, &v, &fl))
			v = sf_fma(fmt, x, y, z, neg_prod, neg_c, rm, &fl);
		fset(c, rd, fmt, v);
		goto flags;
	}
	a = freg(c, rs1, fmt);
	b = freg(c, rs2, fmt);
	switch (r >> 27) {
	case 0x00: /* FADD */
	case 0x01: /* FSUB */
	case 0x02: /* FMUL */
	case 0x03: /* FDIV */
	{
		static u64 (*const op[4])(int, u64, u64, int, u32 *) = { sf_add, sf_sub, sf_mul,
									 sf_div };
		u64 v;
		if (!rm_ok)
			return illegal(c, d);
		if (!rv_fp_host_arith((enum rv_fp_op)(r >> 27), fmt, a, b, 0, rm, c->fcsr, &v, &fl))
			v = op[r >> 27](fmt, a, b, rm, &fl);
		fset(c, rd, fmt, v);
		goto flags;
	}
	case 0x0b: { /* FSQRT */
		u64 v;
		if (rs2 != 0 || !rm_ok)
			return illegal(c, d);
		if (!rv_fp_host_arith(RV_FP_SQRT, fmt, a, 0, 0, rm, c->fcsr, &v, &fl))
			v = sf_sqrt(fmt, a, rm, &fl);
		fset(c, rd, fmt, v);
		goto flags;
	}
	case 0x04: /* FSGNJ, FSGNJN, FSGNJX */
		if (f3 > 2)
			return illegal(c, d);
		fset(c, rd, fmt, sgnj(fmt, a, b, f3));
		return true;
	case 0x05: /* FMIN, FMAX */
		if (f3 > 1)
			return illegal(c, d);
		fset(c, rd, fmt, sf_minmax(fmt, a, b, f3 == 1, &fl));
		goto flags;
	case 0x08: /* FCVT.S.D (fmt S, rs2 1), FCVT.D.S (fmt D, rs2 0) */
	{
		u64 v, in = freg(c, rs1, !fmt);
		if (rs2 != (fmt == SF_S ? 1U : 0U) || !rm_ok)
			return illegal(c, d);
		if (!rv_fp_host_convert(fmt == SF_D, in, rm, &v, &fl))
			v = sf_convert(fmt, !fmt, in, rm, &fl);
		fset(c, rd, fmt, v);
		goto flags;
	}
	case 0x14: /* FLE, FLT, FEQ */
		if (f3 > 2)
			return illegal(c, d);
		c->x[rd] = f3 == 2   ? sf_eq(fmt, a, b, &fl)
			   : f3 == 1 ? sf_lt(fmt, a, b, &fl)
				     : sf_le(fmt, a, b, &fl);
		goto flags;
	case 0x18: /* FCVT.{W,WU,L,LU}.fmt */
		if (rs2 > 3 || !rm_ok)
			return illegal(c, d);
		c->x[rd] = sf_to_int(fmt, a, (int)rs2, rm, &fl);
		goto flags;
	case 0x1a: /* FCVT.fmt.{W,WU,L,LU} */
		if (rs2 > 3 || !rm_ok)
			return illegal(c, d);
		fset(c, rd, fmt, sf_from_int(fmt, c->x[rs1], (int)rs2, rm, &fl));
		goto flags;
	case 0x1c: /* FMV.X.{W,D}, FCLASS */
		if (rs2 != 0 || f3 > 1)
			return illegal(c, d);
		if (f3 == 1)
			c->x[rd] = sf_classify(fmt, a);
		else
			c->x[rd] = fmt == SF_D ? c->f[rs1] : (u64)(s64)(s32)(u32)c->f[rs1];
		return true;
	case 0x1e: /* FMV.{W,D}.X */
		if (rs2 != 0 || f3 != 0)
			return illegal(c, d);
		fset(c, rd, fmt, fmt == SF_D ? c->x[rs1] : (u32)c->x[rs1]);
		return true;
	}
	return illegal(c, d);
flags:
	if (fl) {
		c->fcsr |= fl;
		rv_fs_dirty(c);
	}
	return true;
}
