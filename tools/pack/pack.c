/*
 * pack.c - `duovisor pack CONFIG.json -o IMAGE`: one bootable type-1 image holding the
 * hypervisor, the VM set and every VM's kernel, initrd and disks (host side; the format
 * is tools/pack/pack_format.h, the reader type1/main.c).
 *
 * The config goes through the same parser and checks as `duovisor run` (cfg_load_file:
 * "FILE: KEY: what is wrong"); every VM is then loaded once into scratch RAM with the
 * core's own loader, so a kernel that is not a kernel or does not fit its memory is
 * refused here with type 2's message, not at boot; finally the set must fit the target
 * machine (pack_check_resources: dedicated vCPUs <= harts - 1, RAM not overcommitted).
 * The image is written to a temporary file and renamed, so IMAGE is never half-written.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duo/loader.h>
#include <duo/vm.h>

#include "../config/config.h"
#include "pack.h"
#include "pack_check.h"
#include "pack_format.h"

struct blob_file {
	char path[CFG_PATH_MAX];
	u8 *data;
	u64 size;
	u64 off;
	bool shared; /* kernels and initrds are read-only: one copy per path */
};

struct packer {
	struct blob_file files[CFG_MAX_VMS * (2 + CFG_MAX_DISKS)];
	unsigned nfiles;
	u64 total;
};

