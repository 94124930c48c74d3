/*
 * cpu.h - the RV64GC emulator's interface to the rest of type 2.
 *
 * One struct rv_cpu per vCPU, run by exactly one host thread (rv_cpu_run). Other threads
 * touch it only through the atomic fields marked below (interrupt lines, kick, fence
 * requests). The emulator implements S and U mode only: an `ecall` from S-mode leaves
 * rv_cpu_run with RV_EXIT_ECALL so the caller can hand a0..a7 to the core's SBI.
 * Guest memory: RAM is the vm's RAM (vm_gpa_ptr); every other address goes to the core's
 * MMIO bus (mmio_access); a miss there is an access fault in the guest.
 *
 * Behind it (type2/cpu/rv_internal.h has the map): an interpreter over a cache of
 * decoded blocks of guest code with a software TLB per vCPU, plus, on x86-64 hosts, a
 * block translator for hot runs (DUO_NOJIT=1 in the environment turns it off). The
 * decoded code and its translations belong to the VM: all rv_cpus bound to the same
 * struct vm share them (fixed size: 0.66 MiB for one vCPU, about 0.33 MiB more per
 * further one). rv_cpu_run checks fences, kicks and interrupts every 2048 instructions.
 *
 * RULES FOR CALLERS (type2/host, type2/main.c):
 *  1. Sequence: rv_cpu_init once, rv_cpu_reset to (re)start the hart, then rv_cpu_run in
 *     a loop on that vCPU's own thread. rv_cpu_init and rv_cpu_destroy only while no
 *     vCPU of that vm is inside rv_cpu_run (a lone vCPU's code cache takes no locks). rv_cpu_reset/run and every plain field (x[], pc,
 *     f[], CSRs, stimecmp, sip_sw) belong to that thread: touch them only between
 *     rv_cpu_run calls, from that thread (e.g. in the SBI handler after RV_EXIT_ECALL).
 *  2. From other threads use only rv_cpu_set_irq, rv_cpu_request_fence, and plain stores
 *     to `kick` (__atomic_store_n(&c->kick, 1, ...)) to make rv_cpu_run return soon.
 *  3. RV_EXIT_ECALL: pc is AT the ecall. Run the SBI call with a0..a7 = x[10..17], write
 *     x[10]/x[11] and then pc += 4 before the next rv_cpu_run.
 *  4. Timer: SBI set_timer writes c->stimecmp (UINT64_MAX = never), from the vCPU thread;
 *     that is also what the guest's own stimecmp CSR writes. STIP is computed from
 *     host_time_now() >= stimecmp; do NOT drive IRQ_S_TIMER through rv_cpu_set_irq.
 *  5. RV_EXIT_WFI: pc is past the wfi. Sleep until rv_cpu_irq_pending(c) (wake on
 *     rv_cpu_set_irq from another thread, or at time == stimecmp), then run again.
 *     rv_cpu_irq_pending may be called from the vCPU's thread while it is not running.
 *  6. IPIs: rv_cpu_set_irq(c, IRQ_S_SOFT, true). The guest clears SSIP itself by writing
 *     sip, which also clears the line. Lowering IRQ_S_SOFT (legacy clear_ipi) must be
 *     done from the vCPU's own thread: it clears both the line and sip_sw.SSIP.
 *     IRQ_S_EXT follows the PLIC output: raise/lower from any thread.
 *  7. Fences: rv_cpu_request_fence(c, RV_FENCE_TLB | RV_FENCE_CODE). The vCPU performs it
 *     before its next instruction and then clears those bits in fence_req, so a requester
 *     may wait for (fence_req & what) == 0 while the target is inside rv_cpu_run; a
 *     target outside rv_cpu_run needs no wait (it fences first thing on its next run).
 *  8. RV_EXIT_HALT: the guest wedged itself (e.g. the trap vector cannot be fetched);
 *     halt_reason says why. Stop the VM with that reason logged; never call run again
 *     without rv_cpu_reset.
 *  9. Reset gives: S-mode, satp = 0, sstatus.SIE = 0, FS = Initial, scounteren = 7,
 *     stimecmp = UINT64_MAX, sie = sip_sw = 0; irq_lines are left as the host set them.
 */
