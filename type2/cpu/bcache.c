/*
 * bcache.c - the type-2 emulator's decoded-block cache (layout and rules in
 * rv_internal.h): building a block from guest memory when the interpreter first runs a
 * pc, finding it again by guest-physical pc, the page directory that knows which pages
 * hold blocks, and dropping blocks when their page is written (or everything at once
 * when a fixed-size structure runs out). Straight runs of ALU instructions inside a new
 * block are marked RV_OP_HOT and go to the translator (jit.h) once they have run
 * rv_jit_hot times: code that runs a few times during boot is never translated.
 *
 * One cache per VM, shared by its vCPUs (rules in rv_internal.h). Memory is fixed per
 * VM: 16 bytes per arena slot (RV_ARENA_SLOTS, plus RV_ARENA_SLOTS_PER_CPU per further
 * vCPU), 4 bytes of hash per 8 slots and 16 bytes of page directory per 32 slots, plus
 * the translator's buffers (jit_x86.c), sized in proportion.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <duo/err.h>
#include "rv_internal.h"
#include "jit.h"

/* ---- the VM's shared code: registry, sizes, flushing ----------------------------------- */

u32 rv_code_slots;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rv_code *registry;

/* The code lock, taken only when the VM has more than one vCPU: members join and leave
 * only while none of the VM's vCPUs runs (rv_cpu_init/rv_cpu_destroy), so a lone vCPU
 * stays alone while it runs. */
static void code_lock(struct rv_code *k)
{
	if (k->nmembers > 1)
		pthread_mutex_lock(&k->lock);
}

static void code_unlock(struct rv_code *k)
{
	if (k->nmembers > 1)
		pthread_mutex_unlock(&k->lock);
}

static u32 pow2_at_least(u32 v)
{
	u32 p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

static void code_free(struct rv_code *k)
{
	if (!k)
		return;
	rv_jit_destroy(k->jit);
	free(k->arena);
	free(k->bhash);
	free(k->cpages);
	free(k->cpage_next);
	pthread_mutex_destroy(&k->lock);
	pthread_mutex_destroy(&k->flush_mu);
	free(k);
}

/* Empty everything; the caller made sure no vCPU is inside rv_exec. */
static void code_clear(struct rv_code *k)
{
	k->top = 0;
	memset(k->bhash, 0xff, (k->bhash_mask + 1) * sizeof(*k->bhash));
	for (u32 i = 0; i < k->cpage_sets * RV_CPAGE_WAYS; i++)
		k->cpages[i] = (struct rv_cpage){ .ppn = RV_CPAGE_NONE, .first = RV_NONE };
	/* No instruction refers to a translated run any more: start the code buffer over. */
	rv_jit_reset(k->jit);
	__atomic_store_n(&k->gen, k->gen + 1, __ATOMIC_RELEASE);
}

/* Sizes for a VM of ncpus vCPUs: RV_ARENA_SLOTS for the first, RV_ARENA_SLOTS_PER_CPU for
 * each further one (they share the kernel's code, so far less than a whole arena each);
 * one hash entry per 8 slots and a page record per 32 slots, as powers of two. */
static struct rv_code *code_new(const struct vm *vm)
{
	u32 ncpus = vm->nvcpus ? vm->nvcpus : 1;
	struct rv_code *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	u64 slots = RV_ARENA_SLOTS + (u64)RV_ARENA_SLOTS_PER_CPU * (ncpus - 1);
	k->slots = (u32)DUO_MIN(slots, (u64)RV_ARENA_SLOTS_MAX);
	if (rv_code_slots)
		k->slots = DUO_MAX(rv_code_slots, 2 * (RV_BLOCK_MAX + 2));
	k->bhash_mask = pow2_at_least(k->slots / 8) - 1;
	k->cpage_sets = pow2_at_least(k->slots / 32 / RV_CPAGE_WAYS);
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->flush_mu, NULL);
	k->arena = calloc(k->slots, sizeof(*k->arena));
	k->bhash = calloc(k->bhash_mask + 1, sizeof(*k->bhash));
	k->cpages = calloc(k->cpage_sets * RV_CPAGE_WAYS, sizeof(*k->cpages));
	k->cpage_next = calloc(k->cpage_sets, 1);
	if (!k->arena || !k->bhash || !k->cpages || !k->cpage_next) {
		code_free(k);
		return NULL;
	}
	k->jit = rv_jit_create(k->arena, k->slots);
	code_clear(k);
	return k;
}

