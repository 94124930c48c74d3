/*
 * cpu.c - the type-2 emulator's entry points (cpu.h): creating and resetting a vCPU,
 * the outer run loop that slices the instruction budget into chunks for the
 * interpreter (exec.c), and everything that happens between chunks: fences asked for
 * by other threads, kicks, and taking interrupts (priority SEI > SSI > STI, taken in
 * U-mode or when sstatus.SIE is set). Trap entry for exceptions and interrupts lives
 * here too.
 */
#include <stdlib.h>

#include <duo/err.h>
#include <duo/host.h>
#include "rv_internal.h"
#include "fpu_host.h"
#include "jit.h"

/* Instructions per chunk: the interrupt latency bound, in instructions (a few microseconds).
 * Every chunk boundary costs a clock read (the timer) and leaving and re-entering the
 * interpreter and any translated loop, so it must not be too small either. */
#define RV_CHUNK 2048

void rv_update_view(struct rv_cpu *c)
{
	struct rv_state *st = rv_st(c);
	int set = c->priv == RV_PRIV_U	       ? RV_TLBSET_U
		  : (c->mstatus & SSTATUS_SUM) ? RV_TLBSET_SUM
					       : RV_TLBSET_S;
	if (st->cur != &st->tlb[set]) {
		st->cur = &st->tlb[set];
		st->refetch = true;
	}
}

u64 rv_sip(struct rv_cpu *c)
{
	u64 p = c->sip_sw | (__atomic_load_n(&c->irq_lines, __ATOMIC_ACQUIRE) & SIE_MASK);
	if (c->stimecmp != UINT64_MAX && host_time_now(c->vm) >= c->stimecmp)
		p |= SIP_STIP;
	return p;
}

void rv_take_trap(struct rv_cpu *c, u64 cause, u64 tval)
{
	bool intr = cause & RV_CAUSE_INTR;
	u64 code = cause & ~RV_CAUSE_INTR;
	u64 base = c->stvec & ~3ULL;
	if (!intr && (code == RV_EXC_INSN_PAGE || code == RV_EXC_INSN_ACCESS) && c->pc == base) {
		/* The handler itself cannot be fetched: it would fault forever. */
		c->halt_reason = "instruction fetch fault at the trap vector (stvec)";
		return;
	}
	c->sepc = c->pc;
	c->scause = cause;
	c->stval = tval;
	u64 s = c->mstatus & ~(SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE);
	if (c->priv == RV_PRIV_S)
		s |= SSTATUS_SPP;
	if (c->mstatus & SSTATUS_SIE)
		s |= SSTATUS_SPIE;
	c->mstatus = s;
	c->priv = RV_PRIV_S;
	c->pc = base + ((intr && (c->stvec & 1)) ? 4 * code : 0);
	c->resv_valid = false;
	rv_update_view(c);
}

bool rv_cpu_irq_pending(struct rv_cpu *c)
{
	return (rv_sip(c) & c->sie) != 0;
}

/* Take the highest-priority enabled interrupt, if any may be taken now. */
static bool take_interrupt(struct rv_cpu *c)
{
	if (c->priv == RV_PRIV_S && !(c->mstatus & SSTATUS_SIE))
		return false;
	if (!c->sie)
		return false;
	u64 p = rv_sip(c) & c->sie;
	if (!p)
		return false;
	unsigned irq = (p & SIP_SEIP) ? IRQ_S_EXT : (p & SIP_SSIP) ? IRQ_S_SOFT : IRQ_S_TIMER;
	rv_take_trap(c, RV_CAUSE_INTR | irq, 0);
	return true;
}

static void do_fences(struct rv_cpu *c)
{
	struct rv_state *st = rv_st(c);
	if (st->flush_why) { /* the arena or the translator's buffer is full, or fence.i */
		unsigned why = st->flush_why;
		st->flush_why = 0;
		rv_code_flush_if(c, st->flush_gen, why);
	}
	u32 f = __atomic_load_n(&c->fence_req, __ATOMIC_ACQUIRE);
	if (!f)
		return;
	if (f & RV_FENCE_TLB)
		rv_tlb_flush_all(c);
	if (f & RV_FENCE_CODE)
		rv_code_flush_if(c, __atomic_load_n(&st->fence_gen, __ATOMIC_ACQUIRE),
				 RV_FLUSH_REMOTE);
	__atomic_and_fetch(&c->fence_req, ~f, __ATOMIC_RELEASE);
}

