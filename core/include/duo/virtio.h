/*
 * virtio.h - virtio-mmio devices in the core: the transport, split virtqueues, and the
 * device models (blk, net, console, rng) that sit on them.
 *
 * The split follows kvmtool: core/dev/virtio_mmio.c is the transport (the register
 * window of virtio 1.2 section 4.2.2, version 2 only), core/dev/virtq.c walks split
 * virtqueues, and each device model lives in its own file and talks to the transport
 * through struct virtio_dev_ops. Slot n of vm->virtio[] sits at PLAT_VIRTIO_BASE +
 * n * PLAT_VIRTIO_STRIDE with PLIC source PLAT_VIRTIO_IRQ0 + n (core/dtb.c emits one
 * node per populated slot).
 *
 * Every guest-provided value is validated. A protocol violation (bad descriptor, ring
 * outside RAM, avail.idx jump, ...) marks the device broken: status gets
 * VIRTIO_STATUS_NEEDS_RESET, a config-change interrupt is raised, one line is logged,
 * and nothing more is processed until the driver resets the device (Status = 0).
 *
 * Work happens synchronously: a QueueNotify write processes the queue on the notifying
 * vCPU; net receive happens when a frame arrives (virtio_net_rx); a rate-limited
 * transmit queue resumes on the backend's thread (virtio_net_tx_retry).
 *
 * Call order for a backend (both types):
 *
 *   vm_init(vm, cfg, id, ram);
 *   (type 2: t2_blk_open(vm) - the disks must answer host_blk_size before attach)
 *   vm_attach_config_devices(vm);     blk per cfg.disks, net per cfg.nets, console, rng
 *   (type 2: t2_net_open(vm) - starts user/tap I/O that calls virtio_net_rx)
 *   vm_boot_prepare(...)              builds the DTB from the populated slots
 *   ... run; on SBI reboot also call virtio_reset_all(vm) ...
 *   (type 2: t2_net_close(vm) after the vCPUs stopped)
 *   virtio_detach_all(vm);
 *   (type 2: t2_blk_close(vm))
 *   vm_destroy(vm);
 */
#ifndef DUO_VIRTIO_H
#define DUO_VIRTIO_H

#include <duo/types.h>
#include <duo/lib.h>
#include <duo/mmio.h>

struct vm;
struct virtio_dev;

/* ---- virtio-mmio register map (virtio 1.2, 4.2.2) ------------------------------------ */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" little-endian */
#define VIRTIO_MMIO_VENDOR 0x4f5544  /* "DUO"; any value is allowed */

/* Device status bits (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* InterruptStatus bits. */
#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

/* Transport feature bits (virtio 1.2, 6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Device ids (virtio 1.2, 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* ---- split virtqueues ----------------------------------------------------------------- */
#define VIRTQ_MAX_SIZE 256 /* QueueNumMax of every queue */
#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_CONFIG_MAX 64 /* bytes of device config space kept per device */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* One virtqueue's transport state. Guarded by the owning device's lock. */
struct virtq {
	u32 num; /* QueueNum: 0 until the driver sets a valid size */
	bool ready;
	u64 desc_gpa, avail_gpa, used_gpa;
	/* host pointers to the three areas, checked against guest RAM at QueueReady=1 */
	u8 *desc, *avail, *used;
	u16 last_avail;	    /* next avail ring entry the device consumes */
	u16 used_idx;	    /* the device's copy of used->idx */
	u16 signalled_used; /* used_idx when the driver was last considered for an irq */
};

/* One buffer of a chain: a host pointer into guest RAM (already range-checked). */
struct virtq_seg {
	u8 *p;
	u32 len;
	bool write; /* device-writable */
};

/*
 * A popped descriptor chain. Readable segments come first, then writable ones; the
 * readable bytes form the "out" stream, the writable ones the "in" stream.
 */
struct virtq_chain {
	u16 head;
	u16 nseg;
	u64 out_len, in_len;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

/* ---- device models -------------------------------------------------------------------- */

struct virtio_dev_ops {
	const char *name; /* "blk", "net", ... (for logs) */
	u32 device_id;	  /* VIRTIO_ID_* */
	u32 nqueues;	  /* <= VIRTIO_MAX_QUEUES */
	/*
	 * notify - the driver wrote QueueNotify for queue q (< nqueues) of a DRIVER_OK,
	 * unbroken device whose queue q is ready. Called WITHOUT d->lock; the model takes
	 * it around virtq_* calls. May be NULL (notifications ignored).
	 */
	void (*notify)(struct virtio_dev *d, u32 q);
	/* reset - device-specific state back to power-on; d->lock held. May be NULL. */
	void (*reset)(struct virtio_dev *d);
	/* destroy - free d->priv (and leave any switch); no lock held. May be NULL. */
	void (*destroy)(struct virtio_dev *d);
};

struct virtio_dev {
	struct mmio_dev mmio; /* window at PLAT_VIRTIO_BASE + slot * PLAT_VIRTIO_STRIDE */
	struct vm *vm;
	const struct virtio_dev_ops *ops;
	unsigned slot;	/* index in vm->virtio[] */
	u32 irq;	/* PLIC source */
	unsigned index; /* the model's own index (disk or net number), 0 otherwise */
	void *priv;	/* the model's state */

