/*
 * csr.c - the CSR file the type-2 emulator shows an S-mode guest (privileged spec,
 * "Supervisor-Level ISA"; Sstc; Zicntr; the F extension's fcsr), and the privileged
 * instructions that change it (sret). There is no M-mode: M/H CSRs, unknown CSRs,
 * accesses above the current privilege and writes to read-only CSRs are illegal
 * instructions. Writes that may unmask an interrupt ask the interpreter to leave its
 * inner loop so the outer loop (cpu.c) can take it at once.
 */
#include <duo/host.h>
#include "rv_internal.h"

enum {
	CSR_FFLAGS = 0x001,
	CSR_FRM = 0x002,
	CSR_FCSR = 0x003,
	CSR_SSTATUS = 0x100,
	CSR_SIE = 0x104,
	CSR_STVEC = 0x105,
	CSR_SCOUNTEREN = 0x106,
	CSR_SENVCFG = 0x10a,
	CSR_SSCRATCH = 0x140,
	CSR_SEPC = 0x141,
	CSR_SCAUSE = 0x142,
	CSR_STVAL = 0x143,
	CSR_SIP = 0x144,
	CSR_STIMECMP = 0x14d,
	CSR_SATP = 0x180,
	CSR_CYCLE = 0xc00,
	CSR_TIME = 0xc01,
	CSR_INSTRET = 0xc02,
};

u64 rv_sstatus(struct rv_cpu *c)
{
	u64 s = (c->mstatus & SSTATUS_WMASK) | SSTATUS_UXL_64;
	if ((s & SSTATUS_FS) == SSTATUS_FS_DIRTY)
		s |= SSTATUS_SD;
	return s;
}

/* csr_read - false if the CSR does not exist or the current mode may not read it. */
static bool csr_read(struct rv_cpu *c, u32 csr, u64 *v)
{
	struct rv_state *st = rv_st(c);
	switch (csr) {
	case CSR_FFLAGS:
	case CSR_FRM:
	case CSR_FCSR:
		if (!rv_fs_on(c))
			return false;
		*v = csr == CSR_FFLAGS ? (c->fcsr & 0x1f)
		     : csr == CSR_FRM  ? ((c->fcsr >> 5) & 7)
				       : (c->fcsr & 0xff);
		return true;
	case CSR_CYCLE:
	case CSR_TIME:
	case CSR_INSTRET:
		if (c->priv == RV_PRIV_U && !(c->scounteren & DUO_BIT(csr - CSR_CYCLE)))
			return false;
		*v = csr == CSR_TIME ? host_time_now(c->vm) : c->instret + st->chunk_retired;
		return true;
	}
	if (c->priv == RV_PRIV_U)
		return false;
	switch (csr) {
	case CSR_SSTATUS:
		*v = rv_sstatus(c);
		return true;
	case CSR_SIE:
		*v = c->sie;
		return true;
	case CSR_STVEC:
		*v = c->stvec;
		return true;
	case CSR_SCOUNTEREN:
		*v = c->scounteren;
		return true;
	case CSR_SENVCFG:
		*v = c->senvcfg;
		return true;
	case CSR_SSCRATCH:
		*v = c->sscratch;
		return true;
	case CSR_SEPC:
		*v = c->sepc;
		return true;
	case CSR_SCAUSE:
		*v = c->scause;
		return true;
	case CSR_STVAL:
		*v = c->stval;
		return true;
	case CSR_SIP:
		*v = rv_sip(c);
		return true;
	case CSR_STIMECMP:
		*v = c->stimecmp;
		return true;
	case CSR_SATP:
		*v = c->satp;
		return true;
	}
	return false;
}

static void write_sstatus(struct rv_cpu *c, u64 v)
{
	u64 old = c->mstatus;
	c->mstatus = (old & ~SSTATUS_WMASK) | (v & SSTATUS_WMASK);
	u64 changed = old ^ c->mstatus;
	if (changed & SSTATUS_MXR)
		rv_tlb_flush_all(c);
	if (changed & SSTATUS_SUM)
		rv_update_view(c);
	if ((c->mstatus & SSTATUS_SIE) && (changed & SSTATUS_SIE))
		rv_st(c)->irq_check = true;
}

