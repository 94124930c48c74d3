/*
 * switch.S - the world switch between the hypervisor (HS-mode) and a guest (VS/VU).
 *
 * t1_guest_enter(ctx) (called only through t1_guest_run in hv.h, which declares every
 * register but ra/sp/gp/tp clobbered) saves those four in ctx, points
 * stvec at t1_guest_exit and sscratch at ctx, loads the guest's sstatus/hstatus/sepc
 * and GPRs and `sret`s into the guest (hstatus.SPV=1). The next trap to HS lands in
 * t1_guest_exit, which saves the guest's GPRs and the trap CSRs into ctx, restores the
 * hypervisor's ra/sp/gp/tp and sstatus and returns from t1_guest_enter. Traps
 * taken while the hypervisor itself runs go to t1_host_trap_vector (start.S) instead.
 * Layout: ctx.h. The vs* CSRs are not touched here (type1/vcpu.c loads them once per
 * scheduling, not once per exit).
 */
#include "ctx.h"
#include "csr.h"

	.section .text
	.option push
	.option arch, +h

/* void t1_guest_enter(struct t1_ctx *ctx) */
	.globl t1_guest_enter
	.balign 4
t1_guest_enter:
	/* Only ra/sp/gp/tp: the caller (t1_guest_run) declares every other register
	 * clobbered. */
	sd ra, CTX_HOST_RA(a0)
	sd sp, CTX_HOST_SP(a0)
	sd gp, CTX_HOST_GP(a0)
	sd tp, CTX_HOST_TP(a0)
	/* The host's stvec is always t1_host_trap_vector and the host never uses sscratch:
	 * neither is saved (stvec is set back to the vector on the way out). */
	csrr t0, sstatus
	sd t0, CTX_HOST_SSTATUS(a0)

	ld t0, CTX_SSTATUS(a0)
	csrw sstatus, t0
	ld t0, CTX_HSTATUS(a0)
	csrw hstatus, t0
	ld t0, CTX_SEPC(a0)
	csrw sepc, t0
	la t0, t1_guest_exit
	csrw stvec, t0
	csrw sscratch, a0

	ld ra, CTX_GPR(1)(a0)
	ld sp, CTX_GPR(2)(a0)
	ld gp, CTX_GPR(3)(a0)
	ld tp, CTX_GPR(4)(a0)
	ld t0, CTX_GPR(5)(a0)
	ld t1, CTX_GPR(6)(a0)
	ld t2, CTX_GPR(7)(a0)
	ld s0, CTX_GPR(8)(a0)
	ld s1, CTX_GPR(9)(a0)
	ld a1, CTX_GPR(11)(a0)
	ld a2, CTX_GPR(12)(a0)
	ld a3, CTX_GPR(13)(a0)
	ld a4, CTX_GPR(14)(a0)
	ld a5, CTX_GPR(15)(a0)
	ld a6, CTX_GPR(16)(a0)
	ld a7, CTX_GPR(17)(a0)
	ld s2, CTX_GPR(18)(a0)
	ld s3, CTX_GPR(19)(a0)
	ld s4, CTX_GPR(20)(a0)
	ld s5, CTX_GPR(21)(a0)
	ld s6, CTX_GPR(22)(a0)
	ld s7, CTX_GPR(23)(a0)
	ld s8, CTX_GPR(24)(a0)
	ld s9, CTX_GPR(25)(a0)
	ld s10, CTX_GPR(26)(a0)
	ld s11, CTX_GPR(27)(a0)
	ld t3, CTX_GPR(28)(a0)
	ld t4, CTX_GPR(29)(a0)
	ld t5, CTX_GPR(30)(a0)
	ld t6, CTX_GPR(31)(a0)
	ld a0, CTX_GPR(10)(a0)
	sret

/* The trap vector while a guest runs: every VS/VU trap to HS comes here. */
	.globl t1_guest_exit
	.balign 4
t1_guest_exit:
	csrrw a0, sscratch, a0
	sd ra, CTX_GPR(1)(a0)
	sd sp, CTX_GPR(2)(a0)
	sd gp, CTX_GPR(3)(a0)
	sd tp, CTX_GPR(4)(a0)
	sd t0, CTX_GPR(5)(a0)
	sd t1, CTX_GPR(6)(a0)
	sd t2, CTX_GPR(7)(a0)
	sd s0, CTX_GPR(8)(a0)
	sd s1, CTX_GPR(9)(a0)
	sd a1, CTX_GPR(11)(a0)
	sd a2, CTX_GPR(12)(a0)
	sd a3, CTX_GPR(13)(a0)
	sd a4, CTX_GPR(14)(a0)
	sd a5, CTX_GPR(15)(a0)
	sd a6, CTX_GPR(16)(a0)
	sd a7, CTX_GPR(17)(a0)
	sd s2, CTX_GPR(18)(a0)
	sd s3, CTX_GPR(19)(a0)
	sd s4, CTX_GPR(20)(a0)
	sd s5, CTX_GPR(21)(a0)
	sd s6, CTX_GPR(22)(a0)
	sd s7, CTX_GPR(23)(a0)
	sd s8, CTX_GPR(24)(a0)
	sd s9, CTX_GPR(25)(a0)
	sd s10, CTX_GPR(26)(a0)
	sd s11, CTX_GPR(27)(a0)
	sd t3, CTX_GPR(28)(a0)
	sd t4, CTX_GPR(29)(a0)
	sd t5, CTX_GPR(30)(a0)
	sd t6, CTX_GPR(31)(a0)
	csrr t0, sscratch
	sd t0, CTX_GPR(10)(a0)

	csrr t0, sepc
	sd t0, CTX_SEPC(a0)
	csrr t0, sstatus
	sd t0, CTX_SSTATUS(a0)
	csrr t0, hstatus
	sd t0, CTX_HSTATUS(a0)
	csrr t0, scause
	sd t0, CTX_SCAUSE(a0)
	/* stval/htval/htinst: read by t1_handle_exit only for the exceptions that use them
	 * (nothing between here and there can trap and change them) */

	la t0, t1_host_trap_vector
	csrw stvec, t0
	ld t0, CTX_HOST_SSTATUS(a0)
	csrw sstatus, t0

	ld ra, CTX_HOST_RA(a0)
	ld sp, CTX_HOST_SP(a0)
	ld gp, CTX_HOST_GP(a0)
	ld tp, CTX_HOST_TP(a0)
	ret

	.option pop

