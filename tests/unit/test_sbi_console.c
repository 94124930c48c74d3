/*
 * test_sbi_console.c - SBI tests continued from test_sbi.c: the debug console (DBCN)
 * with hostile buffers (HOSTILE 20: lengths near 2^63, buffers leaving RAM), the legacy
 * v0.1 calls with their hart-mask pointers, and random arguments to every extension
 * (HOSTILE 18).
 */
#include <duo/err.h>
#include <duo/uart.h>

#include "sbi_test.h"

/* ---- DBCN -------------------------------------------------------------------------- */

TEST(sbi_dbcn_write)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	memcpy(vm->ram + 0x100, "hello", 5);
	struct sbi_result r = CALL(v, SBI_EXT_DBCN, 0, 5, RAM + 0x100, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 5);
	CHECK(strcmp(fake.console, "hello") == 0);
	r = CALL(v, SBI_EXT_DBCN, 0, 0, 0, 0, 0, 0); /* nothing to write */
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 0);
	/* A buffer ending exactly at the end of RAM is fine. */
	memcpy(vm->ram + vm->ram_size - 3, "end", 3);
	r = CALL(v, SBI_EXT_DBCN, 0, 3, RAM_END(vm) - 3, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 3);
	CHECK(strcmp(fake.console, "helloend") == 0);
	/* A long buffer is written a bounded chunk at a time; the guest calls again. */
	memset(vm->ram, 'x', 10000);
	size_t before = fake.console_len;
	r = CALL(v, SBI_EXT_DBCN, 0, 10000, RAM, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(r.value > 0 && r.value <= 10000);
	CHECK_EQ(fake.console_len - before, (size_t)r.value);
	fake_vm_free(vm);
}

/* HOSTILE 20: huge lengths, buffers leaving RAM, high address halves. */
TEST(sbi_dbcn_write_hostile)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	struct {
		u64 n, lo, hi;
	} bad[] = {
		{ 1ULL << 63, RAM, 0 },		/* ~2^63 bytes */
		{ UINT64_MAX, RAM, 0 },
		{ 4, RAM_END(vm) - 3, 0 },	/* crosses the end of RAM */
		{ 1, RAM_END(vm), 0 },		/* just past it */
		{ 16, RAM - 8, 0 },		/* starts below RAM */
		{ 4, PLAT_UART_BASE, 0 },	/* MMIO is not RAM */
		{ 2, UINT64_MAX, 0 },		/* lo + n wraps */
		{ 0x20, UINT64_MAX - 0xf, 0 },
		{ 4, RAM, 1 },			/* above 2^64 */
		{ 4, RAM, UINT64_MAX },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbi_result r = CALL(v, SBI_EXT_DBCN, 0, bad[i].n, bad[i].lo, bad[i].hi, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
		CHECK_EQ(r.value, 0);
		r = CALL(v, SBI_EXT_DBCN, 1, bad[i].n, bad[i].lo, bad[i].hi, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	}
	CHECK_EQ(fake.console_len, 0);
	fake_vm_free(vm);
}

TEST(sbi_dbcn_read)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_DBCN, 1, 8, RAM, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 0); /* nothing typed: nothing read, nothing written */
	CHECK_EQ(vm->ram[0], 0);
	uart_rx(vm->uart, (const u8 *)"xyz", 3);
	r = CALL(v, SBI_EXT_DBCN, 1, 2, RAM + 0x40, 0, 0, 0);
	CHECK_EQ(r.value, 2);
	CHECK(memcmp(vm->ram + 0x40, "xy", 2) == 0);
	CHECK_EQ(vm->ram[0x42], 0);
	/* A bad buffer leaves the input where it was. */
	r = CALL(v, SBI_EXT_DBCN, 1, 2, RAM_END(vm) - 1, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL(v, SBI_EXT_DBCN, 1, 100, RAM + 0x80, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 1);
	CHECK_EQ(vm->ram[0x80], 'z');
	CHECK_EQ(vm->ram[0x81], 0);
	fake_vm_free(vm);
}

TEST(sbi_dbcn_write_byte)
{
	NEW_FAKE_VM(vm, 16, 1);
	struct vcpu *v = &vm->vcpus[0];
	struct sbi_result r = CALL(v, SBI_EXT_DBCN, 2, 0x4141, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 0);
	r = CALL(v, SBI_EXT_DBCN, 2, 0xffffffffffffff0aULL, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.console_len, 2);
	CHECK(strcmp(fake.console, "A\n") == 0);
	fake_vm_free(vm);
}

/* ---- legacy v0.1 ------------------------------------------------------------------- */

TEST(sbi_legacy_console_timer_ipi_clear)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v = &vm->vcpus[1];
	/* a6 (fid) is ignored by legacy calls. */
	struct sbi_result r = CALL(v, 0x01, 0x1234, 'k', 0, 0, 0, 0);
	CHECK(r.legacy);
	CHECK_EQ(r.error, 0);
	CHECK(strcmp(fake.console, "k") == 0);
	r = CALL(v, 0x02, 0, 0, 0, 0, 0, 0);
	CHECK(r.legacy);
	CHECK_EQ(r.error, -1); /* nothing to read */
	uart_rx(vm->uart, (const u8 *)"\xfe", 1);
	r = CALL(v, 0x02, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0xfe);
	r = CALL(v, 0x00, 7, 999, 0, 0, 0, 0);
	CHECK(r.legacy);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.timer[1], 999);
	fake.irq[1][IRQ_S_SOFT] = true;
	r = CALL(v, 0x03, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(!fake.irq[1][IRQ_S_SOFT]);
	r = CALL(v, 0x08, 0, 0, 0, 0, 0, 0);
	CHECK(r.legacy);
	CHECK_EQ(r.action, SBI_ACT_SHUTDOWN);
	CHECK(strstr(fake.last_log, "shutdown") != NULL);
	fake_vm_free(vm);
}

