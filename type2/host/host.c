/*
 * host.c - type 2's implementation of the core's door, duo/host.h: time from
 * CLOCK_MONOTONIC, vCPU control by poking the emulator's shared fields and waking the
 * vCPU's thread, console bytes into the per-VM ring the main thread drains, logging to
 * stderr, memory from calloc, entropy from getrandom. The block functions live in blk.c
 * (virtio engineer). Also the doorbell the vCPU threads ring to wake the main thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/host.h>
#include <duo/vm.h>
#include "t2.h"

int t2_log_level = LOG_INFO;

u64 t2_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* ---- time ------------------------------------------------------------------------ */

static u64 process_t0_ns;

__attribute__((constructor)) static void host_t0_init(void)
{
	process_t0_ns = t2_now_ns();
}

u64 host_time_now(struct vm *vm)
{
	struct t2_vm *tvm = vm ? vm->host : NULL;
	u64 t0 = tvm ? tvm->t0_ns : process_t0_ns;
	u64 now = t2_now_ns();
	/* 10 MHz: one tick per 100 ns. A VM's epoch is its first start, kept across reboots,
	 * so the time CSR never goes backwards. */
	return now > t0 ? (now - t0) / (1000000000ULL / PLAT_TIMEBASE_HZ) : 0;
}

/* ---- vCPU control ------------------------------------------------------------------ */

static struct t2_vcpu *tvcpu(struct vcpu *v)
{
	return v ? v->host : NULL; /* NULL while vm_init runs, before machine.c links them */
}

void host_vcpu_set_timer(struct vcpu *v, u64 deadline)
{
	struct t2_vcpu *tv = tvcpu(v);
	if (!tv)
		return;
	/* In type 2 the SBI timer and Sstc's stimecmp are one comparator: STIP is computed
	 * from time >= stimecmp, so a future deadline clears it by itself. */
	__atomic_store_n(&tv->cpu.stimecmp, deadline, __ATOMIC_RELEASE);
	/* SBI set_timer comes from the vCPU's own thread, which is awake; only another
	 * thread's call must wake it to recompute its wfi deadline. */
	if (t2_self != tv)
		t2_vcpu_wake(tv);
}

void host_vcpu_set_irq(struct vcpu *v, unsigned irq, bool level)
{
	struct t2_vcpu *tv = tvcpu(v);
	if (!tv || irq >= 64)
		return;
	rv_cpu_set_irq(&tv->cpu, irq, level);
	if (level)
		t2_vcpu_wake(tv);
}

void host_vcpu_fence(struct vcpu *v, enum host_fence kind, u64 start, u64 size, u64 asid)
{
	struct t2_vcpu *tv = tvcpu(v);
	if (!tv)
		return;
	/* The emulator flushes whole caches: ranges and ASIDs only narrow what must go. */
	u32 what = kind == HOST_FENCE_I ? 2u : 1u;
	rv_cpu_request_fence(&tv->cpu, what);
	__atomic_store_n(&tv->cpu.kick, 1, __ATOMIC_SEQ_CST);
	/*
	 * The fence must be complete before the requester's SBI call returns. A target
	 * outside rv_cpu_run applies it before its next instruction; one inside acknowledges
	 * by clearing the request at an instruction boundary, or leaves because of the kick.
	 * Never wait for ourselves (we are in an ecall, not in rv_cpu_run).
	 */
	while (__atomic_load_n(&tv->in_run, __ATOMIC_SEQ_CST) &&
	       (__atomic_load_n(&tv->cpu.fence_req, __ATOMIC_SEQ_CST) & what))
		sched_yield();
}

int host_vcpu_start(struct vcpu *v, u64 pc, u64 opaque)
{
	struct t2_vcpu *tv = tvcpu(v);
	int r = 0;
	if (!tv)
		return DUO_EINVAL;
	pthread_mutex_lock(&tv->mu);
	if (tv->start_req) {
		r = DUO_EBUSY;
	} else {
		/* The target's own thread resets its rv_cpu and sets STARTED (vcpu.c): its
		 * registers are only ever touched by that thread. */
		tv->start_req = true;
		tv->start_pc = pc;
		tv->start_opaque = opaque;
		tv->wake = true;
		pthread_cond_signal(&tv->cond);
	}
	pthread_mutex_unlock(&tv->mu);
	return r;
}

/* ---- console ----------------------------------------------------------------------- */

