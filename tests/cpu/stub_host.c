/*
 * stub_host.c - the CPU tests' implementation of duo/host.h: a clock that ticks once
 * per read (so guests spinning on `time` or waiting for stimecmp make progress
 * deterministically), calloc for memory, and no-ops for everything the emulator never
 * calls on its own (SBI, block I/O, vCPU control belong to other parts of type 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>

#include <duo/err.h>
#include <duo/host.h>
#include "machine.h"

u64 stub_time, stub_time_step = 1;

u64 host_time_now(struct vm *vm)
{
	return __atomic_fetch_add(&stub_time, stub_time_step, __ATOMIC_SEQ_CST);
}

void host_vcpu_set_timer(struct vcpu *v, u64 deadline)
{
}

void host_vcpu_set_irq(struct vcpu *v, unsigned irq, bool level)
{
}

void host_vcpu_fence(struct vcpu *v, enum host_fence kind, u64 start, u64 size, u64 asid)
{
}

int host_vcpu_start(struct vcpu *v, u64 pc, u64 opaque)
{
	return DUO_ENOTSUP;
}

void host_console_write(struct vm *vm, const char *buf, size_t n)
{
	fwrite(buf, 1, n, stdout);
}

void host_log(struct vm *vm, int level, const char *msg)
{
	if (getenv("DUO_TEST_VERBOSE"))
		fprintf(stderr, "[log %d] %s\n", level, msg);
}

void *host_zalloc(size_t n)
{
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
	unsigned char *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 131 + 7);
	return 0;
}

u64 host_blk_size(struct vm *vm, unsigned disk)
{
	return 0;
}

int host_blk_read(struct vm *vm, unsigned disk, u64 off, void *buf, size_t len)
{
	return DUO_EIO;
}

int host_blk_write(struct vm *vm, unsigned disk, u64 off, const void *buf, size_t len)
{
	return DUO_EIO;
}

int host_blk_flush(struct vm *vm, unsigned disk)
{
	return DUO_EIO;
}

int host_blk_discard(struct vm *vm, unsigned disk, u64 off, u64 len, bool zero)
{
	return DUO_EIO;
}
