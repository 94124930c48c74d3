/*
 * pack.h - the type-1 image packer's host-side interface (tools/pack/pack.c), used by
 * `duovisor pack`, `duovisor type1` (type1_run.c) and the unit tests.
 */
#ifndef DUO_TOOLS_PACK_H
#define DUO_TOOLS_PACK_H

#include <stdbool.h>
#include <stddef.h>

struct pack_opts {
	const char *config; /* the JSON VM config */
	const char *output; /* the image to write */
	const char *hv;	    /* the hypervisor binary (build/type1/duovisor-hv.bin) */
	unsigned harts;	    /* the target machine: harts and RAM the set must fit */
	unsigned ram_mib;
	bool summary; /* print one line about the image on stderr */
};

/*
 * pack_build - validate o->config (config parser, a dry-run load of every VM, the
 * machine's resources) and write the image to o->output. Returns 0, or -1 with one line
 * "FILE: KEY: what is wrong" (or "VM: ...") in err.
 */
int pack_build(const struct pack_opts *o, char *err, size_t errlen);

/* pack_hv_path - where the hypervisor binary is: $DUOVISOR_HV, else type1/duovisor-hv.bin
 * next to the running executable. 0 or -1. */
int pack_hv_path(char *out, size_t outlen);

/* The subcommands, dispatched from type2/main.c through weak symbols. */
int pack_main(int argc, char **argv);
int type1_main(int argc, char **argv);

#endif
