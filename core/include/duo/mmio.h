/*
 * mmio.h - the guest-physical MMIO bus: devices register a window and get every access.
 *
 * Both backends call mmio_access() when a guest load/store hits no RAM. Accesses are
 * 1, 2, 4 or 8 bytes; the bus hands the device the offset inside its window and the
 * width and never splits an access. Each device serialises itself (its own duo_lock).
 */
#ifndef DUO_MMIO_H
#define DUO_MMIO_H

#include <duo/types.h>

struct mmio_dev;

struct mmio_ops {
	/*
	 * read/write - handle one access of `width` bytes at `off` (< the window size).
	 * Return 0, or a negative DUO_E* to have the access faulted in the guest. A device
	 * gives a defined answer (e.g. read 0, ignore write) to every offset and width it
	 * does not implement rather than faulting, unless the spec says otherwise.
	 */
	int (*read)(struct mmio_dev *dev, u64 off, unsigned width, u64 *val);
	int (*write)(struct mmio_dev *dev, u64 off, unsigned width, u64 val);
};

struct mmio_dev {
	const char *name;
	gpa_t base;
	u64 size;
	const struct mmio_ops *ops;
	void *opaque; /* the device model's state */
};

#define MMIO_MAX_DEVS 16

struct mmio_bus {
	struct mmio_dev *devs[MMIO_MAX_DEVS];
	unsigned ndevs;
};

/* mmio_register - add `dev` to the bus. DUO_EBUSY if it overlaps, DUO_ENOMEM if full. */
int mmio_register(struct mmio_bus *bus, struct mmio_dev *dev);

/* mmio_find - the device whose window holds [gpa, gpa+width), or NULL. */
struct mmio_dev *mmio_find(struct mmio_bus *bus, gpa_t gpa, unsigned width);

/*
 * mmio_access - perform one guest access. width must be 1/2/4/8 (else DUO_EINVAL).
 * An access that is unmapped or straddles a window edge returns DUO_EFAULT: the backend
 * injects an access fault. Reads zero-extend into *val; writes use the low bytes.
 */
int mmio_access(struct mmio_bus *bus, gpa_t gpa, unsigned width, bool write, u64 *val);

#endif
