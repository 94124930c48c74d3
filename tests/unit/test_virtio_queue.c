/*
 * test_virtio_queue.c - split-virtqueue processing (core/dev/virtq.c) against hostile
 * drivers, HOSTILE.md items 1-8, plus indirect tables and event-index interrupt
 * suppression done right. The vehicle is virtio-rng (one queue of writable buffers),
 * so what the device wrote is easy to see.
 */
#include <pthread.h>
#include <string.h>

#include <duo/err.h>
#include <duo/plic.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define ALL (~0ULL)
#define NO_INDIRECT (~DUO_BIT(VIRTIO_F_RING_INDIRECT_DESC))
#define NO_EVENT (~DUO_BIT(VIRTIO_F_RING_EVENT_IDX))

static struct vm *rng_up(struct tdrv *t, u64 features, u16 num)
{
	return tdrv_up(t, fake_vm(16, 1), VIRTIO_ID_RNG, features, num);
}

static bool broken(struct tdrv *t)
{
	return tdrv_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

/* A well-formed chain of three writable buffers is filled across all three. */
TEST(virtq_chain_fills_every_segment)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	struct tdrv_buf b[3] = { { tdrv_alloc(&t, 8), 8, true },
				 { tdrv_alloc(&t, 100), 100, true },
				 { tdrv_alloc(&t, 3), 3, true } };
	u32 id, len;
	tdrv_kick(&t, 0, tdrv_chain(&t, 0, 2, b, 3));
	CHECK_EQ(tdrv_used(&t, 0, &id, &len), 1);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 111);
	u8 *p = tdrv_ptr(&t, b[2].addr);
	CHECK_EQ(p[2], (u8)(110 * 37 + 11)); /* the fake entropy's byte 110 */
	CHECK(!broken(&t));
	tdrv_vm_free(vm);
}

