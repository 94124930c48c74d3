/*
 * hcsr.c - a tiny S-mode test guest of the type-1 hypervisor's own (HOSTILE.md 24): it
 * touches what a guest must not - hypervisor CSRs, VS CSRs, HFENCE, HLV, a CSR that does
 * not exist - and counts how each one comes back. Every attempt must arrive as an
 * illegal-instruction exception (scause 2) in the guest itself, with stval holding the
 * instruction, and the guest must keep running. It prints one line per probe and
 *   hcsr: N of N probes trapped as illegal instructions
 * then shuts itself down with SBI SRST. Built by type1/type1.mk as a raw ELF at
 * 0x8020_0000 (build/type1/tests/hcsr.elf); no runtime, just SBI legacy putchar.
 */
#include <stdint.h>

struct probe {
	const char *name;
	uint64_t cause, tval;
};

static volatile uint64_t last_cause, last_tval;

static long sbi(long eid, long fid, long a0, long a1)
{
	register long r0 __asm__("a0") = a0;
	register long r1 __asm__("a1") = a1;
	register long r6 __asm__("a6") = fid;
	register long r7 __asm__("a7") = eid;
	__asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
	return r0;
}

static void puts_(const char *s)
{
	while (*s)
		sbi(1, 0, *s++, 0); /* legacy console_putchar */
}

static void puthex(uint64_t v)
{
	char b[19] = "0x";
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	puts_(b);
}

/* The trap handler: record scause/stval, skip the 4-byte instruction, return. */
__attribute__((aligned(4), interrupt("supervisor"))) static void on_trap(void)
{
	uint64_t epc;
	__asm__ volatile("csrr %0, scause" : "=r"(last_cause));
	__asm__ volatile("csrr %0, stval" : "=r"(last_tval));
	__asm__ volatile("csrr %0, sepc" : "=r"(epc));
	__asm__ volatile("csrw sepc, %0" ::"r"(epc + 4));
}

#define PROBE(name, insn)                                                                          \
	do {                                                                                       \
		last_cause = ~0UL;                                                                 \
		__asm__ volatile(".option push\n.option arch, +h\n.option norvc\n" insn            \
				 "\n.option pop" ::                                                \
					 : "t0", "memory");                                        \
		report(name, last_cause, last_tval);                                               \
	} while (0)

static int n, ok;

static void report(const char *name, uint64_t cause, uint64_t tval)
{
	n++;
	if (cause == 2)
		ok++;
	puts_("hcsr: ");
	puts_(name);
	puts_(cause == 2 ? ": illegal instruction, stval " : ": NOT illegal, scause ");
	puthex(cause == 2 ? tval : cause);
	puts_("\n");
}

void hcsr_main(void)
{
	__asm__ volatile("csrw stvec, %0" ::"r"(on_trap));
	PROBE("csrr hstatus", "csrr t0, hstatus");
	PROBE("csrw hgatp", "csrw hgatp, zero");
	PROBE("csrr hvip", "csrr t0, hvip");
	PROBE("csrr vsstatus", "csrr t0, vsstatus");
	PROBE("csrw vsatp", "csrw vsatp, zero");
	PROBE("csrr htimedelta", "csrr t0, htimedelta");
	PROBE("hfence.gvma", "hfence.gvma zero, zero");
	PROBE("hfence.vvma", "hfence.vvma zero, zero");
	PROBE("hlv.d", "hlv.d t0, (sp)");
	PROBE("csrr mstatus", "csrr t0, mstatus");
	puts_("hcsr: ");
	char num[8] = { (char)('0' + ok / 10), (char)('0' + ok % 10), 0 };
	puts_(num);
	puts_(" of ");
	num[0] = (char)('0' + n / 10);
	num[1] = (char)('0' + n % 10);
	puts_(num);
	puts_(" probes trapped as illegal instructions\n");
	sbi(0x53525354, 0, 0, 0); /* SRST shutdown */
	for (;;)
		__asm__ volatile("wfi");
}

__attribute__((naked, section(".text.entry"))) void _start(void)
{
	__asm__ volatile("la sp, stack_top\n"
			 "j hcsr_main\n");
}

static uint8_t stack[8192] __attribute__((aligned(16), used));
__asm__(".set stack_top, stack + 8192");
