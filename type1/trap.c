/*
 * trap.c - what the hypervisor does when a guest traps to HS-mode (a "guest exit").
 *
 * t1_guest_exit (switch.S) has saved the guest's registers and the trap CSRs in the
 * vCPU's context; sched.c's run loop calls t1_handle_exit, whose answer says whether
 * the vCPU re-enters or leaves its hart. The exits:
 *   - HS interrupts taken while the guest ran: IPIs (kicks), the scheduler tick;
 *   - ecall from VS: the core's SBI (sbi_dispatch), then sepc += 4 and its action;
 *   - guest-page faults: in the device aperture (PLIC .. virtio slots), the access is
 *     decoded and replayed on the VM's MMIO bus, and one no device accepts (a hole, a
 *     straddle, an FP or atomic access) becomes an access fault in the guest; anywhere
 *     else outside RAM the VM is stopped with the reason logged - others never notice;
 *   - virtual instruction: from VS, WFI (when hstatus.VTW traps it) yields the hart and
 *     stimecmp is emulated when the board lacks Sstc; anything else, and everything
 *     from VU (a U-mode wfi included), becomes an illegal-instruction exception in the
 *     guest (PITFALLS 6);
 *   - illegal instruction (delegated straight to VS unless the board lacks Sstc, where
 *     the CSR does not exist at all): a VS-mode stimecmp access is emulated, anything
 *     else goes on to the guest.
 * Exceptions OpenSBI redirects here that the guest should see are passed on to VS.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/mmio.h>
#include <duo/sbi.h>
#include <duo/vm.h>

#include "hv.h"

#define INSN_WFI 0x10500073u

/* Read the 16- or 32-bit instruction at the guest's sepc; false if that faults. */
static bool fetch_insn(struct t1_vcpu *c, u32 *insn)
{
	u16 lo, hi;
	/* HLVX uses hstatus.SPVP as the privilege: leave it as the trap set it. */
	csr_write(hstatus, c->ctx.hstatus);
	if (!(c->ctx.sepc & 3)) {
		/* one word read: aligned, so it stays in the page of the instruction (a
		 * compressed one's neighbour halfword is in the same page, just ignored) */
		u32 w;
		if (t1_hlvx_wu(c->ctx.sepc, &w))
			return false;
		*insn = (w & 3) == 3 ? w : (u16)w;
		return true;
	}
	if (t1_hlvx_hu(c->ctx.sepc, &lo))
		return false;
	if ((lo & 3) != 3) {
		*insn = lo;
		return true;
	}
	if (t1_hlvx_hu(c->ctx.sepc + 2, &hi))
		return false;
	*insn = lo | ((u32)hi << 16);
	return true;
}

