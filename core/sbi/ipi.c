/*
 * ipi.c - SBI IPI extension (EID "sPI"): send_ipi raises the supervisor software
 * interrupt (sip.SSIP) on each selected vCPU of the caller's VM; the guest clears it
 * itself. Hart ids outside the VM are rejected before anyone is interrupted.
 */
#include <duo/host.h>
#include <duo/vcpu.h>

#include "sbi_priv.h"

enum { IPI_SEND_IPI = 0 };

static void ipi_one(struct vcpu *target, void *arg)
{
	host_vcpu_set_irq(target, IRQ_S_SOFT, true);
}

long sbi_ipi_send(struct vcpu *v, u64 mask, u64 base)
{
	return sbi_for_each_hart(v, mask, base, ipi_one, NULL);
}

static void ipi_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	if (fid != IPI_SEND_IPI) {
		r->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	r->error = sbi_ipi_send(v, a[0], a[1]);
}

const struct sbi_ext sbi_ext_ipi = {
	.name = "ipi",
	.eid_min = SBI_EXT_IPI,
	.eid_max = SBI_EXT_IPI,
	.handle = ipi_handle,
};
