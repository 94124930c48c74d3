/*
 * main.c - the boot sequence of the type-1 hypervisor, from start.S to the scheduler.
 *
 * On the boot hart: console, the board's device tree (RAM, harts, H and Sstc), the
 * hardware probes (henvcfg.STCE, VMID width), the packed VM set after the image
 * (verified, then checked against this board: dedicated vCPUs <= harts - 1, memory never
 * overcommitted), the allocator over the RAM beyond the blob, every VM (RAM, G-stage tables,
 * devices, images), the hart assignment, and finally the other harts through OpenSBI's HSM. Every
 * hart then sets up its own H-extension CSRs and runs t1_hart_main forever. Anything that makes
 * booting impossible is printed and the machine powered off, so a test sees the reason and QEMU
 * exits.
 */
#include <duo/err.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/sbi.h>

#include "hv.h"
#include "pack_check.h"
#include "pack_format.h"

struct t1_global t1;

extern char _start[], _end[];

/*
 * pack_find - the packed VM set. `duovisor pack` appends the blob to the hypervisor
 * binary at PACK_BLOB_OFFSET(image size incl. bss) (tools/pack/pack_format.h), so it sits
 * in RAM just past our bss. It is verified in place with the packer's own check (magic,
 * sizes, bounds, checksum, every VM's config), never trusted.
 */
static const u8 *pack_find(u64 *blob_end)
{
	char err[200];
	u64 image_size = (u64)(_end - _start);
	const u8 *blob = (const u8 *)_start + PACK_BLOB_OFFSET(image_size);
	u64 ram_end = t1.board.ram_base + t1.board.ram_size;

	if ((u64)blob >= ram_end) {
		t1_printf("[duovisor] error: no packed VM set after the image\n");
		return NULL;
	}
	if (pack_verify_blob(blob, ram_end - (u64)blob, err, sizeof(err))) {
		t1_printf("[duovisor] error: packed VM set: %s\n", err);
		return NULL;
	}
	const struct pack_header *h = (const struct pack_header *)blob;
	*blob_end = (u64)blob + h->total_size;
	return blob;
}

/* The H-extension CSRs every hart needs before it runs a guest. */
static void hart_csr_init(struct t1_hart *h)
{
	__asm__ volatile("mv tp, %0" ::"r"(h));
	csr_write(sie, 0);
	csr_clear(sstatus, SSTATUS_SIE | SSTATUS_FS);
	csr_set(sstatus, SSTATUS_FS_INITIAL); /* FP state reachable for guests (PITFALLS 10) */
	/* Without Sstc the stimecmp CSR does not exist: a guest's access (the device tree
	 * promises Sstc) is an illegal instruction, which then comes here to be emulated
	 * (trap.c) instead of going straight to the guest. */
	csr_write(hedeleg, t1.sstc ? T1_HEDELEG : T1_HEDELEG & ~(1UL << EXC_ILLEGAL_INST));
	csr_write(hideleg, T1_HIDELEG);
	csr_write(hcounteren, COUNTEREN_ALL); /* guests read time/cycle/instret (PITFALLS 5) */
	csr_write(htimedelta, 0);
	csr_write(hvip, 0);
	csr_write(hie, 0);
	csr_write(hgeie, 0);
	csr_write(hgatp, 0);
	csr_write(CSR_HENVCFG, t1.sstc ? HENVCFG_STCE : 0);
	h->timer_armed = 0;
	t1_timer_arm(h, ~0ULL);
	t1_hfence_gvma_all();
	t1_hfence_vvma_all();
	csr_write(sie, MIP_SSIP | MIP_STIP);
}

static void probe_sstc(void)
{
	/* henvcfg.STCE reads 0 unless the firmware set menvcfg.STCE (PITFALLS 4). */
	csr_write(CSR_HENVCFG, HENVCFG_STCE);
	t1.sstc = t1.board.isa_sstc && (csr_read(CSR_HENVCFG) & HENVCFG_STCE);
	csr_write(CSR_HENVCFG, 0);
}

static void start_harts(void)
{
	for (unsigned i = 0; i < T1_MAX_HARTS; i++) {
		struct t1_hart *h = &t1.harts[i];
		if (!h->present || i == t1.boot_hartid)
			continue;
		struct t1_sbiret r = t1_sbi_call(SBI_EXT_HSM, 0, h->hartid,
						 (u64)(uintptr_t)t1_secondary_entry, 0);
		if (r.error) {
			t1_printf("[duovisor] warning: hart %u did not start (SBI error %ld)\n", i,
				  r.error);
			if (h->dedicated)
				t1_vmm_request(h->dedicated->tvm, T1_REQ_STOP, true,
					       "its dedicated hart did not start");
		}
	}
}

