/*
 * vmm.c - the life of a VM on the type-1 hypervisor: created once at boot from its
 * entry in the packed blob (RAM carved and mapped, core state, devices), booted
 * (kernel, initrd and device tree loaded by the core's loader, vCPU 0 started), and
 * later stopped, crashed or restarted - always alone: no request touches another VM.
 *
 * A stop or restart (guest SRST, an isolation fault, the management prompt) is a
 * request: the VM's vCPUs are kicked off their harts, and the hart that sees the last
 * one leave "finalizes" it (sched.c calls t1_vmm_finalize): a stop marks the VM
 * stopped; a restart zeroes its RAM, resets its devices, reloads the images from the
 * blob and starts vCPU 0 again with the same RAM, tables and VMID (every vCPU then
 * flushes its VS-stage translations on first load: HOSTILE 25). When every VM has
 * stopped, the machine powers off through OpenSBI's SRST, so QEMU exits: with status 0
 * if every guest shut itself down, else 1 (the same rule as type 2's exit status).
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/loader.h>
#include <duo/log.h>
#include <duo/sbi.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "hv.h"
#include "pack_format.h"

const char *t1_vm_state_name(u32 state)
{
	switch (state) {
	case VM_CREATED:
		return "created";
	case VM_RUNNING:
		return "running";
	case VM_STOPPED:
		return "stopped";
	case VM_REBOOTING:
		return "rebooting";
	case VM_CRASHED:
		return "crashed";
	}
	return "?";
}

struct t1_vm *t1_vmm_find(const char *name)
{
	for (unsigned i = 0; i < t1.nvms; i++)
		if (!duo_strcmp(t1.vms[i]->vm.cfg.name, name))
			return t1.vms[i];
	return NULL;
}

/* boot - load the images and set vCPU 0 to start. No vCPU of tvm may be on a hart. */
static int boot(struct t1_vm *tvm, bool fresh)
{
	struct vm *vm = &tvm->vm;
	const struct pack_vm *pk = tvm->pk;
	struct boot_plan bp;
	char err[160];

	if (!fresh) {
		t1_memzero(vm->ram, vm->ram_size);
		vm_reset_devices(vm);
		virtio_reset_all(vm);
	}
	for (u32 i = 0; i < vm->nvcpus; i++) {
		struct t1_vcpu *c = &tvm->vc[i];
		__atomic_store_n(&c->ext_level, 0, __ATOMIC_SEQ_CST);
		c->start_pending = false;
		c->resume_pending = false;
		c->last_hart = -1;
		__atomic_store_n(&vm->vcpus[i].hsm_state, i == 0 ? HSM_START_PENDING : HSM_STOPPED,
				 __ATOMIC_SEQ_CST);
	}
	const void *kernel = tvm->blob + pk->kernel.off;
	const void *initrd = pk->initrd.size ? tvm->blob + pk->initrd.off : NULL;
	int r = vm_boot_prepare(vm, kernel, pk->kernel.size, initrd, pk->initrd.size, &bp, err,
				sizeof(err));
	if (r) {
		duo_snprintf(tvm->reason, sizeof(tvm->reason), "boot failed: %s", err);
		return r;
	}
	tvm->vc[0].start_pc = bp.entry;
	tvm->vc[0].start_a1 = bp.fdt_addr;
	tvm->vc[0].start_pending = true;
	tvm->boots++;
	tvm->guest_off = false;
	vm->state = VM_RUNNING;
	return 0;
}

int t1_vmm_create(unsigned i, const struct pack_vm *pk)
{
	struct t1_vm *tvm = host_zalloc(sizeof(*tvm));
	if (!tvm)
		return DUO_ENOMEM;
	tvm->pk = pk;
	tvm->blob = t1.blob;
	t1.vms[i] = tvm;
	u64 ram_bytes = pack_vm_ram_mib(&pk->cfg) << 20;
	u64 ram = t1_page_alloc(ram_bytes, 2ULL << 20);
	int r = ram ? vm_init(&tvm->vm, &pk->cfg, i, (u8 *)ram) : DUO_ENOMEM;
	if (r)
		goto crashed;
	tvm->vm.host = tvm;
	tvm->ram_pa = ram;
	for (u32 c = 0; c < tvm->vm.nvcpus; c++)
		t1_vcpu_init(&tvm->vc[c], tvm, c);
	r = vm_attach_config_devices(&tvm->vm);
	if (!r)
		r = t1_gstage_build(tvm);
	if (r) {
		vm_destroy(&tvm->vm);
		goto crashed;
	}
	tvm->vm.state = VM_CREATED;
	return 0;
crashed:
	/*
	 * Only this VM is lost: it stays in the set as a crashed VM without vCPUs (so list
	 * shows why), and the others boot. Its RAM, if carved, is not reused.
	 */
	duo_memset(&tvm->vm, 0, sizeof(tvm->vm));
	tvm->vm.cfg = pk->cfg;
	tvm->vm.id = i;
	tvm->vm.state = VM_CRASHED;
	tvm->crashed = true;
	duo_snprintf(tvm->reason, sizeof(tvm->reason), "cannot create it: %s", duo_strerror(r));
	return r;
}

void t1_vmm_boot_all(void)
{
	for (unsigned i = 0; i < t1.nvms; i++) {
		struct t1_vm *tvm = t1.vms[i];
		if (tvm->vm.state == VM_CRASHED)
			continue; /* could not even be created */
		if (boot(tvm, true)) {
			tvm->vm.state = VM_CRASHED;
			tvm->crashed = true;
			duo_log(&tvm->vm, LOG_ERR, "%s", tvm->reason);
			continue;
		}
		duo_lock(&t1.sched_lock);
		t1_sched_make_runnable_locked(&tvm->vc[0]);
		duo_unlock(&t1.sched_lock);
	}
}

