/*
 * hostlib.c - the remaining pieces of duo/host.h for type 1 (time, relax, entropy, the
 * block devices behind virtio-blk), the SBI call into OpenSBI below us, and the four
 * libc functions the compiler may emit calls to on its own (struct copies, zeroing),
 * which wrap the core's duo_* versions.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/vm.h>

#include "hv.h"
#include "pack_format.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
	return duo_memcpy(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;
	if (d <= s || d >= s + n)
		return duo_memcpy(dst, src, n); /* duo_memcpy copies forwards */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	return duo_memset(dst, c, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	return duo_memcmp(a, b, n);
}

struct t1_sbiret t1_sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2)
{
	register u64 r_a0 __asm__("a0") = a0;
	register u64 r_a1 __asm__("a1") = a1;
	register u64 r_a2 __asm__("a2") = a2;
	register u64 r_a6 __asm__("a6") = fid;
	register u64 r_a7 __asm__("a7") = eid;
	__asm__ volatile("ecall"
			 : "+r"(r_a0), "+r"(r_a1)
			 : "r"(r_a2), "r"(r_a6), "r"(r_a7)
			 : "memory");
	struct t1_sbiret r = { (long)r_a0, (long)r_a1 };
	return r;
}

u64 host_time_now(struct vm *vm)
{
	DUO_UNUSED(vm);
	return t1_rdtime(); /* htimedelta is 0: the guest's time is ours */
}

void host_relax(void)
{
	__asm__ volatile("nop; nop; nop; nop" ::: "memory");
}

/*
 * host_entropy - QEMU's virt board has no entropy source S-mode can reach (no Zkr seed
 * CSR on this CPU model), so this is a xorshift generator stirred with the time and the
 * cycle counter on every call. Good enough to vary a guest's boot; not cryptographic,
 * which docs/type1.md says.
 */
int host_entropy(void *buf, size_t n)
{
	static struct duo_lock lock = DUO_LOCK_INIT;
	static u64 state = 0x9e3779b97f4a7c15ULL;
	u8 *p = buf;
	u64 cyc;
	__asm__ volatile("rdcycle %0" : "=r"(cyc));
	duo_lock(&lock);
	state ^= t1_rdtime() * 0xff51afd7ed558ccdULL ^ cyc;
	for (size_t i = 0; i < n; i++) {
		if (!(i & 7)) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
		}
		p[i] = (u8)(state >> (8 * (i & 7)));
	}
	duo_unlock(&lock);
	return 0;
}

/* ---- block devices --------------------------------------------------------------------
 * A VM's disks are files packed into the blob by `duovisor pack`, served from RAM. Writes
 * to a writable disk change that copy, so they survive a guest reboot or `restart` but
 * not the board's power-off (nothing on it is persistent; docs/type1.md), and a flush has
 * nothing to wait for. The core has checked offsets and lengths against host_blk_size().
 */
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
