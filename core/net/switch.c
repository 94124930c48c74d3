/*
 * switch.c - the virtual Ethernet switch (see duo/netsw.h): a static table of named
 * switches shared by every VM of this hypervisor, MAC learning with a small LRU table,
 * flooding of broadcast/multicast/unknown destinations, and a per-port token bucket
 * (struct netsw_bucket, also used by virtio-net for its user/tap modes).
 *
 * It knows nothing about virtio: a port is a deliver hook, so the unit tests and any
 * future port type (a host-side tap bridge) plug in the same way. The table lives in
 * static storage, so both backends (one process in type 2, one image in type 1) share
 * it between their VMs without any allocation.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/netsw.h>
#include <duo/platform.h>

#define NETSW_NAME_MAX 32
#define NETSW_MAX_RATE (NETSW_MAX_MBIT * 125000ULL) /* 80 Gbit/s: elapsed * rate fits 64 bits */
#define REFILL_CAP (PLAT_TIMEBASE_HZ * 16)	    /* after 16 s idle the bucket is simply full */

struct fdb_entry {
	u8 mac[6];
	s8 port;   /* slot in ports[], -1 = empty */
	u64 stamp; /* sw->clock when last seen, for LRU replacement */
};

struct netsw {
	char name[NETSW_NAME_MAX];
	unsigned refs;	      /* 0 = free table entry (guarded by table_lock) */
	struct duo_lock lock; /* everything below */
	struct netsw_port *ports[NETSW_MAX_PORTS];
	struct fdb_entry fdb[NETSW_FDB_SIZE];
	u64 clock;
};

static struct netsw table[NETSW_MAX_SWITCHES];
static struct duo_lock table_lock = DUO_LOCK_INIT;

struct netsw *netsw_get(const char *name)
{
	size_t n = name ? duo_strnlen(name, NETSW_NAME_MAX) : 0;
	struct netsw *sw = NULL, *free_sw = NULL;
	if (n == 0 || n >= NETSW_NAME_MAX)
		return NULL;
	duo_lock(&table_lock);
	for (unsigned i = 0; i < NETSW_MAX_SWITCHES; i++) {
		struct netsw *s = &table[i];
		if (s->refs && !duo_strcmp(s->name, name)) {
			sw = s;
			break;
		}
		if (!s->refs && !free_sw)
			free_sw = s;
	}
	if (!sw && free_sw) {
		sw = free_sw;
		duo_memset(sw, 0, sizeof(*sw));
		duo_strlcpy(sw->name, name, sizeof(sw->name));
		for (unsigned i = 0; i < NETSW_FDB_SIZE; i++)
			sw->fdb[i].port = -1;
	}
	if (sw)
		sw->refs++;
	duo_unlock(&table_lock);
	return sw;
}

void netsw_put(struct netsw *sw)
{
	if (!sw)
		return;
	duo_lock(&table_lock);
	if (sw->refs)
		sw->refs--;
	duo_unlock(&table_lock);
}

const char *netsw_name(const struct netsw *sw)
{
	return sw->name;
}

void netsw_bucket_set(struct netsw_bucket *b, u64 bytes_per_s, u64 burst, u64 now)
{
	b->rate = DUO_MIN(bytes_per_s, NETSW_MAX_RATE);
	/* A bucket smaller than one full frame would block the largest frames forever. */
	b->burst = DUO_MAX(burst, (u64)NETSW_MAX_FRAME + NETSW_FRAME_COST);
	b->tokens = b->burst;
	b->frac = 0;
	b->last_refill = now;
}

bool netsw_bucket_take(struct netsw_bucket *b, size_t len, u64 now)
{
	if (!b->rate)
		return true;
	u64 el = now > b->last_refill ? now - b->last_refill : 0;
	if (el >= REFILL_CAP) {
		b->tokens = b->burst;
		b->frac = 0;
		b->last_refill = now;
	} else if (el) {
		/* Exact: what a refill leaves over is kept in frac, so any sequence of calls
		 * earns the same as one, and netsw_bucket_ready_at can name the tick. */
		u64 acc = b->frac + el * b->rate;
		b->tokens = DUO_MIN(b->burst, b->tokens + acc / PLAT_TIMEBASE_HZ);
		b->frac = b->tokens == b->burst ? 0 : acc % PLAT_TIMEBASE_HZ;
		b->last_refill = now;
	}
	u64 cost = len + NETSW_FRAME_COST;
	if (b->tokens < cost)
		return false;
	b->tokens -= cost;
	return true;
}

u64 netsw_bucket_ready_at(const struct netsw_bucket *b, size_t len)
{
	u64 cost = len + NETSW_FRAME_COST;
	if (!b->rate || b->tokens >= cost)
		return b->last_refill;
	if (cost > b->burst)
		return UINT64_MAX;
	/* From last_refill on, tokens grow by rate/HZ per tick on top of frac. */
	u64 need = (cost - b->tokens) * PLAT_TIMEBASE_HZ - b->frac;
	return b->last_refill + (need + b->rate - 1) / b->rate;
}

