/*
 * t2.h - the hosted hypervisor's private interface: how type2/main.c, the VM lifecycle
 * (machine.c), the vCPU threads (vcpu.c), the console (console.c), the run loop (run.c)
 * and the host.h implementation (host.c) fit together. Nothing here is seen by core/.
 *
 * Threads: one host thread per vCPU runs the guest (vcpu.c); the main thread owns the
 * terminal, moves console bytes in both directions and carries out VM stops and reboots
 * (run.c). vCPU threads never block on the main thread: they post work (console bytes,
 * a stop request) and ring the doorbell.
 */
#ifndef DUO_TYPE2_T2_H
#define DUO_TYPE2_T2_H

#include <pthread.h>
#include <stdbool.h>

#include <duo/host.h>
#include <duo/types.h>
#include <duo/vm.h>
#include "../cpu/cpu.h"

#define T2_VERSION "0.1.0"

/* Instructions per rv_cpu_run call: a stop or reboot request is seen within one budget. */
#define T2_RUN_BUDGET 200000

/* Console buffers, per VM (HOSTILE 12: fixed size, overflow dropped and counted). */
#define T2_CON_RING 16384 /* guest output not yet written to stdout */
#define T2_CON_LINE 512	  /* partial output line held back in prefix mode */
#define T2_CON_IN 4096	  /* typed input the UART FIFO has not taken yet */

/* Why a VM's vCPUs must leave (first reason wins; 0 = running). */
enum t2_stop {
	T2_RUNNING = 0,
	T2_STOP_POWEROFF, /* the guest asked (SBI SRST shutdown / legacy shutdown) */
	T2_STOP_REBOOT,	  /* the guest asked for a reboot: the run loop restarts it */
	T2_STOP_CRASH,	  /* the emulator gave up on it, or every hart stopped */
	T2_STOP_QUIT,	  /* the user quit (Ctrl-A x, a signal) */
};

struct t2_vm;

struct t2_vcpu {
	struct rv_cpu cpu; /* first, so vcpu->host points at both */
	struct t2_vm *tvm;
	struct vcpu *v;
	pthread_t thread;
	bool thread_live;   /* main thread only: created and not yet joined */
	pthread_mutex_t mu; /* guards the fields below and the sleeps */
	pthread_cond_t cond;
	bool wake;	/* a wake-up arrived since the last sleep */
	bool start_req; /* HSM hart_start waiting to be carried out */
	u64 start_pc, start_opaque;
	volatile u32 in_run; /* inside rv_cpu_run (remote fences wait on this) */
	volatile u32 where;  /* enum t2_where: what the thread is doing (status dumps) */
	u64 status_instret;  /* main thread: instret at the previous status dump */
};

/* What a vCPU thread is doing, for `Ctrl-A s` / SIGUSR1 status lines. */
enum t2_where {
	T2_W_NEW = 0, /* thread not started yet */
	T2_W_RUN,     /* in the emulator */
	T2_W_SBI,     /* carrying out an SBI call */
	T2_W_WFI,     /* asleep in wfi or an SBI suspend */
	T2_W_STOPPED, /* HSM stopped: waiting for hart_start */
	T2_W_EXITED,  /* the thread has left (its VM stopped) */
};

/* Per-VM console state; ring is filled by vCPU threads, the rest is the main thread's. */
struct t2_con {
	pthread_mutex_t mu; /* ring, dropped */
	u8 ring[T2_CON_RING];
	u32 head, len;
	u64 dropped;
	u64 dropped_reported;	/* main thread: drops already told to the user ... */
	u64 drop_report_ns;	/* ... and when (at most one notice a second) */
	char line[T2_CON_LINE]; /* prefix mode: the unterminated output line */
	u32 line_len;
	u64 line_since_ns; /* when line[] got its first byte */
	bool at_bol;	   /* next byte starts a line (gets the "[name] " prefix) */
	u8 in[T2_CON_IN];  /* typed bytes the guest's UART has not accepted yet */
	u32 in_len;
	bool hvc; /* input goes to virtio-console hvc0 (cmdline has console=hvc) */
};

struct t2_vm {
	struct vm vm;
	struct t2_vcpu vcpus[PLAT_MAX_VCPUS];
	size_t ram_map;	   /* bytes mmapped at vm.ram */
	u64 t0_ns;	   /* CLOCK_MONOTONIC at creation: time CSR 0 */
	volatile u32 stop; /* enum t2_stop */
	char reason[256];  /* written once, by whoever won the stop */
	bool finished;	   /* main thread: stopped for good (threads joined) */
	u32 reboots;
	u32 log_tokens; /* host_log rate limit (under the log lock) */
	u64 log_refill_ns, log_suppressed;
	struct t2_con con;
};

/* ---- machine.c: creating, loading, resetting, destroying a VM ------------------------ */

/*
 * t2_vm_create - map cfg->memory_mib MiB of lazy guest RAM, vm_init, create every vCPU,
 * load the kernel/initrd and build the device tree. Returns the VM or NULL with one line
 * ("what: why") in err.
 */
struct t2_vm *t2_vm_create(const struct vm_config *cfg, u32 id, char *err, size_t errlen);

