/*
 * mgmt.c - the management prompt on the physical console (Ctrl-A c, see vcon.c).
 *
 *   list             name, state, vCPUs, policy, memory, CPU time of every VM
 *   stop NAME|all    stop a VM (all: every VM; the machine then powers off)
 *   start NAME       boot a stopped VM again
 *   restart NAME     stop and boot again (RAM cleared, images reloaded)
 *   console NAME     send keyboard input to NAME and leave the prompt
 *   stats            per-hart and per-VM counters
 *   help, exit       (Ctrl-A c also leaves)
 *
 * Runs on the console hart from t1_vcon_tick, outside every lock, so a command may
 * stop or restart any VM, even one whose vCPU this hart was just running.
 */
#include <duo/lib.h>
#include <duo/vm.h>

#include "hv.h"

#define PROMPT "duovisor> "

static char line[80];
static unsigned len;

void t1_mgmt_enter(void)
{
	len = 0;
	t1_printf("\n[duovisor] management prompt: list, stop, start, restart, console, stats, "
		  "help, exit\n" PROMPT);
}

static unsigned long long ms(u64 ticks)
{
	return ticks / (PLAT_TIMEBASE_HZ / 1000);
}

/* CPU time so far, including the current run of a vCPU that is on a hart (racy: display). */
static u64 cpu_ticks(struct t1_vcpu *c)
{
	u64 start = c->run_start, now = t1_rdtime();
	return c->cpu_ticks + (c->run == VC_RUNNING && now > start ? now - start : 0);
}

static void cmd_list(void)
{
	t1_printf("%-16s %-9s %5s %-9s %8s %12s\n", "NAME", "STATE", "VCPUS", "POLICY", "MEM_MIB",
		  "CPU_MS");
	for (unsigned i = 0; i < t1.nvms; i++) {
		struct t1_vm *tvm = t1.vms[i];
		u64 cpu = 0;
		for (u32 c = 0; c < tvm->vm.nvcpus; c++)
			cpu += cpu_ticks(&tvm->vc[c]);
		t1_printf("%-16s %-9s %5u %-9s %8u %12llu%s\n", tvm->vm.cfg.name,
			  t1_vm_state_name(tvm->vm.state), tvm->vm.nvcpus,
			  tvm->vm.cfg.cpu_policy == CPU_DEDICATED ? "dedicated" : "shared",
			  tvm->vm.cfg.memory_mib, ms(cpu), tvm == t1_focus ? "  <- input" : "");
		if (tvm->vm.state == VM_STOPPED || tvm->vm.state == VM_CRASHED)
			t1_printf("    last stop: %s\n", tvm->reason);
	}
}

static void cmd_stats(void)
{
	u64 now = t1_rdtime();
	t1_printf("uptime %llu ms, Sstc %s, VMID bits %u, free RAM %llu MiB\n", ms(now),
		  t1.sstc ? "yes" : "no", t1.vmid_bits,
		  (unsigned long long)(t1_mem_free_bytes() >> 20));
	for (unsigned i = 0; i < T1_MAX_HARTS; i++) {
		struct t1_hart *h = &t1.harts[i];
		if (!h->present)
			continue;
		t1_printf("hart %u: %s%s, busy %llu ms, idle %llu ms, %llu switches, %llu ticks, "
			  "%llu preemptions, worst tick %llu ms late\n",
			  i, h->dedicated ? "dedicated to " : "shared pool",
			  h->dedicated ? h->dedicated->tvm->vm.cfg.name : "", ms(h->busy_ticks),
			  ms(h->idle_ticks), (unsigned long long)h->switches,
			  (unsigned long long)h->ticks, (unsigned long long)h->preempts,
			  ms(h->max_late));
	}
	for (unsigned i = 0; i < t1.nvms; i++) {
		struct t1_vm *tvm = t1.vms[i];
		t1_printf("%s: boots %llu, exits: sbi %llu, mmio %llu, wfi %llu, irq %llu, "
			  "vinsn %llu\n",
			  tvm->vm.cfg.name, (unsigned long long)tvm->boots,
			  (unsigned long long)tvm->n_ecall, (unsigned long long)tvm->n_mmio,
			  (unsigned long long)tvm->n_wfi, (unsigned long long)tvm->n_irq,
			  (unsigned long long)tvm->n_vinst);
		for (u32 c = 0; c < tvm->vm.nvcpus; c++) {
			struct t1_vcpu *vc = &tvm->vc[c];
			static const char *const run[] = { "off", "runnable", "running",
							   "blocked" };
			t1_printf(
				"  vcpu %u: %s, cpu %llu ms, %llu exits, vtime %llu ms, hart %d\n",
				c, vc->run < 4 ? run[vc->run] : "?", ms(cpu_ticks(vc)),
				(unsigned long long)vc->exits, ms(vc->vtime), (int)vc->hart);
		}
	}
}

