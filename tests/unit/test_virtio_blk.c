/*
 * test_virtio_blk.c - the virtio-blk model (core/dev/virtio_blk.c) driven like Linux's
 * driver would, against the fake host's in-memory disk: config space, reads, writes,
 * flush (and a failing flush that must never turn into success), get-id, discard and
 * write-zeroes, read-only disks, and HOSTILE.md item 10 (sector past the end, unknown
 * type, read-only status buffer, oversize requests; the image never grows).
 */
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WZ 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define NO_STATUS 0xee /* what the status byte holds before the device answers */

static struct vm *blk_up(struct tdrv *t, u64 bytes, bool ro)
{
	return tdrv_up(t, tdrv_vm_with_disk(bytes, ro), VIRTIO_ID_BLOCK, ~0ULL, 16);
}

/*
 * req - one request: header, optional data (device-writable for reads), status byte.
 * Returns the status byte the device wrote (NO_STATUS if none); *used gets used.len.
 */
static u8 req(struct tdrv *t, u32 type, u64 sector, gpa_t data, u32 len, bool dev_writes, u32 *used)
{
	gpa_t hdr = tdrv_alloc(t, 16), st = tdrv_alloc(t, 1);
	u8 *h = tdrv_ptr(t, hdr);
	duo_put_le32(h, type);
	duo_put_le64(h + 8, sector);
	*(u8 *)tdrv_ptr(t, st) = NO_STATUS;
	struct tdrv_buf b[3] = { { hdr, 16, false }, { data, len, dev_writes }, { st, 1, true } };
	if (len)
		tdrv_chain(t, 0, 0, b, 3);
	else {
		b[1] = b[2];
		tdrv_chain(t, 0, 0, b, 2);
	}
	tdrv_kick(t, 0, 0);
	u32 id = 0xffff, l = 0;
	if (!tdrv_used(t, 0, &id, &l))
		l = 0xdead;
	if (used)
		*used = l;
	return *(u8 *)tdrv_ptr(t, st);
}

static void fill(u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 7);
}

TEST(virtio_blk_config_space)
{
	TDRV_UP(t, vm, blk_up(&t, (8 << 20) + 100, false)); /* partial sector at the end */
	u64 v;
	tdrv_access(&t, 0x100, 8, false, &v);
	CHECK_EQ(v, (8 << 20) / 512);
	tdrv_access(&t, 0x100 + 20, 4, false, &v);
	CHECK_EQ(v, 512); /* blk_size */
	tdrv_access(&t, 0x100 + 12, 4, false, &v);
	CHECK(v >= 1 && v <= 254); /* seg_max fits the queue with header and status */
	CHECK(t.dev->driver_features & DUO_BIT(13));   /* DISCARD */
	CHECK(t.dev->driver_features & DUO_BIT(9));    /* FLUSH */
	CHECK(!(t.dev->driver_features & DUO_BIT(5))); /* not RO */
	tdrv_vm_free(vm);
}

TEST(virtio_blk_write_then_read)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	u32 used;
	gpa_t w = tdrv_alloc(&t, 4096), r = tdrv_alloc(&t, 4096);
	fill(tdrv_ptr(&t, w), 4096, 3);
	CHECK_EQ(req(&t, T_OUT, 10, w, 4096, false, &used), S_OK);
	CHECK_EQ(used, 1);
	CHECK_EQ(memcmp(fake.disk[0] + 10 * 512, tdrv_ptr(&t, w), 4096), 0);
	CHECK_EQ(req(&t, T_IN, 10, r, 4096, true, &used), S_OK);
	CHECK_EQ(used, 4097);
	CHECK_EQ(memcmp(tdrv_ptr(&t, r), tdrv_ptr(&t, w), 4096), 0);
	CHECK(tdrv_irq(&t));
	tdrv_vm_free(vm);
}

