/*
 * sbi_priv.h - helpers shared by the SBI extension files in core/sbi/. Not part of the
 * core's interface: only the files in core/sbi/ include it. The legacy v0.1 calls reuse the IPI
 * and RFENCE paths through these so both ABIs behave the same.
 */
#ifndef DUO_SBI_PRIV_H
#define DUO_SBI_PRIV_H

#include <duo/host.h>
#include <duo/sbi.h>
#include <duo/types.h>

/*
 * sbi_ipi_send - raise the supervisor software interrupt on every vCPU selected by
 * (mask, base). Returns SBI_SUCCESS, or SBI_ERR_INVALID_PARAM (nobody interrupted).
 */
long sbi_ipi_send(struct vcpu *v, u64 mask, u64 base);

/*
 * sbi_rfence_send - have every vCPU selected by (mask, base) perform the fence `kind`
 * over [start, start + size) (asid for HOST_FENCE_VMA_ASID). A range that wraps past
 * the top of the address space is widened to a full flush. Returns SBI_SUCCESS or
 * SBI_ERR_INVALID_PARAM (nothing fenced).
 */
long sbi_rfence_send(struct vcpu *v, u64 mask, u64 base, enum host_fence kind, u64 start,
		     u64 size, u64 asid);

/* Upper bound on bytes moved by one DBCN call, so a guest cannot make one ecall cost
 * unbounded host time (HOSTILE 20); the guest sees a partial count and calls again. */
#define SBI_DBCN_MAX_CHUNK 4096

#endif
