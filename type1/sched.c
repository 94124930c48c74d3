/*
 * sched.c - which vCPU runs on which physical hart, and the loop every hart runs.
 *
 * Two kinds of hart (t1_sched_assign, at boot):
 *   - a dedicated hart belongs to one vCPU of a cpu_policy "dedicated" VM. Nothing
 *     else ever runs there; the guest's WFI executes natively (hstatus.VTW = 0) and
 *     the hart idles with it.
 *   - every other hart is in the shared pool (the boot hart always is: it also polls
 *     the console). Pool harts time-slice the "shared" vCPUs with a weighted
 *     virtual-time scheduler: a running vCPU's vtime grows by ticks * 256 / cpu_weight,
 *     and at each 10 ms tick the hart switches to the runnable vCPU with the smallest
 *     vtime if it is behind the current one - so CPU time goes in proportion to
 *     cpu_weight. cpu_cap_pct caps a VM's total per 100 ms period (T1_CAP_PERIOD_TICKS):
 *     once used, its vCPUs wait for the next period. WFI (trapped by VTW) blocks the
 *     vCPU until an interrupt it enabled is pending, and the hart runs someone else.
 * A vCPU's state (enum t1_run) changes only under t1.sched_lock; the scan over all
 * vCPUs (at most 64) happens at scheduling points, never per exit.
 */
#include <duo/lib.h>
#include <duo/sbi.h>
#include <duo/vm.h>

#include "hv.h"

#define VT_SCALE 256

void t1_timer_arm(struct t1_hart *h, u64 when)
{
	if (when == h->timer_armed)
		return;
	h->timer_armed = when;
	if (t1.sstc)
		csr_write(CSR_STIMECMP, when);
	else
		t1_sbi_call(SBI_EXT_TIME, 0, when, 0, 0);
}

void t1_kick(u32 i)
{
	struct t1_hart *t = &t1.harts[i];
	if (t == t1_this_hart() || !t->online)
		return;
	if (__atomic_exchange_n(&t->kicked, 1, __ATOMIC_SEQ_CST))
		return; /* one IPI in flight is enough: it re-checks everything */
	t1_sbi_call(SBI_EXT_IPI, 0, 1UL << (t->hartid & 63), t->hartid & ~63UL, 0);
}

/* ---- accounting and eligibility (sched_lock held) ------------------------------------ */

static u64 cap_budget(struct t1_vm *tvm)
{
	return (u64)tvm->vm.cfg.cpu_cap_pct * T1_CAP_PERIOD_TICKS / 100;
}

static bool capped(struct t1_vm *tvm, u64 now)
{
	if (!tvm->vm.cfg.cpu_cap_pct)
		return false;
	return tvm->cap_period == now / T1_CAP_PERIOD_TICKS && tvm->cap_used >= cap_budget(tvm);
}

static void charge(struct t1_vcpu *c, u64 now)
{
	u64 d = now > c->run_start ? now - c->run_start : 0;
	struct t1_vm *tvm = c->tvm;
	c->run_start = now;
	c->cpu_ticks += d;
	if (c->dedicated >= 0)
		return;
	c->vtime += d * VT_SCALE / tvm->vm.cfg.cpu_weight;
	if (tvm->vm.cfg.cpu_cap_pct) {
		u64 period = now / T1_CAP_PERIOD_TICKS;
		if (tvm->cap_period != period) {
			tvm->cap_period = period;
			tvm->cap_used = 0;
		}
		tvm->cap_used += d;
	}
}

/* for_each_vcpu - every vCPU of every VM. */
#define for_each_vcpu(c, vi, ci)                                                                   \
	for (unsigned vi = 0; vi < t1.nvms; vi++)                                                  \
		for (unsigned ci = 0;                                                              \
		     ci < t1.vms[vi]->vm.nvcpus && ((c) = &t1.vms[vi]->vc[ci], true); ci++)

