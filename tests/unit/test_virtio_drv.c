/*
 * test_virtio_drv.c - the unit tests' virtio-mmio driver (see test_virtio_drv.h), plus
 * the tests of the driver-visible transport basics that every later test relies on.
 */
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/plic.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

int tdrv_access(struct tdrv *t, u64 off, unsigned width, bool write, u64 *val)
{
	return mmio_access(&t->vm->bus, t->base + off, width, write, val);
}

u32 tdrv_rd(struct tdrv *t, u64 off)
{
	u64 v = 0xdeadbeef;
	if (tdrv_access(t, off, 4, false, &v))
		return 0xdeadbeef;
	return (u32)v;
}

void tdrv_wr(struct tdrv *t, u64 off, u32 val)
{
	u64 v = val;
	tdrv_access(t, off, 4, true, &v);
}

void tdrv_attach(struct tdrv *t, struct virtio_dev *dev)
{
	memset(t, 0, sizeof(*t));
	t->vm = dev->vm;
	t->dev = dev;
	t->base = dev->mmio.base;
	t->heap = TDRV_HEAP_BASE;
}

u32 tdrv_negotiate(struct tdrv *t, u64 want)
{
	tdrv_wr(t, VIRTIO_MMIO_STATUS, 0);
	tdrv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	tdrv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	tdrv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	u64 offered = tdrv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	tdrv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (u64)tdrv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	u64 f = offered & want;
	tdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (u32)f);
	tdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	tdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (u32)(f >> 32));
	tdrv_wr(t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return tdrv_rd(t, VIRTIO_MMIO_STATUS);
}

void tdrv_setup_queue(struct tdrv *t, u32 q, u16 num)
{
	struct tdrv_queue *tq = &t->q[q];
	gpa_t base = TDRV_RING_BASE + q * 0x4000ULL;
	memset(tdrv_ptr(t, base), 0, 0x4000);
	tq->desc = base;
	tq->avail = base + 0x1000;
	tq->used = base + 0x2000;
	tq->num = num;
	tq->avail_idx = tq->used_seen = 0;
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)tq->desc);
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (u32)(tq->desc >> 32));
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (u32)tq->avail);
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (u32)(tq->avail >> 32));
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (u32)tq->used);
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (u32)(tq->used >> 32));
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

