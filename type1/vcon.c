/*
 * vcon.c - every guest's console on the one physical UART.
 *
 * Output: host_console_write (the guest's 16550, virtio console, SBI putchar/DBCN) fills
 * the VM's line buffer; a complete line is printed at once as "[name] text". A line
 * left unfinished for 100 ms (a shell prompt; checked on the console hart's 10 ms tick)
 * is shown as it is, and its rest continues without a new prefix - unless another VM or
 * the hypervisor printed in between: then the line is shown again from its start, with
 * its prefix, so a reader of lines never sees one cut in two. The console lock serialises
 * all of it, so lines from different harts never interleave inside a line. '\r' is
 * dropped and '\n' printed as CR LF.
 *
 * Input: the console hart polls the UART every tick (t1_vcon_tick) and sends bytes to
 * the focused VM (its UART, or virtio console when its command line says console=hvc).
 * Ctrl-A starts an escape (the same keys as type 2, docs/cli.md, plus c):
 *   Ctrl-A c  management prompt (mgmt.c)   Ctrl-A n  focus the next running VM
 *   Ctrl-A a  a literal Ctrl-A             Ctrl-A h  help
 *   Ctrl-A x  stop every VM (the machine then powers off)
 */
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "hv.h"

#define CTRL_A 0x01

static struct duo_lock con_lock = DUO_LOCK_INIT;
static struct t1_vm *open_vm; /* whose unfinished line is on screen */
static bool col_open;	      /* the cursor is not at the start of a line */
static bool esc, in_mgmt;
struct t1_vm *t1_focus;

void t1_con_lock(void)
{
	duo_lock(&con_lock);
}

void t1_con_unlock(void)
{
	duo_unlock(&con_lock);
}

static void put_bytes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			t1_serial_putc('\r');
		t1_serial_putc(s[i]);
	}
}

void t1_con_raw(const char *s, size_t n)
{
	if (!n)
		return;
	if (col_open && open_vm)
		put_bytes("\n", 1);
	open_vm = NULL;
	put_bytes(s, n);
	col_open = s[n - 1] != '\n';
}

/*
 * emit - show what is not yet on the screen of tvm's current line; complete: it ends
 * here (the buffer is then empty). If something else was printed since its start was
 * shown, the whole line is shown again on a line of its own. Lock held.
 */
static void emit(struct t1_vm *tvm, bool complete)
{
	u32 from = tvm->line_shown;
	if (open_vm != tvm || !col_open) {
		if (col_open)
			put_bytes("\n", 1);
		t1_serial_putc('[');
		put_bytes(tvm->vm.cfg.name, duo_strlen(tvm->vm.cfg.name));
		put_bytes("] ", 2);
		from = 0;
	}
	put_bytes(tvm->line + from, tvm->line_len - from);
	if (complete) {
		put_bytes("\n", 1);
		open_vm = NULL;
		col_open = false;
		tvm->line_len = tvm->line_shown = 0;
	} else {
		open_vm = tvm;
		col_open = true;
		tvm->line_shown = tvm->line_len;
	}
}

void host_console_write(struct vm *vm, const char *buf, size_t n)
{
	struct t1_vm *tvm = t1_vm_of(vm);
	duo_lock(&con_lock);
	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\r')
			continue;
		if (ch == '\n') {
			emit(tvm, true);
			continue;
		}
		if (tvm->line_len == sizeof(tvm->line)) {
			/* too long to keep: shown in pieces */
			emit(tvm, false);
			tvm->line_len = tvm->line_shown = 0;
		}
		tvm->line[tvm->line_len++] = ch;
	}
	tvm->line_time = t1_rdtime();
	duo_unlock(&con_lock);
}

/* Show every VM's unfinished line that had no new bytes for T1_CON_PARTIAL_TICKS. */
static void flush_idle(bool all)
{
	u64 now = t1_rdtime();
	duo_lock(&con_lock);
	for (unsigned i = 0; i < t1.nvms; i++) {
		struct t1_vm *tvm = t1.vms[i];
		if (tvm->line_len > tvm->line_shown &&
		    (all || now - tvm->line_time >= T1_CON_PARTIAL_TICKS))
			emit(tvm, false);
		if (all) /* a VM stopping or restarting: its next output starts a line */
			tvm->line_len = tvm->line_shown = 0;
	}
	duo_unlock(&con_lock);
}

