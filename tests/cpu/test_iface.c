/*
 * test_iface.c - the emulator as the rest of type 2 sees it (cpu.h): exits (ecall with
 * pc at the ecall, wfi with pc past it, budget, kick, halt), interrupt lines set from
 * outside (priority SEI > SSI > STI), fence requests, code changed behind the
 * emulator's back vs. by the guest itself, MMIO widths, reset state, and LR/SC/AMO
 * atomicity between two vCPUs running on two host threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../unit/harness.h"
#include "machine.h"

#define BASE PLAT_RAM_BASE
#define ADDI(rd, rs1, imm) ((u32)((imm)&0xfff) << 20 | (u32)(rs1) << 15 | (u32)(rd) << 7 | 0x13)
#define ECALL 0x00000073u
#define WFI 0x10500073u
#define JSELF 0x0000006fu /* j . */
#define SW(rs2, rs1, imm)                                                                          \
	((u32)(((imm) >> 5) & 0x7f) << 25 | (u32)(rs2) << 20 | (u32)(rs1) << 15 | 2u << 12 |       \
	 (u32)((imm)&0x1f) << 7 | 0x23)
#define LW(rd, rs1, imm)                                                                           \
	((u32)((imm)&0xfff) << 20 | (u32)(rs1) << 15 | 2u << 12 | (u32)(rd) << 7 | 0x03)
#define AUIPC(rd, imm) ((u32)(imm) << 12 | (u32)(rd) << 7 | 0x17)
#define ILLEGAL 0xffffffffu

static void put(struct tmachine *m, u64 gpa, const u32 *code, size_t n)
{
	tm_load(m, gpa, code, n * 4);
}

TEST(iface_ecall_and_wfi_exits)
{
	struct tmachine *m = tm_new();
	const u32 code[] = { ADDI(10, 0, 7), ECALL, WFI, ADDI(11, 0, 3), ECALL };
	put(m, BASE, code, 5);
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.pc, BASE + 4); /* at the ecall */
	CHECK_EQ(m->cpu.x[10], 7);
	m->cpu.pc += 4;
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_WFI);
	CHECK_EQ(m->cpu.pc, BASE + 12); /* past the wfi */
	/* with an enabled interrupt pending (SIE = 0), wfi is a no-op */
	m->cpu.pc = BASE + 8;
	m->cpu.sie = DUO_BIT(IRQ_S_EXT);
	rv_cpu_set_irq(&m->cpu, IRQ_S_EXT, true);
	CHECK(rv_cpu_irq_pending(&m->cpu));
	enum rv_exit r;
	do
		r = rv_cpu_run(&m->cpu, 100);
	while (r == RV_EXIT_BUDGET && m->cpu.pc < BASE + 16);
	CHECK_EQ(r, RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[11], 3);
	tm_free(m);
}

TEST(iface_budget_and_kick)
{
	struct tmachine *m = tm_new();
	const u32 code[] = { JSELF };
	put(m, BASE, code, 1);
	m->cpu.kick = 0; /* put()'s fence request kicks too */
	u64 before = m->cpu.instret;
	CHECK_EQ(rv_cpu_run(&m->cpu, 1000), RV_EXIT_BUDGET);
	CHECK_EQ(m->cpu.instret - before, 1000);
	__atomic_store_n(&m->cpu.kick, 1, __ATOMIC_SEQ_CST);
	before = m->cpu.instret;
	CHECK_EQ(rv_cpu_run(&m->cpu, 100000000), RV_EXIT_BUDGET);
	CHECK(m->cpu.instret - before <= 2048); /* left at the first chunk boundary (RV_CHUNK) */
	CHECK_EQ(m->cpu.kick, 0);
	tm_free(m);
}

