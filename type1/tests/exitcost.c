/*
 * exitcost.c - a tiny S-mode guest that measures what a trap to the hypervisor costs:
 * an SBI call round trip (BASE get_spec_version), a read of the UART's LSR (an MMIO exit
 * under type 1, a plain device access on bare QEMU) and, for scale, a plain RAM load.
 * Each is repeated N times between two rdtime reads. Run under QEMU's `-icount shift=0`
 * (one instruction = 1 ns, rdtime ticks = 100 ns) the result is in instructions executed
 * by the whole machine per operation, guest and hypervisor together:
 *   exitcost: sbi <n> insns, mmio <n> insns, ram <n> insns (N=...)
 * Built by type1/type1.mk (build/type1/tests/exitcost.elf); boots on duovisor type 1 and
 * directly on OpenSBI (`-kernel exitcost.elf`), which is the comparison docs/type1.md
 * records. Ends with SBI SRST shutdown.
 */
#include <stdint.h>

#define N 2000
#define INSNS_PER_TICK 100 /* 10 MHz timebase, 1 GHz instruction clock under icount 0 */

static long sbi(long eid, long fid, long a0)
{
	register long r0 __asm__("a0") = a0;
	register long r1 __asm__("a1") = 0;
	register long r6 __asm__("a6") = fid;
	register long r7 __asm__("a7") = eid;
	__asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
	return r0;
}

static uint64_t rdtime(void)
{
	uint64_t t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

static void puts_(const char *s)
{
	while (*s)
		sbi(1, 0, *s++);
}

static void putdec(uint64_t v)
{
	char b[24];
	int i = 23;
	b[i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	puts_(b + i);
}

static uint64_t per_op(uint64_t t0, uint64_t t1)
{
	return (t1 - t0) * INSNS_PER_TICK / N;
}

static volatile uint64_t ram_word;

void exitcost_main(void)
{
	volatile uint8_t *lsr = (volatile uint8_t *)0x10000005UL;
	uint64_t t0, t1, t2, t3;
	uint64_t sink = 0;

	t0 = rdtime();
	for (int i = 0; i < N; i++)
		sink += sbi(0x10, 0, 0); /* BASE get_spec_version */
	t1 = rdtime();
	for (int i = 0; i < N; i++)
		sink += *lsr;
	t2 = rdtime();
	for (int i = 0; i < N; i++)
		sink += ram_word;
	t3 = rdtime();
	ram_word = sink;
	puts_("exitcost: sbi ");
	putdec(per_op(t0, t1));
	puts_(" insns, mmio ");
	putdec(per_op(t1, t2));
	puts_(" insns, ram ");
	putdec(per_op(t2, t3));
	puts_(" insns (N=");
	putdec(N);
	puts_(", under -icount shift=0)\n");
	sbi(0x53525354, 0, 0); /* SRST shutdown */
	for (;;)
		__asm__ volatile("wfi");
}

__attribute__((naked, section(".text.entry"))) void _start(void)
{
	__asm__ volatile("la sp, stack_top\n"
			 "j exitcost_main\n");
}

static uint8_t stack[8192] __attribute__((aligned(16), used));
__asm__(".set stack_top, stack + 8192");
