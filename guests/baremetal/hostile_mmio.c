/*
 * hostile_mmio.c - hostile bare-metal guest: odd MMIO and unmapped guest-physical
 * accesses (HOSTILE.md items 13, 14, 16, 25, 26).
 *
 * 1. Every UART offset and a spread of PLIC registers, read at widths 1/2/4/8, aligned
 *    and misaligned, some straddling two registers (all inside the device's window);
 *    harmless writes (zero, to registers that do not break the console) likewise.
 *    Out-of-range PLIC sources and contexts, completing an unclaimed or out-of-range id.
 *    Each access either returns or traps into this guest - both are defined; the device
 *    must still work afterwards (checked).
 *    The UART's interrupt line toggled 20000 times; RAM never written reads zero.
 * 2. Accesses straddling the end of a device window (any answer is defined; reported).
 *    Unmapped addresses: 0x0, RAM end, just below RAM, straddling the end of RAM, the top
 *    of the address space. A load or store there must trap into the guest as an access
 *    fault - or the hypervisor may stop the VM, which is why every such probe is
 *    announced on the console before it is made.
 * Output ends with "hostile_mmio: done" and the usual summary.
 */
#include "rt.h"

const char rt_guest_name[] = "hostile_mmio";

#define UART 0x10000000UL
#define UART_SIZE 0x100
#define PLIC 0x0c000000UL
#define PLIC_SIZE 0x600000
#define PLIC_ENABLE(c) (PLIC + 0x2000 + 0x80 * (c))
#define PLIC_THRESHOLD(c) (PLIC + 0x200000 + 0x1000 * (c))
#define PLIC_CLAIM(c) (PLIC_THRESHOLD(c) + 4)

static const unsigned widths[] = { 1, 2, 4, 8 };
static unsigned long n_access, n_fault;
static int ctx;

/* sweep - read (and, if write, store zero) at each offset and width that stays inside
 * the device's window of `size` bytes; count traps. Leaving the window is phase 2's. */
static void sweep(const char *what, uintptr_t base, unsigned long size, const unsigned long *offs,
		  unsigned n, bool write)
{
	unsigned long before = n_fault, i, w;
	struct rt_probe p;

	for (i = 0; i < n; i++) {
		for (w = 0; w < 4; w++) {
			if (offs[i] + widths[w] > size)
				continue;
			rt_probe_read(base + offs[i], widths[w], &p);
			n_access++;
			n_fault += p.faulted;
			if (!write)
				continue;
			rt_probe_write(base + offs[i], widths[w], 0, &p);
			n_access++;
			n_fault += p.faulted;
		}
	}
	rt_printf("hostile_mmio: %s: %u offsets x widths 1/2/4/8 %s, %lu trapped\n", what, n,
		  write ? "read+write" : "read", n_fault - before);
}

static void uart_barrage(void)
{
	static unsigned long reads[UART_SIZE], writes[] = {
		4, 5, 6, 7, 8, 9, 0xb, 0xf, 0x10, 0x7f, 0x80, 0xf8, 0xfb, 0xfc, 0xfd, 0xff,
	};
	unsigned long i;
	uint8_t a, b, lsr;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		reads[i] = i;
	sweep("uart reads", UART, UART_SIZE, reads, sizeof(reads) / sizeof(reads[0]), false);
	sweep("uart writes", UART, UART_SIZE, writes, sizeof(writes) / sizeof(writes[0]), true);

	rt_mmio_write8(UART + 1, 0); /* IER: nothing enabled, as before */
	rt_mmio_write8(UART + 7, 0x3c);
	a = rt_mmio_read8(UART + 7);
	rt_mmio_write8(UART + 7, 0xc3);
	b = rt_mmio_read8(UART + 7);
	lsr = rt_mmio_read8(UART + 5);
	rt_check(a == 0x3c && b == 0xc3 && (lsr & 0x60), "uart_survives",
		 "scratch read back 0x%x 0x%x, LSR 0x%x", a, b, lsr);
}

