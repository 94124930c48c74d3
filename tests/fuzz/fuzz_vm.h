/*
 * fuzz_vm.h - the guest machine the libFuzzer targets in tests/fuzz/ share: two VMs on
 * the unit tests' fake host (tests/unit/fake_host.c), VM "a" with every virtio device
 * (blk, net on switch "fz", console, rng) and VM "b" with a net on the same switch whose
 * receive ring is always stocked, so frames "a" sends really cross the switch.
 */
#ifndef DUO_FUZZ_VM_H
#define DUO_FUZZ_VM_H

#include <stddef.h>
#include <stdint.h>

#include <duo/virtio.h>
#include <duo/vm.h>

#define FZ_RAM_MIB 16
#define FZ_RING_BASE (PLAT_RAM_BASE + 0x10000) /* queue q of a device: + q * FZ_QSTRIDE */
#define FZ_QSTRIDE 0x400 /* desc at +0, avail at +0x100, used at +0x200 (num <= 16) */
#define FZ_MAX_NUM 16
#define FZ_DATA_BASE FZ_RING_BASE /* fuzz bytes are copied here */
#define FZ_DATA_MAX (64u << 10)

extern struct vm *fz_a, *fz_b;

/* fz_setup - (re)create both VMs' devices from scratch; guest RAM of "a" zeroed over
 * the area the targets use. Called at the start of every input. */
void fz_setup(void);

/* fz_mmio - one access to VM a's bus; the result is ignored (any answer is fine). */
void fz_mmio(gpa_t gpa, unsigned width, bool write, uint64_t val);

/*
 * fz_driver_up - bring slot `slot` of VM a to DRIVER_OK like a driver, accepting the
 * features in `feat` (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX) with queues of `num`
 * (<= FZ_MAX_NUM) entries whose rings sit at FZ_RING_BASE + q * FZ_QSTRIDE (desc, +0x100
 * avail, +0x200 used), so short inputs already reach every ring field.
 */
void fz_driver_up(unsigned slot, unsigned feat, unsigned num);

/* fz_copy - put fuzz bytes into VM a's RAM at FZ_DATA_BASE (at most FZ_DATA_MAX). */
void fz_copy(const uint8_t *data, size_t size);

/* fz_poke_b - let VM b consume what it received and re-stock its receive ring. */
void fz_poke_b(void);

#endif
