/*
 * virtio_blk.c - the virtio-blk device model (virtio 1.2 section 5.2) on the core's
 * virtio-mmio transport; the disk behind it is the backend's host_blk_* (type 2: a raw
 * image file, type 1: an image in RAM).
 *
 * One request queue. Requests: IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES; the rest
 * answer UNSUPP. The header and data are read as streams over the chain's readable and
 * writable bytes, so any layout works; the status is the last writable byte, and a chain
 * without one breaks the device (there is nowhere to put an answer).
 *
 * Bounds on host work (what the config space promises Linux, which stays inside them):
 * at most BLK_SEG_MAX segments of BLK_SIZE_MAX bytes, so a data transfer is at most
 * BLK_REQ_MAX (254 x 32 KiB, just under 8 MiB) or it fails with IOERR; discard and
 * write-zeroes take one range of at most BLK_DWZ_MAX_SECTORS (64 MiB). Every range is
 * checked against the capacity fixed at attach time, so the image never grows. A failed
 * flush poisons the device: every later flush fails too (never OK after a failed fsync).
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_DWZ_UNMAP 1

#define SECTOR 512ULL
#define BLK_HDR 16 /* le32 type, le32 reserved, le64 sector */
/* A chain is at most VIRTQ_MAX_SIZE descriptors (2.7.5.3.1): header + data + status. So
 * many segments let Linux send a 1 MiB O_DIRECT transfer of scattered 4 KiB pages as one
 * or two requests instead of three (126 segments did). */
#define BLK_SEG_MAX (VIRTQ_MAX_SIZE - 2)
#define BLK_SIZE_MAX (32u << 10)
#define BLK_REQ_MAX ((u64)BLK_SEG_MAX * BLK_SIZE_MAX)
#define BLK_DWZ_MAX_SECTORS ((64u << 20) / 512)
#define BLK_DISCARD_ALIGN 8 /* sectors: 4 KiB, the host file system's block */

struct vblk {
	u64 capacity; /* sectors */
	bool readonly;
	bool flush_failed; /* sticky for the device's life, across guest resets */
	char id[VIRTIO_BLK_ID_BYTES];
	struct host_iov iov[HOST_IOV_MAX]; /* stream_io's vector; under d->lock */
};
_Static_assert(VIRTQ_MAX_SIZE <= HOST_IOV_MAX, "a chain's segments must fit one vector");

/* The default for backends without vectored I/O (type 1, the unit tests' fake host): one
 * host_blk_read/host_blk_write per buffer. See duo/host.h. */
__attribute__((weak)) int host_blk_readv(struct vm *vm, unsigned disk, u64 off,
					 const struct host_iov *iov, unsigned n)
{
	for (unsigned i = 0; i < n; off += iov[i].len, i++) {
		int r = host_blk_read(vm, disk, off, iov[i].base, iov[i].len);
		if (r)
			return r;
	}
	return 0;
}

__attribute__((weak)) int host_blk_writev(struct vm *vm, unsigned disk, u64 off,
					  const struct host_iov *iov, unsigned n)
{
	for (unsigned i = 0; i < n; off += iov[i].len, i++) {
		int r = host_blk_write(vm, disk, off, iov[i].base, iov[i].len);
		if (r)
			return r;
	}
	return 0;
}

/*
 * stream_io - move len bytes between the disk at disk_off and the chain's readable
 * (to_disk) or writable stream starting at stream offset soff, straight from/to guest
 * RAM: the segments become one vector and the backend does one transfer (type 2: one
 * preadv/pwritev instead of a system call per 4 KiB page).
 */
static int stream_io(struct virtio_dev *d, const struct virtq_chain *c, bool to_disk, u64 soff,
		     u64 len, u64 disk_off)
{
	struct vblk *b = d->priv;
	unsigned n = 0;
	for (u32 i = 0; i < c->nseg && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write == to_disk)
			continue;
		if (soff >= s->len) {
			soff -= s->len;
			continue;
		}
		u64 k = DUO_MIN((u64)s->len - soff, len);
		/* n < nseg <= VIRTQ_MAX_SIZE == HOST_IOV_MAX */
		b->iov[n].base = s->p + soff;
		b->iov[n].len = (size_t)k;
		n++;
		len -= k;
		soff = 0;
	}
	if (len) /* the caller sized len from the chain, so this cannot happen */
		return DUO_EIO;
	if (!n)
		return 0;
	return to_disk ? host_blk_writev(d->vm, d->index, disk_off, b->iov, n)
		       : host_blk_readv(d->vm, d->index, disk_off, b->iov, n);
}

static bool range_ok(const struct vblk *b, u64 sector, u64 nsect)
{
	return sector <= b->capacity && nsect <= b->capacity - sector;
}