bool t1_vmm_all_stopped(void)
{
	for (unsigned i = 0; i < t1.nvms; i++) {
		u32 s = t1.vms[i]->vm.state;
		if ((s != VM_STOPPED && s != VM_CRASHED) || t1.vms[i]->finalizing)
			return false;
	}
	return true;
}

static bool any_running_locked(struct t1_vm *tvm)
{
	for (u32 i = 0; i < tvm->vm.nvcpus; i++)
		if (tvm->vc[i].run == VC_RUNNING)
			return true;
	return false;
}

void t1_vmm_request(struct t1_vm *tvm, enum t1_req req, bool crashed, const char *reason)
{
	bool finalize = false;
	duo_lock(&t1.sched_lock);
	u32 st = tvm->vm.state;
	if (tvm->req != T1_REQ_NONE || tvm->finalizing || st == VM_STOPPED || st == VM_CRASHED) {
		duo_unlock(&t1.sched_lock);
		return; /* already going down (the first reason stands), or down */
	}
	tvm->req = req;
	tvm->crashed = crashed;
	duo_strlcpy(tvm->reason, reason, sizeof(tvm->reason));
	tvm->vm.state = req == T1_REQ_RESTART ? VM_REBOOTING : st;
	for (u32 i = 0; i < tvm->vm.nvcpus; i++) {
		struct t1_vcpu *c = &tvm->vc[i];
		if (c->run == VC_RUNNING) {
			if (c->hart >= 0)
				t1_kick((u32)c->hart);
		} else {
			__atomic_store_n(&c->run, VC_OFF, __ATOMIC_SEQ_CST);
		}
	}
	if (!any_running_locked(tvm)) {
		tvm->finalizing = true;
		finalize = true;
	}
	duo_unlock(&t1.sched_lock);
	duo_log(&tvm->vm, crashed ? LOG_ERR : LOG_INFO, "%s: %s",
		req == T1_REQ_RESTART ? "restarting" : "stopping", reason);
	if (finalize)
		t1_vmm_finalize(tvm);
}

void t1_vmm_vcpu_left_locked(struct t1_vcpu *c, bool *finalize)
{
	struct t1_vm *tvm = c->tvm;
	__atomic_store_n(&c->run, VC_OFF, __ATOMIC_SEQ_CST);
	if (tvm->req != T1_REQ_NONE && !tvm->finalizing && !any_running_locked(tvm)) {
		tvm->finalizing = true;
		*finalize = true;
	}
}

void t1_vmm_finalize(struct t1_vm *tvm)
{
	int r = 0;
	enum t1_req req = tvm->req;

	if (req == T1_REQ_RESTART) {
		r = boot(tvm, false);
		if (r) {
			tvm->vm.state = VM_CRASHED;
			tvm->crashed = true;
			duo_log(&tvm->vm, LOG_ERR, "%s", tvm->reason);
		} else {
			duo_log(&tvm->vm, LOG_INFO, "restarted (boot %llu)",
				(unsigned long long)tvm->boots);
		}
	} else {
		tvm->vm.state = tvm->crashed ? VM_CRASHED : VM_STOPPED;
		/*
		 * Input moves on (and says where) before "stopped" is printed, so a script
		 * that waits for "stopped" already knows where its typing goes.
		 */
		t1_vcon_vm_gone(tvm);
		duo_log(&tvm->vm, LOG_INFO, "stopped");
	}
	t1_vcon_flush_all();
	duo_lock(&t1.sched_lock);
	tvm->req = T1_REQ_NONE;
	tvm->finalizing = false;
	if (req == T1_REQ_RESTART && !r)
		t1_sched_make_runnable_locked(&tvm->vc[0]);
	bool down = t1_vmm_all_stopped();
	duo_unlock(&t1.sched_lock);
	if (down) {
		/* Like type 2's exit status: 0 only if every guest powered itself off. */
		unsigned unclean = 0;
		for (unsigned i = 0; i < t1.nvms; i++)
			unclean += !t1.vms[i]->guest_off;
		if (!unclean) {
			t1_printf("[duovisor] every VM has stopped: powering off\n");
			t1_poweroff();
		}
		t1_printf("[duovisor] every VM has stopped, %u of %u not by its own shutdown: "
			  "powering off (status 1)\n",
			  unclean, t1.nvms);
		t1_poweroff_failed();
	}
}

int t1_vmm_start(struct t1_vm *tvm)
{
	duo_lock(&t1.sched_lock);
	u32 st = tvm->vm.state;
	if ((st != VM_STOPPED && st != VM_CRASHED) || tvm->finalizing || tvm->req ||
	    !tvm->vm.nvcpus /* never created */) {
		duo_unlock(&t1.sched_lock);
		return DUO_EBUSY;
	}
	tvm->req = T1_REQ_RESTART;
	tvm->crashed = false;
	tvm->finalizing = true;
	duo_strlcpy(tvm->reason, "started from the management prompt", sizeof(tvm->reason));
	duo_unlock(&t1.sched_lock);
	t1_vmm_finalize(tvm);
	return 0;
}

void t1_poweroff(void)
{
	__atomic_store_n(&t1.powering_off, 1, __ATOMIC_SEQ_CST);
	/* SRST system_reset(shutdown, no reason); QEMU's virt board exits on it. */
	t1_sbi_call(SBI_EXT_SRST, 0, 0, 0, 0);
	t1_sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0);
	t1_park();
}
