/*
 * decode_rvc.c - the compressed (RVC, RV64C + the D-extension compressed loads/stores)
 * decoder of the type-2 emulator. Each 16-bit encoding expands to the same internal op
 * its 32-bit equivalent decodes to, with len = 2 and raw = the 16-bit encoding (the
 * stval of an illegal-instruction trap). Reserved encodings are illegal; HINTs (writes
 * to x0, zero shifts) execute as no-ops.
 */
#include "rv_internal.h"

static inline u32 b(u32 v, int hi, int lo)
{
	return (v >> lo) & ((1U << (hi - lo + 1)) - 1);
}

static inline s32 sext(u32 v, int nbits)
{
	return (s32)(v << (32 - nbits)) >> (32 - nbits);
}

static void set(struct rv_insn *d, enum rv_op op, u32 rd, u32 rs1, u32 rs2, s32 imm)
{
	d->op = (u8)op;
	d->rd = (u8)rd;
	d->rs1 = (u8)rs1;
	d->rs2 = (u8)rs2;
	d->imm = imm;
}

/* An ALU op whose result goes to x0 is a HINT: run it as a no-op. */
static void set_alu(struct rv_insn *d, enum rv_op op, u32 rd, u32 rs1, u32 rs2, s32 imm)
{
	set(d, rd ? op : RV_OP_NOP, rd, rs1, rs2, imm);
}

static void q0(u32 r, struct rv_insn *d)
{
	u32 rdp = b(r, 4, 2) + 8, rs1p = b(r, 9, 7) + 8;
	u32 off_d = (b(r, 12, 10) << 3) | (b(r, 6, 5) << 6); /* C.LD/C.SD/C.FLD/C.FSD */
	u32 off_w = (b(r, 12, 10) << 3) | (b(r, 6, 6) << 2) | (b(r, 5, 5) << 6); /* C.LW/C.SW */
	switch (b(r, 15, 13)) {
	case 0: { /* C.ADDI4SPN */
		u32 imm = (b(r, 12, 11) << 4) | (b(r, 10, 7) << 6) | (b(r, 6, 6) << 2) |
			  (b(r, 5, 5) << 3);
		if (imm)
			set(d, RV_OP_ADDI, rdp, 2, 0, (s32)imm);
		return;
	}
	case 1:
		set(d, RV_OP_FLD, rdp, rs1p, 0, (s32)off_d);
		return;
	case 2:
		set(d, RV_OP_LW, rdp, rs1p, 0, (s32)off_w);
		return;
	case 3:
		set(d, RV_OP_LD, rdp, rs1p, 0, (s32)off_d);
		return;
	case 5:
		set(d, RV_OP_FSD, 0, rs1p, rdp, (s32)off_d);
		return;
	case 6:
		set(d, RV_OP_SW, 0, rs1p, rdp, (s32)off_w);
		return;
	case 7:
		set(d, RV_OP_SD, 0, rs1p, rdp, (s32)off_d);
		return;
	}
}

static void q1_alu(u32 r, struct rv_insn *d)
{
	u32 rd = b(r, 9, 7) + 8, rs2 = b(r, 4, 2) + 8;
	u32 shamt = (b(r, 12, 12) << 5) | b(r, 6, 2);
	switch (b(r, 11, 10)) {
	case 0:
		set(d, RV_OP_SRLI, rd, rd, 0, (s32)shamt);
		return;
	case 1:
		set(d, RV_OP_SRAI, rd, rd, 0, (s32)shamt);
		return;
	case 2:
		set(d, RV_OP_ANDI, rd, rd, 0, sext(shamt, 6));
		return;
	}
	if (!b(r, 12, 12)) {
		static const u8 ops[4] = { RV_OP_SUB, RV_OP_XOR, RV_OP_OR, RV_OP_AND };
		set(d, ops[b(r, 6, 5)], rd, rd, rs2, 0);
	} else if (b(r, 6, 5) == 0) {
		set(d, RV_OP_SUBW, rd, rd, rs2, 0);
	} else if (b(r, 6, 5) == 1) {
		set(d, RV_OP_ADDW, rd, rd, rs2, 0);
	}
}

