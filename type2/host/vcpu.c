/*
 * vcpu.c - the body of each vCPU thread in type 2: run the emulator in slices of
 * T2_RUN_BUDGET instructions and act on why it stopped - an S-mode ecall goes to the
 * core's SBI (sbi_dispatch) and its action is carried out here (suspend, hart stop,
 * shutdown, reboot); wfi sleeps on the vCPU's condition variable until an interrupt, the
 * timer deadline or a wake-up; a stopped hart sleeps until HSM hart_start.
 *
 * Only this thread touches its rv_cpu's registers. Other threads reach it through the
 * emulator's atomic fields and through start_req/wake under tv->mu (host.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>

#include <duo/log.h>
#include <duo/sbi.h>
#include <duo/vcpu.h>
#include <duo/vm.h>
#include "t2.h"

/* Longest single sleep: bounds how late a missed wake-up could ever be noticed. */
#define MAX_SLEEP_NS 1000000000ULL

__thread struct t2_vcpu *t2_self;

static bool stopping(const struct t2_vcpu *tv)
{
	return __atomic_load_n(&tv->tvm->stop, __ATOMIC_ACQUIRE) != T2_RUNNING;
}

void t2_vcpu_wake(struct t2_vcpu *tv)
{
	pthread_mutex_lock(&tv->mu);
	tv->wake = true;
	pthread_cond_signal(&tv->cond);
	pthread_mutex_unlock(&tv->mu);
}

void t2_vcpu_kick(struct t2_vcpu *tv)
{
	__atomic_store_n(&tv->cpu.kick, 1, __ATOMIC_SEQ_CST);
	t2_vcpu_wake(tv);
}

/* Absolute CLOCK_MONOTONIC time at which the guest's stimecmp fires, capped. */
static struct timespec deadline_ts(struct t2_vcpu *tv)
{
	u64 now = t2_now_ns();
	u64 cmp = __atomic_load_n(&tv->cpu.stimecmp, __ATOMIC_ACQUIRE);
	u64 tnow = host_time_now(&tv->tvm->vm);
	u64 wait = MAX_SLEEP_NS;
	/* A deadline already past cannot change what is pending (the caller checked), so it
	 * does not shorten the sleep: that would spin while STIE is off. */
	if (cmp > tnow && cmp - tnow < MAX_SLEEP_NS / 100)
		wait = (cmp - tnow) * 100; /* ticks are 100 ns */
	u64 at = now + wait;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ULL),
			       .tv_nsec = (long)(at % 1000000000ULL) };
	return ts;
}

/*
 * Sleep until an interrupt would wake a wfi, the timer fires, the VM stops or (unless
 * strict) anything woke us. A wfi may wake spuriously; a suspended hart may not.
 */
static void wait_irq(struct t2_vcpu *tv, bool strict)
{
	__atomic_store_n(&tv->where, T2_W_WFI, __ATOMIC_RELAXED);
	pthread_mutex_lock(&tv->mu);
	for (;;) {
		if (stopping(tv) || rv_cpu_irq_pending(&tv->cpu))
			break;
		if (tv->wake && !strict)
			break;
		tv->wake = false;
		struct timespec ts = deadline_ts(tv);
		pthread_cond_timedwait(&tv->cond, &tv->mu, &ts);
	}
	tv->wake = false;
	pthread_mutex_unlock(&tv->mu);
}

static bool all_harts_stopped(struct t2_vm *tvm)
{
	for (u32 i = 0; i < tvm->vm.nvcpus; i++)
		if (__atomic_load_n(&tvm->vm.vcpus[i].hsm_state, __ATOMIC_SEQ_CST) != HSM_STOPPED)
			return false;
	return true;
}

/* A stopped hart: sleep until hart_start (then boot at its address) or the VM stops.
 * Returns false when the VM stops. */