void t1_main(u64 hartid, const void *dtb)
{
	char err[256];
	struct t1_hart *h = &t1.harts[hartid];

	t1.boot_hartid = hartid;
	h->hartid = hartid;
	h->index = (u32)hartid;
	__asm__ volatile("mv tp, %0" ::"r"(h));
	t1_serial_init();
	t1_printf("\n[duovisor] type 1 hypervisor: boot hart %lu, device tree at %p\n",
		  (unsigned long)hartid, dtb);

	if (t1_board_parse(dtb, &t1.board))
		t1_panic("cannot read the board's device tree at %p", dtb);
	if (!t1.board.isa_h)
		t1_panic("the harts have no H extension (run QEMU with -cpu rv64,h=true)");
	for (unsigned i = 0; i < T1_MAX_HARTS; i++) {
		t1.harts[i].hartid = i;
		t1.harts[i].index = i;
		t1.harts[i].present = (t1.board.harts_mask >> i) & 1;
	}
	if (!h->present)
		t1_panic("the boot hart %lu is not in the device tree", (unsigned long)hartid);
	probe_sstc();
	t1_gstage_probe();
	t1_printf("[duovisor] board: %llu MiB RAM at %llx, %u harts, Sstc %s, %u VMID bits\n",
		  (unsigned long long)(t1.board.ram_size >> 20),
		  (unsigned long long)t1.board.ram_base, t1.board.nharts, t1.sstc ? "yes" : "no",
		  t1.vmid_bits);

	u64 blob_end = 0;
	t1.blob = pack_find(&blob_end);
	if (!t1.blob)
		t1_panic("nothing to run");
	const struct pack_header *ph = (const struct pack_header *)t1.blob;
	const struct pack_vm *pv = (const struct pack_vm *)(ph + 1);
	static struct vm_config cfgs[CFG_MAX_VMS]; /* 5 KiB each: not on a 32 KiB stack */
	for (u32 i = 0; i < ph->nvms; i++)
		cfgs[i] = pv[i].cfg;
	/* The packer checked against the machine it expected; this is the one we have. */
	if (pack_check_resources(cfgs, ph->nvms, t1.board.nharts, t1.board.ram_size >> 20,
				 blob_end - (u64)(uintptr_t)_start, err, sizeof(err)))
		t1_panic("this VM set does not fit this machine: %s", err);

	t1_mem_init(DUO_ALIGN_UP(blob_end, 2ULL << 20), t1.board.ram_base + t1.board.ram_size);
	hart_csr_init(h);

	t1.nvms = ph->nvms;
	for (u32 i = 0; i < ph->nvms; i++) {
		int r = t1_vmm_create(i, &pv[i]);
		if (r == DUO_ENOMEM && !t1.vms[i])
			t1_panic("vm %s: no memory for its state", pv[i].cfg.name);
		if (r) {
			t1_printf("[duovisor] vm %s: error: %s\n", pv[i].cfg.name,
				  t1.vms[i]->reason);
			continue;
		}
		t1_printf("[duovisor] vm %s: %u MiB at %llx, %u vCPU(s) %s, VMID %u\n",
			  pv[i].cfg.name, pv[i].cfg.memory_mib,
			  (unsigned long long)t1.vms[i]->ram_pa, pv[i].cfg.vcpus,
			  pv[i].cfg.cpu_policy == CPU_DEDICATED ? "dedicated" : "shared",
			  t1.vms[i]->vmid);
	}
	if (t1_sched_assign(err, sizeof(err)))
		t1_panic("%s", err);
	t1_focus = t1.vms[0];
	t1_printf("[duovisor] console: input goes to [%s]; Ctrl-A c opens the management "
		  "prompt, Ctrl-A n switches VM\n",
		  t1_focus->vm.cfg.name);
	t1_vmm_boot_all();
	if (t1_vmm_all_stopped())
		t1_panic("no VM could boot");
	start_harts();
	t1_hart_main(h);
}

void t1_secondary_main(u64 hartid)
{
	struct t1_hart *h = &t1.harts[hartid];
	hart_csr_init(h);
	t1_hart_main(h);
}
