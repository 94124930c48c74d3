/*
 * uart.c - the guest's 16550A UART (ns16550a in the device tree), see duo/uart.h.
 *
 * Sits on the MMIO bus at PLAT_UART_BASE; its interrupt line is PLIC source
 * PLAT_UART_IRQ. Transmit is immediate: a THR write goes straight to
 * host_console_write(), so LSR.THRE and LSR.TEMT are always set and the THR-empty
 * interrupt becomes pending after every THR write. Receive comes from the host through
 * uart_rx() into a 256-byte FIFO that the guest drains through RBR (and the SBI console
 * drains through uart_getc()).
 *
 * Registers are byte registers at offsets 0..7 (reg-shift 0). Any access width hits the
 * byte register at the addressed offset; offsets 8..0xff read 0 and ignore writes.
 * One lock per UART; the PLIC is called with it held (lock order UART -> PLIC; the PLIC
 * never calls back into a device), which keeps the line level seen by the PLIC in the
 * same order as the state changes that produced it.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/plic.h>
#include <duo/platform.h>
#include <duo/uart.h>
#include <duo/vm.h>

/* Register offsets. DLL/DLM replace RBR-THR/IER while LCR.DLAB is set. */
enum {
	REG_RBR_THR = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
	NREGS = 8,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04 /* receiver line status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_ID_MASK 0x0f
#define IIR_FIFO_ON 0xc0

#define FCR_FIFO_EN 0x01
#define FCR_CLR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI: cleared by reading LSR */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* ---- state helpers; all called with u->lock held --------------------------------- */

static bool rx_push(struct uart *u, u8 c)
{
	if (u->rx_count >= UART_RX_FIFO)
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = c;
	u->rx_count++;
	return true;
}

static int rx_pop(struct uart *u)
{
	if (!u->rx_count)
		return -1;
	u8 c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
	u->rx_count--;
	return c;
}

/* The highest-priority pending cause, as IIR reports it (16550A table: line status,
 * then received data, then THR empty; modem-status changes never happen here). */
static u8 uart_iir(const struct uart *u)
{
	u8 id = IIR_NO_INT;

	if ((u->ier & IER_ELSI) && (u->lsr_extra & LSR_ERRORS))
		id = IIR_RLS;
	else if ((u->ier & IER_ERBFI) && u->rx_count)
		id = IIR_RDA;
	else if ((u->ier & IER_ETBEI) && u->thr_ipending)
		id = IIR_THRE;
	return id | ((u->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0);
}

static u8 uart_lsr(const struct uart *u)
{
	return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_extra;
}

/* In loopback the modem inputs follow the modem outputs (data sheet, MCR bit 4). */
static u8 uart_msr(const struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return ((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void uart_update_irq(struct uart *u)
{
	bool level = (uart_iir(u) & IIR_ID_MASK) != IIR_NO_INT;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->vm && u->vm->plic)
		plic_set_irq(u->vm->plic, PLAT_UART_IRQ, level);
}

static void uart_tx(struct uart *u, u8 c)
{
	if (u->mcr & MCR_LOOP) {
		if (!rx_push(u, c))
			u->lsr_extra |= LSR_OE;
	} else {
		host_console_write(u->vm, (const char *)&c, 1);
	}
	/* The byte left at once: THR is empty again, which is an interrupt cause. */
	u->thr_ipending = true;
}

static void uart_write_ier(struct uart *u, u8 val)
{
	u8 old = u->ier;

	u->ier = val & IER_MASK;
	/*
	 * Enabling ETBEI while THR is empty (always, here) raises the THR-empty interrupt;
	 * Linux's 8250 driver probes this at startup and relies on it to start transmit.
	 * Disabling it drops the stale cause.
	 */
	if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
		u->thr_ipending = true;
	else if (!(u->ier & IER_ETBEI))
		u->thr_ipending = false;
}

static void uart_write_fcr(struct uart *u, u8 val)
{
	/* Toggling the FIFO enable resets the FIFOs, as does FCR bit 1 for receive. */
	if ((val & FCR_CLR_RX) || ((val ^ u->fcr) & FCR_FIFO_EN)) {
		u->rx_head = 0;
		u->rx_count = 0;
	}
	/* Only the enable and the trigger level are kept; bits 1-2 self-clear. */
	u->fcr = val & 0xc9;
}

/* ---- MMIO ------------------------------------------------------------------------- */

static u8 uart_read_reg(struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	u8 r = 0;
	int c;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			return u->dll;
		c = rx_pop(u);
		return c < 0 ? 0 : (u8)c;
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		r = uart_iir(u);
		/* Reading IIR acknowledges THR-empty when that is what it reports. */
		if ((r & IIR_ID_MASK) == IIR_THRE)
			u->thr_ipending = false;
		return r;
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		r = uart_lsr(u);
		u->lsr_extra = 0;
		return r;
	case REG_MSR:
		return uart_msr(u);
	case REG_SCR:
		return u->scr;
	}
	return 0;
}

static void uart_write_reg(struct uart *u, unsigned reg, u8 val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			u->dll = val;
		else
			uart_tx(u, val);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = val;
		else
			uart_write_ier(u, val);
		break;
	case REG_IIR_FCR:
		uart_write_fcr(u, val);
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		u->mcr = val & MCR_MASK;
		break;
	case REG_SCR:
		u->scr = val;
		break;
	default: /* LSR and MSR are read-only; factory-test writes are ignored */
		break;
	}
}

static int uart_mmio_read(struct mmio_dev *dev, u64 off, unsigned width, u64 *val)
{
	struct uart *u = dev->opaque;

	*val = 0;
	if (off >= NREGS)
		return 0;
	duo_lock(&u->lock);
	*val = uart_read_reg(u, (unsigned)off);
	uart_update_irq(u);
	duo_unlock(&u->lock);
	return 0;
}

static int uart_mmio_write(struct mmio_dev *dev, u64 off, unsigned width, u64 val)
{
	struct uart *u = dev->opaque;

	if (off >= NREGS)
		return 0;
	duo_lock(&u->lock);
	uart_write_reg(u, (unsigned)off, (u8)val);
	uart_update_irq(u);
	duo_unlock(&u->lock);
	return 0;
}

static const struct mmio_ops uart_ops = {
	.read = uart_mmio_read,
	.write = uart_mmio_write,
};

/* ---- public ------------------------------------------------------------------------ */

int uart_init(struct uart *u, struct vm *vm)
{
	duo_memset(u, 0, sizeof(*u));
	u->vm = vm;
	u->mmio.name = "uart";
	u->mmio.base = PLAT_UART_BASE;
	u->mmio.size = PLAT_UART_SIZE;
	u->mmio.ops = &uart_ops;
	u->mmio.opaque = u;
	uart_reset(u);
	return mmio_register(&vm->bus, &u->mmio);
}

void uart_reset(struct uart *u)
{
	duo_lock(&u->lock);
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr_extra = 0;
	u->scr = 0;
	u->dll = 0;
	u->dlm = 0;
	u->fcr = 0;
	u->thr_ipending = false;
	u->rx_head = 0;
	u->rx_count = 0;
	uart_update_irq(u); /* lowers the line if it was high */
	duo_unlock(&u->lock);
}

size_t uart_rx(struct uart *u, const u8 *buf, size_t n)
{
	size_t i;

	duo_lock(&u->lock);
	for (i = 0; i < n; i++)
		if (!rx_push(u, buf[i]))
			break;
	uart_update_irq(u);
	duo_unlock(&u->lock);
	return i;
}

int uart_getc(struct uart *u)
{
	int c;

	duo_lock(&u->lock);
	c = rx_pop(u);
	uart_update_irq(u);
	duo_unlock(&u->lock);
	return c;
}
