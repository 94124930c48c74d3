/*
 * machine.c - a type-2 VM's life: guest RAM from an anonymous, lazily backed mapping;
 * the core's vm_init; one emulated hart (struct rv_cpu) and one thread per vCPU; the
 * kernel and initrd read from their files and placed by the core's loader; an in-place
 * reboot (RAM dropped back to zero pages, devices reset, images reloaded); teardown.
 *
 * The main thread (run.c) calls everything here except t2_vm_stop, which any thread may
 * call to make a VM's vCPUs leave.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/loader.h>
#include <duo/virtio.h>
#include <duo/vm.h>
#include "t2.h"

struct file_map {
	void *p;
	size_t len;
};

/* Map `path` read-only for the loader. One "what PATH: why" line in err on failure. */
static int map_file(const char *path, const char *what, u64 limit, struct file_map *m, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s %s: not a regular, non-empty file", what, path);
		close(fd);
		return -1;
	}
	if ((u64)st.st_size > limit) {
		snprintf(err, errlen, "%s %s: %lld bytes does not fit in %llu MiB of guest RAM",
			 what, path, (long long)st.st_size, (unsigned long long)(limit >> 20));
		close(fd);
		return -1;
	}
	m->len = (size_t)st.st_size;
	m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		snprintf(err, errlen, "%s %s: mmap: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void unmap_file(struct file_map *m)
{
	if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}

int t2_vm_load(struct t2_vm *tvm, char *err, size_t errlen)
{
	struct vm *vm = &tvm->vm;
	struct file_map k = { 0 }, i = { 0 };
	struct boot_plan bp;
	char lerr[160] = "";
	int r = -1;

	/* The images are mapped only while the loader copies them: RSS stays guest RAM. */
	if (map_file(vm->cfg.kernel, "kernel", vm->ram_size, &k, err, errlen))
		goto out;
	if (vm->cfg.initrd[0] && map_file(vm->cfg.initrd, "initrd", vm->ram_size, &i, err, errlen))
		goto out;
	memset(&bp, 0, sizeof(bp));
	int lr = vm_boot_prepare(vm, k.p, k.len, i.p, i.len, &bp, lerr, sizeof(lerr));
	if (lr) {
		snprintf(err, errlen, "kernel %s: %s", vm->cfg.kernel,
			 lerr[0] ? lerr : duo_strerror(lr));
		goto out;
	}
	/* Boot state (Linux boot protocol): hart 0 at the entry, a0 = hartid, a1 = DTB. */
	rv_cpu_reset(&tvm->vcpus[0].cpu, bp.entry, 0, bp.fdt_addr);
	r = 0;
out:
	unmap_file(&i);
	unmap_file(&k);
	return r;
}

static int vcpu_setup(struct t2_vm *tvm, u32 i)
{
	struct t2_vcpu *tv = &tvm->vcpus[i];
	pthread_condattr_t ca;

	tv->tvm = tvm;
	tv->v = &tvm->vm.vcpus[i];
	pthread_mutex_init(&tv->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wfi deadlines are monotonic */
	pthread_cond_init(&tv->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rv_cpu_init(&tv->cpu, &tvm->vm, tv->v))
		return -1;
	tv->v->host = tv;
	return 0;
}

struct t2_vm *t2_vm_create(const struct vm_config *cfg, u32 id, char *err, size_t errlen)
{
	struct t2_vm *tvm = calloc(1, sizeof(*tvm));
	size_t ram_size = (size_t)cfg->memory_mib << 20;
	void *ram;
	char cerr[128];
	u32 n = 0;

	if (!tvm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&tvm->con.mu, NULL);
	tvm->con.at_bol = true;
	tvm->t0_ns = t2_now_ns(); /* the time CSR counts from here, across reboots */
	/* Lazily backed: a page costs host memory only once the guest touches it. */
	ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		snprintf(err, errlen, "memory_mib %u: cannot map guest RAM: %s", cfg->memory_mib,
			 strerror(errno));
		free(tvm);
		return NULL;
	}
	tvm->ram_map = ram_size;
	if (vm_config_check(cfg, cerr, sizeof(cerr))) {
		snprintf(err, errlen, "%s", cerr);
		goto fail_ram;
	}
	int r = vm_init(&tvm->vm, cfg, id, ram);
	if (r) {
		snprintf(err, errlen, "cannot create the VM: %s", duo_strerror(r));
		goto fail_ram;
	}
	tvm->vm.host = tvm; /* vm_init zeroes the struct: link only now */
	/* Devices in duo/virtio.h's order: disks open before their virtio-blk asks their
	 * size; networks start after their virtio-net exists. */
	if (t2_blk_open && (r = t2_blk_open(&tvm->vm))) {
		if (errlen)
			err[0] = 0; /* it logged the one line saying why */
		goto fail_vm;
	}
	if ((r = vm_attach_config_devices(&tvm->vm))) {
		if (errlen)
			err[0] = 0; /* it logged the one line saying why */
		goto fail_blk;
	}
	if (t2_net_open && (r = t2_net_open(&tvm->vm))) {
		if (errlen)
			err[0] = 0; /* it logged the one line saying why */
		goto fail_virtio;
	}
	for (n = 0; n < tvm->vm.nvcpus; n++)
		if (vcpu_setup(tvm, n)) {
			snprintf(err, errlen, "vcpus: cannot create vCPU %u: out of memory", n);
			goto fail_cpus;
		}
	if (t2_vm_load(tvm, err, errlen))
		goto fail_cpus_all;
	return tvm;

fail_cpus_all:
	n = tvm->vm.nvcpus;
fail_cpus:
	for (u32 i = 0; i < n; i++)
		rv_cpu_destroy(&tvm->vcpus[i].cpu);
	if (t2_net_close)
		t2_net_close(&tvm->vm);
fail_virtio:
	virtio_detach_all(&tvm->vm);
fail_blk:
	if (t2_blk_close)
		t2_blk_close(&tvm->vm);
fail_vm:
	vm_destroy(&tvm->vm);
fail_ram:
	munmap(ram, ram_size);
	free(tvm);
	return NULL;
}

int t2_vm_start(struct t2_vm *tvm)
{
	__atomic_store_n(&tvm->vm.state, VM_RUNNING, __ATOMIC_SEQ_CST);
	for (u32 i = 0; i < tvm->vm.nvcpus; i++) {
		struct t2_vcpu *tv = &tvm->vcpus[i];
		int e = pthread_create(&tv->thread, NULL, t2_vcpu_thread, tv);
		if (e) {
			t2_vm_stop(tvm, T2_STOP_CRASH, "cannot create a vCPU thread: %s",
				   strerror(e));
			return -e;
		}
		tv->thread_live = true;
	}
	return 0;
}

void t2_vm_join(struct t2_vm *tvm)
{
	for (u32 i = 0; i < tvm->vm.nvcpus; i++) {
		struct t2_vcpu *tv = &tvm->vcpus[i];
		if (!tv->thread_live)
			continue;
		pthread_join(tv->thread, NULL);
		tv->thread_live = false;
	}
}

bool t2_vm_stop(struct t2_vm *tvm, enum t2_stop why, const char *fmt, ...)
{
	u32 expect = T2_RUNNING;
	if (!__atomic_compare_exchange_n(&tvm->stop, &expect, (u32)why, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return false;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(tvm->reason, sizeof(tvm->reason), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&tvm->vm.state, why == T2_STOP_REBOOT ? VM_REBOOTING : VM_STOPPED,
			 __ATOMIC_SEQ_CST);
	for (u32 i = 0; i < tvm->vm.nvcpus; i++)
		t2_vcpu_kick(&tvm->vcpus[i]);
	t2_doorbell();
	return true;
}

int t2_vm_reboot(struct t2_vm *tvm)
{
	struct vm *vm = &tvm->vm;
	char err[200];

	/* A private anonymous mapping reads as zeroes again after MADV_DONTNEED, and the
	 * host gets the pages back. */
	if (madvise(vm->ram, tvm->ram_map, MADV_DONTNEED))
		memset(vm->ram, 0, tvm->ram_map);
	vm_reset_devices(vm);
	virtio_reset_all(vm);
	for (u32 i = 0; i < vm->nvcpus; i++) {
		struct t2_vcpu *tv = &tvm->vcpus[i];
		rv_cpu_destroy(&tv->cpu);
		if (rv_cpu_init(&tv->cpu, vm, tv->v)) {
			/* Leave a cpu t2_vm_destroy can destroy again: nothing allocated. */
			memset(&tv->cpu, 0, sizeof(tv->cpu));
			snprintf(tvm->reason, sizeof(tvm->reason), "reboot failed: out of memory");
			tvm->stop = T2_STOP_CRASH;
			return -1;
		}
		__atomic_store_n(&tv->cpu.irq_lines, 0, __ATOMIC_SEQ_CST);
		tv->start_req = false;
		tv->wake = false;
	}
	if (t2_vm_load(tvm, err, sizeof(err))) {
		snprintf(tvm->reason, sizeof(tvm->reason), "reboot failed: %s", err);
		tvm->stop = T2_STOP_CRASH;
		return -1;
	}
	tvm->reboots++;
	tvm->reason[0] = 0;
	__atomic_store_n(&tvm->stop, T2_RUNNING, __ATOMIC_SEQ_CST);
	if (t2_vm_start(tvm))
		return -1;
	return 0;
}

void t2_vm_destroy(struct t2_vm *tvm)
{
	if (!tvm)
		return;
	for (u32 i = 0; i < tvm->vm.nvcpus; i++) {
		struct t2_vcpu *tv = &tvm->vcpus[i];
		rv_cpu_destroy(&tv->cpu);
		pthread_mutex_destroy(&tv->mu);
		pthread_cond_destroy(&tv->cond);
	}
	/* duo/virtio.h's teardown order; the vCPU threads are joined already. */
	if (t2_net_close)
		t2_net_close(&tvm->vm);
	virtio_detach_all(&tvm->vm);
	if (t2_blk_close)
		t2_blk_close(&tvm->vm);
	vm_destroy(&tvm->vm);
	munmap(tvm->vm.ram, tvm->ram_map);
	pthread_mutex_destroy(&tvm->con.mu);
	free(tvm);
}