static void write_satp(struct rv_cpu *c, u64 v)
{
	u64 mode = v >> SATP_MODE_SHIFT;
	/* WARL: an unsupported mode leaves satp alone. ASID is read-only zero, so every
	 * write flushes the whole TLB (Linux then never relies on ASID tagging). */
	if (mode != 0 && mode != 8 && mode != 9 && mode != 10)
		return;
	c->satp = (mode << SATP_MODE_SHIFT) | (v & SATP_PPN_MASK);
	rv_tlb_flush_all(c);
}

/* csr_write - the CSR exists and the mode may access it (csr_read succeeded). */
static void csr_write(struct rv_cpu *c, u32 csr, u64 v)
{
	struct rv_state *st = rv_st(c);
	switch (csr) {
	case CSR_FFLAGS:
		c->fcsr = (c->fcsr & ~0x1fU) | (u32)(v & 0x1f);
		rv_fs_dirty(c);
		return;
	case CSR_FRM:
		c->fcsr = (c->fcsr & 0x1f) | (u32)((v & 7) << 5);
		rv_fs_dirty(c);
		return;
	case CSR_FCSR:
		c->fcsr = (u32)(v & 0xff);
		rv_fs_dirty(c);
		return;
	case CSR_SSTATUS:
		write_sstatus(c, v);
		return;
	case CSR_SIE:
		c->sie = v & SIE_MASK;
		st->irq_check = true;
		return;
	case CSR_STVEC:
		c->stvec = v & ~2ULL; /* modes 0 (direct) and 1 (vectored) only */
		return;
	case CSR_SCOUNTEREN:
		c->scounteren = (u32)(v & 7);
		return;
	case CSR_SENVCFG:
		c->senvcfg = v & 1; /* FIOM; no Zicbo*, no Svpbmt */
		return;
	case CSR_SSCRATCH:
		c->sscratch = v;
		return;
	case CSR_SEPC:
		c->sepc = v & ~1ULL;
		return;
	case CSR_SCAUSE:
		c->scause = v;
		return;
	case CSR_STVAL:
		c->stval = v;
		return;
	case CSR_SIP:
		/* Only SSIP is writable. Clearing it also clears an IPI raised by the host. */
		c->sip_sw = v & SIP_SSIP;
		if (!(v & SIP_SSIP))
			__atomic_and_fetch(&c->irq_lines, ~SIP_SSIP, __ATOMIC_SEQ_CST);
		st->irq_check = true;
		return;
	case CSR_STIMECMP:
		c->stimecmp = v;
		st->irq_check = true;
		return;
	case CSR_SATP:
		write_satp(c, v);
		return;
	}
}

bool rv_csr_op(struct rv_cpu *c, const struct rv_insn *d)
{
	u32 csr = (u32)d->imm & 0xfff;
	u32 f3 = d->aux;
	u64 src = (f3 & 4) ? d->rs1 : c->x[d->rs1];
	u32 kind = f3 & 3; /* 1 RW, 2 RS, 3 RC */
	bool write = kind == 1 || d->rs1 != 0;
	u64 old;

	if (((csr >> 8) & 3) > (u32)c->priv || !csr_read(c, csr, &old))
		return rv_raise(c, RV_EXC_ILLEGAL, d->raw);
	if (write && (csr >> 10) == 3)
		return rv_raise(c, RV_EXC_ILLEGAL, d->raw);
	if (write) {
		u64 v = kind == 1 ? src : kind == 2 ? (old | src) : (old & ~src);
		csr_write(c, csr, v);
	}
	c->x[d->rd] = old;
	return true;
}

bool rv_sret(struct rv_cpu *c, const struct rv_insn *d)
{
	struct rv_state *st = rv_st(c);
	if (c->priv == RV_PRIV_U)
		return rv_raise(c, RV_EXC_ILLEGAL, d->raw);
	u64 s = c->mstatus;
	c->priv = (s & SSTATUS_SPP) ? RV_PRIV_S : RV_PRIV_U;
	s &= ~(SSTATUS_SIE | SSTATUS_SPP);
	if (c->mstatus & SSTATUS_SPIE)
		s |= SSTATUS_SIE;
	s |= SSTATUS_SPIE;
	c->mstatus = s;
	c->pc = c->sepc;
	c->resv_valid = false;
	rv_update_view(c);
	st->irq_check = true;
	return true;
}
