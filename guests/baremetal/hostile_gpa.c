/*
 * hostile_gpa.c - hostile bare-metal guest: the guest-physical address space and a VM
 * re-created in the same place (HOSTILE.md item 25, type 1).
 *
 * Every boot, before any command:
 *   satp_reset          satp reads 0 at entry;
 *   ram_fresh_zero      every word of RAM outside the image and the device tree reads 0
 *                       (a previous boot's pattern, page tables and data must be gone);
 *   vs_stage_no_stale   Sv39 on with ASID 1 and a root table that maps only the image's
 *                       gigapage: the test address V = 0x20_0000_0000, which the previous
 *                       boot had mapped with the same ASID, must page-fault - no stale
 *                       translation survived the reboot (no sfence.vma for V before);
 *   vs_stage_maps       then V mapped to a fresh page reads 0 and writes through;
 *   aperture_map        every 4 KiB page of the device aperture 0x0c00_0000..0x1000_9000
 *                       read at offset 0 (4 bytes, else 1): a page answers iff it overlaps
 *                       a `reg` range of the device tree (an empty virtio-mmio slot may
 *                       answer with magic "virt" and device id 0); every other page is a
 *                       load access fault (5) in the guest;
 *   fetch_device_traps  a jump into the UART's window is an instruction access fault.
 * Then "hostile_gpa: ready" and commands typed on the UART, one per line:
 *   dirty        pattern over all free RAM, V mapped and touched (ASID 1), satp back to 0
 *   reboot       dirty, leave Sv39 on, and SBI SRST cold reboot: the next boot's checks
 *                above must pass again
 *   probe N      dirty, then the outside-RAM-and-devices probes from number N on, each
 *                announced first ("hostile_gpa: probe N load|store|fetch ADDR"); each
 *                must be an access fault in the guest (type 2) - or the hypervisor
 *                stops the VM naming that address (type 1), and the harness starts it
 *                again with the next N. PASS outside_all_fault if all ran and faulted.
 *   done         the summary and an SBI shutdown
 * The probes sample every region of the Sv39x4 guest-physical space (41 bits) that is
 * neither RAM nor a device, its edges, and addresses beyond it.
 */
#include "rt.h"

const char rt_guest_name[] = "hostile_gpa";

#define UART 0x10000000UL
#define APERTURE_LO 0x0c000000UL
#define APERTURE_HI 0x10009000UL
#define VIRTIO_LO 0x10001000UL
#define VIRTIO_HI 0x10009000UL
#define PAGE 4096UL

#define PTE_V 1UL
#define PTE_R 2UL
#define PTE_W 4UL
#define PTE_X 8UL
#define PTE_A 64UL
#define PTE_D 128UL
#define SATP_SV39 (8UL << 60)
#define TEST_ASID 1UL
#define TEST_VA 0x2000000000UL /* VPN2 = 128 */

extern char __image_start[], __image_end[];

static uint64_t ram_base = 0x80000000, ram_end;
static uintptr_t dtb_lo, dtb_hi;
static uint64_t *root, *l1, *l0, *xpage; /* four pages after the image */

/* ---- probes of addresses outside RAM and devices ------------------------------------ */
enum kind { LOAD, STORE, FETCH };
static const char *const kind_name[] = { "load", "store", "fetch" };

struct gpa_probe {
	enum kind kind;
	uint64_t addr; /* 0: RAM end; 1: RAM end + 2 MiB (filled in at boot) */
	uint64_t val;
	const char *what;
};

