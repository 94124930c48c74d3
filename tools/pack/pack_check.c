/*
 * pack_check.c - can a machine hold this VM set, and is a packed blob intact? Shared
 * by the host-side packer (tools/pack/pack.c, against the machine `duovisor type1`
 * starts) and the type-1 hypervisor at boot (type1/main.c, against the board it finds).
 * Freestanding: it is compiled into build/duovisor and into the bare-metal hypervisor.
 *
 * The rules (docs/type1.md): every "dedicated" vCPU owns one hart and at least one hart
 * is left for the shared pool (which also runs the console and management prompt), so
 * dedicated vCPUs <= harts - 1; guest RAM is carved at boot and never overcommitted, so
 * the sum of every VM's memory (rounded up to 2 MiB) plus what the hypervisor keeps
 * (firmware, image + blob, heap) must fit in the machine's RAM.
 */
#include <duo/err.h>
#include <duo/lib.h>

#include "pack_check.h"
#include "pack_format.h"

int pack_check_resources(const struct vm_config *cfgs, unsigned n, unsigned harts, u64 ram_mib,
			 u64 image_end, char *err, size_t errlen)
{
	unsigned dedicated = 0;
	u64 need = 0;

	if (n == 0 || n > CFG_MAX_VMS) {
		duo_snprintf(err, errlen, "vms: need 1..%d VMs, found %u", CFG_MAX_VMS, n);
		return DUO_EINVAL;
	}
	if (harts < 2) {
		duo_snprintf(err, errlen, "machine: %u hart(s); type 1 needs at least 2", harts);
		return DUO_EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (cfgs[i].cpu_policy == CPU_DEDICATED)
			dedicated += cfgs[i].vcpus;
		need += pack_vm_ram_mib(&cfgs[i]);
	}
	if (dedicated > harts - 1) {
		duo_snprintf(err, errlen,
			     "cpu_policy: %u dedicated vCPUs but the machine has %u harts and one "
			     "is kept for the shared pool (at most %u dedicated vCPUs)",
			     dedicated, harts, harts - 1);
		return DUO_EINVAL;
	}
	u64 reserved = pack_hv_reserved_mib(image_end);
	if (reserved >= ram_mib || need > ram_mib - reserved) {
		duo_snprintf(
			err, errlen,
			"memory_mib: the VMs need %llu MiB but only %llu of the machine's %llu "
			"MiB are left after the hypervisor (%llu MiB: firmware, image, heap)",
			(unsigned long long)need,
			(unsigned long long)(reserved < ram_mib ? ram_mib - reserved : 0),
			(unsigned long long)ram_mib, (unsigned long long)reserved);
		return DUO_EINVAL;
	}
	return 0;
}

static bool file_ok(const struct pack_file *f, u64 lo, u64 total)
{
	if (!f->size)
		return f->off == 0;
	return !(f->off & 7) && f->off >= lo && f->off <= total && f->size <= total - f->off;
}

int pack_verify_blob(const void *blob, u64 avail, char *err, size_t errlen)
{
	const struct pack_header *h = blob;
	char why[160];

	if (avail < sizeof(*h) || duo_memcmp(h->magic, PACK_MAGIC, 8)) {
		duo_snprintf(err, errlen, "no packed VM set (magic \"%s\" missing)", PACK_MAGIC);
		return DUO_EFORMAT;
	}
	if (h->version != PACK_VERSION || h->entry_size != sizeof(struct pack_vm) ||
	    h->cfg_size != sizeof(struct vm_config)) {
		duo_snprintf(
			err, errlen,
			"packed by another duovisor build (version %u, entry %u, config %u bytes; "
			"want %u, %u, %u): pack it again",
			h->version, h->entry_size, h->cfg_size, PACK_VERSION,
			(unsigned)sizeof(struct pack_vm), (unsigned)sizeof(struct vm_config));
		return DUO_EFORMAT;
	}
	if (h->nvms < 1 || h->nvms > CFG_MAX_VMS ||
	    h->header_size != DUO_ALIGN_UP(sizeof(*h) + (u64)h->nvms * h->entry_size, 8) ||
	    h->total_size < h->header_size || (h->total_size & 7) || h->total_size > avail) {
		duo_snprintf(err, errlen, "packed header is corrupt (%u VMs, %llu of %llu bytes)",
			     h->nvms, (unsigned long long)h->total_size, (unsigned long long)avail);
		return DUO_EFORMAT;
	}
	u64 sum = pack_checksum(blob, h->total_size);
	if (sum != h->checksum) {
		duo_snprintf(err, errlen,
			     "checksum mismatch (%016llx, header says %016llx): the image was "
			     "damaged or only partly loaded",
			     (unsigned long long)sum, (unsigned long long)h->checksum);
		return DUO_EFORMAT;
	}
	const struct pack_vm *vms = (const struct pack_vm *)(h + 1);
	for (u32 i = 0; i < h->nvms; i++) {
		const struct pack_vm *v = &vms[i];
		if (duo_strnlen(v->cfg.name, CFG_NAME_MAX) == CFG_NAME_MAX) {
			duo_snprintf(err, errlen, "vm %u: name is not terminated", i);
			return DUO_EFORMAT;
		}
		if (vm_config_check(&v->cfg, why, sizeof(why))) {
			duo_snprintf(err, errlen, "vm %u (%s): %s", i, v->cfg.name, why);
			return DUO_EINVAL;
		}
		bool ok = v->kernel.size && file_ok(&v->kernel, h->header_size, h->total_size) &&
			  file_ok(&v->initrd, h->header_size, h->total_size);
		for (unsigned d = 0; d < CFG_MAX_DISKS; d++)
			ok = ok && file_ok(&v->disks[d], h->header_size, h->total_size) &&
			     (d < v->cfg.ndisks || !v->disks[d].size);
		if (!ok) {
			duo_snprintf(err, errlen, "vm %u (%s): a file lies outside the blob", i,
				     v->cfg.name);
			return DUO_EFORMAT;
		}
		for (u32 j = 0; j < i; j++)
			if (!duo_strcmp(vms[j].cfg.name, v->cfg.name)) {
				duo_snprintf(err, errlen, "vm %u: name \"%s\" is used twice", i,
					     v->cfg.name);
				return DUO_EINVAL;
			}
	}
	return 0;
}
