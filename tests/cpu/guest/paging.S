/* paging.S - Sv39/Sv48/Sv57 translation: A/D updates written back to the PTE, every
 * page-fault rule (invalid, W-without-R, reserved bits, misaligned superpage,
 * non-canonical VA, R/W/X/U/SUM/MXR), superpages, sfence.vma, satp WARL, U-mode
 * execution, and 32-bit instructions straddling two pages (bare and translated). */
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
#define PT_L0B 0x80103000
#define ROOT48 0x80104000
#define ROOT57 0x80105000
#define PAGE_A 0x80200000
#define PAGE_U 0x80201000
#define PAGE_X 0x80202000
#define PAGE_R 0x80203000
#define MEGA 0x80400000
#define CODE0 0x80600000
#define CODE1 0x80601000
#define MEGA2 0x80800000
#define SSTATUS_SUM 0x40000
#define SSTATUS_MXR 0x80000
#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
#define SETPTE(table, idx, pa, flags)                                                      \
	li t0, PTE(pa, flags);                                                             \
	li t1, (table) + (idx)*8;                                                          \
	sd t0, 0(t1)
#define STORE64(addr, val)                                                                 \
	li t0, val;                                                                        \
	li t1, addr;                                                                       \
	sd t0, 0(t1)
#define STORE16(addr, val)                                                                 \
	li t0, val;                                                                        \
	li t1, addr;                                                                       \
	sh t0, 0(t1)
#define SATP(mode, root) li t0, ((mode) << 60) | ((root) >> 12); csrw satp, t0; sfence.vma

TEST_BEGIN
	/* code for the straddling instruction: addi a0,a0,1 split over two pages, then ret */
	STORE16(CODE0 + 0xffe, 0x0513)
	STORE16(CODE1 + 0, 0x0015)
	STORE16(CODE1 + 2, 0x8067)
	STORE16(CODE1 + 4, 0x0000)
	fence.i
	li a0, 5
	li t2, CODE0 + 0xffe
	jalr t2
	CHECK(1, a0, 6)
	/* page tables */
	SETPTE(PT_ROOT, 2, 0x80000000, V | R | W | X | A | D | G)
	SETPTE(PT_ROOT, 1, PT_L1, V)
	SETPTE(PT_L1, 0, PT_L0, V)
	SETPTE(PT_L0, 0, PAGE_A, V | R | W)
	SETPTE(PT_L0, 1, PAGE_U, V | R | W | X | U | A | D)
	SETPTE(PT_L0, 3, PAGE_R, V | W)
	li t0, PTE(PAGE_R, V | R | A) | (1 << 63)
	li t1, PT_L0 + 4 * 8
	sd t0, 0(t1)
	SETPTE(PT_L0, 5, PAGE_X, V | X | A)
	SETPTE(PT_L0, 6, PAGE_R, V | R | A)
	SETPTE(PT_L1, 1, PAGE_U, V | R | W | A | D)
	SETPTE(PT_L1, 2, MEGA, V | R | W | A | D)
	SETPTE(PT_L1, 3, PT_L0B, V)
	SETPTE(PT_L0B, 0, CODE0, V | R | X | A)
	SETPTE(ROOT48, 0, PT_ROOT, V)
	SETPTE(ROOT57, 0, ROOT48, V)
	STORE64(PAGE_A, 0x1234)
	STORE64(MEGA + 0x1238, 0xabcd)
	STORE64(MEGA2 + 0x1238, 0xdcba)
	STORE64(PAGE_X, 0x5a5a)
	/* U page code: ld a0,0(a1); ecall */
	STORE64(PAGE_U, 0x000000730005b503)
	SATP(8, PT_ROOT)
	csrr a0, satp
	CHECK(2, a0, (8 << 60) | (PT_ROOT >> 12))
	/* A then D, written back */
	li s0, 0x40000000
	ld a0, 0(s0)
	CHECK(3, a0, 0x1234)
	li t1, PT_L0
	ld a1, 0(t1)
	andi a1, a1, A | D
	CHECK(4, a1, A)
	sd a0, 8(s0)
	ld a1, 0(t1)
	andi a1, a1, A | D
	CHECK(5, a1, A | D)
	/* faults */
	EXPECT_TRAP(6, 13, li t0, 0x40002000; ld a0, 0(t0))
	CHECK(7, s10, 0x40002000)
	EXPECT_TRAP(8, 15, li t0, 0x40002008; sd a0, 0(t0))
	CHECK(9, s10, 0x40002008)
	EXPECT_TRAP(10, 13, li t0, 0x40003000; ld a0, 0(t0))
	EXPECT_TRAP(11, 13, li t0, 0x40004000; ld a0, 0(t0))
	EXPECT_TRAP(12, 13, li t0, 0x40005000; ld a0, 0(t0))
	li t0, SSTATUS_MXR
	csrs sstatus, t0
	li t0, 0x40005000
	ld a0, 0(t0)
	CHECK(13, a0, 0x5a5a)
	li t0, SSTATUS_MXR
	csrc sstatus, t0
	EXPECT_TRAP(14, 13, li t0, 0x40005000; ld a0, 0(t0))
	EXPECT_TRAP(15, 15, li t0, 0x40006000; sd a0, 0(t0))
	li t0, 0x40006000
	ld a0, 0(t0)
	/* U pages from S: only with SUM, never executable */
	EXPECT_TRAP(16, 13, li t0, 0x40001000; ld a0, 0(t0))
	li t0, SSTATUS_SUM
	csrs sstatus, t0
	li t0, 0x40001000
	ld a0, 0(t0)
	CHECK(17, a0, 0x000000730005b503)
	EXPECT_TRAP(18, 12, li t0, 0x40001000; jalr t0)
	CHECK(19, s10, 0x40001000)
	li t0, SSTATUS_SUM
	csrc sstatus, t0
	EXPECT_TRAP(20, 13, li t0, 0x40001000; ld a0, 0(t0)) /* SUM off again, TLB or not */
	/* superpages */
	EXPECT_TRAP(21, 13, li t0, 0x40200000; ld a0, 0(t0))
	li s1, 0x40401238
	ld a0, 0(s1)
	CHECK(22, a0, 0xabcd)
	SETPTE(PT_L1, 2, MEGA2, V | R | W | A | D)
	sfence.vma s1, zero
	ld a0, 0(s1)
	CHECK(23, a0, 0xdcba)
	/* non-canonical */
	EXPECT_TRAP(24, 13, li t0, 0x0000004000000000; ld a0, 0(t0))
	CHECK(25, s10, 0x0000004000000000)
	EXPECT_TRAP(26, 15, li t0, 0x8000000080000000; sd a0, 0(t0))
	/* U-mode: runs U pages, faults on S pages (data and fetch) */
	li s8, 0
	la s8, 1f
	li t0, 0x100
	csrc sstatus, t0
	li t0, 0x40001004
	csrw sepc, t0
	sret
