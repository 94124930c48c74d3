/*
 * main.c - the `duovisor` command line (docs/cli.md): `run` boots VMs on the type-2
 * hosted hypervisor, from a JSON config (tools/config) or from flags; `pack` and
 * `type1` belong to the type-1 tools (tools/pack), linked in when present. Flag and
 * config mistakes get one line on stderr and exit status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duo/sbi.h>
#include <duo/vm.h>
#include "../tools/config/config.h"
#include "host/t2.h"

/* Defined by tools/pack when it is linked in; weak so this file links without it. */
int pack_main(int argc, char **argv) __attribute__((weak));
int type1_main(int argc, char **argv) __attribute__((weak));

static const char usage[] =
	"usage: duovisor run CONFIG.json\n"
	"       duovisor run --kernel IMAGE [--initrd FILE] [--append \"ARGS\"] [--mem MiB]\n"
	"                    [--cpus N] [--name NAME] [--disk PATH[,ro]]... [--net SPEC]...\n"
	"       duovisor pack ...       build a type-1 boot image (duovisor pack --help)\n"
	"       duovisor type1 ...      run VMs on the type-1 hypervisor in QEMU\n"
	"       duovisor --help | --version\n"
	"\n"
	"run options:\n"
	"  --kernel IMAGE     guest kernel: Linux Image, ELF, or raw binary\n"
	"  --initrd FILE      initial ramdisk\n"
	"  --append \"ARGS\"    kernel command line (default \"console=ttyS0\")\n"
	"  --mem MiB          guest RAM, 16..65536 MiB (default 256; 1G is 1024)\n"
	"  --cpus N           vCPUs, 1..8 (default 1)\n"
	"  --name NAME        VM name for messages (default \"vm\")\n"
	"  --disk PATH[,ro]   virtio-blk disk image (up to 4)\n"
	"  --net SPEC         virtio-net: user[,hostfwd=RULE]... | switch=NAME | tap=DEV,\n"
	"                     each optionally with ,mac=52:54:00:12:34:56 (up to 4)\n"
	"  -v, --verbose      debug messages;   -q, --quiet   errors only\n"
	"\n"
	"console: Ctrl-A x quit, Ctrl-A n next VM's input, Ctrl-A a literal Ctrl-A, Ctrl-A h "
	"help.\n"
	"exit status: 0 every guest powered off, 1 a guest crashed or you quit, 2 bad "
	"flags/config.\n";

static int bad_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_flag(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "duovisor: run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see duovisor --help)\n");
	return 2;
}

/* Whole-string unsigned number in [lo, hi]; `mib` also takes a M/G suffix. */
static int parse_num(const char *s, unsigned long lo, unsigned long hi, bool mib, u32 *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	if (mib && (*end == 'G' || *end == 'g') && end[1] == 0) {
		if (v > hi / 1024)
			return -1;
		v *= 1024;
		end++;
	} else if (mib && (*end == 'M' || *end == 'm') && end[1] == 0) {
		end++;
	}
	if (*end || v < lo || v > hi)
		return -1;
	*out = (u32)v;
	return 0;
}

static int copy_str(char *dst, size_t size, const char *src, const char *flag)
{
	if (strlen(src) >= size) {
		fprintf(stderr, "duovisor: run: %s: longer than %zu characters\n", flag, size - 1);
		return 2;
	}
	strcpy(dst, src);
	return 0;
}

static int parse_mac(const char *s, u8 mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (u8)v[i];
	}
	return 0;
}

/* --net user[,hostfwd=RULE]... | switch=NAME | tap=DEV, each [,mac=MAC]. The parsers
 * return 0 or the exit status 2, having said what is wrong. */
static int parse_net(const char *spec, struct vm_net_cfg *n)
{
	char buf[512], *save = NULL;
	if (copy_str(buf, sizeof(buf), spec, "--net"))
		return 2;
	memset(n, 0, sizeof(*n));
	int first = 1;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (first && !strcmp(tok, "user")) {
			n->mode = NET_USER;
		} else if (first && !strncmp(tok, "switch=", 7)) {
			n->mode = NET_SWITCH;
			if (copy_str(n->sw, sizeof(n->sw), tok + 7, "--net switch="))
				return 2;
		} else if (first && !strncmp(tok, "tap=", 4)) {
			n->mode = NET_TAP;
			if (copy_str(n->tap, sizeof(n->tap), tok + 4, "--net tap="))
				return 2;
		} else if (first) {
			return bad_flag("--net %s: start with user, switch=NAME or tap=DEV", tok);
		} else if (!strncmp(tok, "mac=", 4)) {
			if (parse_mac(tok + 4, n->mac))
				return bad_flag("--net: bad mac '%s'", tok + 4);
			n->mac_set = true;
		} else if (!strncmp(tok, "hostfwd=", 8)) {
			if (n->nhostfwd >= CFG_MAX_HOSTFWD)
				return bad_flag("--net: more than 8 hostfwd rules");
			if (copy_str(n->hostfwd[n->nhostfwd], CFG_HOSTFWD_MAX, tok + 8,
				     "--net hostfwd="))
				return 2;
			n->nhostfwd++;
		} else {
			return bad_flag("--net: unknown option '%s'", tok);
		}
		first = 0;
	}
	if (first)
		return bad_flag("--net: empty");
	return 0;
}

