/*
 * test_virtio_console.c - virtio-console (hvc0) and virtio-rng: output reaches the host
 * console, input fills receive buffers, endless output is bounded and counted
 * (HOSTILE.md 12), and entropy requests are filled with bounded host work.
 */
#include <string.h>

#include <duo/err.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define RXQ 0
#define TXQ 1

static struct vm *cons_up(struct tdrv *t)
{
	struct vm *vm = fake_vm(16, 1);
	if (!vm || virtio_console_attach(vm)) {
		fake_vm_free(vm);
		return NULL;
	}
	tdrv_init(t, vm->virtio[0], ~0ULL, 8);
	return vm;
}

static void put_out(struct tdrv *t, const char *s, u32 len)
{
	gpa_t b = tdrv_alloc(t, len);
	memcpy(tdrv_ptr(t, b), s, len);
	tdrv_desc(t, TXQ, 0, b, len, 0, 0);
	tdrv_submit(t, TXQ, 0);
	tdrv_notify(t, TXQ);
}

TEST(virtio_console_output)
{
	struct tdrv t;
	struct vm *vm = cons_up(&t);
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	put_out(&t, "hello hvc0\n", 11);
	CHECK_EQ(strcmp(fake.console, "hello hvc0\n"), 0);
	/* Two segments in one chain print in order. */
	gpa_t a = tdrv_alloc(&t, 3), b = tdrv_alloc(&t, 3);
	memcpy(tdrv_ptr(&t, a), "abc", 3);
	memcpy(tdrv_ptr(&t, b), "def", 3);
	struct tdrv_buf bufs[2] = { { a, 3, false }, { b, 3, false } };
	tdrv_submit(&t, TXQ, tdrv_chain(&t, TXQ, 2, bufs, 2));
	tdrv_notify(&t, TXQ);
	CHECK_EQ(strcmp(fake.console, "hello hvc0\nabcdef"), 0);
	CHECK_EQ(tdrv_used_idx(&t, TXQ), 2);
	tdrv_vm_free(vm);
}

TEST(virtio_console_input)
{
	struct tdrv t;
	struct vm *vm = cons_up(&t);
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(virtio_console_input(vm, (const u8 *)"x", 1), 0); /* no buffers yet */
	gpa_t b0 = tdrv_alloc(&t, 4), b1 = tdrv_alloc(&t, 4);
	tdrv_desc(&t, RXQ, 0, b0, 4, VIRTQ_DESC_F_WRITE, 0);
	tdrv_desc(&t, RXQ, 1, b1, 4, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, RXQ, 0);
	tdrv_submit(&t, RXQ, 1);
	tdrv_notify(&t, RXQ);
	CHECK_EQ(virtio_console_input(vm, (const u8 *)"ls -l\n", 6), 6);
	u32 id, len;
	CHECK_EQ(tdrv_used(&t, RXQ, &id, &len), 1);
	CHECK_EQ(len, 4);
	CHECK_EQ(memcmp(tdrv_ptr(&t, b0), "ls -", 4), 0);
	CHECK_EQ(tdrv_used(&t, RXQ, &id, &len), 1);
	CHECK_EQ(len, 2);
	CHECK_EQ(memcmp(tdrv_ptr(&t, b1), "l\n", 2), 0);
	CHECK(tdrv_irq(&t));
	CHECK_EQ(virtio_console_input(vm, (const u8 *)"more", 4), 0); /* ring used up */
	tdrv_vm_free(vm);
	struct vm *none = fake_vm(16, 1);
	CHECK(none);
	if (none) {
		CHECK_EQ(virtio_console_input(none, (const u8 *)"x", 1), 0);
		fake_vm_free(none);
	}
}

/* HOSTILE 12: endless output: per-chain bound, drops counted, nothing allocated. */
TEST(virtio_console_hostile_endless_output)
{
	struct tdrv t;
	struct vm *vm = cons_up(&t);
	CHECK(vm);
	if (!vm)
		return;
	gpa_t big = tdrv_alloc(&t, 4 << 20);
	memset(tdrv_ptr(&t, big), 'A', 4 << 20);
	int allocs = fake.allocs;
	tdrv_desc(&t, TXQ, 0, big, 4 << 20, 0, 0);
	for (int i = 0; i < 100; i++) {
		tdrv_submit(&t, TXQ, 0);
		tdrv_notify(&t, TXQ);
	}
	CHECK_EQ(tdrv_used_idx(&t, TXQ), 100);
	CHECK(fake.console_len <= 100 * 4096);
	CHECK_EQ(virtio_console_dropped(t.dev), 100ULL * ((4 << 20) - 4096));
	CHECK_EQ(fake.allocs, allocs);
	/* A writable buffer in the output queue is a protocol error. */
	tdrv_desc(&t, TXQ, 0, big, 16, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, TXQ, 0);
	tdrv_notify(&t, TXQ);
	CHECK(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	tdrv_vm_free(vm);
}

TEST(virtio_rng_fills_and_bounds)
{
	struct vm *vm = fake_vm(16, 1);
	struct tdrv t;
	CHECK(vm);
	if (!vm)
		return;
	CHECK_EQ(virtio_rng_attach(vm), 0);
	tdrv_init(&t, vm->virtio[0], ~0ULL, 8);
	CHECK_EQ(tdrv_rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	gpa_t b = tdrv_alloc(&t, 64 << 10);
	tdrv_desc(&t, 0, 0, b, 64 << 10, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0);
	u32 id, len;
	CHECK_EQ(tdrv_used(&t, 0, &id, &len), 1);
	CHECK_EQ(len, 4096); /* bounded per request */
	u8 *p = tdrv_ptr(&t, b);
	CHECK_EQ(p[0], 11);
	CHECK_EQ(p[300], (u8)(44 * 37 + 11)); /* second host_entropy chunk restarts */
	CHECK_EQ(p[4096], 0);		      /* untouched past the bound */
	/* Readable buffers are a protocol error. */
	tdrv_desc(&t, 0, 0, b, 16, 0, 0);
	tdrv_submit(&t, 0, 0);
	tdrv_notify(&t, 0);
	CHECK(tdrv_rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	tdrv_vm_free(vm);
}
