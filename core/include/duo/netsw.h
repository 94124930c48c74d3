/*
 * netsw.h - the virtual Ethernet switch VMs of one hypervisor share (core/net/switch.c).
 *
 * A switch is found by name (netsw_get) in a static table, so every VM whose config says
 * {"mode": "switch", "switch": "lan0"} lands on the same one, in both backends. Ports are
 * owned by their users (virtio-net embeds one); the switch learns source MACs, forwards
 * known unicast to one port, floods broadcast, multicast and unknown destinations, and
 * enforces a per-port transmit rate limit (struct netsw_bucket on host_time_now). Delivery is
 * synchronous: netsw_send calls the destination ports' deliver hooks, which copy the
 * frame straight into the destination guest's receive queue, so the only queue is the
 * guest's own ring (bounded by its size); a frame with nowhere to go is dropped and
 * counted.
 *
 * Locking: each switch has one lock, held while forwarding and while ports come and go.
 * deliver hooks run under it and may take their device's lock; nothing may call into the
 * switch while holding a device lock (virtio-net sends with its ring lock released).
 */
#ifndef DUO_NETSW_H
#define DUO_NETSW_H

#include <duo/types.h>
#include <duo/lib.h>

struct vm;
struct netsw;

#define NETSW_MAX_SWITCHES 8
#define NETSW_MAX_PORTS 16
#define NETSW_FDB_SIZE 64
#define NETSW_ETH_HLEN 14
#define NETSW_MAX_FRAME 1518  /* 1500-byte payload + Ethernet header + one 802.1Q tag */
#define NETSW_DEFAULT_MBIT 0u /* nets[].rate_mbit when the config says nothing: no limit */
#define NETSW_DEFAULT_RATE (NETSW_DEFAULT_MBIT * 125000ULL) /* bytes/s per port (0: none) */
#define NETSW_DEFAULT_BURST (256u << 10)
#define NETSW_MAX_MBIT 80000u /* rate_mbit's upper bound (keeps elapsed * rate in 64 bits) */
#define NETSW_FRAME_COST 64   /* bytes charged per frame on top of its length */

/*
 * A token bucket on transmitted bytes: `tokens` fill at `rate` bytes/s up to `burst`;
 * a frame of len bytes costs len + NETSW_FRAME_COST and is refused (dropped by the
 * caller) when the bucket holds less. rate 0 = unlimited. Not locked: the owner
 * serialises (the switch lock for a port, virtio-net's tx_lock in user/tap mode).
 */
struct netsw_bucket {
	u64 rate, burst; /* bytes/s and bucket depth */
	u64 tokens, last_refill;
	u64 frac; /* part of a token earned by last_refill, in bytes x ticks (< HZ) */
};

/* netsw_bucket_set - new rate and burst (raised to one maximal frame's cost), full. */
void netsw_bucket_set(struct netsw_bucket *b, u64 bytes_per_s, u64 burst, u64 now);

/* netsw_bucket_take - refill for the time since the last refill (`now` in timebase
 * ticks; a clock going backwards earns nothing), then pay for a len-byte frame: true,
 * or false when the bucket cannot pay (nothing is taken then). */
bool netsw_bucket_take(struct netsw_bucket *b, size_t len, u64 now);

/* netsw_bucket_ready_at - the earliest time (timebase ticks) at which the bucket can
 * pay for a len-byte frame: its last refill when it can now, UINT64_MAX never (len over
 * the burst). A rate of 0 can always pay. */
u64 netsw_bucket_ready_at(const struct netsw_bucket *b, size_t len);

/*
 * netsw_rate_of_mbit - the (bytes/s, burst) pair for a configured rate in Mbit/s
 * (nets[].rate_mbit, docs/config.md): 0 = unlimited; the burst is 20 ms at that rate,
 * at least 32 KiB and at most 4 MiB. (One TCP stream through 40 Mbit/s got 61-92% of it
 * over five bench/bench_io.py runs on a noisy host; 200 ms got 40-46% in two.)
 */
void netsw_rate_of_mbit(u32 mbit, u64 *bytes_per_s, u64 *burst);

struct netsw_port {
	/* set by the owner before netsw_attach */
	struct vm *vm; /* for host_time_now */
	int (*deliver)(struct netsw_port *p, const void *frame, size_t len);
	void *opaque;
	/* managed by the switch (read them under no lock only for statistics) */
	struct netsw *sw;
	int slot;
	struct netsw_bucket tb; /* transmit limit */
	u64 tx_frames, rx_frames;
	u64 tx_dropped; /* rate limit, bad size */
	u64 rx_dropped; /* the deliver hook refused (no buffer, not ready) */
};

/*
 * netsw_get - the switch called `name` (1..31 characters), created on first use; takes a
 * reference. NULL when the table is full or the name is bad.
 */
struct netsw *netsw_get(const char *name);

/* netsw_put - drop a reference; the last one frees the table entry. */
void netsw_put(struct netsw *sw);

/*
 * netsw_attach - plug p (vm and deliver set) into sw with the default rate limit
 * (NETSW_DEFAULT_RATE / NETSW_DEFAULT_BURST; netsw_port_set_rate changes it).
 * Returns 0 or DUO_ENOMEM when the switch has no free port.
 */
int netsw_attach(struct netsw *sw, struct netsw_port *p);

/* netsw_detach - unplug p and forget the MACs learnt on it. After it returns no deliver
 * call for p is running or will start. */
void netsw_detach(struct netsw_port *p);

/* netsw_port_set_rate - change p's limit: bytes_per_s 0 = unlimited; burst in bytes. */
void netsw_port_set_rate(struct netsw_port *p, u64 bytes_per_s, u64 burst);

/*
 * netsw_send - forward one Ethernet frame from p. Returns 0 when it was forwarded (to at
 * least the lookup's choice; each refused delivery is counted on that port), DUO_EINVAL
 * for a frame shorter than NETSW_ETH_HLEN or longer than NETSW_MAX_FRAME, DUO_EAGAIN when
 * the rate limit dropped it, DUO_ENOENT when p is not attached.
 */
int netsw_send(struct netsw_port *p, const void *frame, size_t len);

/* netsw_name - the switch's name. */
const char *netsw_name(const struct netsw *sw);

#endif
