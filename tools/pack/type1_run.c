/*
 * type1_run.c - `duovisor type1 CONFIG.json [-- QEMU ARGS...]`: pack the VM set into a
 * temporary image and boot it on the type-1 hypervisor in QEMU's virt board:
 *
 *   qemu-system-riscv64 -M virt -cpu rv64,h=true,sstc=true -smp 4 -m 2G -nographic
 *       -echr 20 -bios .../opensbi/generic/fw_dynamic.bin -kernel IMAGE [QEMU ARGS]
 *
 * fw_dynamic, not fw_jump: Debian's fw_jump puts the device tree at 0x8220_0000, inside
 * any image over 32 MiB. -echr 20 moves QEMU's own console escape from Ctrl-A to Ctrl-T,
 * so Ctrl-A reaches duovisor's console (docs/type1.md). The exit status is QEMU's: 0
 * when every VM stopped and the hypervisor powered the machine off. $DUOVISOR_QEMU and
 * $DUOVISOR_BIOS override the QEMU binary and the firmware.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pack.h"
#include "pack_format.h"

#define DEFAULT_BIOS "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

static const char usage[] =
	"usage: duovisor type1 CONFIG.json [-- QEMU ARGS...]\n"
	"  Packs CONFIG.json (see duovisor pack --help) and boots it in qemu-system-riscv64\n"
	"  (virt, 4 harts with H and Sstc, 2 GiB, -nographic). Console: Ctrl-A c management\n"
	"  prompt, Ctrl-A n next VM, Ctrl-A x stop all; Ctrl-T x quits QEMU itself.\n";

int type1_main(int argc, char **argv)
{
	const char *config = NULL;
	int extra = argc;
	char hv[PATH_MAX], img[PATH_MAX], err[600];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			extra = i + 1;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (argv[i][0] == '-' || config) {
			fprintf(stderr, "duovisor: type1: bad argument '%s'\n%s", argv[i], usage);
			return 2;
		}
		config = argv[i];
	}
	if (!config) {
		fputs(usage, stderr);
		return 2;
	}
	if (pack_hv_path(hv, sizeof(hv))) {
		fprintf(stderr,
			"duovisor: type1: cannot find the hypervisor image (set DUOVISOR_HV)\n");
		return 2;
	}
	const char *tmpdir = getenv("TMPDIR");
	snprintf(img, sizeof(img), "%s/duovisor-type1-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(img);
	if (fd < 0) {
		fprintf(stderr, "duovisor: type1: %s: %s\n", img, strerror(errno));
		return 2;
	}
	close(fd);
	struct pack_opts o = { .config = config,
			       .output = img,
			       .hv = hv,
			       .harts = PACK_TARGET_HARTS,
			       .ram_mib = PACK_TARGET_RAM_MIB };
	if (pack_build(&o, err, sizeof(err))) {
		fprintf(stderr, "duovisor: %s\n", err);
		unlink(img);
		return 2;
	}

	const char *qemu = getenv("DUOVISOR_QEMU");
	const char *bios = getenv("DUOVISOR_BIOS");
	const char *args[64 + 32];
	int n = 0;
	args[n++] = qemu && *qemu ? qemu : "qemu-system-riscv64";
	args[n++] = "-M";
	args[n++] = "virt";
	args[n++] = "-cpu";
	args[n++] = "rv64,h=true,sstc=true";
	args[n++] = "-smp";
	args[n++] = "4";
	args[n++] = "-m";
	args[n++] = "2G";
	args[n++] = "-nographic";
	args[n++] = "-echr";
	args[n++] = "20";
	args[n++] = "-bios";
	args[n++] = bios && *bios ? bios : DEFAULT_BIOS;
	args[n++] = "-kernel";
	args[n++] = img;
	for (int i = extra; i < argc && n < 64 + 30; i++)
		args[n++] = argv[i];
	args[n] = NULL;

	/* QEMU owns the terminal now; the image goes away when it exits. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(args[0], (char *const *)args);
		fprintf(stderr, "duovisor: type1: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid < 0) {
		fprintf(stderr, "duovisor: type1: fork: %s\n", strerror(errno));
		status = 2 << 8;
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	unlink(img);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
