/*
 * rv_internal.h - the RV64GC emulator's private declarations, shared by the files of
 * type2/cpu/ and nothing else: the internal instruction form every encoding (32-bit
 * and RVC) decodes to, the decoded-block cache, the software TLB, CSR bit names, and the
 * memory-access fast paths the interpreter inlines.
 *
 * Layout of the emulator:
 *   cpu.c        init/reset, rv_cpu_run's outer loop, interrupts and trap entry
 *   exec.c       the interpreter (threaded dispatch over decoded blocks)
 *   decode.c     32-bit decoder          decode_rvc.c  compressed decoder
 *   mmu.c        Sv39/48/57 walk, TLB fill/flush, slow loads/stores/fetches
 *   bcache.c     the decoded-block cache: build, find, invalidate, flush
 *   csr.c        CSR file, sret, sfence.vma
 *   amo.c        LR/SC and AMOs
 *   fpu.c        F/D instruction semantics   softfloat*.c  IEEE 754 arithmetic
 */
#ifndef DUO_TYPE2_RV_INTERNAL_H
#define DUO_TYPE2_RV_INTERNAL_H

#include <pthread.h>
#include <string.h>

#include <duo/types.h>
#include <duo/vm.h>
#include "cpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- internal instruction form ----------------------------------------------------- */

/* Every operation the interpreter knows; RVC instructions expand to the same ops. */
/* clang-format off */
#define RV_OPS(X)                                                                           \
	X(STALE) X(CROSS) X(END) X(BLOCK) X(HOT) X(ILLEGAL) X(NOP) X(LI) X(MV)              \
	X(LUI) X(AUIPC) X(JAL) X(JALR)                                                       \
	X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU)                                          \
	X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU)                                         \
	X(SB) X(SH) X(SW) X(SD)                                                              \
	X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI)              \
	X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND)                \
	X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW) X(ADDW) X(SUBW) X(SLLW) X(SRLW) X(SRAW)          \
	X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU)                      \
	X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW)                                            \
	X(FENCE) X(FENCE_I) X(ECALL) X(EBREAK) X(SRET) X(WFI) X(SFENCE_VMA) X(CSR)           \
	X(LR_W) X(SC_W) X(AMO_W) X(LR_D) X(SC_D) X(AMO_D)                                    \
	X(FLW) X(FLD) X(FSW) X(FSD) X(FP)                                                    \
	X(FADD_D) X(FSUB_D) X(FMUL_D) X(FDIV_D)                                              \
	X(FMADD_D) X(FMSUB_D) X(FNMSUB_D) X(FNMADD_D)                                        \
	X(SH1ADD) X(SH2ADD) X(SH3ADD) X(ADD_UW) X(SH1ADD_UW) X(SH2ADD_UW) X(SH3ADD_UW)       \
	X(SLLI_UW) X(ANDN) X(ORN) X(XNOR) X(CLZ) X(CLZW) X(CTZ) X(CTZW) X(CPOP) X(CPOPW)     \
	X(MAX) X(MAXU) X(MIN) X(MINU) X(SEXT_B) X(SEXT_H) X(ZEXT_H) X(ROL) X(ROLW) X(ROR)    \
	X(RORW) X(RORI) X(RORIW) X(ORC_B) X(REV8)
/* clang-format on */

#define RV_OP_ENUM(n) RV_OP_##n,
enum rv_op { RV_OPS(RV_OP_ENUM) RV_NOPS };

/*
 * One decoded instruction. `raw` is the original encoding (16-bit for RVC): stval of an
 * illegal-instruction trap, and the operand source for FP ops; for direct branches and
 * jal it is replaced by the chained target (below), for jalr by its prediction: the
 * header index of the block it jumped to last (RV_TGT_NONE before), used while the
 * current TLB view still maps the target's page to that block's physical page. `aux` is the AMO funct5, the CSR
 * funct3, or the FP rounding-mode field. `off` is the instruction's offset in its page
 * (up to 0x1002 for a block's END). An RV_OP_BLOCK instruction starts a translated run
 * (jit.h): `raw` is the run's id | RV_JIT_ID and `aux` the instruction's own op, the
 * other fields are its own instruction's. An RV_OP_HOT instruction marks a run the
 * translator could take: `aux` is its own op and `raw` counts its executions up to
 * rv_jit_hot (bits 0..23; bits 24..29 are how many slots before it the run starts: FP
 * instructions and branches never carry the mark, bcache.c).
 */