static bool mine(struct t1_hart *h, struct t1_vcpu *c)
{
	return h->dedicated ? c == h->dedicated : c->dedicated < 0;
}

static u64 min_runnable_vtime(void)
{
	struct t1_vcpu *c;
	u64 m = ~0ULL;
	for_each_vcpu(c, vi, ci) if (c->dedicated < 0 &&
				     (c->run == VC_RUNNABLE || c->run == VC_RUNNING) &&
				     c->vtime < m) m = c->vtime;
	return m;
}

void t1_sched_make_runnable_locked(struct t1_vcpu *c)
{
	if (c->dedicated < 0) {
		/* Back from sleep: no banked credit beyond one slice behind the others. */
		u64 m = min_runnable_vtime();
		u64 floor = T1_SLICE_TICKS * VT_SCALE / c->tvm->vm.cfg.cpu_weight;
		if (m != ~0ULL && m > floor && c->vtime < m - floor)
			c->vtime = m - floor;
	}
	__atomic_store_n(&c->run, VC_RUNNABLE, __ATOMIC_SEQ_CST);
	if (c->dedicated >= 0) {
		t1_kick((u32)c->dedicated);
		return;
	}
	for (unsigned i = 0; i < T1_MAX_HARTS; i++) {
		struct t1_hart *h = &t1.harts[i];
		if (h->online && !h->dedicated && h->idle) {
			t1_kick(i);
			return;
		}
	}
}

/* Wake the blocked vCPUs of h's set that have an enabled interrupt pending. */
static void wake_scan(struct t1_hart *h, u64 now)
{
	struct t1_vcpu *c;
	for_each_vcpu(c, vi, ci) if (mine(h, c) && c->run == VC_BLOCKED &&
				     t1_vcpu_wake_pending(c, now)) t1_sched_make_runnable_locked(c);
}

static struct t1_vcpu *pick(struct t1_hart *h, u64 now, struct t1_vcpu *except)
{
	struct t1_vcpu *c, *best = NULL;
	for_each_vcpu(c, vi, ci)
	{
		if (c == except || !mine(h, c) || c->run != VC_RUNNABLE ||
		    c->tvm->req != T1_REQ_NONE || c->tvm->finalizing)
			continue;
		if (c->dedicated < 0 && capped(c->tvm, now))
			continue;
		if (!best || c->vtime < best->vtime)
			best = c;
	}
	return best;
}

/* When a sleeping hart must look again: a blocked vCPU's timer, a cap period's end. */
static u64 next_wake(struct t1_hart *h, u64 now)
{
	struct t1_vcpu *c;
	u64 w = ~0ULL;
	for_each_vcpu(c, vi, ci)
	{
		if (!mine(h, c))
			continue;
		if (c->run == VC_BLOCKED && (c->vsie & DUO_BIT(IRQ_S_TIMER))) {
			u64 d = t1_vcpu_timer_deadline(c);
			if (d > now && d < w)
				w = d;
		}
		if (c->run == VC_RUNNABLE && c->dedicated < 0 && capped(c->tvm, now)) {
			u64 d = (now / T1_CAP_PERIOD_TICKS + 1) * T1_CAP_PERIOD_TICKS;
			if (d < w)
				w = d;
		}
	}
	return w;
}

/* ---- the hart loop -------------------------------------------------------------------- */