/* HOSTILE 1: a next loop, and a chain longer than the queue. */
TEST(virtq_hostile_next_loop)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	tdrv_desc(&t, 0, 1, buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	CHECK(tdrv_irq(&t)); /* config-change interrupt */
	CHECK(strstr(fake.last_log, "longer than queue size") != NULL);
	/* Self-loop on one descriptor, after a reset. */
	tdrv_init(&t, t.dev, ALL, 8);
	tdrv_desc(&t, 0, 3, buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	tdrv_kick(&t, 0, 3);
	CHECK(broken(&t));
	tdrv_vm_free(vm);
}

/* A chain of exactly QueueNum buffers is fine; one more hop is not (via indirect). */
TEST(virtq_chain_length_limit_is_queue_size)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	gpa_t buf = tdrv_alloc(&t, 4);
	for (u16 i = 0; i < 8; i++)
		tdrv_desc(&t, 0, i, buf, 4, VIRTQ_DESC_F_WRITE | (i < 7 ? VIRTQ_DESC_F_NEXT : 0),
			  i + 1);
	tdrv_kick(&t, 0, 0);
	CHECK(!broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	/* Indirect table of 9 entries in a queue of 8. */
	gpa_t table = tdrv_alloc(&t, 9 * 16);
	for (u16 i = 0; i < 9; i++)
		tdrv_desc_at(&t, table, i, buf, 4,
			     VIRTQ_DESC_F_WRITE | (i < 8 ? VIRTQ_DESC_F_NEXT : 0), i + 1);
	tdrv_desc(&t, 0, 0, table, 9 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	tdrv_vm_free(vm);
}

/* HOSTILE 2: head or next index >= queue size. */
TEST(virtq_hostile_index_out_of_range)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	tdrv_kick(&t, 0, 8);
	CHECK(broken(&t));
	CHECK(strstr(fake.last_log, "head 8 out of range") != NULL);

	tdrv_init(&t, t.dev, ALL, 8);
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0xffff);
	tdrv_kick(&t, 0, 0);
	CHECK(broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	tdrv_vm_free(vm);
}

/* HOSTILE 3: buffers that wrap, pass the end of RAM, or point at MMIO. */
TEST(virtq_hostile_buffer_addresses)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	u64 end = PLAT_RAM_BASE + vm->ram_size;
	struct {
		u64 addr;
		u32 len;
	} bad[] = {
		{ 0xfffffffffffff000ULL, 0x2000 }, /* wraps */
		{ end - 8, 16 },		   /* crosses the end */
		{ end, 1 },			   /* just past */
		{ PLAT_VIRTIO_BASE, 4 },	   /* its own registers */
		{ PLAT_PLIC_BASE, 4 },
		{ 0, 16 },
		{ PLAT_RAM_BASE - 1, 2 }, /* straddles the start */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tdrv_init(&t, t.dev, ALL, 8);
		tdrv_desc(&t, 0, 0, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		tdrv_kick(&t, 0, 0);
		CHECK(broken(&t));
		CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	}
	/* The last byte of RAM is a fine buffer. */
	tdrv_init(&t, t.dev, ALL, 8);
	tdrv_desc(&t, 0, 0, end - 1, 1, VIRTQ_DESC_F_WRITE, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(!broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	tdrv_vm_free(vm);
}

/* HOSTILE 4: len 0 and len ~4 GiB. */
TEST(virtq_hostile_lengths)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	u32 id, len;
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 0, VIRTQ_DESC_F_WRITE, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(!broken(&t));
	CHECK_EQ(tdrv_used(&t, 0, &id, &len), 1);
	CHECK_EQ(len, 0);
	tdrv_desc(&t, 0, 0, buf, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(broken(&t)); /* 4 GiB is not in a 16 MiB guest */
	tdrv_vm_free(vm);
}

/* HOSTILE 5: indirect tables that are malformed or not negotiated. */
TEST(virtq_hostile_indirect)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	gpa_t buf = tdrv_alloc(&t, 16), table = tdrv_alloc(&t, 64), inner = tdrv_alloc(&t, 16);
	u32 id, len;
	/* A good one first: two entries. */
	tdrv_desc_at(&t, table, 0, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	tdrv_desc_at(&t, table, 1, buf + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	tdrv_desc(&t, 0, 5, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	tdrv_kick(&t, 0, 5);
	CHECK(!broken(&t));
	CHECK_EQ(tdrv_used(&t, 0, &id, &len), 1);
	CHECK_EQ(id, 5);
	CHECK_EQ(len, 16);

	struct {
		u32 len;
		u16 flags;
		bool nest;
		bool next_oob;
	} bad[] = {
		{ 24, VIRTQ_DESC_F_INDIRECT, false, false }, /* not a multiple of 16 */
		{ 0, VIRTQ_DESC_F_INDIRECT, false, false },  /* empty */
		{ 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, false, false },
		{ 32, VIRTQ_DESC_F_INDIRECT, true, false },	      /* nested */
		{ 32, VIRTQ_DESC_F_INDIRECT, false, true },	      /* next past the table */
		{ 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, false, false }, /* huge */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tdrv_init(&t, t.dev, ALL, 8);
		tdrv_desc_at(&t, table, 0, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		tdrv_desc_at(&t, table, 1, buf + 8, 8, VIRTQ_DESC_F_WRITE, 0);
		if (bad[i].nest)
			tdrv_desc_at(&t, table, 1, inner, 16, VIRTQ_DESC_F_INDIRECT, 0);
		if (bad[i].next_oob)
			tdrv_desc_at(&t, table, 1, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
				     2);
		tdrv_desc(&t, 0, 0, table, bad[i].len, bad[i].flags, 1);
		tdrv_desc(&t, 0, 1, buf, 8, VIRTQ_DESC_F_WRITE, 0);
		tdrv_kick(&t, 0, 0);
		CHECK(broken(&t));
		CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	}
	/* Not negotiated. */
	tdrv_init(&t, t.dev, NO_INDIRECT, 8);
	tdrv_desc_at(&t, table, 0, buf, 8, VIRTQ_DESC_F_WRITE, 0);
	tdrv_desc(&t, 0, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(broken(&t));
	tdrv_vm_free(vm);
}

/* HOSTILE 6: avail.idx jumps by more than the queue size: broken, nothing replayed. */
TEST(virtq_hostile_avail_jump)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	gpa_t buf = tdrv_alloc(&t, 16);
	for (u16 i = 0; i < 8; i++)
		tdrv_desc(&t, 0, i, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_set_avail_idx(&t, 0, 8); /* exactly the size: allowed */
	tdrv_notify(&t, 0);
	CHECK(!broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 8);
	tdrv_set_avail_idx(&t, 0, 8 + 9); /* one too many */
	tdrv_notify(&t, 0);
	CHECK(broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 8);
	tdrv_notify(&t, 0); /* still nothing once broken */
	CHECK_EQ(tdrv_used_idx(&t, 0), 8);
	/* Going backwards is a jump of ~65535 too. */
	tdrv_init(&t, t.dev, ALL, 8);
	tdrv_set_avail_idx(&t, 0, 0xffff);
	tdrv_notify(&t, 0);
	CHECK(broken(&t));
	CHECK_EQ(tdrv_used_idx(&t, 0), 0);
	tdrv_vm_free(vm);
}

/* HOSTILE 7: a flood without reaping: completions stay bounded, nothing is allocated. */
TEST(virtq_hostile_flood_without_reaping)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 4));
	gpa_t buf = tdrv_alloc(&t, 16);
	for (u16 i = 0; i < 4; i++)
		tdrv_desc(&t, 0, i, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	int allocs = fake.allocs;
	u16 expect = 0;
	for (int round = 0; round < 5000; round++) {
		/* Re-offer the same descriptors without ever reading the used ring. */
		for (u16 i = 0; i < 4; i++)
			tdrv_submit(&t, 0, i);
		expect += 4;
		tdrv_notify(&t, 0);
		CHECK_EQ(tdrv_used_idx(&t, 0), expect);
	}
	CHECK(!broken(&t));
	CHECK_EQ(fake.allocs, allocs);
	CHECK_EQ((u16)(tdrv_used_idx(&t, 0) - t.dev->vq[0].last_avail), 0); /* in flight: 0 */
	tdrv_vm_free(vm);
}

/* Readable after writable is out of order (2.7.4.2). */
TEST(virtq_readable_after_writable_rejected)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	struct tdrv_buf b[2] = { { tdrv_alloc(&t, 8), 8, true }, { tdrv_alloc(&t, 8), 8, false } };
	tdrv_kick(&t, 0, tdrv_chain(&t, 0, 0, b, 2));
	CHECK(broken(&t));
	tdrv_vm_free(vm);
}

/* Event index: the device interrupts only when used_event is crossed, and publishes
 * avail_event so the driver knows when to notify. */
TEST(virtq_event_idx_suppresses_interrupts)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	CHECK(virtio_has_feature(t.dev, VIRTIO_F_RING_EVENT_IDX));
	gpa_t buf = tdrv_alloc(&t, 16);
	for (u16 i = 0; i < 8; i++)
		tdrv_desc(&t, 0, i, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_set_used_event(&t, 0, 2); /* "interrupt me when used passes entry 2" */
	tdrv_submit(&t, 0, 0);
	tdrv_kick(&t, 0, 1);
	CHECK_EQ(tdrv_used_idx(&t, 0), 2);
	CHECK(!tdrv_irq(&t));
	CHECK_EQ(tdrv_avail_event(&t, 0), 2);
	tdrv_kick(&t, 0, 2);
	CHECK(tdrv_irq(&t)); /* entry 2 used */
	tdrv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	tdrv_kick(&t, 0, 3);
	CHECK(!tdrv_irq(&t)); /* used_event still 2: no more */
	tdrv_set_used_event(&t, 0, 4);
	tdrv_kick(&t, 0, 4);
	CHECK(tdrv_irq(&t));
	CHECK_EQ(tdrv_avail_event(&t, 0), 5);
	tdrv_vm_free(vm);
}

TEST(virtq_no_interrupt_flag_without_event_idx)
{
	TDRV_UP(t, vm, rng_up(&t, NO_EVENT, 8));
	gpa_t buf = tdrv_alloc(&t, 16);
	tdrv_desc(&t, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_set_avail_flags(&t, 0, VIRTQ_AVAIL_F_NO_INTERRUPT);
	tdrv_kick(&t, 0, 0);
	CHECK_EQ(tdrv_used_idx(&t, 0), 1);
	CHECK(!tdrv_irq(&t));
	CHECK_EQ(tdrv_avail_event(&t, 0), 0); /* not written without EVENT_IDX */
	tdrv_set_avail_flags(&t, 0, 0);
	tdrv_kick(&t, 0, 0);
	CHECK(tdrv_irq(&t));
	tdrv_vm_free(vm);
}

/* HOSTILE 8: another vCPU rewrites the descriptor while the device works. The device
 * must read each field once: whatever it sees, it either completes the request inside
 * RAM or marks itself broken; never a wild access (ASan/UBSan builds catch those). */
struct flipper {
	u8 *desc;
	u64 good, bad;
	volatile int stop;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	for (unsigned i = 0; !f->stop; i++) {
		duo_put_le64(f->desc, (i & 1) ? f->bad : f->good);
		duo_put_le32(f->desc + 8, (i & 2) ? 0xffffffffu : 16);
		duo_put_le16(f->desc + 12, (u16)(VIRTQ_DESC_F_WRITE | ((i & 4) ? 1 : 0)));
	}
	return NULL;
}

TEST(virtq_hostile_descriptor_rewritten_concurrently)
{
	TDRV_UP(t, vm, rng_up(&t, ALL, 8));
	struct flipper f = { tdrv_ptr(&t, t.q[0].desc), tdrv_alloc(&t, 16),
			     PLAT_RAM_BASE + vm->ram_size - 8, 0 };
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, flip, &f), 0);
	int resets = 0;
	for (int i = 0; i < 20000; i++) {
		tdrv_kick(&t, 0, 0);
		if (broken(&t)) {
			resets++;
			tdrv_init(&t, t.dev, ALL, 8);
		}
	}
	f.stop = 1;
	pthread_join(th, NULL);
	CHECK(resets < 20000);
	tdrv_vm_free(vm);
}
