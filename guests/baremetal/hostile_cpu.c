/*
 * hostile_cpu.c - hostile bare-metal guests that only burn CPU (HOSTILE.md item 23),
 * built twice by baremetal.mk:
 *   HOSTILE_CPU_MODE=0 -> hostile_spin.elf: interrupts off (sstatus.SIE and sie cleared),
 *     then an empty loop forever - no trap, no SBI call, nothing a hypervisor can wait on.
 *   HOSTILE_CPU_MODE=1 -> hostile_wfi.elf: a WFI + ecall storm forever. set_timer(0)
 *     with sie.STIE on and SIE off keeps an interrupt pending, so every WFI returns at
 *     once; each round also makes an SBI call. A progress line about once per second.
 * Neither ever finishes: a system test runs one beside a victim guest and checks that
 * the victim's heartbeat goes on, then stops the machine.
 */
#include "rt.h"

#ifndef HOSTILE_CPU_MODE
#define HOSTILE_CPU_MODE 0
#endif

#if HOSTILE_CPU_MODE
const char rt_guest_name[] = "hostile_wfi";
#else
const char rt_guest_name[] = "hostile_spin";
#endif

static void __attribute__((noreturn)) spin(void)
{
	rt_printf("hostile_spin: interrupts off, spinning forever\n");
	rt_irq_disable();
	csr_write(sie, 0);
	for (;;)
		__asm__ volatile("" ::: "memory");
}

static void __attribute__((noreturn)) wfi_storm(void)
{
	unsigned long rounds = 0, errors = 0, last_rounds = 0;
	uint64_t next = rt_time() + rt_timebase;

	rt_printf("hostile_wfi: WFI + ecall storm forever (STIP kept pending)\n");
	rt_irq_disable();
	csr_write(sie, SIP_STIP);
	rt_sbi_set_timer(0);
	for (;;) {
		rt_wfi();
		errors += rt_sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0, 0, 0).error != 0;
		rounds++;
		if (rt_time() >= next) {
			rt_printf("hostile_wfi: %lu rounds (%lu in the last second), %lu errors, "
				  "sip 0x%lx\n",
				  rounds, rounds - last_rounds, errors, csr_read(sip));
			last_rounds = rounds;
			next = rt_time() + rt_timebase;
		}
	}
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	if (HOSTILE_CPU_MODE)
		wfi_storm();
	spin();
}
