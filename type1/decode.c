/*
 * decode.c - which load or store trapped: decoding the instruction behind a guest-page
 * fault in a device window, for trap.c's MMIO emulation.
 *
 * The instruction comes either from htinst (a "transformed instruction": the original
 * with its address fields zeroed, bit 1 clear when the original was 16 bits; privileged
 * spec, H chapter) or, when QEMU 7.2 leaves htinst 0 (PITFALLS 1), from guest memory
 * read with HLVX.HU. Integer loads and stores of every width are handled, including
 * the compressed C.LW/C.LD/C.SW/C.SD and their stack-pointer forms; FP loads/stores,
 * AMOs and LR/SC to a device are refused (the guest gets an access fault: HOSTILE 15).
 * Pure code: tests/unit/test_type1_decode.c compiles it on the host.
 */
#include <duo/err.h>
#include <duo/types.h>

#include "decode.h"

#define OP_LOAD 0x03
#define OP_STORE 0x23

static int decode32(u32 insn, struct t1_mmio_op *op)
{
	u32 opcode = insn & 0x7f, funct3 = (insn >> 12) & 7;

	if (opcode == OP_LOAD) {
		static const u8 width[8] = { 1, 2, 4, 8, 1, 2, 4, 0 };
		if (!width[funct3])
			return DUO_ENOTSUP;
		op->store = false;
		op->width = width[funct3];
		op->sign_extend = funct3 < 4 && funct3 != 3;
		op->reg = (insn >> 7) & 31;
		return 0;
	}
	if (opcode == OP_STORE) {
		if (funct3 > 3)
			return DUO_ENOTSUP;
		op->store = true;
		op->width = (u8)(1u << funct3);
		op->sign_extend = false;
		op->reg = (insn >> 20) & 31;
		return 0;
	}
	return DUO_ENOTSUP; /* FP load/store (0x07/0x27), AMO/LR/SC (0x2f), anything else */
}

static int decode16(u16 insn, struct t1_mmio_op *op)
{
	u32 quadrant = insn & 3, funct3 = (insn >> 13) & 7;
	op->sign_extend = false;

	if (quadrant == 0) {
		/* C.LW / C.LD / C.SW / C.SD: rd'/rs2' in bits 4:2 name x8..x15 */
		u8 reg = 8 + ((insn >> 2) & 7);
		switch (funct3) {
		case 2: /* C.LW */
			op->store = false;
			op->width = 4;
			op->sign_extend = true;
			break;
		case 3: /* C.LD */
			op->store = false;
			op->width = 8;
			break;
		case 6: /* C.SW */
			op->store = true;
			op->width = 4;
			break;
		case 7: /* C.SD */
			op->store = true;
			op->width = 8;
			break;
		default: /* C.ADDI4SPN, C.FLD, C.FSD, reserved */
			return DUO_ENOTSUP;
		}
		op->reg = reg;
		return 0;
	}
	if (quadrant == 2) {
		switch (funct3) {
		case 2: /* C.LWSP rd, rd != 0 */
		case 3: /* C.LDSP */
			op->store = false;
			op->width = funct3 == 2 ? 4 : 8;
			op->sign_extend = funct3 == 2;
			op->reg = (insn >> 7) & 31;
			if (!op->reg)
				return DUO_ENOTSUP; /* reserved encoding */
			return 0;
		case 6: /* C.SWSP rs2 */
		case 7: /* C.SDSP */
			op->store = true;
			op->width = funct3 == 6 ? 4 : 8;
			op->reg = (insn >> 2) & 31;
			return 0;
		default:
			return DUO_ENOTSUP;
		}
	}
	return DUO_ENOTSUP; /* quadrant 1 has no memory accesses */
}

int t1_decode_mmio(u32 insn, bool transformed, struct t1_mmio_op *op)
{
	if (transformed) {
		/* bit 0 set marks a transformed instruction; bit 1 clear: the original was 16-bit
		 */
		if (!(insn & 1))
			return DUO_ENOTSUP; /* 0, or a pseudoinstruction (implicit VS-stage access)
					     */
		op->len = (insn & 2) ? 4 : 2;
		return decode32(insn | 2, op);
	}
	if ((insn & 3) == 3) {
		op->len = 4;
		return decode32(insn, op);
	}
	op->len = 2;
	return decode16((u16)insn, op);
}
