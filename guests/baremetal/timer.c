/*
 * timer.c - bare-metal guest: the `time` CSR and the SBI TIME extension (SBI spec v2.0
 * chapter 6) as seen through the S-mode timer interrupt (scause 5, sip/sie.STIP).
 *
 * Checks: rdtime advances; set_timer(now + 10 ms) raises the interrupt no earlier than the
 * deadline and within a second; UINT64_MAX cancels an armed timer; set_timer(0) and a
 * deadline in the past pend at once (visible in sip while SIE is off), the interrupt is
 * taken exactly once when the handler re-arms, and re-arming into the future clears the
 * pending bit; the legacy v0.1 set_timer works too; a burst of re-arms never fires early.
 */
#include "rt.h"

const char rt_guest_name[] = "timer";

#define NEVER UINT64_MAX

static volatile unsigned long fired;
static volatile uint64_t fired_at;

/* The handler takes the interrupt away by re-arming to "never", as an OS does. */
static void on_timer(unsigned irq, struct rt_frame *f)
{
	fired_at = rt_time();
	fired++;
	rt_sbi_set_timer(NEVER);
}

/* wait_fired - spin with interrupts on until the handler ran `want` times or `us`
 * passed (no wfi: if the interrupt never came nothing would wake it). */
static unsigned long wait_fired(unsigned long want, uint64_t us)
{
	uint64_t end = rt_time() + rt_us_to_ticks(us);
	while (fired < want && rt_time() < end)
		;
	return fired;
}

/* wait_stip - poll sip.STIP (interrupts off) until it is `set` or `us` passed. */
static bool wait_stip(bool set, uint64_t us)
{
	uint64_t end = rt_time() + rt_us_to_ticks(us);
	do {
		if (!!(csr_read(sip) & SIP_STIP) == set)
			return true;
	} while (rt_time() < end);
	return false;
}

static void check_rdtime(void)
{
	uint64_t t0 = rt_time(), t1 = t0;
	unsigned long spins;

	for (spins = 0; spins < 100000000 && t1 == t0; spins++)
		t1 = rt_time();
	rt_check(t1 > t0, "rdtime_advances", "time stuck at %lu", (unsigned long)t0);
}

static void check_deadline(void)
{
	uint64_t deadline, start = rt_time();
	struct sbiret r;

	fired = 0;
	deadline = start + rt_us_to_ticks(10000);
	r = rt_sbi_set_timer(deadline);
	rt_irq_enable();
	wait_fired(1, 2000000);
	rt_irq_disable();
	rt_check(r.error == 0, "set_timer_ok", "error %ld (%s)", r.error, rt_sbi_err_name(r.error));
	if (!rt_check(fired == 1, "timer_irq_taken", "%lu interrupts in 2 s, want 1", fired))
		return;
	rt_check(fired_at >= deadline, "timer_not_early", "fired %lu ticks before the deadline",
		 (unsigned long)(deadline - fired_at));
	rt_check(fired_at - deadline < rt_timebase, "timer_not_late",
		 "fired %lu ticks after the deadline (limit 1 s)",
		 (unsigned long)(fired_at - deadline));
}

static void check_cancel(void)
{
	struct sbiret r;

	fired = 0;
	rt_sbi_set_timer(rt_time() + rt_us_to_ticks(5000));
	r = rt_sbi_set_timer(NEVER);
	rt_irq_enable();
	rt_delay_us(30000);
	rt_irq_disable();
	rt_check(r.error == 0 && fired == 0 && !(csr_read(sip) & SIP_STIP), "set_timer_max_stops",
		 "error %ld, %lu interrupts, sip 0x%lx after cancelling", r.error, fired,
		 csr_read(sip));
}

static void check_immediate(const char *name, uint64_t deadline)
{
	char what[48];
	bool pended;

	fired = 0;
	rt_sbi_set_timer(deadline);
	pended = wait_stip(true, 100000);
	rt_snprintf(what, sizeof(what), "%s_pends", name);
	rt_check(pended, what, "sip.STIP not set within 100 ms of set_timer(%lu)",
		 (unsigned long)deadline);
	rt_irq_enable();
	wait_fired(1, 100000);
	rt_delay_us(20000); /* room for a second, wrong, interrupt */
	rt_irq_disable();
	rt_snprintf(what, sizeof(what), "%s_fires_once", name);
	rt_check(fired == 1 && !(csr_read(sip) & SIP_STIP), what,
		 "%lu interrupts, sip 0x%lx; want exactly 1 and STIP clear after re-arming", fired,
		 csr_read(sip));
}

static void check_rearm_clears(void)
{
	bool was, cleared;

	rt_sbi_set_timer(0);
	was = wait_stip(true, 100000);
	rt_sbi_set_timer(rt_time() + rt_timebase);
	cleared = !(csr_read(sip) & SIP_STIP);
	rt_sbi_set_timer(NEVER);
	rt_check(was && cleared, "rearm_clears_pending", "pending %d, cleared by re-arm %d", was,
		 cleared);
}

static void check_legacy(void)
{
	long r;

	fired = 0;
	r = rt_sbi_legacy(SBI_LEGACY_SET_TIMER, rt_time() + rt_us_to_ticks(5000), 0, 0);
	rt_irq_enable();
	wait_fired(1, 2000000);
	rt_irq_disable();
	rt_check(r == 0 && fired == 1, "legacy_set_timer", "returned %ld, %lu interrupts", r,
		 fired);
}

static void check_storm(void)
{
	uint64_t far = rt_time() + 10 * rt_timebase;
	unsigned long i, errors = 0;

	fired = 0;
	rt_irq_enable();
	for (i = 0; i < 2000; i++)
		if (rt_sbi_set_timer(far + i).error)
			errors++;
	rt_sbi_set_timer(NEVER);
	rt_delay_us(10000);
	rt_irq_disable();
	rt_check(errors == 0 && fired == 0, "rearm_storm_quiet",
		 "%lu errors, %lu interrupts from 2000 future deadlines", errors, fired);
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	struct sbiret r = rt_sbi_set_timer(NEVER);

	if (r.error == SBI_ERR_NOT_SUPPORTED) {
		rt_fail("time_extension", "set_timer is not supported");
		return;
	}
	rt_set_irq_handler(IRQ_S_TIMER, on_timer);
	csr_set(sie, SIP_STIP);
	check_rdtime();
	check_deadline();
	check_cancel();
	check_immediate("set_timer_zero", 0);
	check_immediate("set_timer_past", rt_time() / 2 + 1);
	check_rearm_clears();
	check_legacy();
	check_storm();
	csr_clear(sie, SIP_STIP);
}
