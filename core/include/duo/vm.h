/*
 * vm.h - a virtual machine as the core sees it: validated config, guest RAM, the MMIO
 * bus with its devices, and the vCPUs. Backends allocate and run it; the core gives
 * the guest-visible behaviour. One struct vm per guest; VMs share nothing.
 */
#ifndef DUO_VM_H
#define DUO_VM_H

#include <duo/types.h>
#include <duo/lib.h>
#include <duo/mmio.h>
#include <duo/platform.h>
#include <duo/vcpu.h>

#define CFG_NAME_MAX 32
#define CFG_PATH_MAX 256
#define CFG_CMDLINE_MAX 1024
#define CFG_MAX_DISKS 4
#define CFG_MAX_NETS 4
#define CFG_MAX_HOSTFWD 8
#define CFG_HOSTFWD_MAX 64
#define CFG_MAX_VMS 8

enum cpu_policy { CPU_SHARED = 0, CPU_DEDICATED = 1 };
enum net_mode { NET_SWITCH = 0, NET_USER = 1, NET_TAP = 2 };

struct vm_disk_cfg {
	char path[CFG_PATH_MAX];
	bool readonly;
};

struct vm_net_cfg {
	enum net_mode mode;
	char sw[CFG_NAME_MAX]; /* switch name (mode switch) */
	char tap[CFG_NAME_MAX]; /* host TAP device (mode tap) */
	u8 mac[6];
	bool mac_set; /* false: derive a stable MAC from VM name + index */
	char hostfwd[CFG_MAX_HOSTFWD][CFG_HOSTFWD_MAX]; /* "tcp::8080-:80" (mode user) */
	unsigned nhostfwd;
	u32 rate_mbit; /* transmit limit in Mbit/s, 0 = none (only when rate_set) */
	bool rate_set; /* false: NETSW_DEFAULT_MBIT (duo/netsw.h) */
};

/* The validated description of one VM: what the JSON config (docs/config.md) says. */
struct vm_config {
	char name[CFG_NAME_MAX];
	char kernel[CFG_PATH_MAX];
	char initrd[CFG_PATH_MAX]; /* "" = none */
	char cmdline[CFG_CMDLINE_MAX];
	u32 memory_mib;
	u32 vcpus;
	enum cpu_policy cpu_policy;
	u32 cpu_weight; /* relative share among shared vCPUs, 1..65535, default 256 */
	u32 cpu_cap_pct; /* 0 = uncapped, else max % of one hart per VM, 1..100*vcpus */
	struct vm_disk_cfg disks[CFG_MAX_DISKS];
	unsigned ndisks;
	struct vm_net_cfg nets[CFG_MAX_NETS];
	unsigned nnets;
};

/* vm_config_defaults - fill `c` with the documented defaults (name "vm", 256 MiB, 1 vCPU...). */
void vm_config_defaults(struct vm_config *c);

/*
 * vm_config_check - range and consistency checks shared by the host parser and the type-1
 * boot path. Returns 0, or DUO_EINVAL with "key: what is wrong" written to err.
 */
int vm_config_check(const struct vm_config *c, char *err, size_t errlen);

struct plic;
struct uart;
struct virtio_dev;

enum vm_state { VM_CREATED = 0, VM_RUNNING, VM_STOPPED, VM_REBOOTING, VM_CRASHED };

struct vm {
	struct vm_config cfg;
	u32 id; /* index in the VM set; type 1 also uses it for the VMID */

	u8 *ram; /* hypervisor pointer to guest RAM, which starts at PLAT_RAM_BASE */
	u64 ram_size;

	struct mmio_bus bus;
	struct plic *plic;
	struct uart *uart;
	struct virtio_dev *virtio[PLAT_VIRTIO_SLOTS]; /* NULL = empty slot */

	struct vcpu vcpus[PLAT_MAX_VCPUS];
	u32 nvcpus;

	volatile u32 state; /* enum vm_state */
	struct duo_lock lock;
	void *host; /* the backend's private per-VM data */
};

/*
 * vm_init - set up the core side of a VM from a validated config: vCPUs (0 STARTED as the
 * boot hart, others STOPPED), the bus, UART and PLIC. `ram` must already be backed with
 * cfg->memory_mib MiB. Returns 0 or DUO_E*; on error nothing stays allocated.
 */
int vm_init(struct vm *vm, const struct vm_config *cfg, u32 id, u8 *ram);

/* vm_destroy - free what vm_init (and device attach calls) allocated. RAM stays the caller's. */
void vm_destroy(struct vm *vm);

/* vm_reset_devices - return every device to power-on state (SBI SRST reboot). */
void vm_reset_devices(struct vm *vm);

/*
 * vm_gpa_ptr - hypervisor pointer to guest RAM [gpa, gpa+len), or NULL unless the whole
 * range lies in RAM (overflow-safe). len 0 is treated as 1.
 */
static inline void *vm_gpa_ptr(struct vm *vm, gpa_t gpa, u64 len)
{
	u64 off;
	if (len == 0)
		len = 1;
	if (gpa < PLAT_RAM_BASE)
		return NULL;
	off = gpa - PLAT_RAM_BASE;
	if (off >= vm->ram_size || len > vm->ram_size - off)
		return NULL;
	return vm->ram + off;
}

/* vm_read/vm_write - copy to/from guest RAM; DUO_EFAULT unless the whole range is RAM. */
int vm_read(struct vm *vm, gpa_t gpa, void *dst, u64 len);
int vm_write(struct vm *vm, gpa_t gpa, const void *src, u64 len);

/* vm_console_input - feed host keyboard bytes to the guest console; returns bytes taken. */
size_t vm_console_input(struct vm *vm, const u8 *buf, size_t n);

#endif
