/*
 * plic.h - the platform-level interrupt controller model (sifive,plic-1.0.0).
 *
 * Sources 1..PLAT_PLIC_NDEV, 32-bit priorities; one context per vCPU (its S-mode
 * context: context i belongs to vCPU i). Register map as QEMU virt / the PLIC spec:
 * priority 0x0 + 4*src, pending 0x1000, enables 0x2000 + 0x80*ctx, threshold
 * 0x200000 + 0x1000*ctx, claim/complete +4. The output for context i drives
 * host_vcpu_set_irq(vcpu i, IRQ_S_EXT, level).
 */
#ifndef DUO_PLIC_H
#define DUO_PLIC_H

#include <duo/types.h>
#include <duo/lib.h>
#include <duo/mmio.h>
#include <duo/platform.h>

struct vm;

#define PLIC_NSRC (PLAT_PLIC_NDEV + 1) /* source 0 is reserved */

struct plic {
	struct mmio_dev mmio;
	struct vm *vm;
	struct duo_lock lock;
	u32 nctx;
	u32 priority[PLIC_NSRC];
	u32 level; /* bit s: source s's input line is high */
	u32 pending; /* bit s: pending (gateway latched) */
	u32 claimed; /* bit s: claimed, not yet completed */
	u32 enable[PLAT_MAX_VCPUS];
	u32 threshold[PLAT_MAX_VCPUS];
	bool out[PLAT_MAX_VCPUS]; /* last level driven per context */
};

/* plic_init - one context per vCPU of vm; registers on vm->bus. */
int plic_init(struct plic *p, struct vm *vm);
void plic_reset(struct plic *p);
/* plic_set_irq - device interrupt line `src` (1..NDEV) is now at `level`. Level-triggered:
 * a high line re-pends after completion. Out-of-range src is ignored. */
void plic_set_irq(struct plic *p, u32 src, bool level);

#endif
