/*
 * decode.c - the 32-bit instruction decoder of the type-2 emulator (RV64IMAFD, Zicsr,
 * Zifencei, Zba, Zbb). It turns an encoding into struct rv_insn once; the interpreter
 * (exec.c) then runs the decoded form from the decoded-page cache. Everything the
 * unprivileged and privileged specs leave unassigned (and everything that needs an
 * extension or mode we lack: H, M-mode, Zbs, ...) becomes RV_OP_ILLEGAL, which traps with
 * stval = the encoding. Writes to x0 from side-effect-free ALU ops become RV_OP_NOP.
 */
#include "rv_internal.h"

static inline u32 bits(u32 v, int hi, int lo)
{
	return (v >> lo) & ((1U << (hi - lo + 1)) - 1);
}

static inline s32 sext(u32 v, int nbits)
{
	return (s32)(v << (32 - nbits)) >> (32 - nbits);
}

static s32 imm_i(u32 r)
{
	return (s32)r >> 20;
}

static s32 imm_s(u32 r)
{
	return sext((bits(r, 31, 25) << 5) | bits(r, 11, 7), 12);
}

static s32 imm_b(u32 r)
{
	u32 v = (bits(r, 31, 31) << 12) | (bits(r, 7, 7) << 11) | (bits(r, 30, 25) << 5) |
		(bits(r, 11, 8) << 1);
	return sext(v, 13);
}

static s32 imm_j(u32 r)
{
	u32 v = (bits(r, 31, 31) << 20) | (bits(r, 19, 12) << 12) | (bits(r, 20, 20) << 11) |
		(bits(r, 30, 21) << 1);
	return sext(v, 21);
}

/* An ALU result nobody can see: keep the op only when rd != 0. */
static void alu(struct rv_insn *d, enum rv_op op)
{
	d->op = d->rd ? op : RV_OP_NOP;
}

static void dec_op_imm(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12), f6 = bits(r, 31, 26), f12 = bits(r, 31, 20);
	d->imm = imm_i(r);
	switch (f3) {
	case 0:
		alu(d, d->rs1 == 0 ? RV_OP_LI : RV_OP_ADDI);
		if (d->op == RV_OP_ADDI && d->imm == 0)
			d->op = RV_OP_MV;
		return;
	case 2:
		alu(d, RV_OP_SLTI);
		return;
	case 3:
		alu(d, RV_OP_SLTIU);
		return;
	case 4:
		alu(d, RV_OP_XORI);
		return;
	case 6:
		alu(d, RV_OP_ORI);
		return;
	case 7:
		alu(d, RV_OP_ANDI);
		return;
	case 1:
		d->imm = bits(r, 25, 20);
		if (f6 == 0)
			alu(d, RV_OP_SLLI);
		else if (f12 == 0x600)
			alu(d, RV_OP_CLZ);
		else if (f12 == 0x601)
			alu(d, RV_OP_CTZ);
		else if (f12 == 0x602)
			alu(d, RV_OP_CPOP);
		else if (f12 == 0x604)
			alu(d, RV_OP_SEXT_B);
		else if (f12 == 0x605)
			alu(d, RV_OP_SEXT_H);
		return;
	case 5:
		d->imm = bits(r, 25, 20);
		if (f6 == 0)
			alu(d, RV_OP_SRLI);
		else if (f6 == 0x10)
			alu(d, RV_OP_SRAI);
		else if (f6 == 0x18)
			alu(d, RV_OP_RORI);
		else if (f12 == 0x287)
			alu(d, RV_OP_ORC_B);
		else if (f12 == 0x6b8)
			alu(d, RV_OP_REV8);
		return;
	}
}

static void dec_op_imm32(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12), f7 = bits(r, 31, 25), f12 = bits(r, 31, 20);
	switch (f3) {
	case 0:
		d->imm = imm_i(r);
		alu(d, RV_OP_ADDIW);
		return;
	case 1:
		d->imm = bits(r, 24, 20);
		if (f7 == 0)
			alu(d, RV_OP_SLLIW);
		else if (bits(r, 31, 26) == 0x02) {
			d->imm = bits(r, 25, 20);
			alu(d, RV_OP_SLLI_UW);
		} else if (f12 == 0x600)
			alu(d, RV_OP_CLZW);
		else if (f12 == 0x601)
			alu(d, RV_OP_CTZW);
		else if (f12 == 0x602)
			alu(d, RV_OP_CPOPW);
		return;
	case 5:
		d->imm = bits(r, 24, 20);
		if (f7 == 0)
			alu(d, RV_OP_SRLIW);
		else if (f7 == 0x20)
			alu(d, RV_OP_SRAIW);
		else if (f7 == 0x30)
			alu(d, RV_OP_RORIW);
		return;
	}
}

