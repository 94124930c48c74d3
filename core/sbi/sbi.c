/*
 * sbi.c - the SBI dispatcher (see duo/sbi.h): the table of extensions a guest can call,
 * the ecall entry point the backends use, and the hart-mask walker shared by IPI,
 * RFENCE and the legacy calls. Each extension lives in its own file in core/sbi/.
 */
#include <duo/sbi.h>
#include <duo/lib.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

/* Every extension offered, in no particular order; their id ranges do not overlap. */
static const struct sbi_ext *const sbi_exts[] = {
	&sbi_ext_base, &sbi_ext_time, &sbi_ext_ipi,  &sbi_ext_rfence,
	&sbi_ext_hsm,  &sbi_ext_srst, &sbi_ext_dbcn, &sbi_ext_legacy,
};

const struct sbi_ext *sbi_find_ext(u64 eid)
{
	for (size_t i = 0; i < DUO_ARRAY_SIZE(sbi_exts); i++)
		if (eid >= sbi_exts[i]->eid_min && eid <= sbi_exts[i]->eid_max)
			return sbi_exts[i];
	return NULL;
}

void sbi_dispatch(struct vcpu *v, const u64 a[8], struct sbi_result *r)
{
	const struct sbi_ext *ext;

	*r = (struct sbi_result){ 0 }; /* six stores; a call to duo_memset cost type 1's
					 * every SBI exit ~48 instructions */
	r->error = SBI_SUCCESS;
	r->action = SBI_ACT_NONE;
	/* EIDs are compared on all 64 bits: 0x1_0000_0010 is not BASE. */
	ext = sbi_find_ext(a[7]);
	if (!ext) {
		r->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	ext->handle(v, a[7], a[6], a, r);
}

long sbi_for_each_hart(struct vcpu *v, u64 mask, u64 base,
		       void (*fn)(struct vcpu *target, void *arg), void *arg)
{
	struct vm *vm = v->vm;
	u32 n = vm->nvcpus;

	if (base == UINT64_MAX) {
		for (u32 i = 0; i < n; i++)
			fn(&vm->vcpus[i], arg);
		return SBI_SUCCESS;
	}
	/*
	 * An invalid base is an error even with an empty mask (SBI spec, "Hart list
	 * parameter"). Checking base < n first means base + bit can never overflow,
	 * however large the guest made hart_mask_base.
	 */
	if (base >= n)
		return SBI_ERR_INVALID_PARAM;
	if (mask >> (n - base)) /* n - base is 1..PLAT_MAX_VCPUS: shift is defined */
		return SBI_ERR_INVALID_PARAM;
	for (u32 i = 0; i < n - base; i++)
		if (mask & DUO_BIT(i))
			fn(&vm->vcpus[base + i], arg);
	return SBI_SUCCESS;
}
