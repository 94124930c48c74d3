/*
 * fuzz_vm.c - the machine the fuzz targets drive (see fuzz_vm.h): set-up, a minimal
 * register-level driver, and VM b's always-stocked receive ring.
 */
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/lib.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "../unit/fake_host.h"
#include "fuzz_vm.h"

#define B_RX_BUFS 16
#define B_RING (PLAT_RAM_BASE + 0x10000)
#define B_BUF (PLAT_RAM_BASE + 0x100000)

struct vm *fz_a, *fz_b;
static u16 b_avail, b_used_seen;

static void wr(struct vm *vm, gpa_t gpa, u32 v)
{
	u64 x = v;
	mmio_access(&vm->bus, gpa, 4, true, &x);
}

static u32 rd(struct vm *vm, gpa_t gpa)
{
	u64 x = 0;
	mmio_access(&vm->bus, gpa, 4, false, &x);
	return (u32)x;
}

void fz_mmio(gpa_t gpa, unsigned width, bool write, uint64_t val)
{
	u64 v = val;
	mmio_access(&fz_a->bus, gpa, width, write, &v);
}

static void driver_up(struct vm *vm, unsigned slot, u64 feat, unsigned num, gpa_t rings, u64 stride)
{
	gpa_t b = PLAT_VIRTIO_BASE + slot * PLAT_VIRTIO_STRIDE;
	struct virtio_dev *d = vm->virtio[slot];
	if (!d)
		return;
	wr(vm, b + VIRTIO_MMIO_STATUS, 0);
	wr(vm, b + VIRTIO_MMIO_STATUS, 3);
	wr(vm, b + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(vm, b + VIRTIO_MMIO_DRIVER_FEATURES, (u32)feat);
	wr(vm, b + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(vm, b + VIRTIO_MMIO_DRIVER_FEATURES, (u32)(feat >> 32));
	wr(vm, b + VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
	for (u32 q = 0; q < d->ops->nqueues; q++) {
		gpa_t r = rings + q * stride;
		wr(vm, b + VIRTIO_MMIO_QUEUE_SEL, q);
		wr(vm, b + VIRTIO_MMIO_QUEUE_NUM, num);
		wr(vm, b + VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)r);
		wr(vm, b + VIRTIO_MMIO_QUEUE_DRIVER_LOW, (u32)(r + stride / 4));
		wr(vm, b + VIRTIO_MMIO_QUEUE_DEVICE_LOW, (u32)(r + stride / 2));
		wr(vm, b + VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(vm, b + VIRTIO_MMIO_STATUS, rd(vm, b + VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

void fz_driver_up(unsigned slot, unsigned feat, unsigned num)
{
	u64 f = DUO_BIT(VIRTIO_F_VERSION_1) | 0xffffffULL; /* every device-specific bit */
	if (feat & 1)
		f |= DUO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	if (feat & 2)
		f |= DUO_BIT(VIRTIO_F_RING_EVENT_IDX);
	struct virtio_dev *d = fz_a->virtio[slot % PLAT_VIRTIO_SLOTS];
	if (d)
		f &= d->host_features;
	driver_up(fz_a, slot % PLAT_VIRTIO_SLOTS, f, num, FZ_RING_BASE, FZ_QSTRIDE);
}

void fz_poke_b(void)
{
	u8 *used = vm_gpa_ptr(fz_b, B_RING + 0x2000, 8);
	u8 *avail = vm_gpa_ptr(fz_b, B_RING + 0x1000, 4 + 2 * B_RX_BUFS);
	u16 used_idx = duo_le16(used + 2);
	while (b_used_seen != used_idx) {
		u32 id = duo_le32(used + 4 + 8 * (b_used_seen % B_RX_BUFS));
		b_used_seen++;
		duo_put_le16(avail + 4 + 2 * (b_avail % B_RX_BUFS), (u16)(id % B_RX_BUFS));
		b_avail++;
	}
	duo_put_le16(avail + 2, b_avail);
}

static void setup_b(void)
{
	virtio_detach_all(fz_b);
	memset(fz_b->ram, 0, 2 << 20);
	if (virtio_net_attach(fz_b, 0))
		abort();
	driver_up(fz_b, 0, DUO_BIT(VIRTIO_F_VERSION_1) | DUO_BIT(VIRTIO_F_RING_EVENT_IDX),
		  B_RX_BUFS, B_RING, 0x4000);
	u8 *desc = vm_gpa_ptr(fz_b, B_RING, 16 * B_RX_BUFS);
	u8 *avail = vm_gpa_ptr(fz_b, B_RING + 0x1000, 4 + 2 * B_RX_BUFS);
	for (unsigned i = 0; i < B_RX_BUFS; i++) {
		duo_put_le64(desc + 16 * i, B_BUF + 2048ULL * i);
		duo_put_le32(desc + 16 * i + 8, 2048);
		duo_put_le16(desc + 16 * i + 12, VIRTQ_DESC_F_WRITE);
		duo_put_le16(avail + 4 + 2 * i, (u16)i);
	}
	b_avail = B_RX_BUFS;
	b_used_seen = 0;
	duo_put_le16(avail + 2, b_avail);
}

static struct vm *make_vm(const char *name)
{
	struct vm *vm = fake_vm(FZ_RAM_MIB, 1);
	if (!vm)
		abort();
	strcpy(vm->cfg.name, name);
	vm->cfg.nnets = 1;
	vm->cfg.nets[0].mode = NET_SWITCH;
	strcpy(vm->cfg.nets[0].sw, "fz");
	return vm;
}

void fz_setup(void)
{
	if (!fz_a) {
		fake_host_reset();
		fz_a = make_vm("a");
		fz_b = make_vm("b");
		fake.disk[0] = calloc(1, 1 << 20);
		fake.disk_size[0] = 1 << 20;
		fz_a->cfg.ndisks = 1;
		strcpy(fz_a->cfg.disks[0].path, "fuzz.img");
	}
	/* The fake host's record only grows; keep it from mattering. */
	fake.console_len = 0;
	fake.blk_fail = 0;
	fake.alloc_fail_after = -1;
	virtio_detach_all(fz_a);
	memset(fz_a->ram, 0, FZ_DATA_MAX + 0x20000);
	if (vm_attach_config_devices(fz_a)) /* slots: blk, net, console, rng */
		abort();
	setup_b();
}

void fz_copy(const uint8_t *data, size_t size)
{
	if (size > FZ_DATA_MAX)
		size = FZ_DATA_MAX;
	memcpy(vm_gpa_ptr(fz_a, FZ_DATA_BASE, FZ_DATA_MAX), data, size);
}
