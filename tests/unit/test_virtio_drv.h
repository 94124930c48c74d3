/*
 * test_virtio_drv.h - a tiny virtio-mmio *driver* for the unit tests: it pokes the
 * device only through mmio_access() and lays out split rings in the fake VM's RAM,
 * exactly as a guest would, so tests/unit/test_virtio_*.c can drive the core's devices
 * (and break the rules on purpose).
 */
#ifndef DUO_TEST_VIRTIO_DRV_H
#define DUO_TEST_VIRTIO_DRV_H

#include <duo/err.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "harness.h"

#define TDRV_RING_BASE (PLAT_RAM_BASE + 0x10000) /* queue q at + q * 0x4000 */
#define TDRV_HEAP_BASE (PLAT_RAM_BASE + 0x100000)

struct tdrv_queue {
	gpa_t desc, avail, used;
	u16 num;
	u16 avail_idx; /* next avail.idx the driver publishes */
	u16 used_seen; /* used entries consumed by the driver */
};

struct tdrv {
	struct vm *vm;
	struct virtio_dev *dev;
	gpa_t base;
	gpa_t heap; /* bump allocator in guest RAM */
	struct tdrv_queue q[VIRTIO_MAX_QUEUES];
};

/* Raw 32-bit register access through the bus; other widths via tdrv_access. */
u32 tdrv_rd(struct tdrv *t, u64 off);
void tdrv_wr(struct tdrv *t, u64 off, u32 val);
int tdrv_access(struct tdrv *t, u64 off, unsigned width, bool write, u64 *val);

/* tdrv_attach - bind t to dev (no register access). */
void tdrv_attach(struct tdrv *t, struct virtio_dev *dev);

/*
 * tdrv_init - reset, ACKNOWLEDGE|DRIVER, accept `want` & offered features, FEATURES_OK,
 * set up every queue with `num` entries, DRIVER_OK. Returns the final status register.
 */
u32 tdrv_init(struct tdrv *t, struct virtio_dev *dev, u64 want, u16 num);

/* tdrv_negotiate - the feature steps only; returns status after FEATURES_OK. */
u32 tdrv_negotiate(struct tdrv *t, u64 want);

/* tdrv_setup_queue - QueueSel/QueueNum/addresses/QueueReady for queue q. */
void tdrv_setup_queue(struct tdrv *t, u32 q, u16 num);

/* tdrv_alloc - `len` bytes (16-aligned) of zeroed guest RAM; returns its address. */
gpa_t tdrv_alloc(struct tdrv *t, u64 len);
void *tdrv_ptr(struct tdrv *t, gpa_t gpa);

/* tdrv_desc - write descriptor i of queue q (or of an indirect table at `table`). */
void tdrv_desc(struct tdrv *t, u32 q, u16 i, u64 addr, u32 len, u16 flags, u16 next);
void tdrv_desc_at(struct tdrv *t, gpa_t table, u16 i, u64 addr, u32 len, u16 flags, u16 next);

/* tdrv_submit - put head in the avail ring and publish avail.idx (no notify). */
void tdrv_submit(struct tdrv *t, u32 q, u16 head);
/* tdrv_set_avail_idx - publish an arbitrary avail.idx (hostile tests). */
void tdrv_set_avail_idx(struct tdrv *t, u32 q, u16 idx);
void tdrv_notify(struct tdrv *t, u32 q);

/* tdrv_kick - tdrv_submit then tdrv_notify: offer the chain at head and ring the bell. */
static inline void tdrv_kick(struct tdrv *t, u32 q, u16 head)
{
	tdrv_submit(t, q, head);
	tdrv_notify(t, q);
}

/* tdrv_used - take the next used element: 1 and id/len, or 0 if none. */
int tdrv_used(struct tdrv *t, u32 q, u32 *id, u32 *len);
u16 tdrv_used_idx(struct tdrv *t, u32 q);

/* Event-index fields: the driver's used_event, the device's avail_event. */
void tdrv_set_used_event(struct tdrv *t, u32 q, u16 v);
u16 tdrv_avail_event(struct tdrv *t, u32 q);
void tdrv_set_avail_flags(struct tdrv *t, u32 q, u16 flags);

/* tdrv_irq - the device's PLIC input line level. */
bool tdrv_irq(struct tdrv *t);

/*
 * tdrv_chain - build a chain from descriptor `first` on: n buffers given as (gpa, len,
 * writable) triples, linked with NEXT. Returns the head index (= first).
 */
struct tdrv_buf {
	gpa_t addr;
	u32 len;
	bool write;
};
u16 tdrv_chain(struct tdrv *t, u32 q, u16 first, const struct tdrv_buf *b, unsigned n);

/* Test-wide helpers: a VM with one disk of `bytes` (fake.disk[0]); a blk driven up. */
struct vm *tdrv_vm_with_disk(u64 bytes, bool readonly);
void tdrv_vm_free(struct vm *vm);

/*
 * tdrv_up - put a device of type `id` in slot 0 of vm (VIRTIO_ID_BLOCK on disk 0,
 * VIRTIO_ID_CONSOLE, VIRTIO_ID_RNG) and bring it up: tdrv_init(t, dev, want, num).
 * vm may be NULL (a failed fake_vm); on any failure vm is freed and NULL returned.
 */
static inline struct vm *tdrv_up(struct tdrv *t, struct vm *vm, u32 id, u64 want, u16 num)
{
	int err = DUO_EINVAL;
	if (vm && id == VIRTIO_ID_BLOCK)
		err = virtio_blk_attach(vm, 0);
	else if (vm && id == VIRTIO_ID_CONSOLE)
		err = virtio_console_attach(vm);
	else if (vm && id == VIRTIO_ID_RNG)
		err = virtio_rng_attach(vm);
	if (err) {
		tdrv_vm_free(vm);
		return NULL;
	}
	tdrv_init(t, vm->virtio[0], want, num);
	return vm;
}

/*
 * TDRV_UP - the first line of a test that drives a device: declares `struct tdrv t` and
 * `vm` = up, an expression that may use &t (a tdrv_up call, or a file's wrapper of one).
 * A NULL VM is a failed CHECK and the test returns (a failure, not a crash).
 */
#define TDRV_UP(t, vm, up)                                                          \
	struct tdrv t;                                                              \
	struct vm *vm = (up);                                                       \
	CHECK(vm != NULL);                                                          \
	if (!vm)                                                                    \
		return

#endif