struct rv_insn {
	u8 op;
	u8 rd, rs1, rs2;
	u8 len; /* 2 or 4 */
	u8 aux;
	u16 off;
	s32 imm;
	u32 raw;
};
#define RV_TGT_NONE 0xffffffffU
#define RV_JIT_ID 0x80000000U /* in an RV_OP_BLOCK's raw: never in an RV_OP_HOT count */
#define RV_HOT_COUNT 0xffffffU

/* rv_decode32/rv_decode16 - fill *d from an encoding; unknown ones become RV_OP_ILLEGAL. */
void rv_decode32(u32 raw, struct rv_insn *d);
void rv_decode16(u16 raw, struct rv_insn *d);

/* ---- decoded-block cache -------------------------------------------------------------
 *
 * Decoded code lives in one bump-allocated array of 16-byte slots per VM (the code
 * arena, struct rv_code), shared by the VM's vCPUs, which mostly run the same kernel and
 * the same programs: a block one vCPU decoded or translated serves them all. Blocks: a
 * header slot (struct rv_bhdr), then the instructions decoded from one guest-physical
 * address up to and including the first branch, jump or trap-like instruction, or
 * RV_BLOCK_MAX of them, or the end of the page; then, unless the last one never falls
 * through (jal, jalr, ecall, sret, ...), an RV_OP_END slot whose `off` is where execution
 * continues. Blocks never leave their page. Only code that runs is decoded, 16 bytes per
 * instruction plus one or two slots per block.
 *
 * Chaining: a direct branch, jal or END whose target lies in the same page keeps, once it
 * has been taken, the arena index of the target block's first instruction in `raw`
 * (RV_TGT_NONE before). A jalr keeps its last target's header index, in any page, and
 * checks it against the execute TLB entry each time (exec.c). Blocks die a page at a time
 * (the page was written, or its page record was evicted): their first instruction becomes
 * RV_OP_STALE, which looks the pc up again, and as links never leave a page, no live block
 * links to a dead one. Blocks are found by guest-physical pc through a set-associative
 * hash of header indices, and per page through a set-associative page directory (for
 * stores into code and the TLB's RV_TLB_CODE marks). When the arena or the translator's
 * buffer is full, and on fence.i or a remote code fence, everything is dropped at once
 * (rv_code_flush) and decoded again as it runs: memory is fixed by the sizes below. A
 * block is the unit a faster tier would translate whole; the interpreter only needs its
 * first instruction's address.
 *
 * Sharing between the vCPU threads (bcache.c has the details):
 *  - A slot, once published, stays where it is until a flush: a vCPU may run a block
 *    another one just killed (stale code is what RISC-V allows until fence.i).
 *  - Building, killing and translating take the VM's code lock; lookups take no lock
 *    (hash entries and links are single u32 stores of blocks already built).
 *  - A flush happens only while no vCPU is inside rv_exec (rv_code_flush waits for the
 *    others to finish their chunk; rv_code_enter holds them off meanwhile). A vCPU that
 *    needs one from inside rv_exec (full arena, fence.i) leaves its chunk and flushes in
 *    rv_cpu_run.
 *  - Slots that change while others may run them: links and jalr predictions (`raw`, one
 *    atomic store), RV_OP_STALE (`op`), and the RV_OP_HOT -> RV_OP_BLOCK transition
 *    (`raw` counts by compare-exchange; a translated id carries RV_JIT_ID so a count can
 *    never be mistaken for one).
 *  - A translated run may cover several blocks of one page: from its RV_OP_BLOCK slot
 *    through a final conditional branch's END into the block the END links to (built
 *    from copies of the slots under the code lock, bcache.c gather_run), and leaves to
 *    the interpreter at slots of any of them. That needs no more: the run is entered only
 *    at its first slot, links never leave a page and a page's blocks die together, and a
 *    vCPU still inside the code of a dead run runs stale code, as above.
 *  - Translated code reads the arena too, without the lock, exactly as the interpreter
 *    does where it chains: after a taken branch or at an END it loads the link (`raw`,
 *    one 4-byte load), then the target's `op` and, for an RV_OP_BLOCK, its `raw` (the id
 *    was stored before the op), and goes on in that run's code (jit_x86.c emit_chain).
 *    A run may end with a jalr: it loads the jalr slot's prediction (`raw`) and checks it
 *    as exec.c does (the TLB entry, the header's pa, the first slot not RV_OP_STALE),
 *    then goes on in the target's run (any page) or returns to the interpreter at the
 *    target; a miss leaves before the jalr (jit_x86.c emit_jalr). Nothing is written to
 *    the arena there: the interpreter alone updates predictions.
 */
