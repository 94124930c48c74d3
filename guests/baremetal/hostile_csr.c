/*
 * hostile_csr.c - hostile bare-metal guest: hypervisor CSRs and privileged instructions
 * from the guest's S-mode and U-mode (HOSTILE.md item 24).
 *
 * Each probe is one 32-bit instruction, written into a small code buffer followed by a
 * return (S-mode: `ret`, under a fault probe) or an `ecall` (U-mode: the way back), and
 * run there. The answer must be an illegal-instruction exception (scause 2) delivered to
 * this guest's own trap handler, with stval the instruction or 0 - never a virtual-
 * instruction exception (22, the hypervisor's business), never a stop of the VM, and the
 * guest carries on.
 *
 *   s_*   in the guest's S-mode: hypervisor CSRs (hstatus, hgatp, hvip, ...), VS CSRs
 *         (vsstatus, vsatp, ...), HFENCE, HLV/HLVX/HSV. Under duovisor the guest runs in
 *         VS-mode, so all of them must trap. Directly on QEMU + OpenSBI with the H
 *         extension this S-mode is HS-mode, where they are legal: SKIP, named.
 *         M-mode CSRs, mret, writes to read-only counters and undefined encodings trap
 *         everywhere.
 *   u_*   in U-mode (VU under duovisor): S/H/VS/M CSRs, sret, mret, sfence.vma, HFENCE,
 *         HLV and undefined encodings trap everywhere; wfi may trap or complete (the
 *         privileged spec allows both) but must not hang.
 * Output ends with "hostile_csr: done" and the usual summary.
 */
#include "rt.h"

const char rt_guest_name[] = "hostile_csr";

#define EXC_ILLEGAL 2
#define EXC_ECALL_U 8
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_SPIE (1UL << 5)

/* CSR instruction encodings: csrrs rd, csr, x0 (a read) and csrrw x0, csr, x0 (write 0). */
#define CSRR(csr, rd) (((unsigned)(csr) << 20) | (2u << 12) | ((unsigned)(rd) << 7) | 0x73u)
#define CSRW0(csr) (((unsigned)(csr) << 20) | (1u << 12) | 0x73u)
#define T0 5
#define A0 10
/* H loads/stores: funct7, rs2 field, rs1 = a0 (a scratch buffer), rd = t0. */
#define HLV(f7, rs2)                                                                               \
	(((unsigned)(f7) << 25) | ((unsigned)(rs2) << 20) | (A0 << 15) | (4u << 12) | (T0 << 7) |  \
	 0x73u)
#define HSV(f7) (((unsigned)(f7) << 25) | (T0 << 20) | (A0 << 15) | (4u << 12) | 0x73u)

#define INSN_RET 0x00008067u
#define INSN_ECALL 0x00000073u
#define INSN_WFI 0x10500073u

struct probe {
	const char *name;
	uint32_t insn;
	bool h_only; /* legal in HS-mode: applies when the guest is virtualized */
};

static const struct probe s_probes[] = {
	{ "s_csrr_hstatus", CSRR(0x600, T0), true },
	{ "s_csrw_hstatus", CSRW0(0x600), true },
	{ "s_csrr_hedeleg", CSRR(0x602, T0), true },
	{ "s_csrw_hideleg", CSRW0(0x603), true },
	{ "s_csrr_hie", CSRR(0x604, T0), true },
	{ "s_csrr_htimedelta", CSRR(0x605, T0), true },
	{ "s_csrw_htimedelta", CSRW0(0x605), true },
	{ "s_csrr_hcounteren", CSRR(0x606, T0), true },
	{ "s_csrr_hgeie", CSRR(0x607, T0), true },
	{ "s_csrr_henvcfg", CSRR(0x60a, T0), true },
	{ "s_csrr_htval", CSRR(0x643, T0), true },
	{ "s_csrr_hip", CSRR(0x644, T0), true },
	{ "s_csrw_hvip", CSRW0(0x645), true },
	{ "s_csrr_htinst", CSRR(0x64a, T0), true },
	{ "s_csrr_hgatp", CSRR(0x680, T0), true },
	{ "s_csrw_hgatp", CSRW0(0x680), true },
	{ "s_csrr_hgeip", CSRR(0xe12, T0), true },
	{ "s_csrr_vsstatus", CSRR(0x200, T0), true },
	{ "s_csrr_vsie", CSRR(0x204, T0), true },
	{ "s_csrr_vstvec", CSRR(0x205, T0), true },
	{ "s_csrr_vsscratch", CSRR(0x240, T0), true },
	{ "s_csrr_vsepc", CSRR(0x241, T0), true },
	{ "s_csrr_vscause", CSRR(0x242, T0), true },
	{ "s_csrr_vstval", CSRR(0x243, T0), true },
	{ "s_csrr_vsip", CSRR(0x244, T0), true },
	{ "s_csrw_vsatp", CSRW0(0x280), true },
	{ "s_hfence_vvma", 0x22000073u, true },
	{ "s_hfence_gvma", 0x62000073u, true },
	{ "s_hlv_b", HLV(0x30, 0), true },
	{ "s_hlv_d", HLV(0x36, 0), true },
	{ "s_hlvx_hu", HLV(0x32, 3), true },
	{ "s_hsv_d", HSV(0x37), true },
	{ "s_csrr_mstatus", CSRR(0x300, T0), false },
	{ "s_csrr_misa", CSRR(0x301, T0), false },
	{ "s_csrr_mhartid", CSRR(0xf14, T0), false },
	{ "s_csrr_mscratch", CSRR(0x340, T0), false },
	{ "s_mret", 0x30200073u, false },
	{ "s_csrw_time", CSRW0(0xc01), false },
	{ "s_csrw_cycle", CSRW0(0xc00), false },
	{ "s_zero_word", 0x00000000u, false },
	{ "s_ones_word", 0xffffffffu, false },
};

