/*
 * test_uart.c - register-level tests of the 16550A model (core/dev/uart.c), driven
 * through the VM's MMIO bus the way a guest driver would: reset values, transmit to the
 * console, DLAB banking, the receive FIFO, IIR priorities and the THR-empty interrupt
 * sequence Linux's 8250 driver depends on, loopback, and every width at every offset
 * (HOSTILE 13).
 */
#include <string.h>

#include <duo/err.h>
#include <duo/plic.h>
#include <duo/uart.h>

#include "fake_host.h"
#include "harness.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4 };
enum { LSR = 5, MSR = 6, SCR = 7 };

static u64 rd(struct vm *vm, u64 off, unsigned width)
{
	u64 v = 0xdeadbeef;
	int r = mmio_access(&vm->bus, PLAT_UART_BASE + off, width, false, &v);
	CHECK_EQ(r, 0);
	return v;
}

static u8 rd8(struct vm *vm, u64 off)
{
	return (u8)rd(vm, off, 1);
}

static void wr(struct vm *vm, u64 off, unsigned width, u64 val)
{
	CHECK_EQ(mmio_access(&vm->bus, PLAT_UART_BASE + off, width, true, &val), 0);
}

static void wr8(struct vm *vm, u64 off, u8 val)
{
	wr(vm, off, 1, val);
}

static bool uart_line(struct vm *vm)
{
	return (vm->plic->level >> PLAT_UART_IRQ) & 1;
}

TEST(uart_reset_values)
{
	NEW_FAKE_VM(vm, 16, 1);
	CHECK_EQ(rd8(vm, IER), 0);
	CHECK_EQ(rd8(vm, IIR), 0x01);
	CHECK_EQ(rd8(vm, LCR), 0);
	CHECK_EQ(rd8(vm, MCR), 0);
	CHECK_EQ(rd8(vm, LSR), 0x60); /* THRE | TEMT, no data */
	CHECK_EQ(rd8(vm, MSR), 0xb0); /* DCD | DSR | CTS: a terminal is attached */
	CHECK_EQ(rd8(vm, SCR), 0);
	CHECK_EQ(rd8(vm, RBR), 0); /* empty FIFO reads 0 */
	CHECK(!uart_line(vm));
	fake_vm_free(vm);
}

TEST(uart_thr_writes_console)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, THR, 'h');
	wr8(vm, THR, 'i');
	wr(vm, THR, 4, 0x41424321); /* a wide store sends its low byte only */
	CHECK_EQ(fake.console_len, 3);
	CHECK(strcmp(fake.console, "hi!") == 0);
	CHECK_EQ(rd8(vm, LSR) & 0x60, 0x60); /* still empty: TX is immediate */
	fake_vm_free(vm);
}

TEST(uart_dlab_banking)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, IER, 0x01);
	wr8(vm, LCR, 0x83); /* DLAB, 8N1 */
	wr8(vm, DLL, 0x12);
	wr8(vm, DLM, 0x34);
	CHECK_EQ(fake.console_len, 0); /* DLL write is not a THR write */
	CHECK_EQ(rd8(vm, DLL), 0x12);
	CHECK_EQ(rd8(vm, DLM), 0x34);
	CHECK_EQ(rd8(vm, LCR), 0x83);
	wr8(vm, LCR, 0x03);
	CHECK_EQ(rd8(vm, IER), 0x01); /* IER kept its value behind DLM */
	wr8(vm, IER, 0xff);
	CHECK_EQ(rd8(vm, IER), 0x0f); /* upper IER bits are reserved */
	wr8(vm, LCR, 0x80);
	CHECK_EQ(rd8(vm, DLL), 0x12);
	CHECK_EQ(rd8(vm, DLM), 0x34);
	/* Receive data is hidden behind DLL while DLAB is set. */
	CHECK_EQ(uart_rx(vm->uart, (const u8 *)"z", 1), 1);
	CHECK_EQ(rd8(vm, RBR), 0x12);
	wr8(vm, LCR, 0x03);
	CHECK_EQ(rd8(vm, RBR), 'z');
	fake_vm_free(vm);
}

