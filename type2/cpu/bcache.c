/*
 * bcache.c - the type-2 emulator's decoded-block cache (layout and rules in
 * rv_internal.h): building a block from guest memory when the interpreter first runs a
 * pc, finding it again by guest-physical pc, the page directory that knows which pages
 * hold blocks, and dropping blocks when their page is written (or everything at once
 * when a fixed-size structure runs out). Straight runs of ALU instructions inside a new
 * block are marked RV_OP_HOT and go to the translator (jit.h) once they have run
 * rv_jit_hot times: code that runs a few times during boot is never translated.
 *
 * Memory is fixed per vCPU: RV_ARENA_SLOTS * 16 bytes of decoded code, RV_BHASH_SIZE * 4
 * bytes of hash, RV_CPAGE_SETS * RV_CPAGE_WAYS * 16 bytes of page directory.
 */
#include <stdlib.h>

#include <duo/err.h>
#include "rv_internal.h"
#include "jit.h"

int rv_bcache_init(struct rv_state *st)
{
	st->arena = calloc(RV_ARENA_SLOTS, sizeof(*st->arena));
	st->bhash = calloc(RV_BHASH_SIZE, sizeof(*st->bhash));
	st->cpages = calloc(RV_CPAGE_SETS * RV_CPAGE_WAYS, sizeof(*st->cpages));
	if (!st->arena || !st->bhash || !st->cpages) {
		rv_bcache_free(st);
		return DUO_ENOMEM;
	}
	return 0;
}

void rv_bcache_free(struct rv_state *st)
{
	free(st->arena);
	free(st->bhash);
	free(st->cpages);
	st->arena = NULL;
	st->bhash = NULL;
	st->cpages = NULL;
}

static struct rv_cpage *cpage_set(struct rv_state *st, u64 ppn)
{
	return &st->cpages[(ppn & (RV_CPAGE_SETS - 1)) * RV_CPAGE_WAYS];
}

struct rv_cpage *rv_cpage_find(struct rv_state *st, u64 ppn)
{
	struct rv_cpage *set = cpage_set(st, ppn);
	for (unsigned w = 0; w < RV_CPAGE_WAYS; w++)
		if (set[w].ppn == ppn)
			return &set[w];
	return NULL;
}

/* Drop every block of page p and free its record. Links into those blocks can only come
 * from blocks of the same page (chaining never leaves a page), which die too; the
 * interpreter, which may be inside one of them, translates pc again (refetch). */
static void kill_page(struct rv_state *st, struct rv_cpage *p)
{
	for (u32 h = p->first; h != RV_NONE; h = st->arena[h].h.next) {
		u32 *b = &st->bhash[RV_BHASH(st->arena[h].h.pa)];
		for (unsigned w = 0; w < RV_BHASH_WAYS; w++)
			if (b[w] == h) {
				memmove(b + w, b + w + 1, (RV_BHASH_WAYS - 1 - w) * sizeof(*b));
				b[RV_BHASH_WAYS - 1] = RV_NONE;
				break;
			}
		st->arena[h + 1].i.op = RV_OP_STALE;
	}
	p->ppn = RV_CPAGE_NONE;
	p->first = RV_NONE;
	st->refetch = true;
}

void rv_code_flush(struct rv_cpu *c)
{
	struct rv_state *st = rv_st(c);
	st->arena_top = 0;
	memset(st->bhash, 0xff, RV_BHASH_SIZE * sizeof(*st->bhash));
	for (unsigned i = 0; i < RV_CPAGE_SETS * RV_CPAGE_WAYS; i++)
		st->cpages[i] = (struct rv_cpage){ .ppn = RV_CPAGE_NONE, .first = RV_NONE };
	/* No instruction refers to a translated run any more: start the code buffer over. */
	rv_jit_reset(st->jit);
	st->jit_full = false;
	st->refetch = true;
	st->code_gen++;
}

bool rv_code_written(struct rv_cpu *c, u64 pa, unsigned size)
{
	struct rv_state *st = rv_st(c);
	struct rv_cpage *p = rv_cpage_find(st, pa >> RV_PAGE_SHIFT);
	(void)size;
	if (p)
		kill_page(st, p);
	return false;
}

