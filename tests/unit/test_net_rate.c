/*
 * test_net_rate.c - the per-VM transmit limit, nets[].rate_mbit (docs/config.md): the
 * config key's parsing and errors, the token bucket's arithmetic (struct netsw_bucket,
 * core/net/switch.c), and a virtio-net driven like a guest does it, in mode switch
 * (through the core's switch to a second VM) and in mode user (host_net_tx, which this
 * file implements for VMs it marks), under a fake clock: a card limited to 8 Mbit/s gets
 * one bucket plus one second's worth of bytes through in a simulated second, a card
 * with the default (none) or 0 gets everything through. Where the backend can retry
 * later (host_net_retry_at, which this file implements for VMs named "*shape*"), the
 * limit shapes: nothing is dropped, frames wait in the guest's ring and leave in order
 * when the bucket can pay; elsewhere (the core's default, type 1) it polices: frames
 * over the limit are dropped and counted.
 */
#include <stdio.h>
#include <string.h>

#include <duo/err.h>
#include <duo/netsw.h>
#include <duo/platform.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "../../tools/config/config.h"
#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define RXQ 0
#define TXQ 1
#define HDR 12
#define NRX 8
#define FRAME 1000 /* bytes per test frame; it costs FRAME + NETSW_FRAME_COST */

/* ---- the config key ---------------------------------------------------------------- */

static struct vm_config cfgs[CFG_MAX_VMS];
static char err[512];

static int parse_net(const char *net)
{
	char json[512];
	snprintf(json, sizeof(json), "{\"kernel\": \"/k\", \"nets\": [%s]}", net);
	err[0] = 0;
	return cfg_parse_string(json, "x.json", NULL, cfgs, CFG_MAX_VMS, err, sizeof(err));
}

static void bad_net(const char *net, const char *want)
{
	int n = parse_net(net);
	CHECK_EQ(n, -1);
	if (strcmp(err, want)) {
		printf("    net: %s\n    got:  %s\n    want: %s\n", net, err, want);
		CHECK(!"error message");
	}
}

TEST(net_rate_config_key)
{
	CHECK_EQ(parse_net("{\"mode\": \"switch\", \"switch\": \"s\", \"rate_mbit\": 8}"), 1);
	CHECK(cfgs[0].nets[0].rate_set);
	CHECK_EQ(cfgs[0].nets[0].rate_mbit, 8);
	CHECK_EQ(parse_net("{\"rate_mbit\": 0}"), 1); /* user mode too; 0 = no limit */
	CHECK(cfgs[0].nets[0].rate_set);
	CHECK_EQ(cfgs[0].nets[0].rate_mbit, 0);
	CHECK_EQ(parse_net("{\"rate_mbit\": 80000}"), 1);
	CHECK_EQ(parse_net("{\"mode\": \"switch\", \"switch\": \"s\"}"), 1);
	CHECK(!cfgs[0].nets[0].rate_set); /* the default, NETSW_DEFAULT_MBIT */
	bad_net("{\"rate_mbit\": 80001}",
		"x.json: nets[0].rate_mbit: must be 0..80000 (got 80001)");
	bad_net("{\"rate_mbit\": -1}", "x.json: nets[0].rate_mbit: must be 0..80000 (got -1)");
	bad_net("{\"rate_mbit\": 2.5}", "x.json: nets[0].rate_mbit: must be an integer (got 2.5)");
	bad_net("{\"rate_mbit\": \"8\"}",
		"x.json: nets[0].rate_mbit: must be an integer (got a string)");
	bad_net("{\"rate_mbit\": true}",
		"x.json: nets[0].rate_mbit: must be an integer (got a boolean)");
}

TEST(net_rate_of_mbit_burst_bounds)
{
	u64 r, b;
	netsw_rate_of_mbit(8, &r, &b);
	CHECK_EQ(r, 1000000);
	CHECK_EQ(b, 32 << 10); /* 20 ms = 20000 B, raised to 32 KiB */
	netsw_rate_of_mbit(100, &r, &b);
	CHECK_EQ(r, 12500000);
	CHECK_EQ(b, 12500000 / 50);
	netsw_rate_of_mbit(1000, &r, &b);
	CHECK_EQ(r, 125000000);
	CHECK_EQ(b, 125000000 / 50);
	netsw_rate_of_mbit(2000, &r, &b);
	CHECK_EQ(b, 4 << 20); /* 5 MB, capped */
	netsw_rate_of_mbit(NETSW_MAX_MBIT, &r, &b);
	CHECK_EQ(b, 4 << 20);
	netsw_rate_of_mbit(0, &r, &b);
	CHECK_EQ(r, 0);
	netsw_rate_of_mbit(~0u, &r, &b); /* clamped, no overflow */
	CHECK_EQ(r, (u64)NETSW_MAX_MBIT * 125000);
}

