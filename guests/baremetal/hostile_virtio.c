/*
 * hostile_virtio.c - hostile bare-metal guest: a virtio-blk driver that breaks the
 * virtqueue rules on purpose (HOSTILE.md items 1-7, 9 and 10).
 *
 * It finds the first virtio-blk among the virtio-mmio slots, sets up one split queue of
 * QSZ entries in its own RAM and polls (interrupts stay off). First sane requests
 * (GET_ID, a read) prove the driver works; then each attack is one request or register
 * write, after which the device must give a defined answer:
 *   - a protocol violation (descriptor loop, index or next out of range, a buffer outside
 *     RAM / at MMIO / wrapping, huge len, malformed indirect table, avail.idx jump,
 *     readable status, readable after writable): the device sets NEEDS_RESET and
 *     completes nothing;
 *   - a well-formed but bad request (sector past the end, unknown type, too large): a
 *     used buffer with status IOERR or UNSUPP;
 *   - queue registers written after DRIVER_OK, QueueNotify for a missing queue: ignored,
 *     the queue keeps working;
 *   - a flood of notifications: bounded, the device still answers.
 * After every attack the device is reset and set up again, and a sane read must work
 * ("recovers_after_reset"). Under QEMU (the reference) an answer other than duovisor's
 * is reported as SKIP naming what QEMU did. Output ends with "hostile_virtio: done".
 */
#include "rt.h"

const char rt_guest_name[] = "hostile_virtio";

#define VIRTIO_BASE 0x10001000UL
#define VIRTIO_STRIDE 0x1000UL
#define VIRTIO_SLOTS 8
#define UART 0x10000000UL

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_AVAIL_LO 0x090
#define R_AVAIL_HI 0x094
#define R_USED_LO 0x0a0
#define R_USED_HI 0x0a4
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_INDIRECT 28
#define F_VERSION_1 32

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

#define T_IN 0
#define T_OUT 1
#define T_GET_ID 8
#define ST_OK 0
#define ST_IOERR 1
#define ST_UNSUPP 2

#define QSZ 8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc desc[QSZ] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[QSZ], used_event;
} avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSZ];
	uint16_t avail_event;
} used __attribute__((aligned(4096)));
static struct desc itable[4] __attribute__((aligned(64)));
static uint8_t hdr[16] __attribute__((aligned(16)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static volatile uint8_t status;

static uintptr_t dev;
static uint64_t capacity, ram_base, ram_end;
static uint16_t avail_idx, used_seen;
static bool indirect; /* negotiated in the current setup */
static unsigned recover_fail;

enum outcome { GOT_USED, GOT_BROKEN, GOT_NOTHING };
static const char *const outcome_name[] = { "a used buffer", "NEEDS_RESET", "no answer" };

static inline void fence(void)
{
	__asm__ volatile("fence rw, rw" ::: "memory");
}

static uint32_t rd(unsigned off)
{
	return rt_mmio_read32(dev + off);
}

static void wr(unsigned off, uint32_t v)
{
	rt_mmio_write32(dev + off, v);
}

static bool find_blk(void)
{
	for (unsigned i = 0; i < VIRTIO_SLOTS; i++) {
		dev = VIRTIO_BASE + i * VIRTIO_STRIDE;
		if (rd(R_MAGIC) == 0x74726976 && rd(R_VERSION) == 2 && rd(R_DEVICE_ID) == 2)
			return true;
	}
	return false;
}

/* setup - reset the device and bring up queue 0 (indirect descriptors if want_indirect
 * and offered). Returns false when the device refuses a step a sane driver takes. */
static bool setup(bool want_indirect)
{
	wr(R_STATUS, 0);
	for (int i = 0; i < 1000 && rd(R_STATUS); i++)
		rt_delay_us(10);
	if (rd(R_STATUS))
		return false;
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DEV_FEATURES_SEL, 0);
	uint32_t lo = rd(R_DEV_FEATURES);
	wr(R_DEV_FEATURES_SEL, 1);
	uint32_t hi = rd(R_DEV_FEATURES);
	indirect = want_indirect && (lo >> F_INDIRECT & 1);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, indirect ? 1u << F_INDIRECT : 0);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, hi & (1u << (F_VERSION_1 - 32)));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return false;
	rt_memset(desc, 0, sizeof(desc));
	rt_memset(&avail, 0, sizeof(avail));
	rt_memset(&used, 0, sizeof(used));
	avail_idx = used_seen = 0;
	wr(R_QUEUE_SEL, 0);
	if (rd(R_QUEUE_NUM_MAX) < QSZ)
		return false;
	wr(R_QUEUE_NUM, QSZ);
	wr(R_DESC_LO, (uint32_t)(uintptr_t)desc);
	wr(R_DESC_HI, (uint32_t)((uint64_t)(uintptr_t)desc >> 32));
	wr(R_AVAIL_LO, (uint32_t)(uintptr_t)&avail);
	wr(R_AVAIL_HI, (uint32_t)((uint64_t)(uintptr_t)&avail >> 32));
	wr(R_USED_LO, (uint32_t)(uintptr_t)&used);
	wr(R_USED_HI, (uint32_t)((uint64_t)(uintptr_t)&used >> 32));
	fence();
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(R_QUEUE_READY) == 1 && !(rd(R_STATUS) & S_NEEDS_RESET);
}

