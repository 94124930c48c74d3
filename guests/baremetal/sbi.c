/*
 * sbi.c - bare-metal guest: the SBI BASE extension, extension probing, unknown ids,
 * the DBCN debug console and the legacy console (SBI spec v2.0 chapters 4, 5 and 12).
 *
 * Runs on any SBI: under OpenSBI 1.1 (QEMU), which has no DBCN, the DBCN checks are
 * reported as SKIP with that reason; under duovisor (impl id 0x44554f) DBCN must be
 * there. The lines "dbcn: console_write reached the console" and "legacy: putchar
 * reached the console" are for the harness to see on the console.
 */
#include "rt.h"

const char rt_guest_name[] = "sbi";

#define EID_UNKNOWN 0x00BADE1DUL /* outside every standard and vendor range */

static void check_base(void)
{
	struct sbiret r;
	static const unsigned fids[] = { 1, 2, 4, 5, 6 };
	static const char *const names[] = { "base_impl_id", "base_impl_version", "base_mvendorid",
					     "base_marchid", "base_mimpid" };
	unsigned i;

	r = rt_sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0, 0, 0);
	rt_check(r.error == 0 && r.value >= 2 && !(r.value & (1UL << 31)), "base_spec_version",
		 "error %ld value 0x%lx, want error 0 and version >= 0.2", r.error, r.value);
	for (i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
		r = rt_sbi_call(SBI_EXT_BASE, fids[i], 0, 0, 0, 0, 0, 0);
		rt_check(r.error == 0, names[i], "error %ld (%s)", r.error,
			 rt_sbi_err_name(r.error));
	}
}

static void check_probes(void)
{
	static const struct {
		unsigned long eid;
		const char *name;
	} exts[] = {
		{ SBI_EXT_TIME, "probe_time" },	    { SBI_EXT_IPI, "probe_ipi" },
		{ SBI_EXT_RFENCE, "probe_rfence" }, { SBI_EXT_HSM, "probe_hsm" },
		{ SBI_EXT_SRST, "probe_srst" },	    { SBI_EXT_BASE, "probe_base" },
	};
	struct sbiret r;
	unsigned i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		r = rt_sbi_call(SBI_EXT_BASE, 3, exts[i].eid, 0, 0, 0, 0, 0);
		rt_check(r.error == 0 && r.value != 0, exts[i].name,
			 "probe 0x%lx: error %ld value %ld, want present", exts[i].eid, r.error,
			 r.value);
	}
	r = rt_sbi_call(SBI_EXT_BASE, 3, EID_UNKNOWN, 0, 0, 0, 0, 0);
	rt_check(r.error == 0 && r.value == 0, "probe_unknown",
		 "probe 0x%lx: error %ld value %ld, want error 0 value 0", EID_UNKNOWN, r.error,
		 r.value);
}

static void check_unknown(void)
{
	struct sbiret r;

	r = rt_sbi_call(EID_UNKNOWN, 0, 1, 2, 3, 4, 5, 6);
	rt_check(r.error == SBI_ERR_NOT_SUPPORTED, "unknown_eid", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_BASE, 100, 0, 0, 0, 0, 0, 0);
	rt_check(r.error == SBI_ERR_NOT_SUPPORTED, "unknown_fid_base", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_TIME, 1, 0, 0, 0, 0, 0, 0);
	rt_check(r.error == SBI_ERR_NOT_SUPPORTED, "unknown_fid_time", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_HSM, 0x7fff, 0, 0, 0, 0, 0, 0);
	rt_check(r.error == SBI_ERR_NOT_SUPPORTED, "unknown_fid_hsm", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
}

static void check_dbcn(void)
{
	static const char msg[] = "dbcn: console_write reached the console";
	struct sbiret r;
	long present = rt_sbi_probe(SBI_EXT_DBCN);
	bool ok;

	if (!present) {
		if (rt_on_opensbi())
			rt_skip("dbcn", "not offered by OpenSBI 1.1");
		else if (rt_on_duovisor())
			rt_fail("dbcn", "duovisor must offer DBCN but probe returned 0");
		else
			rt_skip("dbcn", "not offered by SBI impl 0x%lx", rt_sbi_impl_id);
		return;
	}
	/* console_write(num_bytes, base_lo, base_hi): satp = 0, so the address is physical. */
	r = rt_sbi_call(SBI_EXT_DBCN, 0, sizeof(msg) - 1, (unsigned long)msg, 0, 0, 0, 0);
	ok = r.error == 0 && r.value == (long)(sizeof(msg) - 1);
	r = rt_sbi_call(SBI_EXT_DBCN, 2, '\n', 0, 0, 0, 0, 0); /* console_write_byte */
	rt_check(ok, "dbcn_write", "console_write: want error 0 value %lu",
		 (unsigned long)sizeof(msg) - 1);
	rt_check(r.error == 0, "dbcn_write_byte", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
	r = rt_sbi_call(SBI_EXT_DBCN, 0, 0, (unsigned long)msg, 0, 0, 0, 0);
	rt_check(r.error == 0 && r.value == 0, "dbcn_write_empty", "error %ld value %ld", r.error,
		 r.value);
	/* base_hi != 0 puts the buffer far outside RAM: must not print, must not succeed. */
	r = rt_sbi_call(SBI_EXT_DBCN, 0, 4, (unsigned long)msg, 1, 0, 0, 0);
	rt_check(r.error != 0 || r.value == 0, "dbcn_write_outside_ram",
		 "error %ld value %ld, want an error", r.error, r.value);
	r = rt_sbi_call(SBI_EXT_DBCN, 0x55, 0, 0, 0, 0, 0, 0);
	rt_check(r.error == SBI_ERR_NOT_SUPPORTED, "dbcn_unknown_fid", "error %ld (%s)", r.error,
		 rt_sbi_err_name(r.error));
}

static void check_legacy(void)
{
	static const char msg[] = "legacy: putchar reached the console\n";
	long worst = 0, r;
	const char *p;

	for (p = msg; *p; p++) {
		r = rt_sbi_legacy(SBI_LEGACY_PUTCHAR, (unsigned char)*p, 0, 0);
		if (r != 0)
			worst = r;
	}
	rt_check(worst == 0, "legacy_putchar", "a putchar returned %ld", worst);
	r = rt_sbi_legacy(SBI_LEGACY_GETCHAR, 0, 0, 0);
	rt_check(r == -1, "legacy_getchar_empty", "returned %ld with no input, want -1", r);
}

void guest_main(unsigned long hartid, uintptr_t dtb)
{
	check_base();
	check_probes();
	check_unknown();
	check_dbcn();
	check_legacy();
}