/* Any layout (VERSION_1): header split over descriptors, status sharing the data's. */
TEST(virtio_blk_any_layout)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	fill(fake.disk[0] + 512, 512, 9);
	gpa_t h = tdrv_alloc(&t, 16), io = tdrv_alloc(&t, 513);
	duo_put_le32(tdrv_ptr(&t, h), T_IN);
	duo_put_le64(tdrv_ptr(&t, h + 8), 1);
	struct tdrv_buf b[3] = { { h, 5, false }, { h + 5, 11, false }, { io, 513, true } };
	tdrv_kick(&t, 0, tdrv_chain(&t, 0, 0, b, 3));
	u8 *p = tdrv_ptr(&t, io);
	CHECK_EQ(memcmp(p, fake.disk[0] + 512, 512), 0);
	CHECK_EQ(p[512], S_OK);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_indirect_request)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	gpa_t h = tdrv_alloc(&t, 16), d = tdrv_alloc(&t, 1024), st = tdrv_alloc(&t, 1);
	gpa_t table = tdrv_alloc(&t, 4 * 16);
	fill(tdrv_ptr(&t, d), 1024, 1);
	duo_put_le32(tdrv_ptr(&t, h), T_OUT);
	duo_put_le64(tdrv_ptr(&t, h + 8), 4);
	tdrv_desc_at(&t, table, 0, h, 16, VIRTQ_DESC_F_NEXT, 1);
	tdrv_desc_at(&t, table, 1, d, 512, VIRTQ_DESC_F_NEXT, 2);
	tdrv_desc_at(&t, table, 2, d + 512, 512, VIRTQ_DESC_F_NEXT, 3);
	tdrv_desc_at(&t, table, 3, st, 1, VIRTQ_DESC_F_WRITE, 0);
	tdrv_desc(&t, 0, 0, table, 64, VIRTQ_DESC_F_INDIRECT, 0);
	tdrv_kick(&t, 0, 0);
	CHECK_EQ(*(u8 *)tdrv_ptr(&t, st), S_OK);
	CHECK_EQ(memcmp(fake.disk[0] + 2048, tdrv_ptr(&t, d), 1024), 0);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_flush_and_sticky_failure)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	CHECK_EQ(fake.flush_calls, 1);
	fake.blk_fail = DUO_EIO;
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_IOERR);
	fake.blk_fail = 0; /* the host "recovers", but the lost writes are gone */
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_IOERR);
	gpa_t w = tdrv_alloc(&t, 512);
	CHECK_EQ(req(&t, T_OUT, 0, w, 512, false, NULL), S_OK);
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_IOERR);
	/* Not even a guest reset brings success back. */
	tdrv_init(&t, t.dev, ~0ULL, 16);
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_IOERR);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_host_write_error_is_ioerr)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	gpa_t w = tdrv_alloc(&t, 512);
	fake.blk_fail = DUO_EIO; /* disk full / EIO */
	CHECK_EQ(req(&t, T_OUT, 0, w, 512, false, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_IN, 0, w, 512, true, NULL), S_IOERR);
	fake.blk_fail = 0;
	CHECK_EQ(req(&t, T_IN, 0, w, 512, true, NULL), S_OK);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_get_id)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	u32 used;
	gpa_t id = tdrv_alloc(&t, 20);
	CHECK_EQ(req(&t, T_GET_ID, 0, id, 20, true, &used), S_OK);
	CHECK_EQ(used, 21);
	CHECK_EQ(memcmp(tdrv_ptr(&t, id), "duovisor-vm-0\0", 14), 0);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_readonly)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, true));
	CHECK(t.dev->driver_features & DUO_BIT(5));   /* RO offered and taken */
	CHECK(!(t.dev->host_features & DUO_BIT(13))); /* no discard on a RO disk */
	fill(fake.disk[0], 512, 5);
	u8 before[512];
	memcpy(before, fake.disk[0], 512);
	gpa_t w = tdrv_alloc(&t, 512);
	CHECK_EQ(req(&t, T_OUT, 0, w, 512, false, NULL), S_IOERR);
	CHECK_EQ(memcmp(fake.disk[0], before, 512), 0);
	CHECK_EQ(req(&t, T_IN, 0, w, 512, true, NULL), S_OK);
	CHECK_EQ(req(&t, T_DISCARD, 0, w, 16, false, NULL), S_UNSUPP);
	CHECK_EQ(req(&t, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	tdrv_vm_free(vm);
}

static u8 dwz(struct tdrv *t, u32 type, u64 sector, u32 n, u32 flags)
{
	gpa_t seg = tdrv_alloc(t, 16);
	u8 *s = tdrv_ptr(t, seg);
	duo_put_le64(s, sector);
	duo_put_le32(s + 8, n);
	duo_put_le32(s + 12, flags);
	return req(t, type, 0, seg, 16, false, NULL);
}

TEST(virtio_blk_discard_and_write_zeroes)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	memset(fake.disk[0], 0xaa, 1 << 20);
	CHECK_EQ(dwz(&t, T_WZ, 2, 3, 1), S_OK);
	CHECK_EQ(fake.disk[0][2 * 512 - 1], 0xaa);
	CHECK_EQ(fake.disk[0][2 * 512], 0);
	CHECK_EQ(fake.disk[0][5 * 512 - 1], 0);
	CHECK_EQ(fake.disk[0][5 * 512], 0xaa);
	CHECK_EQ(dwz(&t, T_DISCARD, 100, 8, 0), S_OK);
	CHECK_EQ(dwz(&t, T_DISCARD, 100, 8, 1), S_UNSUPP);  /* unmap flag on discard */
	CHECK_EQ(dwz(&t, T_WZ, 100, 8, 2), S_UNSUPP);	    /* unknown flag */
	CHECK_EQ(dwz(&t, T_WZ, 2047, 2, 0), S_IOERR);	    /* past the end */
	CHECK_EQ(dwz(&t, T_WZ, ~0ULL, 2, 0), S_IOERR);	    /* overflowing */
	CHECK_EQ(dwz(&t, T_WZ, 0, 0x7fffffff, 0), S_IOERR); /* more than max */
	/* Two segments: max_discard_seg is 1. */
	gpa_t two = tdrv_alloc(&t, 32);
	CHECK_EQ(req(&t, T_DISCARD, 0, two, 32, false, NULL), S_IOERR);
	tdrv_vm_free(vm);
}

