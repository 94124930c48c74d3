/*
 * test_shared.c - the decoded-code cache and translator one VM's vCPUs share
 * (type2/cpu/bcache.c): four vCPU threads run code that rewrites itself behind fence.i
 * while running a hot loop, with runs translated after two executions and an arena small
 * enough to fill every few iterations, so blocks are built, translated, chained, killed
 * and flushed by four threads at once. Every hart's result must equal the host's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "../../type2/cpu/rv_internal.h"
#include "../../type2/cpu/jit.h"
#include "machine.h"

#define NHARTS 4

extern const u8 cpu_blob_smc_smp[], cpu_blob_smc_smp_end[];

struct hart_arg {
	struct tmachine *m;
	struct rv_cpu *c;
	long result;
	const char *why;
};

static void *hart_thread(void *p)
{
	struct hart_arg *a = p;
	a->result = tm_run_cpu(a->m, a->c, 200000000, &a->why);
	return NULL;
}

/* What smc_smp.S computes. */
static u64 expected_sum(void)
{
	u64 s2 = 0;
	for (u64 s1 = 300; s1; s1--)
		for (u64 t3 = 50; t3; t3--) {
			s2 += t3;
			s2 ^= s1;
			s2 = (s2 << 3) + (s2 >> 7);
		}
	return s2;
}

static void run_shared(u32 slots, unsigned hot)
{
	unsigned hot_was = rv_jit_hot;
	rv_code_slots = slots;
	rv_jit_hot = hot;
	struct tmachine *m = tm_new();
	CHECK(m != NULL);
	struct rv_cpu *cpus[NHARTS] = { &m->cpu };
	m->vm.nvcpus = NHARTS;
	for (u32 i = 1; i < NHARTS; i++) {
		cpus[i] = calloc(1, sizeof(struct rv_cpu));
		m->vm.vcpus[i].vm = &m->vm;
		m->vm.vcpus[i].id = i;
		CHECK_EQ(rv_cpu_init(cpus[i], &m->vm, &m->vm.vcpus[i]), 0);
	}
	struct rv_code *k = rv_st(cpus[0])->code;
	for (u32 i = 1; i < NHARTS; i++)
		CHECK(rv_st(cpus[i])->code == k); /* one cache for the VM */
	tm_load(m, PLAT_RAM_BASE, cpu_blob_smc_smp,
		(size_t)(cpu_blob_smc_smp_end - cpu_blob_smc_smp));
	struct hart_arg a[NHARTS];
	pthread_t t[NHARTS];
	for (u32 i = 0; i < NHARTS; i++) {
		rv_cpu_reset(cpus[i], PLAT_RAM_BASE, i, 0);
		a[i] = (struct hart_arg){ m, cpus[i], -1, "" };
	}
	u64 flushes = k->flushes;
	for (u32 i = 0; i < NHARTS; i++)
		pthread_create(&t[i], NULL, hart_thread, &a[i]);
	for (u32 i = 0; i < NHARTS; i++)
		pthread_join(t[i], NULL);
	u64 want = expected_sum();
	for (u32 i = 0; i < NHARTS; i++) {
		CHECK_EQ(a[i].result, 0);
		u64 got;
		memcpy(&got, m->vm.ram + 0x100000 + 8 * i, 8);
		CHECK_EQ(got, want);
	}
	/* every fence.i flushed (a few at once may share one flush), and nothing leaked */
	CHECK(k->flushes - flushes >= 300);
	if (rv_st(cpus[0])->jit)
		CHECK(k->hot_shift <= RV_HOT_SHIFT_MAX);
	for (u32 i = 1; i < NHARTS; i++) {
		rv_cpu_destroy(cpus[i]);
		free(cpus[i]);
	}
	tm_free(m);
	rv_code_slots = 0;
	rv_jit_hot = hot_was;
}

TEST(shared_code_four_harts_fence_i)
{
	run_shared(0, RV_JIT_HOT);
}

TEST(shared_code_four_harts_small_arena_hot_2)
{
	run_shared(1024, 2); /* the arena fills every few iterations; everything translates */
}
