/*
 * run.c - `duovisor run`'s supervisor, the main thread's loop: create every VM of the
 * config, start them, then sleep in poll() on stdin and the doorbell, moving console
 * bytes (console.c) and acting when a VM stops - join its vCPU threads, then reboot it
 * in place or retire it with its reason. VMs are independent: one powering off,
 * rebooting or crashing leaves the others running. Ends when every VM is off.
 *
 * Exit status: 0 when every guest powered itself off; 1 when one crashed, failed to
 * reboot, or the user quit; 2 for config/image errors before anything ran.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duo/vm.h>
#include "t2.h"

static volatile sig_atomic_t got_signal; /* last terminating signal, 0 if none */
static volatile sig_atomic_t got_cont;
static volatile sig_atomic_t got_status;

/* Wake the main loop from a signal handler (async-signal-safe). */
static void ring_from_signal(void)
{
	int fd = t2_doorbell_fd(); /* created before handlers are installed */
	if (fd >= 0) {
		u64 one = 1;
		ssize_t w = write(fd, &one, sizeof(one));
		(void)w;
	}
}

static void on_term(int sig)
{
	got_signal = sig;
	ring_from_signal();
}

static void on_status(int sig)
{
	(void)sig;
	got_status = 1;
	ring_from_signal();
}

static void on_cont(int sig)
{
	(void)sig;
	got_cont = 1;
	ring_from_signal();
}

/* A crash of duovisor itself: give the terminal back, then die as the signal says. */
static void on_fatal(int sig)
{
	t2_console_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	sa.sa_handler = on_status;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); /* a closed stdout is an EPIPE, not our death */
	sa.sa_handler = on_fatal;
	sa.sa_flags = (int)SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

static void at_exit_restore(void)
{
	t2_console_restore();
}

/* A VM whose vCPUs were told to leave: join them, then reboot it or retire it. */
static void settle(struct t2_vm *tvm, int nvms)
{
	t2_vm_join(tvm);
	if (tvm->stop == T2_STOP_REBOOT) {
		t2_console_pump(false); /* the old boot's last words first */
		if (t2_log_level >= LOG_INFO)
			t2_console_msg("duovisor: [%s] rebooting", tvm->vm.cfg.name);
		if (t2_vm_reboot(tvm) == 0)
			return;
		t2_vm_join(tvm);
	}
	tvm->finished = true;
	t2_console_pump(false);
	/* With several VMs say when each one goes; a lone VM's end is the exit line. */
	if (nvms > 1 && tvm->stop != T2_STOP_QUIT)
		t2_console_msg("duovisor: [%s] %s", tvm->vm.cfg.name,
			       tvm->reason[0] ? tvm->reason : "stopped");
	t2_console_vm_gone(tvm);
}

static void stop_all(struct t2_vm **vms, int n, const char *why)
{
	for (int i = 0; i < n; i++)
		if (!vms[i]->finished)
			t2_vm_stop(vms[i], T2_STOP_QUIT, "%s", why);
}

int t2_run(const struct vm_config *cfgs, int n)
{
	struct t2_vm *vms[CFG_MAX_VMS] = { 0 };
	char err[320];
	int status = 0, live;
	const char *quit = NULL;
	char quitbuf[96];

	if (n < 1 || n > CFG_MAX_VMS) {
		fprintf(stderr, "duovisor: 1..%d VMs per run, not %d\n", CFG_MAX_VMS, n);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		vms[i] = t2_vm_create(&cfgs[i], (u32)i, err, sizeof(err));
		if (!vms[i]) {
			if (err[0]) /* empty: the failing step logged its own line */
				fprintf(stderr, "duovisor: [%s] %s\n", cfgs[i].name, err);
			for (int k = 0; k < i; k++)
				t2_vm_destroy(vms[k]);
			return 2;
		}
	}
	if (t2_doorbell_fd() < 0) {
		fprintf(stderr, "duovisor: eventfd: %s\n", strerror(errno));
		status = 1;
		goto out_destroy;
	}
	install_signals();
	atexit(at_exit_restore);
	struct t2_console_opts co = { .prefix = n > 1 };
	t2_console_init(vms, n, &co);
	if (n > 1)
		t2_console_msg("duovisor: %d VMs; input goes to [%s] (Ctrl-A n: next VM, Ctrl-A x: "
			       "quit, Ctrl-A h: help)",
			       n, vms[0]->vm.cfg.name);
	for (int i = 0; i < n; i++)
		t2_vm_start(vms[i]);

	for (;;) {
		/* Arm before looking for work, so a ring after the look wakes the poll. */
		t2_doorbell_arm();
		int timeout = t2_console_pump(false);
		live = 0;
		for (int i = 0; i < n; i++) {
			if (vms[i]->finished)
				continue;
			if (__atomic_load_n(&vms[i]->stop, __ATOMIC_SEQ_CST) != T2_RUNNING) {
				settle(vms[i], n);
				timeout = 0; /* look again: the reboot may have printed */
			}
			live += !vms[i]->finished;
		}
		if (!live)
			break;
		if (got_signal && !quit) {
			snprintf(quitbuf, sizeof(quitbuf), "killed by signal %d (%s)",
				 (int)got_signal, strsignal(got_signal));
			quit = quitbuf;
			stop_all(vms, n, quit);
			continue;
		}
		if (got_cont) {
			got_cont = 0;
			t2_console_reraw();
		}
		if (got_status) {
			got_status = 0;
			t2_console_status();
		}
		struct pollfd pf[2] = { { .fd = t2_doorbell_fd(), .events = POLLIN },
					{ .fd = t2_console_input_fd(), .events = POLLIN } };
		int r = poll(pf, 2, timeout);
		if (r < 0 && errno != EINTR) {
			quit = "poll failed";
			stop_all(vms, n, quit);
			continue;
		}
		if (r > 0 && (pf[0].revents & POLLIN))
			t2_doorbell_clear();
		if (r > 0 && pf[1].fd >= 0 && pf[1].revents) {
			if (t2_console_read_input() && !quit) {
				quit = "quit from the console (Ctrl-A x)";
				stop_all(vms, n, quit);
			}
		}
	}
	t2_console_pump(true);
	t2_console_restore();

	/* One line saying why, unless every guest powered off by itself. */
	int bad = 0;
	for (int i = 0; i < n; i++)
		bad += vms[i]->stop != T2_STOP_POWEROFF;
	if (quit) {
		fprintf(stderr, "duovisor: %s\n", quit);
		status = got_signal ? 128 + got_signal : 1;
	} else if (bad) {
		for (int i = 0; i < n; i++)
			if (vms[i]->stop != T2_STOP_POWEROFF) {
				fprintf(stderr,
					"duovisor: %d of %d VM(s) did not power off cleanly; "
					"[%s] %s\n",
					bad, n, vms[i]->vm.cfg.name,
					vms[i]->reason[0] ? vms[i]->reason : "stopped");
				break;
			}
		status = 1;
	}
out_destroy:
	for (int i = 0; i < n; i++)
		t2_vm_destroy(vms[i]);
	return status;
}
