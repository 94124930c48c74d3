/*
 * virtio_net.c - the virtio network device (virtio 1.2 section 5.1) on the core's
 * virtio-mmio transport. Its other end is either a port on a virtual switch
 * (core/net/switch.c, mode "switch", both backends) or the backend's host network
 * (modes "user" and "tap": host_net_tx out, virtio_net_rx in).
 *
 * Features: MAC and STATUS (link always up). No offloads and no mergeable buffers, so
 * every frame is at most NETSW_MAX_FRAME bytes behind the 12-byte virtio_net_hdr
 * (num_buffers = 1) and the guest computes its own checksums. Queue 0 receives, queue 1
 * transmits.
 *
 * Receive: a frame goes straight into the next receive buffer. When the guest has none
 * free for the moment (its driver has not refilled the ring yet), the frame is held in a
 * small per-card backlog (NET_BACKLOG frames, allocated at attach) instead of being
 * dropped, and the driver is asked (avail_event, or its unconditional notify without
 * EVENT_IDX) to notify the RX queue when it adds buffers; the backlog drains, in order,
 * on that notify and before any newer frame. Only a full backlog, a driver that is not
 * ready, or a buffer too small for the frame drop it (counted). Dropping TCP segments
 * because a guest's vCPU was descheduled for a few milliseconds made TCP between two VMs
 * back off hard.
 *
 * Locking: d->lock guards the rings and the backlog, as everywhere. Transmit copies each
 * frame out of the guest under d->lock, releases it, then sends, so a frame crossing the
 * switch to another VM never holds two device locks at once; n->tx_lock keeps the bounce
 * buffer, the bucket and the order of frames per device. Order: tx_lock, then switch
 * lock, then the destination's d->lock. Oversize, undersize and refused frames are
 * dropped and counted.
 *
 * Rate limit: what the guest transmits passes a token bucket of nets[].rate_mbit (n->tb,
 * any mode; default NETSW_DEFAULT_MBIT, none). It shapes rather than polices: a frame the
 * bucket cannot pay for yet stays in the guest's transmit ring (virtq_unpop), and the
 * backend calls virtio_net_tx_retry when enough tokens will have come in
 * (host_net_retry_at), like Firecracker's token buckets. The guest's queue then fills
 * and its qdisc holds packets back, so TCP slows to the rate instead of losing segments.
 * A backend without host_net_retry_at (type 1) drops what it cannot pay for (a policer).
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/netsw.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_RX 0
#define NET_TX 1
#define NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */

#define NET_BACKLOG VIRTIO_NET_BACKLOG

struct held_frame {
	u16 len;
	u8 data[NETSW_MAX_FRAME];
};

struct vnet {
	struct virtio_dev *dev;
	enum net_mode mode;
	struct netsw *sw; /* mode switch */
	struct netsw_port port;
	struct duo_lock tx_lock; /* frame[], tb and the tx counters */
	struct netsw_bucket tb;	 /* the transmit limit (the switch port's is off) */
	u8 frame[NETSW_MAX_FRAME];
	u64 tx_frames, tx_dropped; /* under tx_lock */
	u64 rx_frames, rx_dropped; /* under d->lock */
	struct held_frame *bl;	   /* NET_BACKLOG entries; under d->lock */
	u32 bl_head, bl_count;
};

/* The default for backends without user/tap networking (type 1); see duo/host.h. */
__attribute__((weak)) int host_net_tx(struct vm *vm, unsigned net, const void *frame, size_t len)
{
	return DUO_ENOTSUP;
}

/*
 * rx_one - copy a frame into the next receive buffer; d->lock held. Returns 1 when it
 * was delivered, 2 when the buffer was too small (returned empty, frame dropped and
 * counted), 0 when there is no buffer, DUO_EINVAL when the device broke.
 */
static int rx_one(struct virtio_dev *d, struct vnet *n, const void *frame, size_t len)
{
	struct virtq_chain *c = &d->chain;
	u8 hdr[NET_HDR_LEN] = { 0 };
	int r = virtq_pop(d, NET_RX, c);
	if (r <= 0)
		return r;
	if (c->out_len) {
		virtio_dev_error(d, "receive buffer %u is device-readable", c->head);
		return DUO_EINVAL;
	}
	if (c->in_len < NET_HDR_LEN + len) {
		/* Too small for this frame: hand it back empty, the driver counts an error. */
		virtq_push(d, NET_RX, c->head, 0);
		n->rx_dropped++;
		return 2;
	}
	duo_put_le16(hdr + 10, 1); /* num_buffers */
	virtq_chain_write(c, 0, hdr, sizeof(hdr));
	virtq_chain_write(c, NET_HDR_LEN, frame, len);
	virtq_push(d, NET_RX, c->head, (u32)(NET_HDR_LEN + len));
	n->rx_frames++;
	return 1;
}

/* rx_drain - move held frames into free receive buffers, oldest first; d->lock held. */
static void rx_drain(struct virtio_dev *d, struct vnet *n)
{
	while (n->bl_count) {
		struct held_frame *h = &n->bl[n->bl_head];
		if (rx_one(d, n, h->data, h->len) <= 0)
			return;
		n->bl_head = (n->bl_head + 1) % NET_BACKLOG;
		n->bl_count--;
	}
}

