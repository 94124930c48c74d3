/*
 * hostile_sbi.c - hostile bare-metal guest: the SBI interface under abuse (HOSTILE.md
 * items 18-22).
 *
 * 1. Bad hart ids and masks: huge hart_mask_base, masks naming harts that do not exist,
 *    to IPI, RFENCE and HSM - the spec's answer is INVALID_PARAM.
 * 2. Random a0..a7 (fixed seed, printed) to every standard extension, some vendor and
 *    random ids, and random function ids: every answer must be a standard SBI error
 *    code, or an access fault injected into this guest (a v0.1 call given a bad pointer).
 *    Calls that legitimately end or freeze this VM (shutdown, hart_stop, suspend,
 *    console output of random bytes) are left out of the random phase.
 * 3. DBCN with num_bytes ~2^63 and buffers crossing the end of RAM: an error or a
 *    partial count, quickly.
 * 4. set_timer and IPI storms with the interrupts enabled: afterwards at most the last
 *    request is pending, and cancelling leaves nothing pending.
 * 5. SRST with a bad type; HSM suspend with a reserved type and with a bad resume
 *    address (the spec says INVALID_ADDRESS; a hypervisor may instead stop this VM).
 * Where OpenSBI 1.1 answers differently from the spec, the check is a SKIP naming the
 * answer. Output ends with "hostile_sbi: done".
 */
#include "rt.h"

const char rt_guest_name[] = "hostile_sbi";

#define SEED 0x5eed5eed12345678UL
#define FUZZ_CALLS 3000
#define STORM 20000

static unsigned long me;
static volatile unsigned long n_timer, n_ipi;

static void on_timer(unsigned irq, struct rt_frame *f)
{
	n_timer++;
	rt_sbi_set_timer(UINT64_MAX);
}

static void on_ipi(unsigned irq, struct rt_frame *f)
{
	n_ipi++;
	csr_clear(sip, SIP_SSIP);
}

/* spec_check - the spec's answer is `want`; OpenSBI 1.1 differing is a SKIP. */
static void spec_check(const char *name, struct sbiret r, long want)
{
	if (r.error == want) {
		rt_pass(name);
	} else if (rt_on_opensbi()) {
		rt_skip(name, "OpenSBI 1.1 answers %ld (%s), the spec %ld (%s)", r.error,
			rt_sbi_err_name(r.error), want, rt_sbi_err_name(want));
	} else {
		rt_fail(name, "error %ld (%s), want %ld (%s)", r.error, rt_sbi_err_name(r.error),
			want, rt_sbi_err_name(want));
	}
}

static void bad_harts(void)
{
	const unsigned long huge = 1UL << 63;

	spec_check("ipi_mask_all_bits", rt_sbi_send_ipi(~0UL, 0), SBI_ERR_INVALID_PARAM);
	spec_check("ipi_huge_base", rt_sbi_send_ipi(1, huge), SBI_ERR_INVALID_PARAM);
	spec_check("ipi_base_past_harts", rt_sbi_send_ipi(1, 4096), SBI_ERR_INVALID_PARAM);
	spec_check("rfence_huge_base", rt_sbi_call(SBI_EXT_RFENCE, 0, 1, huge, 0, 0, 0, 0),
		   SBI_ERR_INVALID_PARAM);
	spec_check("rfence_vma_mask_all_bits",
		   rt_sbi_call(SBI_EXT_RFENCE, 1, ~0UL, 0, 0, ~0UL, 0, 0), SBI_ERR_INVALID_PARAM);
	spec_check("hsm_start_huge_hart",
		   rt_sbi_hart_start(huge, (unsigned long)rt_secondary_entry, 0),
		   SBI_ERR_INVALID_PARAM);
	spec_check("hsm_status_huge_hart", rt_sbi_hart_status(~0UL), SBI_ERR_INVALID_PARAM);
	spec_check("hsm_start_self", rt_sbi_hart_start(me, 0x80200000, 0),
		   SBI_ERR_ALREADY_AVAILABLE);
}

static unsigned long fuzz_value(uint64_t *s)
{
	uint64_t r = rt_rand(s);
	switch (r & 7) {
	case 0:
		return 0;
	case 1:
		return ~0UL;
	case 2:
		return (r >> 8) & 0xff;
	case 3:
		return 0x80000000UL + ((r >> 8) & 0xffffff); /* somewhere in or near RAM */
	default:
		return rt_rand(s);
	}
}

#define SBI_EXT_PMU 0x504D55

