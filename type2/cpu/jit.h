/*
 * jit.h - the emulator's block translator (jit_x86.c), private to type2/cpu: runs of
 * integer instructions, loads, stores, FP loads/stores, fadd/fsub/fmul/fdiv.d, the fused
 * f[n]madd/f[n]msub.d and conditional branches that have run rv_jit_hot times become
 * x86-64 code that keeps guest integer registers in host registers. A run starts inside
 * one decoded block (rv_internal.h) and, through a conditional branch that ends the block
 * and its END's link, may go on into the blocks that follow it in the same page (the
 * branch not taken). A run may end with a jalr, which goes on into the translated run
 * it predicts (the interpreter's jalr check), in any page.
 * The interpreter (exec.c) enters a translated run through an RV_OP_BLOCK slot and
 * carries on after it; everything else stays interpreted. Translations belong to the
 * VM: all its vCPUs run them; rv_jit_build and rv_jit_reset are called under the VM's
 * code lock (bcache.c).
 */
#ifndef DUO_TYPE2_JIT_H
#define DUO_TYPE2_JIT_H

#include <duo/types.h>

struct rv_insn;
struct rv_state;

#define RV_JIT_MIN 3 /* shorter runs are not worth a call (but see rv_jit_build) */
#define RV_JIT_MAX 48 /* instructions per block */
#define RV_JIT_HOT 16 /* executions of a run before it is translated (rv_jit_hot) */

/* A translated run: its code, at `code` bytes into the VM's code buffer, executes the
 * run's first n instructions (rv_jit_call). */
struct rv_jblock {
	u32 code;
	u32 n;
};

struct rv_jit;

/* Tests set this before creating vCPUs to compare against the plain interpreter. */
extern bool rv_jit_off;
/* Executions of a run before it is translated: RV_JIT_HOT; tests lower it to translate
 * code they run only once or twice. */
extern unsigned rv_jit_hot;

union rv_slot;
/* rv_jit_create - a translator for the decoded-block arena `arena` of `slots` slots (its
 * buffers are sized in proportion; its code reads the links there to go from one
 * translated run to the next), or NULL (no JIT on this host, DUO_NOJIT set, rv_jit_off,
 * or no executable memory): the interpreter then runs everything. */
struct rv_jit *rv_jit_create(const union rv_slot *arena, u32 slots);
void rv_jit_destroy(struct rv_jit *j);

/* rv_jit_can - d is an instruction the translator handles. */
bool rv_jit_can(const struct rv_insn *d);
/* rv_jit_can_start - d may carry a run's RV_OP_HOT (its `raw` and `aux` taken while it
 * counts): not FP instructions (operands in `raw`/`aux`) nor branches (chain in `raw`). */
bool rv_jit_can_start(const struct rv_insn *d);

/*
 * rv_jit_build - translate the run slots[0..n) (copies of decoded instructions, all
 * rv_jit_can, consecutive in one page, slots[k].off set; only conditional branches may be
 * followed by an instruction of another decoded block; a jalr, not rv_jit_can, only
 * last). idx[k] (k <= n) is the arena slot the interpreter goes on with when the run
 * stops before position k (idx[n]: after the last one). It may take fewer than n when the run needs
 * more host registers than it may use (the block records how many). Returns the block id for the
 * first slot's RV_OP_BLOCK, or -1: fewer than RV_JIT_MIN fit (one less when a jalr ends the run),
 * or the code buffer is full (*full set: flush all code - rv_code_flush - before building again).
 */
int rv_jit_build(struct rv_jit *j, const struct rv_insn *slots, const u32 *idx, unsigned n,
		 bool *full);
/* rv_jit_block - block `id`; the blocks are one array, fixed for the translator's life. */
const struct rv_jblock *rv_jit_block(const struct rv_jit *j, u32 id);
/* rv_jit_code - the code buffer's base (fixed for the translator's life). */
const u8 *rv_jit_code(const struct rv_jit *j);
/* What a translated block returns: `left` instructions of the budget remain, and it
 * stopped before arena slot `k` (not executed: the interpreter carries on with it; the
 * block's own first slot when it ran nothing), or, with RV_JIT_TAKEN, after the branch in
 * slot k was taken (executed and counted: the interpreter goes to its target). */
struct rv_jret {
	s64 left;
	u64 k;
};
#define RV_JIT_TAKEN 0x80000000U
struct rv_tlb_set;
/* The page the code runs in: its virtual address and the guest-physical page behind it.
 * A run ending in a jalr may go on into a run of another page; it leaves that page here. */
struct rv_jpage {
	u64 va, pa;
};
/*
 * rv_jit_call - run block b (code buffer at base) on guest registers x, in page *pg,
 * TLB view tlb, with a budget of `left` >= b->n instructions. Loads and stores that hit
 * the TLB on RAM run in the block; any other access stops it before that instruction.
 * A block ending in a branch back to its own start loops while the budget holds a pass.
 * On return *pg is the page of the slot it stopped at.
 */
static inline struct rv_jret rv_jit_call(const u8 *base, const struct rv_jblock *b, u64 *x,
					 struct rv_jpage *pg, s64 left, struct rv_tlb_set *tlb)
{
	return ((struct rv_jret(*)(u64 *, struct rv_jpage *, s64, struct rv_tlb_set *))(
		const void *)(base + b->code))(x, pg, left, tlb);
}
/* rv_jit_reset - forget every block (after all decoded pages were dropped). */
void rv_jit_reset(struct rv_jit *j);
/* rv_jit_limit - tests: pretend the code buffer holds only `bytes`. */
void rv_jit_limit(struct rv_jit *j, size_t bytes);

#endif