static u8 do_rw(struct virtio_dev *d, struct vblk *b, const struct virtq_chain *c, bool out,
		u64 sector, u32 *written)
{
	u64 len = out ? c->out_len - BLK_HDR : c->in_len - 1;
	if (len % SECTOR || len > BLK_REQ_MAX || !range_ok(b, sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (out && b->readonly)
		return VIRTIO_BLK_S_IOERR;
	int r = stream_io(d, c, out, out ? BLK_HDR : 0, len, sector * SECTOR);
	if (r) {
		if (r != DUO_EPERM)
			duo_log(d->vm, LOG_WARN,
				"virtio-blk disk %u: %s of %llu bytes at sector %llu failed: %s",
				d->index, out ? "write" : "read", (unsigned long long)len,
				(unsigned long long)sector, duo_strerror(r));
		return VIRTIO_BLK_S_IOERR;
	}
	if (!out)
		*written = (u32)len;
	return VIRTIO_BLK_S_OK;
}

static u8 do_flush(struct virtio_dev *d, struct vblk *b)
{
	if (b->flush_failed)
		return VIRTIO_BLK_S_IOERR;
	int r = host_blk_flush(d->vm, d->index);
	if (r) {
		b->flush_failed = true;
		duo_log(d->vm, LOG_ERR,
			"virtio-blk disk %u: flush failed (%s); every later flush fails", d->index,
			duo_strerror(r));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static u8 do_dwz(struct virtio_dev *d, struct vblk *b, const struct virtq_chain *c, bool zero)
{
	u8 seg[16];
	if (!virtio_has_feature(d, zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
		return VIRTIO_BLK_S_UNSUPP;
	/* max_discard_seg = max_write_zeroes_seg = 1: exactly one 16-byte range. */
	if (c->out_len != BLK_HDR + sizeof(seg) ||
	    virtq_chain_read(c, BLK_HDR, seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	u64 sector = duo_le64(seg);
	u32 nsect = duo_le32(seg + 8), flags = duo_le32(seg + 12);
	/* 5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP. */
	if ((flags & ~VIRTIO_BLK_DWZ_UNMAP) || (!zero && (flags & VIRTIO_BLK_DWZ_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nsect > BLK_DWZ_MAX_SECTORS || !range_ok(b, sector, nsect) || b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!nsect)
		return VIRTIO_BLK_S_OK;
	int r = host_blk_discard(d->vm, d->index, sector * SECTOR, nsect * SECTOR, zero);
	return r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* blk_request - answer one popped chain; pushes it (unless the device broke). */
static void blk_request(struct virtio_dev *d, const struct virtq_chain *c)
{
	struct vblk *b = d->priv;
	u8 hdr[BLK_HDR];
	u8 st;
	u32 written = 0;

	if (c->in_len == 0) {
		virtio_dev_error(d, "request %u has no writable status byte", c->head);
		return;
	}
	if (virtq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		st = VIRTIO_BLK_S_IOERR; /* header missing: answerable, not fatal */
		goto done;
	}
	u32 type = duo_le32(hdr);
	u64 sector = duo_le64(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = do_rw(d, b, c, type == VIRTIO_BLK_T_OUT, sector, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = do_flush(d, b);
		break;
	case VIRTIO_BLK_T_GET_ID:
		written =
			(u32)virtq_chain_write(c, 0, b->id, DUO_MIN(sizeof(b->id), c->in_len - 1));
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = do_dwz(d, b, c, type == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	if (st != VIRTIO_BLK_S_OK)
		written = 0;
	virtq_chain_write(c, c->in_len - 1, &st, 1);
	virtq_push(d, 0, c->head, written + 1);
	virtq_kick(d, 0);
}

static void blk_notify(struct virtio_dev *d, u32 q)
{
	duo_lock(&d->lock);
	for (;;) {
		int r = virtq_pop(d, 0, &d->chain);
		if (r < 0)
			break;
		if (r == 0) {
			if (virtq_idle(d, 0))
				break;
			continue;
		}
		blk_request(d, &d->chain);
	}
	duo_unlock(&d->lock);
}

static void blk_destroy(struct virtio_dev *d)
{
	host_free(d->priv);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.notify = blk_notify,
	.destroy = blk_destroy,
};

int virtio_blk_attach(struct vm *vm, unsigned disk)
{
	if (disk >= vm->cfg.ndisks || disk >= CFG_MAX_DISKS)
		return DUO_EINVAL;
	struct vblk *b = host_zalloc(sizeof(*b));
	if (!b)
		return DUO_ENOMEM;
	b->capacity = host_blk_size(vm, disk) / SECTOR;
	b->readonly = vm->cfg.disks[disk].readonly;
	/* Exactly 20 bytes, NUL-padded; not NUL-terminated when it fills them (5.2.6). */
	char id[VIRTIO_BLK_ID_BYTES + 1];
	duo_snprintf(id, sizeof(id), "duovisor-%s-%u", vm->cfg.name, disk);
	duo_memcpy(b->id, id, VIRTIO_BLK_ID_BYTES);

	u64 f = DUO_BIT(VIRTIO_BLK_F_SIZE_MAX) | DUO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		DUO_BIT(VIRTIO_BLK_F_BLK_SIZE) | DUO_BIT(VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		f |= DUO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= DUO_BIT(VIRTIO_BLK_F_DISCARD) | DUO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);

	u8 cfg[60] = { 0 }; /* struct virtio_blk_config up to write_zeroes_may_unmap */
	duo_put_le64(cfg + 0, b->capacity);
	duo_put_le32(cfg + 8, BLK_SIZE_MAX);
	duo_put_le32(cfg + 12, BLK_SEG_MAX);
	duo_put_le32(cfg + 20, (u32)SECTOR);	     /* blk_size */
	duo_put_le32(cfg + 36, BLK_DWZ_MAX_SECTORS); /* max_discard_sectors */
	duo_put_le32(cfg + 40, 1);		     /* max_discard_seg */
	duo_put_le32(cfg + 44, BLK_DISCARD_ALIGN);
	duo_put_le32(cfg + 48, BLK_DWZ_MAX_SECTORS); /* max_write_zeroes_sectors */
	duo_put_le32(cfg + 52, 1);		     /* max_write_zeroes_seg */
	cfg[56] = 1;				     /* write_zeroes_may_unmap */

	struct virtio_dev *d;
	int r = virtio_dev_create(vm, &blk_ops, disk, f, cfg, sizeof(cfg), b, &d);
	if (r) {
		host_free(b);
		return r;
	}
	if (b->capacity == 0)
		duo_log(vm, LOG_WARN, "virtio-blk disk %u (%s): empty (smaller than one sector)",
			disk, vm->cfg.disks[disk].path);
	return 0;
}
