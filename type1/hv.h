/*
 * hv.h - the type-1 hypervisor's own state and the interfaces between its files.
 *
 * type1/ is the bare-metal backend: it owns the physical harts (struct t1_hart, one per
 * hart id, reached through the tp register), runs each VM's vCPUs (struct t1_vcpu, the
 * backend half of the core's struct vcpu) on them with the H extension, and implements
 * core/include/duo/host.h for the core. One file per concern:
 *
 *   start.S switch.S   entry, stacks, host trap vector; the world switch
 *   main.c             boot sequence, the packed VM set, secondary harts
 *   board.c            reading the board's device tree (RAM, harts, ISA)
 *   mem.c              physical page allocator and the host_zalloc heap
 *   gstage.c           Sv39x4 G-stage tables, VMIDs
 *   vcpu.c             load/put of a vCPU on a hart, interrupts, timers, fences
 *   trap.c decode.c    guest exits: SBI, MMIO emulation, virtual instructions
 *   sched.c            which vCPU runs where: dedicated harts and the shared pool
 *   vmm.c              VM lifecycle: create, boot, stop, restart, power off
 *   serial.c vcon.c mgmt.c  physical UART, guest console multiplexing, management prompt
 *   hostlib.c          the rest of host.h (time, entropy, packed disks), libc shims
 */
#ifndef T1_HV_H
#define T1_HV_H

#include <duo/types.h>
#include <duo/lib.h>
#include <duo/vm.h>

#include "csr.h"
#include "ctx.h"
#include "decode.h"
#include "hvconf.h"

struct pack_vm;

/* ---- the world-switch context (layout in ctx.h) ----------------------------------- */

struct t1_ctx {
	u64 gpr[32];
	u64 sepc, sstatus, hstatus;
	u64 scause, stval, htval, htinst;
	u64 host_ra, host_sp, host_gp, host_tp, host_s[12];
	u64 host_stvec, host_sscratch, host_sstatus;
	u64 fpr[32];
	u64 fcsr;
};

_Static_assert(__builtin_offsetof(struct t1_ctx, sepc) == CTX_SEPC, "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, htinst) == CTX_HTINST, "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, host_ra) == CTX_HOST_RA, "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, host_s) == CTX_HOST_S(0), "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, host_stvec) == CTX_HOST_STVEC, "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, host_sstatus) == CTX_HOST_SSTATUS, "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, fpr) == CTX_FPR(0), "ctx layout");
_Static_assert(__builtin_offsetof(struct t1_ctx, fcsr) == CTX_FCSR, "ctx layout");
_Static_assert(sizeof(struct t1_ctx) == CTX_SIZE, "ctx layout");

/* switch.S */
void t1_guest_enter(struct t1_ctx *ctx); /* only through t1_guest_run below */

/*
 * t1_guest_run - enter the guest and come back at its next trap. t1_guest_enter keeps
 * only ra, sp, gp and tp of the hypervisor (in ctx); every other register is declared
 * clobbered here, so the compiler keeps what it needs across the call on its stack and
 * the world switch does not save and restore all twelve s registers on every exit.
 */
static inline void t1_guest_run(struct t1_ctx *ctx)
{
	register struct t1_ctx *a0 __asm__("a0") = ctx;
	__asm__ volatile("call t1_guest_enter"
			 : "+r"(a0)
			 :
			 : "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a1", "a2", "a3", "a4",
			   "a5", "a6", "a7", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8",
			   "s9", "s10", "s11", "memory");
}
void t1_fp_save(struct t1_ctx *ctx);
void t1_fp_restore(struct t1_ctx *ctx);
/* start.S */
long t1_hlvx_hu(u64 gva, u16 *out);
long t1_hlvx_wu(u64 gva, u32 *out);
void t1_secondary_entry(void);
void t1_park(void) __attribute__((noreturn));

/* ---- vCPUs ------------------------------------------------------------------------ */

/* Scheduling state of a vCPU (changed under t1.sched_lock). */
enum t1_run {
	VC_OFF = 0,  /* HSM stopped, or its VM is not running */
	VC_RUNNABLE, /* wants a hart */
	VC_RUNNING,  /* loaded on hart `hart` */
	VC_BLOCKED,  /* in WFI / HSM suspend until an enabled interrupt is pending */
};

struct t1_vm;

struct t1_vcpu {
	struct t1_ctx ctx; /* first: switch.S is handed &ctx */
	struct vcpu *v;	   /* the core's half */
	struct t1_vm *tvm;

