/*
 * ctx.h - the layout of a vCPU's world-switch context, shared by type1/switch.S (which
 * saves and restores it on every guest entry and exit) and the C side (type1/hv.h,
 * which checks each offset with a static assert).
 *
 * Only what changes on every exit lives here: the guest's GPRs, sepc/sstatus/hstatus,
 * the trap CSRs, the host's callee-saved registers and the FP file. The guest's vs*
 * CSRs stay in the hardware while a vCPU is loaded on a hart and are saved in
 * struct t1_vcpu on "put" (type1/vcpu.c).
 */
#ifndef T1_CTX_H
#define T1_CTX_H

#define CTX_GPR(n) ((n)*8) /* x0..x31; slot 0 unused */
#define CTX_SEPC 256
#define CTX_SSTATUS 264
#define CTX_HSTATUS 272
#define CTX_SCAUSE 280
#define CTX_STVAL 288
#define CTX_HTVAL 296
#define CTX_HTINST 304
#define CTX_HOST_RA 312
#define CTX_HOST_SP 320
#define CTX_HOST_GP 328
#define CTX_HOST_TP 336
#define CTX_HOST_S(n) (344 + (n)*8) /* s0..s11: unused (t1_guest_run clobbers them) */
#define CTX_HOST_STVEC 440    /* unused: the host vector is fixed */
#define CTX_HOST_SSCRATCH 448 /* unused: the host never reads sscratch */
#define CTX_HOST_SSTATUS 456
#define CTX_FPR(n) (464 + (n)*8) /* f0..f31 */
#define CTX_FCSR 720
#define CTX_SIZE 728

#endif