/* excluded - calls that would end, stop or freeze this VM by design, or print noise. */
static bool excluded(unsigned long eid, unsigned long fid, const unsigned long *a)
{
	/* OpenSBI 1.1 takes a load access fault in M-mode on PMU counter_fw_read with an
	 * out-of-range counter index and hangs the hart (seen: mcause 5, a7 = PMU, a6 = 5). */
	if (eid == SBI_EXT_PMU && rt_on_opensbi())
		return true;
	if (eid == SBI_EXT_SRST || eid == 0x53555350 /* SUSP */ || eid == SBI_LEGACY_SHUTDOWN ||
	    eid == SBI_LEGACY_PUTCHAR)
		return true;
	if (eid == SBI_EXT_HSM && (fid == 1 || fid == 3 || (fid == 0 && a[0] < RT_MAX_HARTS)))
		return true;
	if (eid == SBI_EXT_DBCN && (fid == 0 || fid == 2))
		return true;
	return false;
}

static void fuzz(void)
{
	static const unsigned long eids[] = {
		SBI_EXT_BASE,
		SBI_EXT_TIME,
		SBI_EXT_IPI,
		SBI_EXT_RFENCE,
		SBI_EXT_HSM,
		SBI_EXT_DBCN,
		SBI_EXT_PMU,
		0x43505043 /* CPPC */,
		0x4E41434C /* NACL */,
		0x535441 /* STA */,
		0x09000000,
		0x0A000000,
		0x0,
		0x2,
		0x3,
		0x4,
		0x5,
		0x6,
		0x7,
		0xf,
	};
	uint64_t seed = SEED;
	unsigned long i, made = 0, bad = 0, faults = 0;

	rt_printf("hostile_sbi: fuzzing %u calls, seed 0x%lx\n", FUZZ_CALLS, SEED);
	if (rt_on_opensbi())
		rt_skip("fuzz_pmu", "OpenSBI 1.1 hangs in M-mode on PMU counter_fw_read with a "
				    "bad counter index; PMU left out");
	for (i = 0; i < FUZZ_CALLS; i++) {
		unsigned long a[8], j;
		struct rt_probe p;
		struct sbiret r;
		uint64_t pick = rt_rand(&seed);

		for (j = 0; j < 6; j++)
			a[j] = fuzz_value(&seed);
		a[7] = (pick & 3) ? eids[(pick >> 2) % (sizeof(eids) / sizeof(eids[0]))]
				  : fuzz_value(&seed);
		a[6] = (pick >> 32) & 1 ? (pick >> 40) & 0xf : fuzz_value(&seed);
		if (excluded(a[7], a[6], a))
			continue;
		made++;
		rt_probe_begin();
		r = rt_sbi_raw(a);
		rt_probe_end(&p);
		if (p.faulted) {
			faults++;
			continue;
		}
		if (a[7] <= 0xf)
			continue; /* v0.1: only a0, implementation-defined */
		if (r.error > 0 || r.error < -12) {
			if (bad++ < 5)
				rt_printf(
					"hostile_sbi: eid 0x%lx fid 0x%lx a0 0x%lx -> error %ld\n",
					a[7], a[6], a[0], r.error);
		}
	}
	rt_sbi_set_timer(UINT64_MAX);
	csr_clear(sip, SIP_SSIP);
	rt_printf("hostile_sbi: %lu calls made, %lu answered with an injected fault\n", made,
		  faults);
	rt_check(bad == 0, "fuzz_defined_answers", "%lu answers were not SBI error codes", bad);
}

static void dbcn(uint64_t ram_end)
{
	static const char tail[8] = { 'd', 'b', 'c', 'n', '-', 'e', 'n', 'd' };
	uintptr_t last = ram_end - 8;
	struct sbiret r;
	uint64_t t0;

	if (!rt_sbi_probe(SBI_EXT_DBCN)) {
		rt_skip("dbcn_hostile", "DBCN not offered (SBI impl 0x%lx)", rt_sbi_impl_id);
		return;
	}
	rt_memcpy((void *)last, tail, sizeof(tail));
	t0 = rt_time();
	r = rt_sbi_call(SBI_EXT_DBCN, 0, 1UL << 63, 0x80200000, 0, 0, 0, 0);
	rt_printf("\n");
	rt_check((r.error != 0 || (unsigned long)r.value < (1UL << 40)) &&
			 rt_time() - t0 < 5 * rt_timebase,
		 "dbcn_write_2pow63", "error %ld value %ld", r.error, r.value);
	r = rt_sbi_call(SBI_EXT_DBCN, 0, 16, last, 0, 0, 0, 0);
	rt_printf("\n");
	rt_check(r.error != 0 || (r.value >= 0 && r.value <= 8), "dbcn_write_past_ram_end",
		 "error %ld value %ld for 16 bytes with 8 in RAM", r.error, r.value);
	r = rt_sbi_call(SBI_EXT_DBCN, 0, ~0UL, ~0UL - 4, ~0UL, 0, 0, 0);
	rt_check(r.error != 0, "dbcn_write_wraps", "error %ld value %ld", r.error, r.value);
	r = rt_sbi_call(SBI_EXT_DBCN, 1, 16, 0x0, 0, 0, 0, 0);
	rt_check(r.error != 0 || r.value == 0, "dbcn_read_to_unmapped", "error %ld value %ld",
		 r.error, r.value);
}