#define RV_PAGE_SHIFT 12
#define RV_PAGE_SIZE (1ULL << RV_PAGE_SHIFT)
#define RV_PAGE_MASK (~(RV_PAGE_SIZE - 1))
/* Arena slots: RV_ARENA_SLOTS (512 KiB: Linux's boot fits) plus RV_ARENA_SLOTS_PER_CPU for
 * every further vCPU, at most RV_ARENA_SLOTS_MAX (rv_code_sizes). */
#define RV_ARENA_SLOTS 32768U
#define RV_ARENA_SLOTS_PER_CPU 16384U
#define RV_ARENA_SLOTS_MAX 131072U
/* Tests: arena slots of VMs created from now on (0: the sizes above). */
extern u32 rv_code_slots;
#define RV_BLOCK_MAX 64U   /* instructions per block */
#define RV_BHASH_WAYS 4U   /* hash entries per bucket, newest first; one entry per 8 slots */
#define RV_CPAGE_WAYS 4U   /* page directory: sets x ways pages with live blocks */
#define RV_NONE 0xffffffffU
static inline u32 rv_bhash(u64 pa, u32 mask)
{
	return (u32)(((pa >> 1) ^ (pa >> 11)) * RV_BHASH_WAYS) & mask;
}

/* A block's header slot. `pa` is the guest-physical address of its first instruction. */
struct rv_bhdr {
	u64 pa;
	u32 next; /* header index of the page's next block, RV_NONE at the end */
	u32 n;	  /* instructions, not counting END */
};

union rv_slot {
	struct rv_insn i;
	struct rv_bhdr h;
};
_Static_assert(sizeof(union rv_slot) == sizeof(struct rv_insn), "ip++ walks the arena");

/* A guest-physical page with live blocks. */
struct rv_cpage {
	u64 ppn;   /* RV_CPAGE_NONE when free */
	u32 first; /* header index of its newest block */
};
#define RV_CPAGE_NONE (~0ULL)

/* ---- software TLB -------------------------------------------------------------------- */

#define RV_TLB_BITS 8
#define RV_TLB_SIZE (1U << RV_TLB_BITS)
/* Flags in a tag's page-offset bits; any of them makes the fast compare miss. */
#define RV_TLB_MMIO 0x1ULL /* not RAM: the slow path uses the cached physical page */
#define RV_TLB_CODE 0x2ULL /* write entry of a page with decoded code: slow path drops it */
#define RV_TLB_INVALID 0x800ULL
#define RV_TLB_FLAGS 0xfffULL

struct rv_tlb_entry {
	u64 tag;	  /* virtual page | flags */
	uintptr_t addend; /* host address = va + addend (RAM pages) */
	u64 pa;		  /* guest-physical page */
};

enum rv_acc { RV_ACC_R = 0, RV_ACC_W = 1, RV_ACC_X = 2 };