TEST(uart_rx_path_and_lsr)
{
	NEW_FAKE_VM(vm, 16, 1);
	CHECK_EQ(vm_console_input(vm, (const u8 *)"ab", 2), 2);
	CHECK_EQ(rd8(vm, LSR), 0x61);
	CHECK_EQ(rd8(vm, RBR), 'a');
	CHECK_EQ(rd8(vm, LSR), 0x61);
	CHECK_EQ(rd8(vm, RBR), 'b');
	CHECK_EQ(rd8(vm, LSR), 0x60);
	CHECK_EQ(rd8(vm, RBR), 0);
	/* The FIFO holds UART_RX_FIFO bytes; the rest is left with the caller. */
	u8 big[UART_RX_FIFO + 44];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (u8)i;
	CHECK_EQ(uart_rx(vm->uart, big, sizeof(big)), UART_RX_FIFO);
	CHECK_EQ(uart_rx(vm->uart, big, 1), 0);
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		CHECK_EQ(rd8(vm, RBR), (u8)i);
	CHECK_EQ(rd8(vm, LSR), 0x60); /* no overrun reported: nothing was lost */
	fake_vm_free(vm);
}

TEST(uart_getc_shares_fifo)
{
	NEW_FAKE_VM(vm, 16, 1);
	CHECK_EQ(uart_getc(vm->uart), -1);
	uart_rx(vm->uart, (const u8 *)"\xffq", 2);
	CHECK_EQ(uart_getc(vm->uart), 0xff); /* a byte, not a negative char */
	CHECK_EQ(rd8(vm, RBR), 'q');
	CHECK_EQ(uart_getc(vm->uart), -1);
	fake_vm_free(vm);
}

TEST(uart_rx_interrupt)
{
	NEW_FAKE_VM(vm, 16, 1);
	uart_rx(vm->uart, (const u8 *)"x", 1);
	CHECK(!uart_line(vm)); /* IER.ERBFI off */
	CHECK_EQ(rd8(vm, IIR), 0x01);
	wr8(vm, IER, 0x01);
	CHECK(uart_line(vm));
	CHECK_EQ(rd8(vm, IIR), 0x04);
	CHECK_EQ(rd8(vm, IIR), 0x04); /* reading IIR does not clear received data */
	CHECK_EQ(rd8(vm, RBR), 'x');
	CHECK(!uart_line(vm));
	CHECK_EQ(rd8(vm, IIR), 0x01);
	uart_rx(vm->uart, (const u8 *)"y", 1);
	CHECK(uart_line(vm));
	CHECK_EQ(uart_getc(vm->uart), 'y'); /* SBI getchar drains it too */
	CHECK(!uart_line(vm));
	fake_vm_free(vm);
}

/* The sequence serial8250_do_startup() uses to detect a working THRE interrupt. */
TEST(uart_thre_interrupt_sequence)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, IER, 0x02);
	CHECK(uart_line(vm));
	CHECK_EQ(rd8(vm, LSR), 0x60);
	CHECK_EQ(rd8(vm, IIR), 0x02); /* reported ... */
	CHECK(!uart_line(vm));
	CHECK_EQ(rd8(vm, IIR), 0x01); /* ... and acknowledged by that read */
	wr8(vm, IER, 0x00);
	wr8(vm, IER, 0x02); /* re-enabling re-arms it */
	CHECK_EQ(rd8(vm, IIR), 0x02);
	wr8(vm, IER, 0x02); /* rewriting an enabled ETBEI does not */
	CHECK_EQ(rd8(vm, IIR), 0x01);
	/* Each THR write empties at once and raises THRE again. */
	wr8(vm, THR, 'a');
	CHECK(uart_line(vm));
	wr8(vm, THR, 'b');
	CHECK_EQ(rd8(vm, IIR), 0x02);
	CHECK_EQ(rd8(vm, IIR), 0x01);
	CHECK(!uart_line(vm));
	/* Disabling ETBEI drops a pending THRE. */
	wr8(vm, THR, 'c');
	CHECK(uart_line(vm));
	wr8(vm, IER, 0x00);
	CHECK(!uart_line(vm));
	wr8(vm, IER, 0x01);
	CHECK_EQ(rd8(vm, IIR), 0x01);
	CHECK(strcmp(fake.console, "abc") == 0);
	fake_vm_free(vm);
}

