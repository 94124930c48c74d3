/*
 * start.S - where the type-1 hypervisor begins: OpenSBI (fw_dynamic) jumps here in
 * HS-mode at 0x8020_0000 with a0 = hartid and a1 = the board's device tree.
 *
 * The image opens with a small header the packer reads (tools/pack/pack_format.h):
 * a jump, then HV_IMAGE_MAGIC and the image size including bss, so a packed blob can
 * be placed beyond the bss. The first hart to arrive clears the bss, takes its stack
 * from t1_stacks (one per hart id) and calls t1_main(); any other hart that gets here
 * parks. Secondary harts come in later through t1_secondary_entry (SBI HSM hart_start).
 * Also here: the trap vector for traps taken while the hypervisor itself runs (a bug:
 * dumped and the machine powered off) and the HLVX.HU helper with its fault fixup.
 */
#include "csr.h"
#include "hvconf.h"

	.section .text.entry, "ax"
	.option push
	.option norvc
	.globl _start
_start:
	j 1f
	.word 0
	.dword 0x00315648564f5544 /* HV_IMAGE_MAGIC "DUOVHV1" */
	.dword _end - _start /* image size incl. bss */
	.option pop
1:
	csrw sie, zero
	csrw sip, zero
	mv s0, a0
	mv s1, a1
	/* Only the first hart to get here boots; OpenSBI normally sends just one. */
	la t0, t1_boot_lottery
	li t1, 1
	amoswap.w.aq t1, t1, (t0)
	bnez t1, t1_park
	li t0, T1_MAX_HARTS
	bgeu s0, t0, t1_park

	la t0, _bss_start
	la t1, _bss_end
2:	bgeu t0, t1, 3f
	sd zero, 0(t0)
	addi t0, t0, 8
	j 2b
3:
	.option push
	.option norelax
	/* No gp-relative addressing in this image; keep gp 0 so a stray use faults. */
	li gp, 0
	.option pop
	la sp, t1_stacks
	addi t0, s0, 1
	slli t0, t0, T1_STACK_SHIFT
	add sp, sp, t0
	la t0, t1_host_trap_vector
	csrw stvec, t0
	mv a0, s0
	mv a1, s1
	call t1_main
	j t1_park

/* Secondary harts: SBI HSM hart_start(hartid, t1_secondary_entry, opaque). */
	.globl t1_secondary_entry
	.balign 4
t1_secondary_entry:
	csrw sie, zero
	li t0, T1_MAX_HARTS
	bgeu a0, t0, t1_park
	li gp, 0
	la sp, t1_stacks
	addi t0, a0, 1
	slli t0, t0, T1_STACK_SHIFT
	add sp, sp, t0
	la t0, t1_host_trap_vector
	csrw stvec, t0
	call t1_secondary_main
	.globl t1_park
t1_park:
	csrw sie, zero
4:	wfi
	j 4b

/* A trap while the hypervisor runs: save everything and let C report it. */
	.balign 4
	.globl t1_host_trap_vector
t1_host_trap_vector:
	addi sp, sp, -256
	sd x1, 8(sp)
	sd x3, 24(sp)
	sd x4, 32(sp)
	sd x5, 40(sp)
	sd x6, 48(sp)
	sd x7, 56(sp)
	sd x8, 64(sp)
	sd x9, 72(sp)
	sd x10, 80(sp)
	sd x11, 88(sp)
	sd x12, 96(sp)
	sd x13, 104(sp)
	sd x14, 112(sp)
	sd x15, 120(sp)
	sd x16, 128(sp)
	sd x17, 136(sp)
	sd x18, 144(sp)
	sd x19, 152(sp)
	sd x20, 160(sp)
	sd x21, 168(sp)
	sd x22, 176(sp)
	sd x23, 184(sp)
	sd x24, 192(sp)
	sd x25, 200(sp)
	sd x26, 208(sp)
	sd x27, 216(sp)
	sd x28, 224(sp)
	sd x29, 232(sp)
	sd x30, 240(sp)
	sd x31, 248(sp)
	addi t0, sp, 256
	sd t0, 16(sp)
	mv a0, sp
	call t1_host_trap
	j t1_park

/*
 * long t1_hlvx_hu(u64 gva, u16 *out) - read a halfword of guest instruction memory with
 * HLVX.HU (guest translation, execute permission, privilege from hstatus.SPVP). Returns
 * 0, or the scause of the fault it took (a fixup vector catches it, no panic).
 */
	.globl t1_hlvx_hu
	.balign 4
t1_hlvx_hu:
	csrr t0, stvec
	la t1, 5f
	csrw stvec, t1
	li t2, 0
	.option push
	.option arch, +h
	hlvx.hu t3, (a0)
	.option pop
	sh t3, 0(a1)
	j 6f
	.balign 4
5:	csrr t2, scause
6:	csrw stvec, t0
	mv a0, t2
	ret

/*
 * long t1_hlvx_wu(u64 gva, u32 *out) - the same for a word (gva 4-byte aligned, so it
 * never crosses into another page).
 */
	.globl t1_hlvx_wu
	.balign 4
t1_hlvx_wu:
	csrr t0, stvec
	la t1, 5f
	csrw stvec, t1
	li t2, 0
	.option push
	.option arch, +h
	hlvx.wu t3, (a0)
	.option pop
	sw t3, 0(a1)
	j 6f
	.balign 4
5:	csrr t2, scause
6:	csrw stvec, t0
	mv a0, t2
	ret

	.section .data
	.balign 8
t1_boot_lottery:
	.dword 0

	.section .bss
	.balign 4096
	.globl t1_stacks
t1_stacks:
	.space T1_STACK_SIZE * T1_MAX_HARTS