TEST(iface_interrupt_lines_priority)
{
	struct tmachine *m = tm_new();
	const u32 code[] = { JSELF };
	put(m, BASE, code, 1);
	put(m, BASE + 0x100, code, 1); /* handler: spins */
	m->cpu.stvec = BASE + 0x100;
	m->cpu.sie = DUO_BIT(IRQ_S_EXT) | DUO_BIT(IRQ_S_SOFT) | DUO_BIT(IRQ_S_TIMER);
	m->cpu.stimecmp = 0; /* timer pending too */
	rv_cpu_set_irq(&m->cpu, IRQ_S_SOFT, true);
	rv_cpu_set_irq(&m->cpu, IRQ_S_EXT, true);
	rv_cpu_run(&m->cpu, 10);
	CHECK_EQ(m->cpu.pc, BASE); /* SIE = 0 in S-mode: nothing taken */
	m->cpu.mstatus |= 2;	   /* SIE */
	rv_cpu_run(&m->cpu, 10);
	CHECK_EQ(m->cpu.scause, (1ULL << 63) | IRQ_S_EXT);
	CHECK_EQ(m->cpu.sepc, BASE);
	CHECK_EQ(m->cpu.pc, BASE + 0x100);
	CHECK_EQ(m->cpu.mstatus & 0x122, 0x120); /* SPP = S, SPIE = 1, SIE = 0 */
	/* guest clears SSIP by writing sip: the host's line goes down with it */
	rv_cpu_set_irq(&m->cpu, IRQ_S_EXT, false);
	m->cpu.mstatus |= 2;
	m->cpu.pc = BASE;
	rv_cpu_run(&m->cpu, 10);
	CHECK_EQ(m->cpu.scause, (1ULL << 63) | IRQ_S_SOFT);
	rv_cpu_set_irq(&m->cpu, IRQ_S_SOFT, false);
	m->cpu.mstatus |= 2;
	m->cpu.pc = BASE;
	rv_cpu_run(&m->cpu, 10);
	CHECK_EQ(m->cpu.scause, (1ULL << 63) | IRQ_S_TIMER);
	m->cpu.stimecmp = UINT64_MAX;
	CHECK(!rv_cpu_irq_pending(&m->cpu));
	tm_free(m);
}

TEST(iface_code_changes)
{
	struct tmachine *m = tm_new();
	const u32 v1[] = { ADDI(10, 0, 1), ECALL };
	put(m, BASE, v1, 2);
	CHECK_EQ(rv_cpu_run(&m->cpu, 10), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[10], 1);
	/* the host rewrites RAM (like DMA) and asks for a code fence */
	u32 v2 = ADDI(10, 0, 2);
	memcpy(m->vm.ram, &v2, 4);
	rv_cpu_request_fence(&m->cpu, RV_FENCE_CODE);
	CHECK(m->cpu.fence_req & RV_FENCE_CODE);
	m->cpu.pc = BASE;
	CHECK_EQ(rv_cpu_run(&m->cpu, 10), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[10], 2);
	CHECK_EQ(m->cpu.fence_req, 0);
	/* the guest patches the very next instruction with a store: seen at once */
	const u32 v3[] = { AUIPC(5, 0),	   LW(6, 5, 20), SW(6, 5, 12),
			   ADDI(10, 0, 3), ECALL,	 ADDI(10, 0, 4) };
	put(m, BASE + 0x200, v3, 6);
	m->cpu.pc = BASE + 0x200;
	CHECK_EQ(rv_cpu_run(&m->cpu, 10), RV_EXIT_ECALL);
	CHECK_EQ(m->cpu.x[10], 4);
	tm_free(m);
}

TEST(iface_halt_on_unfetchable_trap_vector)
{
	struct tmachine *m = tm_new();
	const u32 code[] = { ILLEGAL };
	put(m, BASE, code, 1);
	m->cpu.stvec = 0x1000; /* not RAM: fetching the handler faults */
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_HALT);
	CHECK(m->cpu.halt_reason != NULL);
	CHECK_EQ(rv_cpu_run(&m->cpu, 100), RV_EXIT_HALT);
	rv_cpu_reset(&m->cpu, BASE, 0, 0);
	CHECK(m->cpu.halt_reason == NULL);
	tm_free(m);
}

TEST(iface_reset_state)
{
	struct tmachine *m = tm_new();
	m->cpu.satp = 8ULL << 60;
	m->cpu.mstatus = 0x2;
	m->cpu.x[5] = 9;
	rv_cpu_reset(&m->cpu, BASE + 0x40, 3, 0x1234);
	CHECK_EQ(m->cpu.pc, BASE + 0x40);
	CHECK_EQ(m->cpu.x[10], 3);
	CHECK_EQ(m->cpu.x[11], 0x1234);
	CHECK_EQ(m->cpu.x[5], 0);
	CHECK_EQ(m->cpu.satp, 0);
	CHECK_EQ(m->cpu.mstatus & 2, 0);
	CHECK_EQ(m->cpu.priv, RV_PRIV_S);
	CHECK_EQ(m->cpu.scounteren, 7);
	CHECK_EQ(m->cpu.stimecmp, UINT64_MAX);
	tm_free(m);
}

