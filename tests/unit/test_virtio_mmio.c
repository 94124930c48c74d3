/*
 * test_virtio_mmio.c - the virtio-mmio transport (core/dev/virtio_mmio.c) at register
 * level: feature negotiation, status rules and reset, queue setup and its hostile forms
 * (HOSTILE.md 9 and 13), interrupt status/ack and the PLIC line, config space widths.
 * The device under test is a virtio-rng or virtio-blk; the model does not matter here.
 */
#include <string.h>

#include <duo/err.h>
#include <duo/plic.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define ALL_FEATURES (~0ULL)
#define STATUS_OK                                                                                  \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

static struct vm *rng_vm(struct tdrv *t)
{
	struct vm *vm = fake_vm(16, 1);
	if (!vm || virtio_rng_attach(vm)) {
		fake_vm_free(vm);
		return NULL;
	}
	tdrv_attach(t, vm->virtio[0]);
	return vm;
}

static bool needs_reset(struct tdrv *t)
{
	return tdrv_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

TEST(virtio_mmio_negotiation_happy_path)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8), STATUS_OK);
	CHECK(virtio_has_feature(t.dev, VIRTIO_F_VERSION_1));
	CHECK(virtio_has_feature(t.dev, VIRTIO_F_RING_EVENT_IDX));
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 1);
	CHECK(!tdrv_irq(&t));
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_features_without_version1_refused)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	u32 st = tdrv_negotiate(&t, DUO_BIT(VIRTIO_F_RING_EVENT_IDX)); /* legacy driver */
	CHECK(!(st & VIRTIO_STATUS_FEATURES_OK));
	/* DRIVER_OK without FEATURES_OK does not stick either. */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	CHECK(!(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK));
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_unoffered_feature_refused)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_negotiate(&t, DUO_BIT(VIRTIO_F_VERSION_1));
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 3);
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, 1 | (1u << 2)); /* VERSION_1 + RING_PACKED */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
	CHECK(!(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	/* Feature words past 1 are ignored, not stored. */
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 5);
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	CHECK_EQ(t.dev->driver_features >> 32, 5);
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_features_frozen_after_features_ok)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_init(&t, vm->virtio[0], DUO_BIT(VIRTIO_F_VERSION_1), 8);
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tdrv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_F_RING_INDIRECT_DESC);
	CHECK(!virtio_has_feature(t.dev, VIRTIO_F_RING_INDIRECT_DESC));
	/* Clearing status bits is ignored; only 0 resets. */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_STATUS), STATUS_OK);
	/* The driver cannot set NEEDS_RESET itself. */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, STATUS_OK | VIRTIO_STATUS_NEEDS_RESET);
	CHECK(!needs_reset(&t));
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_reset_clears_everything)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8);
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0);
	CHECK(tdrv_irq(&t));
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK(!tdrv_irq(&t));
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(t.dev->driver_features, 0);
	/* ... and the device comes up again from scratch. */
	CHECK_EQ(tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8), STATUS_OK);
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_interrupt_ack_lowers_line)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_init(&t, vm->virtio[0], DUO_BIT(VIRTIO_F_VERSION_1), 8);
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0);
	CHECK(tdrv_irq(&t));
	tdrv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG); /* the wrong bit */
	CHECK(tdrv_irq(&t));
	tdrv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	CHECK(!tdrv_irq(&t));
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	tdrv_vm_free(vm);
}

/* HOSTILE 9: queue registers after DRIVER_OK are ignored. */
TEST(virtio_mmio_queue_regs_frozen_after_driver_ok)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8);
	struct virtq before = t.dev->vq[0];
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 16);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0xffffffff);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(t.dev->vq[0].num, before.num);
	CHECK_EQ(t.dev->vq[0].desc_gpa, before.desc_gpa);
	CHECK_EQ(t.dev->vq[0].used_gpa, before.used_gpa);
	CHECK(t.dev->vq[0].ready);
	CHECK(!needs_reset(&t));
	CHECK(fake.log_count > 0); /* ... and noticed */
	tdrv_vm_free(vm);
}

/* HOSTILE 9: QueueNum 0, > max, not a power of two; a queue that is never sized. */
TEST(virtio_mmio_bad_queue_num)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_negotiate(&t, ALL_FEATURES);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	u32 bad[] = { 0, 3, 100, VIRTQ_MAX_SIZE * 2, 0x80000000u, 0xffffffffu };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, bad[i]);
		CHECK_EQ(t.dev->vq[0].num, 0);
	}
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ(t.dev->vq[0].num, 4);
	/* A queue enabled with no valid size breaks the device. */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	tdrv_negotiate(&t, ALL_FEATURES);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 7);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(needs_reset(&t));
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(tdrv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(tdrv_irq(&t));
	tdrv_vm_free(vm);
}

