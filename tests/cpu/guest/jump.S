/* jump.S - indirect jumps (jalr) into other pages, which the interpreter predicts (each
 * jalr remembers its last target block): the prediction must give way when the target's
 * code is rewritten by a store (no fence.i), when the page table maps the target's
 * virtual page elsewhere (sfence.vma by address and global), when the target loses its
 * execute permission, and when a U-mode caller jumps to the same virtual address. */
#include "test.h"
#define V 0x01
#define R 0x02
#define W 0x04
#define X 0x08
#define U 0x10
#define G 0x20
#define A 0x40
#define D 0x80
#define PT_ROOT 0x80100000
#define PT_L1 0x80101000
#define PT_L0 0x80102000
/* pages whose TLB slots (page number mod 256) differ from this code's and each other's */
#define FN1 0x80201000
#define FN2 0x80202000
#define FN3 0x80203000
#define VA_FN 0x40005000
#define ADDI_A0(n) (0x00050513 | ((n) << 20))
#define RET 0x00008067
#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
#define STORE32(addr, val)                                                                 \
	li t0, val;                                                                        \
	li t1, addr;                                                                       \
	sw t0, 0(t1)
#define SETPTE(table, idx, pa, flags)                                                      \
	li t0, PTE(pa, flags);                                                             \
	li t1, (table) + (idx)*8;                                                          \
	sd t0, 0(t1)
/* CALLS(n, target): a0 += what the function at `target` adds, n times, all through
 * the one jalr of call_loop (this page; the functions are in others), so its
 * prediction carries over from one CALLS to the next. */
#define CALLS(n, target)                                                                   \
	li s1, n;                                                                          \
	li s2, target;                                                                     \
	jal s4, call_loop

TEST_BEGIN
	/* functions: FN1 adds 1, FN2 adds 3, FN3 adds 5 */
	STORE32(FN1, ADDI_A0(1))
	STORE32(FN1 + 4, RET)
	STORE32(FN2, ADDI_A0(3))
	STORE32(FN2 + 4, RET)
	STORE32(FN3, ADDI_A0(5))
	STORE32(FN3 + 4, RET)
	fence.i
	/* bare: the same jalr 50 times, then its target rewritten by a plain store */
	li a0, 0
	CALLS(50, FN1)
	CHECK(1, a0, 50)
	STORE32(FN1, ADDI_A0(2))
	CALLS(10, FN1)
	CHECK(2, a0, 70)
	/* the jalr alternates between two targets: both right */
	li a0, 0
	li s1, 20
	li s2, FN2
	li s3, FN3
2:	jalr s2
	mv t0, s2
	mv s2, s3
	mv s3, t0
	addi s1, s1, -1
	bnez s1, 2b
	CHECK(3, a0, 80)
	/* Sv39: this code identity-mapped by a gigapage, VA_FN by a 4 KiB page */
	SETPTE(PT_ROOT, 2, 0x80000000, V | R | W | X | A | D | G)
	SETPTE(PT_ROOT, 1, PT_L1, V)
	SETPTE(PT_L1, 0, PT_L0, V)
	SETPTE(PT_L0, 5, FN2, V | R | X | A)
	li t0, (8 << 60) | (PT_ROOT >> 12)
	csrw satp, t0
	sfence.vma
	li a0, 0
	CALLS(20, VA_FN)
	CHECK(4, a0, 60)
	/* VA_FN now maps FN3: sfence.vma of that address */
	SETPTE(PT_L0, 5, FN3, V | R | X | A)
	li t0, VA_FN
	sfence.vma t0
	CALLS(20, VA_FN)
	CHECK(5, a0, 160)
	/* back to FN2, global sfence.vma */
	SETPTE(PT_L0, 5, FN2, V | R | X | A)
	sfence.vma
	CALLS(20, VA_FN)
	CHECK(6, a0, 220)
	/* no execute permission any more: the jalr's target faults */
	SETPTE(PT_L0, 5, FN2, V | R | A)
	sfence.vma
	li s2, VA_FN
	EXPECT_TRAP(7, 12, jalr s2)
	CHECK(8, s10, VA_FN)
	/* a U page again executable: S-mode may not execute it (the jalr from S faults)... */
	SETPTE(PT_L0, 5, FN3, V | R | X | U | A)
	sfence.vma
	li s2, VA_FN
	EXPECT_TRAP(9, 12, jalr s2)
	/* ...but U-mode may: enter U at VA_FN (adds 5, then `ret` to ra = a U page below) */
	SETPTE(PT_L0, 6, FN1, V | R | W | X | U | A | D)
	STORE32(FN1, 0x00000073) /* ecall: back to S through the trap handler */
	fence.i
	li a0, 0
	li ra, VA_FN + 0x1000
	la s8, 3f
	li t0, 0x100
	csrc sstatus, t0 /* SPP = U */
	li t0, VA_FN
	csrw sepc, t0
	sret
3:	CHECK(10, s9, 8) /* ecall from U */
	CHECK(11, a0, 5)
	csrw satp, zero
	sfence.vma
TEST_END

call_loop:
	jalr s2
	addi s1, s1, -1
	bnez s1, call_loop
	jr s4