static void plic_barrage(void)
{
	static const unsigned long regs[] = {
		0x0,	  0x4,	    0x28,     0x7c,	0x80,	  0xffc,    0x1000,   0x1004,
		0x107c,	  0x2000,   0x2004,   0x207c,	0x2080,	  0x1f1ffc, 0x200000, 0x200004,
		0x200008, 0x201000, 0x207000, 0x208000, 0x264000, 0x5e8000, 0x5ffff8, 0x5ffffc,
	};
	static const unsigned long bad_ctx[] = { 8, 16, 100, 1000 }; /* all inside the window */
	uint32_t v;
	unsigned long i;
	struct rt_probe p;

	sweep("plic reads", PLIC, PLIC_SIZE, regs, sizeof(regs) / sizeof(regs[0]), false);
	/* Out-of-range sources and contexts; read-only pending; bogus completes. */
	rt_probe_write(PLIC + 0x0, 4, 7, &p);	   /* priority of reserved source 0 */
	rt_probe_write(PLIC + 0xffc, 4, 7, &p);	   /* source 1023 */
	rt_probe_write(PLIC + 0x1000, 4, ~0u, &p); /* pending is read-only */
	for (i = 0; i < sizeof(bad_ctx) / sizeof(bad_ctx[0]); i++) {
		rt_probe_write(PLIC_ENABLE(bad_ctx[i]), 4, ~0u, &p);
		rt_probe_write(PLIC_THRESHOLD(bad_ctx[i]), 4, 0, &p);
		rt_probe_write(PLIC_CLAIM(bad_ctx[i]), 4, 10, &p);
	}
	rt_probe_write(PLIC_CLAIM(ctx), 4, 10, &p); /* complete: never claimed */
	rt_probe_write(PLIC_CLAIM(ctx), 4, 1023, &p);
	rt_probe_write(PLIC_CLAIM(ctx), 4, 0xffffffffu, &p);
	rt_probe_write(PLIC + 0x28, 1, 0, &p); /* narrow writes */
	rt_probe_write(PLIC + 0x28, 8, 0, &p);

	rt_probe_read(PLIC, 4, &p);
	rt_check(!p.faulted && p.val == 0, "plic_source0_reserved",
		 "priority[0] reads %s0x%lx after writing 7", p.faulted ? "(trap) " : "",
		 (unsigned long)p.val);
	v = rt_mmio_read32(PLIC_CLAIM(ctx));
	rt_check(v == 0, "plic_unclaimed_complete_ignored", "claim returned %u", v);

	/* Item 17: the UART's line toggled as fast as the guest can, never claimed. */
	rt_mmio_write32(PLIC + 4 * 10, 1);
	rt_mmio_write32(PLIC_ENABLE(ctx), 1u << 10);
	for (i = 0; i < 20000; i++)
		rt_mmio_write8(UART + 1, (i & 1) ? 0 : 2);
	rt_mmio_write8(UART + 1, 0);
	v = rt_mmio_read32(PLIC_CLAIM(ctx));
	if (v)
		rt_mmio_write32(PLIC_CLAIM(ctx), v);
	rt_printf("hostile_mmio: 20000 IER toggles on source 10, then claim -> %u\n", v);
	rt_check(v == 0 || v == 10, "plic_toggle_storm", "claim returned %u after the storm", v);

	/* Does it still deliver? Source 10 (UART THR empty), polled through claim. */
	rt_mmio_write32(PLIC + 4 * 10, 1);
	rt_mmio_write32(PLIC_ENABLE(ctx), 1u << 10);
	rt_mmio_write32(PLIC_THRESHOLD(ctx), 0);
	rt_mmio_write8(UART + 1, 2);
	{
		uint64_t end = rt_time() + rt_us_to_ticks(500000);
		do
			v = rt_mmio_read32(PLIC_CLAIM(ctx));
		while (v == 0 && rt_time() < end);
	}
	rt_mmio_write8(UART + 1, 0);
	if (v)
		rt_mmio_write32(PLIC_CLAIM(ctx), v);
	rt_check(v == 10, "plic_survives", "claim returned %u, want the UART's 10", v);
	rt_mmio_write32(PLIC_ENABLE(ctx), 0);
	rt_mmio_write32(PLIC + 4 * 10, 0);
}

/* straddle - an access that starts in a device window and ends past it: any answer is
 * defined (a trap, or the device's part), so it is only reported. Announced first, as
 * the hypervisor may stop the VM for the part outside. */
static void straddle(const char *name, uintptr_t addr, unsigned width)
{
	struct rt_probe p;

	rt_printf("hostile_mmio: probe %s load 0x%lx width %u\n", name, (unsigned long)addr, width);
	rt_probe_read(addr, width, &p);
	n_access++;
	n_fault += p.faulted;
	if (p.faulted)
		rt_printf("hostile_mmio: -> trap cause %lu tval 0x%lx\n", p.cause, p.tval);
	else
		rt_printf("hostile_mmio: -> read 0x%lx\n", (unsigned long)p.val);
}

/* unmapped - announce, then load (or store) at addr; the access must trap. `qemu_maps`
 * names what QEMU's virt board has there, where the check does not apply under OpenSBI. */