static struct gpa_probe probes[] = {
	{ LOAD, 0x0, 0, "address 0" },
	{ STORE, 0x100000, 0x5555, "QEMU's test finisher (a store here powers QEMU off)" },
	{ LOAD, 0x101000, 0, "QEMU's RTC" },
	{ LOAD, 0x2000000, 0, "CLINT msip" },
	{ STORE, 0x2004000, 0, "CLINT mtimecmp" },
	{ LOAD, 0x0bfffff8, 0, "just below the PLIC" },
	{ LOAD, APERTURE_HI, 0, "just above the last virtio slot" },
	{ LOAD, 0x10100000, 0, "QEMU's fw_cfg" },
	{ LOAD, 0x20000000, 0, "QEMU's flash" },
	{ LOAD, 0x30000000, 0, "QEMU's PCIe ECAM" },
	{ STORE, 0x40000000, 0x1234, "QEMU's PCIe MMIO" },
	{ LOAD, 0x7ffffff8, 0, "just below RAM" },
	{ LOAD, 0, 0, "RAM end" },
	{ STORE, 1, 0x77, "RAM end + 2 MiB" },
	{ LOAD, 0xfffffff8, 0, "below 4 GiB" },
	{ LOAD, 0x100000000, 0, "4 GiB" },
	{ LOAD, 0x10000000000, 0, "1 TiB" },
	{ LOAD, 0x1fffffffff8, 0, "top of the Sv39x4 range (2^41 - 8)" },
	{ LOAD, 0x20000000000, 0, "2^41: beyond Sv39x4" },
	{ LOAD, 0xfffffffffffffff8, 0, "top of the 64-bit space" },
	{ FETCH, 0x0, 0, "address 0" },
	{ FETCH, 0x1000, 0, "QEMU's boot ROM" },
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static volatile bool fetch_active, fetch_faulted;
static volatile unsigned long fetch_cause, fetch_tval;

/* A jump to a bad address faults with sepc = that address: go back to ra. */
static bool on_trap(struct rt_frame *f)
{
	if (!fetch_active)
		return false;
	fetch_active = false;
	fetch_faulted = true;
	fetch_cause = f->scause;
	fetch_tval = f->stval;
	f->sepc = f->x[1];
	return true;
}

static void probe_fetch(uint64_t addr, struct rt_probe *p)
{
	fetch_faulted = false;
	fetch_cause = fetch_tval = 0;
	fetch_active = true;
	__asm__ volatile("jalr ra, 0(%0)"
			 :
			 : "r"(addr)
			 : "ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
			   "t3", "t4", "t5", "t6", "memory");
	fetch_active = false;
	p->faulted = fetch_faulted;
	p->cause = fetch_cause;
	p->tval = fetch_tval;
	p->val = 0;
}

static void do_probe(const struct gpa_probe *g, struct rt_probe *p)
{
	switch (g->kind) {
	case LOAD:
		rt_probe_read(g->addr, 8, p);
		break;
	case STORE:
		rt_probe_write(g->addr, 8, g->val, p);
		break;
	case FETCH:
		probe_fetch(g->addr, p);
		break;
	}
}

static void run_probes(unsigned from)
{
	static const unsigned long want[] = { 5, 7, 1 };
	unsigned i, bad = 0, ran = 0;

	for (i = from; i < NPROBES; i++) {
		const struct gpa_probe *g = &probes[i];
		struct rt_probe p;

		rt_printf("hostile_gpa: probe %u %s 0x%lx (%s)\n", i, kind_name[g->kind],
			  (unsigned long)g->addr, g->what);
		do_probe(g, &p);
		ran++;
		if (p.faulted && p.cause == want[g->kind]) {
			rt_printf("hostile_gpa: -> access fault, tval 0x%lx\n", p.tval);
			continue;
		}
		bad++;
		if (p.faulted)
			rt_fail("outside_probe", "probe %u %s 0x%lx: scause %lu (want %lu)", i,
				kind_name[g->kind], (unsigned long)g->addr, p.cause, want[g->kind]);
		else
			rt_fail("outside_probe", "probe %u %s 0x%lx completed (read 0x%lx)", i,
				kind_name[g->kind], (unsigned long)g->addr, (unsigned long)p.val);
	}
	rt_printf("hostile_gpa: probes %u..%u done, %u ran\n", from, (unsigned)NPROBES - 1, ran);
	if (from == 0)
		rt_check(!bad, "outside_all_fault", "%u of %u probes did not fault", bad, ran);
}

/* ---- RAM ------------------------------------------------------------------------------ */
static bool in_image(uint64_t a)
{
	return a >= (uintptr_t)__image_start && a < (uintptr_t)__image_end;
}

static bool in_dtb(uint64_t a)
{
	return a >= dtb_lo && a < dtb_hi;
}

static void ram_fresh(void)
{
	uint64_t a, words = 0, nonzero = 0, first = 0, firstval = 0;

	for (a = ram_base; a < ram_end; a += 8) {
		if (in_image(a) || in_dtb(a))
			continue;
		words++;
		uint64_t v = *(volatile uint64_t *)a;
		if (v && !nonzero++) {
			first = a;
			firstval = v;
		}
	}
	rt_printf("hostile_gpa: %lu words of RAM outside the image and DTB read\n",
		  (unsigned long)words);
	rt_check(!nonzero, "ram_fresh_zero", "%lu nonzero words, first at 0x%lx = 0x%lx",
		 (unsigned long)nonzero, (unsigned long)first, (unsigned long)firstval);
}

static void fill_free_ram(void)
{
	uint64_t a, n = 0;

	for (a = ram_base; a < ram_end; a += 8) {
		if (in_image(a) || in_dtb(a) ||
		    (a >= (uintptr_t)root && a < (uintptr_t)xpage + PAGE))
			continue;
		*(volatile uint64_t *)a = 0xdead000000000000UL | a;
		n++;
	}
	rt_printf("hostile_gpa: %lu bytes of free RAM patterned\n", (unsigned long)(n * 8));
}

/* ---- VS-stage (the guest's own Sv39) ---------------------------------------------------- */
static uint64_t pte(const void *pa, unsigned long flags)
{
	return (((uintptr_t)pa >> 12) << 10) | flags;
}

static void satp_on(void)
{
	csr_write(satp, SATP_SV39 | (TEST_ASID << 44) | ((uintptr_t)root >> 12));
	/* Order the root table's writes for the code we run on; leave TEST_VA alone. */
	__asm__ volatile("sfence.vma %0, zero" ::"r"((uintptr_t)__image_start) : "memory");
}

static void satp_off(void)
{
	csr_write(satp, 0); /* no sfence.vma: the TEST_VA translation may stay cached */
}

/* map_test_va - root -> l1 -> l0 -> xpage for TEST_VA, then touch it through Sv39. */
static void map_test_va(void)
{
	root[TEST_VA >> 30 & 0x1ff] = pte(l1, PTE_V);
	l1[0] = pte(l0, PTE_V);
	l0[0] = pte(xpage, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
	__asm__ volatile("sfence.vma %0, zero" ::"r"(TEST_VA) : "memory");
}

static void vs_stage_check(void)
{
	struct rt_probe p;
	uint64_t satp0 = csr_read(satp);

	rt_check(satp0 == 0, "satp_reset", "satp is 0x%lx at entry", (unsigned long)satp0);
	csr_write(satp, 0);
	root[(uintptr_t)__image_start >> 30 & 0x1ff] =
		pte((void *)((uintptr_t)__image_start & ~((1UL << 30) - 1)),
		    PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	satp_on();
	rt_probe_read(TEST_VA, 8, &p);
	satp_off();
	rt_check(p.faulted && p.cause == 13, "vs_stage_no_stale",
		 "load from 0x%lx with an empty table: %s %lu (want a load page fault, 13)",
		 TEST_VA, p.faulted ? "scause" : "read",
		 p.faulted ? p.cause : (unsigned long)p.val);

	map_test_va();
	satp_on();
	rt_probe_read(TEST_VA, 8, &p);
	uint64_t before = p.val;
	bool ok = !p.faulted && before == 0;
	if (ok) {
		rt_probe_write(TEST_VA, 8, 0x5ca1ab1e, &p);
		ok = !p.faulted;
	}
	satp_off();
	rt_check(ok && *(volatile uint64_t *)xpage == 0x5ca1ab1e, "vs_stage_maps",
		 "through 0x%lx: fault %d, read 0x%lx, page holds 0x%lx", TEST_VA, p.faulted,
		 (unsigned long)before, (unsigned long)*(volatile uint64_t *)xpage);
}

static void dirty(bool leave_on)
{
	fill_free_ram();
	map_test_va();
	satp_on();
	*(volatile uint64_t *)TEST_VA = 0xfeedfacecafef00dUL; /* cache the translation */
	(void)*(volatile uint64_t *)TEST_VA;
	if (!leave_on)
		satp_off();
	rt_printf("hostile_gpa: dirty: VA 0x%lx -> 0x%lx (ASID %lu), satp %s\n", TEST_VA,
		  (unsigned long)(uintptr_t)xpage, TEST_ASID, leave_on ? "on" : "off");
}

/* ---- the device aperture ---------------------------------------------------------------- */
#define MAX_RANGES 32
static uint64_t rlo[MAX_RANGES], rhi[MAX_RANGES];
static int nranges;

static void dt_ranges(void)
{
	int node = 0, depth = 0;

	while ((node = rt_fdt_next(node, &depth)) >= 0 && nranges < MAX_RANGES) {
		uint32_t len;
		const uint8_t *reg = rt_fdt_prop(node, "reg", &len);
		if (!reg || len < 16 || len % 16)
			continue;
		for (uint32_t o = 0; o < len && nranges < MAX_RANGES; o += 16) {
			uint64_t a = ((uint64_t)rt_be32(reg + o) << 32) | rt_be32(reg + o + 4);
			uint64_t s = ((uint64_t)rt_be32(reg + o + 8) << 32) | rt_be32(reg + o + 12);
			if (a >= ram_base || !s)
				continue; /* /memory */
			rlo[nranges] = a;
			rhi[nranges] = a + s;
			nranges++;
		}
	}
}

static bool listed(uint64_t page)
{
	for (int i = 0; i < nranges; i++)
		if (rlo[i] < page + PAGE && rhi[i] > page)
			return true;
	return false;
}

static void aperture_scan(void)
{
	unsigned long pages = 0, answered = 0, faulted = 0, empty_slots = 0, bad = 0;
	uint64_t a;

	dt_ranges();
	rt_printf("hostile_gpa: %d device ranges in the device tree\n", nranges);
	for (a = APERTURE_LO; a < APERTURE_HI; a += PAGE) {
		struct rt_probe p4, p1;
		bool ans, want = listed(a);

		pages++;
		rt_probe_read(a, 4, &p4);
		p1 = p4;
		if (p4.faulted)
			rt_probe_read(a, 1, &p1);
		ans = !p4.faulted || !p1.faulted;
		if (ans)
			answered++;
		else
			faulted++;
		if (!ans && (p4.cause != 5 || p1.cause != 5)) {
			if (!bad++)
				rt_fail("aperture_map", "page 0x%lx: scause %lu/%lu (want 5)",
					(unsigned long)a, p4.cause, p1.cause);
			continue;
		}
		if (ans && !want && a >= VIRTIO_LO && a < VIRTIO_HI && !p4.faulted &&
		    p4.val == 0x74726976) {
			struct rt_probe id;
			rt_probe_read(a + 8, 4, &id);
			if (!id.faulted && id.val == 0) {
				empty_slots++;
				continue;
			}
		}
		if (ans != want && !bad++)
			rt_fail("aperture_map", "page 0x%lx %s but the device tree %s it",
				(unsigned long)a, ans ? "answers" : "faults",
				want ? "lists" : "does not list");
	}
	rt_printf("hostile_gpa: aperture 0x%lx..0x%lx: %lu pages, %lu answer (%lu empty "
		  "virtio slots), %lu fault\n",
		  APERTURE_LO, APERTURE_HI, pages, answered, empty_slots, faulted);
	if (!bad)
		rt_pass("aperture_map");

	struct rt_probe p;
	probe_fetch(UART, &p);
	rt_check(p.faulted && p.cause == 1, "fetch_device_traps", "jump to 0x%lx: %s %lu", UART,
		 p.faulted ? "scause" : "returned", p.cause);
}

/* ---- commands ---------------------------------------------------------------------------- */
static int uart_getc(void)
{
	if (!(rt_mmio_read8(UART + 5) & 1))
		return -1;
	return rt_mmio_read8(UART);
}

static void read_line(char *buf, unsigned size)
{
	unsigned n = 0;
	for (;;) {
		int c = uart_getc();
		if (c < 0) {
			rt_delay_us(2000);
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (!n)
				continue;
			buf[n] = 0;
			return;
		}
		if (n + 1 < size)
			buf[n++] = (char)c;
	}
}

static unsigned parse_uint(const char *s)
{
	unsigned v = 0;
	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t ram_size = 0, area;
	char line[64];

	rt_on_trap = on_trap;
	if (!rt_fdt_memory(&ram_base, &ram_size)) {
		rt_fail("dtb", "no /memory range in the device tree");
		return;
	}
	ram_end = ram_base + ram_size;
	dtb_lo = dtb;
	dtb_hi = dtb + rt_be32((const void *)(dtb + 4));
	area = ((uintptr_t)__image_end + 0xffff) & ~0xffffUL;
	if (area + 4 * PAGE > dtb_lo && area < dtb_hi)
		area = (dtb_hi + 0xffff) & ~0xffffUL;
	root = (uint64_t *)area;
	l1 = root + 512;
	l0 = l1 + 512;
	xpage = l0 + 512;
	probes[12].addr = ram_end;
	probes[13].addr = ram_end + (2UL << 20);
	rt_printf("hostile_gpa: RAM 0x%lx..0x%lx, DTB 0x%lx..0x%lx, tables at 0x%lx\n",
		  (unsigned long)ram_base, (unsigned long)ram_end, (unsigned long)dtb_lo,
		  (unsigned long)dtb_hi, (unsigned long)area);

	rt_printf("hostile_gpa: %u outside probes\n", (unsigned)NPROBES);
	ram_fresh();
	vs_stage_check();
	aperture_scan();

	for (;;) {
		rt_printf("hostile_gpa: ready\n");
		read_line(line, sizeof(line));
		rt_printf("hostile_gpa: command \"%s\"\n", line);
		if (!rt_strcmp(line, "done"))
			break;
		if (!rt_strcmp(line, "dirty")) {
			dirty(false);
		} else if (!rt_strcmp(line, "reboot")) {
			dirty(true);
			rt_printf("hostile_gpa: rebooting\n");
			rt_sbi_call(SBI_EXT_SRST, 0, 1 /* cold reboot */, 0, 0, 0, 0, 0);
			rt_fail("reboot", "SRST cold reboot returned");
			satp_off();
		} else if (!rt_strncmp(line, "probe ", 6)) {
			unsigned from = parse_uint(line + 6);
			if (from >= NPROBES) {
				rt_printf("hostile_gpa: no probe %u (0..%u)\n", from,
					  (unsigned)NPROBES - 1);
				continue;
			}
			dirty(false);
			run_probes(from);
		} else {
			rt_printf("hostile_gpa: unknown command (dirty, reboot, probe N, done)\n");
		}
	}
	rt_printf("hostile_gpa: done\n");
}
