/*
 * vcpu.c - a vCPU on a physical hart: loading its state into the H-extension CSRs and
 * saving it back ("load"/"put", once per scheduling, not per exit), the last steps
 * before each guest entry, and the host.h calls that reach a vCPU from anywhere:
 * interrupts (hvip), the timer (Sstc vstimecmp, or hvip.VSTIP when the board has no
 * Sstc), remote fences and HSM hart_start.
 *
 * Interrupt requests from other harts are flags in struct t1_vcpu; the hart running
 * the vCPU folds them into hvip before every entry and an IPI (t1_kick) makes it exit
 * to do so. VSSIP is the guest's to clear (sip.SSIP aliases hvip.VSSIP with hideleg
 * bit 2), so its current value is read back after every exit (PITFALLS 9). Guest time
 * is host time (htimedelta = 0), which sidesteps QEMU 7.2's htimedelta bugs
 * (PITFALLS 4); vstimecmp of a vCPU that is not loaded is parked at ~0 on the hart.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/vm.h>

#include "hv.h"

/* The HS sstatus a guest is entered with: VS-mode (SPP), FP on for it (FS Clean). */
#define GUEST_SSTATUS (SSTATUS_SPP | SSTATUS_FS_CLEAN)

static u64 guest_hstatus(struct t1_vcpu *c)
{
	u64 hs = (2UL << HSTATUS_VSXL_SHIFT) | HSTATUS_SPV | HSTATUS_SPVP;
	/* Shared vCPUs trap WFI so they can give up the hart; dedicated ones own theirs. */
	if (c->dedicated < 0)
		hs |= HSTATUS_VTW;
	return hs;
}

void t1_vcpu_init(struct t1_vcpu *c, struct t1_vm *tvm, u32 id)
{
	duo_memset(c, 0, sizeof(*c));
	c->v = &tvm->vm.vcpus[id];
	c->v->host = c;
	c->tvm = tvm;
	c->hart = -1;
	c->last_hart = -1;
	c->dedicated = -1;
	c->run = VC_OFF;
	c->vstimecmp = ~0UL;
	c->timer_deadline = ~0UL;
	c->scounteren = COUNTEREN_ALL;
}

void t1_vcpu_reset(struct t1_vcpu *c, u64 pc, u64 a1)
{
	duo_memset(&c->ctx, 0, sizeof(c->ctx));
	c->ctx.gpr[10] = c->v->id;
	c->ctx.gpr[11] = a1;
	c->ctx.sepc = pc;
	c->ctx.sstatus = GUEST_SSTATUS;
	c->ctx.hstatus = guest_hstatus(c);
	/* S-mode entry state of the SBI spec: satp = 0, SIE = 0, FP off. */
	c->vsstatus = 0;
	c->vsie = 0;
	c->vstvec = 0;
	c->vsscratch = 0;
	c->vsepc = 0;
	c->vscause = 0;
	c->vstval = 0;
	c->vsatp = 0;
	c->vstimecmp = ~0UL;
	c->timer_deadline = ~0UL;
	c->scounteren = COUNTEREN_ALL;
	c->hvip_ssip = 0;
	__atomic_store_n(&c->soft_req, 0, __ATOMIC_SEQ_CST);
	/* Whatever this VMID left in any TLB is stale now. */
	c->last_hart = -1;
	c->fp_dirty = false;
}

