/*
 * decode.h - decoding a trapped guest load/store for MMIO emulation (type1/decode.c).
 * Kept apart from hv.h so the host-side unit test can include it alone.
 */
#ifndef T1_DECODE_H
#define T1_DECODE_H

#include <duo/types.h>

struct t1_mmio_op {
	bool store;
	bool sign_extend;
	u8 width; /* 1, 2, 4, 8 */
	u8 reg;	  /* rd for a load, rs2 for a store */
	u8 len;	  /* instruction length, 2 or 4 */
};

/*
 * t1_decode_mmio - decode a trapped integer load/store. With transformed = false, insn
 * is the raw instruction (a 16-bit form in the low half); with transformed = true it is
 * htinst's transformed instruction (bit 0 set; bit 1 clear when the original was 16-bit).
 * Returns 0, or DUO_ENOTSUP for anything else (FP, AMO, LR/SC, no memory access, a
 * pseudoinstruction): the guest then gets an access fault.
 */
int t1_decode_mmio(u32 insn, bool transformed, struct t1_mmio_op *op);

/* t1_insn_len - 2 or 4, from the low bits of an instruction's first halfword. */
static inline unsigned t1_insn_len(u16 lo)
{
	return (lo & 3) == 3 ? 4 : 2;
}

#endif