/* request - the usual three-descriptor chain at head 0: header, data, status. */
static void request(uint32_t type, uint64_t sector, uint64_t addr, uint32_t len, bool dwrite)
{
	rt_memset(hdr, 0, sizeof(hdr));
	hdr[0] = (uint8_t)type;
	hdr[1] = (uint8_t)(type >> 8);
	for (int i = 0; i < 8; i++)
		hdr[8 + i] = (uint8_t)(sector >> (8 * i));
	desc[0] = (struct desc){ (uintptr_t)hdr, sizeof(hdr), D_NEXT, 1 };
	desc[1] = (struct desc){ addr, len, (uint16_t)(D_NEXT | (dwrite ? D_WRITE : 0)), 2 };
	desc[2] = (struct desc){ (uintptr_t)&status, 1, D_WRITE, 0 };
	status = 0xee;
}

/* submit - make `head` available, optionally moving avail.idx further, and notify. */
static void submit(uint16_t head, uint16_t extra)
{
	avail.ring[avail_idx % QSZ] = head;
	avail_idx = (uint16_t)(avail_idx + 1 + extra);
	fence();
	*(volatile uint16_t *)&avail.idx = avail_idx;
	fence();
	wr(R_QUEUE_NOTIFY, 0);
}

/* outcome - what the device did with the last submission, within 200 ms (duovisor
 * answers during the notify; QEMU in its own thread). */
static enum outcome outcome(void)
{
	uint64_t end = rt_time() + rt_us_to_ticks(200000);
	do {
		fence();
		if (rd(R_STATUS) & S_NEEDS_RESET)
			return GOT_BROKEN;
		if (*(volatile uint16_t *)&used.idx != used_seen) {
			used_seen++;
			return GOT_USED;
		}
	} while (rt_time() < end);
	return GOT_NOTHING;
}

/* recover - reset, set up again, and a sane read must work. */
static void recover(const char *after)
{
	if (!setup(true)) {
		rt_printf("hostile_virtio: setup failed after %s\n", after);
		recover_fail++;
		return;
	}
	request(T_IN, 0, (uintptr_t)data, 512, true);
	submit(0, 0);
	enum outcome o = outcome();
	if (o != GOT_USED || status != ST_OK) {
		rt_printf("hostile_virtio: read after %s: %s, status %u\n", after, outcome_name[o],
			  status);
		recover_fail++;
	}
}

/* violation - the device must answer the submission just made with NEEDS_RESET. */
static void violation(const char *name)
{
	enum outcome o = outcome();
	if (o != GOT_BROKEN && !rt_on_duovisor())
		rt_skip(name, "QEMU answered with %s (status byte 0x%x)", outcome_name[o], status);
	else
		rt_check(o == GOT_BROKEN, name, "got %s (status byte 0x%x), want NEEDS_RESET",
			 outcome_name[o], status);
	recover(name);
}

/* answered - a well-formed bad request: a used buffer with status `want`. */
static void answered(const char *name, uint8_t want)
{
	enum outcome o = outcome();
	rt_check(o == GOT_USED && status == want, name, "got %s with status 0x%x, want 0x%x",
		 outcome_name[o], status, want);
	recover(name);
}

static void sane(void)
{
	rt_memset(data, 0, 64);
	request(T_GET_ID, 0, (uintptr_t)data, 20, true);
	submit(0, 0);
	enum outcome o = outcome();
	rt_check(o == GOT_USED && status == ST_OK, "get_id", "got %s, status 0x%x", outcome_name[o],
		 status);
	if (rt_on_duovisor())
		rt_check(!rt_strncmp((const char *)data, "duovisor-", 9), "get_id_value",
			 "id \"%.20s\"", (const char *)data);
	request(T_IN, 0, (uintptr_t)data, 4096, true);
	submit(0, 0);
	o = outcome();
	uint32_t len = used.ring[(uint16_t)(used_seen - 1) % QSZ].len;
	rt_check(o == GOT_USED && status == ST_OK && len == 4097, "read_sane",
		 "got %s, status 0x%x, used len %u (want 4096 + status)", outcome_name[o], status,
		 (unsigned)len);
}