	struct duo_lock lock; /* guards everything below */
	u64 host_features;    /* offered: model bits | VERSION_1 | INDIRECT | EVENT_IDX */
	u64 driver_features;  /* accepted by the driver (valid once FEATURES_OK) */
	u32 dev_feat_sel, drv_feat_sel, queue_sel;
	u32 status;
	u32 isr; /* InterruptStatus */
	u32 config_gen;
	bool broken;	/* NEEDS_RESET set: nothing is processed until reset */
	bool irq_level; /* last level driven to the PLIC */
	u8 config[VIRTIO_CONFIG_MAX];
	u32 config_len;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	u32 log_budget;		  /* guest-caused log lines left before going quiet */
	u64 errors;		  /* times the device was marked broken */
	struct virtq_chain chain; /* scratch for the chain being processed (under lock) */
};

/* ---- transport (virtio_mmio.c) -------------------------------------------------------- */

/*
 * virtio_dev_create - allocate a device for vm in the first free slot, with the model's
 * ops, offered features (model bits; the transport adds VERSION_1, INDIRECT_DESC and
 * EVENT_IDX), config space (copied, at most VIRTIO_CONFIG_MAX bytes) and priv. Registers
 * the window on vm->bus and sets vm->virtio[slot]. Returns 0 with *out set, DUO_ENOMEM
 * when no slot or memory is left, or the bus error.
 */
int virtio_dev_create(struct vm *vm, const struct virtio_dev_ops *ops, unsigned index, u64 features,
		      const void *config, u32 config_len, void *priv, struct virtio_dev **out);

/*
 * virtio_dev_error - the guest broke the protocol: set NEEDS_RESET, raise a config-change
 * interrupt, log the reason (printf-style) once, and stop processing until reset.
 * d->lock must be held.
 */
void virtio_dev_error(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* virtio_dev_ready - true when the driver finished setup (DRIVER_OK) and the device is
 * not broken, and queue q is ready. d->lock held. */
bool virtio_dev_ready(struct virtio_dev *d, u32 q);

/* virtio_has_feature - the driver accepted feature bit `bit`. d->lock held. */
static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return (d->driver_features >> bit) & 1;
}

/* virtio_raise_irq - OR `bits` into InterruptStatus and drive the line. d->lock held. */
void virtio_raise_irq(struct virtio_dev *d, u32 bits);

/* virtio_find - the device with this id and model index on vm, or NULL. */
struct virtio_dev *virtio_find(struct vm *vm, u32 device_id, unsigned index);

/* virtio_reset_all - reset every attached device as if the driver wrote Status = 0
 * (SBI reboot). */
void virtio_reset_all(struct vm *vm);

/* virtio_detach_all - take every virtio device off vm->bus and free it. Call once the
 * vCPUs and any host I/O threads that touch the devices have stopped. */
void virtio_detach_all(struct vm *vm);

/* ---- split virtqueue (virtq.c); all with d->lock held --------------------------------- */

/*
 * virtq_pop - take the next available chain of queue q into *c. Returns 1 with a chain,
 * 0 when the ring is empty, or DUO_EINVAL after marking the device broken (descriptor
 * index out of range, loop or chain longer than the queue, buffer not in RAM, bad
 * indirect table, readable after writable, avail.idx jumped by more than the size).
 * Each descriptor is copied once and checked on the copy.
 */
int virtq_pop(struct virtio_dev *d, u32 q, struct virtq_chain *c);

/* virtq_unpop - give back the chain the last virtq_pop of q returned, unanswered: the
 * next pop takes (and checks) it again. Only before anything was pushed on q since. */
void virtq_unpop(struct virtio_dev *d, u32 q);

/* virtq_push - return chain `head` to the driver with `len` bytes written. */
void virtq_push(struct virtio_dev *d, u32 q, u16 head, u32 len);

/* virtq_kick - raise the used-buffer interrupt if the driver asked for one since the last
 * kick (EVENT_IDX used_event, else avail.flags NO_INTERRUPT). */
void virtq_kick(struct virtio_dev *d, u32 q);

/*
 * virtq_idle - the device is about to stop polling queue q: publish avail_event (with
 * EVENT_IDX) and re-check. Returns true when the ring is really empty; false means new
 * buffers arrived meanwhile and the caller must pop again.
 */
bool virtq_idle(struct virtio_dev *d, u32 q);

/* virtq_chain_read - copy up to len bytes at offset off of the chain's readable stream
 * to dst. Returns the bytes copied. */
size_t virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, size_t len);