void netsw_rate_of_mbit(u32 mbit, u64 *bytes_per_s, u64 *burst)
{
	u64 r = (u64)DUO_MIN(mbit, NETSW_MAX_MBIT) * 125000;
	*bytes_per_s = r;
	*burst = DUO_MIN(DUO_MAX(r / 50, (u64)32 << 10), (u64)4 << 20);
}

static void set_rate_locked(struct netsw_port *p, u64 rate, u64 burst)
{
	netsw_bucket_set(&p->tb, rate, burst, host_time_now(p->vm));
}

int netsw_attach(struct netsw *sw, struct netsw_port *p)
{
	int r = DUO_ENOMEM;
	duo_lock(&sw->lock);
	for (int i = 0; i < NETSW_MAX_PORTS; i++) {
		if (sw->ports[i])
			continue;
		sw->ports[i] = p;
		p->sw = sw;
		p->slot = i;
		set_rate_locked(p, NETSW_DEFAULT_RATE, NETSW_DEFAULT_BURST);
		r = 0;
		break;
	}
	duo_unlock(&sw->lock);
	if (r)
		duo_log(p->vm, LOG_ERR, "switch %s: all %d ports in use", sw->name,
			NETSW_MAX_PORTS);
	return r;
}

void netsw_detach(struct netsw_port *p)
{
	struct netsw *sw = p->sw;
	if (!sw)
		return;
	duo_lock(&sw->lock);
	sw->ports[p->slot] = NULL;
	for (unsigned i = 0; i < NETSW_FDB_SIZE; i++)
		if (sw->fdb[i].port == p->slot)
			sw->fdb[i].port = -1;
	duo_unlock(&sw->lock);
	p->sw = NULL;
}

void netsw_port_set_rate(struct netsw_port *p, u64 bytes_per_s, u64 burst)
{
	struct netsw *sw = p->sw;
	if (!sw) {
		set_rate_locked(p, bytes_per_s, burst);
		return;
	}
	duo_lock(&sw->lock);
	set_rate_locked(p, bytes_per_s, burst);
	duo_unlock(&sw->lock);
}

static void learn(struct netsw *sw, const u8 *mac, int slot)
{
	struct fdb_entry *victim = &sw->fdb[0];
	sw->clock++;
	for (unsigned i = 0; i < NETSW_FDB_SIZE; i++) {
		struct fdb_entry *e = &sw->fdb[i];
		if (e->port >= 0 && !duo_memcmp(e->mac, mac, 6)) {
			e->port = (s8)slot; /* a MAC that moved follows its newest port */
			e->stamp = sw->clock;
			return;
		}
		if (victim->port >= 0 && (e->port < 0 || e->stamp < victim->stamp))
			victim = e;
	}
	duo_memcpy(victim->mac, mac, 6);
	victim->port = (s8)slot;
	victim->stamp = sw->clock;
}

static int lookup(struct netsw *sw, const u8 *mac)
{
	for (unsigned i = 0; i < NETSW_FDB_SIZE; i++)
		if (sw->fdb[i].port >= 0 && !duo_memcmp(sw->fdb[i].mac, mac, 6))
			return sw->fdb[i].port;
	return -1;
}

static void deliver(struct netsw_port *q, const void *frame, size_t len)
{
	if (q->deliver(q, frame, len))
		q->rx_dropped++;
	else
		q->rx_frames++;
}

int netsw_send(struct netsw_port *p, const void *frame, size_t len)
{
	struct netsw *sw = p->sw;
	const u8 *f = frame;
	if (!sw)
		return DUO_ENOENT;
	duo_lock(&sw->lock);
	if (len < NETSW_ETH_HLEN || len > NETSW_MAX_FRAME) {
		p->tx_dropped++;
		duo_unlock(&sw->lock);
		return DUO_EINVAL;
	}
	if (!netsw_bucket_take(&p->tb, len, host_time_now(p->vm))) {
		p->tx_dropped++;
		duo_unlock(&sw->lock);
		return DUO_EAGAIN;
	}
	p->tx_frames++;
	const u8 *dst = f, *src = f + 6;
	if (!(src[0] & 1))
		learn(sw, src, p->slot);
	int out = (dst[0] & 1) ? -1 : lookup(sw, dst);
	if (out >= 0) {
		/* Known unicast: one port; a frame back to its own port is dropped. */
		if (out != p->slot && sw->ports[out])
			deliver(sw->ports[out], frame, len);
	} else {
		for (int i = 0; i < NETSW_MAX_PORTS; i++)
			if (i != p->slot && sw->ports[i])
				deliver(sw->ports[i], frame, len);
	}
	duo_unlock(&sw->lock);
	return 0;
}