TEST(iface_mmio_widths)
{
	struct tmachine *m = tm_new();
	/* x5 = device base; sw x6 to +8; lw x7 from +2 (misaligned, within the window) */
	const u32 code[] = { SW(6, 5, 8), LW(7, 5, 2), ECALL };
	put(m, BASE, code, 3);
	m->cpu.x[5] = TM_MMIO_BASE;
	m->cpu.x[6] = 0xdeadbeefcafef00dULL;
	CHECK_EQ(rv_cpu_run(&m->cpu, 10), RV_EXIT_ECALL);
	CHECK_EQ(m->mmio_writes, 1);
	CHECK_EQ(m->mmio_last_off, 8);
	CHECK_EQ(m->mmio_last_width, 4);
	CHECK_EQ(m->mmio_last_write, 0xcafef00d);
	CHECK_EQ(m->cpu.x[7], 0x5566778a); /* 0x1122334455667788 + 2, low word */
	tm_free(m);
}

TM_BLOB(smp);

struct smp_arg {
	struct tmachine *m;
	struct rv_cpu *c;
	long result;
};

static void *smp_thread(void *p)
{
	struct smp_arg *a = p;
	const char *why;
	a->result = tm_run_cpu(a->m, a->c, 100000000, &why);
	return NULL;
}

TEST(iface_smp_atomics_two_threads)
{
	struct tmachine *m = tm_new();
	struct rv_cpu *c1 = calloc(1, sizeof(*c1));
	m->vm.nvcpus = 2;
	m->vm.vcpus[1].vm = &m->vm;
	m->vm.vcpus[1].id = 1;
	CHECK_EQ(rv_cpu_init(c1, &m->vm, &m->vm.vcpus[1]), 0);
	tm_load(m, BASE, cpu_blob_smp, TM_BLOB_LEN(smp));
	rv_cpu_reset(&m->cpu, BASE, 0, 0);
	rv_cpu_reset(c1, BASE, 1, 0);
	struct smp_arg a0 = { m, &m->cpu, -1 }, a1 = { m, c1, -1 };
	pthread_t t0, t1;
	pthread_create(&t0, NULL, smp_thread, &a0);
	pthread_create(&t1, NULL, smp_thread, &a1);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);
	CHECK_EQ(a0.result, 0);
	CHECK_EQ(a1.result, 0);
	u32 lrsc;
	u64 amo;
	memcpy(&lrsc, m->vm.ram + 0x100000, 4);
	memcpy(&amo, m->vm.ram + 0x100040, 8);
	CHECK_EQ(lrsc, 40000);
	CHECK_EQ(amo, 40000);
	rv_cpu_destroy(c1);
	free(c1);
	tm_free(m);
}

/* HOSTILE 26: every width of load and store around the end of RAM, aligned or not,
 * gives either the access or an access fault, never a host access past the buffer
 * (the ASan build checks that), and a straddling store faults before touching the
 * RAM side of the page when the other side is not RAM. */
TEST(iface_ram_end_sweep)
{
	struct tmachine *m = tm_new();
	u64 end = PLAT_RAM_BASE + m->vm.ram_size;
	/* lb/lh/lw/ld x7, 0(x5); sb/sh/sw/sd x6, 0(x5) */
	static const u32 ld[4] = { 0x0002c383, 0x00029383, 0x0002a383, 0x0002b383 };
	static const u32 st[4] = { 0x00628023, 0x00629023, 0x0062a023, 0x0062b023 };
	for (int w = 0; w < 4; w++) {
		unsigned size = 1U << w;
		for (u64 a = end - 9; a <= end + 8; a++) {
			bool inside = a + size <= end;
			memset(m->vm.ram + m->vm.ram_size - 16, 0xaa, 16);
			m->cpu.x[5] = a;
			m->cpu.x[6] = 0x1122334455667788ULL;
			m->cpu.scause = 0;
			tm_exec1(m, BASE + 0x1000, ld[w]);
			CHECK_EQ(m->cpu.scause, inside ? 0 : 5);
			m->cpu.scause = 0;
			tm_exec1(m, BASE + 0x1000, st[w]);
			CHECK_EQ(m->cpu.scause, inside ? 0 : 7);
			if (!inside) /* nothing written on the RAM side either */
				CHECK_EQ(m->vm.ram[m->vm.ram_size - 1], 0xaa);
		}
	}
	/* fetch: an instruction in the last halfword of RAM whose second half is not */
	u16 lo = 0x0513; /* low half of addi a0, a0, 1 */
	memcpy(m->vm.ram + m->vm.ram_size - 2, &lo, 2);
	rv_cpu_request_fence(&m->cpu, RV_FENCE_CODE);
	m->cpu.pc = end - 2;
	m->cpu.stvec = BASE;
	rv_cpu_run(&m->cpu, 1);
	CHECK_EQ(m->cpu.scause, 1);
	CHECK_EQ(m->cpu.stval, end);
	CHECK_EQ(m->cpu.sepc, end - 2);
	tm_free(m);
}
