/*
 * hsm.c - SBI Hart State Management extension (EID "HSM"): start, stop, query and
 * suspend the vCPUs of the caller's VM.
 *
 * A vCPU's state lives in vcpu->hsm_state and only moves by atomic operations, so two
 * vCPUs racing to start the same hart cannot both win: the winner moves it STOPPED ->
 * START_PENDING and asks the backend to run it; the backend makes it STARTED. Stopping
 * and suspending are actions the backend carries out for the calling vCPU after the
 * result is written back. Addresses a guest wants executed must lie in its RAM.
 */
#include <duo/host.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

#include "sbi_priv.h"

enum {
	HSM_HART_START = 0,
	HSM_HART_STOP = 1,
	HSM_HART_GET_STATUS = 2,
	HSM_HART_SUSPEND = 3,
};

#define HSM_SUSPEND_RET_DEFAULT 0x00000000u
#define HSM_SUSPEND_NONRET_DEFAULT 0x80000000u

/* The vCPU with hart id `hartid` in v's VM, or NULL (never another VM's). */
static struct vcpu *hsm_target(struct vcpu *v, u64 hartid)
{
	struct vm *vm = v->vm;

	return hartid < vm->nvcpus ? &vm->vcpus[hartid] : NULL;
}

/* S-mode may start executing at addr: it is in RAM and 2-byte aligned (IALIGN=16). */
static bool hsm_addr_ok(struct vm *vm, u64 addr)
{
	return !(addr & 1) && vm_gpa_ptr(vm, addr, 2) != NULL;
}

static long hsm_hart_start(struct vcpu *v, u64 hartid, u64 addr, u64 opaque)
{
	struct vcpu *t = hsm_target(v, hartid);
	u32 expected = HSM_STOPPED;

	if (!t)
		return SBI_ERR_INVALID_PARAM;
	if (!hsm_addr_ok(v->vm, addr))
		return SBI_ERR_INVALID_ADDRESS;
	if (!__atomic_compare_exchange_n(&t->hsm_state, &expected, HSM_START_PENDING, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return SBI_ERR_ALREADY_AVAILABLE;
	if (host_vcpu_start(t, addr, opaque)) {
		/* Undo only our own START_PENDING; the backend may have moved on. */
		expected = HSM_START_PENDING;
		__atomic_compare_exchange_n(&t->hsm_state, &expected, HSM_STOPPED, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return SBI_ERR_FAILED;
	}
	return SBI_SUCCESS;
}

static long hsm_hart_suspend(struct vcpu *v, u32 type, u64 addr, u64 opaque,
			     struct sbi_result *r)
{
	if (type == HSM_SUSPEND_RET_DEFAULT) {
		r->action = SBI_ACT_WFI;
		return SBI_SUCCESS;
	}
	/* Reserved and platform-specific types: we implement none of them. */
	if (type != HSM_SUSPEND_NONRET_DEFAULT)
		return SBI_ERR_INVALID_PARAM;
	if (!hsm_addr_ok(v->vm, addr))
		return SBI_ERR_INVALID_ADDRESS;
	r->action = SBI_ACT_HART_RESUME;
	r->resume_addr = addr;
	r->resume_opaque = opaque;
	return SBI_SUCCESS;
}

static void hsm_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	struct vcpu *t;

	switch (fid) {
	case HSM_HART_START:
		r->error = hsm_hart_start(v, a[0], a[1], a[2]);
		break;
	case HSM_HART_STOP:
		__atomic_store_n(&v->hsm_state, HSM_STOPPED, __ATOMIC_SEQ_CST);
		r->action = SBI_ACT_HART_STOP;
		break;
	case HSM_HART_GET_STATUS:
		t = hsm_target(v, a[0]);
		if (!t)
			r->error = SBI_ERR_INVALID_PARAM;
		else
			r->value = __atomic_load_n(&t->hsm_state, __ATOMIC_SEQ_CST);
		break;
	case HSM_HART_SUSPEND:
		/* suspend_type is 32 bits wide: the upper half of a0 is not ours to read. */
		r->error = hsm_hart_suspend(v, (u32)a[0], a[1], a[2], r);
		break;
	default:
		r->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_ext sbi_ext_hsm = {
	.name = "hsm",
	.eid_min = SBI_EXT_HSM,
	.eid_max = SBI_EXT_HSM,
	.handle = hsm_handle,
};