/* Well-formed requests the device must refuse with a status (item 10, item 4). */
static void bad_requests(void)
{
	request(T_IN, capacity, (uintptr_t)data, 512, true);
	submit(0, 0);
	answered("read_past_end_ioerr", ST_IOERR);
	request(T_OUT, capacity - 1, (uintptr_t)data, 1024, false);
	submit(0, 0);
	answered("write_straddling_end_ioerr", ST_IOERR);
	request(0x55, 0, (uintptr_t)data, 512, true);
	submit(0, 0);
	answered("unknown_type_unsupp", ST_UNSUPP);
	/* A quarter of RAM in one buffer, far beyond any request limit. */
	request(T_IN, 0, ram_base + (ram_end - ram_base) / 2, (uint32_t)((ram_end - ram_base) / 4),
		true);
	submit(0, 0);
	answered("request_too_large_ioerr", ST_IOERR);
}

/* Broken chains (items 1-3, 10). */
static void bad_chains(void)
{
	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[2].flags |= D_NEXT; /* 1 -> 2 -> 1 ...: writable buffers in a ring */
	desc[2].next = 1;
	submit(0, 0);
	violation("desc_loop");

	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[0].next = 0;
	submit(0, 0);
	violation("desc_self_loop");

	request(T_IN, 0, (uintptr_t)data, 512, true);
	submit(QSZ + 5, 0);
	violation("head_out_of_range");

	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[1].next = 200;
	submit(0, 0);
	violation("next_out_of_range");

	request(T_IN, 0, ram_end, 512, true);
	submit(0, 0);
	violation("buffer_past_ram_end");

	request(T_IN, 0, ram_end - 256, 512, true);
	submit(0, 0);
	violation("buffer_straddles_ram_end");

	request(T_IN, 0, ~0UL - 0xfff, 0x2000, true);
	submit(0, 0);
	violation("buffer_addr_wraps");

	request(T_IN, 0, ram_base, 0xffffffffu, true);
	submit(0, 0);
	violation("buffer_len_4g");

	if (rt_on_duovisor()) {
		request(T_IN, 0, UART, 512, true);
		submit(0, 0);
		violation("buffer_at_mmio");
	} else {
		/* QEMU would DMA into its UART (disk bytes on the console). */
		rt_skip("buffer_at_mmio", "QEMU maps DMA to device memory");
	}

	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[2].flags = 0; /* status byte device-readable, after a writable buffer */
	submit(0, 0);
	violation("readable_after_writable");

	request(T_OUT, 0, (uintptr_t)data, 512, false);
	desc[2].flags = 0; /* nothing writable at all: nowhere to put the status */
	submit(0, 0);
	violation("no_writable_status");
}

/* Indirect tables (item 5). */
static void bad_indirect(void)
{
	if (!setup(false)) {
		rt_fail("indirect_setup", "setup without INDIRECT_DESC failed");
		return;
	}
	itable[0] = (struct desc){ (uintptr_t)hdr, sizeof(hdr), 0, 0 };
	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[0] = (struct desc){ (uintptr_t)itable, 16, D_INDIRECT, 0 };
	submit(0, 0);
	violation("indirect_not_negotiated"); /* recover() negotiates INDIRECT again */
	if (!indirect) {
		rt_skip("indirect_bad_len", "the device does not offer INDIRECT_DESC");
		return;
	}

	request(T_IN, 0, (uintptr_t)data, 512, true);
	itable[0] = desc[0];
	itable[0].next = 1;
	itable[1] = desc[1];
	itable[1].next = 2;
	itable[2] = desc[2];
	desc[0] = (struct desc){ (uintptr_t)itable, 3 * 16, D_INDIRECT, 0 };
	status = 0xee;
	submit(0, 0);
	enum outcome o = outcome();
	rt_check(o == GOT_USED && status == ST_OK, "indirect_sane", "got %s, status 0x%x",
		 outcome_name[o], status);

	desc[0].len = 24;
	submit(0, 0);
	violation("indirect_bad_len");

	request(T_IN, 0, (uintptr_t)data, 512, true);
	desc[0] = (struct desc){ (uintptr_t)itable, 3 * 16, D_INDIRECT | D_NEXT, 1 };
	submit(0, 0);
	violation("indirect_with_next");

	itable[3] = (struct desc){ (uintptr_t)itable, 3 * 16, D_INDIRECT, 0 };
	desc[0] = (struct desc){ (uintptr_t)&itable[3], 16, D_INDIRECT, 0 };
	submit(0, 0);
	violation("indirect_nested");

	desc[0] = (struct desc){ ram_end - 16, 64, D_INDIRECT, 0 };
	submit(0, 0);
	violation("indirect_table_outside_ram");
}

