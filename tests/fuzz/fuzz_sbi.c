/*
 * fuzz_sbi.c - libFuzzer target: the SBI dispatcher (core/sbi/, sbi_dispatch) with
 * a0..a7 from the input, many calls per input, on a VM with 1..8 vCPUs.
 *
 * Input: [vcpus-1][flags] then records of 52 bytes, one ecall each:
 *   [ext][fid][caller][near] a0..a5 (6 x u64 LE)
 * ext < 16 picks an extension id from the table below (every legacy id, BASE, TIME,
 * IPI, RFENCE, HSM, SRST, DBCN, one unknown); ext >= 16 uses a5 as a raw 64-bit eid.
 * fid 255 uses a5 as a raw 64-bit fid. caller % vcpus is the calling hart. Bit i of
 * near (i < 6) replaces a_i with an address within 64 bytes of guest RAM (edges
 * included), so buffers, start addresses and legacy mask pointers often hit RAM.
 * flags: bit 0 makes host_vcpu_start fail, bit 1 queues UART input (DBCN read,
 * legacy getchar), bit 2 sets guest RAM's first page to 0xff (legacy masks).
 *
 * Checked after every call, besides ASan/UBSan: the error is a defined SBI code (or a
 * getchar byte for legacy 0x02); a failed call has no action; IPI/RFENCE (and their
 * legacy forms) reach exactly the harts the (mask, base) pair names, nobody when the
 * pair is invalid, never a hart id >= vcpus; HSM states stay in range; a started hart's
 * pc and a resume address are in RAM and even; DBCN moves at most min(n, 4096) bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/lib.h>
#include <duo/sbi.h>
#include <duo/uart.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

#include "../unit/fake_host.h"

#define REC 52
#define RAM_MIB 16
#define MAX_CALLS 128

#define CHECK_OR_DIE(cond, ...)                                                     \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "fuzz_sbi: %s: ", #cond);                   \
			fprintf(stderr, __VA_ARGS__);                               \
			fputc('\n', stderr);                                        \
			abort();                                                    \
		}                                                                   \
	} while (0)

static const u64 eids[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM, SBI_EXT_SRST,
	SBI_EXT_DBCN,
};

static struct vm *vms[PLAT_MAX_VCPUS]; /* one per vCPU count, made on first use */

static struct vm *get_vm(unsigned n)
{
	static bool reset;
	if (!reset) {
		fake_host_reset();
		reset = true;
	}
	if (!vms[n - 1]) {
		vms[n - 1] = fake_vm(RAM_MIB, n);
		if (!vms[n - 1])
			abort();
	}
	return vms[n - 1];
}

static bool in_ram(struct vm *vm, u64 gpa, u64 len)
{
	return vm_gpa_ptr(vm, gpa, len) != NULL;
}

/* The harts (bit per id) a (mask, base) pair selects, or -1 if the pair is invalid:
 * written from the SBI spec's "hart list parameter", independently of sbi.c. */
static s64 expect_harts(unsigned n, u64 mask, u64 base)
{
	u64 all = (n == 64) ? UINT64_MAX : (1ULL << n) - 1;

	if (base == UINT64_MAX)
		return (s64)all;
	if (base >= n)
		return -1;
	for (unsigned i = 0; i < 64; i++)
		if ((mask >> i & 1) && base + i >= n)
			return -1;
	return (s64)(mask << base);
}

static u64 soft_irqs(void)
{
	u64 m = 0;
	for (unsigned i = 0; i < PLAT_MAX_VCPUS; i++)
		if (fake.irq[i][IRQ_S_SOFT])
			m |= 1ULL << i;
	return m;
}

static bool defined_error(s64 e)
{
	return e <= SBI_SUCCESS && e >= SBI_ERR_NO_SHMEM;
}

/* Legacy IPI / remote fence: the mask a hart-mask pointer designates, as (mask, base). */
static bool legacy_pair(struct vm *vm, u64 ptr, u64 *mask, u64 *base)
{
	u8 raw[8];

	if (ptr == 0) {
		*mask = 0;
		*base = UINT64_MAX;
		return true;
	}
	if (!in_ram(vm, ptr, 8))
		return false;
	memcpy(raw, vm_gpa_ptr(vm, ptr, 8), 8);
	*mask = duo_le64(raw);
	*base = 0;
	return true;
}