struct rv_tlb_set {
	struct rv_tlb_entry e[3][RV_TLB_SIZE]; /* [enum rv_acc][vpn % size] */
};

/* Permission views: U-mode, S-mode, S-mode with sstatus.SUM. MXR changes flush all. */
enum { RV_TLBSET_U = 0, RV_TLBSET_S, RV_TLBSET_SUM, RV_NTLBSET };

/* Why a vCPU must flush before it goes on (rv_state.flush_why). */
#define RV_FLUSH_FULL 1U  /* the arena is full */
#define RV_FLUSH_JIT 2U	  /* the translator's buffer is full */
#define RV_FLUSH_FENCE 4U /* fence.i */
#define RV_FLUSH_REMOTE 8U /* a remote fence.i (RV_FENCE_CODE) */
#define RV_FLUSH_RESET 16U /* rv_cpu_reset */
#define RV_FLUSH_KINDS 5

/* The decoded code of one VM, shared by its vCPUs (rv_code_join). */
struct rv_code {
	union rv_slot *arena; /* `slots` slots */
	u32 slots;
	u32 top;	      /* next free slot (under `lock`) */
	u32 *bhash;	      /* bhash_mask + 1 header indices or RV_NONE */
	u32 bhash_mask;
	struct rv_cpage *cpages; /* cpage_sets * RV_CPAGE_WAYS */
	u32 cpage_sets;
	u8 *cpage_next;		 /* round-robin victim way per set */
	struct rv_jit *jit;	 /* block translator, NULL when interpreting only */
	u32 gen;		 /* bumped by every flush */
	/* A run is translated after rv_jit_hot << hot_shift executions. Each time the
	 * translator's buffer fills (and all code is dropped), hot_shift grows by one, up to
	 * RV_HOT_SHIFT_MAX: code that keeps the buffer churning waits longer. */
	u8 hot_shift;
	pthread_mutex_t lock;	  /* building, killing, translating */
	pthread_mutex_t flush_mu; /* one flusher at a time; the member list */
	u32 flush_req;		  /* a flush waits for, or runs without, the vCPUs */
	struct rv_state *member[PLAT_MAX_VCPUS];
	u32 nmembers;
	/* registry (bcache.c): one per struct vm */
	const struct vm *vm;
	u32 refs;
	struct rv_code *next;
	/* statistics, for tests and probes */
	u64 flushes, builds, flushes_by[RV_FLUSH_KINDS];
};


/* Everything the emulator keeps per vCPU beyond the architectural state. */
struct rv_state {
	struct rv_tlb_set tlb[RV_NTLBSET];
	struct rv_tlb_set *cur; /* the view for the current privilege and SUM */
	struct rv_code *code;	/* the VM's decoded code */
	/* copies of code's fixed fields, for the interpreter's fast paths */
	union rv_slot *arena;
	u32 *bhash;
	u32 bhash_mask;
	struct rv_jit *jit;
	/* Inside rv_exec (holding slot pointers): a flush waits for it to clear. Written
	 * by this vCPU's thread only; on its own cache line. */
	u32 in_code __attribute__((aligned(64)));
	u8 flush_why;  /* RV_FLUSH_*: flush in rv_cpu_run before going on */
	u32 flush_gen; /* code->gen when it was found necessary */
	/* code->gen when the newest remote fence.i was asked for (rv_cpu_request_fence): a
	 * flush since then answers it, so a fence.i sent to every hart flushes once. */
	u32 fence_gen;
	u64 code_pa;   /* guest-physical page of the last rv_fetch_block */
	/* An exception raised by a helper, taken by the interpreter. */
	u64 exc_cause, exc_tval;
	/* The interpreter must re-translate pc before the next instruction. */
	bool refetch;
	u32 pauses; /* Zihintpause `pause` hints seen: spin-waits yield the host thread */
	/* Leave the inner loop after this instruction (interrupts may be unmasked). */
	bool irq_check;
	u64 resv_val;	   /* what LR read: SC compare-exchanges against it */
	u64 chunk_retired; /* instructions of the running chunk not yet in c->instret */
};
#define RV_HOT_SHIFT_MAX 6

