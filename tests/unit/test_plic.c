/*
 * test_plic.c - register-level tests of the PLIC model (core/dev/plic.c) through the
 * VM's MMIO bus: the level-triggered gateway, claim order by priority and id, the
 * threshold, complete (including hostile completes of ids never claimed), several
 * contexts, out-of-range sources and contexts, and non-32-bit accesses (HOSTILE 13, 16).
 * The context outputs are observed where the backend sees them: fake.irq[v][IRQ_S_EXT].
 */
#include <string.h>

#include <duo/err.h>
#include <duo/plic.h>

#include "fake_host.h"
#include "harness.h"

#define PRIO(s) (4ULL * (s))
#define PENDING 0x1000ULL
#define ENABLE(c) (0x2000ULL + 0x80ULL * (c))
#define THRESH(c) (0x200000ULL + 0x1000ULL * (c))
#define CLAIM(c) (0x200004ULL + 0x1000ULL * (c))

static u64 rdw(struct vm *vm, u64 off, unsigned width)
{
	u64 v = 0xdeadbeef;
	CHECK_EQ(mmio_access(&vm->bus, PLAT_PLIC_BASE + off, width, false, &v), 0);
	return v;
}

static u32 rd(struct vm *vm, u64 off)
{
	return (u32)rdw(vm, off, 4);
}

static void wrw(struct vm *vm, u64 off, unsigned width, u64 val)
{
	CHECK_EQ(mmio_access(&vm->bus, PLAT_PLIC_BASE + off, width, true, &val), 0);
}

static void wr(struct vm *vm, u64 off, u32 val)
{
	wrw(vm, off, 4, val);
}

static bool ext(int cpu)
{
	return fake.irq[cpu][IRQ_S_EXT];
}

TEST(plic_claim_complete_level)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(3), 1);
	wr(vm, ENABLE(0), 1u << 3);
	CHECK(!ext(0));
	plic_set_irq(vm->plic, 3, true);
	CHECK(ext(0));
	CHECK_EQ(rd(vm, PENDING), 1u << 3);
	CHECK_EQ(rd(vm, CLAIM(0)), 3);
	CHECK(!ext(0)); /* claimed: the output drops */
	CHECK_EQ(rd(vm, PENDING), 0);
	CHECK_EQ(rd(vm, CLAIM(0)), 0); /* nothing else to claim */
	plic_set_irq(vm->plic, 3, true); /* still high while claimed: gateway closed */
	CHECK(!ext(0));
	wr(vm, CLAIM(0), 3); /* complete with the line high: pends again */
	CHECK(ext(0));
	CHECK_EQ(rd(vm, PENDING), 1u << 3);
	plic_set_irq(vm->plic, 3, false); /* the device went quiet before the claim */
	CHECK(!ext(0));
	CHECK_EQ(rd(vm, PENDING), 0);
	CHECK_EQ(rd(vm, CLAIM(0)), 0);
	fake_vm_free(vm);
}

TEST(plic_complete_after_line_dropped_does_not_repend)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(5), 2);
	wr(vm, ENABLE(0), 1u << 5);
	plic_set_irq(vm->plic, 5, true);
	CHECK_EQ(rd(vm, CLAIM(0)), 5);
	plic_set_irq(vm->plic, 5, false);
	wr(vm, CLAIM(0), 5);
	CHECK(!ext(0));
	CHECK_EQ(rd(vm, PENDING), 0);
	/* A second complete of the same id is ignored (it is no longer claimed). */
	wr(vm, CLAIM(0), 5);
	plic_set_irq(vm->plic, 5, true);
	CHECK(ext(0));
	fake_vm_free(vm);
}

TEST(plic_claim_order_priority_then_lowest_id)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(2), 1);
	wr(vm, PRIO(5), 3);
	wr(vm, PRIO(7), 3);
	wr(vm, PRIO(31), 2);
	wr(vm, ENABLE(0), (1u << 2) | (1u << 5) | (1u << 7) | (1u << 31));
	plic_set_irq(vm->plic, 31, true);
	plic_set_irq(vm->plic, 7, true);
	plic_set_irq(vm->plic, 2, true);
	plic_set_irq(vm->plic, 5, true);
	CHECK_EQ(rd(vm, CLAIM(0)), 5);
	CHECK_EQ(rd(vm, CLAIM(0)), 7);
	CHECK_EQ(rd(vm, CLAIM(0)), 31);
	CHECK(ext(0));
	CHECK_EQ(rd(vm, CLAIM(0)), 2);
	CHECK(!ext(0));
	CHECK_EQ(rd(vm, CLAIM(0)), 0);
	/* Completing out of order is fine; each re-pends because its line is high. */
	wr(vm, CLAIM(0), 7);
	wr(vm, CLAIM(0), 2);
	CHECK_EQ(rd(vm, PENDING), (1u << 2) | (1u << 7));
	CHECK_EQ(rd(vm, CLAIM(0)), 7);
	fake_vm_free(vm);
}

