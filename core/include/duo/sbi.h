/*
 * sbi.h - the SBI implementation duovisor gives its guests (no firmware in the VM).
 *
 * A backend turns a guest `ecall` from S-mode into sbi_dispatch(): a0..a7 in, an error
 * and value out (written to a0/a1, then pc += 4), plus an action the backend carries
 * out (stop this hart, shut the VM down...). One extension per file in core/sbi/.
 */
#ifndef DUO_SBI_H
#define DUO_SBI_H

#include <duo/types.h>

struct vcpu;

#define SBI_SPEC_MAJOR 2
#define SBI_SPEC_MINOR 0
#define SBI_IMPL_ID_DUOVISOR 0x44554f /* "DUO"; not a registered id */
#define SBI_IMPL_VERSION 1

/* Standard SBI error codes. */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED -4
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED -7
#define SBI_ERR_ALREADY_STOPPED -8
#define SBI_ERR_NO_SHMEM -9

/* Extension ids. */
#define SBI_EXT_LEGACY_SET_TIMER 0x00
#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_LEGACY_GETCHAR 0x02
#define SBI_EXT_LEGACY_CLEAR_IPI 0x03
#define SBI_EXT_LEGACY_SEND_IPI 0x04
#define SBI_EXT_LEGACY_RFENCE_I 0x05
#define SBI_EXT_LEGACY_RFENCE_VMA 0x06
#define SBI_EXT_LEGACY_RFENCE_VMA_ASID 0x07
#define SBI_EXT_LEGACY_SHUTDOWN 0x08
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E

/* What the backend must do after writing the result back. */
enum sbi_action {
	SBI_ACT_NONE = 0,
	SBI_ACT_WFI, /* HSM retentive suspend: behave as wfi, then return normally */
	SBI_ACT_HART_STOP, /* HSM hart_stop: this vCPU stops (state already STOPPED) */
	SBI_ACT_HART_RESUME, /* non-retentive suspend: sleep until an interrupt, then jump
				to resume_addr with a0 = hartid, a1 = resume_opaque, satp=0, SIE=0 */
	SBI_ACT_SHUTDOWN, /* SRST shutdown (or legacy shutdown): stop the whole VM */
	SBI_ACT_REBOOT, /* SRST cold/warm reboot: restart the VM in place */
};

struct sbi_result {
	s64 error; /* -> a0 */
	s64 value; /* -> a1, unless legacy */
	bool legacy; /* v0.1 call: only a0 is written (with `error`) */
	enum sbi_action action;
	u64 resume_addr;
	u64 resume_opaque;
	u32 reset_reason; /* SRST reason, for the log */
};

/*
 * sbi_dispatch - handle one ecall from vcpu `v`. a[0..7] are the guest's a0..a7. Never
 * fails: every input, however hostile, gets an SBI error code in r->error.
 */
void sbi_dispatch(struct vcpu *v, const u64 a[8], struct sbi_result *r);

/* One extension: a range of ids, an optional probe, and the handler. */
struct sbi_ext {
	const char *name;
	u64 eid_min, eid_max;
	/* probe - value for BASE probe_extension (nonzero = present); NULL means 1. */
	long (*probe)(struct vcpu *v, u64 eid);
	void (*handle)(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r);
};

extern const struct sbi_ext sbi_ext_base, sbi_ext_time, sbi_ext_ipi, sbi_ext_rfence,
	sbi_ext_hsm, sbi_ext_srst, sbi_ext_dbcn, sbi_ext_legacy;

/* sbi_find_ext - the extension serving `eid`, or NULL. */
const struct sbi_ext *sbi_find_ext(u64 eid);

/*
 * sbi_for_each_hart - walk an SBI (hart_mask, hart_mask_base) pair over this VM's vCPUs,
 * calling fn for each selected one. base == -1UL selects every vCPU. Returns
 * SBI_ERR_INVALID_PARAM if any selected id is not a vCPU of this VM (before calling fn
 * for any), else SBI_SUCCESS.
 */
long sbi_for_each_hart(struct vcpu *v, u64 mask, u64 base,
		       void (*fn)(struct vcpu *target, void *arg), void *arg);

#endif
