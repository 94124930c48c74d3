/* smc_smp.S - run by four vCPUs at once on one VM (tests/cpu/test_shared.c), so they
 * share one decoded-code cache. Each hart, 300 times: rewrites the first instruction of
 * a two-instruction function in its own page (li a1, i & 0x3ff; ret), fence.i, calls it
 * and checks it ran the new instruction (check 1); then runs a hot ALU loop that the
 * translator takes. Every fence.i drops the code of all four (a flush while the others
 * run their chunks), so the loop's blocks are decoded, marked hot, translated and
 * chained again and again by four threads at once. At the end each hart stores its sum
 * at 0x80100000 + 8 * hartid; the host checks all four against its own computation. */
#include "test.h"
TEST_BEGIN
	mv s0, a0			/* hart id */
	li s3, 0x80200000		/* this hart's code page */
	slli t0, s0, 12
	add s3, s3, t0
	li t0, 0x00008067		/* ret */
	sw t0, 4(s3)
	li s1, 300			/* iterations */
	li s2, 0			/* sum */
1:	andi t0, s1, 0x3ff		/* li a1, s1 & 0x3ff (addi a1, zero, imm) */
	slli t0, t0, 20
	li t1, (11 << 7) | 0x13
	or t0, t0, t1
	sw t0, 0(s3)
	fence.i
	jalr ra, 0(s3)
	andi t2, s1, 0x3ff
	li gp, 1
	bne a1, t2, fail
	li t3, 50
2:	add s2, s2, t3
	xor s2, s2, s1
	slli t4, s2, 3
	srli t5, s2, 7
	add s2, t4, t5
	addi t3, t3, -1
	bnez t3, 2b
	addi s1, s1, -1
	bnez s1, 1b
	li t0, 0x80100000
	slli t1, s0, 3
	add t0, t0, t1
	sd s2, 0(t0)
TEST_END
