/*
 * test_mmio.c - unit tests for the MMIO bus (core/mmio.c): registration (overlaps,
 * malformed windows, a full bus), lookup at window edges, and what a guest access that
 * straddles or misses every window gets (DUO_EFAULT, device never called). HOSTILE 13.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/mmio.h>
#include <duo/plic.h>
#include <duo/uart.h>

#include "fake_host.h"
#include "harness.h"

/*
 * dev_vm - a VM for these tests. fake_vm() cannot be used as is: vm_config_defaults()
 * leaves `kernel` empty, which vm_config_check() rejects, so this sets one. Freed with
 * fake_vm_free().
 */
static struct vm *dev_vm(u32 mib, u32 nvcpus)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	snprintf(cfg.kernel, sizeof(cfg.kernel), "unit-test-kernel");
	cfg.memory_mib = mib;
	cfg.vcpus = nvcpus;
	struct vm *vm = calloc(1, sizeof(*vm));
	u8 *ram = calloc(1, (size_t)mib << 20);
	if (!vm || !ram || vm_init(vm, &cfg, 0, ram)) {
		free(vm);
		free(ram);
		return NULL;
	}
	return vm;
}

/* Every test starts with one of these: a NULL VM is a failure, not a crash. */
#define NEW_VM(vm, mib, n)                                                          \
	struct vm *vm = dev_vm(mib, n);                                             \
	CHECK(vm != NULL);                                                          \
	if (!vm)                                                                    \
		return

/* A recording device: remembers the last access, returns `ret` and `rval`. */
struct rec {
	int reads, writes;
	u64 off;
	unsigned width;
	u64 wval;
	u64 rval;
	int ret;
};

static int rec_read(struct mmio_dev *d, u64 off, unsigned width, u64 *val)
{
	struct rec *r = d->opaque;
	r->reads++;
	r->off = off;
	r->width = width;
	*val = r->rval;
	return r->ret;
}

static int rec_write(struct mmio_dev *d, u64 off, unsigned width, u64 val)
{
	struct rec *r = d->opaque;
	r->writes++;
	r->off = off;
	r->width = width;
	r->wval = val;
	return r->ret;
}

static const struct mmio_ops rec_ops = { rec_read, rec_write };

static void mkdev(struct mmio_dev *d, struct rec *r, gpa_t base, u64 size)
{
	memset(d, 0, sizeof(*d));
	d->name = "rec";
	d->base = base;
	d->size = size;
	d->ops = &rec_ops;
	d->opaque = r;
}

TEST(mmio_register_rejects_overlap)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev a, b, c, d, e, f;

	mkdev(&a, &r, 0x1000, 0x1000);
	mkdev(&b, &r, 0x1800, 0x1000); /* overlaps a's upper half */
	mkdev(&c, &r, 0x2000, 0x1000); /* adjacent above: fine */
	mkdev(&d, &r, 0x1400, 0x10); /* inside a */
	mkdev(&e, &r, 0x0, 0x10000); /* covers both */
	mkdev(&f, &r, 0x0, 0x1000); /* adjacent below: fine */
	CHECK_EQ(mmio_register(&bus, &a), 0);
	CHECK_EQ(mmio_register(&bus, &b), DUO_EBUSY);
	CHECK_EQ(mmio_register(&bus, &c), 0);
	CHECK_EQ(mmio_register(&bus, &d), DUO_EBUSY);
	CHECK_EQ(mmio_register(&bus, &e), DUO_EBUSY);
	CHECK_EQ(mmio_register(&bus, &f), 0);
	CHECK_EQ(bus.ndevs, 3);
	/* Registering the same window twice is an overlap too. */
	CHECK_EQ(mmio_register(&bus, &a), DUO_EBUSY);
}

TEST(mmio_register_rejects_bad_windows)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d;

	mkdev(&d, &r, 0x1000, 0);
	CHECK_EQ(mmio_register(&bus, &d), DUO_EINVAL);
	mkdev(&d, &r, 0x1000, 0x100);
	d.ops = NULL;
	CHECK_EQ(mmio_register(&bus, &d), DUO_EINVAL);
	mkdev(&d, &r, UINT64_MAX - 0xf, 0x100); /* base + size wraps */
	CHECK_EQ(mmio_register(&bus, &d), DUO_EINVAL);
	CHECK_EQ(bus.ndevs, 0);
}

TEST(mmio_register_full_bus)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d[MMIO_MAX_DEVS + 1];

	for (unsigned i = 0; i < MMIO_MAX_DEVS; i++) {
		mkdev(&d[i], &r, 0x10000 + 0x1000 * i, 0x1000);
		CHECK_EQ(mmio_register(&bus, &d[i]), 0);
	}
	mkdev(&d[MMIO_MAX_DEVS], &r, 0x900000, 0x1000);
	CHECK_EQ(mmio_register(&bus, &d[MMIO_MAX_DEVS]), DUO_ENOMEM);
	CHECK_EQ(bus.ndevs, MMIO_MAX_DEVS);
}