void t1_vcpu_load(struct t1_hart *h, struct t1_vcpu *c)
{
	struct t1_vm *tvm = c->tvm;

	if (c->start_pending) {
		c->start_pending = false;
		c->resume_pending = false;
		t1_vcpu_reset(c, c->start_pc, c->start_a1);
		__atomic_store_n(&c->v->hsm_state, HSM_STARTED, __ATOMIC_SEQ_CST);
	}
	csr_write(hgatp, tvm->hgatp);
	if (!tvm->vmid && h->loaded_vmid_plus1 != tvm->vm.id + 1)
		t1_hfence_gvma_all(); /* no VMIDs: another VM's translations may linger */
	h->loaded_vmid_plus1 = tvm->vm.id + 1;
	csr_write(vsstatus, c->vsstatus);
	csr_write(vsie, c->vsie);
	csr_write(vstvec, c->vstvec);
	csr_write(vsscratch, c->vsscratch);
	csr_write(vsepc, c->vsepc);
	csr_write(vscause, c->vscause);
	csr_write(vstval, c->vstval);
	csr_write(vsatp, c->vsatp);
	csr_write(scounteren, c->scounteren);
	if (t1.sstc)
		csr_write(CSR_VSTIMECMP, c->vstimecmp);
	csr_clear(hvip, MIP_VSSIP | MIP_VSEIP | (t1.sstc ? 0 : MIP_VSTIP));
	t1_fp_restore(&c->ctx);
	if (c->last_hart != (s32)h->index) {
		/* New hart (or fresh reset): VS-stage entries for this VMID there may be stale. */
		t1_hfence_vvma_all();
		t1_fence_i();
	}
	c->last_hart = h->index;
	c->fp_dirty = false;
	c->run_start = t1_rdtime();
	h->cur = c;
}

void t1_vcpu_put(struct t1_hart *h, struct t1_vcpu *c)
{
	c->vsstatus = csr_read(vsstatus);
	c->vsie = csr_read(vsie);
	c->vstvec = csr_read(vstvec);
	c->vsscratch = csr_read(vsscratch);
	c->vsepc = csr_read(vsepc);
	c->vscause = csr_read(vscause);
	c->vstval = csr_read(vstval);
	c->vsatp = csr_read(vsatp);
	c->scounteren = csr_read(scounteren);
	if (t1.sstc) {
		c->vstimecmp = csr_read(CSR_VSTIMECMP);
		csr_write(CSR_VSTIMECMP, ~0UL); /* its timer must not fire on this hart */
	}
	csr_clear(hvip, MIP_VSSIP | MIP_VSEIP | MIP_VSTIP);
	if (c->fp_dirty || (c->vsstatus & SSTATUS_FS) == SSTATUS_FS_DIRTY)
		t1_fp_save(&c->ctx);
	c->fp_dirty = false;
	csr_write(scounteren, COUNTEREN_ALL);
	h->cur = NULL;
}

void t1_vcpu_note_exit(struct t1_vcpu *c)
{
	c->hvip_ssip = csr_read(hvip) & MIP_VSSIP;
	if ((c->ctx.sstatus & SSTATUS_FS) == SSTATUS_FS_DIRTY) {
		c->fp_dirty = true;
		c->ctx.sstatus = (c->ctx.sstatus & ~SSTATUS_FS) | SSTATUS_FS_CLEAN;
	}
}

void t1_vcpu_prepare_entry(struct t1_hart *h, struct t1_vcpu *c)
{
	u64 want = 0, now = 0;

	if (__atomic_exchange_n(&c->soft_req, 0, __ATOMIC_SEQ_CST))
		c->hvip_ssip = MIP_VSSIP;
	want |= c->hvip_ssip;
	if (__atomic_load_n(&c->ext_level, __ATOMIC_SEQ_CST))
		want |= MIP_VSEIP;
	if (!t1.sstc) {
		now = t1_rdtime();
		if (c->timer_deadline <= now)
			want |= MIP_VSTIP;
		csr_write(hvip, want);
	} else {
		/* Never write hvip.VSTIP here: QEMU drives it from vstimecmp. */
		csr_clear(hvip, (MIP_VSSIP | MIP_VSEIP) & ~want);
		if (want)
			csr_set(hvip, want);
	}
	/* Fence requests (host_vcpu_fence), checked after in_guest was set (see there). */
	u64 req = __atomic_load_n(&c->fence_req, __ATOMIC_SEQ_CST);
	if (req != c->fence_done) {
		t1_hfence_vvma_all();
		if (__atomic_exchange_n(&c->fence_i_req, 0, __ATOMIC_SEQ_CST))
			t1_fence_i();
		__atomic_store_n(&c->fence_done, req, __ATOMIC_SEQ_CST);
	}
	DUO_UNUSED(h);
}

