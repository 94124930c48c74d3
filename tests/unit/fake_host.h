/*
 * fake_host.h - the unit tests' implementation of duo/host.h: it records what the core
 * asked of the host so tests can check it, and lets tests set the time and inject
 * failures. Reset before every test.
 */
#ifndef DUO_FAKE_HOST_H
#define DUO_FAKE_HOST_H

#include <duo/host.h>
#include <duo/vm.h>

#include "harness.h"

#define FAKE_CONSOLE_MAX 65536
#define FAKE_MAX_DISK (4 << 20)

struct fake_host {
	u64 time; /* returned by host_time_now */
	u64 timer[PLAT_MAX_VCPUS]; /* last host_vcpu_set_timer deadline */
	int timer_calls;
	bool irq[PLAT_MAX_VCPUS][16]; /* current level per vCPU per irq */
	int irq_calls;
	int fence_calls;
	enum host_fence last_fence;
	u64 last_fence_start, last_fence_size, last_fence_asid;
	u64 last_fence_mask; /* bit per vCPU id fenced since reset */
	int start_calls;
	u64 start_pc[PLAT_MAX_VCPUS], start_opaque[PLAT_MAX_VCPUS];
	int start_result; /* what host_vcpu_start returns */
	char console[FAKE_CONSOLE_MAX];
	size_t console_len;
	char last_log[256];
	int log_count;
	int alloc_fail_after; /* -1: never; else host_zalloc fails after this many */
	int allocs;
	/* block: one in-memory disk per index */
	u8 *disk[4];
	u64 disk_size[4];
	int blk_fail; /* DUO_E* returned by blk ops when nonzero */
	int flush_calls;
};

extern struct fake_host fake;

/* fake_host_reset - zero the record, time 0, no failures. Frees fake disks. */
void fake_host_reset(void);

/* fake_vm - a VM with `mib` MiB of RAM (calloc'd) and `nvcpus` vCPUs, vm_init'd.
 * Returns NULL on failure. fake_vm_free undoes it. */
struct vm *fake_vm(u32 mib, u32 nvcpus);
void fake_vm_free(struct vm *vm);

/* NEW_FAKE_VM - the first line of a test that needs a VM: declares `vm` = fake_vm(mib, n);
 * a NULL VM is a failed CHECK and the test returns (a failure, not a crash). */
#define NEW_FAKE_VM(vm, mib, n)                                                     \
	struct vm *vm = fake_vm(mib, n);                                            \
	CHECK(vm != NULL);                                                          \
	if (!vm)                                                                    \
		return

#endif