static void one_call(struct vm *vm, const u8 *rec)
{
	unsigned n = vm->nvcpus;
	struct vcpu *v = &vm->vcpus[rec[2] % n];
	u64 a[8], eid, fid;
	struct sbi_result r;

	for (unsigned i = 0; i < 6; i++) {
		a[i] = duo_le64(rec + 4 + 8 * i);
		if (rec[3] >> i & 1)
			a[i] = PLAT_RAM_BASE - 32 + a[i] % (vm->ram_size + 64);
	}
	eid = rec[0] < 16 ? eids[rec[0]] : a[5];
	fid = rec[1] == 255 ? a[5] : rec[1];
	a[6] = fid;
	a[7] = eid;

	/* What the call did is measured against a fresh record. */
	memset(fake.irq, 0, sizeof(fake.irq));
	fake.last_fence_mask = 0;
	fake.fence_calls = fake.irq_calls = fake.start_calls = fake.timer_calls = 0;
	size_t console0 = fake.console_len;
	u32 states0[PLAT_MAX_VCPUS];
	for (unsigned i = 0; i < n; i++)
		states0[i] = vm->vcpus[i].hsm_state;

	memset(&r, 0xa5, sizeof(r)); /* the dispatcher must set every field */
	sbi_dispatch(v, a, &r);

	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "hart %u eid 0x%llx fid 0x%llx a0 0x%llx a1 0x%llx: %lld %lld act %u\n",
			v->id, (unsigned long long)eid, (unsigned long long)fid,
			(unsigned long long)a[0], (unsigned long long)a[1], (long long)r.error,
			(long long)r.value, (unsigned)r.action);
	if (eid == SBI_EXT_LEGACY_GETCHAR)
		CHECK_OR_DIE(r.error >= -1 && r.error <= 255, "getchar %lld", (long long)r.error);
	else
		CHECK_OR_DIE(defined_error(r.error), "eid 0x%llx fid 0x%llx: error %lld",
			     (unsigned long long)eid, (unsigned long long)fid, (long long)r.error);
	CHECK_OR_DIE(r.legacy == (eid <= SBI_EXT_LEGACY_SHUTDOWN), "eid 0x%llx legacy %d",
		     (unsigned long long)eid, r.legacy);
	CHECK_OR_DIE((unsigned)r.action <= SBI_ACT_REBOOT, "action %u", (unsigned)r.action);
	if (r.error && eid != SBI_EXT_LEGACY_GETCHAR)
		CHECK_OR_DIE(r.action == SBI_ACT_NONE, "eid 0x%llx error %lld with action %u",
			     (unsigned long long)eid, (long long)r.error, (unsigned)r.action);

	/* No vCPU beyond the VM's own is ever touched. */
	u64 mine = (1ULL << n) - 1;
	CHECK_OR_DIE(!(soft_irqs() & ~mine), "irq to hart outside the VM");
	CHECK_OR_DIE(!(fake.last_fence_mask & ~mine), "fence to hart outside the VM");
	for (unsigned i = n; i < PLAT_MAX_VCPUS; i++)
		CHECK_OR_DIE(fake.timer[i] == UINT64_MAX, "timer of hart %u outside the VM", i);
	for (unsigned i = 0; i < n; i++)
		CHECK_OR_DIE(vm->vcpus[i].hsm_state <= HSM_RESUME_PENDING, "hart %u state %u", i,
			     vm->vcpus[i].hsm_state);

	/* IPI and remote fences: exactly the selected harts, or nobody. */
	bool is_ipi = (eid == SBI_EXT_IPI && fid == 0) || eid == SBI_EXT_LEGACY_SEND_IPI;
	bool is_fence = (eid == SBI_EXT_RFENCE && fid <= 2) ||
			(eid >= SBI_EXT_LEGACY_RFENCE_I && eid <= SBI_EXT_LEGACY_RFENCE_VMA_ASID);
	if (is_ipi || is_fence) {
		u64 mask = a[0], base = a[1];
		s64 want;
		if (eid <= SBI_EXT_LEGACY_SHUTDOWN && !legacy_pair(vm, a[0], &mask, &base))
			want = -2;
		else
			want = expect_harts(n, mask, base);
		u64 got = is_ipi ? soft_irqs() : fake.last_fence_mask;
		if (want < 0) {
			CHECK_OR_DIE(r.error == (want == -2 ? SBI_ERR_INVALID_ADDRESS
							    : SBI_ERR_INVALID_PARAM),
				     "eid 0x%llx mask 0x%llx base 0x%llx: error %lld",
				     (unsigned long long)eid, (unsigned long long)mask,
				     (unsigned long long)base, (long long)r.error);
			CHECK_OR_DIE(fake.irq_calls == 0 && fake.fence_calls == 0,
				     "rejected hart list still reached %d/%d harts", fake.irq_calls,
				     fake.fence_calls);
		} else {
			CHECK_OR_DIE(r.error == SBI_SUCCESS && got == (u64)want,
				     "eid 0x%llx mask 0x%llx base 0x%llx: error %lld, harts 0x%llx "
				     "want 0x%llx",
				     (unsigned long long)eid, (unsigned long long)mask,
				     (unsigned long long)base, (long long)r.error,
				     (unsigned long long)got, (unsigned long long)want);
		}
	}

	/* HSM. */
	if (eid == SBI_EXT_HSM) {
		if (fid == 0 && r.error == SBI_SUCCESS) {
			CHECK_OR_DIE(a[0] < n && states0[a[0]] == HSM_STOPPED,
				     "hart_start of %llu (state %u) succeeded",
				     (unsigned long long)a[0], a[0] < n ? states0[a[0]] : 99);
			CHECK_OR_DIE(in_ram(vm, a[1], 2) && !(a[1] & 1), "start pc 0x%llx",
				     (unsigned long long)a[1]);
		}
		if (fid == 0 && r.error)
			for (unsigned i = 0; i < n; i++)
				CHECK_OR_DIE(vm->vcpus[i].hsm_state == states0[i],
					     "failed hart_start moved hart %u", i);
		if (fid == 3 && r.action == SBI_ACT_HART_RESUME)
			CHECK_OR_DIE(in_ram(vm, r.resume_addr, 2) && !(r.resume_addr & 1),
				     "resume at 0x%llx", (unsigned long long)r.resume_addr);
		if (fid == 2 && r.error == SBI_SUCCESS)
			CHECK_OR_DIE(a[0] < n && (u64)r.value == states0[a[0]], "get_status");
	} else {
		CHECK_OR_DIE(fake.start_calls == 0, "eid 0x%llx started a hart",
			     (unsigned long long)eid);
	}

	/* DBCN: bounded, partial counts only. */
	if (eid == SBI_EXT_DBCN && (fid == 0 || fid == 1) && r.error == SBI_SUCCESS) {
		u64 want = DUO_MIN(a[0], 4096ULL);
		CHECK_OR_DIE(r.value >= 0 && (u64)r.value <= want, "dbcn moved %lld of %llu",
			     (long long)r.value, (unsigned long long)a[0]);
		if (a[0])
			CHECK_OR_DIE(a[2] == 0 && in_ram(vm, a[1], a[0]),
				     "dbcn accepted buffer 0x%llx:0x%llx +%llu",
				     (unsigned long long)a[2], (unsigned long long)a[1],
				     (unsigned long long)a[0]);
		if (fid == 0 && console0 + (u64)r.value < FAKE_CONSOLE_MAX - 1)
			CHECK_OR_DIE(fake.console_len == console0 + (u64)r.value,
				     "dbcn wrote %zu bytes, reported %lld",
				     fake.console_len - console0, (long long)r.value);
	}

	/* What a backend would do with the action, so later calls see a live machine. */
	if (r.action == SBI_ACT_HART_RESUME || r.action == SBI_ACT_WFI)
		__atomic_store_n(&v->hsm_state, HSM_STARTED, __ATOMIC_SEQ_CST);
	if (fake.console_len > FAKE_CONSOLE_MAX / 2)
		fake.console_len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned n = 1 + data[0] % PLAT_MAX_VCPUS, flags = data[1];
	struct vm *vm = get_vm(n);

	fake.console_len = 0;
	fake.start_result = (flags & 1) ? DUO_EIO : 0;
	for (unsigned i = 0; i < PLAT_MAX_VCPUS; i++)
		fake.timer[i] = UINT64_MAX;
	for (unsigned i = 0; i < n; i++)
		vm->vcpus[i].hsm_state = i == 0 ? HSM_STARTED : HSM_STOPPED;
	uart_reset(vm->uart);
	if (flags & 2)
		uart_rx(vm->uart, (const u8 *)"fuzz input\n", 11);
	memset(vm->ram, (flags & 4) ? 0xff : 0, 4096);
	memset(vm->ram + vm->ram_size - 4096, (flags & 4) ? 0xff : 0, 4096);

	size_t off = 2;
	for (unsigned c = 0; c < MAX_CALLS && off + REC <= size; c++, off += REC)
		one_call(vm, data + off);
	return 0;
}