TEST(plic_threshold_and_priority_zero)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(4), 2);
	wr(vm, PRIO(6), 0); /* priority 0: never interrupts */
	wr(vm, ENABLE(0), (1u << 4) | (1u << 6));
	plic_set_irq(vm->plic, 6, true);
	CHECK(!ext(0));
	CHECK_EQ(rd(vm, PENDING), 1u << 6); /* pending is visible all the same */
	CHECK_EQ(rd(vm, CLAIM(0)), 0);
	wr(vm, THRESH(0), 2);
	CHECK_EQ(rd(vm, THRESH(0)), 2);
	plic_set_irq(vm->plic, 4, true);
	CHECK(!ext(0)); /* priority must be strictly above the threshold */
	CHECK_EQ(rd(vm, CLAIM(0)), 0);
	wr(vm, THRESH(0), 1);
	CHECK(ext(0));
	wr(vm, THRESH(0), 7);
	CHECK(!ext(0));
	wr(vm, PRIO(4), 8); /* raising the priority also re-evaluates */
	CHECK(ext(0));
	CHECK_EQ(rd(vm, CLAIM(0)), 4);
	wr(vm, ENABLE(0), 0);
	wr(vm, CLAIM(0), 4);
	CHECK(!ext(0)); /* pending again but disabled */
	wr(vm, ENABLE(0), 1u << 4);
	CHECK(ext(0));
	fake_vm_free(vm);
}

TEST(plic_contexts_are_per_vcpu)
{
	NEW_FAKE_VM(vm, 16, 2);
	wr(vm, PRIO(9), 1);
	wr(vm, ENABLE(1), 1u << 9);
	plic_set_irq(vm->plic, 9, true);
	CHECK(!ext(0));
	CHECK(ext(1));
	CHECK_EQ(rd(vm, CLAIM(0)), 0); /* not enabled for context 0 */
	wr(vm, ENABLE(0), 1u << 9);
	CHECK(ext(0));
	/* One gateway per source: context 1's claim takes it from context 0 too. */
	CHECK_EQ(rd(vm, CLAIM(1)), 9);
	CHECK(!ext(0));
	CHECK(!ext(1));
	CHECK_EQ(rd(vm, CLAIM(0)), 0);
	wr(vm, CLAIM(1), 9);
	CHECK(ext(0));
	CHECK(ext(1));
	wr(vm, THRESH(1), 1);
	CHECK(ext(0));
	CHECK(!ext(1));
	fake_vm_free(vm);
}

/* HOSTILE 16: out-of-range sources, contexts and completes are ignored. */
TEST(plic_hostile_out_of_range)
{
	NEW_FAKE_VM(vm, 16, 2);
	wr(vm, PRIO(1), 1);
	wr(vm, ENABLE(0), 1u << 1);
	plic_set_irq(vm->plic, 1, true);
	CHECK_EQ(rd(vm, CLAIM(0)), 1);
	int calls = fake.irq_calls;
	/* Completes of ids never claimed, source 0, and beyond the last source. */
	u32 bad_ids[] = { 0, 2, 31, 32, 33, 1024, 0x80000001u, 0xffffffffu };
	for (unsigned i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		wr(vm, CLAIM(0), bad_ids[i]);
	CHECK_EQ(vm->plic->claimed, 1u << 1);
	CHECK_EQ(fake.irq_calls, calls);
	/* Source 0 is hardwired: no priority, no enable bit. */
	wr(vm, PRIO(0), 7);
	CHECK_EQ(rd(vm, PRIO(0)), 0);
	wr(vm, ENABLE(0), 0xffffffffu);
	CHECK_EQ(rd(vm, ENABLE(0)), 0xfffffffeu);
	/* Priorities past the last source, and other enable words, read 0. */
	wr(vm, PRIO(PLIC_NSRC), 5);
	CHECK_EQ(rd(vm, PRIO(PLIC_NSRC)), 0);
	CHECK_EQ(rd(vm, 0xffc), 0);
	wr(vm, ENABLE(0) + 4, 0xffffffffu);
	CHECK_EQ(rd(vm, ENABLE(0) + 4), 0);
	/* Pending is read-only. */
	wr(vm, PENDING, 0xffffffffu);
	CHECK_EQ(rd(vm, PENDING), 0);
	wr(vm, PENDING + 4, 0xffffffffu);
	CHECK_EQ(rd(vm, PENDING + 4), 0);
	/* Contexts 2.. do not exist in a 2-vCPU VM. */
	u32 ctxs[] = { 2, 7, 8, 100, 1023 };
	for (unsigned i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
		u32 c = ctxs[i];
		if (ENABLE(c) < 0x200000) {
			wr(vm, ENABLE(c), 0xffffffffu);
			CHECK_EQ(rd(vm, ENABLE(c)), 0);
		}
		wr(vm, THRESH(c), 3);
		CHECK_EQ(rd(vm, THRESH(c)), 0);
		CHECK_EQ(rd(vm, CLAIM(c)), 0);
		wr(vm, CLAIM(c), 1);
	}
	CHECK_EQ(vm->plic->claimed, 1u << 1);
	/* Device lines outside 1..NDEV are ignored. */
	plic_set_irq(vm->plic, 0, true);
	plic_set_irq(vm->plic, PLIC_NSRC, true);
	plic_set_irq(vm->plic, 0xffffffffu, true);
	CHECK_EQ(vm->plic->level, 1u << 1);
	fake_vm_free(vm);
}

/* HOSTILE 13: only aligned 32-bit accesses act; everything else reads 0, does nothing. */
TEST(plic_non_word_accesses)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(3), 5);
	wr(vm, ENABLE(0), 1u << 3);
	plic_set_irq(vm->plic, 3, true);
	unsigned widths[] = { 1, 2, 8 };
	for (unsigned i = 0; i < 3; i++) {
		unsigned w = widths[i];
		CHECK_EQ(rdw(vm, PRIO(3), w), 0);
		CHECK_EQ(rdw(vm, CLAIM(0), w), 0); /* and no claim happened */
		wrw(vm, PRIO(3), w, 1);
		wrw(vm, THRESH(0), w, 7);
		wrw(vm, ENABLE(0), w, 0);
	}
	CHECK_EQ(rd(vm, PRIO(3)), 5);
	CHECK_EQ(rd(vm, THRESH(0)), 0);
	CHECK_EQ(rd(vm, ENABLE(0)), 1u << 3);
	CHECK(ext(0));
	/* Misaligned 32-bit accesses. */
	for (u64 d = 1; d < 4; d++) {
		CHECK_EQ(rdw(vm, CLAIM(0) + d, 4), 0);
		wrw(vm, PRIO(3) + d, 4, 0);
	}
	CHECK_EQ(rd(vm, PRIO(3)), 5);
	CHECK_EQ(rd(vm, CLAIM(0)), 3);
	/* The last word of the window and a straddle past it. */
	CHECK_EQ(rd(vm, PLAT_PLIC_SIZE - 4), 0);
	u64 v;
	CHECK_EQ(mmio_access(&vm->bus, PLAT_PLIC_BASE + PLAT_PLIC_SIZE - 2, 4, false, &v),
		 DUO_EFAULT);
	fake_vm_free(vm);
}