static bool wait_start(struct t2_vcpu *tv)
{
	struct t2_vm *tvm = tv->tvm;
	u64 pc, opaque;

	__atomic_store_n(&tv->where, T2_W_STOPPED, __ATOMIC_RELAXED);
	pthread_mutex_lock(&tv->mu);
	/* Every hart stopped and nobody left to start one: the guest can never run again. */
	if (!tv->start_req && all_harts_stopped(tvm)) {
		pthread_mutex_unlock(&tv->mu);
		t2_vm_stop(tvm, T2_STOP_CRASH, "every hart stopped (HSM hart_stop on all harts)");
		return false;
	}
	while (!tv->start_req && !stopping(tv))
		pthread_cond_wait(&tv->cond, &tv->mu);
	if (!tv->start_req) {
		pthread_mutex_unlock(&tv->mu);
		return false;
	}
	pc = tv->start_pc;
	opaque = tv->start_opaque;
	tv->start_req = false;
	tv->wake = false;
	pthread_mutex_unlock(&tv->mu);

	rv_cpu_reset(&tv->cpu, pc, tv->v->id, opaque);
	__atomic_store_n(&tv->v->hsm_state, HSM_STARTED, __ATOMIC_SEQ_CST);
	return true;
}

/* Leave a suspend: SUSPENDED -> STARTED (a concurrent change by the core wins). */
static void resume_state(struct t2_vcpu *tv)
{
	u32 want = HSM_SUSPENDED;
	__atomic_compare_exchange_n(&tv->v->hsm_state, &want, HSM_STARTED, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static void do_ecall(struct t2_vcpu *tv)
{
	struct rv_cpu *c = &tv->cpu;
	struct t2_vm *tvm = tv->tvm;
	struct sbi_result r = { 0 };
	u64 a[8];

	__atomic_store_n(&tv->where, T2_W_SBI, __ATOMIC_RELAXED);
	for (int i = 0; i < 8; i++)
		a[i] = c->x[10 + i];
	sbi_dispatch(tv->v, a, &r);
	c->x[10] = (u64)r.error;
	if (!r.legacy)
		c->x[11] = (u64)r.value;
	c->pc += 4;

	switch (r.action) {
	case SBI_ACT_NONE:
		break;
	case SBI_ACT_WFI:
		wait_irq(tv, true);
		resume_state(tv);
		break;
	case SBI_ACT_HART_STOP:
		/* The core already set STOPPED; the run loop parks us in wait_start. */
		break;
	case SBI_ACT_HART_RESUME:
		wait_irq(tv, true);
		if (stopping(tv))
			break;
		rv_cpu_reset(c, r.resume_addr, tv->v->id, r.resume_opaque);
		resume_state(tv);
		break;
	case SBI_ACT_SHUTDOWN:
		t2_vm_stop(tvm, T2_STOP_POWEROFF, "powered off");
		break;
	case SBI_ACT_REBOOT:
		t2_vm_stop(tvm, T2_STOP_REBOOT, "reboot requested");
		break;
	default:
		t2_vm_stop(tvm, T2_STOP_CRASH, "unknown SBI action %d", (int)r.action);
		break;
	}
}

void *t2_vcpu_thread(void *arg)
{
	struct t2_vcpu *tv = arg;
	struct rv_cpu *c = &tv->cpu;
	struct t2_vm *tvm = tv->tvm;

	t2_self = tv;
	while (!stopping(tv)) {
		u32 st = __atomic_load_n(&tv->v->hsm_state, __ATOMIC_SEQ_CST);
		if (st == HSM_STOPPED || st == HSM_START_PENDING) {
			if (!wait_start(tv))
				break;
			continue;
		}
		__atomic_store_n(&tv->where, T2_W_RUN, __ATOMIC_RELAXED);
		__atomic_store_n(&tv->in_run, 1, __ATOMIC_SEQ_CST);
		enum rv_exit e = rv_cpu_run(c, T2_RUN_BUDGET);
		__atomic_store_n(&tv->in_run, 0, __ATOMIC_SEQ_CST);
		switch (e) {
		case RV_EXIT_BUDGET:
			break;
		case RV_EXIT_ECALL:
			do_ecall(tv);
			break;
		case RV_EXIT_WFI:
			wait_irq(tv, false);
			break;
		case RV_EXIT_HALT:
			t2_vm_stop(tvm, T2_STOP_CRASH, "crashed on hart %u at pc 0x%llx: %s",
				   tv->v->id, (unsigned long long)c->pc,
				   c->halt_reason ? c->halt_reason : "emulator halted");
			break;
		default:
			t2_vm_stop(tvm, T2_STOP_CRASH, "emulator returned %d", (int)e);
			break;
		}
	}
	__atomic_store_n(&tv->where, T2_W_EXITED, __ATOMIC_RELAXED);
	t2_doorbell();
	return NULL;
}