u64 t1_vcpu_timer_deadline(struct t1_vcpu *c)
{
	if (!t1.sstc)
		return c->timer_deadline;
	struct t1_hart *h = t1_this_hart();
	return h->cur == c ? csr_read(CSR_VSTIMECMP) : c->vstimecmp;
}

u64 t1_vcpu_wake_pending(struct t1_vcpu *c, u64 now)
{
	struct t1_hart *h = t1_this_hart();
	u64 p = 0, vsie = h->cur == c ? csr_read(vsie) : c->vsie;
	if (c->hvip_ssip || __atomic_load_n(&c->soft_req, __ATOMIC_SEQ_CST))
		p |= DUO_BIT(IRQ_S_SOFT);
	if (__atomic_load_n(&c->ext_level, __ATOMIC_SEQ_CST))
		p |= DUO_BIT(IRQ_S_EXT);
	if (t1_vcpu_timer_deadline(c) <= now)
		p |= DUO_BIT(IRQ_S_TIMER);
	return p & vsie;
}

void t1_inject_exception(struct t1_vcpu *c, u64 cause, u64 tval)
{
	u64 vs = csr_read(vsstatus);
	bool from_vs = c->ctx.sstatus & SSTATUS_SPP;
	bool sie = vs & SSTATUS_SIE;
	vs &= ~(SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE);
	if (from_vs)
		vs |= SSTATUS_SPP;
	if (sie)
		vs |= SSTATUS_SPIE;
	csr_write(vsstatus, vs);
	csr_write(vsepc, c->ctx.sepc);
	csr_write(vscause, cause);
	csr_write(vstval, tval);
	c->ctx.sepc = csr_read(vstvec) & ~3UL; /* exceptions always use the base address */
	c->ctx.sstatus |= SSTATUS_SPP;
	c->ctx.hstatus |= HSTATUS_SPV | HSTATUS_SPVP;
}

/* ---- host.h: reaching a vCPU from any hart ---------------------------------------- */

/* notify - make c act on new interrupt state: it re-reads the flags on its next entry. */
static void notify(struct t1_vcpu *c, bool raised)
{
	struct t1_hart *h = t1_this_hart();
	if (h->cur == c)
		return; /* we are its hart, in HS: prepare_entry picks it up */
	u32 run = __atomic_load_n(&c->run, __ATOMIC_SEQ_CST);
	if (run == VC_RUNNING) {
		s32 where = __atomic_load_n(&c->hart, __ATOMIC_SEQ_CST);
		if (where >= 0)
			t1_kick((u32)where);
	} else if (run == VC_BLOCKED && raised) {
		t1_sched_wake(c);
	}
}

void host_vcpu_set_irq(struct vcpu *v, unsigned irq, bool level)
{
	struct t1_vcpu *c = t1_vcpu_of(v);
	if (irq == IRQ_S_SOFT) {
		if (!level) {
			/* legacy clear_ipi: only ever the caller's own vCPU, loaded here */
			__atomic_store_n(&c->soft_req, 0, __ATOMIC_SEQ_CST);
			c->hvip_ssip = 0;
			if (t1_this_hart()->cur == c)
				csr_clear(hvip, MIP_VSSIP);
			return;
		}
		__atomic_store_n(&c->soft_req, 1, __ATOMIC_SEQ_CST);
	} else if (irq == IRQ_S_EXT) {
		if (__atomic_exchange_n(&c->ext_level, level ? 1 : 0, __ATOMIC_SEQ_CST) == level)
			return;
	} else {
		return;
	}
	notify(c, level);
}

