/*
 * sbi_test.h - helpers shared by the SBI unit tests (test_sbi.c, test_sbi_console.c):
 * a VM to call into and a one-line ecall. Test-only; static inline, so each test file
 * has its own copy.
 */
#ifndef DUO_SBI_TEST_H
#define DUO_SBI_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duo/sbi.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"

/* dev_vm - see test_uart.c: fake_vm() rejects its own default config (no kernel). */
static inline struct vm *dev_vm(u32 mib, u32 nvcpus)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	snprintf(cfg.kernel, sizeof(cfg.kernel), "unit-test-kernel");
	cfg.memory_mib = mib;
	cfg.vcpus = nvcpus;
	struct vm *vm = calloc(1, sizeof(*vm));
	u8 *ram = calloc(1, (size_t)mib << 20);
	if (!vm || !ram || vm_init(vm, &cfg, 0, ram)) {
		free(vm);
		free(ram);
		return NULL;
	}
	return vm;
}

#define NEW_VM(vm, mib, n)                                                          \
	struct vm *vm = dev_vm(mib, n);                                             \
	CHECK(vm != NULL);                                                          \
	if (!vm)                                                                    \
		return

#define RAM PLAT_RAM_BASE
#define RAM_END(vm) (PLAT_RAM_BASE + (vm)->ram_size)

/* ecall - one SBI call from v with a0..a4 (a5 is junk, as a guest may leave it). */
static inline struct sbi_result ecall(struct vcpu *v, u64 eid, u64 fid, u64 a0, u64 a1,
				      u64 a2, u64 a3, u64 a4)
{
	u64 a[8] = { a0, a1, a2, a3, a4, 0x5555, fid, eid };
	struct sbi_result r;
	memset(&r, 0xa5, sizeof(r)); /* the dispatcher must set every field */
	sbi_dispatch(v, a, &r);
	return r;
}

#define CALL(v, eid, fid, ...) ecall(v, eid, fid, __VA_ARGS__)

/* How many vCPUs have a supervisor software interrupt raised. */
static inline int ssip_count(void)
{
	int n = 0;
	for (u32 i = 0; i < PLAT_MAX_VCPUS; i++)
		n += fake.irq[i][IRQ_S_SOFT];
	return n;
}

#endif
