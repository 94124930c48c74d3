/* trap.S - exceptions (illegal encodings, ebreak, ecall from U, privilege violations,
 * counter gating), sret, sstatus/FS/SD, and interrupts: software, timer, priority,
 * vectored stvec, U-mode delivery with SIE=0, wfi wake-up with SIE=0. */
#include "test.h"
#define SSTATUS_SPP 0x100
#define SSTATUS_SPIE 0x20
#define SSTATUS_SIE 0x2
#define SIP_SSIP 0x2
#define SIP_STIP 0x20
#define SIE_ALL 0x222
#define INTR(n) (0x8000000000000000 | n)

/* enter U-mode at label `to` (SPP = 0, sret) */
#define TO_USER(to)                                                                        \
	li t0, SSTATUS_SPP;                                                                \
	csrc sstatus, t0;                                                                  \
	la t0, to;                                                                         \
	csrw sepc, t0;                                                                     \
	sret

TEST_BEGIN
	EXPECT_TRAP(1, 2, .word 0xffffffff)
	CHECK(2, s10, 0xffffffff)
	EXPECT_TRAP(3, 2, .half 0x0000)
	CHECK(4, s10, 0)
	EXPECT_TRAP(5, 2, csrr a0, mstatus)
	CHECK(6, s10, 0x300022f3 & 0xfffff07f | (10 << 7))
	EXPECT_TRAP(7, 2, csrw cycle, a0)   /* read-only */
	EXPECT_TRAP(8, 2, .word 0x7b200073) /* dret */
	EXPECT_TRAP(9, 2, .word 0x30200073) /* mret */
	EXPECT_TRAP(10, 2, csrr a0, 0x5c0)  /* unknown S-level CSR */
	EXPECT_TRAP(11, 3, ebreak)
	CHECKR(12, s10, s11)
	EXPECT_TRAP(13, 3, c.ebreak)
	/* ecall from U: cause 8, SPP = 0 */
	EXPECT_TRAP(14, 8, TO_USER(1f); 1: ecall)
	andi t0, s7, SSTATUS_SPP
	CHECK(15, t0, 0)
	/* U may not touch S CSRs, sret, wfi, sfence.vma */
	EXPECT_TRAP(16, 2, TO_USER(1f); 1: csrr a0, sstatus)
	EXPECT_TRAP(17, 2, TO_USER(1f); 1: sret)
	EXPECT_TRAP(18, 2, TO_USER(1f); 1: wfi)
	EXPECT_TRAP(19, 2, TO_USER(1f); 1: sfence.vma)
	/* counters from U follow scounteren (reset value 7) */
	la s8, 2f
	TO_USER(1f)
1:	rdtime a0
	rdcycle a1
	rdinstret a2
	ecall
2:	CHECK(20, s9, 8)
	csrw scounteren, 5 /* no TM */
	EXPECT_TRAP(21, 2, TO_USER(1f); 1: rdtime a0)
	csrr a0, scounteren
	CHECK(22, a0, 5)
	rdtime a0 /* S-mode is not gated */
	csrw scounteren, 7
	rdinstret a0
	rdinstret a1
	sub a0, a1, a0
	CHECK(23, a0, 1)
	/* sret: SIE <- SPIE, SPIE <- 1, SPP <- U */
	li t0, SSTATUS_SPP | SSTATUS_SPIE
	csrs sstatus, t0
	csrw sie, zero
	la t0, 1f
	csrw sepc, t0
	sret
