/*
 * report.c - boot glue and the report API of the bare-metal test guests.
 *
 * rt_boot_main (called by start.S on the boot hart) reads the device tree and the SBI
 * implementation's identity, prints one banner line, runs the guest's guest_main() and
 * ends with rt_finish(). Results are lines the system-test harness
 * (tests/system/run.py) matches:
 *   PASS <name>
 *   FAIL <name>: <why>
 *   SKIP <name>: <why>
 *   baremetal: <N> passed, <N> failed, <N> skipped
 * after which the machine is shut down through SBI SRST (legacy shutdown as fallback).
 */
#include "rt.h"

long rt_sbi_spec_version;
long rt_sbi_impl_id;
uint64_t rt_timebase = 10000000;

static unsigned long n_pass, n_fail, n_skip;

void rt_boot_main(unsigned long hartid, uintptr_t dtb);

void rt_pass(const char *name)
{
	__atomic_fetch_add(&n_pass, 1, __ATOMIC_RELAXED);
	rt_printf("PASS %s\n", name);
}

static void vreport(const char *what, unsigned long *counter, const char *name, const char *fmt,
		    va_list ap)
{
	char why[256];

	rt_vsnprintf(why, sizeof(why), fmt, ap);
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	rt_printf("%s %s: %s\n", what, name, why);
}

void rt_fail(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("FAIL", &n_fail, name, fmt, ap);
	va_end(ap);
}

void rt_skip(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("SKIP", &n_skip, name, fmt, ap);
	va_end(ap);
}

bool rt_check(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		rt_pass(name);
		return true;
	}
	va_start(ap, fmt);
	vreport("FAIL", &n_fail, name, fmt, ap);
	va_end(ap);
	return false;
}

void rt_finish(void)
{
	rt_irq_disable();
	rt_printf("baremetal: %lu passed, %lu failed, %lu skipped\n", n_pass, n_fail, n_skip);
	rt_sbi_shutdown();
}

uint64_t rt_us_to_ticks(uint64_t us)
{
	return us * (rt_timebase / 1000) / 1000 + (us * (rt_timebase % 1000)) / 1000000;
}

void rt_delay_us(uint64_t us)
{
	uint64_t end = rt_time() + rt_us_to_ticks(us);
	while (rt_time() < end)
		;
}

static const char *impl_name(long id)
{
	switch (id) {
	case SBI_IMPL_OPENSBI:
		return "OpenSBI";
	case SBI_IMPL_DUOVISOR:
		return "duovisor";
	case 0:
		return "BBL";
	default:
		return "other";
	}
}

void rt_boot_main(unsigned long hartid, uintptr_t dtb)
{
	struct sbiret r;
	bool have_fdt = rt_fdt_init(dtb);

	if (have_fdt)
		rt_timebase = rt_fdt_timebase();
	if (rt_timebase < 1000)
		rt_timebase = 10000000;
	r = rt_sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0, 0, 0);
	rt_sbi_spec_version = r.error ? 0 : r.value;
	r = rt_sbi_call(SBI_EXT_BASE, 1, 0, 0, 0, 0, 0, 0);
	rt_sbi_impl_id = r.error ? -1 : r.value;
	rt_printf("baremetal %s: boot hart %lu, dtb 0x%lx%s, SBI %ld.%ld impl 0x%lx (%s), "
		  "timebase %lu Hz\n",
		  rt_guest_name, hartid, (unsigned long)dtb, have_fdt ? "" : " (unreadable)",
		  (rt_sbi_spec_version >> 24) & 0x7f, rt_sbi_spec_version & 0xffffff,
		  rt_sbi_impl_id, impl_name(rt_sbi_impl_id), (unsigned long)rt_timebase);
	guest_main(hartid, dtb);
	rt_finish();
}
