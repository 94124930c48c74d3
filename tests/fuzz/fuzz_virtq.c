/*
 * fuzz_virtq.c - libFuzzer target: split-virtqueue processing in every device model.
 *
 * Input: [slot][features][queue size selector: 1..16][flags] then bytes copied over VM a's rings
 * and buffers (descriptor tables, avail rings, indirect tables, requests). The chosen
 * device is brought up like a driver would, the fuzz bytes become the guest's view of its
 * queues, and every queue is notified twice (plus a received frame for net, input for
 * the console). flags: bit 0 rebases descriptor addresses into the fuzz area (so they
 * mostly hit RAM), bit 1 makes the host's block I/O fail, bit 2 clamps avail.idx to a
 * legal distance so chains get walked rather than rejected up front.
 * Any answer is fine; a crash, hang, sanitizer report or leak is a bug.
 */
#include <stddef.h>
#include <stdint.h>

#include <duo/err.h>
#include <duo/lib.h>
#include <duo/virtio.h>

#include "../unit/fake_host.h"
#include "fuzz_vm.h"

static void rebase(unsigned nq, unsigned num)
{
	for (unsigned q = 0; q < nq; q++) {
		u8 *t = vm_gpa_ptr(fz_a, FZ_RING_BASE + q * FZ_QSTRIDE, 16ULL * num);
		for (unsigned i = 0; i < num; i++)
			duo_put_le64(t + 16 * i, FZ_DATA_BASE + duo_le64(t + 16 * i) % FZ_DATA_MAX);
	}
}

static void clamp_avail(unsigned nq, unsigned num)
{
	for (unsigned q = 0; q < nq; q++) {
		u8 *a = vm_gpa_ptr(fz_a, FZ_RING_BASE + q * FZ_QSTRIDE + FZ_QSTRIDE / 4, 4);
		duo_put_le16(a + 2, (u16)(duo_le16(a + 2) % (num + 1)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u8 frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1 };
	if (size < 4)
		return 0;
	fz_setup();
	unsigned slot = data[0] % 4, feat = data[1], num = 1u << (data[2] % 5), flags = data[3];
	struct virtio_dev *d = fz_a->virtio[slot];
	fz_driver_up(slot, feat, num);
	fz_copy(data + 4, size - 4);
	if (flags & 1)
		rebase(d->ops->nqueues, num);
	if (flags & 4)
		clamp_avail(d->ops->nqueues, num);
	if (flags & 2)
		fake.blk_fail = DUO_EIO;
	for (int round = 0; round < 2; round++) {
		for (u32 q = 0; q < d->ops->nqueues; q++)
			fz_mmio(d->mmio.base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true, q);
		if (d->ops->device_id == VIRTIO_ID_NET)
			virtio_net_rx(d, frame, sizeof(frame));
		if (d->ops->device_id == VIRTIO_ID_CONSOLE)
			virtio_console_input(fz_a, (const u8 *)"fuzz", 4);
		fz_poke_b();
	}
	return 0;
}
