/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2), shared
 * by every device model in core/dev/virtio_*.c (see duo/virtio.h).
 *
 * It owns the register window: feature negotiation, device status and reset, queue
 * setup, QueueNotify, InterruptStatus/ACK and the config space at 0x100, and it drives
 * the device's PLIC line. Registers below 0x100 take only aligned 32-bit accesses (the
 * spec's rule for drivers); anything else reads 0 and is ignored on write. Queue
 * registers are frozen once the queue is ready or the driver set DRIVER_OK. A ring that
 * does not lie in guest RAM marks the device NEEDS_RESET when the queue is enabled.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/plic.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#define TRANSPORT_FEATURES                                                                         \
	(DUO_BIT(VIRTIO_F_VERSION_1) | DUO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |                      \
	 DUO_BIT(VIRTIO_F_RING_EVENT_IDX))

#define LOG_BUDGET 16 /* guest-caused warnings per device between resets */

/* guest_warn - a rate-limited log line for something odd but harmless the guest did. */
static void guest_warn(struct virtio_dev *d, const char *what, u64 off, u64 val)
{
	if (!d->log_budget)
		return;
	d->log_budget--;
	duo_log(d->vm, LOG_WARN, "virtio-%s@%u: %s (offset 0x%llx, value 0x%llx)%s", d->ops->name,
		d->slot, what, (unsigned long long)off, (unsigned long long)val,
		d->log_budget ? "" : "; further warnings suppressed");
}

static void update_irq(struct virtio_dev *d)
{
	bool level = d->isr != 0;
	if (level == d->irq_level)
		return;
	d->irq_level = level;
	plic_set_irq(d->vm->plic, d->irq, level);
}

void virtio_raise_irq(struct virtio_dev *d, u32 bits)
{
	d->isr |= bits;
	update_irq(d);
}

void virtio_dev_error(struct virtio_dev *d, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	if (d->broken)
		return;
	va_start(ap, fmt);
	duo_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	d->broken = true;
	d->errors++;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	duo_log(d->vm, LOG_WARN, "virtio-%s@%u: %s; device needs reset", d->ops->name, d->slot,
		why);
	/* The spec asks for a configuration change notification with NEEDS_RESET. */
	virtio_raise_irq(d, VIRTIO_INT_CONFIG);
}

bool virtio_dev_ready(struct virtio_dev *d, u32 q)
{
	return !d->broken && (d->status & VIRTIO_STATUS_DRIVER_OK) && q < d->ops->nqueues &&
	       d->vq[q].ready;
}

/* reset_locked - the device side of Status = 0 (virtio 1.2, 2.1.2 and 4.2.2.1). */
static void reset_locked(struct virtio_dev *d)
{
	d->driver_features = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->status = 0;
	d->broken = false;
	d->log_budget = LOG_BUDGET;
	duo_memset(d->vq, 0, sizeof(d->vq));
	d->isr = 0;
	update_irq(d);
	if (d->ops->reset)
		d->ops->reset(d);
}

/*
 * enable_queue - QueueReady = 1: check size and the three areas (alignment 16/2/4 and
 * inside guest RAM, virtio 1.2 2.7), then cache host pointers to them. Guest RAM never
 * moves, so the pointers stay good until the queue is reset.
 */
static void enable_queue(struct virtio_dev *d, struct virtq *q)
{
	bool event = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
	u64 n = q->num;
	if (!(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* The ring layout depends on EVENT_IDX, so features come first (3.1.1). */
		virtio_dev_error(d, "QueueReady before FEATURES_OK");
		return;
	}
	if (!n) {
		virtio_dev_error(d, "QueueReady with no valid QueueNum");
		return;
	}
	u64 dsz = 16 * n, asz = 4 + 2 * n + (event ? 2 : 0), usz = 4 + 8 * n + (event ? 2 : 0);
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3)) {
		virtio_dev_error(d, "misaligned ring (desc 0x%llx avail 0x%llx used 0x%llx)",
				 (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				 (unsigned long long)q->used_gpa);
		return;
	}
	q->desc = vm_gpa_ptr(d->vm, q->desc_gpa, dsz);
	q->avail = vm_gpa_ptr(d->vm, q->avail_gpa, asz);
	q->used = vm_gpa_ptr(d->vm, q->used_gpa, usz);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		virtio_dev_error(d, "ring outside guest RAM (desc 0x%llx avail 0x%llx used 0x%llx)",
				 (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				 (unsigned long long)q->used_gpa);
		return;
	}
	/* A fresh queue starts at index 0 on both sides (the driver zeroed its rings). */
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->ready = true;
}

/* write_status - the driver may only add bits; 0 resets. FEATURES_OK sticks only if the
 * accepted features are a subset of the offer and include VERSION_1 (modern only). */