/*
 * t1_fp_save/t1_fp_restore(struct t1_ctx *ctx) - the guest's f0..f31 and fcsr. The
 * hypervisor itself is built without F/D and never touches them, so they only move
 * when a different vCPU is loaded on the hart. sstatus.FS must not be Off.
 */
	.option push
	.option arch, +d
	.globl t1_fp_save
	.balign 4
t1_fp_save:
	fsd f0, CTX_FPR(0)(a0)
	fsd f1, CTX_FPR(1)(a0)
	fsd f2, CTX_FPR(2)(a0)
	fsd f3, CTX_FPR(3)(a0)
	fsd f4, CTX_FPR(4)(a0)
	fsd f5, CTX_FPR(5)(a0)
	fsd f6, CTX_FPR(6)(a0)
	fsd f7, CTX_FPR(7)(a0)
	fsd f8, CTX_FPR(8)(a0)
	fsd f9, CTX_FPR(9)(a0)
	fsd f10, CTX_FPR(10)(a0)
	fsd f11, CTX_FPR(11)(a0)
	fsd f12, CTX_FPR(12)(a0)
	fsd f13, CTX_FPR(13)(a0)
	fsd f14, CTX_FPR(14)(a0)
	fsd f15, CTX_FPR(15)(a0)
	fsd f16, CTX_FPR(16)(a0)
	fsd f17, CTX_FPR(17)(a0)
	fsd f18, CTX_FPR(18)(a0)
	fsd f19, CTX_FPR(19)(a0)
	fsd f20, CTX_FPR(20)(a0)
	fsd f21, CTX_FPR(21)(a0)
	fsd f22, CTX_FPR(22)(a0)
	fsd f23, CTX_FPR(23)(a0)
	fsd f24, CTX_FPR(24)(a0)
	fsd f25, CTX_FPR(25)(a0)
	fsd f26, CTX_FPR(26)(a0)
	fsd f27, CTX_FPR(27)(a0)
	fsd f28, CTX_FPR(28)(a0)
	fsd f29, CTX_FPR(29)(a0)
	fsd f30, CTX_FPR(30)(a0)
	fsd f31, CTX_FPR(31)(a0)
	frcsr t0
	sd t0, CTX_FCSR(a0)
	ret

	.globl t1_fp_restore
	.balign 4
t1_fp_restore:
	fld f0, CTX_FPR(0)(a0)
	fld f1, CTX_FPR(1)(a0)
	fld f2, CTX_FPR(2)(a0)
	fld f3, CTX_FPR(3)(a0)
	fld f4, CTX_FPR(4)(a0)
	fld f5, CTX_FPR(5)(a0)
	fld f6, CTX_FPR(6)(a0)
	fld f7, CTX_FPR(7)(a0)
	fld f8, CTX_FPR(8)(a0)
	fld f9, CTX_FPR(9)(a0)
	fld f10, CTX_FPR(10)(a0)
	fld f11, CTX_FPR(11)(a0)
	fld f12, CTX_FPR(12)(a0)
	fld f13, CTX_FPR(13)(a0)
	fld f14, CTX_FPR(14)(a0)
	fld f15, CTX_FPR(15)(a0)
	fld f16, CTX_FPR(16)(a0)
	fld f17, CTX_FPR(17)(a0)
	fld f18, CTX_FPR(18)(a0)
	fld f19, CTX_FPR(19)(a0)
	fld f20, CTX_FPR(20)(a0)
	fld f21, CTX_FPR(21)(a0)
	fld f22, CTX_FPR(22)(a0)
	fld f23, CTX_FPR(23)(a0)
	fld f24, CTX_FPR(24)(a0)
	fld f25, CTX_FPR(25)(a0)
	fld f26, CTX_FPR(26)(a0)
	fld f27, CTX_FPR(27)(a0)
	fld f28, CTX_FPR(28)(a0)
	fld f29, CTX_FPR(29)(a0)
	fld f30, CTX_FPR(30)(a0)
	fld f31, CTX_FPR(31)(a0)
	ld t0, CTX_FCSR(a0)
	fscsr t0
	ret
	.option pop
