/*
 * plic.c - the guest's platform-level interrupt controller, see duo/plic.h.
 *
 * Sits on the MMIO bus at PLAT_PLIC_BASE with QEMU virt's register layout. Devices
 * drive source lines through plic_set_irq(); each vCPU i owns context i (its S-mode
 * external interrupt), whose output is pushed to the backend with
 * host_vcpu_set_irq(vcpu i, IRQ_S_EXT, level) whenever it changes.
 *
 * Gateways are level-triggered: a source is pending while its line is high and it is
 * not claimed (a line that drops before the claim withdraws the request, as QEMU does,
 * so a guest that polled its device meanwhile sees no spurious claim). A claim takes
 * the best pending, enabled source above the context's threshold and holds the gateway
 * shut until the matching complete, after which a still-high line pends again.
 *
 * Only aligned 32-bit accesses do anything; other widths and unused offsets read 0 and
 * ignore writes. Everything happens under the PLIC's own lock; the only call out is
 * host_vcpu_set_irq(), which never calls back into a device.
 */
#include <duo/err.h>
#include <duo/host.h>
#include <duo/plic.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

#define PLIC_PRIORITY 0x0
#define PLIC_PENDING 0x1000
#define PLIC_ENABLE 0x2000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_CTX_THRESHOLD 0x0
#define PLIC_CTX_CLAIM 0x4

_Static_assert(PLIC_NSRC <= 32, "one 32-bit word holds every source bit");

/* Bits of the sources that exist: 1..PLIC_NSRC-1 (source 0 is hardwired to zero). */
#define PLIC_SRC_MASK ((u32)(((1ULL << PLIC_NSRC) - 1) & ~1ULL))

/* ---- interrupt logic; called with p->lock held ------------------------------------- */

/* The source a claim on ctx would return: highest priority above the threshold among
 * pending, enabled, unclaimed sources; ties go to the lowest id. 0 if none. */
static u32 plic_best(const struct plic *p, u32 ctx)
{
	u32 cand = p->pending & p->enable[ctx] & ~p->claimed & PLIC_SRC_MASK;
	u32 best = 0, best_prio = p->threshold[ctx];

	for (u32 s = 1; cand && s < PLIC_NSRC; s++) {
		if (!(cand & (1u << s)))
			continue;
		cand &= ~(1u << s);
		if (p->priority[s] > best_prio) {
			best = s;
			best_prio = p->priority[s];
		}
	}
	return best;
}

/* Recompute every context's output and tell the backend about the ones that moved. */
static void plic_update(struct plic *p)
{
	for (u32 ctx = 0; ctx < p->nctx; ctx++) {
		bool level = plic_best(p, ctx) != 0;

		if (level == p->out[ctx])
			continue;
		p->out[ctx] = level;
		host_vcpu_set_irq(&p->vm->vcpus[ctx], IRQ_S_EXT, level);
	}
}

static u32 plic_claim(struct plic *p, u32 ctx)
{
	u32 s = plic_best(p, ctx);

	if (s) {
		p->pending &= ~(1u << s);
		p->claimed |= 1u << s;
		plic_update(p);
	}
	return s;
}

/* Complete: ids that are out of range or not claimed are ignored (PLIC spec). */
static void plic_complete(struct plic *p, u32 id)
{
	if (id == 0 || id >= PLIC_NSRC || !(p->claimed & (1u << id)))
		return;
	p->claimed &= ~(1u << id);
	if (p->level & (1u << id))
		p->pending |= 1u << id;
	plic_update(p);
}

/* ---- MMIO ------------------------------------------------------------------------- */