static void unmapped(const char *name, uintptr_t addr, unsigned width, bool store,
		     const char *qemu_maps)
{
	struct rt_probe p;

	rt_printf("hostile_mmio: probe %s %s 0x%lx width %u\n", name, store ? "store" : "load",
		  (unsigned long)addr, width);
	if (store)
		rt_probe_write(addr, width, 0x5a5a5a5a5a5a5a5aUL, &p);
	else
		rt_probe_read(addr, width, &p);
	n_access++;
	n_fault += p.faulted;
	if (p.faulted)
		rt_printf("hostile_mmio: -> trap cause %lu tval 0x%lx\n", p.cause, p.tval);
	else
		rt_printf("hostile_mmio: -> no trap, read 0x%lx\n", (unsigned long)p.val);
	if (!p.faulted && qemu_maps && rt_on_opensbi()) {
		rt_skip(name, "QEMU virt maps %s there", qemu_maps);
		return;
	}
	rt_check(p.faulted && (p.cause == 5 || p.cause == 7 || p.cause == 4 || p.cause == 6), name,
		 "no access fault: %s", p.faulted ? "unexpected cause" : "access completed");
}

/*
 * fresh_ram - item 25: RAM this guest never wrote reads as zero (no other VM's data, no
 * stale data from an earlier VM). Skips the image, the device tree, and under OpenSBI
 * the firmware below the image (PMP-protected).
 */
static void fresh_ram(uint64_t base, uint64_t end, uintptr_t dtb)
{
	extern char __image_start[], __image_end[];
	uint64_t lo = rt_on_opensbi() ? (uintptr_t)__image_end : base;
	uint64_t dtb_end = dtb + rt_be32((const void *)(dtb + 4));
	uint64_t a, words = 0, nonzero = 0, first = 0;

	for (a = lo; a < end; a += 8) {
		if (a >= (uintptr_t)__image_start && a < (uintptr_t)__image_end)
			continue;
		if (a >= dtb && a < dtb_end)
			continue;
		words++;
		if (*(volatile uint64_t *)a && !nonzero++)
			first = a;
	}
	rt_printf("hostile_mmio: %lu words of untouched RAM from 0x%lx read\n",
		  (unsigned long)words, (unsigned long)lo);
	if (nonzero) {
		const unsigned char *b = (const unsigned char *)(uintptr_t)first;
		char shown[17];
		unsigned i;
		for (i = 0; i < 16; i++)
			shown[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
		shown[16] = '\0';
		rt_fail("ram_fresh_zero", "%lu nonzero words, first at 0x%lx: \"%s\"",
			(unsigned long)nonzero, (unsigned long)first, shown);
		return;
	}
	rt_pass("ram_fresh_zero");
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t ram_base = 0x80000000, ram_size = 0;
	uintptr_t end;

	ctx = rt_fdt_plic_context(hartid);
	if (!rt_fdt_memory(&ram_base, &ram_size) || ctx < 0) {
		rt_fail("dtb", "no /memory range or PLIC context in the device tree");
		return;
	}
	end = ram_base + ram_size;
	rt_printf("hostile_mmio: RAM 0x%lx..0x%lx, PLIC context %d\n", (unsigned long)ram_base,
		  (unsigned long)end, ctx);
	fresh_ram(ram_base, end, dtb);
	uart_barrage();
	plic_barrage();

	rt_printf("hostile_mmio: unmapped phase (the VM may be stopped here instead)\n");
	straddle("uart_window_end", UART + UART_SIZE - 4, 8);
	straddle("uart_past_window", UART + UART_SIZE, 1);
	straddle("plic_window_end", PLIC + PLIC_SIZE - 2, 4);
	unmapped("unmapped_load_0", 0x0, 8, false, NULL);
	unmapped("unmapped_load_ram_end", end, 4, false, NULL);
	unmapped("unmapped_load_ram_end_b", end + 7, 1, false, NULL);
	unmapped("unmapped_load_below_ram", ram_base - 8, 8, false, "the PCIe MMIO window");
	unmapped("unmapped_load_flash", 0x20000000, 4, false, "pflash");
	unmapped("unmapped_load_top", ~0UL - 7, 8, false, NULL);
	unmapped("unmapped_load_straddle_ram_end", end - 4, 8, false, NULL);
	unmapped("unmapped_store_ram_end", end, 8, true, NULL);
	unmapped("unmapped_store_0", 0x0, 4, true, NULL);
	unmapped("unmapped_store_straddle_ram_end", end - 2, 4, true, NULL);
	rt_printf("hostile_mmio: done, %lu accesses, %lu trapped\n", n_access, n_fault);
}