enum rv_exit rv_cpu_run(struct rv_cpu *c, u64 budget)
{
	struct rv_state *st = rv_st(c);
	if (c->halt_reason)
		return RV_EXIT_HALT;
	rv_fp_host_enter();
	while (budget) {
		do_fences(c);
		take_interrupt(c);
		if (c->halt_reason)
			return RV_EXIT_HALT;
		u64 n = budget < RV_CHUNK ? budget : RV_CHUNK, done = 0;
		rv_code_enter(st);
		int r = rv_exec(c, n, &done);
		rv_code_exit(st);
		c->instret += done;
		budget -= done < budget ? done : budget;
		if (r != RV_CONT)
			return (enum rv_exit)r;
		if (__atomic_load_n(&c->kick, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&c->kick, 0, __ATOMIC_RELEASE);
			do_fences(c);
			take_interrupt(c);
			return RV_EXIT_BUDGET;
		}
	}
	if (st->flush_why) /* the last chunk ended for it: no stale code on the next run */
		do_fences(c);
	return RV_EXIT_BUDGET;
}

void rv_cpu_set_irq(struct rv_cpu *c, unsigned irq, bool level)
{
	if (irq >= 64)
		return;
	if (level)
		__atomic_or_fetch(&c->irq_lines, DUO_BIT(irq), __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&c->irq_lines, ~DUO_BIT(irq), __ATOMIC_SEQ_CST);
	if (!level && irq == IRQ_S_SOFT)
		c->sip_sw &= ~SIP_SSIP; /* legacy clear_ipi, on the vCPU's own thread */
	__atomic_store_n(&c->kick, 1, __ATOMIC_RELEASE);
}

void rv_cpu_request_fence(struct rv_cpu *c, u32 what)
{
	if (what & RV_FENCE_CODE) {
		/* Remember the newest code generation asked about: any flush after it will do
		 * (the requester's stores came before this read, bcache.c). */
		struct rv_state *st = rv_st(c);
		u32 g = __atomic_load_n(&st->code->gen, __ATOMIC_SEQ_CST);
		u32 cur = __atomic_load_n(&st->fence_gen, __ATOMIC_RELAXED);
		while ((s32)(g - cur) > 0 &&
		       !__atomic_compare_exchange_n(&st->fence_gen, &cur, g, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			;
	}
	__atomic_or_fetch(&c->fence_req, what, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->kick, 1, __ATOMIC_RELEASE);
}

void rv_cpu_reset(struct rv_cpu *c, u64 pc, u64 a0, u64 a1)
{
	memset(c->x, 0, sizeof(c->x));
	memset(c->f, 0, sizeof(c->f));
	c->pc = pc;
	c->x[10] = a0;
	c->x[11] = a1;
	c->fcsr = 0;
	c->priv = RV_PRIV_S;
	c->mstatus = SSTATUS_FS_INITIAL;
	c->stvec = c->sscratch = c->sepc = c->scause = c->stval = c->satp = c->senvcfg = 0;
	c->scounteren = 7;
	c->stimecmp = UINT64_MAX;
	c->sie = 0;
	c->sip_sw = 0;
	c->resv_valid = false;
	c->resv_addr = 0;
	c->halt_reason = NULL;
	rv_st(c)->cur = NULL;
	rv_update_view(c);
	rv_tlb_flush_all(c);
	rv_code_flush(c);
	__atomic_store_n(&c->fence_req, 0, __ATOMIC_RELEASE);
}

int rv_cpu_init(struct rv_cpu *c, struct vm *vm, struct vcpu *vcpu)
{
	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->vcpu = vcpu;
	struct rv_state *st = aligned_alloc(64, DUO_ALIGN_UP(sizeof(*st), 64));
	if (!st)
		return DUO_ENOMEM;
	memset(st, 0, sizeof(*st));
	if (rv_code_join(st, vm)) {
		free(st);
		return DUO_ENOMEM;
	}
	c->priv_data = st;
	rv_cpu_reset(c, 0, 0, 0);
	return 0;
}

void rv_cpu_destroy(struct rv_cpu *c)
{
	struct rv_state *st = rv_st(c);
	if (!st)
		return;
	rv_code_leave(st);
	free(st);
	c->priv_data = NULL;
}