TEST(mmio_find_edges)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d;

	mkdev(&d, &r, 0x4000, 0x100);
	CHECK_EQ(mmio_register(&bus, &d), 0);
	CHECK(mmio_find(&bus, 0x4000, 8) == &d);
	CHECK(mmio_find(&bus, 0x40ff, 1) == &d);
	CHECK(mmio_find(&bus, 0x40f8, 8) == &d);
	CHECK(mmio_find(&bus, 0x40f9, 8) == NULL); /* runs past the end */
	CHECK(mmio_find(&bus, 0x4100, 1) == NULL);
	CHECK(mmio_find(&bus, 0x3fff, 1) == NULL);
	CHECK(mmio_find(&bus, 0x3fff, 4) == NULL); /* starts before the window */
	CHECK(mmio_find(&bus, UINT64_MAX, 8) == NULL);
}

TEST(mmio_access_straddle_and_unmapped_fault)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev a, b;
	u64 v = 0x1234;

	mkdev(&a, &r, 0x4000, 0x100);
	mkdev(&b, &r, 0x4100, 0x100); /* directly after a */
	CHECK_EQ(mmio_register(&bus, &a), 0);
	CHECK_EQ(mmio_register(&bus, &b), 0);
	/* Straddling two devices: never split, never half-done. */
	CHECK_EQ(mmio_access(&bus, 0x40ff, 2, false, &v), DUO_EFAULT);
	CHECK_EQ(mmio_access(&bus, 0x40fc, 8, true, &v), DUO_EFAULT);
	/* Straddling the end of the last window and an unmapped hole. */
	CHECK_EQ(mmio_access(&bus, 0x41fe, 4, false, &v), DUO_EFAULT);
	CHECK_EQ(mmio_access(&bus, 0x8000, 4, false, &v), DUO_EFAULT);
	CHECK_EQ(mmio_access(&bus, UINT64_MAX - 1, 8, true, &v), DUO_EFAULT);
	CHECK_EQ(r.reads + r.writes, 0);
}

TEST(mmio_access_bad_width)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d;
	u64 v = 0;

	mkdev(&d, &r, 0x4000, 0x100);
	CHECK_EQ(mmio_register(&bus, &d), 0);
	unsigned bad[] = { 0, 3, 5, 6, 7, 9, 16, 0xffffffffu };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(mmio_access(&bus, 0x4000, bad[i], false, &v), DUO_EINVAL);
		CHECK_EQ(mmio_access(&bus, 0x4000, bad[i], true, &v), DUO_EINVAL);
	}
	CHECK_EQ(r.reads + r.writes, 0);
}

TEST(mmio_access_masks_values_and_offsets)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d;
	u64 v;

	mkdev(&d, &r, 0x4000, 0x100);
	CHECK_EQ(mmio_register(&bus, &d), 0);
	unsigned widths[] = { 1, 2, 4, 8 };
	for (unsigned i = 0; i < 4; i++) {
		unsigned w = widths[i];
		u64 mask = w == 8 ? UINT64_MAX : (1ULL << (8 * w)) - 1;
		v = 0xaabbccdd11223344ULL;
		CHECK_EQ(mmio_access(&bus, 0x4010 + w, w, true, &v), 0);
		CHECK_EQ(r.off, 0x10 + w);
		CHECK_EQ(r.width, w);
		CHECK_EQ(r.wval, 0xaabbccdd11223344ULL & mask);
		/* A device that sets high garbage still gives the guest a zero-extended value. */
		r.rval = UINT64_MAX;
		v = 0;
		CHECK_EQ(mmio_access(&bus, 0x4020 + w, w, false, &v), 0);
		CHECK_EQ(v, mask);
		CHECK_EQ(r.off, 0x20 + w);
	}
	/* Misaligned accesses inside a window reach the device unchanged. */
	CHECK_EQ(mmio_access(&bus, 0x4003, 8, false, &v), 0);
	CHECK_EQ(r.off, 3);
}

TEST(mmio_access_device_error_propagates)
{
	struct mmio_bus bus = { 0 };
	struct rec r = { 0 };
	struct mmio_dev d;
	u64 v = 5;

	mkdev(&d, &r, 0x4000, 0x100);
	CHECK_EQ(mmio_register(&bus, &d), 0);
	r.ret = DUO_EIO;
	CHECK_EQ(mmio_access(&bus, 0x4000, 4, true, &v), DUO_EIO);
	CHECK_EQ(mmio_access(&bus, 0x4000, 4, false, &v), DUO_EIO);
	CHECK_EQ(r.reads, 1);
	CHECK_EQ(r.writes, 1);
}

TEST(mmio_vm_bus_has_uart_and_plic)
{
	NEW_VM(vm, 16, 1);
	CHECK(mmio_find(&vm->bus, PLAT_UART_BASE, 1) == &vm->uart->mmio);
	CHECK(mmio_find(&vm->bus, PLAT_PLIC_BASE + PLAT_PLIC_SIZE - 4, 4) == &vm->plic->mmio);
	CHECK(mmio_find(&vm->bus, PLAT_UART_BASE + PLAT_UART_SIZE, 1) == NULL);
	/* Guest RAM is not on the bus: the backend handles it before asking. */
	CHECK(mmio_find(&vm->bus, PLAT_RAM_BASE, 4) == NULL);
	fake_vm_free(vm);
}