	/* VS-level CSRs while the vCPU is not loaded on a hart (vcpu.c load/put). */
	u64 vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp;
	u64 vstimecmp, scounteren;
	u64 hvip_ssip; /* the guest's own VSSIP (it clears sip.SSIP itself) */

	/* Interrupt requests from other harts (host_vcpu_set_irq). */
	volatile u32 soft_req;
	volatile u32 ext_level;
	u64 timer_deadline; /* SBI set_timer deadline when the board has no Sstc */

	/* Scheduling. */
	volatile u32 run;      /* enum t1_run */
	volatile s32 hart;     /* index of the hart it is loaded on, -1 */
	volatile u32 in_guest; /* between entry and exit (fence handshake) */
	s32 dedicated;	       /* hart index for cpu_policy "dedicated", else -1 */
	s32 last_hart;	       /* where it last ran: migration needs a VS-stage flush */
	u64 vtime;	       /* weighted virtual time for the shared pool */
	u64 run_start;	       /* rdtime when loaded / last charged */
	bool fp_dirty;

	/* Requests applied by the hart that next loads it. */
	volatile u64 fence_req, fence_done; /* HOST_FENCE_* generations */
	volatile u32 fence_i_req;
	bool start_pending; /* HSM hart_start or VM boot: reset to (pc, a0, a1) */
	u64 start_pc, start_a1;
	bool resume_pending; /* HSM non-retentive suspend: resume there on wake */
	u64 resume_pc, resume_a1;

	/* Statistics. */
	u64 cpu_ticks;
	u64 exits;
};

/* ---- VMs ------------------------------------------------------------------------- */

enum t1_req { T1_REQ_NONE = 0, T1_REQ_STOP, T1_REQ_RESTART };

struct t1_vm {
	struct vm vm;		  /* the core's VM */
	const struct pack_vm *pk; /* its entry in the packed blob */
	const u8 *blob;
	u64 ram_pa;    /* host-physical base of guest RAM (vm.ram) */
	u64 *gpt_root; /* Sv39x4 root, 16 KiB */
	u64 hgatp;
	u32 vmid;
	struct t1_vcpu vc[PLAT_MAX_VCPUS];

	volatile u32 req; /* enum t1_req, under t1.sched_lock */
	bool finalizing;  /* one hart is stopping/restarting it */
	bool crashed;
	bool guest_off;	  /* its last stop was its own SBI shutdown */
	char reason[112]; /* why it last stopped */

	/* Console line buffer (vcon.c, under the console lock). */
	char line[T1_CON_LINE_MAX];
	u32 line_len;
	u32 line_shown; /* bytes of line[] already on the screen (an unfinished line) */
	u64 line_time;	/* rdtime of its last byte */
	u64 con_drops;

	/* cpu_cap_pct accounting (sched.c): ticks used in the current period. */
	u64 cap_period, cap_used;

	/* Statistics (racy counters, for `stats`). */
	u64 boots;
	u64 n_ecall, n_mmio, n_wfi, n_irq, n_vinst;
};

static inline struct t1_vm *t1_vm_of(struct vm *vm)
{
	return (struct t1_vm *)vm;
}

static inline struct t1_vcpu *t1_vcpu_of(struct vcpu *v)
{
	return v->host;
}

/* ---- physical harts --------------------------------------------------------------- */

struct t1_hart {
	u64 hartid;
	u32 index;		   /* == hartid here; harts are t1.harts[hartid] */
	bool present;		   /* in the board's device tree */
	volatile u32 online;	   /* running the scheduler */
	struct t1_vcpu *cur;	   /* loaded vCPU, or NULL */
	struct t1_vcpu *dedicated; /* the one vCPU this hart runs, or NULL (pool hart) */
	bool console;		   /* polls the physical UART and flushes console lines */
	volatile u32 kicked;	   /* an IPI is on its way */
	volatile u32 idle;	   /* waiting in wfi for work */
	u64 timer_armed;	   /* last value given to the HS timer */
	u64 slice_end;
	u32 loaded_vmid_plus1; /* for VMID-less hardware: flush on change */
	u64 run_t0;	       /* when the current vCPU was loaded */
	u64 idle_ticks, busy_ticks, switches;
	u64 ticks, preempts; /* slice ends seen while a vCPU ran; of them, switches */
	u64 max_late;	     /* latest a tick came after its slice end (timebase ticks) */
	/* remote fences the current SBI call asked for: kicked at once, all waited for
	 * together before the call returns to the guest (t1_vcpu_fence_wait) */
	u32 n_fence_wait;
	struct t1_vcpu *fence_wait[PLAT_MAX_VCPUS];
	u64 fence_wait_req[PLAT_MAX_VCPUS];
};

