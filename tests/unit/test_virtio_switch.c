/*
 * test_virtio_switch.c - the virtual switch (core/net/switch.c) on its own, with plain
 * recording ports instead of virtio-net: the name table, port limits, learning and
 * aging, hairpin, rate-limit refill arithmetic, and frame size checks.
 */
#include <string.h>

#include <duo/err.h>
#include <duo/netsw.h>
#include <duo/platform.h>

#include "fake_host.h"
#include "harness.h"

struct rec_port {
	struct netsw_port p;
	int frames;
	u8 last[NETSW_MAX_FRAME];
	size_t last_len;
	int refuse; /* deliver returns this */
};

static int rec_deliver(struct netsw_port *p, const void *frame, size_t len)
{
	struct rec_port *r = p->opaque;
	if (r->refuse)
		return r->refuse;
	r->frames++;
	memcpy(r->last, frame, len);
	r->last_len = len;
	return 0;
}

static struct vm *the_vm; /* host_time_now ignores it in the fake host */

static void port_init(struct rec_port *r)
{
	memset(r, 0, sizeof(*r));
	r->p.vm = the_vm;
	r->p.deliver = rec_deliver;
	r->p.opaque = r;
}

static void frame(u8 *f, u8 dst_last, u8 src_last)
{
	memset(f, 0, 64);
	f[0] = 0x52;
	f[5] = dst_last;
	f[6] = 0x52;
	f[11] = src_last;
}

TEST(netsw_names_and_refs)
{
	struct netsw *a = netsw_get("t-sw-a"), *a2 = netsw_get("t-sw-a"), *b = netsw_get("t-sw-b");
	CHECK(a && b);
	CHECK(a == a2);
	CHECK(a != b);
	CHECK_EQ(strcmp(netsw_name(a), "t-sw-a"), 0);
	CHECK(netsw_get("") == NULL);
	CHECK(netsw_get(NULL) == NULL);
	CHECK(netsw_get("0123456789012345678901234567890123456789") == NULL);
	netsw_put(a);
	netsw_put(a2);
	netsw_put(b);
	/* The table is finite and entries come back when released. */
	struct netsw *all[NETSW_MAX_SWITCHES + 1];
	char name[32];
	int got = 0;
	for (int i = 0; i < NETSW_MAX_SWITCHES + 1; i++) {
		snprintf(name, sizeof(name), "t-many-%d", i);
		all[i] = netsw_get(name);
		got += all[i] != NULL;
	}
	CHECK_EQ(got, NETSW_MAX_SWITCHES);
	CHECK(all[NETSW_MAX_SWITCHES] == NULL);
	for (int i = 0; i < NETSW_MAX_SWITCHES; i++)
		netsw_put(all[i]);
	struct netsw *again = netsw_get("t-many-x");
	CHECK(again != NULL);
	netsw_put(again);
}

TEST(netsw_port_limit_and_detach)
{
	struct netsw *sw = netsw_get("t-ports");
	static struct rec_port ports[NETSW_MAX_PORTS + 1];
	CHECK(sw);
	if (!sw)
		return;
	for (int i = 0; i < NETSW_MAX_PORTS; i++) {
		port_init(&ports[i]);
		CHECK_EQ(netsw_attach(sw, &ports[i].p), 0);
	}
	port_init(&ports[NETSW_MAX_PORTS]);
	CHECK_EQ(netsw_attach(sw, &ports[NETSW_MAX_PORTS].p), DUO_ENOMEM);
	CHECK_EQ(netsw_send(&ports[NETSW_MAX_PORTS].p, "x", 1), DUO_ENOENT);
	u8 f[64];
	frame(f, 0xff, 1);
	f[0] = 0xff; /* broadcast */
	CHECK_EQ(netsw_send(&ports[0].p, f, 64), 0);
	for (int i = 1; i < NETSW_MAX_PORTS; i++)
		CHECK_EQ(ports[i].frames, 1);
	CHECK_EQ(ports[0].frames, 0);
	for (int i = 0; i < NETSW_MAX_PORTS; i++)
		netsw_detach(&ports[i].p);
	CHECK(ports[0].p.sw == NULL);
	netsw_detach(&ports[0].p); /* twice is harmless */
	netsw_put(sw);
}

