/* rvc.S - every RV64C instruction (and the D-extension compressed loads/stores) with
 * its result checked, plus the reserved encodings that must be illegal. */
#include "test.h"
TEST_BEGIN
	c.li a0, 5
	CHECK(1, a0, 5)
	c.addi a0, -3
	CHECK(2, a0, 2)
	c.lui a1, 1
	CHECK(3, a1, 0x1000)
	c.lui a1, 0xfffff
	CHECK(4, a1, 0xfffffffffffff000)
	li a0, 0x7fffffff
	c.addiw a0, 1
	CHECK(5, a0, -0x80000000)
	c.li a0, 3
	c.slli a0, 4
	CHECK(6, a0, 48)
	c.srli a0, 2
	CHECK(7, a0, 12)
	c.li a2, -16
	c.srai a2, 2
	CHECK(8, a2, -4)
	c.andi a2, 7
	CHECK(9, a2, 4)
	c.mv a3, a2
	CHECK(10, a3, 4)
	c.add a3, a2
	CHECK(11, a3, 8)
	c.sub a3, a2
	CHECK(12, a3, 4)
	c.li a4, 6
	c.xor a4, a3
	CHECK(13, a4, 2)
	c.or a4, a3
	CHECK(14, a4, 6)
	c.and a4, a3
	CHECK(15, a4, 4)
	li a5, 0x7fffffff
	li s1, 1
	c.addw a5, s1
	CHECK(16, a5, -0x80000000)
	c.subw a5, s1
	CHECK(17, a5, 0x7fffffff)
	/* stack-relative */
	mv s0, sp
	c.addi16sp sp, -64
	sub t0, s0, sp
	CHECK(18, t0, 64)
	c.addi4spn a0, sp, 16
	sub t0, a0, sp
	CHECK(19, t0, 16)
	li a1, 0x1122334455667788
	c.sdsp a1, 8(sp)
	c.ldsp a2, 8(sp)
	CHECKR(20, a2, a1)
	c.swsp a1, 4(sp)
	c.lwsp a2, 4(sp)
	CHECK(21, a2, 0x55667788)
	c.sd a1, 16(a0)
	c.ld a3, 16(a0)
	CHECKR(22, a3, a1)
	c.sw a1, 8(a0)
	c.lw a3, 8(a0)
	CHECK(23, a3, 0x55667788)
	fmv.d.x fa0, a1
	c.fsdsp fa0, 24(sp)
	c.fldsp fa1, 24(sp)
	fmv.x.d a4, fa1
	CHECKR(24, a4, a1)
	c.fsd fa0, 0(a0)
	c.fld fa2, 0(a0)
	fmv.x.d a4, fa2
	CHECKR(25, a4, a1)
	c.addi16sp sp, 64
	/* control flow */
	c.li a0, 0
	c.beqz a0, 1f
	j fail
1:	c.bnez a0, fail
	c.li a0, 1
	c.bnez a0, 2f
	j fail
2:	c.j 3f
	j fail
3:	la a1, 4f
	c.jr a1
	j fail
4:	la a1, 5f
	c.jalr a1
6:	j 7f
5:	la t0, 6b
	CHECKR(26, ra, t0)
	c.jr ra
7:	c.nop
	/* reserved encodings */
	EXPECT_TRAP(27, 2, .half 0x0000)   /* c.addi4spn imm 0 */
	EXPECT_TRAP(28, 2, .half 0x6101)   /* c.addi16sp imm 0 */
	EXPECT_TRAP(29, 2, .half 0x6501)   /* c.lui imm 0 */
	EXPECT_TRAP(30, 2, .half 0x2005)   /* c.addiw rd 0 */
	EXPECT_TRAP(31, 2, .half 0x8002)   /* c.jr x0 */
	EXPECT_TRAP(32, 2, .half 0x8000)   /* quadrant 0 funct3 100 */
	EXPECT_TRAP(33, 2, .half 0x4002)   /* c.lwsp rd 0 */
	EXPECT_TRAP(34, 2, .half 0x6002)   /* c.ldsp rd 0 */
	EXPECT_TRAP(35, 2, .half 0x9c41)   /* c.subw-space reserved (funct2 10) */
	CHECK(36, s10, 0x9c41)
	EXPECT_TRAP(37, 3, c.ebreak)
	/* HINTs execute as no-ops */
	.half 0x0005 /* c.addi x0, 1 */
	.half 0x4005 /* c.li x0, 1 */
	CHECK(38, zero, 0)
TEST_END
