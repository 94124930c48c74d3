/*
 * mmio.c - the guest-physical MMIO bus (see duo/mmio.h). A VM has at most a dozen
 * windows, so a linear scan beats anything cleverer; the device found handles its own
 * locking.
 */
#include <duo/err.h>
#include <duo/mmio.h>

int mmio_register(struct mmio_bus *bus, struct mmio_dev *dev)
{
	if (!dev->ops || !dev->size || dev->base + dev->size < dev->base)
		return DUO_EINVAL;
	for (unsigned i = 0; i < bus->ndevs; i++) {
		struct mmio_dev *d = bus->devs[i];
		if (dev->base < d->base + d->size && d->base < dev->base + dev->size)
			return DUO_EBUSY;
	}
	if (bus->ndevs >= MMIO_MAX_DEVS)
		return DUO_ENOMEM;
	bus->devs[bus->ndevs++] = dev;
	return 0;
}

struct mmio_dev *mmio_find(struct mmio_bus *bus, gpa_t gpa, unsigned width)
{
	for (unsigned i = 0; i < bus->ndevs; i++) {
		struct mmio_dev *d = bus->devs[i];
		if (gpa >= d->base && gpa - d->base < d->size) {
			/* The whole access must sit inside the window. */
			if (width > d->size - (gpa - d->base))
				return NULL;
			return d;
		}
	}
	return NULL;
}

int mmio_access(struct mmio_bus *bus, gpa_t gpa, unsigned width, bool write, u64 *val)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return DUO_EINVAL;
	struct mmio_dev *d = mmio_find(bus, gpa, width);
	if (!d)
		return DUO_EFAULT;
	u64 off = gpa - d->base;
	if (write) {
		u64 v = *val;
		if (width < 8)
			v &= (1ULL << (width * 8)) - 1;
		return d->ops->write(d, off, width, v);
	}
	u64 v = 0;
	int r = d->ops->read(d, off, width, &v);
	if (width < 8)
		v &= (1ULL << (width * 8)) - 1;
	*val = v;
	return r;
}
