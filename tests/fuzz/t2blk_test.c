/*
 * t2blk_test.c - host-fault tests of type 2's disk backend (type2/host/blk.c), built as
 * build/tests/t2blk_tests by tests/fuzz/fuzz.mk (it lives here with the other tests of
 * the virtio area's host code; it is not a fuzzer).
 *
 * blk.c talks to the real file system through pwrite/pwritev/fdatasync/fallocate. This
 * program defines those itself, so the dynamic linker binds blk.c's calls to them: each
 * passes through to the kernel (syscall(2)) unless a test asked for a fault - ENOSPC or
 * EIO on write, short writes, EIO on fdatasync, EOPNOTSUPP from fallocate. That checks
 * HOSTILE.md 27-28 (disk full and EIO give DUO_EIO; never a successful flush after a
 * failed one) and that the image never grows. Ends with "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/host.h>
#include <duo/vm.h>

#include "../../type2/host/blk.h"

static struct {
	int pwrite_errno;  /* fail every pwrite with this */
	bool short_writes; /* write at most 100 bytes per call */
	int fsync_errno;   /* fail the next fdatasync with this */
	bool no_fallocate;
	int pwrite_calls, fsync_calls;
} inj;

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	inj.pwrite_calls++;
	if (inj.pwrite_errno) {
		errno = inj.pwrite_errno;
		return -1;
	}
	if (inj.short_writes && n > 100)
		n = 100;
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

/* pwritev: the same faults; a short write stops inside the first buffer when it can. */
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	inj.pwrite_calls++;
	if (inj.pwrite_errno) {
		errno = inj.pwrite_errno;
		return -1;
	}
	if (inj.short_writes && cnt > 0) {
		size_t n = iov[0].iov_len > 100 ? 100 : iov[0].iov_len;
		return syscall(SYS_pwrite64, fd, iov[0].iov_base, n, off);
	}
	return syscall(SYS_pwritev, fd, iov, cnt, (long)off, (long)((u64)off >> 32));
}