static inline struct rv_state *rv_st(struct rv_cpu *c)
{
	return (struct rv_state *)c->priv_data;
}

/* ---- CSR and trap constants ------------------------------------------------------------ */

#define SSTATUS_SIE DUO_BIT(1)
#define SSTATUS_SPIE DUO_BIT(5)
#define SSTATUS_SPP DUO_BIT(8)
#define SSTATUS_FS (3ULL << 13)
#define SSTATUS_FS_OFF (0ULL << 13)
#define SSTATUS_FS_INITIAL (1ULL << 13)
#define SSTATUS_FS_DIRTY (3ULL << 13)
#define SSTATUS_SUM DUO_BIT(18)
#define SSTATUS_MXR DUO_BIT(19)
#define SSTATUS_UXL (3ULL << 32)
#define SSTATUS_UXL_64 (2ULL << 32)
#define SSTATUS_SD DUO_BIT(63)
#define SSTATUS_WMASK                                                                              \
	(SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP | SSTATUS_FS | SSTATUS_SUM | SSTATUS_MXR)

#define SIP_SSIP DUO_BIT(IRQ_S_SOFT)
#define SIP_STIP DUO_BIT(IRQ_S_TIMER)
#define SIP_SEIP DUO_BIT(IRQ_S_EXT)
#define SIE_MASK (SIP_SSIP | SIP_STIP | SIP_SEIP)

enum rv_cause {
	RV_EXC_INSN_MISALIGNED = 0,
	RV_EXC_INSN_ACCESS = 1,
	RV_EXC_ILLEGAL = 2,
	RV_EXC_BREAKPOINT = 3,
	RV_EXC_LOAD_MISALIGNED = 4,
	RV_EXC_LOAD_ACCESS = 5,
	RV_EXC_STORE_MISALIGNED = 6,
	RV_EXC_STORE_ACCESS = 7,
	RV_EXC_ECALL_U = 8,
	RV_EXC_ECALL_S = 9,
	RV_EXC_INSN_PAGE = 12,
	RV_EXC_LOAD_PAGE = 13,
	RV_EXC_STORE_PAGE = 15,
};
#define RV_CAUSE_INTR DUO_BIT(63)

#define SATP_MODE_SHIFT 60
#define SATP_PPN_MASK ((1ULL << 44) - 1)

/* ---- cpu.c ------------------------------------------------------------------------------ */

/* rv_take_trap - enter the S-mode trap handler (exception or, with RV_CAUSE_INTR, an
 * interrupt) from the instruction at c->pc. Updates the TLB view. */
void rv_take_trap(struct rv_cpu *c, u64 cause, u64 tval);
/* rv_sip - the guest-visible sip: software bits, host lines, and STIP from stimecmp. */
u64 rv_sip(struct rv_cpu *c);
/* rv_update_view - choose the TLB view after a privilege or sstatus.SUM change. */
void rv_update_view(struct rv_cpu *c);
/* rv_raise - record an exception for the interpreter to take; returns false. */
static inline bool rv_raise(struct rv_cpu *c, u64 cause, u64 tval)
{
	rv_st(c)->exc_cause = cause;
	rv_st(c)->exc_tval = tval;
	return false;
}

/* ---- exec.c ------------------------------------------------------------------------------ */

enum { RV_CONT = -1 }; /* rv_exec: chunk done or interrupts need a look; else an rv_exit */
/* rv_exec - interpret up to n instructions; *retired gets how many were executed. */
int rv_exec(struct rv_cpu *c, u64 n, u64 *retired);

/* ---- mmu.c ------------------------------------------------------------------------------- */

/*
 * rv_translate - virtual to guest-physical for an access of type acc by the current
 * privilege (SUM/MXR from sstatus), walking the page table and setting A/D. On a fault
 * records the exception (page fault, or access fault when the walk leaves RAM) and
 * returns false.
 */