TEST(net_rate_bucket_long_run_average)
{
	/* 10 simulated seconds of a saturating sender in 1 ms steps: the bytes let through
	 * are the rate times the time plus at most one bucket, to the frame. */
	struct netsw_bucket b;
	u64 now = 12345, sent = 0;
	netsw_bucket_set(&b, 1000000, 64 << 10, now);
	for (int ms = 0; ms <= 10000; ms++) {
		while (netsw_bucket_take(&b, FRAME, now))
			sent += FRAME + NETSW_FRAME_COST;
		now += PLAT_TIMEBASE_HZ / 1000;
	}
	CHECK(sent <= 10 * 1000000ULL + (64 << 10));
	CHECK(sent + FRAME + NETSW_FRAME_COST > 10 * 1000000ULL + (64 << 10));
}

/* ---- a virtio-net driven like a guest ---------------------------------------------- */

struct card {
	struct vm *vm;
	struct tdrv t;
	gpa_t rx[NRX], tx;
	u8 mac[6];
	u16 tx_head; /* cycles through the tx ring's descriptors */
};

/* host_net_tx for user/tap cards: frames of VMs named "host-*" are taken and counted;
 * others get the core's default answer (no host network). */
static u64 host_frames;
int host_net_tx(struct vm *vm, unsigned net, const void *frame, size_t len)
{
	if (strncmp(vm->cfg.name, "host-", 5))
		return DUO_ENOTSUP;
	host_frames++;
	return 0;
}

/* card_up - a VM `name` with one net of `mode` (switch `sw`); rate: < 0 = not in the
 * config, else rate_mbit. Driver up, NRX receive buffers posted. */
static bool card_up(struct card *c, const char *name, enum net_mode mode, const char *sw, long rate)
{
	memset(c, 0, sizeof(*c));
	c->vm = fake_vm(16, 1);
	if (!c->vm)
		return false;
	snprintf(c->vm->cfg.name, sizeof(c->vm->cfg.name), "%s", name);
	c->vm->cfg.nnets = 1;
	c->vm->cfg.nets[0].mode = mode;
	snprintf(c->vm->cfg.nets[0].sw, sizeof(c->vm->cfg.nets[0].sw), "%s", sw);
	if (rate >= 0) {
		c->vm->cfg.nets[0].rate_set = true;
		c->vm->cfg.nets[0].rate_mbit = (u32)rate;
	}
	if (virtio_net_attach(c->vm, 0))
		return false;
	tdrv_init(&c->t, c->vm->virtio[0], ~0ULL, 16);
	for (u64 i = 0; i < 6; i++) {
		u64 v;
		tdrv_access(&c->t, 0x100 + i, 1, false, &v);
		c->mac[i] = (u8)v;
	}
	for (u16 i = 0; i < NRX; i++) {
		c->rx[i] = tdrv_alloc(&c->t, 2048);
		tdrv_desc(&c->t, RXQ, i, c->rx[i], 2048, VIRTQ_DESC_F_WRITE, 0);
		tdrv_submit(&c->t, RXQ, i);
	}
	tdrv_notify(&c->t, RXQ);
	c->tx = tdrv_alloc(&c->t, HDR + FRAME);
	return true;
}

static void card_down(struct card *c)
{
	if (c->vm)
		tdrv_vm_free(c->vm);
	c->vm = NULL;
}

/* card_send - one FRAME-byte frame to dst through the tx queue (one buffer, reused: the
 * device copies it out before it completes the request). */
