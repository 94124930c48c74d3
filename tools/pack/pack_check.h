/*
 * pack_check.h - checks shared by the type-1 packer and the hypervisor's boot path: can
 * a machine hold a VM set, and is a packed blob intact (see pack_check.c).
 */
#ifndef DUO_PACK_CHECK_H
#define DUO_PACK_CHECK_H

#include <duo/types.h>
#include <duo/vm.h>

/*
 * pack_check_resources - 0 if the n VMs fit a machine with `harts` harts and `ram_mib`
 * MiB of RAM when the hypervisor image plus blob end `image_end` bytes after
 * 0x8020_0000; else DUO_EINVAL with "key: what is wrong" in err.
 */
int pack_check_resources(const struct vm_config *cfgs, unsigned n, unsigned harts, u64 ram_mib,
			 u64 image_end, char *err, size_t errlen);

/*
 * pack_verify_blob - check a blob of at most `avail` bytes: magic, version, struct sizes,
 * header and file bounds, checksum, and every VM's config (vm_config_check, unique
 * names). 0, or DUO_EFORMAT/DUO_EINVAL with one line in err.
 */
int pack_verify_blob(const void *blob, u64 avail, char *err, size_t errlen);

#endif
