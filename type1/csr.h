/*
 * csr.h - CSR numbers, bit fields and accessors for the type-1 hypervisor (HS-mode on
 * the RISC-V H extension; privileged spec v1.12, "Hypervisor Extension" chapter).
 * Included by C and by the assembly files (only the #defines are visible to those).
 */
#ifndef T1_CSR_H
#define T1_CSR_H

/* sstatus */
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_FS (3UL << 13)
#define SSTATUS_FS_OFF (0UL << 13)
#define SSTATUS_FS_INITIAL (1UL << 13)
#define SSTATUS_FS_CLEAN (2UL << 13)
#define SSTATUS_FS_DIRTY (3UL << 13)
#define SSTATUS_SUM (1UL << 18)

/* hstatus */
#define HSTATUS_VSBE (1UL << 5)
#define HSTATUS_GVA (1UL << 6)
#define HSTATUS_SPV (1UL << 7)
#define HSTATUS_SPVP (1UL << 8)
#define HSTATUS_HU (1UL << 9)
#define HSTATUS_VTVM (1UL << 20)
#define HSTATUS_VTW (1UL << 21)
#define HSTATUS_VTSR (1UL << 22)
#define HSTATUS_VSXL_SHIFT 32
#define HSTATUS_VSXL (3UL << 32)

/* interrupt bits (sip/sie/hip/hie/hvip/hideleg) */
#define IRQ_SSI 1
#define IRQ_VSSI 2
#define IRQ_STI 5
#define IRQ_VSTI 6
#define IRQ_SEI 9
#define IRQ_VSEI 10
#define MIP_SSIP (1UL << IRQ_SSI)
#define MIP_VSSIP (1UL << IRQ_VSSI)
#define MIP_STIP (1UL << IRQ_STI)
#define MIP_VSTIP (1UL << IRQ_VSTI)
#define MIP_SEIP (1UL << IRQ_SEI)
#define MIP_VSEIP (1UL << IRQ_VSEI)

/* scause */
#define CAUSE_IRQ_FLAG (1UL << 63)
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL_INST 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_HS 9
#define EXC_ECALL_VS 10
#define EXC_INST_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15
#define EXC_INST_GUEST_PAGE 20
#define EXC_LOAD_GUEST_PAGE 21
#define EXC_VIRTUAL_INST 22
#define EXC_STORE_GUEST_PAGE 23

/*
 * Delegation to VS (PITFALLS 9): misaligned fetch, illegal instruction, breakpoint,
 * U-mode ecall and the three page faults go straight to the guest; VS-level interrupts
 * (software, timer, external) are delegated and injected through hvip.
 */
#define T1_HEDELEG                                                                                 \
	((1UL << EXC_INST_MISALIGNED) | (1UL << EXC_ILLEGAL_INST) | (1UL << EXC_BREAKPOINT) |      \
	 (1UL << EXC_ECALL_U) | (1UL << EXC_INST_PAGE) | (1UL << EXC_LOAD_PAGE) |                  \
	 (1UL << EXC_STORE_PAGE))
#define T1_HIDELEG (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)

/* hgatp */
#define HGATP_MODE_SV39X4 (8UL << 60)
#define HGATP_VMID_SHIFT 44
#define HGATP_VMID_MASK 0x3fffUL

/* henvcfg */
#define HENVCFG_STCE (1UL << 63)

/* hcounteren / scounteren: CY, TM, IR */
#define COUNTEREN_ALL 7UL

/* CSR numbers the assembler may not know by name in every binutils */
#define CSR_STIMECMP 0x14d
#define CSR_VSTIMECMP 0x24d
#define CSR_HENVCFG 0x60a

#ifndef __ASSEMBLER__
#include <duo/types.h>

#define T1_STR1(x) #x
#define T1_STR(x) T1_STR1(x)

/* csr may be a name the assembler knows (hstatus) or a number macro (CSR_VSTIMECMP). */
#define csr_read(csr)                                                                              \
	({                                                                                         \
		unsigned long __v;                                                                 \
		__asm__ volatile("csrr %0, " T1_STR(csr) : "=r"(__v)::"memory");                   \
		__v;                                                                               \
	})
#define csr_write(csr, val)                                                                        \
	({                                                                                         \
		unsigned long __v = (unsigned long)(val);                                          \
		__asm__ volatile("csrw " T1_STR(csr) ", %0" ::"rK"(__v) : "memory");               \
	})
#define csr_set(csr, val)                                                                          \
	({                                                                                         \
		unsigned long __v = (unsigned long)(val);                                          \
		__asm__ volatile("csrs " T1_STR(csr) ", %0" ::"rK"(__v) : "memory");               \
	})
#define csr_clear(csr, val)                                                                        \
	({                                                                                         \
		unsigned long __v = (unsigned long)(val);                                          \
		__asm__ volatile("csrc " T1_STR(csr) ", %0" ::"rK"(__v) : "memory");               \
	})

static inline u64 t1_rdtime(void)
{
	u64 t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

static inline void t1_wfi(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

static inline void t1_fence(void)
{
	__asm__ volatile("fence rw, rw" ::: "memory");
}

static inline void t1_fence_i(void)
{
	__asm__ volatile("fence.i" ::: "memory");
}

/* Every guest's G-stage translations on this hart. */
static inline void t1_hfence_gvma_all(void)
{
	__asm__ volatile(".option push\n.option arch, +h\nhfence.gvma zero, zero\n.option pop" ::
				 : "memory");
}

/* VS-stage translations of the VMID in hgatp on this hart (all addresses, all ASIDs). */
static inline void t1_hfence_vvma_all(void)
{
	__asm__ volatile(".option push\n.option arch, +h\nhfence.vvma zero, zero\n.option pop" ::
				 : "memory");
}
#endif

#endif