void host_console_write(struct vm *vm, const char *buf, size_t n)
{
	struct t2_vm *tvm = vm ? vm->host : NULL;
	if (!tvm || !n)
		return;
	struct t2_con *c = &tvm->con;
	bool was_empty;
	pthread_mutex_lock(&c->mu);
	was_empty = c->len == 0;
	size_t room = T2_CON_RING - c->len;
	size_t take = n < room ? n : room;
	u32 tail = (c->head + c->len) % T2_CON_RING;
	size_t first = take < T2_CON_RING - tail ? take : T2_CON_RING - tail;
	memcpy(c->ring + tail, buf, first);
	memcpy(c->ring, buf + first, take - first);
	c->len += (u32)take;
	c->dropped += n - take;
	pthread_mutex_unlock(&c->mu);
	if (was_empty || take < n)
		t2_doorbell();
}

/* ---- logging ----------------------------------------------------------------------- */

#define LOG_BURST 50   /* lines a VM may log at once ... */
#define LOG_PER_SEC 10 /* ... and then per second, so a guest cannot flood stderr */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static u32 nolog_tokens;
static u64 nolog_refill_ns, nolog_suppressed;

/* Token bucket; returns false when this line must be dropped. Under log_mu. */
static bool log_admit(u32 *tokens, u64 *refill_ns, u64 *suppressed, u64 *report)
{
	u64 now = t2_now_ns();
	if (*refill_ns == 0) {
		*refill_ns = now;
		*tokens = LOG_BURST;
	}
	u64 add = (now - *refill_ns) / (1000000000ULL / LOG_PER_SEC);
	if (add) {
		*tokens = (u32)DUO_MIN((u64)LOG_BURST, *tokens + add);
		*refill_ns = now;
	}
	*report = 0;
	if (!*tokens) {
		(*suppressed)++;
		return false;
	}
	(*tokens)--;
	*report = *suppressed;
	*suppressed = 0;
	return true;
}

void host_log(struct vm *vm, int level, const char *msg)
{
	static const char *const lvl[] = { "error: ", "warning: ", "", "debug: " };
	struct t2_vm *tvm = vm ? vm->host : NULL;
	char line[512];
	u64 dropped;
	int n;

	if (level > t2_log_level)
		return;
	pthread_mutex_lock(&log_mu);
	bool ok = tvm ? log_admit(&tvm->log_tokens, &tvm->log_refill_ns, &tvm->log_suppressed,
				  &dropped)
		      : log_admit(&nolog_tokens, &nolog_refill_ns, &nolog_suppressed, &dropped);
	pthread_mutex_unlock(&log_mu);
	if (!ok)
		return;
	if (level < 0 || level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (vm && vm->cfg.name[0])
		n = snprintf(line, sizeof(line), "duovisor: [%s] %s%s", vm->cfg.name, lvl[level],
			     msg);
	else
		n = snprintf(line, sizeof(line), "duovisor: %s%s", lvl[level], msg);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 64)
		n = (int)sizeof(line) - 64;
	if (dropped)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " (%llu earlier lines suppressed)", (unsigned long long)dropped);
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write: lines from different threads never interleave. */
	t2_console_log_line(line, (size_t)n);
}

/* ---- memory, misc ------------------------------------------------------------------- */

void *host_zalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

void host_free(void *p)
{
	free(p);
}

void host_relax(void)
{
	sched_yield();
}

int host_entropy(void *buf, size_t n)
{
	u8 *b = buf;
	while (n) {
		ssize_t r = getrandom(b, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return DUO_EIO;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- the main thread's doorbell ----------------------------------------------------- */

static int bell_fd = -1;
static pthread_once_t bell_once = PTHREAD_ONCE_INIT;
static volatile u32 bell_armed;

static void bell_init(void)
{
	bell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int t2_doorbell_fd(void)
{
	pthread_once(&bell_once, bell_init);
	return bell_fd;
}

void t2_doorbell_arm(void)
{
	__atomic_store_n(&bell_armed, 1, __ATOMIC_SEQ_CST);
}

void t2_doorbell(void)
{
	/* Producers publish their work before ringing; the main thread arms before it looks
	 * for work, so either it sees the work or we see it armed. */
	if (__atomic_exchange_n(&bell_armed, 0, __ATOMIC_SEQ_CST)) {
		u64 one = 1;
		int fd = t2_doorbell_fd();
		if (fd >= 0) {
			ssize_t w = write(fd, &one, sizeof(one));
			(void)w;
		}
	}
}

void t2_doorbell_clear(void)
{
	u64 v;
	int fd = t2_doorbell_fd();
	if (fd >= 0) {
		ssize_t r = read(fd, &v, sizeof(v));
		(void)r;
	}
}
