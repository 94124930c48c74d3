/*
 * fpu_host.h - the host-FPU fast path of the emulator's F/D arithmetic (fpu_host.c),
 * private to type2/cpu. Each call either computes the exact RISC-V result and fflags
 * and returns true, or returns false and leaves the work to softfloat.
 */
#ifndef DUO_TYPE2_FPU_HOST_H
#define DUO_TYPE2_FPU_HOST_H

#include <duo/types.h>

enum rv_fp_op {
	RV_FP_ADD,
	RV_FP_SUB,
	RV_FP_MUL,
	RV_FP_DIV,
	RV_FP_SQRT,
	RV_FP_FMADD,  /* a*b + c */
	RV_FP_FMSUB,  /* a*b - c */
	RV_FP_FNMSUB, /* -(a*b) + c */
	RV_FP_FNMADD, /* -(a*b) - c */
};

/* Tests set this to send everything to softfloat, so both paths get checked. */
extern bool rv_fp_host_off;

/* rv_fp_host_arith - op on binary64 (dbl) or binary32 bit patterns a, b, c with RISC-V
 * rounding mode rm (0..4). `accrued` is fflags before the op: flags already set need
 * not be detected again, which lets the common case skip MXCSR entirely. */
bool rv_fp_host_arith(enum rv_fp_op op, bool dbl, u64 a, u64 b, u64 c, int rm, u32 accrued,
		      u64 *res, u32 *fl);
/* rv_fp_host_enter - put the calling thread's FPU in the state the fast path assumes
 * (round to nearest); rv_cpu_run calls it on entry. */
void rv_fp_host_enter(void);
/* rv_fp_host_convert - fcvt.d.s (to_dbl) or fcvt.s.d of a. */
bool rv_fp_host_convert(bool to_dbl, u64 a, int rm, u64 *res, u32 *fl);

#endif
