/*
 * virtio_console.c - the virtio console device (virtio 1.2 section 5.3), a single port
 * without MULTIPORT, on the core's virtio-mmio transport. Linux names it hvc0.
 *
 * Queue 0 (receiveq) takes host input through virtio_console_input(); queue 1
 * (transmitq) is guest output, handed to host_console_write() like the UART's. A guest
 * that prints without end gets bounded host work: at most CONSOLE_MAX_PER_CHAIN bytes
 * of each buffer chain are written, the rest is dropped and counted, and the backend's
 * host_console_write bounds its own buffers (host.h). Input is not routed here by the
 * core: backends that want hvc0 input call virtio_console_input (docs/virtio.md).
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#define CONSOLE_RX 0
#define CONSOLE_TX 1
#define CONSOLE_MAX_PER_CHAIN 4096u

struct vcons {
	u64 out_bytes; /* written to the host console */
	u64 dropped;   /* output bytes past the per-chain bound */
};

/* tx_chain - print one output chain, segment by segment, up to the bound. */
static void tx_chain(struct virtio_dev *d, struct vcons *s, const struct virtq_chain *c)
{
	u64 budget = CONSOLE_MAX_PER_CHAIN;
	if (c->in_len) {
		virtio_dev_error(d, "console output %u has device-writable buffers", c->head);
		return;
	}
	for (u32 i = 0; i < c->nseg && budget; i++) {
		size_t n = (size_t)DUO_MIN((u64)c->seg[i].len, budget);
		host_console_write(d->vm, (const char *)c->seg[i].p, n);
		budget -= n;
	}
	u64 shown = CONSOLE_MAX_PER_CHAIN - budget;
	s->out_bytes += shown;
	s->dropped += c->out_len - shown;
	virtq_push(d, CONSOLE_TX, c->head, 0);
	virtq_kick(d, CONSOLE_TX);
}

static void cons_notify(struct virtio_dev *d, u32 q)
{
	if (q != CONSOLE_TX)
		return; /* new receive buffers: taken when input arrives */
	duo_lock(&d->lock);
	for (;;) {
		int r = virtq_pop(d, CONSOLE_TX, &d->chain);
		if (r < 0)
			break;
		if (r == 0) {
			if (virtq_idle(d, CONSOLE_TX))
				break;
			continue;
		}
		tx_chain(d, d->priv, &d->chain);
	}
	duo_unlock(&d->lock);
}

size_t virtio_console_input(struct vm *vm, const u8 *buf, size_t n)
{
	struct virtio_dev *d = virtio_find(vm, VIRTIO_ID_CONSOLE, 0);
	size_t done = 0;
	if (!d)
		return 0;
	duo_lock(&d->lock);
	while (done < n) {
		int r = virtq_pop(d, CONSOLE_RX, &d->chain);
		if (r <= 0)
			break; /* no buffer (or broken): the rest is the caller's to keep */
		if (d->chain.out_len) {
			virtio_dev_error(d, "console input buffer %u is device-readable",
					 d->chain.head);
			break;
		}
		size_t k = virtq_chain_write(&d->chain, 0, buf + done, n - done);
		done += k;
		virtq_push(d, CONSOLE_RX, d->chain.head, (u32)k);
	}
	virtq_kick(d, CONSOLE_RX);
	/* Let the driver know where we stand so it notifies about refills. */
	virtq_idle(d, CONSOLE_RX);
	duo_unlock(&d->lock);
	return done;
}

u64 virtio_console_dropped(struct virtio_dev *d)
{
	duo_lock(&d->lock);
	u64 v = ((struct vcons *)d->priv)->dropped;
	duo_unlock(&d->lock);
	return v;
}

static void cons_destroy(struct virtio_dev *d)
{
	host_free(d->priv);
}

static const struct virtio_dev_ops cons_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nqueues = 2,
	.notify = cons_notify,
	.destroy = cons_destroy,
};

int virtio_console_attach(struct vm *vm)
{
	struct vcons *s = host_zalloc(sizeof(*s));
	struct virtio_dev *d;
	if (!s)
		return DUO_ENOMEM;
	/* No feature bits: no SIZE (cols/rows), no MULTIPORT, no EMERG_WRITE. The config
	 * is still 12 bytes of zeros so drivers reading it get defined values. */
	u8 cfg[12] = { 0 };
	int r = virtio_dev_create(vm, &cons_ops, 0, 0, cfg, sizeof(cfg), s, &d);
	if (r)
		host_free(s);
	return r;
}
