/*
 * fuzz_virtio_mmio.c - libFuzzer target: MMIO dispatch of the virtio-mmio windows.
 *
 * Input: [n] then n records of 12 bytes - [slot][width][write][pad] [offset u16 + pad]
 * [value, 4 bytes repeated to 8] - applied to VM a's four virtio windows (offsets run a
 * little past the window so edges and the bus's straddle check are hit), then the rest of
 * the input is copied into guest RAM where a driver-by-fuzzer may have pointed its rings,
 * and every queue of every device is notified. Offsets, widths (1/2/4/8, aligned or not),
 * status sequences, queue set-up in any order: each must get a defined answer.
 */
#include <stddef.h>
#include <stdint.h>

#include <duo/lib.h>
#include <duo/virtio.h>

#include "fuzz_vm.h"

#define REC 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fz_setup();
	size_t n = data[0], off = 1;
	for (size_t i = 0; i < n && off + REC <= size; i++, off += REC) {
		const u8 *r = data + off;
		unsigned slot = r[0] % 4, width = 1u << (r[1] % 4);
		u64 o = duo_le16(r + 4) % (PLAT_VIRTIO_STRIDE + 16);
		u64 v = duo_le32(r + 8);
		v |= v << 32;
		fz_mmio(PLAT_VIRTIO_BASE + slot * PLAT_VIRTIO_STRIDE + o, width, r[2] & 1, v);
	}
	if (off < size)
		fz_copy(data + off, size - off);
	for (unsigned s = 0; s < 4; s++)
		for (u32 q = 0; q < 2; q++)
			fz_mmio(PLAT_VIRTIO_BASE + s * PLAT_VIRTIO_STRIDE +
					VIRTIO_MMIO_QUEUE_NOTIFY,
				4, true, q);
	fz_poke_b();
	return 0;
}
