/*
 * virtio_rng.c - the virtio entropy device (virtio 1.2 section 5.4) on the core's
 * virtio-mmio transport: Linux's virtio-rng driver (/dev/hwrng) reads from it.
 *
 * One request queue of device-writable buffers; each is filled from the backend's
 * host_entropy() (type 2: getrandom(2); type 1: see docs/virtio.md). The host work per
 * buffer is bounded: at most RNG_MAX_PER_REQ bytes are filled and the used length says
 * how many, which the spec allows (the driver asks again). Readable buffers in a request
 * are a protocol error.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#define RNG_MAX_PER_REQ 4096u
#define RNG_CHUNK 256u

struct vrng {
	u64 bytes;    /* handed to the guest so far */
	u64 failures; /* host_entropy errors */
};

static void rng_request(struct virtio_dev *d, struct vrng *s, const struct virtq_chain *c)
{
	u8 buf[RNG_CHUNK];
	u64 want = DUO_MIN(c->in_len, (u64)RNG_MAX_PER_REQ), done = 0;
	if (c->out_len) {
		virtio_dev_error(d, "entropy request %u has device-readable buffers", c->head);
		return;
	}
	while (done < want) {
		size_t n = (size_t)DUO_MIN(want - done, (u64)sizeof(buf));
		if (host_entropy(buf, n)) {
			/* Give what we have; an empty answer makes the driver retry later. */
			if (!s->failures++)
				duo_log(d->vm, LOG_WARN, "virtio-rng: host entropy source failed");
			break;
		}
		virtq_chain_write(c, done, buf, n);
		done += n;
	}
	duo_memset(buf, 0, sizeof(buf)); /* no entropy left behind on the stack */
	s->bytes += done;
	virtq_push(d, 0, c->head, (u32)done);
	virtq_kick(d, 0);
}

static void rng_notify(struct virtio_dev *d, u32 q)
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
		rng_request(d, d->priv, &d->chain);
	}
	duo_unlock(&d->lock);
}

static void rng_destroy(struct virtio_dev *d)
{
	host_free(d->priv);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = 1,
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int virtio_rng_attach(struct vm *vm)
{
	struct vrng *s = host_zalloc(sizeof(*s));
	struct virtio_dev *d;
	if (!s)
		return DUO_ENOMEM;
	int r = virtio_dev_create(vm, &rng_ops, 0, 0, NULL, 0, s, &d);
	if (r)
		host_free(s);
	return r;
}
