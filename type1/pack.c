/*
 * pack.c - finding the packed VM set at boot. `duovisor pack` appends the blob to the
 * hypervisor binary at PACK_BLOB_OFFSET(image size incl. bss) (tools/pack/pack_format.h),
 * so it sits in RAM just past our bss. It is verified in place (magic, sizes, bounds,
 * checksum, every VM's config) with the same code the packer uses, never trusted.
 */
#include <duo/lib.h>
#include <duo/log.h>

#include "hv.h"
#include "pack_check.h"
#include "pack_format.h"

extern char _start[], _end[];

const u8 *t1_pack_find(u64 *blob_end)
{
	char err[200];
	u64 image_size = (u64)(_end - _start);
	const u8 *blob = (const u8 *)_start + PACK_BLOB_OFFSET(image_size);
	u64 ram_end = t1.board.ram_base + t1.board.ram_size;

	if ((u64)blob >= ram_end) {
		t1_printf("[duovisor] error: no packed VM set after the image\n");
		return NULL;
	}
	if (pack_verify_blob(blob, ram_end - (u64)blob, err, sizeof(err))) {
		t1_printf("[duovisor] error: packed VM set: %s\n", err);
		return NULL;
	}
	const struct pack_header *h = (const struct pack_header *)blob;
	*blob_end = (u64)blob + h->total_size;
	return blob;
}