int fdatasync(int fd)
{
	inj.fsync_calls++;
	if (inj.fsync_errno) {
		errno = inj.fsync_errno;
		inj.fsync_errno = 0; /* like Linux: the error is reported once, then "clean" */
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (inj.no_fallocate) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

/* The few host.h functions blk.c's logging reaches. */
void host_log(struct vm *vm, int level, const char *msg)
{
	if (getenv("DUO_TEST_VERBOSE"))
		fprintf(stderr, "[log %d] %s\n", level, msg);
}

static int passed, failed, cur_failed;
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			printf("    %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c);                  \
			cur_failed = 1;                                                            \
		}                                                                                  \
	} while (0)

static char dir[] = "/tmp/t2blk-XXXXXX";

static void make_image(const char *name, size_t size, char *path)
{
	snprintf(path, CFG_PATH_MAX, "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void vm_with(struct vm *vm, const char *name, size_t size, bool ro)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg.ndisks = 1;
	make_image(name, size, vm->cfg.disks[0].path);
	vm->cfg.disks[0].readonly = ro;
}

static off_t file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : st.st_size;
}

static void t_roundtrip_and_bounds(void)
{
	struct vm vm;
	u8 w[4096], r[4096];
	vm_with(&vm, "a.img", 1 << 20, false);
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_size(&vm, 0) == 1 << 20);
	CHECK(host_blk_size(&vm, 1) == 0);
	for (int i = 0; i < 4096; i++)
		w[i] = (u8)(i * 13);
	CHECK(host_blk_write(&vm, 0, 8192, w, sizeof(w)) == 0);
	CHECK(host_blk_read(&vm, 0, 8192, r, sizeof(r)) == 0);
	CHECK(memcmp(w, r, sizeof(w)) == 0);
	/* Never past the end, never growing. */
	CHECK(host_blk_write(&vm, 0, (1 << 20) - 100, w, 200) == DUO_EIO);
	CHECK(host_blk_write(&vm, 0, ~0ULL - 10, w, 200) == DUO_EIO);
	CHECK(host_blk_discard(&vm, 0, 1 << 20, 4096, true) == DUO_EIO);
	CHECK(host_blk_read(&vm, 0, 1 << 20, r, 1) == DUO_EIO);
	CHECK(file_size(vm.cfg.disks[0].path) == 1 << 20);
	/* Short writes are continued, not reported as done. */
	inj.short_writes = true;
	inj.pwrite_calls = 0;
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == 0);
	CHECK(inj.pwrite_calls >= 41);
	inj.short_writes = false;
	CHECK(host_blk_read(&vm, 0, 0, r, sizeof(r)) == 0);
	CHECK(memcmp(w, r, sizeof(w)) == 0);
	t2_blk_close(&vm);
	CHECK(host_blk_size(&vm, 0) == 0); /* gone after close */
}

/* host_blk_readv/writev: one request over scattered buffers, short writes continued
 * across buffer boundaries, faults and bounds as for the single-buffer calls. */
static void t_vectored(void)
{
	struct vm vm;
	static u8 w[3][4096], r[3][4096];
	struct host_iov wv[3], rv[3];
	for (int b = 0; b < 3; b++) {
		for (int i = 0; i < 4096; i++)
			w[b][i] = (u8)(i * 7 + b * 101);
		wv[b] = (struct host_iov){ w[b], b == 1 ? 1000 : 4096 };
		rv[b] = (struct host_iov){ r[b], wv[b].len };
	}
	vm_with(&vm, "v.img", 1 << 20, false);
	CHECK(t2_blk_open(&vm) == 0);
	inj.pwrite_calls = 0;
	CHECK(host_blk_writev(&vm, 0, 4096, wv, 3) == 0);
	CHECK(inj.pwrite_calls == 1); /* one system call for the whole request */
	memset(r, 0, sizeof(r));
	CHECK(host_blk_readv(&vm, 0, 4096, rv, 3) == 0);
	for (int b = 0; b < 3; b++)
		CHECK(memcmp(w[b], r[b], wv[b].len) == 0);
	/* Laid end to end: the second buffer's bytes follow the first's on the disk. */
	u8 one[1000];
	CHECK(host_blk_read(&vm, 0, 8192, one, sizeof(one)) == 0);
	CHECK(memcmp(one, w[1], sizeof(one)) == 0);
	/* Short writes go on from where they stopped, across buffers. */
	inj.short_writes = true;
	inj.pwrite_calls = 0;
	for (int b = 0; b < 3; b++)
		w[b][5] ^= 0xff;
	CHECK(host_blk_writev(&vm, 0, 4096, wv, 3) == 0);
	CHECK(inj.pwrite_calls >= 92);
	inj.short_writes = false;
	CHECK(host_blk_readv(&vm, 0, 4096, rv, 3) == 0);
	for (int b = 0; b < 3; b++)
		CHECK(memcmp(w[b], r[b], wv[b].len) == 0);
	/* Faults and bounds. */
	inj.pwrite_errno = ENOSPC;
	CHECK(host_blk_writev(&vm, 0, 0, wv, 3) == DUO_EIO);
	inj.pwrite_errno = 0;
	CHECK(host_blk_writev(&vm, 0, (1 << 20) - 8192, wv, 3) == DUO_EIO);
	CHECK(host_blk_readv(&vm, 0, (1 << 20) - 8192, rv, 3) == DUO_EIO);
	CHECK(host_blk_writev(&vm, 0, ~0ULL - 100, wv, 3) == DUO_EIO);
	CHECK(file_size(vm.cfg.disks[0].path) == 1 << 20);
	t2_blk_close(&vm);
	vm_with(&vm, "vr.img", 1 << 20, true);
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_writev(&vm, 0, 0, wv, 3) == DUO_EPERM);
	CHECK(host_blk_readv(&vm, 0, 0, rv, 3) == 0);
	t2_blk_close(&vm);
}

static void t_disk_full_and_eio(void)
{
	struct vm vm;
	u8 w[512] = { 1 };
	vm_with(&vm, "b.img", 1 << 20, false);
	CHECK(t2_blk_open(&vm) == 0);
	inj.pwrite_errno = ENOSPC;
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == DUO_EIO);
	inj.pwrite_errno = EIO;
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == DUO_EIO);
	inj.pwrite_errno = 0;
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == 0);
	t2_blk_close(&vm);
}