/* OP (0x33): index by funct7 group and funct3. */
static void dec_op(u32 r, struct rv_insn *d)
{
	static const u8 base[8] = { RV_OP_ADD, RV_OP_SLL, RV_OP_SLT, RV_OP_SLTU,
				    RV_OP_XOR, RV_OP_SRL, RV_OP_OR,  RV_OP_AND };
	static const u8 mul[8] = { RV_OP_MUL, RV_OP_MULH, RV_OP_MULHSU, RV_OP_MULHU,
				   RV_OP_DIV, RV_OP_DIVU, RV_OP_REM,	RV_OP_REMU };
	u32 f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);
	u8 op = RV_OP_ILLEGAL;
	switch (f7) {
	case 0x00:
		op = base[f3];
		break;
	case 0x01:
		op = mul[f3];
		break;
	case 0x20:
		op = f3 == 0   ? RV_OP_SUB
		     : f3 == 5 ? RV_OP_SRA
		     : f3 == 4 ? RV_OP_XNOR
		     : f3 == 6 ? RV_OP_ORN
		     : f3 == 7 ? RV_OP_ANDN
			       : RV_OP_ILLEGAL;
		break;
	case 0x10:
		op = f3 == 2   ? RV_OP_SH1ADD
		     : f3 == 4 ? RV_OP_SH2ADD
		     : f3 == 6 ? RV_OP_SH3ADD
			       : RV_OP_ILLEGAL;
		break;
	case 0x05:
		op = f3 == 4   ? RV_OP_MIN
		     : f3 == 5 ? RV_OP_MINU
		     : f3 == 6 ? RV_OP_MAX
		     : f3 == 7 ? RV_OP_MAXU
			       : RV_OP_ILLEGAL;
		break;
	case 0x30:
		op = f3 == 1 ? RV_OP_ROL : f3 == 5 ? RV_OP_ROR : RV_OP_ILLEGAL;
		break;
	}
	if (op != RV_OP_ILLEGAL)
		alu(d, op);
}

static void dec_op32(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);
	u8 op = RV_OP_ILLEGAL;
	switch (f7) {
	case 0x00:
		op = f3 == 0   ? RV_OP_ADDW
		     : f3 == 1 ? RV_OP_SLLW
		     : f3 == 5 ? RV_OP_SRLW
			       : RV_OP_ILLEGAL;
		break;
	case 0x20:
		op = f3 == 0 ? RV_OP_SUBW : f3 == 5 ? RV_OP_SRAW : RV_OP_ILLEGAL;
		break;
	case 0x01:
		op = f3 == 0   ? RV_OP_MULW
		     : f3 == 4 ? RV_OP_DIVW
		     : f3 == 5 ? RV_OP_DIVUW
		     : f3 == 6 ? RV_OP_REMW
		     : f3 == 7 ? RV_OP_REMUW
			       : RV_OP_ILLEGAL;
		break;
	case 0x04:
		if (f3 == 0)
			op = RV_OP_ADD_UW;
		else if (f3 == 4 && d->rs2 == 0)
			op = RV_OP_ZEXT_H;
		break;
	case 0x10:
		op = f3 == 2   ? RV_OP_SH1ADD_UW
		     : f3 == 4 ? RV_OP_SH2ADD_UW
		     : f3 == 6 ? RV_OP_SH3ADD_UW
			       : RV_OP_ILLEGAL;
		break;
	case 0x30:
		op = f3 == 1 ? RV_OP_ROLW : f3 == 5 ? RV_OP_RORW : RV_OP_ILLEGAL;
		break;
	}
	if (op != RV_OP_ILLEGAL)
		alu(d, op);
}

static void dec_system(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12);
	if (f3 == 0) {
		if (r == 0x00000073)
			d->op = RV_OP_ECALL;
		else if (r == 0x00100073)
			d->op = RV_OP_EBREAK;
		else if (r == 0x10200073)
			d->op = RV_OP_SRET;
		else if (r == 0x10500073)
			d->op = RV_OP_WFI;
		else if ((r & 0xfe007fff) == 0x12000073)
			d->op = RV_OP_SFENCE_VMA;
		return;
	}
	if (f3 == 4)
		return; /* hypervisor loads/stores: no H extension */
	d->op = RV_OP_CSR;
	d->aux = (u8)f3;
	d->imm = (s32)bits(r, 31, 20);
}

static void dec_amo(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12), f5 = bits(r, 31, 27);
	bool w = f3 == 2;
	if (f3 != 2 && f3 != 3)
		return;
	d->aux = (u8)f5;
	switch (f5) {
	case 0x02:
		if (d->rs2 == 0)
			d->op = w ? RV_OP_LR_W : RV_OP_LR_D;
		return;
	case 0x03:
		d->op = w ? RV_OP_SC_W : RV_OP_SC_D;
		return;
	case 0x00:
	case 0x01:
	case 0x04:
	case 0x08:
	case 0x0c:
	case 0x10:
	case 0x14:
	case 0x18:
	case 0x1c:
		d->op = w ? RV_OP_AMO_W : RV_OP_AMO_D;
		return;
	}
}

