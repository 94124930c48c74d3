/*
 * smp.c - bare-metal guest: the SBI HSM, IPI and RFENCE extensions (SBI spec v2.0
 * chapters 7, 8, 9) between the boot hart and one other hart.
 *
 * The other hart is the first one in the device tree that is not the boot hart (QEMU +
 * OpenSBI may boot on any hart; duovisor boots on hart 0). Checks: that hart is STOPPED;
 * hart_start runs it at our entry with a0 = its id and a1 = the opaque value; a second
 * hart_start says ALREADY_AVAILABLE; IPIs go there and back (SSIP, cleared through sip);
 * RFENCE calls succeed; hart_stop stops it and it can be started again; bad hart ids are
 * INVALID_PARAM. With one hart the whole guest is a SKIP.
 */
#include "rt.h"

const char rt_guest_name[] = "smp";

#define BAD_HART 9999UL
#define WAIT_US 1000000

enum { CMD_RUN = 0, CMD_STOP = 1 };

static unsigned long boot_hart, other;
static volatile unsigned long sec_a0, sec_a1, sec_starts, sec_pings, boot_pongs;
static volatile int sec_cmd;

static void on_ipi(unsigned irq, struct rt_frame *f)
{
	csr_clear(sip, SIP_SSIP);
	if (rt_hartid() == boot_hart) {
		boot_pongs++;
	} else {
		sec_pings++;
		rt_sbi_send_ipi(1, boot_hart);
	}
}

/* secondary - what the started hart runs; returning stops it (rt_secondary_main). */
static void secondary(unsigned long a0, unsigned long a1)
{
	sec_a0 = a0;
	sec_a1 = a1;
	__atomic_fetch_add(&sec_starts, 1, __ATOMIC_RELEASE);
	csr_set(sie, SIP_SSIP);
	rt_irq_enable();
	while (__atomic_load_n(&sec_cmd, __ATOMIC_ACQUIRE) != CMD_STOP)
		rt_wfi();
	rt_irq_disable();
	csr_clear(sie, SIP_SSIP);
}

/* wait_until - spin until *v >= want or the time is up (interrupts are taken while
 * spinning when enabled; no wfi, which nothing would wake if the event never came). */
static bool wait_until(volatile unsigned long *v, unsigned long want, uint64_t us)
{
	uint64_t end = rt_time() + rt_us_to_ticks(us);
	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want)
		if (rt_time() >= end)
			return false;
	return true;
}

static long status_of(unsigned long hart, long *err)
{
	struct sbiret r = rt_sbi_hart_status(hart);
	*err = r.error;
	return r.value;
}

/* wait_status - poll hart_get_status until it reports `want`; returns the last value. */
static long wait_status(unsigned long hart, long want)
{
	uint64_t end = rt_time() + rt_us_to_ticks(WAIT_US);
	long err, st;
	do {
		st = status_of(hart, &err);
		if (!err && st == want)
			return st;
	} while (rt_time() < end);
	return err ? err : st;
}

static bool start_other(const char *name, unsigned long starts_before)
{
	unsigned long opaque = rt_start_opaque(other, secondary);
	struct sbiret r;

	sec_cmd = CMD_RUN;
	r = rt_sbi_hart_start(other, (unsigned long)rt_secondary_entry, opaque);
	if (!rt_check(r.error == 0, name, "hart_start(%lu): error %ld (%s)", other, r.error,
		      rt_sbi_err_name(r.error)))
		return false;
	if (!wait_until(&sec_starts, starts_before + 1, WAIT_US)) {
		rt_fail("hart_runs", "hart %lu did not run within 1 s", other);
		return false;
	}
	rt_check(sec_a0 == other && sec_a1 == opaque, "hart_start_args",
		 "a0 = %lu a1 = 0x%lx, want %lu and 0x%lx", sec_a0, sec_a1, other, opaque);
	return true;
}

