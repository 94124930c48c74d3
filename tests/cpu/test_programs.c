/*
 * test_programs.c - runs each guest program of tests/cpu/guest on the emulator; a
 * program reports the number of its first failing check (0 = all passed).
 */
#include <stdio.h>

#include "../unit/harness.h"
#include "machine.h"

static void run_blob(const char *name, const unsigned char *bin, size_t len, u64 max)
{
	struct tmachine *m = tm_new();
	const char *why;
	CHECK(m != NULL);
	if (!m)
		return;
	tm_load(m, PLAT_RAM_BASE, bin, len);
	long r = tm_run_prog(m, max, &why);
	if (r != 0) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "%s: check %ld failed %s (pc=0x%llx scause=0x%llx stval=0x%llx)", name, r,
			 why, (unsigned long long)m->cpu.pc, (unsigned long long)m->cpu.scause,
			 (unsigned long long)m->cpu.stval);
		test_fail(__FILE__, __LINE__, msg);
	}
	tm_free(m);
}

#define PROGRAM_TEST(name)                                                                         \
	TM_BLOB(name);                                                                             \
	TEST(prog_##name)                                                                          \
	{                                                                                          \
		run_blob(#name, cpu_blob_##name, TM_BLOB_LEN(name), 50000000);                     \
	}

PROGRAM_TEST(alu)
PROGRAM_TEST(mem)
PROGRAM_TEST(trap)
PROGRAM_TEST(rvc)
PROGRAM_TEST(paging)
PROGRAM_TEST(jump)
