/*
 * uart.h - the 16550A UART model (ns16550a in the device tree) at PLAT_UART_BASE.
 *
 * Transmit is immediate (host_console_write). Receive comes from vm_console_input()
 * into an internal FIFO; LSR.DR and the RX interrupt follow it. The interrupt line is
 * PLIC source PLAT_UART_IRQ. Registers per the 16550A data sheet, with DLAB banking.
 */
#ifndef DUO_UART_H
#define DUO_UART_H

#include <duo/types.h>
#include <duo/lib.h>
#include <duo/mmio.h>

struct vm;

#define UART_RX_FIFO 256

struct uart {
	struct mmio_dev mmio;
	struct vm *vm;
	struct duo_lock lock;
	u8 ier, lcr, mcr, lsr_extra, scr, dll, dlm, fcr;
	bool thr_ipending; /* THR-empty interrupt pending (cleared by IIR read / THR write) */
	u8 rx[UART_RX_FIFO];
	u32 rx_head, rx_count;
	bool irq_level; /* last level driven to the PLIC */
};

/* uart_init - set up the UART for vm (registers it on vm->bus). Returns 0 or DUO_E*. */
int uart_init(struct uart *u, struct vm *vm);
/* uart_reset - power-on register values; drops buffered input. */
void uart_reset(struct uart *u);
/* uart_rx - queue input bytes; returns how many fit. Raises the RX interrupt if enabled. */
size_t uart_rx(struct uart *u, const u8 *buf, size_t n);
/* uart_getc - take one input byte for SBI getchar/DBCN read: 0..255, or -1 if none. */
int uart_getc(struct uart *u);

#endif
