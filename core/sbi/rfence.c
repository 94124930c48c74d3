/*
 * rfence.c - SBI RFENCE extension (EID "RFNC"): remote fence.i and sfence.vma (all
 * ASIDs or one) on selected vCPUs of the caller's VM, carried out by the backend's
 * host_vcpu_fence() before this call returns to the guest.
 *
 * The hfence.* functions are for guests that run their own guests; duovisor's guests
 * get no H extension, so those answer NOT_SUPPORTED (the spec allows it when the
 * extension is absent).
 */
#include <duo/host.h>
#include <duo/vcpu.h>

#include "sbi_priv.h"

enum {
	RFENCE_FENCE_I = 0,
	RFENCE_SFENCE_VMA = 1,
	RFENCE_SFENCE_VMA_ASID = 2,
	RFENCE_HFENCE_GVMA_VMID = 3,
	RFENCE_HFENCE_GVMA = 4,
	RFENCE_HFENCE_VVMA_ASID = 5,
	RFENCE_HFENCE_VVMA = 6,
};

struct rfence_req {
	enum host_fence kind;
	u64 start, size, asid;
};

static void rfence_one(struct vcpu *target, void *arg)
{
	const struct rfence_req *q = arg;

	host_vcpu_fence(target, q->kind, q->start, q->size, q->asid);
}

long sbi_rfence_send(struct vcpu *v, u64 mask, u64 base, enum host_fence kind, u64 start,
		     u64 size, u64 asid)
{
	struct rfence_req q = { kind, start, size, asid };

	/* A range running off the top of the address space cannot be flushed page by
	 * page; flushing everything is always correct, so do that instead. */
	if (kind != HOST_FENCE_I && size != UINT64_MAX && start + size < start)
		q.size = UINT64_MAX;
	if (kind == HOST_FENCE_I)
		q.start = q.size = q.asid = 0;
	return sbi_for_each_hart(v, mask, base, rfence_one, &q);
}

static void rfence_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8],
			  struct sbi_result *r)
{
	switch (fid) {
	case RFENCE_FENCE_I:
		r->error = sbi_rfence_send(v, a[0], a[1], HOST_FENCE_I, 0, 0, 0);
		break;
	case RFENCE_SFENCE_VMA:
		r->error = sbi_rfence_send(v, a[0], a[1], HOST_FENCE_VMA, a[2], a[3], 0);
		break;
	case RFENCE_SFENCE_VMA_ASID:
		r->error = sbi_rfence_send(v, a[0], a[1], HOST_FENCE_VMA_ASID, a[2], a[3], a[4]);
		break;
	case RFENCE_HFENCE_GVMA_VMID:
	case RFENCE_HFENCE_GVMA:
	case RFENCE_HFENCE_VVMA_ASID:
	case RFENCE_HFENCE_VVMA:
	default:
		r->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_ext sbi_ext_rfence = {
	.name = "rfence",
	.eid_min = SBI_EXT_RFENCE,
	.eid_max = SBI_EXT_RFENCE,
	.handle = rfence_handle,
};
