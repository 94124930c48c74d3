/*
 * machine.c - see machine.h: the CPU tests' VM, test MMIO device and run helpers.
 */
#include <stdlib.h>
#include <string.h>

#include <duo/err.h>
#include <duo/mmio.h>
#include "machine.h"

static int tdev_read(struct mmio_dev *dev, u64 off, unsigned width, u64 *val)
{
	if (off >= 0x800)
		return DUO_EFAULT; /* upper half: the device refuses (access fault) */
	*val = 0x1122334455667788ULL + off;
	return 0;
}

static int tdev_write(struct mmio_dev *dev, u64 off, unsigned width, u64 val)
{
	struct tmachine *m = dev->opaque;
	if (off >= 0x800)
		return DUO_EFAULT;
	m->mmio_last_write = val;
	m->mmio_last_off = off;
	m->mmio_last_width = width;
	m->mmio_writes++;
	return 0;
}

static const struct mmio_ops tdev_ops = { tdev_read, tdev_write };
static struct mmio_dev tdev;

struct tmachine *tm_new(void)
{
	struct tmachine *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vm.ram_size = (u64)TM_RAM_MIB << 20;
	m->vm.ram = calloc(1, m->vm.ram_size);
	m->vm.nvcpus = 1;
	m->vm.vcpus[0].vm = &m->vm;
	tdev = (struct mmio_dev){ "test", TM_MMIO_BASE, TM_MMIO_SIZE, &tdev_ops, m };
	if (!m->vm.ram || mmio_register(&m->vm.bus, &tdev) ||
	    rv_cpu_init(&m->cpu, &m->vm, &m->vm.vcpus[0])) {
		free(m->vm.ram);
		free(m);
		return NULL;
	}
	rv_cpu_reset(&m->cpu, PLAT_RAM_BASE, 0, 0);
	stub_time = 0;
	stub_time_step = 1;
	return m;
}

void tm_free(struct tmachine *m)
{
	if (!m)
		return;
	rv_cpu_destroy(&m->cpu);
	free(m->vm.ram);
	free(m);
}

void tm_load(struct tmachine *m, u64 gpa, const void *p, size_t n)
{
	memcpy(m->vm.ram + (gpa - PLAT_RAM_BASE), p, n);
	rv_cpu_request_fence(&m->cpu, RV_FENCE_CODE | RV_FENCE_TLB);
}

long tm_run_prog(struct tmachine *m, u64 max_insns, const char **why)
{
	return tm_run_cpu(m, &m->cpu, max_insns, why);
}

long tm_run_cpu(struct tmachine *m, struct rv_cpu *c, u64 max_insns, const char **why)
{
	u64 ran = 0;
	*why = "";
	while (ran < max_insns) {
		u64 before = c->instret;
		enum rv_exit r = rv_cpu_run(c, 100000);
		ran += c->instret - before;
		switch (r) {
		case RV_EXIT_BUDGET:
			break;
		case RV_EXIT_ECALL:
			if (c->x[17] == 93)
				return (long)c->x[10];
			if (c->x[17] == 1 && m->outlen < sizeof(m->out) - 1)
				m->out[m->outlen++] = (char)c->x[10];
			else
				c->x[10] = (u64)-2; /* SBI_ERR_NOT_SUPPORTED */
			c->pc += 4;
			break;
		case RV_EXIT_WFI:
			/* Sleep: jump the clock to the timer deadline, if there is one. */
			if (rv_cpu_irq_pending(c))
				break;
			if (c->stimecmp == UINT64_MAX || !(c->sie & DUO_BIT(IRQ_S_TIMER))) {
				*why = "wfi with no wake-up source";
				return -1;
			}
			if (__atomic_load_n(&stub_time, __ATOMIC_SEQ_CST) < c->stimecmp)
				__atomic_store_n(&stub_time, c->stimecmp, __ATOMIC_SEQ_CST);
			break;
		case RV_EXIT_HALT:
			*why = c->halt_reason;
			return -1;
		}
	}
	*why = "instruction budget exhausted";
	return -1;
}

int tm_exec1(struct tmachine *m, u64 pc, u32 insn)
{
	size_t len = (insn & 3) == 3 ? 4 : 2;
	u8 buf[4];
	memcpy(buf, &insn, 4);
	tm_load(m, pc, buf, len);
	m->cpu.pc = pc;
	return rv_cpu_run(&m->cpu, 1);
}
