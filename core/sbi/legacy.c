/*
 * legacy.c - SBI v0.1 legacy extensions (EIDs 0x00..0x08): one function per EID, the
 * result in a0 only (sbi_result.legacy), a6 ignored. Kept because earlycon=sbi and
 * older kernels use putchar/getchar, and Linux falls back to them when a probe fails.
 *
 * The IPI and remote-fence calls take a POINTER to a hart bit-vector. The spec calls
 * it a virtual address; the core has no view of the guest's page tables, so it is read
 * as a guest-physical address with vm_read() (a bad pointer gets
 * SBI_ERR_INVALID_ADDRESS instead of the trap real firmware would redirect). A NULL
 * pointer selects every hart, as OpenSBI does. With at most 64 vCPUs the vector is one
 * 64-bit word. Errors are the v0.2 codes, which are negative as v0.1 asks.
 */
#include <duo/host.h>
#include <duo/log.h>
#include <duo/uart.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

#include "sbi_priv.h"

_Static_assert(PLAT_MAX_VCPUS <= 64, "the legacy hart mask is read as one u64");

/* Turn the guest's mask pointer into a (mask, base) pair for sbi_for_each_hart. */
static long legacy_mask(struct vcpu *v, u64 ptr, u64 *mask, u64 *base)
{
	u8 raw[8];

	if (ptr == 0) {
		*mask = 0;
		*base = UINT64_MAX;
		return SBI_SUCCESS;
	}
	if (vm_read(v->vm, ptr, raw, sizeof(raw)))
		return SBI_ERR_INVALID_ADDRESS;
	*mask = duo_le64(raw);
	*base = 0;
	return SBI_SUCCESS;
}

static long legacy_fence(struct vcpu *v, const u64 a[8], enum host_fence kind)
{
	u64 mask, base;
	long err = legacy_mask(v, a[0], &mask, &base);

	if (err)
		return err;
	switch (kind) {
	case HOST_FENCE_I:
		return sbi_rfence_send(v, mask, base, kind, 0, 0, 0);
	case HOST_FENCE_VMA:
		return sbi_rfence_send(v, mask, base, kind, a[1], a[2], 0);
	case HOST_FENCE_VMA_ASID:
		return sbi_rfence_send(v, mask, base, kind, a[1], a[2], a[3]);
	}
	return SBI_ERR_NOT_SUPPORTED;
}

static void legacy_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8],
			  struct sbi_result *r)
{
	u64 mask, base;
	char c;

	r->legacy = true;
	switch (eid) {
	case SBI_EXT_LEGACY_SET_TIMER:
		host_vcpu_set_timer(v, a[0]);
		break;
	case SBI_EXT_LEGACY_PUTCHAR:
		c = (char)(u8)a[0];
		host_console_write(v->vm, &c, 1);
		break;
	case SBI_EXT_LEGACY_GETCHAR:
		r->error = v->vm->uart ? uart_getc(v->vm->uart) : -1;
		break;
	case SBI_EXT_LEGACY_CLEAR_IPI:
		/* We cannot tell whether one was pending, so report "none" (0). */
		host_vcpu_set_irq(v, IRQ_S_SOFT, false);
		break;
	case SBI_EXT_LEGACY_SEND_IPI:
		r->error = legacy_mask(v, a[0], &mask, &base);
		if (!r->error)
			r->error = sbi_ipi_send(v, mask, base);
		break;
	case SBI_EXT_LEGACY_RFENCE_I:
		r->error = legacy_fence(v, a, HOST_FENCE_I);
		break;
	case SBI_EXT_LEGACY_RFENCE_VMA:
		r->error = legacy_fence(v, a, HOST_FENCE_VMA);
		break;
	case SBI_EXT_LEGACY_RFENCE_VMA_ASID:
		r->error = legacy_fence(v, a, HOST_FENCE_VMA_ASID);
		break;
	case SBI_EXT_LEGACY_SHUTDOWN:
		duo_log(v->vm, LOG_INFO, "SBI legacy shutdown from hart %u", v->id);
		r->action = SBI_ACT_SHUTDOWN;
		break;
	default:
		r->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_ext sbi_ext_legacy = {
	.name = "legacy",
	.eid_min = SBI_EXT_LEGACY_SET_TIMER,
	.eid_max = SBI_EXT_LEGACY_SHUTDOWN,
	.handle = legacy_handle,
};