TEST(sbi_legacy_hart_mask_pointer)
{
	NEW_FAKE_VM(vm, 16, 4);
	struct vcpu *v = &vm->vcpus[0];
	duo_put_le64(vm->ram + 0x200, 0x6); /* harts 1 and 2 */
	struct sbi_result r = CALL(v, 0x04, 0, RAM + 0x200, 0, 0, 0, 0);
	CHECK(r.legacy);
	CHECK_EQ(r.error, 0);
	CHECK(fake.irq[1][IRQ_S_SOFT] && fake.irq[2][IRQ_S_SOFT]);
	CHECK_EQ(ssip_count(), 2);
	memset(fake.irq, 0, sizeof(fake.irq));
	r = CALL(v, 0x04, 0, 0, 0, 0, 0, 0); /* NULL: every hart */
	CHECK_EQ(r.error, 0);
	CHECK_EQ(ssip_count(), 4);
	r = CALL(v, 0x05, 0, RAM + 0x200, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence, HOST_FENCE_I);
	CHECK_EQ(fake.last_fence_mask, 0x6);
	r = CALL(v, 0x06, 0, RAM + 0x200, 0x4000, 0x1000, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence, HOST_FENCE_VMA);
	CHECK_EQ(fake.last_fence_start, 0x4000);
	CHECK_EQ(fake.last_fence_size, 0x1000);
	r = CALL(v, 0x07, 0, RAM + 0x200, 0, 0, 9, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(fake.last_fence, HOST_FENCE_VMA_ASID);
	CHECK_EQ(fake.last_fence_asid, 9);
	fake_vm_free(vm);
}

TEST(sbi_legacy_hostile_mask_pointer)
{
	NEW_FAKE_VM(vm, 16, 2);
	struct vcpu *v = &vm->vcpus[0];
	u64 bad_ptrs[] = { 8, RAM - 4, RAM_END(vm) - 4, RAM_END(vm), PLAT_PLIC_BASE,
			   UINT64_MAX - 3, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(bad_ptrs) / sizeof(bad_ptrs[0]); i++)
		for (u64 eid = 0x04; eid <= 0x07; eid++) {
			struct sbi_result r = CALL(v, eid, 0, bad_ptrs[i], 0, 0, 0, 0);
			CHECK(r.legacy);
			CHECK_EQ(r.error, SBI_ERR_INVALID_ADDRESS);
		}
	/* A mask naming harts this VM does not have. */
	duo_put_le64(vm->ram, 0x5); /* hart 2 of 2 */
	for (u64 eid = 0x04; eid <= 0x07; eid++) {
		struct sbi_result r = CALL(v, eid, 0, RAM, 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	}
	CHECK_EQ(fake.irq_calls + fake.fence_calls, 0);
	fake_vm_free(vm);
}

/* ---- random arguments (HOSTILE 18) ------------------------------------------------- */

static u64 rng_state = 0x9e3779b97f4a7c15ULL;
static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

TEST(sbi_random_arguments)
{
	NEW_FAKE_VM(vm, 16, 4);
	const u64 eids[] = { SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE,
			     SBI_EXT_HSM,  SBI_EXT_SRST, SBI_EXT_DBCN, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	for (int i = 0; i < 200000; i++) {
		u64 a[8];
		for (int k = 0; k < 8; k++) {
			/* mostly small values so calls get past the first check */
			u64 x = rnd();
			a[k] = (x & 3) == 0 ? x : (x & 3) == 1 ? x % 16 : RAM + (rnd() % (32ULL << 20));
		}
		a[7] = rnd() % 4 ? eids[rnd() % DUO_ARRAY_SIZE(eids)] : rnd();
		a[6] = rnd() % 4 ? rnd() % 8 : rnd();
		struct vcpu *v = &vm->vcpus[rnd() % 4];
		struct sbi_result r;
		sbi_dispatch(v, a, &r);
		bool getchar = a[7] == SBI_EXT_LEGACY_GETCHAR;
		if (!(getchar || (r.error <= 0 && r.error >= SBI_ERR_NO_SHMEM)))
			CHECK(r.error <= 0 && r.error >= SBI_ERR_NO_SHMEM);
		if (r.error && r.action != SBI_ACT_NONE)
			CHECK_EQ(r.action, SBI_ACT_NONE); /* a refused call does nothing */
		if (r.legacy != (a[7] <= 8))
			CHECK_EQ(r.legacy, a[7] <= 8);
		/* keep the harts startable for the next round */
		if (rnd() % 64 == 0)
			vm_reset_devices(vm);
		if (fake.console_len > FAKE_CONSOLE_MAX / 2)
			fake.console_len = 0;
	}
	fake_vm_free(vm);
}