static void q1(u32 r, struct rv_insn *d)
{
	u32 rd = b(r, 11, 7);
	s32 imm6 = sext((b(r, 12, 12) << 5) | b(r, 6, 2), 6);
	switch (b(r, 15, 13)) {
	case 0: /* C.ADDI, C.NOP */
		set_alu(d, RV_OP_ADDI, rd, rd, 0, imm6);
		return;
	case 1: /* C.ADDIW */
		if (rd)
			set(d, RV_OP_ADDIW, rd, rd, 0, imm6);
		return;
	case 2: /* C.LI */
		set_alu(d, RV_OP_LI, rd, 0, 0, imm6);
		return;
	case 3:
		if (rd == 2) { /* C.ADDI16SP */
			u32 v = (b(r, 12, 12) << 9) | (b(r, 6, 6) << 4) | (b(r, 5, 5) << 6) |
				(b(r, 4, 3) << 7) | (b(r, 2, 2) << 5);
			if (v)
				set(d, RV_OP_ADDI, 2, 2, 0, sext(v, 10));
		} else if (imm6) { /* C.LUI */
			set_alu(d, RV_OP_LI, rd, 0, 0, imm6 * 4096);
		}
		return;
	case 4:
		q1_alu(r, d);
		return;
	case 5: { /* C.J */
		u32 v = (b(r, 12, 12) << 11) | (b(r, 11, 11) << 4) | (b(r, 10, 9) << 8) |
			(b(r, 8, 8) << 10) | (b(r, 7, 7) << 6) | (b(r, 6, 6) << 7) |
			(b(r, 5, 3) << 1) | (b(r, 2, 2) << 5);
		set(d, RV_OP_JAL, 0, 0, 0, sext(v, 12));
		return;
	}
	case 6:
	case 7: { /* C.BEQZ, C.BNEZ */
		u32 v = (b(r, 12, 12) << 8) | (b(r, 11, 10) << 3) | (b(r, 6, 5) << 6) |
			(b(r, 4, 3) << 1) | (b(r, 2, 2) << 5);
		set(d, b(r, 15, 13) == 6 ? RV_OP_BEQ : RV_OP_BNE, 0, b(r, 9, 7) + 8, 0, sext(v, 9));
		return;
	}
	}
}

static void q2(u32 r, struct rv_insn *d)
{
	u32 rd = b(r, 11, 7), rs2 = b(r, 6, 2);
	u32 sp_d = (b(r, 12, 12) << 5) | (b(r, 6, 5) << 3) | (b(r, 4, 2) << 6);
	u32 sp_w = (b(r, 12, 12) << 5) | (b(r, 6, 4) << 2) | (b(r, 3, 2) << 6);
	u32 ss_d = (b(r, 12, 10) << 3) | (b(r, 9, 7) << 6);
	u32 ss_w = (b(r, 12, 9) << 2) | (b(r, 8, 7) << 6);
	switch (b(r, 15, 13)) {
	case 0: /* C.SLLI */
		set_alu(d, RV_OP_SLLI, rd, rd, 0, (s32)((b(r, 12, 12) << 5) | rs2));
		return;
	case 1:
		set(d, RV_OP_FLD, rd, 2, 0, (s32)sp_d);
		return;
	case 2:
		if (rd)
			set(d, RV_OP_LW, rd, 2, 0, (s32)sp_w);
		return;
	case 3:
		if (rd)
			set(d, RV_OP_LD, rd, 2, 0, (s32)sp_d);
		return;
	case 4:
		if (!b(r, 12, 12)) {
			if (rs2 == 0) { /* C.JR */
				if (rd)
					set(d, RV_OP_JALR, 0, rd, 0, 0);
			} else { /* C.MV */
				set_alu(d, RV_OP_MV, rd, rs2, 0, 0);
			}
		} else {
			if (rd == 0 && rs2 == 0)
				set(d, RV_OP_EBREAK, 0, 0, 0, 0);
			else if (rs2 == 0)
				set(d, RV_OP_JALR, 1, rd, 0, 0);
			else
				set_alu(d, RV_OP_ADD, rd, rd, rs2, 0);
		}
		return;
	case 5:
		set(d, RV_OP_FSD, 0, 2, rs2, (s32)ss_d);
		return;
	case 6:
		set(d, RV_OP_SW, 0, 2, rs2, (s32)ss_w);
		return;
	case 7:
		set(d, RV_OP_SD, 0, 2, rs2, (s32)ss_d);
		return;
	}
}

void rv_decode16(u16 raw, struct rv_insn *d)
{
	memset(d, 0, sizeof(*d));
	d->op = RV_OP_ILLEGAL;
	d->len = 2;
	d->raw = raw;
	switch (raw & 3) {
	case 0:
		q0(raw, d);
		break;
	case 1:
		q1(raw, d);
		break;
	case 2:
		q2(raw, d);
		break;
	}
}