static void write_status(struct virtio_dev *d, u32 val)
{
	if (val == 0) {
		reset_locked(d);
		return;
	}
	val &= 0xff & ~VIRTIO_STATUS_NEEDS_RESET;
	if ((d->status & ~VIRTIO_STATUS_NEEDS_RESET) & ~val)
		guest_warn(d, "driver cleared status bits (ignored)", VIRTIO_MMIO_STATUS, val);
	u32 add = val & ~d->status;
	if ((add & VIRTIO_STATUS_FEATURES_OK) && ((d->driver_features & ~d->host_features) ||
						  !virtio_has_feature(d, VIRTIO_F_VERSION_1))) {
		guest_warn(d, "features refused", VIRTIO_MMIO_DRIVER_FEATURES, d->driver_features);
		add &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !((d->status | add) & VIRTIO_STATUS_FEATURES_OK)) {
		guest_warn(d, "DRIVER_OK without FEATURES_OK (ignored)", VIRTIO_MMIO_STATUS, val);
		add &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	d->status |= add;
}

/* queue_writable - queue registers may change only before DRIVER_OK and while the queue
 * is not ready (virtio 1.2, 4.2.3.2). */
static struct virtq *queue_writable(struct virtio_dev *d, u64 off, u32 val)
{
	if (d->queue_sel >= d->ops->nqueues) {
		guest_warn(d, "queue register of a missing queue", off, val);
		return NULL;
	}
	struct virtq *q = &d->vq[d->queue_sel];
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) || q->ready) {
		guest_warn(d, "queue register written after setup (ignored)", off, val);
		return NULL;
	}
	return q;
}

static void set_lo(u64 *r, u32 v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_hi(u64 *r, u32 v)
{
	*r = (*r & 0xffffffffULL) | ((u64)v << 32);
}

/* reg_write - one 32-bit register write; returns the queue to notify, or -1. */
static int reg_write(struct virtio_dev *d, u64 off, u32 val)
{
	struct virtq *q;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_STATUS_FEATURES_OK) {
			guest_warn(d, "features written after FEATURES_OK (ignored)", off, val);
		} else if (d->drv_feat_sel == 0) {
			set_lo(&d->driver_features, val);
		} else if (d->drv_feat_sel == 1) {
			set_hi(&d->driver_features, val);
		} else if (val) {
			guest_warn(d, "unknown feature word", off, val);
		}
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = queue_writable(d, off, val);
		if (!q)
			break;
		if (val == 0 || val > VIRTQ_MAX_SIZE || (val & (val - 1)))
			guest_warn(d, "bad QueueNum (ignored)", off, val);
		else
			q->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (d->queue_sel >= d->ops->nqueues) {
			guest_warn(d, "QueueReady of a missing queue", off, val);
		} else if (val == 0) {
			/* Spec allows disabling; we drop the queue's state like a reset of it. */
			if (d->status & VIRTIO_STATUS_DRIVER_OK)
				guest_warn(d, "QueueReady=0 after DRIVER_OK (ignored)", off, val);
			else
				d->vq[d->queue_sel].ready = false;
		} else if ((q = queue_writable(d, off, val)) != NULL) {
			enable_queue(d, q);
		}
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Notification data (VIRTIO_F_NOTIFICATION_DATA) is not offered: val = queue. */
		if (val >= d->ops->nqueues) {
			guest_warn(d, "QueueNotify for a missing queue (ignored)", off, val);
			break;
		}
		return (int)val;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->isr &= ~val;
		update_irq(d);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(d, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: {
		q = queue_writable(d, off, val);
		if (!q)
			break;
		u64 *r = off < VIRTIO_MMIO_QUEUE_DRIVER_LOW   ? &q->desc_gpa
			 : off < VIRTIO_MMIO_QUEUE_DEVICE_LOW ? &q->avail_gpa
							      : &q->used_gpa;
		if (off & 4)
			set_hi(r, val);
		else
			set_lo(r, val);
		break;
	}
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no shared memory regions */
	default:
		guest_warn(d, "write to a read-only or unknown register", off, val);
		break;
	}
	return -1;
}