static void card_send(struct card *c, const u8 *dst)
{
	u8 *p = tdrv_ptr(&c->t, c->tx);
	memset(p, 0, HDR);
	memcpy(p + HDR, dst, 6);
	memcpy(p + HDR + 6, c->mac, 6);
	p[HDR + 12] = 0x08;
	p[HDR + 13] = 0x00;
	memset(p + HDR + 14, 0x5a, FRAME - 14);
	u16 d = c->tx_head++ % 16;
	tdrv_desc(&c->t, TXQ, d, c->tx, HDR + FRAME, 0, 0);
	tdrv_submit(&c->t, TXQ, d);
	tdrv_notify(&c->t, TXQ);
	u32 id, len;
	while (tdrv_used(&c->t, TXQ, &id, &len))
		;
}

/* card_drain - count received frames, re-posting their buffers. */
static int card_drain(struct card *c)
{
	u32 id, len;
	int n = 0;
	while (tdrv_used(&c->t, RXQ, &id, &len) && id < NRX) {
		n++;
		tdrv_submit(&c->t, RXQ, (u16)id);
	}
	return n;
}

/* blast - 5 frames per simulated ms for `ms` ms from a to b (or the host when b is
 * NULL); returns how many arrived. */
static u64 blast(struct card *a, struct card *b, int ms)
{
	static const u8 host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	u64 got = 0, host0 = host_frames;
	for (int i = 0; i < ms; i++) {
		fake.time += PLAT_TIMEBASE_HZ / 1000;
		for (int k = 0; k < 5; k++) {
			card_send(a, b ? b->mac : host_mac);
			if (b)
				got += (u64)card_drain(b);
		}
	}
	return b ? got : host_frames - host0;
}

/* What an 8 Mbit/s card may send in one second of 1000-byte frames: the 32 KiB bucket
 * plus 10^6 bytes, each frame costing FRAME + NETSW_FRAME_COST. */
#define LIMITED_1S ((32 * 1024 + 1000000) / (FRAME + NETSW_FRAME_COST))

TEST(net_rate_switch_card_limited_by_config)
{
	struct card a, b;
	fake.time = 1000;
	CHECK(card_up(&a, "ra", NET_SWITCH, "t-rate", 8));
	CHECK(card_up(&b, "rb", NET_SWITCH, "t-rate", -1));
	if (!a.vm || !b.vm)
		goto out;
	/* b first shows its MAC, so a's frames go to b only. */
	card_send(&b, a.mac);
	card_drain(&a);
	u64 got = blast(&a, &b, 1000);
	CHECK(got >= LIMITED_1S - 1 && got <= LIMITED_1S);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_frames, got);
	CHECK_EQ(s.tx_dropped, 5000 - got);
	/* b, with the default (no limit), sends all 5000 in the same second. */
	CHECK_EQ(blast(&b, &a, 1000), 5000);
	/* The limit changes at run time: 0 = none. */
	virtio_net_set_rate(a.t.dev, 0, 0);
	CHECK_EQ(blast(&a, &b, 200), 1000);
out:
	card_down(&a);
	card_down(&b);
}

TEST(net_rate_switch_card_zero_is_unlimited)
{
	struct card a, b;
	fake.time = 1000;
	CHECK(card_up(&a, "za", NET_SWITCH, "t-rate0", 0));
	CHECK(card_up(&b, "zb", NET_SWITCH, "t-rate0", -1));
	if (!a.vm || !b.vm)
		goto out;
	/* 20000 frames in one simulated ms = 21 MB in 1 ms: no limit stops them. */
	u64 got = 0;
	fake.time += 1;
	for (int i = 0; i < 20000; i++) {
		card_send(&a, b.mac);
		got += (u64)card_drain(&b);
	}
	CHECK_EQ(got, 20000);
out:
	card_down(&a);
	card_down(&b);
}

TEST(net_rate_user_card_limited_before_host)
{
	struct card a, d;
	fake.time = 1000;
	CHECK(card_up(&a, "host-a", NET_USER, "", 8));
	CHECK(card_up(&d, "host-d", NET_USER, "", -1));
	if (!a.vm || !d.vm)
		goto out;
	u64 got = blast(&a, NULL, 1000);
	CHECK(got >= LIMITED_1S - 1 && got <= LIMITED_1S);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 5000 - got);
	CHECK_EQ(blast(&d, NULL, 1000), 5000); /* default: no limit */
