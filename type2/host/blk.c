/*
 * blk.c - type 2's disks: duo/host.h's host_blk_* on raw image files (or block devices),
 * for the core's virtio-blk (core/dev/virtio_blk.c). See blk.h for the life cycle.
 *
 * A request's guest buffers go to the kernel as one preadv/pwritev (host_blk_readv and
 * host_blk_writev), not one system call per 4 KiB page.
 *
 * Durability rules (HOSTILE.md 27-29): a write is pwrite()n fully or reported as DUO_EIO
 * (ENOSPC, EIO, anything); a flush is fdatasync(), and once one has failed the disk is
 * poisoned: every later flush fails too, because the kernel may already have dropped
 * the dirty pages that did not reach the disk, and a later fsync would "succeed" without
 * them. Nothing ever writes past the size seen at open, so the image never grows.
 * Discard punches a hole, write-zeroes uses FALLOC_FL_ZERO_RANGE (falling back to a hole
 * and then to writing zeros), both with FALLOC_FL_KEEP_SIZE.
 *
 * Images are looked up by VM in a small static table: entries are filled before the
 * VM's vCPUs exist and cleared after they are gone, so the I/O path takes no lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/host.h>
#include <duo/log.h>
#include <duo/vm.h>

#include "blk.h"

#define MAX_DISK_VMS 64 /* more than CFG_MAX_VMS: reboots re-open in place */
#define ZERO_CHUNK (64u << 10)

struct t2_disk {
	int fd;
	u64 size;
	bool readonly;
	volatile bool poisoned; /* a flush failed: no flush ever succeeds again */
};

struct disk_set {
	bool claimed;  /* under sets_mu: taken by an open in progress or done */
	struct vm *vm; /* published (release) once the images are open */
	unsigned n;
	struct t2_disk d[CFG_MAX_DISKS];
};

static struct disk_set sets[MAX_DISK_VMS];
static pthread_mutex_t sets_mu = PTHREAD_MUTEX_INITIALIZER;

static struct t2_disk *disk_of(struct vm *vm, unsigned i)
{
	for (unsigned s = 0; s < MAX_DISK_VMS; s++)
		if (__atomic_load_n(&sets[s].vm, __ATOMIC_ACQUIRE) == vm)
			return i < sets[s].n ? &sets[s].d[i] : NULL;
	return NULL;
}

static int open_one(struct vm *vm, unsigned i, struct t2_disk *d)
{
	const struct vm_disk_cfg *c = &vm->cfg.disks[i];
	struct stat st;
	d->readonly = c->readonly;
	d->fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;
		duo_log(vm, LOG_ERR, "disks[%u] %s: cannot open%s: %s", i, c->path,
			c->readonly ? "" : " read-write", strerror(e));
		return e == ENOENT ? DUO_ENOENT : (e == EACCES || e == EROFS) ? DUO_EPERM : DUO_EIO;
	}
	if (flock(d->fd, (c->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		duo_log(vm, LOG_ERR, "disks[%u] %s: in use by another VM or program (%s)", i,
			c->path, strerror(errno));
		goto busy;
	}
	if (fstat(d->fd, &st)) {
		duo_log(vm, LOG_ERR, "disks[%u] %s: %s", i, c->path, strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		d->size = (u64)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size)) {
			duo_log(vm, LOG_ERR, "disks[%u] %s: cannot get size: %s", i, c->path,
				strerror(errno));
			goto fail;
		}
	} else {
		duo_log(vm, LOG_ERR, "disks[%u] %s: not a regular file or block device", i,
			c->path);
		goto fail;
	}
	if (d->size % 512)
		duo_log(vm, LOG_WARN,
			"disks[%u] %s: size %llu is not a multiple of 512; the tail "
			"is not visible to the guest",
			i, c->path, (unsigned long long)d->size);
	return 0;
busy:
	close(d->fd);
	d->fd = -1;
	return DUO_EBUSY;
fail:
	close(d->fd);
	d->fd = -1;
	return DUO_EIO;
}