static u32 plic_read_reg(struct plic *p, u64 off)
{
	if (off < PLIC_PENDING) {
		u64 s = off / 4;
		return s >= 1 && s < PLIC_NSRC ? p->priority[s] : 0;
	}
	if (off < PLIC_ENABLE)
		return off == PLIC_PENDING ? p->pending & PLIC_SRC_MASK : 0;
	if (off < PLIC_CONTEXT) {
		u64 ctx = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
		u64 word = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE;
		return ctx < p->nctx && word == 0 ? p->enable[ctx] : 0;
	}
	u64 ctx = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
	u64 reg = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
	if (ctx >= p->nctx)
		return 0;
	if (reg == PLIC_CTX_THRESHOLD)
		return p->threshold[ctx];
	if (reg == PLIC_CTX_CLAIM)
		return plic_claim(p, (u32)ctx);
	return 0;
}

static void plic_write_reg(struct plic *p, u64 off, u32 val)
{
	if (off < PLIC_PENDING) {
		u64 s = off / 4;
		if (s >= 1 && s < PLIC_NSRC)
			p->priority[s] = val;
	} else if (off < PLIC_ENABLE) {
		return; /* pending bits are read-only */
	} else if (off < PLIC_CONTEXT) {
		u64 ctx = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
		u64 word = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE;
		if (ctx >= p->nctx || word != 0)
			return;
		p->enable[ctx] = val & PLIC_SRC_MASK;
	} else {
		u64 ctx = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
		u64 reg = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
		if (ctx >= p->nctx)
			return;
		if (reg == PLIC_CTX_THRESHOLD)
			p->threshold[ctx] = val;
		else if (reg == PLIC_CTX_CLAIM)
			plic_complete(p, val);
		else
			return;
	}
	plic_update(p);
}

static int plic_mmio_read(struct mmio_dev *dev, u64 off, unsigned width, u64 *val)
{
	struct plic *p = dev->opaque;

	*val = 0;
	if (width != 4 || (off & 3) || off >= PLAT_PLIC_SIZE)
		return 0;
	duo_lock(&p->lock);
	*val = plic_read_reg(p, off);
	duo_unlock(&p->lock);
	return 0;
}

static int plic_mmio_write(struct mmio_dev *dev, u64 off, unsigned width, u64 val)
{
	struct plic *p = dev->opaque;

	if (width != 4 || (off & 3) || off >= PLAT_PLIC_SIZE)
		return 0;
	duo_lock(&p->lock);
	plic_write_reg(p, off, (u32)val);
	duo_unlock(&p->lock);
	return 0;
}

static const struct mmio_ops plic_ops = {
	.read = plic_mmio_read,
	.write = plic_mmio_write,
};

/* ---- public ------------------------------------------------------------------------ */

int plic_init(struct plic *p, struct vm *vm)
{
	duo_memset(p, 0, sizeof(*p));
	p->vm = vm;
	p->nctx = DUO_MIN(vm->nvcpus, (u32)PLAT_MAX_VCPUS);
	p->mmio.name = "plic";
	p->mmio.base = PLAT_PLIC_BASE;
	p->mmio.size = PLAT_PLIC_SIZE;
	p->mmio.ops = &plic_ops;
	p->mmio.opaque = p;
	/* Everything is zero, so no output is high and the backend need not hear of it
	 * (its vCPUs may not exist yet). */
	return mmio_register(&vm->bus, &p->mmio);
}

void plic_reset(struct plic *p)
{
	duo_lock(&p->lock);
	duo_memset(p->priority, 0, sizeof(p->priority));
	duo_memset(p->enable, 0, sizeof(p->enable));
	duo_memset(p->threshold, 0, sizeof(p->threshold));
	p->claimed = 0;
	/* Lines are wires from the devices, which reset (and lower them) themselves. */
	p->pending = p->level & PLIC_SRC_MASK;
	plic_update(p); /* lowers any output that was high */
	duo_unlock(&p->lock);
}

void plic_set_irq(struct plic *p, u32 src, bool level)
{
	if (!p || src == 0 || src >= PLIC_NSRC)
		return;
	duo_lock(&p->lock);
	if (level) {
		p->level |= 1u << src;
		if (!(p->claimed & (1u << src)))
			p->pending |= 1u << src;
	} else {
		p->level &= ~(1u << src);
		p->pending &= ~(1u << src);
	}
	plic_update(p);
	duo_unlock(&p->lock);
}
