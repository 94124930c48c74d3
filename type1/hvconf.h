/*
 * hvconf.h - compile-time limits of the type-1 hypervisor, shared by C and assembly.
 */
#ifndef T1_HVCONF_H
#define T1_HVCONF_H

#define T1_MAX_HARTS 8 /* hart ids 0..7; a hart with a larger id is parked */
#define T1_STACK_SHIFT 15
#define T1_STACK_SIZE (1 << T1_STACK_SHIFT) /* 32 KiB per hart */

#define T1_SLICE_TICKS 100000ULL	/* 10 ms at the 10 MHz timebase: one scheduler slice */
#define T1_CAP_PERIOD_TICKS 1000000ULL	/* 100 ms: cpu_cap_pct is enforced per period */
#define T1_CON_LINE_MAX 240		/* a guest line longer than this is shown in pieces */
#define T1_CON_PARTIAL_TICKS 1000000ULL /* an unfinished line is shown after 100 ms */

#endif