static struct t1_vcpu *sched_next(struct t1_hart *h)
{
	for (;;) {
		u64 now = t1_rdtime();
		/*
		 * idle is set before looking, so whoever makes a vCPU runnable after our look
		 * sees it and kicks us: the kick then cuts the wfi below short.
		 */
		__atomic_store_n(&h->idle, 1, __ATOMIC_SEQ_CST);
		duo_lock(&t1.sched_lock);
		wake_scan(h, now);
		struct t1_vcpu *c = pick(h, now, NULL);
		if (c) {
			__atomic_store_n(&c->hart, (s32)h->index, __ATOMIC_SEQ_CST);
			__atomic_store_n(&c->run, VC_RUNNING, __ATOMIC_SEQ_CST);
			__atomic_store_n(&h->idle, 0, __ATOMIC_SEQ_CST);
			duo_unlock(&t1.sched_lock);
			return c;
		}
		u64 when = next_wake(h, now);
		duo_unlock(&t1.sched_lock);

		if (h->console) {
			t1_vcon_tick();
			if (now + T1_SLICE_TICKS < when)
				when = now + T1_SLICE_TICKS;
		}
		t1_timer_arm(h, when);
		if (!__atomic_load_n(&h->kicked, __ATOMIC_SEQ_CST) &&
		    !(csr_read(sip) & (MIP_SSIP | MIP_STIP)))
			t1_wfi();
		csr_clear(sip, MIP_SSIP);
		__atomic_store_n(&h->kicked, 0, __ATOMIC_SEQ_CST);
		if (csr_read(sip) & MIP_STIP)
			t1_timer_arm(h, ~0ULL); /* re-armed with the right value next round */
		h->idle_ticks += t1_rdtime() - now;
	}
}

static void sched_done(struct t1_hart *h, struct t1_vcpu *c, enum t1_exit why)
{
	bool finalize = false;
	u64 now = t1_rdtime();
	duo_lock(&t1.sched_lock);
	charge(c, now);
	__atomic_store_n(&c->hart, -1, __ATOMIC_SEQ_CST);
	if (c->tvm->req != T1_REQ_NONE)
		why = T1_LEAVE;
	switch (why) {
	case T1_CONTINUE:
	case T1_PREEMPT:
		__atomic_store_n(&c->run, VC_RUNNABLE, __ATOMIC_SEQ_CST);
		break;
	case T1_BLOCK:
		__atomic_store_n(&c->run, VC_BLOCKED, __ATOMIC_SEQ_CST);
		/* An interrupt that arrived while it was leaving must not be lost. */
		if (t1_vcpu_wake_pending(c, now))
			t1_sched_make_runnable_locked(c);
		break;
	case T1_HART_STOP:
		__atomic_store_n(&c->run, VC_OFF, __ATOMIC_SEQ_CST);
		if (c->start_pending)
			t1_sched_make_runnable_locked(c);
		break;
	case T1_LEAVE:
		t1_vmm_vcpu_left_locked(c, &finalize);
		break;
	}
	h->switches++;
	duo_unlock(&t1.sched_lock);
	if (finalize)
		t1_vmm_finalize(c->tvm);
}

static void arm_for(struct t1_hart *h, struct t1_vcpu *c, u64 now)
{
	u64 when = h->dedicated ? ~0ULL : h->slice_end;
	if (!t1.sstc && c->timer_deadline > now && c->timer_deadline < when)
		when = c->timer_deadline;
	struct t1_vm *tvm = c->tvm;
	if (!h->dedicated && tvm->vm.cfg.cpu_cap_pct &&
	    tvm->cap_period == now / T1_CAP_PERIOD_TICKS) {
		u64 b = cap_budget(tvm), used = tvm->cap_used + (now - c->run_start);
		u64 at = used >= b ? now + 1000 : now + (b - used);
		if (at < when)
			when = at;
	}
	t1_timer_arm(h, when);
}

static enum t1_exit run_vcpu(struct t1_hart *h, struct t1_vcpu *c)
{
	for (;;) {
		if (__atomic_load_n(&c->tvm->req, __ATOMIC_SEQ_CST) != T1_REQ_NONE)
			return T1_LEAVE;
		arm_for(h, c, t1_rdtime());
		__atomic_store_n(&c->in_guest, 1, __ATOMIC_SEQ_CST);
		t1_vcpu_prepare_entry(h, c);
		t1_guest_run(&c->ctx);
		__atomic_store_n(&c->in_guest, 0, __ATOMIC_SEQ_CST);
		enum t1_exit r = t1_handle_exit(h, c);
		if (r != T1_CONTINUE)
			return r;
	}
}

