/*
 * virtq.c - split virtqueues (virtio 1.2 section 2.7) as the device side sees them, for
 * every model in core/dev/virtio_*.c (see duo/virtio.h).
 *
 * The rings live in guest RAM and another vCPU may rewrite them at any moment, so every
 * descriptor is copied once into a local and only the copy is checked and used; every
 * buffer is range-checked with vm_gpa_ptr (no wrap, no MMIO, nothing past RAM); a chain
 * ends after at most QueueNum descriptors, so loops end; indirect tables are accepted
 * only when negotiated, never nested and never combined with NEXT. Ring indices are read
 * with acquire and published with release ordering, and EVENT_IDX decides which used
 * buffers earn an interrupt. Everything here runs with the device's lock held and
 * allocates nothing.
 */
#include <duo/err.h>
#include <duo/lib.h>
#include <duo/virtio.h>
#include <duo/vm.h>

/* The rings are little-endian; both builds (x86-64 host, riscv64) are too, which lets
 * the 16-bit indices be read and written as single atomic accesses. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtq.c assumes little endian");

static inline u16 ring_load(const u8 *p)
{
	return __atomic_load_n((const u16 *)p, __ATOMIC_RELAXED);
}

static inline void ring_store(u8 *p, u16 v)
{
	__atomic_store_n((u16 *)p, v, __ATOMIC_RELAXED);
}

/* Offsets inside the areas (2.7.6 and 2.7.8); n is the queue size. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING(i) (4 + 2 * (u64)(i))
#define USED_IDX 2
#define USED_RING(i) (4 + 8 * (u64)(i))

static int walk_chain(struct virtio_dev *d, struct virtq *q, u16 head, struct virtq_chain *c)
{
	const u8 *table = q->desc;
	u32 tsize = q->num, i = head, hops = 0;
	bool indirect = false, seen_write = false;

	c->head = head;
	c->nseg = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		u8 raw[16];
		/* Buffer descriptors per chain are bounded by the queue size (2.7.5.3.1). */
		if (hops++ >= q->num) {
			virtio_dev_error(d,
					 "descriptor chain from head %u longer than queue size %u",
					 head, q->num);
			return DUO_EINVAL;
		}
		duo_memcpy(raw, table + 16 * (u64)i, 16); /* the one read of this descriptor */
		u64 addr = duo_le64(raw);
		u32 len = duo_le32(raw + 8);
		u16 flags = duo_le16(raw + 12);
		u16 next = duo_le16(raw + 14);

		if (flags & VIRTQ_DESC_F_INDIRECT) {
			const u8 *t;
			if (!virtio_has_feature(d, VIRTIO_F_RING_INDIRECT_DESC)) {
				virtio_dev_error(d, "indirect descriptor without INDIRECT_DESC");
				return DUO_EINVAL;
			}
			if (indirect || (flags & VIRTQ_DESC_F_NEXT)) {
				virtio_dev_error(d, "indirect descriptor %s",
						 indirect ? "inside an indirect table"
							  : "with NEXT set");
				return DUO_EINVAL;
			}
			if (len == 0 || (len & 15) || !(t = vm_gpa_ptr(d->vm, addr, len))) {
				virtio_dev_error(d, "bad indirect table at 0x%llx, %u bytes",
						 (unsigned long long)addr, len);
				return DUO_EINVAL;
			}
			table = t;
			tsize = len / 16;
			i = 0;
			indirect = true;
			hops--; /* the pointer to the table is not a buffer */
			continue;
		}
		bool w = flags & VIRTQ_DESC_F_WRITE;
		if (!w && seen_write) {
			/* 2.7.4.2: device-readable buffers come before device-writable ones. */
			virtio_dev_error(d, "readable descriptor after a writable one");
			return DUO_EINVAL;
		}
		seen_write |= w;
		if (len) { /* a zero-length buffer carries nothing; skip it */
			u8 *p = vm_gpa_ptr(d->vm, addr, len);
			if (!p) {
				virtio_dev_error(d, "buffer 0x%llx+0x%x is not guest RAM",
						 (unsigned long long)addr, len);
				return DUO_EINVAL;
			}
			/* nseg < VIRTQ_MAX_SIZE: at most q->num buffer descriptors per chain. */
			c->seg[c->nseg].p = p;
			c->seg[c->nseg].len = len;
			c->seg[c->nseg].write = w;
			c->nseg++;
			if (w)
				c->in_len += len;
			else
				c->out_len += len;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (next >= tsize) {
			virtio_dev_error(d, "descriptor next %u out of range (table of %u)", next,
					 tsize);
			return DUO_EINVAL;
		}
		i = next;
	}
}