/* Ring and register abuse (items 6, 7, 9). */
static void bad_rings(void)
{
	request(T_IN, 0, (uintptr_t)data, 512, true);
	submit(0, 1000);
	uint16_t before = *(volatile uint16_t *)&used.idx;
	enum outcome o = outcome();
	uint16_t after = *(volatile uint16_t *)&used.idx;
	/* One read of the status byte for the decision and the check: QEMU's device may still
	 * write it in between (it did once: skip decided on 0xee, check then saw 0x00). */
	uint8_t st = status;
	if ((o != GOT_BROKEN || after != before || st != 0xee) && !rt_on_duovisor())
		rt_skip("avail_idx_jump", "QEMU answered with %s, used.idx %u -> %u, status 0x%x",
			outcome_name[o], before, after, st);
	else
		rt_check(o == GOT_BROKEN && after == before && st == 0xee, "avail_idx_jump",
			 "got %s, used.idx %u -> %u, status 0x%x", outcome_name[o], before, after,
			 st);
	recover("avail_idx_jump");

	/* Queue registers after DRIVER_OK and notifies for missing queues: ignored. */
	wr(R_QUEUE_NUM, 3);
	wr(R_QUEUE_NUM, 0);
	wr(R_QUEUE_NUM, 1u << 20);
	wr(R_DESC_LO, 0x1234);
	wr(R_USED_LO, 0);
	wr(R_QUEUE_NOTIFY, 7);
	wr(R_QUEUE_NOTIFY, 0xffffffffu);
	wr(R_QUEUE_SEL, 5);
	uint32_t missing_ready = rd(R_QUEUE_READY);
	wr(R_QUEUE_READY, 1);
	wr(R_QUEUE_SEL, 0);
	request(T_IN, 0, (uintptr_t)data, 512, true);
	submit(0, 0);
	o = outcome();
	if ((o != GOT_USED || status != ST_OK) && !rt_on_duovisor())
		rt_skip("queue_regs_after_driver_ok", "QEMU answered with %s", outcome_name[o]);
	else
		rt_check(o == GOT_USED && status == ST_OK && !missing_ready,
			 "queue_regs_after_driver_ok",
			 "then %s, status 0x%x, missing queue ready %u", outcome_name[o], status,
			 missing_ready);
	recover("queue registers");

	/* A flood of notifications, QSZ requests in flight at a time, used ring unread. */
	unsigned long n = 0, t0 = rt_time();
	request(T_IN, 0, (uintptr_t)data, 512, true);
	for (n = 0; n < 20000; n++) {
		avail.ring[avail_idx % QSZ] = 0;
		avail_idx++;
		fence();
		*(volatile uint16_t *)&avail.idx = avail_idx;
		wr(R_QUEUE_NOTIFY, 0);
		if (rd(R_STATUS) & S_NEEDS_RESET)
			break;
		/* never more than QSZ outstanding: wait for the device, not for the driver */
		while ((uint16_t)(avail_idx - *(volatile uint16_t *)&used.idx) >= QSZ &&
		       !(rd(R_STATUS) & S_NEEDS_RESET))
			fence();
	}
	rt_printf("hostile_virtio: %lu notifications in %lu ms, used.idx %u\n", n,
		  (unsigned long)((rt_time() - t0) * 1000 / rt_timebase),
		  *(volatile uint16_t *)&used.idx);
	rt_check(n == 20000, "notify_flood", "device broke after %lu notifications", n);
	recover("notify_flood");
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t size = 0;
	ram_base = 0x80000000;
	if (!rt_fdt_memory(&ram_base, &size)) {
		rt_fail("dtb", "no /memory range in the device tree");
		return;
	}
	ram_end = ram_base + size;
	if (!find_blk()) {
		rt_skip("virtio_blk", "no virtio-blk device in slots 0..%d", VIRTIO_SLOTS - 1);
		return;
	}
	capacity = rd(R_CONFIG) | (uint64_t)rd(R_CONFIG + 4) << 32;
	rt_printf("hostile_virtio: virtio-blk at 0x%lx, %lu sectors, RAM 0x%lx..0x%lx\n",
		  (unsigned long)dev, (unsigned long)capacity, (unsigned long)ram_base,
		  (unsigned long)ram_end);
	if (!rt_check(setup(true), "setup", "the device refused a sane setup") || !capacity)
		return;
	sane();
	rt_printf("hostile_virtio: attacks start\n");
	bad_requests();
	bad_chains();
	bad_indirect();
	bad_rings();
	rt_check(!recover_fail, "recovers_after_reset", "%u recoveries failed", recover_fail);
	wr(R_STATUS, 0);
	rt_printf("hostile_virtio: done\n");
}