/* Enter block h (at pa) as the newest of its hash bucket. */
static void bhash_insert(struct rv_state *st, u64 pa, u32 h)
{
	u32 *b = &st->bhash[RV_BHASH(pa)];
	memmove(b + 1, b, (RV_BHASH_WAYS - 1) * sizeof(*b));
	b[0] = h;
}

const struct rv_insn *rv_find_block_slow(struct rv_state *st, u64 pa)
{
	u32 *b = &st->bhash[RV_BHASH(pa)];
	for (unsigned w = 1; w < RV_BHASH_WAYS; w++) {
		u32 h = b[w];
		if (h != RV_NONE && st->arena[h].h.pa == pa) {
			memmove(b + 1, b, w * sizeof(*b)); /* newest first */
			b[0] = h;
			return &st->arena[h + 1].i;
		}
	}
	return NULL;
}

/* Make pa's write-TLB entries take the slow path, which notices code changes. */
static void mark_code_page(struct rv_state *st, u64 pa)
{
	for (int s = 0; s < RV_NTLBSET; s++) {
		struct rv_tlb_entry *w = st->tlb[s].e[RV_ACC_W];
		for (unsigned i = 0; i < RV_TLB_SIZE; i++)
			if (w[i].pa == pa && !(w[i].tag & (RV_TLB_INVALID | RV_TLB_MMIO)))
				w[i].tag |= RV_TLB_CODE;
	}
}

/* The record of page ppn, claiming one (round robin within the set, killing the
 * victim's blocks) when it has none. */
static struct rv_cpage *cpage_claim(struct rv_state *st, u64 ppn)
{
	struct rv_cpage *p = rv_cpage_find(st, ppn);
	if (p)
		return p;
	struct rv_cpage *set = cpage_set(st, ppn);
	unsigned w;
	for (w = 0; w < RV_CPAGE_WAYS && set[w].ppn != RV_CPAGE_NONE; w++)
		;
	if (w == RV_CPAGE_WAYS) {
		u8 *next = &st->cpage_next[ppn & (RV_CPAGE_SETS - 1)];
		w = *next;
		*next = (u8)((w + 1) % RV_CPAGE_WAYS);
		kill_page(st, &set[w]);
	}
	p = &set[w];
	p->ppn = ppn;
	mark_code_page(st, ppn << RV_PAGE_SHIFT);
	return p;
}

/* Instructions after which nothing runs in sequence: the interpreter always leaves the
 * block there (a jump, a trap, or an exit to the caller that comes back through a
 * lookup), so such a block needs no END. */
static bool ends_flow(u8 op)
{
	switch (op) {
	case RV_OP_JAL:
	case RV_OP_JALR:
	case RV_OP_ECALL:
	case RV_OP_EBREAK:
	case RV_OP_SRET:
	case RV_OP_WFI:
	case RV_OP_ILLEGAL:
	case RV_OP_CROSS:
		return true;
	}
	return false;
}

bool rv_is_direct(u8 op)
{
	return (op >= RV_OP_BEQ && op <= RV_OP_BGEU) || op == RV_OP_JAL;
}

/* A run of at least RV_JIT_MIN translatable instructions from ins[0] on: it gets an
 * RV_OP_HOT (see rv_insn) on its first instruction that may carry one (rv_jit_can_start:
 * not FP ones, whose `raw` and `aux` are their operands, nor branches, whose `raw` is
 * their chain), with the distance back to ins[0] in bits 24.. of its counter. */
#define RV_HOT_COUNT 0xffffffU
static void mark_hot(struct rv_insn *ins)
{
	struct rv_insn *h = ins;
	while (rv_jit_can(h) && !rv_jit_can_start(h))
		h++;
	unsigned n = 0;
	while (n < RV_JIT_MIN && rv_jit_can(&ins[n]))
		n++;
	if (n == RV_JIT_MIN && rv_jit_can_start(h)) {
		h->aux = h->op;
		h->op = RV_OP_HOT;
		h->raw = (u32)(h - ins) << 24;
	}
}

/* Mark the start of every run in a new block of n instructions. */
static void mark_runs(struct rv_insn *ins, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		if (!rv_jit_can(&ins[i])) {
			i++;
			continue;
		}
		unsigned start = i;
		while (i < n && rv_jit_can(&ins[i]))
			i++;
		mark_hot(&ins[start]); /* after the scan: an RV_OP_HOT is not translatable */
	}
}