1:	CHECK(27, s9, 8)
	la s8, 1f
	li t0, 0x100
	csrc sstatus, t0
	li t0, 0x40001000
	csrw sepc, t0
	li a1, 0x40000000
	sret
1:	CHECK(28, s9, 13)
	CHECK(29, s10, 0x40000000)
	EXPECT_TRAP(30, 12, li t0, 0x100; csrc sstatus, t0; la t0, 1f; csrw sepc, t0; sret; 1: nop)
	/* straddling fetch: second page unmapped, then mapped */
	EXPECT_TRAP(31, 12, li t2, 0x40600ffe; jalr t2)
	CHECK(32, s10, 0x40601000)
	CHECK(33, s11, 0x40600ffe)
	SETPTE(PT_L0B, 1, CODE1, V | R | X | A)
	sfence.vma
	li a0, 7
	li t2, 0x40600ffe
	jalr t2
	CHECK(34, a0, 8)
	/* satp is WARL: a bad mode changes nothing; ASID is read-only zero */
	li t0, (7 << 60) | 0x1234
	csrw satp, t0
	csrr a0, satp
	CHECK(35, a0, (8 << 60) | (PT_ROOT >> 12))
	li t0, (8 << 60) | (0xffff << 44) | (PT_ROOT >> 12)
	csrw satp, t0
	csrr a0, satp
	CHECK(36, a0, (8 << 60) | (PT_ROOT >> 12))
	/* Sv48 and Sv57 over the same tables */
	SATP(9, ROOT48)
	li t0, 0x40000000
	ld a0, 0(t0)
	CHECK(37, a0, 0x1234)
	EXPECT_TRAP(38, 13, li t0, 0x0000800000000000; ld a0, 0(t0))
	SATP(10, ROOT57)
	csrr a0, satp
	CHECK(39, a0, (10 << 60) | (ROOT57 >> 12))
	li t0, 0x40000000
	ld a0, 0(t0)
	CHECK(40, a0, 0x1234)
	EXPECT_TRAP(41, 13, li t0, 0x0100000000000000; ld a0, 0(t0))
	li t0, 0x00ff800000000000 /* canonical in Sv57, unmapped */
	EXPECT_TRAP(42, 13, ld a0, 0(t0))
	/* page-table walk leaving RAM: access fault */
	SETPTE(PT_L0, 7, 0x1000, V) /* points a "table" at a hole: 4K leaf pointer */
	SETPTE(PT_L1, 4, 0x20000000, V)
	sfence.vma
	EXPECT_TRAP(43, 5, li t0, 0x40800000; ld a0, 0(t0))
	EXPECT_TRAP(44, 7, li t0, 0x40800000; sd a0, 0(t0))
	csrw satp, zero
	sfence.vma
TEST_END
