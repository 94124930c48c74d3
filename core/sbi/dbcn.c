/*
 * dbcn.c - SBI Debug Console extension (EID "DBCN"): the guest hands a buffer by
 * physical address and the console writes from it or reads into it.
 *
 * The whole buffer [base, base + num_bytes) must be guest RAM (SBI spec, "Shared memory
 * physical address range"), else INVALID_PARAM; the check is overflow-safe, so a
 * num_bytes near 2^64 is simply rejected. A call moves at most SBI_DBCN_MAX_CHUNK bytes
 * and reports how many it moved; the spec lets write be partial and the guest loops.
 * Output goes to host_console_write(), input comes from the UART's receive FIFO (the
 * same bytes a guest would read from RBR).
 */
#include <duo/host.h>
#include <duo/uart.h>
#include <duo/vcpu.h>
#include <duo/vm.h>

#include "sbi_priv.h"

enum {
	DBCN_CONSOLE_WRITE = 0,
	DBCN_CONSOLE_READ = 1,
	DBCN_CONSOLE_WRITE_BYTE = 2,
};

/*
 * The guest's buffer for num_bytes at (lo, hi), or NULL if any of it is not RAM. Guest
 * physical addresses fit in 64 bits, so a nonzero high half is never valid.
 */
static u8 *dbcn_buffer(struct vcpu *v, u64 num_bytes, u64 lo, u64 hi)
{
	if (hi != 0)
		return NULL;
	return vm_gpa_ptr(v->vm, lo, num_bytes);
}

static void dbcn_write(struct vcpu *v, const u64 a[8], struct sbi_result *r)
{
	u64 n = a[0];
	const u8 *buf;

	if (n == 0)
		return; /* nothing to write, nothing to check */
	buf = dbcn_buffer(v, n, a[1], a[2]);
	if (!buf) {
		r->error = SBI_ERR_INVALID_PARAM;
		return;
	}
	n = DUO_MIN(n, (u64)SBI_DBCN_MAX_CHUNK);
	host_console_write(v->vm, (const char *)buf, (size_t)n);
	r->value = (s64)n;
}

static void dbcn_read(struct vcpu *v, const u64 a[8], struct sbi_result *r)
{
	u64 n = a[0], got = 0;
	u8 *buf;
	int c;

	if (n == 0)
		return;
	buf = dbcn_buffer(v, n, a[1], a[2]);
	if (!buf) {
		r->error = SBI_ERR_INVALID_PARAM;
		return;
	}
	n = DUO_MIN(n, (u64)SBI_DBCN_MAX_CHUNK);
	while (got < n && v->vm->uart && (c = uart_getc(v->vm->uart)) >= 0)
		buf[got++] = (u8)c;
	r->value = (s64)got;
}

static void dbcn_handle(struct vcpu *v, u64 eid, u64 fid, const u64 a[8], struct sbi_result *r)
{
	char c;

	switch (fid) {
	case DBCN_CONSOLE_WRITE:
		dbcn_write(v, a, r);
		break;
	case DBCN_CONSOLE_READ:
		dbcn_read(v, a, r);
		break;
	case DBCN_CONSOLE_WRITE_BYTE:
		c = (char)(u8)a[0]; /* the byte is the low 8 bits of a0 */
		host_console_write(v->vm, &c, 1);
		break;
	default:
		r->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_ext sbi_ext_dbcn = {
	.name = "dbcn",
	.eid_min = SBI_EXT_DBCN,
	.eid_max = SBI_EXT_DBCN,
	.handle = dbcn_handle,
};