void t1_vcon_flush_all(void)
{
	flush_idle(true);
}

static bool wants_hvc(struct t1_vm *tvm)
{
	const char *s = tvm->vm.cfg.cmdline;
	for (; *s; s++)
		if (!duo_strncmp(s, "console=hvc", 11))
			return true;
	return false;
}

static void focus_next(void)
{
	unsigned cur = 0;
	for (unsigned i = 0; i < t1.nvms; i++)
		if (t1.vms[i] == t1_focus)
			cur = i;
	for (unsigned k = 1; k <= t1.nvms; k++) {
		struct t1_vm *tvm = t1.vms[(cur + k) % t1.nvms];
		if (tvm->vm.state == VM_RUNNING || k == t1.nvms) {
			t1_focus = tvm;
			break;
		}
	}
	t1_printf("[duovisor] input goes to [%s]\n", t1_focus->vm.cfg.name);
}

void t1_vcon_vm_gone(struct t1_vm *tvm)
{
	/* As in type 2: when the VM you type into stops for good, input moves on. */
	if (t1_focus != tvm)
		return;
	for (unsigned i = 0; i < t1.nvms; i++)
		if (t1.vms[i] != tvm && t1.vms[i]->vm.state == VM_RUNNING) {
			focus_next();
			return;
		}
}

/* to_guest - false when the guest's input FIFO is full (the byte is to be retried). */
static bool to_guest(u8 ch)
{
	struct t1_vm *tvm = t1_focus;
	if (!tvm || tvm->vm.state != VM_RUNNING)
		return true; /* nobody to type into: dropped */
	if (wants_hvc(tvm))
		return virtio_console_input(&tvm->vm, &ch, 1) == 1;
	return vm_console_input(&tvm->vm, &ch, 1) == 1;
}

bool t1_vcon_input(u8 ch)
{
	if (esc) {
		esc = false;
		switch (ch) {
		case 'c':
			if (in_mgmt) {
				in_mgmt = false;
				t1_printf("\n[duovisor] back to [%s]\n", t1_focus->vm.cfg.name);
			} else {
				in_mgmt = true;
				t1_mgmt_enter();
			}
			return true;
		case 'n':
			focus_next();
			return true;
		case 'a':
		case CTRL_A:
			break; /* a literal Ctrl-A */
		case 'h':
			t1_printf(
				"[duovisor] Ctrl-A c management prompt, Ctrl-A n next VM, Ctrl-A a "
				"literal Ctrl-A, Ctrl-A x stop every VM, Ctrl-A h this help "
				"(input goes to [%s])\n",
				t1_focus->vm.cfg.name);
			return true;
		case 'x':
			t1_mgmt_exec((char[]){ "stop all" });
			return true;
		default:
			return true; /* unknown escape: swallowed */
		}
		to_guest(CTRL_A); /* not held back: a retry would see 'a', not the escape */
		return true;
	} else if (ch == CTRL_A) {
		esc = true;
		return true;
	}
	if (in_mgmt) {
		in_mgmt = t1_mgmt_input(ch);
		return true;
	}
	return to_guest(ch);
}

void t1_vcon_tick(void)
{
	/*
	 * A byte the focused guest cannot take yet is held, and the UART is not read
	 * meanwhile (QEMU keeps the rest), so typing ahead of a busy guest loses nothing.
	 * A guest that never reads would hold up the escapes: after 1 s the byte is dropped.
	 */
	static int held = -1;
	static u64 held_since;
	u64 now = t1_rdtime();
	/* Bounded per tick so a stream of input cannot starve the hart's guest. */
	for (int n = 0; n < 64; n++) {
		int ch = held >= 0 ? held : t1_serial_getc();
		if (ch < 0)
			break;
		if (t1_vcon_input((u8)ch)) {
			held = -1;
			continue;
		}
		if (held < 0) {
			held = ch;
			held_since = now;
		} else if (now - held_since > PLAT_TIMEBASE_HZ) {
			held = -1; /* dropped */
		}
		break;
	}
	flush_idle(false);
}
