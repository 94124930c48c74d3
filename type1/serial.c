/*
 * serial.c - the physical 16550 UART of QEMU's virt board (0x1000_0000) as the
 * hypervisor's own console: polled byte output and input, t1_printf for hypervisor
 * messages, host_log (the core's log lines, prefixed "[duovisor] "), and the reports
 * of fatal errors (t1_panic, a trap taken in HS-mode) before the machine powers off.
 *
 * OpenSBI has already programmed the divisor and line control; we only poll LSR. Guest
 * consoles are multiplexed onto the same UART by vcon.c, which owns the console lock.
 */
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/vm.h>

#include "hv.h"

#define UART_BASE 0x10000000UL
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

static inline volatile u8 *uart_reg(unsigned r)
{
	return (volatile u8 *)(UART_BASE + r);
}

void t1_serial_init(void)
{
	*uart_reg(UART_IER) = 0;    /* polled; no interrupts */
	*uart_reg(UART_FCR) = 0x07; /* FIFOs on and cleared */
}

void t1_serial_putc(char c)
{
	/* QEMU's UART is always ready; bound the wait anyway so a wedged UART cannot hang us. */
	for (unsigned spin = 0; spin < 100000 && !(*uart_reg(UART_LSR) & LSR_THRE); spin++)
		;
	*uart_reg(UART_THR) = (u8)c;
}

int t1_serial_getc(void)
{
	if (!(*uart_reg(UART_LSR) & LSR_DR))
		return -1;
	return *uart_reg(UART_RBR);
}

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
	char buf[320];
	size_t n = 0;
	if (prefix)
		n = duo_strlcpy(buf, prefix, sizeof(buf));
	duo_vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	n = duo_strnlen(buf, sizeof(buf));
	t1_con_lock();
	t1_con_raw(buf, n);
	t1_con_unlock();
}

void t1_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
}

void host_log(struct vm *vm, int level, const char *msg)
{
	static const char *const lvl[] = { "error: ", "warning: ", "", "debug: " };
	if (level >= LOG_DEBUG)
		return;
	if (level < 0)
		level = 0;
	if (vm)
		t1_printf("[duovisor] %s: %s%s\n", vm->cfg.name, lvl[level], msg);
	else
		t1_printf("[duovisor] %s%s\n", lvl[level], msg);
}

/* Panics bypass the console lock: the holder may be the one that broke. */
static void panic_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			t1_serial_putc('\r');
		t1_serial_putc(*s++);
	}
}

/*
 * t1_poweroff_failed - power off as a failure. OpenSBI's SRST shutdown always reports success to
 * QEMU, so when the board has QEMU's sifive,test device it gets FINISHER_FAIL with exit
 * code 1 (QEMU then exits with status 1), and a script sees that the hypervisor died.
 */
void t1_poweroff_failed(void)
{
	if (t1.board.test_base)
		*(volatile u32 *)(uintptr_t)t1.board.test_base = 0x3333 | (1 << 16);
	t1_poweroff();
}

void t1_panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	duo_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	panic_puts("\n[duovisor] PANIC: ");
	panic_puts(buf);
	panic_puts("\n");
	t1_poweroff_failed();
}

/*
 * t1_host_trap - called by start.S for a trap taken in HS-mode outside a guest. That is
 * a hypervisor bug (or a broken stack): report where, then power off rather than hang.
 */
void t1_host_trap(u64 *regs)
{
	char buf[200];
	struct t1_hart *h = t1_this_hart();
	long id = h >= t1.harts && h < t1.harts + T1_MAX_HARTS ? (long)h->hartid : -1;
	duo_snprintf(buf, sizeof(buf),
		     "HS-mode trap on hart %ld: scause %lx sepc %lx stval %lx ra %lx sp %lx", id,
		     csr_read(scause), csr_read(sepc), csr_read(stval), (unsigned long)regs[1],
		     (unsigned long)regs[2]);
	panic_puts("\n[duovisor] PANIC: ");
	panic_puts(buf);
	panic_puts("\n");
	t1_poweroff_failed();
}
