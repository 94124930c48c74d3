/*
 * host.h - the door between the core and a backend.
 *
 * These are the only functions the core calls that it does not define. Each backend
 * (type1/, type2/, and tests/unit's fake host) implements every one exactly once; they
 * are plain link-time functions. Unless said otherwise they may be called from any
 * vCPU's context (any host thread in type 2, any hart in type 1) and must not block
 * for long.
 */
#ifndef DUO_HOST_H
#define DUO_HOST_H

#include <duo/types.h>

struct vm;
struct vcpu;

/* ---- time ------------------------------------------------------------------------ */

/* host_time_now - the guest's `time` CSR value: PLAT_TIMEBASE_HZ ticks, monotonic. */
u64 host_time_now(struct vm *vm);

/* ---- vCPU control ------------------------------------------------------------------ */

/*
 * host_vcpu_set_timer - SBI set_timer for vCPU v: the S timer interrupt (IRQ_S_TIMER) is
 * pending exactly while time >= deadline. Clears a pending timer interrupt when deadline
 * is in the future; UINT64_MAX means never. At most one timer is armed per vCPU.
 */
void host_vcpu_set_timer(struct vcpu *v, u64 deadline);

/*
 * host_vcpu_set_irq - raise (level=true) or lower an S-level interrupt (IRQ_S_SOFT,
 * IRQ_S_EXT) on v and wake it if it waits for interrupts. IRQ_S_SOFT is cleared by the
 * guest itself through sip; IRQ_S_EXT follows the PLIC's output for v's context.
 */
void host_vcpu_set_irq(struct vcpu *v, unsigned irq, bool level);

enum host_fence {
	HOST_FENCE_I,	     /* remote fence.i */
	HOST_FENCE_VMA,	     /* sfence.vma over [start, start+size), all ASIDs */
	HOST_FENCE_VMA_ASID, /* sfence.vma over [start, start+size) for one ASID */
};
/*
 * host_vcpu_fence - make v perform the fence before it next runs guest code. size ==
 * UINT64_MAX (or start=0,size=0) means the whole address space. May be done lazily, but
 * must be complete before the SBI call that asked for it returns to its caller.
 */
void host_vcpu_fence(struct vcpu *v, enum host_fence kind, u64 start, u64 size, u64 asid);

/*
 * host_vcpu_start - HSM hart_start: v (already START_PENDING) begins running in S-mode at
 * pc with a0 = v->id, a1 = opaque, satp = 0, sstatus.SIE = 0; the backend sets the state
 * to STARTED when it does. Returns 0 or a DUO_E* (the core then reports SBI_ERR_FAILED).
 */
int host_vcpu_start(struct vcpu *v, u64 pc, u64 opaque);

/* ---- console ----------------------------------------------------------------------- */

/* host_console_write - bytes the guest printed (UART, SBI putchar, DBCN). Never blocks
 * on the guest's behalf for long: a backend drops and counts what it cannot buffer. */
void host_console_write(struct vm *vm, const char *buf, size_t n);

/* ---- logging, memory, misc ----------------------------------------------------------- */

enum { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* host_log - one line (no trailing newline) from the core about vm (NULL: the hypervisor). */
void host_log(struct vm *vm, int level, const char *msg);

/* host_zalloc/host_free - zeroed memory for VM setup; never used on hot paths. */
void *host_zalloc(size_t n);
void host_free(void *p);

/* host_relax - called while spinning on a contended duo_lock. */
void host_relax(void);

/* host_entropy - fill buf with random bytes from the best source the host has.
 * Returns 0 or DUO_EIO. */
int host_entropy(void *buf, size_t n);

/* ---- block devices (virtio-blk) --------------------------------------------------------
 * `disk` indexes vm->cfg.disks. Offsets and lengths are bytes; the core has already
 * checked them against host_blk_size(). Each returns 0 or DUO_EIO (DUO_EPERM for a
 * write to a read-only disk). */
u64 host_blk_size(struct vm *vm, unsigned disk);
int host_blk_read(struct vm *vm, unsigned disk, u64 off, void *buf, size_t len);
int host_blk_write(struct vm *vm, unsigned disk, u64 off, const void *buf, size_t len);
/*
 * host_blk_readv/host_blk_writev - one transfer of n buffers laid end to end on the disk
 * from off (n <= HOST_IOV_MAX, total length checked like the single-buffer calls). Same
 * answers as host_blk_read/host_blk_write. The core carries weak defaults that make one
 * host_blk_read/write per buffer, so a backend defines these only to do better (type 2:
 * one preadv/pwritev per request).
 */
#define HOST_IOV_MAX 256
struct host_iov {
	void *base;
	size_t len;
};
int host_blk_readv(struct vm *vm, unsigned disk, u64 off, const struct host_iov *iov, unsigned n);
int host_blk_writev(struct vm *vm, unsigned disk, u64 off, const struct host_iov *iov, unsigned n);
/* host_blk_flush - returns 0 only once every acknowledged write is durable. */
int host_blk_flush(struct vm *vm, unsigned disk);
/* host_blk_discard - drop (discard) or zero (write_zeroes) a range. */
int host_blk_discard(struct vm *vm, unsigned disk, u64 off, u64 len, bool zero);

/* ---- network (virtio-net modes "user" and "tap") ------------------------------------------
 * Added by the virtio area (issue 5). Frames from the host come back through
 * virtio_net_rx() in duo/virtio.h.
 *
 * host_net_tx - send one Ethernet frame (no virtio header, 14..NETSW_MAX_FRAME bytes) from
 * vm's cfg.nets[net] to the host network. Returns 0 or a DUO_E* (the core drops and counts
 * the frame). Called on the sending vCPU without any device lock held; may call
 * virtio_net_rx() itself. The core carries a weak default that returns DUO_ENOTSUP, so a
 * backend without user/tap networking (type 1) need not define it.
 */
int host_net_tx(struct vm *vm, unsigned net, const void *frame, size_t len);

/*
 * host_net_retry_at - virtio-net's transmit shaper (nets[].rate_mbit) ran out of tokens
 * and left frames in the guest's ring: call virtio_net_tx_retry(virtio_net_dev(vm, net))
 * once, from a host thread of the backend's choosing, at or soon after host_time_now(vm)
 * reaches `when`. A new request for the same card replaces a pending one. Never calls
 * back before returning (the caller holds the card's transmit lock). Returns 0, or a
 * DUO_E* when it cannot; then the core drops what it cannot pay for now, as a policer.
 * The core carries a weak default that returns DUO_ENOTSUP (type 1 has none). The
 * backend ends a VM's pending calls, waiting for one that runs, before it detaches the
 * VM's devices.
 */
int host_net_retry_at(struct vm *vm, unsigned net, u64 when);

#endif
