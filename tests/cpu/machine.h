/*
 * machine.h - the CPU tests' little machine: a struct vm with RAM at PLAT_RAM_BASE and
 * one test MMIO device, an rv_cpu on it, and helpers to run guest programs (flat
 * binaries assembled from tests/cpu/guest/NAME.S and linked in by cpu.mk) or single
 * hand-encoded instructions. The host side (host.h) is tests/cpu/stub_host.c.
 */
#ifndef DUO_TESTS_CPU_MACHINE_H
#define DUO_TESTS_CPU_MACHINE_H

#include <duo/types.h>
#include <duo/vm.h>
#include "../../type2/cpu/cpu.h"

#define TM_RAM_MIB 64
#define TM_MMIO_BASE 0x10000000ULL /* a 4 KiB test device: reads give 0x11..., writes log */
#define TM_MMIO_SIZE 0x1000ULL

struct tmachine {
	struct vm vm;
	struct rv_cpu cpu;
	u64 mmio_last_write, mmio_last_off;
	unsigned mmio_writes, mmio_last_width;
	char out[4096]; /* guest putchar output */
	size_t outlen;
};

/* tm_new - a machine with TM_RAM_MIB of zeroed RAM; pc at RAM base, S-mode. */
struct tmachine *tm_new(void);
void tm_free(struct tmachine *m);
/* tm_load - copy bytes into guest RAM at gpa and drop decoded code. */
void tm_load(struct tmachine *m, u64 gpa, const void *p, size_t n);
/* tm_run_prog - run until the guest's exit ecall (a7 = 93); returns its a0, or -1 on
 * timeout/halt, with the reason in *why. */
long tm_run_prog(struct tmachine *m, u64 max_insns, const char **why);
/* tm_run_cpu - the same for another rv_cpu on m's VM (SMP tests, one thread each). */
long tm_run_cpu(struct tmachine *m, struct rv_cpu *c, u64 max_insns, const char **why);
/* tm_exec1 - place one instruction (2 or 4 bytes by its low bits) at `pc` and execute
 * exactly it; returns rv_cpu_run's result. */
int tm_exec1(struct tmachine *m, u64 pc, u32 insn);

/* The stub host's clock (host_time_now returns it, then adds stub_time_step). */
extern u64 stub_time, stub_time_step;

/* Guest programs assembled by cpu.mk: name_start/name_end symbols. */
#define TM_BLOB(name) extern const unsigned char cpu_blob_##name[], cpu_blob_##name##_end[]
#define TM_BLOB_LEN(name) ((size_t)(cpu_blob_##name##_end - cpu_blob_##name))

#endif
