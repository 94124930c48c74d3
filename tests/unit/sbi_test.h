/*
 * sbi_test.h - helpers shared by the SBI unit tests (test_sbi.c, test_sbi_console.c):
 * a one-line ecall and RAM bounds (each test gets its VM from NEW_FAKE_VM, fake_host.h).
 * Test-only; static inline, so each test file has its own copy.
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
