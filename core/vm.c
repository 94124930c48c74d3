/*
 * vm.c - creating, resetting and touching a VM's core state (see duo/vm.h): config
 * defaults and checks, the devices every VM has (UART, PLIC), guest-RAM copies, and the
 * console input path.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/lib.h>
#include <duo/log.h>
#include <duo/plic.h>
#include <duo/uart.h>
#include <duo/vm.h>

void vm_config_defaults(struct vm_config *c)
{
	duo_memset(c, 0, sizeof(*c));
	duo_strlcpy(c->name, "vm", sizeof(c->name));
	duo_strlcpy(c->cmdline, "console=ttyS0", sizeof(c->cmdline));
	c->memory_mib = 256;
	c->vcpus = 1;
	c->cpu_policy = CPU_SHARED;
	c->cpu_weight = 256;
	c->cpu_cap_pct = 0;
}

static int bad(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		duo_strlcpy(err, msg, errlen);
	return DUO_EINVAL;
}

int vm_config_check(const struct vm_config *c, char *err, size_t errlen)
{
	size_t nl = duo_strnlen(c->name, sizeof(c->name));
	if (nl == 0 || nl >= sizeof(c->name))
		return bad(err, errlen, "name: must be 1..31 characters");
	for (size_t i = 0; i < nl; i++) {
		char ch = c->name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return bad(err, errlen, "name: only letters, digits, '-', '_' and '.' allowed");
	}
	if (duo_strnlen(c->kernel, sizeof(c->kernel)) == 0)
		return bad(err, errlen, "kernel: missing (path of the guest kernel image)");
	if (c->memory_mib < PLAT_MIN_RAM_MIB || c->memory_mib > PLAT_MAX_RAM_MIB)
		return bad(err, errlen, "memory_mib: must be 16..65536");
	if (c->vcpus < 1 || c->vcpus > PLAT_MAX_VCPUS)
		return bad(err, errlen, "vcpus: must be 1..8");
	if (c->cpu_policy != CPU_SHARED && c->cpu_policy != CPU_DEDICATED)
		return bad(err, errlen, "cpu_policy: must be \"shared\" or \"dedicated\"");
	if (c->cpu_weight < 1 || c->cpu_weight > 65535)
		return bad(err, errlen, "cpu_weight: must be 1..65535");
	if (c->cpu_cap_pct > 100 * c->vcpus)
		return bad(err, errlen, "cpu_cap_pct: must be 0 (no cap) .. 100 x vcpus");
	if (c->ndisks > CFG_MAX_DISKS)
		return bad(err, errlen, "disks: at most 4");
	for (unsigned i = 0; i < c->ndisks; i++)
		if (duo_strnlen(c->disks[i].path, CFG_PATH_MAX) == 0)
			return bad(err, errlen, "disks: every disk needs a path");
	if (c->nnets > CFG_MAX_NETS)
		return bad(err, errlen, "nets: at most 4");
	if (c->ndisks + c->nnets > PLAT_VIRTIO_SLOTS - 2)
		return bad(err, errlen, "disks/nets: at most 6 together (8 virtio slots, 2 kept for console and rng)");
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct vm_net_cfg *n = &c->nets[i];
		if (n->mode == NET_SWITCH && !n->sw[0])
			return bad(err, errlen, "nets: mode \"switch\" needs a switch name");
		if (n->mode == NET_TAP && !n->tap[0])
			return bad(err, errlen, "nets: mode \"tap\" needs a tap device name");
		if (n->mode > NET_TAP)
			return bad(err, errlen, "nets: mode must be \"switch\", \"user\" or \"tap\"");
		if (n->mac_set && (n->mac[0] & 1))
			return bad(err, errlen, "nets: mac must be a unicast address");
		if (n->nhostfwd && n->mode != NET_USER)
			return bad(err, errlen, "nets: hostfwd is only for mode \"user\"");
	}
	return 0;
}

int vm_init(struct vm *vm, const struct vm_config *cfg, u32 id, u8 *ram)
{
	char err[128];
	int r = vm_config_check(cfg, err, sizeof(err));
	if (r) {
		duo_log(NULL, LOG_ERR, "vm_init: %s", err);
		return r;
	}
	duo_memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->id = id;
	vm->ram = ram;
	vm->ram_size = (u64)cfg->memory_mib << 20;
	vm->nvcpus = cfg->vcpus;
	for (u32 i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
		vm->vcpus[i].hsm_state = i == 0 ? HSM_STARTED : HSM_STOPPED;
	}
	vm->plic = host_zalloc(sizeof(*vm->plic));
	vm->uart = host_zalloc(sizeof(*vm->uart));
	r = DUO_ENOMEM;
	if (!vm->plic || !vm->uart)
		goto fail;
	r = plic_init(vm->plic, vm);
	if (r)
		goto fail;
	r = uart_init(vm->uart, vm);
	if (r)
		goto fail;
	vm->state = VM_CREATED;
	return 0;
fail:
	host_free(vm->uart);
	host_free(vm->plic);
	vm->uart = NULL;
	vm->plic = NULL;
	return r;
}

void vm_destroy(struct vm *vm)
{
	host_free(vm->uart);
	host_free(vm->plic);
	vm->uart = NULL;
	vm->plic = NULL;
}

void vm_reset_devices(struct vm *vm)
{
	plic_reset(vm->plic);
	uart_reset(vm->uart);
	for (u32 i = 0; i < vm->nvcpus; i++)
		__atomic_store_n(&vm->vcpus[i].hsm_state, i == 0 ? HSM_STARTED : HSM_STOPPED,
				 __ATOMIC_SEQ_CST);
}

int vm_read(struct vm *vm, gpa_t gpa, void *dst, u64 len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);
	if (!p)
		return DUO_EFAULT;
	duo_memcpy(dst, p, len);
	return 0;
}

int vm_write(struct vm *vm, gpa_t gpa, const void *src, u64 len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);
	if (!p)
		return DUO_EFAULT;
	duo_memcpy(p, src, len);
	return 0;
}

size_t vm_console_input(struct vm *vm, const u8 *buf, size_t n)
{
	return vm->uart ? uart_rx(vm->uart, buf, n) : 0;
}
