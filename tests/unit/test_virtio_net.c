/*
 * test_virtio_net.c - virtio-net (core/dev/virtio_net.c) with VMs on a shared virtual
 * switch (core/net/switch.c): frames between VMs, MAC learning versus flooding, receive
 * without buffers (held, then dropped), the per-port rate limit, and HOSTILE.md item 11 (oversize
 * frames and a transmit flood are dropped and counted while other VMs' traffic flows).
 */
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/netsw.h>
#include <duo/platform.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "fake_host.h"
#include "harness.h"
#include "test_virtio_drv.h"

#define RXQ 0
#define TXQ 1
#define HDR 12
#define NRX 8

struct nic {
	struct vm *vm;
	struct tdrv t;
	gpa_t rx[NRX];
	u8 mac[6];
};

/* nic_up - a VM named `name` with one net on switch `sw`, driver up, NRX rx buffers. */
static bool nic_up(struct nic *n, const char *name, const char *sw, enum net_mode mode)
{
	memset(n, 0, sizeof(*n));
	n->vm = fake_vm(16, 1);
	if (!n->vm)
		return false;
	strcpy(n->vm->cfg.name, name);
	n->vm->cfg.nnets = 1;
	n->vm->cfg.nets[0].mode = mode;
	strcpy(n->vm->cfg.nets[0].sw, sw);
	if (virtio_net_attach(n->vm, 0))
		return false;
	tdrv_init(&n->t, n->vm->virtio[0], ~0ULL, 16);
	for (u64 i = 0; i < 6; i++) {
		u64 v;
		tdrv_access(&n->t, 0x100 + i, 1, false, &v);
		n->mac[i] = (u8)v;
	}
	for (u16 i = 0; i < NRX; i++) {
		n->rx[i] = tdrv_alloc(&n->t, 2048);
		tdrv_desc(&n->t, RXQ, i, n->rx[i], 2048, VIRTQ_DESC_F_WRITE, 0);
		tdrv_submit(&n->t, RXQ, i);
	}
	tdrv_notify(&n->t, RXQ);
	return true;
}

static void nic_down(struct nic *n)
{
	tdrv_vm_free(n->vm);
	n->vm = NULL;
}

/* nic_send - one frame dst <- src of `len` bytes (payload byte = tag) through the tx queue. */
static void nic_send(struct nic *n, const u8 *dst, u32 len, u8 tag)
{
	gpa_t b = tdrv_alloc(&n->t, HDR + len);
	u8 *p = tdrv_ptr(&n->t, b);
	memcpy(p + HDR, dst, 6);
	memcpy(p + HDR + 6, n->mac, 6);
	p[HDR + 12] = 0x08;
	p[HDR + 13] = 0x00;
	if (len > 14)
		memset(p + HDR + 14, tag, len - 14);
	tdrv_desc(&n->t, TXQ, 0, b, HDR + len, 0, 0);
	tdrv_submit(&n->t, TXQ, 0);
	tdrv_notify(&n->t, TXQ);
}

/* nic_recv - the tag of the next received frame (and its length), or -1. Re-posts the
 * buffer and notifies, as Linux does when the device asks, so the ring never runs dry
 * in long tests (and frames held meanwhile come in). */
static int nic_recv(struct nic *n, u32 *len)
{
	u32 id, l;
	if (!tdrv_used(&n->t, RXQ, &id, &l) || id >= NRX)
		return -1;
	u8 *p = tdrv_ptr(&n->t, n->rx[id]);
	int tag = l > HDR + 14 ? p[HDR + 14] : 0;
	if (len)
		*len = l;
	CHECK_EQ(duo_le16(p + 10), 1); /* num_buffers */
	tdrv_submit(&n->t, RXQ, (u16)id);
	tdrv_notify(&n->t, RXQ);
	return tag;
}

static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