/* t2_vm_load - (re)load images and reset every vCPU for boot: hart 0 at the entry. */
int t2_vm_load(struct t2_vm *tvm, char *err, size_t errlen);

/* t2_vm_start - spawn one thread per vCPU. Returns 0 or -errno (threads already made are
 * stopped again). */
int t2_vm_start(struct t2_vm *tvm);

/* t2_vm_join - wait for every vCPU thread (after t2_vm_stop). Main thread only. */
void t2_vm_join(struct t2_vm *tvm);

/* t2_vm_reboot - after t2_vm_join: zero RAM, reset devices, reload, restart. 0 or -1
 * with the reason in tvm->reason. */
int t2_vm_reboot(struct t2_vm *tvm);

/* t2_vm_destroy - threads must be joined. Unmaps RAM and frees everything. */
void t2_vm_destroy(struct t2_vm *tvm);

/* t2_vm_stop - ask every vCPU of tvm to leave (any thread). The first call's reason is
 * kept; returns true if this call set it. fmt may be NULL. */
bool t2_vm_stop(struct t2_vm *tvm, enum t2_stop why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- vcpu.c: the vCPU threads -------------------------------------------------------- */

/* t2_vcpu_thread - pthread body: run the guest until the VM stops. */
void *t2_vcpu_thread(void *arg);

/* t2_self - the vCPU the calling thread runs (NULL on other threads). */
extern __thread struct t2_vcpu *t2_self;

/* t2_vcpu_wake - wake tv if it sleeps in wfi or while stopped (any thread). */
void t2_vcpu_wake(struct t2_vcpu *tv);

/* t2_vcpu_kick - make tv leave rv_cpu_run at its next instruction boundary and wake it. */
void t2_vcpu_kick(struct t2_vcpu *tv);

/* ---- host.c ---------------------------------------------------------------------------- */

/* t2_now_ns - CLOCK_MONOTONIC in nanoseconds. */
u64 t2_now_ns(void);

/* t2_log_level - host_log prints messages up to this level (default LOG_INFO). */
extern int t2_log_level;

/* t2_doorbell - tell the main thread there is work (console output, a VM stopped).
 * Cheap when rung often: only the first ring after the main thread armed it writes. */
void t2_doorbell(void);
/* t2_doorbell_fd - the fd the main thread polls; t2_doorbell_arm before each poll and
 * t2_doorbell_clear after it woke. Created on first use; -1 if that failed. */
int t2_doorbell_fd(void);
void t2_doorbell_arm(void);
void t2_doorbell_clear(void);

/* ---- console.c: the terminal and the console multiplexer ------------------------------ */

struct t2_console_opts {
	bool prefix; /* "[name] " before each line (several VMs) */
};

/* t2_console_init - take the terminal for vms[0..n) (raw mode when stdin is a tty). */
void t2_console_init(struct t2_vm **vms, int n, const struct t2_console_opts *o);
/* t2_console_restore - put the terminal back; idempotent, async-signal-safe. */
void t2_console_restore(void);
/* t2_console_reraw - re-enter raw mode (after SIGCONT). */
void t2_console_reraw(void);
/* t2_console_input_fd - the fd to poll for input now, or -1 (none, EOF, or backlog). */
int t2_console_input_fd(void);
/* t2_console_read_input - read what stdin has and route it (main thread). Returns 1 when
 * the user asked to quit, else 0. */
int t2_console_read_input(void);
/* t2_console_pump - write pending guest output, feed backlogged input. Returns the poll
 * timeout in ms it needs to be called again (-1: only on an event). */
int t2_console_pump(bool final);
/* t2_console_vm_gone - vm stopped for good; input focus moves on. */
void t2_console_vm_gone(struct t2_vm *tvm);
/* t2_console_log_line - write one finished log line (host_log; any thread). */
void t2_console_log_line(const char *line, size_t n);
/* t2_console_status - one status line per VM and vCPU (Ctrl-A s, SIGUSR1; main thread). */
void t2_console_status(void);
/* t2_console_msg - a line from duovisor itself to the user (not a guest), on stderr. */
void t2_console_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- blk.c / net.c (the virtio engineer's files): host side of disks and networks ----
 * Called by machine.c in the order duo/virtio.h gives. Each returns 0 or a DUO_E* after
 * logging one line naming the disk/network. Declared weak so build/duovisor links
 * before those files exist; machine.c skips a NULL one. */
int t2_blk_open(struct vm *vm) __attribute__((weak));	/* before vm_attach_config_devices */
void t2_blk_close(struct vm *vm) __attribute__((weak)); /* after virtio_detach_all */
int t2_net_open(struct vm *vm) __attribute__((weak));	/* after vm_attach_config_devices */
void t2_net_close(struct vm *vm) __attribute__((weak)); /* after the vCPUs stopped */

/* ---- run.c ----------------------------------------------------------------------------- */

/* t2_run - create, start and supervise cfgs[0..n) until every VM is off; the exit status
 * (0 = every guest powered off cleanly). */
int t2_run(const struct vm_config *cfgs, int n);

#endif