/* ---- the machine ------------------------------------------------------------------- */

struct t1_board {
	u64 ram_base, ram_size;
	u64 harts_mask; /* bit per hart id present and okay */
	unsigned nharts;
	u64 timebase;
	bool isa_h, isa_sstc;
	u64 test_base; /* QEMU's sifive,test device (0: none) */
};

struct t1_global {
	struct t1_board board;
	u64 boot_hartid;
	struct t1_hart harts[T1_MAX_HARTS];
	struct t1_vm *vms[CFG_MAX_VMS];
	unsigned nvms;
	const u8 *blob;
	bool sstc; /* henvcfg.STCE works: stimecmp/vstimecmp */
	unsigned vmid_bits;
	struct duo_lock sched_lock;
	volatile u32 powering_off;
};

extern struct t1_global t1;

static inline struct t1_hart *t1_this_hart(void)
{
	struct t1_hart *h;
	__asm__ volatile("mv %0, tp" : "=r"(h));
	return h;
}

/* ---- board.c ---------------------------------------------------------------------- */

/* t1_board_parse - read RAM, harts, timebase and ISA from the board's DTB. 0 or DUO_E*. */
int t1_board_parse(const void *fdt, struct t1_board *b);

/* ---- mem.c ------------------------------------------------------------------------ */

/* t1_mem_init - manage [start, end) of physical RAM: the heap, then pages. */
void t1_mem_init(u64 start, u64 end);
/* t1_page_alloc - size bytes aligned to `align` (power of 2), zeroed; 0 when out. */
u64 t1_page_alloc(u64 size, u64 align);
/* t1_mem_free_bytes - what t1_page_alloc can still hand out. */
u64 t1_mem_free_bytes(void);
/* t1_memzero - fast zeroing of 8-byte aligned physical memory. */
void t1_memzero(void *p, u64 n);

/* ---- gstage.c --------------------------------------------------------------------- */

/* t1_gstage_probe - find the VMID width on this hart. */
void t1_gstage_probe(void);
/* t1_gstage_build - the G-stage tables mapping tvm's RAM; sets tvm->hgatp. 0 or DUO_E*. */
int t1_gstage_build(struct t1_vm *tvm);
/* t1_gstage_translate - host-physical address of gpa in tvm's tables, or 0 (for tests). */
u64 t1_gstage_translate(struct t1_vm *tvm, gpa_t gpa);

/* ---- vcpu.c ----------------------------------------------------------------------- */

void t1_vcpu_init(struct t1_vcpu *c, struct t1_vm *tvm, u32 id);
/* t1_vcpu_reset - architectural reset to (pc, a0 = hartid, a1) in VS-mode. */
void t1_vcpu_reset(struct t1_vcpu *c, u64 pc, u64 a1);
void t1_vcpu_load(struct t1_hart *h, struct t1_vcpu *c);
void t1_vcpu_put(struct t1_hart *h, struct t1_vcpu *c);
/* t1_vcpu_prepare_entry - the last step before entering: hvip, fences, timers. */
void t1_vcpu_prepare_entry(struct t1_hart *h, struct t1_vcpu *c);
/* t1_vcpu_fence_wait - wait for the remote fences host_vcpu_fence left pending on h. */
void t1_vcpu_fence_wait(struct t1_hart *h);
/* t1_vcpu_note_exit - record what the hardware changed (VSSIP, FP dirty). */
void t1_vcpu_note_exit(struct t1_vcpu *c);
/* t1_vcpu_wake_pending - interrupts pending and enabled in vsie (WFI wakes on these). */
u64 t1_vcpu_wake_pending(struct t1_vcpu *c, u64 now);
/* t1_vcpu_timer_deadline - when its timer fires (rdtime), ~0 if never. */
u64 t1_vcpu_timer_deadline(struct t1_vcpu *c);
/* t1_inject_exception - deliver a synchronous exception to the loaded vCPU's VS-mode. */
void t1_inject_exception(struct t1_vcpu *c, u64 cause, u64 tval);

/* ---- trap.c ----------------------------------------------------------------------- */

enum t1_exit {
	T1_CONTINUE = 0, /* re-enter the same vCPU */
	T1_PREEMPT,	 /* slice over: back to the scheduler, still runnable */
	T1_BLOCK,	 /* WFI or HSM suspend: wait for an interrupt */
	T1_HART_STOP,	 /* HSM hart_stop */
	T1_LEAVE,	 /* its VM has a stop/restart request */
};