static struct t1_vm *vm_arg(const char *cmd, const char *name)
{
	if (!*name) {
		t1_printf("%s: which VM? (see list)\n", cmd);
		return NULL;
	}
	struct t1_vm *tvm = t1_vmm_find(name);
	if (!tvm)
		t1_printf("%s: no VM named \"%s\"\n", cmd, name);
	return tvm;
}

/* t1_mgmt_exec - run one command line; returns after printing its answer. */
void t1_mgmt_exec(char *cmd)
{
	char *arg = cmd;
	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = 0;
	while (*arg == ' ')
		arg++;
	for (char *e = arg + duo_strlen(arg); e > arg && e[-1] == ' ';)
		*--e = 0;

	if (!duo_strcmp(cmd, "list")) {
		cmd_list();
	} else if (!duo_strcmp(cmd, "stats")) {
		cmd_stats();
	} else if (!duo_strcmp(cmd, "stop") && !duo_strcmp(arg, "all")) {
		for (unsigned i = 0; i < t1.nvms; i++)
			t1_vmm_request(t1.vms[i], T1_REQ_STOP, false, "stopped from the console");
	} else if (!duo_strcmp(cmd, "stop")) {
		struct t1_vm *tvm = vm_arg(cmd, arg);
		if (tvm)
			t1_vmm_request(tvm, T1_REQ_STOP, false,
				       "stopped from the management prompt");
	} else if (!duo_strcmp(cmd, "restart")) {
		struct t1_vm *tvm = vm_arg(cmd, arg);
		if (tvm && (tvm->vm.state == VM_STOPPED || tvm->vm.state == VM_CRASHED)) {
			if (t1_vmm_start(tvm))
				t1_printf("restart: %s cannot start: %s\n", arg, tvm->reason);
		} else if (tvm)
			t1_vmm_request(tvm, T1_REQ_RESTART, false,
				       "restarted from the management prompt");
	} else if (!duo_strcmp(cmd, "start")) {
		struct t1_vm *tvm = vm_arg(cmd, arg);
		if (tvm && t1_vmm_start(tvm))
			t1_printf("start: %s is %s%s%s\n", arg, t1_vm_state_name(tvm->vm.state),
				  tvm->vm.nvcpus ? "" : ": ", tvm->vm.nvcpus ? "" : tvm->reason);
	} else if (!duo_strcmp(cmd, "console")) {
		struct t1_vm *tvm = vm_arg(cmd, arg);
		if (tvm) {
			t1_focus = tvm;
			t1_printf("[duovisor] input goes to [%s]\n", tvm->vm.cfg.name);
		}
	} else if (!duo_strcmp(cmd, "help") || !*cmd) {
		if (*cmd)
			t1_printf(
				"list | stop NAME|all | start NAME | restart NAME | console NAME | "
				"stats | exit\n");
	} else {
		t1_printf("unknown command \"%s\" (try help)\n", cmd);
	}
}

bool t1_mgmt_input(u8 ch)
{
	if (ch == '\r' || ch == '\n') {
		line[len] = 0;
		t1_printf("\n");
		len = 0;
		if (!duo_strcmp(line, "exit") || !duo_strcmp(line, "quit")) {
			t1_printf("[duovisor] back to [%s]\n", t1_focus->vm.cfg.name);
			return false;
		}
		bool leave = !duo_strncmp(line, "console ", 8);
		t1_mgmt_exec(line);
		if (leave)
			return false;
		t1_printf(PROMPT);
		return true;
	}
	if (ch == 0x7f || ch == 0x08) {
		if (len) {
			len--;
			t1_printf("\b \b");
		}
		return true;
	}
	if (ch >= 0x20 && ch < 0x7f && len < sizeof(line) - 1) {
		line[len++] = (char)ch;
		t1_printf("%c", ch);
	}
	return true;
}
