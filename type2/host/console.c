/*
 * console.c - the terminal side of type 2's consoles, run by the main thread.
 *
 * Output: vCPU threads drop guest bytes into each VM's bounded ring (host.c); the pump
 * here writes them to stdout - as they are with one VM, or line by line prefixed
 * "[name] " with several (a partial line is held back briefly so lines of different
 * VMs do not interleave, then shown anyway so prompts appear). Works the same whether
 * stdout is a terminal, a pipe or a file.
 *
 * Input: stdin (a terminal in raw mode, a pipe, /dev/null or nothing) goes to one VM at
 * a time, through that VM's UART (vm_console_input); what the UART FIFO cannot take waits
 * in a bounded per-VM backlog and stdin is not read until there is room again. Escapes
 * (docs/cli.md): Ctrl-A x quit, Ctrl-A n next VM, Ctrl-A s status, Ctrl-A a a literal
 * Ctrl-A, Ctrl-A h help.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <duo/virtio.h>
#include <duo/vm.h>
#include "t2.h"

#define CTRL_A 0x01
#define HOLD_NS 100000000ULL /* prefix mode: a partial line waits at most 100 ms */
#define RETRY_MS 10	     /* backlogged input: try the UART again this often */
#define LINE_MAX_ERR 600     /* longest line of ours on stderr */

static struct {
	struct t2_vm **vms;
	int n;
	bool prefix;
	int in_fd;	       /* -1: no input (none, EOF, error) */
	bool esc;	       /* last input byte was Ctrl-A */
	int focus;	       /* index of the VM that gets input */
	struct t2_vm *open_vm; /* prefix mode: whose line is unterminated on stdout */
	char last_out;	       /* last byte written to stdout */
	bool out_dead;	       /* stdout is gone (EPIPE...): output is discarded */
	bool same_out;	       /* stdout and stderr are one file: keep messages on their own line */
	pthread_mutex_t out_mu; /* stdout and the fields above; held only by short writers */
	volatile int raw;	/* stdin is in raw mode (read by signal handlers) */
	volatile int crlf_out, crlf_err; /* raw terminal: our own line ends are CR LF */
	struct termios saved;
	u8 drain[T2_CON_RING];
} con = { .in_fd = -1, .last_out = '\n', .out_mu = PTHREAD_MUTEX_INITIALIZER };

static volatile u32 con_active; /* between t2_console_init and the final pump */

/* ---- the terminal --------------------------------------------------------------------- */

static void enter_raw(void)
{
	struct termios t = con.saved;
	/* Raw, so every key (Ctrl-C, Ctrl-Z, arrows) reaches the guest and its output (which
	 * has its own CR LF) reaches the screen unchanged; our own lines then end in CR LF. */
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &t) == 0) {
		con.raw = 1;
		con.crlf_out = isatty(1);
		con.crlf_err = isatty(2);
	}
}

void t2_console_restore(void)
{
	/* Only tcsetattr: callable from a signal handler. */
	if (con.raw) {
		tcsetattr(0, TCSANOW, &con.saved);
		con.raw = 0;
		con.crlf_out = con.crlf_err = 0;
	}
}

void t2_console_reraw(void)
{
	/* After a stop/continue the shell may have reset the terminal: apply raw again. */
	if (con.raw && con.in_fd == 0)
		enter_raw();
}

void t2_console_init(struct t2_vm **vms, int n, const struct t2_console_opts *o)
{
	con.vms = vms;
	con.n = n;
	con.prefix = o->prefix;
	con.focus = 0;
	for (int i = 0; i < n; i++)
		vms[i]->con.hvc = strstr(vms[i]->vm.cfg.cmdline, "console=hvc") != NULL;
	struct stat s1, s2;
	con.same_out = fstat(1, &s1) == 0 && fstat(2, &s2) == 0 && s1.st_dev == s2.st_dev &&
		       s1.st_ino == s2.st_ino;
	/* stdin may be closed, /dev/null, a pipe or a terminal; all are fine. */
	con.in_fd = fcntl(0, F_GETFD) >= 0 ? 0 : -1;
	if (con.in_fd == 0 && isatty(0) && tcgetattr(0, &con.saved) == 0)
		enter_raw();
	__atomic_store_n(&con_active, 1, __ATOMIC_RELEASE);
}

/* ---- output --------------------------------------------------------------------------- */

static void out_write(const void *buf, size_t n)
{
	const char *p = buf;
	if (!n)
		return;
	con.last_out = p[n - 1];
	while (n && !con.out_dead) {
		ssize_t w = write(1, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			/* Someone made our stdout non-blocking: wait for room, boundedly. */
			struct pollfd pf = { .fd = 1, .events = POLLOUT };
			if (poll(&pf, 1, 1000) <= 0)
				con.out_dead = true;
		} else {
			con.out_dead = true; /* EPIPE, EIO...: nobody is reading any more */
		}
	}
}