static void storms(void)
{
	uint64_t seed = SEED ^ 0xabcdef;
	unsigned long i, errors = 0, timer_irqs, ipis;

	csr_set(sie, SIP_STIP | SIP_SSIP);
	rt_irq_enable();
	for (i = 0; i < STORM; i++) {
		uint64_t r = rt_rand(&seed), d;
		switch (r & 3) {
		case 0:
			d = 0;
			break;
		case 1:
			d = rt_time() - (r >> 40);
			break;
		case 2:
			d = rt_time() + (r >> 48);
			break;
		default:
			d = UINT64_MAX;
			break;
		}
		errors += rt_sbi_set_timer(d).error != 0;
	}
	rt_sbi_set_timer(UINT64_MAX);
	rt_delay_us(20000);
	timer_irqs = n_timer;
	rt_delay_us(20000);
	rt_printf("hostile_sbi: %u set_timer calls, %lu timer interrupts\n", STORM, n_timer);
	rt_check(errors == 0 && n_timer == timer_irqs && !(csr_read(sip) & SIP_STIP),
		 "set_timer_storm_settles", "%lu errors, %lu late interrupts, sip 0x%lx", errors,
		 n_timer - timer_irqs, csr_read(sip));

	errors = 0;
	for (i = 0; i < STORM; i++)
		errors += rt_sbi_send_ipi(i & 1 ? 1 : 0, i & 1 ? me : -1UL).error != 0;
	rt_delay_us(20000);
	ipis = n_ipi;
	rt_delay_us(20000);
	rt_printf("hostile_sbi: %u send_ipi calls to self, %lu IPIs taken\n", STORM, n_ipi);
	rt_check(errors == 0 && ipis >= 1 && n_ipi == ipis && !(csr_read(sip) & SIP_SSIP),
		 "ipi_storm_settles", "%lu errors, %lu IPIs, %lu late, sip 0x%lx", errors, ipis,
		 n_ipi - ipis, csr_read(sip));
	rt_irq_disable();
	csr_clear(sie, SIP_STIP | SIP_SSIP);
}

static bool resumed_trap(struct rt_frame *f)
{
	rt_printf("hostile_sbi: trap cause %lu at 0x%lx after suspend with a bad resume address\n",
		  f->scause, f->sepc);
	rt_fail("hsm_suspend_bad_resume", "the call was accepted and the hart resumed at 0x%lx",
		f->sepc);
	rt_finish();
}

static void suspend_and_reset(void)
{
	struct sbiret r;

	spec_check("srst_bad_type", rt_sbi_call(SBI_EXT_SRST, 0, 0x1234, 0, 0, 0, 0, 0),
		   SBI_ERR_INVALID_PARAM);
	r = rt_sbi_call(SBI_EXT_HSM, 3, 0x7fffffff, 0, 0, 0, 0, 0);
	spec_check("hsm_suspend_reserved_type", r, SBI_ERR_INVALID_PARAM);
	if (rt_on_opensbi()) {
		/* Seen with qemu -d int: OpenSBI 1.1 accepts it, and after the wake-up the
		 * hart loops forever on an instruction access fault at 0x0. */
		rt_skip("hsm_suspend_bad_resume", "OpenSBI 1.1 accepts resume address 0 and "
						  "then loops on the fetch fault at 0x0");
		return;
	}
	/* If the bad resume address is accepted, a timer makes sure the hart wakes up. */
	rt_printf("hostile_sbi: HSM non-retentive suspend, resume address 0x0 "
		  "(the VM may be stopped here instead)\n");
	rt_on_trap = resumed_trap;
	csr_set(sie, SIP_STIP);
	rt_sbi_set_timer(rt_time() + rt_us_to_ticks(100000));
	r = rt_sbi_call(SBI_EXT_HSM, 3, 0x80000000, 0x0, 0x1234, 0, 0, 0);
	rt_sbi_set_timer(UINT64_MAX);
	csr_clear(sie, SIP_STIP);
	rt_on_trap = NULL;
	spec_check("hsm_suspend_bad_resume", r, SBI_ERR_INVALID_ADDRESS);
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	uint64_t ram_base = 0x80000000, ram_size = 0;

	me = hartid;
	if (!rt_fdt_memory(&ram_base, &ram_size)) {
		rt_fail("dtb", "no /memory range in the device tree");
		return;
	}
	rt_set_irq_handler(IRQ_S_TIMER, on_timer);
	rt_set_irq_handler(IRQ_S_SOFT, on_ipi);
	bad_harts();
	fuzz();
	dbcn(ram_base + ram_size);
	storms();
	suspend_and_reset();
	rt_printf("hostile_sbi: done\n");
}