/* Rings outside RAM, over MMIO, wrapping, misaligned, or before FEATURES_OK. */
TEST(virtio_mmio_bad_ring_addresses)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	u64 end = PLAT_RAM_BASE + vm->ram_size;
	struct {
		u64 desc, avail, used;
	} cases[] = {
		{ PLAT_UART_BASE, PLAT_RAM_BASE + 0x1000, PLAT_RAM_BASE + 0x2000 }, /* MMIO */
		{ end - 16, PLAT_RAM_BASE + 0x1000, PLAT_RAM_BASE + 0x2000 },	    /* past end */
		{ PLAT_RAM_BASE, PLAT_RAM_BASE + 0x1000, 0xfffffffffffffff0ULL },   /* wrap */
		{ PLAT_RAM_BASE + 8, PLAT_RAM_BASE + 0x1000, PLAT_RAM_BASE + 0x2000 }, /* align */
		{ PLAT_RAM_BASE, PLAT_RAM_BASE + 0x1001, PLAT_RAM_BASE + 0x2000 },
		{ PLAT_RAM_BASE, PLAT_RAM_BASE + 0x1000, PLAT_RAM_BASE + 0x2002 },
		{ 0, 0, 0 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tdrv_negotiate(&t, ALL_FEATURES);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 8);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)cases[i].desc);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (u32)(cases[i].desc >> 32));
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (u32)cases[i].avail);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (u32)(cases[i].avail >> 32));
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (u32)cases[i].used);
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (u32)(cases[i].used >> 32));
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK(needs_reset(&t));
		CHECK(!t.dev->vq[0].ready);
	}
	/* QueueReady before FEATURES_OK: the layout is not known yet. */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 3);
	tdrv_setup_queue(&t, 0, 8);
	CHECK(needs_reset(&t));
	tdrv_vm_free(vm);
}

/* Bad QueueNotify values and notifies before setup: ignored, nothing processed. */
TEST(virtio_mmio_bad_queue_notify)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_negotiate(&t, ALL_FEATURES);
	tdrv_setup_queue(&t, 0, 8);
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0); /* before DRIVER_OK */
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, STATUS_OK);
	u32 bad[] = { 1, 2, 0x10000, 0xffffffffu };
	for (unsigned i = 0; i < 4; i++)
		tdrv_notify(&t, bad[i]);
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	CHECK(!needs_reset(&t));
	tdrv_notify(&t, 0);
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	tdrv_vm_free(vm);
}

/* HOSTILE 13: every offset at widths 1/2/4/8, misaligned and straddling: defined. */
TEST(virtio_mmio_widths_and_offsets)
{
	struct vm *vm = tdrv_vm_with_disk(3 << 20, false);
	struct tdrv t;
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(virtio_blk_attach(vm, 0), 0);
	tdrv_attach(&t, vm->virtio[0]);
	for (u64 off = 0; off < 0x100; off++)
		for (unsigned w = 1; w <= 8; w *= 2) {
			u64 v = 0x1234;
			CHECK_EQ(tdrv_access(&t, off, w, false, &v), 0);
			if (w != 4 || (off & 3))
				CHECK_EQ(v, 0);
			v = 0xffffffffffffffffULL;
			if (off != VIRTIO_MMIO_STATUS && off != VIRTIO_MMIO_QUEUE_NOTIFY)
				CHECK_EQ(tdrv_access(&t, off, w, true, &v), 0);
		}
	/* (QueueReady=~0 before FEATURES_OK broke it; a reset recovers.) */
	tdrv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	/* Narrow writes to Status do nothing. */
	u64 v = 0xff;
	CHECK_EQ(tdrv_access(&t, VIRTIO_MMIO_STATUS, 1, true, &v), 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	/* Config space: capacity (3 MiB = 6144 sectors) at any width. */
	CHECK_EQ(tdrv_access(&t, 0x100, 8, false, &v), 0);
	CHECK_EQ(v, 6144);
	CHECK_EQ(tdrv_access(&t, 0x100, 2, false, &v), 0);
	CHECK_EQ(v, 6144);
	CHECK_EQ(tdrv_access(&t, 0x101, 1, false, &v), 0);
	CHECK_EQ(v, 6144 >> 8);
	CHECK_EQ(tdrv_access(&t, 0x103, 4, false, &v), 0); /* misaligned: fine in config */
	CHECK_EQ(v, 0);
	/* Past the config: zeros, to the end of the window; beyond it the bus faults. */
	CHECK_EQ(tdrv_access(&t, 0xff8, 8, false, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(tdrv_access(&t, 0xffc, 8, false, &v), DUO_EFAULT);
	/* Config writes are ignored. */
	v = 0;
	CHECK_EQ(tdrv_access(&t, 0x100, 8, true, &v), 0);
	CHECK_EQ(tdrv_access(&t, 0x100, 8, false, &v), 0);
	CHECK_EQ(v, 6144);
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_missing_queue_registers)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_negotiate(&t, ALL_FEATURES);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 9);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 8);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(!needs_reset(&t));
	/* No shared-memory regions: length reads as -1. */
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	/* The log does not flood: a stream of bad writes logs a bounded number of lines. */
	int before = fake.log_count;
	for (int i = 0; i < 1000; i++)
		tdrv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 8);
	CHECK(fake.log_count - before <= 16);
	tdrv_vm_free(vm);
}

TEST(virtio_reset_all_and_broken_recovery)
{
	struct tdrv t;
	struct vm *vm = rng_vm(&t);
	CHECK(vm);
	if (!vm)
		return;
	tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8);
	tdrv_set_avail_idx(&t, 0, 100); /* jump: broken */
	tdrv_notify(&t, 0);
	CHECK(needs_reset(&t));
	CHECK(tdrv_irq(&t));
	virtio_reset_all(vm);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK(!tdrv_irq(&t));
	CHECK_EQ(tdrv_init(&t, vm->virtio[0], ALL_FEATURES, 8), STATUS_OK);
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0);
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	tdrv_vm_free(vm);
}
