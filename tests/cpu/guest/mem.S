/* mem.S - loads and stores of every width and sign, misaligned and page-straddling
 * accesses, LR/SC and every AMO, MMIO through the test device, and the access faults
 * for unmapped physical addresses, refused MMIO, MMIO atomics and MMIO fetches. */
#include "test.h"
#define DEV 0x10000000
TEST_BEGIN
	la s0, data
	li a0, 0x8877665544332211
	sd a0, 0(s0)
	lb a1, 7(s0)
	CHECK(1, a1, -0x78)
	lbu a1, 7(s0)
	CHECK(2, a1, 0x88)
	lh a1, 6(s0)
	CHECK(3, a1, 0xffffffffffff8877)
	lhu a1, 6(s0)
	CHECK(4, a1, 0x8877)
	lw a1, 4(s0)
	CHECK(5, a1, 0xffffffff88776655)
	lwu a1, 4(s0)
	CHECK(6, a1, 0x88776655)
	ld a1, 0(s0)
	CHECK(7, a1, 0x8877665544332211)
	/* misaligned inside a page */
	lw a1, 1(s0)
	CHECK(8, a1, 0x55443322)
	li a2, 0x0123456789abcdef
	sd a2, 8(s0)
	ld a1, 3(s0)
	CHECK(9, a1, 0xabcdef8877665544)
	sh a2, 5(s0)
	ld a1, 0(s0)
	CHECK(10, a1, 0x88cdef5544332211)
	sw a2, 13(s0)
	lwu a1, 13(s0)
	CHECK(11, a1, 0x89abcdef)
	/* straddling two pages */
	la s1, page2
	li a0, 0x1122334455667788
	sd a0, -3(s1)
	lbu a1, -3(s1)
	CHECK(12, a1, 0x88)
	lbu a1, 4(s1)
	CHECK(13, a1, 0x11)
	ld a1, -3(s1)
	CHECK(14, a1, 0x1122334455667788)
	lw a1, -2(s1)
	CHECK(15, a1, 0x44556677)
	lh a1, -1(s1)
	CHECK(16, a1, 0x5566)
	/* AMOs */
	la s2, atom
	li a0, 10
	sd a0, 0(s2)
	li a1, 5
	amoadd.d a2, a1, (s2)
	CHECK(17, a2, 10)
	ld a3, 0(s2)
	CHECK(18, a3, 15)
	li a1, -1
	amoswap.w a2, a1, (s2)
	CHECK(19, a2, 15)
	ld a3, 0(s2)
	CHECK(20, a3, 0xffffffff)
	amoadd.w a2, zero, (s2)
	CHECK(21, a2, -1)
	li a1, 0xf0
	amoand.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(22, a3, 0xf0)
	li a1, 0x0f
	amoor.d a2, a1, (s2)
	amoxor.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(23, a3, 0xf0)
	li a1, -7
	amomin.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(24, a3, -7)
	li a1, 3
	amomax.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(25, a3, 3)
	li a1, -1
	amominu.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(26, a3, 3)
	amomaxu.d a2, a1, (s2)
	ld a3, 0(s2)
	CHECK(27, a3, -1)
	sd zero, 0(s2)
	li a1, -2
	amomin.w a2, a1, (s2) /* signed 32-bit compare */
	lw a3, 0(s2)
	CHECK(28, a3, -2)
	li a1, 5
	amomaxu.w a2, a1, (s2)
	CHECK(29, a2, -2)
	lw a3, 0(s2)
	CHECK(30, a3, -2)
	/* LR/SC */
	li a0, 100
	sd a0, 0(s2)
	lr.d a1, (s2)
	CHECK(31, a1, 100)
	addi a1, a1, 1
	sc.d a2, a1, (s2)
	CHECK(32, a2, 0)
	ld a3, 0(s2)
	CHECK(33, a3, 101)
	sc.d a2, a1, (s2) /* reservation gone */
	CHECK(34, a2, 1)
	lr.w a1, (s2)
	addi t0, s2, 8
	sc.w a2, a1, (t0) /* other address: fails */
	CHECK(35, a2, 1)
	lr.w a1, (s2)
	sw a1, 0(s2)
	/* a trap in between kills the reservation */
	la s8, 1f
	.word 0xffffffff
1:	sc.w a2, a1, (s2)
	CHECK(36, a2, 1)
	lr.d a1, (s2)
	sc.d a2, zero, (s2)
	CHECK(37, a2, 0)
	/* misaligned atomics trap */
	EXPECT_TRAP(38, 6, addi t0, s2, 4; amoadd.d a2, a1, (t0))
	addi t0, s2, 4
	CHECKR(39, s10, t0)
	EXPECT_TRAP(40, 4, addi t0, s2, 2; lr.w a1, (t0))
	EXPECT_TRAP(41, 6, addi t0, s2, 1; sc.d a1, a1, (t0))
	/* MMIO */
	li s3, DEV
	ld a1, 0(s3)
	CHECK(42, a1, 0x1122334455667788)
	lwu a1, 16(s3)
	CHECK(43, a1, 0x55667798)
	lb a1, 8(s3)
	CHECK(44, a1, -0x70)
	sw a1, 32(s3)
	EXPECT_TRAP(45, 5, li t0, DEV + 0x800; ld a1, 0(t0))
	li t0, DEV + 0x800
	CHECKR(46, s10, t0)
	EXPECT_TRAP(47, 7, li t0, DEV + 0x808; sd a1, 0(t0))
	EXPECT_TRAP(48, 5, li t0, 0x1000; lw a1, 0(t0))
	EXPECT_TRAP(49, 7, li t0, 0x1000; sb a1, 0(t0))
	EXPECT_TRAP(50, 7, amoadd.w a1, a1, (s3))
	EXPECT_TRAP(51, 5, lr.d a1, (s3))
	EXPECT_TRAP(52, 1, li t0, DEV; jalr t0)
	CHECK(53, s10, DEV)
	/* just past the end of RAM (64 MiB) */
	EXPECT_TRAP(54, 5, li t0, 0x84000000 - 4; ld a1, 0(t0))
	EXPECT_TRAP(55, 5, li t0, 0xffffffffffffffff; lb a1, 0(t0))
TEST_END

	.data
	.balign 16
data:	.skip 64
atom:	.skip 64
	.balign 4096
	.skip 4096
page2:	.skip 64
