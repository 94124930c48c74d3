/*
 * srst.c - SBI System Reset extension (EID "SRST"): shutdown, cold and warm reboot of
 * the caller's VM only. The core validates and logs; the backend stops or restarts the
 * VM (SBI_ACT_SHUTDOWN / SBI_ACT_REBOOT) after the call. Reserved and vendor-specific
 * types and reasons are not implemented, so they get INVALID_PARAM (SBI spec, SRST).
 */
#include <duo/log.h>
#include <duo/vcpu.h>

#include "sbi_priv.h"

enum { SRST_SYSTEM_RESET = 0 };

enum {
	SRST_TYPE_SHUTDOWN = 0,
	SRST_TYPE_COLD_REBOOT = 1,
	SRST_TYPE_WARM_REBOOT = 2,
};

enum {
	SRST_REASON_NONE = 0,
	SRST_REASON_SYSFAIL = 1,
};

static const char *const srst_type_names[] = { "shutdown", "cold reboot", "warm reboot" };
static const char *const srst_reason_names[] = { "no reason", "system failure" };

static void srst_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	/* Both arguments are 32 bits wide; the upper halves of a0/a1 are ignored. */
	u32 type = (u32)a[0], reason = (u32)a[1];

	if (fid != SRST_SYSTEM_RESET) {
		r->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	if (type > SRST_TYPE_WARM_REBOOT || reason > SRST_REASON_SYSFAIL) {
		r->error = SBI_ERR_INVALID_PARAM;
		return;
	}
	duo_log(v->vm, LOG_INFO, "SBI system reset from hart %u: %s (reason: %s)", v->id,
		srst_type_names[type], srst_reason_names[reason]);
	r->action = type == SRST_TYPE_SHUTDOWN ? SBI_ACT_SHUTDOWN : SBI_ACT_REBOOT;
	r->reset_reason = reason;
}

const struct sbi_ext sbi_ext_srst = {
	.name = "srst",
	.eid_min = SBI_EXT_SRST,
	.eid_max = SBI_EXT_SRST,
	.handle = srst_handle,
};