int t2_blk_open(struct vm *vm)
{
	struct disk_set *set = NULL;
	int r = 0;
	unsigned i;

	if (!vm->cfg.ndisks)
		return 0;
	pthread_mutex_lock(&sets_mu);
	for (unsigned s = 0; s < MAX_DISK_VMS && !set; s++)
		if (!sets[s].claimed)
			set = &sets[s];
	if (set)
		set->claimed = true;
	pthread_mutex_unlock(&sets_mu);
	if (!set) {
		duo_log(vm, LOG_ERR, "disks: too many VMs with disks");
		return DUO_ENOMEM;
	}
	for (i = 0; i < vm->cfg.ndisks && i < CFG_MAX_DISKS; i++) {
		set->d[i].poisoned = false;
		r = open_one(vm, i, &set->d[i]);
		if (r)
			break;
	}
	if (r) {
		while (i--)
			close(set->d[i].fd);
		pthread_mutex_lock(&sets_mu);
		set->claimed = false;
		pthread_mutex_unlock(&sets_mu);
		return r;
	}
	set->n = i;
	__atomic_store_n(&set->vm, vm, __ATOMIC_RELEASE);
	return 0;
}

void t2_blk_close(struct vm *vm)
{
	for (unsigned s = 0; s < MAX_DISK_VMS; s++) {
		struct disk_set *set = &sets[s];
		if (__atomic_load_n(&set->vm, __ATOMIC_ACQUIRE) != vm)
			continue;
		__atomic_store_n(&set->vm, NULL, __ATOMIC_RELEASE);
		for (unsigned i = 0; i < set->n; i++)
			close(set->d[i].fd); /* also drops the flock */
		set->n = 0;
		pthread_mutex_lock(&sets_mu);
		set->claimed = false;
		pthread_mutex_unlock(&sets_mu);
	}
}

/* in_range - [off, off+len) inside the image (overflow-safe): never past the end. */
static bool in_range(const struct t2_disk *d, u64 off, u64 len)
{
	return off <= d->size && len <= d->size - off;
}

u64 host_blk_size(struct vm *vm, unsigned disk)
{
	struct t2_disk *d = disk_of(vm, disk);
	return d ? d->size : 0;
}

int host_blk_read(struct vm *vm, unsigned disk, u64 off, void *buf, size_t len)
{
	struct t2_disk *d = disk_of(vm, disk);
	u8 *p = buf;
	if (!d || !in_range(d, off, len))
		return DUO_EIO;
	while (len) {
		ssize_t n = pread(d->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* An error, or the file shrank under us: either way no data. */
			duo_log(vm, LOG_WARN, "disks[%u]: read at %llu: %s", disk,
				(unsigned long long)off,
				n ? strerror(errno) : "unexpected end of file");
			return DUO_EIO;
		}
		p += n;
		off += (u64)n;
		len -= (size_t)n;
	}
	return 0;
}