TEST(uart_iir_priority_rx_over_thre)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, IER, 0x03);
	uart_rx(vm->uart, (const u8 *)"k", 1);
	CHECK_EQ(rd8(vm, IIR), 0x04); /* RX data outranks THR empty ... */
	CHECK_EQ(rd8(vm, IIR), 0x04); /* ... and that read did not eat the THRE cause */
	CHECK_EQ(rd8(vm, RBR), 'k');
	CHECK_EQ(rd8(vm, IIR), 0x02);
	CHECK_EQ(rd8(vm, IIR), 0x01);
	fake_vm_free(vm);
}

TEST(uart_fcr_fifo_bits_and_clear)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, FCR, 0x01);
	CHECK_EQ(rd8(vm, IIR), 0xc1);
	uart_rx(vm->uart, (const u8 *)"abc", 3);
	wr8(vm, IER, 0x01);
	CHECK_EQ(rd8(vm, IIR), 0xc4);
	wr8(vm, FCR, 0xc3); /* keep FIFOs on, clear RX */
	CHECK_EQ(rd8(vm, LSR), 0x60);
	CHECK_EQ(rd8(vm, IIR), 0xc1);
	CHECK(!uart_line(vm));
	uart_rx(vm->uart, (const u8 *)"d", 1);
	wr8(vm, FCR, 0x00); /* disabling the FIFOs resets them and drops the bits */
	CHECK_EQ(rd8(vm, IIR), 0x01);
	CHECK_EQ(rd8(vm, LSR), 0x60);
	fake_vm_free(vm);
}

TEST(uart_mcr_msr_loopback)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, MCR, 0xff);
	CHECK_EQ(rd8(vm, MCR), 0x1f);
	CHECK_EQ(rd8(vm, MSR), 0xf0);
	wr8(vm, MCR, 0x10 | 0x0a); /* LOOP | OUT2 | RTS: Linux's autoconfig probe */
	CHECK_EQ(rd8(vm, MSR) & 0xf0, 0x90);
	wr8(vm, MCR, 0x10 | 0x05); /* LOOP | OUT1 | DTR */
	CHECK_EQ(rd8(vm, MSR) & 0xf0, 0x60);
	/* In loopback, transmitted bytes come back as received ones, not to the console. */
	wr8(vm, THR, 'L');
	CHECK_EQ(fake.console_len, 0);
	CHECK_EQ(rd8(vm, LSR), 0x61);
	CHECK_EQ(rd8(vm, RBR), 'L');
	/* Overrunning the FIFO in loopback reports OE once. */
	for (int i = 0; i < UART_RX_FIFO + 1; i++)
		wr8(vm, THR, 'o');
	wr8(vm, IER, 0x04);
	CHECK_EQ(rd8(vm, IIR), 0x06); /* receiver line status */
	CHECK_EQ(rd8(vm, LSR), 0x63);
	CHECK_EQ(rd8(vm, LSR), 0x61);
	CHECK_EQ(rd8(vm, IIR), 0x01);
	wr8(vm, MCR, 0x00);
	CHECK_EQ(rd8(vm, MSR), 0xb0);
	wr8(vm, THR, 'n');
	CHECK(strcmp(fake.console, "n") == 0);
	fake_vm_free(vm);
}

TEST(uart_lsr_msr_readonly_scr_rw)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, LSR, 0x00);
	wr8(vm, MSR, 0x00);
	CHECK_EQ(rd8(vm, LSR), 0x60);
	CHECK_EQ(rd8(vm, MSR), 0xb0);
	wr8(vm, SCR, 0x5a);
	CHECK_EQ(rd8(vm, SCR), 0x5a);
	fake_vm_free(vm);
}