static int read_file(const char *path, u8 **data, u64 *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || ftell(f) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	long n = ftell(f);
	rewind(f);
	*data = malloc(n ? (size_t)n : 1);
	if (!*data || fread(*data, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
		free(*data);
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (u64)n;
	return 0;
}

/* add - the blob file for path (shared: reuse an earlier copy of the same path). */
static struct blob_file *add(struct packer *p, const char *path, bool shared, char *err,
			     size_t errlen)
{
	if (shared)
		for (unsigned i = 0; i < p->nfiles; i++)
			if (p->files[i].shared && !strcmp(p->files[i].path, path))
				return &p->files[i];
	struct blob_file *f = &p->files[p->nfiles];
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->shared = shared;
	if (read_file(path, &f->data, &f->size, err, errlen))
		return NULL;
	p->nfiles++;
	return f;
}

/* dry_run - boot-prepare the VM in scratch RAM: the loader's checks, before any QEMU. */
static int dry_run(const struct vm_config *cfg, const struct blob_file *k,
		   const struct blob_file *i, char *err, size_t errlen)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	u8 *ram = calloc(1, (size_t)cfg->memory_mib << 20); /* untouched pages cost nothing */
	struct boot_plan bp;
	char why[200];
	int r = -1;
	if (!vm || !ram) {
		snprintf(err, errlen, "%s: memory_mib: cannot allocate %u MiB to check the images",
			 cfg->name, cfg->memory_mib);
		goto out;
	}
	if (vm_init(vm, cfg, 0, ram)) {
		snprintf(err, errlen, "%s: cannot set up the VM", cfg->name);
		goto out;
	}
	if (vm_boot_prepare(vm, k->data, k->size, i ? i->data : NULL, i ? i->size : 0, &bp, why,
			    sizeof(why)))
		snprintf(err, errlen, "%s: %s", cfg->name, why);
	else
		r = 0;
	vm_destroy(vm);
out:
	free(ram);
	free(vm);
	return r;
}

int pack_hv_path(char *out, size_t outlen)
{
	const char *env = getenv("DUOVISOR_HV");
	if (env && *env) {
		snprintf(out, outlen, "%s", env);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(out, outlen, "%s/type1/duovisor-hv.bin", exe);
	return 0;
}

static void free_all(struct packer *p)
{
	for (unsigned i = 0; i < p->nfiles; i++)
		free(p->files[i].data);
	free(p);
}

int pack_build(const struct pack_opts *o, char *err, size_t errlen)
{
	struct vm_config cfgs[CFG_MAX_VMS];
	struct packer *p = calloc(1, sizeof(*p));
	struct blob_file *kf[CFG_MAX_VMS], *inf[CFG_MAX_VMS], *df[CFG_MAX_VMS][CFG_MAX_DISKS];
	u8 *hv = NULL, *out = NULL;
	u64 hv_size = 0;
	int n, ret = -1;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = cfg_load_file(o->config, cfgs, CFG_MAX_VMS, err, errlen);
	if (n < 1)
		goto out;
	if (read_file(o->hv, &hv, &hv_size, err, errlen))
		goto out;
	if (hv_size < 24 || duo_le64(hv + HV_IMAGE_HDR_OFF) != HV_IMAGE_MAGIC ||
	    duo_le64(hv + HV_IMAGE_HDR_OFF + 8) < hv_size) {
		snprintf(err, errlen, "%s: not a duovisor type-1 hypervisor image", o->hv);
		goto out;
	}
	u64 blob_off = PACK_BLOB_OFFSET(duo_le64(hv + HV_IMAGE_HDR_OFF + 8));

	for (int v = 0; v < n; v++) {
		kf[v] = add(p, cfgs[v].kernel, true, err, errlen);
		inf[v] = cfgs[v].initrd[0] ? add(p, cfgs[v].initrd, true, err, errlen) : NULL;
		if (!kf[v] || (cfgs[v].initrd[0] && !inf[v]))
			goto out;
		for (unsigned d = 0; d < cfgs[v].ndisks; d++)
			if (!(df[v][d] = add(p, cfgs[v].disks[d].path, false, err, errlen)))
				goto out;
		if (dry_run(&cfgs[v], kf[v], inf[v], err, errlen))
			goto out;
	}

	/* Layout: header, entries, then every file 8-byte aligned. */
	u64 hdr = DUO_ALIGN_UP(sizeof(struct pack_header) + (u64)n * sizeof(struct pack_vm), 8);
	u64 total = hdr;
	for (unsigned i = 0; i < p->nfiles; i++) {
		p->files[i].off = total;
		total = DUO_ALIGN_UP(total + p->files[i].size, 8);
	}
	if (pack_check_resources(cfgs, (unsigned)n, o->harts, o->ram_mib, blob_off + total, err,
				 errlen)) {
		char why[400];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s (type-1 machine: %u harts, %u MiB)", o->config, why,
			 o->harts, o->ram_mib);
		goto out;
	}

	out = calloc(1, blob_off + total);
	if (!out) {
		snprintf(err, errlen, "out of memory for a %llu MiB image",
			 (unsigned long long)((blob_off + total) >> 20));
		goto out;
	}
	memcpy(out, hv, hv_size);
	u8 *blob = out + blob_off;
	struct pack_header *h = (struct pack_header *)blob;
	memcpy(h->magic, PACK_MAGIC, 8);
	h->version = PACK_VERSION;
	h->nvms = (u32)n;
	h->entry_size = sizeof(struct pack_vm);
	h->cfg_size = sizeof(struct vm_config);
	h->header_size = hdr;
	h->total_size = total;
	h->target_harts = o->harts;
	h->target_ram_mib = o->ram_mib;
	struct pack_vm *pv = (struct pack_vm *)(h + 1);
	for (int v = 0; v < n; v++) {
		pv[v].cfg = cfgs[v];
		pv[v].kernel = (struct pack_file){ kf[v]->off, kf[v]->size };
		if (inf[v])
			pv[v].initrd = (struct pack_file){ inf[v]->off, inf[v]->size };
		for (unsigned d = 0; d < cfgs[v].ndisks; d++)
			pv[v].disks[d] = (struct pack_file){ df[v][d]->off, df[v][d]->size };
	}
	for (unsigned i = 0; i < p->nfiles; i++)
		memcpy(blob + p->files[i].off, p->files[i].data, p->files[i].size);
	h->checksum = pack_checksum(blob, total);
	if (pack_verify_blob(blob, total, err, errlen))
		goto out; /* our own output must pass the hypervisor's check */

	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", o->output, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	size_t len = (size_t)(blob_off + total);
	bool ok = fwrite(out, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, o->output)) {
		snprintf(err, errlen, "%s: cannot write: %s", o->output, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (o->summary)
		fprintf(stderr,
			"duovisor: pack: %s: %d VM(s), %llu MiB image (hypervisor %llu KiB)\n",
			o->output, n, (unsigned long long)(len >> 20),
			(unsigned long long)(hv_size >> 10));
	ret = 0;
out:
	free(out);
	free(hv);
	free_all(p);
	return ret;
}

static const char pack_usage[] =
	"usage: duovisor pack CONFIG.json -o IMAGE [--hv HV.bin] [--harts N] [--ram MiB]\n"
	"  Builds one type-1 boot image (the hypervisor, the VMs of CONFIG.json and their\n"
	"  kernel, initrd and disk files) for QEMU's virt board: -bios fw_dynamic.bin\n"
	"  -kernel IMAGE. The VM set must fit N harts (default 4) and MiB of RAM (2048).\n";

int pack_main(int argc, char **argv)
{
	struct pack_opts o = { .harts = PACK_TARGET_HARTS,
			       .ram_mib = PACK_TARGET_RAM_MIB,
			       .summary = true };
	char hv[PATH_MAX], err[600];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(pack_usage, stdout);
			return 0;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && val) {
			o.output = val;
			i++;
		} else if (!strcmp(a, "--hv") && val) {
			o.hv = val;
			i++;
		} else if (!strcmp(a, "--harts") && val) {
			o.harts = (unsigned)strtoul(val, NULL, 0);
			i++;
		} else if (!strcmp(a, "--ram") && val) {
			o.ram_mib = (unsigned)strtoul(val, NULL, 0);
			i++;
		} else if (a[0] != '-' && !o.config) {
			o.config = a;
		} else {
			fprintf(stderr, "duovisor: pack: bad argument '%s'\n%s", a, pack_usage);
			return 2;
		}
	}
	if (!o.config || !o.output) {
		fputs(pack_usage, stderr);
		return 2;
	}
	if (!o.hv) {
		if (pack_hv_path(hv, sizeof(hv))) {
			fprintf(stderr, "duovisor: pack: cannot find the hypervisor image (set "
					"DUOVISOR_HV)\n");
			return 2;
		}
		o.hv = hv;
	}
	if (pack_build(&o, err, sizeof(err))) {
		fprintf(stderr, "duovisor: %s\n", err);
		return 2;
	}
	return 0;
}
