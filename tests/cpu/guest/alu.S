/* alu.S - RV64I/M ALU, branches, jumps, W-ops, and Zba/Zbb, checked against values
 * worked out by hand from the unprivileged spec. */
#include "test.h"
TEST_BEGIN
	li a0, 5
	li a1, -3
	add a2, a0, a1
	CHECK(1, a2, 2)
	sub a2, a1, a0
	CHECK(2, a2, -8)
	li a3, 0x7fffffff
	addiw a4, a3, 1
	CHECK(3, a4, -0x80000000)
	addw a4, a3, a3
	CHECK(4, a4, -2)
	slli a4, a0, 62
	CHECK(5, a4, 0x4000000000000000)
	srai a4, a1, 1
	CHECK(6, a4, -2)
	srli a4, a1, 60
	CHECK(7, a4, 0xf)
	sraiw a4, a3, 31
	CHECK(8, a4, 0)
	li a5, 0x80000000
	sraiw a4, a5, 4
	CHECK(9, a4, 0xfffffffff8000000)
	srliw a4, a5, 4
	CHECK(10, a4, 0x08000000)
	li a6, 65
	sll a4, a0, a6 /* shift amount mod 64 */
	CHECK(11, a4, 10)
	sllw a4, a0, a6 /* mod 32 */
	CHECK(12, a4, 10)
	slt a4, a1, a0
	CHECK(13, a4, 1)
	sltu a4, a1, a0
	CHECK(14, a4, 0)
	slti a4, a1, -2
	CHECK(15, a4, 1)
	sltiu a4, a0, -1 /* imm sign-extends then compares unsigned */
	CHECK(16, a4, 1)
	xori a4, a0, -1
	CHECK(17, a4, -6)
	lui a4, 0x80000
	CHECK(18, a4, 0xffffffff80000000)
1:	auipc a4, 0
	la a5, 1b
	sub a4, a4, a5
	CHECK(19, a4, 0)
	/* M extension */
	li a0, -7
	li a1, 2
	mul a2, a0, a1
	CHECK(20, a2, -14)
	div a2, a0, a1
	CHECK(21, a2, -3)
	rem a2, a0, a1
	CHECK(22, a2, -1)
	divu a2, a0, a1
	CHECK(23, a2, 0x7ffffffffffffffc)
	remu a2, a0, a1
	CHECK(24, a2, 1)
	div a2, a0, zero
	CHECK(25, a2, -1)
	rem a2, a0, zero
	CHECK(26, a2, -7)
	divu a2, a0, zero
	CHECK(27, a2, -1)
	li a3, 0x8000000000000000
	li a4, -1
	div a2, a3, a4
	CHECK(28, a2, 0x8000000000000000)
	rem a2, a3, a4
	CHECK(29, a2, 0)
	mulh a2, a3, a4
	CHECK(30, a2, 0)
	mulhu a2, a4, a4
	CHECK(31, a2, -2)
	mulhsu a2, a4, a4
	CHECK(32, a2, -1)
	li a5, 0x80000000
	divw a2, a5, a4
	CHECK(33, a2, -0x80000000)
	remw a2, a5, a4
	CHECK(34, a2, 0)
	divuw a2, a5, zero
	CHECK(35, a2, -1)
	remuw a2, a5, zero
	CHECK(36, a2, -0x80000000)
	mulw a2, a5, a1
	CHECK(37, a2, 0)
	li a0, 0x12345678
	li a1, 0x10
	mulw a2, a0, a1
	CHECK(38, a2, 0x23456780)
	/* branches and jumps */
	li a0, -1
	li a1, 1
	li a2, 0
	blt a0, a1, 2f
	j fail
2:	bltu a0, a1, fail
	bge a1, a0, 3f
	j fail
3:	bgeu a1, a0, fail
	beq a0, a1, fail
	bne a0, a0, fail
	jal ra, 4f
5:	j 6f
4:	la a3, 5b
	CHECKR(39, ra, a3)
	jalr zero, 0(ra)
6:	la a0, 7f
	addi a0, a0, 1 /* jalr clears bit 0 */
	jalr a1, 0(a0)
71:	j fail
7:	la a2, 71b
	CHECKR(40, a1, a2)
	/* rd == rs1 for jalr: the target uses the old value */
	la t0, 8f
	jalr t0, 0(t0)
	j fail
8:	/* x0 stays zero */
	addi zero, zero, 5
	CHECK(41, zero, 0)
	lui zero, 1
	CHECK(42, zero, 0)
	/* Zba */
	li a0, 0x100000003
	li a1, 10
	sh1add a2, a0, a1
	CHECK(43, a2, 0x200000010)
	sh2add a2, a0, a1
	CHECK(44, a2, 0x400000016)
	sh3add a2, a0, a1
	CHECK(45, a2, 0x800000022)
	add.uw a2, a0, a1
	CHECK(46, a2, 13)
	sh3add.uw a2, a0, a1
	CHECK(47, a2, 34)
	li a0, 0xffffffff80000001
	slli.uw a2, a0, 4
	CHECK(48, a2, 0x800000010)
	/* Zbb */
	li a0, 0xff00ff00ff00ff00
	li a1, 0x0ff00ff00ff00ff0
	andn a2, a0, a1
	CHECK(49, a2, 0xf000f000f000f000)
	orn a2, zero, a1
	CHECK(50, a2, 0xf00ff00ff00ff00f)
	xnor a2, a0, a1
	CHECK(51, a2, 0x0f0f0f0f0f0f0f0f)
	li a0, 0x0000100000000000
	clz a2, a0
	CHECK(52, a2, 19)
	ctz a2, a0
	CHECK(53, a2, 44)
	clz a2, zero
	CHECK(54, a2, 64)
	ctzw a2, a0
	CHECK(55, a2, 32)
	li a0, 0x00010000
	clzw a2, a0
	CHECK(56, a2, 15)
	li a0, 0xf0f0000000000007
	cpop a2, a0
	CHECK(57, a2, 11)
	cpopw a2, a0
	CHECK(58, a2, 3)
	li a0, -5
	li a1, 3
	max a2, a0, a1
	CHECK(59, a2, 3)
	min a2, a0, a1
	CHECK(60, a2, -5)
	maxu a2, a0, a1
	CHECK(61, a2, -5)
	minu a2, a0, a1
	CHECK(62, a2, 3)
	li a0, 0x1234ff80
	sext.b a2, a0
	CHECK(63, a2, -128)
	sext.h a2, a0
	CHECK(64, a2, -128)
	zext.h a2, a0
	CHECK(65, a2, 0xff80)
	li a0, 0x8000000000000001
	rori a2, a0, 1
	CHECK(66, a2, 0xc000000000000000)
	li a1, 4
	rol a2, a0, a1
	CHECK(67, a2, 0x18)
	ror a2, a0, a1
	CHECK(68, a2, 0x1800000000000000)
	li a0, 0x80000001
	rolw a2, a0, a1
	CHECK(69, a2, 0x18)
	rorw a2, a0, a1
	CHECK(70, a2, 0x18000000)
	roriw a2, a0, 1
	CHECK(71, a2, -0x40000000)
	li a0, 0x0001000000ff0000
	orc.b a2, a0
	CHECK(72, a2, 0x00ff000000ff0000)
	li a0, 0x0102030405060708
	rev8 a2, a0
	CHECK(73, a2, 0x0807060504030201)
TEST_END