static void stop_vm(struct t1_vcpu *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void stop_vm(struct t1_vcpu *c, const char *fmt, ...)
{
	char why[112];
	va_list ap;
	va_start(ap, fmt);
	duo_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	t1_vmm_request(c->tvm, T1_REQ_STOP, true, why);
}

static enum t1_exit do_sbi(struct t1_vcpu *c)
{
	struct t1_ctx *x = &c->ctx;
	struct sbi_result r;

	c->tvm->n_ecall++;
	/* a0..a7 are gpr[10..17], in order: no copy. sbi_dispatch clears r itself. */
	sbi_dispatch(c->v, &x->gpr[10], &r);
	/* RFENCE: complete before the call returns (host_vcpu_fence only kicked them) */
	struct t1_hart *h = t1_this_hart();
	if (h->n_fence_wait)
		t1_vcpu_fence_wait(h);
	x->gpr[10] = (u64)r.error;
	if (!r.legacy)
		x->gpr[11] = (u64)r.value;
	x->sepc += 4;

	switch (r.action) {
	case SBI_ACT_NONE:
		return T1_CONTINUE;
	case SBI_ACT_WFI:
		__atomic_store_n(&c->v->hsm_state, HSM_SUSPENDED, __ATOMIC_SEQ_CST);
		return T1_BLOCK;
	case SBI_ACT_HART_RESUME:
		c->resume_pending = true;
		c->resume_pc = r.resume_addr;
		c->resume_a1 = r.resume_opaque;
		__atomic_store_n(&c->v->hsm_state, HSM_SUSPENDED, __ATOMIC_SEQ_CST);
		return T1_BLOCK;
	case SBI_ACT_HART_STOP:
		return T1_HART_STOP;
	case SBI_ACT_SHUTDOWN:
		c->tvm->guest_off = true;
		t1_vmm_request(c->tvm, T1_REQ_STOP, false, "the guest shut down (SBI SRST)");
		return T1_LEAVE;
	case SBI_ACT_REBOOT: {
		char why[64];
		duo_snprintf(why, sizeof(why), "the guest asked for a reboot (SRST reason %u)",
			     r.reset_reason);
		t1_vmm_request(c->tvm, T1_REQ_RESTART, false, why);
		return T1_LEAVE;
	}
	}
	return T1_CONTINUE;
}

/*
 * The platform's device aperture (docs/platform.md): PLIC .. last virtio slot. A fault in
 * it is an MMIO access, or an access fault in the guest where no device answers (a hole
 * between windows, a straddle). Anything else that is not RAM is an isolation violation.
 */
static bool in_aperture(gpa_t gpa)
{
	return gpa >= PLAT_PLIC_BASE &&
	       gpa < PLAT_VIRTIO_BASE + PLAT_VIRTIO_SLOTS * PLAT_VIRTIO_STRIDE;
}

/*
 * read_trap_csrs - stval/htval/htinst of the exit into ctx; switch.S leaves them to the
 * exceptions that use them. They are still the trap's: nothing the hypervisor did
 * since the exit traps (only its own traps, e.g. a fetch_insn fault, change them).
 */
static void read_trap_csrs(struct t1_ctx *x)
{
	x->stval = csr_read(stval);
	x->htval = csr_read(htval);
	x->htinst = csr_read(htinst);
}

static enum t1_exit do_guest_page_fault(struct t1_vcpu *c)
{
	struct t1_ctx *x = &c->ctx;
	read_trap_csrs(x);
	struct vm *vm = &c->tvm->vm;
	u64 cause = x->scause;
	gpa_t gpa = (x->htval << 2) | (x->stval & 3);
	bool is_store = cause == EXC_STORE_GUEST_PAGE;
	struct t1_mmio_op op;
	u32 insn;
	int r;

	if (!in_aperture(gpa)) {
		stop_vm(c, "%s guest-physical %llx (pc %llx): outside RAM and devices",
			cause == EXC_INST_GUEST_PAGE ? "instruction fetch from"
			: is_store		     ? "store to"
						     : "load from",
			(unsigned long long)gpa, (unsigned long long)x->sepc);
		return T1_LEAVE;
	}
	if (cause == EXC_INST_GUEST_PAGE) {
		t1_inject_exception(c, EXC_INST_ACCESS, x->stval);
		return T1_CONTINUE;
	}
	c->tvm->n_mmio++;
	/* htinst 0x2000/0x3000/...: the guest's own page-table walk touched a device. */
	if (x->htinst && !(x->htinst & 1)) {
		stop_vm(c, "page-table walk reads device memory at %llx (pc %llx)",
			(unsigned long long)gpa, (unsigned long long)x->sepc);
		return T1_LEAVE;
	}
	if (x->htinst) {
		insn = (u32)x->htinst;
		r = t1_decode_mmio(insn, true, &op);
	} else {
		if (!fetch_insn(c, &insn))
			return T1_CONTINUE; /* its mapping changed under it: let it fault again */
		r = t1_decode_mmio(insn, false, &op);
	}
	if (r || op.store != is_store) {
		/* FP, atomic or unknown access to a device (HOSTILE 15): an access fault. */
		t1_inject_exception(c, is_store ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS, x->stval);
		return T1_CONTINUE;
	}
	u64 val = 0;
	if (op.store) {
		val = op.reg ? x->gpr[op.reg] : 0;
		r = mmio_access(&vm->bus, gpa, op.width, true, &val);
	} else {
		r = mmio_access(&vm->bus, gpa, op.width, false, &val);
		if (!r && op.sign_extend && op.width < 8) {
			unsigned sh = 64 - 8 * op.width;
			val = (u64)((s64)(val << sh) >> sh);
		}
		if (!r && op.reg)
			x->gpr[op.reg] = val;
	}
	if (r) {
		/* Straddling a window edge, bad width: the device said no (HOSTILE 13). */
		t1_inject_exception(c, is_store ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS, x->stval);
		return T1_CONTINUE;
	}
	x->sepc += op.len;
	return T1_CONTINUE;
}

/*
 * emulate_stimecmp - without Sstc on the board the guest's stimecmp (which the device
 * tree promises) traps, as an illegal instruction (QEMU without Sstc: the CSR does not
 * exist) or a virtual instruction (a CPU with Sstc but STCE off): serve it from the
 * hvip.VSTIP timer.
 */
static bool emulate_stimecmp(struct t1_vcpu *c, u32 insn)
{
	u32 funct3 = (insn >> 12) & 7, rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31;
	if ((insn & 0x7f) != 0x73 || (insn >> 20) != CSR_STIMECMP || funct3 == 0 || funct3 == 4)
		return false;
	u64 old = c->timer_deadline;
	u64 src = funct3 >= 5 ? rs1 : (rs1 ? c->ctx.gpr[rs1] : 0);
	u64 val = old;
	switch (funct3 & 3) {
	case 1: /* csrrw(i) */
		val = src;
		break;
	case 2: /* csrrs(i) */
		val = old | src;
		break;
	case 3: /* csrrc(i) */
		val = old & ~src;
		break;
	}
	/* csrrs/csrrc with x0 (or imm 0) only read */
	if ((funct3 & 3) == 1 || rs1)
		host_vcpu_set_timer(c->v, val);
	if (rd)
		c->ctx.gpr[rd] = old;
	c->ctx.sepc += 4;
	return true;
}

static enum t1_exit do_virtual_insn(struct t1_vcpu *c)
{
	struct t1_ctx *x = &c->ctx;
	u32 insn;

	c->tvm->n_vinst++;
	/* Not stval: QEMU 7.2 can leave a stale instruction there (seen: an hlv.d reported
	 * as the hfence.vvma before it), and acting on the wrong one would skip code. */
	if (!fetch_insn(c, &insn))
		return T1_CONTINUE;
	if (!(x->sstatus & SSTATUS_SPP)) {
		/* From VU-mode: a U-mode wfi (QEMU raises cause 22 for it whatever VTW says),
		 * CSR or S instruction. On a machine without H that is an illegal instruction
		 * to S, so the guest's S-mode gets one; a wfi is never a wait here (with no
		 * interrupt enabled it would block the vCPU for good, HOSTILE 24). */
		t1_inject_exception(c, EXC_ILLEGAL_INST, insn);
		return T1_CONTINUE;
	}
	if (insn == INSN_WFI) {
		c->tvm->n_wfi++;
		x->sepc += 4;
		if (t1_vcpu_wake_pending(c, t1_rdtime()))
			return T1_CONTINUE;
		return T1_BLOCK;
	}
	if (!t1.sstc && emulate_stimecmp(c, insn))
		return T1_CONTINUE;
	/* H-mode CSRs, hfence and the like, or QEMU's spurious cause 22. */
	t1_inject_exception(c, EXC_ILLEGAL_INST, insn);
	return T1_CONTINUE;
}

static enum t1_exit do_interrupt(struct t1_hart *h, struct t1_vcpu *c, u64 irq)
{
	c->tvm->n_irq++;
	switch (irq) {
	case IRQ_SSI:
		csr_clear(sip, MIP_SSIP);
		__atomic_store_n(&h->kicked, 0, __ATOMIC_SEQ_CST);
		return T1_CONTINUE; /* the run loop re-checks requests before re-entering */
	case IRQ_STI:
		return t1_sched_tick(h, c);
	default:
		return T1_CONTINUE;
	}
}

enum t1_exit t1_handle_exit(struct t1_hart *h, struct t1_vcpu *c)
{
	struct t1_ctx *x = &c->ctx;
	u64 cause = x->scause;

	c->exits++;
	t1_vcpu_note_exit(c);
	if (cause & CAUSE_IRQ_FLAG)
		return do_interrupt(h, c, cause & ~CAUSE_IRQ_FLAG);
	switch (cause) {
	case EXC_ECALL_VS:
		return do_sbi(c);
	case EXC_INST_GUEST_PAGE:
	case EXC_LOAD_GUEST_PAGE:
	case EXC_STORE_GUEST_PAGE:
		return do_guest_page_fault(c);
	case EXC_VIRTUAL_INST:
		return do_virtual_insn(c);
	case EXC_ILLEGAL_INST:
		read_trap_csrs(x);
		if (!t1.sstc && (x->sstatus & SSTATUS_SPP)) {
			u32 insn;
			if (fetch_insn(c, &insn) && emulate_stimecmp(c, insn))
				return T1_CONTINUE;
		}
		t1_inject_exception(c, cause, x->stval);
		return T1_CONTINUE;
	case EXC_INST_MISALIGNED:
	case EXC_INST_ACCESS:
	case EXC_BREAKPOINT:
	case EXC_LOAD_MISALIGNED:
	case EXC_LOAD_ACCESS:
	case EXC_STORE_MISALIGNED:
	case EXC_STORE_ACCESS:
	case EXC_ECALL_U:
	case EXC_INST_PAGE:
	case EXC_LOAD_PAGE:
	case EXC_STORE_PAGE:
		/* The guest's own business: OpenSBI sent it to us instead of to VS. */
		read_trap_csrs(x);
		t1_inject_exception(c, cause, x->stval);
		return T1_CONTINUE;
	default:
		stop_vm(c, "unexpected trap cause %llu at pc %llx", (unsigned long long)cause,
			(unsigned long long)x->sepc);
		return T1_LEAVE;
	}
}