TEST(virtio_net_config_and_mac)
{
	struct nic a, b;
	CHECK(nic_up(&a, "alpha", "t-cfg", NET_SWITCH));
	CHECK(nic_up(&b, "beta", "t-cfg", NET_SWITCH));
	if (!a.vm || !b.vm)
		return;
	u64 v;
	tdrv_access(&a.t, 0x106, 2, false, &v);
	CHECK_EQ(v, 1);		   /* link up */
	CHECK_EQ(a.mac[0] & 3, 2); /* unicast, locally administered */
	CHECK(memcmp(a.mac, b.mac, 6) != 0);
	CHECK(a.t.dev->driver_features & DUO_BIT(5));  /* MAC */
	CHECK(a.t.dev->driver_features & DUO_BIT(16)); /* STATUS */
	u8 again[6];
	memcpy(again, a.mac, 6);
	nic_down(&a);
	CHECK(nic_up(&a, "alpha", "t-cfg", NET_SWITCH)); /* stable across runs */
	CHECK_EQ(memcmp(again, a.mac, 6), 0);
	nic_down(&a);
	/* A configured MAC wins. */
	struct vm *vm = fake_vm(16, 1);
	CHECK(vm);
	if (vm) {
		vm->cfg.nnets = 1;
		strcpy(vm->cfg.nets[0].sw, "t-cfg");
		vm->cfg.nets[0].mac_set = true;
		memcpy(vm->cfg.nets[0].mac, "\x02\x11\x22\x33\x44\x55", 6);
		CHECK_EQ(virtio_net_attach(vm, 0), 0);
		CHECK_EQ(memcmp(vm->virtio[0]->config, "\x02\x11\x22\x33\x44\x55", 6), 0);
		tdrv_vm_free(vm);
	}
	nic_down(&b);
}