out:
	card_down(&a);
	card_down(&d);
}

TEST(net_rate_default_is_no_limit)
{
	struct card a, b;
	fake.time = 1000;
	CHECK(card_up(&a, "da", NET_SWITCH, "t-rate-def", -1));
	CHECK(card_up(&b, "db", NET_SWITCH, "t-rate-def", -1));
	if (!a.vm || !b.vm)
		goto out;
	/* 20000 frames (21 MB) in one simulated ms: more than any bucket of 1000 Mbit/s. */
	u64 got = 0;
	fake.time += 1;
	for (int i = 0; i < 20000; i++) {
		card_send(&a, b.mac);
		got += (u64)card_drain(&b);
	}
	CHECK_EQ(got, 20000);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 0);
out:
	card_down(&a);
	card_down(&b);
}

/* ---- shaping: where the backend can retry, the limit delays instead of dropping ----- */

/* host_net_retry_at for VMs named "*shape*": the one pending request, recorded; other
 * VMs get the core's default answer (no retries: the limit polices). */
static struct {
	struct vm *vm;
	unsigned net;
	u64 when;
	bool armed;
	int calls;
} retry;

int host_net_retry_at(struct vm *vm, unsigned net, u64 when)
{
	if (!strstr(vm->cfg.name, "shape"))
		return DUO_ENOTSUP;
	retry.vm = vm;
	retry.net = net;
	retry.when = when;
	retry.armed = true;
	retry.calls++;
	return 0;
}

/* run_retry - what the backend's thread does: the pending retry, if it is due. */
static void run_retry(void)
{
	if (!retry.armed || fake.time < retry.when)
		return;
	retry.armed = false;
	virtio_net_tx_retry(virtio_net_dev(retry.vm, retry.net));
}

#define TXN 16 /* the shaped card's transmit ring */

/* A driver that, like Linux, queues a frame only when its ring has room (its qdisc holds
 * or drops the rest) and gives each descriptor its own buffer. */
struct shaped {
	struct card c;
	gpa_t buf[TXN];
	u16 inflight, next;
	u32 tag; /* of the next frame queued */
};

static bool shaped_up(struct shaped *s, const char *name, enum net_mode mode, const char *sw,
		      long rate)
{
	memset(s, 0, sizeof(*s));
	if (!card_up(&s->c, name, mode, sw, rate))
		return false;
	for (u16 i = 0; i < TXN; i++)
		s->buf[i] = tdrv_alloc(&s->c.t, HDR + FRAME);
	return true;
}

/* shaped_reap - take back completed transmit buffers. */
static void shaped_reap(struct shaped *s)
{
	u32 id, len;
	while (tdrv_used(&s->c.t, TXQ, &id, &len))
		s->inflight--;
}

/* shaped_send - queue one frame to dst tagged with s->tag; false when the ring is full. */
static bool shaped_send(struct shaped *s, const u8 *dst)
{
	shaped_reap(s);
	if (s->inflight == TXN)
		return false;
	u16 d = s->next++ % TXN;
	u8 *p = tdrv_ptr(&s->c.t, s->buf[d]);
	memset(p, 0, HDR);
	memcpy(p + HDR, dst, 6);
	memcpy(p + HDR + 6, s->c.mac, 6);
	p[HDR + 12] = 0x08;
	p[HDR + 13] = 0x00;
	memset(p + HDR + 14, 0x5a, FRAME - 14);
	memcpy(p + HDR + 14, &s->tag, 4);
	s->tag++;
	s->inflight++;
	tdrv_desc(&s->c.t, TXQ, d, s->buf[d], HDR + FRAME, 0, 0);
	tdrv_submit(&s->c.t, TXQ, d);
	tdrv_notify(&s->c.t, TXQ);
	return true;
}

/* recv_in_order - count frames b received, checking their tags run on from *want. */
static u64 recv_in_order(struct card *b, u32 *want)
{
	u32 id, len;
	u64 n = 0;
	while (tdrv_used(&b->t, RXQ, &id, &len) && id < NRX) {
		u32 tag;
		memcpy(&tag, (u8 *)tdrv_ptr(&b->t, b->rx[id]) + HDR + 14, 4);
		CHECK_EQ(tag, *want);
		CHECK_EQ(len, HDR + FRAME);
		(*want)++;
		n++;
		tdrv_submit(&b->t, RXQ, (u16)id);
		tdrv_notify(&b->t, RXQ);
	}
	return n;
}