/* rx_settle - after draining: while frames are still held, ask the driver to notify the
 * RX queue when it adds a buffer (virtq_idle publishes avail_event), and drain again if
 * buffers came in meanwhile. d->lock held. */
static void rx_settle(struct virtio_dev *d, struct vnet *n)
{
	while (n->bl_count && !virtq_idle(d, NET_RX))
		rx_drain(d, n);
	virtq_kick(d, NET_RX);
}

int virtio_net_rx(struct virtio_dev *d, const void *frame, size_t len)
{
	struct vnet *n = d->priv;
	int r = DUO_EAGAIN;

	duo_lock(&d->lock);
	if (len < NETSW_ETH_HLEN || len > NETSW_MAX_FRAME) {
		r = DUO_EINVAL;
		goto drop;
	}
	if (!virtio_dev_ready(d, NET_RX))
		goto drop; /* not set up, reset or broken: nobody to hold it for */
	rx_drain(d, n);
	if (!n->bl_count) {
		int k = rx_one(d, n, frame, len);
		if (k != 0) {
			virtq_kick(d, NET_RX);
			duo_unlock(&d->lock);
			return k == 1 ? 0 : DUO_EAGAIN; /* too small / broken: already counted */
		}
	}
	if (n->bl_count == NET_BACKLOG)
		goto drop;
	struct held_frame *h = &n->bl[(n->bl_head + n->bl_count) % NET_BACKLOG];
	duo_memcpy(h->data, frame, len);
	h->len = (u16)len;
	n->bl_count++;
	rx_settle(d, n);
	duo_unlock(&d->lock);
	return 0;
drop:
	n->rx_dropped++;
	duo_unlock(&d->lock);
	return r;
}

static int port_deliver(struct netsw_port *p, const void *frame, size_t len)
{
	struct vnet *n = p->opaque;
	return virtio_net_rx(n->dev, frame, len);
}

/* The default for backends without deferred calls (type 1); see duo/host.h. */
__attribute__((weak)) int host_net_retry_at(struct vm *vm, unsigned net, u64 when)
{
	return DUO_ENOTSUP;
}

/* send - one frame out of n->frame; tx_lock held, no device lock. */
static void net_send(struct vnet *n, size_t len)
{
	int r;
	if (n->mode == NET_SWITCH)
		r = netsw_send(&n->port, n->frame, len);
	else
		r = host_net_tx(n->dev->vm, n->dev->index, n->frame, len);
	if (r)
		n->tx_dropped++;
	else
		n->tx_frames++;
}

/*
 * tx_pay - may a frame of len bytes go now? Takes its tokens if so. If not, asks the
 * backend for a retry when the bucket can pay and answers false with *hold set (leave
 * the frame in the ring), or, without that, false with *hold clear (drop it). tx_lock.
 */
static bool tx_pay(struct vnet *n, size_t len, bool *hold)
{
	struct vm *vm = n->dev->vm;
	*hold = false;
	if (netsw_bucket_take(&n->tb, len, host_time_now(vm)))
		return true;
	u64 when = netsw_bucket_ready_at(&n->tb, len);
	*hold = when != UINT64_MAX && !host_net_retry_at(vm, n->dev->index, when);
	return false;
}

/* tx_process - send what the guest queued, in order, until the ring is empty or the
 * bucket makes a frame wait. tx_lock held. */
static void tx_process(struct virtio_dev *d, struct vnet *n)
{
	struct virtq_chain *c = &d->chain;
	for (;;) {
		size_t len = 0;
		bool hold = false;
		duo_lock(&d->lock);
		int r = virtq_pop(d, NET_TX, c);
		if (r == 0 && !virtq_idle(d, NET_TX)) {
			duo_unlock(&d->lock);
			continue;
		}
		if (r <= 0) {
			virtq_kick(d, NET_TX);
			duo_unlock(&d->lock);
			return;
		}
		if (c->in_len) {
			virtio_dev_error(d, "transmit buffer %u is device-writable", c->head);
			duo_unlock(&d->lock);
			return;
		}
		if (c->out_len < NET_HDR_LEN + NETSW_ETH_HLEN ||
		    c->out_len > NET_HDR_LEN + NETSW_MAX_FRAME)
			n->tx_dropped++; /* no offloads: nothing legitimate is this size */
		else if (tx_pay(n, c->out_len - NET_HDR_LEN, &hold))
			len = virtq_chain_read(c, NET_HDR_LEN, n->frame, c->out_len - NET_HDR_LEN);
		else if (!hold)
			n->tx_dropped++;
		if (hold) {
			/* Not yet: it stays the driver's; virtio_net_tx_retry takes it again. */
			virtq_unpop(d, NET_TX);
			virtq_kick(d, NET_TX);
			duo_unlock(&d->lock);
			return;
		}
		virtq_push(d, NET_TX, c->head, 0);
		duo_unlock(&d->lock);
		if (len)
			net_send(n, len);
	}
}