/* OP-FP and the four FMA majors: checked in detail when executed (fpu.c), because
 * legality depends on frm at run time. Formats other than S and D are illegal here. */
static void dec_fp(u32 r, struct rv_insn *d)
{
	static const u8 arith_d[4] = { RV_OP_FADD_D, RV_OP_FSUB_D, RV_OP_FMUL_D, RV_OP_FDIV_D };
	static const u8 fma_d[4] = { RV_OP_FMADD_D, RV_OP_FMSUB_D, RV_OP_FNMSUB_D, RV_OP_FNMADD_D };
	u32 opc = bits(r, 6, 0);
	if (bits(r, 26, 25) > 1)
		return;
	d->op = RV_OP_FP;
	d->aux = (u8)bits(r, 14, 12);
	d->imm = (s32)bits(r, 31, 27); /* rs3 of the fused ops */
	/* Double-precision arithmetic gets its own ops: exec.c has a quick path for them. */
	if (bits(r, 26, 25) != 1)
		return;
	if (opc == 0x53 && bits(r, 31, 27) <= 3)
		d->op = arith_d[bits(r, 31, 27)];
	else if (opc != 0x53)
		d->op = fma_d[(opc - 0x43) >> 2];
}

void rv_decode32(u32 r, struct rv_insn *d)
{
	u32 f3 = bits(r, 14, 12);
	memset(d, 0, sizeof(*d));
	d->op = RV_OP_ILLEGAL;
	d->len = 4;
	d->raw = r;
	d->rd = (u8)bits(r, 11, 7);
	d->rs1 = (u8)bits(r, 19, 15);
	d->rs2 = (u8)bits(r, 24, 20);
	switch (bits(r, 6, 0)) {
	case 0x37:
		d->imm = (s32)(r & 0xfffff000);
		alu(d, RV_OP_LUI);
		return;
	case 0x17:
		d->imm = (s32)(r & 0xfffff000);
		alu(d, RV_OP_AUIPC);
		return;
	case 0x6f:
		d->imm = imm_j(r);
		d->op = RV_OP_JAL;
		return;
	case 0x67:
		d->imm = imm_i(r);
		if (f3 == 0)
			d->op = RV_OP_JALR;
		return;
	case 0x63: {
		static const u8 br[8] = { RV_OP_BEQ, RV_OP_BNE, RV_OP_ILLEGAL, RV_OP_ILLEGAL,
					  RV_OP_BLT, RV_OP_BGE, RV_OP_BLTU,    RV_OP_BGEU };
		d->imm = imm_b(r);
		d->op = br[f3];
		return;
	}
	case 0x03: {
		static const u8 ld[8] = { RV_OP_LB,  RV_OP_LH,	RV_OP_LW,  RV_OP_LD,
					  RV_OP_LBU, RV_OP_LHU, RV_OP_LWU, RV_OP_ILLEGAL };
		d->imm = imm_i(r);
		d->op = ld[f3];
		return;
	}
	case 0x23: {
		static const u8 st[8] = {
			RV_OP_SB,      RV_OP_SH,      RV_OP_SW,	     RV_OP_SD,
			RV_OP_ILLEGAL, RV_OP_ILLEGAL, RV_OP_ILLEGAL, RV_OP_ILLEGAL
		};
		d->imm = imm_s(r);
		d->op = st[f3];
		return;
	}
	case 0x13:
		dec_op_imm(r, d);
		return;
	case 0x1b:
		dec_op_imm32(r, d);
		return;
	case 0x33:
		dec_op(r, d);
		return;
	case 0x3b:
		dec_op32(r, d);
		return;
	case 0x0f:
		if (f3 == 0)
			d->op = RV_OP_FENCE;
		else if (f3 == 1)
			d->op = RV_OP_FENCE_I;
		return;
	case 0x73:
		dec_system(r, d);
		return;
	case 0x2f:
		dec_amo(r, d);
		return;
	case 0x07:
		d->imm = imm_i(r);
		if (f3 == 2)
			d->op = RV_OP_FLW;
		else if (f3 == 3)
			d->op = RV_OP_FLD;
		return;
	case 0x27:
		d->imm = imm_s(r);
		if (f3 == 2)
			d->op = RV_OP_FSW;
		else if (f3 == 3)
			d->op = RV_OP_FSD;
		return;
	case 0x43:
	case 0x47:
	case 0x4b:
	case 0x4f:
	case 0x53:
		dec_fp(r, d);
		return;
	}
}