int virtq_pop(struct virtio_dev *d, u32 qi, struct virtq_chain *c)
{
	if (!virtio_dev_ready(d, qi))
		return 0;
	struct virtq *q = &d->vq[qi];
	u16 avail = __atomic_load_n((const u16 *)(q->avail + AVAIL_IDX), __ATOMIC_ACQUIRE);
	u16 pending = (u16)(avail - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->num) {
		/* 2.7.13.3: the driver cannot have more than QueueNum buffers available. */
		virtio_dev_error(d, "avail.idx jumped from %u to %u (queue %u, size %u)",
				 q->last_avail, avail, qi, q->num);
		return DUO_EINVAL;
	}
	u16 head = ring_load(q->avail + AVAIL_RING(q->last_avail & (q->num - 1)));
	if (head >= q->num) {
		virtio_dev_error(d, "avail ring head %u out of range (size %u)", head, q->num);
		return DUO_EINVAL;
	}
	int r = walk_chain(d, q, head, c);
	if (r)
		return r;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtio_dev *d, u32 qi)
{
	struct virtq *q = &d->vq[qi];
	/* The chain was never pushed, so it is still the driver's available entry: taking
	 * it again later re-reads and re-checks every descriptor. */
	if (q->ready)
		q->last_avail--;
}

void virtq_push(struct virtio_dev *d, u32 qi, u16 head, u32 len)
{
	struct virtq *q = &d->vq[qi];
	if (!q->ready)
		return; /* reset while the request ran: the ring is no longer ours */
	u8 *e = q->used + USED_RING(q->used_idx & (q->num - 1));
	duo_put_le32(e, head);
	duo_put_le32(e + 4, len);
	q->used_idx++;
	/* The element (and the data written into the buffers) before the index. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring_store(q->used + USED_IDX, q->used_idx);
}

void virtq_kick(struct virtio_dev *d, u32 qi)
{
	struct virtq *q = &d->vq[qi];
	if (!q->ready || q->used_idx == q->signalled_used)
		return;
	/* Our used.idx store must be visible before we read the driver's wishes (2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	u16 old = q->signalled_used, now = q->used_idx;
	bool need;
	q->signalled_used = now;
	if (virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX)) {
		/* Interrupt iff used_event lies in [old, now): 2.7.10.2's formula. */
		u16 ev = ring_load(q->avail + AVAIL_RING(q->num));
		need = (u16)(now - ev - 1) < (u16)(now - old);
	} else {
		need = !(ring_load(q->avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (need)
		virtio_raise_irq(d, VIRTIO_INT_USED);
}

bool virtq_idle(struct virtio_dev *d, u32 qi)
{
	if (!virtio_dev_ready(d, qi))
		return true;
	struct virtq *q = &d->vq[qi];
	if (virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX)) {
		/* avail_event: "notify me when you make entry last_avail available". */
		ring_store(q->used + USED_RING(q->num), q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return __atomic_load_n((const u16 *)(q->avail + AVAIL_IDX), __ATOMIC_ACQUIRE) ==
	       q->last_avail;
}

/* copy_stream - walk the readable (write=false) or writable segments as one stream. */
static size_t copy_stream(const struct virtq_chain *c, bool write, u64 off, u8 *mem, size_t len)
{
	size_t done = 0;
	for (u32 i = 0; i < c->nseg && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = DUO_MIN((u64)s->len - off, (u64)(len - done));
		if (write)
			duo_memcpy(s->p + off, mem + done, n);
		else
			duo_memcpy(mem + done, s->p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, size_t len)
{
	return copy_stream(c, false, off, dst, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, size_t len)
{
	return copy_stream(c, true, off, (u8 *)src, len);
}
