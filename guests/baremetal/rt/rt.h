/*
 * rt.h - the tiny runtime shared by duovisor's bare-metal test guests.
 *
 * Each guest is one S-mode ELF linked at 0x80200000 (guests/baremetal/link.ld) and
 * entered like an OpenSBI payload: a0 = hart id, a1 = device-tree address, satp = 0.
 * The runtime (start.S, console.c, sbi.c, trap.c, fdt.c, report.c) gives it a stack per
 * hart, a trap vector with per-cause interrupt handlers and fault probing, SBI call
 * helpers, a printf on the SBI console, a small device-tree reader and a report API that
 * prints "PASS <name>" / "FAIL <name>: why" / "SKIP <name>: why" and a final
 * "baremetal: N passed, N failed, N skipped" line before an SBI shutdown.
 *
 * A guest defines rt_guest_name and guest_main(); the runtime calls guest_main() on the
 * boot hart and then rt_finish(). Nothing here uses libc.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_HARTS 8
#define RT_STACK_SIZE 16384
#define RT_TRAP_STACK_SIZE 8192

/* ---- SBI (spec v2.0 numbering; checked by the guests, not trusted) -------------- */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E
#define SBI_LEGACY_SET_TIMER 0x0
#define SBI_LEGACY_PUTCHAR 0x1
#define SBI_LEGACY_GETCHAR 0x2
#define SBI_LEGACY_SHUTDOWN 0x8

#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED -4
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED -7
#define SBI_ERR_ALREADY_STOPPED -8
#define SBI_ERR_NO_SHMEM -9

#define SBI_HSM_STARTED 0
#define SBI_HSM_STOPPED 1
#define SBI_HSM_START_PENDING 2
#define SBI_HSM_STOP_PENDING 3

#define SBI_IMPL_OPENSBI 1
#define SBI_IMPL_DUOVISOR 0x44554f

/* ---- CSR bits ------------------------------------------------------------------- */
#define SSTATUS_SIE (1UL << 1)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define SIP_SSIP (1UL << IRQ_S_SOFT)
#define SIP_STIP (1UL << IRQ_S_TIMER)
#define SIP_SEIP (1UL << IRQ_S_EXT)
#define SCAUSE_IRQ (1UL << 63)

