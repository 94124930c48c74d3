/*
 * test_type1_decode.c - the type-1 hypervisor's MMIO instruction decoder (type1/decode.c)
 * on the host: every integer load/store form, the compressed ones, htinst's transformed
 * instructions, and the forms that must be refused (FP, AMO, LR/SC, pseudoinstructions,
 * reserved encodings: HOSTILE.md 15). The encodings come from GNU as (rv64imafdc).
 *
 * decode.c is freestanding and has no other dependency, so it is compiled in here.
 */
#include <duo/err.h>

#include "harness.h"
#include "../../type1/decode.c"

static struct t1_mmio_op op;

static int dec(u32 insn)
{
	__builtin_memset(&op, 0xa5, sizeof(op));
	return t1_decode_mmio(insn, false, &op);
}

static int dec_t(u32 htinst)
{
	__builtin_memset(&op, 0xa5, sizeof(op));
	return t1_decode_mmio(htinst, true, &op);
}

#define CHECK_OP(st, w, sx, r, l)                                                                  \
	do {                                                                                       \
		CHECK_EQ(op.store, st);                                                            \
		CHECK_EQ(op.width, w);                                                             \
		CHECK_EQ(op.sign_extend, sx);                                                      \
		CHECK_EQ(op.reg, r);                                                               \
		CHECK_EQ(op.len, l);                                                               \
	} while (0)

TEST(t1_decode_loads_every_width)
{
	CHECK_EQ(dec(0x00058283), 0); /* lb t0, 0(a1) */
	CHECK_OP(false, 1, true, 5, 4);
	CHECK_EQ(dec(0x0015c303), 0); /* lbu t1, 1(a1) */
	CHECK_OP(false, 1, false, 6, 4);
	CHECK_EQ(dec(0xffe69603), 0); /* lh a2, -2(a3) */
	CHECK_OP(false, 2, true, 12, 4);
	CHECK_EQ(dec(0x00245683), 0); /* lhu a3, 2(s0) */
	CHECK_OP(false, 2, false, 13, 4);
	CHECK_EQ(dec(0x0005a503), 0); /* lw a0, 0(a1) */
	CHECK_OP(false, 4, true, 10, 4);
	CHECK_EQ(dec(0x0045e703), 0); /* lwu a4, 4(a1) */
	CHECK_OP(false, 4, false, 14, 4);
	CHECK_EQ(dec(0x00813483), 0); /* ld s1, 8(sp) */
	CHECK_OP(false, 8, false, 9, 4);
}

TEST(t1_decode_stores_every_width)
{
	CHECK_EQ(dec(0x00f50023), 0); /* sb a5, 0(a0) */
	CHECK_OP(true, 1, false, 15, 4);
	CHECK_EQ(dec(0x00751123), 0); /* sh t2, 2(a0) */
	CHECK_OP(true, 2, false, 7, 4);
	CHECK_EQ(dec(0x00052223), 0); /* sw zero, 4(a0): the value is x0 */
	CHECK_OP(true, 4, false, 0, 4);
	CHECK_EQ(dec(0x00b53423), 0); /* sd a1, 8(a0) */
	CHECK_OP(true, 8, false, 11, 4);
}

TEST(t1_decode_compressed)
{
	CHECK_EQ(dec(0x4188), 0); /* c.lw a0, 0(a1) */
	CHECK_OP(false, 4, true, 10, 2);
	CHECK_EQ(dec(0x6784), 0); /* c.ld s1, 8(a5) */
	CHECK_OP(false, 8, false, 9, 2);
	CHECK_EQ(dec(0xc2d0), 0); /* c.sw a2, 4(a3) */
	CHECK_OP(true, 4, false, 12, 2);
	CHECK_EQ(dec(0xe818), 0); /* c.sd a4, 16(s0) */
	CHECK_OP(true, 8, false, 14, 2);
	CHECK_EQ(dec(0x4092), 0); /* c.lwsp ra, 4(sp) */
	CHECK_OP(false, 4, true, 1, 2);
	CHECK_EQ(dec(0x6fa2), 0); /* c.ldsp t6, 8(sp) */
	CHECK_OP(false, 8, false, 31, 2);
	CHECK_EQ(dec(0xc66e), 0); /* c.swsp s11, 12(sp) */
	CHECK_OP(true, 4, false, 27, 2);
	CHECK_EQ(dec(0xec2a), 0); /* c.sdsp a0, 24(sp) */
	CHECK_OP(true, 8, false, 10, 2);
}