#ifndef DUO_TYPE2_CPU_H
#define DUO_TYPE2_CPU_H

#include <duo/types.h>

struct vm;
struct vcpu;

enum rv_priv { RV_PRIV_U = 0, RV_PRIV_S = 1 };

enum rv_exit {
	RV_EXIT_BUDGET = 0, /* ran the requested number of instructions (or was kicked) */
	RV_EXIT_ECALL,	    /* S-mode ecall: pc still at the ecall; caller does SBI, pc += 4 */
	RV_EXIT_WFI,  /* wfi with no interrupt pending: caller sleeps until one (pc past wfi) */
	RV_EXIT_HALT, /* emulator refuses to go on (e.g. double fault loop): see cpu->halt_reason */
};

struct rv_tlb_entry;

struct rv_cpu {
	/* architectural state */
	u64 x[32];
	u64 pc;
	u64 f[32];
	u32 fcsr;
	enum rv_priv priv;
	u64 mstatus; /* sstatus is the S-visible view of this */
	u64 stvec, sscratch, sepc, scause, stval, satp, senvcfg;
	u32 scounteren;
	u64 stimecmp; /* Sstc; also where SBI set_timer lands in type 2 */
	u64 sie;
	u64 sip_sw; /* software-writable part of sip (SSIP) */
	u64 instret;

	/* shared with other threads: interrupt lines set by host hooks (bit = IRQ_S_*) */
	volatile u64 irq_lines; /* __atomic OR/AND; SEIP from PLIC, SSIP from IPIs */
	volatile u32 kick;	/* nonzero: leave rv_cpu_run at the next instruction boundary */
	volatile u32 fence_req; /* bit 0: flush TLB, bit 1: flush translated code */

	/* reservation for LR/SC */
	u64 resv_addr;
	bool resv_valid;

	struct vm *vm;
	struct vcpu *vcpu;
	const char *halt_reason;

	/* emulator-private (TLB, decode caches...): struct rv_state, see rv_internal.h */
	void *priv_data;
};

/* fence_req bits */
#define RV_FENCE_TLB 1U
#define RV_FENCE_CODE 2U

/* rv_cpu_init - zeroed state bound to vm/vcpu, then as after rv_cpu_reset(c, 0, 0, 0).
 * Allocates the private caches. Returns 0 or DUO_ENOMEM. rv_cpu_destroy frees them. */
int rv_cpu_init(struct rv_cpu *c, struct vm *vm, struct vcpu *vcpu);
void rv_cpu_destroy(struct rv_cpu *c);

/* rv_cpu_reset - S-mode at pc with a0/a1, satp 0, SIE 0, TLB flushed (boot, hart_start,
 * non-retentive resume, reboot). */
void rv_cpu_reset(struct rv_cpu *c, u64 pc, u64 a0, u64 a1);

/*
 * rv_cpu_run - execute up to `budget` instructions, taking interrupts and exceptions as
 * the privileged spec says. Returns why it stopped. Safe to call again right away.
 */
enum rv_exit rv_cpu_run(struct rv_cpu *c, u64 budget);

/* rv_cpu_irq_pending - true if an enabled interrupt would be taken now or would wake a
 * wfi (sip & sie != 0, ignoring sstatus.SIE). Uses the current time for STIP. */
bool rv_cpu_irq_pending(struct rv_cpu *c);

/* rv_cpu_set_irq - thread-safe: raise/lower an S-level interrupt line and kick. */
void rv_cpu_set_irq(struct rv_cpu *c, unsigned irq, bool level);

/* rv_cpu_request_fence - thread-safe: flush TLB / translated code before the next insn. */
void rv_cpu_request_fence(struct rv_cpu *c, u32 what);

#endif