1:	csrr a0, sstatus
	andi a0, a0, SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE
	CHECK(24, a0, SSTATUS_SPIE | SSTATUS_SIE)
	csrci sstatus, SSTATUS_SIE
	/* sstatus: UXL = 2, FS writable, SD follows FS == Dirty */
	csrr a0, sstatus
	srli a1, a0, 32
	andi a1, a1, 3
	CHECK(25, a1, 2)
	li t0, 0x6000
	csrs sstatus, t0
	csrr a0, sstatus
	srli a1, a0, 63
	CHECK(26, a1, 1)
	li t0, 0x6000
	csrc sstatus, t0
	EXPECT_TRAP(27, 2, fmv.w.x f0, zero)
	EXPECT_TRAP(28, 2, csrr a0, fcsr)
	li t0, 0x2000 /* Initial */
	csrs sstatus, t0
	fmv.w.x f0, zero
	csrr a0, sstatus
	srli a1, a0, 13
	andi a1, a1, 3
	CHECK(29, a1, 3)
	/* stvec keeps only modes 0 and 1; sepc bit 0 is zero */
	la t1, trap_handler
	ori t0, t1, 3
	csrw stvec, t0
	csrr a0, stvec
	ori t1, t1, 1
	CHECKR(30, a0, t1)
	la t0, trap_handler
	csrw stvec, t0
	li t0, 0x1235
	csrw sepc, t0
	csrr a0, sepc
	CHECK(31, a0, 0x1234)
	/* sip: only SSIP is writable */
	li t0, 0x222
	csrw sip, t0
	csrr a0, sip
	andi a0, a0, 0x202
	CHECK(32, a0, 2)
	csrw sip, zero
	/* software interrupt: taken right after the csrs that raises it */
	la t0, int_handler
	csrw stvec, t0
	li s5, 0
	csrw sie, SIP_SSIP
	csrsi sstatus, SSTATUS_SIE
	csrsi sip, SIP_SSIP
	mv a0, s5
	CHECK(33, a0, INTR(1))
	/* timer interrupt from stimecmp */
	li s5, 0
	li t0, SIP_STIP
	csrw sie, t0
	rdtime t0
	addi t0, t0, 50
	csrw stimecmp, t0
1:	beqz s5, 1b
	CHECK(34, s5, INTR(5))
	/* priority: SSI before STI when both pend */
	csrci sstatus, SSTATUS_SIE
	li s5, 0
	li s4, 0
	csrw stimecmp, zero
	csrsi sip, SIP_SSIP
	li t0, SIP_STIP | SIP_SSIP
	csrw sie, t0
	csrsi sstatus, SSTATUS_SIE
	nop
	CHECK(35, s4, INTR(1)) /* first one taken */
	CHECK(36, s5, INTR(5)) /* then the timer */
	/* vectored: interrupt n goes to base + 4n */
	csrci sstatus, SSTATUS_SIE
	la t0, vec_table
	ori t0, t0, 1
	csrw stvec, t0
	li s5, 0
	csrw sie, SIP_SSIP
	csrsi sip, SIP_SSIP
	csrsi sstatus, SSTATUS_SIE
	nop
	CHECK(37, s5, 0x5555)
	/* a U-mode hart takes interrupts even with SIE = 0 (and SPIE = 0: the handler's
	 * sret must not turn SIE back on while SSIP still pends) */
	li t0, SSTATUS_SIE | SSTATUS_SPIE
	csrc sstatus, t0
	la t0, trap_handler
	csrw stvec, t0
	csrw sie, SIP_SSIP
	csrsi sip, SIP_SSIP
	li s9, 0
	la s8, 2f
	TO_USER(1f)
1:	j 1b
2:	CHECK(38, s9, INTR(1))
	andi t0, s7, SSTATUS_SPP
	CHECK(39, t0, 0)
	csrci sip, SIP_SSIP
	/* wfi with SIE = 0 wakes on a pending enabled interrupt and traps nothing */
	li t0, SIP_STIP
	csrw sie, t0
	rdtime t0
	li t1, 100000
	add t0, t0, t1
	csrw stimecmp, t0
	li s9, 0
	wfi
	csrr a0, sip
	andi a0, a0, SIP_STIP
	CHECK(40, a0, SIP_STIP)
	CHECK(41, s9, 0)
	li t0, -1
	csrw stimecmp, t0
	csrr a0, sip
	andi a0, a0, SIP_STIP
	CHECK(42, a0, 0)
	csrw sie, zero
TEST_END

	.balign 4
int_handler:
	csrr t0, scause
	mv s4, s5
	mv s5, t0
	li t1, INTR(1)
	bne t0, t1, 1f
	csrci sip, SIP_SSIP
	sret
1:	li t1, -1
	csrw stimecmp, t1
	sret

	.balign 256
vec_table:
	.option push
	.option norvc
	j vec_bad
	j vec_ssi
	j vec_bad
	j vec_bad
	j vec_bad
	j vec_bad
	.option pop
vec_bad:
	li s5, 0xbad
	csrw sie, zero
	sret
vec_ssi:
	li s5, 0x5555
	csrci sip, SIP_SSIP
	sret
