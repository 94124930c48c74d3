/*
 * dtb.c - the device tree of the machine a guest sees (docs/platform.md, "Device tree").
 *
 * dtb_build() describes one VM with the fdt.c writer: its vCPUs, RAM, /chosen, and the
 * devices on its bus (UART, PLIC, populated virtio-mmio slots), laid out like QEMU's
 * `virt` board. Both backends boot guests with this tree, so it is the single place
 * that decides what Linux probes. The rules it follows (no 'h' in riscv,isa,
 * clock-frequency on the UART, interrupts-extended on the PLIC...) are
 * RISCV-PITFALLS items 13-15.
 */
#include <duo/err.h>
#include <duo/fdt.h>
#include <duo/lib.h>
#include <duo/loader.h>
#include <duo/platform.h>
#include <duo/vm.h>

/*
 * What the guest's harts implement. No 'h' (the guest gets no hypervisor extension),
 * and only extensions Linux 6.1 both parses and we provide: sstc because both backends
 * give the guest stimecmp.
 */
#define DTB_RISCV_ISA "rv64imafdc_zicsr_zifencei_zihintpause_sstc"
#define DTB_MMU_TYPE "riscv,sv48"

/* Phandles: the PLIC, then one per vCPU's local interrupt controller. */
#define PH_PLIC 1u
#define PH_INTC(cpu) (2u + (cpu))

/* A string list "a\0b": sizeof counts the literal's own final NUL, which ends "b". */
#define STRLIST(w, name, lit) fdt_prop(w, name, lit, (u32)sizeof(lit))

static void prop_empty(struct fdt_writer *w, const char *name)
{
	fdt_prop(w, name, NULL, 0);
}

/* reg = <addr size> with #address-cells = #size-cells = 2. */
static void prop_reg2(struct fdt_writer *w, u64 addr, u64 size)
{
	u32 cells[4] = { (u32)(addr >> 32), (u32)addr, (u32)(size >> 32), (u32)size };

	fdt_prop_cells(w, "reg", cells, 4);
}

static void node_at(struct fdt_writer *w, const char *name, u64 addr)
{
	char buf[48];

	duo_snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)addr);
	fdt_begin_node(w, buf);
}

static void add_chosen(struct fdt_writer *w, struct vm *vm, const struct boot_plan *bp)
{
	char path[48];

	fdt_begin_node(w, "chosen");
	fdt_prop_str(w, "bootargs", vm->cfg.cmdline);
	duo_snprintf(path, sizeof(path), "/soc/serial@%llx", (unsigned long long)PLAT_UART_BASE);
	fdt_prop_str(w, "stdout-path", path);
	if (bp && bp->initrd_end > bp->initrd_start) {
		fdt_prop_u64(w, "linux,initrd-start", bp->initrd_start);
		fdt_prop_u64(w, "linux,initrd-end", bp->initrd_end);
	}
	fdt_end_node(w);
}

static void add_cpus(struct fdt_writer *w, struct vm *vm)
{
	fdt_begin_node(w, "cpus");
	fdt_prop_u32(w, "#address-cells", 1);
	fdt_prop_u32(w, "#size-cells", 0);
	fdt_prop_u32(w, "timebase-frequency", (u32)PLAT_TIMEBASE_HZ);
	for (u32 i = 0; i < vm->nvcpus; i++) {
		node_at(w, "cpu", i);
		fdt_prop_str(w, "device_type", "cpu");
		fdt_prop_u32(w, "reg", i);
		fdt_prop_str(w, "status", "okay");
		fdt_prop_str(w, "compatible", "riscv");
		fdt_prop_str(w, "riscv,isa", DTB_RISCV_ISA);
		fdt_prop_str(w, "mmu-type", DTB_MMU_TYPE);

		fdt_begin_node(w, "interrupt-controller");
		fdt_prop_u32(w, "#address-cells", 0);
		fdt_prop_u32(w, "#interrupt-cells", 1);
		prop_empty(w, "interrupt-controller");
		fdt_prop_str(w, "compatible", "riscv,cpu-intc");
		fdt_prop_u32(w, "phandle", PH_INTC(i));
		fdt_end_node(w);

		fdt_end_node(w);
	}
	fdt_end_node(w);
}

