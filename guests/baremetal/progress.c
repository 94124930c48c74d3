/*
 * progress.c - a CPU-bound guest on every hart of its VM, for the scheduling system
 * tests (several VMs on few harts: does every vCPU make progress?).
 *
 * Every hart the device tree lists is started (HSM) and spins incrementing a counter of
 * its own, interrupts off, never yielding: only the hypervisor's time slicing can take
 * the hart away. Once every hart has counted, the boot hart also spins, and every 2 s
 * (by `time`) prints
 *   progress: round <r> <hart>=<count> <hart>=<count> ...
 * After ROUNDS rounds it checks that every hart's counter grew in every round
 * (PASS all_harts_progress), reports the smallest and largest count of the last round,
 * and shuts its VM down through SBI SRST with the usual summary.
 */
#include "rt.h"

const char rt_guest_name[] = "progress";

#define ROUNDS 5
#define ROUND_US 2000000

struct counter {
	volatile uint64_t n;
	char pad[56]; /* one cache line each */
};

/* Not in a page with code: QEMU's TCG takes a slow path for every store to a page that also
 * holds translated code (seen: 100x fewer increments with the counters next to .text). */
static struct counter counters[RT_MAX_HARTS] __attribute__((aligned(4096)));
static unsigned long hart_ids[RT_MAX_HARTS];
static int nharts;

static void spin(unsigned long hartid, unsigned long opaque)
{
	struct counter *c = &counters[hartid % RT_MAX_HARTS];
	for (;;)
		c->n++;
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t seen[RT_MAX_HARTS] = { 0 }, next;
	unsigned stalled = 0, r;
	int i;

	nharts = rt_fdt_harts(hart_ids, RT_MAX_HARTS);
	if (nharts < 1) {
		rt_fail("dtb", "no harts in the device tree");
		return;
	}
	for (i = 0; i < nharts; i++) {
		unsigned long h = hart_ids[i];
		struct sbiret s;

		if (h == hartid || h >= RT_MAX_HARTS)
			continue;
		s = rt_sbi_hart_start(h, (unsigned long)rt_secondary_entry,
				      rt_start_opaque(h, spin));
		if (s.error)
			rt_fail("hart_start", "hart %lu: error %ld", h, s.error);
	}
	/* Rounds start once every hart has counted (a started vCPU may wait for its turn). */
	{
		uint64_t end = rt_time() + rt_us_to_ticks(20000000);
		int waiting;
		do {
			waiting = 0;
			for (i = 0; i < nharts; i++)
				if (hart_ids[i] != hartid &&
				    !counters[hart_ids[i] % RT_MAX_HARTS].n)
					waiting++;
		} while (waiting && rt_time() < end);
		if (waiting)
			rt_fail("harts_started", "%d harts never counted within 20 s", waiting);
	}
	rt_printf("progress: %d harts spinning\n", nharts);

	next = rt_time() + rt_us_to_ticks(ROUND_US);
	for (r = 1; r <= ROUNDS; r++) {
		struct counter *mine = &counters[hartid % RT_MAX_HARTS];
		char line[256];
		int len;

		while (rt_time() < next)
			for (unsigned k = 0; k < 4096; k++)
				mine->n++;
		next = rt_time() + rt_us_to_ticks(ROUND_US);
		len = rt_snprintf(line, sizeof(line), "progress: round %u", r);
		for (i = 0; i < nharts; i++) {
			unsigned long h = hart_ids[i] % RT_MAX_HARTS;
			uint64_t n = counters[h].n;

			if (n <= seen[h])
				stalled++;
			seen[h] = n;
			len += rt_snprintf(line + len, sizeof(line) - (size_t)len, " %lu=%lu",
					   hart_ids[i], (unsigned long)n);
		}
		rt_printf("%s\n", line);
	}
	{
		uint64_t lo = ~0UL, hi = 0;
		for (i = 0; i < nharts; i++) {
			uint64_t n = seen[hart_ids[i] % RT_MAX_HARTS];
			lo = n < lo ? n : lo;
			hi = n > hi ? n : hi;
		}
		rt_printf("progress: after %u rounds: smallest count %lu, largest %lu\n", ROUNDS,
			  (unsigned long)lo, (unsigned long)hi);
	}
	rt_check(!stalled, "all_harts_progress", "%u (hart, round) pairs without progress",
		 stalled);
}