TEST(net_rate_shapes_without_drops)
{
	struct shaped a;
	struct card b;
	u32 want = 0;
	u64 got = 0, refused = 0;
	memset(&retry, 0, sizeof(retry));
	fake.time = 1000;
	CHECK(shaped_up(&a, "shape-a", NET_SWITCH, "t-shape", 8));
	CHECK(card_up(&b, "shape-b", NET_SWITCH, "t-shape", -1));
	if (!a.c.vm || !b.vm)
		goto out;
	card_send(&b, a.c.mac); /* a learns b: a's frames go to b only */
	card_drain(&a.c);
	/* One simulated second: the guest offers 5 frames a ms; the backend runs retries. */
	for (int ms = 0; ms < 1000; ms++) {
		fake.time += PLAT_TIMEBASE_HZ / 1000;
		run_retry();
		for (int k = 0; k < 5; k++)
			refused += !shaped_send(&a, b.mac);
		got += recv_in_order(&b, &want);
	}
	/* The same bytes as the policer lets through: the bucket plus one second's rate. */
	CHECK(got >= LIMITED_1S - 1 && got <= LIMITED_1S);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.c.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 0); /* nothing dropped by the device ... */
	CHECK_EQ(s.tx_frames, got);
	shaped_reap(&a);
	CHECK_EQ(a.inflight, TXN); /* ... the rest waits in the guest's ring */
	CHECK(refused > 0);	   /* and the guest's own queue (qdisc) held the surplus */
	CHECK(retry.armed);
	/* The retry is asked for exactly when the bucket can pay: a tick early sends
	 * nothing (and asks again), on time sends the next frame. */
	u64 when = retry.when;
	fake.time = when - 1;
	retry.armed = false;
	virtio_net_tx_retry(a.c.t.dev);
	CHECK_EQ(recv_in_order(&b, &want), 0);
	CHECK(retry.armed && retry.when == when);
	fake.time = when;
	run_retry();
	CHECK_EQ(recv_in_order(&b, &want), 1);
	/* The load stops: the queued frames leave by themselves, in order, within the time
	 * the rate needs for them (16 x 1064 B at 10^6 B/s: 17 ms). */
	for (int ms = 0; ms < 20; ms++) {
		fake.time += PLAT_TIMEBASE_HZ / 1000;
		run_retry();
		recv_in_order(&b, &want);
	}
	shaped_reap(&a);
	CHECK_EQ(a.inflight, 0);
	CHECK_EQ(want, a.tag);
	virtio_net_get_stats(a.c.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 0);
	/* Raising the limit sends what waits at once. */
	for (int k = 0; k < TXN; k++)
		shaped_send(&a, b.mac);
	recv_in_order(&b, &want);
	CHECK(a.inflight > NRX);
	virtio_net_set_rate(a.c.t.dev, 0, 0);
	shaped_reap(&a);
	CHECK_EQ(a.inflight, 0); /* sent at once (b held what its ring could not take) */
	recv_in_order(&b, &want);
	CHECK_EQ(want, a.tag);
out:
	memset(&retry, 0, sizeof(retry));
	card_down(&a.c);
	card_down(&b);
}

TEST(net_rate_user_card_shapes_before_host)
{
	struct shaped a;
	static const u8 host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	memset(&retry, 0, sizeof(retry));
	fake.time = 1000;
	CHECK(shaped_up(&a, "host-shape", NET_USER, "", 8));
	if (!a.c.vm)
		goto out;
	u64 host0 = host_frames, offered = 0;
	for (int ms = 0; ms < 1000; ms++) {
		fake.time += PLAT_TIMEBASE_HZ / 1000;
		run_retry();
		for (int k = 0; k < 5; k++)
			offered += shaped_send(&a, host_mac);
	}
	u64 got = host_frames - host0;
	CHECK(got >= LIMITED_1S - 1 && got <= LIMITED_1S);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.c.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 0);
	CHECK_EQ(offered - got, TXN); /* what the guest queued and is still waiting */
out:
	memset(&retry, 0, sizeof(retry));
	card_down(&a.c);
}