bool rv_translate(struct rv_cpu *c, u64 va, enum rv_acc acc, u64 *pa);
/* rv_tlb_lookup - the TLB entry for va (filling it on a miss); NULL with the exception
 * recorded on a fault. The entry's tag may carry RV_TLB_MMIO/CODE. */
struct rv_tlb_entry *rv_tlb_lookup(struct rv_cpu *c, u64 va, enum rv_acc acc);
void rv_tlb_flush_all(struct rv_cpu *c);
void rv_tlb_flush_va(struct rv_cpu *c, u64 va);
/* rv_load_slow/rv_store_slow - any access the inline fast path did not handle:
 * TLB misses, MMIO, page-crossing (split) and code-page stores. False = exception. */
bool rv_load_slow(struct rv_cpu *c, u64 va, unsigned size, u64 *val);
bool rv_store_slow(struct rv_cpu *c, u64 va, unsigned size, u64 val);
/* rv_fetch_block - the first instruction of the decoded block at pc (translating for
 * execute, decoding on a miss); st->code_pa gets pc's guest-physical page. NULL = an
 * exception recorded, or, with st->flush_why set, the arena is full: leave rv_exec. */
const struct rv_insn *rv_fetch_block(struct rv_cpu *c, u64 pc);
/* rv_code_join/leave - make st a user of vm's shared code (created by the first one,
 * sized for vm->nvcpus vCPUs, freed with the last); join returns 0 or DUO_ENOMEM. */
int rv_code_join(struct rv_state *st, const struct vm *vm);
void rv_code_leave(struct rv_state *st);
/* rv_code_enter/exit - around rv_exec: a flush waits while any vCPU is inside. */
void rv_code_enter(struct rv_state *st);
static inline void rv_code_exit(struct rv_state *st)
{
	__atomic_store_n(&st->in_code, 0, __ATOMIC_RELEASE);
}
/* rv_cpage_find - the page-directory record of guest-physical page ppn, or NULL. Takes
 * no lock: an answer may be out of date by the time it is used. */
struct rv_cpage *rv_cpage_find(struct rv_code *k, u64 ppn);
/* rv_is_direct - a direct branch or jal: `raw` is its chained target. */
bool rv_is_direct(u8 op);
/* rv_find_block - the block at guest-physical pa if the hash has it: its first
 * instruction. A bucket is RV_BHASH_WAYS entries from rv_bhash(pa), newest first. */
const struct rv_insn *rv_find_block_slow(struct rv_state *st, u64 pa);
static inline const struct rv_insn *rv_find_block(struct rv_state *st, u64 pa)
{
	u32 h = __atomic_load_n(&st->bhash[rv_bhash(pa, st->bhash_mask)], __ATOMIC_ACQUIRE);
	if (likely(h != RV_NONE && st->arena[h].h.pa == pa))
		return &st->arena[h + 1].i;
	return rv_find_block_slow(st, pa);
}
/* rv_translate_hot - ip, an RV_OP_HOT, ran RV_JIT_HOT times: translate the run it starts
 * (it becomes RV_OP_BLOCK, or its own op again if the translator declines). */
void rv_translate_hot(struct rv_state *st, struct rv_insn *ip);
/* rv_fetch16 - one instruction halfword at va, for page-crossing instructions. */
bool rv_fetch16(struct rv_cpu *c, u64 va, u16 *out);
/* rv_code_flush_if - forget every decoded block and translated run of the VM, unless a
 * flush happened since code->gen was `gen`; `why` is RV_FLUSH_* (statistics; JIT also
 * raises hot_shift). From outside rv_exec: waits until no other vCPU is inside. */
void rv_code_flush_if(struct rv_cpu *c, u32 gen, unsigned why);
/* rv_code_flush - flush now (rv_cpu_reset). */
void rv_code_flush(struct rv_cpu *c);
/* rv_code_written - a store of `size` bytes at guest-physical pa hit a page that may
 * hold decoded code: kill every block of that page (setting st->refetch if there was
 * one). Returns true while the page still holds decoded code (never, today). */
