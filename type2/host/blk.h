/*
 * blk.h - the hosted backend's disks: raw image files behind the core's virtio-blk
 * (type2/host/blk.c implements duo/host.h's host_blk_* with them).
 *
 * Order (see duo/virtio.h): t2_blk_open after vm_init and before
 * vm_attach_config_devices (virtio-blk asks host_blk_size when it attaches);
 * t2_blk_close after virtio_detach_all. type2/host/t2.h declares the same functions
 * weak so the glue links without this file.
 */
#ifndef DUO_TYPE2_BLK_H
#define DUO_TYPE2_BLK_H

#include <duo/types.h>

struct vm;

/*
 * t2_blk_open - open every vm->cfg.disks[i]: O_RDWR, or O_RDONLY for readonly ones, with
 * an advisory lock (exclusive for read-write, shared for read-only) so two VMs cannot
 * write one image. The size is fixed now: the image never grows. Returns 0, or a DUO_E*
 * after logging one line naming the disk (nothing stays open then).
 */
int t2_blk_open(struct vm *vm);

/* t2_blk_close - close vm's images (no flush: the guest flushes what it wants kept). */
void t2_blk_close(struct vm *vm);

#endif