static void out_str(const char *s)
{
	out_write(s, strlen(s));
}

/* A line end of our own on stdout (the terminal does not add CR in raw mode). */
static void out_nl(void)
{
	out_str(con.crlf_out ? "\r\n" : "\n");
}

/* One finished line ("...\n") of ours to stderr, in one write. */
static void err_line(const char *line, size_t n)
{
	char buf[LINE_MAX_ERR + 2];
	if (con.crlf_err && n && line[n - 1] == '\n' && n < LINE_MAX_ERR) {
		memcpy(buf, line, n - 1);
		memcpy(buf + n - 1, "\r\n", 2);
		line = buf;
		n++;
	}
	ssize_t w = write(2, line, n);
	(void)w;
}

/* End another VM's unterminated line before a line that is not its own. */
static void close_open_line(void)
{
	if (con.open_vm) {
		out_nl();
		con.open_vm->con.at_bol = true;
		con.open_vm = NULL;
	}
}

/* Prefix mode: write buf (a whole line, or a partial one being flushed) for tvm, in one
 * write so nothing can land between the prefix and the text. */
static void emit(struct t2_vm *tvm, const char *buf, size_t n)
{
	struct t2_con *c = &tvm->con;
	char out[CFG_NAME_MAX + 4 + T2_CON_LINE];
	size_t len = 0;
	if (!n)
		return;
	if (n > T2_CON_LINE)
		n = T2_CON_LINE;
	if (con.open_vm && con.open_vm != tvm)
		close_open_line();
	if (c->at_bol)
		len = (size_t)snprintf(out, CFG_NAME_MAX + 4, "[%s] ", tvm->vm.cfg.name);
	memcpy(out + len, buf, n);
	out_write(out, len + n);
	c->at_bol = buf[n - 1] == '\n';
	con.open_vm = c->at_bol ? NULL : tvm;
}

static void prefix_feed(struct t2_vm *tvm, const u8 *p, size_t n, u64 now)
{
	struct t2_con *c = &tvm->con;
	for (size_t i = 0; i < n; i++) {
		if (c->line_len == 0)
			c->line_since_ns = now;
		c->line[c->line_len++] = (char)p[i];
		if (p[i] == '\n' || c->line_len == T2_CON_LINE) {
			emit(tvm, c->line, c->line_len);
			c->line_len = 0;
		}
	}
}

/* stderr is about to get a line: if it shares stdout's file, end any open line first. */
static void before_stderr_line(void)
{
	if (!con.same_out)
		return;
	if (con.prefix)
		close_open_line();
	else if (con.last_out != '\n')
		out_nl();
}

/*
 * Log lines wait in a small queue the main thread empties right after the consoles, so
 * "duovisor: [vm] ..." comes after what the guest printed before it. When the console
 * is not running, or the queue is full, a line goes straight out.
 */
#define LOGQ_N 32
#define LOGQ_LEN 512
static struct {
	pthread_mutex_t mu;
	u32 head, count;
	u16 len[LOGQ_N];
	char line[LOGQ_N][LOGQ_LEN];
} logq = { .mu = PTHREAD_MUTEX_INITIALIZER };

static u32 logq_count(void)
{
	pthread_mutex_lock(&logq.mu);
	u32 n = logq.count;
	pthread_mutex_unlock(&logq.mu);
	return n;
}

/* Write the oldest `n` queued lines (main thread). */
static void logq_flush(u32 n)
{
	char line[LOGQ_LEN];
	while (n--) {
		pthread_mutex_lock(&logq.mu);
		if (!logq.count) {
			pthread_mutex_unlock(&logq.mu);
			return;
		}
		size_t len = logq.len[logq.head];
		memcpy(line, logq.line[logq.head], len);
		logq.head = (logq.head + 1) % LOGQ_N;
		logq.count--;
		pthread_mutex_unlock(&logq.mu);
		pthread_mutex_lock(&con.out_mu);
		before_stderr_line();
		err_line(line, len);
		pthread_mutex_unlock(&con.out_mu);
	}
}

