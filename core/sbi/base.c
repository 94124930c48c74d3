/*
 * base.c - SBI Base extension (EID 0x10): which SBI this is and which extensions it has.
 * Linux's sbi_init() starts here: spec version first (2.0 here), then a probe for each
 * extension it would use, falling back to the legacy calls when a probe says 0.
 */
#include <duo/sbi.h>

enum {
	BASE_GET_SPEC_VERSION = 0,
	BASE_GET_IMPL_ID = 1,
	BASE_GET_IMPL_VERSION = 2,
	BASE_PROBE_EXTENSION = 3,
	BASE_GET_MVENDORID = 4,
	BASE_GET_MARCHID = 5,
	BASE_GET_MIMPID = 6,
};

/* Bit 31 must be 0, major in bits 30:24, minor in 23:0. */
#define SBI_SPEC_VERSION_VALUE (((s64)SBI_SPEC_MAJOR << 24) | SBI_SPEC_MINOR)

static long base_probe(struct vcpu *v, u64 eid)
{
	const struct sbi_ext *ext = sbi_find_ext(eid);

	if (!ext)
		return 0;
	return ext->probe ? ext->probe(v, eid) : 1;
}

static void base_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	switch (fid) {
	case BASE_GET_SPEC_VERSION:
		r->value = SBI_SPEC_VERSION_VALUE;
		break;
	case BASE_GET_IMPL_ID:
		r->value = SBI_IMPL_ID_DUOVISOR;
		break;
	case BASE_GET_IMPL_VERSION:
		r->value = SBI_IMPL_VERSION;
		break;
	case BASE_PROBE_EXTENSION:
		r->value = base_probe(v, a[0]);
		break;
	case BASE_GET_MVENDORID:
	case BASE_GET_MARCHID:
	case BASE_GET_MIMPID:
		/* A virtual hart built by nobody in particular: 0 is "not implemented". */
		r->value = 0;
		break;
	default:
		r->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_ext sbi_ext_base = {
	.name = "base",
	.eid_min = SBI_EXT_BASE,
	.eid_max = SBI_EXT_BASE,
	.handle = base_handle,
};