int rv_code_join(struct rv_state *st, const struct vm *vm)
{
	struct rv_code *k;
	int r = 0;
	pthread_mutex_lock(&registry_mu);
	for (k = registry; k && k->vm != vm; k = k->next)
		;
	if (!k) {
		k = code_new(vm);
		if (!k) {
			r = DUO_ENOMEM;
			goto out;
		}
		k->next = registry;
		registry = k;
	}
	pthread_mutex_lock(&k->flush_mu);
	if (k->nmembers == PLAT_MAX_VCPUS) {
		pthread_mutex_unlock(&k->flush_mu);
		r = DUO_ENOMEM;
		goto out;
	}
	k->member[k->nmembers++] = st;
	pthread_mutex_unlock(&k->flush_mu);
	k->refs++;
	st->code = k;
	st->arena = k->arena;
	st->bhash = k->bhash;
	st->bhash_mask = k->bhash_mask;
	st->jit = k->jit;
out:
	pthread_mutex_unlock(&registry_mu);
	return r;
}

void rv_code_leave(struct rv_state *st)
{
	struct rv_code *k = st->code;
	if (!k)
		return;
	pthread_mutex_lock(&registry_mu);
	pthread_mutex_lock(&k->flush_mu);
	for (u32 i = 0; i < k->nmembers; i++)
		if (k->member[i] == st) {
			k->member[i] = k->member[--k->nmembers];
			break;
		}
	pthread_mutex_unlock(&k->flush_mu);
	if (--k->refs == 0) {
		if (getenv("DUO_CODE_STATS")) /* a probe for people tuning the sizes above */
			fprintf(stderr,
				"duovisor: code cache of %u slots: %llu blocks built, %llu flushes "
				"(arena full %llu, translator full %llu, fence.i %llu, remote "
				"fence.i %llu, reset %llu), hot shift %u\n",
				k->slots, (unsigned long long)k->builds, (unsigned long long)k->flushes,
				(unsigned long long)k->flushes_by[0], (unsigned long long)k->flushes_by[1],
				(unsigned long long)k->flushes_by[2], (unsigned long long)k->flushes_by[3],
				(unsigned long long)k->flushes_by[4], k->hot_shift);
		struct rv_code **pp = &registry;
		while (*pp != k)
			pp = &(*pp)->next;
		*pp = k->next;
		code_free(k);
	}
	pthread_mutex_unlock(&registry_mu);
	st->code = NULL;
	st->arena = NULL;
	st->bhash = NULL;
	st->jit = NULL;
}

void rv_code_enter(struct rv_state *st)
{
	struct rv_code *k = st->code;
	for (;;) {
		__atomic_store_n(&st->in_code, 1, __ATOMIC_SEQ_CST);
		if (likely(!__atomic_load_n(&k->flush_req, __ATOMIC_SEQ_CST)))
			return;
		/* A flush waits for us to stay out: let it run, then try again. */
		__atomic_store_n(&st->in_code, 0, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&k->flush_req, __ATOMIC_ACQUIRE))
			sched_yield();
	}
}

/*
 * rv_code_flush_if - the flush: raise flush_req (no vCPU enters rv_exec from then on),
 * wait until every other member is out of rv_exec (each leaves within a chunk: nothing
 * inside rv_exec waits for a flush), clear, let them go. `why` RV_FLUSH_JIT: the translator's buffer
 * filled, so runs must get hotter before they are translated (see rv_code.hot_shift: a
 * guest's I/O path once flushed 1286 times in one disk benchmark, 21 times with this).
 */