void t2_console_log_line(const char *line, size_t n)
{
	struct timespec ts;
	if (__atomic_load_n(&con_active, __ATOMIC_ACQUIRE) && n <= LOGQ_LEN) {
		bool queued = false;
		pthread_mutex_lock(&logq.mu);
		if (logq.count < LOGQ_N) {
			u32 slot = (logq.head + logq.count) % LOGQ_N;
			memcpy(logq.line[slot], line, n);
			logq.len[slot] = (u16)n;
			logq.count++;
			queued = true;
		}
		pthread_mutex_unlock(&logq.mu);
		if (queued) {
			t2_doorbell();
			return;
		}
	}
	/* Never wait long behind a slow stdout here (vCPU threads log): after 50 ms the
	 * line just goes out as it is. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_mutex_timedlock(&con.out_mu, &ts) == 0) {
		before_stderr_line();
		err_line(line, n);
		pthread_mutex_unlock(&con.out_mu);
	} else {
		err_line(line, n);
	}
}

void t2_console_msg(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&con.out_mu);
	before_stderr_line();
	err_line(line, (size_t)n);
	pthread_mutex_unlock(&con.out_mu);
}

/*
 * A snapshot of every VM for the user (Ctrl-A s, SIGUSR1): its state, and per vCPU what
 * its thread is doing, the pc and instruction count as of its last exit from the
 * emulator (at most T2_RUN_BUDGET instructions old), the count's growth since the
 * previous snapshot, the interrupt lines and how far away the timer is. Read without
 * stopping anything: the figures of a running vCPU are a moment old.
 */
void t2_console_status(void)
{
	static const char *const wname[] = { "new", "run", "sbi", "wfi", "stopped", "exited" };
	for (int i = 0; i < con.n; i++) {
		struct t2_vm *tvm = con.vms[i];
		const char *st = tvm->finished					 ? "off"
				 : __atomic_load_n(&tvm->stop, __ATOMIC_ACQUIRE) ? "stopping"
										 : "running";
		t2_console_msg("duovisor: [%s] %s, %u vCPU(s), %u MiB, %u reboot(s), %llu console "
			       "bytes dropped",
			       tvm->vm.cfg.name, st, tvm->vm.nvcpus, tvm->vm.cfg.memory_mib,
			       tvm->reboots, (unsigned long long)tvm->con.dropped);
		if (tvm->finished)
			continue;
		u64 now = host_time_now(&tvm->vm);
		for (u32 k = 0; k < tvm->vm.nvcpus; k++) {
			struct t2_vcpu *tv = &tvm->vcpus[k];
			u32 w = __atomic_load_n(&tv->where, __ATOMIC_RELAXED);
			u64 pc = __atomic_load_n(&tv->cpu.pc, __ATOMIC_RELAXED);
			u64 n = __atomic_load_n(&tv->cpu.instret, __ATOMIC_RELAXED);
			u64 cmp = __atomic_load_n(&tv->cpu.stimecmp, __ATOMIC_RELAXED);
			u64 lines = __atomic_load_n(&tv->cpu.irq_lines, __ATOMIC_RELAXED);
			char timer[48];
			if (cmp == UINT64_MAX)
				snprintf(timer, sizeof(timer), "off");
			else if (cmp <= now)
				snprintf(timer, sizeof(timer), "due");
			else
				snprintf(timer, sizeof(timer), "in %llu us",
					 (unsigned long long)((cmp - now) / 10));
			t2_console_msg("duovisor: [%s]   hart %u: %s, pc 0x%llx, %llu instructions "
				       "(+%llu), irq lines 0x%llx, timer %s",
				       tvm->vm.cfg.name, k,
				       w < sizeof(wname) / sizeof(wname[0]) ? wname[w] : "?",
				       (unsigned long long)pc, (unsigned long long)n,
				       (unsigned long long)(n - tv->status_instret),
				       (unsigned long long)lines, timer);
			tv->status_instret = n;
		}
	}
}

/* Move what tvm printed from its ring to stdout. */
static void drain_vm(struct t2_vm *tvm, u64 now)
{
	struct t2_con *c = &tvm->con;
	u32 n, first;
	u64 dropped;

	pthread_mutex_lock(&c->mu);
	n = c->len;
	first = DUO_MIN(n, T2_CON_RING - c->head);
	memcpy(con.drain, c->ring + c->head, first);
	memcpy(con.drain + first, c->ring, n - first);
	c->head = (c->head + n) % T2_CON_RING;
	c->len = 0;
	dropped = c->dropped;
	pthread_mutex_unlock(&c->mu);

	pthread_mutex_lock(&con.out_mu);
	if (con.prefix)
		prefix_feed(tvm, con.drain, n, now);
	else
		out_write(con.drain, n);
	pthread_mutex_unlock(&con.out_mu);
	if (dropped > c->dropped_reported && now - c->drop_report_ns >= 1000000000ULL) {
		t2_console_msg("duovisor: [%s] console output faster than it can be shown: "
			       "%llu bytes dropped so far",
			       tvm->vm.cfg.name, (unsigned long long)dropped);
		c->dropped_reported = dropped;
		c->drop_report_ns = now;
	}
}

/* Give tvm's UART what it can take of the input backlog. */
static void feed_vm(struct t2_vm *tvm)
{
	struct t2_con *c = &tvm->con;
	if (!c->in_len)
		return;
	/* Typing goes to the console the guest reads: hvc0 when its command line names it,
	 * else the UART (ttyS0). Feeding both would let the faster one drain the backlog
	 * while the other drops bytes. */
	size_t took = c->hvc ? virtio_console_input(&tvm->vm, c->in, c->in_len)
			     : vm_console_input(&tvm->vm, c->in, c->in_len);
	if (took > c->in_len)
		took = c->in_len;
	memmove(c->in, c->in + took, c->in_len - took);
	c->in_len -= (u32)took;
}

int t2_console_pump(bool final)
{
	u64 now = t2_now_ns();
	int timeout = -1;
	/* Lines queued before the rings are drained follow what the guests printed first. */
	u32 nlog = logq_count();

	for (int i = 0; i < con.n; i++) {
		struct t2_vm *tvm = con.vms[i];
		struct t2_con *c = &tvm->con;
		drain_vm(tvm, now);
		if (!tvm->finished)
			feed_vm(tvm);
		if (c->in_len && !tvm->finished)
			timeout = RETRY_MS;
		if (c->line_len) {
			u64 age = now - c->line_since_ns;
			if (final || age >= HOLD_NS) {
				pthread_mutex_lock(&con.out_mu);
				emit(tvm, c->line, c->line_len);
				pthread_mutex_unlock(&con.out_mu);
				c->line_len = 0;
			} else {
				int ms = (int)((HOLD_NS - age) / 1000000ULL) + 1;
				if (timeout < 0 || ms < timeout)
					timeout = ms;
			}
		}
	}
	logq_flush(nlog);
	if (final) {
		__atomic_store_n(&con_active, 0, __ATOMIC_RELEASE);
		logq_flush(LOGQ_N);
		pthread_mutex_lock(&con.out_mu);
		if (con.last_out != '\n')
			out_nl(); /* leave the user's prompt on a line of its own */
		pthread_mutex_unlock(&con.out_mu);
	}
	return timeout;
}

/* ---- input ---------------------------------------------------------------------------- */

static int next_live(int from)
{
	for (int k = 1; k <= con.n; k++) {
		int i = (from + k) % con.n;
		if (!con.vms[i]->finished)
			return i;
	}
	return -1;
}

void t2_console_vm_gone(struct t2_vm *tvm)
{
	tvm->con.in_len = 0;
	if (con.n > 1 && con.vms[con.focus] == tvm && tvm->stop != T2_STOP_QUIT) {
		int nx = next_live(con.focus);
		if (nx >= 0) {
			con.focus = nx;
			t2_console_msg("duovisor: input now goes to [%s]",
				       con.vms[nx]->vm.cfg.name);
		}
	}
}

static void help(void)
{
	t2_console_msg("duovisor: Ctrl-A x quit, Ctrl-A n next VM's input, Ctrl-A s status, "
		       "Ctrl-A a send Ctrl-A, Ctrl-A h this help (input goes to [%s])",
		       con.vms[con.focus]->vm.cfg.name);
}

int t2_console_input_fd(void)
{
	if (con.in_fd < 0)
		return -1;
	struct t2_vm *f = con.vms[con.focus];
	/* Backpressure: read more only when the focus VM's backlog has room for a read. */
	if (!f->finished && f->con.in_len > T2_CON_IN - 256)
		return -1;
	return con.in_fd;
}

int t2_console_read_input(void)
{
	u8 buf[256];
	ssize_t n = read(con.in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		con.in_fd = -1; /* EOF or error: the guests keep running without input */
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		u8 b = buf[i];
		struct t2_vm *f = con.vms[con.focus];
		if (con.esc) {
			con.esc = false;
			switch (b) {
			case 'x':
			case 'X':
				return 1;
			case 'n':
			case 'N': {
				int nx = next_live(con.focus);
				if (nx >= 0)
					con.focus = nx;
				t2_console_msg("duovisor: input now goes to [%s]",
					       con.vms[con.focus]->vm.cfg.name);
				continue;
			}
			case 'h':
			case 'H':
			case '?':
				help();
				continue;
			case 's':
			case 'S':
				t2_console_status();
				continue;
			case 'a':
			case CTRL_A:
				b = CTRL_A;
				break;
			default:
				continue; /* unknown escape: swallowed */
			}
		} else if (b == CTRL_A) {
			con.esc = true;
			continue;
		}
		if (f->finished || f->con.in_len >= T2_CON_IN)
			continue; /* nobody to type to, or backlog full (cannot happen: see above)
				   */
		f->con.in[f->con.in_len++] = b;
	}
	feed_vm(con.vms[con.focus]);
	return 0;
}