static u32 reg_read(struct virtio_dev *d, u64 off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->dev_feat_sel < 2 ? (u32)(d->host_features >> (32 * d->dev_feat_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return d->queue_sel < d->ops->nqueues ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return d->queue_sel < d->ops->nqueues && d->vq[d->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* "no such region" (virtio 1.2, 4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_gen;
	default:
		return 0; /* write-only and reserved registers */
	}
}

static int vmmio_read(struct mmio_dev *m, u64 off, unsigned width, u64 *val)
{
	struct virtio_dev *d = m->opaque;
	duo_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* Config space: any width; bytes past the device's config read as 0. */
		u64 v = 0;
		u64 c = off - VIRTIO_MMIO_CONFIG;
		for (unsigned i = 0; i < width; i++)
			if (c + i < d->config_len)
				v |= (u64)d->config[c + i] << (8 * i);
		*val = v;
	} else if (width == 4 && !(off & 3)) {
		*val = reg_read(d, off);
	} else {
		guest_warn(d, "register read not 32-bit aligned (reads 0)", off, width);
		*val = 0;
	}
	duo_unlock(&d->lock);
	return 0;
}

static int vmmio_write(struct mmio_dev *m, u64 off, unsigned width, u64 val)
{
	struct virtio_dev *d = m->opaque;
	int notify = -1;
	duo_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* No model offers a writable config field (WCE, EMERG_WRITE are not offered). */
		guest_warn(d, "config space write (ignored)", off, val);
	} else if (width == 4 && !(off & 3)) {
		notify = reg_write(d, off, (u32)val);
		if (notify >= 0 && !virtio_dev_ready(d, (u32)notify))
			notify = -1;
	} else {
		guest_warn(d, "register write not 32-bit aligned (ignored)", off, val);
	}
	duo_unlock(&d->lock);
	/* The model processes the queue on this vCPU, taking the lock itself. */
	if (notify >= 0 && d->ops->notify)
		d->ops->notify(d, (u32)notify);
	return 0;
}

static const struct mmio_ops vmmio_ops = {
	.read = vmmio_read,
	.write = vmmio_write,
};

static const char *const slot_names[PLAT_VIRTIO_SLOTS] = {
	"virtio0", "virtio1", "virtio2", "virtio3", "virtio4", "virtio5", "virtio6", "virtio7",
};

int virtio_dev_create(struct vm *vm, const struct virtio_dev_ops *ops, unsigned index, u64 features,
		      const void *config, u32 config_len, void *priv, struct virtio_dev **out)
{
	unsigned slot;
	if (!ops || ops->nqueues > VIRTIO_MAX_QUEUES || config_len > VIRTIO_CONFIG_MAX)
		return DUO_EINVAL;
	for (slot = 0; slot < PLAT_VIRTIO_SLOTS && vm->virtio[slot]; slot++)
		;
	if (slot == PLAT_VIRTIO_SLOTS) {
		duo_log(vm, LOG_ERR, "virtio-%s: all %d virtio slots are taken", ops->name,
			PLAT_VIRTIO_SLOTS);
		return DUO_ENOMEM;
	}
	struct virtio_dev *d = host_zalloc(sizeof(*d));
	if (!d)
		return DUO_ENOMEM;
	d->vm = vm;
	d->ops = ops;
	d->slot = slot;
	d->irq = PLAT_VIRTIO_IRQ0 + slot;
	d->index = index;
	d->priv = priv;
	d->host_features = features | TRANSPORT_FEATURES;
	d->log_budget = LOG_BUDGET;
	if (config_len)
		duo_memcpy(d->config, config, config_len);
	d->config_len = config_len;
	d->mmio.name = slot_names[slot];
	d->mmio.base = PLAT_VIRTIO_BASE + slot * PLAT_VIRTIO_STRIDE;
	d->mmio.size = PLAT_VIRTIO_STRIDE;
	d->mmio.ops = &vmmio_ops;
	d->mmio.opaque = d;
	int r = mmio_register(&vm->bus, &d->mmio);
	if (r) {
		host_free(d);
		return r;
	}
	vm->virtio[slot] = d;
	*out = d;
	return 0;
}

struct virtio_dev *virtio_find(struct vm *vm, u32 device_id, unsigned index)
{
	for (unsigned i = 0; i < PLAT_VIRTIO_SLOTS; i++) {
		struct virtio_dev *d = vm->virtio[i];
		if (d && d->ops->device_id == device_id && d->index == index)
			return d;
	}
	return NULL;
}

void virtio_reset_all(struct vm *vm)
{
	for (unsigned i = 0; i < PLAT_VIRTIO_SLOTS; i++) {
		struct virtio_dev *d = vm->virtio[i];
		if (!d)
			continue;
		duo_lock(&d->lock);
		reset_locked(d);
		duo_unlock(&d->lock);
	}
}

/* bus_remove - mmio.h has no unregister; the bus is a plain array we may edit. */
static void bus_remove(struct mmio_bus *bus, struct mmio_dev *m)
{
	for (unsigned i = 0; i < bus->ndevs; i++) {
		if (bus->devs[i] != m)
			continue;
		for (unsigned j = i + 1; j < bus->ndevs; j++)
			bus->devs[j - 1] = bus->devs[j];
		bus->devs[--bus->ndevs] = NULL;
		return;
	}
}

void virtio_detach_all(struct vm *vm)
{
	for (unsigned i = 0; i < PLAT_VIRTIO_SLOTS; i++) {
		struct virtio_dev *d = vm->virtio[i];
		if (!d)
			continue;
		bus_remove(&vm->bus, &d->mmio);
		vm->virtio[i] = NULL;
		if (d->irq_level)
			plic_set_irq(vm->plic, d->irq, false);
		if (d->ops->destroy)
			d->ops->destroy(d);
		host_free(d);
	}
}

int vm_attach_config_devices(struct vm *vm)
{
	int r = 0;
	for (unsigned i = 0; !r && i < vm->cfg.ndisks; i++)
		r = virtio_blk_attach(vm, i);
	for (unsigned i = 0; !r && i < vm->cfg.nnets; i++)
		r = virtio_net_attach(vm, i);
	if (!r)
		r = virtio_console_attach(vm);
	if (!r)
		r = virtio_rng_attach(vm);
	if (r) {
		duo_log(vm, LOG_ERR, "attaching virtio devices failed: %s", duo_strerror(r));
		virtio_detach_all(vm);
	}
	return r;
}
