/*
 * fp_util.h - helpers shared by the CPU tests' floating-point files: encoding OP-FP and
 * R4 instructions, running one FP instruction on the emulator with chosen register
 * values, and a pool of interesting binary32/binary64 operands.
 */
#ifndef DUO_TESTS_CPU_FP_UTIL_H
#define DUO_TESTS_CPU_FP_UTIL_H

#include <duo/types.h>
#include "machine.h"

enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7 };
enum { FL_NX = 1, FL_UF = 2, FL_OF = 4, FL_DZ = 8, FL_NV = 16 };
#define QNAN_S 0x7fc00000ULL
#define QNAN_D 0x7ff8000000000000ULL
#define BOXED(v) (0xffffffff00000000ULL | (u32)(v))

/* OP-FP and the fused multiply-add majors (constant expressions). */
#define enc_fp(funct7, rs2, rs1, rm, rd)                                                           \
	((u32)(funct7) << 25 | (u32)(rs2) << 20 | (u32)(rs1) << 15 | (u32)(rm) << 12 |             \
	 (u32)(rd) << 7 | 0x53)
#define enc_r4(opc, fmt, rs3, rs2, rs1, rm, rd)                                                    \
	((u32)(rs3) << 27 | (u32)(fmt) << 25 | (u32)(rs2) << 20 | (u32)(rs1) << 15 |               \
	 (u32)(rm) << 12 | (u32)(rd) << 7 | (u32)(opc))

/* What one executed FP instruction left behind. */
struct fp_out {
	bool trapped; /* took an exception (scause in cause) */
	u64 cause;
	u64 f;	   /* f4 */
	u64 x;	   /* x6 */
	u32 flags; /* fflags after the instruction */
};

/* fflags fp_run starts from (default 0); results are compared including them. */
extern u32 fp_initial_flags;

/* fp_place - write insn into the test code area; returns its pc. */
u64 fp_place(struct tmachine *m, u32 insn);
/*
 * fp_run - execute the instruction at pc with f1..f3 = a, b, c (singles must be given
 * boxed by the caller when wanted), x5 = a, frm = frm, fflags = fp_initial_flags,
 * FS = Initial.
 * Convention: results go to f4 or x6.
 */
struct fp_out fp_run(struct tmachine *m, u64 pc, u64 a, u64 b, u64 c, int frm);

/* Operand pools: specials first, then `n` pseudo-random values from seed. */
size_t fp_operands_d(u64 *out, size_t max, u64 seed);
size_t fp_operands_s(u64 *out, size_t max, u64 seed);

#endif
