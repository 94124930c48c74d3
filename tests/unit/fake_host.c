/*
 * fake_host.c - see fake_host.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include <duo/err.h>
#include "fake_host.h"

struct fake_host fake;

void fake_host_reset(void)
{
	for (int i = 0; i < 4; i++)
		free(fake.disk[i]);
	memset(&fake, 0, sizeof(fake));
	fake.alloc_fail_after = -1;
	for (int i = 0; i < PLAT_MAX_VCPUS; i++)
		fake.timer[i] = UINT64_MAX;
}

u64 host_time_now(struct vm *vm)
{
	return fake.time;
}

void host_vcpu_set_timer(struct vcpu *v, u64 deadline)
{
	fake.timer[v->id] = deadline;
	fake.timer_calls++;
}

void host_vcpu_set_irq(struct vcpu *v, unsigned irq, bool level)
{
	if (irq < 16)
		fake.irq[v->id][irq] = level;
	fake.irq_calls++;
}

void host_vcpu_fence(struct vcpu *v, enum host_fence kind, u64 start, u64 size, u64 asid)
{
	fake.fence_calls++;
	fake.last_fence = kind;
	fake.last_fence_start = start;
	fake.last_fence_size = size;
	fake.last_fence_asid = asid;
	fake.last_fence_mask |= 1ULL << v->id;
}

int host_vcpu_start(struct vcpu *v, u64 pc, u64 opaque)
{
	fake.start_calls++;
	fake.start_pc[v->id] = pc;
	fake.start_opaque[v->id] = opaque;
	if (fake.start_result)
		return fake.start_result;
	__atomic_store_n(&v->hsm_state, HSM_STARTED, __ATOMIC_SEQ_CST);
	return 0;
}

void host_console_write(struct vm *vm, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && fake.console_len < FAKE_CONSOLE_MAX - 1; i++)
		fake.console[fake.console_len++] = buf[i];
	fake.console[fake.console_len] = 0;
}

void host_log(struct vm *vm, int level, const char *msg)
{
	snprintf(fake.last_log, sizeof(fake.last_log), "%s", msg);
	fake.log_count++;
	if (getenv("DUO_TEST_VERBOSE"))
		fprintf(stderr, "[log %d] %s\n", level, msg);
}

void *host_zalloc(size_t n)
{
	if (fake.alloc_fail_after >= 0 && fake.allocs >= fake.alloc_fail_after)
		return NULL;
	fake.allocs++;
	return calloc(1, n);
}

void host_free(void *p)
{
	free(p);
}

void host_relax(void)
{
	sched_yield();
}

int host_entropy(void *buf, size_t n)
{
	u8 *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (u8)(i * 37 + 11); /* deterministic: tests check plumbing, not quality */
	return 0;
}

static int disk_ok(unsigned d)
{
	return d < 4 && fake.disk[d];
}

u64 host_blk_size(struct vm *vm, unsigned disk)
{
	return disk_ok(disk) ? fake.disk_size[disk] : 0;
}

int host_blk_read(struct vm *vm, unsigned disk, u64 off, void *buf, size_t len)
{
	if (fake.blk_fail)
		return fake.blk_fail;
	if (!disk_ok(disk) || off > fake.disk_size[disk] || len > fake.disk_size[disk] - off)
		return DUO_EIO;
	memcpy(buf, fake.disk[disk] + off, len);
	return 0;
}

int host_blk_write(struct vm *vm, unsigned disk, u64 off, const void *buf, size_t len)
{
	if (fake.blk_fail)
		return fake.blk_fail;
	if (!disk_ok(disk) || off > fake.disk_size[disk] || len > fake.disk_size[disk] - off)
		return DUO_EIO;
	if (vm->cfg.disks[disk].readonly)
		return DUO_EPERM;
	memcpy(fake.disk[disk] + off, buf, len);
	return 0;
}

int host_blk_flush(struct vm *vm, unsigned disk)
{
	fake.flush_calls++;
	return fake.blk_fail ? fake.blk_fail : 0;
}

int host_blk_discard(struct vm *vm, unsigned disk, u64 off, u64 len, bool zero)
{
	if (fake.blk_fail)
		return fake.blk_fail;
	if (!disk_ok(disk) || off > fake.disk_size[disk] || len > fake.disk_size[disk] - off)
		return DUO_EIO;
	memset(fake.disk[disk] + off, 0, len);
	return 0;
}

struct vm *fake_vm(u32 mib, u32 nvcpus)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.memory_mib = mib;
	cfg.vcpus = nvcpus;
	duo_strlcpy(cfg.kernel, "fake-kernel", sizeof(cfg.kernel));
	struct vm *vm = calloc(1, sizeof(*vm));
	u8 *ram = calloc(1, (size_t)mib << 20);
	if (!vm || !ram || vm_init(vm, &cfg, 0, ram)) {
		free(vm);
		free(ram);
		return NULL;
	}
	return vm;
}

void fake_vm_free(struct vm *vm)
{
	if (!vm)
		return;
	u8 *ram = vm->ram;
	vm_destroy(vm);
	free(ram);
	free(vm);
}