static void t_failed_fsync_poisons(void)
{
	struct vm vm;
	u8 w[512] = { 7 };
	vm_with(&vm, "c.img", 1 << 20, false);
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == 0);
	CHECK(host_blk_flush(&vm, 0) == 0);
	inj.fsync_errno = EIO;
	CHECK(host_blk_flush(&vm, 0) == DUO_EIO);
	/* The kernel would now say "clean"; we must not. */
	inj.fsync_calls = 0;
	CHECK(host_blk_flush(&vm, 0) == DUO_EIO);
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == 0);
	CHECK(host_blk_flush(&vm, 0) == DUO_EIO);
	CHECK(inj.fsync_calls == 0);
	t2_blk_close(&vm);
	/* A fresh open (a new VM run) starts clean. */
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_flush(&vm, 0) == 0);
	t2_blk_close(&vm);
}

static void t_readonly(void)
{
	struct vm vm;
	u8 w[512] = { 9 };
	vm_with(&vm, "d.img", 1 << 20, true);
	chmod(vm.cfg.disks[0].path, 0400);
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == DUO_EPERM);
	CHECK(host_blk_discard(&vm, 0, 0, 512, true) == DUO_EPERM);
	CHECK(host_blk_flush(&vm, 0) == 0);
	CHECK(host_blk_read(&vm, 0, 0, w, sizeof(w)) == 0);
	t2_blk_close(&vm);
}

static void t_discard_and_zeroes(void)
{
	struct vm vm;
	u8 w[8192], r[8192];
	memset(w, 0xab, sizeof(w));
	vm_with(&vm, "e.img", 1 << 20, false);
	CHECK(t2_blk_open(&vm) == 0);
	CHECK(host_blk_write(&vm, 0, 0, w, sizeof(w)) == 0);
	CHECK(host_blk_discard(&vm, 0, 512, 1024, true) == 0);
	CHECK(host_blk_read(&vm, 0, 0, r, sizeof(r)) == 0);
	CHECK(r[511] == 0xab && r[512] == 0 && r[1535] == 0 && r[1536] == 0xab);
	/* Without fallocate: write-zeroes writes zeros, discard is a successful no-op. */
	inj.no_fallocate = true;
	CHECK(host_blk_discard(&vm, 0, 4096, 2048, true) == 0);
	CHECK(host_blk_discard(&vm, 0, 0, 512, false) == 0);
	inj.no_fallocate = false;
	CHECK(host_blk_read(&vm, 0, 0, r, sizeof(r)) == 0);
	CHECK(r[4095] == 0xab && r[4096] == 0 && r[6143] == 0 && r[6144] == 0xab);
	CHECK(r[0] == 0xab);
	CHECK(host_blk_discard(&vm, 0, (1 << 20) - 4096, 4096, false) == 0);
	CHECK(file_size(vm.cfg.disks[0].path) == 1 << 20);
	t2_blk_close(&vm);
}

static void t_open_errors(void)
{
	struct vm a, b;
	vm_with(&a, "f.img", 4096, false);
	b = a;
	CHECK(t2_blk_open(&a) == 0);
	CHECK(t2_blk_open(&b) == DUO_EBUSY); /* one writer per image */
	t2_blk_close(&a);
	CHECK(t2_blk_open(&b) == 0);
	t2_blk_close(&b);
	snprintf(a.cfg.disks[0].path, CFG_PATH_MAX, "%s/missing.img", dir);
	CHECK(t2_blk_open(&a) == DUO_ENOENT);
	snprintf(a.cfg.disks[0].path, CFG_PATH_MAX, "%s", dir); /* a directory */
	a.cfg.disks[0].readonly = true;
	CHECK(t2_blk_open(&a) == DUO_EIO);
	CHECK(host_blk_size(&a, 0) == 0);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "t2blk_roundtrip_and_bounds", t_roundtrip_and_bounds },
		{ "t2blk_vectored", t_vectored },
		{ "t2blk_disk_full_and_eio", t_disk_full_and_eio },
		{ "t2blk_failed_fsync_poisons", t_failed_fsync_poisons },
		{ "t2blk_readonly", t_readonly },
		{ "t2blk_discard_and_zeroes", t_discard_and_zeroes },
		{ "t2blk_open_errors", t_open_errors },
	};
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		memset(&inj, 0, sizeof(inj));
		cur_failed = 0;
		tests[i].fn();
		printf("%s %s\n", cur_failed ? "FAIL" : "ok  ", tests[i].name);
		if (cur_failed)
			failed++;
		else
			passed++;
	}
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("(could not remove %s)\n", dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
