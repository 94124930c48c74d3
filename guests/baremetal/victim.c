/*
 * victim.c - the bare-metal guest that runs beside an attacker in the hostile system
 * tests (HOSTILE.md property I: "the victim's heartbeat continues and its memory
 * checksum is unchanged").
 *
 * It fills a pattern buffer, then every ~0.5 s (SBI timer + WFI, like an idle OS) it
 * recomputes a 64-bit FNV-1a checksum over its own text and read-only data and the
 * pattern buffer and prints
 *   victim: heartbeat <n> checksum <16 hex digits> late_ms <how late the wake-up was>
 * The checksum must never change; if it does the victim also prints
 * "victim: CHECKSUM CHANGED". It never finishes: the harness stops the machine.
 */
#include "rt.h"

const char rt_guest_name[] = "victim";

#define PATTERN_WORDS (256 * 1024 / 8)
#define PERIOD_US 500000

extern char __image_start[], __ro_end[];
static uint64_t pattern[PATTERN_WORDS];

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3UL;
	}
	return h;
}

static uint64_t checksum(void)
{
	uint64_t h = 0xcbf29ce484222325UL;
	h = fnv1a(h, __image_start, (size_t)(__ro_end - __image_start));
	return fnv1a(h, pattern, sizeof(pattern));
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t seed = 0x76696374696d2121UL, first, next;
	unsigned long n, i;

	for (i = 0; i < PATTERN_WORDS; i++)
		pattern[i] = rt_rand(&seed);
	first = checksum();
	rt_printf("victim: ready, %lu bytes checked, checksum %016lx\n",
		  (unsigned long)(__ro_end - __image_start) + (unsigned long)sizeof(pattern),
		  (unsigned long)first);
	csr_write(sie, SIP_STIP); /* WFI wakes on STIP; SIE stays off, no handler needed */
	next = rt_time();
	for (n = 1;; n++) {
		uint64_t now, sum;

		next += rt_us_to_ticks(PERIOD_US);
		rt_sbi_set_timer(next);
		while ((now = rt_time()) < next)
			rt_wfi();
		sum = checksum();
		rt_printf("victim: heartbeat %lu checksum %016lx late_ms %lu\n", n,
			  (unsigned long)sum, (unsigned long)((now - next) * 1000 / rt_timebase));
		if (sum != first)
			rt_printf("victim: CHECKSUM CHANGED (was %016lx)\n", (unsigned long)first);
		if (now > next + rt_us_to_ticks(PERIOD_US))
			next = now; /* starved for more than a period: do not burst to catch up */
	}
}