static const struct probe u_probes[] = {
	{ "u_csrr_sstatus", CSRR(0x100, T0), false },
	{ "u_csrr_satp", CSRR(0x180, T0), false },
	{ "u_csrr_sscratch", CSRR(0x140, T0), false },
	{ "u_csrr_hstatus", CSRR(0x600, T0), false },
	{ "u_csrw_hgatp", CSRW0(0x680), false },
	{ "u_csrr_vsstatus", CSRR(0x200, T0), false },
	{ "u_csrr_mstatus", CSRR(0x300, T0), false },
	{ "u_sret", 0x10200073u, false },
	{ "u_mret", 0x30200073u, false },
	{ "u_sfence_vma", 0x12000073u, false },
	{ "u_hfence_vvma", 0x22000073u, false },
	{ "u_hfence_gvma", 0x62000073u, false },
	{ "u_hlv_d", HLV(0x36, 0), false },
	{ "u_hsv_d", HSV(0x37), false },
	{ "u_zero_word", 0x00000000u, false },
};

static uint32_t code[4] __attribute__((aligned(16)));
static uint64_t scratch[4] __attribute__((aligned(16)));
static uint8_t u_stack[4096] __attribute__((aligned(16)));

static void load_code(uint32_t insn, uint32_t next)
{
	code[0] = insn;
	code[1] = next;
	__asm__ volatile("fence.i" ::: "memory");
}

/* ---- S-mode: the instruction under a fault probe, then ret ---------------------------- */
static void run_s(uint32_t insn, struct rt_probe *p)
{
	load_code(insn, INSN_RET);
	rt_probe_begin();
	{
		register unsigned long a0 __asm__("a0") = (unsigned long)scratch;
		__asm__ volatile("jalr ra, 0(%1)"
				 : "+r"(a0)
				 : "r"(code)
				 : "ra", "t0", "t1", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t2",
				   "t3", "t4", "t5", "t6", "memory");
	}
	rt_probe_end(p);
}

/* ---- U-mode: u_enter saves the callee-saved registers, srets to the code with SPP = 0;
 * the trap hook sends the final ecall back to u_resume, which restores them. ---------- */
void u_enter(unsigned long pc, unsigned long a0, unsigned long sp);
extern char u_resume[];
__asm__(".text\n"
	".globl u_enter\n"
	"u_enter:\n"
	"	la t0, u_save\n"
	"	sd ra, 0(t0)\n	sd sp, 8(t0)\n	sd s0, 16(t0)\n	sd s1, 24(t0)\n"
	"	sd s2, 32(t0)\n	sd s3, 40(t0)\n	sd s4, 48(t0)\n	sd s5, 56(t0)\n"
	"	sd s6, 64(t0)\n	sd s7, 72(t0)\n	sd s8, 80(t0)\n	sd s9, 88(t0)\n"
	"	sd s10, 96(t0)\n	sd s11, 104(t0)\n	sd gp, 112(t0)\n"
	"	csrw sepc, a0\n"
	"	li t1, 0x120\n" /* SPP | SPIE: to U with interrupts off */
	"	csrc sstatus, t1\n"
	"	mv a0, a1\n"
	"	mv sp, a2\n"
	"	sret\n"
	".globl u_resume\n"
	"u_resume:\n"
	"	la t0, u_save\n"
	"	ld ra, 0(t0)\n	ld sp, 8(t0)\n	ld s0, 16(t0)\n	ld s1, 24(t0)\n"
	"	ld s2, 32(t0)\n	ld s3, 40(t0)\n	ld s4, 48(t0)\n	ld s5, 56(t0)\n"
	"	ld s6, 64(t0)\n	ld s7, 72(t0)\n	ld s8, 80(t0)\n	ld s9, 88(t0)\n"
	"	ld s10, 96(t0)\n	ld s11, 104(t0)\n	ld gp, 112(t0)\n"
	"	ret\n"
	".data\n"
	".balign 8\n"
	"u_save: .space 128\n"
	".text\n");

