/*
 * vcpu.h - the core's view of a virtual hart: its id and SBI HSM state. The
 * architectural state (registers, CSRs) belongs to the backend (type2's emulator or
 * type1's world-switch context), reached through `host`.
 */
#ifndef DUO_VCPU_H
#define DUO_VCPU_H

#include <duo/types.h>

struct vm;

/* SBI HSM states (SBI spec, chapter HSM). */
enum hsm_state {
	HSM_STARTED = 0,
	HSM_STOPPED = 1,
	HSM_START_PENDING = 2,
	HSM_STOP_PENDING = 3,
	HSM_SUSPENDED = 4,
	HSM_SUSPEND_PENDING = 5,
	HSM_RESUME_PENDING = 6,
};

/* S-level interrupt numbers, as the guest sees them in sip/sie. */
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9

struct vcpu {
	struct vm *vm;
	u32 id; /* the hart id the guest sees: 0..nvcpus-1 */
	volatile u32 hsm_state; /* enum hsm_state; changed with __atomic ops */
	void *host; /* backend's per-vCPU state */
};

#endif