static void check_ipis(void)
{
	unsigned long i, pongs = boot_pongs;
	struct sbiret r;
	bool ok = true;

	for (i = 0; i < 10 && ok; i++) {
		r = rt_sbi_send_ipi(1, other);
		ok = r.error == 0 && wait_until(&boot_pongs, pongs + i + 1, WAIT_US);
	}
	rt_check(ok, "ipi_roundtrip", "round trip %lu: send error %ld, %lu pongs, %lu pings", i,
		 r.error, boot_pongs - pongs, sec_pings);
	rt_check(!(csr_read(sip) & SIP_SSIP), "ipi_ssip_cleared", "sip 0x%lx", csr_read(sip));
	pongs = sec_pings;
	r = rt_sbi_send_ipi(0, -1UL); /* hart_mask_base = -1: every hart, us included */
	rt_check(r.error == 0 && wait_until(&sec_pings, pongs + 1, WAIT_US), "ipi_broadcast",
		 "error %ld, other hart pinged %lu times", r.error, sec_pings - pongs);
}

static void check_rfence(void)
{
	struct sbiret r;
	unsigned long mask = (1UL << boot_hart) | (1UL << other);

	r = rt_sbi_call(SBI_EXT_RFENCE, 0, mask, 0, 0, 0, 0, 0);
	rt_check(r.error == 0, "rfence_fence_i", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_RFENCE, 1, 0, -1UL, 0, -1UL, 0, 0);
	rt_check(r.error == 0, "rfence_sfence_vma", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_RFENCE, 2, mask, 0, 0x80200000, 0x1000, 0, 0);
	rt_check(r.error == 0, "rfence_sfence_vma_asid", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
}

static bool stop_other(const char *name)
{
	long st;

	__atomic_store_n(&sec_cmd, CMD_STOP, __ATOMIC_RELEASE);
	rt_sbi_send_ipi(1, other); /* wake it from wfi */
	st = wait_status(other, SBI_HSM_STOPPED);
	return rt_check(st == SBI_HSM_STOPPED, name, "hart %lu status %ld after hart_stop", other,
			st);
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	unsigned long ids[RT_MAX_HARTS];
	int n = rt_fdt_harts(ids, RT_MAX_HARTS), i;
	struct sbiret r;
	long st, err;

	boot_hart = hartid;
	other = hartid;
	for (i = 0; i < n; i++)
		if (ids[i] != hartid && ids[i] < RT_MAX_HARTS) {
			other = ids[i];
			break;
		}
	if (other == hartid) {
		rt_skip("smp", "needs >= 2 harts, the device tree lists %d", n);
		return;
	}
	rt_printf("smp: %d harts, boot hart %lu, testing with hart %lu\n", n, hartid, other);
	rt_set_irq_handler(IRQ_S_SOFT, on_ipi);

	st = status_of(hartid, &err);
	rt_check(!err && st == SBI_HSM_STARTED, "hsm_status_self", "error %ld status %ld", err, st);
	st = status_of(other, &err);
	rt_check(!err && st == SBI_HSM_STOPPED, "hsm_status_stopped", "error %ld status %ld", err,
		 st);
	r = rt_sbi_hart_status(BAD_HART);
	rt_check(r.error == SBI_ERR_INVALID_PARAM, "hsm_status_bad_hart", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_hart_start(BAD_HART, (unsigned long)rt_secondary_entry, 0);
	rt_check(r.error == SBI_ERR_INVALID_PARAM, "hsm_start_bad_hart", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));

	if (!start_other("hart_start", 0))
		return;
	st = wait_status(other, SBI_HSM_STARTED);
	rt_check(st == SBI_HSM_STARTED, "hsm_status_started", "status %ld", st);
	r = rt_sbi_hart_start(other, (unsigned long)rt_secondary_entry,
			      rt_start_opaque(other, secondary));
	rt_check(r.error == SBI_ERR_ALREADY_AVAILABLE, "hsm_start_twice", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));

	csr_set(sie, SIP_SSIP);
	rt_irq_enable();
	check_ipis();
	check_rfence();
	rt_irq_disable();

	if (!stop_other("hart_stop"))
		return;
	if (start_other("hart_restart", 1))
		stop_other("hart_stop_again");
	csr_clear(sie, SIP_SSIP);
}