int host_blk_write(struct vm *vm, unsigned disk, u64 off, const void *buf, size_t len)
{
	struct t2_disk *d = disk_of(vm, disk);
	const u8 *p = buf;
	if (!d || !in_range(d, off, len))
		return DUO_EIO;
	if (d->readonly)
		return DUO_EPERM;
	while (len) {
		ssize_t n = pwrite(d->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* ENOSPC, EIO, EDQUOT...: the guest gets IOERR for this request. */
			duo_log(vm, LOG_WARN, "disks[%u]: write at %llu: %s", disk,
				(unsigned long long)off, n ? strerror(errno) : "wrote nothing");
			return DUO_EIO;
		}
		p += n; /* a short write: go on with the rest */
		off += (u64)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * rw_vec - one preadv/pwritev loop over a request's guest buffers: the whole request is
 * usually a single system call (the core's default would make one per 4 KiB page). Short
 * transfers go on from where they stopped; a read that meets the end of the file, or
 * any error, is DUO_EIO.
 */
static int rw_vec(struct vm *vm, unsigned disk, u64 off, const struct host_iov *hv, unsigned n,
		  bool wr)
{
	struct t2_disk *d = disk_of(vm, disk);
	struct iovec iov[HOST_IOV_MAX];
	u64 total = 0;
	if (!d || n > HOST_IOV_MAX)
		return DUO_EIO;
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = hv[i].base;
		iov[i].iov_len = hv[i].len;
		total += hv[i].len;
	}
	if (!in_range(d, off, total))
		return DUO_EIO;
	if (wr && d->readonly)
		return DUO_EPERM;
	struct iovec *v = iov;
	while (total) {
		int cnt = (int)(n - (unsigned)(v - iov));
		ssize_t k =
			wr ? pwritev(d->fd, v, cnt, (off_t)off) : preadv(d->fd, v, cnt, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			duo_log(vm, LOG_WARN, "disks[%u]: %s at %llu: %s", disk,
				wr ? "write" : "read", (unsigned long long)off,
				k    ? strerror(errno)
				: wr ? "wrote nothing"
				     : "unexpected end of file");
			return DUO_EIO;
		}
		off += (u64)k;
		total -= (u64)k;
		while (k > 0 && (size_t)k >= v->iov_len) { /* skip the buffers done */
			k -= (ssize_t)v->iov_len;
			v++;
		}
		if (k) {
			v->iov_base = (u8 *)v->iov_base + k;
			v->iov_len -= (size_t)k;
		}
	}
	return 0;
}

int host_blk_readv(struct vm *vm, unsigned disk, u64 off, const struct host_iov *iov, unsigned n)
{
	return rw_vec(vm, disk, off, iov, n, false);
}

int host_blk_writev(struct vm *vm, unsigned disk, u64 off, const struct host_iov *iov, unsigned n)
{
	return rw_vec(vm, disk, off, iov, n, true);
}

int host_blk_flush(struct vm *vm, unsigned disk)
{
	struct t2_disk *d = disk_of(vm, disk);
	if (!d || d->poisoned)
		return DUO_EIO;
	if (d->readonly)
		return 0; /* nothing of ours can be dirty */
	int r;
	do
		r = fdatasync(d->fd);
	while (r && errno == EINTR);
	if (r) {
		d->poisoned = true;
		duo_log(vm, LOG_ERR,
			"disks[%u]: fdatasync failed: %s; the disk reports every later "
			"flush as failed",
			disk, strerror(errno));
		return DUO_EIO;
	}
	return 0;
}

static int write_zeros(struct t2_disk *d, u64 off, u64 len)
{
	static const u8 zeros[ZERO_CHUNK];
	while (len) {
		size_t n = (size_t)(len < ZERO_CHUNK ? len : ZERO_CHUNK);
		ssize_t w = pwrite(d->fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return DUO_EIO;
		off += (u64)w;
		len -= (u64)w;
	}
	return 0;
}

static bool unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOSYS || e == EINVAL || e == ENODEV;
}

int host_blk_discard(struct vm *vm, unsigned disk, u64 off, u64 len, bool zero)
{
	struct t2_disk *d = disk_of(vm, disk);
	if (!d || !in_range(d, off, len))
		return DUO_EIO;
	if (d->readonly)
		return DUO_EPERM;
	if (!len)
		return 0;
	int keep = FALLOC_FL_KEEP_SIZE; /* never grow the image */
	if (zero && !fallocate(d->fd, FALLOC_FL_ZERO_RANGE | keep, (off_t)off, (off_t)len))
		return 0;
	if (zero && !unsupported(errno))
		goto err;
	/* A punched hole reads back as zeros, so it serves both requests. */
	if (!fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | keep, (off_t)off, (off_t)len))
		return 0;
	if (!unsupported(errno))
		goto err;
	/* Discard is only a hint; write-zeroes must really zero. */
	return zero ? write_zeros(d, off, len) : 0;
err:
	duo_log(vm, LOG_WARN, "disks[%u]: %s at %llu+%llu: %s", disk,
		zero ? "write-zeroes" : "discard", (unsigned long long)off, (unsigned long long)len,
		strerror(errno));
	return DUO_EIO;
}
