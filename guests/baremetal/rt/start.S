/*
 * start.S - entry points and the trap vector of the bare-metal test-guest runtime.
 *
 * _start is where the SBI (OpenSBI, or duovisor's loader) enters the image: a0 = hart id,
 * a1 = DTB, S-mode, satp = 0. The first hart to arrive zeroes .bss, takes its stack and
 * calls rt_boot_main(); any other hart that enters here is parked. rt_secondary_entry is
 * the address given to HSM hart_start: a1 must be a start block from rt_start_opaque()
 * (magic, stack top, trap-stack top); a0/a1 reach rt_secondary_main() untouched.
 *
 * Traps run on a separate per-hart trap stack found through sscratch, so a trap taken
 * with a garbage sp (a hostile test resuming at a bad address) still gets a clean frame.
 * The frame layout is struct rt_frame in rt.h.
 */

#define FRAME_SIZE (36 * 8)
#define RT_START_MAGIC 0x5354415254424c4b /* "STARTBLK" */
#define RT_MAX_HARTS 8
#define RT_STACK_SIZE 16384
#define RT_TRAP_STACK_SIZE 8192

	.section .text.start, "ax"
	.globl _start
_start:
	csrw	sie, zero
	csrci	sstatus, 2
	la	t0, rt_trap_entry
	csrw	stvec, t0
	li	t0, RT_MAX_HARTS
	bgeu	a0, t0, park
	la	t0, boot_claim
	li	t1, 1
	amoswap.w.aq t1, t1, (t0)
	bnez	t1, park
	/* .bss: the loader should have zeroed it, but do not rely on that. */
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	mv	tp, a0
	/* sp = rt_stacks + (hart + 1) * RT_STACK_SIZE */
	addi	t0, a0, 1
	li	t1, RT_STACK_SIZE
	mul	t0, t0, t1
	la	sp, rt_stacks
	add	sp, sp, t0
	addi	t0, a0, 1
	li	t1, RT_TRAP_STACK_SIZE
	mul	t0, t0, t1
	la	t1, rt_trap_stacks
	add	t1, t1, t0
	csrw	sscratch, t1
	call	rt_boot_main
	j	park

	.globl rt_secondary_entry
rt_secondary_entry:
	csrw	sie, zero
	csrci	sstatus, 2
	la	t0, rt_trap_entry
	csrw	stvec, t0
	/* a1 must be a start block inside the image, 8-byte aligned, with the magic. */
	andi	t0, a1, 7
	bnez	t0, park
	la	t0, __image_start
	bltu	a1, t0, park
	la	t0, __image_end
	bgeu	a1, t0, park
	ld	t0, 0(a1)
	li	t1, RT_START_MAGIC
	bne	t0, t1, park
	ld	sp, 8(a1)
	ld	t0, 16(a1)
	csrw	sscratch, t0
	mv	tp, a0
	call	rt_secondary_main
park:
	csrw	sie, zero
	csrci	sstatus, 2
3:	wfi
	j	3b

/* ---- trap vector ---------------------------------------------------------------- */
	.align	4
	.globl rt_trap_entry
rt_trap_entry:
	csrrw	sp, sscratch, sp	/* sp = trap stack top, sscratch = interrupted sp */
	addi	sp, sp, -FRAME_SIZE
	sd	x1, 1*8(sp)
	sd	x3, 3*8(sp)
	sd	x4, 4*8(sp)
	sd	x5, 5*8(sp)
	sd	x6, 6*8(sp)
	sd	x7, 7*8(sp)
	sd	x8, 8*8(sp)
	sd	x9, 9*8(sp)
	sd	x10, 10*8(sp)
	sd	x11, 11*8(sp)
	sd	x12, 12*8(sp)
	sd	x13, 13*8(sp)
	sd	x14, 14*8(sp)
	sd	x15, 15*8(sp)
	sd	x16, 16*8(sp)
	sd	x17, 17*8(sp)
	sd	x18, 18*8(sp)
	sd	x19, 19*8(sp)
	sd	x20, 20*8(sp)
	sd	x21, 21*8(sp)
	sd	x22, 22*8(sp)
	sd	x23, 23*8(sp)
	sd	x24, 24*8(sp)
	sd	x25, 25*8(sp)
	sd	x26, 26*8(sp)
	sd	x27, 27*8(sp)
	sd	x28, 28*8(sp)
	sd	x29, 29*8(sp)
	sd	x30, 30*8(sp)
	sd	x31, 31*8(sp)
	csrr	t0, sscratch
	sd	t0, 2*8(sp)
	addi	t0, sp, FRAME_SIZE
	csrw	sscratch, t0		/* trap stack top again, for the next trap */
	csrr	t0, sepc
	sd	t0, 32*8(sp)
	csrr	t0, scause
	sd	t0, 33*8(sp)
	csrr	t0, stval
	sd	t0, 34*8(sp)
	csrr	t0, sstatus
	sd	t0, 35*8(sp)
	mv	a0, sp
	call	rt_trap
	ld	t0, 32*8(sp)
	csrw	sepc, t0
	ld	t0, 35*8(sp)
	csrw	sstatus, t0
	ld	x1, 1*8(sp)
	ld	x3, 3*8(sp)
	ld	x4, 4*8(sp)
	ld	x5, 5*8(sp)
	ld	x6, 6*8(sp)
	ld	x7, 7*8(sp)
	ld	x8, 8*8(sp)
	ld	x9, 9*8(sp)
	ld	x10, 10*8(sp)
	ld	x11, 11*8(sp)
	ld	x12, 12*8(sp)
	ld	x13, 13*8(sp)
	ld	x14, 14*8(sp)
	ld	x15, 15*8(sp)
	ld	x16, 16*8(sp)
	ld	x17, 17*8(sp)
	ld	x18, 18*8(sp)
	ld	x19, 19*8(sp)
	ld	x20, 20*8(sp)
	ld	x21, 21*8(sp)
	ld	x22, 22*8(sp)
	ld	x23, 23*8(sp)
	ld	x24, 24*8(sp)
	ld	x25, 25*8(sp)
	ld	x26, 26*8(sp)
	ld	x27, 27*8(sp)
	ld	x28, 28*8(sp)
	ld	x29, 29*8(sp)
	ld	x30, 30*8(sp)
	ld	x31, 31*8(sp)
	ld	sp, 2*8(sp)
	sret

	.data
	.align	3
boot_claim:
	.word	0

	.bss
	.align	4
	.globl rt_stacks, rt_trap_stacks
rt_stacks:
	.space	RT_MAX_HARTS * RT_STACK_SIZE
rt_trap_stacks:
	.space	RT_MAX_HARTS * RT_TRAP_STACK_SIZE