TEST(netsw_learning_hairpin_and_refusal)
{
	struct netsw *sw = netsw_get("t-hairpin");
	struct rec_port a, b, c;
	CHECK(sw);
	if (!sw)
		return;
	port_init(&a);
	port_init(&b);
	port_init(&c);
	netsw_attach(sw, &a.p);
	netsw_attach(sw, &b.p);
	netsw_attach(sw, &c.p);
	u8 f[64];
	frame(f, 0xb, 0xa);
	netsw_send(&a.p, f, 64); /* learn a; b unknown -> flood */
	CHECK_EQ(b.frames, 1);
	CHECK_EQ(c.frames, 1);
	frame(f, 0xa, 0xa); /* to itself: a's MAC lives on a -> hairpin, dropped */
	netsw_send(&a.p, f, 64);
	CHECK_EQ(a.frames, 0);
	CHECK_EQ(b.frames, 1);
	CHECK_EQ(c.frames, 1);
	/* A MAC moving to another port follows it. */
	frame(f, 0xff, 0xa);
	netsw_send(&c.p, f, 64);
	frame(f, 0xa, 0xb);
	netsw_send(&b.p, f, 64);
	CHECK_EQ(c.frames, 2);
	CHECK_EQ(a.frames, 1); /* from the flood of 0xff (unknown unicast) */
	/* A refusing port counts its drops; the sender still succeeds. */
	c.refuse = DUO_EAGAIN;
	frame(f, 0xa, 0xb);
	CHECK_EQ(netsw_send(&b.p, f, 64), 0);
	CHECK_EQ(c.p.rx_dropped, 1);
	/* Size limits. */
	CHECK_EQ(netsw_send(&b.p, f, 13), DUO_EINVAL);
	CHECK_EQ(netsw_send(&b.p, f, NETSW_MAX_FRAME + 1), DUO_EINVAL);
	CHECK_EQ(b.p.tx_dropped, 2);
	netsw_detach(&a.p);
	netsw_detach(&b.p);
	netsw_detach(&c.p);
	netsw_put(sw);
}

TEST(netsw_fdb_replacement_is_lru)
{
	struct netsw *sw = netsw_get("t-lru");
	struct rec_port a, b, c;
	CHECK(sw);
	if (!sw)
		return;
	port_init(&a);
	port_init(&b);
	port_init(&c);
	netsw_attach(sw, &a.p);
	netsw_attach(sw, &b.p);
	netsw_attach(sw, &c.p);
	netsw_port_set_rate(&a.p, 0, 0);
	u8 f[64];
	/* a shows NETSW_FDB_SIZE + 10 source MACs; the 10 oldest must be evicted. */
	for (int i = 0; i < NETSW_FDB_SIZE + 10; i++) {
		frame(f, 0xff, 0);
		f[0] = 0xff;
		f[10] = (u8)(i >> 8);
		f[11] = (u8)i;
		netsw_send(&a.p, f, 64);
	}
	int ca = a.frames, cc = c.frames;
	/* To the newest: known, on a only. */
	frame(f, 0, 0x77);
	f[4] = (u8)((NETSW_FDB_SIZE + 9) >> 8);
	f[5] = (u8)(NETSW_FDB_SIZE + 9);
	netsw_send(&b.p, f, 64);
	CHECK_EQ(a.frames, ca + 1);
	CHECK_EQ(c.frames, cc);
	/* To the oldest: forgotten, so flooded to a and c. */
	frame(f, 0, 0x77);
	netsw_send(&b.p, f, 64);
	CHECK_EQ(a.frames, ca + 2);
	CHECK_EQ(c.frames, cc + 1);
	netsw_detach(&a.p);
	netsw_detach(&b.p);
	netsw_detach(&c.p);
	netsw_put(sw);
}

TEST(netsw_token_bucket_refill)
{
	struct netsw *sw = netsw_get("t-bucket");
	struct rec_port a, b;
	CHECK(sw);
	if (!sw)
		return;
	port_init(&a);
	port_init(&b);
	netsw_attach(sw, &a.p);
	netsw_attach(sw, &b.p);
	fake.time = 5;
	/* 1000 B/s; the burst is raised to one full frame's cost (1582). */
	netsw_port_set_rate(&a.p, 1000, 1);
	CHECK_EQ(a.p.tb.burst, NETSW_MAX_FRAME + NETSW_FRAME_COST);
	u8 f[100];
	frame(f, 0xff, 1);
	int ok = 0;
	for (int i = 0; i < 100; i++)
		ok += netsw_send(&a.p, f, 100) == 0;
	CHECK_EQ(ok, 9); /* 9 x 164 = 1476; 106 left */
	CHECK_EQ(a.p.tx_dropped, 91);
	/* 58 more bytes are needed. Earn them in half-byte steps: fractions must not be
	 * lost, so the 116th step (and no earlier one) lets a frame through. */
	int first = -1;
	for (int i = 0; i < 116; i++) {
		fake.time += PLAT_TIMEBASE_HZ / 2000;
		if (netsw_send(&a.p, f, 100) == 0 && first < 0)
			first = i;
	}
	CHECK_EQ(first, 115);
	/* A clock that goes backwards earns nothing and breaks nothing. */
	fake.time = 0;
	CHECK_EQ(netsw_send(&a.p, f, 100), DUO_EAGAIN);
	/* A very long idle period fills the bucket exactly. */
	fake.time = 1ULL << 62;
	CHECK_EQ(netsw_send(&a.p, f, 100), 0);
	CHECK_EQ(a.p.tb.tokens, a.p.tb.burst - 164);
	netsw_detach(&a.p);
	netsw_detach(&b.p);
	netsw_put(sw);
}