#define csr_read(csr)                                                                              \
	({                                                                                         \
		unsigned long __v;                                                                 \
		__asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory");                          \
		__v;                                                                               \
	})
#define csr_write(csr, val)                                                                        \
	__asm__ volatile("csrw " #csr ", %0" ::"rK"((unsigned long)(val)) : "memory")
#define csr_set(csr, val)                                                                          \
	__asm__ volatile("csrs " #csr ", %0" ::"rK"((unsigned long)(val)) : "memory")
#define csr_clear(csr, val)                                                                        \
	__asm__ volatile("csrc " #csr ", %0" ::"rK"((unsigned long)(val)) : "memory")

static inline void rt_wfi(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

static inline void rt_irq_enable(void)
{
	csr_set(sstatus, SSTATUS_SIE);
}

static inline void rt_irq_disable(void)
{
	csr_clear(sstatus, SSTATUS_SIE);
}

static inline uint64_t rt_time(void)
{
	return csr_read(time);
}

/* rt_hartid - this hart's id (kept in tp by start.S). */
static inline unsigned long rt_hartid(void)
{
	unsigned long id;
	__asm__ volatile("mv %0, tp" : "=r"(id));
	return id;
}

/* ---- what a guest provides -------------------------------------------------------- */
extern const char rt_guest_name[];
/* guest_main - the test, on the boot hart with interrupts off. Returning ends the run. */
void guest_main(unsigned long hartid, uintptr_t dtb);

/* ---- SBI calls (sbi.c) ------------------------------------------------------------ */
struct sbiret {
	long error;
	long value;
};

/* rt_sbi_call - ecall with a7 = eid, a6 = fid, a0..a5 = args; returns a0/a1. */
struct sbiret rt_sbi_call(unsigned long eid, unsigned long fid, unsigned long a0, unsigned long a1,
			  unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
/* rt_sbi_raw - ecall with all eight argument registers as given (hostile tests). */
struct sbiret rt_sbi_raw(const unsigned long a[8]);
/* rt_sbi_legacy - v0.1 call: a7 = eid, a0..a2; returns a0. */
long rt_sbi_legacy(unsigned long eid, unsigned long a0, unsigned long a1, unsigned long a2);

long rt_sbi_probe(unsigned long eid); /* BASE probe_extension value, or 0 on error */
struct sbiret rt_sbi_set_timer(uint64_t deadline);
struct sbiret rt_sbi_send_ipi(unsigned long mask, unsigned long base);
struct sbiret rt_sbi_hart_start(unsigned long hart, unsigned long pc, unsigned long opaque);
struct sbiret rt_sbi_hart_stop(void);
struct sbiret rt_sbi_hart_status(unsigned long hart);
/* rt_sbi_shutdown - SRST shutdown, then legacy shutdown; parks the hart if both return. */
void rt_sbi_shutdown(void) __attribute__((noreturn));

/* Facts about the SBI implementation, filled at boot (report.c). */
extern long rt_sbi_spec_version; /* (major << 24) | minor, or 0 if BASE failed */
extern long rt_sbi_impl_id;
bool rt_on_duovisor(void);
bool rt_on_opensbi(void);
const char *rt_sbi_err_name(long err);

/* ---- console (console.c) ---------------------------------------------------------- */
void rt_putc(char c);
void rt_puts(const char *s);
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* rt_printf - format and print atomically with respect to other harts. */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- traps (trap.c, start.S) ------------------------------------------------------- */
struct rt_frame {
	unsigned long x[32]; /* x[2] is the interrupted sp */
	unsigned long sepc, scause, stval, sstatus;
};

typedef void (*rt_irq_fn)(unsigned irq, struct rt_frame *f);
/* rt_set_irq_handler - handler for S interrupt `irq` (1, 5, 9) on every hart. */
void rt_set_irq_handler(unsigned irq, rt_irq_fn fn);
/* Interrupts taken per cause on this hart, for tests that count them. */
unsigned long rt_irq_count(unsigned irq);

/* rt_on_trap - hook for exceptions nobody expected; return true when handled. */
extern bool (*rt_on_trap)(struct rt_frame *f);

/* A fault probe: one access (or SBI call) that may trap; the trap is recorded and the
 * faulting instruction skipped instead of ending the run. */
struct rt_probe {
	bool faulted;
	unsigned long cause, tval;
	uint64_t val; /* value read, when not faulted */
};
void rt_probe_read(uintptr_t addr, unsigned width, struct rt_probe *p);
void rt_probe_write(uintptr_t addr, unsigned width, uint64_t val, struct rt_probe *p);
/* rt_probe_begin/end - bracket arbitrary code; end returns what was caught (if anything). */
void rt_probe_begin(void);
void rt_probe_end(struct rt_probe *p);

/* Secondary harts: rt_hart_start starts `hart` at the runtime's secondary entry, which
 * sets up that hart's stack and calls fn(a0, a1) with the registers the SBI gave it.
 * `opaque` is what the hart receives in a1 - rt_start_opaque(hart) prepared for it. */
typedef void (*rt_hart_fn)(unsigned long a0, unsigned long a1);
unsigned long rt_start_opaque(unsigned long hart, rt_hart_fn fn);
extern char rt_secondary_entry[];

/* ---- device tree (fdt.c) ----------------------------------------------------------- */
bool rt_fdt_init(uintptr_t dtb);
int rt_fdt_next(int node, int *depth); /* next node in document order, or -1 */
const char *rt_fdt_name(int node);
const void *rt_fdt_prop(int node, const char *name, uint32_t *len);
int rt_fdt_find_compatible(const char *compat); /* first such node, or -1 */
int rt_fdt_find_path(const char *path);		/* "/cpus", "/soc/plic@c000000"; -1 if none */
uint32_t rt_be32(const void *p);
uint64_t rt_fdt_timebase(void);			    /* /cpus timebase-frequency; 10 MHz if absent */
int rt_fdt_harts(unsigned long *ids, int max);	    /* enabled cpu nodes' hart ids */
bool rt_fdt_memory(uint64_t *base, uint64_t *size); /* first /memory range */
/* rt_fdt_plic_context - PLIC context whose external line (irq 9) goes to `hart`'s
 * interrupt controller, from interrupts-extended; -1 if the tree does not say. */
int rt_fdt_plic_context(unsigned long hart);

/* ---- timing helpers (report.c) ----------------------------------------------------- */
extern uint64_t rt_timebase; /* ticks per second */
uint64_t rt_us_to_ticks(uint64_t us);
void rt_delay_us(uint64_t us);

/* ---- reporting (report.c) ---------------------------------------------------------- */
void rt_pass(const char *name);
void rt_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* rt_check - PASS name if cond, else FAIL name with the formatted reason. */
bool rt_check(bool cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* rt_finish - print the summary line and shut the machine down. */
void rt_finish(void) __attribute__((noreturn));

/* ---- small helpers ---------------------------------------------------------------- */
void *rt_memset(void *d, int c, size_t n);
void *rt_memcpy(void *d, const void *s, size_t n);
size_t rt_strlen(const char *s);
int rt_strcmp(const char *a, const char *b);
int rt_strncmp(const char *a, const char *b, size_t n);

static inline uint32_t rt_mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void rt_mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline uint8_t rt_mmio_read8(uintptr_t a)
{
	return *(volatile uint8_t *)a;
}

static inline void rt_mmio_write8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

/* rt_rand - xorshift64 step; deterministic for a given seed. */
static inline uint64_t rt_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

#endif