static void add_memory(struct fdt_writer *w, struct vm *vm)
{
	node_at(w, "memory", PLAT_RAM_BASE);
	fdt_prop_str(w, "device_type", "memory");
	prop_reg2(w, PLAT_RAM_BASE, vm->ram_size);
	fdt_end_node(w);
}

static void add_uart(struct fdt_writer *w)
{
	node_at(w, "serial", PLAT_UART_BASE);
	fdt_prop_str(w, "compatible", "ns16550a");
	prop_reg2(w, PLAT_UART_BASE, PLAT_UART_SIZE);
	fdt_prop_u32(w, "clock-frequency", PLAT_UART_CLOCK);
	fdt_prop_u32(w, "interrupts", PLAT_UART_IRQ);
	fdt_prop_u32(w, "interrupt-parent", PH_PLIC);
	fdt_end_node(w);
}

static void add_plic(struct fdt_writer *w, struct vm *vm)
{
	/* <&intcN 9> per vCPU: context N is vCPU N's S-mode external interrupt. */
	u32 ext[2 * PLAT_MAX_VCPUS];

	for (u32 i = 0; i < vm->nvcpus; i++) {
		ext[2 * i] = PH_INTC(i);
		ext[2 * i + 1] = 9; /* IRQ_S_EXT */
	}
	node_at(w, "plic", PLAT_PLIC_BASE);
	STRLIST(w, "compatible", "sifive,plic-1.0.0\0riscv,plic0");
	prop_reg2(w, PLAT_PLIC_BASE, PLAT_PLIC_SIZE);
	fdt_prop_u32(w, "#address-cells", 0);
	fdt_prop_u32(w, "#interrupt-cells", 1);
	prop_empty(w, "interrupt-controller");
	fdt_prop_u32(w, "riscv,ndev", PLAT_PLIC_NDEV);
	fdt_prop_cells(w, "interrupts-extended", ext, 2 * vm->nvcpus);
	fdt_prop_u32(w, "phandle", PH_PLIC);
	fdt_end_node(w);
}

static void add_virtio(struct fdt_writer *w, struct vm *vm)
{
	for (u32 n = 0; n < PLAT_VIRTIO_SLOTS; n++) {
		gpa_t base = PLAT_VIRTIO_BASE + n * PLAT_VIRTIO_STRIDE;

		if (!vm->virtio[n])
			continue;
		node_at(w, "virtio_mmio", base);
		fdt_prop_str(w, "compatible", "virtio,mmio");
		prop_reg2(w, base, PLAT_VIRTIO_STRIDE);
		fdt_prop_u32(w, "interrupts", PLAT_VIRTIO_IRQ0 + n);
		fdt_prop_u32(w, "interrupt-parent", PH_PLIC);
		fdt_end_node(w);
	}
}

long dtb_build(struct vm *vm, const struct boot_plan *bp, void *buf, size_t size)
{
	struct fdt_writer w;

	if (!vm || vm->nvcpus < 1 || vm->nvcpus > PLAT_MAX_VCPUS)
		return DUO_EINVAL;

	fdt_begin(&w, buf, size);
	fdt_begin_node(&w, "");
	fdt_prop_u32(&w, "#address-cells", 2);
	fdt_prop_u32(&w, "#size-cells", 2);
	STRLIST(&w, "compatible", "duovisor,virt\0riscv-virtio");
	fdt_prop_str(&w, "model", "duovisor,virt");

	add_chosen(&w, vm, bp);
	add_cpus(&w, vm);
	add_memory(&w, vm);

	fdt_begin_node(&w, "soc");
	fdt_prop_u32(&w, "#address-cells", 2);
	fdt_prop_u32(&w, "#size-cells", 2);
	fdt_prop_str(&w, "compatible", "simple-bus");
	prop_empty(&w, "ranges"); /* identity: the bus addresses are physical addresses */
	add_uart(&w);
	add_plic(&w, vm);
	add_virtio(&w, vm);
	fdt_end_node(&w); /* soc */

	fdt_end_node(&w); /* root */
	return fdt_finish(&w);
}
