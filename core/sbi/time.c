/*
 * time.c - SBI Timer extension (EID "TIME"): set_timer programs the calling vCPU's
 * supervisor timer through the backend, which also clears a pending timer interrupt
 * when the deadline is in the future. Any 64-bit value is valid: 0 or a past time
 * fires at once, UINT64_MAX never fires; re-arming replaces the one armed timer, so a
 * guest calling this in a loop cannot pile up host timers (HOSTILE 22).
 */
#include <duo/host.h>
#include <duo/sbi.h>

enum { TIME_SET_TIMER = 0 };

static void time_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	if (fid != TIME_SET_TIMER) {
		r->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	host_vcpu_set_timer(v, a[0]);
}

const struct sbi_ext sbi_ext_time = {
	.name = "time",
	.eid_min = SBI_EXT_TIME,
	.eid_max = SBI_EXT_TIME,
	.handle = time_handle,
};