/* virtq_chain_write - copy up to len bytes from src into the writable stream at off.
 * Returns the bytes copied. */
size_t virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, size_t len);

/* ---- attach: one call per device, each picking the next free slot --------------------- */

/* virtio_blk_attach - a virtio-blk for vm->cfg.disks[disk]; capacity from host_blk_size.
 * Returns 0 or DUO_E* (DUO_EINVAL for a bad index, DUO_ENOMEM when out of slots). */
int virtio_blk_attach(struct vm *vm, unsigned disk);

/* virtio_net_attach - a virtio-net for vm->cfg.nets[net]: mode switch joins the named
 * switch (core/net/switch.c), user/tap send through host_net_tx. */
int virtio_net_attach(struct vm *vm, unsigned net);

/* virtio_console_attach - one virtio-console (hvc0, single port). */
int virtio_console_attach(struct vm *vm);

/* virtio_rng_attach - one virtio-rng fed by host_entropy. */
int virtio_rng_attach(struct vm *vm);

/*
 * vm_attach_config_devices - what the config asks for, in slot order: a blk per
 * cfg.disks, a net per cfg.nets, then a console and an rng. Call once after vm_init
 * (and after the backend opened the disks), before the DTB is built. On error everything
 * attached so far is detached again and one line is logged.
 */
int vm_attach_config_devices(struct vm *vm);

/* ---- device entry points for backends -------------------------------------------------- */

/*
 * virtio_net_rx - deliver one Ethernet frame (no virtio header) to the guest behind d:
 * copied into the next receive buffer, interrupt raised as the driver asked; when the
 * guest has no free buffer just now, held (in order, at most VIRTIO_NET_BACKLOG frames) until
 * its driver adds some. Returns 0 (delivered or held), DUO_EAGAIN when the driver is not
 * ready, the backlog is full or the buffer too small (frame dropped and counted), or
 * DUO_EINVAL for a frame shorter than 14 or longer than NETSW_MAX_FRAME bytes.
 * Callable from any thread; takes only d->lock.
 */
int virtio_net_rx(struct virtio_dev *d, const void *frame, size_t len);
#define VIRTIO_NET_BACKLOG 64 /* received frames held per card while its ring is full */

/* virtio_net_tx_retry - send what the guest left queued on d's transmit ring while the
 * rate limit made it wait (the backend's answer to host_net_retry_at, duo/host.h). Any
 * thread, no device lock held. */
void virtio_net_tx_retry(struct virtio_dev *d);

/* virtio_net_set_rate - the transmit limit of a device in any mode (bytes/s, 0 =
 * unlimited; burst in bytes). It starts as cfg.nets[i].rate_mbit says (default
 * NETSW_DEFAULT_MBIT: none; netsw_rate_of_mbit gives the burst). Frames over the limit
 * wait in the guest's ring (or are dropped where the backend cannot retry). */
void virtio_net_set_rate(struct virtio_dev *d, u64 bytes_per_s, u64 burst);

/* virtio_net_dev - the virtio-net device for vm->cfg.nets[net], or NULL. */
struct virtio_dev *virtio_net_dev(struct vm *vm, unsigned net);

/*
 * virtio_console_input - feed host keyboard bytes to hvc0's receive queue. Returns the
 * bytes taken (0 when there is no console, it is not set up, or it has no buffers).
 * The core does not route vm_console_input() here: a backend that wants hvc0 input calls
 * this too (feeding both consoles is harmless; the guest reads the one it uses).
 */
size_t virtio_console_input(struct vm *vm, const u8 *buf, size_t n);

/* Counters a backend or test may read (monotonic; never reset by the guest). */
struct virtio_net_stats {
	u64 tx_frames, rx_frames;
	u64 tx_dropped; /* oversize/undersize, rate limit, host refused */
	u64 rx_dropped; /* driver not ready, no buffer, buffer too small */
};
void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *s);

/* virtio_console_dropped - output bytes dropped by the per-chain bound. */
u64 virtio_console_dropped(struct virtio_dev *d);

#endif
