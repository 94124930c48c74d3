/*
 * trap.c - what the bare-metal guests do with a trap (start.S saves the frame and calls
 * rt_trap), fault probes, and the C side of secondary-hart start.
 *
 * Interrupts go to the handler registered for their cause and are counted per hart; an
 * interrupt without a handler is masked in sie (so a stuck line cannot storm) and
 * reported. An exception inside a probe is recorded and the faulting instruction
 * skipped; any other exception is offered to rt_on_trap and otherwise ends the run with
 * a FAIL line naming scause, sepc and stval.
 */
#include "rt.h"

#define RT_START_MAGIC 0x5354415254424c4bUL /* matches start.S */

struct hart_state {
	volatile bool probing;
	volatile bool faulted;
	unsigned long cause, tval;
	unsigned long irqs[16];
};

/* The start block start.S checks before it trusts a1. Layout fixed by start.S. */
struct start_block {
	unsigned long magic;
	unsigned long stack_top;
	unsigned long trap_top;
	rt_hart_fn fn;
};

static struct hart_state harts[RT_MAX_HARTS];
static struct start_block start_blocks[RT_MAX_HARTS];
static rt_irq_fn irq_handlers[16];
bool (*rt_on_trap)(struct rt_frame *f);

extern char rt_stacks[], rt_trap_stacks[];

static struct hart_state *me(void)
{
	return &harts[rt_hartid() % RT_MAX_HARTS];
}

void rt_set_irq_handler(unsigned irq, rt_irq_fn fn)
{
	if (irq < 16)
		irq_handlers[irq] = fn;
}

unsigned long rt_irq_count(unsigned irq)
{
	return irq < 16 ? me()->irqs[irq] : 0;
}

/* insn_len - length of the instruction at pc (2 for compressed, else 4). */
static unsigned long insn_len(unsigned long pc)
{
	uint16_t lo = *(volatile uint16_t *)pc;
	return (lo & 3) == 3 ? 4 : 2;
}

void rt_trap(struct rt_frame *f)
{
	struct hart_state *h = me();

	if (f->scause & SCAUSE_IRQ) {
		unsigned irq = f->scause & 0xf;
		h->irqs[irq]++;
		if (irq_handlers[irq]) {
			irq_handlers[irq](irq, f);
		} else {
			csr_clear(sie, 1UL << irq);
			rt_printf("baremetal: unexpected interrupt %u on hart %lu; masked\n", irq,
				  rt_hartid());
		}
		return;
	}
	if (h->probing) {
		h->faulted = true;
		h->cause = f->scause;
		h->tval = f->stval;
		f->sepc += insn_len(f->sepc);
		return;
	}
	if (rt_on_trap && rt_on_trap(f))
		return;
	rt_fail("trap", "unexpected exception scause=%lu sepc=0x%lx stval=0x%lx hart %lu",
		f->scause, f->sepc, f->stval, rt_hartid());
	rt_finish();
}

void rt_probe_begin(void)
{
	struct hart_state *h = me();
	h->faulted = false;
	h->cause = h->tval = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	h->probing = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void rt_probe_end(struct rt_probe *p)
{
	struct hart_state *h = me();
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	h->probing = false;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	p->faulted = h->faulted;
	p->cause = h->cause;
	p->tval = h->tval;
}

/*
 * The accesses are single uncompressed instructions (.option norvc) so that skipping a
 * faulting one lands on the next instruction of the sequence.
 */
void rt_probe_read(uintptr_t addr, unsigned width, struct rt_probe *p)
{
	uint64_t v = 0;

	rt_probe_begin();
	switch (width) {
	case 1:
		__asm__ volatile(".option push\n.option norvc\nlbu %0, 0(%1)\n.option pop"
				 : "+&r"(v)
				 : "r"(addr)
				 : "memory");
		break;
	case 2:
		__asm__ volatile(".option push\n.option norvc\nlhu %0, 0(%1)\n.option pop"
				 : "+&r"(v)
				 : "r"(addr)
				 : "memory");
		break;
	case 4:
		__asm__ volatile(".option push\n.option norvc\nlwu %0, 0(%1)\n.option pop"
				 : "+&r"(v)
				 : "r"(addr)
				 : "memory");
		break;
	default:
		__asm__ volatile(".option push\n.option norvc\nld %0, 0(%1)\n.option pop"
				 : "+&r"(v)
				 : "r"(addr)
				 : "memory");
		break;
	}
	rt_probe_end(p);
	p->val = p->faulted ? 0 : v;
}

void rt_probe_write(uintptr_t addr, unsigned width, uint64_t val, struct rt_probe *p)
{
	rt_probe_begin();
	switch (width) {
	case 1:
		__asm__ volatile(
			".option push\n.option norvc\nsb %0, 0(%1)\n.option pop" ::"r"(val),
			"r"(addr)
			: "memory");
		break;
	case 2:
		__asm__ volatile(
			".option push\n.option norvc\nsh %0, 0(%1)\n.option pop" ::"r"(val),
			"r"(addr)
			: "memory");
		break;
	case 4:
		__asm__ volatile(
			".option push\n.option norvc\nsw %0, 0(%1)\n.option pop" ::"r"(val),
			"r"(addr)
			: "memory");
		break;
	default:
		__asm__ volatile(
			".option push\n.option norvc\nsd %0, 0(%1)\n.option pop" ::"r"(val),
			"r"(addr)
			: "memory");
		break;
	}
	rt_probe_end(p);
	p->val = 0;
}

unsigned long rt_start_opaque(unsigned long hart, rt_hart_fn fn)
{
	struct start_block *b = &start_blocks[hart % RT_MAX_HARTS];
	unsigned long slot = hart % RT_MAX_HARTS;

	b->stack_top = (unsigned long)rt_stacks + (slot + 1) * RT_STACK_SIZE;
	b->trap_top = (unsigned long)rt_trap_stacks + (slot + 1) * RT_TRAP_STACK_SIZE;
	b->fn = fn;
	__atomic_store_n(&b->magic, RT_START_MAGIC, __ATOMIC_RELEASE);
	return (unsigned long)b;
}

/* rt_secondary_main - called by start.S on a hart started through HSM. */
void rt_secondary_main(unsigned long a0, unsigned long a1)
{
	struct start_block *b = (struct start_block *)a1;

	if (b->fn)
		b->fn(a0, a1);
	/* Nothing more to do: stop this hart for good. */
	rt_sbi_hart_stop();
	for (;;)
		rt_wfi();
}
