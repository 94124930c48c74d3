/*
 * test_sbi.c - tests of the SBI implementation (core/sbi/) through sbi_dispatch(), the
 * entry the backends use: every extension with good and hostile arguments (HOSTILE 18-22:
 * unknown ids, bad hart ids, huge hart_mask_base, timer extremes, HSM misuse, SRST),
 * checked against what the fake host was asked to do. The console (DBCN), legacy and
 * random-argument tests are in test_sbi_console.c.
 */
#include <duo/err.h>
#include <duo/log.h>

#include "sbi_test.h"

/* ---- dispatcher and BASE ---------------------------------------------------------- */

TEST(sbi_unknown_extensions_and_functions)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	u64 bad_eids[] = { 0x09, 0x0f, 0x11, 0x12345678, 0x504d55 /* PMU */,
			   0x53555350 /* SUSP */, 0x100000010ULL, SBI_EXT_TIME | (1ULL << 32),
			   UINT64_MAX, 0x80000000ULL };
	for (unsigned i = 0; i < sizeof(bad_eids) / sizeof(bad_eids[0]); i++) {
		struct sbi_result r = CALL(v, bad_eids[i], 0, 0, 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_NOT_SUPPORTED);
		CHECK_EQ(r.value, 0);
		CHECK(!r.legacy);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	struct {
		u64 eid, fid;
	} bad_fids[] = {
		{ SBI_EXT_BASE, 7 },	     { SBI_EXT_BASE, UINT64_MAX },
		{ SBI_EXT_TIME, 1 },	     { SBI_EXT_IPI, 1 },
		{ SBI_EXT_RFENCE, 7 },	     { SBI_EXT_HSM, 4 },
		{ SBI_EXT_SRST, 1 },	     { SBI_EXT_DBCN, 3 },
		{ SBI_EXT_BASE, 1ULL << 32 }, { SBI_EXT_HSM, 0x100000000ULL },
	};
	for (unsigned i = 0; i < sizeof(bad_fids) / sizeof(bad_fids[0]); i++) {
		struct sbi_result r = CALL(v, bad_fids[i].eid, bad_fids[i].fid, 0, 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_NOT_SUPPORTED);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	CHECK_EQ(fake.timer_calls + fake.irq_calls + fake.fence_calls + fake.start_calls, 0);
	fake_vm_free(vm);
}

TEST(sbi_base_identity_and_probe)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_BASE, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 0x02000000); /* 2.0: major << 24 | minor */
	CHECK(!r.legacy);
	r = CALL(v, SBI_EXT_BASE, 1, 0, 0, 0, 0, 0);
	CHECK_EQ(r.value, SBI_IMPL_ID_DUOVISOR);
	r = CALL(v, SBI_EXT_BASE, 2, 0, 0, 0, 0, 0);
	CHECK_EQ(r.value, SBI_IMPL_VERSION);
	for (u64 fid = 4; fid <= 6; fid++) {
		r = CALL(v, SBI_EXT_BASE, fid, 0, 0, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		CHECK_EQ(r.value, 0);
	}
	u64 have[] = { SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM,
		       SBI_EXT_SRST, SBI_EXT_DBCN, 0x00, 0x01, 0x02, 0x08 };
	for (unsigned i = 0; i < sizeof(have) / sizeof(have[0]); i++) {
		r = CALL(v, SBI_EXT_BASE, 3, have[i], 0, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		CHECK_EQ(r.value, 1);
	}
	u64 lack[] = { 0x09, 0x504d55, 0x53555350, 0x4e41434c, UINT64_MAX, 1ULL << 40 };
	for (unsigned i = 0; i < sizeof(lack) / sizeof(lack[0]); i++) {
		r = CALL(v, SBI_EXT_BASE, 3, lack[i], 0, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		CHECK_EQ(r.value, 0);
	}
	CHECK(sbi_find_ext(SBI_EXT_HSM) == &sbi_ext_hsm);
	CHECK(sbi_find_ext(0x05) == &sbi_ext_legacy);
	CHECK(sbi_find_ext(0x09) == NULL);
	fake_vm_free(vm);
}

/* ---- TIME -------------------------------------------------------------------------- */

TEST(sbi_time_set_timer_extremes)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v1 = &vm->vcpus[1];
	u64 when[] = { 0, 1, 12345, (u64)INT64_MAX, UINT64_MAX - 1, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		struct sbi_result r = CALL(v1, SBI_EXT_TIME, 0, when[i], 0, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		CHECK_EQ(fake.timer[1], when[i]);
	}
	CHECK_EQ(fake.timer[0], UINT64_MAX); /* the other vCPU's timer is untouched */
	/* Re-armed in a loop: one host call per SBI call, never more. */
	int before = fake.timer_calls;
	for (int i = 0; i < 1000; i++)
		CALL(v1, SBI_EXT_TIME, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(fake.timer_calls, before + 1000);
	fake_vm_free(vm);
}

/* ---- IPI and the hart mask --------------------------------------------------------- */

TEST(sbi_ipi_hart_masks)
{
	NEW_FAKE_VM(vm, 16, 4);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_IPI, 0, 0x5, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(fake.irq[0][IRQ_S_SOFT] && fake.irq[2][IRQ_S_SOFT]);
	CHECK_EQ(ssip_count(), 2);
	memset(fake.irq, 0, sizeof(fake.irq));
	r = CALL(v, SBI_EXT_IPI, 0, 0x7, 1, 0, 0, 0); /* harts 1, 2, 3 */
	CHECK_EQ(r.error, 0);
	CHECK(!fake.irq[0][IRQ_S_SOFT]);
	CHECK_EQ(ssip_count(), 3);
	memset(fake.irq, 0, sizeof(fake.irq));
	r = CALL(v, SBI_EXT_IPI, 0, 0, UINT64_MAX, 0, 0, 0); /* base -1: everyone */
	CHECK_EQ(r.error, 0);
	CHECK_EQ(ssip_count(), 4);
	memset(fake.irq, 0, sizeof(fake.irq));
	r = CALL(v, SBI_EXT_IPI, 0, 0, 0, 0, 0, 0); /* empty mask */
	CHECK_EQ(r.error, 0);
	CHECK_EQ(ssip_count(), 0);
	fake_vm_free(vm);
}

/* HOSTILE 19: bad hart ids and huge bases are refused before anyone is touched. */
TEST(sbi_ipi_hostile_masks)
{
	NEW_FAKE_VM(vm, 16, 4);
	struct vcpu *v = &vm->vcpus[0];
	struct {
		u64 mask, base;
	} bad[] = {
		{ 0x10, 0 },		     /* hart 4 of 4 */
		{ 0x1f, 0 },		     /* valid ones plus one bad: all or nothing */
		{ 0x3, 3 },		     /* hart 3 ok, hart 4 not */
		{ 0x1, 4 },		     /* base past the end */
		{ 0x0, 4 },		     /* invalid base, even with no bits */
		{ 0x1ULL << 63, 0 },	     /* hart 63 */
		{ 0x3, UINT64_MAX - 1 },     /* base + 1 would wrap to hart 0 */
		{ UINT64_MAX, UINT64_MAX - 63 },
		{ 0x1, 1ULL << 63 },
		{ 0x1, (u64)(u32)-1 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_IPI, 0, bad[i].mask, bad[i].base, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	}
	CHECK_EQ(fake.irq_calls, 0);
	fake_vm_free(vm);
}

static int visits[PLAT_MAX_VCPUS];
static void visit(struct vcpu *t, void *arg)
{
	visits[t->id] += *(int *)arg;
}

TEST(sbi_for_each_hart_contract)
{
	NEW_FAKE_VM(vm, 16, 8);
	struct vcpu *v = &vm->vcpus[3];
	int one = 1;
	memset(visits, 0, sizeof(visits));
	CHECK_EQ(sbi_for_each_hart(v, 0x81, 0, visit, &one), SBI_SUCCESS);
	CHECK_EQ(visits[0], 1);
	CHECK_EQ(visits[7], 1);
	CHECK_EQ(sbi_for_each_hart(v, 0x1, 7, visit, &one), SBI_SUCCESS);
	CHECK_EQ(visits[7], 2);
	CHECK_EQ(sbi_for_each_hart(v, 0x3, 7, visit, &one), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(sbi_for_each_hart(v, 0x100, 0, visit, &one), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(visits[7], 2);
	CHECK_EQ(sbi_for_each_hart(v, 0, UINT64_MAX, visit, &one), SBI_SUCCESS);
	int want[8] = { 2, 1, 1, 1, 1, 1, 1, 3 };
	for (int i = 0; i < 8; i++)
		CHECK_EQ(visits[i], want[i]);
	fake_vm_free(vm);
}

/* ---- RFENCE ------------------------------------------------------------------------ */

TEST(sbi_rfence_functions)
{
	NEW_FAKE_VM(vm, 16, 4);
	struct vcpu *v = &vm->vcpus[1];
	struct sbi_result r = CALL(v, SBI_EXT_RFENCE, 0, 0x3, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.fence_calls, 2);
	CHECK_EQ(fake.last_fence, HOST_FENCE_I);
	CHECK_EQ(fake.last_fence_mask, 0x3);
	fake.last_fence_mask = 0;
	r = CALL(v, SBI_EXT_RFENCE, 1, 0x4, 0, 0x1000, 0x2000, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence, HOST_FENCE_VMA);
	CHECK_EQ(fake.last_fence_start, 0x1000);
	CHECK_EQ(fake.last_fence_size, 0x2000);
	CHECK_EQ(fake.last_fence_mask, 0x4);
	fake.last_fence_mask = 0;
	r = CALL(v, SBI_EXT_RFENCE, 2, 0, UINT64_MAX, 0, UINT64_MAX, 42);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence, HOST_FENCE_VMA_ASID);
	CHECK_EQ(fake.last_fence_size, UINT64_MAX);
	CHECK_EQ(fake.last_fence_asid, 42);
	CHECK_EQ(fake.last_fence_mask, 0xf);
	/* A range that wraps becomes a full flush rather than a huge page walk. */
	r = CALL(v, SBI_EXT_RFENCE, 1, 0x1, 0, UINT64_MAX - 0xfff, 0x2000, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence_size, UINT64_MAX);
	/* The hfence family needs the H extension, which guests do not get. */
	int calls = fake.fence_calls;
	for (u64 fid = 3; fid <= 6; fid++) {
		r = CALL(v, SBI_EXT_RFENCE, fid, 0x1, 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_NOT_SUPPORTED);
	}
	/* Bad masks: nobody fenced. */
	r = CALL(v, SBI_EXT_RFENCE, 0, 0x10, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL(v, SBI_EXT_RFENCE, 1, 0x1, UINT64_MAX - 2, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL(v, SBI_EXT_RFENCE, 2, 0xff, 0, 0, 0, 1);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.fence_calls, calls);
	fake_vm_free(vm);
}

/* ---- HSM --------------------------------------------------------------------------- */

TEST(sbi_hsm_start_and_status)
{
	NEW_FAKE_VM(vm, 16, 3);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_HSM, 2, 1, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, HSM_STOPPED);
	r = CALL(v, SBI_EXT_HSM, 2, 0, 0, 0, 0, 0);
	CHECK_EQ(r.value, HSM_STARTED);
	r = CALL(v, SBI_EXT_HSM, 0, 1, RAM + 0x1000, 0xabcd, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.start_calls, 1);
	CHECK_EQ(fake.start_pc[1], RAM + 0x1000);
	CHECK_EQ(fake.start_opaque[1], 0xabcd);
	r = CALL(v, SBI_EXT_HSM, 2, 1, 0, 0, 0, 0);
	CHECK_EQ(r.value, HSM_STARTED);
	/* Starting a started hart (or oneself) is refused, and the backend is not asked. */
	r = CALL(v, SBI_EXT_HSM, 0, 1, RAM, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_ALREADY_AVAILABLE);
	r = CALL(v, SBI_EXT_HSM, 0, 0, RAM, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_ALREADY_AVAILABLE);
	/* A hart in START_PENDING is not startable either. */
	vm->vcpus[2].hsm_state = HSM_START_PENDING;
	r = CALL(v, SBI_EXT_HSM, 0, 2, RAM, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_ALREADY_AVAILABLE);
	CHECK_EQ(fake.start_calls, 1);
	/* Compressed code may start at a 2-byte boundary, up to the last halfword. */
	vm->vcpus[2].hsm_state = HSM_STOPPED;
	r = CALL(v, SBI_EXT_HSM, 0, 2, RAM_END(vm) - 2, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.start_pc[2], RAM_END(vm) - 2);
	fake_vm_free(vm);
}

TEST(sbi_hsm_start_hostile)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v = &vm->vcpus[0];
	u64 bad_harts[] = { 2, 8, 64, (u64)(u32)-1, 1ULL << 32, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(bad_harts) / sizeof(bad_harts[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_HSM, 0, bad_harts[i], RAM, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
		r = CALL(v, SBI_EXT_HSM, 2, bad_harts[i], 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	}
	u64 bad_addrs[] = { 0, RAM - 2, RAM + 1, RAM_END(vm), RAM_END(vm) - 1,
			    PLAT_UART_BASE, UINT64_MAX - 1, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_HSM, 0, 1, bad_addrs[i], 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_ADDRESS);
		CHECK_EQ(vm->vcpus[1].hsm_state, HSM_STOPPED);
	}
	CHECK_EQ(fake.start_calls, 0);
	/* The backend failing to start it: FAILED, and the hart is STOPPED again. */
	fake.start_result = DUO_ENOMEM;
	struct sbi_result r = CALL(v, SBI_EXT_HSM, 0, 1, RAM, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_FAILED);
	CHECK_EQ(vm->vcpus[1].hsm_state, HSM_STOPPED);
	fake.start_result = 0;
	r = CALL(v, SBI_EXT_HSM, 0, 1, RAM, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	fake_vm_free(vm);
}

TEST(sbi_hsm_stop)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v1 = &vm->vcpus[1];
	CHECK_EQ(CALL(&vm->vcpus[0], SBI_EXT_HSM, 0, 1, RAM, 0, 0, 0).error, 0);
	struct sbi_result r = CALL(v1, SBI_EXT_HSM, 1, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_HART_STOP);
	CHECK_EQ(v1->hsm_state, HSM_STOPPED);
	CHECK_EQ(CALL(&vm->vcpus[0], SBI_EXT_HSM, 2, 1, 0, 0, 0, 0).value, HSM_STOPPED);
	/* ... and it can be started again. */
	CHECK_EQ(CALL(&vm->vcpus[0], SBI_EXT_HSM, 0, 1, RAM + 8, 0, 0, 0).error, 0);
	CHECK_EQ(v1->hsm_state, HSM_STARTED);
	fake_vm_free(vm);
}

TEST(sbi_hsm_suspend_types)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_HSM, 3, 0, 0xdead, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_WFI); /* retentive: resume_addr is unused */
	r = CALL(v, SBI_EXT_HSM, 3, 0x80000000, RAM + 0x2000, 0x77, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_HART_RESUME);
	CHECK_EQ(r.resume_addr, RAM + 0x2000);
	CHECK_EQ(r.resume_opaque, 0x77);
	/* suspend_type is 32 bits: the upper half of a0 is ignored. */
	r = CALL(v, SBI_EXT_HSM, 3, 0xffffffff00000000ULL, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_WFI);
	u64 bad_types[] = { 1, 0x0fffffff, 0x10000000, 0x7fffffff, 0x80000001, 0x8fffffff,
			    0x90000000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		r = CALL(v, SBI_EXT_HSM, 3, bad_types[i], RAM, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	/* HOSTILE 21: a non-retentive suspend with a bad resume address. */
	u64 bad_addrs[] = { 0, RAM - 4, RAM_END(vm), RAM + 3, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
		r = CALL(v, SBI_EXT_HSM, 3, 0x80000000, bad_addrs[i], 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_ADDRESS);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	CHECK_EQ(v->hsm_state, HSM_STARTED);
	fake_vm_free(vm);
}

/* ---- SRST -------------------------------------------------------------------------- */

TEST(sbi_srst_actions_and_log)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v = &vm->vcpus[1];
	struct sbi_result r = CALL(v, SBI_EXT_SRST, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_SHUTDOWN);
	CHECK(strstr(fake.last_log, "shutdown") != NULL);
	CHECK(strstr(fake.last_log, "hart 1") != NULL);
	r = CALL(v, SBI_EXT_SRST, 0, 1, 1, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_REBOOT);
	CHECK_EQ(r.reset_reason, 1);
	CHECK(strstr(fake.last_log, "cold reboot") != NULL);
	CHECK(strstr(fake.last_log, "system failure") != NULL);
	r = CALL(v, SBI_EXT_SRST, 0, 2, 0, 0, 0, 0);
	CHECK_EQ(r.action, SBI_ACT_REBOOT);
	CHECK(strstr(fake.last_log, "warm reboot") != NULL);
	/* Both arguments are 32-bit: upper halves ignored. */
	r = CALL(v, SBI_EXT_SRST, 0, 0x100000000ULL, 0xdead00000000ULL, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.action, SBI_ACT_SHUTDOWN);
	fake_vm_free(vm);
}

TEST(sbi_srst_bad_type_or_reason)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	int logs = fake.log_count;
	u64 bad_types[] = { 3, 0xefffffff, 0xf0000000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_SRST, 0, bad_types[i], 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	u64 bad_reasons[] = { 2, 0xdfffffff, 0xe0000000, 0xf0000000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(bad_reasons) / sizeof(bad_reasons[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_SRST, 0, 0, bad_reasons[i], 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
		CHECK_EQ(r.action, SBI_ACT_NONE);
	}
	CHECK_EQ(fake.log_count, logs); /* refused calls do not spam the log */
	fake_vm_free(vm);
}