void host_vcpu_set_timer(struct vcpu *v, u64 deadline)
{
	struct t1_vcpu *c = t1_vcpu_of(v);
	bool here = t1_this_hart()->cur == c;
	if (t1.sstc) {
		/* SBI timers use the same vstimecmp as a guest writing stimecmp itself. */
		if (here)
			csr_write(CSR_VSTIMECMP, deadline);
		else
			c->vstimecmp = deadline;
		return;
	}
	c->timer_deadline = deadline;
	if (here) {
		/* the guest cannot clear VSTIP itself (PITFALLS 4) */
		if (deadline > t1_rdtime())
			csr_clear(hvip, MIP_VSTIP);
		else
			csr_set(hvip, MIP_VSTIP);
	}
}

/* Until c has done fence request req, or is out of the guest (then it fences at entry). */
static void fence_wait_one(struct t1_vcpu *c, u64 req)
{
	while (__atomic_load_n(&c->fence_done, __ATOMIC_SEQ_CST) < req &&
	       __atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST)) {
		s32 where = __atomic_load_n(&c->hart, __ATOMIC_SEQ_CST);
		if (where >= 0)
			t1_kick((u32)where);
		host_relax();
	}
}

void host_vcpu_fence(struct vcpu *v, enum host_fence kind, u64 start, u64 size, u64 asid)
{
	struct t1_vcpu *c = t1_vcpu_of(v);
	struct t1_hart *h = t1_this_hart();

	/* Ranges and ASIDs are widened to "everything of this VMID": always correct. */
	DUO_UNUSED(start);
	DUO_UNUSED(size);
	DUO_UNUSED(asid);
	if (kind == HOST_FENCE_I)
		__atomic_store_n(&c->fence_i_req, 1, __ATOMIC_SEQ_CST);
	u64 req = __atomic_add_fetch(&c->fence_req, 1, __ATOMIC_SEQ_CST);
	if (h->cur == c) {
		t1_hfence_vvma_all();
		if (__atomic_exchange_n(&c->fence_i_req, 0, __ATOMIC_SEQ_CST))
			t1_fence_i();
		__atomic_store_n(&c->fence_done, req, __ATOMIC_SEQ_CST);
		return;
	}
	/*
	 * c fences in prepare_entry, which runs after it sets in_guest. So once we see it
	 * outside the guest, it cannot run guest code before fencing; while it is inside,
	 * an IPI makes it exit. Neither side waits for the other while in the guest.
	 * Every target of the SBI call is kicked first and waited for afterwards
	 * (t1_vcpu_fence_wait, from trap.c before the call returns), so their exits
	 * overlap instead of following one another.
	 */
	if (__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST)) {
		s32 where = __atomic_load_n(&c->hart, __ATOMIC_SEQ_CST);
		if (where >= 0)
			t1_kick((u32)where);
	}
	if (h->n_fence_wait < PLAT_MAX_VCPUS) {
		h->fence_wait[h->n_fence_wait] = c;
		h->fence_wait_req[h->n_fence_wait] = req;
		h->n_fence_wait++;
		return;
	}
	fence_wait_one(c, req);
}

void t1_vcpu_fence_wait(struct t1_hart *h)
{
	for (u32 i = 0; i < h->n_fence_wait; i++)
		fence_wait_one(h->fence_wait[i], h->fence_wait_req[i]);
	h->n_fence_wait = 0;
}

int host_vcpu_start(struct vcpu *v, u64 pc, u64 opaque)
{
	struct t1_vcpu *c = t1_vcpu_of(v);
	int r = 0;
	duo_lock(&t1.sched_lock);
	if (c->tvm->req != T1_REQ_NONE) {
		r = DUO_EBUSY; /* its VM is going down */
	} else {
		c->start_pc = pc;
		c->start_a1 = opaque;
		c->start_pending = true;
		/* If it is still leaving its hart after hart_stop, sched.c starts it then. */
		if (c->run == VC_OFF)
			t1_sched_make_runnable_locked(c);
	}
	duo_unlock(&t1.sched_lock);
	return r;
}
