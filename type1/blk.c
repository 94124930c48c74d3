/*
 * blk.c - host_blk_* for type 1: a VM's disks are files packed into the blob by
 * `duovisor pack`, served from RAM. Writes to a writable disk change that RAM copy, so
 * they survive a guest reboot or `restart` but not the machine's power-off (nothing on
 * the board is persistent; docs/type1.md). A flush therefore has nothing to wait for.
 * The core has already checked every offset and length against host_blk_size().
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/vm.h>

#include "hv.h"
#include "pack_format.h"

static u8 *disk(struct vm *vm, unsigned d, u64 off, u64 len)
{
	struct t1_vm *tvm = t1_vm_of(vm);
	if (d >= CFG_MAX_DISKS || d >= vm->cfg.ndisks)
		return NULL;
	const struct pack_file *f = &tvm->pk->disks[d];
	if (off > f->size || len > f->size - off)
		return NULL;
	return (u8 *)tvm->blob + f->off + off;
}

u64 host_blk_size(struct vm *vm, unsigned d)
{
	if (d >= CFG_MAX_DISKS || d >= vm->cfg.ndisks)
		return 0;
	return t1_vm_of(vm)->pk->disks[d].size;
}

int host_blk_read(struct vm *vm, unsigned d, u64 off, void *buf, size_t len)
{
	u8 *p = disk(vm, d, off, len);
	if (!p)
		return DUO_EIO;
	duo_memcpy(buf, p, len);
	return 0;
}

int host_blk_write(struct vm *vm, unsigned d, u64 off, const void *buf, size_t len)
{
	u8 *p = disk(vm, d, off, len);
	if (!p)
		return DUO_EIO;
	if (vm->cfg.disks[d].readonly)
		return DUO_EPERM;
	duo_memcpy(p, buf, len);
	return 0;
}

int host_blk_flush(struct vm *vm, unsigned d)
{
	return d < vm->cfg.ndisks ? 0 : DUO_EIO;
}

int host_blk_discard(struct vm *vm, unsigned d, u64 off, u64 len, bool zero)
{
	u8 *p = disk(vm, d, off, len);
	if (!p)
		return DUO_EIO;
	if (vm->cfg.disks[d].readonly)
		return DUO_EPERM;
	/* Discarded blocks read back as zeroes either way. */
	DUO_UNUSED(zero);
	duo_memset(p, 0, len);
	return 0;
}