void rv_translate_hot(struct rv_state *st, struct rv_insn *ip)
{
	bool full = false;
	unsigned n = 1;
	struct rv_insn *start = ip - (ip->raw >> 24);
	ip->op = ip->aux;
	while (n < RV_JIT_MAX && rv_jit_can(&start[n])) /* the block's END stops it */
		n++;
	int id = rv_jit_build(st->jit, start, n, &full);
	if (id < 0) {
		if (full)
			st->jit_full = true; /* everything is flushed at the next chunk */
		else if (rv_jit_can(&start[1]))
			mark_hot(&start[1]); /* too many registers right here: try from the next */
		return;
	}
	unsigned k = rv_jit_block(st->jit, (u32)id)->n;
	if (rv_jit_can(&start[k]))
		mark_hot(&start[k]); /* what the translator did not take */
	/* The run's first slot enters it: its own op goes to `aux`, its `raw` is the block's
	 * (for an FP instruction, exec.c decodes it again when it must run it alone). */
	start->aux = start->op;
	start->raw = (u32)id;
	start->op = RV_OP_BLOCK;
}

/* Decode the block at guest-physical pa (page bytes at `page`) into the arena. */
static const struct rv_insn *build_block(struct rv_cpu *c, u64 pa, const u8 *page)
{
	struct rv_state *st = rv_st(c);
	if (st->arena_top + RV_BLOCK_MAX + 2 > RV_ARENA_SLOTS)
		rv_code_flush(c);
	struct rv_cpage *p = cpage_claim(st, pa >> RV_PAGE_SHIFT);
	u32 h = st->arena_top;
	struct rv_insn *ins = &st->arena[h + 1].i;
	unsigned n = 0, pos = (unsigned)(pa & ~RV_PAGE_MASK);
	while (n < RV_BLOCK_MAX && pos < RV_PAGE_SIZE) {
		struct rv_insn *d = &ins[n];
		u16 lo;
		memcpy(&lo, page + pos, 2);
		if ((lo & 3) != 3) {
			rv_decode16(lo, d);
		} else if (pos == RV_PAGE_SIZE - 2) {
			/* the other half is on the next page: fetched on every execution */
			*d = (struct rv_insn){ .op = RV_OP_CROSS, .len = 4 };
		} else {
			u32 raw;
			memcpy(&raw, page + pos, 4);
			rv_decode32(raw, d);
		}
		d->off = (u16)pos;
		if (rv_is_direct(d->op) || d->op == RV_OP_JALR)
			d->raw = RV_TGT_NONE;
		n++;
		pos += d->len;
		if (ends_flow(d->op) || (d->op >= RV_OP_BEQ && d->op <= RV_OP_BGEU))
			break; /* basic blocks: a branch's both ways are chained */
	}
	bool end = !ends_flow(ins[n - 1].op);
	if (end)
		ins[n] = (struct rv_insn){ .op = RV_OP_END, .off = (u16)pos, .raw = RV_TGT_NONE };
	st->arena[h].h = (struct rv_bhdr){ .pa = pa, .next = p->first, .n = n };
	p->first = h;
	st->arena_top = h + 1 + n + end;
	bhash_insert(st, pa, h);
	if (st->jit) /* runs stop at the END slot or a flow-ending (jal/jalr/trap) one */
		mark_runs(ins, n);
	return ins;
}

const struct rv_insn *rv_fetch_block(struct rv_cpu *c, u64 pc)
{
	struct rv_state *st = rv_st(c);
	struct rv_tlb_entry *e = rv_tlb_lookup(c, pc, RV_ACC_X);
	if (!e)
		return NULL;
	if (e->tag & RV_TLB_MMIO) {
		rv_raise(c, RV_EXC_INSN_ACCESS, pc);
		return NULL;
	}
	u64 pa = e->pa | (pc & ~RV_PAGE_MASK);
	st->code_pa = e->pa;
	const struct rv_insn *t = rv_find_block(st, pa);
	if (t)
		return t;
	return build_block(c, pa, (const u8 *)(uintptr_t)((pc & RV_PAGE_MASK) + e->addend));
}