u32 tdrv_init(struct tdrv *t, struct virtio_dev *dev, u64 want, u16 num)
{
	tdrv_attach(t, dev);
	tdrv_negotiate(t, want);
	for (u32 q = 0; q < dev->ops->nqueues; q++)
		tdrv_setup_queue(t, q, num);
	tdrv_wr(t, VIRTIO_MMIO_STATUS, tdrv_rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	return tdrv_rd(t, VIRTIO_MMIO_STATUS);
}

gpa_t tdrv_alloc(struct tdrv *t, u64 len)
{
	gpa_t a = t->heap;
	t->heap += (len + 15) & ~15ULL;
	memset(tdrv_ptr(t, a), 0, len);
	return a;
}

void *tdrv_ptr(struct tdrv *t, gpa_t gpa)
{
	return vm_gpa_ptr(t->vm, gpa, 1);
}

void tdrv_desc_at(struct tdrv *t, gpa_t table, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = tdrv_ptr(t, table + 16ULL * i);
	duo_put_le64(d, addr);
	duo_put_le32(d + 8, len);
	duo_put_le16(d + 12, flags);
	duo_put_le16(d + 14, next);
}

void tdrv_desc(struct tdrv *t, u32 q, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	tdrv_desc_at(t, t->q[q].desc, i, addr, len, flags, next);
}

void tdrv_submit(struct tdrv *t, u32 q, u16 head)
{
	struct tdrv_queue *tq = &t->q[q];
	duo_put_le16(tdrv_ptr(t, tq->avail + 4 + 2ULL * (tq->avail_idx % tq->num)), head);
	tq->avail_idx++;
	duo_put_le16(tdrv_ptr(t, tq->avail + 2), tq->avail_idx);
}

void tdrv_set_avail_idx(struct tdrv *t, u32 q, u16 idx)
{
	t->q[q].avail_idx = idx;
	duo_put_le16(tdrv_ptr(t, t->q[q].avail + 2), idx);
}

void tdrv_notify(struct tdrv *t, u32 q)
{
	tdrv_wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

u16 tdrv_used_idx(struct tdrv *t, u32 q)
{
	return duo_le16(tdrv_ptr(t, t->q[q].used + 2));
}

int tdrv_used(struct tdrv *t, u32 q, u32 *id, u32 *len)
{
	struct tdrv_queue *tq = &t->q[q];
	if (tdrv_used_idx(t, q) == tq->used_seen)
		return 0;
	u8 *e = tdrv_ptr(t, tq->used + 4 + 8ULL * (tq->used_seen % tq->num));
	*id = duo_le32(e);
	*len = duo_le32(e + 4);
	tq->used_seen++;
	return 1;
}

void tdrv_set_used_event(struct tdrv *t, u32 q, u16 v)
{
	duo_put_le16(tdrv_ptr(t, t->q[q].avail + 4 + 2ULL * t->q[q].num), v);
}

u16 tdrv_avail_event(struct tdrv *t, u32 q)
{
	return duo_le16(tdrv_ptr(t, t->q[q].used + 4 + 8ULL * t->q[q].num));
}

void tdrv_set_avail_flags(struct tdrv *t, u32 q, u16 flags)
{
	duo_put_le16(tdrv_ptr(t, t->q[q].avail), flags);
}

bool tdrv_irq(struct tdrv *t)
{
	return (t->vm->plic->level >> t->dev->irq) & 1;
}

u16 tdrv_chain(struct tdrv *t, u32 q, u16 first, const struct tdrv_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		u16 flags =
			(b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		tdrv_desc(t, q, (u16)(first + i), b[i].addr, b[i].len, flags, (u16)(first + i + 1));
	}
	return first;
}

struct vm *tdrv_vm_with_disk(u64 bytes, bool readonly)
{
	struct vm *vm = fake_vm(16, 1);
	if (!vm)
		return NULL;
	fake.disk[0] = calloc(1, bytes ? bytes : 1);
	fake.disk_size[0] = bytes;
	vm->cfg.ndisks = 1;
	strcpy(vm->cfg.disks[0].path, "test.img");
	vm->cfg.disks[0].readonly = readonly;
	return vm;
}

void tdrv_vm_free(struct vm *vm)
{
	if (!vm)
		return;
	virtio_detach_all(vm);
	fake_vm_free(vm);
}

/* ---- transport basics ------------------------------------------------------------- */

TEST(virtio_mmio_identity)
{
	struct vm *vm = tdrv_vm_with_disk(1 << 20, false);
	struct tdrv t;
	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_EQ(virtio_blk_attach(vm, 0), 0);
	tdrv_attach(&t, vm->virtio[0]);
	CHECK_EQ(t.base, PLAT_VIRTIO_BASE);
	CHECK_EQ(t.dev->irq, PLAT_VIRTIO_IRQ0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	CHECK(tdrv_rd(&t, VIRTIO_MMIO_VENDOR_ID) != 0);
	tdrv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	u32 hi = tdrv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(hi & 1); /* VERSION_1 = bit 32 */
	tdrv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	u32 lo = tdrv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(lo & (1u << VIRTIO_F_RING_INDIRECT_DESC));
	CHECK(lo & (1u << VIRTIO_F_RING_EVENT_IDX));
	tdrv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	tdrv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	tdrv_vm_free(vm);
}

TEST(virtio_mmio_slots_fill_in_order)
{
	struct vm *vm = fake_vm(16, 1);
	CHECK(vm != NULL);
	if (!vm)
		return;
	vm->cfg.nnets = 1;
	strcpy(vm->cfg.nets[0].sw, "t-slots");
	CHECK_EQ(vm_attach_config_devices(vm), 0);
	CHECK(vm->virtio[0] && vm->virtio[0]->ops->device_id == VIRTIO_ID_NET);
	CHECK(vm->virtio[1] && vm->virtio[1]->ops->device_id == VIRTIO_ID_CONSOLE);
	CHECK(vm->virtio[2] && vm->virtio[2]->ops->device_id == VIRTIO_ID_RNG);
	CHECK(vm->virtio[3] == NULL);
	CHECK_EQ(vm->virtio[2]->mmio.base, PLAT_VIRTIO_BASE + 2 * PLAT_VIRTIO_STRIDE);
	CHECK_EQ(vm->virtio[2]->irq, PLAT_VIRTIO_IRQ0 + 2);
	CHECK(virtio_net_dev(vm, 0) == vm->virtio[0]);
	/* Fill the rest: the 9th device finds no slot. */
	for (int i = 3; i < PLAT_VIRTIO_SLOTS; i++)
		CHECK_EQ(virtio_rng_attach(vm), 0);
	CHECK_EQ(virtio_rng_attach(vm), DUO_ENOMEM);
	unsigned before = vm->bus.ndevs;
	virtio_detach_all(vm);
	CHECK_EQ(vm->bus.ndevs, before - PLAT_VIRTIO_SLOTS);
	for (int i = 0; i < PLAT_VIRTIO_SLOTS; i++)
		CHECK(vm->virtio[i] == NULL);
	u64 v = 0;
	CHECK_EQ(mmio_access(&vm->bus, PLAT_VIRTIO_BASE, 4, false, &v), DUO_EFAULT);
	fake_vm_free(vm);
}

TEST(virtio_mmio_attach_alloc_failure_unwinds)
{
	struct vm *vm = tdrv_vm_with_disk(4096, false);
	CHECK(vm != NULL);
	if (!vm)
		return;
	fake.alloc_fail_after = fake.allocs + 1; /* the model state, not the device */
	CHECK_EQ(vm_attach_config_devices(vm), DUO_ENOMEM);
	for (int i = 0; i < PLAT_VIRTIO_SLOTS; i++)
		CHECK(vm->virtio[i] == NULL);
	fake.alloc_fail_after = -1;
	CHECK_EQ(vm_attach_config_devices(vm), 0);
	CHECK(vm->virtio[0] != NULL);
	tdrv_vm_free(vm);
}