/* t1_handle_exit - act on the trap saved in c->ctx. */
enum t1_exit t1_handle_exit(struct t1_hart *h, struct t1_vcpu *c);

/* ---- decode.c: see decode.h ------------------------------------------------------ */

/* ---- sched.c ---------------------------------------------------------------------- */

/* t1_hart_main - run vCPUs on this hart forever. */
void t1_hart_main(struct t1_hart *h) __attribute__((noreturn));
/* t1_sched_wake - a BLOCKED vCPU may have something to do: make it runnable, kick. */
void t1_sched_wake(struct t1_vcpu *c);
/* t1_sched_make_runnable - an OFF vCPU was started (HSM/boot); caller holds sched_lock. */
void t1_sched_make_runnable_locked(struct t1_vcpu *c);
/* t1_kick - IPI hart index i so it re-checks its vCPU (no-op for this hart). */
void t1_kick(u32 i);
/* t1_timer_arm - this hart's HS timer fires at `when` (rdtime), ~0 = never. */
void t1_timer_arm(struct t1_hart *h, u64 when);
/* t1_sched_tick - the HS timer fired while c ran: slice bookkeeping. */
enum t1_exit t1_sched_tick(struct t1_hart *h, struct t1_vcpu *c);
/* t1_sched_assign - give each dedicated vCPU its hart; the rest form the pool. */
int t1_sched_assign(char *err, size_t errlen);

/* ---- vmm.c ------------------------------------------------------------------------ */

/* t1_vmm_create - carve RAM, build tables, vm_init VM i of the blob. On failure the VM
 * is still in t1.vms, crashed with the reason (NULL only if its struct could not be had). */
int t1_vmm_create(unsigned i, const struct pack_vm *pk);
/* t1_vmm_boot_all - first boot of every created VM; a VM that cannot boot is crashed. */
void t1_vmm_boot_all(void);
/* t1_vmm_all_stopped - no VM is running or on its way up. */
bool t1_vmm_all_stopped(void);
/* t1_vmm_request - stop or restart a VM (from any hart; the reason is logged). */
void t1_vmm_request(struct t1_vm *tvm, enum t1_req req, bool crashed, const char *reason);
/* t1_vmm_start - boot a stopped VM again. DUO_EBUSY if it is not stopped. */
int t1_vmm_start(struct t1_vm *tvm);
/* t1_vmm_vcpu_left - c left its hart with its VM's request pending (sched.c). */
void t1_vmm_vcpu_left_locked(struct t1_vcpu *c, bool *finalize);
void t1_vmm_finalize(struct t1_vm *tvm);
struct t1_vm *t1_vmm_find(const char *name);
const char *t1_vm_state_name(u32 state);
void t1_poweroff(void) __attribute__((noreturn));
/* t1_poweroff_failed - power off so that QEMU exits with status 1 (serial.c). */
void t1_poweroff_failed(void) __attribute__((noreturn));

/* ---- serial.c / vcon.c / mgmt.c ----------------------------------------------------- */

void t1_serial_init(void);
void t1_serial_putc(char c);
int t1_serial_getc(void); /* -1 when nothing is waiting */
/* t1_printf - formatted output to the physical console (hypervisor lines). */
void t1_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void t1_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* vcon.c: the console lock serialises everything written to the physical UART. */
void t1_con_lock(void);
void t1_con_unlock(void);
/* t1_con_raw - write bytes to the UART with the console lock held, closing any open
 * guest line first (hypervisor messages). */
void t1_con_raw(const char *s, size_t n);
/* t1_vcon_tick - console hart, every ~10 ms: input, idle partial lines. */
void t1_vcon_tick(void);
void t1_vcon_flush_all(void);
/* t1_vcon_input - one byte typed on the physical console; false if the focused guest
 * cannot take it yet (retry later). */
bool t1_vcon_input(u8 ch);
/* mgmt.c */
void t1_mgmt_enter(void);
/* t1_mgmt_input - a byte for the prompt; returns false when the prompt closed. */
bool t1_mgmt_input(u8 ch);
void t1_mgmt_exec(char *line);
extern struct t1_vm *t1_focus;
/* t1_vcon_vm_gone - tvm stopped for good: if input went to it, move it to the next
 * running VM (and say so), as type 2 does. */
void t1_vcon_vm_gone(struct t1_vm *tvm);

/* ---- OpenSBI (the firmware below us) ----------------------------------------------- */

struct t1_sbiret {
	long error;
	long value;
};
struct t1_sbiret t1_sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2);

#endif