void rv_code_flush_if(struct rv_cpu *c, u32 gen, unsigned why)
{
	struct rv_state *st = rv_st(c);
	struct rv_code *k = st->code;
	pthread_mutex_lock(&k->flush_mu);
	if (__atomic_load_n(&k->gen, __ATOMIC_ACQUIRE) == gen) {
		__atomic_store_n(&k->flush_req, 1, __ATOMIC_SEQ_CST);
		for (u32 i = 0; i < k->nmembers; i++) {
			struct rv_state *m = k->member[i];
			for (unsigned spin = 0; m != st && __atomic_load_n(&m->in_code, __ATOMIC_SEQ_CST);
			     spin++)
				if (spin >= 64)
					sched_yield(); /* it may be waiting for this core */
		}
		pthread_mutex_lock(&k->lock);
		if ((why & RV_FLUSH_JIT) && k->hot_shift < RV_HOT_SHIFT_MAX)
			k->hot_shift++;
		code_clear(k);
		k->flushes++;
		for (unsigned w = 0; w < RV_FLUSH_KINDS; w++)
			if (why & (1U << w))
				k->flushes_by[w]++;
		pthread_mutex_unlock(&k->lock);
		__atomic_store_n(&k->flush_req, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&k->flush_mu);
	st->refetch = true;
}

void rv_code_flush(struct rv_cpu *c)
{
	rv_code_flush_if(c, __atomic_load_n(&rv_st(c)->code->gen, __ATOMIC_ACQUIRE), RV_FLUSH_RESET);
}

/* ---- blocks -------------------------------------------------------------------------------- */

static struct rv_cpage *cpage_set(struct rv_code *k, u64 ppn)
{
	return &k->cpages[(ppn & (k->cpage_sets - 1)) * RV_CPAGE_WAYS];
}

struct rv_cpage *rv_cpage_find(struct rv_code *k, u64 ppn)
{
	struct rv_cpage *set = cpage_set(k, ppn);
	for (unsigned w = 0; w < RV_CPAGE_WAYS; w++)
		if (__atomic_load_n(&set[w].ppn, __ATOMIC_RELAXED) == ppn)
			return &set[w];
	return NULL;
}

/* Drop every block of page p and free its record (code lock held). Links into those
 * blocks can only come from blocks of the same page (chaining never leaves a page), which
 * die too; this vCPU's interpreter, which may be inside one of them, translates pc again
 * (refetch); another one running there finishes the block it is in. */
static void kill_page(struct rv_state *st, struct rv_cpage *p)
{
	struct rv_code *k = st->code;
	for (u32 h = p->first; h != RV_NONE; h = k->arena[h].h.next) {
		u32 *b = &k->bhash[rv_bhash(k->arena[h].h.pa, k->bhash_mask)];
		for (unsigned w = 0; w < RV_BHASH_WAYS; w++)
			if (b[w] == h) {
				for (; w < RV_BHASH_WAYS - 1; w++)
					__atomic_store_n(&b[w], b[w + 1], __ATOMIC_RELEASE);
				__atomic_store_n(&b[RV_BHASH_WAYS - 1], RV_NONE, __ATOMIC_RELEASE);
				break;
			}
		__atomic_store_n(&k->arena[h + 1].i.op, RV_OP_STALE, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&p->ppn, RV_CPAGE_NONE, __ATOMIC_RELAXED);
	p->first = RV_NONE;
	st->refetch = true;
}

bool rv_code_written(struct rv_cpu *c, u64 pa, unsigned size)
{
	struct rv_state *st = rv_st(c);
	struct rv_code *k = st->code;
	(void)size;
	if (!rv_cpage_find(k, pa >> RV_PAGE_SHIFT))
		return false;
	code_lock(k);
	struct rv_cpage *p = rv_cpage_find(k, pa >> RV_PAGE_SHIFT);
	if (p)
		kill_page(st, p);
	code_unlock(k);
	return false;
}

/* Enter block h (at pa) as the newest of its hash bucket (code lock held). Readers take
 * no lock: every entry they may see is a whole block's header index or RV_NONE. */
static void bhash_insert(struct rv_code *k, u64 pa, u32 h)
{
	u32 *b = &k->bhash[rv_bhash(pa, k->bhash_mask)];
	for (unsigned w = RV_BHASH_WAYS - 1; w > 0; w--)
		__atomic_store_n(&b[w], b[w - 1], __ATOMIC_RELEASE);
	__atomic_store_n(&b[0], h, __ATOMIC_RELEASE);
}

const struct rv_insn *rv_find_block_slow(struct rv_state *st, u64 pa)
{
	u32 *b = &st->bhash[rv_bhash(pa, st->bhash_mask)];
	for (unsigned w = 1; w < RV_BHASH_WAYS; w++) {
		u32 h = __atomic_load_n(&b[w], __ATOMIC_ACQUIRE);
		if (h != RV_NONE && st->arena[h].h.pa == pa) {
			/* newest first, when nobody else is changing the table */
			struct rv_code *k = st->code;
			bool alone = k->nmembers == 1;
			if (alone || pthread_mutex_trylock(&k->lock) == 0) {
				if (b[w] == h) {
					for (; w > 0; w--)
						__atomic_store_n(&b[w], b[w - 1], __ATOMIC_RELEASE);
					__atomic_store_n(&b[0], h, __ATOMIC_RELEASE);
				}
				if (!alone)
					pthread_mutex_unlock(&k->lock);
			}
			return &st->arena[h + 1].i;
		}
	}
	return NULL;
}

/* Make pa's write-TLB entries of this vCPU take the slow path, which notices code
 * changes. Other vCPUs' entries filled before the page held code stay as they are:
 * their stores into it count on fence.i, as RISC-V says they must. */
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
 * victim's blocks) when it has none. Code lock held. */
static struct rv_cpage *cpage_claim(struct rv_state *st, u64 ppn)
{
	struct rv_code *k = st->code;
	struct rv_cpage *p = rv_cpage_find(k, ppn);
	if (p)
		return p;
	struct rv_cpage *set = cpage_set(k, ppn);
	unsigned w;
	for (w = 0; w < RV_CPAGE_WAYS && set[w].ppn != RV_CPAGE_NONE; w++)
		;
	if (w == RV_CPAGE_WAYS) {
		u8 *next = &k->cpage_next[ppn & (k->cpage_sets - 1)];
		w = *next;
		*next = (u8)((w + 1) % RV_CPAGE_WAYS);
		kill_page(st, &set[w]);
	}
	p = &set[w];
	__atomic_store_n(&p->ppn, ppn, __ATOMIC_RELAXED);
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

/* A run of at least RV_JIT_MIN translatable instructions from ins[0] on (or one less and
 * a jalr): it gets an RV_OP_HOT (see rv_insn) on its first instruction that may carry one
 * (rv_jit_can_start: not FP ones, whose `raw` and `aux` are their operands, nor branches,
 * whose `raw` is their chain), with the distance back to ins[0] in bits 24.. of its
 * counter. The op goes last: a vCPU running the slot meanwhile sees it whole, either way. */
static void mark_hot(struct rv_insn *ins)
{
	struct rv_insn *h = ins;
	while (rv_jit_can(h) && !rv_jit_can_start(h))
		h++;
	unsigned n = 0;
	while (n < RV_JIT_MIN && rv_jit_can(&ins[n]))
		n++;
	if (n < RV_JIT_MIN && n + 2 >= RV_JIT_MIN && ins[n].op == RV_OP_JALR)
		n = RV_JIT_MIN; /* with its final jalr, one less will do (rv_jit_build) */
	if (n == RV_JIT_MIN && rv_jit_can_start(h)) {
		h->aux = h->op;
		__atomic_store_n(&h->raw, (u32)(h - ins) << 24, __ATOMIC_RELAXED);
		__atomic_store_n(&h->op, RV_OP_HOT, __ATOMIC_RELEASE);
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

/* FP arithmetic keeps its operands in `raw` and `aux`: such a slot never becomes a run's
 * RV_OP_BLOCK while other vCPUs may be running it. */
static bool fp_operands(u8 op)
{
	return op == RV_OP_FP || (op >= RV_OP_FADD_D && op <= RV_OP_FNMADD_D);
}

/* The instruction in slot p as decoded: an RV_OP_HOT or RV_OP_BLOCK keeps its own op in
 * `aux` (code lock held). */
static struct rv_insn as_decoded(const struct rv_insn *p)
{
	struct rv_insn d = *p;
	if (d.op == RV_OP_HOT || d.op == RV_OP_BLOCK)
		d.op = d.aux;
	return d;
}

/*
 * The run the translator gets from slot `start` on (code lock held): copies of the
 * instructions in run[], and in idx[] the arena slot of each and of the one after the
 * last. It stops at an instruction the translator does not take, at RV_JIT_MAX, and at
 * its block's END - unless the block ends in a conditional branch and the END is linked
 * (to a live block in the same page, rv_internal.h): then it goes on with that block, the
 * way execution goes when the branch is not taken. A jalr where it stops ends it. Only the
 * first slot of a block that follows may be an RV_OP_HOT or RV_OP_BLOCK (its own run; the
 * copy has its op back).
 */
static unsigned gather_run(struct rv_code *k, const struct rv_insn *p, struct rv_insn *run,
			   u32 *idx)
{
	const struct rv_insn *head = p; /* the current block's first slot of the run */
	unsigned n = 0;
	for (;;) {
		while (n < RV_JIT_MAX) {
			struct rv_insn d = p == head ? as_decoded(p) : *p;
			if (!rv_jit_can(&d))
				break;
			run[n] = d;
			idx[n++] = (u32)((const union rv_slot *)p - k->arena);
			p++;
		}
		idx[n] = (u32)((const union rv_slot *)p - k->arena);
		if (n && n < RV_JIT_MAX && p->op == RV_OP_JALR) { /* it ends the run (jit.h) */
			run[n++] = *p;
			idx[n] = idx[n - 1] + 1;
			return n;
		}
		if (n == RV_JIT_MAX || n == 0 || run[n - 1].op < RV_OP_BEQ ||
		    run[n - 1].op > RV_OP_BGEU || p->op != RV_OP_END || p->off >= RV_PAGE_SIZE)
			return n;
		u32 to = __atomic_load_n(&p->raw, __ATOMIC_ACQUIRE);
		if (to == RV_TGT_NONE ||
		    __atomic_load_n(&k->arena[to].i.op, __ATOMIC_RELAXED) == RV_OP_STALE)
			return n;
		p = head = &k->arena[to].i; /* further on in the page: no cycle */
	}
}

void rv_translate_hot(struct rv_state *st, struct rv_insn *ip)
{
	struct rv_code *k = st->code;
	bool full = false;
	code_lock(k);
	u32 count = __atomic_load_n(&ip->raw, __ATOMIC_RELAXED);
	if (__atomic_load_n(&ip->op, __ATOMIC_RELAXED) != RV_OP_HOT || (count & RV_JIT_ID)) {
		code_unlock(k); /* another vCPU got here first */
		return;
	}
	struct rv_insn *start = ip - (count >> 24);
	while (start < ip && fp_operands(start->op))
		start++;
	__atomic_store_n(&ip->op, ip->aux, __ATOMIC_RELEASE);
	struct rv_insn run[RV_JIT_MAX];
	u32 idx[RV_JIT_MAX + 1];
	unsigned n = gather_run(k, start, run, idx);
	unsigned first = 1; /* positions in start's own block */
	while (first < n && idx[first] == idx[0] + first)
		first++;
	int id = rv_jit_build(k->jit, run, idx, n, &full);
	if (id < 0) {
		if (full) {
			/* everything is flushed before this vCPU's next chunk */
			st->flush_why |= RV_FLUSH_JIT;
			st->flush_gen = k->gen;
		} else if (rv_jit_can(&start[1])) {
			mark_hot(&start[1]); /* too many registers right here: try from the next */
		}
		code_unlock(k);
		return;
	}
	unsigned kk = rv_jit_block(k->jit, (u32)id)->n;
	if (kk < first && rv_jit_can(&start[kk]))
		mark_hot(&start[kk]); /* what the translator did not take */
	/* The run's first slot enters it: its own op goes to `aux`, its `raw` is the block's
	 * (for an FP load or store, exec.c decodes it again when it must run it alone). */
	start->aux = start->op;
	__atomic_store_n(&start->raw, (u32)id | RV_JIT_ID, __ATOMIC_RELAXED);
	__atomic_store_n(&start->op, RV_OP_BLOCK, __ATOMIC_RELEASE);
	code_unlock(k);
}

/* The block at pa, if the hash has it and it is alive (code lock held). */
static const struct rv_insn *find_live(struct rv_code *k, u64 pa)
{
	const u32 *b = &k->bhash[rv_bhash(pa, k->bhash_mask)];
	for (unsigned w = 0; w < RV_BHASH_WAYS; w++)
		if (b[w] != RV_NONE && k->arena[b[w]].h.pa == pa &&
		    k->arena[b[w] + 1].i.op != RV_OP_STALE)
			return &k->arena[b[w] + 1].i;
	return NULL;
}

/* Decode the block at guest-physical pa (page bytes at `page`) into the arena. NULL: the
 * arena is full (st->flush_why says so). */
static const struct rv_insn *build_block(struct rv_cpu *c, u64 pa, const u8 *page)
{
	struct rv_state *st = rv_st(c);
	struct rv_code *k = st->code;
	code_lock(k);
	const struct rv_insn *t = find_live(k, pa); /* another vCPU was quicker */
	if (t) {
		code_unlock(k);
		return t;
	}
	if (k->top + RV_BLOCK_MAX + 2 > k->slots) {
		st->flush_why |= RV_FLUSH_FULL;
		st->flush_gen = k->gen;
		code_unlock(k);
		return NULL;
	}
	struct rv_cpage *p = cpage_claim(st, pa >> RV_PAGE_SHIFT);
	u32 h = k->top;
	struct rv_insn *ins = &k->arena[h + 1].i;
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
	if (k->jit) /* runs stop at the END slot or a flow-ending (jal/jalr/trap) one */
		mark_runs(ins, n);
	k->arena[h].h = (struct rv_bhdr){ .pa = pa, .next = p->first, .n = n };
	p->first = h;
	k->top = h + 1 + n + end;
	k->builds++;
	bhash_insert(k, pa, h); /* published: other vCPUs may run it from now on */
	code_unlock(k);
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
	if (t && __atomic_load_n(&t->op, __ATOMIC_RELAXED) != RV_OP_STALE)
		return t;
	return build_block(c, pa, (const u8 *)(uintptr_t)((pc & RV_PAGE_MASK) + e->addend));
}