enum t1_exit t1_sched_tick(struct t1_hart *h, struct t1_vcpu *c)
{
	u64 now = t1_rdtime();
	if (now < h->slice_end) {
		/* early: a fallback guest timer or a cap deadline; arm_for re-arms */
		if (!h->dedicated && c->tvm->vm.cfg.cpu_cap_pct) {
			duo_lock(&t1.sched_lock);
			charge(c, now);
			bool out = capped(c->tvm, now);
			duo_unlock(&t1.sched_lock);
			if (out)
				return T1_PREEMPT;
		}
		return T1_CONTINUE;
	}
	if (now - h->slice_end > h->max_late) {
		/*
		 * The HS timer came this late: the vCPU kept the hart (and is charged for it)
		 * that long. On QEMU this is the host not running QEMU's timer or vCPU thread
		 * in time; said once per new worst case above 250 ms, to explain a stall.
		 */
		h->max_late = now - h->slice_end;
		if (h->max_late > 25 * T1_SLICE_TICKS)
			t1_printf("[duovisor] hart %u: scheduler tick %llu ms late (vCPU %u of %s "
				  "ran "
				  "on)\n",
				  h->index,
				  (unsigned long long)(h->max_late / (PLAT_TIMEBASE_HZ / 1000)),
				  c->v->id, c->tvm->vm.cfg.name);
	}
	h->slice_end = now + T1_SLICE_TICKS;
	h->ticks++;
	if (h->console)
		t1_vcon_tick();
	if (h->dedicated)
		return T1_CONTINUE;
	duo_lock(&t1.sched_lock);
	charge(c, now);
	wake_scan(h, now);
	struct t1_vcpu *other = pick(h, now, c);
	bool preempt = capped(c->tvm, now) || (other && other->vtime < c->vtime);
	duo_unlock(&t1.sched_lock);
	h->preempts += preempt;
	return preempt ? T1_PREEMPT : T1_CONTINUE;
}

void t1_sched_wake(struct t1_vcpu *c)
{
	duo_lock(&t1.sched_lock);
	if (c->run == VC_BLOCKED && t1_vcpu_wake_pending(c, t1_rdtime()))
		t1_sched_make_runnable_locked(c);
	duo_unlock(&t1.sched_lock);
}

void t1_hart_main(struct t1_hart *h)
{
	__atomic_store_n(&h->online, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct t1_vcpu *c = sched_next(h);
		t1_vcpu_load(h, c);
		h->run_t0 = t1_rdtime();
		h->slice_end = h->run_t0 + T1_SLICE_TICKS;
		enum t1_exit why = run_vcpu(h, c);
		t1_vcpu_put(h, c);
		h->busy_ticks += t1_rdtime() - h->run_t0;
		sched_done(h, c, why);
	}
}

int t1_sched_assign(char *err, size_t errlen)
{
	unsigned next = 0;
	for (unsigned v = 0; v < t1.nvms; v++) {
		struct t1_vm *tvm = t1.vms[v];
		if (tvm->vm.cfg.cpu_policy != CPU_DEDICATED)
			continue;
		for (unsigned i = 0; i < tvm->vm.nvcpus; i++) {
			/* the next present hart that is not the boot (console) hart */
			while (next < T1_MAX_HARTS &&
			       (!t1.harts[next].present || next == t1.boot_hartid ||
				t1.harts[next].dedicated))
				next++;
			if (next >= T1_MAX_HARTS) {
				duo_snprintf(
					err, errlen,
					"%s: cpu_policy: not enough harts for its dedicated vCPUs",
					tvm->vm.cfg.name);
				return -1;
			}
			t1.harts[next].dedicated = &tvm->vc[i];
			tvm->vc[i].dedicated = (s32)next;
			/* its WFI runs natively: the hart is its own */
			tvm->vc[i].ctx.hstatus &= ~HSTATUS_VTW;
		}
	}
	t1.harts[t1.boot_hartid].console = true;
	return 0;
}