void virtio_net_tx_retry(struct virtio_dev *d)
{
	struct vnet *n = d->priv;
	duo_lock(&n->tx_lock);
	tx_process(d, n);
	duo_unlock(&n->tx_lock);
}

static void net_notify(struct virtio_dev *d, u32 q)
{
	struct vnet *n = d->priv;
	if (q == NET_RX) {
		/* The driver added receive buffers while frames were held. */
		duo_lock(&d->lock);
		rx_drain(d, n);
		rx_settle(d, n);
		duo_unlock(&d->lock);
		return;
	}
	virtio_net_tx_retry(d);
}

static void net_reset(struct virtio_dev *d)
{
	struct vnet *n = d->priv;
	n->bl_head = n->bl_count = 0; /* held frames were for the old driver */
}

static void net_destroy(struct virtio_dev *d)
{
	struct vnet *n = d->priv;
	if (n->sw) {
		netsw_detach(&n->port);
		netsw_put(n->sw);
	}
	host_free(n->bl);
	host_free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.notify = net_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

/* default_mac - stable per (VM name, index): 52:54 (locally administered, unicast) and
 * 32 bits of FNV-1a over the name, the last byte mixed with the index. */
static void default_mac(const struct vm *vm, unsigned net, u8 mac[6])
{
	u32 h = 2166136261u;
	for (const char *s = vm->cfg.name; *s; s++)
		h = (h ^ (u8)*s) * 16777619u;
	h = (h ^ net) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = (u8)(h >> 24);
	mac[3] = (u8)(h >> 16);
	mac[4] = (u8)(h >> 8);
	mac[5] = (u8)h;
}

int virtio_net_attach(struct vm *vm, unsigned net)
{
	if (net >= vm->cfg.nnets || net >= CFG_MAX_NETS)
		return DUO_EINVAL;
	const struct vm_net_cfg *nc = &vm->cfg.nets[net];
	struct vnet *n = host_zalloc(sizeof(*n));
	struct virtio_dev *d;
	u8 cfg[12] = { 0 }; /* mac, status, max_virtqueue_pairs, mtu */
	u64 rate, burst;
	int r;

	if (!n)
		return DUO_ENOMEM;
	n->bl = host_zalloc(NET_BACKLOG * sizeof(*n->bl));
	if (!n->bl) {
		host_free(n);
		return DUO_ENOMEM;
	}
	n->mode = nc->mode;
	netsw_rate_of_mbit(nc->rate_set ? nc->rate_mbit : NETSW_DEFAULT_MBIT, &rate, &burst);
	netsw_bucket_set(&n->tb, rate, burst, host_time_now(vm));
	if (nc->mac_set)
		duo_memcpy(cfg, nc->mac, 6);
	else
		default_mac(vm, net, cfg);
	duo_put_le16(cfg + 6, VIRTIO_NET_S_LINK_UP);
	duo_put_le16(cfg + 8, 1);
	duo_put_le16(cfg + 10, 1500);

	if (n->mode == NET_SWITCH) {
		n->sw = netsw_get(nc->sw);
		if (!n->sw) {
			duo_log(vm, LOG_ERR, "nets[%u]: no room for switch \"%s\"", net, nc->sw);
			host_free(n->bl);
			host_free(n);
			return DUO_ENOMEM;
		}
	}
	r = virtio_dev_create(vm, &net_ops, net,
			      DUO_BIT(VIRTIO_NET_F_MAC) | DUO_BIT(VIRTIO_NET_F_STATUS), cfg,
			      sizeof(cfg), n, &d);
	if (r)
		goto fail;
	n->dev = d;
	if (n->sw) {
		n->port.vm = vm;
		n->port.deliver = port_deliver;
		n->port.opaque = n;
		r = netsw_attach(n->sw, &n->port);
		if (r) {
			/* The device is in a slot already; detach_all frees it (destroy puts sw).
			 */
			netsw_put(n->sw);
			n->sw = NULL;
			return r;
		}
		netsw_port_set_rate(&n->port, 0, 0); /* n->tb shapes; the switch need not police */
	}
	return 0;
fail:
	if (n->sw)
		netsw_put(n->sw);
	host_free(n->bl);
	host_free(n);
	return r;
}

struct virtio_dev *virtio_net_dev(struct vm *vm, unsigned net)
{
	return virtio_find(vm, VIRTIO_ID_NET, net);
}

void virtio_net_set_rate(struct virtio_dev *d, u64 bytes_per_s, u64 burst)
{
	struct vnet *n = d->priv;
	duo_lock(&n->tx_lock);
	netsw_bucket_set(&n->tb, bytes_per_s, burst, host_time_now(d->vm));
	duo_unlock(&n->tx_lock);
	/* Frames held for the old limit go by the new one (a pending retry finds none). */
	virtio_net_tx_retry(d);
}

void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *s)
{
	struct vnet *n = d->priv;
	duo_lock(&n->tx_lock);
	duo_lock(&d->lock);
	s->tx_frames = n->tx_frames;
	s->tx_dropped = n->tx_dropped;
	s->rx_frames = n->rx_frames;
	s->rx_dropped = n->rx_dropped;
	duo_unlock(&d->lock);
	duo_unlock(&n->tx_lock);
}
