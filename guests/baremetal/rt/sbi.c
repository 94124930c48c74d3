/*
 * sbi.c - SBI calls for the bare-metal test guests (SBI spec v2.0 calling convention:
 * a7 = extension id, a6 = function id, a0..a5 arguments, error in a0, value in a1;
 * legacy v0.1 calls return only a0).
 *
 * These wrappers are deliberately thin: the tests check every returned error and value
 * themselves, so nothing here interprets or retries a result.
 */
#include "rt.h"

struct sbiret rt_sbi_call(unsigned long eid, unsigned long fid, unsigned long a0, unsigned long a1,
			  unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
	unsigned long a[8] = { a0, a1, a2, a3, a4, a5, fid, eid };
	return rt_sbi_raw(a);
}

struct sbiret rt_sbi_raw(const unsigned long a[8])
{
	register unsigned long r0 __asm__("a0") = a[0];
	register unsigned long r1 __asm__("a1") = a[1];
	register unsigned long r2 __asm__("a2") = a[2];
	register unsigned long r3 __asm__("a3") = a[3];
	register unsigned long r4 __asm__("a4") = a[4];
	register unsigned long r5 __asm__("a5") = a[5];
	register unsigned long r6 __asm__("a6") = a[6];
	register unsigned long r7 __asm__("a7") = a[7];
	struct sbiret ret;

	__asm__ volatile("ecall"
			 : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6),
			   "+r"(r7)
			 :
			 : "memory");
	ret.error = (long)r0;
	ret.value = (long)r1;
	return ret;
}

long rt_sbi_legacy(unsigned long eid, unsigned long a0, unsigned long a1, unsigned long a2)
{
	register unsigned long r0 __asm__("a0") = a0;
	register unsigned long r1 __asm__("a1") = a1;
	register unsigned long r2 __asm__("a2") = a2;
	register unsigned long r7 __asm__("a7") = eid;

	__asm__ volatile("ecall" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r7) : : "memory");
	return (long)r0;
}

long rt_sbi_probe(unsigned long eid)
{
	struct sbiret r = rt_sbi_call(SBI_EXT_BASE, 3, eid, 0, 0, 0, 0, 0);
	return r.error ? 0 : r.value;
}

struct sbiret rt_sbi_set_timer(uint64_t deadline)
{
	return rt_sbi_call(SBI_EXT_TIME, 0, deadline, 0, 0, 0, 0, 0);
}

struct sbiret rt_sbi_send_ipi(unsigned long mask, unsigned long base)
{
	return rt_sbi_call(SBI_EXT_IPI, 0, mask, base, 0, 0, 0, 0);
}

struct sbiret rt_sbi_hart_start(unsigned long hart, unsigned long pc, unsigned long opaque)
{
	return rt_sbi_call(SBI_EXT_HSM, 0, hart, pc, opaque, 0, 0, 0);
}

struct sbiret rt_sbi_hart_stop(void)
{
	return rt_sbi_call(SBI_EXT_HSM, 1, 0, 0, 0, 0, 0, 0);
}

struct sbiret rt_sbi_hart_status(unsigned long hart)
{
	return rt_sbi_call(SBI_EXT_HSM, 2, hart, 0, 0, 0, 0, 0);
}

void rt_sbi_shutdown(void)
{
	/* SRST system_reset(type 0 = shutdown, reason 0 = none) */
	rt_sbi_call(SBI_EXT_SRST, 0, 0, 0, 0, 0, 0, 0);
	rt_sbi_legacy(SBI_LEGACY_SHUTDOWN, 0, 0, 0);
	rt_printf("baremetal: shutdown returned; parking\n");
	rt_irq_disable();
	for (;;)
		rt_wfi();
}

const char *rt_sbi_err_name(long err)
{
	static const char *const names[] = {
		"SUCCESS",
		"ERR_FAILED",
		"ERR_NOT_SUPPORTED",
		"ERR_INVALID_PARAM",
		"ERR_DENIED",
		"ERR_INVALID_ADDRESS",
		"ERR_ALREADY_AVAILABLE",
		"ERR_ALREADY_STARTED",
		"ERR_ALREADY_STOPPED",
		"ERR_NO_SHMEM",
	};
	if (err <= 0 && err > -(long)(sizeof(names) / sizeof(names[0])))
		return names[-err];
	return "(not an SBI error code)";
}

bool rt_on_duovisor(void)
{
	return rt_sbi_impl_id == SBI_IMPL_DUOVISOR;
}

bool rt_on_opensbi(void)
{
	return rt_sbi_impl_id == SBI_IMPL_OPENSBI;
}