static int parse_disk(const char *spec, struct vm_disk_cfg *d)
{
	memset(d, 0, sizeof(*d));
	if (copy_str(d->path, sizeof(d->path), spec, "--disk"))
		return 2;
	size_t l = strlen(d->path);
	if (l > 3 && !strcmp(d->path + l - 3, ",ro")) {
		d->path[l - 3] = 0;
		d->readonly = true;
	} else if (l > 3 && !strcmp(d->path + l - 3, ",rw")) {
		d->path[l - 3] = 0;
	}
	if (!d->path[0])
		return bad_flag("--disk: empty path");
	return 0;
}

static bool is_run_flag(const char *a)
{
	static const char *const flags[] = { "--kernel", "--initrd", "--append", "--name",
					     "--mem",	 "--cpus",   "--disk",	 "--net" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(a, flags[i]))
			return true;
	return false;
}

static const char *need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		bad_flag("%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int cmd_run(int argc, char **argv)
{
	static struct vm_config cfgs[CFG_MAX_VMS];
	struct vm_config *c = &cfgs[0];
	const char *config = NULL;
	bool flags = false;
	char err[512];
	const char *v;
	int n = 1;

	vm_config_defaults(c);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			t2_log_level = LOG_DEBUG;
			continue;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			t2_log_level = LOG_ERR;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (a[0] != '-') {
			if (config)
				return bad_flag("one config file only, got '%s' and '%s'", config,
						a);
			config = a;
			continue;
		}
		if (!is_run_flag(a))
			return bad_flag("unknown option '%s'", a);
		if (!(v = need_arg(argc, argv, &i)))
			return 2;
		flags = true;
		if (!strcmp(a, "--kernel")) {
			if (copy_str(c->kernel, sizeof(c->kernel), v, a))
				return 2;
		} else if (!strcmp(a, "--initrd")) {
			if (copy_str(c->initrd, sizeof(c->initrd), v, a))
				return 2;
		} else if (!strcmp(a, "--append")) {
			if (copy_str(c->cmdline, sizeof(c->cmdline), v, a))
				return 2;
		} else if (!strcmp(a, "--name")) {
			if (copy_str(c->name, sizeof(c->name), v, a))
				return 2;
		} else if (!strcmp(a, "--mem")) {
			if (parse_num(v, PLAT_MIN_RAM_MIB, PLAT_MAX_RAM_MIB, true, &c->memory_mib))
				return bad_flag("--mem '%s': want MiB in 16..65536 (or e.g. 1G)",
						v);
		} else if (!strcmp(a, "--cpus")) {
			if (parse_num(v, 1, PLAT_MAX_VCPUS, false, &c->vcpus))
				return bad_flag("--cpus '%s': want 1..8", v);
		} else if (!strcmp(a, "--disk")) {
			if (c->ndisks >= CFG_MAX_DISKS)
				return bad_flag("--disk: at most 4 disks");
			if (parse_disk(v, &c->disks[c->ndisks]))
				return 2;
			c->ndisks++;
		} else if (!strcmp(a, "--net")) {
			if (c->nnets >= CFG_MAX_NETS)
				return bad_flag("--net: at most 4 networks");
			if (parse_net(v, &c->nets[c->nnets]))
				return 2;
			c->nnets++;
		} else {
			return bad_flag("unknown option '%s'", a);
		}
	}
	if (config && flags)
		return bad_flag("give either a config file ('%s') or --kernel and flags, not both",
				config);
	if (config) {
		n = cfg_load_file(config, cfgs, CFG_MAX_VMS, err, sizeof(err));
		if (n < 1) {
			fprintf(stderr, "duovisor: %s\n", err[0] ? err : "bad config");
			return 2;
		}
	} else {
		if (!c->kernel[0])
			return bad_flag("nothing to run: give CONFIG.json or --kernel IMAGE");
		if (vm_config_check(c, err, sizeof(err))) {
			fprintf(stderr, "duovisor: run: %s\n", err);
			return 2;
		}
	}
	return t2_run(cfgs, n);
}

static int tool(int (*fn)(int, char **), const char *name, int argc, char **argv)
{
	if (!fn) {
		fprintf(stderr, "duovisor: %s: not available in this build\n", name);
		return 2;
	}
	return fn(argc, argv);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("duovisor %s (type 2: RV64GC emulator; SBI %d.%d)\n", T2_VERSION,
		       SBI_SPEC_MAJOR, SBI_SPEC_MINOR);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "pack"))
		return tool(pack_main, "pack", argc - 1, argv + 1);
	if (!strcmp(cmd, "type1"))
		return tool(type1_main, "type1", argc - 1, argv + 1);
	fprintf(stderr, "duovisor: unknown command '%s' (see duovisor --help)\n", cmd);
	return 2;
}