static volatile bool u_active;
static volatile unsigned u_traps, u_other;
static volatile unsigned long u_cause, u_tval, u_bad_cause, u_spp;

static bool on_trap(struct rt_frame *f)
{
	if (!u_active || (f->sstatus & SSTATUS_SPP))
		return false; /* not a trap from our U-mode code */
	if (f->scause == EXC_ECALL_U) {
		u_active = false;
		f->sepc = (unsigned long)u_resume;
		f->sstatus |= SSTATUS_SPP;
		f->sstatus &= ~SSTATUS_SPIE;
		return true;
	}
	if (!u_traps++) {
		u_cause = f->scause;
		u_tval = f->stval;
	}
	f->sepc += 4;
	return true;
}

static void run_u(uint32_t insn, struct rt_probe *p)
{
	load_code(insn, INSN_ECALL);
	u_traps = 0;
	u_cause = u_tval = 0;
	u_active = true;
	u_enter((unsigned long)code, (unsigned long)scratch,
		(unsigned long)(u_stack + sizeof(u_stack)));
	p->faulted = u_traps != 0;
	p->cause = u_cause;
	p->tval = u_tval;
}

static unsigned n_checked, n_illegal;

static void check(const struct probe *pr, const struct rt_probe *p)
{
	n_checked++;
	if (!p->faulted) {
		rt_fail(pr->name, "insn 0x%08x completed without a trap", pr->insn);
		return;
	}
	if (p->cause != EXC_ILLEGAL) {
		rt_fail(pr->name,
			"insn 0x%08x: scause %lu (want 2, illegal instruction), stval 0x%lx",
			pr->insn, p->cause, p->tval);
		return;
	}
	if (p->tval != pr->insn && p->tval != 0 && rt_on_opensbi()) {
		/* Seen with QEMU 7.2 for HLV/HSV from U: stval kept an earlier instruction. */
		rt_skip(pr->name, "illegal instruction, but QEMU left a stale stval 0x%lx",
			p->tval);
		return;
	}
	if (p->tval != pr->insn && p->tval != 0) {
		rt_fail(pr->name, "insn 0x%08x: stval 0x%lx (want the instruction or 0)", pr->insn,
			p->tval);
		return;
	}
	n_illegal++;
	rt_pass(pr->name);
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	struct rt_probe p;
	bool hs = false;
	unsigned i;

	rt_on_trap = on_trap;

	/* Sanity: an S CSR the guest owns reads without a trap. */
	run_s(CSRR(0x100, T0), &p);
	rt_check(!p.faulted, "s_csrr_sstatus_works", "scause %lu", p.cause);

	/* Is this S-mode HS-mode (QEMU's rv64 has H by default)? hstatus answers there. */
	run_s(CSRR(0x600, T0), &p);
	hs = !p.faulted;
	rt_printf("hostile_csr: S-mode is %s\n",
		  hs ? "HS-mode (hstatus readable: the board has H and no hypervisor)"
		     : "not HS-mode (hstatus traps)");
	if (hs && rt_on_duovisor())
		rt_fail("vs_mode",
			"hstatus is readable under duovisor: the guest is not in VS-mode");

	for (i = 0; i < sizeof(s_probes) / sizeof(s_probes[0]); i++) {
		const struct probe *pr = &s_probes[i];
		if (pr->h_only && hs) {
			rt_skip(pr->name, "legal in HS-mode (no hypervisor under this guest)");
			continue;
		}
		run_s(pr->insn, &p);
		check(pr, &p);
	}
	rt_printf("hostile_csr: S-mode probes done\n");

	/* U-mode: ecall must come back (the exit path), then each probe. */
	run_u(INSN_ECALL, &p);
	rt_check(!p.faulted, "u_ecall_returns", "trap cause %lu before the ecall", p.cause);
	for (i = 0; i < sizeof(u_probes) / sizeof(u_probes[0]); i++) {
		run_u(u_probes[i].insn, &p);
		check(&u_probes[i], &p);
	}
	/* wfi in U: an illegal instruction, or it completes (bounded); a hang fails the test.
	 * sie is 0 here, so a hypervisor that waited for an interrupt would wait forever. */
	rt_printf("hostile_csr: u_wfi (a hang here is a failure)\n");
	run_u(INSN_WFI, &p);
	if (p.faulted)
		rt_check(p.cause == EXC_ILLEGAL && (p.tval == INSN_WFI || p.tval == 0), "u_wfi",
			 "scause %lu stval 0x%lx", p.cause, p.tval);
	else
		rt_pass("u_wfi");
	rt_printf("hostile_csr: u_wfi %s\n", p.faulted ? "trapped" : "completed");

	rt_printf("hostile_csr: done, %u of %u probes trapped as illegal instructions%s\n",
		  n_illegal, n_checked, hs ? " (H probes skipped in HS-mode)" : "");
}