TEST(t1_decode_refuses_fp_atomic_and_others)
{
	CHECK_EQ(dec(0x0005a507), DUO_ENOTSUP); /* flw fa0, 0(a1) */
	CHECK_EQ(dec(0x00b53427), DUO_ENOTSUP); /* fsd fa1, 8(a0) */
	CHECK_EQ(dec(0x00b6252f), DUO_ENOTSUP); /* amoadd.w a0, a1, (a2) */
	CHECK_EQ(dec(0x1005b52f), DUO_ENOTSUP); /* lr.d a0, (a1) */
	CHECK_EQ(dec(0x00150513), DUO_ENOTSUP); /* addi a0, a0, 1 */
	CHECK_EQ(dec(0x10500073), DUO_ENOTSUP); /* wfi */
	CHECK_EQ(dec(0x2588), DUO_ENOTSUP);	/* c.fld fa0, 8(a1) */
	CHECK_EQ(dec(0xa42e), DUO_ENOTSUP);	/* c.fsdsp fa1, 8(sp) */
	CHECK_EQ(dec(0xa50c), DUO_ENOTSUP);	/* c.fsd fa1, 8(a0) */
	CHECK_EQ(dec(0x0505), DUO_ENOTSUP);	/* c.addi a0, 1: quadrant 1 */
	CHECK_EQ(dec(0x4002), DUO_ENOTSUP);	/* c.lwsp x0: reserved */
	CHECK_EQ(dec(0x0000), DUO_ENOTSUP);	/* the all-zero illegal instruction */
	CHECK_EQ(dec(0x00007003), DUO_ENOTSUP); /* load funct3 7: reserved */
	CHECK_EQ(dec(0x00004023), DUO_ENOTSUP); /* store funct3 4: reserved */
}

TEST(t1_decode_htinst_transformed)
{
	/* lw a0 from a compressed c.lw: bit 1 clear -> length 2 */
	CHECK_EQ(dec_t(0x00002501), 0);
	CHECK_OP(false, 4, true, 10, 2);
	/* ld s1, uncompressed */
	CHECK_EQ(dec_t(0x00003483), 0);
	CHECK_OP(false, 8, false, 9, 4);
	/* sd a1 from c.sd */
	CHECK_EQ(dec_t(0x00b03021), 0);
	CHECK_OP(true, 8, false, 11, 2);
	/* sb a5, uncompressed */
	CHECK_EQ(dec_t(0x00f00023), 0);
	CHECK_OP(true, 1, false, 15, 4);
}

TEST(t1_decode_htinst_refused)
{
	CHECK_EQ(dec_t(0), DUO_ENOTSUP);	  /* no information */
	CHECK_EQ(dec_t(0x00002000), DUO_ENOTSUP); /* VS-stage walk, 32-bit read */
	CHECK_EQ(dec_t(0x00002020), DUO_ENOTSUP); /* ... 32-bit write */
	CHECK_EQ(dec_t(0x00003000), DUO_ENOTSUP); /* ... 64-bit read */
	CHECK_EQ(dec_t(0x00003020), DUO_ENOTSUP); /* ... 64-bit write */
	CHECK_EQ(dec_t(0x00b0252f), DUO_ENOTSUP); /* a transformed AMO */
	CHECK_EQ(dec_t(0x00002507), DUO_ENOTSUP); /* a transformed flw */
}

TEST(t1_insn_len_from_low_bits)
{
	CHECK_EQ(t1_insn_len(0x4188), 2);
	CHECK_EQ(t1_insn_len(0xa503), 4);
	CHECK_EQ(t1_insn_len(0x0001), 2);
	CHECK_EQ(t1_insn_len(0x0002), 2);
}
