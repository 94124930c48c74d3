/*
 * test.h - macros for the CPU test guests (tests/cpu/guest/NAME.S). A guest runs in S-mode
 * from 0x80000000 and ends with an "exit" ecall (a7 = 93): a0 = 0 when every check
 * passed, else the number of the first failing check (kept in gp). t6 and gp belong to
 * the macros. TRAP_HANDLER records scause/stval/sepc in s9/s10/s11 and resumes at s8.
 */
#define EXIT_ECALL 93

/* CHECK(n, reg, value): fail with n unless reg == value. */
#define CHECK(n, reg, value)                                                               \
	li gp, n;                                                                          \
	li t6, value;                                                                      \
	bne reg, t6, fail

/* CHECKR(n, a, b): fail with n unless registers a and b are equal. */
#define CHECKR(n, a, b)                                                                    \
	li gp, n;                                                                          \
	bne a, b, fail

/* Start of a guest: entry point, then the test's code. */
#define TEST_BEGIN                                                                         \
	.section .text.init;                                                               \
	.globl _start;                                                                     \
	_start:                                                                            \
	li gp, 0;                                                                          \
	la sp, _stack_top;                                                                 \
	la t0, trap_handler;                                                               \
	csrw stvec, t0

/* End of the test's code: pass, and the shared fail path. */
#define TEST_END                                                                           \
	li a0, 0;                                                                          \
	li a7, EXIT_ECALL;                                                                 \
	ecall;                                                                             \
	fail : mv a0, gp;                                                                  \
	li a7, EXIT_ECALL;                                                                 \
	ecall;                                                                             \
	1 : j 1b;                                                                          \
	TRAP_HANDLER

/* The trap handler every guest has: records scause/stval/sepc/sstatus in s9/s10/s11/s7
 * and resumes at the address in s8, always in S-mode. */
#define TRAP_HANDLER                                                                       \
	.balign 4;                                                                         \
	trap_handler : csrr s9, scause;                                                    \
	csrr s10, stval;                                                                   \
	csrr s11, sepc;                                                                    \
	csrr s7, sstatus;                                                                  \
	csrw sepc, s8;                                                                     \
	li t6, 0x100;                                                                      \
	csrs sstatus, t6;                                                                  \
	sret

/* EXPECT_TRAP(n, cause, insn...): run insn expecting a synchronous trap with `cause`;
 * the handler resumes right after it. */
#define EXPECT_TRAP(n, cause, ...)                                                         \
	li gp, n;                                                                          \
	la s8, 9f;                                                                         \
	li s9, -1;                                                                         \
	__VA_ARGS__;                                                                       \
	j fail;                                                                            \
	9 : li t6, cause;                                                                  \
	bne s9, t6, fail