/* Every word of the window, read and then written with all-ones: nothing crashes, and
 * only the registers that exist change. */
TEST(plic_window_sweep)
{
	NEW_FAKE_VM(vm, 16, 2);
	for (u64 off = 0; off < PLAT_PLIC_SIZE; off += 4) {
		u32 v = rd(vm, off);
		if (v)
			CHECK_EQ(v, 0); /* reset state: everything reads 0 */
	}
	for (u64 off = 0; off < PLAT_PLIC_SIZE; off += 4)
		wr(vm, off, 0xffffffffu);
	CHECK_EQ(rd(vm, PRIO(1)), 0xffffffffu);
	CHECK_EQ(rd(vm, PRIO(0)), 0);
	CHECK_EQ(rd(vm, ENABLE(1)), 0xfffffffeu);
	CHECK_EQ(rd(vm, THRESH(1)), 0xffffffffu);
	CHECK_EQ(rd(vm, THRESH(2)), 0);
	CHECK_EQ(vm->plic->claimed, 0);
	/* Threshold all-ones masks everything, even priority all-ones. */
	plic_set_irq(vm->plic, 1, true);
	CHECK(!ext(0));
	wr(vm, THRESH(0), 0);
	CHECK(ext(0));
	fake_vm_free(vm);
}

TEST(plic_reset_lowers_outputs)
{
	NEW_FAKE_VM(vm, 16, 2);
	wr(vm, PRIO(2), 1);
	wr(vm, ENABLE(0), 1u << 2);
	wr(vm, ENABLE(1), 1u << 2);
	wr(vm, THRESH(1), 0);
	plic_set_irq(vm->plic, 2, true);
	CHECK(ext(0));
	CHECK(ext(1));
	plic_reset(vm->plic);
	CHECK(!ext(0));
	CHECK(!ext(1));
	CHECK_EQ(rd(vm, PRIO(2)), 0);
	CHECK_EQ(rd(vm, ENABLE(0)), 0);
	/* The device's line is still high: once re-enabled it interrupts again. */
	CHECK_EQ(rd(vm, PENDING), 1u << 2);
	wr(vm, PRIO(2), 1);
	wr(vm, ENABLE(0), 1u << 2);
	CHECK(ext(0));
	fake_vm_free(vm);
}

/* The output is only pushed to the backend when it changes. */
TEST(plic_set_irq_only_on_change)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr(vm, PRIO(8), 1);
	wr(vm, ENABLE(0), 1u << 8);
	int calls = fake.irq_calls;
	for (int i = 0; i < 100; i++)
		plic_set_irq(vm->plic, 8, true);
	CHECK_EQ(fake.irq_calls, calls + 1);
	for (int i = 0; i < 100; i++)
		plic_set_irq(vm->plic, 8, false);
	CHECK_EQ(fake.irq_calls, calls + 2);
	fake_vm_free(vm);
}