bool rv_code_written(struct rv_cpu *c, u64 pa, unsigned size);

/* Inline fast paths: a TLB hit on a RAM page with the access inside the page. `t` is
 * the current view (rv_st(c)->cur), which the interpreter keeps in a register. */
static inline bool rv_load(struct rv_cpu *c, struct rv_tlb_set *t, u64 va, unsigned size, u64 *val)
{
	struct rv_tlb_entry *e = &t->e[RV_ACC_R][(va >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1)];
	if (likely(e->tag == (va & RV_PAGE_MASK) && (va & ~RV_PAGE_MASK) <= RV_PAGE_SIZE - size)) {
		const void *h = (const void *)(uintptr_t)(va + e->addend);
		switch (size) {
		case 1:
			*val = *(const u8 *)h;
			return true;
		case 2: {
			u16 v;
			memcpy(&v, h, 2);
			*val = v;
			return true;
		}
		case 4: {
			u32 v;
			memcpy(&v, h, 4);
			*val = v;
			return true;
		}
		default:
			memcpy(val, h, 8);
			return true;
		}
	}
	return rv_load_slow(c, va, size, val);
}

/* rv_store - returns 1 stored by the fast path, 2 by the slow path (caller must honour
 * st->refetch), 0 on an exception. */
static inline int rv_store(struct rv_cpu *c, struct rv_tlb_set *t, u64 va, unsigned size, u64 val)
{
	struct rv_tlb_entry *e = &t->e[RV_ACC_W][(va >> RV_PAGE_SHIFT) & (RV_TLB_SIZE - 1)];
	if (likely(e->tag == (va & RV_PAGE_MASK) && (va & ~RV_PAGE_MASK) <= RV_PAGE_SIZE - size)) {
		void *h = (void *)(uintptr_t)(va + e->addend);
		switch (size) {
		case 1:
			*(u8 *)h = (u8)val;
			return 1;
		case 2: {
			u16 v = (u16)val;
			memcpy(h, &v, 2);
			return 1;
		}
		case 4: {
			u32 v = (u32)val;
			memcpy(h, &v, 4);
			return 1;
		}
		default:
			memcpy(h, &val, 8);
			return 1;
		}
	}
	return rv_store_slow(c, va, size, val) ? 2 : 0;
}

/* ---- csr.c ------------------------------------------------------------------------------ */

/*
 * rv_csr_op - execute a Zicsr instruction (funct3 in aux, CSR number in imm). Returns
 * false with an illegal-instruction exception recorded when the CSR does not exist, is
 * above the current privilege, or is read-only and would be written.
 */
bool rv_csr_op(struct rv_cpu *c, const struct rv_insn *d);
/* rv_sret - sret semantics; false (illegal) from U-mode. */
bool rv_sret(struct rv_cpu *c, const struct rv_insn *d);
/* rv_sstatus - the sstatus value the guest reads (SD computed, UXL=2). */
u64 rv_sstatus(struct rv_cpu *c);
/* rv_fs_check - false (illegal recorded) when sstatus.FS is Off. */
static inline bool rv_fs_on(struct rv_cpu *c)
{
	return (c->mstatus & SSTATUS_FS) != SSTATUS_FS_OFF;
}
static inline void rv_fs_dirty(struct rv_cpu *c)
{
	c->mstatus |= SSTATUS_FS_DIRTY;
}

/* ---- amo.c ------------------------------------------------------------------------------ */

/* rv_amo - LR/SC/AMO for d (op LR_W..AMO_D); false = exception recorded. Writes rd. */
bool rv_amo(struct rv_cpu *c, const struct rv_insn *d);

/* ---- fpu.c ------------------------------------------------------------------------------ */

/* rv_fp_exec - one OP-FP / FMA instruction (d->raw); false = exception recorded. */
bool rv_fp_exec(struct rv_cpu *c, const struct rv_insn *d);

#endif