/* HOSTILE 13: every width at every offset of the window gets a defined answer. */
TEST(uart_every_width_every_offset)
{
	NEW_FAKE_VM(vm, 16, 1);
	unsigned widths[] = { 1, 2, 4, 8 };
	for (unsigned i = 0; i < 4; i++) {
		unsigned w = widths[i];
		for (u64 off = 8; off + w <= PLAT_UART_SIZE; off++) {
			wr(vm, off, w, UINT64_MAX);
			CHECK_EQ(rd(vm, off, w), 0);
		}
	}
	/* None of those writes reached a register or the console. */
	CHECK_EQ(fake.console_len, 0);
	CHECK_EQ(rd8(vm, IER), 0);
	CHECK_EQ(rd8(vm, LCR), 0);
	CHECK_EQ(rd8(vm, SCR), 0);
	/* Wide accesses act on the addressed byte register only. */
	wr(vm, SCR, 8, 0x1122334455667788ULL);
	CHECK_EQ(rd8(vm, SCR), 0x88);
	CHECK_EQ(rd(vm, SCR, 8), 0x88);
	CHECK_EQ(rd(vm, LSR, 2), 0x60); /* not LSR | MSR << 8 */
	CHECK_EQ(rd(vm, MCR, 4), 0);
	wr(vm, LCR, 2, 0x0383); /* sets LCR only, not MCR */
	CHECK_EQ(rd8(vm, LCR), 0x83);
	CHECK_EQ(rd8(vm, MCR), 0);
	wr8(vm, LCR, 0x03);
	/* Misaligned wide accesses inside the register block. */
	for (u64 off = 0; off < 8; off++)
		for (unsigned i = 0; i < 4; i++)
			(void)rd(vm, off, widths[i]);
	/* Straddling the end of the window is the bus's fault, never the device's. */
	u64 v = 0;
	CHECK_EQ(mmio_access(&vm->bus, PLAT_UART_BASE + PLAT_UART_SIZE - 1, 2, false, &v),
		 DUO_EFAULT);
	CHECK_EQ(mmio_access(&vm->bus, PLAT_UART_BASE + PLAT_UART_SIZE - 4, 8, true, &v),
		 DUO_EFAULT);
	fake_vm_free(vm);
}

/* End to end: UART -> PLIC -> vCPU external interrupt, claim, service, complete. */
TEST(uart_interrupt_reaches_vcpu)
{
	NEW_FAKE_VM(vm, 16, 1);
	u64 v;
	v = 1;
	mmio_access(&vm->bus, PLAT_PLIC_BASE + 4 * PLAT_UART_IRQ, 4, true, &v);
	v = 1u << PLAT_UART_IRQ;
	mmio_access(&vm->bus, PLAT_PLIC_BASE + 0x2000, 4, true, &v);
	wr8(vm, IER, 0x01);
	CHECK(!fake.irq[0][IRQ_S_EXT]);
	uart_rx(vm->uart, (const u8 *)"!", 1);
	CHECK(fake.irq[0][IRQ_S_EXT]);
	mmio_access(&vm->bus, PLAT_PLIC_BASE + 0x200004, 4, false, &v);
	CHECK_EQ(v, PLAT_UART_IRQ);
	CHECK(!fake.irq[0][IRQ_S_EXT]);
	CHECK_EQ(rd8(vm, RBR), '!');
	mmio_access(&vm->bus, PLAT_PLIC_BASE + 0x200004, 4, true, &v);
	CHECK(!fake.irq[0][IRQ_S_EXT]); /* line went low while claimed: nothing re-pends */
	uart_rx(vm->uart, (const u8 *)"?", 1);
	CHECK(fake.irq[0][IRQ_S_EXT]);
	fake_vm_free(vm);
}

TEST(uart_reset_lowers_line_and_drops_input)
{
	NEW_FAKE_VM(vm, 16, 1);
	wr8(vm, IER, 0x01);
	wr8(vm, LCR, 0x83);
	uart_rx(vm->uart, (const u8 *)"abc", 3);
	CHECK(uart_line(vm));
	vm_reset_devices(vm);
	CHECK(!uart_line(vm));
	CHECK_EQ(rd8(vm, LSR), 0x60);
	CHECK_EQ(rd8(vm, IER), 0);
	CHECK_EQ(rd8(vm, LCR), 0);
	CHECK_EQ(uart_getc(vm->uart), -1);
	fake_vm_free(vm);
}