TEST(virtio_net_broadcast_between_two_vms)
{
	struct nic a, b;
	CHECK(nic_up(&a, "a", "t-two", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-two", NET_SWITCH));
	if (!a.vm || !b.vm)
		return;
	u32 len = 0;
	nic_send(&a, bcast, 100, 0x42);
	CHECK_EQ(nic_recv(&b, &len), 0x42);
	CHECK_EQ(len, HDR + 100);
	CHECK_EQ(nic_recv(&a, NULL), -1); /* never back to the sender */
	CHECK(tdrv_irq(&b.t));
	/* The frame arrived intact. */
	u8 *p = tdrv_ptr(&b.t, b.rx[0]);
	CHECK_EQ(memcmp(p + HDR, bcast, 6), 0);
	CHECK_EQ(memcmp(p + HDR + 6, a.mac, 6), 0);
	CHECK_EQ(p[HDR + 99], 0x42);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_frames, 1);
	virtio_net_get_stats(b.t.dev, &s);
	CHECK_EQ(s.rx_frames, 1);
	nic_down(&a);
	nic_down(&b);
}

TEST(virtio_net_mac_learning)
{
	struct nic a, b, c;
	CHECK(nic_up(&a, "a", "t-learn", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-learn", NET_SWITCH));
	CHECK(nic_up(&c, "c", "t-learn", NET_SWITCH));
	if (!a.vm || !b.vm || !c.vm)
		return;
	nic_send(&a, b.mac, 60, 1); /* b unknown: flooded */
	CHECK_EQ(nic_recv(&b, NULL), 1);
	CHECK_EQ(nic_recv(&c, NULL), 1);
	nic_send(&b, a.mac, 60, 2); /* a was learnt: only a */
	CHECK_EQ(nic_recv(&a, NULL), 2);
	CHECK_EQ(nic_recv(&c, NULL), -1);
	nic_send(&a, b.mac, 60, 3); /* b learnt from its reply */
	CHECK_EQ(nic_recv(&b, NULL), 3);
	CHECK_EQ(nic_recv(&c, NULL), -1);
	/* A VM that leaves is forgotten: its MAC floods again. */
	u8 cmac[6];
	memcpy(cmac, c.mac, 6);
	nic_send(&c, bcast, 60, 4);
	CHECK_EQ(nic_recv(&a, NULL), 4);
	CHECK_EQ(nic_recv(&b, NULL), 4);
	nic_down(&c);
	nic_send(&a, cmac, 60, 5);
	CHECK_EQ(nic_recv(&b, NULL), 5);
	nic_down(&a);
	nic_down(&b);
}

TEST(virtio_net_separate_switches_do_not_mix)
{
	struct nic a, b;
	CHECK(nic_up(&a, "a", "t-red", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-blue", NET_SWITCH));
	if (!a.vm || !b.vm)
		return;
	nic_send(&a, bcast, 60, 7);
	CHECK_EQ(nic_recv(&b, NULL), -1);
	nic_down(&a);
	nic_down(&b);
}

TEST(virtio_net_rx_without_buffers_holds_then_drops)
{
	struct nic a, b;
	CHECK(nic_up(&a, "a", "t-nobuf", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-nobuf", NET_SWITCH));
	if (!a.vm || !b.vm)
		return;
	/* b does not read: 8 fit its ring, VIRTIO_NET_BACKLOG are held, 5 dropped. */
	for (int i = 0; i < NRX + VIRTIO_NET_BACKLOG + 5; i++)
		nic_send(&a, bcast, 60, (u8)i);
	struct virtio_net_stats s;
	virtio_net_get_stats(b.t.dev, &s);
	CHECK_EQ(s.rx_frames, NRX);
	CHECK_EQ(s.rx_dropped, 5);
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_frames, NRX + VIRTIO_NET_BACKLOG + 5); /* the sender is not held up */
	/* b reads (re-posting and notifying): the held frames follow, in order. */
	for (int i = 0; i < NRX + VIRTIO_NET_BACKLOG; i++)
		CHECK_EQ(nic_recv(&b, NULL), i);
	CHECK_EQ(nic_recv(&b, NULL), -1);
	virtio_net_get_stats(b.t.dev, &s);
	CHECK_EQ(s.rx_frames, NRX + VIRTIO_NET_BACKLOG);
	/* A reset forgets what was held for the old driver. */
	for (int i = 0; i < NRX + 3; i++)
		nic_send(&a, bcast, 60, 0x80);
	tdrv_wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	tdrv_init(&b.t, b.t.dev, ~0ULL, 16);
	for (u16 i = 0; i < NRX; i++) {
		b.rx[i] = tdrv_alloc(&b.t, 2048);
		tdrv_desc(&b.t, RXQ, i, b.rx[i], 2048, VIRTQ_DESC_F_WRITE, 0);
		tdrv_submit(&b.t, RXQ, i);
	}
	tdrv_notify(&b.t, RXQ);
	CHECK_EQ(nic_recv(&b, NULL), -1);
	nic_send(&a, bcast, 60, 0x81);
	CHECK_EQ(nic_recv(&b, NULL), 0x81);
	nic_down(&a);
	nic_down(&b);
}

TEST(virtio_net_rx_buffer_too_small)
{
	struct nic a;
	CHECK(nic_up(&a, "a", "t-small", NET_SWITCH));
	if (!a.vm)
		return;
	tdrv_wr(&a.t, VIRTIO_MMIO_STATUS, 0);
	tdrv_init(&a.t, a.t.dev, ~0ULL, 16);
	gpa_t tiny = tdrv_alloc(&a.t, 20);
	tdrv_desc(&a.t, RXQ, 0, tiny, 20, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&a.t, RXQ, 0);
	u8 frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	CHECK_EQ(virtio_net_rx(a.t.dev, frame, sizeof(frame)), DUO_EAGAIN);
	u32 id, len;
	CHECK_EQ(tdrv_used(&a.t, RXQ, &id, &len), 1);
	CHECK_EQ(len, 0);
	CHECK_EQ(virtio_net_rx(a.t.dev, frame, 10), DUO_EINVAL);
	CHECK_EQ(virtio_net_rx(a.t.dev, frame, NETSW_MAX_FRAME + 1), DUO_EINVAL);
	tdrv_wr(&a.t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(virtio_net_rx(a.t.dev, frame, sizeof(frame)), DUO_EAGAIN); /* not ready */
	nic_down(&a);
}

/* HOSTILE 11: oversize frames and bad tx buffers. */
TEST(virtio_net_hostile_tx_frames)
{
	struct nic a, b;
	CHECK(nic_up(&a, "a", "t-big", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-big", NET_SWITCH));
	if (!a.vm || !b.vm)
		return;
	nic_send(&a, bcast, NETSW_MAX_FRAME + 1, 1);
	nic_send(&a, bcast, 65000, 2);
	nic_send(&a, bcast, 13, 3);
	CHECK_EQ(nic_recv(&b, NULL), -1);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 3);
	CHECK_EQ(tdrv_used_idx(&a.t, TXQ), 3);	 /* buffers still returned */
	nic_send(&a, bcast, NETSW_MAX_FRAME, 4); /* the largest legal frame */
	CHECK_EQ(nic_recv(&b, NULL), 4);
	/* A writable tx buffer breaks the device. */
	gpa_t w = tdrv_alloc(&a.t, 100);
	tdrv_desc(&a.t, TXQ, 0, w, 100, VIRTQ_DESC_F_WRITE, 0);
	tdrv_submit(&a.t, TXQ, 0);
	tdrv_notify(&a.t, TXQ);
	CHECK(tdrv_rd(&a.t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* ... and only that one: b still works. */
	nic_send(&b, bcast, 60, 5);
	CHECK(!(tdrv_rd(&b.t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	nic_down(&a);
	nic_down(&b);
}

/* HOSTILE 11: a transmit flood hits the rate limit; other VMs' traffic flows. */
TEST(virtio_net_hostile_tx_flood_rate_limited)
{
	struct nic a, b, c;
	CHECK(nic_up(&a, "a", "t-flood", NET_SWITCH));
	CHECK(nic_up(&b, "b", "t-flood", NET_SWITCH));
	CHECK(nic_up(&c, "c", "t-flood", NET_SWITCH));
	if (!a.vm || !b.vm || !c.vm)
		return;
	fake.time = 1000;
	virtio_net_set_rate(a.t.dev, 100000, 4 * (1000 + NETSW_FRAME_COST));
	int got = 0;
	for (int i = 0; i < 200; i++) {
		nic_send(&a, b.mac, 1000, 9);
		while (nic_recv(&b, NULL) == 9)
			got++;
	}
	CHECK_EQ(got, 4); /* the burst, then nothing */
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_dropped, 196);
	/* c is not limited by a's flood. */
	for (int i = 0; i < 20; i++)
		nic_send(&c, b.mac, 1000, 8);
	int gotc = 0;
	while (nic_recv(&b, NULL) == 8)
		gotc++;
	CHECK_EQ(gotc, 20); /* 8 in b's ring, 12 held until b read */
	/* A second later a may send 100000 bytes' worth again (bucket caps at 4 frames). */
	fake.time += PLAT_TIMEBASE_HZ;
	got = 0;
	for (int i = 0; i < 10; i++) {
		nic_send(&a, b.mac, 1000, 9);
		while (nic_recv(&b, NULL) == 9)
			got++;
	}
	CHECK_EQ(got, 4);
	/* Unlimited again. */
	virtio_net_set_rate(a.t.dev, 0, 0);
	got = 0;
	for (int i = 0; i < 50; i++) {
		nic_send(&a, b.mac, 1000, 9);
		while (nic_recv(&b, NULL) == 9)
			got++;
	}
	CHECK_EQ(got, 50);
	nic_down(&a);
	nic_down(&b);
	nic_down(&c);
}

/* user/tap mode without a backend hook (the core's weak default): dropped, counted. */
TEST(virtio_net_user_mode_without_host_hook)
{
	struct nic a;
	CHECK(nic_up(&a, "a", "", NET_USER));
	if (!a.vm)
		return;
	nic_send(&a, bcast, 60, 1);
	struct virtio_net_stats s;
	virtio_net_get_stats(a.t.dev, &s);
	CHECK_EQ(s.tx_frames + s.tx_dropped, 1);
	CHECK_EQ(tdrv_used_idx(&a.t, TXQ), 1);
	/* The host delivers through virtio_net_rx. */
	u8 frame[64] = { 0 };
	memcpy(frame, a.mac, 6);
	frame[14] = 0x77;
	CHECK_EQ(virtio_net_rx(virtio_net_dev(a.vm, 0), frame, sizeof(frame)), 0);
	CHECK_EQ(nic_recv(&a, NULL), 0x77);
	nic_down(&a);
}