/* HOSTILE 10: past the end, unknown types, bad sizes; the image never grows. */
TEST(virtio_blk_hostile_requests)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false)); /* 2048 sectors */
	gpa_t buf = tdrv_alloc(&t, 8192);
	CHECK_EQ(req(&t, T_IN, 2048, buf, 512, true, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_OUT, 2047, buf, 1024, false, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_OUT, ~0ULL, buf, 512, false, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_OUT, 1ULL << 55, buf, 512, false, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_OUT, 2047, buf, 512, false, NULL), S_OK); /* the last sector */
	CHECK_EQ(req(&t, T_IN, 0, buf, 100, true, NULL), S_IOERR);   /* not whole sectors */
	CHECK_EQ(req(&t, 7, 0, buf, 512, true, NULL), S_UNSUPP);
	CHECK_EQ(req(&t, 0xffffffffu, 0, buf, 512, true, NULL), S_UNSUPP);
	CHECK_EQ(req(&t, 10, 0, buf, 512, true, NULL), S_UNSUPP); /* GET_LIFETIME */
	CHECK_EQ(fake.disk_size[0], 1 << 20);
	CHECK(!(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* Header shorter than 16 bytes. */
	gpa_t h = tdrv_alloc(&t, 8), st = tdrv_alloc(&t, 1);
	struct tdrv_buf b[2] = { { h, 8, false }, { st, 1, true } };
	tdrv_kick(&t, 0, tdrv_chain(&t, 0, 0, b, 2));
	CHECK_EQ(*(u8 *)tdrv_ptr(&t, st), S_IOERR);
	tdrv_vm_free(vm);
}

/* HOSTILE 4/10: larger than the device allows (bounded host work) -> IOERR. */
TEST(virtio_blk_oversize_request)
{
	struct tdrv t;
	struct vm *vm = tdrv_vm_with_disk(12 << 20, false);
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(virtio_blk_attach(vm, 0), 0);
	tdrv_init(&t, vm->virtio[0], ~0ULL, 16);
	gpa_t big = tdrv_alloc(&t, 9 << 20);
	CHECK_EQ(req(&t, T_IN, 0, big, 9 << 20, true, NULL), S_IOERR);
	CHECK_EQ(req(&t, T_IN, 0, big, 8 << 20, true, NULL), S_IOERR); /* > 254 x 32 KiB (BLK_REQ_MAX) */
	CHECK_EQ(req(&t, T_IN, 0, big, 4 << 20, true, NULL), S_OK);
	tdrv_vm_free(vm);
}

/* HOSTILE 10: the status byte must be device-writable; without one, NEEDS_RESET. */
TEST(virtio_blk_readonly_status_buffer)
{
	TDRV_UP(t, vm, blk_up(&t, 1 << 20, false));
	gpa_t h = tdrv_alloc(&t, 16), d = tdrv_alloc(&t, 512), st = tdrv_alloc(&t, 1);
	duo_put_le32(tdrv_ptr(&t, h), T_OUT);
	*(u8 *)tdrv_ptr(&t, st) = NO_STATUS;
	memset(tdrv_ptr(&t, d), 0x55, 512);
	struct tdrv_buf b[3] = { { h, 16, false }, { d, 512, false }, { st, 1, false } };
	tdrv_kick(&t, 0, tdrv_chain(&t, 0, 0, b, 3));
	CHECK(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(*(u8 *)tdrv_ptr(&t, st), NO_STATUS);
	CHECK_EQ(fake.disk[0][0], 0); /* nothing was written either */
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	tdrv_vm_free(vm);
}

TEST(virtio_blk_bad_attach)
{
	struct vm *vm = tdrv_vm_with_disk(4096, false);
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(virtio_blk_attach(vm, 1), DUO_EINVAL);
	CHECK_EQ(virtio_blk_attach(vm, 99), DUO_EINVAL);
	fake.alloc_fail_after = fake.allocs;
	CHECK_EQ(virtio_blk_attach(vm, 0), DUO_ENOMEM);
	CHECK(vm->virtio[0] == NULL);
	tdrv_vm_free(vm);
}
